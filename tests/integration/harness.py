"""Shared pieces of the integration suites: free ports, a lighttpd started from
conf/lighttpd/demo.conf.in, raw HTTP requests, and ok/FAIL counting that ends
with the line "N passed, N failed".

Only the Python standard library and Debian's python3-jwt are used. Every
server a suite starts is stopped by the suite (atexit), and nothing else is.
"""
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JWTX = os.path.join(ROOT, "tools", "jwtx")


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


class Lighttpd:
    """lighttpd serving the demo routes with the given jwtx conf text."""

    def __init__(self, conf_text, extra_lighttpd="", run_dir=None):
        self.run = run_dir or tmpdir("lighttpd-")
        self.conf = os.path.join(self.run, "jwtx.conf")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.port = free_port()
        with open(os.path.join(ROOT, "conf", "lighttpd", "demo.conf.in")) as f:
            text = f.read()
        for k, v in (("@ROOT@", ROOT), ("@RUN@", self.run), ("@PORT@", str(self.port)),
                     ("@CONF@", self.conf)):
            text = text.replace(k, v)
        self.lconf = os.path.join(self.run, "lighttpd.conf")
        with open(self.lconf, "w") as f:
            f.write(text + "\n" + extra_lighttpd)
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.lconf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        atexit.register(self.stop)
        if not wait_port(self.port):
            raise RuntimeError("lighttpd did not start on %d: %s" % (self.port, self.errorlog()))

    def errorlog(self):
        try:
            with open(os.path.join(self.run, "lighttpd-error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
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


def msg(text, key="msg"):
    """The exact bytes Flask writes for an error answer."""
    return (json.dumps({key: text}, separators=(",", ":"), sort_keys=True) + "\n").encode()


def jwtx(*args, stdin=None):
    p = subprocess.run([JWTX] + list(args), input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
