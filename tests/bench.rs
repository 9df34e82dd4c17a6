//! A smoke run of the benchmark scripts in bench/ (one repetition, a few events), so they keep
//! working; the timings themselves are never checked. The per-event script's count check is: the
//! tracer must have seen every getppid() call of the workload.

use std::process::Command;

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn bench(script: &str) -> String {
    let out = Command::new("bash")
        .arg(format!("{ROOT}/bench/{script}"))
        .arg(BTC)
        .env("BENCH_RUNS", "1")
        .env("BENCH_EVENTS", "20000")
        .env("BENCH_REPS", "1")
        .env("BENCH_OUT", format!("{}/bench", env!("CARGO_TARGET_TMPDIR")))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "bench/{script} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn line<'a>(out: &'a str, start: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no line starting {start:?} in:\n{out}"))
}

#[test]
fn startup_benchmark_runs() {
    let out = bench("startup.sh");
    for l in ["btc run -e ", "btc run x.o "] {
        assert!(line(&out, l).contains("first_ms "), "{out}");
    }
}

#[test]
fn compile_benchmark_runs() {
    let out = bench("compile.sh");
    for l in ["  btc compile --check ", "  btc compile -o x.o "] {
        assert_eq!(out.lines().filter(|x| x.starts_with(l) && x.contains("total_ms ")).count(), 2, "{out}");
    }
}

#[test]
fn check_benchmark_runs() {
    let out = bench("check.sh");
    for tool in ["tcpstates", "tcplife"] {
        let l = line(&out, &format!("btc compile --check tools/{tool}.bt "));
        assert!(l.contains("total_ms ") && l.contains(" the budget)"), "{out}");
    }
}

#[test]
fn overhead_benchmark_counts_every_event() {
    let out = bench("overhead.sh");
    for l in ["btc run -e ", "btc run x.o "] {
        assert!(line(&out, l).contains("(counted 20000 of 20000 calls)"), "{out}");
    }
}
