/*
 * locate.h — finding the token in a request (spec section 5), and the
 * per-route options of jwt_required() (spec section 7.3).
 *
 * jwtx_locate_token walks the locations of a route in order — headers,
 * cookies (with the CSRF double-submit value), query string, JSON body — as
 * Flask-JWT-Extended's _decode_jwt_from_request does: the first location
 * that holds a token decides; a "missing" outcome (JWTX_FAMILY_NO_AUTH) moves
 * on to the next location; any other outcome (a bad header, a bad query
 * prefix, a missing CSRF value, a non-string JSON token) stops the search.
 * When every location is missing, the answer is the single location's
 * message, or "Missing JWT in a, b or c (m1; m2; m3)". Messages use the
 * configured names byte for byte. Decoding the token is not done here.
 */
#ifndef JWTX_LOCATE_H
#define JWTX_LOCATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/request.h"

/* Arguments of jwt_required() / verify_jwt_in_request() for one route. */
typedef struct jwtx_route_opts {
    bool optional;              /* no token → anonymous instead of 401 */
    bool fresh;                 /* a fresh token is required */
    bool refresh;               /* a refresh token is required (refresh cookie/CSRF/JSON key) */
    bool verify_type;           /* check the token type (default true) */
    bool skip_revocation_check; /* do not consult the blocklist */
    jwtx_location locations[JWTX_MAX_LOCATIONS]; /* per-route locations, in order */
    size_t n_locations;                          /* 0 = JWT_TOKEN_LOCATION */
    json_t *require_claims; /* owned object or NULL: claims every token must carry */
    bool options_exempt;    /* OPTIONS passes unauthenticated (jwt_required's CORS
                               preflight rule; default true, never for an authorizer
                               unless JWTX_PREFLIGHT_ANONYMOUS allows a real preflight) */
} jwtx_route_opts;

/* Defaults of jwt_required(): verify_type and options_exempt true, everything
 * else off. */
void jwtx_route_opts_init(jwtx_route_opts *opts);

/* Releases require_claims; leaves the defaults. */
void jwtx_route_opts_clear(jwtx_route_opts *opts);

/* Reads the per-route policy the web server passes as params (a client
 * cannot set them):
 *   JWTX_OPTIONAL, JWTX_FRESH, JWTX_REFRESH, JWTX_VERIFY_TYPE,
 *   JWTX_SKIP_REVOCATION_CHECK — booleans: 1/0, true/false, yes/no, on/off
 *     (case-insensitive, surrounding blanks ignored); absent or "" = unset;
 *   JWTX_LOCATIONS — comma list of location names ("headers, cookies");
 *     an unknown name (matching is case-sensitive, as in the reference) →
 *     JWTX_ERR_CONFIG "'<name>' is not a valid location";
 *   JWTX_REQUIRE_CLAIMS — a JSON object (see jwtx_route_claims_match).
 * opts must be initialised; params that are set override its fields. On
 * failure (-1, err set with JWTX_ERR_CONFIG: a misconfigured server, answer
 * 500) opts is left unchanged. Returns 0 on success. */
int jwtx_route_opts_from_request(jwtx_route_opts *opts, const jwtx_request *req, jwtx_error *err);

/* The check of JWTX_REQUIRE_CLAIMS (the token_verification_loader
 * replacement; a failure answers 400 JWTX_ERR_CLAIMS_VERIFICATION): every
 * member of required must be present in claims and equal to it, or, when the
 * token's claim is an array, be one of its elements (a required array: all
 * of its elements). NULL required always matches. */
bool jwtx_route_claims_match(const json_t *required, const json_t *claims);

/* A token found in a request. Owned strings; _clear wipes and frees them. */
typedef struct jwtx_located {
    jwtx_location where; /* the location that held it */
    char *token;         /* NUL-terminated (the token may be "": decoding fails) */
    size_t token_len;
    bool check_csrf; /* a CSRF double-submit value was taken: decoding must compare it */
    char *csrf;      /* that value (non-empty) when check_csrf, else NULL. Raw header
                        bytes: a non-ASCII value must count as a mismatch
                        (jwtx_locate_csrf_equal does so). */
    size_t csrf_len;
} jwtx_located;

/* Finds the token for a route (opts NULL = defaults) in cfg's or the route's
 * locations. Returns 0 and fills *out (call jwtx_located_clear), or -1 with
 * err: the JWTX_FAMILY_NO_AUTH outcomes mean "no token anywhere" (the code
 * of the single location, or JWTX_ERR_MISSING_JWT for the combined message),
 * and optional routes answer anonymously; JWTX_ERR_CSRF_MISSING,
 * JWTX_ERR_BAD_HEADER, JWTX_ERR_BAD_QUERY_PREFIX and JWTX_ERR_TOKEN_TYPE
 * always fail; JWTX_ERR_INTERNAL on allocation failure. *out is written
 * only on success. */
int jwtx_locate_token(const jwtx_config *cfg, const jwtx_request *req, const jwtx_route_opts *opts,
                      jwtx_located *out, jwtx_error *err);

void jwtx_located_clear(jwtx_located *loc);

/* The CSRF comparison of the double submit: constant-time over equal
 * lengths; false when the lengths differ or either value holds a non-ASCII
 * byte (the reference crashes there; jwtx answers "CSRF double submit
 * tokens do not match", spec/README.md point 2). */
bool jwtx_locate_csrf_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
