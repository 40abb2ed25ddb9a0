#!/bin/sh
# 42-sessions-cli: `jwtx sessions list|end` end to end against a SQLite file
# and a real redis-server (started here on a free 127.0.0.1 port below
# 32768, with a password and a database number). Sessions (families) are
# made through the library by tests/helpers/sessions_seed.c, as login and
# /refresh make them; the same helper checks afterwards which tokens the
# store refuses. Checks what is listed (text and --json), that `end FAMILY`
# ends that session only, that `end --user` ends all of them and the tokens
# from before rotation (the user cut-off), the session_end audit lines, usage
# errors (exit 2), and exit 3 with the cause while Redis is down. Stops only
# the server it started (by its own pidfile). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
JWTX=$PWD/tools/jwtx
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok "$1"; else ko "$1: expected [$2], got [$3]"; fi
}
has() { # NAME NEEDLE HAYSTACK
    case "$3" in *"$2"*) ok "$1";; *) ko "$1: [$2] not in [$3]";; esac
}

[ -x "$JWTX" ] && [ -f lib/libjwtx.a ] || make --no-print-directory lib/libjwtx.a tools/jwtx >/dev/null 2>&1
if [ ! -x "$JWTX" ]; then echo "tools/jwtx is not built"; echo "0 passed, 1 failed"; exit 1; fi

work=$(mktemp -d /tmp/jwtx-suite-sessions-XXXXXX)
pidfile=$work/redis.pid
. tests/suites/lib/redis.sh
cleanup() { stop_redis; rm -rf "$work"; }
trap cleanup EXIT INT TERM

SEED=$work/sessions_seed
if ! cc -std=c11 -D_GNU_SOURCE -Iinclude -Wall -Wextra -Werror -O1 -o "$SEED" \
        tests/helpers/sessions_seed.c lib/libjwtx.a \
        -lssl -lcrypto -ljansson -lfcgi -lsqlite3 -lhiredis -lcrypt -lm; then
    echo "could not build tests/helpers/sessions_seed.c"; echo "0 passed, 1 failed"; exit 1
fi

PASS='pa ss@word'
rcli() { redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$PASS" -n 4 "$@"; }

start_redis_or_exit

SECRET='suite-secret-key-that-is-long-enough-for-hs256'
umask 077
cat >"$work/redis.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
JWTX_BLOCKLIST = "redis://:pa%20ss%40word@127.0.0.1:$port/4"
JWTX_BLOCKLIST_PREFIX = "suite:"
JWTX_BLOCKLIST_TIMEOUT_MS = 300
JWTX_AUDIT_LOG = "$work/audit-redis.log"
EOC
cat >"$work/sqlite.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
JWTX_BLOCKLIST = "sqlite:$work/bl.db"
JWTX_AUDIT_LOG = "$work/audit-sqlite.log"
EOC
cat >"$work/none.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
EOC
"$JWTX" blocklist --conf "$work/sqlite.conf" init >/dev/null 2>&1 || ko "sqlite: blocklist init"

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
ISO_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
TAB=$(printf '\t')

for store in sqlite redis; do
    conf=$work/$store.conf
    audit=$work/audit-$store.log
    now=$(date +%s)
    a1=$store-a1-3f1c2d4e-0000-4000-8000-000000000001
    a2=$store-a2-3f1c2d4e-0000-4000-8000-000000000002
    b1=$store-b1-3f1c2d4e-0000-4000-8000-000000000003

    # Nothing yet.
    out=$("$JWTX" sessions --conf "$conf" list alice 2>"$work/err"); rc=$?
    check "$store: list with no session: exit 0, nothing on stdout" "0 " "$rc $out"
    check "$store: list with no session: says so on stderr" "jwtx: no live session of alice" \
        "$(cat "$work/err")"
    out=$("$JWTX" sessions --conf "$conf" list alice --json 2>&1); rc=$?
    check "$store: list --json with no session" "0 []" "$rc $out"

    # Two sessions of alice (one refreshed, one that never expires), one of bob.
    check "$store: seed a1" ok "$("$SEED" "$conf" start "$a1" alice $((now - 100)) $((now + 3600)) 2>&1)"
    check "$store: seed a2" ok "$("$SEED" "$conf" start "$a2" alice $((now - 50)) 0 2>&1)"
    check "$store: seed b1" ok "$("$SEED" "$conf" start "$b1" bob $((now - 10)) $((now + 600)) 2>&1)"
    check "$store: refresh a1" rotated "$("$SEED" "$conf" rotate "$a1" alice "$store-jti-r1" $((now + 3600)) 2>&1)"

    out=$("$JWTX" sessions --conf "$conf" list alice 2>&1); rc=$?
    check "$store: list alice: exit 0" 0 $rc
    check "$store: list alice: two lines" 2 "$(printf '%s\n' "$out" | grep -c .)"
    line1=$(printf '%s\n' "$out" | grep "^$a1$TAB")
    line2=$(printf '%s\n' "$out" | grep "^$a2$TAB")
    check "$store: a1: started, expires" "$(iso $((now - 100))) $(iso $((now + 3600)))" \
        "$(printf '%s' "$line1" | awk -F"$TAB" '{print $2, $4}')"
    last=$(printf '%s' "$line1" | awk -F"$TAB" '{print $3}')
    if printf '%s' "$last" | grep -Eq "$ISO_RE"; then ok "$store: a1: last refresh is a time ($last)"
    else ko "$store: a1: last refresh [$last]"; fi
    check "$store: a2: never refreshed (-), never expires" "$a2$TAB$(iso $((now - 50)))$TAB-${TAB}never" "$line2"
    if [ "$store" = sqlite ]; then
        check "sqlite: list sorted by start" "$a1 $a2" "$(printf '%s\n' "$out" | cut -f1 | tr '\n' ' ' | sed 's/ $//')"
    fi
    out=$("$JWTX" sessions --conf "$conf" list alice --json 2>&1); rc=$?
    got=$(printf '%s' "$out" | python3 -c '
import json, sys
a = sorted(json.load(sys.stdin), key=lambda s: s["family"])
print(len(a), " ".join("%s:%s:%s:%s:%s" % (s["family"], s["user"], s["started"],
      "null" if s["last_refresh"] is None else "t", s["expires"]) for s in a))' 2>/dev/null)
    check "$store: list --json" "2 $a1:alice:$((now - 100)):t:$((now + 3600)) $a2:alice:$((now - 50)):null:None" "$got"
    out=$("$JWTX" sessions --conf "$conf" --json list bob 2>&1); rc=$?
    check "$store: --json before the action, bob's one session" "0 1" "$rc $(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)"

    # end FAMILY: that session only.
    check "$store: a1 token before end" clear "$("$SEED" "$conf" check "$a1" alice "$now" 2>&1)"
    out=$("$JWTX" sessions --conf "$conf" end "$a1" 2>&1); rc=$?
    check "$store: end a1" "0 ended session $a1 of alice: its tokens are revoked" "$rc $out"
    check "$store: a1 token revoked" revoked "$("$SEED" "$conf" check "$a1" alice "$now" 2>&1)"
    check "$store: a2 token still clear" clear "$("$SEED" "$conf" check "$a2" alice "$now" 2>&1)"
    check "$store: alice's token without family still clear" clear "$("$SEED" "$conf" check - alice $((now - 5)) 2>&1)"
    out=$("$JWTX" sessions --conf "$conf" list alice 2>&1)
    check "$store: list after end: a2 only" "$a2" "$(printf '%s\n' "$out" | cut -f1)"
    out=$("$JWTX" sessions --conf "$conf" end "$a1" 2>&1); rc=$?
    check "$store: end a1 again: exit 0, nothing to end" \
        "0 session $a1 is not live (ended before, expired or unknown): nothing to end" "$rc $out"
    out=$("$JWTX" sessions --conf "$conf" end no-such-family 2>&1); rc=$?
    check "$store: end an unknown family: exit 0" 0 $rc
    check "$store: refresh of the ended session" ended \
        "$("$SEED" "$conf" rotate "$a1" alice "$store-jti-r2" $((now + 3600)) 2>&1)"
    check "$store: audit: one session_end line" 1 "$(grep -c 'event=session_end' "$audit" 2>/dev/null)"
    has "$store: audit: user, family and reason admin" "event=session_end user=\"alice\" fam=\"$a1\" reason=admin" "$(cat "$audit" 2>/dev/null)"

    # end --user: every session of alice, and the tokens from before rotation.
    out=$("$JWTX" sessions --conf "$conf" end --user alice 2>&1); rc=$?
    case "$out" in "ended 1 session of alice and revoked every token of alice issued at or before "*)
        ok "$store: end --user alice";; *) ko "$store: end --user alice: [$rc $out]";; esac
    check "$store: end --user: exit 0" 0 $rc
    check "$store: a2 token revoked" revoked "$("$SEED" "$conf" check "$a2" alice "$now" 2>&1)"
    check "$store: alice's token without family revoked (cut-off)" revoked \
        "$("$SEED" "$conf" check - alice $((now - 5)) 2>&1)"
    check "$store: bob untouched" clear "$("$SEED" "$conf" check "$b1" bob "$now" 2>&1)"
    out=$("$JWTX" sessions --conf "$conf" list alice 2>&1); rc=$?
    check "$store: alice has no session left" "0 jwtx: no live session of alice" "$rc $out"
    out=$("$JWTX" sessions --conf "$conf" list bob 2>&1)
    check "$store: bob's session listed" "$b1" "$(printf '%s\n' "$out" | cut -f1)"
    check "$store: audit: two session_end lines" 2 "$(grep -c 'event=session_end' "$audit" 2>/dev/null)"
    has "$store: audit: end --user names the family" "event=session_end user=\"alice\" fam=\"$a2\" reason=admin" "$(cat "$audit" 2>/dev/null)"
    out=$("$JWTX" sessions --conf "$conf" end --user nobody-here 2>&1); rc=$?
    case "$out" in "ended 0 sessions of nobody-here and revoked every token of nobody-here issued"*)
        ok "$store: end --user with no session";; *) ko "$store: end --user with no session: [$rc $out]";; esac
    check "$store: audit: no line when nothing ended" 2 "$(grep -c 'event=session_end' "$audit" 2>/dev/null)"

    # jwtx revoke --user (a cut-off of now) ends the user's sessions too, so
    # that list shows none whose tokens are refused; an earlier --at leaves
    # the sessions alone. (A user of its own: carol's sessions are used
    # further down, and a cut-off of hers would revoke them.)
    c1=$store-c1-3f1c2d4e-0000-4000-8000-000000000011
    c2=$store-c2-3f1c2d4e-0000-4000-8000-000000000012
    check "$store: seed c1" ok "$("$SEED" "$conf" start "$c1" cora $((now - 100)) $((now + 3600)) 2>&1)"
    check "$store: seed c2" ok "$("$SEED" "$conf" start "$c2" cora $((now - 90)) $((now + 3600)) 2>&1)"
    out=$("$JWTX" revoke --conf "$conf" --user cora --at $((now - 1000)) 2>&1); rc=$?
    check "$store: revoke --user --at past: exit 0" 0 $rc
    out=$("$JWTX" sessions --conf "$conf" list cora 2>&1)
    check "$store: revoke --user --at past: sessions still listed" 2 "$(printf '%s\n' "$out" | grep -c "^$store-c")"
    out=$("$JWTX" revoke --conf "$conf" --user cora 2>&1); rc=$?
    check "$store: revoke --user: exit 0" 0 $rc
    has "$store: revoke --user: says it ended the sessions" "ended 2 sessions of cora" "$out"
    out=$("$JWTX" sessions --conf "$conf" list cora 2>&1); rc=$?
    check "$store: revoke --user: no session left" "0 jwtx: no live session of cora" "$rc $out"
    check "$store: revoke --user: c1's tokens revoked" revoked "$("$SEED" "$conf" check "$c1" cora "$now" 2>&1)"

    # A user given as JSON is the canonical text the gateway keys an
    # object identity by: any spelling lists and ends the same sessions.
    j1=$store-j1-3f1c2d4e-0000-4000-8000-000000000013
    check "$store: seed a session of an object identity" ok \
        "$("$SEED" "$conf" start "$j1" '{"id":7,"org":"x"}' $((now - 100)) $((now + 3600)) 2>&1)"
    out=$("$JWTX" sessions --conf "$conf" list '{ "org": "x", "id": 7 }' 2>&1)
    check "$store: list an object identity in another spelling" "$j1" "$(printf '%s\n' "$out" | cut -f1)"
    out=$("$JWTX" sessions --conf "$conf" end --user '{"org":"x",  "id":7}' 2>&1); rc=$?
    has "$store: end --user of an object identity in another spelling" \
        'ended 1 session of {"id":7,"org":"x"}' "$out"
    check "$store: its token revoked" revoked "$("$SEED" "$conf" check "$j1" '{"id":7,"org":"x"}' "$now" 2>&1)"

    # end FAMILY of a session past its expiry but still kept (the leeway):
    # not listed any more, yet ended, and its audit line names its user
    # (looked up by id, not found among the listed sessions).
    sed "s|^JWTX_AUDIT_LOG = .*|JWTX_AUDIT_LOG = \"$work/audit-$store-late.log\"|" "$conf" >"$work/$store-late.conf"
    echo 'JWT_DECODE_LEEWAY = 300' >>"$work/$store-late.conf"
    late=$store-late-3f1c2d4e-0000-4000-8000-000000000009
    check "$store: seed a session past its expiry" ok \
        "$("$SEED" "$work/$store-late.conf" start "$late" erin $((now - 100)) $((now - 5)) 2>&1)"
    out=$("$JWTX" sessions --conf "$work/$store-late.conf" end "$late" 2>&1); rc=$?
    check "$store: end a session past its expiry" "0 ended session $late of erin: its tokens are revoked" "$rc $out"
    has "$store: audit: end FAMILY names the user of a session past its expiry" \
        "event=session_end user=\"erin\" fam=\"$late\" reason=admin" "$(cat "$work/audit-$store-late.log" 2>/dev/null)"
done

# The default JWTX_AUDIT_LOG ("server"): no web server here, the line goes
# to standard error.
sed '/JWTX_AUDIT_LOG/d' "$work/sqlite.conf" >"$work/server.conf"
now=$(date +%s)
"$SEED" "$work/server.conf" start srv-fam carol "$now" 0 >/dev/null 2>&1
out=$("$JWTX" sessions --conf "$work/server.conf" end srv-fam 2>"$work/err"); rc=$?
check "audit server: end exit 0" "0 ended session srv-fam of carol: its tokens are revoked" "$rc $out"
has "audit server: the line on stderr" 'event=session_end user="carol" fam="srv-fam" reason=admin' "$(cat "$work/err")"
# Audit off: nothing written, the user not looked up.
sed 's|^JWTX_AUDIT_LOG = .*|JWTX_AUDIT_LOG = ""|' "$work/sqlite.conf" >"$work/off.conf"
"$SEED" "$work/off.conf" start off-fam carol "$now" 0 >/dev/null 2>&1
out=$("$JWTX" sessions --conf "$work/off.conf" end off-fam 2>&1); rc=$?
check "audit off: end" "0 ended session off-fam: its tokens are revoked" "$rc $out"
# An audit log that cannot be opened: nothing is changed.
sed "s|^JWTX_AUDIT_LOG = .*|JWTX_AUDIT_LOG = \"$work/no-such-dir/audit.log\"|" "$work/sqlite.conf" >"$work/badaudit.conf"
"$SEED" "$work/off.conf" start keep-fam carol "$now" 0 >/dev/null 2>&1
out=$("$JWTX" sessions --conf "$work/badaudit.conf" end keep-fam 2>&1); rc=$?
check "audit not writable: exit 1" 1 $rc
has "audit not writable: says nothing was changed" "nothing was changed" "$out"
check "audit not writable: the session lives on" clear "$("$SEED" "$work/off.conf" check keep-fam carol "$now" 2>&1)"

# Under valgrind: no invalid access, no leak (list --json, end with audit
# lines, end --user, a store error).
if command -v valgrind >/dev/null 2>&1; then
    vg() { valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --suppressions=tests/valgrind.supp "$JWTX" "$@" >/dev/null 2>"$work/vg.log"; }
    now=$(date +%s)
    for f in vg1 vg2 vg3; do "$SEED" "$work/sqlite.conf" start "$f" dave "$now" 0 >/dev/null 2>&1; done
    vg sessions --conf "$work/sqlite.conf" list dave --json; check "valgrind: list --json" 0 $?
    vg sessions --conf "$work/sqlite.conf" list dave; check "valgrind: list" 0 $?
    vg sessions --conf "$work/sqlite.conf" end vg1; check "valgrind: end FAMILY (audit)" 0 $?
    vg sessions --conf "$work/sqlite.conf" end --user dave; check "valgrind: end --user (audit)" 0 $?
    sed "s|$work/bl.db|$work/no-such.db|" "$work/sqlite.conf" >"$work/nostore.conf"
    vg sessions --conf "$work/nostore.conf" end --user dave; check "valgrind: store unavailable" 3 $?
else
    ok "valgrind: skipped (not installed)"
fi

# A user name that is not UTF-8: --json still prints JSON (the bytes as \xNN).
odd=$(printf 'b\377ad')
"$SEED" "$work/sqlite.conf" start odd-fam "$odd" "$now" 0 >/dev/null 2>&1
out=$("$JWTX" sessions --conf "$work/sqlite.conf" list "$odd" --json 2>&1); rc=$?
check "user not UTF-8: list --json" "0 b\\xffad" "$rc $(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["user"])' 2>&1)"

# A store made before sessions (schema version 2): exit 3 saying to run
# `jwtx blocklist init`, which upgrades it; then the commands work.
sed "s|$work/bl.db|$work/v2.db|" "$work/sqlite.conf" >"$work/v2.conf"
"$JWTX" blocklist --conf "$work/v2.conf" init >/dev/null 2>&1
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TABLE families; DROP TABLE rotated; PRAGMA user_version = 2;")
db.close()' "$work/v2.db" || ko "make a version 2 store"
out=$("$JWTX" sessions --conf "$work/v2.conf" list alice 2>&1); rc=$?
check "schema 2: list exits 3" 3 $rc
has "schema 2: says to run init" "jwtx blocklist init" "$out"
out=$("$JWTX" sessions --conf "$work/v2.conf" end --user alice 2>&1); rc=$?
check "schema 2: end --user exits 3" 3 $rc
out=$("$JWTX" revoke --conf "$work/v2.conf" --user alice 2>&1); rc=$?
check "schema 2: revoke --user still sets the cut-off (exit 0)" 0 $rc
has "schema 2: revoke --user notes the sessions were not ended" "the sessions of alice were not ended" "$out"
"$JWTX" blocklist --conf "$work/v2.conf" init >/dev/null 2>&1; check "schema 2: init upgrades" 0 $?
out=$("$JWTX" sessions --conf "$work/v2.conf" list alice 2>&1); rc=$?
check "schema 2 upgraded: list" "0 jwtx: no live session of alice" "$rc $out"

# Usage errors (exit 2) and no store (exit 1).
c=$work/sqlite.conf
for args in "list" "list --user alice" "end" "end fam --user alice" "end fam --json" \
            "frobnicate alice" "list alice bob" "list alice --json --json" "list ''" \
            "end $(printf 'x%.0s' $(seq 1 129))" "list alice --user bob" "end --user"; do
    eval "set -- $args"
    "$JWTX" sessions --conf "$c" "$@" >/dev/null 2>&1; rc=$?
    check "usage: sessions $args" 2 $rc
done
"$JWTX" sessions list alice >/dev/null 2>&1; check "usage: no --conf" 2 $?
out=$("$JWTX" sessions --help 2>&1); rc=$?
check "sessions --help: exit 0" 0 $rc
has "sessions --help: usage" "jwtx sessions --conf FILE end --user USER" "$out"
has "jwtx --help names sessions" "jwtx sessions --conf FILE list USER [--json]" "$("$JWTX" --help)"
out=$("$JWTX" sessions --conf "$work/none.conf" list alice 2>&1); rc=$?
check "no store: exit 1" 1 $rc
has "no store: says so" "sets no revocation store (JWTX_BLOCKLIST)" "$out"

# Redis down: exit 3 with the cause, nothing half done.
stop_redis
for args in "list bob" "end some-family" "end --user bob"; do
    eval "set -- $args"
    out=$("$JWTX" sessions --conf "$work/redis.conf" "$@" 2>&1); rc=$?
    check "redis down: sessions $args: exit 3" 3 $rc
    has "redis down: sessions $args: cause" "revocation store (redis) is unavailable: redis 127.0.0.1:$port: connect" "$out"
done

echo "sessions-cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
