/*
 * json.h — JSON through jansson, written byte for byte as Python writes it.
 *
 * Flask-JWT-Extended serialises with Python's json module: compact separators
 * (",", ":"), ensure_ascii (non-ASCII as \uXXXX with lowercase hex, astral
 * characters as surrogate pairs, DEL and control characters escaped, "/" not
 * escaped), floats in Python's shortest round-trip repr. jansson's own dumper
 * differs in each of those, so tokens and answers are written here.
 */
#ifndef JWTX_JSON_H
#define JWTX_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Flags for jwtx_json_dump. */
#define JWTX_JSON_SORT_KEYS 0x1 /* sort object keys (headers, Flask answers) */

/* A growable byte buffer; caller-owned, _init/_clear pair. data is always
 * NUL-terminated after a successful append (an append of zero bytes included,
 * so data is non-NULL from then on). The one buffer type of the library: it
 * may hold secrets (conf strings, cookies), so growing it never leaves a copy
 * of the old bytes in freed memory; drop such a buffer with jwtx_buf_wipe. */
typedef struct jwtx_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set once an allocation failed; later appends are no-ops */
} jwtx_buf;

/* Makes b empty without freeing anything (b need not hold anything). */
void jwtx_buf_init(jwtx_buf *b);
/* Frees what b holds and leaves it empty, as after _init. NULL is a no-op. */
void jwtx_buf_clear(jwtx_buf *b);
/* Wipes every byte b holds (OPENSSL_cleanse over its capacity), then clears
 * it as jwtx_buf_clear does. For buffers that held a secret. NULL is a no-op. */
void jwtx_buf_wipe(jwtx_buf *b);
/* Append len bytes of data / the string s / printf output. Each returns 0, or
 * -1 on allocation failure (b->failed is then set and every later append is
 * a no-op returning -1, so a series of appends may be checked once). */
int jwtx_buf_append(jwtx_buf *b, const void *data, size_t len);
int jwtx_buf_puts(jwtx_buf *b, const char *s);
int jwtx_buf_printf(jwtx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands b's bytes to the caller: returns a new NUL-terminated string (""
 * for an empty buffer; release it with free) and stores its length in *len
 * when len is not NULL. b is left empty, as after _init. Returns NULL, with
 * *len untouched and b wiped and empty, when an append had failed or on
 * allocation failure. */
char *jwtx_buf_take(jwtx_buf *b, size_t *len);

/* Appends the Python-compatible compact serialisation of v to out.
 * Returns 0, or -1 on allocation failure or a value that Python would not
 * write (a NaN/Infinity real is written as Python does: NaN, Infinity). */
int jwtx_json_dump(const json_t *v, int flags, jwtx_buf *out);

/* Appends one JSON string literal (with quotes) for len bytes of UTF-8 s.
 * Invalid UTF-8 bytes are escaped as \u00XX of the byte (never emitted raw). */
int jwtx_json_dump_string(const char *s, size_t len, jwtx_buf *out);

/* Writes a double as Python's repr(float) does ("1795877876.274581", "1e+16",
 * "0.1", "5.0"). buf must hold at least 32 bytes. Returns the length. */
size_t jwtx_json_format_double(double d, char *buf, size_t size);

/* Parses len bytes as one JSON value (duplicate keys: last wins; NaN,
 * Infinity and -Infinity accepted as Python does; a leading UTF-8 BOM and
 * surrounding whitespace allowed). Returns a new reference, or NULL with a
 * short reason in why (caller buffer, may be NULL). */
json_t *jwtx_json_parse(const char *data, size_t len, char *why, size_t why_size);

/* Deep equality as Python's == on parsed JSON: object keys compared by their
 * full length (jansson's json_equal cuts keys at an embedded NUL, so
 * "a\u0000b" would equal "a"), strings byte for byte, numbers by value
 * (1 equals 1.0); true and false are not numbers here. NULL equals NULL. */
bool jwtx_json_equal(const json_t *a, const json_t *b);

#endif
