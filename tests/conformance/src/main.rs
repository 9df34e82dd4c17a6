//! btc-conformance: runs upstream bpftrace's runtime tests (`tests/runtime/*` of a checkout
//! given at run time) against btc installed under the name `bpftrace`, and reports per suite.
//!
//! ```text
//! btc-conformance --upstream DIR [--btc PATH] [--work DIR] [--filter REGEX] [--verbose]
//!                 [--results FILE] [--list] [--objects] [--no-verify-llvm-ir]
//! ```
//!
//! The checkout's test engine (0.20's or 0.26's, see `engine.rs`) decides how its tests are
//! read, built for and run.

mod applies;
mod bpf;
mod engine;
mod exec;
mod expect;
mod judged;
mod machine;
mod objects;
mod prepare;
mod pyre;
mod report;
mod suite;
mod suite026;
mod testprogs026;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

struct Options {
    upstream: PathBuf,
    btc: PathBuf,
    work: PathBuf,
    filter: Option<String>,
    verbose: bool,
    results: Option<PathBuf>,
    list: bool,
    objects: bool,
    no_verify: bool,
}

const USAGE: &str = "usage: btc-conformance --upstream DIR [--btc PATH] [--work DIR] \
[--filter REGEX] [--verbose] [--results FILE] [--list] [--objects] [--no-verify-llvm-ir]

  --upstream DIR   a checkout of upstream bpftrace (a tag's tree, or its tests/ directory)
  --btc PATH       the btc binary to test (default: btc next to this program)
  --work DIR       where test programs are built and tests run (default: target/conformance)
  --filter REGEX   only the tests whose SUITE.NAME matches
  --verbose        the command, expectation and output of every test that fails
  --results FILE   one line per test: SUITE.NAME, outcome, reason (tab-separated)
  --list           list the tests and whether they apply, without running them
  --objects        run every test through an object: `btc compile` gets the script (and -I,
                   --include), `btc run x.o` every other option and the positional parameters
  --no-verify-llvm-ir
                   0.26 engine: don't add the `--verify-llvm-ir` option its engine gives the tool
                   (to measure a tool that doesn't take that option yet)

The checkout's engine (bpftrace 0.20's or 0.26's) is recognised from its tests/runtime/engine;
BTC_COMPAT, when set, is passed on to the tool.";

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut upstream = None;
    let mut btc = None;
    let mut work = None;
    let mut o = Options {
        upstream: PathBuf::new(),
        btc: PathBuf::new(),
        work: PathBuf::new(),
        filter: None,
        verbose: false,
        results: None,
        list: false,
        objects: false,
        no_verify: false,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--upstream" => upstream = Some(PathBuf::from(value("--upstream")?)),
            "--btc" => btc = Some(PathBuf::from(value("--btc")?)),
            "--work" => work = Some(PathBuf::from(value("--work")?)),
            "--filter" => o.filter = Some(value("--filter")?),
            "--results" => o.results = Some(PathBuf::from(value("--results")?)),
            "--verbose" | "-v" => o.verbose = true,
            "--list" => o.list = true,
            "--objects" => o.objects = true,
            "--no-verify-llvm-ir" => o.no_verify = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    o.upstream = upstream.ok_or(format!("--upstream is required\n{USAGE}"))?;
    o.btc = match btc {
        Some(b) => b,
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("btc"),
    };
    o.work = work.unwrap_or_else(|| PathBuf::from("target/conformance"));
    Ok(o)
}

fn main() -> ExitCode {
    // Invoked as `bpftrace`: the objects-mode shim the tests call.
    let argv: Vec<String> = std::env::args().collect();
    if argv.first().is_some_and(|a| Path::new(a).file_name().is_some_and(|n| n == "bpftrace")) {
        objects::shim_main(&argv);
    }
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("btc-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

/// What a test runs, for deciding which probe types it needs: PROG, or RUN and the text of
/// every file under `runtime/` it names.
fn program_text(t: &suite::Test, dir: &Path) -> String {
    if !t.run.is_empty() {
        let mut text = t.run.clone();
        for word in t.run.split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
            if word.starts_with("runtime/") {
                if let Ok(s) = std::fs::read_to_string(dir.join(word)) {
                    text.push('\n');
                    text.push_str(&s);
                }
            }
        }
        text
    } else {
        t.prog.clone()
    }
}

/// Every command a test runs, for finding the programs it uses.
fn all_commands(t: &suite::Test, program_text: &str) -> String {
    let mut all = vec![program_text, &t.after, &t.setup, &t.cleanup];
    all.extend(t.befores.iter().map(String::as_str));
    all.join("\n")
}

fn run(o: &Options) -> Result<bool, String> {
    let filter = match &o.filter {
        Some(f) => Some(fancy_regex::Regex::new(f).map_err(|e| format!("--filter: {e}"))?),
        None => None,
    };
    let tests_dir = prepare::upstream_tests_dir(&o.upstream)?;
    let dialect = engine::detect(&tests_dir)?;
    let suites = suite::read_suites(&tests_dir.join("runtime"), dialect)?;
    let layout = prepare::prepare(&o.upstream, &o.work, &o.btc, dialect)?;
    let work = layout.work.clone();

    let info = Command::new(&layout.bpftrace)
        .arg("--info")
        .stdin(Stdio::null())
        .output()
        .map(|out| {
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
        })
        .unwrap_or_default();
    let machine = machine::Machine::probe(&info, dialect);
    let settings = exec::Settings {
        verify_llvm_ir: !o.no_verify,
        forward_env: std::env::var("BTC_COMPAT").map(|v| vec![("BTC_COMPAT".into(), v)]).unwrap_or_default(),
    };
    // The command tests call as `{{BPFTRACE}}`: btc, or in objects mode the shim beside it.
    let tool = if o.objects {
        let dir = work.join("objbin");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let _ = std::fs::remove_dir_all(work.join("objects"));
        let shim = dir.join("bpftrace");
        let _ = std::fs::remove_file(&shim);
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        std::os::unix::fs::symlink(&me, &shim).map_err(|e| format!("{}: {e}", shim.display()))?;
        shim
    } else {
        layout.bpftrace.clone()
    };
    println!(
        "upstream: {}\nengine: {}{}\nbtc: {}{}{}\nmachine: {} {}; kprobes {}, fentry {}, hardware PMU {}\n",
        layout.upstream_tests.display(),
        dialect.describe(),
        if dialect == engine::Dialect::V026 && o.no_verify { "; without --verify-llvm-ir" } else { "" },
        o.btc.display(),
        if o.objects { " (through objects)" } else { "" },
        settings.forward_env.iter().map(|(k, v)| format!(" ({k}={v})")).collect::<String>(),
        machine.arch,
        machine.kernel,
        yes(machine.kprobes),
        yes(machine.fentry),
        yes(machine.hardware_pmu)
    );

    let mut report = report::Report::default();
    for (suite, tests) in &suites {
        for t in tests {
            let full = t.full_name();
            if let Some(f) = &filter {
                if !f.is_match(&full).unwrap_or(false) {
                    continue;
                }
            }
            let text = program_text(t, &work);
            let requires_ok = |cmd: &str| {
                Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .current_dir(&work)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            // The judgements are about the 0.20 tree's tests.
            let reason = applies::not_applicable(t, &machine, &text, requires_ok)
                .or_else(|| layout.unbuilt_in(&all_commands(t, &text)))
                .or_else(|| {
                    (dialect == engine::Dialect::V020)
                        .then(|| judged::judged_inapplicable(&full, &machine))
                        .flatten()
                });
            if let Some(reason) = reason {
                println!("[  N/A   ] {full} ({reason})");
                report.add(suite, &full, report::Status::NotApplicable(reason));
                continue;
            }
            if o.list {
                println!("[ APPLIES] {full}");
                continue;
            }
            let r = exec::run(t, &work, &tool, &settings);
            let secs = r.elapsed.as_secs_f64();
            let status = match &r.outcome {
                exec::Outcome::Passed => {
                    println!("[   OK   ] {full} ({secs:.2} s)");
                    report::Status::Passed
                }
                exec::Outcome::Failed(why) => {
                    println!("[ FAILED ] {full} ({secs:.2} s): {why}");
                    report::Status::Failed(why.clone())
                }
                exec::Outcome::TimedOut(why) => {
                    println!("[TIMEOUT ] {full} ({secs:.2} s): {why}");
                    report::Status::TimedOut(why.clone())
                }
            };
            if o.verbose && !matches!(status, report::Status::Passed) {
                println!("\tcommand: {}", r.command);
                for e in &t.expects {
                    println!("\texpected ({:?}): {}", e.mode, e.text.replace('\n', "\n\t  "));
                }
                for line in r.output.lines() {
                    println!("\t| {line}");
                }
            }
            report.add(suite, &full, status);
        }
    }
    print!("\n{}", report.table());
    if let Some(path) = &o.results {
        std::fs::write(path, report.results_tsv()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(report.all_passed())
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
