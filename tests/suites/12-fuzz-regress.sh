#!/bin/sh
# Replays every committed fuzz input (tests/fuzz/corpus/<target>/: seeds and
# inputs kept from fuzzing campaigns) once through its libFuzzer target,
# built with AddressSanitizer + UndefinedBehaviorSanitizer. No new fuzzing:
# a few seconds once the targets are built. Each input is one test; a crash,
# leak, overread, UB or property failure fails it. clang with the libFuzzer
# runtime is required (tools/deps.sh installs clang and libclang-rt-14-dev);
# when it is missing this suite fails instead of skipping.
# FUZZ_OUT=dir builds the targets somewhere other than build/fuzz.
cd "$(dirname "$0")/../.." || exit 1
OUT=${FUZZ_OUT:-$PWD/build/fuzz}
logdir=build/test-logs/fuzz
mkdir -p "$logdir"
pass=0; fail=0

if ! make --no-print-directory -C tests/fuzz OUT="$OUT" build >"$logdir/build.log" 2>&1; then
    tail -n 30 "$logdir/build.log"
    echo "FAIL - fuzz targets do not build (clang and the libFuzzer runtime are required:"
    echo "       apt-get install clang libclang-rt-14-dev, or run tools/deps.sh; log: $logdir/build.log)"
    echo "fuzz-regress: 0 passed, 1 failed"
    exit 1
fi

targets=$(sed -n 's/^TARGETS := //p' tests/fuzz/Makefile)
for t in $targets; do
    set -- tests/fuzz/corpus/"$t"/*
    if [ ! -f "$1" ]; then
        echo "FAIL - fuzz_$t: no corpus in tests/fuzz/corpus/$t"; fail=$((fail + 1)); continue
    fi
    n=$#
    log="$logdir/$t.log"
    # all inputs of a target in one process; on a failure, one process per
    # input, so each failing input is named and counted
    if "$OUT/fuzz_$t" -runs=1 -timeout=10 -rss_limit_mb=2048 "$@" </dev/null >"$log" 2>&1; then
        pass=$((pass + n)); echo "ok - fuzz_$t: $n/$n corpus inputs"
        continue
    fi
    bad=0
    for f in "$@"; do
        flog="$logdir/$t-$(basename "$f").log"
        if "$OUT/fuzz_$t" -runs=1 -timeout=10 -rss_limit_mb=2048 "$f" </dev/null >"$flog" 2>&1; then
            pass=$((pass + 1)); rm -f "$flog"
        else
            fail=$((fail + 1)); bad=$((bad + 1))
            echo "FAIL - fuzz_$t $f (see $flog)"
            grep -E 'ERROR|runtime error|property failed|SUMMARY' "$flog" | head -n 5
        fi
    done
    echo "$([ "$bad" -eq 0 ] && echo ok || echo FAIL) - fuzz_$t: $((n - bad))/$n corpus inputs"
done
echo "fuzz-regress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
