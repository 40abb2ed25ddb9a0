/*
 * test_util.c — the library-internal helpers of lib/util.h: every byte's hex
 * value, RFC 3629's UTF-8 examples and every code point from U+0000 to
 * U+10FFFF written and read back by an independent decoder, strict UTF-8
 * validation against Python's decoder and that decoder, and counted copies
 * that keep NUL bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "cu.h"

static void test_hexval(void)
{
    static const char digits[] = "0123456789abcdef";
    unsigned wrong = 0;
    for (int c = -1; c < 256; c++) { /* -1 is EOF */
        const char *at = c > 0 ? strchr(digits, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c) : NULL;
        int want = at != NULL ? (int)(at - digits) : -1;
        wrong += jwtxp_hexval(c) != want;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(jwtxp_hexval('0'), 0);
    CU_ASSERT_EQUAL(jwtxp_hexval('9'), 9);
    CU_ASSERT_EQUAL(jwtxp_hexval('a'), 10);
    CU_ASSERT_EQUAL(jwtxp_hexval('F'), 15);
    CU_ASSERT_EQUAL(jwtxp_hexval('g'), -1);
    CU_ASSERT_EQUAL(jwtxp_hexval('G'), -1);
    CU_ASSERT_EQUAL(jwtxp_hexval(0x100 + '1'), -1);
}

/* RFC 3629 section 7 and the edges of each length. */
static const struct {
    uint32_t cp;
    size_t n;
    const char *utf8;
} vectors[] = {
    {0x0000, 1, "\x00"},
    {0x0041, 1, "A"},
    {0x007F, 1, "\x7F"},
    {0x0080, 2, "\xC2\x80"},
    {0x00E9, 2, "\xC3\xA9"},
    {0x07FF, 2, "\xDF\xBF"},
    {0x0800, 3, "\xE0\xA0\x80"},
    {0x20AC, 3, "\xE2\x82\xAC"},
    {0x65E5, 3, "\xE6\x97\xA5"},
    {0xD55C, 3, "\xED\x95\x9C"},
    {0xD800, 3, "\xED\xA0\x80"}, /* a surrogate: WTF-8 */
    {0xDFFF, 3, "\xED\xBF\xBF"},
    {0xFEFF, 3, "\xEF\xBB\xBF"},
    {0xFFFF, 3, "\xEF\xBF\xBF"},
    {0x10000, 4, "\xF0\x90\x80\x80"},
    {0x10348, 4, "\xF0\x90\x8D\x88"},
    {0x233B4, 4, "\xF0\xA3\x8E\xB4"},
    {0x10FFFF, 4, "\xF4\x8F\xBF\xBF"},
};

static void test_utf8_vectors(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        unsigned char out[4] = {0xAA, 0xAA, 0xAA, 0xAA};
        size_t n = jwtxp_utf8_encode(vectors[i].cp, out);
        CU_ASSERT_EQUAL(n, vectors[i].n);
        CU_ASSERT_EQUAL(memcmp(out, vectors[i].utf8, vectors[i].n), 0);
        for (size_t k = vectors[i].n; k < 4; k++)
            CU_ASSERT_EQUAL(out[k], 0xAA); /* nothing written past the length */
    }
}

/* An independent decoder: the shortest form only, surrogates allowed. */
static int decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    static const unsigned char lead_mask[5] = {0, 0x80, 0xE0, 0xF0, 0xF8};
    static const unsigned char lead_bits[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    if (n < 1 || n > 4 || (s[0] & lead_mask[n]) != lead_bits[n])
        return -1;
    uint32_t v = s[0] & (unsigned char)~lead_mask[n];
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min[n] || v > 0x10FFFF)
        return -1;
    *cp = v;
    return 0;
}

static void test_utf8_every_code_point(void)
{
    unsigned bad = 0;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        unsigned char out[4];
        size_t n = jwtxp_utf8_encode(cp, out);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        uint32_t back = 0xFFFFFFFF;
        if (n != want || decode(out, n, &back) != 0 || back != cp)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* What Python's decoder says about the first sequence of each input: its
 * length when valid, else the length of the maximal invalid subpart
 * (UnicodeDecodeError end - start), generated with python3. */
static const struct {
    const char *in;
    size_t n, valid, bad;
} strict[] = {
    {"\x41", 1, 1, 0},
    {"\x7F", 1, 1, 0},
    {"\x80", 1, 0, 1},
    {"\xBF", 1, 0, 1},
    {"\xC0\x80", 2, 0, 1},
    {"\xC1\xBF", 2, 0, 1},
    {"\xC2", 1, 0, 1},
    {"\xC2\x80", 2, 2, 0},
    {"\xC2\x41", 2, 0, 1},
    {"\xDF\xBF", 2, 2, 0},
    {"\xE0\x80\x80", 3, 0, 1},
    {"\xE0\x9F\xBF", 3, 0, 1},
    {"\xE0\xA0", 2, 0, 2},
    {"\xE0\xA0\x80", 3, 3, 0},
    {"\xE0\xA0\x41", 3, 0, 2},
    {"\xED\x9F\xBF", 3, 3, 0},
    {"\xED\xA0\x80", 3, 0, 1},
    {"\xED\xBF\xBF", 3, 0, 1},
    {"\xEE\x80\x80", 3, 3, 0},
    {"\xEF\xBF\xBF", 3, 3, 0},
    {"\xEF\xBF", 2, 0, 2},
    {"\xF0\x80\x80\x80", 4, 0, 1},
    {"\xF0\x8F\xBF\xBF", 4, 0, 1},
    {"\xF0\x90\x80\x80", 4, 4, 0},
    {"\xF0\x90\x80", 3, 0, 3},
    {"\xF0\x90\x80\x41", 4, 0, 3},
    {"\xF0\x90", 2, 0, 2},
    {"\xF4\x8F\xBF\xBF", 4, 4, 0},
    {"\xF4\x90\x80\x80", 4, 0, 1},
    {"\xF5\x80\x80\x80", 4, 0, 1},
    {"\xFF", 1, 0, 1},
    {"\xFE", 1, 0, 1},
};

static void test_utf8_valid_vectors(void)
{
    for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++) {
        size_t bad = 0;
        size_t k = jwtxp_utf8_valid((const unsigned char *)strict[i].in, strict[i].n, &bad);
        CU_ASSERT_EQUAL(k, strict[i].valid);
        if (k == 0)
            CU_ASSERT_EQUAL(bad, strict[i].bad);
    }
    /* Unicode 15 table 3-8: one U+FFFD per maximal subpart. */
    const unsigned char in[] = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
    char out[64];
    size_t o = 0, i = 0, n = sizeof in - 1;
    while (i < n && o + 4 < sizeof out) {
        size_t bad = 0, k = jwtxp_utf8_valid(in + i, n - i, &bad);
        if (k > 0) {
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = '\0';
    JWTX_ASSERT_STR(out, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                         "b\xEF\xBF\xBD"
                         "c\xEF\xBF\xBD\xEF\xBF\xBD"
                         "d");
}

/* Every input of 1 to 3 bytes (1 to 2 under JWTX_TEST_QUICK): valid exactly
 * when a prefix is a shortest-form, non-surrogate code point. */
static void test_utf8_valid_exhaustive(void)
{
    int max = getenv("JWTX_TEST_QUICK") ? 2 : 3;
    unsigned wrong = 0;
    for (int n = 1; n <= max; n++) {
        for (uint32_t x = 0; x < (1u << (8 * n)); x++) {
            unsigned char s[3];
            for (int k = 0; k < n; k++)
                s[k] = (unsigned char)(x >> (8 * (n - 1 - k)));
            size_t want = 0;
            for (size_t len = 1; len <= (size_t)n && want == 0; len++) {
                uint32_t cp;
                if (decode(s, len, &cp) == 0 && !(cp >= 0xD800 && cp <= 0xDFFF))
                    want = len;
            }
            size_t bad = 99, got = jwtxp_utf8_valid(s, (size_t)n, &bad);
            wrong += got != want || (got == 0 && (bad < 1 || bad > (size_t)n));
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

static void test_memdup(void)
{
    char *d = jwtxp_memdup("a\0b", 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(memcmp(d, "a\0b\0", 4), 0);
    free(d);
    d = jwtxp_memdup("abc", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    JWTX_ASSERT_STR(d, "ab");
    free(d);
    d = jwtxp_memdup(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    JWTX_ASSERT_STR(d, "");
    free(d);
}

static void test_bool_text(void)
{
    static const struct {
        const char *in;
        int rc;
        bool val;
    } rows[] = {
        {NULL, 0, false},   {"", 0, false},       {" \t ", 0, false}, {"1", 1, true},
        {"true", 1, true},  {" TRUE\t", 1, true}, {"Yes", 1, true},   {"on", 1, true},
        {"0", 1, false},    {"False", 1, false},  {"no", 1, false},   {"OFF", 1, false},
        {"2", -1, false},   {"maybe", -1, false}, {"truex", -1, false}, {"1 1", -1, false},
        {"tru", -1, false}, {"\n1", -1, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool v = !rows[i].val; /* must be written only on 1 */
        int rc = jwtxp_bool_text(rows[i].in, &v);
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        CU_ASSERT_EQUAL(v, rc == 1 ? rows[i].val : !rows[i].val);
    }
}

static const jwtx_cu_test tests[] = {
    {"booleans from the outside (jwtxp_bool_text)", test_bool_text},
    {"hex digit values, every byte", test_hexval},
    {"UTF-8: RFC 3629 vectors and length edges", test_utf8_vectors},
    {"UTF-8: every code point round-trips", test_utf8_every_code_point},
    {"strict UTF-8: Python's maximal invalid subparts", test_utf8_valid_vectors},
    {"strict UTF-8: every input of up to 3 bytes", test_utf8_valid_exhaustive},
    {"memdup keeps NULs and terminates", test_memdup},
    {NULL, NULL},
};

JWTX_CU_MAIN("util", tests)
