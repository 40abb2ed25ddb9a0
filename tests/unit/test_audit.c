/*
 * test_audit.c — the audit log (audit.h): the exact line format, escaping
 * that no client text gets through (every byte, quotes, newlines, forged
 * keys, UTF-8), read back by an independent logfmt parser, and each
 * destination: a file that is rotated away and removed, the server writer,
 * stderr, syslog (opened; the line checked by format only) and off.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwtx/audit.h"
#include "cu.h"

#define T0 1796293314LL /* 2026-12-03T10:21:54Z */

static void test_format_exact(void)
{
    char line[JWTX_AUDIT_LINE_MAX];
    jwtx_audit_event ev = {.time = T0,
                           .event = "login_failure",
                           .addr = "203.0.113.7",
                           .user = "bob",
                           .route = "/login",
                           .reason = "wrong_password"};
    size_t n = jwtx_audit_format(&ev, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=login_failure addr=203.0.113.7 "
                          "user=\"bob\" route=\"/login\" reason=wrong_password");
    CU_ASSERT_EQUAL(n, strlen(line));

    jwtx_audit_event ban = {.time = T0,
                            .event = "ban_start",
                            .addr = "2001:db8:1:2::/64",
                            .user = "alice",
                            .ban = "pair",
                            .until = T0 + 900};
    jwtx_audit_format(&ban, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=ban_start addr=2001:db8:1:2::/64 "
                          "user=\"alice\" ban=pair until=2026-12-03T10:36:54Z");

    jwtx_audit_event lo = {.time = T0, .event = "logout", .user = "", .jti = "abc-123"};
    jwtx_audit_format(&lo, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=logout user=\"\" jti=\"abc-123\"");

    /* the session family comes after jti, quoted like it */
    jwtx_audit_event ru = {.time = T0,
                           .event = "refresh_reuse",
                           .addr = "192.0.2.9",
                           .user = "bob",
                           .jti = "j-1",
                           .fam = "f-1",
                           .route = "/refresh"};
    jwtx_audit_format(&ru, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=refresh_reuse addr=192.0.2.9 "
                          "user=\"bob\" jti=\"j-1\" fam=\"f-1\" route=\"/refresh\"");
    jwtx_audit_event se = {
        .time = T0, .event = "session_end", .user = "bob", .fam = "a b\"", .reason = "reuse"};
    jwtx_audit_format(&se, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=session_end user=\"bob\" "
                          "fam=\"a\\x20b\\\"\" reason=reuse");

    /* a word of jwtx that is not a plain word is quoted like client text */
    jwtx_audit_event odd = {.time = T0, .event = "a b", .reason = "x\ny"};
    jwtx_audit_format(&odd, line, sizeof line);
    JWTX_ASSERT_STR(line, "time=2026-12-03T10:21:54Z event=\"a\\x20b\" reason=\"x\\ny\"");

    /* time 0 means now: the year is this one */
    jwtx_audit_event now = {.event = "x"};
    jwtx_audit_format(&now, line, sizeof line);
    CU_ASSERT_EQUAL(strncmp(line, "time=20", 7), 0);

    /* a small buffer: cut, terminated, no overflow */
    char small[16];
    memset(small, 'Z', sizeof small);
    jwtx_audit_format(&ev, small, 10);
    CU_ASSERT_EQUAL(strlen(small), 9);
    CU_ASSERT_EQUAL(small[10], 'Z');
}

static void test_quote_table(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } rows[] = {
        {"bob", 3, "\"bob\""},
        {"", 0, "\"\""},
        {"a\"b", 3, "\"a\\\"b\""},
        {"a\\b", 3, "\"a\\\\b\""},
        {"a\nb", 3, "\"a\\nb\""},
        {"a\rb", 3, "\"a\\rb\""},
        {"a\tb", 3, "\"a\\tb\""},
        {"a b", 3, "\"a\\x20b\""},
        {"\x01\x1b\x7f", 3, "\"\\x01\\x1b\\x7f\""},
        {"caf\xc3\xa9", 5, "\"caf\\xc3\\xa9\""},    /* UTF-8 é */
        {"\xe2\x80\xa8", 3, "\"\\xe2\\x80\\xa8\""}, /* U+2028 LINE SEPARATOR */
        {"\xc2\x85", 2, "\"\\xc2\\x85\""},          /* U+0085 NEXT LINE */
        {"\xff\xfe", 2, "\"\\xff\\xfe\""},          /* not UTF-8 at all */
        {"x\0y", 3, "\"x\\x00y\""},                 /* a NUL in counted text */
        {"k=v", 3, "\"k=v\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[64];
        bool cut = true;
        size_t n = jwtx_audit_quote(rows[i].in, rows[i].n, out, sizeof out, &cut);
        JWTX_ASSERT_STR(out, rows[i].want);
        CU_ASSERT_EQUAL(n, strlen(rows[i].want));
        CU_ASSERT_FALSE(cut);
    }
}

/* An independent reader of our logfmt: pairs separated by single spaces,
 * a value either bare or in quotes with \" \\ \n \r \t \xHH. Returns the
 * number of pairs, or -1 when the line is not well formed. */
typedef struct pair {
    char key[32];
    char val[1024];
    size_t len;
} pair;

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_logfmt(const char *line, pair *p, int max)
{
    int n = 0;
    const char *s = line;
    while (*s) {
        if (n == max)
            return -1;
        const char *eq = strchr(s, '=');
        if (eq == NULL || eq == s || (size_t)(eq - s) >= sizeof p[n].key)
            return -1;
        memcpy(p[n].key, s, (size_t)(eq - s));
        p[n].key[eq - s] = '\0';
        for (const char *k = s; k < eq; k++)
            if (*k == ' ' || *k == '"')
                return -1;
        s = eq + 1;
        size_t len = 0;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '\0' || *s == ' ')
                    return -1; /* no raw space inside a quoted value */
                if (*s == '"') {
                    s++;
                    break;
                }
                char c = *s++;
                if (c == '\\') {
                    char e = *s++;
                    if (e == '"' || e == '\\')
                        c = e;
                    else if (e == 'n')
                        c = '\n';
                    else if (e == 'r')
                        c = '\r';
                    else if (e == 't')
                        c = '\t';
                    else if (e == 'x' && hexv(s[0]) >= 0 && hexv(s[1]) >= 0) {
                        c = (char)(hexv(s[0]) * 16 + hexv(s[1]));
                        s += 2;
                    } else
                        return -1;
                }
                if (len + 1 >= sizeof p[n].val)
                    return -1;
                p[n].val[len++] = c;
            }
        } else {
            while (*s && *s != ' ') {
                if (*s == '"' || len + 1 >= sizeof p[n].val)
                    return -1;
                p[n].val[len++] = *s++;
            }
        }
        p[n].val[len] = '\0';
        p[n].len = len;
        n++;
        if (*s == ' ')
            s++;
        else if (*s != '\0')
            return -1;
    }
    return n;
}

/* The line of one failure whose user name is the attacker's text; checks it
 * reads back as exactly the fields we wrote, with the user intact. */
static bool round_trip(const char *user, size_t ulen)
{
    char u[JWTX_AUDIT_VALUE_MAX + 1];
    memcpy(u, user, ulen);
    u[ulen] = '\0';
    jwtx_audit_event ev = {.time = T0,
                           .event = "login_failure",
                           .addr = "192.0.2.1",
                           .user = u,
                           .route = u,
                           .reason = "unknown_user"};
    char line[JWTX_AUDIT_LINE_MAX];
    size_t n = jwtx_audit_format(&ev, line, sizeof line);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            return false; /* printable ASCII only: no newline, no UTF-8 */
    pair p[10];
    int np = parse_logfmt(line, p, 10);
    static const char *const keys[] = {"time", "event", "addr", "user", "route", "reason"};
    if (np != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (strcmp(p[i].key, keys[i]) != 0)
            return false;
    size_t want = strlen(u); /* the event carries C strings */
    return strcmp(p[1].val, "login_failure") == 0 && strcmp(p[2].val, "192.0.2.1") == 0 &&
           p[3].len == want && memcmp(p[3].val, u, want) == 0 && p[4].len == want &&
           strcmp(p[5].val, "unknown_user") == 0;
}

static void test_forgery(void)
{
    static const char *const attempts[] = {
        "bob\ntime=2026-12-03T10:21:54Z event=login_success addr=6.6.6.6 user=\"root\"",
        "bob\r\nevent=login_success",
        "bob\" addr=6.6.6.6 event=login_success x=\"",
        "bob\\\" addr=6.6.6.6",
        "\" event=login_failure addr=6.6.6.6 \"",
        "bob addr=6.6.6.6",
        "bob\taddr=6.6.6.6",
        "bob\xe2\x80\xa8"
        "addr=6.6.6.6", /* U+2028 */
        "bob\xc2\x85"
        "addr=6.6.6.6", /* U+0085 */
        "\x1b[31mred\x1b[0m",
        "user=\"x\"",
        "\\",
        "\"",
        "=",
        "\xf0\x9f\x94\x91 key",
    };
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        bool ok = round_trip(attempts[i], strlen(attempts[i]));
        if (!ok)
            fprintf(stderr, "\n  forgery attempt %zu got through\n", i);
        CU_ASSERT_TRUE(ok);
        /* and the first addr= of the line is ours */
        char line[JWTX_AUDIT_LINE_MAX];
        jwtx_audit_event ev = {
            .time = T0, .event = "login_failure", .addr = "192.0.2.1", .user = attempts[i]};
        jwtx_audit_format(&ev, line, sizeof line);
        const char *a = strstr(line, " addr=");
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_EQUAL(strncmp(a, " addr=192.0.2.1 ", 16), 0);
        CU_ASSERT_PTR_NULL(strstr(a + 1, " addr="));
        CU_ASSERT_PTR_NULL(strstr(line, " event=login_success"));
    }
}

/* Every byte 1..255 alone and between letters; every pair of bytes. */
static void test_every_byte(void)
{
    unsigned bad = 0;
    for (int b = 1; b < 256; b++) {
        char s[4] = {'a', (char)b, 'z', 0};
        bad += !round_trip(s + 1, 1);
        bad += !round_trip(s, 3);
    }
    for (int b = 1; b < 256; b++)
        for (int c = 1; c < 256; c++) {
            char s[3] = {(char)b, (char)c, 0};
            bad += !round_trip(s, 2);
        }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_cut(void)
{
    char big[JWTX_AUDIT_VALUE_MAX * 3];
    memset(big, '\n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char q[4 * JWTX_AUDIT_VALUE_MAX + 3];
    bool cut = false;
    size_t n = jwtx_audit_quote(big, strlen(big), q, sizeof q, &cut);
    CU_ASSERT_TRUE(cut);
    CU_ASSERT_EQUAL(n, 2 + 2 * JWTX_AUDIT_VALUE_MAX);
    /* the worst case fits the documented size */
    memset(big, 0x01, sizeof big - 1);
    n = jwtx_audit_quote(big, strlen(big), q, sizeof q, &cut);
    CU_ASSERT_EQUAL(n, 2 + 4 * JWTX_AUDIT_VALUE_MAX);
    CU_ASSERT_EQUAL(strlen(q), n);

    jwtx_audit_event ev = {.time = T0,
                           .event = "login_failure",
                           .user = big,
                           .jti = big,
                           .fam = big,
                           .route = big,
                           .addr = "192.0.2.1"};
    char line[JWTX_AUDIT_LINE_MAX];
    n = jwtx_audit_format(&ev, line, sizeof line);
    CU_ASSERT_TRUE(n < sizeof line - 1);
    CU_ASSERT_EQUAL(strcmp(line + n - 12, " truncated=1"), 0);
    pair p[10];
    CU_ASSERT_EQUAL(parse_logfmt(line, p, 10), 8);
}

/* ---- destinations -------------------------------------------------------- */

static char dir[64];

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/jwtx-audit-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int count_lines(const char *path, char *first, size_t fsize)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char b[JWTX_AUDIT_LINE_MAX + 2];
    int n = 0;
    while (fgets(b, sizeof b, f) != NULL) {
        if (n == 0 && first != NULL)
            snprintf(first, fsize, "%s", b);
        n++;
    }
    fclose(f);
    return n;
}

static void test_file_rotation(void)
{
    char path[128], rotated[140], first[JWTX_AUDIT_LINE_MAX + 2];
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(rotated, sizeof rotated, "%s/audit.log.1", dir);
    jwtx_audit *a = NULL;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(jwtx_audit_open(path, "test", &a, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_TRUE(jwtx_audit_enabled(a));
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640 & ~mask);

    jwtx_audit_event ev = {
        .time = T0, .event = "login_success", .addr = "192.0.2.1", .user = "bob"};
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(count_lines(path, first, sizeof first), 2);
    JWTX_ASSERT_STR(first, "time=2026-12-03T10:21:54Z event=login_success addr=192.0.2.1 "
                           "user=\"bob\"\n");

    /* logrotate's move: the next line starts a new file at the path */
    CU_ASSERT_EQUAL(rename(path, rotated), 0);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(count_lines(rotated, NULL, 0), 2);
    CU_ASSERT_EQUAL(count_lines(path, NULL, 0), 1);

    /* removed: recreated */
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(count_lines(path, NULL, 0), 1);

    /* replaced by another file: lines go to the new one */
    CU_ASSERT_EQUAL(unlink(path), 0);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("other\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(count_lines(path, first, sizeof first), 2);
    JWTX_ASSERT_STR(first, "other\n");

    /* the directory gone: -1 (noted once on stderr), then back: works */
    CU_ASSERT_EQUAL(unlink(path), 0);
    CU_ASSERT_EQUAL(unlink(rotated), 0);
    CU_ASSERT_EQUAL(rmdir(dir), 0);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), -1);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), -1);
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(count_lines(path, NULL, 0), 1);
    jwtx_audit_free(a);
}

static void test_file_cannot_open(void)
{
    jwtx_audit *a = (jwtx_audit *)&a;
    char err[256] = "";
    CU_ASSERT_EQUAL(jwtx_audit_open("/nonexistent-dir/x/audit.log", "test", &a, err, sizeof err),
                    -1);
    CU_ASSERT_PTR_NULL(a);
    JWTX_ASSERT_STR(err, "JWTX_AUDIT_LOG: cannot open /nonexistent-dir/x/audit.log: No such file "
                         "or directory");
}

typedef struct captured {
    char text[2 * JWTX_AUDIT_LINE_MAX];
    size_t len;
    int calls;
} captured;

static void capture(void *ctx, const char *line, size_t len)
{
    captured *c = ctx;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, line, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
    c->calls++;
}

static void test_server_writer_and_stderr(void)
{
    jwtx_audit *a = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(jwtx_audit_open("server", "test", &a, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    captured c;
    memset(&c, 0, sizeof c);
    jwtx_audit_set_server_writer(a, capture, &c);
    jwtx_audit_event ev = {
        .time = T0, .event = "refresh", .addr = "192.0.2.1", .user = "bob", .jti = "j1"};
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    CU_ASSERT_EQUAL(c.calls, 1);
    JWTX_ASSERT_STR(c.text, "time=2026-12-03T10:21:54Z event=refresh addr=192.0.2.1 user=\"bob\" "
                            "jti=\"j1\"\n");

    /* without a writer: stderr (CGI mode) */
    jwtx_audit_set_server_writer(a, NULL, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    int rc = jwtx_audit_log(a, &ev);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(c.calls, 1);
    char first[JWTX_AUDIT_LINE_MAX + 2] = "";
    CU_ASSERT_EQUAL(count_lines(path, first, sizeof first), 1);
    JWTX_ASSERT_STR(first, c.text);
    jwtx_audit_free(a);
}

static void test_syslog_and_off(void)
{
    jwtx_audit *a = NULL;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(jwtx_audit_open("syslog", "jwtx-unit-test", &a, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    jwtx_audit_event ev = {.time = T0,
                           .event = "login_failure",
                           .addr = "192.0.2.1",
                           .user = "unit\ntest",
                           .reason = "wrong_password"};
    /* No syslog daemon needs to run: syslog(3) drops the line then. The
     * line itself is the formatter's, checked above. */
    CU_ASSERT_EQUAL(jwtx_audit_log(a, &ev), 0);
    jwtx_audit_free(a);

    a = (jwtx_audit *)&a;
    CU_ASSERT_EQUAL(jwtx_audit_open("", "test", &a, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(a);
    a = (jwtx_audit *)&a;
    CU_ASSERT_EQUAL(jwtx_audit_open(NULL, "test", &a, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_FALSE(jwtx_audit_enabled(NULL));
    CU_ASSERT_EQUAL(jwtx_audit_log(NULL, &ev), 0);
    jwtx_audit_set_server_writer(NULL, capture, NULL);
    jwtx_audit_free(NULL);
}

static const jwtx_cu_test tests[] = {
    {"format: exact lines, field order, words, time", test_format_exact},
    {"quote: table of escapes", test_quote_table},
    {"forgery: newlines, quotes, keys, U+2028, ANSI", test_forgery},
    {"every byte and every pair of bytes reads back", test_every_byte},
    {"long values are cut and marked", test_cut},
    {"file: append, rotated away, removed, replaced, dir gone", test_file_rotation},
    {"file: cannot open is an error with the reason", test_file_cannot_open},
    {"server: the request's writer, else stderr", test_server_writer_and_stderr},
    {"syslog and off", test_syslog_and_off},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("audit", tests, setup, teardown)
