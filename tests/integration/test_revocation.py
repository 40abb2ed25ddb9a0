"""Integration suite: revocation through real lighttpd gateways.

SQLite: several FastCGI processes of one lighttpd (and separate `jwtx revoke`
processes) share one file: a revocation made anywhere is seen at once
everywhere, and concurrent revocations lose nothing.
SQLite removed, restored, replaced under a running gateway: running and
respawned processes answer 503 while the file is gone (nothing creates an
empty store), a restored or renamed-over store is used by every process by
itself, a revoked token never comes back; one log line per process and
change of state, with the cause.
Redis: a real redis-server (with a password) on a free port shared by two
lighttpd gateways: revoke at one, rejected at the other; the key's TTL is the
token's remaining life; kill the server -> 503 (fail closed); restart it ->
the gateways recover by themselves; the log says why, once, never the
password.
Redis hung (SIGSTOP): with JWTX_BLOCKLIST_RETRY_MS (the open circuit) the
store is asked about once per period and process, and answers are quick
503s; without it every request waits for the timeout. Numbers are printed;
assertions are on counts, not times.
"""
import concurrent.futures
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

import jwt  # Debian python3-jwt

R = harness.Results("revocation")
SECRET = "revocation-suite-secret-0123456789abcdef0123456789ab"
USERS = harness.USERS
UNAVAILABLE = msg("Token revocation store unavailable")
REVOKED = msg("Token has been revoked")


def conf_text(store, extra=""):
    return ('JWT_SECRET_KEY = "%s"\nJWT_TOKEN_LOCATION = ["headers", "cookies"]\n'
            'JWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\nJWTX_BLOCKLIST_TIMEOUT_MS = 200\n'
            % (SECRET, USERS, store)) + extra


def programs(srv, name):
    """pids of the FastCGI programs `name` that this suite's lighttpd spawned."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = harness.tail("/proc/%s/stat" % d)
            m = re.match(r"\d+ \((.*)\) \S+ (\d+)", st)
            if m and m.group(1) == name and int(m.group(2)) == srv.proc.pid:
                out.append(int(d))
    return sorted(out)


def respawn(srv, name):
    """Kills the `name` programs of srv (children of our lighttpd, by pid) and
    waits until lighttpd has started as many new ones."""
    old = programs(srv, name)
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        new = programs(srv, name)
        if len(new) >= len(old) and not set(new) & set(old):
            return new
        time.sleep(0.05)
    return programs(srv, name)


def log_lines(srv, pattern):
    """Lines of the programs' log (their stderr: lighttpd -D keeps it on its
    own stderr, which the harness writes to run/stderr.log)."""
    return [ln for ln in harness.tail(srv.stderr_log, 10 ** 7).splitlines()
            if re.search(pattern, ln)]


def backup(src, dst):
    """A consistent copy of a live store, as `sqlite3 SRC ".backup DST"`."""
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def login(srv):
    r = harness.login(srv.port)
    return (r.json() or {}).get("access_token", ""), (r.json() or {}).get("refresh_token", "")


def parallel(fn, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


# ---- SQLite: one file, many processes ------------------------------------------------
run = harness.tmpdir("rev-sqlite-")
db = os.path.join(run, "blocklist.sqlite")
srv = harness.Lighttpd(conf_text("sqlite:" + db), run_dir=run)

tok, _ = login(srv)
answers = parallel(lambda _: srv.request("GET", "/protected", headers=bearer(tok)).status, range(16))
R.eq(answers, [200] * 16, "sqlite: token accepted by every protected process")
r = srv.request("POST", "/logout", headers=bearer(tok))
R.eq(r.status, 200, "sqlite: logout in the logout process")
answers = parallel(lambda _: srv.request("GET", "/protected", headers=bearer(tok)).body, range(16))
R.eq(answers, [REVOKED] * 16, "sqlite: every protected process rejects at once")
r = srv.request("GET", "/private/", headers=bearer(tok))
R.eq(r.body, REVOKED, "sqlite: the authorizer processes reject at once")
R.eq(oct(os.stat(db).st_mode & 0o777), "0o600", "sqlite: store file has mode 0600")

# 40 tokens revoked concurrently: half through HTTP logout, half by separate
# `jwtx revoke` processes, all at the same time.
tokens = [login(srv)[0] for _ in range(40)]


def revoke(i):
    t = tokens[i]
    if i % 2 == 0:
        return srv.request("POST", "/logout", headers=bearer(t)).status
    p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, t], capture_output=True)
    return 200 if p.returncode == 0 else p.returncode


codes = parallel(revoke, range(40), workers=10)
R.eq(codes, [200] * 40, "sqlite: 40 concurrent revocations from several processes succeed")
answers = parallel(lambda t: srv.request("GET", "/protected", headers=bearer(t)).status, tokens)
R.eq(answers, [401] * 40, "sqlite: none of the 40 revocations was lost")
p = subprocess.run([harness.JWTX, "blocklist", "--conf", srv.conf, "count"], capture_output=True,
                   text=True)
R.check(p.returncode == 0 and "41" in p.stdout, "sqlite: jwtx blocklist count sees all 41 entries",
        p.stdout + p.stderr)

# log out everywhere from the command line
t_a, t_b = login(srv)[0], login(srv)[0]
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, "--user", "testuser"], capture_output=True)
R.eq(p.returncode, 0, "sqlite: jwtx revoke --user")
R.eq(srv.request("GET", "/protected", headers=bearer(t_b)).body, REVOKED,
     "sqlite: revoke --user rejects the user's earlier tokens")
srv.stop()

# ---- a non-string identity: one user key whatever the spelling -------------------------
# JWT_VERIFY_SUB = False lets sub hold an object. The gateway keys the user by
# the identity's canonical JSON (keys sorted, compact, ensure_ascii), and
# `jwtx revoke --user JSON` rewrites its argument into the same form, so any
# spelling of the object revokes the tokens of every other spelling.
run = harness.tmpdir("rev-objid-")
db = os.path.join(run, "blocklist.sqlite")
srv = harness.Lighttpd(conf_text("sqlite:" + db, "JWT_VERIFY_SUB = False\n"), run_dir=run)


def raw_token(payload_text):
    """An HS256 token over exact payload bytes (PyJWT would respell them)."""
    import base64
    import hashlib
    import hmac

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    signing = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(payload_text.encode())
    return signing + "." + b64(hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest())


def obj_token(sub_text, i):
    return raw_token('{"fresh":false,"iat":%d,"jti":"objid-%d","type":"access","sub":%s,'
                     '"exp":%d}' % (int(time.time()) - 5, i, sub_text, int(time.time()) + 600))


SPELLINGS = ['{"org":"\\u00e9t\\u00e9","id":9}', '{ "id" : 9, "org" : "\u00e9t\u00e9" }',
             '{"\\u0069d":9,"org":"\\u00E9t\\u00e9"}']
toks = [obj_token(sp, i) for i, sp in enumerate(SPELLINGS)]
R.eq([srv.request("GET", "/protected", headers=bearer(t)).status for t in toks], [200] * 3,
     "object identity: three spellings accepted")
other = obj_token('{"id":10,"org":"\\u00e9t\\u00e9"}', 9)
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, "--user",
                    '{"org": "\u00e9t\u00e9", "id": 9}'], capture_output=True, text=True)
R.eq((p.returncode, p.stdout.split(" issued")[0], "taken as a name" in p.stderr),
     (0, 'revoked every token of {"id":9,"org":"\\u00e9t\\u00e9"}', False),
     "object identity: jwtx revoke --user writes the canonical key")
R.eq([srv.request("GET", "/protected", headers=bearer(t)).body for t in toks], [REVOKED] * 3,
     "object identity: revoke --user (another spelling) rejects every spelling's tokens")
R.eq(srv.request("GET", "/protected", headers=bearer(other)).status, 200,
     "object identity: another identity is untouched")
# logout everywhere at the gateway keys by the same text: tokens made after
# the first cut-off (a later second), logged out everywhere with one spelling
time.sleep(1.1)
fresh = [raw_token('{"fresh":false,"iat":%d,"jti":"objid-new-%d","type":"access","sub":%s,'
                   '"exp":%d}' % (int(time.time()), i, sp, int(time.time()) + 600))
         for i, sp in enumerate(SPELLINGS)]
R.eq([srv.request("GET", "/protected", headers=bearer(t)).status for t in fresh], [200] * 3,
     "object identity: tokens made after the cut-off are accepted")
r = srv.request("POST", "/logout?everywhere=1", headers=bearer(fresh[1]))
R.eq((r.status, r.body), (200, msg("All tokens revoked")), "object identity: logout everywhere")
R.eq([srv.request("GET", "/protected", headers=bearer(t)).body for t in fresh], [REVOKED] * 3,
     "object identity: logout everywhere (one spelling) rejects every spelling's tokens")
p = subprocess.run([harness.JWTX, "blocklist", "--conf", srv.conf, "list"], capture_output=True,
                   text=True)
R.check('user\t{"id":9,"org":"\\x5cu00e9t\\x5cu00e9"}\t' in p.stdout,
        "object identity: the store holds the canonical key", p.stdout)
srv.stop()

# ---- SQLite: the file removed, restored, replaced under a running gateway ----------------
# JWTX_BLOCKLIST_RETRY_MS = 0: every request asks the store, so each answer
# below is exact (the open circuit is tested with Redis further down).
run = harness.tmpdir("rev-move-")
db = os.path.join(run, "blocklist.sqlite")
srv = harness.Lighttpd(conf_text("sqlite:" + db, "JWTX_BLOCKLIST_RETRY_MS = 0\n"), run_dir=run)
R.eq(oct(os.stat(db).st_mode & 0o777), "0o600", "init: the store is made by jwtx blocklist init, 0600")
t_rev, t_ok, t_late = login(srv)[0], login(srv)[0], login(srv)[0]
R.eq(srv.request("POST", "/logout", headers=bearer(t_rev)).status, 200, "move: logout")
N = 24


def answers(tok, path="/protected"):
    return sorted(set(parallel(lambda _: (lambda r: (r.status, r.body))(
        srv.request("GET", path, headers=bearer(tok))), range(N))))


R.eq(answers(t_rev), [(401, REVOKED)], "move: the revoked token is refused by every process")
R.eq(answers(t_ok), [(200, b'{"logged_in_as":"testuser"}\n')], "move: a valid token is accepted")
R.eq(answers(t_ok, "/private/")[0][0], 200, "move: the authorizer accepts it too")
backup(db, os.path.join(run, "backup.sqlite"))
running = programs(srv, "protected.fcgi") + programs(srv, "authorizer.fcgi")

for f in (db, db + "-wal", db + "-shm"):  # rm blocklist.sqlite*
    if os.path.exists(f):
        os.unlink(f)
R.eq(answers(t_rev), [(503, UNAVAILABLE)],
     "removed: running processes answer 503 for the revoked token (not the unlinked file)")
R.eq(answers(t_ok), [(503, UNAVAILABLE)], "removed: running processes answer 503 for any token")
R.eq(answers(t_ok, "/private/"), [(503, UNAVAILABLE)], "removed: the authorizer answers 503")
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, t_late], capture_output=True,
                   text=True)
R.check(p.returncode == 3 and "no store file" in p.stderr,
        "removed: jwtx revoke exits 3 and says why", p.stderr)
fresh = respawn(srv, "protected.fcgi")
R.check(len(fresh) >= 1 and not set(fresh) & set(running), "removed: protected programs respawned",
        "%r -> %r" % (running, fresh))
R.eq(answers(t_rev), [(503, UNAVAILABLE)], "removed: respawned processes answer 503 (revoked token)")
R.eq(answers(t_ok), [(503, UNAVAILABLE)], "removed: respawned processes answer 503 (valid token)")
R.eq([os.path.exists(f) for f in (db, db + "-wal", db + "-shm")], [False] * 3,
     "removed: no process created a new store")
down = log_lines(srv, r"revocation store unavailable: sqlite %s: " % re.escape(db))
procs = len(running) + len(fresh)
R.check(1 <= len(down) <= procs, "removed: one log line per process at most, not one per request "
        "(%d lines, %d processes, %d requests)" % (len(down), procs, 7 * N),
        "\n".join(down[:5]))
R.check(all("the store file was removed" in ln or "no store file" in ln for ln in down),
        "removed: each log line gives the cause", "\n".join(down[:5]))

os.rename(os.path.join(run, "backup.sqlite"), db)  # restore
R.eq(answers(t_rev), [(401, REVOKED)], "restored: the revoked token stays revoked in every process")
R.eq(answers(t_ok), [(200, b'{"logged_in_as":"testuser"}\n')], "restored: valid tokens accepted again")
R.eq(answers(t_ok, "/private/")[0][0], 200, "restored: the authorizer recovers by itself")
up = log_lines(srv, r"revocation store available again \(sqlite\)")
R.check(1 <= len(up) <= procs, "restored: 'available again' logged once per process at most "
        "(%d lines)" % len(up), "\n".join(up[:5]))
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, t_late], capture_output=True)
R.eq(p.returncode, 0, "restored: jwtx revoke works again")
R.eq(answers(t_late), [(401, REVOKED)], "restored: a revocation made now is seen by every process")

# Another store renamed over the path (the way README describes: the -wal and
# -shm beside the old file go with it): a copy of the current store with one
# more revocation, made aside with jwtx.
other = os.path.join(run, "other.sqlite")
backup(db, other)
oconf = harness.write_text(os.path.join(run, "other.conf"), conf_text("sqlite:" + other))
p = subprocess.run([harness.JWTX, "revoke", "--conf", oconf, t_ok], capture_output=True, text=True)
R.eq(p.returncode, 0, "replaced: revoke into the new file made aside")
sqlite3.connect(other).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
for f in (db + "-wal", db + "-shm"):
    if os.path.exists(f):
        os.unlink(f)
for f in (other + "-wal", other + "-shm"):
    if os.path.exists(f):
        os.unlink(f)
os.rename(other, db)
R.eq(answers(t_ok), [(401, REVOKED)],
     "replaced: every running process uses the new file (its revocation counts)")
R.eq(answers(t_rev), [(401, REVOKED)], "replaced: earlier revocations (in the copy) still count")
t_new = login(srv)[0]
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, t_new], capture_output=True)
R.eq(p.returncode, 0, "replaced: jwtx revoke into the new file")
R.eq(answers(t_new), [(401, REVOKED)], "replaced: seen by every process at once")
respawn(srv, "protected.fcgi")
R.eq(answers(t_new), [(401, REVOKED)], "replaced: and by respawned processes")
srv.stop()

# The store's directory moved away and a new store made at the path (mv
# /var/lib/jwtx /var/lib/jwtx.old; mkdir /var/lib/jwtx; jwtx blocklist init):
# nothing happens to the files the running processes have open, yet the path
# now names the new store, the one jwtx revoke writes to.
run = harness.tmpdir("rev-dir-")
sdir = os.path.join(run, "store")
os.mkdir(sdir, 0o700)
db = os.path.join(sdir, "blocklist.sqlite")
srv = harness.Lighttpd(conf_text("sqlite:" + db, "JWTX_BLOCKLIST_RETRY_MS = 0\n"), run_dir=run)
t_dir = login(srv)[0]
R.eq(answers(t_dir), [(200, b'{"logged_in_as":"testuser"}\n')], "dir: a valid token is accepted")
R.eq(answers(t_dir, "/private/")[0][0], 200, "dir: the authorizer accepts it too")
os.rename(sdir, sdir + ".old")
R.eq(answers(t_dir), [(503, UNAVAILABLE)], "dir moved away: running processes answer 503")
os.mkdir(sdir, 0o700)
p = subprocess.run([harness.JWTX, "blocklist", "--conf", srv.conf, "init"], capture_output=True,
                   text=True)
R.eq(p.returncode, 0, "dir moved: jwtx blocklist init makes a new store at the path")
p = subprocess.run([harness.JWTX, "revoke", "--conf", srv.conf, t_dir], capture_output=True,
                   text=True)
R.eq(p.returncode, 0, "dir moved: jwtx revoke into the new store")
R.eq(answers(t_dir), [(401, REVOKED)],
     "dir moved: every running process reads the new store (not the moved file)")
R.eq(answers(t_dir, "/private/"), [(401, REVOKED)], "dir moved: the authorizer too")
srv.stop()

# ---- Redis: two gateways, one store ------------------------------------------------------
RPASS = "rev:s3cret@pw"  # in the URL as rev%3As3cret%40pw
redis = harness.Redis(harness.tmpdir("rev-redis-"), RPASS)
rport = redis.port
rcli = redis.cli


def settled(fn, seconds=5.0):
    """fn() again while it answers 503 (a process whose open-circuit period,
    JWTX_BLOCKLIST_RETRY_MS, has not ended yet), for at most seconds."""
    end = time.time() + seconds
    r = fn()
    while r.status == 503 and time.time() < end:
        time.sleep(0.1)
        r = fn()
    return r


import atexit  # noqa: E402
atexit.register(redis.stop)
redis.start()
store = "redis://:rev%%3As3cret%%40pw@127.0.0.1:%d/3" % rport
g1 = harness.Lighttpd(conf_text(store), run_dir=harness.tmpdir("rev-g1-"))
g2 = harness.Lighttpd(conf_text(store), run_dir=harness.tmpdir("rev-g2-"))

tok, _ = login(g1)
R.eq(g2.request("GET", "/protected", headers=bearer(tok)).status, 200,
     "redis: a token from gateway 1 is accepted by gateway 2")
r = g1.request("POST", "/logout", headers=bearer(tok))
R.eq((r.status, r.body), (200, b'{"msg":"Access token revoked"}\n'), "redis: logout at gateway 1")
R.eq(g2.request("GET", "/protected", headers=bearer(tok)).body, REVOKED,
     "redis: gateway 2 rejects the token revoked at gateway 1")
claims = jwt.decode(tok, SECRET, algorithms=["HS256"])
ttl = rcli("-n", "3", "TTL", "jwtx:jti:" + claims["jti"])
want = claims["exp"] - int(time.time())
R.check(ttl.lstrip("-").isdigit() and abs(int(ttl) - want) <= 2,
        "redis: key TTL equals the token's remaining life", "ttl=%s want~%d" % (ttl, want))

tok2, ref2 = login(g2)
redis.stop()
r = g1.request("GET", "/protected", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: protected fails closed with 503")
r = g2.request("GET", "/private/", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: the authorizer fails closed with 503")
r = g1.request("POST", "/logout", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: logout that cannot record answers 503")
r = g2.request("POST", "/refresh", headers=bearer(ref2))
R.eq(r.status, 503, "redis down: refresh fails closed")
for _ in range(20):  # many failed requests: still one log line per process
    g1.request("GET", "/protected", headers=bearer(tok2))

redis.start()
t0 = time.time()
r = settled(lambda: g1.request("GET", "/protected", headers=bearer(tok2)))
R.eq(r.status, 200, "redis back: gateway 1 recovers without a restart (%.2f s after the restart)"
     % (time.time() - t0))
r = settled(lambda: g2.request("GET", "/protected", headers=bearer(tok2)))
R.eq(r.status, 200, "redis back: gateway 2 recovers without a restart")
r = settled(lambda: g2.request("POST", "/logout", headers=bearer(tok2)))
R.eq(r.status, 200, "redis back: logout records again")
r = settled(lambda: g1.request("GET", "/protected", headers=bearer(tok2)))
R.eq(r.body, REVOKED, "redis back: revocation shared again")
for _ in range(8):  # every process of gateway 1 asks again
    settled(lambda: g1.request("GET", "/protected", headers=bearer(tok2)))

# The log: why, once per process and change of state, never the password.
nprocs = len(programs(g1, "protected.fcgi")) + len(programs(g1, "logout.fcgi"))
down = log_lines(g1, r"revocation store unavailable")
R.check(1 <= len(down) <= nprocs,
        "redis log: one 'unavailable' line per process, not per request (%d lines, %d processes, "
        "23 failed requests)" % (len(down), nprocs), "\n".join(down))
# The cause is the first failure each process met: a refused connect, or
# (a request in flight when the server was killed) the reset of a
# connection already made.
R.check(all(re.search(r"^(protected|logout)\.fcgi: revocation store unavailable: redis "
                      r"127\.0\.0\.1:%d: (connect: Connection refused|[A-Za-z ]+: Connection "
                      r"reset by peer|[A-Za-z ]+: Server closed the connection) \(answering 503; "
                      r"asked again every 1000 ms\)$" % rport, ln) for ln in down),
        "redis log: the line names the program, the store and the cause", "\n".join(down))
up = log_lines(g1, r"revocation store available again \(redis\)")
R.check(1 <= len(up) <= nprocs, "redis log: 'available again' once per process (%d lines)" % len(up),
        "\n".join(up))
logs = harness.tail(g1.stderr_log, 10 ** 7) + harness.tail(g2.stderr_log, 10 ** 7)
R.check("s3cret" not in logs and "rev%3A" not in logs, "redis log: never the password")
g1.stop()
g2.stop()

# ---- Redis hung (SIGSTOP): the open circuit ------------------------------------------------
# Two gateways on the same store, one with the default JWTX_BLOCKLIST_RETRY_MS
# (1000 ms), one with 0 (off: every request waits for the 200 ms timeout).
# The redis-server is ours (its pid file); each store contact while it is
# stopped is a new connection, counted by Redis once it runs again.
WORKERS, SECONDS = 8, 3.0
gc = harness.Lighttpd(conf_text(store), run_dir=harness.tmpdir("rev-gc-"))
g0 = harness.Lighttpd(conf_text(store, "JWTX_BLOCKLIST_RETRY_MS = 0\n"),
                      run_dir=harness.tmpdir("rev-g0-"))
tok3, _ = login(gc)


def connections():
    info = rcli("INFO", "stats")
    m = re.search(r"total_connections_received:(\d+)", info)
    return int(m.group(1)) if m else -1


def hammer(srv):
    """WORKERS clients asking /protected for SECONDS: (statuses, latencies)."""
    end = time.time() + SECONDS

    def client(_):
        got = []
        while time.time() < end:
            t = time.time()
            st = srv.request("GET", "/protected", headers=bearer(tok3)).status
            got.append((st, time.time() - t))
        return got

    out = [x for part in parallel(client, range(WORKERS), WORKERS) for x in part]
    return [st for st, _ in out], sorted(lat for _, lat in out)


def hung(srv):
    """Stops Redis, hammers srv, lets Redis run again; (statuses, latencies,
    store contacts, seconds)."""
    for _ in range(4):
        settled(lambda: srv.request("GET", "/protected", headers=bearer(tok3)))
    before = connections()
    pid = redis.pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        t = time.time()
        sts, lats = hammer(srv)
        took = time.time() - t
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(0.5)  # Redis accepts the connections queued meanwhile
    return sts, lats, connections() - before - 1, took


def pct(lats, q):
    return lats[min(len(lats) - 1, int(q * len(lats)))] * 1000 if lats else -1


results = {}
for name, srv in (("retry 1000 ms", gc), ("retry off", g0)):
    sts, lats, contacts, took = hung(srv)
    results[name] = (sts, contacts)
    print("# redis stopped, %s: %d requests in %.1f s (%.0f req/s), %d answered 503, latency "
          "p50 %.1f ms p90 %.1f ms max %.1f ms, store contacted %d times"
          % (name, len(sts), took, len(sts) / took, sts.count(503), pct(lats, 0.5),
             pct(lats, 0.9), pct(lats, 1.0), contacts))
    R.check(len(sts) > 0 and all(st == 503 for st in sts),
            "redis stopped, %s: every answer is 503 (fail closed)" % name, repr(set(sts)))
    nproc = len(programs(srv, "protected.fcgi"))
    if name == "retry 1000 ms":
        bound = nproc * (int(took / 1.0) + 2)
        R.check(0 <= contacts <= bound,
                "redis stopped, %s: the store asked at most once per second and process "
                "(%d contacts for %d requests, bound %d)" % (name, contacts, len(sts), bound))
    else:
        R.check(contacts >= len(sts) // 2,
                "redis stopped, %s: every request asks the store (%d contacts, %d requests)"
                % (name, contacts, len(sts)))
R.check(len(results["retry 1000 ms"][0]) > len(results["retry off"][0]),
        "redis stopped: the open circuit answers more requests than waiting for the timeout")
t0 = time.time()
r = settled(lambda: gc.request("GET", "/protected", headers=bearer(tok3)))
R.eq(r.status, 200, "redis running again: the gateway recovers (%.2f s)" % (time.time() - t0))
gc.stop()
g0.stop()
redis.stop()
R.finish()
