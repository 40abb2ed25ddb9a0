/*
 * bench.c — `make bench`: token sign/verify throughput of jwtx against a
 * minimal direct OpenSSL + jansson baseline.
 *
 * For HS256, RS256 (2048-bit), ES256 and EdDSA (Ed25519) it measures how many
 * default access tokens per second (the Flask-JWT-Extended layout: fresh, iat,
 * jti, type, sub, nbf, csrf, exp) each side signs and verifies. jwtx goes
 * through its public API: a config from jwtx_config_load_string (keys parsed
 * once, at load), jwtx_token_create and jwtx_token_decode. The baseline, in
 * this file, is what a careful hand-written verifier needs at least: it dumps
 * header and payload with jansson, base64url-encodes them and signs with a
 * pre-parsed EVP_PKEY (or a pre-keyed HMAC context); to verify it splits the
 * token, base64url-decodes it, parses the header and checks its alg, checks
 * the signature, parses the payload with json_loadb and checks exp. Both sides
 * share the keys, and each checks the other's tokens before timing starts.
 *
 * Each case runs for a fixed time after a warm-up, in short slices that
 * alternate between jwtx and the baseline (and swap which goes first) so that
 * frequency scaling and noisy neighbours hit both alike. One line per case:
 *   bench: <op> <alg> jwtx=<ops/s> baseline=<ops/s> ratio=<jwtx/baseline>
 * Environment: JWTX_BENCH_SECONDS (per side and case, default 0.5);
 * JWTX_BENCH_ONLY ("verify HS256", "sign", "EdDSA") to run some cases only.
 * Exit status 0, or 1 when a key cannot be made or a token does not verify.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/json.h"
#include "jwtx/tokens.h"

#define IDENTITY "bench-user"
#define ACCESS_EXPIRES 900
#define TOKEN_CAP 4096
#define SLICES 10

typedef enum fam { FAM_HMAC, FAM_RSA, FAM_EC, FAM_ED } fam;

typedef struct bcase {
    const char *alg;
    fam family;
    /* baseline keys */
    EVP_PKEY *priv; /* signing key (asymmetric) */
    EVP_PKEY *pub;  /* public-only key, parsed from its own PEM */
    /* HMAC-SHA256 keyed once and duplicated per token: twice as fast as
     * OpenSSL 3's one-shot HMAC(), which fetches and keys a MAC every call. */
    EVP_MAC_CTX *hmac_tmpl;
    unsigned char secret[32];
    /* jwtx */
    jwtx_config cfg;
    bool cfg_loaded;
    /* a token each side made, verified by both in the timed runs */
    char token[TOKEN_CAP];
    size_t token_len;
} bcase;

static char tmpdir[256];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void cleanup_tmp(void)
{
    static const char *const names[] = {"priv.pem", "pub.pem"};
    char path[512];
    if (tmpdir[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    ERR_print_errors_fp(stderr);
    cleanup_tmp();
    exit(1);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------- */
/* Baseline: base64url, written out so the baseline uses nothing of jwtx.  */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_enc(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alpha[v >> 18];
        out[o++] = b64_alpha[(v >> 12) & 63];
        out[o++] = b64_alpha[(v >> 6) & 63];
        out[o++] = b64_alpha[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = b64_alpha[v >> 18];
        out[o++] = b64_alpha[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = b64_alpha[v >> 18];
        out[o++] = b64_alpha[(v >> 12) & 63];
        out[o++] = b64_alpha[(v >> 6) & 63];
    }
    return o;
}

static signed char b64_rev[256];

static void b64_init(void)
{
    memset(b64_rev, -1, sizeof b64_rev);
    for (int i = 0; i < 64; i++)
        b64_rev[(unsigned char)b64_alpha[i]] = (signed char)i;
}

/* Decodes n chars into out (room for n*3/4 bytes). -1 on a bad symbol or length. */
static long b64_dec(const char *in, size_t n, unsigned char *out)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64_rev[(unsigned char)in[i]];
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero unused bits: not canonical */
        return -1;
    return (long)o;
}

/* ---------------------------------------------------------------------- */
/* Baseline: signatures with pre-parsed keys.                              */

static int base_raw_sign(bcase *c, const unsigned char *in, size_t n, unsigned char *sig,
                         size_t *siglen)
{
    int ok = 0;
    if (c->family == FAM_HMAC) {
        EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->hmac_tmpl);
        ok = m != NULL && EVP_MAC_update(m, in, n) && EVP_MAC_final(m, sig, siglen, 64);
        EVP_MAC_CTX_free(m);
        return ok ? 0 : -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *h = c->family == FAM_ED ? NULL : EVP_sha256();
    if (c->family == FAM_EC) {
        unsigned char der[80];
        size_t derlen = sizeof der;
        ok = md != NULL && EVP_DigestSignInit(md, NULL, h, NULL, c->priv) == 1 &&
             EVP_DigestSign(md, der, &derlen, in, n) == 1;
        if (ok) {
            const unsigned char *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
            const BIGNUM *r, *s;
            ok = es != NULL;
            if (ok) {
                ECDSA_SIG_get0(es, &r, &s);
                ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
            }
            ECDSA_SIG_free(es);
            *siglen = 64;
        }
    } else {
        size_t cap = 512;
        ok = md != NULL && EVP_DigestSignInit(md, NULL, h, NULL, c->priv) == 1 &&
             EVP_DigestSign(md, sig, &cap, in, n) == 1;
        *siglen = cap;
    }
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static int base_raw_verify(bcase *c, const unsigned char *in, size_t n, const unsigned char *sig,
                           size_t siglen)
{
    int ok = 0;
    if (c->family == FAM_HMAC) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->hmac_tmpl);
        ok = m != NULL && EVP_MAC_update(m, in, n) && EVP_MAC_final(m, mac, &maclen, sizeof mac) &&
             maclen == siglen && CRYPTO_memcmp(mac, sig, siglen) == 0;
        EVP_MAC_CTX_free(m);
        OPENSSL_cleanse(mac, sizeof mac);
        return ok ? 0 : -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *h = c->family == FAM_ED ? NULL : EVP_sha256();
    if (c->family == FAM_EC) {
        unsigned char der[80], *p = der;
        ECDSA_SIG *es = siglen == 64 ? ECDSA_SIG_new() : NULL;
        BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
        int derlen = -1;
        if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
            r = s = NULL;
            derlen = i2d_ECDSA_SIG(es, &p);
        }
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        ok = derlen > 0 && md != NULL && EVP_DigestVerifyInit(md, NULL, h, NULL, c->pub) == 1 &&
             EVP_DigestVerify(md, der, (size_t)derlen, in, n) == 1;
    } else {
        ok = md != NULL && EVP_DigestVerifyInit(md, NULL, h, NULL, c->pub) == 1 &&
             EVP_DigestVerify(md, sig, siglen, in, n) == 1;
    }
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Baseline: whole tokens.                                                 */

static void base_uuid4(char out[37])
{
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";
    if (RAND_bytes(r, sizeof r) != 1)
        die("RAND_bytes failed");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
}

/* Writes one default access token into out. Returns its length, or 0. */
static size_t base_sign(bcase *c, char *out, size_t cap)
{
    struct timeval tv;
    char jti[37], csrf[37], hjson[128], pjson[512];
    unsigned char sig[512];
    size_t siglen = 0;

    gettimeofday(&tv, NULL);
    json_int_t iat = (json_int_t)tv.tv_sec;
    base_uuid4(jti);
    base_uuid4(csrf);

    json_t *h = json_pack("{s:s,s:s}", "alg", c->alg, "typ", "JWT");
    json_t *p =
        json_pack("{s:b,s:I,s:s,s:s,s:s,s:I,s:s,s:I}", "fresh", 0, "iat", iat, "jti", jti, "type",
                  "access", "sub", IDENTITY, "nbf", iat, "csrf", csrf, "exp", iat + ACCESS_EXPIRES);
    size_t hn = h ? json_dumpb(h, hjson, sizeof hjson, JSON_COMPACT | JSON_SORT_KEYS) : 0;
    size_t pn = p ? json_dumpb(p, pjson, sizeof pjson, JSON_COMPACT) : 0;
    json_decref(h);
    json_decref(p);
    if (hn == 0 || hn > sizeof hjson || pn == 0 || pn > sizeof pjson)
        return 0;
    if ((hn + pn + 512 + 2) * 4 / 3 + 8 > cap)
        return 0;

    size_t o = b64_enc((const unsigned char *)hjson, hn, out);
    out[o++] = '.';
    o += b64_enc((const unsigned char *)pjson, pn, out + o);
    if (base_raw_sign(c, (const unsigned char *)out, o, sig, &siglen) != 0)
        return 0;
    out[o++] = '.';
    o += b64_enc(sig, siglen, out + o);
    out[o] = '\0';
    return o;
}

/* Verifies a token as the baseline does. Returns 0 when valid. */
static int base_verify(bcase *c, const char *tok, size_t len)
{
    unsigned char hbuf[256], pbuf[1024], sig[512];
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = memrchr(tok, '.', len);
    if (d1 == NULL || d2 == d1)
        return -1;
    size_t hlen = (size_t)(d1 - tok), plen = (size_t)(d2 - d1 - 1),
           slen = len - (size_t)(d2 - tok) - 1;
    if (hlen > sizeof hbuf * 4 / 3 || plen > sizeof pbuf * 4 / 3 || slen > sizeof sig * 4 / 3)
        return -1;

    long hn = b64_dec(tok, hlen, hbuf);
    long sn = b64_dec(d2 + 1, slen, sig);
    if (hn < 0 || sn < 0)
        return -1;
    json_t *h = json_loadb((const char *)hbuf, (size_t)hn, 0, NULL);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    int alg_ok = alg != NULL && strcmp(alg, c->alg) == 0;
    json_decref(h);
    if (!alg_ok)
        return -1;
    if (base_raw_verify(c, (const unsigned char *)tok, (size_t)(d2 - tok), sig, (size_t)sn) != 0)
        return -1;

    long pn = b64_dec(d1 + 1, plen, pbuf);
    if (pn < 0)
        return -1;
    json_t *p = json_loadb((const char *)pbuf, (size_t)pn, 0, NULL);
    json_t *exp = json_object_get(p, "exp");
    int ok = json_is_integer(exp) && json_integer_value(exp) > (json_int_t)time(NULL);
    json_decref(p);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* jwtx side.                                                              */

static int jwtx_sign_once(bcase *c, char *out, size_t cap, size_t *outlen)
{
    jwtx_buf b;
    jwtx_error err;
    jwtx_token_spec spec;
    memset(&spec, 0, sizeof spec);
    jwtx_buf_init(&b);
    int rc = jwtx_token_create(&c->cfg, IDENTITY, &spec, &b, NULL, &err);
    if (rc == 0 && out != NULL) {
        if (b.len >= cap) {
            rc = -1;
        } else {
            memcpy(out, b.data, b.len + 1);
            *outlen = b.len;
        }
    } else if (rc != 0) {
        fprintf(stderr, "bench: jwtx_token_create %s: %s\n", c->alg, jwtx_error_message(&err));
    }
    jwtx_buf_clear(&b);
    return rc;
}

static int jwtx_verify_once(bcase *c, const char *tok, size_t len, bool report)
{
    jwtx_token t;
    jwtx_error err;
    jwtx_decode_opts opts;
    memset(&opts, 0, sizeof opts);
    memset(&t, 0, sizeof t);
    if (jwtx_token_decode(&c->cfg, tok, len, &opts, &t, &err) != 0) {
        if (report)
            fprintf(stderr, "bench: jwtx_token_decode %s: %s\n", c->alg, jwtx_error_message(&err));
        return -1;
    }
    jwtx_token_clear(&t);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Keys and configs.                                                       */

static char *pem_of(EVP_PKEY *k, bool priv)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data = NULL, *copy = NULL;
    int ok = b != NULL && (priv ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                                : PEM_write_bio_PUBKEY(b, k));
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (copy = malloc((size_t)n + 1)) != NULL) {
        memcpy(copy, data, (size_t)n);
        copy[n] = '\0';
    }
    BIO_free(b);
    return copy;
}

static void write_file(const char *name, const char *text, char *path, size_t pathcap)
{
    snprintf(path, pathcap, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        die("%s: %s", path, strerror(errno));
}

static void setup_case(bcase *c)
{
    char conf[2048];
    int n;

    if (c->family == FAM_HMAC) {
        static const char hex[] = "0123456789abcdef";
        char secret_hex[65];
        if (RAND_bytes(c->secret, sizeof c->secret) != 1)
            die("RAND_bytes failed");
        /* A printable secret, so it can sit in the conf file as a string; the
         * HMAC key is its ASCII bytes, as with Flask's JWT_SECRET_KEY. */
        for (size_t i = 0; i < sizeof c->secret; i++) {
            secret_hex[2 * i] = hex[c->secret[i] >> 4];
            secret_hex[2 * i + 1] = hex[c->secret[i] & 15];
        }
        secret_hex[64] = '\0';
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_end()};
        c->hmac_tmpl = mac ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac);
        if (c->hmac_tmpl == NULL ||
            !EVP_MAC_init(c->hmac_tmpl, (unsigned char *)secret_hex, 64, params))
            die("HMAC setup failed");
        n = snprintf(conf, sizeof conf, "JWT_ALGORITHM = \"%s\"\nJWT_SECRET_KEY = \"%s\"\n", c->alg,
                     secret_hex);
        OPENSSL_cleanse(secret_hex, sizeof secret_hex);
    } else {
        char privpath[512], pubpath[512];
        if (c->family == FAM_RSA)
            c->priv = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        else if (c->family == FAM_EC)
            c->priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        else
            c->priv = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (c->priv == NULL)
            die("%s: key generation failed", c->alg);
        char *priv_pem = pem_of(c->priv, true), *pub_pem = pem_of(c->priv, false);
        if (priv_pem == NULL || pub_pem == NULL)
            die("%s: PEM export failed", c->alg);
        BIO *b = BIO_new_mem_buf(pub_pem, -1);
        c->pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (c->pub == NULL)
            die("%s: public key re-read failed", c->alg);
        write_file("priv.pem", priv_pem, privpath, sizeof privpath);
        write_file("pub.pem", pub_pem, pubpath, sizeof pubpath);
        OPENSSL_cleanse(priv_pem, strlen(priv_pem));
        free(priv_pem);
        free(pub_pem);
        n = snprintf(conf, sizeof conf,
                     "JWT_ALGORITHM = \"%s\"\nJWTX_PRIVATE_KEY_FILE = \"%s\"\n"
                     "JWTX_PUBLIC_KEY_FILE = \"%s\"\n",
                     c->alg, privpath, pubpath);
    }
    if (n < 0 || (size_t)n >= sizeof conf)
        die("conf too long");

    jwtx_config_error e;
    memset(&e, 0, sizeof e);
    if (jwtx_config_load_string("bench.conf", conf, (size_t)n, &c->cfg, &e, NULL, NULL) != 0) {
        char buf[1024];
        die("%s: config: %s", c->alg, jwtx_config_error_format(&e, buf, sizeof buf));
    }
    c->cfg_loaded = true;
    OPENSSL_cleanse(conf, sizeof conf);
    /* The keys are in memory now; the files are not needed any more. */
    {
        char path[512];
        snprintf(path, sizeof path, "%s/priv.pem", tmpdir);
        unlink(path);
        snprintf(path, sizeof path, "%s/pub.pem", tmpdir);
        unlink(path);
    }

    /* Cross-check: each side accepts the other's token, and the layouts agree. */
    char btok[TOKEN_CAP];
    size_t blen = base_sign(c, btok, sizeof btok);
    if (blen == 0)
        die("%s: baseline sign failed", c->alg);
    if (jwtx_sign_once(c, c->token, sizeof c->token, &c->token_len) != 0)
        die("%s: jwtx sign failed", c->alg);
    if (jwtx_verify_once(c, btok, blen, true) != 0)
        die("%s: jwtx rejects the baseline's token", c->alg);
    if (base_verify(c, c->token, c->token_len) != 0)
        die("%s: the baseline rejects jwtx's token", c->alg);
    if (base_verify(c, btok, blen) != 0)
        die("%s: the baseline rejects its own token", c->alg);
    /* Same header bytes means the same job; a difference (say an extra kid)
     * is worth knowing but does not make the numbers meaningless. */
    const char *jd = strchr(c->token, '.'), *bd = strchr(btok, '.');
    if (jd == NULL || bd == NULL)
        die("%s: a token without a dot", c->alg);
    if (jd - c->token != bd - btok || memcmp(c->token, btok, (size_t)(jd - c->token)) != 0) {
        unsigned char hj[256], hb[256];
        size_t nj = (size_t)(jd - c->token), nb = (size_t)(bd - btok);
        long dj = nj <= 340 ? b64_dec(c->token, nj, hj) : -1;
        long db = nb <= 340 ? b64_dec(btok, nb, hb) : -1;
        fprintf(stderr, "bench: note: %s: jwtx header %.*s, baseline header %.*s\n", c->alg,
                dj < 0 ? 0 : (int)dj, (const char *)hj, db < 0 ? 0 : (int)db, (const char *)hb);
    }
}

static void free_case(bcase *c)
{
    if (c->cfg_loaded)
        jwtx_config_clear(&c->cfg);
    EVP_PKEY_free(c->priv);
    EVP_PKEY_free(c->pub);
    EVP_MAC_CTX_free(c->hmac_tmpl);
    OPENSSL_cleanse(c->secret, sizeof c->secret);
}

/* ---------------------------------------------------------------------- */
/* Timing.                                                                 */

typedef enum side { SIDE_JWTX, SIDE_BASE } side;
typedef enum op { OP_SIGN, OP_VERIFY } op;

static void one(bcase *c, side s, op o)
{
    char tok[TOKEN_CAP];
    size_t len;
    int rc;
    if (o == OP_SIGN) {
        if (s == SIDE_JWTX)
            rc = jwtx_sign_once(c, NULL, 0, &len);
        else
            rc = base_sign(c, tok, sizeof tok) == 0 ? -1 : 0;
    } else {
        if (s == SIDE_JWTX)
            rc = jwtx_verify_once(c, c->token, c->token_len, true);
        else
            rc = base_verify(c, c->token, c->token_len);
    }
    if (rc != 0)
        die("%s %s %s failed", o == OP_SIGN ? "sign" : "verify", c->alg,
            s == SIDE_JWTX ? "jwtx" : "baseline");
}

/* Runs ops for about secs seconds; adds their count and the time taken. */
static void slice(bcase *c, side s, op o, double secs, double *ops, double *elapsed)
{
    double start = mono_now(), end = start + secs, t;
    long n = 0;
    do {
        one(c, s, o);
        n++;
        t = mono_now();
    } while (t < end);
    *ops += (double)n;
    *elapsed += t - start;
}

static void run_case(bcase *c, op o, double secs)
{
    double jops = 0, jt = 0, bops = 0, bt = 0, dummy_ops = 0, dummy_t = 0;
    /* warm-up: caches, branch predictors, lazy OpenSSL fetches, CPU clock */
    slice(c, SIDE_JWTX, o, 0.05, &dummy_ops, &dummy_t);
    slice(c, SIDE_BASE, o, 0.05, &dummy_ops, &dummy_t);
    for (int r = 0; r < SLICES; r++) {
        if (r % 2 == 0) {
            slice(c, SIDE_JWTX, o, secs / SLICES, &jops, &jt);
            slice(c, SIDE_BASE, o, secs / SLICES, &bops, &bt);
        } else {
            slice(c, SIDE_BASE, o, secs / SLICES, &bops, &bt);
            slice(c, SIDE_JWTX, o, secs / SLICES, &jops, &jt);
        }
    }
    double jr = jops / jt, br = bops / bt;
    printf("bench: %s %s jwtx=%.0f baseline=%.0f ratio=%.2f\n", o == OP_SIGN ? "sign" : "verify",
           c->alg, jr, br, jr / br);
    fflush(stdout);
}

/* JWTX_BENCH_ONLY="verify HS256" (or "sign", or "EdDSA") picks cases for
 * profiling: every word given must be the op or the alg of the case. */
static bool wanted(const char *only, const char *op_name, const char *alg)
{
    char buf[64];
    if (only == NULL || *only == '\0')
        return true;
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *w = strtok_r(buf, " ,", &save); w != NULL;
         w = strtok_r(NULL, " ,", &save))
        if (strcmp(w, op_name) != 0 && strcmp(w, alg) != 0)
            return false;
    return true;
}

int main(void)
{
    double secs = 0.5;
    const char *env = getenv("JWTX_BENCH_SECONDS");
    if (env != NULL && *env != '\0') {
        char *end;
        double v = strtod(env, &end);
        if (*end != '\0' || !(v > 0.0 && v <= 60.0))
            die("JWTX_BENCH_SECONDS must be a number of seconds in (0, 60]");
        secs = v;
    }
    const char *only = getenv("JWTX_BENCH_ONLY");
    b64_init();

    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/jwtx-bench.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        tmpdir[0] = '\0';
        die("mkdtemp: %s", strerror(errno));
    }

    bcase cases[] = {
        {.alg = "HS256", .family = FAM_HMAC},
        {.alg = "RS256", .family = FAM_RSA},
        {.alg = "ES256", .family = FAM_EC},
        {.alg = "EdDSA", .family = FAM_ED},
    };
    const size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++)
        setup_case(&cases[i]);
    cleanup_tmp();

    for (size_t i = 0; i < ncases; i++) {
        if (wanted(only, "sign", cases[i].alg))
            run_case(&cases[i], OP_SIGN, secs);
        if (wanted(only, "verify", cases[i].alg))
            run_case(&cases[i], OP_VERIFY, secs);
    }
    for (size_t i = 0; i < ncases; i++)
        free_case(&cases[i]);
    return 0;
}
