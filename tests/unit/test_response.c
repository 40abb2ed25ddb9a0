/*
 * test_response.c — answers: jsonify bytes, error answers with their RFC 6750
 * challenge, the exact Set-Cookie lines of spec section 6 (checked against
 * Werkzeug 2.2.2's dump_cookie), redirects and the CGI serialisation.
 */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/response.h"

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = v ? strdup(v) : NULL;
}

/* The n-th header called name, or NULL. */
static const char *nth(const jwtx_response *r, const char *name, size_t n)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0 && n-- == 0)
            return r->headers[i].value;
    return NULL;
}

static size_t count(const jwtx_response *r, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        c += strcasecmp(r->headers[i].name, name) == 0;
    return c;
}

static void test_json_body(void)
{
    jwtx_response r;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(r.status, 200);
    json_t *o = json_pack("{s:s, s:s, s:i}", "refresh_token", "R", "access_token", "A", "n", 1);
    CU_ASSERT_EQUAL(jwtx_response_json(&r, 200, o), 0);
    JWTX_ASSERT_STR(r.body.data, "{\"access_token\":\"A\",\"n\":1,\"refresh_token\":\"R\"}\n");
    JWTX_ASSERT_STR(jwtx_response_header(&r, "content-type"), "application/json");
    json_decref(o);
    /* replacing the body keeps one Content-Type */
    CU_ASSERT_EQUAL(jwtx_response_msg(&r, 201, "msg", "caf\xc3\xa9 \xf0\x9f\x98\x80 </a>"), 0);
    JWTX_ASSERT_STR(r.body.data, "{\"msg\":\"caf\\u00e9 \\ud83d\\ude00 </a>\"}\n");
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(count(&r, "Content-Type"), 1);
    jwtx_response_clear(&r);
}

static void test_errors(void)
{
    static const struct {
        jwtx_err code;
        const char *text; /* detail, or NULL for the default message */
        const char *key;
        int status;
        const char *body;
        const char *www; /* NULL = none */
    } rows[] = {
        {JWTX_ERR_MISSING_HEADER, NULL, "msg", 401, "{\"msg\":\"Missing Authorization Header\"}\n",
         "Bearer"},
        {JWTX_ERR_MISSING_JWT,
         "Missing JWT in cookies or headers (Missing cookie \"access_token_cookie\"; Missing "
         "Authorization Header)",
         "msg", 401,
         "{\"msg\":\"Missing JWT in cookies or headers (Missing cookie "
         "\\\"access_token_cookie\\\"; Missing Authorization Header)\"}\n",
         "Bearer"},
        {JWTX_ERR_EXPIRED, NULL, "msg", 401, "{\"msg\":\"Token has expired\"}\n",
         "Bearer error=\"invalid_token\", error_description=\"Token has expired\""},
        {JWTX_ERR_CSRF_MISSING, NULL, "msg", 401, "{\"msg\":\"Missing CSRF token\"}\n",
         "Bearer error=\"invalid_token\", error_description=\"Missing CSRF token\""},
        {JWTX_ERR_USER_LOOKUP, "Error loading the user \"al\\ice\" \xc3\xa9", "error", 401,
         "{\"error\":\"Error loading the user \\\"al\\\\ice\\\" \\u00e9\"}\n",
         "Bearer error=\"invalid_token\", error_description=\"Error loading the user "
         "\\\"al\\\\ice\\\" \""},
        {JWTX_ERR_BAD_CREDENTIALS, NULL, "msg", 401, "{\"msg\":\"Bad username or password\"}\n",
         "Bearer"},
        {JWTX_ERR_NOT_ENOUGH_SEGMENTS, NULL, "msg", 422, "{\"msg\":\"Not enough segments\"}\n",
         NULL},
        {JWTX_ERR_CLAIMS_VERIFICATION, NULL, "msg", 400,
         "{\"msg\":\"User claims verification failed\"}\n", NULL},
        {JWTX_ERR_BODY_TOO_LARGE, NULL, "msg", 413, "{\"msg\":\"Request body too large\"}\n", NULL},
    };
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        set_str(&cfg.error_message_key, rows[i].key);
        jwtx_error err;
        if (rows[i].text)
            jwtx_error_set(&err, rows[i].code, "%s", rows[i].text);
        else
            jwtx_error_set(&err, rows[i].code, NULL);
        jwtx_response r;
        jwtx_response_init(&r);
        CU_ASSERT_EQUAL(jwtx_response_error(&r, &cfg, &err), 0);
        CU_ASSERT_EQUAL(r.status, rows[i].status);
        JWTX_ASSERT_STR(r.body.data, rows[i].body);
        JWTX_ASSERT_STR(jwtx_response_header(&r, "Content-Type"), "application/json");
        JWTX_ASSERT_STR(jwtx_response_header(&r, "Cache-Control"), "no-store");
        if (rows[i].www)
            JWTX_ASSERT_STR(jwtx_response_header(&r, "WWW-Authenticate"), rows[i].www);
        else
            CU_ASSERT_PTR_NULL(jwtx_response_header(&r, "WWW-Authenticate"));
        jwtx_response_clear(&r);
    }
    jwtx_config_clear(&cfg);
}

static void test_serialize(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    jwtx_error err;
    jwtx_error_set(&err, JWTX_ERR_MISSING_HEADER, NULL);
    jwtx_response r;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_error(&r, &cfg, &err), 0);
    jwtx_buf out;
    jwtx_buf_init(&out);
    CU_ASSERT_EQUAL(jwtx_response_serialize(&r, &out), 0);
    JWTX_ASSERT_STR(out.data, "Status: 401 UNAUTHORIZED\r\n"
                              "Content-Type: application/json\r\n"
                              "WWW-Authenticate: Bearer\r\n"
                              "Cache-Control: no-store\r\n"
                              "\r\n"
                              "{\"msg\":\"Missing Authorization Header\"}\n");
    jwtx_buf_clear(&out);
    jwtx_response_clear(&r);

    /* 422, no body headers beyond those added */
    jwtx_response_init(&r);
    r.status = 422;
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "Variable-REMOTE_USER", "alice"), 0);
    jwtx_buf_init(&out);
    CU_ASSERT_EQUAL(jwtx_response_serialize(&r, &out), 0);
    JWTX_ASSERT_STR(out.data,
                    "Status: 422 UNPROCESSABLE ENTITY\r\nVariable-REMOTE_USER: alice\r\n\r\n");
    jwtx_buf_clear(&out);

    /* header injection is refused */
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "X-A", "a\r\nSet-Cookie: x=1"), -1);
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "X-A", "a\nb"), -1);
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "X A", "v"), -1);
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "X:A", "v"), -1);
    CU_ASSERT_EQUAL(jwtx_response_add_header(&r, "", "v"), -1);
    CU_ASSERT_EQUAL(r.n_headers, 1);
    /* a value smuggled in directly is caught at serialisation */
    free(r.headers[0].value);
    r.headers[0].value = strdup("x\r\nEvil: 1");
    jwtx_buf_init(&out);
    CU_ASSERT_EQUAL(jwtx_response_serialize(&r, &out), -1);
    CU_ASSERT_EQUAL(out.len, 0);
    jwtx_buf_clear(&out);
    jwtx_response_clear(&r);

    /* set_header replaces every duplicate */
    jwtx_response_init(&r);
    jwtx_response_add_header(&r, "X-A", "1");
    jwtx_response_add_header(&r, "X-B", "2");
    jwtx_response_add_header(&r, "x-a", "3");
    CU_ASSERT_EQUAL(jwtx_response_set_header(&r, "X-a", "4"), 0);
    CU_ASSERT_EQUAL(r.n_headers, 2);
    JWTX_ASSERT_STR(jwtx_response_header(&r, "X-A"), "4");
    JWTX_ASSERT_STR(r.headers[1].value, "2");
    jwtx_response_clear(&r);
    jwtx_config_clear(&cfg);
}

static void test_http_date(void)
{
    static const struct {
        long long t;
        const char *s;
    } rows[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {1827417610, "Sun, 28 Nov 2027 16:00:10 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {-5, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {999999999999999LL, "Fri, 31 Dec 9999 23:59:59 GMT"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[30];
        jwtx_http_date(rows[i].t, buf);
        JWTX_ASSERT_STR(buf, rows[i].s);
    }
}

#define NOW 1795877610LL /* Sat, 28 Nov 2026 14:53:30 GMT; +31540000 = Sun, 28 Nov 2027 16:00:10   \
                          */
#define JWT "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
#define UUID "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static void test_set_cookies(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    jwtx_response r;

    /* defaults: session cookies */
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 0, NULL, NOW), 0);
    CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 2);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0), "access_token_cookie=" JWT "; HttpOnly; Path=/");
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 1), "csrf_access_token=" UUID "; Path=/");
    CU_ASSERT_EQUAL(jwtx_response_set_refresh_cookies(&r, &cfg, JWT, UUID, 0, NULL, NOW), 0);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 2), "refresh_token_cookie=" JWT "; HttpOnly; Path=/");
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 3), "csrf_refresh_token=" UUID "; Path=/");
    jwtx_response_clear(&r);

    /* persistent, secure, domain, Strict */
    cfg.session_cookie = false;
    cfg.cookie_secure = true;
    set_str(&cfg.cookie_domain, ".example.com");
    cfg.cookie_samesite = JWTX_SAMESITE_STRICT;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 0, NULL, NOW), 0);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0),
                    "access_token_cookie=" JWT "; Domain=.example.com; Expires=Sun, 28 Nov 2027 "
                    "16:00:10 GMT; Max-Age=31540000; Secure; HttpOnly; Path=/; SameSite=Strict");
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 1),
                    "csrf_access_token=" UUID "; Domain=.example.com; Expires=Sun, 28 Nov 2027 "
                    "16:00:10 GMT; Max-Age=31540000; Secure; Path=/; SameSite=Strict");
    jwtx_response_clear(&r);

    /* max_age=100 beats the config; per-call domain beats JWT_COOKIE_DOMAIN; Lax / None */
    cfg.cookie_secure = false;
    cfg.cookie_samesite = JWTX_SAMESITE_LAX;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(
        jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 100, "api.example.org:8443", NOW), 0);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0),
                    "access_token_cookie=" JWT "; Domain=api.example.org; Expires=Sat, 28 Nov 2026 "
                    "14:55:10 GMT; Max-Age=100; HttpOnly; Path=/; SameSite=Lax");
    jwtx_response_clear(&r);
    cfg.cookie_samesite = JWTX_SAMESITE_NONE;
    cfg.session_cookie = true;
    set_str(&cfg.cookie_domain, NULL);
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 100, NULL, NOW), 0);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0),
                    "access_token_cookie=" JWT "; Expires=Sat, 28 Nov 2026 14:55:10 GMT; "
                    "Max-Age=100; HttpOnly; Path=/; SameSite=None");
    jwtx_response_clear(&r);
    cfg.cookie_samesite = JWTX_SAMESITE_UNSET;

    /* a domain without a dot is refused and nothing is added */
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 0, "localhost", NOW), -1);
    CU_ASSERT_EQUAL(r.n_headers, 0);
    jwtx_response_clear(&r);

    /* configured names and paths */
    set_str(&cfg.access_cookie_name, "at");
    set_str(&cfg.access_cookie_path, "/api/");
    set_str(&cfg.access_csrf_cookie_name, "xat");
    set_str(&cfg.access_csrf_cookie_path, "/ui");
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_set_access_cookies(&r, &cfg, JWT, UUID, 0, NULL, NOW), 0);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0), "at=" JWT "; HttpOnly; Path=/api/");
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 1), "xat=" UUID "; Path=/ui");
    jwtx_response_clear(&r);

    /* no CSRF cookie: JWT_CSRF_IN_COOKIES off, CSRF protection off, or no csrf value */
    for (int k = 0; k < 3; k++) {
        cfg.csrf_in_cookies = k != 0;
        cfg.cookie_csrf_protect = k != 1;
        jwtx_response_init(&r);
        CU_ASSERT_EQUAL(
            jwtx_response_set_access_cookies(&r, &cfg, JWT, k == 2 ? "" : UUID, 0, NULL, NOW), 0);
        CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 1);
        jwtx_response_clear(&r);
    }
    jwtx_config_clear(&cfg);
}

static void test_unset_cookies(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    jwtx_response r;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_unset_jwt_cookies(&r, &cfg, NULL), 0);
    static const char *const lines[] = {
        "access_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/",
        "csrf_access_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
        "refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/",
        "csrf_refresh_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
    };
    CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 4);
    for (size_t i = 0; i < 4; i++)
        JWTX_ASSERT_STR(nth(&r, "Set-Cookie", i), lines[i]);
    jwtx_response_clear(&r);

    /* without CSRF cookies: 2 lines; domain, secure and SameSite apply; session ignored */
    cfg.csrf_in_cookies = false;
    cfg.cookie_secure = true;
    cfg.session_cookie = false;
    cfg.cookie_samesite = JWTX_SAMESITE_LAX;
    set_str(&cfg.refresh_cookie_path, "/refresh");
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_unset_jwt_cookies(&r, &cfg, ".example.com"), 0);
    CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 2);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0),
                    "access_token_cookie=; Domain=.example.com; Expires=Thu, 01 Jan 1970 00:00:00 "
                    "GMT; Secure; HttpOnly; Path=/; SameSite=Lax");
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 1),
                    "refresh_token_cookie=; Domain=.example.com; Expires=Thu, 01 Jan 1970 00:00:00 "
                    "GMT; Secure; HttpOnly; Path=/refresh; SameSite=Lax");
    jwtx_response_clear(&r);

    /* the access and refresh helpers alone */
    cfg.csrf_in_cookies = true;
    cfg.cookie_secure = false;
    cfg.cookie_samesite = JWTX_SAMESITE_UNSET;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_unset_refresh_cookies(&r, &cfg, NULL), 0);
    CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 2);
    JWTX_ASSERT_STR(nth(&r, "Set-Cookie", 0),
                    "refresh_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; "
                    "Path=/refresh");
    CU_ASSERT_EQUAL(jwtx_response_unset_access_cookies(&r, &cfg, "localhost"), -1);
    CU_ASSERT_EQUAL(count(&r, "Set-Cookie"), 2);
    jwtx_response_clear(&r);
    jwtx_config_clear(&cfg);
}

static void test_cookie_format(void)
{
    /* values outside Werkzeug's legal set are quoted (dump_cookie 2.2.2 output) */
    jwtx_buf b;
    jwtx_buf_init(&b);
    jwtx_cookie c = {0};
    c.name = "n";
    c.value = "a/b=c d,;\"\\\x01\xc3\xa9";
    c.path = "/";
    CU_ASSERT_EQUAL(jwtx_cookie_format(&c, &b), 0);
    JWTX_ASSERT_STR(b.data, "n=\"a/b=c d\\054\\073\\\"\\\\\\001\\303\\251\"; Path=/");
    jwtx_buf_clear(&b);

    jwtx_buf_init(&b);
    jwtx_cookie d = {0};
    d.name = "n";
    d.value = "v";
    d.domain = ".example.com:8080";
    d.has_expires = true;
    d.expires = 1795877710LL;
    d.has_max_age = true;
    d.max_age = 100;
    d.secure = true;
    d.httponly = true;
    d.path = "/";
    d.samesite = JWTX_SAMESITE_STRICT;
    CU_ASSERT_EQUAL(jwtx_cookie_format(&d, &b), 0);
    JWTX_ASSERT_STR(b.data, "n=v; Domain=.example.com; Expires=Sat, 28 Nov 2026 14:55:10 GMT; "
                            "Max-Age=100; Secure; HttpOnly; Path=/; SameSite=Strict");
    jwtx_buf_clear(&b);
}

static void test_redirect(void)
{
    jwtx_response r;
    jwtx_response_init(&r);
    CU_ASSERT_EQUAL(jwtx_response_redirect(&r, 303, "/app/?a=1&b=\"x\""), 0);
    CU_ASSERT_EQUAL(r.status, 303);
    JWTX_ASSERT_STR(jwtx_response_header(&r, "Location"), "/app/?a=1&b=\"x\"");
    JWTX_ASSERT_STR(jwtx_response_header(&r, "Content-Type"), "text/html; charset=utf-8");
    JWTX_ASSERT_STR(r.body.data,
                    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
                    "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the "
                    "target URL: <a href=\"/app/?a=1&amp;b=&quot;x&quot;\">/app/?a=1&amp;b=&quot;"
                    "x&quot;</a>. If not, click the link.\n");
    jwtx_buf out;
    jwtx_buf_init(&out);
    CU_ASSERT_EQUAL(jwtx_response_serialize(&r, &out), 0);
    CU_ASSERT_EQUAL(strncmp(out.data, "Status: 303 SEE OTHER\r\n", 23), 0);
    jwtx_buf_clear(&out);
    CU_ASSERT_EQUAL(jwtx_response_redirect(&r, 303, "/x\r\nSet-Cookie: a=b"), -1);
    CU_ASSERT_EQUAL(jwtx_response_redirect(&r, 302, "/caf\xc3\xa9 x"), 0);
    JWTX_ASSERT_STR(jwtx_response_header(&r, "Location"), "/caf%C3%A9%20x");
    CU_ASSERT_EQUAL(count(&r, "Location"), 1);
    jwtx_response_clear(&r);
}

static const jwtx_cu_test tests[] = {
    {"jsonify bodies", test_json_body},
    {"error answers + WWW-Authenticate", test_errors},
    {"CGI serialisation and header checks", test_serialize},
    {"HTTP dates", test_http_date},
    {"set_*_cookies lines (spec 6)", test_set_cookies},
    {"unset_*_cookies lines (spec 6)", test_unset_cookies},
    {"dump_cookie quoting and attribute order", test_cookie_format},
    {"redirect", test_redirect},
    {NULL, NULL},
};

JWTX_CU_MAIN("response", tests)
