/*
 * cmd_config.c — `jwtx config check FILE`: load a conf file exactly as the
 * gateway programs do and print the effective configuration.
 *
 * On success the effective options (defaults filled in, relative paths
 * resolved, secrets and private keys masked) go to stdout as pretty JSON and
 * "jwtx: FILE: OK" to stderr, exit 0. On error the first problem goes to
 * stderr as "jwtx: FILE:LINE: OPTION: message", exit 1. Warnings (ignored
 * names, removed options, a short HMAC secret, a secret others can read)
 * go to stderr in both cases. The users and claims files are read as the
 * programs read them at start-up: a line they would refuse (a hash that is
 * unusable or above the cost limits) is an error with its file and line,
 * weak hashes are warnings. A JWTX_BLOCKLIST URL the programs would refuse
 * is an error too (the store itself is not asked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void users_log(const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "jwtx: warning: %s\n", msg);
}

static int config_usage(void)
{
    fprintf(stderr, "usage: jwtx config check FILE\n");
    return 2;
}

int cmd_config(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        config_usage();
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "check") != 0)
        return config_usage();
    const char *path = argv[2];
    jwtx_config cfg;
    if (tool_load_config(path, &cfg) != 0)
        return 1;
    if (cfg.blocklist != NULL && cfg.blocklist[0] != '\0') {
        /* The store URL as the programs read it at start-up (nothing is
         * connected or opened): one they refuse is an error here too. The
         * message never holds the password. */
        jwtx_blocklist *bl = NULL;
        jwtx_error err;
        jwtx_error_clear(&err);
        if (jwtx_blocklist_open(&cfg, &bl, &err) != 0) {
            fprintf(stderr, "jwtx: %s: %s\n", path, jwtx_error_message(&err));
            jwtx_config_clear(&cfg);
            return 1;
        }
        jwtx_blocklist_free(bl);
    }
    if (cfg.users_file != NULL) {
        jwtx_users *u = NULL;
        jwtx_error err;
        jwtx_error_clear(&err);
        if (jwtx_users_open(cfg.users_file, cfg.user_claims_file, users_log, NULL, &u, &err) != 0) {
            fprintf(stderr, "jwtx: %s\n", jwtx_error_message(&err));
            jwtx_config_clear(&cfg);
            return 1;
        }
        jwtx_users_free(u);
    }
    json_t *j = jwtx_config_to_json(&cfg);
    char *out = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    jwtx_config_clear(&cfg);
    if (out == NULL) {
        fprintf(stderr, "jwtx: %s: out of memory\n", path);
        return 1;
    }
    int rc = 0;
    if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "jwtx: cannot write the output\n");
        rc = 1;
    }
    free(out);
    if (rc == 0)
        fprintf(stderr, "jwtx: %s: OK\n", path);
    return rc;
}
