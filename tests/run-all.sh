#!/bin/sh
# make test: every suite, in order; each ends with its own "N passed, N failed"
# line, and this script ends with the sum of them all.
#   unit          CUnit programs, one per module (release build)
#   unit-asan     the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   exports       libjwtx.a exports only jwtx_/jwtxp_ symbols
#   suites        tests/suites/*.sh: interop, integration against real servers
# JWTX_TEST_ONLY=pattern runs only the suites whose name matches.
set -u
cd "$(dirname "$0")/.."

# Apache and nginx workers run as unprivileged users and must read the
# programs and the demo site. When this checkout is not readable by them
# (e.g. under /root), test a world-readable copy instead of failing there.
if [ "$(id -u)" = 0 ] && [ -z "${JWTX_TEST_STAGED:-}" ] &&
    ! runuser -u nobody -- test -r "$PWD/Makefile" 2>/dev/null; then
    stage=$(mktemp -d /tmp/jwtx-test-XXXXXX)
    chmod 0755 "$stage"
    echo "run-all: $PWD is not readable by unprivileged users; testing a copy in $stage/src"
    cp -a . "$stage/src" && chmod -R a+rX "$stage/src" || exit 1
    cd "$stage/src" || exit 1
    JWTX_TEST_STAGED=1 tests/run-all.sh
    rc=$?
    rm -rf "$stage"
    exit $rc
fi
mkdir -p build/test-logs
total_pass=0; total_fail=0; failed_suites=""

run_suite() {
    name=$1; shift
    log="build/test-logs/$name.log"
    echo "=== $name"
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -E 's/.*(^|: |[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(echo "$line" | sed -E 's/.*(^|: |[^0-9])([0-9]+) passed, ([0-9]+) failed.*/\3/')
    [ -n "$line" ] || { p=0; f=1; }
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [ "$f" -eq 0 ] || failed_suites="$failed_suites $name"
    echo "=== $name: $p passed, $f failed ($(( $(date +%s) - start ))s)"
}

want() { [ -z "${JWTX_TEST_ONLY:-}" ] || echo "$1" | grep -Eq "$JWTX_TEST_ONLY"; }

want unit && run_suite unit make --no-print-directory unit
want unit-asan && run_suite unit-asan make --no-print-directory unit-asan
want exports && run_suite exports tests/check-exports.sh lib/libjwtx.a
for s in tests/suites/*.sh; do
    [ -e "$s" ] || continue
    n=$(basename "$s" .sh)
    want "$n" && run_suite "$n" sh "$s"
done

echo
[ -n "$failed_suites" ] && echo "failing suites:$failed_suites"
echo "all suites: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
