//! Objects that run on other kernels: CO-RE relocations resolved against the target's BTF
//! (BPFTRACE_BTF standing in for another kernel, with a test-made BTF file whose structs have
//! other field offsets), and the checks made at load of what an object can't carry over.

#[path = "support/btf.rs"]
mod btf;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BTC: &str = env!("CARGO_BIN_EXE_btc");

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("portability-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create test dir");
    d
}

fn btc(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(BTC);
    cmd.args(args).env_remove("BPFTRACE_BTF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run btc")
}

/// Compiles `script` to DIR/NAME.o against the running kernel.
fn compile(d: &Path, name: &str, script: &str) -> PathBuf {
    let obj = d.join(format!("{name}.o"));
    let out = btc(&["compile", "-o", obj.to_str().expect("utf-8"), "-e", script], &[]);
    assert!(out.status.success(), "compile failed: {}", text(&out.stderr));
    obj
}

/// The running kernel's offsets of `fields` of struct task_struct, as btc's offsetof sees them
/// in /sys/kernel/btf/vmlinux.
fn kernel_offsets(fields: &[&str]) -> Vec<u32> {
    let args: Vec<String> = fields.iter().map(|f| format!("offsetof(struct task_struct, {f})")).collect();
    let script = format!("BEGIN {{ printf(\"{}\\n\", {}); exit() }}", vec!["%d"; fields.len()].join(" "), args.join(", "));
    let out = btc(&["run", "-q", "-e", &script], &[]);
    assert!(out.status.success(), "offsetof failed: {}", text(&out.stderr));
    text(&out.stdout).split_whitespace().map(|w| w.parse().expect("an offset")).collect()
}

/// `btc run -v --dry-run`'s relocation lines: (program, insn, target) → (object value, loaded
/// value).
fn applied(stderr: &str) -> HashMap<String, (i64, i64)> {
    stderr
        .lines()
        .filter(|l| l.contains(" insn ") && l.contains(" -> "))
        .filter_map(|l| {
            let (head, values) = l.trim().rsplit_once(": ")?;
            let (before, after) = values.split_once(" -> ")?;
            let target = head.rsplit(' ').next()?.to_string();
            Some((target, (before.parse().ok()?, after.parse().ok()?)))
        })
        .collect()
}

#[test]
fn field_offsets_are_the_target_kernels() {
    let d = dir("core");
    let fields = ["pid", "tgid", "real_parent"];
    let script = "tracepoint:syscalls:sys_enter_getpid { $t = curtask; printf(\"%d %d %d\\n\", $t->pid, $t->tgid, $t->real_parent->pid) }";
    let obj = compile(&d, "fields", script);
    let kernel = kernel_offsets(&fields);

    // Another kernel: the same fields elsewhere in a struct of another size, none where the
    // running kernel has it.
    let mut custom = Vec::new();
    let mut next = 8u32;
    for k in &kernel {
        while next == *k || kernel.contains(&next) {
            next += 8;
        }
        custom.push(next);
        next += 8;
    }
    let mut w = btf::BtfWriter::new();
    let int = w.int("int", 4, true);
    // The struct will be type 3: the pointer refers to it before it is added.
    let ptr = w.ptr(int + 2);
    let task = w.structure("task_struct", next + 8, &[("pid", int, custom[0]), ("tgid", int, custom[1]), ("real_parent", ptr, custom[2])]);
    assert_eq!(task, int + 2);
    let btf_file = d.join("other.btf");
    std::fs::write(&btf_file, w.bytes()).expect("write BTF");

    let run = |env: &[(&str, &Path)]| {
        let out = btc(&["run", "-v", "--dry-run", obj.to_str().expect("utf-8")], env);
        assert!(out.status.success(), "dry run failed: {}", text(&out.stderr));
        applied(&text(&out.stderr))
    };
    let here = run(&[]);
    let there = run(&[("BPFTRACE_BTF", &btf_file)]);
    for (i, f) in fields.iter().enumerate() {
        let target = format!("task_struct.{f}");
        let (before, after) = there[&target];
        assert_eq!(before, i64::from(kernel[i]), "{f}: the object holds the compiling kernel's offset");
        assert_eq!(after, i64::from(custom[i]), "{f}: loaded with the target BTF's offset");
        assert_ne!(after, i64::from(kernel[i]), "{f}");
        assert_eq!(here[&target], (i64::from(kernel[i]), i64::from(kernel[i])), "{f}: unchanged on the compiling kernel");
    }
}
