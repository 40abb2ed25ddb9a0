/*
 * audit.h — the audit log: one line per security event (a login, a failed
 * login, a refused or banned attempt, a ban starting, a refresh, a logout,
 * a rotated refresh token replayed, a session ended).
 *
 * Each line is logfmt, key=value pairs separated by single spaces, in this
 * order (absent fields are left out):
 *
 *   time=2026-12-03T10:21:54Z event=login_failure addr=203.0.113.7
 *   user="bob" jti="..." fam="..." route="/login" reason=wrong_password ban=pair
 *   until=2026-12-03T10:36:54Z
 *
 * (one line). time, event, addr, reason, ban and until are written by jwtx
 * itself; user, jti, fam and route may come from the client and are ALWAYS in
 * double quotes, with every byte that is not printable ASCII, the space, the
 * double quote and the backslash escaped (\" \\ \n \r \t, \xHH for the rest),
 * so a value holds no space and no raw quote: no client text can end a value,
 * start a key (" addr=...") or a new line. The server's fields come before
 * the client's, so the first "addr=" of a line is always jwtx's. Client
 * values are cut at JWTX_AUDIT_VALUE_MAX bytes; a line with a cut value ends
 * with truncated=1. Passwords, tokens, secrets and cookie values are never
 * given to this module.
 *
 * Destinations (JWTX_AUDIT_LOG):
 *   "server"  the web server's error log: through the writer the request loop
 *             sets for each request (FastCGI: the request's error stream,
 *             which lighttpd writes to server.errorlog as
 *             "(mod_fastcgi.c...) FastCGI-stderr:..."); stderr without one
 *             (CGI mode, where the server reads the program's stderr)
 *   "syslog"  syslog(3), facility LOG_AUTHPRIV, priority LOG_NOTICE
 *   a path    a file opened for append (created 0640); before each line the
 *             path is compared (device, inode) with the open file and
 *             reopened when it was rotated away or removed
 *   ""        off
 */
#ifndef JWTX_AUDIT_H
#define JWTX_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest line written, newline included; longer lines cannot occur because
 * every client value is cut at JWTX_AUDIT_VALUE_MAX input bytes. */
#define JWTX_AUDIT_LINE_MAX 8192
#define JWTX_AUDIT_VALUE_MAX 256

typedef struct jwtx_audit jwtx_audit;

/* One event. Every pointer may be NULL (field left out) except event. */
typedef struct jwtx_audit_event {
    long long time;     /* seconds since the epoch; 0 = now */
    const char *event;  /* a word of jwtx: login_success, login_failure, ... */
    const char *addr;   /* the client address key (client.h), written bare */
    const char *user;   /* client text: quoted and escaped */
    const char *jti;    /* client text (from a token): quoted and escaped */
    const char *fam;    /* the session family (a token's fam claim): quoted like jti */
    const char *route;  /* client text (the request path): quoted and escaped */
    const char *reason; /* a word of jwtx: unknown_user, wrong_password, ... */
    const char *ban;    /* a word of jwtx: which key a ban is on (pair/address/user) */
    long long until;    /* end of a ban (seconds since the epoch); 0 = none */
} jwtx_audit_event;

/* Formats ev as one line (no newline) into buf, always NUL-terminated when
 * size > 0. Returns the length of the line; a line that does not fit in
 * size - 1 bytes is cut (never happens with size >= JWTX_AUDIT_LINE_MAX).
 * A field word of jwtx (event, reason, ban) that holds anything but
 * letters, digits and "_.-:/" is quoted and escaped like client text. */
size_t jwtx_audit_format(const jwtx_audit_event *ev, char *buf, size_t size);

/* Writes the quoted, escaped form of n bytes of s (at most
 * JWTX_AUDIT_VALUE_MAX of them) into out (size >= 4 * JWTX_AUDIT_VALUE_MAX +
 * 3 is always enough), NUL-terminated. Returns its length; *cut (may be
 * NULL) says whether s was longer than JWTX_AUDIT_VALUE_MAX. */
size_t jwtx_audit_quote(const char *s, size_t n, char *out, size_t size, bool *cut);

/* Opens the destination dest (see above; NULL or "" = off). ident names the
 * program in syslog lines and in notes on stderr. On success returns 0 and
 * sets *out to a new handle, or to NULL when dest is off (every call below
 * accepts NULL and does nothing). A file that cannot be opened returns -1
 * with the reason in errbuf. */
int jwtx_audit_open(const char *dest, const char *ident, jwtx_audit **out, char *errbuf,
                    size_t errsize);

/* Releases the handle (closes the file). NULL is a no-op. */
void jwtx_audit_free(jwtx_audit *a);

/* Where "server" lines go for the request being served: fn(ctx, line, len)
 * with the line ending in '\n'. NULL restores the default, stderr. The
 * request loop sets it before each request and resets it after. */
typedef void (*jwtx_audit_write_fn)(void *ctx, const char *line, size_t len);
void jwtx_audit_set_server_writer(jwtx_audit *a, jwtx_audit_write_fn fn, void *ctx);

/* True when a handle writes lines (a non-NULL handle). */
bool jwtx_audit_enabled(const jwtx_audit *a);

/* Writes ev to the destination. Returns 0, or -1 when the line could not be
 * written (a file that cannot be reopened: noted once on stderr until it
 * works again). Never blocks on the client. */
int jwtx_audit_log(jwtx_audit *a, const jwtx_audit_event *ev);

#endif
