/*
 * test_blocklist.c — the revocation store against real stores: a SQLite file
 * in a temporary directory, and redis-server processes this program starts
 * itself on free 127.0.0.1 ports below 32768 (and a unix socket), checks are
 * its own (INFO process_id), and stops again. No mocks: expiry boundaries,
 * user cut-offs, file modes, schema versions, concurrent processes, failing
 * closed when Redis dies and recovering on the same handle when it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "cu.h"
#include "jwtx/blocklist.h"

static char tmpdir[256];

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmpdir, name);
    return buf[i];
}

static jwtx_blocklist *open_url(const char *url, const char *prefix, long long leeway)
{
    jwtx_blocklist *bl = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_blocklist_open_url(url, prefix, 500, leeway, &bl, &err);
    if (rc != 0)
        fprintf(stderr, "\n  open %s: %s\n", url, jwtx_error_message(&err));
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(bl);
    return bl;
}

/* A handle on tmpdir/name, without making the store. */
static jwtx_blocklist *open_sqlite_bare(const char *name, long long leeway)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite:%s", tmp_path(name));
    return open_url(url, NULL, leeway);
}

/* A handle on tmpdir/name, the store made first as an installer does
 * (jwtx_blocklist_init: a no-op on an existing store). */
static jwtx_blocklist *open_sqlite(const char *name, long long leeway)
{
    jwtx_blocklist *bl = open_sqlite_bare(name, leeway);
    if (bl != NULL && jwtx_blocklist_init(bl, NULL) != 0) {
        fprintf(stderr, "\n  init %s: %s\n", name, jwtx_blocklist_last_error(bl));
        CU_FAIL("jwtx_blocklist_init");
    }
    return bl;
}

/* list callback: appends "kind key until\n" to a buffer. */
typedef struct listbuf {
    char s[8192];
    int n;
    int stop_after;
} listbuf;

static int list_cb(const char *kind, const char *key, long long until, void *ctx)
{
    listbuf *b = ctx;
    size_t len = strlen(b->s);
    snprintf(b->s + len, sizeof b->s - len, "%s %s %lld\n", kind, key, until);
    b->n++;
    return b->stop_after && b->n >= b->stop_after;
}

/* ------------------------------------------------------------ URL parsing */

static void test_open_urls(void)
{
    static const struct {
        const char *url;
        int rc;
        const char *kind;
        const char *msg; /* part of the error text */
    } cases[] = {
        {"", 0, NULL, NULL},
        {"sqlite:/tmp/x.db", 0, "sqlite", NULL},
        {"sqlite:relative.db", 0, "sqlite", NULL},
        {"sqlite:", -1, NULL, "sqlite: needs a file path"},
        {"redis://127.0.0.1:6379/0", 0, "redis", NULL},
        {"redis://localhost", 0, "redis", NULL},
        {"redis://localhost/", 0, "redis", NULL},
        {"redis://:s3cret@127.0.0.1:6379/2", 0, "redis", NULL},
        {"redis://user:p%40ss@127.0.0.1:6379/2", 0, "redis", NULL},
        {"redis://[::1]:6379/1", 0, "redis", NULL},
        {"unix:/run/redis.sock", 0, "redis", NULL},
        {"unix:/run/redis.sock?db=3&password=x", 0, "redis", NULL},
        {"redis+unix:///run/redis.sock?db=3", 0, "redis", NULL},
        {"redis+unix://:pw@/run/redis.sock?db=1", 0, "redis", NULL},
        {"redis://127.0.0.1:0/0", -1, NULL, "port must be a number from 1 to 65535"},
        {"redis://127.0.0.1:65536/0", -1, NULL, "port must be"},
        {"redis://127.0.0.1:x/0", -1, NULL, "port must be"},
        {"redis://127.0.0.1:6379/db", -1, NULL, "database must be a number"},
        {"redis://127.0.0.1:6379/-1", -1, NULL, "database must be a number"},
        {"redis://127.0.0.1:6379/1/2", -1, NULL, "database must be a number"},
        {"redis://", -1, NULL, "missing host"},
        {"redis://secretonly@host/0", -1, NULL, "[USER]:PASSWORD@"},
        {"redis://:bad%zz@host/0", -1, NULL, "bad percent-escape in the password"},
        {"redis://:bad%00@host/0", -1, NULL, "bad percent-escape in the password"},
        {"redis://ho st/0", -1, NULL, "bad character in the host name"},
        {"unix:relative.sock", -1, NULL, "must be absolute"},
        {"unix:/run/redis.sock?db=x", -1, NULL, "db must be a database number"},
        {"unix:/run/redis.sock?foo=1", -1, NULL, "unknown query parameter"},
        {"redis+unix://pw/run/redis.sock", -1, NULL, "expected redis+unix://"},
        {"mysql://x", -1, NULL, "unknown store"},
        {"sqlite", -1, NULL, "unknown store"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jwtx_blocklist *bl = (jwtx_blocklist *)&bl; /* must be overwritten or left */
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_blocklist_open_url(cases[i].url, NULL, 100, 0, &bl, &err);
        if (rc != cases[i].rc)
            fprintf(stderr, "\n  %s: rc %d (%s)\n", cases[i].url, rc, err.text);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (rc == 0) {
            if (cases[i].kind == NULL) {
                CU_ASSERT_PTR_NULL(bl);
            } else {
                JWTX_ASSERT_STR(jwtx_blocklist_kind(bl), cases[i].kind);
                jwtx_blocklist_free(bl);
            }
        } else {
            CU_ASSERT_EQUAL(err.code, JWTX_ERR_CONFIG);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.text, cases[i].msg));
            CU_ASSERT_PTR_NOT_NULL(strstr(err.text, "JWTX_BLOCKLIST: "));
            CU_ASSERT_PTR_NULL(strstr(err.text, "bad%zz"));
            CU_ASSERT_PTR_EQUAL(bl, (jwtx_blocklist *)&bl); /* untouched on failure */
        }
    }
    /* The config front door: "" and NULL mean "no store". */
    jwtx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    jwtx_blocklist *bl = (jwtx_blocklist *)&cfg;
    CU_ASSERT_EQUAL(jwtx_blocklist_open(&cfg, &bl, NULL), 0);
    CU_ASSERT_PTR_NULL(bl);
    cfg.blocklist = (char *)"redis://127.0.0.1:1/0"; /* nothing listens: open still works */
    cfg.blocklist_timeout_ms = 100;
    CU_ASSERT_EQUAL(jwtx_blocklist_open(&cfg, &bl, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(bl);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 0), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "redis 127.0.0.1:1: connect"));
    jwtx_blocklist_free(bl);
    /* A NULL handle (no store): nothing is revoked, revoking fails. */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(NULL, "j", "u", 0, 0), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(NULL, "j", false, 0, 0), -1);
    JWTX_ASSERT_STR(jwtx_blocklist_kind(NULL), "none");
    jwtx_blocklist_free(NULL);
}

/* ------------------------------------------------ semantics (both stores) */

/* Revoke/check and user cut-offs; no waiting on real time. */
static void common_semantics(jwtx_blocklist *bl, long long now)
{
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", NULL, now, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "a", true, now + 100, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", NULL, now, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", "nobody", now, now + 99), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "b", NULL, now, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "A", NULL, now, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, NULL, now, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "", "", now, now), JWTX_BL_CLEAR);
    /* an exotic jti: spaces, quotes, glob characters, UTF-8 */
    const char *odd = "x y*?[]'\"\\ \xc3\xa9";
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, odd, false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, odd, NULL, now, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "x y", NULL, now, now), JWTX_BL_CLEAR);

    /* A token already expired needs no entry. */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "old", true, now, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old", NULL, now - 10, now - 10), JWTX_BL_CLEAR);

    /* User cut-off: iat == cutoff revoked, iat > cutoff clear; max kept. */
    long long cut = now - 50;
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "alice", cut), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut - 1, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut + 1, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", LLONG_MIN, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "zz", "alice", cut + 1, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", "alice", cut + 1, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "zz", "alice", cut, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "bob", LLONG_MIN, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "alice", cut - 20), 0); /* earlier: ignored */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "alice", cut + 10), 0); /* later: raises */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut + 10, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "alice", cut + 11, now), JWTX_BL_CLEAR);

    /* Bad arguments fail closed. */
    static char longkey[JWTX_BLOCKLIST_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, longkey, NULL, now, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, longkey, now, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, longkey, false, 0, now), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "longer than 4096 bytes"));
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, NULL, false, 0, now), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "", false, 0, now), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "", now), -1);
    longkey[JWTX_BLOCKLIST_KEY_MAX] = '\0'; /* exactly the maximum is fine */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, longkey, false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, longkey, NULL, now, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_ping(bl), 0);
    JWTX_ASSERT_STR(jwtx_blocklist_last_error(bl), "");
}

/* ---------------------------------------------------------------- SQLite */

static int file_mode(const char *path);

static void test_sqlite_semantics(void)
{
    jwtx_blocklist *bl = open_sqlite("sem.db", 0);
    JWTX_ASSERT_STR(jwtx_blocklist_kind(bl), "sqlite");
    common_semantics(bl, 1700000000);
    jwtx_blocklist_free(bl);
}

/* "sqlite::memory:": a private store, no file created. */
static void test_sqlite_memory(void)
{
    char cwd[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    CU_ASSERT_EQUAL_FATAL(chdir(tmpdir), 0);
    jwtx_blocklist *bl = open_url("sqlite::memory:", NULL, 0);
    common_semantics(bl, 1700000000);
    CU_ASSERT_EQUAL(file_mode(":memory:"), -1);
    jwtx_blocklist_free(bl);
    CU_ASSERT_EQUAL(chdir(cwd), 0);
}

static void test_sqlite_expiry_boundaries(void)
{
    jwtx_blocklist *bl = open_sqlite("exp.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t1", true, 1000, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 900, 900), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 900, 999), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 900, 1000), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 900, 1001), JWTX_BL_CLEAR);
    /* exp == now: already expired, nothing stored; exp == now + 1: stored */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t2", true, 900, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t2", NULL, 0, 899), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t3", true, 901, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t3", NULL, 0, 900), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t3", NULL, 0, 901), JWTX_BL_CLEAR);
    /* Revoking again keeps the longer life, and forever beats any exp. */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t1", true, 2000, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t1", true, 1500, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 0, 1999), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 0, 2000), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t1", false, 0, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t1", true, 1200, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t1", NULL, 0, 5000), JWTX_BL_REVOKED);
    /* Never-expiring token: revoked forever. */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "forever", false, 0, 900), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "forever", NULL, 0, LLONG_MAX), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);

    /* JWT_DECODE_LEEWAY: a token accepted up to exp + leeway stays revoked. */
    bl = open_sqlite("leeway.db", 10);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "t", true, 1000, 1005), 0); /* past exp, in leeway */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t", NULL, 0, 1009), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "t", NULL, 0, 1010), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "u", true, 1000, 1010), 0); /* needs no entry */
    long long n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, 0, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    jwtx_blocklist_free(bl);
}

static long long sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static void test_sqlite_file_mode_and_schema(void)
{
    static const mode_t masks[] = {0, 022, 0277, 0777};
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "mode%zu.db", i);
        mode_t old = umask(masks[i]);
        jwtx_blocklist *bl = open_sqlite_bare(name, 0);
        /* Never made by a check or a revocation: a missing file is unavailable. */
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "no store file"));
        CU_ASSERT_EQUAL(file_mode(tmp_path(name)), -1);
        int made = -1;
        CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, &made), 0);
        CU_ASSERT_EQUAL(made, JWTX_BL_INIT_CREATED);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), 0);
        umask(old);
        CU_ASSERT_EQUAL(file_mode(tmp_path(name)), 0600);
        char wal[64];
        snprintf(wal, sizeof wal, "%s-wal", name);
        CU_ASSERT_EQUAL(file_mode(tmp_path(wal)), 0600);
        /* init again: left as it is, entries kept */
        CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, &made), 0);
        CU_ASSERT_EQUAL(made, JWTX_BL_INIT_EXISTS);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_REVOKED);
        jwtx_blocklist_free(bl);
    }
    const char *p = tmp_path("mode1.db");
    CU_ASSERT_EQUAL(sql_int(p, "PRAGMA user_version"), 3);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN "
                               "('revoked', 'revoked_users', 'revoked_until', 'login_failures', "
                               "'login_bans', 'families', 'families_user', 'families_until', "
                               "'rotated', 'rotated_until')"),
                    10);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM revoked WHERE jti = 'j' AND until IS NULL"),
                    1);
    /* journal_mode is persistent in the file once WAL */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CU_ASSERT_EQUAL(sqlite3_open(p, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
    JWTX_ASSERT_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    /* A newer schema is refused: fail closed with a reason; init refuses it too. */
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    jwtx_blocklist *bl = open_sqlite_bare("mode1.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "k", false, 0, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl),
                                  "schema version 4 is not one this jwtx knows (1 to 3)"));
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    jwtx_blocklist_free(bl);
    /* An existing empty file (an installer's `install -m 640 /dev/null`):
     * unavailable until init writes the schema; it keeps its mode. */
    int fd = open(tmp_path("given.db"), O_CREAT | O_WRONLY, 0640);
    CU_ASSERT(fd >= 0);
    close(fd);
    chmod(tmp_path("given.db"), 0640);
    bl = open_sqlite_bare("given.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "not a jwtx revocation store"));
    int made = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, &made), 0);
    CU_ASSERT_EQUAL(made, JWTX_BL_INIT_SCHEMA);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), 0);
    CU_ASSERT_EQUAL(file_mode(tmp_path("given.db")), 0640);
    jwtx_blocklist_free(bl);
    /* Another application's database is never taken over, nor written to. */
    CU_ASSERT_EQUAL(sqlite3_open(tmp_path("other.db"), &db), SQLITE_OK);
    CU_ASSERT_EQUAL(
        sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    bl = open_sqlite_bare("other.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "not a jwtx revocation store"));
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    jwtx_blocklist_free(bl);
    CU_ASSERT_EQUAL(sql_int(tmp_path("other.db"), "SELECT count(*) FROM sqlite_master"), 1);
    CU_ASSERT_EQUAL(file_mode(tmp_path("other.db-wal")), -1);
}

static void test_sqlite_two_handles(void)
{
    jwtx_blocklist *a = open_sqlite("two.db", 0);
    jwtx_blocklist *b = open_sqlite("two.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(b, "j1", "u", 10, 100), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(a, "j1", true, 200, 100), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(b, "j1", NULL, 10, 100), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(b, "u", 50), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(a, NULL, "u", 50, 100), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(a, NULL, "u", 51, 100), JWTX_BL_CLEAR);
    jwtx_blocklist_free(a);
    jwtx_blocklist_free(b);
}

/* Two processes revoke 500 jtis each at the same time; none may be lost. One
 * child opens its own handle; the other uses a handle its parent had already
 * used (the fork safety net). A child reports its failures through a pipe
 * and then ends by exec'ing true(1): it still holds the parent's SQLite
 * connection, which it must never close, so no exit-time leak checker
 * (LeakSanitizer, valgrind) may run there. */
static void test_sqlite_fork_concurrent(void)
{
    jwtx_blocklist *parent = open_sqlite("fork.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(parent, "p0", false, 0, 100), 0);
    int go[2], res[2];
    CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
    CU_ASSERT_EQUAL_FATAL(pipe(res), 0);
    pid_t kids[2];
    for (int c = 0; c < 2; c++) {
        kids[c] = fork();
        CU_ASSERT(kids[c] >= 0);
        if (kids[c] == 0) {
            char byte;
            close(go[1]);
            close(res[0]);
            if (read(go[0], &byte, 1) < 0) /* start together */
                _exit(3);
            jwtx_blocklist *bl = c == 0 ? open_sqlite("fork.db", 0) : parent;
            unsigned char bad = 0;
            for (int i = 0; i < 500; i++) {
                char jti[32];
                snprintf(jti, sizeof jti, "c%d-%d", c, i);
                if (jwtx_blocklist_revoke(bl, jti, true, 5000 + i, 100) != 0) {
                    fprintf(stderr, "child %d: %s\n", c, jwtx_blocklist_last_error(bl));
                    bad = 1;
                }
            }
            if (c == 0)
                jwtx_blocklist_free(bl);
            unsigned char report[2] = {'A' + (unsigned char)c, bad};
            if (write(res[1], report, 2) != 2)
                fprintf(stderr, "child %d: cannot report\n", c);
            execl("/bin/true", "true", (char *)NULL);
            _exit(4);
        }
    }
    close(go[0]);
    close(res[1]);
    close(go[1]); /* EOF releases both children */
    for (int c = 0; c < 2; c++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(kids[c], &status, 0), kids[c]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    unsigned char reports[8];
    ssize_t got = read(res[0], reports, sizeof reports);
    close(res[0]);
    CU_ASSERT_EQUAL(got, 4);
    for (ssize_t i = 0; i + 1 < got; i += 2)
        CU_ASSERT_EQUAL(reports[i + 1], 0);
    long long n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(parent, 100, &n), 0);
    CU_ASSERT_EQUAL(n, 1001);
    int missing = 0;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 500; i++) {
            char jti[32];
            snprintf(jti, sizeof jti, "c%d-%d", c, i);
            if (jwtx_blocklist_check(parent, jti, NULL, 0, 100) != JWTX_BL_REVOKED)
                missing++;
        }
    CU_ASSERT_EQUAL(missing, 0);
    /* The parent's own handle still works after the children used theirs. */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(parent, "p0", NULL, 0, 100), JWTX_BL_REVOKED);
    jwtx_blocklist_free(parent);
}

static void test_sqlite_purge_count_list(void)
{
    jwtx_blocklist *bl = open_sqlite("list.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "b-exp200", true, 200, 100), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "a-exp300", true, 300, 100), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "c-forever", false, 0, 100), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "zed", 150), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "amy", 90), 0);
    long long n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, 100, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, 200, &n), 0);
    CU_ASSERT_EQUAL(n, 4);
    listbuf lb;
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_list(bl, 100, list_cb, &lb), 0);
    JWTX_ASSERT_STR(lb.s, "jti a-exp300 300\njti b-exp200 200\njti c-forever 0\n"
                          "user amy 90\nuser zed 150\n");
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_list(bl, 250, list_cb, &lb), 0);
    JWTX_ASSERT_STR(lb.s, "jti a-exp300 300\njti c-forever 0\nuser amy 90\nuser zed 150\n");
    memset(&lb, 0, sizeof lb);
    lb.stop_after = 2;
    CU_ASSERT_EQUAL(jwtx_blocklist_list(bl, 100, list_cb, &lb), 1);
    CU_ASSERT_EQUAL(lb.n, 2);
    long long removed = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, 250, &removed), 0);
    CU_ASSERT_EQUAL(removed, 1);
    CU_ASSERT_EQUAL(sql_int(tmp_path("list.db"), "SELECT count(*) FROM revoked"), 2);
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, 250, &removed), 0);
    CU_ASSERT_EQUAL(removed, 0);

    /* A purge larger than one batch. */
    for (int i = 0; i < 1234; i++) {
        char jti[32];
        snprintf(jti, sizeof jti, "bulk-%d", i);
        CU_ASSERT_EQUAL_FATAL(jwtx_blocklist_revoke(bl, jti, true, 1000 + i % 7, 900), 0);
    }
    /* a-exp300 (expired at 900) went during those revokes */
    CU_ASSERT_EQUAL(sql_int(tmp_path("list.db"), "SELECT count(*) FROM revoked"), 1235);
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, 5000, &removed), 0);
    CU_ASSERT_EQUAL(removed, 1234);
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, 5000, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    jwtx_blocklist_free(bl);

    /* Expired rows also go as we revoke (every 64th revoke, bounded). */
    bl = open_sqlite("gc.db", 0);
    for (int i = 0; i < 10; i++) {
        char jti[32];
        snprintf(jti, sizeof jti, "short-%d", i);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, jti, true, 1001, 1000), 0);
    }
    for (int i = 0; i < 54; i++) {
        char jti[32];
        snprintf(jti, sizeof jti, "long-%d", i);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, jti, true, 9000, 2000), 0);
    }
    CU_ASSERT_EQUAL(sql_int(tmp_path("gc.db"), "SELECT count(*) FROM revoked"), 54);
    jwtx_blocklist_free(bl);
}

static void test_sqlite_unavailable(void)
{
    /* A path under a regular file can never be created, even as root. */
    int fd = open(tmp_path("plainfile"), O_CREAT | O_WRONLY, 0600);
    CU_ASSERT(fd >= 0);
    close(fd);
    jwtx_blocklist *bl = open_sqlite_bare("plainfile/bl.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "cannot create"));
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", "u", 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "u", 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", true, 100, 1), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "u", 1), -1);
    long long n = 42;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, 1, &n), -1);
    CU_ASSERT_EQUAL(n, 42); /* outputs only on success */
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, 1, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ping(bl), -1);
    listbuf lb;
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_list(bl, 1, list_cb, &lb), -1);
    jwtx_blocklist_free(bl);
    /* A directory, and a file that is not a database. */
    bl = open_sqlite_bare("", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    jwtx_blocklist_free(bl);
    FILE *f = fopen(tmp_path("junk.db"), "w");
    CU_ASSERT_PTR_NOT_NULL(f);
    for (int i = 0; f && i < 100; i++)
        fputs("this is not a sqlite database at all\n", f);
    if (f)
        fclose(f);
    bl = open_sqlite_bare("junk.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    jwtx_blocklist_free(bl);
    /* Recovers once the store is made: the same handle, no reopen. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/later", tmpdir);
    bl = open_sqlite_bare("later/bl.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), -1);
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), -1); /* still no file */
    CU_ASSERT_EQUAL(file_mode(tmp_path("later/bl.db")), -1);
    jwtx_blocklist *maker = open_sqlite("later/bl.db", 0);
    jwtx_blocklist_free(maker);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j", false, 0, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
}

/* Log lines a handle reports (jwtx_blocklist_set_log). */
typedef struct logbuf {
    char s[4096];
    int n;
} logbuf;

static void log_cb(const char *msg, void *ctx)
{
    logbuf *b = ctx;
    size_t len = strlen(b->s);
    snprintf(b->s + len, sizeof b->s - len, "%s\n", msg);
    b->n++;
}

/* Copies src over dst through SQLite's backup API (a consistent copy of a
 * live store, made as an operator would with `sqlite3 SRC .backup DST`). */
static int backup_to(const char *src, const char *dst)
{
    sqlite3 *s = NULL, *d = NULL;
    int rc = -1;
    if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(d, "main", s, "main");
        if (b != NULL && sqlite3_backup_step(b, -1) == SQLITE_DONE)
            rc = 0;
        sqlite3_backup_finish(b);
    }
    sqlite3_close(s);
    sqlite3_close(d);
    return rc;
}

static void unlink_store(const char *name)
{
    char p[600];
    unlink(tmp_path(name));
    snprintf(p, sizeof p, "%s-wal", tmp_path(name));
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", tmp_path(name));
    unlink(p);
}

/* `rm store*` under a running handle: unavailable (never a new empty store,
 * never the unlinked file), logged once with the cause; a restored file
 * (a backup copied back) is opened by itself, and what it holds counts. */
static void test_sqlite_removed_and_restored(void)
{
    jwtx_blocklist *run = open_sqlite("rm.db", 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(run, log_cb, &lg);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "before", false, 0, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "before", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(backup_to(tmp_path("rm.db"), tmp_path("rm-backup.db")), 0);
    unlink_store("rm.db");
    /* The running handle: not the unlinked file any more. */
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "before", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "other", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(run), "no store file"));
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "during", false, 0, 1), -1);
    /* A new process: unavailable too, and nothing created. */
    jwtx_blocklist *fresh = open_sqlite_bare("rm.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(fresh, "before", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(file_mode(tmp_path("rm.db")), -1);
    CU_ASSERT_EQUAL(file_mode(tmp_path("rm.db-wal")), -1);
    /* One log line for the change, with the cause. */
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "revocation store unavailable: sqlite "));
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "rm.db: the store file was removed"));
    /* Restored: both handles use it by themselves; "before" is revoked. */
    CU_ASSERT_EQUAL(rename(tmp_path("rm-backup.db"), tmp_path("rm.db")), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "before", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(fresh, "before", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "other", NULL, 0, 1), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(lg.n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "\nrevocation store available again (sqlite)\n"));
    /* And they share it again. */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(fresh, "after", false, 0, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "after", NULL, 0, 1), JWTX_BL_REVOKED);
    jwtx_blocklist_free(fresh);
    /* Only the -shm removed (what SQLite's docs warn against): the handle
     * notices, drops its connection and opens the files now at the path. */
    char shm[600];
    snprintf(shm, sizeof shm, "%s-shm", tmp_path("rm.db"));
    CU_ASSERT_EQUAL(unlink(shm), 0);
    int before = lg.n;
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "after", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT(file_mode(shm) != -1); /* a new -shm, made by the reopened connection */
    CU_ASSERT_EQUAL(lg.n, before);   /* no change of state to tell */
    jwtx_blocklist_free(run);
}

/* Another store file renamed over the path: the running handle stops using
 * the old (unlinked) file, fails closed once, then uses the new one, and
 * sees what is written to it from then on. Closing the old connection must
 * not delete the new file's -wal (SQLite deletes "<path>-wal" by name when
 * the last connection to a database closes). */
static void test_sqlite_renamed_over(void)
{
    jwtx_blocklist *run = open_sqlite("ro.db", 0);
    jwtx_blocklist_set_retry_ms(run, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "old-only", false, 0, 1), 0);
    /* The replacement: made aside, holding a revocation of its own. */
    jwtx_blocklist *aside = open_sqlite("ro-new.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(aside, "new-only", false, 0, 1), 0);
    jwtx_blocklist_free(aside); /* the last connection: checkpointed, no -wal left */
    CU_ASSERT_EQUAL(file_mode(tmp_path("ro-new.db-wal")), -1);
    /* The -wal and -shm beside the old file belong to it: an operator
     * replacing a store removes them with it (README). */
    char p[600];
    snprintf(p, sizeof p, "%s-wal", tmp_path("ro.db"));
    CU_ASSERT_EQUAL(unlink(p), 0);
    snprintf(p, sizeof p, "%s-shm", tmp_path("ro.db"));
    CU_ASSERT_EQUAL(unlink(p), 0);
    CU_ASSERT_EQUAL(rename(tmp_path("ro-new.db"), tmp_path("ro.db")), 0);
    /* A new handle writes into the new file before the old one looks. */
    jwtx_blocklist *fresh = open_sqlite_bare("ro.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(fresh, "later", false, 0, 1), 0);
    /* The running handle notices and reads the new file at once. */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "new-only", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "later", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "old-only", NULL, 0, 1), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "from-run", false, 0, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(fresh, "from-run", NULL, 0, 1), JWTX_BL_REVOKED);
    jwtx_blocklist_free(fresh);
    jwtx_blocklist_free(run);

    /* Only the main file renamed over while a handle runs: noticed by its
     * inode. The old connection closes without deleting anything. */
    run = open_sqlite("ro2.db", 0);
    jwtx_blocklist_set_retry_ms(run, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "x", false, 0, 1), 0);
    aside = open_sqlite("ro2-new.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(aside, "y", false, 0, 1), 0);
    jwtx_blocklist_free(aside);
    CU_ASSERT_EQUAL(rename(tmp_path("ro2-new.db"), tmp_path("ro2.db")), 0);
    /* SQLite would read the new file through the old file's -wal: refused,
     * with the remedy, until the two are gone. */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "y", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(run), "belong to the old one"));
    CU_ASSERT(file_mode(tmp_path("ro2.db-wal")) != -1); /* not deleted by the close */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "y", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", tmp_path("ro2.db"));
    CU_ASSERT_EQUAL(unlink(side), 0);
    snprintf(side, sizeof side, "%s-shm", tmp_path("ro2.db"));
    CU_ASSERT_EQUAL(unlink(side), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "y", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "x", NULL, 0, 1), JWTX_BL_CLEAR);
    jwtx_blocklist_free(run);
    /* The same, the handle closed before it looked: the close deletes
     * nothing (no checkpoint), the -wal stays. */
    run = open_sqlite("ro2.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(run, "x", false, 0, 1), 0);
    aside = open_sqlite("ro2-new.db", 0);
    jwtx_blocklist_free(aside);
    CU_ASSERT_EQUAL(rename(tmp_path("ro2-new.db"), tmp_path("ro2.db")), 0);
    jwtx_blocklist_free(run);
    CU_ASSERT(file_mode(tmp_path("ro2.db-wal")) != -1);
    /* init refuses to make a store beside a -wal or -shm left from a removed
     * one: SQLite would read the new file through it. */
    CU_ASSERT_EQUAL(unlink(tmp_path("ro2.db")), 0);
    run = open_sqlite_bare("ro2.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(run, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(run), "ro2.db-wal is left"));
    CU_ASSERT_EQUAL(file_mode(tmp_path("ro2.db")), -1);
    unlink_store("ro2.db");
    CU_ASSERT_EQUAL(jwtx_blocklist_init(run, NULL), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "x", NULL, 0, 1), JWTX_BL_CLEAR);
    jwtx_blocklist_free(run);
}

/* The store's directory (or a directory above it) renamed away and a new
 * store made at the path: nothing happens to the files a running handle has
 * open, so their inotify watch says nothing, yet the path now names another
 * store, the one `jwtx revoke` writes to. The running handle must read that
 * one (or fail closed), never go on answering from the moved file. */
static void test_sqlite_directory_renamed(void)
{
    char d[600], old[600], top[600], topold[600];
    snprintf(d, sizeof d, "%s/dir1", tmpdir);
    snprintf(old, sizeof old, "%s/dir1-old", tmpdir);
    CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
    jwtx_blocklist *run = open_sqlite("dir1/s.db", 0);
    jwtx_blocklist_set_retry_ms(run, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "t1", NULL, 0, 1), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(rename(d, old), 0);
    CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
    jwtx_blocklist *cli = open_sqlite("dir1/s.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(cli, "t1", false, 0, 1), 0);
    jwtx_blocklist_free(cli);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "t1", NULL, 0, 1), JWTX_BL_REVOKED);
    jwtx_blocklist_free(run);

    /* Two levels up. */
    snprintf(top, sizeof top, "%s/top", tmpdir);
    snprintf(topold, sizeof topold, "%s/top-old", tmpdir);
    snprintf(d, sizeof d, "%s/top/sub", tmpdir);
    CU_ASSERT_EQUAL(mkdir(top, 0700), 0);
    CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
    run = open_sqlite("top/sub/s.db", 0);
    jwtx_blocklist_set_retry_ms(run, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "t2", NULL, 0, 1), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(rename(top, topold), 0);
    CU_ASSERT_EQUAL(mkdir(top, 0700), 0);
    CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
    cli = open_sqlite("top/sub/s.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(cli, "t2", false, 0, 1), 0);
    jwtx_blocklist_free(cli);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "t2", NULL, 0, 1), JWTX_BL_REVOKED);
    jwtx_blocklist_free(run);

    /* A symbolic link in the path is never followed (SQLite's
     * SQLITE_OPEN_NOFOLLOW), so repointing one cannot switch stores. */
    char a[600], link[600];
    snprintf(a, sizeof a, "%s/lnk-a", tmpdir);
    snprintf(link, sizeof link, "%s/lnk", tmpdir);
    CU_ASSERT_EQUAL(mkdir(a, 0700), 0);
    cli = open_sqlite("lnk-a/s.db", 0);
    jwtx_blocklist_free(cli);
    CU_ASSERT_EQUAL(symlink("lnk-a", link), 0);
    run = open_sqlite_bare("lnk/s.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(run, "t3", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    jwtx_blocklist_free(run);
}

/* No inotify instance to be had (fs.inotify.max_user_instances used up by
 * other programs, or no file descriptor left): the handle stats the files
 * on every check instead, and a store replaced under it is still noticed.
 * Made real in a child: its descriptors are used up, all but the three
 * SQLite needs (the file, -wal, -shm), so inotify_init1 fails (EMFILE). */
static void test_sqlite_no_inotify(void)
{
    jwtx_blocklist *maker = open_sqlite("noino.db", 0);
    jwtx_blocklist_free(maker);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int code = 0;
        /* 64 descriptors at most; under valgrind (which keeps some of its
         * own above the limit and refuses a change) the limit it gives. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(10);
        struct rlimit low = {64, rl.rlim_max};
        if (rl.rlim_cur > 64 && setrlimit(RLIMIT_NOFILE, &low) == 0)
            rl.rlim_cur = 64;
        if (rl.rlim_cur > 65536)
            _exit(10);
        int *fds = malloc(rl.rlim_cur * sizeof *fds), n = 0, fd;
        if (fds == NULL)
            _exit(10);
        while ((rlim_t)n < rl.rlim_cur && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
            fds[n++] = fd;
        if (n < 3)
            _exit(11);
        for (int k = 0; k < 3; k++)
            close(fds[--n]);
        jwtx_blocklist *run = open_sqlite_bare("noino.db", 0);
        jwtx_blocklist_set_retry_ms(run, 0);
        if (jwtx_blocklist_check(run, "t", NULL, 0, 1) != JWTX_BL_CLEAR)
            code = 12; /* could not even open the store */
        /* Is inotify really out of reach here? */
        int probe = inotify_init1(IN_CLOEXEC);
        if (probe >= 0)
            code = 13;
        while (n > 0)
            close(fds[--n]);
        /* Another store renamed over the path, holding a revocation. */
        unlink_store("noino-new.db");
        jwtx_blocklist *aside = open_sqlite("noino-new.db", 0);
        if (jwtx_blocklist_revoke(aside, "t", false, 0, 1) != 0)
            code = 14;
        jwtx_blocklist_free(aside);
        char p[600];
        snprintf(p, sizeof p, "%s-wal", tmp_path("noino.db"));
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", tmp_path("noino.db"));
        unlink(p);
        if (rename(tmp_path("noino-new.db"), tmp_path("noino.db")) != 0)
            code = 15;
        if (code == 0 && jwtx_blocklist_check(run, "t", NULL, 0, 1) != JWTX_BL_REVOKED)
            code = 16; /* went on reading the replaced file */
        free(fds);
        _exit(code);
    }
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "\n  child exited %d\n", WEXITSTATUS(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

/* A FIFO (or another file that is not a regular file) at the store's path:
 * unavailable at once, never a read that waits forever (a FIFO opened for
 * reading and writing has no writer to wait for). */
static void test_sqlite_not_regular(void)
{
    CU_ASSERT_EQUAL(mkfifo(tmp_path("fifo.db"), 0600), 0);
    jwtx_blocklist *bl = open_sqlite_bare("fifo.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "not a regular file"));
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "not a regular file"));
    jwtx_blocklist_free(bl);
    /* A directory at the path. */
    char d[600];
    snprintf(d, sizeof d, "%s/dir.db", tmpdir);
    CU_ASSERT_EQUAL(mkdir(d, 0700), 0);
    bl = open_sqlite_bare("dir.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(bl, NULL), -1);
    jwtx_blocklist_free(bl);
}

/* JWTX_BLOCKLIST_RETRY_MS: after a failure the store is not asked until the
 * period ends; then at once again. Counted on a store that fails fast (a
 * missing SQLite file), by the log and by what the handle reports. */
static void test_retry_period(void)
{
    jwtx_blocklist *bl = open_sqlite_bare("retry.db", 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(bl, log_cb, &lg);
    jwtx_blocklist_set_retry_ms(bl, 60000);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    jwtx_blocklist *maker = open_sqlite("retry.db", 0); /* the store is there now */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(maker, "j", false, 0, 1), 0);
    /* ... but the circuit is open: not asked, still unavailable, same cause. */
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "k", false, 0, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "no store file"));
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "asked again every 60000 ms"));
    /* Bad arguments are not store failures and do not open the circuit. */
    /* The period over (set to 0 here): the next call asks and recovers. */
    jwtx_blocklist_set_retry_ms(bl, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(lg.n, 2);
    char big[JWTX_BLOCKLIST_KEY_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jwtx_blocklist_set_retry_ms(bl, 60000);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, big, NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(lg.n, 2);
    /* A short period really ends: 50 ms. */
    jwtx_blocklist_set_retry_ms(bl, 50);
    unlink_store("retry.db");
    jwtx_blocklist_free(maker);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(lg.n, 3);
    maker = open_sqlite("retry.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(maker, "j", false, 0, 1), 0);
    int got = JWTX_BL_UNAVAILABLE;
    for (int i = 0; i < 400 && got == JWTX_BL_UNAVAILABLE; i++) {
        got = jwtx_blocklist_check(bl, "j", NULL, 0, 1);
        if (got == JWTX_BL_UNAVAILABLE)
            usleep(5000);
    }
    CU_ASSERT_EQUAL(got, JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(lg.n, 4);
    jwtx_blocklist_free(maker);
    jwtx_blocklist_free(bl);
}

/* A locked SQLite store (another connection holds it exclusively): the
 * first check waits for the busy timeout (2 s) and fails; with a retry
 * period the next ones fail at once without waiting again, and after the
 * lock is gone and the period over, the store answers. The time bound is
 * generous: 50 checks would take 100 s without the circuit. */
static double mono(void);

static void test_retry_sqlite_locked(void)
{
    jwtx_blocklist *maker = open_sqlite("locked.db", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(maker, "j", false, 0, 1), 0);
    jwtx_blocklist_free(maker);
    sqlite3 *locker = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(tmp_path("locked.db"), &locker), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(locker,
                                 "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; "
                                 "INSERT INTO revoked_users(user, cutoff) VALUES('x', 1)",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    jwtx_blocklist *bl = open_sqlite_bare("locked.db", 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(bl, log_cb, &lg);
    jwtx_blocklist_set_retry_ms(bl, 60000);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "locked"));
    double t0 = mono();
    for (int i = 0; i < 50; i++)
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_UNAVAILABLE);
    CU_ASSERT(mono() - t0 < 30.0);
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_EQUAL(sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(locker);
    jwtx_blocklist_set_retry_ms(bl, 0); /* the period over */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, 1), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(lg.n, 2);
    jwtx_blocklist_free(bl);
}

/* --------------------------------------------------------- login attempts */

/* ban_list callback: appends "key until\n". */
static int ban_cb(const char *key, long long until, void *ctx)
{
    listbuf *b = ctx;
    size_t len = strlen(b->s);
    snprintf(b->s + len, sizeof b->s - len, "%s %lld\n", key, until);
    b->n++;
    return b->stop_after && b->n >= b->stop_after;
}

/* The login-attempt operations, the same on both stores. */
static void login_semantics(jwtx_blocklist *bl, long long now)
{
    long long n = -1, until = -1;
    /* counts in (now - window, now], this failure included */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "p 1.2.3.4 alice", now, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    for (int i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "p 1.2.3.4 alice", now, 60, 10, &n), 0);
        CU_ASSERT_EQUAL(n, i); /* several in the same second are each counted */
    }
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "p 1.2.3.4 alice", now + 59, 60, 10, &n), 0);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "p 1.2.3.4 alice", now + 59, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 4);
    /* the window slides: the three at `now` stop counting at now + 60 */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "p 1.2.3.4 alice", now + 60, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "p 1.2.3.4 alice", now + 60, 60, 10, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    /* keys are separate, and byte strings (spaces, glob characters, UTF-8) */
    const char *odd = "u x*?[]'\" \\ \xc3\xa9";
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, odd, now, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, odd, now, 60, 10, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    /* only the newest `keep` are kept: the count stops there */
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "a 10.0.0.1", now + i, 600, 5, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    /* clear forgets the failures */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_clear(bl, "p 1.2.3.4 alice"), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "p 1.2.3.4 alice", now + 60, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_clear(bl, "never seen"), 0);
    /* bans: none, set, a later end wins, an earlier one does not shorten it */
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now, &until), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "a 10.0.0.1", now, now + 100), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now, &until), 1);
    CU_ASSERT_EQUAL(until, now + 100);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "a 10.0.0.1", now, now + 50), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now + 1, &until), 1);
    CU_ASSERT_EQUAL(until, now + 100);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "a 10.0.0.1", now, now + 200), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now, &until), 1);
    CU_ASSERT_EQUAL(until, now + 200);
    /* a ban ends at its end */
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now + 199, &until), 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now + 200, &until), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "a 10.0.0.1", now, now), -1); /* not after now */
    /* a ban and its key's failures are separate: clearing failures keeps it */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_clear(bl, "a 10.0.0.1"), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "a 10.0.0.1", now, &until), 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, odd, now, now + 30), 0);
    /* list: the bans in force */
    listbuf lb;
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_list(bl, now, ban_cb, &lb), 0);
    CU_ASSERT_EQUAL(lb.n, 2);
    char want[256];
    snprintf(want, sizeof want, "a 10.0.0.1 %lld\n", now + 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(lb.s, want));
    snprintf(want, sizeof want, "%s %lld\n", odd, now + 30);
    CU_ASSERT_PTR_NOT_NULL(strstr(lb.s, want));
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_list(bl, now + 30, ban_cb, &lb), 0);
    CU_ASSERT_EQUAL(lb.n, 1);
    memset(&lb, 0, sizeof lb);
    lb.stop_after = 1;
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_list(bl, now, ban_cb, &lb), 1);
    CU_ASSERT_EQUAL(lb.n, 1);
    /* lift: the ban and the failures of that key */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, odd, now, 60, 10, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_lift(bl, odd), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, odd, now, &until), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, odd, now, 60, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    /* revocations do not see login entries, nor count or list them */
    long long before = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, now, &before), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a 10.0.0.1", "a 10.0.0.1", 0, now), JWTX_BL_CLEAR);
    /* bad arguments fail (closed) */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "", now, 60, 10, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, NULL, now, 60, 10, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "k", now, 0, 10, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, NULL, now, &until), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(NULL, "k", now, &until), -1);
}

static void test_sqlite_login(void)
{
    jwtx_blocklist *bl = open_sqlite("login.db", 0);
    long long now = 1700000000;
    login_semantics(bl, now);
    /* what the file holds */
    const char *p = tmp_path("login.db");
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_failures WHERE key = 'a 10.0.0.1'"), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM login_bans WHERE key = 'a 10.0.0.1'"), now + 200);
    /* each failure purges expired rows, a bounded number per call */
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                                 "WHERE i < 100) INSERT INTO login_failures(key, at, expires) "
                                 "SELECT 'old ' || i, 10, 70 FROM c;"
                                 "INSERT INTO login_bans(key, until) VALUES('ended', 20)",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(db);
    long long n;
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "new", now, 60, 5, &n), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_failures WHERE key LIKE 'old %'"), 68);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_bans WHERE key = 'ended'"), 0);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "new", now, 60, 5, &n), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_failures WHERE key LIKE 'old %'"), 0);
    /* `jwtx blocklist purge` removes expired login rows too */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "later", now + 1000, 60, 5, &n), 0);
    long long removed = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, now + 100000, &removed), 0);
    CU_ASSERT(removed >= 1); /* "later" (the rest went as the failures came) */
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_failures"), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_bans"), 0);
    jwtx_blocklist_free(bl);
}

/* Two processes add failures to the same key at once: every one counted,
 * and the last count seen is the total (the counts are shared). */
static void test_sqlite_login_fork(void)
{
    jwtx_blocklist *bl = open_sqlite("login-fork.db", 0);
    long long now = 1700000000, n = 0;
    int res[2];
    CU_ASSERT_EQUAL_FATAL(pipe(res), 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        CU_ASSERT(kids[k] >= 0);
        if (kids[k] == 0) {
            /* One child its own handle, the other the inherited one. */
            jwtx_blocklist *h = k == 0 ? open_sqlite_bare("login-fork.db", 0) : bl;
            unsigned char bad = 0;
            for (int i = 0; i < 200; i++)
                bad |= jwtx_blocklist_attempt_add(h, "shared", now, 600, 1000, &n) != 0;
            if (k == 0)
                jwtx_blocklist_free(h);
            if (write(res[1], &bad, 1) != 1)
                fprintf(stderr, "child %d: cannot report\n", k);
            /* Leave without exit handlers or leak checks (the inherited
             * connection is abandoned in the child, by design). */
            execl("/bin/true", "true", (char *)NULL);
            _exit(4);
        }
    }
    close(res[1]);
    for (int k = 0; k < 2; k++) {
        int status = -1;
        CU_ASSERT_EQUAL(waitpid(kids[k], &status, 0), kids[k]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    unsigned char reports[4];
    CU_ASSERT_EQUAL(read(res[0], reports, sizeof reports), 2);
    CU_ASSERT(reports[0] == 0 && reports[1] == 0);
    close(res[0]);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "shared", now, 600, &n), 0);
    CU_ASSERT_EQUAL(n, 400);
    jwtx_blocklist_free(bl);
}

/* A store made by an older jwtx (schema version 1, revocations only):
 * revocation checks go on, login operations fail closed with one log line
 * naming the remedy, the circuit stays closed for revocations; init
 * upgrades it (entries kept) and the running handle uses it at once. */
static void test_sqlite_login_old_schema(void)
{
    const char *p = tmp_path("v1.db");
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(
        sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL;"
                     "CREATE TABLE revoked(jti TEXT PRIMARY KEY, until INTEGER);"
                     "CREATE INDEX revoked_until ON revoked(until);"
                     "CREATE TABLE revoked_users(user TEXT PRIMARY KEY, cutoff INTEGER NOT NULL);"
                     "INSERT INTO revoked VALUES('old-jti', NULL);"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    jwtx_blocklist *bl = open_sqlite_bare("v1.db", 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(bl, log_cb, &lg);
    jwtx_blocklist_set_retry_ms(bl, 60000);
    long long now = 1700000000, n = -1, until = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old-jti", NULL, 0, now), JWTX_BL_REVOKED);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u alice", now, &until), -1);
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u alice", now, 60, 5, &n), -1);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "`jwtx blocklist init` upgrades"));
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "login attempt store unavailable: sqlite "));
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "schema (version 1) has no login attempt tables"));
    /* revocations unaffected: no open circuit */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old-jti", NULL, 0, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "new-jti", false, 0, now), 0);
    /* init upgrades, once */
    jwtx_blocklist *maker = open_sqlite_bare("v1.db", 0);
    int made = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_init(maker, &made), 0);
    CU_ASSERT_EQUAL(made, JWTX_BL_INIT_UPGRADED);
    CU_ASSERT_EQUAL(jwtx_blocklist_init(maker, &made), 0);
    CU_ASSERT_EQUAL(made, JWTX_BL_INIT_EXISTS);
    jwtx_blocklist_free(maker);
    CU_ASSERT_EQUAL(sql_int(p, "PRAGMA user_version"), 3);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM revoked"), 2);
    /* the running handle: login operations work now, and it says so */
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u alice", now, 60, 5, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u alice", now, &until), 0);
    CU_ASSERT_EQUAL(lg.n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "\nlogin attempt store available again (sqlite)\n"));
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "new-jti", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
}

/* Login operations share the store's failing-closed machinery: a missing
 * file fails them, the open circuit answers them at once, one log line. */
static void test_login_unavailable_and_circuit(void)
{
    jwtx_blocklist *bl = open_sqlite_bare("login-gone.db", 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(bl, log_cb, &lg);
    jwtx_blocklist_set_retry_ms(bl, 60000);
    long long now = 1700000000, n = 7, until = 9;
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u x", now, &until), -1);
    CU_ASSERT_EQUAL(until, 9);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "no store file"));
    jwtx_blocklist *maker = open_sqlite("login-gone.db", 0);
    /* the circuit is open: not asked although the store is there now */
    for (int i = 0; i < 50; i++) {
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u x", now, 60, 5, &n), -1);
        CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u x", now, &until), -1);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "j", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    }
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "revocation store unavailable: "));
    jwtx_blocklist_set_retry_ms(bl, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u x", now, 60, 5, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(lg.n, 2);
    /* removed under the handle: unavailable, nothing created */
    CU_ASSERT_EQUAL(unlink(tmp_path("login-gone.db")), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u x", now, 60, 5, &n), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "the store file was removed"));
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "u x", now, now + 5), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "no store file"));
    CU_ASSERT_EQUAL(file_mode(tmp_path("login-gone.db")), -1);
    jwtx_blocklist_free(maker);
    jwtx_blocklist_free(bl);
}

/* ------------------------------------------------------ sessions (SQLite) */

/* One rotation as the gateway asks for it: user alice, no slide. exp 0 is
 * a token without exp. */
static int rotate(jwtx_blocklist *bl, const char *jti, long long exp, const char *fam,
                  const char *new_fam, long long now, long long grace, char *out)
{
    jwtx_rotation r;
    memset(&r, 0, sizeof r);
    r.jti = jti;
    r.has_exp = exp != 0;
    r.exp = exp;
    r.family = fam;
    r.new_family = new_fam;
    r.user = "alice";
    r.now = now;
    r.grace = grace;
    return jwtx_blocklist_family_rotate(bl, &r, out, JWTX_BLOCKLIST_FAMILY_MAX + 1);
}

/* family_list callback: appends "family user started last expires\n". */
typedef struct famlist {
    char s[4096];
    int n;
    int stop_after;
} famlist;

static int fam_cb(const jwtx_family_info *f, void *ctx)
{
    famlist *b = ctx;
    size_t len = strlen(b->s);
    snprintf(b->s + len, sizeof b->s - len, "%s %s %lld %lld %lld\n", f->family, f->user,
             f->started, f->last_refresh, f->expires);
    b->n++;
    CU_ASSERT_EQUAL(f->ended, 0);
    return b->stop_after && b->n >= b->stop_after;
}

/* Start, rotate, a second refresh of the same token within the grace period
 * and after it, ENDED after the end, unknown families, and the family as
 * part of the revocation check. */
static void family_semantics(jwtx_blocklist *bl, long long now)
{
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    long long exp = now + 3600;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F1", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F1", "mallory", now, true, exp), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a1", "alice", now, "F1", now), JWTX_BL_CLEAR);
    /* a family the store does not know: revoked (fail closed) */
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a1", "alice", now, "F0", now),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a1", "alice", now, NULL, now), JWTX_BL_CLEAR);
    /* the family does not hide the other reasons */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "gone", false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "gone", "alice", now, "F1", now),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "bob", now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "b1", "bob", now - 1, "F1", now),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "b1", "bob", now + 1, "F1", now + 1),
                    JWTX_BL_CLEAR);

    /* the first refresh of r1 rotates it */
    CU_ASSERT_EQUAL(rotate(bl, "r1", exp, "F1", NULL, now + 100, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "F1");
    /* r1 again 10 s later (grace 10): a second tab, rotated too */
    memset(out, 'x', sizeof out);
    CU_ASSERT_EQUAL(rotate(bl, "r1", exp, "F1", NULL, now + 110, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "F1");
    /* the family claim of a rotated token does not matter: its record does */
    CU_ASSERT_EQUAL(rotate(bl, "r1", exp, "F0", NULL, now + 105, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "F1");
    CU_ASSERT_EQUAL(rotate(bl, "r2", exp, "F1", NULL, now + 200, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a2", "alice", now, "F1", now + 200),
                    JWTX_BL_CLEAR);
    /* r1 after the grace period (counted from its first rotation): reuse,
     * the family ends */
    CU_ASSERT_EQUAL(rotate(bl, "r1", exp, "F1", NULL, now + 111, 10, out), JWTX_BL_REUSED);
    JWTX_ASSERT_STR(out, "F1");
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a2", "alice", now, "F1", now + 112),
                    JWTX_BL_REVOKED);
    /* the token itself is not revoked: its family is what ends it */
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a2", "alice", now, NULL, now + 112),
                    JWTX_BL_CLEAR);
    /* every later refresh of the family: ENDED, the rotated token again too */
    CU_ASSERT_EQUAL(rotate(bl, "r1", exp, "F1", NULL, now + 113, 10, out), JWTX_BL_ENDED);
    JWTX_ASSERT_STR(out, "F1");
    CU_ASSERT_EQUAL(rotate(bl, "r2", exp, "F1", NULL, now + 113, 10, out), JWTX_BL_ENDED);
    CU_ASSERT_EQUAL(rotate(bl, "r3", exp, "F1", NULL, now + 113, 10, out), JWTX_BL_ENDED);
    JWTX_ASSERT_STR(out, "F1");
    CU_ASSERT_EQUAL(rotate(bl, "r9", exp, "F-unknown", NULL, now, 10, out), JWTX_BL_ENDED);
    JWTX_ASSERT_STR(out, "F-unknown");
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F1", now + 120), 0);

    /* logout: the family ends, once */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F2", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F2", now + 5), 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F2", now + 6), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F-unknown", now + 6), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a", "alice", now, "F2", now + 6),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(rotate(bl, "s1", exp, "F2", NULL, now + 6, 10, out), JWTX_BL_ENDED);
    /* an end at time 0 still ends (0 means live) */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F5", "alice", 0, false, 0), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F5", 0), 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a", "alice", 0, "F5", 0), JWTX_BL_REVOKED);

    /* grace 0: the same second is still the same refresh, the next is reuse */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F3", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(rotate(bl, "q1", exp, "F3", NULL, now, 0, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(rotate(bl, "q1", exp, "F3", NULL, now, 0, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(rotate(bl, "q1", exp, "F3", NULL, now + 1, 0, out), JWTX_BL_REUSED);
    JWTX_ASSERT_STR(out, "F3");

    /* a refresh token from before rotation: rotated into a new family */
    CU_ASSERT_EQUAL(rotate(bl, "old1", exp, NULL, "N1", now, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "N1");
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "n", "alice", now, "N1", now), JWTX_BL_CLEAR);
    /* presented again within the grace period: the family made the first
     * time (no second one), after it: reuse */
    CU_ASSERT_EQUAL(rotate(bl, "old1", exp, NULL, "N2", now + 3, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "N1");
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "n", "alice", now, "N2", now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(rotate(bl, "old1", exp, NULL, "N3", now + 11, 10, out), JWTX_BL_REUSED);
    JWTX_ASSERT_STR(out, "N1");
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "n", "alice", now, "N1", now + 11),
                    JWTX_BL_REVOKED);
    /* a new family id that exists already: a failure, nothing recorded */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "N4", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(rotate(bl, "old2", exp, NULL, "N4", now, 10, out), -1);
    JWTX_ASSERT_STR(out, "");
    CU_ASSERT_EQUAL(rotate(bl, "old2", exp, NULL, "N5", now, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "N5");
}

static void test_sqlite_family_semantics(void)
{
    jwtx_blocklist *bl = open_sqlite("fam.db", 0);
    long long now = 1700000000;
    family_semantics(bl, now);
    jwtx_blocklist_free(bl);
    /* what the file holds */
    const char *p = tmp_path("fam.db");
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti = 'r1'"), 1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT at FROM rotated WHERE jti = 'r1'"), now + 100);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM rotated WHERE jti = 'r1'"), now + 3600);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT fam = 'F1' FROM rotated WHERE jti = 'r2'"), 1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT ended FROM families WHERE fam = 'F1'"), now + 111);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT last_refresh FROM families WHERE fam = 'F1'"), now + 200);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT last_refresh FROM families WHERE fam = 'F2'"), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT ended FROM families WHERE fam = 'F5'"), 1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam IN ('N2', 'N3')"), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT started = 1700000000 AND last_refresh = 1700000003 AND "
                               "expires = 1700003600 AND until = 1700003600 AND user = 'alice' "
                               "FROM families WHERE fam = 'N1'"),
                    1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti = 'old2'"), 1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT fam = 'N5' FROM rotated WHERE jti = 'old2'"), 1);
    /* the revocation entries are what count and list show */
    bl = open_sqlite("fam.db", 0);
    long long n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, now, &n), 0);
    CU_ASSERT_EQUAL(n, 2); /* "gone" and bob's cut-off */
    listbuf lb;
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_list(bl, now, list_cb, &lb), 0);
    JWTX_ASSERT_STR(lb.s, "jti gone 0\nuser bob 1700000000\n");
    jwtx_blocklist_free(bl);
    /* a private :memory: store has the session tables too */
    bl = open_url("sqlite::memory:", NULL, 0);
    family_semantics(bl, now);
    jwtx_blocklist_free(bl);
}

/* Expiry and life in the store (leeway), sliding expiry, tokens without
 * exp. */
static void test_sqlite_family_expiry_slide(void)
{
    jwtx_blocklist *bl = open_sqlite("slide.db", 30); /* JWT_DECODE_LEEWAY 30 */
    const char *p = tmp_path("slide.db");
    long long now = 1700000000, exp = now + 3600;
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "S1", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires FROM families WHERE fam = 'S1'"), exp);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM families WHERE fam = 'S1'"), exp + 30);
    /* without slide a rotation keeps the family's expiry */
    CU_ASSERT_EQUAL(rotate(bl, "t1", exp, "S1", NULL, now + 10, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires FROM families WHERE fam = 'S1'"), exp);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM rotated WHERE jti = 't1'"), exp + 30);
    /* with slide it moves: expiry and life in the store */
    jwtx_rotation r;
    memset(&r, 0, sizeof r);
    r.jti = "t2";
    r.has_exp = true;
    r.exp = exp;
    r.family = "S1";
    r.user = "alice";
    r.now = now + 100;
    r.grace = 10;
    r.slide = true;
    r.has_new_expires = true;
    r.new_expires = now + 100 + 7200;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_rotate(bl, &r, out, sizeof out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "S1");
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires FROM families WHERE fam = 'S1'"), now + 7300);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM families WHERE fam = 'S1'"), now + 7330);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT last_refresh FROM families WHERE fam = 'S1'"), now + 100);
    /* the rotated token is kept as long as it could come back: its own exp */
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM rotated WHERE jti = 't2'"), exp + 30);
    famlist fl;
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "alice", exp + 1, fam_cb, &fl), 0);
    JWTX_ASSERT_STR(fl.s, "S1 alice 1700000000 1700000100 1700007300\n");
    /* slide to "never" (no JWT_REFRESH_TOKEN_EXPIRES) */
    r.jti = "t3";
    r.has_new_expires = false;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_rotate(bl, &r, out, sizeof out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires = 0 AND until = 0 FROM families WHERE fam = 'S1'"),
                    1);
    /* a token from before rotation with slide: the new family expires at
     * new_expires, its rotated record lives as the token does */
    r.jti = "t4";
    r.family = NULL;
    r.new_family = "S2";
    r.has_new_expires = true;
    r.new_expires = now + 500;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_rotate(bl, &r, out, sizeof out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "S2");
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires FROM families WHERE fam = 'S2'"), now + 500);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM families WHERE fam = 'S2'"), now + 530);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM rotated WHERE jti = 't4'"), exp + 30);
    /* a token without exp, before rotation: a family that never expires */
    CU_ASSERT_EQUAL(rotate(bl, "t5", 0, NULL, "S3", now, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT expires = 0 AND until = 0 FROM families WHERE fam = 'S3'"),
                    1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM rotated WHERE jti = 't5'"), 0);
    /* an expired family is no longer listed; the check does not look at its
     * expiry (its tokens expire by themselves; the store keeps it until
     * expires + leeway) */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "S4", "bob", now, true, now + 50), 0);
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "bob", now + 49, fam_cb, &fl), 0);
    CU_ASSERT_EQUAL(fl.n, 1);
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "bob", now + 50, fam_cb, &fl), 0);
    CU_ASSERT_EQUAL(fl.n, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a", "bob", now, "S4", now + 60),
                    JWTX_BL_CLEAR);
    jwtx_blocklist_free(bl);
}

/* The sessions of a user: listed by start then id, ended all at once. */
static void test_sqlite_family_list_end_user(void)
{
    jwtx_blocklist *bl = open_sqlite("famlist.db", 0);
    long long now = 1700000000, exp = now + 3600, n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A2", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A0", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A1", "alice", now + 1, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A3", "alice", now, true, exp), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "A3", now + 2), 1);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A4", "alice", now, true, now + 5), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "A5", "alice", now + 2, false, 0), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "B1", "bob", now + 3, true, exp), 0);
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    CU_ASSERT_EQUAL(rotate(bl, "ra", exp, "A1", NULL, now + 8, 10, out), JWTX_BL_ROTATED);
    famlist fl;
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "alice", now + 10, fam_cb, &fl), 0);
    JWTX_ASSERT_STR(fl.s, "A0 alice 1700000000 0 1700003600\n"
                          "A2 alice 1700000000 0 1700003600\n"
                          "A1 alice 1700000001 1700000008 1700003600\n"
                          "A5 alice 1700000002 0 0\n");
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, NULL, now + 10, fam_cb, &fl), 0);
    CU_ASSERT_EQUAL(fl.n, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(fl.s, "A5 alice 1700000002 0 0\nB1 bob 1700000003 0 "));
    memset(&fl, 0, sizeof fl);
    fl.stop_after = 2;
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, NULL, now + 10, fam_cb, &fl), 1);
    CU_ASSERT_EQUAL(fl.n, 2);
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "nobody", now + 10, fam_cb, &fl), 0);
    CU_ASSERT_EQUAL(fl.n, 0);
    /* end --user: every family of alice not ended yet (A4, expired but still
     * in the store, too), none of bob's */
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end_user(bl, "alice", now + 20, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end_user(bl, "alice", now + 21, &n), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end_user(bl, "nobody", now + 21, NULL), 0);
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "alice", now + 22, fam_cb, &fl), 0);
    CU_ASSERT_EQUAL(fl.n, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "A1", now + 22),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(rotate(bl, "ra", exp, "A1", NULL, now + 22, 10, out), JWTX_BL_ENDED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "bob", now, "B1", now + 22),
                    JWTX_BL_CLEAR);
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, NULL, now + 22, fam_cb, &fl), 0);
    JWTX_ASSERT_STR(fl.s, "B1 bob 1700000003 0 1700003600\n");
    CU_ASSERT_EQUAL(sql_int(tmp_path("famlist.db"), "SELECT ended FROM families WHERE fam = 'A3'"),
                    now + 2);
    CU_ASSERT_EQUAL(sql_int(tmp_path("famlist.db"), "SELECT ended FROM families WHERE fam = 'A0'"),
                    now + 20);
    jwtx_blocklist_free(bl);
}

/* `jwtx blocklist purge` deletes families and rotated tokens whose life in
 * the store is over, and so do family writes, a bounded batch now and then. */
static void test_sqlite_family_purge(void)
{
    jwtx_blocklist *bl = open_sqlite("fampurge.db", 0);
    const char *p = tmp_path("fampurge.db");
    long long now = 1700000000, removed = -1;
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "P1", "alice", now, true, now + 10), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "P2", "alice", now, false, 0), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "P3", "alice", now, true, now + 1000), 0);
    CU_ASSERT_EQUAL(rotate(bl, "k1", now + 10, "P3", NULL, now, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(rotate(bl, "k2", 0, "P3", NULL, now, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(rotate(bl, "k3", now + 11, "P3", NULL, now, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "j1", true, now + 10, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, now + 9, &removed), 0);
    CU_ASSERT_EQUAL(removed, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, now + 10, &removed), 0);
    CU_ASSERT_EQUAL(removed, 3); /* j1, P1, k1 */
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam IN ('P2', 'P3')"), 2);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families"), 2);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti IN ('k2', 'k3')"), 2);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated"), 2);
    /* a family purged is unknown: its tokens are revoked */
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "a", "alice", now, "P1", now + 10),
                    JWTX_BL_REVOKED);
    /* far later: what never ends stays */
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, LLONG_MAX, &removed), 0);
    CU_ASSERT_EQUAL(removed, 2); /* P3, k3 */
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam = 'P2'"), 1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti = 'k2'"), 1);
    jwtx_blocklist_free(bl);

    /* as we go: 1200 families and rotated rows past their life; every 64th
     * family write of a handle deletes at most 500 of each */
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                                 "WHERE i < 1200) INSERT INTO families(fam, user, started, "
                                 "expires, until) SELECT 'old ' || i, 'u', 1, 5, 5 FROM c;"
                                 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                                 "WHERE i < 1200) INSERT INTO rotated(jti, fam, at, until) "
                                 "SELECT 'old ' || i, 'old ' || i, 1, 5 FROM c;",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(db);
    bl = open_sqlite("fampurge.db", 0);
    for (int i = 0; i < 63; i++) {
        char fam[32];
        snprintf(fam, sizeof fam, "G%d", i);
        CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, fam, "bob", now, true, now + 100), 0);
    }
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam LIKE 'old %'"), 1200);
    CU_ASSERT_EQUAL(rotate(bl, "g", now + 100, "G0", NULL, now, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam LIKE 'old %'"), 700);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti LIKE 'old %'"), 700);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam LIKE 'G%'"), 63);
    jwtx_blocklist_free(bl);
}

/* A store made by an older jwtx, with an entry in every table it has. */
static void make_old_store(const char *path, int version, long long now)
{
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    char *sql = sqlite3_mprintf(
        "PRAGMA journal_mode = WAL;"
        "CREATE TABLE revoked(jti TEXT PRIMARY KEY, until INTEGER);"
        "CREATE INDEX revoked_until ON revoked(until);"
        "CREATE TABLE revoked_users(user TEXT PRIMARY KEY, cutoff INTEGER NOT NULL);"
        "INSERT INTO revoked VALUES('old-jti', NULL);"
        "INSERT INTO revoked VALUES('exp-jti', %lld);"
        "INSERT INTO revoked_users VALUES('mallory', %lld);"
        "%s"
        "PRAGMA user_version = %d;",
        now + 1000, now - 100,
        version < 2 ? ""
                    : "CREATE TABLE login_failures(key TEXT NOT NULL, at INTEGER NOT NULL, "
                      "expires INTEGER NOT NULL);"
                      "CREATE INDEX login_failures_key ON login_failures(key, at);"
                      "CREATE INDEX login_failures_expires ON login_failures(expires);"
                      "CREATE TABLE login_bans(key TEXT PRIMARY KEY, until INTEGER NOT NULL);"
                      "CREATE INDEX login_bans_until ON login_bans(until);"
                      "INSERT INTO login_failures VALUES('k', 1700000000, 1700000600);"
                      "INSERT INTO login_bans VALUES('b', 1700000600);",
        version);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
    CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    sqlite3_close(db);
}

/* Stores of schema versions 1 and 2: checks without a family, revocations
 * (and on version 2 login attempts) go on; family operations and checks
 * with a family fail closed, told once with the remedy, without opening the
 * circuit; init upgrades to version 3 keeping every entry, and the running
 * handle uses the session tables at once. */
static void test_sqlite_family_old_schema(void)
{
    for (int version = 1; version <= 2; version++) {
        char name[32];
        snprintf(name, sizeof name, "old-v%d.db", version);
        const char *p = tmp_path(name);
        long long now = 1700000000, n = -1, until = -1;
        make_old_store(p, version, now);
        jwtx_blocklist *bl = open_sqlite_bare(name, 0);
        logbuf lg;
        memset(&lg, 0, sizeof lg);
        jwtx_blocklist_set_log(bl, log_cb, &lg);
        jwtx_blocklist_set_retry_ms(bl, 60000);
        char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
        famlist fl;
        memset(&fl, 0, sizeof fl);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old-jti", NULL, 0, now), JWTX_BL_REVOKED);
        for (int i = 0; i < 2; i++) {
            CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "fresh", "alice", now, "F", now),
                            JWTX_BL_UNAVAILABLE);
            CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F", "alice", now, true, now + 60), -1);
            CU_ASSERT_EQUAL(rotate(bl, "r", now + 60, "F", NULL, now, 10, out), -1);
            CU_ASSERT_EQUAL(rotate(bl, "r", now + 60, NULL, "G", now, 10, out), -1);
            CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F", now), -1);
            CU_ASSERT_EQUAL(jwtx_blocklist_family_end_user(bl, "alice", now, &n), -1);
            CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, "alice", now, fam_cb, &fl), -1);
        }
        CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "has no session tables"));
        CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "run `jwtx blocklist init`"));
        CU_ASSERT_EQUAL(lg.n, 1);
        CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "session store unavailable: sqlite "));
        CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "run `jwtx blocklist init`"));
        /* the rest goes on: no open circuit */
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old-jti", NULL, 0, now), JWTX_BL_REVOKED);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "exp-jti", NULL, 0, now), JWTX_BL_REVOKED);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "x", "mallory", now - 100, now), JWTX_BL_REVOKED);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "fresh", "alice", now, now), JWTX_BL_CLEAR);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "new-jti", false, 0, now), 0);
        CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, now, &n), 0);
        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_EQUAL(jwtx_blocklist_purge(bl, now, &n), 0);
        CU_ASSERT_EQUAL(n, 0);
        if (version == 2) {
            CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "k", now, 60, &n), 0);
            CU_ASSERT_EQUAL(n, 1);
            CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "b", now, &until), 1);
        }
        CU_ASSERT_EQUAL(lg.n, 1);
        /* init upgrades, once */
        jwtx_blocklist *maker = open_sqlite_bare(name, 0);
        int made = -1;
        CU_ASSERT_EQUAL(jwtx_blocklist_init(maker, &made), 0);
        CU_ASSERT_EQUAL(made, JWTX_BL_INIT_UPGRADED);
        CU_ASSERT_EQUAL(jwtx_blocklist_init(maker, &made), 0);
        CU_ASSERT_EQUAL(made, JWTX_BL_INIT_EXISTS);
        jwtx_blocklist_free(maker);
        CU_ASSERT_EQUAL(sql_int(p, "PRAGMA user_version"), 3);
        CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM revoked"), 3);
        CU_ASSERT_EQUAL(sql_int(p, "SELECT cutoff FROM revoked_users WHERE user = 'mallory'"),
                        now - 100);
        CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                   "('login_failures', 'login_bans', 'families', "
                                   "'families_user', 'families_until', 'rotated', "
                                   "'rotated_until')"),
                        7);
        if (version == 2) {
            CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM login_failures"), 1);
            CU_ASSERT_EQUAL(sql_int(p, "SELECT until FROM login_bans WHERE key = 'b'"), 1700000600);
        }
        /* the running handle: family operations work now, and it says so */
        CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F", "alice", now, true, now + 60), 0);
        CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "fresh", "alice", now, "F", now),
                        JWTX_BL_CLEAR);
        CU_ASSERT_EQUAL(rotate(bl, "r", now + 60, "F", NULL, now, 10, out), JWTX_BL_ROTATED);
        CU_ASSERT_EQUAL(lg.n, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(lg.s, "\nsession store available again (sqlite)\n"));
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "old-jti", NULL, 0, now), JWTX_BL_REVOKED);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "new-jti", NULL, 0, now), JWTX_BL_REVOKED);
        CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "k", now, 60, 5, &n), 0);
        CU_ASSERT_EQUAL(n, version == 2 ? 2 : 1);
        jwtx_blocklist_free(bl);
    }
}

/* The store removed under a running handle: every family operation and
 * check with a family fails closed, nothing is created. */
static void test_sqlite_family_unavailable(void)
{
    jwtx_blocklist *bl = open_sqlite("famgone.db", 0);
    long long now = 1700000000, n = -1;
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F", "alice", now, true, now + 60), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "F", now), JWTX_BL_CLEAR);
    unlink_store("famgone.db");
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "F", now),
                    JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "the store file was removed"));
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "F", now),
                    JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(rotate(bl, "r", now + 60, "F", NULL, now, 10, out), -1);
    JWTX_ASSERT_STR(out, "");
    CU_ASSERT_EQUAL(rotate(bl, "r", now + 60, NULL, "G", now, 10, out), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "H", "alice", now, true, now + 60), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end(bl, "F", now), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_end_user(bl, "alice", now, &n), -1);
    famlist fl;
    memset(&fl, 0, sizeof fl);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_list(bl, NULL, now, fam_cb, &fl), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "no store file"));
    CU_ASSERT_EQUAL(file_mode(tmp_path("famgone.db")), -1);
    /* a new store at the path: opened by itself; it does not know F */
    jwtx_blocklist *maker = open_sqlite("famgone.db", 0);
    jwtx_blocklist_free(maker);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "F", now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "F", "alice", now, true, now + 60), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "F", now), JWTX_BL_CLEAR);
    jwtx_blocklist_free(bl);
}

/* A rotation is all or nothing: a statement failing half-way (a trigger
 * made to fail stands in for a full disk) leaves no part of it; a store
 * whose write lock another process holds fails after the busy timeout with
 * nothing written, while checks (WAL readers) go on. */
static void test_sqlite_family_rollback_and_locked(void)
{
    jwtx_blocklist *bl = open_sqlite("famtx.db", 0);
    const char *p = tmp_path("famtx.db");
    long long now = 1700000000, exp = now + 3600;
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    CU_ASSERT_EQUAL(jwtx_blocklist_family_start(bl, "T1", "alice", now, true, exp), 0);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    /* the family update after the rotated record fails */
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "CREATE TRIGGER fail_update BEFORE UPDATE ON families "
                                 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(rotate(bl, "x1", exp, "T1", NULL, now + 5, 10, out), -1);
    JWTX_ASSERT_STR(out, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "injected failure"));
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated"), 0);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT last_refresh FROM families WHERE fam = 'T1'"), 0);
    /* the rotated record after the new family fails */
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "DROP TRIGGER fail_update;"
                                 "CREATE TRIGGER fail_insert BEFORE INSERT ON rotated "
                                 "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(rotate(bl, "x2", exp, NULL, "T2", now + 5, 10, out), -1);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM families WHERE fam = 'T2'"), 0);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "DROP TRIGGER fail_insert", NULL, NULL, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(rotate(bl, "x2", exp, NULL, "T2", now + 6, 10, out), JWTX_BL_ROTATED);
    JWTX_ASSERT_STR(out, "T2");
    /* another process holds the write lock */
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "BEGIN IMMEDIATE; INSERT INTO revoked_users(user, cutoff) "
                                 "VALUES('x', 1)",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    double t0 = mono();
    CU_ASSERT_EQUAL(rotate(bl, "x1", exp, "T1", NULL, now + 7, 10, out), -1);
    CU_ASSERT(mono() - t0 >= 1.5); /* it waited (busy timeout), then gave up */
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "locked"));
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "T1", now + 7),
                    JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(bl, "j", "alice", now, "T9", now + 7),
                    JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated WHERE jti = 'x1'"), 0);
    CU_ASSERT_EQUAL(rotate(bl, "x1", exp, "T1", NULL, now + 8, 10, out), JWTX_BL_ROTATED);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT at FROM rotated WHERE jti = 'x1'"), now + 8);
    CU_ASSERT_EQUAL(sql_int(p, "SELECT last_refresh FROM families WHERE fam = 'T1'"), now + 8);
    jwtx_blocklist_free(bl);
}

/* Processes refreshing the same token at the same moment (two tabs, two
 * FastCGI processes, the handle inherited by half of them): within the grace
 * period every one is ROTATED and the token is recorded once; after it
 * exactly one sees the reuse (and ends the family), the others ENDED. */
static void test_sqlite_family_race(void)
{
    enum { KIDS = 6, SESSIONS = 4 };
    jwtx_blocklist *parent = open_sqlite("famrace.db", 0);
    const char *p = tmp_path("famrace.db");
    long long now = 1700000000, exp = now + 3600;
    for (int s = 0; s < SESSIONS; s++) {
        char fam[16], jti[16], sql[128];
        snprintf(fam, sizeof fam, "RF%d", s);
        snprintf(jti, sizeof jti, "rr%d", s);
        CU_ASSERT_EQUAL(jwtx_blocklist_family_start(parent, fam, "alice", now, true, exp), 0);
        /* the parent's session statements are prepared: children inherit them */
        CU_ASSERT_EQUAL(jwtx_blocklist_check_family(parent, "j", "alice", now, fam, now),
                        JWTX_BL_CLEAR);
        for (int round = 0; round < 2; round++) {
            long long at = round == 0 ? now + 100 : now + 111; /* grace 10 */
            int go[2], res[2];
            CU_ASSERT_EQUAL_FATAL(pipe(go), 0);
            CU_ASSERT_EQUAL_FATAL(pipe(res), 0);
            pid_t kids[KIDS];
            for (int k = 0; k < KIDS; k++) {
                kids[k] = fork();
                CU_ASSERT_FATAL(kids[k] >= 0);
                if (kids[k] == 0) {
                    char byte;
                    close(go[1]);
                    close(res[0]);
                    if (read(go[0], &byte, 1) < 0) /* start together */
                        _exit(3);
                    jwtx_blocklist *h = k % 2 == 0 ? parent : open_sqlite_bare("famrace.db", 0);
                    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
                    int rc = rotate(h, jti, exp, fam, NULL, at, 10, out);
                    if (rc < 0)
                        fprintf(stderr, "child %d: %s\n", k, jwtx_blocklist_last_error(h));
                    unsigned char report[2] = {(unsigned char)(rc + 1), strcmp(out, fam) == 0};
                    if (h != parent)
                        jwtx_blocklist_free(h);
                    if (write(res[1], report, 2) != 2)
                        fprintf(stderr, "child %d: cannot report\n", k);
                    execl("/bin/true", "true", (char *)NULL);
                    _exit(4);
                }
            }
            close(go[0]);
            close(res[1]);
            close(go[1]); /* EOF releases every child */
            for (int k = 0; k < KIDS; k++) {
                int status = -1;
                CU_ASSERT_EQUAL(waitpid(kids[k], &status, 0), kids[k]);
                CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            }
            unsigned char reports[2 * KIDS + 2];
            ssize_t got = 0, r;
            while ((r = read(res[0], reports + got, sizeof reports - (size_t)got)) > 0)
                got += r;
            close(res[0]);
            CU_ASSERT_EQUAL(got, 2 * KIDS);
            int count[4] = {0, 0, 0, 0}; /* -1, ROTATED, REUSED, ENDED */
            for (ssize_t i = 0; i + 1 < got; i += 2) {
                count[reports[i] < 4 ? reports[i] : 0]++;
                CU_ASSERT_EQUAL(reports[i + 1], 1);
            }
            CU_ASSERT_EQUAL(count[0], 0);
            snprintf(sql, sizeof sql, "SELECT ended FROM families WHERE fam = '%s'", fam);
            if (round == 0) {
                CU_ASSERT_EQUAL(count[1 + JWTX_BL_ROTATED], KIDS);
                CU_ASSERT_EQUAL(sql_int(p, sql), 0);
            } else {
                CU_ASSERT_EQUAL(count[1 + JWTX_BL_REUSED], 1);
                CU_ASSERT_EQUAL(count[1 + JWTX_BL_ENDED], KIDS - 1);
                CU_ASSERT_EQUAL(sql_int(p, sql), now + 111);
            }
            /* one rotated record per token, made by the first refresh */
            CU_ASSERT_EQUAL(sql_int(p, "SELECT count(*) FROM rotated"), s + 1);
            snprintf(sql, sizeof sql, "SELECT at FROM rotated WHERE jti = '%s'", jti);
            CU_ASSERT_EQUAL(sql_int(p, sql), now + 100);
        }
    }
    /* the parent's own handle still works after the children used theirs */
    CU_ASSERT_EQUAL(jwtx_blocklist_check_family(parent, "j", "alice", now, "RF0", now + 112),
                    JWTX_BL_REVOKED);
    jwtx_blocklist_free(parent);
}

/* ----------------------------------------------------------------- Redis */

typedef struct redis_srv {
    pid_t pid;
    int port;
    char dir[300];
    char sock[340];
} redis_srv;

static redis_srv srv_main, srv_auth;
static const char *redis_extra[4]; /* more redis-server arguments, NULL-ended */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port below 32768 on which a bind to 127.0.0.1 succeeds right now. */
static int free_port(void)
{
    for (int tries = 0; tries < 200; tries++) {
        int port = 20000 + (int)((unsigned)rand() % 12000);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            return -1;
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
        close(s);
        if (ok)
            return port;
    }
    return -1;
}

/* A raw hiredis client for looking at what the store wrote. */
static redisContext *raw_client(const redis_srv *s, const char *password, int db)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (password) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        freeReplyObject(r);
    }
    if (db) {
        redisReply *r = redisCommand(c, "SELECT %d", db);
        freeReplyObject(r);
    }
    return c;
}

static long long raw_int(redisContext *c, const char *cmd, const char *key)
{
    redisReply *r = redisCommand(c, cmd, key, strlen(key));
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    freeReplyObject(r);
    return v;
}

/* Is the server on s->port the process we started? (its bind succeeded) */
static int server_is_ours(const redis_srv *s, const char *password)
{
    redisContext *c = raw_client(s, password, 0);
    if (c == NULL)
        return 0;
    redisReply *r = redisCommand(c, "INFO server");
    int ours = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "process_id:");
        ours = p != NULL && atol(p + 11) == (long)s->pid;
    }
    freeReplyObject(r);
    redisFree(c);
    return ours;
}

static void stop_redis(redis_srv *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    int status;
    double end = mono() + 5;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (mono() > end) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    s->pid = 0;
}

/* Starts redis-server in the foreground as our child (so we know its pid and
 * stop exactly it), on s->port (0: pick a free one), waits until it answers
 * and checks the answering server is that child. */
static int start_redis(redis_srv *s, const char *password, int with_socket)
{
    if (s->dir[0] == '\0') {
        snprintf(s->dir, sizeof s->dir, "%s/redis-%d", tmpdir, s == &srv_main ? 1 : 2);
        mkdir(s->dir, 0700);
        snprintf(s->sock, sizeof s->sock, "%s/redis.sock", s->dir);
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        int fixed = s->port != 0;
        if (!fixed)
            s->port = free_port();
        char port[16], log[400];
        snprintf(port, sizeof port, "%d", s->port);
        snprintf(log, sizeof log, "%s/redis.log", s->dir);
        const char *argv[32];
        int n = 0;
        argv[n++] = "redis-server";
        argv[n++] = "--bind";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--save";
        argv[n++] = "";
        argv[n++] = "--appendonly";
        argv[n++] = "no";
        argv[n++] = "--daemonize";
        argv[n++] = "no";
        argv[n++] = "--dir";
        argv[n++] = s->dir;
        argv[n++] = "--logfile";
        argv[n++] = log;
        if (password) {
            argv[n++] = "--requirepass";
            argv[n++] = password;
        }
        for (int i = 0; redis_extra[i] != NULL && n < 28; i++)
            argv[n++] = redis_extra[i];
        if (with_socket) {
            argv[n++] = "--unixsocket";
            argv[n++] = s->sock;
            argv[n++] = "--unixsocketperm";
            argv[n++] = "700";
        }
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            int devnull = open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
            }
            execvp("redis-server", (char *const *)argv);
            _exit(127);
        }
        s->pid = pid;
        double end = mono() + 5;
        int status;
        while (mono() < end) {
            if (waitpid(pid, &status, WNOHANG) == pid) { /* e.g. bind failed */
                s->pid = 0;
                break;
            }
            if (server_is_ours(s, password))
                return 0;
            usleep(20000);
        }
        stop_redis(s);
        if (fixed)
            return -1;
        s->port = 0;
    }
    return -1;
}

static char url_main[128];

static void test_redis_start(void)
{
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_main, NULL, 1), 0);
    CU_ASSERT(srv_main.port > 0 && srv_main.port < 32768);
    snprintf(url_main, sizeof url_main, "redis://127.0.0.1:%d/0", srv_main.port);
}

static void test_redis_semantics_ttl(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    jwtx_blocklist *bl = open_url(url_main, NULL, 0);
    JWTX_ASSERT_STR(jwtx_blocklist_kind(bl), "redis");
    long long now = (long long)time(NULL);
    common_semantics(bl, now);

    redisContext *c = raw_client(&srv_main, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* TTL = exp - now (the entry is gone when the token expires) */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "ttl1", true, now + 3600, now), 0);
    long long ttl = raw_int(c, "TTL %b", "jwtx:jti:ttl1");
    CU_ASSERT(ttl >= 3599 && ttl <= 3600);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:a"), 100);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:x y*?[]'\"\\ \xc3\xa9"), -1); /* forever */
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:user:alice"), -1);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "jwtx:jti:old"), 0);
    /* longer life kept; forever kept */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "ttl1", true, now + 60, now), 0);
    ttl = raw_int(c, "TTL %b", "jwtx:jti:ttl1");
    CU_ASSERT(ttl >= 3599 && ttl <= 3600);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "ttl1", false, 0, now), 0);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:ttl1"), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "ttl1", true, now + 60, now), 0);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:ttl1"), -1);
    /* leeway extends the TTL */
    jwtx_blocklist *lw = open_url(url_main, NULL, 30);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(lw, "lw", true, now + 100, now), 0);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:lw"), 130);
    jwtx_blocklist_free(lw);
    /* Real expiry: an entry with one second to live is gone after it. */
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "short", true, now + 1, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "short", NULL, 0, now), JWTX_BL_REVOKED);
    usleep(2100000);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "short", NULL, 0, now + 2), JWTX_BL_CLEAR);
    /* A corrupt cut-off fails closed. */
    redisReply *r = redisCommand(c, "SET jwtx:user:mallory notanumber");
    freeReplyObject(r);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, NULL, "mallory", 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "not an integer"));
    r = redisCommand(c, "HSET jwtx:user:hashy a b");
    freeReplyObject(r);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", "hashy", 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "WRONGTYPE"));
    r = redisCommand(c, "DEL jwtx:user:mallory jwtx:user:hashy");
    freeReplyObject(r);
    /* and the handle carries on after an error reply */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "a", NULL, 0, now), JWTX_BL_REVOKED);
    redisFree(c);
    jwtx_blocklist_free(bl);
}

static void test_redis_prefix_count_list(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    char url[160];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/5", srv_main.port);
    jwtx_blocklist *a = open_url(url, "app*1:", 0);
    jwtx_blocklist *b = open_url(url, "app2:", 0);
    long long now = (long long)time(NULL);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(a, "j1", true, now + 500, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(a, "j2", false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(a, "amy", 77), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(a, "j1", NULL, 0, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(b, "j1", "amy", 0, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(b, "other", false, 0, now), 0);
    redisContext *c = raw_client(&srv_main, NULL, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "app*1:jti:j1"), 1);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "app2:jti:other"), 1);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "jwtx:jti:j1"), 0);
    /* keys that only look alike: the glob '*' in the prefix must not match them */
    redisReply *r = redisCommand(c, "SET appX1:jti:fake 1");
    freeReplyObject(r);
    redisFree(c);
    long long n = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(a, now, &n), 0);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(jwtx_blocklist_count(b, now, &n), 0);
    CU_ASSERT_EQUAL(n, 1);
    listbuf lb;
    memset(&lb, 0, sizeof lb);
    CU_ASSERT_EQUAL(jwtx_blocklist_list(a, now, list_cb, &lb), 0);
    CU_ASSERT_EQUAL(lb.n, 3);
    char want[64];
    snprintf(want, sizeof want, "jti j1 %lld\n", now + 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(lb.s, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(lb.s, "jti j2 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(lb.s, "user amy 77\n"));
    CU_ASSERT_PTR_NULL(strstr(lb.s, "fake"));
    long long removed = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_purge(a, now, &removed), 0);
    CU_ASSERT_EQUAL(removed, 0);
    jwtx_blocklist_free(a);
    jwtx_blocklist_free(b);
}

static void test_redis_unix_socket(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    char url[512];
    snprintf(url, sizeof url, "unix:%s?db=2", srv_main.sock);
    jwtx_blocklist *bl = open_url(url, NULL, 0);
    long long now = (long long)time(NULL);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "via-unix", true, now + 50, now), 0);
    jwtx_blocklist_free(bl);
    snprintf(url, sizeof url, "redis+unix://%s?db=2", srv_main.sock);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "via-unix", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
    redisContext *c = raw_client(&srv_main, NULL, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(raw_int(c, "TTL %b", "jwtx:jti:via-unix"), 50);
    redisFree(c);
    snprintf(url, sizeof url, "unix:%s/nonexistent.sock", tmpdir);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "via-unix", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "redis unix:"));
    jwtx_blocklist_free(bl);
}

static void test_redis_auth_and_db(void)
{
    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_auth, "s3cr et@x", 0), 0);
    char url[256];
    long long now = (long long)time(NULL);
    /* password percent-encoded in the URL: space and '@' */
    snprintf(url, sizeof url, "redis://:s3cr%%20et%%40x@127.0.0.1:%d/3", srv_auth.port);
    jwtx_blocklist *bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "authed", true, now + 100, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
    redisContext *c = raw_client(&srv_auth, "s3cr et@x", 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "jwtx:jti:authed"), 1);
    redisReply *r = redisCommand(c, "SELECT 0");
    freeReplyObject(r);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "jwtx:jti:authed"), 0);
    redisFree(c);
    /* USER:PASSWORD (Redis 6 ACL "default" user) */
    snprintf(url, sizeof url, "redis://default:s3cr%%20et%%40x@127.0.0.1:%d/3", srv_auth.port);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
    /* wrong or missing password: unavailable, and the password is never shown */
    snprintf(url, sizeof url, "redis://:wrongpass@127.0.0.1:%d/3", srv_auth.port);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "x", false, 0, now), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "AUTH"));
    CU_ASSERT_PTR_NULL(strstr(jwtx_blocklist_last_error(bl), "wrongpass"));
    jwtx_blocklist_free(bl);
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", srv_auth.port);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "NOAUTH"));
    jwtx_blocklist_free(bl);
    /* a server that quotes the refused command back: AUTH renamed away,
     * Redis answers "ERR unknown command 'AUTH', with args beginning with:
     * '<password>'". The cause (logged, printed) must not hold it. */
    stop_redis(&srv_auth);
    redis_extra[0] = "--rename-command";
    redis_extra[1] = "AUTH";
    redis_extra[2] = "";
    int started = start_redis(&srv_auth, NULL, 0);
    redis_extra[0] = NULL;
    CU_ASSERT_EQUAL_FATAL(started, 0);
    snprintf(url, sizeof url, "redis://:Pw-echoed-9@127.0.0.1:%d/3", srv_auth.port);
    bl = open_url(url, NULL, 0);
    logbuf lg;
    memset(&lg, 0, sizeof lg);
    jwtx_blocklist_set_log(bl, log_cb, &lg);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "unknown command"));
    CU_ASSERT_PTR_NULL(strstr(jwtx_blocklist_last_error(bl), "Pw-echoed-9"));
    CU_ASSERT_EQUAL(lg.n, 1);
    CU_ASSERT_PTR_NULL(strstr(lg.s, "Pw-echoed-9"));
    jwtx_blocklist_free(bl);
    stop_redis(&srv_auth);
    srv_auth.port = 0;
    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_auth, "s3cr et@x", 0), 0);
    /* a database the server does not have */
    snprintf(url, sizeof url, "redis://:s3cr%%20et%%40x@127.0.0.1:%d/999", srv_auth.port);
    bl = open_url(url, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "authed", NULL, 0, now), JWTX_BL_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "SELECT"));
    jwtx_blocklist_free(bl);
    stop_redis(&srv_auth);
}

/* Kill the server: answers are UNAVAILABLE (never CLEAR) within the timeout;
 * start it again on the same port: the same handle recovers by itself. */
static void test_redis_down_and_back(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    jwtx_blocklist *bl = open_url(url_main, NULL, 0); /* 500 ms timeout */
    long long now = (long long)time(NULL);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "before", false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "before", NULL, 0, now), JWTX_BL_REVOKED);
    stop_redis(&srv_main);
    for (int i = 0; i < 3; i++) {
        double t0 = mono();
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "before", NULL, 0, now), JWTX_BL_UNAVAILABLE);
        CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "never-revoked", "u", 0, now),
                        JWTX_BL_UNAVAILABLE);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "during", false, 0, now), -1);
        CU_ASSERT_EQUAL(jwtx_blocklist_revoke_user(bl, "u", now), -1);
        long long n = 7;
        CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, now, &n), -1);
        CU_ASSERT_EQUAL(n, 7);
        CU_ASSERT(mono() - t0 < 2.5); /* five calls, each bounded by the 500 ms timeout */
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "connect"));
    /* also a handle that never connected */
    jwtx_blocklist *cold = open_url(url_main, NULL, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(cold, "x", NULL, 0, now), JWTX_BL_UNAVAILABLE);

    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_main, NULL, 1), 0); /* same port */
    /* nothing persisted (--save ''): the old entry is gone, the store answers */
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "before", NULL, 0, now), JWTX_BL_CLEAR);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "after", false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "after", NULL, 0, now), JWTX_BL_REVOKED);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(cold, "after", NULL, 0, now), JWTX_BL_REVOKED);
    /* a restart between two calls on a live connection: the stale connection
     * is noticed and replaced within the same call */
    stop_redis(&srv_main);
    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_main, NULL, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "after2", false, 0, now), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "after2", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(cold);
    jwtx_blocklist_free(bl);
}

static void test_redis_login(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    char url[160];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/6", srv_main.port);
    jwtx_blocklist *bl = open_url(url, "lg:", 0);
    long long now = (long long)time(NULL);
    login_semantics(bl, now);
    redisContext *c = raw_client(&srv_main, NULL, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* one sorted set per key with the window as its TTL; a ban with its end */
    long long n;
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "p 9.9.9.9 bob", now, 600, 5, &n), 0);
    CU_ASSERT_EQUAL(raw_int(c, "ZCARD %b", "lg:login:f:p 9.9.9.9 bob"), 1);
    long long ttl = raw_int(c, "TTL %b", "lg:login:f:p 9.9.9.9 bob");
    CU_ASSERT(ttl >= 599 && ttl <= 600);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "u bob", now, now + 900), 0);
    ttl = raw_int(c, "TTL %b", "lg:login:ban:u bob");
    CU_ASSERT(ttl >= 899 && ttl <= 900);
    redisReply *r = redisCommand(c, "GET %s", "lg:login:ban:u bob");
    CU_ASSERT(r != NULL && r->type == REDIS_REPLY_STRING && atoll(r->str) == now + 900);
    freeReplyObject(r);
    /* revocation count and list ignore login keys */
    long long cnt = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_count(bl, now, &cnt), 0);
    CU_ASSERT_EQUAL(cnt, 0);
    /* a ban that Redis expires is gone for real */
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "u short", now, now + 1), 0);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "lg:login:ban:u short"), 1);
    usleep(2100000);
    CU_ASSERT_EQUAL(raw_int(c, "EXISTS %b", "lg:login:ban:u short"), 0);
    /* a corrupt ban value fails closed */
    r = redisCommand(c, "SET %s %s", "lg:login:ban:u bad", "soon");
    freeReplyObject(r);
    long long until = -1;
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u bad", now, &until), -1);
    r = redisCommand(c, "SET %s %s", "lg:login:f:u wrongtype", "x");
    freeReplyObject(r);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u wrongtype", now, 60, 5, &n), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(jwtx_blocklist_last_error(bl), "WRONGTYPE"));
    redisFree(c);
    /* two handles (two gateways): one count, one ban */
    jwtx_blocklist *other = open_url(url, "lg:", 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(other, "p 9.9.9.9 bob", now, 600, 5, &n), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(other, "u bob", now, &until), 1);
    CU_ASSERT_EQUAL(until, now + 900);
    jwtx_blocklist_free(other);
    jwtx_blocklist_free(bl);
}

/* Redis down: login operations fail (closed) within the timeout; back: the
 * same handle works again. */
static void test_redis_login_down_and_back(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    jwtx_blocklist *bl = open_url(url_main, NULL, 0);
    long long now = (long long)time(NULL), n = 5, until = 5;
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u down", now, 60, 5, &n), 0);
    stop_redis(&srv_main);
    double t0 = mono();
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u down", now, &until), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u down", now, 60, 5, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_count(bl, "u down", now, 60, &n), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "u down", now, now + 9), -1);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_clear(bl, "u down"), -1);
    CU_ASSERT(mono() - t0 < 2.6);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(until, 5);
    CU_ASSERT_EQUAL_FATAL(start_redis(&srv_main, NULL, 1), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_attempt_add(bl, "u down", now, 60, 5, &n), 0);
    CU_ASSERT_EQUAL(n, 1); /* nothing persisted */
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_set(bl, "u down", now, now + 9), 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_ban_get(bl, "u down", now, &until), 1);
    jwtx_blocklist_free(bl);
}

/* A Redis handle inherited across fork() is not shared with the child. */
static void test_redis_fork(void)
{
    CU_ASSERT_FATAL(srv_main.pid > 0);
    jwtx_blocklist *bl = open_url(url_main, NULL, 0);
    long long now = (long long)time(NULL);
    CU_ASSERT_EQUAL(jwtx_blocklist_revoke(bl, "p", false, 0, now), 0);
    pid_t kid = fork();
    if (kid == 0) {
        int bad = 0;
        for (int i = 0; i < 200; i++) {
            char jti[32];
            snprintf(jti, sizeof jti, "kid-%d", i);
            bad += jwtx_blocklist_revoke(bl, jti, true, now + 100, now) != 0;
        }
        jwtx_blocklist_free(bl);
        _exit(bad ? 1 : 0);
    }
    int bad = 0;
    for (int i = 0; i < 200; i++) /* the parent uses its connection meanwhile */
        bad += jwtx_blocklist_check(bl, "p", NULL, 0, now) != JWTX_BL_REVOKED;
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(kid, &status, 0), kid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(jwtx_blocklist_check(bl, "kid-199", NULL, 0, now), JWTX_BL_REVOKED);
    jwtx_blocklist_free(bl);
}

static void test_redis_stop(void)
{
    stop_redis(&srv_main);
    stop_redis(&srv_auth);
    CU_ASSERT_EQUAL(srv_main.pid, 0);
}

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jwtx-test-blocklist-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    signal(SIGPIPE, SIG_DFL); /* the store must cope without the process ignoring it */
    return 0;
}

static int suite_cleanup(void)
{
    stop_redis(&srv_main);
    stop_redis(&srv_auth);
    rm_rf(tmpdir);
    return 0;
}

static const jwtx_cu_test tests[] = {
    {"open: URL forms and errors", test_open_urls},
    {"sqlite: revoke, check, user cut-off", test_sqlite_semantics},
    {"sqlite: :memory: store", test_sqlite_memory},
    {"sqlite: expiry boundaries, forever, leeway", test_sqlite_expiry_boundaries},
    {"sqlite: file mode 0600, WAL, schema version", test_sqlite_file_mode_and_schema},
    {"sqlite: two handles share the file, no cache", test_sqlite_two_handles},
    {"sqlite: two forked processes, 500 revokes each", test_sqlite_fork_concurrent},
    {"sqlite: purge, count, list", test_sqlite_purge_count_list},
    {"sqlite: unusable path is UNAVAILABLE, then recovers", test_sqlite_unavailable},
    {"sqlite: removed under a handle, then restored", test_sqlite_removed_and_restored},
    {"sqlite: another store renamed over the path", test_sqlite_renamed_over},
    {"sqlite: its directory renamed, a new store at the path", test_sqlite_directory_renamed},
    {"sqlite: a FIFO or directory at the path", test_sqlite_not_regular},
    {"sqlite: no inotify instance: stat notices a replaced store", test_sqlite_no_inotify},
    {"sqlite: login attempts: counts, window, keep, bans, purge", test_sqlite_login},
    {"sqlite: login attempts shared by two processes", test_sqlite_login_fork},
    {"sqlite: a version-1 store: login fails closed, init upgrades", test_sqlite_login_old_schema},
    {"login attempts: unavailable store, open circuit, removed file",
     test_login_unavailable_and_circuit},
    {"sqlite: sessions: start, rotate, grace, reuse, end, check", test_sqlite_family_semantics},
    {"sqlite: sessions: expiry, leeway, sliding expiry", test_sqlite_family_expiry_slide},
    {"sqlite: sessions: list and end per user", test_sqlite_family_list_end_user},
    {"sqlite: sessions: purge and bounded purge as we go", test_sqlite_family_purge},
    {"sqlite: sessions: version 1 and 2 stores fail closed, init upgrades",
     test_sqlite_family_old_schema},
    {"sqlite: sessions: store removed: fail closed", test_sqlite_family_unavailable},
    {"sqlite: sessions: a rotation is all or nothing; a locked store",
     test_sqlite_family_rollback_and_locked},
    {"sqlite: sessions: concurrent refreshes by forked processes", test_sqlite_family_race},
    {"retry period: store not asked, then asked again", test_retry_period},
    {"retry period: a locked SQLite store waits once, not per check", test_retry_sqlite_locked},
    {"redis: start redis-server on a free port", test_redis_start},
    {"redis: semantics, TTL = exp - now", test_redis_semantics_ttl},
    {"redis: prefix, count, list", test_redis_prefix_count_list},
    {"redis: unix socket", test_redis_unix_socket},
    {"redis: password and database", test_redis_auth_and_db},
    {"redis: fail closed when down, recover on same handle", test_redis_down_and_back},
    {"redis: login attempts: counts, TTLs, bans, two handles", test_redis_login},
    {"redis: login attempts fail closed when down, recover", test_redis_login_down_and_back},
    {"redis: handle inherited across fork", test_redis_fork},
    {"redis: stop servers", test_redis_stop},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("blocklist", tests, suite_init, suite_cleanup)
