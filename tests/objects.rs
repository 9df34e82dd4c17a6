//! Compiled objects: what `btc info` shows, the one-line errors of bad objects (`btc run` and
//! `btc info`), and `make install`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BTC: &str = env!("CARGO_BIN_EXE_btc");

fn btc(args: &[&str]) -> Output {
    Command::new(BTC).args(args).output().expect("run btc")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("objects-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create test dir");
    d
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Compiles `script` (written to DIR/NAME.bt) with `flags`; returns the object's path.
fn compile(d: &Path, name: &str, script: &str, flags: &[&str]) -> PathBuf {
    let src = d.join(format!("{name}.bt"));
    let obj = d.join(format!("{name}.o"));
    std::fs::write(&src, script).expect("write script");
    let out = Command::new(BTC).arg("compile").args(flags).arg(&src).arg("-o").arg(&obj).output().expect("compile");
    assert!(out.status.success(), "{}", text(&out.stderr));
    obj
}

fn sha256(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().expect("sha256sum");
    text(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

/// The lines of section `name` of `btc info`'s output (without the title).
fn section<'a>(info: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = info.lines().skip_while(|l| !l.starts_with(name)).skip(1);
    let mut out = Vec::new();
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
        out.push(l);
    }
    out
}

const SCRIPT: &str = r#"BEGIN { printf("%s %d\n", str($1), $3); }
tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @opens[comm] = count(); @flags = hist(args.flags); }
interval:ms:100 { @ticks++; if (@ticks > $#) { system("true"); exit(); } }
"#;

#[test]
fn info_describes_an_object() {
    let d = dir("info");
    let obj = compile(&d, "opens", SCRIPT, &["--unsafe", "-c", "true"]);
    let out = btc(&["info", path(&obj)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        info.starts_with(&format!(
            "Object\n  file: {}\n  built by: btc {version}\n  object format: {}\n  script: {}\n  script sha256: {}\n\n",
            obj.display(),
            btc_bpfprog::FORMAT_VERSION,
            d.join("opens.bt").display(),
            sha256(&d.join("opens.bt"))
        )),
        "{info}"
    );
    assert_eq!(
        section(&info, "Run-time requirements"),
        [
            "  --unsafe: yes (system)",
            "  -c CMD: yes (cpid)",
            "  -c CMD or -p PID: no",
            "  positional parameters: 3",
            "  $# (parameter count): yes"
        ]
    );
    let kernel = section(&info, "Kernel features");
    assert_eq!(kernel[0], "  program types: perf_event, raw_tracepoint, tracepoint", "{info}");
    assert_eq!(kernel[1], "  map types: array, hash, percpu_array, percpu_hash, ringbuf", "{info}");
    assert!(kernel[2].starts_with("  helpers: ") && kernel[2].contains("get_current_comm"), "{info}");
    assert_eq!(kernel[3], "  kernel BTF: no");
    let probes = section(&info, "Probes (3)");
    let row = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(row(probes[0])[..3], ["BEGIN", "btc_p0", "raw_tracepoint"]);
    assert_eq!(row(probes[1])[..3], ["tracepoint:syscalls:sys_enter_openat", "btc_p1", "tracepoint"]);
    assert_eq!(row(probes[2])[..3], ["interval:ms:100", "btc_p2", "perf_event"]);
    for p in &probes {
        let insns: usize = row(p)[3].parse().expect("instruction count");
        assert!(insns > 2 && p.ends_with(" insns"), "{p}");
    }
    assert_eq!(
        section(&info, "Maps (3)").iter().map(|l| row(l)).collect::<Vec<_>>(),
        [
            ["@opens", "count", "key", "string[16]", "btc_m0", "percpu_hash"],
            ["@flags", "hist(k=0)", "key", "-", "btc_m1", "percpu_hash"],
            ["@ticks", "int64", "key", "-", "btc_m2", "hash"],
        ]
    );
}

#[test]
fn info_names_process_probes_and_tracing_programs() {
    let d = dir("process");
    let script = "watchpoint:main+arg0:4:w { printf(\"w\\n\"); }\nkfunc:vfs_read { @reads = count(); }\n";
    let obj = compile(&d, "watch", script, &["-c", "true"]);
    let info = text(&btc(&["info", path(&obj)]).stdout);
    let req = section(&info, "Run-time requirements");
    assert_eq!(req[2], "  -c CMD or -p PID: yes (watchpoint:main+arg0:4:w)", "{info}");
    assert!(section(&info, "Kernel features")[3].starts_with("  kernel BTF: yes ("), "{info}");
    let probes = section(&info, "Probes (2)");
    assert!(probes[2].contains("kfunc:vfs_read") && probes[2].contains(" tracing "), "{info}");
    assert!(probes[1].contains("(its setter, a uprobe on main)") && probes[1].contains("btc_p0_set"), "{info}");
}

/// Runs `btc run FILE` and `btc info FILE`: both fail with one line that names the file and
/// contains `what`, and nothing is started (the -c command would create a file).
fn refused(file: &Path, what: &str) {
    let marker = file.with_extension("started");
    let cmd = format!("touch {}", marker.display());
    for args in [vec!["run", "-c", cmd.as_str(), path(file)], vec!["info", path(file)]] {
        let out = btc(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(&format!("ERROR: {}: ", file.display())) && err.contains(what), "{args:?}: {err}");
    }
    assert!(!marker.exists(), "the -c command ran for {}", file.display());
}

/// `bytes` with `from` replaced by `to` (of the same length) once.
fn patched(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let i = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap_or_else(|| panic!("no {from}"));
    let mut out = bytes.to_vec();
    out[i..i + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn bad_objects_are_one_line_errors() {
    let d = dir("bad");
    let obj = compile(&d, "good", "BEGIN { @x[1] = 2; printf(\"hi\\n\"); exit(); }", &[]);
    let good = std::fs::read(&obj).expect("object");
    let bad = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    refused(&bad("text.o", b"BEGIN { exit(); }\n"), "not a BPF object: it is not an ELF file");
    refused(&bad("empty.o", b""), "not a BPF object: it is not an ELF file");
    for len in [4, 40, 64, 200, good.len() / 2, good.len() - 1] {
        refused(&bad(&format!("cut{len}.o"), &good[..len]), "not a BPF object: ");
    }
    let x86 = std::fs::read("/proc/self/exe").expect("an x86 binary");
    refused(&bad("native.o", &x86), "it is an ELF file for x86-64 (machine 62), not for BPF");
    let meta = format!("\"version\":{}", btc_bpfprog::FORMAT_VERSION);
    refused(&bad("newer.o", &patched(&good, &meta, "\"version\":9")), "the object needs a newer btc: it was made by btc");
    refused(&bad("older.o", &patched(&good, &meta, "\"version\":1")), "compile the script again with this btc");
    refused(&bad("foreign.o", &patched(&good, ".btc.meta", ".xyz.meta")), "not a btc object: it has no .btc.meta section");
    refused(&bad("json.o", &patched(&good, "\"probes\"", "\"probez\"")), "malformed btc metadata: missing field `probes`");
    refused(&bad("strlen.o", &patched(&good, "\"strlen\":64", "\"strlen\":[]")), "malformed btc metadata");
    refused(&bad("map.o", &patched(&good, "\"bpf_name\":\"btc_m0\"", "\"bpf_name\":\"btc_m9\"")), "invalid btc object: it has no map btc_m9 for @x");
    refused(&bad("prog.o", &patched(&good, "\"prog\":\"btc_p0\"", "\"prog\":\"btc_p9\"")), "invalid btc object: it has no program btc_p9 for probe BEGIN");
    refused(&bad("key.o", &patched(&good, "\"bytes\":8,\"signed\":true},\"scalar\"", "\"bytes\":4,\"signed\":true},\"scalar\"")), "map @x (btc_m0) is a hash of 8-byte keys");
    refused(&bad("int.o", &patched(&good, "\"bytes\":8,\"signed\":true},\"scalar\"", "\"bytes\":3,\"signed\":true},\"scalar\"")), "invalid btc metadata: map @x: an integer of 3 bytes");
    // The object itself still runs.
    let out = btc(&["run", path(&obj)]);
    assert!(out.status.success() && text(&out.stdout).contains("hi\n"), "{}", text(&out.stderr));
}

#[test]
fn a_parameter_area_must_be_where_the_metadata_says() {
    let d = dir("params");
    let obj = compile(&d, "p", "BEGIN { printf(\"%d %s\\n\", $1, str($2)); exit(); }", &[]);
    let good = std::fs::read(&obj).expect("object");
    let bad = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    refused(&bad("symbol.o", &patched(&good, "\"symbol\":\"__btc_params\"", "\"symbol\":\"__btc_paramz\"")), "has no symbol __btc_paramz");
    refused(&bad("size.o", &patched(&good, "\"size\":72,", "\"size\":80,")), "__btc_params is smaller than 80 bytes");
    refused(&bad("slot.o", &patched(&good, "\"offset\":8,\"value\"", "\"offset\":9,\"value\"")), "outside its 72 bytes");
    let out = btc(&["run", "-q", path(&obj), "7", "seven"]);
    assert!(out.status.success() && text(&out.stdout).starts_with("7 seven\n"), "{}", text(&out.stderr));
}

#[test]
fn make_install_installs_binaries_manuals_and_completions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let d = dir("install");
    let prefix = d.join("prefix");
    let out = Command::new("make")
        .current_dir(root)
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("DOCS={}", d.join("docs").display()))
        .output()
        .expect("run make");
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    for f in [
        "bin/btc",
        "bin/btc-codegen",
        "share/man/man1/btc.1",
        "share/man/man1/btc-run.1",
        "share/man/man1/btc-compile.1",
        "share/man/man1/btc-info.1",
        "share/man/man1/btc-list.1",
        "share/bash-completion/completions/btc",
        "share/zsh/site-functions/_btc",
        "share/fish/vendor_completions.d/btc.fish",
    ] {
        let p = prefix.join(f);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{} is missing or empty", p.display());
    }
    let read = |f: &str| std::fs::read_to_string(prefix.join(f)).unwrap_or_default();
    assert!(read("share/man/man1/btc.1").contains("btc\\-info(1)"), "the manual lists the subcommands");
    assert!(read("share/man/man1/btc-run.1").contains("\\-\\-unsafe"), "btc-run(1) lists bpftrace's options");
    for f in ["share/bash-completion/completions/btc", "share/zsh/site-functions/_btc", "share/fish/vendor_completions.d/btc.fish"] {
        let c = read(f);
        assert!(c.contains("compile") && c.contains("info"), "{f}: {c}");
    }
    // The installed btc compiles (through the btc-codegen beside it) and runs a script.
    let out = Command::new(prefix.join("bin/btc"))
        .args(["run", "-e", "BEGIN { printf(\"installed %d\\n\", 1 + 1); exit(); }"])
        .output()
        .expect("run the installed btc");
    // (The attach notice is left out: where it goes is the run's business.)
    assert!(out.status.success() && text(&out.stdout).contains("installed 2\n"), "{}", text(&out.stderr));
}
