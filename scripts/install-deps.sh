#!/usr/bin/env bash
# Installs the Debian packages the tests, the cross builds and the demo need (idempotent, quick when
# everything is present). Debian 12 (bookworm); needs root or sudo.
set -eu
. "$(dirname "$0")/lib.sh"    # need_pkgs (its apt log goes to target/logs)
PKGS="gcc g++ make pkg-config valgrind python3
      rustc-web cargo-web rust-web-src qemu-system-arm qemu-user
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi binutils"
# shellcheck disable=SC2086  # PKGS is a word list
need_pkgs $PKGS
command -v cargo >/dev/null || { echo "cargo (rustup stable) not found on PATH"; exit 1; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt 2>/dev/null || true
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy 2>/dev/null || true
echo "dependencies: ok"
