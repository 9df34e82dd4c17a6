//! `btc list [PATTERN]` / `btc run -l [PATTERN]`: the probes that can be attached, one per line
//! as bpftrace prints them (`tracepoint:syscalls:sys_enter_openat`), with `-v` the arguments
//! of tracepoints (from their format files) indented below each.

use btc_bpfprog::wildcard_match;
use super::{elf, kfuncs, paths, usdt};
use crate::kernel::tracefs;

/// Providers in listing order (bpftrace lists them alphabetically).
const LISTED: &[&str] = &["hardware", "iter", "kfunc", "kprobe", "rawtracepoint", "software", "tracepoint"];

/// Iterators btc can attach to.
const ITERATORS: &[&str] = &["task", "task_file", "task_vma"];

/// Software and hardware events, as `name:` and `alias:` entries.
const SOFTWARE: &[&str] = &[
    "alignment-faults", "bpf-output", "context-switches", "cs", "cpu", "cpu-clock", "cpu-migrations", "dummy",
    "emulation-faults", "faults", "major-faults", "minor-faults", "page-faults", "task-clock",
];
const HARDWARE: &[&str] = &[
    "backend-stalls", "branch-instructions", "branch-misses", "branches", "bus-cycles", "cache-misses",
    "cache-references", "cpu-cycles", "cycles", "frontend-stalls", "instructions", "ref-cycles",
];

/// The output of a listing.
#[derive(Debug, Default)]
pub struct Listing {
    /// Lines for stdout.
    pub lines: Vec<String>,
    /// Warnings for stderr (sources that could not be read).
    pub warnings: Vec<String>,
}

fn short(p: &str) -> &str {
    match p {
        "k" => "kprobe",
        "kr" => "kretprobe",
        "f" | "fentry" => "kfunc",
        "fr" | "fexit" => "kretfunc",
        "u" => "uprobe",
        "ur" => "uretprobe",
        "U" => "usdt",
        "t" => "tracepoint",
        "rt" => "rawtracepoint",
        "s" => "software",
        "h" => "hardware",
        "it" => "iter",
        other => other,
    }
}


/// Lists what matches `patterns` (comma separated; empty: everything).
pub fn list(patterns: &str, verbose: bool, pid: Option<i32>) -> Listing {
    let mut out = Listing::default();
    let items: Vec<String> = if patterns.trim().is_empty() {
        vec!["*:*".to_string()]
    } else {
        patterns.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    };
    for item in items {
        let (prov, rest) = match item.split_once(':') {
            Some((p, r)) => (short(p).to_string(), r.to_string()),
            None if LISTED.contains(&short(&item)) || ["uprobe", "usdt"].contains(&short(&item)) => {
                (short(&item).to_string(), "*".to_string())
            }
            None => ("*".to_string(), item.clone()),
        };
        match prov.as_str() {
            "uprobe" | "uretprobe" => uprobes(&mut out, &prov, &rest, pid),
            "usdt" => usdts(&mut out, &rest, pid),
            _ => {
                for p in LISTED.iter().chain(&["kretprobe", "kretfunc"]) {
                    let explicit = prov == *p;
                    // Return probes are listed only when asked for by name, as bpftrace does.
                    if !explicit && (!wildcard_match(&prov, p) || p.starts_with("kret")) {
                        continue;
                    }
                    provider(&mut out, p, &rest, verbose);
                }
            }
        }
    }
    out
}

fn provider(out: &mut Listing, p: &str, rest: &str, verbose: bool) {
    let mut entries: Vec<String> = match p {
        "software" => SOFTWARE.iter().map(|s| format!("{s}:")).collect(),
        "hardware" => HARDWARE.iter().map(|s| format!("{s}:")).collect(),
        "iter" => ITERATORS.iter().map(|s| s.to_string()).collect(),
        "tracepoint" | "rawtracepoint" => match tracefs::available_events() {
            Ok(ev) if p == "tracepoint" => ev.into_iter().map(|(c, n)| format!("{c}:{n}")).collect(),
            Ok(ev) => ev.into_iter().filter(|(c, _)| c != "syscalls").map(|(_, n)| n).collect(),
            Err(e) => {
                out.warnings.push(format!("WARNING: {e}"));
                Vec::new()
            }
        },
        "kprobe" | "kretprobe" => match kfuncs::traceable() {
            Ok(f) => f.into_iter().map(|f| f.name).filter(|n| !n.contains(".part.")).collect(),
            Err(e) => {
                let w = format!("WARNING: {e}");
                if !out.warnings.contains(&w) {
                    out.warnings.push(w);
                }
                Vec::new()
            }
        },
        "kfunc" | "kretfunc" => match kfuncs::btf_functions() {
            Ok(f) => f
                .into_iter()
                .map(|f| match f.module {
                    Some(m) => format!("{m}:{}", f.name),
                    None => f.name,
                })
                .collect(),
            Err(e) => {
                out.warnings.push(format!("WARNING: {e}"));
                Vec::new()
            }
        },
        _ => Vec::new(),
    };
    entries.sort();
    entries.dedup();
    for e in entries {
        if !wildcard_match(rest, &e) {
            continue;
        }
        out.lines.push(format!("{p}:{e}"));
        if verbose && p == "tracepoint" {
            if let Some((c, n)) = e.split_once(':') {
                out.lines.extend(tracepoint_params(c, n).into_iter().map(|a| format!("    {a}")));
            }
        }
    }
}

/// The fields of a tracepoint's format file after the common ones, as `type name`.
pub fn tracepoint_params(category: &str, name: &str) -> Vec<String> {
    let Ok(text) = tracefs::tracepoint_format(category, name) else { return Vec::new() };
    params_of_format(&text)
}

/// Every `field:` line after the first blank line of a format file, from `field:` to `;`.
pub fn params_of_format(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
    }
    lines
        .filter_map(|l| l.strip_prefix("\tfield:"))
        .map(|l| l.split(';').next().unwrap_or("").to_string())
        .collect()
}

fn uprobes(out: &mut Listing, prov: &str, rest: &str, pid: Option<i32>) {
    let (target, pattern) = match rest.rsplit_once(':') {
        Some((t, p)) => (t.to_string(), p.to_string()),
        None => (rest.to_string(), "*".to_string()),
    };
    let path = if target.is_empty() {
        match pid {
            Some(pid) => format!("/proc/{pid}/exe"),
            None => return out.warnings.push(format!("WARNING: {prov} listing needs a binary, e.g. {prov}:/bin/bash:*")),
        }
    } else {
        match paths::resolve_binary(&target, pid) {
            Ok(p) => p,
            Err(e) => return out.warnings.push(format!("WARNING: {e}")),
        }
    };
    match elf::file_functions(&path) {
        Ok(funcs) => {
            for f in funcs {
                // bpftrace lists no partial clones (`__logout.part.0`).
                if wildcard_match(&pattern, &f.name) && !f.name.contains(".part.") {
                    out.lines.push(format!("{prov}:{path}:{}", f.name));
                }
            }
        }
        Err(e) => out.warnings.push(format!("WARNING: Could not list function symbols: {e}")),
    }
}

fn usdts(out: &mut Listing, rest: &str, pid: Option<i32>) {
    let parts: Vec<&str> = rest.split(':').collect();
    let (target, provider, name) = match parts.as_slice() {
        [t] => (*t, "*", "*"),
        [t, n] => (*t, "*", *n),
        [t, p, n] => (*t, *p, *n),
        _ => return out.warnings.push(format!("WARNING: invalid usdt listing pattern usdt:{rest}")),
    };
    let files: Vec<String> = match pid {
        Some(pid) if target == "*" || target.is_empty() => match paths::process_binaries(pid) {
            Ok(f) => f,
            Err(e) => return out.warnings.push(format!("WARNING: {e}")),
        },
        _ => match paths::resolve_binary(target, pid) {
            Ok(p) => vec![p],
            Err(e) => return out.warnings.push(format!("WARNING: {e}")),
        },
    };
    let mut lines = Vec::new();
    for f in &files {
        let Ok(notes) = usdt::file_notes(f) else { continue };
        for n in notes {
            if wildcard_match(provider, &n.provider) && wildcard_match(name, &n.name) {
                lines.push(format!("usdt:{f}:{}:{}", n.provider, n.name));
            }
        }
    }
    lines.sort();
    lines.dedup();
    out.lines.extend(lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_params() {
        let text = "name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\nprint fmt: \"\"\n";
        assert_eq!(params_of_format(text), vec!["int __syscall_nr", "const char * filename"]);
    }

    #[test]
    fn software_events_list_like_bpftrace() {
        let l = list("software:*", false, None);
        assert_eq!(l.lines.first().map(String::as_str), Some("software:alignment-faults:"));
        assert!(l.lines.contains(&"software:faults:".to_string()));
        assert_eq!(list("s:cs", false, None).lines, Vec::<String>::new());
        assert_eq!(list("s:cs:", false, None).lines, vec!["software:cs:".to_string()]);
    }
}
