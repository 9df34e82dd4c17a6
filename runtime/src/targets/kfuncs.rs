//! Kernel functions: the ones kprobes may attach to (`available_filter_functions`, or the text
//! symbols of /proc/kallsyms where it can't be read: [`kprobe_functions`]) and the ones BTF
//! describes (for kfuncs), found by a small scan of BTF's FUNC entries.

use std::path::Path;

/// A kernel function and the module that defines it (`None`: vmlinux).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelFunction {
    pub module: Option<String>,
    pub name: String,
}

/// Parses available_filter_functions: `name` or `name [module]` per line.
pub fn parse_filter_functions(text: &str) -> Vec<KernelFunction> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let name = it.next()?.to_string();
            let module = it.next().map(|m| m.trim_matches(['[', ']']).to_string());
            Some(KernelFunction { module, name })
        })
        .collect()
}

/// Where debugfs lists the functions kprobes refuse (`0xSTART-0xEND\tNAME [MODULE]`).
const KPROBE_BLACKLIST: &str = "/sys/kernel/debug/kprobes/blacklist";

/// The names in a kprobe blacklist text.
pub fn parse_kprobe_blacklist(text: &str) -> std::collections::HashSet<String> {
    text.lines().filter_map(|l| l.split_whitespace().nth(1)).map(str::to_string).collect()
}

/// Whether a text symbol of /proc/kallsyms marks where a section of the kernel's code starts or
/// ends (`_stext`, `_etext`, `_sinittext`, `__entry_text_start`, `__sched_text_end`, ...):
/// an address, not a function.
pub fn is_section_marker(name: &str) -> bool {
    matches!(name, "_text" | "_stext" | "_etext" | "_sinittext" | "_einittext")
        || (name.starts_with("__") && (name.ends_with("_text_start") || name.ends_with("_text_end")))
}

/// The functions among the symbols of a /proc/kallsyms text: text symbols (types `t`, `T`, `w`,
/// `W`) without what is no function entry: section markers ([`is_section_marker`]), the padding
/// before functions (`__pfx_`, `__cfi_`), the cold parts split off functions (`.cold`), BPF
/// programs (`[bpf]`) and the kernel's own trampolines (`[__builtin__ftrace]`,
/// `[__builtin__kprobes]`).
pub fn parse_kallsyms(text: &str) -> Vec<KernelFunction> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (_addr, kind, name) = (it.next()?, it.next()?, it.next()?);
            let module = it.next().map(|m| m.trim_matches(['[', ']']).to_string());
            if !matches!(kind, "t" | "T" | "w" | "W")
                || is_section_marker(name)
                || name.starts_with("__pfx_")
                || name.starts_with("__cfi_")
                || name.contains(".cold")
                || module.as_deref().is_some_and(|m| m == "bpf" || m.starts_with("__builtin__"))
            {
                return None;
            }
            Some(KernelFunction { module, name: name.to_string() })
        })
        .collect()
}

/// btc's rule for the kernel functions kprobes may attach to, the one source of `btc list` and of
/// the compiler's `kprobe:` wildcards: available_filter_functions when it can be read (its text,
/// or why not, in `filter_functions`); otherwise the functions among the text symbols of
/// /proc/kallsyms ([`parse_kallsyms`]; `kallsyms` is only read then). Either way without the
/// functions of the kprobe blacklist (its text, when there is one). The second value says why
/// the list doesn't come from available_filter_functions.
pub fn kprobe_functions(
    filter_functions: Result<String, String>,
    kallsyms: impl FnOnce() -> Result<String, String>,
    blacklist: Option<&str>,
) -> (Vec<KernelFunction>, Option<String>) {
    let (mut funcs, note) = match filter_functions {
        Ok(text) => (parse_filter_functions(&text), None),
        Err(e) => match kallsyms() {
            Ok(text) => (parse_kallsyms(&text), Some(format!("{e}; kernel functions are taken from /proc/kallsyms"))),
            Err(k) => (Vec::new(), Some(format!("{e}; /proc/kallsyms can't be read either: {k}"))),
        },
    };
    if let Some(text) = blacklist {
        let banned = parse_kprobe_blacklist(text);
        funcs.retain(|f| !banned.contains(&f.name));
    }
    (funcs, note)
}

/// The kernel functions kprobes may attach to on this system ([`kprobe_functions`]'s rule).
pub fn traceable_or_kallsyms() -> (Vec<KernelFunction>, Option<String>) {
    let filter_functions = crate::kernel::tracefs::root().map_err(|e| e.to_string()).and_then(|root| {
        let path = root.join("available_filter_functions");
        std::fs::read_to_string(&path).map_err(|e| {
            let reason = e.raw_os_error().map_or_else(|| e.to_string(), crate::kernel::os_error_text);
            format!("could not read {}: {reason}", path.display())
        })
    });
    let kallsyms = || std::fs::read_to_string("/proc/kallsyms").map_err(|e| e.to_string());
    let blacklist = std::fs::read_to_string(KPROBE_BLACKLIST).ok();
    kprobe_functions(filter_functions, kallsyms, blacklist.as_deref())
}

const BTF_MAGIC: u16 = 0xeb9f;
const BTF_KIND_FUNC: u32 = 12;

/// The names of the FUNC entries of a BTF blob. For split (module) BTF, `base_strings` is the
/// size of the base's string section: names below it are the base's and are skipped.
pub fn btf_func_names(data: &[u8], base_strings: u32) -> Result<Vec<String>, String> {
    Ok(scan_btf(data, base_strings, 1)?.funcs.into_iter().map(|(n, _)| n).collect())
}

const BTF_KIND_FUNC_PROTO: u32 = 13;

/// What a scan of a BTF blob's types finds: its FUNC entries (name, type id of their
/// FUNC_PROTO), the number of parameters of each FUNC_PROTO by type id, and how many types it
/// has.
struct BtfScan {
    funcs: Vec<(String, u32)>,
    protos: std::collections::HashMap<u32, u16>,
    types: u32,
}

/// Scans the types of a BTF blob whose first type has id `first_id` (1 for vmlinux, one past
/// the base's last type for split BTF).
fn scan_btf(data: &[u8], base_strings: u32, first_id: u32) -> Result<BtfScan, String> {
    let u16_at = |o: usize| data.get(o..o + 2).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes);
    let u32_at = |o: usize| data.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    if u16_at(0) != Some(BTF_MAGIC) {
        return Err("not a BTF blob".into());
    }
    let bad = || "truncated BTF".to_string();
    let hdr_len = u32_at(4).ok_or_else(bad)? as usize;
    let (type_off, type_len) = (u32_at(8).ok_or_else(bad)? as usize, u32_at(12).ok_or_else(bad)? as usize);
    let (str_off, str_len) = (u32_at(16).ok_or_else(bad)? as usize, u32_at(20).ok_or_else(bad)? as usize);
    let strings = data.get(hdr_len + str_off..hdr_len + str_off + str_len).ok_or_else(bad)?;
    let name = |off: u32| -> Option<String> {
        let off = off.checked_sub(base_strings)? as usize;
        let rest = strings.get(off..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let mut pos = hdr_len + type_off;
    let end = pos + type_len;
    let mut scan = BtfScan { funcs: Vec::new(), protos: std::collections::HashMap::new(), types: 0 };
    while pos + 12 <= end {
        let name_off = u32_at(pos).ok_or_else(bad)?;
        let info = u32_at(pos + 4).ok_or_else(bad)?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 | 19 => vlen * 12,
            6 | 13 => vlen * 8,
            _ => 0,
        };
        let id = first_id + scan.types;
        if kind == BTF_KIND_FUNC {
            if let Some(n) = name(name_off).filter(|n| !n.is_empty()) {
                scan.funcs.push((n, u32_at(pos + 8).ok_or_else(bad)?));
            }
        } else if kind == BTF_KIND_FUNC_PROTO {
            scan.protos.insert(id, u16::try_from(vlen).unwrap_or(u16::MAX));
        }
        scan.types += 1;
        pos += 12 + extra;
    }
    Ok(scan)
}

/// Every function in the kernel's BTF (vmlinux and loaded modules) with its number of
/// parameters (None when its prototype can't be found).
pub fn btf_functions_with_params() -> Result<Vec<(KernelFunction, Option<u16>)>, String> {
    let dir = Path::new("/sys/kernel/btf");
    let vmlinux = std::fs::read(dir.join("vmlinux")).map_err(|e| format!("kernel BTF is not available: {e}"))?;
    let base = scan_btf(&vmlinux, 0, 1)?;
    let params = |scan: &BtfScan, proto: u32| scan.protos.get(&proto).or_else(|| base.protos.get(&proto)).copied();
    let mut out: Vec<(KernelFunction, Option<u16>)> =
        base.funcs.iter().map(|(name, p)| (KernelFunction { module: None, name: name.clone() }, params(&base, *p))).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut mods: Vec<String> =
            entries.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| n != "vmlinux").collect();
        mods.sort();
        let base_strings = string_section_len(&vmlinux);
        for m in mods {
            let Ok(data) = std::fs::read(dir.join(&m)) else { continue };
            let Ok(scan) = scan_btf(&data, base_strings, base.types + 1) else { continue };
            for (name, p) in &scan.funcs {
                out.push((KernelFunction { module: Some(m.clone()), name: name.clone() }, params(&scan, *p)));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The size of a BTF blob's string section.
fn string_section_len(data: &[u8]) -> u32 {
    data.get(20..24).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).unwrap_or(0)
}

/// Every function in the kernel's BTF (vmlinux and loaded modules).
pub fn btf_functions() -> Result<Vec<KernelFunction>, String> {
    let dir = Path::new("/sys/kernel/btf");
    let vmlinux = std::fs::read(dir.join("vmlinux")).map_err(|e| format!("kernel BTF is not available: {e}"))?;
    let base = string_section_len(&vmlinux);
    let mut out: Vec<KernelFunction> = btf_func_names(&vmlinux, 0)?
        .into_iter()
        .map(|name| KernelFunction { module: None, name })
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut mods: Vec<String> =
            entries.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| n != "vmlinux").collect();
        mods.sort();
        for m in mods {
            let Ok(data) = std::fs::read(dir.join(&m)) else { continue };
            let Ok(names) = btf_func_names(&data, base) else { continue };
            out.extend(names.into_iter().map(|name| KernelFunction { module: Some(m.clone()), name }));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_function_lines() {
        let f = parse_filter_functions("vfs_read\next4_sync_fs [ext4]\n");
        assert_eq!(f[0], KernelFunction { module: None, name: "vfs_read".into() });
        assert_eq!(f[1], KernelFunction { module: Some("ext4".into()), name: "ext4_sync_fs".into() });
    }

    const KALLSYMS: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81001000 t __pfx_vfs_read
ffffffff81001010 T vfs_read
ffffffff81002000 t helper.cold
ffffffff81003000 d some_data
ffffffff81004000 W weak_fn
ffffffff81005000 T __entry_text_start
ffffffff81006000 T __irqentry_text_end
ffffffff81007000 T __sched_text_start
ffffffff81008000 T do_int3
ffffffff81009000 T oops_end
ffffffff8100a000 T __cfi_oops_end
ffffffff8100b000 T _etext
ffffffff8100c000 T _sinittext
ffffffffc0000000 t ext4_sync_fs\t[ext4]
ffffffffc1000000 t bpf_prog_6deef7357e7b4530_sd_fw_ingress\t[bpf]
ffffffffc2000000 t ftrace_trampoline\t[__builtin__ftrace]
";

    fn names(funcs: &[KernelFunction]) -> Vec<(Option<&str>, &str)> {
        funcs.iter().map(|f| (f.module.as_deref(), f.name.as_str())).collect()
    }

    #[test]
    fn kallsyms_text_symbols_stand_in_for_the_filter_list() {
        assert_eq!(
            names(&parse_kallsyms(KALLSYMS)),
            [(None, "vfs_read"), (None, "weak_fn"), (None, "do_int3"), (None, "oops_end"), (Some("ext4"), "ext4_sync_fs")]
        );
        let banned = parse_kprobe_blacklist("0xffffffff81000000-0xffffffff81000010\tdo_int3\n0xffffffffc0000000-0xffffffffc0000010\tmod_fn [m]\n");
        assert!(banned.contains("do_int3") && banned.contains("mod_fn") && banned.len() == 2);
    }

    #[test]
    fn section_markers_are_no_functions() {
        for m in ["_stext", "_etext", "_text", "_sinittext", "_einittext", "__entry_text_start", "__noinstr_text_end"] {
            assert!(is_section_marker(m), "{m}");
        }
        // Functions whose names merely look alike.
        for f in ["oops_end", "irq_entries_start", "kernel_fpu_end", "_stext_fn", "__text_poke"] {
            assert!(!is_section_marker(f), "{f}");
        }
    }

    #[test]
    fn kprobe_functions_prefer_the_filter_list_then_kallsyms() {
        let blacklist = "0xffffffff81008000-0xffffffff81008010\tdo_int3\n";
        // The filter list, when readable: kallsyms isn't read, the blacklist still applies.
        let (funcs, note) =
            kprobe_functions(Ok("vfs_read\ndo_int3\next4_sync_fs [ext4]\n".into()), || panic!("read kallsyms"), Some(blacklist));
        assert_eq!(names(&funcs), [(None, "vfs_read"), (Some("ext4"), "ext4_sync_fs")]);
        assert_eq!(note, None);
        // Unreadable: kallsyms' functions without the blacklist, and a note saying why.
        let (funcs, note) = kprobe_functions(Err("could not read X: EPERM".into()), || Ok(KALLSYMS.into()), Some(blacklist));
        assert_eq!(names(&funcs), [(None, "vfs_read"), (None, "weak_fn"), (None, "oops_end"), (Some("ext4"), "ext4_sync_fs")]);
        assert_eq!(note.as_deref(), Some("could not read X: EPERM; kernel functions are taken from /proc/kallsyms"));
        // Neither: no functions, and why.
        let (funcs, note) = kprobe_functions(Err("no X".into()), || Err("denied".into()), None);
        assert!(funcs.is_empty());
        assert_eq!(note.as_deref(), Some("no X; /proc/kallsyms can't be read either: denied"));
    }

    #[test]
    fn kernel_functions_are_listed_either_way() {
        // From available_filter_functions where it can be read, from kallsyms where it can't:
        // vfs_read is in both, section markers in neither.
        let (funcs, note) = traceable_or_kallsyms();
        assert!(funcs.iter().any(|f| f.name == "vfs_read"), "{note:?}");
        assert!(!funcs.iter().any(|f| is_section_marker(&f.name)), "{note:?}");
        let readable = crate::kernel::tracefs::root()
            .is_ok_and(|r| std::fs::read_to_string(r.join("available_filter_functions")).is_ok());
        assert_eq!(note.is_some(), !readable);
    }

    #[test]
    fn scans_kernel_btf() {
        // The test machines have BTF (bpftrace-style kfunc listing depends on it).
        let funcs = btf_functions().unwrap_or_default();
        assert!(funcs.iter().any(|f| f.module.is_none() && f.name == "vfs_read"), "{} functions", funcs.len());
        assert!(btf_func_names(b"nope", 0).is_err());
    }
}
