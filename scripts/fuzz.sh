#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, -DMCSEC_FUZZ=ON, the fuzz_* executables
# only) and runs each for SECONDS (default 10) on a scratch copy of its seed corpus
# (tests/fuzz/corpus/<what> for fuzz_<what>; the MIKEY dictionary for the MIKEY targets), one
# target at a time. Prints one line per target: name, executions, result. Exits 1 if any target
# crashed (ASan, UBSan, an abort of the target's own checks), leaked, timed out (an input running
# longer than FUZZ_TIMEOUT seconds, default 30) or ran out of memory (2 GB); its log and the
# input that did it are then kept (the paths are printed).
#
# usage: scripts/fuzz.sh [SECONDS]        e.g. scripts/fuzz.sh 20
# environment: FUZZ_TARGETS="fuzz_mikey fuzz_roster" runs only those; FUZZ_JOBS build jobs (2).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
case $seconds in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
timeout_s=${FUZZ_TIMEOUT:-30}

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for src in tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMCSEC_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target "${targets[@]}" >/dev/null

# Scratch space: corpora, logs, and the targets' own files (TMPDIR; tmpfs when there is one,
# since the code under test fsyncs). Removed at the end unless something failed.
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/mcsec-fuzz-run.XXXXXX")
failed=0

for t in "${targets[@]}"; do
    what=${t#fuzz_}
    dir=$work/$t
    mkdir -p "$dir/corpus" "$dir/tmp"
    if [ -d "tests/fuzz/corpus/$what" ]; then
        cp -R "tests/fuzz/corpus/$what/." "$dir/corpus/"
    fi
    opts=(-max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048
          -print_final_stats=1 -close_fd_mask=3 -artifact_prefix="$dir/")
    case $what in mikey | gmk_open | gsk_open) opts+=(-dict=tests/fuzz/mikey.dict) ;; esac
    rc=0
    TMPDIR=$dir/tmp UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "build-fuzz/bin/$t" "${opts[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$dir/log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        failed=1
        if grep -q 'ERROR: LeakSanitizer' "$dir/log"; then
            result=leak
        elif grep -q 'ERROR: libFuzzer: timeout' "$dir/log"; then
            result=timeout
        elif grep -q -e 'out-of-memory' -e 'ERROR: libFuzzer: out-of-memory' "$dir/log"; then
            result=out-of-memory
        elif grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: libFuzzer: deadly signal' \
            -e 'runtime error:' "$dir/log"; then
            result=crash
        else
            result="error (exit $rc)"
        fi
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$dir/log" | tail -n 1)
        result="$result; log $dir/log${artifact:+, input $artifact}"
    fi
    printf '%-20s %12s executions  %s\n' "$t" "${runs:-0}" "$result"
done

if [ "$failed" -eq 0 ]; then
    rm -rf "$work"
else
    echo "fuzz: a target failed: reproduce with build-fuzz/bin/fuzz_<what> <input>" >&2
fi
exit "$failed"
