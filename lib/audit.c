/*
 * audit.c — the audit log of audit.h: formatting one logfmt line per
 * security event so that no client text can forge a line or a field, and
 * writing it to the web server's error log, syslog or a file that follows
 * log rotation.
 */
#include "jwtx/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

typedef enum dest_kind { DEST_SERVER, DEST_SYSLOG, DEST_FILE } dest_kind;

struct jwtx_audit {
    dest_kind kind;
    char *path; /* DEST_FILE */
    int fd;     /* DEST_FILE: -1 when closed */
    bool noted; /* a failure was noted on stderr (reset when a line is written) */
    char *ident;
    jwtx_audit_write_fn writer; /* DEST_SERVER: the request's error stream */
    void *writer_ctx;
};

/* ---- formatting --------------------------------------------------------- */

/* A bounded writer into the caller's buffer: never overflows, always
 * NUL-terminated, remembers the length it would have needed. */
typedef struct obuf {
    char *buf;
    size_t size, len;
} obuf;

static void put(obuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o->len + 1 < o->size)
            o->buf[o->len] = s[i];
        o->len++;
    }
    if (o->size > 0)
        o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

static void puts_(obuf *o, const char *s)
{
    put(o, s, strlen(s));
}

static bool safe_word(const char *s)
{
    if (*s == '\0')
        return false;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
              *u == '_' || *u == '.' || *u == '-' || *u == ':' || *u == '/'))
            return false;
    return true;
}

size_t jwtx_audit_quote(const char *s, size_t n, char *buf, size_t size, bool *cut)
{
    static const char hex[] = "0123456789abcdef";
    obuf o = {buf, size, 0};
    if (size > 0)
        buf[0] = '\0';
    bool c = n > JWTX_AUDIT_VALUE_MAX;
    if (c)
        n = JWTX_AUDIT_VALUE_MAX;
    if (cut != NULL)
        *cut = c;
    put(&o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char u = (unsigned char)s[i];
        char esc[4];
        if (u == '"' || u == '\\') {
            esc[0] = '\\';
            esc[1] = (char)u;
            put(&o, esc, 2);
        } else if (u == '\n' || u == '\r' || u == '\t') {
            esc[0] = '\\';
            esc[1] = u == '\n' ? 'n' : u == '\r' ? 'r' : 't';
            put(&o, esc, 2);
        } else if (u <= 0x20 || u >= 0x7f) {
            /* controls, the space (so a value never holds one), DEL and
             * every byte of non-ASCII text: the line stays printable ASCII */
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[u >> 4];
            esc[3] = hex[u & 15];
            put(&o, esc, 4);
        } else {
            put(&o, (const char *)&u, 1);
        }
    }
    put(&o, "\"", 1);
    return o.len;
}

static void put_time(obuf *o, long long t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char b[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(b, sizeof b, "%lld", t);
    puts_(o, b);
}

/* key=value, value written by jwtx: bare when it is a plain word. */
static void put_word(obuf *o, const char *key, const char *v, bool *cut)
{
    if (v == NULL)
        return;
    puts_(o, " ");
    puts_(o, key);
    puts_(o, "=");
    if (safe_word(v)) {
        put(o, v, strlen(v) > JWTX_AUDIT_VALUE_MAX ? JWTX_AUDIT_VALUE_MAX : strlen(v));
        *cut = *cut || strlen(v) > JWTX_AUDIT_VALUE_MAX;
        return;
    }
    char q[4 * JWTX_AUDIT_VALUE_MAX + 3];
    bool c = false;
    size_t n = jwtx_audit_quote(v, strlen(v), q, sizeof q, &c);
    put(o, q, n);
    *cut = *cut || c;
}

/* key="value", client text: always quoted. */
static void put_quoted(obuf *o, const char *key, const char *v, bool *cut)
{
    if (v == NULL)
        return;
    puts_(o, " ");
    puts_(o, key);
    puts_(o, "=");
    char q[4 * JWTX_AUDIT_VALUE_MAX + 3];
    bool c = false;
    size_t n = jwtx_audit_quote(v, strlen(v), q, sizeof q, &c);
    put(o, q, n);
    *cut = *cut || c;
}

size_t jwtx_audit_format(const jwtx_audit_event *ev, char *buf, size_t size)
{
    obuf o = {buf, size, 0};
    if (size > 0)
        buf[0] = '\0';
    if (ev == NULL)
        return 0;
    bool cut = false;
    puts_(&o, "time=");
    put_time(&o, ev->time != 0 ? ev->time : (long long)time(NULL));
    put_word(&o, "event", ev->event != NULL ? ev->event : "unknown", &cut);
    put_word(&o, "addr", ev->addr, &cut);
    put_quoted(&o, "user", ev->user, &cut);
    put_quoted(&o, "jti", ev->jti, &cut);
    put_quoted(&o, "fam", ev->fam, &cut);
    put_quoted(&o, "route", ev->route, &cut);
    put_word(&o, "reason", ev->reason, &cut);
    put_word(&o, "ban", ev->ban, &cut);
    if (ev->until != 0) {
        puts_(&o, " until=");
        put_time(&o, ev->until);
    }
    if (cut)
        puts_(&o, " truncated=1");
    return o.len < size ? o.len : (size > 0 ? size - 1 : 0);
}

/* ---- destinations ------------------------------------------------------- */

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int jwtx_audit_open(const char *dest, const char *ident, jwtx_audit **out, char *errbuf,
                    size_t errsize)
{
    *out = NULL;
    if (dest == NULL || dest[0] == '\0')
        return 0;
    jwtx_audit *a = calloc(1, sizeof *a);
    if (a == NULL || (a->ident = strdup(ident != NULL ? ident : "jwtx")) == NULL) {
        free(a);
        snprintf(errbuf, errsize, "JWTX_AUDIT_LOG: out of memory");
        return -1;
    }
    a->fd = -1;
    if (strcmp(dest, "server") == 0) {
        a->kind = DEST_SERVER;
    } else if (strcmp(dest, "syslog") == 0) {
        a->kind = DEST_SYSLOG;
        /* syslog keeps the ident pointer: a->ident lives as long as a. */
        openlog(a->ident, LOG_PID, LOG_AUTHPRIV);
    } else {
        a->kind = DEST_FILE;
        if ((a->path = strdup(dest)) == NULL) {
            jwtx_audit_free(a);
            snprintf(errbuf, errsize, "JWTX_AUDIT_LOG: out of memory");
            return -1;
        }
        a->fd = open_file(dest);
        if (a->fd < 0) {
            snprintf(errbuf, errsize, "JWTX_AUDIT_LOG: cannot open %s: %s", dest, strerror(errno));
            jwtx_audit_free(a);
            return -1;
        }
    }
    *out = a;
    return 0;
}

void jwtx_audit_free(jwtx_audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
    if (a->kind == DEST_SYSLOG)
        closelog();
    free(a->path);
    free(a->ident);
    free(a);
}

void jwtx_audit_set_server_writer(jwtx_audit *a, jwtx_audit_write_fn fn, void *ctx)
{
    if (a == NULL)
        return;
    a->writer = fn;
    a->writer_ctx = ctx;
}

bool jwtx_audit_enabled(const jwtx_audit *a)
{
    return a != NULL;
}

/* The file at the path is not the one open (rotated away, removed,
 * replaced): reopen. Returns 0 when a->fd is the file at the path. */
static int follow_rotation(jwtx_audit *a)
{
    struct stat at_path, open_st;
    if (a->fd >= 0 && stat(a->path, &at_path) == 0 && fstat(a->fd, &open_st) == 0 &&
        at_path.st_dev == open_st.st_dev && at_path.st_ino == open_st.st_ino)
        return 0;
    int fd = open_file(a->path);
    if (fd < 0) {
        if (!a->noted)
            fprintf(stderr, "%s: audit log %s: cannot open: %s\n", a->ident, a->path,
                    strerror(errno));
        a->noted = true;
        return -1;
    }
    if (a->fd >= 0)
        close(a->fd);
    a->fd = fd;
    return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int jwtx_audit_log(jwtx_audit *a, const jwtx_audit_event *ev)
{
    if (a == NULL || ev == NULL)
        return 0;
    char line[JWTX_AUDIT_LINE_MAX];
    size_t n = jwtx_audit_format(ev, line, sizeof line - 1);
    switch (a->kind) {
    case DEST_SYSLOG:
        syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
        return 0;
    case DEST_SERVER:
        line[n++] = '\n';
        if (a->writer != NULL) {
            a->writer(a->writer_ctx, line, n);
            return 0;
        }
        return fwrite(line, 1, n, stderr) == n && fflush(stderr) == 0 ? 0 : -1;
    case DEST_FILE:
        line[n++] = '\n';
        /* One write() per line: with O_APPEND the lines of many processes
         * never interleave. */
        if (follow_rotation(a) != 0)
            return -1;
        if (write_all(a->fd, line, n) != 0) {
            if (!a->noted)
                fprintf(stderr, "%s: audit log %s: cannot write: %s\n", a->ident, a->path,
                        strerror(errno));
            a->noted = true;
            return -1;
        }
        a->noted = false;
        return 0;
    }
    return -1;
}
