"""Browser suite: the demo login page (conf/demo-www/login.html) in a real
headless Chromium, driven through chromedriver's W3C WebDriver API, against
the gateway programs behind lighttpd.

With JavaScript: a wrong password shows the gateway's message; testuser signs
in and the page shows who is logged in; a reload keeps the session; the
protected call with the X-CSRF-TOKEN header answers 200 while the same POST
without the header is refused; refresh issues a new access cookie pair;
logout clears the cookies, revokes the tokens, and the page shows the sign-in
form again. Without JavaScript: the plain form post lands on /private/, let
through by the authorizer on the access cookie. With refresh-token rotation
(a second gateway, JWTX_REFRESH_ROTATION): the page's refresh replaces all
four cookies each time, across a reload; an old refresh cookie set back into
the browser after the grace period ends the session, and the page goes back
to the sign-in form ("Session ended: Token has been revoked. ...").

A screenshot of the signed-in page is kept at tests/artifacts/browser-logged-in.png.
When Chromium or chromedriver cannot run, the suite says "cannot run: <why>"
and counts that as a failure.
"""
import base64
import json
import os
import signal
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import webdriver  # noqa: E402
from webdriver import CannotRun  # noqa: E402

R = harness.Results("browser")
# A SIGTERM (e.g. from `timeout`) still runs the atexit clean-up.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
SECRET = "browser-test-secret-0123456789abcdef0123456789abcdef"
USERS = os.path.join(harness.ROOT, "conf", "users.htpasswd")
ARTIFACTS = os.path.join(harness.ROOT, "tests", "artifacts")
SHOT = os.path.join(ARTIFACTS, "browser-logged-in.png")
NO_TOKEN = ('{"msg":"Missing JWT in headers or cookies (Missing Authorization Header; '
            'Missing cookie \\"access_token_cookie\\")"}\n')


def cannot_run(why):
    R.check(False, "cannot run: %s" % " | ".join(str(why).split("\n")))
    R.finish()


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


# ---- set-up: lighttpd, chromedriver, one session -----------------------------------
for prog in ("login", "refresh", "logout", "protected", "authorizer"):
    if not os.access(os.path.join(harness.ROOT, "cgi-bin", prog + ".fcgi"), os.X_OK):
        cannot_run("cgi-bin/%s.fcgi is not built (run: make)" % prog)
# Other paths only to try the "cannot run" answers by hand.
CHROMIUM = os.environ.get("JWTX_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("JWTX_CHROMEDRIVER", "/usr/bin/chromedriver")
try:
    chromium_v, driver_v = webdriver.find_browser(CHROMIUM, CHROMEDRIVER)
except CannotRun as e:
    cannot_run(str(e))
print("# %s; %s" % (chromium_v, driver_v))

run = harness.tmpdir("browser-")
CONF = """
JWT_SECRET_KEY = "%s"
JWT_TOKEN_LOCATION = ["headers", "cookies"]
JWT_COOKIE_SECURE = False
JWTX_USERS_FILE = "%s"
JWTX_BLOCKLIST = "sqlite:%s/blocklist.sqlite"
""" % (SECRET, USERS, run)
try:
    srv = harness.Lighttpd(CONF, run_dir=run)
    page = [srv.request("GET", p) for p in ("/login.html", "/login.js", "/style.css")]
    served = [(a.status, (a.header("Content-Type") or "").split(";")[0]) for a in page]
    R.eq(served, [(200, "text/html"), (200, "text/javascript"), (200, "text/css")],
         "demo.conf.in serves /login.html, /login.js and /style.css as static files")
except (RuntimeError, OSError) as e:
    cannot_run("lighttpd: %s" % e)
BASE = "http://127.0.0.1:%d" % srv.port

try:
    driver = webdriver.ChromeDriver(harness.free_port(), os.path.join(run, "chromedriver.log"),
                                    CHROMEDRIVER)
    s = driver.new_session(os.path.join(run, "profile-js"), CHROMIUM)
except CannotRun as e:
    cannot_run(str(e))


def step(name, fn):
    """Runs one step; a WebDriver error fails that step instead of the suite."""
    try:
        fn()
    except CannotRun:
        raise
    except Exception as e:  # noqa: BLE001 -- any error fails this step, the suite goes on
        R.check(False, "%s: step stopped by %s" % (name, type(e).__name__), str(e))
        traceback.print_exc(file=sys.stdout)


def wait_text(css, want, timeout=10.0):
    got = s.wait(lambda: (s.text(css) == want) and want, timeout)
    return want if got else s.text(css)


def signed_in_view():
    return s.shown("#session") and not s.shown("#signin")


def signin_view():
    return s.shown("#signin") and not s.shown("#session")


# ---- the page as served ----------------------------------------------------------
def t_open():
    s.get(BASE + "/login.html")
    R.eq(s.title(), "jwtx \u2014 sign in", "page: title")
    R.check(s.wait(signin_view), "page: sign-in form shown, signed-in section hidden")
    R.eq(s.text("#noscript-note"), None, "page: no-JavaScript note not rendered with JavaScript on")
    R.eq(s.text("#status"), "", "page: no status message before signing in")


step("page", t_open)


# ---- wrong password --------------------------------------------------------------
def t_wrong():
    s.find("#username").send_keys("testuser")
    s.find("#password").send_keys("not-the-password")
    s.find("#login-button").click()
    R.eq(wait_text("#status", "Bad username or password"), "Bad username or password",
         "wrong password: the gateway's message is shown")
    R.eq(s.find("#status").prop("className"), "error", "wrong password: shown as an error")
    R.eq(s.url(), BASE + "/login.html", "wrong password: page not left (signed in by fetch)")
    R.check(signin_view(), "wrong password: still the sign-in form")
    R.eq(s.find("#password").prop("value"), "", "wrong password: password field emptied")
    R.eq(s.execute("return [document.activeElement.id,"
                   " document.activeElement.getAttribute('aria-invalid')];"),
         ["password", "true"], "wrong password: focus back on the password, marked invalid")
    R.check("access_token_cookie" not in s.cookies(), "wrong password: no access cookie")
    os.makedirs(ARTIFACTS, exist_ok=True)
    s.screenshot(os.path.join(ARTIFACTS, "browser-wrong-password.png"))


step("wrong password", t_wrong)


# ---- sign in ---------------------------------------------------------------------
def t_login():
    s.find("#username").clear()
    s.find("#username").send_keys("testuser")
    s.find("#password").send_keys("testpass")
    s.find("#login-button").click()
    R.eq(wait_text("#who", "testuser"), "testuser", "login: page shows testuser")
    R.check(signed_in_view(), "login: signed-in section shown, form hidden")
    R.eq(s.text("#status"), "Signed in.", "login: status says signed in")
    R.eq(s.execute("return document.activeElement.id;"), "session-title",
         "login: focus moved to the signed-in heading")
    ck = s.cookies()
    R.check(ck.get("access_token_cookie", {}).get("httpOnly") is True,
            "login: access cookie set, HttpOnly", repr(ck.get("access_token_cookie")))
    R.check(ck.get("refresh_token_cookie", {}).get("httpOnly") is True,
            "login: refresh cookie set, HttpOnly")
    R.check(ck.get("csrf_access_token", {}).get("httpOnly") is False and
            ck.get("csrf_refresh_token", {}).get("httpOnly") is False,
            "login: both CSRF cookies readable by the page")
    doc = s.execute("return document.cookie;")
    R.check("access_token_cookie" not in doc and "csrf_access_token=" in doc,
            "login: document.cookie has the CSRF cookie, not the token", doc)
    os.makedirs(ARTIFACTS, exist_ok=True)
    png = s.screenshot(SHOT)
    size = png_size(png)
    R.check(size is not None and size[0] >= 600 and size[1] >= 400 and os.path.getsize(SHOT) > 5000,
            "login: screenshot saved to tests/artifacts/browser-logged-in.png", repr(size))


step("login", t_login)


# ---- reload keeps the session ----------------------------------------------------
def t_reload():
    s.reload()
    R.eq(wait_text("#who", "testuser"), "testuser", "reload: still shows testuser")
    R.check(signed_in_view(), "reload: signed-in section shown")


step("reload", t_reload)


# ---- protected call with and without the CSRF header ----------------------------
def t_protected():
    s.find("#call-protected").click()
    want = '200 {"logged_in_as":"testuser"}'
    R.eq(wait_text("#answer", want), want, "protected: POST with X-CSRF-TOKEN answers 200")
    R.eq(s.text("#status"), "Protected route answered.", "protected: status message")
    R.eq(s.fetch("POST", "/protected"), [401, '{"msg":"Missing CSRF token"}\n'],
         "protected: POST without the CSRF header refused 401 Missing CSRF token")
    R.eq(s.fetch("POST", "/protected", {"X-CSRF-TOKEN": "forged"}),
         [401, '{"msg":"CSRF double submit tokens do not match"}\n'],
         "protected: POST with a wrong CSRF header refused 401")
    R.eq(s.fetch("GET", "/protected"), [200, '{"logged_in_as":"testuser"}\n'],
         "protected: GET needs no CSRF header")


step("protected", t_protected)


# ---- refresh ---------------------------------------------------------------------
old = {}


def t_refresh():
    before = s.cookies()
    old["access"] = before.get("access_token_cookie", {}).get("value", "")
    old["csrf"] = before.get("csrf_access_token", {}).get("value", "")
    s.find("#refresh-button").click()
    R.eq(wait_text("#status", "Access token refreshed."), "Access token refreshed.",
         "refresh: status says refreshed")
    ans = s.text("#answer")
    R.check(ans.startswith('200 {"access_token":"\u2026 ('), "refresh: answer 200, token not shown", ans)
    after = s.cookies()
    R.check(after.get("access_token_cookie", {}).get("value", old["access"]) != old["access"] and
            after.get("csrf_access_token", {}).get("value", old["csrf"]) != old["csrf"],
            "refresh: new access and CSRF cookies")
    s.find("#call-protected").click()
    want = '200 {"logged_in_as":"testuser"}'
    R.eq(wait_text("#answer", want), want, "refresh: protected call with the new CSRF cookie 200")
    R.eq(s.fetch("POST", "/protected", {"X-CSRF-TOKEN": old["csrf"]}),
         [401, '{"msg":"CSRF double submit tokens do not match"}\n'],
         "refresh: the old CSRF value no longer matches")


step("refresh", t_refresh)


# ---- logout ----------------------------------------------------------------------
def t_logout():
    access = s.cookies().get("access_token_cookie", {}).get("value", "")
    s.find("#logout-button").click()
    R.check(s.wait(signin_view), "logout: sign-in form shown again")
    R.eq(s.text("#status"), "Signed out.", "logout: status says signed out")
    R.eq(s.execute("return document.activeElement.id;"), "username", "logout: focus on the user name")
    left = sorted(s.cookies())
    R.eq(left, [], "logout: the four cookies are gone")
    R.eq(s.fetch("GET", "/protected"), [401, NO_TOKEN], "logout: GET /protected from the page 401")
    R.eq(s.fetch("GET", "/private/"), [401, NO_TOKEN], "logout: private folder refused 401")
    R.eq(s.fetch("GET", "/protected", {"Authorization": "Bearer " + access}),
         [401, '{"msg":"Token has been revoked"}\n'], "logout: the old access token is revoked")
    s.reload()
    R.check(s.wait(signin_view) and s.text("#who") == "", "logout: after reload still the sign-in form")


step("logout", t_logout)


# ---- too many failed logins: the 429 message and the wait -------------------------
def t_banned():
    # Each of the two login processes counts for itself (docs/login-protection.md):
    # at most 2 x JWTX_LOGIN_MAX_FAILURES (5) wrong passwords before every answer is 429.
    seen = []
    for _ in range(12):
        s.execute("document.getElementById('status').textContent = '';")
        s.find("#username").clear()
        s.find("#username").send_keys("lockme")
        s.find("#password").send_keys("wrong-again")
        s.find("#login-button").click()
        text = s.wait(lambda: (s.text("#status") or "") not in ("", "Signing in\u2026")
                      and s.text("#status"))
        seen.append(text)
        if text and text.startswith("Too many"):
            break
    print("# answers shown: %s" % seen)
    R.check(seen.count("Bad username or password") <= 10 and len(seen) < 12,
            "banned: after at most 2 x 5 wrong passwords the page shows the 429", repr(seen))
    R.eq(seen[-1], "Too many failed login attempts. Try again in 15 minutes.",
         "banned: the gateway's message and the wait (Retry-After) are shown")
    R.eq(s.find("#status").prop("className"), "error", "banned: shown as an error")
    s.screenshot(os.path.join(ARTIFACTS, "browser-too-many-attempts.png"))


step("too many failed logins", t_banned)
s.quit()


# ---- without JavaScript: the plain form ------------------------------------------
def t_nojs():
    n = driver.new_session(os.path.join(run, "profile-nojs"), CHROMIUM,
                           prefs={"profile.managed_default_content_settings.javascript": 2})
    try:
        n.get(BASE + "/login.html")
        R.check(n.shown("#noscript-note"), "no JavaScript: the <noscript> note is shown (JS is off)")
        n.find("#username").send_keys("testuser")
        n.find("#password").send_keys("wrong")
        n.find("#login-button").click()
        n.wait(lambda: n.url() == BASE + "/login")
        R.check(n.url() == BASE + "/login" and "Bad username or password" in (n.text("body") or ""),
                "no JavaScript: wrong password answers with the message", n.url())
        R.check("access_token_cookie" not in n.cookies(), "no JavaScript: no cookie after wrong password")
        n.get(BASE + "/login.html")
        n.find("#username").send_keys("testuser")
        n.find("#password").send_keys("testpass")
        n.find("#login-button").click()
        landed = n.wait(lambda: n.url() == BASE + "/private/")
        R.check(landed, "no JavaScript: the form post lands on /private/", n.url())
        R.eq(n.text("#private-marker"), "You reached a static page behind the jwtx authorizer.",
             "no JavaScript: the authorizer lets the cookie through")
        ck = n.cookies()
        R.check(ck.get("access_token_cookie", {}).get("httpOnly") is True,
                "no JavaScript: access cookie set by the form login")
        n.reload()
        R.eq(n.text("#private-marker"), "You reached a static page behind the jwtx authorizer.",
             "no JavaScript: reload of /private/ still allowed")
        n.get(BASE + "/protected")
        R.eq(n.text("body"), '{"logged_in_as":"testuser"}', "no JavaScript: GET /protected in the browser")
    finally:
        n.quit()


try:
    step("no JavaScript", t_nojs)
except CannotRun as e:
    R.check(False, "cannot run: %s" % " | ".join(str(e).split("\n")))



# ---- sessions: refresh-token rotation (JWTX_REFRESH_ROTATION) ---------------------
# A gateway of its own with rotation on and a short grace period: the page's
# refresh replaces both cookies each time, across a reload; a replayed old
# refresh cookie (set back with the WebDriver cookie API once the grace period
# is over) ends the session, and the page goes back to the sign-in form.
GRACE = 2


def jwt_claims(tok):
    try:
        part = tok.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError):
        return {}


def t_rotation():
    rrun = harness.tmpdir("browser-rot-")
    conf = (CONF.replace(run + "/blocklist.sqlite", rrun + "/blocklist.sqlite") +
            "JWTX_REFRESH_ROTATION = True\nJWTX_REFRESH_REUSE_GRACE = %d\n" % GRACE)
    rsrv = harness.Lighttpd(conf, run_dir=rrun)
    base = "http://127.0.0.1:%d" % rsrv.port
    w = driver.new_session(os.path.join(run, "profile-rot"), CHROMIUM)
    try:
        w.get(base + "/login.html")
        w.find("#username").send_keys("testuser")
        w.find("#password").send_keys("testpass")
        w.find("#login-button").click()
        R.check(w.wait(lambda: w.text("#who") == "testuser"), "rotation: signed in")
        first = w.cookies()
        fam = jwt_claims(first.get("refresh_token_cookie", {}).get("value", "")).get("fam")
        R.check(isinstance(fam, str) and len(fam) == 36, "rotation: the refresh cookie has a family",
                repr(fam))
        seen = [first.get("refresh_token_cookie", {}).get("value")]
        rotated_at = None

        def one_refresh(label):
            before = w.cookies()
            w.execute("document.getElementById('status').textContent = '';")
            w.find("#refresh-button").click()
            ok = w.wait(lambda: w.text("#status") == "Access token refreshed.")
            after = w.cookies()
            names = ("refresh_token_cookie", "csrf_refresh_token", "access_token_cookie",
                     "csrf_access_token")
            changed = [n for n in names
                       if after.get(n, {}).get("value") not in (None, before.get(n, {}).get("value"))]
            new_ref = after.get("refresh_token_cookie", {}).get("value", "")
            R.check(ok and changed == list(names) and new_ref not in seen and
                    jwt_claims(new_ref).get("fam") == fam,
                    "rotation: %s: 200, all four cookies replaced, the refresh cookie a new one of "
                    "the family" % label, "%r %r" % (w.text("#status"), changed))
            seen.append(new_ref)
            R.check(w.text("#answer").startswith('200 {"access_token":"\u2026 (') and
                    '"refresh_token":"\u2026 (' in w.text("#answer"),
                    "rotation: %s: the answer has both tokens, not shown" % label, w.text("#answer"))
            w.find("#call-protected").click()
            want = '200 {"logged_in_as":"testuser"}'
            R.check(w.wait(lambda: w.text("#answer") == want),
                    "rotation: %s: the protected call works with the new cookies" % label,
                    w.text("#answer"))
            return time.time()

        rotated_at = one_refresh("refresh 1")
        one_refresh("refresh 2")
        one_refresh("refresh 3")
        # Two tabs refreshing at the same moment: two fetches from the page
        # with the same refresh cookie; within the grace period both succeed.
        two = w.execute(
            "const t = Date.now(); const h = {'X-CSRF-TOKEN': cookie('csrf_refresh_token')};"
            " return Promise.all([0, 1].map(() => fetch('/refresh', {method: 'POST', headers: h,"
            " credentials: 'same-origin'}).then(r => r.status)))"
            ".then(s => [s, (Date.now() - t) / 1000]);")
        if two[1] < GRACE - 1:
            R.eq(two[0], [200, 200], "rotation: two refreshes at once from the page both succeed")
        else:
            R.check(False, "rotation: two refreshes at once took %.2f s, not inside the grace "
                    "period (machine too slow)" % two[1])
        seen.append(w.cookies().get("refresh_token_cookie", {}).get("value"))
        one_refresh("refresh after two at once")
        w.reload()
        R.check(w.wait(lambda: w.text("#who") == "testuser"), "rotation: a reload keeps the session")
        one_refresh("refresh after the reload")
        newest_access = w.cookies().get("access_token_cookie", {}).get("value", "")

        # The login's refresh cookie (and its CSRF cookie), rotated by refresh 1,
        # set back once the grace period is over.
        while time.time() < rotated_at + GRACE + 1.1:
            time.sleep(0.05)
        for n in ("refresh_token_cookie", "csrf_refresh_token"):
            w.add_cookie(first[n])
        R.eq(w.cookies().get("refresh_token_cookie", {}).get("value"), seen[0],
             "replay: the old refresh cookie is back in the browser")
        w.execute("document.getElementById('status').textContent = '';")
        w.find("#refresh-button").click()
        want = "Session ended: Token has been revoked. Please sign in again."
        R.check(w.wait(lambda: w.text("#status") == want),
                "replay: the page says the session has ended", repr(w.text("#status")))
        R.check(w.wait(lambda: w.shown("#signin") and not w.shown("#session")),
                "replay: the page shows the sign-in form")
        R.eq(w.fetch("GET", "/protected"), [401, '{"msg":"Token has been revoked"}\n'],
             "replay: /protected from the page answers 401 (the session's access cookie)")
        R.eq(w.fetch("GET", "/protected", {"Authorization": "Bearer " + newest_access}),
             [401, '{"msg":"Token has been revoked"}\n'],
             "replay: the newest access token of the session is refused")
        os.makedirs(ARTIFACTS, exist_ok=True)
        w.screenshot(os.path.join(ARTIFACTS, "browser-session-ended.png"))
        w.reload()
        R.check(w.wait(lambda: w.shown("#signin") and not w.shown("#session")),
                "replay: after a reload still the sign-in form")
        w.find("#username").send_keys("testuser")
        w.find("#password").send_keys("testpass")
        w.find("#login-button").click()
        R.check(w.wait(lambda: w.text("#who") == "testuser"), "replay: signing in again works")
        new_fam = jwt_claims(w.cookies().get("refresh_token_cookie", {}).get("value", "")).get("fam")
        R.check(new_fam not in (None, fam), "replay: the new sign-in is a new session")
    finally:
        w.quit()
        rsrv.stop()


try:
    step("rotation", t_rotation)
except CannotRun as e:
    R.check(False, "cannot run: %s" % " | ".join(str(e).split("\n")))

driver.stop()
srv.stop()
print("# screenshot: %s" % os.path.relpath(SHOT, harness.ROOT))
R.finish()
