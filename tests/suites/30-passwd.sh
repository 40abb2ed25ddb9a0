#!/bin/sh
# `jwtx passwd` against Apache's own htpasswd (apache2-utils): files written by
# jwtx verify with `htpasswd -vb`, files written by htpasswd keep their other
# lines, and the terminal prompt (driven through a pseudo-terminal) works with
# echo off. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
J=tools/jwtx
HT=/usr/bin/htpasswd
PY=/usr/bin/python3
pass=0; fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
check() { # DESCRIPTION COMMAND...
    d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
is() { [ "$1" = "$2" ] && [ "$3" = "$4" ]; }   # RC WANT OUT WANT
has() { case "$1" in *"$2"*) return 0 ;; esac; return 1; }
hasnt() { ! has "$1" "$2"; }
fails() { ! "$@" 2>/dev/null; }
htv() { "$HT" -vb "$@" 2>/dev/null; }

if [ ! -x "$J" ] || [ ! -x "$HT" ]; then
    echo "30-passwd: needs $J (make) and $HT (apache2-utils)"
    echo "0 passed, 1 failed"; exit 1
fi
T=$(mktemp -d /tmp/jwtx-passwd-XXXXXX)
trap 'rm -rf "$T"' EXIT
F=$T/users

# 1. a new file, password on stdin
out=$(echo 'first pw' | $J passwd --cost 4 "$F" alice 2>&1); rc=$?
check "add: exit 0" [ $rc -eq 0 ]
check "add: message" [ "$out" = "jwtx: user alice added in $F" ]
check "add: htpasswd -vb accepts the password" htv "$F" alice 'first pw'
check "add: htpasswd -vb refuses another" fails htv "$F" alice 'first pwx'
check "add: new file has mode 0600" [ "$(stat -c %a "$F")" = 600 ]
check "add: \$2y\$04\$ hash as htpasswd -B writes" grep -q '^alice:\$2y\$04\$.\{53\}$' "$F"

# 2. update, default cost 10
out=$(echo 'second pw' | $J passwd "$F" alice 2>&1); rc=$?
check "update: exit 0 and message" is $rc 0 "$out" "jwtx: user alice updated in $F"
check "update: default cost 10" grep -q '^alice:\$2y\$10\$' "$F"
check "update: new password verifies" htv "$F" alice 'second pw'
check "update: old password no longer" fails htv "$F" alice 'first pw'
check "update: still one line" [ "$(wc -l <"$F")" -eq 1 ]

# 3. a file made by htpasswd: other users and comments kept byte for byte
G=$T/apache
$HT -c -b -m "$G" bob 'bob pw' 2>/dev/null
$HT -b -s "$G" carol 'carol pw' 2>/dev/null
$HT -b -B -C 4 "$G" dave 'dave pw' 2>/dev/null
printf '# managed by hand\n' >>"$G"
chmod 640 "$G"
cp "$G" "$T/apache.before"
echo 'dave new' | $J passwd --cost 4 "$G" dave >/dev/null 2>&1
check "keep: dave changed" htv "$G" dave 'dave new'
check "keep: bob (\$apr1\$) unchanged" htv "$G" bob 'bob pw'
check "keep: carol ({SHA}) unchanged" htv "$G" carol 'carol pw'
grep -v '^dave:' "$G" >"$T/other.after"
grep -v '^dave:' "$T/apache.before" >"$T/other.before"
check "keep: other lines byte for byte" cmp -s "$T/other.before" "$T/other.after"
check "keep: line order kept" [ "$(cut -d: -f1 "$G" | tr '\n' ' ')" = "bob carol dave # managed by hand " ]
check "keep: mode 0640 kept" [ "$(stat -c %a "$G")" = 640 ]
echo 'erin pw' | $J passwd --cost 4 "$G" erin >/dev/null 2>&1
check "keep: appended user verifies" htv "$G" erin 'erin pw'
check "keep: appended last" [ "$(tail -n 1 "$G" | cut -d: -f1)" = erin ]
check "keep: no temporary file left" [ "$(ls -a "$T" | grep -c '\.jwtx-')" -eq 0 ]

# 4. stdin details: CRLF stripped, only the first line used, spaces kept
printf 'crlf pw\r\nsecond line\n' | $J passwd --cost 4 "$F" crlf >/dev/null 2>&1
check "stdin: CRLF stripped" htv "$F" crlf 'crlf pw'
printf '  spaced  ' | $J passwd --cost 4 "$F" spaced >/dev/null 2>&1
check "stdin: no final newline, spaces kept" htv "$F" spaced '  spaced  '
printf 'ünïcödé ☃\n' | $J passwd --cost 4 "$F" 'zoë' >/dev/null 2>&1
check "stdin: UTF-8 user and password" htv "$F" 'zoë' 'ünïcödé ☃'

# 5. refusals leave the file alone
cp "$F" "$T/users.before"
echo pw | $J passwd --cost 3 "$F" x >/dev/null 2>&1; check "refuse: --cost 3 exits 2" [ $? -eq 2 ]
echo pw | $J passwd --cost 18 "$F" x >/dev/null 2>&1; check "refuse: --cost 18 exits 2" [ $? -eq 2 ]
echo pw | $J passwd --cost 15 "$F" x >/dev/null 2>&1; check "refuse: --cost 15 (above the users file limit of 14) exits 2" [ $? -eq 2 ]
echo pw | $J passwd --cost x "$F" x >/dev/null 2>&1; check "refuse: --cost x exits 2" [ $? -eq 2 ]
echo pw | $J passwd "$F" >/dev/null 2>&1; check "refuse: missing USER exits 2" [ $? -eq 2 ]
echo pw | $J passwd --bogus "$F" x >/dev/null 2>&1; check "refuse: unknown option exits 2" [ $? -eq 2 ]
out=$(echo pw | $J passwd "$F" 'a:b' 2>&1); rc=$?
check "refuse: ':' in user name" is $rc 1 "$out" "jwtx: passwd: ':' in user name"
out=$($J passwd "$F" x </dev/null 2>&1); rc=$?
check "refuse: empty stdin" is $rc 1 "$out" "jwtx: no password on standard input"
out=$(echo | $J passwd "$F" x 2>&1); rc=$?
check "refuse: empty password" is $rc 1 "$out" "jwtx: passwd: empty password"
out=$(head -c 600 /dev/zero | tr '\0' p | $J passwd "$F" x 2>&1); rc=$?
check "refuse: password over 511 bytes" is $rc 1 "$out" "jwtx: password longer than 511 bytes"
check "refuse: file unchanged" cmp -s "$F" "$T/users.before"

# 6. the terminal prompt, through a pseudo-terminal
tty_run() { # USER FIRST SECOND -> prints exit status and transcript
    "$PY" - "$J" "$F" "$1" "$2" "$3" <<'EOF'
import os, pty, sys, time
j, f, user, p1, p2 = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(j, [j, "passwd", "--cost", "4", f, user])
out = b""
def expect(s):
    global out
    end = time.time() + 10
    while s not in out and time.time() < end:
        try:
            out += os.read(fd, 1024)
        except OSError:
            break
expect(b"New password: ")
os.write(fd, p1.encode() + b"\n")
expect(b"Re-type new password: ")
os.write(fd, p2.encode() + b"\n")
while True:
    try:
        b = os.read(fd, 1024)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st))
sys.stdout.write(out.decode(errors="replace"))
EOF
}
res=$(tty_run ttyuser 'tty secret' 'tty secret')
check "tty: matching entries exit 0" [ "$(echo "$res" | head -n 1)" = 0 ]
check "tty: first prompt shown" has "$res" 'New password: '
check "tty: second prompt shown" has "$res" 'Re-type new password: '
check "tty: password not echoed" hasnt "$res" 'tty secret'
check "tty: message" has "$res" "jwtx: user ttyuser added in $F"
check "tty: htpasswd -vb accepts it" htv "$F" ttyuser 'tty secret'
res=$(tty_run ttyuser 'one' 'two')
check "tty: mismatch exits 1" [ "$(echo "$res" | head -n 1)" = 1 ]
check "tty: mismatch message" has "$res" 'jwtx: passwords do not match'
check "tty: mismatch leaves the password" htv "$F" ttyuser 'tty secret'

# 9. hash costs: htpasswd -C allows bcrypt up to 17, the gateway refuses more
# than 14 at load (one login would tie up a process); `jwtx config check`
# reads the users file as the programs do and reports the line
C=$T/cost
mkdir -p "$C"
printf 'JWT_SECRET_KEY = "0123456789abcdef0123456789abcdef"\nJWTX_USERS_FILE = "users"\n' >"$C/jwtx.conf"
chmod 600 "$C/jwtx.conf"
"$HT" -cbB -C 14 "$C/users" alice 'cost pw' 2>/dev/null
out=$($J config check "$C/jwtx.conf" 2>&1 >/dev/null); rc=$?
check "config check: bcrypt cost 14 (htpasswd -C 14) accepted" is "$rc" 0 "$out" "jwtx: $C/jwtx.conf: OK"
"$HT" -bB -C 15 "$C/users" bob 'cost pw' 2>/dev/null
out=$($J config check "$C/jwtx.conf" 2>&1 >/dev/null); rc=$?
check "config check: bcrypt cost 15 (htpasswd -C 15) refused with file and line" is "$rc" 1 "$out" \
    "jwtx: $C/users:2: bcrypt cost 15 is above the limit of 14 (each login would cost over a second of CPU); set a new password with: jwtx passwd"
printf 'carol:$6$rounds=999999999$saltsalt$%s\n' \
    'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ' >"$C/users"
out=$($J config check "$C/jwtx.conf" 2>&1 >/dev/null); rc=$?
check "config check: sha512-crypt rounds=999999999 refused" is "$rc" 1 "$out" \
    "jwtx: $C/users:1: \$6\$ sha512-crypt rounds=999999999 is above the limit of 1000000; set a new password with: jwtx passwd"

# 10. --conf: after the change, every token of the user is revoked (log out
# everywhere: the store's per-user cut-off, as `jwtx revoke --user`); checked
# with protected.fcgi run as a CGI program against the same store
L=$T/logout
mkdir -p "$L"
printf 'JWT_SECRET_KEY = "0123456789abcdef0123456789abcdef"\nJWTX_BLOCKLIST = "sqlite:%s/store.sqlite"\n' "$L" >"$L/jwtx.conf"
printf 'JWT_SECRET_KEY = "0123456789abcdef0123456789abcdef"\n' >"$L/nostore.conf"
printf 'JWT_SECRET_KEY = "0123456789abcdef0123456789abcdef"\nJWTX_BLOCKLIST = "redis://127.0.0.1:1/0"\n' >"$L/down.conf"
chmod 600 "$L"/*.conf
$J blocklist --conf "$L/jwtx.conf" init >/dev/null 2>&1
protected() { # CONF TOKEN -> the answer's status line and body
    env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/protected REMOTE_ADDR=127.0.0.1 \
        HTTP_AUTHORIZATION="Bearer $2" JWTX_CONF="$1" cgi-bin/protected.fcgi 2>/dev/null |
        grep -E '^Status:|^\{' | tr -d '\r' | tr '\n' ' '
}
U=$L/users
echo 'old pw' | $J passwd --cost 4 "$U" frank >/dev/null 2>&1
tok=$($J token create --conf "$L/jwtx.conf" --identity frank 2>/dev/null)
other=$($J token create --conf "$L/jwtx.conf" --identity gina 2>/dev/null)
check "conf: before, frank's token is accepted" has "$(protected "$L/jwtx.conf" "$tok")" 'Status: 200'
out=$(echo 'new pw' | $J passwd --cost 4 --conf "$L/jwtx.conf" "$U" frank 2>&1); rc=$?
check "conf: exit 0" [ $rc -eq 0 ]
check "conf: says the password changed" has "$out" "jwtx: user frank updated in $U"
check "conf: says every token was revoked" has "$out" "jwtx: revoked every token of frank issued at or before "
check "conf: the new password verifies" htv "$U" frank 'new pw'
check "conf: frank's old token is refused" \
    has "$(protected "$L/jwtx.conf" "$tok")" 'Status: 401 UNAUTHORIZED {"msg":"Token has been revoked"}'
check "conf: another user's token still works" has "$(protected "$L/jwtx.conf" "$other")" 'Status: 200'
check "conf: the store holds the user's cut-off" has "$($J blocklist --conf "$L/jwtx.conf" list 2>&1)" "user	frank	"
sleep 1
tok2=$($J token create --conf "$L/jwtx.conf" --identity frank 2>/dev/null)
check "conf: a token issued after the change works" has "$(protected "$L/jwtx.conf" "$tok2")" 'Status: 200'
out=$(echo 'newer pw' | $J passwd --cost 4 "--conf=$L/jwtx.conf" "$U" frank 2>&1); rc=$?
check "conf: --conf=FILE form" is $rc 0 "$(protected "$L/jwtx.conf" "$tok2")" \
    'Status: 401 UNAUTHORIZED {"msg":"Token has been revoked"} '
# JWTX_BCRYPT_COST: the cost of `jwtx passwd --conf` when --cost is not given
printf 'JWT_SECRET_KEY = "0123456789abcdef0123456789abcdef"\nJWTX_BLOCKLIST = "sqlite:%s/store.sqlite"\nJWTX_BCRYPT_COST = 5\n' "$L" >"$L/cost5.conf"
chmod 600 "$L/cost5.conf"
out=$(echo 'cost pw' | $J passwd --conf "$L/cost5.conf" "$U" hank 2>&1); rc=$?
check "cost: exit 0 with JWTX_BCRYPT_COST = 5" [ $rc -eq 0 ]
check "cost: JWTX_BCRYPT_COST = 5 gives a \$2y\$05\$ hash" grep -q '^hank:\$2y\$05\$' "$U"
check "cost: ... that verifies" htv "$U" hank 'cost pw'
echo 'cost pw2' | $J passwd --cost 4 --conf "$L/cost5.conf" "$U" hank >/dev/null 2>&1
check "cost: --cost 4 wins over JWTX_BCRYPT_COST" grep -q '^hank:\$2y\$04\$' "$U"
echo 'cost pw3' | $J passwd --conf "$L/jwtx.conf" "$U" hank >/dev/null 2>&1
check "cost: a conf without JWTX_BCRYPT_COST: its default 10" grep -q '^hank:\$2y\$10\$' "$U"
cp "$U" "$T/users.before"
out=$(echo 'x pw' | $J passwd --cost 4 --conf "$L/missing.conf" "$U" frank 2>&1); rc=$?
check "conf: a conf that cannot be read: exit 1, named" is $rc 1 "$out" "jwtx: $L/missing.conf: cannot open: No such file or directory"
out=$(echo 'x pw' | $J passwd --cost 4 --conf "$L/nostore.conf" "$U" frank 2>&1); rc=$?
check "conf: a conf with no store: exit 1" is $rc 1 "$out" "jwtx: $L/nostore.conf sets no revocation store (JWTX_BLOCKLIST)"
check "conf: ... and the password is NOT changed" cmp -s "$U" "$T/users.before"
echo pw | $J passwd --conf "$L/jwtx.conf" --conf "$L/jwtx.conf" "$U" frank >/dev/null 2>&1
check "conf: --conf twice exits 2" [ $? -eq 2 ]
echo pw | $J passwd "$U" frank --conf >/dev/null 2>&1
check "conf: --conf without a value exits 2" [ $? -eq 2 ]
out=$(echo 'down pw' | $J passwd --cost 4 --conf "$L/down.conf" "$U" frank 2>&1); rc=$?
check "conf: store unavailable: exit 3" [ $rc -eq 3 ]
check "conf: store unavailable: says the password DID change and what to run" has "$out" \
    "jwtx: the password of frank WAS changed, but its tokens are not revoked; run: jwtx revoke --conf $L/down.conf --user frank"
check "conf: store unavailable: the new password is in place" htv "$U" frank 'down pw'

echo "30-passwd: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
