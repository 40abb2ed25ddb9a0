/*
 * gateway.c — the routes of the FastCGI programs (DESIGN.md "Programs and
 * the HTTP contract"): login, refresh, logout, the protected example, the
 * authorizer and JWKS. Each takes a request struct and fills a response
 * struct; policy comes from the config and the route parameters the web
 * server sets, never from the client.
 */
#include "jwtx/gateway.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jwtx/client.h"
#include "jwtx/json.h"
#include "jwtx/keys.h"
#include "jwtx/locate.h"
#include "jwtx/tokens.h"
#include "jwtx/verify.h"
#include "util.h"

static void log_warn(const char *file, int line, const char *msg, void *ctx)
{
    fprintf(stderr, "%s: warning: %s:%d: %s\n", (const char *)ctx, file, line, msg);
}

static void log_users(const char *msg, void *ctx)
{
    fprintf(stderr, "%s: users: %s\n", (const char *)ctx, msg);
}

/* The store's changes of state (with the cause), once each: on stderr as
 * before, and in the audit log as store_unavailable (reason: the cause,
 * which never holds a password) or store_available. */
static void log_store(const char *msg, void *ctx)
{
    jwtx_gateway *gw = ctx;
    fprintf(stderr, "%s: %s\n", gw->program, msg);
    static const char down[] = "revocation store unavailable: ";
    /* An older store that has no login attempt tables (login only). */
    static const char login_down[] = "login attempt store unavailable: ";
    jwtx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    if (strncmp(msg, down, sizeof down - 1) == 0) {
        ev.event = "store_unavailable";
        ev.reason = msg + sizeof down - 1;
    } else if (strncmp(msg, login_down, sizeof login_down - 1) == 0) {
        ev.event = "store_unavailable";
        ev.reason = msg + sizeof login_down - 1;
    } else {
        ev.event = strstr(msg, "available again") != NULL ? "store_available" : "store_state";
        ev.reason = strstr(msg, "available again") != NULL ? NULL : msg;
    }
    jwtx_audit_log(gw->audit, &ev);
}

int jwtx_gateway_open(jwtx_gateway *gw, const char *program, const char *conf_path, char *errbuf,
                      size_t errsize)
{
    memset(gw, 0, sizeof *gw);
    gw->program = program;
    jwtx_config_error ce;
    if (jwtx_config_load(conf_path, &gw->cfg, &ce, log_warn, (void *)program) != 0) {
        jwtx_config_error_format(&ce, errbuf, errsize);
        return -1;
    }
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_blocklist_open(&gw->cfg, &gw->blocklist, &err) != 0) {
        /* The message names JWTX_BLOCKLIST itself (never the password). */
        snprintf(errbuf, errsize, "%s: %s", conf_path, jwtx_error_message(&err));
        jwtx_gateway_close(gw);
        return -1;
    }
    /* gw is the caller's: its address stays valid until jwtx_gateway_close. */
    jwtx_blocklist_set_log(gw->blocklist, log_store, gw);
    if (gw->cfg.users_file != NULL) {
        if (jwtx_users_open(gw->cfg.users_file, gw->cfg.user_claims_file, log_users,
                            (void *)program, &gw->users, &err) != 0) {
            snprintf(errbuf, errsize, "%s", jwtx_error_message(&err));
            jwtx_gateway_close(gw);
            return -1;
        }
    }
    char why[512];
    if (jwtx_audit_open(gw->cfg.audit_log, program, &gw->audit, why, sizeof why) != 0) {
        snprintf(errbuf, errsize, "%s: %s", conf_path, why);
        jwtx_gateway_close(gw);
        return -1;
    }
    if (jwtx_regulate_open(&gw->cfg, gw->blocklist, &gw->regulator) != 0) {
        snprintf(errbuf, errsize, "%s: JWTX_LOGIN_REGULATION: out of memory", conf_path);
        jwtx_gateway_close(gw);
        return -1;
    }
    return 0;
}

void jwtx_gateway_close(jwtx_gateway *gw)
{
    if (gw == NULL)
        return;
    jwtx_regulate_free(gw->regulator); /* borrows the store: freed first */
    jwtx_blocklist_free(gw->blocklist);
    jwtx_users_free(gw->users);
    jwtx_audit_free(gw->audit);
    jwtx_config_clear(&gw->cfg);
    gw->blocklist = NULL;
    gw->users = NULL;
    gw->audit = NULL;
    gw->regulator = NULL;
}

/* ---- small helpers ---------------------------------------------------- */

static bool has_location(const jwtx_config *cfg, jwtx_location loc)
{
    for (size_t i = 0; i < cfg->n_token_location; i++)
        if (cfg->token_location[i] == loc)
            return true;
    return false;
}

static bool cookies_only(const jwtx_config *cfg)
{
    for (size_t i = 0; i < cfg->n_token_location; i++)
        if (cfg->token_location[i] != JWTX_LOC_COOKIES)
            return false;
    return cfg->n_token_location > 0;
}

static bool method_is(const jwtx_request *req, const char *m)
{
    return req->method != NULL && strcmp(req->method, m) == 0;
}

/* Flask answers OPTIONS itself: 200, an Allow header, no body. */
static int answer_options(jwtx_response *resp, const char *allow)
{
    resp->status = 200;
    return jwtx_response_add_header(resp, "Allow", allow);
}

static int answer_error(jwtx_gateway *gw, jwtx_response *resp, const jwtx_error *err)
{
    return jwtx_response_error(resp, &gw->cfg, err);
}

static int answer_code(jwtx_gateway *gw, jwtx_response *resp, jwtx_err code)
{
    jwtx_error err;
    jwtx_error_set(&err, code, NULL);
    return answer_error(gw, resp, &err);
}

static int method_not_allowed(jwtx_gateway *gw, jwtx_response *resp, const char *allow)
{
    if (answer_code(gw, resp, JWTX_ERR_METHOD_NOT_ALLOWED) != 0)
        return -1;
    return jwtx_response_add_header(resp, "Allow", allow);
}

/* ---- audit ------------------------------------------------------------ */

/* The client address key of the request (client.h). */
static const char *client_of(const jwtx_gateway *gw, const jwtx_request *req,
                             char out[JWTX_CLIENT_ADDR_MAX])
{
    return jwtx_client_address(req, gw->cfg.trusted_proxies, gw->cfg.n_trusted_proxies, out);
}

/* One audit line about this request (a no-op when the audit log is off),
 * with the session family when there is one (fam NULL: no field). */
static void audit_fam(jwtx_gateway *gw, const jwtx_request *req, const char *addr,
                      const char *event, const char *user, const char *jti, const char *fam,
                      const char *reason)
{
    jwtx_audit_event ev;
    memset(&ev, 0, sizeof ev);
    ev.event = event;
    ev.addr = addr;
    ev.user = user;
    ev.jti = jti;
    ev.fam = fam;
    ev.route = req->path;
    ev.reason = reason;
    jwtx_audit_log(gw->audit, &ev);
}

static void audit(jwtx_gateway *gw, const jwtx_request *req, const char *addr, const char *event,
                  const char *user, const char *jti, const char *reason)
{
    audit_fam(gw, req, addr, event, user, jti, NULL, reason);
}

/* A form's `next` is followed only when it is a same-site relative path:
 * "/" then path characters, never "//" or a backslash (which browsers read
 * as another host), never a control character. */
static bool safe_next(const char *next)
{
    if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\')
        return false;
    size_t n = strlen(next);
    if (n > 2048)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)next[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>')
            return false;
    }
    return true;
}

/* A switch in the query string (?everywhere=1). */
static bool param_true(const jwtx_request *req, const char *name)
{
    char *v = jwtx_request_query_get(req, name, NULL);
    bool yes = false;
    if (jwtxp_bool_text(v, &yes) != 1)
        yes = false;
    free(v);
    return yes;
}

/* Issues one token for identity with the user's extra claims, as spec asks
 * (its claims are filled here). While the claims file is broken none is
 * issued (fail closed, as login does): a token without them would drop a
 * role or a scope, or keep one an edit removed. */
static int issue_spec(jwtx_gateway *gw, const char *identity, jwtx_token_spec *spec, jwtx_buf *out,
                      jwtx_issued *issued, jwtx_error *err)
{
    spec->claims = NULL;
    if (gw->users != NULL && jwtx_users_claims_for(gw->users, identity, &spec->claims) != 0)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL,
                              "the user claims file is broken; no token is issued until it is "
                              "fixed");
    return jwtx_token_create(&gw->cfg, identity, spec, out, issued, err);
}

/* A token with the default expiry, of session family `family` (NULL: no
 * fam claim, the reference layout). */
static int issue(jwtx_gateway *gw, const char *identity, bool refresh, bool fresh,
                 const char *family, jwtx_buf *out, jwtx_issued *issued, jwtx_error *err)
{
    jwtx_token_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.refresh = refresh;
    spec.fresh = fresh ? JWTX_FRESH_TRUE : JWTX_FRESH_FALSE;
    spec.family = family;
    return issue_spec(gw, identity, &spec, out, issued, err);
}

/* JWTX_REFRESH_ROTATION: sessions are families in the revocation store. */
static bool rotating(const jwtx_gateway *gw)
{
    return gw->cfg.refresh_rotation && gw->blocklist != NULL;
}

/* Sets the access and refresh cookies (and their CSRF cookies) of a new
 * pair of tokens, when cookies are a token location. 0 or -1. */
static int set_pair_cookies(const jwtx_config *cfg, jwtx_response *resp, const jwtx_buf *access,
                            const jwtx_issued *ia, const jwtx_buf *refresh, const jwtx_issued *ir,
                            long long now)
{
    if (!has_location(cfg, JWTX_LOC_COOKIES))
        return 0;
    if (jwtx_response_set_access_cookies(resp, cfg, access->data, ia->csrf, 0, NULL, now) != 0 ||
        jwtx_response_set_refresh_cookies(resp, cfg, refresh->data, ir->csrf, 0, NULL, now) != 0)
        return -1;
    return 0;
}

/* The 200 answer carrying a new pair of tokens (login; refresh with
 * rotation): {"msg": msg} when cookies are the only location, else both
 * tokens in the body. Its build status (0 or -1). */
static int answer_pair(const jwtx_config *cfg, jwtx_response *resp, const jwtx_buf *access,
                       const jwtx_buf *refresh, const char *msg)
{
    if (cookies_only(cfg))
        return jwtx_response_msg(resp, 200, "msg", msg);
    json_t *body =
        json_pack("{s:s, s:s}", "access_token", access->data, "refresh_token", refresh->data);
    int rc = body ? jwtx_response_json(resp, 200, body) : -1;
    json_decref(body);
    return rc;
}

/* ---- login ------------------------------------------------------------ */

typedef struct credentials {
    char *username;
    char *password;
    char *next;
    bool form;
} credentials;

static void credentials_clear(credentials *c)
{
    /* OPENSSL_cleanse, not memset: a store right before free may be
     * optimised away, and this one holds the password. */
    if (c->password)
        OPENSSL_cleanse(c->password, strlen(c->password));
    free(c->username);
    free(c->password);
    free(c->next);
    memset(c, 0, sizeof *c);
}

static char *json_member_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return strdup(json_string_value(v));
}

/* A form field as a C string; a value with an embedded NUL counts as absent,
 * so "user%00x" can never be read as "user". */
static char *form_text(const jwtx_request *req, const char *name)
{
    size_t len = 0;
    char *v = jwtx_request_form_get(req, name, &len);
    if (v != NULL && strlen(v) != len) {
        OPENSSL_cleanse(v, len); /* it may be the password */
        free(v);
        return NULL;
    }
    return v;
}

static int read_credentials(const jwtx_request *req, credentials *c)
{
    memset(c, 0, sizeof *c);
    if (jwtx_request_is_json(req)) {
        const json_t *body = jwtx_request_json(req);
        if (json_is_object(body)) {
            c->username = json_member_string(body, "username");
            c->password = json_member_string(body, "password");
        }
    } else {
        c->form = true;
        c->username = form_text(req, "username");
        c->password = form_text(req, "password");
        c->next = form_text(req, "next");
    }
    if (c->username == NULL || c->password == NULL || c->username[0] == '\0' ||
        c->password[0] == '\0')
        return -1;
    return 0;
}

static int login_store_unavailable(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp,
                                   const char *addr)
{
    fprintf(stderr, "%s: login attempt store unavailable\n", gw->program);
    audit(gw, req, addr, "login_error", NULL, NULL, "store_unavailable");
    return answer_code(gw, resp, JWTX_ERR_LOGIN_STORE_UNAVAILABLE);
}

/* 1 when the attempt may go on to the password check; else the answer is
 * built (429 while banned, 503 when the counts cannot be read) and its build
 * status returned (0, or -1 out of memory). */
static int login_regulated(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp,
                           const credentials *c, const char *addr)
{
    if (gw->regulator == NULL)
        return 1;
    jwtx_regulate_verdict v;
    if (jwtx_regulate_check(gw->regulator, c->username, addr, &v) != 0)
        return login_store_unavailable(gw, req, resp, addr);
    if (!v.banned)
        return 1;
    /* Throttled per ban key: a flood while banned writes a few lines a
     * minute, the next one counting those left out. */
    long long suppressed = 0;
    if (jwtx_regulate_log_banned(gw->regulator, &v, c->username, addr, &suppressed)) {
        jwtx_audit_event ev;
        memset(&ev, 0, sizeof ev);
        ev.event = "login_banned";
        ev.addr = addr;
        ev.user = c->username;
        ev.route = req->path;
        ev.ban = jwtx_regulate_kind_name(v.kind);
        ev.until = v.until;
        ev.suppressed = suppressed;
        jwtx_audit_log(gw->audit, &ev);
    }
    char secs[24];
    snprintf(secs, sizeof secs, "%lld", v.retry_after);
    if (answer_code(gw, resp, JWTX_ERR_TOO_MANY_ATTEMPTS) != 0 ||
        jwtx_response_set_header(resp, "Retry-After", secs) != 0)
        return -1;
    return 0;
}

/* A wrong password or an unknown user: counted (bans started are audited),
 * audited, answered 401. */
static int login_failed(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp,
                        const credentials *c, const char *addr, const char *reason)
{
    if (gw->regulator != NULL) {
        jwtx_regulate_verdict v;
        if (jwtx_regulate_failure(gw->regulator, c->username, addr, &v) != 0)
            return login_store_unavailable(gw, req, resp, addr);
        for (int k = 0; k < JWTX_REG_NKINDS; k++) {
            if (!(v.started & (1u << k)))
                continue;
            jwtx_audit_event ev;
            memset(&ev, 0, sizeof ev);
            ev.event = "ban_start";
            ev.addr = k == JWTX_REG_USER ? NULL : addr;
            ev.user = k == JWTX_REG_ADDRESS ? NULL : c->username;
            ev.route = req->path;
            ev.ban = jwtx_regulate_kind_name((jwtx_regulate_kind)k);
            ev.until = v.started_until;
            jwtx_audit_log(gw->audit, &ev);
        }
    }
    audit(gw, req, addr, "login_failure", c->username, NULL, reason);
    return answer_code(gw, resp, JWTX_ERR_BAD_CREDENTIALS);
}

int jwtx_route_login(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (method_is(req, "OPTIONS"))
        return answer_options(resp, "OPTIONS, POST");
    if (!method_is(req, "POST"))
        return method_not_allowed(gw, resp, "OPTIONS, POST");

    char addr[JWTX_CLIENT_ADDR_MAX];
    client_of(gw, req, addr);
    credentials c;
    if (read_credentials(req, &c) != 0) {
        audit(gw, req, addr, "login_failure", c.username, NULL, "missing_fields");
        credentials_clear(&c);
        return answer_code(gw, resp, JWTX_ERR_MISSING_CREDENTIALS);
    }
    /* Regulation comes before the password hash: a banned attempt costs no
     * hash, and says nothing about the password. */
    int st = login_regulated(gw, req, resp, &c, addr);
    if (st != 1) {
        credentials_clear(&c);
        return st;
    }
    if (gw->users == NULL || jwtx_users_check(gw->users, c.username, c.password) != 0) {
        const char *reason = gw->users != NULL && jwtx_users_exists(gw->users, c.username)
                                 ? "wrong_password"
                                 : "unknown_user";
        st = login_failed(gw, req, resp, &c, addr, reason);
        credentials_clear(&c);
        return st;
    }
    if (gw->regulator != NULL && jwtx_regulate_success(gw->regulator, c.username, addr) != 0) {
        credentials_clear(&c);
        return login_store_unavailable(gw, req, resp, addr);
    }
    /* With rotation the login starts a session family, recorded below
     * before anything is answered; its line is written then, with it. */
    char fam[37] = "";
    bool rot = rotating(gw);
    if (!rot)
        audit(gw, req, addr, "login_success", c.username, NULL, NULL);

    jwtx_buf access, refresh;
    jwtx_buf_init(&access);
    jwtx_buf_init(&refresh);
    jwtx_issued ia, ir;
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = 0;
    if (rot && jwtx_uuid4(fam) != 0) {
        fprintf(stderr, "%s: cannot issue tokens: no randomness for the session family\n",
                gw->program);
        rc = answer_code(gw, resp, JWTX_ERR_INTERNAL);
        goto out;
    }
    if (issue(gw, c.username, false, true, rot ? fam : NULL, &access, &ia, &err) != 0 ||
        issue(gw, c.username, true, false, rot ? fam : NULL, &refresh, &ir, &err) != 0) {
        fprintf(stderr, "%s: cannot issue tokens: %s\n", gw->program, jwtx_error_message(&err));
        rc = answer_code(gw, resp, JWTX_ERR_INTERNAL);
        goto out;
    }

    const jwtx_config *cfg = &gw->cfg;
    long long now = (long long)jwtx_now();
    if (rot) {
        /* The family lives as long as its refresh tokens: no token leaves
         * before the store knows it (a store failure: 503, nothing issued). */
        if (jwtx_blocklist_family_start(gw->blocklist, fam, c.username, now, ir.has_exp, ir.exp) !=
            0) {
            audit(gw, req, addr, "login_error", c.username, NULL, "store_unavailable");
            rc = answer_code(gw, resp, JWTX_ERR_STORE_UNAVAILABLE);
            goto out;
        }
        audit_fam(gw, req, addr, "login_success", c.username, NULL, fam, NULL);
    }
    if (set_pair_cookies(cfg, resp, &access, &ia, &refresh, &ir, now) != 0) {
        rc = -1;
        goto out;
    }
    const char *next = c.form && safe_next(c.next)                ? c.next
                       : c.form && safe_next(cfg->login_redirect) ? cfg->login_redirect
                                                                  : NULL;
    if (next != NULL) {
        rc = jwtx_response_redirect(resp, 303, next);
        goto out;
    }
    rc = answer_pair(cfg, resp, &access, &refresh, "login successful");
out:
    credentials_clear(&c);
    jwtx_buf_clear(&access);
    jwtx_buf_clear(&refresh);
    return rc;
}

/* ---- refresh ---------------------------------------------------------- */

/* A web-server-set switch of the authorizer (never a client value), read as
 * every other server parameter is (jwtxp_bool_text). */
static bool server_flag(const jwtx_request *req, const char *name)
{
    bool on = false;
    return jwtxp_bool_text(jwtx_request_param(req, name), &on) == 1 && on;
}

/* How a route adjusts the policy the web server gave it. */
typedef enum route_kind {
    ROUTE_AS_CONFIGURED, /* protected: the parameters as they are */
    ROUTE_REFRESH,       /* refresh: jwt_required(refresh=True) */
    ROUTE_ANY_TYPE,      /* logout: jwt_required(verify_type=False) */
    ROUTE_AUTHORIZER     /* the authorizer: the parameters, and no OPTIONS exemption */
} route_kind;

/* An authorizer's "allow" lets the backend run, and a backend may do anything
 * with an OPTIONS request: so OPTIONS is checked like any other method, unless
 * the server opts in with JWTX_PREFLIGHT_ANONYMOUS=1 and the request really
 * is a CORS preflight (exactly "OPTIONS", with Origin and
 * Access-Control-Request-Method). */
static bool anonymous_preflight(const jwtx_request *req)
{
    const char *raw = jwtx_request_param(req, "REQUEST_METHOD");
    return server_flag(req, "JWTX_PREFLIGHT_ANONYMOUS") && raw != NULL &&
           strcmp(raw, "OPTIONS") == 0 && jwtx_request_header(req, "Origin") != NULL &&
           jwtx_request_header(req, "Access-Control-Request-Method") != NULL;
}

/* Reads the route policy from the request's server parameters, adjusts it
 * for the route, and runs jwt_required(). Returns 0 with *v filled (clear it
 * later), or -1 with the error answer in resp, its build status in *rc and
 * the outcome in *err. A bad route parameter is the web server's
 * configuration, answered 500 and logged. */
static int authenticate(jwtx_gateway *gw, const jwtx_request *req, route_kind kind,
                        jwtx_verified *v, jwtx_response *resp, int *rc, jwtx_error *err)
{
    jwtx_route_opts opts;
    jwtx_error_clear(err);
    memset(v, 0, sizeof *v);
    jwtx_route_opts_init(&opts);
    if (jwtx_route_opts_from_request(&opts, req, err) != 0) {
        fprintf(stderr, "%s: bad route parameter: %s\n", gw->program, jwtx_error_message(err));
        jwtx_route_opts_clear(&opts);
        jwtx_error_set(err, JWTX_ERR_INTERNAL, NULL);
        *rc = answer_error(gw, resp, err);
        return -1;
    }
    if (kind == ROUTE_REFRESH) {
        opts.refresh = true;
        opts.optional = false;
    } else if (kind == ROUTE_ANY_TYPE) {
        opts.verify_type = false;
        opts.optional = false;
    } else if (kind == ROUTE_AUTHORIZER) {
        opts.options_exempt = anonymous_preflight(req);
    }
    int st = jwtx_verify_request(&gw->cfg, gw->blocklist, gw->users, req, &opts, v, err);
    jwtx_route_opts_clear(&opts);
    if (st != 0) {
        /* A store failure is logged by the store, once per change of state.
         * A revoked token is an audit event (the token was cleared with the
         * failure: the line names the client and the route). */
        if (err->code == JWTX_ERR_REVOKED) {
            char addr[JWTX_CLIENT_ADDR_MAX];
            audit(gw, req, client_of(gw, req, addr), "revoked_token", NULL, NULL, NULL);
        }
        *rc = answer_error(gw, resp, err);
        return -1;
    }
    return 0;
}

/* /refresh with JWTX_REFRESH_ROTATION, after the check of v (its family
 * is live): the store rotates the presented refresh token in one atomic
 * step, then a new access token and a new refresh token of the family are
 * issued. The new refresh token keeps the presented one's exp (the login's),
 * unless JWTX_REFRESH_SLIDING moves it (and the family's) to now +
 * JWT_REFRESH_TOKEN_EXPIRES. A token from before rotation (no fam) starts a
 * family. A rotated token presented again after the grace period ends its
 * family: 401, as for a family ended before. */
static int refresh_rotate(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp,
                          const jwtx_verified *v)
{
    const jwtx_config *cfg = &gw->cfg;
    const char *identity = jwtx_verified_identity(v);
    const char *jti = jwtx_token_jti(&v->token);
    char addr[JWTX_CLIENT_ADDR_MAX];
    client_of(gw, req, addr);
    jwtx_error err;
    jwtx_error_clear(&err);
    const char *type = jwtx_token_type(&v->token);
    if (type == NULL || strcmp(type, "refresh") != 0) {
        /* Only a refresh token is rotated, even where the server turned the
         * type check off (JWTX_VERIFY_TYPE=0): an access token must never
         * become a refresh token of the session. */
        jwtx_error_set(&err, JWTX_ERR_ONLY_REFRESH, NULL);
        return answer_error(gw, resp, &err);
    }
    if (jti == NULL || jti[0] == '\0') {
        /* No store entry can name it as rotated: never renewed. */
        jwtx_error_set(&err, JWTX_ERR_MISSING_CLAIM, "Missing claim: jti");
        return answer_error(gw, resp, &err);
    }
    char new_family[37] = "";
    jwtx_rotation r;
    memset(&r, 0, sizeof r);
    r.jti = jti;
    r.has_exp = jwtx_token_exp(&v->token, &r.exp);
    r.family = jwtx_token_family(&v->token, NULL); /* verify refused a bad one */
    r.user = identity;
    r.now = (long long)jwtx_now();
    r.grace = cfg->refresh_reuse_grace;
    r.slide = cfg->refresh_sliding;
    if (r.slide && !cfg->refresh_expires.never && cfg->refresh_expires.seconds != 0) {
        r.has_new_expires = true;
        r.new_expires = r.now + cfg->refresh_expires.seconds;
    }
    if (r.family == NULL) {
        if (jwtx_uuid4(new_family) != 0) {
            fprintf(stderr, "%s: cannot issue tokens: no randomness for the session family\n",
                    gw->program);
            return answer_code(gw, resp, JWTX_ERR_INTERNAL);
        }
        r.new_family = new_family;
    }
    char fam[JWTX_BLOCKLIST_FAMILY_MAX + 1] = "";
    int st = jwtx_blocklist_family_rotate(gw->blocklist, &r, fam, sizeof fam);
    if (st == JWTX_BL_REUSED) {
        /* Someone else holds a copy of this session: it is over for both. */
        audit_fam(gw, req, addr, "refresh_reuse", identity, jti, fam[0] ? fam : NULL, NULL);
        audit_fam(gw, req, addr, "session_end", identity, NULL, fam[0] ? fam : NULL, "reuse");
        return answer_code(gw, resp, JWTX_ERR_REVOKED);
    }
    if (st == JWTX_BL_ENDED) {
        audit_fam(gw, req, addr, "revoked_token", NULL, NULL, fam[0] ? fam : NULL, NULL);
        return answer_code(gw, resp, JWTX_ERR_REVOKED);
    }
    if (st != JWTX_BL_ROTATED || fam[0] == '\0')
        return answer_code(gw, resp, JWTX_ERR_STORE_UNAVAILABLE);

    jwtx_buf access, refresh;
    jwtx_buf_init(&access);
    jwtx_buf_init(&refresh);
    jwtx_issued ia, ir;
    jwtx_token_spec rs;
    memset(&rs, 0, sizeof rs);
    rs.refresh = true;
    rs.family = fam;
    if (r.slide ? r.has_new_expires : r.has_exp) {
        rs.expires = JWTX_EXPIRES_AT;
        rs.expires_at = r.slide ? r.new_expires : r.exp;
    } else {
        rs.expires = JWTX_EXPIRES_NEVER;
    }
    int rc = 0;
    if (issue(gw, identity, false, false, fam, &access, &ia, &err) != 0 ||
        issue_spec(gw, identity, &rs, &refresh, &ir, &err) != 0) {
        fprintf(stderr, "%s: cannot issue tokens: %s\n", gw->program, jwtx_error_message(&err));
        rc = answer_code(gw, resp, JWTX_ERR_INTERNAL);
        goto out;
    }
    if (set_pair_cookies(cfg, resp, &access, &ia, &refresh, &ir, r.now) != 0) {
        rc = -1;
        goto out;
    }
    audit_fam(gw, req, addr, "refresh", identity, jti, fam, NULL);
    rc = answer_pair(cfg, resp, &access, &refresh, "refresh successful");
out:
    jwtx_buf_clear(&access);
    jwtx_buf_clear(&refresh);
    return rc;
}

int jwtx_route_refresh(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (method_is(req, "OPTIONS"))
        return answer_options(resp, "OPTIONS, POST");
    if (!method_is(req, "POST"))
        return method_not_allowed(gw, resp, "OPTIONS, POST");

    int rc = 0;
    jwtx_verified v;
    jwtx_error err;
    if (authenticate(gw, req, ROUTE_REFRESH, &v, resp, &rc, &err) != 0)
        return rc;

    if (rotating(gw)) {
        rc = refresh_rotate(gw, req, resp, &v);
        jwtx_verified_clear(&v);
        return rc;
    }
    const char *identity = jwtx_verified_identity(&v);
    jwtx_buf access;
    jwtx_buf_init(&access);
    jwtx_issued ia;
    jwtx_error_clear(&err);
    if (issue(gw, identity, false, false, NULL, &access, &ia, &err) != 0) {
        fprintf(stderr, "%s: cannot issue token: %s\n", gw->program, jwtx_error_message(&err));
        rc = answer_code(gw, resp, JWTX_ERR_INTERNAL);
        goto out;
    }
    const jwtx_config *cfg = &gw->cfg;
    if (has_location(cfg, JWTX_LOC_COOKIES) &&
        jwtx_response_set_access_cookies(resp, cfg, access.data, ia.csrf, 0, NULL,
                                         (long long)jwtx_now()) != 0) {
        rc = -1;
        goto out;
    }
    char addr[JWTX_CLIENT_ADDR_MAX];
    audit(gw, req, client_of(gw, req, addr), "refresh", identity, jwtx_token_jti(&v.token), NULL);
    if (cookies_only(cfg)) {
        rc = jwtx_response_msg(resp, 200, "msg", "refresh successful");
    } else {
        json_t *body = json_pack("{s:s}", "access_token", access.data);
        rc = body ? jwtx_response_json(resp, 200, body) : -1;
        json_decref(body);
    }
out:
    jwtx_buf_clear(&access);
    jwtx_verified_clear(&v);
    return rc;
}

/* ---- logout ----------------------------------------------------------- */

static int revoke_token(jwtx_gateway *gw, const jwtx_token *tok, long long now)
{
    const char *jti = jwtx_token_jti(tok);
    if (jti == NULL || jti[0] == '\0')
        return 0; /* checked by the caller for the token it answers about */
    long long exp = 0;
    bool has_exp = jwtx_token_exp(tok, &exp);
    return jwtx_blocklist_revoke(gw->blocklist, jti, has_exp, exp, now);
}

/* The refresh cookie travels with a browser's logout: revoke it too, so the
 * session cannot be renewed. An invalid or expired cookie needs no entry.
 * fam (size JWTX_BLOCKLIST_FAMILY_MAX + 1) gets the cookie's session family
 * ("" when none): with rotation that session ends as well. */
static int revoke_refresh_cookie(jwtx_gateway *gw, const jwtx_request *req, const jwtx_verified *v,
                                 long long now, char *fam)
{
    fam[0] = '\0';
    const char *val;
    size_t len;
    if (jwtx_request_cookie(req, gw->cfg.refresh_cookie_name, &val, &len) != 1 || len == 0)
        return 0;
    jwtx_decode_opts dopts;
    memset(&dopts, 0, sizeof dopts);
    jwtx_token rt;
    memset(&rt, 0, sizeof rt);
    jwtx_error err;
    if (jwtx_token_decode(&gw->cfg, val, len, &dopts, &rt, &err) != 0)
        return 0;
    int rc = 0;
    const char *a = jwtx_token_jti(&rt), *b = jwtx_token_jti(&v->token);
    const char *type = jwtx_token_type(&rt);
    if (type != NULL && strcmp(type, "refresh") == 0 && !(a && b && strcmp(a, b) == 0)) {
        rc = revoke_token(gw, &rt, now);
        const char *f = jwtx_token_family(&rt, NULL);
        if (f != NULL && strlen(f) <= JWTX_BLOCKLIST_FAMILY_MAX)
            memcpy(fam, f, strlen(f) + 1);
    }
    jwtx_token_clear(&rt);
    return rc;
}

/* Ends a session family at logout (rotation on): a session_end line when a
 * live one ended. Returns 0, or -1 when the store failed. */
static int end_family(jwtx_gateway *gw, const jwtx_request *req, const char *addr, const char *user,
                      const char *fam, const char *reason, long long now)
{
    if (fam == NULL || fam[0] == '\0')
        return 0;
    int st = jwtx_blocklist_family_end(gw->blocklist, fam, now);
    if (st < 0)
        return -1;
    if (st == 1)
        audit_fam(gw, req, addr, "session_end", user, NULL, fam, reason);
    return 0;
}

/* Where a session_end line of ?everywhere=1 goes. */
typedef struct ended_ctx {
    jwtx_gateway *gw;
    const jwtx_request *req;
    const char *addr, *user;
} ended_ctx;

static void ended_cb(const char *fam, void *ctx)
{
    const ended_ctx *e = ctx;
    audit_fam(e->gw, e->req, e->addr, "session_end", e->user, NULL, fam, "logout_everywhere");
}

/* ?everywhere=1 with rotation: every live family of user ends, each with a
 * session_end line, told by the store as it ends them. Returns 0, or -1
 * when the store failed to end them. */
static int end_user_families(jwtx_gateway *gw, const jwtx_request *req, const char *addr,
                             const char *user, long long now)
{
    ended_ctx e = {gw, req, addr, user};
    return jwtx_blocklist_family_end_user_each(gw->blocklist, user, now, ended_cb, &e, NULL);
}

int jwtx_route_logout(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (method_is(req, "OPTIONS"))
        return answer_options(resp, "DELETE, OPTIONS, POST");
    if (!method_is(req, "POST") && !method_is(req, "DELETE"))
        return method_not_allowed(gw, resp, "DELETE, OPTIONS, POST");

    int rc = 0;
    jwtx_verified v;
    jwtx_error err;
    if (authenticate(gw, req, ROUTE_ANY_TYPE, &v, resp, &rc, &err) != 0)
        return rc;

    const char *msg = "logout successful";
    const char *jti = jwtx_token_jti(&v.token);
    bool everywhere = param_true(req, "everywhere");
    if (gw->blocklist != NULL && (jti == NULL || jti[0] == '\0') && !everywhere) {
        /* Never answer "revoked" for a token no store entry can name (a
         * foreign issuer's token without a jti): the token would live on. */
        jwtx_error_set(&err, JWTX_ERR_MISSING_CLAIM, "Missing claim: jti");
        rc = answer_error(gw, resp, &err);
        goto out;
    }
    char addr[JWTX_CLIENT_ADDR_MAX];
    client_of(gw, req, addr);
    bool rot = rotating(gw);
    const char *fam = rot ? jwtx_token_family(&v.token, NULL) : NULL;
    if (gw->blocklist != NULL) {
        long long now = (long long)jwtx_now();
        const char *identity = jwtx_verified_identity(&v);
        const char *why = everywhere ? "logout_everywhere" : "logout";
        char cookie_fam[JWTX_BLOCKLIST_FAMILY_MAX + 1];
        int st = revoke_token(gw, &v.token, now);
        if (st == 0)
            st = revoke_refresh_cookie(gw, req, &v, now, cookie_fam);
        /* With rotation the session ends, not only this token: the
         * token's family, and the refresh cookie's when it is another. */
        if (st == 0 && rot)
            st = end_family(gw, req, addr, identity, fam, why, now);
        if (st == 0 && rot && !(fam != NULL && strcmp(fam, cookie_fam) == 0))
            st = end_family(gw, req, addr, identity, cookie_fam, why, now);
        if (st == 0 && everywhere) {
            st = jwtx_blocklist_revoke_user(gw->blocklist, identity, now);
            if (st == 0 && rot)
                st = end_user_families(gw, req, addr, identity, now);
            msg = "All tokens revoked";
        } else {
            const char *type = jwtx_token_type(&v.token);
            msg = type && strcmp(type, "refresh") == 0 ? "Refresh token revoked"
                                                       : "Access token revoked";
        }
        if (st != 0) {
            rc = answer_code(gw, resp, JWTX_ERR_STORE_UNAVAILABLE);
            goto out;
        }
    }
    audit_fam(gw, req, addr,
              strcmp(msg, "All tokens revoked") == 0 ? "logout_everywhere" : "logout",
              jwtx_verified_identity(&v), jti, fam, NULL);
    if (jwtx_response_unset_jwt_cookies(resp, &gw->cfg, NULL) != 0 ||
        jwtx_response_msg(resp, 200, "msg", msg) != 0)
        rc = -1;
out:
    jwtx_verified_clear(&v);
    return rc;
}

/* ---- protected -------------------------------------------------------- */

/* JWTX_IMPLICIT_REFRESH: a cookie access token close to its expiry is
 * re-issued (spec section 7.6), non-fresh, with the user's claims. */
static int implicit_refresh(jwtx_gateway *gw, const jwtx_verified *v, const char *identity,
                            jwtx_response *resp)
{
    const jwtx_config *cfg = &gw->cfg;
    long long exp;
    if (cfg->implicit_refresh <= 0 || v->anonymous || v->where != JWTX_LOC_COOKIES ||
        !jwtx_token_exp(&v->token, &exp))
        return 0;
    const char *type = jwtx_token_type(&v->token);
    if (type != NULL && strcmp(type, "refresh") == 0)
        return 0;
    long long now = (long long)jwtx_now();
    if (exp - now >= cfg->implicit_refresh)
        return 0;
    jwtx_buf tok;
    jwtx_buf_init(&tok);
    jwtx_issued is;
    jwtx_error err;
    int rc = 0;
    /* With rotation the new cookie stays in the session of the old one. */
    const char *fam = rotating(gw) ? jwtx_token_family(&v->token, NULL) : NULL;
    if (issue(gw, identity, false, false, fam, &tok, &is, &err) != 0)
        fprintf(stderr, "%s: implicit refresh failed: %s\n", gw->program, jwtx_error_message(&err));
    else
        rc = jwtx_response_set_access_cookies(resp, cfg, tok.data, is.csrf, 0, NULL, now);
    jwtx_buf_clear(&tok);
    return rc;
}

int jwtx_route_protected(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (method_is(req, "OPTIONS"))
        return answer_options(resp, "GET, HEAD, OPTIONS, POST");
    int rc = 0;
    jwtx_verified v;
    jwtx_error err;
    if (authenticate(gw, req, ROUTE_AS_CONFIGURED, &v, resp, &rc, &err) != 0)
        return rc;
    const char *identity = jwtx_verified_identity(&v);
    if (implicit_refresh(gw, &v, identity, resp) != 0) {
        rc = -1;
    } else {
        /* The identity is what the token holds: a string may be text
         * jansson would refuse (a lone surrogate, kept as Python keeps it);
         * any other JSON value (JWT_VERIFY_SUB = False, or another
         * JWT_IDENTITY_CLAIM) is answered as that value, as FJE's
         * jsonify(logged_in_as=get_jwt_identity()) does, never as its text. */
        const char *who = v.anonymous ? "anonymous user" : identity;
        const json_t *claim =
            v.anonymous ? NULL : json_object_get(v.token.claims, gw->cfg.identity_claim);
        json_t *value = claim != NULL && !json_is_string(claim)
                            ? json_incref((json_t *)claim)
                            : json_stringn_nocheck(who, strlen(who));
        json_t *body = json_object();
        if (body == NULL || json_object_set_new(body, "logged_in_as", value) != 0) {
            if (body == NULL)
                json_decref(value); /* set_new releases it itself on failure */
            rc = -1;
        } else
            rc = jwtx_response_json(resp, 200, body);
        json_decref(body);
    }
    jwtx_verified_clear(&v);
    return rc;
}

/* ---- authorizer ------------------------------------------------------- */

static int add_var(jwtx_response *resp, bool authorizer, const char *var, const char *hdr,
                   const char *value)
{
    char name[96];
    if (authorizer)
        snprintf(name, sizeof name, "Variable-%s", var);
    else
        snprintf(name, sizeof name, "%s", hdr);
    return jwtx_response_add_header(resp, name, value);
}

static int grant(const jwtx_request *req, const jwtx_verified *v, jwtx_response *resp)
{
    bool az = req->authorizer;
    resp->status = 200;
    if (v->anonymous)
        return 0;
    const char *identity = jwtx_verified_identity(v);
    const char *type = jwtx_token_type(&v->token);
    const char *jti = jwtx_token_jti(&v->token);
    jwtx_buf fresh, claims;
    jwtx_buf_init(&fresh);
    jwtx_buf_init(&claims);
    int rc = 0;
    if (jwtx_json_dump(json_object_get(v->token.claims, "fresh"), 0, &fresh) != 0 ||
        jwtx_json_dump(v->token.claims, 0, &claims) != 0 || fresh.failed || claims.failed)
        rc = -1;
    if (rc == 0)
        rc = add_var(resp, az, "REMOTE_USER", "X-Remote-User", identity) ||
                     add_var(resp, az, "JWT_IDENTITY", "X-JWT-Identity", identity) ||
                     add_var(resp, az, "JWT_JTI", "X-JWT-Jti", jti ? jti : "") ||
                     add_var(resp, az, "JWT_TYPE", "X-JWT-Type", type ? type : "access") ||
                     add_var(resp, az, "JWT_FRESH", "X-JWT-Fresh", fresh.data) ||
                     add_var(resp, az, "JWT_LOCATION", "X-JWT-Location",
                             jwtx_location_name(v->where)) ||
                     add_var(resp, az, "JWT_CLAIMS", "X-JWT-Claims", claims.data)
                 ? -1
                 : 0;
    jwtx_buf_clear(&fresh);
    jwtx_buf_clear(&claims);
    return rc;
}

/* JWTX_RENDER_ERROR=1 (nginx `error_page 401 = /_jwtx_error`): nginx's
 * auth_request only understands 2xx/401/403 from its subrequest, so with
 * JWTX_AUTH_REQUEST=1 every denial reaches nginx as 401; nginx keeps the real
 * X-JWT-Status and X-JWT-Error-Body with auth_request_set and hands them back
 * here as JWTX_ERROR_STATUS and JWTX_ERROR_BODY. This answers them as the
 * client should see them: the real status and JSON body, no-store, and no
 * WWW-Authenticate (nginx already copied the subrequest's one; a second would
 * be a duplicate). Nothing is verified again: after error_page the method is
 * GET, which would skip the CSRF check of the original request. Missing or
 * malformed values are the web server's misconfiguration: 500. */
static int render_error(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    const char *st = jwtx_request_param(req, "JWTX_ERROR_STATUS");
    const char *body = jwtx_request_param(req, "JWTX_ERROR_BODY");
    int status = 0;
    if (st != NULL && strlen(st) == 3 && st[0] >= '4' && st[0] <= '5' && st[1] >= '0' &&
        st[1] <= '9' && st[2] >= '0' && st[2] <= '9')
        status = atoi(st);
    json_t *obj = NULL;
    if (status != 0 && body != NULL && body[0] != '\0')
        obj = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        fprintf(stderr,
                "%s: JWTX_RENDER_ERROR needs JWTX_ERROR_STATUS (4xx/5xx) and "
                "JWTX_ERROR_BODY (a JSON object) from X-JWT-Status/X-JWT-Error-Body\n",
                gw->program);
        return answer_code(gw, resp, JWTX_ERR_INTERNAL);
    }
    /* The body was written by jwtx_response_json, so re-serializing gives the
     * same bytes. */
    int rc = jwtx_response_json(resp, status, obj);
    json_decref(obj);
    if (rc == 0)
        rc = jwtx_response_set_header(resp, "Cache-Control", "no-store");
    return rc;
}

/* Servers that replace an authorizer's body (nginx, Apache mod_fcgid) can
 * rebuild the same answer from X-JWT-Status and X-JWT-Error-Body (the JSON
 * body on one line). */
static int add_denial_headers(jwtx_response *resp, const jwtx_error *err)
{
    char status[8];
    snprintf(status, sizeof status, "%d", jwtx_err_status(err->code));
    if (jwtx_response_add_header(resp, "X-JWT-Status", status) != 0)
        return -1;
    if (resp->body.data == NULL || resp->body.len == 0)
        return 0;
    size_t n = resp->body.len;
    char *line = strndup(resp->body.data, n);
    if (line == NULL)
        return -1;
    if (line[n - 1] == '\n')
        line[n - 1] = '\0';
    int rc = jwtx_response_add_header(resp, "X-JWT-Error-Body", line);
    free(line);
    return rc;
}

int jwtx_route_authorizer(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (!req->authorizer && server_flag(req, "JWTX_RENDER_ERROR"))
        return render_error(gw, req, resp);
    int rc = 0;
    jwtx_verified v;
    jwtx_error err;
    if (authenticate(gw, req, ROUTE_AUTHORIZER, &v, resp, &rc, &err) == 0) {
        rc = grant(req, &v, resp);
        jwtx_verified_clear(&v);
        return rc;
    }
    if (rc == 0)
        rc = add_denial_headers(resp, &err);
    /* nginx auth_request turns any status but 2xx/401/403 into 500: answer
     * 401 and let the error page restore the real one from X-JWT-Status
     * (see render_error). */
    if (rc == 0 && !req->authorizer && server_flag(req, "JWTX_AUTH_REQUEST"))
        resp->status = 401;
    return rc;
}

/* ---- JWKS ------------------------------------------------------------- */

int jwtx_route_jwks(jwtx_gateway *gw, const jwtx_request *req, jwtx_response *resp)
{
    if (method_is(req, "OPTIONS"))
        return answer_options(resp, "GET, HEAD, OPTIONS");
    if (!method_is(req, "GET") && !method_is(req, "HEAD"))
        return method_not_allowed(gw, resp, "GET, HEAD, OPTIONS");
    json_t *set = jwtx_keyset_jwks(gw->cfg.keys, &gw->cfg);
    if (set == NULL)
        return -1;
    int rc = jwtx_response_json(resp, 200, set);
    json_decref(set);
    if (rc == 0)
        rc = jwtx_response_add_header(resp, "Cache-Control", "public, max-age=300");
    return rc;
}
