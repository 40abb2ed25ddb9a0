/*
 * cmd_sessions.c — `jwtx sessions`: list and end the sessions (refresh-token
 * families, JWTX_REFRESH_ROTATION) kept in the store named by JWTX_BLOCKLIST.
 *
 *   jwtx sessions --conf FILE list USER [--json]
 *       the live sessions of USER, one line each, tab-separated:
 *         <family>  <started>  <last refresh | ->  <expires | never>
 *       times in UTC, ISO 8601 (2026-12-03T10:21:54Z); with --json one JSON
 *       array of objects {family, user, started, last_refresh, expires},
 *       times in epoch seconds, null for never refreshed / never expires.
 *   jwtx sessions --conf FILE end FAMILY
 *       ends that session: every token carrying the family is revoked.
 *       A family that is not live (ended before, expired, unknown) is said
 *       so, exit 0: there is nothing left to end.
 *   jwtx sessions --conf FILE end --user USER
 *       ends every live session of USER and sets USER's cut-off to now (as
 *       `jwtx revoke --user`), so that tokens issued before rotation was
 *       turned on, which carry no family, die too.
 *
 * With JWTX_AUDIT_LOG set (not ""), `end` writes one audit line per session
 * ended: event=session_end user=... fam=... reason=admin (no addr: no
 * client). "server" has
 * no web server to write to here: its lines go to standard error, as the
 * library does outside a request. An audit destination that cannot be
 * opened stops `end` before anything is changed.
 *
 * Exit 0 done, 1 failure (no store configured, audit log not writable), 2
 * usage, 3 the store is unavailable.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtx/audit.h"
#include "tool.h"

static int usage(void)
{
    fprintf(stderr, "usage: jwtx sessions --conf FILE list USER [--json]\n"
                    "       jwtx sessions --conf FILE end FAMILY\n"
                    "       jwtx sessions --conf FILE end --user USER\n");
    return 2;
}

/* t as UTC ISO 8601, or `none` when t is 0. */
static void put_time(long long t, const char *none)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char b[40];
    if (t == 0)
        fputs(none, stdout);
    else if (gmtime_r(&tt, &tm) != NULL && strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
        fputs(b, stdout);
    else
        printf("%lld", t);
}

/* A JSON string of text from the store: as it is when it is UTF-8,
 * otherwise with every byte >= 0x80 (and backslash) written as \xNN, as
 * the text output does for control bytes. NULL only when out of memory. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    size_t n = strlen(s);
    char *e = malloc(4 * n + 1), *o = e;
    if (e == NULL)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80 || *p == '\\')
            o += sprintf(o, "\\x%02x", *p);
        else
            *o++ = (char)*p;
    }
    *o = '\0';
    j = json_string(e);
    free(e);
    return j;
}

typedef struct listing {
    bool json;
    json_t *arr; /* --json: the sessions, printed after the walk */
    long long n;
    int failed; /* out of memory */
} listing;

static int on_family(const jwtx_family_info *f, void *ctx)
{
    listing *l = ctx;
    l->n++;
    if (!l->json) {
        tool_put_text(f->family);
        putchar('\t');
        put_time(f->started, "-");
        putchar('\t');
        put_time(f->last_refresh, "-");
        putchar('\t');
        put_time(f->expires, "never");
        putchar('\n');
        return 0;
    }
    json_t *o = json_pack("{s:o, s:o, s:I, s:o, s:o}", "family", json_text(f->family), "user",
                          json_text(f->user), "started", (json_int_t)f->started, "last_refresh",
                          f->last_refresh ? json_integer(f->last_refresh) : json_null(), "expires",
                          f->expires ? json_integer(f->expires) : json_null());
    if (o == NULL || json_array_append_new(l->arr, o) != 0) {
        l->failed = 1;
        return 1;
    }
    return 0;
}

static int do_list(jwtx_blocklist *bl, const char *user, bool json)
{
    listing l = {.json = json};
    if (json && (l.arr = json_array()) == NULL) {
        fprintf(stderr, "jwtx: out of memory\n");
        return 1;
    }
    int rc = jwtx_blocklist_family_list(bl, user, (long long)time(NULL), on_family, &l);
    int status;
    if (l.failed) {
        fprintf(stderr, "jwtx: out of memory\n");
        status = 1;
    } else if (rc < 0) {
        status = tool_store_unavailable(bl);
    } else {
        if (json) {
            char *s = json_dumps(l.arr, JSON_COMPACT | JSON_ENSURE_ASCII);
            if (s == NULL) {
                fprintf(stderr, "jwtx: out of memory\n");
                json_decref(l.arr);
                return 1;
            }
            puts(s);
            free(s);
        } else if (l.n == 0) {
            fprintf(stderr, "jwtx: no live session of %s\n", user);
        }
        status = fflush(stdout) == 0 ? 0 : 1;
    }
    json_decref(l.arr);
    return status;
}

/* One session_end line; 0 or -1 (said on stderr). */
static int audit_end(jwtx_audit *a, const char *user, const char *family)
{
    if (a == NULL)
        return 0;
    jwtx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.event = "session_end";
    ev.user = user;
    ev.fam = family;
    ev.reason = "admin";
    if (jwtx_audit_log(a, &ev) != 0) {
        fprintf(stderr, "jwtx: the audit line (session_end) could not be written\n");
        return -1;
    }
    return 0;
}

static int end_family(jwtx_blocklist *bl, jwtx_audit *a, const char *family)
{
    long long now = (long long)time(NULL);
    /* Only the audit line needs the user: looked up by the family's id
     * (one lookup), only when there is a line to write. */
    char user[JWTX_BLOCKLIST_KEY_MAX + 1];
    jwtx_family_info info;
    const char *owner = NULL;
    if (a != NULL) {
        int got = jwtx_blocklist_family_get(bl, family, now, &info, user, sizeof user);
        if (got < 0)
            return tool_store_unavailable(bl);
        if (got == 1)
            owner = info.user;
    }
    int rc = jwtx_blocklist_family_end(bl, family, now);
    int status = 0;
    if (rc < 0) {
        status = tool_store_unavailable(bl);
    } else if (rc == 0) {
        printf("session ");
        tool_put_text(family);
        printf(" is not live (ended before, expired or unknown): nothing to end\n");
    } else {
        printf("ended session ");
        tool_put_text(family);
        if (owner != NULL) {
            printf(" of ");
            tool_put_text(owner);
        }
        printf(": its tokens are revoked\n");
        if (audit_end(a, owner, family) != 0)
            status = 1;
    }
    if (status == 0 && fflush(stdout) != 0)
        status = 1;
    return status;
}

/* end --user: a session_end line for each family, as the store ends it. */
typedef struct end_lines {
    jwtx_audit *a;
    const char *user;
    int failed;
} end_lines;

static void on_ended(const char *family, void *ctx)
{
    end_lines *l = ctx;
    if (audit_end(l->a, l->user, family) != 0)
        l->failed = 1;
}

static int end_user(jwtx_blocklist *bl, jwtx_audit *a, const char *user)
{
    long long now = (long long)time(NULL), ended = 0;
    end_lines lines = {a, user, 0};
    if (jwtx_blocklist_family_end_user_each(bl, user, now, a != NULL ? on_ended : NULL, &lines,
                                            &ended) != 0)
        return tool_store_unavailable(bl);
    int status = lines.failed ? 1 : 0;
    if (jwtx_blocklist_revoke_user(bl, user, now) != 0) {
        printf("ended %lld session%s of ", ended, ended == 1 ? "" : "s");
        tool_put_text(user);
        printf(", but its cut-off could not be set: run `jwtx revoke --user` for the tokens "
               "from before rotation\n");
        fflush(stdout);
        status = tool_store_unavailable(bl);
    } else {
        printf("ended %lld session%s of ", ended, ended == 1 ? "" : "s");
        tool_put_text(user);
        printf(" and revoked every token of ");
        tool_put_text(user);
        printf(" issued at or before %lld\n", now);
    }
    if (status == 0 && fflush(stdout) != 0)
        status = 1;
    return status;
}

int cmd_sessions(int argc, char **argv)
{
    /* --json is a flag (no value): taken out before the common parser,
     * which knows only "--name VALUE". */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "jwtx: out of memory\n");
        return 1;
    }
    bool json = false;
    int nargs = 0, json_seen = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--json") == 0 &&
            !(strcmp(argv[i - 1], "--conf") == 0 || strcmp(argv[i - 1], "--user") == 0)) {
            json = true;
            json_seen++;
            continue;
        }
        args[nargs++] = argv[i];
    }
    const char *conf = NULL, *user = NULL;
    const char *pos[2] = {NULL, NULL};
    const tool_opt opts[] = {{"--conf", &conf}, {"--user", &user}};
    int status = tool_parse_args(nargs, args, opts, 2, pos, 2, usage);
    free(args);
    if (status != TOOL_ARGS_OK)
        return status;
    const char *action = pos[0], *arg = pos[1];
    if (conf == NULL || action == NULL || json_seen > 1)
        return usage();
    bool list = strcmp(action, "list") == 0, end = strcmp(action, "end") == 0;
    if (list && (arg == NULL || user != NULL))
        return usage();
    if (end && (json || (arg == NULL) == (user == NULL)))
        return usage();
    if (!list && !end)
        return usage();
    /* Checked here as the store would, so that a bad argument is a usage
     * error (2) and not a store failure (3). */
    const char *name = list ? arg : (user != NULL ? user : arg);
    bool is_family = end && user == NULL;
    size_t max = is_family ? JWTX_BLOCKLIST_FAMILY_MAX : JWTX_BLOCKLIST_KEY_MAX;
    if (name[0] == '\0' || strlen(name) > max) {
        fprintf(stderr, "jwtx sessions: a %s is 1 to %zu bytes\n", is_family ? "family" : "user",
                max);
        return 2;
    }

    jwtx_config cfg;
    jwtx_blocklist *bl = NULL;
    if (tool_open_store(conf, &cfg, &bl) != 0)
        return 1;
    jwtx_audit *audit = NULL;
    if (end) {
        char why[256];
        if (jwtx_audit_open(cfg.audit_log, "jwtx", &audit, why, sizeof why) != 0) {
            fprintf(stderr, "jwtx: %s: %s; nothing was changed\n", conf, why);
            jwtx_blocklist_free(bl);
            jwtx_config_clear(&cfg);
            return 1;
        }
    }
    /* A user given as JSON (an object or array identity) is keyed by its
     * canonical text, as the gateway and `jwtx revoke --user` key it. */
    char *key = NULL;
    if ((list || user != NULL) && (key = tool_user_key("jwtx sessions", name)) == NULL) {
        fprintf(stderr, "jwtx: out of memory\n");
        status = 1;
    } else if (list)
        status = do_list(bl, key, json);
    else if (user != NULL)
        status = end_user(bl, audit, key);
    else
        status = end_family(bl, audit, arg);
    free(key);
    jwtx_audit_free(audit);
    jwtx_blocklist_free(bl);
    jwtx_config_clear(&cfg);
    return status;
}
