/*
 * keys_internal.h — the jwtx_key struct, shared by keys.c (which builds and
 * checks keys) and jws.c (which signs and verifies with them). Not installed.
 */
#ifndef JWTX_KEYS_INTERNAL_H
#define JWTX_KEYS_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/keys.h"

/* Largest RSA modulus accepted: its signature must fit JWTX_JWS_SIG_MAX. */
#define JWTXP_RSA_MAX_BITS 8192
#define JWTXP_RSA_MIN_BITS 2048

struct jwtx_key {
    jwtx_key_kind kind;
    unsigned char *secret; /* JWTX_KEY_SECRET: owned copy, wiped on free */
    size_t secret_len;
    /* JWTX_KEY_SECRET: HMAC-SHA256/384/512 contexts keyed once, at creation;
     * each MAC works on a copy, so the key schedule is not redone per token. */
    struct evp_mac_ctx_st *hmac[3];
    EVP_PKEY *pkey;        /* every other kind */
    bool is_private;
    int bits;              /* RSA modulus bits (0 for other kinds) */
};

/* True when key is of alg's family and can serve it (curve, RSA size). */
bool jwtxp_key_serves(const jwtx_key *key, jwtx_alg alg);

#endif
