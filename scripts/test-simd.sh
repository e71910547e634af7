#!/usr/bin/env bash
# hypersimplex-simd on the host: the tests (release; every supported kernel path, 1-4 threads),
# the active path, and proof in the disassembly that a build WITHOUT -C target-cpu emits
# 256-bit AVX2 code (ymm registers) in the AVX2 kernels and no fused multiply-add there.
# Prints PASS/FAIL lines (logs under target/logs); exits non-zero on failure.
set -u
STEP_PREFIX=simd
. "$(dirname "$0")/lib.sh"
# The disassembly check is only meaningful for a portable build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

host_tests() {
  cargo test -p hypersimplex-simd --release 2>&1 | tee "$LOG_DIR/simd-host-test.log" |
    grep -E '^(test |test result|     Running|error)'
  [ "${PIPESTATUS[0]}" = 0 ] && ! grep -q 'test result: FAILED' "$LOG_DIR/simd-host-test.log"
}
step "host tests (cargo test -p hypersimplex-simd --release)" host_tests

active_path() {
  local out forced
  out=$(cargo run -q --release -p hypersimplex-simd --example scaling -- 1 16 64 2>&1)
  echo "$out"
  forced=$(HYPERSIMPLEX_FORCE_SCALAR=1 cargo run -q --release -p hypersimplex-simd --example scaling -- 1 16 64 2>&1 | head -1)
  echo "with HYPERSIMPLEX_FORCE_SCALAR=1: $forced"
  if grep -qw avx2 /proc/cpuinfo; then
    echo "expected: avx2 on this CPU (scalar when forced)"
    grep -qw fma /proc/cpuinfo && echo "$out" | grep -q 'path avx2' && echo "$forced" | grep -q 'path scalar'
  else
    echo "expected: scalar (no AVX2 here)"
    echo "$out" | grep -q 'path scalar'
  fi
}
step "active path" active_path

avx2_disassembly() {
exe=$(cargo test -p hypersimplex-simd --release --test paths --no-run 2>&1 | grep -oE '\(([^)]*paths-[0-9a-f]+)\)' | tr -d '()' | tail -1)
if [ -z "$exe" ] || [ ! -f "$exe" ]; then
  echo "test binary not found"; return 1
else
  dis=$(objdump -d --no-show-raw-insn -C "$exe")
  fn_body() { awk -v f="$1" 'index($0, "<" f ">:") {on=1; next} on && /^$/ {exit} on' <<<"$dis"; }
  ok=1
  for f in f32k::piece f32k::piece_stats f32k::piece_write f32k::clip f32k::clip_stream f32k::split f32k::free_mean f32k::vjp f32k::vjp_stream f32k::residual f32k::grad f32k::transpose f32k::residual_labels f32k::grad_pattern f64k::piece f64k::split f64k::clip; do
    body=$(fn_body "hypersimplex_simd::avx2::$f")
    ymm=$(grep -c 'ymm' <<<"$body")
    fma=$(grep -cE 'vfn?m(add|sub)' <<<"$body")
    printf '  avx2::%-22s %4d instructions with ymm, %d fused multiply-add\n' "$f" "$ymm" "$fma"
    { [ "$ymm" -gt 0 ] && [ "$fma" = 0 ]; } || ok=0
  done
  echo "  sample (avx2::f32k::piece main loop):"
  sample=$(fn_body 'hypersimplex_simd::avx2::f32k::piece')
  grep -E 'vcvtps2pd|vmulps|vsubps|vcmp' <<<"$sample" | head -6 | sed 's/^/    /'
  [ $ok = 1 ]
fi
}
step "AVX2 kernels emit 256-bit ymm code (no -C target-cpu), no FMA" avx2_disassembly
summary
