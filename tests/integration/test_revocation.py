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

# ---- Redis: two gateways, one store ------------------------------------------------------
rrun = harness.tmpdir("rev-redis-")
rport = harness.free_port()


def redis_start():
    subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", str(rport), "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--dir", rrun,
                    "--pidfile", os.path.join(rrun, "redis.pid"),
                    "--logfile", os.path.join(rrun, "redis.log")], check=True)
    if not harness.wait_port(rport):
        raise RuntimeError("redis-server did not start")


def redis_stop():
    try:
        with open(os.path.join(rrun, "redis.pid")) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    try:
        os.unlink(os.path.join(rrun, "redis.pid"))
    except OSError:
        pass


import atexit  # noqa: E402
atexit.register(redis_stop)
redis_start()
store = "redis://127.0.0.1:%d/3" % rport
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
ttl = subprocess.run(["redis-cli", "-p", str(rport), "-n", "3", "TTL", "jwtx:jti:" + claims["jti"]],
                     capture_output=True, text=True).stdout.strip()
want = claims["exp"] - int(time.time())
R.check(ttl.lstrip("-").isdigit() and abs(int(ttl) - want) <= 2,
        "redis: key TTL equals the token's remaining life", "ttl=%s want~%d" % (ttl, want))

tok2, ref2 = login(g2)
redis_stop()
r = g1.request("GET", "/protected", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: protected fails closed with 503")
r = g2.request("GET", "/private/", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: the authorizer fails closed with 503")
r = g1.request("POST", "/logout", headers=bearer(tok2))
R.eq((r.status, r.body), (503, UNAVAILABLE), "redis down: logout that cannot record answers 503")
r = g2.request("POST", "/refresh", headers=bearer(ref2))
R.eq(r.status, 503, "redis down: refresh fails closed")

redis_start()
time.sleep(0.3)
ok = False
for _ in range(20):
    r = g1.request("GET", "/protected", headers=bearer(tok2))
    if r.status == 200:
        ok = True
        break
    time.sleep(0.25)
R.check(ok, "redis back: gateway 1 recovers without a restart", "last status %d" % r.status)
R.eq(g2.request("GET", "/protected", headers=bearer(tok2)).status, 200,
     "redis back: gateway 2 recovers without a restart")
r = g2.request("POST", "/logout", headers=bearer(tok2))
R.eq(r.status, 200, "redis back: logout records again")
R.eq(g1.request("GET", "/protected", headers=bearer(tok2)).body, REVOKED,
     "redis back: revocation shared again")

g1.stop()
g2.stop()
redis_stop()
R.finish()
