#!/usr/bin/env bash
# Mutation testing with cargo-mutants: does a crate's own test suite notice small changes to its
# code (an operator swapped, a condition negated, a function body replaced by a default)?
# Not part of the test command: the core set below takes about an hour on 2 cores.
#
#   bash scripts/mutants.sh core              # the core: checks, errors, masks, losses, rows, top-k
#   bash scripts/mutants.sh core-solver       # the core's root finder: solve, frame, real
#   bash scripts/mutants.sh core-kernel       # the core's scalar passes (kernel.rs)
#   bash scripts/mutants.sh core-half         # the core's half-precision functions and conversions
#   bash scripts/mutants.sh core-sharded      # the sharded (multi-process) entry points
#   bash scripts/mutants.sh ffi               # the C ABI's pointer and status handling
#   bash scripts/mutants.sh ffi-loss          # the C ABI's losses (argument and overlap checks)
#   bash scripts/mutants.sh ffi-entry         # the C ABI's other entry points (forward, VJP, half, ...)
#   bash scripts/mutants.sh ffi-nostd         # its no_std backend and run()
#   bash scripts/mutants.sh simd-rowwise      # the short rows solved where they lie
#   bash scripts/mutants.sh simd-small        # the short rows' entry points and their VJP
#   bash scripts/mutants.sh simd-pool         # the thread pool (thread count, fallbacks)
#   bash scripts/mutants.sh simd-platform     # path detection (set HYPERSIMPLEX_EXPECT_PATH to
#                                             # this machine's path, as scripts/test-simd.sh does)
#   bash scripts/mutants.sh core --iterate    # again, skipping what the last run caught
#
# Results go to target/mutants-<set>/mutants.out/ (missed.txt: the survivors). The survivors of
# the last full runs and why each is harmless are listed in README.md ("Mutation testing").
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -qF "$VERSION"; then
    cargo install --locked cargo-mutants --version "$VERSION"
fi

set_name=${1:-core}
shift || true
case "$set_name" in
core)
    pkg=hypersimplex
    files=(core/src/{backward,error,forward,loss,mask,predict,rows,topk,validate}.rs)
    ;;
core-solver)
    pkg=hypersimplex
    files=(core/src/{solve,frame,real}.rs)
    ;;
core-kernel)
    # the scalar passes (every path's reference, the portable path's kernels)
    pkg=hypersimplex
    files=(core/src/kernel.rs)
    ;;
core-half)
    pkg=hypersimplex
    files=(core/src/half.rs core/src/half/convert.rs)
    ;;
core-sharded)
    pkg=hypersimplex
    files=(core/src/sharded.rs)
    ;;
ffi)
    pkg=hypersimplex-ffi
    files=(ffi/src/{ptr,status}.rs)
    ;;
ffi-loss)
    # the losses' argument checks (leaving out `loss_regions`' 320 replacements of its result,
    # which cannot compile: `Region::new` takes a pointer and a length)
    pkg=hypersimplex-ffi
    files=(ffi/src/loss.rs)
    set -- -E 'replace loss_regions -> ' "$@"
    ;;
ffi-entry)
    # the other entry points' checks (the C ABI's losses: ffi-loss)
    pkg=hypersimplex-ffi
    files=(ffi/src/{forward,backward,half,predict,sharded,threads,topk}.rs)
    ;;
ffi-nostd)
    # the no_std build's own code (the backend over the core crate, `run`), as
    # `cargo test -p hypersimplex-ffi --no-default-features --lib` tests it
    pkg=hypersimplex-ffi
    files=(ffi/src/{backend,lib}.rs)
    set -- --no-default-features --cargo-test-arg=--lib "$@"
    ;;
simd-rowwise)
    # the row layout's safe functions (cargo-mutants leaves `unsafe fn` alone: the kernels'
    # bodies are covered by the bitwise comparisons with `Portable` instead), against the
    # simd crate's library and kernel tests
    pkg=hypersimplex-simd
    files=(simd/src/small/rowwise.rs)
    set -- --cargo-arg=--lib --cargo-arg=--test=kernels "$@"
    ;;
simd-small)
    # the short rows' safe entry points (batches, single vectors) and their VJP, leaving out
    # what an x86-64 machine without AVX-512 cannot run (tested where it runs:
    # `scripts/test-simd-aarch64.sh`, the AVX-512 guests): the NEON arms, and the guard that
    # sends batches of more than one block to the AVX-512 iteration (whose mutants change the
    # speed, not the bits, where it runs)
    pkg=hypersimplex-simd
    # (and `small/mod.rs` without `with_buffer`'s stack sizes: the routing, the unit, the block)
    files=(simd/src/small/{rows,vjp,mod}.rs)
    set -- --cargo-arg=--lib --cargo-arg=--test=kernels -E 'Path::Neon' -E 'match guard paired' \
        -E 'in with_buffer' "$@"
    ;;
simd-pool)
    # the pool behind the batched entry points, against its own tests and the kernel tests
    pkg=hypersimplex-simd
    files=(simd/src/pool.rs)
    set -- --cargo-arg=--lib --cargo-arg=--test=pool --cargo-arg=--test=kernels "$@"
    ;;
simd-platform)
    # the choice of path (CPUID decoding, forcing the scalar path), against the library's unit
    # tests, the kernel tests and the active-path test
    pkg=hypersimplex-simd
    files=(simd/src/platform.rs)
    set -- --cargo-arg=--lib --cargo-arg=--test=kernels --cargo-arg=--test=active_path \
        --cargo-arg=--test=force_scalar "$@"
    ;;
*)
    echo "usage: $0 [core|core-solver|core-kernel|core-half|core-sharded|ffi|ffi-loss|ffi-entry|ffi-nostd|simd-rowwise|simd-small|simd-pool|simd-platform] [cargo-mutants options]" >&2
    exit 2
    ;;
esac

args=()
for f in "${files[@]}"; do
    args+=(-f "$f")
done
# The tests in debug with opt-level 1 and no debug info: a mutant rebuilds in seconds and the
# suites run about as fast as in release; debug assertions and overflow checks stay on.
export CARGO_PROFILE_DEV_OPT_LEVEL=1 CARGO_PROFILE_DEV_DEBUG=0
# (a fresh clone has no target/ yet)
mkdir -p target
exec cargo mutants -p "$pkg" "${args[@]}" -j "$(nproc)" --timeout 240 --copy-target false \
    -o "target/mutants-$set_name" "$@"
