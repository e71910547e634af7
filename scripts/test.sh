#!/usr/bin/env bash
# The project's one test command: `bash scripts/test.sh`.
# Installs what it needs on a fresh Debian 12 (as root, or with sudo), then runs every test:
# Rust unit/integration/property tests, the no_std checks, the C ABI (C, C++, sanitizers, valgrind,
# Python), the SIMD paths (host AVX2 and aarch64 NEON under qemu), the Cortex-M4F firmware under
# qemu-system-arm with the link-time no-panic proof, and the training demo's checks (its PyTorch
# script is skipped with a message where torch is not installed).
# Prints one PASS/FAIL line per step and a closing "N passed, M failed" line; exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never

# ---------------------------------------------------------------- install
bash scripts/install-deps.sh || { echo "FAIL: installing dependencies"; exit 1; }

# ---------------------------------------------------------------- steps
passed=0; failed=0; failures=()
step() {   # step NAME COMMAND...
  local name=$1; shift
  local t0=$(date +%s)
  echo; echo "=== $name"
  if "$@"; then
    echo "PASS: $name ($(( $(date +%s) - t0 ))s)"; passed=$((passed + 1))
  else
    echo "FAIL: $name ($(( $(date +%s) - t0 ))s)"; failed=$((failed + 1)); failures+=("$name")
  fi
}

core_nostd_tree() {
  # core must have no dependencies at all (so nothing in its tree can need std or alloc),
  # and must not mention alloc/std outside test code.
  local deps
  deps=$(cargo tree -p hypersimplex -e normal --prefix none | sort -u)
  echo "$deps"
  [ "$(echo "$deps" | wc -l)" = 1 ] || { echo "core has dependencies"; return 1; }
  ! grep -nE '^\s*(extern crate (alloc|std)|use (alloc|std)::)' core/src/*.rs
}

if cargo fmt --version >/dev/null 2>&1; then
  step "fmt" cargo fmt --all -- --check
else
  echo "SKIP: fmt (rustfmt is not installed for this toolchain)"
fi
step "workspace tests (debug)" cargo test --workspace --all-targets -q
step "core tests (release, incl. large n)" cargo test -p hypersimplex --release -q -- --include-ignored
step "doc tests" cargo test --workspace --doc -q
step "rustdoc builds without warnings (core, simd)" env RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p hypersimplex -p hypersimplex-simd
step "core is no_std with no dependencies" core_nostd_tree
for s in bench ffi simd simd-aarch64 firmware demo; do
  if [ -f "scripts/test-$s.sh" ]; then step "$s" bash "scripts/test-$s.sh"; fi
done

echo
for f in "${failures[@]:-}"; do [ -n "$f" ] && echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
