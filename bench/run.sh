#!/usr/bin/env bash
# Runs every benchmark script in bench/ with the btc binary given as $1.
set -euo pipefail
btc=${1:-target/release/btc}
for b in "$(dirname "$0")"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	bash "$b" "$btc"
done
