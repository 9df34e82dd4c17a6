#!/usr/bin/env bash
# Makes the OOM killer kill one process, safely: the process runs in a new memory cgroup limited
# to 16 MB and tries to allocate 64 MB. Works with cgroup v1 (the memory controller's hierarchy)
# and v2 (wherever it is mounted; its memory controller is enabled for the new cgroup if needed).
set -u
name=btc-oom-$$
v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/self/mounts)
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$v1" ]; then
  cg=$v1/$name
  mkdir "$cg" || exit 1
  echo 16M > "$cg/memory.limit_in_bytes"
elif [ -n "$v2" ]; then
  grep -qw memory "$v2/cgroup.subtree_control" || echo +memory > "$v2/cgroup.subtree_control"
  cg=$v2/$name
  mkdir "$cg" || exit 1
  echo 16M > "$cg/memory.max"
  echo 0 > "$cg/memory.swap.max" 2>/dev/null
else
  echo "no memory cgroup hierarchy is mounted" >&2
  exit 1
fi
sh -c "echo \$\$ > $cg/cgroup.procs && exec perl -e '\$x = \"x\" x (64 * 1024 * 1024); print length(\$x)'"
echo "exit status $?"
rmdir "$cg"
