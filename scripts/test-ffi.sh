#!/usr/bin/env bash
# Tests of the C ABI (issue 3): builds libhypersimplex (release), checks that the committed
# header is fresh, compiles it as C99 and C++11 with -Werror, builds and runs the C and C++
# examples against the static and the shared library (plain, ASan+UBSan, valgrind memcheck),
# checks the documented pkg-config build command, and builds the no_std variant (the Python
# package's tests are in scripts/test-python.sh). Installs what it needs (Debian 12).
# Prints one PASS/FAIL line per step (each step's output in target/logs/ffi-*.log); exits
# non-zero if any step failed.
set -u
STEP_PREFIX=ffi
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
step() { step_log "$@"; }
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LIBDIR="$TARGET/release"
WORK="$TARGET/ffi-test"
mkdir -p "$WORK"

# -- tools ---------------------------------------------------------------------------------------
PKGS="gcc g++ make libc6-dev valgrind pkg-config"
step "install tools (apt: $PKGS)" need_pkgs $PKGS

# -- Rust: build, unit/ABI tests, header freshness -----------------------------------------------
step "cargo build --release -p hypersimplex-ffi" cargo build --release -p hypersimplex-ffi
step "cargo test -p hypersimplex-ffi (ABI tests, header is fresh)" cargo test -p hypersimplex-ffi

# -- header compiles as C99 and C++11 ------------------------------------------------------------
header_compiles() {
    printf '#include "hypersimplex.h"\nint main(void) { return hs_version() == 0; }\n' >"$WORK/h.c"
    cp "$WORK/h.c" "$WORK/h.cpp"
    gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$WORK/h.c" -o "$WORK/h_c.o" &&
        g++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -c "$WORK/h.cpp" -o "$WORK/h_cpp.o"
}
step "header compiles: C99 and C++11, -Wall -Wextra -Werror -pedantic" header_compiles

# -- C / C++ examples ----------------------------------------------------------------------------
MK=(make -C c-examples LIBDIR="$LIBDIR" OUT="$WORK/c-examples")
step "c-examples: C and C++ x static and shared, outputs checked" "${MK[@]}" run
step "c-examples: -fsanitize=address,undefined (static and shared)" "${MK[@]}" asan
step "c-examples: valgrind memcheck, zero reports" "${MK[@]}" valgrind

# The sanitizer and valgrind checks must be able to fail: a deliberate heap overflow.
negative_controls() {
    printf '#include <stdlib.h>\nint main(void){ int *p = malloc(4 * sizeof *p); volatile int i = 4; int r = p[i]; free(p); return r & 0; }\n' >"$WORK/bad.c"
    gcc -g -fsanitize=address,undefined "$WORK/bad.c" -o "$WORK/bad_san" &&
        gcc -g "$WORK/bad.c" -o "$WORK/bad" || return 1
    if "$WORK/bad_san" >/dev/null 2>&1; then echo "ASan missed a heap overflow"; return 1; fi
    if valgrind -q --error-exitcode=99 "$WORK/bad" >/dev/null 2>&1; then echo "valgrind missed it"; return 1; fi
}
step "negative control: ASan and valgrind catch a heap overflow" negative_controls

# The documented one-line build commands (pkg-config; --define-variable for a custom target dir).
pkg_config_build() {
    local pc=(env PKG_CONFIG_PATH="$ROOT/ffi/pkgconfig" pkg-config --define-variable=libdir="$LIBDIR")
    gcc -std=c99 c-examples/example.c $("${pc[@]}" --cflags --libs hypersimplex) -lm -o "$WORK/pc_shared" &&
        "$WORK/pc_shared" &&
        g++ -std=c++11 c-examples/example.cpp $("${pc[@]}" --cflags --libs hypersimplex-static) -o "$WORK/pc_static" &&
        "$WORK/pc_static" &&
        ! ldd "$WORK/pc_static" | grep -q hypersimplex
}
step "pkg-config: hypersimplex (shared) and hypersimplex-static build commands" pkg_config_build

# -- hostile process conditions (issue 13): thread count, fork after the pool ran, out of memory
reliability() {
    local lib
    gcc -std=c99 -O2 -Wall -Wextra -Werror -Iinclude c-examples/tests/reliability.c \
        "$LIBDIR/libhypersimplex.a" -lpthread -ldl -lm -o "$WORK/reliability_static" &&
        gcc -std=c99 -O2 -Wall -Wextra -Werror -Iinclude c-examples/tests/reliability.c \
            -L"$LIBDIR" -Wl,-rpath,"$LIBDIR" -lhypersimplex -lm -o "$WORK/reliability_shared" || return 1
    for lib in static shared; do
        echo "-- $lib"
        timeout 120 "$WORK/reliability_$lib" || return 1
    done
}
step "reliability: hs_set/get_num_threads, fork() child after the pool ran, RLIMIT_AS -> HS_ERR_OUT_OF_MEMORY" reliability

# -- no_std --------------------------------------------------------------------------------------
# Own target dir so the std libraries in target/release are not replaced. panic=abort is
# required for a no_std staticlib/cdylib on a hosted target (rustc refuses unwinding there).
NOSTD="$TARGET/ffi-nostd"
nostd_build() {
    CARGO_TARGET_DIR="$NOSTD" CARGO_PROFILE_RELEASE_PANIC=abort \
        cargo build --release -p hypersimplex-ffi --no-default-features || return 1
    local a="$NOSTD/release/libhypersimplex.a"
    # no allocation, no threads: the archive needs nothing from libc's allocator or pthreads
    if nm -u "$a" | grep -E ' (malloc|calloc|realloc|free|pthread_[a-z_]+|__rust_alloc)$'; then
        echo "no_std archive refers to an allocator or threads"; return 1
    fi
    if nm "$a" | grep -q ' T hs_hypersimplex_loss_multiclass_f32$'; then
        echo "allocating multiclass function exported by the no_std build"; return 1
    fi
    cat >"$WORK/nostd.c" <<'EOF'
#include "hypersimplex.h"
int main(void) {
    const float x[5] = {1.2f, -0.3f, 0.8f, 0.1f, -2.0f};
    float y[5], loss, scratch[2];
    const float logits[4] = {1.5f, -0.5f, 0.2f, 0.7f};
    const uint32_t labels[2] = {0, 1};
    if (hs_soft_binary_argmax_f32(x, 5, 2.0, 2.0f, y) != HS_OK) return 1;
    if (y[0] < 0.87499f || y[0] > 0.87501f || y[4] != 0.0f) return 2;
    if (hs_soft_binary_argmax_f32(x, 5, 2.0, 0.0f, y) != HS_ERR_INVALID_TAU) return 3;
    if (hs_hypersimplex_loss_multiclass_scratch_f32(logits, labels, 2, 2, 0, 1.0f, HS_REDUCTION_SUM,
                                                    &loss, 0, scratch, 2) != HS_OK) return 4;
    return 0;
}
EOF
    gcc -std=c99 -Wall -Wextra -Werror -Iinclude "$WORK/nostd.c" "$a" -o "$WORK/nostd_static" &&
        "$WORK/nostd_static" &&
        gcc -std=c99 -Iinclude "$WORK/nostd.c" -L"$NOSTD/release" -Wl,-rpath,"$NOSTD/release" -lhypersimplex -o "$WORK/nostd_shared" &&
        "$WORK/nostd_shared"
}
step "no_std: cargo build -p hypersimplex-ffi --no-default-features (host, no alloc), C links and runs" nostd_build

summary
