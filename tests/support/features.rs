//! What the running kernel offers, found out without asking btc: the requirements a test case
//! can name (`REQUIRES` in tests/suites/*.txt, `// Requires:` in tools/*.bt). Shared by the test
//! targets through `#[path = "support/features.rs"] mod features;`.
//!
//! | requirement | holds when |
//! | --- | --- |
//! | `kprobes` | the kernel can create kprobes: it has the kprobe PMU (`/sys/bus/event_source/devices/kprobe`) or tracefs's `kprobe_events` |
//! | `fentry` | a fentry program (BPF_PROG_TYPE_TRACING on `vfs_read`, found in vmlinux's BTF) loads |
//! | `hardware EVENT` | a sampling hardware perf event (`cpu-cycles`, `cache-misses`, ...) opens on CPU 0 |
//! | `tracepoint CAT:NAME [FIELD]` | tracefs has the tracepoint (and its format has the field) |
//! | `cgroup2` | a cgroup2 hierarchy is mounted |
//!
//! `!REQUIREMENT` holds when REQUIREMENT doesn't. An unknown name is an error, never a skip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

// Its unit tests run with btc-conformance's; here only its functions are used.
#[allow(unused)]
#[path = "../conformance/src/bpf.rs"]
mod bpf;

/// Whether `spec` (`[!]NAME [ARG...]`) holds on this machine.
pub fn holds(spec: &str) -> Result<bool, String> {
    let spec = spec.trim();
    let (negated, spec) = match spec.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, spec),
    };
    let words: Vec<&str> = spec.split_whitespace().collect();
    let has = match words.as_slice() {
        ["kprobes"] => kprobes(),
        ["fentry"] => bpf::fentry_loads(),
        ["hardware", event] => hardware(event)?,
        ["tracepoint", tp] => tracepoint(tp, None)?,
        ["tracepoint", tp, field] => tracepoint(tp, Some(field))?,
        ["cgroup2"] => cgroup2_mount().is_some(),
        _ => {
            return Err(format!(
                "unknown requirement {spec:?} (known: kprobes, fentry, hardware EVENT, tracepoint CAT:NAME [FIELD], cgroup2)"
            ))
        }
    };
    Ok(has != negated)
}

/// tracefs, where the kernel mounts it.
pub fn tracefs() -> Option<PathBuf> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("events").is_dir())
}

fn kprobes() -> bool {
    Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || tracefs().is_some_and(|t| t.join("kprobe_events").exists())
}

/// A tracepoint's directory in tracefs, and optionally a field of its format.
fn tracepoint(tp: &str, field: Option<&str>) -> Result<bool, String> {
    let (cat, name) = tp.split_once(':').ok_or_else(|| format!("tracepoint {tp:?}: expected CATEGORY:NAME"))?;
    let Some(dir) = tracefs().map(|t| t.join("events").join(cat).join(name)) else { return Ok(false) };
    let Some(field) = field else { return Ok(dir.is_dir()) };
    let format = std::fs::read_to_string(dir.join("format")).unwrap_or_default();
    // `field:TYPE NAME;` or `field:TYPE NAME[N];`
    Ok(format.lines().filter_map(|l| l.trim().strip_prefix("field:")).any(|decl| {
        let decl = decl.split(';').next().unwrap_or_default();
        let last = decl.rsplit([' ', '*']).next().unwrap_or_default();
        last.split('[').next() == Some(field)
    }))
}

/// The first cgroup2 mount of /proc/self/mounts.
pub fn cgroup2_mount() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, dir, "cgroup2", ..] => Some(dir.to_string()),
        _ => None,
    })
}

/// The perf_event_attr config of a generic hardware event (PERF_COUNT_HW_*).
fn hardware_config(event: &str) -> Option<u64> {
    Some(match event {
        "cpu-cycles" | "cycles" => 0,
        "instructions" => 1,
        "cache-references" => 2,
        "cache-misses" => 3,
        "branch-instructions" | "branches" => 4,
        "branch-misses" => 5,
        "bus-cycles" => 6,
        "frontend-stalls" => 7,
        "backend-stalls" => 8,
        "ref-cycles" => 9,
        _ => return None,
    })
}

/// Whether a sampling hardware event opens for every process on CPU 0.
fn hardware(event: &str) -> Result<bool, String> {
    let config = hardware_config(event).ok_or_else(|| format!("unknown hardware event {event:?}"))?;
    // struct perf_event_attr up to its first 64 bytes (PERF_ATTR_SIZE_VER0): type, size,
    // config, sample_period.
    let mut attr = [0u8; 64];
    attr[0..4].copy_from_slice(&0u32.to_ne_bytes()); // PERF_TYPE_HARDWARE
    attr[4..8].copy_from_slice(&64u32.to_ne_bytes());
    attr[8..16].copy_from_slice(&config.to_ne_bytes());
    attr[16..24].copy_from_slice(&1_000_000u64.to_ne_bytes());
    // SAFETY: attr outlives the call and the kernel reads at most its 64 bytes.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), -1i32, 0i32, -1i32, 0u64) };
    if fd < 0 {
        return Ok(false);
    }
    // SAFETY: the descriptor was just opened here.
    unsafe { libc::close(fd as i32) };
    Ok(true)
}
