#!/usr/bin/env bash
# Checks of the training demo (issue 6): builds the ffi static library and c-examples/train, checks
# the library's multiclass loss and gradient against the program's independent reference
# (`train --check`), runs a tiny training (2 seeds, 3 epochs) and checks its table (plain and
# calibrated prediction) and SVG. (python/train_torch.py --smoke runs in scripts/test-python.sh,
# with the installed wheel and the project venv's PyTorch.)
# Prints PASS/FAIL lines (logs under target/logs); exits non-zero on failure.
set -u
STEP_PREFIX=demo
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
check() { step_log "$@"; }
command -v g++ >/dev/null 2>&1 || need_pkgs g++ || exit 1
check "cargo build --release -p hypersimplex-ffi" cargo build --release -q -p hypersimplex-ffi
check "build train.cpp (-Wall -Wextra -Werror, static lib)" g++ -std=c++17 -O3 -ffp-contract=off -Wall -Wextra -Werror -Iinclude \
  c-examples/train/train.cpp "$TARGET_DIR/release/libhypersimplex.a" -lpthread -ldl -lm -o "$OUT/train"
check "library loss/gradient vs reference (train --check)" "$OUT/train" --check
tiny() {
  "$OUT/train" --seeds 2 --epochs 3 --batches 32,full --svg "$OUT/plot.svg" >"$OUT/tiny.txt" || return 1
  cat "$OUT/tiny.txt"
  # two tables (k = counts, k = B/2), one row per batch size and prediction rule (argmax and the
  # two calibrated rules of issue 18)
  [ "$(grep -cE '^\| (32|1438) \| (argmax|calibrated, running λ|calibrated, training-set λ) \| 0\.[0-9]{4} ± 0\.[0-9]{4} \| 0\.[0-9]{4} ± ' "$OUT/tiny.txt")" = 12 ] ||
    { echo "table rows missing"; return 1; }
  # backprop + Adam learn: after 3 epochs at batch 32 both losses are far above chance (0.1)
  awk -F'|' '$2 ~ /^ 32 $/ { split($4, ce, " "); split($5, hs, " ");
      if (ce[1] < 0.6 || hs[1] < 0.4) { print "not learning:", $0; bad = 1 } }
      END { exit bad }' "$OUT/tiny.txt" || return 1
  grep -q '^Plot: ' "$OUT/tiny.txt" || return 1
  grep -q '</svg>' "$OUT/plot.svg" && grep -q 'Cross-entropy' "$OUT/plot.svg" && grep -q 'HS, k = B/2, calibrated' "$OUT/plot.svg"
}
check "tiny training run: table and SVG" tiny
summary
