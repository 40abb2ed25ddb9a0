/*
 * fuzz_response.c — libFuzzer target for answers: Set-Cookie values
 * (jwtx_cookie_format, set/unset access and refresh cookies), headers,
 * error answers with fuzzed messages, redirects, and the CGI serialisation.
 *
 * Input: one selector byte, then NUL-separated fields: cookie name, cookie
 * value, domain, path, token, CSRF value, header name, header value, redirect
 * location, error message (the rest). Selector bits: 0 secure, 1 httponly,
 * 2-3 SameSite, 4-6 an Expires/Max-Age value out of a table of edge cases
 * (0, -1, year 9999, LLONG_MAX, ...), 7 the error outcome family.
 * Checked: no crash, leak, overread or UB; whatever was accepted serialises,
 * and the serialised head has exactly one CRLF per header plus the status
 * line and the blank line, with no other CR, LF or NUL in it: no fuzzed
 * name, value, cookie or message can inject a header.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum {
    F_NAME,
    F_VALUE,
    F_DOMAIN,
    F_PATH,
    F_TOKEN,
    F_CSRF,
    F_HNAME,
    F_HVALUE,
    F_LOCATION,
    F_MESSAGE,
    F_N
};

static const long long times[8] = {
    0, -1, 1800000000LL, 253402300799LL, 253402300800LL, LLONG_MAX, LLONG_MIN, 31540000LL,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    (void)fuzz_conf(FUZZ_CONF_CSRF_FORM);
    (void)fuzz_conf(FUZZ_CONF_HS256);
    return 0;
}

static void check_serialized(const jwtx_response *resp)
{
    jwtx_buf out;
    jwtx_buf_init(&out);
    if (jwtx_response_serialize(resp, &out) != 0)
        fuzz_fail("an accepted response does not serialise");
    const char *end = memmem(out.data, out.len, "\r\n\r\n", 4);
    if (end == NULL)
        fuzz_fail("serialised head without a blank line");
    size_t head = (size_t)(end - out.data) + 4, crlf = 0;
    for (size_t i = 0; i < head; i++) {
        char c = out.data[i];
        if (c == '\0')
            fuzz_fail("NUL in the serialised head");
        if (c == '\r') {
            if (i + 1 >= head || out.data[i + 1] != '\n')
                fuzz_fail("bare CR in the serialised head");
            crlf++;
            i++;
        } else if (c == '\n') {
            fuzz_fail("bare LF in the serialised head");
        }
    }
    if (crlf != resp->n_headers + 2)
        fuzz_fail("serialised head has more lines than headers (header injection)");
    jwtx_buf_clear(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    fuzz_fields ff;
    fuzz_fields_split(&ff, data + 1, size - 1, F_N);
    long long t = times[(sel >> 4) & 7];

    /* one cookie, formatted as Werkzeug's dump_cookie */
    jwtx_cookie c = {
        .name = ff.f[F_NAME],
        .value = ff.f[F_VALUE],
        .domain = ff.len[F_DOMAIN] ? ff.f[F_DOMAIN] : NULL,
        .has_expires = (sel & 0x10) != 0,
        .expires = t,
        .has_max_age = (sel & 0x20) != 0,
        .max_age = t,
        .secure = (sel & 1) != 0,
        .httponly = (sel & 2) != 0,
        .path = ff.len[F_PATH] ? ff.f[F_PATH] : NULL,
        .samesite = (jwtx_samesite)((sel >> 2) & 3),
    };
    jwtx_response resp;
    jwtx_response_init(&resp);
    jwtx_buf cookie;
    jwtx_buf_init(&cookie);
    if (jwtx_cookie_format(&c, &cookie) == 0 && cookie.data != NULL)
        (void)jwtx_response_add_header(&resp, "Set-Cookie", cookie.data);
    jwtx_buf_clear(&cookie);
    char date[30];
    jwtx_http_date(t, date);
    if (memchr(date, '\0', sizeof date) == NULL)
        fuzz_fail("http date not NUL-terminated");

    /* a fuzzed header, set and replaced */
    if (jwtx_response_add_header(&resp, ff.f[F_HNAME], ff.f[F_HVALUE]) == 0)
        (void)jwtx_response_set_header(&resp, ff.f[F_HNAME], ff.f[F_VALUE]);
    (void)jwtx_response_header(&resp, ff.f[F_HNAME]);
    check_serialized(&resp);

    /* the cookie helpers with fuzzed token, CSRF value and domain, and any
     * time and max_age (finding F1, fixed: Expires saturates). */
    long long tc = t;
    const jwtx_config *cfg = fuzz_conf(FUZZ_CONF_CSRF_FORM);
    const char *domain = ff.len[F_DOMAIN] ? ff.f[F_DOMAIN] : NULL;
    (void)jwtx_response_set_access_cookies(&resp, cfg, ff.f[F_TOKEN], ff.f[F_CSRF],
                                           (sel & 0x40) ? tc : 0, domain, 1800000000LL);
    (void)jwtx_response_set_refresh_cookies(&resp, cfg, ff.f[F_TOKEN], ff.f[F_CSRF], 0, domain, tc);
    (void)jwtx_response_unset_jwt_cookies(&resp, cfg, domain);
    check_serialized(&resp);
    jwtx_response_clear(&resp);

    /* an error answer with a fuzzed message, and a redirect */
    jwtx_response_init(&resp);
    jwtx_error err;
    jwtx_error_set(&err, (sel & 0x80) ? JWTX_ERR_SIGNATURE : JWTX_ERR_MISSING_HEADER, "%s",
                   ff.f[F_MESSAGE]);
    if (jwtx_response_error(&resp, fuzz_conf(FUZZ_CONF_HS256), &err) == 0)
        check_serialized(&resp);
    jwtx_response_clear(&resp);
    jwtx_response_init(&resp);
    if (jwtx_response_redirect(&resp, 302, ff.f[F_LOCATION]) == 0)
        check_serialized(&resp);
    jwtx_response_clear(&resp);

    fuzz_fields_free(&ff);
    return 0;
}
