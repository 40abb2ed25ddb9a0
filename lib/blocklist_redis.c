/*
 * blocklist_redis.c — the shared revocation store on Redis, for many
 * gateways on many machines.
 *
 * Keys: <prefix>jti:<jti> (value: the entry's end in epoch seconds, 0 = forever;
 * TTL = remaining life, none = forever)
 * and <prefix>user:<name> (value = the cut-off time, no TTL). Login attempts:
 * <prefix>login:f:<key>, a sorted set of failures (score: the time, member:
 * an id unique to the failure) with a TTL of the window, and
 * <prefix>login:ban:<key> (value: the ban's end, TTL until then).
 *
 * Sessions (refresh-token families), each key with the life the front end
 * gives it ("until": TTL = until - now, none when until is 0):
 *   <prefix>fam:<id>    hash: user, started, last (0: never refreshed),
 *                       expires (0: never), until, ended (0: live, else when);
 *                       TTL from the family's until
 *   <prefix>famst:<id>  string "1" live / "0" ended, same TTL: what a check
 *                       with a family reads (one GET pipelined with the jti
 *                       EXISTS and the user GET: one round trip; a missing
 *                       key, i.e. an unknown or lost family, revokes)
 *   <prefix>rot:<jti>   hash: fam (the family it was rotated in), at (when
 *                       first rotated); TTL from the token's until (exp +
 *                       leeway)
 *   <prefix>ufam:<user> sorted set of the user's not-ended families, score =
 *                       the family's until (+inf: forever); TTL that of its
 *                       longest-lived member. Ended families leave it;
 *                       members whose life is over (or whose family is gone)
 *                       are trimmed whenever a script uses it.
 * start, rotate, end and end-of-a-user are one Lua script each,
 * atomic across gateways; list of a user is one script too, list of every
 * user a SCAN over <prefix>fam:*.
 *
 * Keys and values are passed with %b or as counted words
 * (redisCommandArgv), so any byte string is safe. One connection per handle
 * (one per process), made on first use with a connect timeout, then AUTH and SELECT,
 * and a command timeout on every read and write. After any failure the
 * connection is dropped and made again on the next call, so a handle
 * recovers by itself when the server comes back; a connection that the
 * server closed since the last call (restart, idle timeout) is retried once
 * at once. Everything fails closed. SIGPIPE is held back during I/O, so a
 * server that vanished cannot kill the process.
 *
 * Only the hiredis 0.14 API subset that also exists in 1.x is used:
 * redisConnectWithTimeout, redisConnectUnixWithTimeout, redisSetTimeout,
 * redisCommand, redisCommandArgv, redisAppendCommand/redisGetReply,
 * freeReplyObject, redisFree
 * and c->err/c->errstr.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "jwtx/blocklist.h"
#include "blocklist_internal.h"

/* Sets a jti entry, keeping the longer life when one exists. ARGV[1] is the
 * TTL in seconds (0: forever), ARGV[2] the absolute end of the entry in epoch
 * seconds, stored as the value (0: forever) so that `jwtx blocklist list`
 * reports it exactly rather than rebuilding it from a rounded TTL. */
static const char revoke_lua[] =
    "local ttl = tonumber(ARGV[1]) "
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur then cur = tonumber(cur) or 1 "
    "  if cur == 0 or (ttl ~= 0 and cur >= tonumber(ARGV[2])) then return 0 end end "
    "if ttl == 0 then redis.call('SET', KEYS[1], '0') return 1 end "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl) return 1";

/* Sets a user cut-off, keeping the larger one. */
static const char revoke_user_lua[] =
    "local cur = tonumber(redis.call('GET', KEYS[1])) "
    "if cur ~= nil and cur >= tonumber(ARGV[1]) then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[1]) return 1";

/* Records one failure and counts the failures in the window, atomically
 * (one script: every gateway sees the same count). KEYS[1] the sorted set;
 * ARGV: member, now, window, keep. The same member sent again (a command
 * retried on a new connection) is counted once. */
static const char attempt_add_lua[] =
    "local now = tonumber(ARGV[2]) local window = tonumber(ARGV[3]) "
    "local keep = tonumber(ARGV[4]) "
    "redis.call('ZADD', KEYS[1], now, ARGV[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window) "
    "local n = redis.call('ZCARD', KEYS[1]) "
    "if n > keep then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - keep - 1) end "
    "redis.call('EXPIRE', KEYS[1], window) "
    "return redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), now)";

/* Sets a ban, keeping the later end. ARGV: until, ttl. */
static const char ban_set_lua[] = "local cur = tonumber(redis.call('GET', KEYS[1])) "
                                  "if cur ~= nil and cur >= tonumber(ARGV[1]) then return 0 end "
                                  "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1";

#define SCAN_COUNT 500

/* The Lua scripts, sent as EVALSHA of their SHA1 (computed once per
 * handle, on first use), and in full (EVAL) only when the server answers
 * NOSCRIPT: a new or restarted server, or SCRIPT FLUSH. The server then
 * caches the script again, so the next EVALSHA finds it. EVALSHA of a
 * script the server does not have runs nothing, so sending EVAL after it
 * never runs a script twice; any other answer (an error too) is the
 * script's, checked as before: nothing fails open. */
enum {
    SCR_REVOKE,
    SCR_REVOKE_USER,
    SCR_ATTEMPT_ADD,
    SCR_BAN_SET,
    SCR_FAM_START,
    SCR_FAM_ROTATE,
    SCR_FAM_END,
    SCR_FAM_END_USER,
    SCR_FAM_LIST,
    SCR__N
};

typedef struct redis_be {
    jwtxp_redis_target t;
    char *prefix;
    size_t prefix_len;
    struct timeval tv;
    redisContext *c;
    pid_t pid;
    char where[160]; /* "redis 127.0.0.1:6379" or "redis unix:/path", for messages */
    char err[512];
    char sha[SCR__N][41]; /* SHA1 of each script, hex; "" until first used */
} redis_be;

static const char *const script_texts[SCR__N];

/* The SHA1 of text in lowercase hex into out (41 bytes), as Redis names
 * its scripts; "" when it cannot be computed (then EVAL is used). */
static void script_sha(const char *text, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        return;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Runs script id: argv[0] and argv[1] are filled here (EVALSHA sha, or
 * EVAL text), argv[2..] are numkeys, the keys and the arguments. The
 * reply (NULL on an I/O error), to be checked by the caller. */
static redisReply *run_script(redis_be *b, int id, int argc, const char **argv, size_t *len)
{
    const char *text = script_texts[id];
    if (b->sha[id][0] == '\0')
        script_sha(text, b->sha[id]);
    if (b->sha[id][0] != '\0') {
        argv[0] = "EVALSHA";
        len[0] = 7;
        argv[1] = b->sha[id];
        len[1] = 40;
        redisReply *r = redisCommandArgv(b->c, argc, argv, len);
        if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL ||
            strncmp(r->str, "NOSCRIPT", 8) != 0)
            return r;
        freeReplyObject(r);
    }
    argv[0] = "EVAL";
    len[0] = 4;
    argv[1] = text;
    len[1] = strlen(text);
    return redisCommandArgv(b->c, argc, argv, len);
}

/* Script id on one key with up to four arguments (decimal numbers, or a
 * string in args_s[i] when not NULL). */
static redisReply *script_on_key(redis_be *b, int id, const char *key, size_t klen, int nargs,
                                 const char *const *args_s, const long long *args_n)
{
    const char *argv[8];
    size_t len[8];
    char nums[4][24];
    argv[2] = "1";
    len[2] = 1;
    argv[3] = key;
    len[3] = klen;
    for (int i = 0; i < nargs && i < 4; i++) {
        if (args_s != NULL && args_s[i] != NULL) {
            argv[4 + i] = args_s[i];
            len[4 + i] = strlen(args_s[i]);
        } else {
            int w = snprintf(nums[i], sizeof nums[i], "%lld", args_n[i]);
            argv[4 + i] = nums[i];
            len[4 + i] = (size_t)w;
        }
    }
    return run_script(b, id, 4 + (nargs < 4 ? nargs : 4), argv, len);
}

/* An operation on a connected context: 0 ok, -1 failed (b->err set). */
typedef int (*redis_op)(redis_be *b, void *arg);

/* Sets b->err. A server's error text may quote the command it refused
 * (Redis: "ERR unknown command 'AUTH', with args beginning with: '<the
 * password>'" where AUTH is renamed away): the password is masked wherever
 * it appears, so the cause that is logged and printed never holds it. */
static int fail(redis_be *b, const char *what, const char *detail)
{
    const char *pw = b->t.password;
    size_t pwlen = pw ? strlen(pw) : 0;
    if (pwlen == 0 || strstr(detail, pw) == NULL) {
        snprintf(b->err, sizeof b->err, "%s: %s: %s", b->where, what, detail);
        return -1;
    }
    char masked[sizeof b->err];
    size_t n = 0;
    for (const char *s = detail; *s != '\0' && n + 1 < sizeof masked;) {
        if (strncmp(s, pw, pwlen) == 0) {
            int w = snprintf(masked + n, sizeof masked - n, "********");
            n += (size_t)w < sizeof masked - n ? (size_t)w : sizeof masked - n - 1;
            s += pwlen;
        } else {
            masked[n++] = *s++;
        }
    }
    masked[n] = '\0';
    if (snprintf(b->err, sizeof b->err, "%s: %s: %s", b->where, what, masked) < 0)
        snprintf(b->err, sizeof b->err, "%s: %s", b->where, what);
    OPENSSL_cleanse(masked, sizeof masked);
    return -1;
}

static void drop(redis_be *b)
{
    if (b->c != NULL)
        redisFree(b->c);
    b->c = NULL;
}

/* A reply of the wanted type, else -1 with b->err set (NULL = I/O error). */
static int want(redis_be *b, const redisReply *r, int type, const char *what)
{
    if (r == NULL)
        return fail(b, what, b->c->err ? b->c->errstr : "no reply");
    if (r->type == REDIS_REPLY_ERROR)
        return fail(b, what, r->str ? r->str : "error reply");
    if (r->type != type)
        return fail(b, what, "unexpected reply type");
    return 0;
}

static int connect_now(redis_be *b)
{
    if (b->c != NULL && b->pid != getpid())
        drop(b); /* inherited across fork(): closing our copy of the socket is harmless */
    if (b->c != NULL && b->c->err != 0)
        drop(b);
    if (b->c != NULL)
        return 0;
    b->c = b->t.socket ? redisConnectUnixWithTimeout(b->t.socket, b->tv)
                       : redisConnectWithTimeout(b->t.host, b->t.port, b->tv);
    if (b->c == NULL)
        return fail(b, "connect", "out of memory");
    if (b->c->err != 0) {
        fail(b, "connect", b->c->errstr);
        drop(b);
        return -1;
    }
    b->pid = getpid();
    if (redisSetTimeout(b->c, b->tv) != REDIS_OK) {
        fail(b, "set timeout", b->c->errstr);
        drop(b);
        return -1;
    }
    if (b->t.password != NULL) {
        redisReply *r = b->t.user
                            ? redisCommand(b->c, "AUTH %b %b", b->t.user, strlen(b->t.user),
                                           b->t.password, strlen(b->t.password))
                            : redisCommand(b->c, "AUTH %b", b->t.password, strlen(b->t.password));
        int rc = want(b, r, REDIS_REPLY_STATUS, "AUTH");
        freeReplyObject(r);
        if (rc != 0) {
            drop(b);
            return -1;
        }
    }
    if (b->t.db != 0) {
        redisReply *r = redisCommand(b->c, "SELECT %lld", b->t.db);
        int rc = want(b, r, REDIS_REPLY_STATUS, "SELECT");
        freeReplyObject(r);
        if (rc != 0) {
            drop(b);
            return -1;
        }
    }
    return 0;
}

/*
 * Runs op on a connection, SIGPIPE held back. A connection that was already
 * open and turns out closed by the server (EOF, reset) is made again and op
 * retried once: every op is a read or an idempotent write, or a family
 * script whose second run is harmless (a rotation sent twice answers
 * ROTATED of the same family the second time, as a refresh within the grace
 * period does; a start sent twice fails, closed; an end answers 0, "not
 * live", the second time). Any failure
 * drops the connection, so the next call starts afresh (AUTH, SELECT).
 */
static int run_op(redis_be *b, redis_op op, void *arg)
{
    sigset_t pipe_set, old_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = b->c != NULL && b->c->err == 0 && b->pid == getpid();
        if (connect_now(b) != 0)
            break;
        rc = op(b, arg);
        int e = errno;
        if (rc == 0)
            break;
        bool closed = b->c->err == REDIS_ERR_EOF ||
                      (b->c->err == REDIS_ERR_IO && (e == ECONNRESET || e == EPIPE));
        drop(b);
        if (!(reused && closed))
            break;
    }

    if (!was_pending) {
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            (void)sigtimedwait(&pipe_set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    return rc;
}

/* <prefix><kind><s> as a new buffer; *len gets its length. */
static char *make_key(redis_be *b, const char *kind, const char *s, size_t slen, size_t *len)
{
    size_t klen = strlen(kind);
    char *k = malloc(b->prefix_len + klen + slen + 1);
    if (k == NULL)
        return NULL;
    memcpy(k, b->prefix, b->prefix_len);
    memcpy(k + b->prefix_len, kind, klen);
    memcpy(k + b->prefix_len + klen, s, slen);
    *len = b->prefix_len + klen + slen;
    k[*len] = '\0';
    return k;
}

/* Strict decimal integer (a cut-off value); -1 when it is not one. */
static int parse_ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20)
        return -1;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || end == buf || buf[0] == ' ' || buf[0] == '+')
        return -1;
    *out = v;
    return 0;
}

/* ---- ping */

static int op_ping(redis_be *b, void *arg)
{
    (void)arg;
    redisReply *r = redisCommand(b->c, "PING");
    int rc = want(b, r, REDIS_REPLY_STATUS, "PING");
    freeReplyObject(r);
    return rc;
}

static int rd_ping(void *be)
{
    return run_op(be, op_ping, NULL);
}

/* Nothing to make in Redis: keys appear as revocations come in. */
static int rd_init(void *be, int *made)
{
    *made = JWTX_BL_INIT_EXISTS;
    return run_op(be, op_ping, NULL);
}

/* ---- check */

typedef struct check_arg {
    const char *jk, *uk, *fk; /* fk: the family's state key, only for a check with a family */
    size_t jklen, uklen, fklen;
    long long iat;
    int result;
} check_arg;

static int op_check(redis_be *b, void *arg)
{
    check_arg *a = arg;
    /* One round trip: every command goes out before any reply is read (two
     * without a family, as ever; a family adds one GET to the same trip). */
    if (a->jk != NULL && redisAppendCommand(b->c, "EXISTS %b", a->jk, a->jklen) != REDIS_OK)
        return fail(b, "EXISTS", "out of memory");
    if (a->uk != NULL && redisAppendCommand(b->c, "GET %b", a->uk, a->uklen) != REDIS_OK)
        return fail(b, "GET", "out of memory");
    if (a->fk != NULL && redisAppendCommand(b->c, "GET %b", a->fk, a->fklen) != REDIS_OK)
        return fail(b, "GET", "out of memory");
    int rc = 0;
    bool revoked = false;
    if (a->jk != NULL) {
        redisReply *r = NULL;
        if (redisGetReply(b->c, (void **)&r) != REDIS_OK)
            r = NULL;
        rc = want(b, r, REDIS_REPLY_INTEGER, "EXISTS");
        if (rc == 0 && r->integer > 0)
            revoked = true;
        freeReplyObject(r);
        if (r == NULL)
            return -1;
    }
    if (a->uk != NULL) {
        redisReply *r = NULL;
        if (redisGetReply(b->c, (void **)&r) != REDIS_OK)
            r = NULL;
        if (r == NULL)
            return fail(b, "GET", b->c->err ? b->c->errstr : "no reply");
        if (r->type == REDIS_REPLY_STRING) {
            long long cutoff;
            if (parse_ll(r->str, r->len, &cutoff) != 0)
                rc = fail(b, "GET", "a user cut-off is not an integer");
            else if (cutoff >= a->iat)
                revoked = true;
        } else if (r->type != REDIS_REPLY_NIL) {
            int rc2 = want(b, r, REDIS_REPLY_STRING, "GET");
            rc = rc ? rc : rc2;
        }
        freeReplyObject(r);
    }
    if (a->fk != NULL) {
        /* The family's state: "1" live; "0" ended and nothing (unknown, or
         * lost by the store) both revoke. */
        redisReply *r = NULL;
        if (redisGetReply(b->c, (void **)&r) != REDIS_OK)
            r = NULL;
        if (r == NULL)
            return fail(b, "GET", b->c->err ? b->c->errstr : "no reply");
        if (r->type == REDIS_REPLY_STRING) {
            if (r->len == 1 && r->str[0] == '0')
                revoked = true;
            else if (!(r->len == 1 && r->str[0] == '1') && rc == 0)
                rc = fail(b, "GET", "a family state is not 0 or 1");
        } else if (r->type == REDIS_REPLY_NIL) {
            revoked = true;
        } else {
            int rc2 = want(b, r, REDIS_REPLY_STRING, "GET");
            rc = rc ? rc : rc2;
        }
        freeReplyObject(r);
    }
    if (rc == 0)
        a->result = revoked ? JWTX_BL_REVOKED : JWTX_BL_CLEAR;
    return rc;
}

static int rd_check(void *be, const char *jti, size_t jti_len, const char *user, size_t user_len,
                    long long iat, const char *fam, size_t fam_len, long long now)
{
    redis_be *b = be;
    (void)now; /* Redis expires jti keys by itself */
    check_arg a = {.iat = iat, .result = JWTX_BL_UNAVAILABLE};
    int rc = 0;
    if (jti != NULL && (a.jk = make_key(b, "jti:", jti, jti_len, &a.jklen)) == NULL)
        rc = fail(b, "check", "out of memory");
    if (rc == 0 && user != NULL && (a.uk = make_key(b, "user:", user, user_len, &a.uklen)) == NULL)
        rc = fail(b, "check", "out of memory");
    if (rc == 0 && fam != NULL && (a.fk = make_key(b, "famst:", fam, fam_len, &a.fklen)) == NULL)
        rc = fail(b, "check", "out of memory");
    if (rc == 0)
        rc = run_op(b, op_check, &a);
    free((char *)a.jk);
    free((char *)a.uk);
    free((char *)a.fk);
    return rc == 0 ? a.result : JWTX_BL_UNAVAILABLE;
}

/* ---- revoke */

typedef struct eval_arg {
    int script;
    const char *key;
    size_t klen;
    long long value, value2; /* ARGV[1], ARGV[2] */
} eval_arg;

static int op_eval(redis_be *b, void *arg)
{
    eval_arg *a = arg;
    long long v[2] = {a->value, a->value2};
    redisReply *r = script_on_key(b, a->script, a->key, a->klen, 2, NULL, v);
    int rc = want(b, r, REDIS_REPLY_INTEGER, "EVAL");
    freeReplyObject(r);
    return rc;
}

static int eval_on_key(redis_be *b, int script, const char *kind, const char *s, size_t len,
                       long long value, long long value2)
{
    eval_arg a = {.script = script, .value = value, .value2 = value2};
    char *key = make_key(b, kind, s, len, &a.klen);
    if (key == NULL)
        return fail(b, "revoke", "out of memory");
    a.key = key;
    int rc = run_op(b, op_eval, &a);
    free(key);
    return rc;
}

static int rd_revoke(void *be, const char *jti, size_t len, long long until, long long now)
{
    long long ttl = until == 0 ? 0 : until - now; /* the front end ensures until > now */
    return eval_on_key(be, SCR_REVOKE, "jti:", jti, len, ttl, until);
}

static int rd_revoke_user(void *be, const char *user, size_t len, long long cutoff)
{
    return eval_on_key(be, SCR_REVOKE_USER, "user:", user, len, cutoff, 0);
}

/* ---- count, list: SCAN over <prefix>* */

typedef struct scan_arg {
    long long now;
    jwtxp_bl_list_cb cb; /* NULL: count only */
    void *ctx;
    long long n;
    int stopped;
} scan_arg;

/* Which kind a scanned key is, and where its name starts; NULL for others. */
static const char *key_kind(redis_be *b, const char *k, size_t len, size_t *off)
{
    if (len < b->prefix_len || memcmp(k, b->prefix, b->prefix_len) != 0)
        return NULL;
    k += b->prefix_len;
    len -= b->prefix_len;
    if (len > 4 && memcmp(k, "jti:", 4) == 0) {
        *off = b->prefix_len + 4;
        return "jti";
    }
    if (len > 5 && memcmp(k, "user:", 5) == 0) {
        *off = b->prefix_len + 5;
        return "user";
    }
    return NULL;
}

/* Reports one batch of keys (GET, pipelined): a jti key holds the end of its
 * entry (0: forever), a user key its cut-off. */
static int report_batch(redis_be *b, redisReply *keys, void *arg)
{
    scan_arg *a = arg;
    size_t sent = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        size_t off;
        const char *kind = k->type == REDIS_REPLY_STRING ? key_kind(b, k->str, k->len, &off) : NULL;
        if (kind == NULL)
            continue;
        int ok = redisAppendCommand(b->c, "GET %b", k->str, k->len);
        if (ok != REDIS_OK)
            return fail(b, "list", "out of memory");
        sent++;
    }
    int rc = 0;
    for (size_t i = 0; i < keys->elements && sent > 0; i++) {
        redisReply *k = keys->element[i];
        size_t off;
        const char *kind = k->type == REDIS_REPLY_STRING ? key_kind(b, k->str, k->len, &off) : NULL;
        if (kind == NULL)
            continue;
        sent--;
        redisReply *r = NULL;
        if (redisGetReply(b->c, (void **)&r) != REDIS_OK || r == NULL)
            return fail(b, "list", b->c->errstr[0] ? b->c->errstr : "no reply");
        long long until = 0;
        bool live = false;
        if (r->type == REDIS_REPLY_ERROR) {
            if (rc == 0)
                rc = fail(b, "list", r->str ? r->str : "error reply");
        } else if (r->type == REDIS_REPLY_STRING) {
            /* NIL: expired meanwhile, not listed. */
            if (parse_ll(r->str, r->len, &until) == 0 && until >= 0 &&
                (kind[0] == 'u' || until == 0 || until > a->now))
                live = true;
            else if (parse_ll(r->str, r->len, &until) != 0 && rc == 0)
                rc = fail(b, "list", "an entry's value is not an integer");
        }
        freeReplyObject(r);
        if (rc == 0 && live && !a->stopped) {
            a->n++;
            if (a->cb != NULL && a->cb(kind, k->str + off, until, a->ctx) != 0)
                a->stopped = 1;
        }
    }
    return rc;
}

/* A SCAN over the keys <prefix><sub>*, one batch of keys at a time. */
typedef struct key_scan {
    int (*batch)(redis_be *b, redisReply *keys, void *arg); /* 0 or -1 (failed) */
    void (*reset)(void *arg); /* before each try: run_op may try twice */
    void *arg;
    const int *stopped; /* set by batch: no further batch is wanted */
    char *pattern;
    size_t plen;
} key_scan;

static int op_key_scan(redis_be *b, void *arg)
{
    key_scan *ks = arg;
    char cursor[32] = "0";
    ks->reset(ks->arg);
    do {
        redisReply *r = redisCommand(b->c, "SCAN %s MATCH %b COUNT %d", cursor, ks->pattern,
                                     ks->plen, SCAN_COUNT);
        if (want(b, r, REDIS_REPLY_ARRAY, "SCAN") != 0) {
            freeReplyObject(r);
            return -1;
        }
        if (r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[0]->len >= sizeof cursor || r->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            return fail(b, "SCAN", "unexpected reply");
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        int rc = ks->batch(b, r->element[1], ks->arg);
        freeReplyObject(r);
        if (rc != 0)
            return -1;
    } while (strcmp(cursor, "0") != 0 && !*ks->stopped);
    return 0;
}

static int scan_keys(redis_be *b, const char *sub, key_scan *ks)
{
    /* MATCH takes a glob: escape the prefix's own glob characters. */
    size_t sublen = strlen(sub);
    ks->pattern = malloc(2 * b->prefix_len + sublen + 2);
    if (ks->pattern == NULL)
        return fail(b, "scan", "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < b->prefix_len; i++) {
        if (strchr("*?[]\\", b->prefix[i]) != NULL)
            ks->pattern[o++] = '\\';
        ks->pattern[o++] = b->prefix[i];
    }
    memcpy(ks->pattern + o, sub, sublen);
    o += sublen;
    ks->pattern[o++] = '*';
    ks->plen = o;
    int rc = run_op(b, op_key_scan, ks);
    free(ks->pattern);
    return rc;
}

static void scan_reset(void *arg)
{
    scan_arg *a = arg;
    a->n = 0;
    a->stopped = 0;
}

static int scan(redis_be *b, scan_arg *a)
{
    key_scan ks = {.batch = report_batch, .reset = scan_reset, .arg = a, .stopped = &a->stopped};
    return scan_keys(b, "", &ks);
}

static int rd_count(void *be, long long now, long long *n)
{
    scan_arg a = {.now = now};
    if (scan(be, &a) != 0)
        return -1;
    *n = a.n;
    return 0;
}

static int rd_list(void *be, long long now, jwtxp_bl_list_cb cb, void *ctx)
{
    scan_arg a = {.now = now, .cb = cb, .ctx = ctx};
    if (scan(be, &a) != 0)
        return -1;
    return a.stopped ? 1 : 0;
}

static int rd_purge(void *be, long long now, long long *removed)
{
    (void)now;
    /* Redis deletes expired keys itself; still report whether it answers. */
    if (run_op(be, op_ping, NULL) != 0)
        return -1;
    *removed = 0;
    return 0;
}

/* ---- login attempts */

typedef struct login_arg {
    const char *key;
    size_t klen;
    const char *key2; /* ban_lift: the failures key too */
    size_t k2len;
    const char *member;
    long long now, window, keep, until;
    long long result; /* a count, or a ban's end */
    int found;
} login_arg;

static int op_attempt_add(redis_be *b, void *arg)
{
    login_arg *a = arg;
    const char *s[4] = {a->member, NULL, NULL, NULL};
    long long v[4] = {0, a->now, a->window, a->keep};
    redisReply *r = script_on_key(b, SCR_ATTEMPT_ADD, a->key, a->klen, 4, s, v);
    int rc = want(b, r, REDIS_REPLY_INTEGER, "record a login failure");
    if (rc == 0)
        a->result = r->integer;
    freeReplyObject(r);
    return rc;
}

static int op_attempt_count(redis_be *b, void *arg)
{
    login_arg *a = arg;
    redisReply *r =
        redisCommand(b->c, "ZCOUNT %b (%lld %lld", a->key, a->klen, a->now - a->window, a->now);
    int rc = want(b, r, REDIS_REPLY_INTEGER, "count login failures");
    if (rc == 0)
        a->result = r->integer;
    freeReplyObject(r);
    return rc;
}

static int op_del(redis_be *b, void *arg)
{
    login_arg *a = arg;
    redisReply *r = a->key2 != NULL
                        ? redisCommand(b->c, "DEL %b %b", a->key, a->klen, a->key2, a->k2len)
                        : redisCommand(b->c, "DEL %b", a->key, a->klen);
    int rc = want(b, r, REDIS_REPLY_INTEGER, "DEL");
    freeReplyObject(r);
    return rc;
}

static int op_ban_get(redis_be *b, void *arg)
{
    login_arg *a = arg;
    redisReply *r = redisCommand(b->c, "GET %b", a->key, a->klen);
    if (r == NULL)
        return fail(b, "read a login ban", b->c->err ? b->c->errstr : "no reply");
    int rc = 0;
    a->found = 0;
    if (r->type == REDIS_REPLY_STRING) {
        if (parse_ll(r->str, r->len, &a->result) != 0)
            rc = fail(b, "read a login ban", "a ban's end is not an integer");
        else
            a->found = 1;
    } else if (r->type != REDIS_REPLY_NIL) {
        rc = want(b, r, REDIS_REPLY_STRING, "read a login ban");
    }
    freeReplyObject(r);
    return rc;
}

static int op_ban_set(redis_be *b, void *arg)
{
    login_arg *a = arg;
    long long v[2] = {a->until, a->until - a->now};
    redisReply *r = script_on_key(b, SCR_BAN_SET, a->key, a->klen, 2, NULL, v);
    int rc = want(b, r, REDIS_REPLY_INTEGER, "set a login ban");
    freeReplyObject(r);
    return rc;
}

/* Runs op on <prefix>login:<kind><key> (and, for a lift, the failures key). */
static int login_op(redis_be *b, redis_op op, const char *kind, login_arg *a, const char *key,
                    size_t len, bool with_failures)
{
    char *k = make_key(b, kind, key, len, &a->klen);
    char *k2 = with_failures ? make_key(b, "login:f:", key, len, &a->k2len) : NULL;
    int rc;
    if (k == NULL || (with_failures && k2 == NULL))
        rc = fail(b, "login attempts", "out of memory");
    else {
        a->key = k;
        a->key2 = k2;
        rc = run_op(b, op, a);
    }
    free(k);
    free(k2);
    return rc;
}

static int rd_attempt_add(void *be, const char *key, size_t len, const char *member, long long now,
                          long long window, long long keep, long long *count)
{
    login_arg a = {.member = member, .now = now, .window = window, .keep = keep};
    if (login_op(be, op_attempt_add, "login:f:", &a, key, len, false) != 0)
        return -1;
    *count = a.result;
    return 0;
}

static int rd_attempt_count(void *be, const char *key, size_t len, long long now, long long window,
                            long long *count)
{
    login_arg a = {.now = now, .window = window};
    if (login_op(be, op_attempt_count, "login:f:", &a, key, len, false) != 0)
        return -1;
    *count = a.result;
    return 0;
}

static int rd_attempt_clear(void *be, const char *key, size_t len)
{
    login_arg a = {0};
    return login_op(be, op_del, "login:f:", &a, key, len, false);
}

static int rd_ban_get(void *be, const char *key, size_t len, long long now, long long *until)
{
    login_arg a = {.now = now};
    if (login_op(be, op_ban_get, "login:ban:", &a, key, len, false) != 0)
        return -1;
    if (!a.found || a.result <= now)
        return 0;
    *until = a.result;
    return 1;
}

static int rd_ban_set(void *be, const char *key, size_t len, long long now, long long until)
{
    login_arg a = {.now = now, .until = until};
    return login_op(be, op_ban_set, "login:ban:", &a, key, len, false);
}

static int rd_ban_lift(void *be, const char *key, size_t len)
{
    login_arg a = {0};
    return login_op(be, op_del, "login:ban:", &a, key, len, true);
}

typedef struct ban_scan_arg {
    long long now;
    jwtxp_bl_ban_cb cb;
    void *ctx;
    int stopped;
    size_t skip; /* length of <prefix>login:ban: */
} ban_scan_arg;

static void ban_scan_reset(void *arg)
{
    ((ban_scan_arg *)arg)->stopped = 0;
}

/* Reports one batch of ban keys (GET, pipelined): each holds its ban's end. */
static int ban_batch(redis_be *b, redisReply *keys, void *arg)
{
    ban_scan_arg *a = arg;
    size_t sent = 0;
    int rc = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len <= a->skip)
            continue;
        if (redisAppendCommand(b->c, "GET %b", k->str, k->len) != REDIS_OK)
            return fail(b, "list login bans", "out of memory");
        sent++;
    }
    for (size_t i = 0; i < keys->elements && sent > 0; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len <= a->skip)
            continue;
        sent--;
        redisReply *g = NULL;
        if (redisGetReply(b->c, (void **)&g) != REDIS_OK || g == NULL)
            return fail(b, "list login bans", b->c->errstr[0] ? b->c->errstr : "no reply");
        long long until = 0;
        if (g->type == REDIS_REPLY_STRING && parse_ll(g->str, g->len, &until) == 0 &&
            until > a->now && rc == 0 && !a->stopped) {
            if (a->cb(k->str + a->skip, until, a->ctx) != 0)
                a->stopped = 1;
        } else if (g->type == REDIS_REPLY_ERROR && rc == 0) {
            rc = fail(b, "list login bans", g->str ? g->str : "error reply");
        }
        freeReplyObject(g);
    }
    return rc;
}

static int rd_ban_list(void *be, long long now, jwtxp_bl_ban_cb cb, void *ctx)
{
    redis_be *b = be;
    static const char kind[] = "login:ban:";
    ban_scan_arg a = {.now = now, .cb = cb, .ctx = ctx, .skip = b->prefix_len + sizeof kind - 1};
    key_scan ks = {.batch = ban_batch, .reset = ban_scan_reset, .arg = &a, .stopped = &a.stopped};
    if (scan_keys(b, kind, &ks) != 0)
        return -1;
    return a.stopped ? 1 : 0;
}

static const char *rd_last_error(const void *be)
{
    return ((const redis_be *)be)->err;
}

static void rd_destroy(void *be)
{
    redis_be *b = be;
    if (b == NULL)
        return;
    drop(b);
    jwtxp_redis_target_clear(&b->t);
    free(b->prefix);
    free(b);
}

void *jwtxp_bl_redis_new(jwtxp_redis_target *t, const char *prefix, long long timeout_ms)
{
    redis_be *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->prefix = strdup(prefix);
    if (b->prefix == NULL) {
        free(b);
        return NULL;
    }
    b->prefix_len = strlen(prefix);
    b->t = *t;
    memset(t, 0, sizeof *t);
    b->tv.tv_sec = (time_t)(timeout_ms / 1000);
    b->tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
    if (b->t.socket)
        snprintf(b->where, sizeof b->where, "redis unix:%s", b->t.socket);
    else
        snprintf(b->where, sizeof b->where, "redis %s:%d", b->t.host, b->t.port);
    return b;
}

/* ---- sessions (refresh-token families)
 *
 * Every family operation is one EVAL (atomic: no other client's command
 * runs in between, so two gateways rotating the same token at once are
 * serialised). Each script gets ARGV[1] = now and ARGV[2] = the prefix,
 * and builds the keys of a family it only learns inside (the family a
 * rotated record names, the families in a user's index) from them. Values
 * the caller gave (times, user names) are stored as the strings sent, never
 * through a Lua number, so they come back exactly. */

/* Helpers every family script starts with. live_ttl gives key k the life
 * `until` (a decimal string; 0 = forever, no TTL; a life already over
 * keeps the key one second; one too far off to count down is kept
 * forever). index_fix trims a user's index of families whose life is over
 * and gives it the life of its longest-lived member. end_family ends a live
 * family (state 0 with its TTL kept, ended = now, out of its user's index):
 * 1, or 0 when it was not live. A state without its record is a damaged
 * family: the script fails (the caller answers -1). */
#define FAMILY_LUA_HELPERS                                                                         \
    "local now = tonumber(ARGV[1]) local P = ARGV[2] "                                             \
    "local function live_ttl(k, u) u = tonumber(u) "                                               \
    "  if u == 0 then redis.call('PERSIST', k) return end "                                        \
    "  local t = u - now if t < 1 then t = 1 end "                                                 \
    "  if t > 1e11 then redis.call('PERSIST', k) return end "                                      \
    "  redis.call('EXPIRE', k, string.format('%d', t)) end "                                       \
    "local function index_fix(k) "                                                                 \
    "  redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[1]) "                                        \
    "  local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES') "                                 \
    "  if top[1] == nil then return end "                                                          \
    "  if top[2] == 'inf' then redis.call('PERSIST', k) else live_ttl(k, top[2]) end end "         \
    "local function index_add(k, f, u) "                                                           \
    "  redis.call('ZADD', k, u == '0' and '+inf' or u, f) index_fix(k) end "                       \
    "local function family_user(f) "                                                               \
    "  if redis.call('GET', P .. 'famst:' .. f) ~= '1' then return nil end "                       \
    "  local u = redis.call('HGET', P .. 'fam:' .. f, 'user') "                                    \
    "  if not u then error('a live family has no record') end "                                    \
    "  return u end "                                                                              \
    "local function end_family(f) "                                                                \
    "  local u = family_user(f) if not u then return 0 end "                                       \
    "  redis.call('SETRANGE', P .. 'famst:' .. f, 0, '0') "                                        \
    "  redis.call('HSET', P .. 'fam:' .. f, 'ended', ARGV[1]) "                                    \
    "  local ik = P .. 'ufam:' .. u redis.call('ZREM', ik, f) index_fix(ik) "                      \
    "  return 1 end "

/* Starts a family. KEYS: fam, famst, ufam of its user; ARGV[3..6]: user,
 * expires, until, the family id. 1 when the id is taken; 0 when started,
 * also when the same start is sent again (a command retried on a new
 * connection after the first went through). */
static const char family_start_lua[] = FAMILY_LUA_HELPERS
    "local cur = redis.call('HMGET', KEYS[1], 'user', 'started') "
    "local st = redis.call('GET', KEYS[2]) "
    "if cur[1] or st then "
    "  if cur[1] == ARGV[3] and cur[2] == ARGV[1] and st == '1' then return 0 end "
    "  return 1 end "
    "redis.call('HSET', KEYS[1], 'user', ARGV[3], 'started', ARGV[1], 'last', '0', "
    "  'expires', ARGV[4], 'until', ARGV[5], 'ended', '0') "
    "redis.call('SET', KEYS[2], '1') "
    "live_ttl(KEYS[1], ARGV[5]) live_ttl(KEYS[2], ARGV[5]) "
    "index_add(KEYS[3], ARGV[6], ARGV[5]) "
    "return 0";

/* One rotation, by the rules of jwtx_blocklist_family_rotate. later(a, b)
 * is the later of two expiries or lives as decimal strings ('0': never, the
 * latest; one that is not a number fails the script). KEYS: rot of
 * the jti, fam and famst of the token's family (or of the new one), ufam of
 * the user. ARGV[3..]: family id, 'f' (the token has it) or 'n' (start it),
 * user, grace, the rotated record's until, slide '1'/'0', the family's
 * expires and until (new family, or slide). Answers {result, family}. A
 * rotated record names the family it was rotated in: that one counts, and
 * the grace period runs from its first rotation. */
static const char family_rotate_lua[] = FAMILY_LUA_HELPERS
    "local function later(a, b) "
    "  if a == '0' or b == '0' then return '0' end "
    "  local x, y = tonumber(a), tonumber(b) "
    "  if not x or not y then error('a family record is damaged') end "
    "  if x >= y then return a end return b end "
    "local rec = redis.call('HMGET', KEYS[1], 'fam', 'at') "
    "if rec[1] then "
    "  local f = rec[1] "
    "  if not family_user(f) then return {2, f} end "
    "  local at = tonumber(rec[2]) "
    "  if not at then error('a rotated record has no time') end "
    "  if now - at > tonumber(ARGV[6]) then end_family(f) return {1, f} end "
    "  local fk = P .. 'fam:' .. f "
    "  redis.call('HSET', fk, 'last', ARGV[1]) "
    "  if ARGV[8] == '1' then "
    "    local cur = redis.call('HMGET', fk, 'expires', 'until') "
    "    local e, u = later(cur[1], ARGV[9]), later(cur[2], ARGV[10]) "
    "    redis.call('HSET', fk, 'expires', e, 'until', u) "
    "    live_ttl(fk, u) live_ttl(P .. 'famst:' .. f, u) "
    "    index_add(P .. 'ufam:' .. family_user(f), f, u) end "
    "  return {0, f} end "
    "local f = ARGV[3] "
    "if ARGV[4] == 'f' then "
    "  local u = family_user(f) "
    "  if not u then return {2, f} end "
    "  redis.call('HSET', KEYS[2], 'last', ARGV[1]) "
    "  if ARGV[8] == '1' then "
    "    redis.call('HSET', KEYS[2], 'expires', ARGV[9], 'until', ARGV[10]) "
    "    live_ttl(KEYS[2], ARGV[10]) live_ttl(KEYS[3], ARGV[10]) "
    "    index_add(P .. 'ufam:' .. u, f, ARGV[10]) end "
    "else "
    "  if redis.call('EXISTS', KEYS[2], KEYS[3]) ~= 0 then error('the new family exists') end "
    "  redis.call('HSET', KEYS[2], 'user', ARGV[5], 'started', ARGV[1], 'last', ARGV[1], "
    "    'expires', ARGV[9], 'until', ARGV[10], 'ended', '0') "
    "  redis.call('SET', KEYS[3], '1') "
    "  live_ttl(KEYS[2], ARGV[10]) live_ttl(KEYS[3], ARGV[10]) "
    "  index_add(KEYS[4], f, ARGV[10]) end "
    "redis.call('HSET', KEYS[1], 'fam', f, 'at', ARGV[1]) "
    "live_ttl(KEYS[1], ARGV[7]) "
    "return {0, f}";

/* Ends a family. ARGV[3]: its id. 1 ended, 0 it was not live. */
static const char family_end_lua[] = FAMILY_LUA_HELPERS "return end_family(ARGV[3])";

/* Ends every family in a user's index (KEYS[1]); the index is then empty
 * (ended families leave it, and so do those the store has lost). Answers
 * the ids of those that were live. */
static const char family_end_user_lua[] =
    FAMILY_LUA_HELPERS "index_fix(KEYS[1]) "
                       "local out = {} "
                       "for _, f in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
                       "  if end_family(f) == 1 then out[#out + 1] = f end end "
                       "redis.call('DEL', KEYS[1]) "
                       "return out";

/* The live families of a user (KEYS[1] their index), five strings each:
 * id, user, started, last, expires. Members whose family is gone or ended
 * are trimmed from the index on the way. A record with an expiry that is
 * not a number is answered as it is, for the caller to refuse (-1). */
static const char family_list_lua[] = FAMILY_LUA_HELPERS
    "index_fix(KEYS[1]) "
    "local out = {} "
    "for _, f in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local h = redis.call('HMGET', P .. 'fam:' .. f, 'user', 'started', 'last', 'expires', "
    "    'ended') "
    "  if not h[1] or redis.call('GET', P .. 'famst:' .. f) ~= '1' then "
    "    redis.call('ZREM', KEYS[1], f) "
    "  elseif h[5] == '0' and (h[4] == '0' or (tonumber(h[4]) or now + 1) > now) then "
    "    for _, v in ipairs({f, h[1], h[2], h[3], h[4]}) do out[#out + 1] = v end end end "
    "index_fix(KEYS[1]) "
    "return out";

static const char *const script_texts[SCR__N] = {
    [SCR_REVOKE] = revoke_lua,           [SCR_REVOKE_USER] = revoke_user_lua,
    [SCR_ATTEMPT_ADD] = attempt_add_lua, [SCR_BAN_SET] = ban_set_lua,
    [SCR_FAM_START] = family_start_lua,  [SCR_FAM_ROTATE] = family_rotate_lua,
    [SCR_FAM_END] = family_end_lua,      [SCR_FAM_END_USER] = family_end_user_lua,
    [SCR_FAM_LIST] = family_list_lua,
};

/* The words of one script call, binary-safe (redisCommandArgv). */
#define SCRIPT_WORDS 24

typedef struct script_call {
    const char *what; /* for messages */
    int script;       /* SCR_* */
    int type;         /* the reply type wanted */
    int argc;
    const char *argv[SCRIPT_WORDS];
    size_t len[SCRIPT_WORDS];
    char *owned[SCRIPT_WORDS]; /* keys made here */
    int nowned;
    char nums[SCRIPT_WORDS][24];
    int nnums;
    bool bad;          /* out of memory or too many words */
    redisReply *reply; /* the answer, after run_op succeeded */
} script_call;

static void sc_word(script_call *c, const char *s, size_t len)
{
    if (c->argc >= SCRIPT_WORDS) {
        c->bad = true;
        return;
    }
    c->argv[c->argc] = s;
    c->len[c->argc] = len;
    c->argc++;
}

static void sc_ll(script_call *c, long long v)
{
    if (c->nnums >= SCRIPT_WORDS) {
        c->bad = true;
        return;
    }
    char *n = c->nums[c->nnums++];
    int w = snprintf(n, sizeof c->nums[0], "%lld", v);
    sc_word(c, n, (size_t)w);
}

static void sc_key(script_call *c, redis_be *b, const char *kind, const char *s, size_t slen)
{
    size_t len = 0;
    char *k = c->nowned < SCRIPT_WORDS ? make_key(b, kind, s, slen, &len) : NULL;
    if (k == NULL) {
        c->bad = true;
        return;
    }
    c->owned[c->nowned++] = k;
    sc_word(c, k, len);
}

/* Script (SCR_*) with nkeys keys to follow, then ARGV[1] = now, ARGV[2] =
 * the prefix: the caller adds the keys first, then the rest of ARGV. The
 * first two words are filled when it is sent (run_script). */
static void sc_begin(script_call *c, const char *what, int type, int script, int nkeys)
{
    memset(c, 0, sizeof *c);
    c->what = what;
    c->type = type;
    c->script = script;
    sc_word(c, "", 0);
    sc_word(c, "", 0);
    sc_ll(c, nkeys);
}

static void sc_common(script_call *c, redis_be *b, long long now)
{
    sc_ll(c, now);
    sc_word(c, b->prefix, b->prefix_len);
}

static void sc_clear(script_call *c)
{
    for (int i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    freeReplyObject(c->reply);
    c->reply = NULL;
    c->nowned = 0;
}

static int op_script(redis_be *b, void *arg)
{
    script_call *c = arg;
    freeReplyObject(c->reply);
    c->reply = NULL;
    redisReply *r = run_script(b, c->script, c->argc, c->argv, c->len);
    if (want(b, r, c->type, c->what) != 0) {
        freeReplyObject(r);
        return -1;
    }
    c->reply = r;
    return 0;
}

/* Runs a built call: 0 with c->reply set, or -1. */
static int sc_run(script_call *c, redis_be *b)
{
    if (c->bad)
        return fail(b, c->what, "out of memory");
    return run_op(b, op_script, c);
}

static int rd_family_start(void *be, const char *fam, size_t flen, const char *user, size_t ulen,
                           long long now, long long expires, long long until)
{
    redis_be *b = be;
    script_call c;
    sc_begin(&c, "start a session family", REDIS_REPLY_INTEGER, SCR_FAM_START, 3);
    sc_key(&c, b, "fam:", fam, flen);
    sc_key(&c, b, "famst:", fam, flen);
    sc_key(&c, b, "ufam:", user, ulen);
    sc_common(&c, b, now);
    sc_word(&c, user, ulen);
    sc_ll(&c, expires);
    sc_ll(&c, until);
    sc_word(&c, fam, flen);
    int rc = sc_run(&c, b);
    if (rc == 0 && c.reply->integer != 0)
        rc = fail(b, c.what, "the family exists already");
    sc_clear(&c);
    return rc;
}

static int rd_family_rotate(void *be, const jwtxp_bl_rotate *r, char *fam_out, size_t out_size)
{
    redis_be *b = be;
    const char *f = r->fam != NULL ? r->fam : r->new_fam;
    size_t flen = r->fam != NULL ? r->flen : r->nflen;
    script_call c;
    sc_begin(&c, "rotate a refresh token", REDIS_REPLY_ARRAY, SCR_FAM_ROTATE, 4);
    sc_key(&c, b, "rot:", r->jti, r->jlen);
    sc_key(&c, b, "fam:", f, flen);
    sc_key(&c, b, "famst:", f, flen);
    sc_key(&c, b, "ufam:", r->user, r->ulen);
    sc_common(&c, b, r->now);
    sc_word(&c, f, flen);
    sc_word(&c, r->fam != NULL ? "f" : "n", 1);
    sc_word(&c, r->user, r->ulen);
    sc_ll(&c, r->grace);
    sc_ll(&c, r->jti_until);
    sc_word(&c, r->slide ? "1" : "0", 1);
    sc_ll(&c, r->expires);
    sc_ll(&c, r->until);
    int rc = sc_run(&c, b);
    if (rc == 0) {
        const redisReply *a = c.reply;
        if (a->elements != 2 || a->element[0]->type != REDIS_REPLY_INTEGER ||
            a->element[0]->integer < JWTX_BL_ROTATED || a->element[0]->integer > JWTX_BL_ENDED ||
            a->element[1]->type != REDIS_REPLY_STRING || a->element[1]->len >= out_size ||
            a->element[1]->len > JWTX_BLOCKLIST_FAMILY_MAX)
            rc = fail(b, c.what, "unexpected reply");
        else {
            memcpy(fam_out, a->element[1]->str, a->element[1]->len);
            fam_out[a->element[1]->len] = '\0';
            rc = (int)a->element[0]->integer;
        }
    }
    sc_clear(&c);
    return rc;
}

static int rd_family_end(void *be, const char *fam, size_t flen, long long now)
{
    redis_be *b = be;
    script_call c;
    sc_begin(&c, "end a session family", REDIS_REPLY_INTEGER, SCR_FAM_END, 2);
    sc_key(&c, b, "fam:", fam, flen);
    sc_key(&c, b, "famst:", fam, flen);
    sc_common(&c, b, now);
    sc_word(&c, fam, flen);
    int rc = sc_run(&c, b);
    if (rc == 0)
        rc = c.reply->integer == 1 ? 1 : c.reply->integer == 0 ? 0 : fail(b, c.what, "bad reply");
    sc_clear(&c);
    return rc;
}

static int rd_family_end_user(void *be, const char *user, size_t ulen, long long now,
                              void (*cb)(const char *fam, void *ctx), void *ctx, long long *n)
{
    redis_be *b = be;
    script_call c;
    sc_begin(&c, "end the session families of a user", REDIS_REPLY_ARRAY, SCR_FAM_END_USER, 1);
    sc_key(&c, b, "ufam:", user, ulen);
    sc_common(&c, b, now);
    int rc = sc_run(&c, b);
    if (rc == 0) {
        /* The families are ended whatever comes next: a bad element is
         * told (-1), the others still reported. */
        for (size_t i = 0; i < c.reply->elements; i++) {
            const redisReply *e = c.reply->element[i];
            if (e->type != REDIS_REPLY_STRING || strlen(e->str) != e->len)
                rc = fail(b, c.what, "bad reply");
            else if (cb != NULL)
                cb(e->str, ctx);
        }
        *n = (long long)c.reply->elements;
    }
    sc_clear(&c);
    return rc;
}

/* One family as listed, from its strings: 0, or -1 when a time is not an
 * integer. */
static int family_info(jwtx_family_info *f, const char *fam, const redisReply *user,
                       const redisReply *started, const redisReply *last, const redisReply *expires)
{
    memset(f, 0, sizeof *f);
    const redisReply *v[4] = {user, started, last, expires};
    for (int i = 0; i < 4; i++)
        if (v[i]->type != REDIS_REPLY_STRING)
            return -1;
    f->family = fam;
    f->user = user->str;
    if (parse_ll(started->str, started->len, &f->started) != 0 ||
        parse_ll(last->str, last->len, &f->last_refresh) != 0 ||
        parse_ll(expires->str, expires->len, &f->expires) != 0)
        return -1;
    return 0;
}

typedef struct fam_scan_arg {
    long long now;
    jwtxp_bl_family_cb cb;
    void *ctx;
    int stopped;
    size_t skip; /* length of <prefix>fam: */
} fam_scan_arg;

static void fam_scan_reset(void *arg)
{
    ((fam_scan_arg *)arg)->stopped = 0;
}

/* Reports one batch of family records (HMGET, pipelined). */
static int fam_batch(redis_be *b, redisReply *keys, void *arg)
{
    fam_scan_arg *a = arg;
    size_t sent = 0;
    int rc = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len <= a->skip)
            continue;
        if (redisAppendCommand(b->c, "HMGET %b user started last expires ended", k->str, k->len) !=
            REDIS_OK)
            return fail(b, "list session families", "out of memory");
        sent++;
    }
    for (size_t i = 0; i < keys->elements && sent > 0; i++) {
        redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || k->len <= a->skip)
            continue;
        sent--;
        redisReply *h = NULL;
        if (redisGetReply(b->c, (void **)&h) != REDIS_OK || h == NULL)
            return fail(b, "list session families", b->c->errstr[0] ? b->c->errstr : "no reply");
        if (h->type == REDIS_REPLY_ERROR) {
            if (rc == 0)
                rc = fail(b, "list session families", h->str ? h->str : "error reply");
        } else if (h->type != REDIS_REPLY_ARRAY || h->elements != 5) {
            if (rc == 0)
                rc = fail(b, "list session families", "unexpected reply");
        } else if (h->element[0]->type == REDIS_REPLY_NIL) {
            /* expired meanwhile */
        } else {
            jwtx_family_info f;
            long long ended = -1;
            if (family_info(&f, k->str + a->skip, h->element[0], h->element[1], h->element[2],
                            h->element[3]) != 0 ||
                h->element[4]->type != REDIS_REPLY_STRING ||
                parse_ll(h->element[4]->str, h->element[4]->len, &ended) != 0) {
                if (rc == 0)
                    rc = fail(b, "list session families", "a family record is damaged");
            } else if (ended == 0 && (f.expires == 0 || f.expires > a->now) && rc == 0 &&
                       !a->stopped) {
                if (a->cb(&f, a->ctx) != 0)
                    a->stopped = 1;
            }
        }
        freeReplyObject(h);
    }
    return rc;
}

static int rd_family_list(void *be, const char *user, size_t ulen, long long now,
                          jwtxp_bl_family_cb cb, void *ctx)
{
    redis_be *b = be;
    if (user == NULL) {
        static const char kind[] = "fam:";
        fam_scan_arg a = {
            .now = now, .cb = cb, .ctx = ctx, .skip = b->prefix_len + sizeof kind - 1};
        key_scan ks = {
            .batch = fam_batch, .reset = fam_scan_reset, .arg = &a, .stopped = &a.stopped};
        if (scan_keys(b, kind, &ks) != 0)
            return -1;
        return a.stopped ? 1 : 0;
    }
    script_call c;
    sc_begin(&c, "list session families", REDIS_REPLY_ARRAY, SCR_FAM_LIST, 1);
    sc_key(&c, b, "ufam:", user, ulen);
    sc_common(&c, b, now);
    int rc = sc_run(&c, b);
    if (rc == 0 && c.reply->elements % 5 != 0)
        rc = fail(b, c.what, "unexpected reply");
    for (size_t i = 0; rc == 0 && i < c.reply->elements; i += 5) {
        redisReply **e = c.reply->element + i;
        jwtx_family_info f;
        if (e[0]->type != REDIS_REPLY_STRING ||
            family_info(&f, e[0]->str, e[1], e[2], e[3], e[4]) != 0)
            rc = fail(b, c.what, "a family record is damaged");
        else if (cb(&f, ctx) != 0)
            rc = 1;
    }
    sc_clear(&c);
    return rc;
}

typedef struct fam_get_arg {
    const char *key;
    size_t klen;
    long long now;
    jwtx_family_info *info;
    char *user_buf;
    size_t user_size;
    int found;
} fam_get_arg;

static int op_family_get(redis_be *b, void *arg)
{
    fam_get_arg *a = arg;
    static const char what[] = "read a session family";
    a->found = 0;
    redisReply *r =
        redisCommand(b->c, "HMGET %b user started last expires until ended", a->key, a->klen);
    int rc = want(b, r, REDIS_REPLY_ARRAY, what);
    if (rc == 0 && r->elements != 6)
        rc = fail(b, what, "unexpected reply");
    if (rc == 0 && r->element[0]->type != REDIS_REPLY_NIL) {
        redisReply **e = r->element;
        jwtx_family_info f;
        long long until = 0, ended = 0;
        if (family_info(&f, "", e[0], e[1], e[2], e[3]) != 0 || e[4]->type != REDIS_REPLY_STRING ||
            parse_ll(e[4]->str, e[4]->len, &until) != 0 || e[5]->type != REDIS_REPLY_STRING ||
            parse_ll(e[5]->str, e[5]->len, &ended) != 0 || e[0]->len >= a->user_size) {
            rc = fail(b, what, "a family record is damaged");
        } else if (until == 0 || until > a->now) {
            memcpy(a->user_buf, e[0]->str, e[0]->len);
            a->user_buf[e[0]->len] = '\0';
            a->info->started = f.started;
            a->info->last_refresh = f.last_refresh;
            a->info->expires = f.expires;
            a->info->ended = ended;
            a->found = 1;
        }
    }
    freeReplyObject(r);
    return rc;
}

static int rd_family_get(void *be, const char *fam, size_t flen, long long now,
                         jwtx_family_info *info, char *user_buf, size_t user_size)
{
    redis_be *b = be;
    fam_get_arg a = {.now = now, .info = info, .user_buf = user_buf, .user_size = user_size};
    char *key = make_key(b, "fam:", fam, flen, &a.klen);
    if (key == NULL)
        return fail(b, "read a session family", "out of memory");
    a.key = key;
    int rc = run_op(b, op_family_get, &a);
    free(key);
    return rc == 0 ? a.found : -1;
}

const jwtxp_bl_ops jwtxp_bl_redis_ops = {
    .kind = "redis",
    .init = rd_init,
    .ping = rd_ping,
    .check = rd_check,
    .revoke = rd_revoke,
    .revoke_user = rd_revoke_user,
    .count = rd_count,
    .list = rd_list,
    .purge = rd_purge,
    .attempt_add = rd_attempt_add,
    .attempt_count = rd_attempt_count,
    .attempt_clear = rd_attempt_clear,
    .ban_get = rd_ban_get,
    .ban_set = rd_ban_set,
    .ban_lift = rd_ban_lift,
    .ban_list = rd_ban_list,
    .family_start = rd_family_start,
    .family_rotate = rd_family_rotate,
    .family_end = rd_family_end,
    .family_end_user = rd_family_end_user,
    .family_list = rd_family_list,
    .family_get = rd_family_get,
    .last_error = rd_last_error,
    .destroy = rd_destroy,
};
