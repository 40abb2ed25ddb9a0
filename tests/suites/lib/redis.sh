# tests/suites/lib/redis.sh: a private redis-server for a suite (sourced from
# the repository root, not a suite itself: run-all.sh runs tests/suites/*.sh).
# The suite sets, before calling these:
#   work     its temporary directory (the server's --dir and redis.log)
#   pidfile  the server's pid file (ours: stop_redis ends only that pid)
#   PASS     the server's password (--requirepass)
# start_redis sets port.

port=

stop_redis() {
    if [ -s "$pidfile" ]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null
        i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
        rm -f "$pidfile"
    fi
}

# Starts redis-server on port $1 (or a random free one) and checks that the
# server answering there is the one whose pid is in our pidfile; sets port.
start_redis() {
    want=${1:-}
    for attempt in 1 2 3 4 5; do
        p=${want:-$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))}
        rm -f "$pidfile"
        redis-server --bind 127.0.0.1 --port "$p" --save '' --appendonly no \
            --daemonize yes --pidfile "$pidfile" --dir "$work" --logfile "$work/redis.log" \
            --requirepass "$PASS" >/dev/null 2>&1
        i=0
        while [ $i -lt 100 ]; do
            if [ -s "$pidfile" ]; then
                got=$(redis-cli -h 127.0.0.1 -p "$p" --no-auth-warning -a "$PASS" INFO server 2>/dev/null \
                      | tr -d '\r' | sed -n 's/^process_id://p')
                if [ -n "$got" ] && [ "$got" = "$(cat "$pidfile")" ]; then port=$p; return 0; fi
                kill -0 "$(cat "$pidfile")" 2>/dev/null || break
            fi
            sleep 0.05; i=$((i + 1))
        done
        stop_redis
        [ -n "$want" ] && return 1
    done
    return 1
}

# start_redis, or the suite ends as one failure (with the server's log).
start_redis_or_exit() {
    if ! start_redis; then
        echo "could not start redis-server"; cat "$work/redis.log" 2>/dev/null
        echo "0 passed, 1 failed"; exit 1
    fi
    echo "redis-server on 127.0.0.1:$port (pid $(cat "$pidfile"))"
}
