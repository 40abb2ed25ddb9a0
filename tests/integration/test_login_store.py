"""Integration suite: login attempt counts and bans shared through the store.

SQLite: the demo lighttpd runs two login.fcgi processes over one store file.
Two rounds of two concurrent wrong passwords put work on both processes
(their CPU read from /proc says so); then the right password is refused 429
by both: four failures, counted once across the processes. The same steps
against a gateway with JWTX_BLOCKLIST = "" (counts in each process's
memory) let the right password in: the control that shows the test can
fail. Plain CGI (a process per request) counts through the store as well.
`jwtx login-bans` lists the ban and lifts it. A store made by an older
jwtx (schema version 1): login answers 503 "Login attempt store unavailable"
with one log line naming `jwtx blocklist init`, token checks go on; init
upgrades it and login works without a restart.
Redis: two lighttpd gateways share one real redis-server: failures at one
and at the other count together, a ban started through gateway A refuses
the right password at gateway B; the keys carry their TTLs. Redis killed:
login answers 503 without running bcrypt (the CPU of the login processes,
from /proc) while a token check answers the revocation 503 as before;
Redis restarted: both gateways let the user in again without a restart.
Short times in the conf; assertions on counts, not on wall-clock times.
"""
import atexit
import concurrent.futures
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

R = harness.Results("login-store")
SECRET = "login-store-suite-secret-0123456789abcdef012345"
TOO_MANY = msg("Too many failed login attempts")
STORE_DOWN = msg("Login attempt store unavailable")
BAN = 30
LIMITS = ("JWTX_LOGIN_MAX_FAILURES = 3\n"
          "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 0\n"
          "JWTX_LOGIN_MAX_FAILURES_PER_USER = 0\n"
          "JWTX_LOGIN_FIND_TIME = 600\n"
          "JWTX_LOGIN_BAN_TIME = %d\n"
          "JWTX_TRUSTED_PROXIES = [\"127.0.0.1\"]\n"
          "JWTX_BLOCKLIST_TIMEOUT_MS = 200\n" % BAN)
USER, PASSWORD = harness.TEST_USER, harness.TEST_PASSWORD


def conf_text(store, extra=""):
    return ('JWT_SECRET_KEY = "%s"\nJWT_TOKEN_LOCATION = ["headers"]\n'
            'JWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\n' % (SECRET, harness.USERS, store)
            + LIMITS + extra)


def attempt(srv, client, password, user=USER):
    return srv.request("POST", "/login", headers={"X-Forwarded-For": client},
                       body={"username": user, "password": password})


def cpu_ticks(pid):
    try:
        fields = harness.tail("/proc/%d/stat" % pid, 4096).rsplit(")", 1)[-1].split()
        return int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return 0


def logins(srv, want=2):
    """The login.fcgi processes of srv, once lighttpd has started `want` of
    them (it spawns them one after the other; at most 5 s)."""
    end = time.time() + 5
    pids = harness.descendants(srv.proc.pid, "login.fcgi")
    while len(pids) < want and time.time() < end:
        time.sleep(0.05)
        pids = harness.descendants(srv.proc.pid, "login.fcgi")
    return pids


def both(srv, client, password):
    """Two attempts at once: lighttpd gives the second to the other process
    while the first is busy hashing."""
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        return sorted(ex.map(lambda _: attempt(srv, client, password).status, range(2)))


def spread_failures(srv, client):
    """Two rounds of two concurrent wrong passwords; returns (statuses, CPU
    ticks each login process spent)."""
    pids = logins(srv)
    before = {p: cpu_ticks(p) for p in pids}
    codes = both(srv, client, "wrong") + both(srv, client, "wrong")
    return codes, {p: cpu_ticks(p) - before[p] for p in pids}


def log_lines(srv, pattern):
    return [ln for ln in harness.tail(srv.stderr_log, 10 ** 7).splitlines()
            if re.search(pattern, ln)]


# ---- SQLite: one store shared by the processes of one lighttpd ------------------------------
srun = harness.tmpdir("ls-sqlite-")
sq = harness.Lighttpd(conf_text("sqlite:%s/store.sqlite" % srun), run_dir=srun)
R.eq(len(logins(sq)), 2, "sqlite: the demo runs two login.fcgi processes")
X = "198.51.100.10"
codes, work = spread_failures(sq, X)
print("# sqlite: CPU ticks per login process for 4 concurrent wrong passwords: %s" % work)
R.eq(codes, [401] * 4, "sqlite: 4 wrong passwords, two at a time: 401 each")
spread = len(work) == 2 and all(t >= 2 for t in work.values())
R.check(spread, "sqlite: both processes hashed passwords (the failures were spread)", str(work))
R.eq(both(sq, X, PASSWORD), [429, 429],
     "sqlite: then the right password is refused by both processes (one count, one ban)")

# The control: the same steps with the counts in each process's memory.
mrun = harness.tmpdir("ls-memory-")
mem = harness.Lighttpd(conf_text(""), run_dir=mrun)
mcodes, mwork = spread_failures(mem, X)
mspread = len(mwork) == 2 and all(t >= 2 for t in mwork.values())
print("# memory: CPU ticks per login process: %s" % mwork)
if mspread:
    R.eq(both(mem, X, PASSWORD), [200, 200],
         "control, JWTX_BLOCKLIST = \"\": each process counted only its own 2 failures: let in")
else:
    print("# memory: lighttpd did not spread the failures this time; control skipped")
mem.stop()

# What the file holds, and jwtx login-bans.
db = sqlite3.connect("%s/store.sqlite" % srun)
bans = db.execute("SELECT key, until - strftime('%s','now') FROM login_bans").fetchall()
db.close()
R.check(len(bans) == 1 and bans[0][0] == "p %s %s" % (X, USER) and 0 < bans[0][1] <= BAN,
        "sqlite: one row in login_bans, the pair, ending within BAN_TIME", str(bans))
rc, out, err = harness.jwtx("login-bans", "--conf", sq.conf, "list")
fields = out.strip().split("\t")
R.check(rc == 0 and fields[:3] == ["pair", X, USER] and len(fields) == 4,
        "jwtx login-bans list: pair, address, user, end", out + err)
rc, out, err = harness.jwtx("login-bans", "--conf", sq.conf, "list", "--user", "someoneelse")
R.eq((rc, out), (0, ""), "jwtx login-bans list --user someoneelse: nothing")
rc, out, err = harness.jwtx("login-bans", "--conf", sq.conf, "clear", "--user", USER,
                            "--address", X)
R.eq((rc, out.strip()), (0, "lifted 1 ban"), "jwtx login-bans clear --user --address")
R.eq(attempt(sq, X, PASSWORD).status, 200, "sqlite: after clear the right password works at once")
codes = [attempt(sq, X, "wrong").status for _ in range(3)]
R.eq(codes + [attempt(sq, X, PASSWORD).status], [401, 401, 401, 429],
     "sqlite: clear forgot the counts too: a full allowance of 3 again")

# Plain CGI (a new process per request) counts through the store too.
C = "198.51.100.20"


def cgi_attempt(password):
    return sq.request("POST", "/cgi/login.fcgi", headers={"X-Forwarded-For": C},
                      body={"username": USER, "password": password}).status


codes = [cgi_attempt("wrong") for _ in range(3)]
R.eq(codes + [cgi_attempt(PASSWORD)], [401, 401, 401, 429],
     "sqlite: plain CGI, a process per request: 3 wrong, then the right password 429")
R.eq(attempt(sq, C, PASSWORD).status, 429, "sqlite: the CGI-made ban holds at the FastCGI route")

# An older store (schema version 1): login fails closed, token checks go on.
orun = harness.tmpdir("ls-old-")
old = os.path.join(orun, "store.sqlite")
db = sqlite3.connect(old)
db.executescript("PRAGMA journal_mode = WAL;"
                 "CREATE TABLE revoked(jti TEXT PRIMARY KEY, until INTEGER);"
                 "CREATE INDEX revoked_until ON revoked(until);"
                 "CREATE TABLE revoked_users(user TEXT PRIMARY KEY, cutoff INTEGER NOT NULL);"
                 "PRAGMA user_version = 1;")
db.close()
os.chmod(old, 0o600)
osrv = harness.Lighttpd(conf_text("sqlite:" + old), run_dir=orun, make_store=False)
rc, tok, err = harness.jwtx("token", "create", "--conf", osrv.conf, "--identity", USER)
r = osrv.request("GET", "/protected", headers=bearer(tok.strip()))
R.eq(r.status, 200, "old store: a token check answers (revocations are read from it)")
codes = [attempt(osrv, "198.51.100.60", PASSWORD) for _ in range(4)]
R.eq([(c.status, c.body) for c in codes], [(503, STORE_DOWN)] * 4,
     "old store: login answers 503 Login attempt store unavailable")
lines = log_lines(osrv, r"login attempt store unavailable: sqlite .*schema \(version 1\)")
R.check(1 <= len(lines) <= 2 and "`jwtx blocklist init` upgrades it" in lines[0],
        "old store: one log line per process naming the remedy (%d)" % len(lines),
        "\n".join(lines[:3]))
rc, out, err = harness.jwtx("blocklist", "--conf", osrv.conf, "init")
R.check(rc == 0 and out.startswith("upgraded the revocation store"),
        "old store: jwtx blocklist init upgrades it", out + err)
R.eq(attempt(osrv, "198.51.100.60", PASSWORD).status, 200,
     "old store: after init, login works without a restart")
osrv.stop()

# ---- Redis: two gateways, one store --------------------------------------------------------
RPASS = "ls:s3cret@pw"
redis = harness.Redis(harness.tmpdir("ls-redis-"), RPASS)
rport = redis.port


def rcli(*args):
    return redis.cli("-n", "2", *args)


def settled(fn, seconds=5.0):
    """fn() again while it answers 503 (a process whose open-circuit period
    has not ended yet), for at most seconds."""
    end = time.time() + seconds
    r = fn()
    while r.status == 503 and time.time() < end:
        time.sleep(0.1)
        r = fn()
    return r


atexit.register(redis.stop)
redis.start()
store = "redis://:ls%%3As3cret%%40pw@127.0.0.1:%d/2" % rport
ga = harness.Lighttpd(conf_text(store), run_dir=harness.tmpdir("ls-ga-"))
gb = harness.Lighttpd(conf_text(store), run_dir=harness.tmpdir("ls-gb-"))

Y = "203.0.113.5"
codes = [attempt(ga, Y, "wrong").status for _ in range(3)]
R.eq(codes, [401, 401, 401], "redis: three wrong passwords at gateway A")
r = attempt(gb, Y, PASSWORD)
R.eq((r.status, r.body), (429, TOO_MANY), "redis: the RIGHT password at gateway B: 429")
retry = r.header("Retry-After") or ""
R.check(retry.isdigit() and 1 <= int(retry) <= BAN, "redis: B's 429 has Retry-After 1..%d" % BAN,
        retry)
R.eq(attempt(gb, "203.0.113.6", PASSWORD).status, 200, "redis: the user from elsewhere at B: 200")
ttl = rcli("TTL", "jwtx:login:ban:p %s %s" % (Y, USER))
R.check(ttl.lstrip("-").isdigit() and 0 < int(ttl) <= BAN, "redis: the ban key's TTL is the ban",
        ttl)

Z = "203.0.113.9"
codes = [attempt(ga, Z, "wrong").status, attempt(gb, Z, "wrong").status,
         attempt(ga, Z, "wrong").status]
R.eq(codes, [401, 401, 401], "redis: wrong passwords at A, B, A (3 in all)")
R.eq(attempt(gb, Z, PASSWORD).status, 429, "redis: counts added up across the gateways: banned")
R.eq(rcli("ZCARD", "jwtx:login:f:p %s %s" % ("203.0.113.6", USER)), "0",
     "redis: a success cleared that pair's failures")
ttl = rcli("TTL", "jwtx:login:f:a %s" % Z)
R.eq(ttl, "-2", "redis: a limit of 0 (per address) keeps no key")
rc, out, err = harness.jwtx("login-bans", "--conf", ga.conf, "list", "--address", Z)
R.check(rc == 0 and out.startswith("pair\t%s\t%s\t" % (Z, USER)),
        "redis: jwtx login-bans lists the ban from Redis", out + err)

# Redis killed: login fails closed without hashing; token checks answer as before.
rc, tok, err = harness.jwtx("token", "create", "--conf", ga.conf, "--identity", USER)
redis.stop()
pids = logins(ga)
before = {p: cpu_ticks(p) for p in pids}
down = [attempt(ga, "203.0.113.%d" % (20 + i), PASSWORD) for i in range(10)]
down += [attempt(ga, "203.0.113.%d" % (40 + i), "wrong") for i in range(10)]
spent = sum(cpu_ticks(p) - before.get(p, 0) for p in pids)
hz = os.sysconf("SC_CLK_TCK")
print("# redis down: 20 logins cost the login processes %d ms of CPU" % (spent * 1000 // hz))
R.eq([(r.status, r.body) for r in down], [(503, STORE_DOWN)] * 20,
     "redis down: login answers 503 Login attempt store unavailable (right and wrong passwords)")
R.check(spent * 1000 // hz <= 40, "redis down: no bcrypt run (20 logins <= 40 ms CPU in all; "
        "one bcrypt is ~50 ms)", "%d ticks" % spent)
r = ga.request("GET", "/protected", headers=bearer(tok.strip()))
R.eq((r.status, r.body), (503, msg("Token revocation store unavailable")),
     "redis down: a token check keeps its own answer (revocation store 503)")
R.check(len(log_lines(ga, r"login\.fcgi: revocation store unavailable: redis ")) >= 1,
        "redis down: the login process logs the store's state change")

redis.start()
r = settled(lambda: attempt(ga, "203.0.113.30", PASSWORD))
R.eq(r.status, 200, "redis back: login at A works again without a restart")
r = settled(lambda: attempt(gb, "203.0.113.31", PASSWORD))
R.eq(r.status, 200, "redis back: login at B works again without a restart")
codes = [attempt(gb, "203.0.113.32", "wrong").status for _ in range(3)]
R.eq(codes + [attempt(ga, "203.0.113.32", PASSWORD).status], [401, 401, 401, 429],
     "redis back: counts shared again (3 wrong at B, then 429 at A)")
R.check(len(log_lines(ga, r"login\.fcgi: revocation store available again \(redis\)")) >= 1,
        "redis back: the login process logs the recovery")
logs = "".join(harness.tail(s.stderr_log, 10 ** 7) for s in (ga, gb))
R.check("s3cret" not in logs and PASSWORD not in logs, "no Redis password and no user password in logs")

ga.stop()
gb.stop()
sq.stop()
redis.stop()
R.finish()
