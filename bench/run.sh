#!/usr/bin/env bash
# `make bench`: runs every benchmark script in bench/.
set -euo pipefail
btc=${1:-target/release/btc}
for b in "$(dirname "$0")"/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  echo "== $(basename "$b")"
  bash "$b" "$btc"
done
