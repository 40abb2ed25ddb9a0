/*
 * keys.c — HMAC secrets and PEM keys: parsing, the checks that tie a key to
 * the algorithms it serves, RFC 7638 thumbprints, JWKs, and the key set of a
 * config (signing key, verification key, JWTX_DECODE_KEYS selected by kid).
 *
 * Everything is parsed and checked once, when the config loads
 * (jwtxp_keys_setup); a request never meets an unusable key. A secret that
 * looks like PEM or an SSH key is refused (it would let anyone who knows a
 * public key forge HMAC tokens), RSA keys need 2048 bits, EC keys must be on
 * their algorithm's curve. Secrets are wiped when freed.
 */
#include "jwtx/keys.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtx/b64url.h"
#include "jwtx/json.h"
#include "keys_internal.h"

/* PEM text larger than this is not a key (an RSA-8192 private key is ~6.5 KiB). */
#define PEM_MAX 65536
/* Extra verification keys (JWTX_DECODE_KEYS) per config. */
#define DECODE_KEYS_MAX 64
#define KID_MAX 256

/* ---------------------------------------------------------------- keys -- */

static jwtx_key *key_alloc(void)
{
    return calloc(1, sizeof(jwtx_key));
}

void jwtx_key_free(jwtx_key *key)
{
    if (key == NULL)
        return;
    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }
    for (size_t i = 0; i < sizeof key->hmac / sizeof key->hmac[0]; i++)
        EVP_MAC_CTX_free(key->hmac[i]);
    EVP_PKEY_free(key->pkey);
    OPENSSL_cleanse(key, sizeof *key);
    free(key);
}

/* True when s (len bytes) contains needle. */
static bool contains(const char *s, size_t len, const char *needle)
{
    return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* A secret must not be key material that is public elsewhere: a PEM block
 * or an OpenSSH public key line (PyJWT refuses these for HMAC as well). */
static bool looks_like_public_material(const unsigned char *s, size_t len)
{
    const char *c = (const char *)s;
    if (contains(c, len, "-----BEGIN ") || contains(c, len, "---- BEGIN SSH2"))
        return true;
    size_t i = 0;
    while (i < len && (c[i] == ' ' || c[i] == '\t' || c[i] == '\r' || c[i] == '\n'))
        i++;
    static const char *const prefixes[] = {"ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"};
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        size_t pl = strlen(prefixes[k]);
        if (len - i >= pl && memcmp(c + i, prefixes[k], pl) == 0)
            return true;
    }
    return contains(c, len, "-cert-v01@openssh.com");
}

/* Keys one HMAC context per SHA-2 size (see keys_internal.h). */
static int hmac_setup(jwtx_key *k)
{
    static const char *const digests[3] = {"SHA256", "SHA384", "SHA512"};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    int rc = mac != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < 3; i++) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string("digest", (char *)digests[i], 0),
            OSSL_PARAM_construct_end()};
        k->hmac[i] = EVP_MAC_CTX_new(mac);
        if (k->hmac[i] == NULL || EVP_MAC_init(k->hmac[i], k->secret, k->secret_len, params) != 1)
            rc = -1;
    }
    EVP_MAC_free(mac);
    return rc;
}

jwtx_key *jwtx_key_new_secret(const void *secret, size_t len, jwtx_error *err)
{
    if (secret == NULL || len == 0) {
        jwtx_error_set(err, JWTX_ERR_KEY, "the secret is empty");
        return NULL;
    }
    if (looks_like_public_material(secret, len)) {
        jwtx_error_set(err, JWTX_ERR_KEY,
                       "the secret looks like a PEM or SSH key; it must not be used as an "
                       "HMAC secret");
        return NULL;
    }
    jwtx_key *k = key_alloc();
    if (k == NULL || (k->secret = malloc(len)) == NULL) {
        free(k);
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    k->kind = JWTX_KEY_SECRET;
    if (hmac_setup(k) != 0) {
        jwtx_key_free(k);
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "cannot set up HMAC");
        return NULL;
    }
    return k;
}

/* Classifies an OpenSSL key; 0 when it is of no kind jwtx supports. */
static jwtx_key_kind kind_of_pkey(EVP_PKEY *pk, int *bits)
{
    *bits = 0;
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        *bits = EVP_PKEY_get_bits(pk);
        return JWTX_KEY_RSA;
    case EVP_PKEY_ED25519:
        return JWTX_KEY_ED25519;
    case EVP_PKEY_ED448:
        return JWTX_KEY_ED448;
    case EVP_PKEY_EC: {
        char name[64];
        size_t nlen = 0;
        if (EVP_PKEY_get_group_name(pk, name, sizeof name, &nlen) != 1)
            return 0;
        int nid = OBJ_sn2nid(name);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(name);
        if (nid == NID_X9_62_prime256v1)
            return JWTX_KEY_EC_P256;
        if (nid == NID_secp384r1)
            return JWTX_KEY_EC_P384;
        if (nid == NID_secp521r1)
            return JWTX_KEY_EC_P521;
        return 0;
    }
    default:
        return 0;
    }
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* The label of the first PEM block ("PUBLIC KEY"), into out; 0 or -1. */
static int pem_label(const char *pem, size_t len, char *out, size_t size)
{
    const char *b = memmem(pem, len, "-----BEGIN ", 11);
    if (b == NULL)
        return -1;
    b += 11;
    const char *end = pem + len;
    const char *e = memmem(b, (size_t)(end - b), "-----", 5);
    if (e == NULL || (size_t)(e - b) >= size)
        return -1;
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return 0;
}

jwtx_key *jwtx_key_new_pem(const char *pem, size_t len, jwtx_error *err)
{
    char label[64];
    if (pem == NULL || len == 0 || len > PEM_MAX || pem_label(pem, len, label, sizeof label) != 0) {
        jwtx_error_set(err, JWTX_ERR_KEY, "not a PEM key");
        return NULL;
    }
    bool priv;
    if (strcmp(label, "PRIVATE KEY") == 0 || strcmp(label, "RSA PRIVATE KEY") == 0 ||
        strcmp(label, "EC PRIVATE KEY") == 0)
        priv = true;
    else if (strcmp(label, "PUBLIC KEY") == 0 || strcmp(label, "RSA PUBLIC KEY") == 0)
        priv = false;
    else if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
        jwtx_error_set(err, JWTX_ERR_KEY, "encrypted private keys are not supported");
        return NULL;
    } else {
        jwtx_error_set(err, JWTX_ERR_KEY, "unsupported PEM block \"%s\" (use a PKCS#8 private "
                       "key or an SPKI public key)", label);
        return NULL;
    }
    /* Traditional keys announce encryption in a Proc-Type line. */
    if (contains(pem, len, "ENCRYPTED")) {
        jwtx_error_set(err, JWTX_ERR_KEY, "encrypted private keys are not supported");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    EVP_PKEY *pk = NULL;
    if (priv) {
        pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    } else if (strcmp(label, "PUBLIC KEY") == 0) {
        pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    } else {
        /* PKCS#1 RSAPublicKey: the non-deprecated way is a decoder. */
        OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
            &pk, "PEM", "type-specific", "RSA", EVP_PKEY_PUBLIC_KEY, NULL, NULL);
        if (dctx == NULL || OSSL_DECODER_from_bio(dctx, bio) != 1) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
        OSSL_DECODER_CTX_free(dctx);
    }
    BIO_free(bio);
    if (pk == NULL) {
        jwtx_error_set(err, JWTX_ERR_KEY, "cannot parse the PEM \"%s\" block", label);
        return NULL;
    }
    int bits = 0;
    jwtx_key_kind kind = kind_of_pkey(pk, &bits);
    if (kind == 0) {
        EVP_PKEY_free(pk);
        jwtx_error_set(err, JWTX_ERR_KEY,
                       "unsupported key type (use RSA, EC P-256/P-384/P-521, Ed25519 or Ed448)");
        return NULL;
    }
    if (kind == JWTX_KEY_RSA && bits > JWTXP_RSA_MAX_BITS) {
        EVP_PKEY_free(pk);
        jwtx_error_set(err, JWTX_ERR_KEY, "RSA key of %d bits is larger than %d bits", bits,
                       JWTXP_RSA_MAX_BITS);
        return NULL;
    }
    jwtx_key *k = key_alloc();
    if (k == NULL) {
        EVP_PKEY_free(pk);
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    k->kind = kind;
    k->pkey = pk;
    k->bits = bits;
    k->is_private = priv;
    return k;
}

jwtx_key_kind jwtx_key_kind_of(const jwtx_key *key)
{
    return key ? key->kind : 0;
}

bool jwtx_key_is_private(const jwtx_key *key)
{
    return key != NULL && key->is_private;
}

static const char *kind_name(jwtx_key_kind k)
{
    switch (k) {
    case JWTX_KEY_SECRET: return "an HMAC secret";
    case JWTX_KEY_RSA: return "an RSA key";
    case JWTX_KEY_EC_P256: return "an EC P-256 key";
    case JWTX_KEY_EC_P384: return "an EC P-384 key";
    case JWTX_KEY_EC_P521: return "an EC P-521 key";
    case JWTX_KEY_ED25519: return "an Ed25519 key";
    case JWTX_KEY_ED448: return "an Ed448 key";
    default: return "an unknown key";
    }
}

/* The key kind an algorithm needs (for EC, the one curve; for EdDSA and
 * RSA, one representative: see kind_serves). */
static bool kind_serves(jwtx_key_kind k, jwtx_alg alg)
{
    switch (alg) {
    case JWTX_ALG_HS256: case JWTX_ALG_HS384: case JWTX_ALG_HS512:
        return k == JWTX_KEY_SECRET;
    case JWTX_ALG_RS256: case JWTX_ALG_RS384: case JWTX_ALG_RS512:
    case JWTX_ALG_PS256: case JWTX_ALG_PS384: case JWTX_ALG_PS512:
        return k == JWTX_KEY_RSA;
    case JWTX_ALG_ES256: return k == JWTX_KEY_EC_P256;
    case JWTX_ALG_ES384: return k == JWTX_KEY_EC_P384;
    case JWTX_ALG_ES512: return k == JWTX_KEY_EC_P521;
    case JWTX_ALG_EDDSA: return k == JWTX_KEY_ED25519 || k == JWTX_KEY_ED448;
    default: return false;
    }
}

bool jwtxp_key_serves(const jwtx_key *key, jwtx_alg alg)
{
    if (key == NULL || !kind_serves(key->kind, alg))
        return false;
    if (key->kind == JWTX_KEY_SECRET)
        return key->secret != NULL && key->secret_len > 0;
    if (key->pkey == NULL)
        return false;
    if (key->kind == JWTX_KEY_RSA)
        return key->bits >= JWTXP_RSA_MIN_BITS && key->bits <= JWTXP_RSA_MAX_BITS;
    return true;
}

int jwtx_key_fits(const jwtx_key *key, jwtx_alg alg, jwtx_error *err)
{
    const char *an = jwtx_alg_name(alg);
    if (key == NULL || an == NULL)
        return jwtx_error_set(err, JWTX_ERR_KEY, "no key or unknown algorithm");
    if (!kind_serves(key->kind, alg))
        return jwtx_error_set(err, JWTX_ERR_KEY, "%s cannot be used with algorithm \"%s\"",
                              kind_name(key->kind), an);
    if (key->kind == JWTX_KEY_RSA && key->bits < JWTXP_RSA_MIN_BITS)
        return jwtx_error_set(err, JWTX_ERR_KEY,
                              "RSA key has %d bits; algorithm \"%s\" needs at least %d",
                              key->bits, an, JWTXP_RSA_MIN_BITS);
    if (!jwtxp_key_serves(key, alg))
        return jwtx_error_set(err, JWTX_ERR_KEY, "%s cannot be used with algorithm \"%s\"",
                              kind_name(key->kind), an);
    return 0;
}

jwtx_key *jwtx_key_public(const jwtx_key *key)
{
    if (key == NULL || key->pkey == NULL)
        return NULL;
    /* Round-trip through SubjectPublicKeyInfo: keeps the public half only. */
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key->pkey, &der);
    if (len <= 0)
        return NULL;
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
    OPENSSL_free(der);
    jwtx_key *k = pub ? key_alloc() : NULL;
    if (k == NULL) {
        EVP_PKEY_free(pub);
        return NULL;
    }
    k->kind = key->kind;
    k->pkey = pub;
    k->bits = key->bits;
    k->is_private = false;
    return k;
}

/* ---------------------------------------------------------------- JWK --- */

/* Base64url of a big number (RSA n, e: minimal big-endian; EC x, y: padded
 * to width bytes when width > 0). New string or NULL. */
static char *bn_param_b64(EVP_PKEY *pk, const char *param, int width)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
        return NULL;
    int n = width > 0 ? width : BN_num_bytes(bn);
    if (n <= 0)
        n = 1; /* zero would be one 0x00 byte; never happens for valid keys */
    unsigned char *bin = malloc((size_t)n);
    char *out = malloc(jwtx_b64url_encoded_len((size_t)n) + 1);
    if (bin == NULL || out == NULL || BN_bn2binpad(bn, bin, n) != n) {
        free(bin);
        free(out);
        BN_free(bn);
        return NULL;
    }
    jwtx_b64url_encode(bin, (size_t)n, out);
    free(bin);
    BN_free(bn);
    return out;
}

static int ec_width(jwtx_key_kind k)
{
    return k == JWTX_KEY_EC_P256 ? 32 : k == JWTX_KEY_EC_P384 ? 48 : 66;
}

static const char *ec_crv(jwtx_key_kind k)
{
    return k == JWTX_KEY_EC_P256 ? "P-256" : k == JWTX_KEY_EC_P384 ? "P-384" : "P-521";
}

/* The required public members of a key, each a new string:
 * RSA e, n; EC crv, x, y; OKP crv, x. Returns 0 or -1. */
struct jwk_members {
    const char *kty;
    const char *crv;
    char *e, *n, *x, *y;
};

static void jwk_members_clear(struct jwk_members *m)
{
    free(m->e);
    free(m->n);
    free(m->x);
    free(m->y);
    memset(m, 0, sizeof *m);
}

static int jwk_members_get(const jwtx_key *key, struct jwk_members *m)
{
    memset(m, 0, sizeof *m);
    if (key == NULL || key->pkey == NULL)
        return -1;
    switch (key->kind) {
    case JWTX_KEY_RSA:
        m->kty = "RSA";
        m->n = bn_param_b64(key->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        m->e = bn_param_b64(key->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
        if (m->n == NULL || m->e == NULL)
            goto fail;
        return 0;
    case JWTX_KEY_EC_P256: case JWTX_KEY_EC_P384: case JWTX_KEY_EC_P521:
        m->kty = "EC";
        m->crv = ec_crv(key->kind);
        m->x = bn_param_b64(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, ec_width(key->kind));
        m->y = bn_param_b64(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, ec_width(key->kind));
        if (m->x == NULL || m->y == NULL)
            goto fail;
        return 0;
    case JWTX_KEY_ED25519: case JWTX_KEY_ED448: {
        m->kty = "OKP";
        m->crv = key->kind == JWTX_KEY_ED25519 ? "Ed25519" : "Ed448";
        unsigned char raw[64];
        size_t rlen = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &rlen) != 1)
            goto fail;
        m->x = malloc(jwtx_b64url_encoded_len(rlen) + 1);
        if (m->x == NULL)
            goto fail;
        jwtx_b64url_encode(raw, rlen, m->x);
        return 0;
    }
    default:
        return -1;
    }
fail:
    jwk_members_clear(m);
    return -1;
}

int jwtx_key_thumbprint(const jwtx_key *key, char out[44])
{
    struct jwk_members m;
    if (jwk_members_get(key, &m) != 0)
        return -1;
    /* RFC 7638 section 3.2: required members only, lexicographic order, no
     * whitespace. Every value is base64url or a fixed name: nothing to escape. */
    jwtx_buf b;
    jwtx_buf_init(&b);
    if (key->kind == JWTX_KEY_RSA)
        jwtx_buf_printf(&b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", m.e, m.n);
    else if (m.y != NULL)
        jwtx_buf_printf(&b, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", m.crv,
                        m.x, m.y);
    else
        jwtx_buf_printf(&b, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", m.crv, m.x);
    jwk_members_clear(&m);
    int rc = -1;
    unsigned char md[32];
    if (!b.failed && b.data != NULL && EVP_Digest(b.data, b.len, md, NULL, EVP_sha256(), NULL) == 1) {
        jwtx_b64url_encode(md, sizeof md, out);
        rc = 0;
    }
    jwtx_buf_clear(&b);
    return rc;
}

json_t *jwtx_key_to_jwk(const jwtx_key *key, const char *kid, jwtx_alg alg)
{
    struct jwk_members m;
    if (jwk_members_get(key, &m) != 0)
        return NULL;
    json_t *j = json_object();
    int bad = j == NULL;
    bad |= json_object_set_new(j, "kty", json_string(m.kty)) != 0;
    if (m.crv)
        bad |= json_object_set_new(j, "crv", json_string(m.crv)) != 0;
    if (m.n)
        bad |= json_object_set_new(j, "n", json_string(m.n)) != 0;
    if (m.e)
        bad |= json_object_set_new(j, "e", json_string(m.e)) != 0;
    if (m.x)
        bad |= json_object_set_new(j, "x", json_string(m.x)) != 0;
    if (m.y)
        bad |= json_object_set_new(j, "y", json_string(m.y)) != 0;
    jwk_members_clear(&m);
    char tp[44];
    if (kid == NULL && jwtx_key_thumbprint(key, tp) == 0)
        kid = tp;
    if (kid != NULL)
        bad |= json_object_set_new(j, "kid", json_string(kid)) != 0;
    if (jwtx_alg_name(alg) != NULL)
        bad |= json_object_set_new(j, "alg", json_string(jwtx_alg_name(alg))) != 0;
    bad |= json_object_set_new(j, "use", json_string("sig")) != 0;
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------- key set --- */

struct decode_key {
    char *kid;
    jwtx_key *key; /* public */
};

struct jwtx_keyset {
    jwtx_key *secret;       /* HMAC secret, when an HS algorithm is in use */
    jwtx_key *private_key;  /* asymmetric signing key */
    jwtx_key *public_key;   /* its public half (given or derived) */
    jwtx_alg sign_alg;      /* JWT_ALGORITHM */
    char *key_id;           /* JWTX_KEY_ID (asymmetric only) */
    char thumbprint[44];    /* RFC 7638 of public_key ("" if none) */
    size_t n_decode;
    struct decode_key decode[DECODE_KEYS_MAX];
};

void jwtxp_keyset_free(jwtx_keyset *ks)
{
    if (ks == NULL)
        return;
    jwtx_key_free(ks->secret);
    jwtx_key_free(ks->private_key);
    jwtx_key_free(ks->public_key);
    free(ks->key_id);
    for (size_t i = 0; i < ks->n_decode; i++) {
        free(ks->decode[i].kid);
        jwtx_key_free(ks->decode[i].key);
    }
    free(ks);
}

const jwtx_key *jwtx_keyset_signing(const jwtx_keyset *ks)
{
    if (ks == NULL)
        return NULL;
    return jwtx_alg_is_hmac(ks->sign_alg) ? ks->secret : ks->private_key;
}

const jwtx_key *jwtx_keyset_verifier(const jwtx_keyset *ks, jwtx_alg alg, const char *kid)
{
    if (ks == NULL || jwtx_alg_name(alg) == NULL)
        return NULL;
    if (kid != NULL) {
        for (size_t i = 0; i < ks->n_decode; i++)
            if (strcmp(ks->decode[i].kid, kid) == 0)
                return jwtxp_key_serves(ks->decode[i].key, alg) ? ks->decode[i].key : NULL;
    }
    if (jwtx_alg_is_hmac(alg))
        return jwtxp_key_serves(ks->secret, alg) ? ks->secret : NULL;
    if (jwtxp_key_serves(ks->public_key, alg))
        return ks->public_key;
    /* A token without a (known) kid may still be for a decode key: use the
     * one key of alg's family when it is unambiguous. */
    const jwtx_key *found = NULL;
    for (size_t i = 0; i < ks->n_decode; i++) {
        if (jwtxp_key_serves(ks->decode[i].key, alg)) {
            if (found != NULL)
                return NULL;
            found = ks->decode[i].key;
        }
    }
    return found;
}

const char *jwtx_keyset_signing_kid(const jwtx_keyset *ks)
{
    if (ks == NULL || jwtx_alg_is_hmac(ks->sign_alg))
        return NULL;
    return ks->key_id;
}

/* The algorithm a decode key advertises in the JWKS: fixed by the curve for
 * EC and EdDSA; RSA keys serve six algorithms, so none is named. */
static jwtx_alg natural_alg(const jwtx_key *k)
{
    switch (k->kind) {
    case JWTX_KEY_EC_P256: return JWTX_ALG_ES256;
    case JWTX_KEY_EC_P384: return JWTX_ALG_ES384;
    case JWTX_KEY_EC_P521: return JWTX_ALG_ES512;
    case JWTX_KEY_ED25519: case JWTX_KEY_ED448: return JWTX_ALG_EDDSA;
    default: return JWTX_ALG_UNKNOWN;
    }
}

json_t *jwtx_keyset_jwks(const jwtx_keyset *ks, const jwtx_config *cfg)
{
    json_t *keys = json_array();
    json_t *set = json_object();
    if (keys == NULL || set == NULL || json_object_set(set, "keys", keys) != 0) {
        json_decref(keys);
        json_decref(set);
        return NULL;
    }
    json_decref(keys); /* set holds it now */
    if (ks == NULL)
        return set;
    if (ks->public_key != NULL) {
        const char *kid = ks->key_id;
        if (kid == NULL && cfg != NULL && cfg->key_id != NULL && cfg->key_id[0])
            kid = cfg->key_id;
        if (kid == NULL && ks->thumbprint[0])
            kid = ks->thumbprint;
        json_t *j = jwtx_key_to_jwk(ks->public_key, kid, ks->sign_alg);
        if (j == NULL || json_array_append_new(keys, j) != 0)
            goto fail;
    }
    for (size_t i = 0; i < ks->n_decode; i++) {
        const jwtx_key *k = ks->decode[i].key;
        json_t *j = jwtx_key_to_jwk(k, ks->decode[i].kid, natural_alg(k));
        if (j == NULL || json_array_append_new(keys, j) != 0)
            goto fail;
    }
    return set;
fail:
    json_decref(set);
    return NULL;
}

/* ------------------------------------------------------------- setup ----- */

static int cfg_fail(const jwtx_config *cfg, jwtx_config_error *err, const char *option,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int cfg_fail(const jwtx_config *cfg, jwtx_config_error *err, const char *option,
                    const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    snprintf(err->file, sizeof err->file, "%s", cfg && cfg->path ? cfg->path : "");
    err->line = 0;
    snprintf(err->option, sizeof err->option, "%s", option);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a whole PEM file (at most PEM_MAX bytes). New buffer or NULL. */
static char *read_pem_file(const char *path, size_t *len, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_size, "%s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > PEM_MAX;
    fclose(f);
    if (bad) {
        snprintf(why, why_size, "unreadable or larger than %d bytes", PEM_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_decode_keys(const jwtx_config *cfg, jwtx_keyset *ks, jwtx_config_error *err)
{
    const char *opt = "JWTX_DECODE_KEYS";
    if (cfg->decode_keys.n > DECODE_KEYS_MAX)
        return cfg_fail(cfg, err, opt, "at most %d keys are supported", DECODE_KEYS_MAX);
    for (size_t i = 0; i < cfg->decode_keys.n; i++) {
        const char *ent = cfg->decode_keys.v[i];
        const char *eq = ent ? strchr(ent, '=') : NULL;
        if (eq == NULL || eq == ent || eq[1] == '\0' || (size_t)(eq - ent) > KID_MAX)
            return cfg_fail(cfg, err, opt, "entry \"%.100s\" must be \"KID=/path/to/key.pem\"",
                            ent ? ent : "");
        size_t kidlen = (size_t)(eq - ent);
        for (size_t j = 0; j < ks->n_decode; j++)
            if (strlen(ks->decode[j].kid) == kidlen && memcmp(ks->decode[j].kid, ent, kidlen) == 0)
                return cfg_fail(cfg, err, opt, "kid \"%.*s\" is listed twice", (int)kidlen, ent);
        char why[256];
        size_t plen = 0;
        char *pem = read_pem_file(eq + 1, &plen, why, sizeof why);
        if (pem == NULL)
            return cfg_fail(cfg, err, opt, "%.200s: %s", eq + 1, why);
        jwtx_error e;
        jwtx_error_clear(&e);
        jwtx_key *k = jwtx_key_new_pem(pem, plen, &e);
        OPENSSL_cleanse(pem, plen);
        free(pem);
        if (k == NULL)
            return cfg_fail(cfg, err, opt, "%.200s: %s", eq + 1, jwtx_error_message(&e));
        if (k->is_private) {
            jwtx_key *pub = jwtx_key_public(k);
            jwtx_key_free(k);
            k = pub;
            if (k == NULL)
                return cfg_fail(cfg, err, opt, "%.200s: cannot derive the public key", eq + 1);
        }
        if (k->kind == JWTX_KEY_RSA && k->bits < JWTXP_RSA_MIN_BITS) {
            int bits = k->bits;
            jwtx_key_free(k);
            return cfg_fail(cfg, err, opt, "%.200s: RSA key has %d bits; at least %d are needed",
                            eq + 1, bits, JWTXP_RSA_MIN_BITS);
        }
        char *kid = strndup(ent, kidlen);
        if (kid == NULL) {
            jwtx_key_free(k);
            return cfg_fail(cfg, err, opt, "out of memory");
        }
        ks->decode[ks->n_decode].kid = kid;
        ks->decode[ks->n_decode].key = k;
        ks->n_decode++;
    }
    return 0;
}

/* Parses one PEM option into a key that fits alg. */
static jwtx_key *load_pem_option(const jwtx_config *cfg, const char *pem, const char *option,
                                 jwtx_alg alg, bool want_private, jwtx_config_error *err)
{
    jwtx_error e;
    jwtx_error_clear(&e);
    jwtx_key *k = jwtx_key_new_pem(pem, strlen(pem), &e);
    if (k == NULL) {
        cfg_fail(cfg, err, option, "%s", jwtx_error_message(&e));
        return NULL;
    }
    if (want_private && !k->is_private) {
        jwtx_key_free(k);
        cfg_fail(cfg, err, option, "must be a private key (PEM \"PRIVATE KEY\")");
        return NULL;
    }
    if (jwtx_key_fits(k, alg, &e) != 0) {
        jwtx_key_free(k);
        cfg_fail(cfg, err, option, "%s", jwtx_error_message(&e));
        return NULL;
    }
    return k;
}

static bool alg_in_list(const jwtx_config *cfg, bool (*pred)(jwtx_alg))
{
    for (size_t i = 0; i < cfg->decode_algorithms.n; i++) {
        const char *s = cfg->decode_algorithms.v[i];
        if (s != NULL && pred(jwtx_alg_parse(s, strlen(s))))
            return true;
    }
    return false;
}

static bool is_asym(jwtx_alg a)
{
    return a != JWTX_ALG_UNKNOWN && !jwtx_alg_is_hmac(a);
}

int jwtxp_keys_setup(jwtx_config *cfg, jwtx_config_error *err)
{
    if (cfg == NULL)
        return -1;
    const char *aname = cfg->algorithm ? cfg->algorithm : "HS256";
    jwtx_alg alg = jwtx_alg_parse(aname, strlen(aname));
    if (alg == JWTX_ALG_UNKNOWN)
        return cfg_fail(cfg, err, "JWT_ALGORITHM",
                        "unsupported algorithm \"%.64s\" (use HS256/384/512, RS256/384/512, "
                        "PS256/384/512, ES256/384/512 or EdDSA)", aname);
    jwtx_keyset *ks = calloc(1, sizeof *ks);
    if (ks == NULL)
        return cfg_fail(cfg, err, "JWT_ALGORITHM", "out of memory");
    ks->sign_alg = alg;
    jwtx_error e;
    jwtx_error_clear(&e);

    bool need_secret = jwtx_alg_is_hmac(alg) || alg_in_list(cfg, jwtx_alg_is_hmac);
    bool have_secret = cfg->secret_key != NULL && cfg->secret_key_len > 0;
    if (jwtx_alg_is_hmac(alg) && !have_secret) {
        cfg_fail(cfg, err, "JWT_SECRET_KEY",
                 "JWT_SECRET_KEY or flask SECRET_KEY must be set when using symmetric algorithm "
                 "\"%s\"", aname);
        goto fail;
    }
    if (need_secret && have_secret) {
        ks->secret = jwtx_key_new_secret(cfg->secret_key, cfg->secret_key_len, &e);
        if (ks->secret == NULL) {
            cfg_fail(cfg, err, "JWT_SECRET_KEY", "%s", jwtx_error_message(&e));
            goto fail;
        }
    }

    if (is_asym(alg)) {
        if (cfg->private_key == NULL || cfg->private_key[0] == '\0') {
            cfg_fail(cfg, err, "JWT_PRIVATE_KEY",
                     "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"%s\"",
                     aname);
            goto fail;
        }
        ks->private_key = load_pem_option(cfg, cfg->private_key, "JWT_PRIVATE_KEY", alg, true, err);
        if (ks->private_key == NULL)
            goto fail;
        if (cfg->public_key != NULL && cfg->public_key[0] != '\0') {
            jwtx_key *pub =
                load_pem_option(cfg, cfg->public_key, "JWT_PUBLIC_KEY", alg, false, err);
            if (pub == NULL)
                goto fail;
            /* A public key that is not the private key's half would make
             * every token jwtx issues fail its own verification. */
            if (EVP_PKEY_eq(pub->pkey, ks->private_key->pkey) != 1) {
                jwtx_key_free(pub);
                cfg_fail(cfg, err, "JWT_PUBLIC_KEY", "does not match JWT_PRIVATE_KEY");
                goto fail;
            }
            ks->public_key = jwtx_key_public(pub);
            jwtx_key_free(pub);
        } else {
            ks->public_key = jwtx_key_public(ks->private_key);
        }
        if (ks->public_key == NULL) {
            cfg_fail(cfg, err, "JWT_PUBLIC_KEY", "cannot derive the public key");
            goto fail;
        }
        if (jwtx_key_thumbprint(ks->public_key, ks->thumbprint) != 0)
            ks->thumbprint[0] = '\0';
        /* Tokens carry a kid only when JWTX_KEY_ID says so: the default header
         * stays exactly Flask-JWT-Extended's {"alg":..,"typ":"JWT"}. The JWKS
         * names the key by its thumbprint either way. */
        const char *kid = cfg->key_id != NULL && cfg->key_id[0] ? cfg->key_id : NULL;
        if (kid != NULL && (ks->key_id = strdup(kid)) == NULL) {
            cfg_fail(cfg, err, "JWTX_KEY_ID", "out of memory");
            goto fail;
        }
    }

    if (load_decode_keys(cfg, ks, err) != 0)
        goto fail;

    /* Deny by default, but fail early: an allowed algorithm with no key
     * would reject every token of it, which is a config mistake. */
    for (size_t i = 0; i < cfg->decode_algorithms.n; i++) {
        const char *s = cfg->decode_algorithms.v[i];
        jwtx_alg a = s ? jwtx_alg_parse(s, strlen(s)) : JWTX_ALG_UNKNOWN;
        if (a == JWTX_ALG_UNKNOWN)
            continue; /* answered "Algorithm not supported" per token, as the reference does */
        bool ok = jwtx_keyset_verifier(ks, a, NULL) != NULL;
        for (size_t j = 0; !ok && j < ks->n_decode; j++)
            ok = jwtxp_key_serves(ks->decode[j].key, a);
        if (!ok) {
            if (jwtx_alg_is_hmac(a))
                cfg_fail(cfg, err, "JWT_DECODE_ALGORITHMS",
                         "algorithm \"%s\" needs JWT_SECRET_KEY (or SECRET_KEY)", s);
            else
                cfg_fail(cfg, err, "JWT_DECODE_ALGORITHMS",
                         "algorithm \"%s\" has no key of its family (JWT_PUBLIC_KEY or "
                         "JWTX_DECODE_KEYS)", s);
            goto fail;
        }
    }

    jwtxp_keyset_free(cfg->keys);
    cfg->keys = ks;
    return 0;
fail:
    jwtxp_keyset_free(ks);
    return -1;
}
