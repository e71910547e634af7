#!/usr/bin/env bash
# hypersimplex-simd on the host: the tests (release; every supported kernel path, 1-4 threads),
# the active path, and proof in the disassembly that a build WITHOUT -C target-cpu emits
# 256-bit AVX2 code (ymm registers) in the AVX2 kernels and no fused multiply-add there.
# Prints PASS/FAIL lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
fail=0
# The disassembly check is only meaningful for a portable build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
export CARGO_TERM_COLOR=never

echo "=== cargo test -p hypersimplex-simd --release"
log=/tmp/simd-host-test.log
cargo test -p hypersimplex-simd --release 2>&1 | tee $log | grep -E '^(test |test result|     Running|error)'
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && ! grep -q 'test result: FAILED' $log; then
  echo "PASS: simd host tests"
else
  tail -30 $log; echo "FAIL: simd host tests"; fail=1
fi

echo "=== active path"
out=$(cargo run -q --release -p hypersimplex-simd --example scaling -- 1 16 64 2>&1)
echo "$out"
forced=$(HYPERSIMPLEX_FORCE_SCALAR=1 cargo run -q --release -p hypersimplex-simd --example scaling -- 1 16 64 2>&1 | head -1)
echo "with HYPERSIMPLEX_FORCE_SCALAR=1: $forced"
if grep -q ' avx2 *$' /proc/cpuinfo 2>/dev/null || grep -qw avx2 /proc/cpuinfo; then
  if grep -qw fma /proc/cpuinfo && echo "$out" | grep -q 'path avx2' && echo "$forced" | grep -q 'path scalar'; then
    echo "PASS: simd active path is avx2 on this CPU (scalar when forced)"
  else
    echo "FAIL: simd active path"; fail=1
  fi
else
  echo "$out" | grep -q 'path scalar' && echo "PASS: simd active path is scalar (no AVX2 here)" || { echo "FAIL: simd active path"; fail=1; }
fi

echo "=== AVX2 code in a build without -C target-cpu"
exe=$(cargo test -p hypersimplex-simd --release --test paths --no-run 2>&1 | grep -oE '\(([^)]*paths-[0-9a-f]+)\)' | tr -d '()' | tail -1)
if [ -z "$exe" ] || [ ! -f "$exe" ]; then
  echo "FAIL: simd disassembly (test binary not found)"; fail=1
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
  if [ $ok = 1 ]; then
    echo "PASS: simd AVX2 kernels emit 256-bit ymm code (no -C target-cpu), no FMA"
  else
    echo "FAIL: simd AVX2 disassembly"; fail=1
  fi
fi
exit $fail
