# Sourced by the bench/*.sh scripts: builds the C helpers into target/bench and says whether
# bpftrace is there to compare with.
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir=${BENCH_OUT:-$bench_dir/../target/bench}
mkdir -p "$out_dir"
for helper in timecmd getppid_loop; do
  if [ ! -x "$out_dir/$helper" ] || [ "$bench_dir/$helper.c" -nt "$out_dir/$helper" ]; then
    cc -O2 -Wall -o "$out_dir/$helper" "$bench_dir/$helper.c"
  fi
done
timecmd=$out_dir/timecmd
bpftrace=$(command -v bpftrace || true)
