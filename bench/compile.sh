#!/usr/bin/env bash
# Compile time of a tool-sized script (tools/tcplife.bt): `btc compile --check` (parse and check;
# issue 3 wants it under 5 ms), a full `btc compile` to an object, and bpftrace's nearest
# equivalent, `bpftrace --emit-elf` (a dry run that stops after code generation).
# Usage: bench/compile.sh [BTC]   (BENCH_RUNS sets the repetitions, default 50)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
runs=${BENCH_RUNS:-50}
script=$bench_dir/../tools/tcplife.bt
lines=$(wc -l < "$script")
code=$(grep -cv '^[[:space:]]*\(//.*\)\?$' "$script")
echo "Compile time of tools/tcplife.bt ($lines lines, $code of them code), $runs runs each"
echo "(times in ms as min/median/max; maxrss_kb is the median peak RSS)"
printf '%-26s %s\n' "btc compile --check" "$("$timecmd" "$runs" - "$btc" compile --check "$script")"
printf '%-26s %s\n' "btc compile -o x.o" "$("$timecmd" "$runs" - "$btc" compile "$script" -o "$out_dir/tcplife.o")"
if [ -n "$bpftrace" ]; then
  printf '%-26s %s\n' "bpftrace --emit-elf" \
    "$("$timecmd" "$((runs / 5 + 1))" - "$bpftrace" --emit-elf "$out_dir/tcplife.bpftrace.elf" "$script")"
else
  echo "bpftrace --emit-elf        (bpftrace not installed)"
fi
