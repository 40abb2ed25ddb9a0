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
 * Usage:
 *   bench_blocklist                      the per-check benchmark
 *   bench_blocklist fill-sqlite PATH FROM TO     add revoked jtis FROM..TO-1
 *   bench_blocklist fill-redis PORT FROM TO      the same into 127.0.0.1:PORT db 0
 *   bench_blocklist jti I                print revoked jti number I
 * Output, one line per back end and size:
 *   bench: blocklist-check <sqlite|redis> entries=<N> checks/s=<n> us/check=<t>
 *          clear-us=<t> revoked-us=<t>            (revoked-us=- when N is 0)
 * Environment: JWTX_BENCH_SECONDS (per size and kind of jti, default 0.5),
 * JWTX_BENCH_DIR (where the temporary folder goes, default build/bench),
 * JWTX_BENCH_ENTRIES (largest store, default 1000000).
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

/* Runs checks from p for at least secs; returns seconds used, adds to *done. */
static double run_slice(jwtx_blocklist *bl, const pool *p, int want, double secs, size_t *pos,
                        long long *done)
{
    long long now = (long long)time(NULL);
    double t0 = mono_now(), t;
    long long n = 0;
    do {
        for (int k = 0; k < 16; k++) {
            int r = jwtx_blocklist_check(bl, p->jti[*pos & (POOL - 1)], USER, now - 10, now);
            if (r != want)
                die("%s: check of %s gave %d, expected %d (%s)", jwtx_blocklist_kind(bl),
                    p->jti[*pos & (POOL - 1)], r, want, jwtx_blocklist_last_error(bl));
            (*pos)++;
            n++;
        }
        t = mono_now();
    } while (t - t0 < secs);
    *done += n;
    return t - t0;
}

/* One store of one size, and what was measured on it. */
typedef struct store {
    long long n;
    jwtx_blocklist *bl;
    pool *clear, *revoked;
    size_t cpos, rpos;
    long long cdone, rdone;
    double ctime, rtime;
} store;

static void store_open(store *st, const char *url, const char *kind, long long n)
{
    memset(st, 0, sizeof *st);
    st->n = n;
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
}

/* One slice of clear checks and one of revoked checks (when there are any). */
static void store_slice(store *st, double secs, bool count)
{
    long long junk = 0;
    double t =
        run_slice(st->bl, st->clear, JWTX_BL_CLEAR, secs, &st->cpos, count ? &st->cdone : &junk);
    if (count)
        st->ctime += t;
    if (st->n > 0) {
        t = run_slice(st->bl, st->revoked, JWTX_BL_REVOKED, secs, &st->rpos,
                      count ? &st->rdone : &junk);
        if (count)
            st->rtime += t;
    }
}

static void store_report(store *st, const char *kind)
{
    double all = st->ctime + st->rtime;
    long long total = st->cdone + st->rdone;
    char rev[32] = "-";
    if (st->n > 0)
        snprintf(rev, sizeof rev, "%.2f", st->rtime * 1e6 / (double)st->rdone);
    printf("bench: blocklist-check %s entries=%lld checks/s=%.0f us/check=%.2f clear-us=%.2f "
           "revoked-us=%s\n",
           kind, st->n, (double)total / all, all * 1e6 / (double)total,
           st->ctime * 1e6 / (double)st->cdone, rev);
    fflush(stdout);
    jwtx_blocklist_free(st->bl);
    free(st->clear);
    free(st->revoked);
    memset(st, 0, sizeof *st);
}

/* Times all sizes of one back end together: slices rotate over the stores
 * (and the starting store moves each round), so a busy machine slows every
 * size alike and the numbers stay comparable. */
static void bench_stores(const char *kind, char urls[][PATH_MAX + 48], const long long *sizes,
                         int nsizes, double secs)
{
    store st[3];
    for (int i = 0; i < nsizes; i++)
        store_open(&st[i], urls[i], kind, sizes[i]);
    for (int i = 0; i < nsizes; i++)
        store_slice(&st[i], 0.05, false); /* connection, statements, first pages */
    for (int s = 0; s < SLICES; s++)
        for (int k = 0; k < nsizes; k++)
            store_slice(&st[(s + k) % nsizes], secs / SLICES, true);
    for (int i = 0; i < nsizes; i++)
        store_report(&st[i], kind);
}

static void bench_all(double secs, long long maxn)
{
    long long sizes[3] = {0, 1000, maxn};
    int nsizes = maxn > 1000 ? 3 : (maxn > 0 ? 2 : 1);
    if (maxn > 0 && maxn <= 1000)
        sizes[1] = maxn;
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
        fprintf(stderr, "bench: (sqlite: %lld entries written in %.1f s)\n", sizes[i],
                mono_now() - t0);
    }
    bench_stores("sqlite", urls, sizes, nsizes, secs);

    int port = redis_start();
    for (int i = 0; i < nsizes; i++) {
        snprintf(urls[i], sizeof urls[i], "redis://127.0.0.1:%d/%d", port, i);
        double t0 = mono_now();
        redis_fill(port, i, 0, sizes[i]);
        fprintf(stderr, "bench: (redis: %lld entries written in %.1f s)\n", sizes[i],
                mono_now() - t0);
    }
    bench_stores("redis", urls, sizes, nsizes, secs);
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
    if (argc == 5 && strcmp(argv[1], "fill-redis") == 0) {
        long long port = parse_count(argv[2], "PORT");
        if (port < 1 || port > 65535)
            die("PORT must be in [1, 65535]");
        redis_fill((int)port, 0, parse_count(argv[3], "FROM"), parse_count(argv[4], "TO"));
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [fill-sqlite PATH FROM TO | fill-redis PORT FROM TO | jti I]\n",
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
    bench_all(secs, maxn);
    cleanup();
    return 0;
}
