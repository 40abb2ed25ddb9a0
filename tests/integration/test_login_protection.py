"""Integration suite: login protection behind a real lighttpd.

Regulation of failed logins with the counts in the gateway's SQLite store
(harness.gateway_conf) and the audit log in lighttpd's server.errorlog. The
exact counting runs on /login1, a login.fcgi of its own with ONE process (a
copy named login1.fcgi, so its CPU time can be read from /proc); the demo's
/login runs two processes, which share the counts through the store (suite
57-login-store covers Redis and the in-memory back end's per-process
weakness). Short times in the conf: a ban lasts 3 seconds.
The client addresses come from X-Forwarded-For through a trusted proxy
(127.0.0.1), which tests that path too.
"""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import msg  # noqa: E402

R = harness.Results("login-protection")
SECRET = "login-protection-test-secret-0123456789abcdef"
BAN = 3

run = harness.tmpdir("lp-")
CONF = harness.gateway_conf(SECRET, run, (
    "JWTX_LOGIN_MAX_FAILURES = 3\n"
    "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 6\n"
    "JWTX_LOGIN_MAX_FAILURES_PER_USER = 0\n"
    "JWTX_LOGIN_FIND_TIME = 60\n"
    "JWTX_LOGIN_BAN_TIME = %d\n"
    "JWTX_TRUSTED_PROXIES = [\"127.0.0.1\"]\n" % BAN))

login1 = os.path.join(run, "login1.fcgi")
shutil.copy(os.path.join(harness.ROOT, "cgi-bin", "login.fcgi"), login1)
EXTRA = """
var.login1 = ( "bin-path" => "%(bin)s", "socket" => "%(run)s/login1.sock",
               "max-procs" => 1, "check-local" => "disable",
               "bin-environment" => var.jwtx_env, "bin-copy-environment" => ( "PATH" ) )
$HTTP["url"] =~ "^/login1$" { fastcgi.server = ( "/login1" => ( var.login1 ) ) }
""" % {"bin": login1, "run": run}
srv = harness.Lighttpd(CONF, EXTRA, run_dir=run)
TOO_MANY = msg("Too many failed login attempts")
BAD = msg("Bad username or password")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def attempt(client, user, password, path="/login1", form=False):
    headers = {"X-Forwarded-For": client}
    if form:
        headers.update(FORM)
        return srv.request("POST", path, headers=headers,
                           body="username=%s&password=%s" % (user, password))
    return srv.request("POST", path, headers=headers, body={"username": user, "password": password})


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    fields = harness.tail("/proc/%d/stat" % pid, 4096).rsplit(")", 1)[-1].split()
    return int(fields[11]) + int(fields[12])


def audit_lines():
    """(prefix, fields) of every audit line lighttpd wrote to its error log."""
    out = []
    for line in harness.tail(os.path.join(run, "lighttpd-error.log"), 10 ** 7).splitlines():
        m = re.search(r"^(.*?)(time=\S+ event=.*)$", line)
        if m:
            fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', m.group(2)))
            out.append((m.group(1), fields))
    return out


def events(event, addr):
    return [f for _, f in audit_lines() if f.get("event") == event and f.get("addr") == addr]


# ---- a pair is banned after MAX_FAILURES ---------------------------------------
A = "198.51.100.1"
codes = [attempt(A, "testuser", "wrong").status for _ in range(3)]
R.eq(codes, [401, 401, 401], "three wrong passwords: 401 each")
r = attempt(A, "testuser", "testpass")
R.eq((r.status, r.body), (429, TOO_MANY), "the 4th attempt, with the RIGHT password: 429")
retry = r.header("Retry-After") or ""
R.check(retry.isdigit() and 1 <= int(retry) <= BAN, "429 carries Retry-After in 1..%d" % BAN, retry)
R.eq(r.header("Cache-Control"), "no-store", "429 is no-store")
R.eq(r.all("Set-Cookie"), [], "429 sets no cookie")
r = attempt(A, "testuser", "testpass", form=True)
R.eq((r.status, r.body), (429, TOO_MANY), "the HTML form login answers the same 429")
r = attempt("198.51.100.2", "testuser", "testpass")
R.eq(r.status, 200, "the same user from another address logs in")

# ---- a banned attempt costs no password hash -------------------------------------
pids = harness.descendants(srv.proc.pid, "login1.fcgi")
R.eq(len(pids), 1, "/login1 runs one process")
if pids:
    pid = pids[0]
    before = cpu_ticks(pid)
    for _ in range(20):
        attempt(A, "testuser", "testpass")
    banned_ticks = cpu_ticks(pid) - before
    before = cpu_ticks(pid)
    for i in range(3):
        attempt("198.51.100.%d" % (50 + i), "testuser", "wrong")
    hash_ticks = cpu_ticks(pid) - before
    hz = os.sysconf("SC_CLK_TCK")
    print("# CPU of login1.fcgi: 20 banned attempts %d ms, 3 wrong passwords %d ms" %
          (banned_ticks * 1000 // hz, hash_ticks * 1000 // hz))
    R.check(banned_ticks * 1000 // hz <= 20, "20 banned attempts cost at most 20 ms of CPU (< 1 ms each)",
            "%d ticks" % banned_ticks)
    R.check(hash_ticks > 3 * banned_ticks and hash_ticks * 1000 // hz >= 30,
            "3 wrong passwords (bcrypt) cost far more", "%d ticks" % hash_ticks)

# ---- after the ban ---------------------------------------------------------------------
time.sleep(BAN + 0.5)
r = attempt(A, "testuser", "testpass")
R.eq(r.status, 200, "after BAN_TIME the right password works")

# ---- spraying user names from one address bans the address -------------------------
S = "198.51.100.7"
codes = [attempt(S, "nobody%d" % i, "x").status for i in range(6)]
R.eq(codes, [401] * 6, "six unknown names from one address: 401 each")
r = attempt(S, "testuser", "testpass")
R.eq(r.status, 429, "then any name from that address: 429")
R.eq(attempt("198.51.100.8", "testuser", "testpass").status, 200, "other addresses: fine")

# ---- X-Forwarded-For: a forged entry on the left changes nothing ---------------------
F = "198.51.100.20"
for forged in ("6.6.6.6", "6.6.6.7", "6.6.6.8"):
    attempt("%s, %s" % (forged, F), "testuser", "wrong")
r = attempt("6.6.6.9, " + F, "testuser", "testpass")
R.eq(r.status, 429, "forged XFF entries on the left: still the proxy-written address, banned")
R.eq(events("login_failure", "6.6.6.6"), [], "no failure counted against a forged address")

# ---- IPv6 counts per /64 ----------------------------------------------------------
for host in ("2001:db8:7:7::1", "2001:db8:7:7::2", "2001:db8:7:7:aaaa::3"):
    attempt(host, "testuser", "wrong")
R.eq(attempt("2001:db8:7:7::ffff", "testuser", "testpass").status, 429,
     "three IPv6 addresses of one /64 are one client")
R.eq(attempt("2001:db8:7:8::1", "testuser", "testpass").status, 200, "the next /64 is another")

# ---- the demo's /login: two processes sharing the counts through the store --------------
W = "198.51.100.30"
got = [attempt(W, "testuser", "wrong", path="/login").status for _ in range(12)]
print("# /login (2 processes) answers: %s" % got)
R.eq(got, [401] * 3 + [429] * 9,
     "/login with 2 processes and one store: exactly MAX_FAILURES wrong passwords answered 401, then 429")

# ---- the audit log in lighttpd's error log ----------------------------------------------
evil = 'evil\nevent=login_success addr=6.6.6.6 user="root"'
attempt("198.51.100.40", evil, "x")
time.sleep(0.3)  # lighttpd writes the FastCGI stderr records as they come
lines = audit_lines()
R.check(len(lines) > 0, "audit lines are in lighttpd's server.errorlog")
R.check(all("(mod_fastcgi.c." in p and p.rstrip().endswith("FastCGI-stderr:") for p, _ in lines),
        "every audit line comes through mod_fastcgi as FastCGI-stderr",
        repr([p for p, _ in lines if "mod_fastcgi" not in p][:2]))
R.eq(len(events("login_failure", A)), 3, "three login_failure lines for the first address")
f = events("login_failure", A)[0] if events("login_failure", A) else {}
R.eq((f.get("user"), f.get("route"), f.get("reason")),
     ('"testuser"', '"/login1"', "wrong_password"), "a failure line names user, route and reason")
R.check(len(events("ban_start", A)) == 1 and events("ban_start", A)[0].get("ban") == "pair"
        and "until" in events("ban_start", A)[0], "one ban_start line, ban=pair, with until")
R.eq(len(events("login_banned", A)), 10,
     "22 refused attempts of one ban key in a minute: 10 login_banned lines (the throttle)")
R.eq(len(events("login_success", A)), 1, "the login after the ban: one login_success line")
R.check(any(e.get("ban") == "address" for e in events("ban_start", S)), "the spraying address: ban=address")
R.eq([f.get("reason") for f in events("login_failure", S)], ["unknown_user"] * 6,
     "unknown names: reason=unknown_user")
R.eq(len(events("login_failure", "2001:db8:7:7::/64")), 3, "IPv6 failures are logged per /64")
R.eq([f.get("user") for f in events("login_failure", "198.51.100.40")],
     ['"evil\\nevent=login_success\\x20addr=6.6.6.6\\x20user=\\"root\\""'],
     "a user name with a newline and quotes stays inside one escaped value")
R.eq(events("login_success", "6.6.6.6"), [], "no forged line")
log = harness.tail(os.path.join(run, "lighttpd-error.log"), 10 ** 7)
R.check("testpass" not in log and "wrong" not in log.replace("wrong_password", ""),
        "no password in the error log")

# ---- CGI mode under lighttpd: stderr does NOT reach server.errorlog -------------------
# lighttpd hands a CGI program its own stderr (the terminal under -D, /dev/null
# when daemonised), not server.errorlog: the documented reason to use FastCGI,
# or JWTX_AUDIT_LOG = "syslog" / a file, for CGI under lighttpd.
r = srv.request("POST", "/cgi/login.fcgi", body={"username": "cgiuser", "password": "x"})
R.eq((r.status, r.body), (401, BAD), "CGI mode: a wrong login is 401")
time.sleep(0.3)
cgi = [f for p, f in audit_lines() if f.get("user") == '"cgiuser"']
R.eq(len(cgi), 0, "CGI mode under lighttpd: the stderr line is not in server.errorlog (documented)")

R.finish()
