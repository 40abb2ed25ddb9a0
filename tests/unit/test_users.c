/*
 * test_users.c — the users module against real htpasswd output.
 *
 * Fixtures in tests/fixtures/users/ were made by Apache's htpasswd and by
 * libxcrypt (make-fixtures.sh there); the passwords are in the tables below.
 * Some tests also run /usr/bin/htpasswd (apache2-utils, installed by the deps
 * step) at run time, both to make hashes and to verify files we wrote. The
 * $apr1$ code is checked byte for byte against libxcrypt's $1$ md5crypt.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cu.h"
#include "jwtx/users.h"

/* library-internal, for tests */
int jwtxp_users_md5crypt(const char *pw, const char *salt, const char *magic, char *out,
                         size_t out_size);
const char *jwtxp_users_dummy(const jwtx_users *u);

#define FIX "tests/fixtures/users/"
#define HTPASSWD "/usr/bin/htpasswd"

static char tmpdir[64];

/* ------------------------------------------------------------ helpers */

typedef struct logcap {
    int n;
    char last[1024];
} logcap;

static void cap_log(const char *msg, void *ctx)
{
    logcap *c = ctx;
    c->n++;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

static char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
    CU_ASSERT_FATAL(fclose(f) == 0);
}

static void write_str(const char *path, const char *s)
{
    write_bytes(path, s, strlen(s));
}

static void copy_file(const char *from, const char *to)
{
    char *s = jwtx_cu_slurp(from, NULL);
    CU_ASSERT_FATAL(s != NULL);
    write_str(to, s);
    free(s);
}

/* Sets a file's mtime to now + delta seconds so a rewrite is noticed even
 * within one timestamp tick. */
static void bump_mtime(const char *path, int delta)
{
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec += delta;
    ts[1] = ts[0];
    CU_ASSERT(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

/* Runs argv with no shell; returns the exit status, stdout into out. */
static int run(char *const argv[], char *out, size_t out_size)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + n, out_size - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(pfd[0]);
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* htpasswd -vb FILE USER PASS: 0 when the password verifies. */
static int htpasswd_verify(const char *file, const char *user, const char *pw)
{
    char out[256];
    char *argv[] = {HTPASSWD, "-vb", (char *)file, (char *)user, (char *)pw, NULL};
    return run(argv, out, sizeof out);
}

static jwtx_users *open_ok(const char *pw, const char *claims, logcap *lc)
{
    jwtx_users *u = NULL;
    jwtx_error e;
    jwtx_error_clear(&e);
    int rc = jwtx_users_open(pw, claims, lc ? cap_log : NULL, lc, &u, &e);
    if (rc != 0)
        fprintf(stderr, "\n  open %s: %s\n", pw, jwtx_error_message(&e));
    CU_ASSERT_FATAL(rc == 0 && u != NULL);
    return u;
}

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jwtx-test-users-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- tables */

static const struct {
    const char *user, *password;
} mixed_users[] = {
    {"alice", "alice-secret"},       /* htpasswd -B -C 5 */
    {"bob", "bob pass with spaces"}, /* htpasswd -m ($apr1$) */
    {"carol", "carol:colon:pw"},     /* htpasswd -s ({SHA}) */
    {"dave", "dävé-ünï"},            /* htpasswd -2 ($5$) */
    {"erin", "erin"},                /* htpasswd -5 -r 6000 ($6$rounds=6000$) */
    {"frank", "0123456789012345678901234567890123456789012345678901234567890123456789012345678X"},
    {"gina", "gina-yes"},    /* $y$ yescrypt */
    {"hank", "hank-scrypt"}, /* $7$ scrypt */
    {"ivan", "ivan-md5"},    /* $1$ md5crypt */
    {"judy", "judy"},        /* $2b$ */
    {"kate", "kate"},        /* $2a$ */
    {"ünï", "unicode-user"}, /* UTF-8 user name, htpasswd -B -C 4 */
};

static const struct {
    const char *user, *password;
} apr1_users[] = {
    {"a0", ""},
    {"a1", "x"},
    {"a2", "password"},
    {"a3", "0123456789abcdef"},
    {"a4", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
    {"a5", "Ünïcödé ☃"},
    {"a6", "with:colon and space"},
};

/* -------------------------------------------------------------- tests */

static void test_mixed_right_and_wrong(void)
{
    logcap lc = {0};
    jwtx_users *u = open_ok(FIX "mixed.htpasswd", NULL, &lc);
    CU_ASSERT_EQUAL(jwtx_users_count(u), 12);
    for (size_t i = 0; i < sizeof mixed_users / sizeof mixed_users[0]; i++) {
        const char *user = mixed_users[i].user, *pw = mixed_users[i].password;
        char wrong[1100];
        int ok = jwtx_users_check(u, user, pw);
        if (ok != 0)
            fprintf(stderr, "\n  %s: right password refused\n", user);
        CU_ASSERT_EQUAL(ok, 0);
        CU_ASSERT_TRUE(jwtx_users_exists(u, user));
        snprintf(wrong, sizeof wrong, "%sx", pw);
        bool frank = strcmp(user, "frank") == 0; /* 80 bytes: past bcrypt's 72 */
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, wrong), frank ? 0 : -1);
        snprintf(wrong, sizeof wrong, "%.*s", (int)strlen(pw) - 1, pw);
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, wrong), frank ? 0 : -1);
        snprintf(wrong, sizeof wrong, "%.*sz%s", (int)strlen(pw) / 2, pw, pw + strlen(pw) / 2 + 1);
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, wrong), -1);
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, ""), -1);
        /* another user's password */
        const char *other = mixed_users[(i + 1) % 12].password;
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, other), -1);
    }
    /* user names are exact: case and spaces matter */
    CU_ASSERT_EQUAL(jwtx_users_check(u, "Alice", "alice-secret"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "alice ", "alice-secret"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "", "alice-secret"), -1);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "Alice"));
    CU_ASSERT_FALSE(jwtx_users_exists(u, "# jwtx users fixture"));
    jwtx_users_free(u);
}

static void test_weak_logged_once(void)
{
    logcap lc = {0};
    jwtx_users *u = open_ok(FIX "mixed.htpasswd", NULL, &lc);
    CU_ASSERT_EQUAL(lc.n, 1);
    JWTX_ASSERT_STR(lc.last, "users: " FIX "mixed.htpasswd: 3 users with weak password hashes: "
                             "bob ($apr1$ MD5), carol ({SHA} unsalted SHA-1), ivan ($1$ MD5); "
                             "please rehash with bcrypt: jwtx passwd " FIX "mixed.htpasswd USER");
    CU_ASSERT_EQUAL(jwtx_users_check(u, "bob", "bob pass with spaces"), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "carol", "nope"), -1);
    CU_ASSERT_EQUAL(lc.n, 1); /* not again on each check */
    jwtx_users_free(u);

    logcap lc2 = {0};
    u = open_ok(FIX "bcrypt4.htpasswd", NULL, &lc2);
    JWTX_ASSERT_STR(lc2.last, "users: " FIX "bcrypt4.htpasswd: 1 user with weak password hashes: "
                              "zed ($apr1$ MD5); please rehash with bcrypt: jwtx passwd " FIX
                              "bcrypt4.htpasswd USER");
    jwtx_users_free(u);

    /* a file with strong hashes only logs nothing */
    char line[200];
    snprintf(line, sizeof line, "u:%s\n",
             "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2");
    write_str(tpath("strong"), line);
    logcap lc3 = {0};
    u = open_ok(tpath("strong"), NULL, &lc3);
    CU_ASSERT_EQUAL(lc3.n, 0);
    jwtx_users_free(u);
}

static void test_bcrypt_72_bytes(void)
{
    jwtx_users *u = open_ok(FIX "mixed.htpasswd", NULL, NULL);
    const char *pw = mixed_users[5].password; /* 80 bytes */
    char b[128];
    /* bcrypt reads only 72 bytes: any tail after them is ignored */
    snprintf(b, sizeof b, "%.72s", pw);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "frank", b), 0);
    snprintf(b, sizeof b, "%.72sanything else", pw);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "frank", b), 0);
    snprintf(b, sizeof b, "%.71s", pw);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "frank", b), -1);
    jwtx_users_free(u);
}

static void test_apr1_real_htpasswd(void)
{
    jwtx_users *u = open_ok(FIX "apr1.htpasswd", NULL, NULL);
    char *text = jwtx_cu_slurp(FIX "apr1.htpasswd", NULL);
    CU_ASSERT_FATAL(text != NULL);
    for (size_t i = 0; i < sizeof apr1_users / sizeof apr1_users[0]; i++) {
        CU_ASSERT_EQUAL(jwtx_users_check(u, apr1_users[i].user, apr1_users[i].password), 0);
        char wrong[128];
        snprintf(wrong, sizeof wrong, "%s!", apr1_users[i].password);
        CU_ASSERT_EQUAL(jwtx_users_check(u, apr1_users[i].user, wrong), -1);
        /* our md5crypt gives htpasswd's exact string for the same salt */
        char key[8], *line, out[128];
        snprintf(key, sizeof key, "%s:", apr1_users[i].user);
        line = strstr(text, key);
        CU_ASSERT_FATAL(line != NULL);
        line += strlen(key);
        size_t n = strcspn(line, "\n");
        CU_ASSERT_EQUAL(
            jwtxp_users_md5crypt(apr1_users[i].password, line + 6, "$apr1$", out, sizeof out), 0);
        CU_ASSERT(strlen(out) == n && memcmp(out, line, n) == 0);
    }
    free(text);
    jwtx_users_free(u);
}

static void test_md5crypt_vs_libxcrypt(void)
{
    struct crypt_data *cd = calloc(1, sizeof *cd);
    CU_ASSERT_FATAL(cd != NULL);
    const char *salts[] = {"", "a", "ab", "abcdefg", "abcdefgh", "abcdefghij", "./Zz09", "s$alt"};
    int maxlen = getenv("JWTX_TEST_QUICK") ? 20 : 80;
    int compared = 0;
    for (size_t s = 0; s < sizeof salts / sizeof salts[0]; s++) {
        for (int len = 0; len <= maxlen; len++) {
            char pw[128], setting[64], ours[128];
            for (int i = 0; i < len; i++)
                pw[i] = (char)(' ' + (i * 7 + len + (int)s) % 94);
            pw[len] = '\0';
            snprintf(setting, sizeof setting, "$1$%s", salts[s]);
            const char *ref = crypt_rn(pw, setting, cd, (int)sizeof *cd);
            CU_ASSERT_FATAL(ref != NULL && ref[0] != '*');
            CU_ASSERT_EQUAL_FATAL(jwtxp_users_md5crypt(pw, salts[s], "$1$", ours, sizeof ours), 0);
            if (strcmp(ref, ours) != 0)
                fprintf(stderr, "\n  salt [%s] len %d: libxcrypt %s, ours %s\n", salts[s], len, ref,
                        ours);
            CU_ASSERT_STRING_EQUAL(ref, ours);
            compared++;
        }
    }
    CU_ASSERT(compared >= 8 * 21);
    /* the magic is part of the hash: $apr1$ differs from $1$ beyond the prefix */
    char a[128], b[128];
    CU_ASSERT_EQUAL(jwtxp_users_md5crypt("pw", "saltsalt", "$1$", a, sizeof a), 0);
    CU_ASSERT_EQUAL(jwtxp_users_md5crypt("pw", "saltsalt", "$apr1$", b, sizeof b), 0);
    CU_ASSERT(strcmp(strrchr(a, '$'), strrchr(b, '$')) != 0);
    /* too small an output buffer is refused */
    CU_ASSERT_EQUAL(jwtxp_users_md5crypt("pw", "saltsalt", "$apr1$", b, 37), -1);
    CU_ASSERT_EQUAL(jwtxp_users_md5crypt("pw", "saltsalt", "$apr1$", b, 38), 0);
    free(cd);
}

static void test_sha(void)
{
    jwtx_users *u = open_ok(FIX "sha.htpasswd", NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "s1", "sha-pw"), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "s1", "sha-pW"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "s2", ""), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "s2", " "), -1);
    JWTX_ASSERT_STR(jwtxp_users_dummy(u) ? "{SHA}" : NULL, "{SHA}");
    CU_ASSERT(strncmp(jwtxp_users_dummy(u), "{SHA}", 5) == 0 && strlen(jwtxp_users_dummy(u)) == 33);
    jwtx_users_free(u);
}

/* Hashes made now by the installed htpasswd, one per format it writes. */
static void test_htpasswd_at_run_time(void)
{
    CU_ASSERT_FATAL(access(HTPASSWD, X_OK) == 0);
    static const struct {
        const char *flags, *prefix;
    } fmts[] = {
        {"-nbm", "$apr1$"}, {"-nbs", "{SHA}"}, {"-nb2", "$5$"}, {"-nb5", "$6$"}, {"-nbB", "$2y$"},
    };
    char file[8192] = "";
    char pws[5][40];
    srand((unsigned)time(NULL));
    for (size_t i = 0; i < 5; i++) {
        char user[16], out[512];
        snprintf(user, sizeof user, "rt%zu", i);
        snprintf(pws[i], sizeof pws[i], "p%d w:%zu", rand(), i);
        char *argv[] = {HTPASSWD, (char *)fmts[i].flags, "-C", "4", user, pws[i], NULL};
        if (strcmp(fmts[i].flags, "-nbB") != 0) {
            argv[2] = user;
            argv[3] = pws[i];
            argv[4] = NULL;
        }
        CU_ASSERT_EQUAL_FATAL(run(argv, out, sizeof out), 0);
        out[strcspn(out, "\n")] = '\0';
        CU_ASSERT(strncmp(out + strlen(user) + 1, fmts[i].prefix, strlen(fmts[i].prefix)) == 0);
        strcat(file, out);
        strcat(file, "\n");
    }
    write_str(tpath("runtime"), file);
    jwtx_users *u = open_ok(tpath("runtime"), NULL, NULL);
    for (size_t i = 0; i < 5; i++) {
        char user[16];
        snprintf(user, sizeof user, "rt%zu", i);
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, pws[i]), 0);
        CU_ASSERT_EQUAL(jwtx_users_check(u, user, pws[(i + 1) % 5]), -1);
    }
    jwtx_users_free(u);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_unknown_user_dummy(void)
{
    jwtx_users *u = open_ok(FIX "bcrypt4.htpasswd", NULL, NULL);
    /* most common scheme and cost: bcrypt cost 4 (3 of 4 users), as $2y$ */
    const char *d = jwtxp_users_dummy(u);
    CU_ASSERT_FATAL(d != NULL);
    CU_ASSERT(strncmp(d, "$2y$04$", 7) == 0 && strlen(d) == 60);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "nobody", "pw-u1"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "nobody", ""), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, NULL, "pw-u1"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "u1", NULL), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(NULL, "u1", "pw-u1"), -1);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "nobody"));
    CU_ASSERT_FALSE(jwtx_users_exists(u, NULL));

    /* an unknown user takes about as long as a wrong password (median of 15) */
    double known[15], unknown[15];
    for (int i = 0; i < 15; i++) {
        double t0 = now_ms();
        CU_ASSERT_EQUAL(jwtx_users_check(u, "u2", "wrong"), -1);
        double t1 = now_ms();
        CU_ASSERT_EQUAL(jwtx_users_check(u, "nobody", "wrong"), -1);
        double t2 = now_ms();
        known[i] = t1 - t0;
        unknown[i] = t2 - t1;
    }
    qsort(known, 15, sizeof known[0], cmp_double);
    qsort(unknown, 15, sizeof unknown[0], cmp_double);
    if (!(unknown[7] > known[7] * 0.5 && unknown[7] < known[7] * 2))
        fprintf(stderr, "\n  median wrong password %.3f ms, unknown user %.3f ms\n", known[7],
                unknown[7]);
    CU_ASSERT(unknown[7] > known[7] * 0.5 && unknown[7] < known[7] * 2);
    jwtx_users_free(u);

    /* other files: the dummy follows their most common scheme */
    u = open_ok(FIX "apr1.htpasswd", NULL, NULL);
    d = jwtxp_users_dummy(u);
    CU_ASSERT(d != NULL && strncmp(d, "$apr1$", 6) == 0 && strlen(d) == 6 + 8 + 1 + 22);
    jwtx_users_free(u);
    u = open_ok(FIX "mixed.htpasswd", NULL,
                NULL); /* frank and ünï: $2y$04, a tie broken by order */
    d = jwtxp_users_dummy(u);
    CU_ASSERT(d != NULL && strncmp(d, "$2y$04$", 7) == 0);
    jwtx_users_free(u);
    write_str(tpath("empty"), "# nobody yet\n\n");
    u = open_ok(tpath("empty"), NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_count(u), 0);
    d = jwtxp_users_dummy(u);
    CU_ASSERT(d != NULL && strncmp(d, "$2b$10$", 7) == 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "x", "y"), -1);
    jwtx_users_free(u);
    write_str(tpath("y"),
              "a:$y$j75$aWYE.aWkfOMB5xcIEU3N40$HDEaJKicjVw3PHwBLkNdXa7FQ9AbEVDrFsQ2GHWpD06\n"
              "b:$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2\n"
              "c:$y$j75$MSxmu0PAF3m800FA5WF.X/$OXCVGWtdPvs4duhmTrZt1zzbMuMkfUVwOGWifAgQhT3\n");
    u = open_ok(tpath("y"), NULL, NULL);
    d = jwtxp_users_dummy(u);
    CU_ASSERT(d != NULL && strncmp(d, "$y$j75$", 7) == 0);
    jwtx_users_free(u);
}

static void test_caps(void)
{
    jwtx_users *u = open_ok(FIX "mixed.htpasswd", NULL, NULL);
    char name[300], pw[JWTX_USERS_PASSWORD_MAX + 2];
    memset(name, 'a', 256);
    name[256] = '\0';
    CU_ASSERT_EQUAL(jwtx_users_check(u, name, "x"), -1);
    CU_ASSERT_FALSE(jwtx_users_exists(u, name));
    memset(pw, 'p', JWTX_USERS_PASSWORD_MAX + 1);
    pw[JWTX_USERS_PASSWORD_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(jwtx_users_check(u, "alice", pw), -1);
    jwtx_users_free(u);

    /* a 255-byte name and a 511-byte password are accepted end to end */
    memset(name, 'n', 255);
    name[255] = '\0';
    memset(pw, 'q', JWTX_USERS_PASSWORD_MAX);
    pw[JWTX_USERS_PASSWORD_MAX] = '\0';
    jwtx_error e;
    unlink(tpath("caps"));
    CU_ASSERT_EQUAL(jwtx_users_set_password(tpath("caps"), name, pw, 4, &e), 0);
    u = open_ok(tpath("caps"), NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_check(u, name, pw), 0);
    jwtx_users_free(u);
    /* the same cap on {SHA} and $apr1$, computed here rather than by libxcrypt */
    memset(pw, 'q', JWTX_USERS_PASSWORD_MAX + 1);
    pw[JWTX_USERS_PASSWORD_MAX + 1] = '\0';
    u = open_ok(FIX "sha.htpasswd", NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "s1", pw), -1);
    jwtx_users_free(u);
}

static void test_malformed(void)
{
    static const char bc[] = "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    static const struct {
        const char *text; /* '@' = a valid bcrypt hash */
        const char *want; /* after "PATH:" */
    } cases[] = {
        {"alice\n", "1: expected USER:HASH (no ':' found)"},
        {"# c\n\nbob:plain\n",
         "3: not a recognised password hash (plaintext passwords are refused); set a new "
         "password with: jwtx passwd"},
        {"a:@\nx:abJnggxhB/yWI\n",
         "2: DES crypt hash refused (it ignores all but 8 characters of a password); set a new "
         "password with: jwtx passwd"},
        {"x:_J9..rasmBYk8r9AiWNc\n",
         "1: DES crypt hash refused (it ignores all but 8 characters of a password); set a new "
         "password with: jwtx passwd"},
        {":@\n", "1: empty user name"},
        {"u:\n", "1: missing password hash after ':'"},
        {"u:$2y$05$short\n", "1: malformed bcrypt hash"},
        {"u:$2y$03$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2\n",
         "1: malformed bcrypt hash"},
        {"u:$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2 \n",
         "1: malformed bcrypt hash"},
        {"u:$3$$8846f7eaee8fb117ad06bdd830b7586c\n", "1: unsupported hash scheme $3$"},
        {"u:$gy$j9T$x$y\n", "1: unsupported hash scheme $gy$"},
        {"u:$apr1$abc$tooshort\n", "1: malformed $apr1$ hash"},
        {"u:$1$abcdefghi$FkWb3ZgokUOPw/ACu.eGv1\n", "1: malformed $1$ hash"},
        {"u:{SHA}abc\n", "1: malformed {SHA} hash"},
        {"u:$5$salt$short\n", "1: malformed $5$ sha256-crypt hash"},
        {"u:$6$rounds=$salt$x\n", "1: malformed $6$ sha512-crypt hash"},
        {"u:$y$j75$salt\n", "1: malformed $y$ yescrypt hash"},
        {"u:$7$6U..../....abc$short\n", "1: malformed $7$ scrypt hash"},
        {"a:@\nb:@\na:@\n", "3: duplicate user 'a' (first on line 1)"},
        {"a\tb:@\n", "1: control character in user name"},
        {"\xff\xfe:@\n", "1: user name is not valid UTF-8"},
        {"\xc0\xaf:@\n", "1: user name is not valid UTF-8"},
        {"\xed\xa0\x80:@\n", "1: user name is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], want[512];
        size_t tn = 0;
        for (const char *c = cases[i].text; *c && tn + sizeof bc < sizeof text; c++) {
            if (*c == '@') {
                memcpy(text + tn, bc, sizeof bc - 1);
                tn += sizeof bc - 1;
            } else {
                text[tn++] = *c;
            }
        }
        text[tn] = '\0';
        write_str(tpath("bad"), text);
        snprintf(want, sizeof want, "%s:%s", tpath("bad"), cases[i].want);
        jwtx_users *u = (jwtx_users *)&i; /* must stay untouched */
        jwtx_error e;
        jwtx_error_clear(&e);
        CU_ASSERT_EQUAL(jwtx_users_open(tpath("bad"), NULL, NULL, NULL, &u, &e), -1);
        CU_ASSERT(u == (jwtx_users *)&i);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_CONFIG);
        JWTX_ASSERT_STR(e.text, want);
    }

    /* user name over 255 bytes, line over 4096 bytes, NUL byte */
    char big[5000];
    memset(big, 'n', 256);
    snprintf(big + 256, sizeof big - 256, ":%s\n", bc);
    write_str(tpath("bad"), big);
    jwtx_users *u = NULL;
    jwtx_error e;
    CU_ASSERT_EQUAL(jwtx_users_open(tpath("bad"), NULL, NULL, NULL, &u, &e), -1);
    char want[512];
    snprintf(want, sizeof want, "%s:1: user name longer than 255 bytes", tpath("bad"));
    JWTX_ASSERT_STR(e.text, want);

    snprintf(big, sizeof big, "a:%s\n", bc);
    memset(big + strlen(big), 'x', 4097);
    big[strlen(bc) + 3 + 4097] = '\0';
    strcat(big, ":\n");
    write_str(tpath("bad"), big);
    CU_ASSERT_EQUAL(jwtx_users_open(tpath("bad"), NULL, NULL, NULL, &u, &e), -1);
    snprintf(want, sizeof want, "%s:2: line longer than 4096 bytes", tpath("bad"));
    JWTX_ASSERT_STR(e.text, want);

    char nul[100];
    int n = snprintf(nul, sizeof nul, "a:%s\nb:x", bc);
    nul[n - 1] = '\0';
    write_bytes(tpath("bad"), nul, (size_t)n);
    CU_ASSERT_EQUAL(jwtx_users_open(tpath("bad"), NULL, NULL, NULL, &u, &e), -1);
    snprintf(want, sizeof want, "%s:2: NUL byte in line", tpath("bad"));
    JWTX_ASSERT_STR(e.text, want);

    /* missing file, directory */
    CU_ASSERT_EQUAL(jwtx_users_open(tpath("missing"), NULL, NULL, NULL, &u, &e), -1);
    CU_ASSERT_EQUAL(e.code, JWTX_ERR_IO);
    snprintf(want, sizeof want, "%s: No such file or directory", tpath("missing"));
    JWTX_ASSERT_STR(e.text, want);
    CU_ASSERT_EQUAL(jwtx_users_open(tmpdir, NULL, NULL, NULL, &u, &e), -1);
    CU_ASSERT_EQUAL(e.code, JWTX_ERR_IO);
    CU_ASSERT_EQUAL(jwtx_users_open(NULL, NULL, NULL, NULL, &u, &e), -1);
    CU_ASSERT(u == NULL);
}

/* Hash costs above the limits are refused at load like an unusable hash
 * (file and line, the whole file refused: fail closed, and no user can be
 * told apart by timing); the limits themselves are accepted. The hashes are
 * well formed but made up: only their parameters matter here, and hashing
 * with them would take minutes. */
static void test_cost_limits(void)
{
    /* 53, 43 and 86 itoa64 characters: bcrypt salt+hash, sha256 and sha512 hashes */
    static const char b53[] = "9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    static const char h43[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    static const char cheap[] = "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    char h86[87];
    snprintf(h86, sizeof h86, "%s%s", h43, h43);
    static const struct {
        const char *prefix; /* then a hash body: B = b53, S = "$" h43, L = "$" h86 */
        char body;
        const char *want; /* NULL: accepted; else after "PATH:1: " */
    } rows[] = {
        {"$2y$14$", 'B', NULL},
        {"$2b$15$", 'B',
         "bcrypt cost 15 is above the limit of 14 (each login would cost over a second of CPU); "
         "set a new password with: jwtx passwd"},
        {"$2a$31$", 'B',
         "bcrypt cost 31 is above the limit of 14 (each login would cost over a second of CPU); "
         "set a new password with: jwtx passwd"},
        {"$5$rounds=1000000$saltsalt", 'S', NULL},
        {"$5$rounds=1000001$saltsalt", 'S',
         "$5$ sha256-crypt rounds=1000001 is above the limit of 1000000; set a new password "
         "with: jwtx passwd"},
        {"$6$rounds=999999999$saltsalt", 'L',
         "$6$ sha512-crypt rounds=999999999 is above the limit of 1000000; set a new password "
         "with: jwtx passwd"},
        {"$6$saltsalt", 'L', NULL},
        /* yescrypt as libxcrypt's crypt_gensalt makes it: j9T (cost 5, N=2^12, r=32,
         * 16 MiB), jBT (cost 7, N=2^14: 64 MiB), jCT (N=2^15), jFT (cost 11, N=2^18) */
        {"$y$j9T$EdBEeE86tn6Cfi6uYGrhL1", 'S', NULL},
        {"$y$jBT$CMLdcaX36b.S1G/VtdXjl0", 'S', NULL},
        {"$y$jCT$h0CqiH9WNXfSaxwPFrIyy/", 'S',
         "$y$ yescrypt parameters cost 128 MiB of memory per login, above the limit of 64 MiB; "
         "set a new password with: jwtx passwd"},
        {"$y$jFT$WVhjYV29Gn7t/.iDWo.xq0", 'S',
         "$y$ yescrypt parameters cost 1024 MiB of memory per login, above the limit of 64 "
         "MiB; set a new password with: jwtx passwd"},
        /* scrypt: CU.... is libxcrypt's default (N=2^14, r=32, p=1: 64 MiB), DU.... N=2^15 */
        {"$7$CU..../....7En0jWZWmNIs15q0/bZAJ1", 'S', NULL},
        {"$7$DU..../....RJtM0zO/94APkluoZh3Do1", 'S',
         "$7$ scrypt parameters cost 128 MiB of memory per login, above the limit of 64 MiB; "
         "set a new password with: jwtx passwd"},
        {"$7$CU....0....7En0jWZWmNIs15q0/bZAJ1", /* p=2 */ 'S',
         "$7$ scrypt parameters cost 128 MiB of memory per login, above the limit of 64 MiB; "
         "set a new password with: jwtx passwd"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[512];
        const char *body = rows[i].body == 'B' ? b53 : rows[i].body == 'S' ? h43 : h86;
        /* two cheap lines make the dummy hash (the most common cost) cheap:
         * the limits themselves would take a second per load */
        snprintf(text, sizeof text, "u:%s%s%s\nv:%s\nw:%s\n", rows[i].prefix,
                 rows[i].body == 'B' ? "" : "$", body, cheap, cheap);
        write_str(tpath("cost"), text);
        jwtx_users *u = NULL;
        jwtx_error e;
        jwtx_error_clear(&e);
        int rc = jwtx_users_open(tpath("cost"), NULL, NULL, NULL, &u, &e);
        if ((rc == 0) != (rows[i].want == NULL))
            fprintf(stderr, "\n  [%s] %s\n", rows[i].prefix, rc == 0 ? "accepted" : e.text);
        if (rows[i].want == NULL) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(jwtx_users_count(u), 3);
        } else {
            char want[600];
            CU_ASSERT_EQUAL(rc, -1);
            CU_ASSERT_EQUAL(e.code, JWTX_ERR_CONFIG);
            snprintf(want, sizeof want, "%s:1: %s", tpath("cost"), rows[i].want);
            JWTX_ASSERT_STR(e.text, want);
        }
        jwtx_users_free(u);
    }
}

/* Lines Apache accepts that are unusual but valid. */
static void test_valid_variants(void)
{
    static const char bc[] = "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    const char *pw =
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678X";
    char text[512];
    /* CRLF endings, a trailing ":comment" field, no final newline, blank lines with spaces */
    snprintf(text, sizeof text, "# header\r\n   \r\na:%s\r\nb:%s:extra field\n\t\nc:%s", bc, bc,
             bc);
    write_str(tpath("variants"), text);
    jwtx_users *u = open_ok(tpath("variants"), NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_count(u), 3);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "a", pw), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "b", pw), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "c", pw), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "c", "x"), -1);
    jwtx_users_free(u);
}

static void test_claims(void)
{
    jwtx_users *u = open_ok(FIX "mixed.htpasswd", FIX "claims.json", NULL);
    const json_t *c = jwtx_users_claims(u, "alice");
    CU_ASSERT_FATAL(c != NULL && json_is_object(c));
    JWTX_ASSERT_STR(json_string_value(json_object_get(c, "role")), "admin");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "level")), 3);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(c, "scopes")), 2);
    c = jwtx_users_claims(u, "bob");
    CU_ASSERT(c != NULL && json_object_size(c) == 1);
    c = jwtx_users_claims(u, "nobody");
    CU_ASSERT(c != NULL && json_object_size(c) == 0);
    CU_ASSERT(jwtx_users_claims(u, "carol") == NULL);
    CU_ASSERT(jwtx_users_claims(u, NULL) == NULL);
    jwtx_users_free(u);

    u = open_ok(FIX "mixed.htpasswd", NULL, NULL);
    CU_ASSERT(jwtx_users_claims(u, "alice") == NULL);
    jwtx_users_free(u);

    static const struct {
        const char *json, *want; /* want after "PATH" */
    } bad[] = {
        {"[1, 2]\n", ": expected a JSON object mapping each user to an object of claims"},
        {"\"x\"", ": expected a JSON object mapping each user to an object of claims"},
        {"{\"a\": {}, \"b\": 1}", ": the claims of user 'b' are not a JSON object"},
        {"{\"a\": []}", ": the claims of user 'a' are not a JSON object"},
        {"{\"a\": {},\n \"a\": {}}", ":2:4: duplicate object key near '\"a\"'"},
        {"{\"a\": {}\n", ":2:0: '}' expected near end of file"},
        {"", ":1:0: unexpected token near end of file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_str(tpath("claims.json"), bad[i].json);
        jwtx_users *v = NULL;
        jwtx_error e;
        char want[512];
        CU_ASSERT_EQUAL(
            jwtx_users_open(FIX "mixed.htpasswd", tpath("claims.json"), NULL, NULL, &v, &e), -1);
        CU_ASSERT(v == NULL);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_CONFIG);
        snprintf(want, sizeof want, "%s%s", tpath("claims.json"), bad[i].want);
        JWTX_ASSERT_STR(e.text, want);
    }
    jwtx_users *v = NULL;
    jwtx_error e;
    CU_ASSERT_EQUAL(
        jwtx_users_open(FIX "mixed.htpasswd", tpath("no-claims.json"), NULL, NULL, &v, &e), -1);
    CU_ASSERT_EQUAL(e.code, JWTX_ERR_IO);
}

static void test_reload(void)
{
    static const char bc[] = "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    const char *pw =
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678X";
    const char *f = tpath("reload"), *cf = tpath("reload.json");
    char text[512];
    copy_file(FIX "bcrypt4.htpasswd", f);
    write_str(cf, "{\"u1\": {\"n\": 1}}");
    logcap lc = {0};
    jwtx_users *u = open_ok(f, cf, &lc);
    CU_ASSERT_EQUAL(lc.n, 1); /* zed's $apr1$ */
    CU_ASSERT_EQUAL(jwtx_users_check(u, "u1", "pw-u1"), 0);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "new"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(jwtx_users_claims(u, "u1"), "n")), 1);

    /* rewritten in place (same inode), possibly within the same timestamp tick */
    snprintf(text, sizeof text, "u1:%s\nnew:%s\n", bc, bc);
    write_str(f, text);
    bump_mtime(f, 2);
    CU_ASSERT_TRUE(jwtx_users_exists(u, "new"));
    CU_ASSERT_EQUAL(jwtx_users_check(u, "u1", "pw-u1"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "u1", pw), 0);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "u2"));
    CU_ASSERT_EQUAL(jwtx_users_count(u), 2);
    CU_ASSERT_EQUAL(lc.n, 1); /* no weak hashes any more, nothing logged */

    /* replaced by rename (new inode), as jwtx passwd does */
    jwtx_error e;
    CU_ASSERT_EQUAL(jwtx_users_set_password(f, "third", "pw3", 4, &e), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "third", "pw3"), 0);
    CU_ASSERT_EQUAL(jwtx_users_count(u), 3);

    /* a broken file: logged once, and every login refused until it is fixed
     * (fail closed: the edit may have removed a user) */
    write_str(f, "u1:plaintext\n");
    bump_mtime(f, 4);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "third", "pw3"), -1);
    CU_ASSERT_EQUAL(lc.n, 2);
    char want[512];
    snprintf(want, sizeof want,
             "users: %s:1: not a recognised password hash (plaintext passwords are refused); set a "
             "new password with: jwtx passwd; refusing every login until the file is fixed",
             f);
    JWTX_ASSERT_STR(lc.last, want);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "u1", pw), -1);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "new"));
    CU_ASSERT_EQUAL(lc.n, 2);

    /* a removed file: logged once, still closed */
    CU_ASSERT_EQUAL(unlink(f), 0);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "new"));
    CU_ASSERT_FALSE(jwtx_users_exists(u, "third"));
    CU_ASSERT_EQUAL(lc.n, 3);
    snprintf(want, sizeof want,
             "users: %s: No such file or directory; refusing every login until the file is fixed",
             f);
    JWTX_ASSERT_STR(lc.last, want);

    /* fixed again: picked up */
    snprintf(text, sizeof text, "only:%s\n", bc);
    write_str(f, text);
    CU_ASSERT_FALSE(jwtx_users_exists(u, "new"));
    CU_ASSERT_TRUE(jwtx_users_exists(u, "only"));
    CU_ASSERT_EQUAL(lc.n, 3);

    /* claims: change, break (closed: no claims, no login), fix */
    write_str(cf, "{\"u1\": {\"n\": 2}, \"only\": {\"x\": true}}");
    bump_mtime(cf, 2);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(jwtx_users_claims(u, "u1"), "n")), 2);
    CU_ASSERT(json_is_true(json_object_get(jwtx_users_claims(u, "only"), "x")));
    write_str(cf, "{\"u1\": 5}");
    bump_mtime(cf, 4);
    CU_ASSERT_PTR_NULL(jwtx_users_claims(u, "u1"));
    CU_ASSERT_EQUAL(lc.n, 4);
    snprintf(want, sizeof want,
             "users: %s: the claims of user 'u1' are not a JSON object; refusing every login "
             "and token refresh until the file is fixed",
             cf);
    JWTX_ASSERT_STR(lc.last, want);
    CU_ASSERT_PTR_NULL(jwtx_users_claims(u, "only"));
    /* broken is told apart from "no claims": no token may be issued */
    const json_t *got = json_true();
    CU_ASSERT_EQUAL(jwtx_users_claims_for(u, "only", &got), -1);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(jwtx_users_claims_for(u, "nobody", &got), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "only", pw), -1); /* the right password, refused */
    CU_ASSERT_EQUAL(lc.n, 4);
    write_str(cf, "{}");
    bump_mtime(cf, 6);
    CU_ASSERT(jwtx_users_claims(u, "only") == NULL);
    CU_ASSERT_EQUAL(jwtx_users_claims_for(u, "only", &got), 0); /* fixed: no claims, no error */
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "only", pw), 0); /* fixed: open again */
    jwtx_users_free(u);
}

static void test_set_password(void)
{
    const char *f = tpath("setpw");
    copy_file(FIX "mixed.htpasswd", f);
    CU_ASSERT_EQUAL(chmod(f, 0640), 0);
    char *before = jwtx_cu_slurp(f, NULL);
    CU_ASSERT_FATAL(before != NULL);
    jwtx_error e;
    bool updated = false;

    /* replace alice: every other byte stays */
    CU_ASSERT_EQUAL(jwtx_users_put(f, "alice", "new alice pw", 4, &updated, &e), 0);
    CU_ASSERT_TRUE(updated);
    char *after = jwtx_cu_slurp(f, NULL);
    CU_ASSERT_FATAL(after != NULL);
    const char *a0 = strstr(before, "\nalice:"), *a1 = strstr(after, "\nalice:");
    CU_ASSERT_FATAL(a0 != NULL && a1 != NULL);
    CU_ASSERT_EQUAL(a0 - before, a1 - after);                           /* same bytes before */
    CU_ASSERT(strncmp(a1 + 7, "$2y$04$", 7) == 0);                      /* as htpasswd -B writes */
    CU_ASSERT_STRING_EQUAL(strchr(a0 + 1, '\n'), strchr(a1 + 1, '\n')); /* and after */
    CU_ASSERT_EQUAL(strlen(before), strlen(after) + (60 - 60));
    struct stat st;
    CU_ASSERT(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640);
    free(after);

    jwtx_users *u = open_ok(f, NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "alice", "new alice pw"), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "alice", "alice-secret"), -1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "bob", "bob pass with spaces"), 0);

    /* add a user: appended, everything before unchanged */
    char *mid = jwtx_cu_slurp(f, NULL);
    updated = true;
    CU_ASSERT_EQUAL(jwtx_users_put(f, "zoë", "zoë's pw", 4, &updated, &e), 0);
    CU_ASSERT_FALSE(updated);
    after = jwtx_cu_slurp(f, NULL);
    CU_ASSERT(strncmp(after, mid, strlen(mid)) == 0);
    CU_ASSERT(strncmp(after + strlen(mid), "zoë:$2y$04$", strlen("zoë:$2y$04$")) == 0);
    CU_ASSERT_EQUAL(strlen(after), strlen(mid) + strlen("zoë:") + 60 + 1);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "zoë", "zoë's pw"), 0); /* reloaded */
    jwtx_users_free(u);
    free(after);
    free(mid);

    /* the real htpasswd agrees */
    CU_ASSERT_EQUAL(htpasswd_verify(f, "alice", "new alice pw"), 0);
    CU_ASSERT_NOT_EQUAL(htpasswd_verify(f, "alice", "alice-secret"), 0);
    CU_ASSERT_EQUAL(htpasswd_verify(f, "zoë", "zoë's pw"), 0);
    CU_ASSERT_EQUAL(htpasswd_verify(f, "dave", "dävé-ünï"), 0);

    /* new file: mode 0600 */
    const char *nf = tpath("newfile");
    unlink(nf);
    CU_ASSERT_EQUAL(jwtx_users_put(nf, "first", "pw", 5, &updated, &e), 0);
    CU_ASSERT_FALSE(updated);
    CU_ASSERT(stat(nf, &st) == 0 && (st.st_mode & 07777) == 0600);
    after = jwtx_cu_slurp(nf, NULL);
    CU_ASSERT(after && strncmp(after, "first:$2y$05$", 13) == 0 && strlen(after) == 6 + 60 + 1);
    free(after);
    CU_ASSERT_EQUAL(htpasswd_verify(nf, "first", "pw"), 0);

    /* CRLF file without a final newline, a duplicate user line dropped */
    static const char bc[] = "$2y$04$9Z4GH1n5OBwyfR0pHh.nxOYMVcN5tTwfHKxUB3zMhGdYSTSkT9Xk2";
    char text[512];
    snprintf(text, sizeof text, "#c\r\nx:%s\r\ny:%s\r\nx:%s", bc, bc, bc);
    write_str(nf, text);
    CU_ASSERT_EQUAL(jwtx_users_put(nf, "x", "xx", 4, &updated, &e), 0);
    CU_ASSERT_TRUE(updated);
    after = jwtx_cu_slurp(nf, NULL);
    CU_ASSERT_FATAL(after != NULL);
    CU_ASSERT(strncmp(after, "#c\r\nx:$2y$04$", 13) == 0);
    CU_ASSERT_EQUAL(strlen(after), 4 + 62 + 2 + 62 + 2);
    CU_ASSERT(strstr(after, "\r\ny:") != NULL && after[strlen(after) - 1] == '\n');
    free(after);
    CU_ASSERT_EQUAL(jwtx_users_put(nf, "w", "ww", 4, &updated, &e), 0);
    after = jwtx_cu_slurp(nf, NULL);
    CU_ASSERT(after && strlen(after) == 4 + 64 + 64 + 64 && strstr(after, "\r\nw:$2y$04$"));
    free(after);
    u = open_ok(nf, NULL, NULL);
    CU_ASSERT_EQUAL(jwtx_users_count(u), 3);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "x", "xx"), 0);
    CU_ASSERT_EQUAL(jwtx_users_check(u, "w", "ww"), 0);
    jwtx_users_free(u);

    /* a file without final newline gets one before the new line */
    snprintf(text, sizeof text, "x:%s", bc);
    write_str(nf, text);
    CU_ASSERT_EQUAL(jwtx_users_set_password(nf, "y", "yy", 4, &e), 0);
    after = jwtx_cu_slurp(nf, NULL);
    CU_ASSERT(after && strncmp(after, text, strlen(text)) == 0 && after[strlen(text)] == '\n' &&
              strncmp(after + strlen(text) + 1, "y:$2y$04$", 9) == 0);
    free(after);

    /* through a symbolic link: the target is replaced, the link stays */
    const char *ln = tpath("link");
    unlink(ln);
    CU_ASSERT_EQUAL(symlink(nf, ln), 0);
    CU_ASSERT_EQUAL(jwtx_users_set_password(ln, "viaLink", "l", 4, &e), 0);
    CU_ASSERT(lstat(ln, &st) == 0 && S_ISLNK(st.st_mode));
    CU_ASSERT_EQUAL(htpasswd_verify(nf, "viaLink", "l"), 0);

    /* refusals; the file is untouched */
    char *same = jwtx_cu_slurp(nf, NULL);
    char longname[300], longpw[1100];
    memset(longname, 'n', 256);
    longname[256] = '\0';
    memset(longpw, 'p', JWTX_USERS_PASSWORD_MAX + 1);
    longpw[JWTX_USERS_PASSWORD_MAX + 1] = '\0';
    static const struct {
        const char *user, *pw;
        int cost;
        const char *want;
    } bad[] = {
        {"a:b", "pw", 4, "passwd: ':' in user name"},
        {"a\nb", "pw", 4, "passwd: control character in user name"},
        {"a\rb", "pw", 4, "passwd: control character in user name"},
        {"", "pw", 4, "passwd: empty user name"},
        {"#x", "pw", 4, "passwd: a user name may not start with '#' (a comment)"},
        {"\xff", "pw", 4, "passwd: user name is not valid UTF-8"},
        {"a", "", 4, "passwd: empty password"},
        {"a", "pw", 3, "passwd: bcrypt cost must be 4 to 14"},
        {"a", "pw", 15, "passwd: bcrypt cost must be 4 to 14"},
        {NULL, "pw", 4, "passwd: user name longer than 255 bytes"},
        {"a", NULL, 4, "passwd: password longer than 511 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *user = bad[i].user ? bad[i].user : longname;
        const char *p = bad[i].pw ? bad[i].pw : longpw;
        jwtx_error_clear(&e);
        CU_ASSERT_EQUAL(jwtx_users_set_password(nf, user, p, bad[i].cost, &e), -1);
        CU_ASSERT_EQUAL(e.code, JWTX_ERR_CONFIG);
        JWTX_ASSERT_STR(e.text, bad[i].want);
    }
    after = jwtx_cu_slurp(nf, NULL);
    CU_ASSERT(same && after && strcmp(same, after) == 0);
    free(same);
    free(after);

    /* an unwritable directory */
    CU_ASSERT_EQUAL(jwtx_users_set_password("/nonexistent-dir/x", "a", "b", 4, &e), -1);
    CU_ASSERT_EQUAL(e.code, JWTX_ERR_IO);
    free(before);
}

static const jwtx_cu_test tests[] = {
    {"hash costs above the limits are refused at load", test_cost_limits},
    {"mixed schemes: right and wrong passwords", test_mixed_right_and_wrong},
    {"weak hashes logged once per load", test_weak_logged_once},
    {"bcrypt uses 72 bytes", test_bcrypt_72_bytes},
    {"$apr1$ from real htpasswd -m", test_apr1_real_htpasswd},
    {"md5crypt byte for byte against libxcrypt $1$", test_md5crypt_vs_libxcrypt},
    {"{SHA} from htpasswd -s", test_sha},
    {"hashes made by htpasswd at run time", test_htpasswd_at_run_time},
    {"unknown user: dummy hash, same time", test_unknown_user_dummy},
    {"caps on names and passwords", test_caps},
    {"malformed files: file:line errors", test_malformed},
    {"valid unusual lines", test_valid_variants},
    {"claims file", test_claims},
    {"reload on change, keep last good copy", test_reload},
    {"set_password keeps other lines", test_set_password},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("users", tests, suite_init, suite_clean)
