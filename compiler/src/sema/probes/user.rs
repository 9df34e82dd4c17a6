//! User-space probes: `uprobe` / `uretprobe` on functions, function offsets and addresses of
//! ELF binaries and libraries.

use super::{has_wildcard, wildcard_match, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use crate::types::targets::ElfFunction;
use btc_bpfprog::ProbeKind;

type Resolved = Result<Vec<ResolvedProbe>, Diagnostic>;

/// The binary a uprobe/usdt names: `/proc/PID/exe` when only a PID was given, else the path
/// the type source finds (library names through ld.so.cache, programs on $PATH).
pub(super) fn binary(cx: &Cx<'_>, target: &str) -> Result<String, Diagnostic> {
    if target.is_empty() {
        return match cx.opts.pid {
            Some(pid) => Ok(format!("/proc/{pid}/exe")),
            None => Err(cx.err("the probe needs a binary path (or a process given with -p)")),
        };
    }
    cx.types.resolve_binary(target, cx.opts.pid).map_err(|e| cx.err(e))
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
/// same for `uretprobe`.
pub(super) fn uprobe(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    let (target, cpp, spec) = match rest {
        [f] if cx.opts.pid.is_some() => ("", false, f.as_str()),
        [t, f] => (t.as_str(), false, f.as_str()),
        [t, lang, f] if lang == "cpp" => (t.as_str(), true, f.as_str()),
        [_, lang, _] => return Err(cx.err(format!("unsupported language '{lang}' in {provider} probe (only cpp)"))),
        _ => return Err(cx.err(format!("{provider} probe must be {provider}:BINARY:FUNCTION"))),
    };
    let ret = provider == "uretprobe";
    let path = binary(cx, target)?;
    if spec.is_empty() {
        return Err(cx.err(format!("{provider} probe needs a function name or an address")));
    }
    let shown_path = path.clone();
    let lang = if cpp { "cpp:" } else { "" };

    // An absolute address.
    if !cpp && spec.starts_with(|c: char| c.is_ascii_digit()) {
        let address = crate::syntax::parse_int(spec)
            .ok_or_else(|| cx.err(format!("invalid address '{spec}' in {provider} probe")))?;
        if ret {
            // bpftrace resolves the address to symbol+offset and refuses offsets for returns.
            if let Ok(funcs) = cx.types.elf_functions(&path) {
                if !funcs.iter().any(|f| f.address == address) {
                    return Err(cx.err("uretprobes can only be attached at the start of a function"));
                }
            }
        }
        let containing = cx.types.elf_functions(&path).ok().and_then(|fs| {
            fs.into_iter().find(|f| f.address <= address && address < f.address.saturating_add(f.size.max(1)))
        });
        let Some(containing) = containing else {
            return Err(cx.err(format!("Could not resolve address: {path}:{address:#x} (it is not inside a function)")));
        };
        check_boundary(cx, &path, &containing, address - containing.address)?;
        let func = Some(containing.demangled.unwrap_or(containing.name));
        let kind = ProbeKind::Uprobe { path: path.clone(), symbol: None, offset: address, ret };
        let mut r = ResolvedProbe::new(cx.probe, format!("{provider}:{shown_path}:{address}"), kind);
        r.func = func;
        return Ok(vec![r]);
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
    let funcs = cx.types.elf_functions(&path).map_err(|e| cx.err(e))?;
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
    if matched.is_empty() {
        return Err(if wild {
            cx.err(format!("no functions in {path} match {pattern}"))
        } else {
            cx.err(format!("Could not resolve symbol: {path}:{pattern}"))
        });
    }
    let mut out = Vec::with_capacity(matched.len());
    for f in matched {
        if offset != 0 && f.size != 0 && offset >= f.size {
            return Err(cx.err(format!("Offset outside the function bounds ('{}' size is {})", f.name, f.size)));
        }
        check_boundary(cx, &path, f, offset)?;
        let mut name = format!("{provider}:{shown_path}:{lang}{}", f.name);
        if offset != 0 {
            name.push_str(&format!("+{offset}"));
        }
        let kind = ProbeKind::Uprobe { path: path.clone(), symbol: Some(f.name.clone()), offset, ret };
        let mut r = ResolvedProbe::new(cx.probe, name, kind);
        r.func = Some(cpp_name(f, "").unwrap_or(&f.name).to_string());
        // Hook for typed arguments: the types side fills `args` from the binary's DWARF (a
        // record whose field offsets are the pt_regs offsets of the argument registers, see
        // sema::probe_builtins::ARG_REGS).
        // Arguments are in their registers only at the function's entry.
        if !ret && offset == 0 {
            r.args = uprobe_args(cx, &path, f);
        }
        out.push(r);
    }
    Ok(out)
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
