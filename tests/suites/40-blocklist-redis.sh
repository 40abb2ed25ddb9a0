#!/bin/sh
# 40-blocklist-redis: `jwtx revoke` and `jwtx blocklist` end to end against a
# real redis-server (started here on a free 127.0.0.1 port below 32768, with
# a password and a database number) and a SQLite file. Checks exit codes,
# what lands in the store (keys, TTL), and exit 3 with a clear message while
# Redis is down. Stops only the server it started (by its own pidfile).
# Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
JWTX=$PWD/tools/jwtx
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok "$1"; else ko "$1: expected [$2], got [$3]"; fi
}

[ -x "$JWTX" ] || make --no-print-directory tools/jwtx >/dev/null 2>&1
if [ ! -x "$JWTX" ]; then echo "tools/jwtx is not built"; echo "0 passed, 1 failed"; exit 1; fi

work=$(mktemp -d /tmp/jwtx-suite-blocklist-XXXXXX)
pidfile=$work/redis.pid
. tests/suites/lib/redis.sh
cleanup() { stop_redis; rm -rf "$work"; }
trap cleanup EXIT INT TERM

PASS='pa ss@word'
rcli() { redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$PASS" -n 4 "$@"; }

start_redis_or_exit

SECRET='suite-secret-key-that-is-long-enough-for-hs256'
# The conf files hold the secret inline: readable by their owner only, as the
# programs and the tool ask (they warn about a conf every user can read).
umask 077
cat >"$work/redis.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
JWTX_BLOCKLIST = "redis://:pa%20ss%40word@127.0.0.1:$port/4"
JWTX_BLOCKLIST_PREFIX = "suite:"
JWTX_BLOCKLIST_TIMEOUT_MS = 300
EOC
cat >"$work/sqlite.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
JWTX_BLOCKLIST = "sqlite:$work/bl.db"
EOC
cat >"$work/none.conf" <<EOC
JWT_SECRET_KEY = "$SECRET"
EOC

# The store is made on purpose only (jwtx blocklist init), never by a command
# that uses it.
out=$("$JWTX" revoke --conf "$work/sqlite.conf" --jti j-early --until 0 2>&1); rc=$?
check "sqlite: no store yet: revoke exits 3" 3 $rc
case "$out" in *"revocation store (sqlite) is unavailable: sqlite $work/bl.db: no store file (\`jwtx blocklist init\` creates it)"*)
    ok "sqlite: no store yet: message";; *) ko "sqlite: no store yet: message: $out";; esac
check "sqlite: no store yet: nothing created" "" "$(ls "$work" | grep '^bl\.db')"
out=$(umask 077; "$JWTX" blocklist --conf "$work/sqlite.conf" init 2>&1); rc=$?
check "sqlite: init" "0 created the revocation store sqlite:$work/bl.db (mode 0600)" "$rc $out"
out=$("$JWTX" blocklist --conf "$work/sqlite.conf" init 2>&1); rc=$?
check "sqlite: init again leaves it" "0 the revocation store sqlite:$work/bl.db exists already: left as it is" "$rc $out"
out=$("$JWTX" blocklist --conf "$work/redis.conf" init 2>&1); rc=$?
check "redis: init" "0 the revocation store (redis) answers: nothing to create" "$rc $out"
case "$out" in *pa*ss*) ko "redis: init prints no password";; *) ok "redis: init prints no password";; esac
printf 'junk that is not a database\n' >"$work/junk.db"
sed "s|bl.db|junk.db|" "$work/sqlite.conf" >"$work/junk.conf"
out=$("$JWTX" blocklist --conf "$work/junk.conf" init 2>&1); rc=$?
check "sqlite: init refuses a file that is not a store (exit 1)" 1 $rc
check "sqlite: ... and leaves it alone" "junk that is not a database" "$(cat "$work/junk.db")"

now=$(date +%s)
for store in redis sqlite; do
    conf=$work/$store.conf
    out=$("$JWTX" revoke --conf "$conf" --jti j-forever --until 0 2>&1); rc=$?
    check "$store: revoke --jti forever exit" 0 $rc
    check "$store: revoke --jti forever message" "revoked jti j-forever forever" "$out"
    out=$("$JWTX" revoke --conf "$conf" --jti j-later --until $((now + 600)) 2>&1); rc=$?
    check "$store: revoke --jti --until exit" 0 $rc
    out=$("$JWTX" revoke --conf "$conf" --jti j-past --until 5 2>&1); rc=$?
    check "$store: revoke an expired jti" "0 jti j-past expired at 5: nothing to store" "$rc $out"
    out=$("$JWTX" revoke --conf "$conf" --user alice --at 1234 2>&1); rc=$?
    check "$store: revoke --user" "0 revoked every token of alice issued at or before 1234" "$rc $out"
    tok=$("$JWTX" token create --conf "$conf" --identity carol --expires 900 2>/dev/null)
    if [ -n "$tok" ]; then
        out=$("$JWTX" revoke --conf "$conf" "$tok" 2>&1); rc=$?
        check "$store: revoke TOKEN exit" 0 $rc
        case "$out" in "revoked jti "*" until "*) ok "$store: revoke TOKEN message";;
                       *) ko "$store: revoke TOKEN message: $out";; esac
        jti=$(echo "$out" | awk '{print $3}')
    else
        ko "$store: jwtx token create did not work"; jti=none
    fi
    out=$("$JWTX" revoke --conf "$conf" "not.a.token" 2>&1); rc=$?
    check "$store: revoke a bad token exits 1" 1 $rc
    out=$("$JWTX" blocklist --conf "$conf" count 2>&1); rc=$?
    check "$store: count" "0 4" "$rc $out"
    out=$("$JWTX" blocklist --conf "$conf" list 2>&1 | sort); rc=$?
    exp_list=$(printf 'jti\t%s\t%s\njti\tj-forever\tforever\njti\tj-later\t%s\nuser\talice\t1234\n' \
        "$jti" "$(echo "$out" | awk -v j="$jti" '$2 == j {print $3}')" $((now + 600)) | sort)
    check "$store: list" "$exp_list" "$out"
    out=$("$JWTX" blocklist --conf "$conf" purge 2>&1); rc=$?
    check "$store: purge" "0 removed 0 expired entries" "$rc $out"
    [ "$store" = redis ] && redis_jti=$jti
done

# What Redis holds: prefix, database 4, TTLs.
check "redis: forever key has no TTL" "-1" "$(rcli TTL suite:jti:j-forever)"
ttl=$(rcli TTL suite:jti:j-later)
if [ "$ttl" -ge 598 ] && [ "$ttl" -le 600 ]; then ok "redis: TTL = until - now ($ttl)"; else ko "redis: TTL $ttl"; fi
ttl=$(rcli TTL "suite:jti:$redis_jti")
if [ "$ttl" -ge 898 ] && [ "$ttl" -le 900 ]; then ok "redis: token TTL = exp - now ($ttl)"; else ko "redis: token TTL $ttl"; fi
check "redis: user cut-off value" "1234" "$(rcli GET suite:user:alice)"
check "redis: nothing in database 0" "0" "$(redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning -a "$PASS" -n 0 DBSIZE)"
check "sqlite: file mode" "600" "$(stat -c %a "$work/bl.db")"

# A read-only SQLite store, as a user who cannot write it (root cannot be
# refused a write, so the commands run as nobody): checks (count, list) keep
# answering, revocations fail with exit 3. In a read-only directory with no
# -shm file SQLite cannot open it at all.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    for d in rw-dir ro-dir; do
        mkdir -p "$work/$d" && chmod 755 "$work" "$work/$d"
        sed "s|$work/bl.db|$work/$d/bl.db|" "$work/sqlite.conf" >"$work/$d/c.conf"
        "$JWTX" blocklist --conf "$work/$d/c.conf" init >/dev/null 2>&1
        "$JWTX" revoke --conf "$work/$d/c.conf" --jti j-ro --until 0 >/dev/null 2>&1
        chmod 644 "$work/$d/bl.db"
        chown nobody "$work/$d/c.conf"
    done
    chmod 777 "$work/rw-dir"
    out=$(asnobody "$JWTX" blocklist --conf "$work/rw-dir/c.conf" list 2>&1); rc=$?
    check "read-only file: checks still answer (list)" "0 jti	j-ro	forever" "$rc $out"
    out=$(asnobody "$JWTX" revoke --conf "$work/rw-dir/c.conf" --jti j-new --until 0 2>&1); rc=$?
    check "read-only file: revoke exits 3" 3 $rc
    case "$out" in *"attempt to write a readonly database"*) ok "read-only file: says why";;
                   *) ko "read-only file: says why: $out";; esac
    out=$(asnobody "$JWTX" blocklist --conf "$work/ro-dir/c.conf" count 2>&1); rc=$?
    check "read-only file and directory, no -shm: unavailable (exit 3)" 3 $rc
    chmod 700 "$work"
else
    ok "read-only store: skipped (needs root and setpriv to act as another user)"
fi

# No store configured.
out=$("$JWTX" blocklist --conf "$work/none.conf" count 2>&1); rc=$?
check "no store: exit 1" 1 $rc
# config check reads the store URL as the programs do: one they refuse at
# start-up is an error (exit 1) there too, the password never shown.
for u in 'redis://:Pw-cc-1@127.0.0.1:6379/abc' 'redis://:Pw-cc-1@127.0.0.1:0/0' \
         'unix:/tmp/x.sock?password=Pw-cc-1&db=zz'; do
    printf 'JWT_SECRET_KEY = "%s"\nJWTX_BLOCKLIST = "%s"\n' \
        0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef "$u" >"$work/bad-url.conf"
    chmod 600 "$work/bad-url.conf"
    out=$("$JWTX" config check "$work/bad-url.conf" 2>&1); rc=$?
    check "config check: unusable store URL is an error (exit 1)" 1 $rc
    case "$out" in *"JWTX_BLOCKLIST: JWTX_BLOCKLIST"*) ko "config check: ... names JWTX_BLOCKLIST twice: [$out]" ;;
        *"bad-url.conf: JWTX_BLOCKLIST: "*) ok "config check: ... names JWTX_BLOCKLIST once" ;;
        *) ko "config check: ... names JWTX_BLOCKLIST: [$out]" ;; esac
    case "$out" in *Pw-cc-1*) ko "config check: ... shows the password: [$out]" ;;
        *) ok "config check: ... password not shown" ;; esac
done
printf 'JWT_SECRET_KEY = "%s"\nJWTX_BLOCKLIST = "redis://:Pw-cc-1@127.0.0.1:6379/2"\n' \
    0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef >"$work/bad-url.conf"
out=$("$JWTX" config check "$work/bad-url.conf" 2>&1 >/dev/null); rc=$?
check "config check: a usable store URL (not asked) is OK" "0 jwtx: $work/bad-url.conf: OK" "$rc $out"
# Usage errors.
"$JWTX" revoke --conf "$work/redis.conf" --jti x >/dev/null 2>&1; check "usage: --jti without --until" 2 $?
"$JWTX" blocklist --conf "$work/redis.conf" frobnicate >/dev/null 2>&1; check "usage: bad action" 2 $?
out=$("$JWTX" blocklist --conf "$work/none.conf" init 2>&1); rc=$?
check "no store: init exits 1" 1 $rc

# Redis down: exit 3 with a clear message, quickly; then back.
stop_redis
t0=$(date +%s)
out=$("$JWTX" revoke --conf "$work/redis.conf" --jti j-down --until 0 2>&1); rc=$?
check "redis down: revoke exits 3" 3 $rc
case "$out" in *"revocation store (redis) is unavailable: redis 127.0.0.1:$port: connect"*)
    ok "redis down: message";; *) ko "redis down: message: $out";; esac
out=$("$JWTX" blocklist --conf "$work/redis.conf" count 2>&1); rc=$?
check "redis down: count exits 3" 3 $rc
[ $(( $(date +%s) - t0 )) -le 3 ] && ok "redis down: answers within the timeout" || ko "redis down: too slow"
if start_redis "$port"; then
    out=$("$JWTX" revoke --conf "$work/redis.conf" --jti j-back --until 0 2>&1); rc=$?
    check "redis back: revoke works again" 0 $rc
    check "redis back: key stored" "1" "$(rcli EXISTS suite:jti:j-back)"
else
    ko "redis back: could not restart on port $port"
fi

echo "blocklist-redis: $pass passed, $fail failed"
[ $fail -eq 0 ]
