/*
 * verify.c — jwt_required() as one function: locate, decode, then the
 * authorization steps of spec section 3 (13-17) in the reference's order.
 */
#include "jwtx/verify.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "jwtx/json.h"

void jwtx_verified_clear(jwtx_verified *v)
{
    if (v == NULL)
        return;
    jwtx_token_clear(&v->token);
    free(v->identity);
    memset(v, 0, sizeof *v);
}

const char *jwtx_verified_identity(const jwtx_verified *v)
{
    return v != NULL && v->identity != NULL ? v->identity : "";
}

/* The identity claim as text, computed once per request (new string). */
static char *identity_text(const jwtx_config *cfg, const jwtx_token *tok)
{
    const json_t *id = json_object_get(tok->claims, cfg->identity_claim);
    if (id == NULL)
        return strdup("");
    if (json_is_string(id))
        return strndup(json_string_value(id), json_string_length(id));
    jwtx_buf b;
    jwtx_buf_init(&b);
    if (jwtx_json_dump(id, 0, &b) != 0 || b.failed) {
        jwtx_buf_clear(&b);
        return NULL;
    }
    return jwtx_buf_take(&b, NULL);
}

int jwtx_verify_request(const jwtx_config *cfg, jwtx_blocklist *bl, jwtx_users *users,
                        const jwtx_request *req, const jwtx_route_opts *opts, jwtx_verified *out,
                        jwtx_error *err)
{
    jwtx_verified v;
    memset(&v, 0, sizeof v);

    /* Step 0: OPTIONS is not authenticated (CORS preflight) where the route
     * answers it itself; an authorizer turns this off (see gateway.c). */
    if (opts->options_exempt && req->method != NULL && strcmp(req->method, "OPTIONS") == 0) {
        v.anonymous = true;
        *out = v;
        return 0;
    }

    /* Steps 1-2: find the token. Only "nothing found" may become anonymous. */
    jwtx_located loc;
    memset(&loc, 0, sizeof loc);
    if (jwtx_locate_token(cfg, req, opts, &loc, err) != 0) {
        jwtx_located_clear(&loc);
        if (opts->optional && jwtx_err_family_of(err->code) == JWTX_FAMILY_NO_AUTH) {
            jwtx_error_clear(err);
            v.anonymous = true;
            *out = v;
            return 0;
        }
        return -1;
    }

    /* Steps 3-11: decode and verify, with the CSRF value when one was taken. */
    jwtx_decode_opts dopts;
    memset(&dopts, 0, sizeof dopts);
    dopts.check_csrf = loc.check_csrf;
    dopts.csrf = loc.csrf;
    dopts.csrf_len = loc.csrf_len;
    int rc = jwtx_token_decode(cfg, loc.token, loc.token_len, &dopts, &v.token, err);
    v.where = loc.where;
    jwtx_located_clear(&loc);
    if (rc != 0)
        return -1;
    if ((v.identity = identity_text(cfg, &v.token)) == NULL) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
        goto fail;
    }

    /* Step 13: token type. Custom types count as non-refresh. */
    if (opts->verify_type) {
        const char *type = jwtx_token_type(&v.token);
        bool is_refresh = type != NULL && strcmp(type, "refresh") == 0;
        if (opts->refresh && !is_refresh) {
            jwtx_error_set(err, JWTX_ERR_ONLY_REFRESH, NULL);
            goto fail;
        }
        if (!opts->refresh && is_refresh) {
            jwtx_error_set(err, JWTX_ERR_ONLY_NON_REFRESH, NULL);
            goto fail;
        }
    }

    /* Step 14: freshness (no leeway). */
    if (opts->fresh && !jwtx_token_is_fresh(&v.token, jwtx_now())) {
        jwtx_error_set(err, JWTX_ERR_FRESH_REQUIRED, NULL);
        goto fail;
    }

    /* Step 15: revocation. A store that cannot answer never lets a token through. */
    if (bl != NULL && !opts->skip_revocation_check) {
        long long iat = 0;
        if (!jwtx_token_iat(&v.token, &iat))
            iat = LLONG_MIN; /* no iat: any cut-off of the user revokes it */
        const char *identity = jwtx_verified_identity(&v);
        int st;
        if (cfg->refresh_rotation) {
            /* With rotation the session family is part of the same single
             * look-up. A fam claim jwtx never issues (not a non-empty
             * string) names no live family: revoked. The option decides,
             * not the token: with rotation off a fam is never looked up. */
            bool bad = false;
            const char *fam = jwtx_token_family(&v.token, &bad);
            st = bad ? JWTX_BL_REVOKED
                     : jwtx_blocklist_check_family(bl, jwtx_token_jti(&v.token),
                                                   identity[0] ? identity : NULL, iat, fam,
                                                   (long long)jwtx_now());
        } else {
            st = jwtx_blocklist_check(bl, jwtx_token_jti(&v.token), identity[0] ? identity : NULL,
                                      iat, (long long)jwtx_now());
        }
        if (st == JWTX_BL_REVOKED) {
            jwtx_error_set(err, JWTX_ERR_REVOKED, NULL);
            goto fail;
        }
        if (st != JWTX_BL_CLEAR) {
            jwtx_error_set(err, JWTX_ERR_STORE_UNAVAILABLE, NULL);
            goto fail;
        }
    }

    /* Step 16: the route's required claims (token_verification_loader). */
    if (opts->require_claims != NULL &&
        !jwtx_route_claims_match(opts->require_claims, v.token.claims)) {
        jwtx_error_set(err, JWTX_ERR_CLAIMS_VERIFICATION, NULL);
        goto fail;
    }

    /* Step 17: user lookup: the identity must still be a user. */
    if (cfg->user_lookup) {
        const char *identity = jwtx_verified_identity(&v);
        if (users == NULL || !jwtx_users_exists(users, identity)) {
            jwtx_error_set(err, JWTX_ERR_USER_LOOKUP, "Error loading the user %s", identity);
            goto fail;
        }
    }

    *out = v;
    return 0;

fail:
    jwtx_verified_clear(&v);
    return -1;
}
