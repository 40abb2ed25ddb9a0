/*
 * blocklist_internal.h — where the revocation front end (blocklist.c) meets
 * its back ends (blocklist_sqlite.c, blocklist_redis.c), in the manner of
 * lighttpd's mod_auth and mod_authn_*: each back end is a small table of
 * function pointers over an opaque state. The front end parses the URL,
 * validates arguments, applies the leeway and the "already expired" shortcut;
 * back ends only talk to their store and never cache answers.
 */
#ifndef JWTX_BLOCKLIST_INTERNAL_H
#define JWTX_BLOCKLIST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "jwtx/blocklist.h"

typedef int (*jwtxp_bl_list_cb)(const char *kind, const char *key, long long until, void *ctx);
typedef int (*jwtxp_bl_ban_cb)(const char *key, long long until, void *ctx);
typedef int (*jwtxp_bl_family_cb)(const jwtx_family_info *f, void *ctx);

/* One rotation (jwtx_blocklist_family_rotate) as a back end gets it: keys
 * checked, lives computed by the front end. */
typedef struct jwtxp_bl_rotate {
    const char *jti; /* the presented refresh token's jti */
    size_t jlen;
    long long jti_until; /* keep the rotated record until then (0 = forever) */
    const char *fam;     /* its family; NULL: start new_fam */
    size_t flen;
    const char *new_fam;
    size_t nflen;
    const char *user;
    size_t ulen;
    long long now, grace;
    /* The family's expiry (0 = never) and its life in the store (expires +
     * leeway, 0 = forever): for a new family, and for an existing one when
     * slide is set; otherwise unused. */
    bool slide;
    long long expires, until;
} jwtxp_bl_rotate;

/* A login-attempt operation on a SQLite store whose schema predates the
 * login tables (made by an older `jwtx blocklist init`): not a failure of
 * the store, which still answers revocation checks. */
#define JWTXP_BL_OLD_SCHEMA (-2)

typedef struct jwtxp_bl_ops {
    const char *kind;
    /* Makes the store on purpose (install time): 0 ok, -1 failed; *made one
     * of JWTX_BL_INIT_*. Stores that need nothing made only check it answers. */
    int (*init)(void *be, int *made);
    /* 0 ok, -1 unavailable */
    int (*ping)(void *be);
    /* JWTX_BL_CLEAR / REVOKED / UNAVAILABLE (JWTXP_BL_OLD_SCHEMA: fam given
     * to a store without the family tables); jti, user and fam may each be
     * NULL but not all. fam non-NULL: also REVOKED unless that family is live
     * (present and not ended). */
    int (*check)(void *be, const char *jti, size_t jti_len, const char *user, size_t user_len,
                 long long iat, const char *fam, size_t fam_len, long long now);
    /* until 0 = forever, else until > now; ttl = until - now for stores that count down */
    int (*revoke)(void *be, const char *jti, size_t len, long long until, long long now);
    int (*revoke_user)(void *be, const char *user, size_t len, long long cutoff);
    int (*count)(void *be, long long now, long long *n);
    int (*list)(void *be, long long now, jwtxp_bl_list_cb cb, void *ctx);
    int (*purge)(void *be, long long now, long long *removed);
    /* Login attempts (regulate.h), keys opaque byte strings. Each returns
     * -1 when the store cannot answer, JWTXP_BL_OLD_SCHEMA when it has no
     * place for them. attempt_add records one failure (member: an id unique
     * to this failure, so that a retried command counts it once) and counts
     * the failures in (now - window, now], keeping at most keep of them. */
    int (*attempt_add)(void *be, const char *key, size_t len, const char *member, long long now,
                       long long window, long long keep, long long *count);
    int (*attempt_count)(void *be, const char *key, size_t len, long long now, long long window,
                         long long *count);
    int (*attempt_clear)(void *be, const char *key, size_t len);
    /* 1 banned (until > now, *until set), 0 not banned */
    int (*ban_get)(void *be, const char *key, size_t len, long long now, long long *until);
    int (*ban_set)(void *be, const char *key, size_t len, long long now, long long until);
    /* Lifts the ban of key and forgets its failures. */
    int (*ban_lift)(void *be, const char *key, size_t len);
    /* Bans in force at now; cb's non-zero return stops the walk (then 1). */
    int (*ban_list)(void *be, long long now, jwtxp_bl_ban_cb cb, void *ctx);
    /* Sessions (blocklist.h). Each returns -1 when the store cannot answer,
     * JWTXP_BL_OLD_SCHEMA when it has no family tables. family_start: a
     * family that exists already is -1. family_rotate: JWTX_BL_ROTATED /
     * REUSED / ENDED as jwtx_blocklist_family_rotate, atomically; fam_out
     * gets the family (NUL-terminated, "" when unknown). family_end: 1 a live
     * family was ended, 0 it was not live. family_end_user: *n ended, each
     * told to cb (when not NULL, NUL-terminated) after the store ended it.
     * family_list: user NULL = all users; live families only (ended == 0,
     * expires == 0 or > now); cb's non-zero return stops the walk (then 1). */
    int (*family_start)(void *be, const char *fam, size_t flen, const char *user, size_t ulen,
                        long long now, long long expires, long long until);
    int (*family_rotate)(void *be, const jwtxp_bl_rotate *r, char *fam_out, size_t out_size);
    int (*family_end)(void *be, const char *fam, size_t flen, long long now);
    int (*family_end_user)(void *be, const char *user, size_t ulen, long long now,
                           void (*cb)(const char *fam, void *ctx), void *ctx, long long *n);
    int (*family_list)(void *be, const char *user, size_t ulen, long long now,
                       jwtxp_bl_family_cb cb, void *ctx);
    /* One family by id, not past its store life (until 0 or > now): 1 with
     * *info filled (family left to the caller; user copied into user_buf,
     * of user_size >= JWTX_BLOCKLIST_KEY_MAX + 1), 0 none. */
    int (*family_get)(void *be, const char *fam, size_t flen, long long now, jwtx_family_info *info,
                      char *user_buf, size_t user_size);
    const char *(*last_error)(const void *be);
    void (*destroy)(void *be);
} jwtxp_bl_ops;

/* Where a Redis server is: host+port, or a unix socket path. Owned strings. */
typedef struct jwtxp_redis_target {
    char *host; /* NULL for a unix socket */
    int port;
    char *socket;   /* NULL for TCP */
    char *user;     /* NULL: AUTH password only */
    char *password; /* NULL: no AUTH; wiped on free */
    long long db;
} jwtxp_redis_target;

extern const jwtxp_bl_ops jwtxp_bl_sqlite_ops;
extern const jwtxp_bl_ops jwtxp_bl_redis_ops;

/* Back-end constructors: never contact the store. NULL on allocation failure.
 * The Redis one takes ownership of *t's strings (and zeroes *t). */
void *jwtxp_bl_sqlite_new(const char *path, long long timeout_ms);
void *jwtxp_bl_redis_new(jwtxp_redis_target *t, const char *prefix, long long timeout_ms);

/* Frees a target's strings, wiping the password. */
void jwtxp_redis_target_clear(jwtxp_redis_target *t);

/* JWTX_BLOCKLIST as `jwtx config check` shows it, read by the parser the
 * store connects with: "" and sqlite:PATH as they are; a Redis URL rebuilt
 * from the parsed target (redis://[USER:********@]HOST:PORT/DB or
 * unix:PATH?db=N[&user=U][&password=********]), so no form of password
 * the store accepts is ever shown. Returns a new string (free it), or NULL
 * when the URL does not parse (show nothing of it) or out of memory. */
char *jwtxp_blocklist_url_masked(const char *url);

#endif
