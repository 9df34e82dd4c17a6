#!/usr/bin/env bash
# `make bench`: runs every benchmark script in bench/, after a header saying when and where.
# Nothing here asserts timings except the listing budget of list-tracepoints.sh.
set -euo pipefail
btc=${1:-target/release/btc}
echo "# btc benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# $(uname -sr), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
  "$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)"
echo "# $("$btc" --version 2>&1 | head -1); $(bpftrace --version 2>/dev/null || echo 'bpftrace not installed')"
for b in "$(dirname "$0")"/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  echo
  echo "== $(basename "$b")"
  bash "$b" "$btc"
done
