/*
 * fuzz_json.c — libFuzzer target for jwtx_json_parse and jwtx_json_dump.
 *
 * Properties checked on every input that parses:
 *   1. the parser never reads past the input (an exact-size heap copy) and a
 *      refusal always comes with a reason;
 *   2. the Python-compatible dump (plain and with sorted keys) succeeds and
 *      parses back to a value equal to the first (same_value below: exact,
 *      and unlike jansson's json_equal it compares object keys by their full
 *      length, so "a\u0000b" and "a" differ, as in Python) — except when
 *      a string holds surrogate code points (kept as WTF-8, ED A0..BF xx):
 *      a high and a low surrogate read separately are dumped as the escape
 *      pair \uD8xx\uDCxx, which reads back as one astral character, exactly
 *      as Python's json.loads(json.dumps(s)) does;
 *   3. dumping is deterministic: the re-parsed value dumps to the same bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when s holds the 3-byte encoding of a surrogate (ED A0..BF xx). */
static bool has_surrogate(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if ((unsigned char)s[i] == 0xED && (unsigned char)s[i + 1] >= 0xA0)
            return true;
    return false;
}

static bool any_surrogate(const json_t *v)
{
    if (json_is_string(v))
        return has_surrogate(json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) if (any_surrogate(e)) return true;
    }
    if (json_is_object(v)) {
        const char *k;
        const json_t *e;
        size_t klen;
        json_object_keylen_foreach((json_t *)v, k, klen,
                                   e) if (has_surrogate(k, klen) || any_surrogate(e)) return true;
    }
    return false;
}

/* Exact equality. jansson 2.14's json_equal looks object keys up as C
 * strings, so a key with a NUL ("a\u0000b") matches the key "a": finding F2
 * of docs/testing.md ("Fuzzing"). Here keys are compared with their lengths. */
static bool same_value(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        size_t klen;
        json_t *e;
        json_object_keylen_foreach((json_t *)a, k, klen, e)
        {
            const json_t *o = json_object_getn(b, k, klen);
            if (o == NULL || !same_value(e, o))
                return false;
        }
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_value(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_string(a))
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    return json_equal(a, b); /* numbers, true, false, null */
}

static void roundtrip(const json_t *v, int flags)
{
    jwtx_buf out;
    jwtx_buf_init(&out);
    if (jwtx_json_dump(v, flags, &out) != 0)
        fuzz_fail("dump of a parsed value failed");
    char why[256] = "";
    json_t *again = jwtx_json_parse(out.data, out.len, why, sizeof why);
    if (again == NULL)
        fuzz_fail("dump does not re-parse");
    if (!same_value(v, again) && !any_surrogate(v))
        fuzz_fail("re-parsed dump differs from the parsed value");
    jwtx_buf out2;
    jwtx_buf_init(&out2);
    if (jwtx_json_dump(again, flags, &out2) != 0)
        fuzz_fail("second dump failed");
    if (out2.len != out.len || memcmp(out2.data, out.data, out.len) != 0)
        fuzz_fail("dump is not stable across a round trip");
    jwtx_buf_clear(&out2);
    json_decref(again);
    jwtx_buf_clear(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup_exact(data, size);
    char why[256];
    why[0] = '\0';
    json_t *v = jwtx_json_parse(in, size, why, sizeof why);
    if (v == NULL) {
        if (why[0] == '\0')
            fuzz_fail("refusal without a reason");
    } else {
        roundtrip(v, 0);
        roundtrip(v, JWTX_JSON_SORT_KEYS);
        json_decref(v);
    }
    free(in);
    return 0;
}
