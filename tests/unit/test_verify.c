/*
 * test_verify.c — jwt_required() as jwtx_verify_request runs it: OPTIONS
 * exempt, optional routes anonymous only for "no token" outcomes (the
 * NoAuthorizationError family), the step order of spec section 3 (type,
 * fresh, revocation, required claims, user lookup) including its "Confirmed
 * order examples", skip_revocation_check, verify_type, JWTX_USER_LOOKUP,
 * a revocation store that cannot answer (503, never a pass) and required
 * claims (equal, array contains, mismatch).
 *
 * Tokens are minted with a fixed clock and a counting random source, so
 * every jti is distinct and every time is known. The users file and the
 * SQLite revocation store live in a mkdtemp directory under /tmp, removed
 * at the end.
 */
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu.h"
#include "jwtx/blocklist.h"
#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/json.h"
#include "jwtx/locate.h"
#include "jwtx/request.h"
#include "jwtx/tokens.h"
#include "jwtx/users.h"
#include "jwtx/verify.h"

#define NOW 1700000000.0
#define SECRET "verify-test-secret-0123456789-abcdefghijklmnop"
#define MISSING_BOTH                                                                               \
    "Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "             \
    "\"access_token_cookie\")"

/* ------------------------------------------------------------ fixture */

static char tmpdir[64];
static char users_path[128];
static double fixed_now = NOW;
static unsigned counter;

static double test_clock(void)
{
    return fixed_now;
}

/* Byte k of the stream is k mod 256, then the count goes on: distinct jtis. */
static int test_random(unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(counter ^ (counter >> 8));
        counter++;
    }
    return 0;
}

static jwtx_users *users;    /* alice, bob */
static jwtx_blocklist *bl;   /* sqlite in tmpdir */
static jwtx_blocklist *down; /* a store that never answers */
static jwtx_blocklist *gone; /* sqlite in a directory that does not exist */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jwtx-verify-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    jwtx_tokens_set_sources(test_clock, test_random);
    snprintf(users_path, sizeof users_path, "%s/users.htpasswd", tmpdir);
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_users_set_password(users_path, "alice", "wonderland", 4, &err) != 0 ||
        jwtx_users_set_password(users_path, "bob", "builder", 4, &err) != 0 ||
        jwtx_users_open(users_path, NULL, NULL, NULL, &users, &err) != 0) {
        fprintf(stderr, "setup: %s\n", jwtx_error_message(&err));
        return 1;
    }
    char url[160];
    snprintf(url, sizeof url, "sqlite:%s/bl.sqlite", tmpdir);
    if (jwtx_blocklist_open_url(url, NULL, 250, 0, &bl, &err) != 0 ||
        jwtx_blocklist_init(bl, NULL) != 0) /* as the installer does */
        return 1;
    if (jwtx_blocklist_open_url("redis://127.0.0.1:1", NULL, 50, 0, &down, &err) != 0)
        return 1;
    snprintf(url, sizeof url, "sqlite:%s/gone/sub/bl.sqlite", tmpdir);
    if (jwtx_blocklist_open_url(url, NULL, 50, 0, &gone, &err) != 0)
        return 1;
    return 0;
}

static int teardown(void)
{
    jwtx_blocklist_free(bl);
    jwtx_blocklist_free(down);
    jwtx_blocklist_free(gone);
    jwtx_users_free(users);
    jwtx_tokens_set_sources(NULL, NULL);
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ------------------------------------------------------------ helpers */

static int load_cfg(jwtx_config *cfg, const char *extra)
{
    char text[4096];
    snprintf(text, sizeof text,
             "JWT_SECRET_KEY = '" SECRET "'\nJWT_TOKEN_LOCATION = ['headers', 'cookies']\n%s",
             extra ? extra : "");
    jwtx_config_error e;
    int rc = jwtx_config_load_string("verify.conf", text, strlen(text), cfg, &e, NULL, NULL);
    if (rc != 0) {
        char buf[1024];
        fprintf(stderr, "\n  config: %s\n", jwtx_config_error_format(&e, buf, sizeof buf));
    }
    return rc;
}

/* The base config, and one with JWTX_USER_LOOKUP on the temp users file. */
static int load_lookup_cfg(jwtx_config *cfg)
{
    char extra[512];
    snprintf(extra, sizeof extra, "JWTX_USER_LOOKUP = True\nJWTX_USERS_FILE = '%s'\n", users_path);
    return load_cfg(cfg, extra);
}

enum { ACCESS, ACCESS_FRESH, REFRESH };

/* A token minted at `at` (then the clock is back at NOW). Caller frees. */
static char *mint(const jwtx_config *cfg, const char *identity, int kind, double at,
                  const char *claims_json, jwtx_issued *is)
{
    jwtx_token_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.refresh = kind == REFRESH;
    spec.fresh = kind == ACCESS_FRESH ? JWTX_FRESH_TRUE : JWTX_FRESH_FALSE;
    json_t *claims = claims_json ? json_loads(claims_json, 0, NULL) : NULL;
    spec.claims = claims;
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    jwtx_error_clear(&err);
    jwtx_issued tmp;
    double saved = fixed_now;
    fixed_now = at;
    int rc = jwtx_token_create(cfg, identity, &spec, &out, is ? is : &tmp, &err);
    fixed_now = saved;
    json_decref(claims);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return out.data; /* the buffer's string; jwtx_buf_clear would free the same */
}

/* A request: method, then NAME, VALUE pairs up to NULL. */
static void mkreq(jwtx_request *r, const char *method, const char *const *kv)
{
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(r), 0);
    CU_ASSERT_EQUAL_FATAL(jwtx_request_set_param(r, "REQUEST_METHOD", method), 0);
    CU_ASSERT_EQUAL_FATAL(jwtx_request_set_param(r, "REQUEST_URI", "/protected"), 0);
    for (size_t i = 0; kv && kv[i]; i += 2)
        CU_ASSERT_EQUAL_FATAL(jwtx_request_set_param(r, kv[i], kv[i + 1]), 0);
}

/* A request carrying tok in the Authorization header (tok NULL: nothing). */
static void req_bearer(jwtx_request *r, const char *method, const char *tok)
{
    char hdr[4096];
    snprintf(hdr, sizeof hdr, "Bearer %s", tok ? tok : "");
    const char *kv[] = {"HTTP_AUTHORIZATION", hdr, NULL};
    mkreq(r, method, tok ? kv : NULL);
}

/* What a check should end with: code JWTX_OK = success. */
typedef struct vexp {
    jwtx_err code;
    const char *msg;      /* failure message */
    bool anonymous;       /* success: anonymous? */
    jwtx_location where;  /* success: location */
    const char *identity; /* success: identity text ("" when anonymous) */
} vexp;

static void expect_verify(const jwtx_config *cfg, jwtx_blocklist *b, jwtx_users *u,
                          const jwtx_request *r, const jwtx_route_opts *o, const vexp *e,
                          const char *label)
{
    jwtx_verified v;
    memset(&v, 0, sizeof v);
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_verify_request(cfg, b, u, r, o, &v, &err);
    if (e->code == JWTX_OK) {
        if (rc != 0)
            fprintf(stderr, "\n  [%s] expected a pass, got %s: %s\n", label,
                    jwtx_err_name(err.code), jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(v.anonymous, e->anonymous);
            CU_ASSERT_EQUAL(v.where, e->where);
            JWTX_ASSERT_STR(jwtx_verified_identity(&v), e->identity);
            if (e->anonymous) {
                CU_ASSERT_PTR_NULL(v.token.claims);
                CU_ASSERT_PTR_NULL(v.token.header);
            } else {
                CU_ASSERT_PTR_NOT_NULL(v.token.claims);
                CU_ASSERT_PTR_NOT_NULL(v.token.header);
            }
        }
    } else {
        if (rc != -1 || err.code != e->code || strcmp(jwtx_error_message(&err), e->msg) != 0)
            fprintf(stderr, "\n  [%s] expected %s [%s]\n  got rc %d %s [%s]\n", label,
                    jwtx_err_name(e->code), e->msg, rc, jwtx_err_name(err.code),
                    jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(err.code, e->code);
        JWTX_ASSERT_STR(jwtx_error_message(&err), e->msg);
        /* outputs are written only on success */
        CU_ASSERT_PTR_NULL(v.token.claims);
        CU_ASSERT_PTR_NULL(v.token.header);
        CU_ASSERT_FALSE(v.anonymous);
    }
    jwtx_verified_clear(&v);
}

static void revoke_tok(const jwtx_issued *is)
{
    CU_ASSERT_EQUAL_FATAL(jwtx_blocklist_revoke(bl, is->jti, is->has_exp, is->exp, (long long)NOW),
                          0);
}

/* ------------------------------------------------------------ OPTIONS */

static void test_options_exempt(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_lookup_cfg(&cfg), 0);
    char *expired = mint(&cfg, "ghost", REFRESH, NOW - 4000000, NULL, NULL);
    static const struct {
        const char *method;
        const char *auth; /* NULL = none; "*" = the expired refresh token of a ghost */
        bool fresh, refresh, optional;
    } rows[] = {
        {"OPTIONS", NULL, false, false, false},
        {"OPTIONS", NULL, true, false, false},
        {"OPTIONS", NULL, false, true, false},
        {"OPTIONS", NULL, false, false, true},
        {"OPTIONS", "Bearer", false, false, false},
        {"OPTIONS", "Bearer not.a.token", true, false, false},
        {"OPTIONS", "*", true, false, false},
        {"options", NULL, false, false, false}, /* REQUEST_METHOD is upper-cased */
    };
    vexp anon = {JWTX_OK, NULL, true, JWTX_LOC_NONE, ""};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char hdr[4096];
        if (rows[i].auth && strcmp(rows[i].auth, "*") == 0)
            snprintf(hdr, sizeof hdr, "Bearer %s", expired);
        else
            snprintf(hdr, sizeof hdr, "%s", rows[i].auth ? rows[i].auth : "");
        const char *kv[] = {"HTTP_AUTHORIZATION", hdr, NULL};
        jwtx_request r;
        mkreq(&r, rows[i].method, rows[i].auth ? kv : NULL);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        o.fresh = rows[i].fresh;
        o.refresh = rows[i].refresh;
        o.optional = rows[i].optional;
        char label[32];
        snprintf(label, sizeof label, "options row %zu", i);
        /* the unavailable store and an absent users handle are never asked */
        expect_verify(&cfg, down, NULL, &r, &o, &anon, label);
        jwtx_route_opts_clear(&o);
        jwtx_request_clear(&r);
    }
    /* the same requests as GET are checked */
    jwtx_request r;
    mkreq(&r, "GET", NULL);
    jwtx_route_opts o;
    jwtx_route_opts_init(&o);
    vexp miss = {JWTX_ERR_MISSING_JWT, MISSING_BOTH, false, 0, NULL};
    expect_verify(&cfg, down, NULL, &r, &o, &miss, "GET without token");
    jwtx_request_clear(&r);
    free(expired);
    jwtx_config_clear(&cfg);
}

/* ------------------------------------------------------------ optional */

static void test_optional_only_no_auth(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, NULL), 0);
    jwtx_issued is;
    char *tok = mint(&cfg, "alice", ACCESS, NOW, NULL, &is);
    char *rtok = mint(&cfg, "alice", REFRESH, NOW, NULL, NULL);
    char *old = mint(&cfg, "alice", ACCESS, NOW - 1000, NULL, NULL);
    char bearer[2048], rbearer[2048], oldb[2048], cookie[2048];
    snprintf(bearer, sizeof bearer, "Bearer %s", tok);
    snprintf(rbearer, sizeof rbearer, "Bearer %s", rtok);
    snprintf(oldb, sizeof oldb, "Bearer %s", old);
    snprintf(cookie, sizeof cookie, "access_token_cookie=%s; csrf_access_token=%s", tok, is.csrf);

    static const char *const nothing[] = {NULL};
    const char *const basic[] = {"HTTP_AUTHORIZATION", "Basic YWxpY2U6eA==", NULL};
    const char *const empty_hdr[] = {"HTTP_AUTHORIZATION", "", NULL};
    const char *const other_cookie[] = {"HTTP_COOKIE", "session=abc", NULL};
    const char *const bad_hdr[] = {"HTTP_AUTHORIZATION", "Bearer", NULL};
    const char *const segs[] = {"HTTP_AUTHORIZATION", "Bearer abc", NULL};
    const char *const sig[] = {"HTTP_AUTHORIZATION", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA", NULL};
    const char *const expired[] = {"HTTP_AUTHORIZATION", oldb, NULL};
    const char *const ref[] = {"HTTP_AUTHORIZATION", rbearer, NULL};
    const char *const good[] = {"HTTP_AUTHORIZATION", bearer, NULL};
    const char *const ck_get[] = {"HTTP_COOKIE", cookie, NULL};
    const char *const ck_post_nocsrf[] = {"HTTP_COOKIE", cookie, NULL};
    const char *const ck_post_bad[] = {"HTTP_COOKIE", cookie, "HTTP_X_CSRF_TOKEN", "nope", NULL};
    const char *const ck_post_ok[] = {"HTTP_COOKIE", cookie, "HTTP_X_CSRF_TOKEN", is.csrf, NULL};

    const struct {
        const char *label;
        const char *method;
        const char *const *kv;
        vexp optional;            /* on an optional route */
        jwtx_err required;        /* code on a required route (JWTX_OK: same pass) */
        const char *required_msg; /* its message when the optional route was anonymous */
    } rows[] = {
        {"no token",
         "GET",
         nothing,
         {JWTX_OK, NULL, true, JWTX_LOC_NONE, ""},
         JWTX_ERR_MISSING_JWT,
         NULL},
        {"empty header",
         "GET",
         empty_hdr,
         {JWTX_OK, NULL, true, JWTX_LOC_NONE, ""},
         JWTX_ERR_MISSING_JWT,
         NULL},
        {"other scheme",
         "GET",
         basic,
         {JWTX_OK, NULL, true, JWTX_LOC_NONE, ""},
         JWTX_ERR_MISSING_JWT,
         "Missing JWT in headers or cookies (Missing 'Bearer' type in 'Authorization' header. "
         "Expected 'Authorization: Bearer <JWT>'; Missing cookie \"access_token_cookie\")"},
        {"other cookie",
         "POST",
         other_cookie,
         {JWTX_OK, NULL, true, JWTX_LOC_NONE, ""},
         JWTX_ERR_MISSING_JWT,
         NULL},
        {"bad header",
         "GET",
         bad_hdr,
         {JWTX_ERR_BAD_HEADER, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
          false, 0, NULL},
         JWTX_ERR_BAD_HEADER,
         NULL},
        {"one segment",
         "GET",
         segs,
         {JWTX_ERR_NOT_ENOUGH_SEGMENTS, "Not enough segments", false, 0, NULL},
         JWTX_ERR_NOT_ENOUGH_SEGMENTS,
         NULL},
        {"bad signature",
         "GET",
         sig,
         {JWTX_ERR_SIGNATURE, "Signature verification failed", false, 0, NULL},
         JWTX_ERR_SIGNATURE,
         NULL},
        {"expired",
         "GET",
         expired,
         {JWTX_ERR_EXPIRED, "Token has expired", false, 0, NULL},
         JWTX_ERR_EXPIRED,
         NULL},
        {"refresh token",
         "GET",
         ref,
         {JWTX_ERR_ONLY_NON_REFRESH, "Only non-refresh tokens are allowed", false, 0, NULL},
         JWTX_ERR_ONLY_NON_REFRESH,
         NULL},
        {"cookie POST without CSRF",
         "POST",
         ck_post_nocsrf,
         {JWTX_ERR_CSRF_MISSING, "Missing CSRF token", false, 0, NULL},
         JWTX_ERR_CSRF_MISSING,
         NULL},
        {"cookie POST bad CSRF",
         "POST",
         ck_post_bad,
         {JWTX_ERR_CSRF_MISMATCH, "CSRF double submit tokens do not match", false, 0, NULL},
         JWTX_ERR_CSRF_MISMATCH,
         NULL},
        {"header token",
         "GET",
         good,
         {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "alice"},
         JWTX_OK,
         NULL},
        {"cookie GET",
         "GET",
         ck_get,
         {JWTX_OK, NULL, false, JWTX_LOC_COOKIES, "alice"},
         JWTX_OK,
         NULL},
        {"cookie POST",
         "POST",
         ck_post_ok,
         {JWTX_OK, NULL, false, JWTX_LOC_COOKIES, "alice"},
         JWTX_OK,
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        mkreq(&r, rows[i].method, rows[i].kv);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        o.optional = true;
        expect_verify(&cfg, bl, NULL, &r, &o, &rows[i].optional, rows[i].label);
        o.optional = false;
        vexp req = rows[i].optional;
        if (rows[i].required != JWTX_OK && req.code == JWTX_OK) {
            req.code = rows[i].required;
            req.msg = rows[i].required_msg ? rows[i].required_msg : MISSING_BOTH;
        }
        char label[96];
        snprintf(label, sizeof label, "%s (required)", rows[i].label);
        expect_verify(&cfg, bl, NULL, &r, &o, &req, label);
        jwtx_route_opts_clear(&o);
        jwtx_request_clear(&r);
    }
    free(tok);
    free(rtok);
    free(old);
    jwtx_config_clear(&cfg);
}

/* ------------------------------------------------------------ order */

/* Spec section 3 steps 13-17 and the "Confirmed order examples" that reach
 * the authorization steps. Each row runs with the working store and again
 * with one that cannot answer: steps before revocation must give the same
 * outcome (the store is not asked), later ones become 503. */
static void test_step_order(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_lookup_cfg(&cfg), 0);
    static const char admin[] = "{\"role\": \"admin\"}";
    static const struct {
        const char *label;
        const char *identity;
        int kind;
        double age; /* issued this long before NOW */
        const char *claims;
        bool revoked;
        bool fresh_route, refresh_route;
        const char *require;
        jwtx_err code; /* JWTX_OK = pass */
        const char *msg;
        bool store_asked; /* revocation step reached */
    } rows[] = {
        {"revoked refresh token on an access route", "alice", REFRESH, 0, NULL, true, false, false,
         NULL, JWTX_ERR_ONLY_NON_REFRESH, "Only non-refresh tokens are allowed", false},
        {"revoked access token on a refresh route", "alice", ACCESS_FRESH, 0, NULL, true, false,
         true, NULL, JWTX_ERR_ONLY_REFRESH, "Only refresh tokens are allowed", false},
        {"revoked non-fresh token on a fresh route", "alice", ACCESS, 0, NULL, true, true, false,
         NULL, JWTX_ERR_FRESH_REQUIRED, "Fresh token required", false},
        {"expired and revoked", "alice", ACCESS_FRESH, 1000, NULL, true, false, false, NULL,
         JWTX_ERR_EXPIRED, "Token has expired", false},
        {"revoked, failing claims, unknown user", "ghost", ACCESS, 0, NULL, true, false, false,
         admin, JWTX_ERR_REVOKED, "Token has been revoked", true},
        {"revoked fresh token on a fresh route", "alice", ACCESS_FRESH, 0, NULL, true, true, false,
         NULL, JWTX_ERR_REVOKED, "Token has been revoked", true},
        {"revoked refresh token on a refresh route", "alice", REFRESH, 0, NULL, true, false, true,
         NULL, JWTX_ERR_REVOKED, "Token has been revoked", true},
        {"failing claims, unknown user", "ghost", ACCESS, 0, NULL, false, false, false, admin,
         JWTX_ERR_CLAIMS_VERIFICATION, "User claims verification failed", true},
        {"unknown user", "ghost", ACCESS, 0, "{\"role\": \"admin\"}", false, false, false, admin,
         JWTX_ERR_USER_LOOKUP, "Error loading the user ghost", true},
        {"all good", "alice", ACCESS_FRESH, 0, "{\"role\": \"admin\"}", false, true, false, admin,
         JWTX_OK, NULL, true},
        {"all good, refresh", "bob", REFRESH, 10, NULL, false, false, true, NULL, JWTX_OK, NULL,
         true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_issued is;
        char *tok =
            mint(&cfg, rows[i].identity, rows[i].kind, NOW - rows[i].age, rows[i].claims, &is);
        if (rows[i].revoked)
            revoke_tok(&is);
        jwtx_request r;
        req_bearer(&r, "GET", tok);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        o.fresh = rows[i].fresh_route;
        o.refresh = rows[i].refresh_route;
        o.require_claims = rows[i].require ? json_loads(rows[i].require, 0, NULL) : NULL;
        vexp e = {rows[i].code, rows[i].msg, false, JWTX_LOC_HEADERS, rows[i].identity};
        expect_verify(&cfg, bl, users, &r, &o, &e, rows[i].label);

        vexp d = e;
        if (rows[i].store_asked) {
            d.code = JWTX_ERR_STORE_UNAVAILABLE;
            d.msg = "Token revocation store unavailable";
        }
        char label[128];
        snprintf(label, sizeof label, "%s, store down", rows[i].label);
        expect_verify(&cfg, down, users, &r, &o, &d, label);
        snprintf(label, sizeof label, "%s, store gone", rows[i].label);
        expect_verify(&cfg, gone, users, &r, &o, &d, label);

        /* skip_revocation_check: the store is never asked */
        o.skip_revocation_check = true;
        vexp s = e;
        if (rows[i].code == JWTX_ERR_REVOKED) {
            /* the next failing step, or a pass */
            if (rows[i].require && strcmp(rows[i].identity, "ghost") == 0) {
                s.code = JWTX_ERR_CLAIMS_VERIFICATION;
                s.msg = "User claims verification failed";
            } else {
                s.code = JWTX_OK;
            }
        }
        snprintf(label, sizeof label, "%s, skip revocation check", rows[i].label);
        expect_verify(&cfg, down, users, &r, &o, &s, label);
        expect_verify(&cfg, bl, users, &r, &o, &s, label);

        jwtx_route_opts_clear(&o);
        jwtx_request_clear(&r);
        free(tok);
    }
    jwtx_config_clear(&cfg);
}

/* A store that cannot answer is 503 for every kind of token, never a pass;
 * without a store (NULL) nothing is revoked. */
static void test_store_unavailable(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, NULL), 0);
    jwtx_issued is;
    char *tok = mint(&cfg, "alice", ACCESS, NOW, NULL, &is);
    char *rtok = mint(&cfg, "alice", REFRESH, NOW, NULL, NULL);
    revoke_tok(&is);
    jwtx_blocklist *stores[] = {down, gone};
    vexp unavail = {JWTX_ERR_STORE_UNAVAILABLE, "Token revocation store unavailable", false, 0,
                    NULL};
    for (size_t s = 0; s < 2; s++) {
        for (int k = 0; k < 2; k++) {
            jwtx_request r;
            req_bearer(&r, k ? "POST" : "GET", k ? rtok : tok);
            jwtx_route_opts o;
            jwtx_route_opts_init(&o);
            o.refresh = k == 1;
            o.optional = true; /* optional does not turn 503 into anonymous */
            expect_verify(&cfg, stores[s], NULL, &r, &o, &unavail, s ? "gone" : "down");
            jwtx_route_opts_clear(&o);
            jwtx_request_clear(&r);
        }
    }
    /* no store: the revoked token passes (nothing is ever revoked) */
    jwtx_request r;
    req_bearer(&r, "GET", tok);
    jwtx_route_opts o;
    jwtx_route_opts_init(&o);
    vexp pass = {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "alice"};
    expect_verify(&cfg, NULL, NULL, &r, &o, &pass, "no store");
    vexp rev = {JWTX_ERR_REVOKED, "Token has been revoked", false, 0, NULL};
    expect_verify(&cfg, bl, NULL, &r, &o, &rev, "sqlite store");
    jwtx_request_clear(&r);
    free(tok);
    free(rtok);
    jwtx_config_clear(&cfg);
}

/* "Log out everywhere": a user cut-off revokes tokens issued at or before it. */
static void test_user_cutoff(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, NULL), 0);
    char *before = mint(&cfg, "carol", ACCESS, NOW - 5, NULL, NULL);
    char *at = mint(&cfg, "carol", ACCESS, NOW - 1, NULL, NULL);
    char *after = mint(&cfg, "carol", ACCESS, NOW, NULL, NULL);
    char *other = mint(&cfg, "dave", ACCESS, NOW - 5, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(jwtx_blocklist_revoke_user(bl, "carol", (long long)NOW - 1), 0);
    const struct {
        const char *tok;
        vexp e;
    } rows[] = {
        {before, {JWTX_ERR_REVOKED, "Token has been revoked", false, 0, NULL}},
        {at, {JWTX_ERR_REVOKED, "Token has been revoked", false, 0, NULL}},
        {after, {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "carol"}},
        {other, {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "dave"}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        req_bearer(&r, "GET", rows[i].tok);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        char label[32];
        snprintf(label, sizeof label, "cut-off row %zu", i);
        expect_verify(&cfg, bl, NULL, &r, &o, &rows[i].e, label);
        jwtx_request_clear(&r);
    }
    free(before);
    free(at);
    free(after);
    free(other);
    jwtx_config_clear(&cfg);
}

/* ------------------------------------------------------------ sessions */

#define ROTATION "JWTX_BLOCKLIST = 'sqlite:unused.sqlite'\nJWTX_REFRESH_ROTATION = True\n"
#define FAM_A "aaaaaaaa-0000-4000-8000-000000000001"
#define FAM_B "bbbbbbbb-0000-4000-8000-000000000002"

/* A token of a family (fam NULL: none) minted now. Caller frees. */
static char *mint_fam(const jwtx_config *cfg, const char *identity, int kind, const char *fam,
                      const char *claims_json)
{
    jwtx_token_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.refresh = kind == REFRESH;
    spec.family = fam;
    json_t *claims = claims_json ? json_loads(claims_json, JSON_ALLOW_NUL, NULL) : NULL;
    CU_ASSERT_FATAL(claims_json == NULL || claims != NULL);
    spec.claims = claims;
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    int rc = jwtx_token_create(cfg, identity, &spec, &out, NULL, &err);
    json_decref(claims);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return out.data;
}

static void expect_tok(const jwtx_config *cfg, jwtx_blocklist *b, const char *tok, bool refresh,
                       const vexp *e, const char *label)
{
    jwtx_request r;
    req_bearer(&r, refresh ? "POST" : "GET", tok);
    jwtx_route_opts o;
    jwtx_route_opts_init(&o);
    o.refresh = refresh;
    expect_verify(cfg, b, NULL, &r, &o, e, label);
    jwtx_route_opts_clear(&o);
    jwtx_request_clear(&r);
}

/* JWTX_REFRESH_ROTATION: the family is part of the revocation step; with
 * rotation off a fam claim is never looked up (exactly today's check). */
static void test_family_check(void)
{
    jwtx_config on, off;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&on, ROTATION), 0);
    CU_ASSERT_EQUAL_FATAL(load_cfg(&off, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(
        jwtx_blocklist_family_start(bl, FAM_A, "erin", (long long)NOW, true, (long long)NOW + 999),
        0);
    CU_ASSERT_EQUAL_FATAL(jwtx_blocklist_family_start(bl, FAM_B, "erin", (long long)NOW, false, 0),
                          0);
    char *a = mint_fam(&on, "erin", ACCESS, FAM_A, NULL);
    char *ar = mint_fam(&on, "erin", REFRESH, FAM_A, NULL);
    char *b = mint_fam(&on, "erin", ACCESS, FAM_B, NULL);
    char *plain = mint_fam(&on, "erin", ACCESS, NULL, NULL);
    char *unknown = mint_fam(&on, "erin", ACCESS, "cccccccc-0000-4000-8000-000000000003", NULL);
    char *num = mint_fam(&on, "erin", ACCESS, NULL, "{\"fam\":5}");
    char *empty = mint_fam(&on, "erin", ACCESS, NULL, "{\"fam\":\"\"}");
    char *nul = mint_fam(&on, "erin", ACCESS, NULL, "{\"fam\":\"x\\u0000y\"}");
    char *longf = mint_fam(&on, "erin", ACCESS, NULL, NULL);
    char big[JWTX_BLOCKLIST_FAMILY_MAX + 8];
    memset(big, 'f', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    free(longf);
    longf = mint_fam(&on, "erin", ACCESS, big, NULL);

    vexp pass = {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "erin"};
    vexp rev = {JWTX_ERR_REVOKED, "Token has been revoked", false, 0, NULL};
    vexp unavail = {JWTX_ERR_STORE_UNAVAILABLE, "Token revocation store unavailable", false, 0,
                    NULL};
    /* live families pass, a token from before rotation too */
    expect_tok(&on, bl, a, false, &pass, "live family A");
    expect_tok(&on, bl, ar, true, &pass, "live family A, refresh");
    expect_tok(&on, bl, b, false, &pass, "live family B");
    expect_tok(&on, bl, plain, false, &pass, "no fam claim");
    /* a family the store does not know, and fam claims jwtx never issues */
    expect_tok(&on, bl, unknown, false, &rev, "unknown family");
    expect_tok(&on, bl, num, false, &rev, "fam 5");
    expect_tok(&on, bl, empty, false, &rev, "fam empty");
    expect_tok(&on, bl, nul, false, &rev, "fam with NUL");
    /* too long for the store: it cannot answer for it (never a pass) */
    expect_tok(&on, bl, longf, false, &unavail, "fam too long");
    /* rotation off: none of that is looked at */
    expect_tok(&off, bl, unknown, false, &pass, "off: unknown family");
    expect_tok(&off, bl, num, false, &pass, "off: fam 5");
    expect_tok(&off, bl, longf, false, &pass, "off: fam too long");

    /* ending A revokes every token of A, not B's */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, FAM_A, (long long)NOW), 1);
    expect_tok(&on, bl, a, false, &rev, "ended family A");
    expect_tok(&on, bl, ar, true, &rev, "ended family A, refresh");
    expect_tok(&on, bl, b, false, &pass, "family B unaffected");
    expect_tok(&off, bl, a, false, &pass, "off: ended family not looked up");

    /* the user cut-off still applies with a family */
    char *bnew = mint_fam(&on, "erin", ACCESS, FAM_B, NULL);
    CU_ASSERT_EQUAL_FATAL(jwtx_blocklist_revoke_user(bl, "erin", (long long)NOW), 0);
    expect_tok(&on, bl, bnew, false, &rev, "cut-off with a live family");

    /* a store that cannot answer: 503 with a family, as without */
    jwtx_blocklist *stores[] = {down, gone};
    for (size_t i = 0; i < 2; i++) {
        expect_tok(&on, stores[i], b, false, &unavail, i ? "gone, family" : "down, family");
        expect_tok(&on, stores[i], plain, false, &unavail, i ? "gone, no fam" : "down, no fam");
    }
    free(a);
    free(ar);
    free(b);
    free(bnew);
    free(plain);
    free(unknown);
    free(num);
    free(empty);
    free(nul);
    free(longf);
    jwtx_config_clear(&on);
    jwtx_config_clear(&off);
}

/* ------------------------------------------------------------ type */

static void test_verify_type(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, NULL), 0);
    char *acc = mint(&cfg, "alice", ACCESS, NOW, NULL, NULL);
    char *ref = mint(&cfg, "alice", REFRESH, NOW, NULL, NULL);
    char *custom = mint(&cfg, "alice", ACCESS, NOW, "{\"type\": \"api\"}", NULL);
    vexp pass = {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, "alice"};
    vexp only_non = {JWTX_ERR_ONLY_NON_REFRESH, "Only non-refresh tokens are allowed", false, 0,
                     NULL};
    vexp only_ref = {JWTX_ERR_ONLY_REFRESH, "Only refresh tokens are allowed", false, 0, NULL};
    const struct {
        const char *label;
        const char *tok;
        bool refresh_route, verify_type;
        const vexp *e;
    } rows[] = {
        {"access on access", acc, false, true, &pass},
        {"refresh on access", ref, false, true, &only_non},
        {"access on refresh", acc, true, true, &only_ref},
        {"refresh on refresh", ref, true, true, &pass},
        {"custom type on access", custom, false, true, &pass},
        {"custom type on refresh", custom, true, true, &only_ref},
        {"refresh on access, verify_type off", ref, false, false, &pass},
        {"access on refresh, verify_type off", acc, true, false, &pass},
        {"custom on refresh, verify_type off", custom, true, false, &pass},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        req_bearer(&r, "GET", rows[i].tok);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        CU_ASSERT_TRUE(o.verify_type); /* jwt_required's default */
        o.refresh = rows[i].refresh_route;
        o.verify_type = rows[i].verify_type;
        expect_verify(&cfg, NULL, NULL, &r, &o, rows[i].e, rows[i].label);
        jwtx_request_clear(&r);
    }
    free(acc);
    free(ref);
    free(custom);
    jwtx_config_clear(&cfg);
}

/* ------------------------------------------------------------ user lookup */

static void test_user_lookup(void)
{
    jwtx_config on, off;
    CU_ASSERT_EQUAL_FATAL(load_lookup_cfg(&on), 0);
    CU_ASSERT_EQUAL_FATAL(load_cfg(&off, NULL), 0);
    const struct {
        const char *identity;
        bool with_users;
        jwtx_err on; /* with JWTX_USER_LOOKUP */
        const char *msg;
    } rows[] = {
        {"alice", true, JWTX_OK, NULL},
        {"bob", true, JWTX_OK, NULL},
        {"ghost", true, JWTX_ERR_USER_LOOKUP, "Error loading the user ghost"},
        {"Alice", true, JWTX_ERR_USER_LOOKUP, "Error loading the user Alice"},
        {"alice ", true, JWTX_ERR_USER_LOOKUP, "Error loading the user alice "},
        {"alice", false, JWTX_ERR_USER_LOOKUP, "Error loading the user alice"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *tok = mint(&on, rows[i].identity, ACCESS, NOW, NULL, NULL);
        jwtx_request r;
        req_bearer(&r, "GET", tok);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        jwtx_users *u = rows[i].with_users ? users : NULL;
        vexp e = {rows[i].on, rows[i].msg, false, JWTX_LOC_HEADERS, rows[i].identity};
        expect_verify(&on, NULL, u, &r, &o, &e, rows[i].identity);
        /* lookup off: every identity passes */
        vexp p = {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, rows[i].identity};
        expect_verify(&off, NULL, u, &r, &o, &p, rows[i].identity);
        jwtx_request_clear(&r);
        free(tok);
    }
    /* the 401 of a lookup failure */
    CU_ASSERT_EQUAL(jwtx_err_status(JWTX_ERR_USER_LOOKUP), 401);
    jwtx_config_clear(&on);
    jwtx_config_clear(&off);
}

/* ------------------------------------------------------------ claims */

#define ALICE_CLAIMS                                                                               \
    "{\"role\": \"admin\", \"scopes\": [\"read\", \"write\"], \"level\": 3, \"team\": "            \
    "{\"a\": 1}}"

static void run_claims_rows(const char *const (*rows)[2], size_t n, bool extra_label)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, NULL), 0);
    char *tok = mint(&cfg, "alice", ACCESS_FRESH, NOW, ALICE_CLAIMS, NULL);
    jwtx_request r;
    req_bearer(&r, "GET", tok);
    for (size_t i = 0; i < n; i++) {
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        o.require_claims = json_loads(rows[i][0], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o.require_claims);
        bool ok = strcmp(rows[i][1], "pass") == 0;
        vexp e = {ok ? JWTX_OK : JWTX_ERR_CLAIMS_VERIFICATION,
                  ok ? NULL : "User claims verification failed", false, JWTX_LOC_HEADERS, "alice"};
        char label[160];
        snprintf(label, sizeof label, "%s%s", extra_label ? "locate.h contract: " : "", rows[i][0]);
        expect_verify(&cfg, NULL, NULL, &r, &o, &e, label);
        /* the same answer as the documented matcher of locate.h */
        jwtx_verified v;
        memset(&v, 0, sizeof v);
        jwtx_error err;
        jwtx_route_opts plain;
        jwtx_route_opts_init(&plain);
        if (jwtx_verify_request(&cfg, NULL, NULL, &r, &plain, &v, &err) == 0)
            CU_ASSERT_EQUAL(jwtx_route_claims_match(o.require_claims, v.token.claims), ok);
        jwtx_verified_clear(&v);
        jwtx_route_opts_clear(&o);
    }
    CU_ASSERT_EQUAL(jwtx_err_status(JWTX_ERR_CLAIMS_VERIFICATION), 400);
    jwtx_request_clear(&r);
    free(tok);
    jwtx_config_clear(&cfg);
}

static void test_required_claims(void)
{
    static const char *const rows[][2] = {
        {"{}", "pass"},
        {"{\"role\": \"admin\"}", "pass"},
        {"{\"role\": \"user\"}", "fail"},
        {"{\"role\": \"Admin\"}", "fail"},
        {"{\"role\": [\"admin\"]}", "fail"}, /* a string claim never holds an array */
        {"{\"scopes\": \"read\"}", "pass"},  /* array contains */
        {"{\"scopes\": \"write\"}", "pass"},
        {"{\"scopes\": \"delete\"}", "fail"},
        {"{\"scopes\": [\"read\", \"write\"]}", "pass"}, /* equal */
        {"{\"level\": 3}", "pass"},
        {"{\"level\": \"3\"}", "fail"},
        {"{\"level\": 4}", "fail"},
        {"{\"team\": {\"a\": 1}}", "pass"},
        {"{\"team\": {\"a\": 2}}", "fail"},
        {"{\"missing\": \"x\"}", "fail"},
        {"{\"missing\": null}", "fail"},
        {"{\"sub\": \"alice\"}", "pass"},
        {"{\"fresh\": true}", "pass"},
        {"{\"type\": \"access\"}", "pass"},
        {"{\"role\": \"admin\", \"scopes\": \"write\", \"level\": 3}", "pass"},
        {"{\"role\": \"admin\", \"scopes\": \"nope\"}", "fail"},
        {"{\"scopes\": \"read\", \"role\": \"user\"}", "fail"},
    };
    run_claims_rows(rows, sizeof rows / sizeof rows[0], false);
}

/* locate.h documents JWTX_REQUIRE_CLAIMS (jwtx_route_claims_match): "a
 * required array: all of its elements" must be in the token's array claim.
 * lib/verify.c has its own claim_matches, which only accepts an equal array
 * or an array claim holding the required array as one element. */
static void test_required_claims_array_subset(void)
{
    static const char *const rows[][2] = {
        {"{\"scopes\": [\"write\"]}", "pass"},
        {"{\"scopes\": [\"write\", \"read\"]}", "pass"},
        {"{\"scopes\": [\"read\", \"delete\"]}", "fail"},
    };
    run_claims_rows(rows, sizeof rows / sizeof rows[0], true);
}

/* ------------------------------------------------------------ identity */

static void test_identity_text(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load_cfg(&cfg, "JWT_VERIFY_SUB = False\n"), 0);
    const struct {
        const char *claims; /* the identity claim overridden */
        const char *text;
    } rows[] = {
        {NULL, "alice"},
        {"{\"sub\": 42}", "42"},
        {"{\"sub\": {\"id\": 7, \"n\": \"\\u00e9\"}}", "{\"id\":7,\"n\":\"\\u00e9\"}"},
        {"{\"sub\": [1, \"a\"]}", "[1,\"a\"]"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *tok = mint(&cfg, "alice", ACCESS, NOW, rows[i].claims, NULL);
        jwtx_request r;
        req_bearer(&r, "GET", tok);
        jwtx_route_opts o;
        jwtx_route_opts_init(&o);
        vexp e = {JWTX_OK, NULL, false, JWTX_LOC_HEADERS, rows[i].text};
        expect_verify(&cfg, NULL, NULL, &r, &o, &e, rows[i].text);
        jwtx_request_clear(&r);
        free(tok);
    }
    /* anonymous (and NULL) is "" */
    jwtx_verified anon;
    memset(&anon, 0, sizeof anon);
    anon.anonymous = true;
    JWTX_ASSERT_STR(jwtx_verified_identity(&anon), "");
    JWTX_ASSERT_STR(jwtx_verified_identity(NULL), "");
    jwtx_config_clear(&cfg);
}

static const jwtx_cu_test tests[] = {
    {"OPTIONS is exempt", test_options_exempt},
    {"optional answers anonymously only for NO_AUTH", test_optional_only_no_auth},
    {"step order (type, fresh, revoked, claims, user)", test_step_order},
    {"unavailable store is 503, never a pass", test_store_unavailable},
    {"user cut-off revokes older tokens", test_user_cutoff},
    {"verify_type and custom types", test_verify_type},
    {"JWTX_USER_LOOKUP", test_user_lookup},
    {"required claims", test_required_claims},
    {"required claims: array subset (locate.h)", test_required_claims_array_subset},
    {"identity text", test_identity_text},
    {"JWTX_REFRESH_ROTATION: the family in the revocation check", test_family_check},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("verify", tests, setup, teardown)
