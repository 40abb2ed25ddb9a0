"""Integration suite: the fail2ban filter conf/fail2ban/filter.d/jwtx.conf
against the error logs of REAL servers.

The same scenario of logins runs behind lighttpd (the audit lines in
server.errorlog), behind lighttpd again with JWTX_AUDIT_LOG = a file, behind
Apache with mod_fcgid, with mod_authnz_fcgi's responders (spawn-fcgi daemons
through mod_proxy_fcgi) and with plain CGI, and behind nginx (spawn-fcgi).
The client addresses come from X-Forwarded-For through a trusted proxy
(JWTX_TRUSTED_PROXIES = ["127.0.0.1"]), which exercises that path too. Then
fail2ban-regex (Debian's fail2ban) reads each produced log with the filter in
the server's mode, and must find exactly the expected number of matches for
exactly the expected addresses: wrong passwords, unknown users, missing
fields, attempts refused because the address is banned (ban=pair and
ban=address), never a login_banned of a user ban (the locked-out owner),
never a success, a refresh or a logout, and never an address that a client
wrote into a user name (with spaces, quotes, a forged newline), a forged
X-Forwarded-For entry or a Referer.

Regulation: /login1 and /login2 under lighttpd and login under nginx run ONE
process, so the bans are exact; under Apache mod_fcgid runs two processes
(each with its own counts) and plain CGI counts nothing across requests. The
scenario is built so that the number of matches does not depend on that: an
attempt that one process refuses with 429 (ban=pair/address) another answers
with 401, and both count once.

The jail conf/fail2ban/jail.d/jwtx.local is checked with fail2ban-client -t,
and a real fail2ban-server (with a test action that writes a file instead of
touching the firewall) reads a growing log and bans the right addresses.
"""
import collections
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

R = harness.Results("fail2ban")
ROOT = harness.ROOT
FILTER = os.path.join(ROOT, "conf", "fail2ban", "filter.d", "jwtx.conf")
JAIL = os.path.join(ROOT, "conf", "fail2ban", "jail.d", "jwtx.local")
SECRET = "fail2ban-suite-secret-0123456789abcdef0123456789"
KEEP = os.path.join(ROOT, "build", "fail2ban-logs")  # the logs, for a look after the run

LIMITS = ("JWTX_LOGIN_MAX_FAILURES = 3\n"
          "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 6\n"
          "JWTX_LOGIN_MAX_FAILURES_PER_USER = 4\n"
          "JWTX_LOGIN_FIND_TIME = 600\n"
          "JWTX_LOGIN_BAN_TIME = 600\n"
          "JWTX_TRUSTED_PROXIES = [\"127.0.0.1\"]\n")

if shutil.which("fail2ban-regex") is None:
    print("fail2ban-regex is not installed (tools/deps.sh installs fail2ban)")
    R.check(False, "fail2ban-regex present")
    R.finish()

# ---- the scenario ------------------------------------------------------------------
# A text a client puts where an address could be read: in a user name, with a
# forged newline, and in a Referer (which Apache and nginx append to the line).
FORGED_LINE = "time=2026-01-01T00:00:00Z event=login_failure addr=%s user=\"x\" route=\"/login\" reason=wrong_password"
REFERER = "http://x/ " + FORGED_LINE % "6.6.6.9"
FORGED = ("6.6.6.6", "6.6.6.7", "6.6.6.8", "6.6.6.9", "6.6.6.10", "6.6.6.11")

# address (as fail2ban reports it) -> matches the filter must find
EXPECT = {
    "198.51.100.1": 2,           # 2 wrong passwords of testuser
    "198.51.100.2": 2,           # an unknown user, a body without a password (400)
    "2001:db8:5:6::/64": 2,      # two addresses of one /64: one client
    "198.51.100.5": 5,           # 3 wrong (pair banned), 2 more refused ban=pair
    "198.51.100.6": 4,           # the same with a long user name: 3 wrong, 1 refused
    "198.51.100.7": 7,           # 6 names sprayed (address banned), 1 more refused ban=address
    "198.51.100.11": 1,          # testuser from 11 and 12: the user ban starts
    "198.51.100.12": 1,
    "198.51.100.30": 3,          # user names that try to forge addr= / a line
    "198.51.100.31": 1,          # behind a forged X-Forwarded-For entry
    "198.51.100.32": 1,          # the longest user name (cut at 256 bytes, 4 characters each)
}
# 198.51.100.4 logs in (and refreshes, logs out); 198.51.100.20 is testuser's
# owner refused during the user ban (ban=user): neither may ever match.
NEVER = ("198.51.100.4", "198.51.100.20", "127.0.0.1") + FORGED


def scenario(send, label):
    """Runs the logins through send(xff, user, password, headers=None, body=None)
    -> Answer. Returns the statuses (printed)."""
    st = []

    def s(xff, user, password, **kw):
        a = send(xff, user, password, **kw)
        st.append(a.status)
        return a
    A, B, D, P, S = "198.51.100.1", "198.51.100.2", "198.51.100.4", "198.51.100.5", "198.51.100.7"
    for _ in range(2):
        s(A, "testuser", "wrong")
    s(B, "bert", "x")
    s(B, None, None, body={"username": "bert"})
    s("2001:db8:5:6::1", "cat", "x")
    s("2001:db8:5:6:ffff::2", "cat", "x")
    ok = s(D, "testuser", "testpass")
    tokens = ok.json() or {}
    R.eq(ok.status, 200, "%s: the right password logs in" % label)
    for _ in range(5):
        s(P, "pbob", "x")
    for i in range(7):
        s(S, "spray%d" % i, "x")
    # a long user name: over 1 KB of escaped text in each line (one FastCGI
    # stderr record of libfcgi's own stream holds 504 bytes)
    for _ in range(4):
        s("198.51.100.6", "\u00e9" * 200, "x")
    # forgery: an address inside a user name, with spaces, quotes, a newline
    s("198.51.100.30", 'bob" addr=6.6.6.6 x="', "x")
    s("198.51.100.30", "eve\n" + FORGED_LINE % "6.6.6.7", "x")
    s("198.51.100.30", "mal\r\n2026-12-03 10:40:45: (mod_fastcgi.c.449) FastCGI-stderr:"
      + FORGED_LINE % "6.6.6.10", "x")
    s("6.6.6.8, 198.51.100.31", "carol", "x")  # the left entry is the client's own text
    s("198.51.100.32", "\u00e9" * 200 + " addr=6.6.6.11", "x")
    # the lock-out: testuser fails from 11 and 12 (4 failures of the user in
    # all with A's 2): the user is banned; the owner from 20 is refused
    s("198.51.100.11", "testuser", "wrong")
    s("198.51.100.12", "testuser", "wrong")
    s("198.51.100.20", "testuser", "testpass")
    s("198.51.100.20", "testuser", "testpass")
    print("# %s: statuses %s" % (label, st))
    return st, tokens


def after_login(port, tokens, label, prefix=""):
    """A refresh and a logout: audit lines that must not match."""
    h = {"Referer": REFERER}
    r = harness.request(port, "POST", prefix + "/refresh",
                        headers=dict(h, **harness.bearer(tokens.get("refresh_token", ""))))
    r2 = harness.request(port, "POST", prefix + "/logout",
                         headers=dict(h, **harness.bearer(tokens.get("access_token", ""))))
    R.eq((r.status, r2.status), (200, 200), "%s: refresh and logout work" % label)


def sender(port, path):
    def send(xff, user, password, headers=None, body=None):
        # every request carries a Referer with a forged line (Apache and
        # nginx append the Referer to their error log lines)
        h = {"X-Forwarded-For": xff, "Referer": REFERER}
        h.update(headers or {})
        if body is None:
            body = {"username": user, "password": password}
        return harness.request(port, "POST", path, headers=h, body=body)
    return send


# ---- reading the logs ----------------------------------------------------------------


def f2b(log, mode, out="ip"):
    """fail2ban-regex on log with the filter in mode: (exit code, the tokens it
    printed with -o out, one per match)."""
    p = subprocess.run(["fail2ban-regex", "-o", out, log, "%s[mode=%s]" % (FILTER, mode)],
                       capture_output=True, text=True)
    return p.returncode, [ln for ln in p.stdout.splitlines() if ln.strip()], p.stderr


def f2b_summary(log, mode):
    """The "N matched" figure of fail2ban-regex's own report."""
    p = subprocess.run(["fail2ban-regex", "--print-no-missed", log, "%s[mode=%s]" % (FILTER, mode)],
                       capture_output=True, text=True)
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", p.stdout, re.M)
    return (int(m.group(1)), int(m.group(3))) if m else (None, None)


def audit_events(log):
    """(event, addr, ban) of every audit line in a log, read independently of
    the filter (the first time= ... of a line, fields split on spaces)."""
    out = []
    with open(log, errors="replace") as f:
        for line in f:
            # jwtx's line starts the line or follows the server's prefix
            # (never a Referer's "... time=")
            m = re.search(r"(?:^|[:\"'] ?)time=\S+ event=(\S+)(?: addr=(\S+))?(.*)", line)
            if m:
                ban = re.search(r" ban=(\w+)", m.group(3))
                out.append((m.group(1), m.group(2), ban.group(1) if ban else None))
    return out


def check_log(label, log, mode, exact_bans):
    """The filter on one produced log: exact matches and addresses."""
    os.makedirs(KEEP, exist_ok=True)
    shutil.copy(log, os.path.join(KEEP, label + ".log"))
    time.sleep(0.2)
    text = harness.tail(log, 10 ** 7)
    ev = audit_events(log)
    print("# %s: %d audit lines: %s" % (label, len(ev), dict(collections.Counter(e for e, _, _ in ev))))
    R.check(any(e == "login_failure" for e, _, _ in ev), "%s: the log holds audit lines" % label)
    R.check(any(e == "refresh" for e, _, _ in ev) and any(e == "logout" for e, _, _ in ev)
            and any(e == "login_success" for e, _, _ in ev),
            "%s: success, refresh and logout lines are there too (not to be matched)" % label)
    R.check("6.6.6.6" in text and "6.6.6.7" in text and "6.6.6.10" in text,
            "%s: the forged user names reached the log (escaped)" % label)
    long_lines = [ln for ln in text.splitlines() if "addr=198.51.100.6 " in ln]
    R.check(len(long_lines) >= 4 and all(' route="/login' in ln and "truncated=1" in ln for ln in long_lines),
            "%s: lines with a long user name are whole (one log line each, to their end)" % label,
            "%d lines, ends: %r" % (len(long_lines), [ln[-40:] for ln in long_lines[:4]]))
    if mode in ("apache", "nginx"):
        R.check("addr=6.6.6.9" in text, "%s: the forged Referer reached the log" % label)
    if exact_bans:
        # a user ban's refusals are logged once a minute per process (the
        # owner's second attempt is left out); a ban on the address keeps
        # its first 10 a minute, the lines fail2ban counts
        want = {("198.51.100.5", "pair"): 2, ("198.51.100.6", "pair"): 1,
                ("198.51.100.7", "address"): 1, ("198.51.100.20", "user"): 1}
        got = collections.Counter((a, b) for e, a, b in ev if e == "login_banned")
        R.eq(dict(got), want, "%s: one process: the refused attempts are logged with their ban" % label)
    rc, ips, err = f2b(log, mode)
    got = dict(collections.Counter(ips))
    R.check(rc == 0, "%s: fail2ban-regex runs" % label, err[-500:])
    R.eq(got, EXPECT, "%s: fail2ban-regex[mode=%s]: exactly the expected addresses and counts" % (label, mode))
    R.eq([a for a in NEVER if a in got], [], "%s: no forged address, no success, no owner" % label)
    lines, matched = f2b_summary(log, mode)
    R.eq(matched, sum(EXPECT.values()), "%s: fail2ban-regex reports %d matched lines (of %s)"
         % (label, sum(EXPECT.values()), lines))
    # every match is a login_failure or a login_banned of a pair/address ban
    rc, msgs, _ = f2b(log, mode, "msg")
    bad = [m for m in msgs if not re.search(r"event=(login_failure|login_banned) addr=", m)
           or re.search(r"event=login_banned .* ban=user ", m)]
    R.eq(bad, [], "%s: every matched line is a failure or an address's own ban" % label)
    # the other modes find nothing in this log (one mode per server)
    for other in ("lighttpd", "apache", "nginx", "file"):
        if other != mode:
            R.eq(f2b(log, other)[1], [], "%s: mode=%s matches nothing here" % (label, other))


# ---- lighttpd: server.errorlog (/login1) and a file (/login2) --------------------------


def run_lighttpd():
    run = harness.tmpdir("f2b-lighttpd-")
    conf = harness.gateway_conf(SECRET, run, LIMITS)
    audit_file = os.path.join(run, "jwtx-audit.log")
    # /login2 keeps its own counts (a store of its own): the scenario's bans
    # at /login1 must not carry over now that the counts live in the store.
    conf2 = harness.write_text(os.path.join(run, "jwtx-file.conf"),
                               conf.replace("/blocklist.sqlite", "/blocklist-file.sqlite") +
                               'JWTX_AUDIT_LOG = "%s"\n' % audit_file)
    os.chmod(conf2, 0o600)  # it holds the secret: readable by its owner only
    harness.init_store(conf2)
    extra = ""
    for n, c in ((1, os.path.join(run, "jwtx.conf")), (2, conf2)):
        login = os.path.join(run, "login%d.fcgi" % n)
        shutil.copy(os.path.join(ROOT, "cgi-bin", "login.fcgi"), login)
        extra += ('var.login%(n)d = ( "bin-path" => "%(bin)s", "socket" => "%(run)s/login%(n)d.sock",\n'
                  '   "max-procs" => 1, "check-local" => "disable",\n'
                  '   "bin-environment" => ( "JWTX_CONF" => "%(conf)s" ),\n'
                  '   "bin-copy-environment" => ( "PATH" ) )\n'
                  '$HTTP["url"] =~ "^/login%(n)d$" { fastcgi.server = ( "/login%(n)d" => ( var.login%(n)d ) ) }\n'
                  % {"n": n, "bin": login, "run": run, "conf": c})
    srv = harness.Lighttpd(conf, extra, run_dir=run)
    try:
        _, tokens = scenario(sender(srv.port, "/login1"), "lighttpd")
        after_login(srv.port, tokens, "lighttpd")
        _, tokens = scenario(sender(srv.port, "/login2"), "lighttpd-file")
        time.sleep(0.3)
    finally:
        srv.stop()
    errlog = os.path.join(run, "lighttpd-error.log")
    check_log("lighttpd", errlog, "lighttpd", True)
    return audit_file, tokens


def run_file(audit_file, tokens):
    """The file of /login2, plus a refresh and a logout written by a CGI
    refresh/logout with the same conf (the file is shared by processes)."""
    conf2 = os.path.join(os.path.dirname(audit_file), "jwtx-file.conf")
    for prog, tok in (("refresh", tokens.get("refresh_token", "")), ("logout", tokens.get("access_token", ""))):
        env = {"PATH": "/usr/bin:/bin", "JWTX_CONF": conf2, "GATEWAY_INTERFACE": "CGI/1.1",
               "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/" + prog, "REQUEST_URI": "/" + prog,
               "REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4",
               "HTTP_AUTHORIZATION": "Bearer " + tok, "CONTENT_LENGTH": "0"}
        p = subprocess.run([os.path.join(ROOT, "cgi-bin", prog + ".fcgi")], env=env,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        R.check(p.stdout.startswith("Status: 200") or "200" in p.stdout.split("\n", 1)[0],
                "file: %s (CGI) answers 200" % prog, p.stdout[:200] + p.stderr[:200])
    check_log("file", audit_file, "file", True)


# ---- Apache: mod_fcgid, mod_authnz_fcgi (mod_proxy_fcgi), plain CGI ----------------------


def run_apache():
    import test_apache as ta
    for name in ("fcgid", "authnz", "cgi"):
        run, conf, www = ta.new_run("f2b-" + name)
        harness.write_text(conf, harness.gateway_conf(SECRET, run, LIMITS))
        ta.give_to_run_user(run)
        daemons, srv = [], None
        try:
            if name == "fcgid":
                srv = ta.Apache(run, os.path.join(ta.APACHE_DIR, "jwtx-fcgid.conf"),
                                [("JWTX_BIN", ta.BIN), ("JWTX_CONF", conf), ("JWTX_WWW", www),
                                 ("JWTX_ERRORS", ta.ERRORS)], ["JWTX_WITH_FCGID"])
            elif name == "authnz":
                ports = []
                for prog in ("authorizer", "login", "refresh", "logout", "protected", "jwks"):
                    d = ta.SpawnFcgi(run, prog + ".fcgi", conf, prog)
                    daemons.append(d)
                    ports.append(("JWTX_%s_PORT" % prog.upper(), str(d.port)))
                srv = ta.Apache(run, os.path.join(ta.APACHE_DIR, "jwtx-authnz-fcgi.conf"),
                                [("JWTX_WWW", www), ("JWTX_ERRORS", ta.ERRORS)] + ports,
                                ["JWTX_WITH_AUTHNZ_FCGI"])
            else:
                guard = os.path.join(run, "jwtx-cgi-guard")
                with open(os.path.join(ta.APACHE_DIR, "jwtx-cgi-guard.sh.in")) as f:
                    harness.write_text(guard, f.read().replace("@BIN@", ta.BIN).replace("@CONF@", conf)
                                       .replace("@WWW@", www))
                os.chmod(guard, 0o755)
                srv = ta.Apache(run, os.path.join(ta.APACHE_DIR, "jwtx-cgi.conf"),
                                [("JWTX_BIN", ta.BIN), ("JWTX_CONF", conf), ("JWTX_WWW", www),
                                 ("JWTX_GUARD", guard), ("JWTX_ERRORS", ta.ERRORS)])
            _, tokens = scenario(sender(srv.port, "/login"), "apache-" + name)
            after_login(srv.port, tokens, "apache-" + name)
            time.sleep(0.5)
        except Exception as e:  # a server that does not start fails the suite
            R.check(False, "apache-%s: ran" % name, repr(e))
            continue
        finally:
            if srv:
                srv.stop()
            for d in daemons:
                d.stop()
        check_log("apache-" + name, srv.errlog, "apache", False)


# ---- nginx: the recipe with spawn-fcgi daemons ----------------------------------------------


def run_nginx():
    run = harness.tmpdir("f2b-nginx-")
    conf = harness.write_text(os.path.join(run, "jwtx.conf"), harness.gateway_conf(SECRET, run, LIMITS))
    harness.init_store(conf)  # as the installer does
    pids, addr = [], {}
    nginx = None
    try:
        for prog in ("login", "refresh", "logout"):
            port, p = harness.spawn_fcgi(os.path.join(ROOT, "cgi-bin", prog + ".fcgi"),
                                         os.path.join(run, prog + ".pid"),
                                         dict(os.environ, JWTX_CONF=conf), procs=1, tries=5)
            pids += p
            addr[prog] = "127.0.0.1:%d" % port
        unused = "127.0.0.1:%d" % harness.free_port()  # routes this suite does not call
        port = harness.free_port()
        with open(os.path.join(ROOT, "conf", "nginx", "jwtx.conf.in")) as f:
            text = f.read()
        subst = {"@LISTEN@": "127.0.0.1:%d" % port, "@RUN@": run,
                 "@WWW@": os.path.join(ROOT, "conf", "demo-www"), "@BIN@": os.path.join(ROOT, "cgi-bin"),
                 "@CONF@": conf, "@ERRORS@": os.path.join(ROOT, "conf", "errors"),
                 "@LOGIN@": addr["login"], "@REFRESH@": addr["refresh"], "@LOGOUT@": addr["logout"],
                 "@PROTECTED@": unused, "@JWKS@": unused, "@AUTHORIZER@": unused, "@FCGIWRAP@": unused}
        for k, v in subst.items():
            text = text.replace(k, v)
        for name in ("jwtx-auth-locations.conf", "jwtx-protect.conf", "jwtx-identity-params.conf",
                     "jwtx-error-pages.conf"):
            shutil.copy(os.path.join(ROOT, "conf", "nginx", name), run)
        for name in ("fastcgi_params", "mime.types"):
            shutil.copy(os.path.join("/etc/nginx", name), run)
        nconf = harness.write_text(os.path.join(run, "nginx.conf"), text)
        errlog = os.path.join(run, "error.log")
        nginx = harness.start(["nginx", "-p", run + "/", "-e", errlog, "-c", nconf, "-g", "daemon off;"])
        if not harness.wait_port(port):
            R.check(False, "nginx: started", harness.tail(errlog))
            return
        _, tokens = scenario(sender(port, "/login"), "nginx")
        after_login(port, tokens, "nginx")
        time.sleep(0.3)
    finally:
        if nginx:
            harness.stop(nginx)
        for p in pids:
            harness.stop_pid(p)
    check_log("nginx", errlog, "nginx", True)


# ---- the jail, and a real fail2ban-server ------------------------------------------------

TEST_ACTION = """[Definition]
actionstart =
actionstop =
actioncheck =
actionban = echo "ban <ip>" >> <bansfile>
actionunban = echo "unban <ip>" >> <bansfile>
[Init]
bansfile = /dev/null
"""


def f2b_confdir(logpath, bans):
    """A fail2ban configuration folder: Debian's, without its jails, plus the
    shipped filter and jail with jwtx-lighttpd enabled on logpath and the
    firewall action replaced by one that writes to the file bans."""
    d = os.path.join(harness.tmpdir("f2b-conf-"), "fail2ban")
    shutil.copytree("/etc/fail2ban", d)
    for n in os.listdir(os.path.join(d, "jail.d")):
        os.remove(os.path.join(d, "jail.d", n))
    harness.write_text(os.path.join(d, "fail2ban.local"), "[Definition]\ndbfile = :memory:\n")
    shutil.copy(FILTER, os.path.join(d, "filter.d", "jwtx.conf"))
    harness.write_text(os.path.join(d, "action.d", "jwtx-test.conf"), TEST_ACTION)
    with open(JAIL) as f:
        text = f.read()
    head, sec, rest = text.partition("[jwtx-lighttpd]\n")
    block, nxt, tail_ = rest.partition("\n[")
    R.check("enabled  = false\n" in block and "logpath  = /var/log/lighttpd/error.log\n" in block,
            "jail: jwtx-lighttpd is shipped disabled, on /var/log/lighttpd/error.log")
    block = block.replace("enabled  = false\n", "enabled  = true\naction   = jwtx-test[bansfile=\"%s\"]\n" % bans)
    block = block.replace("/var/log/lighttpd/error.log", logpath)
    harness.write_text(os.path.join(d, "jail.d", "jwtx.local"), head + sec + block + nxt + tail_)
    return d


def run_jail():
    # fail2ban-client -t: the shipped files parse, every jail enabled
    d = os.path.join(harness.tmpdir("f2b-t-"), "fail2ban")
    shutil.copytree("/etc/fail2ban", d)
    for n in os.listdir(os.path.join(d, "jail.d")):
        os.remove(os.path.join(d, "jail.d", n))
    shutil.copy(FILTER, os.path.join(d, "filter.d", "jwtx.conf"))
    logs = []
    with open(JAIL) as f:
        text = f.read().replace("enabled  = false", "enabled  = true")
    for path in re.findall(r"^logpath  = (\S+)$", text, re.M):
        logs.append(harness.write_text(os.path.join(d, os.path.basename(path) + "-" + str(len(logs))), ""))
        text = text.replace("logpath  = " + path + "\n", "logpath  = " + logs[-1] + "\n", 1)
    harness.write_text(os.path.join(d, "jail.d", "jwtx.local"), text)
    R.eq(len(logs), 4, "jail: four jails (lighttpd, apache, nginx, file)")
    p = subprocess.run(["fail2ban-client", "-c", d, "-t"], capture_output=True, text=True)
    R.check(p.returncode == 0 and "OK" in p.stdout + p.stderr, "jail: fail2ban-client -t accepts the jails",
            p.stdout[-800:] + p.stderr[-800:])
    p = subprocess.run(["fail2ban-client", "-c", d, "-d"], capture_output=True, text=True)
    for mode in ("lighttpd", "apache", "nginx", "file"):
        R.check("['set', 'jwtx-%s', 'maxretry', 10]" % mode in p.stdout and
                "['set', 'jwtx-%s', 'findtime', '10m']" % mode in p.stdout,
                "jail: jwtx-%s: maxretry 10 in 10 minutes" % mode)
    with open(JAIL) as f:
        sections = re.findall(r"^\[([^\]]+)\]", f.read(), re.M)
    R.eq(sections, ["jwtx-lighttpd", "jwtx-apache", "jwtx-nginx", "jwtx-file"],
         "jail: its own four sections only (no [DEFAULT]: it would change every jail of the host)")

    # a real fail2ban-server tails lighttpd's error log while logins fail
    run = harness.tmpdir("f2b-live-")
    conf = harness.gateway_conf(SECRET, run, LIMITS)
    login = os.path.join(run, "login1.fcgi")
    shutil.copy(os.path.join(ROOT, "cgi-bin", "login.fcgi"), login)
    extra = ('var.login1 = ( "bin-path" => "%(bin)s", "socket" => "%(run)s/login1.sock",\n'
             '   "max-procs" => 1, "check-local" => "disable", "bin-environment" => var.jwtx_env,\n'
             '   "bin-copy-environment" => ( "PATH" ) )\n'
             '$HTTP["url"] =~ "^/login1$" { fastcgi.server = ( "/login1" => ( var.login1 ) ) }\n'
             % {"bin": login, "run": run})
    srv = harness.Lighttpd(conf, extra, run_dir=run)
    errlog = os.path.join(run, "lighttpd-error.log")
    bans = os.path.join(run, "bans")
    cdir = f2b_confdir(errlog, bans)
    sock, pid = os.path.join(run, "f2b.sock"), os.path.join(run, "f2b.pid")
    f2blog = os.path.join(run, "f2b.log")
    server = harness.start(["fail2ban-client", "-c", cdir, "-s", sock, "-p", pid, "--logtarget", f2blog,
                            "--loglevel", "INFO", "-x", "-f", "start"])
    try:
        end = time.time() + 20
        while time.time() < end and "Jail 'jwtx-lighttpd' started" not in harness.tail(f2blog, 10 ** 6):
            time.sleep(0.1)
        R.check("Jail 'jwtx-lighttpd' started" in harness.tail(f2blog, 10 ** 6),
                "fail2ban-server: the jail started", harness.tail(f2blog, 2000))
        send = sender(srv.port, "/login1")
        bad = "203.0.113.50"
        got = [send(bad, "guess%d" % (i % 2), "x").status for i in range(9)]
        # 9 matches: below maxretry; forged names from 12 other addresses
        for i in range(12):
            send("203.0.113.%d" % (100 + i), 'u" addr=6.6.6.6 x="', "x")
            send("203.0.113.%d" % (100 + i), "v\n" + FORGED_LINE % "6.6.6.7", "x")
        time.sleep(2.5)
        R.eq(harness.tail(bans, 10 ** 6), "", "fail2ban-server: 9 failures, 24 forged names: no ban yet")
        got.append(send(bad, "guess", "x").status)
        print("# live: statuses of %s: %s" % (bad, got))
        end = time.time() + 15
        while time.time() < end and "ban " + bad not in harness.tail(bans, 10 ** 6):
            time.sleep(0.1)
        time.sleep(1.0)
        R.eq(harness.tail(bans, 10 ** 6), "ban %s\n" % bad,
             "fail2ban-server: the 10th failure bans %s, and only it" % bad)
        # an address that keeps trying while jwtx bans it: its login_banned
        # lines are throttled (10 a minute per ban key), and those with its 3
        # failures are still enough for the jail (maxretry 10)
        flood = "203.0.113.60"
        got = [send(flood, "flooded", "x").status for _ in range(40)]
        R.eq(got, [401] * 3 + [429] * 37, "flood: 3 failures, then 37 attempts refused (ban=pair)")
        end = time.time() + 15
        while time.time() < end and "ban " + flood not in harness.tail(bans, 10 ** 6):
            time.sleep(0.1)
        R.eq(harness.tail(bans, 10 ** 6), "ban %s\nban %s\n" % (bad, flood),
             "fail2ban-server: the throttled login_banned lines still ban %s" % flood)
        lines = [ln for ln in harness.tail(errlog, 10 ** 7).splitlines()
                 if "event=login_banned addr=%s " % flood in ln]
        R.eq(len(lines), 10, "flood: 37 refused attempts in a minute write 10 login_banned lines")
    finally:
        subprocess.run(["fail2ban-client", "-c", cdir, "-s", sock, "stop"], capture_output=True)
        harness.stop(server)
        srv.stop()


ONLY = os.environ.get("JWTX_F2B_ONLY", "lighttpd,nginx,apache,jail").split(",")
if "lighttpd" in ONLY:
    audit_file, file_tokens = run_lighttpd()
    run_file(audit_file, file_tokens)
if "nginx" in ONLY:
    run_nginx()
if "apache" in ONLY:
    run_apache()
if "jail" in ONLY:
    run_jail()
R.finish()
