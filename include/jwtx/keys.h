/*
 * keys.h — secrets and PEM keys, key checks, key ids and JWKS.
 *
 * A jwtx_key is one HMAC secret or one OpenSSL public/private key. Keys are
 * parsed once, when the config loads (jwtxp_keys_setup), and checked against
 * the algorithms they will serve: a secret never looks like PEM or an SSH key;
 * RSA keys have at least 2048 bits; EC keys are on the curve of their ES
 * algorithm; EdDSA keys are Ed25519 or Ed448. Secrets are wiped when freed.
 */
#ifndef JWTX_KEYS_H
#define JWTX_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/jws.h"

typedef enum jwtx_key_kind {
    JWTX_KEY_SECRET = 1,
    JWTX_KEY_RSA,
    JWTX_KEY_EC_P256,
    JWTX_KEY_EC_P384,
    JWTX_KEY_EC_P521,
    JWTX_KEY_ED25519,
    JWTX_KEY_ED448
} jwtx_key_kind;

/* A new HMAC key holding a copy of len bytes. Refuses (NULL, err =
 * JWTX_ERR_KEY) an empty secret or one that looks like a PEM block or an SSH
 * public key, as PyJWT does. Free with jwtx_key_free. */
jwtx_key *jwtx_key_new_secret(const void *secret, size_t len, jwtx_error *err);

/* A new key from PEM text: PKCS#8 or traditional private key, SPKI or PKCS#1
 * RSA public key. Encrypted keys and certificates are refused. */
jwtx_key *jwtx_key_new_pem(const char *pem, size_t len, jwtx_error *err);

/* Frees key (wiping a secret). NULL is a no-op. */
void jwtx_key_free(jwtx_key *key);

jwtx_key_kind jwtx_key_kind_of(const jwtx_key *key);
bool jwtx_key_is_private(const jwtx_key *key);

/* 0 when key can serve alg (family, curve, RSA >= 2048 bits), else -1 with a
 * message naming both in err (JWTX_ERR_KEY). */
int jwtx_key_fits(const jwtx_key *key, jwtx_alg alg, jwtx_error *err);

/* A new public key holding only the public half of key (NULL for secrets). */
jwtx_key *jwtx_key_public(const jwtx_key *key);

/* The public JWK of key (RFC 7517/7518/8037) with "kid", "alg" (when alg is
 * not UNKNOWN) and "use":"sig". NULL for secrets. New reference. */
json_t *jwtx_key_to_jwk(const jwtx_key *key, const char *kid, jwtx_alg alg);

/* RFC 7638 SHA-256 thumbprint, base64url (43 chars + NUL) into out[44].
 * Returns 0, -1 for secrets. */
int jwtx_key_thumbprint(const jwtx_key *key, char out[44]);

/* The keys of one config. */
typedef struct jwtx_keyset jwtx_keyset;

/* Called by jwtx_config_load once the options are read: builds cfg->keys
 * from the secret / PEM options, checks them against JWT_ALGORITHM and every
 * algorithm of the decode allow-list, and loads JWTX_DECODE_KEYS. Returns 0,
 * or -1 with err naming the option. (Library-internal.) */
int jwtxp_keys_setup(jwtx_config *cfg, jwtx_config_error *err);
void jwtxp_keyset_free(jwtx_keyset *ks);

/* Key to sign new tokens with (the secret or the private key); borrowed. */
const jwtx_key *jwtx_keyset_signing(const jwtx_keyset *ks);

/* Key to verify a token whose header says alg and (maybe NULL) kid: a
 * JWTX_DECODE_KEYS entry when kid names one, else the configured secret or
 * public key. NULL when no key of alg's family exists. Borrowed. */
const jwtx_key *jwtx_keyset_verifier(const jwtx_keyset *ks, jwtx_alg alg, const char *kid);

/* kid written into new tokens' headers: JWTX_KEY_ID, or NULL (no kid) for
 * secrets and when not configured. Borrowed. */
const char *jwtx_keyset_signing_kid(const jwtx_keyset *ks);

/* The JWK Set of every public key ({"keys":[...]}); kid = JWTX_KEY_ID or the
 * RFC 7638 thumbprint. Empty set for HMAC-only configs. New reference. */
json_t *jwtx_keyset_jwks(const jwtx_keyset *ks, const jwtx_config *cfg);

#endif
