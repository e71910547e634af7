#!/usr/bin/env bash
# Creates (or reuses) the project-local Python environment `target/venv` with the packages the
# Python, PyTorch and LibTorch tests need, and prints its python path on the last line.
# Usage: PY=$(bash scripts/python-env.sh | tail -1)
# The first run downloads PyTorch from PyPI (about 2.9 GB with its CUDA libraries, ~2-4 min);
# later runs only check that the pinned packages are present.
set -eu
cd "$(dirname "$0")/.."
VENV=${HYPERSIMPLEX_VENV:-$PWD/target/venv}
REQ=python/requirements-test.txt
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >&2
fi
stamp="$VENV/.hypersimplex-req"
if [ ! -f "$stamp" ] || ! cmp -s "$REQ" "$stamp"; then
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -r "$REQ" >&2
  cp "$REQ" "$stamp"
fi
echo "$VENV/bin/python"
