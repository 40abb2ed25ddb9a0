/*
 * tokens.h — creating and decoding access and refresh tokens.
 *
 * Creation writes exactly the layout of Flask-JWT-Extended's
 * create_access_token / create_refresh_token (spec section 2): header
 * {"alg":..,"typ":"JWT"} sorted, claims fresh, iat, jti, type, <identity>,
 * nbf, csrf, aud, iss, exp, then additional claims (overriding in place).
 * With a session family (JWTX_REFRESH_ROTATION, a jwtx extension) the claim
 * "fam" follows jti; without one the layout is exactly the reference's.
 * Decoding runs the pipeline of spec section 3 (steps 3-11) with the
 * deliberate differences of spec/README.md: signature before payload,
 * strict base64url, no 500 on client input, and "Token has expired" reported
 * only when every other check passes.
 */
#ifndef JWTX_TOKENS_H
#define JWTX_TOKENS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/json.h"

typedef enum jwtx_fresh_mode {
    JWTX_FRESH_FALSE = 0,
    JWTX_FRESH_TRUE,
    JWTX_FRESH_FOR /* fresh until now + fresh_for seconds, written as a float */
} jwtx_fresh_mode;

typedef enum jwtx_expires_mode {
    JWTX_EXPIRES_DEFAULT = 0, /* JWT_ACCESS/REFRESH_TOKEN_EXPIRES */
    JWTX_EXPIRES_NEVER,       /* expires_delta=False: no exp */
    JWTX_EXPIRES_SECONDS,     /* expires_delta=timedelta(seconds); 0 means no exp */
    JWTX_EXPIRES_AT           /* exp = expires_at exactly (a rotated refresh token keeps the
                                 presented one's exp; jwtx only) */
} jwtx_expires_mode;

/* Arguments of create_access_token / create_refresh_token. Zeroed = an
 * access token, not fresh, default expiry, no extras. */
typedef struct jwtx_token_spec {
    bool refresh;
    jwtx_fresh_mode fresh; /* ignored for refresh tokens (always false) */
    double fresh_for;      /* seconds, with JWTX_FRESH_FOR */
    jwtx_expires_mode expires;
    long long expires_seconds;
    long long expires_at;  /* with JWTX_EXPIRES_AT: the exp claim, seconds since the epoch */
    const char *family;    /* the session family: claim "fam" right after "jti", set over
                              any additional "fam"; NULL: no fam claim (the reference layout) */
    const json_t *claims;  /* additional claims object, borrowed, may be NULL */
    const json_t *headers; /* additional JOSE headers object, borrowed, may be NULL */
} jwtx_token_spec;

/* What was issued, for cookies and the blocklist. */
typedef struct jwtx_issued {
    char jti[64];
    char csrf[64];  /* "" when JWT_COOKIE_CSRF_PROTECT is off */
    long long iat;
    bool has_exp;
    long long exp;
} jwtx_issued;

/* Creates a token for identity (a JSON string claim). Appends the compact
 * token to out and fills *issued (may be NULL). Returns 0, or -1 with err set
 * (bad extra header such as a non-string kid, signing failure). */
int jwtx_token_create(const jwtx_config *cfg, const char *identity, const jwtx_token_spec *spec,
                      jwtx_buf *out, jwtx_issued *issued, jwtx_error *err);

/* Options of decode_token. */
typedef struct jwtx_decode_opts {
    bool allow_expired;
    bool check_csrf;   /* a CSRF value was extracted: compare it with the csrf claim */
    const char *csrf;  /* the value (need not be NUL-terminated) */
    size_t csrf_len;
} jwtx_decode_opts;

/* A verified token; _clear releases it. */
typedef struct jwtx_token {
    json_t *header; /* verified JOSE header (new reference) */
    json_t *claims; /* verified payload, defaults filled: type, fresh, jti */
} jwtx_token;

void jwtx_token_clear(jwtx_token *tok);

/* Decodes and verifies a token (spec section 3, steps 3-11). Returns 0 and
 * fills *out, or -1 with err set to the exact outcome and message. */
int jwtx_token_decode(const jwtx_config *cfg, const char *token, size_t len,
                      const jwtx_decode_opts *opts, jwtx_token *out, jwtx_error *err)
    __attribute__((warn_unused_result));

/* Claim accessors on a decoded token (borrowed; NULL when absent, not a
 * string, or holding a NUL character, which a C string would cut short). */
const char *jwtx_token_identity(const jwtx_config *cfg, const jwtx_token *tok);
const char *jwtx_token_type(const jwtx_token *tok);
const char *jwtx_token_jti(const jwtx_token *tok);
/* The session family ("fam"): NULL when absent; *bad (may be NULL) is set
 * when the claim is there but not a non-empty string without NUL (never
 * issued by jwtx: with rotation on such a token is revoked). */
const char *jwtx_token_family(const jwtx_token *tok, bool *bad);
/* exp as integer seconds; false when the token has none. */
bool jwtx_token_exp(const jwtx_token *tok, long long *exp);
/* iat as integer seconds; false when absent. */
bool jwtx_token_iat(const jwtx_token *tok, long long *iat);
/* The fresh check of step 14: true when fresh at `now`. */
bool jwtx_token_is_fresh(const jwtx_token *tok, double now);

/* Clock and randomness. Tests replace them for byte-exact layouts; NULL
 * restores the defaults (gettimeofday, RAND_bytes). Process-wide. */
typedef double (*jwtx_clock_fn)(void);
typedef int (*jwtx_random_fn)(unsigned char *buf, size_t n);
void jwtx_tokens_set_sources(jwtx_clock_fn clock, jwtx_random_fn rnd);
/* Current time in float seconds from the configured clock. */
double jwtx_now(void);
/* A new random UUID4, lowercase hyphenated, into out[37]. */
int jwtx_uuid4(char out[37]);

#endif
