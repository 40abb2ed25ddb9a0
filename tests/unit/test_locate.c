/*
 * test_locate.c — token locations of spec section 5, row by row: header
 * normalisation and messages (5.1), cookies and CSRF double submit (5.2),
 * query string and prefix (5.3), JSON body (5.4), order and abort rules
 * (5.5), the combined message (5.6), plus the per-route options (7.3).
 */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/json.h"
#include "jwtx/locate.h"
#include "jwtx/request.h"

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
}

static void set_methods(jwtx_config *cfg, const char *const *m)
{
    for (size_t i = 0; i < cfg->csrf_methods.n; i++)
        free(cfg->csrf_methods.v[i]);
    free(cfg->csrf_methods.v);
    size_t n = 0;
    while (m[n])
        n++;
    cfg->csrf_methods.v = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        cfg->csrf_methods.v[i] = strdup(m[i]);
    cfg->csrf_methods.n = n;
}

static void set_locs(jwtx_config *cfg, const jwtx_location *l)
{
    size_t n = 0;
    while (l[n] != JWTX_LOC_NONE)
        n++;
    memcpy(cfg->token_location, l, n * sizeof *l);
    cfg->n_token_location = n;
}

/* One request from env strings (NULL-terminated) and an optional body. */
static void req_make(jwtx_request *r, const char *const *env, const char *body)
{
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(r), 0);
    CU_ASSERT_EQUAL_FATAL(jwtx_request_load_env(r, (char **)env), 0);
    if (body)
        CU_ASSERT_EQUAL_FATAL(jwtx_request_set_body(r, body, strlen(body)), 0);
}

/* Expectation: tok != NULL → found that token; else err code + message. */
struct expect {
    const char *tok;
    jwtx_err code;
    const char *msg;
};

static void check(const jwtx_config *cfg, const jwtx_request *r, const jwtx_route_opts *opts,
                  const struct expect *e, const char *label)
{
    jwtx_located out = {0};
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_locate_token(cfg, r, opts, &out, &err);
    if (e->tok) {
        if (rc != 0)
            fprintf(stderr, "\n  [%s] expected token %s, got %s: %s\n", label, e->tok,
                    jwtx_err_name(err.code), jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0) {
            JWTX_ASSERT_STR(out.token, e->tok);
            CU_ASSERT_EQUAL(out.token_len, strlen(e->tok));
        }
    } else {
        if (rc != -1 || err.code != e->code || strcmp(jwtx_error_message(&err), e->msg) != 0)
            fprintf(stderr, "\n  [%s] expected %s [%s]\n  got rc %d %s [%s]\n", label,
                    jwtx_err_name(e->code), e->msg, rc, jwtx_err_name(err.code),
                    jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(err.code, e->code);
        JWTX_ASSERT_STR(jwtx_error_message(&err), e->msg);
        CU_ASSERT_PTR_NULL(out.token); /* output untouched on failure */
    }
    jwtx_located_clear(&out);
}

#define MISSING_TYPE                                                                               \
    "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
#define BAD_HEADER "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"

static void test_headers_default(void)
{
    static const struct {
        const char *value; /* NULL = no header */
        struct expect e;
    } rows[] = {
        {NULL, {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {"", {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {"   ", {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {",,,", {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {" , ", {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {"\xa0\x85\x1c", {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {"Basic abc", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"bearer x", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"Foo 1, Bar 2, Baz, 3", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"Bearer a, Bearer b", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"Basic x; Bearer T", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"BearerT", {NULL, JWTX_ERR_MISSING_HEADER_TYPE, MISSING_TYPE}},
        {"Bearer", {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER}},
        {"Bearer ", {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER}},
        {"Foo 1, Bearer, Baz, 3", {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER}},
        {"Bearer ,,0", {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER}},
        {"Bearer a b", {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER}},
        {"Bearer T", {"T", 0, NULL}},
        {"Bearer T, Basic creds", {"T", 0, NULL}},
        {"Basic creds, Bearer T", {"T", 0, NULL}},
        {"Basic x,Bearer T", {"T", 0, NULL}},
        {"Basic x ,Bearer T", {"T", 0, NULL}},
        {"Bearer T,   ", {"T", 0, NULL}},
        {"  ,Bearer T,, ", {"T", 0, NULL}},
        {"Bearer\tT", {"T", 0, NULL}},
        {"Bearer  T", {"T", 0, NULL}},
        {"Bearer\xa0T", {"T", 0, NULL}},
        {"Bearer\x1fT", {"T", 0, NULL}},
        {"Bearer\x0bT", {"T", 0, NULL}},
        {"\x85"
         "Bearer T\x85",
         {"T", 0, NULL}},
        {"Basic x,\xa0"
         "Bearer T",
         {"T", 0, NULL}},
        /* whitespace-only and empty pieces are skipped (the reference 500s) */
        {",  ,Bearer T", {"T", 0, NULL}},
        {"Bearer T,,Basic x", {"T", 0, NULL}},
        {"Bearer a.b.c", {"a.b.c", 0, NULL}},
    };
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        if (rows[i].value)
            CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_AUTHORIZATION", rows[i].value), 0);
        check(&cfg, &r, NULL, &rows[i].e, rows[i].value ? rows[i].value : "(none)");
        jwtx_request_clear(&r);
    }
    jwtx_config_clear(&cfg);
}

static void test_headers_custom(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    set_str(&cfg.header_name, "X-Auth-Token");
    set_str(&cfg.header_type, "JWT");
    static const struct {
        const char *value;
        struct expect e;
    } rows[] = {
        {NULL, {NULL, JWTX_ERR_MISSING_HEADER, "Missing X-Auth-Token Header"}},
        {"Bearer T",
         {NULL, JWTX_ERR_MISSING_HEADER_TYPE,
          "Missing 'JWT' type in 'X-Auth-Token' header. Expected 'X-Auth-Token: JWT <JWT>'"}},
        {"JWT",
         {NULL, JWTX_ERR_BAD_HEADER,
          "Bad X-Auth-Token header. Expected 'X-Auth-Token: JWT <JWT>'"}},
        {"JWT T", {"T", 0, NULL}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_AUTHORIZATION", "JWT wrong-header"), 0);
        if (rows[i].value)
            CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_X_AUTH_TOKEN", rows[i].value), 0);
        check(&cfg, &r, NULL, &rows[i].e, "custom header");
        jwtx_request_clear(&r);
    }

    /* empty JWT_HEADER_TYPE: the header holds only the token */
    set_str(&cfg.header_name, "Authorization");
    set_str(&cfg.header_type, "");
    static const struct {
        const char *value;
        struct expect e;
    } rows2[] = {
        {NULL, {NULL, JWTX_ERR_MISSING_HEADER, "Missing Authorization Header"}},
        {"T", {"T", 0, NULL}},
        {" ,T, ", {"T", 0, NULL}},
        {"Basic creds",
         {NULL, JWTX_ERR_BAD_HEADER, "Bad Authorization header. Expected 'Authorization: <JWT>'"}},
        {"Bearer T",
         {NULL, JWTX_ERR_BAD_HEADER, "Bad Authorization header. Expected 'Authorization: <JWT>'"}},
        {"a,b", {"a,b", 0, NULL}},
    };
    for (size_t i = 0; i < sizeof rows2 / sizeof rows2[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        if (rows2[i].value)
            CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_AUTHORIZATION", rows2[i].value), 0);
        check(&cfg, &r, NULL, &rows2[i].e, "empty type");
        jwtx_request_clear(&r);
    }
    /* an optional route still gets 422 for "Basic creds" (the code is not NO_AUTH) */
    CU_ASSERT_EQUAL(jwtx_err_family_of(JWTX_ERR_BAD_HEADER), JWTX_FAMILY_INVALID);
    jwtx_config_clear(&cfg);
}

static const jwtx_location COOKIES_ONLY[] = {JWTX_LOC_COOKIES, JWTX_LOC_NONE};

struct cookie_row {
    const char *method;
    const char *cookie;      /* HTTP_COOKIE or NULL */
    const char *csrf_header; /* HTTP_X_CSRF_TOKEN or NULL */
    const char *form;        /* urlencoded body or NULL */
    struct expect e;
    bool check_csrf;
    const char *csrf;
};

static void run_cookie_rows(const jwtx_config *cfg, const jwtx_route_opts *opts,
                            const struct cookie_row *rows, size_t n, const char *hdr_param)
{
    for (size_t i = 0; i < n; i++) {
        const char *env[8];
        char m[64], c[256], h[256];
        size_t k = 0;
        snprintf(m, sizeof m, "REQUEST_METHOD=%s", rows[i].method);
        env[k++] = m;
        if (rows[i].cookie) {
            snprintf(c, sizeof c, "HTTP_COOKIE=%s", rows[i].cookie);
            env[k++] = c;
        }
        if (rows[i].csrf_header) {
            snprintf(h, sizeof h, "%s=%s", hdr_param, rows[i].csrf_header);
            env[k++] = h;
        }
        if (rows[i].form)
            env[k++] = "CONTENT_TYPE=application/x-www-form-urlencoded";
        env[k] = NULL;
        jwtx_request r;
        req_make(&r, env, rows[i].form);
        check(cfg, &r, opts, &rows[i].e, rows[i].cookie ? rows[i].cookie : "(no cookie)");
        jwtx_located out = {0};
        if (rows[i].e.tok && jwtx_locate_token(cfg, &r, opts, &out, NULL) == 0) {
            CU_ASSERT_EQUAL(out.where, JWTX_LOC_COOKIES);
            CU_ASSERT_EQUAL(out.check_csrf, rows[i].check_csrf);
            if (rows[i].csrf) {
                JWTX_ASSERT_STR(out.csrf, rows[i].csrf);
                CU_ASSERT_EQUAL(out.csrf_len, strlen(rows[i].csrf));
            } else {
                CU_ASSERT_PTR_NULL(out.csrf);
            }
        }
        jwtx_located_clear(&out);
        jwtx_request_clear(&r);
    }
}

#define MISSING_ACCESS_COOKIE                                                                      \
    {                                                                                              \
        NULL, JWTX_ERR_MISSING_COOKIE, "Missing cookie \"access_token_cookie\""                    \
    }
#define CSRF_MISSING                                                                               \
    {                                                                                              \
        NULL, JWTX_ERR_CSRF_MISSING, "Missing CSRF token"                                          \
    }
#define TOK(t)                                                                                     \
    {                                                                                              \
        t, 0, NULL                                                                                 \
    }

static void test_cookies(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    set_locs(&cfg, COOKIES_ONLY);
    static const struct cookie_row rows[] = {
        {"GET", NULL, NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
        {"GET", "access_token_cookie=", NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
        {"GET", "other=1", NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
        {"GET", "refresh_token_cookie=R", NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
        {"GET", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
        {"GET", "access_token_cookie=A; access_token_cookie=B", NULL, NULL, TOK("A"), false, NULL},
        {"GET", "access_token_cookie=\"A\"", NULL, NULL, TOK("A"), false, NULL},
        {"HEAD", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
        {"OPTIONS", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
        {"get", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
        {"POST", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"PUT", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"PATCH", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"DELETE", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"post", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"POST", "access_token_cookie=A", "", NULL, CSRF_MISSING, false, NULL},
        {"POST", "access_token_cookie=A", "c1", NULL, TOK("A"), true, "c1"},
        {"DELETE", "access_token_cookie=A", "c1", NULL, TOK("A"), true, "c1"},
        /* non-ASCII header: passed on raw, it later counts as a mismatch */
        {"POST", "access_token_cookie=A", "\xe9t\xe9", NULL, TOK("A"), true, "\xe9t\xe9"},
        /* form fallback is off by default */
        {"POST", "access_token_cookie=A", NULL, "csrf_token=f1", CSRF_MISSING, false, NULL},
        /* a missing cookie wins over a missing CSRF value */
        {"POST", NULL, NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
    };
    run_cookie_rows(&cfg, NULL, rows, sizeof rows / sizeof rows[0], "HTTP_X_CSRF_TOKEN");

    /* JWT_CSRF_CHECK_FORM: the form is read when the header is absent or empty */
    cfg.csrf_check_form = true;
    static const struct cookie_row form_rows[] = {
        {"POST", "access_token_cookie=A", NULL, "csrf_token=f1", TOK("A"), true, "f1"},
        {"POST", "access_token_cookie=A", "", "csrf_token=f%2B1", TOK("A"), true, "f+1"},
        {"POST", "access_token_cookie=A", "h1", "csrf_token=f1", TOK("A"), true, "h1"},
        {"POST", "access_token_cookie=A", NULL, "csrf_token=", CSRF_MISSING, false, NULL},
        {"POST", "access_token_cookie=A", NULL, "other=1", CSRF_MISSING, false, NULL},
        {"GET", "access_token_cookie=A", NULL, "csrf_token=f1", TOK("A"), false, NULL},
    };
    run_cookie_rows(&cfg, NULL, form_rows, sizeof form_rows / sizeof form_rows[0],
                    "HTTP_X_CSRF_TOKEN");
    /* a JSON body is never consulted */
    {
        const char *env[] = {"REQUEST_METHOD=POST", "HTTP_COOKIE=access_token_cookie=A",
                             "CONTENT_TYPE=application/json", NULL};
        jwtx_request r;
        req_make(&r, env, "{\"csrf_token\":\"j\"}");
        struct expect e = CSRF_MISSING;
        check(&cfg, &r, NULL, &e, "json csrf");
        jwtx_request_clear(&r);
    }
    cfg.csrf_check_form = false;

    /* CSRF protection off: no value needed on POST */
    cfg.cookie_csrf_protect = false;
    static const struct cookie_row off_rows[] = {
        {"POST", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
        {"POST", "access_token_cookie=A", "h", NULL, TOK("A"), false, NULL},
    };
    run_cookie_rows(&cfg, NULL, off_rows, 2, "HTTP_X_CSRF_TOKEN");
    cfg.cookie_csrf_protect = true;

    /* JWT_CSRF_METHODS is an exact, case-sensitive match */
    static const char *const lower[] = {"post", NULL};
    set_methods(&cfg, lower);
    static const struct cookie_row lower_rows[] = {
        {"POST", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
    };
    run_cookie_rows(&cfg, NULL, lower_rows, 1, "HTTP_X_CSRF_TOKEN");
    static const char *const get_only[] = {"GET", NULL};
    set_methods(&cfg, get_only);
    static const struct cookie_row get_rows[] = {
        {"GET", "access_token_cookie=A", NULL, NULL, CSRF_MISSING, false, NULL},
        {"POST", "access_token_cookie=A", NULL, NULL, TOK("A"), false, NULL},
    };
    run_cookie_rows(&cfg, NULL, get_rows, 2, "HTTP_X_CSRF_TOKEN");
    jwtx_config_clear(&cfg);
}

static void test_cookies_refresh(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    set_locs(&cfg, COOKIES_ONLY);
    set_str(&cfg.refresh_cookie_name, "rtok");
    set_str(&cfg.refresh_csrf_header_name, "X-Refresh-CSRF");
    set_str(&cfg.refresh_csrf_field_name, "rcsrf");
    cfg.csrf_check_form = true;
    jwtx_route_opts opts;
    jwtx_route_opts_init(&opts);
    opts.refresh = true;
    static const struct cookie_row rows[] = {
        {"GET",
         "access_token_cookie=A",
         NULL,
         NULL,
         {NULL, JWTX_ERR_MISSING_COOKIE, "Missing cookie \"rtok\""},
         false,
         NULL},
        {"GET", "access_token_cookie=A; rtok=R", NULL, NULL, TOK("R"), false, NULL},
        {"POST", "rtok=R", "rc", NULL, TOK("R"), true, "rc"},
        {"POST", "rtok=R", NULL, "csrf_token=a&rcsrf=r2", TOK("R"), true, "r2"},
        {"POST", "rtok=R", NULL, "csrf_token=a", CSRF_MISSING, false, NULL},
    };
    run_cookie_rows(&cfg, &opts, rows, sizeof rows / sizeof rows[0], "HTTP_X_REFRESH_CSRF");
    /* the access CSRF header does not count for refresh */
    static const struct cookie_row rows2[] = {
        {"POST", "rtok=R", "ac", NULL, CSRF_MISSING, false, NULL},
    };
    run_cookie_rows(&cfg, &opts, rows2, 1, "HTTP_X_CSRF_TOKEN");
    /* and an access route never reads the refresh cookie */
    static const struct cookie_row rows3[] = {
        {"GET", "rtok=R", NULL, NULL, MISSING_ACCESS_COOKIE, false, NULL},
    };
    run_cookie_rows(&cfg, NULL, rows3, 1, "HTTP_X_CSRF_TOKEN");
    jwtx_route_opts_clear(&opts);
    jwtx_config_clear(&cfg);
}

static void test_query(void)
{
    static const jwtx_location Q[] = {JWTX_LOC_QUERY_STRING, JWTX_LOC_NONE};
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    set_locs(&cfg, Q);
    static const struct {
        const char *prefix, *name;
        const char *env[4];
        struct expect e;
    } rows[] = {
        {"",
         "jwt",
         {"QUERY_STRING=", NULL},
         {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'jwt' query paramater"}},
        {"",
         "jwt",
         {"QUERY_STRING=jwt=", NULL},
         {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'jwt' query paramater"}},
        {"",
         "jwt",
         {"QUERY_STRING=JWT=T", NULL},
         {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'jwt' query paramater"}},
        {"", "jwt", {"QUERY_STRING=jwt=T", NULL}, TOK("T")},
        {"", "jwt", {"QUERY_STRING=jwt=a&jwt=b", NULL}, TOK("a")},
        {"", "jwt", {"QUERY_STRING=x=1&jwt=%54%2e1", NULL}, TOK("T.1")},
        {"", "jwt", {"REQUEST_METHOD=POST", "QUERY_STRING=jwt=T", NULL}, TOK("T")},
        /* nginx auth_request: only REQUEST_URI has the query */
        {"", "jwt", {"REQUEST_URI=/app?jwt=T", "QUERY_STRING=", NULL}, TOK("T")},
        {"",
         "token",
         {"QUERY_STRING=jwt=T", NULL},
         {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'token' query paramater"}},
        {"", "token", {"QUERY_STRING=token=T", NULL}, TOK("T")},
        {"Bearer ", "jwt", {"QUERY_STRING=jwt=Bearer+T", NULL}, TOK("T")},
        {"Bearer ", "jwt", {"QUERY_STRING=jwt=Bearer%20T", NULL}, TOK("T")},
        {"Bearer ", "jwt", {"QUERY_STRING=jwt=Bearer+", NULL}, TOK("")},
        {"Bearer ",
         "jwt",
         {"QUERY_STRING=jwt=T", NULL},
         {NULL, JWTX_ERR_BAD_QUERY_PREFIX,
          "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '"}},
        {"Bearer ",
         "jwt",
         {"QUERY_STRING=jwt=bearer+T", NULL},
         {NULL, JWTX_ERR_BAD_QUERY_PREFIX,
          "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '"}},
        {"Bearer ",
         "jwt",
         {"QUERY_STRING=", NULL},
         {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'jwt' query paramater"}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        set_str(&cfg.query_string_value_prefix, rows[i].prefix);
        set_str(&cfg.query_string_name, rows[i].name);
        jwtx_request r;
        req_make(&r, rows[i].env, NULL);
        check(&cfg, &r, NULL, &rows[i].e, rows[i].env[0]);
        jwtx_request_clear(&r);
    }
    jwtx_config_clear(&cfg);
}

#define JSON_CT                                                                                    \
    {                                                                                              \
        NULL, JWTX_ERR_JSON_CONTENT_TYPE, "Invalid content-type. Must be application/json."        \
    }
#define JSON_KEY                                                                                   \
    {                                                                                              \
        NULL, JWTX_ERR_MISSING_JSON_KEY, "Missing \"access_token\" key in json data."              \
    }
#define TOKEN_TYPE                                                                                 \
    {                                                                                              \
        NULL, JWTX_ERR_TOKEN_TYPE, "Invalid token type. Token must be a <class 'bytes'>"           \
    }

static void test_json(void)
{
    static const jwtx_location J[] = {JWTX_LOC_JSON, JWTX_LOC_NONE};
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    set_locs(&cfg, J);
    static const struct {
        const char *ct; /* NULL = no content type */
        const char *body;
        struct expect e;
    } rows[] = {
        {NULL, "{\"access_token\":\"T\"}", JSON_CT},
        {"text/json", "{\"access_token\":\"T\"}", JSON_CT},
        {"application/x-www-form-urlencoded", "access_token=T", JSON_CT},
        {"application/json", "{\"access_token\":\"T\"}", TOK("T")},
        {"APPLICATION/JSON", "{\"access_token\":\"T\"}", TOK("T")},
        {"application/json; charset=utf-8", "{\"access_token\":\"T\"}", TOK("T")},
        {"application/vnd.api+json", "{\"access_token\":\"T\"}", TOK("T")},
        {"application/json", "{\"access_token\":\"T\",\"access_token\":\"U\"}", TOK("U")},
        {"application/json", "", JSON_KEY},
        {"application/json", "{bad", JSON_KEY},
        {"application/json", "null", JSON_KEY},
        {"application/json", "[]", JSON_KEY},
        {"application/json", "{}", JSON_KEY},
        {"application/json", "0", JSON_KEY},
        {"application/json", "false", JSON_KEY},
        {"application/json", "\"\"", JSON_KEY},
        /* the reference crashes on these two; jwtx: no key */
        {"application/json", "[1]", JSON_KEY},
        {"application/json", "\"str\"", JSON_KEY},
        {"application/json", "{\"other\":\"T\"}", JSON_KEY},
        {"application/json", "{\"access_token\":\"\"}", JSON_KEY},
        {"application/json", "{\"access_token\":0}", JSON_KEY},
        {"application/json", "{\"access_token\":0.0}", JSON_KEY},
        {"application/json", "{\"access_token\":false}", JSON_KEY},
        {"application/json", "{\"access_token\":null}", JSON_KEY},
        {"application/json", "{\"access_token\":[]}", JSON_KEY},
        {"application/json", "{\"access_token\":{}}", JSON_KEY},
        {"application/json", "{\"access_token\":5}", TOKEN_TYPE},
        {"application/json", "{\"access_token\":0.5}", TOKEN_TYPE},
        {"application/json", "{\"access_token\":true}", TOKEN_TYPE},
        {"application/json", "{\"access_token\":[\"T\"]}", TOKEN_TYPE},
        {"application/json", "{\"access_token\":{\"a\":1}}", TOKEN_TYPE},
        {"application/json", "{\"refresh_token\":\"R\"}", JSON_KEY},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *env[3] = {"REQUEST_METHOD=GET", NULL, NULL};
        char ct[128];
        if (rows[i].ct) {
            snprintf(ct, sizeof ct, "CONTENT_TYPE=%s", rows[i].ct);
            env[1] = ct;
        }
        jwtx_request r;
        req_make(&r, env, rows[i].body);
        check(&cfg, &r, NULL, &rows[i].e, rows[i].body);
        jwtx_request_clear(&r);
    }

    /* refresh routes read JWT_REFRESH_JSON_KEY */
    jwtx_route_opts opts;
    jwtx_route_opts_init(&opts);
    opts.refresh = true;
    const char *env[] = {"CONTENT_TYPE=application/json", NULL};
    jwtx_request r;
    req_make(&r, env, "{\"access_token\":\"A\"}");
    struct expect e = {NULL, JWTX_ERR_MISSING_JSON_KEY,
                       "Missing \"refresh_token\" key in json data."};
    check(&cfg, &r, &opts, &e, "refresh json");
    jwtx_request_clear(&r);
    req_make(&r, env, "{\"access_token\":\"A\",\"refresh_token\":\"R\"}");
    struct expect ok = TOK("R");
    check(&cfg, &r, &opts, &ok, "refresh json ok");
    jwtx_request_clear(&r);
    /* configured key names appear in the message */
    set_str(&cfg.refresh_json_key, "rt");
    req_make(&r, env, "{}");
    struct expect e2 = {NULL, JWTX_ERR_MISSING_JSON_KEY, "Missing \"rt\" key in json data."};
    check(&cfg, &r, &opts, &e2, "custom refresh json key");
    jwtx_request_clear(&r);
    jwtx_route_opts_clear(&opts);
    jwtx_config_clear(&cfg);
}

static void test_multi(void)
{
    static const jwtx_location CH[] = {JWTX_LOC_COOKIES, JWTX_LOC_HEADERS, JWTX_LOC_NONE};
    static const jwtx_location HC[] = {JWTX_LOC_HEADERS, JWTX_LOC_COOKIES, JWTX_LOC_NONE};
    static const jwtx_location JQ[] = {JWTX_LOC_JSON, JWTX_LOC_QUERY_STRING, JWTX_LOC_NONE};
    static const jwtx_location ALL[] = {JWTX_LOC_HEADERS, JWTX_LOC_COOKIES, JWTX_LOC_QUERY_STRING,
                                        JWTX_LOC_JSON, JWTX_LOC_NONE};
    static const jwtx_location HH[] = {JWTX_LOC_HEADERS, JWTX_LOC_HEADERS, JWTX_LOC_NONE};
    static const jwtx_location HQ[] = {JWTX_LOC_HEADERS, JWTX_LOC_QUERY_STRING, JWTX_LOC_NONE};
    static const jwtx_location QH[] = {JWTX_LOC_QUERY_STRING, JWTX_LOC_HEADERS, JWTX_LOC_NONE};
    static const struct {
        const jwtx_location *locs;
        const char *env[6];
        struct expect e;
        jwtx_location where;
    } rows[] = {
        {CH,
         {NULL},
         {NULL, JWTX_ERR_MISSING_JWT,
          "Missing JWT in cookies or headers (Missing cookie \"access_token_cookie\"; Missing "
          "Authorization Header)"},
         JWTX_LOC_NONE},
        {JQ,
         {NULL},
         {NULL, JWTX_ERR_MISSING_JWT,
          "Missing JWT in json or query_string (Invalid content-type. Must be application/json.; "
          "Missing 'jwt' query paramater)"},
         JWTX_LOC_NONE},
        {ALL,
         {NULL},
         {NULL, JWTX_ERR_MISSING_JWT,
          "Missing JWT in headers, cookies, query_string or json (Missing Authorization Header; "
          "Missing cookie \"access_token_cookie\"; Missing 'jwt' query paramater; Invalid "
          "content-type. Must be application/json.)"},
         JWTX_LOC_NONE},
        {HH,
         {NULL},
         {NULL, JWTX_ERR_MISSING_JWT,
          "Missing JWT in headers or headers (Missing Authorization Header; Missing "
          "Authorization Header)"},
         JWTX_LOC_NONE},
        {HC,
         {"HTTP_AUTHORIZATION=Basic x", NULL},
         {NULL, JWTX_ERR_MISSING_JWT,
          "Missing JWT in headers or cookies (" MISSING_TYPE
          "; Missing cookie \"access_token_cookie\")"},
         JWTX_LOC_NONE},
        /* a "missing" header moves on to the cookie */
        {HC,
         {"HTTP_AUTHORIZATION=Basic x", "HTTP_COOKIE=access_token_cookie=C", NULL},
         TOK("C"),
         JWTX_LOC_COOKIES},
        /* first token wins, even when a later one exists */
        {HC,
         {"HTTP_AUTHORIZATION=Bearer bad", "HTTP_COOKIE=access_token_cookie=C", NULL},
         TOK("bad"),
         JWTX_LOC_HEADERS},
        {CH,
         {"HTTP_AUTHORIZATION=Bearer H", "HTTP_COOKIE=access_token_cookie=C", NULL},
         TOK("C"),
         JWTX_LOC_COOKIES},
        /* a cookie without its CSRF value aborts, though a valid header follows */
        {CH,
         {"REQUEST_METHOD=POST", "HTTP_AUTHORIZATION=Bearer H", "HTTP_COOKIE=access_token_cookie=C",
          NULL},
         CSRF_MISSING,
         JWTX_LOC_NONE},
        {CH,
         {"REQUEST_METHOD=POST", "HTTP_AUTHORIZATION=Bearer H", NULL},
         TOK("H"),
         JWTX_LOC_HEADERS},
        /* a bad header aborts */
        {HQ,
         {"HTTP_AUTHORIZATION=Bearer", "QUERY_STRING=jwt=Q", NULL},
         {NULL, JWTX_ERR_BAD_HEADER, BAD_HEADER},
         JWTX_LOC_NONE},
        {QH,
         {"HTTP_AUTHORIZATION=Bearer", "QUERY_STRING=jwt=Q", NULL},
         TOK("Q"),
         JWTX_LOC_QUERY_STRING},
    };
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        set_locs(&cfg, rows[i].locs);
        jwtx_request r;
        req_make(&r, rows[i].env, NULL);
        check(&cfg, &r, NULL, &rows[i].e, "multi");
        jwtx_located out = {0};
        if (rows[i].e.tok && jwtx_locate_token(&cfg, &r, NULL, &out, NULL) == 0)
            CU_ASSERT_EQUAL(out.where, rows[i].where);
        jwtx_located_clear(&out);
        jwtx_request_clear(&r);
    }
    CU_ASSERT_EQUAL(jwtx_err_family_of(JWTX_ERR_MISSING_JWT), JWTX_FAMILY_NO_AUTH);

    /* per-route locations beat JWT_TOKEN_LOCATION */
    set_locs(&cfg, HC);
    jwtx_route_opts opts;
    jwtx_route_opts_init(&opts);
    opts.locations[0] = JWTX_LOC_QUERY_STRING;
    opts.n_locations = 1;
    const char *env[] = {"HTTP_AUTHORIZATION=Bearer H", NULL};
    jwtx_request r;
    req_make(&r, env, NULL);
    struct expect e = {NULL, JWTX_ERR_MISSING_QUERY, "Missing 'jwt' query paramater"};
    check(&cfg, &r, &opts, &e, "route locations");
    jwtx_request_clear(&r);
    jwtx_route_opts_clear(&opts);
    jwtx_config_clear(&cfg);
}

static void test_route_opts(void)
{
    jwtx_route_opts o;
    jwtx_route_opts_init(&o);
    CU_ASSERT_TRUE(o.verify_type);
    CU_ASSERT_FALSE(o.optional || o.fresh || o.refresh || o.skip_revocation_check);
    CU_ASSERT_EQUAL(o.n_locations, 0);
    CU_ASSERT_PTR_NULL(o.require_claims);

    static const struct {
        const char *env[8];
        int rc;
        bool optional, fresh, refresh, verify_type, skip;
        jwtx_location locs[4];
        const char *msg;
    } rows[] = {
        {{NULL}, 0, false, false, false, true, false, {0}, NULL},
        {{"JWTX_OPTIONAL=1", "JWTX_FRESH=TRUE", "JWTX_REFRESH=yes", "JWTX_VERIFY_TYPE=off",
          "JWTX_SKIP_REVOCATION_CHECK=On", NULL},
         0,
         true,
         true,
         true,
         false,
         true,
         {0},
         NULL},
        {{"JWTX_OPTIONAL=0", "JWTX_FRESH=", "JWTX_VERIFY_TYPE= No ", NULL},
         0,
         false,
         false,
         false,
         false,
         false,
         {0},
         NULL},
        {{"JWTX_FRESH=maybe", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "JWTX_FRESH: 'maybe' is not a boolean"},
        {{"JWTX_LOCATIONS=cookies, headers", NULL},
         0,
         false,
         false,
         false,
         true,
         false,
         {JWTX_LOC_COOKIES, JWTX_LOC_HEADERS},
         NULL},
        {{"JWTX_LOCATIONS=query_string,json,", NULL},
         0,
         false,
         false,
         false,
         true,
         false,
         {JWTX_LOC_QUERY_STRING, JWTX_LOC_JSON},
         NULL},
        {{"JWTX_LOCATIONS=", NULL}, 0, false, false, false, true, false, {0}, NULL},
        {{"JWTX_LOCATIONS=headers,Cookies", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "'Cookies' is not a valid location"},
        {{"JWTX_LOCATIONS=query-string", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "'query-string' is not a valid location"},
        {{"JWTX_REQUIRE_CLAIMS=[1]", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "JWTX_REQUIRE_CLAIMS must be a JSON object"},
        {{"JWTX_REQUIRE_CLAIMS={bad", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "JWTX_REQUIRE_CLAIMS must be a JSON object"},
        /* a failure leaves the options as they were */
        {{"JWTX_OPTIONAL=1", "JWTX_LOCATIONS=nope", NULL},
         -1,
         false,
         false,
         false,
         true,
         false,
         {0},
         "'nope' is not a valid location"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        req_make(&r, rows[i].env, NULL);
        jwtx_route_opts_init(&o);
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_route_opts_from_request(&o, &r, &err);
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        CU_ASSERT_EQUAL(o.optional, rows[i].optional);
        CU_ASSERT_EQUAL(o.fresh, rows[i].fresh);
        CU_ASSERT_EQUAL(o.refresh, rows[i].refresh);
        CU_ASSERT_EQUAL(o.verify_type, rows[i].verify_type);
        CU_ASSERT_EQUAL(o.skip_revocation_check, rows[i].skip);
        size_t n = 0;
        while (n < 4 && rows[i].locs[n] != JWTX_LOC_NONE)
            n++;
        CU_ASSERT_EQUAL(o.n_locations, n);
        for (size_t k = 0; k < n && k < o.n_locations; k++)
            CU_ASSERT_EQUAL(o.locations[k], rows[i].locs[k]);
        if (rows[i].msg) {
            CU_ASSERT_EQUAL(err.code, JWTX_ERR_CONFIG);
            JWTX_ASSERT_STR(jwtx_error_message(&err), rows[i].msg);
        }
        jwtx_route_opts_clear(&o);
        jwtx_request_clear(&r);
    }

    /* JWTX_REQUIRE_CLAIMS parsed into an owned object */
    const char *env[] = {"JWTX_REQUIRE_CLAIMS={\"role\":\"admin\"}", NULL};
    jwtx_request r;
    req_make(&r, env, NULL);
    jwtx_route_opts_init(&o);
    CU_ASSERT_EQUAL(jwtx_route_opts_from_request(&o, &r, NULL), 0);
    CU_ASSERT_TRUE(json_is_object(o.require_claims));
    /* a second read replaces it without leaking */
    CU_ASSERT_EQUAL(jwtx_route_opts_from_request(&o, &r, NULL), 0);
    JWTX_ASSERT_STR(json_string_value(json_object_get(o.require_claims, "role")), "admin");
    jwtx_route_opts_clear(&o);
    CU_ASSERT_PTR_NULL(o.require_claims);
    jwtx_request_clear(&r);
}

static void test_claims_match(void)
{
    static const struct {
        const char *required, *claims;
        bool ok;
    } rows[] = {
        {"{}", "{\"sub\":\"a\"}", true},
        {"{\"role\":\"admin\"}", "{\"role\":\"admin\"}", true},
        {"{\"role\":\"admin\"}", "{\"role\":\"user\"}", false},
        {"{\"role\":\"admin\"}", "{}", false},
        {"{\"role\":\"admin\"}", "{\"role\":[\"user\",\"admin\"]}", true},
        {"{\"role\":\"admin\"}", "{\"role\":[\"user\"]}", false},
        {"{\"role\":[\"a\",\"b\"]}", "{\"role\":[\"b\",\"c\",\"a\"]}", true},
        {"{\"role\":[\"a\",\"d\"]}", "{\"role\":[\"b\",\"c\",\"a\"]}", false},
        {"{\"n\":1}", "{\"n\":1}", true},
        {"{\"n\":1}", "{\"n\":\"1\"}", false},
        {"{\"a\":true,\"b\":\"x\"}", "{\"a\":true,\"b\":\"x\",\"c\":0}", true},
        {"{\"a\":true,\"b\":\"x\"}", "{\"a\":true}", false},
        {"{\"o\":{\"k\":1}}", "{\"o\":{\"k\":1}}", true},
        /* keys are compared by their full length: "a\u0000evil" is not "a" (fuzz finding F2) */
        {"{\"r\":{\"a\":1}}", "{\"r\":{\"a\\u0000evil\":1}}", false},
        {"{\"r\\u0000x\":1}", "{\"r\":1}", false},
        {"{\"r\\u0000x\":1}", "{\"r\\u0000x\":1}", true},
        {"{\"s\":\"a\"}", "{\"s\":\"a\\u0000b\"}", false},
        {"{\"n\":1}", "{\"n\":1.0}", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *req = jwtx_json_parse(rows[i].required, strlen(rows[i].required), NULL, 0);
        json_t *cl = jwtx_json_parse(rows[i].claims, strlen(rows[i].claims), NULL, 0);
        CU_ASSERT_PTR_NOT_NULL(req);
        CU_ASSERT_PTR_NOT_NULL(cl);
        if (jwtx_route_claims_match(req, cl) != rows[i].ok)
            fprintf(stderr, "\n  claims row %zu: %s vs %s\n", i, rows[i].required, rows[i].claims);
        CU_ASSERT_EQUAL(jwtx_route_claims_match(req, cl), rows[i].ok);
        json_decref(req);
        json_decref(cl);
    }
    CU_ASSERT_TRUE(jwtx_route_claims_match(NULL, NULL));
}

static void test_csrf_equal(void)
{
    static const struct {
        const char *a, *b;
        bool eq;
    } rows[] = {
        {"abc", "abc", true},   {"abc", "abd", false},
        {"abc", "ABC", false},  {"abc", "abcd", false},
        {"", "", true},         {"\xe9", "\xe9", false},
        {"a\xe9", "ab", false}, {"8c1f-11", "8c1f-11", true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CU_ASSERT_EQUAL(
            jwtx_locate_csrf_equal(rows[i].a, strlen(rows[i].a), rows[i].b, strlen(rows[i].b)),
            rows[i].eq);
    CU_ASSERT_FALSE(jwtx_locate_csrf_equal(NULL, 0, "", 0));
}

static const jwtx_cu_test tests[] = {
    {"5.1 headers (default config)", test_headers_default},
    {"5.1 headers (custom name/type, empty type)", test_headers_custom},
    {"5.2 cookies and CSRF", test_cookies},
    {"5.2 refresh cookies", test_cookies_refresh},
    {"5.3 query string", test_query},
    {"5.4 JSON body", test_json},
    {"5.5/5.6 order, abort, combined message", test_multi},
    {"7.3 route options", test_route_opts},
    {"required claims", test_claims_match},
    {"CSRF comparison", test_csrf_equal},
    {NULL, NULL},
};

JWTX_CU_MAIN("locate", tests)
