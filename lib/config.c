/*
 * config.c — the conf file: a Python-literal parser and the option table.
 *
 * A conf file must stay valid Flask config (app.config.from_pyfile execs it),
 * so the parser reads the subset of Python that such files use: one
 * `NAME = value` statement per line, `#` comments, blank lines, and the
 * literals "str" / 'str' (Python escapes, u/r prefixes, adjacent literals
 * joined), integers (sign, underscores, 0x/0o/0b), True, False, None, and
 * lists or tuples of those (a list may span lines inside its brackets).
 * Anything else is refused with a message naming file and line.
 *
 * Loading has three steps. (1) Parse every statement; the last assignment of
 * a name wins, as in Python. (2) Check each assigned option, in line order,
 * through the option table (name, kind, default, limits, offset into
 * jwtx_config), in the manner of lighttpd's config_values: a wrong type or
 * value is an error "FILE:LINE: OPTION: message". (3) Resolve what depends on
 * several options (the decode allow-list, secrets from files, relative paths)
 * and hand the result to jwtxp_keys_setup. Unlike Flask-JWT-Extended, which
 * validates lazily at request time, every problem is found here, once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "jwtx/client.h"
#include "jwtx/config.h"
#include "jwtx/json.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "jwtx/users.h"
#include "blocklist_internal.h"
#include "util.h"

/* Limits on what comes from outside. */
#define CONF_MAX_FILE (1024 * 1024) /* whole conf file */
#define CONF_MAX_LINE (64 * 1024)   /* one physical line */
#define CONF_MAX_ITEMS 64           /* members of one list */
#define KEY_FILE_MAX (1024 * 1024)  /* a secret or PEM file */
#define LEEWAY_MAX (10LL * 365 * 86400)
#define DURATION_MAX (100LL * 365 * 86400)
#define LOGIN_TIME_MAX (30LL * 86400) /* JWTX_LOGIN_FIND_TIME, JWTX_LOGIN_BAN_TIME */
#define LOGIN_LIMIT_MAX 1000          /* JWTX_LOGIN_MAX_FAILURES* */
#define REUSE_GRACE_MAX 86400         /* JWTX_REFRESH_REUSE_GRACE */

/* ------------------------------------------------------------------------ */
/* Parsed values                                                             */

typedef enum vtype { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_TUPLE } vtype;

typedef struct pval {
    vtype t;
    long long i; /* V_BOOL (0/1), V_INT */
    char *s;     /* V_STR: UTF-8, NUL-terminated, may hold NULs (see len) */
    size_t len;
    size_t n; /* V_LIST, V_TUPLE */
    struct pval *items;
} pval;

static void pval_clear(pval *v)
{
    if (v == NULL)
        return;
    if (v->s != NULL) {
        OPENSSL_cleanse(v->s, v->len); /* any string may be a secret */
        free(v->s);
    }
    for (size_t k = 0; k < v->n; k++)
        pval_clear(&v->items[k]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

static void pval_free(pval *v)
{
    pval_clear(v);
    free(v);
}

/* Python's name for a value's type, for messages. */
static const char *pval_type(const pval *v)
{
    switch (v->t) {
    case V_NONE:
        return "None";
    case V_BOOL:
        return "bool";
    case V_INT:
        return "int";
    case V_FLOAT:
        return "float";
    case V_STR:
        return "str";
    case V_LIST:
        return "list";
    case V_TUPLE:
        return "tuple";
    }
    return "?";
}

static bool is_seq(const pval *v)
{
    return v->t == V_LIST || v->t == V_TUPLE;
}

/* Python truthiness of a literal. */
static bool pval_truthy(const pval *v)
{
    switch (v->t) {
    case V_NONE:
        return false;
    case V_BOOL:
    case V_INT:
        return v->i != 0;
    case V_FLOAT:
        return true; /* only used for messages; floats are always refused */
    case V_STR:
        return v->len != 0;
    case V_LIST:
    case V_TUPLE:
        return v->n != 0;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Errors and warnings                                                       */

typedef void (*warn_fn)(const char *file, int line, const char *msg, void *ctx);

typedef struct loadctx {
    const char *name;       /* file name for messages */
    char *basedir;          /* absolute directory for relative paths */
    jwtx_config_error *err; /* may be a local when the caller passed NULL */
    bool failed;
    warn_fn warn;
    void *wctx;
    const struct stat *st; /* the conf file's; NULL for a conf in memory */
} loadctx;

static void set_err(jwtx_config_error *e, const char *file, int line, const char *option,
                    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void set_err(jwtx_config_error *e, const char *file, int line, const char *option,
                    const char *fmt, va_list ap)
{
    memset(e, 0, sizeof *e);
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    snprintf(e->option, sizeof e->option, "%s", option ? option : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

/* Records the first error only (jansson's rule); always returns -1. */
static int fail(loadctx *lc, int line, const char *option, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(loadctx *lc, int line, const char *option, const char *fmt, ...)
{
    if (!lc->failed) {
        va_list ap;
        va_start(ap, fmt);
        set_err(lc->err, lc->name, line, option, fmt, ap);
        va_end(ap);
        lc->failed = true;
    }
    return -1;
}

static void warn(loadctx *lc, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void warn(loadctx *lc, int line, const char *fmt, ...)
{
    if (lc->warn == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lc->warn(lc->name, line, msg, lc->wctx);
}

const char *jwtx_config_error_format(const jwtx_config_error *e, char *buf, size_t size)
{
    if (buf == NULL || size == 0)
        return buf;
    if (e == NULL) {
        snprintf(buf, size, "(no error)");
        return buf;
    }
    char where[300];
    if (e->line > 0)
        snprintf(where, sizeof where, "%s:%d", e->file, e->line);
    else
        snprintf(where, sizeof where, "%s", e->file);
    if (e->option[0] != '\0')
        snprintf(buf, size, "%s: %s: %s", where, e->option, e->message);
    else
        snprintf(buf, size, "%s: %s", where, e->message);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static void free_secret(char **p, size_t len)
{
    if (*p != NULL) {
        OPENSSL_cleanse(*p, len);
        free(*p);
        *p = NULL;
    }
}

static void strlist_clear(jwtx_strlist *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->v[k]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_push(jwtx_strlist *l, const char *s, size_t len)
{
    char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (nv == NULL)
        return -1;
    l->v = nv;
    if ((l->v[l->n] = jwtxp_memdup(s, len)) == NULL)
        return -1;
    l->n++;
    return 0;
}

static bool strlist_has(const jwtx_strlist *l, const char *s)
{
    for (size_t k = 0; k < l->n; k++)
        if (strcmp(l->v[k], s) == 0)
            return true;
    return false;
}

static int strlist_from_array(jwtx_strlist *l, const char *const *a)
{
    for (; *a; a++)
        if (strlist_push(l, *a, strlen(*a)) != 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The option table                                                          */

typedef enum okind {
    K_DURATION, /* jwtx_duration: int seconds > 0, or False */
    K_BOOL,     /* bool: True / False */
    K_INT,      /* long long in [min, max] */
    K_STR,      /* char *: see flags */
    K_STRLIST,  /* jwtx_strlist: list or tuple of str */
    K_SPECIAL   /* own handler */
} okind;

/* K_STR flags */
#define F_NULLABLE 0x01   /* None allowed -> NULL */
#define F_EMPTY_NULL 0x02 /* "" (and None) -> NULL */
#define F_NONEMPTY 0x04   /* "" refused */
#define F_TOKEN 0x08      /* an RFC 7230 token (header and cookie names) */
#define F_ATTR 0x10       /* safe in a Set-Cookie attribute: no CTL, no ';' */
#define F_PATH 0x20       /* a file path, resolved against the conf directory */
#define F_FALSE_ZERO 0x40 /* K_INT: False means 0 */

struct opt;
typedef int (*handler_fn)(loadctx *lc, jwtx_config *cfg, const struct opt *o, const pval *v,
                          int line);
typedef json_t *(*tojson_fn)(const jwtx_config *cfg, const struct opt *o);

typedef struct opt {
    const char *name;
    okind kind;
    size_t off; /* offset in jwtx_config; SIZE_MAX for load-time-only options */
    const char *defstr;
    long long defint, min, max;
    unsigned flags;
    handler_fn handler; /* K_SPECIAL */
    tojson_fn tojson;   /* NULL: by kind; SIZE_MAX off: not shown */
} opt;

/* Load-time-only values (not kept in jwtx_config). */
typedef struct auxvals {
    const pval *secret_key_flask; /* SECRET_KEY */
    int secret_key_flask_line;
    char *secret_key_file; /* resolved paths */
    int secret_key_file_line;
    char *private_key_file;
    int private_key_file_line;
    char *public_key_file;
    int public_key_file_line;
    int jwt_secret_line, private_line, public_line, algorithm_line, decode_algs_line;
    int users_file_line, user_lookup_line;
    const pval *decode_algs; /* JWT_DECODE_ALGORITHMS as written */
} auxvals;

#define OFF(field) offsetof(jwtx_config, field)
#define AT(cfg, o, type) ((type *)(void *)((char *)(cfg) + (o)->off))
#define CAT(cfg, o, type) ((const type *)(const void *)((const char *)(cfg) + (o)->off))

static const char *const default_csrf_methods[] = {"POST", "PUT", "PATCH", "DELETE", NULL};

/* handlers, defined below */
static int h_algorithm(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_decode_algorithms(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_secret(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_pem(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_decode_aud_iss(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_encode_audience(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_token_location(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_header_name(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_header_type(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_samesite(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_csrf_methods(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_blocklist(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_decode_keys(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_key_id(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_login_redirect(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_aux(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_audit_log(loadctx *, jwtx_config *, const opt *, const pval *, int);
static int h_trusted_proxies(loadctx *, jwtx_config *, const opt *, const pval *, int);

static json_t *j_algorithm_list(const jwtx_config *, const opt *);
static json_t *j_masked(const jwtx_config *, const opt *);
static json_t *j_public_key(const jwtx_config *, const opt *);
static json_t *j_decode_aud_iss(const jwtx_config *, const opt *);
static json_t *j_encode_audience(const jwtx_config *, const opt *);
static json_t *j_token_location(const jwtx_config *, const opt *);
static json_t *j_samesite(const jwtx_config *, const opt *);
static json_t *j_blocklist(const jwtx_config *, const opt *);
static json_t *j_trusted_proxies(const jwtx_config *, const opt *);

#define STR(n, f, d, fl)                                                                           \
    {                                                                                              \
        n, K_STR, OFF(f), d, 0, 0, 0, fl, NULL, NULL                                               \
    }
#define BOOLO(n, f, d)                                                                             \
    {                                                                                              \
        n, K_BOOL, OFF(f), NULL, d, 0, 1, 0, NULL, NULL                                            \
    }
#define INTO(n, f, d, lo, hi, fl)                                                                  \
    {                                                                                              \
        n, K_INT, OFF(f), NULL, d, lo, hi, fl, NULL, NULL                                          \
    }
#define DUR(n, f, d)                                                                               \
    {                                                                                              \
        n, K_DURATION, OFF(f), NULL, d, 1, DURATION_MAX, 0, NULL, NULL                             \
    }
#define SPEC(n, f, d, h, j)                                                                        \
    {                                                                                              \
        n, K_SPECIAL, f, d, 0, 0, 0, 0, h, j                                                       \
    }

enum {
    O_SECRET_KEY_FLASK = 0,
    O_SECRET_KEY_FILE,
    O_PRIVATE_KEY_FILE,
    O_PUBLIC_KEY_FILE,
    O_FIRST_REAL
};

static const opt options[] = {
    /* load-time only (not in jwtx_config, not shown by to_json) */
    SPEC("SECRET_KEY", SIZE_MAX, NULL, h_aux, NULL),
    SPEC("JWTX_SECRET_KEY_FILE", SIZE_MAX, NULL, h_aux, NULL),
    SPEC("JWTX_PRIVATE_KEY_FILE", SIZE_MAX, NULL, h_aux, NULL),
    SPEC("JWTX_PUBLIC_KEY_FILE", SIZE_MAX, NULL, h_aux, NULL),

    /* 1.1 general / token */
    DUR("JWT_ACCESS_TOKEN_EXPIRES", access_expires, 900),
    DUR("JWT_REFRESH_TOKEN_EXPIRES", refresh_expires, 2592000),
    SPEC("JWT_ALGORITHM", OFF(algorithm), "HS256", h_algorithm, NULL),
    SPEC("JWT_DECODE_ALGORITHMS", OFF(decode_algorithms), NULL, h_decode_algorithms,
         j_algorithm_list),
    SPEC("JWT_SECRET_KEY", OFF(secret_key), NULL, h_secret, j_masked),
    SPEC("JWT_PRIVATE_KEY", OFF(private_key), NULL, h_pem, j_masked),
    SPEC("JWT_PUBLIC_KEY", OFF(public_key), NULL, h_pem, j_public_key),
    SPEC("JWT_DECODE_AUDIENCE", OFF(decode_audience), NULL, h_decode_aud_iss, j_decode_aud_iss),
    SPEC("JWT_ENCODE_AUDIENCE", OFF(encode_audience), NULL, h_encode_audience, j_encode_audience),
    SPEC("JWT_DECODE_ISSUER", OFF(decode_issuer), NULL, h_decode_aud_iss, j_decode_aud_iss),
    STR("JWT_ENCODE_ISSUER", encode_issuer, NULL, F_NULLABLE | F_EMPTY_NULL),
    INTO("JWT_DECODE_LEEWAY", decode_leeway, 0, 0, LEEWAY_MAX, 0),
    BOOLO("JWT_ENCODE_NBF", encode_nbf, 1),
    BOOLO("JWT_VERIFY_SUB", verify_sub, 1),
    STR("JWT_IDENTITY_CLAIM", identity_claim, "sub", F_NONEMPTY),
    STR("JWT_ERROR_MESSAGE_KEY", error_message_key, "msg", F_NONEMPTY),
    SPEC("JWT_TOKEN_LOCATION", OFF(token_location), NULL, h_token_location, j_token_location),

    /* 1.2 headers */
    SPEC("JWT_HEADER_NAME", OFF(header_name), "Authorization", h_header_name, NULL),
    SPEC("JWT_HEADER_TYPE", OFF(header_type), "Bearer", h_header_type, NULL),

    /* 1.3 cookies */
    STR("JWT_ACCESS_COOKIE_NAME", access_cookie_name, "access_token_cookie", F_NONEMPTY | F_TOKEN),
    STR("JWT_ACCESS_COOKIE_PATH", access_cookie_path, "/", F_ATTR | F_NULLABLE),
    STR("JWT_REFRESH_COOKIE_NAME", refresh_cookie_name, "refresh_token_cookie",
        F_NONEMPTY | F_TOKEN),
    STR("JWT_REFRESH_COOKIE_PATH", refresh_cookie_path, "/", F_ATTR | F_NULLABLE),
    BOOLO("JWT_COOKIE_SECURE", cookie_secure, 0),
    STR("JWT_COOKIE_DOMAIN", cookie_domain, NULL, F_NULLABLE | F_EMPTY_NULL | F_ATTR),
    SPEC("JWT_COOKIE_SAMESITE", OFF(cookie_samesite), NULL, h_samesite, j_samesite),
    BOOLO("JWT_SESSION_COOKIE", session_cookie, 1),
    BOOLO("JWT_COOKIE_CSRF_PROTECT", cookie_csrf_protect, 1),

    /* 1.4 CSRF */
    SPEC("JWT_CSRF_METHODS", OFF(csrf_methods), NULL, h_csrf_methods, NULL),
    BOOLO("JWT_CSRF_IN_COOKIES", csrf_in_cookies, 1),
    BOOLO("JWT_CSRF_CHECK_FORM", csrf_check_form, 0),
    STR("JWT_ACCESS_CSRF_HEADER_NAME", access_csrf_header_name, "X-CSRF-TOKEN",
        F_NONEMPTY | F_TOKEN),
    STR("JWT_REFRESH_CSRF_HEADER_NAME", refresh_csrf_header_name, "X-CSRF-TOKEN",
        F_NONEMPTY | F_TOKEN),
    STR("JWT_ACCESS_CSRF_FIELD_NAME", access_csrf_field_name, "csrf_token", F_NONEMPTY),
    STR("JWT_REFRESH_CSRF_FIELD_NAME", refresh_csrf_field_name, "csrf_token", F_NONEMPTY),
    STR("JWT_ACCESS_CSRF_COOKIE_NAME", access_csrf_cookie_name, "csrf_access_token",
        F_NONEMPTY | F_TOKEN),
    STR("JWT_REFRESH_CSRF_COOKIE_NAME", refresh_csrf_cookie_name, "csrf_refresh_token",
        F_NONEMPTY | F_TOKEN),
    STR("JWT_ACCESS_CSRF_COOKIE_PATH", access_csrf_cookie_path, "/", F_ATTR | F_NULLABLE),
    STR("JWT_REFRESH_CSRF_COOKIE_PATH", refresh_csrf_cookie_path, "/", F_ATTR | F_NULLABLE),

    /* 1.5 query string and JSON */
    STR("JWT_QUERY_STRING_NAME", query_string_name, "jwt", F_NONEMPTY),
    STR("JWT_QUERY_STRING_VALUE_PREFIX", query_string_value_prefix, "", 0),
    STR("JWT_JSON_KEY", json_key, "access_token", F_NONEMPTY),
    STR("JWT_REFRESH_JSON_KEY", refresh_json_key, "refresh_token", F_NONEMPTY),

    /* JWTX_* gateway options */
    SPEC("JWTX_KEY_ID", OFF(key_id), NULL, h_key_id, NULL),
    SPEC("JWTX_DECODE_KEYS", OFF(decode_keys), NULL, h_decode_keys, NULL),
    STR("JWTX_USERS_FILE", users_file, NULL, F_NULLABLE | F_EMPTY_NULL | F_PATH),
    STR("JWTX_USER_CLAIMS_FILE", user_claims_file, NULL, F_NULLABLE | F_EMPTY_NULL | F_PATH),
    BOOLO("JWTX_USER_LOOKUP", user_lookup, 0),
    SPEC("JWTX_BLOCKLIST", OFF(blocklist), "", h_blocklist, j_blocklist),
    STR("JWTX_BLOCKLIST_PREFIX", blocklist_prefix, "jwtx:", 0),
    INTO("JWTX_BLOCKLIST_TIMEOUT_MS", blocklist_timeout_ms, 250, 1, 60000, 0),
    INTO("JWTX_BLOCKLIST_RETRY_MS", blocklist_retry_ms, 1000, 0, 60000, 0),
    INTO("JWTX_MAX_BODY", max_body, 65536, 1024, 16 * 1024 * 1024, 0),
    INTO("JWTX_IMPLICIT_REFRESH", implicit_refresh, 0, 0, DURATION_MAX, F_FALSE_ZERO),
    INTO("JWTX_BCRYPT_COST", bcrypt_cost, 10, JWTX_USERS_COST_MIN, JWTX_USERS_COST_MAX, 0),
    SPEC("JWTX_LOGIN_REDIRECT", OFF(login_redirect), NULL, h_login_redirect, NULL),

    /* login protection */
    SPEC("JWTX_AUDIT_LOG", OFF(audit_log), "server", h_audit_log, NULL),
    SPEC("JWTX_TRUSTED_PROXIES", OFF(trusted_proxies), NULL, h_trusted_proxies, j_trusted_proxies),
    BOOLO("JWTX_LOGIN_REGULATION", login_regulation, 1),
    INTO("JWTX_LOGIN_FIND_TIME", login_find_time, 600, 1, LOGIN_TIME_MAX, 0),
    INTO("JWTX_LOGIN_BAN_TIME", login_ban_time, 900, 1, LOGIN_TIME_MAX, 0),
    INTO("JWTX_LOGIN_MAX_FAILURES", login_max_failures, 5, 0, LOGIN_LIMIT_MAX, F_FALSE_ZERO),
    INTO("JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS", login_max_failures_per_address, 20, 0,
         LOGIN_LIMIT_MAX, F_FALSE_ZERO),
    INTO("JWTX_LOGIN_MAX_FAILURES_PER_USER", login_max_failures_per_user, 100, 0, LOGIN_LIMIT_MAX,
         F_FALSE_ZERO),

    /* sessions (refresh-token rotation) */
    BOOLO("JWTX_REFRESH_ROTATION", refresh_rotation, 0),
    BOOLO("JWTX_REFRESH_SLIDING", refresh_sliding, 0),
    INTO("JWTX_REFRESH_REUSE_GRACE", refresh_reuse_grace, 10, 0, REUSE_GRACE_MAX, 0),
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *const removed_options[] = {"JWT_USER_CLAIMS",
                                              "JWT_CSRF_HEADER_NAME",
                                              "JWT_BLACKLIST_ENABLED",
                                              "JWT_BLACKLIST_TOKEN_CHECKS",
                                              "JWT_VERIFY_AUDIENCE",
                                              "JWT_CLAIMS_IN_REFRESH_TOKEN",
                                              NULL};

static const opt *find_option(const char *name, size_t *idx)
{
    for (size_t k = 0; k < N_OPTIONS; k++)
        if (strcmp(options[k].name, name) == 0) {
            if (idx)
                *idx = k;
            return &options[k];
        }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* init / clear                                                              */

void jwtx_config_clear(jwtx_config *cfg)
{
    if (cfg == NULL)
        return;
    if (cfg->keys != NULL)
        jwtxp_keyset_free(cfg->keys);
    free(cfg->path);
    for (size_t k = O_FIRST_REAL; k < N_OPTIONS; k++) {
        const opt *o = &options[k];
        if (o->kind == K_STR) {
            free(*AT(cfg, o, char *));
        } else if (o->kind == K_STRLIST) {
            strlist_clear(AT(cfg, o, jwtx_strlist));
        }
    }
    free(cfg->algorithm);
    strlist_clear(&cfg->decode_algorithms);
    free_secret(&cfg->secret_key, cfg->secret_key_len);
    if (cfg->private_key != NULL)
        free_secret(&cfg->private_key, strlen(cfg->private_key));
    free(cfg->public_key);
    strlist_clear(&cfg->decode_audience);
    json_decref(cfg->encode_audience);
    strlist_clear(&cfg->decode_issuer);
    free(cfg->header_name);
    free(cfg->header_type);
    strlist_clear(&cfg->csrf_methods);
    free(cfg->key_id);
    strlist_clear(&cfg->decode_keys);
    free(cfg->blocklist);
    free(cfg->login_redirect);
    free(cfg->audit_log);
    free(cfg->trusted_proxies);
    OPENSSL_cleanse(cfg, sizeof *cfg);
    memset(cfg, 0, sizeof *cfg);
}

int jwtx_config_init(jwtx_config *cfg)
{
    if (cfg == NULL)
        return -1;
    memset(cfg, 0, sizeof *cfg);
    bool ok = (cfg->path = jwtxp_memdup("", 0)) != NULL;
    for (size_t k = O_FIRST_REAL; k < N_OPTIONS && ok; k++) {
        const opt *o = &options[k];
        switch (o->kind) {
        case K_DURATION:
            AT(cfg, o, jwtx_duration)->never = false;
            AT(cfg, o, jwtx_duration)->seconds = o->defint;
            break;
        case K_BOOL:
            *AT(cfg, o, bool) = o->defint != 0;
            break;
        case K_INT:
            *AT(cfg, o, long long) = o->defint;
            break;
        case K_STR:
            if (o->defstr != NULL)
                ok = (*AT(cfg, o, char *) = jwtxp_memdup(o->defstr, strlen(o->defstr))) != NULL;
            break;
        case K_STRLIST:
            break;
        case K_SPECIAL:
            break;
        }
    }
    ok = ok && (cfg->algorithm = jwtxp_memdup("HS256", 5)) != NULL;
    ok = ok && strlist_push(&cfg->decode_algorithms, "HS256", 5) == 0;
    cfg->token_location[0] = JWTX_LOC_HEADERS;
    cfg->n_token_location = 1;
    ok = ok && (cfg->header_name = jwtxp_memdup("Authorization", 13)) != NULL;
    ok = ok && (cfg->header_type = jwtxp_memdup("Bearer", 6)) != NULL;
    cfg->cookie_samesite = JWTX_SAMESITE_UNSET;
    ok = ok && strlist_from_array(&cfg->csrf_methods, default_csrf_methods) == 0;
    ok = ok && (cfg->blocklist = jwtxp_memdup("", 0)) != NULL;
    ok = ok && (cfg->audit_log = jwtxp_memdup("server", 6)) != NULL;
    if (!ok) {
        jwtx_config_clear(cfg);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The parser                                                                */

typedef struct parser {
    loadctx *lc;
    const char *p, *end;
    int line;
    int depth;   /* open brackets: newlines and comments are whitespace inside */
    bool secret; /* the statement's value may be a secret: never quoted in a message */
} parser;

static int perr(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(parser *ps, const char *fmt, ...)
{
    if (!ps->lc->failed) {
        va_list ap;
        va_start(ap, fmt);
        set_err(ps->lc->err, ps->lc->name, ps->line, "", fmt, ap);
        va_end(ap);
        ps->lc->failed = true;
    }
    return -1;
}

static bool is_idstart(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_idchar(int c)
{
    return is_idstart(c) || (c >= '0' && c <= '9');
}

/* Skips blanks; inside brackets also newlines, comments and nothing else. */
static int skip_ws(parser *ps)
{
    for (;;) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\f'))
            ps->p++;
        if (ps->p >= ps->end)
            return 0;
        if (*ps->p == '\\') {
            /* Python's explicit line joining; rare in config and easy to misread. */
            return perr(ps, "a backslash line continuation is not supported");
        }
        if (ps->depth == 0)
            return 0;
        if (*ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
            continue;
        }
        if (*ps->p == '\r' || *ps->p == '\n') {
            if (*ps->p == '\n')
                ps->line++;
            ps->p++;
            continue;
        }
        return 0;
    }
}

/* One string literal (ps->p at its prefix or quote), appended to b. */
static int parse_one_string(parser *ps, jwtx_buf *b)
{
    bool raw = false;
    while (ps->p < ps->end && is_idstart((unsigned char)*ps->p)) {
        char c = *ps->p;
        if (c == 'r' || c == 'R')
            raw = true;
        else if (c == 'b' || c == 'B')
            return perr(ps, "bytes literals (b\"...\") are not supported; use a str");
        else if (c == 'f' || c == 'F')
            return perr(ps, "f-strings are not supported");
        else if (c != 'u' && c != 'U')
            return perr(ps, "invalid string prefix");
        ps->p++;
    }
    char q = *ps->p;
    if (ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q)
        return perr(ps, "triple-quoted strings are not supported");
    ps->p++;
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r')
            return perr(ps, "unterminated string literal");
        unsigned char c = (unsigned char)*ps->p;
        if (c == (unsigned char)q) {
            ps->p++;
            return 0;
        }
        if (c != '\\') {
            if (jwtx_buf_append(b, ps->p, 1) != 0)
                return perr(ps, "out of memory");
            ps->p++;
            continue;
        }
        /* a backslash */
        if (ps->p + 1 >= ps->end || ps->p[1] == '\n' || ps->p[1] == '\r')
            return perr(ps, "a string cannot continue on the next line");
        char e = ps->p[1];
        if (raw) {
            /* r"..": the backslash stays, and the next character is literal */
            if (jwtx_buf_append(b, ps->p, 2) != 0)
                return perr(ps, "out of memory");
            ps->p += 2;
            continue;
        }
        ps->p += 2;
        unsigned long cp;
        int ndig = 0;
        switch (e) {
        case '\\':
            cp = '\\';
            break;
        case '\'':
            cp = '\'';
            break;
        case '"':
            cp = '"';
            break;
        case 'a':
            cp = 7;
            break;
        case 'b':
            cp = 8;
            break;
        case 'f':
            cp = 12;
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'v':
            cp = 11;
            break;
        case 'x':
            ndig = 2;
            break;
        case 'u':
            ndig = 4;
            break;
        case 'U':
            ndig = 8;
            break;
        case 'N':
            return perr(ps, "\\N{...} escapes are not supported");
        default:
            if (e >= '0' && e <= '7') {
                cp = (unsigned long)(e - '0');
                for (int k = 0; k < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; k++)
                    cp = cp * 8 + (unsigned long)(*ps->p++ - '0');
                break;
            }
            if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7f)
                return perr(ps, "invalid escape sequence in string");
            return perr(ps, "invalid escape sequence '\\%c' (write '\\\\%c' for a backslash)", e,
                        e);
        }
        if (ndig > 0) {
            cp = 0;
            for (int k = 0; k < ndig; k++) {
                int h = ps->p < ps->end ? jwtxp_hexval((unsigned char)*ps->p) : -1;
                if (h < 0)
                    return perr(ps, "truncated \\%c escape: needs %d hex digits", e, ndig);
                cp = cp * 16 + (unsigned long)h;
                ps->p++;
            }
            if (cp > 0x10FFFF)
                return perr(ps, "\\U escape out of range (above U+10FFFF)");
            if (cp >= 0xD800 && cp <= 0xDFFF)
                return perr(ps, "\\%c escape gives a lone surrogate, which is not valid UTF-8", e);
        }
        unsigned char u[4];
        size_t ulen = jwtxp_utf8_encode((uint32_t)cp, u);
        if (jwtx_buf_append(b, u, ulen) != 0)
            return perr(ps, "out of memory");
    }
}

static bool at_string_start(const parser *ps)
{
    const char *s = ps->p;
    while (s < ps->end && s - ps->p < 3 && is_idstart((unsigned char)*s))
        s++;
    return s < ps->end && (*s == '"' || *s == '\'');
}

/* A string value: one literal, or several adjacent ones joined (Python). */
static int parse_string(parser *ps, pval *out)
{
    jwtx_buf b; /* any string may be a secret: wiped when dropped */
    jwtx_buf_init(&b);
    do {
        if (parse_one_string(ps, &b) != 0 || skip_ws(ps) != 0) {
            jwtx_buf_wipe(&b);
            return -1;
        }
    } while (at_string_start(ps));
    size_t len = 0;
    char *s = jwtx_buf_take(&b, &len); /* ownership moves to the value */
    if (s == NULL)
        return perr(ps, "out of memory");
    out->t = V_STR;
    out->s = s;
    out->len = len;
    return 0;
}

/* Digits of base with single underscores between them (PEP 515). */
static int parse_digits(parser *ps, int base, unsigned long long *acc, bool *overflow, int *count)
{
    bool need_digit = true; /* at start and after '_' */
    *count = 0;
    while (ps->p < ps->end) {
        int c = (unsigned char)*ps->p;
        if (c == '_') {
            if (need_digit)
                return perr(ps, "invalid number: misplaced '_'");
            need_digit = true;
            ps->p++;
            continue;
        }
        int d = jwtxp_hexval(c);
        if (d < 0 || d >= base)
            break;
        if (*acc > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
            *overflow = true;
        else
            *acc = *acc * (unsigned)base + (unsigned)d;
        need_digit = false;
        (*count)++;
        ps->p++;
    }
    if (need_digit && *count > 0)
        return perr(ps, "invalid number: misplaced '_'");
    return 0;
}

static int parse_number(parser *ps, pval *out)
{
    bool neg = false;
    while (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+')) {
        if (*ps->p == '-')
            neg = !neg;
        ps->p++;
        if (skip_ws(ps) != 0)
            return -1;
    }
    if (ps->p >= ps->end || !((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.'))
        return perr(ps, "invalid syntax: expected a number after the sign");
    unsigned long long acc = 0;
    bool overflow = false;
    int count = 0;
    int base = 10;
    const char *start = ps->p;
    if (*ps->p == '0' && ps->p + 1 < ps->end && strchr("xXoObB", ps->p[1]) != NULL) {
        char k = ps->p[1];
        base = (k == 'x' || k == 'X') ? 16 : (k == 'o' || k == 'O') ? 8 : 2;
        ps->p += 2;
        if (ps->p < ps->end && *ps->p == '_')
            ps->p++; /* 0x_ff is valid Python */
        if (parse_digits(ps, base, &acc, &overflow, &count) != 0)
            return -1;
        if (count == 0)
            return perr(ps, "invalid number literal");
    } else {
        if (parse_digits(ps, 10, &acc, &overflow, &count) != 0)
            return -1;
        bool is_float = false;
        if (ps->p < ps->end && *ps->p == '.') {
            is_float = true;
            ps->p++;
            int c2;
            unsigned long long junk = 0;
            bool of2 = false;
            if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' &&
                parse_digits(ps, 10, &junk, &of2, &c2) != 0)
                return -1;
        }
        if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
            is_float = true;
            ps->p++;
            if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
                ps->p++;
            int c2;
            unsigned long long junk = 0;
            bool of2 = false;
            if (parse_digits(ps, 10, &junk, &of2, &c2) != 0)
                return -1;
            if (c2 == 0)
                return perr(ps, "invalid number literal");
        }
        if (ps->p < ps->end && (*ps->p == 'j' || *ps->p == 'J'))
            return perr(ps, "complex numbers are not supported");
        if (is_float) {
            if (ps->p < ps->end && is_idchar((unsigned char)*ps->p))
                return perr(ps, "invalid number literal");
            out->t = V_FLOAT;
            return 0;
        }
        if (count == 0)
            return perr(ps, "invalid number literal");
        /* "007" is a SyntaxError in Python 3; "0", "00", "0_0" are fine. */
        if (*start == '0' && acc != 0)
            return perr(ps, "leading zeros in decimal integer literals are not permitted");
    }
    if (ps->p < ps->end && is_idchar((unsigned char)*ps->p))
        return perr(ps, "invalid number literal");
    if (overflow || acc > (unsigned long long)LLONG_MAX)
        return perr(ps, "integer out of range");
    out->t = V_INT;
    out->i = neg ? -(long long)acc : (long long)acc;
    return 0;
}

static int parse_value(parser *ps, pval *out, bool in_list);

/* [a, b, ...] or (a, b, ...), the opening bracket at ps->p. */
static int parse_seq(parser *ps, pval *out, bool in_list)
{
    char open = *ps->p;
    char close = open == '[' ? ']' : ')';
    if (in_list)
        return perr(ps, "nested lists are not supported");
    int open_line = ps->line;
    ps->p++;
    ps->depth++;
    out->t = open == '[' ? V_LIST : V_TUPLE;
    bool saw_comma = false;
    for (;;) {
        if (skip_ws(ps) != 0)
            return -1;
        if (ps->p >= ps->end)
            return ps->line = open_line, perr(ps, "'%c' was never closed", open);
        if (*ps->p == close)
            break;
        if (out->n >= CONF_MAX_ITEMS)
            return perr(ps, "too many list items (at most %d)", CONF_MAX_ITEMS);
        pval *ni = realloc(out->items, (out->n + 1) * sizeof *ni);
        if (ni == NULL)
            return perr(ps, "out of memory");
        out->items = ni;
        memset(&out->items[out->n], 0, sizeof *ni);
        out->n++;
        if (parse_value(ps, &out->items[out->n - 1], true) != 0)
            return -1;
        if (skip_ws(ps) != 0)
            return -1;
        if (ps->p < ps->end && *ps->p == ',') {
            saw_comma = true;
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close)
            break;
        if (ps->p >= ps->end)
            return ps->line = open_line, perr(ps, "'%c' was never closed", open);
        return perr(ps, "invalid syntax: expected ',' or '%c' in list", close);
    }
    ps->p++;
    ps->depth--;
    if (open == '(' && out->n == 1 && !saw_comma) {
        /* ("x") is just "x" in parentheses, not a tuple */
        pval inner = out->items[0];
        free(out->items);
        *out = inner;
    }
    return 0;
}

static int parse_value(parser *ps, pval *out, bool in_list)
{
    if (skip_ws(ps) != 0)
        return -1;
    if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#')
        return perr(ps, "invalid syntax: missing value after '='");
    char c = *ps->p;
    if (c == '"' || c == '\'' || at_string_start(ps))
        return parse_string(ps, out);
    if (c == '[' || c == '(')
        return parse_seq(ps, out, in_list);
    if (c == '{')
        return perr(ps, "dicts and sets are not supported");
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'))
        return parse_number(ps, out);
    if (is_idstart((unsigned char)c)) {
        const char *s = ps->p;
        while (ps->p < ps->end && is_idchar((unsigned char)*ps->p))
            ps->p++;
        size_t n = (size_t)(ps->p - s);
        if (n == 4 && memcmp(s, "True", 4) == 0) {
            out->t = V_BOOL;
            out->i = 1;
        } else if (n == 5 && memcmp(s, "False", 5) == 0) {
            out->t = V_BOOL;
            out->i = 0;
        } else if (n == 4 && memcmp(s, "None", 4) == 0) {
            out->t = V_NONE;
        } else if (ps->secret) {
            /* JWT_SECRET_KEY = s3cret (the quotes forgotten): the word is
             * the secret itself, and this message reaches server logs. */
            return perr(ps, "the value is not a literal (a bare word, not shown: this setting "
                            "holds a secret): write a string in quotes, NAME = \"...\"");
        } else {
            return perr(ps,
                        "'%.*s' is not a literal: only strings, integers, True, False, None "
                        "and lists of them are supported",
                        (int)(n > 64 ? 64 : n), s);
        }
        return 0;
    }
    return perr(ps, "invalid syntax: unexpected character in value");
}

/* Checks the whole text before parsing: size, NUL bytes, UTF-8, line length. */
static int precheck(loadctx *lc, const char *text, size_t len)
{
    if (len > CONF_MAX_FILE)
        return fail(lc, 0, "", "file is larger than %d bytes", CONF_MAX_FILE);
    int line = 1;
    size_t linestart = 0;
    const unsigned char *u = (const unsigned char *)text;
    for (size_t k = 0; k < len;) {
        unsigned char c = u[k];
        if (c == '\n') {
            line++;
            k++;
            linestart = k;
            continue;
        }
        if (k - linestart >= CONF_MAX_LINE)
            return fail(lc, line, "", "line is longer than %d bytes", CONF_MAX_LINE);
        if (c == 0)
            return fail(lc, line, "", "source code cannot contain null bytes");
        if (c < 0x80) {
            k++;
            continue;
        }
        /* strict UTF-8: no overlong forms, no surrogates, at most U+10FFFF */
        size_t n;
        unsigned long cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return fail(lc, line, "", "invalid UTF-8");
        }
        if (k + n > len)
            return fail(lc, line, "", "invalid UTF-8");
        for (size_t j = 1; j < n; j++) {
            if ((u[k + j] & 0xC0) != 0x80)
                return fail(lc, line, "", "invalid UTF-8");
            cp = (cp << 6) | (u[k + j] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(lc, line, "", "invalid UTF-8");
        k += n;
    }
    return 0;
}

/* Parsed statements: the last value of every table option, plus its line. */
typedef struct assigned {
    pval *val[N_OPTIONS];
    int line[N_OPTIONS];
} assigned;

static void assigned_clear(assigned *a)
{
    for (size_t k = 0; k < N_OPTIONS; k++)
        pval_free(a->val[k]);
    memset(a, 0, sizeof *a);
}

static bool is_removed(const char *name)
{
    for (const char *const *r = removed_options; *r; r++)
        if (strcmp(*r, name) == 0)
            return true;
    return false;
}

/* Edit distance, bounded, for "did you mean" hints. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

static const char *suggest(const char *name)
{
    if (strcmp(name, "JWT_LOCATIONS") == 0) /* the upgrade guide's typo */
        return "JWT_TOKEN_LOCATION";
    const char *best = NULL;
    size_t bd = 3;
    for (size_t k = 0; k < N_OPTIONS; k++) {
        size_t d = distance(name, options[k].name);
        if (d < bd) {
            bd = d;
            best = options[k].name;
        }
    }
    return best;
}

/* One statement: NAME = value, then an optional comment and the line end. */
static int parse_statement(parser *ps, assigned *as)
{
    int line = ps->line;
    const char *s = ps->p;
    while (ps->p < ps->end && is_idchar((unsigned char)*ps->p))
        ps->p++;
    size_t n = (size_t)(ps->p - s);
    char name[80];
    if (n >= sizeof name)
        return perr(ps, "name is too long");
    memcpy(name, s, n);
    name[n] = '\0';
    if (skip_ws(ps) != 0)
        return -1;
    if (ps->p >= ps->end || *ps->p != '=' || (ps->p + 1 < ps->end && ps->p[1] == '='))
        return perr(ps, "invalid syntax: expected NAME = value");
    ps->p++;
    /* Settings whose value is or holds a secret (a key, a password in a
     * store URL), and names that look like one (a typo of them). */
    ps->secret = strcasestr(name, "SECRET") != NULL || strcasestr(name, "PRIVATE") != NULL ||
                 strcasestr(name, "PASSWORD") != NULL || strcasestr(name, "BLOCKLIST") != NULL;
    pval *v = calloc(1, sizeof *v);
    if (v == NULL)
        return perr(ps, "out of memory");
    if (parse_value(ps, v, false) != 0 || skip_ws(ps) != 0) {
        pval_free(v);
        return -1;
    }
    if (ps->p < ps->end && *ps->p == '#')
        while (ps->p < ps->end && *ps->p != '\n')
            ps->p++;
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p != '\n') {
        pval_free(v);
        if (*ps->p == ';')
            return perr(ps, "only one assignment per line is supported");
        if (*ps->p == '=')
            return perr(ps, "chained assignments are not supported");
        if (*ps->p == ',')
            return perr(ps, "a bare tuple needs parentheses: NAME = (\"a\", \"b\")");
        return perr(ps, "invalid syntax: unexpected text after the value");
    }

    size_t idx;
    if (find_option(name, &idx) != NULL) {
        if (as->val[idx] != NULL) {
            warn(ps->lc, line, "%s is assigned again (first on line %d); the last value wins", name,
                 as->line[idx]);
            pval_free(as->val[idx]);
        }
        as->val[idx] = v;
        as->line[idx] = line;
        return 0;
    }
    pval_free(v);
    if (is_removed(name)) {
        warn(ps->lc, line, "%s was removed in Flask-JWT-Extended 4.0 and is ignored", name);
        return 0;
    }
    if (strncmp(name, "JWT_", 4) == 0 || strncmp(name, "JWTX_", 5) == 0) {
        const char *hint = suggest(name);
        if (hint != NULL)
            return fail(ps->lc, line, name, "unknown option (did you mean %s?)", hint);
        return fail(ps->lc, line, name, "unknown option");
    }
    warn(ps->lc, line, "%s is not a jwtx option; ignored", name);
    return 0;
}

static int parse_text(loadctx *lc, const char *text, size_t len, assigned *as)
{
    if (precheck(lc, text, len) != 0)
        return -1;
    parser ps = {lc, text, text + len, 1, 0, false};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3; /* a UTF-8 BOM, which Python allows */
    while (ps.p < ps.end) {
        const char *ls = ps.p;
        while (ps.p < ps.end && (*ps.p == ' ' || *ps.p == '\t' || *ps.p == '\f'))
            ps.p++;
        bool indented = ps.p != ls;
        if (ps.p >= ps.end)
            break;
        if (*ps.p == '#') {
            while (ps.p < ps.end && *ps.p != '\n')
                ps.p++;
        }
        if (ps.p < ps.end && *ps.p == '\r')
            ps.p++;
        if (ps.p >= ps.end)
            break;
        if (*ps.p == '\n') {
            ps.p++;
            ps.line++;
            continue;
        }
        if (indented)
            return perr(&ps, "unexpected indent");
        if (!is_idstart((unsigned char)*ps.p))
            return perr(&ps, "invalid syntax: expected NAME = value");
        if (parse_statement(&ps, as) != 0)
            return -1;
        if (ps.p < ps.end && *ps.p == '\n') {
            ps.p++;
            ps.line++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Option handlers                                                           */

/* "expected X, got T" */
static int bad_type(loadctx *lc, const opt *o, int line, const char *expected, const pval *v)
{
    return fail(lc, line, o->name, "expected %s, got %s", expected, pval_type(v));
}

static bool has_nul(const pval *v)
{
    return v->t == V_STR && strlen(v->s) != v->len;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int check_str_chars(loadctx *lc, const opt *o, int line, const char *s, unsigned flags)
{
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if ((flags & F_TOKEN) && !is_tchar(*u))
            return fail(lc, line, o->name,
                        "must be a token: letters, digits and !#$%%&'*+-.^_`|~ only");
        if ((flags & F_ATTR) && (*u < 0x20 || *u == 0x7f || *u == ';' || *u >= 0x80))
            return fail(lc, line, o->name,
                        "must not contain control characters, ';' or non-ASCII characters");
    }
    return 0;
}

/* A relative path made absolute against the conf file's directory. */
static char *resolve_path(loadctx *lc, const char *p)
{
    if (p[0] == '/')
        return jwtxp_memdup(p, strlen(p));
    size_t bl = strlen(lc->basedir), pl = strlen(p);
    char *r = malloc(bl + 1 + pl + 1);
    if (r == NULL)
        return NULL;
    memcpy(r, lc->basedir, bl);
    r[bl] = '/';
    memcpy(r + bl + 1, p, pl + 1);
    return r;
}

/* Generic string conversion (used by K_STR and several handlers). Sets *out
 * to a new string or NULL (None, or "" with F_EMPTY_NULL). */
static int get_str(loadctx *lc, const opt *o, const pval *v, int line, unsigned flags, char **out)
{
    *out = NULL;
    if (v->t == V_NONE && (flags & (F_NULLABLE | F_EMPTY_NULL)))
        return 0;
    if (v->t != V_STR)
        return bad_type(lc, o, line, (flags & F_NULLABLE) ? "a string or None" : "a string", v);
    if (has_nul(v))
        return fail(lc, line, o->name, "must not contain NUL characters");
    if (v->len == 0 && (flags & F_EMPTY_NULL))
        return 0;
    if (v->len == 0 && (flags & F_NONEMPTY))
        return fail(lc, line, o->name, "cannot be empty");
    if (check_str_chars(lc, o, line, v->s, flags) != 0)
        return -1;
    *out = (flags & F_PATH) ? resolve_path(lc, v->s) : jwtxp_memdup(v->s, v->len);
    if (*out == NULL)
        return fail(lc, line, o->name, "out of memory");
    return 0;
}

/* A list or tuple of strings (no NULs) into l (appended). */
static int get_strlist(loadctx *lc, const opt *o, const pval *v, int line, const char *expected,
                       jwtx_strlist *l)
{
    if (!is_seq(v))
        return bad_type(lc, o, line, expected, v);
    for (size_t k = 0; k < v->n; k++) {
        const pval *it = &v->items[k];
        if (it->t != V_STR)
            return fail(lc, line, o->name, "expected %s, but item %zu is %s", expected, k + 1,
                        pval_type(it));
        if (has_nul(it))
            return fail(lc, line, o->name, "must not contain NUL characters");
        if (strlist_push(l, it->s, it->len) != 0)
            return fail(lc, line, o->name, "out of memory");
    }
    return 0;
}

static int h_generic(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    switch (o->kind) {
    case K_DURATION: {
        jwtx_duration *d = AT(cfg, o, jwtx_duration);
        if (v->t == V_BOOL && v->i == 0) {
            d->never = true;
            d->seconds = 0;
            return 0;
        }
        if (v->t != V_INT)
            return fail(lc, line, o->name, "must be able to add %s to datetime.datetime", o->name);
        if (v->i == 0)
            return fail(lc, line, o->name,
                        "0 would make tokens that never expire; write False for that");
        if (v->i > o->max || v->i < -o->max)
            return fail(lc, line, o->name, "must be at most %lld seconds", o->max);
        if (v->i < 0)
            warn(lc, line, "%s is negative: every new token is already expired", o->name);
        d->never = false;
        d->seconds = v->i;
        return 0;
    }
    case K_BOOL:
        if (v->t != V_BOOL)
            return bad_type(lc, o, line, "True or False", v);
        *AT(cfg, o, bool) = v->i != 0;
        return 0;
    case K_INT:
        if ((o->flags & F_FALSE_ZERO) && v->t == V_BOOL && v->i == 0) {
            *AT(cfg, o, long long) = 0;
            return 0;
        }
        if (v->t != V_INT)
            return bad_type(lc, o, line, "an integer", v);
        if (v->i < o->min || v->i > o->max)
            return fail(lc, line, o->name, "must be an integer from %lld to %lld", o->min, o->max);
        *AT(cfg, o, long long) = v->i;
        return 0;
    case K_STR: {
        char *s;
        if (get_str(lc, o, v, line, o->flags, &s) != 0)
            return -1;
        char **slot = AT(cfg, o, char *);
        free(*slot);
        *slot = s;
        return 0;
    }
    case K_STRLIST:
    case K_SPECIAL:
        break;
    }
    return fail(lc, line, o->name, "internal error: no handler");
}

static const char *alg_names_list =
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";

static int check_alg(loadctx *lc, const char *option, int line, const char *name, size_t len)
{
    if (len == 4 && memcmp(name, "none", 4) == 0)
        return fail(lc, line, option, "the \"none\" algorithm is never allowed");
    if (jwtx_alg_parse(name, len) == JWTX_ALG_UNKNOWN)
        return fail(lc, line, option, "unsupported algorithm \"%.*s\"; use one of %s",
                    (int)(len > 32 ? 32 : len), name, alg_names_list);
    return 0;
}

static int h_algorithm(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    if (v->t != V_STR)
        return bad_type(lc, o, line, "a string", v);
    if (check_alg(lc, o->name, line, v->s, v->len) != 0)
        return -1;
    char *s = jwtxp_memdup(v->s, v->len);
    if (s == NULL)
        return fail(lc, line, o->name, "out of memory");
    free(cfg->algorithm);
    cfg->algorithm = s;
    return 0;
}

/* Only checked here; resolved against JWT_ALGORITHM in resolve(). */
static int h_decode_algorithms(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    (void)cfg;
    if (v->t == V_NONE)
        return 0;
    if (!is_seq(v))
        return bad_type(lc, o, line, "None or a list of algorithm names", v);
    for (size_t k = 0; k < v->n; k++) {
        const pval *it = &v->items[k];
        if (it->t != V_STR)
            return fail(lc, line, o->name, "expected a list of algorithm names, but item %zu is %s",
                        k + 1, pval_type(it));
        if (check_alg(lc, o->name, line, it->s, it->len) != 0)
            return -1;
    }
    return 0;
}

static int h_secret(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    /* A falsy JWT_SECRET_KEY means "use SECRET_KEY" (Flask-JWT-Extended). */
    if (v->t == V_NONE || (v->t == V_STR && v->len == 0) || (v->t == V_BOOL && v->i == 0))
        return 0;
    if (v->t != V_STR)
        return bad_type(lc, o, line, "a string or None", v);
    char *s = malloc(v->len + 1);
    if (s == NULL)
        return fail(lc, line, o->name, "out of memory");
    memcpy(s, v->s, v->len + 1);
    free_secret(&cfg->secret_key, cfg->secret_key_len);
    cfg->secret_key = s;
    cfg->secret_key_len = v->len;
    return 0;
}

static int h_pem(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s;
    if (get_str(lc, o, v, line, F_NULLABLE | F_EMPTY_NULL, &s) != 0)
        return -1;
    char **slot = AT(cfg, o, char *);
    if (*slot != NULL)
        free_secret(slot, strlen(*slot));
    *slot = s;
    return 0;
}

static int h_decode_aud_iss(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    jwtx_strlist *l = AT(cfg, o, jwtx_strlist);
    bool *set =
        o->off == OFF(decode_audience) ? &cfg->decode_audience_set : &cfg->decode_issuer_set;
    strlist_clear(l);
    *set = false;
    if (v->t == V_NONE)
        return 0;
    if (v->t == V_STR) {
        if (has_nul(v))
            return fail(lc, line, o->name, "must not contain NUL characters");
        if (strlist_push(l, v->s, v->len) != 0)
            return fail(lc, line, o->name, "out of memory");
    } else if (get_strlist(lc, o, v, line, "None, a string or a list of strings", l) != 0) {
        return -1;
    }
    *set = true;
    return 0;
}

static int h_encode_audience(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    json_decref(cfg->encode_audience);
    cfg->encode_audience = NULL;
    if (v->t == V_NONE)
        return 0;
    if (v->t != V_STR && !is_seq(v))
        return bad_type(lc, o, line, "None, a string or a list of strings", v);
    if (!pval_truthy(v))
        return 0; /* written only when truthy */
    json_t *j;
    if (v->t == V_STR) {
        j = json_stringn(v->s, v->len);
    } else {
        j = json_array();
        for (size_t k = 0; j != NULL && k < v->n; k++) {
            const pval *it = &v->items[k];
            if (it->t != V_STR) {
                json_decref(j);
                return fail(lc, line, o->name,
                            "expected None, a string or a list of strings, but item %zu is %s",
                            k + 1, pval_type(it));
            }
            if (json_array_append_new(j, json_stringn(it->s, it->len)) != 0) {
                json_decref(j);
                j = NULL;
            }
        }
    }
    if (j == NULL)
        return fail(lc, line, o->name, "out of memory");
    cfg->encode_audience = j;
    return 0;
}

static const char *const location_names[] = {NULL, "headers", "cookies", "query_string", "json"};

const char *jwtx_location_name(jwtx_location loc)
{
    if ((int)loc <= 0 || (size_t)loc >= sizeof location_names / sizeof location_names[0])
        return NULL;
    return location_names[loc];
}

jwtx_location jwtx_location_parse(const char *s, size_t len)
{
    if (s == NULL)
        return JWTX_LOC_NONE;
    for (int k = JWTX_LOC_HEADERS; k <= JWTX_LOC_JSON; k++)
        if (strlen(location_names[k]) == len && memcmp(location_names[k], s, len) == 0)
            return (jwtx_location)k;
    return JWTX_LOC_NONE;
}

static int h_token_location(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    static const char *const only =
        "JWT_TOKEN_LOCATION can only contain \"headers\", \"cookies\", \"query_string\", or "
        "\"json\"";
    const pval *items = v;
    size_t n = 1;
    if (is_seq(v)) {
        items = v->items;
        n = v->n;
    } else if (v->t != V_STR) {
        return fail(lc, line, o->name, "JWT_TOKEN_LOCATION must be a sequence or a set");
    }
    if (n == 0)
        return fail(lc, line, o->name,
                    "JWT_TOKEN_LOCATION must contain at least one of \"headers\", \"cookies\", "
                    "\"query_string\", or \"json\"");
    if (n > JWTX_MAX_LOCATIONS)
        return fail(lc, line, o->name, "at most %d locations", JWTX_MAX_LOCATIONS);
    jwtx_location locs[JWTX_MAX_LOCATIONS];
    for (size_t k = 0; k < n; k++) {
        if (items[k].t != V_STR)
            return fail(lc, line, o->name, "%s", only);
        locs[k] = jwtx_location_parse(items[k].s, items[k].len);
        if (locs[k] == JWTX_LOC_NONE)
            return fail(lc, line, o->name, "%s", only);
    }
    memcpy(cfg->token_location, locs, n * sizeof locs[0]);
    cfg->n_token_location = n;
    return 0;
}

static int h_header_name(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    if (v->t == V_NONE || (v->t == V_STR && v->len == 0))
        return fail(lc, line, o->name, "JWT_ACCESS_HEADER_NAME cannot be empty");
    char *s;
    if (get_str(lc, o, v, line, F_NONEMPTY | F_TOKEN, &s) != 0)
        return -1;
    free(cfg->header_name);
    cfg->header_name = s;
    return 0;
}

static int h_header_type(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s = NULL;
    if (v->t == V_NONE) {
        s = jwtxp_memdup("", 0);
    } else if (v->t != V_STR) {
        return bad_type(lc, o, line, "a string or None", v);
    } else {
        if (get_str(lc, o, v, line, 0, &s) != 0)
            return -1;
        for (const char *c = s; *c; c++)
            if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || *c == ',') {
                free(s);
                return fail(lc, line, o->name,
                            "must be one word without spaces, commas or control characters");
            }
    }
    if (s == NULL)
        return fail(lc, line, o->name, "out of memory");
    free(cfg->header_type);
    cfg->header_type = s;
    return 0;
}

static int h_samesite(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    if (v->t == V_NONE) {
        cfg->cookie_samesite = JWTX_SAMESITE_UNSET;
        return 0;
    }
    if (v->t == V_STR && !has_nul(v)) {
        if (strcasecmp(v->s, "strict") == 0)
            cfg->cookie_samesite = JWTX_SAMESITE_STRICT;
        else if (strcasecmp(v->s, "lax") == 0)
            cfg->cookie_samesite = JWTX_SAMESITE_LAX;
        else if (strcasecmp(v->s, "none") == 0)
            cfg->cookie_samesite = JWTX_SAMESITE_NONE;
        else
            return fail(lc, line, o->name, "SameSite must be 'Strict', 'Lax', or 'None'.");
        return 0;
    }
    if (v->t == V_STR)
        return fail(lc, line, o->name, "SameSite must be 'Strict', 'Lax', or 'None'.");
    return bad_type(lc, o, line, "None or a string", v);
}

static int h_csrf_methods(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    jwtx_strlist l = {0, NULL};
    if (get_strlist(lc, o, v, line, "a list of strings", &l) != 0) {
        strlist_clear(&l);
        return -1;
    }
    for (size_t k = 0; k < l.n; k++)
        for (const char *c = l.v[k]; *c; c++)
            if (*c >= 'a' && *c <= 'z') {
                warn(lc, line,
                     "%s: \"%s\" never matches: request methods are compared in upper case",
                     o->name, l.v[k]);
                break;
            }
    strlist_clear(&cfg->csrf_methods);
    cfg->csrf_methods = l;
    return 0;
}

static int h_blocklist(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s = NULL;
    if (v->t == V_NONE || (v->t == V_STR && v->len == 0)) {
        s = jwtxp_memdup("", 0);
    } else if (v->t != V_STR) {
        return bad_type(lc, o, line, "a string or None", v);
    } else if (has_nul(v)) {
        return fail(lc, line, o->name, "must not contain NUL characters");
    } else if (strncmp(v->s, "sqlite:", 7) == 0) {
        const char *p = v->s + 7;
        if (*p == '\0')
            return fail(lc, line, o->name, "\"sqlite:\" needs a file path");
        if (strcmp(p, ":memory:") == 0) {
            s = jwtxp_memdup(v->s, v->len);
        } else {
            char *r = resolve_path(lc, p);
            if (r != NULL) {
                size_t rl = strlen(r);
                s = malloc(7 + rl + 1);
                if (s != NULL) {
                    memcpy(s, "sqlite:", 7);
                    memcpy(s + 7, r, rl + 1);
                }
                free(r);
            }
        }
    } else if (strncmp(v->s, "redis://", 8) == 0 || strncmp(v->s, "unix:", 5) == 0) {
        if (v->s[v->s[0] == 'u' ? 5 : 8] == '\0')
            return fail(lc, line, o->name, "the store URL has no address");
        s = jwtxp_memdup(v->s, v->len);
    } else {
        return fail(lc, line, o->name,
                    "must be \"sqlite:PATH\", \"redis://HOST:PORT/DB\" or \"\" (no store)");
    }
    if (s == NULL)
        return fail(lc, line, o->name, "out of memory");
    free(cfg->blocklist);
    cfg->blocklist = s;
    return 0;
}

static int h_decode_keys(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    jwtx_strlist l = {0, NULL};
    if (v->t == V_NONE) {
        strlist_clear(&cfg->decode_keys);
        return 0;
    }
    if (!is_seq(v))
        return bad_type(lc, o, line, "a list of \"kid=path\" strings", v);
    for (size_t k = 0; k < v->n; k++) {
        const pval *it = &v->items[k];
        if (it->t != V_STR || has_nul(it)) {
            strlist_clear(&l);
            return fail(lc, line, o->name,
                        "expected a list of \"kid=path\" strings, but item "
                        "%zu is %s",
                        k + 1, pval_type(it));
        }
        const char *eq = strchr(it->s, '=');
        if (eq == NULL || eq == it->s || eq[1] == '\0') {
            strlist_clear(&l);
            return fail(lc, line, o->name, "item %zu must look like \"kid=path\"", k + 1);
        }
        size_t kl = (size_t)(eq - it->s);
        for (size_t j = 0; j < l.n; j++)
            if (strncmp(l.v[j], it->s, kl) == 0 && l.v[j][kl] == '=') {
                strlist_clear(&l);
                return fail(lc, line, o->name, "key id \"%.*s\" appears twice", (int)kl, it->s);
            }
        char *path = resolve_path(lc, eq + 1);
        char *entry = path ? malloc(kl + 1 + strlen(path) + 1) : NULL;
        if (entry != NULL) {
            memcpy(entry, it->s, kl + 1);
            memcpy(entry + kl + 1, path, strlen(path) + 1);
        }
        free(path);
        if (entry == NULL || strlist_push(&l, entry, strlen(entry)) != 0) {
            free(entry);
            strlist_clear(&l);
            return fail(lc, line, o->name, "out of memory");
        }
        free(entry);
    }
    strlist_clear(&cfg->decode_keys);
    cfg->decode_keys = l;
    return 0;
}

static int h_key_id(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s;
    if (v->t == V_STR && v->len == 0)
        return fail(lc, line, o->name, "cannot be empty (None uses the key's RFC 7638 thumbprint)");
    if (get_str(lc, o, v, line, F_NULLABLE, &s) != 0)
        return -1;
    free(cfg->key_id);
    cfg->key_id = s;
    return 0;
}

static int h_login_redirect(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s;
    if (get_str(lc, o, v, line, F_NULLABLE | F_EMPTY_NULL, &s) != 0)
        return -1;
    if (s != NULL) {
        bool ok = s[0] == '/' && s[1] != '/' && s[1] != '\\';
        for (const unsigned char *c = (const unsigned char *)s; ok && *c; c++)
            ok = *c > ' ' && *c < 0x7f && *c != '\\';
        if (!ok) {
            free(s);
            return fail(lc, line, o->name,
                        "must be a local path starting with a single '/' (no spaces, no "
                        "backslashes)");
        }
    }
    free(cfg->login_redirect);
    cfg->login_redirect = s;
    return 0;
}

/* "server", "syslog", "" (or None: off) or a file path (relative to the
 * conf's directory; write "./server" for a file called server). */
static int h_audit_log(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    char *s = NULL;
    if (v->t == V_NONE || (v->t == V_STR && v->len == 0)) {
        s = jwtxp_memdup("", 0);
    } else if (v->t != V_STR) {
        return bad_type(lc, o, line, "\"server\", \"syslog\", a file path or \"\" (off)", v);
    } else if (has_nul(v)) {
        return fail(lc, line, o->name, "must not contain NUL characters");
    } else if (strcmp(v->s, "server") == 0 || strcmp(v->s, "syslog") == 0) {
        s = jwtxp_memdup(v->s, v->len);
    } else {
        for (const unsigned char *c = (const unsigned char *)v->s; *c; c++)
            if (*c < 0x20 || *c == 0x7f)
                return fail(lc, line, o->name,
                            "must be \"server\", \"syslog\", a file path or \"\" (off); "
                            "a path without control characters");
        s = resolve_path(lc, v->s);
    }
    if (s == NULL)
        return fail(lc, line, o->name, "out of memory");
    free(cfg->audit_log);
    cfg->audit_log = s;
    return 0;
}

/* A list of addresses and CIDR blocks (client.h), each checked here. */
static int h_trusted_proxies(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    static const char *const expected = "a list of IP addresses and CIDR blocks";
    if (v->t == V_NONE) {
        free(cfg->trusted_proxies);
        cfg->trusted_proxies = NULL;
        cfg->n_trusted_proxies = 0;
        return 0;
    }
    if (!is_seq(v))
        return bad_type(lc, o, line, expected, v);
    jwtx_netblock *t = calloc(v->n ? v->n : 1, sizeof *t);
    if (t == NULL)
        return fail(lc, line, o->name, "out of memory");
    for (size_t k = 0; k < v->n; k++) {
        const pval *it = &v->items[k];
        char why[256];
        if (it->t != V_STR) {
            free(t);
            return fail(lc, line, o->name, "expected %s, but item %zu is %s", expected, k + 1,
                        pval_type(it));
        }
        if (has_nul(it) || jwtx_client_netblock_parse(it->s, &t[k], why, sizeof why) != 0) {
            free(t);
            return fail(lc, line, o->name, "item %zu: %s", k + 1,
                        has_nul(it) ? "must not contain NUL characters" : why);
        }
    }
    free(cfg->trusted_proxies);
    cfg->trusted_proxies = t;
    cfg->n_trusted_proxies = v->n;
    return 0;
}

/* SECRET_KEY and the JWTX_*_KEY_FILE options: kept for resolve(). */
static int h_aux(loadctx *lc, jwtx_config *cfg, const opt *o, const pval *v, int line)
{
    (void)lc, (void)cfg, (void)o, (void)v, (void)line;
    return 0; /* checked in resolve(), which needs them together */
}

/* ------------------------------------------------------------------------ */
/* Resolution: what depends on several options                               */

/* One check for every place a secret is read from: a key or secret file,
 * or the conf file itself when it holds a secret inline. Group read is left
 * alone: it is how a web server's group is usually given the file. */
static void warn_world_readable(loadctx *lc, int line, const char *option, const char *path,
                                const struct stat *st, const char *hint)
{
    if (st != NULL && (st->st_mode & 0004))
        warn(lc, line, "%s: %s is readable by every user of this machine%s", option, path, hint);
}

/* Reads a key file (capped), returning its contents or NULL with an error. */
static char *read_key_file(loadctx *lc, const char *option, int line, const char *path, size_t *len,
                           bool secret)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail(lc, line, option, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && secret)
        warn_world_readable(lc, line, option, path, &st, "");
    char *buf = malloc(KEY_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, KEY_FILE_MAX + 1, f) : 0;
    bool err = buf == NULL || ferror(f);
    fclose(f);
    if (err || n > KEY_FILE_MAX) {
        if (buf)
            OPENSSL_cleanse(buf, n);
        free(buf);
        fail(lc, line, option, err ? "cannot read %s" : "%s is larger than 1 MiB", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* JWTX_*_FILE given as a string path; returns 0 with *path NULL when None/"" */
static int aux_path(loadctx *lc, const assigned *as, size_t idx, char **path, int *line)
{
    *path = NULL;
    *line = as->line[idx];
    if (as->val[idx] == NULL)
        return 0;
    return get_str(lc, &options[idx], as->val[idx], as->line[idx],
                   F_NULLABLE | F_EMPTY_NULL | F_PATH, path);
}

/* Resolves the HMAC secret; *src and *src_line name where it came from
 * (NULL when there is none). */
static int resolve_secret(loadctx *lc, jwtx_config *cfg, const assigned *as, int jwt_line,
                          const char **src, int *src_line)
{
    *src = NULL;
    *src_line = 0;
    const pval *flask = as->val[O_SECRET_KEY_FLASK];
    int flask_line = as->line[O_SECRET_KEY_FLASK];
    if (flask != NULL && flask->t != V_NONE && flask->t != V_STR)
        return bad_type(lc, &options[O_SECRET_KEY_FLASK], flask_line, "a string or None", flask);
    bool flask_set = flask != NULL && flask->t == V_STR && flask->len > 0;

    char *path;
    int pline;
    if (aux_path(lc, as, O_SECRET_KEY_FILE, &path, &pline) != 0)
        return -1;
    if (path != NULL && (cfg->secret_key != NULL || flask_set)) {
        free(path);
        return fail(lc, pline, options[O_SECRET_KEY_FILE].name,
                    "%s is also set (line %d); keep only one of them",
                    cfg->secret_key != NULL ? "JWT_SECRET_KEY" : "SECRET_KEY",
                    cfg->secret_key != NULL ? jwt_line : flask_line);
    }
    if (cfg->secret_key != NULL) {
        *src = "JWT_SECRET_KEY";
        *src_line = jwt_line;
        return 0;
    }
    if (flask_set) {
        /* Flask-JWT-Extended falls back to Flask's SECRET_KEY. */
        cfg->secret_key = malloc(flask->len + 1);
        if (cfg->secret_key == NULL)
            return fail(lc, flask_line, "SECRET_KEY", "out of memory");
        memcpy(cfg->secret_key, flask->s, flask->len + 1);
        cfg->secret_key_len = flask->len;
        *src = "SECRET_KEY";
        *src_line = flask_line;
        return 0;
    }
    if (path == NULL)
        return 0;
    size_t len;
    char *s = read_key_file(lc, options[O_SECRET_KEY_FILE].name, pline, path, &len, true);
    if (s == NULL) {
        free(path);
        return -1;
    }
    /* one trailing newline (as `echo` or an editor leaves) is not part of it */
    if (len > 0 && s[len - 1] == '\n') {
        s[--len] = '\0';
        if (len > 0 && s[len - 1] == '\r')
            s[--len] = '\0';
    }
    if (len == 0) {
        free(s);
        int r = fail(lc, pline, options[O_SECRET_KEY_FILE].name, "%s is empty", path);
        free(path);
        return r;
    }
    free(path);
    cfg->secret_key = s;
    cfg->secret_key_len = len;
    *src = options[O_SECRET_KEY_FILE].name;
    *src_line = pline;
    return 0;
}

/* RFC 7518 section 3.2: an HMAC key must be at least as long as the hash.
 * PyJWT warns too (InsecureKeyLengthWarning); jwtx warns, since a short
 * secret works, but anyone who guesses it can make tokens. The longest
 * digest among the HS algorithms this conf signs or accepts counts. */
static void check_hmac_secret(loadctx *lc, const jwtx_config *cfg, const char *src, int line)
{
    static const struct {
        const char *alg;
        size_t bytes;
    } hs[] = {{"HS256", 32}, {"HS384", 48}, {"HS512", 64}};
    const char *alg = NULL;
    size_t need = 0;
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (strcmp(cfg->algorithm, hs[i].alg) == 0 ||
            strlist_has(&cfg->decode_algorithms, hs[i].alg)) {
            alg = hs[i].alg;
            need = hs[i].bytes;
        }
    if (cfg->secret_key == NULL || alg == NULL || cfg->secret_key_len >= need)
        return;
    warn(lc, line,
         "%s: the HMAC secret is %zu bytes, shorter than the %zu-byte digest of %s (RFC 7518 "
         "section 3.2): it is easier to guess, and whoever guesses it can forge tokens; make a "
         "strong one with: jwtx keygen %s --out DIR",
         src, cfg->secret_key_len, need, alg, alg);
}

static int resolve_pem(loadctx *lc, char **slot, const assigned *as, size_t file_idx,
                       const char *inline_name, int inline_line, bool secret)
{
    char *path;
    int pline;
    if (aux_path(lc, as, file_idx, &path, &pline) != 0)
        return -1;
    if (path == NULL)
        return 0;
    if (*slot != NULL) {
        free(path);
        return fail(lc, pline, options[file_idx].name,
                    "%s is also set (line %d); keep only one of them", inline_name, inline_line);
    }
    size_t len;
    char *s = read_key_file(lc, options[file_idx].name, pline, path, &len, secret);
    free(path);
    if (s == NULL)
        return -1;
    if (strlen(s) != len) {
        OPENSSL_cleanse(s, len);
        free(s);
        return fail(lc, pline, options[file_idx].name, "is not a PEM text file");
    }
    *slot = s;
    return 0;
}

static size_t idx_of(const char *name)
{
    size_t idx = 0;
    find_option(name, &idx);
    return idx;
}

static int line_of(const assigned *as, const char *name)
{
    size_t idx;
    return find_option(name, &idx) ? as->line[idx] : 0;
}

static int resolve(loadctx *lc, jwtx_config *cfg, const assigned *as)
{
    /* decode allow-list: configured ∪ {JWT_ALGORITHM}, duplicates dropped */
    size_t di = 0;
    if (find_option("JWT_DECODE_ALGORITHMS", &di) == NULL)
        return fail(lc, 0, "JWT_DECODE_ALGORITHMS", "internal error: not in the table");
    const pval *da = as->val[di];
    jwtx_strlist l = {0, NULL};
    if (da != NULL && is_seq(da)) {
        for (size_t k = 0; k < da->n; k++)
            if (!strlist_has(&l, da->items[k].s) &&
                strlist_push(&l, da->items[k].s, da->items[k].len) != 0) {
                strlist_clear(&l);
                return fail(lc, as->line[di], options[di].name, "out of memory");
            }
    }
    if (!strlist_has(&l, cfg->algorithm) &&
        strlist_push(&l, cfg->algorithm, strlen(cfg->algorithm)) != 0) {
        strlist_clear(&l);
        return fail(lc, as->line[di], options[di].name, "out of memory");
    }
    strlist_clear(&cfg->decode_algorithms);
    cfg->decode_algorithms = l;

    const char *secret_src;
    int secret_line;
    if (resolve_secret(lc, cfg, as, line_of(as, "JWT_SECRET_KEY"), &secret_src, &secret_line) != 0)
        return -1;
    check_hmac_secret(lc, cfg, secret_src, secret_line);
    static const char inline_hint[] =
        " and holds a secret inline; make it readable by the gateway only (chmod o-r) or move "
        "the secret to a file";
    if (secret_src != NULL && strcmp(secret_src, options[O_SECRET_KEY_FILE].name) != 0)
        warn_world_readable(lc, secret_line, secret_src, lc->name, lc->st, inline_hint);
    bool private_inline = cfg->private_key != NULL; /* before a _FILE could set it */
    if (resolve_pem(lc, &cfg->private_key, as, O_PRIVATE_KEY_FILE, "JWT_PRIVATE_KEY",
                    line_of(as, "JWT_PRIVATE_KEY"), true) != 0)
        return -1;
    if (private_inline)
        warn_world_readable(lc, line_of(as, "JWT_PRIVATE_KEY"), "JWT_PRIVATE_KEY", lc->name, lc->st,
                            inline_hint);
    if (cfg->blocklist != NULL &&
        (strncmp(cfg->blocklist, "redis://", 8) == 0 || strncmp(cfg->blocklist, "unix:", 5) == 0)) {
        /* A Redis password in the URL is a secret inline too (there is no
         * _FILE form of it). One that does not parse may hold one. */
        char *m = jwtxp_blocklist_url_masked(cfg->blocklist);
        if (m == NULL || strstr(m, "********") != NULL)
            warn_world_readable(lc, line_of(as, "JWTX_BLOCKLIST"), "JWTX_BLOCKLIST", lc->name,
                                lc->st,
                                " and holds the revocation store's password; make it readable "
                                "by the gateway only (chmod o-r)");
        free(m);
    }
    if (resolve_pem(lc, &cfg->public_key, as, O_PUBLIC_KEY_FILE, "JWT_PUBLIC_KEY",
                    line_of(as, "JWT_PUBLIC_KEY"), false) != 0)
        return -1;

    if (cfg->user_lookup && cfg->users_file == NULL)
        return fail(lc, line_of(as, "JWTX_USER_LOOKUP"), "JWTX_USER_LOOKUP",
                    "needs JWTX_USERS_FILE (the users a token's identity is looked up in)");
    if (cfg->refresh_rotation && (cfg->blocklist == NULL || cfg->blocklist[0] == '\0'))
        return fail(lc, line_of(as, "JWTX_REFRESH_ROTATION"), "JWTX_REFRESH_ROTATION",
                    "needs JWTX_BLOCKLIST (the store keeps the session families)");
    if (cfg->refresh_sliding && !cfg->refresh_rotation)
        warn(lc, line_of(as, "JWTX_REFRESH_SLIDING"),
             "JWTX_REFRESH_SLIDING has no effect without JWTX_REFRESH_ROTATION = True");
    if (cfg->implicit_refresh > 0 && !cfg->access_expires.never &&
        cfg->implicit_refresh >= cfg->access_expires.seconds)
        warn(lc, line_of(as, "JWTX_IMPLICIT_REFRESH"),
             "JWTX_IMPLICIT_REFRESH (%lld) is not below JWT_ACCESS_TOKEN_EXPIRES (%lld): every "
             "request will refresh the access cookie",
             cfg->implicit_refresh, cfg->access_expires.seconds);
    if (cfg->cookie_samesite == JWTX_SAMESITE_NONE && !cfg->cookie_secure)
        warn(lc, line_of(as, "JWT_COOKIE_SAMESITE"),
             "JWT_COOKIE_SAMESITE = \"None\" without JWT_COOKIE_SECURE = True: browsers drop "
             "such cookies");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static int cmp_line(const void *a, const void *b, void *ctx)
{
    const assigned *as = ctx;
    int la = as->line[*(const size_t *)a], lb = as->line[*(const size_t *)b];
    return (la > lb) - (la < lb);
}

static char *base_dir_of(const char *name)
{
    const char *slash = name ? strrchr(name, '/') : NULL;
    char *dir = slash ? jwtxp_memdup(name, slash == name ? 1 : (size_t)(slash - name))
                      : jwtxp_memdup(".", 1);
    if (dir == NULL)
        return NULL;
    char *abs = realpath(dir, NULL);
    if (abs != NULL) {
        free(dir);
        return abs;
    }
    if (dir[0] == '/')
        return dir;
    /* the directory does not exist (a conf in memory): relative to the cwd */
    char *cwd = getcwd(NULL, 0);
    if (cwd == NULL)
        return dir;
    size_t cl = strlen(cwd), dl = strlen(dir);
    char *r = malloc(cl + 1 + dl + 1);
    if (r != NULL) {
        memcpy(r, cwd, cl);
        r[cl] = '/';
        memcpy(r + cl + 1, dir, dl + 1);
    }
    free(cwd);
    free(dir);
    return r;
}

static int load_text(const char *name, const char *text, size_t len, jwtx_config *cfg,
                     jwtx_config_error *err, warn_fn warnf, void *ctx, const struct stat *st)
{
    jwtx_config_error local;
    loadctx lc = {name ? name : "", NULL, err ? err : &local, false, warnf, ctx, st};
    memset(lc.err, 0, sizeof *lc.err);
    jwtx_config tmp;
    assigned *as = calloc(1, sizeof *as);
    if (as == NULL || jwtx_config_init(&tmp) != 0) {
        free(as);
        fail(&lc, 0, "", "out of memory");
        if (cfg)
            memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    int rc = -1;
    lc.basedir = base_dir_of(name);
    free(tmp.path);
    tmp.path = jwtxp_memdup(lc.name, strlen(lc.name));
    if (lc.basedir == NULL || tmp.path == NULL) {
        fail(&lc, 0, "", "out of memory");
        goto out;
    }
    if (text == NULL) {
        fail(&lc, 0, "", "no text");
        goto out;
    }
    if (parse_text(&lc, text, len, as) != 0)
        goto out;

    /* check the assigned options in line order, so the first error is the
     * earliest one in the file */
    size_t order[N_OPTIONS], n = 0;
    for (size_t k = 0; k < N_OPTIONS; k++)
        if (as->val[k] != NULL)
            order[n++] = k;
    qsort_r(order, n, sizeof order[0], cmp_line, as);
    for (size_t k = 0; k < n; k++) {
        const opt *o = &options[order[k]];
        handler_fn h = o->kind == K_SPECIAL ? o->handler : h_generic;
        if (h(&lc, &tmp, o, as->val[order[k]], as->line[order[k]]) != 0)
            goto out;
    }
    if (resolve(&lc, &tmp, as) != 0)
        goto out;

    if (jwtxp_keys_setup(&tmp, lc.err) != 0) {
        lc.failed = true;
        /* keys.c knows the option, the conf knows where it was set */
        if (lc.err->file[0] == '\0')
            snprintf(lc.err->file, sizeof lc.err->file, "%s", lc.name);
        if (lc.err->line == 0 && lc.err->option[0] != '\0') {
            /* a key that came from a file option is reported at that option */
            static const char *const alias[][3] = {
                {"JWT_SECRET_KEY", "SECRET_KEY", "JWTX_SECRET_KEY_FILE"},
                {"JWT_PRIVATE_KEY", "JWTX_PRIVATE_KEY_FILE", NULL},
                {"JWT_PUBLIC_KEY", "JWTX_PUBLIC_KEY_FILE", NULL},
            };
            const char *where = lc.err->option;
            for (size_t a = 0; a < sizeof alias / sizeof alias[0]; a++) {
                if (strcmp(alias[a][0], lc.err->option) != 0 || line_of(as, where) != 0)
                    continue;
                for (size_t b = 1; b < 3 && alias[a][b] != NULL; b++)
                    if (line_of(as, alias[a][b]) != 0 &&
                        pval_truthy(as->val[idx_of(alias[a][b])])) {
                        where = alias[a][b];
                        break;
                    }
            }
            lc.err->line = line_of(as, where);
            if (where != lc.err->option)
                snprintf(lc.err->option, sizeof lc.err->option, "%s", where);
        }
        goto out;
    }
    rc = 0;
out:
    assigned_clear(as);
    free(as);
    free(lc.basedir);
    if (rc == 0) {
        *cfg = tmp;
    } else {
        jwtx_config_clear(&tmp);
        if (cfg)
            memset(cfg, 0, sizeof *cfg);
    }
    return rc;
}

int jwtx_config_load_string(const char *name, const char *text, size_t len, jwtx_config *cfg,
                            jwtx_config_error *err, warn_fn warnf, void *ctx)
{
    if (cfg == NULL)
        return -1;
    return load_text(name, text, len, cfg, err, warnf, ctx, NULL);
}

int jwtx_config_load(const char *path, jwtx_config *cfg, jwtx_config_error *err, warn_fn warnf,
                     void *ctx)
{
    jwtx_config_error local;
    jwtx_config_error *e = err ? err : &local;
    if (cfg == NULL)
        return -1;
    memset(e, 0, sizeof *e);
    snprintf(e->file, sizeof e->file, "%s", path ? path : "");
    if (path == NULL) {
        snprintf(e->message, sizeof e->message, "no conf file given");
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(e->message, sizeof e->message, "cannot open: %s", strerror(errno));
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    struct stat st;
    bool have_st = fstat(fileno(f), &st) == 0;
    char *buf = malloc(CONF_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, CONF_MAX_FILE + 1, f) : 0;
    bool bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad || n > CONF_MAX_FILE) {
        snprintf(e->message, sizeof e->message,
                 bad ? "cannot read the file" : "file is larger than %d bytes", CONF_MAX_FILE);
        if (buf)
            OPENSSL_cleanse(buf, n);
        free(buf);
        memset(cfg, 0, sizeof *cfg);
        return -1;
    }
    int rc = load_text(path, buf, n, cfg, e, warnf, ctx, have_st ? &st : NULL);
    OPENSSL_cleanse(buf, n); /* it holds the secret */
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Queries and JSON                                                          */

bool jwtx_config_alg_allowed(const jwtx_config *cfg, const char *alg, size_t len)
{
    if (cfg == NULL || alg == NULL)
        return false;
    for (size_t k = 0; k < cfg->decode_algorithms.n; k++) {
        const char *a = cfg->decode_algorithms.v[k];
        if (strlen(a) == len && memcmp(a, alg, len) == 0)
            return true;
    }
    return false;
}

static json_t *strlist_json(const jwtx_strlist *l)
{
    json_t *a = json_array();
    for (size_t k = 0; a != NULL && k < l->n; k++)
        if (json_array_append_new(a, json_string(l->v[k])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *j_algorithm_list(const jwtx_config *cfg, const opt *o)
{
    return strlist_json(CAT(cfg, o, jwtx_strlist));
}

static json_t *j_masked(const jwtx_config *cfg, const opt *o)
{
    return *CAT(cfg, o, char *) != NULL ? json_string("********") : json_null();
}

static json_t *j_public_key(const jwtx_config *cfg, const opt *o)
{
    const char *s = *CAT(cfg, o, char *);
    return s != NULL ? json_string(s) : json_null();
}

static json_t *j_decode_aud_iss(const jwtx_config *cfg, const opt *o)
{
    bool set = o->off == OFF(decode_audience) ? cfg->decode_audience_set : cfg->decode_issuer_set;
    return set ? strlist_json(CAT(cfg, o, jwtx_strlist)) : json_null();
}

static json_t *j_encode_audience(const jwtx_config *cfg, const opt *o)
{
    (void)o;
    return cfg->encode_audience ? json_deep_copy(cfg->encode_audience) : json_null();
}

static json_t *j_token_location(const jwtx_config *cfg, const opt *o)
{
    (void)o;
    json_t *a = json_array();
    for (size_t k = 0; a != NULL && k < cfg->n_token_location; k++) {
        const char *name = jwtx_location_name(cfg->token_location[k]);
        if (json_array_append_new(a, name ? json_string(name) : json_null()) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *j_samesite(const jwtx_config *cfg, const opt *o)
{
    (void)o;
    switch (cfg->cookie_samesite) {
    case JWTX_SAMESITE_STRICT:
        return json_string("Strict");
    case JWTX_SAMESITE_LAX:
        return json_string("Lax");
    case JWTX_SAMESITE_NONE:
        return json_string("None");
    case JWTX_SAMESITE_UNSET:
        break;
    }
    return json_null();
}

/* A Redis URL may carry a password in several places (userinfo, a
 * password= query, percent-escaped, with '@' or '/' in it): it is shown as
 * the store's own parser reads it, password masked; one that does not parse
 * is masked whole. */
static json_t *j_blocklist(const jwtx_config *cfg, const opt *o)
{
    (void)o;
    char *m = jwtxp_blocklist_url_masked(cfg->blocklist ? cfg->blocklist : "");
    json_t *j = json_string(m != NULL ? m : "********");
    free(m);
    return j;
}

static json_t *j_trusted_proxies(const jwtx_config *cfg, const opt *o)
{
    (void)o;
    json_t *a = json_array();
    for (size_t k = 0; a != NULL && k < cfg->n_trusted_proxies; k++) {
        char t[80];
        jwtx_client_netblock_format(&cfg->trusted_proxies[k], t, sizeof t);
        if (json_array_append_new(a, json_string(t)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *jwtx_config_to_json(const jwtx_config *cfg)
{
    if (cfg == NULL)
        return NULL;
    json_t *obj = json_object();
    for (size_t k = O_FIRST_REAL; obj != NULL && k < N_OPTIONS; k++) {
        const opt *o = &options[k];
        json_t *v = NULL;
        if (o->tojson != NULL) {
            v = o->tojson(cfg, o);
        } else {
            switch (o->kind) {
            case K_DURATION: {
                const jwtx_duration *d = CAT(cfg, o, jwtx_duration);
                v = d->never ? json_false() : json_integer(d->seconds);
                break;
            }
            case K_BOOL:
                v = json_boolean(*CAT(cfg, o, bool));
                break;
            case K_INT:
                v = json_integer(*CAT(cfg, o, long long));
                break;
            case K_STR:
            case K_SPECIAL: /* the special handlers that store a plain string */
                if (o->kind == K_SPECIAL && o->off == OFF(decode_keys)) {
                    v = strlist_json(&cfg->decode_keys);
                } else if (o->kind == K_SPECIAL && o->off == OFF(csrf_methods)) {
                    v = strlist_json(&cfg->csrf_methods);
                } else {
                    const char *s = *CAT(cfg, o, char *);
                    v = s ? json_string(s) : json_null();
                }
                break;
            case K_STRLIST:
                v = strlist_json(CAT(cfg, o, jwtx_strlist));
                break;
            }
        }
        if (v == NULL || json_object_set_new(obj, o->name, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}
