/*
 * cmd_revoke.c — `jwtx revoke`: put a token, a jti or a whole user on the
 * revocation list named by JWTX_BLOCKLIST in the conf file.
 *
 *   jwtx revoke --conf FILE TOKEN             (TOKEN "-" reads it from stdin)
 *   jwtx revoke --conf FILE --jti JTI --until EPOCH     (0 = forever)
 *   jwtx revoke --conf FILE --user NAME [--at EPOCH]    (default: now)
 *
 * NAME is the identity as the gateway keys it (jwtx_identity_text): a string
 * identity as it is; an object or array identity as JSON in any spelling,
 * rewritten here into the canonical form (keys sorted, compact).
 * A token is verified with the conf's keys (an expired one is accepted: it
 * may still be in use within the leeway) and its jti revoked until its exp.
 * Exit 0 done, 1 failure (bad token, no store configured), 2 usage, 3 the
 * store is unavailable.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

#define TOKEN_MAX 65536

static int usage(void)
{
    fprintf(stderr, "usage: jwtx revoke --conf FILE TOKEN\n"
                    "       jwtx revoke --conf FILE --jti JTI --until EPOCH   (0 = forever)\n"
                    "       jwtx revoke --conf FILE --user NAME [--at EPOCH]  (default: now)\n");
    return 2;
}

static int parse_epoch(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* Verifies the token and finds its jti and exp. 0, or an exit status. */
static int token_jti(const jwtx_config *cfg, const char *arg, char **jti, bool *has_exp,
                     long long *exp)
{
    char *owned = NULL;
    const char *text = arg;
    if (strcmp(arg, "-") == 0) {
        size_t len;
        owned = tool_read_file("-", TOKEN_MAX, &len);
        if (owned == NULL)
            return 1;
        owned[strcspn(owned, "\r\n")] = '\0';
        text = owned;
    }
    jwtx_decode_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.allow_expired = true;
    jwtx_token tok;
    memset(&tok, 0, sizeof tok);
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = 1;
    if (strlen(text) > TOKEN_MAX) {
        fprintf(stderr, "jwtx: the token is longer than %d bytes\n", TOKEN_MAX);
    } else if (jwtx_token_decode(cfg, text, strlen(text), &opts, &tok, &err) != 0) {
        fprintf(stderr, "jwtx: not a valid token for this conf: %s\n", jwtx_error_message(&err));
    } else if (jwtx_token_jti(&tok) == NULL || jwtx_token_jti(&tok)[0] == '\0') {
        fprintf(stderr, "jwtx: the token has no jti claim; revoke its user with --user\n");
    } else if ((*jti = strdup(jwtx_token_jti(&tok))) == NULL) {
        fprintf(stderr, "jwtx: out of memory\n");
    } else {
        *has_exp = jwtx_token_exp(&tok, exp);
        rc = 0;
    }
    jwtx_token_clear(&tok);
    free(owned);
    return rc;
}

int cmd_revoke(int argc, char **argv)
{
    const char *conf = NULL, *jti_arg = NULL, *until_arg = NULL, *user = NULL, *at_arg = NULL;
    const char *token = NULL;
    const tool_opt opts[] = {
        {"--conf", &conf}, {"--jti", &jti_arg}, {"--until", &until_arg},
        {"--user", &user}, {"--at", &at_arg},
    };
    int status = tool_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], &token, 1, usage);
    if (status != TOOL_ARGS_OK)
        return status;
    int modes = (token != NULL) + (jti_arg != NULL) + (user != NULL);
    if (conf == NULL || modes != 1 || (jti_arg && until_arg == NULL) ||
        (until_arg && jti_arg == NULL) || (at_arg && user == NULL))
        return usage();
    long long until = 0, at = 0;
    if (until_arg && parse_epoch(until_arg, &until) != 0) {
        fprintf(stderr, "jwtx revoke: --until needs epoch seconds (0 = forever)\n");
        return 2;
    }
    if (at_arg && parse_epoch(at_arg, &at) != 0) {
        fprintf(stderr, "jwtx revoke: --at needs epoch seconds\n");
        return 2;
    }

    jwtx_config cfg;
    jwtx_blocklist *bl = NULL;
    if (tool_open_store(conf, &cfg, &bl) != 0)
        return 1;
    char *jti = NULL, *key = NULL;
    long long now = (long long)time(NULL);
    if (user != NULL) {
        if (at_arg == NULL)
            at = now;
        if ((key = tool_user_key("jwtx revoke", user)) == NULL) {
            fprintf(stderr, "jwtx: out of memory\n");
            status = 1;
            goto out;
        }
        if (jwtx_blocklist_revoke_user(bl, key, at) != 0) {
            status = key[0] ? tool_store_unavailable(bl) : 2;
            goto out;
        }
        printf("revoked every token of %s issued at or before %lld\n", key, at);
        /* A cut-off of now ends the sessions as well; an earlier --at
         * leaves the sessions started since then alone. */
        if (at_arg == NULL) {
            long long n = tool_end_user_sessions(bl, "jwtx revoke", key, now);
            if (n > 0)
                printf("ended %lld session%s of %s\n", n, n == 1 ? "" : "s", key);
        }
        status = 0;
        goto out;
    }
    bool has_exp = until != 0;
    long long exp = until;
    if (token != NULL && (status = token_jti(&cfg, token, &jti, &has_exp, &exp)) != 0)
        goto out;
    const char *id = jti ? jti : jti_arg;
    if (jwtx_blocklist_revoke(bl, id, has_exp, exp, now) != 0) {
        status = id[0] ? tool_store_unavailable(bl) : 2;
        goto out;
    }
    if (has_exp && exp + cfg.decode_leeway <= now)
        printf("jti %s expired at %lld: nothing to store\n", id, exp);
    else if (has_exp)
        printf("revoked jti %s until %lld\n", id, exp + cfg.decode_leeway);
    else
        printf("revoked jti %s forever\n", id);
    status = 0;
out:
    free(jti);
    free(key);
    jwtx_blocklist_free(bl);
    jwtx_config_clear(&cfg);
    return status;
}
