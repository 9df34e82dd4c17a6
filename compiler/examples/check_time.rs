//! Times `btc_compiler::check` on a script, in process (no process start-up, no LLVM):
//! `cargo run --release -p btc-compiler --example check_time -- tools/tcpstates.bt [RUNS]`.
//! Kernel types come from tracefs and /sys/kernel/btf, read once before timing.

use btc_compiler::{CompileOptions, TypeSource};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tracepoint formats and BTF read from the running kernel, cached so only checking is timed.
struct Cached {
    formats: std::cell::RefCell<HashMap<(String, String), Result<String, String>>>,
    btf: Option<Vec<u8>>,
}

fn tracefs() -> &'static str {
    if std::path::Path::new("/sys/kernel/tracing/events").is_dir() {
        "/sys/kernel/tracing"
    } else {
        "/sys/kernel/debug/tracing"
    }
}

impl TypeSource for Cached {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        let key = (category.to_string(), name.to_string());
        self.formats
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                std::fs::read_to_string(format!("{}/events/{category}/{name}/format", tracefs()))
                    .map_err(|e| format!("tracepoint not found: {category}:{name}: {e}"))
            })
            .clone()
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn kernel_btf(&self, module: Option<&str>) -> Result<Vec<u8>, String> {
        match (module, &self.btf) {
            (None, Some(b)) => Ok(b.clone()),
            _ => Err("no BTF".to_string()),
        }
    }
    fn has_kernel_btf(&self) -> bool {
        self.btf.is_some()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: check_time SCRIPT [RUNS]");
        std::process::exit(1);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(200);
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("can't read {path}: {e}");
        std::process::exit(1)
    });
    let types = Cached { formats: Default::default(), btf: std::fs::read("/sys/kernel/btf/vmlinux").ok() };
    let opts = CompileOptions { file_name: path.clone(), ..CompileOptions::default() };
    // The first run fills the format cache.
    if let Err(btc_compiler::CompileError::Script(d)) = btc_compiler::check(&src, &types, &opts) {
        eprint!("{}", d.render(&path, &src, true));
        std::process::exit(1);
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let _ = btc_compiler::check(&src, &types, &opts);
            t.elapsed()
        })
        .collect();
    times.sort();
    let lines = src.lines().count();
    println!(
        "{path} ({lines} lines): check min {:.3} ms, median {:.3} ms over {runs} runs",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3
    );
}
