/*
 * test_keys.c — key parsing and checks, RFC 7638 thumbprints, JWKs, and the
 * key set of a config (jwtxp_keys_setup): which configurations are refused,
 * with which option and message, and which key serves which token.
 * Key files come from tests/fixtures/keys (run from the source root).
 */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/b64url.h"
#include "jwtx/config.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"

#define FX "tests/fixtures/keys/"

static char *fixture(const char *file)
{
    char path[256];
    snprintf(path, sizeof path, FX "%s", file);
    char *s = jwtx_cu_slurp(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Parses a fixture; NULL with err filled when refused. */
static jwtx_key *try_pem(const char *file, jwtx_error *e)
{
    char *pem = fixture(file);
    jwtx_error_clear(e);
    jwtx_key *k = jwtx_key_new_pem(pem, strlen(pem), e);
    free(pem);
    return k;
}

static void test_pem_forms(void)
{
    static const struct {
        const char *file;
        jwtx_key_kind kind;
        bool priv;
    } ok[] = {
        {"rsa2048.pem", JWTX_KEY_RSA, true},
        {"rsa2048.pub.pem", JWTX_KEY_RSA, false},
        {"rsa2048.pkcs1.pem", JWTX_KEY_RSA, true},
        {"rsa2048.pkcs1.pub.pem", JWTX_KEY_RSA, false},
        {"ec-p256.pem", JWTX_KEY_EC_P256, true},
        {"ec-p256.sec1.pem", JWTX_KEY_EC_P256, true},
        {"ec-p256.pub.pem", JWTX_KEY_EC_P256, false},
        {"ec-p384.pem", JWTX_KEY_EC_P384, true},
        {"ec-p521.pub.pem", JWTX_KEY_EC_P521, false},
        {"ed25519.pem", JWTX_KEY_ED25519, true},
        {"ed25519.pub.pem", JWTX_KEY_ED25519, false},
        {"ed448.pem", JWTX_KEY_ED448, true},
        {"ed448.pub.pem", JWTX_KEY_ED448, false},
        {"rsa1024.pem", JWTX_KEY_RSA, true}, /* parses; refused by jwtx_key_fits */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        jwtx_error e;
        jwtx_key *k = try_pem(ok[i].file, &e);
        if (k == NULL)
            fprintf(stderr, "\n  %s: %s\n", ok[i].file, jwtx_error_message(&e));
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_EQUAL(jwtx_key_kind_of(k), ok[i].kind);
        CU_ASSERT_EQUAL(jwtx_key_is_private(k), ok[i].priv);
        jwtx_key *pub = jwtx_key_public(k);
        CU_ASSERT_PTR_NOT_NULL(pub);
        CU_ASSERT_EQUAL(jwtx_key_kind_of(pub), ok[i].kind);
        CU_ASSERT_FALSE(jwtx_key_is_private(pub));
        /* The public half has the same thumbprint. */
        char t1[44], t2[44];
        CU_ASSERT_EQUAL(jwtx_key_thumbprint(k, t1), 0);
        CU_ASSERT_EQUAL(jwtx_key_thumbprint(pub, t2), 0);
        JWTX_ASSERT_STR(t1, t2);
        CU_ASSERT_EQUAL(strlen(t1), 43);
        jwtx_key_free(pub);
        jwtx_key_free(k);
    }
    /* PKCS#1 and PKCS#8 forms of one key are the same key. */
    jwtx_error e;
    jwtx_key *a = try_pem("rsa2048.pkcs1.pub.pem", &e), *b = try_pem("rsa2048.pem", &e);
    char ta[44], tb[44];
    CU_ASSERT(jwtx_key_thumbprint(a, ta) == 0 && jwtx_key_thumbprint(b, tb) == 0);
    JWTX_ASSERT_STR(ta, tb);
    jwtx_key_free(a);
    jwtx_key_free(b);
}

static void test_pem_refused(void)
{
    static const struct {
        const char *file;
        const char *msg;
    } bad[] = {
        {"ed25519.encrypted.pem", "encrypted private keys are not supported"},
        {"ec-p256.cert.pem", "unsupported PEM block \"CERTIFICATE\" (use a PKCS#8 private key or an "
                             "SPKI public key)"},
        {"ec-secp256k1.pem",
         "unsupported key type (use RSA, EC P-256/P-384/P-521, Ed25519 or Ed448)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jwtx_error e;
        jwtx_key *k = try_pem(bad[i].file, &e);
        CU_ASSERT_PTR_NULL(k);
        jwtx_key_free(k);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
        JWTX_ASSERT_STR(jwtx_error_message(&e), bad[i].msg);
    }
    static const char *const garbage[] = {
        "",
        "hello",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\n",
        "-----BEGIN ",
        "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n-----END RSA PUBLIC KEY-----\n",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        jwtx_error e;
        jwtx_error_clear(&e);
        jwtx_key *k = jwtx_key_new_pem(garbage[i], strlen(garbage[i]), &e);
        CU_ASSERT_PTR_NULL(k);
        jwtx_key_free(k);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
    }
    /* A truncated real key. */
    char *pem = fixture("rsa2048.pem");
    jwtx_key *k = jwtx_key_new_pem(pem, strlen(pem) / 2, NULL);
    CU_ASSERT_PTR_NULL(k);
    free(pem);
    CU_ASSERT_PTR_NULL(jwtx_key_new_pem(NULL, 0, NULL));
    jwtx_key_free(NULL);
}

static void test_secrets(void)
{
    static const char *const refused[] = {
        "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "prefix -----BEGIN RSA PRIVATE KEY-----",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host",
        "  ssh-dss AAAA",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNh",
        "sk-ssh-ed25519@openssh.com AAAA",
        "---- BEGIN SSH2 PUBLIC KEY ----",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        jwtx_error e;
        jwtx_error_clear(&e);
        jwtx_key *k = jwtx_key_new_secret(refused[i], strlen(refused[i]), &e);
        if (k != NULL)
            fprintf(stderr, "\n  accepted secret %s\n", refused[i]);
        CU_ASSERT_PTR_NULL(k);
        jwtx_key_free(k);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
        JWTX_ASSERT_STR(e.text, "the secret looks like a PEM or SSH key; it must not be used as an "
                                "HMAC secret");
    }
    jwtx_error e;
    jwtx_error_clear(&e);
    CU_ASSERT_PTR_NULL(jwtx_key_new_secret("", 0, &e));
    JWTX_ASSERT_STR(e.text, "the secret is empty");
    /* Ordinary secrets, including binary ones and ones mentioning ssh. */
    static const char bin[] = {'\0', '\x01', '\xff', 'x'};
    jwtx_key *k = jwtx_key_new_secret(bin, sizeof bin, NULL);
    CU_ASSERT_PTR_NOT_NULL(k);
    CU_ASSERT_EQUAL(jwtx_key_kind_of(k), JWTX_KEY_SECRET);
    CU_ASSERT_FALSE(jwtx_key_is_private(k));
    CU_ASSERT_PTR_NULL(jwtx_key_public(k));
    CU_ASSERT_PTR_NULL(jwtx_key_to_jwk(k, "x", JWTX_ALG_HS256));
    char tp[44];
    CU_ASSERT_EQUAL(jwtx_key_thumbprint(k, tp), -1);
    CU_ASSERT_EQUAL(jwtx_key_fits(k, JWTX_ALG_HS512, NULL), 0);
    jwtx_key_free(k);
    k = jwtx_key_new_secret("my ssh-rsa secret", 17, NULL);
    CU_ASSERT_PTR_NOT_NULL(k);
    jwtx_key_free(k);
}

static void test_fits(void)
{
    static const struct {
        const char *file;
        jwtx_alg alg;
        const char *msg; /* NULL = fits */
    } v[] = {
        {"rsa2048.pub.pem", JWTX_ALG_RS256, NULL},
        {"rsa2048.pub.pem", JWTX_ALG_PS512, NULL},
        {"rsa1024.pem", JWTX_ALG_RS256, "RSA key has 1024 bits; algorithm \"RS256\" needs at least 2048"},
        {"rsa1024.pub.pem", JWTX_ALG_PS256, "RSA key has 1024 bits; algorithm \"PS256\" needs at least 2048"},
        {"ec-p256.pem", JWTX_ALG_ES256, NULL},
        {"ec-p256.pem", JWTX_ALG_ES384, "an EC P-256 key cannot be used with algorithm \"ES384\""},
        {"ec-p384.pem", JWTX_ALG_ES256, "an EC P-384 key cannot be used with algorithm \"ES256\""},
        {"ec-p521.pem", JWTX_ALG_ES512, NULL},
        {"ec-p521.pem", JWTX_ALG_ES384, "an EC P-521 key cannot be used with algorithm \"ES384\""},
        {"ed25519.pem", JWTX_ALG_EDDSA, NULL},
        {"ed448.pub.pem", JWTX_ALG_EDDSA, NULL},
        {"ed25519.pem", JWTX_ALG_ES256, "an Ed25519 key cannot be used with algorithm \"ES256\""},
        {"rsa2048.pem", JWTX_ALG_HS256, "an RSA key cannot be used with algorithm \"HS256\""},
        {"rsa2048.pem", JWTX_ALG_EDDSA, "an RSA key cannot be used with algorithm \"EdDSA\""},
        {"ec-p256.pem", JWTX_ALG_RS256, "an EC P-256 key cannot be used with algorithm \"RS256\""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        jwtx_error e;
        jwtx_key *k = try_pem(v[i].file, &e);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        jwtx_error_clear(&e);
        int rc = jwtx_key_fits(k, v[i].alg, &e);
        CU_ASSERT_EQUAL(rc, v[i].msg ? -1 : 0);
        if (v[i].msg) {
            CU_ASSERT_EQUAL(e.code, JWTX_ERR_KEY);
            JWTX_ASSERT_STR(e.text, v[i].msg);
        }
        jwtx_key_free(k);
    }
    jwtx_key *s = jwtx_key_new_secret("s3cret", 6, NULL);
    jwtx_error e;
    CU_ASSERT_EQUAL(jwtx_key_fits(s, JWTX_ALG_RS256, &e), -1);
    JWTX_ASSERT_STR(e.text, "an HMAC secret cannot be used with algorithm \"RS256\"");
    CU_ASSERT_EQUAL(jwtx_key_fits(s, JWTX_ALG_UNKNOWN, &e), -1);
    CU_ASSERT_EQUAL(jwtx_key_fits(NULL, JWTX_ALG_HS256, &e), -1);
    jwtx_key_free(s);
}

static void test_thumbprints(void)
{
    /* RFC 7638 section 3.1 and RFC 8037 appendix A.3. */
    jwtx_error e;
    jwtx_key *k = try_pem("rfc7638.pub.pem", &e);
    char tp[44];
    CU_ASSERT_EQUAL(jwtx_key_thumbprint(k, tp), 0);
    JWTX_ASSERT_STR(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    jwtx_key_free(k);
    k = try_pem("rfc8037-a1.pem", &e);
    CU_ASSERT_EQUAL(jwtx_key_thumbprint(k, tp), 0);
    JWTX_ASSERT_STR(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    jwtx_key_free(k);
}

/* The SHA-256 thumbprint of a JWK, recomputed from its members. */
static void check_jwk(const char *file, jwtx_alg alg, const char *kty, const char *crv,
                      const char *const *members, const char *x, const char *y, const char *n)
{
    jwtx_error e;
    jwtx_key *k = try_pem(file, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    json_t *j = jwtx_key_to_jwk(k, NULL, alg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    JWTX_ASSERT_STR(json_string_value(json_object_get(j, "kty")), kty);
    JWTX_ASSERT_STR(json_string_value(json_object_get(j, "use")), "sig");
    if (crv)
        JWTX_ASSERT_STR(json_string_value(json_object_get(j, "crv")), crv);
    if (x)
        JWTX_ASSERT_STR(json_string_value(json_object_get(j, "x")), x);
    if (y)
        JWTX_ASSERT_STR(json_string_value(json_object_get(j, "y")), y);
    if (n)
        JWTX_ASSERT_STR(json_string_value(json_object_get(j, "n")), n);
    if (jwtx_alg_name(alg))
        JWTX_ASSERT_STR(json_string_value(json_object_get(j, "alg")), jwtx_alg_name(alg));
    else
        CU_ASSERT_PTR_NULL(json_object_get(j, "alg"));
    /* Without an explicit kid, the kid is the thumbprint. */
    char tp[44];
    CU_ASSERT_EQUAL(jwtx_key_thumbprint(k, tp), 0);
    JWTX_ASSERT_STR(json_string_value(json_object_get(j, "kid")), tp);
    /* Exactly the listed members plus kid, use (and alg); nothing private. */
    size_t want = 2 + (jwtx_alg_name(alg) ? 1 : 0);
    for (size_t i = 0; members[i]; i++, want++)
        CU_ASSERT_PTR_NOT_NULL(json_object_get(j, members[i]));
    CU_ASSERT_EQUAL(json_object_size(j), want);
    CU_ASSERT_PTR_NULL(json_object_get(j, "d"));
    /* Fixed-length coordinates (RFC 7518 6.2.1.2) and public-key sizes. */
    unsigned char buf[600];
    size_t bl;
    if (strcmp(kty, "EC") == 0) {
        size_t w = strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
        const char *xs = json_string_value(json_object_get(j, "x"));
        const char *ys = json_string_value(json_object_get(j, "y"));
        CU_ASSERT(jwtx_b64url_decode(xs, strlen(xs), buf, &bl) == 0 && bl == w);
        CU_ASSERT(jwtx_b64url_decode(ys, strlen(ys), buf, &bl) == 0 && bl == w);
    }
    json_t *j2 = jwtx_key_to_jwk(k, "my-kid", JWTX_ALG_UNKNOWN);
    JWTX_ASSERT_STR(json_string_value(json_object_get(j2, "kid")), "my-kid");
    CU_ASSERT_PTR_NULL(json_object_get(j2, "alg"));
    json_decref(j2);
    json_decref(j);
    jwtx_key_free(k);
}

static void test_jwk_members(void)
{
    static const char *const rsa_m[] = {"kty", "n", "e", NULL};
    static const char *const ec_m[] = {"kty", "crv", "x", "y", NULL};
    static const char *const okp_m[] = {"kty", "crv", "x", NULL};
    check_jwk("rfc7638.pub.pem", JWTX_ALG_RS256, "RSA", NULL, rsa_m, NULL, NULL,
              "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
              "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
              "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
              "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw");
    check_jwk("rfc7515-a3.pem", JWTX_ALG_ES256, "EC", "P-256", ec_m,
              "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
              "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", NULL);
    check_jwk("rfc8037-a1.pem", JWTX_ALG_EDDSA, "OKP", "Ed25519", okp_m,
              "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", NULL, NULL);
    check_jwk("ec-p384.pub.pem", JWTX_ALG_ES384, "EC", "P-384", ec_m, NULL, NULL, NULL);
    check_jwk("ec-p521.pem", JWTX_ALG_ES512, "EC", "P-521", ec_m, NULL, NULL, NULL);
    check_jwk("ed448.pem", JWTX_ALG_UNKNOWN, "OKP", "Ed448", okp_m, NULL, NULL, NULL);
    check_jwk("rsa2048.pkcs1.pem", JWTX_ALG_PS256, "RSA", NULL, rsa_m, NULL, NULL, NULL);
    /* The RFC 7638 key's e is AQAB. */
    jwtx_error e;
    jwtx_key *k = try_pem("rfc7638.pub.pem", &e);
    json_t *j = jwtx_key_to_jwk(k, "2011-04-29", JWTX_ALG_RS256);
    JWTX_ASSERT_STR(json_string_value(json_object_get(j, "e")), "AQAB");
    json_decref(j);
    jwtx_key_free(k);
}

/* ------------------------------------------------------------ setup ---- */

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void list_set(jwtx_strlist *l, const char *const *items)
{
    size_t n = 0;
    while (items && items[n])
        n++;
    l->n = n;
    l->v = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        l->v[i] = dupstr(items[i]);
}

static void list_free(jwtx_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

struct setup {
    const char *alg;
    const char *const *allow; /* NULL = {alg} */
    const char *secret;
    const char *priv, *pub; /* fixture names */
    const char *key_id;
    const char *const *decode_keys;
};

static void cfg_build(jwtx_config *cfg, const struct setup *s)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->path = dupstr("/etc/jwtx/test.conf");
    cfg->algorithm = dupstr(s->alg);
    const char *one[] = {s->alg, NULL};
    list_set(&cfg->decode_algorithms, s->allow ? s->allow : one);
    if (s->secret) {
        cfg->secret_key = dupstr(s->secret);
        cfg->secret_key_len = strlen(s->secret);
    }
    cfg->private_key = s->priv ? fixture(s->priv) : NULL;
    cfg->public_key = s->pub ? fixture(s->pub) : NULL;
    cfg->key_id = dupstr(s->key_id);
    list_set(&cfg->decode_keys, s->decode_keys);
}

static void cfg_drop(jwtx_config *cfg)
{
    jwtxp_keyset_free(cfg->keys);
    free(cfg->path);
    free(cfg->algorithm);
    list_free(&cfg->decode_algorithms);
    list_free(&cfg->decode_keys);
    free(cfg->secret_key);
    free(cfg->private_key);
    free(cfg->public_key);
    free(cfg->key_id);
}

/* Runs setup; option NULL = must succeed (cfg keeps the keys). */
static int run_setup(jwtx_config *cfg, const struct setup *s, const char *option, const char *msg,
                     int line)
{
    cfg_build(cfg, s);
    jwtx_config_error ce;
    memset(&ce, 0, sizeof ce);
    int rc = jwtxp_keys_setup(cfg, &ce);
    if (option == NULL) {
        if (rc != 0)
            fprintf(stderr, "\n  line %d: setup failed: %s: %s\n", line, ce.option, ce.message);
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_PTR_NOT_NULL(cfg->keys);
        return rc;
    }
    if (rc != -1 || strcmp(ce.option, option) != 0 || strcmp(ce.message, msg) != 0)
        fprintf(stderr, "\n  line %d: rc %d [%s] [%s]\n  expected [%s] [%s]\n", line, rc, ce.option,
                ce.message, option, msg);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NULL(cfg->keys);
    JWTX_ASSERT_STR(ce.file, "/etc/jwtx/test.conf");
    CU_ASSERT_EQUAL(ce.line, 0);
    JWTX_ASSERT_STR(ce.option, option);
    JWTX_ASSERT_STR(ce.message, msg);
    return rc;
}

static void expect_fail(const struct setup *s, const char *option, const char *msg, int line)
{
    jwtx_config cfg;
    run_setup(&cfg, s, option, msg, line);
    cfg_drop(&cfg);
}
#define FAILS(opt, msg, ...)                                      \
    do {                                                          \
        struct setup s_ = {__VA_ARGS__};                          \
        expect_fail(&s_, opt, msg, __LINE__);                     \
    } while (0)

static void test_setup_errors(void)
{
    FAILS("JWT_SECRET_KEY",
          "JWT_SECRET_KEY or flask SECRET_KEY must be set when using symmetric algorithm \"HS256\"",
          .alg = "HS256");
    FAILS("JWT_SECRET_KEY",
          "JWT_SECRET_KEY or flask SECRET_KEY must be set when using symmetric algorithm \"HS512\"",
          .alg = "HS512", .secret = "");
    FAILS("JWT_SECRET_KEY",
          "the secret looks like a PEM or SSH key; it must not be used as an HMAC secret",
          .alg = "HS256", .secret = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----");
    FAILS("JWT_PRIVATE_KEY",
          "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"RS256\"",
          .alg = "RS256");
    FAILS("JWT_PRIVATE_KEY",
          "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"ES256\"",
          .alg = "ES256", .pub = "ec-p256.pub.pem");
    FAILS("JWT_PRIVATE_KEY", "RSA key has 1024 bits; algorithm \"RS256\" needs at least 2048",
          .alg = "RS256", .priv = "rsa1024.pem");
    FAILS("JWT_PRIVATE_KEY", "an EC P-256 key cannot be used with algorithm \"ES384\"",
          .alg = "ES384", .priv = "ec-p256.pem");
    FAILS("JWT_PRIVATE_KEY", "an RSA key cannot be used with algorithm \"EdDSA\"", .alg = "EdDSA",
          .priv = "rsa2048.pem");
    FAILS("JWT_PRIVATE_KEY", "must be a private key (PEM \"PRIVATE KEY\")", .alg = "RS256",
          .priv = "rsa2048.pub.pem");
    FAILS("JWT_PRIVATE_KEY", "encrypted private keys are not supported", .alg = "EdDSA",
          .priv = "ed25519.encrypted.pem");
    FAILS("JWT_PUBLIC_KEY", "does not match JWT_PRIVATE_KEY", .alg = "RS256",
          .priv = "rsa2048.pem", .pub = "rsa2048b.pub.pem");
    FAILS("JWT_PUBLIC_KEY", "an EC P-384 key cannot be used with algorithm \"ES256\"",
          .alg = "ES256", .priv = "ec-p256.pem", .pub = "ec-p384.pub.pem");
    FAILS("JWT_PUBLIC_KEY", "RSA key has 1024 bits; algorithm \"PS256\" needs at least 2048",
          .alg = "PS256", .priv = "rsa2048.pem", .pub = "rsa1024.pub.pem");
    FAILS("JWT_ALGORITHM",
          "unsupported algorithm \"none\" (use HS256/384/512, RS256/384/512, PS256/384/512, "
          "ES256/384/512 or EdDSA)",
          .alg = "none", .secret = "x");
    /* Decode allow-list: every algorithm needs a key of its family. */
    static const char *const hs_rs[] = {"HS256", "RS256", NULL};
    FAILS("JWT_DECODE_ALGORITHMS", "algorithm \"RS256\" has no key of its family "
          "(JWT_PUBLIC_KEY or JWTX_DECODE_KEYS)", .alg = "HS256", .allow = hs_rs,
          .secret = "s3cret");
    static const char *const rs_hs[] = {"RS256", "HS256", NULL};
    FAILS("JWT_DECODE_ALGORITHMS", "algorithm \"HS256\" needs JWT_SECRET_KEY (or SECRET_KEY)",
          .alg = "RS256", .allow = rs_hs, .priv = "rsa2048.pem");
    static const char *const es_both[] = {"ES256", "ES384", NULL};
    FAILS("JWT_DECODE_ALGORITHMS", "algorithm \"ES384\" has no key of its family "
          "(JWT_PUBLIC_KEY or JWTX_DECODE_KEYS)", .alg = "ES256", .allow = es_both,
          .priv = "ec-p256.pem");
    /* A PEM-looking secret is refused when HS is only in the allow-list. */
    FAILS("JWT_SECRET_KEY",
          "the secret looks like a PEM or SSH key; it must not be used as an HMAC secret",
          .alg = "RS256", .allow = rs_hs, .priv = "rsa2048.pem", .secret = "ssh-rsa AAAA");
    /* JWTX_DECODE_KEYS entries. */
    static const char *const dk_bad[] = {"nokid", NULL};
    FAILS("JWTX_DECODE_KEYS", "entry \"nokid\" must be \"KID=/path/to/key.pem\"", .alg = "HS256",
          .secret = "s", .decode_keys = dk_bad);
    static const char *const dk_missing[] = {"k=" FX "does-not-exist.pem", NULL};
    FAILS("JWTX_DECODE_KEYS", FX "does-not-exist.pem: No such file or directory", .alg = "HS256",
          .secret = "s", .decode_keys = dk_missing);
    static const char *const dk_twice[] = {"k=" FX "ec-p256.pub.pem", "k=" FX "ed25519.pub.pem",
                                           NULL};
    FAILS("JWTX_DECODE_KEYS", "kid \"k\" is listed twice", .alg = "HS256", .secret = "s",
          .decode_keys = dk_twice);
    static const char *const dk_small[] = {"old=" FX "rsa1024.pub.pem", NULL};
    FAILS("JWTX_DECODE_KEYS", FX "rsa1024.pub.pem: RSA key has 1024 bits; at least 2048 are needed",
          .alg = "HS256", .secret = "s", .decode_keys = dk_small);
    static const char *const dk_cert[] = {"c=" FX "ec-p256.cert.pem", NULL};
    FAILS("JWTX_DECODE_KEYS",
          FX "ec-p256.cert.pem: unsupported PEM block \"CERTIFICATE\" (use a PKCS#8 private key "
             "or an SPKI public key)",
          .alg = "HS256", .secret = "s", .decode_keys = dk_cert);
}

static void test_setup_hmac(void)
{
    jwtx_config cfg;
    struct setup s = {.alg = "HS384", .secret = "s3cret-key"};
    if (run_setup(&cfg, &s, NULL, NULL, __LINE__) == 0) {
        const jwtx_key *k = jwtx_keyset_signing(cfg.keys);
        CU_ASSERT_EQUAL(jwtx_key_kind_of(k), JWTX_KEY_SECRET);
        CU_ASSERT_PTR_EQUAL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_HS384, NULL), k);
        CU_ASSERT_PTR_EQUAL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_HS256, "any"), k);
        CU_ASSERT_PTR_NULL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_RS256, NULL));
        CU_ASSERT_PTR_NULL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_UNKNOWN, NULL));
        CU_ASSERT_PTR_NULL(jwtx_keyset_signing_kid(cfg.keys));
        json_t *jwks = jwtx_keyset_jwks(cfg.keys, &cfg);
        CU_ASSERT_EQUAL(json_array_size(json_object_get(jwks, "keys")), 0);
        CU_ASSERT(json_is_array(json_object_get(jwks, "keys")));
        json_decref(jwks);
        /* The key signs with the configured secret. */
        unsigned char sig[64];
        size_t sl;
        CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_HS384, k, (const unsigned char *)"a.b", 3, sig, &sl),
                        0);
        jwtx_key *same = jwtx_key_new_secret("s3cret-key", 10, NULL);
        CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_HS384, same, (const unsigned char *)"a.b", 3, sig,
                                        sl), 0);
        jwtx_key_free(same);
    }
    cfg_drop(&cfg);
    /* A secret with an asymmetric algorithm and no HS in the allow-list is
     * not loaded (so Flask's SECRET_KEY may be anything). */
    struct setup s2 = {.alg = "EdDSA", .priv = "ed25519.pem", .secret = "-----BEGIN X"};
    if (run_setup(&cfg, &s2, NULL, NULL, __LINE__) == 0)
        CU_ASSERT_PTR_NULL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_HS256, NULL));
    cfg_drop(&cfg);
    /* Unknown names in the allow-list pass (answered per token). */
    static const char *const allow[] = {"HS256", "ES256K", NULL};
    struct setup s3 = {.alg = "HS256", .allow = allow, .secret = "x"};
    run_setup(&cfg, &s3, NULL, NULL, __LINE__);
    cfg_drop(&cfg);
}

static void test_setup_asymmetric(void)
{
    jwtx_config cfg;
    /* Only the private key: the public key is derived; JWKS kid = thumbprint. */
    struct setup s = {.alg = "RS256", .priv = "rsa2048.pem"};
    if (run_setup(&cfg, &s, NULL, NULL, __LINE__) == 0) {
        const jwtx_key *sk = jwtx_keyset_signing(cfg.keys);
        CU_ASSERT(jwtx_key_is_private(sk));
        const jwtx_key *vk = jwtx_keyset_verifier(cfg.keys, JWTX_ALG_PS384, NULL);
        CU_ASSERT_PTR_NOT_NULL(vk);
        CU_ASSERT_FALSE(jwtx_key_is_private(vk));
        char tp[44];
        CU_ASSERT_EQUAL(jwtx_key_thumbprint(vk, tp), 0);
        CU_ASSERT_PTR_NULL(jwtx_keyset_signing_kid(cfg.keys)); /* no kid unless JWTX_KEY_ID */
        json_t *jwks = jwtx_keyset_jwks(cfg.keys, &cfg);
        json_t *keys = json_object_get(jwks, "keys");
        CU_ASSERT_EQUAL(json_array_size(keys), 1);
        json_t *k0 = json_array_get(keys, 0);
        JWTX_ASSERT_STR(json_string_value(json_object_get(k0, "kid")), tp);
        JWTX_ASSERT_STR(json_string_value(json_object_get(k0, "alg")), "RS256");
        JWTX_ASSERT_STR(json_string_value(json_object_get(k0, "kty")), "RSA");
        JWTX_ASSERT_STR(json_string_value(json_object_get(k0, "use")), "sig");
        CU_ASSERT_PTR_NULL(json_object_get(k0, "d"));
        CU_ASSERT_PTR_NULL(json_object_get(k0, "p"));
        json_decref(jwks);
        /* Sign with the signing key, verify with the verifier. */
        unsigned char sig[512];
        size_t sl;
        CU_ASSERT_EQUAL(jwtx_jws_sign(JWTX_ALG_RS256, sk, (const unsigned char *)"x.y", 3, sig, &sl),
                        0);
        CU_ASSERT_EQUAL(jwtx_jws_verify(JWTX_ALG_RS256, jwtx_keyset_verifier(cfg.keys,
                                        JWTX_ALG_RS256, NULL), (const unsigned char *)"x.y", 3,
                                        sig, sl), 0);
    }
    cfg_drop(&cfg);

    /* Both keys, an explicit kid, HS in the allow-list with a secret, and
     * decode keys of several kinds. */
    static const char *const allow[] = {"ES256", "HS256", "EdDSA", "RS256", NULL};
    static const char *const dk[] = {"old-ed=" FX "ed25519.pem", "partner=" FX "rsa2048b.pub.pem",
                                     NULL};
    struct setup s2 = {.alg = "ES256", .allow = allow, .priv = "ec-p256.pem",
                       .pub = "ec-p256.pub.pem", .key_id = "2024-main", .secret = "hs-secret",
                       .decode_keys = dk};
    if (run_setup(&cfg, &s2, NULL, NULL, __LINE__) == 0) {
        JWTX_ASSERT_STR(jwtx_keyset_signing_kid(cfg.keys), "2024-main");
        CU_ASSERT_EQUAL(jwtx_key_kind_of(jwtx_keyset_signing(cfg.keys)), JWTX_KEY_EC_P256);
        const jwtx_key *es = jwtx_keyset_verifier(cfg.keys, JWTX_ALG_ES256, NULL);
        CU_ASSERT_EQUAL(jwtx_key_kind_of(es), JWTX_KEY_EC_P256);
        CU_ASSERT_EQUAL(jwtx_key_kind_of(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_HS256, NULL)),
                        JWTX_KEY_SECRET);
        const jwtx_key *ed = jwtx_keyset_verifier(cfg.keys, JWTX_ALG_EDDSA, "old-ed");
        CU_ASSERT_EQUAL(jwtx_key_kind_of(ed), JWTX_KEY_ED25519);
        CU_ASSERT_FALSE(jwtx_key_is_private(ed)); /* a private decode key keeps only its public half */
        CU_ASSERT_PTR_EQUAL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_EDDSA, NULL), ed);
        CU_ASSERT_PTR_NULL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_ES256, "old-ed"));
        CU_ASSERT_EQUAL(jwtx_key_kind_of(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_RS256, "partner")),
                        JWTX_KEY_RSA);
        CU_ASSERT_PTR_EQUAL(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_ES256, "nope"), es);
        json_t *jwks = jwtx_keyset_jwks(cfg.keys, &cfg);
        json_t *keys = json_object_get(jwks, "keys");
        CU_ASSERT_EQUAL(json_array_size(keys), 3);
        JWTX_ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 0), "kid")),
                        "2024-main");
        JWTX_ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 0), "crv")),
                        "P-256");
        JWTX_ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 1), "kid")),
                        "old-ed");
        JWTX_ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 1), "alg")),
                        "EdDSA");
        JWTX_ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 2), "kid")),
                        "partner");
        CU_ASSERT_PTR_NULL(json_object_get(json_array_get(keys, 2), "alg"));
        json_decref(jwks);
    }
    cfg_drop(&cfg);

    /* EdDSA with Ed448, and PKCS#1 forms for RSA. */
    struct setup s3 = {.alg = "EdDSA", .priv = "ed448.pem"};
    if (run_setup(&cfg, &s3, NULL, NULL, __LINE__) == 0)
        CU_ASSERT_EQUAL(jwtx_key_kind_of(jwtx_keyset_verifier(cfg.keys, JWTX_ALG_EDDSA, NULL)),
                        JWTX_KEY_ED448);
    cfg_drop(&cfg);
    struct setup s4 = {.alg = "PS512", .priv = "rsa2048.pkcs1.pem", .pub = "rsa2048.pkcs1.pub.pem"};
    run_setup(&cfg, &s4, NULL, NULL, __LINE__);
    cfg_drop(&cfg);
    struct setup s5 = {.alg = "ES512", .priv = "ec-p521.pem", .pub = "ec-p521.pub.pem"};
    run_setup(&cfg, &s5, NULL, NULL, __LINE__);
    cfg_drop(&cfg);

    /* NULL key set. */
    CU_ASSERT_PTR_NULL(jwtx_keyset_signing(NULL));
    CU_ASSERT_PTR_NULL(jwtx_keyset_verifier(NULL, JWTX_ALG_HS256, NULL));
    json_t *empty = jwtx_keyset_jwks(NULL, NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(empty, "keys")), 0);
    json_decref(empty);
    jwtxp_keyset_free(NULL);
}

static const jwtx_cu_test tests[] = {
    {"PEM forms accepted", test_pem_forms},
    {"PEM refused: encrypted, certificate, curve, garbage", test_pem_refused},
    {"secrets: PEM/SSH look-alikes refused", test_secrets},
    {"key fits algorithm", test_fits},
    {"RFC 7638 / RFC 8037 thumbprints", test_thumbprints},
    {"JWK members", test_jwk_members},
    {"setup: config errors", test_setup_errors},
    {"setup: HMAC", test_setup_hmac},
    {"setup: asymmetric, kid, decode keys, JWKS", test_setup_asymmetric},
    {NULL, NULL},
};

JWTX_CU_MAIN("keys", tests)
