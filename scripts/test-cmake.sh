#!/usr/bin/env bash
# Tests of the C/C++ packaging (issue 12): the three CMake commands of the README into a
# prefix under target/, the installed files (SONAME, links, no debug info, only hs_* exported,
# sizes), c-examples/cmake-consumer (C and C++, shared and static) through find_package with
# CMAKE_PREFIX_PATH and through add_subdirectory, the C++ program under ASan+UBSan, a pkg-config
# build from outside the repository against the installed .pc files, and hypersimplex.hpp as
# C++11, 17 and 20 with -Wall -Wextra -Werror -pedantic, and c-examples/libtorch (LibTorch from
# the PyPI torch wheel of scripts/python-env.sh) built against the installed package and run:
# forward vs a reference, gradients vs finite differences, digits training. Prints PASS/FAIL per step.
set -u
STEP_PREFIX=cmake
. "$(dirname "$0")/lib.sh"    # ROOT, LOG_DIR, need_pkgs, step_log, summary
step() { step_log "$@"; }
W="${CARGO_TARGET_DIR:-$ROOT/target}/cmake-test"
P="$W/prefix"
CONSUMER="$ROOT/c-examples/cmake-consumer"

step "install tools (apt: cmake g++ pkg-config binutils)" need_pkgs cmake g++ pkg-config binutils

install_prefix() {
    rm -rf "$W/build" "$P"
    local t0; t0=$(date +%s)
    cmake -S . -B "$W/build" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$W/build" -j2 &&
        cmake --install "$W/build" --prefix "$P" || return 1
    echo "configure + build + install: $(( $(date +%s) - t0 ))s"
}
step "cmake -S . -B build && cmake --build build && cmake --install build --prefix P" install_prefix

installed_files() {
    local want f
    want="include/hypersimplex.h include/hypersimplex.hpp lib/libhypersimplex.a
          lib/libhypersimplex.so lib/libhypersimplex.so.0 lib/libhypersimplex.so.0.2.0
          lib/pkgconfig/hypersimplex.pc lib/pkgconfig/hypersimplex-static.pc
          lib/cmake/hypersimplex/hypersimplexConfig.cmake
          lib/cmake/hypersimplex/hypersimplexConfigVersion.cmake
          lib/cmake/hypersimplex/hypersimplexTargets.cmake"
    (cd "$P" && find . \( -type f -o -type l \) | sort | sed 's|^\./||')
    for f in $want; do [ -e "$P/$f" ] || { echo "missing: $f"; return 1; }; done
    [ "$(readlink "$P/lib/libhypersimplex.so")" = libhypersimplex.so.0 ] &&
        [ "$(readlink "$P/lib/libhypersimplex.so.0")" = libhypersimplex.so.0.2.0 ] ||
        { echo "wrong links"; return 1; }
    local so="$P/lib/libhypersimplex.so.0.2.0"
    readelf -d "$so" | grep -E 'SONAME.*\[libhypersimplex\.so\.0\]' || { echo "no SONAME"; return 1; }
    if readelf -S "$so" | grep -q '\.debug_info'; then echo "debug info in $so"; return 1; fi
    local other
    other=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^hs_' || true)
    [ -z "$other" ] || { echo "exported symbols other than hs_*: $other"; return 1; }
    echo "exported: $(nm -D --defined-only "$so" | grep -c ' T hs_') hs_* functions"
    echo "sizes: $(stat -c '%n %s' "$so" "$P/lib/libhypersimplex.a" | sed "s|$P/||g" | tr '\n' ' ')"
    grep -q "^prefix=$P\$" "$P/lib/pkgconfig/hypersimplex.pc" || { echo "wrong prefix in .pc"; return 1; }
    grep -q '^Version: 0.2.0$' "$P/lib/pkgconfig/hypersimplex.pc"
}
step "installed files: links, SONAME libhypersimplex.so.0, no debug info, only hs_* exported" installed_files

run_consumers() {   # run_consumers BUILD_DIR
    local e
    for e in consumer_c consumer_c_static consumer_cpp consumer_cpp_static; do
        "$1/$e" || { echo "$e failed"; return 1; }
    done
    ! ldd "$1/consumer_c_static" | grep -q hypersimplex || { echo "static consumer loads the .so"; return 1; }
    ldd "$1/consumer_c" | grep -q "libhypersimplex.so.0 => $P/lib/" || { echo "shared consumer: wrong library"; return 1; }
}
find_package_build() {
    rm -rf "$W/consumer"
    cmake -S "$CONSUMER" -B "$W/consumer" -DCMAKE_PREFIX_PATH="$P" &&
        cmake --build "$W/consumer" -j2 && run_consumers "$W/consumer"
}
step "consumer via find_package(hypersimplex 0.2): C and C++, shared and static" find_package_build

version_mismatch() {   # a request for 0.3 must not find 0.2 (SameMinorVersion)
    rm -rf "$W/consumer-v" && mkdir -p "$W/consumer-v"
    printf 'cmake_minimum_required(VERSION 3.16)\nproject(v C)\nfind_package(hypersimplex 0.3 CONFIG REQUIRED)\n' \
        >"$W/consumer-v/CMakeLists.txt"
    if cmake -S "$W/consumer-v" -B "$W/consumer-v/b" -DCMAKE_PREFIX_PATH="$P" >/dev/null 2>&1; then
        echo "find_package(hypersimplex 0.3) accepted 0.2"; return 1
    fi
}
step "find_package(hypersimplex 0.3) refuses the installed 0.2" version_mismatch

sanitizers() {
    rm -rf "$W/consumer-asan"
    cmake -S "$CONSUMER" -B "$W/consumer-asan" -DCMAKE_PREFIX_PATH="$P" \
        -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
        -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
        -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" &&
        cmake --build "$W/consumer-asan" -j2 &&
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 run_consumers "$W/consumer-asan"
}
step "consumer under -fsanitize=address,undefined" sanitizers

add_subdirectory_build() {
    rm -rf "$W/consumer-sub"
    cmake -S "$CONSUMER" -B "$W/consumer-sub" -DHYPERSIMPLEX_SOURCE_DIR="$ROOT" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$W/consumer-sub" -j2 || return 1
    local e
    for e in consumer_c consumer_c_static consumer_cpp consumer_cpp_static; do
        "$W/consumer-sub/$e" || return 1
    done
}
step "consumer via add_subdirectory() (the same target names, build-tree .so.0 link)" add_subdirectory_build

pkg_config_outside() {
    # sources copied outside the repository; flags only from the installed .pc files
    local d="$W/outside" flags
    rm -rf "$d" && mkdir -p "$d" && cp "$CONSUMER"/consumer.c "$CONSUMER"/consumer.cpp "$d/" || return 1
    flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs hypersimplex) || return 1
    echo "hypersimplex: $flags"
    case "$flags" in *"$ROOT/include"* | *"$ROOT/ffi"*) echo "flags point into the source tree"; return 1 ;; esac
    (cd "$d" && gcc -std=c99 consumer.c $flags -Wl,-rpath,"$P/lib" -lm -o c_shared && ./c_shared) || return 1
    flags=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs hypersimplex-static) || return 1
    echo "hypersimplex-static: $flags"
    (cd "$d" && g++ -std=c++17 consumer.cpp $flags -o cpp_static && ./cpp_static)
}
step "pkg-config build from outside the repository against the installed .pc files" pkg_config_outside

hpp_standards() {
    local std
    printf '#include <hypersimplex.hpp>\n#include <array>\n#include <vector>\nint main() {\n  std::vector<float> x(4, 1.0f), y(4);\n  hs::soft_binary_argmax(x.data(), x.size(), 2.0, 1.0f, y.data());\n  std::vector<hs::bf16> xh(4, hs::bf16{0x3f80}), yh(4);\n  hs::soft_binary_argmax(xh.data(), xh.size(), 2.0, 1.0f, yh.data());\n#if __cplusplus >= 202002L\n  std::array<double, 3> a{1, 2, 3}, b{};\n  hs::soft_binary_argmax(a, 1.0, 1.0, b);\n  hs::soft_binary_argmax(x, 2.0, 1.0f, y);\n  std::array<hs::f16, 4> c{}, d{};\n  hs::soft_binary_argmax(c, 2.0, 1.0f, d);\n  if (d[0].bits != 0x3800) return 2;\n#endif\n  return y[0] == 0.5f && yh[0].bits == 0x3f00 ? 0 : 1;\n}\n' >"$W/hpp.cpp"
    for std in c++11 c++17 c++20; do
        g++ -std=$std -Wall -Wextra -Werror -pedantic -I"$P/include" "$W/hpp.cpp" \
            "$P/lib/libhypersimplex.a" -lpthread -ldl -lm -o "$W/hpp_$std" && "$W/hpp_$std" ||
            { echo "failed: $std"; return 1; }
        echo "$std: ok"
    done
}
step "hypersimplex.hpp compiles and runs as C++11, 17, 20 (-Wall -Wextra -Werror -pedantic)" hpp_standards

libtorch_example() {
    local py tp t0
    py=$(bash scripts/python-env.sh | tail -1) || { echo "scripts/python-env.sh failed"; return 1; }
    tp=$("$py" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') || return 1
    rm -rf "$W/libtorch"
    cmake -S "$ROOT/c-examples/libtorch" -B "$W/libtorch" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$P;$tp" || return 1
    t0=$(date +%s)
    cmake --build "$W/libtorch" -j2 || return 1
    echo "compile + link (one translation unit): $(( $(date +%s) - t0 ))s"
    ldd "$W/libtorch/libtorch_example" | grep -q "libhypersimplex.so.0 => $P/lib/" ||
        { echo "not linked to the installed libhypersimplex"; return 1; }
    "$W/libtorch/libtorch_example" "$ROOT/data" 10
}
step "LibTorch example: find_package(Torch) from the venv's wheel, FD gradient check, digits MLP" libtorch_example

summary
