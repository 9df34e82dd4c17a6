#!/usr/bin/env bash
# Per-event overhead: a loop of N getppid() calls timed without tracing, then while
# `tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }` runs under btc (from source and
# as a precompiled object) and under bpftrace when it is installed. The extra time per call is
# the cost of one event. Each tracer's final count is checked against the calls made.
# Usage: bench/overhead.sh [BTC]   (BENCH_EVENTS: calls per loop, default 2,000,000;
# BENCH_REPS: loops per configuration, default 7)
set -euo pipefail
btc=${1:-target/release/btc}
source "$(dirname "$0")/common.bash"
n=${BENCH_EVENTS:-2000000}
reps=${BENCH_REPS:-7}
loop=$out_dir/getppid_loop
prog='tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }'
obj=$out_dir/getppid.o
"$btc" compile -e "$prog" -o "$obj"

# The fastest, in ns, of $reps loops: other work on the machine only ever adds time.
best_loop() {
  local times=()
  for _ in $(seq 1 "$reps"); do
    times+=("$("$loop" "$n" | awk '{print $4}')")
  done
  printf '%s\n' "${times[@]}" | sort -n | head -1
}

# Stops a tracer like Ctrl-C would; repeats the signal if it is missed, and gives up after 20 s.
stop() {
  local pid=$1
  for _ in $(seq 1 10); do
    kill -INT "$pid" 2> /dev/null || return 0
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2> /dev/null || return 0
      sleep 0.1
    done
  done
  kill -KILL "$pid" 2> /dev/null || true
}

base=$(best_loop)
echo "Per-event overhead: $n getppid() calls per loop, best of $reps loops"
printf '%-22s %8.1f ns/call\n' "no tracing" "$(echo "$base $n" | awk '{print $1/$2}')"

traced() {
  local name=$1; shift
  local log=$out_dir/overhead-$$.log
  __BPFTRACE_NOTIFY_PROBES_ATTACHED=1 "$@" > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    grep -q __BPFTRACE_NOTIFY_PROBES_ATTACHED "$log" && break
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if ! grep -q __BPFTRACE_NOTIFY_PROBES_ATTACHED "$log"; then
    echo "$name: the tracer didn't start:" >&2
    cat "$log" >&2
    stop "$pid"
    return 1
  fi
  local t
  t=$(best_loop)
  stop "$pid"
  wait "$pid" || true
  local counted
  counted=$(awk -F': ' '/^@\[getppid_loop\]/ {print $2}' "$log")
  rm -f "$log"
  printf '%-22s %8.1f ns/call, %6.1f ns/event more (counted %s of %s calls)\n' "$name" \
    "$(echo "$t $n" | awk '{print $1/$2}')" "$(echo "$t $base $n" | awk '{print ($1-$2)/$3}')" \
    "${counted:-none}" "$((n * reps))"
}

traced "btc run -e" "$btc" run -e "$prog"
traced "btc run x.o" "$btc" run "$obj"
if [ -n "$bpftrace" ]; then
  traced "bpftrace -e" "$bpftrace" -e "$prog"
else
  echo "bpftrace -e            (bpftrace not installed)"
fi
