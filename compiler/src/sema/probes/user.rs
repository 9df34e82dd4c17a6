//! User-space probes: `uprobe` / `uretprobe` on functions, function offsets and addresses of
//! ELF binaries and libraries.

use super::{has_wildcard, wildcard_match, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use crate::types::targets::ElfFunction;
use btc_bpfprog::ProbeKind;

type Resolved = Result<Vec<ResolvedProbe>, Diagnostic>;

/// A binary a uprobe or usdt target stands for.
#[derive(Debug, Clone)]
pub(super) struct Binary {
    /// The file to attach to (absolute, or through /proc/PID/root).
    pub path: String,
    /// The path probe names show, as bpftrace shows it (the target as written, when it is a path).
    pub shown: String,
}

/// The binaries a uprobe or usdt target names, as bpftrace 0.20 finds them: `/proc/PID/exe`
/// when only a PID was given; with `*`, every file the `-p` process (or, without one, any
/// running process) maps; with a shell wildcard (`./testprogs/uprobe*`), the executables and
/// libraries it matches; else the file the type source finds (a path, a library name through
/// ld.so.cache, a program on $PATH).
pub(super) fn binaries(cx: &Cx<'_>, provider: &str, target: &str) -> Result<Vec<Binary>, Diagnostic> {
    if target.is_empty() {
        return match cx.opts.pid {
            Some(pid) => {
                let path = format!("/proc/{pid}/exe");
                Ok(vec![Binary { shown: path.clone(), path }])
            }
            None => Err(cx.err("the probe needs a binary path (or a process given with -p)")),
        };
    }
    if target == "*" {
        let (paths, pid) = match cx.opts.pid {
            Some(pid) => (cx.types.process_binaries(pid), Some(pid)),
            None => (cx.types.running_binaries(), None),
        };
        let paths = paths.map_err(|e| cx.err(e))?;
        let shown = |p: &str| pid.map_or(p, |pid| btc_bpfprog::path_in_process(p, pid)).to_string();
        return Ok(paths.iter().map(|p| Binary { shown: shown(p), path: p.clone() }).collect());
    }
    if has_wildcard(target) {
        let found: Vec<Binary> = cx
            .types
            .binary_paths(target, cx.opts.pid)
            .into_iter()
            .filter_map(|p| Some(Binary { path: cx.types.resolve_binary(&p, cx.opts.pid).ok()?, shown: p }))
            .collect();
        if found.is_empty() {
            return Err(cx.err(format!("{provider} target file '{target}' does not exist or is not executable")));
        }
        return Ok(found);
    }
    let path = cx.types.resolve_binary(target, cx.opts.pid).map_err(|e| cx.err(e))?;
    let shown = cx.types.binary_paths(target, cx.opts.pid).into_iter().next().unwrap_or_else(|| path.clone());
    Ok(vec![Binary { shown, path }])
}

/// Whether a uprobe names, by absolute path, a file this system doesn't have, on a plain
/// function name, in an object compiled for running elsewhere (`btc compile` without `-p`/`-c`):
/// nothing about the file is needed until it is attached (by the function's name).
fn absent_here(cx: &Cx<'_>, target: &str, spec: &str) -> bool {
    cx.opts.at_run_time
        && target.starts_with('/')
        && !has_wildcard(target)
        && !std::path::Path::new(target).exists()
        && !spec.is_empty()
        && !has_wildcard(spec)
        && !spec.contains('+')
        && !spec.starts_with(|c: char| c.is_ascii_digit())
}

/// The name a C++ pattern is matched against: the demangled name, without its parameter list
/// unless the pattern has one.
fn cpp_name<'a>(f: &'a ElfFunction, pattern: &str) -> Option<&'a str> {
    let d = f.demangled.as_deref()?;
    if pattern.contains('(') {
        return Some(d);
    }
    Some(match d.rfind('(') {
        Some(i) if d.ends_with(')') || d.contains(") const") => &d[..i],
        _ => d,
    })
}

/// `uprobe:BINARY:FUNC[+OFFSET]`, `uprobe:BINARY:ADDRESS`, `uprobe:BINARY:cpp:FUNC`, and the
/// same for `uretprobe`. BINARY may have wildcards, or be `*`.
pub(super) fn uprobe(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    let (target, cpp, spec) = match rest {
        [f] if cx.opts.pid.is_some() || cx.opts.at_run_time => ("", false, f.as_str()),
        [t, f] => (t.as_str(), false, f.as_str()),
        [t, lang, f] if lang == "cpp" => (t.as_str(), true, f.as_str()),
        [_, lang, _] => return Err(cx.err(format!("unsupported language '{lang}' in {provider} probe (only cpp)"))),
        _ => return Err(cx.err(format!("{provider} probe must be {provider}:BINARY:FUNCTION"))),
    };
    let ret = provider == "uretprobe";
    if spec.is_empty() {
        return Err(cx.err(format!("{provider} probe needs a function name or an address")));
    }
    if !cpp && super::process::deferred(cx, target) {
        return super::process::uprobe(cx, provider, rest, target, spec);
    }
    if !cpp && absent_here(cx, target, spec) {
        // Compiled for another place (`btc compile`): a file that exists only there, or only in
        // the traced process's mount namespace, is attached by name when the object runs.
        let kind = ProbeKind::Uprobe {
            path: target.to_string(),
            symbol: Some(spec.to_string()),
            offset: 0,
            ret: provider == "uretprobe",
            optional: false,
            also: Vec::new(),
        };
        let mut r = ResolvedProbe::new(cx.probe, format!("{provider}:{target}:{spec}"), kind);
        r.func = Some(spec.to_string());
        return Ok(vec![r]);
    }
    let bins = binaries(cx, provider, target)?;

    // An absolute address.
    if !cpp && spec.starts_with(|c: char| c.is_ascii_digit()) {
        let [bin] = bins.as_slice() else {
            return Err(cx.err("Cannot use wildcards with absolute address"));
        };
        return address_probe(cx, provider, bin, spec, ret);
    }

    // Offsets are checked as bpftrace 0.20 checks them, in its words.
    let (pattern, offset) = match spec.split_once('+') {
        Some(_) if ret => {
            return Err(cx.err("Offset not allowed").with_hint("a uretprobe fires when the function returns"));
        }
        Some((_, off)) if off.contains('+') => return Err(cx.err("Cannot take more than one offset")),
        Some((f, off)) => (f, crate::syntax::parse_int(off).ok_or_else(|| cx.err("Invalid offset"))?),
        None => (spec, 0),
    };
    if ret && offset != 0 {
        return Err(cx.err("uretprobes can't have an offset: they fire when the function returns"));
    }
    let several_files = bins.len() > 1 || has_wildcard(target) || target == "*";
    let wild = has_wildcard(pattern);
    let mut out = Vec::new();
    for bin in &bins {
        let funcs = match cx.types.elf_functions(&bin.path) {
            Ok(f) => f,
            // Files of a wildcard that have no symbols to read are skipped.
            Err(_) if several_files => continue,
            Err(e) => return Err(cx.err(e)),
        };
        for f in matching_functions(&funcs, pattern, cpp) {
            out.push(function_probe(cx, provider, bin, f, offset, cpp, wild || several_files)?);
        }
    }
    // bpftrace keeps the matches of an attach point in a sorted set of `PATH:FUNCTION`.
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if out.is_empty() {
        let path = match bins.as_slice() {
            [bin] => bin.path.as_str(),
            _ => target,
        };
        return Err(if wild {
            cx.err(format!("no functions in {path} match {pattern}"))
        } else {
            cx.err(format!("Could not resolve symbol: {path}:{pattern}"))
        });
    }
    Ok(out)
}

/// The functions of a binary `pattern` names, sorted, each once.
fn matching_functions<'f>(funcs: &'f [ElfFunction], pattern: &str, cpp: bool) -> Vec<&'f ElfFunction> {
    let wild = has_wildcard(pattern);
    let mut matched: Vec<&ElfFunction> = funcs
        .iter()
        .filter(|f| {
            if cpp {
                cpp_name(f, pattern).is_some_and(|n| wildcard_match(pattern, n))
            } else if wild {
                // As bpftrace, a wildcard leaves out the compiler's partial clones
                // (`__logout.part.0`); they can still be named.
                wildcard_match(pattern, &f.name) && !f.name.contains(".part.")
            } else {
                f.name == pattern
            }
        })
        .collect();
    matched.sort_by(|a, b| a.name.cmp(&b.name));
    matched.dedup_by(|a, b| a.name == b.name);
    matched
}

/// The probe on function `f` (+ `offset`) of `bin`. `expanded`: it came from a wildcard.
fn function_probe(
    cx: &Cx<'_>,
    provider: &str,
    bin: &Binary,
    f: &ElfFunction,
    offset: u64,
    cpp: bool,
    expanded: bool,
) -> Result<ResolvedProbe, Diagnostic> {
    let ret = provider == "uretprobe";
    if offset != 0 && f.size != 0 && offset >= f.size {
        return Err(cx.err(format!("Offset outside the function bounds ('{}' size is {})", f.name, f.size)));
    }
    check_boundary(cx, &bin.path, f, offset)?;
    let lang = if cpp { "cpp:" } else { "" };
    let mut name = format!("{provider}:{}:{lang}{}", bin.shown, f.name);
    if offset != 0 {
        name.push_str(&format!("+{offset}"));
    }
    let kind = ProbeKind::Uprobe {
        path: bin.path.clone(),
        symbol: Some(f.name.clone()),
        offset,
        ret,
        optional: expanded || cx.several,
        also: Vec::new(),
    };
    let mut r = ResolvedProbe::new(cx.probe, name, kind);
    r.func = Some(cpp_name(f, "").unwrap_or(&f.name).to_string());
    // Hook for typed arguments: the types side fills `args` from the binary's DWARF (a
    // record whose field offsets are the pt_regs offsets of the argument registers, see
    // sema::probe_builtins::ARG_REGS).
    // Arguments are in their registers only at the function's entry.
    if !ret && offset == 0 {
        r.args = uprobe_args(cx, &bin.path, f);
    }
    Ok(r)
}

/// `uprobe:BINARY:ADDRESS`: a probe at a virtual address, which must be inside a function.
fn address_probe(cx: &Cx<'_>, provider: &str, bin: &Binary, spec: &str, ret: bool) -> Resolved {
    let path = &bin.path;
    let address = crate::syntax::parse_int(spec)
        .ok_or_else(|| cx.err(format!("invalid address '{spec}' in {provider} probe")))?;
    if ret {
        // bpftrace resolves the address to symbol+offset and refuses offsets for returns.
        if let Ok(funcs) = cx.types.elf_functions(path) {
            if !funcs.iter().any(|f| f.address == address) {
                return Err(cx.err("uretprobes can only be attached at the start of a function"));
            }
        }
    }
    let containing = cx.types.elf_functions(path).ok().and_then(|fs| {
        fs.into_iter().find(|f| f.address <= address && address < f.address.saturating_add(f.size.max(1)))
    });
    let Some(containing) = containing else {
        return Err(cx.err(format!("Could not resolve address: {path}:{address:#x} (it is not inside a function)")));
    };
    check_boundary(cx, path, &containing, address - containing.address)?;
    let func = Some(containing.demangled.unwrap_or(containing.name));
    let kind = ProbeKind::Uprobe {
        path: path.clone(),
        symbol: None,
        offset: address,
        ret,
        optional: cx.several,
        also: Vec::new(),
    };
    let mut r = ResolvedProbe::new(cx.probe, format!("{provider}:{}:{address}", bin.shown), kind);
    r.func = func;
    Ok(vec![r])
}

/// The typed `args` of a uprobe, from DWARF: each parameter at the `pt_regs` offset of its
/// argument register. None when the binary has no debug info for the function.
fn uprobe_args(cx: &Cx<'_>, path: &str, f: &ElfFunction) -> Option<std::rc::Rc<crate::types::Record>> {
    cx.db.uprobe_args_record(path, &f.name, &crate::sema::probe_builtins::ARG_REGS).ok()
}

/// A uprobe `offset` bytes into function `f` must start an instruction.
fn check_boundary(cx: &Cx<'_>, path: &str, f: &ElfFunction, offset: u64) -> Result<(), Diagnostic> {
    if offset == 0 {
        return Ok(());
    }
    let shown = format!("{path}:{}+{offset}", f.name);
    let code = cx
        .types
        .code_bytes(path, f.address, f.size)
        .map_err(|e| cx.err(format!("can't check that {shown} is on an instruction boundary: {e}")))?;
    match super::x86::instruction_starts(&code) {
        Some(starts) if starts.contains(&offset) => Ok(()),
        Some(_) => Err(cx.err(format!("Could not add uprobe into middle of instruction: {shown}"))),
        None => Err(cx.err(format!("can't check that {shown} is on an instruction boundary"))),
    }
}
