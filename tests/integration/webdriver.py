"""A small W3C WebDriver client for the browser suite: starts Debian's
chromedriver on a free port, opens headless Chromium sessions and drives them
through the WebDriver HTTP API with urllib only (no selenium, no downloaded
browser).

Everything started here is stopped here, also when the suite fails: atexit
deletes every open session, stops chromedriver, and then ends by pid any
Chromium process that chromedriver started and that is still running (each
pid is checked against its recorded start time, so a reused pid is never
touched). Exited Chromium helpers may stay as zombies on machines whose PID 1
does not reap orphans; they are not running.
"""
import atexit
import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

# The flags this machine's closed network needs (no background connections),
# plus a container without a usable sandbox or /dev/shm.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--window-size=900,700",
]


class CannotRun(Exception):
    """The browser cannot be used on this machine; the message says why."""


class WebDriverError(Exception):
    def __init__(self, status, error, message):
        Exception.__init__(self, "%s (%s): %s" % (error, status, message))
        self.status = status
        self.error = error


# Requests to 127.0.0.1 never go through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _proc_start(pid):
    """Start time (clock ticks since boot) of a live, non-zombie pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _children_of(pids):
    """pid -> start time of every live descendant of the given pids."""
    parent = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parent[int(name)] = int(fields[1])
    found = {}
    frontier = set(pids)
    while frontier:
        nxt = set()
        for pid, ppid in parent.items():
            if ppid in frontier and pid not in found:
                start = _proc_start(pid)
                if start is not None:
                    found[pid] = start
                    nxt.add(pid)
        frontier = nxt
    return found


def find_browser(chromium="/usr/bin/chromium", chromedriver="/usr/bin/chromedriver"):
    """Checks that both programs are installed and answer --version; returns
    (chromium version, chromedriver version) or raises CannotRun."""
    versions = []
    for path in (chromium, chromedriver):
        if not os.access(path, os.X_OK):
            raise CannotRun("%s is not installed (run: tools/deps.sh browser)" % path)
        try:
            p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CannotRun("%s --version failed: %s" % (path, e))
        out = p.stdout.strip()
        if p.returncode != 0 or not out:
            said = (p.stderr.strip() or out).splitlines()
            raise CannotRun("%s --version exited %d: %s" % (path, p.returncode,
                                                            said[0][:200] if said else "(nothing)"))
        versions.append(out.splitlines()[-1])
    return tuple(versions)


class ChromeDriver:
    """chromedriver on a free port of 127.0.0.1; stop() (also atexit) ends it."""

    def __init__(self, port, log_path, path="/usr/bin/chromedriver", timeout=20.0):
        self.port = port
        self.log_path = log_path
        self.sessions = []
        self.browser_pids = {}
        log = open(log_path, "wb")
        try:
            self.proc = subprocess.Popen([path, "--port=%d" % port, "--allowed-ips=127.0.0.1"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        except OSError as e:
            raise CannotRun("chromedriver did not start: %s" % e)
        finally:
            log.close()
        atexit.register(self.stop)
        end = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise CannotRun("chromedriver exited with code %d: %s"
                                % (self.proc.returncode, self.log_tail()))
            try:
                if self.request("GET", "/status", timeout=2).get("ready"):
                    break
            except (OSError, WebDriverError, ValueError):
                pass
            if time.time() > end:
                raise CannotRun("chromedriver not ready on port %d after %.0f s: %s"
                                % (port, timeout, self.log_tail()))
            time.sleep(0.1)

    def log_tail(self, n=600):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").strip()[-n:]
        except OSError:
            return ""

    def request(self, method, path, body=None, timeout=60):
        """One WebDriver command; returns its "value" or raises WebDriverError."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with _opener.open(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            value = json.loads(raw.decode("utf-8")).get("value")
        except (ValueError, AttributeError):
            raise WebDriverError(status, "bad answer", raw[:300])
        if status != 200:
            v = value if isinstance(value, dict) else {}
            raise WebDriverError(status, v.get("error", "unknown error"), v.get("message", ""))
        return value

    def new_session(self, user_data_dir, binary="/usr/bin/chromium", extra_args=(), prefs=None):
        opts = {"binary": binary,
                "args": CHROMIUM_ARGS + ["--user-data-dir=" + user_data_dir] + list(extra_args)}
        if prefs:
            opts["prefs"] = prefs
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "pageLoadStrategy": "normal",
            "timeouts": {"script": 20000, "pageLoad": 30000, "implicit": 0},
            "goog:chromeOptions": opts}}}
        try:
            value = self.request("POST", "/session", caps, timeout=90)
        except WebDriverError as e:
            raise CannotRun("new Chromium session refused: %s; chromedriver log: %s"
                            % (e, self.log_tail(400)))
        s = Session(self, value["sessionId"], value.get("capabilities", {}))
        self.sessions.append(s)
        self.browser_pids.update(_children_of([self.proc.pid]))
        return s

    def stop(self):
        for s in list(self.sessions):
            s.quit()
        if self.proc is None:
            return
        self.browser_pids.update(_children_of([self.proc.pid]))
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # Chromium processes that outlived chromedriver: ours, by pid and start time.
        for pid, start in self.browser_pids.items():
            if _proc_start(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


class Session:
    """One browser window (W3C session)."""

    def __init__(self, driver, sid, caps):
        self.driver = driver
        self.sid = sid
        self.caps = caps
        self.open = True

    def cmd(self, method, path, body=None, timeout=60):
        return self.driver.request(method, "/session/%s%s" % (self.sid, path), body, timeout)

    def quit(self):
        if not self.open:
            return
        self.open = False
        try:
            self.cmd("DELETE", "", timeout=30)
        except (OSError, WebDriverError):
            pass
        if self in self.driver.sessions:
            self.driver.sessions.remove(self)

    # navigation
    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def url(self):
        return self.cmd("GET", "/url")

    def reload(self):
        self.cmd("POST", "/refresh", {})

    def title(self):
        return self.cmd("GET", "/title")

    # elements
    def find(self, css):
        """The first element matching css, or None."""
        try:
            v = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        except WebDriverError as e:
            if e.error == "no such element":
                return None
            raise
        return Element(self, v[ELEMENT])

    def execute(self, script, *args):
        """Runs a function body in the page; a returned Promise is awaited."""
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def fetch(self, method, path, headers=None):
        """fetch() from the page, same-origin credentials; returns [status, body text]."""
        return self.execute(
            "return fetch(arguments[1], {method: arguments[0], headers: arguments[2],"
            " credentials: 'same-origin'}).then(r => r.text().then(t => [r.status, t]));",
            method, path, headers or {})

    def cookies(self):
        """name -> cookie object (HttpOnly cookies included)."""
        return {c["name"]: c for c in self.cmd("GET", "/cookie")}

    def add_cookie(self, cookie):
        """Sets a cookie for the current page's site (a dict as cookies()
        gives: name, value, path, httpOnly, ...), replacing one of that name."""
        keep = ("name", "value", "path", "domain", "secure", "httpOnly", "sameSite", "expiry")
        self.cmd("POST", "/cookie", {"cookie": {k: v for k, v in cookie.items() if k in keep}})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return png

    def wait(self, fn, timeout=10.0):
        """Polls fn() until it returns something true; returns the last value."""
        end = time.time() + timeout
        while True:
            try:
                v = fn()
            except WebDriverError as e:
                if e.error not in ("stale element reference", "no such element"):
                    raise
                v = None
            if v or time.time() > end:
                return v
            time.sleep(0.05)

    def text(self, css):
        """Rendered text of the first match ("" when hidden), or None when absent."""
        e = self.find(css)
        return None if e is None else e.text()

    def shown(self, css):
        e = self.find(css)
        return e is not None and e.displayed()


class Element:
    def __init__(self, session, eid):
        self.s = session
        self.eid = eid

    def _cmd(self, method, what, body=None):
        return self.s.cmd(method, "/element/%s%s" % (self.eid, what), body)

    def click(self):
        self._cmd("POST", "/click", {})

    def clear(self):
        self._cmd("POST", "/clear", {})

    def send_keys(self, text):
        self._cmd("POST", "/value", {"text": text})

    def text(self):
        return self._cmd("GET", "/text")

    def displayed(self):
        return bool(self._cmd("GET", "/displayed"))

    def prop(self, name):
        return self._cmd("GET", "/property/" + name)
