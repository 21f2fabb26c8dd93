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
out_dir=$(mktemp -d /tmp/switchboard-tests.XXXXXX) # every suite's output, apart
peers_cleanup() {
    for pid in ${prebuild_pid:-} ${bg_pids:-} ${browser_pid:-} ${fuzz_pid:-}; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "$peers_pid" ]; then
        wait "$peers_pid" 2>/dev/null
        peers_pid=
    fi
    tests/peers.sh stop "$peers_dir" >/dev/null 2>&1
    rm -rf "$peers_dir" "$out_dir"
}
trap peers_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tests/peers.sh start "$peers_dir" >"$peers_dir/start.out" 2>&1 &
peers_pid=$!

# what tests/api runs make for (test_install, test_cli's examples, test_upgrade's binary of an
# older commit, kept under build/upgrade/) is built in the background while the unit tests run,
# and before the API shards start, so two shards never build the same files at once; the fuzz
# harnesses too
echo "not built" >"$out_dir/fuzz-build"
(
    make -s -j"$jobs" all examples build/completion/switchboard.bash \
        build/completion/_switchboard || exit 1
    make -s -j"$jobs" fuzz-bins >"$out_dir/fuzz-build" 2>&1 && rm -f "$out_dir/fuzz-build"
    cd tests/api && python3 -c 'import test_upgrade; print(test_upgrade.build_old_binary() or "", end="")'
) >"$out_dir/prebuild" 2>&1 &
prebuild_pid=$!

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
if make -s format-check >"$out_dir/format" 2>&1; then
    echo "format: every C file as clang-format writes it (1 passed)"
    passed=$((passed + 1))
else
    grep -E '^[^ ]+\.[ch]:[0-9]+' "$out_dir/format" | cut -d: -f1 | sort -u |
        sed 's/^/format: differs: /'
    echo "format: run make format (1 failed)"
    failed=$((failed + 1))
fi
rm -f "$out_dir/format"

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
# the console in a real browser (tests/browser/run.mjs: Debian's chromium, puppeteer-core from
# npm ci), started first: it is the longest of the suites that run side by side
(
    cd tests/browser &&
        PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline >npm-ci.log 2>&1 ||
        { echo "browser: npm ci failed (tests/browser/npm-ci.log):"; tail -n 20 npm-ci.log; exit 1; }
    SWITCHBOARD_BIN="$PWD/../../build/test/switchboard" node run.mjs
) >"$out_dir/browser" 2>&1 &
browser_pid=$!

# The suites that drive real processes mostly wait (on servers, sockets, the browser), so they
# run side by side: the API suite on SQLite and on PostgreSQL, each split by module into
# shards (tests/run_api.py --shard: $SWITCHBOARD_API_SHARDS on SQLite, $SWITCHBOARD_API_PG_SHARDS on
# PostgreSQL, whose modules take longer), the browser suite and the fuzz
# smoke. Each has its own output file; each API shard its own port range (below the kernel's
# ephemeral ports, SWITCHBOARD_TEST_PORTS), and every server its own data directory and, on
# PostgreSQL, its own database (tests/api/server.py). Their reports are printed in a fixed order
# once all have ended.
sqlite_shards=${SWITCHBOARD_API_SHARDS:-2}
pg_shards=${SWITCHBOARD_API_PG_SHARDS:-3}
shards_of() { # STORE
    if [ "$1" = postgresql ]; then echo "$pg_shards"; else echo "$sqlite_shards"; fi
}
port_base=$((12000 + ($$ % 10) * 2000)) # another make test on this machine likely has another
port_span=$((2000 / (sqlite_shards + pg_shards)))
bg_pids=
start_api_shard() { # STORE I N SLOT
    lo=$((port_base + $4 * port_span))
    SWITCHBOARD_TEST_STORE=$1 SWITCHBOARD_BIN="$PWD/build/test/switchboard" \
        SWITCHBOARD_TEST_PORTS="$lo-$((lo + port_span - 1))" \
        python3 tests/run_api.py --shard "$2/$3" >"$out_dir/api-$1-$2" 2>&1 &
    bg_pids="$bg_pids $!"
}
wait "$prebuild_pid"
prebuild_status=$?
prebuild_pid=
if [ "$prebuild_status" -ne 0 ]; then
    cat "$out_dir/prebuild"
    echo "the builds for tests/api failed (make all examples; test_upgrade's old commit)"
    failed=$((failed + 1))
fi

# the client library is linked into other people's programs: it returns SBC_ERR_NO_MEMORY
# instead of aborting, so it may not call abort() nor the server's aborting allocators
if make -s build/libswitchboard-client.a >"$out_dir/client" 2>&1 &&
    ! nm -u build/libswitchboard-client.a |
    grep -Eq '^ *U (abort|xmalloc|xcalloc|xrealloc|xstrdup|xstrndup|xcheck)$'; then
    echo "client library: never aborts (1 passed)"
    passed=$((passed + 1))
else
    cat "$out_dir/client"
    nm -u build/libswitchboard-client.a 2>&1 | grep -E 'abort|xmalloc|xcalloc|xrealloc|xstr|xcheck'
    echo "client library: calls abort() or an aborting allocator (1 failed)"
    failed=$((failed + 1))
fi
rm -f "$out_dir/client"

stores=sqlite
[ -n "${SWITCHBOARD_PEERS_ENV:-}" ] && stores="sqlite postgresql"
slot=0
for store in $stores; do
    i=1
    shards=$(shards_of "$store")
    while [ "$i" -le "$shards" ]; do
        start_api_shard "$store" "$i" "$shards" "$slot"
        slot=$((slot + 1))
        i=$((i + 1))
    done
done

for pid in $bg_pids; do
    wait "$pid"
done
bg_pids=
# then the modules that stop the shared PostgreSQL (run_api.py --exclusive), alone: once the
# browser suite (which tests a connection to it) is done too
wait "$browser_pid"
browser_status=$?
browser_pid=
# (once: test_pg_store makes its own PostgreSQL databases whichever store the suite runs on, so
# it runs with the last store's suite and is reported with it)
for store in $stores; do
    last_store=$store
done
SWITCHBOARD_TEST_STORE=$last_store SWITCHBOARD_BIN="$PWD/build/test/switchboard" \
    python3 tests/run_api.py --exclusive >"$out_dir/api-$last_store-x" 2>&1

# fuzz smoke: every libFuzzer harness of fuzz/ for a few seconds (about 30 s in all), one test
# each; `make fuzz` runs them longer. They keep both cores busy, so they start once the API
# shards (which have timing-sensitive waits) are done, beside the end of the browser suite.
(
    if [ -e "$out_dir/fuzz-build" ]; then # the make's output, kept when it failed
        cat "$out_dir/fuzz-build"
        echo "fuzz: the harnesses did not build"
        echo "fuzz-result: 0 1"
    else
        for bin in build/fuzz/fuzz_*; do
            [ -x "$bin" ] || continue
            if fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-6}" "$bin"; then
                echo "fuzz-result: 1 0"
            else
                echo "fuzz-result: 0 1"
            fi
        done
    fi
) >"$out_dir/fuzz" 2>&1 &
fuzz_pid=$!

# one API suite's shards: each failing shard's whole output (with its failures), then the sum
report_api_suite() {
    echo "api suite on $1:"
    sp=0
    sf=0
    sk=0
    took=
    shards=$(shards_of "$1")
    for i in $(seq "$shards") x; do
        f="$out_dir/api-$1-$i"
        [ "$i" = x ] && [ "$1" != "$last_store" ] && continue # (the modules run alone: once)
        counts=$(sed -n 's/^api: \([0-9]*\) passed, \([0-9]*\) failed.*$/\1 \2/p' "$f" | tail -n 1)
        k=$(sed -n 's/^api: .* \([0-9]*\) skipped$/\1/p' "$f" | tail -n 1)
        if [ -z "$counts" ]; then
            cat "$f"
            counts="0 1"
        elif [ "${counts#* }" -ne 0 ]; then
            cat "$f"
        fi
        took="$took${took:+, }$(sed -n 's/^Ran [0-9]* tests\{0,1\} in \([0-9]*\).*/\1 s/p' "$f" | tail -n 1)"
        sp=$((sp + ${counts% *}))
        sf=$((sf + ${counts#* }))
        sk=$((sk + ${k:-0}))
    done
    alone=", then one alone"
    [ "$1" = "$last_store" ] || alone=
    echo "api: $sp passed, $sf failed, $sk skipped ($shards shards side by side$alone: $took)"
    passed=$((passed + sp))
    failed=$((failed + sf))
    skipped=$((skipped + sk))
}
for store in $stores; do
    report_api_suite "$store"
done

counts=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed.*$/\1 \2/p' "$out_dir/browser" |
    tail -n 1)
echo "browser suite:"
if [ -z "$counts" ]; then
    cat "$out_dir/browser"
    counts="0 1"
elif [ "$browser_status" -ne 0 ]; then
    cat "$out_dir/browser"
else
    tail -n 1 "$out_dir/browser"
fi
passed=$((passed + ${counts% *}))
failed=$((failed + ${counts#* }))

wait "$fuzz_pid"
fuzz_pid=
grep -v '^fuzz-result: ' "$out_dir/fuzz"
counts=$(sed -n 's/^fuzz-result: \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$out_dir/fuzz" |
    awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
passed=$((passed + ${counts% *}))
failed=$((failed + ${counts#* }))

# skipped tests are neither passed nor failed: counted apart, on the line before the summary
echo "skipped: $skipped (unit and API tests that did not run here; see the lines above)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
