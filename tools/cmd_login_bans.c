/*
 * cmd_login_bans.c — `jwtx login-bans --conf FILE list|clear [--user U]
 * [--address A]`: see and lift the bans of login protection (regulate.h)
 * kept in the store named by JWTX_BLOCKLIST.
 *
 *   list    one line per ban in force, tab-separated:
 *             pair     <address>  <user>  <until epoch>
 *             address  <address>  -       <until epoch>
 *             user     -          <user>  <until epoch>
 *   clear   lifts the bans listed (and forgets the failures counted for
 *           them), and forgets the failures of the keys --user/--address
 *           name even when they are not banned yet.
 *
 * --user and --address choose: a ban is chosen when every one of the two
 * that it names matches (a user ban has no address, an address ban no user)
 * and it names at least one of those given. So `--user alice` is alice's
 * user ban and her pair bans from any address; `--user alice --address A`
 * is every ban that stops alice at A (the pair, A's address ban, alice's
 * user ban). An IPv6 address stands for its /64, as the counts do.
 *
 * The counts of JWTX_BLOCKLIST = "" live in each login.fcgi process: there
 * is nothing to list (exit 1 with the reason). Exit 0 done, 1 failure, 2
 * usage, 3 the store is unavailable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtx/client.h"
#include "jwtx/regulate.h"
#include "tool.h"

static int usage(void)
{
    fprintf(stderr, "usage: jwtx login-bans --conf FILE list|clear [--user U] [--address A]\n");
    return 2;
}

typedef struct filter {
    const char *user; /* NULL: any */
    char addr[JWTX_CLIENT_ADDR_MAX];
    bool has_addr;
} filter;

static bool chosen(const filter *f, const jwtx_regulate_key_parts *kp)
{
    bool names_user = kp->user != NULL, names_addr = kp->addr[0] != '\0';
    if (f->user != NULL && names_user && strcmp(f->user, kp->user) != 0)
        return false;
    if (f->has_addr && names_addr && strcmp(f->addr, kp->addr) != 0)
        return false;
    if (f->user == NULL && !f->has_addr)
        return true;
    return (f->user != NULL && names_user) || (f->has_addr && names_addr);
}

typedef struct walk {
    const filter *f;
    bool clear;
    char **keys; /* clear: the chosen keys, lifted after the walk */
    size_t n, cap;
    int failed;
} walk;

static int on_ban(const char *key, long long until, void *ctx)
{
    walk *w = ctx;
    jwtx_regulate_key_parts kp;
    if (jwtx_regulate_key_parse(key, &kp) != 0 || !chosen(w->f, &kp))
        return 0;
    if (w->clear) {
        if (w->n == w->cap) {
            size_t cap = w->cap ? 2 * w->cap : 16;
            char **k = realloc(w->keys, cap * sizeof *k);
            if (k == NULL) {
                w->failed = 1;
                return 1;
            }
            w->keys = k;
            w->cap = cap;
        }
        if ((w->keys[w->n] = strdup(key)) == NULL) {
            w->failed = 1;
            return 1;
        }
        w->n++;
        return 0;
    }
    printf("%s\t%s\t", jwtx_regulate_kind_name(kp.kind), kp.addr[0] ? kp.addr : "-");
    if (kp.user != NULL)
        tool_put_text(kp.user);
    else
        putchar('-');
    printf("\t%lld\n", until);
    return 0;
}

/* --address as the counts key it: an address (IPv6: its /64) or a /64 block. */
static int address_key(const char *s, char out[JWTX_CLIENT_ADDR_MAX])
{
    if (strcmp(s, JWTX_CLIENT_UNKNOWN) == 0) {
        snprintf(out, JWTX_CLIENT_ADDR_MAX, "%s", s);
        return 0;
    }
    jwtx_netblock b;
    char why[160];
    if (strchr(s, '/') != NULL) {
        if (jwtx_client_netblock_parse(s, &b, why, sizeof why) != 0 ||
            !(b.family == 6 && b.prefix == 64)) {
            fprintf(stderr, "jwtx login-bans: --address %s: an address or an IPv6 /64 block\n", s);
            return -1;
        }
    } else if (jwtx_client_ip_parse(s, strlen(s), &b) != 0) {
        fprintf(stderr, "jwtx login-bans: --address %s is not an IP address\n", s);
        return -1;
    }
    if (b.family == 6) {
        memset(b.addr + 8, 0, 8);
        b.prefix = 64;
    }
    jwtx_client_netblock_format(&b, out, JWTX_CLIENT_ADDR_MAX);
    return 0;
}

int cmd_login_bans(int argc, char **argv)
{
    const char *conf = NULL, *action = NULL, *user = NULL, *address = NULL;
    const tool_opt opts[] = {{"--conf", &conf}, {"--user", &user}, {"--address", &address}};
    int status = tool_parse_args(argc, argv, opts, 3, &action, 1, usage);
    if (status != TOOL_ARGS_OK)
        return status;
    if (conf == NULL || action == NULL ||
        (strcmp(action, "list") != 0 && strcmp(action, "clear") != 0) ||
        (user != NULL && user[0] == '\0'))
        return usage();
    filter f = {.user = user};
    if (address != NULL) {
        if (address_key(address, f.addr) != 0)
            return 2;
        f.has_addr = true;
    }

    jwtx_config cfg;
    if (tool_load_config(conf, &cfg) != 0)
        return 1;
    if (cfg.blocklist == NULL || cfg.blocklist[0] == '\0') {
        fprintf(stderr,
                "jwtx: %s sets no store (JWTX_BLOCKLIST): the counts and bans live in the "
                "memory of each login.fcgi process and end when it restarts\n",
                conf);
        jwtx_config_clear(&cfg);
        return 1;
    }
    jwtx_config_clear(&cfg);
    jwtx_blocklist *bl = NULL;
    if (tool_open_store(conf, &cfg, &bl) != 0)
        return 1;

    long long now = (long long)time(NULL);
    walk w = {.f = &f, .clear = strcmp(action, "clear") == 0};
    int rc = jwtx_blocklist_ban_list(bl, now, on_ban, &w);
    size_t lifted = 0;
    if (rc >= 0 && !w.failed && w.clear) {
        for (size_t i = 0; i < w.n && rc >= 0; i++) {
            if (jwtx_blocklist_ban_lift(bl, w.keys[i]) != 0)
                rc = -1;
            else
                lifted++;
        }
        /* The counts of the keys named, banned or not yet. */
        char key[JWTX_REGULATE_KEY_MAX];
        const char *addr = f.has_addr ? f.addr : NULL;
        for (int k = 0; k < JWTX_REG_NKINDS && rc >= 0; k++) {
            bool named = (k == JWTX_REG_PAIR && user && addr) || (k == JWTX_REG_ADDRESS && addr) ||
                         (k == JWTX_REG_USER && user);
            if (named &&
                jwtx_regulate_key((jwtx_regulate_kind)k, user, addr ? addr : "", key, sizeof key) ==
                    0 &&
                jwtx_blocklist_attempt_clear(bl, key) != 0)
                rc = -1;
        }
        if (rc >= 0)
            printf("lifted %zu ban%s\n", lifted, lifted == 1 ? "" : "s");
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.keys[i]);
    free(w.keys);
    if (w.failed) {
        fprintf(stderr, "jwtx: out of memory\n");
        status = 1;
    } else if (rc < 0) {
        status = tool_store_unavailable(bl);
    } else {
        status = fflush(stdout) == 0 ? 0 : 1;
    }
    jwtx_blocklist_free(bl);
    jwtx_config_clear(&cfg);
    return status;
}
