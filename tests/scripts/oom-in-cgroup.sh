#!/usr/bin/env bash
# Makes the OOM killer kill one process, safely: the process runs in a new memory cgroup limited
# to 16 MB and tries to allocate 64 MB. Works with cgroup v1 (memory controller) and v2.
set -u
name=btc-oom-$$
if [ -d /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/$name
  mkdir "$cg" || exit 1
  echo 16M > "$cg/memory.limit_in_bytes"
else
  cg=/sys/fs/cgroup/$name
  mkdir "$cg" || exit 1
  echo 16M > "$cg/memory.max"
  echo 0 > "$cg/memory.swap.max" 2>/dev/null
fi
sh -c "echo \$\$ > $cg/cgroup.procs && exec perl -e '\$x = \"x\" x (64 * 1024 * 1024); print length(\$x)'"
echo "exit status $?"
rmdir "$cg"
