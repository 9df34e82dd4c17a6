#!/usr/bin/env bash
# Check time as a process: `btc compile --check` of two tool-sized scripts, tools/tcpstates.bt
# (tracepoint fields only) and tools/tcplife.bt (also reads struct tcp_sock from the kernel's
# BTF), from launch to exit, against the 5 ms budget of the front-end issue. For scale: `btc
# --version` (the cost of starting the process) and `btc-codegen --version` (starting with LLVM
# linked in, as every command did before the two binaries were split).
# Usage: bench/check.sh [BTC]   (BENCH_RUNS sets the repetitions, default 200)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
runs=${BENCH_RUNS:-200}
codegen=$(dirname "$btc")/btc-codegen
echo "Check time as a process, $runs runs each (times in ms as min/median/max; budget 5 ms)"
printf '%-40s %s\n' "btc --version" "$("$timecmd" "$runs" - "$btc" --version)"
if [ -x "$codegen" ]; then
  printf '%-40s %s\n' "btc-codegen --version" "$("$timecmd" "$runs" - "$codegen" --version)"
fi
for tool in tcpstates tcplife; do
  script=$bench_dir/../tools/$tool.bt
  result=$("$timecmd" "$runs" - "$btc" compile --check "$script")
  median=$(sed -n 's/.*total_ms [0-9.]*\/\([0-9.]*\)\/.*/\1/p' <<<"$result")
  verdict=$(awk -v m="$median" 'BEGIN { print (m < 5 ? "within" : "over") }')
  printf '%-40s %s  (median %s the budget)\n' "btc compile --check tools/$tool.bt" "$result" "$verdict"
done
