/*
 * fuzz_request.c — libFuzzer target for the request views Werkzeug would
 * give Flask-JWT-Extended: cookies (HTTP_COOKIE), query (QUERY_STRING /
 * REQUEST_URI), urlencoded and multipart forms, the JSON body, headers and
 * the mimetype.
 *
 * Input: NUL-separated fields HTTP_COOKIE, QUERY_STRING, CONTENT_TYPE,
 * REQUEST_URI, a name to look up (query field, form field, cookie), a
 * header name, then the body (the rest of the input, NULs included).
 * Checked: no crash, leak, overread or UB; every value handed back is
 * NUL-terminated at its length; query values and cookie values are valid
 * UTF-8 (invalid bytes become U+FFFD, as Werkzeug decodes), as are
 * urlencoded form values; cookie_at agrees with cookie_count; the JSON view
 * is only there for a JSON content type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_COOKIE, F_QUERY, F_CTYPE, F_URI, F_NAME, F_HEADER, F_BODY, F_N };

static void check_value(char *v, size_t len, bool utf8, const char *what)
{
    if (v == NULL)
        return;
    if (v[len] != '\0')
        fuzz_fail(what);
    if (utf8 && !fuzz_utf8_valid(v, len))
        fuzz_fail(what);
    free(v);
}

static void lookups(const jwtx_request *req, const char *name)
{
    size_t len = 0;
    check_value(jwtx_request_query_get(req, name, &len), len, true, "query value");
    len = 0;
    char *form = jwtx_request_form_get(req, name, &len);
    check_value(form, len, jwtx_request_is_form(req), "form value");
    const char *val = NULL;
    len = 0;
    int r = jwtx_request_cookie(req, name, &val, &len);
    if (r == 1 && (val == NULL || val[len] != '\0' || !fuzz_utf8_valid(val, len)))
        fuzz_fail("cookie value");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields ff;
    fuzz_fields_split(&ff, data, size, F_N);
    jwtx_request req;
    if (jwtx_request_init(&req) != 0)
        abort();
    static const char *const params[] = {"HTTP_COOKIE", "QUERY_STRING", "CONTENT_TYPE",
                                         "REQUEST_URI"};
    for (size_t i = 0; i < 4; i++)
        if (ff.len[i] > 0)
            (void)jwtx_request_set_param(&req, params[i], ff.f[i]);
    (void)jwtx_request_set_param(&req, "REQUEST_METHOD", "post");
    if (ff.n > F_BODY && jwtx_request_set_body(&req, ff.f[F_BODY], ff.len[F_BODY]) != 0)
        abort();

    lookups(&req, ff.f[F_NAME]);
    lookups(&req, "jwt");
    lookups(&req, "csrf_token");

    size_t n = jwtx_request_cookie_count(&req);
    if (n > JWTX_REQUEST_MAX_COOKIES)
        fuzz_fail("more cookies than JWTX_REQUEST_MAX_COOKIES");
    for (size_t i = 0; i < n; i++) {
        const char *cn = NULL, *cv = NULL;
        size_t cl = 0;
        if (jwtx_request_cookie_at(&req, i, &cn, &cv, &cl) != 0 || cn == NULL || cv == NULL ||
            cv[cl] != '\0')
            fuzz_fail("cookie_at within cookie_count");
    }
    const char *cn, *cv;
    size_t cl;
    if (jwtx_request_cookie_at(&req, n, &cn, &cv, &cl) == 0)
        fuzz_fail("cookie_at past cookie_count");

    const json_t *j = jwtx_request_json(&req);
    if (j != NULL && !jwtx_request_is_json(&req))
        fuzz_fail("JSON body without a JSON content type");
    (void)jwtx_request_header(&req, ff.f[F_HEADER]);
    (void)jwtx_request_header(&req, "Content-Type");
    (void)jwtx_request_header(&req, "Cookie");
    char mt[64];
    size_t mlen = jwtx_request_mimetype(ff.f[F_CTYPE], mt, sizeof mt);
    if (strlen(mt) != (mlen < sizeof mt ? mlen : sizeof mt - 1))
        fuzz_fail("mimetype length");
    if (req.method == NULL || req.uri == NULL || req.path == NULL || req.query == NULL ||
        req.content_type == NULL)
        fuzz_fail("derived request field is NULL");

    jwtx_request_clear(&req);
    fuzz_fields_free(&ff);
    return 0;
}
