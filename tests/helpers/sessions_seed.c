/*
 * sessions_seed.c — a test helper for the suites of `jwtx sessions`: makes
 * and checks session families through the library, as login.fcgi and the
 * gateway would, in the store a conf file names. The suite compiles it
 * against lib/libjwtx.a.
 *
 *   sessions_seed CONF start FAMILY USER STARTED EXPIRES   (EXPIRES 0: never)
 *   sessions_seed CONF rotate FAMILY USER JTI EXP          (a refresh at now)
 *   sessions_seed CONF check FAMILY|- USER IAT             (a token of the family,
 *                                                           or "-": none, issued at IAT)
 *
 * start and rotate print "ok" (rotate: "rotated", "reused" or "ended");
 * check prints "clear", "revoked" or "unavailable". Exit 0 when the store
 * answered, 3 when it did not (the cause on stderr), 2 usage, 1 a bad conf.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtx/jwtx.h"

static int num(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static void warn_cb(const char *file, int line, const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "sessions_seed: warning: %s:%d: %s\n", file, line, msg);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sessions_seed CONF start|rotate|check ...\n");
        return 2;
    }
    jwtx_config cfg;
    jwtx_config_error ce;
    if (jwtx_config_load(argv[1], &cfg, &ce, warn_cb, NULL) != 0) {
        char buf[1024];
        fprintf(stderr, "sessions_seed: %s\n", jwtx_config_error_format(&ce, buf, sizeof buf));
        return 1;
    }
    jwtx_blocklist *bl = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_blocklist_open(&cfg, &bl, &err) != 0 || bl == NULL) {
        fprintf(stderr, "sessions_seed: no store: %s\n", jwtx_error_message(&err));
        jwtx_config_clear(&cfg);
        return 1;
    }
    long long now = (long long)time(NULL), a = 0, b = 0;
    int status = 2;
    const char *op = argv[2];
    if (strcmp(op, "start") == 0 && argc == 7 && num(argv[5], &a) == 0 && num(argv[6], &b) == 0) {
        if (jwtx_blocklist_family_start(bl, argv[3], argv[4], a, b != 0, b) == 0) {
            puts("ok");
            status = 0;
        } else {
            status = 3;
        }
    } else if (strcmp(op, "rotate") == 0 && argc == 7 && num(argv[6], &b) == 0) {
        jwtx_rotation r;
        memset(&r, 0, sizeof r);
        r.jti = argv[5];
        r.has_exp = b != 0;
        r.exp = b;
        r.family = argv[3];
        r.user = argv[4];
        r.now = now;
        r.grace = 10;
        char fam[JWTX_BLOCKLIST_FAMILY_MAX + 1];
        int rc = jwtx_blocklist_family_rotate(bl, &r, fam, sizeof fam);
        if (rc >= 0) {
            puts(rc == JWTX_BL_ROTATED ? "rotated" : rc == JWTX_BL_REUSED ? "reused" : "ended");
            status = 0;
        } else {
            status = 3;
        }
    } else if (strcmp(op, "check") == 0 && argc == 6 && num(argv[5], &a) == 0) {
        const char *fam = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
        int rc = jwtx_blocklist_check_family(bl, "seed-jti-never-revoked", argv[4], a, fam, now);
        puts(rc == JWTX_BL_CLEAR ? "clear" : rc == JWTX_BL_REVOKED ? "revoked" : "unavailable");
        status = rc == JWTX_BL_CLEAR || rc == JWTX_BL_REVOKED ? 0 : 3;
    } else {
        fprintf(stderr, "usage: sessions_seed CONF start|rotate|check ...\n");
    }
    if (status == 3)
        fprintf(stderr, "sessions_seed: %s: %s\n", op, jwtx_blocklist_last_error(bl));
    jwtx_blocklist_free(bl);
    jwtx_config_clear(&cfg);
    return status;
}
