"""Integration suite: the recipes of conf/apache/ behind a real Apache 2.4.

For every recipe (mod_fcgid from the server config, the same from .htaccess,
mod_authnz_fcgi with spawn-fcgi daemons, plain mod_cgi) this starts its own
Apache (prefork) on a free 127.0.0.1 port with its own ServerRoot, PidFile,
DefaultRuntimeDir and FcgidIPCDir under a temp folder, drives the gateway
routes and the authorizer in front of a static folder and a legacy CGI
program with real HTTP, sends every policy route under every spelling of its
path (harness.policy_table; a test-only required-claims folder /admin/ joins
the recipe's /private/fresh/, /fresh and /optional), kills one process of
refresh, logout and the authorizer under load (harness.survives_a_crash), and
stops the server and every daemon it started.

Apache is started under setsid: prefork SIGTERMs its whole process group on
shutdown (notes/web-servers.md section 9), which would kill this script.
"""
import os
import pwd
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg, pid_alive, stop_pid, tail  # noqa: E402

import jwt  # Debian python3-jwt

R = harness.Results("apache")
ROOT = harness.ROOT
APACHE_DIR = os.path.join(ROOT, "conf", "apache")
BIN = os.path.join(ROOT, "cgi-bin")
WWW = os.path.join(ROOT, "conf", "demo-www")
SECRET = "apache-integration-secret-0123456789abcdef0123456789"
AS_ROOT = os.geteuid() == 0
# Apache children (and the spawn-fcgi daemons) run as www-data when we are
# root, the usual Debian user; otherwise Apache cannot switch users at all.
RUN_USER = "www-data" if AS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
MISSING = harness.MISSING_TEXT
ERRORS = os.path.join(ROOT, "conf", "errors")
# Test-only lines after the recipe: Apache itself answering a status (mod_alias
# Redirect with a status takes the same error path as a failed program).
# .htaccess maps fewer statuses (see its "Error answers" block).
STATUSES = (411, 413, 500, 501, 502, 503, 504)
HTACCESS_STATUSES = (413, 500, 502, 503, 504)


def status_lines(statuses):
    return "".join("Redirect %d /test-status/%d\n" % (n, n) for n in statuses)


TEST_STATUS_LINES = status_lines(STATUSES)


def down_conf(run):
    """A jwtx conf whose revocation store is down (a closed Redis port): the
    authorizer answers 503 itself."""
    path = harness.write_text(os.path.join(run, "jwtx-down.conf"),
                              'JWT_SECRET_KEY = "%s"\nJWTX_BLOCKLIST = "redis://127.0.0.1:%d/0"\n'
                              % (SECRET, harness.free_port()))
    give_to_run_user(run)
    return path


# A route whose policy no token of the suite meets: the authorizer answers 400.
# The policy goes inside the route's section (per-directory, decoded path).
CLAIMS_POLICY = 'SetEnvIf Request_URI "^" JWTX_REQUIRE_CLAIMS={"roles":"admin"}'


def own_answers_kept(name, srv):
    """The authorizer's own 400 and 503 (statuses the error files map too)
    reach the client as jwtx wrote them, not as the static error file."""
    token = (harness.login(srv.port).json() or {}).get("access_token", "")
    r = srv.request("GET", "/test-claims/", headers=bearer(token))
    R.eq((r.status, r.header("Content-Type"), r.body),
         (400, "application/json", msg("User claims verification failed")),
         "%s: the authorizer's own 400 is not replaced by the error file" % name)
    r = srv.request("GET", "/test-down/", headers=bearer(token))
    R.eq((r.status, r.header("Content-Type"), r.body),
         (503, "application/json", msg("Token revocation store unavailable")),
         "%s: the authorizer's own 503 is not replaced by the error file" % name)


def with_test_lines(run, recipe, extra=""):
    """A file that includes the recipe unchanged, then the test-only lines."""
    return harness.write_text(os.path.join(run, "recipe-under-test.conf"),
                              'Include "%s"\n%s%s' % (recipe, TEST_STATUS_LINES, extra))


def give_to_run_user(path):
    """The run folder must be readable and writable by the children (SQLite
    writes its -wal/-shm files beside the database)."""
    if not AS_ROOT:
        return
    pw = pwd.getpwnam(RUN_USER)
    for d, dirs, files in os.walk(path):
        for n in [d] + [os.path.join(d, f) for f in dirs + files]:
            os.chown(n, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o755)


def new_run(name):
    """A run folder with the jwtx conf and a copy of the demo site, plus a
    test-only folder admin/ that a required-claims policy guards."""
    run = harness.tmpdir("apache-%s-" % name)
    for sub in ("run", "fcgid"):
        os.mkdir(os.path.join(run, sub))
    conf = harness.write_text(os.path.join(run, "jwtx.conf"), harness.gateway_conf(SECRET, run))
    harness.init_store(conf)  # as the installer does; then owned by the run user
    www = os.path.join(run, "www")
    shutil.copytree(WWW, www, symlinks=True)
    os.mkdir(os.path.join(www, "admin"))
    harness.write_text(os.path.join(www, "admin", "index.html"), "<p>admin-marker</p>\n")
    give_to_run_user(run)
    return run, conf, www


# A test-only area with a required-claims policy, the way README tells a site
# to add one: the policy is set (SetEnvIf) inside the section that protects
# the folder, so Apache evaluates it on the decoded, normalised path.
ADMIN_POLICY = CLAIMS_POLICY
ADMIN_AREA = {
    "fcgid": """
<Location "/admin/">
    CGIPassAuth On
    FcgidAccessChecker "${JWTX_BIN}/authorizer.fcgi"
    ErrorDocument 401 /jwtx-error
    %s
</Location>
""" % ADMIN_POLICY,
    "htaccess": """
<If "%%{REQUEST_URI} =~ m#^/admin/#">
    FcgidAccessChecker "@WRAPPER@"
    ErrorDocument 401 /jwtx-error
    %s
</If>
""" % ADMIN_POLICY,
    "authnz": """
<Location "/admin/">
    AuthType jwtx
    AuthName "jwtx"
    AuthnzFcgiCheckAuthnProvider jwtx Authoritative On RequireBasicAuth Off \\
        UserExpr "%%{reqenv:REMOTE_USER}"
    Require valid-user
    CGIPassAuth On
    Header always set Content-Type "application/json" "expr=-n %%{resp:X-JWT-Status}"
    %s
</Location>
""" % ADMIN_POLICY,
    "cgi": """
<Location "/admin/">
    SetHandler jwtx-guarded
    %s
</Location>
""" % ADMIN_POLICY,
}


class SpawnFcgi:
    """One program as a TCP FastCGI daemon on 127.0.0.1 (spawn-fcgi)."""

    def __init__(self, run, prog, conf, name):
        # -F 2, as the recipe says: one crashed process leaves the other.
        self.port, self.pids = harness.spawn_fcgi(
            os.path.join(BIN, prog), os.path.join(run, "run", "spawn-%s.pid" % name),
            {"PATH": "/usr/bin:/bin", "JWTX_CONF": conf}, procs=2,
            user=RUN_USER if AS_ROOT else None, tries=5)
        self.started = list(self.pids)

    def stop(self):
        for pid in self.pids:
            stop_pid(pid)
        self.pids = []


class Apache:
    """conf/apache/standalone.conf around one recipe, with the given Defines."""

    def __init__(self, run, recipe, defines, flags=()):
        self.run = run
        self.pidfile = os.path.join(run, "run", "httpd.pid")
        self.errlog = os.path.join(run, "error.log")
        self.pid = 0
        for _ in range(3):
            self.port = harness.free_port()
            lines = ["Define JWTX_SERVER_ROOT %s" % run, "Define JWTX_PORT %d" % self.port,
                     "Define JWTX_USER %s" % RUN_USER, "Define JWTX_RECIPE %s" % recipe]
            lines += ["Define %s" % f for f in flags]
            lines += ["Define %s %s" % kv for kv in defines]
            lines.append("Include %s" % os.path.join(APACHE_DIR, "standalone.conf"))
            self.conf = os.path.join(run, "httpd.conf")
            with open(self.conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            give_to_run_user(run)
            p = subprocess.run(["setsid", "apache2", "-f", self.conf, "-k", "start"],
                               capture_output=True, text=True, start_new_session=True)
            if p.returncode != 0:
                raise RuntimeError("apache2 -k start: %s%s" % (p.stdout, p.stderr))
            if self._wait_started():
                return
            self.stop()
        raise RuntimeError("apache did not start: %s" % tail(self.errlog))

    def _wait_started(self):
        end = time.time() + 10
        while time.time() < end:
            txt = tail(self.pidfile, 100).strip()
            if txt.isdigit():
                self.pid = int(txt)
            if "could not bind" in tail(self.errlog):
                return False
            if self.pid and harness.wait_port(self.port, 0.2):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        """SIGTERM to the pid in its own PidFile (apache2 -k stop does the
        same); the parent stops its children and the fcgid processes."""
        if not self.pid:
            txt = tail(self.pidfile, 100).strip()
            self.pid = int(txt) if txt.isdigit() else 0
        stop_pid(self.pid, 15.0)
        self.pid = 0

    def request(self, method, path, headers=None, body=None):
        return harness.request(self.port, method, path, headers, body)


def leaked_variables(ans):
    return [k for k, _ in ans.headers if k.lower().startswith("variable-")]


def check_recipe(name, srv, bad_token_status=422, bad_token_ctype="application/json"):
    """The checks every recipe must pass."""
    H = srv.request

    def t(what):
        return "%s: %s" % (name, what)

    # login
    a = harness.login(srv.port)
    body = a.json() or {}
    R.eq((a.status, sorted(body)), (200, ["access_token", "refresh_token"]), t("login gives tokens"))
    R.eq(sorted(a.cookies()), ["access_token_cookie", "csrf_access_token", "csrf_refresh_token",
                               "refresh_token_cookie"], t("login sets the four cookies"))
    R.eq(a.header("Content-Type"), "application/json", t("login answers JSON"))
    access, refresh = body.get("access_token", ""), body.get("refresh_token", "")
    r = harness.login(srv.port, password="nope")
    R.eq((r.status, r.body), (401, msg("Bad username or password")), t("login: wrong password 401"))
    # the audit line of that failure (JWTX_AUDIT_LOG = "server"): Apache writes
    # the program's FastCGI error stream (CGI: stderr) to its error log
    time.sleep(0.3)
    audit = [ln for ln in tail(srv.errlog, 10 ** 7).splitlines()
             if "event=login_failure" in ln and "reason=wrong_password" in ln]
    print("# %s: audit line in Apache's error log: %s" % (name, audit[-1:]))
    R.check(len(audit) == 1 and ' user="testuser" route="/login"' in audit[0],
            t("audit: the login_failure line is in Apache's error log"), repr(audit[-2:]))

    # responders
    r = H("GET", "/protected", headers=bearer(access))
    R.eq((r.status, r.body), (200, b'{"logged_in_as":"testuser"}\n'), t("/protected with the token"))
    r = H("GET", "/protected")
    R.eq((r.status, r.body), (401, msg(MISSING)), t("/protected without a token"))
    r = H("GET", "/optional")
    R.eq((r.status, r.body), (200, b'{"logged_in_as":"anonymous user"}\n'),
         t("/optional without a token (JWTX_OPTIONAL)"))
    r = H("GET", "/.well-known/jwks.json")
    R.eq((r.status, r.json()), (200, {"keys": []}), t("jwks"))

    # the authorizer allows
    r = H("GET", "/private/", headers=bearer(access))
    R.check(r.status == 200 and b"private-marker" in r.body, t("static folder allowed with the token"),
            "%d %r" % (r.status, r.body[:300]))
    R.eq(leaked_variables(r), [], t("no Variable-* header reaches the client (static)"))
    r = H("GET", "/legacy/whoami.cgi", headers=bearer(access))
    text = r.body.decode("utf-8", "replace")
    R.check(r.status == 200 and "remote_user=testuser\n" in text and "jwt_identity=testuser\n" in text,
            t("legacy CGI gets REMOTE_USER and JWT_IDENTITY"), "%d %r" % (r.status, text[:400]))
    got_claims = harness.cgi_claims(text)
    want_claims = jwt.decode(access, SECRET, algorithms=["HS256"]) if access else {"x": 1}
    R.eq(got_claims, want_claims, t("legacy CGI gets the token's claims (JWT_CLAIMS)"))
    R.check("jwt_type=access\n" in text and "jwt_fresh=true\n" in text,
            t("legacy CGI gets JWT_TYPE and JWT_FRESH"))
    R.eq(leaked_variables(r), [], t("no Variable-* header reaches the client (CGI)"))

    # the authorizer denies
    for path in ("/private/", "/legacy/whoami.cgi"):
        r = H("GET", path)
        R.eq((r.status, r.header("Content-Type"), r.body), (401, "application/json", msg(MISSING)),
             t("%s without a token: 401, JSON, the jwtx body" % path))
        R.check((r.header("WWW-Authenticate") or "").startswith("Bearer"),
                t("%s without a token: WWW-Authenticate Bearer" % path))
        R.eq(leaked_variables(r), [], t("%s denial has no Variable-* header" % path))
    for method in ("OPTIONS", "options"):
        r = H(method, "/legacy/whoami.cgi")
        R.check(r.status >= 400 and b"remote_user" not in r.body,
                t("%s without a token never runs the legacy CGI" % method),
                "%d %r" % (r.status, r.body[:80]))
    r = H("GET", "/private/", headers=bearer("abc.def"))
    R.eq((r.status, r.header("Content-Type"), r.body),
         (bad_token_status, bad_token_ctype, msg("Not enough segments")),
         t("static folder with a bad token"))
    r = H("GET", "/private/index.html", headers=bearer(access[:-4] + "AAAA"))
    R.eq((r.status, r.body), (bad_token_status, msg("Signature verification failed")),
         t("static file with a forged signature"))

    # per-route policy: fresh-only routes refuse a refreshed token
    r = H("POST", "/refresh", headers=bearer(refresh))
    new_access = (r.json() or {}).get("access_token", "")
    R.check(r.status == 200 and new_access, t("refresh gives a new access token"))
    r = H("GET", "/fresh", headers=bearer(new_access))
    R.eq((r.status, r.body), (401, msg("Fresh token required")), t("/fresh refuses a refreshed token"))
    r = H("GET", "/private/fresh/", headers=bearer(new_access))
    R.eq((r.status, r.header("Content-Type"), r.body), (401, "application/json", msg("Fresh token required")),
         t("authorizer: fresh-only folder refuses a refreshed token (SetEnvIf policy)"))
    r = H("GET", "/private/fresh/", headers=bearer(access))
    R.check(r.status == 200 and b"fresh-marker" in r.body, t("authorizer: fresh token reaches the fresh folder"))
    r = H("GET", "/private/", headers=bearer(new_access))
    R.eq(r.status, 200, t("authorizer: refreshed token is fine outside the fresh folder"))

    # every policy route keeps its policy under every spelling of its path
    now = int(time.time())
    admin = jwt.encode({"fresh": True, "iat": now, "jti": "admin-%f" % time.time(), "type": "access",
                        "sub": "testuser", "nbf": now, "exp": now + 600, "roles": ["admin"]},
                       SECRET, algorithm="HS256")
    r = H("GET", "/admin/", headers=bearer(admin))
    R.check(r.status == 200 and b"admin-marker" in r.body, t("admin area: a token with the claim reaches it"),
            "%d %r" % (r.status, r.body[:200]))
    table = (("/private/fresh/", bearer(new_access), (401, msg("Fresh token required"))),
             ("/fresh", bearer(new_access), (401, msg("Fresh token required"))),
             ("/optional", {}, (200, b'{"logged_in_as":"anonymous user"}\n')),
             ("/admin/", bearer(access), (400, msg("User claims verification failed"))))
    for path, headers, policy in table:
        harness.policy_table(R, srv.port, name, path, headers, policy)


    # logout revokes
    r = H("POST", "/logout", headers=bearer(access))
    R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'), t("logout revokes"))
    r = H("GET", "/protected", headers=bearer(access))
    R.eq((r.status, r.body), (401, msg("Token has been revoked")), t("revoked token refused by /protected"))
    r = H("GET", "/legacy/whoami.cgi", headers=bearer(access))
    R.eq((r.status, r.header("Content-Type"), r.body), (401, "application/json", msg("Token has been revoked")),
         t("revoked token refused by the authorizer"))


def error_answers(name, srv, htaccess=False, huge=None):
    """What Apache answers itself (the recipe's "Error answers" block): JSON
    where the recipe can change it, Apache's HTML where it cannot (.htaccess:
    400, 414 and 417 are answered before any .htaccess is read)."""
    def raw(kind, path="/protected", headers=None):
        return harness.raw_request(srv.port, kind, path, headers)

    def t(what):
        return "%s: %s" % (name, what)

    server = harness.check_html_answer if htaccess else harness.check_server_answer
    token = (harness.login(srv.port).json() or {}).get("access_token", "")
    r = raw("post-no-length", "/logout", bearer(token))
    R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'),
         t("POST /logout without Content-Length reaches jwtx (Apache has no 411)"))
    server(R, raw("garbage"), 400, t("an unparsable request line"))
    server(R, raw("long-header"), 400, t("a header line over 8 KiB (400: Apache has no 431)"))
    server(R, raw("long-url"), 414, t("a 10,000-byte URL"))
    server(R, raw("expect-foo", "/login"), 417, t("Expect: foo"))
    for n in HTACCESS_STATUSES if htaccess else STATUSES:
        harness.check_server_answer(R, raw("get", "/test-status/%d" % n), n, t("Apache's own %d" % n))
    # (mod_proxy_fcgi streams the body to jwtx without checking Content-Length
    # first: the authnz recipe has no such case, the next one covers it.)
    r = raw("huge-length", "/login") if huge is not False else None
    if r is None:
        pass
    elif huge is None:
        harness.check_server_answer(R, r, 413, t("a Content-Length over LimitRequestBody"))
    else:
        R.eq((r.status, r.header("Content-Type"), r.body), (huge[0], "application/json", msg(huge[1])),
             t("a Content-Length over LimitRequestBody: jwtx's answer (mod_fcgid)"))
    r = raw("big-body", "/login")
    R.eq((r.status, r.header("Content-Type"), r.body), (413, "application/json", msg("Request body too large")),
         t("a 70,000-byte body to /login: 413 JSON"))
    harness.check_html_answer(R, raw("get", "/no-such-page"), 404, t("an unknown page (the site's 404)"))


def crash_checks(name, srv, pids_of, min_procs=2):
    """SIGKILL one process of refresh, logout and the authorizer under load:
    the route's other process answers, never 503. pids_of(prog) lists the
    route's processes, once the load runs; returns the pids killed. mod_fcgid
    starts processes on demand (up to FcgidMaxProcessesPerClass, a second one
    only while the first is busy: not always under a loaded machine) and
    replaces a crashed one at the next request: min_procs=1 there."""
    tok = harness.login(srv.port).json() or {}
    sends = (("refresh", lambda: srv.request("POST", "/refresh",
                                             bearer(tok.get("refresh_token", ""))).status, (200,)),
             ("logout", lambda: srv.request("POST", "/logout",
                                            bearer(tok.get("access_token", ""))).status, (200, 401)),
             ("authorizer", lambda: srv.request("GET", "/private/",
                                                bearer(tok.get("refresh_token", ""))).status, (422,)))
    killed = []
    for prog, send, want in sends:
        pid = harness.survives_a_crash(R, "%s: crash: %s" % (name, prog), lambda p=prog: pids_of(p),
                                       send, want, min_procs=min_procs)
        killed += [pid] if pid else []
    return killed


def errors_of(srv):
    """Lines of the error log that point at a broken recipe (the whole log is
    printed when there are any)."""
    bad = ("AH00526", "AH00112", "not allowed here", "Invalid command", "segfault",
           "End of script output before headers", "can't apply process slot")
    log = tail(srv.errlog, 200000)
    found = [ln for ln in log.splitlines() if any(b in ln for b in bad)]
    if found:
        print("# error log:\n# " + log[-6000:].replace("\n", "\n# "))
    return found


def recipe_fcgid():
    run, conf, www = new_run("fcgid")
    wrapper = os.path.join(run, "jwtx-authorizer-down")
    with open(os.path.join(APACHE_DIR, "jwtx-authorizer.sh.in")) as f:
        harness.write_text(wrapper, f.read().replace("@BIN@", BIN).replace("@CONF@", down_conf(run)))
    os.chmod(wrapper, 0o755)
    extra = ADMIN_AREA["fcgid"]
    for path, checker, policy in (("/test-claims/", os.path.join(BIN, "authorizer.fcgi"), CLAIMS_POLICY),
                                  ("/test-down/", wrapper, "")):
        extra += ('<Location "%s">\n    CGIPassAuth On\n    FcgidAccessChecker "%s"\n'
                  '    ErrorDocument 401 /jwtx-error\n    %s\n</Location>\n' % (path, checker, policy))
    srv = Apache(run, with_test_lines(run, os.path.join(APACHE_DIR, "jwtx-fcgid.conf"), extra),
                 [("JWTX_BIN", BIN), ("JWTX_CONF", conf), ("JWTX_WWW", www), ("JWTX_ERRORS", ERRORS)],
                 ["JWTX_WITH_FCGID"])
    try:
        check_recipe("fcgid", srv)
        error_answers("fcgid", srv, huge=(400, "Missing username or password"))
        own_answers_kept("fcgid", srv)
        r = srv.request("GET", "/jwtx-error")
        R.eq(r.status, 403, "fcgid: the error renderer is not reachable directly")
        r = srv.request("GET", "/private/", headers=bearer("abc.def"))
        R.eq((r.header("X-JWT-Status"), r.header("X-JWT-Error-Body"), r.header("Cache-Control")),
             (None, None, "no-store"), "fcgid: denial carries no transport headers, one Cache-Control")
        R.eq(errors_of(srv), [], "fcgid: no configuration errors logged")
        # last: the killed processes log "End of script output before headers"
        crash_checks("fcgid", srv, lambda prog: harness.descendants(srv.pid, prog + ".fcgi"), min_procs=1)
    finally:
        srv.stop()
    R.check(not pid_alive(srv.pid or 0), "fcgid: Apache stopped")


def recipe_htaccess():
    run, conf, www = new_run("htaccess")
    wrapper = os.path.join(run, "jwtx-authorizer")
    with open(os.path.join(APACHE_DIR, "jwtx-authorizer.sh.in")) as f:
        text = f.read().replace("@BIN@", BIN).replace("@CONF@", conf)
    with open(wrapper, "w") as f:
        f.write(text)
    os.chmod(wrapper, 0o755)
    with open(os.path.join(APACHE_DIR, "jwtx-fcgid.htaccess")) as f:
        text = f.read() + ADMIN_AREA["htaccess"]
    text = text.replace("@BIN@", BIN).replace("@CONF@", conf).replace("@WRAPPER@", wrapper)
    with open(os.path.join(www, ".htaccess"), "w") as f:
        f.write(text + "\n" + status_lines(HTACCESS_STATUSES))
    shutil.copytree(ERRORS, os.path.join(www, "jwtx-errors"))
    srv = Apache(run, os.path.join(APACHE_DIR, "jwtx-fcgid-htaccess-host.conf"),
                 [("JWTX_WWW", www)], ["JWTX_WITH_FCGID"])
    try:
        check_recipe("htaccess", srv)
        error_answers("htaccess", srv, htaccess=True, huge=(400, "Missing username or password"))
        R.eq(errors_of(srv), [], "htaccess: no configuration errors logged")
        crash_checks("htaccess", srv, lambda prog: harness.descendants(srv.pid, prog + ".fcgi"), min_procs=1)
    finally:
        srv.stop()


def recipe_authnz():
    run, conf, www = new_run("authnz")
    daemons = []
    srv = None
    try:
        ports = []
        for prog in ("authorizer", "login", "refresh", "logout", "protected", "jwks"):
            d = SpawnFcgi(run, prog + ".fcgi", conf, prog)
            daemons.append(d)
            ports.append(("JWTX_%s_PORT" % prog.upper(), str(d.port)))
        d = SpawnFcgi(run, "authorizer.fcgi", down_conf(run), "authorizer-down")
        daemons.append(d)
        dead = ('<LocationMatch "^/test-unreachable$">\n'
                '    SetHandler "proxy:fcgi://127.0.0.1:%d/"\n</LocationMatch>\n' % harness.free_port())
        dead += ADMIN_AREA["authnz"]
        dead += 'AuthnzFcgiDefineProvider authn jwtxdown "fcgi://127.0.0.1:%d/"\n' % d.port
        for path, provider, policy in (("/test-claims/", "jwtx", CLAIMS_POLICY),
                                       ("/test-down/", "jwtxdown", "")):
            dead += ('<LocationMatch "^%s">\n    AuthType jwtx\n    AuthName "jwtx"\n'
                     '    AuthnzFcgiCheckAuthnProvider %s Authoritative On RequireBasicAuth Off '
                     'UserExpr "%%{reqenv:REMOTE_USER}"\n    Require valid-user\n    CGIPassAuth On\n'
                     '    Header always set Content-Type "application/json" "expr=-n %%{resp:X-JWT-Status}"\n'
                     '    %s\n</LocationMatch>\n' % (path, provider, policy))
        srv = Apache(run, with_test_lines(run, os.path.join(APACHE_DIR, "jwtx-authnz-fcgi.conf"), dead),
                     [("JWTX_WWW", www), ("JWTX_ERRORS", ERRORS)] + ports, ["JWTX_WITH_AUTHNZ_FCGI"])
        check_recipe("authnz", srv)
        error_answers("authnz", srv, huge=False)
        own_answers_kept("authnz", srv)
        r = harness.raw_request(srv.port, "get", "/test-unreachable")
        harness.check_server_answer(R, r, 503, "authnz: a FastCGI daemon not running")
        token = (harness.login(srv.port).json() or {}).get("access_token", "")
        r = srv.request("GET", "/private/no-such-file.html", headers=bearer(token))
        R.eq(r.status, 404, "authnz: a missing file behind the authorizer is a 404")
        by_name = dict(zip(("authorizer", "login", "refresh", "logout", "protected", "jwks"), daemons))
        for pid in crash_checks("authnz", srv, lambda prog: list(by_name[prog].pids)):
            for d in daemons:
                if pid in d.pids:
                    d.pids.remove(pid)  # gone: never signal a pid that may be reused
                    d.started.remove(pid)
        R.eq(errors_of(srv), [], "authnz: no configuration errors logged")
    finally:
        if srv:
            srv.stop()
        for d in daemons:
            d.stop()
    R.check(all(not pid_alive(p) for d in daemons for p in d.started), "authnz: spawn-fcgi daemons stopped")


def recipe_cgi():
    run, conf, www = new_run("cgi")
    guard = os.path.join(run, "jwtx-cgi-guard")
    with open(os.path.join(APACHE_DIR, "jwtx-cgi-guard.sh.in")) as f:
        text = f.read().replace("@BIN@", BIN).replace("@CONF@", conf).replace("@WWW@", www)
    with open(guard, "w") as f:
        f.write(text)
    os.chmod(guard, 0o755)
    srv = Apache(run, with_test_lines(run, os.path.join(APACHE_DIR, "jwtx-cgi.conf"), ADMIN_AREA["cgi"]),
                 [("JWTX_BIN", BIN), ("JWTX_CONF", conf), ("JWTX_WWW", www), ("JWTX_GUARD", guard),
                  ("JWTX_ERRORS", ERRORS)])
    try:
        check_recipe("cgi", srv)
        error_answers("cgi", srv)
        r = srv.request("GET", "/jwtx-guard/private/index.html")
        R.eq(r.status, 404, "cgi: the guard refuses direct calls")
        token = (harness.login(srv.port).json() or {}).get("access_token", "")
        r = srv.request("GET", "/private/nothing-here.txt", headers=bearer(token))
        R.eq(r.status, 404, "cgi: a missing file behind the guard is a 404")
        R.eq(errors_of(srv), [], "cgi: no configuration errors logged")
    finally:
        srv.stop()


RECIPES = {"fcgid": recipe_fcgid, "htaccess": recipe_htaccess, "authnz": recipe_authnz,
           "cgi": recipe_cgi}

if __name__ == "__main__":
    only = os.environ.get("JWTX_APACHE_RECIPES", "").split(",")
    for n, fn in RECIPES.items():
        if only != [""] and n not in only:
            continue
        start = time.time()
        try:
            fn()
        except Exception as e:  # a server that does not start fails the suite
            R.check(False, "%s: recipe ran" % n, repr(e))
        print("# %s took %.1fs" % (n, time.time() - start))
    R.finish()
