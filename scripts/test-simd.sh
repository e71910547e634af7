#!/usr/bin/env bash
# hypersimplex-simd on the host: the tests (release; every supported kernel path, 1-4 threads),
# the active path, and proof in the disassembly that a build WITHOUT -C target-cpu emits
# 256-bit AVX2 code (ymm registers) in every AVX2 entry point and no fused multiply-add there.
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
  # simd/tests/active_path.rs fails unless the active path is HYPERSIMPLEX_EXPECT_PATH.
  local expect=scalar
  grep -qw avx2 /proc/cpuinfo 2>/dev/null && expect=avx2
  # avx512 where the CPU has AVX-512 F, VL and DQ and rustc has their intrinsics (>= 1.89,
  # simd/build.rs)
  local minor
  minor=$(rustc --version | awk '{print $2}' | cut -d. -f2)
  if [ "${minor:-0}" -ge 89 ]; then
    for f in avx512f avx512vl avx512dq; do
      grep -qw $f /proc/cpuinfo 2>/dev/null || break
      [ $f = avx512dq ] && [ $expect = avx2 ] && expect=avx512
    done
  fi
  # ... but not on AMD family 25 (Zen 4: 512-bit operations in two halves; platform.rs)
  if [ $expect = avx512 ] && grep -qm1 '^vendor_id.*AuthenticAMD' /proc/cpuinfo &&
    [ "$(awk -F: '/^cpu family/ {gsub(/ /, "", $2); print $2; exit}' /proc/cpuinfo)" = 25 ]; then
    expect=avx2
  fi
  echo "expected: $expect on this CPU (scalar when forced)"
  HYPERSIMPLEX_EXPECT_PATH=$expect cargo test -q -p hypersimplex-simd --release --test active_path -- --nocapture 2>&1 |
    grep -E 'active path|test result: ok' &&
  HYPERSIMPLEX_FORCE_SCALAR=1 HYPERSIMPLEX_EXPECT_PATH=scalar \
    cargo test -q -p hypersimplex-simd --release --test active_path -- --nocapture 2>&1 |
    grep -E 'active path|test result: ok'
}
step "active path" active_path

avx2_disassembly() {
exe=$(cargo test -p hypersimplex-simd --release --test kernels --no-run 2>&1 | grep -oE '\(([^)]*kernels-[0-9a-f]+)\)' | tr -d '()' | tail -1)
if [ -z "$exe" ] || [ ! -f "$exe" ]; then
  echo "test binary not found"; return 1
else
  dis=$(objdump -d --no-show-raw-insn -C "$exe")
  # The bodies of every function named $1 (generic entry points: one instance per lane type,
  # under one name with legacy symbol mangling, "name::<Lanes>" with v0), each after "=== ".
  fn_bodies() {
    awk -v f="$1" '(index($0, "<" f ">:") || index($0, "<" f "::<")) && /^[0-9a-f]+ </ {on=1; print "=== " f; next} on && /^$/ {on=0} on' <<<"$dis"
  }
  ok=1
  for f in stats piece piece_stats piece_write all_finite clip clip_stream clip_in_place split free_mean vjp vjp_stream vjp_in_place residual residual_labels grad grad_pattern transpose; do
    bodies=$(fn_bodies "hypersimplex_simd::isa::avx2::$f")
    inst=$(grep -c '^=== ' <<<"$bodies")
    ymm=$(grep -c 'ymm' <<<"$bodies")
    fma=$(grep -cE 'vfn?m(add|sub)' <<<"$bodies")
    printf '  isa::avx2::%-16s %d instances, %5d instructions with ymm, %d fused multiply-add\n' "$f" "$inst" "$ymm" "$fma"
    { [ "$inst" -ge 2 ] && [ "$ymm" -gt 0 ] && [ "$fma" = 0 ]; } || ok=0
  done
  echo "  sample (isa::avx2::piece main loop):"
  grep -E 'vcvttps2dq|vmulps|vsubps|vcmp' <<<"$(fn_bodies 'hypersimplex_simd::isa::avx2::piece')" | head -6 | sed 's/^/    /'
  # (built with rustc >= 1.89 only: simd/build.rs)
  if [ "$(rustc --version | awk '{print $2}' | cut -d. -f2)" -ge 89 ]; then
    # the short-row solver's AVX-512 iteration (the same binary: the short-row tests are in
    # it): 512-bit passes (zmm), no FMA
    bodies=$(fn_bodies "hypersimplex_simd::isa::avx2::iterate2_512")
    zmm=$(grep -c 'zmm' <<<"$bodies")
    fma=$(grep -cE 'vfn?m(add|sub)' <<<"$bodies")
    printf '  isa::avx2::iterate2_512  %d instances, %5d instructions with zmm, %d fused multiply-add\n' \
      "$(grep -c '^=== ' <<<"$bodies")" "$zmm" "$fma"
    { [ "$zmm" -gt 0 ] && [ "$fma" = 0 ]; } || ok=0
  fi
  [ $ok = 1 ]
fi
}
step "every AVX2 entry point emits 256-bit ymm code (no -C target-cpu), no FMA; the AVX-512 short rows zmm" avx2_disassembly
summary
