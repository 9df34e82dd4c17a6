#!/usr/bin/env bash
# Installs what building and testing btc needs on Debian 12, skipping what is already there.
# libc6-dbg: libc's static functions in user stacks and uprobe wildcards (tests/suites/compat_*).
set -euo pipefail
pkgs=(llvm-19-dev libpolly-19-dev clang-19 libelf-dev zlib1g-dev libzstd-dev pkg-config build-essential
      systemtap-sdt-dev cmake libc6-dbg)
# `make conformance` also wants what upstream's runtime tests call (their REQUIRES and AFTER
# lines), and zip, which builds a test program of the 0.26 tree.
if [ "${1:-}" = "--conformance" ]; then
  pkgs+=(bpftool nftables strace zip iputils-ping)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "btc needs these packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "cargo is in $HOME/.cargo/bin; add it to PATH" >&2
  else
    echo "btc needs a Rust toolchain (cargo); install it with rustup" >&2
  fi
  exit 1
fi
