#!/usr/bin/env bash
# The `make run` demo: the top system calls per process while a small workload runs.
set -euo pipefail
btc=${1:-target/release/btc}
( sleep 0.5; for _ in $(seq 1 200); do ls / >/dev/null; cat /etc/hostname >/dev/null; done ) &
"$btc" run examples/syscalls-by-process.bt
wait
