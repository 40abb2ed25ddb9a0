/*
 * blocklist.h — the revocation store (token_in_blocklist_loader as an option).
 *
 * Flask-JWT-Extended leaves revocation to an application callback (spec
 * section 8); jwtx turns it into the option JWTX_BLOCKLIST, a URL naming a
 * store shared by every gateway process:
 *
 *   "sqlite:PATH"                           embedded default: one file shared by
 *                                            many FastCGI processes (WAL)
 *   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]"  Redis shared by many machines
 *   "unix:/path/redis.sock[?db=N][&password=P]"   Redis over a unix socket
 *   "redis+unix://[[USER]:PASSWORD@]/path/redis.sock[?db=N]"  the same
 *   ""                                       no store: nothing is ever revoked
 *
 * The store holds revocations and, for login protection (regulate.h), login
 * attempt counts and bans: one SQLite file or one Redis serves both, and a
 * gateway has one thing to fail closed on.
 *
 * Two kinds of revocation entries exist: a revoked token id (jti) that lives until the
 * token's own exp (plus JWT_DECODE_LEEWAY, so a token still accepted thanks
 * to the leeway stays revoked), or forever when the token has no exp; and a
 * per-user cut-off time ("log out everywhere"): every token of that user
 * issued at or before the cut-off is revoked.
 *
 * Failing closed: every function that asks the store returns an error or
 * JWTX_BL_UNAVAILABLE when the store cannot answer, never "not revoked".
 * Opening never talks to the store: a SQLite file is opened and a Redis
 * connection is made on first use, and re-made after any failure, so a
 * gateway starts while Redis is down, answers 503 meanwhile and recovers by
 * itself once it is back. No answer is cached: every check asks the store.
 *
 * A store is made on purpose (jwtx_blocklist_init, `jwtx blocklist init`),
 * never by a check or a revocation: a missing SQLite file is an unavailable
 * store, not a new empty one. A SQLite file removed or replaced under a
 * running process is noticed on the next call (its device and inode against
 * the path's): unavailable until a valid store is at the path again, which
 * is then opened by itself.
 *
 * After a failure a handle with a retry period (jwtx_blocklist_set_retry_ms,
 * JWTX_BLOCKLIST_RETRY_MS) fails every call at once, without asking the
 * store, until the period ends; then the next call asks again. Changes of
 * state (unavailable with the cause, available again) go to the log
 * function (jwtx_blocklist_set_log), once each.
 *
 * A handle is used by one thread at a time. A process that forks must not
 * share a handle between parent and child: open handles after fork (the
 * usual FastCGI pattern). As a safety net a handle notices it was inherited
 * across fork() and opens its own connection in the child instead of using
 * the parent's (the parent's SQLite connection is abandoned in the child,
 * as SQLite requires, never closed there).
 */
#ifndef JWTX_BLOCKLIST_H
#define JWTX_BLOCKLIST_H

#include <stdbool.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"

typedef struct jwtx_blocklist jwtx_blocklist;

/* Results of jwtx_blocklist_check. */
enum { JWTX_BL_CLEAR = 0, JWTX_BL_REVOKED = 1, JWTX_BL_UNAVAILABLE = -1 };

/* What jwtx_blocklist_init did. */
enum {
    JWTX_BL_INIT_EXISTS = 0,  /* the store was there already (or needs nothing made: Redis) */
    JWTX_BL_INIT_CREATED = 1, /* a new SQLite file with its schema */
    JWTX_BL_INIT_SCHEMA = 2,  /* the schema written into an existing empty SQLite database */
    JWTX_BL_INIT_UPGRADED = 3 /* an older store's schema upgraded to version 3: the session
                                 tables added (and the login attempt tables to a version 1) */
};

/* Receives one log line (no newline) about the store: a change of state. */
typedef void (*jwtx_blocklist_log_fn)(const char *msg, void *ctx);

/* Longest jti or user name accepted (bytes); longer ones fail (closed). */
#define JWTX_BLOCKLIST_KEY_MAX 4096
/* Longest JWTX_BLOCKLIST URL accepted. */
#define JWTX_BLOCKLIST_URL_MAX 4096

/* Opens the store named by cfg->blocklist, with cfg->blocklist_prefix (Redis
 * key prefix, "jwtx:" when NULL), cfg->blocklist_timeout_ms (connect and
 * command timeout for Redis, busy timeout floor for SQLite) and
 * cfg->decode_leeway. Does not contact the store. On success returns 0 and
 * sets *out to a new handle (jwtx_blocklist_free), or to NULL when
 * cfg->blocklist is NULL or "" (no revocation). A malformed URL returns -1
 * with err JWTX_ERR_CONFIG naming the problem (never the password). */
int jwtx_blocklist_open(const jwtx_config *cfg, jwtx_blocklist **out, jwtx_error *err);

/* The same from explicit values (tests, tools). prefix NULL = "jwtx:",
 * timeout_ms <= 0 = 250, leeway < 0 = 0. No retry period (0) and no log:
 * see jwtx_blocklist_set_retry_ms and jwtx_blocklist_set_log. */
int jwtx_blocklist_open_url(const char *url, const char *prefix, long long timeout_ms,
                            long long leeway, jwtx_blocklist **out, jwtx_error *err);

/* The open-circuit period (JWTX_BLOCKLIST_RETRY_MS, which jwtx_blocklist_open
 * applies): after a failure, calls fail at once for ms milliseconds without
 * asking the store. 0 = off (every call asks). NULL is a no-op. */
void jwtx_blocklist_set_retry_ms(jwtx_blocklist *bl, long long ms);

/* Where changes of state are told: "revocation store unavailable: CAUSE
 * (...)" on the first failure after success (or at the start), "revocation
 * store available again (KIND)" on the first success after failures. fn
 * NULL: not told. The cause never holds a password. */
void jwtx_blocklist_set_log(jwtx_blocklist *bl, jwtx_blocklist_log_fn fn, void *ctx);

/* Closes the connection and frees the handle; NULL is a no-op. */
void jwtx_blocklist_free(jwtx_blocklist *bl);

/* "sqlite" or "redis"; never NULL ("none" for a NULL handle). */
const char *jwtx_blocklist_kind(const jwtx_blocklist *bl);

/* The reason of the last failure of this handle ("" when none), for logs and
 * tools. Never contains a password. Borrowed, valid until the next call. */
const char *jwtx_blocklist_last_error(const jwtx_blocklist *bl);

/* Connects (if needed) and checks the store answers. 0 ok, -1 unavailable
 * (see jwtx_blocklist_last_error). Useful at start-up for a warning. */
int jwtx_blocklist_ping(jwtx_blocklist *bl);

/* Makes the store on purpose, as an installer does (`jwtx blocklist init`).
 * SQLite: creates the file with mode 0600 (whatever the umask), WAL mode and
 * the schema (version 3: revocations, login attempts, sessions); an existing
 * store of this version is left as it is, a store made by an older jwtx is
 * upgraded in place in one write transaction, its entries kept (version 1,
 * revocations only, gets the login attempt and session tables; version 2
 * the session tables), an empty database gets the schema, anything else
 * (another database, a newer schema, not SQLite) is refused. Redis:
 * nothing to make, only checks the server answers. Returns 0 with *made
 * (may be NULL) = JWTX_BL_INIT_*, or -1 (jwtx_blocklist_last_error says
 * why). */
int jwtx_blocklist_init(jwtx_blocklist *bl, int *made) __attribute__((warn_unused_result));

/* Is this token revoked? jti and user may be NULL (not checked). REVOKED
 * when a jti entry exists whose life (until) is > now or forever, or when
 * user has a cut-off >= iat (pass LLONG_MIN as iat for a token without iat:
 * any cut-off then revokes it). One round trip. Any store failure, and a
 * jti/user longer than JWTX_BLOCKLIST_KEY_MAX, is UNAVAILABLE, never CLEAR.
 * bl NULL (no store) is CLEAR. */
int jwtx_blocklist_check(jwtx_blocklist *bl, const char *jti, const char *user, long long iat,
                         long long now) __attribute__((warn_unused_result));

/* Revokes jti until exp + leeway (has_exp false: forever). A token already
 * past that needs no entry: returns 0 without asking the store. Revoking a
 * jti again keeps the longer of the two lives. Returns 0, or -1 when the
 * store is unavailable or the arguments are bad (NULL/empty/too long jti). */
int jwtx_blocklist_revoke(jwtx_blocklist *bl, const char *jti, bool has_exp, long long exp,
                          long long now) __attribute__((warn_unused_result));

/* Revokes every token of user issued at or before cutoff ("log out
 * everywhere"). The cut-off lives forever; a later call keeps the larger
 * cut-off. Returns 0 or -1 (unavailable, bad arguments). */
int jwtx_blocklist_revoke_user(jwtx_blocklist *bl, const char *user, long long cutoff)
    __attribute__((warn_unused_result));

/* Number of live entries (jti entries not expired at now, plus user
 * cut-offs) into *n. Returns 0 or -1. */
int jwtx_blocklist_count(jwtx_blocklist *bl, long long now, long long *n);

/* Calls cb once per live entry: kind "jti" with until = end of life (0 =
 * forever), or kind "user" with until = the cut-off time. Keys are borrowed
 * for the call. cb must not use bl. A non-zero return from cb stops the walk
 * and jwtx_blocklist_list returns 1. Returns 0 when done, -1 on failure
 * (entries may have been reported already). Order: SQLite sorts by kind and
 * key; Redis order is unspecified. */
int jwtx_blocklist_list(jwtx_blocklist *bl, long long now,
                        int (*cb)(const char *kind, const char *key, long long until, void *ctx),
                        void *ctx);

/* Deletes what is over at now: jti entries past their life, login failures
 * out of their window and ended bans, families and rotated refresh tokens
 * past their life in the store (a store of an older schema: what it has);
 * *removed (may be NULL) gets how many rows. Redis expires keys by itself:
 * removed is 0. Returns 0 or -1. */
int jwtx_blocklist_purge(jwtx_blocklist *bl, long long now, long long *removed);

/*
 * Login attempts: the counts and bans of login protection (regulate.h makes
 * the keys and applies the rules; the store only keeps them, shared by every
 * process and gateway using it). A key is a byte string of 1 to
 * JWTX_BLOCKLIST_KEY_MAX bytes.
 *
 * SQLite: tables login_failures (one row per failure, with the time it
 * stops counting) and login_bans, made by `jwtx blocklist init` (which also
 * upgrades a store made by an older jwtx: schema version 1 has revocations
 * only). On a version-1 store these functions fail (-1) and the first such
 * failure is logged once, saying to run `jwtx blocklist init`; revocation
 * checks keep working, and the circuit is not opened for them. Each
 * recorded failure also deletes a bounded number of expired rows.
 * Redis: <prefix>login:f:<key>, a sorted set of failure times with a TTL of
 * the window, updated atomically by one script; <prefix>login:ban:<key>,
 * the ban's end with a TTL until then.
 *
 * All of them go through the same failing-closed machinery as revocations:
 * the open circuit (JWTX_BLOCKLIST_RETRY_MS), the state-change log lines, a
 * removed or replaced SQLite file. Any failure returns -1.
 */

/* Records one failed attempt of key at now and sets *count to the failures
 * of key in (now - window, now], this one included. At most keep (>= 1)
 * failures per key are kept (older ones are dropped). Returns 0 or -1. */
int jwtx_blocklist_attempt_add(jwtx_blocklist *bl, const char *key, long long now, long long window,
                               long long keep, long long *count)
    __attribute__((warn_unused_result));

/* The same count without recording. Returns 0 or -1. */
int jwtx_blocklist_attempt_count(jwtx_blocklist *bl, const char *key, long long now,
                                 long long window, long long *count)
    __attribute__((warn_unused_result));

/* Forgets key's failures (a ban stays). Returns 0 or -1. */
int jwtx_blocklist_attempt_clear(jwtx_blocklist *bl, const char *key)
    __attribute__((warn_unused_result));

/* Is key banned at now? 1 with *until = the ban's end (> now), 0 not
 * banned, -1 the store cannot answer (never 0 then). */
int jwtx_blocklist_ban_get(jwtx_blocklist *bl, const char *key, long long now, long long *until)
    __attribute__((warn_unused_result));

/* Bans key until `until` (> now); a later end already stored wins. Returns
 * 0 or -1. */
int jwtx_blocklist_ban_set(jwtx_blocklist *bl, const char *key, long long now, long long until)
    __attribute__((warn_unused_result));

/* Lifts key's ban and forgets its failures (`jwtx login-bans clear`).
 * Returns 0 or -1. */
int jwtx_blocklist_ban_lift(jwtx_blocklist *bl, const char *key)
    __attribute__((warn_unused_result));

/* Calls cb once per ban in force at now (key borrowed for the call, until
 * its end). cb must not use bl; a non-zero return stops the walk and this
 * returns 1. Returns 0 when done, -1 on failure. SQLite sorts by key; Redis
 * order is unspecified. */
int jwtx_blocklist_ban_list(jwtx_blocklist *bl, long long now,
                            int (*cb)(const char *key, long long until, void *ctx), void *ctx);

/*
 * Sessions: refresh-token families (JWTX_REFRESH_ROTATION). A login starts a
 * family (a random id carried in every token of the session as the claim
 * "fam"); each refresh rotates the refresh token, recording the one presented
 * as rotated; a rotated token presented again after the grace period ends the
 * family, and so does a logout. A token of a family that is not live (ended,
 * or unknown to the store) is revoked: the family is part of the revocation
 * check (jwtx_blocklist_check_family), in the same single lookup.
 *
 * SQLite: tables families (one row per family: user, started, last refresh,
 * expires, ended) and rotated (one row per rotated refresh token: its family,
 * when it was rotated, until when it is kept), schema version 3, made or
 * upgraded by `jwtx blocklist init`. On an older store the family operations
 * fail (-1), a check with a family is UNAVAILABLE (fail closed), and the
 * first such failure is logged once, saying to run `jwtx blocklist init`.
 * Redis: <prefix>fam:<id>, a hash (user, started, last, expires, until,
 * ended) with a TTL of the family's life in the store (none: forever);
 * <prefix>famst:<id>, "1" live or "0" ended, same TTL, read by the check
 * with a family in the same round trip as the jti and user keys (missing:
 * revoked); <prefix>rot:<jti>, a hash (fam, at) with a TTL of the rotated
 * token's life; <prefix>ufam:<user>, a sorted set of the user's families
 * not ended (score: their life in the store), trimmed of members whose life
 * is over whenever it is used. Start, rotate, end and end of a user are one
 * Lua script each, atomic across gateways.
 *
 * The store keeps a family until its expiry plus JWT_DECODE_LEEWAY (forever
 * when expires is 0), a rotated token until its exp plus the leeway;
 * jwtx_blocklist_purge deletes both when they are over (Redis lets them
 * expire). Every function fails closed like the others (open circuit,
 * state-change log lines, a removed or replaced SQLite file).
 */

/* Longest family id accepted (bytes); ours are UUIDs (36). */
#define JWTX_BLOCKLIST_FAMILY_MAX 128

/* As jwtx_blocklist_check, and with family non-NULL also REVOKED when that
 * family is not live in the store (ended, or unknown: a store that lost it
 * fails closed). family NULL or "" is jwtx_blocklist_check. A family longer
 * than JWTX_BLOCKLIST_FAMILY_MAX is UNAVAILABLE. One round trip. */
int jwtx_blocklist_check_family(jwtx_blocklist *bl, const char *jti, const char *user,
                                long long iat, const char *family, long long now)
    __attribute__((warn_unused_result));

/* Records a new live family of user, started at now, whose refresh tokens
 * expire at `expires` (has_expires false: never). Kept until expires +
 * leeway. A family id that exists already fails (-1). Returns 0 or -1. */
int jwtx_blocklist_family_start(jwtx_blocklist *bl, const char *family, const char *user,
                                long long now, bool has_expires, long long expires)
    __attribute__((warn_unused_result));

/* One refresh under rotation: the refresh token presented (jti, its exp,
 * its family claim) is rotated. */
typedef struct jwtx_rotation {
    const char *jti; /* the presented refresh token's jti (required) */
    bool has_exp;    /* its exp (false: none) */
    long long exp;
    const char *family;     /* its family claim; NULL: a token from before rotation */
    const char *new_family; /* with family NULL: the id of the family to start */
    const char *user;       /* the token's identity (required) */
    long long now;
    long long grace; /* JWTX_REFRESH_REUSE_GRACE, seconds >= 0 */
    bool slide;      /* JWTX_REFRESH_SLIDING: the family now expires at new_expires */
    bool has_new_expires;
    long long new_expires; /* with slide (has_new_expires false: never) */
} jwtx_rotation;

/* Results of jwtx_blocklist_family_rotate. */
enum {
    JWTX_BL_ROTATED = 0, /* rotate: issue new tokens of the family */
    JWTX_BL_REUSED = 1,  /* a rotated token came back after the grace period: the family
                            has just been ended */
    JWTX_BL_ENDED = 2    /* the family is not live (ended before, or unknown) */
};

/* Atomically (one transaction or script, safe against concurrent refreshes
 * by other processes and gateways):
 *   - if r->jti was rotated before: its family is the one recorded with it;
 *     not live: ENDED; rotated more than r->grace seconds ago: the family is
 *     ended (ended = now) and REUSED; else (within grace) the family's last
 *     refresh becomes now, with r->slide its expiry and life in the store
 *     the later of theirs and new_expires' (never being the latest: the
 *     refresh token issued now must not outlive its family), and ROTATED
 *     (a second refresh of the same token, as two tabs do; the grace period
 *     still counts from the first rotation);
 *   - else, with r->family: not live: ENDED; else r->jti is recorded as
 *     rotated at now (kept until its exp + leeway), the family's last refresh
 *     becomes now (and with r->slide its expiry new_expires), ROTATED;
 *   - else (no family claim): a family r->new_family of r->user is started
 *     (expiring as the token does, or at new_expires with slide) and r->jti
 *     recorded as rotated in it, ROTATED.
 * family_out (size >= JWTX_BLOCKLIST_FAMILY_MAX + 1) gets the family the
 * result is about ("" when unknown). Returns ROTATED, REUSED, ENDED, or -1
 * when the store cannot answer or the arguments are bad (never ROTATED then). */
int jwtx_blocklist_family_rotate(jwtx_blocklist *bl, const jwtx_rotation *r, char *family_out,
                                 size_t out_size) __attribute__((warn_unused_result));

/* Ends family at now (logout, `jwtx sessions end`). Returns 1 when a live
 * family was ended, 0 when it was not live (ended before, unknown), -1 on
 * failure. */
int jwtx_blocklist_family_end(jwtx_blocklist *bl, const char *family, long long now)
    __attribute__((warn_unused_result));

/* Ends every live family of user at now; *ended (may be NULL) gets how
 * many. Returns 0 or -1. */
int jwtx_blocklist_family_end_user(jwtx_blocklist *bl, const char *user, long long now,
                                   long long *ended) __attribute__((warn_unused_result));

/* The same, telling each family it ended to cb (may be NULL; the id is
 * borrowed for the call; cb must not use bl), in the same store step: a
 * caller that names them (audit lines) needs no list beforehand. cb is
 * called only once the families are ended. */
int jwtx_blocklist_family_end_user_each(jwtx_blocklist *bl, const char *user, long long now,
                                        void (*cb)(const char *family, void *ctx), void *ctx,
                                        long long *ended) __attribute__((warn_unused_result));

/* A family as listed. Strings borrowed for the callback. */
typedef struct jwtx_family_info {
    const char *family;
    const char *user;
    long long started;      /* login */
    long long last_refresh; /* 0: never refreshed */
    long long expires;      /* 0: never */
    long long ended;        /* 0: live */
} jwtx_family_info;

/* One family by its id, live or ended, as long as the store keeps it (its
 * life, expires + leeway, not over at now; forever when it never expires):
 * what `jwtx sessions end FAMILY` needs to name the user. One lookup (SQLite:
 * by primary key; Redis: one HMGET of <prefix>fam:<id>), whatever the number
 * of families. On 1, *info is filled: family is the argument, user points
 * to user_buf (user_size >= JWTX_BLOCKLIST_KEY_MAX + 1, NUL-terminated),
 * started, last_refresh (0: never), expires (0: never) and ended (0: live,
 * else when). Returns 1 found, 0 unknown (never started, or past its life
 * in the store), -1 on failure or bad arguments (a record the store holds
 * damaged is a failure); on 0 and -1 *info is zeroed and user_buf "". */
int jwtx_blocklist_family_get(jwtx_blocklist *bl, const char *family, long long now,
                              jwtx_family_info *info, char *user_buf, size_t user_size)
    __attribute__((warn_unused_result));

/* Calls cb once per live family (not ended, not expired at now) of user, or
 * of every user when user is NULL. cb must not use bl; a non-zero return
 * stops the walk and this returns 1. Returns 0 when done, -1 on failure.
 * SQLite sorts by started then family; Redis order is unspecified. */
int jwtx_blocklist_family_list(jwtx_blocklist *bl, const char *user, long long now,
                               int (*cb)(const jwtx_family_info *f, void *ctx), void *ctx);

#endif
