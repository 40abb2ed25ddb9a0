"""`make bench`, end to end: requests/s of GET /protected through lighttpd with a
revocation store of 10^6 entries, against a gateway without a store.

For each back end (SQLite, Redis) three lighttpd gateways run the demo routes
(conf/lighttpd/demo.conf.in via tests/integration/harness.py) with the same
secret: one with JWTX_BLOCKLIST = "" (the baseline: no revocation check at
all), one with an empty store and one with a store of 10^6 revoked jtis
(JWTX_BENCH_ENTRIES), filled by `bench_blocklist fill-sqlite|fill-redis`
(one SQLite transaction; pipelined Redis SETs on a redis-server of our own,
127.0.0.1, free port, --save ""). Before timing, each gateway must answer 200
to a valid token and, when its store is filled, 401 "Token has been revoked"
to the same token carrying revoked jti number 7 (so the store really is read).

The load generator is ApacheBench (ab, Debian apache2-utils, already a test
dependency): keep-alive, 8 connections, the same valid Bearer token on every
request (a jti that is not in the store: the common case). Each gateway gets
about JWTX_BENCH_SECONDS * 6 seconds (default 3 s) of load in 10 short runs
of a fixed number of requests (sized from a 2000-request warm-up), rotating
over the three gateways of a back end so that a busy machine slows them
alike; req/s = requests / ab's time over all runs of a gateway. Any failed or
non-2xx answer stops the bench with exit 1.

Output, one line per back end and size:
  bench: e2e-protected <sqlite|redis> entries=<N> req/s=<n> baseline=<n> ratio=<req/s / baseline>
Temporary files go into a folder under JWTX_BENCH_DIR (default build/bench),
removed at exit together with every server this script started.
"""
import argparse
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

import jwt  # Debian python3-jwt  # noqa: E402

SECRET = "bench-e2e-secret-0123456789abcdef0123456789abcdef"
USERS = os.path.join(harness.ROOT, "conf", "users.htpasswd")
REVOKED = harness.msg("Token has been revoked")
ROUNDS = 10
CONCURRENCY = 8


def die(text):
    sys.stderr.write("bench: error: %s\n" % text)
    sys.exit(1)


def conf_text(store):
    return ('JWT_SECRET_KEY = "%s"\nJWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\n'
            'JWTX_BLOCKLIST_TIMEOUT_MS = 2000\n' % (SECRET, USERS, store))


def bearer(t):
    return {"Authorization": "Bearer " + t}


class Redis:
    """A redis-server of our own on a free port; stopped at exit."""

    def __init__(self, run):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", run, "--logfile", os.path.join(run, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        if not harness.wait_port(self.port):
            die("redis-server did not start on %d" % self.port)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def ab(port, token, requests):
    """(requests done, seconds) of keep-alive GET /protected, `requests` of them."""
    cmd = ["ab", "-q", "-k", "-c", str(CONCURRENCY), "-n", str(requests),
           "-H", "Authorization: Bearer " + token, "http://127.0.0.1:%d/protected" % port]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        die("ab against port %d did not finish" % port)
    out = p.stdout

    def field(name):
        m = re.search(r"^%s:\s+([0-9.]+)" % re.escape(name), out, re.M)
        return float(m.group(1)) if m else None

    secs, done, failed = field("Time taken for tests"), field("Complete requests"), \
        field("Failed requests")
    non2xx = field("Non-2xx responses") or 0
    if p.returncode != 0 or not secs or done != requests or failed or non2xx:
        die("ab against port %d: exit %d, %s complete, %s failed, %s non-2xx\n%s%s"
            % (port, p.returncode, done, failed, non2xx, out[-1500:], p.stderr[-500:]))
    return done, secs


def with_jti(token, jti):
    """The same access token with another jti, signed with the suite's secret."""
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    claims["jti"] = jti
    return jwt.encode(claims, SECRET, algorithm="HS256")


def sanity(name, srv, token, revoked_token, filled):
    r = srv.request("GET", "/protected", headers=bearer(token))
    if r.status != 200:
        die("%s: a valid token got %d %r (%s)" % (name, r.status, r.body, srv.errorlog()))
    r = srv.request("GET", "/protected", headers=bearer(revoked_token))
    want = (401, REVOKED) if filled else (200, None)
    if r.status != want[0] or (filled and r.body != REVOKED):
        die("%s: a token with revoked jti number 7 got %d %r, expected %d"
            % (name, r.status, r.body, want[0]))


def measure(kind, gateways, token, slice_s):
    """gateways: [(label, entries, Lighttpd)], the first is the baseline.
    Rotates short ab runs over them; prints one line per store gateway."""
    size, done, took = {}, {}, {}
    for label, _, g in gateways:
        n, t = ab(g.port, token, 2000)  # warm-up: connections, FastCGI processes, store
        size[label] = max(200, int(n / t * slice_s))  # requests for one slice
        done[label], took[label] = 0, 0.0
    for r in range(ROUNDS):
        for k in range(len(gateways)):
            label, _, g = gateways[(r + k) % len(gateways)]
            n, t = ab(g.port, token, size[label])
            done[label] += n
            took[label] += t
    base = done[gateways[0][0]] / took[gateways[0][0]]
    for label, entries, _ in gateways[1:]:
        rps = done[label] / took[label]
        print("bench: e2e-protected %s entries=%d req/s=%.0f baseline=%.0f ratio=%.3f"
              % (kind, entries, rps, base, rps / base))
        sys.stdout.flush()


def main():
    # Stopped by a signal: leave through sys.exit so that atexit stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocklist-bin", required=True, help="path of build/bench/bench_blocklist")
    args = ap.parse_args()
    if shutil.which("ab") is None:
        die("ab not found: install apache2-utils (tools/deps.sh)")
    secs = float(os.environ.get("JWTX_BENCH_SECONDS") or 0.5)
    if not 0 < secs <= 60:
        die("JWTX_BENCH_SECONDS must be a number of seconds in (0, 60]")
    slice_s = secs * 6 / ROUNDS
    entries = int(os.environ.get("JWTX_BENCH_ENTRIES") or 1000000)
    bench_dir = os.environ.get("JWTX_BENCH_DIR") or os.path.join(harness.ROOT, "build", "bench")
    os.makedirs(bench_dir, exist_ok=True)
    run = tempfile.mkdtemp(prefix="e2e-", dir=bench_dir)
    atexit.register(shutil.rmtree, run, True)

    def sub(name):
        d = os.path.join(run, name)
        os.mkdir(d)
        return d

    def fill(*a):
        t0 = time.time()
        p = subprocess.run([args.blocklist_bin] + [str(x) for x in a], capture_output=True,
                           text=True)
        if p.returncode != 0:
            die("%s %s: %s" % (args.blocklist_bin, a[0], p.stderr.strip()))
        sys.stderr.write("bench: (%s: %d entries written in %.1f s)\n"
                         % (a[0], a[3] - a[2], time.time() - t0))

    revoked_jti = subprocess.run([args.blocklist_bin, "jti", "7"], capture_output=True,
                                 text=True, check=True).stdout.strip()

    base = harness.Lighttpd(conf_text(""), run_dir=sub("baseline"))
    r = base.request("POST", "/login", body={"username": "testuser", "password": "testpass"})
    token = (r.json() or {}).get("access_token")
    if r.status != 200 or not token:
        die("login at the baseline gateway: %d %r" % (r.status, r.body))
    revoked_token = with_jti(token, revoked_jti)
    sanity("baseline", base, token, revoked_token, False)

    # SQLite: a file per size, filled before its gateway opens it.
    empty_db, full_db = os.path.join(run, "empty.sqlite"), os.path.join(run, "full.sqlite")
    fill("fill-sqlite", empty_db, 0, 0)
    fill("fill-sqlite", full_db, 0, entries)
    sq0 = harness.Lighttpd(conf_text("sqlite:" + empty_db), run_dir=sub("sqlite-0"))
    sqn = harness.Lighttpd(conf_text("sqlite:" + full_db), run_dir=sub("sqlite-n"))
    sanity("sqlite entries=0", sq0, token, revoked_token, False)
    sanity("sqlite entries=%d" % entries, sqn, token, revoked_token, entries > 7)
    measure("sqlite", [("base", 0, base), ("0", 0, sq0), ("n", entries, sqn)], token, slice_s)
    sq0.stop()
    sqn.stop()

    # Redis: database 0 filled, database 1 empty, on one server of our own.
    rdir = sub("redis")
    redis = Redis(rdir)
    fill("fill-redis", redis.port, 0, entries)
    url = "redis://127.0.0.1:%d/%%d" % redis.port
    rd0 = harness.Lighttpd(conf_text(url % 1), run_dir=sub("redis-0"))
    rdn = harness.Lighttpd(conf_text(url % 0), run_dir=sub("redis-n"))
    sanity("redis entries=0", rd0, token, revoked_token, False)
    sanity("redis entries=%d" % entries, rdn, token, revoked_token, entries > 7)
    measure("redis", [("base", 0, base), ("0", 0, rd0), ("n", entries, rdn)], token, slice_s)
    rd0.stop()
    rdn.stop()
    base.stop()
    redis.stop()


if __name__ == "__main__":
    main()
