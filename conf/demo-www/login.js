// Progressive enhancement of /login.html: sign in without leaving the page,
// show errors, call a protected route with the CSRF double-submit header,
// refresh and sign out. Without JavaScript the form still works: it posts to
// /login and the gateway redirects to the private folder.
"use strict";

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return "";
}

const $ = (id) => document.getElementById(id);

function say(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

// One request; network failures come back as status 0 with a message.
async function call(method, url, opts) {
  const headers = Object.assign({ "Accept": "application/json" }, (opts && opts.headers) || {});
  let res;
  try {
    res = await fetch(url, { method, headers, credentials: "same-origin", body: opts && opts.body });
  } catch (e) {
    return { status: 0, data: { msg: "The server cannot be reached." } };
  }
  let data = {};
  try { data = await res.json(); } catch (e) { /* empty or not JSON */ }
  return { status: res.status, data, retryAfter: res.headers.get("Retry-After") };
}

// "Try again in ..." from a Retry-After of seconds (429: too many failed logins).
function waitText(retryAfter) {
  const secs = parseInt(retryAfter, 10);
  if (!(secs > 0)) return "";
  if (secs < 90) return " Try again in " + secs + " second" + (secs === 1 ? "" : "s") + ".";
  const mins = Math.ceil(secs / 60);
  return " Try again in " + mins + " minutes.";
}

// While a request runs, its buttons are disabled and the section is busy.
async function busy(section, fn) {
  const buttons = section.querySelectorAll("button");
  section.setAttribute("aria-busy", "true");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await fn();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    section.removeAttribute("aria-busy");
  }
}

// Tokens are secrets: the page shows that one came back, never its value.
function redact(data) {
  const out = {};
  for (const [k, v] of Object.entries(data || {})) {
    out[k] = /_token$/.test(k) && typeof v === "string" ? "\u2026 (" + v.length + " characters)" : v;
  }
  return out;
}

function answer(r) {
  $("answer").textContent = (r.status || "no answer") + " " + JSON.stringify(redact(r.data));
  $("answer-box").hidden = false;
}

// user: show the signed-in view; null: the sign-in form. focus: move the
// keyboard focus to the heading of the view that appeared.
function show(user, focus) {
  const wasSignedIn = !$("session").hidden;
  $("signin").hidden = !!user;
  $("session").hidden = !user;
  $("who").textContent = user || "";
  if (!user) {
    $("answer").textContent = "";
    $("answer-box").hidden = true;
  }
  if (focus && wasSignedIn !== !!user) $(user ? "session-title" : "username").focus();
}

async function whoami(focus) {
  const r = await call("GET", "/protected");
  if (r.status === 200 && r.data.logged_in_as) {
    show(r.data.logged_in_as, focus);
    return true;
  }
  show(null, focus);
  return false;
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy($("signin"), async () => {
    const body = JSON.stringify({ username: $("username").value, password: $("password").value });
    say("Signing in\u2026");
    const r = await call("POST", "/login", { headers: { "Content-Type": "application/json" }, body });
    $("password").value = "";
    if (r.status !== 200) {
      let text = r.data.msg || ("Sign-in failed (" + r.status + ")");
      if (r.status === 429 && waitText(r.retryAfter)) {
        text = text.replace(/[.!]?$/, ".") + waitText(r.retryAfter);
      }
      say(text, true);
      $("password").setAttribute("aria-invalid", "true");
      $("password").focus();
      return;
    }
    $("password").removeAttribute("aria-invalid");
    say("Signed in.");
    await whoami(true);
  });
});

// The session is over: the gateway refused the refresh token (expired,
// revoked, or its session ended -- with JWTX_REFRESH_ROTATION a replayed old
// refresh token ends the whole session), or revoked the access token. Back
// to the sign-in form, saying why.
function sessionEnded(r) {
  say("Session ended: " + (r.data.msg || "refused (" + r.status + ")") + ". Please sign in again.", true);
  show(null, true);
}

$("call-protected").addEventListener("click", () => busy($("session"), async () => {
  const r = await call("POST", "/protected", { headers: { "X-CSRF-TOKEN": cookie("csrf_access_token") } });
  if (r.status === 401 && r.data.msg === "Token has been revoked") return sessionEnded(r);
  answer(r);
  say(r.status === 200 ? "Protected route answered." : (r.data.msg || "Refused."), r.status !== 200);
}));

$("refresh-button").addEventListener("click", () => busy($("session"), async () => {
  const r = await call("POST", "/refresh", { headers: { "X-CSRF-TOKEN": cookie("csrf_refresh_token") } });
  if (r.status === 401) return sessionEnded(r);
  answer(r);
  say(r.status === 200 ? "Access token refreshed." : (r.data.msg || "Refresh refused."), r.status !== 200);
}));

$("logout-button").addEventListener("click", () => busy($("session"), async () => {
  const r = await call("POST", "/logout", { headers: { "X-CSRF-TOKEN": cookie("csrf_access_token") } });
  if (r.status === 200) {
    say("Signed out.");
    show(null, true);
  } else {
    answer(r);
    say(r.data.msg || "Sign-out failed.", true);
  }
}));

whoami(false);
