//! End-to-end tests: each case in `tests/suites/*.txt` runs btc against the real kernel and
//! checks its output. The format is described in tests/README.md.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "support/features.rs"]
mod features;

const BTC: &str = env!("CARGO_BIN_EXE_btc");
/// Where the test programs of tests/programs are built (`{{PROGS}}` in a case).
const PROGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/btc-test-programs");

/// Replaces `{{BTC}}` and `{{PROGS}}` in a case's text.
fn expand(s: &str) -> String {
    s.replace("{{BTC}}", BTC).replace("{{PROGS}}", PROGS)
}

/// Builds the test programs (C sources in tests/programs) with their Makefile.
fn build_programs() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(&dir)
        .arg(format!("OUT={PROGS}"))
        .output()
        .map_err(|e| format!("can't run make to build tests/programs: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building tests/programs failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
const NOTIFY: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

#[derive(Debug, Default, Clone)]
struct Case {
    name: String,
    file: String,
    line: usize,
    prog: Option<String>,
    run: Option<String>,
    expect: Vec<Expect>,
    exit: i32,
    timeout: u64,
    after: Option<String>,
    env: Vec<(String, String)>,
    /// What the kernel must offer (or lack, `!NAME`) for the case to run (tests/support/features.rs).
    requires: Vec<String>,
}

#[derive(Debug, Clone)]
enum Expect {
    Line(String),
    Regex(String),
    Stderr(String),
    StderrRegex(String),
    Absent(String),
    /// The whole stdout, exactly.
    Exact(String),
}

fn parse_suite(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path.file_stem().and_then(|s| s.to_str()).unwrap_or("suite").to_string();
    let mut cases: Vec<Case> = Vec::new();
    let mut exact: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        if let Some(buf) = exact.as_mut() {
            if raw == "END_STDOUT" {
                let body = exact.take().unwrap_or_default();
                if let Some(c) = cases.last_mut() {
                    c.expect.push(Expect::Exact(expand(&body)));
                }
            } else {
                buf.push_str(raw);
                buf.push('\n');
            }
            continue;
        }
        // Trailing spaces are significant in expectations (bpftrace prints `@h: `).
        let line = raw.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.to_string();
        if key == "NAME" {
            cases.push(Case { name: value, file: file.clone(), line: i + 1, timeout: 10, ..Case::default() });
            continue;
        }
        let c = cases.last_mut().ok_or_else(|| format!("{}:{}: {key} before NAME", path.display(), i + 1))?;
        match key {
            "PROG" => c.prog = Some(value),
            "RUN" => c.run = Some(value),
            "EXPECT" => c.expect.push(Expect::Line(expand(&value))),
            "EXPECT_REGEX" => c.expect.push(Expect::Regex(value.replace("{{PROGS}}", &regex::escape(PROGS)))),
            "EXPECT_STDERR" => c.expect.push(Expect::Stderr(value)),
            "EXPECT_STDERR_REGEX" => c.expect.push(Expect::StderrRegex(value)),
            "EXPECT_NONE" => c.expect.push(Expect::Absent(expand(&value))),
            "STDOUT" => exact = Some(String::new()),
            "EXIT" => c.exit = value.parse().map_err(|_| format!("{}:{}: bad EXIT", path.display(), i + 1))?,
            "TIMEOUT" => c.timeout = value.parse().map_err(|_| format!("{}:{}: bad TIMEOUT", path.display(), i + 1))?,
            "AFTER" => c.after = Some(value),
            "REQUIRES" => c.requires.push(value),
            "ENV" => {
                let (k, v) = value.split_once('=').ok_or_else(|| format!("{}:{}: ENV K=V", path.display(), i + 1))?;
                c.env.push((k.to_string(), v.to_string()));
            }
            other => return Err(format!("{}:{}: unknown directive {other}", path.display(), i + 1)),
        }
    }
    for c in &cases {
        if c.prog.is_none() && c.run.is_none() {
            return Err(format!("{}:{}: case {} has neither PROG nor RUN", path.display(), c.line, c.name));
        }
        if c.expect.is_empty() {
            return Err(format!("{}:{}: case {} checks nothing", path.display(), c.line, c.name));
        }
    }
    Ok(cases)
}

struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run_case(c: &Case) -> Result<Outcome, String> {
    let mut cmd = match (&c.prog, &c.run) {
        (Some(p), _) => {
            let mut cmd = Command::new(BTC);
            cmd.args(["run", "-e", &expand(p)]);
            cmd
        }
        (None, Some(r)) => {
            let mut cmd = Command::new("bash");
            cmd.args(["-c", &expand(r)]);
            cmd
        }
        _ => return Err("nothing to run".into()),
    };
    cmd.env(NOTIFY, "1").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    let mut child = cmd.spawn().map_err(|e| format!("can't start btc: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    // Stdout lines arrive as `Some(line)`, its end as `None`; the attach notice (on stderr, as
    // bpftrace prints it) as `Some(NOTIFY)`, kept out of the stderr the expectations see.
    let (tx, rx) = mpsc::channel::<Option<String>>();
    let notify_tx = tx.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(Some(line)).is_err() {
                break;
            }
        }
        let _ = tx.send(None);
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line == NOTIFY {
                let _ = notify_tx.send(Some(line));
                continue;
            }
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    let deadline = Instant::now() + Duration::from_secs(c.timeout);
    let mut out = String::new();
    let mut after: Option<std::process::Child> = None;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(Some(line)) => {
                if line == NOTIFY {
                    if let Some(a) = &c.after {
                        // In its own process group, so everything it started can be ended.
                        let spawned = Command::new("bash")
                            .args(["-c", &expand(a)])
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .process_group(0)
                            .spawn()
                            .map_err(|e| format!("can't start AFTER: {e}"))?;
                        after = Some(spawned);
                    }
                    continue;
                }
                out.push_str(&line);
                out.push('\n');
            }
            Ok(None) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if timed_out {
        // Stop it as a user would, so it still prints its maps and cleans up.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let grace = Instant::now() + Duration::from_secs(5);
        while let Ok(Some(line)) = rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
            if line != NOTIFY {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = reader.join();
    if let Some(mut a) = after {
        // The whole group: a workload's children must not outlive the case.
        unsafe { libc::kill(-(a.id() as i32), libc::SIGKILL) };
        let _ = a.kill();
        let _ = a.wait();
    }
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Outcome { stdout: out, stderr, code: status.code() })
}

/// Runs a case whose requirements hold; one whose requirements don't is ignored, with the
/// requirement that failed as the reason (it never counts as passed).
fn check_if_possible(c: &Case) -> Result<Completion, Failed> {
    for r in &c.requires {
        if !features::holds(r).map_err(|e| format!("{}:{}: REQUIRES: {e}", c.file, c.line))? {
            return Ok(Completion::ignored_with(format!("requires {r}")));
        }
    }
    check(c)?;
    Ok(Completion::Completed)
}

fn check(c: &Case) -> Result<(), Failed> {
    let o = run_case(c)?;
    let report = |what: String| -> Failed {
        format!("{what}\n--- stdout\n{}--- stderr\n{}--- exit {:?}", o.stdout, o.stderr, o.code).into()
    };
    if o.code != Some(c.exit) {
        return Err(report(format!("exit code {:?}, expected {}", o.code, c.exit)));
    }
    let lines: Vec<&str> = o.stdout.lines().collect();
    let err_lines: Vec<&str> = o.stderr.lines().collect();
    // Line expectations match in order, each after the previous match.
    let mut pos = 0usize;
    for e in &c.expect {
        match e {
            Expect::Line(want) => match lines[pos..].iter().position(|l| l == want) {
                Some(p) => pos += p + 1,
                None => return Err(report(format!("missing line (in order): {want:?}"))),
            },
            Expect::Regex(re) => {
                let r = regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| report(e.to_string()))?;
                match lines[pos..].iter().position(|l| r.is_match(l)) {
                    Some(p) => pos += p + 1,
                    None => return Err(report(format!("no line matches (in order): {re:?}"))),
                }
            }
            Expect::Stderr(want) => {
                if !err_lines.iter().any(|l| l == want) {
                    return Err(report(format!("missing stderr line: {want:?}")));
                }
            }
            Expect::StderrRegex(re) => {
                let r = regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| report(e.to_string()))?;
                if !err_lines.iter().any(|l| r.is_match(l)) {
                    return Err(report(format!("no stderr line matches: {re:?}")));
                }
            }
            Expect::Absent(bad) => {
                if lines.iter().any(|l| l.contains(bad.as_str())) {
                    return Err(report(format!("unexpected output: {bad:?}")));
                }
            }
            Expect::Exact(want) => {
                if !exact_matches(want, &o.stdout) {
                    return Err(report(format!("stdout differs; expected:\n{want}")));
                }
            }
        }
    }
    Ok(())
}

/// A kernel stack frame as btc prints it: a symbol, `+`, an offset. Symbol layout and offsets
/// differ between kernel builds, so expectations name only the shape.
const KFRAME: &str = "{{KFRAME}}";
/// An offset into a function of a system library (`__libc_start_call_main+{{OFFSET}}`): the
/// function is named, its offset changes with the library's build.
const OFFSET: &str = "{{OFFSET}}";

/// Whether stdout is exactly `want`, where each `{{KFRAME}}` in `want` stands for one frame and
/// each `{{OFFSET}}` for a decimal offset.
fn exact_matches(want: &str, stdout: &str) -> bool {
    if !want.contains(KFRAME) && !want.contains(OFFSET) {
        return want == stdout;
    }
    let frames: Vec<String> = want
        .split(KFRAME)
        .map(|part| part.split(OFFSET).map(regex::escape).collect::<Vec<_>>().join("[0-9]+"))
        .collect();
    let re = format!(r"^{}$", frames.join(r"[A-Za-z_][A-Za-z0-9_.]*\+[0-9]+"));
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(stdout))
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    let mut trials = Vec::new();
    // A missing compiler or <sys/sdt.h> fails every case that needs the programs, loudly.
    if let Err(e) = build_programs() {
        trials.push(Trial::test("build tests/programs", move || Err(e.clone().into())));
    }
    for f in files {
        match parse_suite(&f) {
            Ok(cases) => {
                for c in cases {
                    let name = format!("{}::{}", c.file, c.name);
                    trials.push(Trial::ignorable_test(name, move || check_if_possible(&c)));
                }
            }
            Err(e) => trials.push(Trial::test(format!("suite {}", f.display()), move || Err(e.clone().into()))),
        }
    }
    trials.push(Trial::test("REQUIRES features", requires_features));
    if trials.is_empty() {
        trials.push(Trial::test("suites present", || Err("no test suites found in tests/suites".into())));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The harness's own feature checks, on what every kernel has or none has.
fn requires_features() -> Result<(), Failed> {
    let expect = |spec: &str, want: bool| -> Result<(), Failed> {
        match features::holds(spec) {
            Ok(got) if got == want => Ok(()),
            other => Err(format!("REQUIRES {spec}: {other:?}, expected Ok({want})").into()),
        }
    };
    expect("tracepoint sched:sched_switch", true)?;
    expect("tracepoint sched:sched_switch prev_comm", true)?;
    expect("tracepoint syscalls:sys_enter_openat filename", true)?;
    expect("tracepoint sched:sched_switch btc_no_field", false)?;
    expect("tracepoint btc_none:nothing", false)?;
    expect("!tracepoint btc_none:nothing", true)?;
    expect("! tracepoint sched:sched_switch", false)?;
    expect("hardware software-ish", false).err().ok_or("an unknown hardware event must be an error")?;
    for bad in ["kprobe", "tracepoint", "fentry now", "tracepoint sched_switch"] {
        if features::holds(bad).is_ok() {
            return Err(format!("REQUIRES {bad} must be an error").into());
        }
    }
    Ok(())
}
