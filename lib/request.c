/*
 * request.c — the CGI/FastCGI request: params, body, and the Werkzeug views
 * of them (headers, cookies, query, form, JSON) that Flask-JWT-Extended reads.
 *
 * Parsing is lazy: cookies and the JSON body are parsed on first use and
 * cached in a private struct, so a const request can still answer. The cookie
 * and urlencoded parsers follow Werkzeug 2.2 byte for byte (see request.h);
 * where Werkzeug's regular expression could take quadratic time on a
 * malicious header, the emulation is written to stay linear.
 */
#include "jwtx/request.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jwtx/json.h"
#include "util.h"

struct cookie {
    char *name;
    char *value;
    size_t len;
};

struct jwtxp_request_cache {
    bool cookies_done;
    int cookies_rc;
    struct cookie *cookies;
    size_t n_cookies;

    bool json_done;
    json_t *json;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* Appends one byte; a failure sticks in b->failed, checked once at the end. */
static void put_byte(jwtx_buf *b, unsigned char c)
{
    jwtx_buf_append(b, &c, 1);
}

/* Appends s decoded as UTF-8 with errors="replace". */
static void put_utf8_replace(jwtx_buf *b, const unsigned char *s, size_t n)
{
    static const unsigned char fffd[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0;
    while (i < n) {
        size_t bad = 0, k = jwtxp_utf8_valid(s + i, n - i, &bad);
        if (k) {
            jwtx_buf_append(b, s + i, k);
            i += k;
        } else {
            jwtx_buf_append(b, fffd, 3);
            i += bad;
        }
    }
}

/* ------------------------------------------------------------------ */
/* params                                                              */

static jwtx_request_kv *find_param(const jwtx_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return &req->params[i];
    return NULL;
}

const char *jwtx_request_param(const jwtx_request *req, const char *name)
{
    if (req == NULL || name == NULL)
        return NULL;
    jwtx_request_kv *p = find_param(req, name);
    return p ? p->value : NULL;
}

static void cache_reset(struct jwtxp_request_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_cookies; i++) {
        free(c->cookies[i].name);
        if (c->cookies[i].value) {
            OPENSSL_cleanse(c->cookies[i].value, c->cookies[i].len);
            free(c->cookies[i].value);
        }
    }
    free(c->cookies);
    c->cookies = NULL;
    c->n_cookies = 0;
    c->cookies_done = false;
    c->cookies_rc = 0;
    json_decref(c->json);
    c->json = NULL;
    c->json_done = false;
}

static const char *nonempty(const char *s)
{
    return (s && *s) ? s : NULL;
}

/* Recomputes method, uri, path, query, content_type and authorizer. New
 * strings are built first so that a failure leaves the old ones in place. */
static int refresh_derived(jwtx_request *req)
{
    const char *m = nonempty(jwtx_request_param(req, "REQUEST_METHOD"));
    char *method = jwtxp_memdup(m ? m : "GET", strlen(m ? m : "GET"));
    if (method == NULL)
        return JWTX_REQUEST_ENOMEM;
    for (char *p = method; *p; p++)
        *p = (char)toupper((unsigned char)*p);

    char *uri;
    const char *ru = nonempty(jwtx_request_param(req, "REQUEST_URI"));
    const char *qs = jwtx_request_param(req, "QUERY_STRING");
    if (ru) {
        uri = jwtxp_memdup(ru, strlen(ru));
    } else {
        jwtx_buf b;
        jwtx_buf_init(&b);
        const char *sn = jwtx_request_param(req, "SCRIPT_NAME");
        const char *pi = jwtx_request_param(req, "PATH_INFO");
        if (sn)
            jwtx_buf_puts(&b, sn);
        if (pi)
            jwtx_buf_puts(&b, pi);
        if (b.len == 0)
            put_byte(&b, '/');
        if (qs && *qs) {
            put_byte(&b, '?');
            jwtx_buf_puts(&b, qs);
        }
        uri = jwtx_buf_take(&b, NULL);
    }
    if (uri == NULL) {
        free(method);
        return JWTX_REQUEST_ENOMEM;
    }
    const char *qmark = strchr(uri, '?');
    char *path = jwtxp_memdup(uri, qmark ? (size_t)(qmark - uri) : strlen(uri));
    /* nginx auth_request subrequests carry an empty QUERY_STRING: the
     * original query is only in REQUEST_URI. */
    const char *q = (qs && *qs) ? qs : (qmark ? qmark + 1 : "");
    char *query = jwtxp_memdup(q, strlen(q));
    if (path == NULL || query == NULL) {
        free(method);
        free(uri);
        free(path);
        free(query);
        return JWTX_REQUEST_ENOMEM;
    }
    free(req->method_buf);
    free(req->uri_buf);
    free(req->path_buf);
    free(req->query_buf);
    req->method = req->method_buf = method;
    req->uri = req->uri_buf = uri;
    req->path = req->path_buf = path;
    req->query = req->query_buf = query;

    const char *ct = jwtx_request_param(req, "CONTENT_TYPE");
    if (ct == NULL)
        ct = jwtx_request_param(req, "HTTP_CONTENT_TYPE");
    req->content_type = ct ? ct : "";
    const char *role = jwtx_request_param(req, "FCGI_ROLE");
    req->authorizer = role != NULL && strcmp(role, "AUTHORIZER") == 0;
    cache_reset(req->cache);
    return 0;
}

int jwtx_request_init(jwtx_request *req)
{
    if (req == NULL)
        return -1;
    memset(req, 0, sizeof *req);
    req->method = "GET";
    req->uri = "/";
    req->path = "/";
    req->query = "";
    req->content_type = "";
    req->cache = calloc(1, sizeof *req->cache);
    if (req->cache == NULL)
        return -1;
    if (refresh_derived(req) != 0)
        return -1;
    return 0;
}

void jwtx_request_clear(jwtx_request *req)
{
    if (req == NULL)
        return;
    for (size_t i = 0; i < req->n_params; i++) {
        free(req->params[i].name);
        if (req->params[i].value) {
            /* Params carry Authorization and Cookie: wipe them. */
            OPENSSL_cleanse(req->params[i].value, strlen(req->params[i].value));
            free(req->params[i].value);
        }
    }
    free(req->params);
    if (req->body) {
        OPENSSL_cleanse(req->body, req->body_len);
        free(req->body);
    }
    free(req->method_buf);
    free(req->uri_buf);
    free(req->path_buf);
    free(req->query_buf);
    if (req->cache) {
        cache_reset(req->cache);
        free(req->cache);
    }
    memset(req, 0, sizeof *req);
}

/* Stores name=value without recomputing the derived fields. replace: an
 * existing param is overwritten (else kept: first wins). */
static int put_param(jwtx_request *req, const char *name, size_t nlen, const char *value,
                     size_t vlen, bool replace)
{
    if (nlen == 0 || nlen > JWTX_REQUEST_MAX_NAME || vlen > JWTX_REQUEST_MAX_VALUE)
        return JWTX_REQUEST_ELIMIT;
    for (size_t i = 0; i < req->n_params; i++) {
        jwtx_request_kv *p = &req->params[i];
        if (strlen(p->name) == nlen && memcmp(p->name, name, nlen) == 0) {
            if (!replace)
                return 0;
            size_t old = strlen(p->value);
            if (req->total_bytes - old + vlen > JWTX_REQUEST_MAX_TOTAL)
                return JWTX_REQUEST_ELIMIT;
            char *v = jwtxp_memdup(value, vlen);
            if (v == NULL)
                return JWTX_REQUEST_ENOMEM;
            OPENSSL_cleanse(p->value, old);
            free(p->value);
            p->value = v;
            req->total_bytes = req->total_bytes - old + vlen;
            return 0;
        }
    }
    if (req->n_params >= JWTX_REQUEST_MAX_PARAMS ||
        req->total_bytes + nlen + vlen > JWTX_REQUEST_MAX_TOTAL)
        return JWTX_REQUEST_ELIMIT;
    if (req->n_params == req->cap_params) {
        size_t cap = req->cap_params ? req->cap_params * 2 : 32;
        jwtx_request_kv *np = realloc(req->params, cap * sizeof *np);
        if (np == NULL)
            return JWTX_REQUEST_ENOMEM;
        req->params = np;
        req->cap_params = cap;
    }
    char *n = jwtxp_memdup(name, nlen), *v = jwtxp_memdup(value, vlen);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return JWTX_REQUEST_ENOMEM;
    }
    req->params[req->n_params].name = n;
    req->params[req->n_params].value = v;
    req->n_params++;
    req->total_bytes += nlen + vlen;
    return 0;
}

int jwtx_request_set_param(jwtx_request *req, const char *name, const char *value)
{
    if (req == NULL || name == NULL || value == NULL)
        return JWTX_REQUEST_ELIMIT;
    int rc = put_param(req, name, strlen(name), value, strlen(value), true);
    if (rc != 0)
        return rc;
    return refresh_derived(req);
}

int jwtx_request_load_env(jwtx_request *req, char **envp)
{
    if (req == NULL)
        return JWTX_REQUEST_ELIMIT;
    int rc = 0;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        if (eq == NULL || eq == envp[i])
            continue;
        rc = put_param(req, envp[i], (size_t)(eq - envp[i]), eq + 1, strlen(eq + 1), false);
        if (rc != 0)
            break;
    }
    int rc2 = refresh_derived(req);
    return rc != 0 ? rc : rc2;
}

/* ------------------------------------------------------------------ */
/* body                                                                */

/* Installs b (len bytes, NUL-terminated, now owned by req) as the body: the
 * old body is wiped and the parsed JSON of it forgotten. */
static void replace_body(jwtx_request *req, unsigned char *b, size_t len)
{
    if (req->body) {
        OPENSSL_cleanse(req->body, req->body_len);
        free(req->body);
    }
    req->body = b;
    req->body_len = len;
    if (req->cache) {
        json_decref(req->cache->json);
        req->cache->json = NULL;
        req->cache->json_done = false;
    }
}

int jwtx_request_set_body(jwtx_request *req, const void *data, size_t len)
{
    if (req == NULL || (data == NULL && len != 0))
        return -1;
    unsigned char *b = (unsigned char *)jwtxp_memdup(data, len);
    if (b == NULL)
        return -1;
    replace_body(req, b, len);
    return 0;
}

/* Parses a CONTENT_LENGTH: only decimal digits, no sign, no spaces. */
static int parse_length(const char *s, size_t *out)
{
    size_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int jwtx_request_read_body(jwtx_request *req, jwtx_read_fn read, void *ctx, size_t max_body,
                           jwtx_error *err)
{
    if (req == NULL || read == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    const char *cl = jwtx_request_param(req, "CONTENT_LENGTH");
    if (cl == NULL || *cl == '\0')
        return 0;
    size_t len;
    if (parse_length(cl, &len) != 0)
        return jwtx_error_set(err, JWTX_ERR_BAD_REQUEST, "Invalid Content-Length");
    if (len > max_body)
        return jwtx_error_set(err, JWTX_ERR_BODY_TOO_LARGE, NULL);
    unsigned char *b = malloc(len + 1);
    if (b == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    size_t got = 0;
    while (got < len) {
        long r = read(ctx, b + got, len - got);
        if (r < 0 || (size_t)r > len - got) {
            OPENSSL_cleanse(b, got);
            free(b);
            return jwtx_error_set(err, JWTX_ERR_IO, "Error reading the request body");
        }
        if (r == 0) {
            OPENSSL_cleanse(b, got);
            free(b);
            return jwtx_error_set(err, JWTX_ERR_BAD_REQUEST, "Incomplete request body");
        }
        got += (size_t)r;
    }
    b[len] = '\0';
    replace_body(req, b, len);
    return 0;
}

/* ------------------------------------------------------------------ */
/* headers                                                             */

const char *jwtx_request_header(const jwtx_request *req, const char *header_name)
{
    if (req == NULL || header_name == NULL)
        return NULL;
    size_t n = strlen(header_name);
    if (n == 0 || n > 200)
        return NULL;
    char key[216];
    memcpy(key, "HTTP_", 5);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)header_name[i];
        key[5 + i] = c == '-' ? '_' : (char)toupper(c);
    }
    key[5 + n] = '\0';
    const char *bare = key + 5;
    if (strcmp(bare, "CONTENT_TYPE") == 0 || strcmp(bare, "CONTENT_LENGTH") == 0) {
        const char *v = jwtx_request_param(req, bare);
        return v ? v : jwtx_request_param(req, key);
    }
    return jwtx_request_param(req, key);
}

/* ------------------------------------------------------------------ */
/* cookies: werkzeug.http.parse_cookie / _cookie_parse_impl            */

/* \s of a bytes regular expression, and bytes.strip(). */
static bool re_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The header with one ';' appended, as _cookie_parse_impl matches it. */
struct cbytes {
    const unsigned char *b;
    size_t n;
};

static unsigned char cat(const struct cbytes *c, size_t i)
{
    return i < c->n ? c->b[i] : ';';
}

static size_t ws_skip(const struct cbytes *c, size_t i)
{
    while (i < c->n && re_space(c->b[i]))
        i++;
    return i;
}

/* One anchored match of Werkzeug 2.2's
 *   (?P<key>[^=;]*)(?:\s*=\s*(?P<val>"(?:[^\\"]|\\.)*"|(?:.*?)))?\s*;
 * at position s of the header with ';' appended. On success fills the key
 * and value spans and *end. The key never needs backtracking: a shorter key
 * leaves whitespace that \s* takes back, with the same outcome. The match
 * fails only when a line feed (which '.' does not match) sits inside a value;
 * _cookie_parse_impl then stops parsing. Every step moves forward, so the
 * scan is linear. */
static bool cookie_match(const struct cbytes *c, size_t s, size_t *ks, size_t *ke, size_t *vs,
                         size_t *ve, size_t *end)
{
    size_t k = s;
    while (cat(c, k) != '=' && cat(c, k) != ';')
        k++;
    *ks = s;
    *ke = k;
    size_t q = ws_skip(c, k);
    if (cat(c, q) == '=') {
        size_t v = ws_skip(c, q + 1);
        if (cat(c, v) == '"') {
            size_t p = v + 1;
            while (p < c->n) {
                unsigned char x = c->b[p];
                if (x == '"')
                    break;
                if (x == '\\') {
                    if (p + 1 >= c->n || c->b[p + 1] == '\n') {
                        p = c->n; /* \\. cannot match: no closing quote */
                        break;
                    }
                    p += 2;
                } else {
                    p++;
                }
            }
            if (p < c->n) {
                size_t e = ws_skip(c, p + 1);
                if (cat(c, e) == ';') {
                    *vs = v;
                    *ve = p + 1;
                    *end = e + 1;
                    return true;
                }
            }
        }
        /* Lazy (.*?) followed by \s*; : the value ends before the first run
         * of whitespace that leads to ';', or before ';' itself. */
        size_t p = v;
        for (;;) {
            if (p >= c->n) { /* the appended ';' */
                *vs = v;
                *ve = c->n;
                *end = c->n + 1;
                return true;
            }
            if (re_space(c->b[p])) {
                size_t e = ws_skip(c, p);
                if (cat(c, e) == ';') {
                    *vs = v;
                    *ve = p;
                    *end = e + 1;
                    return true;
                }
                if (memchr(c->b + p, '\n', e - p) != NULL)
                    return false; /* '.' stops at a line feed */
                p = e;
            } else if (c->b[p] == ';') {
                *vs = v;
                *ve = p;
                *end = p + 1;
                return true;
            } else {
                p++;
            }
        }
    }
    /* no value: \s*; right after the key */
    if (cat(c, q) == ';') {
        *vs = *ve = q;
        *end = q + 1;
        return true;
    }
    return false;
}

/* _cookie_unquote: strips surrounding quotes and resolves \ooo and \x. */
static void cookie_unquote(jwtx_buf *out, const unsigned char *v, size_t n)
{
    if (n < 2 || v[0] != '"' || v[n - 1] != '"') {
        jwtx_buf_append(out, v, n);
        return;
    }
    v++;
    n -= 2;
    size_t i = 0;
    while (i < n) {
        if (v[i] == '\\') {
            if (i + 3 < n && v[i + 1] >= '0' && v[i + 1] <= '3' && v[i + 2] >= '0' &&
                v[i + 2] <= '7' && v[i + 3] >= '0' && v[i + 3] <= '7') {
                put_byte(out, (unsigned char)(((v[i + 1] - '0') << 6) | ((v[i + 2] - '0') << 3) |
                                              (v[i + 3] - '0')));
                i += 4;
                continue;
            }
            if (i + 1 < n && v[i + 1] != '\n') {
                put_byte(out, v[i + 1]);
                i += 2;
                continue;
            }
        }
        put_byte(out, v[i]);
        i++;
    }
}

static void strip_span(const unsigned char *b, size_t *s, size_t *e)
{
    while (*s < *e && re_space(b[*s]))
        (*s)++;
    while (*e > *s && re_space(b[*e - 1]))
        (*e)--;
}

static int parse_cookies(struct jwtxp_request_cache *cache, const char *header)
{
    struct cbytes c = {(const unsigned char *)header, header ? strlen(header) : 0};
    size_t i = 0;
    size_t cap = 0;
    while (i < c.n && cache->n_cookies < JWTX_REQUEST_MAX_COOKIES) {
        size_t ks = 0, ke = 0, vs = 0, ve = 0, end = 0;
        if (!cookie_match(&c, i, &ks, &ke, &vs, &ve, &end))
            break; /* _cookie_parse_impl stops at the first failed match */
        i = end;
        strip_span(c.b, &ks, &ke);
        if (ks == ke)
            continue; /* parse_cookie drops empty names */
        jwtx_buf raw, name, val;
        jwtx_buf_init(&raw);
        jwtx_buf_init(&name);
        jwtx_buf_init(&val);
        put_utf8_replace(&name, c.b + ks, ke - ks);
        cookie_unquote(&raw, c.b + vs, ve - vs);
        put_utf8_replace(&val, (const unsigned char *)(raw.data ? raw.data : ""), raw.len);
        bool raw_failed = raw.failed;
        jwtx_buf_wipe(&raw);
        size_t nl = 0, vl = 0;
        char *np = jwtx_buf_take(&name, &nl), *vp = jwtx_buf_take(&val, &vl);
        if (raw_failed || np == NULL || vp == NULL) {
            free(np);
            if (vp != NULL)
                OPENSSL_cleanse(vp, vl);
            free(vp);
            return -1;
        }
        if (cache->n_cookies == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct cookie *nc = realloc(cache->cookies, ncap * sizeof *nc);
            if (nc == NULL) {
                free(np);
                free(vp);
                return -1;
            }
            cache->cookies = nc;
            cap = ncap;
        }
        cache->cookies[cache->n_cookies].name = np;
        cache->cookies[cache->n_cookies].value = vp;
        cache->cookies[cache->n_cookies].len = vl;
        cache->n_cookies++;
    }
    return 0;
}

static int ensure_cookies(const jwtx_request *req)
{
    struct jwtxp_request_cache *c = req->cache;
    if (c == NULL)
        return -1;
    if (!c->cookies_done) {
        c->cookies_rc = parse_cookies(c, jwtx_request_param(req, "HTTP_COOKIE"));
        c->cookies_done = true;
    }
    return c->cookies_rc;
}

int jwtx_request_cookie(const jwtx_request *req, const char *name, const char **val, size_t *len)
{
    if (req == NULL || name == NULL)
        return 0;
    if (ensure_cookies(req) != 0)
        return -1;
    for (size_t i = 0; i < req->cache->n_cookies; i++) {
        if (strcmp(req->cache->cookies[i].name, name) == 0) {
            if (val)
                *val = req->cache->cookies[i].value;
            if (len)
                *len = req->cache->cookies[i].len;
            return 1;
        }
    }
    return 0;
}

size_t jwtx_request_cookie_count(const jwtx_request *req)
{
    if (req == NULL || ensure_cookies(req) != 0)
        return 0;
    return req->cache->n_cookies;
}

int jwtx_request_cookie_at(const jwtx_request *req, size_t i, const char **name, const char **val,
                           size_t *len)
{
    if (req == NULL || ensure_cookies(req) != 0 || i >= req->cache->n_cookies)
        return -1;
    if (name)
        *name = req->cache->cookies[i].name;
    if (val)
        *val = req->cache->cookies[i].value;
    if (len)
        *len = req->cache->cookies[i].len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* urlencoded: werkzeug.urls.url_decode                                */

/* url_unquote_plus: '+' → ' ', then %XX (an invalid escape stays as is),
 * then UTF-8 with errors="replace". */
static void url_unquote_plus(jwtx_buf *out, const unsigned char *s, size_t n)
{
    jwtx_buf raw;
    jwtx_buf_init(&raw);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            put_byte(&raw, ' ');
        } else if (s[i] == '%' && i + 2 < n) {
            int h = jwtxp_hexval(s[i + 1]);
            int l = jwtxp_hexval(s[i + 2]);
            if (h >= 0 && l >= 0) {
                put_byte(&raw, (unsigned char)(h * 16 + l));
                i += 2;
            } else {
                put_byte(&raw, '%');
            }
        } else {
            put_byte(&raw, s[i]);
        }
    }
    if (raw.failed) {
        out->failed = 1;
    } else if (raw.data) {
        put_utf8_replace(out, (const unsigned char *)raw.data, raw.len);
    }
    jwtx_buf_wipe(&raw); /* a query or form value may be a token */
}

/* The first value of name among the '&'-separated pairs of s. */
static char *url_decode_get(const char *s, size_t n, const char *name, size_t *len)
{
    size_t i = 0, pairs = 0;
    size_t name_len = strlen(name);
    while (i <= n && pairs < JWTX_REQUEST_MAX_FIELDS) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t e = amp ? (size_t)(amp - s) : n;
        if (e > i) {
            pairs++;
            const char *eq = memchr(s + i, '=', e - i);
            size_t ke = eq ? (size_t)(eq - s) : e;
            jwtx_buf key;
            jwtx_buf_init(&key);
            url_unquote_plus(&key, (const unsigned char *)s + i, ke - i);
            if (key.failed) {
                jwtx_buf_clear(&key);
                return NULL;
            }
            bool match =
                key.len == name_len && (name_len == 0 || memcmp(key.data, name, name_len) == 0);
            jwtx_buf_clear(&key);
            if (match) {
                jwtx_buf val;
                jwtx_buf_init(&val);
                if (eq)
                    url_unquote_plus(&val, (const unsigned char *)eq + 1, e - ke - 1);
                return jwtx_buf_take(&val, len);
            }
        }
        if (amp == NULL)
            break;
        i = e + 1;
    }
    return NULL;
}

char *jwtx_request_query_get(const jwtx_request *req, const char *name, size_t *len)
{
    if (req == NULL || name == NULL || req->query == NULL)
        return NULL;
    return url_decode_get(req->query, strlen(req->query), name, len);
}

/* ------------------------------------------------------------------ */
/* content types, form, JSON                                           */

/* Python's str whitespace over a latin-1 byte. */
static bool py_space(unsigned char c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0;
}

size_t jwtx_request_mimetype(const char *content_type, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)(content_type ? content_type : "");
    while (*s && py_space(*s))
        s++;
    size_t n = 0;
    while (s[n] && s[n] != ';' && s[n] != ',' && !py_space(s[n]))
        n++;
    if (out && size) {
        size_t k = n < size - 1 ? n : size - 1;
        for (size_t i = 0; i < k; i++)
            out[i] = (char)tolower(s[i]);
        out[k] = '\0';
    }
    return n;
}

bool jwtx_request_is_form(const jwtx_request *req)
{
    char mt[64];
    if (req == NULL || jwtx_request_mimetype(req->content_type, mt, sizeof mt) >= sizeof mt)
        return false;
    return strcmp(mt, "application/x-www-form-urlencoded") == 0;
}

static bool is_multipart(const jwtx_request *req)
{
    char mt[64];
    if (jwtx_request_mimetype(req->content_type, mt, sizeof mt) >= sizeof mt)
        return false;
    return strcmp(mt, "multipart/form-data") == 0;
}

/* The boundary parameter of a multipart Content-Type (quoted or bare). */
static bool multipart_boundary(const char *ct, char *out, size_t size)
{
    const char *p = ct;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        size_t n = 0;
        if (*p == '"') {
            p++;
            while (p[n] && p[n] != '"')
                n++;
        } else {
            while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
                n++;
        }
        if (n == 0 || n > 70 || n + 1 > size)
            return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

static const unsigned char *mem_find(const unsigned char *h, size_t hn, const char *needle,
                                     size_t nn)
{
    if (nn == 0 || hn < nn)
        return NULL;
    return memmem(h, hn, needle, nn);
}

/* The value of the first non-file part named name in a multipart body. */
static char *multipart_get(const jwtx_request *req, const char *name, size_t *len)
{
    char boundary[80];
    if (!multipart_boundary(req->content_type, boundary, sizeof boundary) || req->body == NULL)
        return NULL;
    char delim[84];
    size_t dn = (size_t)snprintf(delim, sizeof delim, "--%s", boundary);
    const unsigned char *b = req->body, *end = req->body + req->body_len;
    const unsigned char *p = mem_find(b, req->body_len, delim, dn);
    size_t parts = 0;
    while (p && parts++ < JWTX_REQUEST_MAX_FIELDS) {
        p += dn;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return NULL; /* closing delimiter */
        const unsigned char *hs = mem_find(p, (size_t)(end - p), "\r\n", 2);
        if (hs == NULL)
            return NULL;
        hs += 2;
        const unsigned char *he = mem_find(hs, (size_t)(end - hs), "\r\n\r\n", 4);
        if (he == NULL)
            return NULL;
        const unsigned char *data = he + 4;
        char nextd[88];
        size_t nn = (size_t)snprintf(nextd, sizeof nextd, "\r\n--%s", boundary);
        const unsigned char *de = mem_find(data, (size_t)(end - data), nextd, nn);
        if (de == NULL)
            return NULL;
        /* Content-Disposition: form-data; name="x" (no filename) */
        bool is_file = false, named = false;
        const unsigned char *h = hs;
        while (h < he + 2) {
            const unsigned char *le = mem_find(h, (size_t)(he + 2 - h), "\r\n", 2);
            if (le == NULL)
                break;
            size_t ln = (size_t)(le - h);
            if (ln > 20 && strncasecmp((const char *)h, "content-disposition:", 20) == 0) {
                char line[1024];
                size_t k = ln < sizeof line - 1 ? ln : sizeof line - 1;
                memcpy(line, h, k);
                line[k] = '\0';
                if (strstr(line, "filename=") != NULL)
                    is_file = true;
                const char *np = strstr(line, " name=\"");
                if (np == NULL)
                    np = strstr(line, ";name=\"");
                if (np) {
                    np += 7;
                    const char *q = strchr(np, '"');
                    size_t nl = strlen(name);
                    if (q && (size_t)(q - np) == nl && memcmp(np, name, nl) == 0)
                        named = true;
                }
            }
            h = le + 2;
        }
        if (named && !is_file) {
            char *v = jwtxp_memdup((const char *)data, (size_t)(de - data));
            if (v && len)
                *len = (size_t)(de - data);
            return v;
        }
        p = de + 2;
    }
    return NULL;
}

char *jwtx_request_form_get(const jwtx_request *req, const char *name, size_t *len)
{
    if (req == NULL || name == NULL)
        return NULL;
    if (jwtx_request_is_form(req)) {
        if (req->body == NULL)
            return NULL;
        return url_decode_get((const char *)req->body, req->body_len, name, len);
    }
    if (is_multipart(req))
        return multipart_get(req, name, len);
    return NULL;
}

bool jwtx_request_is_json(const jwtx_request *req)
{
    char mt[256];
    if (req == NULL)
        return false;
    size_t n = jwtx_request_mimetype(req->content_type, mt, sizeof mt);
    if (n >= sizeof mt)
        return false;
    if (strcmp(mt, "application/json") == 0)
        return true;
    return n >= 17 && strncmp(mt, "application/", 12) == 0 && strcmp(mt + n - 5, "+json") == 0;
}

const json_t *jwtx_request_json(const jwtx_request *req)
{
    if (req == NULL || req->cache == NULL || !jwtx_request_is_json(req))
        return NULL;
    struct jwtxp_request_cache *c = req->cache;
    if (!c->json_done) {
        c->json_done = true;
        if (req->body != NULL && req->body_len > 0)
            c->json = jwtx_json_parse((const char *)req->body, req->body_len, NULL, 0);
    }
    return c->json;
}
