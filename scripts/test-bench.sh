#!/usr/bin/env bash
# Tests of the benchmark part: the sort-based yardstick against core, the main-job example,
# a one-iteration smoke run of every criterion benchmark, and scripts/bench-table.py on
# synthetic criterion output. Prints PASS/FAIL per step; exits non-zero on any failure.
# Usage: bash scripts/test-bench.sh   (no timing assertions: speed is measured by `cargo bench`)
set -u
STEP_PREFIX=bench
. "$(dirname "$0")/lib.sh"    # ROOT, need_pkgs, step, summary

command -v python3 >/dev/null || need_pkgs python3 || exit 1
command -v cargo >/dev/null || { echo "FAIL: cargo not found (run scripts/install-deps.sh)"; exit 1; }

table_selftest() {
  # Fake criterion output: one group with the op, memcpy and sort; 1000 elements.
  local d; d=$(mktemp -d)
  for f in "hypersimplex 5000" "memcpy 500" "sort 40000"; do
    set -- $f
    mkdir -p "$d/forward_10x100/$1/new"
    printf '{"group_id":"forward/10x100","function_id":"%s","throughput":{"Elements":1000}}' "$1" \
      > "$d/forward_10x100/$1/new/benchmark.json"
    printf '{"mean":{"point_estimate":1.0},"median":{"point_estimate":%s}}' "$2" \
      > "$d/forward_10x100/$1/new/estimates.json"
  done
  local out; out=$(python3 scripts/bench-table.py "$d"); rm -rf "$d"
  echo "$out"
  # 5 ns/elem, memcpy 0.5, sort 40: 10× memcpy, 8× faster than sort.
  echo "$out" | grep -q '^| forward/10x100 | hypersimplex | 5 | 0.5 | 40 | 10.0× | 8.00× |$'
}

step "yardstick agrees with core (unit tests)" cargo test -q -p hypersimplex-benches --lib
step "main job: example batch (checks sum(y) = k)" cargo run -q --release -p hypersimplex --example batch
step "criterion smoke run (each benchmark once)" cargo test -q -p hypersimplex-benches --bench core
step "bench-table.py on synthetic criterion output" table_selftest

summary
