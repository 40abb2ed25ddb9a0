"""Integration suite: the production lighttpd recipes, included unchanged.

conf/lighttpd/jwtx.conf (FastCGI: lighttpd spawns every program) and
conf/lighttpd/jwtx-cgi.conf (the same binaries as plain CGI scripts, the
authorizer as FastCGI) are each included from a small lighttpd.conf that sets
the server basics and the recipe's variables (var.jwtx_bin, var.jwtx_conf,
var.jwtx_run, var.jwtx_procs), the way a site includes them. For each recipe
the same checks run as the client sees them: login, the protected example,
the authorizer in front of a static folder and a legacy CGI program (which
receives REMOTE_USER and JWT_*), denials with jwtx's status and JSON body,
the fresh-only policy, JWKS, and revocation after logout; every policy route
under every spelling of its path (with a test-only required-claims folder
/admin/), and a crash of one process of a route under load.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

R = harness.Results("lighttpd-recipes")
ROOT = harness.ROOT
SECRET = "recipes-suite-secret-0123456789abcdef0123456789abcdef"
MISSING = harness.MISSING_TEXT

run = harness.tmpdir("recipes-")
CONF = harness.write_text(os.path.join(run, "jwtx.conf"), harness.gateway_conf(SECRET, run))
harness.init_store(CONF)  # as the installer does
os.mkdir(os.path.join(run, "test-cgi"))
os.chmod(harness.write_text(os.path.join(run, "test-cgi", "dies.cgi"), "#!/bin/sh\nexit 1\n"), 0o755)

MAIN = """
server.modules        = ( "mod_access", "mod_alias" )
server.bind           = "127.0.0.1"
server.port           = %(port)d
server.document-root  = "%(www)s"
server.errorlog       = "%(run)s/%(name)s-error.log"
server.pid-file       = "%(run)s/%(name)s.pid"
index-file.names      = ( "index.html" )
mimetype.assign       = ( ".html" => "text/html; charset=utf-8", ".json" => "application/json" )

var.jwtx_bin   = "%(bin)s"
var.jwtx_conf  = "%(conf)s"
var.jwtx_run   = "%(sockets)s"
var.jwtx_procs = 2
var.jwtx_errors = "%(errors)s"
include "%(recipe)s"

# Test-only: an area with a required-claims policy, written the way the
# recipe's own areas are (the policy in the condition that protects it).
$HTTP["url"] =~ "^/admin/" {
    alias.url = ( "/admin/" => "%(www)s/private/" )
    setenv.add-environment = ( "JWTX_REQUIRE_CLAIMS" => "{\\"roles\\": \\"admin\\"}" )
    fastcgi.server = ( "/admin/" => ( var.jwtx_authorizer ) )
}
# Test-only routes: a FastCGI program that cannot be reached (503) and a CGI
# program that dies without an answer (500).
$HTTP["url"] == "/test-unreachable" {
    fastcgi.server = ( "/test-unreachable" => ( (
        "socket" => "%(run)s/%(name)s-nothing.sock", "check-local" => "disable" ) ) )
}
$HTTP["url"] =~ "^/test-cgi/" {
    alias.url = ( "/test-cgi/" => "%(run)s/test-cgi/" )
    cgi.assign = ( ".cgi" => "" )
}
"""


class Server:
    def __init__(self, name, recipe):
        self.name = name
        self.port = harness.free_port()
        sockets = os.path.join(run, name)
        os.mkdir(sockets)
        self.lconf = os.path.join(run, name + ".conf")
        with open(self.lconf, "w") as f:
            f.write(MAIN % {"port": self.port, "www": os.path.join(ROOT, "conf", "demo-www"),
                            "run": run, "name": name, "bin": os.path.join(ROOT, "cgi-bin"),
                            "conf": CONF, "sockets": sockets,
                            "errors": os.path.join(ROOT, "conf", "errors"),
                            "recipe": os.path.join(ROOT, "conf", "lighttpd", recipe)})
        t = subprocess.run(["lighttpd", "-tt", "-f", self.lconf], capture_output=True, text=True)
        R.check(t.returncode == 0, "%s: lighttpd -tt accepts the recipe" % name, t.stderr)
        self.proc = harness.start(["lighttpd", "-D", "-f", self.lconf])
        ok = harness.wait_port(self.port) and self.proc.poll() is None
        if not R.check(ok, "%s: lighttpd bound 127.0.0.1:%d" % (name, self.port)):
            print(harness.tail(os.path.join(run, name + "-error.log")))
            R.finish()

    def stop(self):
        harness.stop(self.proc)
        self.proc = None

    def children(self):
        """The names of lighttpd's child processes (the programs it spawned)."""
        pids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                              text=True).stdout
        return {harness.tail("/proc/%s/comm" % pid).strip() for pid in pids.split()} - {""}


def checks(srv):
    n = srv.name

    def H(method, path, headers=None, body=None):
        return harness.request(srv.port, method, path, headers, body)

    def login():
        return harness.login(srv.port)

    def denial(r, status, text, what):
        R.eq((r.status, r.body), (status, msg(text)), "%s: %s: status and JSON body" % (n, what))
        R.eq(r.header("Content-Type"), "application/json",
             "%s: %s: Content-Type application/json" % (n, what))
        wa = r.all("WWW-Authenticate")
        R.check(len(wa) == 1 if status == 401 else wa == [],
                "%s: %s: WWW-Authenticate once on 401 only" % (n, what), repr(wa))

    # login and the protected example
    a = login()
    body = a.json() or {}
    R.eq((a.status, sorted(body)), (200, ["access_token", "refresh_token"]), n + ": login: tokens")
    R.eq(a.header("Content-Type"), "application/json", n + ": login: JSON content type")
    ck = a.cookies()
    R.eq(sorted(ck), ["access_token_cookie", "csrf_access_token", "csrf_refresh_token",
                      "refresh_token_cookie"], n + ": login: the four cookies")
    access, refresh = body.get("access_token", ""), body.get("refresh_token", "")
    r = harness.login(srv.port, password="bad")
    R.eq((r.status, r.body), (401, msg("Bad username or password")), n + ": login: wrong password")
    r = H("GET", "/protected", headers=bearer(access))
    R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), n + ": protected: token 200")
    r = H("GET", "/protected", headers={"Cookie": "access_token_cookie=" + access})
    R.eq(r.status, 200, n + ": protected: cookie token 200")
    r = H("GET", "/protected")
    denial(r, 401, MISSING, "protected: no token")
    r = H("GET", "/protectedx", headers=bearer(access))
    R.eq(r.status, 404, n + ": a look-alike URL is not routed to jwtx")
    r = H("GET", "/.well-known/jwks.json")
    R.eq((r.status, r.json()), (200, {"keys": []}), n + ": jwks: 200")

    # the authorizer: static folder
    r = H("GET", "/private/", headers=bearer(access))
    R.check(r.status == 200 and b"private-marker" in r.body, n + ": authorizer: static folder allowed")
    r = H("GET", "/private/")
    denial(r, 401, MISSING, "authorizer: no token")
    r = H("GET", "/private/", headers=bearer("foobarbaz"))
    denial(r, 422, "Not enough segments", "authorizer: bad token")
    # the authorizer: legacy CGI
    r = H("GET", "/legacy/whoami.cgi", headers=bearer(access))
    text = r.body.decode("utf-8", "replace")
    R.check(r.status == 200 and "remote_user=testuser\n" in text,
            n + ": legacy CGI: receives REMOTE_USER", text)
    R.check("jwt_identity=testuser\n" in text and "jwt_type=access\n" in text and
            "jwt_fresh=true\n" in text, n + ": legacy CGI: receives JWT_IDENTITY/TYPE/FRESH", text)
    cl = harness.cgi_claims(text)
    R.eq((cl.get("sub"), cl.get("team")), ("testuser", "blue"), n + ": legacy CGI: receives JWT_CLAIMS")
    r = H("GET", "/legacy/whoami.cgi")
    denial(r, 401, MISSING, "legacy CGI: no token")
    r = H("GET", "/legacy/whoami.cgi", headers=bearer("x.y"))
    denial(r, 422, "Not enough segments", "legacy CGI: bad token")

    # fresh-only policy
    r = H("POST", "/refresh", headers=bearer(refresh))
    new_access = (r.json() or {}).get("access_token", "")
    R.check(r.status == 200 and new_access, n + ": refresh: non-fresh access token")
    r = H("GET", "/private/fresh/", headers=bearer(access))
    R.check(r.status == 200 and b"fresh-marker" in r.body, n + ": fresh folder: fresh token 200")
    r = H("GET", "/private/fresh/", headers=bearer(new_access))
    denial(r, 401, "Fresh token required", "fresh folder: non-fresh token")
    for path in ("/private//fresh/", "/private/./fresh/", "/private/%66resh/",
                 "/private/x/../fresh/"):
        r = H("GET", path, headers=bearer(new_access))
        R.check(r.status != 200, n + ": %s does not escape the fresh policy" % path,
                "%d %r" % (r.status, r.body[:60]))
    r = H("GET", "/private/", headers=bearer(new_access))
    R.eq(r.status, 200, n + ": ordinary folder takes the non-fresh token")
    r = H("GET", "/fresh", headers=bearer(access))
    R.eq(r.status, 200, n + ": /fresh: fresh token 200")
    r = H("GET", "/fresh", headers=bearer(new_access))
    denial(r, 401, "Fresh token required", "/fresh: non-fresh token")
    r = H("GET", "/fresh?x=1", headers=bearer(new_access))
    R.eq((r.status, r.body), (401, msg("Fresh token required")),
         n + ": /fresh?query: a query string does not escape the policy")
    r = H("GET", "/protected", headers=bearer(new_access))
    R.eq(r.status, 200, n + ": /protected takes the non-fresh token")
    for path in ("/fresh/", "/freshly", "/fresh/x"):
        r = H("GET", path, headers=bearer(new_access))
        R.check(r.status != 200, n + ": %s is not the fresh route without its policy" % path,
                "%d %r" % (r.status, r.body[:60]))

    # every policy route keeps its policy under every spelling of its path
    r = H("GET", "/admin/", headers=bearer(new_access))
    denial(r, 400, "User claims verification failed", "admin area: token without the claim")
    table = (("/private/fresh/", bearer(new_access), (401, msg("Fresh token required"))),
             ("/fresh", bearer(new_access), (401, msg("Fresh token required"))),
             ("/admin/", bearer(access), (400, msg("User claims verification failed"))))
    for path, headers, policy in table:
        harness.policy_table(R, srv.port, n, path, headers, policy)

    # logout revokes
    acc2 = (login().json() or {}).get("access_token", "")
    r = H("POST", "/logout", headers=bearer(acc2))
    R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'), n + ": logout: revoked")
    r = H("GET", "/protected", headers=bearer(acc2))
    denial(r, 401, "Token has been revoked", "logout: reused token at /protected")
    r = H("GET", "/private/", headers=bearer(acc2))
    denial(r, 401, "Token has been revoked", "logout: reused token at the authorizer")


def crashes(srv, routes):
    """SIGKILL one process of each route under load: no 503 after it."""
    tok = (harness.login(srv.port).json() or {})
    sends = {
        "refresh.fcgi": (lambda: harness.request(srv.port, "POST", "/refresh",
                                                 bearer(tok.get("refresh_token", ""))).status, (200,)),
        "logout.fcgi": (lambda: harness.request(srv.port, "POST", "/logout",
                                                bearer(tok.get("access_token", ""))).status, (200, 401)),
        "jwks.fcgi": (lambda: harness.request(srv.port, "GET", "/.well-known/jwks.json").status, (200,)),
        "authorizer.fcgi": (lambda: harness.request(srv.port, "GET", "/private/",
                                                    bearer(tok.get("refresh_token", ""))).status, (422,)),
    }
    for route in routes:
        send, want = sends[route]
        harness.survives_a_crash(R, "%s: crash: %s" % (srv.name, route),
                                 harness.descendants(srv.proc.pid, route), send, want)


def error_answers(srv):
    """What lighttpd answers itself (the recipe's "Error answers" block)."""
    n = srv.name

    def raw(kind, path="/protected", headers=None):
        return harness.raw_request(srv.port, kind, path, headers)

    token = (harness.login(srv.port).json() or {}).get("access_token", "")
    for path in ("/logout", "/refresh"):
        r = raw("post-no-length", path, bearer(token))
        harness.check_server_answer(R, r, 411, n + ": POST %s without Content-Length" % path)
    r = raw("post-length-0", "/logout", bearer(token))
    R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'),
         n + ": POST /logout with Content-Length: 0 reaches jwtx")
    harness.check_server_answer(R, raw("garbage"), 400, n + ": an unparsable request line")
    harness.check_server_answer(R, raw("bad-header-line"), 400, n + ": a header line without a colon")
    harness.check_server_answer(R, raw("long-header"), 431, n + ": 10,000 bytes of headers")
    harness.check_server_answer(R, raw("long-url"), 431, n + ": a 10,000-byte URL (431, lighttpd has no 414)")
    harness.check_server_answer(R, raw("big-body", "/login"), 413, n + ": a 70,000-byte body to /login")
    harness.check_server_answer(R, raw("unknown-method"), 501, n + ": an unknown method")
    harness.check_server_answer(R, raw("http-2.0"), 505, n + ": HTTP/2.0 in the request line")
    harness.check_server_answer(R, raw("get", "/test-cgi/dies.cgi"), 500, n + ": a program that dies")
    harness.check_server_answer(R, raw("get", "/test-unreachable"), 503, n + ": a program not running")
    # The site's own pages are not jwtx's: 404 stays lighttpd's page.
    harness.check_html_answer(R, raw("get", "/no-such-page"), 404, n + ": an unknown page")
    # jwtx's own answers pass unchanged (status, body, no-store)
    r = raw("get", "/private/")
    R.eq((r.status, r.header("Content-Type"), r.body), (401, "application/json", msg(MISSING)),
         n + ": a jwtx denial is still jwtx's answer")


fcgi = Server("fastcgi", "jwtx.conf")
checks(fcgi)
error_answers(fcgi)
# lighttpd spawned the programs: they are its children and keep running.
names = fcgi.children()
R.check({"login.fcgi", "authorizer.fcgi", "protected.fcgi"} <= names,
        "fastcgi: lighttpd runs the programs as its FastCGI children", repr(sorted(names)))
crashes(fcgi, ("refresh.fcgi", "logout.fcgi", "jwks.fcgi"))
fcgi.stop()

cgi = Server("cgi", "jwtx-cgi.conf")
checks(cgi)
error_answers(cgi)
names = cgi.children()
R.check("authorizer.fcgi" in names and "login.fcgi" not in names and "protected.fcgi" not in names,
        "cgi: only the authorizer stays running; the responders ran as CGI", repr(sorted(names)))
crashes(cgi, ("authorizer.fcgi",))
cgi.stop()
R.finish()
