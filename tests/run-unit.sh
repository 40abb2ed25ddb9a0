#!/bin/sh
# Runs every CUnit program given, shows its output, sums the tests.
# Usage: tests/run-unit.sh OUTDIR BIN...
set -u
out=$1; shift
pass=0; fail=0; bad=0
for bin in "$@"; do
    log="$out/$(basename "$bin").log"
    "$bin" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^ +tests +[0-9]+' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        # tests  Total Ran Passed Failed Inactive
        p=$(echo "$line" | awk '{print $4}'); f=$(echo "$line" | awk '{print $5}')
        pass=$((pass + p)); fail=$((fail + f))
    fi
    if [ $rc -ne 0 ]; then
        echo "unit: $(basename "$bin") exited $rc"
        bad=$((bad + 1))
        [ -z "$line" ] && fail=$((fail + 1))
    fi
done
echo "unit tests ($out): $pass passed, $fail failed"
[ $bad -eq 0 ] && [ $fail -eq 0 ]
