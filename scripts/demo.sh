#!/usr/bin/env bash
# The main-job demo: `bash scripts/demo.sh [train options]`.
#
# Trains a small MLP on the UCI optical-digits images (data/) with cross-entropy and with the
# multiclass HyperSimplex loss (called from C++ through the C ABI of libhypersimplex.a), over
# batch sizes 16, 64, 256 and the whole training set and 5 seeds, then prints a table in the form
# of the paper's Table 1 and writes an SVG plot of best test accuracy against batch size.
# Extra arguments go to the training program (see `target/demo/train --help`), e.g. `--k counts`.
#
# On a fresh Debian 12 it installs what is missing (g++, and Debian's cargo-web/rustc-web when no
# cargo is on PATH; needs root or sudo). About a minute on 2 cores, the library build included.
set -euo pipefail
. "$(dirname "$0")/lib.sh"    # ROOT (cd's there), LOG_DIR, need_pkgs
t0=$(date +%s)

missing=()
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v cargo >/dev/null 2>&1 || missing+=(cargo-web rustc-web)
[ ${#missing[@]} = 0 ] || need_pkgs "${missing[@]}"

TARGET_DIR=${CARGO_TARGET_DIR:-target}
echo "== building the C ABI library (cargo build --release -p hypersimplex-ffi)"
cargo build --release -q -p hypersimplex-ffi
mkdir -p "$TARGET_DIR/demo"
echo "== building the C++ training program (c-examples/train/train.cpp)"
g++ -std=c++17 -O3 -ffp-contract=off -Wall -Wextra -Iinclude c-examples/train/train.cpp \
  "$TARGET_DIR/release/libhypersimplex.a" -lpthread -ldl -lm -o "$TARGET_DIR/demo/train"
echo "== training (progress: one line per finished run)"
"$TARGET_DIR/demo/train" --svg "$(cd "$TARGET_DIR/demo" && pwd)/accuracy_vs_batch.svg" "$@"
echo "Demo finished in $(( $(date +%s) - t0 )) s."
