#!/usr/bin/env bash
# The NEON path of hypersimplex-simd on aarch64, under qemu-aarch64 (user mode).
#
# Builds `cargo test -p hypersimplex-simd --release` for aarch64-unknown-linux-gnu with Debian's
# rustc-web and `-Z build-std` (rustup here has only the x86-64 target), runs every test binary
# under qemu-aarch64, then checks the disassembly of the NEON kernels. The cross settings are
# passed as --config flags: nothing here changes host builds. Build output is cached in
# target/aarch64 (first run ~4-6 min on 2 cores, later runs seconds).
# Prints PASS/FAIL lines; exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
TARGET=aarch64-unknown-linux-gnu
TDIR=target/aarch64
t_start=$(date +%s)
fail=0

need=()
for p in rustc-web cargo-web rust-web-src qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/simd-aarch64-apt.log 2>&1 \
    || { tail -20 /tmp/simd-aarch64-apt.log; echo "FAIL: simd-aarch64: apt-get install"; exit 1; }
fi

RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib"
cargo_a64() {
  # RUSTC_BOOTSTRAP only on this command (build-std is unstable); Debian's cargo and rustc.
  env -u RUSTC -u RUSTDOC -u CARGO -u RUSTUP_TOOLCHAIN RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@" \
    --release --target $TARGET -Z build-std --target-dir $TDIR \
    --config 'build.rustc="/usr/bin/rustc"' \
    --config 'build.rustdoc="/usr/bin/rustdoc"' \
    --config "target.$TARGET.linker=\"aarch64-linux-gnu-gcc\"" \
    --config "target.$TARGET.runner=\"$RUNNER\""
}

echo "=== build + run tests for $TARGET under qemu-aarch64 ($(/usr/bin/rustc -V))"
log=/tmp/simd-aarch64-test.log
HYPERSIMPLEX_EXPECT_PATH=neon cargo_a64 test -p hypersimplex-simd --tests 2>&1 | tee $log | grep -E '^(test |test result|     Running|error|warning: unused)'
rc=${PIPESTATUS[0]}
if [ "$rc" = 0 ] && grep -q 'test result: ok' $log && ! grep -q 'test result: FAILED' $log; then
  echo "PASS: simd-aarch64 tests under qemu ($(grep -c 'test result: ok' $log) test binaries)"
else
  tail -30 $log; echo "FAIL: simd-aarch64 tests (cargo exit $rc)"; fail=1
fi

echo "=== active path on aarch64 (simd/tests/active_path.rs, run above with HYPERSIMPLEX_EXPECT_PATH=neon)"
if grep -q 'test active_path_is_the_expected_one ... ok' $log; then
  echo "PASS: simd-aarch64 active path is neon"
else
  echo "FAIL: simd-aarch64 active path"; fail=1
fi

echo "=== NEON instructions in the kernels"
BIN=$(ls -t $TDIR/$TARGET/release/deps/paths-* 2>/dev/null | grep -v '\.d$' | head -1)
if [ -z "$BIN" ]; then
  echo "FAIL: simd-aarch64 disassembly (no test binary)"; fail=1
else
  dis=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn -C "$BIN")
  # Generic entry points: the bodies of both instances (f32 and f64 lanes) of each name.
  fn_bodies() { awk -v f="$1" 'index($0, "<" f ">:") {on=1; next} on && /^$/ {on=0} on' <<<"$dis"; }
  piece=$(fn_bodies 'hypersimplex_simd::isa::neon::piece')
  clip=$(fn_bodies 'hypersimplex_simd::isa::neon::clip')
  # f32 free-set sums are fixed point (core's Real::FIXED_SUM): float->int conversions and
  # integer adds on 4 lanes, no f64 widening
  c_cvt=$(grep -cE 'fcvtzs\s+v[0-9]+\.4s' <<<"$piece")
  c_fmul=$(grep -cE 'fmul\s+v[0-9]+\.4s' <<<"$piece")
  c_add=$(grep -cE '\badd\s+v[0-9]+\.4s' <<<"$piece")
  c_fmla=$(grep -cE 'fml[as]\s+v' <<<"$piece$clip")
  c_max=$(grep -cE 'fm(ax|in)nm\s+v[0-9]+\.4s' <<<"$clip")
  echo "isa::neon::piece: fcvtzs(.4s)=$c_cvt fmul(.4s)=$c_fmul add(.4s)=$c_add; isa::neon::clip: fmaxnm/fminnm(.4s)=$c_max; fused fmla/fmls in piece+clip=$c_fmla (must be 0)"
  if [ "$c_cvt" -gt 0 ] && [ "$c_fmul" -gt 0 ] && [ "$c_add" -gt 0 ] && [ "$c_max" -gt 0 ] && [ "$c_fmla" = 0 ]; then
    echo "PASS: simd-aarch64 NEON kernels use 128-bit vector instructions, no fused multiply-add"
  else
    echo "FAIL: simd-aarch64 disassembly"; fail=1
  fi
fi
echo "simd-aarch64 total time: $(( $(date +%s) - t_start ))s"
exit $fail
