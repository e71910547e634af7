#!/usr/bin/env bash
# The project's one test command: `bash scripts/test.sh`.
# Installs what it needs on a fresh Debian 12 (as root, or with sudo), then runs every test:
# Rust unit/integration/property tests, the no_std checks, the C ABI (C, C++, sanitizers, valgrind,
# Python), the SIMD paths (host AVX2 and aarch64 NEON under qemu), the Cortex-M4F firmware under
# qemu-system-arm with the link-time no-panic proof, and the training demo's checks (its PyTorch
# script runs in the Python step, with the project venv's torch).
# Prints one PASS/FAIL line per step and a closing "N passed, M failed" line; exits non-zero on failure.
# Logs of the steps that write them go to target/logs/.
set -u
. "$(dirname "$0")/lib.sh"    # ROOT, step, summary (cd's to the repository root)

# ---------------------------------------------------------------- install
bash scripts/install-deps.sh || { echo "FAIL: installing dependencies"; exit 1; }

# ---------------------------------------------------------------- steps

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
# clippy's default lints, warnings as errors (the intentional exceptions carry an `allow` and
# the reason beside it)
if cargo clippy --version >/dev/null 2>&1; then
  step "clippy" cargo clippy -q --workspace --all-targets -- -D warnings
  # the fuzz crate is its own workspace (built by scripts/fuzz.sh with cargo-fuzz)
  step "fuzz crate: fmt and clippy" bash -c \
    "cd fuzz && cargo fmt -- --check && cargo clippy -q --all-targets -- -D warnings"
else
  echo "SKIP: clippy (not installed for this toolchain)"
fi
step "workspace tests (debug)" cargo test --workspace --all-targets -q
step "core tests (release, incl. large n)" cargo test -p hypersimplex --release -q -- --include-ignored
step "doc tests" cargo test --workspace --doc -q
step "rustdoc builds without warnings (core, simd)" env RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p hypersimplex -p hypersimplex-simd
step "core is no_std with no dependencies" core_nostd_tree
# The library tests in the configurations that change which code runs: the portable kernels
# instead of AVX2/NEON, one thread instead of rayon's pool (results must be bitwise the same),
# and the C ABI without its std feature (core only, caller scratch). Release builds of the two
# crates whose code paths these switch (the debug workspace run above covers the default).
# One package per cargo call: built together, the ffi's dev-dependencies (cbindgen) turn on
# features of shared crates (bitflags' std, under proptest), which gives simd's test binaries
# other hashes than `-p hypersimplex-simd` alone (scripts/test-simd.sh) and compiled them twice
# (about 5 minutes of a CI run).
simd_ffi_tests() {   # simd_ffi_tests VAR=VALUE: both packages' tests with that environment
  env "$@" cargo test -q --release -p hypersimplex-simd &&
    env "$@" cargo test -q --release -p hypersimplex-ffi
}
step "simd + ffi tests, HYPERSIMPLEX_FORCE_SCALAR=1 (release)" simd_ffi_tests HYPERSIMPLEX_FORCE_SCALAR=1
step "simd + ffi tests, RAYON_NUM_THREADS=1 (release)" simd_ffi_tests RAYON_NUM_THREADS=1
step "ffi ABI tests without default features (no_std build over core)" \
  cargo test -q -p hypersimplex-ffi --no-default-features --lib
for s in bench ffi cmake simd simd-aarch64 firmware demo python mpi; do
  if [ -f "scripts/test-$s.sh" ]; then step "$s" bash "scripts/test-$s.sh"; fi
done
# The C ABI under libFuzzer: every family, 20 s each, committed regressions replayed first.
step "fuzz (C ABI, 20 s per target)" bash scripts/fuzz.sh 20

summary
