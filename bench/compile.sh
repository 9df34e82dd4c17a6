#!/usr/bin/env bash
# Compile time of tool-sized scripts: tools/tcpstates.bt (tracepoint fields only) and
# tools/tcplife.bt (also reads struct tcp_sock, so kernel BTF is loaded). For each:
# `btc compile --check` (parse and check; issue 3 wants it under 5 ms), a full `btc compile` to
# an object, and bpftrace's nearest equivalent, `bpftrace --emit-elf` (a dry run that stops after
# code generation). Usage: bench/compile.sh [BTC]   (BENCH_RUNS sets the repetitions, default 50)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
runs=${BENCH_RUNS:-50}
echo "Compile time, $runs runs each (bpftrace: $((runs / 5 + 1)))"
echo "(times in ms as min/median/max; maxrss_kb is the median peak RSS)"
for tool in tcpstates tcplife; do
  script=$bench_dir/../tools/$tool.bt
  lines=$(wc -l < "$script")
  code=$(grep -cv '^[[:space:]]*\(//.*\)\?$' "$script")
  echo "tools/$tool.bt ($lines lines, $code of them code):"
  printf '  %-24s %s\n' "btc compile --check" "$("$timecmd" "$runs" - "$btc" compile --check "$script")"
  printf '  %-24s %s\n' "btc compile -o x.o" "$("$timecmd" "$runs" - "$btc" compile "$script" -o "$out_dir/$tool.o")"
  if [ -n "$bpftrace" ]; then
    printf '  %-24s %s\n' "bpftrace --emit-elf" \
      "$("$timecmd" "$((runs / 5 + 1))" - "$bpftrace" --emit-elf "$out_dir/$tool.bpftrace.elf" "$script")"
  fi
done
