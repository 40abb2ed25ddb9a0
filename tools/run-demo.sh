#!/bin/sh
# make run: serve the demo with lighttpd in the foreground.
# Usage: tools/run-demo.sh CONF PORT [RUN_DIR] [--background]
# Run state (sockets, logs, the SQLite blocklist) goes under RUN_DIR
# (default ./run, ignored by git); Ctrl-C (also SIGTERM, SIGHUP) stops
# lighttpd and every program it started.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-conf/jwtx.conf}
port=${2:-5000}
run=${3:-$root/run}
mode=${4:-}
case $conf in /*) ;; *) conf=$root/$conf ;; esac
mkdir -p "$run"
run=$(cd "$run" && pwd)

# The demo conf holds its secret inline (a public, demo-only one); every
# program warns at start-up about such a conf when all users can read it. The
# demo's lighttpd runs as you, so other users need no read access: drop it
# (git does not track that bit). Other conf files are left as they are.
if [ "$conf" = "$root/conf/jwtx.conf" ] && [ -O "$conf" ]; then
    chmod o-r "$conf"
fi
if ! checked=$("$root/tools/jwtx" config check "$conf"); then
    echo "run: $conf is not valid (see above)" >&2
    exit 1
fi
# The programs never create the revocation store: make it here, as an
# installer would (a no-op when it exists; nothing to do without a store).
store=$(printf '%s\n' "$checked" | sed -n 's/^  "JWTX_BLOCKLIST": "\(.*\)",$/\1/p')
if [ -n "$store" ]; then
    case $store in sqlite:/*) mkdir -p "$(dirname "${store#sqlite:}")" ;; esac
    "$root/tools/jwtx" blocklist --conf "$conf" init >/dev/null || {
        echo "run: cannot make the revocation store (see above)" >&2
        exit 1
    }
fi
sed -e "s|@ROOT@|$root|g" -e "s|@RUN@|$run|g" -e "s|@PORT@|$port|g" -e "s|@CONF@|$conf|g" \
    "$root/conf/lighttpd/demo.conf.in" > "$run/lighttpd.conf"
lighttpd -tt -f "$run/lighttpd.conf" >/dev/null

if [ "$mode" = --background ]; then
    lighttpd -f "$run/lighttpd.conf"
    exit 0
fi
echo "jwtx demo on http://127.0.0.1:$port/  (login page: /login.html, user testuser / testpass)"
echo "conf: $conf   run state: $run   Ctrl-C stops"

# Stopping. A terminal's Ctrl-C sends SIGINT to its whole foreground process
# group. lighttpd takes SIGINT as a graceful shutdown, and its programs, in the
# same group, die of it: lighttpd respawns them during the shutdown and exits
# without them, so they stay behind. So lighttpd runs in a session of its own
# (no terminal signals reach it or its programs), and this script turns
# Ctrl-C, SIGTERM, SIGHUP (terminal closed) and SIGQUIT into a SIGTERM to
# lighttpd, which stops its programs and exits. If this script dies without
# its traps (SIGKILL), the kernel sends lighttpd SIGTERM (setpriv --pdeathsig).
signalled=
lighttpd=
caught() {
    [ -z "$signalled" ] || return 0
    signalled=$1
    [ -z "$lighttpd" ] || kill -TERM "$lighttpd" 2>/dev/null || :
}
for sig in INT TERM HUP QUIT; do
    trap "trapped=1; caught $sig" "$sig"
done
pdeath=
if setpriv --pdeathsig TERM -- true 2>/dev/null; then
    pdeath="setpriv --pdeathsig TERM --"
fi
setsid $pdeath lighttpd -D -f "$run/lighttpd.conf" &
lighttpd=$!
[ -z "$signalled" ] || kill -TERM "$lighttpd" 2>/dev/null || :

# wait returns when lighttpd ends or when a trapped signal arrives.
status=0
while :; do
    trapped=
    status=0
    wait "$lighttpd" || status=$?
    [ -n "$trapped" ] || break
done

# Whatever is left in lighttpd's session (its programs, a CGI program) belongs
# to this run and nothing else: none is expected, but none may stay. The
# commands below share this script's process group: more signals to the
# group (Ctrl-C again) must not cut them short, so they are ignored now.
trap '' INT TERM HUP QUIT
session_left() {
    ps -o pid=,stat= -s "$lighttpd" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }'
}
left=$(session_left)
tries=0
while [ -n "$left" ] && [ "$tries" -lt 30 ]; do
    if [ "$tries" -eq 10 ]; then
        echo "run: stopping what lighttpd left behind: $(echo $left)" >&2
        kill -TERM $left 2>/dev/null || :
    fi
    sleep 0.1
    tries=$((tries + 1))
    left=$(session_left)
done
[ -z "$left" ] || kill -KILL $left 2>/dev/null || :

# End as the signal would have ended us, so that make and shells see it.
trap - INT TERM HUP QUIT
case $signalled in
    "") exit "$status" ;;
    QUIT) exit 131 ;;
    *) kill -s "$signalled" $$ ;;
esac
exit 1
