#!/bin/sh
# The library exports jwtx_* (public) and jwtxp_* (library-internal) symbols only.
set -u
lib=${1:-lib/libjwtx.a}
bad=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF==3 {print $3}' | grep -Ev '^(jwtx_|jwtxp_)' | sort -u)
if [ -n "$bad" ]; then
    echo "exports: symbols outside jwtx_/jwtxp_ in $lib:"; echo "$bad"
    echo "0 passed, 1 failed"; exit 1
fi
n=$(nm -g --defined-only "$lib" | awk 'NF==3' | wc -l)
echo "exports: $n symbols, all jwtx_/jwtxp_"
echo "1 passed, 0 failed"
