/*
 * cmd_blocklist.c — `jwtx blocklist --conf FILE init|count|list|purge`:
 * look after the revocation store named by JWTX_BLOCKLIST.
 *
 *   init    makes the store, as an installer does (programs never create it):
 *           SQLite: the file (mode 0600), WAL mode and the schema; an
 *           existing store is left as it is (exit 0), anything else at the
 *           path is refused (exit 1); a store made by an older jwtx is upgraded
 *           (login attempt and session tables added). Redis: nothing to make, checks it
 *           answers.
 *   count   number of live entries (revoked jtis not yet expired + user cut-offs)
 *   list    one line per entry, tab-separated:
 *             jti  <jti>   <until epoch | forever>
 *             user <name>  <cut-off epoch>
 *   purge   deletes expired jti entries (SQLite; Redis expires keys itself)
 *
 * Exit 0 done, 1 failure (no store configured), 2 usage, 3 the store is
 * unavailable.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static int usage(void)
{
    fprintf(stderr, "usage: jwtx blocklist --conf FILE init|count|list|purge\n");
    return 2;
}

static int print_entry(const char *kind, const char *key, long long until, void *ctx)
{
    (void)ctx;
    printf("%s\t", kind);
    tool_put_text(key);
    if (strcmp(kind, "jti") == 0 && until == 0)
        printf("\tforever\n");
    else
        printf("\t%lld\n", until);
    return 0;
}

int cmd_blocklist(int argc, char **argv)
{
    const char *conf = NULL, *action = NULL;
    const tool_opt opts[] = {{"--conf", &conf}};
    int status = tool_parse_args(argc, argv, opts, 1, &action, 1, usage);
    if (status != TOOL_ARGS_OK)
        return status;
    if (conf == NULL || action == NULL ||
        (strcmp(action, "init") != 0 && strcmp(action, "count") != 0 &&
         strcmp(action, "list") != 0 && strcmp(action, "purge") != 0))
        return usage();

    jwtx_config cfg;
    jwtx_blocklist *bl = NULL;
    if (tool_open_store(conf, &cfg, &bl) != 0)
        return 1;
    long long now = (long long)time(NULL), n = 0;
    int rc;
    if (strcmp(action, "init") == 0) {
        int made = JWTX_BL_INIT_EXISTS;
        if (jwtx_blocklist_init(bl, &made) != 0) {
            fprintf(stderr, "jwtx: blocklist init: %s\n", jwtx_blocklist_last_error(bl));
            jwtx_blocklist_free(bl);
            jwtx_config_clear(&cfg);
            return 1;
        }
        const char *url = cfg.blocklist;
        if (made == JWTX_BL_INIT_CREATED)
            printf("created the revocation store %s (mode 0600)\n", url);
        else if (made == JWTX_BL_INIT_SCHEMA)
            printf("wrote the revocation store's schema into the empty database %s\n", url);
        else if (made == JWTX_BL_INIT_UPGRADED)
            printf("upgraded the revocation store %s to schema version 3: it now holds login "
                   "attempt counts, bans and sessions too\n",
                   url);
        else if (strcmp(jwtx_blocklist_kind(bl), "sqlite") == 0)
            printf("the revocation store %s exists already: left as it is\n", url);
        else
            printf("the revocation store (%s) answers: nothing to create\n",
                   jwtx_blocklist_kind(bl));
        rc = 0;
    } else if (strcmp(action, "count") == 0) {
        rc = jwtx_blocklist_count(bl, now, &n);
        if (rc == 0)
            printf("%lld\n", n);
    } else if (strcmp(action, "list") == 0) {
        rc = jwtx_blocklist_list(bl, now, print_entry, NULL);
    } else {
        rc = jwtx_blocklist_purge(bl, now, &n);
        if (rc == 0)
            printf("removed %lld expired entr%s\n", n, n == 1 ? "y" : "ies");
    }
    if (rc < 0)
        status = tool_store_unavailable(bl);
    else
        status = fflush(stdout) == 0 ? 0 : 1;
    jwtx_blocklist_free(bl);
    jwtx_config_clear(&cfg);
    return status;
}
