/*
 * tool_store.c — what `jwtx revoke` and `jwtx blocklist` share: loading the
 * conf file and opening the revocation store it names, and the message and
 * exit status for a store that does not answer.
 */
#include <stdio.h>

#include "tool.h"

int tool_open_store(const char *conf, jwtx_config *cfg, jwtx_blocklist **bl)
{
    if (tool_load_config(conf, cfg) != 0)
        return 1;
    jwtx_blocklist *b = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_blocklist_open(cfg, &b, &err) != 0)
        fprintf(stderr, "jwtx: %s: %s\n", conf, jwtx_error_message(&err));
    else if (b == NULL)
        fprintf(stderr, "jwtx: %s sets no revocation store (JWTX_BLOCKLIST)\n", conf);
    else {
        *bl = b;
        return 0;
    }
    jwtx_blocklist_free(b);
    jwtx_config_clear(cfg);
    return 1;
}

int tool_store_unavailable(const jwtx_blocklist *bl)
{
    fprintf(stderr, "jwtx: the revocation store (%s) is unavailable: %s\n", jwtx_blocklist_kind(bl),
            jwtx_blocklist_last_error(bl));
    return 3;
}
