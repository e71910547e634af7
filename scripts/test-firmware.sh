#!/usr/bin/env bash
# On-device tests (issue 5): the library inside Cortex-M4F firmware (thumbv7em-none-eabihf) run
# under qemu-system-arm (mps2-an386), in Rust and in C, plus the link-time no-panic proof, the
# disassembly check of the f32 hot loops, and the flash / stack budgets.
#
#   bash scripts/test-firmware.sh
#
# Installs what it needs (Debian 12, root or sudo). Builds with Debian's rustc
# (/usr/bin/rustc, rustc-web + rust-web-src) and -Z build-std=core; RUSTC_BOOTSTRAP=1 is set on
# those cargo commands only. Cross builds go to firmware/rust/target and target/thumb-{os,o3}.
# Prints one PASS/FAIL line per check and exits non-zero if any failed.
# HS_FIRMWARE_BUDGETS=warn reports the flash/stack budget checks as WARN instead of FAIL.
set -u
STEP_PREFIX=firmware
. "$(dirname "$0")/lib.sh"    # ROOT (cd's there), LOG_DIR, need_pkgs
T_START=$(date +%s)

# ---------------------------------------------------------------- install
need_pkgs python3 rustc-web cargo-web rust-web-src qemu-system-arm gcc-arm-none-eabi \
  libnewlib-arm-none-eabi binutils-arm-none-eabi || exit 1

DCARGO=/usr/bin/cargo
DRUSTC=/usr/bin/rustc
TARGET=thumbv7em-none-eabihf
QEMU=(timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic
      -semihosting-config enable=on,target=native -kernel)
OUT=$ROOT/target/firmware            # C builds, generated header, logs, disassembly
mkdir -p "$OUT"
BUDGETS=${HS_FIRMWARE_BUDGETS:-fail}
echo "Debian rustc: $($DRUSTC -V)"
$DRUSTC --print cfg --target $TARGET 2>/dev/null | grep -q 'target_feature="fp64"' &&
  echo "note: rustc reports fp64 for $TARGET (the f32 sums would use f64)"

passed=0; failed=0; warned=0; failures=()
result() {   # result NAME STATUS(0 = pass) [budget]
  if [ "$2" = 0 ]; then
    echo "PASS: $1"; passed=$((passed + 1))
  elif [ "${3:-}" = budget ] && [ "$BUDGETS" = warn ]; then
    echo "WARN: $1"; warned=$((warned + 1))
  else
    echo "FAIL: $1"; failed=$((failed + 1)); failures+=("$1")
  fi
}
section() { echo; echo "=== $* ($(( $(date +%s) - T_START ))s)"; }

# Rust firmware: cargo with Debian's toolchain, in firmware/rust (its .cargo/config.toml).
fwcargo() { (cd firmware/rust && RUSTC_BOOTSTRAP=1 $DCARGO "$@"); }

# ---------------------------------------------------------------- Rust firmware
declare -A PROFILE_DIR=([s]=release [3]=release-o3)
declare -A PROFILE_FLAG=([s]="--release" [3]="--profile release-o3")
for O in s 3; do
  section "Rust firmware, opt-level $O: build"
  DIR=firmware/rust/target/$TARGET/${PROFILE_DIR[$O]}
  fwcargo build ${PROFILE_FLAG[$O]} --bin hypersimplex-firmware 2>&1 | grep -vE '^\s+(Compiling|Downloaded|Downloading)' | tail -20
  st=${PIPESTATUS[0]}
  result "rust firmware builds (opt-level $O)" "$st"
  [ "$st" = 0 ] || continue

  section "Rust firmware, opt-level $O: run under qemu-system-arm"
  "${QEMU[@]}" "$DIR/hypersimplex-firmware" 2>&1 | tee "$OUT/rust-o$O.log"
  rc=${PIPESTATUS[0]}
  echo "exit status: $rc"
  result "rust firmware on Cortex-M4F: values match the f64 reference (opt-level $O)" \
    "$([ "$rc" = 0 ] || [ "$rc" = 2 ]; echo $?)"
  result "rust firmware: stack <= 512 bytes per public f32 function (opt-level $O)" \
    "$([ "$rc" = 0 ]; echo $?)" budget

  section "no-panic proof, opt-level $O"
  fwcargo build ${PROFILE_FLAG[$O]} --bin nopanic >"$OUT/nopanic-o$O.log" 2>&1
  st=$?
  grep -E 'undefined reference|error' "$OUT/nopanic-o$O.log" | head -5
  if [ "$st" != 0 ] && grep -q hypersimplex_core_panic_is_reachable "$OUT/nopanic-o$O.log"; then
    echo "a panic is reachable; diagnostic link with the panic symbol defined:"
    fwcargo rustc -q ${PROFILE_FLAG[$O]} --bin nopanic -- \
      -C link-arg=--defsym=hypersimplex_core_panic_is_reachable=0 >/dev/null 2>&1 &&
      python3 firmware/tools/panic_paths.py "$DIR/nopanic"
  fi
  result "no panic reachable from the no_std API, f32 + f64 (link-time proof, opt-level $O)" "$st"

  section "disassembly, opt-level $O: forward pass f32 loops use the FPU, no soft double per element"
  arm-none-eabi-objdump -d -C --no-show-raw-insn "$DIR/hypersimplex-firmware" >"$OUT/rust-o$O.dis"
  python3 firmware/tools/loops.py 'hypersimplex::forward::soft_binary_argmax::<f32>$' <"$OUT/rust-o$O.dis" | cut -c1-220
  st=${PIPESTATUS[0]}
  result "rust forward<f32>: no __aeabi_d* call in any per-element loop (opt-level $O)" "$st"
  echo "static stack bound (prologue frames along the call graph; painting above is the measured depth):"
  python3 firmware/tools/stack_bound.py '^hypersimplex::(forward::soft_binary_argmax(_in_place)?|backward::soft_binary_argmax_vjp(_in_place)?|topk::binary_argmax|loss::hypersimplex_loss)::<f32>$' \
    <"$OUT/rust-o$O.dis" | grep 'static bound'
  python3 firmware/tools/loops.py 'hypersimplex::forward::soft_binary_argmax::<f64>$' --expect-dcalls \
    <"$OUT/rust-o$O.dis" | tail -1
  result "disassembly check can fail: forward<f64> loops do call soft double (opt-level $O)" "${PIPESTATUS[0]}"
done

section "Rust firmware with a deliberately wrong expected value (must fail)"
fwcargo build --release --bin hypersimplex-firmware --features force-fail 2>&1 | tail -3
"${QEMU[@]}" firmware/rust/target/$TARGET/release/hypersimplex-firmware >"$OUT/rust-force-fail.log" 2>&1
rc=$?
grep -E 'MISMATCH|passed' "$OUT/rust-force-fail.log" | sed 's/^/  (expected failure) /'
echo "exit status: $rc (expected 1)"
result "rust firmware fails on a wrong expected value (exit 1)" "$([ "$rc" = 1 ]; echo $?)"

section "no-panic proof control: a deliberately reachable panic must fail the link"
fwcargo build --release --bin nopanic --features panic-control >"$OUT/nopanic-control.log" 2>&1
st=$?
grep -m1 'undefined reference' "$OUT/nopanic-control.log"
result "no-panic proof fails when a panic is reachable" \
  "$([ "$st" != 0 ] && grep -q hypersimplex_core_panic_is_reachable "$OUT/nopanic-control.log"; echo $?)"

# ---------------------------------------------------------------- C firmware
python3 firmware/gen/gen.py --quiet --c "$OUT/expected.h"
CFLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -g -std=c11 -Wall -Wextra
        -ffunction-sections -fdata-sections -Iinclude -I"$OUT")
LDFLAGS=(--specs=rdimon.specs -T firmware/c/mps2-an386.ld -Wl,--gc-sections -Wl,--no-warn-execstack)
declare -A FLASH
for O in s 3; do
  TD=target/thumb-o$O; [ $O = s ] && TD=target/thumb-os
  section "ffi static library for $TARGET, no_std, opt-level $O"
  RUSTC=$DRUSTC RUSTC_BOOTSTRAP=1 $DCARGO build --release -p hypersimplex-ffi --no-default-features \
    --target $TARGET -Z build-std=core --target-dir $TD --config "profile.release.opt-level=$([ $O = s ] && echo '"s"' || echo 3)" \
    2>&1 | grep -vE '^\s+(Compiling|Downloaded|Downloading)|cdylib|^$|generated 1 warning' | tail -20
  st=${PIPESTATUS[0]}
  LIB=$TD/$TARGET/release/libhypersimplex.a
  result "ffi no_std staticlib builds for $TARGET (opt-level $O)" "$st"
  [ "$st" = 0 ] || continue

  section "C firmware, library at opt-level $O: build and run under qemu-system-arm"
  arm-none-eabi-gcc "${CFLAGS[@]}" "${LDFLAGS[@]}" firmware/c/main.c firmware/c/startup.c "$LIB" -lm \
    -o "$OUT/c-o$O.elf"
  st=$?
  result "C firmware compiles and links against libhypersimplex.a (opt-level $O)" "$st"
  if [ "$st" = 0 ]; then
    "${QEMU[@]}" "$OUT/c-o$O.elf" 2>&1 | tee "$OUT/c-o$O.log"
    rc=${PIPESTATUS[0]}
    echo "exit status: $rc"
    result "C firmware on Cortex-M4F: values match the f64 reference (opt-level $O)" \
      "$([ "$rc" = 0 ] || [ "$rc" = 2 ]; echo $?)"
    result "C firmware: stack <= 512 bytes per public f32 function (opt-level $O)" \
      "$([ "$rc" = 0 ]; echo $?)" budget
    arm-none-eabi-objdump -d -C --no-show-raw-insn "$OUT/c-o$O.elf" >"$OUT/c-o$O.dis"
  fi
  # Every function of the no_std C ABI in one image: nothing in it may call into core's panic
  # machinery (the ffi's no_std panic handler only halts, so the link cannot prove it).
  np=1
  if arm-none-eabi-gcc "${CFLAGS[@]}" "${LDFLAGS[@]}" firmware/c/nopanic.c firmware/c/startup.c "$LIB" -lm \
       -o "$OUT/c-nopanic-o$O.elf"; then
    python3 firmware/tools/panic_paths.py "$OUT/c-nopanic-o$O.elf" >"$OUT/c-nopanic-o$O.log"
    np=$?
    tail -20 "$OUT/c-nopanic-o$O.log"
  fi
  result "C ABI, every no_std function linked: no path into core::panicking (opt-level $O)" "$np"
  if [ "$st" = 0 ]; then
    python3 firmware/tools/loops.py '^hs_soft_binary_argmax_f32$' <"$OUT/c-o$O.dis" | cut -c1-220
    result "C hs_soft_binary_argmax_f32: no __aeabi_d* call in any per-element loop (opt-level $O)" "${PIPESTATUS[0]}"
    echo "static stack bound (prologue frames along the call graph; painting above is the measured depth):"
    python3 firmware/tools/stack_bound.py '^hs_(soft_binary_argmax(_vjp)?|binary_argmax|hypersimplex_loss)_f32$' \
      <"$OUT/c-o$O.dis"
  fi

  section "flash footprint, opt-level $O (forward + backward + top-k + binary loss, f32)"
  arm-none-eabi-gcc "${CFLAGS[@]}" "${LDFLAGS[@]}" firmware/c/footprint.c firmware/c/startup.c -lm \
    -o "$OUT/fp0-o$O.elf" &&
  arm-none-eabi-gcc -DWITH_LIB "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wl,-Map="$OUT/fp1-o$O.map" \
    firmware/c/footprint.c firmware/c/startup.c "$LIB" -lm -o "$OUT/fp1-o$O.elf"
  st=$?
  if [ "$st" = 0 ]; then
    flash() { arm-none-eabi-size -A "$1" | awk '$1 == ".text" || $1 == ".rodata" { s += $2 } END { print s }'; }
    f0=$(flash "$OUT/fp0-o$O.elf"); f1=$(flash "$OUT/fp1-o$O.elf")
    FLASH[$O]=$((f1 - f0))
    echo "flash (.text + .rodata): without the library $f0, with $f1: the library adds ${FLASH[$O]} bytes"
    python3 firmware/tools/mapsize.py "$OUT/fp1-o$O.map" libhypersimplex.a
  fi
  result "footprint probe links (opt-level $O)" "$st"
done

section "C firmware with a deliberately wrong expected value (must fail)"
if [ -f target/thumb-os/$TARGET/release/libhypersimplex.a ]; then
  arm-none-eabi-gcc -DFORCE_FAIL "${CFLAGS[@]}" "${LDFLAGS[@]}" firmware/c/main.c firmware/c/startup.c \
    target/thumb-os/$TARGET/release/libhypersimplex.a -lm -o "$OUT/c-force-fail.elf" &&
    "${QEMU[@]}" "$OUT/c-force-fail.elf" >"$OUT/c-force-fail.log" 2>&1
  rc=$?
  grep -E 'MISMATCH|passed' "$OUT/c-force-fail.log" | sed 's/^/  (expected failure) /'
  echo "exit status: $rc (expected 1)"
  result "C firmware fails on a wrong expected value (exit 1)" "$([ "$rc" = 1 ]; echo $?)"
fi

if [ -n "${FLASH[s]:-}" ]; then
  section "flash budget"
  echo "library flash: ${FLASH[s]} bytes at opt-level s, ${FLASH[3]:-?} bytes at opt-level 3 (budget 8192 at s)"
  result "flash <= 8 KiB for forward + backward + top-k + binary loss, f32, opt-level s (${FLASH[s]} bytes)" \
    "$([ "${FLASH[s]}" -le 8192 ]; echo $?)" budget
fi

echo
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "failed: $f"; done
echo "firmware: $passed passed, $failed failed, $warned warned ($(( $(date +%s) - T_START ))s)"
[ "$failed" = 0 ]
