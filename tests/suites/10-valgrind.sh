#!/bin/sh
# Every unit program under valgrind memcheck: no invalid access, no leak.
# JWTX_TEST_QUICK=1 asks programs with exhaustive loops to shorten them.
cd "$(dirname "$0")/../.." || exit 1
export JWTX_TEST_QUICK=1
pass=0; fail=0
mkdir -p build/test-logs/valgrind
for bin in build/rel/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    log=build/test-logs/valgrind/$name.log
    if timeout 600 valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --suppressions=tests/valgrind.supp "$bin" >"$log" 2>&1; then
        echo "ok - valgrind $name"; pass=$((pass + 1))
    else
        echo "FAIL - valgrind $name (exit $?; see $log)"; tail -n 30 "$log"; fail=$((fail + 1))
    fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
