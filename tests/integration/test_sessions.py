"""Integration suite: sessions (refresh-token rotation with reuse detection,
JWTX_REFRESH_ROTATION) through real lighttpd gateways.

SQLite (a store made by `jwtx blocklist init`, two FastCGI processes per
route): login starts a family (claim `fam`, right after `jti`); /refresh
rotates (a new refresh token of the same family with the original exp; both
cookies and both CSRF cookies set again); the new token works; the old one
within the grace period (JWTX_REFRESH_REUSE_GRACE) refreshes again, also four
times at once; after the grace period it answers 401 "Token has been revoked"
and every token of the family is refused (access tokens at /protected and
behind the authorizer, the newest refresh token at /refresh) while another
session of the same user goes on; a refresh token from before rotation is
rotated into a new family; logout (access or refresh token) ends the family,
?everywhere=1 every family of the user; `jwtx sessions list` shows the live
sessions and `jwtx sessions end` ends one or a user's (its tokens refused at
once); the audit log has refresh, refresh_reuse and session_end lines;
JWTX_REFRESH_SLIDING moves the expiry; with rotation off (a second gateway on
the same store) every answer is as before (no `fam`, no family look-up).
Also: a logout right after a rotation is not undone by the grace period; a
users claims file's fam is overridden; cookies only (the implicit refresh
keeps fam, refresh tokens without exp stay without); a schema-2 store under a
running rotation gateway answers 503 until `jwtx blocklist init` upgrades it.
Redis: two gateways sharing a real redis-server (password, free port):
rotate at one, reuse after the grace period at the other -> 401 and the
family refused at both; concurrent refreshes at both within the grace period
both succeed. Store failures: Redis stopped or the SQLite file removed ->
refresh, protected and login answer 503, never 200.

Waits for the grace period poll the clock until it has passed; no duration
is asserted. A "within the grace period" check is only made when the
requests finished well inside it (else the scenario is tried again).
"""
import atexit
import base64
import concurrent.futures
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import bearer, msg  # noqa: E402

import jwt  # Debian python3-jwt

R = harness.Results("sessions")
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _stopped(kind, value, tb):
    """An exception ends the suite as one more failure, with the count line."""
    import traceback
    traceback.print_exception(kind, value, tb, file=sys.stdout)
    R.check(False, "suite stopped by %s: %s" % (kind.__name__, value))
    print("%s: %d passed, %d failed" % (R.name, R.passed, R.failed))
    sys.stdout.flush()


sys.excepthook = _stopped
SECRET = "sessions-suite-secret-0123456789abcdef0123456789abcd"
GRACE = 3  # JWTX_REFRESH_REUSE_GRACE of the rotation gateways (seconds)
REVOKED = msg("Token has been revoked")
UNAVAILABLE = msg("Token revocation store unavailable")
OK_TESTUSER = b'{"logged_in_as":"testuser"}\n'
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
COOKIES4 = ["access_token_cookie", "csrf_access_token", "csrf_refresh_token",
            "refresh_token_cookie"]


# ---- helpers ------------------------------------------------------------------------


def conf_text(store, users, rotation=True, extra=""):
    text = ('JWT_SECRET_KEY = "%s"\nJWT_TOKEN_LOCATION = ["headers", "cookies"]\n'
            'JWT_COOKIE_SECURE = False\nJWTX_USERS_FILE = "%s"\nJWTX_BLOCKLIST = "%s"\n'
            'JWTX_BLOCKLIST_TIMEOUT_MS = 200\n' % (SECRET, users, store))
    if rotation:
        text += "JWTX_REFRESH_ROTATION = True\nJWTX_REFRESH_REUSE_GRACE = %d\n" % GRACE
    return text + extra


def claims(tok):
    """The verified claims of one of our tokens ({} when it is not one)."""
    try:
        return jwt.decode(tok, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    except Exception:  # noqa: BLE001 -- any failure: not a token of ours
        return {}


def claim_names(tok):
    """The claim names in the order the token's payload has them."""
    try:
        part = tok.split(".")[1]
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return [k for k, _ in json.loads(raw, object_pairs_hook=list)]
    except (IndexError, ValueError):
        return []


_missing = [0]


def fam(tok):
    """The token's fam claim; a token without one (or not ours) gets a text
    of its own that equals no other and is found in no output, so that two
    tokens without a family never count as "the same family"."""
    f = claims(tok).get("fam")
    if isinstance(f, str) and f:
        return f
    _missing[0] += 1
    return "<no fam claim #%d>" % _missing[0]


def uuid(*fams):
    return all(UUID4.match(f) is not None for f in fams)


def tokens_of(r):
    j = r.json() or {}
    return j.get("access_token", ""), j.get("refresh_token", "")


def login(srv, user="testuser", password="testpass"):
    r = harness.login(srv.port, user, password)
    return tokens_of(r)


def refresh(srv, rtok):
    return srv.request("POST", "/refresh", headers=bearer(rtok))


def sa(r):
    return (r.status, r.body)


def protected(srv, tok):
    return sa(srv.request("GET", "/protected", headers=bearer(tok)))


def private(srv, tok):
    return srv.request("GET", "/private/", headers=bearer(tok)).status


def private_ans(srv, tok):
    return sa(srv.request("GET", "/private/", headers=bearer(tok)))


def parallel(fn, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


def wait_until(t):
    """Polls the clock until it is past t (a grace period over)."""
    while time.time() < t:
        time.sleep(0.05)


def after_grace(t_done):
    """A time by which a rotation whose answer came at t_done is more than
    GRACE whole seconds old in the store's integer clock."""
    return t_done + GRACE + 1.1


def jwtx(*args):
    p = subprocess.run([harness.JWTX] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def sessions(conf, *args):
    return jwtx("sessions", "--conf", conf, *args)


AUDIT_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def audit_lines(path):
    """Every audit line of a file as a dict (quoted values unquoted)."""
    out = []
    for line in harness.tail(path, 10 ** 7).splitlines():
        d = {}
        for k, v in AUDIT_PAIR.findall(line):
            if v.startswith('"'):
                try:
                    v = json.loads(v)
                except ValueError:
                    v = v[1:-1]
            d[k] = v
        if "event" in d:
            out.append(d)
    return out


def find_audit(path, **want):
    return [d for d in audit_lines(path) if all(d.get(k) == v for k, v in want.items())]


def within_grace(label, scenario, tries=3):
    """scenario() -> (t_start, t_done, result): runs it until the requests it
    timed finished less than GRACE - 1 seconds after the first rotation
    began (so the store's integer clock cannot see the grace period over);
    returns the result, or None after `tries` slow runs (a failure)."""
    for _ in range(tries):
        t_start, t_done, result = scenario()
        if t_done - t_start < GRACE - 1:
            return result
        print("# %s: requests took %.2f s, not inside the grace period: again" %
              (label, t_done - t_start))
    R.check(False, "%s: could not run inside the grace period of %d s (machine too slow)" %
            (label, GRACE))
    return None


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def listed(out, t):
    """Whether a `sessions list` output shows time t (ISO 8601, T or space)."""
    return iso(t) in out or iso(t).replace("T", " ") in out


# ---- set-up: users, the SQLite gateways ---------------------------------------------
run = harness.tmpdir("sess-sqlite-")
USERS = os.path.join(run, "users.htpasswd")
shutil.copy(harness.USERS, USERS)
p = subprocess.run([harness.JWTX, "passwd", "--cost", "4", USERS, "alice"], input="alicepw\n",
                   capture_output=True, text=True)
if p.returncode != 0:
    raise RuntimeError("jwtx passwd: %s" % p.stderr)
DB = os.path.join(run, "blocklist.sqlite")
AUDIT = os.path.join(run, "audit.log")
STORE = "sqlite:" + DB
CONF_ROT = conf_text(STORE, USERS, extra='JWTX_AUDIT_LOG = "%s"\n' % AUDIT)
g = harness.Lighttpd(CONF_ROT, run_dir=run)  # the store: jwtx blocklist init (harness.init_store)
CONF = g.conf
os.chmod(CONF, 0o600)  # it holds the secret (else every jwtx command warns)

# The store as `jwtx blocklist init` made it: schema version 3 with the family tables.
try:
    con = sqlite3.connect(DB)
    ver = con.execute("PRAGMA user_version").fetchone()[0]
    tables = sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    con.close()
except sqlite3.Error as e:
    ver, tables = None, [str(e)]
R.eq(ver, 3, "init: jwtx blocklist init makes schema version 3")
R.check("families" in tables and "rotated" in tables, "init: tables families and rotated",
        repr(tables))

# The same store without rotation (the option decides, not the token), and
# a gateway with JWTX_REFRESH_SLIDING on a store of its own.
goff = harness.Lighttpd(conf_text(STORE, USERS, rotation=False), run_dir=harness.tmpdir("sess-off-"),
                        make_store=False)
srun = harness.tmpdir("sess-slide-")
# Its users claims file names a fam of its own: ours is set over it.
sclaims = harness.write_text(os.path.join(srun, "claims.json"),
                             json.dumps({"testuser": {"fam": "from-the-claims-file", "team": "blue"}}))
gslide = harness.Lighttpd(conf_text("sqlite:%s/blocklist.sqlite" % srun, USERS,
                                    extra="JWTX_REFRESH_SLIDING = True\n"
                                          "JWT_REFRESH_TOKEN_EXPIRES = 3600\n"
                                          'JWTX_USER_CLAIMS_FILE = "%s"\n' % sclaims), run_dir=srun)
os.chmod(gslide.conf, 0o600)
# Sessions that expire after 2 s, to see an expired one left alone.
xrun = harness.tmpdir("sess-exp-")
XAUDIT = os.path.join(xrun, "audit.log")
gexp = harness.Lighttpd(conf_text("sqlite:%s/blocklist.sqlite" % xrun, USERS,
                                  extra='JWT_REFRESH_TOKEN_EXPIRES = 2\nJWTX_AUDIT_LOG = "%s"\n'
                                  % XAUDIT), run_dir=xrun)
os.chmod(gexp.conf, 0o600)
XP = login(gexp)  # its session expires in 2 s

# ---- the conf check -------------------------------------------------------------------
bad = harness.write_text(os.path.join(run, "no-store.conf"),
                         'JWT_SECRET_KEY = "%s"\nJWTX_USERS_FILE = "%s"\n'
                         'JWTX_REFRESH_ROTATION = True\n' % (SECRET, USERS))
rc, out, err = jwtx("config", "check", bad)
R.check(rc != 0 and "JWTX_REFRESH_ROTATION" in err and "JWTX_BLOCKLIST" in err and
        "no-store.conf" in err,
        "conf: rotation without a store is refused, naming file and option", "rc=%d %r" % (rc, err))

# ---- login: a family ------------------------------------------------------------------
A0, R0 = login(g)
F1 = fam(R0)
R.check(isinstance(F1, str) and UUID4.match(F1) is not None, "login: refresh token has a UUID4 fam",
        repr(F1))
R.eq(fam(A0), F1, "login: access token carries the same fam")
names = claim_names(A0)
R.check("jti" in names and names.index("fam") == names.index("jti") + 1 if "fam" in names else False,
        "login: fam comes right after jti in the claims", repr(names))
R.eq(protected(g, A0), (200, OK_TESTUSER), "login: access token accepted")
A0b, R0b = login(g)
R.check(uuid(fam(R0b)) and fam(R0b) != F1, "login: each login starts a new family")

# ---- rotation -------------------------------------------------------------------------
t_first = time.time()
r = refresh(g, R0)
t_first_done = time.time()
A1, R1 = tokens_of(r)
R.eq((r.status, sorted((r.json() or {}).keys())), (200, ["access_token", "refresh_token"]),
     "refresh: 200 with access_token and refresh_token")
c0, c1 = claims(R0), claims(R1)
R.check(R1 != "" and R1 != R0 and c1.get("jti") not in (None, c0.get("jti")),
        "refresh: a new refresh token (another jti)")
R.eq((c1.get("type"), c1.get("fam"), c1.get("sub")), ("refresh", F1, "testuser"),
     "refresh: the new refresh token is of the same family and user")
R.check("exp" in c1 and c1.get("exp") == c0.get("exp"),
        "refresh: the new refresh token keeps the original exp",
        "%r vs %r" % (c1.get("exp"), c0.get("exp")))
ca1 = claims(A1)
R.eq((ca1.get("type"), ca1.get("fresh"), ca1.get("fam")), ("access", False, F1),
     "refresh: new access token, not fresh, same family")
R.eq(sorted(r.cookies()), COOKIES4, "refresh: both cookies and both CSRF cookies set again")
R.eq(protected(g, A1), (200, OK_TESTUSER), "refresh: the new access token works")


# Four refreshes at once with the token just rotated (two tabs, twice): all
# within the grace period, all 200, all of the same family.
def concurrent_reuse():
    a, r0 = login(g)
    t0 = time.time()
    first = refresh(g, r0)
    got = parallel(lambda _: refresh(g, r0), range(4), 4)
    return t0, time.time(), (r0, first, got)


res = within_grace("concurrent refreshes", concurrent_reuse)
if res is not None:
    r0c, first, got = res
    fc = fam(r0c)
    R.eq([x.status for x in [first] + got], [200] * 5,
         "grace: 4 concurrent refreshes with a just-rotated token all answer 200")
    R.eq([fam(tokens_of(x)[1]) for x in got], [fc] * 4,
         "grace: each gives a refresh token of the same family")
    R.eq(sorted(set(protected(g, tokens_of(x)[0])[0] for x in got)), [200],
         "grace: their access tokens work")



# The same with a token not rotated before: four refreshes start together (the
# first to get the store rotates, the others are within the grace period).
def concurrent_first():
    a, r0 = login(g)
    t0 = time.time()
    got = parallel(lambda _: refresh(g, r0), range(4), 4)
    return t0, time.time(), (r0, got)


res = within_grace("concurrent first refreshes", concurrent_first)
if res is not None:
    r0c, got = res
    R.eq([(x.status, fam(tokens_of(x)[1])) for x in got], [(200, fam(r0c))] * 4,
         "grace: 4 concurrent first refreshes of one token all 200, same family")

r = refresh(g, R1)
A2, R2 = tokens_of(r)
R.eq((r.status, fam(R2)), (200, F1), "rotation: the new refresh token works (and rotates again)")
R.check(claims(R2).get("exp") == c0.get("exp"), "rotation: the family's exp still the original")

# A cookie refresh (the browser's way): cookie + X-CSRF-TOKEN of the token.
r = g.request("POST", "/refresh", headers={"Cookie": "refresh_token_cookie=" + R0b,
                                            "X-CSRF-TOKEN": claims(R0b).get("csrf", "")})
ck = r.cookies()
R.eq((r.status, sorted(ck)), (200, COOKIES4), "cookies: a cookie refresh sets all four cookies")
R.check(ck.get("refresh_token_cookie", R0b) != R0b and
        fam(ck.get("refresh_token_cookie", "")) == fam(R0b) and
        claims(ck.get("refresh_token_cookie", "")).get("csrf") == ck.get("csrf_refresh_token"),
        "cookies: a new refresh cookie of the family, its CSRF cookie matches it")

# A refresh token from before rotation (the rotation-off gateway, no fam)
# is rotated into a new family.
OA, OR = login(goff)
r = refresh(g, OR)
t_or_done = time.time()
NA, NR = tokens_of(r)
R.check(r.status == 200 and uuid(fam(NR)) and
        fam(NA) == fam(NR), "pre-rotation refresh token: rotated into a new family",
        "%d %r" % (r.status, r.body[:80]))
R.eq(claims(NR).get("exp"), claims(OR).get("exp"), "pre-rotation refresh token: exp kept")

# The other session of the same user, rotated once too.
B0, S0 = login(g)
F2 = fam(S0)
r = refresh(g, S0)
B1, S1 = tokens_of(r)
R.eq((r.status, fam(S1)), (200, F2), "second session: rotates in its own family")

# ---- reuse after the grace period --------------------------------------------------------
wait_until(after_grace(max(t_first_done, t_or_done)))
r = refresh(g, R0)
R.eq(sa(r), (401, REVOKED), "reuse after grace: the old refresh token answers 401 revoked")
R.eq(r.cookies().get("refresh_token_cookie", None) in (None, ""), True,
     "reuse after grace: no new refresh cookie")
R.eq(sorted(set(parallel(lambda t: protected(g, t), [A0, A1, A2] * 4))), [(401, REVOKED)],
     "family ended: every access token of the family refused at /protected (every process)")
R.eq(sorted(set(parallel(lambda t: private_ans(g, t), [A0, A1, A2] * 2))), [(401, REVOKED)],
     "family ended: and behind the authorizer")
R.eq(sa(refresh(g, R2)), (401, REVOKED), "family ended: the newest refresh token refused")
R.eq(sa(refresh(g, R1)), (401, REVOKED), "family ended: the middle refresh token refused")
R.eq(sa(g.request("POST", "/logout", headers=bearer(A2))), (401, REVOKED),
     "family ended: logout with its token refused too")
R.eq((protected(g, B1), private(g, B1)), ((200, OK_TESTUSER), 200),
     "other session of the same user: access token still accepted (both routes)")
r = refresh(g, S1)
B2, S2 = tokens_of(r)
R.eq((r.status, fam(S2)), (200, F2), "other session: still refreshes")
R.eq(protected(g, NA)[0], 200, "the session rotated from a pre-rotation token is unaffected")
r = refresh(g, OR)
R.eq((sa(r), protected(g, NA), sa(refresh(g, NR))), ((401, REVOKED),) * 3,
     "pre-rotation refresh token used again after grace: 401, the family it moved into ended")
NEWA, NEWR = login(g)
R.check(uuid(fam(NEWR)) and protected(g, NEWA)[0] == 200 and refresh(g, NEWR).status == 200,
        "after a reuse: a new login of the user works (no user cut-off)")

# The option decides, not the token: the rotation-off gateway on the same store
# neither looks the family up nor minds a fam claim.
R.eq(protected(goff, A2), (200, OK_TESTUSER),
     "rotation off: an ended family's access token (jti not revoked) is not looked up")

# A fam claim we never issue: not a string, or unknown to the store.
rc, forged, err = jwtx("token", "create", "--conf", CONF, "--identity", "testuser",
                       "--claims", '{"fam": 5}')
rc2, unknown, err2 = jwtx("token", "create", "--conf", CONF, "--identity", "testuser",
                          "--claims", '{"fam": "00000000-0000-4000-8000-000000000000"}')
if R.check(rc == 0 and rc2 == 0, "jwtx token create with a fam claim", err + err2):
    R.eq(protected(g, forged.strip()), (401, REVOKED), "rotation on: a non-string fam is refused")
    R.eq(protected(g, unknown.strip()), (401, REVOKED),
         "rotation on: a fam unknown to the store is refused (fail closed)")
    R.eq(protected(goff, forged.strip())[0], 200, "rotation off: a fam claim is ignored")

# ---- an expired session is not a live one -----------------------------------------------
wait_until(claims(XP[1]).get("exp", 0) + 1.1)
XL = login(gexp)
R.eq(refresh(gexp, XP[1]).status, 401, "expired: the expired session's refresh token refused")
rc, out, err = sessions(gexp.conf, "list", "testuser")
R.check(rc == 0 and fam(XL[1]) in out and fam(XP[1]) not in out,
        "expired: sessions list shows the live session only", out + err)
rc, out, err = sessions(gexp.conf, "end", "--user", "testuser")
R.check(rc == 0 and out.startswith("ended 1 session of "),
        "expired: sessions end --user counts the live session only", "rc=%d %r" % (rc, out))
got = [(d.get("fam"), d.get("reason")) for d in find_audit(XAUDIT, event="session_end")]
R.eq(got, [(fam(XL[1]), "admin")], "expired: one session_end line, for the live session")
gexp.stop()

# ---- logout ends the family --------------------------------------------------------------
C0, T0 = login(g)
F3 = fam(T0)
C1, T1 = tokens_of(refresh(g, T0))
r = g.request("POST", "/logout", headers=bearer(C1))
R.eq(sa(r), (200, b'{"msg":"Access token revoked"}\n'), "logout: with the newest access token")
R.eq(sa(refresh(g, T1)), (401, REVOKED), "logout: the family's newest refresh token refused")
R.eq((protected(g, C0), private(g, C0)), ((401, REVOKED), 401),
     "logout: the family's other access token refused (protected, authorizer)")
D0, U0 = login(g)
F4 = fam(U0)
r = g.request("POST", "/logout", headers=bearer(U0))
R.eq(sa(r), (200, b'{"msg":"Refresh token revoked"}\n'), "logout: with a refresh token")
R.eq(protected(g, D0), (401, REVOKED), "logout with the refresh token: its access token refused")
R.eq(protected(g, B2), (200, OK_TESTUSER), "logout: the other session goes on")

# An ended family stays ended within the grace period: a just-rotated token
# presented again after a logout does not bring the session back.
GA0, GR0 = login(g)
GA1, GR1 = tokens_of(refresh(g, GR0))
R.eq(g.request("POST", "/logout", headers=bearer(GA1)).status, 200, "logout right after a rotation")
R.eq(sa(refresh(g, GR0)), (401, REVOKED),
     "logout: the token rotated just before (within the grace period) refused too")
R.eq(protected(g, GA0), (401, REVOKED), "logout: and the access token from the login")

# A browser's logout also ends the family of the refresh cookie it sends
# along, when that is another session.
XA, XR = login(g)
YA, YR = login(g)
r = g.request("POST", "/logout", headers=dict(bearer(XA), Cookie="refresh_token_cookie=" + YR))
R.eq(r.status, 200, "logout with an access token and another session's refresh cookie")
R.eq([sa(refresh(g, XR)), protected(g, YA), sa(refresh(g, YR))], [(401, REVOKED)] * 3,
     "logout: both sessions ended (the token's and the refresh cookie's)")

# ---- jwtx sessions: list and end ----------------------------------------------------------
rc, out, err = sessions(CONF, "list", "testuser")
R.check(rc == 0 and F2 in out and fam(NEWR) in out and fam(NR) not in out, "sessions list: exit 0, the live sessions listed",
        "rc=%d %s%s" % (rc, out, err))
R.check(uuid(F1, F3, F4) and F1 not in out and F3 not in out and F4 not in out,
        "sessions list: ended sessions (reuse, logout) not listed", out)
line = [ln.split("\t") for ln in out.splitlines() if F2 in ln]
want = [F2, iso(claims(S0)["iat"]) + "Z", None, iso(claims(S0)["exp"]) + "Z"]
last_ok = line and len(line[0]) == 4 and line[0][2] in (iso(claims(S2)["iat"]) + "Z",
                                                         iso(claims(S2)["iat"] - 1) + "Z")
R.check(last_ok and line[0][:2] == want[:2] and line[0][3] == want[3],
        "sessions list: family, started, last refresh, expires (ISO 8601 UTC)",
        "%r, want %r" % (line, want))
rc, out, err = sessions(CONF, "list", "testuser", "--json")
try:
    js = {o.get("family"): o for o in json.loads(out)}
except (ValueError, AttributeError, TypeError):
    js = {}
R.check(rc == 0 and js.get(F2, {}).get("user") == "testuser" and
        js.get(F2, {}).get("started") == claims(S0)["iat"] and
        js.get(F2, {}).get("expires") == claims(S0)["exp"] and
        js.get(fam(NEWR), {}).get("last_refresh") is not None,
        "sessions list --json: the same as JSON", out[:300])
r = refresh(g, S2)  # the session ended below: its newest tokens
B3, S3 = tokens_of(r)
rc, out, err = sessions(CONF, "end", F2)
R.check(rc == 0 and out.startswith("ended session " + F2), "sessions end FAMILY: exit 0, says so",
        "rc=%d %r %r" % (rc, out, err))
R.eq((protected(g, B3), private(g, B3), sa(refresh(g, S3))),
     ((401, REVOKED), 401, (401, REVOKED)), "sessions end: its tokens refused at once")
rc, out, err = sessions(CONF, "list", "testuser")
R.check(rc == 0 and F2 not in out, "sessions list: the ended session is gone", out)
rc, out, err = sessions(CONF, "end", F2)
R.check(rc == 0 and "nothing to end" in out and not out.startswith("ended"),
        "sessions end of an ended family: exit 0, says nothing was ended",
        "rc=%d %r %r" % (rc, out, err))

# alice: two sessions ended by `end --user`, testuser unaffected
E1 = login(g, "alice", "alicepw")
E2 = login(g, "alice", "alicepw")
K1 = login(g)
rc, out, err = sessions(CONF, "list", "alice")
R.check(rc == 0 and fam(E1[1]) in out and fam(E2[1]) in out and fam(K1[1]) not in out,
        "sessions list USER: only that user's sessions", out)
line = [ln.split("\t") for ln in out.splitlines() if fam(E1[1]) in ln]
R.check(line and len(line[0]) == 4 and line[0][2] == "-",
        "sessions list: a session never refreshed shows - as its last refresh", repr(line))
rc, out, err = jwtx("blocklist", "--conf", CONF, "purge")
R.eq(rc, 0, "jwtx blocklist purge")
R.eq([protected(g, K1[0])[0], refresh(g, K1[1]).status], [200, 200],
     "purge keeps live sessions")
rc, out, err = sessions(CONF, "end", "--user", "alice")
R.check(rc == 0 and out.startswith("ended 2 sessions of "), "sessions end --user: exit 0, two sessions",
        "rc=%d %r %r" % (rc, out, err))
R.eq([protected(g, E1[0])[0], protected(g, E2[0])[0], refresh(g, E2[1]).status], [401] * 3,
     "sessions end --user: every token of the user refused")
R.eq(protected(g, K1[0]), (200, OK_TESTUSER), "sessions end --user: another user unaffected")

# logout everywhere (alice again, a second later: the cut-off above is per second)
wait_until(int(time.time()) + 1.05)
E3 = login(g, "alice", "alicepw")
E4 = login(g, "alice", "alicepw")
R.eq(protected(g, E3[0])[0], 200, "alice: a new login after the cut-off works")
r = g.request("POST", "/logout?everywhere=1", headers=bearer(E3[0]))
R.eq(sa(r), (200, b'{"msg":"All tokens revoked"}\n'), "logout everywhere: 200")
R.eq([protected(g, E4[0])[0], refresh(g, E4[1]).status], [401, 401],
     "logout everywhere: the other session's tokens refused")
rc, out, err = sessions(CONF, "list", "alice")
R.check(rc == 0 and uuid(fam(E3[1]), fam(E4[1])) and fam(E3[1]) not in out and fam(E4[1]) not in out,
        "logout everywhere: no session of the user left", out)

# ---- sliding expiry ---------------------------------------------------------------------
SA0, SR0 = login(gslide)
R.check(uuid(fam(SA0)) and fam(SR0) == fam(SA0) and claims(SA0).get("team") == "blue",
        "users claims file with a fam: ours is set over it, its other claims kept", repr(claims(SA0)))
wait_until(claims(SR0).get("iat", 0) + 1.05)
r = refresh(gslide, SR0)
SA1, SR1 = tokens_of(r)
s0, s1 = claims(SR0), claims(SR1)
R.check(r.status == 200 and uuid(fam(SR0)) and fam(SR1) == fam(SR0) and s1.get("exp", 0) > s0.get("exp", 0)
        and s1.get("exp") == s1.get("iat", 0) + 3600,
        "sliding: the new refresh token expires JWT_REFRESH_TOKEN_EXPIRES after the refresh",
        "%r -> %r" % (s0, s1))
rc, out, err = sessions(gslide.conf, "list", "testuser")
line = [ln for ln in out.splitlines() if fam(SR0) in ln]
R.check(line and listed(line[0], s1.get("exp", 0)), "sliding: the family's expiry moved too",
        repr(line))

# ---- rotation off: as before ----------------------------------------------------------------
r = refresh(goff, OR)
OA1 = (r.json() or {}).get("access_token", "")
R.eq((r.status, sorted((r.json() or {}).keys())), (200, ["access_token"]),
     "rotation off: refresh answers only access_token")
R.eq(sorted(r.cookies()), ["access_token_cookie", "csrf_access_token"],
     "rotation off: refresh sets the access cookies only")
R.check(all(claims(t) and "fam" not in claims(t) for t in (OA, OR, OA1)),
        "rotation off: no fam claim in any token")
R.eq(claim_names(OA), [n for n in claim_names(A0) if n != "fam"],
     "rotation off: the same claims in the same order, without fam")
R.eq(refresh(goff, OR).status, 200, "rotation off: a refresh token can be used again")

# ---- cookies only, and the implicit refresh of the access cookie ----------------------------
# JWT_TOKEN_LOCATION = ["cookies"]; every cookie request re-issues the access
# cookie (JWTX_IMPLICIT_REFRESH over JWT_ACCESS_TOKEN_EXPIRES: a warning only).
krun = harness.tmpdir("sess-cookies-")
gck = harness.Lighttpd(conf_text("sqlite:%s/blocklist.sqlite" % krun, USERS,
                                 extra="JWT_ACCESS_TOKEN_EXPIRES = 600\nJWTX_IMPLICIT_REFRESH = 900\n"
                                       "JWT_REFRESH_TOKEN_EXPIRES = False\n")
                       .replace('["headers", "cookies"]', '["cookies"]'), run_dir=krun)
ck = harness.login(gck.port).cookies()
KA, KR = ck.get("access_token_cookie", ""), ck.get("refresh_token_cookie", "")
KF = fam(KR)
R.check(uuid(KF) and fam(KA) == KF, "cookies only: the login cookies carry the family")
r = gck.request("GET", "/protected", headers={"Cookie": "access_token_cookie=" + KA})
KA2 = r.cookies().get("access_token_cookie", "")
R.check(r.status == 200 and KA2 not in ("", KA) and fam(KA2) == KF,
        "implicit refresh: the re-issued access cookie keeps the family",
        "%d %r" % (r.status, claims(KA2)))
r = gck.request("POST", "/refresh", headers={"Cookie": "refresh_token_cookie=" + KR,
                                              "X-CSRF-TOKEN": claims(KR).get("csrf", "")})
ck = r.cookies()
R.eq((sa(r), sorted(ck)), ((200, b'{"msg":"refresh successful"}\n'), COOKIES4),
     "cookies only: refresh answers as before and sets all four cookies")
KR2, KA3 = ck.get("refresh_token_cookie", ""), ck.get("access_token_cookie", "")
R.check(fam(KR2) == KF and fam(KA3) == KF and KR2 != KR, "cookies only: a rotated refresh cookie")
R.check(claims(KR) and "exp" not in claims(KR) and claims(KR2) and "exp" not in claims(KR2),
        "refresh tokens without exp (JWT_REFRESH_TOKEN_EXPIRES = False): the rotated one has none")
rc, out, err = sessions(gck.conf, "list", "testuser")
line = [ln.split("\t") for ln in out.splitlines() if KF in ln]
R.check(line and line[0][-1] == "never", "sessions list: a session without expiry: never", repr(line))
r = gck.request("POST", "/logout", headers={"Cookie": "access_token_cookie=" + KA3,
                                             "X-CSRF-TOKEN": claims(KA3).get("csrf", "")})
R.eq(r.status, 200, "cookies only: logout")
r = gck.request("GET", "/protected", headers={"Cookie": "access_token_cookie=" + KA2})
R.eq((sa(r), r.cookies().get("access_token_cookie")), ((401, REVOKED), None),
     "cookies only: the ended family's other access cookie refused, nothing re-issued")
r = gck.request("POST", "/refresh", headers={"Cookie": "refresh_token_cookie=" + KR2,
                                              "X-CSRF-TOKEN": claims(KR2).get("csrf", "")})
R.eq(sa(r), (401, REVOKED), "cookies only: its refresh cookie refused")
gck.stop()

# ---- a store of schema version 2 under a running gateway ---------------------------------
# Family operations fail closed (503) and the log says to run `jwtx blocklist
# init`; the upgrade made while the gateway runs is used at once.
vrun = harness.tmpdir("sess-v2-")
vdb = os.path.join(vrun, "blocklist.sqlite")
gv2 = harness.Lighttpd(conf_text("sqlite:" + vdb, USERS, extra="JWTX_BLOCKLIST_RETRY_MS = 0\n"),
                       run_dir=vrun)
con = sqlite3.connect(vdb)  # back to version 2: the tables before sessions
con.executescript("DROP TABLE families; DROP TABLE rotated; PRAGMA user_version = 2;")
con.close()
got = [harness.login(gv2.port) for _ in range(4)]
R.eq(sorted(set((x.status, "access_token" in (x.json() or {})) for x in got)), [(503, False)],
     "schema 2: login with rotation answers 503, no tokens")
old = [ln for ln in harness.tail(gv2.stderr_log, 10 ** 6).splitlines() if "jwtx blocklist init" in ln]
R.check(1 <= len(old) <= 2, "schema 2: the log says to run jwtx blocklist init, once per process",
        "\n".join(old) or harness.tail(gv2.stderr_log))
rc, out, err = jwtx("blocklist", "--conf", gv2.conf, "init")
R.eq(rc, 0, "schema 2: jwtx blocklist init upgrades it")
VA, VR = login(gv2)
r = refresh(gv2, VR)
R.check(uuid(fam(VR)) and r.status == 200 and fam(tokens_of(r)[1]) == fam(VR),
        "schema 2 upgraded: the running gateway logs in and rotates at once (no restart)")
gv2.stop()

# ---- the audit log ---------------------------------------------------------------------------
ev = audit_lines(AUDIT)
print("# audit events: %s" % sorted(set(d["event"] for d in ev)))
R.check(find_audit(AUDIT, event="login_success", fam=F1), "audit: login_success with fam=")
R.check(find_audit(AUDIT, event="refresh", fam=F1, user="testuser"), "audit: refresh with fam=")
reuse = find_audit(AUDIT, event="refresh_reuse", fam=F1)
R.check(len(reuse) == 1 and reuse[0].get("user") == "testuser" and
        reuse[0].get("jti") == c0.get("jti") and reuse[0].get("addr") == "127.0.0.1",
        "audit: one refresh_reuse line with user, the replayed jti, fam and addr", repr(reuse))
for f, reason in ((F1, "reuse"), (F3, "logout"), (F4, "logout"), (F2, "admin"),
                  (fam(NR), "reuse"), (fam(GR0), "logout"), (fam(XR), "logout"),
                  (fam(YR), "logout")):
    got = find_audit(AUDIT, event="session_end", fam=f)
    R.check(len(got) == 1 and got[0].get("reason") == reason and got[0].get("user") == "testuser",
            "audit: session_end reason=%s" % reason, repr(got))
got = sorted((d.get("fam"), d.get("reason")) for d in find_audit(AUDIT, event="session_end",
                                                                  user="alice"))
R.eq(got, sorted([(fam(E1[1]), "admin"), (fam(E2[1]), "admin"),
                  (fam(E3[1]), "logout_everywhere"), (fam(E4[1]), "logout_everywhere")]),
     "audit: one session_end line per family of alice's (end --user, logout everywhere)")
R.check("testpass" not in harness.tail(AUDIT, 10 ** 7) and R0 not in harness.tail(AUDIT, 10 ** 7),
        "audit: never a password or a token")

# ---- SQLite removed: fail closed ---------------------------------------------------------------
L0, L1 = login(g)
for f in (DB, DB + "-wal", DB + "-shm"):
    if os.path.exists(f):
        os.unlink(f)
R.eq((sa(refresh(g, L1)), protected(g, L0)), ((503, UNAVAILABLE), (503, UNAVAILABLE)),
     "sqlite removed: refresh and protected answer 503")
r = harness.login(g.port)
R.eq((r.status, "access_token" in (r.json() or {})), (503, False),
     "sqlite removed: login answers 503 without tokens (the family cannot be recorded)")
rc, out, err = sessions(CONF, "list", "testuser")
R.eq(rc, 3, "sqlite removed: jwtx sessions list exits 3")
R.check(err.strip() != "", "sqlite removed: and says why", err)
g.stop()
goff.stop()
gslide.stop()

# ---- Redis: two gateways, one store --------------------------------------------------------------
RPASS = "sess:s3cret@pw"
redis = harness.Redis(harness.tmpdir("sess-redis-"), RPASS)
rport = redis.port
rcli = redis.cli
atexit.register(redis.stop)
redis.start()
RSTORE = "redis://:sess%%3As3cret%%40pw@127.0.0.1:%d/4" % rport
g1 = harness.Lighttpd(conf_text(RSTORE, USERS), run_dir=harness.tmpdir("sess-g1-"))
g2 = harness.Lighttpd(conf_text(RSTORE, USERS), run_dir=harness.tmpdir("sess-g2-"))
for c in (g1.conf, g2.conf):
    os.chmod(c, 0o600)  # the store's password and the secret

RA0, RR0 = login(g1)
RF = fam(RR0)
R.eq(protected(g2, RA0), (200, OK_TESTUSER), "redis: a session from gateway 1 accepted at gateway 2")
R.eq(rcli("-n", "4", "EXISTS", "jwtx:fam:%s" % RF), "1", "redis: the family is stored (jwtx:fam:<id>)")
ttl = rcli("-n", "4", "TTL", "jwtx:fam:%s" % RF)
left = claims(RR0).get("exp", 0) - int(time.time())
R.check(ttl.isdigit() and left - 2 <= int(ttl) <= left + 5,
        "redis: the family key lives as long as the session", "ttl=%s left=%d" % (ttl, left))
t_r0 = time.time()
r = refresh(g1, RR0)
t_r0_done = time.time()
RA1, RR1 = tokens_of(r)
R.eq((r.status, fam(RR1), claims(RR1).get("exp")), (200, RF, claims(RR0).get("exp")),
     "redis: gateway 1 rotates (same family, same exp)")
R.eq(refresh(g2, RR1).status, 200, "redis: the new refresh token works at gateway 2")


def both_gateways():
    a, r0 = login(g1)
    t0 = time.time()
    first = refresh(g2, r0)
    _, r1 = tokens_of(first)
    got = parallel(lambda srv: refresh(srv, r1), [g1, g2, g1, g2], 4)
    return t0, time.time(), (r0, first, got)


res = within_grace("redis concurrent", both_gateways)
if res is not None:
    r0c, first, got = res
    R.eq([x.status for x in [first] + got], [200] * 5,
         "redis: concurrent refreshes with one token at both gateways all succeed (grace)")
    R.eq(sorted(set(fam(tokens_of(x)[1]) for x in got)), [fam(r0c)],
         "redis: all of the same family")

RB0, RS0 = login(g2)  # another session of the same user
RX0, RXR0 = login(g2)  # a family whose old token comes back at both gateways at once
RX1, RXR1 = tokens_of(refresh(g2, RXR0))
t_rx_done = time.time()
wait_until(after_grace(max(t_r0_done, t_rx_done)))
got = parallel(lambda srv: sa(refresh(srv, RXR0)), [g1, g2, g1, g2], 4)
R.eq(got, [(401, REVOKED)] * 4, "redis: four replays at once after grace at both gateways: all 401")
R.eq([sa(refresh(g1, RXR1)), protected(g2, RX1)], [(401, REVOKED)] * 2,
     "redis: that family ended (its newest tokens refused)")
R.eq(sa(refresh(g2, RR0)), (401, REVOKED), "redis: the old token reused at gateway 2 after grace: 401")
R.eq([protected(g1, RA1), protected(g2, RA1), protected(g1, RA0)], [(401, REVOKED)] * 3,
     "redis: the family's access tokens refused at both gateways")
R.eq([private(g1, RA1), private(g2, RA1)], [401, 401], "redis: and behind both authorizers")
R.eq(sa(refresh(g1, RR1)), (401, REVOKED), "redis: the family's refresh tokens refused")
R.eq([protected(g1, RB0)[0], protected(g2, RB0)[0], refresh(g1, RS0).status], [200, 200, 200],
     "redis: the other session goes on at both gateways")
rc, out, err = sessions(g1.conf, "list", "testuser")
R.check(rc == 0 and fam(RS0) in out and RF not in out, "redis: sessions list: live yes, ended no",
        "rc=%d %s%s" % (rc, out, err))
rc, out, err = sessions(g1.conf, "end", fam(RS0))
R.check(rc == 0 and out.startswith("ended session " + fam(RS0)), "redis: jwtx sessions end", out + err)
R.eq([protected(g1, RB0), protected(g2, RB0), private_ans(g2, RB0)], [(401, REVOKED)] * 3,
     "redis: the session ended by jwtx sessions end is refused at both gateways at once")
RC0, RC1 = login(g1)
r = g2.request("POST", "/logout", headers=bearer(RC0))
R.eq((r.status, protected(g1, RC0)[0], refresh(g1, RC1).status), (200, 401, 401),
     "redis: logout at gateway 2 ends the family at gateway 1")
logs = harness.tail(g1.stderr_log, 10 ** 7) + harness.tail(g2.stderr_log, 10 ** 7)
R.check("s3cret" not in logs, "redis: the password never in the logs")

# ---- Redis stopped: fail closed ----------------------------------------------------------------
RD0, RD1 = login(g1)
redis.stop()
got = [sa(refresh(g1, RD1)), sa(refresh(g2, RD1)), protected(g1, RD0), protected(g2, RD0)]
R.eq(got, [(503, UNAVAILABLE)] * 4, "redis stopped: refresh and protected answer 503 at both")
r = harness.login(g2.port)
R.eq((r.status, "access_token" in (r.json() or {})), (503, False),
     "redis stopped: login answers 503 without tokens")
R.eq(private(g1, RD0), 503, "redis stopped: the authorizer answers 503")
rc, out, err = sessions(g1.conf, "list", "testuser")
R.eq(rc, 3, "redis stopped: jwtx sessions list exits 3")
g1.stop()
g2.stop()
R.finish()
