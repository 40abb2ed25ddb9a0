/*
 * test_json.c — the Python-compatible JSON writer and parser.
 *
 * Every expected string below was produced by /usr/bin/python3 (3.11):
 * json.dumps(v, separators=(",", ":"), ensure_ascii=True[, sort_keys=True])
 * for the writer, repr-via-dumps for doubles, and str(exception) of
 * json.loads(bytes) for parser errors (the generator is quoted at the end of
 * this file). Inputs sit right before the end of a malloc'd block so ASan
 * catches any overread.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/json.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* generated */
static const struct { const char *in; const char *out; const char *sorted; } roundtrip[] = {
    {"{\"b\":1,\"a\":[true,false,null],\"c\":{\"z\":\"x\",\"y\":1.5}}", "{\"b\":1,\"a\":[true,false,null],\"c\":{\"z\":\"x\",\"y\":1.5}}", "{\"a\":[true,false,null],\"b\":1,\"c\":{\"y\":1.5,\"z\":\"x\"}}"},
    {"\"h\xc3\xa9llo / <tag> & 'q'\"", "\"h\\u00e9llo / <tag> & 'q'\"", "\"h\\u00e9llo / <tag> & 'q'\""},
    {"\"\\ud83d\\ude00 astral\"", "\"\\ud83d\\ude00 astral\"", "\"\\ud83d\\ude00 astral\""},
    {"\"\\ud800 lone\"", "\"\\ud800 lone\"", "\"\\ud800 lone\""},
    {"\"\\udc00\\ud800 swapped\"", "\"\\udc00\\ud800 swapped\"", "\"\\udc00\\ud800 swapped\""},
    {"\"tab\\tnl\\ncr\\rbs\\bff\\fq\\\"bsl\\\\del\\u007fnul\\u0000x\\u001f\"", "\"tab\\tnl\\ncr\\rbs\\bff\\fq\\\"bsl\\\\del\\u007fnul\\u0000x\\u001f\"", "\"tab\\tnl\\ncr\\rbs\\bff\\fq\\\"bsl\\\\del\\u007fnul\\u0000x\\u001f\""},
    {"[1e16,1e15,0.0001,0.00001,1.5e300,-0.0,0.1,5.0,1795877876.274581,123456789012345678,-9223372036854775808]", "[1e+16,1000000000000000.0,0.0001,1e-05,1.5e+300,-0.0,0.1,5.0,1795877876.274581,123456789012345678,-9223372036854775808]", "[1e+16,1000000000000000.0,0.0001,1e-05,1.5e+300,-0.0,0.1,5.0,1795877876.274581,123456789012345678,-9223372036854775808]"},
    /* non-finite numbers are read as null (jansson cannot hold them) */
    {"[NaN,Infinity,-Infinity]", "[null,null,null]", "[null,null,null]"},
    {"{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}", "{\"a\":3,\"b\":2}"},
    {" \x0a\x09 [ 1 , 2 ]\x0d\x0a", "[1,2]", "[1,2]"},
    {"\xef\xbb\xbf{\"bom\":true}", "{\"bom\":true}", "{\"bom\":true}"},
    {"\"\xe2\x82\xac\xc3\xbf\xc4\x80\xef\xbf\xbf\"", "\"\\u20ac\\u00ff\\u0100\\uffff\"", "\"\\u20ac\\u00ff\\u0100\\uffff\""},
    {"{\"\xc3\xa9\":1,\"z\":2,\"\xf0\x9f\x98\x80\":3,\"a\":4,\"\xed\x9f\xbf\":5,\"\":6}", "{\"\\u00e9\":1,\"z\":2,\"\\ud83d\\ude00\":3,\"a\":4,\"\\ud7ff\":5,\"\":6}", "{\"\":6,\"a\":4,\"z\":2,\"\\u00e9\":1,\"\\ud7ff\":5,\"\\ud83d\\ude00\":3}"},
    {"[]", "[]", "[]"},
    {"{}", "{}", "{}"},
    {"\"\"", "\"\"", "\"\""},
    {"[[[]],{}]", "[[[]],{}]", "[[[]],{}]"},
    {"1E400", "null", "null"},
    {"-1e-400", "-0.0", "-0.0"},
    {"2.5e-5", "2.5e-05", "2.5e-05"},
    {"12345678901234567.0", "1.2345678901234568e+16", "1.2345678901234568e+16"},
    {"0.30000000000000004", "0.30000000000000004", "0.30000000000000004"},
    {"1e22", "1e+22", "1e+22"},
    {"1e-7", "1e-07", "1e-07"},
    {"123e-2", "1.23", "1.23"},
    {"\"a\\/b\"", "\"a/b\"", "\"a/b\""},
};
static const struct { const char *in; size_t len; const char *why; } errors[] = {
    {"", 0, "Expecting value: line 1 column 1 (char 0)"},
    {" ", 1, "Expecting value: line 1 column 2 (char 1)"},
    {"x", 1, "Expecting value: line 1 column 1 (char 0)"},
    {"{\"a\":1} x", 9, "Extra data: line 1 column 9 (char 8)"},
    {"{\"a\":1,}", 8, "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"},
    {"[1,]", 4, "Expecting value: line 1 column 4 (char 3)"},
    {"{\"a\" 1}", 7, "Expecting ':' delimiter: line 1 column 6 (char 5)"},
    {"{\"a\":1 \"b\"}", 11, "Expecting ',' delimiter: line 1 column 8 (char 7)"},
    {"\"abc", 4, "Unterminated string starting at: line 1 column 1 (char 0)"},
    {"\"a\\q\"", 5, "Invalid \\escape: line 1 column 3 (char 2)"},
    {"\"\\u12\"", 6, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
    {"\"\\u12x4\"", 8, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
    {"\"\\u1234", 7, "Invalid \\uXXXX escape: line 1 column 3 (char 2)"},
    {"\"a\x0a""b\"", 5, "Invalid control character at: line 1 column 3 (char 2)"},
    {"{", 1, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
    {"[", 1, "Expecting value: line 1 column 2 (char 1)"},
    {"-", 1, "Expecting value: line 1 column 1 (char 0)"},
    {"01", 2, "Extra data: line 1 column 2 (char 1)"},
    {"[1.]", 4, "Expecting ',' delimiter: line 1 column 3 (char 2)"},
    {"1.5e", 4, "Extra data: line 1 column 4 (char 3)"},
    {"\"\\ud800\\u12\"", 12, "Invalid \\uXXXX escape: line 1 column 9 (char 8)"},
    {"\"\\", 2, "Unterminated string starting at: line 1 column 1 (char 0)"},
    {"{\"a\"", 4, "Expecting ':' delimiter: line 1 column 5 (char 4)"},
    {"{\"a\":", 5, "Expecting value: line 1 column 6 (char 5)"},
    {"\x0a\x0a  x", 5, "Expecting value: line 3 column 3 (char 4)"},
    {"[1,2", 4, "Expecting ',' delimiter: line 1 column 5 (char 4)"},
    {"{\"a\":1", 6, "Expecting ',' delimiter: line 1 column 7 (char 6)"},
    {"[NaN, -NaN]", 11, "Expecting value: line 1 column 7 (char 6)"},
    {"\"\xc3\xa9\xc3\xa9\\x\"", 8, "Invalid \\escape: line 1 column 4 (char 3)"},
    {"nul", 3, "Expecting value: line 1 column 1 (char 0)"},
    {"tru", 3, "Expecting value: line 1 column 1 (char 0)"},
    {"{\"a\":1}}", 8, "Extra data: line 1 column 8 (char 7)"},
    {"[1] [2]", 7, "Extra data: line 1 column 5 (char 4)"},
    {"\x0a{\"a\":\x0a  nope}", 14, "Expecting value: line 3 column 3 (char 9)"},
    {"-Infinityx", 10, "Extra data: line 1 column 10 (char 9)"},
    {"{1:2}", 5, "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"},
    {"\"x\x7f\x00\"", 5, "Invalid control character at: line 1 column 4 (char 3)"},
    {"\xb7", 1, "'utf-8' codec can't decode byte 0xb7 in position 0: invalid start byte"},
    {"a\xe2(\xa1", 4, "'utf-8' codec can't decode byte 0xe2 in position 1: invalid continuation byte"},
    {"\xf0\x9f\x98(", 4, "'utf-8' codec can't decode bytes in position 0-2: invalid continuation byte"},
    {"\xe2\x82", 2, "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"},
    {"\xed\xa0""A", 3, "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"},
    {"\xef\xbb\xbf\xff", 4, "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"},
    {"\"\xc0\x80\"", 4, "'utf-8' codec can't decode byte 0xc0 in position 1: invalid start byte"},
    {"\xf4\x90\x80\x80", 4, "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte"},
    {"\"ok\" \xff", 6, "'utf-8' codec can't decode byte 0xff in position 5: invalid start byte"},
    {"\xed\xa0\x80", 3, "Expecting value: line 1 column 1 (char 0)"},
};
static const struct { double d; const char *repr; } doubles[] = {
    {0x0.0p+0, "0.0"},
    {-0x0.0p+0, "-0.0"},
    {0x1.0000000000000p+0, "1.0"},
    {0x1.4000000000000p+2, "5.0"},
    {0x1.999999999999ap-4, "0.1"},
    {0x1.999999999999ap-3, "0.2"},
    {0x1.3333333333333p-2, "0.3"},
    {0x1.5555555555555p-2, "0.3333333333333333"},
    {0x1.5555555555555p-1, "0.6666666666666666"},
    {0x1.1c37937e08000p+53, "1e+16"},
    {0x1.c6bf526340000p+49, "1000000000000000.0"},
    {0x1.1c37937e07fffp+53, "9999999999999998.0"},
    {0x1.a36e2eb1c432dp-14, "0.0001"},
    {0x1.4f8b588e368f1p-17, "1e-05"},
    {0x1.f75104d551d69p-17, "1.5e-05"},
    {0x1.e240c9fbe76c9p+16, "123456.789"},
    {0x1.ac2bafd1192bcp+30, "1795877876.274581"},
    {0x1.ac2bafd1192bdp+30, "1795877876.2745812"},
    {0x1.0f0cf064dd592p+73, "1e+22"},
    {0x1.52d02c7e14af6p+76, "1e+23"},
    {0x0.0000000000001p-1022, "5e-324"},
    {0x1.0000000000000p-1022, "2.2250738585072014e-308"},
    {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
    {0x1.9000000000000p+6, "100.0"},
    {0x1.18b54f22aeb03p+50, "1234567890123456.8"},
    {0x1.5ee2a2eb5a5c4p+53, "1.2345678901234568e+16"},
    {0x1.0000000000000p-1, "0.5"},
    {-0x1.4000000000000p+1, "-2.5"},
    {0x1.921f9f01b866ep+1, "3.14159"},
    {0x1.249ad2594c37dp+332, "1e+100"},
    {0x1.e3c8fd606ea4dp-34, "1.1e-10"},
    {0x1.1666666666666p+2, "4.35"},
    {0x1.3333333333334p-2, "0.30000000000000004"},
    {0x1.0000000000000p+53, "9007199254740992.0"},
    {0x1.0000000000001p+53, "9007199254740994.0"},
    {NAN, "NaN"},
    {INFINITY, "Infinity"},
    {-INFINITY, "-Infinity"},
    {0x1.954fc40200000p+30, "1700000000.5"},
    {0x1.954fc8b07e6b4p+30, "1700000300.123456"},
};
static const char *const ascii_escaped[128] = {
    "\"\\u0000\"",
    "\"\\u0001\"",
    "\"\\u0002\"",
    "\"\\u0003\"",
    "\"\\u0004\"",
    "\"\\u0005\"",
    "\"\\u0006\"",
    "\"\\u0007\"",
    "\"\\b\"",
    "\"\\t\"",
    "\"\\n\"",
    "\"\\u000b\"",
    "\"\\f\"",
    "\"\\r\"",
    "\"\\u000e\"",
    "\"\\u000f\"",
    "\"\\u0010\"",
    "\"\\u0011\"",
    "\"\\u0012\"",
    "\"\\u0013\"",
    "\"\\u0014\"",
    "\"\\u0015\"",
    "\"\\u0016\"",
    "\"\\u0017\"",
    "\"\\u0018\"",
    "\"\\u0019\"",
    "\"\\u001a\"",
    "\"\\u001b\"",
    "\"\\u001c\"",
    "\"\\u001d\"",
    "\"\\u001e\"",
    "\"\\u001f\"",
    "\" \"",
    "\"!\"",
    "\"\\\"\"",
    "\"#\"",
    "\"$\"",
    "\"%\"",
    "\"&\"",
    "\"'\"",
    "\"(\"",
    "\")\"",
    "\"*\"",
    "\"+\"",
    "\",\"",
    "\"-\"",
    "\".\"",
    "\"/\"",
    "\"0\"",
    "\"1\"",
    "\"2\"",
    "\"3\"",
    "\"4\"",
    "\"5\"",
    "\"6\"",
    "\"7\"",
    "\"8\"",
    "\"9\"",
    "\":\"",
    "\";\"",
    "\"<\"",
    "\"=\"",
    "\">\"",
    "\"?\"",
    "\"@\"",
    "\"A\"",
    "\"B\"",
    "\"C\"",
    "\"D\"",
    "\"E\"",
    "\"F\"",
    "\"G\"",
    "\"H\"",
    "\"I\"",
    "\"J\"",
    "\"K\"",
    "\"L\"",
    "\"M\"",
    "\"N\"",
    "\"O\"",
    "\"P\"",
    "\"Q\"",
    "\"R\"",
    "\"S\"",
    "\"T\"",
    "\"U\"",
    "\"V\"",
    "\"W\"",
    "\"X\"",
    "\"Y\"",
    "\"Z\"",
    "\"[\"",
    "\"\\\\\"",
    "\"]\"",
    "\"^\"",
    "\"_\"",
    "\"`\"",
    "\"a\"",
    "\"b\"",
    "\"c\"",
    "\"d\"",
    "\"e\"",
    "\"f\"",
    "\"g\"",
    "\"h\"",
    "\"i\"",
    "\"j\"",
    "\"k\"",
    "\"l\"",
    "\"m\"",
    "\"n\"",
    "\"o\"",
    "\"p\"",
    "\"q\"",
    "\"r\"",
    "\"s\"",
    "\"t\"",
    "\"u\"",
    "\"v\"",
    "\"w\"",
    "\"x\"",
    "\"y\"",
    "\"z\"",
    "\"{\"",
    "\"|\"",
    "\"}\"",
    "\"~\"",
    "\"\\u007f\"",
};

/* A heap copy of exactly len bytes (no NUL), so reads past the end trap. */
static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, s, len);
    return p;
}

static void test_roundtrip(void)
{
    for (size_t i = 0; i < sizeof roundtrip / sizeof roundtrip[0]; i++) {
        size_t len = strlen(roundtrip[i].in);
        char *in = exact_copy(roundtrip[i].in, len);
        char why[256];
        json_t *v = jwtx_json_parse(in, len, why, sizeof why);
        if (v == NULL)
            fprintf(stderr, "\n  row %zu: %s\n", i, why);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        jwtx_buf b;
        jwtx_buf_init(&b);
        CU_ASSERT_EQUAL(jwtx_json_dump(v, 0, &b), 0);
        JWTX_ASSERT_STR(b.data, roundtrip[i].out);
        jwtx_buf_clear(&b);
        CU_ASSERT_EQUAL(jwtx_json_dump(v, JWTX_JSON_SORT_KEYS, &b), 0);
        JWTX_ASSERT_STR(b.data, roundtrip[i].sorted);
        jwtx_buf_clear(&b);
        json_decref(v);
        free(in);
    }
}

static void test_parse_errors(void)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        char *in = exact_copy(errors[i].in, errors[i].len);
        char why[256] = "unchanged";
        json_t *v = jwtx_json_parse(in, errors[i].len, why, sizeof why);
        CU_ASSERT_PTR_NULL(v);
        json_decref(v);
        JWTX_ASSERT_STR(why, errors[i].why);
        /* A NULL or tiny reason buffer is fine too. */
        CU_ASSERT_PTR_NULL(jwtx_json_parse(in, errors[i].len, NULL, 0));
        char tiny[4];
        CU_ASSERT_PTR_NULL(jwtx_json_parse(in, errors[i].len, tiny, sizeof tiny));
        CU_ASSERT_EQUAL(strlen(tiny), 3);
        free(in);
    }
}

static void test_doubles(void)
{
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        char buf[32];
        size_t n = jwtx_json_format_double(doubles[i].d, buf, sizeof buf);
        JWTX_ASSERT_STR(buf, doubles[i].repr);
        CU_ASSERT_EQUAL(n, strlen(doubles[i].repr));
        /* The real written inside a document is the same text. */
        json_t *v = isfinite(doubles[i].d) ? json_real(doubles[i].d) : NULL;
        if (v) {
            jwtx_buf b;
            jwtx_buf_init(&b);
            CU_ASSERT_EQUAL(jwtx_json_dump(v, 0, &b), 0);
            JWTX_ASSERT_STR(b.data, doubles[i].repr);
            jwtx_buf_clear(&b);
            json_decref(v);
        }
    }
}

/* Every ASCII character, alone in a string. */
static void test_ascii_exhaustive(void)
{
    for (int c = 0; c < 128; c++) {
        char ch = (char)c;
        jwtx_buf b;
        jwtx_buf_init(&b);
        CU_ASSERT_EQUAL(jwtx_json_dump_string(&ch, 1, &b), 0);
        JWTX_ASSERT_STR(b.data, ascii_escaped[c]);
        jwtx_buf_clear(&b);
    }
}

/* Every code point of the BMP and a sample of the astral planes, checked
 * against the rule Python applies (lowercase \uXXXX, surrogate pairs). */
static void test_codepoints(void)
{
    unsigned bad = 0;
    for (unsigned long cp = 0x80; cp <= 0x10FFFF; cp += (cp < 0x10000 ? 1 : 97)) {
        unsigned char u[4];
        size_t k;
        if (cp < 0x800) {
            u[0] = (unsigned char)(0xC0 | (cp >> 6));
            u[1] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            u[0] = (unsigned char)(0xE0 | (cp >> 12));
            u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            u[0] = (unsigned char)(0xF0 | (cp >> 18));
            u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            u[3] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        char expect[32];
        if (cp < 0x10000)
            snprintf(expect, sizeof expect, "\"\\u%04lx\"", cp);
        else
            snprintf(expect, sizeof expect, "\"\\u%04lx\\u%04lx\"", 0xD800 + ((cp - 0x10000) >> 10),
                     0xDC00 + ((cp - 0x10000) & 0x3FF));
        jwtx_buf b;
        jwtx_buf_init(&b);
        if (jwtx_json_dump_string((const char *)u, k, &b) != 0 || strcmp(b.data, expect) != 0)
            bad++;
        /* And it parses back to the same bytes. */
        json_t *v = jwtx_json_parse(b.data, b.len, NULL, 0);
        if (v == NULL || json_string_length(v) != k || memcmp(json_string_value(v), u, k) != 0)
            bad++;
        json_decref(v);
        jwtx_buf_clear(&b);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Invalid UTF-8 in a jansson string is never emitted raw. */
static void test_invalid_bytes(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } rows[] = {
        {"a\xff" "b", 3, "\"a\\u00ffb\""},
        {"\xc3", 1, "\"\\u00c3\""},
        {"\xe2\x82", 2, "\"\\u00e2\\u0082\""},
        {"\xc0\xaf", 2, "\"\\u00c0\\u00af\""},
        {"x\0y", 3, "\"x\\u0000y\""},
        {"\xed\xa0\x80", 3, "\"\\ud800\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_buf b;
        jwtx_buf_init(&b);
        CU_ASSERT_EQUAL(jwtx_json_dump_string(rows[i].in, rows[i].len, &b), 0);
        JWTX_ASSERT_STR(b.data, rows[i].out);
        jwtx_buf_clear(&b);
    }
}

static void test_parse_values(void)
{
    char why[128];
    json_t *v = jwtx_json_parse(LIT("{\"a\":1,\"b\":2,\"a\":{\"x\":[]}}"), why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(json_object_size(v), 2);
    CU_ASSERT_TRUE(json_is_object(json_object_get(v, "a")));
    /* last wins, first position kept */
    CU_ASSERT_STRING_EQUAL(json_object_iter_key(json_object_iter(v)), "a");
    json_decref(v);

    static const char nums[] = "[NaN,Infinity,-Infinity,1e999,-0.0,9223372036854775807,"
                               "9223372036854775808]";
    v = jwtx_json_parse(nums, sizeof nums - 1, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    /* NaN and infinities (written or overflowing) are read as null */
    CU_ASSERT_TRUE(json_is_null(json_array_get(v, 0)));
    CU_ASSERT_TRUE(json_is_null(json_array_get(v, 1)));
    CU_ASSERT_TRUE(json_is_null(json_array_get(v, 2)));
    CU_ASSERT_TRUE(json_is_null(json_array_get(v, 3)));
    CU_ASSERT_TRUE(json_is_real(json_array_get(v, 4)) &&
                   signbit(json_real_value(json_array_get(v, 4))));
    CU_ASSERT_TRUE(json_is_integer(json_array_get(v, 5)));
    CU_ASSERT_TRUE(json_is_real(json_array_get(v, 6)));
    json_decref(v);

    /* NUL escapes and lone surrogates survive in the jansson string. */
    v = jwtx_json_parse(LIT("\"a\\u0000b\\udc00\""), why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(json_string_length(v), 6);
    CU_ASSERT_EQUAL(memcmp(json_string_value(v), "a\0b\xed\xb0\x80", 6), 0);
    json_decref(v);

    /* Any value at top level (JSON_DECODE_ANY) */
    v = jwtx_json_parse(LIT(" 42 "), why, sizeof why);
    CU_ASSERT_TRUE(json_is_integer(v) && json_integer_value(v) == 42);
    json_decref(v);
}

static void test_depth_limit(void)
{
    size_t n = 100000;
    char *deep = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    char why[128];
    CU_ASSERT_PTR_NULL(jwtx_json_parse(deep, n, why, sizeof why));
    CU_ASSERT_EQUAL(strncmp(why, "Maximum nesting depth exceeded", 30), 0);
    free(deep);

    /* 500 levels are fine */
    jwtx_buf b;
    jwtx_buf_init(&b);
    for (int i = 0; i < 500; i++)
        jwtx_buf_puts(&b, "[");
    for (int i = 0; i < 500; i++)
        jwtx_buf_puts(&b, "]");
    json_t *v = jwtx_json_parse(b.data, b.len, why, sizeof why);
    CU_ASSERT_PTR_NOT_NULL(v);
    jwtx_buf out;
    jwtx_buf_init(&out);
    CU_ASSERT_EQUAL(jwtx_json_dump(v, 0, &out), 0);
    CU_ASSERT_EQUAL(out.len, b.len);
    CU_ASSERT_EQUAL(memcmp(out.data, b.data, b.len), 0);
    jwtx_buf_clear(&out);
    json_decref(v);
    jwtx_buf_clear(&b);
}

static void test_buf(void)
{
    jwtx_buf b;
    jwtx_buf_init(&b);
    CU_ASSERT_EQUAL(jwtx_buf_puts(&b, "ab"), 0);
    CU_ASSERT_EQUAL(jwtx_buf_printf(&b, "%d-%s", 12, "x"), 0);
    JWTX_ASSERT_STR(b.data, "ab12-x");
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CU_ASSERT_EQUAL(jwtx_buf_printf(&b, "[%s]", big), 0);
    CU_ASSERT_EQUAL(b.len, 6 + 2 + 999);
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    CU_ASSERT_EQUAL(b.data[6], '[');
    CU_ASSERT_EQUAL(b.data[b.len - 1], ']');
    jwtx_buf_clear(&b);
    CU_ASSERT_PTR_NULL(b.data);
    jwtx_buf_clear(NULL);
    /* A failed buffer stays failed. */
    b.failed = 1;
    CU_ASSERT_EQUAL(jwtx_buf_puts(&b, "x"), -1);
    CU_ASSERT_EQUAL(jwtx_json_dump(json_null(), 0, &b), -1);
    jwtx_buf_clear(&b);

    /* Growing keeps every byte (the old block is copied, then wiped). */
    jwtx_buf_init(&b);
    for (unsigned i = 0; i < 5000; i++) {
        unsigned char c = (unsigned char)(i % 251);
        CU_ASSERT_EQUAL_FATAL(jwtx_buf_append(&b, &c, 1), 0);
    }
    CU_ASSERT_EQUAL(b.len, 5000);
    CU_ASSERT_EQUAL(b.data[5000], '\0');
    unsigned bad = 0;
    for (unsigned i = 0; i < 5000; i++)
        bad += (unsigned char)b.data[i] != (unsigned char)(i % 251);
    CU_ASSERT_EQUAL(bad, 0);
    /* wipe: empty as after _init; NULL is a no-op. */
    jwtx_buf_wipe(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(b.cap, 0);
    jwtx_buf_wipe(NULL);

    /* take: an empty buffer gives "", with its length. */
    size_t n = 99;
    char *s = jwtx_buf_take(&b, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(s[0], '\0');
    free(s);
    CU_ASSERT_PTR_NULL(b.data);
    /* take: the bytes (NULs included) move to the caller; b is left empty. */
    CU_ASSERT_EQUAL(jwtx_buf_append(&b, "a\0b", 3), 0);
    s = jwtx_buf_take(&b, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(memcmp(s, "a\0b", 4), 0);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
    free(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s = jwtx_buf_take(&b, NULL)); /* len may be NULL */
    JWTX_ASSERT_STR(s, "");
    free(s);
    /* take from a failed buffer: NULL, *len untouched, b empty and usable. */
    CU_ASSERT_EQUAL(jwtx_buf_puts(&b, "secret"), 0);
    b.failed = 1;
    n = 7;
    CU_ASSERT_PTR_NULL(jwtx_buf_take(&b, &n));
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.failed, 0);
    CU_ASSERT_EQUAL(jwtx_buf_puts(&b, "ok"), 0);
    JWTX_ASSERT_STR(b.data, "ok");
    jwtx_buf_clear(&b);
}

/* generated (UTF-16/32 rows, tests/unit/test_json.c's generator below) */
static const struct { const char *name; const char *in; size_t len; const char *out; } wide_ok[] = {
    {"utf-16-le", "{\x00\"\x00" "a\x00\"\x00:\x00[\x00" "1\x00,\x00\"\x00\xe9\x00=\xd8\x00\xde\"\x00]\x00,\x00\"\x00" "b\x00\"\x00:\x00n\x00u\x00l\x00l\x00}\x00", 48, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-16-be", "\x00{\x00\"\x00" "a\x00\"\x00:\x00[\x00" "1\x00,\x00\"\x00\xe9\xd8=\xde\x00\x00\"\x00]\x00,\x00\"\x00" "b\x00\"\x00:\x00n\x00u\x00l\x00l\x00}", 48, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-16, BOM LE", "\xff\xfe{\x00\"\x00" "a\x00\"\x00:\x00[\x00" "1\x00,\x00\"\x00\xe9\x00=\xd8\x00\xde\"\x00]\x00,\x00\"\x00" "b\x00\"\x00:\x00n\x00u\x00l\x00l\x00}\x00", 50, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-16, BOM BE", "\xfe\xff\x00{\x00\"\x00" "a\x00\"\x00:\x00[\x00" "1\x00,\x00\"\x00\xe9\xd8=\xde\x00\x00\"\x00]\x00,\x00\"\x00" "b\x00\"\x00:\x00n\x00u\x00l\x00l\x00}", 50, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-32-le", "{\x00\x00\x00\"\x00\x00\x00" "a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00[\x00\x00\x00" "1\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\x00\xf6\x01\x00\"\x00\x00\x00]\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00" "b\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00n\x00\x00\x00u\x00\x00\x00l\x00\x00\x00l\x00\x00\x00}\x00\x00\x00", 92, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-32-be", "\x00\x00\x00{\x00\x00\x00\"\x00\x00\x00" "a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00[\x00\x00\x00" "1\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00\xe9\x00\x01\xf6\x00\x00\x00\x00\"\x00\x00\x00]\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00" "b\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00n\x00\x00\x00u\x00\x00\x00l\x00\x00\x00l\x00\x00\x00}", 92, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-32, BOM LE", "\xff\xfe\x00\x00{\x00\x00\x00\"\x00\x00\x00" "a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00[\x00\x00\x00" "1\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\x00\xf6\x01\x00\"\x00\x00\x00]\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00" "b\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00n\x00\x00\x00u\x00\x00\x00l\x00\x00\x00l\x00\x00\x00}\x00\x00\x00", 96, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-32, BOM BE", "\x00\x00\xfe\xff\x00\x00\x00{\x00\x00\x00\"\x00\x00\x00" "a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00[\x00\x00\x00" "1\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00\xe9\x00\x01\xf6\x00\x00\x00\x00\"\x00\x00\x00]\x00\x00\x00,\x00\x00\x00\"\x00\x00\x00" "b\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00n\x00\x00\x00u\x00\x00\x00l\x00\x00\x00l\x00\x00\x00}", 96, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"utf-8-sig", "\xef\xbb\xbf{\"a\":[1,\"\xc3\xa9\xf0\x9f\x98\x80\"],\"b\":null}", 30, "{\"a\":[1,\"\\u00e9\\ud83d\\ude00\"],\"b\":null}"},
    {"two bytes, utf-16-be", "\x00" "1", 2, "1"},
    {"two bytes, utf-16-le", "7\x00", 2, "7"},
    {"utf-16-le lone high surrogate", "[\x00\"\x00\x00\xd8x\x00\"\x00]\x00", 12, "[\"\\ud800x\"]"},
    {"utf-16-le lone low surrogate", "[\x00\"\x00\x00\xdc\"\x00]\x00", 10, "[\"\\udc00\"]"},
    {"utf-16-be low then high", "\x00[\x00\"\xdc\x00\xd8\x00\x00\"\x00]", 12, "[\"\\udc00\\ud800\"]"},
    {"utf-16-le high at the end of a string", "{\x00\"\x00k\x00\"\x00:\x00\"\x00=\xd8\"\x00}\x00", 18, "{\"k\":\"\\ud83d\"}"},
    {"utf-32-le surrogates stay two", "[\x00\x00\x00\"\x00\x00\x00\x00\xd8\x00\x00\x00\xdc\x00\x00\"\x00\x00\x00]\x00\x00\x00", 24, "[\"\\ud800\\udc00\"]"},
    {"utf-16-le whitespace and NaN", " \x00\x0a\x00[\x00N\x00" "a\x00N\x00,\x00 \x00-\x00I\x00n\x00" "f\x00i\x00n\x00i\x00t\x00y\x00,\x00 \x00" "1\x00" "e\x00" "4\x00" "0\x00" "0\x00]\x00\x0d\x00\x0a\x00", 54, "[null,null,null]"},
    {"utf-16-le BOM then U+FEFF in a string", "\xff\xfe[\x00\"\x00\xff\xfe\"\x00]\x00", 12, "[\"\\ufeff\"]"},
    {"utf-32-be U+10FFFF", "\x00\x00\x00\"\x00\x10\xff\xff\x00\x00\x00\"", 12, "\"\\udbff\\udfff\""},
};
static const struct { const char *name; const char *in; size_t len; const char *why; } wide_errors[] = {
    {"utf-16-le odd length", "{\x00}\x00 ", 5, "'utf-16-le' codec can't decode byte 0x20 in position 4: truncated data"},
    {"utf-16 BOM, odd length (position counts the BOM)", "\xff\xfe{\x00}\x00 ", 7, "'utf-16-le' codec can't decode byte 0x20 in position 6: truncated data"},
    {"utf-16 BOM alone", "\xff\xfe", 2, "Expecting value: line 1 column 1 (char 0)"},
    {"utf-16-be BOM + 1 byte", "\xfe\xff\x00", 3, "'utf-16-be' codec can't decode byte 0x00 in position 2: truncated data"},
    {"utf-16-le high surrogate, 1 byte", "[\x00\x00\xd8\x00", 5, "'utf-16-le' codec can't decode byte 0x00 in position 4: truncated data"},
    {"utf-32-le beyond U+10FFFF", "[\x00\x00\x00\x00\x00\x11\x00]\x00\x00\x00", 12, "'utf-32-le' codec can't decode bytes in position 4-7: code point not in range(0x110000)"},
    {"utf-32-le 0xffffffff", "[\x00\x00\x00\xff\xff\xff\xff]\x00\x00\x00", 12, "'utf-32-le' codec can't decode bytes in position 4-7: code point not in range(0x110000)"},
    {"utf-32-le 3 bytes left", "[\x00\x00\x00]\x00\x00", 7, "'utf-32-le' codec can't decode bytes in position 4-6: truncated data"},
    {"utf-32-le 1 byte left", "[\x00\x00\x00\x00", 5, "'utf-32-le' codec can't decode byte 0x00 in position 4: truncated data"},
    {"utf-32-le 2 bytes left", "[\x00\x00\x00\x00\x00", 6, "'utf-32-le' codec can't decode bytes in position 4-5: truncated data"},
    {"utf-32-be 3 bytes left", "\x00\x00\x00[\x00\x00\x00", 7, "'utf-32-be' codec can't decode bytes in position 4-6: truncated data"},
    {"utf-32 BOM LE, 3 bytes left", "\xff\xfe\x00\x00[\x00\x00\x00]\x00\x00", 11, "'utf-32-le' codec can't decode bytes in position 8-10: truncated data"},
    {"utf-32 BOM BE beyond U+10FFFF", "\x00\x00\xfe\xff\x00\x00\x00[\x00\x11\x00\x00\x00\x00\x00]", 16, "'utf-32-be' codec can't decode bytes in position 8-11: code point not in range(0x110000)"},
    {"utf-32 BOM BE + 1 byte", "\x00\x00\xfe\xff\x00", 5, "'utf-32-be' codec can't decode byte 0x00 in position 4: truncated data"},
    {"utf-32 BOM alone", "\xff\xfe\x00\x00", 4, "Expecting value: line 1 column 1 (char 0)"},
    {"utf-16-le syntax error counts code points", "[\x00\"\x00=\xd8\x00\xde\"\x00,\x00 \x00x\x00]\x00", 18, "Expecting value: line 1 column 7 (char 6)"},
    {"utf-32-be syntax error", "\x00\x00\x00[\x00\x00\x00" "1\x00\x00\x00,\x00\x00\x00]", 16, "Expecting value: line 1 column 4 (char 3)"},
    {"utf-16-le second line", "[\x00" "1\x00,\x00\x0a\x00 \x00x\x00]\x00", 14, "Expecting value: line 2 column 2 (char 5)"},
    {"utf-16-le raw NUL in a string", "[\x00\"\x00\x00\x00\"\x00]\x00", 10, "Invalid control character at: line 1 column 3 (char 2)"},
    {"utf-16 BOM twice", "\xff\xfe\xff\xfe" "1\x00", 6, "Expecting value: line 1 column 1 (char 0)"},
    {"utf-8 BOM twice", "\xef\xbb\xbf\xef\xbb\xbf" "1", 7, "Expecting value: line 1 column 1 (char 0)"},
    {"three bytes stay utf-8", "\"\x00\"", 3, "Invalid control character at: line 1 column 2 (char 1)"},
    {"utf-8: 3 bytes with NULs", "1\x00\x00", 3, "Extra data: line 1 column 2 (char 1)"},
    {"utf-16-le extra data", "1\x00" "2", 3, "Extra data: line 1 column 2 (char 1)"},
    {"3 bytes, not utf-16", "\x00\xd8" "A", 3, "'utf-8' codec can't decode byte 0xd8 in position 1: invalid continuation byte"},
};

/* json.loads(bytes) on UTF-16 and UTF-32 input: detection by BOM or zero
 * pattern, surrogates passed, Python's codec errors. */
static void test_wide_encodings(void)
{
    for (size_t i = 0; i < sizeof wide_ok / sizeof wide_ok[0]; i++) {
        char *in = exact_copy(wide_ok[i].in, wide_ok[i].len);
        char why[256] = "";
        json_t *v = jwtx_json_parse(in, wide_ok[i].len, why, sizeof why);
        if (v == NULL)
            fprintf(stderr, "\n  %s: %s\n", wide_ok[i].name, why);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        jwtx_buf b;
        jwtx_buf_init(&b);
        CU_ASSERT_EQUAL(jwtx_json_dump(v, 0, &b), 0);
        JWTX_ASSERT_STR(b.data, wide_ok[i].out);
        jwtx_buf_clear(&b);
        json_decref(v);
        free(in);
    }
    for (size_t i = 0; i < sizeof wide_errors / sizeof wide_errors[0]; i++) {
        char *in = exact_copy(wide_errors[i].in, wide_errors[i].len);
        char why[256] = "unchanged";
        json_t *v = jwtx_json_parse(in, wide_errors[i].len, why, sizeof why);
        CU_ASSERT_PTR_NULL(v);
        json_decref(v);
        if (strcmp(why, wide_errors[i].why) != 0)
            fprintf(stderr, "\n  %s\n", wide_errors[i].name);
        JWTX_ASSERT_STR(why, wide_errors[i].why);
        CU_ASSERT_PTR_NULL(jwtx_json_parse(in, wide_errors[i].len, NULL, 0));
        free(in);
    }
}

/* int() in json.loads refuses more than 4300 digits with a ValueError, which
 * carries no position; floats have no limit; the first error wins. Integers
 * beyond the doubles are read as the largest double, never as null. */
static void test_int_digit_limit(void)
{
    static const char limit_why[] =
        "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits; "
        "use sys.set_int_max_str_digits() to increase the limit";
    static const struct {
        const char *prefix, *suffix;
        size_t ndigits;
        int utf16le;
        const char *why; /* NULL: parses; out then holds its dump */
        const char *out;
    } rows[] = {
        {"", "", 4300, 0, NULL, "1.7976931348623157e+308"},
        {"[-", "]", 4300, 0, NULL, "[-1.7976931348623157e+308]"},
        {"", "", 4301, 0, limit_why, NULL},
        {"[-", "]", 4301, 1, limit_why, NULL},
        {"", ".5", 4301, 0, NULL, "null"}, /* a float: no limit, inf read as null */
        {"[x,", "]", 4301, 0, "Expecting value: line 1 column 2 (char 1)", NULL},
        {"[", ",x]", 4301, 0, limit_why, NULL},
        {"", "", 309, 0, NULL, "1.1111111111111112e+308"}, /* float(int("1" * 309)) */
        {"", "", 310, 0, NULL, "1.7976931348623157e+308"},
        {"", "", 20, 0, NULL, "1.111111111111111e+19"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_buf t;
        jwtx_buf_init(&t);
        jwtx_buf_puts(&t, rows[i].prefix);
        for (size_t k = 0; k < rows[i].ndigits; k++)
            jwtx_buf_append(&t, "1", 1);
        jwtx_buf_puts(&t, rows[i].suffix);
        CU_ASSERT_FALSE_FATAL(t.failed);
        jwtx_buf in;
        jwtx_buf_init(&in);
        for (size_t k = 0; k < t.len; k++) {
            jwtx_buf_append(&in, t.data + k, 1);
            if (rows[i].utf16le)
                jwtx_buf_append(&in, "", 1); /* the high byte of the UTF-16LE unit */
        }
        char why[256] = "";
        json_t *v = jwtx_json_parse(in.data, in.len, why, sizeof why);
        if (rows[i].why) {
            CU_ASSERT_PTR_NULL(v);
            JWTX_ASSERT_STR(why, rows[i].why);
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(v);
            jwtx_buf out;
            jwtx_buf_init(&out);
            CU_ASSERT_EQUAL(jwtx_json_dump(v, 0, &out), 0);
            JWTX_ASSERT_STR(out.data, rows[i].out);
            jwtx_buf_clear(&out);
        }
        json_decref(v);
        jwtx_buf_clear(&in);
        jwtx_buf_clear(&t);
    }
}

/* jwtx_json_equal: Python's == on parsed JSON; keys by full length. */
static void test_equal(void)
{
    static const struct {
        const char *a, *b;
        bool eq;
    } rows[] = {
        {"{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}", true},
        {"{\"a\":1}", "{\"a\":1,\"b\":2}", false},
        {"{\"a\\u0000b\":1}", "{\"a\":1}", false},
        {"{\"a\\u0000b\":1}", "{\"a\\u0000b\":1}", true},
        {"\"a\\u0000b\"", "\"a\\u0000c\"", false},
        {"\"a\\u0000b\"", "\"a\\u0000b\"", true},
        {"[1,2]", "[2,1]", false},
        {"1", "1.0", true},
        {"1", "\"1\"", false},
        {"true", "1", false},
        {"null", "null", true},
        {"[]", "{}", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *a = jwtx_json_parse(rows[i].a, strlen(rows[i].a), NULL, 0);
        json_t *b = jwtx_json_parse(rows[i].b, strlen(rows[i].b), NULL, 0);
        CU_ASSERT_PTR_NOT_NULL(a);
        CU_ASSERT_PTR_NOT_NULL(b);
        if (jwtx_json_equal(a, b) != rows[i].eq || jwtx_json_equal(b, a) != rows[i].eq)
            fprintf(stderr, "\n  equal row %zu: %s vs %s\n", i, rows[i].a, rows[i].b);
        CU_ASSERT_EQUAL(jwtx_json_equal(a, b), rows[i].eq);
        CU_ASSERT_EQUAL(jwtx_json_equal(b, a), rows[i].eq);
        json_decref(a);
        json_decref(b);
    }
    CU_ASSERT_TRUE(jwtx_json_equal(NULL, NULL));
}

static const jwtx_cu_test tests[] = {
    {"jwtx_json_equal: keys by full length", test_equal},
    {"roundtrip matches Python json.dumps", test_roundtrip},
    {"parse errors match Python json.loads", test_parse_errors},
    {"floats match Python repr", test_doubles},
    {"every ASCII character escaped as Python", test_ascii_exhaustive},
    {"every code point escaped as Python", test_codepoints},
    {"invalid UTF-8 escaped, never raw", test_invalid_bytes},
    {"parsed values: duplicates, NaN, big ints, NUL", test_parse_values},
    {"nesting depth limit", test_depth_limit},
    {"UTF-16 and UTF-32 input as json.loads(bytes)", test_wide_encodings},
    {"int() digit limit, integers beyond the doubles", test_int_digit_limit},
    {"jwtx_buf: append, printf, grow, take, wipe", test_buf},
    {NULL, NULL},
};

JWTX_CU_MAIN("json", tests)

/*
 * Generator (run with /usr/bin/python3; condensed):
 *   dumps = lambda v, **k: json.dumps(v, separators=(",", ":"), ensure_ascii=True, **k)
 *   roundtrip: (t, dumps(json.loads(t.encode())), dumps(json.loads(t.encode()), sort_keys=True))
 *   errors:    (b, str(exc)) for json.loads(b) raising JSONDecodeError / UnicodeDecodeError
 *   doubles:   (float.hex(d), dumps(d))
 *   ascii:     dumps(chr(c)) for c in range(128)
 *   wide_ok:     (b, dumps(json.loads(b))) for b = text.encode(enc) with enc in utf-16(-le,-be),
 *                utf-32(-le,-be), utf-8-sig, BOMs and surrogates spliced in by hand
 *   wide_errors: (b, str(exc)) for json.loads(b) raising ValueError
 *   digit limit: json.loads("1" * 4301) etc.
 */
