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
    let info = btc(&["info", obj.to_str().expect("utf-8")], &[]);
    assert!(
        text(&info.stdout).contains(", resolved against the target's BTF (struct task_struct.pid, struct task_struct.real_parent, struct task_struct.tgid)\n"),
        "{}",
        text(&info.stdout)
    );

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

/// `obj` with the first `"name":"FIELD","offset":N` of its metadata given another offset of the
/// same number of digits (so the ELF file keeps its layout): a tracepoint format of another
/// kernel, as far as the object knows. Returns the new object's path, the old and the new
/// offset.
fn move_field(obj: &Path, field: &str) -> (PathBuf, u32, u32) {
    let mut bytes = std::fs::read(obj).expect("read object");
    let key = format!("\"name\":\"{field}\",\"offset\":");
    let at = bytes.windows(key.len()).position(|w| w == key.as_bytes()).expect("the field is recorded") + key.len();
    let digits = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    let old: u32 = text(&bytes[at..at + digits]).parse().expect("an offset");
    let new = if (old + 8).to_string().len() == digits { old + 8 } else { old - 8 };
    bytes[at..at + digits].copy_from_slice(new.to_string().as_bytes());
    let moved = obj.with_extension("moved.o");
    std::fs::write(&moved, bytes).expect("write object");
    (moved, old, new)
}

#[test]
fn tracepoint_fields_are_checked_against_the_target_format() {
    let d = dir("tracepoint");
    let script = "tracepoint:syscalls:sys_enter_openat /pid == cpid/ { printf(\"%s\\n\", str(args.filename)); }";
    let obj = d.join("open.o");
    let out = btc(&["compile", "-c", "true", "-o", obj.to_str().expect("utf-8"), "-e", script], &[]);
    assert!(out.status.success(), "compile failed: {}", text(&out.stderr));

    // The format it was compiled against: it runs, and reads the right field.
    let out = btc(&["run", "-c", "cat /etc/hostname", obj.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "run failed: {}", text(&out.stderr));
    assert!(text(&out.stdout).lines().any(|l| l == "/etc/hostname"), "{}", text(&out.stdout));

    // Another kernel's layout: refused before anything is loaded, in one line.
    let (moved, here, there) = move_field(&obj, "filename");
    let out = btc(&["run", "--dry-run", "-c", "true", moved.to_str().expect("utf-8")], &[]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!("ERROR: tracepoint syscalls:sys_enter_openat: field filename is at offset {here} (size 8) on this kernel, not at offset {there} (size 8) as where the object was compiled: compile the script again on this system\n")
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn kaddr_and_cgroupid_are_looked_up_at_load() {
    let d = dir("kaddr");
    // cgroupid() is the inode number of the directory (the cgroup2 root where there is one; any
    // directory will do for the lookup).
    let obj = compile(&d, "kaddr", "BEGIN { printf(\"%lx %d\\n\", kaddr(\"vfs_read\"), cgroupid(\"/\")); exit() }");
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").expect("read kallsyms");
    let addr = kallsyms.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"vfs_read")).then(|| u64::from_str_radix(f[0], 16).expect("hex"))
    });
    let addr = addr.expect("vfs_read in /proc/kallsyms");
    // The object holds the question, not this boot's answer.
    let bytes = std::fs::read(&obj).expect("read object");
    assert!(!bytes.windows(8).any(|w| w == addr.to_le_bytes()), "the object holds this boot's address of vfs_read");
    let info = btc(&["info", obj.to_str().expect("utf-8")], &[]);
    assert!(text(&info.stdout).contains("  looked up at load: kaddr(\"vfs_read\"), cgroupid(\"/\")\n"), "{}", text(&info.stdout));
    let out = btc(&["run", "-q", obj.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "run failed: {}", text(&out.stderr));
    use std::os::unix::fs::MetadataExt;
    let root_inode = std::fs::metadata("/").expect("stat /").ino();
    assert_eq!(text(&out.stdout).lines().next(), Some(format!("{addr:x} {root_inode}").as_str()));
}

#[test]
fn a_changed_binary_is_refused() {
    let d = dir("binary");
    let src = d.join("g.c");
    std::fs::write(&src, "int g = 42;\nint work(int x) { return x + g; }\nint main(int argc, char **argv) { return work(argc) == 0; }\n").expect("write source");
    let bin = d.join("g");
    let cc = Command::new("gcc").args(["-O0", "-g", "-Wl,--build-id=none", "-o"]).arg(&bin).arg(&src).status().expect("run gcc");
    assert!(cc.success());
    let bin = bin.to_str().expect("utf-8");
    let obj = compile(&d, "uaddr", &format!("uprobe:{bin}:work {{ printf(\"%d\\n\", *uaddr(\"g\")); }}"));
    let obj = obj.to_str().expect("utf-8");
    let out = btc(&["run", "--dry-run", obj], &[]);
    assert!(out.status.success(), "dry run failed: {}", text(&out.stderr));
    // Another build of the program.
    let mut bytes = std::fs::read(bin).expect("read binary");
    bytes.push(0);
    std::fs::write(bin, bytes).expect("write binary");
    let out = btc(&["run", "--dry-run", obj], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("ERROR: {bin} has changed since the object was compiled, and the object holds addresses in it (uaddr(\"g\")): it was size ")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn kprobe_offsets_need_the_same_kernel_build() {
    let d = dir("kprobe");
    let obj = d.join("off.o");
    let out = btc(&["compile", "-o", obj.to_str().expect("utf-8"), "-e", "kprobe:vfs_read+0 { exit() } kprobe:vfs_read { exit() }"], &[]);
    assert!(out.status.success(), "compile failed: {}", text(&out.stderr));
    // No offset into a function: nothing ties the object to this build.
    let info = btc(&["info", obj.to_str().expect("utf-8")], &[]);
    assert!(text(&info.stdout).contains("  kernel build, checked at load: none\n"), "{}", text(&info.stdout));

    // An offset into the function (its first instruction's length, so it is an instruction
    // boundary whatever the build): the build ID is recorded, when the kernel has one.
    let Ok(notes) = std::fs::read("/sys/kernel/notes") else { return };
    if notes.is_empty() {
        return;
    }
    let script = "kprobe:vfs_read+4 { exit() }";
    let out = btc(&["compile", "-o", obj.to_str().expect("utf-8"), "-e", script], &[]);
    if !out.status.success() {
        // vfs_read's first instruction is not 4 bytes long on this build: nothing to check.
        assert!(text(&out.stderr).contains("instruction"), "{}", text(&out.stderr));
        return;
    }
    let mut bytes = std::fs::read(&obj).expect("read object");
    let key = b"\"kernel_build_id\":\"";
    let at = bytes.windows(key.len()).position(|w| w == key).expect("the build ID is recorded") + key.len();
    let len = bytes[at..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
    assert!(len > 0);
    // Another build: the same length, another ID.
    for b in &mut bytes[at..at + len] {
        *b = if *b == b'0' { b'1' } else { b'0' };
    }
    let other = d.join("other.o");
    std::fs::write(&other, &bytes).expect("write object");
    let out = btc(&["run", "--dry-run", other.to_str().expect("utf-8")], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with("ERROR: kprobe:vfs_read+4 is an offset into the machine code of the kernel the object was compiled on (build ID "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// The offset of `field` in tracepoint CAT:NAME's format file, from tracefs.
fn format_offset(cat: &str, name: &str, field: &str) -> Option<u32> {
    let text = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .find_map(|root| std::fs::read_to_string(format!("{root}/events/{cat}/{name}/format")).ok())?;
    text.lines().find_map(|l| {
        let decl = l.trim().strip_prefix("field:")?.split(';').next()?;
        if decl.split_whitespace().last()? != field {
            return None;
        }
        l.split(';').find_map(|p| p.trim().strip_prefix("offset:")?.parse().ok())
    })
}

#[test]
fn tracepoint_fields_relocate_where_btf_has_the_tracepoint() {
    let d = dir("tpcore");
    let obj = compile(&d, "switch", "tracepoint:sched:sched_switch { printf(\"%d\\n\", args.prev_pid); }");
    let here = format_offset("sched", "sched_switch", "prev_pid").expect("sched_switch's format has prev_pid");
    let info = text(&btc(&["info", obj.to_str().expect("utf-8")], &[]).stdout);
    if !info.contains("struct trace_event_raw_sched_switch.prev_pid") {
        // No such struct in this kernel's BTF: the field is checked against the format instead.
        assert!(info.contains(&format!("sched:sched_switch (prev_pid at {here} size 4)")), "{info}");
        return;
    }
    assert!(info.contains("  tracepoint fields, checked at load: none\n"), "{info}");
    // Another kernel's record: prev_pid elsewhere (aligned, inside the record).
    let there = if here == 48 { 40 } else { 48 };
    let mut w = btf::BtfWriter::new();
    let int = w.int("int", 4, true);
    w.structure("trace_event_raw_sched_switch", 64, &[("prev_pid", int, there)]);
    let btf_file = d.join("other.btf");
    std::fs::write(&btf_file, w.bytes()).expect("write BTF");
    let out = btc(&["run", "-v", "--dry-run", obj.to_str().expect("utf-8")], &[("BPFTRACE_BTF", &btf_file)]);
    assert!(out.status.success(), "dry run failed: {}", text(&out.stderr));
    let applied = applied(&text(&out.stderr));
    assert_eq!(applied["trace_event_raw_sched_switch.prev_pid"], (i64::from(here), i64::from(there)), "{}", text(&out.stderr));
}
