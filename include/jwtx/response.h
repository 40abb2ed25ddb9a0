/*
 * response.h — answers as Flask writes them: status, headers, body.
 *
 * A route fills a jwtx_response; the program writes it with
 * jwtx_response_serialize (the CGI form, "Status: 401 UNAUTHORIZED\r\n"...)
 * to FastCGI or CGI stdout. JSON bodies are jsonify's bytes (sorted keys,
 * compact, ASCII, trailing "\n"); errors carry JWT_ERROR_MESSAGE_KEY, an RFC
 * 6750 WWW-Authenticate on 401 and Cache-Control: no-store; cookies are
 * Werkzeug's Set-Cookie lines for set_access_cookies & co. (spec section 6).
 */
#ifndef JWTX_RESPONSE_H
#define JWTX_RESPONSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/json.h"

#define JWTX_RESPONSE_MAX_HEADERS 64

typedef struct jwtx_header {
    char *name;
    char *value;
} jwtx_header;

typedef struct jwtx_response {
    int status;           /* 200 after init */
    jwtx_header *headers; /* in the order added; Set-Cookie may repeat */
    size_t n_headers;
    jwtx_buf body;
} jwtx_response;

/* Empty 200 answer with no headers. Caller-owned; release with _clear. */
void jwtx_response_init(jwtx_response *resp);
/* Frees headers and body (the body is wiped: it may hold tokens). */
void jwtx_response_clear(jwtx_response *resp);

/* Appends a header (copies). Returns 0, or -1 when the name is not an HTTP
 * token, the value holds CR, LF or NUL, the response is full
 * (JWTX_RESPONSE_MAX_HEADERS) or memory runs out. */
int jwtx_response_add_header(jwtx_response *resp, const char *name, const char *value);

/* Replaces every header called name (case-insensitive) by one with value. */
int jwtx_response_set_header(jwtx_response *resp, const char *name, const char *value);

/* The first header called name (case-insensitive), borrowed; NULL if none. */
const char *jwtx_response_header(const jwtx_response *resp, const char *name);

/* Flask's jsonify(obj) with status: the body becomes the sorted compact
 * ASCII JSON of obj plus "\n", Content-Type: application/json is set.
 * obj is borrowed. Returns 0, -1 on failure (resp unchanged but status). */
int jwtx_response_json(jwtx_response *resp, int status, const json_t *obj);

/* jsonify({key: msg}) with status. */
int jwtx_response_msg(jwtx_response *resp, int status, const char *key, const char *msg);

/* The default error answer of an outcome (spec section 4): status
 * jwtx_err_status(code), body {JWT_ERROR_MESSAGE_KEY: message},
 * Cache-Control: no-store, and on 401 WWW-Authenticate: "Bearer" when the
 * request carried no usable token (JWTX_FAMILY_NO_AUTH, and login's
 * JWTX_ERR_BAD_CREDENTIALS), else
 * `Bearer error="invalid_token", error_description="<message>"` with '"' and
 * '\' escaped and non-ASCII or control bytes dropped. Returns 0 or -1. */
int jwtx_response_error(jwtx_response *resp, const jwtx_config *cfg, const jwtx_error *err);

/* set_access_cookies(resp, token, max_age, domain): the access cookie
 * (HttpOnly) and, when JWT_COOKIE_CSRF_PROTECT and JWT_CSRF_IN_COOKIES and
 * csrf is non-empty, the JS-readable CSRF cookie. max_age 0 = config
 * (JWT_SESSION_COOKIE false → 31540000, else a session cookie); domain NULL
 * or "" = JWT_COOKIE_DOMAIN; now is the current Unix time (for Expires).
 * Returns 0, or -1 (a domain without a dot — Werkzeug refuses it — or a
 * header failure); on -1 no cookie was added. */
int jwtx_response_set_access_cookies(jwtx_response *resp, const jwtx_config *cfg, const char *token,
                                     const char *csrf, long long max_age, const char *domain,
                                     long long now);
/* set_refresh_cookies: the same with the refresh names and paths. */
int jwtx_response_set_refresh_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                      const char *token, const char *csrf, long long max_age,
                                      const char *domain, long long now);

/* unset_access_cookies / unset_refresh_cookies / unset_jwt_cookies (access
 * then refresh: 4 lines, or 2 without CSRF cookies): empty values with
 * Expires=Thu, 01 Jan 1970 00:00:00 GMT. Returns 0 or -1. */
int jwtx_response_unset_access_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                       const char *domain);
int jwtx_response_unset_refresh_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                        const char *domain);
int jwtx_response_unset_jwt_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                    const char *domain);

/* Werkzeug's redirect(location, status): Location header and the small HTML
 * body (text/html; charset=utf-8). Returns -1 for a location with control
 * bytes. */
int jwtx_response_redirect(jwtx_response *resp, int status, const char *location);

/* One cookie for jwtx_cookie_format. */
typedef struct jwtx_cookie {
    const char *name;
    const char *value;  /* quoted as Werkzeug does when it holds other bytes */
    const char *domain; /* NULL = none; ":port" is removed; it must contain a dot */
    bool has_expires;
    long long expires; /* Unix time */
    bool has_max_age;
    long long max_age;
    bool secure;
    bool httponly;
    const char *path; /* NULL = none */
    jwtx_samesite samesite;
} jwtx_cookie;

/* Appends one Set-Cookie value exactly as werkzeug.http.dump_cookie writes
 * it: "name=value; Domain=..; Expires=..; Max-Age=..; Secure; HttpOnly;
 * Path=..; SameSite=..". Returns 0, or -1 for a domain without a dot or on
 * allocation failure. */
int jwtx_cookie_format(const jwtx_cookie *c, jwtx_buf *out);

/* An HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") into buf[30]. */
void jwtx_http_date(long long t, char buf[30]);

/* Writes the CGI/FastCGI form: "Status: <code> <REASON>\r\n", each header
 * "Name: value\r\n", "\r\n", then the body. Appends to out. Returns 0, or -1
 * if a header value holds CR/LF (nothing written then) or memory ran out. */
int jwtx_response_serialize(const jwtx_response *resp, jwtx_buf *out);

#endif
