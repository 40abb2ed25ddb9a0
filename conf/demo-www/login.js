// Progressive enhancement of /login.html: sign in without leaving the page,
// show errors, call a protected route with the CSRF double-submit header,
// refresh and sign out. Without JavaScript the form still works.
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

async function call(method, url, opts) {
  const headers = Object.assign({ "Accept": "application/json" }, (opts && opts.headers) || {});
  const res = await fetch(url, { method, headers, credentials: "same-origin",
                                 body: opts && opts.body });
  let data = {};
  try { data = await res.json(); } catch (e) { /* empty or not JSON */ }
  return { status: res.status, data };
}

function show(user) {
  $("signin").hidden = !!user;
  $("session").hidden = !user;
  $("who").textContent = user || "";
}

async function whoami() {
  const r = await call("GET", "/protected");
  if (r.status === 200 && r.data.logged_in_as) {
    show(r.data.logged_in_as);
    return true;
  }
  show(null);
  return false;
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = JSON.stringify({ username: $("username").value, password: $("password").value });
  const r = await call("POST", "/login", { headers: { "Content-Type": "application/json" }, body });
  if (r.status !== 200) {
    say(r.data.msg || ("Sign-in failed (" + r.status + ")"), true);
    $("password").value = "";
    $("password").focus();
    return;
  }
  $("password").value = "";
  say("Signed in.");
  await whoami();
});

$("call-protected").addEventListener("click", async () => {
  const r = await call("POST", "/protected", { headers: { "X-CSRF-TOKEN": cookie("csrf_access_token") } });
  $("answer").textContent = r.status + " " + JSON.stringify(r.data);
  say(r.status === 200 ? "Protected route answered." : (r.data.msg || "Refused."), r.status !== 200);
});

$("refresh-button").addEventListener("click", async () => {
  const r = await call("POST", "/refresh", { headers: { "X-CSRF-TOKEN": cookie("csrf_refresh_token") } });
  $("answer").textContent = r.status + " " + JSON.stringify(r.data);
  say(r.status === 200 ? "Access token refreshed." : (r.data.msg || "Refresh refused."), r.status !== 200);
});

$("logout-button").addEventListener("click", async () => {
  const r = await call("POST", "/logout", { headers: { "X-CSRF-TOKEN": cookie("csrf_access_token") } });
  $("answer").textContent = r.status + " " + JSON.stringify(r.data);
  if (r.status === 200) {
    say("Signed out.");
    show(null);
  } else {
    say(r.data.msg || "Sign-out failed.", true);
  }
});

whoami();
