#!/usr/bin/env bash
# Tests of the Python package (issue 11): creates or reuses the project-local venv
# (scripts/python-env.sh: numpy, pytest, torch, maturin, cffi pinned), builds the wheel with
# maturin (release, the C library inside) into target/wheels, installs it with --no-index into a
# fresh venv target/venv-wheel that sees target/venv's packages through a .pth file (so torch is
# not downloaded twice, and the wheel itself must install without Rust or a build), checks the
# import and __version__ from /, runs python/tests (NumPy API and PyTorch operators against a
# float64 NumPy reference) with that venv, the README's PyTorch example and train_torch.py --smoke.
# Prints one PASS/FAIL line per step (logs in target/logs/python-*.log); exits non-zero on failure.
set -u
STEP_PREFIX=python
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
step() { step_log "$@"; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WHEELS="$TARGET/wheels"
VW="$TARGET/venv-wheel"
export TORCHINDUCTOR_CACHE_DIR="$TARGET/inductor-cache" PYTHONDONTWRITEBYTECODE=1
command -v python3 >/dev/null || need_pkgs python3 python3-venv || exit 1

PY=$(bash scripts/python-env.sh | tail -1) || { echo "FAIL: python: scripts/python-env.sh"; exit 1; }
echo "python: $PY"

build_wheel() {
    rm -rf "$WHEELS"
    # own target dir: maturin strips the library, which would rebuild target/release each time
    (cd python && CARGO_TARGET_DIR="$TARGET/wheel-build" "$PY" -m maturin build --release -o "$WHEELS" -i "$PY") || return 1
    local w; w=$(ls "$WHEELS"/hypersimplex-*.whl) || return 1
    case "$w" in *-py3-none-manylinux*_x86_64.whl | *-py3-none-manylinux*_aarch64.whl) ;;
        *) echo "unexpected wheel tag: $w"; return 1 ;; esac
    echo "wheel: $w ($(stat -c %s "$w") bytes)"
}
step "maturin build --release (py3-none manylinux wheel with the C library)" build_wheel

install_wheel() {
    rm -rf "$VW"
    "$PY" -m venv --without-pip "$VW" || return 1
    local parent own
    parent=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    own=$("$VW/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$parent" >"$own/_hypersimplex_test_deps.pth"     # numpy, cffi, torch, pytest
    "$PY" -m pip --python "$VW/bin/python" install -q --no-index --find-links "$WHEELS" hypersimplex &&
        "$PY" -m pip --python "$VW/bin/python" list 2>/dev/null | grep -E '^hypersimplex +0\.2\.0$'
}
step "the wheel installs into a fresh venv (pip --no-index: no build, no Rust)" install_wheel

import_from_root() {
    local out
    out=$(cd / && "$VW/bin/python" -c 'import hypersimplex as h; print(h.__version__, h.__file__)') || return 1
    echo "$out"
    case "$out" in "0.2.0 $VW/"*) ;; *) echo "expected 0.2.0 from $VW"; return 1 ;; esac
}
step "import hypersimplex from /: __version__ 0.2.0, from the installed wheel" import_from_root

step "pytest python/tests (NumPy API, PyTorch ops vs float64 reference)" \
    bash -c "cd / && '$VW/bin/python' -m pytest -q -rs -p no:cacheprovider '$ROOT/python/tests'"

readme_example() {   # the README's PyTorch example, run from /
    awk '/^<!-- python-example -->/{f=1; next} f && /^```python/{g=1; next} g && /^```/{exit} g' README.md \
        >"$TARGET/readme_example.py"
    [ -s "$TARGET/readme_example.py" ] || { echo "no example found in README.md"; return 1; }
    cat "$TARGET/readme_example.py"
    (cd / && "$VW/bin/python" "$TARGET/readme_example.py")
}
step "README's PyTorch example runs from /" readme_example

step "python/train_torch.py --smoke (the package, installed)" \
    "$VW/bin/python" python/train_torch.py --smoke

summary
