//! `btc list [SEARCH]` / `-l [SEARCH]`: the probes that can be attached, as bpftrace 0.20 lists
//! them: the search is read as attach points (`list/parse.rs`), each attach point's candidates
//! are matched against it, and the matches are printed per attach point in sorted order
//! (`kprobe:vfs_read`, `uprobe:./prog:main` with the binary as the user spelled it,
//! `usdt:PATH:PROVIDER:NAME`). With `-v`, tracepoint fields and the DWARF parameters of uprobe
//! functions are indented below each.

mod parse;

use super::binaries::{self, abs_path};
use super::kfuncs::{self, KernelFunction};
use super::{elf, paths, usdt};
use crate::kernel::tracefs;
use btc_bpfprog::wildcard_match;
use parse::Ap;
use std::collections::{BTreeSet, HashMap};

/// Iterators btc can attach to.
const ITERATORS: &[&str] = &["task", "task_file", "task_vma"];

/// Software and hardware events as (name, alias), bpftrace's lists.
pub(super) const SOFTWARE: &[(&str, &str)] = &[
    ("alignment-faults", ""),
    ("bpf-output", ""),
    ("context-switches", "cs"),
    ("cpu-clock", "cpu"),
    ("cpu-migrations", ""),
    ("dummy", ""),
    ("emulation-faults", ""),
    ("major-faults", ""),
    ("minor-faults", ""),
    ("page-faults", "faults"),
    ("task-clock", ""),
];
pub(super) const HARDWARE: &[(&str, &str)] = &[
    ("backend-stalls", ""),
    ("branch-instructions", "branches"),
    ("branch-misses", ""),
    ("bus-cycles", ""),
    ("cache-misses", ""),
    ("cache-references", ""),
    ("cpu-cycles", "cycles"),
    ("frontend-stalls", ""),
    ("instructions", ""),
    ("ref-cycles", ""),
];

/// The units of interval and profile probes.
const TIME_UNITS: &[&str] = &["s", "ms", "us", "hz"];

/// The most parameters a kfunc can have (bpftrace lists no function with more).
const KFUNC_MAX_PARAMS: u16 = 6;

/// An error or warning about a part of the search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// Byte range in the search.
    pub span: (usize, usize),
    pub message: String,
    pub error: bool,
}

impl Diag {
    fn error(span: (usize, usize), message: impl Into<String>) -> Diag {
        Diag { span, message: message.into(), error: true }
    }

    fn warning(span: (usize, usize), message: impl Into<String>) -> Diag {
        Diag { span, message: message.into(), error: false }
    }
}

/// What the listing needs from the compiler's side: the DWARF parameters of user functions.
pub trait ParamSource {
    /// The parameters of each of `funcs` in the DWARF of the binary at `path`, as bpftrace
    /// spells them (`int argc`, `struct Foo* foo1`); an empty list for a function DWARF doesn't
    /// describe; Err when the binary has no DWARF.
    fn uprobe_params(&self, path: &str, funcs: &[String]) -> Result<Vec<Vec<String>>, String>;

    /// The parameters of each of the kernel functions `(module, function)` in BTF, as
    /// bpftrace spells them (`struct file * file`, then `ssize_t retval`); None for a function
    /// BTF doesn't describe.
    fn kernel_params(&self, funcs: &[(String, String)]) -> Vec<Option<Vec<String>>>;
}

/// How to list.
#[derive(Default)]
pub struct ListOptions<'a> {
    /// `-v`: arguments below each probe.
    pub verbose: bool,
    /// `-p`: list the probes of this process (uprobe and usdt types for a wildcarded type).
    pub pid: Option<i32>,
    pub params: Option<&'a dyn ParamSource>,
}

/// The output of a listing.
#[derive(Debug, Default)]
pub struct Listing {
    /// The search as read (`*:*` for an empty one); `diags` point into it.
    pub search: String,
    /// Lines for stdout (none when `diags` has an error).
    pub lines: Vec<String>,
    /// Warnings for stderr (sources that could not be read), each a full line.
    pub warnings: Vec<String>,
    /// Errors and warnings about the search.
    pub diags: Vec<Diag>,
}

impl Listing {
    pub fn failed(&self) -> bool {
        self.diags.iter().any(|d| d.error)
    }
}

/// What listing reads from the system, each read once, and the warnings reading gave.
pub(super) struct Sources<'a> {
    pid: Option<i32>,
    kfunc: Option<bool>,
    kernel: Option<Vec<KernelFunction>>,
    warnings: &'a mut Vec<String>,
}

impl Sources<'_> {
    fn warn(&mut self, w: String) {
        let w = format!("WARNING: {w}");
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Whether kfunc (fentry) programs load on this kernel.
    pub(super) fn has_kfunc(&mut self) -> bool {
        *self.kfunc.get_or_insert_with(|| crate::kernel::features::features().kfunc)
    }

    /// The kernel functions kprobes can attach to.
    fn kernel_functions(&mut self) -> &[KernelFunction] {
        if self.kernel.is_none() {
            let (funcs, note) = kfuncs::traceable_or_kallsyms();
            if let Some(n) = note {
                self.warn(n);
            }
            self.kernel = Some(funcs);
        }
        self.kernel.as_deref().unwrap_or_default()
    }

    /// The modules defining kernel function `name` (`vmlinux` for the kernel itself).
    pub(super) fn kernel_function_modules(&mut self, name: &str) -> Vec<String> {
        let mut m: Vec<String> = self
            .kernel_functions()
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.module.clone().unwrap_or_else(|| "vmlinux".into()))
            .collect();
        m.sort();
        m.dedup();
        m
    }

    pub(super) fn is_traceable(&mut self, name: &str) -> bool {
        self.kernel_functions().iter().any(|f| f.name == name)
    }
}

/// Lists what `search` matches (comma-separated attach points; empty or `*`: everything).
pub fn list(search: &str, opts: &ListOptions<'_>) -> Listing {
    let search = match search.trim() {
        "" | "*" => "*:*".to_string(),
        _ => search.to_string(),
    };
    let mut out = Listing { search: search.clone(), ..Listing::default() };
    let mut warnings = Vec::new();
    let mut src = Sources { pid: opts.pid, kfunc: None, kernel: None, warnings: &mut warnings };
    let mut aps = parse::attach_points(&search, &mut src, &mut out.diags);
    if !out.failed() {
        parse::check(&mut aps, &mut src, &mut out.diags);
    }
    if !out.failed() {
        for ap in &aps {
            print(&mut out.lines, ap, opts, &mut src);
        }
    }
    out.warnings = warnings;
    out
}

/// bpftrace's name of a probe type in listings.
fn type_name(provider: &str) -> &str {
    match provider {
        "BEGIN" | "END" => "special",
        p => p,
    }
}

/// Prints the matches of one attach point (with `-v`, their arguments).
fn print(lines: &mut Vec<String>, ap: &Ap, opts: &ListOptions<'_>, src: &mut Sources<'_>) {
    let found = matches(ap, src);
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    if opts.verbose {
        match ap.provider {
            "tracepoint" => {
                for m in &found {
                    if let Some((c, n)) = m.split_once(':') {
                        params.insert(m.clone(), tracepoint_params(c, n));
                    }
                }
            }
            "uprobe" => {
                if let Some(p) = opts.params {
                    uprobe_params(p, &found, &mut params, src);
                }
            }
            "kfunc" | "kretfunc" | "iter" => {
                if let Some(p) = opts.params {
                    kernel_params(p, ap.provider == "iter", &found, &mut params);
                }
            }
            _ => {}
        }
    }
    for m in &found {
        let shown = if ap.lang == "cpp" { cpp_form(m) } else { m.clone() };
        lines.push(format!("{}:{shown}", type_name(ap.provider)));
        if let Some(ps) = params.get(m) {
            lines.extend(ps.iter().map(|p| format!("    {p}")));
        }
    }
}

/// `PATH:SYMBOL` as a C++ attach point: `PATH:cpp:"DEMANGLED"` (quoted, so the entry can be
/// used as written).
fn cpp_form(m: &str) -> String {
    let (path, sym) = m.split_once(':').unwrap_or(("", m));
    let func = elf::demangle(sym).map_or_else(|| sym.to_string(), |d| format!("\"{d}\""));
    format!("{path}:cpp:{func}")
}

/// The DWARF parameters of the uprobe matches (`PATH:FUNC`), asked once per binary; a binary
/// without DWARF gets one warning.
fn uprobe_params(
    p: &dyn ParamSource,
    found: &BTreeSet<String>,
    params: &mut HashMap<String, Vec<String>>,
    src: &mut Sources<'_>,
) {
    let mut by_path: Vec<(&str, Vec<String>)> = Vec::new();
    for m in found {
        let Some((path, func)) = m.split_once(':') else { continue };
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, fs)) => fs.push(func.to_string()),
            None => by_path.push((path, vec![func.to_string()])),
        }
    }
    for (path, funcs) in by_path {
        match p.uprobe_params(path, &funcs) {
            Ok(lists) => {
                for (f, l) in funcs.iter().zip(lists) {
                    params.insert(format!("{path}:{f}"), l);
                }
            }
            Err(_) => src.warn(format!("No DWARF found for \"{path}\", cannot show parameter info")),
        }
    }
}

/// The BTF parameters of kfunc matches (`MODULE:FUNC`) or of iterators (`NAME`: the
/// parameters of `bpf_iter_NAME` between the iterator's meta data and the result).
fn kernel_params(p: &dyn ParamSource, iter: bool, found: &BTreeSet<String>, params: &mut HashMap<String, Vec<String>>) {
    let funcs: Vec<(String, String)> = found
        .iter()
        .map(|m| match m.split_once(':') {
            Some((module, f)) if !iter => (module.to_string(), f.to_string()),
            _ => ("vmlinux".to_string(), format!("bpf_iter_{m}")),
        })
        .collect();
    for (m, list) in found.iter().zip(p.kernel_params(&funcs)) {
        let Some(mut list) = list else { continue };
        if iter {
            list.pop();
            if !list.is_empty() {
                list.remove(0);
            }
        }
        params.insert(m.clone(), list);
    }
}

/// The candidates of an attach point matched against what it searches for.
fn matches(ap: &Ap, src: &mut Sources<'_>) -> BTreeSet<String> {
    let target_func = || format!("{}:{}", ap.target, ap.func);
    let (search, candidates): (String, Vec<String>) = match ap.provider {
        "kprobe" | "kretprobe" => {
            (ap.func.clone(), src.kernel_functions().iter().map(|f| f.name.clone()).collect())
        }
        "iter" => (ap.func.clone(), ITERATORS.iter().map(|s| s.to_string()).collect()),
        "rawtracepoint" => (ap.func.clone(), raw_tracepoints(src)),
        "BEGIN" | "END" | "uprobe" | "uretprobe" | "tracepoint" | "kfunc" | "kretfunc" => {
            // An address instead of a function lists as `TARGET:`.
            if ap.func.is_empty() {
                return BTreeSet::from([format!("{}:", ap.target)]);
            }
            let candidates = match ap.provider {
                "uprobe" | "uretprobe" => function_symbols(&ap.target, src),
                "tracepoint" => tracepoints(src),
                "kfunc" | "kretfunc" => kfunc_candidates(src),
                _ => Vec::new(),
            };
            (target_func(), candidates)
        }
        "software" => (format!("{}:", ap.target), event_entries(SOFTWARE)),
        "hardware" => (format!("{}:", ap.target), event_entries(HARDWARE)),
        "profile" | "interval" => (format!("{}:", ap.target), TIME_UNITS.iter().map(|u| format!("{u}:")).collect()),
        "usdt" => {
            let mut target = ap.target.clone();
            // With a PID, probes are named through /proc/PID/root: look for the absolute path
            // at the end.
            if src.pid.is_some() {
                target = if target.is_empty() {
                    "*".into()
                } else {
                    abs_path(&target).map_or(target, |a| format!("*{a}"))
                };
            }
            let ns = if ap.ns.is_empty() { "*" } else { &ap.ns };
            (format!("{target}:{ns}:{}", ap.func), usdt_candidates(&ap.target, src))
        }
        _ => return BTreeSet::new(),
    };
    match_candidates(&search, &candidates, ap.lang == "cpp")
}

/// The candidates `search` matches (a glob), without the `.part.N` clones, which can't be
/// traced. With `demangle`, a C++ symbol also matches through its demangled name (without its
/// parameter list unless the search has a `(`).
fn match_candidates(search: &str, candidates: &[String], demangle: bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in candidates {
        let hit = wildcard_match(search, c)
            || (demangle && {
                let (prefix, sym) = match c.split_once(':') {
                    Some((p, s)) => (format!("{p}:"), s),
                    None => (String::new(), c.as_str()),
                };
                match elf::demangle(sym) {
                    Some(d) => {
                        let d = if search.contains('(') { d.as_str() } else { d.rsplit_once('(').map_or(d.as_str(), |(n, _)| n) };
                        wildcard_match(search, &format!("{prefix}{d}"))
                    }
                    None => false,
                }
            });
        if hit && !c.contains(".part.") {
            out.insert(c.clone());
        }
    }
    out
}

/// `NAME:` and `ALIAS:` for each event.
fn event_entries(list: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, alias) in list {
        out.push(format!("{name}:"));
        if !alias.is_empty() {
            out.push(format!("{alias}:"));
        }
    }
    out
}

/// Every tracepoint as `CATEGORY:NAME`.
fn tracepoints(src: &mut Sources<'_>) -> Vec<String> {
    match tracefs::available_events() {
        Ok(ev) => ev.into_iter().map(|(c, n)| format!("{c}:{n}")).collect(),
        Err(e) => {
            src.warn(e.to_string());
            Vec::new()
        }
    }
}

/// The raw tracepoints: tracepoint names without category, the syscall ones left out (they
/// are one raw tracepoint each, sys_enter and sys_exit).
fn raw_tracepoints(src: &mut Sources<'_>) -> Vec<String> {
    tracepoints(src)
        .into_iter()
        .filter(|t| !t.contains("syscalls:sys_enter_") && !t.contains("syscalls:sys_exit_"))
        .map(|t| t.split_once(':').map_or(t.clone(), |(_, n)| n.to_string()))
        .collect()
}

/// kfuncs as `MODULE:FUNC`: functions with BTF that kprobes could trace too, with at most six
/// parameters.
fn kfunc_candidates(src: &mut Sources<'_>) -> Vec<String> {
    let funcs = match kfuncs::btf_functions_with_params() {
        Ok(f) => f,
        Err(e) => {
            src.warn(e);
            return Vec::new();
        }
    };
    let known: std::collections::HashSet<String> = src.kernel_functions().iter().map(|f| f.name.clone()).collect();
    funcs
        .into_iter()
        .filter(|(f, n)| known.contains(&f.name) && n.is_some_and(|n| n <= KFUNC_MAX_PARAMS))
        .map(|(f, _)| format!("{}:{}", f.module.as_deref().unwrap_or("vmlinux"), f.name))
        .collect()
}

/// `PATH:SYMBOL` for every function symbol of the files `target` stands for: the files a
/// process maps for `*`, a glob's files, or the target itself.
fn function_symbols(target: &str, src: &mut Sources<'_>) -> Vec<String> {
    if target.is_empty() {
        return Vec::new();
    }
    let files = if target == "*" {
        match src.pid {
            Some(pid) => binaries::mapped_paths(pid),
            None => binaries::mapped_paths_of_all_processes(),
        }
    } else if target.contains('*') {
        binaries::resolve_binary_paths(target, src.pid)
    } else {
        vec![target.to_string()]
    };
    let mut out = Vec::new();
    for f in files {
        match elf::file_functions(&f) {
            Ok(funcs) => out.extend(funcs.into_iter().map(|s| format!("{f}:{}", s.name))),
            Err(_) => src.warn(format!("Could not list function symbols: {f}")),
        }
    }
    out
}

/// `PATH:PROVIDER:NAME` for the USDT probes of the process (with -p), of every running process
/// (`*`), or of the files `target` stands for.
fn usdt_candidates(target: &str, src: &mut Sources<'_>) -> Vec<String> {
    let files = if let Some(pid) = src.pid {
        match paths::process_binaries(pid) {
            Ok(f) => f,
            Err(e) => {
                src.warn(e);
                return Vec::new();
            }
        }
    } else if target == "*" {
        paths::running_binaries().unwrap_or_default()
    } else if target.contains('*') {
        binaries::resolve_binary_paths(target, None)
    } else if target.is_empty() {
        Vec::new()
    } else {
        vec![target.to_string()]
    };
    let mut out = Vec::new();
    for f in &files {
        let Ok(notes) = usdt::file_notes(f) else { continue };
        out.extend(notes.into_iter().map(|n| format!("{f}:{}:{}", n.provider, n.name)));
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(search: &str) -> Vec<String> {
        list(search, &ListOptions::default()).lines
    }

    #[test]
    fn format_params() {
        let text = "name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\nprint fmt: \"\"\n";
        assert_eq!(params_of_format(text), vec!["int __syscall_nr", "const char * filename"]);
    }

    #[test]
    fn software_events_list_like_bpftrace() {
        let l = lines("software:*");
        assert_eq!(l.first().map(String::as_str), Some("software:alignment-faults:"));
        assert!(l.contains(&"software:faults:".to_string()));
        assert_eq!(lines("s:cs"), ["software:cs:"]);
        assert_eq!(lines("s:c*"), ["software:context-switches:", "software:cpu-clock:", "software:cpu-migrations:", "software:cpu:", "software:cs:"]);
        // A count must be a number.
        let bad = list("s:cs:", &ListOptions::default());
        assert!(bad.failed() && bad.lines.is_empty());
        assert_eq!(bad.diags[0].message, "stoull\nInvalid count for software probe");
    }

    #[test]
    fn time_units_list_sorted() {
        assert_eq!(lines("interval:*"), ["interval:hz:", "interval:ms:", "interval:s:", "interval:us:"]);
        assert_eq!(lines("profile:*s"), ["profile:ms:", "profile:s:", "profile:us:"]);
        assert_eq!(lines("i:s:1"), ["interval:s:"]);
    }

    #[test]
    fn wildcarded_probe_types_expand_in_order() {
        let l = lines("*ware:*cycles*");
        assert_eq!(l, ["hardware:bus-cycles:", "hardware:cpu-cycles:", "hardware:cycles:", "hardware:ref-cycles:"]);
        let l = lines("*:ref-c*");
        assert_eq!(l, ["hardware:ref-cycles:"]);
    }

    #[test]
    fn search_errors_are_bpftrace_s() {
        let e = |s: &str| list(s, &ListOptions::default()).diags.into_iter().map(|d| d.message).collect::<Vec<_>>();
        assert_eq!(e("foo:*"), ["Invalid probe type: foo"]);
        assert_eq!(e("f*o:*"), ["No probe type matched for f*o", "No attach points for probe"]);
        assert_eq!(e("kprobe"), ["kprobe probe type requires 1 arguments, found 0"]);
        assert_eq!(e("uprobe:/bin/sh"), ["uprobe probe type requires 2 or 3 arguments, found 1"]);
        assert_eq!(e("tracepoint:x"), ["tracepoint probe type requires 2 arguments, found 1"]);
        assert_eq!(e("software:nope"), ["nope is not a software probe"]);
        assert_eq!(e("uprobe:/nonexistent/btc:*"), ["uprobe target file '/nonexistent/btc' does not exist or is not executable"]);
        assert_eq!(e("usdt:*"), ["usdt probe type requires 2 or 3 arguments, found 1"]);
        let d = list(" kprobe , tracepoint:x", &ListOptions::default()).diags;
        assert_eq!(d[0].span, (1, 7));
        assert_eq!(d[1].span, (10, 22));
    }

    #[test]
    fn matching_skips_part_clones_and_demangles_on_request() {
        let c: Vec<String> = ["b:f", "b:f.part.0", "b:_ZN2ns3fooEi", "b:g"].iter().map(|s| s.to_string()).collect();
        assert_eq!(match_candidates("b:f*", &c, false), BTreeSet::from(["b:f".to_string()]));
        assert_eq!(match_candidates("b:ns::foo", &c, false), BTreeSet::new());
        assert_eq!(match_candidates("b:ns::foo", &c, true), BTreeSet::from(["b:_ZN2ns3fooEi".to_string()]));
        assert_eq!(match_candidates("b:ns::foo(int)", &c, true), BTreeSet::from(["b:_ZN2ns3fooEi".to_string()]));
        assert_eq!(cpp_form("b:_ZN2ns3fooEi"), "b:cpp:\"ns::foo(int)\"");
        assert_eq!(cpp_form("b:main"), "b:cpp:main");
    }

    /// Parameters from a table, for the printing of `-lv`.
    struct Fixed;

    impl ParamSource for Fixed {
        fn uprobe_params(&self, _: &str, funcs: &[String]) -> Result<Vec<Vec<String>>, String> {
            Ok(funcs.iter().map(|f| vec![format!("int {f}_arg")]).collect())
        }

        fn kernel_params(&self, funcs: &[(String, String)]) -> Vec<Option<Vec<String>>> {
            funcs.iter().map(|(m, f)| Some(vec![format!("struct {m} * first"), format!("int {f}"), "long retval".into()])).collect()
        }
    }

    /// The listing of `search` as on a kernel where fentry works (whatever this one does).
    fn with_kfuncs(search: &str, verbose: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut src = Sources { pid: None, kfunc: Some(true), kernel: None, warnings: &mut warnings };
        let mut diags = Vec::new();
        let mut aps = parse::attach_points(search, &mut src, &mut diags);
        parse::check(&mut aps, &mut src, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let opts = ListOptions { verbose, pid: None, params: Some(&Fixed) };
        let mut lines = Vec::new();
        for ap in &aps {
            print(&mut lines, ap, &opts, &mut src);
        }
        lines
    }

    #[test]
    fn kfuncs_list_with_their_module() {
        assert_eq!(with_kfuncs("kfunc:vfs_read", false), ["kfunc:vmlinux:vfs_read"]);
        let wild = with_kfuncs("fentry:vmlinux:vfs_rea*", false);
        assert!(wild.contains(&"kfunc:vmlinux:vfs_read".to_string()) && wild.iter().all(|l| l.starts_with("kfunc:vmlinux:vfs_rea")));
        assert_eq!(
            with_kfuncs("kretfunc:vfs_read", true),
            ["kretfunc:vmlinux:vfs_read", "    struct vmlinux * first", "    int vfs_read", "    long retval"]
        );
        // Iterators show the parameters between the meta data and the result.
        assert_eq!(with_kfuncs("iter:task_vma", true), ["iter:task_vma", "    int bpf_iter_task_vma"]);
        // A wildcarded type includes kfuncs, between iter and kprobe.
        let all = with_kfuncs("*:vfs_read", false);
        assert_eq!(all, ["kfunc:vmlinux:vfs_read", "kprobe:vfs_read"]);
    }
}
