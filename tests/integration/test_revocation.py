"""Integration suite: revocation through real lighttpd gateways.

SQLite: several FastCGI processes of one lighttpd (and separate `jwtx revoke`
processes) share one file: a revocation made anywhere is seen at once
everywhere, and concurrent revocations lose nothing.
Redis: a real redis-server on a free port shared by two lighttpd gateways:
revoke at one, rejected at the other; the key's TTL is the token's remaining
life; kill the server -> 503 (fail closed); restart it -> the gateways recover
by themselves.
"""
import concurrent.futures
import os
import signal
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


def conf_text(store):
    return ('JWT_SECRET_KEY = "%s"\nJWT_TOKEN_LOCATION = ["headers", "cookies"]\n'
            'JWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\nJWTX_BLOCKLIST_TIMEOUT_MS = 200\n'
            % (SECRET, USERS, store))


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
