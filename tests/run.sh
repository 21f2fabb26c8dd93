#!/bin/sh
# Builds the sanitizer test build, runs the unit tests (cmocka) and the API tests (Python,
# against real server processes), and ends with one line: "tests: N passed, N failed".
set -u
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
if ! make -s -j"$jobs" build/test/switchboard unit-bins >/tmp/switchboard-build.$$ 2>&1; then
    cat /tmp/switchboard-build.$$
    rm -f /tmp/switchboard-build.$$
    echo "tests: 0 passed, 1 failed"
    exit 1
fi
rm -f /tmp/switchboard-build.$$

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
passed=0
failed=0
skipped=0

# Real PostgreSQL and MariaDB servers for the probe tests and the PostgreSQL store, started in
# the background while the unit tests run and stopped on any exit.
peers_dir=$(mktemp -d /tmp/switchboard-peers.XXXXXX)
peers_pid=
peers_cleanup() {
    if [ -n "${browser_pid:-}" ]; then
        kill "$browser_pid" 2>/dev/null
        wait "$browser_pid" 2>/dev/null
    fi
    if [ -n "$peers_pid" ]; then
        wait "$peers_pid" 2>/dev/null
        peers_pid=
    fi
    tests/peers.sh stop "$peers_dir" >/dev/null 2>&1
    rm -rf "$peers_dir"
}
trap peers_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tests/peers.sh start "$peers_dir" >"$peers_dir/start.out" 2>&1 &
peers_pid=$!

# unit tests: cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
run_unit() {
    bin=$1
    shift
    out=$("$bin" "$@" 2>&1)
    status=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' |
        awk '{ n += $1 } END { print n + 0 }')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' |
        awk '{ n += $1 } END { print n + 0 }')
    k=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' |
        awk '{ n += $1 } END { print n + 0 }')
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or a sanitizer stopped it
    fi
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out"
    fi
    extra=
    [ "$k" -eq 0 ] || extra=", $k skipped"
    echo "unit $(basename "$bin")${1:+ ($1)}: $p passed, $f failed$extra"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + k))
}
for bin in build/test/unit/test_*; do
    [ -x "$bin" ] || continue
    case "$bin" in
    */test_store) run_unit "$bin" sqlite ;; # (PostgreSQL once the peers are up)
    *) run_unit "$bin" ;;
    esac
done

# the code as .clang-format writes it: a file clang-format would change fails (make format)
if make -s format-check >/tmp/switchboard-format.$$ 2>&1; then
    echo "format: every C file as clang-format writes it (1 passed)"
    passed=$((passed + 1))
else
    grep -E '^[^ ]+\.[ch]:[0-9]+' /tmp/switchboard-format.$$ | cut -d: -f1 | sort -u |
        sed 's/^/format: differs: /'
    echo "format: run make format (1 failed)"
    failed=$((failed + 1))
fi
rm -f /tmp/switchboard-format.$$

# the client library is linked into other people's programs: it returns SBC_ERR_NO_MEMORY
# instead of aborting, so it may not call abort() nor the server's aborting allocators
if make -s build/libswitchboard-client.a >/tmp/switchboard-client.$$ 2>&1 &&
    ! nm -u build/libswitchboard-client.a |
    grep -Eq '^ *U (abort|xmalloc|xcalloc|xrealloc|xstrdup|xstrndup|xcheck)$'; then
    echo "client library: never aborts (1 passed)"
    passed=$((passed + 1))
else
    cat /tmp/switchboard-client.$$
    nm -u build/libswitchboard-client.a 2>&1 | grep -E 'abort|xmalloc|xcalloc|xrealloc|xstr|xcheck'
    echo "client library: calls abort() or an aborting allocator (1 failed)"
    failed=$((failed + 1))
fi
rm -f /tmp/switchboard-client.$$

# API tests against real servers
wait "$peers_pid"
peers_status=$?
peers_pid=
if [ "$peers_status" -eq 0 ] && [ -s "$peers_dir/peers.env" ]; then
    export SWITCHBOARD_PEERS_ENV="$peers_dir/peers.env"
    run_unit build/test/unit/test_store postgresql
else
    echo "peers: PostgreSQL and MariaDB for the probe tests did not start (tests/peers.sh):"
    cat "$peers_dir/start.out"
    failed=$((failed + 1))
fi
# the whole API suite on each store: SQLite, then PostgreSQL (a fresh database per server)
run_api_suite() {
    echo "api suite on $1:"
    SWITCHBOARD_TEST_STORE=$1 SWITCHBOARD_BIN="$PWD/build/test/switchboard" \
        python3 tests/run_api.py >/tmp/switchboard-api.$$ 2>&1
    status=$?
    counts=$(sed -n 's/^api: \([0-9]*\) passed, \([0-9]*\) failed.*$/\1 \2/p' /tmp/switchboard-api.$$ |
        tail -n 1)
    k=$(sed -n 's/^api: .* \([0-9]*\) skipped$/\1/p' /tmp/switchboard-api.$$ | tail -n 1)
    skipped=$((skipped + ${k:-0}))
    if [ -z "$counts" ]; then
        cat /tmp/switchboard-api.$$
        counts="0 1"
    elif [ "$status" -ne 0 ]; then
        cat /tmp/switchboard-api.$$
    else
        tail -n 1 /tmp/switchboard-api.$$
    fi
    rm -f /tmp/switchboard-api.$$
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
}
# the console in a real browser (tests/browser/run.mjs: Debian's chromium, puppeteer-core from
# npm ci), in the background while the API suites run: it is mostly waiting on the browser
browser_out=/tmp/switchboard-browser.$$
browser_pid=
(
    cd tests/browser &&
        PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline >npm-ci.log 2>&1 ||
        { echo "browser: npm ci failed (tests/browser/npm-ci.log):"; tail -n 20 npm-ci.log; exit 1; }
    SWITCHBOARD_BIN="$PWD/../../build/test/switchboard" node run.mjs
) >"$browser_out" 2>&1 &
browser_pid=$!

run_api_suite sqlite
if [ -n "${SWITCHBOARD_PEERS_ENV:-}" ]; then
    run_api_suite postgresql
fi

wait "$browser_pid"
browser_status=$?
browser_pid=
counts=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed.*$/\1 \2/p' "$browser_out" | tail -n 1)
echo "browser suite:"
if [ -z "$counts" ]; then
    cat "$browser_out"
    counts="0 1"
elif [ "$browser_status" -ne 0 ]; then
    cat "$browser_out"
else
    tail -n 1 "$browser_out"
fi
rm -f "$browser_out"
passed=$((passed + ${counts% *}))
failed=$((failed + ${counts#* }))

# fuzz smoke: every libFuzzer harness of fuzz/ for a few seconds (about 30 s in all), one test
# each; `make fuzz` runs them longer
if make -s -j"$jobs" fuzz-bins >/tmp/switchboard-fuzz.$$ 2>&1; then
    for bin in build/fuzz/fuzz_*; do
        [ -x "$bin" ] || continue
        if fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-6}" "$bin"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
else
    cat /tmp/switchboard-fuzz.$$
    echo "fuzz: the harnesses did not build"
    failed=$((failed + 1))
fi
rm -f /tmp/switchboard-fuzz.$$

# skipped tests are neither passed nor failed: counted apart, on the line before the summary
echo "skipped: $skipped (unit and API tests that did not run here; see the lines above)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
