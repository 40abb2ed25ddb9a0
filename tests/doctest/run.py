#!/usr/bin/python3
"""Doc-tests: every fenced code block of README.md and docs/*.md is either run
here or carries a marker saying why it cannot be. The marker convention is
described at the top of docs/testing.md; in short, the last non-blank line
before a fence may be

    <!-- doctest: sh FIXTURE -->        shell commands, run in order in one shell
                                        session per (file, FIXTURE); the
                                        "# ..." lines under a command are its
                                        expected answer
    <!-- doctest: conf [FIXTURE] -->    a jwtx conf: `jwtx config check`
    <!-- doctest: lighttpd [fragment] --> lighttpd lines: `lighttpd -tt`
    <!-- doctest: sh deploy-install -->  \
    <!-- doctest: sh deploy-check -->     | the deployment walk-throughs, run once
    <!-- doctest: sh deploy-SERVER -->    | per server in a fake root (see
    <!-- doctest: lighttpd deploy -->     | run_walkthroughs)
    <!-- doctest: apache deploy|modules --> /
    <!-- doctest: apache fragment -->   Apache lines after recipe 1: `apache2 -t`
    <!-- doctest: json -->              JSON that must parse
    <!-- doctest: c -->                 C statements, compiled and run
    <!-- doctest: output — what -->     what a command prints (not a command)
    <!-- doctest: skip — reason -->     not runnable here, and why

A fence without a marker fails, and so does a marker without a fence, an
unknown marker, a skip without a reason, and an indented (unfenced) code
block. Only the Python standard library is used (tests/integration/harness.py).

Usage: tests/doctest/run.py [-v] [FILE.md ...]   (default: README.md docs/*.md)
Environment: JWTX_DOCTEST_ONLY=regex  only the blocks whose "file:line" matches.
"""
import glob
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as H  # noqa: E402

ROOT = H.ROOT
AS_ROOT = os.geteuid() == 0
VERBOSE = "-v" in sys.argv
R = H.Results("doctest")

MARKER = re.compile(r"^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*$")
# "skip — reason", "skip -- reason", "skip: reason"
REASON = re.compile(r"\s*(?:—|--|:)\s*")
KINDS = ("sh", "conf", "lighttpd", "apache", "nginx", "json", "c", "output", "skip")


class Block:
    def __init__(self, path, line, indent, lang, text, marker):
        self.path = os.path.relpath(path, ROOT)
        self.line = line  # 1-based line of the opening fence
        self.indent = indent
        self.lang = lang
        self.text = text
        self.kind, self.args, self.reason = None, [], ""
        self.problem = None
        if marker is None:
            self.problem = "no doctest marker: run it (sh/conf/...) or mark it (skip — why)"
            return
        head, sep, reason = marker.partition(" — ")
        if not sep:
            head, sep, reason = marker.partition(" -- ")
        if not sep and head.startswith("skip:"):
            head, reason = "skip", head[5:]
        words = head.split()
        self.kind = words[0] if words else ""
        self.args = words[1:]
        self.reason = reason.strip()
        if self.kind not in KINDS:
            self.problem = "unknown doctest marker %r" % marker
        elif self.kind == "skip" and len(self.reason) < 8:
            self.problem = "a skip marker needs a reason: <!-- doctest: skip — why -->"
        elif self.kind == "sh" and len(self.args) != 1:
            self.problem = "<!-- doctest: sh FIXTURE --> names one fixture"

    def where(self):
        return "%s:%d" % (self.path, self.line)


def parse(path):
    """(blocks, problems) of one markdown file."""
    with open(path) as f:
        lines = f.read().split("\n")
    blocks, problems = [], []
    rel = os.path.relpath(path, ROOT)
    i, last_nonblank, prev_blank = 0, None, True
    pending = None  # (line, marker text) of a marker not yet used
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line)
        if m:
            indent, fence, lang = len(m.group(1)), m.group(2), m.group(3)
            body, j = [], i + 1
            while j < len(lines) and lines[j].strip() != fence:
                body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
                j += 1
            if j == len(lines):
                problems.append("%s:%d: unclosed fence" % (rel, i + 1))
            marker = None
            if pending is not None and last_nonblank == pending[0]:
                marker = pending[1]
                pending = None
            blocks.append(Block(path, i + 1, indent, lang, "\n".join(body) + "\n", marker))
            last_nonblank, prev_blank = j, False
            i = j + 1
            continue
        mm = MARKER.match(line)
        if mm:
            if pending is not None:
                problems.append("%s:%d: doctest marker not followed by a fence" % (rel, pending[0] + 1))
            pending = (i, mm.group(1))
        elif line.lstrip().startswith("<!--") and "doctest" in line:
            problems.append("%s:%d: malformed doctest marker" % (rel, i + 1))
        # An indented code block: 4+ spaces after a blank line, under a line
        # that is neither indented nor a list item (those are list content).
        if (line.startswith("    ") and line.strip() and prev_blank and last_nonblank is not None
                and not lines[last_nonblank].startswith((" ", "\t"))
                and not re.match(r"^\s*([-*+]|\d+\.)\s", lines[last_nonblank])
                and not lines[last_nonblank].lstrip().startswith("|")):
            problems.append("%s:%d: indented code block: use a fence with a doctest marker" %
                            (rel, i + 1))
        if line.strip():
            last_nonblank = i
            prev_blank = False
        else:
            prev_blank = True
        i += 1
    if pending is not None:
        problems.append("%s:%d: doctest marker not followed by a fence" % (rel, pending[0] + 1))
    return blocks, problems


# ---- matching answers -----------------------------------------------------------


# Values that differ on every run: an epoch time (2020..2033) matches any
# other, a UUID any UUID, a UTC time in ISO 8601 any such time.
EPOCH = r"1[6-9]\d{8}"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISO = r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ"
VARYING = re.compile(r"\b(%s|%s|%s)\b" % (ISO, EPOCH, UUID))


def literal(text):
    out = []
    for i, part in enumerate(VARYING.split(text)):
        if i % 2 == 0:
            out.append(re.escape(part))
        else:
            out.append(ISO if part.endswith("Z") else UUID if "-" in part else EPOCH)
    return "".join(out)


def pattern(text):
    """A line of expected text as a regex: "..." matches anything, and
    epoch times and UUIDs match any epoch time or UUID."""
    return re.compile(".*".join(literal(p) for p in text.split("...")), re.S)


def as_json(text):
    text = text.strip()
    if not text or text[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_match(want, got):
    if isinstance(want, str):
        return isinstance(got, str) and pattern(want).fullmatch(got) is not None
    if isinstance(want, int) and not isinstance(want, bool) and re.fullmatch(EPOCH, str(want)):
        return isinstance(got, int) and re.fullmatch(EPOCH, str(got)) is not None
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(want) == set(got)
                and all(json_match(want[k], got[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(want) == len(got)
                and all(json_match(a, b) for a, b in zip(want, got)))
    return type(want) is type(got) and want == got


def line_match(want, got):
    wj = as_json(want)
    if wj is not None:
        gj = as_json(got)
        return gj is not None and json_match(wj, gj)
    return pattern(want.rstrip()).fullmatch(got.rstrip()) is not None


def output_match(want_lines, output):
    """Every expected line matches an output line, in order (other output
    lines may come between them). Returns the first expected line that did
    not match, or None."""
    got = output.split("\n")
    k = 0
    for w in want_lines:
        if w.strip() == "...":
            continue
        while k < len(got) and not line_match(w, got[k]):
            k += 1
        if k == len(got):
            return w
        k += 1
    return None


# ---- shell blocks ---------------------------------------------------------------


class Command:
    def __init__(self, text, line, expect):
        self.text = text  # with its continuation lines
        self.line = line  # line number in the markdown file
        self.expect = expect  # expected lines (may be empty)


def commands(block):
    """The commands of a shell block, each with the expected answer under it:
    in "$ cmd" style the lines up to the next "$ ", otherwise the "# ..." lines
    right under the command (a comment after a blank line is prose)."""
    lines = block.text.rstrip("\n").split("\n")
    prompt = any(l.startswith("$ ") for l in lines)
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        start = block.line + 1 + i
        if prompt:
            if not line.startswith("$ "):
                i += 1
                continue
            text = line[2:]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text += "\n" + lines[i]
            i += 1
            expect = []
            while i < len(lines) and not lines[i].startswith("$ "):
                if lines[i].strip():
                    expect.append(lines[i])
                i += 1
            out.append(Command(text, start, expect))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        text = line
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text += "\n" + lines[i]
        i += 1
        here = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", text)
        if here:  # a here-document: its lines up to the terminator
            while i < len(lines):
                text += "\n" + lines[i]
                i += 1
                if lines[i - 1].strip() == here.group(1):
                    break
        # A compound command (for ... done, if ... fi): the lines up to where
        # bash sees a complete command.
        while i < len(lines) and incomplete(text):
            text += "\n" + lines[i]
            i += 1
        expect = []
        while i < len(lines) and lines[i].startswith("# "):
            expect.append(lines[i][2:])
            i += 1
        out.append(Command(text, start, expect))
    return out


def incomplete(text):
    p = subprocess.run(["bash", "-n"], input=text + "\n", capture_output=True, text=True)
    return p.returncode != 0 and "unexpected end of file" in p.stderr


PLACEHOLDER = re.compile(r"<([a-z][a-z_ ']*[a-z_])>")


class Shell:
    """One bash session: commands run one after the other in the same shell
    (so cd, export and variables carry over), each with its own output."""

    def __init__(self, cwd, env, stdin_text=""):
        self.dir = tempfile.mkdtemp(prefix="sh-", dir=WORK)
        self.stdin = H.write_text(os.path.join(self.dir, "stdin"), stdin_text)
        self.n = 0
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, text, timeout=60):
        """(exit status, stdout, stderr); status None on a timeout."""
        self.n += 1
        out = os.path.join(self.dir, "out%d" % self.n)
        err = os.path.join(self.dir, "err%d" % self.n)
        script = "{ %s\n} >%s 2>%s <%s\necho \"__DOCTEST__ $?\"\n" % (text, out, err, self.stdin)
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        buf, end, rc = b"", time.time() + timeout, None
        while time.time() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = re.search(rb"__DOCTEST__ (\d+)\n", buf)
                if m:
                    rc = int(m.group(1))
                    break
        return rc, H.tail(out, 1 << 20), H.tail(err, 1 << 20)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        try:  # whatever the session left in its process group
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def cookie_value(cwd, jars, name):
    for jar in jars:
        path = jar if os.path.isabs(jar) else os.path.join(cwd, jar)
        for line in H.tail(path, 1 << 20).split("\n"):
            if line.startswith("#HttpOnly_"):
                line = line[len("#HttpOnly_"):]
            f = line.split("\t")
            if len(f) == 7 and f[5] == name:
                return f[6]
    return None


def subst(text, subs):
    """Every (from, to) at once, the longest match first: a replaced text is
    never replaced again."""
    if not subs:
        return text
    table = dict(subs)
    alt = "|".join(re.escape(a) for a in sorted(table, key=len, reverse=True))
    return re.sub(alt, lambda m: table[m.group(0)], text)


class Session:
    """A fixture's shell, its substitutions, and the values answered so far:
    every key of a JSON object a command printed (alone on a line, or in a
    list of objects) fills <key> and <new key> (the latest answer wins);
    <value of the NAME cookie> comes from the cookie jars the commands wrote
    with curl -c."""

    def __init__(self, fixture):
        self.fx = fixture
        self.shell = Shell(fixture.cwd, fixture.env, fixture.stdin)
        self.vars = dict(fixture.vars)
        self.jars = []
        self.label = ""

    def fill(self, text, where):
        text = subst(text, self.fx.subs)

        def one(m):
            key = m.group(1)
            if key.startswith("new "):
                key = key[4:]
            c = re.fullmatch(r"value of the (\S+) cookie", key)
            if c:
                v = cookie_value(self.fx.cwd, self.jars, c.group(1))
            else:
                v = self.vars.get(key)
            if v is None:
                raise ValueError("%s: no value for the placeholder %s" % (where, m.group(0)))
            return v

        return PLACEHOLDER.sub(one, text)

    def run_block(self, block):
        for cmd in commands(block):
            where = "%s%s:%d" % (self.label, block.path, cmd.line)
            try:
                text = self.fill(cmd.text, where)
                expect = [self.fill(e, where) for e in cmd.expect]
            except ValueError as e:
                R.check(False, where, str(e))
                continue
            self.jars += re.findall(r"(?:^|\s)-c\s+(\S+)", text)
            rc, out, err = self.shell.run(text, self.fx.timeout)
            if VERBOSE:
                print("# %s $ %s\n#  -> %s %s %s" % (where, text, rc, out[-400:], err[-400:]))
            for line in out.split("\n"):
                j = as_json(line)
                # An object, or a list of objects (the last one wins).
                for o in [j] if isinstance(j, dict) else j if isinstance(j, list) else []:
                    for k, v in (o.items() if isinstance(o, dict) else ()):
                        if isinstance(v, str):
                            self.vars[k] = v
            short = cmd.text.split("\n")[0][:70]
            if rc != 0:
                R.check(False, "%s: %s" % (where, short),
                        "\n    exit %s\n    ran: %s\n    stdout: %s\n    stderr: %s" %
                        (rc, text, out[-1500:], err[-1500:]))
                continue
            miss = output_match(expect, out + err) if expect else None
            R.check(miss is None, "%s: %s" % (where, short),
                    "\n    expected line: %s\n    ran: %s\n    output: %s" %
                    (miss, text, (out + err)[-2000:]))

    def close(self):
        self.shell.close()
        self.fx.close()


# ---- fixtures -------------------------------------------------------------------

WORK = None  # the temp folder of this run, set in main()


def base_env(extra_path=()):
    env = dict(os.environ)
    env["PATH"] = ":".join(list(extra_path) + [os.path.join(ROOT, "tools"), env.get("PATH", "")])
    env.pop("JWTX_CONF", None)
    return env


class Fixture:
    timeout = 60
    stdin = ""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="fx-", dir=WORK)
        os.chmod(self.dir, 0o755)
        self.cwd = self.dir
        self.env = base_env()
        self.subs = []
        self.vars = {}

    def close(self):
        pass


class Demo(Fixture):
    """`make run` on a free port, in its own session, run state in a temp
    folder; 127.0.0.1:5000 becomes that port. Stopped by its process group."""

    login_first = True  # fill <access_token> and <refresh_token> with a login

    def __init__(self, conf=None):
        super().__init__()
        self.port = H.free_port()
        self.run = os.path.join(self.dir, "run")
        os.mkdir(self.run)
        # The demo conf keeps its SQLite store in ./run whatever RUN is, and
        # make run makes only RUN (until it makes the store's folder itself).
        os.makedirs(os.path.join(ROOT, "run"), exist_ok=True)
        args = ["make", "--no-print-directory", "run", "PORT=%d" % self.port]
        if conf:
            args.append("CONF=%s" % conf)
        with open(os.path.join(ROOT, "Makefile")) as f:
            if re.search(r"^RUN \?=", f.read(), re.M):
                args.append("RUN=%s" % self.run)
        self.log = open(os.path.join(self.dir, "make-run.log"), "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        if not H.wait_port(self.port, 60):
            self.close()
            raise RuntimeError("make run did not serve port %d: %s" %
                               (self.port, H.tail(self.log.name)))
        self.subs = [("127.0.0.1:5000", "127.0.0.1:%d" % self.port)]
        if not self.login_first:
            return
        # <access_token> and <refresh_token> before any command answered one:
        # the demo user's.
        a = H.login(self.port)
        if a.status != 200 or not isinstance(a.json(), dict):
            self.close()
            raise RuntimeError("make run: the demo login answered %d %r" % (a.status, a.body))
        self.vars = dict(a.json())

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        end = time.time() + 20
        while time.time() < end:
            try:
                H.socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.1)
            except OSError:
                break
        else:
            R.check(False, "make run on port %d stopped" % self.port)
        self.log.close()


class DemoConf(Demo):
    """The demo with conf/jwtx.conf changed as a page says: a copy of it in
    a temp folder (beside a copy of users.htpasswd, so its relative paths
    name the temp folder: its store is <temp>/run/blocklist.sqlite), followed
    by the lines of the page's first `conf demo-conf` block. That block is
    checked as the whole conf; `conf/jwtx.conf` in a command is the copy.
    No login before the page's own: its store holds only what the page did."""

    login_first = False

    def __init__(self, lines):
        top = tempfile.mkdtemp(prefix="demo-conf-", dir=WORK)
        os.chmod(top, 0o755)
        os.mkdir(os.path.join(top, "conf"))
        os.mkdir(os.path.join(top, "run"))
        shutil.copy(H.USERS, os.path.join(top, "conf", "users.htpasswd"))
        with open(os.path.join(ROOT, "conf", "jwtx.conf")) as f:
            text = f.read()
        self.conf = H.write_text(os.path.join(top, "conf", "jwtx.conf"),
                                 text.rstrip("\n") + "\n\n" + lines)
        os.chmod(self.conf, 0o600)  # as make run leaves the demo conf: no warning
        super().__init__(self.conf)
        self.subs += [("tools/jwtx ", H.JWTX + " "), ("conf/jwtx.conf", self.conf)]


def private(path):
    """A conf with a secret, as deployed: readable by root and the group
    www-data (the programs' user) only."""
    os.chmod(path, 0o640)
    if AS_ROOT:
        shutil.chown(path, "root", "www-data")
    return path


class Tools(Fixture):
    """The jwtx tool on a conf of its own: /etc/jwtx/ and /var/lib/jwtx/ are
    folders in a temp dir, /etc/jwtx/jwtx.conf a valid conf (HS256 secret, the
    demo users, a SQLite store in /var/lib/jwtx), /home/me/jwtx the checkout."""

    def __init__(self):
        super().__init__()
        etc = os.path.join(self.dir, "etc", "jwtx")
        lib = os.path.join(self.dir, "var", "lib", "jwtx")
        os.makedirs(etc)
        os.makedirs(lib)
        shutil.copy(H.USERS, os.path.join(etc, "users.htpasswd"))
        shutil.copy(H.USERS, os.path.join(etc, "users"))
        self.conf = H.write_text(os.path.join(etc, "jwtx.conf"), (
            'JWT_SECRET_KEY = "doctest-secret-%s"\n'
            'JWTX_USERS_FILE = "users.htpasswd"\n'
            'JWTX_BLOCKLIST = "sqlite:%s/blocklist.sqlite"\n') % (os.urandom(24).hex(), lib))
        private(self.conf)
        self.subs = [("/etc/jwtx/", etc + "/"), ("/etc/jwtx ", etc + " "),
                     ("/var/lib/jwtx/", lib + "/"), ("/home/me/jwtx/", ROOT + "/"),
                     ("sudo -u www-data ", "runuser -u www-data -- " if AS_ROOT else ""),
                     ("sudo ", "")]
        if AS_ROOT:  # the store's folder belongs to the programs' user
            shutil.chown(lib, "www-data", "www-data")
        self.env["NEW_PASSWORD"] = "doctest-new-password"
        self.stdin = "doctest-new-password\n"


class Repo(Tools):
    """Commands run at the top of the checkout (tools/jwtx, conf/...)."""

    def __init__(self):
        super().__init__()
        self.cwd = ROOT


class ApacheTry(Fixture):
    """A standalone Apache from the checkout: /tmp/jwtx-apache is a temp folder
    (readable by www-data), /path/to/ the checkout, /path/to/jwtx.conf a conf
    with the demo users and no store, port 8080 a free port."""

    def __init__(self):
        super().__init__()
        self.server_root = os.path.join(self.dir, "jwtx-apache")
        conf = private(H.write_text(os.path.join(self.dir, "jwtx.conf"), (
            'JWT_SECRET_KEY = "doctest-secret-%s"\nJWTX_USERS_FILE = "%s"\n') %
            (os.urandom(24).hex(), H.USERS)))
        self.port = H.free_port()
        self.subs = [("/tmp/jwtx-apache", self.server_root), ("/path/to/jwtx.conf", conf),
                     ("/path/to/", ROOT + "/"), ("JWTX_PORT 8080", "JWTX_PORT %d" % self.port),
                     ("127.0.0.1:8080", "127.0.0.1:%d" % self.port)]
        if not AS_ROOT:
            self.subs.append(("-o www-data -g www-data ", ""))
            self.subs.append(("JWTX_USER www-data", "JWTX_USER %s" % os.environ.get("USER", "")))

    def close(self):
        pid = H.tail(os.path.join(self.server_root, "run", "httpd.pid")).strip()
        if pid.isdigit():
            H.stop_pid(int(pid))


FIXTURES = {"demo": Demo, "demo-conf": DemoConf, "tools": Tools, "repo": Repo,
            "apache-try": ApacheTry}

# ---- the deployment walk-throughs ----------------------------------------------
#
# The blocks marked "sh deploy-install" (deploy.md, "Install once") and
# "sh deploy-check" ("Checking that it works") run once per server, around that
# server's own documented blocks, in a fake root: a temp folder R stands for /,
# so /usr/local, /etc/jwtx, /var/lib/jwtx, /run/jwtx, /var/www/jwtx, /etc/nginx
# ... are folders of R (created by the documented commands, not by the test),
# `make install` installs with PREFIX=R/usr/local, `sudo` is dropped (the suite
# runs as root, or the server users are the suite's own), https://example.org
# is the server on a free port, and the documented ports 9001-9007 / 9100-9105
# are free ports. Servers run as www-data (the documented user) when the
# suite runs as root, so a file www-data cannot read fails the walk-through.



class Deploy(Fixture):
    timeout = 240  # make install may build

    def __init__(self, server):
        super().__init__()
        self.server = server
        self.R = os.path.join(self.dir, "root")
        os.mkdir(self.R)
        os.chmod(self.R, 0o755)
        self.cwd = ROOT
        self.port = H.free_port()
        self.procs = []
        self.password = "doctest-%s" % os.urandom(6).hex()
        self.stdin = self.password + "\n"
        self.vars = {"alice's password": self.password, "password": self.password}
        r = self.R
        self.subs = [("sudo ", ""), ("sudo -u www-data ", "runuser -u www-data -- "),
                     ("make install", "make --no-print-directory install PREFIX=%s/usr/local" % r),
                     ("https://example.org", "http://127.0.0.1:%d" % self.port),
                     ("127.0.0.1:8080", "127.0.0.1:%d" % self.port),
                     ("<VirtualHost *:80>", "<VirtualHost *:%d>" % self.port)]
        for n in list(range(9001, 9008)) + list(range(9100, 9106)):
            p = H.free_port()
            self.subs += [("-p %d " % n, "-p %d " % p), (":%d" % n, ":%d" % p),
                          ("_PORT %d" % n, "_PORT %d" % p)]
        for path in ("/usr/local", "/etc/jwtx", "/var/lib/jwtx", "/run/jwtx-nginx",
                     "/run/jwtx", "/var/www/jwtx", "/srv/jwtx/www", "/etc/lighttpd", "/etc/nginx",
                     "/etc/apache2", "/var/log/jwtx"):
            self.subs.append((path, r + path))
        self.env["PATH"] = "%s/usr/local/bin:%s" % (r, self.env["PATH"])
        # What Debian's nginx package puts in /etc/nginx, beside the documented files.
        os.makedirs(os.path.join(r, "etc", "nginx"))
        for f in ("fastcgi_params", "mime.types"):
            if os.path.exists("/etc/nginx/" + f):
                shutil.copy("/etc/nginx/" + f, os.path.join(r, "etc", "nginx"))

    def path(self, p):
        return subst(p, [s for s in self.subs if s[0].startswith("/")])

    def start(self, cmd, what):
        log = open(os.path.join(self.dir, "%s.log" % what), "w")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, cwd=self.R)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        # Daemons the documented commands started, by their pid files.
        for pidfile in glob.glob(os.path.join(self.R, "run", "**", "*.pid"), recursive=True):
            for pid in H.tail(pidfile).split():
                if pid.isdigit():
                    H.stop_pid(int(pid))


def lighttpd_main(fx):
    """The server basics of a Debian lighttpd.conf, in the fake root."""
    r = fx.R
    for d, owner in (("var/log/lighttpd", "www-data"), ("run/lighttpd", "www-data")):
        os.makedirs(os.path.join(r, d), exist_ok=True)
        if AS_ROOT:
            shutil.chown(os.path.join(r, d), owner, owner)
    return ('server.modules = ( "mod_access" )\n'
            'server.document-root = "%s/var/www/jwtx"\n'
            'server.port = %d\nserver.bind = "127.0.0.1"\n'
            'server.errorlog = "%s/var/log/lighttpd/error.log"\n'
            'server.pid-file = "%s/run/lighttpd/lighttpd.pid"\n'
            '%s'
            'index-file.names = ( "index.html" )\n'
            'mimetype.assign = ( ".html" => "text/html", ".css" => "text/css",'
            ' ".js" => "text/javascript", ".json" => "application/json" )\n' %
            (r, fx.port, r, r, 'server.username = "www-data"\nserver.groupname = "www-data"\n'
             if AS_ROOT else ""))


def start_lighttpd(fx, block):
    """The documented lines go to /etc/lighttpd/conf-available/50-jwtx.conf
    (lighty-enable-mod: an include of it), after the basics."""
    avail = os.path.join(fx.R, "etc", "lighttpd", "conf-available")
    os.makedirs(avail, exist_ok=True)
    site = H.write_text(os.path.join(avail, "50-jwtx.conf"), fx.path(block.text))
    main = H.write_text(os.path.join(fx.R, "etc", "lighttpd", "lighttpd.conf"),
                        lighttpd_main(fx) + 'include "%s"\n' % site)
    p = subprocess.run(["lighttpd", "-tt", "-f", main], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("lighttpd -tt: %s" % (p.stdout + p.stderr).strip())
    proc = fx.start(["lighttpd", "-D", "-f", main], "lighttpd")
    if not H.wait_port(fx.port, 15):
        raise RuntimeError("lighttpd did not start: %s %s" % (
            H.tail(os.path.join(fx.dir, "lighttpd.log")),
            H.tail(os.path.join(fx.R, "var/log/lighttpd/error.log"))))
    return proc


APACHE_BASE_MODULES = ("mpm_prefork", "authn_core", "authz_core", "authz_host", "authz_user",
                       "dir", "mime")


def start_apache(fx, block, modules):
    """A Debian apache2.conf in the fake root: the default modules plus what
    the documented a2enmod line enables (their mods-available .load and .conf,
    as a2enmod links them), prefork, User www-data, then the documented block."""
    r = fx.R
    for d in ("run/apache2", "var/log/apache2", "var/lib/apache2/fcgid/sock"):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    if AS_ROOT:
        shutil.chown(os.path.join(r, "var/lib/apache2/fcgid"), "www-data", "www-data")
        shutil.chown(os.path.join(r, "var/lib/apache2/fcgid/sock"), "www-data", "www-data")
    lines = ["ServerRoot %s" % fx.dir, "DefaultRuntimeDir %s/run/apache2" % r,
             "PidFile %s/run/apache2/apache2.pid" % r, "ErrorLog %s/var/log/apache2/error.log" % r,
             "LogLevel warn", "Listen 127.0.0.1:%d" % fx.port, "ServerName 127.0.0.1",
             "Mutex file:%s/run/apache2 default" % r]
    if AS_ROOT:
        lines += ["User www-data", "Group www-data"]
    mods = list(APACHE_BASE_MODULES) + [m for m in modules if m not in APACHE_BASE_MODULES]
    for m in mods:
        for ext in ("load", "conf"):
            f = "/etc/apache2/mods-available/%s.%s" % (m, ext)
            if os.path.exists(f):
                lines.append("Include %s" % f)
            elif ext == "load":
                raise RuntimeError("a2enmod %s: no %s" % (m, f))
    # Debian's apache2.conf grants /var/www/ and /usr/share (here: in the fake root).
    lines += ["<Directory %s/var/www/>" % r, "Require all granted", "</Directory>",
              "<Directory %s/usr/share>" % r, "Require all granted", "</Directory>"]
    lines += ["<IfModule mod_fcgid.c>", "FcgidIPCDir %s/var/lib/apache2/fcgid/sock" % r,
              "FcgidProcessTableFile %s/var/lib/apache2/fcgid/shm" % r, "</IfModule>",
              "<Directory />", "AllowOverride None", "Require all denied", "</Directory>",
              subst(block.text, fx.subs)]
    conf = H.write_text(os.path.join(fx.dir, "apache2.conf"), "\n".join(lines) + "\n")
    p = subprocess.run(["apache2", "-t", "-f", conf], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("apache2 -t: %s" % (p.stdout + p.stderr).strip())
    proc = fx.start(["apache2", "-f", conf, "-DFOREGROUND"], "apache2")
    if not H.wait_port(fx.port, 15):
        raise RuntimeError("apache2 did not start: %s" %
                           H.tail(os.path.join(r, "var/log/apache2/error.log")))
    return proc


def check_not_root(fx):
    """No program of the walk-through runs as root: the jwtx programs (any
    process whose executable is in the fake root) and every daemon of a pid
    file in /run/jwtx (spawn-fcgi's, fcgiwrap's)."""
    if not AS_ROOT:
        return
    pids = set()
    for pidfile in glob.glob(os.path.join(fx.R, "run", "jwtx", "*.pid")):
        pids.update(int(p) for p in H.tail(pidfile).split() if p.isdigit())
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d).startswith(fx.R + "/"):
                    pids.add(int(d))
            except OSError:
                pass
    as_root = []
    for pid in sorted(pids):
        try:
            st = os.stat("/proc/%d" % pid)
        except OSError:
            continue
        if st.st_uid == 0:
            as_root.append("%d %s" % (pid, H.tail("/proc/%d/cmdline" % pid).replace("\0", " ")))
    # Plain CGI under Apache keeps no program running; every other setup does.
    cgi_only = fx.name.startswith("apache cgi")
    R.check((cgi_only or len(pids) > 0) and not as_root,
            "walk-through %s: %d program processes, none runs as root" % (fx.name, len(pids)),
            "\n    " + "\n    ".join(as_root))


def walkthrough(name, steps):
    """steps: ("sh", block) runs in the session, ("call", fn) runs fn(fx)."""
    fx = None
    try:
        server = name.split()[0]
        fx = Deploy(server)
        fx.name = name
        s = Session(fx)
        s.label = "walk-through %s: " % name
    except (OSError, RuntimeError) as e:
        R.check(False, "walk-through %s: set up" % name, str(e))
        return
    try:
        before = R.failed
        for kind, x in steps:
            if kind == "sh":
                s.run_block(x)
            else:
                x(fx)
            if R.failed > before:
                break  # later steps need this one
    except (OSError, RuntimeError, ValueError) as e:
        R.check(False, "walk-through %s" % name, str(e))
    finally:
        s.close()
        for log in glob.glob(os.path.join(fx.R, "var/log/*/error.log")):
            text = H.tail(log, 1500)
            if text.strip() and R.failed:
                print("# %s:\n%s" % (log, text))


# ---- the other kinds of blocks --------------------------------------------------


def check_conf(block, session, fragment=False):
    d = tempfile.mkdtemp(prefix="conf-", dir=WORK)
    text = session.fill(block.text, block.where()) if session else block.text
    if fragment:
        # Lines a reader adds to a conf of their own: checked in a minimal one.
        text = 'JWT_SECRET_KEY = "doctest-fragment-secret-of-at-least-32-bytes"\n' + text
    if session and isinstance(session.fx, DemoConf):
        path = session.fx.conf  # the block is part of it: check the whole conf
    else:
        path = H.write_text(os.path.join(d, "jwtx.conf"), text)
        os.chmod(path, 0o600)  # as a deployed conf with a secret is
        # A conf names its files relative to itself: give it the demo's users.
        shutil.copy(H.USERS, os.path.join(d, "users.htpasswd"))
        os.mkdir(os.path.join(d, "run"))
    cwd = session.fx.cwd if session else d
    p = subprocess.run([H.JWTX, "config", "check", path], capture_output=True, text=True, cwd=cwd)
    R.check(p.returncode == 0 and "warning" not in p.stderr.lower(),
            "%s: jwtx config check, no error, no warning" % block.where(),
            "\n    exit %d: %s" % (p.returncode, p.stderr.strip()))


def lighttpd_basics(run, port):
    return ('server.document-root = "%s/conf/demo-www"\n'
            'server.port = %d\nserver.bind = "127.0.0.1"\n'
            'server.errorlog = "%s/error.log"\nserver.pid-file = "%s/lighttpd.pid"\n'
            'server.modules = ( "mod_access" )\n'
            'mimetype.assign = ( ".html" => "text/html" )\n' % (ROOT, port, run, run))


def check_lighttpd(block):
    d = tempfile.mkdtemp(prefix="lighttpd-", dir=WORK)
    conf = H.write_text(os.path.join(d, "jwtx.conf"), 'JWT_SECRET_KEY = "doctest-%s"\n' %
                        os.urandom(24).hex())
    subs = [("/usr/local/lib/jwtx", os.path.join(ROOT, "cgi-bin")),
            ("/etc/jwtx/jwtx.conf", conf), ("/run/jwtx", d),
            ("/etc/lighttpd/", os.path.join(ROOT, "conf", "lighttpd") + "/"),
            ("/usr/local/share/jwtx/lighttpd/", os.path.join(ROOT, "conf", "lighttpd") + "/")]
    text = lighttpd_basics(d, H.free_port())
    if "fragment" in block.args:
        text += ('var.jwtx_bin = "/usr/local/lib/jwtx"\nvar.jwtx_conf = "/etc/jwtx/jwtx.conf"\n'
                 'var.jwtx_run = "/run/jwtx"\nvar.jwtx_procs = 1\n'
                 'var.jwtx_errors = "%s/conf/errors"\n'
                 'include "/etc/lighttpd/jwtx.conf"\n' % ROOT)
    text = subst(text + block.text, subs)
    path = H.write_text(os.path.join(d, "lighttpd.conf"), text)
    p = subprocess.run(["lighttpd", "-tt", "-f", path], capture_output=True, text=True)
    R.check(p.returncode == 0, "%s: lighttpd -tt" % block.where(),
            "\n    %s\n    conf:\n%s" % ((p.stdout + p.stderr).strip(), text))


def check_apache_fragment(block):
    """Apache lines for recipe 1: `apache2 -t` on conf/apache/standalone.conf
    around jwtx-fcgid.conf (the checkout's paths), followed by the lines."""
    d = tempfile.mkdtemp(prefix="apache-", dir=WORK)
    for sub in ("run", "fcgid"):
        os.mkdir(os.path.join(d, sub))
    conf = H.write_text(os.path.join(d, "jwtx.conf"), 'JWT_SECRET_KEY = "doctest-%s"\n' %
                        os.urandom(24).hex())
    a = os.path.join(ROOT, "conf", "apache")
    defines = [("JWTX_SERVER_ROOT", d), ("JWTX_PORT", str(H.free_port())),
               ("JWTX_USER", "www-data" if AS_ROOT else os.environ.get("USER", "nobody")),
               ("JWTX_WITH_FCGID", None), ("JWTX_RECIPE", os.path.join(a, "jwtx-fcgid.conf")),
               ("JWTX_BIN", os.path.join(ROOT, "cgi-bin")), ("JWTX_CONF", conf),
               ("JWTX_WWW", os.path.join(ROOT, "conf", "demo-www")),
               ("JWTX_ERRORS", os.path.join(ROOT, "conf", "errors"))]
    text = "".join("Define %s%s\n" % (k, " " + v if v else "") for k, v in defines)
    text += "Include %s\n%s" % (os.path.join(a, "standalone.conf"), block.text)
    path = H.write_text(os.path.join(d, "httpd.conf"), text)
    p = subprocess.run(["apache2", "-t", "-f", path], capture_output=True, text=True)
    R.check(p.returncode == 0, "%s: apache2 -t" % block.where(), (p.stdout + p.stderr).strip())


def check_json(block):
    try:
        json.loads(block.text)
        ok, why = True, ""
    except ValueError as e:
        ok, why = False, str(e)
    R.check(ok, "%s: valid JSON" % block.where(), why)


def check_c(block, session):
    d = tempfile.mkdtemp(prefix="c-", dir=WORK)
    text = session.fill(block.text, block.where()) if session else block.text
    includes = [l for l in text.split("\n") if l.startswith("#include")]
    body = [l for l in text.split("\n") if not l.startswith("#include")]
    headers = sorted(os.path.basename(h) for h in glob.glob(os.path.join(ROOT, "include/jwtx/*.h")))
    src = ("#include <stdio.h>\n" + "".join("#include <jwtx/%s>\n" % h for h in headers) +
           "\n".join(includes) + "\nint main(void)\n{\n" + "\n".join(body) + "\nreturn 0;\n}\n")
    c = H.write_text(os.path.join(d, "example.c"), src)
    exe = os.path.join(d, "example")
    libs = ["-lssl", "-lcrypto", "-ljansson", "-lfcgi", "-lsqlite3", "-lhiredis", "-lcrypt", "-lm"]
    p = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "include"),
                        "-Wall", "-Wno-unused", "-o", exe, c,
                        os.path.join(ROOT, "lib", "libjwtx.a")] + libs,
                       capture_output=True, text=True)
    if not R.check(p.returncode == 0, "%s: compiles" % block.where(), p.stderr[-2000:]):
        return
    p = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    R.check(p.returncode == 0, "%s: runs" % block.where(),
            "exit %d: %s %s" % (p.returncode, p.stdout, p.stderr))


def run_walkthroughs(parts):
    def of(kind, arg):
        return [b for b in parts if b.kind == kind and b.args and b.args[0] == arg]

    install, check = of("sh", "deploy-install"), of("sh", "deploy-check")
    if not parts:
        return
    if not AS_ROOT:
        R.check(False, "walk-throughs: they run the documented sudo commands, so they need root")
        return
    for what, blocks in (("install", install), ("check", check)):
        R.check(len(blocks) > 0, "walk-throughs: the %s steps are marked (sh deploy-%s)" %
                (what, what))
    for b in of("lighttpd", "deploy"):
        walkthrough("lighttpd (%s)" % b.where(),
                    [("sh", x) for x in install + of("sh", "deploy-lighttpd")] +
                    [("call", lambda fx, b=b: start_lighttpd(fx, b))] +
                    [("sh", x) for x in check] + [("call", check_not_root)])
    nginx = of("sh", "deploy-nginx")
    if nginx:
        walkthrough("nginx (%s)" % nginx[0].where(),
                    [("sh", x) for x in install + nginx] +
                    [("call", lambda fx: H.wait_port(fx.port, 10))] +
                    [("sh", x) for x in check] + [("call", check_not_root)])
    # Apache: one walk-through per "apache deploy NAME" block, with the modules
    # of the "apache modules NAME" block and the "sh deploy-apache-NAME" steps.
    for b in of("apache", "deploy"):
        name = b.args[1] if len(b.args) > 1 else ""
        modules = []
        for m in [x for x in of("apache", "modules") if x.args[1:2] == b.args[1:2]]:
            for line in re.findall(r"a2enmod\s+([\w ]+?)(?:\s*&&|\s*$)", m.text, re.M):
                modules += line.split()
            check_apache_modules(m, b)
        steps = of("sh", "deploy-apache") + of("sh", "deploy-apache-" + name)
        walkthrough("apache %s(%s)" % (name + " " if name else "", b.where()),
                    [("sh", x) for x in install + steps] +
                    [("call", lambda fx, b=b, modules=modules: start_apache(fx, b, modules))] +
                    [("sh", x) for x in check] + [("call", check_not_root)])


def check_apache_modules(modules_block, deploy_block):
    """The a2enmod line of a walk-through is the one in the header of the
    recipe its block includes, and so is the module list of the table of
    deploy-apache.md."""
    inc = re.search(r"Include\s+\S*/(jwtx-[\w-]+\.conf)", deploy_block.text)
    if not inc:
        R.check(False, "%s: includes a recipe" % deploy_block.where())
        return
    name = inc.group(1)
    with open(os.path.join(ROOT, "conf", "apache", name)) as f:
        m = re.search(r"^#\s+a2enmod ([\w ]+)", f.read(), re.M)
    want = sorted(m.group(1).split()) if m else None
    got = []
    for line in re.findall(r"a2enmod\s+([\w ]+?)(?:\s*&&|\s*$)", modules_block.text, re.M):
        got += line.split()
    R.eq(sorted(got), want, "%s: the a2enmod line of %s" % (modules_block.where(), name))
    with open(os.path.join(ROOT, deploy_block.path)) as f:
        row = re.search(r"^\| `%s`[^|]*\| ([^|]*)\|" % re.escape(name), f.read(), re.M)
    table = sorted(set(re.findall(r"mod_(\w+)", row.group(1))) - {"cgid"}) if row else None
    R.eq(table, want, "%s: the table's modules of %s" % (deploy_block.path, name))


def selftest():
    """The rules that keep an example from escaping, on a made-up page."""
    page = H.write_text(os.path.join(WORK, "selftest.md"), (
        "# t\n\n```sh\ncurl x\n```\n\n<!-- doctest: skip -->\n```\nx\n```\n\n"
        "<!-- doctest: sh demo -->\n\ntext\n\n    indented code\n\n"
        "<!-- doctest: frobnicate -->\n```\ny\n```\n"))
    blocks, problems = parse(page)
    found = sorted(p.split(": ", 1)[1].split(":")[0] for p in problems) + sorted(
        b.problem.split(":")[0] for b in blocks if b.problem)
    R.eq(found, ["doctest marker not followed by a fence",
                 "indented code block", "a skip marker needs a reason", "no doctest marker",
                 "unknown doctest marker 'frobnicate'"],
         "self-test: an unmarked block, a skip without reason, a lone marker, an indented "
         "block and an unknown marker all fail")
    R.check(output_match(['{"a":"eyJ...","t":1732800000}'], 'x\n{"t":1796292697,"a":"eyJz"}\n')
            is None and output_match(['{"a":"b"}'], '{"a":"b","c":1}') is not None and
            output_match(["HTTP/1.1 401 ..."], "HTTP/1.1 200 OK") is not None,
            "self-test: JSON answers compare as JSON, with patterns and epoch times")


# ---- main -----------------------------------------------------------------------


def main():
    global WORK
    WORK = H.tmpdir("doctest-")
    os.chmod(WORK, 0o755)
    files = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not files:
        files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    only = re.compile(os.environ.get("JWTX_DOCTEST_ONLY", ""))
    if not only.pattern:
        selftest()
    blocks, kinds = [], {}
    for path in files:
        bs, problems = parse(os.path.abspath(path))
        for p in problems:
            if only.search(p.split(": ")[0]):
                R.check(False, p)
        blocks += [b for b in bs if only.search(b.where())]
    for b in blocks:
        if b.problem:
            R.check(False, "%s: %s" % (b.where(), b.problem), "\n" + b.text[:300])
        else:
            kinds[b.kind] = kinds.get(b.kind, 0) + 1
    sessions = {}  # (file, fixture) -> Session

    def session(b, name):
        key = (b.path, name)
        if key not in sessions:
            if name not in FIXTURES:
                raise ValueError("unknown fixture %r" % name)
            if name == "demo-conf":
                conf = [x for x in blocks if x.path == b.path and x.kind == "conf"
                        and x.args == ["demo-conf"]]
                if not conf or conf[0].line > b.line:
                    raise ValueError("a demo-conf session starts with a "
                                     "<!-- doctest: conf demo-conf --> block")
                sessions[key] = Session(DemoConf(conf[0].text))
            else:
                sessions[key] = Session(FIXTURES[name]())
        return sessions[key]

    def deploy_part(b):
        return ((b.kind == "sh" and b.args[0].startswith("deploy")) or
                (b.kind in ("lighttpd", "apache") and b.args and b.args[0] in ("deploy", "modules")))

    try:
        for b in blocks:
            if b.problem or deploy_part(b):
                continue
            try:
                if b.kind == "sh":
                    session(b, b.args[0]).run_block(b)
                elif b.kind == "conf" and b.args == ["fragment"]:
                    check_conf(b, None, fragment=True)
                elif b.kind == "conf":
                    check_conf(b, session(b, b.args[0]) if b.args else None)
                elif b.kind == "lighttpd":
                    check_lighttpd(b)
                elif b.kind == "apache" and b.args == ["fragment"]:
                    check_apache_fragment(b)
                elif b.kind == "json":
                    check_json(b)
                elif b.kind == "c":
                    check_c(b, session(b, b.args[0]) if b.args else None)
                elif b.kind in ("output", "skip"):
                    if VERBOSE:
                        print("# %s: %s %s" % (b.where(), b.kind, b.reason))
                else:
                    R.check(False, "%s: no runner for %r yet" % (b.where(), b.kind))
            except (ValueError, RuntimeError, OSError) as e:
                R.check(False, "%s: %s" % (b.where(), e))
            # A session ends after the last block of its file.
            for key in [k for k in sessions if k[0] == b.path and
                        not any(x.path == b.path and x.line > b.line for x in blocks)]:
                sessions.pop(key).close()
        run_walkthroughs([b for b in blocks if not b.problem and deploy_part(b)])
    finally:
        for s in sessions.values():
            s.close()
    print("# blocks: %d (%s)" % (len(blocks), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
    R.finish()


if __name__ == "__main__":
    main()
