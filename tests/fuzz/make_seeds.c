/*
 * make_seeds.c — writes the token and jws seed inputs of corpus/ (real
 * tokens made by jwtx with the fuzz configs and the fixed fuzz clock, so they
 * verify at FUZZ_NOW). `make -C tests/fuzz seeds` runs it; its output is
 * committed, so it only needs re-running when the configs change.
 *   make_seeds CORPUS_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "jwtx/tokens.h"

static void write_seed(const char *dir, const char *name, unsigned char sel, const char *a,
                       size_t alen, const char *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputc(sel, f);
    fwrite(a, 1, alen, f);
    if (b != NULL) {
        fputc(0, f);
        fputs(b, f);
    }
    fclose(f);
}

static void token_seeds(const char *dir)
{
    static const fuzz_conf_id ids[4] = {FUZZ_CONF_HS256, FUZZ_CONF_ES256, FUZZ_CONF_EDDSA,
                                        FUZZ_CONF_CLAIMS};
    static const char *names[4] = {"hs256", "es256", "eddsa", "claims"};
    json_t *claims =
        json_pack("{s:[s,s],s:f,s:s}", "roles", "admin", "user", "n", 1.5, "s", "caf\xc3\xa9");
    for (unsigned i = 0; i < 4; i++) {
        const jwtx_config *cfg = fuzz_conf(ids[i]);
        for (int kind = 0; kind < 4; kind++) {
            jwtx_token_spec spec = {0};
            spec.refresh = kind == 1;
            spec.fresh = kind == 2 ? JWTX_FRESH_TRUE : JWTX_FRESH_FALSE;
            spec.claims = kind == 3 ? claims : NULL;
            jwtx_buf out;
            jwtx_buf_init(&out);
            jwtx_issued iss;
            jwtx_error err;
            if (jwtx_token_create(cfg, "alice", &spec, &out, &iss, &err) != 0) {
                fprintf(stderr, "create: %s\n", err.text);
                exit(1);
            }
            char name[64];
            snprintf(name, sizeof name, "%s-%d", names[i], kind);
            write_seed(dir, name, (unsigned char)i, out.data, out.len, NULL);
            if (iss.csrf[0] != '\0') {
                snprintf(name, sizeof name, "%s-%d-csrf", names[i], kind);
                write_seed(dir, name, (unsigned char)(i | 8), out.data, out.len, iss.csrf);
            }
            jwtx_buf_clear(&out);
        }
    }
    json_decref(claims);
}

static jwtx_key *pem_key(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/keys/%s", fuzz_root(), rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    jwtx_error err;
    jwtx_key *k = jwtx_key_new_pem(buf, n, &err);
    if (k == NULL) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        exit(1);
    }
    return k;
}

static void jws_one(const char *dir, const char *name, unsigned char sel, const char *alg,
                    const char *kid, const jwtx_key *key)
{
    json_t *h = kid ? json_pack("{s:s,s:s,s:s}", "alg", alg, "typ", "JWT", "kid", kid)
                    : json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
    static const char payload[] = "{\"sub\":\"alice\",\"iat\":1800000000}";
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    if (jwtx_jws_compact_sign(h, payload, sizeof payload - 1, jwtx_alg_parse(alg, strlen(alg)), key,
                              &out, &err) != 0) {
        fprintf(stderr, "sign %s: %s\n", name, err.text);
        exit(1);
    }
    write_seed(dir, name, sel, out.data, out.len, NULL);
    jwtx_buf_clear(&out);
    json_decref(h);
}

static void jws_seeds(const char *dir)
{
    static const char secret[] = "fuzz-secret-0123456789abcdef0123456789abcdef";
    jwtx_error err;
    jwtx_key *hs = jwtx_key_new_secret(secret, sizeof secret - 1, &err);
    jwtx_key *ec = pem_key("ec-p256.pem"), *ed = pem_key("ed25519.pem");
    jwtx_key *rsa = pem_key("rsa2048.pem"), *rsab = pem_key("rsa2048b.pem");
    jws_one(dir, "hs256", 0, "HS256", NULL, hs);
    jws_one(dir, "hs384", 0, "HS384", NULL, hs);
    jws_one(dir, "hs512-kid", 0, "HS512", "k1", hs);
    jws_one(dir, "es256", 1, "ES256", NULL, ec);
    jws_one(dir, "eddsa", 2, "EdDSA", NULL, ed);
    jws_one(dir, "rs256", 3, "RS256", NULL, rsa);
    jws_one(dir, "ps256", 3, "PS256", NULL, rsa);
    jws_one(dir, "rs512-old", 3, "RS512", "old", rsab);
    jwtx_key_free(hs);
    jwtx_key_free(ec);
    jwtx_key_free(ed);
    jwtx_key_free(rsa);
    jwtx_key_free(rsab);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    fuzz_fixed_sources();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/token", argv[1]);
    token_seeds(dir);
    snprintf(dir, sizeof dir, "%s/jws", argv[1]);
    jws_seeds(dir);
    return 0;
}
