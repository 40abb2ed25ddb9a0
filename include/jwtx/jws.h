/*
 * jws.h — compact JWS (RFC 7515) signing and verification.
 *
 * Algorithms: HS256/384/512, RS256/384/512, PS256/384/512 (MGF1 with the same
 * hash, salt = digest length), ES256/384/512 (raw r||s; r or s equal to zero
 * or not below the group order is rejected), EdDSA (Ed25519, Ed448). "none"
 * is not an algorithm here and never verifies. The algorithm to verify with
 * always comes from the config's allow-list; the key must be of that
 * algorithm's family (a secret for HS*, an RSA key for RS and PS, the matching
 * curve for ES, an EdDSA key for EdDSA), so keys cannot be confused.
 */
#ifndef JWTX_JWS_H
#define JWTX_JWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/errors.h"
#include "jwtx/json.h"

struct jwtx_config;
typedef struct jwtx_key jwtx_key; /* keys.h */

typedef enum jwtx_alg {
    JWTX_ALG_UNKNOWN = 0,
    JWTX_ALG_HS256,
    JWTX_ALG_HS384,
    JWTX_ALG_HS512,
    JWTX_ALG_RS256,
    JWTX_ALG_RS384,
    JWTX_ALG_RS512,
    JWTX_ALG_PS256,
    JWTX_ALG_PS384,
    JWTX_ALG_PS512,
    JWTX_ALG_ES256,
    JWTX_ALG_ES384,
    JWTX_ALG_ES512,
    JWTX_ALG_EDDSA,
    JWTX_ALG__COUNT
} jwtx_alg;

/* Largest signature: RSA-8192 = 1024 bytes. */
#define JWTX_JWS_SIG_MAX 1024
/* Largest token accepted anywhere (header, cookie, query, body). */
#define JWTX_TOKEN_MAX 16384

/* "HS256" -> JWTX_ALG_HS256; exact and case-sensitive; JWTX_ALG_UNKNOWN else. */
jwtx_alg jwtx_alg_parse(const char *name, size_t len);
/* JWTX_ALG_HS256 -> "HS256"; NULL for UNKNOWN. */
const char *jwtx_alg_name(jwtx_alg alg);
bool jwtx_alg_is_hmac(jwtx_alg alg);

/* Signs n bytes with key under alg. sig must hold JWTX_JWS_SIG_MAX bytes.
 * Returns 0 and sets *siglen, or -1 (key of the wrong family, OpenSSL error). */
int jwtx_jws_sign(jwtx_alg alg, const jwtx_key *key, const unsigned char *in, size_t n,
                  unsigned char *sig, size_t *siglen) __attribute__((warn_unused_result));

/* Verifies sig over n bytes. Returns 0 when valid, -1 otherwise (including a
 * key of the wrong family, a wrong length or out-of-range ECDSA r/s).
 * HMAC is compared in constant time. */
int jwtx_jws_verify(jwtx_alg alg, const jwtx_key *key, const unsigned char *in, size_t n,
                    const unsigned char *sig, size_t siglen) __attribute__((warn_unused_result));

/* Builds a compact JWS: header (an object; written with sorted keys, compact,
 * ASCII, as PyJWT does) "." payload bytes (already serialised JSON) ".", then
 * the signature. Appends to out. Returns 0 or -1 with err set. */
int jwtx_jws_compact_sign(const json_t *header, const char *payload, size_t payload_len,
                          jwtx_alg alg, const jwtx_key *key, jwtx_buf *out, jwtx_error *err);

/* What a verified compact JWS holds. _clear releases it. */
typedef struct jwtx_jws_parts {
    json_t *header;         /* the protected header object (new reference) */
    unsigned char *payload; /* decoded payload bytes, NUL-terminated (owned) */
    size_t payload_len;
    jwtx_alg alg;
} jwtx_jws_parts;

void jwtx_jws_parts_clear(jwtx_jws_parts *p);

/* Splits, decodes and verifies a compact JWS against the config's allow-list
 * and keys, in this order (spec section 3 with spec/README.md points 3-4):
 * split at the first and last dot (Not enough segments); header segment
 * (Invalid header padding), header JSON (Invalid header string: ...);
 * payload segment (Invalid payload padding); signature segment (Invalid
 * crypto padding); kid, crit, b64 (as PyJWT orders them); alg present (Algorithm not specified), allowed
 * (The specified alg value is not allowed), implemented (Algorithm not
 * supported); key selection by kid; signature (Signature verification
 * failed). The payload is NOT parsed here. Returns 0 and fills *out, or -1
 * with err set (out untouched). */
int jwtx_jws_compact_verify(const struct jwtx_config *cfg, const char *token, size_t len,
                            jwtx_jws_parts *out, jwtx_error *err)
    __attribute__((warn_unused_result));

#endif
