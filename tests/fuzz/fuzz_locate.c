/*
 * fuzz_locate.c — libFuzzer target for jwtx_locate_token (spec section 5:
 * headers, cookies with the CSRF double submit, query string, JSON body) and
 * the per-route params (jwtx_route_opts_from_request).
 *
 * Input: one selector byte, then NUL-separated fields REQUEST_METHOD, the
 * token header (sent as HTTP_AUTHORIZATION and HTTP_X_AUTH_TOKEN), HTTP_COOKIE,
 * QUERY_STRING, CONTENT_TYPE, HTTP_X_CSRF_TOKEN, JWTX_LOCATIONS,
 * JWTX_REQUIRE_CLAIMS, then the body (the rest, NULs included).
 * Selector bits: 0-1 config (default; all four locations with a query
 * prefix; empty header type with a custom header name; cookies + query with
 * the CSRF form check), 2 refresh route, 3 read the route params.
 * Checked: no crash, leak, overread or UB; a found token is NUL-terminated
 * at its length and comes from one of the route's locations; a CSRF value is
 * non-empty; a failure has an outcome; jwtx_locate_csrf_equal is reflexive
 * for ASCII values and false for non-ASCII ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/locate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const fuzz_conf_id confs[4] = {FUZZ_CONF_HS256, FUZZ_CONF_ALL_LOCATIONS, FUZZ_CONF_NO_TYPE,
                                      FUZZ_CONF_CSRF_FORM};

enum { F_METHOD, F_AUTH, F_COOKIE, F_QUERY, F_CTYPE, F_CSRF, F_LOCS, F_CLAIMS, F_BODY, F_N };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < 4; i++)
        (void)fuzz_conf(confs[i]);
    return 0;
}

static bool ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const jwtx_config *cfg = fuzz_conf(confs[sel & 3]);
    fuzz_fields ff;
    fuzz_fields_split(&ff, data + 1, size - 1, F_N);

    jwtx_request req;
    if (jwtx_request_init(&req) != 0)
        abort();
    static const struct {
        const char *name;
        int field;
    } params[] = {
        {"REQUEST_METHOD", F_METHOD},      {"HTTP_AUTHORIZATION", F_AUTH},
        {"HTTP_X_AUTH_TOKEN", F_AUTH},     {"HTTP_COOKIE", F_COOKIE},
        {"QUERY_STRING", F_QUERY},         {"CONTENT_TYPE", F_CTYPE},
        {"HTTP_X_CSRF_TOKEN", F_CSRF},     {"JWTX_LOCATIONS", F_LOCS},
        {"JWTX_REQUIRE_CLAIMS", F_CLAIMS},
    };
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
        if (ff.n > (size_t)params[i].field && ff.len[params[i].field] > 0)
            (void)jwtx_request_set_param(&req, params[i].name, ff.f[params[i].field]);
    if (ff.n > F_BODY && jwtx_request_set_body(&req, ff.f[F_BODY], ff.len[F_BODY]) != 0)
        abort();

    jwtx_route_opts opts;
    jwtx_route_opts_init(&opts);
    opts.refresh = (sel & 4) != 0;
    jwtx_error err;
    jwtx_error_clear(&err);
    bool run = true;
    if (sel & 8) {
        if (jwtx_route_opts_from_request(&opts, &req, &err) != 0) {
            if (err.code != JWTX_ERR_CONFIG)
                fuzz_fail("route params refused without JWTX_ERR_CONFIG");
            run = false;
        } else if (opts.require_claims != NULL) {
            const json_t *body = jwtx_request_json(&req);
            (void)jwtx_route_claims_match(opts.require_claims, body);
        }
    }
    if (run) {
        jwtx_located loc;
        memset(&loc, 0, sizeof loc);
        jwtx_error_clear(&err);
        if (jwtx_locate_token(cfg, &req, &opts, &loc, &err) == 0) {
            if (loc.token == NULL || loc.token[loc.token_len] != '\0')
                fuzz_fail("located token not NUL-terminated at its length");
            const jwtx_location *locs = opts.n_locations ? opts.locations : cfg->token_location;
            size_t nl = opts.n_locations ? opts.n_locations : cfg->n_token_location;
            bool known = false;
            for (size_t i = 0; i < nl; i++)
                known = known || locs[i] == loc.where;
            if (!known)
                fuzz_fail("token from a location the route does not use");
            if (loc.check_csrf) {
                if (loc.csrf == NULL || loc.csrf_len == 0)
                    fuzz_fail("CSRF check without a value");
                bool eq = jwtx_locate_csrf_equal(loc.csrf, loc.csrf_len, loc.csrf, loc.csrf_len);
                if (eq != ascii(loc.csrf, loc.csrf_len))
                    fuzz_fail("csrf_equal(x, x) must be true exactly for ASCII x");
            }
            jwtx_located_clear(&loc);
        } else if (err.code == JWTX_OK || err.code >= JWTX_ERR__COUNT) {
            fuzz_fail("failure without an outcome");
        }
    }
    jwtx_route_opts_clear(&opts);
    jwtx_request_clear(&req);
    fuzz_fields_free(&ff);
    return 0;
}
