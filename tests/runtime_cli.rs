//! The runtime half of btc against the real kernel (issue 6): symbolization, process control
//! (`-c`, `-p`, signals), output options (`-o`, `-B`, `-f json`), environment variables, and
//! btc installed as `bpftrace`. Test programs in tests/programs are built with gcc/g++ with
//! frame pointers.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const NOTIFY: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Builds tests/programs/NAME.c (or .cpp) with frame pointers; returns the binary. The binary is
/// named `btc_NAME` so its comm is predictable.
fn program(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let out = tmp(&format!("btc_{name}"));
    let (compiler, src) = if dir.join(format!("{name}.cpp")).exists() {
        ("g++", dir.join(format!("{name}.cpp")))
    } else {
        ("gcc", dir.join(format!("{name}.c")))
    };
    let status = Command::new(compiler)
        .args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("{compiler} is needed to build the test programs: {e}"));
    assert!(status.success(), "building {}", src.display());
    out
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BTC);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run btc")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Starts btc and waits until its probes are attached (the notice is on stderr, as bpftrace
/// prints it); returns it and the stderr lines before the notice.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Child, Vec<String>) {
    let mut c = Command::new(BTC);
    c.args(args).env(NOTIFY, "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("start btc");
    // Stdout is read in the background from the start, so btc never blocks on a full pipe.
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let all: Vec<String> = out.lines().map_while(Result::ok).collect();
        let _ = tx.send(all);
    });
    let mut seen = Vec::new();
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end().to_string();
        if line == NOTIFY {
            break;
        }
        seen.push(line);
    }
    std::thread::spawn(move || for _ in err.lines().map_while(Result::ok) {});
    OUTPUTS.with(|o| o.borrow_mut().push((child.id(), rx)));
    (child, seen)
}

thread_local! {
    static OUTPUTS: std::cell::RefCell<Vec<(u32, std::sync::mpsc::Receiver<Vec<String>>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Waits for a child started with [`start`]; returns its exit code and its stdout.
fn finish(mut child: Child, timeout: Duration) -> (Option<i32>, Vec<String>) {
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("btc did not end within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let rx = OUTPUTS.with(|o| {
        let mut o = o.borrow_mut();
        let i = o.iter().position(|(id, _)| *id == child.id()).expect("started with start()");
        o.remove(i).1
    });
    (status.code(), rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default())
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill with a pid we own.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// BPF objects (programs, maps, links) a process holds, from its fdinfo: `("prog", id)`, ...
fn held_objects(pid: u32) -> HashSet<(&'static str, u32)> {
    let mut out = HashSet::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return out };
    for e in dir.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            for (key, kind) in [("prog_id:", "prog"), ("map_id:", "map"), ("link_id:", "link")] {
                if let Some(v) = line.strip_prefix(key).and_then(|v| v.trim().parse().ok()) {
                    out.insert((kind, v));
                }
            }
        }
    }
    out
}

/// The BPF objects alive in the kernel now.
fn live_objects() -> HashSet<(&'static str, u32)> {
    let progs = libbpf_rs::query::ProgInfoIter::default().map(|i| ("prog", i.id));
    let maps = libbpf_rs::query::MapInfoIter::default().map(|i| ("map", i.id));
    let links = libbpf_rs::query::LinkInfoIter::default().map(|i| ("link", i.id));
    progs.chain(maps).chain(links).collect()
}

/// Waits until none of `objects` is alive (maps go an RCU grace period after their last user).
fn assert_released(objects: &HashSet<(&'static str, u32)>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let live = live_objects();
        let left: Vec<_> = objects.intersection(&live).collect();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "btc left kernel objects behind: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- symbolization

#[test]
fn kstack_and_ksym_of_a_tracepoint() {
    let prog = program("stacks");
    let o = run(
        &[
            "run",
            "-e",
            "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @k[kstack] = count(); @p = kstack(perf, 2); \
             printf(\"%s\\n\", ksym(kaddr(\"do_syscall_64\") + 5)); }",
            "-c",
            &format!("{} 2", prog.display()),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\ndo_syscall_64\n"), "{out}");
    // A map key indents frames by 4, as bpftrace prints it.
    let re = regex::Regex::new(r"(?m)^@k\[\n(    \S+\+\d+\n)+\]: 2$").expect("regex");
    assert!(re.is_match(&out), "{out}");
    assert!(out.contains("    do_syscall_64+"), "{out}");
    // perf mode: a tab, the address in hex, the symbol.
    let re = regex::Regex::new(r"(?m)^@p: \n\t[0-9a-f]{16} \S+\+\d+\n\t[0-9a-f]{16} \S+\+\d+\n$").expect("regex");
    assert!(re.is_match(&out), "{out}");
}

#[test]
fn ustack_and_usym_of_a_child_built_with_frame_pointers() {
    let prog = program("stacks");
    let o = run(
        &[
            "run",
            "-e",
            "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @[ustack(3)] = count(); @perf[ustack(perf, 1)] = count(); }",
            "-c",
            &format!("{} 3", prog.display()),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let re = regex::Regex::new(r"@\[\n    btc_leaf\+\d+\n    btc_middle\+\d+\n    main\+\d+\n\]: 3\n").expect("regex");
    assert!(re.is_match(&out), "{out}");
    let re = regex::Regex::new(&format!(r"@perf\[\n\t[0-9a-f]+ btc_leaf\+\d+ \({}\)\n\]: 3", regex::escape(&prog.display().to_string())))
        .expect("regex");
    assert!(re.is_match(&out), "{out}");
    // The child's own output is not btc's: it goes to the same terminal, here the same pipe.
    assert!(out.contains("done\n"), "{out}");
}

#[test]
fn usym_and_ustack_of_a_uprobe_on_a_child() {
    // -c with a uprobe on the child: the child is stopped until the uprobe is attached, so the
    // first call is seen.
    let prog = program("stacks");
    let path = prog.display().to_string();
    let o = run(
        &[
            "run",
            "-e",
            &format!("uprobe:{path}:btc_leaf {{ @[ustack] = count(); printf(\"%s %d\\n\", usym(reg(\"ip\")), pid == cpid); }}"),
            "-c",
            &format!("{path} 2"),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches("btc_leaf 1\n").count(), 2, "{out}");
    let re = regex::Regex::new(r"@\[\n    btc_leaf\+0\n    btc_middle\+\d+\n    main\+\d+\n(    \S+\n)*\]: 2\n").expect("regex");
    assert!(re.is_match(&out), "{out}");
}

#[test]
fn cpp_demangling_follows_the_environment() {
    let prog = program("cxx_stacks");
    let script = "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @[ustack(1)] = count(); }";
    let cmd = format!("{} 2", prog.display());
    let o = run(&["run", "-e", script, "-c", &cmd], &[]);
    assert!(stdout(&o).contains("    btc::leaf(int)+"), "{}", stdout(&o));
    for env in [("BPFTRACE_NO_CPP_DEMANGLE", "1"), ("BPFTRACE_CPP_DEMANGLE", "0")] {
        let o = run(&["run", "-e", script, "-c", &cmd], &[env]);
        assert!(stdout(&o).contains("    _ZN3btc4leafEi+"), "{env:?}: {}", stdout(&o));
    }
    let o = run(&["run", "-e", &format!("config = {{ cpp_demangle = 0 }} {script}"), "-c", &cmd], &[]);
    assert!(stdout(&o).contains("    _ZN3btc4leafEi+"), "{}", stdout(&o));
}

#[test]
fn symbols_of_an_exited_process_follow_the_cache_setting() {
    // -p on a process that exits before the maps are printed: with its memory map cached at
    // attach time (PER_PID) its symbols resolve; without a cache (NONE) they can't, and print
    // as addresses, as the manual says.
    let prog = program("stacks");
    let script = "tracepoint:syscalls:sys_enter_getppid /pid == $1/ { @[ustack(1)] = count(); }";
    for (mode, expect) in [("PER_PID", r"@\[\n    btc_leaf\+\d+\n\]: [1-5]"), ("NONE", r"@\[\n    0x[0-9a-f]+\n\]: [1-5]")] {
        let mut target = Command::new(&prog).args(["5", "300"]).stdout(Stdio::null()).spawn().expect("start program");
        let pid = target.id().to_string();
        let (btc, _) = start(&["run", "-p", &pid, "-e", script, &pid], &[("BPFTRACE_CACHE_USER_SYMBOLS", mode)]);
        let _ = target.wait();
        let (code, lines) = finish(btc, Duration::from_secs(10));
        assert_eq!(code, Some(0));
        let out = lines.join("\n");
        assert!(regex::Regex::new(expect).expect("regex").is_match(&out), "{mode}: {out}");
    }
}

// ---- process control

#[test]
fn dash_c_runs_the_child_after_attaching_and_ends_with_it() {
    let prog = program("stacks");
    let o = run(
        &["run", "-e", "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @calls = count(); } END { printf(\"end %d\\n\", cpid > 0); }", "-c", &format!("{} 4", prog.display())],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Every call is seen: the child was stopped until the probe was attached.
    assert_eq!(stdout(&o), "Attaching 2 probes...\ndone\nend 1\n\n\n@calls: 4\n");
}

#[test]
fn dash_c_child_gets_sigterm_when_btc_ends_first() {
    let marker = tmp("child-survived");
    let _ = std::fs::remove_file(&marker);
    // -c splits at spaces without quoting (as bpftrace does): the shell commands go in a file.
    let script = tmp("child-script.sh");
    std::fs::write(&script, format!("sleep 3; touch {}\n", marker.display())).expect("write script");
    let cmd = format!("sh {}", script.display());
    let o = run(&["run", "-e", "interval:ms:200 { exit(); }", "-c", &cmd], &[]);
    assert_eq!(o.status.code(), Some(0));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "the child should have been terminated");
}

#[test]
fn dash_p_ends_when_the_process_exits() {
    let prog = program("stacks");
    let mut target = Command::new(&prog).args(["4", "200"]).stdout(Stdio::null()).spawn().expect("start program");
    let pid = target.id().to_string();
    let (btc, _) = start(&["run", "-p", &pid, "-e", "tracepoint:syscalls:sys_enter_getppid /pid == $1/ { @n = count(); }", &pid], &[]);
    let started = Instant::now();
    let _ = target.wait();
    let (code, lines) = finish(btc, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(lines.iter().any(|l| regex::Regex::new(r"^@n: [1-4]$").expect("re").is_match(l)), "{lines:?}");
    let o = run(&["run", "-p", "999999999", "-e", "BEGIN { exit(); }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("ERROR: "), "{}", stderr(&o));
}

#[test]
fn signal_sends_a_signal_to_the_current_process() {
    let prog = program("stacks");
    let o = run(
        &["run", "--unsafe", "-e", "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { signal(\"KILL\"); }", "-c", &format!("{} 3 100", prog.display())],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("done"), "the child should have died at its first getppid: {}", stdout(&o));
    let o = run(&["run", "-e", "tracepoint:syscalls:sys_enter_getppid { signal(9); }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("signal() is an unsafe function being used in safe mode"), "{}", stderr(&o));
}

#[test]
fn signals_at_random_moments_leave_nothing_behind() {
    let script = "BEGIN { @s = 1; } tracepoint:syscalls:sys_enter_getppid { @[kstack] = count(); } \
                  interval:ms:20 { @t = count(); } END { printf(\"end\\n\"); }";
    // Deterministic "random" delays covering loading, attaching and tracing.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..10 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 700);
        let sig = if round % 2 == 0 { libc::SIGINT } else { libc::SIGTERM };
        let mut child = Command::new(BTC)
            .args(["run", "-e", script])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start btc");
        let t0 = Instant::now();
        let mut held = HashSet::new();
        while t0.elapsed() < delay {
            held.extend(held_objects(child.id()));
            std::thread::sleep(Duration::from_millis(5));
        }
        held.extend(held_objects(child.id()));
        signal(&child, sig);
        if round % 3 == 2 {
            // A second signal exits at once, still leaving nothing behind.
            std::thread::sleep(Duration::from_millis(5));
            signal(&child, libc::SIGINT);
        }
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "round {round} after {delay:?}");
        assert_released(&held);
    }
}

// ---- output

#[test]
fn dash_o_writes_the_output_to_a_file() {
    let path = tmp("out.txt");
    let o = run(&["run", "-o", path.to_str().expect("path"), "-e", "BEGIN { printf(\"to file\\n\"); @x = 1; exit(); }"], &[]);
    assert_eq!(o.status.code(), Some(0));
    // bpftrace (0.17 and 0.20) writes the two empty lines before the exit maps to stdout.
    assert_eq!(stdout(&o), "\n\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), "Attaching 1 probe...\nto file\n@x: 1\n");
    let o = run(&["run", "-o", "/nonexistent/dir/x", "-e", "BEGIN { exit(); }"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("ERROR: can't write /nonexistent/dir/x"), "{}", stderr(&o));
}

#[test]
fn buffering_none_writes_at_once_and_full_at_the_end() {
    let script = "interval:ms:50 { printf(\"tick\\n\"); }";
    for (mode, while_running) in [("none", true), ("line", true), ("full", false)] {
        let path = tmp(&format!("buffer-{mode}.txt"));
        let (btc, _) = start(&["run", "-B", mode, "-o", path.to_str().expect("path"), "-e", script], &[]);
        std::thread::sleep(Duration::from_millis(600));
        let during = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(during.contains("tick"), while_running, "-B {mode}: {during:?}");
        signal(&btc, libc::SIGINT);
        let (code, _) = finish(btc, Duration::from_secs(5));
        assert_eq!(code, Some(0));
        assert!(std::fs::read_to_string(&path).unwrap_or_default().contains("tick\ntick\n"), "-B {mode}");
    }
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn of_type<'a>(lines: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

#[test]
fn json_output_has_bpftrace_types_and_fields() {
    let script = r#"BEGIN { printf("hi %d\n", 5); time("%Y\n"); cat("/proc/sys/kernel/ostype"); system("echo sys");
                      @scalar = 7; @keyed["a"] = 1; @tuple[1, "x"] = 2; @counts[3] = count(); @sym = ksym(kaddr("do_syscall_64")); }
                    tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args.argv, ","); }"#;
    let o = run(&["run", "--unsafe", "-f", "json", "-e", script, "-c", "/usr/bin/env /bin/echo 1 2"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The child's output ("1 2") shares the pipe; every line of btc's is JSON.
    let out = stdout(&o).replace("1 2\n", "");
    let lines = json_lines(&out);
    assert_eq!(of_type(&lines, "attached_probes")[0]["data"]["probes"], 2);
    assert_eq!(of_type(&lines, "printf")[0]["data"], "hi 5\n");
    let year = of_type(&lines, "time")[0]["data"].as_str().unwrap_or_default().to_string();
    assert!(year.len() == 5 && year.starts_with("20") && year.ends_with('\n'), "{year:?}");
    assert_eq!(of_type(&lines, "cat")[0]["data"], "Linux\n");
    assert_eq!(of_type(&lines, "syscall")[0]["data"], "sys\n");
    assert_eq!(of_type(&lines, "join")[0]["data"], "/bin/echo,1,2");
    let maps = of_type(&lines, "map");
    let find = |name: &str| maps.iter().find(|m| m["data"].get(name).is_some()).map(|m| m["data"][name].clone());
    assert_eq!(find("@scalar"), Some(serde_json::json!(7)));
    assert_eq!(find("@keyed"), Some(serde_json::json!({"a": 1})));
    assert_eq!(find("@tuple"), Some(serde_json::json!({"1,x": 2})));
    assert_eq!(find("@counts"), Some(serde_json::json!({"3": 1})));
    assert_eq!(find("@sym"), Some(serde_json::json!("do_syscall_64")));
    // Maps at exit come in name order, with no blank lines between JSON records.
    assert!(!out.contains("\n\n"), "{out}");
}

#[test]
fn json_reports_lost_events() {
    let long = "x".repeat(150);
    let script = format!("BEGIN {{ $i = 0; while ($i < 100) {{ printf(\"%s\\n\", \"{long}\"); $i++; }} exit(); }}");
    let o = run(&["run", "-f", "json", "-e", &script], &[("BPFTRACE_PERF_RB_PAGES", "1")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    let lost = of_type(&lines, "lost_events");
    assert_eq!(lost.len(), 1, "{lines:?}");
    let n = lost[0]["data"]["events"].as_u64().unwrap_or(0);
    let printed = of_type(&lines, "printf").len() as u64;
    assert!(n > 0 && n + printed == 100, "lost {n}, printed {printed}");
}

// ---- environment variables and the config block

fn ringbuf_size(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fdinfo")).ok()?;
    dir.flatten().find_map(|e| {
        let text = std::fs::read_to_string(e.path()).ok()?;
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()));
        (field("map_type:")? == "27").then(|| field("max_entries:")?.parse().ok()).flatten()
    })
}

#[test]
fn perf_rb_pages_sizes_the_ring_buffer() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    for (env, config, pages) in [(Some("1"), None, 1u64), (Some("128"), Some("2"), 128), (None, Some("2"), 2), (None, None, 64)] {
        let script = match config {
            Some(p) => format!("config = {{ perf_rb_pages = {p} }} interval:s:10 {{ exit(); }}"),
            None => "interval:s:10 { exit(); }".to_string(),
        };
        let env: Vec<(&str, &str)> = env.map(|v| ("BPFTRACE_PERF_RB_PAGES", v)).into_iter().collect();
        let (btc, _) = start(&["run", "-e", &script], &env);
        let size = ringbuf_size(btc.id());
        signal(&btc, libc::SIGINT);
        let _ = finish(btc, Duration::from_secs(5));
        assert_eq!(size, Some((pages * 4096 * cpus).next_power_of_two()), "{env:?} {config:?}");
    }
}

#[test]
fn environment_variables_change_what_they_should() {
    // BPFTRACE_MAX_MAP_KEYS: a third key doesn't fit.
    let o = run(&["run", "-e", "BEGIN { @[1] = 1; @[2] = 2; @[3] = 3; exit(); }"], &[("BPFTRACE_MAX_MAP_KEYS", "2")]);
    assert_eq!(stdout(&o).matches("@[").count(), 2, "{}", stdout(&o));
    // BPFTRACE_MAX_PROBES and BPFTRACE_MAX_BPF_PROGS.
    let two = "interval:ms:10 { exit(); } interval:ms:20 { exit(); }";
    let o = run(&["run", "-e", two], &[("BPFTRACE_MAX_PROBES", "1")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Can't attach to 2 probes"), "{}", stderr(&o));
    let o = run(&["run", "-e", &format!("config = {{ max_probes = 1 }} {two}")], &[]);
    assert!(stderr(&o).contains("Can't attach to 2 probes"), "{}", stderr(&o));
    let o = run(&["run", "-e", &format!("config = {{ max_probes = 1 }} {two}")], &[("BPFTRACE_MAX_PROBES", "2")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["run", "-e", two], &[("BPFTRACE_MAX_BPF_PROGS", "1")]);
    assert!(stderr(&o).contains("more than 2 BPF programs"), "{}", stderr(&o));
    // BPFTRACE_STACK_MODE (and the config block, which the environment overrides).
    let script = "BEGIN { printf(\"%s\", kstack(1)); exit(); }";
    let o = run(&["run", "-e", script], &[("BPFTRACE_STACK_MODE", "perf")]);
    assert!(regex::Regex::new(r"\n\t[0-9a-f]{16} \S+\+\d+\n").expect("re").is_match(&stdout(&o)), "{}", stdout(&o));
    let o = run(&["run", "-e", &format!("config = {{ stack_mode = raw }} {script}")], &[]);
    assert!(regex::Regex::new(r"\n[0-9a-f]{16}\n").expect("re").is_match(&stdout(&o)), "{}", stdout(&o));
    let o = run(&["run", "-e", &format!("config = {{ stack_mode = raw }} {script}")], &[("BPFTRACE_STACK_MODE", "bpftrace")]);
    assert!(regex::Regex::new(r"\n        \S+\+\d+\n").expect("re").is_match(&stdout(&o)), "{}", stdout(&o));
    // BPFTRACE_MAX_CAT_BYTES.
    let o = run(&["run", "-e", "BEGIN { cat(\"/proc/sys/kernel/ostype\"); exit(); }"], &[("BPFTRACE_MAX_CAT_BYTES", "3")]);
    assert!(stdout(&o).starts_with("Attaching 1 probe...\nLin\n"), "{}", stdout(&o));
    // BPFTRACE_VMLINUX: kernel symbols come from that file (none from a file that has none).
    let script = "BEGIN { printf(\"%s\\n\", ksym(kaddr(\"do_syscall_64\"))); exit(); }";
    let o = run(&["run", "-e", script], &[]);
    assert!(stdout(&o).contains("\ndo_syscall_64\n"), "{}", stdout(&o));
    let o = run(&["run", "-e", script], &[("BPFTRACE_VMLINUX", "/dev/null")]);
    assert!(regex::Regex::new(r"\n0xffff[0-9a-f]+\n").expect("re").is_match(&stdout(&o)), "{}", stdout(&o));
    // A bad value is a one-line error.
    let o = run(&["run", "-e", "BEGIN { exit(); }"], &[("BPFTRACE_CACHE_USER_SYMBOLS", "SOMETIMES")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

// ---- the command line

#[test]
fn bad_flags_print_an_error_and_the_usage() {
    for args in [&["run", "-Z"][..], &["run", "-B", "sometimes", "-e", "BEGIN{}"], &["run", "-f", "xml", "-e", "BEGIN{}"], &["run"]] {
        let o = run(args, &[]);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(err.starts_with("ERROR: ") && err.lines().nth(1) == Some("USAGE:"), "{args:?}: {err}");
    }
    let o = run(&["run", "-h"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("USAGE:\n    btc run [options] filename"), "{}", stdout(&o));
    // --info goes to stderr in bpftrace's sections; every kernel with BPF has these map types.
    let o = run(&["run", "--info"], &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("\nKernel helpers\n"), "{}", stderr(&o));
    assert!(stderr(&o).contains("  hash: yes\n  percpu hash: yes\n  array: yes\n"), "{}", stderr(&o));
    let o = run(&["run", "-l", "tracepoint:syscalls:sys_enter_getpp*"], &[]);
    assert_eq!(stdout(&o), "tracepoint:syscalls:sys_enter_getppid\n");
}

#[test]
fn a_symlink_named_bpftrace_is_bpftrace() {
    let link = tmp("bin/bpftrace");
    std::fs::create_dir_all(link.parent().expect("dir")).expect("mkdir");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(BTC, &link).expect("symlink");
    let o = Command::new(&link).args(["-e", "BEGIN { printf(\"hi\\n\"); exit(); }"]).output().expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Attaching 1 probe...\nhi\n\n\n");
    let o = Command::new(&link).arg("--version").output().expect("run");
    assert!(stdout(&o).starts_with("bpftrace v0.20"), "{}", stdout(&o));
    let o = Command::new(&link).arg("-h").output().expect("run");
    assert!(stdout(&o).starts_with("USAGE:\n    bpftrace [options] filename"), "{}", stdout(&o));
    // A script file with positional parameters, and -q.
    let script = tmp("args.bt");
    std::fs::write(&script, "BEGIN { printf(\"%d %s %d\\n\", $1, str($2), $#); exit(); }").expect("write");
    let o = Command::new(&link).args(["-q", script.to_str().expect("path"), "41", "x"]).output().expect("run");
    assert_eq!(stdout(&o), "41 x 2\n\n\n");
}
