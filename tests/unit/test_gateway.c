/*
 * test_gateway.c — the routes of the FastCGI programs driven as structs:
 * a jwtx_request in, a jwtx_response out, no server. Login (JSON and form,
 * cookies, `next` redirects, cookies-only mode, 400/401/405), refresh
 * (non-fresh, user claims merged, cookie mode with CSRF), logout (the
 * messages with and without a store, ?everywhere=1, the four unset cookies,
 * the refresh cookie revoked too), the protected example (identity,
 * anonymous, JWTX_IMPLICIT_REFRESH), the authorizer in both FastCGI roles
 * (grant variables/headers, denial headers, JWTX_AUTH_REQUEST and
 * JWTX_RENDER_ERROR), JWKS (HMAC, an RFC 8037 Ed25519 key, RSA) and the
 * errors of jwtx_gateway_open.
 *
 * Each gateway is opened from a conf file written into a mkdtemp directory
 * under /tmp, with an htpasswd file (bcrypt cost 4), a user claims file and
 * a SQLite revocation store there; the directory is removed at the end. The
 * clock is fixed (jwtx_tokens_set_sources) so expiry and cookies are exact.
 * Run from the top of the tree (key fixtures under tests/fixtures/keys).
 */
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cu.h"
#include "jwtx/b64url.h"
#include "jwtx/gateway.h"
#include "jwtx/json.h"
#include "jwtx/keys.h"
#include "jwtx/tokens.h"
#include "jwtx/users.h"

#define NOW 1700000000.0
#define SECRET "gateway-test-secret-0123456789-abcdefghijklmnop"
#define BASE                                                                                       \
    "JWT_SECRET_KEY = '" SECRET "'\n"                                                              \
    "JWTX_USERS_FILE = 'users.htpasswd'\n"                                                         \
    "JWTX_USER_CLAIMS_FILE = 'claims.json'\n"
#define BOTH "JWT_TOKEN_LOCATION = ['headers', 'cookies']\n"
#define JSON_CT "application/json"
#define FORM_CT "application/x-www-form-urlencoded"
#define NO_STORE_MSG "{\"msg\":\"Token revocation store unavailable\"}\n"
#define MISSING_BOTH                                                                               \
    "{\"msg\":\"Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie "  \
    "\\\"access_token_cookie\\\")\"}\n"
#define EPOCH "Expires=Thu, 01 Jan 1970 00:00:00 GMT"

/* ------------------------------------------------------------ fixture */

static char tmpdir[64];
static double fixed_now = NOW;
static unsigned counter;

static double test_clock(void)
{
    return fixed_now;
}

static int test_random(unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(counter ^ (counter >> 8));
        counter++;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

#define CLAIMS_JSON                                                                                \
    "{\"alice\": {\"role\": \"admin\", \"scopes\": [\"read\", \"write\"]},\n"                      \
    " \"bob\": {\"role\": \"user\"}}\n"

static int setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jwtx-gateway-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    jwtx_tokens_set_sources(test_clock, test_random);
    jwtx_error err;
    jwtx_error_clear(&err);
    const char *users = tpath("users.htpasswd");
    if (jwtx_users_set_password(users, "alice", "wonderland", 4, &err) != 0 ||
        jwtx_users_set_password(users, "bob", "builder", 4, &err) != 0 ||
        jwtx_users_set_password(users, "carol", "p@ss w:rd+\xc3\xa9", 4, &err) != 0) {
        fprintf(stderr, "setup: %s\n", jwtx_error_message(&err));
        return 1;
    }
    if (write_file(tpath("claims.json"), CLAIMS_JSON) != 0)
        return 1;
    return 0;
}

static int teardown(void)
{
    jwtx_tokens_set_sources(NULL, NULL);
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Writes tmpdir/<name>.conf with text and opens a gateway on it. */
static int gw_open(jwtx_gateway *gw, const char *name, const char *text)
{
    char file[64], errbuf[1024] = "";
    snprintf(file, sizeof file, "%s.conf", name);
    const char *path = tpath(file);
    if (write_file(path, text) != 0)
        return -1;
    int rc = jwtx_gateway_open(gw, "test_gateway", path, errbuf, sizeof errbuf);
    if (rc != 0)
        fprintf(stderr, "\n  gateway %s: %s\n", name, errbuf);
    /* A SQLite store is made by the installer (`jwtx blocklist init`), never
     * by the programs. */
    if (rc == 0 && strcmp(jwtx_blocklist_kind(gw->blocklist), "sqlite") == 0 &&
        jwtx_blocklist_init(gw->blocklist, NULL) != 0) {
        fprintf(stderr, "\n  gateway %s: %s\n", name, jwtx_blocklist_last_error(gw->blocklist));
        jwtx_gateway_close(gw);
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------------ requests */

typedef struct rq {
    const char *method;
    const char *uri;   /* may carry ?query (copied to QUERY_STRING) */
    const char *token; /* sent as "Authorization: Bearer <token>" */
    const char *auth;  /* or the raw Authorization header */
    const char *cookie;
    const char *csrf; /* X-CSRF-TOKEN */
    const char *ctype;
    const char *body;
    const char *const *params; /* NAME, VALUE, ..., NULL */
    bool authorizer;           /* FCGI_ROLE=AUTHORIZER */
} rq;

static void build(jwtx_request *r, const rq *q)
{
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(r), 0);
    const char *uri = q->uri ? q->uri : "/";
    CU_ASSERT_EQUAL_FATAL(
        jwtx_request_set_param(r, "REQUEST_METHOD", q->method ? q->method : "GET"), 0);
    CU_ASSERT_EQUAL_FATAL(jwtx_request_set_param(r, "REQUEST_URI", uri), 0);
    const char *qs = strchr(uri, '?');
    CU_ASSERT_EQUAL_FATAL(jwtx_request_set_param(r, "QUERY_STRING", qs ? qs + 1 : ""), 0);
    if (q->token) {
        char *h = malloc(strlen(q->token) + 8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        sprintf(h, "Bearer %s", q->token);
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "HTTP_AUTHORIZATION", h), 0);
        free(h);
    }
    if (q->auth)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "HTTP_AUTHORIZATION", q->auth), 0);
    if (q->cookie)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "HTTP_COOKIE", q->cookie), 0);
    if (q->csrf)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "HTTP_X_CSRF_TOKEN", q->csrf), 0);
    if (q->ctype)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "CONTENT_TYPE", q->ctype), 0);
    if (q->authorizer)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "FCGI_ROLE", "AUTHORIZER"), 0);
    for (size_t i = 0; q->params && q->params[i]; i += 2)
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, q->params[i], q->params[i + 1]), 0);
    if (q->body) {
        char len[32];
        snprintf(len, sizeof len, "%zu", strlen(q->body));
        CU_ASSERT_EQUAL(jwtx_request_set_param(r, "CONTENT_LENGTH", len), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_body(r, q->body, strlen(q->body)), 0);
    }
}

/* Runs a route on a fresh response (the caller clears it). */
static void run(jwtx_route_fn fn, jwtx_gateway *gw, const rq *q, jwtx_response *resp)
{
    jwtx_request r;
    build(&r, q);
    jwtx_response_init(resp);
    CU_ASSERT_EQUAL(fn(gw, &r, resp), 0);
    jwtx_request_clear(&r);
}

/* ------------------------------------------------------------ responses */

static size_t hdr_count(const jwtx_response *resp, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            n++;
    return n;
}

/* The i-th header called name, or NULL. */
static const char *hdr_nth(const jwtx_response *resp, const char *name, size_t nth)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0 && nth-- == 0)
            return resp->headers[i].value;
    return NULL;
}

static void expect_body(const jwtx_response *resp, const char *body, const char *label)
{
    size_t n = strlen(body);
    bool ok = resp->body.len == n && (n == 0 || memcmp(resp->body.data, body, n) == 0);
    if (!ok)
        fprintf(stderr, "\n  [%s] body %.*s\n  expected %s\n", label, (int)resp->body.len,
                resp->body.data ? resp->body.data : "", body);
    CU_ASSERT_TRUE(ok);
}

/* An error answer: status, exact body, no-store, WWW-Authenticate (NULL:
 * none), JSON, no cookies. */
static void expect_error(const jwtx_response *resp, int status, const char *body, const char *www,
                         const char *label)
{
    if (resp->status != status)
        fprintf(stderr, "\n  [%s] status %d, expected %d\n", label, resp->status, status);
    CU_ASSERT_EQUAL(resp->status, status);
    expect_body(resp, body, label);
    JWTX_ASSERT_STR(jwtx_response_header(resp, "Cache-Control"), "no-store");
    JWTX_ASSERT_STR(jwtx_response_header(resp, "Content-Type"), "application/json");
    if (www)
        JWTX_ASSERT_STR(jwtx_response_header(resp, "WWW-Authenticate"), www);
    else
        CU_ASSERT_PTR_NULL(jwtx_response_header(resp, "WWW-Authenticate"));
    CU_ASSERT_EQUAL(hdr_count(resp, "Set-Cookie"), 0);
}

/* The value of cookie `name` in the i-th Set-Cookie line (malloc'd). */
static char *cookie_value(const jwtx_response *resp, size_t i, const char *name)
{
    const char *line = hdr_nth(resp, "Set-Cookie", i);
    size_t n = strlen(name);
    if (line == NULL || strncmp(line, name, n) != 0 || line[n] != '=')
        return NULL;
    return strndup(line + n + 1, strcspn(line + n + 1, ";"));
}

/* Claims of a token as the gateway's config decodes it (new reference). */
static json_t *claims_of(jwtx_gateway *gw, const char *tok)
{
    jwtx_token t;
    memset(&t, 0, sizeof t);
    jwtx_decode_opts o;
    memset(&o, 0, sizeof o);
    jwtx_error err;
    if (tok == NULL || jwtx_token_decode(&gw->cfg, tok, strlen(tok), &o, &t, &err) != 0)
        return NULL;
    json_t *c = json_incref(t.claims);
    jwtx_token_clear(&t);
    return c;
}

static const char *cstr(const json_t *claims, const char *name)
{
    return json_string_value(json_object_get(claims, name));
}

/* The JSON text of a claim in compact form ("" when absent). */
static void claim_text(const json_t *claims, const char *name, char *out, size_t size)
{
    jwtx_buf b;
    jwtx_buf_init(&b);
    const json_t *v = json_object_get(claims, name);
    snprintf(out, size, "%s", v && jwtx_json_dump(v, 0, &b) == 0 && b.data ? b.data : "");
    jwtx_buf_clear(&b);
}

/* A logged-in user: tokens and CSRF values. */
typedef struct session {
    char *access, *refresh;
    char csrf_a[64], csrf_r[64];
} session;

static void session_clear(session *s)
{
    free(s->access);
    free(s->refresh);
    memset(s, 0, sizeof *s);
}

/* JSON login; tokens from the body, or from the cookies in cookies-only mode. */
static void login(jwtx_gateway *gw, const char *user, const char *pw, session *s)
{
    memset(s, 0, sizeof *s);
    char body[256];
    snprintf(body, sizeof body, "{\"username\": \"%s\", \"password\": \"%s\"}", user, pw);
    jwtx_response resp;
    run(jwtx_route_login, gw,
        &(rq){.method = "POST", .uri = "/login", .ctype = JSON_CT, .body = body}, &resp);
    CU_ASSERT_EQUAL_FATAL(resp.status, 200);
    json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    if (json_is_string(json_object_get(b, "access_token"))) {
        s->access = strdup(cstr(b, "access_token"));
        s->refresh = strdup(cstr(b, "refresh_token"));
    } else {
        s->access = cookie_value(&resp, 0, "access_token_cookie");
        s->refresh = cookie_value(&resp, 2, "refresh_token_cookie");
    }
    json_decref(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->access);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s->refresh);
    json_t *ca = claims_of(gw, s->access), *cr = claims_of(gw, s->refresh);
    snprintf(s->csrf_a, sizeof s->csrf_a, "%s", cstr(ca, "csrf") ? cstr(ca, "csrf") : "");
    snprintf(s->csrf_r, sizeof s->csrf_r, "%s", cstr(cr, "csrf") ? cstr(cr, "csrf") : "");
    json_decref(ca);
    json_decref(cr);
    jwtx_response_clear(&resp);
}

/* The four Set-Cookie lines of a login, in order. */
static void expect_login_cookies(const jwtx_response *resp, const char *access, const char *refresh,
                                 const char *csrf_a, const char *csrf_r)
{
    char want[4][2048];
    snprintf(want[0], sizeof want[0], "access_token_cookie=%s; HttpOnly; Path=/", access);
    snprintf(want[1], sizeof want[1], "csrf_access_token=%s; Path=/", csrf_a);
    snprintf(want[2], sizeof want[2], "refresh_token_cookie=%s; HttpOnly; Path=/", refresh);
    snprintf(want[3], sizeof want[3], "csrf_refresh_token=%s; Path=/", csrf_r);
    CU_ASSERT_EQUAL(hdr_count(resp, "Set-Cookie"), 4);
    for (size_t i = 0; i < 4; i++)
        JWTX_ASSERT_STR(hdr_nth(resp, "Set-Cookie", i), want[i]);
}

/* A login answer with tokens in the body: exact bytes, the tokens' claims,
 * and (with cookies) the four cookies. */
static void expect_login_tokens(jwtx_gateway *gw, const jwtx_response *resp, const char *user,
                                const char *role, bool cookies, const char *label)
{
    CU_ASSERT_EQUAL(resp->status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(resp, "Content-Type"), "application/json");
    CU_ASSERT_PTR_NULL(jwtx_response_header(resp, "Location"));
    json_t *b = jwtx_json_parse(resp->body.data, resp->body.len, NULL, 0);
    const char *a = cstr(b, "access_token"), *r = cstr(b, "refresh_token");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(json_object_size(b), 2);
    char want[4096];
    snprintf(want, sizeof want, "{\"access_token\":\"%s\",\"refresh_token\":\"%s\"}\n", a, r);
    expect_body(resp, want, label);

    json_t *ca = claims_of(gw, a), *cr = claims_of(gw, r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cr);
    JWTX_ASSERT_STR(cstr(ca, "sub"), user);
    JWTX_ASSERT_STR(cstr(ca, "type"), "access");
    CU_ASSERT_TRUE(json_is_true(json_object_get(ca, "fresh")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ca, "iat")), (json_int_t)NOW);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ca, "exp")), (json_int_t)NOW + 900);
    JWTX_ASSERT_STR(cstr(cr, "sub"), user);
    JWTX_ASSERT_STR(cstr(cr, "type"), "refresh");
    CU_ASSERT_TRUE(json_is_false(json_object_get(cr, "fresh")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(cr, "exp")), (json_int_t)NOW + 2592000);
    if (role) { /* the user's claims are merged into both tokens */
        JWTX_ASSERT_STR(cstr(ca, "role"), role);
        JWTX_ASSERT_STR(cstr(cr, "role"), role);
    } else {
        CU_ASSERT_PTR_NULL(json_object_get(ca, "role"));
    }
    CU_ASSERT_STRING_NOT_EQUAL(cstr(ca, "jti"), cstr(cr, "jti"));
    if (cookies)
        expect_login_cookies(resp, a, r, cstr(ca, "csrf"), cstr(cr, "csrf"));
    else
        CU_ASSERT_EQUAL(hdr_count(resp, "Set-Cookie"), 0);
    json_decref(ca);
    json_decref(cr);
    json_decref(b);
}

/* ------------------------------------------------------------ login */

static void test_login_ok(void)
{
    jwtx_gateway gw, hdr;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "login", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:login.sqlite'\n"), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&hdr, "login-hdr", BASE), 0);
    static const struct {
        const char *ctype, *body, *user, *role;
    } rows[] = {
        {JSON_CT, "{\"username\": \"alice\", \"password\": \"wonderland\"}", "alice", "admin"},
        {"application/json; charset=utf-8", "{\"password\":\"builder\",\"username\":\"bob\"}",
         "bob", "user"},
        {"application/vnd.api+json",
         "{\"username\":\"alice\",\"password\":\"wonderland\","
         "\"next\":\"/x\"}",
         "alice", "admin"}, /* JSON logins never redirect */
        {JSON_CT, "{\"username\":\"carol\",\"password\":\"p@ss w:rd+\\u00e9\"}", "carol", NULL},
        {FORM_CT, "username=alice&password=wonderland", "alice", "admin"},
        {FORM_CT "; charset=utf-8", "password=builder&username=bob&extra=1", "bob", "user"},
        {FORM_CT, "username=carol&password=p%40ss+w%3Ard%2B%C3%A9", "carol", NULL},
        {FORM_CT, "username=alice&password=wonderland&username=bob", "alice", "admin"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "login row %zu", i);
        jwtx_response resp;
        run(jwtx_route_login, &gw,
            &(rq){.method = "POST", .uri = "/login", .ctype = rows[i].ctype, .body = rows[i].body},
            &resp);
        expect_login_tokens(&gw, &resp, rows[i].user, rows[i].role, true, label);
        jwtx_response_clear(&resp);
        /* headers only: the same body, no cookies */
        run(jwtx_route_login, &hdr,
            &(rq){.method = "POST", .uri = "/login", .ctype = rows[i].ctype, .body = rows[i].body},
            &resp);
        expect_login_tokens(&hdr, &resp, rows[i].user, rows[i].role, false, label);
        jwtx_response_clear(&resp);
    }
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&hdr);
}

static void test_login_cookies_only(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "login-ck", BASE "JWT_TOKEN_LOCATION = ['cookies']\n"), 0);
    jwtx_response resp;
    run(jwtx_route_login, &gw,
        &(rq){.method = "POST",
              .ctype = JSON_CT,
              .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp, "{\"msg\":\"login successful\"}\n", "cookies only");
    char *a = cookie_value(&resp, 0, "access_token_cookie");
    char *r = cookie_value(&resp, 2, "refresh_token_cookie");
    json_t *ca = claims_of(&gw, a), *cr = claims_of(&gw, r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cr);
    JWTX_ASSERT_STR(cstr(ca, "type"), "access");
    JWTX_ASSERT_STR(cstr(cr, "type"), "refresh");
    JWTX_ASSERT_STR(cstr(ca, "role"), "admin");
    expect_login_cookies(&resp, a, r, cstr(ca, "csrf"), cstr(cr, "csrf"));
    json_decref(ca);
    json_decref(cr);
    free(a);
    free(r);
    jwtx_response_clear(&resp);

    /* a form with next still redirects, with the cookies */
    run(jwtx_route_login, &gw,
        &(rq){.method = "POST",
              .ctype = FORM_CT,
              .body = "username=bob&password=builder&next=%2Fhome"},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 303);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Location"), "/home");
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 4);
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&gw);
}

#define REDIRECT_BODY(href, text)                                                                  \
    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"    \
    "<p>You should be redirected automatically to the target URL: <a href=\"" href "\">" text      \
    "</a>. If not, click the link.\n"

static void test_login_next(void)
{
    jwtx_gateway gw, dflt;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "next", BASE BOTH), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&dflt, "next-dflt", BASE BOTH "JWTX_LOGIN_REDIRECT = '/home'\n"),
                          0);
    static const struct {
        const char *field;    /* urlencoded `next` (NULL: absent) */
        const char *location; /* NULL: no redirect */
        const char *body;
    } rows[] = {
        {"%2Fdashboard", "/dashboard", REDIRECT_BODY("/dashboard", "/dashboard")},
        {"/dashboard", "/dashboard", REDIRECT_BODY("/dashboard", "/dashboard")},
        {"/", "/", REDIRECT_BODY("/", "/")},
        {"%2Fa%2Fb%3Fx%3D1%26y%3D'2'", "/a/b?x=1&y='2'",
         REDIRECT_BODY("/a/b?x=1&amp;y=&#x27;2&#x27;", "/a/b?x=1&amp;y=&#x27;2&#x27;")},
        {"//evil.example", NULL, NULL},
        {"%2F%2Fevil.example", NULL, NULL},
        {"/%5Cevil.example", NULL, NULL},
        {"/a%5Cb", NULL, NULL},
        {"http://evil.example/", NULL, NULL},
        {"https%3A%2F%2Fevil.example", NULL, NULL},
        {"evil.example", NULL, NULL},
        {"javascript:alert(1)", NULL, NULL},
        {"/a%01b", NULL, NULL},
        {"/a%0D%0ALocation:x", NULL, NULL},
        {"/a%09b", NULL, NULL},
        {"/a+b", NULL, NULL},
        {"/a%7Fb", NULL, NULL},
        {"/caf%C3%A9", NULL, NULL},
        {"/%22onload", NULL, NULL},
        {"/%3Cscript%3E", NULL, NULL},
        {"/a%00b", NULL, NULL},
        {"", NULL, NULL},
        {NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char body[256], label[64];
        snprintf(body, sizeof body, "username=alice&password=wonderland%s%s",
                 rows[i].field ? "&next=" : "", rows[i].field ? rows[i].field : "");
        snprintf(label, sizeof label, "next row %zu", i);
        for (int d = 0; d < 2; d++) {
            jwtx_response resp;
            run(jwtx_route_login, d ? &dflt : &gw,
                &(rq){.method = "POST", .uri = "/login", .ctype = FORM_CT, .body = body}, &resp);
            /* with JWTX_LOGIN_REDIRECT, an absent or unsafe next goes there */
            const char *loc = rows[i].location ? rows[i].location : d ? "/home" : NULL;
            const char *page = rows[i].location ? rows[i].body
                               : d              ? REDIRECT_BODY("/home", "/home")
                                                : NULL;
            if (loc) {
                CU_ASSERT_EQUAL(resp.status, 303);
                JWTX_ASSERT_STR(jwtx_response_header(&resp, "Location"), loc);
                JWTX_ASSERT_STR(jwtx_response_header(&resp, "Content-Type"),
                                "text/html; charset=utf-8");
                expect_body(&resp, page, label);
                CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 4);
                char *a = cookie_value(&resp, 0, "access_token_cookie");
                json_t *ca = claims_of(d ? &dflt : &gw, a);
                JWTX_ASSERT_STR(cstr(ca, "sub"), "alice");
                json_decref(ca);
                free(a);
            } else {
                expect_login_tokens(&gw, &resp, "alice", "admin", true, label);
            }
            jwtx_response_clear(&resp);
        }
    }
    /* JSON logins ignore JWTX_LOGIN_REDIRECT */
    jwtx_response resp;
    run(jwtx_route_login, &dflt,
        &(rq){.method = "POST",
              .ctype = JSON_CT,
              .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
        &resp);
    expect_login_tokens(&dflt, &resp, "alice", "admin", true, "JSON with JWTX_LOGIN_REDIRECT");
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&dflt);
}

static void test_login_errors(void)
{
    jwtx_gateway gw, nousers;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "login-err", BASE BOTH), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&nousers, "login-nousers", "JWT_SECRET_KEY = '" SECRET "'\n"), 0);
    static const char missing[] = "{\"msg\":\"Missing username or password\"}\n";
    static const char bad[] = "{\"msg\":\"Bad username or password\"}\n";
    static const struct {
        const char *ctype, *body;
        int status;
    } rows[] = {
        {JSON_CT, "{}", 400},
        {JSON_CT, "{\"username\":\"alice\"}", 400},
        {JSON_CT, "{\"password\":\"wonderland\"}", 400},
        {JSON_CT, "{\"username\":\"\",\"password\":\"wonderland\"}", 400},
        {JSON_CT, "{\"username\":\"alice\",\"password\":\"\"}", 400},
        {JSON_CT, "{\"username\":1,\"password\":\"wonderland\"}", 400},
        {JSON_CT, "{\"username\":\"alice\",\"password\":null}", 400},
        {JSON_CT, "{\"username\":[\"alice\"],\"password\":\"wonderland\"}", 400},
        {JSON_CT, "{\"username\":\"al\\u0000ice\",\"password\":\"wonderland\"}", 400},
        {JSON_CT, "[\"alice\",\"wonderland\"]", 400},
        {JSON_CT, "\"alice\"", 400},
        {JSON_CT, "not json", 400},
        {JSON_CT, "", 400},
        {JSON_CT, "username=alice&password=wonderland", 400},
        {FORM_CT, "username=alice", 400},
        {FORM_CT, "password=wonderland", 400},
        {FORM_CT, "username=&password=wonderland", 400},
        {FORM_CT, "username=alice&password=", 400},
        {FORM_CT, "username=alice%00x&password=wonderland", 400},
        {FORM_CT, "username=alice&password=wonder%00land", 400},
        {FORM_CT, "{\"username\":\"alice\",\"password\":\"wonderland\"}", 400},
        {FORM_CT, "", 400},
        {"text/plain", "username=alice&password=wonderland", 400},
        {"text/json", "{\"username\":\"alice\",\"password\":\"wonderland\"}", 400},
        {NULL, "username=alice&password=wonderland", 400},
        {JSON_CT, "{\"username\":\"alice\",\"password\":\"Wonderland\"}", 401},
        {JSON_CT, "{\"username\":\"alice\",\"password\":\"wonderland \"}", 401},
        {JSON_CT, "{\"username\":\"Alice\",\"password\":\"wonderland\"}", 401},
        {JSON_CT, "{\"username\":\"ghost\",\"password\":\"wonderland\"}", 401},
        {JSON_CT, "{\"username\":\"bob\",\"password\":\"wonderland\"}", 401},
        {FORM_CT, "username=alice&password=builder", 401},
        {FORM_CT, "username=alice&password=wonderland&next=%2Fx&x", 303},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "login error row %zu", i);
        jwtx_response resp;
        run(jwtx_route_login, &gw,
            &(rq){.method = "POST", .uri = "/login", .ctype = rows[i].ctype, .body = rows[i].body},
            &resp);
        if (rows[i].status == 400)
            expect_error(&resp, 400, missing, NULL, label);
        else if (rows[i].status == 401)
            expect_error(&resp, 401, bad, "Bearer", label);
        else
            CU_ASSERT_EQUAL(resp.status, 303);
        jwtx_response_clear(&resp);
    }
    /* no users file: every login fails */
    jwtx_response resp;
    run(jwtx_route_login, &nousers,
        &(rq){.method = "POST",
              .ctype = JSON_CT,
              .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
        &resp);
    expect_error(&resp, 401, bad, "Bearer", "no users file");
    jwtx_response_clear(&resp);

    /* methods */
    static const char *const wrong[] = {"GET", "PUT", "DELETE", "PATCH", "HEAD"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        run(jwtx_route_login, &gw,
            &(rq){.method = wrong[i],
                  .ctype = JSON_CT,
                  .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
            &resp);
        expect_error(&resp, 405, "{\"msg\":\"Method not allowed\"}\n", NULL, wrong[i]);
        JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "OPTIONS, POST");
        jwtx_response_clear(&resp);
    }
    run(jwtx_route_login, &gw, &(rq){.method = "OPTIONS"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "OPTIONS, POST");
    CU_ASSERT_EQUAL(resp.body.len, 0);
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 0);
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&nousers);
}

/* ------------------------------------------------------------ refresh */

static void test_refresh(void)
{
    jwtx_gateway gw, ck;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "refresh", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:refresh.sqlite'\n"), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&ck, "refresh-ck", BASE "JWT_TOKEN_LOCATION = ['cookies']\n"), 0);
    session s;
    login(&gw, "alice", "wonderland", &s);

    fixed_now = NOW + 60;
    jwtx_response resp;
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .uri = "/refresh", .token = s.refresh},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    const char *n = cstr(b, "access_token");
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    CU_ASSERT_EQUAL(json_object_size(b), 1);
    char want[2048];
    snprintf(want, sizeof want, "{\"access_token\":\"%s\"}\n", n);
    expect_body(&resp, want, "refresh body");
    json_t *c = claims_of(&gw, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    JWTX_ASSERT_STR(cstr(c, "type"), "access");
    JWTX_ASSERT_STR(cstr(c, "sub"), "alice");
    CU_ASSERT_TRUE(json_is_false(json_object_get(c, "fresh")));
    JWTX_ASSERT_STR(cstr(c, "role"), "admin");
    char scopes[64];
    claim_text(c, "scopes", scopes, sizeof scopes);
    JWTX_ASSERT_STR(scopes, "[\"read\",\"write\"]");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "iat")), (json_int_t)NOW + 60);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "exp")), (json_int_t)NOW + 960);
    /* cookies are a location: the access cookies are set too */
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 2);
    snprintf(want, sizeof want, "access_token_cookie=%s; HttpOnly; Path=/", n);
    JWTX_ASSERT_STR(hdr_nth(&resp, "Set-Cookie", 0), want);
    snprintf(want, sizeof want, "csrf_access_token=%s; Path=/", cstr(c, "csrf"));
    JWTX_ASSERT_STR(hdr_nth(&resp, "Set-Cookie", 1), want);
    char *fresh_tok = strdup(n);
    json_decref(c);
    json_decref(b);
    jwtx_response_clear(&resp);

    /* the new token is not fresh */
    const char *const fresh[] = {"JWTX_FRESH", "1", NULL};
    run(jwtx_route_protected, &gw, &(rq){.token = fresh_tok, .params = fresh}, &resp);
    expect_error(&resp, 401, "{\"msg\":\"Fresh token required\"}\n",
                 "Bearer error=\"invalid_token\", error_description=\"Fresh token required\"",
                 "refreshed on fresh route");
    jwtx_response_clear(&resp);
    run(jwtx_route_protected, &gw, &(rq){.token = fresh_tok}, &resp);
    expect_body(&resp, "{\"logged_in_as\":\"alice\"}\n", "refreshed token");
    jwtx_response_clear(&resp);
    free(fresh_tok);

    /* user claims are read again at refresh time */
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), "{\"alice\": {\"role\": \"auditor\"}}\n"), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = s.refresh}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    c = claims_of(&gw, cstr(b, "access_token"));
    JWTX_ASSERT_STR(cstr(c, "role"), "auditor");
    CU_ASSERT_PTR_NULL(json_object_get(c, "scopes"));
    json_decref(c);
    json_decref(b);
    jwtx_response_clear(&resp);
    /* a broken claims file: no token without the user's claims (fail
     * closed, as login does), until the file is fixed */
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), "{\"alice\": {\"role\": \"auditor\"},\n"), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = s.refresh}, &resp);
    expect_error(&resp, 500, "{\"msg\":\"Internal server error\"}\n", NULL,
                 "refresh, broken claims file");
    jwtx_response_clear(&resp);
    run(jwtx_route_login, &gw,
        &(rq){.method = "POST",
              .ctype = JSON_CT,
              .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 401);
    jwtx_response_clear(&resp);
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), CLAIMS_JSON), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = s.refresh}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    c = claims_of(&gw, cstr(b, "access_token"));
    JWTX_ASSERT_STR(cstr(c, "role"), "admin");
    json_decref(c);
    json_decref(b);
    jwtx_response_clear(&resp);

    /* failures */
    const char *const opt[] = {"JWTX_OPTIONAL", "1", "JWTX_REFRESH", "0", NULL};
    const struct {
        const char *label;
        rq q;
        int status;
        const char *body, *www;
    } rows[] = {
        {"access token",
         {.method = "POST", .token = s.access},
         422,
         "{\"msg\":\"Only refresh tokens are allowed\"}\n",
         NULL},
        {"no token",
         {.method = "POST"},
         401,
         "{\"msg\":\"Missing JWT in headers or cookies (Missing Authorization Header; Missing "
         "cookie \\\"refresh_token_cookie\\\")\"}\n",
         "Bearer"},
        {"no token, optional and refresh=0 ignored",
         {.method = "POST", .params = opt},
         401,
         "{\"msg\":\"Missing JWT in headers or cookies (Missing Authorization Header; Missing "
         "cookie \\\"refresh_token_cookie\\\")\"}\n",
         "Bearer"},
        {"garbage",
         {.method = "POST", .auth = "Bearer a.b"},
         422,
         "{\"msg\":\"Not enough segments\"}\n",
         NULL},
        {"GET",
         {.method = "GET", .token = s.refresh},
         405,
         "{\"msg\":\"Method not allowed\"}\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        run(jwtx_route_refresh, &gw, &rows[i].q, &resp);
        expect_error(&resp, rows[i].status, rows[i].body, rows[i].www, rows[i].label);
        if (rows[i].status == 405)
            JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "OPTIONS, POST");
        jwtx_response_clear(&resp);
    }
    run(jwtx_route_refresh, &gw, &(rq){.method = "OPTIONS"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "OPTIONS, POST");
    jwtx_response_clear(&resp);
    fixed_now = NOW;
    session_clear(&s);

    /* cookie mode: CSRF double submit of the refresh cookie */
    login(&ck, "bob", "builder", &s);
    char cookie[2048];
    snprintf(cookie, sizeof cookie, "refresh_token_cookie=%s; csrf_refresh_token=%s", s.refresh,
             s.csrf_r);
    run(jwtx_route_refresh, &ck, &(rq){.method = "POST", .cookie = cookie, .csrf = s.csrf_r},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp, "{\"msg\":\"refresh successful\"}\n", "cookie refresh");
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 2);
    char *n2 = cookie_value(&resp, 0, "access_token_cookie");
    char *csrf2 = cookie_value(&resp, 1, "csrf_access_token");
    c = claims_of(&ck, n2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    JWTX_ASSERT_STR(cstr(c, "role"), "user");
    JWTX_ASSERT_STR(cstr(c, "csrf"), csrf2);
    CU_ASSERT_TRUE(json_is_false(json_object_get(c, "fresh")));
    json_decref(c);
    free(n2);
    free(csrf2);
    jwtx_response_clear(&resp);
    run(jwtx_route_refresh, &ck, &(rq){.method = "POST", .cookie = cookie}, &resp);
    expect_error(&resp, 401, "{\"msg\":\"Missing CSRF token\"}\n",
                 "Bearer error=\"invalid_token\", error_description=\"Missing CSRF token\"",
                 "cookie refresh without CSRF");
    jwtx_response_clear(&resp);
    run(jwtx_route_refresh, &ck, &(rq){.method = "POST", .cookie = cookie, .csrf = s.csrf_a},
        &resp);
    expect_error(&resp, 401, "{\"msg\":\"CSRF double submit tokens do not match\"}\n",
                 "Bearer error=\"invalid_token\", error_description=\"CSRF double submit tokens do "
                 "not match\"",
                 "cookie refresh with the access CSRF");
    jwtx_response_clear(&resp);
    session_clear(&s);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&ck);
}

/* ------------------------------------------------------------ logout */

static void expect_unset_cookies(const jwtx_response *resp)
{
    static const char *const want[] = {
        "access_token_cookie=; " EPOCH "; HttpOnly; Path=/",
        "csrf_access_token=; " EPOCH "; Path=/",
        "refresh_token_cookie=; " EPOCH "; HttpOnly; Path=/",
        "csrf_refresh_token=; " EPOCH "; Path=/",
    };
    CU_ASSERT_EQUAL(hdr_count(resp, "Set-Cookie"), 4);
    for (size_t i = 0; i < 4; i++)
        JWTX_ASSERT_STR(hdr_nth(resp, "Set-Cookie", i), want[i]);
}

static void expect_logout(jwtx_gateway *gw, const rq *q, const char *msg, const char *label)
{
    jwtx_response resp;
    run(jwtx_route_logout, gw, q, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    char want[128];
    snprintf(want, sizeof want, "{\"msg\":\"%s\"}\n", msg);
    expect_body(&resp, want, label);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Content-Type"), "application/json");
    expect_unset_cookies(&resp);
    jwtx_response_clear(&resp);
}

/* The protected route's answer for a token: its status and body. */
static void expect_protected(jwtx_gateway *gw, const char *tok, int status, const char *body,
                             const char *label)
{
    jwtx_response resp;
    run(jwtx_route_protected, gw, &(rq){.token = tok}, &resp);
    CU_ASSERT_EQUAL(resp.status, status);
    expect_body(&resp, body, label);
    jwtx_response_clear(&resp);
}

static void expect_refresh_status(jwtx_gateway *gw, const char *tok, int status, const char *body,
                                  const char *label)
{
    jwtx_response resp;
    run(jwtx_route_refresh, gw, &(rq){.method = "POST", .token = tok}, &resp);
    CU_ASSERT_EQUAL(resp.status, status);
    if (body)
        expect_body(&resp, body, label);
    jwtx_response_clear(&resp);
}

#define REVOKED "{\"msg\":\"Token has been revoked\"}\n"
#define ALICE "{\"logged_in_as\":\"alice\"}\n"
#define BOB "{\"logged_in_as\":\"bob\"}\n"

static void test_logout(void)
{
    jwtx_gateway gw, none, down;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "logout", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:logout.sqlite'\n"), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&none, "logout-none", BASE BOTH), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&down, "logout-down",
                                  BASE BOTH "JWTX_BLOCKLIST = 'redis://127.0.0.1:1'\n"
                                            "JWTX_BLOCKLIST_TIMEOUT_MS = 50\n"),
                          0);

    /* an access token, then a refresh token, each revoked by its own logout */
    session s;
    login(&gw, "alice", "wonderland", &s);
    expect_protected(&gw, s.access, 200, ALICE, "before logout");
    expect_logout(&gw, &(rq){.method = "POST", .uri = "/logout", .token = s.access},
                  "Access token revoked", "logout access");
    expect_protected(&gw, s.access, 401, REVOKED, "access after logout");
    expect_refresh_status(&gw, s.refresh, 200, NULL, "refresh still valid");
    expect_logout(&gw, &(rq){.method = "DELETE", .uri = "/logout", .token = s.refresh},
                  "Refresh token revoked", "logout refresh");
    expect_refresh_status(&gw, s.refresh, 401, REVOKED, "refresh after logout");
    /* a second logout with a revoked token is refused */
    jwtx_response resp;
    run(jwtx_route_logout, &gw, &(rq){.method = "POST", .token = s.access}, &resp);
    expect_error(&resp, 401, REVOKED,
                 "Bearer error=\"invalid_token\", error_description=\"Token has been revoked\"",
                 "logout twice");
    jwtx_response_clear(&resp);
    session_clear(&s);

    /* a browser's logout revokes the refresh cookie as well */
    login(&gw, "alice", "wonderland", &s);
    char cookie[4096];
    snprintf(cookie, sizeof cookie,
             "access_token_cookie=%s; csrf_access_token=%s; refresh_token_cookie=%s; "
             "csrf_refresh_token=%s",
             s.access, s.csrf_a, s.refresh, s.csrf_r);
    run(jwtx_route_logout, &gw, &(rq){.method = "DELETE", .cookie = cookie}, &resp);
    expect_error(&resp, 401, "{\"msg\":\"Missing CSRF token\"}\n",
                 "Bearer error=\"invalid_token\", error_description=\"Missing CSRF token\"",
                 "cookie logout without CSRF");
    jwtx_response_clear(&resp);
    expect_protected(&gw, s.access, 200, ALICE, "no CSRF, nothing revoked");
    expect_logout(&gw, &(rq){.method = "DELETE", .cookie = cookie, .csrf = s.csrf_a},
                  "Access token revoked", "cookie logout");
    expect_protected(&gw, s.access, 401, REVOKED, "cookie access after logout");
    expect_refresh_status(&gw, s.refresh, 401, REVOKED, "refresh cookie after logout");
    session_clear(&s);

    /* ?everywhere=1 revokes every token of the user issued until now */
    session s1, s2, a;
    login(&gw, "bob", "builder", &s1);
    fixed_now = NOW + 10;
    login(&gw, "bob", "builder", &s2);
    login(&gw, "alice", "wonderland", &a);
    expect_logout(&gw, &(rq){.method = "POST", .uri = "/logout?everywhere=0", .token = s2.access},
                  "Access token revoked", "everywhere=0");
    expect_protected(&gw, s1.access, 200, BOB, "other session kept");
    expect_logout(&gw, &(rq){.method = "POST", .uri = "/logout?everywhere=1", .token = s1.access},
                  "All tokens revoked", "everywhere=1");
    expect_protected(&gw, s1.access, 401, REVOKED, "everywhere: s1 access");
    expect_refresh_status(&gw, s1.refresh, 401, REVOKED, "everywhere: s1 refresh");
    expect_refresh_status(&gw, s2.refresh, 401, REVOKED, "everywhere: s2 refresh");
    expect_protected(&gw, a.access, 200, ALICE, "everywhere: other users kept");
    fixed_now = NOW + 11;
    session s3;
    login(&gw, "bob", "builder", &s3);
    expect_protected(&gw, s3.access, 200, BOB, "login after everywhere");
    expect_logout(&gw,
                  &(rq){.method = "POST", .uri = "/logout?everywhere=true", .token = s3.refresh},
                  "All tokens revoked", "everywhere=true with a refresh token");
    expect_protected(&gw, s3.access, 401, REVOKED, "everywhere by refresh token");
    fixed_now = NOW;
    session_clear(&s1);
    session_clear(&s2);
    session_clear(&s3);
    session_clear(&a);

    /* no store: nothing to revoke, the cookies are still cleared */
    login(&none, "alice", "wonderland", &s);
    expect_logout(&none, &(rq){.method = "POST", .token = s.access}, "logout successful",
                  "no store");
    expect_logout(&none, &(rq){.method = "POST", .uri = "/logout?everywhere=1", .token = s.refresh},
                  "logout successful", "no store, everywhere");
    expect_protected(&none, s.access, 200, ALICE, "no store: still valid");

    /* a store that cannot answer: 503, no cookie cleared */
    run(jwtx_route_logout, &down, &(rq){.method = "POST", .token = s.access}, &resp);
    expect_error(&resp, 503, NO_STORE_MSG, NULL, "logout, store down");
    jwtx_response_clear(&resp);
    session_clear(&s);

    /* methods, no token */
    run(jwtx_route_logout, &gw, &(rq){.method = "GET"}, &resp);
    expect_error(&resp, 405, "{\"msg\":\"Method not allowed\"}\n", NULL, "logout GET");
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "DELETE, OPTIONS, POST");
    jwtx_response_clear(&resp);
    run(jwtx_route_logout, &gw, &(rq){.method = "OPTIONS"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "DELETE, OPTIONS, POST");
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 0);
    jwtx_response_clear(&resp);
    const char *const opt[] = {"JWTX_OPTIONAL", "1", NULL};
    run(jwtx_route_logout, &gw, &(rq){.method = "POST", .params = opt}, &resp);
    expect_error(&resp, 401, MISSING_BOTH, "Bearer", "logout without token");
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&none);
    jwtx_gateway_close(&down);
}

/* ------------------------------------------------------------ protected */

static void test_protected(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "protected", BASE BOTH), 0);
    session s, b;
    login(&gw, "alice", "wonderland", &s);
    login(&gw, "bob", "builder", &b);
    char cookie[2048];
    snprintf(cookie, sizeof cookie, "access_token_cookie=%s; csrf_access_token=%s", s.access,
             s.csrf_a);
    const char *const opt[] = {"JWTX_OPTIONAL", "yes", NULL};
    const char *const fresh[] = {"JWTX_FRESH", "true", NULL};
    const char *const admin[] = {"JWTX_REQUIRE_CLAIMS", "{\"role\": \"admin\"}", NULL};
    const char *const scope[] = {"JWTX_REQUIRE_CLAIMS", "{\"scopes\": \"write\"}", NULL};
    const char *const only_ck[] = {"JWTX_LOCATIONS", "cookies", NULL};
    const char *const bogus[] = {"JWTX_LOCATIONS", "headers, Cookies", NULL};
    const char *const badbool[] = {"JWTX_OPTIONAL", "maybe", NULL};
    const char *const badjson[] = {"JWTX_REQUIRE_CLAIMS", "[1]", NULL};
    static const char internal[] = "{\"msg\":\"Internal server error\"}\n";
    const struct {
        const char *label;
        rq q;
        int status;
        const char *body, *www;
    } rows[] = {
        {"header token", {.token = s.access}, 200, ALICE, NULL},
        {"POST header token", {.method = "POST", .token = s.access}, 200, ALICE, NULL},
        {"cookie token", {.cookie = cookie}, 200, ALICE, NULL},
        {"cookie token POST",
         {.method = "POST", .cookie = cookie, .csrf = s.csrf_a},
         200,
         ALICE,
         NULL},
        {"optional, no token",
         {.params = opt},
         200,
         "{\"logged_in_as\":\"anonymous user\"}\n",
         NULL},
        {"optional, token", {.token = b.access, .params = opt}, 200, BOB, NULL},
        {"fresh token on fresh route", {.token = s.access, .params = fresh}, 200, ALICE, NULL},
        {"claims", {.token = s.access, .params = admin}, 200, ALICE, NULL},
        {"claims, array", {.token = s.access, .params = scope}, 200, ALICE, NULL},
        {"claims fail",
         {.token = b.access, .params = admin},
         400,
         "{\"msg\":\"User claims verification failed\"}\n",
         NULL},
        {"no token", {0}, 401, MISSING_BOTH, "Bearer"},
        {"optional, bad token",
         {.auth = "Bearer x.y", .params = opt},
         422,
         "{\"msg\":\"Not enough segments\"}\n",
         NULL},
        {"refresh token",
         {.token = s.refresh},
         422,
         "{\"msg\":\"Only non-refresh tokens are allowed\"}\n",
         NULL},
        {"cookies only, header token",
         {.token = s.access, .params = only_ck},
         401,
         "{\"msg\":\"Missing cookie \\\"access_token_cookie\\\"\"}\n",
         "Bearer"},
        {"cookie POST without CSRF",
         {.method = "POST", .cookie = cookie},
         401,
         "{\"msg\":\"Missing CSRF token\"}\n",
         "Bearer error=\"invalid_token\", error_description=\"Missing CSRF token\""},
        {"bad location parameter", {.token = s.access, .params = bogus}, 500, internal, NULL},
        {"bad boolean parameter", {.token = s.access, .params = badbool}, 500, internal, NULL},
        {"bad claims parameter", {.token = s.access, .params = badjson}, 500, internal, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_response resp;
        run(jwtx_route_protected, &gw, &rows[i].q, &resp);
        if (rows[i].status == 200) {
            CU_ASSERT_EQUAL(resp.status, 200);
            expect_body(&resp, rows[i].body, rows[i].label);
            JWTX_ASSERT_STR(jwtx_response_header(&resp, "Content-Type"), "application/json");
            CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 0);
        } else {
            expect_error(&resp, rows[i].status, rows[i].body, rows[i].www, rows[i].label);
        }
        jwtx_response_clear(&resp);
    }
    /* a non-fresh token on a fresh route */
    fixed_now = NOW + 5;
    jwtx_response resp;
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = s.refresh}, &resp);
    json_t *body = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    char *n = strdup(cstr(body, "access_token"));
    json_decref(body);
    jwtx_response_clear(&resp);
    run(jwtx_route_protected, &gw, &(rq){.token = n, .params = fresh}, &resp);
    expect_error(&resp, 401, "{\"msg\":\"Fresh token required\"}\n",
                 "Bearer error=\"invalid_token\", error_description=\"Fresh token required\"",
                 "non-fresh on fresh route");
    jwtx_response_clear(&resp);
    free(n);
    fixed_now = NOW;
    /* expired */
    fixed_now = NOW + 901;
    expect_protected(&gw, s.access, 401, "{\"msg\":\"Token has expired\"}\n", "expired");
    fixed_now = NOW;
    run(jwtx_route_protected, &gw, &(rq){.method = "OPTIONS"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "GET, HEAD, OPTIONS, POST");
    CU_ASSERT_EQUAL(resp.body.len, 0);
    jwtx_response_clear(&resp);
    session_clear(&s);
    session_clear(&b);
    jwtx_gateway_close(&gw);
}

/* JWTX_IMPLICIT_REFRESH: a cookie access token with less than the given
 * seconds left is re-issued (non-fresh, user claims) in new cookies. */
/* A token whose identity claim is `sub` set to json (via additional claims,
 * which override the identity in place). */
static char *token_with_sub(jwtx_gateway *gw, const char *json)
{
    json_t *sub = jwtx_json_parse(json, strlen(json), NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
    json_t *extra = json_object();
    CU_ASSERT_EQUAL_FATAL(json_object_set_new(extra, "sub", sub), 0);
    jwtx_token_spec spec = {.claims = extra};
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    jwtx_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(jwtx_token_create(&gw->cfg, "ignored", &spec, &out, NULL, &err), 0);
    json_decref(extra);
    return jwtx_buf_take(&out, NULL);
}

/* With JWT_VERIFY_SUB = False the identity may be any JSON value: the
 * protected example answers that value (as FJE's jsonify does: keys sorted,
 * compact, ASCII), not its text; a string identity is answered as before.
 * The authorizer hands the value's compact JSON text (token key order) to
 * the backend in REMOTE_USER / JWT_IDENTITY. */
static void test_protected_json_identity(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "anysub", BASE "JWT_VERIFY_SUB = False\n"), 0);
    static const struct {
        const char *sub;    /* the claim in the token */
        const char *body;   /* /protected */
        const char *remote; /* the authorizer's REMOTE_USER */
    } rows[] = {
        {"42", "{\"logged_in_as\":42}\n", "42"},
        {"{\"id\": 1, \"n\": \"x\"}", "{\"logged_in_as\":{\"id\":1,\"n\":\"x\"}}\n",
         "{\"id\":1,\"n\":\"x\"}"},
        {"{\"n\": \"\\u00e9\", \"id\": [1, 2.5, null, true]}",
         "{\"logged_in_as\":{\"id\":[1,2.5,null,true],\"n\":\"\\u00e9\"}}\n",
         "{\"n\":\"\\u00e9\",\"id\":[1,2.5,null,true]}"},
        {"-1.5", "{\"logged_in_as\":-1.5}\n", "-1.5"},
        {"false", "{\"logged_in_as\":false}\n", "false"},
        {"null", "{\"logged_in_as\":null}\n", "null"},
        {"[]", "{\"logged_in_as\":[]}\n", "[]"},
        /* where the answer differs from Flask's (docs/programs.md): an
         * integer beyond 64 bits is the nearest double (Flask: the exact
         * integer); a number beyond the doubles is null (Flask: Infinity,
         * which is not JSON); -0 is 0 and -0.0 stays -0.0, as in Python */
        {"12345678901234567890123", "{\"logged_in_as\":1.2345678901234568e+22}\n",
         "1.2345678901234568e+22"},
        {"1e400", "{\"logged_in_as\":null}\n", "null"},
        {"-0", "{\"logged_in_as\":0}\n", "0"},
        {"-0.0", "{\"logged_in_as\":-0.0}\n", "-0.0"},
        {"{\"a\\u0000c\": 1, \"a\\u0000b\": 2}",
         "{\"logged_in_as\":{\"a\\u0000b\":2,\"a\\u0000c\":1}}\n",
         "{\"a\\u0000c\":1,\"a\\u0000b\":2}"},
        {"\"42\"", "{\"logged_in_as\":\"42\"}\n", "42"},
        {"\"alice\"", ALICE, "alice"},
        {"\"r\\u00e9n\\u00e9 \\\"q\\\"\"", "{\"logged_in_as\":\"r\\u00e9n\\u00e9 \\\"q\\\"\"}\n",
         "r\xc3\xa9n\xc3\xa9 \"q\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *tok = token_with_sub(&gw, rows[i].sub);
        jwtx_response resp;
        run(jwtx_route_protected, &gw, &(rq){.token = tok}, &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        expect_body(&resp, rows[i].body, rows[i].sub);
        jwtx_response_clear(&resp);
        for (int az = 0; az < 2; az++) {
            run(jwtx_route_authorizer, &gw, &(rq){.token = tok, .authorizer = az}, &resp);
            CU_ASSERT_EQUAL(resp.status, 200);
            JWTX_ASSERT_STR(
                jwtx_response_header(&resp, az ? "Variable-REMOTE_USER" : "X-Remote-User"),
                rows[i].remote);
            JWTX_ASSERT_STR(
                jwtx_response_header(&resp, az ? "Variable-JWT_IDENTITY" : "X-JWT-Identity"),
                rows[i].remote);
            jwtx_response_clear(&resp);
        }
        free(tok);
    }
    jwtx_gateway_close(&gw);
}

static void test_implicit_refresh(void)
{
    jwtx_gateway gw, off;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "implicit", BASE BOTH "JWTX_IMPLICIT_REFRESH = 600\n"), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&off, "implicit-off", BASE BOTH), 0);
    session s;
    login(&gw, "alice", "wonderland", &s);
    char cookie[2048];
    snprintf(cookie, sizeof cookie, "access_token_cookie=%s; csrf_access_token=%s", s.access,
             s.csrf_a);
    char rcookie[2048];
    snprintf(rcookie, sizeof rcookie, "refresh_token_cookie=%s", s.refresh);
    const char *const as_refresh[] = {"JWTX_REFRESH", "1", NULL};
    const struct {
        const char *label;
        double at;
        bool by_cookie;
        bool refresh_route;
        bool on;
        bool reissued;
    } rows[] = {
        {"cookie, fresh enough", NOW + 100, true, false, true, false},
        {"cookie, exactly 600 left", NOW + 300, true, false, true, false},
        {"cookie, 599 left", NOW + 301, true, false, true, true},
        {"cookie, 500 left", NOW + 400, true, false, true, true},
        {"cookie, 1 left", NOW + 899, true, false, true, true},
        {"header, 500 left", NOW + 400, false, false, true, false},
        {"cookie, option off", NOW + 400, true, false, false, false},
        {"refresh cookie on a refresh-policy route", NOW + 400, true, true, true, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fixed_now = rows[i].at;
        jwtx_response resp;
        rq q = {.method = "GET"};
        if (rows[i].refresh_route) {
            q.cookie = rcookie;
            q.params = as_refresh;
        } else if (rows[i].by_cookie) {
            q.cookie = cookie;
        } else {
            q.token = s.access;
        }
        run(jwtx_route_protected, rows[i].on ? &gw : &off, &q, &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        expect_body(&resp, ALICE, rows[i].label);
        if (!rows[i].reissued) {
            if (hdr_count(&resp, "Set-Cookie") != 0)
                fprintf(stderr, "\n  [%s] unexpected cookies\n", rows[i].label);
            CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 0);
        } else {
            CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 2);
            char *n = cookie_value(&resp, 0, "access_token_cookie");
            char *csrf = cookie_value(&resp, 1, "csrf_access_token");
            json_t *c = claims_of(&gw, n);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c);
            char want[2048];
            snprintf(want, sizeof want, "access_token_cookie=%s; HttpOnly; Path=/", n);
            JWTX_ASSERT_STR(hdr_nth(&resp, "Set-Cookie", 0), want);
            snprintf(want, sizeof want, "csrf_access_token=%s; Path=/", cstr(c, "csrf"));
            JWTX_ASSERT_STR(hdr_nth(&resp, "Set-Cookie", 1), want);
            JWTX_ASSERT_STR(cstr(c, "csrf"), csrf);
            CU_ASSERT_STRING_NOT_EQUAL(n, s.access);
            JWTX_ASSERT_STR(cstr(c, "sub"), "alice");
            JWTX_ASSERT_STR(cstr(c, "type"), "access");
            JWTX_ASSERT_STR(cstr(c, "role"), "admin");
            CU_ASSERT_TRUE(json_is_false(json_object_get(c, "fresh")));
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "iat")), (json_int_t)rows[i].at);
            CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "exp")),
                            (json_int_t)rows[i].at + 900);
            json_decref(c);
            free(n);
            free(csrf);
        }
        jwtx_response_clear(&resp);
    }
    /* a broken claims file: the page is served, no token is re-issued
     * without the user's claims */
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), "{\"alice\": 1}\n"), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    fixed_now = NOW + 400;
    jwtx_response resp;
    run(jwtx_route_protected, &gw, &(rq){.cookie = cookie}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp, ALICE, "implicit refresh, broken claims file");
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 0);
    jwtx_response_clear(&resp);
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), CLAIMS_JSON), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    run(jwtx_route_protected, &gw, &(rq){.cookie = cookie}, &resp);
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 2);
    jwtx_response_clear(&resp);
    fixed_now = NOW;
    session_clear(&s);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&off);
}

/* ------------------------------------------------------------ authorizer */

/* The payload segment of a token, decoded: what JWT_CLAIMS must repeat. */
static void payload_of(const char *tok, char *out, size_t size)
{
    const char *a = strchr(tok, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    out[0] = '\0';
    if (b == NULL)
        return;
    size_t n = (size_t)(b - a - 1);
    unsigned char *buf = malloc(jwtx_b64url_decoded_max(n) + 1);
    size_t len = 0;
    if (buf && jwtx_b64url_decode(a + 1, n, buf, &len) == 0 && len < size) {
        memcpy(out, buf, len);
        out[len] = '\0';
    }
    free(buf);
}

static void expect_grant(const jwtx_response *resp, bool authorizer, const char *user,
                         const char *jti, const char *type, const char *fresh, const char *where,
                         const char *claims, const char *label)
{
    static const char *const vars[] = {"REMOTE_USER", "JWT_IDENTITY", "JWT_JTI",   "JWT_TYPE",
                                       "JWT_FRESH",   "JWT_LOCATION", "JWT_CLAIMS"};
    static const char *const hdrs[] = {"X-Remote-User", "X-JWT-Identity", "X-JWT-Jti",
                                       "X-JWT-Type",    "X-JWT-Fresh",    "X-JWT-Location",
                                       "X-JWT-Claims"};
    const char *values[] = {user, user, jti, type, fresh, where, claims};
    if (resp->status != 200)
        fprintf(stderr, "\n  [%s] status %d: %.*s\n", label, resp->status, (int)resp->body.len,
                resp->body.data ? resp->body.data : "");
    CU_ASSERT_EQUAL(resp->status, 200);
    CU_ASSERT_EQUAL(resp->body.len, 0);
    CU_ASSERT_EQUAL_FATAL(resp->n_headers, 7);
    for (size_t i = 0; i < 7; i++) {
        char name[64];
        if (authorizer)
            snprintf(name, sizeof name, "Variable-%s", vars[i]);
        else
            snprintf(name, sizeof name, "%s", hdrs[i]);
        JWTX_ASSERT_STR(resp->headers[i].name, name);
        JWTX_ASSERT_STR(resp->headers[i].value, values[i]);
    }
}

/* A denial: the error answer plus X-JWT-Status and X-JWT-Error-Body. */
static void expect_denial(const jwtx_response *resp, int status, int real, const char *body,
                          const char *www, const char *label)
{
    if (resp->status != status)
        fprintf(stderr, "\n  [%s] status %d, expected %d\n", label, resp->status, status);
    CU_ASSERT_EQUAL(resp->status, status);
    expect_body(resp, body, label);
    char st[8], line[1024];
    snprintf(st, sizeof st, "%d", real);
    JWTX_ASSERT_STR(jwtx_response_header(resp, "X-JWT-Status"), st);
    snprintf(line, sizeof line, "%.*s", (int)strlen(body) - 1, body);
    JWTX_ASSERT_STR(jwtx_response_header(resp, "X-JWT-Error-Body"), line);
    JWTX_ASSERT_STR(jwtx_response_header(resp, "Cache-Control"), "no-store");
    if (www)
        JWTX_ASSERT_STR(jwtx_response_header(resp, "WWW-Authenticate"), www);
    else
        CU_ASSERT_PTR_NULL(jwtx_response_header(resp, "WWW-Authenticate"));
    CU_ASSERT_PTR_NULL(jwtx_response_header(resp, "Variable-REMOTE_USER"));
    CU_ASSERT_PTR_NULL(jwtx_response_header(resp, "X-Remote-User"));
}

static void test_authorizer_grant(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "authz", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:authz.sqlite'\n"), 0);
    session s;
    login(&gw, "alice", "wonderland", &s);
    json_t *ca = claims_of(&gw, s.access), *cr = claims_of(&gw, s.refresh);
    char pa[2048], pr[2048];
    payload_of(s.access, pa, sizeof pa);
    payload_of(s.refresh, pr, sizeof pr);
    CU_ASSERT(strlen(pa) > 0 && strstr(pa, "\"role\":\"admin\"") != NULL);
    char cookie[2048];
    snprintf(cookie, sizeof cookie, "access_token_cookie=%s; csrf_access_token=%s", s.access,
             s.csrf_a);
    const char *const as_refresh[] = {"JWTX_REFRESH", "on", NULL};
    const char *const opt[] = {"JWTX_OPTIONAL", "1", NULL};
    for (int az = 0; az < 2; az++) {
        jwtx_response resp;
        run(jwtx_route_authorizer, &gw, &(rq){.token = s.access, .authorizer = az}, &resp);
        expect_grant(&resp, az, "alice", cstr(ca, "jti"), "access", "true", "headers", pa,
                     "grant header");
        jwtx_response_clear(&resp);
        run(jwtx_route_authorizer, &gw,
            &(rq){.method = "POST", .cookie = cookie, .csrf = s.csrf_a, .authorizer = az}, &resp);
        expect_grant(&resp, az, "alice", cstr(ca, "jti"), "access", "true", "cookies", pa,
                     "grant cookie");
        jwtx_response_clear(&resp);
        run(jwtx_route_authorizer, &gw,
            &(rq){.token = s.refresh, .params = as_refresh, .authorizer = az}, &resp);
        expect_grant(&resp, az, "alice", cstr(cr, "jti"), "refresh", "false", "headers", pr,
                     "grant refresh");
        jwtx_response_clear(&resp);
        /* anonymous: 200 and nothing else */
        run(jwtx_route_authorizer, &gw, &(rq){.params = opt, .authorizer = az}, &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        CU_ASSERT_EQUAL(resp.n_headers, 0);
        CU_ASSERT_EQUAL(resp.body.len, 0);
        jwtx_response_clear(&resp);
        /* OPTIONS is NOT exempt in an authorizer: an "allow" runs the backend */
        run(jwtx_route_authorizer, &gw, &(rq){.method = "OPTIONS", .authorizer = az}, &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        jwtx_response_clear(&resp);
        /* ... unless the server allows real CORS preflights anonymously */
        const char *const pre[] = {
            "JWTX_PREFLIGHT_ANONYMOUS",           "1",    "HTTP_ORIGIN", "https://app.example",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST", NULL};
        run(jwtx_route_authorizer, &gw, &(rq){.method = "OPTIONS", .params = pre, .authorizer = az},
            &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        CU_ASSERT_EQUAL(resp.n_headers, 0);
        jwtx_response_clear(&resp);
        /* a lower-case method is not a preflight (the backend sees it raw) */
        run(jwtx_route_authorizer, &gw, &(rq){.method = "options", .params = pre, .authorizer = az},
            &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        jwtx_response_clear(&resp);
        /* without Origin it is not a preflight either */
        const char *const half[] = {"JWTX_PREFLIGHT_ANONYMOUS", "1",
                                    "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST", NULL};
        run(jwtx_route_authorizer, &gw,
            &(rq){.method = "OPTIONS", .params = half, .authorizer = az}, &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        jwtx_response_clear(&resp);
    }
    /* a non-fresh token says so */
    fixed_now = NOW + 1;
    jwtx_response resp;
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = s.refresh}, &resp);
    json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    char *n = strdup(cstr(b, "access_token"));
    json_decref(b);
    jwtx_response_clear(&resp);
    json_t *cn = claims_of(&gw, n);
    char pn[2048];
    payload_of(n, pn, sizeof pn);
    run(jwtx_route_authorizer, &gw, &(rq){.token = n, .authorizer = true}, &resp);
    expect_grant(&resp, true, "alice", cstr(cn, "jti"), "access", "false", "headers", pn,
                 "grant non-fresh");
    jwtx_response_clear(&resp);
    fixed_now = NOW;
    json_decref(cn);
    free(n);
    json_decref(ca);
    json_decref(cr);
    session_clear(&s);
    jwtx_gateway_close(&gw);
}

static void test_authorizer_denial(void)
{
    jwtx_gateway gw, down;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "authz-deny", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:authz-deny.sqlite'\n"), 0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&down, "authz-down",
                                  BASE BOTH "JWTX_BLOCKLIST = 'redis://127.0.0.1:1'\n"
                                            "JWTX_BLOCKLIST_TIMEOUT_MS = 50\n"),
                          0);
    session s, r;
    login(&gw, "alice", "wonderland", &s);
    login(&gw, "bob", "builder", &r);
    jwtx_response resp;
    run(jwtx_route_logout, &gw, &(rq){.method = "POST", .token = r.access}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    jwtx_response_clear(&resp);

    const char *const ar1[] = {"JWTX_AUTH_REQUEST", "1", NULL};
    const char *const ar_on[] = {"JWTX_AUTH_REQUEST", "On", NULL};
    const char *const ar0[] = {"JWTX_AUTH_REQUEST", "0", NULL};
    const char *const ar_no[] = {"JWTX_AUTH_REQUEST", "no", NULL};
    const char *const fresh_ar[] = {"JWTX_FRESH", "1", "JWTX_AUTH_REQUEST", "TRUE", NULL};
    const char *const admin[] = {"JWTX_REQUIRE_CLAIMS", "{\"role\":\"admin\"}", "JWTX_AUTH_REQUEST",
                                 "yes", NULL};
    const char *const bogus[] = {"JWTX_LOCATIONS", "nowhere", NULL};
    static const char segs[] = "{\"msg\":\"Not enough segments\"}\n";
    static const char rev_www[] =
        "Bearer error=\"invalid_token\", error_description=\"Token has been revoked\"";
    const struct {
        const char *label;
        jwtx_gateway *g;
        rq q;
        int status_az, status_resp; /* answered status in AUTHORIZER / RESPONDER role */
        int real;
        const char *body, *www;
    } rows[] = {
        {"no token", &gw, {0}, 401, 401, 401, MISSING_BOTH, "Bearer"},
        {"no token, auth_request", &gw, {.params = ar1}, 401, 401, 401, MISSING_BOTH, "Bearer"},
        {"garbage", &gw, {.auth = "Bearer abc"}, 422, 422, 422, segs, NULL},
        {"garbage, auth_request",
         &gw,
         {.auth = "Bearer abc", .params = ar1},
         422,
         401,
         422,
         segs,
         NULL},
        {"garbage, auth_request On",
         &gw,
         {.auth = "Bearer abc", .params = ar_on},
         422,
         401,
         422,
         segs,
         NULL},
        {"garbage, auth_request 0",
         &gw,
         {.auth = "Bearer abc", .params = ar0},
         422,
         422,
         422,
         segs,
         NULL},
        {"garbage, auth_request no",
         &gw,
         {.auth = "Bearer abc", .params = ar_no},
         422,
         422,
         422,
         segs,
         NULL},
        {"revoked", &gw, {.token = r.access}, 401, 401, 401, REVOKED, rev_www},
        {"refresh token, auth_request",
         &gw,
         {.token = s.refresh, .params = ar1},
         422,
         401,
         422,
         "{\"msg\":\"Only non-refresh tokens are allowed\"}\n",
         NULL},
        {"store down", &down, {.token = s.access}, 503, 503, 503, NO_STORE_MSG, NULL},
        {"store down, auth_request",
         &down,
         {.token = s.access, .params = ar1},
         503,
         401,
         503,
         NO_STORE_MSG,
         NULL},
        {"bad route parameter",
         &gw,
         {.token = s.access, .params = bogus},
         500,
         500,
         500,
         "{\"msg\":\"Internal server error\"}\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (int az = 0; az < 2; az++) {
            rq q = rows[i].q;
            q.authorizer = az;
            char label[96];
            snprintf(label, sizeof label, "%s (%s)", rows[i].label,
                     az ? "authorizer" : "responder");
            run(jwtx_route_authorizer, rows[i].g, &q, &resp);
            expect_denial(&resp, az ? rows[i].status_az : rows[i].status_resp, rows[i].real,
                          rows[i].body, rows[i].www, label);
            jwtx_response_clear(&resp);
        }
    }
    /* a claims failure (400) with nginx's auth_request becomes 401 */
    session b2;
    login(&gw, "bob", "builder", &b2);
    for (int az = 0; az < 2; az++) {
        run(jwtx_route_authorizer, &gw,
            &(rq){.token = b2.access, .params = admin, .authorizer = az}, &resp);
        expect_denial(&resp, az ? 400 : 401, 400, "{\"msg\":\"User claims verification failed\"}\n",
                      NULL, az ? "claims (authorizer)" : "claims, auth_request (responder)");
        jwtx_response_clear(&resp);
    }
    /* a non-fresh token on a fresh route */
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = b2.refresh}, &resp);
    json_t *body = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    char *n = strdup(cstr(body, "access_token"));
    json_decref(body);
    jwtx_response_clear(&resp);
    run(jwtx_route_authorizer, &gw, &(rq){.token = n, .params = fresh_ar}, &resp);
    expect_denial(&resp, 401, 401, "{\"msg\":\"Fresh token required\"}\n",
                  "Bearer error=\"invalid_token\", error_description=\"Fresh token required\"",
                  "fresh route, auth_request");
    jwtx_response_clear(&resp);
    free(n);
    fixed_now = NOW;
    session_clear(&b2);
    session_clear(&s);
    session_clear(&r);
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&down);
}

/* JWTX_RENDER_ERROR=1: nginx's error page hands back the stored denial. */
static void test_authorizer_render_error(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "render", BASE BOTH), 0);
    static const char internal[] = "{\"msg\":\"Internal server error\"}\n";
    static const struct {
        const char *status, *body; /* JWTX_ERROR_STATUS / _BODY, NULL = absent */
        int want;
        const char *out;
    } rows[] = {
        {"401", "{\"msg\":\"Missing Authorization Header\"}", 401,
         "{\"msg\":\"Missing Authorization Header\"}\n"},
        {"422", "{\"msg\":\"Not enough segments\"}", 422, "{\"msg\":\"Not enough segments\"}\n"},
        {"400", "{\"msg\":\"User claims verification failed\"}", 400,
         "{\"msg\":\"User claims verification failed\"}\n"},
        {"503", "{\"msg\":\"Token revocation store unavailable\"}", 503, NO_STORE_MSG},
        {"401", "{\"msg\":\"Missing cookie \\\"access_token_cookie\\\"\"}", 401,
         "{\"msg\":\"Missing cookie \\\"access_token_cookie\\\"\"}\n"},
        {"401", "{\"msg\":\"caf\\u00e9\"}", 401, "{\"msg\":\"caf\\u00e9\"}\n"},
        {"401", "{\"msg\":\"x\",\"a\":1}", 401, "{\"a\":1,\"msg\":\"x\"}\n"},
        {"200", "{\"msg\":\"x\"}", 500, internal},
        {"302", "{\"msg\":\"x\"}", 500, internal},
        {"600", "{\"msg\":\"x\"}", 500, internal},
        {"4x1", "{\"msg\":\"x\"}", 500, internal},
        {"40", "{\"msg\":\"x\"}", 500, internal},
        {"4011", "{\"msg\":\"x\"}", 500, internal},
        {" 401", "{\"msg\":\"x\"}", 500, internal},
        {"", "{\"msg\":\"x\"}", 500, internal},
        {NULL, "{\"msg\":\"x\"}", 500, internal},
        {"401", NULL, 500, internal},
        {"401", "", 500, internal},
        {"401", "not json", 500, internal},
        {"401", "[1]", 500, internal},
        {"401", "\"msg\"", 500, internal},
        {"401", "{\"msg\":\"x\",\"msg\":\"y\"}", 500, internal},
    };
    session s;
    login(&gw, "alice", "wonderland", &s);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *params[8];
        size_t k = 0;
        params[k++] = "JWTX_RENDER_ERROR";
        params[k++] = "1";
        if (rows[i].status) {
            params[k++] = "JWTX_ERROR_STATUS";
            params[k++] = rows[i].status;
        }
        if (rows[i].body) {
            params[k++] = "JWTX_ERROR_BODY";
            params[k++] = rows[i].body;
        }
        params[k] = NULL;
        char label[64];
        snprintf(label, sizeof label, "render row %zu", i);
        jwtx_response resp;
        /* nothing is verified again: a valid token does not matter */
        run(jwtx_route_authorizer, &gw, &(rq){.token = s.access, .params = params}, &resp);
        CU_ASSERT_EQUAL(resp.status, rows[i].want);
        expect_body(&resp, rows[i].out, label);
        JWTX_ASSERT_STR(jwtx_response_header(&resp, "Content-Type"), "application/json");
        JWTX_ASSERT_STR(jwtx_response_header(&resp, "Cache-Control"), "no-store");
        CU_ASSERT_EQUAL(hdr_count(&resp, "Cache-Control"), 1);
        CU_ASSERT_PTR_NULL(jwtx_response_header(&resp, "WWW-Authenticate"));
        CU_ASSERT_PTR_NULL(jwtx_response_header(&resp, "X-Remote-User"));
        jwtx_response_clear(&resp);
        /* the AUTHORIZER role never renders: it verifies */
        rq az = {.token = s.access, .params = params, .authorizer = true};
        run(jwtx_route_authorizer, &gw, &az, &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        JWTX_ASSERT_STR(jwtx_response_header(&resp, "Variable-REMOTE_USER"), "alice");
        jwtx_response_clear(&resp);
    }
    /* other spellings of the switch */
    static const char *const on[] = {"true", "YES", "on", "1"};
    for (size_t i = 0; i < 4; i++) {
        const char *params[] = {"JWTX_RENDER_ERROR",
                                on[i],
                                "JWTX_ERROR_STATUS",
                                "401",
                                "JWTX_ERROR_BODY",
                                "{\"msg\":\"Token has been revoked\"}",
                                NULL};
        jwtx_response resp;
        run(jwtx_route_authorizer, &gw, &(rq){.params = params}, &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        expect_body(&resp, REVOKED, on[i]);
        jwtx_response_clear(&resp);
    }
    const char *params[] = {"JWTX_RENDER_ERROR",
                            "0",
                            "JWTX_ERROR_STATUS",
                            "401",
                            "JWTX_ERROR_BODY",
                            "{\"msg\":\"Token has been revoked\"}",
                            NULL};
    jwtx_response resp;
    run(jwtx_route_authorizer, &gw, &(rq){.token = s.access, .params = params}, &resp);
    expect_grant(&resp, false, "alice", resp.n_headers == 7 ? resp.headers[2].value : "", "access",
                 "true", "headers", resp.n_headers == 7 ? resp.headers[6].value : "", "render off");
    jwtx_response_clear(&resp);
    session_clear(&s);
    jwtx_gateway_close(&gw);
}

/* ------------------------------------------------------------ JWKS */

static void test_jwks(void)
{
    char ed[PATH_MAX], rsa[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath("tests/fixtures/keys/rfc8037-a1.pem", ed));
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath("tests/fixtures/keys/rsa2048.pem", rsa));
    char conf[PATH_MAX + 256];
    jwtx_gateway hs, eddsa, rs, named;
    CU_ASSERT_EQUAL_FATAL(gw_open(&hs, "jwks-hs", BASE), 0);
    snprintf(conf, sizeof conf, "JWT_ALGORITHM = 'EdDSA'\nJWTX_PRIVATE_KEY_FILE = '%s'\n", ed);
    CU_ASSERT_EQUAL_FATAL(gw_open(&eddsa, "jwks-ed", conf), 0);
    snprintf(conf, sizeof conf, "JWT_ALGORITHM = 'RS256'\nJWTX_PRIVATE_KEY_FILE = '%s'\n", rsa);
    CU_ASSERT_EQUAL_FATAL(gw_open(&rs, "jwks-rs", conf), 0);
    snprintf(conf, sizeof conf,
             "JWT_ALGORITHM = 'EdDSA'\nJWTX_PRIVATE_KEY_FILE = '%s'\nJWTX_KEY_ID = 'k-2024'\n", ed);
    CU_ASSERT_EQUAL_FATAL(gw_open(&named, "jwks-named", conf), 0);

    jwtx_response resp;
    run(jwtx_route_jwks, &hs, &(rq){.uri = "/.well-known/jwks.json"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp, "{\"keys\":[]}\n", "HS256");
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Content-Type"), "application/json");
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Cache-Control"), "public, max-age=300");
    jwtx_response_clear(&resp);

    /* RFC 8037 A.1 key; its RFC 7638 thumbprint is RFC 8037 A.3's */
    run(jwtx_route_jwks, &eddsa, &(rq){.method = "HEAD"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp,
                "{\"keys\":[{\"alg\":\"EdDSA\",\"crv\":\"Ed25519\","
                "\"kid\":\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\",\"kty\":\"OKP\","
                "\"use\":\"sig\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}\n",
                "EdDSA");
    jwtx_response_clear(&resp);
    run(jwtx_route_jwks, &named, &(rq){0}, &resp);
    expect_body(&resp,
                "{\"keys\":[{\"alg\":\"EdDSA\",\"crv\":\"Ed25519\",\"kid\":\"k-2024\","
                "\"kty\":\"OKP\",\"use\":\"sig\","
                "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}\n",
                "EdDSA named");
    jwtx_response_clear(&resp);

    /* RSA: one public key named by its thumbprint */
    FILE *f = fopen(rsa, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char pem[8192];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    jwtx_error err;
    jwtx_key *key = jwtx_key_new_pem(pem, n, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key);
    char thumb[44];
    CU_ASSERT_EQUAL(jwtx_key_thumbprint(key, thumb), 0);
    jwtx_key_free(key);
    run(jwtx_route_jwks, &rs, &(rq){0}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    json_t *set = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    json_t *keys = json_object_get(set, "keys");
    CU_ASSERT_EQUAL(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    JWTX_ASSERT_STR(cstr(k, "kid"), thumb);
    JWTX_ASSERT_STR(cstr(k, "alg"), "RS256");
    JWTX_ASSERT_STR(cstr(k, "use"), "sig");
    JWTX_ASSERT_STR(cstr(k, "kty"), "RSA");
    JWTX_ASSERT_STR(cstr(k, "e"), "AQAB");
    CU_ASSERT_EQUAL(strlen(cstr(k, "n") ? cstr(k, "n") : ""), 342); /* 2048 bits */
    CU_ASSERT_PTR_NULL(json_object_get(k, "d"));
    CU_ASSERT_PTR_NULL(json_object_get(k, "p"));
    CU_ASSERT_EQUAL(json_object_size(k), 6);
    json_decref(set);
    jwtx_response_clear(&resp);

    static const char *const wrong[] = {"POST", "PUT", "DELETE"};
    for (size_t i = 0; i < 3; i++) {
        run(jwtx_route_jwks, &rs, &(rq){.method = wrong[i]}, &resp);
        expect_error(&resp, 405, "{\"msg\":\"Method not allowed\"}\n", NULL, wrong[i]);
        JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "GET, HEAD, OPTIONS");
        jwtx_response_clear(&resp);
    }
    run(jwtx_route_jwks, &rs, &(rq){.method = "OPTIONS"}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Allow"), "GET, HEAD, OPTIONS");
    CU_ASSERT_EQUAL(resp.body.len, 0);
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&hs);
    jwtx_gateway_close(&eddsa);
    jwtx_gateway_close(&rs);
    jwtx_gateway_close(&named);
}

/* ------------------------------------------------------------ open */

/* ------------------------------------------------------------ login protection */

static long long reg_now;

static long long reg_clock(void *ctx)
{
    (void)ctx;
    return reg_now;
}

/* Audit lines written through the "server" writer, as serve.c sets it. */
typedef struct grabbed {
    char text[32768];
    size_t len;
    int n;
} grabbed;

static void grab(void *ctx, const char *line, size_t len)
{
    grabbed *g = ctx;
    if (g->len + len < sizeof g->text) {
        memcpy(g->text + g->len, line, len);
        g->len += len;
        g->text[g->len] = '\0';
    }
    g->n++;
}

/* The n-th line (from 0) of g that contains what, or NULL. */
static const char *grabbed_line(const grabbed *g, const char *what, char *out, size_t size)
{
    const char *p = g->text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(out, size, "%.*s", (int)n, p);
        if (strstr(out, what) != NULL)
            return out;
        p += n + (nl ? 1 : 0);
    }
    return NULL;
}

static void login_as(jwtx_gateway *gw, const char *addr, const char *user, const char *pw,
                     bool form, jwtx_response *resp)
{
    char body[256];
    if (form)
        snprintf(body, sizeof body, "username=%s&password=%s", user, pw);
    else
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    const char *params[] = {"REMOTE_ADDR", addr, NULL};
    rq q = {.method = "POST",
            .uri = "/login",
            .ctype = form ? FORM_CT : JSON_CT,
            .body = body,
            .params = params};
    run(jwtx_route_login, gw, &q, resp);
}

static int login_status(jwtx_gateway *gw, const char *addr, const char *user, const char *pw)
{
    jwtx_response resp;
    login_as(gw, addr, user, pw, false, &resp);
    int st = resp.status;
    jwtx_response_clear(&resp);
    return st;
}

#define TOO_MANY "{\"msg\":\"Too many failed login attempts\"}\n"

static void test_login_regulation(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "reg",
                                  BASE BOTH "JWTX_LOGIN_MAX_FAILURES = 3\n"
                                            "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 5\n"
                                            "JWTX_LOGIN_BAN_TIME = 60\n"),
                          0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw.regulator);
    jwtx_regulate_set_clock(gw.regulator, reg_clock, NULL);
    reg_now = 2000000000;
    grabbed *g = calloc(1, sizeof *g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jwtx_audit_set_server_writer(gw.audit, grab, g);

    /* three wrong passwords: 401 each, the third starts the pair's ban */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.10", "alice", "nope"), 401);
    /* banned: the right password is refused too, 429, no cookie, no token */
    jwtx_response resp;
    login_as(&gw, "192.0.2.10", "alice", "wonderland", false, &resp);
    expect_error(&resp, 429, TOO_MANY, NULL, "banned JSON login");
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Retry-After"), "60");
    jwtx_response_clear(&resp);
    /* the HTML form login answers the same */
    reg_now += 20;
    login_as(&gw, "192.0.2.10", "alice", "wonderland", true, &resp);
    expect_error(&resp, 429, TOO_MANY, NULL, "banned form login");
    JWTX_ASSERT_STR(jwtx_response_header(&resp, "Retry-After"), "40");
    jwtx_response_clear(&resp);
    /* the same user from elsewhere, and another user from there: fine */
    CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.11", "alice", "wonderland"), 200);
    CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.10", "bob", "builder"), 200);
    /* after the ban: the right password works */
    reg_now += 40;
    CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.10", "alice", "wonderland"), 200);

    /* spraying names from one address bans the address, unknown names alike */
    static const char *const names[] = {"ghost1", "ghost2", "alice", "ghost3", "bob"};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(login_status(&gw, "198.51.100.9", names[i], "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "198.51.100.9", "carol", "whatever"), 429);
    CU_ASSERT_EQUAL(login_status(&gw, "198.51.100.10", "carol", "whatever"), 401);

    /* a success clears the pair: 2 wrong, right, 2 wrong is no ban */
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "builder"), 200);
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "203.0.113.1", "bob", "builder"), 200);

    /* IPv6 counts per /64: three addresses of one /64 are one client */
    CU_ASSERT_EQUAL(login_status(&gw, "2001:db8:1:2::a", "alice", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "2001:db8:1:2::b", "alice", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "2001:db8:1:2::c", "alice", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "2001:db8:1:2:ffff::1", "alice", "wonderland"), 429);
    CU_ASSERT_EQUAL(login_status(&gw, "2001:db8:1:3::1", "alice", "wonderland"), 200);

    /* the audit lines of all that */
    char line[2048];
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g,
                                        "event=login_failure addr=192.0.2.10 user=\"alice\" "
                                        "route=\"/login\" reason=wrong_password",
                                        line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(
        grabbed_line(g,
                     "event=ban_start addr=192.0.2.10 user=\"alice\" route=\"/login\" ban=pair "
                     "until=2033-05-18T03:34:20Z",
                     line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(
        grabbed_line(g,
                     "event=login_banned addr=192.0.2.10 user=\"alice\" route=\"/login\" "
                     "ban=pair until=2033-05-18T03:34:20Z",
                     line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(
        grabbed_line(g, "event=login_success addr=192.0.2.11 user=\"alice\" route=\"/login\"", line,
                     sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g,
                                        "event=login_failure addr=198.51.100.9 user=\"ghost1\" "
                                        "route=\"/login\" reason=unknown_user",
                                        line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g,
                                        "event=ban_start addr=198.51.100.9 route=\"/login\" "
                                        "ban=address",
                                        line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g,
                                        "event=login_failure addr=2001:db8:1:2::/64 "
                                        "user=\"alice\"",
                                        line, sizeof line));
    /* never a password */
    CU_ASSERT_PTR_NULL(strstr(g->text, "wonderland"));
    CU_ASSERT_PTR_NULL(strstr(g->text, "builder"));
    CU_ASSERT_PTR_NULL(strstr(g->text, "nope"));
    jwtx_audit_set_server_writer(gw.audit, NULL, NULL);
    free(g);
    jwtx_gateway_close(&gw);
}

static void test_login_regulation_options(void)
{
    /* JWT_ERROR_MESSAGE_KEY holds the 429's message too */
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "reg-key",
                                  BASE "JWT_ERROR_MESSAGE_KEY = 'error'\n"
                                       "JWTX_LOGIN_MAX_FAILURES = 1\n"
                                       "JWTX_AUDIT_LOG = ''\n"),
                          0);
    CU_ASSERT_PTR_NULL(gw.audit);
    CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.1", "alice", "x"), 401);
    jwtx_response resp;
    login_as(&gw, "192.0.2.1", "alice", "wonderland", false, &resp);
    expect_error(&resp, 429, "{\"error\":\"Too many failed login attempts\"}\n", NULL, "key");
    jwtx_response_clear(&resp);
    jwtx_gateway_close(&gw);

    /* regulation off: no regulator, never 429 */
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "reg-off",
                                  BASE "JWTX_LOGIN_REGULATION = False\n"
                                       "JWTX_AUDIT_LOG = ''\n"),
                          0);
    CU_ASSERT_PTR_NULL(gw.regulator);
    for (int i = 0; i < 30; i++)
        CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.1", "alice", "x"), 401);
    CU_ASSERT_EQUAL(login_status(&gw, "192.0.2.1", "alice", "wonderland"), 200);
    jwtx_gateway_close(&gw);

    /* behind a trusted proxy the client is the X-Forwarded-For address */
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "reg-proxy",
                                  BASE "JWTX_LOGIN_MAX_FAILURES = 2\n"
                                       "JWTX_TRUSTED_PROXIES = ['127.0.0.1']\n"
                                       "JWTX_AUDIT_LOG = 'audit.log'\n"),
                          0);
    for (int i = 0; i < 2; i++) {
        const char *params[] = {"REMOTE_ADDR", "127.0.0.1", "HTTP_X_FORWARDED_FOR",
                                i == 0 ? "6.6.6.6, 198.51.100.20" : "7.7.7.7, 198.51.100.20", NULL};
        rq q = {.method = "POST",
                .uri = "/login",
                .ctype = JSON_CT,
                .body = "{\"username\":\"bob\",\"password\":\"x\"}",
                .params = params};
        run(jwtx_route_login, &gw, &q, &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        jwtx_response_clear(&resp);
    }
    /* bob from 198.51.100.20 is banned; bob from another client of the
     * same proxy is not */
    {
        const char *params[] = {"REMOTE_ADDR", "127.0.0.1", "HTTP_X_FORWARDED_FOR", "198.51.100.21",
                                NULL};
        rq q = {.method = "POST",
                .uri = "/login",
                .ctype = JSON_CT,
                .body = "{\"username\":\"bob\",\"password\":\"builder\"}",
                .params = params};
        run(jwtx_route_login, &gw, &q, &resp);
        CU_ASSERT_EQUAL(resp.status, 200);
        jwtx_response_clear(&resp);
        params[3] = "198.51.100.20";
        run(jwtx_route_login, &gw, &q, &resp);
        CU_ASSERT_EQUAL(resp.status, 429);
        jwtx_response_clear(&resp);
    }
    jwtx_gateway_close(&gw);
    /* the file audit log, relative to the conf's directory */
    char *text = jwtx_cu_slurp(tpath("audit.log"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " event=login_failure addr=198.51.100.20 user=\"bob\" "
                                        "route=\"/login\" reason=wrong_password\n"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(text, " event=login_success addr=198.51.100.21 user=\"bob\" route=\"/login\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, " event=login_banned addr=198.51.100.20 user=\"bob\""));
    CU_ASSERT_PTR_NULL(strstr(text, "6.6.6.6"));
    free(text);

    /* an audit file that cannot be opened stops the gateway at start */
    char want[512], errbuf[1024] = "";
    const char *path = tpath("bad-audit.conf");
    CU_ASSERT_EQUAL_FATAL(write_file(path, BASE "JWTX_AUDIT_LOG = '/nonexistent-dir/a.log'\n"), 0);
    snprintf(want, sizeof want,
             "%s: JWTX_AUDIT_LOG: cannot open /nonexistent-dir/a.log: No such file or directory",
             path);
    CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", path, errbuf, sizeof errbuf), -1);
    JWTX_ASSERT_STR(errbuf, want);
    jwtx_gateway_close(&gw);
}

/* Audit lines of the other outcomes: missing fields, refresh, logout, a
 * revoked token presented, the store unavailable and back. */
static void test_audit_events(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "audit-ev",
                                  BASE "JWTX_BLOCKLIST = 'sqlite:audit.sqlite'\n"
                                       "JWTX_BLOCKLIST_RETRY_MS = 0\n"),
                          0);
    grabbed *g = calloc(1, sizeof *g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jwtx_audit_set_server_writer(gw.audit, grab, g);
    jwtx_response resp;
    const char *params[] = {"REMOTE_ADDR", "192.0.2.77", NULL};
    rq q = {.method = "POST",
            .uri = "/login",
            .ctype = JSON_CT,
            .body = "{\"username\":\"al\\nice\"}",
            .params = params};
    run(jwtx_route_login, &gw, &q, &resp);
    CU_ASSERT_EQUAL(resp.status, 400);
    jwtx_response_clear(&resp);
    login_as(&gw, "192.0.2.77", "bob", "builder", false, &resp);
    CU_ASSERT_EQUAL_FATAL(resp.status, 200);
    json_t *body = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    char *refresh = strdup(json_string_value(json_object_get(body, "refresh_token")));
    json_decref(body);
    jwtx_response_clear(&resp);
    rq rr = {.method = "POST", .uri = "/refresh", .token = refresh, .params = params};
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    jwtx_response_clear(&resp);
    rq lo = {.method = "POST", .uri = "/logout", .token = refresh, .params = params};
    run(jwtx_route_logout, &gw, &lo, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    jwtx_response_clear(&resp);
    /* the revoked refresh token presented again */
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 401);
    jwtx_response_clear(&resp);
    /* the store file removed: 503, one store_unavailable line; back: one
     * store_available line */
    static const char *const files[] = {"audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"};
    char away[3][64];
    for (int i = 0; i < 3; i++) {
        snprintf(away[i], sizeof away[i], "away-%s", files[i]);
        rename(tpath(files[i]), tpath(away[i])); /* -wal, -shm: if there */
    }
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 503);
    jwtx_response_clear(&resp);
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 503);
    jwtx_response_clear(&resp);
    for (int i = 0; i < 3; i++)
        rename(tpath(away[i]), tpath(files[i])); /* the store with its -wal and -shm */
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 401);
    jwtx_response_clear(&resp);

    char line[2048];
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g,
                                        "event=login_failure addr=192.0.2.77 user=\"al\\nice\" "
                                        "route=\"/login\" reason=missing_fields",
                                        line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(
        grabbed_line(g, "event=refresh addr=192.0.2.77 user=\"bob\" jti=\"", line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(
        grabbed_line(g, "event=logout addr=192.0.2.77 user=\"bob\" jti=\"", line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, "event=revoked_token addr=192.0.2.77 route=\"/refresh\"",
                                        line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, "event=store_unavailable reason=", line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, "event=store_available", line, sizeof line));
    /* missing, success, refresh, logout, 2 x revoked, unavailable, available */
    CU_ASSERT_EQUAL(g->n, 8);
    if (g->n != 8)
        fprintf(stderr, "\n  audit lines:\n%s", g->text);
    /* no token in any line */
    CU_ASSERT_PTR_NULL(strstr(g->text, refresh));
    CU_ASSERT_PTR_NULL(strstr(g->text, "eyJ"));
    free(refresh);
    jwtx_audit_set_server_writer(gw.audit, NULL, NULL);
    free(g);
    jwtx_gateway_close(&gw);
}

/* ------------------------------------------------------------ sessions */

#define ROT "JWTX_REFRESH_ROTATION = True\n"
#define EXP_R ((json_int_t)NOW + 2592000) /* the login's refresh exp */

/* /refresh with a refresh token in the header: the status, and with 200 the
 * two new tokens from the body (malloc'd, else NULL). */
static int rotate(jwtx_gateway *gw, const char *tok, char **access, char **refresh)
{
    jwtx_response resp;
    run(jwtx_route_refresh, gw, &(rq){.method = "POST", .uri = "/refresh", .token = tok}, &resp);
    int st = resp.status;
    if (access)
        *access = NULL;
    if (refresh)
        *refresh = NULL;
    if (st == 200) {
        json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
        CU_ASSERT_EQUAL(json_object_size(b), 2);
        if (access && cstr(b, "access_token"))
            *access = strdup(cstr(b, "access_token"));
        if (refresh && cstr(b, "refresh_token"))
            *refresh = strdup(cstr(b, "refresh_token"));
        json_decref(b);
    }
    jwtx_response_clear(&resp);
    return st;
}

/* The fam claim of a token as text ("" when none). */
static void fam_of(jwtx_gateway *gw, const char *tok, char *out, size_t size)
{
    json_t *c = claims_of(gw, tok);
    snprintf(out, size, "%s", c && cstr(c, "fam") ? cstr(c, "fam") : "");
    json_decref(c);
}

static json_int_t exp_of(jwtx_gateway *gw, const char *tok)
{
    json_t *c = claims_of(gw, tok);
    json_int_t e = json_integer_value(json_object_get(c, "exp"));
    json_decref(c);
    return e;
}

typedef struct fam_seen {
    int n;
    char fam[4][64];
    long long expires[4], last[4];
} fam_seen;

static int fam_cb(const jwtx_family_info *f, void *ctx)
{
    fam_seen *s = ctx;
    if (s->n < 4) {
        snprintf(s->fam[s->n], sizeof s->fam[0], "%s", f->family);
        s->expires[s->n] = f->expires;
        s->last[s->n] = f->last_refresh;
    }
    s->n++;
    return 0;
}

static fam_seen live_families(jwtx_gateway *gw, const char *user)
{
    fam_seen s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL(
        jwtx_blocklist_family_list(gw->blocklist, user, (long long)fixed_now, fam_cb, &s), 0);
    return s;
}

/* The keys of a token's payload in order, comma-separated. */
static void keys_of(const char *tok, char *out, size_t size)
{
    char p[4096];
    payload_of(tok, p, sizeof p);
    json_t *j = jwtx_json_parse(p, strlen(p), NULL, 0);
    const char *k;
    json_t *v;
    out[0] = '\0';
    json_object_foreach(j, k, v)
    {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? "," : "", k);
    }
    json_decref(j);
}

static void test_rotation_login_refresh(void)
{
    jwtx_gateway gw, off;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "rot", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:rot.sqlite'\n" ROT), 0);
    /* the same store without rotation: tokens from before it was turned on */
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&off, "rot-off", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:rot.sqlite'\n"), 0);
    fixed_now = NOW;

    /* login: both tokens carry the same new family, right after jti, and
     * the store knows it, expiring with the refresh token */
    jwtx_response resp;
    run(jwtx_route_login, &gw,
        &(rq){.method = "POST",
              .uri = "/login",
              .ctype = JSON_CT,
              .body = "{\"username\":\"alice\",\"password\":\"wonderland\"}"},
        &resp);
    expect_login_tokens(&gw, &resp, "alice", "admin", true, "rotation login");
    jwtx_response_clear(&resp);
    session s;
    login(&gw, "alice", "wonderland", &s);
    char fa[64], fr[64], keys[256];
    fam_of(&gw, s.access, fa, sizeof fa);
    fam_of(&gw, s.refresh, fr, sizeof fr);
    CU_ASSERT_EQUAL(strlen(fa), 36);
    JWTX_ASSERT_STR(fa, fr);
    keys_of(s.access, keys, sizeof keys);
    JWTX_ASSERT_STR(keys, "fresh,iat,jti,fam,type,sub,nbf,csrf,exp,role,scopes");
    keys_of(s.refresh, keys, sizeof keys);
    JWTX_ASSERT_STR(keys, "fresh,iat,jti,fam,type,sub,nbf,csrf,exp,role,scopes");
    fam_seen f = live_families(&gw, "alice");
    CU_ASSERT_EQUAL(f.n, 2); /* two logins, two sessions */
    CU_ASSERT(strcmp(f.fam[0], fa) == 0 || strcmp(f.fam[1], fa) == 0);
    CU_ASSERT_EQUAL(f.expires[0], EXP_R);

    /* refresh: a new access and a new refresh token of the family, the
     * refresh token keeping the login's exp; the four cookies again */
    fixed_now = NOW + 60;
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .uri = "/refresh", .token = s.refresh},
        &resp);
    CU_ASSERT_EQUAL_FATAL(resp.status, 200);
    json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    const char *a1 = cstr(b, "access_token"), *r1 = cstr(b, "refresh_token");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1);
    char want[4096];
    snprintf(want, sizeof want, "{\"access_token\":\"%s\",\"refresh_token\":\"%s\"}\n", a1, r1);
    expect_body(&resp, want, "rotation refresh body");
    json_t *ca = claims_of(&gw, a1), *cr = claims_of(&gw, r1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cr);
    JWTX_ASSERT_STR(cstr(ca, "fam"), fa);
    JWTX_ASSERT_STR(cstr(cr, "fam"), fa);
    JWTX_ASSERT_STR(cstr(ca, "type"), "access");
    JWTX_ASSERT_STR(cstr(cr, "type"), "refresh");
    CU_ASSERT_TRUE(json_is_false(json_object_get(ca, "fresh")));
    JWTX_ASSERT_STR(cstr(ca, "role"), "admin");
    JWTX_ASSERT_STR(cstr(cr, "role"), "admin");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(ca, "exp")), (json_int_t)NOW + 960);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(cr, "exp")), EXP_R);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(cr, "iat")), (json_int_t)NOW + 60);
    keys_of(r1, keys, sizeof keys);
    JWTX_ASSERT_STR(keys, "fresh,iat,jti,fam,type,sub,nbf,csrf,exp,role,scopes");
    expect_login_cookies(&resp, a1, r1, cstr(ca, "csrf"), cstr(cr, "csrf"));
    char *acc1 = strdup(a1), *ref1 = strdup(r1);
    json_decref(ca);
    json_decref(cr);
    json_decref(b);
    jwtx_response_clear(&resp);
    f = live_families(&gw, "alice");
    CU_ASSERT(f.last[0] == (long long)NOW + 60 || f.last[1] == (long long)NOW + 60);
    expect_protected(&gw, acc1, 200, ALICE, "rotated access token");

    /* within the grace period (10 s) the old refresh token refreshes
     * again, in the same family (two tabs) */
    fixed_now = NOW + 65;
    char *acc2 = NULL, *ref2 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, s.refresh, &acc2, &ref2), 200);
    char f2[64];
    fam_of(&gw, ref2, f2, sizeof f2);
    JWTX_ASSERT_STR(f2, fa);
    CU_ASSERT_EQUAL(exp_of(&gw, ref2), EXP_R);
    /* the new one rotates on */
    fixed_now = NOW + 70;
    char *acc3 = NULL, *ref3 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, ref1, &acc3, &ref3), 200);
    CU_ASSERT_EQUAL(exp_of(&gw, ref3), EXP_R);

    /* another session of alice, and one of bob */
    session other, bob;
    login(&gw, "alice", "wonderland", &other);
    login(&gw, "bob", "builder", &bob);

    /* after the grace period the old refresh token is a replay: 401, and
     * the whole family is over, at every route */
    fixed_now = NOW + 71; /* 11 s after its rotation at NOW + 60 */
    expect_refresh_status(&gw, s.refresh, 401, REVOKED, "replay after grace");
    expect_refresh_status(&gw, ref3, 401, REVOKED, "latest refresh token of the family");
    expect_refresh_status(&gw, ref2, 401, REVOKED, "grace refresh token of the family");
    expect_protected(&gw, s.access, 401, REVOKED, "login access token of the family");
    expect_protected(&gw, acc1, 401, REVOKED, "rotated access token of the family");
    expect_protected(&gw, acc3, 401, REVOKED, "latest access token of the family");
    for (int az = 0; az < 2; az++) {
        run(jwtx_route_authorizer, &gw, &(rq){.token = acc3, .authorizer = az}, &resp);
        CU_ASSERT_EQUAL(resp.status, 401);
        expect_body(&resp, REVOKED, "authorizer, ended family");
        jwtx_response_clear(&resp);
    }
    /* the other sessions are unaffected */
    expect_protected(&gw, other.access, 200, ALICE, "another session of alice");
    expect_protected(&gw, bob.access, 200, BOB, "bob");
    char *acc4 = NULL, *ref4 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, other.refresh, &acc4, &ref4), 200);
    f = live_families(&gw, "alice");
    CU_ASSERT_EQUAL(f.n, 2); /* the first login's session, and `other` */

    /* a refresh token from before rotation (no fam) moves into a new
     * family: no re-login needed */
    fixed_now = NOW + 200;
    session old;
    login(&off, "bob", "builder", &old);
    char fo[64];
    fam_of(&off, old.refresh, fo, sizeof fo);
    JWTX_ASSERT_STR(fo, "");
    expect_protected(&gw, old.access, 200, BOB, "access token from before rotation");
    char *acc5 = NULL, *ref5 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, old.refresh, &acc5, &ref5), 200);
    char f5[64], f5a[64];
    fam_of(&gw, ref5, f5, sizeof f5);
    fam_of(&gw, acc5, f5a, sizeof f5a);
    CU_ASSERT_EQUAL(strlen(f5), 36);
    JWTX_ASSERT_STR(f5a, f5);
    CU_ASSERT_EQUAL(exp_of(&gw, ref5), (json_int_t)NOW + 200 + 2592000);
    expect_protected(&gw, acc5, 200, BOB, "migrated family");
    /* within grace again: the same new family, not another one */
    fixed_now = NOW + 205;
    char *ref6 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, old.refresh, NULL, &ref6), 200);
    char f6[64];
    fam_of(&gw, ref6, f6, sizeof f6);
    JWTX_ASSERT_STR(f6, f5);
    /* replayed after grace: the migrated family ends */
    fixed_now = NOW + 300;
    expect_refresh_status(&gw, old.refresh, 401, REVOKED, "migrated token replayed");
    expect_protected(&gw, acc5, 401, REVOKED, "migrated family ended");
    expect_protected(&gw, bob.access, 200, BOB, "bob's other session");

    /* an access token is never rotated, even with the type check off */
    const char *const no_type[] = {"JWTX_VERIFY_TYPE", "0", NULL};
    run(jwtx_route_refresh, &gw, &(rq){.method = "POST", .token = bob.access, .params = no_type},
        &resp);
    expect_error(&resp, 422, "{\"msg\":\"Only refresh tokens are allowed\"}\n", NULL,
                 "rotation: access token with JWTX_VERIFY_TYPE=0");
    jwtx_response_clear(&resp);
    /* a refresh token with an empty jti (not one of ours) is not renewed */
    char *nojti = NULL;
    {
        jwtx_token_spec sp = {.refresh = true};
        json_t *cl = json_pack("{s:s}", "jti", "");
        sp.claims = cl;
        jwtx_buf o;
        jwtx_buf_init(&o);
        jwtx_error e;
        CU_ASSERT_EQUAL_FATAL(jwtx_token_create(&gw.cfg, "bob", &sp, &o, NULL, &e), 0);
        nojti = o.data;
        json_decref(cl);
    }
    expect_refresh_status(&gw, nojti, 422, "{\"msg\":\"Missing claim: jti\"}\n",
                          "rotation: refresh token with an empty jti");
    free(nojti);

    /* rotation off on the same store: the answer of today, whatever fam
     * the token holds, and no fam in what it issues */
    run(jwtx_route_refresh, &off, &(rq){.method = "POST", .token = ref4}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    CU_ASSERT_EQUAL(json_object_size(b), 1);
    snprintf(want, sizeof want, "{\"access_token\":\"%s\"}\n", cstr(b, "access_token"));
    expect_body(&resp, want, "rotation off: today's answer");
    CU_ASSERT_EQUAL(hdr_count(&resp, "Set-Cookie"), 2);
    keys_of(cstr(b, "access_token"), keys, sizeof keys);
    JWTX_ASSERT_STR(keys, "fresh,iat,jti,type,sub,nbf,csrf,exp,role,scopes");
    json_decref(b);
    jwtx_response_clear(&resp);
    /* ... and an ended family is not looked up */
    expect_protected(&off, acc3, 200, ALICE, "rotation off: fam not looked up");

    char *all[] = {acc1, ref1, acc2, ref2, acc3, ref3, acc4, ref4, acc5, ref5, ref6};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    session_clear(&s);
    session_clear(&other);
    session_clear(&bob);
    session_clear(&old);
    fixed_now = NOW;
    jwtx_gateway_close(&gw);
    jwtx_gateway_close(&off);
}

/* Cookies only: the four cookies again and today's message; sliding
 * expiry; implicit refresh keeps the family. */
static void test_rotation_cookies_sliding(void)
{
    jwtx_gateway ck, sl;
    CU_ASSERT_EQUAL_FATAL(gw_open(&ck, "rot-ck",
                                  BASE "JWT_TOKEN_LOCATION = ['cookies']\n"
                                       "JWTX_BLOCKLIST = 'sqlite:rot-ck.sqlite'\n" ROT
                                       "JWTX_IMPLICIT_REFRESH = 600\n"),
                          0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&sl, "rot-slide",
                                  BASE BOTH "JWTX_BLOCKLIST = 'sqlite:rot-slide.sqlite'\n" ROT
                                            "JWTX_REFRESH_SLIDING = True\n"
                                            "JWT_REFRESH_TOKEN_EXPIRES = 3600\n"),
                          0);
    fixed_now = NOW;
    session s;
    login(&ck, "bob", "builder", &s);
    char fam[64];
    fam_of(&ck, s.refresh, fam, sizeof fam);
    fixed_now = NOW + 30;
    char cookie[4096];
    snprintf(cookie, sizeof cookie, "refresh_token_cookie=%s; csrf_refresh_token=%s", s.refresh,
             s.csrf_r);
    jwtx_response resp;
    run(jwtx_route_refresh, &ck, &(rq){.method = "POST", .cookie = cookie, .csrf = s.csrf_r},
        &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    expect_body(&resp, "{\"msg\":\"refresh successful\"}\n", "cookies-only rotation");
    CU_ASSERT_EQUAL_FATAL(hdr_count(&resp, "Set-Cookie"), 4);
    char *na = cookie_value(&resp, 0, "access_token_cookie");
    char *nca = cookie_value(&resp, 1, "csrf_access_token");
    char *nr = cookie_value(&resp, 2, "refresh_token_cookie");
    char *ncr = cookie_value(&resp, 3, "csrf_refresh_token");
    CU_ASSERT_PTR_NOT_NULL_FATAL(na);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nr);
    expect_login_cookies(&resp, na, nr, nca, ncr);
    char f1[64];
    fam_of(&ck, nr, f1, sizeof f1);
    JWTX_ASSERT_STR(f1, fam);
    fam_of(&ck, na, f1, sizeof f1);
    JWTX_ASSERT_STR(f1, fam);
    CU_ASSERT_EQUAL(exp_of(&ck, nr), EXP_R);
    jwtx_response_clear(&resp);

    /* implicit refresh of the access cookie stays in the family */
    fixed_now = NOW + 30 + 400;
    char acookie[4096];
    snprintf(acookie, sizeof acookie, "access_token_cookie=%s; csrf_access_token=%s", na, nca);
    run(jwtx_route_protected, &ck, &(rq){.cookie = acookie}, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    CU_ASSERT_EQUAL_FATAL(hdr_count(&resp, "Set-Cookie"), 2);
    char *ia = cookie_value(&resp, 0, "access_token_cookie");
    fam_of(&ck, ia, f1, sizeof f1);
    JWTX_ASSERT_STR(f1, fam);
    jwtx_response_clear(&resp);
    free(na);
    free(nca);
    free(nr);
    free(ncr);
    free(ia);
    session_clear(&s);

    /* sliding: each refresh moves the refresh token's and the family's
     * expiry to now + JWT_REFRESH_TOKEN_EXPIRES */
    fixed_now = NOW;
    login(&sl, "alice", "wonderland", &s);
    CU_ASSERT_EQUAL(exp_of(&sl, s.refresh), (json_int_t)NOW + 3600);
    fixed_now = NOW + 3000;
    char *a1 = NULL, *r1 = NULL;
    CU_ASSERT_EQUAL(rotate(&sl, s.refresh, &a1, &r1), 200);
    CU_ASSERT_EQUAL(exp_of(&sl, r1), (json_int_t)NOW + 6600);
    fam_seen f = live_families(&sl, "alice");
    CU_ASSERT_EQUAL(f.n, 1);
    CU_ASSERT_EQUAL(f.expires[0], (long long)NOW + 6600);
    /* past the login's expiry the session goes on */
    fixed_now = NOW + 4000;
    char *a2 = NULL, *r2 = NULL;
    CU_ASSERT_EQUAL(rotate(&sl, r1, &a2, &r2), 200);
    CU_ASSERT_EQUAL(exp_of(&sl, r2), (json_int_t)NOW + 7600);
    expect_protected(&sl, a2, 200, ALICE, "sliding session");
    free(a1);
    free(r1);
    free(a2);
    free(r2);
    session_clear(&s);

    /* refresh tokens without exp (JWT_REFRESH_TOKEN_EXPIRES = False): the
     * family never expires and the rotated token has no exp either; a
     * grace period of 0: a replay one second later ends the family */
    jwtx_gateway g0;
    CU_ASSERT_EQUAL_FATAL(gw_open(&g0, "rot-g0",
                                  BASE "JWTX_BLOCKLIST = 'sqlite:rot-g0.sqlite'\n" ROT
                                       "JWTX_REFRESH_REUSE_GRACE = 0\n"
                                       "JWT_REFRESH_TOKEN_EXPIRES = False\n"),
                          0);
    fixed_now = NOW;
    login(&g0, "bob", "builder", &s);
    json_t *c = claims_of(&g0, s.refresh);
    CU_ASSERT_PTR_NULL(json_object_get(c, "exp"));
    json_decref(c);
    f = live_families(&g0, "bob");
    CU_ASSERT_EQUAL(f.n, 1);
    CU_ASSERT_EQUAL(f.expires[0], 0);
    CU_ASSERT_EQUAL(rotate(&g0, s.refresh, &a1, &r1), 200);
    c = claims_of(&g0, r1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(json_object_get(c, "exp"));
    json_decref(c);
    fixed_now = NOW + 1;
    expect_refresh_status(&g0, s.refresh, 401, REVOKED, "grace 0: replay a second later");
    expect_protected(&g0, a1, 401, REVOKED, "grace 0: family ended");
    free(a1);
    free(r1);
    session_clear(&s);

    /* a "fam" in the users claims file never moves a token into another
     * session: ours is written over it */
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"),
                               "{\"bob\": {\"role\": \"mechanic\", \"fam\": \"stolen\"}}\n"),
                    0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    fixed_now = NOW + 2;
    login(&g0, "bob", "builder", &s);
    char fa[64], fr[64];
    fam_of(&g0, s.access, fa, sizeof fa);
    fam_of(&g0, s.refresh, fr, sizeof fr);
    CU_ASSERT_EQUAL(strlen(fa), 36);
    JWTX_ASSERT_STR(fa, fr);
    CU_ASSERT_STRING_NOT_EQUAL(fa, "stolen");
    c = claims_of(&g0, s.access);
    JWTX_ASSERT_STR(cstr(c, "role"), "mechanic"); /* the file was read */
    json_decref(c);
    CU_ASSERT_EQUAL(rotate(&g0, s.refresh, &a1, &r1), 200);
    fam_of(&g0, r1, fr, sizeof fr);
    JWTX_ASSERT_STR(fr, fa);
    expect_protected(&g0, a1, 200, BOB, "claims file fam: our family");
    free(a1);
    free(r1);
    session_clear(&s);
    CU_ASSERT_EQUAL(write_file(tpath("claims.new"), CLAIMS_JSON), 0);
    CU_ASSERT_EQUAL(rename(tpath("claims.new"), tpath("claims.json")), 0);
    jwtx_gateway_close(&g0);

    fixed_now = NOW;
    jwtx_gateway_close(&ck);
    jwtx_gateway_close(&sl);
}

/* Logout ends the session (the family), not only the token. */
static void test_rotation_logout(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "rot-lo", BASE BOTH "JWTX_BLOCKLIST = 'sqlite:rot-lo.sqlite'\n" ROT), 0);
    fixed_now = NOW;
    session s, other;
    login(&gw, "alice", "wonderland", &s);
    login(&gw, "alice", "wonderland", &other);
    fixed_now = NOW + 10;
    char *a1 = NULL, *r1 = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, s.refresh, &a1, &r1), 200);
    /* logout with the login's access token: every token of the family */
    expect_logout(&gw, &(rq){.method = "POST", .uri = "/logout", .token = s.access},
                  "Access token revoked", "rotation logout");
    expect_protected(&gw, a1, 401, REVOKED, "logout: rotated access token");
    expect_refresh_status(&gw, r1, 401, REVOKED, "logout: rotated refresh token");
    expect_protected(&gw, other.access, 200, ALICE, "logout: other session kept");
    fam_seen f = live_families(&gw, "alice");
    CU_ASSERT_EQUAL(f.n, 1);
    free(a1);
    free(r1);
    session_clear(&s);

    /* a browser: the access cookie of one session, the refresh cookie of
     * another (a re-login in another tab): both sessions end */
    session x, y;
    login(&gw, "bob", "builder", &x);
    login(&gw, "bob", "builder", &y);
    char cookie[4096];
    snprintf(cookie, sizeof cookie,
             "access_token_cookie=%s; csrf_access_token=%s; refresh_token_cookie=%s; "
             "csrf_refresh_token=%s",
             x.access, x.csrf_a, y.refresh, y.csrf_r);
    expect_logout(&gw, &(rq){.method = "POST", .cookie = cookie, .csrf = x.csrf_a},
                  "Access token revoked", "cookie logout, two families");
    expect_refresh_status(&gw, x.refresh, 401, REVOKED, "cookie logout: x");
    expect_protected(&gw, y.access, 401, REVOKED, "cookie logout: y (the refresh cookie's)");
    f = live_families(&gw, "bob");
    CU_ASSERT_EQUAL(f.n, 0);
    session_clear(&x);
    session_clear(&y);

    /* ?everywhere=1: every session of the user */
    session b1, b2, c;
    fixed_now = NOW + 20;
    login(&gw, "bob", "builder", &b1);
    login(&gw, "bob", "builder", &b2);
    login(&gw, "carol", "p@ss w:rd+\xc3\xa9", &c);
    fixed_now = NOW + 30;
    grabbed *g = calloc(1, sizeof *g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jwtx_audit_set_server_writer(gw.audit, grab, g);
    expect_logout(&gw, &(rq){.method = "POST", .uri = "/logout?everywhere=1", .token = b1.access},
                  "All tokens revoked", "rotation everywhere");
    jwtx_audit_set_server_writer(gw.audit, NULL, NULL);
    /* one session_end line per session, each naming its family */
    char f1[64], f2[64], want[256], line[2048];
    fam_of(&gw, b1.access, f1, sizeof f1);
    fam_of(&gw, b2.access, f2, sizeof f2);
    snprintf(want, sizeof want,
             "event=session_end addr=unknown user=\"bob\" fam=\"%s\" route=\"/logout\" "
             "reason=logout_everywhere",
             f1);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    snprintf(want, sizeof want,
             "event=session_end addr=unknown user=\"bob\" fam=\"%s\" route=\"/logout\" "
             "reason=logout_everywhere",
             f2);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, "event=logout_everywhere ", line, sizeof line));
    CU_ASSERT_EQUAL(g->n, 3);
    if (g->n != 3)
        fprintf(stderr, "\n  audit lines:\n%s", g->text);
    free(g);
    expect_refresh_status(&gw, b2.refresh, 401, REVOKED, "everywhere: b2");
    CU_ASSERT_EQUAL(live_families(&gw, "bob").n, 0);
    CU_ASSERT_EQUAL(live_families(&gw, "carol").n, 1);
    CU_ASSERT_EQUAL(live_families(&gw, "alice").n, 1);
    expect_protected(&gw, c.access, 200, "{\"logged_in_as\":\"carol\"}\n", "everywhere: carol");
    fixed_now = NOW + 31;
    session b3;
    login(&gw, "bob", "builder", &b3);
    expect_protected(&gw, b3.access, 200, BOB, "login after everywhere");
    session_clear(&b1);
    session_clear(&b2);
    session_clear(&b3);
    session_clear(&c);
    session_clear(&other);
    fixed_now = NOW;
    jwtx_gateway_close(&gw);
}

/* A store that cannot answer: 503 at login (no token, no cookie), at
 * refresh and at every check; never a pass. (Login regulation is off here:
 * it would answer its own 503 first.) A write lock held by another
 * process's transaction lets the checks (reads) through, so login's
 * family start and refresh's rotation fail alone. */
static void test_rotation_store_failures(void)
{
    jwtx_gateway down, gw;
    CU_ASSERT_EQUAL_FATAL(gw_open(&down, "rot-down",
                                  BASE BOTH "JWTX_BLOCKLIST = 'redis://127.0.0.1:1'\n"
                                            "JWTX_BLOCKLIST_TIMEOUT_MS = 50\n"
                                            "JWTX_LOGIN_REGULATION = False\n" ROT),
                          0);
    CU_ASSERT_EQUAL_FATAL(gw_open(&gw, "rot-lock",
                                  BASE BOTH "JWTX_BLOCKLIST = 'sqlite:rot-lock.sqlite'\n"
                                            "JWTX_BLOCKLIST_TIMEOUT_MS = 50\n"
                                            "JWTX_BLOCKLIST_RETRY_MS = 0\n"
                                            "JWTX_LOGIN_REGULATION = False\n" ROT),
                          0);
    fixed_now = NOW;
    jwtx_response resp;
    const char *creds = "{\"username\":\"alice\",\"password\":\"wonderland\"}";
    run(jwtx_route_login, &down, &(rq){.method = "POST", .ctype = JSON_CT, .body = creds}, &resp);
    expect_error(&resp, 503, NO_STORE_MSG, NULL, "rotation login, store down");
    jwtx_response_clear(&resp);

    session s;
    login(&gw, "alice", "wonderland", &s);
    expect_refresh_status(&down, s.refresh, 503, NO_STORE_MSG, "refresh, store down");
    expect_protected(&down, s.access, 503, NO_STORE_MSG, "protected, store down");

    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(tpath("rot-lock.sqlite"), &db), SQLITE_OK);
    CU_ASSERT_EQUAL_FATAL(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    run(jwtx_route_login, &gw, &(rq){.method = "POST", .ctype = JSON_CT, .body = creds}, &resp);
    expect_error(&resp, 503, NO_STORE_MSG, NULL, "rotation login, store locked");
    jwtx_response_clear(&resp);
    expect_refresh_status(&gw, s.refresh, 503, NO_STORE_MSG, "rotation refresh, store locked");
    expect_protected(&gw, s.access, 200, ALICE, "protected reads while locked");
    CU_ASSERT_EQUAL(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* the failed rotation changed nothing: the token refreshes now */
    char *a = NULL, *r = NULL;
    CU_ASSERT_EQUAL(rotate(&gw, s.refresh, &a, &r), 200);
    free(a);
    free(r);
    session_clear(&s);
    jwtx_gateway_close(&down);
    jwtx_gateway_close(&gw);
}

/* The audit lines of a session: login_success and refresh with fam, a
 * replay (refresh_reuse, session_end reason=reuse), logout. */
static void test_rotation_audit(void)
{
    jwtx_gateway gw;
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "rot-audit", BASE "JWTX_BLOCKLIST = 'sqlite:rot-audit.sqlite'\n" ROT), 0);
    grabbed *g = calloc(1, sizeof *g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jwtx_audit_set_server_writer(gw.audit, grab, g);
    fixed_now = NOW;
    jwtx_response resp;
    login_as(&gw, "192.0.2.7", "bob", "builder", false, &resp);
    CU_ASSERT_EQUAL_FATAL(resp.status, 200);
    json_t *b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    char *refresh = strdup(cstr(b, "refresh_token"));
    char *access = strdup(cstr(b, "access_token"));
    json_decref(b);
    jwtx_response_clear(&resp);
    char fam[64], jti[64];
    fam_of(&gw, refresh, fam, sizeof fam);
    json_t *c = claims_of(&gw, refresh);
    snprintf(jti, sizeof jti, "%s", cstr(c, "jti"));
    json_decref(c);
    const char *params[] = {"REMOTE_ADDR", "192.0.2.7", NULL};
    rq rr = {.method = "POST", .uri = "/refresh", .token = refresh, .params = params};
    fixed_now = NOW + 5;
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    jwtx_response_clear(&resp);
    fixed_now = NOW + 100;
    run(jwtx_route_refresh, &gw, &rr, &resp);
    CU_ASSERT_EQUAL(resp.status, 401);
    jwtx_response_clear(&resp);
    /* the family is over: the access token is refused (revoked_token) */
    rq pr = {.method = "GET", .uri = "/protected", .token = access, .params = params};
    run(jwtx_route_protected, &gw, &pr, &resp);
    CU_ASSERT_EQUAL(resp.status, 401);
    jwtx_response_clear(&resp);
    /* a new session, logged out */
    login_as(&gw, "192.0.2.7", "bob", "builder", false, &resp);
    b = jwtx_json_parse(resp.body.data, resp.body.len, NULL, 0);
    char *access2 = strdup(cstr(b, "access_token"));
    json_decref(b);
    jwtx_response_clear(&resp);
    char fam2[64];
    fam_of(&gw, access2, fam2, sizeof fam2);
    rq lo = {.method = "POST", .uri = "/logout", .token = access2, .params = params};
    run(jwtx_route_logout, &gw, &lo, &resp);
    CU_ASSERT_EQUAL(resp.status, 200);
    jwtx_response_clear(&resp);

    char want[512], line[2048];
    snprintf(want, sizeof want,
             "event=login_success addr=192.0.2.7 user=\"bob\" fam=\"%s\" route=\"/login\"", fam);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    snprintf(want, sizeof want,
             "event=refresh addr=192.0.2.7 user=\"bob\" jti=\"%s\" fam=\"%s\" route=\"/refresh\"",
             jti, fam);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    snprintf(want, sizeof want,
             "event=refresh_reuse addr=192.0.2.7 user=\"bob\" jti=\"%s\" fam=\"%s\" "
             "route=\"/refresh\"",
             jti, fam);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    snprintf(want, sizeof want,
             "event=session_end addr=192.0.2.7 user=\"bob\" fam=\"%s\" route=\"/refresh\" "
             "reason=reuse",
             fam);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(
        g, "event=revoked_token addr=192.0.2.7 route=\"/protected\"", line, sizeof line));
    snprintf(want, sizeof want,
             "event=session_end addr=192.0.2.7 user=\"bob\" fam=\"%s\" route=\"/logout\" "
             "reason=logout",
             fam2);
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    snprintf(want, sizeof want, "event=logout addr=192.0.2.7 user=\"bob\" jti=\"");
    CU_ASSERT_PTR_NOT_NULL(grabbed_line(g, want, line, sizeof line));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, fam2));
    /* login, refresh, reuse, session_end, revoked, login, session_end, logout */
    CU_ASSERT_EQUAL(g->n, 8);
    if (g->n != 8)
        fprintf(stderr, "\n  audit lines:\n%s", g->text);
    CU_ASSERT_PTR_NULL(strstr(g->text, "eyJ"));
    jwtx_audit_set_server_writer(gw.audit, NULL, NULL);
    free(g);
    free(refresh);
    free(access);
    free(access2);
    fixed_now = NOW;
    jwtx_gateway_close(&gw);
}

static void test_gateway_open_errors(void)
{
    const struct {
        const char *name, *text;
        const char *want; /* after "PATH:" */
    } rows[] = {
        {"bad-unknown", "JWT_SECRET_KEY = '" SECRET "'\n\nJWT_LOCATIONS = ['headers']\n",
         ":3: JWT_LOCATIONS: unknown option (did you mean JWT_TOKEN_LOCATION?)"},
        {"bad-samesite", "JWT_SECRET_KEY = '" SECRET "'\nJWT_COOKIE_SAMESITE = 'Loose'\n",
         ":2: JWT_COOKIE_SAMESITE: SameSite must be 'Strict', 'Lax', or 'None'."},
        {"bad-duration",
         "JWT_SECRET_KEY = '" SECRET "'\n# refresh\nJWT_REFRESH_TOKEN_EXPIRES = True\n",
         ":3: JWT_REFRESH_TOKEN_EXPIRES: must be able to add JWT_REFRESH_TOKEN_EXPIRES to "
         "datetime.datetime"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char file[64], want[1024], errbuf[1024] = "";
        snprintf(file, sizeof file, "%s.conf", rows[i].name);
        const char *path = tpath(file);
        CU_ASSERT_EQUAL_FATAL(write_file(path, rows[i].text), 0);
        snprintf(want, sizeof want, "%s%s", path, rows[i].want);
        jwtx_gateway gw;
        CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", path, errbuf, sizeof errbuf), -1);
        JWTX_ASSERT_STR(errbuf, want);
        CU_ASSERT_PTR_NULL(gw.blocklist);
        CU_ASSERT_PTR_NULL(gw.users);
        jwtx_gateway_close(&gw); /* safe after a failure */
    }

    /* a missing conf file names it */
    char errbuf[1024] = "";
    jwtx_gateway gw;
    const char *missing = tpath("no-such.conf");
    CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", missing, errbuf, sizeof errbuf), -1);
    CU_ASSERT_EQUAL(strncmp(errbuf, missing, strlen(missing)), 0);
    jwtx_gateway_close(&gw);

    /* a store URL the store's parser refuses: named once, password not shown */
    const char *badport = tpath("bad-port.conf");
    CU_ASSERT_EQUAL(write_file(badport, "JWT_SECRET_KEY = '" SECRET "'\n"
                                        "JWTX_BLOCKLIST = 'redis://:Pw-gw-1@127.0.0.1:99999/0'\n"),
                    0);
    CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", badport, errbuf, sizeof errbuf), -1);
    char want_port[1024];
    snprintf(want_port, sizeof want_port,
             "%s: JWTX_BLOCKLIST: the port must be a number from 1 to 65535", badport);
    JWTX_ASSERT_STR(errbuf, want_port);
    jwtx_gateway_close(&gw);

    /* a bad store URL and a missing users file fail at open */
    const char *store = tpath("bad-store.conf");
    CU_ASSERT_EQUAL(write_file(store, "JWT_SECRET_KEY = '" SECRET "'\n"
                                      "JWTX_BLOCKLIST = 'mysql://127.0.0.1/x'\n"),
                    0);
    errbuf[0] = '\0';
    CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", store, errbuf, sizeof errbuf), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "JWTX_BLOCKLIST"));
    CU_ASSERT_EQUAL(strncmp(errbuf, store, strlen(store)), 0);
    CU_ASSERT_PTR_NULL(gw.blocklist);
    jwtx_gateway_close(&gw);

    const char *nousers = tpath("bad-users.conf");
    CU_ASSERT_EQUAL(write_file(nousers, "JWT_SECRET_KEY = '" SECRET "'\n"
                                        "JWTX_USERS_FILE = 'absent.htpasswd'\n"),
                    0);
    errbuf[0] = '\0';
    CU_ASSERT_EQUAL(jwtx_gateway_open(&gw, "test_gateway", nousers, errbuf, sizeof errbuf), -1);
    const char *absent = tpath("absent.htpasswd");
    CU_ASSERT_EQUAL(strncmp(errbuf, absent, strlen(absent)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, "No such file"));
    CU_ASSERT_PTR_NULL(gw.users);
    jwtx_gateway_close(&gw);

    /* a good one: stores open, paths relative to the conf file */
    CU_ASSERT_EQUAL_FATAL(
        gw_open(&gw, "good",
                BASE "JWTX_BLOCKLIST = 'sqlite:good.sqlite'\nJWTX_USER_LOOKUP = True\n"),
        0);
    JWTX_ASSERT_STR(gw.program, "test_gateway");
    JWTX_ASSERT_STR(jwtx_blocklist_kind(gw.blocklist), "sqlite");
    CU_ASSERT_PTR_NOT_NULL(gw.users);
    CU_ASSERT_EQUAL(jwtx_users_count(gw.users), 3);
    CU_ASSERT_TRUE(gw.cfg.user_lookup);
    jwtx_gateway_close(&gw);
    CU_ASSERT_PTR_NULL(gw.blocklist);
    CU_ASSERT_PTR_NULL(gw.users);
    jwtx_gateway_close(&gw); /* twice is safe */
}

static const jwtx_cu_test tests[] = {
    {"login: JSON and form, tokens and cookies", test_login_ok},
    {"login: cookies-only mode", test_login_cookies_only},
    {"login: next and JWTX_LOGIN_REDIRECT", test_login_next},
    {"login: 400, 401, 405", test_login_errors},
    {"refresh", test_refresh},
    {"logout", test_logout},
    {"protected", test_protected},
    {"protected: a non-string identity answered as its JSON value", test_protected_json_identity},
    {"protected: JWTX_IMPLICIT_REFRESH", test_implicit_refresh},
    {"authorizer: grant in both roles", test_authorizer_grant},
    {"authorizer: denials and JWTX_AUTH_REQUEST", test_authorizer_denial},
    {"authorizer: JWTX_RENDER_ERROR", test_authorizer_render_error},
    {"jwks", test_jwks},
    {"jwtx_gateway_open errors", test_gateway_open_errors},
    {"login protection: bans, 429, the three keys, IPv6 /64, audit", test_login_regulation},
    {"login protection: message key, off, trusted proxy, audit file",
     test_login_regulation_options},
    {"audit: missing fields, refresh, logout", test_audit_events},
    {"sessions: login starts a family, refresh rotates, grace, reuse ends it, migration, off",
     test_rotation_login_refresh},
    {"sessions: cookies only, implicit refresh keeps the family, sliding, no exp, grace 0, "
     "claims file fam",
     test_rotation_cookies_sliding},
    {"sessions: logout ends the family (and the refresh cookie's), everywhere ends all",
     test_rotation_logout},
    {"sessions: store failures fail closed (503) at login, refresh and check",
     test_rotation_store_failures},
    {"sessions: audit lines (fam, refresh_reuse, session_end)", test_rotation_audit},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("gateway", tests, setup, teardown)
