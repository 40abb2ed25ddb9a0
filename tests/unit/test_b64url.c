/*
 * test_b64url.c — strict base64url: RFC 4648 vectors, exhaustive round trips
 * of every input up to 3 bytes (all 2^24 three-byte strings), random longer
 * inputs, and every kind of non-canonical input the decoder must refuse.
 * Decoding runs on buffers placed right before a PROT_NONE page, so any
 * read past the last input byte crashes the test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cu.h"
#include "jwtx/b64url.h"

/* A copy of s (n bytes) that ends exactly at a PROT_NONE guard page. */
static char *guarded(const char *s, size_t n, void **map, size_t *maplen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + page - 1) / page + 1;
    char *m = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    mprotect(m + (pages - 1) * page, page, PROT_NONE);
    char *p = m + (pages - 1) * page - n;
    memcpy(p, s, n);
    *map = m;
    *maplen = pages * page;
    return p;
}

/* Decodes n chars of s from a guarded buffer; returns the decoder's result. */
static int decode_guarded(const char *s, size_t n, unsigned char *out, size_t *outlen)
{
    void *map = NULL;
    size_t maplen = 0;
    char *p = guarded(s, n, &map, &maplen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int rc = jwtx_b64url_decode(p, n, out, outlen);
    munmap(map, maplen);
    return rc;
}

static void test_rfc4648_vectors(void)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"", ""},         {"f", "Zg"},         {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
        {"\xfb\xff", "-_8"}, {"\xff\xff\xfe", "___-"}, {"\x00", "AA"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in);
        if (i == 9)
            n = 1;
        char enc[32];
        CU_ASSERT_EQUAL(jwtx_b64url_encoded_len(n), strlen(v[i].out));
        CU_ASSERT_EQUAL(jwtx_b64url_encode(v[i].in, n, enc), strlen(v[i].out));
        JWTX_ASSERT_STR(enc, v[i].out);
        unsigned char dec[32];
        size_t dl = 99;
        CU_ASSERT_EQUAL(decode_guarded(v[i].out, strlen(v[i].out), dec, &dl), 0);
        CU_ASSERT_EQUAL(dl, n);
        CU_ASSERT(memcmp(dec, v[i].in, n) == 0);
    }
}

static void test_lengths(void)
{
    for (size_t n = 0; n < 1000; n++) {
        size_t e = jwtx_b64url_encoded_len(n);
        CU_ASSERT_EQUAL(e, (n * 4 + 2) / 3);
        CU_ASSERT(e % 4 != 1);
        CU_ASSERT_EQUAL(jwtx_b64url_decoded_max(e), n);
    }
}

static void test_exhaustive_short(void)
{
    /* Every string of 0, 1, 2 and 3 bytes encodes to a canonical form that
     * decodes back to it. */
    unsigned long bad = 0;
    unsigned char in[3], dec[3];
    char enc[8];
    for (size_t len = 0; len <= 3; len++) {
        unsigned long count = 1UL << (8 * len);
        for (unsigned long v = 0; v < count; v++) {
            for (size_t k = 0; k < len; k++)
                in[k] = (unsigned char)(v >> (8 * k));
            size_t el = jwtx_b64url_encode(in, len, enc);
            size_t dl = 0;
            if (el != jwtx_b64url_encoded_len(len) || jwtx_b64url_decode(enc, el, dec, &dl) != 0 ||
                dl != len || memcmp(in, dec, len) != 0)
                bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_exhaustive_two_symbols(void)
{
    /* All 4096 two-symbol and all 262144 three-symbol strings over the
     * alphabet: exactly those with zero unused bits are accepted, and each
     * accepted one re-encodes to itself (so the encoding is unique). */
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned long accepted2 = 0, accepted3 = 0, mismatch = 0;
    char s[4], re[8];
    unsigned char out[3];
    size_t ol;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            s[0] = a[i];
            s[1] = a[j];
            if (jwtx_b64url_decode(s, 2, out, &ol) == 0) {
                accepted2++;
                jwtx_b64url_encode(out, ol, re);
                mismatch += ol != 1 || memcmp(re, s, 2) != 0;
            }
            for (int k = 0; k < 64; k++) {
                s[2] = a[k];
                if (jwtx_b64url_decode(s, 3, out, &ol) == 0) {
                    accepted3++;
                    jwtx_b64url_encode(out, ol, re);
                    mismatch += ol != 2 || memcmp(re, s, 3) != 0;
                }
            }
        }
    CU_ASSERT_EQUAL(accepted2, 256);
    CU_ASSERT_EQUAL(accepted3, 65536);
    CU_ASSERT_EQUAL(mismatch, 0);
}

static void test_random_round_trips(void)
{
    srand(12345);
    unsigned char in[200], dec[200];
    char enc[300];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 3 + (size_t)rand() % 190;
        for (size_t k = 0; k < len; k++)
            in[k] = (unsigned char)rand();
        size_t el = jwtx_b64url_encode(in, len, enc);
        CU_ASSERT_EQUAL_FATAL(el, jwtx_b64url_encoded_len(len));
        CU_ASSERT_EQUAL_FATAL(strlen(enc), el);
        size_t dl = 0;
        int rc = iter % 50 == 0 ? decode_guarded(enc, el, dec, &dl)
                                : jwtx_b64url_decode(enc, el, dec, &dl);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        CU_ASSERT_EQUAL_FATAL(dl, len);
        CU_ASSERT_FATAL(memcmp(in, dec, len) == 0);
    }
}

static void test_rejects(void)
{
    static const struct {
        const char *s;
        size_t n; /* 0 = strlen */
        const char *why;
    } v[] = {
        {"Zg==", 0, "padding"},
        {"Zg=", 0, "padding (3 chars)"},
        {"Zm8=", 0, "padding one"},
        {"Zm9v====", 0, "padding block"},
        {"Zm+v", 0, "standard '+'"},
        {"Zm/v", 0, "standard '/'"},
        {"Zm9 v", 0, "space"},
        {" Zm9v", 0, "leading space"},
        {"Zm9v\n", 0, "newline"},
        {"Zm9\tv", 0, "tab"},
        {"Zm9v\r\n", 0, "CRLF"},
        {"A", 0, "1 mod 4 (1)"},
        {"Zm9vY", 0, "1 mod 4 (5)"},
        {"Zm9vYmFyZ", 0, "1 mod 4 (9)"},
        {"Zh", 0, "unused bits set (2 chars)"},
        {"Zm9", 0, "unused bits set (3 chars)"},
        {"AB", 0, "unused bits 0001"},
        {"AAB", 0, "unused bits 01"},
        {"Zm\0v", 4, "NUL inside"},
        {"Zm9v\0\0", 6, "trailing NULs"},
        {"Zm9!", 0, "'!'"},
        {"Zm9.", 0, "dot"},
        {"Zm9\xc3\xa9", 0, "UTF-8 letter"},
        {"Zm9\x80", 0, "high byte"},
        {"Zm9\xff", 0, "0xff"},
    };
    unsigned char out[64];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = v[i].n ? v[i].n : strlen(v[i].s);
        size_t ol = 12345;
        int rc = decode_guarded(v[i].s, n, out, &ol);
        if (rc != -1)
            fprintf(stderr, "\n  accepted non-canonical input: %s\n", v[i].why);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(ol, 12345); /* outlen untouched on failure */
    }
    /* Every byte outside the alphabet, in every position of a 4-char group. */
    unsigned long accepted = 0;
    for (int c = 0; c < 256; c++) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')
            continue;
        for (int pos = 0; pos < 4; pos++) {
            char s[4] = {'A', 'A', 'A', 'A'};
            s[pos] = (char)c;
            size_t ol;
            accepted += jwtx_b64url_decode(s, 4, out, &ol) == 0;
        }
    }
    CU_ASSERT_EQUAL(accepted, 0);
}

static void test_empty(void)
{
    unsigned char out[1];
    size_t ol = 7;
    CU_ASSERT_EQUAL(jwtx_b64url_decode("", 0, out, &ol), 0);
    CU_ASSERT_EQUAL(ol, 0);
    char enc[1] = {'x'};
    CU_ASSERT_EQUAL(jwtx_b64url_encode("", 0, enc), 0);
    CU_ASSERT_EQUAL(enc[0], '\0');
}

static const jwtx_cu_test tests[] = {
    {"RFC 4648 vectors", test_rfc4648_vectors},
    {"encoded/decoded lengths", test_lengths},
    {"all inputs of 0..3 bytes round-trip", test_exhaustive_short},
    {"2- and 3-symbol strings: unique encoding", test_exhaustive_two_symbols},
    {"random 3..192 byte round trips", test_random_round_trips},
    {"non-canonical inputs rejected", test_rejects},
    {"empty input", test_empty},
    {NULL, NULL},
};

JWTX_CU_MAIN("b64url", tests)
