/*
 * gateway.h — the routes the FastCGI programs serve, and their request loop.
 *
 * A gateway is one loaded config plus the stores it names (revocation store,
 * users file). Each route takes a request struct and fills a response struct,
 * with no I/O of its own, so unit tests drive routes without a server. The
 * programs in cgi-bin/ are one call to jwtx_serve() with their route.
 */
#ifndef JWTX_GATEWAY_H
#define JWTX_GATEWAY_H

#include "jwtx/audit.h"
#include "jwtx/blocklist.h"
#include "jwtx/config.h"
#include "jwtx/regulate.h"
#include "jwtx/request.h"
#include "jwtx/response.h"
#include "jwtx/users.h"

typedef struct jwtx_gateway {
    jwtx_config cfg;
    jwtx_blocklist *blocklist; /* NULL: no revocation store */
    jwtx_users *users;         /* NULL: no users file (every login fails) */
    jwtx_audit *audit;         /* NULL: JWTX_AUDIT_LOG = "" (no audit lines) */
    jwtx_regulator *regulator; /* NULL: login regulation off */
    const char *program;       /* name used in log lines */
} jwtx_gateway;

/* Loads the conf file and opens the stores it names. On failure returns -1
 * and writes "FILE:LINE: OPTION: message" (or the store's error) into errbuf.
 * Warnings are written to stderr prefixed with program. */
int jwtx_gateway_open(jwtx_gateway *gw, const char *program, const char *conf_path, char *errbuf,
                      size_t errsize);
void jwtx_gateway_close(jwtx_gateway *gw);

/* A route: fills resp (initialised by the caller) for req. Returns 0; -1 only
 * when resp could not be built (out of memory): the caller answers 500. */
typedef int (*jwtx_route_fn)(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* POST /login: username + password (JSON or urlencoded form; a form may
 * carry `next`, a same-site relative path, answered with 303). Issues a
 * fresh access token and a refresh token, per-user claims merged in.
 * Regulated (regulate.h): while a key of the attempt (user + client address,
 * address, user) is banned, answers 429 "Too many failed login attempts"
 * with Retry-After before any password is hashed, the right password
 * included; 503 "Login attempt store unavailable" when the counts cannot be
 * read or written. Every outcome writes an audit line (audit.h). With
 * JWTX_REFRESH_ROTATION both tokens carry a new session family (claim fam),
 * recorded in the revocation store before anything is answered (503 "Token
 * revocation store unavailable", no token, when it cannot be). */
int jwtx_route_login(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* POST /refresh: needs a refresh token; issues a new, non-fresh access token.
 * With JWTX_REFRESH_ROTATION the refresh token is rotated too: the answer
 * holds a new access and a new refresh token of its session family (cookies:
 * all four set again), the refresh token keeping the presented one's exp
 * unless JWTX_REFRESH_SLIDING; a rotated token presented again after
 * JWTX_REFRESH_REUSE_GRACE seconds ends the family (401 "Token has been
 * revoked" for every token of it); a store failure is 503. */
int jwtx_route_refresh(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* POST|DELETE /logout: needs a token of either type; revokes it (and the
 * refresh cookie's token) and clears the JWT cookies. `?everywhere=1`
 * revokes every token of the user issued until now. With
 * JWTX_REFRESH_ROTATION the session families of the token and of the refresh
 * cookie end too (everywhere: every family of the user). */
int jwtx_route_logout(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* The example protected resource: {"logged_in_as": <identity>} under the
 * route policy given by the web server (JWTX_OPTIONAL, JWTX_FRESH, ...). */
int jwtx_route_protected(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* The authorizer: FastCGI AUTHORIZER role (lighttpd, Apache) answers 200 with
 * Variable-REMOTE_USER and Variable-JWT_*; RESPONDER role (nginx
 * auth_request) answers 200 with X-Remote-User and X-JWT-* headers. A denial
 * is the error answer (plus X-JWT-Status and X-JWT-Error-Body headers for
 * servers that drop the body). Server parameters for servers that cannot
 * pass a denial through: JWTX_AUTH_REQUEST=1 answers every denial as 401
 * (nginx auth_request); JWTX_RENDER_ERROR=1 with JWTX_ERROR_STATUS and
 * JWTX_ERROR_BODY (taken from those two headers by the server) renders the
 * stored answer as the client should see it, without verifying again.
 * OPTIONS is checked like any other method (an "allow" runs the backend),
 * unless JWTX_PREFLIGHT_ANONYMOUS=1 and the request is a real CORS preflight
 * (exactly "OPTIONS", with Origin and Access-Control-Request-Method). */
int jwtx_route_authorizer(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* GET /.well-known/jwks.json: the public keys as a JWK Set. */
int jwtx_route_jwks(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp);

/* The request loop. Reads the conf named by the process environment
 * variable JWTX_CONF once, before the first accept (exit 1 with the message
 * on stderr when invalid); then serves FastCGI requests on fd 0, or exactly
 * one CGI request from environ/stdin/stdout when started as CGI. Returns the
 * process exit status. */
int jwtx_serve(const char *program, jwtx_route_fn route);

#endif
