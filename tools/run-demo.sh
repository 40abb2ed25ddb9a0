#!/bin/sh
# make run: serve the demo with lighttpd in the foreground.
# Usage: tools/run-demo.sh CONF PORT [RUN_DIR] [--background]
# Run state (sockets, logs, the SQLite blocklist) goes under RUN_DIR
# (default ./run, ignored by git); Ctrl-C stops lighttpd and its programs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
conf=${1:-conf/jwtx.conf}
port=${2:-5000}
run=${3:-$root/run}
mode=${4:-}
case $conf in /*) ;; *) conf=$root/$conf ;; esac
mkdir -p "$run"
run=$(cd "$run" && pwd)

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
exec lighttpd -D -f "$run/lighttpd.conf"
