#!/bin/sh
# 41-sessions-store: the session families (refresh-token rotation) of both
# store back ends, by one driver (tests/integration/store_conformance.c,
# public API only) run against a real redis-server (started here on a free
# 127.0.0.1 port, with a password and a database number) and against a
# SQLite store made by `jwtx blocklist init`: the same scenarios must give
# the same answers. Then what Redis holds (keys under the prefix, TTLs from
# the lives the driver gave), and Redis down: every family operation -1 and
# every check UNAVAILABLE, never CLEAR. Stops only the server it started
# (by its own pidfile). Ends with "N passed, N failed" (the driver's
# assertions counted in).
set -u
cd "$(dirname "$0")/../.."
JWTX=$PWD/tools/jwtx
DRIVER=$PWD/build/rel/tests/store_conformance
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok "$1"; else ko "$1: expected [$2], got [$3]"; fi
}

make --no-print-directory tools/jwtx build/rel/tests/store_conformance >/dev/null 2>&1
if [ ! -x "$JWTX" ] || [ ! -x "$DRIVER" ]; then
    echo "tools/jwtx or the conformance driver is not built"; echo "0 passed, 1 failed"; exit 1
fi

work=$(mktemp -d /tmp/jwtx-suite-sessions-XXXXXX)
pidfile=$work/redis.pid
. tests/suites/lib/redis.sh
cleanup() {
    [ -s "$pidfile" ] && kill -CONT "$(cat "$pidfile")" 2>/dev/null
    stop_redis; rm -rf "$work"
}
trap cleanup EXIT INT TERM

PASS='se ss@pw'
DB=5
PREFIX='sess:'
rcli() { redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$PASS" -n $DB "$@"; }

# Runs the driver, shows its lines, counts its assertions into ours.
# DRIVER-ARGS...; the output is kept in $work/last.out.
run_driver() {
    "$DRIVER" "$@" >"$work/last.out" 2>&1
    rc=$?
    cat "$work/last.out"
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$work/last.out" | tail -n 1)
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/')
    if [ -z "$line" ]; then p=0; f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
    return $rc
}

start_redis_or_exit
URL="redis://:se%20ss%40pw@127.0.0.1:$port/$DB"

# ---- Redis
echo "--- the scenarios against Redis"
run_driver --prefix "$PREFIX" --tag rt "$URL"
check "redis: driver exit status" 0 $?
cp "$work/last.out" "$work/redis.out"

# Every key the scenarios made is under the prefix, in our database.
check "redis: nothing in database 0" "0" "$(redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$PASS" -n 0 DBSIZE)"
check "redis: every key under the prefix" "" "$(rcli --scan | grep -v "^$PREFIX" | head -n 3)"
for kind in fam famst rot ufam; do
    n=$(rcli --scan --pattern "${PREFIX}${kind}:rt-*" | wc -l)
    [ "$n" -gt 0 ] && ok "redis: $kind: keys exist ($n)" || ko "redis: $kind: no keys"
done
check "redis: a family record: user" "rt-heidi" "$(rcli HGET "${PREFIX}fam:rt-f-l1" user)"
check "redis: a family record: live" "0" "$(rcli HGET "${PREFIX}fam:rt-f-l1" ended)"
check "redis: family state, live" "1" "$(rcli GET "${PREFIX}famst:rt-f-l1")"
check "redis: family state, ended" "0" "$(rcli GET "${PREFIX}famst:rt-f-l3")"
e=$(rcli HGET "${PREFIX}fam:rt-f-l3" ended)
[ -n "$e" ] && [ "$e" != 0 ] && ok "redis: family record, ended ($e)" || ko "redis: family record, ended: [$e]"
check "redis: rotated record names its family" "rt-f1" "$(rcli HGET "${PREFIX}rot:rt-r1" fam)"
check "redis: ended families leave the user's index" "" "$(rcli ZRANGE "${PREFIX}ufam:rt-heidi" 0 -1 | grep -x rt-f-l3)"
check "redis: a user's index after end_user is gone" "0" "$(rcli EXISTS "${PREFIX}ufam:rt-frank")"

# TTLs: a life U given by an operation at (driver time) N is a TTL of
# U - N then, and no more than a few seconds less now (the driver's times
# are the wall clock at its start, T, plus the offsets of its scenarios);
# U 0 is no TTL.
T0=$(sed -n 's/^store .*, T \([0-9]*\)$/\1/p' "$work/redis.out")
ttl_check() { # NAME KEY U N
    t=$(rcli TTL "$2")
    if [ "$3" = 0 ]; then check "redis: TTL of $1 (forever)" "-1" "$t"; return; fi
    want=$(( $3 - $4 )); late=$(( $(date +%s) - T0 + 3 ))
    if [ "$t" -le "$want" ] && [ "$t" -ge $((want - late)) ]; then ok "redis: TTL of $1 ($t, life $want)"
    else ko "redis: TTL of $1: $t, life $want"; fi
}
n=0
while read -r _ kind key u at; do
    n=$((n + 1))
    case $kind in
        fam) ttl_check "fam:$key" "${PREFIX}fam:$key" "$u" "$at"
             ttl_check "famst:$key" "${PREFIX}famst:$key" "$u" "$at" ;;
        *) ttl_check "$kind:$key" "${PREFIX}$kind:$key" "$u" "$at" ;;
    esac
done <<EOF
$(grep '^until ' "$work/redis.out")
EOF
[ $n -ge 8 ] && [ -n "$T0" ] && ok "redis: the driver told $n lives to check" || ko "redis: only $n lives told (T $T0)"

# A second run in the same store (other ids) meets nothing of the first.
run_driver --prefix "$PREFIX" --tag rt2 "$URL" >/dev/null
check "redis: a second run in the same store" 0 $?

# `jwtx blocklist count` and `list` show revocations only, never the
# session keys (two runs: each revoked one jti and set one user cut-off).
umask 077
cat >"$work/redis.conf" <<EOC
JWT_SECRET_KEY = "suite-secret-key-that-is-long-enough-for-hs256"
JWTX_BLOCKLIST = "$URL"
JWTX_BLOCKLIST_PREFIX = "$PREFIX"
EOC
out=$("$JWTX" blocklist --conf "$work/redis.conf" count 2>&1); rc=$?
check "redis: jwtx blocklist count ignores the session keys" "0 4" "$rc $out"
out=$("$JWTX" blocklist --conf "$work/redis.conf" list 2>&1 | cut -f1,2 | sort | tr '\n' ' '); rc=$?
check "redis: jwtx blocklist list ignores the session keys" \
    "jti	rt-p-revoked jti	rt2-p-revoked user	rt-ivan user	rt2-ivan " "$out"

# Scripts go as EVALSHA of their SHA1, in full (EVAL) only when the server
# does not have them. The runs above taught the server every family script:
# a run now sends no EVAL at all.
rcli CONFIG RESETSTAT >/dev/null
run_driver --prefix "$PREFIX" --tag rt3 "$URL" >/dev/null
check "redis: a run with the scripts known" 0 $?
cstat() { # COMMAND -> its calls in INFO commandstats (0: none)
    rcli INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}
n=$(cstat evalsha)
[ "$n" -gt 0 ] && ok "redis: scripts sent as EVALSHA ($n)" || ko "redis: no EVALSHA sent"
check "redis: no script sent in full when the server has it (EVAL calls)" 0 "$(cstat eval)"
# The server forgets its scripts (SCRIPT FLUSH, as a restart does) before
# every scenario, and once between two script calls in one scenario: every
# operation still answers right (sent in full after NOSCRIPT), nothing
# fails, no check is CLEAR that should not be.
rcli CONFIG RESETSTAT >/dev/null
flush="redis-cli -h 127.0.0.1 -p $port --no-auth-warning -a '$PASS' SCRIPT FLUSH >/dev/null"
run_driver --prefix "$PREFIX" --tag rt4 --between "$flush" "$URL" >/dev/null
check "redis: SCRIPT FLUSH between operations: driver exit status" 0 $?
grep '^FAIL' "$work/last.out" | head -n 5
n=$(cstat eval)
[ "$n" -gt 0 ] && ok "redis: after SCRIPT FLUSH the scripts are sent in full ($n EVAL)" \
    || ko "redis: after SCRIPT FLUSH no EVAL was sent"
n=$(cstat evalsha)
[ "$n" -gt 0 ] && ok "redis: and EVALSHA again afterwards ($n)" || ko "redis: no EVALSHA after SCRIPT FLUSH"

# A damaged store fails closed: a check is never CLEAR where the family's
# state is not a clean "1", and no operation reads a key of the wrong type
# as anything but a failure (-1).
probe() { # NAME EXPECTED FAM JTI USER
    got=$("$DRIVER" --prefix "$PREFIX" --probe "$3" "$4" "$5" "$URL" 2>&1 | grep -v '^store ' | tr '\n' ' ')
    check "redis damaged: $1" "$2" "${got% }"
}
rcli SET "${PREFIX}famst:bad1" x >/dev/null
rcli HSET "${PREFIX}fam:bad1" user bu1 started 1 last 0 expires 0 until 0 ended 0 >/dev/null
probe "family state neither 0 nor 1: check unavailable, rotation ENDED" \
    "check UNAVAILABLE rotate 2 list 0 end_user 0 end 0 get 1" bad1 bj1 bu1
rcli RPUSH "${PREFIX}famst:bad2" 1 >/dev/null
probe "family state of the wrong type" \
    "check UNAVAILABLE rotate -1 list 0 end_user 0 end -1 get 0" bad2 bj2 bu2
rcli SET "${PREFIX}famst:bad3" 1 >/dev/null
probe "live state without its record: rotate and end fail" \
    "check CLEAR rotate -1 list 0 end_user 0 end -1 get 0" bad3 bj3 bu3
rcli SET "${PREFIX}rot:bj4" x >/dev/null
probe "rotated record of the wrong type" \
    "check REVOKED rotate -1 list 0 end_user 0 end 0 get 0" bad4 bj4 bu4
rcli SET "${PREFIX}ufam:bu5" x >/dev/null
probe "user index of the wrong type" \
    "check REVOKED rotate 2 list -1 end_user -1 end 0 get 0" bad5 bj5 bu5
rcli SET "${PREFIX}famst:bad6" 1 >/dev/null
rcli HSET "${PREFIX}fam:bad6" user bu6 started abc last 0 expires 0 until 0 ended 0 >/dev/null
rcli ZADD "${PREFIX}ufam:bu6" +inf bad6 >/dev/null
probe "family record with a time that is not a number: list fails" \
    "check CLEAR rotate 0 list -1 end_user 0 end 0 get -1" bad6 bj6 bu6
rcli SET "${PREFIX}famst:bad7" 1 >/dev/null
rcli HSET "${PREFIX}fam:bad7" user bu7 started 1 last 0 expires zz until 0 ended 0 >/dev/null
rcli ZADD "${PREFIX}ufam:bu7" +inf bad7 >/dev/null
probe "family record with an expiry that is not a number: list fails" \
    "check CLEAR rotate 0 list -1 end_user 0 end 0 get -1" bad7 bj7 bu7

# ---- SQLite (the back end on branch sess-sqlite)
echo "--- the scenarios against SQLite"
umask 077
cat >"$work/sqlite.conf" <<EOC
JWT_SECRET_KEY = "suite-secret-key-that-is-long-enough-for-hs256"
JWTX_BLOCKLIST = "sqlite:$work/bl.db"
EOC
out=$("$JWTX" blocklist --conf "$work/sqlite.conf" init 2>&1); rc=$?
check "sqlite: jwtx blocklist init" "0" "$rc"
run_driver --tag st "sqlite:$work/bl.db"
check "sqlite: driver exit status" 0 $?
# The same scenarios, the same answers: the assertion lines of both runs,
# without what they got (ids and times differ), match one for one.
norm() { grep -E '^(ok  |FAIL) ' "$1" | sed -E 's/ \(got .*//; s/(rt|st)-//g; s/racer-[0-9]+/racer/g; s/T[+-][0-9]+//g; s/[0-9]{9,}//g'; }
norm "$work/redis.out" >"$work/redis.norm"
norm "$work/last.out" >"$work/sqlite.norm"
check "sqlite and redis: the same assertions, the same results" "" \
    "$(diff "$work/redis.norm" "$work/sqlite.norm" | head -n 6)"

# ---- Redis hanging (stopped with SIGSTOP: connections are accepted by the
# kernel, nothing answers): every operation times out, -1 / UNAVAILABLE.
echo "--- Redis not answering"
rpid=$(cat "$pidfile")
kill -STOP "$rpid"
run_driver --prefix "$PREFIX" --timeout 200 --down "$URL"
check "redis hanging: driver exit status" 0 $?
kill -CONT "$rpid"
check "redis hanging: a cause is a timeout" "1" \
    "$(grep -c 'down: a cause is given (.*\(timed out\|Resource temporarily unavailable\)' "$work/last.out")"
check "redis back: answers again" "PONG" "$(rcli PING)"

# ---- Redis down
echo "--- Redis down"
stop_redis
run_driver --prefix "$PREFIX" --down "$URL"
check "redis down: driver exit status" 0 $?
grep -q 'got CLEAR' "$work/last.out" && ko "redis down: a check was CLEAR" || ok "redis down: no check CLEAR"
case "$(cat "$work/last.out")" in *se*ss@pw*|*se%20ss*) ko "redis down: the password is shown";;
    *) ok "redis down: no password in the causes";; esac

echo "sessions-store: $pass passed, $fail failed"
[ $fail -eq 0 ]
