#!/usr/bin/env bash
# Measures `btc list 'tracepoint:*'` (every tracepoint) against the 200 ms budget of issue 5,
# and against `bpftrace -l` when bpftrace is installed. Usage: bench/list-tracepoints.sh [BTC]
set -euo pipefail
btc=${1:-target/release/btc}
runs=20
ms() { date +%s%N; }
time_it() {
  local best=999999 t0 t1 d
  for _ in $(seq 1 "$runs"); do
    t0=$(ms); "$@" > /dev/null 2>&1; t1=$(ms)
    d=$(( (t1 - t0) / 1000000 ))
    (( d < best )) && best=$d
  done
  echo "$best"
}
n=$("$btc" list 'tracepoint:*' | wc -l)
best=$(time_it "$btc" list 'tracepoint:*')
echo "btc list 'tracepoint:*': $n tracepoints, best of $runs runs: ${best} ms (budget 200 ms)"
all=$(time_it "$btc" list)
echo "btc list (everything): best of $runs runs: ${all} ms"
if command -v bpftrace > /dev/null; then
  echo "bpftrace -l 'tracepoint:*': best of $runs runs: $(time_it bpftrace -l 'tracepoint:*') ms"
fi
if (( best > 200 )); then
  echo "FAIL: listing every tracepoint took ${best} ms" >&2
  exit 1
fi
