/*
 * fuzz_b64url.c — libFuzzer target for the strict base64url codec.
 *
 * Properties checked on every input:
 *   1. decode never reads past the input (the input is an exact-size heap
 *      copy) and never writes past jwtx_b64url_decoded_max;
 *   2. decode accepts only the canonical form: when it accepts, encoding the
 *      output gives back the input byte for byte;
 *   3. round trip: decode(encode(x)) == x for the input taken as bytes, and
 *      encode writes exactly jwtx_b64url_encoded_len bytes plus a NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/b64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_dup_exact(data, size);

    /* 1 + 2: decode, then canonical re-encoding */
    size_t max = jwtx_b64url_decoded_max(size);
    unsigned char *out = malloc(max ? max : 1);
    size_t outlen = 0;
    if (out == NULL)
        abort();
    if (jwtx_b64url_decode(in, size, out, &outlen) == 0) {
        if (outlen > max)
            fuzz_fail("decoded length above decoded_max");
        size_t elen = jwtx_b64url_encoded_len(outlen);
        char *enc = malloc(elen + 1);
        if (enc == NULL)
            abort();
        if (jwtx_b64url_encode(out, outlen, enc) != elen || enc[elen] != '\0')
            fuzz_fail("encode length");
        if (elen != size || memcmp(enc, in, size) != 0)
            fuzz_fail("decode accepted a non-canonical encoding");
        free(enc);
    }
    free(out);

    /* 3: round trip of the raw bytes */
    size_t elen = jwtx_b64url_encoded_len(size);
    char *enc = malloc(elen + 1);
    if (enc == NULL)
        abort();
    if (jwtx_b64url_encode(in, size, enc) != elen || enc[elen] != '\0' || strlen(enc) != elen)
        fuzz_fail("encode length");
    char *exact = fuzz_dup_exact((const uint8_t *)enc, elen);
    size_t dmax = jwtx_b64url_decoded_max(elen);
    unsigned char *dec = malloc(dmax ? dmax : 1);
    if (dec == NULL)
        abort();
    size_t dlen = 0;
    if (jwtx_b64url_decode(exact, elen, dec, &dlen) != 0)
        fuzz_fail("decode refused the encoder's output");
    if (dlen != size || (size && memcmp(dec, in, size) != 0))
        fuzz_fail("decode(encode(x)) != x");
    free(dec);
    free(exact);
    free(enc);
    free(in);
    return 0;
}
