//! Running one test as upstream's engine runs it: SETUP (0.26), BEFORE programs started (and
//! waited for by name), the tool run through `sh -c` with the engine's environment, stdout and
//! stderr in one stream, AFTER started once the tool says its probes are attached, a timeout of
//! TIMEOUT seconds from then (10 s before), SIGTERM at the timeout and the output judged all the
//! same, then CLEANUP.
//!
//! The engines differ in the details: 0.20 gives the tool `BPFTRACE_VERIFY_LLVM_IR=1`, 0.26
//! the option `--verify-llvm-ir`; 0.20 waits for the tool's output after SIGTERM, 0.26 gives it
//! a second; 0.20 passes a WILL_FAIL test whatever its exit code, 0.26 fails it on exit code 0
//! and wants every other test to end with RETURN_CODE (0 by default); 0.26 quotes PROG's single
//! quotes for the shell.

use crate::engine::Dialect;
use crate::expect;
use crate::suite::{ExpectMode, Test};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const ATTACH_NOTICE: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED\n";
const ATTACH_TIMEOUT: Duration = Duration::from_secs(10);
/// What the engine uses when TIMEOUT is 0.
const DEFAULT_TIMEOUT: u64 = 5;
/// After SIGTERM at the timeout, how long the tool has to finish before SIGKILL: 0.20's engine
/// reads until the end of the output (bounded here), 0.26's gives it a second.
const TERM_GRACE: Duration = Duration::from_secs(10);
const TERM_GRACE_026: Duration = Duration::from_secs(1);

/// How tests are run beyond what each test says.
#[derive(Clone, Debug)]
pub struct Settings {
    /// 0.26: call the tool with `--verify-llvm-ir`, as the engine does.
    pub verify_llvm_ir: bool,
    /// Variables of the runner's environment passed on to the tool (the engine passes only
    /// PATH; this is for btc's own switches, e.g. BTC_COMPAT).
    pub forward_env: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { verify_llvm_ir: true, forward_env: Vec::new() }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(String),
    TimedOut(String),
}

pub struct Run {
    pub outcome: Outcome,
    pub command: String,
    pub output: String,
    pub elapsed: Duration,
}

/// Puts a child in a session of its own, so it and everything it starts can be signalled as
/// one process group.
fn own_session(cmd: &mut Command) -> &mut Command {
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

fn kill_group(child: &Child, sig: i32) {
    // SAFETY: signalling a process group we created; a stale id only fails.
    unsafe { libc::kill(-(child.id() as i32), sig) };
}

/// A child whose output is collected by a thread (so a chatty BEFORE never blocks on a full
/// pipe) and killed, with its group, when dropped.
struct Helper {
    child: Child,
    output: mpsc::Receiver<String>,
}

impl Helper {
    fn spawn(mut cmd: Command) -> std::io::Result<Helper> {
        let (reader, writer) = std::io::pipe()?;
        let child = own_session(&mut cmd)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .spawn()?;
        drop(cmd);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(reader).read_to_string(&mut s);
            let _ = tx.send(s);
        });
        Ok(Helper { child, output: rx })
    }

    /// Gives it up to a second to end, then kills its group; returns what it printed.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_group(&self.child, libc::SIGKILL);
        let _ = self.child.wait();
        self.output.recv_timeout(Duration::from_secs(1)).unwrap_or_default()
    }
}

/// Runs `t` in `dir` with `bpftrace` as the tool.
pub fn run(t: &Test, dir: &Path, bpftrace: &Path, settings: &Settings) -> Run {
    let started = Instant::now();
    let mut run = Run {
        outcome: Outcome::Failed(String::new()),
        command: String::new(),
        output: String::new(),
        elapsed: Duration::ZERO,
    };
    let mut befores = Vec::new();
    let result = run_inner(t, dir, bpftrace, settings, &mut befores, &mut run);
    let mut notes = Vec::new();
    for (name, b) in befores {
        let out = b.finish();
        if !out.is_empty() {
            notes.push(format!("BEFORE {name} printed: {}", out.trim_end()));
        }
    }
    run.outcome = match result {
        Ok(o) => o,
        Err(e) => Outcome::Failed(e),
    };
    if !t.cleanup.is_empty() {
        let ok = shell_step(&t.cleanup, dir).is_ok();
        if !ok && run.outcome == Outcome::Passed {
            run.outcome = Outcome::Failed(format!("CLEANUP failed: {}", t.cleanup));
        }
    }
    if let Outcome::Failed(why) | Outcome::TimedOut(why) = &mut run.outcome {
        for n in notes {
            why.push_str("\n\t");
            why.push_str(&n);
        }
    }
    run.elapsed = started.elapsed();
    run
}

/// The name a BEFORE command's process is waited for by: its last word's base name, cut to
/// the 15 characters of a `comm`.
pub fn before_name(before: &str) -> String {
    let last = before.split_whitespace().last().unwrap_or("");
    let base = last.rsplit('/').next().unwrap_or(last);
    base.chars().take(15).collect()
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim_end().to_string())
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The pid of the process named `name` that is `root` or descends from it.
fn find_process(root: u32, name: &str) -> Option<u32> {
    if comm(root).as_deref() == Some(name) {
        return Some(root);
    }
    let mut found = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if comm(pid).as_deref() != Some(name) {
            continue;
        }
        let mut p = pid;
        for _ in 0..64 {
            match parent(p) {
                Some(pp) if pp == root => {
                    found = Some(pid);
                    break;
                }
                Some(pp) if pp > 1 => p = pp,
                _ => break,
            }
        }
    }
    found
}

fn wait_until<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The command the test runs: RUN with `{{BPFTRACE}}` replaced, or the tool on PROG (with
/// `-q -f json` when the (first) expectation is JSON). 0.26 adds `--verify-llvm-ir` (unless
/// `verify` is off) and quotes PROG's single quotes.
pub fn command_line(t: &Test, bpftrace: &Path, verify: bool) -> String {
    let tool = bpftrace.display().to_string();
    let json = if t.expects.first().is_some_and(|e| e.mode == ExpectMode::Json) {
        "-q -f json"
    } else {
        ""
    };
    match t.dialect {
        Dialect::V020 if !t.run.is_empty() => t.run.replace("{{BPFTRACE}}", &tool),
        Dialect::V020 => format!("{tool} {json} -e '{}'", t.prog),
        Dialect::V026 => {
            let verify = if verify { " --verify-llvm-ir" } else { "" };
            if !t.run.is_empty() {
                t.run.replace("{{BPFTRACE}}", &format!("{tool}{verify}"))
            } else {
                format!("{tool} {json}{verify} -e '{}'", t.prog.replace('\'', "'\\''"))
            }
        }
    }
}

/// Runs SETUP or CLEANUP through the shell; on failure, what it printed.
fn shell_step(cmd: &str, dir: &Path) -> Result<(), String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(text.trim_end().to_string())
}

fn run_inner(
    t: &Test,
    dir: &Path,
    bpftrace: &Path,
    settings: &Settings,
    befores: &mut Vec<(String, Helper)>,
    run: &mut Run,
) -> Result<Outcome, String> {
    let v026 = t.dialect == Dialect::V026;
    if !t.setup.is_empty() {
        if let Err(out) = shell_step(&t.setup, dir) {
            return Ok(Outcome::Failed(format!("SETUP failed: {}: {out}", t.setup)));
        }
    }
    let limit = Duration::from_secs(t.timeout);
    let mut nsenter = String::new();
    let mut before_pid = None;
    if t.new_pidns {
        // The first BEFORE becomes the first process of a new pid namespace with its own /proc;
        // the tool, the other BEFOREs and AFTER enter that namespace.
        let mut cmd = Command::new("unshare");
        cmd.args(["--fork", "--pid", "--mount-proc", "-r", "--kill-child", "--"]);
        cmd.args(t.befores[0].split_whitespace()).current_dir(dir);
        let h = Helper::spawn(cmd).map_err(|e| format!("unshare: {e}"))?;
        let root = h.child.id();
        befores.push((t.befores[0].clone(), h));
        let inner = wait_until(limit, || {
            std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
                let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
                (parent(pid) == Some(root)).then_some(pid)
            })
        })
        .ok_or("timed out waiting for the new pid namespace")?;
        nsenter = format!("nsenter -p -m -t {inner} ");
        for b in &t.befores[1..] {
            let mut cmd = Command::new("nsenter");
            cmd.args(["-p", "-m", "-t", &inner.to_string()]);
            cmd.args(b.split_whitespace().map(|w| absolute(dir, w)));
            cmd.current_dir(dir);
            let h = Helper::spawn(cmd).map_err(|e| format!("BEFORE {b}: {e}"))?;
            let (pid, name) = (h.child.id(), before_name(b));
            befores.push((b.clone(), h));
            wait_until(limit, || find_process(pid, &name))
                .ok_or_else(|| format!("timed out waiting for BEFORE {b}"))?;
        }
    } else {
        for b in &t.befores {
            let mut words = b.split_whitespace();
            let Some(program) = words.next() else { continue };
            let mut cmd = Command::new(program);
            cmd.args(words).current_dir(dir);
            let h = Helper::spawn(cmd).map_err(|e| format!("BEFORE {b}: {e}"))?;
            let (pid, name) = (h.child.id(), before_name(b));
            befores.push((b.clone(), h));
            let found = wait_until(limit, || find_process(pid, &name))
                .ok_or_else(|| format!("timed out waiting for BEFORE {b} ({name})"))?;
            // 0.20 allows one BEFORE with {{BEFORE_PID}}; 0.26 takes the first's.
            if !v026 || before_pid.is_none() {
                before_pid = Some(found);
            }
        }
    }

    let mut command = nsenter.clone() + &command_line(t, bpftrace, settings.verify_llvm_ir);
    if command.contains("{{BEFORE_PID}}") {
        if t.new_pidns {
            return Err("{{BEFORE_PID}} can't be used with NEW_PIDNS".into());
        }
        if t.befores.is_empty() || (!v026 && t.befores.len() != 1) {
            return Err("{{BEFORE_PID}} needs exactly one BEFORE".into());
        }
        let pid = before_pid.ok_or("no BEFORE process")?;
        command = command.replace("{{BEFORE_PID}}", &pid.to_string());
    }
    run.command = command.clone();

    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&command).current_dir(dir).env_clear();
    cmd.env("test", &t.name)
        .env("__BPFTRACE_NOTIFY_PROBES_ATTACHED", "1")
        .env("__BPFTRACE_NOTIFY_AOT_PORTABILITY_DISABLED", "1")
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    if !v026 {
        cmd.env("BPFTRACE_VERIFY_LLVM_IR", "1");
    }
    for (k, v) in settings.forward_env.iter().chain(&t.env) {
        cmd.env(k, v);
    }
    let stdout = writer.try_clone().map_err(|e| format!("pipe: {e}"))?;
    let mut tool = own_session(&mut cmd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(writer)
        .spawn()
        .map_err(|e| format!("sh: {e}"))?;
    drop(cmd);

    // Lines as they come; None at the end of the stream.
    let (tx, rx) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(reader);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    if tx.send(Some(String::from_utf8_lossy(&line).into_owned())).is_err() {
                        return;
                    }
                }
            }
        }
    });

    let mut output = String::new();
    let mut attached = false;
    let mut deadline = Instant::now() + ATTACH_TIMEOUT;
    let mut after: Option<Helper> = None;
    let mut timed_out = false;
    let mut exited_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        // Once the tool has exited, what it printed is drained; a descendant that keeps the
        // stream open doesn't hold the test beyond a moment.
        if let Some(at) = exited_at {
            if now.duration_since(at) > Duration::from_secs(2) {
                break;
            }
        } else if matches!(tool.try_wait(), Ok(Some(_))) {
            exited_at = Some(now);
        }
        match rx.recv_timeout((deadline - now).min(Duration::from_millis(100))) {
            Ok(Some(line)) => {
                output.push_str(&line);
                if !attached && line == ATTACH_NOTICE {
                    attached = true;
                    if t.has_exact_expect {
                        output.clear();
                    }
                    deadline = match (t.dialect, t.timeout) {
                        (Dialect::V020, 0) => Instant::now() + Duration::from_secs(DEFAULT_TIMEOUT),
                        // The engine's alarm(0): no limit at all.
                        (Dialect::V026, 0) => Instant::now() + Duration::from_secs(1 << 30),
                        (_, secs) => Instant::now() + Duration::from_secs(secs),
                    };
                    if !t.after.is_empty() {
                        let mut cmd = Command::new("sh");
                        let after_cmd = if t.new_pidns {
                            let words: Vec<String> =
                                t.after.split_whitespace().map(|w| absolute(dir, w)).collect();
                            format!("{nsenter}{}", words.join(" "))
                        } else {
                            t.after.clone()
                        };
                        cmd.arg("-c").arg(after_cmd).current_dir(dir);
                        after = Some(Helper::spawn(cmd).map_err(|e| format!("AFTER: {e}"))?);
                    }
                }
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }

    if timed_out {
        kill_group(&tool, libc::SIGTERM);
        let grace = Instant::now() + if v026 { TERM_GRACE_026 } else { TERM_GRACE };
        loop {
            let now = Instant::now();
            if now >= grace {
                break;
            }
            match rx.recv_timeout(grace - now) {
                Ok(Some(line)) => output.push_str(&line),
                _ => break,
            }
        }
    }
    kill_group(&tool, libc::SIGKILL);
    let status = tool.wait().map_err(|e| format!("wait: {e}"))?;
    let after_output = after.map(Helper::finish);
    run.output = output.clone();

    let judged = expect::meets(t, &output, dir);
    let mut outcome = if v026 {
        judge_026(t, judged, status, timed_out)
    } else {
        judge_020(t, judged, status, timed_out)
    };
    if let (Some(out), Outcome::Failed(why) | Outcome::TimedOut(why)) = (after_output, &mut outcome) {
        if !out.is_empty() {
            why.push_str(&format!("\n\tAFTER printed: {}", out.trim_end()));
        }
    }
    Ok(outcome)
}

/// The exit code as Python reports it: negative for a signal.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| -status.signal().unwrap_or(0))
}

/// 0.26: a test that timed out passes if its output meets the expectations; otherwise the exit
/// code is checked first (RETURN_CODE, or non-zero under WILL_FAIL), then the output.
fn judge_026(
    t: &Test,
    judged: Result<Option<String>, String>,
    status: std::process::ExitStatus,
    timed_out: bool,
) -> Outcome {
    if timed_out {
        return match judged {
            Ok(None) => Outcome::Passed,
            Ok(Some(_)) => Outcome::TimedOut(format!("timed out after {} s", t.timeout)),
            Err(e) => Outcome::Failed(e),
        };
    }
    let code = exit_code(status);
    if code != t.return_code && !t.will_fail {
        return Outcome::Failed(if t.return_code == 0 {
            format!("unclean exit: {}", describe(status))
        } else {
            format!("{}, expected exit code {}", describe(status), t.return_code)
        });
    }
    if code == 0 && t.will_fail {
        return Outcome::Failed("clean exit, but WILL_FAIL".into());
    }
    match judged {
        Ok(None) => Outcome::Passed,
        Ok(Some(which)) => Outcome::Failed(format!("output does not match: {which}")),
        Err(e) => Outcome::Failed(e),
    }
}

fn judge_020(
    t: &Test,
    judged: Result<Option<String>, String>,
    status: std::process::ExitStatus,
    timed_out: bool,
) -> Outcome {
    match judged.map(|j| j.is_none()) {
        Err(e) => Outcome::Failed(e),
        Ok(true) => {
            if !status.success() && !t.will_fail && !timed_out {
                Outcome::Failed(format!("unclean exit: {}", describe(status)))
            } else {
                Outcome::Passed
            }
        }
        Ok(false) if timed_out => Outcome::TimedOut(format!("timed out after {} s", t.timeout)),
        Ok(false) => {
            if !status.success() && !t.will_fail {
                Outcome::Failed(format!("unclean exit: {}", describe(status)))
            } else {
                Outcome::Failed("output does not match".into())
            }
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown".into(),
    }
}

/// What the engine does to the words of commands it runs in a new pid namespace.
fn absolute(dir: &Path, word: &str) -> String {
    if word.starts_with('/') {
        word.to_string()
    } else {
        dir.join(word).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Expect;

    #[test]
    fn before_processes_are_known_by_their_last_word() {
        assert_eq!(before_name("./testprogs/uprobe_test"), "uprobe_test");
        assert_eq!(before_name("./testprogs/mountns_wrapper usdt_test"), "usdt_test");
        assert_eq!(before_name("./testprogs/usdt_semaphore_test"), "usdt_semaphore_");
    }

    #[test]
    fn commands_are_built_as_the_engine_builds_them() {
        let bt = Path::new("/w/bin/bpftrace");
        let mut t = Test { prog: "BEGIN { exit(); }".into(), ..Test::default() };
        t.expects = vec![Expect { mode: ExpectMode::Regex, text: "x".into() }];
        assert_eq!(command_line(&t, bt, true), "/w/bin/bpftrace  -e 'BEGIN { exit(); }'");
        t.expects[0].mode = ExpectMode::Json;
        assert_eq!(command_line(&t, bt, true), "/w/bin/bpftrace -q -f json -e 'BEGIN { exit(); }'");
        let t = Test { run: "{{BPFTRACE}} -l | wc -l".into(), ..Test::default() };
        assert_eq!(command_line(&t, bt, true), "/w/bin/bpftrace -l | wc -l");
    }

    #[test]
    fn commands_of_026_verify_and_quote() {
        let bt = Path::new("/w/bin/bpftrace");
        let mut t = Test { dialect: Dialect::V026, prog: "begin { print('a'); }".into(), ..Test::default() };
        t.expects = vec![Expect { mode: ExpectMode::Text, text: "x".into() }];
        assert_eq!(
            command_line(&t, bt, true),
            "/w/bin/bpftrace  --verify-llvm-ir -e 'begin { print('\\''a'\\''); }'"
        );
        assert_eq!(command_line(&t, bt, false), "/w/bin/bpftrace  -e 'begin { print('\\''a'\\''); }'");
        let t = Test { dialect: Dialect::V026, run: "{{BPFTRACE}} -l x".into(), ..Test::default() };
        assert_eq!(command_line(&t, bt, true), "/w/bin/bpftrace --verify-llvm-ir -l x");
    }

    fn shell_test(run: &str, expect: &str, timeout: u64) -> Test {
        Test {
            suite: "s".into(),
            name: "n".into(),
            run: run.into(),
            expects: vec![Expect { mode: ExpectMode::Regex, text: expect.into() }],
            timeout,
            ..Test::default()
        }
    }

    #[test]
    fn outcomes_of_real_commands() {
        let dir = std::env::temp_dir();
        let tool = Path::new("/bin/true");
        let attach = "echo __BPFTRACE_NOTIFY_PROBES_ATTACHED";
        let pass = run(&shell_test(&format!("{attach}; echo hello"), "^hello$", 2), &dir, tool, &Settings::default());
        assert_eq!(pass.outcome, Outcome::Passed);
        let wrong = run(&shell_test("echo bye", "^hello$", 2), &dir, tool, &Settings::default());
        assert_eq!(wrong.outcome, Outcome::Failed("output does not match".into()));
        let unclean = run(&shell_test("echo hello; exit 3", "^hello$", 2), &dir, tool, &Settings::default());
        assert_eq!(unclean.outcome, Outcome::Failed("unclean exit: exit code 3".into()));
        let mut will_fail = shell_test("echo hello; exit 3", "^hello$", 2);
        will_fail.will_fail = true;
        assert_eq!(run(&will_fail, &dir, tool, &Settings::default()).outcome, Outcome::Passed);
        // Killed at the timeout, judged on what it printed by then: the trap prints on SIGTERM.
        let slow = format!("trap 'echo done; exit 0' TERM; {attach}; while :; do sleep 0.05; done");
        assert_eq!(run(&shell_test(&slow, "^done$", 1), &dir, tool, &Settings::default()).outcome, Outcome::Passed);
        let silent = format!("{attach}; sleep 30");
        assert!(matches!(
            run(&shell_test(&silent, "^done$", 1), &dir, tool, &Settings::default()).outcome,
            Outcome::TimedOut(_)
        ));
        // AFTER runs once attached; its effects are visible to the tool.
        let file = dir.join(format!("btc-conf-after-{}", std::process::id()));
        let mut t = shell_test(
            &format!("{attach}; for i in 1 2 3 4 5 6 7 8 9 10; do [ -e {f} ] && cat {f} && break; sleep 0.1; done", f = file.display()),
            "^from after$",
            3,
        );
        t.after = format!("echo from after > {}", file.display());
        assert_eq!(run(&t, &dir, tool, &Settings::default()).outcome, Outcome::Passed);
        let _ = std::fs::remove_file(&file);
    }

    fn shell_test026(run: &str, expects: &[(ExpectMode, &str)]) -> Test {
        Test {
            suite: "s".into(),
            name: "n".into(),
            dialect: Dialect::V026,
            run: run.into(),
            expects: expects.iter().map(|&(mode, t)| Expect { mode, text: t.into() }).collect(),
            timeout: 2,
            ..Test::default()
        }
    }

    #[test]
    fn outcomes_of_026() {
        let dir = std::env::temp_dir();
        let tool = Path::new("/bin/true");
        let s = Settings::default();
        let outcome = |t: &Test| run(t, &dir, tool, &s).outcome;
        let text = [(ExpectMode::Text, "hello")];
        assert_eq!(outcome(&shell_test026("echo '  hello '", &text)), Outcome::Passed);
        assert!(matches!(outcome(&shell_test026("echo hello there", &text)), Outcome::Failed(_)));
        // WILL_FAIL wants a failing exit code.
        let mut t = shell_test026("echo hello", &text);
        t.will_fail = true;
        assert_eq!(outcome(&t), Outcome::Failed("clean exit, but WILL_FAIL".into()));
        t.run = "echo hello; exit 1".into();
        assert_eq!(outcome(&t), Outcome::Passed);
        // RETURN_CODE: that exit code and no other.
        let mut t = shell_test026("exit 69", &[]);
        t.return_code = 69;
        assert_eq!(outcome(&t), Outcome::Passed);
        t.run = "exit 0".into();
        assert_eq!(outcome(&t), Outcome::Failed("exit code 0, expected exit code 69".into()));
        // SETUP runs first; its failure fails the test.
        let file = dir.join(format!("btc-conf26-setup-{}", std::process::id()));
        let mut t = shell_test026(&format!("cat {}", file.display()), &[(ExpectMode::Regex, "^set$")]);
        t.setup = format!("echo set > {}", file.display());
        t.cleanup = format!("rm {}", file.display());
        assert_eq!(outcome(&t), Outcome::Passed);
        assert!(!file.exists(), "CLEANUP ran");
        t.setup = "echo no; false".into();
        assert_eq!(outcome(&t), Outcome::Failed("SETUP failed: echo no; false: no".into()));
        // BPFTRACE_VERIFY_LLVM_IR is 0.20's; forwarded variables reach the tool.
        let env = [(ExpectMode::Text, "[] [x]")];
        let t = shell_test026("echo \"[$BPFTRACE_VERIFY_LLVM_IR] [$BTC_COMPAT]\"", &env);
        let fwd = Settings { forward_env: vec![("BTC_COMPAT".into(), "x".into())], ..Settings::default() };
        assert_eq!(run(&t, &dir, tool, &fwd).outcome, Outcome::Passed);
    }
}
