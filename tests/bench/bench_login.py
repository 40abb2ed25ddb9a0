"""`make bench`, login flood: requests/s of GET /protected through lighttpd
while another client floods POST /login with wrong passwords from one
address, with regulation of failed logins on and off, as ratios to the same
route of the same gateway without the flood, in the same run.

Three lighttpd gateways run the demo routes (conf/lighttpd/demo.conf.in via
tests/integration/harness.py: 2 login.fcgi and 2 protected.fcgi processes)
with the same secret and the demo users file (conf/users.htpasswd, bcrypt
cost 10):
  regulation=on  store=none    JWTX_BLOCKLIST = "", default JWTX_LOGIN_* limits
  regulation=off store=none    JWTX_BLOCKLIST = "", JWTX_LOGIN_REGULATION = False
  regulation=on  store=sqlite  JWTX_BLOCKLIST = "sqlite:..." (made by
                               `jwtx blocklist init`), default limits
Where the failure counts live is up to jwtx_regulate_open (the conf decides);
the bench only reads what the gateway answers.

The flood is ApacheBench (ab, Debian apache2-utils) posting
{"username": "testuser", "password": <wrong>} to /login, keep-alive, 4
connections, from 127.0.0.1, as fast as it is answered (-r: a connection
closed by the server does not end it). The protected load is
ab as in bench_e2e.py: keep-alive, 8 connections, one valid Bearer token.
After a warm-up (1 s of protected load alone, then 1 s with the flood: with
regulation on this is when 127.0.0.1 gets banned, so the timed floods meet
the ban, the steady state of an attacker who keeps going), 8 rounds rotate
over the gateways, each gateway once alone ("quiet") and once under the
flood per round, in alternating order. Every protected run is a fixed number
of requests, sized from the warm-up of its kind to take about
JWTX_BENCH_SECONDS (default 0.5) seconds, with a cap of 5 times that (ab -t,
whole seconds). A flood starts 0.2 s before its protected run and is stopped
(SIGINT) right after it; the next run waits until the login processes use no
CPU (bcrypt runs of attempts the flood gave up on). About 55 s by default.

Reported per gateway: protected req/s under the flood, quiet, and the ratio;
p50/p99 latency of the protected requests (ms, the median over the rounds of
each run's percentiles from `ab -e`), under the flood / quiet; flood attempts
answered per second; how many flood attempts were answered 401 and 429 (from
lighttpd's access log, warm-up included); CPU of the login processes during
the flood (cores: CPU seconds / flood seconds, from /proc/PID/stat) and per
attempt; CPU of lighttpd (under the flood / quiet) and of the flood client
(cores). Speed is reported, never asserted. The bench exits 1 when something
is structurally wrong: a protected request failed or was not 200, a flood
attempt was answered with anything but 401 or 429, with regulation on the
flood met no 429, or fewer than JWTX_LOGIN_MAX_FAILURES or more than
LOGIN_PROCS x JWTX_LOGIN_MAX_FAILURES 401s, with
regulation off the flood met a 429, or the right password after the flood
was not refused (on) or not accepted (off).

Output, one line per gateway:
  bench: login-flood regulation=<on|off> store=<none|sqlite> req/s=<n> quiet=<n> ratio=<r>
         p50-ms=<flood>/<quiet> p99-ms=<flood>/<quiet> flood/s=<n> 401=<n> 429=<n>
         login-cpu=<cores> login-us/attempt=<us> lighttpd-cpu=<flood>/<quiet>
         flood-client-cpu=<cores> errorlog-bytes/attempt=<n>
(on one line). The last field is the size of lighttpd's error log at the end
over the flood attempts answered: the audit log (JWTX_AUDIT_LOG = "server",
the default) writes a line for every attempt, banned or not. Temporary files
go into a folder under JWTX_BENCH_DIR (default build/bench), removed at exit
together with every server this script started.
"""
import atexit
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

SECRET = "bench-login-secret-0123456789abcdef0123456789abcdef"
USERS = os.path.join(harness.ROOT, "conf", "users.htpasswd")
USER, PASSWORD, WRONG = harness.TEST_USER, harness.TEST_PASSWORD, "not-the-password"
CONCURRENCY = 8        # protected load, as bench_e2e.py
FLOOD_CONCURRENCY = 4  # flood connections (2 login processes: 2 in bcrypt, 2 queued)
LOGIN_PROCS = 2        # var.procs of conf/lighttpd/demo.conf.in
MAX_FAILURES = 5       # the default JWTX_LOGIN_MAX_FAILURES
FLOOD_RAMP = 0.2       # seconds of flood before a protected run starts
ROUNDS = 8             # timed runs per gateway and kind (quiet, flood)
TICK = os.sysconf("SC_CLK_TCK")
UA_LINE = re.compile(r'"POST /login HTTP/1\.[01]" (\d{3}) .*"ApacheBench/')


def die(text):
    sys.stderr.write("bench: error: %s\n" % text)
    sys.exit(1)


def conf_text(store, regulation):
    text = ('JWT_SECRET_KEY = "%s"\nJWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\n'
            'JWTX_BLOCKLIST_TIMEOUT_MS = 2000\n' % (SECRET, USERS, store))
    if not regulation:
        text += "JWTX_LOGIN_REGULATION = False\n"
    return text


def field(out, name):
    m = re.search(r"^%s:\s+([0-9.]+)" % re.escape(name), out, re.M)
    return float(m.group(1)) if m else None


def protected_run(port, token, csv, requests, cap):
    """One ab run of keep-alive GET /protected: `requests` of them, or as many
    as are done in `cap` whole seconds. Returns (requests done, seconds, p50 ms,
    p99 ms). Any failed or non-2xx request stops the bench."""
    cmd = ["ab", "-q", "-k", "-c", str(CONCURRENCY), "-t", str(cap), "-n", str(requests),
           "-e", csv, "-H", "Authorization: Bearer " + token,
           "http://127.0.0.1:%d/protected" % port]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=cap + 60)
    except subprocess.TimeoutExpired:
        die("ab against port %d did not finish" % port)
    out = p.stdout
    secs, done, failed = field(out, "Time taken for tests"), field(out, "Complete requests"), \
        field(out, "Failed requests")
    non2xx = field(out, "Non-2xx responses") or 0
    if p.returncode != 0 or not secs or not done or failed or non2xx:
        die("GET /protected on port %d: exit %d, %s complete, %s failed, %s non-2xx\n%s%s"
            % (port, p.returncode, done, failed, non2xx, out[-1500:], p.stderr[-500:]))
    pct = {}
    with open(csv) as f:
        for line in f:
            k, _, v = line.strip().partition(",")
            if k.isdigit():
                pct[int(k)] = float(v)
    return int(done), secs, pct.get(50, 0.0), pct.get(99, 0.0)


def cpu_ticks(pids):
    """utime + stime of pids (clock ticks); a process that is gone counts 0."""
    total = 0
    for pid in pids:
        st = harness.tail("/proc/%d/stat" % pid, 4096)
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 13:
            total += int(rest[11]) + int(rest[12])
    return total


class Gateway:
    def __init__(self, run, store_label, regulation, slice_s):
        self.store_label, self.regulation = store_label, regulation
        self.slice, self.cap, self.size = slice_s, max(2, int(slice_s * 5 + 0.999)), {}
        store = "sqlite:" + os.path.join(run, "store.sqlite") if store_label == "sqlite" else ""
        self.srv = harness.Lighttpd(conf_text(store, regulation), run_dir=run)
        self.port = self.srv.port
        self.body = os.path.join(run, "wrong.json")
        with open(self.body, "w") as f:
            f.write('{"username": "%s", "password": "%s"}' % (USER, WRONG))
        self.csv = os.path.join(run, "percentiles.csv")
        self.name = "regulation=%s store=%s" % ("on" if regulation else "off", store_label)
        self.stats = {k: {"done": 0, "secs": 0.0, "p50": [], "p99": [], "srv_ticks": 0,
                          "wall": 0.0}
                      for k in ("quiet", "flood")}
        self.flood_done, self.flood_secs, self.login_ticks, self.client_ticks = 0, 0.0, 0, 0

    def login_pids(self):
        return harness.descendants(self.srv.proc.pid, "login.fcgi")

    def settle(self):
        """Waits (at most 5 s) until the login processes use no CPU for 0.1 s:
        bcrypt runs of attempts the flood gave up on end before the next run."""
        end = time.time() + 5
        last, still = cpu_ticks(self.login_pids()), 0
        while time.time() < end and still < 2:
            time.sleep(0.05)
            now = cpu_ticks(self.login_pids())
            still = still + 1 if now == last else 0
            last = now

    def run(self, token, flood, timed=True):
        """One protected run, alone or under the flood. Untimed (warm-up): 1 s,
        which sizes the timed runs of that kind to about `slice` seconds."""
        flood_proc, client_ticks = None, 0
        srv_t0, wall0 = cpu_ticks([self.srv.proc.pid]), time.time()
        if flood:
            pids = self.login_pids()
            t0 = cpu_ticks(pids)
            flood_proc = subprocess.Popen(
                ["ab", "-q", "-k", "-r", "-c", str(FLOOD_CONCURRENCY), "-t", "60",
                 "-n", "100000000", "-p", self.body, "-T", "application/json",
                 "http://127.0.0.1:%d/login" % self.port],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(FLOOD_RAMP)
        try:
            kind = "flood" if flood else "quiet"
            if timed:
                done, secs, p50, p99 = protected_run(self.port, token, self.csv,
                                                     self.size[kind], self.cap)
            else:
                done, secs, p50, p99 = protected_run(self.port, token, self.csv, 10**8, 1)
                self.size[kind] = max(100, int(done / secs * self.slice))
        finally:
            srv_ticks, wall = cpu_ticks([self.srv.proc.pid]) - srv_t0, time.time() - wall0
            if flood_proc is not None and flood_proc.poll() is None:
                client_ticks = cpu_ticks([flood_proc.pid])
                flood_proc.send_signal(signal.SIGINT)
        if flood_proc is not None:
            try:
                out, err = flood_proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                flood_proc.kill()
                die("the flood ab on port %d did not stop" % self.port)
            fdone, fsecs = field(out, "Complete requests"), field(out, "Time taken for tests")
            if fdone is None or not fsecs:
                die("the flood ab on port %d: exit %d\n%s%s"
                    % (self.port, flood_proc.returncode, out[-1500:], err[-500:]))
            self.settle()
            ticks = cpu_ticks(pids) - t0
            if sorted(self.login_pids()) != sorted(pids):
                die("%s: the login processes changed during the flood (crash?): %s"
                    % (self.name, self.srv.errorlog()))
            if timed:
                self.flood_done += int(fdone)
                self.flood_secs += fsecs
                self.login_ticks += ticks
                self.client_ticks += client_ticks
        if timed:
            s = self.stats[kind]
            s["srv_ticks"] += srv_ticks
            s["wall"] += wall
            s["done"] += done
            s["secs"] += secs
            s["p50"].append(p50)
            s["p99"].append(p99)

    def statuses(self):
        """Answers to the flood (ab's POST /login) by status, from the access
        log; lighttpd must have been stopped (the log is then complete)."""
        counts = {}
        with open(os.path.join(self.srv.run, "lighttpd-access.log"), errors="replace") as f:
            for line in f:
                m = UA_LINE.search(line)
                if m:
                    counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts

    def report(self, counts):
        q, f = self.stats["quiet"], self.stats["flood"]
        rq, rf = q["done"] / q["secs"], f["done"] / f["secs"]
        med = statistics.median
        cpu_s = self.login_ticks / TICK
        per = cpu_s / self.flood_done * 1e6 if self.flood_done else 0.0
        print("bench: login-flood %s req/s=%.0f quiet=%.0f ratio=%.3f p50-ms=%.2f/%.2f "
              "p99-ms=%.2f/%.2f flood/s=%.1f 401=%d 429=%d login-cpu=%.2f login-us/attempt=%.0f "
              "lighttpd-cpu=%.2f/%.2f flood-client-cpu=%.2f errorlog-bytes/attempt=%.0f"
              % (self.name, rf, rq, rf / rq, med(f["p50"]), med(q["p50"]), med(f["p99"]),
                 med(q["p99"]), self.flood_done / self.flood_secs, counts.get("401", 0),
                 counts.get("429", 0), cpu_s / self.flood_secs, per,
                 f["srv_ticks"] / TICK / f["wall"], q["srv_ticks"] / TICK / q["wall"],
                 self.client_ticks / TICK / self.flood_secs,
                 os.path.getsize(os.path.join(self.srv.run, "lighttpd-error.log"))
                 / max(1, sum(counts.values()))))
        sys.stdout.flush()


def check_structure(g, counts, right_password_status):
    other = {k: v for k, v in counts.items() if k not in ("401", "429")}
    n401, n429 = counts.get("401", 0), counts.get("429", 0)
    problems = []
    if other:
        problems.append("flood answers other than 401/429: %r" % other)
    if g.regulation:
        if n429 == 0:
            problems.append("regulation on, but no flood attempt was answered 429")
        if not MAX_FAILURES <= n401 <= LOGIN_PROCS * MAX_FAILURES:
            problems.append("regulation on: %d attempts answered 401, expected %d to %d"
                            % (n401, MAX_FAILURES, LOGIN_PROCS * MAX_FAILURES))
        if right_password_status != 429:
            problems.append("regulation on: the right password after the flood got %d, not 429"
                            % right_password_status)
    else:
        if n429 or not n401:
            problems.append("regulation off: %d answered 401, %d answered 429 (expected only 401)"
                            % (n401, n429))
        if right_password_status != 200:
            problems.append("regulation off: the right password after the flood got %d, not 200"
                            % right_password_status)
    if problems:
        die("%s: %s" % (g.name, "; ".join(problems)))


def main():
    # Stopped by a signal: leave through sys.exit so that atexit stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))
    if shutil.which("ab") is None:
        die("ab not found: install apache2-utils (tools/deps.sh)")
    secs = float(os.environ.get("JWTX_BENCH_SECONDS") or 0.5)
    if not 0 < secs <= 60:
        die("JWTX_BENCH_SECONDS must be a number of seconds in (0, 60]")
    slice_s = secs
    bench_dir = os.environ.get("JWTX_BENCH_DIR") or os.path.join(harness.ROOT, "build", "bench")
    os.makedirs(bench_dir, exist_ok=True)
    top = tempfile.mkdtemp(prefix="login-", dir=bench_dir)
    atexit.register(shutil.rmtree, top, True)

    gateways = []
    for store, regulation in (("none", True), ("none", False), ("sqlite", True)):
        d = os.path.join(top, "%s-%s" % (store, "on" if regulation else "off"))
        os.mkdir(d)
        gateways.append(Gateway(d, store, regulation, slice_s))

    # A token from the gateway without regulation (no flood has reached it yet).
    r = gateways[1].srv.request("POST", "/login", body={"username": USER, "password": PASSWORD})
    token = (r.json() or {}).get("access_token")
    if r.status != 200 or not token:
        die("login: %d %r" % (r.status, r.body))
    for g in gateways:
        r = g.srv.request("GET", "/protected", headers=harness.bearer(token))
        if r.status != 200:
            die("%s: a valid token got %d %r (%s)" % (g.name, r.status, r.body, g.srv.errorlog()))
        g.run(token, False, timed=False)
        g.run(token, True, timed=False)
    for r in range(ROUNDS):
        for k in range(len(gateways)):
            g = gateways[(r + k) % len(gateways)]
            first = (r + k) % 2 == 0
            g.run(token, first)
            g.run(token, not first)

    for g in gateways:
        r = g.srv.request("POST", "/login", body={"username": USER, "password": PASSWORD})
        g.srv.stop()
        counts = g.statuses()
        g.report(counts)
        check_structure(g, counts, r.status)


if __name__ == "__main__":
    main()
