//! What this machine can do, found out once per run, independently of the tool under test
//! (except the features `REQUIRES_FEATURE` names, which upstream's engine reads from the
//! tool's `--info`, and so do we).

use crate::engine::Dialect;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// `uname -m`, lowercase.
    pub arch: String,
    /// `uname -r`.
    pub kernel: String,
    /// kprobes can be created (the kernel has the kprobe PMU or tracefs `kprobe_events`).
    pub kprobes: bool,
    /// A fentry program loads (BPF_PROG_TYPE_TRACING against a kernel function).
    pub fentry: bool,
    /// A hardware PMU counter can be opened.
    pub hardware_pmu: bool,
    /// `bpftrace --info` features, as upstream's engine reads them.
    pub features: BTreeMap<String, bool>,
}

impl Machine {
    pub fn probe(info_output: &str, dialect: Dialect) -> Machine {
        let uts = uname();
        Machine {
            arch: uts.0.to_lowercase(),
            kernel: uts.1,
            kprobes: Path::new("/sys/bus/event_source/devices/kprobe").exists()
                || Path::new("/sys/kernel/tracing/kprobe_events").exists()
                || Path::new("/sys/kernel/debug/tracing/kprobe_events").exists(),
            fentry: crate::bpf::fentry_loads(),
            hardware_pmu: hardware_counter_opens(),
            features: features_from_info(info_output, dialect),
        }
    }
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.machine), field(&u.release))
}

fn hardware_counter_opens() -> bool {
    // struct perf_event_attr, as far as the fields used here: type, size, config, flags.
    let mut attr = [0u64; 16];
    let size = std::mem::size_of_val(&attr) as u64;
    attr[0] = size << 32; // type PERF_TYPE_HARDWARE (0), size
    attr[1] = 0; // PERF_COUNT_HW_CPU_CYCLES
    attr[5] = 1 | (1 << 5) | (1 << 6); // disabled, exclude_kernel, exclude_hv
    // SAFETY: attr outlives the call; the kernel reads at most `size` bytes of it.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), 0, -1, -1, 0u64)
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: fd was just opened by us.
    unsafe { libc::close(fd as i32) };
    true
}

/// Reads `--info` as upstream's engine does: a feature is present when its `NAME: yes` line is.
/// The names, and the line each looks for, are the engine's (`dialect`).
pub fn features_from_info(info: &str, dialect: Dialect) -> BTreeMap<String, bool> {
    dialect
        .features()
        .iter()
        .map(|(name, line)| (name.to_string(), line.is_some_and(|l| info.contains(l))))
        .collect()
}

/// Compares kernel versions as Python's `LooseVersion` does for them: numbers as numbers,
/// component by component, a longer version greater when one is a prefix of the other.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ca, cb) = (components(a), components(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let o = match (x, y) {
            (Comp::Num(x), Comp::Num(y)) => x.cmp(y),
            (Comp::Text(x), Comp::Text(y)) => x.cmp(y),
            // Python 3 can't order a number and a string; such versions don't occur in
            // MIN_KERNEL. A number sorts after text here.
            (Comp::Num(_), Comp::Text(_)) => Ordering::Greater,
            (Comp::Text(_), Comp::Num(_)) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

#[derive(Debug, PartialEq, Eq)]
enum Comp {
    Num(u64),
    Text(String),
}

fn components(v: &str) -> Vec<Comp> {
    let mut out = Vec::new();
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '.' {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Comp::Num(s.parse().unwrap_or(u64::MAX)));
        } else if c.is_ascii_lowercase() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_lowercase() {
                i += 1;
            }
            out.push(Comp::Text(chars[start..i].iter().collect()));
        } else {
            let start = i;
            while i < chars.len()
                && !(chars[i] == '.' || chars[i].is_ascii_digit() || chars[i].is_ascii_lowercase())
            {
                i += 1;
            }
            out.push(Comp::Text(chars[start..i].iter().collect()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_compare_numerically() {
        assert_eq!(compare_versions("6.18.44-fc-v1252", "6.1"), Ordering::Greater);
        assert_eq!(compare_versions("6.1.0-28-amd64", "6.1"), Ordering::Greater);
        assert_eq!(compare_versions("5.4", "5.10"), Ordering::Less);
        assert_eq!(compare_versions("4.18", "4.18"), Ordering::Equal);
        assert_eq!(compare_versions("5.9", "5.15.0"), Ordering::Less);
    }

    #[test]
    fn features_are_read_from_yes_lines() {
        let info = "  btf: yes\n  kfunc: no\n  Loop support: yes\n  uprobe_multi: yes\n";
        let f = features_from_info(info, Dialect::V020);
        assert_eq!(f["btf"], true);
        assert_eq!(f["kfunc"], false);
        assert_eq!(f["loop"], true);
        assert_eq!(f["uprobe_multi"], true);
        assert_eq!(f["aot"], false);
        assert_eq!(f["dwarf"], false);
        let f = features_from_info("  fentry: yes\n  iter: yes\n", Dialect::V026);
        assert_eq!(f["fentry"], true);
        assert_eq!(f["iter"], true);
        assert!(!f.contains_key("kfunc"));
    }
}
