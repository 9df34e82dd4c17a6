//! `--info` (what this kernel and btc support) and `-l` (listing probes).

use crate::Failure;

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
  BEGIN, END, interval, profile, tracepoint (other types: see README)
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

/// Matches `text` against a bpftrace wildcard pattern (`*` any text, `?` one character).
pub fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&pattern[1..], text) || (!text.is_empty() && wildcard(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => wildcard(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// `-l [SEARCH]`: the probes btc can attach that match SEARCH (all without one). A search
/// without a `:` matches anywhere in the name, as bpftrace's does.
pub fn list(search: Option<&str>) -> Result<String, Failure> {
    let pattern = match search {
        None => "*".to_string(),
        Some(s) if s.contains(':') => s.to_string(),
        Some(s) => format!("*{s}*"),
    };
    let mut names = vec!["BEGIN".to_string(), "END".to_string()];
    let tps = btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())?;
    names.extend(tps.into_iter().map(|(c, n)| format!("tracepoint:{c}:{n}")));
    let mut out = String::new();
    for n in names.iter().filter(|n| wildcard(pattern.as_bytes(), n.as_bytes())) {
        out.push_str(n);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"tracepoint:syscalls:*", b"tracepoint:syscalls:sys_enter_read"));
        assert!(wildcard(b"*sleep*", b"tracepoint:syscalls:sys_enter_nanosleep"));
        assert!(!wildcard(b"*sleep", b"tracepoint:syscalls:sys_enter_nanosleep_x"));
        assert!(wildcard(b"a?c", b"abc"));
    }
}
