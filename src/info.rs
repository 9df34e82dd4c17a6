//! `--info`: what this kernel and btc support.

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The `--info` report.
pub fn info() -> String {
    let tracefs = btc_runtime::tracefs::root();
    let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
    let kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists();
    let uprobes = std::path::Path::new("/sys/bus/event_source/devices/uprobe").exists();
    let aslr = std::fs::read_to_string("/proc/sys/kernel/randomize_va_space").map_or(true, |s| s.trim() != "0");
    format!(
        "System
  OS: Linux {release}
  Arch: {arch}

Build
  version: btc {version}
  LLVM: 19
  libbpf: libbpf-rs 0.27
  symbolizer: blazesym 0.2
  bpftrace language: 0.20

Kernel
  tracefs: {tracefs}
  btf (/sys/kernel/btf/vmlinux): {btf}
  kprobes: {kprobes}
  uprobes: {uprobes}
  ASLR: {aslr}

Probe types btc compiles
  BEGIN, END, interval, profile, software, hardware, tracepoint, rawtracepoint, kprobe,
  kretprobe, kfunc, kretfunc, uprobe, uretprobe, usdt, watchpoint, iter
",
        release = kernel_release(),
        arch = std::env::consts::ARCH,
        version = env!("CARGO_PKG_VERSION"),
        tracefs = match tracefs {
            Ok(p) => p.display().to_string(),
            Err(e) => format!("unavailable ({e})"),
        },
        btf = yes(btf),
        kprobes = yes(kprobes),
        uprobes = yes(uprobes),
        aslr = yes(aslr),
    )
}
