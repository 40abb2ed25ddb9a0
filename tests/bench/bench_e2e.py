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

Rotation (JWTX_REFRESH_ROTATION): the filled store also holds session
families (JWTX_BENCH_FAMILIES, default 250000, `bench_blocklist
fill-sqlite-families|fill-redis-families`), and a fourth gateway of each back
end runs on that same store with rotation on (JWTX_REFRESH_REUSE_GRACE =
86400, so that ab may send one refresh token again and again). Its login
gives a token pair of a new family. Before timing it must answer 200 to that
access token and to one of a filled live family (so the filled families are
read), and 401 "Token has been revoked" to one of a filled ended family.
Timed in the same rotation of short runs:
  - GET /protected with its family's access token (check with the family),
    against the gateway of the same store with rotation off (the token
    without a family, the check without one) and the baseline;
  - POST /refresh with a refresh token: the baseline gateway (no store), the
    store gateway with rotation off (check, new access token) and the
    rotation gateway (check with the family, then one store transaction or
    script that rotates, then a new access and a new refresh token). ab sends
    the same refresh token each time: after its first rotation every request
    is a refresh again within the grace period (the rotated record is found,
    the family touched), one write to the store per request as a first
    rotation is.

Output, one line per back end and size, then per back end the rotation lines:
  bench: e2e-protected <sqlite|redis> entries=<N> req/s=<n> baseline=<n> ratio=<req/s / baseline>
  bench: e2e-protected-rotation <kind> entries=<N> families=<F> req/s=<on> off=<n>
         baseline=<n> ratio=<on / baseline> on/off=<on / off>
  bench: e2e-refresh <kind> entries=<N> families=<F> req/s=<on> off=<n> baseline=<n>
         ratio=<on / baseline> on/off=<on / off>
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


def conf_text(store, rotation=False):
    text = ('JWT_SECRET_KEY = "%s"\nJWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\n'
            'JWTX_BLOCKLIST_TIMEOUT_MS = 2000\n' % (SECRET, USERS, store))
    if rotation:
        text += 'JWTX_REFRESH_ROTATION = True\nJWTX_REFRESH_REUSE_GRACE = 86400\n'
    return text


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


EMPTY_BODY = None  # a file of 0 bytes: ab's POST body (Content-Length: 0)


def ab(port, token, requests, path="/protected"):
    """(requests done, seconds) of keep-alive GET /protected (POST for
    /refresh), `requests` of them."""
    cmd = ["ab", "-q", "-k", "-c", str(CONCURRENCY), "-n", str(requests),
           "-H", "Authorization: Bearer " + token]
    if path == "/refresh":
        cmd += ["-p", EMPTY_BODY, "-T", "application/json"]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
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


def with_claim(token, name, value):
    """The same token with one claim changed, signed with the bench's secret
    (PyJWT writes the claims in their order: fam stays after jti)."""
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    claims[name] = value
    return jwt.encode(claims, SECRET, algorithm="HS256")


def with_jti(token, jti):
    return with_claim(token, "jti", jti)


def sanity(name, srv, token, revoked_token, filled):
    r = srv.request("GET", "/protected", headers=bearer(token))
    if r.status != 200:
        die("%s: a valid token got %d %r (%s)" % (name, r.status, r.body, srv.errorlog()))
    r = srv.request("GET", "/protected", headers=bearer(revoked_token))
    want = (401, REVOKED) if filled else (200, None)
    if r.status != want[0] or (filled and r.body != REVOKED):
        die("%s: a token with revoked jti number 7 got %d %r, expected %d"
            % (name, r.status, r.body, want[0]))


def measure(runs, slice_s):
    """runs: [(label, port, token, path)]. Rotates short ab runs over them
    (the first of each round moves on each time); returns {label: req/s}."""
    size, done, took = {}, {}, {}
    for label, port, token, path in runs:
        n, t = ab(port, token, 2000, path)  # warm-up: connections, processes, store
        size[label] = max(200, int(n / t * slice_s))  # requests for one slice
        done[label], took[label] = 0, 0.0
    for r in range(ROUNDS):
        for k in range(len(runs)):
            label, port, token, path = runs[(r + k) % len(runs)]
            n, t = ab(port, token, size[label], path)
            done[label] += n
            took[label] += t
    return {label: done[label] / took[label] for label in done}


def line(text):
    print("bench: " + text)
    sys.stdout.flush()


def report(kind, entries, families, rps):
    base = rps["base"]
    for label, n in (("0", 0), ("n", entries)):
        line("e2e-protected %s entries=%d req/s=%.0f baseline=%.0f ratio=%.3f"
             % (kind, n, rps[label], base, rps[label] / base))
    line("e2e-protected-rotation %s entries=%d families=%d req/s=%.0f off=%.0f baseline=%.0f "
         "ratio=%.3f on/off=%.3f" % (kind, entries, families, rps["rot"], rps["n"], base,
                                     rps["rot"] / base, rps["rot"] / rps["n"]))
    rb, ro, rr = rps["refresh-base"], rps["refresh-off"], rps["refresh-rot"]
    line("e2e-refresh %s entries=%d families=%d req/s=%.0f off=%.0f baseline=%.0f ratio=%.3f "
         "on/off=%.3f" % (kind, entries, families, rr, ro, rb, rr / rb, rr / ro))


def login(name, srv):
    r = srv.request("POST", "/login", body={"username": "testuser", "password": "testpass"})
    body = r.json() or {}
    if r.status != 200 or not body.get("access_token") or not body.get("refresh_token"):
        die("%s: login: %d %r (%s)" % (name, r.status, r.body, srv.errorlog()))
    return body["access_token"], body["refresh_token"]


def sanity_rotation(name, srv, access, refresh, live_fam, ended_fam):
    """The rotation gateway: its own family's token, one of a filled live
    family (the filled families are read) and one of a filled ended family;
    /refresh rotates (a new refresh token of the same family)."""
    fam = jwt.decode(access, SECRET, algorithms=["HS256"]).get("fam")
    if not isinstance(fam, str) or not fam:
        die("%s: the login's access token has no fam claim" % name)
    for tok, want, what in ((access, 200, "its own family"),
                            (with_claim(access, "fam", live_fam), 200, "a filled live family"),
                            (with_claim(access, "fam", ended_fam), 401, "a filled ended family")):
        r = srv.request("GET", "/protected", headers=bearer(tok))
        if r.status != want or (want == 401 and r.body != REVOKED):
            die("%s: a token of %s got %d %r, expected %d (%s)"
                % (name, what, r.status, r.body, want, srv.errorlog()))
    r = srv.request("POST", "/refresh", headers=bearer(refresh))
    body = r.json() or {}
    new = body.get("refresh_token")
    if r.status != 200 or not new or not body.get("access_token"):
        die("%s: /refresh with rotation: %d %r" % (name, r.status, r.body))
    if jwt.decode(new, SECRET, algorithms=["HS256"]).get("fam") != fam:
        die("%s: /refresh gave a refresh token of another family" % name)


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
        sys.stderr.write("bench: (%s: %d %s written in %.1f s)\n"
                         % (a[0], a[3] - a[2], "families" if "families" in a[0] else "entries",
                            time.time() - t0))

    def tool(*a):
        return subprocess.run([args.blocklist_bin] + [str(x) for x in a], capture_output=True,
                              text=True, check=True).stdout.strip()

    families = int(os.environ.get("JWTX_BENCH_FAMILIES") or 250000)
    revoked_jti = tool("jti", 7)
    live_fam, ended_fam = tool("family", 5), tool("family", 99)  # 1 in 100 is ended: 99
    global EMPTY_BODY
    EMPTY_BODY = os.path.join(run, "empty-body")
    open(EMPTY_BODY, "w").close()

    base = harness.Lighttpd(conf_text(""), run_dir=sub("baseline"))
    token, refresh = login("baseline", base)
    revoked_token = with_jti(token, revoked_jti)
    sanity("baseline", base, token, revoked_token, False)

    def bench_kind(kind, url0, urln):
        g0 = harness.Lighttpd(conf_text(url0), run_dir=sub(kind + "-0"))
        gn = harness.Lighttpd(conf_text(urln), run_dir=sub(kind + "-n"))
        gr = harness.Lighttpd(conf_text(urln, rotation=True), run_dir=sub(kind + "-rot"))
        sanity("%s entries=0" % kind, g0, token, revoked_token, False)
        sanity("%s entries=%d" % (kind, entries), gn, token, revoked_token, entries > 7)
        rot_access, rot_refresh = login(kind + " rotation", gr)
        sanity_rotation("%s rotation" % kind, gr, rot_access, rot_refresh, live_fam, ended_fam)
        rps = measure([("base", base.port, token, "/protected"),
                       ("0", g0.port, token, "/protected"),
                       ("n", gn.port, token, "/protected"),
                       ("rot", gr.port, rot_access, "/protected"),
                       ("refresh-base", base.port, refresh, "/refresh"),
                       ("refresh-off", gn.port, refresh, "/refresh"),
                       ("refresh-rot", gr.port, rot_refresh, "/refresh")], slice_s)
        report(kind, entries, families, rps)
        for g in (g0, gn, gr):
            g.stop()

    # SQLite: a file per size, filled before its gateways open it.
    empty_db, full_db = os.path.join(run, "empty.sqlite"), os.path.join(run, "full.sqlite")
    fill("fill-sqlite", empty_db, 0, 0)
    fill("fill-sqlite", full_db, 0, entries)
    fill("fill-sqlite-families", full_db, 0, families)
    bench_kind("sqlite", "sqlite:" + empty_db, "sqlite:" + full_db)

    # Redis: database 0 filled, database 1 empty, on one server of our own.
    rdir = sub("redis")
    redis = Redis(rdir)
    fill("fill-redis", redis.port, 0, entries)
    fill("fill-redis-families", redis.port, 0, families)
    url = "redis://127.0.0.1:%d/%%d" % redis.port
    bench_kind("redis", url % 1, url % 0)
    base.stop()
    redis.stop()


if __name__ == "__main__":
    main()
