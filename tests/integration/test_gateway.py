"""Integration suite: the gateway programs behind a real lighttpd.

Drives every route with real HTTP: login (JSON and form, `next`), protected,
optional, fresh, refresh, logout with revocation, the authorizer on a static
folder and a legacy CGI program, JWKS, plain CGI mode, cookies with CSRF, and
the exact status and message of spec sections 4 and 5; every policy route under
every spelling of its path, and a crash of one of two processes of a route.
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

import jwt  # Debian python3-jwt

R = harness.Results("gateway-lighttpd")
SECRET = "integration-test-secret-0123456789abcdef0123456789"

run = harness.tmpdir("gw-")
CONF = harness.gateway_conf(SECRET, run, "JWTX_MAX_BODY = 4096\n")

# Test-only routes: per-route locations through the same FastCGI parameters.
EXTRA = """
$HTTP["url"] =~ "^/qs$" {
    setenv.add-environment = ( "JWTX_LOCATIONS" => "query_string,json" )
    fastcgi.server = ( "/qs" => ( var.protected ) )
}
$HTTP["url"] =~ "^/claims-admin$" {
    setenv.add-environment = ( "JWTX_REQUIRE_CLAIMS" => "{\\"roles\\": \\"admin\\"}" )
    fastcgi.server = ( "/claims-admin" => ( var.protected ) )
}
$HTTP["url"] == "/test-unreachable" {
    fastcgi.server = ( "/test-unreachable" => ( (
        "socket" => "%(run)s/nothing.sock", "check-local" => "disable" ) ) )
}
$HTTP["url"] =~ "^/test-cgi/" {
    alias.url = ( "/test-cgi/" => "%(run)s/test-cgi/" )
    cgi.assign = ( ".cgi" => "" )
}
$HTTP["url"] =~ "^/claims-reader$" {
    setenv.add-environment = ( "JWTX_REQUIRE_CLAIMS" => "{\\"roles\\": \\"reader\\"}" )
    fastcgi.server = ( "/claims-reader" => ( var.protected ) )
}
"""

os.mkdir(os.path.join(run, "test-cgi"))
os.chmod(harness.write_text(os.path.join(run, "test-cgi", "dies.cgi"), "#!/bin/sh\nexit 1\n"), 0o755)
srv = harness.Lighttpd(CONF, EXTRA.replace("%(run)s", run), run_dir=run)
H = srv.request


def login(**kw):
    return harness.login(srv.port, **kw)


def craft(payload, alg="HS256", key=SECRET, headers=None):
    return jwt.encode(payload, key, algorithm=alg, headers=headers)



def raw_token(payload_text, header_text='{"alg":"HS256","typ":"JWT"}'):
    """A token over exact payload bytes (escapes PyJWT would normalise)."""
    import hashlib
    import hmac

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    signing = b64(header_text.encode()) + "." + b64(payload_text.encode())
    sig = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


def std_payload(**over):
    now = int(time.time())
    p = {"fresh": False, "iat": now, "jti": "j-%f" % time.time(), "type": "access",
         "sub": "testuser", "nbf": now, "csrf": "c1", "exp": now + 600}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


# ---- login ---------------------------------------------------------------
a = login()
R.eq(a.status, 200, "login: 200")
body = a.json() or {}
R.check(set(body) == {"access_token", "refresh_token"}, "login: access and refresh tokens in body")
access, refresh = body.get("access_token", ""), body.get("refresh_token", "")
R.eq(a.header("Content-Type"), "application/json", "login: JSON content type")
setc = a.all("Set-Cookie")
R.eq(len(setc), 4, "login: four Set-Cookie lines (access, csrf, refresh, csrf)")
R.check(len(setc) == 4 and setc[0] == "access_token_cookie=%s; HttpOnly; Path=/" % access,
        "login: access cookie attributes exact", repr(setc[:1]))
ck = a.cookies()
claims = jwt.decode(access, SECRET, algorithms=["HS256"]) if access else {}
R.check(len(setc) == 4 and setc[1] == "csrf_access_token=%s; Path=/" % claims.get("csrf"),
        "login: csrf cookie = token's csrf claim, not HttpOnly")
R.eq(list(claims)[:8], ["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "exp"],
     "login: claim order of Flask-JWT-Extended")
R.eq((claims.get("fresh"), claims.get("type"), claims.get("exp", 0) - claims.get("iat", 0)),
     (True, "access", 900), "login: fresh access token, 15 minutes")
R.eq((claims.get("roles"), claims.get("team")), (["reader"], "blue"),
     "login: per-user claims merged")
rclaims = jwt.decode(refresh, SECRET, algorithms=["HS256"]) if refresh else {}
R.eq((rclaims.get("type"), rclaims.get("fresh"), rclaims.get("exp", 0) - rclaims.get("iat", 0)),
     ("refresh", False, 2592000), "login: refresh token, 30 days")

r = login(password="wrong")
R.eq((r.status, r.body), (401, msg("Bad username or password")), "login: wrong password 401")
R.check((r.header("WWW-Authenticate") or "").startswith("Bearer"), "login: 401 has WWW-Authenticate")
r = login(user="nobody")
R.eq((r.status, r.body), (401, msg("Bad username or password")), "login: unknown user 401")
r = H("POST", "/login", body={"username": "testuser"})
R.eq((r.status, r.body), (400, msg("Missing username or password")), "login: missing password 400")
r = H("POST", "/login", body=["testuser", "testpass"])
R.eq((r.status, r.body), (400, msg("Missing username or password")), "login: JSON array body 400")
r = H("GET", "/login")
R.eq(r.status, 405, "login: GET is 405")
r = H("POST", "/login", body="x" * 5000, headers={"Content-Type": "application/json"})
R.eq((r.status, r.body), (413, msg("Request body too large")), "login: body over JWTX_MAX_BODY is 413")

# form login with next
form = {"Content-Type": "application/x-www-form-urlencoded"}
r = H("POST", "/login", headers=form, body="username=testuser&password=testpass&next=%2Fprivate%2F")
R.eq((r.status, r.header("Location")), (303, "/private/"), "form login: 303 to same-site next")
R.eq(len(r.all("Set-Cookie")), 4, "form login: cookies set with the redirect")
r = H("POST", "/login", headers=form, body="username=testuser&password=testpass&next=//evil.example/")
R.check(r.status == 200 and r.header("Location") is None, "form login: //host next is not followed")
r = H("POST", "/login", headers=form, body="username=testuser&password=testpass&next=https://evil.example/")
R.check(r.status == 200 and r.header("Location") is None, "form login: absolute next is not followed")
r = H("POST", "/login", headers=form, body="username=testuser&password=nope&next=%2Fprivate%2F")
R.eq((r.status, r.body), (401, msg("Bad username or password")), "form login: wrong password 401")

# ---- protected through headers ---------------------------------------------
r = H("GET", "/protected", headers=bearer(access))
R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), "protected: Bearer token 200")
r = H("GET", "/protected")
R.eq((r.status, r.body), (401, msg('Missing JWT in headers or cookies (Missing Authorization Header; '
                                   'Missing cookie "access_token_cookie")')),
     "protected: no token, combined message")
R.eq(r.header("WWW-Authenticate"), "Bearer", "protected: missing token → WWW-Authenticate: Bearer")
cases = [
    ({"Authorization": "Basic abc"}, 401,
     "Missing JWT in headers or cookies (Missing 'Bearer' type in 'Authorization' header. Expected "
     "'Authorization: Bearer <JWT>'; Missing cookie \"access_token_cookie\")"),
    ({"Authorization": "Bearer"}, 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
    ({"Authorization": "Bearer a b"}, 422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
    (bearer("foobarbaz"), 422, "Not enough segments"),
    (bearer("aaaaa.bbbbb.ccccc"), 422, "Invalid header padding"),
    (bearer(access[:-3] + ("AAA" if access[-3:] != "AAA" else "BBB")), 422, "Signature verification failed"),
    (bearer(craft(std_payload(), "HS512")), 422, "The specified alg value is not allowed"),
    (bearer(craft(std_payload(exp=int(time.time()) - 5))), 401, "Token has expired"),
    (bearer(craft(std_payload(nbf=int(time.time()) + 300))), 422, "The token is not yet valid (nbf)"),
    (bearer(craft(std_payload(sub=None))), 422, "Missing claim: sub"),
    (bearer(craft(std_payload(sub=123))), 422, "Subject must be a string"),
    (bearer(refresh), 422, "Only non-refresh tokens are allowed"),
]
for hdrs, status, text in cases:
    r = H("GET", "/protected", headers=hdrs)
    R.eq((r.status, r.body), (status, msg(text)), "protected: %s → %d" % (text[:50], status))
none_tok = (base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode() + "." +
            base64.urlsafe_b64encode(json.dumps(std_payload()).encode()).rstrip(b"=").decode() + ".")
r = H("GET", "/protected", headers=bearer(none_tok))
R.eq((r.status, r.body), (422, msg("The specified alg value is not allowed")), "protected: alg none refused")
r = H("GET", "/protected", headers=bearer(craft(std_payload(exp=int(time.time()) - 5))))
R.check('error="invalid_token"' in (r.header("WWW-Authenticate") or ""),
        "protected: expired → WWW-Authenticate error=invalid_token")
r = H("OPTIONS", "/protected")
R.eq(r.status, 200, "protected: OPTIONS is exempt")

# ---- optional and fresh --------------------------------------------------
r = H("GET", "/optional")
R.eq((r.status, r.body), (200, b'{"logged_in_as":"anonymous user"}\n'), "optional: no token → anonymous")
r = H("GET", "/optional", headers={"Authorization": "Basic xyz"})
R.eq(r.status, 200, "optional: other scheme → anonymous")
r = H("GET", "/optional", headers=bearer(access))
R.eq(r.body, b'{"logged_in_as":"testuser"}\n', "optional: token → identity")
r = H("GET", "/optional", headers=bearer("xx.yy"))
R.eq((r.status, r.body), (422, msg("Not enough segments")), "optional: bad token still 422")
r = H("GET", "/fresh", headers=bearer(access))
R.eq(r.status, 200, "fresh: fresh login token 200")

# ---- refresh --------------------------------------------------------------
r = H("POST", "/refresh", headers=bearer(access))
R.eq((r.status, r.body), (422, msg("Only refresh tokens are allowed")), "refresh: access token refused")
r = H("POST", "/refresh", headers=bearer(refresh))
R.eq(r.status, 200, "refresh: refresh token 200")
new_access = (r.json() or {}).get("access_token", "")
nc = jwt.decode(new_access, SECRET, algorithms=["HS256"]) if new_access else {}
R.eq((nc.get("fresh"), nc.get("type"), nc.get("team")), (False, "access", "blue"),
     "refresh: non-fresh access token with user claims")
r = H("GET", "/fresh", headers=bearer(new_access))
R.eq((r.status, r.body), (401, msg("Fresh token required")), "fresh: refreshed token refused 401")

# ---- cookies and CSRF -------------------------------------------------------
cookie_hdr = {"Cookie": "access_token_cookie=%s; csrf_access_token=%s" % (ck.get("access_token_cookie"),
                                                                           ck.get("csrf_access_token"))}
r = H("GET", "/protected", headers=cookie_hdr)
R.eq(r.status, 200, "cookies: GET with access cookie, no CSRF needed")
r = H("POST", "/protected", headers=cookie_hdr)
R.eq((r.status, r.body), (401, msg("Missing CSRF token")), "cookies: POST without CSRF header 401")
r = H("POST", "/protected", headers=dict(cookie_hdr, **{"X-CSRF-TOKEN": "wrong"}))
R.eq((r.status, r.body), (401, msg("CSRF double submit tokens do not match")), "cookies: wrong CSRF 401")
r = H("POST", "/protected", headers=dict(cookie_hdr, **{"X-CSRF-TOKEN": ck.get("csrf_access_token")}))
R.eq(r.status, 200, "cookies: POST with the CSRF header 200")

# ---- per-route locations: query string and JSON --------------------------------
r = H("GET", "/qs?jwt=" + access)
R.eq(r.status, 200, "query_string: token in ?jwt= accepted")
r = H("GET", "/qs")
R.eq((r.status, r.body), (401, msg("Missing JWT in query_string or json (Missing 'jwt' query paramater; "
                                   "Invalid content-type. Must be application/json.)")),
     "query_string,json: combined missing message")
r = H("POST", "/qs", body={"access_token": access})
R.eq(r.status, 200, "json: token in JSON body accepted")
r = H("POST", "/qs", body={"access_token": 5})
R.eq((r.status, r.body), (422, msg("Invalid token type. Token must be a <class 'bytes'>")),
     "json: non-string token 422")

# ---- required claims -------------------------------------------------------------
r = H("GET", "/claims-admin", headers=bearer(access))
R.eq((r.status, r.body), (400, msg("User claims verification failed")), "required claims: missing role 400")
r = H("GET", "/claims-reader", headers=bearer(access))
R.eq(r.status, 200, "required claims: role present 200")

# ---- authorizer -------------------------------------------------------------------
r = H("GET", "/private/", headers=bearer(access))
R.check(r.status == 200 and b"private-marker" in r.body, "authorizer: static folder allowed with token")
r = H("GET", "/private/")
R.eq((r.status, r.header("Content-Type")), (401, "application/json"), "authorizer: denied, JSON 401")
R.eq(r.body, msg('Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie '
                 '"access_token_cookie")'), "authorizer: denial body is the error answer")
r = H("GET", "/private/", headers=bearer("abc.def"))
R.eq((r.status, r.body), (422, msg("Not enough segments")), "authorizer: bad token 422 passed through")
r = H("GET", "/private/fresh/", headers=bearer(new_access))
R.eq((r.status, r.body), (401, msg("Fresh token required")), "authorizer: per-route JWTX_FRESH applies")
r = H("GET", "/private/fresh/", headers=bearer(access))
R.check(r.status == 200 and b"fresh-marker" in r.body, "authorizer: fresh token reaches fresh folder")
r = H("GET", "/legacy/whoami.cgi", headers=bearer(access))
text = r.body.decode("utf-8", "replace")
R.check(r.status == 200 and "remote_user=testuser" in text, "authorizer: legacy CGI receives REMOTE_USER",
        text)
R.check("jwt_type=access" in text and '"team":"blue"' in text, "authorizer: legacy CGI receives JWT_* claims")
r = H("GET", "/legacy/whoami.cgi")
R.eq(r.status, 401, "authorizer: legacy CGI denied without token")

# ---- every policy route keeps its policy under every spelling of its path ------
POLICY_TABLE = (("/private/fresh/", bearer(new_access), (401, msg("Fresh token required"))),
                ("/fresh", bearer(new_access), (401, msg("Fresh token required"))),
                ("/optional", {}, (200, b'{"logged_in_as":"anonymous user"}\n')),
                ("/claims-admin", bearer(access), (400, msg("User claims verification failed"))))
for path, headers, policy in POLICY_TABLE:
    harness.policy_table(R, srv.port, "demo", path, headers, policy)

# ---- identities that C strings cannot carry ---------------------------------------
now = int(time.time())
t = raw_token('{"sub":"\\ud800","type":"access","exp":%d}' % (now + 600))
r = H("GET", "/protected", headers=bearer(t))
R.eq((r.status, r.body), (200, b'{"logged_in_as":"\\ud800"}\n'),
     "identity with a lone surrogate is echoed as Python does")
t = raw_token('{"sub":"testuser\\u0000x","type":"access","exp":%d}' % (now + 600))
for path in ("/protected", "/private/", "/legacy/whoami.cgi"):
    r = H("GET", path, headers=bearer(t))
    R.eq((r.status, r.body), (422, msg("Identity claim must not contain a NUL character")),
         "identity with a NUL is refused, never truncated to another user (%s)" % path)

# ---- NumericDate claims are JSON numbers (spec/README.md point 8) -----------------
# PyJWT itself accepts the string "9999999999" (int()); jwtx refuses it.
for claim, label in (("exp", "Expiration Time claim (exp)"), ("nbf", "Not Before claim (nbf)"),
                     ("iat", "Issued At claim (iat)")):
    value = "9999999999" if claim == "exp" else str(int(time.time()) - 10)
    t = craft(std_payload(**{claim: value}))
    for path in ("/protected", "/private/"):
        r = H("GET", path, headers=bearer(t))
        R.eq((r.status, r.body), (422, msg("%s must be an integer." % label)),
             "string %s %r refused (%s)" % (claim, value, path))

# ---- the authorizer never waves OPTIONS through to a backend -----------------------
for method in ("OPTIONS", "options"):
    r = H(method, "/legacy/whoami.cgi")
    # lighttpd itself refuses the lower-case method (501); either way no CGI output
    R.check(r.status in (401, 501) and b"remote_user" not in r.body,
            "authorizer: %s without a token does not run the legacy CGI" % method,
            "%d %r" % (r.status, r.body[:80]))
r = H("OPTIONS", "/private/")
R.eq(r.status, 401, "authorizer: OPTIONS on the static folder needs a token")

# ---- claims a C string would cut short ---------------------------------------------
now = int(time.time())
t = raw_token('{"sub":"testuser","type":"refresh\\u0000x","jti":"nul-type","exp":%d}' % (now + 600))
r = H("POST", "/refresh", headers=bearer(t))
R.eq((r.status, r.body), (422, msg("Only refresh tokens are allowed")),
     "type \"refresh\\u0000x\" is not a refresh token")
t = raw_token('{"sub":"testuser","type":"access","exp":%d}' % (now + 600))
r = H("POST", "/logout", headers=bearer(t))
R.eq((r.status, r.body), (422, msg("Missing claim: jti")),
     "logout of a token without jti says it cannot be revoked (never 'revoked')")

# ---- JWKS ---------------------------------------------------------------------------
r = H("GET", "/.well-known/jwks.json")
R.eq((r.status, r.json()), (200, {"keys": []}), "jwks: HMAC-only config publishes no keys")

# ---- plain CGI mode -------------------------------------------------------------------
r = H("GET", "/cgi/protected.fcgi", headers=bearer(access))
R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), "CGI mode: protected answers the same")
r = H("GET", "/cgi/protected.fcgi")
R.eq(r.status, 401, "CGI mode: no token 401")
r = H("POST", "/cgi/login.fcgi", body={"username": "testuser", "password": "testpass"})
R.check(r.status == 200 and "access_token" in (r.json() or {}), "CGI mode: login works")

# ---- a crashed process: the route's other process answers --------------------------
# Every route runs two processes (max-procs); a crash (SIGKILL) of one of
# refresh, logout or jwks under load: lighttpd sends the next requests to the
# other one (with one process it answered 503 until the restart, 1-2 s).
out_token = (login().json() or {}).get("access_token", "")
for route, send, want in (
        ("refresh.fcgi", lambda: H("POST", "/refresh", headers=bearer(refresh)).status, (200,)),
        ("logout.fcgi", lambda: H("POST", "/logout", headers=bearer(out_token)).status, (200, 401)),
        ("jwks.fcgi", lambda: H("GET", "/.well-known/jwks.json").status, (200,))):
    harness.survives_a_crash(R, "crash: " + route, harness.descendants(srv.proc.pid, route), send, want)

# ---- logout and revocation ----------------------------------------------------------
a2 = login().json() or {}
acc2, ref2 = a2.get("access_token", ""), a2.get("refresh_token", "")
r = H("POST", "/logout", headers=bearer(acc2))
R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'), "logout: access token revoked")
R.eq(len(r.all("Set-Cookie")), 4, "logout: clears the four cookies")
R.check(all("Expires=Thu, 01 Jan 1970 00:00:00 GMT" in c for c in r.all("Set-Cookie")),
        "logout: cookies expire at the epoch")
r = H("GET", "/protected", headers=bearer(acc2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: reused access token refused")
r = H("GET", "/private/", headers=bearer(acc2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: authorizer refuses revoked token")
r = H("DELETE", "/logout", headers=bearer(ref2))
R.eq((r.status, r.body), (200, b'{"msg":"Refresh token revoked"}\n'), "logout: refresh token revoked")
r = H("POST", "/refresh", headers=bearer(ref2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: refresh after logout refused")

# browser-style logout: the refresh cookie is revoked with the access cookie
a3 = login()
c3 = a3.cookies()
jar = "; ".join("%s=%s" % kv for kv in c3.items())
r = H("POST", "/logout", headers={"Cookie": jar, "X-CSRF-TOKEN": c3.get("csrf_access_token", "")})
R.eq(r.status, 200, "logout: cookie logout with CSRF")
r = H("POST", "/refresh", headers={"Cookie": jar, "X-CSRF-TOKEN": c3.get("csrf_refresh_token", "")})
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: refresh cookie revoked too")

# log out everywhere
t1 = (login().json() or {}).get("access_token", "")
t2 = (login().json() or {}).get("access_token", "")
r = H("POST", "/logout?everywhere=1", headers=bearer(t1))
R.eq((r.status, r.body), (200, b'{"msg":"All tokens revoked"}\n'), "logout everywhere: 200")
r = H("GET", "/protected", headers=bearer(t2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout everywhere: other token revoked")
time.sleep(1.1)
t3 = (login().json() or {}).get("access_token", "")
r = H("GET", "/protected", headers=bearer(t3))
R.eq(r.status, 200, "logout everywhere: a later login works")

# ---- answers lighttpd gives itself (demo.conf.in "Error answers") -------------------
def raw(kind, path="/protected", headers=None):
    return harness.raw_request(srv.port, kind, path, headers)


t4 = (login().json() or {}).get("access_token", "")
for path in ("/logout", "/refresh"):
    r = raw("post-no-length", path, bearer(t4))
    harness.check_server_answer(R, r, 411, "POST %s without Content-Length (curl -X POST)" % path)
r = raw("post-length-0", "/logout", bearer(t4))
R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'),
     "POST /logout with Content-Length: 0 (curl -X POST -d '') reaches jwtx")
harness.check_server_answer(R, raw("garbage"), 400, "an unparsable request line")
harness.check_server_answer(R, raw("bad-header-line"), 400, "a header line without a colon")
harness.check_server_answer(R, raw("long-header"), 431, "10,000 bytes of headers")
harness.check_server_answer(R, raw("long-url"), 431, "a 10,000-byte URL (431: lighttpd has no 414)")
harness.check_server_answer(R, raw("big-body", "/login"), 413, "a 70,000-byte body (server.max-request-size)")
harness.check_server_answer(R, raw("unknown-method"), 501, "an unknown method")
harness.check_server_answer(R, raw("http-2.0"), 505, "HTTP/2.0 in the request line")
harness.check_server_answer(R, raw("get", "/test-cgi/dies.cgi"), 500, "a CGI program that dies")
harness.check_server_answer(R, raw("get", "/test-unreachable"), 503, "a FastCGI program not running")
harness.check_server_answer(R, raw("get", "/no-such-route"), 404, "an unknown route")
r = H("HEAD", "/no-such-route")
R.eq((r.status, r.header("Content-Type"), r.body), (404, "application/json", b""),
     "HEAD of an unknown route: 404, application/json, no body")
r = H("GET", "/login.html")
R.check(r.status == 200 and (r.header("Content-Type") or "").startswith("text/html"),
        "the login page is still text/html")

srv.stop()

# ---- identities that are not strings (JWT_VERIFY_SUB = False) ----------------------
run2 = harness.tmpdir("gw-anysub-")
srv2 = harness.Lighttpd(harness.gateway_conf(SECRET, run2, "JWT_VERIFY_SUB = False\n"), run_dir=run2)
for sub, body, remote in (
        (42, b'{"logged_in_as":42}\n', "42"),
        # REMOTE_USER / JWT_IDENTITY: the canonical text (keys sorted), the
        # same key the revocation store uses, whatever the token's order
        ({"n": "x", "id": 1}, b'{"logged_in_as":{"id":1,"n":"x"}}\n', '{"id":1,"n":"x"}'),
        ("testuser", b'{"logged_in_as":"testuser"}\n', "testuser")):
    t = craft(std_payload(sub=sub))
    r = srv2.request("GET", "/protected", headers=bearer(t))
    R.eq((r.status, r.body), (200, body),
         "JWT_VERIFY_SUB = False: identity %s answered as its JSON value" % json.dumps(sub))
    r = srv2.request("GET", "/legacy/whoami.cgi", headers=bearer(t))
    text = r.body.decode("utf-8", "replace")
    R.check(r.status == 200 and ("remote_user=%s\n" % remote) in text
            and ("jwt_identity=%s\n" % remote) in text,
            "JWT_VERIFY_SUB = False: authorizer hands identity %s as %s" % (json.dumps(sub), remote),
            text)
srv2.stop()
R.finish()
