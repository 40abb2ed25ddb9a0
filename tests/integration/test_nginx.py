"""Integration suite: the nginx recipe, conf/nginx/jwtx.conf.in, as shipped.

nginx cannot start FastCGI programs, so this suite starts each jwtx program
with spawn-fcgi (JWTX_CONF in its environment) and fcgiwrap for the legacy CGI
program and the plain-CGI routes, all on free 127.0.0.1 ports, then nginx in
the foreground with every path inside a temp folder. It checks what the
CLIENT sees: login, the responders, auth_request in front of a static folder
and a CGI program (which receives REMOTE_USER and JWT_*), every denial with
jwtx's exact status, JSON body and Content-Type (401, 422, 400, 503 -- nginx
itself only passes 401/403 from an auth subrequest), a single WWW-Authenticate,
the fresh-only policy and revocation after logout, every policy route under
every spelling of its path, and a crash of one of two processes of a route.

Everything started here is stopped here (atexit), by pid, and nothing else.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

import jwt  # Debian python3-jwt

R = harness.Results("nginx")
ROOT = harness.ROOT
SECRET = "nginx-suite-secret-0123456789abcdef0123456789abcdef"
FCGIWRAP = "/usr/sbin/fcgiwrap"
MISSING_TEXT = harness.MISSING_TEXT
MISSING = msg(MISSING_TEXT)

for tool in ("nginx", "spawn-fcgi"):
    if shutil.which(tool) is None:
        print("%s is not installed (tools/deps.sh installs it)" % tool)
        R.check(False, "%s present" % tool)
        R.finish()
if not os.access(FCGIWRAP, os.X_OK):
    print("fcgiwrap is not installed (tools/deps.sh installs it)")
    R.check(False, "fcgiwrap present")
    R.finish()

run = harness.tmpdir("nginx-")
CONF = harness.write_text(os.path.join(run, "jwtx.conf"),
                          harness.gateway_conf(SECRET, run, "JWTX_MAX_BODY = 4096\n"))
harness.init_store(CONF)  # as the installer does
# A second conf whose revocation store is down (a closed Redis port): the
# authorizer must fail closed with 503, and nginx must show that 503.
DOWN_CONF = os.path.join(run, "jwtx-down.conf")
with open(DOWN_CONF, "w") as f:
    f.write('JWT_SECRET_KEY = "%s"\nJWTX_BLOCKLIST = "redis://127.0.0.1:%d/0"\n'
            % (SECRET, harness.free_port()))


# ---- the FastCGI daemons ---------------------------------------------------
daemons = []


def stop_daemons():
    for pid in daemons:
        harness.stop_pid(pid)


atexit.register(stop_daemons)


def spawn(name, prog, conf=CONF, procs=2):
    """spawn-fcgi prog on a free port; returns "127.0.0.1:PORT"."""
    try:
        port, pids = harness.spawn_fcgi(prog, os.path.join(run, name + ".pid"),
                                        dict(os.environ, JWTX_CONF=conf), procs)
    except RuntimeError as e:
        print(e)
        R.check(False, "%s daemon bound on 127.0.0.1" % name)
        R.finish()
    daemons.extend(pids)
    pids_of[name] = pids
    return "127.0.0.1:%d" % port


pids_of = {}


addr = {}
for prog in ("login", "refresh", "logout", "protected", "jwks", "authorizer"):
    addr[prog] = spawn(prog, os.path.join(ROOT, "cgi-bin", prog + ".fcgi"))
addr["fcgiwrap"] = spawn("fcgiwrap", FCGIWRAP)
addr["down"] = spawn("authorizer-down", os.path.join(ROOT, "cgi-bin", "authorizer.fcgi"),
                     conf=DOWN_CONF, procs=1)

# ---- nginx from the shipped recipe -------------------------------------------
port = harness.free_port()
with open(os.path.join(ROOT, "conf", "nginx", "jwtx.conf.in")) as f:
    text = f.read()
subst = {"@LISTEN@": "127.0.0.1:%d" % port, "@RUN@": run,
         "@WWW@": os.path.join(ROOT, "conf", "demo-www"),
         "@BIN@": os.path.join(ROOT, "cgi-bin"), "@CONF@": CONF,
         "@ERRORS@": os.path.join(ROOT, "conf", "errors"),
         "@LOGIN@": addr["login"], "@REFRESH@": addr["refresh"], "@LOGOUT@": addr["logout"],
         "@PROTECTED@": addr["protected"], "@JWKS@": addr["jwks"],
         "@AUTHORIZER@": addr["authorizer"], "@FCGIWRAP@": addr["fcgiwrap"]}
for k, v in subst.items():
    text = text.replace(k, v)
left = re.findall(r"@[A-Z_]+@", text)
R.eq(left, [], "recipe: every placeholder filled")

# Test-only routes, in their own include (the recipe itself is unchanged but
# for this one line): a required-claims policy (400) and an authorizer whose
# revocation store is down (503).
anchor = "        include jwtx-auth-locations.conf;\n"
R.check(anchor in text, "recipe: includes jwtx-auth-locations.conf")
text = text.replace(anchor, anchor + "        include test-extra.conf;\n")
www = os.path.join(ROOT, "conf", "demo-www")
# A FastCGI "program" that takes connections and never answers.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(8)
extra = """
location = /_jwtx_auth_admin {
    internal;
    fastcgi_pass_request_body off;
    fastcgi_param CONTENT_LENGTH "";
    fastcgi_param JWTX_AUTH_REQUEST 1;
    fastcgi_param JWTX_REQUIRE_CLAIMS '{"roles": "admin"}';
    include fastcgi_params;
    fastcgi_pass jwtx_authorizer;
}
location /admin-area/ {
    auth_request /_jwtx_auth_admin;
    include jwtx-protect.conf;
    alias %(www)s/private/;
}
location = /_jwtx_auth_down {
    internal;
    fastcgi_pass_request_body off;
    fastcgi_param CONTENT_LENGTH "";
    fastcgi_param JWTX_AUTH_REQUEST 1;
    include fastcgi_params;
    fastcgi_pass %(down)s;
}
location /down-area/ {
    auth_request /_jwtx_auth_down;
    include jwtx-protect.conf;
    alias %(www)s/private/;
}
# Error answers: a jwtx program that cannot be reached (502), one that never
# answers (504), an authorizer that cannot be reached (500), nginx's own 503.
location = /test-unreachable {
    include fastcgi_params;
    fastcgi_pass 127.0.0.1:%(dead)d;
}
location = /test-slow {
    fastcgi_read_timeout 1s;
    include fastcgi_params;
    fastcgi_pass 127.0.0.1:%(silent)d;
}
location = /_jwtx_auth_unreachable {
    internal;
    fastcgi_pass_request_body off;
    fastcgi_param CONTENT_LENGTH "";
    fastcgi_param JWTX_AUTH_REQUEST 1;
    include fastcgi_params;
    fastcgi_pass 127.0.0.1:%(dead)d;
}
location /test-auth-unreachable/ {
    auth_request /_jwtx_auth_unreachable;
    include jwtx-protect.conf;
    alias %(www)s/private/;
}
location = /test-status-503 {
    return 503;
}
# The renderer asked without the values an auth_request keeps: 500.
location /bare-error/ {
    error_page 418 = /_jwtx_error;
    return 418;
}
""" % {"www": www, "down": addr["down"], "dead": harness.free_port(), "silent": silent.getsockname()[1]}

for name in ("jwtx-auth-locations.conf", "jwtx-protect.conf", "jwtx-identity-params.conf",
             "jwtx-error-pages.conf"):
    shutil.copy(os.path.join(ROOT, "conf", "nginx", name), run)
for name in ("fastcgi_params", "mime.types"):
    shutil.copy(os.path.join("/etc/nginx", name), run)
with open(os.path.join(run, "test-extra.conf"), "w") as f:
    f.write(extra)
nconf = os.path.join(run, "nginx.conf")
with open(nconf, "w") as f:
    f.write(text)

base = ["nginx", "-p", run + "/", "-e", os.path.join(run, "error.log"), "-c", nconf]
t = subprocess.run(base + ["-t"], capture_output=True, text=True)
R.check(t.returncode == 0, "nginx -t accepts the recipe", t.stderr)
nginx = harness.start(base + ["-g", "daemon off;"])


def stop_nginx():
    harness.stop(nginx, signal.SIGQUIT)  # a graceful stop


atexit.register(stop_nginx)
if not harness.wait_port(port) or nginx.poll() is not None:
    print(harness.tail(os.path.join(run, "error.log")))
    R.check(False, "nginx bound 127.0.0.1:%d" % port)
    R.finish()
R.check(True, "nginx bound 127.0.0.1:%d" % port)


def H(method, path, headers=None, body=None):
    return harness.request(port, method, path, headers, body)


def login():
    return harness.login(port)


def denial(r, status, text, what, www_auth=None):
    """The client sees jwtx's exact answer: status, JSON body and type, and
    WWW-Authenticate once on 401 (never on other statuses)."""
    R.eq((r.status, r.body), (status, msg(text)), what + ": status and JSON body")
    R.eq(r.header("Content-Type"), "application/json", what + ": Content-Type application/json")
    wa = r.all("WWW-Authenticate")
    if status == 401:
        want = [www_auth] if www_auth else None
        R.check(len(wa) == 1 and (want is None or wa == want),
                what + ": exactly one WWW-Authenticate", repr(wa))
    else:
        R.eq(wa, [], what + ": no WWW-Authenticate")
    R.check(r.header("X-JWT-Status") is None and r.header("X-JWT-Error-Body") is None,
            what + ": no internal X-JWT-* header leaks")


# ---- login and the responders ------------------------------------------------
a = login()
body = a.json() or {}
R.eq(a.status, 200, "login: 200")
R.eq(sorted(body), ["access_token", "refresh_token"], "login: access and refresh tokens")
R.eq(a.header("Content-Type"), "application/json", "login: JSON content type")
ck = a.cookies()
R.eq(sorted(ck), ["access_token_cookie", "csrf_access_token", "csrf_refresh_token",
                  "refresh_token_cookie"], "login: the four cookies")
access, refresh = body.get("access_token", ""), body.get("refresh_token", "")
R.eq(ck.get("access_token_cookie"), access, "login: access cookie holds the access token")
r = harness.login(port, password="nope")
R.eq((r.status, r.body), (401, msg("Bad username or password")), "login: wrong password 401")

r = H("GET", "/protected", headers=bearer(access))
R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), "protected: token 200")
r = H("GET", "/protected")
R.eq((r.status, r.body), (401, MISSING), "protected: no token 401 from the responder")
r = H("GET", "/optional")
R.eq((r.status, r.body), (200, b'{"logged_in_as":"anonymous user"}\n'),
     "optional: fastcgi_param JWTX_OPTIONAL reaches the responder")
r = H("GET", "/.well-known/jwks.json")
R.eq((r.status, r.json()), (200, {"keys": []}), "jwks: 200")

# ---- static folder behind auth_request ------------------------------------
r = H("GET", "/private/", headers=bearer(access))
R.check(r.status == 200 and b"private-marker" in r.body, "authorizer: static folder allowed",
        "%d %r" % (r.status, r.body[:80]))
r = H("GET", "/private/", headers={"Cookie": "access_token_cookie=" + access})
R.check(r.status == 200 and b"private-marker" in r.body, "authorizer: cookie token allowed (GET)")
r = H("GET", "/private/")
denial(r, 401, MISSING_TEXT, "authorizer: no token", "Bearer")
r = H("GET", "/private/", headers=bearer("foobarbaz"))
denial(r, 422, "Not enough segments", "authorizer: bad token")
r = H("GET", "/private/?x=1", headers=bearer("aaaaa.bbbbb.ccccc"))
denial(r, 422, "Invalid header padding", "authorizer: bad header padding (with a query)")
r = H("GET", "/private/", headers=bearer(refresh))
denial(r, 422, "Only non-refresh tokens are allowed", "authorizer: refresh token refused")
expired = jwt.encode({"fresh": False, "iat": int(time.time()) - 100, "jti": "x", "type": "access",
                      "sub": "testuser", "nbf": int(time.time()) - 100,
                      "exp": int(time.time()) - 5}, SECRET, algorithm="HS256")
r = H("GET", "/private/", headers=bearer(expired))
denial(r, 401, "Token has expired", "authorizer: expired token",
       'Bearer error="invalid_token", error_description="Token has expired"')
# A POST with the cookie but no CSRF header: the renderer must not re-check
# the request as the GET nginx turns it into.
r = H("POST", "/private/", headers={"Cookie": "access_token_cookie=%s; csrf_access_token=%s"
                                    % (access, ck.get("csrf_access_token"))})
denial(r, 401, "Missing CSRF token", "authorizer: POST cookie without CSRF header")
r = H("HEAD", "/private/")
R.eq((r.status, r.header("Content-Type"), r.body), (401, "application/json", b""),
     "authorizer: HEAD denied 401 without a body")
r = H("GET", "/admin-area/", headers=bearer(access))
denial(r, 400, "User claims verification failed", "authorizer: required claims (400)")
r = H("GET", "/down-area/", headers=bearer(access))
denial(r, 503, "Token revocation store unavailable", "authorizer: store down fails closed (503)")
r = H("GET", "/bare-error/")
R.eq(r.status, 500, "renderer: without JWTX_ERROR_STATUS/BODY it answers 500")
r = H("GET", "/_jwtx_auth", headers=bearer(access))
R.eq(r.status, 404, "auth locations are internal (404 to clients)")

# ---- the legacy CGI program through fcgiwrap --------------------------------
r = H("GET", "/legacy/whoami.cgi", headers=bearer(access))
text = r.body.decode("utf-8", "replace")
R.check(r.status == 200 and "remote_user=testuser\n" in text,
        "legacy CGI: receives REMOTE_USER (not the empty one of fastcgi_params)", text)
R.check("jwt_identity=testuser\n" in text and "jwt_type=access\n" in text and
        "jwt_fresh=true\n" in text, "legacy CGI: receives JWT_IDENTITY, JWT_TYPE, JWT_FRESH", text)
cl = harness.cgi_claims(text)
R.eq((cl.get("sub"), cl.get("team"), cl.get("roles")), ("testuser", "blue", ["reader"]),
     "legacy CGI: receives JWT_CLAIMS with the user's claims")
r = H("GET", "/legacy/whoami.cgi")
denial(r, 401, MISSING_TEXT, "legacy CGI: no token", "Bearer")
r = H("GET", "/legacy/whoami.cgi", headers=bearer("a.b"))
denial(r, 422, "Not enough segments", "legacy CGI: bad token")

# ---- fresh-only policy -------------------------------------------------------
r = H("POST", "/refresh", headers=bearer(refresh))
new_access = (r.json() or {}).get("access_token", "")
R.check(r.status == 200 and new_access, "refresh: new (non-fresh) access token")
r = H("GET", "/private/fresh/", headers=bearer(access))
R.check(r.status == 200 and b"fresh-marker" in r.body, "fresh: fresh token reaches the fresh folder")
r = H("GET", "/private/fresh/", headers=bearer(new_access))
denial(r, 401, "Fresh token required", "fresh: second auth location refuses a non-fresh token")
for path in ("/private//fresh/", "/private/./fresh/", "/private/%66resh/", "/private/x/../fresh/"):
    r = H("GET", path, headers=bearer(new_access))
    R.check(r.status != 200, "fresh: %s does not escape the fresh policy" % path,
            "%d %r" % (r.status, r.body[:60]))
r = H("GET", "/private/", headers=bearer(new_access))
R.eq(r.status, 200, "fresh: the ordinary folder takes the non-fresh token")
r = H("GET", "/fresh", headers=bearer(new_access))
R.eq((r.status, r.body), (401, msg("Fresh token required")), "fresh: responder route too")

# ---- every policy route keeps its policy under every spelling of its path ----
POLICY_TABLE = (("/private/fresh/", bearer(new_access), (401, msg("Fresh token required"))),
                ("/fresh", bearer(new_access), (401, msg("Fresh token required"))),
                ("/optional", {}, (200, b'{"logged_in_as":"anonymous user"}\n')),
                ("/admin-area/", bearer(access), (400, msg("User claims verification failed"))))
for path, headers, policy in POLICY_TABLE:
    harness.policy_table(R, port, "nginx", path, headers, policy)

# ---- plain CGI through fcgiwrap ----------------------------------------------
r = H("GET", "/cgi/protected.fcgi", headers=bearer(access))
R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), "plain CGI: protected 200")
r = H("POST", "/cgi/login.fcgi", body={"username": "testuser", "password": "testpass"})
R.check(r.status == 200 and "access_token" in (r.json() or {}), "plain CGI: login works")

# ---- logout revokes ------------------------------------------------------------
a2 = login().json() or {}
acc2 = a2.get("access_token", "")
r = H("POST", "/logout", headers=bearer(acc2))
R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'), "logout: access token revoked")
r = H("GET", "/protected", headers=bearer(acc2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: responder refuses it")
r = H("GET", "/private/", headers=bearer(acc2))
denial(r, 401, "Token has been revoked", "logout: authorizer refuses it")
r = H("GET", "/legacy/whoami.cgi", headers=bearer(acc2))
R.eq((r.status, r.body), (401, msg("Token has been revoked")), "logout: legacy CGI refused too")

# ---- answers nginx gives itself (jwtx-error-pages.conf) --------------------------


def raw(kind, path="/protected", headers=None):
    return harness.raw_request(port, kind, path, headers)


acc3 = (login().json() or {}).get("access_token", "")
r = raw("post-no-length", "/logout", bearer(acc3))
R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'),
     "POST /logout without Content-Length reaches jwtx (nginx has no 411 for it)")
harness.check_server_answer(R, raw("garbage"), 400, "an unparsable request line")
harness.check_server_answer(R, raw("bad-header-line"), 400, "a header line without a colon")
harness.check_server_answer(R, raw("long-header"), 400, "a header over 8 KiB (nginx: 400)",
                            harness.SERVER_ERROR_TEXT[431])
harness.check_server_answer(R, raw("long-url"), 414, "a 10,000-byte URL")
harness.check_server_answer(R, raw("big-body", "/login"), 413, "a 70,000-byte body to /login")
harness.check_server_answer(R, raw("big-body", "/private/"), 413,
                            "a 70,000-byte body to a protected folder (error_page in jwtx-protect.conf)")
harness.check_server_answer(R, raw("te-gzip", "/login"), 501, "Transfer-Encoding: gzip")
harness.check_server_answer(R, raw("http-2.0"), 505, "HTTP/2.0 in the request line")
harness.check_server_answer(R, raw("get", "/test-unreachable"), 502, "a jwtx program not running")
harness.check_server_answer(R, raw("get", "/test-slow"), 504, "a jwtx program that never answers")
harness.check_server_answer(R, raw("get", "/test-auth-unreachable/", bearer(access)), 500,
                            "an authorizer not running (auth_request: 500)")
harness.check_server_answer(R, raw("get", "/test-status-503"), 503, "nginx's own 503")
harness.check_html_answer(R, raw("get", "/no-such-page"), 404, "an unknown page (the site's 404)")
r = H("GET", "/_jwtx_errors/jwtx-error-400.html")
R.eq(r.status, 404, "the error files are internal (404 to clients)")
r = H("GET", "/login.html")
R.check(r.status == 200 and (r.header("Content-Type") or "").startswith("text/html"),
        "the site's pages keep their types")

# ---- the audit log (JWTX_AUDIT_LOG = "server") ----------------------------------
# login.fcgi writes its audit lines to the request's FastCGI error stream;
# nginx logs each as 'FastCGI sent in stderr: "..."' in its error log.
harness.login(port, user="audit\nprobe", password="nope")
time.sleep(0.3)
audit = [ln for ln in harness.tail(os.path.join(run, "error.log"), 10 ** 7).splitlines()
         if 'event=login_failure' in ln and 'user="audit\\nprobe"' in ln]
print("# nginx error log line: %s" % (audit[:1],))
R.check(len(audit) == 1 and 'FastCGI sent in stderr: "time=' in audit[0]
        and " addr=127.0.0.1 " in audit[0] and "reason=unknown_user" in audit[0],
        "audit: the login_failure line is in nginx's error log, escaped, as FastCGI stderr")

# ---- a crashed process: the route's other process answers -------------------
# spawn-fcgi -F 2: two processes accept on one socket; SIGKILL one of each
# route under load, and the other answers everything after it (no 503, no 502
# but for requests inside the killed process). Nothing restarts the killed one.
out = login().json() or {}
crash = (("refresh", lambda: H("POST", "/refresh", headers=bearer(out.get("refresh_token", ""))).status,
          (200,)),
         ("logout", lambda: H("POST", "/logout", headers=bearer(out.get("access_token", ""))).status,
          (200, 401)),
         ("authorizer", lambda: H("GET", "/private/", headers=bearer(refresh)).status, (422,)),
         ("fcgiwrap", lambda: H("GET", "/legacy/whoami.cgi", headers=bearer(access)).status, (200,)))
for name, send, want in crash:
    killed = harness.survives_a_crash(R, "crash: " + name, list(pids_of.get(name, [])), send, want)
    if killed:
        daemons.remove(killed)  # gone: never signal a pid that may be reused

stop_nginx()
R.eq(nginx.returncode is not None, True, "nginx stopped")
R.finish()
