#!/usr/bin/env bash
# Startup latency: the time from launching the tracer to its first event, for
# `BEGIN { printf("x\n"); exit(); }` run as `btc run -e`, as a precompiled object (`btc run x.o`),
# and as `bpftrace -e` when bpftrace is installed. Also the total run time (to exit) and the peak
# resident memory. Usage: bench/startup.sh [BTC]   (BENCH_RUNS sets the repetitions, default 30)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
runs=${BENCH_RUNS:-30}
prog='BEGIN { printf("x\n"); exit(); }'
obj=$out_dir/begin.o
"$btc" compile -e "$prog" -o "$obj"
echo "Startup: launch to the first event of BEGIN { printf(\"x\\n\"); exit(); }, $runs runs each"
echo "(times in ms as min/median/max; maxrss_kb is the median peak RSS)"
printf '%-22s %s\n' "btc run -e" "$("$timecmd" "$runs" x "$btc" run -e "$prog")"
printf '%-22s %s\n' "btc run x.o" "$("$timecmd" "$runs" x "$btc" run "$obj")"
if [ -n "$bpftrace" ]; then
  printf '%-22s %s\n' "bpftrace -e" "$("$timecmd" "$runs" x "$bpftrace" -e "$prog")"
else
  echo "bpftrace -e            (bpftrace not installed)"
fi
