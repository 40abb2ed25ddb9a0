/*
 * response.c — status, headers and body of an answer, written the way Flask
 * and Werkzeug 2.2 write them: jsonify bodies, the error answers of spec
 * section 4 with an RFC 6750 challenge, Set-Cookie lines of spec section 6
 * (werkzeug.http.dump_cookie), redirects, and the CGI serialisation.
 */
#include "jwtx/response.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

void jwtx_response_init(jwtx_response *resp)
{
    if (resp == NULL)
        return;
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    jwtx_buf_init(&resp->body);
}

static void free_header(jwtx_header *h)
{
    free(h->name);
    if (h->value) {
        OPENSSL_cleanse(h->value, strlen(h->value)); /* Set-Cookie carries tokens */
        free(h->value);
    }
}

void jwtx_response_clear(jwtx_response *resp)
{
    if (resp == NULL)
        return;
    for (size_t i = 0; i < resp->n_headers; i++)
        free_header(&resp->headers[i]);
    free(resp->headers);
    jwtx_buf_wipe(&resp->body);
    memset(resp, 0, sizeof *resp);
}

static bool token_char(unsigned char c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool valid_name(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 256)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!token_char(*p))
            return false;
    return true;
}

static bool valid_value(const char *v)
{
    return v != NULL && strpbrk(v, "\r\n") == NULL;
}

int jwtx_response_add_header(jwtx_response *resp, const char *name, const char *value)
{
    if (resp == NULL || !valid_name(name) || !valid_value(value) ||
        resp->n_headers >= JWTX_RESPONSE_MAX_HEADERS)
        return -1;
    jwtx_header *nh = realloc(resp->headers, (resp->n_headers + 1) * sizeof *nh);
    if (nh == NULL)
        return -1;
    resp->headers = nh;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    resp->headers[resp->n_headers].name = n;
    resp->headers[resp->n_headers].value = v;
    resp->n_headers++;
    return 0;
}

int jwtx_response_set_header(jwtx_response *resp, const char *name, const char *value)
{
    if (resp == NULL || !valid_name(name) || !valid_value(value))
        return -1;
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->headers[i].name, name) != 0)
            continue;
        char *v = strdup(value);
        if (v == NULL)
            return -1;
        OPENSSL_cleanse(resp->headers[i].value, strlen(resp->headers[i].value));
        free(resp->headers[i].value);
        resp->headers[i].value = v;
        /* drop any later duplicates */
        size_t w = i + 1;
        for (size_t j = i + 1; j < resp->n_headers; j++) {
            if (strcasecmp(resp->headers[j].name, name) == 0)
                free_header(&resp->headers[j]);
            else
                resp->headers[w++] = resp->headers[j];
        }
        resp->n_headers = w;
        return 0;
    }
    return jwtx_response_add_header(resp, name, value);
}

const char *jwtx_response_header(const jwtx_response *resp, const char *name)
{
    if (resp == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

/* Replaces the body with b's bytes (b is moved). */
static void take_body(jwtx_response *resp, jwtx_buf *b)
{
    jwtx_buf_wipe(&resp->body);
    resp->body = *b;
    jwtx_buf_init(b);
}

int jwtx_response_json(jwtx_response *resp, int status, const json_t *obj)
{
    if (resp == NULL || obj == NULL)
        return -1;
    jwtx_buf b;
    jwtx_buf_init(&b);
    if (jwtx_json_dump(obj, JWTX_JSON_SORT_KEYS, &b) != 0 || jwtx_buf_puts(&b, "\n") != 0 ||
        b.failed || jwtx_response_set_header(resp, "Content-Type", "application/json") != 0) {
        jwtx_buf_clear(&b);
        return -1;
    }
    take_body(resp, &b);
    resp->status = status;
    return 0;
}

int jwtx_response_msg(jwtx_response *resp, int status, const char *key, const char *msg)
{
    if (key == NULL || msg == NULL)
        return -1;
    json_t *o = json_object();
    json_t *s = json_stringn_nocheck(msg, strlen(msg));
    if (o == NULL || s == NULL || json_object_set_new_nocheck(o, key, s) != 0) {
        json_decref(o);
        return -1;
    }
    int rc = jwtx_response_json(resp, status, o);
    json_decref(o);
    return rc;
}

/* True when the 401 means "no token" (RFC 6750 section 3.1: no error code). */
static bool no_token(jwtx_err code)
{
    return jwtx_err_family_of(code) == JWTX_FAMILY_NO_AUTH || code == JWTX_ERR_BAD_CREDENTIALS;
}

int jwtx_response_error(jwtx_response *resp, const jwtx_config *cfg, const jwtx_error *err)
{
    if (resp == NULL || err == NULL)
        return -1;
    const char *key = (cfg && cfg->error_message_key) ? cfg->error_message_key : "msg";
    const char *msg = jwtx_error_message(err);
    int status = jwtx_err_status(err->code);
    if (jwtx_response_msg(resp, status, key, msg) != 0)
        return -1;
    if (status == 401) {
        jwtx_buf h;
        jwtx_buf_init(&h);
        if (no_token(err->code)) {
            jwtx_buf_puts(&h, "Bearer");
        } else {
            jwtx_buf_puts(&h, "Bearer error=\"invalid_token\", error_description=\"");
            for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
                if (*p < 0x20 || *p >= 0x7F)
                    continue; /* quoted-string allows only visible ASCII here */
                if (*p == '"' || *p == '\\')
                    jwtx_buf_append(&h, "\\", 1);
                jwtx_buf_append(&h, p, 1);
            }
            jwtx_buf_puts(&h, "\"");
        }
        int rc = h.failed ? -1 : jwtx_response_set_header(resp, "WWW-Authenticate", h.data);
        jwtx_buf_clear(&h);
        if (rc != 0)
            return -1;
    }
    return jwtx_response_set_header(resp, "Cache-Control", "no-store");
}

/* ------------------------------------------------------------------ */
/* cookies                                                             */

void jwtx_http_date(long long t, char buf[30])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (t < 0)
        t = 0;
    if (t > 253402300799LL) /* 9999-12-31T23:59:59Z, the last date Python can write */
        t = 253402300799LL;
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    /* Every field is in range after the clamp above, so 29 bytes suffice;
     * the unsigned casts and modulos tell the compiler so. */
    snprintf(buf, 30, "%s, %02u %s %04u %02u:%02u:%02u GMT", days[tm.tm_wday % 7],
             (unsigned)tm.tm_mday % 32u, months[tm.tm_mon % 12],
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 24u,
             (unsigned)tm.tm_min % 60u, (unsigned)tm.tm_sec % 61u);
}

/* werkzeug._internal._cookie_quote: bytes outside the legal set make the
 * value quoted, with , ; " \ and non-printable bytes escaped. */
static void cookie_quote(jwtx_buf *out, const char *v)
{
    static const char legal[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                "/=!#$%&'*+-.^_`|~:";
    bool all_legal = true;
    for (const char *p = v; *p; p++)
        if (strchr(legal, *p) == NULL)
            all_legal = false;
    if (all_legal) {
        jwtx_buf_puts(out, v);
        return;
    }
    jwtx_buf_puts(out, "\"");
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == ',')
            jwtx_buf_puts(out, "\\054");
        else if (*p == ';')
            jwtx_buf_puts(out, "\\073");
        else if (*p == '"')
            jwtx_buf_puts(out, "\\\"");
        else if (*p == '\\')
            jwtx_buf_puts(out, "\\\\");
        else if (*p < 32 || *p >= 127)
            jwtx_buf_printf(out, "\\%03o", *p);
        else
            jwtx_buf_append(out, p, 1);
    }
    jwtx_buf_puts(out, "\"");
}

static const char *samesite_name(jwtx_samesite s)
{
    switch (s) {
    case JWTX_SAMESITE_STRICT:
        return "Strict";
    case JWTX_SAMESITE_LAX:
        return "Lax";
    case JWTX_SAMESITE_NONE:
        return "None";
    default:
        return NULL;
    }
}

int jwtx_cookie_format(const jwtx_cookie *c, jwtx_buf *out)
{
    if (c == NULL || out == NULL || c->name == NULL)
        return -1;
    char domain[256];
    if (c->domain != NULL) {
        /* _make_cookie_domain: drop ":port"; a name without a dot (localhost)
         * is refused by browsers and by Werkzeug. */
        size_t n = strcspn(c->domain, ":");
        if (n >= sizeof domain || memchr(c->domain, '.', n) == NULL)
            return -1;
        memcpy(domain, c->domain, n);
        domain[n] = '\0';
    }
    jwtx_buf b;
    jwtx_buf_init(&b);
    jwtx_buf_puts(&b, c->name);
    jwtx_buf_puts(&b, "=");
    cookie_quote(&b, c->value ? c->value : "");
    if (c->domain != NULL) {
        jwtx_buf_puts(&b, "; Domain=");
        cookie_quote(&b, domain);
    }
    if (c->has_expires) {
        char date[30];
        jwtx_http_date(c->expires, date);
        jwtx_buf_printf(&b, "; Expires=%s", date);
    }
    if (c->has_max_age)
        jwtx_buf_printf(&b, "; Max-Age=%lld", c->max_age);
    if (c->secure)
        jwtx_buf_puts(&b, "; Secure");
    if (c->httponly)
        jwtx_buf_puts(&b, "; HttpOnly");
    if (c->path != NULL) {
        jwtx_buf_puts(&b, "; Path=");
        jwtx_buf_puts(&b, c->path);
    }
    const char *ss = samesite_name(c->samesite);
    if (ss != NULL) {
        jwtx_buf_puts(&b, "; SameSite=");
        jwtx_buf_puts(&b, ss);
    }
    int rc = b.failed ? -1 : jwtx_buf_append(out, b.data, b.len);
    jwtx_buf_wipe(&b);
    return rc;
}

/* Adds the Set-Cookie lines of one set/unset helper, all or nothing. */
static int add_cookies(jwtx_response *resp, jwtx_cookie *cookies, size_t n)
{
    jwtx_buf lines[2];
    size_t done = 0;
    int rc = 0;
    for (; done < n; done++) {
        jwtx_buf_init(&lines[done]);
        if (jwtx_cookie_format(&cookies[done], &lines[done]) != 0 || lines[done].data == NULL) {
            done++;
            rc = -1;
            break;
        }
    }
    size_t before = resp->n_headers;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (jwtx_response_add_header(resp, "Set-Cookie", lines[i].data) != 0)
            rc = -1;
    if (rc != 0) {
        for (size_t i = before; i < resp->n_headers; i++)
            free_header(&resp->headers[i]);
        resp->n_headers = before;
    }
    for (size_t i = 0; i < done; i++) {
        jwtx_buf_wipe(&lines[i]);
    }
    return rc;
}

static const char *domain_for(const jwtx_config *cfg, const char *domain)
{
    if (domain != NULL && *domain != '\0')
        return domain;
    if (cfg->cookie_domain != NULL && *cfg->cookie_domain != '\0')
        return cfg->cookie_domain;
    return NULL;
}

static bool csrf_cookies(const jwtx_config *cfg)
{
    return cfg->cookie_csrf_protect && cfg->csrf_in_cookies;
}

static int set_cookies(jwtx_response *resp, const jwtx_config *cfg, const char *name,
                       const char *path, const char *csrf_name, const char *csrf_path,
                       const char *token, const char *csrf, long long max_age, const char *domain,
                       long long now)
{
    if (resp == NULL || cfg == NULL || token == NULL)
        return -1;
    jwtx_cookie c = {0};
    c.name = name;
    c.value = token;
    c.domain = domain_for(cfg, domain);
    /* max_age or config.cookie_max_age: 0 is falsy in Python. */
    if (max_age != 0) {
        c.has_max_age = true;
        c.max_age = max_age;
    } else if (!cfg->session_cookie) {
        c.has_max_age = true;
        c.max_age = 31540000;
    }
    if (c.has_max_age) {
        c.has_expires = true;
        /* Saturate: a caller's huge max_age or clock must not overflow. */
        c.expires = c.max_age > 0 && now > LLONG_MAX - c.max_age   ? LLONG_MAX
                    : c.max_age < 0 && now < LLONG_MIN - c.max_age ? LLONG_MIN
                                                                   : now + c.max_age;
    }
    c.secure = cfg->cookie_secure;
    c.httponly = true;
    c.path = path;
    c.samesite = cfg->cookie_samesite;
    jwtx_cookie cs[2] = {c, c};
    size_t n = 1;
    if (csrf_cookies(cfg) && csrf != NULL && *csrf != '\0') {
        cs[1].name = csrf_name;
        cs[1].value = csrf;
        cs[1].httponly = false;
        cs[1].path = csrf_path;
        n = 2;
    }
    return add_cookies(resp, cs, n);
}

static const char *or_slash(const char *p)
{
    return p ? p : "/";
}

int jwtx_response_set_access_cookies(jwtx_response *resp, const jwtx_config *cfg, const char *token,
                                     const char *csrf, long long max_age, const char *domain,
                                     long long now)
{
    if (cfg == NULL)
        return -1;
    return set_cookies(resp, cfg, cfg->access_cookie_name, or_slash(cfg->access_cookie_path),
                       cfg->access_csrf_cookie_name, or_slash(cfg->access_csrf_cookie_path), token,
                       csrf, max_age, domain, now);
}

int jwtx_response_set_refresh_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                      const char *token, const char *csrf, long long max_age,
                                      const char *domain, long long now)
{
    if (cfg == NULL)
        return -1;
    return set_cookies(resp, cfg, cfg->refresh_cookie_name, or_slash(cfg->refresh_cookie_path),
                       cfg->refresh_csrf_cookie_name, or_slash(cfg->refresh_csrf_cookie_path),
                       token, csrf, max_age, domain, now);
}

static int unset_cookies(jwtx_response *resp, const jwtx_config *cfg, const char *name,
                         const char *path, const char *csrf_name, const char *csrf_path,
                         const char *domain)
{
    if (resp == NULL || cfg == NULL || name == NULL)
        return -1;
    jwtx_cookie c = {0};
    c.name = name;
    c.value = "";
    c.domain = domain_for(cfg, domain);
    c.has_expires = true;
    c.expires = 0;
    c.secure = cfg->cookie_secure;
    c.httponly = true;
    c.path = path;
    c.samesite = cfg->cookie_samesite;
    jwtx_cookie cs[2] = {c, c};
    size_t n = 1;
    if (csrf_cookies(cfg)) {
        cs[1].name = csrf_name;
        cs[1].httponly = false;
        cs[1].path = csrf_path;
        n = 2;
    }
    return add_cookies(resp, cs, n);
}

int jwtx_response_unset_access_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                       const char *domain)
{
    if (cfg == NULL)
        return -1;
    return unset_cookies(resp, cfg, cfg->access_cookie_name, or_slash(cfg->access_cookie_path),
                         cfg->access_csrf_cookie_name, or_slash(cfg->access_csrf_cookie_path),
                         domain);
}

int jwtx_response_unset_refresh_cookies(jwtx_response *resp, const jwtx_config *cfg,
                                        const char *domain)
{
    if (cfg == NULL)
        return -1;
    return unset_cookies(resp, cfg, cfg->refresh_cookie_name, or_slash(cfg->refresh_cookie_path),
                         cfg->refresh_csrf_cookie_name, or_slash(cfg->refresh_csrf_cookie_path),
                         domain);
}

int jwtx_response_unset_jwt_cookies(jwtx_response *resp, const jwtx_config *cfg, const char *domain)
{
    if (resp == NULL)
        return -1;
    size_t before = resp->n_headers;
    if (jwtx_response_unset_access_cookies(resp, cfg, domain) != 0)
        return -1;
    if (jwtx_response_unset_refresh_cookies(resp, cfg, domain) != 0) {
        for (size_t i = before; i < resp->n_headers; i++)
            free_header(&resp->headers[i]);
        resp->n_headers = before;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* redirects and serialisation                                         */

static void html_escape(jwtx_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            jwtx_buf_puts(b, "&amp;");
            break;
        case '<':
            jwtx_buf_puts(b, "&lt;");
            break;
        case '>':
            jwtx_buf_puts(b, "&gt;");
            break;
        case '"':
            jwtx_buf_puts(b, "&quot;");
            break;
        case '\'':
            jwtx_buf_puts(b, "&#x27;");
            break;
        default:
            jwtx_buf_append(b, s, 1);
        }
    }
}

int jwtx_response_redirect(jwtx_response *resp, int status, const char *location)
{
    if (resp == NULL || location == NULL)
        return -1;
    jwtx_buf uri, body;
    jwtx_buf_init(&uri);
    jwtx_buf_init(&body);
    /* iri_to_uri: non-ASCII and spaces are percent-encoded; control bytes
     * have no place in a Location header. */
    for (const unsigned char *p = (const unsigned char *)location; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            jwtx_buf_clear(&uri);
            return -1;
        }
        if (*p >= 0x80 || *p == ' ')
            jwtx_buf_printf(&uri, "%%%02X", *p);
        else
            jwtx_buf_append(&uri, p, 1);
    }
    jwtx_buf_puts(&uri, "");
    jwtx_buf_puts(&body, "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
                         "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to "
                         "the target URL: <a href=\"");
    html_escape(&body, uri.data ? uri.data : "");
    jwtx_buf_puts(&body, "\">");
    html_escape(&body, location);
    jwtx_buf_puts(&body, "</a>. If not, click the link.\n");
    int rc = -1;
    if (!uri.failed && !body.failed &&
        jwtx_response_set_header(resp, "Content-Type", "text/html; charset=utf-8") == 0 &&
        jwtx_response_set_header(resp, "Location", uri.data) == 0) {
        take_body(resp, &body);
        resp->status = status;
        rc = 0;
    }
    jwtx_buf_clear(&uri);
    jwtx_buf_clear(&body);
    return rc;
}

int jwtx_response_serialize(const jwtx_response *resp, jwtx_buf *out)
{
    if (resp == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < resp->n_headers; i++)
        if (!valid_name(resp->headers[i].name) || !valid_value(resp->headers[i].value))
            return -1;
    jwtx_buf b;
    jwtx_buf_init(&b);
    jwtx_buf_printf(&b, "Status: %d %s\r\n", resp->status, jwtx_http_reason(resp->status));
    for (size_t i = 0; i < resp->n_headers; i++)
        jwtx_buf_printf(&b, "%s: %s\r\n", resp->headers[i].name, resp->headers[i].value);
    jwtx_buf_puts(&b, "\r\n");
    if (resp->body.len)
        jwtx_buf_append(&b, resp->body.data, resp->body.len);
    int rc = b.failed ? -1 : jwtx_buf_append(out, b.data, b.len);
    jwtx_buf_wipe(&b);
    return rc;
}
