//! What bpftrace 0.20 checks about a kprobe before attaching it, in its words: kretprobes on
//! the spin lock functions that can lock up the machine are refused, and an offset must fall
//! inside the function.
//!
//! A function's size is the distance to the next symbol in `/proc/kallsyms` (the kernel's own
//! notion of a symbol's extent: it is what `kallsyms_lookup_size_offset` reports). That works
//! on every kernel, whether or not a vmlinux image with a symbol table is installed, and also
//! when kallsyms lists only functions.

use std::collections::HashMap;
use std::sync::Mutex;

/// Kernel functions whose kretprobes can deadlock the machine (bpftrace 0.20 refuses them).
pub const BANNED_KRETPROBES: &[&str] =
    &["_raw_spin_lock", "_raw_spin_lock_irqsave", "_raw_spin_unlock_irqrestore", "queued_spin_lock_slowpath"];

/// bpftrace 0.20's refusal of a banned kretprobe, or `None` when `func` may be probed.
pub fn banned_kretprobe(func: &str) -> Option<String> {
    BANNED_KRETPROBES
        .contains(&func)
        .then(|| format!("error: kretprobe:{func} can't be used as it might lock up your system."))
}

/// The sizes of kernel functions, from the text of `/proc/kallsyms`: for each symbol, the
/// distance to the next higher address. Modules' symbols (`name [module]`) are keyed
/// `module:name`. Symbols whose addresses are hidden (all zero) are left out. `wanted` limits
/// the answer to those names.
pub fn symbol_sizes(kallsyms: &str, wanted: Option<&[&str]>) -> HashMap<String, u64> {
    let mut addrs: Vec<u64> = Vec::new();
    let mut found: Vec<(String, u64)> = Vec::new();
    for line in kallsyms.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(_kind), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
        let Ok(addr) = u64::from_str_radix(addr, 16) else { continue };
        if addr == 0 {
            continue;
        }
        addrs.push(addr);
        let key = match f.next().and_then(|m| m.strip_prefix('[')).and_then(|m| m.strip_suffix(']')) {
            Some(module) => format!("{module}:{name}"),
            None => name.to_string(),
        };
        if wanted.is_none_or(|w| w.contains(&key.as_str())) {
            found.push((key, addr));
        }
    }
    addrs.sort_unstable();
    addrs.dedup();
    let mut sizes = HashMap::new();
    for (key, addr) in found {
        let next = addrs.partition_point(|&a| a <= addr);
        if let Some(&end) = addrs.get(next) {
            // The first definition wins (a name may be listed twice, e.g. static functions).
            sizes.entry(key).or_insert(end - addr);
        }
    }
    sizes
}

/// bpftrace 0.20's refusal of a kprobe at `offset` into a function of `size` bytes.
pub fn offset_outside(func: &str, offset: u64, size: u64) -> Option<String> {
    (offset >= size).then(|| format!("Offset outside the function bounds ('{func}' size is {size})"))
}

/// The size of kernel function `func` (`module:func` for a module's), when kallsyms shows it.
/// kallsyms is read once per run, however many kprobes have an offset.
pub fn function_size(func: &str) -> Option<u64> {
    static SIZES: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    let mut sizes = SIZES.lock().unwrap_or_else(|e| e.into_inner());
    if sizes.is_none() {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        *sizes = Some(symbol_sizes(&text, None));
    }
    sizes.as_ref().and_then(|s| s.get(func).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KALLSYMS: &str = "\
ffffffff81000000 T _stext
ffffffff816dafb0 T vfs_read
ffffffff816db370 t __pfx_vfs_write
ffffffff816db380 T vfs_write
ffffffff816db380 T vfs_write_alias
ffffffff816db500 T last_fn
ffffffffc0001000 t ext4_fn\t[ext4]
ffffffffc0001040 t ext4_other\t[ext4]
";

    #[test]
    fn a_function_extends_to_the_next_symbol() {
        let sizes = symbol_sizes(KALLSYMS, Some(&["vfs_read", "vfs_write", "ext4:ext4_fn", "missing"]));
        assert_eq!(sizes.get("vfs_read"), Some(&0x3c0));
        // An alias at the same address doesn't end the function.
        assert_eq!(sizes.get("vfs_write"), Some(&0x180));
        assert_eq!(sizes.get("ext4:ext4_fn"), Some(&0x40));
        assert_eq!(sizes.get("missing"), None);
    }

    #[test]
    fn hidden_addresses_give_no_size() {
        let hidden = "0000000000000000 T vfs_read\n0000000000000000 T vfs_write\n";
        assert!(symbol_sizes(hidden, None).is_empty());
        // Every symbol but the last has a size.
        assert_eq!(symbol_sizes(KALLSYMS, None).len(), 7);
    }

    #[test]
    fn bpftrace_words() {
        assert_eq!(
            offset_outside("vfs_read", 1_000_000, 960).as_deref(),
            Some("Offset outside the function bounds ('vfs_read' size is 960)")
        );
        assert_eq!(offset_outside("vfs_read", 959, 960), None);
        assert_eq!(
            banned_kretprobe("_raw_spin_lock").as_deref(),
            Some("error: kretprobe:_raw_spin_lock can't be used as it might lock up your system.")
        );
        assert_eq!(banned_kretprobe("vfs_read"), None);
    }
}
