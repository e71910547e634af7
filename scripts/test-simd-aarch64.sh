#!/usr/bin/env bash
# The NEON path of hypersimplex-simd on aarch64, under qemu-aarch64 (user mode).
#
# Builds `cargo test -p hypersimplex-simd --release` for aarch64-unknown-linux-gnu with Debian's
# rustc-web and `-Z build-std` (rustup here has only the x86-64 target), runs every test binary
# under qemu-aarch64, then checks the disassembly of the NEON kernels. The cross settings are
# passed as --config flags: nothing here changes host builds. The build has no debug info (the
# workspace's release profile keeps it for benchmarks; the disassembly checks read symbols
# only): a cold build 512 -> 471 s here. Build output is cached in target/aarch64 (first run
# ~8 min on 2 cores, later runs seconds); the tests under qemu take ~6 min with
# HYPERSIMPLEX_QUICK_TESTS.
# Prints PASS/FAIL lines (logs under target/logs); exits non-zero on failure.
set -u
STEP_PREFIX=simd-aarch64
. "$(dirname "$0")/lib.sh"
TARGET=aarch64-unknown-linux-gnu
TDIR=target/aarch64
t_start=$(date +%s)

need_pkgs rustc-web cargo-web rust-web-src qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
  binutils-aarch64-linux-gnu || exit 1

RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib"
cargo_a64() {
  # RUSTC_BOOTSTRAP only on this command (build-std is unstable); Debian's cargo and rustc.
  env -u RUSTC -u RUSTDOC -u CARGO -u RUSTUP_TOOLCHAIN RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@" \
    --release --target $TARGET -Z build-std --target-dir $TDIR \
    --config 'build.rustc="/usr/bin/rustc"' \
    --config 'build.rustdoc="/usr/bin/rustdoc"' \
    --config "target.$TARGET.linker=\"aarch64-linux-gnu-gcc\"" \
    --config "target.$TARGET.runner=\"$RUNNER\"" \
    --config 'profile.release.debug=0'
}

echo "building for $TARGET with $(/usr/bin/rustc -V)"
a64_tests() {
  local log=$LOG_DIR/simd-aarch64-test.log
  # fewer cases in the tests whose cost is their size (`quick()` in simd/tests/common): qemu
  # runs them 10-30 times slower than the host
  HYPERSIMPLEX_QUICK_TESTS=1 HYPERSIMPLEX_EXPECT_PATH=neon cargo_a64 test -p hypersimplex-simd --tests 2>&1 | tee "$log" |
    grep -E '^(test |test result|     Running|error|warning: unused)'
  local rc=${PIPESTATUS[0]}
  echo "$(grep -c 'test result: ok' "$log") test binaries passed (cargo exit $rc)"
  [ "$rc" = 0 ] && grep -q 'test result: ok' "$log" && ! grep -q 'test result: FAILED' "$log"
}
step "tests under qemu-aarch64" a64_tests

a64_active_path() {
  # simd/tests/active_path.rs ran above with HYPERSIMPLEX_EXPECT_PATH=neon.
  grep 'test active_path_is_the_expected_one ... ok' "$LOG_DIR/simd-aarch64-test.log"
}
step "active path is neon" a64_active_path

neon_disassembly() {
BIN=$(ls -t $TDIR/$TARGET/release/deps/kernels-* 2>/dev/null | grep -v '\.d$' | head -1)
if [ -z "$BIN" ]; then
  echo "no test binary"; return 1
else
  dis=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$BIN")
  # f32 instances of the generic entry points (v0 mangling names the lane type; legacy
  # mangling gives both instances one name, and then both are read).
  fn_bodies() {
    awk -v f="$1" '(index($0, "<" f ">:") || index($0, "<" f "::<hypersimplex_simd::isa::neon::F32x4>>:")) {on=1; next} on && /^$/ {on=0} on' <<<"$dis"
  }
  piece=$(fn_bodies 'hypersimplex_simd::isa::neon::piece')
  clip=$(fn_bodies 'hypersimplex_simd::isa::neon::clip')
  # f32 free-set sums are fixed point (core's Real::FIXED_SUM): float->int conversions and
  # integer adds on 4 lanes, no f64 widening
  c_cvt=$(grep -cE 'fcvtzs\s+v[0-9]+\.4s' <<<"$piece")
  c_fmul=$(grep -cE 'fmul\s+v[0-9]+\.4s' <<<"$piece")
  c_add=$(grep -cE '\badd\s+v[0-9]+\.4s' <<<"$piece")
  c_fmla=$(grep -cE 'fml[as]\s+v' <<<"$piece$clip")
  c_max=$(grep -cE 'fm(ax|in)nm\s+v[0-9]+\.4s' <<<"$clip")
  echo "isa::neon::piece (f32): fcvtzs(.4s)=$c_cvt fmul(.4s)=$c_fmul add(.4s)=$c_add; isa::neon::clip: fmaxnm/fminnm(.4s)=$c_max; fused fmla/fmls in piece+clip=$c_fmla (must be 0)"
  [ "$c_cvt" -gt 0 ] && [ "$c_fmul" -gt 0 ] && [ "$c_add" -gt 0 ] && [ "$c_max" -gt 0 ] && [ "$c_fmla" = 0 ]
fi
}
step "NEON kernels use 128-bit vector instructions, no fused multiply-add" neon_disassembly

neon_half_disassembly() {
  # The half-precision conversions and fused writes of half/neon.rs (issue 15), in the kernels'
  # test binary (tests/kernels/half_forward.rs calls them): f16 with fcvtl/fcvtl2 and
  # fcvtn/fcvtn2, bf16 with shll/shll2 by 16 and uzp2, the write with fmaxnm/fminnm, the
  # forward's fused first pass (piece_stats_widen_*) and writing last pass (piece_write_*) with
  # the same conversions, and no fused multiply-add in any of them. (The functions are
  # #[inline(never)], so their symbols exist.)
  local bin
  bin=$(ls -t $TDIR/$TARGET/release/deps/kernels-* 2>/dev/null | grep -v '\.d$' | head -1)
  [ -n "$bin" ] || { echo "no test binary"; return 1; }
  local dis
  dis=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$bin")
  body() {
    awk -v f="hypersimplex_simd::half::neon::$1" 'index($0, "<" f ">:") || index($0, "<" f "::<") {on=1; next} on && /^$/ {on=0} on' <<<"$dis"
  }
  local wf nf wb nb cl
  wf=$(body widen_f16); nf=$(body narrow_f16); wb=$(body widen_bf16); nb=$(body narrow_bf16)
  cl="$(body clip_f16)$(body clip_bf16)"
  local pw pf
  pw="$(body piece_write_f16)$(body piece_write_bf16)"
  pf="$(body piece_stats_widen_f16)$(body piece_stats_widen_bf16)"
  local c_l c_l2 c_n c_n2 c_sh c_uz c_cf c_cb c_mx c_fma c_pw c_pf
  c_l=$(grep -cE 'fcvtl\s+v[0-9]+\.4s, v[0-9]+\.4h' <<<"$wf")
  c_l2=$(grep -cE 'fcvtl2\s+v[0-9]+\.4s, v[0-9]+\.8h' <<<"$wf")
  c_n=$(grep -cE 'fcvtn\s+v[0-9]+\.4h, v[0-9]+\.4s' <<<"$nf")
  c_n2=$(grep -cE 'fcvtn2\s+v[0-9]+\.8h, v[0-9]+\.4s' <<<"$nf")
  c_sh=$(grep -cE 'shll2?\s+v[0-9]+\.4s, v[0-9]+\.[48]h, #16' <<<"$wb")
  c_uz=$(grep -cE 'uzp2\s+v[0-9]+\.8h' <<<"$nb")
  c_cf=$(grep -cE 'fcvt[ln]2?\s+v[0-9]+\.[48][hs], v[0-9]+\.[48][hs]' <<<"$(body clip_f16)")
  c_cb=$(grep -cE 'uzp2\s+v[0-9]+\.8h' <<<"$(body clip_bf16)")
  c_mx=$(grep -cE 'fm(ax|in)nm\s+v[0-9]+\.4s' <<<"$cl")
  c_pw=$(grep -cE '(fcvtn2?\s+v[0-9]+\.[48]h|uzp2\s+v[0-9]+\.8h)' <<<"$pw")
  c_pf=$(grep -cE '(fcvtl\s+v[0-9]+\.4s, v[0-9]+\.4h|shll\s+v[0-9]+\.4s, v[0-9]+\.4h, #16)' <<<"$pf")
  c_fma=$(grep -cE 'fml[as]\s+v' <<<"$cl$pw$pf")
  echo "half::neon: widen_f16 fcvtl=$c_l fcvtl2=$c_l2; narrow_f16 fcvtn=$c_n fcvtn2=$c_n2; widen_bf16 shll/shll2 #16=$c_sh; narrow_bf16 uzp2=$c_uz; clip_f16 fcvtl/fcvtn=$c_cf; clip_bf16 uzp2=$c_cb; clip fmaxnm/fminnm=$c_mx; piece_write fcvtn/uzp2=$c_pw; piece_stats_widen fcvtl/shll=$c_pf; fused fmla/fmls in clip+piece=$c_fma (must be 0)"
  [ "$c_l" -gt 0 ] && [ "$c_l2" -gt 0 ] && [ "$c_n" -gt 0 ] && [ "$c_n2" -gt 0 ] && [ "$c_sh" -gt 0 ] &&
    [ "$c_uz" -gt 0 ] && [ "$c_cf" -gt 0 ] && [ "$c_cb" -gt 0 ] && [ "$c_mx" -gt 0 ] &&
    [ "$c_pw" -gt 0 ] && [ "$c_pf" -gt 0 ] && [ "$c_fma" = 0 ]
}
step "NEON half conversions use fcvtl/fcvtn (f16) and shll/uzp2 (bf16), no fused multiply-add" neon_half_disassembly
echo "simd-aarch64 total time: $(( $(date +%s) - t_start ))s"
summary
