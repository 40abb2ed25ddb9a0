/*
 * verify.h — the whole check a protected route runs: jwt_required().
 *
 * jwtx_verify_request is Flask-JWT-Extended's verify_jwt_in_request with the
 * callbacks turned into configuration (spec section 3 and spec/README.md
 * point 5): OPTIONS is exempt; the token is located (locate.h) and decoded
 * (tokens.h); then, in this order, the token type, freshness, the revocation
 * store, the route's required claims and the user lookup. An optional route
 * answers anonymously only when no location held a token.
 */
#ifndef JWTX_VERIFY_H
#define JWTX_VERIFY_H

#include <stdbool.h>

#include "jwtx/blocklist.h"
#include "jwtx/config.h"
#include "jwtx/errors.h"
#include "jwtx/locate.h"
#include "jwtx/request.h"
#include "jwtx/tokens.h"
#include "jwtx/users.h"

/* The outcome of a successful check; _clear releases it. */
typedef struct jwtx_verified {
    bool anonymous;      /* optional route without a token, or OPTIONS */
    jwtx_location where; /* where the token was found (JWTX_LOC_NONE if anonymous) */
    jwtx_token token;    /* header and claims (defaults filled); empty if anonymous */
    char *identity;      /* the identity as text (owned); NULL if anonymous */
} jwtx_verified;

void jwtx_verified_clear(jwtx_verified *v);

/* Runs the check. bl and users may be NULL (no store / no users file).
 * Returns 0 and fills *out, or -1 with err holding the exact outcome:
 * JWTX_ERR_STORE_UNAVAILABLE (503) when the store cannot answer, never a
 * pass. */
int jwtx_verify_request(const jwtx_config *cfg, jwtx_blocklist *bl, jwtx_users *users,
                        const jwtx_request *req, const jwtx_route_opts *opts, jwtx_verified *out,
                        jwtx_error *err) __attribute__((warn_unused_result));

/* The identity of a verified token as text: a string claim as it is (it
 * never holds a NUL: tokens.c refuses that), any other JSON value in its
 * compact form; "" when anonymous. Borrowed from v, never truncated. */
const char *jwtx_verified_identity(const jwtx_verified *v);

#endif
