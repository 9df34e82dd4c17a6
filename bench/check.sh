#!/usr/bin/env bash
# Check time as a process: `btc compile --check` of tool-sized scripts, from launch to exit,
# against the 5 ms budget of the front-end issue. tools/tcpstates.bt reads tracepoint fields
# only; tools/tcplife.bt also reads struct tcp_sock from the kernel's BTF; bpftrace's own tools
# in /usr/sbin include headers: tcplife.bt and tcpaccept.bt glibc's <sys/socket.h> (some 45
# headers), naptime.bt kernel headers that aren't installed (their types come from BTF).
# They are checked with the index of the kernel's BTF that btc keeps between runs (as every run
# after the first since boot is), then without one (BTC_CACHE_DIR empty: as with BPFTRACE_BTF,
# or nowhere to keep it). For scale: `btc --version` (the cost of starting the process) and
# `btc-codegen --version` (starting with LLVM linked in).
# Usage: bench/check.sh [BTC]   (BENCH_RUNS sets the repetitions, default 200)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
runs=${BENCH_RUNS:-200}
codegen=$(dirname "$btc")/btc-codegen
echo "Check time as a process, $runs runs each (times in ms as min/median/max; budget 5 ms)"
printf '%-48s %s\n' "btc --version" "$("$timecmd" "$runs" - "$btc" --version)"
if [ -x "$codegen" ]; then
  printf '%-48s %s\n' "btc-codegen --version" "$("$timecmd" "$runs" - "$codegen" --version)"
fi

# One row: LABEL SCRIPT [no-index].
row() {
  local label=$1 script=$2 result median verdict
  if [ ! -f "$script" ]; then
    printf '%-48s %s\n' "$label" "not measured: $script is not installed (bpftrace's tools)"
    return
  fi
  if [ "${3:-}" = no-index ]; then
    result=$(export BTC_CACHE_DIR=; "$timecmd" "$runs" - "$btc" compile --check "$script")
  else
    # The first check since boot builds the index: not one of the runs measured.
    "$btc" compile --check "$script" >/dev/null 2>&1 || true
    result=$("$timecmd" "$runs" - "$btc" compile --check "$script")
  fi
  median=$(sed -n 's/.*total_ms [0-9.]*\/\([0-9.]*\)\/.*/\1/p' <<<"$result")
  verdict=$(awk -v m="$median" 'BEGIN { print (m < 5 ? "within" : "over") }')
  printf '%-48s %s  (median %s the budget)\n' "$label" "$result" "$verdict"
}

for tool in tcpstates tcplife; do
  row "btc compile --check tools/$tool.bt" "$bench_dir/../tools/$tool.bt"
done
for tool in tcplife tcpaccept naptime; do
  row "btc compile --check /usr/sbin/$tool.bt" "/usr/sbin/$tool.bt"
done
for tool in tcplife naptime; do
  row "  the same, /usr/sbin/$tool.bt, no BTF index" "/usr/sbin/$tool.bt" no-index
done
