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

#include <stddef.h>

typedef int (*jwtxp_bl_list_cb)(const char *kind, const char *key, long long until, void *ctx);

typedef struct jwtxp_bl_ops {
    const char *kind;
    /* Makes the store on purpose (install time): 0 ok, -1 failed; *made one
     * of JWTX_BL_INIT_*. Stores that need nothing made only check it answers. */
    int (*init)(void *be, int *made);
    /* 0 ok, -1 unavailable */
    int (*ping)(void *be);
    /* JWTX_BL_CLEAR / REVOKED / UNAVAILABLE; jti or user may be NULL but not both */
    int (*check)(void *be, const char *jti, size_t jti_len, const char *user, size_t user_len,
                 long long iat, long long now);
    /* until 0 = forever, else until > now; ttl = until - now for stores that count down */
    int (*revoke)(void *be, const char *jti, size_t len, long long until, long long now);
    int (*revoke_user)(void *be, const char *user, size_t len, long long cutoff);
    int (*count)(void *be, long long now, long long *n);
    int (*list)(void *be, long long now, jwtxp_bl_list_cb cb, void *ctx);
    int (*purge)(void *be, long long now, long long *removed);
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
