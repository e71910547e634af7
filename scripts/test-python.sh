#!/usr/bin/env bash
# Tests of the Python package (issue 11): creates or reuses the project-local venv
# (scripts/python-env.sh: numpy, pytest, torch, maturin, cffi pinned), builds the wheel with
# maturin (release, the C library inside) into target/wheels, installs it with --no-index into a
# fresh venv target/venv-wheel that sees target/venv's packages through a .pth file (so torch is
# not downloaded twice, and the wheel itself must install without Rust or a build), checks the
# import and __version__ from /, checks the JAX handlers' C declarations against
# include/hypersimplex.h, builds them (python -m hypersimplex.jax, cached in target/jax-cache),
# runs python/tests (NumPy API, PyTorch and JAX operators against a float64 NumPy reference) with
# that venv, the README's PyTorch and JAX examples and train_torch.py --smoke.
# Prints one PASS/FAIL line per step (logs in target/logs/python-*.log); exits non-zero on failure.
set -u
STEP_PREFIX=python
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
step() { step_log "$@"; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WHEELS="$TARGET/wheels"
VW="$TARGET/venv-wheel"
export TORCHINDUCTOR_CACHE_DIR="$TARGET/inductor-cache" PYTHONDONTWRITEBYTECODE=1
export HYPERSIMPLEX_JAX_CACHE="$TARGET/jax-cache"   # hypersimplex.jax's compiled handlers
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

jax_decls() {   # the handler source declares the C functions itself: they must match the header
    local inc src=python/src/hypersimplex/_jax_ffi.cc bad="$TARGET/jax_ffi_bad_decl.cc"
    inc=$("$PY" -c 'import jax.ffi; print(jax.ffi.include_dir())') || return 1
    command -v c++ >/dev/null || need_pkgs g++ || return 1
    c++ -std=c++17 -fsyntax-only -I "$inc" -include include/hypersimplex.h "$src" || return 1
    # negative control: a changed declaration (const size_t *k -> const double *k) must not compile
    sed 's/size_t n, const size_t \*k, float \*y/size_t n, const double *k, float *y/' "$src" >"$bad"
    cmp -s "$src" "$bad" && { echo "negative control: the sed did not change the source"; return 1; }
    if c++ -std=c++17 -fsyntax-only -I "$inc" \
        -include include/hypersimplex.h "$bad" 2>/dev/null; then
        echo "negative control: a mismatching declaration compiled"; return 1
    fi
}
step "JAX handlers' C declarations match include/hypersimplex.h (with a negative control)" jax_decls

jax_build() {   # the explicit build step, from the installed wheel: a library in the cache
    local so; so=$(cd / && "$VW/bin/python" -m hypersimplex.jax) || return 1
    echo "$so"
    case "$so" in "$HYPERSIMPLEX_JAX_CACHE"/jax_ffi-*.so) ;; *) return 1 ;; esac
    ldd "$so" | grep -F "$VW/" | grep -F lib_native.so   # linked to the wheel's own C library
}
step "python -m hypersimplex.jax compiles the XLA FFI handlers against the wheel's library" jax_build

step "pytest python/tests (NumPy API, PyTorch and JAX ops vs float64 reference)" \
    bash -c "cd / && '$VW/bin/python' -m pytest -q -rs -p no:cacheprovider '$ROOT/python/tests'"

readme_example() {   # readme_example MARKER: the README's example after <!-- MARKER -->, run from /
    local py="$TARGET/readme_$1.py"
    awk -v m="<!-- $1 -->" '$0 == m {f=1; next} f && /^```python/{g=1; next} g && /^```/{exit} g' README.md >"$py"
    [ -s "$py" ] || { echo "no example after <!-- $1 --> in README.md"; return 1; }
    cat "$py"
    (cd / && "$VW/bin/python" "$py")
}
step "README's PyTorch example runs from /" readme_example python-example
step "README's JAX example runs from /" readme_example jax-example

step "python/train_torch.py --smoke (the package, installed)" \
    "$VW/bin/python" python/train_torch.py --smoke

summary
