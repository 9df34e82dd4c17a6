//! Command-line behaviour: objects, IR, diagnostics, signals and cleanup.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BTC: &str = env!("CARGO_BIN_EXE_btc");

fn btc(args: &[&str]) -> std::process::Output {
    Command::new(BTC).args(args).output().expect("run btc")
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

const SCRIPT: &str = "BEGIN { @n = 1; printf(\"start\\n\"); }\n\
                      interval:ms:100 { @ticks = count(); @i++; if (@i == 3) { exit(); } }\n\
                      END { printf(\"end\\n\"); }\n";

#[test]
fn compile_writes_a_self_contained_bpf_object() {
    let src = tmp("obj.bt");
    let obj = tmp("obj.o");
    std::fs::write(&src, SCRIPT).expect("write script");
    let out = btc(&["compile", src.to_str().expect("path"), "-o", obj.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&obj).expect("object written");
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 1, "ET_REL");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 247, "EM_BPF");
    let meta = btc_bpfprog::read_metadata(&bytes).expect("btc metadata");
    assert_eq!(meta.probes.len(), 3);

    // Running the object and the script gives the same output; the object needs nothing else.
    let moved = tmp("moved-elsewhere.o");
    std::fs::rename(&obj, &moved).expect("move object");
    std::fs::remove_file(&src).expect("remove script");
    let from_obj = btc(&["run", moved.to_str().expect("path")]);
    let from_src = btc(&["run", "-e", SCRIPT]);
    assert!(from_obj.status.success());
    assert_eq!(String::from_utf8_lossy(&from_obj.stdout), String::from_utf8_lossy(&from_src.stdout));
    assert_eq!(
        String::from_utf8_lossy(&from_obj.stdout),
        "Attaching 3 probes...\nstart\nend\n\n\n@i: 3\n@n: 1\n@ticks: 3\n"
    );
}

#[test]
fn llvm_ir_is_accepted_by_llvm_as() {
    let out = btc(&["compile", "--emit=llvm-ir", "-e", SCRIPT]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ir = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(ir.contains("define"), "{ir}");
    let path = tmp("prog.ll");
    std::fs::write(&path, &ir).expect("write IR");
    let status = Command::new("llvm-as-19")
        .arg(&path)
        .arg("-o")
        .arg(tmp("prog.bc"))
        .status()
        .expect("llvm-as-19 is needed for this test");
    assert!(status.success(), "llvm-as-19 rejected the IR");
}

#[test]
fn asm_goes_to_stdout() {
    let out = btc(&["compile", "--emit=asm", "-e", "BEGIN { exit(); }", "-o", "-"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("btc_p0:"));
}

#[test]
fn syntax_error_has_location_and_caret() {
    let out = btc(&["run", "-e", "BEGIN { printf(\"hi\\n\") "]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "stdin:1:24: error: syntax error, unexpected end of file, expecting '}'\n\
         BEGIN { printf(\"hi\\n\") \n                       ^\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn syntax_error_in_a_file_names_the_file() {
    let src = tmp("bad.bt");
    std::fs::write(&src, "BEGIN {\n  @x = 1 +;\n}\n").expect("write");
    let out = btc(&["compile", src.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err,
        format!("{}:2:11: error: syntax error, unexpected ';', expecting expression\n  @x = 1 +;\n          ^\n", src.display())
    );
}

#[test]
fn missing_tracepoint_is_named() {
    let out = btc(&["run", "-e", "tracepoint:syscalls:sys_enter_nosuch { }"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("stdin:1:1: error: tracepoint not found: syscalls:sys_enter_nosuch\n"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let out = btc(&["run", "/nonexistent/x.bt"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR: can't read /nonexistent/x.bt: No such file or directory (os error 2)\n"
    );
    let junk = tmp("junk.o");
    std::fs::write(&junk, b"\x7fELF not really").expect("write");
    let out = btc(&["run", junk.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("ERROR: ") && err.lines().count() == 1, "{err}");
    let out = Command::new(BTC).args(["run", "-e", "BEGIN{}"]).env("BPFTRACE_STRLEN", "abc").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR: invalid value for BPFTRACE_STRLEN: 'abc' (expected a positive integer)\n"
    );
}

#[test]
fn version_and_help() {
    let out = btc(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("btc "));
    let out = btc(&["help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(help.contains("run") && help.contains("compile"), "{help}");
}

/// The BPF program and map ids a process holds, from its fdinfo.
fn held_bpf_ids(pid: u32) -> (Vec<u32>, Vec<u32>) {
    let (mut progs, mut maps) = (Vec::new(), Vec::new());
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return (progs, maps) };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("prog_id:") {
                progs.extend(v.trim().parse::<u32>());
            } else if let Some(v) = line.strip_prefix("map_id:") {
                maps.extend(v.trim().parse::<u32>());
            }
        }
    }
    (progs, maps)
}

/// Which of these program and map ids still exist in the kernel.
fn still_loaded(progs: &[u32], maps: &[u32]) -> Vec<String> {
    let p = libbpf_rs::query::ProgInfoIter::default()
        .filter(|i| progs.contains(&i.id))
        .map(|i| format!("prog {} {}", i.id, i.name.to_string_lossy()));
    let m = libbpf_rs::query::MapInfoIter::default()
        .filter(|i| maps.contains(&i.id))
        .map(|i| format!("map {} {}", i.id, i.name.to_string_lossy()));
    p.chain(m).collect()
}

fn wait_until_released(progs: &[u32], maps: &[u32]) -> Vec<String> {
    // Maps are freed an RCU grace period after their last user.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = still_loaded(progs, maps);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn interrupt_after_attach(signal: i32) {
    let mut child = Command::new(BTC)
        .args(["run", "-e", "BEGIN { @started = 1; } interval:ms:50 { @ticks = count(); } END { printf(\"end\\n\"); }"])
        .env("__BPFTRACE_NOTIFY_PROBES_ATTACHED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start btc");
    // The attach notice is on stderr, as bpftrace prints it; stdout is read once btc ended.
    let stderr = child.stderr.take().expect("stderr");
    let mut err_lines = BufReader::new(stderr).lines();
    for line in err_lines.by_ref() {
        if line.expect("read") == "__BPFTRACE_NOTIFY_PROBES_ATTACHED" {
            break;
        }
    }
    std::thread::spawn(move || for _ in err_lines.map_while(Result::ok) {});
    let stdout = child.stdout.take().expect("stdout");
    let lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let (progs, maps) = held_bpf_ids(child.id());
    assert!(progs.len() >= 3 && !maps.is_empty(), "btc should hold its programs and maps while it runs");
    // The kernel accepted the object's BTF (it is dropped silently when invalid).
    for info in libbpf_rs::query::ProgInfoIter::default().filter(|i| progs.contains(&i.id)) {
        assert!(info.btf_id != 0, "program {} was loaded without BTF", info.name.to_string_lossy());
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, signal) };
    seen.extend(lines.map(|l| l.expect("read")));
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "output: {seen:?}");
    assert_eq!(seen[0], "Attaching 3 probes...");
    assert!(seen.contains(&"end".to_string()), "{seen:?}");
    assert!(seen.contains(&"@started: 1".to_string()), "{seen:?}");
    assert!(seen.iter().any(|l| l.starts_with("@ticks: ")), "{seen:?}");
    assert_eq!(wait_until_released(&progs, &maps), Vec::<String>::new(), "btc left kernel objects behind");
}

#[test]
fn sigint_prints_maps_and_leaves_nothing_behind() {
    interrupt_after_attach(libc::SIGINT);
}

#[test]
fn sigterm_prints_maps_and_leaves_nothing_behind() {
    interrupt_after_attach(libc::SIGTERM);
}

#[test]
fn emit_stats_reports_every_program() {
    let out = btc(&["compile", "--emit=stats", "-e", "BEGIN { printf(\"%s\\n\", comm); } interval:s:1 { @c = count(); exit(); }"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("PROBE") && lines[0].contains("VERIFIED") && lines[0].contains("STACK"));
    for (line, probe) in lines[1..].iter().zip(["BEGIN", "interval:s:1"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], probe);
        let nums: Vec<u64> = cols[1..].iter().map(|c| c.parse().expect("a number")).collect();
        assert!(nums.iter().all(|&n| n > 0), "{line}");
        assert!(nums[2] <= 512, "stack within the BPF limit: {line}");
    }
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
