#!/usr/bin/env bash
# Time to check scripts that resolve kernel types through BTF (issue 5: "a script using
# curtask->real_parent->pid must check in well under 50 ms"). Each figure is the median wall
# time of `btc compile --check` over N runs, process start and the BTF read included.
set -euo pipefail
btc=${1:-target/release/btc}
runs=${RUNS:-21}

median_ms() {
	local times=()
	for _ in $(seq "$runs"); do
		local t0 t1
		t0=$(date +%s%N)
		"$btc" compile --check "$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%.1f", $1 / 1000 }'
}

printf '%-44s %8s\n' "script" "median ms"
printf '%-44s %8s\n' "BEGIN { exit() } (no kernel types)" "$(median_ms -e 'BEGIN { exit() }')"
printf '%-44s %8s\n' "curtask->real_parent->pid" "$(median_ms -e 'BEGIN { printf("%d\n", curtask->real_parent->pid); }')"
printf '%-44s %8s\n' "casts and nested fields of three structs" \
	"$(median_ms -e 'BEGIN { $t = (struct task_struct *)curtask; printf("%d %d %s\n", $t->se.load.weight, $t->mm->map_count, $t->fs->root.dentry->d_name.name); }')"
printf '%-44s %8s\n' "#include <netinet/in.h> (glibc headers)" \
	"$(median_ms -e '#include <netinet/in.h>
BEGIN { printf("%d\n", sizeof(struct sockaddr_in6)); }')"
