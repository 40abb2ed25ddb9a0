/*
 * locate.c — where the token is: headers, cookies (+ CSRF double submit),
 * query string and JSON body, in the order of the route (spec section 5),
 * and the per-route options the web server passes as params (section 7.3).
 *
 * Each location answers "found", "missing" (a JWTX_FAMILY_NO_AUTH message;
 * the search goes on) or "abort" (any other error; the search stops), which
 * is how Flask-JWT-Extended's extractors raise NoAuthorizationError versus
 * every other exception. Header text is read as latin-1, as WSGI hands it to
 * Python, so "whitespace" is Python's str whitespace over those bytes.
 */
#include "jwtx/locate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "jwtx/json.h"
#include "util.h"

enum { FOUND = 0, MISSING = 1, ABORT = -1 };

/* Python's str.isspace() for a latin-1 character: \t\n\v\f\r, the
 * separators 0x1C-0x1F, space, NEL and NBSP. Also what \s matches in a str
 * regular expression. */
static bool py_space(unsigned char c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0;
}

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

struct span {
    const unsigned char *p;
    size_t n;
};

/* Splits s on runs of whitespace (str.split() without arguments). Stores at
 * most max words; returns the total number of words. */
static size_t split_words(struct span s, struct span *words, size_t max)
{
    size_t count = 0, i = 0;
    while (i < s.n) {
        while (i < s.n && py_space(s.p[i]))
            i++;
        if (i >= s.n)
            break;
        size_t b = i;
        while (i < s.n && !py_space(s.p[i]))
            i++;
        if (count < max) {
            words[count].p = s.p + b;
            words[count].n = i - b;
        }
        count++;
    }
    return count;
}

static int set_token(jwtx_located *tmp, jwtx_location where, const void *p, size_t n,
                     jwtx_error *err)
{
    tmp->token = jwtxp_memdup(p, n);
    if (tmp->token == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    tmp->token_len = n;
    tmp->where = where;
    return FOUND;
}

/* 5.1 headers */
static int from_headers(const jwtx_config *cfg, const jwtx_request *req, jwtx_located *tmp,
                        jwtx_error *err)
{
    const char *name = str_or(cfg->header_name, "Authorization");
    const char *type = str_or(cfg->header_type, "");
    const char *raw = jwtx_request_header(req, name);
    struct span v = {(const unsigned char *)str_or(raw, ""), strlen(str_or(raw, ""))};

    /* .strip().strip(","): whitespace first, then commas only. */
    while (v.n && py_space(v.p[0])) {
        v.p++;
        v.n--;
    }
    while (v.n && py_space(v.p[v.n - 1]))
        v.n--;
    while (v.n && v.p[0] == ',') {
        v.p++;
        v.n--;
    }
    while (v.n && v.p[v.n - 1] == ',')
        v.n--;
    if (v.n == 0) {
        jwtx_error_set(err, JWTX_ERR_MISSING_HEADER, "Missing %s Header", name);
        return MISSING;
    }

    struct span words[3];
    if (*type == '\0') {
        if (split_words(v, words, 1) != 1)
            return jwtx_error_set(err, JWTX_ERR_BAD_HEADER, "Bad %s header. Expected '%s: <JWT>'",
                                  name, name);
        return set_token(tmp, JWTX_LOC_HEADERS, words[0].p, words[0].n, err);
    }

    /* re.split(r",\s*", value); keep the pieces whose first word is the
     * type. Pieces with no word at all are skipped (the reference crashes on
     * them; spec/README.md point 2). */
    size_t tlen = strlen(type), kept = 0;
    struct span piece = {0}, found = {0};
    size_t i = 0;
    for (;;) {
        const unsigned char *comma = memchr(v.p + i, ',', v.n - i);
        size_t e = comma ? (size_t)(comma - v.p) : v.n;
        piece.p = v.p + i;
        piece.n = e - i;
        struct span first;
        if (split_words(piece, &first, 1) >= 1 && first.n == tlen &&
            memcmp(first.p, type, tlen) == 0) {
            kept++;
            found = piece;
        }
        if (comma == NULL)
            break;
        i = e + 1;
        while (i < v.n && py_space(v.p[i]))
            i++;
    }
    if (kept != 1) {
        jwtx_error_set(err, JWTX_ERR_MISSING_HEADER_TYPE,
                       "Missing '%s' type in '%s' header. Expected '%s: %s <JWT>'", type, name,
                       name, type);
        return MISSING;
    }
    if (split_words(found, words, 3) != 2)
        return jwtx_error_set(err, JWTX_ERR_BAD_HEADER, "Bad %s header. Expected '%s: %s <JWT>'",
                              name, name, type);
    return set_token(tmp, JWTX_LOC_HEADERS, words[1].p, words[1].n, err);
}

static bool csrf_method(const jwtx_config *cfg, const char *method)
{
    for (size_t i = 0; i < cfg->csrf_methods.n; i++)
        if (cfg->csrf_methods.v[i] && strcmp(cfg->csrf_methods.v[i], method) == 0)
            return true;
    return false;
}

/* 5.2 cookies */
static int from_cookies(const jwtx_config *cfg, const jwtx_request *req, bool refresh,
                        jwtx_located *tmp, jwtx_error *err)
{
    const char *cookie = refresh ? str_or(cfg->refresh_cookie_name, "refresh_token_cookie")
                                 : str_or(cfg->access_cookie_name, "access_token_cookie");
    const char *val = NULL;
    size_t len = 0;
    int rc = jwtx_request_cookie(req, cookie, &val, &len);
    if (rc < 0)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    if (rc == 0 || len == 0) {
        jwtx_error_set(err, JWTX_ERR_MISSING_COOKIE, "Missing cookie \"%s\"", cookie);
        return MISSING;
    }
    char *csrf = NULL;
    size_t csrf_len = 0;
    bool check = cfg->cookie_csrf_protect && csrf_method(cfg, req->method);
    if (check) {
        const char *hname = refresh ? str_or(cfg->refresh_csrf_header_name, "X-CSRF-TOKEN")
                                    : str_or(cfg->access_csrf_header_name, "X-CSRF-TOKEN");
        const char *h = jwtx_request_header(req, hname);
        if (h != NULL && *h != '\0') {
            /* The header wins even when the form holds another value. */
            csrf_len = strlen(h);
            csrf = malloc(csrf_len + 1);
            if (csrf == NULL)
                return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
            memcpy(csrf, h, csrf_len + 1);
        } else if (cfg->csrf_check_form) {
            const char *field = refresh ? str_or(cfg->refresh_csrf_field_name, "csrf_token")
                                        : str_or(cfg->access_csrf_field_name, "csrf_token");
            csrf = jwtx_request_form_get(req, field, &csrf_len);
            if (csrf != NULL && csrf_len == 0) {
                free(csrf);
                csrf = NULL;
            }
        }
        if (csrf == NULL)
            return jwtx_error_set(err, JWTX_ERR_CSRF_MISSING, NULL);
    }
    if (set_token(tmp, JWTX_LOC_COOKIES, val, len, err) != FOUND) {
        free(csrf);
        return ABORT;
    }
    tmp->check_csrf = check;
    tmp->csrf = csrf;
    tmp->csrf_len = csrf_len;
    return FOUND;
}

/* 5.3 query string */
static int from_query(const jwtx_config *cfg, const jwtx_request *req, jwtx_located *tmp,
                      jwtx_error *err)
{
    const char *name = str_or(cfg->query_string_name, "jwt");
    const char *prefix = str_or(cfg->query_string_value_prefix, "");
    size_t len = 0;
    char *v = jwtx_request_query_get(req, name, &len);
    if (v == NULL || len == 0) {
        free(v);
        jwtx_error_set(err, JWTX_ERR_MISSING_QUERY, "Missing '%s' query paramater", name);
        return MISSING;
    }
    size_t plen = strlen(prefix);
    int rc;
    if (len < plen || memcmp(v, prefix, plen) != 0)
        rc = jwtx_error_set(err, JWTX_ERR_BAD_QUERY_PREFIX,
                            "Invalid value for query parameter '%s'. Expected the value to "
                            "start with '%s'",
                            name, prefix);
    else
        rc = set_token(tmp, JWTX_LOC_QUERY_STRING, v + plen, len - plen, err);
    OPENSSL_cleanse(v, len);
    free(v);
    return rc;
}

/* Python truthiness of a JSON value. */
static bool truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0; /* NaN is truthy */
    case JSON_TRUE:
        return true;
    default:
        return false;
    }
}

/* 5.4 JSON body */
static int from_json(const jwtx_config *cfg, const jwtx_request *req, bool refresh,
                     jwtx_located *tmp, jwtx_error *err)
{
    if (!jwtx_request_is_json(req)) {
        jwtx_error_set(err, JWTX_ERR_JSON_CONTENT_TYPE, NULL);
        return MISSING;
    }
    const char *key = refresh ? str_or(cfg->refresh_json_key, "refresh_token")
                              : str_or(cfg->json_key, "access_token");
    const json_t *body = jwtx_request_json(req);
    /* A body that is not an object has no key (the reference crashes on a
     * non-empty array or string; spec/README.md point 2). */
    const json_t *v = json_is_object(body) ? json_object_get(body, key) : NULL;
    if (v == NULL || !truthy(v)) {
        jwtx_error_set(err, JWTX_ERR_MISSING_JSON_KEY, "Missing \"%s\" key in json data.", key);
        return MISSING;
    }
    if (!json_is_string(v))
        return jwtx_error_set(err, JWTX_ERR_TOKEN_TYPE, NULL);
    return set_token(tmp, JWTX_LOC_JSON, json_string_value(v), json_string_length(v), err);
}

static const char *loc_name(jwtx_location l)
{
    switch (l) {
    case JWTX_LOC_HEADERS:
        return "headers";
    case JWTX_LOC_COOKIES:
        return "cookies";
    case JWTX_LOC_QUERY_STRING:
        return "query_string";
    case JWTX_LOC_JSON:
        return "json";
    default:
        return "?";
    }
}

int jwtx_locate_token(const jwtx_config *cfg, const jwtx_request *req, const jwtx_route_opts *opts,
                      jwtx_located *out, jwtx_error *err)
{
    if (cfg == NULL || req == NULL || out == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    const jwtx_location *locs = cfg->token_location;
    size_t n = cfg->n_token_location;
    if (opts != NULL && opts->n_locations > 0) {
        locs = opts->locations;
        n = opts->n_locations;
    }
    if (n == 0 || n > JWTX_MAX_LOCATIONS)
        return jwtx_error_set(err, JWTX_ERR_CONFIG,
                              "JWT_TOKEN_LOCATION must contain at least one of \"headers\", "
                              "\"cookies\", \"query_string\", or \"json\"");
    bool refresh = opts != NULL && opts->refresh;

    /* Per-location "missing" messages, for the combined answer. */
    jwtx_error missing[JWTX_MAX_LOCATIONS];
    for (size_t i = 0; i < n; i++) {
        jwtx_located tmp = {0};
        jwtx_error e;
        jwtx_error_clear(&e);
        int rc;
        switch (locs[i]) {
        case JWTX_LOC_HEADERS:
            rc = from_headers(cfg, req, &tmp, &e);
            break;
        case JWTX_LOC_COOKIES:
            rc = from_cookies(cfg, req, refresh, &tmp, &e);
            break;
        case JWTX_LOC_QUERY_STRING:
            rc = from_query(cfg, req, &tmp, &e);
            break;
        case JWTX_LOC_JSON:
            rc = from_json(cfg, req, refresh, &tmp, &e);
            break;
        default:
            rc = jwtx_error_set(&e, JWTX_ERR_CONFIG, "'%d' is not a valid location", (int)locs[i]);
            break;
        }
        if (rc == FOUND) {
            *out = tmp;
            return 0;
        }
        if (rc == ABORT) {
            if (err)
                *err = e;
            return -1;
        }
        missing[i] = e;
    }
    if (n == 1) {
        if (err)
            *err = missing[0];
        return -1;
    }
    jwtx_buf b;
    jwtx_buf_init(&b);
    jwtx_buf_puts(&b, "Missing JWT in ");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jwtx_buf_puts(&b, i + 1 == n ? " or " : ", ");
        jwtx_buf_puts(&b, loc_name(locs[i]));
    }
    jwtx_buf_puts(&b, " (");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jwtx_buf_puts(&b, "; ");
        jwtx_buf_puts(&b, jwtx_error_message(&missing[i]));
    }
    jwtx_buf_puts(&b, ")");
    if (b.failed || b.data == NULL) {
        jwtx_buf_clear(&b);
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    }
    jwtx_error_set(err, JWTX_ERR_MISSING_JWT, "%s", b.data);
    jwtx_buf_clear(&b);
    return -1;
}

void jwtx_located_clear(jwtx_located *loc)
{
    if (loc == NULL)
        return;
    if (loc->token) {
        OPENSSL_cleanse(loc->token, loc->token_len);
        free(loc->token);
    }
    if (loc->csrf) {
        OPENSSL_cleanse(loc->csrf, loc->csrf_len);
        free(loc->csrf);
    }
    memset(loc, 0, sizeof *loc);
}

bool jwtx_locate_csrf_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (a == NULL || b == NULL || alen != blen)
        return false;
    unsigned char hi = 0;
    for (size_t i = 0; i < alen; i++)
        hi |= (unsigned char)(((unsigned char)a[i] | (unsigned char)b[i]) & 0x80);
    if (hi)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

/* ------------------------------------------------------------------ */
/* route options                                                       */

void jwtx_route_opts_init(jwtx_route_opts *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->verify_type = true;
    opts->options_exempt = true;
}

void jwtx_route_opts_clear(jwtx_route_opts *opts)
{
    if (opts == NULL)
        return;
    json_decref(opts->require_claims);
    jwtx_route_opts_init(opts);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses a boolean param. Returns 1 set (into *out), 0 unset, -1 invalid. */
static int param_bool(const jwtx_request *req, const char *name, bool *out, jwtx_error *err)
{
    const char *v = jwtx_request_param(req, name);
    int rc = jwtxp_bool_text(v, out);
    if (rc < 0)
        jwtx_error_set(err, JWTX_ERR_CONFIG, "%s: '%.200s' is not a boolean", name, v);
    return rc;
}

int jwtx_route_opts_from_request(jwtx_route_opts *opts, const jwtx_request *req, jwtx_error *err)
{
    if (opts == NULL || req == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
    jwtx_route_opts o = *opts;
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"JWTX_OPTIONAL", offsetof(jwtx_route_opts, optional)},
        {"JWTX_FRESH", offsetof(jwtx_route_opts, fresh)},
        {"JWTX_REFRESH", offsetof(jwtx_route_opts, refresh)},
        {"JWTX_VERIFY_TYPE", offsetof(jwtx_route_opts, verify_type)},
        {"JWTX_SKIP_REVOCATION_CHECK", offsetof(jwtx_route_opts, skip_revocation_check)},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (param_bool(req, flags[i].name, (bool *)((char *)&o + flags[i].off), err) < 0)
            return -1;

    const char *locs = jwtx_request_param(req, "JWTX_LOCATIONS");
    if (locs != NULL) {
        size_t count = 0;
        jwtx_location parsed[JWTX_MAX_LOCATIONS];
        const char *p = locs;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            const char *s = p;
            while (len && is_blank(*s)) {
                s++;
                len--;
            }
            while (len && is_blank(s[len - 1]))
                len--;
            if (len > 0) {
                jwtx_location l = jwtx_location_parse(s, len);
                if (l == JWTX_LOC_NONE)
                    return jwtx_error_set(err, JWTX_ERR_CONFIG, "'%.*s' is not a valid location",
                                          (int)(len > 200 ? 200 : len), s);
                if (count == JWTX_MAX_LOCATIONS)
                    return jwtx_error_set(err, JWTX_ERR_CONFIG,
                                          "JWTX_LOCATIONS: more than %d locations",
                                          JWTX_MAX_LOCATIONS);
                parsed[count++] = l;
            }
            if (comma == NULL)
                break;
            p = comma + 1;
        }
        if (count > 0) {
            memcpy(o.locations, parsed, count * sizeof parsed[0]);
            o.n_locations = count;
        }
    }

    const char *rc = jwtx_request_param(req, "JWTX_REQUIRE_CLAIMS");
    json_t *claims = NULL;
    if (rc != NULL && *rc != '\0') {
        char why[128];
        claims = jwtx_json_parse(rc, strlen(rc), why, sizeof why);
        if (!json_is_object(claims)) {
            json_decref(claims);
            return jwtx_error_set(err, JWTX_ERR_CONFIG,
                                  "JWTX_REQUIRE_CLAIMS must be a JSON object");
        }
    }
    if (claims != NULL) {
        json_decref(opts->require_claims);
        o.require_claims = claims;
    }
    *opts = o;
    return 0;
}

static bool array_has(const json_t *arr, const json_t *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (jwtx_json_equal(e, v)) return true;
    return false;
}

bool jwtx_route_claims_match(const json_t *required, const json_t *claims)
{
    if (required == NULL)
        return true;
    if (!json_is_object(required) || !json_is_object(claims))
        return false;
    const char *key;
    size_t klen;
    json_t *want;
    json_object_keylen_foreach((json_t *)required, key, klen, want)
    {
        const json_t *have = json_object_getn(claims, key, klen);
        if (have == NULL)
            return false;
        if (jwtx_json_equal(have, want))
            continue;
        if (!json_is_array(have))
            return false;
        if (json_is_array(want)) {
            size_t i;
            json_t *e;
            json_array_foreach(want, i, e) if (!array_has(have, e)) return false;
        } else if (!array_has(have, want)) {
            return false;
        }
    }
    return true;
}
