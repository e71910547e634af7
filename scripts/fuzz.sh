#!/usr/bin/env bash
# Fuzzes the C ABI (issue 13 item 8): `bash scripts/fuzz.sh [SECONDS]` (default 20 per target).
# Installs cargo-fuzz if missing (pinned), builds the targets in fuzz/ (libFuzzer, AddressSanitizer,
# nightly features through RUSTC_BOOTSTRAP=1 on the stable toolchain), replays every committed
# regression input (fuzz/regressions/<target>/), then runs each target for SECONDS from its seed
# corpus (fuzz/corpus/<target>; new inputs go to target/fuzz-corpus/, not into the repository).
# Prints one PASS/FAIL line per target with its executions; exits non-zero on any finding (the
# input is saved under target/fuzz-artifacts/<target>/: add it to fuzz/regressions/<target>/).
# The targets run FUZZ_JOBS at a time (default: the number of cores; each libFuzzer process is
# single-threaded), so every target still gets SECONDS of its own.
set -u
STEP_PREFIX=fuzz
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, step, step_log, summary
SECONDS_PER=${1:-20}
TARGETS="forward backward topk rows loss multiclass half lambda sharded"
CARGO_FUZZ_VERSION=0.13.2
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export RUSTC_BOOTSTRAP=1

install_cargo_fuzz() {
    if cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then return 0; fi
    cargo install -q --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
}
step_log "install cargo-fuzz $CARGO_FUZZ_VERSION" install_cargo_fuzz || { summary; exit 1; }
# -O: release with debug assertions (the targets' own checks stay on); ASan is cargo-fuzz's default.
step_log "build the fuzz targets" bash -c "cd fuzz && cargo fuzz build -O" || { summary; exit 1; }

JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
run_target() {   # run_target T: its regressions, then the timed run; prints "T: N executions in Ss"
    local t=$1 log="$LOG_DIR/fuzz-run-$1.log" work="$TARGET_DIR/fuzz-corpus/$1"
    local art="$TARGET_DIR/fuzz-artifacts/$1/"
    mkdir -p "$work" "$art" "fuzz/corpus/$t"
    # committed regressions first (each must pass), then the timed run
    if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
        (cd fuzz && cargo fuzz run -O "$t" "regressions/$t"/* -- -runs=1) >"$log.regressions" 2>&1 ||
            { tail -20 "$log.regressions"; return 1; }
    fi
    (cd fuzz && cargo fuzz run -O "$t" "$work" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$art" -print_final_stats=1) >"$log" 2>&1
    local st=$? runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    echo "$t: ${runs:-0} executions in ${SECONDS_PER}s"
    [ "$st" = 0 ] || { grep -E 'panicked|SUMMARY|assert' "$log" | head -5; echo "(log: $log)"; }
    return "$st"
}
# start_target T: runs T in the background of a batch, its output and status kept for report_target
start_target() {
    rm -f "$LOG_DIR/fuzz-run-$1.out" "$LOG_DIR/fuzz-run-$1.status"
    { run_target "$1" >"$LOG_DIR/fuzz-run-$1.out" 2>&1; echo $? >"$LOG_DIR/fuzz-run-$1.status"; } &
}
total=0
report_target() {   # report_target T: prints T's output, adds its executions, returns its status
    local st runs
    cat "$LOG_DIR/fuzz-run-$1.out"
    runs=$(grep -o '^[a-z]*: [0-9]* executions' "$LOG_DIR/fuzz-run-$1.out" | grep -o '[0-9][0-9]*' | tail -1)
    total=$((total + ${runs:-0}))
    st=$(cat "$LOG_DIR/fuzz-run-$1.status" 2>/dev/null) || st=1
    return "${st:-1}"
}
set -- $TARGETS
while [ $# -gt 0 ]; do
    batch=()
    while [ $# -gt 0 ] && [ ${#batch[@]} -lt "$JOBS" ]; do batch+=("$1"); shift; done
    for t in "${batch[@]}"; do start_target "$t"; done
    wait
    for t in "${batch[@]}"; do
        step "$t (${SECONDS_PER}s, $JOBS at a time)" report_target "$t"
    done
done
echo "fuzz: $total executions in total"
summary
