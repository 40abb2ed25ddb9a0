#!/bin/sh
# 15-conf-python.sh — the conf file is Python, and jwtx reads it as Python does.
#
# For every conf/*.conf* file and every tests/fixtures/conf/good* file:
#   1. /usr/bin/python3 execs it the way Flask's app.config.from_pyfile does
#      (compile + exec into a fresh module namespace, upper-case names kept);
#   2. `tools/jwtx config check FILE` accepts it (exit 0, "jwtx: FILE: OK");
#   3. every JWT_* option jwtx prints equals what Flask-JWT-Extended would use:
#      Python's value, or the spec-section-1 default when the file does not
#      set it, normalised the way the reference reads it (a bare location
#      string is one location, SameSite is title-cased, the decode allow-list
#      gains JWT_ALGORITHM, falsy secrets fall back to SECRET_KEY, ...).
# For every tests/fixtures/conf/bad* file, jwtx must exit 1 with the message
# named on the file's first line ("# expect: ..." exact, "# expect-prefix: ..."
# as a prefix). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
JWTX=tools/jwtx
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }

if [ ! -x "$JWTX" ] || [ ! -x "$PY" ]; then
    echo "15-conf-python: needs $JWTX (make) and $PY"
    echo "0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# a private copy: a rebuild of tools/jwtx while this runs does not disturb it
cp "$JWTX" "$tmp/jwtx" && JWTX=$tmp/jwtx

cat >"$tmp/compare.py" <<'PYEOF'
import json, os, sys, types

# Flask-JWT-Extended 4.7.1 defaults (spec section 1), as jwtx prints them.
DEFAULTS = {
    "JWT_ACCESS_TOKEN_EXPIRES": 900, "JWT_REFRESH_TOKEN_EXPIRES": 2592000,
    "JWT_ALGORITHM": "HS256", "JWT_DECODE_ALGORITHMS": None, "JWT_SECRET_KEY": None,
    "JWT_PRIVATE_KEY": None, "JWT_PUBLIC_KEY": None, "JWT_DECODE_AUDIENCE": None,
    "JWT_ENCODE_AUDIENCE": None, "JWT_DECODE_ISSUER": None, "JWT_ENCODE_ISSUER": None,
    "JWT_DECODE_LEEWAY": 0, "JWT_ENCODE_NBF": True, "JWT_VERIFY_SUB": True,
    "JWT_IDENTITY_CLAIM": "sub", "JWT_ERROR_MESSAGE_KEY": "msg",
    "JWT_TOKEN_LOCATION": ("headers",), "JWT_HEADER_NAME": "Authorization",
    "JWT_HEADER_TYPE": "Bearer", "JWT_ACCESS_COOKIE_NAME": "access_token_cookie",
    "JWT_ACCESS_COOKIE_PATH": "/", "JWT_REFRESH_COOKIE_NAME": "refresh_token_cookie",
    "JWT_REFRESH_COOKIE_PATH": "/", "JWT_COOKIE_SECURE": False, "JWT_COOKIE_DOMAIN": None,
    "JWT_COOKIE_SAMESITE": None, "JWT_SESSION_COOKIE": True, "JWT_COOKIE_CSRF_PROTECT": True,
    "JWT_CSRF_METHODS": ["POST", "PUT", "PATCH", "DELETE"], "JWT_CSRF_IN_COOKIES": True,
    "JWT_CSRF_CHECK_FORM": False, "JWT_ACCESS_CSRF_HEADER_NAME": "X-CSRF-TOKEN",
    "JWT_REFRESH_CSRF_HEADER_NAME": "X-CSRF-TOKEN", "JWT_ACCESS_CSRF_FIELD_NAME": "csrf_token",
    "JWT_REFRESH_CSRF_FIELD_NAME": "csrf_token",
    "JWT_ACCESS_CSRF_COOKIE_NAME": "csrf_access_token",
    "JWT_REFRESH_CSRF_COOKIE_NAME": "csrf_refresh_token", "JWT_ACCESS_CSRF_COOKIE_PATH": "/",
    "JWT_REFRESH_CSRF_COOKIE_PATH": "/", "JWT_QUERY_STRING_NAME": "jwt",
    "JWT_QUERY_STRING_VALUE_PREFIX": "", "JWT_JSON_KEY": "access_token",
    "JWT_REFRESH_JSON_KEY": "refresh_token",
}
assert len(DEFAULTS) == 43

path, printed = sys.argv[1], sys.argv[2]
# what app.config.from_pyfile does
mod = types.ModuleType("config")
mod.__file__ = path
with open(path, "rb") as f:
    exec(compile(f.read(), path, "exec"), mod.__dict__)
conf = {k: v for k, v in vars(mod).items() if k.isupper()}
with open(printed) as f:
    got = json.load(f)

def opt(name):
    return conf.get(name, DEFAULTS[name])

def seq(v):
    return [v] if isinstance(v, str) else list(v)

def expected(name):
    v = opt(name)
    here = os.path.dirname(os.path.abspath(path))
    if name.endswith("_EXPIRES"):
        return False if v is False else int(v)
    if name == "JWT_DECODE_ALGORITHMS":
        alg = opt("JWT_ALGORITHM")
        out = []
        for a in (v or []):
            if a not in out:
                out.append(a)
        return out + ([alg] if alg not in out else [])
    if name == "JWT_SECRET_KEY":
        return "********" if (v or conf.get("SECRET_KEY") or conf.get("JWTX_SECRET_KEY_FILE")) else None
    if name == "JWT_PRIVATE_KEY":
        return "********" if (v or conf.get("JWTX_PRIVATE_KEY_FILE")) else None
    if name == "JWT_PUBLIC_KEY":
        if v:
            return v
        f = conf.get("JWTX_PUBLIC_KEY_FILE")
        return open(os.path.join(here, f)).read() if f else None
    if name in ("JWT_DECODE_AUDIENCE", "JWT_DECODE_ISSUER"):
        return None if v is None else seq(v)
    if name == "JWT_ENCODE_AUDIENCE":
        return (v if isinstance(v, str) else list(v)) if v else None
    if name in ("JWT_ENCODE_ISSUER", "JWT_COOKIE_DOMAIN"):
        return v or None
    if name == "JWT_TOKEN_LOCATION":
        return seq(v)
    if name == "JWT_HEADER_TYPE":
        return v or ""
    if name == "JWT_COOKIE_SAMESITE":
        return None if v is None else v.title()
    if name == "JWT_CSRF_METHODS":
        return list(v)
    return v

bad = []
jwt_printed = sorted(k for k in got if k.startswith("JWT_"))
if jwt_printed != sorted(DEFAULTS):
    bad.append("printed JWT_* names differ from the 43 options: %s"
               % sorted(set(jwt_printed) ^ set(DEFAULTS)))
for name in DEFAULTS:
    want = expected(name)
    if got.get(name, "<missing>") != want:
        bad.append("%s: python %r, jwtx %r" % (name, want, got.get(name, "<missing>")))
for line in bad:
    print("    " + line)
sys.exit(1 if bad else 0)
PYEOF

for f in conf/*.conf* tests/fixtures/conf/good*; do
    [ -f "$f" ] || continue
    if "$PY" -c 'import sys; compile(open(sys.argv[1], "rb").read(), sys.argv[1], "exec")' "$f"; then
        ok "$f: valid Python"
    else
        ko "$f: valid Python"
        continue
    fi
    if "$JWTX" config check "$f" >"$tmp/out.json" 2>"$tmp/err.txt" &&
        grep -qxF "jwtx: $f: OK" "$tmp/err.txt"; then
        ok "$f: jwtx config check"
    else
        ko "$f: jwtx config check"
        sed 's/^/    /' "$tmp/err.txt"
        continue
    fi
    if "$PY" "$tmp/compare.py" "$f" "$tmp/out.json"; then
        ok "$f: JWT_* values equal Python's"
    else
        ko "$f: JWT_* values equal Python's"
    fi
done

for f in tests/fixtures/conf/bad*; do
    [ -f "$f" ] || continue
    first=$(head -n 1 "$f")
    want=$(printf '%s\n' "$first" | sed -e 's/^# expect[-a-z]*: //' -e "s|FILE|$f|")
    "$JWTX" config check "$f" >"$tmp/out.json" 2>"$tmp/err.txt"
    rc=$?
    got=$(grep -v '^jwtx: warning: ' "$tmp/err.txt")
    case "$first" in
    "# expect: "*) [ "$got" = "$want" ] && match=1 || match=0 ;;
    "# expect-prefix: "*) case "$got" in "$want"*) match=1 ;; *) match=0 ;; esac ;;
    *) match=0; got="(no '# expect:' line in the fixture)" ;;
    esac
    if [ "$rc" -eq 1 ] && [ "$match" -eq 1 ] && [ ! -s "$tmp/out.json" ]; then
        ok "$f: refused with its message"
    else
        ko "$f: refused with its message (exit $rc)"
        echo "    want: $want"
        echo "    got:  $got"
    fi
done

echo "15-conf-python: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
