/*
 * cmd_config.c — `jwtx config check FILE`: load a conf file exactly as the
 * gateway programs do and print the effective configuration.
 *
 * On success the effective options (defaults filled in, relative paths
 * resolved, secrets and private keys masked) go to stdout as pretty JSON and
 * "jwtx: FILE: OK" to stderr, exit 0. On error the first problem goes to
 * stderr as "jwtx: FILE:LINE: OPTION: message", exit 1. Warnings (ignored
 * names, removed options) go to stderr in both cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

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
