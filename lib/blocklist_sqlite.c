/*
 * blocklist_sqlite.c — the embedded revocation store: one SQLite file shared
 * by every FastCGI process of a gateway.
 *
 * The file is made on purpose only, by jwtxp_bl_ops.init (`jwtx blocklist
 * init`), with mode 0600 whatever the umask; a program never creates it at
 * request time: a missing file, or a SQLite file without our schema, is an
 * unavailable store (fail closed), not a new empty one. It runs in WAL mode
 * (readers never wait for the one writer) with synchronous=NORMAL and a busy
 * timeout, and carries its schema version in PRAGMA user_version (a newer
 * version than this code knows is refused). Tables:
 *   revoked(jti TEXT PRIMARY KEY, until INTEGER)   until NULL = forever
 *   revoked_users(user TEXT PRIMARY KEY, cutoff INTEGER)
 *   login_failures(key TEXT, at INTEGER, expires INTEGER)   one row per failure
 *   login_bans(key TEXT PRIMARY KEY, until INTEGER)
 *   families(fam TEXT PRIMARY KEY, user, started, last_refresh, expires,
 *            until, ended) WITHOUT ROWID   one row per session; expires/until/
 *            ended 0 = never
 *   rotated(jti TEXT PRIMARY KEY, fam, at, until)   one row per rotated
 *            refresh token; until 0 = forever
 * Version 1 had the revocation tables only, version 2 added the login
 * attempt tables, version 3 the session tables (families, rotated). init
 * upgrades version 1 or 2 to 3 (in one write transaction, entries kept); a
 * program that meets an older version keeps answering revocation checks
 * without a family from it and fails what needs the missing tables (login
 * operations on version 1; family operations and checks with a family on
 * versions 1 and 2) with JWTXP_BL_OLD_SCHEMA, looking again at each one so
 * that an upgrade made while it runs is used at once. Every recorded failure
 * deletes at most LOGIN_PURGE_BATCH expired failure rows and as many ended
 * bans: more than it adds, so the tables stay bounded by the live entries,
 * at a bounded cost per call.
 * A check with a family is one statement over revoked, revoked_users and
 * families (the statement without a family is unchanged, so turning
 * rotation off costs nothing). families is a WITHOUT ROWID table: the
 * family's row is found in one B-tree descent instead of an index then the
 * table (make bench at 10^6 revocations and 10^5 families: about 1.5 us
 * more per check than without a family, against about 3.5 us with rowid). A rotation is one BEGIN
 * IMMEDIATE transaction, so concurrent refreshes of one token by several processes are serialised:
 * one of them records the rotation, the others find it. Families and rotated rows whose `until` is
 * over are deleted by jwtx_blocklist_purge and, a bounded batch every PURGE_EVERY family writes, as
 * we go. Statements are prepared once per handle. Nothing is cached: every check reads the file, so
 * a revocation by one process is seen by all at once. Expired rows are deleted as we go (a bounded
 * DELETE every PURGE_EVERY revokes) and by jwtx_blocklist_purge. The connection is opened lazily
 * and, after a failure other than a busy database, closed and re-opened on the next call; a handle
 * inherited across fork() is abandoned, never closed, in the child (SQLite forbids using or closing
 * it there) and a new one opened.
 *
 * A removed or replaced file: an open connection keeps reading the file it
 * opened even after `rm` or a rename over its path, while other processes
 * would open whatever is at the path now. So before each use the file at
 * the path, and its -wal and -shm, are compared (stat: device and inode) with
 * the ones this connection has open. Any difference fails closed and drops
 * the connection without a checkpoint (a checkpoint-on-close could delete
 * the -wal now at the path, which belongs to another file); the next call
 * opens whatever valid store is at the path then. Three stat() calls per
 * check would cost more than the check itself, so an inotify watch on the
 * three files (a change of their link count, a rename) and on the
 * directories above them (a rename or removal) says when to look: one
 * non-blocking read per check. Without inotify (no instance left, a file
 * system without it) every check stats the files.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jwtx/blocklist.h"
#include "blocklist_internal.h"

#define SCHEMA_VERSION 3
#define SCHEMA_OLDEST 1 /* the oldest version still read (revocations only) */
#define SCHEMA_LOGIN 2  /* the first version with the login attempt tables */
#define SCHEMA_FAMILY 3 /* the first version with the session tables */
#define LOGIN_PURGE_BATCH 32
#define PURGE_EVERY 64
#define PURGE_BATCH 500
#define BUSY_MIN_MS 2000

enum { ST_CHECK, ST_REVOKE, ST_REVOKE_USER, ST_COUNT, ST_LIST_JTI, ST_LIST_USER, ST_PURGE, ST__N };

static const char *const stmt_sql[ST__N] = {
    [ST_CHECK] = "SELECT EXISTS(SELECT 1 FROM revoked WHERE jti = ?1 AND "
                 "(until IS NULL OR until > ?2)), "
                 "(SELECT cutoff FROM revoked_users WHERE user = ?3)",
    [ST_REVOKE] = "INSERT INTO revoked(jti, until) VALUES(?1, ?2) ON CONFLICT(jti) DO UPDATE SET "
                  "until = CASE WHEN revoked.until IS NULL OR excluded.until IS NULL THEN NULL "
                  "ELSE max(revoked.until, excluded.until) END",
    [ST_REVOKE_USER] = "INSERT INTO revoked_users(user, cutoff) VALUES(?1, ?2) "
                       "ON CONFLICT(user) DO UPDATE SET "
                       "cutoff = max(revoked_users.cutoff, excluded.cutoff)",
    [ST_COUNT] = "SELECT (SELECT count(*) FROM revoked WHERE until IS NULL OR until > ?1) + "
                 "(SELECT count(*) FROM revoked_users)",
    [ST_LIST_JTI] = "SELECT jti, coalesce(until, 0) FROM revoked "
                    "WHERE until IS NULL OR until > ?1 ORDER BY jti",
    [ST_LIST_USER] = "SELECT user, cutoff FROM revoked_users ORDER BY user",
    [ST_PURGE] = "DELETE FROM revoked WHERE rowid IN (SELECT rowid FROM revoked "
                 "WHERE until IS NOT NULL AND until <= ?1 LIMIT 500)",
};

/* Login attempts (schema version 2). */
enum {
    LS_ADD,
    LS_TRIM,
    LS_COUNT,
    LS_PURGE_FAILURES,
    LS_PURGE_BANS,
    LS_CLEAR,
    LS_BAN_GET,
    LS_BAN_SET,
    LS_BAN_DEL,
    LS_BAN_LIST,
    LS__N
};

static const char *const login_sql[LS__N] = {
    [LS_ADD] = "INSERT INTO login_failures(key, at, expires) VALUES(?1, ?2, ?3)",
    /* Only the newest `keep` failures of a key matter (the count stops there). */
    [LS_TRIM] = "DELETE FROM login_failures WHERE key = ?1 AND rowid NOT IN (SELECT rowid FROM "
                "login_failures WHERE key = ?1 ORDER BY at DESC, rowid DESC LIMIT ?2)",
    [LS_COUNT] = "SELECT count(*) FROM login_failures WHERE key = ?1 AND at > ?2 AND at <= ?3",
    [LS_PURGE_FAILURES] = "DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM "
                          "login_failures WHERE expires <= ?1 LIMIT ?2)",
    [LS_PURGE_BANS] = "DELETE FROM login_bans WHERE key IN (SELECT key FROM login_bans "
                      "WHERE until <= ?1 LIMIT ?2)",
    [LS_CLEAR] = "DELETE FROM login_failures WHERE key = ?1",
    [LS_BAN_GET] = "SELECT until FROM login_bans WHERE key = ?1 AND until > ?2",
    [LS_BAN_SET] = "INSERT INTO login_bans(key, until) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE "
                   "SET until = max(login_bans.until, excluded.until)",
    [LS_BAN_DEL] = "DELETE FROM login_bans WHERE key = ?1",
    [LS_BAN_LIST] = "SELECT key, until FROM login_bans WHERE until > ?1 ORDER BY key",
};

/* Sessions (schema version 3). */
enum {
    FS_CHECK,
    FS_START,
    FS_ROT_GET,
    FS_LIVE,
    FS_ROT_ADD,
    FS_TOUCH,
    FS_SLIDE,
    FS_SLIDE_LATER,
    FS_END,
    FS_END_USER,
    FS_LIST_USER,
    FS_LIST_ALL,
    FS_GET,
    FS_PURGE_FAMILIES,
    FS_PURGE_ROTATED,
    FS__N
};

#define FAMILY_COLUMNS "fam, user, started, last_refresh, expires, ended"

static const char *const family_sql[FS__N] = {
    /* ST_CHECK and a third column: 1 unless the family is live. One
     * statement, so one look at the file, as without a family. */
    [FS_CHECK] = "SELECT EXISTS(SELECT 1 FROM revoked WHERE jti = ?1 AND "
                 "(until IS NULL OR until > ?2)), "
                 "(SELECT cutoff FROM revoked_users WHERE user = ?3), "
                 "NOT EXISTS(SELECT 1 FROM families WHERE fam = ?4 AND ended = 0)",
    /* An id taken already changes nothing (sqlite3_changes says so). */
    [FS_START] = "INSERT INTO families(fam, user, started, last_refresh, expires, until, ended) "
                 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, 0) ON CONFLICT(fam) DO NOTHING",
    /* The family recorded with a rotated jti, when, and whether it is live
     * (NULL: the family is gone). */
    [FS_ROT_GET] = "SELECT r.fam, r.at, f.ended = 0 FROM rotated r "
                   "LEFT JOIN families f ON f.fam = r.fam WHERE r.jti = ?1",
    [FS_LIVE] = "SELECT 1 FROM families WHERE fam = ?1 AND ended = 0",
    [FS_ROT_ADD] = "INSERT INTO rotated(jti, fam, at, until) VALUES(?1, ?2, ?3, ?4)",
    [FS_TOUCH] = "UPDATE families SET last_refresh = ?2 WHERE fam = ?1",
    [FS_SLIDE] = "UPDATE families SET last_refresh = ?2, expires = ?3, until = ?4 WHERE fam = ?1",
    /* FS_SLIDE keeping the later expiry and life (0: never, the latest). */
    [FS_SLIDE_LATER] =
        "UPDATE families SET last_refresh = ?2, "
        "expires = CASE WHEN expires = 0 OR ?3 = 0 THEN 0 ELSE max(expires, ?3) END, "
        "until = CASE WHEN until = 0 OR ?4 = 0 THEN 0 ELSE max(until, ?4) END "
        "WHERE fam = ?1",
    [FS_END] = "UPDATE families SET ended = ?2 WHERE fam = ?1 AND ended = 0",
    [FS_END_USER] = "UPDATE families SET ended = ?2 WHERE user = ?1 AND ended = 0 AND "
                    "(until = 0 OR until > ?3) RETURNING fam",
    [FS_LIST_USER] = "SELECT " FAMILY_COLUMNS " FROM families WHERE user = ?1 AND ended = 0 "
                     "AND (expires = 0 OR expires > ?2) ORDER BY started, fam",
    [FS_LIST_ALL] = "SELECT " FAMILY_COLUMNS " FROM families WHERE ended = 0 "
                    "AND (expires = 0 OR expires > ?2) ORDER BY started, fam",
    /* By primary key: one B-tree descent. */
    [FS_GET] = "SELECT user, started, last_refresh, expires, ended FROM families "
               "WHERE fam = ?1 AND (until = 0 OR until > ?2)",
    [FS_PURGE_FAMILIES] = "DELETE FROM families WHERE fam IN (SELECT fam FROM families "
                          "WHERE until > 0 AND until <= ?1 LIMIT ?2)",
    [FS_PURGE_ROTATED] = "DELETE FROM rotated WHERE rowid IN (SELECT rowid FROM rotated "
                         "WHERE until > 0 AND until <= ?1 LIMIT ?2)",
};

#define FAMILY_TABLES_SQL                                                                          \
    "CREATE TABLE IF NOT EXISTS families(fam TEXT PRIMARY KEY, user TEXT NOT NULL, "               \
    "started INTEGER NOT NULL, last_refresh INTEGER NOT NULL DEFAULT 0, "                          \
    "expires INTEGER NOT NULL, until INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0) "         \
    "WITHOUT ROWID;"                                                                               \
    "CREATE INDEX IF NOT EXISTS families_user ON families(user);"                                  \
    "CREATE INDEX IF NOT EXISTS families_until ON families(until);"                                \
    "CREATE TABLE IF NOT EXISTS rotated(jti TEXT PRIMARY KEY, fam TEXT NOT NULL, "                 \
    "at INTEGER NOT NULL, until INTEGER NOT NULL);"                                                \
    "CREATE INDEX IF NOT EXISTS rotated_until ON rotated(until);"

#define LOGIN_TABLES_SQL                                                                           \
    "CREATE TABLE IF NOT EXISTS login_failures(key TEXT NOT NULL, at INTEGER NOT NULL, "           \
    "expires INTEGER NOT NULL);"                                                                   \
    "CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures(key, at);"                    \
    "CREATE INDEX IF NOT EXISTS login_failures_expires ON login_failures(expires);"                \
    "CREATE TABLE IF NOT EXISTS login_bans(key TEXT PRIMARY KEY, until INTEGER NOT NULL);"         \
    "CREATE INDEX IF NOT EXISTS login_bans_until ON login_bans(until);"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS revoked(jti TEXT PRIMARY KEY, until INTEGER);"
    "CREATE INDEX IF NOT EXISTS revoked_until ON revoked(until);"
    "CREATE TABLE IF NOT EXISTS revoked_users(user TEXT PRIMARY KEY, cutoff INTEGER NOT NULL);" //
    LOGIN_TABLES_SQL FAMILY_TABLES_SQL "PRAGMA user_version = 3;";

/* Version 1 or 2 -> 3: the tables either lacks (IF NOT EXISTS skips the
 * login tables of version 2). */
static const char upgrade_sql[] = LOGIN_TABLES_SQL FAMILY_TABLES_SQL "PRAGMA user_version = 3;";

/* Which file a connection has open, to notice it being removed or replaced. */
typedef struct file_id {
    dev_t dev;
    ino_t ino;
    bool known;
} file_id;

enum { F_MAIN, F_WAL, F_SHM, F__N };

typedef struct sqlite_be {
    char *path;
    char *side[F__N]; /* path, path-wal, path-shm */
    file_id id[F__N];
    bool memory;        /* ":memory:": private to the handle, no file */
    bool creating;      /* in init: the schema may be written */
    int watch;          /* inotify instance on the files of db, -1 = none (stat each time) */
    file_id left[F__N]; /* -wal/-shm of a store replaced under us, still at their paths */
    int busy_ms;
    sqlite3 *db;
    sqlite3 *abandoned; /* the parent's connection, left alone after fork() */
    pid_t pid;          /* the process that opened db */
    sqlite3_stmt *st[ST__N];
    sqlite3_stmt *ls[LS__N]; /* prepared once the schema has the login tables */
    sqlite3_stmt *fs[FS__N]; /* prepared once the schema has the session tables */
    long long schema;        /* the open store's version */
    bool upgraded;           /* in init: an older schema was upgraded */
    unsigned revokes;
    unsigned family_writes; /* starts and rotations, for the purge as we go */
    char err[512];
} sqlite_be;

/* The file at the path (or its -wal, -shm) is not the one this connection
 * has open: removed, or something else renamed over it. Sets *what. */
static bool moved(sqlite_be *b, const char **what)
{
    for (int f = 0; f < F__N; f++) {
        if (!b->id[f].known)
            continue;
        struct stat st;
        if (stat(b->side[f], &st) != 0) {
            *what = f == F_MAIN  ? "the store file was removed"
                    : f == F_WAL ? "the store's -wal file was removed"
                                 : "the store's -shm file was removed";
            return true;
        }
        if (st.st_dev != b->id[f].dev || st.st_ino != b->id[f].ino) {
            *what = f == F_MAIN  ? "the store file was replaced (another file is at its path)"
                    : f == F_WAL ? "the store's -wal file was replaced"
                                 : "the store's -shm file was replaced";
            return true;
        }
    }
    return false;
}

static void close_db(sqlite_be *b)
{
    for (int i = 0; i < ST__N; i++) {
        sqlite3_finalize(b->st[i]);
        b->st[i] = NULL;
    }
    for (int i = 0; i < LS__N; i++) {
        sqlite3_finalize(b->ls[i]);
        b->ls[i] = NULL;
    }
    for (int i = 0; i < FS__N; i++) {
        sqlite3_finalize(b->fs[i]);
        b->fs[i] = NULL;
    }
    b->schema = 0;
    const char *what;
    if (b->db != NULL && !b->memory && moved(b, &what)) {
        /* The last connection to a WAL database checkpoints on close and
         * then deletes "<path>-wal" and "<path>-shm" by name: files that may
         * now belong to the store that replaced ours. */
        sqlite3_db_config(b->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    }
    sqlite3_close_v2(b->db);
    b->db = NULL;
    for (int f = 0; f < F__N; f++)
        b->id[f].known = false;
    if (b->watch >= 0)
        close(b->watch);
    b->watch = -1;
}

/* Adds a watch on every directory above the store file (its own directory
 * up to the one below /): renaming or removing any of them changes what the
 * path names without any event on the files themselves (`mv /var/lib/jwtx
 * /var/lib/jwtx.old; mkdir /var/lib/jwtx; jwtx blocklist init`). SQLite
 * opens no path with a symbolic link in it (SQLITE_OPEN_NOFOLLOW), so these
 * directories are the path's own components. 0, or -1 if one cannot be
 * watched. */
static int watch_dirs(sqlite_be *b)
{
    char dir[PATH_MAX];
    int n;
    if (b->path[0] == '/') {
        n = snprintf(dir, sizeof dir, "%s", b->path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL)
            return -1;
        n = snprintf(dir, sizeof dir, "%s/%s", cwd, b->path);
    }
    if (n < 0 || (size_t)n >= sizeof dir)
        return -1;
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir)
            return 0; /* "/" itself is never renamed */
        *slash = '\0';
        if (inotify_add_watch(b->watch, dir, IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW) < 0)
            return -1;
    }
}

/* Watches the files just noted (note_file) and the directories above them,
 * then checks they are still the ones at their paths, so no change falls
 * between the two. */
static void watch_files(sqlite_be *b)
{
    if (b->watch >= 0)
        close(b->watch);
    b->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (int f = 0; f < F__N && b->watch >= 0; f++) {
        if (b->id[f].known &&
            inotify_add_watch(b->watch, b->side[f],
                              IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW) < 0) {
            close(b->watch);
            b->watch = -1;
        }
    }
    if (b->watch >= 0 && watch_dirs(b) != 0) {
        close(b->watch);
        b->watch = -1;
    }
}

/* moved(), asked only when the watch reports something (or there is none). */
static bool moved_now(sqlite_be *b, const char **what)
{
    if (b->watch < 0)
        return moved(b, what);
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(b->watch, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return false; /* nothing happened to the files */
    /* Events (a chmod, a link, an unlink, a rename...) or a broken watch:
     * look. Drain what else is queued; stat answers for all of it. */
    while (n > 0)
        n = read(b->watch, buf, sizeof buf);
    return moved(b, what);
}

static int fail(sqlite_be *b, const char *what)
{
    snprintf(b->err, sizeof b->err, "sqlite %s: %s: %s", b->path, what,
             b->db ? sqlite3_errmsg(b->db) : "cannot open");
    return -1;
}

/* After a failed statement: a busy/locked file is transient, anything else
 * gets a fresh connection next time. */
static void after_error(sqlite_be *b, int rc)
{
    int prim = rc & 0xff;
    if (prim != SQLITE_BUSY && prim != SQLITE_LOCKED)
        close_db(b);
}

/* Creates the file with mode 0600, whatever the umask (init only). *created
 * tells whether it was missing. */
static int create_file(sqlite_be *b, bool *created)
{
    *created = false;
    int fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        snprintf(b->err, sizeof b->err, "sqlite %s: cannot create: %s", b->path, strerror(errno));
        return -1;
    }
    int rc = fchmod(fd, 0600);
    int e = errno;
    close(fd);
    if (rc != 0) {
        snprintf(b->err, sizeof b->err, "sqlite %s: chmod: %s", b->path, strerror(e));
        return -1;
    }
    *created = true;
    return 0;
}

static int exec(sqlite_be *b, const char *sql)
{
    int rc = sqlite3_exec(b->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(b, sql);
}

static int pragma_int(sqlite_be *b, const char *sql, long long *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(b->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : fail(b, sql);
}

/* Checks the schema version; b->creating (init) may write the schema into a
 * database that has none yet, never at request time. *wrote tells whether
 * it did. */
static int setup_schema(sqlite_be *b, bool *wrote)
{
    long long ver = 0, tables = 0;
    *wrote = false;
    if (pragma_int(b, "PRAGMA user_version", &ver) != 0)
        return -1;
    if (ver == 0 && (b->creating || b->memory)) { /* :memory: is private: made here */
        /* Several inits may run at once: create under the write lock, then
         * look again. Only a database with no tables at all is ours to fill. */
        if (exec(b, "BEGIN IMMEDIATE") != 0)
            return -1;
        if (pragma_int(b, "PRAGMA user_version", &ver) != 0 ||
            pragma_int(b, "SELECT count(*) FROM sqlite_master", &tables) != 0 ||
            (ver == 0 && tables == 0 && exec(b, schema_sql) != 0)) {
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (exec(b, "COMMIT") != 0) {
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (ver == 0 && tables == 0) {
            ver = SCHEMA_VERSION;
            *wrote = true;
        }
    }
    if (ver >= SCHEMA_OLDEST && ver < SCHEMA_VERSION && b->creating) {
        /* init upgrades an older store in place, under the write lock (and
         * looks again under it: another init may have done it meanwhile). */
        if (exec(b, "BEGIN IMMEDIATE") != 0)
            return -1;
        if (pragma_int(b, "PRAGMA user_version", &ver) != 0 ||
            (ver >= SCHEMA_OLDEST && ver < SCHEMA_VERSION && exec(b, upgrade_sql) != 0)) {
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (exec(b, "COMMIT") != 0) {
            sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (ver < SCHEMA_VERSION)
            b->upgraded = true;
        ver = SCHEMA_VERSION;
    }
    if (ver == 0) {
        snprintf(b->err, sizeof b->err,
                 b->creating ? "sqlite %s: a SQLite database that is not a jwtx revocation store"
                             : "sqlite %s: not a jwtx revocation store (no schema); `jwtx "
                               "blocklist init` makes one",
                 b->path);
        return -1;
    }
    if (ver < SCHEMA_OLDEST || ver > SCHEMA_VERSION) {
        snprintf(b->err, sizeof b->err,
                 "sqlite %s: schema version %lld is not one this jwtx knows (%d to %d)", b->path,
                 ver, SCHEMA_OLDEST, SCHEMA_VERSION);
        return -1;
    }
    b->schema = ver;
    return 0;
}

/* Remembers which file f (main, -wal, -shm) is at its path now. */
static void note_file(sqlite_be *b, int f)
{
    struct stat st;
    b->id[f].known = stat(b->side[f], &st) == 0;
    if (b->id[f].known) {
        b->id[f].dev = st.st_dev;
        b->id[f].ino = st.st_ino;
    }
}

/* Opens the connection if needed (never creating a file outside init), or
 * checks that the open one still reads the file at the path. *wrote: the
 * schema was written (init). */
static int open_db(sqlite_be *b, bool *wrote)
{
    *wrote = false;
    if (b->db != NULL && b->pid != getpid()) {
        /* Inherited across fork(): abandon the parent's connection (kept
         * reachable, never used or closed here). */
        b->abandoned = b->db;
        b->db = NULL;
        for (int i = 0; i < ST__N; i++)
            b->st[i] = NULL;
        for (int i = 0; i < LS__N; i++)
            b->ls[i] = NULL;
        for (int i = 0; i < FS__N; i++)
            b->fs[i] = NULL;
        b->schema = 0;
        for (int f = 0; f < F__N; f++)
            b->id[f].known = false;
        if (b->watch >= 0)
            close(b->watch); /* our copy only: the parent's instance stays */
        b->watch = -1;
    }
    const char *what, *gone = NULL;
    if (b->db != NULL) {
        if (b->memory || !moved_now(b, &gone))
            return 0;
        /* Whatever is at the path now is the store: opened below if it is a
         * valid one (a restore, a rename over), unavailable otherwise. A -wal
         * or -shm still at its path belongs to the file we had open, not to
         * the new one: remember it, so that the new file is not read through
         * it. */
        struct stat st;
        bool main_gone = stat(b->side[F_MAIN], &st) != 0 || st.st_dev != b->id[F_MAIN].dev ||
                         st.st_ino != b->id[F_MAIN].ino;
        for (int f = F_WAL; f < F__N; f++) {
            b->left[f] = b->id[f];
            b->left[f].known = main_gone && b->id[f].known && stat(b->side[f], &st) == 0 &&
                               st.st_dev == b->id[f].dev && st.st_ino == b->id[f].ino;
        }
        close_db(b);
    }
    if (!b->memory) {
        struct stat st;
        if (stat(b->path, &st) != 0) {
            if (errno == ENOENT && gone != NULL)
                snprintf(b->err, sizeof b->err, "sqlite %s: %s", b->path, gone);
            else if (errno == ENOENT)
                snprintf(b->err, sizeof b->err,
                         "sqlite %s: no store file (`jwtx blocklist init` creates it)", b->path);
            else
                snprintf(b->err, sizeof b->err, "sqlite %s: %s", b->path, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(b->err, sizeof b->err, "sqlite %s: not a regular file", b->path);
            return -1;
        }
    }
    for (int f = F_WAL; f < F__N && !b->memory; f++) {
        struct stat st;
        if (!b->left[f].known)
            continue;
        if (stat(b->side[f], &st) == 0 && st.st_dev == b->left[f].dev &&
            st.st_ino == b->left[f].ino) {
            snprintf(b->err, sizeof b->err,
                     "sqlite %s: the store file was replaced, but the -wal and -shm beside it "
                     "belong to the old one (SQLite would read the new file through them): "
                     "remove them",
                     b->path);
            return -1;
        }
        b->left[f].known = false;
    }
    int rc = sqlite3_open_v2(b->path, &b->db,
                             b->memory ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
                             NULL);
    if (rc != SQLITE_OK) {
        fail(b, "open");
        close_db(b);
        return -1;
    }
    b->pid = getpid();
    sqlite3_busy_timeout(b->db, b->busy_ms);
    sqlite3_extended_result_codes(b->db, 1);
    if (!b->memory) {
        /* The file opened is the one at the path (not replaced in between). */
        int has_moved = 1;
        note_file(b, F_MAIN);
        if (!b->id[F_MAIN].known ||
            sqlite3_file_control(b->db, "main", SQLITE_FCNTL_HAS_MOVED, &has_moved) != SQLITE_OK ||
            has_moved) {
            snprintf(b->err, sizeof b->err, "sqlite %s: the store file moved while opening it",
                     b->path);
            close_db(b);
            return -1;
        }
    }

    /* The schema first: a file that is no store of ours is not written to. */
    if (setup_schema(b, wrote) != 0) {
        close_db(b);
        return -1;
    }
    char *mode = NULL;
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(b->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        mode = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    int wal = mode != NULL && sqlite3_stricmp(mode, b->memory ? "memory" : "wal") == 0;
    sqlite3_free(mode);
    if (!wal) {
        fail(b, "cannot switch to WAL mode");
        close_db(b);
        return -1;
    }
    /* Lookups of random jtis in a large store miss SQLite's small page
     * cache; reading the file through a shared mapping keeps a check near
     * its small-store cost (make bench: ~15 us -> ~10 us at 10^6 entries). */
    if (exec(b, "PRAGMA synchronous = NORMAL") != 0 ||
        exec(b, "PRAGMA mmap_size = 268435456") != 0) {
        close_db(b);
        return -1;
    }
    for (int i = 0; i < ST__N; i++) {
        if (sqlite3_prepare_v3(b->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &b->st[i],
                               NULL) != SQLITE_OK) {
            fail(b, "prepare");
            close_db(b);
            return -1;
        }
    }
    long long v;
    if (!b->memory && pragma_int(b, "PRAGMA schema_version", &v) != 0) {
        close_db(b);
        return -1;
    }
    if (!b->memory) {
        /* That read has opened the -wal and -shm; while this connection
         * lives no other one deletes them, so they must stay the same files. */
        note_file(b, F_WAL);
        note_file(b, F_SHM);
        watch_files(b);
        if (moved(b, &what)) {
            snprintf(b->err, sizeof b->err, "sqlite %s: %s", b->path, what);
            close_db(b);
            return -1;
        }
    }
    b->err[0] = '\0';
    return 0;
}

static int ensure_open(sqlite_be *b)
{
    bool wrote;
    return open_db(b, &wrote);
}

/* Opens the store and makes sure its schema is at least version need, then
 * prepares the n statements sql[] of the tables that version added into
 * sts[] (once per connection): JWTXP_BL_OLD_SCHEMA, with "the store's schema
 * (version V) has no " lacks " in the last error, while it is older. The
 * version is read again each time until the tables are there, so an upgrade
 * by `jwtx blocklist init` while this process runs is used at once. */
static int ensure_tables(sqlite_be *b, sqlite3_stmt **sts, const char *const *sql, int n,
                         long long need, const char *lacks)
{
    if (ensure_open(b) != 0)
        return -1;
    if (sts[0] != NULL)
        return 0;
    long long ver = b->schema;
    if (ver < need && pragma_int(b, "PRAGMA user_version", &ver) != 0) {
        close_db(b);
        return -1;
    }
    if (ver < need) {
        snprintf(b->err, sizeof b->err, "sqlite %s: the store's schema (version %lld) has no %s",
                 b->path, ver, lacks);
        return JWTXP_BL_OLD_SCHEMA;
    }
    if (ver > b->schema)
        b->schema = ver;
    for (int i = 0; i < n; i++) {
        if (sqlite3_prepare_v3(b->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sts[i], NULL) !=
            SQLITE_OK) {
            fail(b, "prepare");
            close_db(b);
            return -1;
        }
    }
    return 0;
}

/* The login tables (version 2). */
static int ensure_login(sqlite_be *b)
{
    return ensure_tables(b, b->ls, login_sql, LS__N, SCHEMA_LOGIN,
                         "login attempt tables; `jwtx blocklist init` upgrades it");
}

/* The session tables (version 3). */
static int ensure_family(sqlite_be *b)
{
    return ensure_tables(b, b->fs, family_sql, FS__N, SCHEMA_FAMILY,
                         "session tables (families, rotated); run `jwtx blocklist init` to "
                         "upgrade it");
}

/* The end of every statement: reset, bindings cleared, and rc (its last
 * step) judged: anything but SQLITE_DONE is a failure of `what`, told and
 * handled (after_error). 0 or -1. */
static int finish(sqlite_be *b, sqlite3_stmt *st, int rc, const char *what)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        fail(b, what);
        after_error(b, rc);
        return -1;
    }
    return 0;
}

/* Steps a statement to its end (writes). 0 or -1. */
static int run(sqlite_be *b, sqlite3_stmt *st, const char *what)
{
    return finish(b, st, sqlite3_step(st), what);
}

static int sq_ping(void *be)
{
    return ensure_open(be);
}

static int sq_check(void *be, const char *jti, size_t jti_len, const char *user, size_t user_len,
                    long long iat, const char *fam, size_t fam_len, long long now)
{
    sqlite_be *b = be;
    sqlite3_stmt *st;
    if (fam == NULL) {
        if (ensure_open(b) != 0)
            return JWTX_BL_UNAVAILABLE;
        st = b->st[ST_CHECK];
    } else {
        int rc = ensure_family(b);
        if (rc != 0)
            return rc == JWTXP_BL_OLD_SCHEMA ? JWTXP_BL_OLD_SCHEMA : JWTX_BL_UNAVAILABLE;
        st = b->fs[FS_CHECK];
        sqlite3_bind_text(st, 4, fam, (int)fam_len, SQLITE_STATIC);
    }
    if (jti != NULL)
        sqlite3_bind_text(st, 1, jti, (int)jti_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if (user != NULL)
        sqlite3_bind_text(st, 3, user, (int)user_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int result = JWTX_BL_UNAVAILABLE;
    if (rc == SQLITE_ROW) {
        result = JWTX_BL_CLEAR;
        if (sqlite3_column_int64(st, 0) != 0)
            result = JWTX_BL_REVOKED;
        if (sqlite3_column_type(st, 1) != SQLITE_NULL && sqlite3_column_int64(st, 1) >= iat)
            result = JWTX_BL_REVOKED;
        /* No live family of that id (ended, or unknown: a store that lost
         * it fails closed). */
        if (fam != NULL && sqlite3_column_int64(st, 2) != 0)
            result = JWTX_BL_REVOKED;
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            result = JWTX_BL_UNAVAILABLE;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (result == JWTX_BL_UNAVAILABLE) {
        fail(b, "check");
        after_error(b, rc);
    }
    return result;
}

/* One bounded DELETE (FS_PURGE_FAMILIES or FS_PURGE_ROTATED) of rows whose
 * life in the store is over at now; *n gets how many. */
static int family_purge_batch(sqlite_be *b, int k, long long now, long long limit, long long *n)
{
    sqlite3_stmt *st = b->fs[k];
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, limit);
    if (run(b, st, k == FS_PURGE_FAMILIES ? "purge families" : "purge rotated tokens") != 0)
        return -1;
    *n = sqlite3_changes(b->db);
    return 0;
}

/* One bounded DELETE of expired rows; *n gets how many. */
static int purge_batch(sqlite_be *b, long long now, long long *n)
{
    sqlite3_stmt *st = b->st[ST_PURGE];
    sqlite3_bind_int64(st, 1, now);
    if (run(b, st, "purge") != 0)
        return -1;
    *n = sqlite3_changes(b->db);
    return 0;
}

static int sq_revoke(void *be, const char *jti, size_t len, long long until, long long now)
{
    sqlite_be *b = be;
    if (ensure_open(b) != 0)
        return -1;
    sqlite3_stmt *st = b->st[ST_REVOKE];
    sqlite3_bind_text(st, 1, jti, (int)len, SQLITE_STATIC);
    if (until != 0)
        sqlite3_bind_int64(st, 2, until);
    if (run(b, st, "revoke") != 0)
        return -1;
    if (++b->revokes % PURGE_EVERY == 0) {
        /* Housekeeping only: the revocation itself is already stored. */
        long long n;
        (void)purge_batch(b, now, &n);
        b->err[0] = '\0';
    }
    return 0;
}

static int sq_revoke_user(void *be, const char *user, size_t len, long long cutoff)
{
    sqlite_be *b = be;
    if (ensure_open(b) != 0)
        return -1;
    sqlite3_stmt *st = b->st[ST_REVOKE_USER];
    sqlite3_bind_text(st, 1, user, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, cutoff);
    return run(b, st, "revoke user");
}

static int sq_count(void *be, long long now, long long *n)
{
    sqlite_be *b = be;
    if (ensure_open(b) != 0)
        return -1;
    sqlite3_stmt *st = b->st[ST_COUNT];
    sqlite3_bind_int64(st, 1, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW) {
        fail(b, "count");
        after_error(b, rc);
        return -1;
    }
    return 0;
}

static int sq_list(void *be, long long now, jwtxp_bl_list_cb cb, void *ctx)
{
    sqlite_be *b = be;
    if (ensure_open(b) != 0)
        return -1;
    /* One read transaction, so both tables are seen at the same moment. */
    if (exec(b, "BEGIN") != 0)
        return -1;
    int result = 0, rc = SQLITE_DONE;
    static const char *const kinds[2] = {"jti", "user"};
    sqlite3_stmt *sts[2] = {b->st[ST_LIST_JTI], b->st[ST_LIST_USER]};
    sqlite3_bind_int64(sts[0], 1, now);
    for (int k = 0; k < 2 && result == 0; k++) {
        while ((rc = sqlite3_step(sts[k])) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(sts[k], 0);
            long long until = sqlite3_column_int64(sts[k], 1);
            if (key != NULL && cb(kinds[k], key, until, ctx) != 0) {
                result = 1;
                break;
            }
        }
        if (result == 0 && rc != SQLITE_DONE) {
            fail(b, "list");
            result = -1;
        }
        sqlite3_reset(sts[k]);
    }
    sqlite3_clear_bindings(sts[0]);
    sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL);
    if (result < 0)
        after_error(b, rc);
    return result;
}

static int sq_purge(void *be, long long now, long long *removed)
{
    sqlite_be *b = be;
    if (ensure_open(b) != 0)
        return -1;
    long long total = 0, n;
    /* Batches keep each write transaction short for the other processes. */
    do {
        if (purge_batch(b, now, &n) != 0)
            return -1;
        total += n;
    } while (n == PURGE_BATCH);
    /* The tables a newer schema added: an older store has none, which is no
     * failure of the purge. */
    int rc = ensure_login(b);
    if (rc == JWTXP_BL_OLD_SCHEMA)
        b->err[0] = '\0';
    else if (rc != 0)
        return -1;
    else {
        for (int k = LS_PURGE_FAILURES; k <= LS_PURGE_BANS; k++) {
            do {
                sqlite3_stmt *st = b->ls[k];
                sqlite3_bind_int64(st, 1, now);
                sqlite3_bind_int64(st, 2, PURGE_BATCH);
                if (run(b, st, "purge login attempts") != 0)
                    return -1;
                n = sqlite3_changes(b->db);
                total += n;
            } while (n == PURGE_BATCH);
        }
    }
    /* Families and rotated tokens past their life in the store. */
    rc = ensure_family(b);
    if (rc == JWTXP_BL_OLD_SCHEMA)
        b->err[0] = '\0';
    else if (rc != 0)
        return -1;
    else {
        for (int k = FS_PURGE_FAMILIES; k <= FS_PURGE_ROTATED; k++) {
            do {
                if (family_purge_batch(b, k, now, PURGE_BATCH, &n) != 0)
                    return -1;
                total += n;
            } while (n == PURGE_BATCH);
        }
    }
    *removed = total;
    return 0;
}

static int sq_init(void *be, int *made)
{
    sqlite_be *b = be;
    bool created = false, wrote = false;
    *made = JWTX_BL_INIT_EXISTS;
    if (b->db != NULL && b->pid == getpid())
        close_db(b); /* start from the file as it is now */
    struct stat st;
    if (!b->memory && lstat(b->path, &st) != 0) {
        /* A -wal left from a removed store would be read as the new file's
         * own (SQLite cannot tell they do not belong together). */
        for (int f = F_WAL; f < F__N; f++) {
            if (lstat(b->side[f], &st) == 0) {
                snprintf(b->err, sizeof b->err,
                         "sqlite %s: %s is left from a removed store; remove it (and the "
                         "other of -wal/-shm) first",
                         b->path, b->side[f]);
                return -1;
            }
        }
    }
    if (!b->memory && create_file(b, &created) != 0)
        return -1;
    b->creating = true;
    b->upgraded = false;
    int rc = open_db(b, &wrote);
    b->creating = false;
    if (rc != 0) {
        if (created)
            (void)unlink(b->path); /* do not leave a half-made store behind */
        return -1;
    }
    if (created)
        *made = JWTX_BL_INIT_CREATED;
    else if (wrote)
        *made = JWTX_BL_INIT_SCHEMA;
    else if (b->upgraded)
        *made = JWTX_BL_INIT_UPGRADED;
    b->upgraded = false;
    return 0;
}

/* ---- login attempts */

/* Steps a one-row query; *v = column 0 (0 when no row). 1 row, 0 none, -1. */
static int query_one(sqlite_be *b, sqlite3_stmt *st, const char *what, long long *v)
{
    int rc = sqlite3_step(st), got = 0;
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        got = 1;
        rc = sqlite3_step(st);
    }
    return finish(b, st, rc, what) != 0 ? -1 : got;
}

static void bind_key(sqlite3_stmt *st, const char *key, size_t len)
{
    sqlite3_bind_text(st, 1, key, (int)len, SQLITE_STATIC);
}

static int sq_attempt_add(void *be, const char *key, size_t len, const char *member, long long now,
                          long long window, long long keep, long long *count)
{
    sqlite_be *b = be;
    (void)member; /* a row per call: SQLite commands are not retried */
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    /* One write transaction: the failure, its key trimmed to the newest
     * `keep`, the count every process sees, and a bounded purge. */
    if (exec(b, "BEGIN IMMEDIATE") != 0) {
        after_error(b, sqlite3_errcode(b->db));
        return -1;
    }
    sqlite3_stmt *st = b->ls[LS_ADD];
    bind_key(st, key, len);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, window > LLONG_MAX - now ? LLONG_MAX : now + window);
    rc = run(b, st, "record a login failure");
    if (rc == 0) {
        st = b->ls[LS_TRIM];
        bind_key(st, key, len);
        sqlite3_bind_int64(st, 2, keep);
        rc = run(b, st, "trim login failures");
    }
    long long n = 0;
    if (rc == 0) {
        st = b->ls[LS_COUNT];
        bind_key(st, key, len);
        sqlite3_bind_int64(st, 2, now - window);
        sqlite3_bind_int64(st, 3, now);
        rc = query_one(b, st, "count login failures", &n) < 0 ? -1 : 0;
    }
    for (int k = LS_PURGE_FAILURES; k <= LS_PURGE_BANS && rc == 0; k++) {
        st = b->ls[k];
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, LOGIN_PURGE_BATCH);
        rc = run(b, st, "purge login attempts");
    }
    if (b->db == NULL) /* a statement failed and dropped the connection (rolled back) */
        return -1;
    if (rc == 0 && exec(b, "COMMIT") != 0)
        rc = -1;
    if (rc != 0) {
        int code = sqlite3_errcode(b->db);
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        after_error(b, code);
        return -1;
    }
    *count = n;
    return 0;
}

static int sq_attempt_count(void *be, const char *key, size_t len, long long now, long long window,
                            long long *count)
{
    sqlite_be *b = be;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->ls[LS_COUNT];
    bind_key(st, key, len);
    sqlite3_bind_int64(st, 2, now - window);
    sqlite3_bind_int64(st, 3, now);
    long long n = 0;
    if (query_one(b, st, "count login failures", &n) < 0)
        return -1;
    *count = n;
    return 0;
}

static int sq_attempt_clear(void *be, const char *key, size_t len)
{
    sqlite_be *b = be;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    bind_key(b->ls[LS_CLEAR], key, len);
    return run(b, b->ls[LS_CLEAR], "clear login failures");
}

static int sq_ban_get(void *be, const char *key, size_t len, long long now, long long *until)
{
    sqlite_be *b = be;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->ls[LS_BAN_GET];
    bind_key(st, key, len);
    sqlite3_bind_int64(st, 2, now);
    return query_one(b, st, "read a login ban", until);
}

static int sq_ban_set(void *be, const char *key, size_t len, long long now, long long until)
{
    sqlite_be *b = be;
    (void)now;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->ls[LS_BAN_SET];
    bind_key(st, key, len);
    sqlite3_bind_int64(st, 2, until);
    return run(b, st, "set a login ban");
}

static int sq_ban_lift(void *be, const char *key, size_t len)
{
    sqlite_be *b = be;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    bind_key(b->ls[LS_BAN_DEL], key, len);
    if (run(b, b->ls[LS_BAN_DEL], "lift a login ban") != 0)
        return -1;
    bind_key(b->ls[LS_CLEAR], key, len);
    return run(b, b->ls[LS_CLEAR], "clear login failures");
}

static int sq_ban_list(void *be, long long now, jwtxp_bl_ban_cb cb, void *ctx)
{
    sqlite_be *b = be;
    int rc = ensure_login(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->ls[LS_BAN_LIST];
    sqlite3_bind_int64(st, 1, now);
    int result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key != NULL && cb(key, sqlite3_column_int64(st, 1), ctx) != 0) {
            result = 1;
            break;
        }
    }
    /* A walk the callback stopped (on a row) is no failure. */
    if (finish(b, st, result == 1 ? SQLITE_DONE : rc, "list login bans") != 0)
        return -1;
    return result;
}

static const char *sq_last_error(const void *be)
{
    return ((const sqlite_be *)be)->err;
}

static void sq_destroy(void *be)
{
    sqlite_be *b = be;
    if (b == NULL)
        return;
    if (b->db != NULL && b->pid == getpid())
        close_db(b);
    if (b->watch >= 0)
        close(b->watch); /* a child's copy after fork: closing it leaves the parent's */
    free(b->path);
    for (int f = 0; f < F__N; f++)
        free(b->side[f]);
    free(b);
}

void *jwtxp_bl_sqlite_new(const char *path, long long timeout_ms)
{
    sqlite_be *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->memory = strcmp(path, ":memory:") == 0;
    b->watch = -1;
    b->path = strdup(path);
    size_t n = strlen(path) + 5;
    for (int f = 0; f < F__N; f++)
        b->side[f] = malloc(n);
    if (b->path == NULL || b->side[F_MAIN] == NULL || b->side[F_WAL] == NULL ||
        b->side[F_SHM] == NULL) {
        sq_destroy(b);
        return NULL;
    }
    snprintf(b->side[F_MAIN], n, "%s", path);
    snprintf(b->side[F_WAL], n, "%s-wal", path);
    snprintf(b->side[F_SHM], n, "%s-shm", path);
    b->busy_ms = timeout_ms > BUSY_MIN_MS ? (int)timeout_ms : BUSY_MIN_MS;
    return b;
}

/* ---- sessions (refresh-token families) */

/* The `ended` of a family ended at now: never 0, which means live. */
static long long ended_at(long long now)
{
    return now > 0 ? now : 1;
}

static void copy_family(char *out, size_t out_size, const char *fam, size_t len)
{
    if (len >= out_size)
        len = out_size - 1;
    memcpy(out, fam, len);
    out[len] = '\0';
}

/* Opens a write transaction, waiting for the write lock up to the busy
 * timeout. 0 or -1. */
static int begin_write(sqlite_be *b)
{
    if (exec(b, "BEGIN IMMEDIATE") == 0)
        return 0;
    after_error(b, sqlite3_errcode(b->db));
    return -1;
}

/* Ends the write transaction begun by begin_write: commits when rc >= 0 and
 * returns rc, else rolls back and returns -1. A failed statement has had
 * its after_error already; when that dropped the connection, closing it
 * rolled the transaction back. */
static int finish_write(sqlite_be *b, int rc)
{
    if (b->db == NULL)
        return -1;
    if (rc >= 0 && exec(b, "COMMIT") == 0)
        return rc;
    int code = sqlite3_errcode(b->db);
    sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc >= 0) /* the COMMIT itself failed */
        after_error(b, code);
    return -1;
}

/* Housekeeping after a family write: every PURGE_EVERY of them, one bounded
 * batch of families and rotated tokens past their life, so the tables stay
 * bounded without `jwtx blocklist purge`. Failures do not matter here (the
 * write is stored already). */
static void family_housekeeping(sqlite_be *b, long long now)
{
    if (++b->family_writes % PURGE_EVERY != 0)
        return;
    long long n;
    for (int k = FS_PURGE_FAMILIES; k <= FS_PURGE_ROTATED && b->db != NULL; k++)
        if (family_purge_batch(b, k, now, PURGE_BATCH, &n) != 0)
            break;
    b->err[0] = '\0';
}

/* Inserts a live family. 0, or -1 (an id taken already is -1 too, leaving
 * the connection as it is). */
static int insert_family(sqlite_be *b, const char *fam, size_t flen, const char *user, size_t ulen,
                         long long now, long long last_refresh, long long expires, long long until)
{
    sqlite3_stmt *st = b->fs[FS_START];
    sqlite3_bind_text(st, 1, fam, (int)flen, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user, (int)ulen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, last_refresh);
    sqlite3_bind_int64(st, 5, expires);
    sqlite3_bind_int64(st, 6, until);
    if (run(b, st, "start a family") != 0)
        return -1;
    if (sqlite3_changes(b->db) != 1) {
        snprintf(b->err, sizeof b->err, "sqlite %s: start a family: its id exists already",
                 b->path);
        return -1;
    }
    return 0;
}

static int sq_family_start(void *be, const char *fam, size_t flen, const char *user, size_t ulen,
                           long long now, long long expires, long long until)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    if (insert_family(b, fam, flen, user, ulen, now, 0, expires, until) != 0)
        return -1;
    family_housekeeping(b, now);
    return 0;
}

/* The rotation recorded for jti, if any: 1 with its family (into fam, of
 * size JWTX_BLOCKLIST_FAMILY_MAX + 1), when it was rotated and whether that
 * family is live; 0 none; -1 failure. */
static int rotated_get(sqlite_be *b, const char *jti, size_t jlen, char *fam, size_t *flen,
                       long long *at, bool *live)
{
    sqlite3_stmt *st = b->fs[FS_ROT_GET];
    sqlite3_bind_text(st, 1, jti, (int)jlen, SQLITE_STATIC);
    int rc = sqlite3_step(st), got = 0;
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n > JWTX_BLOCKLIST_FAMILY_MAX)
            n = JWTX_BLOCKLIST_FAMILY_MAX;
        if (t != NULL)
            memcpy(fam, t, n);
        fam[t != NULL ? n : 0] = '\0';
        *flen = t != NULL ? n : 0;
        *at = sqlite3_column_int64(st, 1);
        /* NULL when the family is gone from the store: not live. */
        *live = sqlite3_column_type(st, 2) != SQLITE_NULL && sqlite3_column_int64(st, 2) != 0;
        got = 1;
        rc = sqlite3_step(st);
    }
    return finish(b, st, rc, "read a rotated token") != 0 ? -1 : got;
}

/* 1 the family is live (present, not ended), 0 not, -1 failure. */
static int family_live(sqlite_be *b, const char *fam, size_t flen)
{
    sqlite3_stmt *st = b->fs[FS_LIVE];
    sqlite3_bind_text(st, 1, fam, (int)flen, SQLITE_STATIC);
    long long v;
    return query_one(b, st, "read a family", &v);
}

/* The family's last refresh becomes now (with slide also its expiry and
 * life in the store: FS_SLIDE sets them, FS_SLIDE_LATER keeps the later of
 * the stored and the given ones). 0 or -1. */
static int touch_family(sqlite_be *b, const char *fam, size_t flen, long long now, int k,
                        long long expires, long long until)
{
    bool slide = k != FS_TOUCH;
    sqlite3_stmt *st = b->fs[k];
    sqlite3_bind_text(st, 1, fam, (int)flen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if (slide) {
        sqlite3_bind_int64(st, 3, expires);
        sqlite3_bind_int64(st, 4, until);
    }
    return run(b, st, "update a family");
}

static int add_rotated(sqlite_be *b, const jwtxp_bl_rotate *r, const char *fam, size_t flen)
{
    sqlite3_stmt *st = b->fs[FS_ROT_ADD];
    sqlite3_bind_text(st, 1, r->jti, (int)r->jlen, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fam, (int)flen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->now);
    sqlite3_bind_int64(st, 4, r->jti_until);
    return run(b, st, "record a rotated token");
}

/* Ends a live family at now: 1 ended, 0 it was not live, -1 failure. */
static int end_family(sqlite_be *b, const char *fam, size_t flen, long long now)
{
    sqlite3_stmt *st = b->fs[FS_END];
    sqlite3_bind_text(st, 1, fam, (int)flen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ended_at(now));
    if (run(b, st, "end a family") != 0)
        return -1;
    return sqlite3_changes(b->db) > 0 ? 1 : 0;
}

/* The rules of jwtx_blocklist_family_rotate (blocklist.h), in one write
 * transaction: BEGIN IMMEDIATE takes the write lock before the first read,
 * so of several processes refreshing the same token at once one records the
 * rotation and the others, serialised behind it, find it recorded. */
static int rotate_in(sqlite_be *b, const jwtxp_bl_rotate *r, char *fam_out, size_t out_size)
{
    char prev[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    size_t plen = 0;
    long long at = 0;
    bool live = false;
    int got = rotated_get(b, r->jti, r->jlen, prev, &plen, &at, &live);
    if (got < 0)
        return -1;
    if (got == 1) {
        /* Rotated before: the family is the one recorded with the token. */
        copy_family(fam_out, out_size, prev, plen);
        if (!live)
            return JWTX_BL_ENDED;
        /* now > at: the difference is exact in unsigned arithmetic. */
        if (r->now > at &&
            (unsigned long long)r->now - (unsigned long long)at > (unsigned long long)r->grace)
            return end_family(b, prev, plen, r->now) < 0 ? -1 : JWTX_BL_REUSED;
        /* Within the grace period: a second refresh of the same token (two
         * tabs); the grace still counts from the first rotation. With slide
         * the token issued now expires at r->expires: the family must live
         * as long as the latest token it has issued. */
        return touch_family(b, prev, plen, r->now, r->slide ? FS_SLIDE_LATER : FS_TOUCH, r->expires,
                            r->until) != 0
                   ? -1
                   : JWTX_BL_ROTATED;
    }
    if (r->fam != NULL) {
        copy_family(fam_out, out_size, r->fam, r->flen);
        int l = family_live(b, r->fam, r->flen);
        if (l <= 0)
            return l < 0 ? -1 : JWTX_BL_ENDED;
        if (add_rotated(b, r, r->fam, r->flen) != 0 ||
            touch_family(b, r->fam, r->flen, r->now, r->slide ? FS_SLIDE : FS_TOUCH, r->expires,
                         r->until) != 0)
            return -1;
        return JWTX_BL_ROTATED;
    }
    /* A token from before rotation: its session becomes a family now. */
    copy_family(fam_out, out_size, r->new_fam, r->nflen);
    if (insert_family(b, r->new_fam, r->nflen, r->user, r->ulen, r->now, r->now, r->expires,
                      r->until) != 0 ||
        add_rotated(b, r, r->new_fam, r->nflen) != 0)
        return -1;
    return JWTX_BL_ROTATED;
}

static int sq_family_rotate(void *be, const jwtxp_bl_rotate *r, char *fam_out, size_t out_size)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    if (begin_write(b) != 0)
        return -1;
    rc = finish_write(b, rotate_in(b, r, fam_out, out_size));
    if (rc < 0) {
        fam_out[0] = '\0';
        return -1;
    }
    family_housekeeping(b, r->now);
    return rc;
}

static int sq_family_end(void *be, const char *fam, size_t flen, long long now)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    return end_family(b, fam, flen, now);
}

static int sq_family_end_user(void *be, const char *user, size_t ulen, long long now,
                              void (*cb)(const char *fam, void *ctx), void *ctx, long long *n)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    /* Families whose store life is over are gone as far as any token can
     * tell (Redis has let them expire): not ended again, not counted. */
    sqlite3_stmt *st = b->fs[FS_END_USER];
    sqlite3_bind_text(st, 1, user, (int)ulen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ended_at(now));
    sqlite3_bind_int64(st, 3, now);
    /* The whole UPDATE is done by the first step; RETURNING then hands out
     * one row per family ended. */
    long long count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *fam = (const char *)sqlite3_column_text(st, 0);
        count++;
        if (cb != NULL && fam != NULL)
            cb(fam, ctx);
    }
    if (finish(b, st, rc, "end the families of a user") != 0)
        return -1;
    *n = count;
    return 0;
}

static int sq_family_list(void *be, const char *user, size_t ulen, long long now,
                          jwtxp_bl_family_cb cb, void *ctx)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->fs[user != NULL ? FS_LIST_USER : FS_LIST_ALL];
    if (user != NULL)
        sqlite3_bind_text(st, 1, user, (int)ulen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int result = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jwtx_family_info f = {
            .family = (const char *)sqlite3_column_text(st, 0),
            .user = (const char *)sqlite3_column_text(st, 1),
            .started = sqlite3_column_int64(st, 2),
            .last_refresh = sqlite3_column_int64(st, 3),
            .expires = sqlite3_column_int64(st, 4),
            .ended = sqlite3_column_int64(st, 5),
        };
        if (f.family != NULL && f.user != NULL && cb(&f, ctx) != 0) {
            result = 1;
            break;
        }
    }
    /* A walk the callback stopped (on a row) is no failure. */
    if (finish(b, st, result == 1 ? SQLITE_DONE : rc, "list families") != 0)
        return -1;
    return result;
}

static int sq_family_get(void *be, const char *fam, size_t flen, long long now,
                         jwtx_family_info *info, char *user_buf, size_t user_size)
{
    sqlite_be *b = be;
    int rc = ensure_family(b);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = b->fs[FS_GET];
    sqlite3_bind_text(st, 1, fam, (int)flen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int got = 0;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *u = sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (u == NULL || n >= user_size) {
            got = -1;
        } else {
            memcpy(user_buf, u, n);
            user_buf[n] = '\0';
            info->started = sqlite3_column_int64(st, 1);
            info->last_refresh = sqlite3_column_int64(st, 2);
            info->expires = sqlite3_column_int64(st, 3);
            info->ended = sqlite3_column_int64(st, 4);
            got = 1;
        }
        rc = sqlite3_step(st);
    }
    if (finish(b, st, rc, "read a family") != 0)
        return -1;
    if (got < 0)
        snprintf(b->err, sizeof b->err, "sqlite %s: read a family: its user is damaged", b->path);
    return got;
}

const jwtxp_bl_ops jwtxp_bl_sqlite_ops = {
    .kind = "sqlite",
    .init = sq_init,
    .ping = sq_ping,
    .check = sq_check,
    .revoke = sq_revoke,
    .revoke_user = sq_revoke_user,
    .count = sq_count,
    .list = sq_list,
    .purge = sq_purge,
    .attempt_add = sq_attempt_add,
    .attempt_count = sq_attempt_count,
    .attempt_clear = sq_attempt_clear,
    .ban_get = sq_ban_get,
    .ban_set = sq_ban_set,
    .ban_lift = sq_ban_lift,
    .ban_list = sq_ban_list,
    .family_start = sq_family_start,
    .family_rotate = sq_family_rotate,
    .family_end = sq_family_end,
    .family_end_user = sq_family_end_user,
    .family_list = sq_family_list,
    .family_get = sq_family_get,
    .last_error = sq_last_error,
    .destroy = sq_destroy,
};
