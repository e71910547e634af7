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

echo "=== active path (simd/tests/active_path.rs with HYPERSIMPLEX_EXPECT_PATH)"
expect=scalar
grep -qw avx2 /proc/cpuinfo 2>/dev/null && expect=avx2
if HYPERSIMPLEX_EXPECT_PATH=$expect cargo test -q -p hypersimplex-simd --release --test active_path -- --nocapture 2>&1 | grep -E 'active path|test result' &&
   HYPERSIMPLEX_FORCE_SCALAR=1 HYPERSIMPLEX_EXPECT_PATH=scalar cargo test -q -p hypersimplex-simd --release --test active_path -- --nocapture 2>&1 | grep -E 'active path|test result: ok'; then
  echo "PASS: simd active path is $expect on this CPU (scalar when forced)"
else
  echo "FAIL: simd active path"; fail=1
fi

echo "=== AVX2 code in a build without -C target-cpu"
exe=$(cargo test -p hypersimplex-simd --release --test paths --no-run 2>&1 | grep -oE '\(([^)]*paths-[0-9a-f]+)\)' | tr -d '()' | tail -1)
if [ -z "$exe" ] || [ ! -f "$exe" ]; then
  echo "FAIL: simd disassembly (test binary not found)"; fail=1
else
  dis=$(objdump -d --no-show-raw-insn -C "$exe")
  # The bodies of every function named $1 (generic entry points: one per lane type), each
  # introduced by a line "=== name".
  fn_bodies() { awk -v f="$1" 'index($0, "<" f ">:") {on=1; print "=== " f; next} on && /^$/ {on=0} on' <<<"$dis"; }
  ok=1
  # Every instance (f32 and f64 lanes) of every AVX2 entry point (`isa::avx2::<kernel>`).
  for f in stats piece piece_stats piece_write all_finite clip clip_stream clip_in_place split free_mean vjp vjp_stream vjp_in_place residual residual_labels grad grad_pattern transpose; do
    bodies=$(fn_bodies "hypersimplex_simd::isa::avx2::$f")
    inst=$(grep -c '^=== ' <<<"$bodies")
    ymm=$(grep -c 'ymm' <<<"$bodies")
    fma=$(grep -cE 'vfn?m(add|sub)' <<<"$bodies")
    printf '  isa::avx2::%-14s %d instances, %5d instructions with ymm, %d fused multiply-add\n' "$f" "$inst" "$ymm" "$fma"
    { [ "$inst" -ge 1 ] && [ "$ymm" -gt 0 ] && [ "$fma" = 0 ]; } || ok=0
  done
  echo "  sample (isa::avx2::piece main loop):"
  sample=$(fn_bodies 'hypersimplex_simd::isa::avx2::piece')
  grep -E 'vcvtps2pd|vcvttps2dq|vmulps|vsubps|vcmp' <<<"$sample" | head -6 | sed 's/^/    /'
  if [ $ok = 1 ]; then
    echo "PASS: simd AVX2 entry points emit 256-bit ymm code (no -C target-cpu), no FMA"
  else
    echo "FAIL: simd AVX2 disassembly"; fail=1
  fi
fi
exit $fail
