"""Suite 17-install: the man pages, `make install`, jwtx.pc and the systemd units.

* The three man pages pass `mandoc -T lint` (warnings and up) and
  `groff -ww -z` with no message.
* Coverage, derived from the source, never from a hand-copied list:
  every option of the conf parser's table (lib/config.c `options[]`, checked
  against `jwtx config check`'s listing) has its own entry in jwtx.conf(5);
  every JWTX_* name the programs read (string literals in lib/ and cgi-bin/
  that are not conf options) is in jwtx-fcgi(8); every command of the tool
  (tools/jwtx.c `commands[]`) is in jwtx(1), with every exit status the
  tools return. The checker is also run on a page with one entry removed and
  must then fail.
* `jwtx --version` prints the VERSION file.
* `make install DESTDIR=... PREFIX=/usr/local` puts every file in its place;
  `make install PREFIX=<temp>` gives a jwtx.pc with which `pkg-config --cflags
  --libs jwtx` builds and links a small program against the installed copy.
* The installed units pass `systemd-analyze verify` with no message (and a
  broken copy does not); the unit's own ExecStart line, with its Environment
  lines, is started under `systemd-socket-activate` as User= would run it,
  serves FastCGI requests with JWTX_WORKERS processes on one socket, replaces
  a worker that is killed, ends with status 1 when the conf does not load
  (Restart=on-failure), dies of SIGTERM when stopped; nginx, started
  from the installed recipe as www-data, reaches all six programs on unix
  sockets with the owner and mode of jwtx@.socket.
"""
import glob
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

R = harness.Results("install")
ROOT = harness.ROOT
MAN = os.path.join(ROOT, "man")
PAGES = ["jwtx.1", "jwtx.conf.5", "jwtx-fcgi.8"]
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def scratch(prefix):
    """A temporary folder under /tmp that unprivileged users can read."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    harness.atexit.register(shutil.rmtree, d, True)
    return d


# ---- man pages: lint ----------------------------------------------------------

for page in PAGES:
    path = os.path.join(MAN, page)
    p = run(["mandoc", "-T", "lint", "-W", "warning", path])
    R.check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
            "mandoc -T lint %s: no warning" % page, p.stdout + p.stderr)
    p = run(["groff", "-ww", "-z", "-mandoc", path])
    R.check(p.returncode == 0 and p.stderr.strip() == "", "groff -ww -z %s: no warning" % page,
            p.stderr)

# ---- coverage, derived from the source ------------------------------------------


def conf_options():
    """Names in lib/config.c's option table (options[] ... };)."""
    src = open(os.path.join(ROOT, "lib", "config.c")).read()
    m = re.search(r"static const opt options\[\] = \{(.*?)\n\};", src, re.S)
    if not m:
        return []
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return re.findall(r'\b(?:SPEC|STR|BOOLO|INTO|DUR)\(\s*"([A-Z0-9_]+)"', body)


def man_entries(text, macro):
    """The names a page lists as `.It <macro> NAME` (list headings)."""
    return set(re.findall(r"^\.It %s ([A-Z0-9_]+)" % macro, text, re.M))


def missing_options(page_text, options):
    have = man_entries(page_text, "Cm")
    return [o for o in options if o not in have]


OPTIONS = conf_options()
R.check(len(OPTIONS) >= 50, "the option table of lib/config.c was read (%d options)" % len(OPTIONS))
d = scratch("jwtx-install-")
with open(os.path.join(d, "min.conf"), "w") as f:
    f.write('JWT_SECRET_KEY = "coverage-test-secret-0123456789abcdef0123"\n')
p = run([harness.JWTX, "config", "check", os.path.join(d, "min.conf")])
listed = list(json.loads(p.stdout).keys()) if p.returncode == 0 else []
R.check(listed and set(listed) <= set(OPTIONS),
        "every option `jwtx config check` lists is in the table read from the source",
        sorted(set(listed) - set(OPTIONS)))
conf5 = open(os.path.join(MAN, "jwtx.conf.5")).read()
miss = missing_options(conf5, sorted(set(OPTIONS) | set(listed)))
R.check(not miss, "jwtx.conf(5) has an entry for every option of the conf parser", miss)
# The checker can fail: drop one entry and it must be reported.
victim = "JWTX_BLOCKLIST_TIMEOUT_MS"
cut = re.sub(r"^\.It Cm %s .*$" % victim, ".It Cm SOMETHING_ELSE", conf5, flags=re.M)
R.check(victim in missing_options(cut, OPTIONS) and victim not in missing_options(conf5, OPTIONS),
        "the coverage check reports an option whose entry is removed")
unknown = sorted(man_entries(conf5, "Cm") - set(OPTIONS))
R.check(not unknown, "jwtx.conf(5) documents no option the parser does not accept", unknown)

# Parameters the programs read: JWTX_* string literals of lib/ and cgi-bin/
# that are neither conf options nor error-code names.
literals = set()
for path in glob.glob(os.path.join(ROOT, "lib", "*.c")) + glob.glob(os.path.join(ROOT, "cgi-bin", "*.c")):
    literals |= set(re.findall(r'"(JWTX_[A-Z0-9_]+)"', open(path).read()))
params = sorted(n for n in literals if n not in OPTIONS and not n.startswith("JWTX_ERR_"))
R.check("JWTX_CONF" in params and "JWTX_OPTIONAL" in params and "JWTX_RENDER_ERROR" in params,
        "the program parameters were read from lib/ (%d names)" % len(params), params)
fcgi8 = open(os.path.join(MAN, "jwtx-fcgi.8")).read()
have = set(re.findall(r"\bEv (JWTX_[A-Z0-9_]+)", fcgi8))
R.check(not [n for n in params if n not in have],
        "jwtx-fcgi(8) names every JWTX_* parameter and variable the programs read",
        [n for n in params if n not in have])
programs = sorted(os.path.basename(p)[:-2] + ".fcgi" for p in glob.glob(os.path.join(ROOT, "cgi-bin", "*.c")))
R.check(all(re.search(r"^\.It Nm %s$" % re.escape(p), fcgi8, re.M) for p in programs),
        "jwtx-fcgi(8) describes every program of cgi-bin/", programs)

# The tool's commands and exit statuses.
jwtx_c = open(os.path.join(ROOT, "tools", "jwtx.c")).read()
commands = re.findall(r'\{"([a-z]+)", cmd_', jwtx_c)
jwtx1 = open(os.path.join(MAN, "jwtx.1")).read()
R.check(len(commands) >= 6, "the command table of tools/jwtx.c was read (%d)" % len(commands))
R.check(all(re.search(r"^\.Ss %s\b" % c, jwtx1, re.M) and re.search(r"^\.Cm %s\b" % c, jwtx1, re.M)
            for c in commands),
        "jwtx(1) has a synopsis line and a section for every command", commands)
tool_src = "".join(open(p).read() for p in glob.glob(os.path.join(ROOT, "tools", "*.c")))
words = set(re.findall(r'strcmp\((?:action|argv\[1\]), "([a-z]+)"\)', tool_src))
flags_used = set(re.findall(r'"--([a-z][a-z-]*)=?"', tool_src))
R.check({"create", "verify", "decode", "check", "count", "list", "purge"} <= words
        and {"conf", "identity", "jti", "until"} <= flags_used,
        "the subcommands and options of tools/*.c were read (%d, %d)" % (len(words), len(flags_used)))
man_words = set(re.findall(r"\bCm ([a-z]+)", jwtx1)) | set(re.findall(r"\bCm [a-z]+ ([a-z]+)", jwtx1))
man_flags = set(re.findall(r"\bFl -([a-z][a-z-]*)", jwtx1))
R.check(words <= man_words, "jwtx(1) names every subcommand the tools compare against",
        sorted(words - man_words))
R.check(flags_used <= man_flags, "jwtx(1) names every --option the tools accept", sorted(flags_used - man_flags))
statuses = set()
for path in glob.glob(os.path.join(ROOT, "tools", "*.c")):
    statuses |= set(int(x) for x in re.findall(r"\breturn ([0-9]);", open(path).read()))
    statuses |= set(int(x) for x in re.findall(r"\b(?:rc|status) = ([0-9]);", open(path).read()))
exit_sec = jwtx1.split(".Sh EXIT STATUS", 1)[-1].split(".Sh ", 1)[0]
documented = set(int(x) for x in re.findall(r"^\.It ([0-9])$", exit_sec, re.M))
R.check(statuses and statuses <= documented,
        "jwtx(1) documents every exit status the tools return (%s)" % sorted(statuses),
        "documented: %s" % sorted(documented))

# ---- jwtx --version -----------------------------------------------------------------

p = run([harness.JWTX, "--version"])
R.eq((p.returncode, p.stdout), (0, "jwtx %s\n" % VERSION), "jwtx --version prints the VERSION file")

# ---- make install ------------------------------------------------------------------------

stage = scratch("jwtx-stage-")
p = run(["make", "--no-print-directory", "-C", ROOT, "install", "DESTDIR=" + stage,
         "PREFIX=/usr/local"])
R.check(p.returncode == 0, "make install DESTDIR=... PREFIX=/usr/local", p.stderr[-2000:])
want = ["usr/local/bin/jwtx", "usr/local/lib/libjwtx.a", "usr/local/include/jwtx/jwtx.h",
        "usr/local/lib/pkgconfig/jwtx.pc", "usr/local/lib/jwtx/jwtx-serve",
        "usr/local/share/jwtx/jwtx.conf.example",
        "usr/local/share/jwtx/lighttpd/jwtx.conf", "usr/local/share/jwtx/lighttpd/jwtx-cgi.conf",
        "usr/local/share/jwtx/nginx/jwtx.conf.in", "usr/local/share/jwtx/nginx/jwtx-protect.conf",
        "usr/local/share/jwtx/nginx/jwtx-auth-locations.conf",
        "usr/local/share/jwtx/nginx/jwtx-identity-params.conf",
        "usr/local/share/jwtx/nginx/jwtx-error-pages.conf",
        "usr/local/share/jwtx/errors/jwtx-error-400.html", "usr/local/share/jwtx/errors/jwtx-error-503.html",
        "usr/local/share/jwtx/apache/jwtx-fcgid.conf", "usr/local/share/jwtx/apache/jwtx-authnz-fcgi.conf",
        "usr/local/share/jwtx/apache/jwtx-cgi.conf", "usr/local/share/jwtx/apache/jwtx-cgi-guard.sh.in",
        "usr/local/share/jwtx/apache/jwtx-authorizer.sh",
        "usr/local/share/jwtx/fail2ban/filter.d/jwtx.conf", "usr/local/share/jwtx/fail2ban/jail.d/jwtx.local",
        "usr/local/share/jwtx/www/login.html", "usr/local/share/jwtx/www/legacy/whoami.cgi",
        "usr/local/share/man/man1/jwtx.1", "usr/local/share/man/man5/jwtx.conf.5",
        "usr/local/share/man/man8/jwtx-fcgi.8",
        "usr/local/lib/systemd/system/jwtx@.service", "usr/local/lib/systemd/system/jwtx@.socket"]
want += ["usr/local/lib/jwtx/" + p for p in programs]
want += ["usr/local/share/jwtx/errors/" + os.path.basename(p)
         for p in glob.glob(os.path.join(ROOT, "conf", "errors", "*.html"))]
R.check(all(os.path.isfile(os.path.join(stage, w)) for w in want),
        "every file in its place under DESTDIR (%d files)" % len(want),
        [w for w in want if not os.path.isfile(os.path.join(stage, w))])
left = []
for dirpath, _, files in os.walk(stage):
    for f in files:
        text = open(os.path.join(dirpath, f), "rb").read()
        if b"/" + stage.encode().lstrip(b"/") in text:
            left.append(f)
R.check(not left, "no installed file names the DESTDIR", left)
helper = open(os.path.join(stage, "usr/local/share/jwtx/apache/jwtx-authorizer.sh")).read()
R.check("JWTX_CONF='/etc/jwtx/jwtx.conf'" in helper and "'/usr/local/lib/jwtx/authorizer.fcgi'" in helper
        and "@" not in helper, "jwtx-authorizer.sh has the install paths filled in")
R.check(os.stat(os.path.join(stage, "usr/local/lib/jwtx/jwtx-serve")).st_mode & 0o111 != 0
        and os.stat(os.path.join(stage, "usr/local/share/jwtx/www/legacy/whoami.cgi")).st_mode & 0o111 != 0,
        "jwtx-serve and the example CGI program are executable")
units = {}
for u in ("jwtx@.service", "jwtx@.socket"):
    units[u] = open(os.path.join(stage, "usr/local/lib/systemd/system", u)).read()
R.check("ExecStart=/usr/local/lib/jwtx/jwtx-serve %i" in units["jwtx@.service"]
        and "JWTX_CONF=/etc/jwtx/jwtx.conf" in units["jwtx@.service"]
        and not re.search(r"@[A-Z]+@", units["jwtx@.service"] + units["jwtx@.socket"]),
        "the units name the installed program folder and /etc/jwtx/jwtx.conf")

prefix = scratch("jwtx-prefix-")
p = run(["make", "--no-print-directory", "-C", ROOT, "install", "PREFIX=" + prefix])
R.check(p.returncode == 0, "make install PREFIX=<temp>", p.stderr[-2000:])
env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
p = run(["pkg-config", "--cflags", "--libs", "jwtx"], env=env)
flags = p.stdout.split()
R.check(p.returncode == 0 and "-I%s/include" % prefix in flags and "-ljwtx" in flags,
        "pkg-config --cflags --libs jwtx", p.stdout + p.stderr)
p = run(["pkg-config", "--modversion", "jwtx"], env=env)
R.eq(p.stdout.strip(), VERSION, "pkg-config --modversion jwtx is the VERSION file")
src = os.path.join(prefix, "hello.c")
with open(src, "w") as f:
    f.write('#include <jwtx/jwtx.h>\n#include <stdio.h>\n'
            'int main(void)\n{\n    char out[64];\n'
            '    size_t n = jwtx_b64url_encode("jwtx", 4, out);\n'
            '    out[n] = 0;\n    printf("%s\\n", out);\n    return 0;\n}\n')
exe = os.path.join(prefix, "hello")
p = run(["cc", "-std=c11", "-Wall", "-Werror", "-o", exe, src] + flags)
R.check(p.returncode == 0, "a small program builds against the installed copy", p.stderr)
p = run([exe]) if os.path.exists(exe) else None
R.eq(p and p.stdout, "and0eA\n", "and runs (base64url of \"jwtx\")")
p = run([os.path.join(prefix, "bin", "jwtx"), "--version"])
R.eq(p.stdout, "jwtx %s\n" % VERSION, "the installed jwtx --version")
for sect, page in (("1", "jwtx"), ("5", "jwtx.conf"), ("8", "jwtx-fcgi")):
    p = run(["man", "-M", os.path.join(prefix, "share", "man"), sect, page],
            env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
    R.check(p.returncode == 0 and page.upper() in p.stdout, "man -M PREFIX/share/man %s %s" % (sect, page),
            p.stderr[-500:])

# ---- systemd units ----------------------------------------------------------------------

unitdir = os.path.join(prefix, "lib", "systemd", "system")


def verify(folder, names):
    for n in names:
        inst = os.path.join(folder, n)
        if not os.path.exists(inst):
            os.symlink(re.sub(r"@[a-z]+\.", "@.", n), inst)
    return run(["systemd-analyze", "verify", "--man=no"] + [os.path.join(folder, n) for n in names],
               env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))


vd = scratch("jwtx-units-")
for u in ("jwtx@.service", "jwtx@.socket"):
    shutil.copy(os.path.join(unitdir, u), vd)
inst = ["jwtx@authorizer.socket", "jwtx@authorizer.service", "jwtx@login.socket", "jwtx@login.service"]
p = verify(vd, inst)
R.check(p.returncode == 0 and (p.stdout + p.stderr).strip() == "",
        "systemd-analyze verify jwtx@authorizer/login .socket/.service: no message", p.stdout + p.stderr)
bad = scratch("jwtx-units-bad-")
for u in ("jwtx@.service", "jwtx@.socket"):
    shutil.copy(os.path.join(unitdir, u), bad)
with open(os.path.join(bad, "jwtx@.service"), "a") as f:
    f.write("NoNewPrivilege=yes\n")
p = verify(bad, ["jwtx@authorizer.service"])
R.check("NoNewPrivilege" in p.stdout + p.stderr, "systemd-analyze verify notices a misspelt key")

# The unit's ExecStart, as systemd would run it: its Environment= lines (the
# conf path pointed at a test conf), User=/Group=, the socket of
# jwtx@.socket on standard input.
svc = open(os.path.join(unitdir, "jwtx@.service")).read()
execstart = re.search(r"^ExecStart=(.*)$", svc, re.M).group(1)
user = re.search(r"^User=(.*)$", svc, re.M).group(1)
group = re.search(r"^Group=(.*)$", svc, re.M).group(1)
unit_env = dict(re.findall(r"^Environment=([A-Z_]+)=(.*)$", svc, re.M))
R.check(re.search(r"^StandardInput=socket$", svc, re.M) is not None,
        "jwtx@.service takes the socket on standard input")
R.eq(sorted(unit_env), ["JWTX_CONF", "JWTX_WORKERS"], "jwtx@.service sets JWTX_CONF and JWTX_WORKERS")

sa = scratch("jwtx-activate-")
users = os.path.join(sa, "users.htpasswd")
p = run([harness.JWTX, "passwd", "--cost", "4", users, "alice"], input="alice-password\n")
os.chmod(users, 0o644)
conf = harness.write_text(os.path.join(sa, "jwtx.conf"),
                          'JWT_SECRET_KEY = "socket-activation-secret-0123456789abcdef"\n'
                          'JWTX_USERS_FILE = "%s"\n' % users)


def fcgi(sock, params, body=""):
    """One FastCGI request through cgi-fcgi; (status line, body)."""
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
           "CONTENT_LENGTH": str(len(body.encode()))}
    env.update(params)
    p = subprocess.run(["cgi-fcgi", "-bind", "-connect", sock], input=body.encode(), env=env,
                       capture_output=True, timeout=30)
    head, _, rest = p.stdout.decode("utf-8", "replace").partition("\r\n\r\n")
    st = re.search(r"^Status: (\d+)", head, re.M)
    return (int(st.group(1)) if st else 0), rest


def children(pid):
    p = run(["ps", "-o", "pid=", "--ppid", str(pid)])
    return [int(x) for x in p.stdout.split()]


def activate(instance, sock, workers):
    argv = shlex.split(execstart.replace("%i", instance))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    env.update(unit_env)
    env["JWTX_CONF"] = conf
    env["JWTX_WORKERS"] = str(workers)
    cmd = ["systemd-socket-activate", "-l", sock]
    for k in ("JWTX_CONF", "JWTX_WORKERS"):
        cmd += ["-E", "%s=%s" % (k, env[k])]
    cmd += ["setpriv", "--reuid", user, "--regid", group, "--init-groups", "--"] + argv
    log = open(os.path.join(sa, instance + ".log"), "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    harness.atexit.register(harness.stop, proc)
    return proc


sock = os.path.join(sa, "login.sock")
proc = activate("login", sock, 3)
deadline = time.time() + 10
while not os.path.exists(sock) and time.time() < deadline:
    time.sleep(0.05)
os.chmod(sock, 0o666)
LOGIN = {"REQUEST_METHOD": "POST", "REQUEST_URI": "/login", "SCRIPT_NAME": "/login",
         "CONTENT_TYPE": "application/json"}
st, body = fcgi(sock, LOGIN, json.dumps({"username": "alice", "password": "alice-password"}))
R.check(st == 200 and "access_token" in body, "the unit's ExecStart serves a FastCGI login on the activated socket",
        "%s %s %s" % (st, body[:200], harness.tail(os.path.join(sa, "login.log"))))
kids = children(proc.pid)
R.eq(len(kids), 3, "JWTX_WORKERS=3: three processes share the socket")
owners = set(run(["ps", "-o", "user=", "-p", str(k)]).stdout.strip() for k in kids)
R.eq(owners, {user}, "they run as User=%s" % user)
results = []


def one():
    results.append(fcgi(sock, LOGIN, json.dumps({"username": "alice", "password": "alice-password"}))[0])


threads = [threading.Thread(target=one) for _ in range(9)]
for t in threads:
    t.start()
for t in threads:
    t.join()
R.eq(results, [200] * 9, "nine concurrent logins all answered")
st, body = fcgi(sock, LOGIN, json.dumps({"username": "alice", "password": "wrong"}))
R.eq(st, 401, "a wrong password is refused through the same socket")
# A crash (a worker killed) costs only that worker: jwtx-serve starts another
# while the others go on answering.
if kids:
    os.kill(kids[0], signal.SIGKILL)
deadline = time.time() + 10
while time.time() < deadline and (len(children(proc.pid)) != 3 or kids[0] in children(proc.pid)):
    time.sleep(0.1)
now = children(proc.pid)
R.check(proc.poll() is None and len(now) == 3 and kids and kids[0] not in now,
        "a worker killed (SIGKILL) is replaced; jwtx-serve keeps running", "%r -> %r" % (kids, now))
R.check(kids and all(harness.pid_alive(k) for k in kids[1:]), "the other workers were left alone")
st, body = fcgi(sock, LOGIN, json.dumps({"username": "alice", "password": "alice-password"}))
R.eq(st, 200, "and logins are still answered")
R.check("died of signal 9; starting another" in harness.tail(os.path.join(sa, "login.log")),
        "jwtx-serve says so on standard error (the journal)")
harness.stop(proc)

# A worker that cannot start (a conf it cannot load) exits with a status:
# jwtx-serve stops the others and exits with it, for Restart=on-failure.
bad = harness.write_text(os.path.join(sa, "bad.conf"), "JWT_ALGORITHM = 'none'\n")
os.chmod(bad, 0o644)
sockb = os.path.join(sa, "bad.sock")
badlog = os.path.join(sa, "bad.log")
bp = subprocess.Popen(["systemd-socket-activate", "-l", sockb, "-E", "JWTX_CONF=" + bad, "-E", "JWTX_WORKERS=3",
                       "setpriv", "--reuid", user, "--regid", group, "--init-groups", "--"]
                      + shlex.split(execstart.replace("%i", "protected")),
                      stdout=subprocess.DEVNULL, stderr=open(badlog, "w"), start_new_session=True)
harness.atexit.register(harness.stop, bp)
deadline = time.time() + 10
while not os.path.exists(sockb) and time.time() < deadline:
    time.sleep(0.05)
try:
    socket.socket(socket.AF_UNIX).connect(sockb)  # the first connection starts it
    rc = bp.wait(timeout=20)
except (OSError, subprocess.TimeoutExpired):
    rc = None
p = subprocess.CompletedProcess([], rc, "", harness.tail(badlog))
R.check(p.returncode == 1 and "exited with status 1; stopping" in p.stderr,
        "a conf that does not load: jwtx-serve exits 1 (Restart=on-failure)", "%r %s" % (p.returncode, p.stderr[-600:]))

# systemctl stop sends SIGTERM: the workers stop and jwtx-serve dies of the
# signal (a clean stop for systemd), not with an exit status.
sock2 = os.path.join(sa, "refresh.sock")
proc = activate("refresh", sock2, 2)
deadline = time.time() + 10
while not os.path.exists(sock2) and time.time() < deadline:
    time.sleep(0.05)
st, _ = fcgi(sock2, {"REQUEST_METHOD": "POST", "REQUEST_URI": "/refresh"})
kids = children(proc.pid)
R.check(st == 401 and len(kids) == 2, "jwtx@refresh with two processes answers (401 without a token)",
        "%s %s" % (st, kids))
os.kill(proc.pid, signal.SIGTERM)
try:
    rc = proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    rc = None
R.eq(rc, -signal.SIGTERM, "SIGTERM: jwtx-serve dies of SIGTERM (systemd: a clean stop)")
time.sleep(0.2)
R.check(kids and all(not harness.pid_alive(k) for k in kids), "and its processes are gone")

# One worker on a TCP socket, the way mod_authnz_fcgi reaches it: jwks.
port = harness.free_port()
proc = activate("jwks", "127.0.0.1:%d" % port, 1)
harness.wait_port(port)
st, body = fcgi("127.0.0.1:%d" % port, {"REQUEST_METHOD": "GET", "REQUEST_URI": "/.well-known/jwks.json"})
R.check(st == 200 and json.loads(body or "{}").get("keys") == [],
        "jwtx@jwks on a TCP socket answers the JWK Set (HMAC: no public keys)", "%s %s" % (st, body))
harness.stop(proc)
# nginx from the installed recipe, in front of the six programs, each started
# by its unit's ExecStart on a unix socket with the owner and mode that
# jwtx@.socket gives it, nginx's workers running as www-data (the Debian
# layout of docs/deploy-nginx.md, "Running the programs with systemd").
sockunit = open(os.path.join(unitdir, "jwtx@.socket")).read()
sock_user = re.search(r"^SocketUser=(.*)$", sockunit, re.M).group(1)
sock_group = re.search(r"^SocketGroup=(.*)$", sockunit, re.M).group(1)
sock_mode = int(re.search(r"^SocketMode=(.*)$", sockunit, re.M).group(1), 8)
R.eq(re.search(r"^ListenStream=(.*)$", sockunit, re.M).group(1), "/run/jwtx/%i.sock",
     "jwtx@.socket listens on /run/jwtx/NAME.sock")
sockets = os.path.join(sa, "sockets")
os.mkdir(sockets)
os.chmod(sockets, 0o755)
addr = {}
for name in ("login", "refresh", "logout", "protected", "jwks", "authorizer"):
    path = os.path.join(sockets, name + ".sock")
    activate(name, path, 2 if name == "authorizer" else 1)
    deadline = time.time() + 10
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.05)
    shutil.chown(path, sock_user, sock_group)
    os.chmod(path, sock_mode)
    addr[name] = "unix:" + path
nrun = scratch("jwtx-nginx-")
shutil.chown(nrun, "www-data", "www-data")
nport = harness.free_port()
share = os.path.join(prefix, "share", "jwtx")
text = open(os.path.join(share, "nginx", "jwtx.conf.in")).read()
subst = {"@LISTEN@": "127.0.0.1:%d" % nport, "@RUN@": nrun, "@WWW@": os.path.join(share, "www"),
         "@BIN@": os.path.join(prefix, "lib", "jwtx"), "@CONF@": conf,
         "@ERRORS@": os.path.join(share, "errors"),
         "@FCGIWRAP@": "unix:" + os.path.join(sockets, "fcgiwrap.sock")}
for name, a in addr.items():
    subst["@%s@" % name.upper()] = a
for k, v in subst.items():
    text = text.replace(k, v)
R.eq(re.findall(r"@[A-Z_]+@", text), [], "nginx recipe: every placeholder filled")
for path in glob.glob(os.path.join(share, "nginx", "*.conf")):
    shutil.copy(path, nrun)
for name in ("fastcgi_params", "mime.types"):
    shutil.copy(os.path.join("/etc/nginx", name), nrun)
nconf = harness.write_text(os.path.join(nrun, "nginx.conf"), text)
nbase = ["nginx", "-p", nrun + "/", "-e", os.path.join(nrun, "error.log"), "-c", nconf,
         "-g", "user www-data www-data;"]
t = run(nbase + ["-t"])
R.check(t.returncode == 0, "nginx -t accepts the installed recipe", t.stderr)
nginx = harness.start(nbase[:-1] + ["user www-data www-data; daemon off;"])
if R.check(harness.wait_port(nport) and nginx.poll() is None, "nginx started on 127.0.0.1:%d" % nport,
           harness.tail(os.path.join(nrun, "error.log"))):
    a = harness.request(nport, "POST", "/login", body={"username": "alice", "password": "alice-password"})
    token = (a.json() or {}).get("access_token", "")
    R.check(a.status == 200 and token, "nginx -> jwtx@login: POST /login 200 with tokens", a.body[:300])
    r = harness.request(nport, "GET", "/private/")
    R.eq((r.status, r.header("Content-Type"), (r.json() or {}).get("msg")),
         (401, "application/json", "Missing Authorization Header"),
         "nginx -> jwtx@authorizer: /private/ without a token, 401 JSON")
    r = harness.request(nport, "GET", "/private/", headers=harness.bearer(token))
    R.eq(r.status, 200, "nginx -> jwtx@authorizer: /private/ with the token, 200")
    r = harness.request(nport, "GET", "/protected", headers=harness.bearer(token))
    R.eq((r.status, r.body), (200, b'{"logged_in_as":"alice"}\n'), "nginx -> jwtx@protected: 200")
    r = harness.request(nport, "GET", "/.well-known/jwks.json")
    R.eq(r.status, 200, "nginx -> jwtx@jwks: 200")
    harness.check_server_answer(R, harness.raw_request(nport, "long-url"), 414,
                                "nginx's own 414 from the installed JSON error files")
harness.stop(nginx, signal.SIGQUIT)

p = run([os.path.join(prefix, "lib", "jwtx", "jwtx-serve"), "nosuchprogram"])
R.eq(p.returncode, 2, "jwtx-serve refuses an unknown program")
p = run([os.path.join(prefix, "lib", "jwtx", "jwtx-serve"), "login"], env={"JWTX_WORKERS": "0", "PATH": "/usr/bin:/bin"})
R.eq(p.returncode, 2, "jwtx-serve refuses JWTX_WORKERS=0")

R.finish()
