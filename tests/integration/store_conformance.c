/*
 * store_conformance.c — the session families (refresh-token rotation) of a
 * revocation store, through the public API only (jwtx/blocklist.h), so that
 * the same scenarios run against every back end: SQLite and Redis must
 * answer alike.
 *
 *   store_conformance [--prefix P] [--tag T] URL     the scenarios
 *   (--timeout MS: the store's timeout, default 2000; --between CMD: runs
 *   the shell command CMD before each scenario, e.g. a SCRIPT FLUSH of the
 *   Redis server, and adds a scenario of the other scripts: revocations,
 *   login failures and bans)
 *   store_conformance [--prefix P] --down URL        a store that cannot
 *       answer: every family operation -1, every check UNAVAILABLE
 *   store_conformance [--prefix P] --probe FAM JTI USER URL   prints what
 *       a check, a rotation, a list, an end of the user, an end and a get answer
 *       (for a suite that damaged the store on purpose)
 *
 * Times are explicit `now` values from one base (the wall clock at start,
 * so that a store counting down lives, Redis, gets sane TTLs); ids carry a
 * tag (default: pid and time) so that runs never meet. Lines "until KIND
 * KEY UNTIL NOW" tell the suite which store lives to compare with the
 * server's TTLs (UNTIL - NOW when the operation at NOW ran). Prints one line per assertion and ends
 * with "N passed, N failed".
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jwtx/blocklist.h"

#define LEEWAY 5
#define GRACE 10
#define CHILDREN 8

static int passed, failed;
static const char *url, *prefix, *tag;
static long long T;                 /* the base time of every scenario */
static long long timeout_ms = 2000; /* --timeout */
static const char *between;         /* --between: a shell command run before each scenario */

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", cond ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (cond)
        passed++;
    else
        failed++;
}

/* "<tag>-<name>": an id of this run, valid until the end (freed there). */
static char *ids[1024];
static int nids;

static const char *id(const char *name)
{
    size_t len = strlen(tag) + strlen(name) + 2;
    char *b = nids < 1024 ? malloc(len) : NULL;
    if (b == NULL) {
        fprintf(stderr, "out of ids\n");
        exit(2);
    }
    snprintf(b, len, "%s-%s", tag, name);
    ids[nids++] = b;
    return b;
}

/* Tells the suite a life given to the store: KIND KEY until, set by an
 * operation at `now` (a store that counts down gives it until - now). */
static void told(const char *kind, const char *key, long long until, long long now)
{
    printf("until %s %s %lld %lld\n", kind, key, until, now);
}

static jwtx_blocklist *open_store(long long ms)
{
    jwtx_blocklist *bl = NULL;
    jwtx_error err;
    memset(&err, 0, sizeof err);
    if (jwtx_blocklist_open_url(url, prefix, ms, LEEWAY, &bl, &err) != 0 || bl == NULL) {
        fprintf(stderr, "cannot open the store: %s\n", err.text);
        exit(2);
    }
    return bl;
}

static const char *check_name(int rc)
{
    return rc == JWTX_BL_CLEAR ? "CLEAR" : rc == JWTX_BL_REVOKED ? "REVOKED" : "UNAVAILABLE";
}

static const char *rot_name(int rc)
{
    return rc == JWTX_BL_ROTATED  ? "ROTATED"
           : rc == JWTX_BL_REUSED ? "REUSED"
           : rc == JWTX_BL_ENDED  ? "ENDED"
                                  : "-1";
}

static void expect_check(jwtx_blocklist *bl, const char *what, const char *jti, const char *user,
                         long long iat, const char *fam, long long now, int want)
{
    int rc = jwtx_blocklist_check_family(bl, jti, user, iat, fam, now);
    ok(rc == want, "%s: check is %s (got %s%s%s)", what, check_name(want), check_name(rc),
       rc == JWTX_BL_UNAVAILABLE ? ": " : "",
       rc == JWTX_BL_UNAVAILABLE ? jwtx_blocklist_last_error(bl) : "");
}

/* One rotation; expects result want about family want_fam. */
static void expect_rotate(jwtx_blocklist *bl, const char *what, const jwtx_rotation *r, int want,
                          const char *want_fam)
{
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    int rc = jwtx_blocklist_family_rotate(bl, r, out, sizeof out);
    ok(rc == want && strcmp(out, want_fam) == 0, "%s: rotate is %s of %s (got %s of \"%s\"%s%s)",
       what, rot_name(want), want_fam, rot_name(rc), out, rc < 0 ? ": " : "",
       rc < 0 ? jwtx_blocklist_last_error(bl) : "");
}

static jwtx_rotation rotation(const char *jti, long long exp, const char *fam, const char *user,
                              long long now)
{
    jwtx_rotation r;
    memset(&r, 0, sizeof r);
    r.jti = jti;
    r.has_exp = exp != 0;
    r.exp = exp;
    r.family = fam;
    r.user = user;
    r.now = now;
    r.grace = GRACE;
    return r;
}

static void start(jwtx_blocklist *bl, const char *fam, const char *user, long long now,
                  long long expires)
{
    int rc = jwtx_blocklist_family_start(bl, fam, user, now, expires != 0, expires);
    ok(rc == 0, "start %s of %s (got %d%s%s)", fam, user, rc, rc ? ": " : "",
       rc ? jwtx_blocklist_last_error(bl) : "");
}

/* ---- listing */

#define LIST_MAX 64

typedef struct listed {
    int n;
    struct {
        char family[JWTX_BLOCKLIST_FAMILY_MAX + 1];
        char user[200];
        long long started, last_refresh, expires, ended;
    } f[LIST_MAX];
    const char *only_tag; /* list of every user: keep this run's families only */
} listed;

static int collect(const jwtx_family_info *f, void *ctx)
{
    listed *l = ctx;
    if (l->only_tag != NULL && strncmp(f->family, l->only_tag, strlen(l->only_tag)) != 0)
        return 0;
    if (l->n >= LIST_MAX)
        return 1;
    snprintf(l->f[l->n].family, sizeof l->f[0].family, "%s", f->family);
    snprintf(l->f[l->n].user, sizeof l->f[0].user, "%s", f->user);
    l->f[l->n].started = f->started;
    l->f[l->n].last_refresh = f->last_refresh;
    l->f[l->n].expires = f->expires;
    l->f[l->n].ended = f->ended;
    l->n++;
    return 0;
}

static int list(jwtx_blocklist *bl, const char *user, long long now, listed *l)
{
    memset(l, 0, sizeof *l);
    if (user == NULL)
        l->only_tag = tag;
    int rc = jwtx_blocklist_family_list(bl, user, now, collect, l);
    ok(rc == 0, "list %s at T%+lld answers (got %d%s%s)", user ? user : "(every user)", now - T, rc,
       rc ? ": " : "", rc ? jwtx_blocklist_last_error(bl) : "");
    return rc;
}

/* The listed family fam, or -1 */
static int find(const listed *l, const char *fam)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->f[i].family, fam) == 0)
            return i;
    return -1;
}

/* fam is listed with these fields (started/last/expires; user). */
static void expect_listed(const listed *l, const char *what, const char *fam, const char *user,
                          long long started, long long last, long long expires)
{
    int i = find(l, fam);
    if (i < 0) {
        ok(false, "%s: %s listed (it is not; %d listed)", what, fam, l->n);
        return;
    }
    ok(strcmp(l->f[i].user, user) == 0 && l->f[i].started == started &&
           l->f[i].last_refresh == last && l->f[i].expires == expires && l->f[i].ended == 0,
       "%s: %s listed as user %s, started T%+lld, last %lld, expires %lld, ended 0 (got %s, "
       "T%+lld, %lld, %lld, %lld)",
       what, fam, user, started - T, last, expires, l->f[i].user, l->f[i].started - T,
       l->f[i].last_refresh, l->f[i].expires, l->f[i].ended);
}

static void expect_unlisted(const listed *l, const char *what, const char *fam)
{
    ok(find(l, fam) < 0, "%s: %s not listed", what, fam);
}

/* ---- scenarios */

/* start, check, rotate, the grace period, reuse, everything after. */
static void scenario_rotation(jwtx_blocklist *bl)
{
    const char *u = id("alice"), *f = id("f1"), *f2 = id("f1-other");
    long long exp = T + 1000;
    start(bl, f, u, T, exp);
    start(bl, f2, u, T, exp);
    ok(jwtx_blocklist_family_start(bl, f, u, T + 1, true, exp) == -1,
       "starting an existing family again fails (-1)");
    expect_check(bl, "live family", id("a1"), u, T, f, T, JWTX_BL_CLEAR);

    jwtx_rotation r = rotation(id("r1"), exp, f, u, T + 100);
    expect_rotate(bl, "first refresh", &r, JWTX_BL_ROTATED, f);
    expect_check(bl, "after a rotation the family is live", id("a2"), u, T + 100, f, T + 101,
                 JWTX_BL_CLEAR);
    listed l;
    if (list(bl, u, T + 101, &l) == 0)
        expect_listed(&l, "after a rotation", f, u, T, T + 100, exp);

    r.now = T + 105;
    expect_rotate(bl, "same token again within grace (5 s)", &r, JWTX_BL_ROTATED, f);
    r.now = T + 100 + GRACE;
    expect_rotate(bl, "same token again at exactly grace (10 s)", &r, JWTX_BL_ROTATED, f);
    if (list(bl, u, T + 111, &l) == 0)
        expect_listed(&l, "a refresh within grace moves last refresh", f, u, T, T + 100 + GRACE,
                      exp);

    /* A second refresh token of the family, rotated normally meanwhile. */
    jwtx_rotation r2 = rotation(id("r2"), exp, f, u, T + 108);
    expect_rotate(bl, "the next refresh token", &r2, JWTX_BL_ROTATED, f);

    r.now = T + 100 + GRACE + 1;
    expect_rotate(bl, "same token after grace (11 s): reuse", &r, JWTX_BL_REUSED, f);
    expect_check(bl, "after reuse: an access token of the family", id("a2"), u, T + 100, f, T + 112,
                 JWTX_BL_REVOKED);
    expect_check(bl, "after reuse: a token without jti of the family", NULL, u, T + 100, f, T + 112,
                 JWTX_BL_REVOKED);
    expect_check(bl, "after reuse: the family alone", NULL, NULL, 0, f, T + 112, JWTX_BL_REVOKED);
    r.now = T + 113;
    expect_rotate(bl, "after reuse: the reused token again", &r, JWTX_BL_ENDED, f);
    r2.now = T + 113;
    expect_rotate(bl, "after reuse: the next refresh token (rotated before)", &r2, JWTX_BL_ENDED,
                  f);
    jwtx_rotation r3 = rotation(id("r3"), exp, f, u, T + 114);
    expect_rotate(bl, "after reuse: the newest refresh token", &r3, JWTX_BL_ENDED, f);
    ok(jwtx_blocklist_family_end(bl, f, T + 115) == 0, "after reuse: ending it again is 0");
    if (list(bl, u, T + 115, &l) == 0) {
        expect_unlisted(&l, "after reuse", f);
        expect_listed(&l, "after reuse: the user's other session", f2, u, T, 0, exp);
    }
    expect_check(bl, "after reuse: the user's other session", id("a3"), u, T, f2, T + 115,
                 JWTX_BL_CLEAR);
    jwtx_rotation o = rotation(id("r-other"), exp, f2, u, T + 116);
    expect_rotate(bl, "after reuse: the user's other session rotates", &o, JWTX_BL_ROTATED, f2);
}

static void scenario_unknown(jwtx_blocklist *bl)
{
    const char *u = id("bob"), *f = id("unknown");
    expect_check(bl, "unknown family", id("b1"), u, T, f, T, JWTX_BL_REVOKED);
    expect_check(bl, "unknown family, no jti or user", NULL, NULL, 0, f, T, JWTX_BL_REVOKED);
    jwtx_rotation r = rotation(id("rb1"), T + 1000, f, u, T);
    expect_rotate(bl, "unknown family", &r, JWTX_BL_ENDED, f);
    ok(jwtx_blocklist_family_end(bl, f, T) == 0, "ending an unknown family is 0");
    expect_check(bl, "unknown family after a rotation try", NULL, NULL, 0, f, T, JWTX_BL_REVOKED);
}

/* A refresh token from before rotation: rotated into a new family. */
static void scenario_migration(jwtx_blocklist *bl)
{
    const char *u = id("carol"), *nf = id("f-new");
    long long exp = T + 500;
    jwtx_rotation r = rotation(id("old-refresh"), exp, NULL, u, T + 20);
    r.new_family = nf;
    expect_rotate(bl, "no family: a new one", &r, JWTX_BL_ROTATED, nf);
    expect_check(bl, "no family: the new family is live", id("c1"), u, T + 20, nf, T + 21,
                 JWTX_BL_CLEAR);
    listed l;
    if (list(bl, u, T + 21, &l) == 0)
        expect_listed(&l, "no family: the new family", nf, u, T + 20, T + 20, exp);
    r.now = T + 25;
    r.new_family = id("f-new-2");
    expect_rotate(bl, "no family: same token within grace, same family", &r, JWTX_BL_ROTATED, nf);
    expect_check(bl, "no family: no second family made", NULL, NULL, 0, id("f-new-2"), T + 25,
                 JWTX_BL_REVOKED);
    r.now = T + 20 + GRACE + 1;
    expect_rotate(bl, "no family: same token after grace", &r, JWTX_BL_REUSED, nf);
    expect_check(bl, "no family: reuse ends the new family", NULL, u, T + 20, nf, T + 32,
                 JWTX_BL_REVOKED);
    /* Never expiring. */
    jwtx_rotation rn = rotation(id("old-refresh-noexp"), 0, NULL, u, T + 40);
    rn.new_family = id("f-new-noexp");
    expect_rotate(bl, "no family, no exp", &rn, JWTX_BL_ROTATED, id("f-new-noexp"));
    if (list(bl, u, T + 41, &l) == 0)
        expect_listed(&l, "no family, no exp: never expires", id("f-new-noexp"), u, T + 40, T + 40,
                      0);
    told("fam", id("f-new-noexp"), 0, T + 40);
    told("rot", id("old-refresh-noexp"), 0, T + 40);
}

static void scenario_slide(jwtx_blocklist *bl)
{
    const char *u = id("dave"), *f = id("f-slide");
    start(bl, f, u, T, T + 100);
    jwtx_rotation r = rotation(id("rs1"), T + 100, f, u, T + 50);
    r.slide = true;
    r.has_new_expires = true;
    r.new_expires = T + 5000;
    expect_rotate(bl, "slide", &r, JWTX_BL_ROTATED, f);
    listed l;
    if (list(bl, u, T + 51, &l) == 0)
        expect_listed(&l, "slide moves the expiry", f, u, T, T + 50, T + 5000);
    /* The same token again within grace: the refresh token issued then
     * expires at its new_expires, so the family (and its keys) must live as
     * long; a smaller new_expires never shortens it. */
    r.now = T + 58;
    r.new_expires = T + 5100;
    expect_rotate(bl, "slide within grace", &r, JWTX_BL_ROTATED, f);
    if (list(bl, u, T + 58, &l) == 0)
        expect_listed(&l, "slide within grace moves the expiry too", f, u, T, T + 58, T + 5100);
    r.now = T + 59;
    r.new_expires = T + 4000;
    expect_rotate(bl, "slide within grace, earlier expiry", &r, JWTX_BL_ROTATED, f);
    if (list(bl, u, T + 59, &l) == 0)
        expect_listed(&l, "slide within grace keeps the later expiry", f, u, T, T + 59, T + 5100);
    /* Past the old expiry, the family still lives. */
    if (list(bl, u, T + 200, &l) == 0)
        expect_listed(&l, "slide: listed past the old expiry", f, u, T, T + 59, T + 5100);
    expect_check(bl, "slide: live past the old expiry", id("d1"), u, T + 50, f, T + 200,
                 JWTX_BL_CLEAR);
    jwtx_rotation r2 = rotation(id("rs2"), T + 5000, f, u, T + 60);
    r2.has_new_expires = true;
    r2.new_expires = T + 9000; /* ignored without slide */
    expect_rotate(bl, "no slide", &r2, JWTX_BL_ROTATED, f);
    if (list(bl, u, T + 61, &l) == 0)
        expect_listed(&l, "no slide keeps the expiry", f, u, T, T + 60, T + 5100);
    told("fam", f, T + 5100 + LEEWAY, T + 58);
    told("rot", id("rs1"), T + 100 + LEEWAY, T + 50);

    const char *f2 = id("f-slide-never");
    start(bl, f2, u, T, T + 100);
    jwtx_rotation r3 = rotation(id("rs3"), T + 100, f2, u, T + 70);
    r3.slide = true; /* has_new_expires false: never */
    expect_rotate(bl, "slide to never", &r3, JWTX_BL_ROTATED, f2);
    if (list(bl, u, T + 71, &l) == 0)
        expect_listed(&l, "slide to never", f2, u, T, T + 70, 0);
    told("fam", f2, 0, T + 70);
    told("ufam", u, 0, T + 70);
}

/* One family by id: live or ended, until its store life is over. */
static void expect_get(jwtx_blocklist *bl, const char *what, const char *fam, long long now,
                       int want, const char *user, long long started, long long last,
                       long long expires, long long ended)
{
    jwtx_family_info f;
    char ubuf[JWTX_BLOCKLIST_KEY_MAX + 1];
    int rc = jwtx_blocklist_family_get(bl, fam, now, &f, ubuf, sizeof ubuf);
    if (want != 1) {
        ok(rc == want && ubuf[0] == '\0' && f.user == NULL && f.started == 0,
           "%s: get is %d (got %d%s%s)", what, want, rc, rc < 0 ? ": " : "",
           rc < 0 ? jwtx_blocklist_last_error(bl) : "");
        return;
    }
    ok(rc == 1 && f.family == fam && f.user == ubuf && strcmp(ubuf, user) == 0 &&
           f.started == started && f.last_refresh == last && f.expires == expires &&
           f.ended == ended,
       "%s: get is 1: user %s, started T%+lld, last %lld, expires %lld, ended %lld (got %d: %s, "
       "T%+lld, %lld, %lld, %lld%s%s)",
       what, user, started - T, last, expires, ended, rc, ubuf, f.started - T, f.last_refresh,
       f.expires, f.ended, rc < 0 ? ": " : "", rc < 0 ? jwtx_blocklist_last_error(bl) : "");
}

static void scenario_get(jwtx_blocklist *bl)
{
    const char *u = id("gina"), *f = id("f-get"), *fn = id("f-get-never");
    start(bl, f, u, T, T + 100);
    expect_get(bl, "get a new family", f, T, 1, u, T, 0, T + 100, 0);
    jwtx_rotation r = rotation(id("rg1"), T + 100, f, u, T + 10);
    expect_rotate(bl, "get: a refresh", &r, JWTX_BL_ROTATED, f);
    expect_get(bl, "get after a refresh", f, T + 11, 1, u, T, T + 10, T + 100, 0);
    expect_get(bl, "get past its expiry, within the leeway", f, T + 100 + LEEWAY - 1, 1, u, T,
               T + 10, T + 100, 0);
    expect_get(bl, "get once its store life is over", f, T + 100 + LEEWAY, 0, NULL, 0, 0, 0, 0);
    ok(jwtx_blocklist_family_end(bl, f, T + 20) == 1, "get: end the family");
    expect_get(bl, "get an ended family", f, T + 21, 1, u, T, T + 10, T + 100, T + 20);
    expect_get(bl, "get an unknown family", id("f-get-unknown"), T, 0, NULL, 0, 0, 0, 0);
    start(bl, fn, u, T + 1, 0);
    expect_get(bl, "get a family that never expires", fn, T + 1000000000, 1, u, T + 1, 0, 0, 0);
    char longfam[JWTX_BLOCKLIST_FAMILY_MAX + 2];
    memset(longfam, 'f', sizeof longfam - 1);
    longfam[sizeof longfam - 1] = '\0';
    expect_get(bl, "get a family id too long", longfam, T, -1, NULL, 0, 0, 0, 0);
    jwtx_family_info info;
    char small[16];
    ok(jwtx_blocklist_family_get(bl, fn, T, &info, small, sizeof small) == -1 && small[0] == '\0',
       "get with a user buffer below JWTX_BLOCKLIST_KEY_MAX + 1: -1");
}

static void scenario_end(jwtx_blocklist *bl)
{
    const char *u = id("erin"), *f = id("f-end");
    start(bl, f, u, T, T + 1000);
    ok(jwtx_blocklist_family_end(bl, f, T + 5) == 1, "end a live family: 1");
    ok(jwtx_blocklist_family_end(bl, f, T + 6) == 0, "end it again: 0");
    expect_check(bl, "ended family", id("e1"), u, T, f, T + 6, JWTX_BL_REVOKED);
    jwtx_rotation r = rotation(id("re1"), T + 1000, f, u, T + 7);
    expect_rotate(bl, "ended family", &r, JWTX_BL_ENDED, f);
    listed l;
    if (list(bl, u, T + 7, &l) == 0)
        ok(l.n == 0, "ended family: the user has no session listed (%d)", l.n);
}

/* The ids end_user_each tells, space-separated. */
typedef struct told_ids {
    int n;
    char s[1024];
} told_ids;

static void on_ended(const char *family, void *ctx)
{
    told_ids *t = ctx;
    size_t used = strlen(t->s);
    snprintf(t->s + used, sizeof t->s - used, "%s ", family);
    t->n++;
}

static void scenario_end_user(jwtx_blocklist *bl)
{
    const char *u = id("frank"), *v = id("grace");
    start(bl, id("f-u1"), u, T, T + 1000);
    start(bl, id("f-u2"), u, T + 1, 0);
    start(bl, id("f-u3"), u, T + 2, T + 1000);
    ok(jwtx_blocklist_family_end(bl, id("f-u3"), T + 3) == 1, "end_user: one ended before");
    start(bl, id("f-v1"), v, T, T + 1000);
    long long n = -1;
    told_ids t = {0, ""};
    int rc = jwtx_blocklist_family_end_user_each(bl, u, T + 10, on_ended, &t, &n);
    ok(rc == 0 && n == 2, "end_user ends the 2 live sessions (got %d, %lld)", rc, n);
    /* Each family ended is told once, by id; not the one ended before. */
    ok(t.n == 2 && strstr(t.s, id("f-u1")) != NULL && strstr(t.s, id("f-u2")) != NULL &&
           strstr(t.s, "f-u3") == NULL,
       "end_user tells the ids of the 2 it ended (%d: %s)", t.n, t.s);
    expect_check(bl, "end_user: first session", NULL, u, T, id("f-u1"), T + 11, JWTX_BL_REVOKED);
    expect_check(bl, "end_user: second session", NULL, u, T, id("f-u2"), T + 11, JWTX_BL_REVOKED);
    expect_check(bl, "end_user: another user's session", NULL, v, T, id("f-v1"), T + 11,
                 JWTX_BL_CLEAR);
    n = -1;
    rc = jwtx_blocklist_family_end_user(bl, u, T + 12, &n);
    ok(rc == 0 && n == 0, "end_user again: 0 ended (got %d, %lld)", rc, n);
    rc = jwtx_blocklist_family_end_user(bl, id("nobody"), T + 12, NULL);
    ok(rc == 0, "end_user of a user without sessions: 0");
    ok(jwtx_blocklist_family_end(bl, id("f-u1"), T + 13) == 0, "end_user: end after it is 0");
    listed l;
    if (list(bl, u, T + 13, &l) == 0)
        ok(l.n == 0, "end_user: nothing listed (%d)", l.n);
    if (list(bl, v, T + 13, &l) == 0)
        expect_listed(&l, "end_user: another user's session", id("f-v1"), v, T, 0, T + 1000);
    /* A family whose life in the store is over (expires + leeway <= now)
     * is not live: not counted (Redis has let it go; SQLite still has the
     * row until a purge). One within the leeway still is (its refresh
     * tokens are still accepted): ended and counted. */
    const char *w = id("oscar");
    start(bl, id("f-w1"), w, T, T + 1000);
    start(bl, id("f-w2"), w, T - 100, T - 10); /* life over at T - 10 + LEEWAY */
    start(bl, id("f-w3"), w, T - 100, T - 2);  /* within the leeway at T */
    n = -1;
    rc = jwtx_blocklist_family_end_user(bl, w, T, &n);
    ok(rc == 0 && n == 2, "end_user counts the families not past their life: 2 (got %d, %lld)", rc,
       n);
    expect_check(bl, "end_user: the family within the leeway is ended", NULL, w, T, id("f-w3"), T,
                 JWTX_BL_REVOKED);
    told("fam", id("f-v1"), T + 1000 + LEEWAY, T);
    told("ufam", v, T + 1000 + LEEWAY, T + 13); /* a list trims the index and sets its life */
}

static void scenario_list(jwtx_blocklist *bl)
{
    const char *u = id("heidi");
    start(bl, id("f-l1"), u, T, T + 700);
    start(bl, id("f-l2"), u, T + 1, 0);
    start(bl, id("f-l3"), u, T + 2, T + 700);
    start(bl, id("f-l4"), u, T + 3, T + 50);
    start(bl, id("f-l5"), u, T - 100, T - 10); /* expired before it was started here */
    ok(jwtx_blocklist_family_end(bl, id("f-l3"), T + 4) == 1, "list: end one");
    listed l;
    if (list(bl, u, T + 10, &l) == 0) {
        ok(l.n == 3, "list: 3 live sessions (%d)", l.n);
        expect_listed(&l, "list", id("f-l1"), u, T, 0, T + 700);
        expect_listed(&l, "list", id("f-l2"), u, T + 1, 0, 0);
        expect_listed(&l, "list", id("f-l4"), u, T + 3, 0, T + 50);
        expect_unlisted(&l, "list: ended", id("f-l3"));
        expect_unlisted(&l, "list: expired", id("f-l5"));
    }
    if (list(bl, u, T + 60, &l) == 0) {
        ok(l.n == 2, "list later: 2 live sessions (%d)", l.n);
        expect_unlisted(&l, "list later: expired since", id("f-l4"));
    }
    if (list(bl, id("nobody"), T, &l) == 0)
        ok(l.n == 0, "list of a user without sessions is empty (%d)", l.n);
    if (list(bl, NULL, T + 10, &l) == 0) {
        expect_listed(&l, "list every user", id("f-l1"), u, T, 0, T + 700);
        expect_listed(&l, "list every user", id("f-l2"), u, T + 1, 0, 0);
        expect_unlisted(&l, "list every user: ended", id("f-l3"));
        expect_unlisted(&l, "list every user: ended by reuse", id("f1"));
        expect_listed(&l, "list every user: another user", id("f-v1"), id("grace"), T, 0, T + 1000);
    }
    ok(jwtx_blocklist_family_list(bl, u, T + 10, NULL, NULL) == -1,
       "list without a callback fails (-1)");
    told("fam", id("f-l1"), T + 700 + LEEWAY, T);
}

static int stop_at_first(const jwtx_family_info *f, void *ctx)
{
    (void)f;
    (*(int *)ctx)++;
    return 1;
}

static void scenario_list_stop(jwtx_blocklist *bl)
{
    int calls = 0;
    int rc = jwtx_blocklist_family_list(bl, id("heidi"), T + 10, stop_at_first, &calls);
    ok(rc == 1 && calls == 1, "list: a callback that stops: 1 after one call (got %d, %d)", rc,
       calls);
}

/* The check without a family is what it always was; with one, the jti and
 * the user cut-off still count. */
static void scenario_plain_check(jwtx_blocklist *bl)
{
    const char *u = id("ivan"), *f = id("f-plain");
    start(bl, f, u, T, T + 1000);
    ok(jwtx_blocklist_revoke(bl, id("p-revoked"), true, T + 1000, T) == 0, "revoke a jti");
    expect_check(bl, "no family: revoked jti", id("p-revoked"), u, T, NULL, T, JWTX_BL_REVOKED);
    expect_check(bl, "no family: other jti", id("p-other"), u, T, NULL, T, JWTX_BL_CLEAR);
    expect_check(bl, "empty family is no family", id("p-other"), u, T, "", T, JWTX_BL_CLEAR);
    ok(jwtx_blocklist_check(bl, id("p-revoked"), u, T, T) == JWTX_BL_REVOKED &&
           jwtx_blocklist_check(bl, id("p-other"), u, T, T) == JWTX_BL_CLEAR,
       "jwtx_blocklist_check answers as before");
    expect_check(bl, "live family, revoked jti", id("p-revoked"), u, T, f, T, JWTX_BL_REVOKED);
    expect_check(bl, "live family, other jti", id("p-other"), u, T, f, T, JWTX_BL_CLEAR);
    ok(jwtx_blocklist_revoke_user(bl, u, T + 5) == 0, "user cut-off");
    expect_check(bl, "live family, user cut-off after iat", id("p-other"), u, T + 5, f, T + 6,
                 JWTX_BL_REVOKED);
    expect_check(bl, "live family, user cut-off before iat", id("p-other"), u, T + 6, f, T + 6,
                 JWTX_BL_CLEAR);
    expect_check(bl, "no family, user cut-off after iat", id("p-other"), u, T + 5, NULL, T + 6,
                 JWTX_BL_REVOKED);
    char longfam[JWTX_BLOCKLIST_FAMILY_MAX + 2];
    memset(longfam, 'x', sizeof longfam - 1);
    longfam[sizeof longfam - 1] = '\0';
    expect_check(bl, "family longer than the maximum", id("p-other"), u, T + 6, longfam, T + 6,
                 JWTX_BL_UNAVAILABLE);
    /* Binary-unfriendly ids. */
    const char *odd = id("fam with spaces * ? [x] \\ %s:\xc3\xa9");
    start(bl, odd, id("user with \"quotes\" and \xe2\x82\xac"), T, T + 1000);
    expect_check(bl, "family id with spaces and glob characters", NULL, NULL, 0, odd, T,
                 JWTX_BL_CLEAR);
    ok(jwtx_blocklist_family_end(bl, odd, T + 1) == 1, "end it: 1");
    expect_check(bl, "family id with spaces and glob characters, ended", NULL, NULL, 0, odd, T,
                 JWTX_BL_REVOKED);
}

/* Children rotate at once, each on its own handle (opened after fork). */
static void race(const char *what, const char *jti, const char *fam, const char *user,
                 const char *want_fam)
{
    int gate[2];
    if (pipe(gate) != 0) {
        ok(false, "%s: pipe: %s", what, strerror(errno));
        return;
    }
    int outp[2];
    if (pipe(outp) != 0) {
        ok(false, "%s: pipe: %s", what, strerror(errno));
        return;
    }
    pid_t kids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(gate[1]);
            close(outp[0]);
            jwtx_blocklist *bl = open_store(5000);
            char nf[64];
            snprintf(nf, sizeof nf, "%s-racer-%d", tag, i);
            jwtx_rotation r = rotation(jti, T + 1000, fam, user, T + 300 + (i % 3));
            r.new_family = nf;
            char c;
            (void)!read(gate[0], &c, 1); /* returns at EOF, when the parent lets all go */
            char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
            int rc = jwtx_blocklist_family_rotate(bl, &r, out, sizeof out);
            char line[300];
            int n = snprintf(line, sizeof line, "%d %s\n", rc, rc < 0 ? "-" : out);
            if (rc < 0)
                fprintf(stderr, "racer %d: %s\n", i, jwtx_blocklist_last_error(bl));
            (void)!write(outp[1], line, (size_t)n);
            jwtx_blocklist_free(bl);
            _exit(0);
        }
    }
    close(gate[0]);
    close(outp[1]);
    usleep(200000); /* let them connect and wait at the gate (not needed for correctness) */
    close(gate[1]);
    FILE *in = fdopen(outp[0], "r");
    int rotated = 0, same = 0, lines = 0;
    char first[JWTX_BLOCKLIST_FAMILY_MAX + 1] = "";
    char buf[400];
    while (in != NULL && fgets(buf, sizeof buf, in) != NULL) {
        lines++;
        buf[strcspn(buf, "\n")] = '\0';
        int rc = atoi(buf);
        const char *got = strchr(buf, ' ') ? strchr(buf, ' ') + 1 : "";
        if (rc == JWTX_BL_ROTATED)
            rotated++;
        if (lines == 1)
            snprintf(first, sizeof first, "%s", got);
        if (rc == JWTX_BL_ROTATED && strcmp(got, want_fam != NULL ? want_fam : first) == 0)
            same++;
    }
    if (in != NULL)
        fclose(in);
    for (int i = 0; i < CHILDREN; i++)
        waitpid(kids[i], NULL, 0);
    ok(lines == CHILDREN && rotated == CHILDREN, "%s: %d at once: all ROTATED (%d of %d answers)",
       what, CHILDREN, rotated, lines);
    ok(same == CHILDREN, "%s: all answers of the same family %s (%d of %d)", what,
       want_fam != NULL ? want_fam : first, same, lines);
}

static void scenario_concurrency(jwtx_blocklist *bl)
{
    const char *u = id("judy"), *f = id("f-race");
    start(bl, f, u, T, T + 1000);
    race("concurrent refreshes of one token", id("r-race"), f, u, f);
    expect_check(bl, "concurrent refreshes: the family is live", NULL, u, T, f, T + 303,
                 JWTX_BL_CLEAR);
    listed l;
    if (list(bl, u, T + 303, &l) == 0) {
        int i = find(&l, f);
        ok(i >= 0 && l.f[i].last_refresh >= T + 300 && l.f[i].last_refresh <= T + 302,
           "concurrent refreshes: last refresh set by one of them");
    }

    /* A token from before rotation, refreshed by 8 at once: one new family,
     * all 8 get it. */
    const char *v = id("ken");
    race("concurrent first refreshes without a family", id("r-race-nofam"), NULL, v, NULL);
    if (list(bl, v, T + 303, &l) == 0)
        ok(l.n == 1, "concurrent first refreshes: one family made (%d)", l.n);
}

/* Collects the family each racer got, to check they agree. */
static void scenario_concurrency_agree(jwtx_blocklist *bl)
{
    const char *v = id("ken");
    listed l;
    if (list(bl, v, T + 303, &l) != 0 || l.n != 1)
        return;
    const char *f = l.f[0].family;
    jwtx_rotation r = rotation(id("r-race-nofam"), T + 1000, NULL, v, T + 304);
    r.new_family = id("never-made");
    expect_rotate(bl, "concurrent first refreshes: the token belongs to that family", &r,
                  JWTX_BL_ROTATED, f);
}

/* The other scripts of a store (revocations, login attempts and bans), for
 * a run with --between (a Redis server made to forget its scripts). */
static void scenario_scripts(jwtx_blocklist *bl)
{
    const char *j = id("s-jti"), *u = id("s-user"), *k = id("s-key");
    ok(jwtx_blocklist_revoke(bl, j, true, T + 100, T) == 0, "scripts: revoke a jti");
    expect_check(bl, "scripts: the revoked jti", j, NULL, T, NULL, T + 1, JWTX_BL_REVOKED);
    ok(jwtx_blocklist_revoke_user(bl, u, T + 5) == 0, "scripts: revoke a user");
    expect_check(bl, "scripts: a token of the user from before", NULL, u, T + 5, NULL, T + 6,
                 JWTX_BL_REVOKED);
    long long n = -1;
    int rc = jwtx_blocklist_attempt_add(bl, k, T, 60, 10, &n);
    ok(rc == 0 && n == 1, "scripts: a login failure counted (got %d, %lld)", rc, n);
    if (between != NULL && system(between) != 0)
        ok(false, "scripts: %s", between);
    rc = jwtx_blocklist_attempt_add(bl, k, T + 1, 60, 10, &n);
    ok(rc == 0 && n == 2, "scripts: a second login failure counted (got %d, %lld)", rc, n);
    ok(jwtx_blocklist_ban_set(bl, k, T + 2, T + 100) == 0, "scripts: a ban set");
    long long until = 0;
    rc = jwtx_blocklist_ban_get(bl, k, T + 3, &until);
    ok(rc == 1 && until == T + 100, "scripts: the ban is in force (got %d, T%+lld)", rc, until - T);
}

/* Every family operation fails and no check is CLEAR. */
static void scenario_down(jwtx_blocklist *bl)
{
    const char *u = "down-user", *f = "down-fam";
    ok(jwtx_blocklist_family_start(bl, f, u, T, true, T + 100) == -1, "down: start is -1");
    jwtx_rotation r = rotation("down-jti", T + 100, f, u, T);
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    int rc = jwtx_blocklist_family_rotate(bl, &r, out, sizeof out);
    ok(rc == -1, "down: rotate is -1 (got %d)", rc);
    r.family = NULL;
    r.new_family = "down-new";
    rc = jwtx_blocklist_family_rotate(bl, &r, out, sizeof out);
    ok(rc == -1, "down: rotate without a family is -1 (got %d)", rc);
    ok(jwtx_blocklist_family_end(bl, f, T) == -1, "down: end is -1");
    ok(jwtx_blocklist_family_end_user(bl, u, T, NULL) == -1, "down: end_user is -1");
    listed l;
    memset(&l, 0, sizeof l);
    ok(jwtx_blocklist_family_list(bl, u, T, collect, &l) == -1, "down: list of a user is -1");
    ok(jwtx_blocklist_family_list(bl, NULL, T, collect, &l) == -1, "down: list of all is -1");
    jwtx_family_info info;
    char ubuf[JWTX_BLOCKLIST_KEY_MAX + 1];
    ok(jwtx_blocklist_family_get(bl, f, T, &info, ubuf, sizeof ubuf) == -1 && ubuf[0] == '\0',
       "down: get is -1");
    expect_check(bl, "down: with a family", "down-jti", u, T, f, T, JWTX_BL_UNAVAILABLE);
    expect_check(bl, "down: family only", NULL, NULL, 0, f, T, JWTX_BL_UNAVAILABLE);
    expect_check(bl, "down: without a family", "down-jti", u, T, NULL, T, JWTX_BL_UNAVAILABLE);
    const char *e = jwtx_blocklist_last_error(bl);
    ok(e != NULL && e[0] != '\0', "down: a cause is given (%s)", e ? e : "");
}

/* One of each operation on what the suite put in the store (damaged
 * keys): prints each result, asserts nothing. */
static void probe(jwtx_blocklist *bl, const char *fam, const char *jti, const char *user)
{
    printf("check %s\n", check_name(jwtx_blocklist_check_family(bl, jti, user, T, fam, T)));
    jwtx_rotation r = rotation(jti, T + 1000, fam, user, T);
    char out[JWTX_BLOCKLIST_FAMILY_MAX + 1];
    printf("rotate %d\n", jwtx_blocklist_family_rotate(bl, &r, out, sizeof out));
    listed l;
    memset(&l, 0, sizeof l);
    printf("list %d\n", jwtx_blocklist_family_list(bl, user, T, collect, &l));
    printf("end_user %d\n", jwtx_blocklist_family_end_user(bl, user, T, NULL));
    printf("end %d\n", jwtx_blocklist_family_end(bl, fam, T));
    jwtx_family_info info;
    char ubuf[JWTX_BLOCKLIST_KEY_MAX + 1];
    printf("get %d\n", jwtx_blocklist_family_get(bl, fam, T, &info, ubuf, sizeof ubuf));
}

int main(int argc, char **argv)
{
    bool down = false;
    char **probe_args = NULL;
    static char deftag[64];
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--down") == 0)
            down = true;
        else if (strcmp(argv[i], "--probe") == 0 && i + 3 < argc) {
            probe_args = argv + i + 1;
            i += 3;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc)
            prefix = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_ms = atoll(argv[++i]);
        else if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc)
            tag = argv[++i];
        else if (strcmp(argv[i], "--between") == 0 && i + 1 < argc)
            between = argv[++i];
        else
            break;
    }
    if (i + 1 != argc) {
        fprintf(
            stderr,
            "usage: %s [--prefix P] [--tag T] [--timeout MS] [--between CMD] [--down | --probe FAM "
            "JTI USER] URL\n",
            argv[0]);
        return 2;
    }
    url = argv[i];
    T = (long long)time(NULL);
    if (tag == NULL) {
        snprintf(deftag, sizeof deftag, "c%ld-%lld", (long)getpid(), T);
        tag = deftag;
    }
    jwtx_blocklist *bl = open_store(timeout_ms);
    printf("store %s, tag %s, T %lld\n", jwtx_blocklist_kind(bl), tag, T);
    if (probe_args != NULL) {
        probe(bl, probe_args[0], probe_args[1], probe_args[2]);
        jwtx_blocklist_free(bl);
        return 0;
    }
    if (down) {
        scenario_down(bl);
    } else {
        void (*const scenarios[])(jwtx_blocklist *) = {
            scenario_rotation,    scenario_unknown,     scenario_migration,
            scenario_slide,       scenario_get,         scenario_end,
            scenario_end_user,    scenario_list,        scenario_list_stop,
            scenario_plain_check, scenario_concurrency, scenario_concurrency_agree,
            scenario_scripts,
        };
        for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++) {
            if (scenarios[k] == scenario_scripts && between == NULL)
                continue;
            /* e.g. SCRIPT FLUSH: every script must still run (sent in full
             * again), never fail or answer wrong */
            if (between != NULL && system(between) != 0)
                ok(false, "before a scenario: %s", between);
            scenarios[k](bl);
        }
    }
    jwtx_blocklist_free(bl);
    for (int k = 0; k < nids; k++)
        free(ids[k]);
    printf("store-conformance (%s): %d passed, %d failed\n", down ? "down" : "scenarios", passed,
           failed);
    return failed == 0 ? 0 : 1;
}
