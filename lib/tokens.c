/*
 * tokens.c — creating and decoding access and refresh tokens.
 *
 * Creation writes Flask-JWT-Extended's layout byte for byte (spec section 2):
 * the JOSE header PyJWT builds ({"typ","alg"} updated with the extra headers,
 * sorted when written), and the claims in FJE's insertion order with the
 * additional claims applied over them. Decoding is spec section 3 steps 3-11
 * with the differences of spec/README.md: jws.c splits, checks the header and
 * the signature before anything here looks at the payload; then PyJWT's
 * registered-claim checks (iat, nbf, exp, iss, aud, sub, jti; dates are
 * JSON numbers read with Python's int() semantics), FJE's identity and CSRF
 * checks and its defaults. "Token has expired" is reported only when every
 * other check passed, as FJE's re-decode with verify_exp off makes happen.
 *
 * The clock and the random source are replaceable so tests can pin layouts.
 */
#include "jwtx/tokens.h"

#include <math.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Sources                                                             */

static double default_clock(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int default_random(unsigned char *buf, size_t n)
{
    if (n > INT32_MAX)
        return -1;
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

static jwtx_clock_fn clock_fn = default_clock;
static jwtx_random_fn random_fn = default_random;

void jwtx_tokens_set_sources(jwtx_clock_fn clock, jwtx_random_fn rnd)
{
    clock_fn = clock ? clock : default_clock;
    random_fn = rnd ? rnd : default_random;
}

double jwtx_now(void)
{
    return clock_fn();
}

int jwtx_uuid4(char out[37])
{
    unsigned char b[16];
    if (random_fn(b, sizeof b) != 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0F];
    }
    out[o] = '\0';
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Python semantics                                                    */

/* bool(v) in Python. */
static bool py_truthy(const json_t *v)
{
    if (v == NULL)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE: return false;
    case JSON_TRUE: return true;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0.0; /* NaN is truthy, as in Python */
    case JSON_STRING: return json_string_length(v) != 0;
    case JSON_ARRAY: return json_array_size(v) != 0;
    case JSON_OBJECT: return json_object_size(v) != 0;
    }
    return false;
}

/* A NumericDate claim (iat, nbf, exp) as Python's int(v) reads a JSON
 * number: ints, finite floats truncated, bools as 1/0. Everything else fails
 * with the claim's "must be an integer." message: null, arrays, objects,
 * NaN, infinities and, unlike PyJWT, every string. PyJWT's int("9999999999")
 * would accept a string date; RFC 7519 section 2 makes a NumericDate a JSON
 * number, so jwtx refuses it (spec/README.md point 8). */
static int numeric_date(const json_t *v, double *out)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER: *out = (double)json_integer_value(v); return 0;
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d))
            return -1;
        *out = trunc(d);
        return 0;
    }
    case JSON_TRUE: *out = 1; return 0;
    case JSON_FALSE: *out = 0; return 0;
    default: return -1;
    }
}

static bool str_equal(const json_t *s, const char *c)
{
    size_t n = strlen(c);
    return json_string_length(s) == n && memcmp(json_string_value(s), c, n) == 0;
}

static bool strlist_has(const jwtx_strlist *l, const json_t *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (str_equal(s, l->v[i]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */

/* floor(a / b) for b > 0. */
static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    if ((a % b) != 0 && a < 0)
        q--;
    return q;
}

static int set_new(json_t *obj, const char *key, json_t *val)
{
    return val == NULL ? -1 : json_object_set_new(obj, key, val);
}

int jwtx_token_create(const jwtx_config *cfg, const char *identity, const jwtx_token_spec *spec,
                      jwtx_buf *out, jwtx_issued *issued, jwtx_error *err)
{
    static const jwtx_token_spec zero_spec;
    if (cfg == NULL || identity == NULL || out == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "tokens: bad arguments to create");
    if (spec == NULL)
        spec = &zero_spec;
    if ((spec->claims && !json_is_object(spec->claims)) ||
        (spec->headers && !json_is_object(spec->headers)))
        return jwtx_error_set(err, JWTX_ERR_INTERNAL,
                              "additional claims and headers must be JSON objects");

    json_t *header = NULL, *claims = NULL;
    jwtx_buf payload;
    jwtx_buf_init(&payload);
    int rc = -1;

    /* --- header: PyJWT's {"typ","alg"} updated with the extra headers --- */
    const char *alg_name = cfg->algorithm ? cfg->algorithm : "HS256";
    header = json_object();
    if (header == NULL || set_new(header, "typ", json_string("JWT")) != 0 ||
        set_new(header, "alg", json_string(alg_name)) != 0)
        goto oom;
    const char *kid = cfg->keys ? jwtx_keyset_signing_kid(cfg->keys) : NULL;
    if (kid != NULL && set_new(header, "kid", json_string_nocheck(kid)) != 0)
        goto oom;
    jwtx_alg alg = jwtx_alg_parse(alg_name, strlen(alg_name));
    if (spec->headers) {
        json_t *h_alg = json_object_get(spec->headers, "alg");
        if (py_truthy(h_alg)) {
            /* A truthy alg signs with that algorithm, but only one this
             * gateway would accept back and has a key for. */
            const char *a = json_string_value(h_alg);
            size_t alen = json_string_length(h_alg);
            if (a == NULL || jwtx_alg_parse(a, alen) == JWTX_ALG_UNKNOWN) {
                jwtx_error_set(err, JWTX_ERR_ALG_NOT_SUPPORTED, NULL);
                goto done;
            }
            if (!jwtx_config_alg_allowed(cfg, a, alen)) {
                jwtx_error_set(err, JWTX_ERR_ALG_NOT_ALLOWED, NULL);
                goto done;
            }
            alg = jwtx_alg_parse(a, alen);
        }
        json_t *h_kid = json_object_get(spec->headers, "kid");
        if (h_kid != NULL && !json_is_string(h_kid)) {
            jwtx_error_set(err, JWTX_ERR_KID_NOT_STRING, NULL);
            goto done;
        }
        if (json_is_false(json_object_get(spec->headers, "b64"))) {
            jwtx_error_set(err, JWTX_ERR_B64_FALSE,
                           "Detached payloads (\"b64\": false) are not supported");
            goto done;
        }
        if (json_object_update(header, (json_t *)spec->headers) != 0)
            goto oom;
    }
    if (!py_truthy(json_object_get(header, "typ")))
        json_object_del(header, "typ");
    if (alg == JWTX_ALG_UNKNOWN) {
        jwtx_error_set(err, JWTX_ERR_ALG_NOT_SUPPORTED, NULL);
        goto done;
    }

    /* --- claims, in FJE's order --- */
    double now = jwtx_now();
    if (!isfinite(now) || fabs(now) > 1e15) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "the clock is unusable");
        goto done;
    }
    /* datetime.now() has microsecond resolution; every derived value starts
     * from the same rounded instant. */
    long long now_us = llround(now * 1e6);
    long long iat = floor_div(now_us, 1000000);

    claims = json_object();
    if (claims == NULL)
        goto oom;
    json_t *fresh;
    if (spec->refresh || spec->fresh == JWTX_FRESH_FALSE) {
        fresh = json_false();
    } else if (spec->fresh == JWTX_FRESH_TRUE) {
        fresh = json_true();
    } else {
        if (!isfinite(spec->fresh_for) || fabs(spec->fresh_for) > 1e12) {
            jwtx_error_set(err, JWTX_ERR_INTERNAL, "fresh_for out of range");
            goto done;
        }
        /* datetime.timestamp(now + timedelta): whole microseconds / 1e6. */
        long long until_us = now_us + llround(spec->fresh_for * 1e6);
        fresh = json_real((double)until_us / 1e6);
    }
    char jti[37], csrf[37] = "";
    if (jwtx_uuid4(jti) != 0) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "no randomness for the token id");
        goto done;
    }
    const char *claim = cfg->identity_claim ? cfg->identity_claim : "sub";
    if (set_new(claims, "fresh", fresh) != 0 || set_new(claims, "iat", json_integer(iat)) != 0 ||
        set_new(claims, "jti", json_string(jti)) != 0)
        goto oom;
    /* jwtx's session family, right after jti; only when asked for, so every
     * other token keeps the reference layout byte for byte. */
    if (spec->family != NULL && set_new(claims, "fam", json_string_nocheck(spec->family)) != 0)
        goto oom;
    if (set_new(claims, "type", json_string(spec->refresh ? "refresh" : "access")) != 0 ||
        set_new(claims, claim, json_stringn_nocheck(identity, strlen(identity))) != 0)
        goto oom;
    if (cfg->encode_nbf && set_new(claims, "nbf", json_integer(iat)) != 0)
        goto oom;
    if (cfg->cookie_csrf_protect) {
        if (jwtx_uuid4(csrf) != 0) {
            jwtx_error_set(err, JWTX_ERR_INTERNAL, "no randomness for the CSRF value");
            goto done;
        }
        if (set_new(claims, "csrf", json_string(csrf)) != 0)
            goto oom;
    }
    if (py_truthy(cfg->encode_audience) &&
        json_object_set(claims, "aud", cfg->encode_audience) != 0)
        goto oom;
    if (cfg->encode_issuer && cfg->encode_issuer[0] &&
        set_new(claims, "iss", json_string_nocheck(cfg->encode_issuer)) != 0)
        goto oom;
    const jwtx_duration *def = spec->refresh ? &cfg->refresh_expires : &cfg->access_expires;
    bool has_exp = false;
    long long delta = 0;
    if (spec->expires == JWTX_EXPIRES_SECONDS) {
        has_exp = spec->expires_seconds != 0; /* timedelta(0) is falsy */
        delta = spec->expires_seconds;
    } else if (spec->expires == JWTX_EXPIRES_DEFAULT) {
        has_exp = !def->never && def->seconds != 0;
        delta = def->seconds;
    }
    if (spec->expires == JWTX_EXPIRES_AT) {
        if (spec->expires_at <= 0 || spec->expires_at > 1000000000000000LL) {
            jwtx_error_set(err, JWTX_ERR_INTERNAL, "expiry out of range");
            goto done;
        }
        if (set_new(claims, "exp", json_integer(spec->expires_at)) != 0)
            goto oom;
    } else if (has_exp) {
        if (delta > 1000000000000LL || delta < -1000000000000LL) {
            jwtx_error_set(err, JWTX_ERR_INTERNAL, "expiry out of range");
            goto done;
        }
        if (set_new(claims, "exp", json_integer(floor_div(now_us + delta * 1000000, 1000000))) !=
            0)
            goto oom;
    }
    /* Additional claims override in place; new ones go at the end. */
    if (spec->claims && json_object_update(claims, (json_t *)spec->claims) != 0)
        goto oom;
    /* ...but never the family: ours is set again over an additional "fam"
     * (a users claims file cannot move a token into another session). The
     * key keeps its place after jti. */
    if (spec->family != NULL && spec->claims != NULL &&
        json_object_get(spec->claims, "fam") != NULL &&
        set_new(claims, "fam", json_string_nocheck(spec->family)) != 0)
        goto oom;

    if (jwtx_json_dump(claims, 0, &payload) != 0)
        goto oom;
    if (jwtx_jws_compact_sign(header, payload.data, payload.len, alg,
                              cfg->keys ? jwtx_keyset_signing(cfg->keys) : NULL, out, err) != 0)
        goto done;

    if (issued) {
        memset(issued, 0, sizeof *issued);
        /* From the final claims: extra claims may have replaced ours. */
        json_t *v = json_object_get(claims, "jti");
        if (json_is_string(v) && json_string_length(v) < sizeof issued->jti)
            memcpy(issued->jti, json_string_value(v), json_string_length(v) + 1);
        v = json_object_get(claims, "csrf");
        if (json_is_string(v) && json_string_length(v) < sizeof issued->csrf)
            memcpy(issued->csrf, json_string_value(v), json_string_length(v) + 1);
        double d;
        if ((v = json_object_get(claims, "iat")) != NULL && numeric_date(v, &d) == 0 && fabs(d) < 9e18)
            issued->iat = (long long)d;
        if ((v = json_object_get(claims, "exp")) != NULL && numeric_date(v, &d) == 0 && fabs(d) < 9e18) {
            issued->has_exp = true;
            issued->exp = (long long)d;
        }
    }
    OPENSSL_cleanse(csrf, sizeof csrf);
    rc = 0;
    goto done;
oom:
    jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
done:
    json_decref(header);
    json_decref(claims);
    jwtx_buf_clear(&payload);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

void jwtx_token_clear(jwtx_token *tok)
{
    if (tok == NULL)
        return;
    json_decref(tok->header);
    json_decref(tok->claims);
    tok->header = NULL;
    tok->claims = NULL;
}

/* PyJWT's aud check for a configured audience list. */
static int check_aud(const jwtx_config *cfg, const json_t *claims, jwtx_error *err)
{
    json_t *aud = json_object_get(claims, "aud");
    if (!py_truthy(aud))
        return jwtx_error_set(err, JWTX_ERR_AUD_MISSING, NULL);
    if (json_is_string(aud))
        return strlist_has(&cfg->decode_audience, aud) ? 0
                                                       : jwtx_error_set(err, JWTX_ERR_AUD_MISMATCH,
                                                                        NULL);
    if (!json_is_array(aud))
        return jwtx_error_set(err, JWTX_ERR_AUD_FORMAT, NULL);
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a) {
        if (!json_is_string(a))
            return jwtx_error_set(err, JWTX_ERR_AUD_FORMAT, NULL);
    }
    json_array_foreach(aud, i, a) {
        if (strlist_has(&cfg->decode_audience, a))
            return 0;
    }
    return jwtx_error_set(err, JWTX_ERR_AUD_MISMATCH, NULL);
}

/* compare_digest(claim, value): both must be ASCII (Python raises TypeError
 * otherwise, which jwtx answers as a mismatch) and equal. */
static bool csrf_matches(const json_t *claim, const char *value, size_t len)
{
    if (!json_is_string(claim) || value == NULL || len == 0)
        return false;
    const char *c = json_string_value(claim);
    size_t clen = json_string_length(claim);
    bool ascii = true;
    for (size_t i = 0; i < clen; i++)
        ascii &= (unsigned char)c[i] < 0x80;
    for (size_t i = 0; i < len; i++)
        ascii &= (unsigned char)value[i] < 0x80;
    if (!ascii || clen != len)
        return false;
    return CRYPTO_memcmp(c, value, len) == 0;
}

static int check_claims(const jwtx_config *cfg, const jwtx_decode_opts *opts, json_t *claims,
                        bool *expired, jwtx_error *err)
{
    double now = jwtx_now();
    double leeway = (double)cfg->decode_leeway;
    double v;
    json_t *c;

    if ((c = json_object_get(claims, "iat")) != NULL) {
        if (numeric_date(c, &v) != 0)
            return jwtx_error_set(err, JWTX_ERR_IAT_NOT_INT, NULL);
        if (v > now + leeway)
            return jwtx_error_set(err, JWTX_ERR_IAT_FUTURE, NULL);
    }
    if ((c = json_object_get(claims, "nbf")) != NULL) {
        if (numeric_date(c, &v) != 0)
            return jwtx_error_set(err, JWTX_ERR_NBF_NOT_INT, NULL);
        if (v > now + leeway)
            return jwtx_error_set(err, JWTX_ERR_NBF_FUTURE, NULL);
    }
    if ((c = json_object_get(claims, "exp")) != NULL) {
        if (numeric_date(c, &v) != 0)
            return jwtx_error_set(err, JWTX_ERR_EXP_NOT_INT, NULL);
        /* Deferred: FJE re-runs everything with the exp check off first. */
        if (v <= now - leeway)
            *expired = true;
    }
    if (cfg->decode_issuer_set) {
        c = json_object_get(claims, "iss");
        if (c == NULL)
            return jwtx_error_set(err, JWTX_ERR_ISS_MISSING, NULL);
        if (!json_is_string(c))
            return jwtx_error_set(err, JWTX_ERR_ISS_NOT_STRING, NULL);
        if (!strlist_has(&cfg->decode_issuer, c))
            return jwtx_error_set(err, JWTX_ERR_ISS_INVALID, NULL);
    }
    if (cfg->decode_audience_set && check_aud(cfg, claims, err) != 0)
        return -1;
    if (cfg->verify_sub && (c = json_object_get(claims, "sub")) != NULL && !json_is_string(c))
        return jwtx_error_set(err, JWTX_ERR_SUB_NOT_STRING, NULL);
    if ((c = json_object_get(claims, "jti")) != NULL && !json_is_string(c))
        return jwtx_error_set(err, JWTX_ERR_JTI_NOT_STRING, NULL);

    const char *idc = cfg->identity_claim ? cfg->identity_claim : "sub";
    if ((c = json_object_get(claims, idc)) == NULL)
        return jwtx_error_set(err, JWTX_ERR_MISSING_CLAIM, "Missing claim: %s", idc);
    /* Not in FJE: an identity with U+0000 would be cut short by every C
     * string it travels in (CGI, FastCGI, the users file), naming another
     * user ("bob\u0000x" would be "bob"). Refused like the claim errors
     * around it, so before expiry. */
    if (json_is_string(c) && memchr(json_string_value(c), '\0', json_string_length(c)) != NULL)
        return jwtx_error_set(err, JWTX_ERR_IDENTITY_NUL, NULL);
    if (json_object_get(claims, "type") == NULL &&
        json_object_set_new(claims, "type", json_string("access")) != 0)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
    if (json_object_get(claims, "fresh") == NULL &&
        json_object_set_new(claims, "fresh", json_false()) != 0)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
    if (json_object_get(claims, "jti") == NULL &&
        json_object_set_new(claims, "jti", json_null()) != 0)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");

    if (opts && opts->check_csrf) {
        c = json_object_get(claims, "csrf");
        if (c == NULL)
            return jwtx_error_set(err, JWTX_ERR_MISSING_CLAIM, "Missing claim: csrf");
        if (!csrf_matches(c, opts->csrf, opts->csrf_len))
            return jwtx_error_set(err, JWTX_ERR_CSRF_MISMATCH, NULL);
    }
    return 0;
}

int jwtx_token_decode(const jwtx_config *cfg, const char *token, size_t len,
                      const jwtx_decode_opts *opts, jwtx_token *out, jwtx_error *err)
{
    if (cfg == NULL || out == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "tokens: bad arguments to decode");
    if (token == NULL)
        return jwtx_error_set(err, JWTX_ERR_TOKEN_TYPE, NULL);
    /* No token jwtx issues comes near this size, so none can verify. */
    if (len > JWTX_TOKEN_MAX)
        return jwtx_error_set(err, JWTX_ERR_SIGNATURE, NULL);

    jwtx_jws_parts parts = {0};
    if (jwtx_jws_compact_verify(cfg, token, len, &parts, err) != 0)
        return -1;

    int rc = -1;
    char why[256] = "";
    json_t *claims = jwtx_json_parse((const char *)parts.payload, parts.payload_len, why,
                                     sizeof why);
    if (claims == NULL) {
        jwtx_error_set(err, JWTX_ERR_PAYLOAD_STRING, "Invalid payload string: %s",
                       why[0] ? why : "Expecting value: line 1 column 1 (char 0)");
        goto done;
    }
    if (!json_is_object(claims)) {
        jwtx_error_set(err, JWTX_ERR_PAYLOAD_STRING, "Invalid payload string: must be a json object");
        goto done;
    }
    bool expired = false;
    if (check_claims(cfg, opts, claims, &expired, err) != 0)
        goto done;
    if (expired && !(opts && opts->allow_expired)) {
        jwtx_error_set(err, JWTX_ERR_EXPIRED, NULL);
        goto done;
    }
    out->header = parts.header;
    out->claims = claims;
    parts.header = NULL;
    claims = NULL;
    rc = 0;
done:
    json_decref(claims);
    jwtx_jws_parts_clear(&parts);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */

/* A string claim as a C string; NULL when absent, not a string, or holding
 * a NUL: a value cut at its NUL would compare equal to another one
 * ("refresh\u0000x" is not "refresh", "a\u0000b" is not the jti "a"). */
static const char *claim_string(const jwtx_token *tok, const char *name)
{
    if (tok == NULL || tok->claims == NULL)
        return NULL;
    const json_t *v = json_object_get(tok->claims, name);
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v))
        return NULL;
    return s;
}

const char *jwtx_token_identity(const jwtx_config *cfg, const jwtx_token *tok)
{
    return claim_string(tok, cfg && cfg->identity_claim ? cfg->identity_claim : "sub");
}

const char *jwtx_token_type(const jwtx_token *tok)
{
    return claim_string(tok, "type");
}

const char *jwtx_token_jti(const jwtx_token *tok)
{
    return claim_string(tok, "jti");
}

const char *jwtx_token_family(const jwtx_token *tok, bool *bad)
{
    bool present = tok != NULL && tok->claims != NULL && json_object_get(tok->claims, "fam");
    const char *f = claim_string(tok, "fam");
    bool b = present && (f == NULL || f[0] == '\0');
    if (bad != NULL)
        *bad = b;
    return b ? NULL : f;
}

static bool claim_int(const jwtx_token *tok, const char *name, long long *out)
{
    if (tok == NULL || tok->claims == NULL)
        return false;
    json_t *c = json_object_get(tok->claims, name);
    double d;
    if (c == NULL || numeric_date(c, &d) != 0)
        return false;
    /* Clamp what no long long holds; such values are far past any now. */
    if (d >= 9.2e18)
        d = 9.2e18;
    if (d <= -9.2e18)
        d = -9.2e18;
    if (out)
        *out = (long long)d;
    return true;
}

bool jwtx_token_exp(const jwtx_token *tok, long long *exp)
{
    return claim_int(tok, "exp", exp);
}

bool jwtx_token_iat(const jwtx_token *tok, long long *iat)
{
    return claim_int(tok, "iat", iat);
}

bool jwtx_token_is_fresh(const jwtx_token *tok, double now)
{
    if (tok == NULL || tok->claims == NULL)
        return false;
    json_t *f = json_object_get(tok->claims, "fresh");
    if (json_is_boolean(f))
        return json_is_true(f);
    if (json_is_integer(f))
        return !((double)json_integer_value(f) < now);
    if (json_is_real(f)) {
        /* Python would call NaN fresh (nan < now is False); a NaN can only
         * come from a misconfigured claim, so jwtx denies it. */
        double d = json_real_value(f);
        return !isnan(d) && !(d < now);
    }
    return false; /* strings, null, arrays, objects: spec/README.md point 2 */
}
