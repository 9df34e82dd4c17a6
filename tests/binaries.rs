//! The two binaries (see src/codegen.rs): `btc` links no LLVM and does what needs no code
//! generation itself; it hands everything else to `btc-codegen` next to it, under its own name.

use std::path::PathBuf;
use std::process::{Command, Output};

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const CODEGEN: &str = env!("CARGO_BIN_EXE_btc-codegen");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("binaries").join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run")
}

/// True when the file has symbols of LLVM's C++ namespace in it.
fn has_llvm(path: &str) -> bool {
    let bytes = std::fs::read(path).expect("read binary");
    bytes.windows(8).any(|w| w == b"_ZN4llvm")
}

#[test]
fn only_btc_codegen_links_llvm() {
    assert!(has_llvm(CODEGEN), "{CODEGEN} has no LLVM: the check below would prove nothing");
    assert!(!has_llvm(BTC), "{BTC} links LLVM; only btc-codegen may");
}

#[test]
fn btc_codegen_links_no_other_llvm_backend_than_bpf() {
    // The static initialisers of a backend run at every start even when its code is dropped;
    // see the stand-ins in src/bin/btc-codegen.rs.
    let bytes = std::fs::read(CODEGEN).expect("read btc-codegen");
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(has("_GLOBAL__sub_I_BPFISelLowering"), "no symbols to check in {CODEGEN}");
    for backend in ["AMDGPU", "Hexagon", "X86", "AArch64", "RISCV", "NVPTX"] {
        assert!(!has(&format!("_GLOBAL__sub_I_{backend}")), "{CODEGEN} links LLVM's {backend} backend");
    }
}

/// `btc` alone in the directory `dir`, without `btc-codegen` next to it.
fn lone_btc(dir: &str) -> PathBuf {
    let bin = tmp(&format!("{dir}/btc"));
    std::fs::create_dir_all(bin.parent().expect("dir")).expect("mkdir");
    let _ = std::fs::remove_file(&bin);
    // A hard link, not a copy: a file another test thread's fork still holds open for writing
    // can't be executed (ETXTBSY). /proc/self/exe names the link, so btc-codegen is looked for
    // next to it.
    std::fs::hard_link(BTC, &bin).expect("link btc");
    bin
}

#[test]
fn checking_running_objects_and_listing_need_no_codegen_binary() {
    let btc = lone_btc("alone");
    let tcplife = format!("{ROOT}/tools/tcplife.bt");
    let o = run(Command::new(&btc).args(["compile", "--check", &tcplife]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = run(Command::new(&btc).args(["compile", "--emit=ast", "-e", "BEGIN { exit(); }"]));
    assert!(o.status.success() && text(&o.stdout).contains("BEGIN"), "{}{}", text(&o.stdout), text(&o.stderr));
    let o = run(Command::new(&btc).args(["compile", "--check", "-e", "BEGIN { x }"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("stdin:1:"), "{}", text(&o.stderr));
    let o = run(Command::new(&btc).args(["list", "tracepoint:syscalls:sys_enter_getppid"]));
    assert_eq!(text(&o.stdout), "tracepoint:syscalls:sys_enter_getppid\n");
    // An object compiled by the full pair runs with `btc` alone.
    let obj = tmp("begin.o");
    let o = run(Command::new(BTC).args(["compile", "-e", "BEGIN { printf(\"%s\\n\", comm); exit(); }", "-o"]).arg(&obj));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = run(Command::new(&btc).arg("run").arg(&obj));
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), "Attaching 1 probe...\nbtc\n\n\n".to_string()), "{}", text(&o.stderr));
}

#[test]
fn generating_code_without_codegen_binary_is_one_clear_error() {
    let btc = lone_btc("without-codegen");
    for args in [&["compile", "-e", "BEGIN { exit(); }", "-o", "-"][..], &["run", "-e", "BEGIN { exit(); }"]] {
        let o = run(Command::new(&btc).args(args));
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("ERROR: can't run ") && err.contains("btc-codegen"), "{err}");
    }
}

#[test]
fn the_hand_over_keeps_the_name_btc_was_run_under() {
    let prog = "BEGIN { printf(\"%s\\n\", comm); exit(); }";
    let o = run(Command::new(BTC).args(["run", "-e", prog]));
    assert_eq!(text(&o.stdout), "Attaching 1 probe...\nbtc\n\n\n", "{}", text(&o.stderr));
    let link = tmp("bin/bpftrace");
    std::fs::create_dir_all(link.parent().expect("dir")).expect("mkdir");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(BTC, &link).expect("symlink");
    let o = run(Command::new(&link).args(["-e", prog]));
    assert_eq!(text(&o.stdout), "Attaching 1 probe...\nbpftrace\n\n\n", "{}", text(&o.stderr));
    // Errors of the script come from btc-codegen in bpftrace's words too.
    let o = run(Command::new(&link).args(["-e", "BEGIN { x }"]));
    assert!(text(&o.stderr).starts_with("stdin:1:"), "{}", text(&o.stderr));
}
