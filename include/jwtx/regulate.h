/*
 * regulate.h — regulation of failed logins (JWTX_LOGIN_*).
 *
 * Failed logins are counted in a sliding window of JWTX_LOGIN_FIND_TIME
 * seconds for three keys at once:
 *
 *   pair     the user name and the client address together
 *            (JWTX_LOGIN_MAX_FAILURES: guessing one account from one place)
 *   address  the client address alone
 *            (JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS: spraying many names)
 *   user     the user name alone
 *            (JWTX_LOGIN_MAX_FAILURES_PER_USER: one account from many places)
 *
 * A failure counts when it happened less than FIND_TIME seconds ago. When a
 * key's count reaches its limit the key is banned for JWTX_LOGIN_BAN_TIME
 * seconds and its count starts again from zero (after the ban it has its
 * whole allowance). A limit of 0 turns that key off. Unknown and known user
 * names are counted alike, so the counts say nothing about which names
 * exist. A successful login clears the pair's count only: an attacker who
 * owns one account cannot wash an address's or a user's count with it.
 *
 * The rules live here; the counts live in a back end, a small struct of
 * function pointers (as lighttpd's mod_auth meets its mod_authn_* back ends).
 * Two back ends: the store (JWTX_BLOCKLIST, blocklist.h: one SQLite file or
 * one Redis holds the counts of every process and gateway using it) and, for
 * JWTX_BLOCKLIST = "", the in-memory back end: counts of one process, lost
 * when it exits. A web server that runs several FastCGI processes of
 * login.fcgi gives each its own counts, so an attacker whose requests are
 * spread over N processes gets up to N times the limits: weak, and
 * documented as such.
 *
 * Time comes from a clock the caller may replace (tests); seconds since the
 * epoch.
 */
#ifndef JWTX_REGULATE_H
#define JWTX_REGULATE_H

#include <stdbool.h>
#include <stddef.h>

#include "jwtx/blocklist.h"
#include "jwtx/config.h"

/* The three keys, in the order above. */
typedef enum jwtx_regulate_kind {
    JWTX_REG_PAIR = 0,
    JWTX_REG_ADDRESS = 1,
    JWTX_REG_USER = 2,
    JWTX_REG_NKINDS = 3
} jwtx_regulate_kind;

/* "pair", "address", "user" (the words of the audit log's ban= field). */
const char *jwtx_regulate_kind_name(jwtx_regulate_kind kind);

/* Longest user name kept in a key (bytes); longer names are counted by
 * their first JWTX_REGULATE_USER_MAX bytes. */
#define JWTX_REGULATE_USER_MAX 256

/* A back end: where counts and bans live. Every function returns -1 when the
 * back end cannot answer (the caller fails closed). key is a NUL-terminated
 * string made by the regulator. */
typedef struct jwtx_regulate_backend {
    const char *name;
    /* Records one failure of key at now and sets *count to the failures of
     * key that happened within (now - window, now], this one included. Only
     * the last `keep` failures need to be remembered (the count may stop
     * growing at keep). Returns 0 or -1. */
    int (*add_failure)(void *ctx, const char *key, long long now, long long window, long long keep,
                       long long *count);
    /* The same count without recording anything. */
    int (*count)(void *ctx, const char *key, long long now, long long window, long long *count);
    /* 1 with *until set when key is banned at now (until > now), 0 when not,
     * -1 on error. */
    int (*get_ban)(void *ctx, const char *key, long long now, long long *until);
    /* Bans key until `until` (a later ban end wins over an earlier one). */
    int (*set_ban)(void *ctx, const char *key, long long now, long long until);
    /* Forgets key's failures; a ban stays. */
    int (*clear)(void *ctx, const char *key);
    /* Releases ctx. */
    void (*free)(void *ctx);
} jwtx_regulate_backend;

/* The in-memory back end: one hash table per process, at most max_keys keys
 * (0: 16384). When it is full, keys with no failure in the window and no
 * ban in force are dropped first; then the key idle longest that is not
 * banned; then the ban that ends first. Every failure counted has cost the
 * client a password hash, so the O(max_keys) sweep of a full table costs
 * far less than the guess that caused it. Returns a new ctx for
 * jwtx_regulate_memory_backend (released through its free), or NULL when
 * out of memory. */
void *jwtx_regulate_memory_new(size_t max_keys);
const jwtx_regulate_backend *jwtx_regulate_memory_backend(void);

/* The store back end: ctx is a jwtx_blocklist handle, borrowed (its owner
 * frees it, after the regulator). Every call is one typed operation of the
 * store (jwtx_blocklist_attempt_*, jwtx_blocklist_ban_*), failing closed. */
const jwtx_regulate_backend *jwtx_regulate_store_backend(void);

/* A key taken apart (`jwtx login-bans`): kind, the client address ("" for a
 * user key) and the user name (NULL for an address key; borrowed from the
 * key). */
typedef struct jwtx_regulate_key_parts {
    jwtx_regulate_kind kind;
    char addr[80];
    const char *user;
} jwtx_regulate_key_parts;

/* Parses a key the regulator made. Returns 0, or -1 when key is not one. */
int jwtx_regulate_key_parse(const char *key, jwtx_regulate_key_parts *out);

/* The key of one kind for (user, addr) into out (size at least
 * JWTX_REGULATE_KEY_MAX). Returns 0, or -1 when the kind needs a user and
 * user is NULL. */
#define JWTX_REGULATE_KEY_MAX (JWTX_REGULATE_USER_MAX + 80)
int jwtx_regulate_key(jwtx_regulate_kind kind, const char *user, const char *addr, char *out,
                      size_t size);

/* The limits; a limit of 0 turns its key off. */
typedef struct jwtx_regulate_limits {
    long long find_time; /* seconds, > 0 */
    long long ban_time;  /* seconds, > 0 */
    long long max[JWTX_REG_NKINDS];
} jwtx_regulate_limits;

typedef struct jwtx_regulator jwtx_regulator;

typedef long long (*jwtx_regulate_clock_fn)(void *ctx);

/* A regulator over backend be with context be_ctx (owned from now on: freed
 * with the regulator, or at once when this fails). Returns NULL when out of
 * memory or when limits are invalid (find_time or ban_time <= 0, a limit < 0). */
jwtx_regulator *jwtx_regulate_new(const jwtx_regulate_limits *limits,
                                  const jwtx_regulate_backend *be, void *be_ctx);

/* The regulator of a config: NULL in *out when JWTX_LOGIN_REGULATION is
 * False or every limit is 0 (nothing to count), else the config's limits
 * over the store back end on store (the handle jwtx_blocklist_open made of
 * the same config, borrowed: free the regulator first) or, when store is
 * NULL (JWTX_BLOCKLIST = ""), over the in-memory back end. Returns 0, -1 when
 * out of memory or when the config names a store and store is NULL. */
int jwtx_regulate_open(const jwtx_config *cfg, jwtx_blocklist *store, jwtx_regulator **out);

void jwtx_regulate_free(jwtx_regulator *r);

/* Replaces the clock (NULL: time(NULL)). */
void jwtx_regulate_set_clock(jwtx_regulator *r, jwtx_regulate_clock_fn clock, void *ctx);

/* The regulator's current time. */
long long jwtx_regulate_now(const jwtx_regulator *r);

/* What the regulator says about one attempt. */
typedef struct jwtx_regulate_verdict {
    bool banned;             /* check: a key of this attempt is banned */
    jwtx_regulate_kind kind; /* check: the banned key whose ban ends last */
    long long until;         /* check: when the last of the bans ends */
    long long retry_after;   /* check: until - now, at least 1 */
    unsigned started;        /* failure: bit (1 << kind) for each ban this failure started */
    long long started_until; /* failure: when those bans end */
    long long count[JWTX_REG_NKINDS]; /* failure: each key's count, this failure included */
} jwtx_regulate_verdict;

/* Before the password is checked: is any key of (user, addr) banned? Fills
 * *v. Returns 0, or -1 when the back end cannot answer. */
int jwtx_regulate_check(jwtx_regulator *r, const char *user, const char *addr,
                        jwtx_regulate_verdict *v);

/* After a failed login: counts it for every key whose limit is not 0 and bans
 * the keys that reached their limit. Fills *v. Returns 0 or -1. */
int jwtx_regulate_failure(jwtx_regulator *r, const char *user, const char *addr,
                          jwtx_regulate_verdict *v);

/* Throttles the audit line of a refused (banned) attempt, per process: per
 * ban key (the verdict's kind for user and addr), at most
 * JWTX_REGULATE_LOG_OWN lines per JWTX_REGULATE_LOG_WINDOW seconds of the
 * regulator's clock for a ban on the client's address (pair, address: the
 * lines fail2ban counts, as many as its jail needs), JWTX_REGULATE_LOG_USER
 * for a user ban (which any address can make refuse, fail2ban ignores it).
 * Returns true when the line is to be written, with *suppressed = the
 * attempts of that key refused without a line since its last one (0 when
 * none, or when the key lost its slot to another: a fixed table of 64
 * slots, nothing allocated); false to write nothing (counted). */
#define JWTX_REGULATE_LOG_WINDOW 60
#define JWTX_REGULATE_LOG_OWN 10
#define JWTX_REGULATE_LOG_USER 1
bool jwtx_regulate_log_banned(jwtx_regulator *r, const jwtx_regulate_verdict *v, const char *user,
                              const char *addr, long long *suppressed);

/* After a successful login: clears the pair's count. Returns 0 or -1. */
int jwtx_regulate_success(jwtx_regulator *r, const char *user, const char *addr);

#endif
