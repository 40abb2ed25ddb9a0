"""Suite 86-deb: the Debian packages, built, checked, installed, used, purged.

* `make deb` builds jwtx and libjwtx-dev with debhelper; `lintian` on the
  .changes reports no error and no warning.
* `dpkg -i` installs them into this system: /etc/jwtx/jwtx.conf is a
  conffile, root:www-data 0640; a random secret (not a demo secret, and a new
  one on every fresh install) is in /etc/jwtx/secret.key, root:www-data
  0640; /var/lib/jwtx is owned by www-data; `jwtx config check` accepts the
  conf; jwtx --version, the man pages, jwtx.pc and the installed systemd
  units work.
* lighttpd, started with the installed recipe
  /usr/share/doc/jwtx/examples/lighttpd/jwtx.conf and the installed demo site,
  with only its ports and paths filled in and running as www-data, serves a
  login, the authorizer in front of /private/, and a logout that revokes the
  token in the SQLite store under /var/lib/jwtx.
* `dpkg --purge` leaves nothing behind: no file of the packages, no
  /etc/jwtx, no /var/lib/jwtx, no process.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer  # noqa: E402

R = harness.Results("deb")
ROOT = harness.ROOT
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
OUT = os.path.join(ROOT, "build", "deb")
PACKAGES = ["jwtx", "libjwtx-dev"]


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return p.returncode == 0 and "installed" in p.stdout.split()[-1:]


def dpkg(*args):
    """dpkg, waiting while another dpkg or apt holds the lock."""
    for _ in range(60):
        p = run(["dpkg"] + list(args), env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if p.returncode == 0 or "lock" not in p.stderr:
            return p
        time.sleep(2)
    return p


def owner(path):
    st = os.stat(path)
    return "%s:%s %o" % (run(["stat", "-c", "%U", path]).stdout.strip(),
                         run(["stat", "-c", "%G", path]).stdout.strip(), st.st_mode & 0o7777)


if os.getuid() != 0:
    R.check(False, "the Debian package suite installs packages: run it as root")
    R.finish()
if any(installed(p) for p in PACKAGES) or os.path.exists("/etc/jwtx") or os.path.exists("/var/lib/jwtx"):
    R.check(False, "this system has a jwtx package, /etc/jwtx or /var/lib/jwtx already: not touching it")
    R.finish()

# ---- build and lintian ------------------------------------------------------------

p = run(["make", "--no-print-directory", "-C", ROOT, "deb"])
debs = {pkg: os.path.join(OUT, "%s_%s_%s.deb" % (pkg, VERSION, run(["dpkg", "--print-architecture"]).stdout.strip()))
        for pkg in PACKAGES}
if not R.check(p.returncode == 0 and all(os.path.exists(d) for d in debs.values()),
               "make deb builds jwtx and libjwtx-dev", p.stdout[-1500:] + p.stderr[-3000:]):
    R.finish()
changes = [f for f in os.listdir(OUT) if f.endswith(".changes")]
p = run(["lintian", "--fail-on", "error,warning", os.path.join(OUT, changes[0])])
tags = [line for line in p.stdout.splitlines() if re.match(r"^[EW]: ", line)]
R.check(p.returncode == 0 and not tags, "lintian: no error and no warning", "\n".join(tags) + p.stderr[-500:])
R.check(not [line for line in p.stdout.splitlines() if line.startswith("E: ")], "lintian: no error")

# ---- install ----------------------------------------------------------------------------


def install():
    # Minimal images (docker "slim") exclude /usr/share/doc and /usr/share/man
    # in /etc/dpkg/dpkg.cfg.d; the recipes and the man pages are checked
    # below, so they are included back for this installation (a no-op
    # elsewhere).
    return dpkg("--path-include=/usr/share/doc/jwtx/*", "--path-include=/usr/share/man/man[158]/jwtx*",
                "-i", debs["jwtx"], debs["libjwtx-dev"])


def purge():
    return dpkg("--purge", "jwtx", "libjwtx-dev")


p = install()
if not R.check(p.returncode == 0, "dpkg -i jwtx libjwtx-dev", p.stdout[-1500:] + p.stderr[-1500:]):
    purge()
    R.finish()
files = [l for l in run(["dpkg", "-L", "jwtx", "libjwtx-dev"]).stdout.splitlines() if l.startswith("/")]
conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "jwtx"]).stdout
R.check("/etc/jwtx/jwtx.conf " in conffiles, "/etc/jwtx/jwtx.conf is a conffile", conffiles)
R.eq(owner("/etc/jwtx/jwtx.conf"), "root:www-data 640", "/etc/jwtx/jwtx.conf: root:www-data 0640")
p = run(["runuser", "-u", "www-data", "--", "cat", "/etc/jwtx/jwtx.conf"])
R.check(p.returncode == 0, "www-data can read the conf")
p = run(["runuser", "-u", "nobody", "--", "cat", "/etc/jwtx/jwtx.conf"])
R.check(p.returncode != 0, "nobody else can")
R.eq(owner("/etc/jwtx/secret.key"), "root:www-data 640", "/etc/jwtx/secret.key: root:www-data 0640")
secret = open("/etc/jwtx/secret.key").read().strip()
R.check(re.fullmatch(r"[A-Za-z0-9_-]{86}", secret) is not None, "the secret is 64 random bytes in base64url")
demo = ""
for dirpath, _, names in os.walk(os.path.join(ROOT, "conf")):
    for n in names:
        try:
            demo += open(os.path.join(dirpath, n), errors="replace").read()
        except OSError:
            pass
R.check(secret not in demo, "the secret is no demo secret of conf/")
R.eq(owner("/etc/jwtx/users.htpasswd"), "root:www-data 640", "/etc/jwtx/users.htpasswd: root:www-data 0640")
R.eq(owner("/var/lib/jwtx"), "www-data:www-data 750", "/var/lib/jwtx: www-data 0750")
p = run(["jwtx", "config", "check", "/etc/jwtx/jwtx.conf"])
R.check(p.returncode == 0 and "jwtx: /etc/jwtx/jwtx.conf: OK" in p.stderr and "warning" not in p.stderr,
        "jwtx config check /etc/jwtx/jwtx.conf: OK, no warning", p.stderr)
R.eq(run(["jwtx", "--version"]).stdout, "jwtx %s\n" % VERSION, "/usr/bin/jwtx --version")
for sect, page in (("1", "jwtx"), ("5", "jwtx.conf"), ("8", "jwtx-fcgi")):
    p = run(["man", "-w", sect, page])
    R.check(p.returncode == 0 and p.stdout.startswith("/usr/share/man/"), "man %s %s is installed" % (sect, page),
            p.stdout + p.stderr)
p = run(["pkg-config", "--modversion", "jwtx"])
R.eq(p.stdout.strip(), VERSION, "pkg-config finds the installed jwtx.pc")
units = harness.tmpdir("deb-units-")
for inst in ("jwtx@authorizer.socket", "jwtx@authorizer.service"):
    os.symlink(re.sub(r"@[a-z]+\.", "@.", "/lib/systemd/system/" + inst), os.path.join(units, inst))
p = run(["systemd-analyze", "verify", "--man=no"] + [os.path.join(units, n) for n in os.listdir(units)],
        env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
R.check(p.returncode == 0 and (p.stdout + p.stderr).strip() == "",
        "systemd-analyze verify of the installed units", p.stdout + p.stderr)

# ---- a login through the installed lighttpd recipe -----------------------------------------

p = run(["jwtx", "passwd", "--cost", "4", "/etc/jwtx/users.htpasswd", "alice"], input="alice-secret\n")
R.check(p.returncode == 0, "jwtx passwd /etc/jwtx/users.htpasswd alice", p.stderr)
R.eq(owner("/etc/jwtx/users.htpasswd"), "root:www-data 640", "the users file keeps its owner and mode")

EX = "/usr/share/doc/jwtx/examples"
run_dir = harness.tmpdir("deb-lighttpd-")
os.chmod(run_dir, 0o755)
sockets = os.path.join(run_dir, "sockets")
os.mkdir(sockets)
shutil.chown(sockets, "www-data", "www-data")
port = harness.free_port()
lconf = harness.write_text(os.path.join(run_dir, "lighttpd.conf"), """
server.modules        = ( "mod_access", "mod_alias" )
server.bind           = "127.0.0.1"
server.port           = %(port)d
server.username       = "www-data"
server.groupname      = "www-data"
server.document-root  = "%(ex)s/www"
server.errorlog       = "%(run)s/error.log"
index-file.names      = ( "index.html" )
mimetype.assign       = ( ".html" => "text/html; charset=utf-8" )

var.jwtx_bin   = "/usr/lib/jwtx"
var.jwtx_conf  = "/etc/jwtx/jwtx.conf"
var.jwtx_run   = "%(sockets)s"
var.jwtx_errors = "/usr/share/jwtx/errors"
var.jwtx_procs = 1
include "%(ex)s/lighttpd/jwtx.conf"
""" % {"port": port, "ex": EX, "run": run_dir, "sockets": sockets})
shutil.chown(run_dir, "www-data", "www-data")
t = run(["lighttpd", "-tt", "-f", lconf])
R.check(t.returncode == 0, "lighttpd -tt accepts the installed recipe", t.stderr)
proc = harness.start(["lighttpd", "-D", "-f", lconf])
if not R.check(harness.wait_port(port) and proc.poll() is None, "lighttpd started on 127.0.0.1:%d" % port,
               harness.tail(os.path.join(run_dir, "error.log"))):
    purge()
    R.finish()
a = harness.request(port, "POST", "/login", body={"username": "alice", "password": "alice-secret"})
tokens = a.json() or {}
R.eq((a.status, sorted(tokens)), (200, ["access_token", "refresh_token"]),
     "POST /login through the installed recipe: 200 and the tokens")
r = harness.request(port, "POST", "/login", body={"username": "alice", "password": "wrong"})
R.eq(r.status, 401, "a wrong password: 401")
harness.check_server_answer(R, harness.raw_request(port, "post-no-length", "/refresh"), 411,
                            "lighttpd's own 411 from the installed JSON error files")
access = tokens.get("access_token", "")
p = run(["jwtx", "token", "verify", "--conf", "/etc/jwtx/jwtx.conf", access])
R.check(p.returncode == 0 and json.loads(p.stdout or "{}").get("sub") == "alice",
        "the token verifies with the installed secret", p.stdout + p.stderr)
r = harness.request(port, "GET", "/private/")
R.eq((r.status, r.header("Content-Type")), (401, "application/json"), "/private/ without a token: 401 JSON")
r = harness.request(port, "GET", "/private/", headers=bearer(access))
R.eq(r.status, 200, "/private/ with the token: 200 (the authorizer)")
r = harness.request(port, "POST", "/logout", headers=dict(bearer(access), **{"Content-Length": "0"}), body="")
R.eq((r.status, (r.json() or {}).get("msg")), (200, "Access token revoked"), "POST /logout revokes the token")
r = harness.request(port, "GET", "/private/", headers=bearer(access))
R.eq((r.status, (r.json() or {}).get("msg")), (401, "Token has been revoked"), "the revoked token is refused")
store = "/var/lib/jwtx/blocklist.sqlite"
R.check(os.path.exists(store) and owner(store).startswith("www-data:"), "the SQLite store in /var/lib/jwtx belongs to www-data",
        os.listdir("/var/lib/jwtx"))
p = run(["runuser", "-u", "www-data", "--", "jwtx", "blocklist", "--conf", "/etc/jwtx/jwtx.conf", "count"])
R.eq((p.returncode, p.stdout.strip()), (0, "1"), "jwtx blocklist count (as www-data) sees the revocation")
harness.stop(proc)

# ---- purge ---------------------------------------------------------------------------------

p = purge()
R.check(p.returncode == 0 and not any(installed(x) for x in PACKAGES), "dpkg --purge jwtx libjwtx-dev",
        p.stdout[-800:] + p.stderr[-800:])
left = [f for f in files if os.path.lexists(f) and not os.path.isdir(f)]
left += [d for d in ("/etc/jwtx", "/var/lib/jwtx", "/usr/lib/jwtx", "/usr/include/jwtx", "/usr/share/jwtx",
                     "/usr/share/doc/jwtx", "/usr/share/doc/libjwtx-dev") if os.path.lexists(d)]
R.check(not left, "nothing of the packages remains (%d files checked)" % len(files), left)
procs = run(["pgrep", "-f", "/usr/lib/jwtx/"]).stdout.split()
R.check(not procs, "no jwtx program runs any more", procs)

# A second fresh install makes a new secret.
p = install()
again = open("/etc/jwtx/secret.key").read().strip() if os.path.exists("/etc/jwtx/secret.key") else ""
R.check(p.returncode == 0 and again and again != secret, "a fresh install makes a new secret")
p = purge()
R.check(p.returncode == 0 and not os.path.lexists("/etc/jwtx") and not os.path.lexists("/var/lib/jwtx"),
        "and its purge leaves no /etc/jwtx or /var/lib/jwtx")

R.finish()
