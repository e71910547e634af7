#!/usr/bin/env bash
# Sharded projection across processes through MPI (issue 16): builds libhypersimplex (release)
# and c-examples/mpi/sharded_mpi.c with Open MPI, and runs it on 1, 2, 3 and 4 ranks: forward,
# VJP and multiclass loss (f32, f64) of a batch split over the ranks against the unsharded call
# on the whole batch, the loss bitwise equal on every rank, agreed errors (a callback failing on
# every rank at its second call, mismatched k or reduction, NaN or a bad label on one rank), and
# a negative control (a local-only "reduction" must be detected). Installs Open MPI (Debian 12).
# Prints one PASS/FAIL line per step (output in target/logs/mpi-*.log).
set -u
STEP_PREFIX=mpi
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
step() { step_log "$@"; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LIBDIR="$TARGET/release"
WORK="$TARGET/mpi-test"
mkdir -p "$WORK"

PKGS="gcc libc6-dev openmpi-bin libopenmpi-dev"
step "install tools (apt: $PKGS)" need_pkgs $PKGS
step "cargo build --release -p hypersimplex-ffi" cargo build --release -p hypersimplex-ffi
step "mpicc c-examples/mpi/sharded_mpi.c (static library, -Werror)" \
    mpicc -std=c99 -O2 -Wall -Wextra -Werror -Iinclude c-examples/mpi/sharded_mpi.c \
    "$LIBDIR/libhypersimplex.a" -lpthread -ldl -lm -o "$WORK/sharded_mpi"

# As root Open MPI needs --allow-run-as-root; --oversubscribe runs 4 ranks on fewer cores.
MPIRUN=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
for p in 1 2 3 4; do
    step "$p rank(s): sharded = unsharded, agreed errors, negative control" \
        timeout 300 "${MPIRUN[@]}" -n "$p" "$WORK/sharded_mpi"
done
summary
