/*
 * util.h — the small helpers that several library files need: a hex digit's
 * value, a code point written as UTF-8, strict UTF-8 validation, a counted
 * copy of bytes. One copy here
 * instead of one per parser. Library-internal (jwtxp_*); not installed.
 */
#ifndef JWTX_UTIL_H
#define JWTX_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value (0..15) of the hexadecimal digit c ('0'-'9', 'a'-'f', 'A'-'F'),
 * or -1 for any other value of c (EOF included). */
int jwtxp_hexval(int c);

/* Writes code point cp as UTF-8 into out and returns how many bytes it used
 * (1 to 4). Surrogates (U+D800..U+DFFF) get their 3-byte form (WTF-8, as
 * Python's surrogatepass writes them); callers that must refuse them check
 * first. cp must be at most 0x10FFFF. */
size_t jwtxp_utf8_encode(uint32_t cp, unsigned char out[4]);

/* Strict UTF-8, as in Unicode's table 3-7 (no surrogates, no overlong
 * forms): returns the length (1 to 4) of the valid sequence that starts s
 * (n >= 1 bytes there), or 0 when none does; *bad then receives the length
 * (1 to 3) of its maximal invalid subpart: the bytes Python's decoder names
 * in its error, and that its "replace" handler turns into one U+FFFD. */
size_t jwtxp_utf8_valid(const unsigned char *s, size_t n, size_t *bad);

/* A new copy of n bytes of s (which may hold NULs), NUL-terminated; s may be
 * NULL when n is 0. Release it with free. Returns NULL when out of memory. */
char *jwtxp_memdup(const void *s, size_t n);

/* A boolean as the web server or an operator writes it: "1", "true", "yes",
 * "on" or "0", "false", "no", "off", in any case, spaces and tabs around it
 * ignored. Returns 1 and sets *out, 0 for NULL or a blank value (unset), -1
 * for anything else. One reading for every switch jwtx takes from outside. */
int jwtxp_bool_text(const char *v, bool *out);

#endif
