/*
 * test_jws.c — JWS sign/verify and compact verification.
 *
 * RFC vectors: RFC 7515 A.1 (HS256, exact tag), A.2 (RS256, exact
 * signature), A.3 (ES256: the published signature verifies; sign+verify),
 * RFC 8037 A.4 (Ed25519, exact signature). Then every RFC 7518 algorithm:
 * round trip, tampering, keys of the wrong family refused, ECDSA r/s equal to
 * zero or not below the group order (the "psychic signature"), wrong
 * lengths, PSS salt length. Finally jwtx_jws_compact_verify: one case per
 * outcome and the order between them (spec section 3 steps 4, 5, 8 with
 * spec/README.md points 3-4), kid selection, and jwtx_jws_compact_sign.
 * Key files come from tests/fixtures/keys (run from the source root).
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/b64url.h"
#include "jwtx/config.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"

#define FX "tests/fixtures/keys/"

static jwtx_key *pem_key(const char *file)
{
    char path[256];
    snprintf(path, sizeof path, FX "%s", file);
    size_t n = 0;
    char *pem = jwtx_cu_slurp(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    jwtx_error e;
    jwtx_error_clear(&e);
    jwtx_key *k = jwtx_key_new_pem(pem, n, &e);
    if (k == NULL)
        fprintf(stderr, "\n  %s: %s\n", file, jwtx_error_message(&e));
    free(pem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    return k;
}

static size_t b64d(const char *s, unsigned char *out)
{
    size_t n = 0;
    int rc = jwtx_b64url_decode(s, strlen(s), out, &n);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return n;
}

static const char rfc7515_payload[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ";

/* ------------------------------------------------------- RFC vectors --- */

static void test_rfc7515_a1_hs256(void)
{
    unsigned char k[64];
    size_t kl = b64d("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9"
                     "CAow",
                     k);
    jwtx_key *key = jwtx_key_new_secret(k, kl, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    char input[300];
    snprintf(input, sizeof input, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.%s", rfc7515_payload);
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl = 0;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_HS256, key, (unsigned char *)input, strlen(input), sig,
                                  &sl), 0);
    char enc[100];
    jwtx_b64url_encode(sig, sl, enc);
    JWTX_ASSERT_STR(enc, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS256, key, (unsigned char *)input, strlen(input), sig,
                                    sl), 0);
    /* A truncated tag, a longer one and a flipped bit all fail. */
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS256, key, (unsigned char *)input, strlen(input), sig,
                                    sl - 1), -1);
    sig[sl] = 0;
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS256, key, (unsigned char *)input, strlen(input), sig,
                                    sl + 1), -1);
    sig[31] ^= 1;
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS256, key, (unsigned char *)input, strlen(input), sig,
                                    sl), -1);
    /* The same key under HS384 gives a different, 48-byte tag. */
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_HS384, key, (unsigned char *)input, strlen(input), sig,
                                  &sl), 0);
    CU_ASSERT_EQUAL(sl, 48);
    jwtx_key_free(key);
}

static const char rfc7515_a2_sig[] =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujG"
    "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6"
    "LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

static void test_rfc7515_a2_rs256(void)
{
    jwtx_key *priv = pem_key("rfc7515-a2.pem");
    jwtx_key *pub = jwtx_key_public(priv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
    char input[300];
    snprintf(input, sizeof input, "eyJhbGciOiJSUzI1NiJ9.%s", rfc7515_payload);
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl = 0;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_RS256, priv, (unsigned char *)input, strlen(input), sig,
                                  &sl), 0);
    CU_ASSERT_EQUAL(sl, 256);
    char enc[400];
    jwtx_b64url_encode(sig, sl, enc);
    JWTX_ASSERT_STR(enc, rfc7515_a2_sig);
    unsigned char want[256];
    CU_ASSERT_EQUAL(b64d(rfc7515_a2_sig, want), 256);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_RS256, pub, (unsigned char *)input, strlen(input), want,
                                    256), 0);
    /* The public key cannot sign. */
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_RS256, pub, (unsigned char *)input, strlen(input), sig,
                                  &sl), -1);
    jwtx_key_free(pub);
    jwtx_key_free(priv);
}

static void test_rfc7515_a3_es256(void)
{
    jwtx_key *priv = pem_key("rfc7515-a3.pem");
    jwtx_key *pub = jwtx_key_public(priv);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
    char input[300];
    snprintf(input, sizeof input, "eyJhbGciOiJFUzI1NiJ9.%s", rfc7515_payload);
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl = b64d("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6"
                     "NU1Q",
                     sig);
    CU_ASSERT_EQUAL(sl, 64);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_ES256, pub, (unsigned char *)input, strlen(input), sig,
                                    sl), 0);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_ES256, priv, (unsigned char *)input, strlen(input), sig,
                                    sl), 0);
    input[5] ^= 1;
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_ES256, pub, (unsigned char *)input, strlen(input), sig,
                                    sl), -1);
    input[5] ^= 1;
    /* ECDSA is randomised: two signatures differ, both verify. */
    unsigned char s1[JWTX_JWS_SIG_MAX], s2[JWTX_JWS_SIG_MAX];
    size_t l1 = 0, l2 = 0;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_ES256, priv, (unsigned char *)input, strlen(input), s1,
                                  &l1), 0);
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_ES256, priv, (unsigned char *)input, strlen(input), s2,
                                  &l2), 0);
    CU_ASSERT(l1 == 64 && l2 == 64 && memcmp(s1, s2, 64) != 0);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_ES256, pub, (unsigned char *)input, strlen(input), s1,
                                    l1), 0);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_ES256, pub, (unsigned char *)input, strlen(input), s2,
                                    l2), 0);
    jwtx_key_free(pub);
    jwtx_key_free(priv);
}

static void test_rfc8037_a4_ed25519(void)
{
    jwtx_key *priv = pem_key("rfc8037-a1.pem");
    jwtx_key *pub = jwtx_key_public(priv);
    const char input[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl = 0;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_EDDSA, priv, (const unsigned char *)input, strlen(input),
                                  sig, &sl), 0);
    CU_ASSERT_EQUAL(sl, 64);
    char enc[100];
    jwtx_b64url_encode(sig, sl, enc);
    JWTX_ASSERT_STR(enc, "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvp"
                         "Ar_MuM0KAg");
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_EDDSA, pub, (const unsigned char *)input, strlen(input),
                                    sig, sl), 0);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_EDDSA, pub, (const unsigned char *)input, strlen(input),
                                    sig, sl - 1), -1);
    sig[0] ^= 1;
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_EDDSA, pub, (const unsigned char *)input, strlen(input),
                                    sig, sl), -1);
    jwtx_key_free(pub);
    jwtx_key_free(priv);
}

/* --------------------------------------------- every RFC 7518 algorithm -- */

static const struct alg_case {
    jwtx_alg alg;
    const char *name;
    const char *priv; /* fixture, or NULL for HMAC */
    size_t siglen;
} alg_cases[] = {
    {JWTX_ALG_HS256, "HS256", NULL, 32},          {JWTX_ALG_HS384, "HS384", NULL, 48},
    {JWTX_ALG_HS512, "HS512", NULL, 64},          {JWTX_ALG_RS256, "RS256", "rsa2048.pem", 256},
    {JWTX_ALG_RS384, "RS384", "rsa2048.pem", 256}, {JWTX_ALG_RS512, "RS512", "rsa2048.pem", 256},
    {JWTX_ALG_PS256, "PS256", "rsa2048.pem", 256}, {JWTX_ALG_PS384, "PS384", "rsa2048.pem", 256},
    {JWTX_ALG_PS512, "PS512", "rsa2048.pem", 256}, {JWTX_ALG_ES256, "ES256", "ec-p256.pem", 64},
    {JWTX_ALG_ES384, "ES384", "ec-p384.pem", 96},  {JWTX_ALG_ES512, "ES512", "ec-p521.pem", 132},
    {JWTX_ALG_EDDSA, "EdDSA", "ed25519.pem", 64},  {JWTX_ALG_EDDSA, "EdDSA", "ed448.pem", 114},
};
#define N_ALG_CASES (sizeof alg_cases / sizeof alg_cases[0])

/* One key of every kind, for the wrong-family checks. */
static const char *const all_keys[] = {
    NULL, /* the secret */ "rsa2048.pem", "ec-p256.pem", "ec-p384.pem",
    "ec-p521.pem",         "ed25519.pem", "ed448.pem",
};

static jwtx_key *case_key(const char *file)
{
    if (file == NULL)
        return jwtx_key_new_secret("a-test-secret-of-reasonable-length-0123456789", 45, NULL);
    return pem_key(file);
}

static void test_names(void)
{
    for (size_t i = 0; i < N_ALG_CASES; i++) {
        CU_ASSERT_EQUAL(jwtx_alg_parse(alg_cases[i].name, strlen(alg_cases[i].name)),
                        alg_cases[i].alg);
        JWTX_ASSERT_STR(jwtx_alg_name(alg_cases[i].alg), alg_cases[i].name);
        CU_ASSERT_EQUAL(jwtx_alg_is_hmac(alg_cases[i].alg), alg_cases[i].priv == NULL);
    }
    static const char *const bad[] = {"none", "hs256", "HS256 ", "EDDSA", "ES256K", "ES521",
                                      "RS1",  "",      "HS2560", "PS25"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(jwtx_alg_parse(bad[i], strlen(bad[i])), JWTX_ALG_UNKNOWN);
    CU_ASSERT_EQUAL(jwtx_alg_parse("HS256\0", 6), JWTX_ALG_UNKNOWN);
    CU_ASSERT_EQUAL(jwtx_alg_parse(NULL, 0), JWTX_ALG_UNKNOWN);
    CU_ASSERT_PTR_NULL(jwtx_alg_name(JWTX_ALG_UNKNOWN));
    CU_ASSERT_PTR_NULL(jwtx_alg_name(JWTX_ALG__COUNT));
}

static void test_round_trip_and_tamper(void)
{
    const unsigned char msg[] = "eyJhbGciOiJ4In0.eyJzdWIiOiJhbGljZSJ9";
    size_t n = sizeof msg - 1;
    for (size_t i = 0; i < N_ALG_CASES; i++) {
        const struct alg_case *c = &alg_cases[i];
        jwtx_key *k = case_key(c->priv);
        jwtx_key *pub = c->priv ? jwtx_key_public(k) : NULL;
        const jwtx_key *vk = pub ? pub : k;
        unsigned char sig[JWTX_JWS_SIG_MAX];
        size_t sl = 0;
        CU_ASSERT_EQUAL(jwtx_jws_sign(c->alg, k, msg, n, sig, &sl), 0);
        if (sl != c->siglen)
            fprintf(stderr, "\n  %s: signature of %zu bytes\n", c->name, sl);
        CU_ASSERT_EQUAL(sl, c->siglen);
        CU_ASSERT_EQUAL(jwtx_jws_verify(c->alg, vk, msg, n, sig, sl), 0);
        /* Every single-bit change of the message or the signature fails. */
        unsigned char m2[sizeof msg];
        int accepted = 0;
        for (size_t bit = 0; bit < n * 8; bit += 7) {
            memcpy(m2, msg, n);
            m2[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            accepted += jwtx_jws_verify(c->alg, vk, m2, n, sig, sl) == 0;
        }
        for (size_t bit = 0; bit < sl * 8; bit += 13) {
            sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            accepted += jwtx_jws_verify(c->alg, vk, msg, n, sig, sl) == 0;
            sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        /* Wrong lengths: one byte short, one byte long, empty. */
        accepted += jwtx_jws_verify(c->alg, vk, msg, n, sig, sl - 1) == 0;
        sig[sl] = 0;
        accepted += jwtx_jws_verify(c->alg, vk, msg, n, sig, sl + 1) == 0;
        accepted += jwtx_jws_verify(c->alg, vk, msg, n, sig, 0) == 0;
        if (accepted)
            fprintf(stderr, "\n  %s accepted %d altered inputs\n", c->name, accepted);
        CU_ASSERT_EQUAL(accepted, 0);
        /* Verifying with a different key of the same kind fails. */
        if (c->priv == NULL) {
            jwtx_key *other = jwtx_key_new_secret("another-secret", 14, NULL);
            CU_ASSERT_EQUAL(jwtx_jws_verify(c->alg, other, msg, n, sig, sl), -1);
            jwtx_key_free(other);
        } else if (strcmp(c->priv, "rsa2048.pem") == 0) {
            jwtx_key *other = pem_key("rsa2048b.pub.pem");
            CU_ASSERT_EQUAL(jwtx_jws_verify(c->alg, other, msg, n, sig, sl), -1);
            jwtx_key_free(other);
        }
        jwtx_key_free(pub);
        jwtx_key_free(k);
    }
}

static void test_wrong_family_refused(void)
{
    const unsigned char msg[] = "header.payload";
    for (size_t i = 0; i < N_ALG_CASES; i++) {
        const struct alg_case *c = &alg_cases[i];
        /* A real signature, to be sure a refusal is about the key. */
        jwtx_key *right = case_key(c->priv);
        unsigned char sig[JWTX_JWS_SIG_MAX];
        size_t sl = 0;
        CU_ASSERT_EQUAL_FATAL(jwtx_jws_sign(c->alg, right, msg, sizeof msg - 1, sig, &sl), 0);
        for (size_t j = 0; j < sizeof all_keys / sizeof all_keys[0]; j++) {
            const char *f = all_keys[j];
            bool same = (f == NULL && c->priv == NULL) ||
                        (f != NULL && c->priv != NULL &&
                         (strcmp(f, c->priv) == 0 ||
                          (c->alg == JWTX_ALG_EDDSA && strncmp(f, "ed", 2) == 0)));
            if (same)
                continue;
            jwtx_key *wrong = case_key(f);
            unsigned char s2[JWTX_JWS_SIG_MAX];
            size_t l2 = 0;
            int sign_rc = jwtx_jws_sign(c->alg, wrong, msg, sizeof msg - 1, s2, &l2);
            int ver_rc = jwtx_jws_verify(c->alg, wrong, msg, sizeof msg - 1, sig, sl);
            jwtx_error e;
            jwtx_error_clear(&e);
            int fit_rc = jwtx_key_fits(wrong, c->alg, &e);
            if (sign_rc == 0 || ver_rc == 0 || fit_rc == 0)
                fprintf(stderr, "\n  %s accepted key %s\n", c->name, f ? f : "(secret)");
            CU_ASSERT_EQUAL(sign_rc, -1);
            CU_ASSERT_EQUAL(ver_rc, -1);
            CU_ASSERT_EQUAL(fit_rc, -1);
            CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
            jwtx_key_free(wrong);
        }
        jwtx_key_free(right);
    }
    /* The classic confusion: an RSA public key's PEM used as an HMAC secret
     * is refused when the secret is made. */
    size_t n = 0;
    char *pem = jwtx_cu_slurp(FX "rsa2048.pub.pem", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
    CU_ASSERT_PTR_NULL(jwtx_key_new_secret(pem, n, NULL));
    free(pem);
    /* Unknown algorithm and NULL key. */
    jwtx_key *s = case_key(NULL);
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_UNKNOWN, s, msg, 3, sig, &sl), -1);
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_HS256, NULL, msg, 3, sig, &sl), -1);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_UNKNOWN, s, msg, 3, sig, 32), -1);
    jwtx_key_free(s);
}

/* The group order of curve nid, big-endian at width bytes. */
static void curve_order(int nid, unsigned char *out, int width)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(BN_bn2binpad(EC_GROUP_get0_order(g), out, width), width);
    EC_GROUP_free(g);
}

static void add_one(unsigned char *v, int len)
{
    for (int i = len - 1; i >= 0; i--)
        if (++v[i] != 0)
            break;
}

static void test_ecdsa_range(void)
{
    static const struct {
        jwtx_alg alg;
        const char *file;
        int nid, half;
    } ec[] = {
        {JWTX_ALG_ES256, "ec-p256.pem", NID_X9_62_prime256v1, 32},
        {JWTX_ALG_ES384, "ec-p384.pem", NID_secp384r1, 48},
        {JWTX_ALG_ES512, "ec-p521.pem", NID_secp521r1, 66},
    };
    const unsigned char msg[] = "psychic.paper";
    for (size_t i = 0; i < 3; i++) {
        jwtx_key *k = pem_key(ec[i].file);
        int h = ec[i].half;
        unsigned char good[JWTX_JWS_SIG_MAX], bad[JWTX_JWS_SIG_MAX], n[66];
        size_t gl = 0;
        CU_ASSERT_EQUAL_FATAL(jwtx_jws_sign(ec[i].alg, k, msg, sizeof msg - 1, good, &gl), 0);
        CU_ASSERT_EQUAL(gl, (size_t)(2 * h));
        curve_order(ec[i].nid, n, h);

        /* The psychic signature: r = s = 0. */
        memset(bad, 0, 2 * h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        /* r = 0 or s = 0 with the other half genuine. */
        memcpy(bad, good, 2 * h);
        memset(bad, 0, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        memcpy(bad, good, 2 * h);
        memset(bad + h, 0, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        /* r = n, s = n, r = s = n, r = n + 1, all-ones. */
        memcpy(bad, good, 2 * h);
        memcpy(bad, n, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        memcpy(bad, good, 2 * h);
        memcpy(bad + h, n, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        memcpy(bad, n, h);
        memcpy(bad + h, n, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        memcpy(bad, good, 2 * h);
        memcpy(bad, n, h);
        add_one(bad, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        memset(bad, 0xff, 2 * h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h), -1);
        /* DER instead of raw r||s, and the other curves' lengths, fail. */
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, good, 2 * h - 1), -1);
        memcpy(bad, good, 2 * h);
        bad[2 * h] = 0;
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, bad, 2 * h + 1), -1);
        unsigned char padded[JWTX_JWS_SIG_MAX];
        memset(padded, 0, sizeof padded);
        memcpy(padded + 1, good, h);
        memcpy(padded + h + 2, good + h, h);
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, padded, 2 * h + 2), -1);
        /* The genuine signature still verifies (nothing above mutated it). */
        CU_ASSERT_EQUAL(jwtx_jws_verify(ec[i].alg, k, msg, sizeof msg - 1, good, gl), 0);
        jwtx_key_free(k);
    }
}

/* Signs with RSASSA-PSS at an explicit salt length through plain EVP. */
static size_t pss_sign(const char *file, const EVP_MD *md, int salt, const unsigned char *msg,
                       size_t n, unsigned char *sig)
{
    size_t len = 0;
    char *pem = jwtx_cu_slurp(file, &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(pem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pk);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t sl = 512;
    int ok = EVP_DigestSignInit(ctx, &pctx, md, NULL, pk) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1 &&
             EVP_DigestSign(ctx, sig, &sl, msg, n) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    CU_ASSERT_FATAL(ok);
    return sl;
}

static void test_pss_salt_length(void)
{
    /* RFC 7518 3.5: the salt is as long as the digest. A signature made by
     * another implementation with that salt verifies; one with salt 0 or a
     * maximal salt does not. */
    const unsigned char msg[] = "pss.salt";
    jwtx_key *pub = pem_key("rsa2048.pub.pem");
    static const struct {
        jwtx_alg alg;
        const EVP_MD *(*md)(void);
        int hlen;
    } v[] = {{JWTX_ALG_PS256, EVP_sha256, 32},
             {JWTX_ALG_PS384, EVP_sha384, 48},
             {JWTX_ALG_PS512, EVP_sha512, 64}};
    for (size_t i = 0; i < 3; i++) {
        unsigned char sig[512];
        size_t sl = pss_sign(FX "rsa2048.pem", v[i].md(), v[i].hlen, msg, sizeof msg - 1, sig);
        CU_ASSERT_EQUAL(jwtx_jws_verify(v[i].alg, pub, msg, sizeof msg - 1, sig, sl), 0);
        /* PKCS#1 v1.5 verification of a PSS signature fails. */
        CU_ASSERT_EQUAL(jwtx_jws_verify(v[i].alg - 3, pub, msg, sizeof msg - 1, sig, sl), -1);
        sl = pss_sign(FX "rsa2048.pem", v[i].md(), 0, msg, sizeof msg - 1, sig);
        CU_ASSERT_EQUAL(jwtx_jws_verify(v[i].alg, pub, msg, sizeof msg - 1, sig, sl), -1);
        sl = pss_sign(FX "rsa2048.pem", v[i].md(), RSA_PSS_SALTLEN_MAX, msg, sizeof msg - 1, sig);
        CU_ASSERT_EQUAL(jwtx_jws_verify(v[i].alg, pub, msg, sizeof msg - 1, sig, sl), -1);
    }
    jwtx_key_free(pub);
}

static void test_rsa_too_small(void)
{
    /* A 1024-bit key is refused both ways, even with a valid signature. */
    jwtx_key *k = pem_key("rsa1024.pem");
    const unsigned char msg[] = "small";
    unsigned char sig[512];
    size_t sl = 0;
    CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_RS256, k, msg, 5, sig, &sl), -1);
    jwtx_key_free(k);
}

/* ---------------------------------------------------- compact verify ---- */

static char *dupstr(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* A config with the given algorithm, allow-list and keys, keys set up. */
static void cfg_make(jwtx_config *cfg, const char *alg, const char *const *allow, const char *secret,
                     const char *privfile, const char *const *decode_keys)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = dupstr("test.conf");
    cfg->algorithm = dupstr(alg);
    size_t n = 0;
    while (allow && allow[n])
        n++;
    cfg->decode_algorithms.n = n;
    cfg->decode_algorithms.v = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        cfg->decode_algorithms.v[i] = dupstr(allow[i]);
    if (secret) {
        cfg->secret_key = dupstr(secret);
        cfg->secret_key_len = strlen(secret);
    }
    if (privfile) {
        char path[256];
        snprintf(path, sizeof path, FX "%s", privfile);
        cfg->private_key = jwtx_cu_slurp(path, NULL);
    }
    n = 0;
    while (decode_keys && decode_keys[n])
        n++;
    cfg->decode_keys.n = n;
    cfg->decode_keys.v = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        cfg->decode_keys.v[i] = dupstr(decode_keys[i]);
    jwtx_config_error ce;
    memset(&ce, 0, sizeof ce);
    int rc = jwtxp_keys_setup(cfg, &ce);
    if (rc != 0)
        fprintf(stderr, "\n  keys setup: %s: %s\n", ce.option, ce.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void strlist_free(jwtx_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void cfg_free(jwtx_config *cfg)
{
    jwtxp_keyset_free(cfg->keys);
    free(cfg->path);
    free(cfg->algorithm);
    strlist_free(&cfg->decode_algorithms);
    strlist_free(&cfg->decode_keys);
    free(cfg->secret_key);
    free(cfg->private_key);
    free(cfg->public_key);
    memset(cfg, 0, sizeof *cfg);
}

/* b64url(header) "." b64url(payload) "." b64url(sig by key under alg);
 * the header and payload are given as raw text. sig_override, when not
 * NULL, is used verbatim as the third segment. */
static char *make_token(const char *header, const char *payload, jwtx_alg alg, const jwtx_key *key,
                        const char *sig_override)
{
    size_t hl = strlen(header), pl = strlen(payload);
    size_t cap = jwtx_b64url_encoded_len(hl) + jwtx_b64url_encoded_len(pl) + 2048;
    char *t = malloc(cap);
    size_t o = jwtx_b64url_encode(header, hl, t);
    t[o++] = '.';
    o += jwtx_b64url_encode(payload, pl, t + o);
    t[o++] = '.';
    t[o] = '\0';
    if (sig_override) {
        strcpy(t + o, sig_override);
        return t;
    }
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t sl = 0;
    CU_ASSERT_EQUAL_FATAL(jwtx_jws_sign(alg, key, (unsigned char *)t, o - 1, sig, &sl), 0);
    jwtx_b64url_encode(sig, sl, t + o);
    return t;
}

/* Runs compact_verify and checks the outcome and the full message. */
static void expect(const jwtx_config *cfg, const char *token, jwtx_err code, const char *msg,
                   int line)
{
    jwtx_jws_parts parts;
    memset(&parts, 0, sizeof parts);
    jwtx_error e;
    jwtx_error_clear(&e);
    int rc = jwtx_jws_compact_verify(cfg, token, strlen(token), &parts, &e);
    if (code == JWTX_OK) {
        if (rc != 0)
            fprintf(stderr, "\n  line %d: failed with %s\n", line, jwtx_error_message(&e));
        CU_ASSERT_EQUAL(rc, 0);
        jwtx_jws_parts_clear(&parts);
        return;
    }
    if (rc != -1 || e.code != code || strcmp(jwtx_error_message(&e), msg) != 0)
        fprintf(stderr, "\n  line %d: rc %d, got %s [%s], expected %s [%s]\n", line, rc,
                jwtx_err_name(e.code), jwtx_error_message(&e), jwtx_err_name(code), msg);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(e.code, code);
    JWTX_ASSERT_STR(jwtx_error_message(&e), msg);
    CU_ASSERT_PTR_NULL(parts.header); /* out untouched on failure */
    CU_ASSERT_PTR_NULL(parts.payload);
}
#define EXPECT(cfg, tok, code, msg) expect(cfg, tok, code, msg, __LINE__)

/* Same with a token built from header/payload text. */
static void expect_hp(const jwtx_config *cfg, const char *h, const char *p, const char *sig,
                      jwtx_err code, const char *msg, int line)
{
    const jwtx_key *k = jwtx_keyset_signing(cfg->keys);
    char *t = make_token(h, p, JWTX_ALG_HS256, k, sig);
    expect(cfg, t, code, msg, line);
    free(t);
}
#define EXPECT_HP(cfg, h, p, sig, code, msg) expect_hp(cfg, h, p, sig, code, msg, __LINE__)

static const char *const allow_hs256[] = {"HS256", NULL};
#define SECRET "super-secret-test-key-that-is-long-enough"

static void test_compact_success(void)
{
    jwtx_config cfg;
    cfg_make(&cfg, "HS256", allow_hs256, SECRET, NULL, NULL);
    const jwtx_key *k = jwtx_keyset_signing(cfg.keys);
    char *t = make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"alice\"}", JWTX_ALG_HS256,
                         k, NULL);
    jwtx_jws_parts parts;
    memset(&parts, 0, sizeof parts);
    jwtx_error e;
    jwtx_error_clear(&e);
    CU_ASSERT_EQUAL_FATAL(jwtx_jws_compact_verify(&cfg, t, strlen(t), &parts, &e), 0);
    CU_ASSERT_EQUAL(parts.alg, JWTX_ALG_HS256);
    CU_ASSERT(json_is_object(parts.header));
    JWTX_ASSERT_STR(json_string_value(json_object_get(parts.header, "typ")), "JWT");
    CU_ASSERT_EQUAL(parts.payload_len, 15);
    JWTX_ASSERT_STR((char *)parts.payload, "{\"sub\":\"alice\"}");
    jwtx_jws_parts_clear(&parts);
    CU_ASSERT_PTR_NULL(parts.header);
    jwtx_jws_parts_clear(&parts); /* twice is harmless */
    free(t);
    /* The payload is not parsed here: signed non-JSON verifies. */
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\"}", "not json at all", NULL, JWTX_OK, NULL);
    /* Empty payload and surrounding whitespace/BOM in the header are fine. */
    EXPECT_HP(&cfg, "\xef\xbb\xbf {\"alg\":\"HS256\"} \n", "", NULL, JWTX_OK, NULL);
    /* crit ["b64"] with b64 true is understood. */
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"b64\":true,\"crit\":[\"b64\"]}", "{}", NULL, JWTX_OK,
              NULL);
    cfg_free(&cfg);
}

static void test_compact_segments_and_padding(void)
{
    jwtx_config cfg;
    cfg_make(&cfg, "HS256", allow_hs256, SECRET, NULL, NULL);
    EXPECT(&cfg, "foobarbaz", JWTX_ERR_NOT_ENOUGH_SEGMENTS, "Not enough segments");
    EXPECT(&cfg, "a.b", JWTX_ERR_NOT_ENOUGH_SEGMENTS, "Not enough segments");
    EXPECT(&cfg, "", JWTX_ERR_NOT_ENOUGH_SEGMENTS, "Not enough segments");
    EXPECT(&cfg, ".", JWTX_ERR_NOT_ENOUGH_SEGMENTS, "Not enough segments");
    EXPECT(&cfg, "aaaaa.bbbbb.ccccc", JWTX_ERR_HEADER_PADDING, "Invalid header padding");
    /* Non-canonical spellings of a good header: padding, std alphabet,
     * junk, non-zero unused bits. */
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", JWTX_ERR_HEADER_PADDING,
           "Invalid header padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ+.e30.AAAA", JWTX_ERR_HEADER_PADDING,
           "Invalid header padding");
    EXPECT(&cfg, "eyJhbGciOi!JIUzI1NiJ9.e30.AAAA", JWTX_ERR_HEADER_PADDING,
           "Invalid header padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA", JWTX_ERR_SIGNATURE,
           "Signature verification failed");
    EXPECT(&cfg, "e31.e30.AAAA", JWTX_ERR_HEADER_PADDING, /* unused bits 01 */
           "Invalid header padding");
    /* Header JSON. */
    EXPECT(&cfg, ".e30.AAAA", JWTX_ERR_HEADER_STRING,
           "Invalid header string: Expecting value: line 1 column 1 (char 0)");
    EXPECT(&cfg, "W10.e30.AAAA", JWTX_ERR_HEADER_STRING,
           "Invalid header string: must be a json object");
    EXPECT_HP(&cfg, "\"alg\"", "{}", "AAAA", JWTX_ERR_HEADER_STRING,
              "Invalid header string: must be a json object");
    EXPECT_HP(&cfg, "null", "{}", "AAAA", JWTX_ERR_HEADER_STRING,
              "Invalid header string: must be a json object");
    /* Payload and signature segments. */
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", JWTX_ERR_PAYLOAD_PADDING,
           "Invalid payload padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.AAAA.AAAA", JWTX_ERR_PAYLOAD_PADDING,
           "Invalid payload padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e.AAAA", JWTX_ERR_PAYLOAD_PADDING,
           "Invalid payload padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.AAAAA", JWTX_ERR_CRYPTO_PADDING,
           "Invalid crypto padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.AA==", JWTX_ERR_CRYPTO_PADDING,
           "Invalid crypto padding");
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.AA/A", JWTX_ERR_CRYPTO_PADDING,
           "Invalid crypto padding");
    /* Empty signature: a signature failure, as in the reference. */
    EXPECT(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30.", JWTX_ERR_SIGNATURE, "Signature verification failed");
    /* A NUL inside the token is a non-canonical byte. */
    {
        char t[] = "eyJhbGciOiJIUzI1NiJ9.e30.AAAA";
        t[3] = '\0';
        jwtx_jws_parts parts = {0};
        jwtx_error e;
        CU_ASSERT_EQUAL(jwtx_jws_compact_verify(&cfg, t, sizeof t - 1, &parts, &e), -1);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_HEADER_PADDING);
    }
    /* A token above the cap is refused without being parsed. */
    {
        size_t n = JWTX_TOKEN_MAX + 1;
        char *big = malloc(n + 1);
        memset(big, 'A', n);
        big[n] = '\0';
        EXPECT(&cfg, big, JWTX_ERR_SIGNATURE, "Signature verification failed");
        free(big);
    }
    cfg_free(&cfg);
}

static void test_compact_header_checks(void)
{
    jwtx_config cfg;
    cfg_make(&cfg, "HS256", allow_hs256, SECRET, NULL, NULL);
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"kid\":5}", "{}", NULL, JWTX_ERR_KID_NOT_STRING,
              "Key ID header parameter must be a string");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"kid\":null}", "{}", NULL, JWTX_ERR_KID_NOT_STRING,
              "Key ID header parameter must be a string");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"kid\":\"any\"}", "{}", NULL, JWTX_OK, NULL);
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"crit\":\"b64\"}", "{}", NULL, JWTX_ERR_CRIT_NOT_LIST,
              "Invalid 'crit' header: must be a non-empty list");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"crit\":[]}", "{}", NULL, JWTX_ERR_CRIT_NOT_LIST,
              "Invalid 'crit' header: must be a non-empty list");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"crit\":[1]}", "{}", NULL, JWTX_ERR_CRIT_NOT_STRINGS,
              "Invalid 'crit' header: values must be strings");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", "{}", NULL,
              JWTX_ERR_CRIT_UNSUPPORTED, "Unsupported critical extension: exp");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", "{}", NULL, JWTX_ERR_CRIT_MISSING,
              "Critical extension 'b64' is missing from headers");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"b64\":false}", "{}", NULL, JWTX_ERR_B64_FALSE,
              "It is required that you pass in a value for the \"detached_payload\" argument to "
              "decode a message having the b64 header set to false.");
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", "{}", NULL,
              JWTX_ERR_B64_FALSE,
              "It is required that you pass in a value for the \"detached_payload\" argument to "
              "decode a message having the b64 header set to false.");
    /* b64 that is not exactly false is ignored, as in the reference. */
    EXPECT_HP(&cfg, "{\"alg\":\"HS256\",\"b64\":0}", "{}", NULL, JWTX_OK, NULL);
    cfg_free(&cfg);
}

static void test_compact_alg(void)
{
    jwtx_config cfg;
    static const char *const allow[] = {"HS256", "ES256K", NULL};
    cfg_make(&cfg, "HS256", allow, SECRET, NULL, NULL);
    EXPECT_HP(&cfg, "{\"typ\":\"JWT\"}", "{}", NULL, JWTX_ERR_ALG_NOT_SPECIFIED,
              "Algorithm not specified");
    static const char *const not_allowed[] = {
        "{\"alg\":\"none\"}", "{\"alg\":\"\"}",     "{\"alg\":\"hs256\"}", "{\"alg\":\"HS512\"}",
        "{\"alg\":5}",        "{\"alg\":null}",     "{\"alg\":[\"HS256\"]}", "{\"alg\":true}",
        "{\"alg\":\"RS256\"}", "{\"alg\":\"HS256 \"}", "{\"alg\":\"HS256\\u0000\"}",
    };
    for (size_t i = 0; i < sizeof not_allowed / sizeof not_allowed[0]; i++)
        EXPECT_HP(&cfg, not_allowed[i], "{}", NULL, JWTX_ERR_ALG_NOT_ALLOWED,
                  "The specified alg value is not allowed");
    /* Allowed by the config but not implemented. */
    EXPECT_HP(&cfg, "{\"alg\":\"ES256K\"}", "{}", NULL, JWTX_ERR_ALG_NOT_SUPPORTED,
              "Algorithm not supported");
    /* "none" with an empty signature never verifies. */
    EXPECT(&cfg, "eyJhbGciOiJub25lIn0.e30.", JWTX_ERR_ALG_NOT_ALLOWED,
           "The specified alg value is not allowed");
    /* Wrong secret: signature failure. */
    jwtx_key *other = jwtx_key_new_secret("another-secret-entirely", 23, NULL);
    char *t = make_token("{\"alg\":\"HS256\"}", "{}", JWTX_ALG_HS256, other, NULL);
    EXPECT(&cfg, t, JWTX_ERR_SIGNATURE, "Signature verification failed");
    free(t);
    jwtx_key_free(other);
    /* Tampered payload: signature failure, not a parse error. */
    t = make_token("{\"alg\":\"HS256\"}", "{\"sub\":\"alice\"}", JWTX_ALG_HS256,
                   jwtx_keyset_signing(cfg.keys), NULL);
    char *p = strchr(t, '.') + 2;
    *p = *p == 'x' ? 'y' : 'x';
    EXPECT(&cfg, t, JWTX_ERR_SIGNATURE, "Signature verification failed");
    free(t);
    /* An allowed algorithm whose family has no key: not allowed (never a
     * 500). The allow-list gains RS256 after the keys were set up. */
    char **v = realloc(cfg.decode_algorithms.v, 4 * sizeof(char *));
    cfg.decode_algorithms.v = v;
    v[cfg.decode_algorithms.n++] = dupstr("RS256");
    jwtx_key *rsa = pem_key("rsa2048.pem");
    t = make_token("{\"alg\":\"RS256\"}", "{}", JWTX_ALG_RS256, rsa, NULL);
    EXPECT(&cfg, t, JWTX_ERR_ALG_NOT_ALLOWED, "The specified alg value is not allowed");
    free(t);
    jwtx_key_free(rsa);
    /* No config at all: deny. */
    t = make_token("{\"alg\":\"HS256\"}", "{}", JWTX_ALG_HS256, jwtx_keyset_signing(cfg.keys),
                   NULL);
    jwtx_jws_parts parts = {0};
    jwtx_error e;
    CU_ASSERT_EQUAL(jwtx_jws_compact_verify(NULL, t, strlen(t), &parts, &e), -1);
    free(t);
    cfg_free(&cfg);
}

static void test_compact_order(void)
{
    /* The first failing check wins, in PyJWT's order: header padding, header
     * JSON, header type, payload padding, crypto padding, kid, crit, b64,
     * alg present, alg allowed, alg implemented, key, signature. */
    jwtx_config cfg;
    cfg_make(&cfg, "HS256", allow_hs256, SECRET, NULL, NULL);
    EXPECT(&cfg, "aaaaa.@@@.@@@", JWTX_ERR_HEADER_PADDING, "Invalid header padding");
    EXPECT(&cfg, "e30x.@@@.@@@", JWTX_ERR_HEADER_STRING,
           "Invalid header string: Extra data: line 1 column 3 (char 2)");
    EXPECT(&cfg, "W10.@@@.@@@", JWTX_ERR_HEADER_STRING,
           "Invalid header string: must be a json object");
    /* {"kid":5} with a bad payload: payload padding first. */
    EXPECT(&cfg, "eyJraWQiOjV9.@@@.@@@", JWTX_ERR_PAYLOAD_PADDING, "Invalid payload padding");
    EXPECT(&cfg, "eyJraWQiOjV9.e30.@@@", JWTX_ERR_CRYPTO_PADDING, "Invalid crypto padding");
    EXPECT(&cfg, "eyJraWQiOjV9.e30.", JWTX_ERR_KID_NOT_STRING,
           "Key ID header parameter must be a string");
    EXPECT_HP(&cfg, "{\"kid\":5,\"crit\":[]}", "{}", "", JWTX_ERR_KID_NOT_STRING,
              "Key ID header parameter must be a string");
    EXPECT_HP(&cfg, "{\"crit\":[],\"b64\":false}", "{}", "", JWTX_ERR_CRIT_NOT_LIST,
              "Invalid 'crit' header: must be a non-empty list");
    EXPECT_HP(&cfg, "{\"b64\":false,\"alg\":\"none\"}", "{}", "", JWTX_ERR_B64_FALSE,
              "It is required that you pass in a value for the \"detached_payload\" argument to "
              "decode a message having the b64 header set to false.");
    EXPECT_HP(&cfg, "{\"typ\":\"JWT\"}", "{}", "", JWTX_ERR_ALG_NOT_SPECIFIED,
              "Algorithm not specified");
    EXPECT_HP(&cfg, "{\"alg\":\"none\"}", "{}", "", JWTX_ERR_ALG_NOT_ALLOWED,
              "The specified alg value is not allowed");
    cfg_free(&cfg);
}

static void test_compact_asymmetric_and_kid(void)
{
    /* RS256 main key plus a decode key "k2"; also ES256 through a decode key. */
    static const char *const allow[] = {"RS256", "PS256", "ES256", NULL};
    static const char *const dk[] = {"k2=" FX "rsa2048b.pub.pem", "e1=" FX "ec-p256.pub.pem", NULL};
    jwtx_config cfg;
    cfg_make(&cfg, "RS256", allow, NULL, "rsa2048.pem", dk);
    const jwtx_key *main_key = jwtx_keyset_signing(cfg.keys);
    CU_ASSERT_EQUAL(jwtx_key_kind_of(main_key), JWTX_KEY_RSA);
    jwtx_key *k2 = pem_key("rsa2048b.pem");
    jwtx_key *e1 = pem_key("ec-p256.pem");

    char *t = make_token("{\"alg\":\"RS256\"}", "{}", JWTX_ALG_RS256, main_key, NULL);
    EXPECT(&cfg, t, JWTX_OK, NULL);
    free(t);
    t = make_token("{\"alg\":\"PS256\",\"kid\":\"unknown\"}", "{}", JWTX_ALG_PS256, main_key, NULL);
    EXPECT(&cfg, t, JWTX_OK, NULL); /* an unknown kid falls back to the main key */
    free(t);
    t = make_token("{\"alg\":\"RS256\",\"kid\":\"k2\"}", "{}", JWTX_ALG_RS256, k2, NULL);
    EXPECT(&cfg, t, JWTX_OK, NULL);
    free(t);
    t = make_token("{\"alg\":\"RS256\"}", "{}", JWTX_ALG_RS256, k2, NULL);
    EXPECT(&cfg, t, JWTX_ERR_SIGNATURE, "Signature verification failed");
    free(t);
    t = make_token("{\"alg\":\"RS256\",\"kid\":\"k2\"}", "{}", JWTX_ALG_RS256, main_key, NULL);
    EXPECT(&cfg, t, JWTX_ERR_SIGNATURE, "Signature verification failed");
    free(t);
    t = make_token("{\"alg\":\"ES256\",\"kid\":\"e1\"}", "{}", JWTX_ALG_ES256, e1, NULL);
    EXPECT(&cfg, t, JWTX_OK, NULL);
    free(t);
    /* ES256 without kid: the one P-256 key is used. */
    t = make_token("{\"alg\":\"ES256\"}", "{}", JWTX_ALG_ES256, e1, NULL);
    EXPECT(&cfg, t, JWTX_OK, NULL);
    free(t);
    /* kid naming a key of another family: no key for the alg. */
    t = make_token("{\"alg\":\"ES256\",\"kid\":\"k2\"}", "{}", JWTX_ALG_ES256, e1, NULL);
    EXPECT(&cfg, t, JWTX_ERR_ALG_NOT_ALLOWED, "The specified alg value is not allowed");
    free(t);
    /* Key confusion: HS256 signed with the public key's PEM is not allowed. */
    size_t pl = 0;
    char *pem = jwtx_cu_slurp(FX "rsa2048.pub.pem", &pl);
    char hdr[] = "{\"alg\":\"HS256\"}";
    char *t2 = make_token(hdr, "{}", JWTX_ALG_HS256, main_key, "AAAA");
    EXPECT(&cfg, t2, JWTX_ERR_ALG_NOT_ALLOWED, "The specified alg value is not allowed");
    free(t2);
    free(pem);
    jwtx_key_free(k2);
    jwtx_key_free(e1);
    cfg_free(&cfg);
}

static void test_compact_every_alg(void)
{
    /* A token of every algorithm verifies through compact_verify. */
    for (size_t i = 0; i < N_ALG_CASES; i++) {
        const struct alg_case *c = &alg_cases[i];
        const char *allow[] = {c->name, NULL};
        jwtx_config cfg;
        cfg_make(&cfg, c->name, allow, c->priv ? NULL : SECRET, c->priv, NULL);
        json_t *h = json_pack("{s:s,s:s}", "typ", "JWT", "alg", c->name);
        jwtx_buf out;
        jwtx_buf_init(&out);
        jwtx_error e;
        jwtx_error_clear(&e);
        CU_ASSERT_EQUAL(jwtx_jws_compact_sign(h, "{\"a\":1}", 7, c->alg,
                                              jwtx_keyset_signing(cfg.keys), &out, &e), 0);
        EXPECT(&cfg, out.data, JWTX_OK, NULL);
        jwtx_buf_clear(&out);
        json_decref(h);
        cfg_free(&cfg);
    }
}

static void test_compact_sign(void)
{
    jwtx_key *k = jwtx_key_new_secret(SECRET, strlen(SECRET), NULL);
    json_t *h = json_pack("{s:s,s:s,s:s}", "typ", "JWT", "alg", "HS256", "kid", "caf\xc3\xa9");
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_buf_puts(&out, "prefix:");
    jwtx_error e;
    jwtx_error_clear(&e);
    CU_ASSERT_EQUAL_FATAL(jwtx_jws_compact_sign(h, "{\"sub\":\"x\"}", 11, JWTX_ALG_HS256, k, &out,
                                                &e), 0);
    /* Sorted keys, compact, ASCII: {"alg":"HS256","kid":"caf\u00e9","typ":"JWT"} */
    const char *want_hdr = "{\"alg\":\"HS256\",\"kid\":\"caf\\u00e9\",\"typ\":\"JWT\"}";
    char enc[200];
    jwtx_b64url_encode(want_hdr, strlen(want_hdr), enc);
    CU_ASSERT(strncmp(out.data, "prefix:", 7) == 0);
    CU_ASSERT(strncmp(out.data + 7, enc, strlen(enc)) == 0);
    CU_ASSERT(strncmp(out.data + 7 + strlen(enc), ".eyJzdWIiOiJ4In0.", 17) == 0);
    /* The signature is the HMAC of the first two segments. */
    const char *tok = out.data + 7;
    const char *dot2 = strrchr(tok, '.');
    unsigned char sig[64];
    size_t sl = b64d(dot2 + 1, sig);
    CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS256, k, (const unsigned char *)tok,
                                    (size_t)(dot2 - tok), sig, sl), 0);
    /* Default header of the reference. */
    jwtx_buf o2;
    jwtx_buf_init(&o2);
    json_t *h2 = json_pack("{s:s,s:s}", "typ", "JWT", "alg", "HS256");
    CU_ASSERT_EQUAL(jwtx_jws_compact_sign(h2, "{}", 2, JWTX_ALG_HS256, k, &o2, &e), 0);
    CU_ASSERT(strncmp(o2.data, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.", 41) == 0);
    /* Failures leave out as it was. */
    size_t before = o2.len;
    jwtx_key *ec = pem_key("ec-p256.pem");
    CU_ASSERT_EQUAL(jwtx_jws_compact_sign(h2, "{}", 2, JWTX_ALG_HS256, ec, &o2, &e), -1);
    CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
    CU_ASSERT_EQUAL(jwtx_jws_compact_sign(h2, "{}", 2, JWTX_ALG_ES384, ec, &o2, &e), -1);
    json_t *arr = json_array();
    CU_ASSERT_EQUAL(jwtx_jws_compact_sign(arr, "{}", 2, JWTX_ALG_HS256, k, &o2, &e), -1);
    CU_ASSERT_EQUAL(o2.len, before);
    json_decref(arr);
    jwtx_key_free(ec);
    json_decref(h2);
    jwtx_buf_clear(&o2);
    json_decref(h);
    jwtx_buf_clear(&out);
    jwtx_key_free(k);
}

static const jwtx_cu_test tests[] = {
    {"RFC 7515 A.1 HS256", test_rfc7515_a1_hs256},
    {"RFC 7515 A.2 RS256", test_rfc7515_a2_rs256},
    {"RFC 7515 A.3 ES256", test_rfc7515_a3_es256},
    {"RFC 8037 A.4 Ed25519", test_rfc8037_a4_ed25519},
    {"algorithm names", test_names},
    {"every algorithm: round trip, tamper, lengths", test_round_trip_and_tamper},
    {"keys of the wrong family refused", test_wrong_family_refused},
    {"ECDSA r/s zero or >= n rejected", test_ecdsa_range},
    {"PSS salt = digest length", test_pss_salt_length},
    {"RSA < 2048 bits refused", test_rsa_too_small},
    {"compact: success", test_compact_success},
    {"compact: segments and padding", test_compact_segments_and_padding},
    {"compact: kid, crit, b64", test_compact_header_checks},
    {"compact: alg outcomes", test_compact_alg},
    {"compact: order of checks", test_compact_order},
    {"compact: asymmetric keys and kid", test_compact_asymmetric_and_kid},
    {"compact: every algorithm", test_compact_every_alg},
    {"compact_sign", test_compact_sign},
    {NULL, NULL},
};

JWTX_CU_MAIN("jws", tests)
