//! The manual's example programs (tests/manual/*.bt, see tests/manual/README.md): each must pass
//! `btc compile --check` with nothing on stderr but the warnings its header documents.
//!
//! Header comments of a fixture (after the first line, which names the manual section):
//! - `// flags: ARGS`: more arguments for `btc compile` (`{{PROGS}}` is the test programs' directory);
//!   in the program, `{{PROGS}}` is that directory too and `{{CGROUP2}}` the cgroup v2 mount;
//! - `// warning: TEXT`: a warning whose message contains TEXT is expected on this machine;
//! - `// while-running: PROGRAM`: start PROGRAM first and stop it after the check;
//! - `// known-failure: TEXT` (one or more, with `// waits-on: WHY`): btc can't check this
//!   example yet. The check must then fail with stderr containing one of the TEXTs (any other
//!   failure is a test failure); once it passes, the test says so and those lines should go.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

#[path = "support/features.rs"]
mod features;

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn progs() -> String {
    format!("{ROOT}/target/btc-test-programs")
}

/// What a fixture's header asks for.
#[derive(Default, Debug)]
struct Header {
    flags: Vec<String>,
    warnings: Vec<String>,
    while_running: Option<String>,
    known_failures: Vec<String>,
}

fn header(text: &str) -> Header {
    let mut h = Header::default();
    for line in text.lines().take_while(|l| l.starts_with("//")) {
        let line = line.trim_start_matches('/').trim();
        let expand = |s: &str| s.trim().replace("{{PROGS}}", &progs());
        if let Some(v) = line.strip_prefix("flags:") {
            h.flags = expand(v).split_whitespace().map(str::to_string).collect();
        } else if let Some(v) = line.strip_prefix("warning:") {
            h.warnings.push(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("while-running:") {
            h.while_running = Some(expand(v));
        } else if let Some(v) = line.strip_prefix("known-failure:") {
            h.known_failures.push(v.trim().to_string());
        }
    }
    h
}

/// The diagnostics btc printed: (severity, message) of each `FILE:LINE:COL: SEVERITY: MSG`
/// line; any other line that isn't a source or caret line after one of them is kept as an error.
fn diagnostics(stderr: &str) -> Vec<(String, String)> {
    let re = regex::Regex::new(r"^\S+:\d+:\d+: (error|warning|note): (.*)$").expect("regex");
    let mut out = Vec::new();
    let mut in_diag = false;
    for line in stderr.lines() {
        if let Some(c) = re.captures(line) {
            out.push((c[1].to_string(), c[2].to_string()));
            in_diag = true;
        } else if !in_diag {
            out.push(("error".to_string(), line.to_string()));
        }
    }
    out
}

/// Starts a program the check needs running; it is killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn check(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or_default();
    if !first.starts_with("// Manual: ") {
        return Err(format!("{}: the first line must be `// Manual: SECTION`", path.display()).into());
    }
    let h = header(&text);
    let file: PathBuf = if text.contains("{{PROGS}}") || text.contains("{{CGROUP2}}") {
        let dir = Path::new(ROOT).join("target/manual-fixtures");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let p = dir.join(path.file_name().unwrap_or_default());
        let mut text = text.replace("{{PROGS}}", &progs());
        if text.contains("{{CGROUP2}}") {
            let root = features::cgroup2_mount().ok_or("this fixture needs a cgroup2 mount, and there is none")?;
            text = text.replace("{{CGROUP2}}", &root);
        }
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        p
    } else {
        path.to_path_buf()
    };
    let _running = match &h.while_running {
        Some(cmd) => {
            let child = Command::new(cmd)
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("can't start {cmd}: {e}"))?;
            // Give it time to map its libraries.
            std::thread::sleep(std::time::Duration::from_millis(200));
            Some(Running(child))
        }
        None => None,
    };
    let out = Command::new(BTC)
        .arg("compile")
        .arg("--check")
        .args(&h.flags)
        .arg(&file)
        .output()
        .map_err(|e| format!("can't run btc: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let diags = diagnostics(&stderr);
    let unexpected: Vec<&(String, String)> = diags
        .iter()
        .filter(|(sev, msg)| match sev.as_str() {
            "note" => false,
            "warning" => !h.warnings.iter().any(|w| msg.contains(w.as_str())),
            _ => true,
        })
        .collect();
    let passed = out.status.success() && unexpected.is_empty();
    let known = !h.known_failures.is_empty();
    match (known, passed) {
        (false, true) => Ok(()),
        (false, false) => Err(format!("exit status {}, stderr:\n{stderr}", out.status).into()),
        (true, true) => {
            eprintln!(
                "NOTE: {} now passes --check: remove its `known-failure` and `waits-on` lines",
                path.display()
            );
            Ok(())
        }
        (true, false) if h.known_failures.iter().any(|r| stderr.contains(r.as_str())) => Ok(()),
        (true, false) => Err(format!(
            "known to fail with one of {:?}, but it failed differently (exit status {}):\n{stderr}",
            h.known_failures, out.status
        )
        .into()),
    }
}

fn build_programs() -> Result<(), String> {
    let out = Command::new("make")
        .args(["-s", "-C"])
        .arg(Path::new(ROOT).join("tests/programs"))
        .arg(format!("OUT={}", progs()))
        .output()
        .map_err(|e| format!("can't run make to build tests/programs: {e}"))?;
    if !out.status.success() {
        return Err(format!("building tests/programs failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(ROOT).join("tests/manual");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "bt")).collect())
        .unwrap_or_default();
    files.sort();
    let mut trials = vec![Trial::test("fixtures_exist", {
        let n = files.len();
        move || if n >= 50 { Ok(()) } else { Err(format!("only {n} fixtures in tests/manual").into()) }
    })];
    trials.push(Trial::test("headers_and_diagnostics_parse", headers_and_diagnostics_parse));
    let built = build_programs();
    for f in files {
        let mut name = f.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture").to_string();
        // Known failures say so in their name: they check that btc still fails as documented,
        // they don't count as passing examples.
        if std::fs::read_to_string(&f).is_ok_and(|t| !header(&t).known_failures.is_empty()) {
            name.push_str(" (known failure)");
        }
        let built = built.clone();
        trials.push(Trial::test(name, move || {
            built.map_err(Failed::from)?;
            check(&f)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The harness's own parsing (a trial, as this test has no libtest harness).
fn headers_and_diagnostics_parse() -> Result<(), Failed> {
    let h = header("// Manual: X\n// flags: --unsafe\n// warning: not traceable\nBEGIN {}\n// flags: no");
    let d = diagnostics("a.bt:1:2: warning: w\nsrc\n  ^\nb.bt:3:4: error: e\n");
    let want = [("warning".to_string(), "w".to_string()), ("error".to_string(), "e".to_string())];
    if h.flags != ["--unsafe"] || h.warnings != ["not traceable"] || d != want {
        return Err(format!("{h:?} {d:?}").into());
    }
    if diagnostics("ERROR: boom\n") != [("error".to_string(), "ERROR: boom".to_string())] {
        return Err("a line that isn't a diagnostic must count as an error".into());
    }
    Ok(())
}
