/*
 * blocklist.c — the revocation store front end: parses JWTX_BLOCKLIST,
 * picks a back end (blocklist_sqlite.c or blocklist_redis.c) and validates
 * every argument before a back end sees it. Rules common to both stores live
 * here: the leeway added to a token's exp, "an expired token needs no entry",
 * key length caps, and failing closed (no handle answers CLEAR on error).
 *
 * It also keeps the store's state as this process sees it: available or
 * unavailable, with the cause. A change of state is logged once (the cause
 * as the back end words it, never a password), not every request. After a
 * failure the circuit opens for retry_ms: calls fail at once without asking
 * the store, so a hung store (Redis stopped, a SQLite file locked) costs one
 * timeout per period and process instead of one per request. The first call
 * after the period asks the store again; its success closes the circuit.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "jwtx/blocklist.h"
#include "jwtx/json.h"
#include "blocklist_internal.h"

enum { STATE_UNKNOWN, STATE_UP, STATE_DOWN };

struct jwtx_blocklist {
    const jwtxp_bl_ops *ops;
    void *be;
    long long leeway;
    long long retry_ms; /* open-circuit period, 0 = off */
    long long retry_at; /* CLOCK_MONOTONIC ms when the store may be asked again */
    int state;          /* STATE_* */
    jwtx_blocklist_log_fn log;
    void *log_ctx;
    bool old_schema;   /* a login operation met a schema without login tables (told once) */
    bool old_families; /* a family operation met a schema without family tables (told once) */
    char err[600];     /* front-end failures (bad arguments, open circuit) */
};

#define DEFAULT_PREFIX "jwtx:"
#define DEFAULT_TIMEOUT_MS 250
#define PREFIX_MAX 256
#define REDIS_DB_MAX 1000000LL

static int cfg_error(jwtx_error *err, const char *what)
{
    return jwtx_error_set(err, JWTX_ERR_CONFIG, "JWTX_BLOCKLIST: %s", what);
}

/* Decodes %XX escapes of s[0..len) into a new string; NULL on a bad escape,
 * an encoded NUL or allocation failure. */
static char *pct_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (len - i < 3 || !isxdigit((unsigned char)s[i + 1]) ||
            !isxdigit((unsigned char)s[i + 2])) {
            OPENSSL_cleanse(out, len + 1);
            free(out);
            return NULL;
        }
        char hex[3] = {s[i + 1], s[i + 2], 0};
        int v = (int)strtol(hex, NULL, 16);
        if (v == 0) {
            OPENSSL_cleanse(out, len + 1);
            free(out);
            return NULL;
        }
        out[o++] = (char)v;
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* Parses decimal digits s[0..len) into [lo, hi]; -1 when empty/bad. */
static int parse_num(const char *s, size_t len, long long lo, long long hi, long long *out)
{
    if (len == 0 || len > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

void jwtxp_redis_target_clear(jwtxp_redis_target *t)
{
    if (t == NULL)
        return;
    free(t->host);
    free(t->socket);
    free(t->user);
    if (t->password != NULL) {
        OPENSSL_cleanse(t->password, strlen(t->password));
        free(t->password);
    }
    memset(t, 0, sizeof *t);
}

/* "[USER]:PASSWORD" into t->user / t->password. */
static int parse_userinfo(const char *s, size_t len, jwtxp_redis_target *t, jwtx_error *err)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL)
        return cfg_error(err, "credentials must be written [USER]:PASSWORD@");
    size_t ulen = (size_t)(colon - s);
    if (ulen > 0) {
        t->user = pct_decode(s, ulen);
        if (t->user == NULL)
            return cfg_error(err, "bad percent-escape in the user name");
    }
    t->password = pct_decode(colon + 1, len - ulen - 1);
    if (t->password == NULL)
        return cfg_error(err, "bad percent-escape in the password");
    return 0;
}

/* "db=N&password=P&user=U" (unix socket URLs). */
static int parse_query(const char *q, jwtxp_redis_target *t, jwtx_error *err)
{
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq == NULL)
            return cfg_error(err, "query parameters must be NAME=VALUE");
        size_t klen = (size_t)(eq - q), vlen = n - klen - 1;
        if (klen == 2 && memcmp(q, "db", 2) == 0) {
            if (parse_num(eq + 1, vlen, 0, REDIS_DB_MAX, &t->db) != 0)
                return cfg_error(err, "db must be a database number");
        } else if (klen == 8 && memcmp(q, "password", 8) == 0) {
            if (t->password != NULL) {
                OPENSSL_cleanse(t->password, strlen(t->password));
                free(t->password);
            }
            t->password = pct_decode(eq + 1, vlen);
            if (t->password == NULL)
                return cfg_error(err, "bad percent-escape in the password");
        } else if (klen == 4 && memcmp(q, "user", 4) == 0) {
            free(t->user);
            t->user = pct_decode(eq + 1, vlen);
            if (t->user == NULL)
                return cfg_error(err, "bad percent-escape in the user name");
        } else {
            return cfg_error(err, "unknown query parameter (db, password, user)");
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

/* The socket path s (up to '?') and its query. */
static int parse_unix(const char *s, jwtxp_redis_target *t, jwtx_error *err)
{
    size_t plen = strcspn(s, "?");
    if (plen == 0 || s[0] != '/')
        return cfg_error(err, "the unix socket path must be absolute");
    if (plen >= 108)
        return cfg_error(err, "the unix socket path is too long");
    t->socket = strndup(s, plen);
    if (t->socket == NULL)
        return cfg_error(err, "out of memory");
    if (s[plen] == '?')
        return parse_query(s + plen + 1, t, err);
    return 0;
}

/* After "redis://": [USERINFO@]HOST[:PORT][/DB]. */
static int parse_redis_tcp(const char *s, jwtxp_redis_target *t, jwtx_error *err)
{
    const char *at = strrchr(s, '@');
    if (at != NULL) {
        if (parse_userinfo(s, (size_t)(at - s), t, err) != 0)
            return -1;
        s = at + 1;
    }
    size_t hlen;
    const char *rest;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close == s + 1)
            return cfg_error(err, "bad IPv6 address");
        t->host = strndup(s + 1, (size_t)(close - s - 1));
        rest = close + 1;
    } else {
        hlen = strcspn(s, ":/");
        if (hlen == 0)
            return cfg_error(err, "missing host");
        t->host = strndup(s, hlen);
        rest = s + hlen;
    }
    if (t->host == NULL)
        return cfg_error(err, "out of memory");
    for (const char *h = t->host; *h; h++)
        if (!(isalnum((unsigned char)*h) || *h == '.' || *h == '-' || *h == ':' || *h == '_'))
            return cfg_error(err, "bad character in the host name");
    t->port = 6379;
    if (*rest == ':') {
        long long port;
        size_t plen = strcspn(rest + 1, "/");
        if (parse_num(rest + 1, plen, 1, 65535, &port) != 0)
            return cfg_error(err, "the port must be a number from 1 to 65535");
        t->port = (int)port;
        rest += 1 + plen;
    }
    if (*rest == '/') {
        rest++;
        size_t dlen = strlen(rest);
        if (dlen > 0 && parse_num(rest, dlen, 0, REDIS_DB_MAX, &t->db) != 0)
            return cfg_error(err, "the database must be a number, as in redis://HOST:PORT/0");
    } else if (*rest != '\0') {
        return cfg_error(err, "expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
    }
    return 0;
}

/* Any store URL but sqlite: into *t (zeroed first). On failure *t is
 * cleared again and err says why. The one reading of a Redis URL: the store
 * connects with it and jwtxp_blocklist_url_masked shows it. */
static int parse_redis_url(const char *url, jwtxp_redis_target *t, jwtx_error *err)
{
    memset(t, 0, sizeof *t);
    int rc;
    if (strncmp(url, "redis://", 8) == 0) {
        rc = parse_redis_tcp(url + 8, t, err);
    } else if (strncmp(url, "unix:", 5) == 0) {
        rc = parse_unix(url + 5, t, err);
    } else if (strncmp(url, "redis+unix://", 13) == 0) {
        const char *s = url + 13;
        rc = 0;
        if (s[0] != '/') {
            /* USERINFO@/path: the credentials end where the absolute path starts. */
            const char *at = strstr(s, "@/");
            if (at == NULL)
                rc = cfg_error(err, "expected redis+unix://[[USER]:PASSWORD@]/path");
            else
                rc = parse_userinfo(s, (size_t)(at - s), t, err);
            if (rc == 0)
                s = at + 1;
        }
        if (rc == 0)
            rc = parse_unix(s, t, err);
    } else {
        rc = cfg_error(err, "unknown store; use sqlite:PATH, redis://HOST:PORT/DB or "
                            "unix:/path/to/redis.sock");
    }
    if (rc != 0)
        jwtxp_redis_target_clear(t);
    return rc;
}

/* Appends s with every byte but RFC 3986's unreserved ones percent-encoded,
 * so a user name shows as ASCII that reads back to the same name. */
static void append_pct(jwtx_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            jwtx_buf_append(b, p, 1);
        else
            jwtx_buf_printf(b, "%%%02X", *p);
    }
}

char *jwtxp_blocklist_url_masked(const char *url)
{
    if (url == NULL)
        return NULL;
    if (url[0] == '\0' || strncmp(url, "sqlite:", 7) == 0)
        return strdup(url);
    jwtxp_redis_target t;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (strlen(url) > JWTX_BLOCKLIST_URL_MAX || parse_redis_url(url, &t, &err) != 0)
        return NULL;
    /* Rebuilt from what the store would use, never copied from the text:
     * whatever the parser took as the password cannot show. */
    jwtx_buf b;
    jwtx_buf_init(&b);
    if (t.socket != NULL) {
        jwtx_buf_puts(&b, "unix:");
        jwtx_buf_puts(&b, t.socket);
        jwtx_buf_printf(&b, "?db=%lld", t.db);
        if (t.user != NULL) {
            jwtx_buf_puts(&b, "&user=");
            append_pct(&b, t.user);
        }
        if (t.password != NULL)
            jwtx_buf_puts(&b, "&password=********");
    } else {
        jwtx_buf_puts(&b, "redis://");
        if (t.user != NULL || t.password != NULL) {
            if (t.user != NULL)
                append_pct(&b, t.user);
            jwtx_buf_puts(&b, t.password != NULL ? ":********@" : ":@");
        }
        jwtx_buf_printf(&b, strchr(t.host, ':') ? "[%s]:%d/%lld" : "%s:%d/%lld", t.host, t.port,
                        t.db);
    }
    jwtxp_redis_target_clear(&t);
    return jwtx_buf_take(&b, NULL);
}

int jwtx_blocklist_open_url(const char *url, const char *prefix, long long timeout_ms,
                            long long leeway, jwtx_blocklist **out, jwtx_error *err)
{
    if (out == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "jwtx_blocklist_open: out is NULL");
    if (url == NULL || url[0] == '\0') {
        *out = NULL;
        return 0;
    }
    if (strlen(url) > JWTX_BLOCKLIST_URL_MAX)
        return cfg_error(err, "the URL is too long");
    if (prefix == NULL)
        prefix = DEFAULT_PREFIX;
    if (strlen(prefix) > PREFIX_MAX)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "JWTX_BLOCKLIST_PREFIX: too long");
    if (timeout_ms <= 0)
        timeout_ms = DEFAULT_TIMEOUT_MS;
    if (timeout_ms > 600000)
        timeout_ms = 600000;
    if (leeway < 0)
        leeway = 0;

    jwtx_blocklist *bl = calloc(1, sizeof *bl);
    if (bl == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
    bl->leeway = leeway;
    bl->state = STATE_UNKNOWN;

    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (path[0] == '\0') {
            free(bl);
            return cfg_error(err, "sqlite: needs a file path, as in sqlite:/var/lib/jwtx/bl.db");
        }
        bl->ops = &jwtxp_bl_sqlite_ops;
        bl->be = jwtxp_bl_sqlite_new(path, timeout_ms);
    } else {
        jwtxp_redis_target t;
        if (parse_redis_url(url, &t, err) != 0) {
            free(bl);
            return -1;
        }
        bl->ops = &jwtxp_bl_redis_ops;
        bl->be = jwtxp_bl_redis_new(&t, prefix, timeout_ms);
        jwtxp_redis_target_clear(&t);
    }
    if (bl->be == NULL) {
        free(bl);
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "out of memory");
    }
    *out = bl;
    return 0;
}

int jwtx_blocklist_open(const jwtx_config *cfg, jwtx_blocklist **out, jwtx_error *err)
{
    if (cfg == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "jwtx_blocklist_open: cfg is NULL");
    int rc = jwtx_blocklist_open_url(cfg->blocklist, cfg->blocklist_prefix,
                                     cfg->blocklist_timeout_ms, cfg->decode_leeway, out, err);
    if (rc == 0)
        jwtx_blocklist_set_retry_ms(*out, cfg->blocklist_retry_ms);
    return rc;
}

void jwtx_blocklist_set_retry_ms(jwtx_blocklist *bl, long long ms)
{
    if (bl != NULL)
        bl->retry_ms = ms < 0 ? 0 : ms > 3600000 ? 3600000 : ms;
}

void jwtx_blocklist_set_log(jwtx_blocklist *bl, jwtx_blocklist_log_fn fn, void *ctx)
{
    if (bl == NULL)
        return;
    bl->log = fn;
    bl->log_ctx = ctx;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(jwtx_blocklist *bl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(jwtx_blocklist *bl, const char *fmt, ...)
{
    if (bl->log == NULL)
        return;
    char line[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    bl->log(line, bl->log_ctx);
}

/* May the store be asked now? No while the circuit is open: then bl->err
 * says why (the cause of the failure that opened it). */
static bool gate(jwtx_blocklist *bl)
{
    bl->err[0] = '\0';
    if (bl->state != STATE_DOWN || bl->retry_ms == 0 || mono_ms() >= bl->retry_at)
        return true;
    const char *cause = bl->ops->last_error(bl->be);
    snprintf(bl->err, sizeof bl->err, "%s", cause && cause[0] ? cause : "unavailable");
    return false;
}

/* Records the outcome of asking the store: logs a change of state, opens
 * the circuit after a failure. */
static void outcome(jwtx_blocklist *bl, bool ok)
{
    if (ok) {
        if (bl->state == STATE_DOWN)
            say(bl, "revocation store available again (%s)", bl->ops->kind);
        bl->state = STATE_UP;
        return;
    }
    if (bl->state != STATE_DOWN) {
        const char *cause = bl->ops->last_error(bl->be);
        if (bl->retry_ms > 0)
            say(bl, "revocation store unavailable: %s (answering 503; asked again every %lld ms)",
                cause && cause[0] ? cause : "no reason given", bl->retry_ms);
        else
            say(bl, "revocation store unavailable: %s (answering 503)",
                cause && cause[0] ? cause : "no reason given");
    }
    bl->state = STATE_DOWN;
    if (bl->retry_ms > 0)
        bl->retry_at = mono_ms() + bl->retry_ms;
}

void jwtx_blocklist_free(jwtx_blocklist *bl)
{
    if (bl == NULL)
        return;
    bl->ops->destroy(bl->be);
    free(bl);
}

const char *jwtx_blocklist_kind(const jwtx_blocklist *bl)
{
    return bl ? bl->ops->kind : "none";
}

const char *jwtx_blocklist_last_error(const jwtx_blocklist *bl)
{
    if (bl == NULL)
        return "";
    if (bl->err[0])
        return bl->err;
    const char *e = bl->ops->last_error(bl->be);
    return e ? e : "";
}

int jwtx_blocklist_ping(jwtx_blocklist *bl)
{
    if (bl == NULL)
        return 0;
    bl->err[0] = '\0';
    int rc = bl->ops->ping(bl->be) == 0 ? 0 : -1;
    outcome(bl, rc == 0);
    return rc;
}

int jwtx_blocklist_init(jwtx_blocklist *bl, int *made)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    int m = JWTX_BL_INIT_EXISTS;
    int rc = bl->ops->init(bl->be, &m) == 0 ? 0 : -1;
    outcome(bl, rc == 0);
    if (rc == 0 && made != NULL)
        *made = m;
    return rc;
}

/* Length of a key, or (size_t)-1 when NULL, empty or too long. */
static size_t key_len(jwtx_blocklist *bl, const char *key, const char *what)
{
    if (key == NULL || key[0] == '\0') {
        snprintf(bl->err, sizeof bl->err, "empty %s", what);
        return (size_t)-1;
    }
    size_t n = strnlen(key, JWTX_BLOCKLIST_KEY_MAX + 1);
    if (n > JWTX_BLOCKLIST_KEY_MAX) {
        snprintf(bl->err, sizeof bl->err, "%s longer than %d bytes", what, JWTX_BLOCKLIST_KEY_MAX);
        return (size_t)-1;
    }
    return n;
}

/* Length of a family id, or (size_t)-1 when NULL, empty or too long. */
static size_t family_len(jwtx_blocklist *bl, const char *family)
{
    if (family == NULL || family[0] == '\0') {
        snprintf(bl->err, sizeof bl->err, "empty family");
        return (size_t)-1;
    }
    size_t n = strnlen(family, JWTX_BLOCKLIST_FAMILY_MAX + 1);
    if (n > JWTX_BLOCKLIST_FAMILY_MAX) {
        snprintf(bl->err, sizeof bl->err, "family longer than %d bytes", JWTX_BLOCKLIST_FAMILY_MAX);
        return (size_t)-1;
    }
    return n;
}

int jwtx_blocklist_check(jwtx_blocklist *bl, const char *jti, const char *user, long long iat,
                         long long now)
{
    return jwtx_blocklist_check_family(bl, jti, user, iat, NULL, now);
}

static int family_outcome(jwtx_blocklist *bl, int rc);

int jwtx_blocklist_check_family(jwtx_blocklist *bl, const char *jti, const char *user,
                                long long iat, const char *family, long long now)
{
    if (bl == NULL)
        return JWTX_BL_CLEAR;
    bl->err[0] = '\0';
    size_t jlen = 0, ulen = 0, flen = 0;
    /* An empty jti or user cannot have been revoked: only the other keys
     * count. An empty family is no family (never issued by jwtx). */
    if (jti != NULL && jti[0] == '\0')
        jti = NULL;
    if (user != NULL && user[0] == '\0')
        user = NULL;
    if (family != NULL && family[0] == '\0')
        family = NULL;
    if (jti == NULL && user == NULL && family == NULL)
        return JWTX_BL_CLEAR;
    if (jti != NULL && (jlen = key_len(bl, jti, "jti")) == (size_t)-1)
        return JWTX_BL_UNAVAILABLE;
    if (user != NULL && (ulen = key_len(bl, user, "user")) == (size_t)-1)
        return JWTX_BL_UNAVAILABLE;
    if (family != NULL && (flen = family_len(bl, family)) == (size_t)-1)
        return JWTX_BL_UNAVAILABLE;
    if (!gate(bl))
        return JWTX_BL_UNAVAILABLE;
    int rc = bl->ops->check(bl->be, jti, jlen, user, ulen, iat, family, flen, now);
    if (rc == JWTXP_BL_OLD_SCHEMA) {
        (void)family_outcome(bl, rc); /* told once; the circuit stays closed */
        return JWTX_BL_UNAVAILABLE;
    }
    if (rc != JWTX_BL_CLEAR && rc != JWTX_BL_REVOKED)
        rc = JWTX_BL_UNAVAILABLE;
    if (family != NULL && rc != JWTX_BL_UNAVAILABLE)
        rc = family_outcome(bl, rc); /* also closes the circuit */
    else
        outcome(bl, rc != JWTX_BL_UNAVAILABLE);
    return rc;
}

/* Store life of something that ends at exp (0 = forever): exp + leeway. */
static long long life_of(const jwtx_blocklist *bl, bool has_exp, long long exp)
{
    if (!has_exp)
        return 0;
    long long until = exp > LLONG_MAX - bl->leeway ? LLONG_MAX : exp + bl->leeway;
    return until <= 0 ? 1 : until;
}

int jwtx_blocklist_revoke(jwtx_blocklist *bl, const char *jti, bool has_exp, long long exp,
                          long long now)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t len = key_len(bl, jti, "jti");
    if (len == (size_t)-1)
        return -1;
    /* The entry must outlive every moment the token is still accepted,
     * which JWT_DECODE_LEEWAY extends past exp (0: forever). */
    long long until = life_of(bl, has_exp, exp);
    if (has_exp && until <= now)
        return 0;
    if (!gate(bl))
        return -1;
    int rc = bl->ops->revoke(bl->be, jti, len, until, now) == 0 ? 0 : -1;
    outcome(bl, rc == 0);
    return rc;
}

int jwtx_blocklist_revoke_user(jwtx_blocklist *bl, const char *user, long long cutoff)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t len = key_len(bl, user, "user");
    if (len == (size_t)-1)
        return -1;
    if (!gate(bl))
        return -1;
    int rc = bl->ops->revoke_user(bl->be, user, len, cutoff) == 0 ? 0 : -1;
    outcome(bl, rc == 0);
    return rc;
}

int jwtx_blocklist_count(jwtx_blocklist *bl, long long now, long long *n)
{
    if (bl == NULL || n == NULL)
        return -1;
    if (!gate(bl))
        return -1;
    long long v = 0;
    int rc = bl->ops->count(bl->be, now, &v);
    outcome(bl, rc == 0);
    if (rc != 0)
        return -1;
    *n = v;
    return 0;
}

int jwtx_blocklist_list(jwtx_blocklist *bl, long long now,
                        int (*cb)(const char *kind, const char *key, long long until, void *ctx),
                        void *ctx)
{
    if (bl == NULL || cb == NULL)
        return -1;
    if (!gate(bl))
        return -1;
    int rc = bl->ops->list(bl->be, now, cb, ctx);
    outcome(bl, rc >= 0);
    return rc < 0 ? -1 : rc;
}

int jwtx_blocklist_purge(jwtx_blocklist *bl, long long now, long long *removed)
{
    if (bl == NULL)
        return -1;
    if (!gate(bl))
        return -1;
    long long v = 0;
    int rc = bl->ops->purge(bl->be, now, &v);
    outcome(bl, rc == 0);
    if (rc != 0)
        return -1;
    if (removed)
        *removed = v;
    return 0;
}

/* ---- login attempts --------------------------------------------------- */

/* A part of the store that an older schema lacks (login attempts: version
 * 2, sessions: version 3): its operations answer JWTXP_BL_OLD_SCHEMA while
 * the rest of the store still answers. */
typedef struct store_part {
    const char *name;      /* "login attempt", "session" */
    const char *meanwhile; /* what the gateway does meanwhile */
    const char *old_cause; /* the cause when the back end gives none */
} store_part;

static const store_part login_part = {"login attempt", "login answers 503; revocation checks go on",
                                      "old schema"};
static const store_part session_part = {"session", "refreshes and tokens of sessions answer 503",
                                        "old schema; run `jwtx blocklist init`"};

/* The result of an operation on a part: an old schema is told once (and
 * once more when it is upgraded under us, *told then cleared), answered
 * -1, and does not open the circuit; anything else goes through outcome. */
static int part_outcome(jwtx_blocklist *bl, const store_part *part, bool *told, int rc)
{
    if (rc == JWTXP_BL_OLD_SCHEMA) {
        if (!*told) {
            const char *cause = bl->ops->last_error(bl->be);
            say(bl, "%s store unavailable: %s (%s)", part->name,
                cause && cause[0] ? cause : part->old_cause, part->meanwhile);
        }
        *told = true;
        return -1;
    }
    if (rc >= 0 && *told) {
        say(bl, "%s store available again (%s)", part->name, bl->ops->kind);
        *told = false;
    }
    outcome(bl, rc >= 0);
    return rc < 0 ? -1 : rc;
}

static int attempt_outcome(jwtx_blocklist *bl, int rc)
{
    return part_outcome(bl, &login_part, &bl->old_schema, rc);
}

/* The prologue of every login attempt operation: clears the last error,
 * checks the key and passes the open circuit. Returns the key's length, or
 * (size_t)-1 with the reason in bl->err. */
static size_t login_key(jwtx_blocklist *bl, const char *key)
{
    bl->err[0] = '\0';
    size_t len = key_len(bl, key, "login attempt key");
    if (len == (size_t)-1 || !gate(bl))
        return (size_t)-1;
    return len;
}

int jwtx_blocklist_attempt_add(jwtx_blocklist *bl, const char *key, long long now, long long window,
                               long long keep, long long *count)
{
    if (bl == NULL || count == NULL || window <= 0)
        return -1;
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    /* A member unique to this failure: the same failure sent twice (a
     * command retried on a fresh connection) is counted once. */
    unsigned char rnd[12];
    char member[64];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        snprintf(bl->err, sizeof bl->err, "no random bytes for a login attempt id");
        return -1;
    }
    int o = snprintf(member, sizeof member, "%lld-", now);
    for (size_t i = 0; i < sizeof rnd && o > 0 && (size_t)o + 2 < sizeof member; i++)
        o += snprintf(member + o, sizeof member - (size_t)o, "%02x", rnd[i]);
    long long v = 0;
    int rc = bl->ops->attempt_add(bl->be, key, len, member, now, window, keep < 1 ? 1 : keep, &v);
    rc = attempt_outcome(bl, rc);
    if (rc == 0)
        *count = v;
    return rc;
}

int jwtx_blocklist_attempt_count(jwtx_blocklist *bl, const char *key, long long now,
                                 long long window, long long *count)
{
    if (bl == NULL || count == NULL || window <= 0)
        return -1;
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    long long v = 0;
    int rc = attempt_outcome(bl, bl->ops->attempt_count(bl->be, key, len, now, window, &v));
    if (rc == 0)
        *count = v;
    return rc;
}

int jwtx_blocklist_attempt_clear(jwtx_blocklist *bl, const char *key)
{
    if (bl == NULL)
        return -1;
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    return attempt_outcome(bl, bl->ops->attempt_clear(bl->be, key, len));
}

int jwtx_blocklist_ban_get(jwtx_blocklist *bl, const char *key, long long now, long long *until)
{
    if (bl == NULL || until == NULL)
        return -1;
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    long long u = 0;
    int rc = attempt_outcome(bl, bl->ops->ban_get(bl->be, key, len, now, &u));
    if (rc == 1 && u <= now)
        rc = 0; /* a ban that has ended (a key not yet expired by Redis) */
    if (rc == 1)
        *until = u;
    return rc;
}

int jwtx_blocklist_ban_set(jwtx_blocklist *bl, const char *key, long long now, long long until)
{
    if (bl == NULL)
        return -1;
    if (until <= now) {
        snprintf(bl->err, sizeof bl->err, "a ban must end after now");
        return -1;
    }
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    return attempt_outcome(bl, bl->ops->ban_set(bl->be, key, len, now, until));
}

int jwtx_blocklist_ban_lift(jwtx_blocklist *bl, const char *key)
{
    if (bl == NULL)
        return -1;
    size_t len = login_key(bl, key);
    if (len == (size_t)-1)
        return -1;
    return attempt_outcome(bl, bl->ops->ban_lift(bl->be, key, len));
}

int jwtx_blocklist_ban_list(jwtx_blocklist *bl, long long now,
                            int (*cb)(const char *key, long long until, void *ctx), void *ctx)
{
    if (bl == NULL || cb == NULL)
        return -1;
    if (!gate(bl))
        return -1;
    return attempt_outcome(bl, bl->ops->ban_list(bl->be, now, cb, ctx));
}

/* ---- sessions (refresh-token families) -------------------------------- */

static int family_outcome(jwtx_blocklist *bl, int rc)
{
    return part_outcome(bl, &session_part, &bl->old_families, rc);
}

int jwtx_blocklist_family_start(jwtx_blocklist *bl, const char *family, const char *user,
                                long long now, bool has_expires, long long expires)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t flen = family_len(bl, family);
    if (flen == (size_t)-1)
        return -1;
    size_t ulen = key_len(bl, user, "user");
    if (ulen == (size_t)-1)
        return -1;
    if (has_expires && expires <= 0) {
        snprintf(bl->err, sizeof bl->err, "a family must expire after the epoch");
        return -1;
    }
    if (!gate(bl))
        return -1;
    int rc = bl->ops->family_start(bl->be, family, flen, user, ulen, now, has_expires ? expires : 0,
                                   life_of(bl, has_expires, expires));
    return family_outcome(bl, rc) < 0 ? -1 : 0;
}

int jwtx_blocklist_family_rotate(jwtx_blocklist *bl, const jwtx_rotation *r, char *family_out,
                                 size_t out_size)
{
    if (family_out != NULL && out_size > 0)
        family_out[0] = '\0';
    if (bl == NULL || r == NULL || family_out == NULL || out_size < JWTX_BLOCKLIST_FAMILY_MAX + 1)
        return -1;
    bl->err[0] = '\0';
    jwtxp_bl_rotate a;
    memset(&a, 0, sizeof a);
    const char *family = r->family != NULL && r->family[0] != '\0' ? r->family : NULL;
    if ((a.jlen = key_len(bl, r->jti, "jti")) == (size_t)-1 ||
        (a.ulen = key_len(bl, r->user, "user")) == (size_t)-1)
        return -1;
    if (family != NULL && (a.flen = family_len(bl, family)) == (size_t)-1)
        return -1;
    if (family == NULL && (a.nflen = family_len(bl, r->new_family)) == (size_t)-1)
        return -1;
    if (r->grace < 0) {
        snprintf(bl->err, sizeof bl->err, "negative grace period");
        return -1;
    }
    a.jti = r->jti;
    a.fam = family;
    a.new_fam = family == NULL ? r->new_family : NULL;
    a.user = r->user;
    a.now = r->now;
    a.grace = r->grace;
    a.slide = r->slide;
    /* The rotated record must outlive every moment the presented token is
     * still accepted (exp + leeway): until then, its return is a reuse. */
    a.jti_until = life_of(bl, r->has_exp, r->exp);
    if (r->slide) {
        a.expires = r->has_new_expires ? r->new_expires : 0;
        a.until = life_of(bl, r->has_new_expires, r->new_expires);
    } else {
        a.expires = r->has_exp ? r->exp : 0;
        a.until = a.jti_until;
    }
    if (!gate(bl))
        return -1;
    int rc = bl->ops->family_rotate(bl->be, &a, family_out, out_size);
    family_out[out_size - 1] = '\0';
    rc = family_outcome(bl, rc);
    if (rc != JWTX_BL_ROTATED && rc != JWTX_BL_REUSED && rc != JWTX_BL_ENDED)
        return -1;
    return rc;
}

int jwtx_blocklist_family_end(jwtx_blocklist *bl, const char *family, long long now)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t flen = family_len(bl, family);
    if (flen == (size_t)-1 || !gate(bl))
        return -1;
    int rc = family_outcome(bl, bl->ops->family_end(bl->be, family, flen, now));
    return rc < 0 ? -1 : (rc > 0 ? 1 : 0);
}

int jwtx_blocklist_family_end_user(jwtx_blocklist *bl, const char *user, long long now,
                                   long long *ended)
{
    return jwtx_blocklist_family_end_user_each(bl, user, now, NULL, NULL, ended);
}

int jwtx_blocklist_family_end_user_each(jwtx_blocklist *bl, const char *user, long long now,
                                        void (*cb)(const char *family, void *ctx), void *ctx,
                                        long long *ended)
{
    if (bl == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t ulen = key_len(bl, user, "user");
    if (ulen == (size_t)-1 || !gate(bl))
        return -1;
    long long n = 0;
    int rc = family_outcome(bl, bl->ops->family_end_user(bl->be, user, ulen, now, cb, ctx, &n));
    if (rc < 0)
        return -1;
    if (ended != NULL)
        *ended = n;
    return 0;
}

int jwtx_blocklist_family_get(jwtx_blocklist *bl, const char *family, long long now,
                              jwtx_family_info *info, char *user_buf, size_t user_size)
{
    if (info != NULL)
        memset(info, 0, sizeof *info);
    if (user_buf != NULL && user_size > 0)
        user_buf[0] = '\0';
    if (bl == NULL || info == NULL || user_buf == NULL || user_size < JWTX_BLOCKLIST_KEY_MAX + 1)
        return -1;
    bl->err[0] = '\0';
    size_t flen = family_len(bl, family);
    if (flen == (size_t)-1 || !gate(bl))
        return -1;
    int rc = family_outcome(
        bl, bl->ops->family_get(bl->be, family, flen, now, info, user_buf, user_size));
    if (rc != 1) {
        memset(info, 0, sizeof *info);
        user_buf[0] = '\0';
        return rc < 0 ? -1 : 0;
    }
    user_buf[user_size - 1] = '\0';
    info->family = family;
    info->user = user_buf;
    return 1;
}

int jwtx_blocklist_family_list(jwtx_blocklist *bl, const char *user, long long now,
                               int (*cb)(const jwtx_family_info *f, void *ctx), void *ctx)
{
    if (bl == NULL || cb == NULL)
        return -1;
    bl->err[0] = '\0';
    size_t ulen = 0;
    if (user != NULL && (ulen = key_len(bl, user, "user")) == (size_t)-1)
        return -1;
    if (!gate(bl))
        return -1;
    return family_outcome(bl, bl->ops->family_list(bl->be, user, ulen, now, cb, ctx));
}
