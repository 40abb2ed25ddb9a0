/*
 * json.c — JSON read and written the way Python's json module does it.
 *
 * Flask-JWT-Extended and PyJWT serialise with json.dumps(separators=(",", ":"))
 * and parse with json.loads on bytes. Tokens must be byte-identical and error
 * messages must carry Python's reasons, so both directions live here instead
 * of in jansson: the writer escapes like ensure_ascii=True and prints floats
 * with Python's shortest round-trip repr; the parser is a small recursive
 * descent that follows CPython 3.11's scanner (its reasons, its positions in
 * code points, NaN/Infinity, lone surrogates, duplicate keys last-wins) and
 * builds jansson values. Strings holding lone surrogates are kept as WTF-8
 * (the 3-byte form of U+D800..U+DFFF), which the writer turns back into
 * \udXXX exactly as Python does. Like json.loads on bytes, the parser first
 * detects UTF-16 and UTF-32 (by BOM or by the zero bytes of the first
 * characters) and transcodes them, surrogates passed through, to the same
 * WTF-8 before parsing.
 */
#include "jwtx/json.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"

/* ------------------------------------------------------------------ */
/* jwtx_buf                                                            */

void jwtx_buf_init(jwtx_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void jwtx_buf_clear(jwtx_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    jwtx_buf_init(b);
}

void jwtx_buf_wipe(jwtx_buf *b)
{
    if (b == NULL)
        return;
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    jwtx_buf_clear(b);
}

/* Grows by moving to a new block rather than realloc, so that the old block,
 * which may hold a secret, is wiped before it is freed. */
static int buf_reserve(jwtx_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra > SIZE_MAX / 2 - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = malloc(cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    if (b->data != NULL) {
        memcpy(p, b->data, b->len);
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int jwtx_buf_append(jwtx_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0)
        return -1;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int jwtx_buf_puts(jwtx_buf *b, const char *s)
{
    return jwtx_buf_append(b, s, strlen(s));
}

int jwtx_buf_printf(jwtx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return jwtx_buf_append(b, small, (size_t)n);
    if (buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *jwtx_buf_take(jwtx_buf *b, size_t *len)
{
    if (jwtx_buf_append(b, "", 0) != 0) {
        jwtx_buf_wipe(b);
        return NULL;
    }
    char *data = b->data;
    if (len != NULL)
        *len = b->len;
    jwtx_buf_init(b);
    return data;
}

/* ------------------------------------------------------------------ */
/* UTF-8 (with surrogates allowed, as Python's surrogatepass does)     */

/* Length of the valid sequence at s[0..n), or 0 when invalid; its code point
 * in *cp. Strict UTF-8 plus the 3-byte encodings of surrogates (ED A0..BF
 * 80..BF), as Python decodes with surrogatepass. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    static const unsigned char lead_bits[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    size_t bad, len = jwtxp_utf8_valid(s, n, &bad);
    if (len == 0) {
        if (n < 3 || s[0] != 0xED || s[1] < 0xA0 || s[1] > 0xBF || s[2] < 0x80 || s[2] > 0xBF)
            return 0;
        len = 3;
    }
    uint32_t v = s[0] & lead_bits[len];
    for (size_t i = 1; i < len; i++)
        v = (v << 6) | (s[i] & 0x3F);
    *cp = v;
    return len;
}

/* Python's UnicodeDecodeError text for the first invalid sequence, or 0 when
 * the whole input is valid (surrogates allowed). */
static int utf8_check(const unsigned char *s, size_t n, char *why, size_t why_size)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = utf8_seq(s + i, n - i, &cp);
        if (k > 0) {
            i += k;
            continue;
        }
        /* CPython's decoder reports the maximal invalid subpart of strict
         * UTF-8 (surrogatepass then rescues only complete ED A0..BF xx). */
        unsigned char c = s[i];
        size_t bad = 1;
        (void)jwtxp_utf8_valid(s + i, n - i, &bad); /* 0: strict is stricter */
        const char *reason = "invalid continuation byte";
        if (c < 0xC2 || c > 0xF4)
            reason = "invalid start byte";
        else if (i + bad >= n)
            reason = "unexpected end of data";
        size_t end = i + bad;
        if (why && why_size) {
            if (end - i == 1)
                snprintf(why, why_size,
                         "'utf-8' codec can't decode byte 0x%02x in position %zu: %s", c, i,
                         reason);
            else
                snprintf(why, why_size,
                         "'utf-8' codec can't decode bytes in position %zu-%zu: %s", i, end - 1,
                         reason);
        }
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

static int put_u(jwtx_buf *out, uint32_t u)
{
    return jwtx_buf_printf(out, "\\u%04x", (unsigned)u);
}

int jwtx_json_dump_string(const char *s, size_t len, jwtx_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    if (jwtx_buf_append(out, "\"", 1) != 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        /* Copy the longest run of printable ASCII that needs no escape. */
        size_t j = i;
        while (j < len && p[j] >= 0x20 && p[j] < 0x7F && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i && jwtx_buf_append(out, p + i, j - i) != 0)
            return -1;
        i = j;
        if (i >= len)
            break;
        unsigned char c = p[i];
        int rc = 0;
        if (c < 0x80) {
            switch (c) {
            case '"': rc = jwtx_buf_append(out, "\\\"", 2); break;
            case '\\': rc = jwtx_buf_append(out, "\\\\", 2); break;
            case '\n': rc = jwtx_buf_append(out, "\\n", 2); break;
            case '\r': rc = jwtx_buf_append(out, "\\r", 2); break;
            case '\t': rc = jwtx_buf_append(out, "\\t", 2); break;
            case '\b': rc = jwtx_buf_append(out, "\\b", 2); break;
            case '\f': rc = jwtx_buf_append(out, "\\f", 2); break;
            default: rc = put_u(out, c); break;
            }
            i++;
        } else {
            uint32_t cp;
            size_t k = utf8_seq(p + i, len - i, &cp);
            if (k == 0) {
                rc = put_u(out, c); /* never emit an invalid byte raw */
                i++;
            } else if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                rc = put_u(out, 0xD800 | (v >> 10));
                if (rc == 0)
                    rc = put_u(out, 0xDC00 | (v & 0x3FF));
                i += k;
            } else {
                rc = put_u(out, cp);
                i += k;
            }
        }
        if (rc != 0)
            return -1;
    }
    return jwtx_buf_append(out, "\"", 1);
}

size_t jwtx_json_format_double(double d, char *buf, size_t size)
{
    if (size == 0)
        return 0;
    if (isnan(d))
        return (size_t)snprintf(buf, size, "NaN");
    if (isinf(d))
        return (size_t)snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");

    /* Shortest precision whose correctly rounded form reads back as d. */
    char sci[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* sci is "[-]D[.DDD]e[+-]XX": pull out sign, digits and exponent. */
    const char *q = sci;
    int neg = 0;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    char digits[24];
    size_t nd = 0;
    while (*q && *q != 'e') {
        if (*q != '.' && nd < sizeof digits - 1)
            digits[nd++] = *q;
        q++;
    }
    digits[nd] = '\0';
    int e10 = (*q == 'e') ? atoi(q + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';

    char tmp[64];
    size_t t = 0;
    if (neg)
        tmp[t++] = '-';
    int decpt = e10 + 1;
    if (decpt <= -4 || decpt > 16) {
        tmp[t++] = digits[0];
        if (nd > 1) {
            tmp[t++] = '.';
            memcpy(tmp + t, digits + 1, nd - 1);
            t += nd - 1;
        }
        t += (size_t)snprintf(tmp + t, sizeof tmp - t, "e%c%02d", e10 < 0 ? '-' : '+',
                              e10 < 0 ? -e10 : e10);
    } else if (decpt <= 0) {
        tmp[t++] = '0';
        tmp[t++] = '.';
        for (int z = 0; z < -decpt; z++)
            tmp[t++] = '0';
        memcpy(tmp + t, digits, nd);
        t += nd;
    } else if ((size_t)decpt >= nd) {
        memcpy(tmp + t, digits, nd);
        t += nd;
        for (size_t z = nd; z < (size_t)decpt; z++)
            tmp[t++] = '0';
        tmp[t++] = '.';
        tmp[t++] = '0';
    } else {
        memcpy(tmp + t, digits, (size_t)decpt);
        t += (size_t)decpt;
        tmp[t++] = '.';
        memcpy(tmp + t, digits + decpt, nd - (size_t)decpt);
        t += nd - (size_t)decpt;
    }
    tmp[t] = '\0';
    snprintf(buf, size, "%s", tmp);
    return t < size ? t : size - 1;
}

struct kv {
    const char *key;
    size_t len;
    json_t *value;
};

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

#define DUMP_MAX_DEPTH 1000

static int dump(const json_t *v, int flags, jwtx_buf *out, int depth)
{
    if (v == NULL || depth > DUMP_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL: return jwtx_buf_append(out, "null", 4);
    case JSON_TRUE: return jwtx_buf_append(out, "true", 4);
    case JSON_FALSE: return jwtx_buf_append(out, "false", 5);
    case JSON_INTEGER: return jwtx_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: {
        char tmp[64];
        size_t n = jwtx_json_format_double(json_real_value(v), tmp, sizeof tmp);
        return jwtx_buf_append(out, tmp, n);
    }
    case JSON_STRING: return jwtx_json_dump_string(json_string_value(v), json_string_length(v), out);
    case JSON_ARRAY: {
        if (jwtx_buf_append(out, "[", 1) != 0)
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0 && jwtx_buf_append(out, ",", 1) != 0)
                return -1;
            if (dump(json_array_get(v, i), flags, out, depth + 1) != 0)
                return -1;
        }
        return jwtx_buf_append(out, "]", 1);
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        struct kv *kvs = n ? calloc(n, sizeof *kvs) : NULL;
        if (n && kvs == NULL) {
            out->failed = 1;
            return -1;
        }
        size_t i = 0;
        const char *key;
        size_t key_len;
        json_t *val;
        json_object_keylen_foreach((json_t *)v, key, key_len, val)
        {
            if (i < n) {
                kvs[i].key = key;
                kvs[i].len = key_len;
                kvs[i].value = val;
                i++;
            }
        }
        if ((flags & JWTX_JSON_SORT_KEYS) && i > 1)
            qsort(kvs, i, sizeof *kvs, kv_cmp);
        int rc = jwtx_buf_append(out, "{", 1);
        for (size_t k = 0; rc == 0 && k < i; k++) {
            if (k > 0)
                rc = jwtx_buf_append(out, ",", 1);
            if (rc == 0)
                rc = jwtx_json_dump_string(kvs[k].key, kvs[k].len, out);
            if (rc == 0)
                rc = jwtx_buf_append(out, ":", 1);
            if (rc == 0)
                rc = dump(kvs[k].value, flags, out, depth + 1);
        }
        free(kvs);
        if (rc == 0)
            rc = jwtx_buf_append(out, "}", 1);
        return rc;
    }
    }
    return -1;
}

int jwtx_json_dump(const json_t *v, int flags, jwtx_buf *out)
{
    if (out->failed)
        return -1;
    size_t mark = out->len;
    if (dump(v, flags, out, 0) != 0) {
        /* Leave out as it was (nothing half-written), unless it has failed. */
        if (!out->failed && out->data) {
            out->len = mark;
            out->data[mark] = '\0';
        }
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Non-finite reals                                                    */

/* jansson cannot hold NaN or infinities in a real, but Python's json.loads
 * accepts them. They are read as null: every check that looks at a number
 * answers a non-finite value exactly as it answers null (spec/README.md
 * point 2: "... must be an integer.", "Fresh token required"), and no valid
 * JSON is ever written back with NaN in it. */
static json_t *make_real(double d)
{
    return isfinite(d) ? json_real(d) : json_null();
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */

#define PARSE_MAX_DEPTH 512
/* CPython's default sys.get_int_max_str_digits(). */
#define PY_INT_MAX_STR_DIGITS 4300

typedef struct parser {
    const unsigned char *s;
    size_t n;
    size_t pos;
    int depth;
    int failed;
    const char *reason; /* Python's reason text; NULL = out of memory */
    size_t err_pos;
    /* A ValueError raised outside the scanner's own errors (int()'s digit
     * limit): Python writes it without a position. */
    char plain[160];
} parser;

static void fail(parser *p, const char *reason, size_t at)
{
    if (!p->failed) {
        p->failed = 1;
        p->reason = reason;
        p->err_pos = at;
    }
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(parser *p)
{
    while (p->pos < p->n && is_ws(p->s[p->pos]))
        p->pos++;
}

/* Reads \uXXXX whose 'u' is at u; returns the value or -1 (error set). */
static long read_u4(parser *p, size_t u)
{
    size_t first = u + 1;
    /* CPython wants the 4 digits and at least one more character. */
    if (first + 4 >= p->n) {
        fail(p, "Invalid \\uXXXX escape", u);
        return -1;
    }
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = jwtxp_hexval(p->s[first + k]);
        if (h < 0) {
            fail(p, "Invalid \\uXXXX escape", u);
            return -1;
        }
        v = (v << 4) | h;
    }
    return v;
}

/* p->pos is on the opening quote. Fills b with the decoded bytes. */
static int parse_string_into(parser *p, jwtx_buf *b)
{
    size_t begin = p->pos;
    size_t i = begin + 1;
    /* jwtx_buf_append of zero bytes makes data non-NULL for empty strings. */
    jwtx_buf_append(b, "", 0);
    for (;;) {
        size_t j = i;
        while (j < p->n && p->s[j] != '"' && p->s[j] != '\\') {
            if (p->s[j] <= 0x1F) {
                fail(p, "Invalid control character at", j);
                return -1;
            }
            j++;
        }
        if (j > i)
            jwtx_buf_append(b, p->s + i, j - i);
        if (j >= p->n) {
            fail(p, "Unterminated string starting at", begin);
            return -1;
        }
        if (p->s[j] == '"') {
            p->pos = j + 1;
            return b->failed ? -1 : 0;
        }
        /* backslash */
        j++;
        if (j >= p->n) {
            fail(p, "Unterminated string starting at", begin);
            return -1;
        }
        unsigned char c = p->s[j];
        if (c != 'u') {
            char out;
            switch (c) {
            case '"': out = '"'; break;
            case '\\': out = '\\'; break;
            case '/': out = '/'; break;
            case 'b': out = '\b'; break;
            case 'f': out = '\f'; break;
            case 'n': out = '\n'; break;
            case 'r': out = '\r'; break;
            case 't': out = '\t'; break;
            default: fail(p, "Invalid \\escape", j - 1); return -1;
            }
            jwtx_buf_append(b, &out, 1);
            i = j + 1;
            continue;
        }
        long v = read_u4(p, j);
        if (v < 0)
            return -1;
        size_t end = j + 5; /* just past the 4 digits */
        uint32_t cp = (uint32_t)v;
        if (cp >= 0xD800 && cp <= 0xDBFF && end + 6 < p->n && p->s[end] == '\\' &&
            p->s[end + 1] == 'u') {
            long v2 = read_u4(p, end + 1);
            if (v2 < 0)
                return -1;
            if (v2 >= 0xDC00 && v2 <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)v2 - 0xDC00);
                end += 6;
            }
        }
        unsigned char u8[4];
        jwtx_buf_append(b, u8, jwtxp_utf8_encode(cp, u8)); /* a lone surrogate becomes WTF-8 */
        i = end;
    }
}

static json_t *parse_value(parser *p);

static json_t *parse_object(parser *p)
{
    json_t *obj = json_object();
    if (obj == NULL) {
        fail(p, NULL, p->pos);
        return NULL;
    }
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return obj;
    }
    for (;;) {
        if (p->pos >= p->n || p->s[p->pos] != '"') {
            fail(p, "Expecting property name enclosed in double quotes", p->pos);
            break;
        }
        jwtx_buf key;
        jwtx_buf_init(&key);
        if (parse_string_into(p, &key) != 0) {
            if (key.failed)
                fail(p, NULL, p->pos);
            jwtx_buf_wipe(&key);
            break;
        }
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') {
            fail(p, "Expecting ':' delimiter", p->pos);
            jwtx_buf_wipe(&key);
            break;
        }
        p->pos++;
        skip_ws(p);
        json_t *val = parse_value(p);
        if (val == NULL) {
            jwtx_buf_wipe(&key);
            break;
        }
        /* Duplicate keys: the last value wins and keeps the first position,
         * as a Python dict does. */
        int rc = json_object_setn_new_nocheck(obj, key.data, key.len, val);
        jwtx_buf_wipe(&key);
        if (rc != 0) {
            fail(p, NULL, p->pos);
            break;
        }
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            return obj;
        }
        if (p->pos >= p->n || p->s[p->pos] != ',') {
            fail(p, "Expecting ',' delimiter", p->pos);
            break;
        }
        p->pos++;
        skip_ws(p);
    }
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(parser *p)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        fail(p, NULL, p->pos);
        return NULL;
    }
    p->pos++; /* '[' */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return arr;
    }
    for (;;) {
        json_t *val = parse_value(p);
        if (val == NULL)
            break;
        if (json_array_append_new(arr, val) != 0) {
            fail(p, NULL, p->pos);
            break;
        }
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            return arr;
        }
        if (p->pos >= p->n || p->s[p->pos] != ',') {
            fail(p, "Expecting ',' delimiter", p->pos);
            break;
        }
        p->pos++;
        skip_ws(p);
    }
    json_decref(arr);
    return NULL;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static json_t *parse_number(parser *p)
{
    size_t start = p->pos, i = p->pos;
    if (p->s[i] == '-') {
        i++;
        if (i >= p->n) {
            fail(p, "Expecting value", start);
            return NULL;
        }
    }
    if (p->s[i] >= '1' && p->s[i] <= '9') {
        i++;
        while (i < p->n && is_digit(p->s[i]))
            i++;
    } else if (p->s[i] == '0') {
        i++;
    } else {
        fail(p, "Expecting value", start);
        return NULL;
    }
    int is_float = 0;
    if (i + 1 < p->n && p->s[i] == '.' && is_digit(p->s[i + 1])) {
        is_float = 1;
        i += 2;
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    if (i + 1 < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        size_t e_start = i;
        i++;
        if (i + 1 < p->n && (p->s[i] == '-' || p->s[i] == '+'))
            i++;
        while (i < p->n && is_digit(p->s[i]))
            i++;
        if (is_digit(p->s[i - 1]))
            is_float = 1;
        else
            i = e_start;
    }
    size_t len = i - start;
    char small[64];
    char *text = len < sizeof small ? small : malloc(len + 1);
    if (text == NULL) {
        fail(p, NULL, start);
        return NULL;
    }
    memcpy(text, p->s + start, len);
    text[len] = '\0';
    json_t *v = NULL;
    if (!is_float) {
        /* json.loads calls int() on the literal, which refuses more than
         * sys.get_int_max_str_digits() digits with a ValueError. */
        size_t ndigits = len - (text[0] == '-');
        if (ndigits > PY_INT_MAX_STR_DIGITS) {
            if (text != small)
                free(text);
            if (!p->failed) {
                snprintf(p->plain, sizeof p->plain,
                         "Exceeds the limit (%d digits) for integer string conversion: value "
                         "has %zu digits; use sys.set_int_max_str_digits() to increase the limit",
                         PY_INT_MAX_STR_DIGITS, ndigits);
                fail(p, p->plain, start);
            }
            return NULL;
        }
        /* Python ints are unbounded; beyond long long we keep the nearest
         * double, which orders the same against any timestamp, and beyond
         * the doubles the largest one (never null: it is an integer). */
        char *end;
        errno = 0;
        long long ll = strtoll(text, &end, 10);
        if (errno == 0 && *end == '\0') {
            v = json_integer(ll);
        } else {
            double d = strtod(text, NULL);
            if (!isfinite(d))
                d = text[0] == '-' ? -DBL_MAX : DBL_MAX;
            v = json_real(d);
        }
    } else {
        v = make_real(strtod(text, NULL));
    }
    if (text != small)
        free(text);
    if (v == NULL) {
        fail(p, NULL, start);
        return NULL;
    }
    p->pos = i;
    return v;
}

static int match(parser *p, const char *word)
{
    size_t k = strlen(word);
    return p->n - p->pos >= k && memcmp(p->s + p->pos, word, k) == 0;
}

static json_t *literal(parser *p, size_t len, json_t *v)
{
    if (v == NULL) {
        fail(p, "Expecting value", p->pos);
        return NULL;
    }
    p->pos += len;
    return v;
}

static json_t *parse_value(parser *p)
{
    if (p->pos >= p->n) {
        fail(p, "Expecting value", p->pos);
        return NULL;
    }
    if (p->depth >= PARSE_MAX_DEPTH) {
        fail(p, "Maximum nesting depth exceeded", p->pos);
        return NULL;
    }
    unsigned char c = p->s[p->pos];
    json_t *v = NULL;
    switch (c) {
    case '"': {
        jwtx_buf b;
        jwtx_buf_init(&b);
        if (parse_string_into(p, &b) == 0) {
            v = json_stringn_nocheck(b.data, b.len);
            if (v == NULL)
                fail(p, NULL, p->pos);
        } else if (b.failed) {
            fail(p, NULL, p->pos);
        }
        /* Strings are where a body's password and a token's claims sit. */
        jwtx_buf_wipe(&b);
        return v;
    }
    case '{':
    case '[':
        p->depth++;
        v = c == '{' ? parse_object(p) : parse_array(p);
        p->depth--;
        return v;
    case 'n':
        if (match(p, "null"))
            return literal(p, 4, json_null());
        break;
    case 't':
        if (match(p, "true"))
            return literal(p, 4, json_true());
        break;
    case 'f':
        if (match(p, "false"))
            return literal(p, 5, json_false());
        break;
    case 'N':
        if (match(p, "NaN"))
            return literal(p, 3, make_real(NAN));
        break;
    case 'I':
        if (match(p, "Infinity"))
            return literal(p, 8, make_real(INFINITY));
        break;
    case '-':
        if (match(p, "-Infinity"))
            return literal(p, 9, make_real(-INFINITY));
        return parse_number(p);
    default:
        if (is_digit(c))
            return parse_number(p);
        break;
    }
    fail(p, "Expecting value", p->pos);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Encodings: json.loads(bytes) detects UTF-8, UTF-16 or UTF-32        */

typedef enum text_enc {
    ENC_UTF8,
    ENC_UTF16LE,
    ENC_UTF16BE,
    ENC_UTF32LE,
    ENC_UTF32BE
} text_enc;

/* json.detect_encoding: a BOM first (UTF-32 before UTF-16, whose LE BOM
 * starts UTF-32's), else the zero pattern of the first bytes, which an ASCII
 * first character leaves in UTF-16/32. *bom receives the BOM's length. */
static text_enc detect_encoding(const unsigned char *b, size_t n, size_t *bom)
{
    *bom = 0;
    if (n >= 4 && b[0] == 0x00 && b[1] == 0x00 && b[2] == 0xFE && b[3] == 0xFF) {
        *bom = 4;
        return ENC_UTF32BE;
    }
    if (n >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0x00 && b[3] == 0x00) {
        *bom = 4;
        return ENC_UTF32LE;
    }
    if (n >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
        *bom = 2;
        return ENC_UTF16BE;
    }
    if (n >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
        *bom = 2;
        return ENC_UTF16LE;
    }
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        *bom = 3; /* utf-8-sig */
        return ENC_UTF8;
    }
    if (n >= 4) {
        if (b[0] == 0)
            return b[1] ? ENC_UTF16BE : ENC_UTF32BE;
        if (b[1] == 0)
            return b[2] || b[3] ? ENC_UTF16LE : ENC_UTF32LE;
    } else if (n == 2) {
        if (b[0] == 0)
            return ENC_UTF16BE;
        if (b[1] == 0)
            return ENC_UTF16LE;
    }
    return ENC_UTF8;
}

/* Python's UnicodeDecodeError text for bytes [from, to] of the input. */
static void codec_error(char *why, size_t why_size, const char *codec, const unsigned char *s,
                        size_t from, size_t to, const char *reason)
{
    if (why == NULL || why_size == 0)
        return;
    if (from == to)
        snprintf(why, why_size, "'%s' codec can't decode byte 0x%02x in position %zu: %s", codec,
                 s[from], from, reason);
    else
        snprintf(why, why_size, "'%s' codec can't decode bytes in position %zu-%zu: %s", codec,
                 from, to, reason);
}

/* Decodes the UTF-16/32 input s[0..n) (its BOM, if any, is the first bom
 * bytes) into out as WTF-8, as bytes.decode(codec, 'surrogatepass') does:
 * a surrogate pair becomes its code point, every other surrogate is kept.
 * Error positions count from the start of s, BOM included. Returns 0, or -1
 * with Python's codec error in why (or out->failed set). */
static int transcode(const unsigned char *s, size_t n, size_t bom, text_enc enc, jwtx_buf *out,
                     char *why, size_t why_size)
{
    int be = enc == ENC_UTF16BE || enc == ENC_UTF32BE;
    const char *codec = enc == ENC_UTF16LE   ? "utf-16-le"
                        : enc == ENC_UTF16BE ? "utf-16-be"
                        : enc == ENC_UTF32LE ? "utf-32-le"
                                             : "utf-32-be";
    /* Every 2 input bytes give at most 3 output bytes (a pair: 4 for 4). */
    if (n > SIZE_MAX / 2 || buf_reserve(out, n / 2 * 3) != 0)
        return -1;
    jwtx_buf_append(out, "", 0);
    size_t i = bom;
    unsigned char u8[4];
    if (enc == ENC_UTF16LE || enc == ENC_UTF16BE) {
        while (n - i >= 2) {
            uint32_t u = be ? (uint32_t)s[i] << 8 | s[i + 1] : (uint32_t)s[i + 1] << 8 | s[i];
            i += 2;
            if (u >= 0xD800 && u <= 0xDBFF && n - i >= 2) {
                uint32_t lo =
                    be ? (uint32_t)s[i] << 8 | s[i + 1] : (uint32_t)s[i + 1] << 8 | s[i];
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    i += 2;
                }
            }
            jwtx_buf_append(out, u8, jwtxp_utf8_encode(u, u8));
        }
    } else {
        while (n - i >= 4) {
            uint32_t u = be ? (uint32_t)s[i] << 24 | (uint32_t)s[i + 1] << 16 |
                                  (uint32_t)s[i + 2] << 8 | s[i + 3]
                            : (uint32_t)s[i + 3] << 24 | (uint32_t)s[i + 2] << 16 |
                                  (uint32_t)s[i + 1] << 8 | s[i];
            if (u > 0x10FFFF) {
                codec_error(why, why_size, codec, s, i, i + 3, "code point not in range(0x110000)");
                return -1;
            }
            jwtx_buf_append(out, u8, jwtxp_utf8_encode(u, u8));
            i += 4;
        }
    }
    if (i < n) {
        codec_error(why, why_size, codec, s, i, n - 1, "truncated data");
        return -1;
    }
    return out->failed ? -1 : 0;
}

json_t *jwtx_json_parse(const char *data, size_t len, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
    if (data == NULL && len > 0)
        return NULL;
    const unsigned char *s = (const unsigned char *)(data ? data : "");
    size_t bom;
    text_enc enc = detect_encoding(s, len, &bom);
    /* UTF-16/32 text is parsed from its WTF-8 form, wiped afterwards: a
     * login body holds a password. */
    jwtx_buf wide;
    jwtx_buf_init(&wide);
    if (enc != ENC_UTF8) {
        if (transcode(s, len, bom, enc, &wide, why, why_size) != 0) {
            if (wide.failed && why && why_size)
                snprintf(why, why_size, "out of memory");
            jwtx_buf_wipe(&wide);
            return NULL;
        }
        s = (const unsigned char *)wide.data;
        len = wide.len;
    } else {
        /* utf-8-sig: the BOM is dropped and positions count after it. */
        s += bom;
        len -= bom;
        if (utf8_check(s, len, why, why_size) != 0)
            return NULL;
    }

    parser p = {.s = s, .n = len};
    skip_ws(&p);
    json_t *v = parse_value(&p);
    if (v != NULL) {
        skip_ws(&p);
        if (p.pos != p.n) {
            fail(&p, "Extra data", p.pos);
            json_decref(v);
            v = NULL;
        }
    }
    if (v == NULL && why && why_size) {
        if (p.reason == NULL) {
            snprintf(why, why_size, "out of memory");
        } else if (p.reason == p.plain) {
            snprintf(why, why_size, "%s", p.plain);
        } else {
            /* Python counts in code points: line, column and char index. */
            size_t chars = 0, line = 1, col_start = 0;
            for (size_t i = 0; i < p.err_pos && i < p.n; i++) {
                if ((s[i] & 0xC0) != 0x80) {
                    chars++;
                    if (s[i] == '\n') {
                        line++;
                        col_start = chars;
                    }
                }
            }
            snprintf(why, why_size, "%s: line %zu column %zu (char %zu)", p.reason, line,
                     chars - col_start + 1, chars);
        }
    }
    jwtx_buf_wipe(&wide);
    return v;
}

/* ------------------------------------------------------------------ */
/* Equality                                                            */

bool jwtx_json_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        size_t klen;
        json_t *e;
        json_object_keylen_foreach((json_t *)a, k, klen, e)
        {
            if (!jwtx_json_equal(e, json_object_getn(b, k, klen)))
                return false;
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!jwtx_json_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_string(a) && json_is_string(b))
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b); /* 1 == 1.0, as in Python */
    return json_typeof(a) == json_typeof(b) && (json_is_true(a) || json_is_false(a) ||
                                                json_is_null(a));
}
