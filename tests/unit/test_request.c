/*
 * test_request.c — the request struct: params, derived fields, limits, body
 * reading, header names, and the Werkzeug 2.2.2 views (cookies, query, form,
 * JSON mimetype). Expected cookie and url_decode results were produced by
 * running Werkzeug 2.2.2 (Debian python3-werkzeug) on the same inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/json.h"
#include "jwtx/request.h"

static void make(jwtx_request *r, char **env)
{
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(r), 0);
    CU_ASSERT_EQUAL_FATAL(jwtx_request_load_env(r, env), 0);
}

static void test_defaults(void)
{
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    JWTX_ASSERT_STR(r.method, "GET");
    JWTX_ASSERT_STR(r.uri, "/");
    JWTX_ASSERT_STR(r.path, "/");
    JWTX_ASSERT_STR(r.query, "");
    JWTX_ASSERT_STR(r.content_type, "");
    CU_ASSERT_FALSE(r.authorizer);
    CU_ASSERT_PTR_NULL(r.body);
    CU_ASSERT_PTR_NULL(jwtx_request_param(&r, "HTTP_COOKIE"));
    jwtx_request_clear(&r);
    jwtx_request_clear(&r); /* twice is safe */
}

static void test_derived(void)
{
    static const struct {
        const char *env[6];
        const char *method, *uri, *path, *query;
        bool authorizer;
    } rows[] = {
        {{"REQUEST_METHOD=post", "REQUEST_URI=/p?a=1", "QUERY_STRING=a=1", NULL},
         "POST",
         "/p?a=1",
         "/p",
         "a=1",
         false},
        /* nginx auth_request: QUERY_STRING is the subrequest's (empty) */
        {{"REQUEST_METHOD=GET", "REQUEST_URI=/app/x?jwt=t", "QUERY_STRING=", "SCRIPT_NAME=/_auth",
          NULL},
         "GET",
         "/app/x?jwt=t",
         "/app/x",
         "jwt=t",
         false},
        {{"FCGI_ROLE=AUTHORIZER", "REQUEST_URI=/files/a", NULL},
         "GET",
         "/files/a",
         "/files/a",
         "",
         true},
        {{"FCGI_ROLE=RESPONDER", "SCRIPT_NAME=/api", "PATH_INFO=/hello", "QUERY_STRING=q=2", NULL},
         "GET",
         "/api/hello?q=2",
         "/api/hello",
         "q=2",
         false},
        /* first of duplicates wins, as FCGX_GetParam */
        {{"REQUEST_METHOD=delete", "REQUEST_METHOD=GET", "REQUEST_URI=/", NULL},
         "DELETE",
         "/",
         "/",
         "",
         false},
        {{"NOEQUALS", "=bad", "REQUEST_URI=/x?", NULL}, "GET", "/x?", "/x", "", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        make(&r, (char **)rows[i].env);
        JWTX_ASSERT_STR(r.method, rows[i].method);
        JWTX_ASSERT_STR(r.uri, rows[i].uri);
        JWTX_ASSERT_STR(r.path, rows[i].path);
        JWTX_ASSERT_STR(r.query, rows[i].query);
        CU_ASSERT_EQUAL(r.authorizer, rows[i].authorizer);
        jwtx_request_clear(&r);
    }
}

static void test_set_param(void)
{
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "REQUEST_METHOD", "put"), 0);
    JWTX_ASSERT_STR(r.method, "PUT");
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "REQUEST_METHOD", "patch"), 0); /* replaces */
    JWTX_ASSERT_STR(r.method, "PATCH");
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_TYPE", "application/json"), 0);
    JWTX_ASSERT_STR(r.content_type, "application/json");
    /* load_env does not override what is already there (first wins) */
    char *env[] = {"REQUEST_METHOD=GET", "X=1", NULL};
    CU_ASSERT_EQUAL(jwtx_request_load_env(&r, env), 0);
    JWTX_ASSERT_STR(r.method, "PATCH");
    JWTX_ASSERT_STR(jwtx_request_param(&r, "X"), "1");
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "", "x"), JWTX_REQUEST_ELIMIT);
    jwtx_request_clear(&r);
}

static void test_limits(void)
{
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    char *big = malloc(JWTX_REQUEST_MAX_VALUE + 2);
    memset(big, 'a', JWTX_REQUEST_MAX_VALUE + 1);
    big[JWTX_REQUEST_MAX_VALUE + 1] = '\0';
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_COOKIE", big), JWTX_REQUEST_ELIMIT);
    big[JWTX_REQUEST_MAX_VALUE] = '\0';
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_COOKIE", big), 0);
    char name[JWTX_REQUEST_MAX_NAME + 2];
    memset(name, 'N', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, name, "v"), JWTX_REQUEST_ELIMIT);
    free(big);
    jwtx_request_clear(&r);

    /* too many params: load_env reports it (the caller answers 400) */
    char **env = calloc(JWTX_REQUEST_MAX_PARAMS + 2, sizeof *env);
    for (size_t i = 0; i < JWTX_REQUEST_MAX_PARAMS + 1; i++) {
        env[i] = malloc(32);
        snprintf(env[i], 32, "P%zu=v", i);
    }
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    CU_ASSERT_EQUAL(jwtx_request_load_env(&r, env), JWTX_REQUEST_ELIMIT);
    for (size_t i = 0; i < JWTX_REQUEST_MAX_PARAMS + 1; i++)
        free(env[i]);
    free(env);
    jwtx_request_clear(&r);
}

static void test_headers(void)
{
    char *env[] = {"HTTP_X_CSRF_TOKEN=abc",         "HTTP_AUTHORIZATION=Bearer t",
                   "CONTENT_TYPE=application/json", "HTTP_CONTENT_LENGTH=18",
                   "HTTP_X_CUSTOM_NAME=1",          NULL};
    jwtx_request r;
    make(&r, env);
    JWTX_ASSERT_STR(jwtx_request_header(&r, "X-CSRF-TOKEN"), "abc");
    JWTX_ASSERT_STR(jwtx_request_header(&r, "x-csrf-token"), "abc");
    JWTX_ASSERT_STR(jwtx_request_header(&r, "X_Csrf-Token"), "abc");
    JWTX_ASSERT_STR(jwtx_request_header(&r, "authorization"), "Bearer t");
    JWTX_ASSERT_STR(jwtx_request_header(&r, "Content-Type"), "application/json");
    /* lighttpd authorizers get only HTTP_CONTENT_LENGTH */
    JWTX_ASSERT_STR(jwtx_request_header(&r, "content-length"), "18");
    JWTX_ASSERT_STR(jwtx_request_header(&r, "X-Custom-Name"), "1");
    CU_ASSERT_PTR_NULL(jwtx_request_header(&r, "X-Missing"));
    CU_ASSERT_PTR_NULL(jwtx_request_header(&r, ""));
    jwtx_request_clear(&r);
}

/* read callback over a fixed buffer, handing out at most `chunk` bytes */
struct src {
    const char *data;
    size_t len, pos, chunk;
    int fail;
};

static long src_read(void *ctx, void *buf, size_t n)
{
    struct src *s = ctx;
    if (s->fail)
        return -1;
    size_t k = s->len - s->pos;
    if (k > n)
        k = n;
    if (k > s->chunk)
        k = s->chunk;
    memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    return (long)k;
}

static void test_read_body(void)
{
    static const struct {
        const char *cl; /* NULL = absent */
        const char *data;
        size_t max;
        int fail;
        int rc;
        jwtx_err code;
        const char *body; /* expected body on success (NULL = none) */
        size_t consumed;  /* bytes read from the source */
    } rows[] = {
        {NULL, "ignored", 100, 0, 0, JWTX_OK, NULL, 0},
        {"", "ignored", 100, 0, 0, JWTX_OK, NULL, 0},
        {"5", "hello world", 100, 0, 0, JWTX_OK, "hello", 5},
        {"0", "x", 100, 0, 0, JWTX_OK, "", 0},
        {"11", "hello world", 11, 0, 0, JWTX_OK, "hello world", 11},
        {"12", "hello world!", 11, 0, -1, JWTX_ERR_BODY_TOO_LARGE, NULL, 0},
        {"99999999999999999999999", "x", 11, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 0},
        {"-1", "x", 11, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 0},
        {" 5", "hello", 11, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 0},
        {"+5", "hello", 11, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 0},
        {"5x", "hello", 11, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 0},
        {"10", "short", 100, 0, -1, JWTX_ERR_BAD_REQUEST, NULL, 5},
        {"5", "hello", 100, 1, -1, JWTX_ERR_IO, NULL, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        if (rows[i].cl)
            CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_LENGTH", rows[i].cl), 0);
        struct src s = {rows[i].data, strlen(rows[i].data), 0, 3, rows[i].fail};
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_request_read_body(&r, src_read, &s, rows[i].max, &err);
        CU_ASSERT_EQUAL(rc, rows[i].rc);
        CU_ASSERT_EQUAL(err.code, rows[i].code);
        CU_ASSERT_EQUAL(s.pos, rows[i].consumed);
        if (rows[i].body) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(r.body);
            CU_ASSERT_EQUAL(r.body_len, strlen(rows[i].body));
            JWTX_ASSERT_STR((const char *)r.body, rows[i].body);
        } else {
            CU_ASSERT_PTR_NULL(r.body);
        }
        if (rows[i].code == JWTX_ERR_BODY_TOO_LARGE) {
            JWTX_ASSERT_STR(jwtx_error_message(&err), "Request body too large");
            CU_ASSERT_EQUAL(jwtx_err_status(err.code), 413);
        }
        jwtx_request_clear(&r);
    }
}

/* expected[] holds name=value pairs in order; "" ends it. */
static void test_cookies(void)
{
    static const struct {
        const char *header;
        const char *pairs[8]; /* name, value, name, value, ..., NULL */
    } rows[] = {
        {"a=b; c=d", {"a", "b", "c", "d", NULL}},
        {"a=1; a=2", {"a", "1", "a", "2", NULL}},
        {"a=\"x;y\"", {"a", "x;y", NULL}},
        {"a=\"\\101\\\"b\"", {"a", "A\"b", NULL}},
        {" a = b ;", {"a", "b", NULL}},
        {"foo; a=b", {"foo", "", "a", "b", NULL}},
        {"=abc; x=y", {"x", "y", NULL}},
        {"a=b c", {"a", "b c", NULL}},
        {"a=b  ;c=d", {"a", "b", "c", "d", NULL}},
        {"a=\"unclosed; b=c", {"a", "\"unclosed", "b", "c", NULL}},
        {"a=\"q\"x; b=1", {"a", "\"q\"x", "b", "1", NULL}},
        {"a=\"q\" ; b=1", {"a", "q", "b", "1", NULL}},
        {"a=\xff", {"a", "\xef\xbf\xbd", NULL}},
        {";;;a=b", {"a", "b", NULL}},
        {"a=b=c", {"a", "b=c", NULL}},
        {"a=\"x\\\"", {"a", "x\\", NULL}},
        {"a=\"\\z\\\"\"", {"a", "z\"", NULL}},
        {"a=b\x0b;c= d\x0c", {"a", "b", "c", "d", NULL}},
        {"  ; =; a", {"a", "", NULL}},
        {"a=\"\\400\"", {"a", "400", NULL}},
        {"a=\"\\0777\"", {"a", "?7", NULL}},
        {"a=\"", {"a", "\"", NULL}},
        {"a=\"\"", {"a", "", NULL}},
        {"a= \"v\" ", {"a", "v", NULL}},
        {"a b=c", {"a b", "c", NULL}},
        {"", {NULL}},
        /* a line feed inside a value stops the parse (no server sends one) */
        {"a=1; b=x\ny; c=3", {"a", "1", NULL}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_COOKIE", rows[i].header), 0);
        size_t n = 0;
        while (rows[i].pairs[2 * n])
            n++;
        size_t got = jwtx_request_cookie_count(&r);
        if (got != n)
            fprintf(stderr, "\n  cookie row %zu: %zu pairs, expected %zu\n", i, got, n);
        CU_ASSERT_EQUAL(got, n);
        for (size_t k = 0; k < n && k < got; k++) {
            const char *name, *val;
            size_t len;
            CU_ASSERT_EQUAL(jwtx_request_cookie_at(&r, k, &name, &val, &len), 0);
            JWTX_ASSERT_STR(name, rows[i].pairs[2 * k]);
            JWTX_ASSERT_STR(val, rows[i].pairs[2 * k + 1]);
            CU_ASSERT_EQUAL(len, strlen(rows[i].pairs[2 * k + 1]));
        }
        CU_ASSERT_EQUAL(jwtx_request_cookie_at(&r, got, NULL, NULL, NULL), -1);
        jwtx_request_clear(&r);
    }

    /* lookup: first duplicate wins, case-sensitive names */
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(
                        &r, "HTTP_COOKIE",
                        "access_token_cookie=first; Access_token_cookie=x; access_token_cookie=2"),
                    0);
    const char *v = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(jwtx_request_cookie(&r, "access_token_cookie", &v, &len), 1);
    JWTX_ASSERT_STR(v, "first");
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(jwtx_request_cookie(&r, "ACCESS_TOKEN_COOKIE", &v, &len), 0);
    /* replacing the header drops the cache */
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "HTTP_COOKIE", "access_token_cookie=new"), 0);
    CU_ASSERT_EQUAL(jwtx_request_cookie(&r, "access_token_cookie", &v, &len), 1);
    JWTX_ASSERT_STR(v, "new");
    jwtx_request_clear(&r);
}

static void test_query(void)
{
    static const char *qs = "a=1&a=2&b=%41%zz%4&c=x+y%2B&&d&e=%C3%A9%FF&%6a%77%74=k&f=%e0%80%41";
    static const struct {
        const char *name, *value; /* NULL = absent */
    } rows[] = {
        {"a", "1"},
        {"b", "A%zz%4"},
        {"c", "x y+"},
        {"d", ""},
        {"e", "\xc3\xa9\xef\xbf\xbd"},
        {"jwt", "k"},
        {"f", "\xef\xbf\xbd\xef\xbf\xbd"
              "A"},
        {"x", NULL},
        {"A", NULL},
    };
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "QUERY_STRING", qs), 0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len = 99;
        char *v = jwtx_request_query_get(&r, rows[i].name, &len);
        if (rows[i].value == NULL) {
            CU_ASSERT_PTR_NULL(v);
        } else {
            JWTX_ASSERT_STR(v, rows[i].value);
            CU_ASSERT_EQUAL(len, strlen(rows[i].value));
        }
        free(v);
    }
    jwtx_request_clear(&r);
}

static void test_form(void)
{
    jwtx_request r;
    char *env[] = {"REQUEST_METHOD=POST",
                   "CONTENT_TYPE=Application/X-WWW-Form-Urlencoded; charset=utf-8", NULL};
    make(&r, env);
    const char *body = "username=test+user&csrf_token=abc%2D1&csrf_token=second";
    CU_ASSERT_EQUAL(jwtx_request_set_body(&r, body, strlen(body)), 0);
    CU_ASSERT_TRUE(jwtx_request_is_form(&r));
    char *v = jwtx_request_form_get(&r, "csrf_token", NULL);
    JWTX_ASSERT_STR(v, "abc-1");
    free(v);
    v = jwtx_request_form_get(&r, "username", NULL);
    JWTX_ASSERT_STR(v, "test user");
    free(v);
    CU_ASSERT_PTR_NULL(jwtx_request_form_get(&r, "password", NULL));
    jwtx_request_clear(&r);

    /* multipart/form-data: non-file parts */
    char *env2[] = {"REQUEST_METHOD=POST", "CONTENT_TYPE=multipart/form-data; boundary=XyZ", NULL};
    make(&r, env2);
    const char *mp = "--XyZ\r\n"
                     "Content-Disposition: form-data; name=\"file\"; filename=\"csrf_token\"\r\n"
                     "\r\nFILEDATA\r\n"
                     "--XyZ\r\n"
                     "Content-Disposition: form-data; name=\"csrf_token\"\r\n"
                     "\r\nmp-value\r\n"
                     "--XyZ--\r\n";
    CU_ASSERT_EQUAL(jwtx_request_set_body(&r, mp, strlen(mp)), 0);
    CU_ASSERT_FALSE(jwtx_request_is_form(&r));
    size_t len = 0;
    v = jwtx_request_form_get(&r, "csrf_token", &len);
    JWTX_ASSERT_STR(v, "mp-value");
    CU_ASSERT_EQUAL(len, 8);
    free(v);
    CU_ASSERT_PTR_NULL(jwtx_request_form_get(&r, "file", NULL));
    CU_ASSERT_PTR_NULL(jwtx_request_form_get(&r, "nope", NULL));
    jwtx_request_clear(&r);

    /* a JSON body is never a form */
    char *env3[] = {"CONTENT_TYPE=application/json", NULL};
    make(&r, env3);
    CU_ASSERT_EQUAL(jwtx_request_set_body(&r, "csrf_token=1", 12), 0);
    CU_ASSERT_PTR_NULL(jwtx_request_form_get(&r, "csrf_token", NULL));
    jwtx_request_clear(&r);
}

static void test_json_mimetype(void)
{
    static const struct {
        const char *ct;
        bool json;
        const char *mimetype;
    } rows[] = {
        {"application/json", true, "application/json"},
        {"APPLICATION/JSON", true, "application/json"},
        {"application/json; charset=utf-8", true, "application/json"},
        {"  application/json ;x", true, "application/json"},
        {"application/vnd.api+json", true, "application/vnd.api+json"},
        {"application/+json", true, "application/+json"},
        {"text/json", false, "text/json"},
        {"application/jsonx", false, "application/jsonx"},
        {"application/x-www-form-urlencoded", false, "application/x-www-form-urlencoded"},
        {"", false, ""},
        {";application/json", false, ""},
        {"\xa0"
         "application/json",
         true, "application/json"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_TYPE", rows[i].ct), 0);
        CU_ASSERT_EQUAL(jwtx_request_is_json(&r), rows[i].json);
        char mt[64];
        jwtx_request_mimetype(rows[i].ct, mt, sizeof mt);
        JWTX_ASSERT_STR(mt, rows[i].mimetype);
        jwtx_request_clear(&r);
    }
}

static void test_json_body(void)
{
    static const struct {
        const char *ct, *body;
        int type; /* -1 = NULL */
    } rows[] = {
        {"application/json", "{\"access_token\":\"x\"}", JSON_OBJECT},
        {"application/json", "[1]", JSON_ARRAY},
        {"application/json", "\"s\"", JSON_STRING},
        {"application/json", "", -1},
        {"application/json", "{bad", -1},
        {"text/plain", "{\"a\":1}", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_request r;
        CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_TYPE", rows[i].ct), 0);
        CU_ASSERT_EQUAL(jwtx_request_set_body(&r, rows[i].body, strlen(rows[i].body)), 0);
        const json_t *j = jwtx_request_json(&r);
        if (rows[i].type < 0) {
            CU_ASSERT_PTR_NULL(j);
        } else {
            CU_ASSERT_PTR_NOT_NULL(j);
            if (j)
                CU_ASSERT_EQUAL((int)json_typeof(j), rows[i].type);
            CU_ASSERT_PTR_EQUAL(jwtx_request_json(&r), j); /* cached */
        }
        jwtx_request_clear(&r);
    }
}

static const jwtx_cu_test tests[] = {
    {"defaults", test_defaults},
    {"derived fields", test_derived},
    {"set_param", test_set_param},
    {"limits", test_limits},
    {"headers", test_headers},
    {"read_body", test_read_body},
    {"cookies (Werkzeug 2.2.2)", test_cookies},
    {"query (url_decode)", test_query},
    {"form", test_form},
    {"JSON mimetype", test_json_mimetype},
    {"JSON body", test_json_body},
    {NULL, NULL},
};

JWTX_CU_MAIN("request", tests)
