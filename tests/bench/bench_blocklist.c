/*
 * bench_blocklist.c — `make bench`: the cost of one revocation check
 * (jwtx_blocklist_check) as the store grows, in both back ends.
 *
 * For SQLite (a file in a temporary folder under JWTX_BENCH_DIR) and Redis
 * (a redis-server of its own on a free 127.0.0.1 port, started with
 * --save "" and stopped at the end) it fills the store with 0, then 10^3,
 * then 10^6 revoked jtis (JWTX_BENCH_ENTRIES changes the largest) and times
 * jwtx_blocklist_check the way the gateway calls it: a jti plus the token's
 * user and iat, one call per token. Half of the checked jtis are random
 * revoked ones, half random jtis that are not in the store; every answer is
 * compared with the expected one, so a wrong or failed check stops the bench
 * with exit 1 instead of printing a number.
 *
 * Filling goes around the library because a million single revocations,
 * each its own transaction or round trip, would take minutes: the SQLite
 * file is created (schema and all) by the library itself through
 * jwtx_blocklist_init (as `jwtx blocklist init`), then rows go into its `revoked` table in one
 * transaction; Redis gets pipelined SET <prefix>jti:<jti> <end> EX <ttl>, the key
 * layout and TTL rule of blocklist_redis.c. Every entry lives one to 25 hours,
 * so none expires during the run.
 *
 * jtis are UUID4 strings (as Flask-JWT-Extended makes them) computed from an
 * index with splitmix64: revoked jti number i is the same in every run, so
 * bench_e2e.py can name one without a list.
 *
 * Sessions (JWTX_REFRESH_ROTATION): the stores of 10^3 and 10^6 entries also
 * hold as many session families (at most JWTX_BENCH_FAMILIES), one in 100
 * of them ended, and one rotated refresh token per 10 families, written the
 * same fast way into the tables of schema version 3 or the Redis keys of
 * blocklist_redis.c. In the same slices as the checks above (rotation off),
 * jwtx_blocklist_check_family is timed as the gateway calls it with
 * rotation on: a clear or a revoked jti of a live family, and a clear jti of
 * an ended family. Then, once every check is timed, the first rotation of
 * fresh refresh tokens of live families (jwtx_blocklist_family_rotate, as
 * /refresh with rotation calls it), a write each.
 *
 * Usage:
 *   bench_blocklist                      the per-check benchmark
 *   bench_blocklist fill-sqlite PATH FROM TO     add revoked jtis FROM..TO-1
 *   bench_blocklist fill-redis PORT FROM TO      the same into 127.0.0.1:PORT db 0
 *   bench_blocklist fill-sqlite-families PATH FROM TO   add families FROM..TO-1
 *   bench_blocklist fill-redis-families PORT FROM TO    the same into db 0
 *   bench_blocklist jti I                print revoked jti number I
 *   bench_blocklist family I             print family number I (ended: I % 100 == 99)
 * Output, one line per back end and size, and one more per store with families:
 *   bench: blocklist-check <sqlite|redis> entries=<N> checks/s=<n> us/check=<t>
 *          clear-us=<t> revoked-us=<t>            (revoked-us=- when N is 0)
 *   bench: blocklist-rotation <sqlite|redis> entries=<N> families=<F> rotated=<R>
 *          clear-us=<off>/<on> clear-ratio=<on/off> revoked-us=<off>/<on>
 *          revoked-ratio=<on/off> ended-us=<on>
 *   bench: blocklist-rotate <sqlite|redis> entries=<N> families=<F> rotations/s=<n>
 *          us/rotation=<t>        (jwtx_blocklist_family_rotate, after the checks)
 * Environment: JWTX_BENCH_SECONDS (per size and kind of check, default 0.5),
 * JWTX_BENCH_DIR (where the temporary folder goes, default build/bench),
 * JWTX_BENCH_ENTRIES (largest store, default 1000000), JWTX_BENCH_FAMILIES
 * (most families in a store, default 250000).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "jwtx/blocklist.h"
#include "jwtx/errors.h"

#define REVOKED_SEED 0x7265766f6b656421ULL /* revoked jtis */
#define CLEAR_SEED 0x636c6561722d6a74ULL   /* jtis never revoked */
#define FAMILY_SEED 0x66616d696c696573ULL  /* session families */
#define ROTATED_SEED 0x726f74617465642aULL /* rotated refresh tokens */
#define FRESH_SEED 0x6672657368726f74ULL   /* refresh tokens the bench rotates */
#define ENDED_EVERY 100                    /* family i is ended when i % 100 == 99 */
#define ROTATED_EVERY 10                   /* family i has a rotated token when i % 10 == 0 */
#define DEFAULT_FAMILIES 250000
#define USER_MAX 32
#define JTI_LEN 36
#define POOL 16384 /* distinct jtis per kind in the timed loops (power of 2) */
#define SLICES 10
#define PREFIX "jwtx:"
#define USER "bench-user"
#define PIPE_BATCH 10000

static char tmpdir[PATH_MAX];
static pid_t redis_pid = -1;

static void cleanup(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        waitpid(redis_pid, NULL, 0);
        redis_pid = -1;
    }
    if (tmpdir[0] == '\0')
        return;
    DIR *d = opendir(tmpdir);
    if (d != NULL) {
        struct dirent *e;
        char path[PATH_MAX + 256];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    cleanup();
    exit(1);
}

/* Stopped by a signal: stop the redis-server and remove the stores too (the
 * process is being torn down anyway, so the non-async-signal-safe calls in
 * cleanup cannot hurt a state we still need). */
static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* jti number i of a family as a UUID4 string (36 characters + NUL). */
static void make_jti(char out[JTI_LEN + 1], uint64_t seed, uint64_t i)
{
    uint64_t a = splitmix(seed ^ splitmix(i)), b = splitmix(a ^ seed);
    unsigned char u[16];
    for (int k = 0; k < 8; k++) {
        u[k] = (unsigned char)(a >> (8 * k));
        u[8 + k] = (unsigned char)(b >> (8 * k));
    }
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int k = 0; k < 16; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10)
            out[o++] = '-';
        out[o++] = hex[u[k] >> 4];
        out[o++] = hex[u[k] & 15];
    }
    out[o] = '\0';
}

/* Life of revoked entry i, in seconds from now: one to 25 hours. */
static long long entry_ttl(uint64_t i)
{
    return 3600 + (long long)(i % 86400);
}

/* Family i: its user (four sessions per user), and whether it was ended. */
static void family_user(char out[USER_MAX], uint64_t i)
{
    snprintf(out, USER_MAX, "bench-u%llu", (unsigned long long)(i / 4));
}

static bool family_ended(uint64_t i)
{
    return i % ENDED_EVERY == ENDED_EVERY - 1;
}

static long long parse_count(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 100000000LL)
        die("%s must be a count in [0, 10^8], not \"%s\"", what, s);
    return v;
}

/* ---------------------------------------------------------------------- */
/* Filling                                                                 */

static void sq_die(sqlite3 *db, const char *what)
{
    die("sqlite: %s: %s", what, sqlite3_errmsg(db));
}

/* The library creates the file with its schema (and checks its version). */
static void sqlite_create(const char *path)
{
    char url[PATH_MAX + 16];
    snprintf(url, sizeof url, "sqlite:%s", path);
    jwtx_blocklist *bl = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_blocklist_open_url(url, NULL, 0, 0, &bl, &err) != 0)
        die("cannot open %s: %s", url, jwtx_error_message(&err));
    if (jwtx_blocklist_init(bl, NULL) != 0)
        die("cannot create %s: %s", url, jwtx_blocklist_last_error(bl));
    jwtx_blocklist_free(bl);
}

typedef struct row {
    char jti[JTI_LEN + 1];
    uint32_t i;
} row;

static int row_cmp(const void *a, const void *b)
{
    return memcmp(((const row *)a)->jti, ((const row *)b)->jti, JTI_LEN);
}

/* Adds revoked jtis [from, to) to the library's `revoked` table in one
 * transaction, in jti order so that the primary-key index grows at its end,
 * with no rollback journal (a bench file that a crash would leave broken is
 * deleted anyway), then puts the file back into WAL mode as the back end
 * runs it. No other connection may be open meanwhile. */
static void sqlite_fill(const char *path, long long from, long long to)
{
    sqlite_create(path);
    if (to <= from)
        return;
    row *rows = malloc((size_t)(to - from) * sizeof *rows);
    if (rows == NULL)
        die("out of memory");
    for (long long i = from; i < to; i++) {
        make_jti(rows[i - from].jti, REVOKED_SEED, (uint64_t)i);
        rows[i - from].i = (uint32_t)i;
    }
    qsort(rows, (size_t)(to - from), sizeof *rows, row_cmp);

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        sq_die(db, "open");
    if (sqlite3_exec(db, "PRAGMA cache_size = -262144; PRAGMA journal_mode = OFF; BEGIN IMMEDIATE",
                     NULL, NULL, NULL) != SQLITE_OK)
        sq_die(db, "begin");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO revoked(jti, until) VALUES(?1, ?2)", -1, &st, NULL) !=
        SQLITE_OK)
        sq_die(db, "prepare (is this the schema blocklist_sqlite.c creates?)");
    long long now = (long long)time(NULL);
    for (long long k = 0; k < to - from; k++) {
        sqlite3_bind_text(st, 1, rows[k].jti, JTI_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now + entry_ttl(rows[k].i));
        if (sqlite3_step(st) != SQLITE_DONE)
            sq_die(db, "insert");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(rows);
    if (sqlite3_exec(db, "COMMIT; PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        sq_die(db, "commit");
    sqlite3_close(db);
}

/* Adds session families [from, to) to the tables `families` and `rotated`
 * of schema version 3, in one transaction, each sorted by its key, as
 * sqlite_fill does for revoked jtis. Family i belongs to bench-u<i/4> (four
 * sessions per user), started an hour ago, was refreshed a minute ago,
 * expires with entry_ttl(i); one in ENDED_EVERY is ended; one in
 * ROTATED_EVERY keeps the refresh token it rotated (rotated jti number i).
 * Only the families are read by a check; the rotated rows are there so that
 * the file has the tables a store in use has. */
static void sqlite_fill_families(const char *path, long long from, long long to)
{
    if (to <= from)
        return;
    size_t n = (size_t)(to - from);
    row *fams = malloc(n * sizeof *fams), *rots = malloc(n * sizeof *rots);
    if (fams == NULL || rots == NULL)
        die("out of memory");
    size_t nrot = 0;
    for (long long i = from; i < to; i++) {
        make_jti(fams[i - from].jti, FAMILY_SEED, (uint64_t)i);
        fams[i - from].i = (uint32_t)i;
        if (i % ROTATED_EVERY == 0) {
            make_jti(rots[nrot].jti, ROTATED_SEED, (uint64_t)i);
            rots[nrot++].i = (uint32_t)i;
        }
    }
    qsort(fams, n, sizeof *fams, row_cmp);
    qsort(rots, nrot, sizeof *rots, row_cmp);

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        sq_die(db, "open");
    if (sqlite3_exec(db, "PRAGMA cache_size = -262144; PRAGMA journal_mode = OFF; BEGIN IMMEDIATE",
                     NULL, NULL, NULL) != SQLITE_OK)
        sq_die(db, "begin");
    /* The secondary indexes (user, until) would be written in random order
     * row by row: dropped here and made again after the rows, from their
     * own SQL as the schema has it (one sort each, several times faster). */
    char *indexes[8];
    int nidx = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                           "tbl_name IN ('families', 'rotated') AND sql IS NOT NULL",
                           -1, &q, NULL) != SQLITE_OK)
        sq_die(db, "read the indexes");
    while (sqlite3_step(q) == SQLITE_ROW && nidx < 8) {
        char drop[256];
        indexes[nidx] = strdup((const char *)sqlite3_column_text(q, 1));
        snprintf(drop, sizeof drop, "DROP INDEX \"%s\"", (const char *)sqlite3_column_text(q, 0));
        if (indexes[nidx] == NULL)
            die("out of memory");
        nidx++;
        sqlite3_finalize(q);
        if (sqlite3_exec(db, drop, NULL, NULL, NULL) != SQLITE_OK)
            sq_die(db, "drop an index");
        if (sqlite3_prepare_v2(db,
                               "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                               "tbl_name IN ('families', 'rotated') AND sql IS NOT NULL",
                               -1, &q, NULL) != SQLITE_OK)
            sq_die(db, "read the indexes");
    }
    sqlite3_finalize(q);
    sqlite3_stmt *fst = NULL, *rst = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO families(fam, user, started, last_refresh, expires, until, "
                           "ended) VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                           -1, &fst, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO rotated(jti, fam, at, until) VALUES(?1, ?2, ?3, ?4)",
                           -1, &rst, NULL) != SQLITE_OK)
        sq_die(db, "prepare (is this the schema version 3 blocklist_sqlite.c creates?)");
    long long now = (long long)time(NULL);
    char user[USER_MAX], fam[JTI_LEN + 1];
    for (size_t k = 0; k < n; k++) {
        uint64_t i = fams[k].i;
        family_user(user, i);
        sqlite3_bind_text(fst, 1, fams[k].jti, JTI_LEN, SQLITE_STATIC);
        sqlite3_bind_text(fst, 2, user, -1, SQLITE_STATIC);
        sqlite3_bind_int64(fst, 3, now - 3600);
        sqlite3_bind_int64(fst, 4, now - 60);
        sqlite3_bind_int64(fst, 5, now + entry_ttl(i));
        sqlite3_bind_int64(fst, 6, family_ended(i) ? now - 30 : 0);
        if (sqlite3_step(fst) != SQLITE_DONE)
            sq_die(db, "insert a family");
        sqlite3_reset(fst);
    }
    for (size_t k = 0; k < nrot; k++) {
        uint64_t i = rots[k].i;
        make_jti(fam, FAMILY_SEED, i);
        sqlite3_bind_text(rst, 1, rots[k].jti, JTI_LEN, SQLITE_STATIC);
        sqlite3_bind_text(rst, 2, fam, JTI_LEN, SQLITE_STATIC);
        sqlite3_bind_int64(rst, 3, now - 60);
        sqlite3_bind_int64(rst, 4, now + entry_ttl(i));
        if (sqlite3_step(rst) != SQLITE_DONE)
            sq_die(db, "insert a rotated token");
        sqlite3_reset(rst);
    }
    sqlite3_finalize(fst);
    sqlite3_finalize(rst);
    free(fams);
    free(rots);
    for (int k = 0; k < nidx; k++) {
        if (sqlite3_exec(db, indexes[k], NULL, NULL, NULL) != SQLITE_OK)
            sq_die(db, "make an index again");
        free(indexes[k]);
    }
    if (sqlite3_exec(db, "COMMIT; PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK)
        sq_die(db, "commit");
    sqlite3_close(db);
}

static redisContext *redis_connect(int port)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == NULL || c->err) {
        if (c != NULL)
            redisFree(c);
        return NULL;
    }
    return c;
}

/* Reads the n replies of one batch of SETs. */
static void redis_replies(redisContext *c, long long n)
{
    for (long long i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK)
            die("redis: SET: %s", c->errstr);
        redisReply *rr = r;
        bool ok = rr->type == REDIS_REPLY_STATUS && strcmp(rr->str, "OK") == 0;
        freeReplyObject(rr);
        if (!ok)
            die("redis: SET did not answer OK");
    }
}

/* Adds revoked jtis [from, to) to database db as the Redis back end stores
 * them. Pipelined with two batches in flight, so the server never waits for
 * the next batch to be formatted. */
static void redis_fill(int port, int db, long long from, long long to)
{
    redisContext *c = redis_connect(port);
    if (c == NULL)
        die("redis: cannot connect to 127.0.0.1:%d", port);
    redisReply *sel = redisCommand(c, "SELECT %d", db);
    if (sel == NULL || sel->type != REDIS_REPLY_STATUS)
        die("redis: SELECT %d failed", db);
    freeReplyObject(sel);
    char key[sizeof PREFIX + 4 + JTI_LEN];
    long long pending = 0;
    for (long long base = from; base < to; base += PIPE_BATCH) {
        long long end = base + PIPE_BATCH < to ? base + PIPE_BATCH : to;
        for (long long i = base; i < end; i++) {
            memcpy(key, PREFIX "jti:", sizeof PREFIX - 1 + 4);
            make_jti(key + sizeof PREFIX - 1 + 4, REVOKED_SEED, (uint64_t)i);
            long long ttl = entry_ttl((uint64_t)i);
            /* the store's layout: the value is the entry's end in epoch seconds */
            if (redisAppendCommand(c, "SET %b %lld EX %lld", key, strlen(key),
                                   (long long)time(NULL) + ttl, ttl) != REDIS_OK)
                die("redis: out of memory");
        }
        int done = 0;
        while (!done)
            if (redisBufferWrite(c, &done) != REDIS_OK)
                die("redis: write: %s", c->errstr);
        redis_replies(c, pending);
        pending = end - base;
    }
    redis_replies(c, pending);
    redisFree(c);
}

/* Reads n replies of mixed commands: any error reply stops the bench. */
static void redis_any_replies(redisContext *c, long long n)
{
    for (long long i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK)
            die("redis: %s", c->errstr);
        redisReply *rr = r;
        if (rr->type == REDIS_REPLY_ERROR)
            die("redis: %s", rr->str);
        freeReplyObject(rr);
    }
}

/* Adds session families [from, to) to database db in the layout of
 * blocklist_redis.c, as sqlite_fill_families describes them:
 * <prefix>fam:<id> (hash: user, started, last, expires, until, ended) and
 * <prefix>famst:<id> ("1" live, "0" ended), both with the TTL until - now;
 * the user's index <prefix>ufam:<user> (live families by until, with the
 * TTL of the longest life a family gets here); for one family in
 * ROTATED_EVERY, <prefix>rot:<jti> (hash: fam, at) with its TTL. Pipelined
 * as redis_fill, in batches of about PIPE_BATCH commands. */
static void redis_fill_families(int port, int db, long long from, long long to)
{
    redisContext *c = redis_connect(port);
    if (c == NULL)
        die("redis: cannot connect to 127.0.0.1:%d", port);
    redisReply *sel = redisCommand(c, "SELECT %d", db);
    if (sel == NULL || sel->type != REDIS_REPLY_STATUS)
        die("redis: SELECT %d failed", db);
    freeReplyObject(sel);
    char fam[JTI_LEN + 1], rot[JTI_LEN + 1], user[USER_MAX];
    long long now = (long long)time(NULL), pending = 0;
    const long long per_batch = PIPE_BATCH / 4;
    for (long long base = from; base < to; base += per_batch) {
        long long end = base + per_batch < to ? base + per_batch : to, sent = 0;
        for (long long i = base; i < end; i++) {
            make_jti(fam, FAMILY_SEED, (uint64_t)i);
            family_user(user, (uint64_t)i);
            long long ttl = entry_ttl((uint64_t)i), until = now + ttl;
            bool ended = family_ended((uint64_t)i);
            int bad = redisAppendCommand(c,
                                         "HSET " PREFIX "fam:%s user %s started %lld last %lld "
                                         "expires %lld until %lld ended %lld",
                                         fam, user, now - 3600, now - 60, until, until,
                                         ended ? now - 30 : 0LL);
            bad |= redisAppendCommand(c, "EXPIRE " PREFIX "fam:%s %lld", fam, ttl);
            bad |= redisAppendCommand(c, "SET " PREFIX "famst:%s %s EX %lld", fam,
                                      ended ? "0" : "1", ttl);
            sent += 3;
            if (!ended) { /* ended families leave their user's index */
                bad |= redisAppendCommand(c, "ZADD " PREFIX "ufam:%s %lld %s", user, until, fam);
                sent++;
            }
            if (i % 4 == 3 || i == to - 1) { /* the user's last family here */
                bad |= redisAppendCommand(c, "EXPIRE " PREFIX "ufam:%s %lld", user, 3600LL + 86400);
                sent++;
            }
            if (i % ROTATED_EVERY == 0) {
                make_jti(rot, ROTATED_SEED, (uint64_t)i);
                bad |= redisAppendCommand(c, "HSET " PREFIX "rot:%s fam %s at %lld", rot, fam,
                                          now - 60);
                bad |= redisAppendCommand(c, "EXPIRE " PREFIX "rot:%s %lld", rot, ttl);
                sent += 2;
            }
            if (bad != REDIS_OK)
                die("redis: out of memory");
        }
        int done = 0;
        while (!done)
            if (redisBufferWrite(c, &done) != REDIS_OK)
                die("redis: write: %s", c->errstr);
        redis_any_replies(c, pending);
        pending = sent;
    }
    redis_any_replies(c, pending);
    redisFree(c);
}

/* ---------------------------------------------------------------------- */
/* Redis server of our own                                                 */

static int free_port(void)
{
    srand((unsigned)(time(NULL) ^ getpid()));
    for (int tries = 0; tries < 200; tries++) {
        int port = 20000 + rand() % 12000;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            break;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = bind(s, (struct sockaddr *)&a, sizeof a);
        close(s);
        if (rc == 0)
            return port;
    }
    die("no free port");
}

static int redis_start(void)
{
    int port = free_port();
    char portstr[16], log[PATH_MAX + 16];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(log, sizeof log, "%s/redis.log", tmpdir);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", portstr, "--save",
               "", "--appendonly", "no", "--dir", tmpdir, "--logfile", log, (char *)NULL);
        _exit(127);
    }
    redis_pid = pid;
    for (int i = 0; i < 200; i++) {
        redisContext *c = redis_connect(port);
        if (c != NULL) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            if (r != NULL)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return port;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            redis_pid = -1;
            die("redis-server exited at start (see %s)", log);
        }
        usleep(50000);
    }
    die("redis-server did not answer on 127.0.0.1:%d", port);
}

/* ---------------------------------------------------------------------- */
/* Timing                                                                  */

typedef struct pool {
    char jti[POOL][JTI_LEN + 1];
} pool;

/* Families to check tokens against, with the user each belongs to. */
typedef struct fpool {
    char fam[POOL][JTI_LEN + 1];
    char user[POOL][USER_MAX];
} fpool;

/* Random revoked jtis among the first n (n > 0), or never-revoked ones. */
static void fill_pool(pool *p, bool revoked, long long n, uint64_t salt)
{
    for (uint64_t k = 0; k < POOL; k++) {
        if (revoked)
            make_jti(p->jti[k], REVOKED_SEED, splitmix(salt + k) % (uint64_t)n);
        else
            make_jti(p->jti[k], CLEAR_SEED, splitmix(salt + k));
    }
}

/* Random live (or ended) families among the first nf (nf >= ENDED_EVERY). */
static void fill_fpool(fpool *f, bool ended, long long nf, uint64_t salt)
{
    for (uint64_t k = 0; k < POOL; k++) {
        uint64_t i;
        if (ended) {
            i = (splitmix(salt + k) % ((uint64_t)nf / ENDED_EVERY)) * ENDED_EVERY + ENDED_EVERY - 1;
        } else {
            i = splitmix(salt + k) % (uint64_t)nf;
            if (family_ended(i))
                i = (i + 1) % (uint64_t)nf;
        }
        make_jti(f->fam[k], FAMILY_SEED, i);
        family_user(f->user[k], i);
    }
}

/* Runs checks from p (with f: each with a family, as the gateway does with
 * rotation on; without: as it does with rotation off) for at least secs;
 * returns seconds used, adds to *done. */
static double run_slice(jwtx_blocklist *bl, const pool *p, const fpool *f, int want, double secs,
                        size_t *pos, long long *done)
{
    long long now = (long long)time(NULL);
    double t0 = mono_now(), t;
    long long n = 0;
    do {
        for (int k = 0; k < 16; k++) {
            size_t i = *pos & (POOL - 1);
            int r = f == NULL ? jwtx_blocklist_check(bl, p->jti[i], USER, now - 10, now)
                              : jwtx_blocklist_check_family(bl, p->jti[i], f->user[i], now - 10,
                                                            f->fam[i], now);
            if (r != want)
                die("%s: check of %s%s%s gave %d, expected %d (%s)", jwtx_blocklist_kind(bl),
                    p->jti[i], f ? " in family " : "", f ? f->fam[i] : "", r, want,
                    jwtx_blocklist_last_error(bl));
            (*pos)++;
            n++;
        }
        t = mono_now();
    } while (t - t0 < secs);
    *done += n;
    return t - t0;
}

/* One kind of check timed on one store. */
typedef struct timing {
    size_t pos;
    long long done;
    double time;
} timing;

static void timed(jwtx_blocklist *bl, const pool *p, const fpool *f, int want, double secs,
                  bool count, timing *t)
{
    long long junk = 0;
    double used = run_slice(bl, p, f, want, secs, &t->pos, count ? &t->done : &junk);
    if (count)
        t->time += used;
}

static double us(const timing *t)
{
    return t->time * 1e6 / (double)t->done;
}

/* One store of one size, and what was measured on it. Rotation off: clear
 * and revoked jtis, no family. Rotation on (when the store holds families):
 * the same jtis each with a live family (clear, revoked), and clear jtis of
 * an ended family (revoked by the family). */
typedef struct store {
    long long n, nf;
    jwtx_blocklist *bl;
    pool *clear, *revoked;
    fpool *live, *ended;
    timing c, r;       /* rotation off */
    timing fc, fr, fe; /* rotation on */
    timing rot;        /* jwtx_blocklist_family_rotate */
} store;

static void store_open(store *st, const char *url, const char *kind, long long n, long long nf)
{
    memset(st, 0, sizeof *st);
    st->n = n;
    st->nf = nf;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_blocklist_open_url(url, PREFIX, 2000, 0, &st->bl, &err) != 0)
        die("cannot open %s: %s", url, jwtx_error_message(&err));
    long long count = 0;
    if (jwtx_blocklist_count(st->bl, (long long)time(NULL), &count) != 0)
        die("%s: count: %s", kind, jwtx_blocklist_last_error(st->bl));
    if (count != n)
        die("%s: the store holds %lld entries, not %lld", kind, count, n);
    st->clear = malloc(sizeof *st->clear);
    st->revoked = n > 0 ? malloc(sizeof *st->revoked) : NULL;
    if (st->clear == NULL || (n > 0 && st->revoked == NULL))
        die("out of memory");
    fill_pool(st->clear, false, 0, (uint64_t)n * 7919);
    if (n > 0)
        fill_pool(st->revoked, true, n, (uint64_t)n * 104729);
    if (nf >= ENDED_EVERY) {
        st->live = malloc(sizeof *st->live);
        st->ended = malloc(sizeof *st->ended);
        if (st->live == NULL || st->ended == NULL)
            die("out of memory");
        fill_fpool(st->live, false, nf, (uint64_t)nf * 15485863);
        fill_fpool(st->ended, true, nf, (uint64_t)nf * 32452843);
    }
}

/* One slice of each kind of check the store has. */
static void store_slice(store *st, double secs, bool count)
{
    timed(st->bl, st->clear, NULL, JWTX_BL_CLEAR, secs, count, &st->c);
    if (st->n > 0)
        timed(st->bl, st->revoked, NULL, JWTX_BL_REVOKED, secs, count, &st->r);
    if (st->live == NULL)
        return;
    timed(st->bl, st->clear, st->live, JWTX_BL_CLEAR, secs, count, &st->fc);
    if (st->n > 0)
        timed(st->bl, st->revoked, st->live, JWTX_BL_REVOKED, secs, count, &st->fr);
    timed(st->bl, st->clear, st->ended, JWTX_BL_REVOKED, secs, count, &st->fe);
}

/* A first refresh, as /refresh with rotation asks the store: a refresh token
 * never seen before (its own jti) of a live family is rotated (one SQLite
 * transaction or one Lua script: the token recorded as rotated, the
 * family's last refresh set). */
static void rotate_slice(store *st, double secs, bool count)
{
    long long now = (long long)time(NULL), n = 0;
    double t0 = mono_now(), t;
    do {
        for (int k = 0; k < 4; k++) {
            size_t i = st->rot.pos & (POOL - 1);
            char jti[JTI_LEN + 1], fam[JWTX_BLOCKLIST_FAMILY_MAX + 1];
            make_jti(jti, FRESH_SEED, st->rot.pos);
            jwtx_rotation r;
            memset(&r, 0, sizeof r);
            r.jti = jti;
            r.has_exp = true;
            r.exp = now + 3600;
            r.family = st->live->fam[i];
            r.user = st->live->user[i];
            r.now = now;
            r.grace = 10;
            int rc = jwtx_blocklist_family_rotate(st->bl, &r, fam, sizeof fam);
            if (rc != JWTX_BL_ROTATED)
                die("%s: rotating %s of family %s gave %d, expected %d (%s)",
                    jwtx_blocklist_kind(st->bl), jti, r.family, rc, JWTX_BL_ROTATED,
                    jwtx_blocklist_last_error(st->bl));
            st->rot.pos++;
            n++;
        }
        t = mono_now();
    } while (t - t0 < secs);
    if (count) {
        st->rot.done += n;
        st->rot.time += t - t0;
    }
}

static void store_report(store *st, const char *kind)
{
    double all = st->c.time + st->r.time;
    long long total = st->c.done + st->r.done;
    char rev[32] = "-";
    if (st->n > 0)
        snprintf(rev, sizeof rev, "%.2f", us(&st->r));
    printf("bench: blocklist-check %s entries=%lld checks/s=%.0f us/check=%.2f clear-us=%.2f "
           "revoked-us=%s\n",
           kind, st->n, (double)total / all, all * 1e6 / (double)total, us(&st->c), rev);
    if (st->live != NULL) {
        char off_r[32] = "-", on_r[32] = "-", ratio_r[32] = "-";
        if (st->n > 0) {
            snprintf(off_r, sizeof off_r, "%.2f", us(&st->r));
            snprintf(on_r, sizeof on_r, "%.2f", us(&st->fr));
            snprintf(ratio_r, sizeof ratio_r, "%.3f", us(&st->fr) / us(&st->r));
        }
        printf("bench: blocklist-rotation %s entries=%lld families=%lld rotated=%lld "
               "clear-us=%.2f/%.2f clear-ratio=%.3f revoked-us=%s/%s revoked-ratio=%s "
               "ended-us=%.2f\n",
               kind, st->n, st->nf, (st->nf + ROTATED_EVERY - 1) / ROTATED_EVERY, us(&st->c),
               us(&st->fc), us(&st->fc) / us(&st->c), off_r, on_r, ratio_r, us(&st->fe));
        printf("bench: blocklist-rotate %s entries=%lld families=%lld rotations/s=%.0f "
               "us/rotation=%.2f\n",
               kind, st->n, st->nf, (double)st->rot.done / st->rot.time, us(&st->rot));
    }
    fflush(stdout);
    jwtx_blocklist_free(st->bl);
    free(st->clear);
    free(st->revoked);
    free(st->live);
    free(st->ended);
    memset(st, 0, sizeof *st);
}

/* Times all sizes of one back end together: slices rotate over the stores
 * (and the starting store moves each round), so a busy machine slows every
 * size alike and the numbers stay comparable; rotation off and on alternate
 * within each slice of a store. */
static void bench_stores(const char *kind, char urls[][PATH_MAX + 48], const long long *sizes,
                         const long long *fams, int nsizes, double secs)
{
    store st[3];
    for (int i = 0; i < nsizes; i++)
        store_open(&st[i], urls[i], kind, sizes[i], fams[i]);
    for (int i = 0; i < nsizes; i++)
        store_slice(&st[i], 0.05, false); /* connection, statements, first pages */
    for (int s = 0; s < SLICES; s++)
        for (int k = 0; k < nsizes; k++)
            store_slice(&st[(s + k) % nsizes], secs / SLICES, true);
    /* Rotations write: timed after every check, so that the checks are
     * timed on the stores as they were filled. */
    for (int s = -1; s < SLICES; s++)
        for (int k = 0; k < nsizes; k++) {
            store *x = &st[(s + k + SLICES) % nsizes];
            if (x->live != NULL)
                rotate_slice(x, s < 0 ? 0.05 : secs / SLICES, s >= 0);
        }
    for (int i = 0; i < nsizes; i++)
        store_report(&st[i], kind);
}

static void bench_all(double secs, long long maxn, long long maxf)
{
    long long sizes[3] = {0, 1000, maxn}, fams[3];
    int nsizes = maxn > 1000 ? 3 : (maxn > 0 ? 2 : 1);
    if (maxn > 0 && maxn <= 1000)
        sizes[1] = maxn;
    for (int i = 0; i < 3; i++)
        fams[i] = sizes[i] < maxf ? sizes[i] : maxf;
    char urls[3][PATH_MAX + 48];

    for (int i = 0; i < nsizes; i++) {
        char path[PATH_MAX + 40];
        snprintf(path, sizeof path, "%s/blocklist-%lld.sqlite", tmpdir, sizes[i]);
        snprintf(urls[i], sizeof urls[i], "sqlite:%s", path);
        double t0 = mono_now();
        if (sizes[i] > 0)
            sqlite_fill(path, 0, sizes[i]);
        else
            sqlite_create(path);
        sqlite_fill_families(path, 0, fams[i]);
        fprintf(stderr, "bench: (sqlite: %lld entries, %lld families written in %.1f s)\n",
                sizes[i], fams[i], mono_now() - t0);
    }
    bench_stores("sqlite", urls, sizes, fams, nsizes, secs);

    int port = redis_start();
    for (int i = 0; i < nsizes; i++) {
        snprintf(urls[i], sizeof urls[i], "redis://127.0.0.1:%d/%d", port, i);
        double t0 = mono_now();
        redis_fill(port, i, 0, sizes[i]);
        redis_fill_families(port, i, 0, fams[i]);
        fprintf(stderr, "bench: (redis: %lld entries, %lld families written in %.1f s)\n", sizes[i],
                fams[i], mono_now() - t0);
    }
    bench_stores("redis", urls, sizes, fams, nsizes, secs);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "jti") == 0) {
        char jti[JTI_LEN + 1];
        make_jti(jti, REVOKED_SEED, (uint64_t)parse_count(argv[2], "I"));
        puts(jti);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fill-sqlite") == 0) {
        sqlite_fill(argv[2], parse_count(argv[3], "FROM"), parse_count(argv[4], "TO"));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "family") == 0) {
        char fam[JTI_LEN + 1];
        make_jti(fam, FAMILY_SEED, (uint64_t)parse_count(argv[2], "I"));
        puts(fam);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fill-sqlite-families") == 0) {
        sqlite_fill_families(argv[2], parse_count(argv[3], "FROM"), parse_count(argv[4], "TO"));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fill-redis-families") == 0) {
        long long port = parse_count(argv[2], "PORT");
        if (port < 1 || port > 65535)
            die("PORT must be in [1, 65535]");
        redis_fill_families((int)port, 0, parse_count(argv[3], "FROM"), parse_count(argv[4], "TO"));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "fill-redis") == 0) {
        long long port = parse_count(argv[2], "PORT");
        if (port < 1 || port > 65535)
            die("PORT must be in [1, 65535]");
        redis_fill((int)port, 0, parse_count(argv[3], "FROM"), parse_count(argv[4], "TO"));
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr,
                "usage: %s [fill-sqlite PATH FROM TO | fill-redis PORT FROM TO | jti I\n"
                "          | fill-sqlite-families PATH FROM TO | fill-redis-families PORT FROM TO\n"
                "          | family I]\n",
                argv[0]);
        return 2;
    }

    double secs = 0.5;
    const char *env = getenv("JWTX_BENCH_SECONDS");
    if (env != NULL && *env != '\0') {
        char *end = NULL;
        secs = strtod(env, &end);
        if (end == env || *end != '\0' || !(secs > 0 && secs <= 60))
            die("JWTX_BENCH_SECONDS must be a number of seconds in (0, 60]");
    }
    long long maxn = 1000000;
    env = getenv("JWTX_BENCH_ENTRIES");
    if (env != NULL && *env != '\0')
        maxn = parse_count(env, "JWTX_BENCH_ENTRIES");
    long long maxf = DEFAULT_FAMILIES;
    env = getenv("JWTX_BENCH_FAMILIES");
    if (env != NULL && *env != '\0')
        maxf = parse_count(env, "JWTX_BENCH_FAMILIES");
    const char *dir = getenv("JWTX_BENCH_DIR");
    if (dir == NULL || *dir == '\0')
        dir = "build/bench";
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", dir, strerror(errno));
    snprintf(tmpdir, sizeof tmpdir, "%s/blocklist-XXXXXX", dir);
    if (mkdtemp(tmpdir) == NULL) {
        tmpdir[0] = '\0';
        die("mkdtemp under %s: %s", dir, strerror(errno));
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    bench_all(secs, maxn, maxf);
    cleanup();
    return 0;
}
