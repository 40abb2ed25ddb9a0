/*
 * jws.c — compact JWS (RFC 7515) signing and verification for every
 * algorithm jwtx knows (RFC 7518 HS/RS/PS/ES, RFC 8037 EdDSA), through
 * OpenSSL's EVP interface.
 *
 * The algorithm always comes from the caller (the config's allow-list, never
 * the token alone) and the key must belong to that algorithm's family, so a
 * public RSA key can never be used as an HMAC secret. ECDSA signatures are
 * the fixed-length JOSE form r||s; r and s must lie in [1, n-1] (this refuses
 * the all-zero "psychic signature" before OpenSSL sees it). HMAC tags are
 * compared in constant time.
 *
 * jwtx_jws_compact_verify runs the checks in the order of PyJWT's decoder
 * (spec section 3, steps 4, 5 and 8), with jwtx's strict base64url and with
 * the signature checked before anyone parses the payload (spec/README.md
 * points 3 and 4).
 */
#include "jwtx/jws.h"

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "jwtx/b64url.h"
#include "jwtx/config.h"
#include "jwtx/keys.h"
#include "keys_internal.h"

static const char *const alg_names[JWTX_ALG__COUNT] = {
    [JWTX_ALG_HS256] = "HS256", [JWTX_ALG_HS384] = "HS384", [JWTX_ALG_HS512] = "HS512",
    [JWTX_ALG_RS256] = "RS256", [JWTX_ALG_RS384] = "RS384", [JWTX_ALG_RS512] = "RS512",
    [JWTX_ALG_PS256] = "PS256", [JWTX_ALG_PS384] = "PS384", [JWTX_ALG_PS512] = "PS512",
    [JWTX_ALG_ES256] = "ES256", [JWTX_ALG_ES384] = "ES384", [JWTX_ALG_ES512] = "ES512",
    [JWTX_ALG_EDDSA] = "EdDSA",
};

jwtx_alg jwtx_alg_parse(const char *name, size_t len)
{
    if (name == NULL)
        return JWTX_ALG_UNKNOWN;
    for (int a = JWTX_ALG_HS256; a < JWTX_ALG__COUNT; a++)
        if (strlen(alg_names[a]) == len && memcmp(alg_names[a], name, len) == 0)
            return (jwtx_alg)a;
    return JWTX_ALG_UNKNOWN;
}

const char *jwtx_alg_name(jwtx_alg alg)
{
    if (alg <= JWTX_ALG_UNKNOWN || alg >= JWTX_ALG__COUNT)
        return NULL;
    return alg_names[alg];
}

bool jwtx_alg_is_hmac(jwtx_alg alg)
{
    return alg == JWTX_ALG_HS256 || alg == JWTX_ALG_HS384 || alg == JWTX_ALG_HS512;
}

/* The digest of an algorithm (NULL for EdDSA, which hashes internally). */
static const EVP_MD *alg_md(jwtx_alg alg)
{
    switch (alg) {
    case JWTX_ALG_HS256: case JWTX_ALG_RS256: case JWTX_ALG_PS256: case JWTX_ALG_ES256:
        return EVP_sha256();
    case JWTX_ALG_HS384: case JWTX_ALG_RS384: case JWTX_ALG_PS384: case JWTX_ALG_ES384:
        return EVP_sha384();
    case JWTX_ALG_HS512: case JWTX_ALG_RS512: case JWTX_ALG_PS512: case JWTX_ALG_ES512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

static bool alg_is_pss(jwtx_alg alg)
{
    return alg == JWTX_ALG_PS256 || alg == JWTX_ALG_PS384 || alg == JWTX_ALG_PS512;
}

static bool alg_is_ec(jwtx_alg alg)
{
    return alg == JWTX_ALG_ES256 || alg == JWTX_ALG_ES384 || alg == JWTX_ALG_ES512;
}

/* Group orders n of P-256, P-384 and P-521, big-endian at the JOSE length of
 * r and s (32, 48, 66 bytes). With equal lengths, memcmp orders numbers. */
static const unsigned char order_p256[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const unsigned char order_p384[48] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf,
    0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73};
static const unsigned char order_p521[66] = {
    0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b, 0x7f, 0xcc, 0x01,
    0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c, 0x47, 0xae, 0xbb, 0x6f,
    0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09};

/* Length of r (and of s) for an ES algorithm, with its group order. */
static size_t ec_half(jwtx_alg alg, const unsigned char **order)
{
    switch (alg) {
    case JWTX_ALG_ES256: *order = order_p256; return sizeof order_p256;
    case JWTX_ALG_ES384: *order = order_p384; return sizeof order_p384;
    case JWTX_ALG_ES512: *order = order_p521; return sizeof order_p521;
    default: *order = NULL; return 0;
    }
}

/* 1 when the big-endian number v (len bytes) lies in [1, order - 1]. */
static int ec_scalar_ok(const unsigned char *v, const unsigned char *order, size_t len)
{
    unsigned char any = 0;
    for (size_t i = 0; i < len; i++)
        any |= v[i];
    return any != 0 && memcmp(v, order, len) < 0;
}

static int hmac_tag(jwtx_alg alg, const jwtx_key *key, const unsigned char *in, size_t n,
                    unsigned char *tag, size_t *taglen)
{
    size_t i = alg == JWTX_ALG_HS256 ? 0 : alg == JWTX_ALG_HS384 ? 1 : 2;
    EVP_MAC_CTX *ctx = key->hmac[i] ? EVP_MAC_CTX_dup(key->hmac[i]) : NULL;
    size_t len = 0;
    int ok = ctx != NULL && EVP_MAC_update(ctx, in, n) == 1 &&
             EVP_MAC_final(ctx, tag, &len, EVP_MAX_MD_SIZE) == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return -1;
    *taglen = len;
    return 0;
}

/* Sets up an EVP_MD_CTX for signing or verifying with key under alg. */
static EVP_MD_CTX *evp_begin(jwtx_alg alg, const jwtx_key *key, int sign)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (ctx == NULL)
        return NULL;
    const EVP_MD *md = alg_md(alg);
    int ok = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key->pkey)
                  : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key->pkey);
    if (ok == 1 && key->kind == JWTX_KEY_RSA) {
        if (alg_is_pss(alg))
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
        else
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    }
    if (ok != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int jwtx_jws_sign(jwtx_alg alg, const jwtx_key *key, const unsigned char *in, size_t n,
                  unsigned char *sig, size_t *siglen)
{
    if (key == NULL || sig == NULL || siglen == NULL || (in == NULL && n != 0) ||
        !jwtxp_key_serves(key, alg))
        return -1;
    if (jwtx_alg_is_hmac(alg))
        return hmac_tag(alg, key, in, n, sig, siglen);
    if (!key->is_private)
        return -1;

    EVP_MD_CTX *ctx = evp_begin(alg, key, 1);
    if (ctx == NULL)
        return -1;
    int rc = -1;
    unsigned char *der = NULL;
    size_t len = 0;
    if (EVP_DigestSign(ctx, NULL, &len, in, n) != 1 || len == 0)
        goto out;
    if (!alg_is_ec(alg)) {
        if (len > JWTX_JWS_SIG_MAX || EVP_DigestSign(ctx, sig, &len, in, n) != 1)
            goto out;
        *siglen = len;
        rc = 0;
        goto out;
    }
    /* ECDSA: OpenSSL writes DER; JOSE wants r and s, each left-padded. */
    der = OPENSSL_malloc(len);
    if (der == NULL || EVP_DigestSign(ctx, der, &len, in, n) != 1)
        goto out;
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL)
        goto out;
    const unsigned char *order;
    size_t half = ec_half(alg, &order);
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, (int)half) == (int)half &&
        BN_bn2binpad(s, sig + half, (int)half) == (int)half) {
        *siglen = 2 * half;
        rc = 0;
    }
    ECDSA_SIG_free(es);
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* Converts a JOSE r||s signature to DER after range checks. */
static unsigned char *ec_to_der(jwtx_alg alg, const unsigned char *sig, size_t siglen,
                                int *derlen)
{
    const unsigned char *order;
    size_t half = ec_half(alg, &order);
    if (half == 0 || siglen != 2 * half || !ec_scalar_ok(sig, order, half) ||
        !ec_scalar_ok(sig + half, order, half))
        return NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    unsigned char *der = NULL;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    int len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (len <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    *derlen = len;
    return der;
}

int jwtx_jws_verify(jwtx_alg alg, const jwtx_key *key, const unsigned char *in, size_t n,
                    const unsigned char *sig, size_t siglen)
{
    if (key == NULL || (in == NULL && n != 0) || (sig == NULL && siglen != 0) ||
        !jwtxp_key_serves(key, alg))
        return -1;
    if (jwtx_alg_is_hmac(alg)) {
        unsigned char tag[EVP_MAX_MD_SIZE];
        size_t taglen = 0;
        if (hmac_tag(alg, key, in, n, tag, &taglen) != 0)
            return -1;
        int ok = siglen == taglen && CRYPTO_memcmp(tag, sig, taglen) == 0;
        OPENSSL_cleanse(tag, sizeof tag);
        return ok ? 0 : -1;
    }

    const unsigned char *vsig = sig;
    size_t vlen = siglen;
    unsigned char *der = NULL;
    if (alg_is_ec(alg)) {
        int dlen = 0;
        der = ec_to_der(alg, sig, siglen, &dlen);
        if (der == NULL)
            return -1;
        vsig = der;
        vlen = (size_t)dlen;
    } else if (key->kind == JWTX_KEY_RSA) {
        /* RSA signatures are exactly the modulus length. */
        if (siglen != (size_t)EVP_PKEY_get_size(key->pkey))
            return -1;
    } else {
        size_t want = key->kind == JWTX_KEY_ED25519 ? 64 : 114;
        if (siglen != want)
            return -1;
    }
    EVP_MD_CTX *ctx = evp_begin(alg, key, 0);
    int ok = ctx != NULL && EVP_DigestVerify(ctx, vsig, vlen, in, n) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

/* Frees a buffer of n bytes that held part of a token, wiped first. */
static void wipe_free(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
    free(p);
}

/* Appends the base64url form of n bytes to out. */
static int append_b64(jwtx_buf *out, const void *data, size_t n)
{
    size_t elen = jwtx_b64url_encoded_len(n);
    char *tmp = malloc(elen + 1);
    if (tmp == NULL)
        return -1;
    jwtx_b64url_encode(data, n, tmp);
    int rc = jwtx_buf_append(out, tmp, elen);
    wipe_free(tmp, elen + 1);
    return rc;
}

int jwtx_jws_compact_sign(const json_t *header, const char *payload, size_t payload_len,
                          jwtx_alg alg, const jwtx_key *key, jwtx_buf *out, jwtx_error *err)
{
    if (!json_is_object(header) || (payload == NULL && payload_len != 0) || out == NULL ||
        jwtx_alg_name(alg) == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "jws: bad arguments to compact_sign");
    if (key == NULL || !jwtxp_key_serves(key, alg))
        return jwtx_error_set(err, JWTX_ERR_KEY, "the signing key cannot be used with \"%s\"",
                              jwtx_alg_name(alg));

    jwtx_buf hdr;
    jwtx_buf_init(&hdr);
    size_t start = out->len;
    int rc = -1;
    if (jwtx_json_dump(header, JWTX_JSON_SORT_KEYS, &hdr) != 0 || hdr.failed) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "jws: cannot serialise the header");
        goto done;
    }
    if (append_b64(out, hdr.data, hdr.len) != 0 || jwtx_buf_append(out, ".", 1) != 0 ||
        append_b64(out, payload, payload_len) != 0 || out->failed) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "jws: out of memory");
        goto done;
    }
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t siglen = 0;
    if (jwtx_jws_sign(alg, key, (const unsigned char *)out->data + start, out->len - start, sig,
                      &siglen) != 0) {
        jwtx_error_set(err, JWTX_ERR_KEY, "signing with \"%s\" failed", jwtx_alg_name(alg));
        goto done;
    }
    int app = jwtx_buf_append(out, ".", 1) != 0 || append_b64(out, sig, siglen) != 0;
    OPENSSL_cleanse(sig, sizeof sig);
    if (app != 0 || out->failed) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "jws: out of memory");
        goto done;
    }
    rc = 0;
done:
    if (rc != 0 && out->data != NULL && !out->failed) {
        /* Outputs are written only on success: drop what was appended. */
        out->len = start;
        out->data[start] = '\0';
    }
    jwtx_buf_wipe(&hdr);
    return rc;
}

void jwtx_jws_parts_clear(jwtx_jws_parts *p)
{
    if (p == NULL)
        return;
    json_decref(p->header);
    if (p->payload != NULL)
        wipe_free(p->payload, p->payload_len + 1);
    p->header = NULL;
    p->payload = NULL;
    p->payload_len = 0;
    p->alg = JWTX_ALG_UNKNOWN;
}

/* Decodes one segment into a new heap buffer (NUL-terminated). Returns 0,
 * -1 for non-canonical input, -2 when memory runs out. */
static int decode_segment(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
    size_t cap = jwtx_b64url_decoded_max(n) + 1;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return -2;
    size_t len = 0;
    if (jwtx_b64url_decode(s, n, buf, &len) != 0) {
        wipe_free(buf, cap); /* a decoder may stop after writing some */
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* The JWS header checks of PyJWT's decoder (spec section 3 step 5): kid,
 * crit (jwtx understands only "b64"), then b64:false, which needs a detached
 * payload that a compact token never has. */
static int check_header(const json_t *hdr, jwtx_error *err)
{
    json_t *kid = json_object_get(hdr, "kid");
    if (kid != NULL && !json_is_string(kid))
        return jwtx_error_set(err, JWTX_ERR_KID_NOT_STRING, NULL);
    json_t *crit = json_object_get(hdr, "crit");
    if (crit != NULL) {
        if (!json_is_array(crit) || json_array_size(crit) == 0)
            return jwtx_error_set(err, JWTX_ERR_CRIT_NOT_LIST, NULL);
        size_t i;
        json_t *ext;
        json_array_foreach(crit, i, ext) {
            if (!json_is_string(ext))
                return jwtx_error_set(err, JWTX_ERR_CRIT_NOT_STRINGS, NULL);
            const char *name = json_string_value(ext);
            size_t nlen = json_string_length(ext);
            if (nlen != 3 || memcmp(name, "b64", 3) != 0) {
                jwtx_buf b;
                jwtx_buf_init(&b);
                /* Quote nothing: the reference prints the bare value. Bytes
                 * outside printable ASCII are escaped so the message stays
                 * one clean line. */
                for (size_t k = 0; k < nlen && k < 200; k++) {
                    unsigned char c = (unsigned char)name[k];
                    if (c >= 0x20 && c < 0x7f)
                        jwtx_buf_append(&b, &name[k], 1);
                    else
                        jwtx_buf_printf(&b, "\\x%02x", c);
                }
                jwtx_error_set(err, JWTX_ERR_CRIT_UNSUPPORTED, "Unsupported critical extension: %s",
                               b.data ? b.data : "");
                jwtx_buf_clear(&b);
                return -1;
            }
            if (json_object_get(hdr, "b64") == NULL)
                return jwtx_error_set(err, JWTX_ERR_CRIT_MISSING,
                                      "Critical extension 'b64' is missing from headers");
        }
    }
    if (json_is_false(json_object_get(hdr, "b64")))
        return jwtx_error_set(err, JWTX_ERR_B64_FALSE, NULL);
    return 0;
}

int jwtx_jws_compact_verify(const struct jwtx_config *cfg, const char *token, size_t len,
                            jwtx_jws_parts *out, jwtx_error *err)
{
    if (token == NULL || out == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "jws: bad arguments to compact_verify");
    /* jwtx never issues tokens this large, so none can verify; refuse before
     * allocating anything for them. */
    if (len > JWTX_TOKEN_MAX)
        return jwtx_error_set(err, JWTX_ERR_SIGNATURE, NULL);

    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = memrchr(token, '.', len);
    if (dot1 == NULL || dot1 == dot2)
        return jwtx_error_set(err, JWTX_ERR_NOT_ENOUGH_SEGMENTS, NULL);

    unsigned char *hbytes = NULL, *payload = NULL, *sig = NULL;
    size_t hlen = 0, plen = 0, slen = 0;
    json_t *hdr = NULL;
    int rc = -1, d;

    d = decode_segment(token, (size_t)(dot1 - token), &hbytes, &hlen);
    if (d != 0) {
        jwtx_error_set(err, d == -1 ? JWTX_ERR_HEADER_PADDING : JWTX_ERR_INTERNAL, NULL);
        goto done;
    }
    char why[256] = "";
    hdr = jwtx_json_parse((const char *)hbytes, hlen, why, sizeof why);
    if (hdr == NULL) {
        jwtx_error_set(err, JWTX_ERR_HEADER_STRING, "Invalid header string: %s",
                       why[0] ? why : "Expecting value: line 1 column 1 (char 0)");
        goto done;
    }
    if (!json_is_object(hdr)) {
        jwtx_error_set(err, JWTX_ERR_HEADER_STRING, "Invalid header string: must be a json object");
        goto done;
    }
    d = decode_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload, &plen);
    if (d != 0) {
        jwtx_error_set(err, d == -1 ? JWTX_ERR_PAYLOAD_PADDING : JWTX_ERR_INTERNAL, NULL);
        goto done;
    }
    d = decode_segment(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &slen);
    if (d != 0) {
        jwtx_error_set(err, d == -1 ? JWTX_ERR_CRYPTO_PADDING : JWTX_ERR_INTERNAL, NULL);
        goto done;
    }
    if (check_header(hdr, err) != 0)
        goto done;

    json_t *jalg = json_object_get(hdr, "alg");
    if (jalg == NULL) {
        jwtx_error_set(err, JWTX_ERR_ALG_NOT_SPECIFIED, NULL);
        goto done;
    }
    const char *aname = json_string_value(jalg);
    size_t alen = json_string_length(jalg);
    if (aname == NULL || alen == 0 || cfg == NULL || (alen == 4 && memcmp(aname, "none", 4) == 0) ||
        !jwtx_config_alg_allowed(cfg, aname, alen)) {
        jwtx_error_set(err, JWTX_ERR_ALG_NOT_ALLOWED, NULL);
        goto done;
    }
    jwtx_alg alg = jwtx_alg_parse(aname, alen);
    if (alg == JWTX_ALG_UNKNOWN) {
        jwtx_error_set(err, JWTX_ERR_ALG_NOT_SUPPORTED, NULL);
        goto done;
    }
    json_t *jkid = json_object_get(hdr, "kid");
    /* A kid with an embedded NUL names no key; treat it as no match. */
    const char *kid = json_string_value(jkid);
    if (kid != NULL && strlen(kid) != json_string_length(jkid))
        kid = "\x01";
    const jwtx_key *key = jwtx_keyset_verifier(cfg->keys, alg, kid);
    if (key == NULL) {
        /* No key of that family: the algorithm cannot be allowed here. */
        jwtx_error_set(err, JWTX_ERR_ALG_NOT_ALLOWED, NULL);
        goto done;
    }
    if (jwtx_jws_verify(alg, key, (const unsigned char *)token, (size_t)(dot2 - token), sig,
                        slen) != 0) {
        jwtx_error_set(err, JWTX_ERR_SIGNATURE, NULL);
        goto done;
    }
    out->header = hdr;
    out->payload = payload;
    out->payload_len = plen;
    out->alg = alg;
    hdr = NULL;
    payload = NULL;
    rc = 0;
done:
    /* The decoded parts are a token's content: wiped on every path. */
    json_decref(hdr);
    if (hbytes != NULL)
        wipe_free(hbytes, hlen + 1);
    if (payload != NULL)
        wipe_free(payload, plen + 1);
    if (sig != NULL)
        wipe_free(sig, slen + 1);
    return rc;
}
