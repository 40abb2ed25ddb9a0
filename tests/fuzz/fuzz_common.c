/*
 * fuzz_common.c — field splitting, conf loading and fixed token sources for
 * the fuzz targets (see fuzz_common.h).
 */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtx/tokens.h"

#ifndef JWTX_FUZZ_ROOT
#define JWTX_FUZZ_ROOT "."
#endif

void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz property failed: %s\n", what);
    abort();
}

const char *fuzz_root(void)
{
    const char *r = getenv("JWTX_FUZZ_ROOT");
    return (r != NULL && r[0] != '\0') ? r : JWTX_FUZZ_ROOT;
}

char *fuzz_dup_exact(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (p == NULL)
        abort();
    if (size)
        memcpy(p, data, size);
    return p;
}

char *fuzz_dup_str(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    if (p == NULL)
        abort();
    if (size)
        memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

void fuzz_fields_split(fuzz_fields *ff, const uint8_t *data, size_t size, size_t nfields)
{
    size_t start = 0;
    if (nfields < 1 || nfields > FUZZ_MAX_FIELDS)
        abort();
    ff->n = 0;
    for (size_t i = 0; i < FUZZ_MAX_FIELDS; i++) {
        ff->f[i] = NULL;
        ff->len[i] = 0;
    }
    while (ff->n < nfields) {
        const uint8_t *nul = NULL;
        if (ff->n + 1 < nfields && size > start)
            nul = memchr(data + start, 0, size - start);
        size_t end = nul ? (size_t)(nul - data) : size;
        ff->f[ff->n] = fuzz_dup_str(data + start, end - start);
        ff->len[ff->n] = end - start;
        ff->n++;
        if (nul == NULL)
            break;
        start = end + 1;
    }
    for (size_t i = ff->n; i < FUZZ_MAX_FIELDS; i++)
        ff->f[i] = fuzz_dup_str(NULL, 0);
}

bool fuzz_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += len;
    }
    return true;
}

void fuzz_fields_free(fuzz_fields *ff)
{
    for (size_t i = 0; i < FUZZ_MAX_FIELDS; i++) {
        free(ff->f[i]);
        ff->f[i] = NULL;
    }
}

void fuzz_config_must_load(jwtx_config *cfg, const char *name, const char *text)
{
    char path[4096];
    jwtx_config_error err;
    snprintf(path, sizeof path, "%s/tests/fixtures/conf/fuzz-%s.conf", fuzz_root(), name);
    if (jwtx_config_load_string(path, text, strlen(text), cfg, &err, NULL, NULL) != 0) {
        char buf[1024];
        fprintf(stderr, "fuzz: config %s does not load: %s\n", name,
                jwtx_config_error_format(&err, buf, sizeof buf));
        abort();
    }
}

static double fixed_clock(void)
{
    return FUZZ_NOW;
}

static int counter_random(unsigned char *buf, size_t n)
{
    static unsigned char c;
    for (size_t i = 0; i < n; i++)
        buf[i] = c++;
    return 0;
}

void fuzz_fixed_sources(void)
{
    jwtx_tokens_set_sources(fixed_clock, counter_random);
}

static const char *const conf_texts[FUZZ_CONF__COUNT] = {
    [FUZZ_CONF_HS256] = "JWT_SECRET_KEY = 'fuzz-secret-0123456789abcdef0123456789abcdef'\n"
                        "JWT_DECODE_ALGORITHMS = ['HS256', 'HS384', 'HS512']\n",
    [FUZZ_CONF_ES256] = "JWT_ALGORITHM = 'ES256'\n"
                        "JWTX_PRIVATE_KEY_FILE = '../keys/ec-p256.pem'\n"
                        "JWTX_PUBLIC_KEY_FILE = '../keys/ec-p256.pub.pem'\n",
    [FUZZ_CONF_EDDSA] = "JWT_ALGORITHM = 'EdDSA'\n"
                        "JWTX_PRIVATE_KEY_FILE = '../keys/ed25519.pem'\n"
                        "JWTX_PUBLIC_KEY_FILE = '../keys/ed25519.pub.pem'\n",
    [FUZZ_CONF_CLAIMS] = "JWT_SECRET_KEY = 'fuzz-secret-0123456789abcdef0123456789abcdef'\n"
                         "JWT_DECODE_AUDIENCE = ['api', 'admin']\n"
                         "JWT_ENCODE_AUDIENCE = 'api'\n"
                         "JWT_DECODE_ISSUER = 'https://issuer.example'\n"
                         "JWT_ENCODE_ISSUER = 'https://issuer.example'\n"
                         "JWT_DECODE_LEEWAY = 30\n"
                         "JWT_IDENTITY_CLAIM = 'identity'\n",
    [FUZZ_CONF_RS256] = "JWT_ALGORITHM = 'RS256'\n"
                        "JWT_DECODE_ALGORITHMS = ['RS256', 'PS256', 'RS512']\n"
                        "JWTX_PRIVATE_KEY_FILE = '../keys/rsa2048.pem'\n"
                        "JWTX_PUBLIC_KEY_FILE = '../keys/rsa2048.pub.pem'\n"
                        "JWTX_DECODE_KEYS = ['old=../keys/rsa2048b.pub.pem']\n",
    [FUZZ_CONF_ALL_LOCATIONS] =
        "JWT_SECRET_KEY = 'fuzz-secret-0123456789abcdef0123456789abcdef'\n"
        "JWT_TOKEN_LOCATION = ['headers', 'cookies', 'query_string', 'json']\n"
        "JWT_QUERY_STRING_VALUE_PREFIX = 'Bearer '\n",
    [FUZZ_CONF_NO_TYPE] = "JWT_SECRET_KEY = 'fuzz-secret-0123456789abcdef0123456789abcdef'\n"
                          "JWT_TOKEN_LOCATION = ['json', 'headers']\n"
                          "JWT_HEADER_TYPE = ''\n"
                          "JWT_HEADER_NAME = 'X-Auth-Token'\n",
    [FUZZ_CONF_CSRF_FORM] = "JWT_SECRET_KEY = 'fuzz-secret-0123456789abcdef0123456789abcdef'\n"
                            "JWT_TOKEN_LOCATION = ['cookies', 'query_string']\n"
                            "JWT_CSRF_CHECK_FORM = True\n"
                            "JWT_CSRF_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET']\n"
                            "JWT_ACCESS_COOKIE_NAME = 'acc'\n"
                            "JWT_REFRESH_COOKIE_NAME = 'ref'\n"
                            "JWT_QUERY_STRING_NAME = 'token'\n"
                            "JWT_COOKIE_SAMESITE = 'Lax'\n"
                            "JWT_COOKIE_DOMAIN = '.example.org'\n"
                            "JWT_SESSION_COOKIE = False\n",
};

static const char *const conf_names[FUZZ_CONF__COUNT] = {
    "hs256", "es256", "eddsa", "claims", "rs256", "all-locations", "no-type", "csrf-form",
};

const char *fuzz_conf_text(fuzz_conf_id id)
{
    return conf_texts[id];
}

const jwtx_config *fuzz_conf(fuzz_conf_id id)
{
    static jwtx_config cfgs[FUZZ_CONF__COUNT];
    static int loaded[FUZZ_CONF__COUNT];
    if (!loaded[id]) {
        fuzz_config_must_load(&cfgs[id], conf_names[id], conf_texts[id]);
        loaded[id] = 1;
    }
    return &cfgs[id];
}
