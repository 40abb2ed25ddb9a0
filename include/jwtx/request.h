/*
 * request.h — one CGI/FastCGI request as a plain struct.
 *
 * A program fills a jwtx_request from the FastCGI params (or the CGI
 * environment) and the body, then hands it to a library route. Nothing here
 * does I/O except jwtx_request_read_body, which reads through a caller
 * callback. Every accessor answers the way Werkzeug 2.2 (under Flask) reads
 * the same request, because Flask-JWT-Extended sees the request through it:
 * headers by their CGI names, cookies parsed as werkzeug.http.parse_cookie
 * (first duplicate wins, quoted values unquoted), query and urlencoded form
 * as werkzeug.urls.url_decode (first value, '+' is a space, invalid
 * %-escapes kept literally, invalid UTF-8 replaced by U+FFFD), and the JSON
 * body by Flask's is_json mimetype rule (spec section 5.4).
 *
 * Every size that comes from the client is capped (JWTX_REQUEST_MAX_*).
 */
#ifndef JWTX_REQUEST_H
#define JWTX_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/errors.h"

/* Limits on what a request may hold. Exceeding one is a bad request. */
#define JWTX_REQUEST_MAX_PARAMS 1024         /* params (env entries) */
#define JWTX_REQUEST_MAX_NAME 256            /* bytes in one param name */
#define JWTX_REQUEST_MAX_VALUE 65536         /* bytes in one param value */
#define JWTX_REQUEST_MAX_TOTAL (1024 * 1024) /* bytes of all names and values */
#define JWTX_REQUEST_MAX_COOKIES 256         /* cookies kept from HTTP_COOKIE */
#define JWTX_REQUEST_MAX_FIELDS 1024         /* query / form fields looked at */

/* Return codes of jwtx_request_set_param / jwtx_request_load_env besides 0. */
#define JWTX_REQUEST_ENOMEM (-1) /* allocation failure: answer 500 */
#define JWTX_REQUEST_ELIMIT (-2) /* a JWTX_REQUEST_MAX_* limit was hit: answer 400 */

typedef struct jwtx_request_kv {
    char *name;
    char *value;
} jwtx_request_kv;

struct jwtxp_request_cache; /* lazily parsed cookies, query, form, JSON */

typedef struct jwtx_request {
    /* Derived from the params; always non-NULL after jwtx_request_init and
     * kept current by every set_param/load_env. Borrowed from the request. */
    const char *method;       /* REQUEST_METHOD upper-cased; "GET" when absent */
    const char *uri;          /* REQUEST_URI, else SCRIPT_NAME PATH_INFO[?QUERY_STRING] */
    const char *path;         /* uri without "?query" */
    const char *query;        /* QUERY_STRING, or when empty the part of uri after '?' */
    const char *content_type; /* CONTENT_TYPE (else HTTP_CONTENT_TYPE); "" when absent */
    bool authorizer;          /* FCGI_ROLE=AUTHORIZER */

    unsigned char *body; /* owned; NUL-terminated; NULL when there is none */
    size_t body_len;

    /* private */
    jwtx_request_kv *params;
    size_t n_params, cap_params, total_bytes;
    char *method_buf, *uri_buf, *path_buf, *query_buf;
    struct jwtxp_request_cache *cache;
} jwtx_request;

/* Makes an empty request (method "GET", everything else empty). Caller-owned
 * struct; release with jwtx_request_clear. Returns 0, -1 on allocation
 * failure (the struct is then safe to clear). */
int jwtx_request_init(jwtx_request *req);

/* Frees everything the request owns (the body is wiped: it may hold a
 * password) and leaves it zeroed; calling it twice is safe. */
void jwtx_request_clear(jwtx_request *req);

/* Sets one param, copying name and value; an existing param of that name is
 * replaced. Returns 0, JWTX_REQUEST_ENOMEM, or JWTX_REQUEST_ELIMIT when the
 * name is empty or too long, the value too long, or the request full. */
int jwtx_request_set_param(jwtx_request *req, const char *name, const char *value);

/* Adds every "NAME=value" string of the NULL-terminated envp (FCGX's
 * request->envp or environ). Like FCGX_GetParam and getenv, the first of
 * duplicate names wins, also over params set earlier. Entries without '='
 * are ignored. Returns 0, JWTX_REQUEST_ENOMEM or JWTX_REQUEST_ELIMIT (some
 * entries may then have been added; answer 400 and drop the request). */
int jwtx_request_load_env(jwtx_request *req, char **envp);

/* Replaces the body with a copy of len bytes. Returns 0, -1 on allocation
 * failure. */
int jwtx_request_set_body(jwtx_request *req, const void *data, size_t len);

/* Reads up to n bytes into buf; returns the count, 0 at end of input, or a
 * negative number on error (e.g. wraps FCGX_GetStr or fread). */
typedef long (*jwtx_read_fn)(void *ctx, void *buf, size_t n);

/* Reads the body announced by CONTENT_LENGTH (absent or "" = no body) through
 * read. Returns 0 and stores the body, or -1 with err:
 *   JWTX_ERR_BODY_TOO_LARGE (413) when CONTENT_LENGTH > max_body; nothing is
 *     read, so the caller should close the connection or drain it;
 *   JWTX_ERR_BAD_REQUEST (400) for a CONTENT_LENGTH that is not a plain
 *     decimal number, or input that ends early ("Incomplete request body");
 *   JWTX_ERR_IO / JWTX_ERR_INTERNAL for a read error or allocation failure.
 * Only CONTENT_LENGTH counts: HTTP_CONTENT_LENGTH reaches authorizers that
 * never get a body. */
int jwtx_request_read_body(jwtx_request *req, jwtx_read_fn read, void *ctx, size_t max_body,
                           jwtx_error *err);

/* The value of a param (exact, case-sensitive name), borrowed and
 * NUL-terminated; NULL when absent. */
const char *jwtx_request_param(const jwtx_request *req, const char *name);

/* An HTTP request header by its HTTP name, case-insensitively as Werkzeug's
 * EnvironHeaders: "X-CSRF-TOKEN" reads HTTP_X_CSRF_TOKEN ('-' and '_' are the
 * same); Content-Type and Content-Length read CONTENT_TYPE / CONTENT_LENGTH
 * (falling back to HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH). Borrowed; NULL
 * when absent or when the name is empty or longer than 200 bytes. */
const char *jwtx_request_header(const jwtx_request *req, const char *header_name);

/* The first cookie called name (case-sensitive) in HTTP_COOKIE, parsed as
 * werkzeug.http.parse_cookie does: pairs separated by ';', names stripped,
 * a value in double quotes unquoted (\" \\ and \ooo octal escapes), a name
 * without '=' has the empty value, invalid UTF-8 becomes U+FFFD. At most
 * JWTX_REQUEST_MAX_COOKIES pairs are read. On success *val (borrowed from the
 * request, NUL-terminated) and *len are set. Returns 1 found, 0 absent, -1 on
 * allocation failure. */
int jwtx_request_cookie(const jwtx_request *req, const char *name, const char **val, size_t *len);

/* Number of cookies parsed and the i-th name/value (borrowed), in header
 * order with duplicates kept. For logout and tests. Returns 0, or -1 when i
 * is out of range or parsing failed. */
size_t jwtx_request_cookie_count(const jwtx_request *req);
int jwtx_request_cookie_at(const jwtx_request *req, size_t i, const char **name, const char **val,
                           size_t *len);

/* The first value of query parameter name (case-sensitive), decoded as
 * url_decode: '+' → space, %XX decoded (an invalid escape stays literally),
 * invalid UTF-8 → U+FFFD. New malloc'd NUL-terminated string (*len may be
 * NULL), or NULL when absent or on allocation failure. */
char *jwtx_request_query_get(const jwtx_request *req, const char *name, size_t *len);

/* True when the mimetype of content_type (the first word, lower-cased,
 * parameters dropped) is application/x-www-form-urlencoded. */
bool jwtx_request_is_form(const jwtx_request *req);

/* The first value of form field name from an urlencoded body (same decoding
 * as the query), or from a multipart/form-data body (non-file parts; the
 * value is taken as is). New malloc'd string, or NULL when absent, when the
 * body is not a form, or on allocation failure. */
char *jwtx_request_form_get(const jwtx_request *req, const char *name, size_t *len);

/* Flask's request.is_json: mimetype application/json or application/...+json
 * (case-insensitive, parameters dropped); text/json is not JSON. */
bool jwtx_request_is_json(const jwtx_request *req);

/* The parsed JSON body (jwtx_json_parse), borrowed and cached in the request;
 * NULL when the request is not JSON (jwtx_request_is_json false), the body is
 * empty or not valid JSON. Any JSON value may come back, not only objects. */
const json_t *jwtx_request_json(const jwtx_request *req);

/* The mimetype of a Content-Type value as Werkzeug computes it: the first
 * run of bytes that are not ';', ',' or whitespace after leading
 * whitespace, lower-cased, written to out (truncated to size-1). Returns the
 * full length. For other modules (login picks JSON or form by it). */
size_t jwtx_request_mimetype(const char *content_type, char *out, size_t size);

#endif
