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

/* The identity of a verified token as text (jwtx_identity_text of its
 * identity claim); "" when anonymous. Borrowed from v, never truncated. */
const char *jwtx_verified_identity(const jwtx_verified *v);

/* The one text form of an identity, used as the user key of the revocation
 * store (user cut-offs, sessions), REMOTE_USER and the user lookup:
 * - a string as it is, byte for byte (a token's never holds a NUL);
 * - any other JSON value canonical: what Python writes with
 *   json.dumps(v, sort_keys=True, separators=(",", ":")): no whitespace,
 *   object keys sorted by code point (at every depth), strings with
 *   ensure_ascii escapes (\uXXXX lowercase, "/" not escaped), an integer in
 *   decimal, any other number as Python's repr(float) ("100.0" for 1e2 or
 *   100.00, "1e+16"): 1 and 1.0 stay two identities, as json.dumps keeps them.
 * So {"b":2,"a":1} and { "a" : 1, "\u0062" : 2 } both give {"a":1,"b":2}.
 * NULL (no claim) gives "". Returns a new string (free), or NULL on
 * allocation failure. */
char *jwtx_identity_text(const json_t *id) __attribute__((warn_unused_result));

#endif
