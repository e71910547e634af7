#!/usr/bin/env bash
# Installs the Debian packages the tests, the cross builds and the demo need (idempotent, quick when
# everything is present). Debian 12 (bookworm); needs root or sudo.
set -eu
PKGS="gcc g++ make pkg-config valgrind python3 python3-numpy python3-pytest
      rustc-web cargo-web rust-web-src qemu-system-arm qemu-user
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi binutils"
missing=$(for p in $PKGS; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing:" $missing
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -q --no-install-recommends $missing >/tmp/hypersimplex-apt.log 2>&1 ||
    { tail -30 /tmp/hypersimplex-apt.log; exit 1; }
fi
command -v cargo >/dev/null || { echo "cargo (rustup stable) not found on PATH"; exit 1; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt 2>/dev/null || true
echo "dependencies: ok"
