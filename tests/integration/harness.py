"""Shared pieces of the integration suites: free ports, a lighttpd started from
conf/lighttpd/demo.conf.in, servers and FastCGI daemons started and stopped,
the jwtx conf the gateway suites share, raw HTTP requests, the demo user's
login, and ok/FAIL counting that ends with the line "N passed, N failed".

Only the Python standard library and Debian's python3-jwt are used. Every
server a suite starts is stopped by the suite (atexit), and nothing else is.
"""
import atexit
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JWTX = os.path.join(ROOT, "tools", "jwtx")
USERS = os.path.join(ROOT, "conf", "users.htpasswd")
TEST_USER, TEST_PASSWORD = "testuser", "testpass"  # the demo user of USERS
USER_CLAIMS = {TEST_USER: {"roles": ["reader"], "team": "blue"}}
# What jwtx answers (401) when a request carries no token at all.
MISSING_TEXT = ('Missing JWT in headers or cookies (Missing Authorization Header; '
                'Missing cookie "access_token_cookie")')


class Results:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what)
        else:
            self.failed += 1
            print("FAIL - %s %s" % (what, detail))
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, "\n    got:  %r\n    want: %r" % (got, want))

    def finish(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        sys.exit(0 if self.failed == 0 else 1)


def free_port():
    """A port below the ephemeral range that we could bind just now."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=os.path.join(ROOT, "build"))
    atexit.register(shutil.rmtree, d, True)
    return d


def tail(path, n=3000):
    """The last n characters of a file (a log, a pid file), "" when unreadable.
    Servers log the bytes a client sent (overlong UTF-8 in a path, say): bytes
    that are not UTF-8 read as U+FFFD instead of failing the suite."""
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def gateway_conf(secret, run, extra=""):
    """The jwtx conf of the gateway suites: the secret, tokens in headers and
    cookies, the demo users with USER_CLAIMS (written to run/claims.json) and
    a SQLite revocation store in run; extra lines are appended. The programs
    never create the store: init_store() makes it, as an installer does."""
    claims = write_text(os.path.join(run, "claims.json"), json.dumps(USER_CLAIMS) + "\n")
    return ('JWT_SECRET_KEY = "%s"\n'
            'JWT_TOKEN_LOCATION = ["headers", "cookies"]\n'
            'JWTX_USERS_FILE = "%s"\n'
            'JWTX_USER_CLAIMS_FILE = "%s"\n'
            'JWTX_BLOCKLIST = "sqlite:%s/blocklist.sqlite"\n' % (secret, USERS, claims, run)) + extra


def init_store(conf):
    """`jwtx blocklist --conf CONF init`, as an installer or `make run` does
    before the programs start (they never create a store themselves). A conf
    without a store is fine; any other failure raises RuntimeError."""
    p = subprocess.run([JWTX, "blocklist", "--conf", conf, "init"], capture_output=True, text=True)
    if p.returncode != 0 and "sets no revocation store" not in p.stderr:
        raise RuntimeError("jwtx blocklist init: %s" % p.stderr.strip())
    return p


# ---- processes ------------------------------------------------------------------


def start(cmd, stderr=None, **kw):
    """Starts a server in the foreground of its own session (output dropped;
    stderr to the open file stderr if given), stopped with stop() at exit if
    the suite has not stopped it already."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=stderr if stderr is not None else subprocess.DEVNULL,
                            start_new_session=True, **kw)
    atexit.register(stop, proc)
    return proc


def stop(proc, sig=signal.SIGTERM, timeout=10):
    """Stops a process from start(): sig, then SIGKILL to its whole session."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (PID 1 here may not reap) counts as gone.
    return tail("/proc/%d/stat" % pid).split(") ")[-1][:1] not in ("Z", "")


def stop_pid(pid, timeout=10.0):
    """SIGTERM to a process that is not our child (a daemon), SIGKILL if it
    is still there after timeout."""
    if pid <= 0 or not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    end = time.time() + timeout
    while time.time() < end and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)



class Redis:
    """A private redis-server on 127.0.0.1 (a password, no persistence), its
    pid file and log in run_dir. stop() ends only the server whose pid is in
    that file (ours) and start() again uses the same port."""

    def __init__(self, run_dir, password, port=None):
        self.run_dir = run_dir
        self.password = password
        self.port = port or free_port()
        self.pidfile = os.path.join(run_dir, "redis.pid")

    def pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def start(self):
        subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                        "--save", "", "--appendonly", "no", "--daemonize", "yes",
                        "--dir", self.run_dir, "--requirepass", self.password,
                        "--pidfile", self.pidfile,
                        "--logfile", os.path.join(self.run_dir, "redis.log")], check=True)
        if not wait_port(self.port):
            raise RuntimeError("redis-server did not start")
        for _ in range(100):  # the pid file comes a moment after the port
            if self.pid():
                break
            time.sleep(0.05)

    def stop(self):
        pid = self.pid()
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGCONT)  # if a test left it stopped
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.05)
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass

    def cli(self, *args):
        """redis-cli's output (stripped) for args, authenticated."""
        return subprocess.run(["redis-cli", "-p", str(self.port), "-a", self.password,
                               "--no-auth-warning"] + list(args),
                              capture_output=True, text=True).stdout.strip()


def proc_table():
    """(pid, ppid, comm) of every process still running (zombies left out)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = tail("/proc/%s/stat" % d, 4096)
        if ")" not in st:
            continue
        comm = st[st.find("(") + 1:st.rfind(")")]
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 1 and rest[0] not in ("Z", "X"):
            out.append((int(d), int(rest[1]), comm))
    return out


def descendants(pid, comm):
    """Pids of the processes named comm below pid (children, grandchildren...)."""
    table = proc_table()
    below, found = {pid}, []
    grew = True
    while grew:
        grew = False
        for p, pp, c in table:
            if pp in below and p not in below:
                below.add(p)
                grew = True
                if c == comm:
                    found.append(p)
    return sorted(found)


def survives_a_crash(results, label, pids, send, want, threads=4, after=1.5, min_procs=2):
    """Crash test of one route: pids are the route's processes (started by the
    suite). While `threads` clients send requests (send() -> status) without
    pause, one process is killed (SIGKILL); for `after` seconds more every
    answer must come from another process (a status in want). Only requests
    that were inside or queued for the killed process when it died may fail
    (500, 502, or 503 from mod_proxy_fcgi): at most one per client. With a
    single process the route answered 503 (lighttpd) or nothing at all
    (spawn-fcgi) until a restart. Also checks there were >= min_procs
    processes. pids may be a function, called once the clients run (a server
    that starts processes on demand, like mod_fcgid). Returns the pid killed
    (or None)."""
    import threading
    got, stop_at = [], [time.time() + 60]

    def client():
        while time.time() < stop_at[0]:
            try:
                st = send()
            except OSError as e:
                st = repr(e)[:40]
            got.append((time.time(), st))
    clients = [threading.Thread(target=client) for _ in range(threads)]
    for c in clients:
        c.start()
    time.sleep(0.3)
    if callable(pids):
        find, end = pids, time.time() + 3
        pids = find()
        while len(pids) < 2 and time.time() < end:
            time.sleep(0.05)
            pids = find()
    if not results.check(len(pids) >= min_procs, "%s: the route runs at least %d process(es)"
                         % (label, min_procs), "(%d: %r)" % (len(pids), pids)) and not pids:
        stop_at[0] = 0
        for c in clients:
            c.join()
        return None
    killed_at = time.time()
    os.kill(pids[0], signal.SIGKILL)
    stop_at[0] = killed_at + after
    for c in clients:
        c.join()
    later = [st for t, st in got if t > killed_at]
    good = sum(1 for st in later if st in want)
    n503 = sum(1 for st in later if st == 503)
    other = [st for st in later if st not in want and st != 503]
    counts = sorted(collections.Counter(other).items(), key=str)
    print("# %s: %d processes, one killed: %d answers after it: %d as wanted, %d x 503, other %r"
          % (label, len(pids), len(later), good, n503, counts))
    results.check(good > 0 and n503 + len(other) <= threads,
                  "%s: after a crash of one process the others answer (at most %d failures: "
                  "requests inside the killed process)" % (label, threads),
                  "(%d wanted, %d x 503, other %r)" % (good, n503, counts))
    return pids[0]


def spawn_fcgi(prog, pidfile, env, procs=1, user=None, tries=1):
    """Starts prog as procs FastCGI daemons (spawn-fcgi) on a free 127.0.0.1
    port, trying up to tries ports; user (with its group) when run as root.
    Returns (port, pids); raises RuntimeError when nothing listens."""
    for _ in range(tries):
        port = free_port()
        cmd = ["spawn-fcgi", "-a", "127.0.0.1", "-p", str(port), "-F", str(procs), "-P", pidfile]
        if user:
            cmd += ["-u", user, "-g", user]
        p = subprocess.run(cmd + ["--", prog], env=env, capture_output=True, text=True)
        if p.returncode == 0:
            break
    else:
        raise RuntimeError("spawn-fcgi %s failed: %s" % (prog, p.stderr.strip()))
    pids = [int(x) for x in tail(pidfile).split() if x.isdigit()]
    if not wait_port(port):
        raise RuntimeError("spawn-fcgi %s: nothing on port %d" % (prog, port))
    return port, pids


class Lighttpd:
    """lighttpd serving the demo routes with the given jwtx conf text; the
    revocation store is made first (init_store), as `make run` does, unless
    make_store=False."""

    def __init__(self, conf_text, extra_lighttpd="", run_dir=None, make_store=True):
        self.run = run_dir or tmpdir("lighttpd-")
        self.conf = os.path.join(self.run, "jwtx.conf")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        if make_store:
            init_store(self.conf)
        self.port = free_port()
        with open(os.path.join(ROOT, "conf", "lighttpd", "demo.conf.in")) as f:
            text = f.read()
        for k, v in (("@ROOT@", ROOT), ("@RUN@", self.run), ("@PORT@", str(self.port)),
                     ("@CONF@", self.conf)):
            text = text.replace(k, v)
        self.lconf = os.path.join(self.run, "lighttpd.conf")
        with open(self.lconf, "w") as f:
            f.write(text + "\n" + extra_lighttpd)
        # With -D, lighttpd leaves the programs' stderr (their log) on its own
        # stderr, not in server.errorlog: keep it in run/stderr.log.
        self.stderr_log = os.path.join(self.run, "stderr.log")
        with open(self.stderr_log, "ab") as err:
            self.proc = start(["lighttpd", "-D", "-f", self.lconf], stderr=err)
        if not wait_port(self.port):
            raise RuntimeError("lighttpd did not start on %d: %s" % (self.port, self.errorlog()))

    def errorlog(self):
        return tail(os.path.join(self.run, "lighttpd-error.log"))

    def stop(self):
        stop(self.proc)
        self.proc = None

    def request(self, method, path, headers=None, body=None):
        return request(self.port, method, path, headers, body)


class Answer:
    def __init__(self, resp, body):
        self.status = resp.status
        self.headers = resp.getheaders()
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def cookies(self):
        """name -> value of every Set-Cookie line."""
        out = {}
        for line in self.all("Set-Cookie"):
            nv = line.split(";", 1)[0]
            n, _, v = nv.partition("=")
            out[n] = v
        return out


def request(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return Answer(r, data)


# ---- path spellings ---------------------------------------------------------


def path_spellings(path):
    """path and other spellings of it a client may send: percent-encoded
    letters, dots and slashes, doubled slashes, dot segments, a toggled
    trailing slash, other letter case, a query string, a backslash, a ;path
    parameter, overlong UTF-8 and %u forms of dots and slashes. A server
    must either map a spelling to the same route, with the same policy, or
    refuse it; it must never serve the route without its policy."""
    segs = path.strip("/").split("/")
    trail = path.endswith("/")

    def join(parts, tail=trail):
        return "/" + "/".join(parts) + ("/" if tail else "")

    out = [path]
    for i, s in enumerate(segs):
        for fmt in ("%%%02x", "%%%02X"):
            out.append(join(segs[:i] + [fmt % ord(s[0]) + s[1:]] + segs[i + 1:]))
        out.append(join(segs[:i] + [s[:-1] + "%%%02x" % ord(s[-1])] + segs[i + 1:]))
        out.append(join(segs[:i] + ["%%25%02x" % ord(s[0]) + s[1:]] + segs[i + 1:]))
        out.append(join(segs[:i] + [s.upper()] + segs[i + 1:]))
        out.append(join(segs[:i] + [s[:1].upper() + s[1:]] + segs[i + 1:]))
        for ins in ("", ".", "x/..", "%2e", "%2E", "x/%2e%2e", "x/%2E%2E", "x/.%2e", "x/%2e."):
            # inserted before segment i: "/a//b", "/a/./b", "/a/x/../b", ...
            out.append(join(segs[:i] + ins.split("/") + segs[i:]))
        # a path parameter on the segment (Tomcat-style ";jsessionid=")
        out.append(join(segs[:i] + [s + ";x"] + segs[i + 1:]))
        # overlong UTF-8 and %u forms of "." and "..": never a dot to a
        # strict decoder, but a lenient one (old IIS, some proxies) makes one
        for ins in ("x/%c0%ae%c0%ae", "%c0%ae", "x/%e0%80%ae%e0%80%ae", "x/%u002e%u002e"):
            out.append(join(segs[:i] + ins.split("/") + segs[i:]))
        if i:
            for sep in ("%c0%af", "%e0%80%af"):
                out.append(join(segs[:i - 1] + [segs[i - 1] + sep + s] + segs[i + 1:]))
            for sep in ("%2f", "%2F", "\\", "/%2f"):
                out.append(join(segs[:i - 1] + [segs[i - 1] + sep + s] + segs[i + 1:]))
    out.append(join(["".join("%%%02x" % ord(c) for c in s) for s in segs]))
    out.append(join(segs, not trail))
    out.append(path.upper())
    out.append(path + "?x=1")
    out.append(join(segs) + "%3fx=1")
    out.append(join(segs, False) + ";x")
    out.append(join(segs, False) + "%00")
    out.append(join(segs, False) + "%20")
    out.append(join(segs, False) + ".")
    out.append(join(segs, True) + ".")
    out.append(join(segs, True) + "x/..")
    out.append(join(segs, True) + "/")
    if trail:
        out.append(path + "index.html")
        out.append(path + "./index.html")
        out.append(path + "%69ndex.html")
    seen = []
    for sp in out:
        if sp not in seen:
            seen.append(sp)
    return seen


# Answers that serve nothing: a redirect, or the server refusing the path.
SAFE_REFUSALS = (301, 302, 307, 308, 400, 403, 404, 405, 414)


def policy_table(results, port, label, path, headers, policy):
    """Sends every spelling of path (path_spellings) with headers, as GET and
    as HEAD; each must get the route's policy answer, policy = (status, body;
    HEAD: the status), or a refusal of
    the server (SAFE_REFUSALS). One check; returns the spellings that escaped
    the policy as "spelling -> status body"."""
    escaped, at_policy, refused = [], 0, 0
    spellings = path_spellings(path)
    for sp in spellings:
        r = request(port, "GET", sp, headers)
        if (r.status, r.body) == policy:
            at_policy += 1
        elif r.status in SAFE_REFUSALS:
            refused += 1
        else:
            escaped.append("%s -> %d %r" % (sp, r.status, r.body[:48]))
        # HEAD: the same policy (status; no body), never the page
        r = request(port, "HEAD", sp, headers)
        if r.status != policy[0] and r.status not in SAFE_REFUSALS:
            escaped.append("HEAD %s -> %d" % (sp, r.status))
    # Other methods on the route itself: the policy, or the server refusing
    # the method; OPTIONS may also be a responder's own bodiless Allow answer
    # (docs/programs.md).
    for m in ("POST", "PUT", "DELETE", "PATCH", "PROPFIND", "TRACE", "OPTIONS", "get", "FOO"):
        r = request(port, m, path, headers, body="" if m in ("POST", "PUT", "PATCH") else None)
        if ((r.status, r.body) == policy or (m == "HEAD" and r.status == policy[0]) or
                r.status in SAFE_REFUSALS + (411, 413, 501) or
                (m == "OPTIONS" and r.status == 200 and r.body == b"")):
            continue
        escaped.append("%s %s -> %d %r" % (m, path, r.status, r.body[:48]))
    print("# %s: %s: %d spellings: %d answered with the policy, %d refused by the server, "
          "%d escaped" % (label, path, len(spellings), at_policy, refused, len(escaped)))
    results.check(not escaped and at_policy >= 1,
                  "%s: no spelling of %s escapes its policy (%d spellings)" % (label, path, len(spellings)),
                  "".join("\n    " + e for e in escaped))
    return escaped


# ---- answers the web server gives itself -----------------------------------------
# The texts of conf/errors/jwtx-error-NNN.html (and conf/demo-errors/ for 404),
# written out here so that a changed file fails the suites.
SERVER_ERROR_TEXT = {
    400: "Bad Request: the server could not parse the request",
    404: "Not Found",
    411: "Length Required: send a body or Content-Length: 0",
    413: "Request body too large",
    414: "Request URI too long",
    417: "Expectation Failed: only Expect: 100-continue is supported",
    431: "Request header fields too large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway: no valid answer from the backend",
    503: "Service Unavailable: the backend cannot be reached",
    504: "Gateway Timeout: the backend did not answer in time",
    505: "HTTP version not supported",
}

# Requests http.client would not send as they are, each ending the connection.
RAW = {
    # a POST with neither a body nor Content-Length (curl -X POST without -d)
    "post-no-length": b"POST %(path)s HTTP/1.1\r\nHost: t\r\n%(hdrs)sConnection: close\r\n\r\n",
    # the same with Content-Length: 0 (curl -X POST -d '')
    "post-length-0": (b"POST %(path)s HTTP/1.1\r\nHost: t\r\n%(hdrs)sContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n"),
    "garbage": b"GARBAGE\r\n\r\n",
    "bad-header-line": b"GET %(path)s HTTP/1.1\r\nHost: t\r\nNo colon here\r\nConnection: close\r\n\r\n",
    "long-url": (b"GET %(path)s?" + b"a" * 10000 +
                 b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    "long-header": (b"GET %(path)s HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 10000 +
                    b"\r\nConnection: close\r\n\r\n"),
    # 70,000 bytes: over 64 KiB (the servers' limit in the recipes)
    "big-body": (b"POST %(path)s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 70000\r\nConnection: close\r\n\r\n" + b"x" * 70000),
    # a Content-Length over Apache's default LimitRequestBody (1 GiB), no body
    "huge-length": (b"POST %(path)s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2000000000\r\nConnection: close\r\n\r\n"),
    "unknown-method": b"FOO %(path)s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "http-2.0": b"GET %(path)s HTTP/2.0\r\nHost: t\r\nConnection: close\r\n\r\n",
    "te-gzip": (b"POST %(path)s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n"
                b"Connection: close\r\n\r\n"),
    "expect-foo": (b"POST %(path)s HTTP/1.1\r\nHost: t\r\nExpect: foo\r\nContent-Length: 2\r\n"
                   b"Connection: close\r\n\r\n{}"),
    "get": b"GET %(path)s HTTP/1.1\r\nHost: t\r\n%(hdrs)sConnection: close\r\n\r\n",
}


def raw_request(port, kind, path="/", headers=None, timeout=30):
    """Sends RAW[kind] (with path and headers filled in) byte for byte and
    reads the answer with http.client (chunked bodies, HTTP/1.0 answers)."""
    hdrs = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in (headers or {}).items())
    data = RAW[kind] % {b"path": path.encode(), b"hdrs": hdrs}
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading everything
        r = http.client.HTTPResponse(s, method="POST" if data.startswith(b"POST") else "GET")
        r.begin()
        body = r.read()
        return Answer(r, body)
    finally:
        s.close()


def check_server_answer(R, r, status, what, text=None):
    """An answer of the web server itself, made JSON by the error files:
    the status, Content-Type application/json and the exact body."""
    want = msg(text or SERVER_ERROR_TEXT[status])
    R.eq((r.status, r.header("Content-Type"), r.body), (status, "application/json", want),
         what + ": %d, application/json, the JSON body" % status)


def check_html_answer(R, r, status, what):
    """An answer the web server gives as its own HTML page (documented as
    one that the error files cannot change)."""
    R.check(r.status == status and (r.header("Content-Type") or "").startswith("text/html")
            and msg(SERVER_ERROR_TEXT.get(status, "-")) != r.body,
            what + ": %d, still the server's HTML page" % status,
            "%d %r %r" % (r.status, r.header("Content-Type"), r.body[:80]))


def bearer(token):
    return {"Authorization": "Bearer " + token}


def login(port, user=TEST_USER, password=TEST_PASSWORD):
    """POST /login with a JSON body; the Answer."""
    return request(port, "POST", "/login", body={"username": user, "password": password})


def cgi_claims(text):
    """The claims a legacy CGI program printed as its jwt_claims= line
    (conf/demo-www's whoami.cgi), {} when the line is missing or not JSON."""
    m = re.search(r"^jwt_claims=(.*)$", text, re.M)
    try:
        return json.loads(m.group(1)) if m else {}
    except ValueError:
        return {}


def msg(text, key="msg"):
    """The exact bytes Flask writes for an error answer."""
    return (json.dumps({key: text}, separators=(",", ":"), sort_keys=True) + "\n").encode()


def jwtx(*args, stdin=None):
    p = subprocess.run([JWTX] + list(args), input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
