#!/bin/sh
# Runs libFuzzer harnesses: fuzz/run.sh SECONDS build/fuzz/fuzz_NAME...
# Each runs SECONDS seconds from its committed seed corpus fuzz/corpus/NAME/ (read only) and the
# corpus it grows in build/fuzz/corpus/NAME/. A crash, sanitizer report, leak or timeout stops it
# and its input is saved in fuzz/crashes/NAME/ (replay: build/fuzz/fuzz_NAME FILE).
# Prints one line per harness, "fuzz NAME: ok (N runs in S s)" or the report; exits 1 if any
# harness failed.
set -u
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
    echo "usage: fuzz/run.sh SECONDS build/fuzz/fuzz_NAME..." >&2
    exit 2
fi
seconds=$1
shift
status=0
for bin in "$@"; do
    name=$(basename "$bin")
    work=build/fuzz/corpus/$name
    crashes=fuzz/crashes/$name
    log=build/fuzz/$name.log
    mkdir -p "$work" "$crashes"
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$work" "fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    rmdir "$crashes" fuzz/crashes 2>/dev/null
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $name: ok (${runs:-?} runs in $seconds s)"
    else
        status=1
        echo "fuzz $name: FAILED (exit $rc); report (full log in $log):"
        grep -E 'ERROR|SUMMARY|runtime error|deadly signal|Test unit written|#[0-9]+ 0x' "$log" |
            head -n 40
    fi
done
exit $status
