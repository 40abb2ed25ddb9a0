/*
 * tool_store.c — what the store commands (revoke, blocklist, login-bans,
 * sessions, passwd --conf) share: printing store text escaped, loading the
 * conf file and opening the revocation store it names, and the message and
 * exit status for a store that does not answer, the store key of a user
 * named on the command line, and ending a user's sessions with a cut-off.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void tool_put_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

int tool_store_unavailable(const jwtx_blocklist *bl)
{
    fprintf(stderr, "jwtx: the revocation store (%s) is unavailable: %s\n", jwtx_blocklist_kind(bl),
            jwtx_blocklist_last_error(bl));
    return 3;
}

char *tool_user_key(const char *prog, const char *name)
{
    const char *p = name + strspn(name, " \t\r\n");
    if (*p == '{' || *p == '[') {
        json_t *v = jwtx_json_parse(name, strlen(name), NULL, 0);
        if (v != NULL && (json_is_object(v) || json_is_array(v))) {
            char *key = jwtx_identity_text(v);
            json_decref(v);
            return key;
        }
        json_decref(v);
        fprintf(stderr, "%s: --user is not a JSON object or array: taken as a name\n", prog);
    }
    return strdup(name);
}

long long tool_end_user_sessions(jwtx_blocklist *bl, const char *prog, const char *user,
                                 long long now)
{
    long long n = 0;
    if (jwtx_blocklist_family_end_user(bl, user, now, &n) != 0) {
        fprintf(stderr,
                "%s: note: the sessions of %s were not ended (%s); every token of it is "
                "refused all the same\n",
                prog, user, jwtx_blocklist_last_error(bl));
        return 0;
    }
    return n;
}
