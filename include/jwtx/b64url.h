/*
 * b64url.h — strict, canonical base64url (RFC 4648 section 5, no padding).
 *
 * jwtx accepts only the canonical form of each segment (spec/README.md
 * point 3): alphabet A-Z a-z 0-9 - _, no '=', no other byte, a length that is
 * not 1 mod 4, and unused low bits of the last symbol equal to zero. So every
 * byte string has exactly one accepted encoding.
 */
#ifndef JWTX_B64URL_H
#define JWTX_B64URL_H

#include <stddef.h>

/* Length of the encoding of n bytes (without NUL). */
size_t jwtx_b64url_encoded_len(size_t n);

/* Encodes n bytes into out, which must hold jwtx_b64url_encoded_len(n) + 1
 * bytes; writes a terminating NUL. Returns the encoded length. */
size_t jwtx_b64url_encode(const void *in, size_t n, char *out);

/* Largest decoded size for n input characters. */
size_t jwtx_b64url_decoded_max(size_t n);

/* Decodes n characters into out (room for jwtx_b64url_decoded_max(n) bytes).
 * Returns 0 and sets *outlen, or -1 for any non-canonical input (out is then
 * unspecified). Never reads past in[n-1]. */
int jwtx_b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
    __attribute__((warn_unused_result));

#endif
