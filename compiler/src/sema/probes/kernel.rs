//! Kernel probes: `kprobe` / `kretprobe`, `kfunc` / `kretfunc` (fentry/fexit), `rawtracepoint`
//! and `iter`.

use super::{has_wildcard, wildcard_match, Cx, ResolvedProbe};
use crate::ast::Program;
use crate::diag::{Diagnostic, Diagnostics};
use crate::types::targets::KernelFunction;
use btc_bpfprog::ProbeKind;

type Resolved = Result<Vec<ResolvedProbe>, Diagnostic>;

/// The iterators btc supports (`iter:NAME`).
pub const ITERATORS: &[&str] = &["task", "task_file", "task_vma"];

/// Splits `[MODULE:]FUNC[+OFFSET]`.
fn module_func(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Result<(Option<String>, String, u64), Diagnostic> {
    let (module, spec) = match rest {
        [f] => (None, f.as_str()),
        [m, f] => (Some(m.clone()).filter(|m| !m.is_empty()), f.as_str()),
        _ => return Err(cx.err(format!("{provider} probe must be {provider}:[MODULE:]FUNCTION"))),
    };
    let (func, offset) = match spec.split_once('+') {
        Some((f, off)) => {
            let o = crate::syntax::parse_int(off)
                .ok_or_else(|| cx.err(format!("invalid offset '{off}' in {provider} probe")))?;
            (f.to_string(), o)
        }
        None => (spec.to_string(), 0),
    };
    if func.is_empty() {
        return Err(cx.err(format!("{provider} probe needs a function name")));
    }
    Ok((module, func, offset))
}

fn display(module: &Option<String>, func: &str) -> String {
    match module {
        Some(m) => format!("{m}:{func}"),
        None => func.to_string(),
    }
}

/// Kernel functions matching `[module:]pattern`, as bpftrace matches them: `.part.N` clones
/// can't be traced and are skipped.
fn matching(list: &[KernelFunction], module: &Option<String>, pattern: &str) -> Vec<KernelFunction> {
    let mut out: Vec<KernelFunction> = list
        .iter()
        .filter(|f| match module {
            Some(m) => f.module.as_deref().is_some_and(|fm| wildcard_match(m, fm)),
            None => true,
        })
        .filter(|f| wildcard_match(pattern, &f.name) && !f.name.contains(".part."))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `FUNC[+OFFSET]` of a kprobe, checked as bpftrace 0.20 checks it (and in its words).
fn kprobe_func(cx: &Cx<'_>, provider: &str, spec: &str) -> Result<(String, u64), Diagnostic> {
    let Some((func, off)) = spec.split_once('+') else { return Ok((spec.to_string(), 0)) };
    if provider == "kretprobe" {
        return Err(cx.err("Offset not allowed").with_hint("a kretprobe fires when the function returns"));
    }
    if off.contains('+') {
        return Err(cx.err("Cannot take more than one offset"));
    }
    let offset = crate::syntax::parse_int(off).filter(|_| !func.is_empty()).ok_or_else(|| cx.err("Invalid offset"))?;
    Ok((func.to_string(), offset))
}

/// `kprobe:FUNC[+OFFSET]` and `kretprobe:FUNC`. (bpftrace 0.20 has no `kprobe:MODULE:FUNC`.)
pub(super) fn kprobe(cx: &Cx<'_>, provider: &str, rest: &[String], diags: &mut Diagnostics) -> Resolved {
    let [spec] = rest else {
        return Err(cx.err(format!("{provider} probe type requires 1 arguments, found {}", rest.len())));
    };
    let (func, offset) = kprobe_func(cx, provider, spec)?;
    if func.is_empty() {
        return Err(cx.err(format!("{provider} probe needs a function name")));
    }
    // `kprobe:MODULE:FUNC` (bpftrace 0.21 and later) is refused above; what follows still takes
    // a module, for a later bpftrace-compatibility switch.
    let module: Option<String> = None;
    let ret = provider == "kretprobe";
    let wild = has_wildcard(&func) || module.as_deref().is_some_and(has_wildcard);
    let funcs: Vec<KernelFunction> = if wild {
        // The same list as `btc list`'s (available_filter_functions, else the functions of
        // /proc/kallsyms, with a warning saying so).
        let all = cx
            .types
            .kernel_functions()
            .map_err(|e| cx.err(format!("can't expand {provider}:{}: {e}", display(&module, &func))))?;
        if let Some(note) = cx.types.kernel_functions_note() {
            diags.push(cx.warn(format!("{note}; {provider}:{} is expanded against them", display(&module, &func))));
        }
        let m = matching(&all, &module, &func);
        if m.is_empty() {
            return Err(cx.err(format!("no kernel functions match {}", display(&module, &func))));
        }
        m
    } else {
        // Like bpftrace, warn (don't fail) when the function isn't in the list of traceable ones.
        if let Ok(all) = cx.types.kernel_functions() {
            if matching(&all, &module, &func).is_empty() {
                diags.push(cx.warn(format!(
                    "{func} is not traceable (either non-existing, inlined, or marked as \"notrace\"); attaching to it will likely fail"
                )));
            }
        }
        vec![KernelFunction { module: module.clone(), name: func.clone() }]
    };
    let optional = wild || cx.several;
    let out = funcs
        .into_iter()
        .map(|f| {
            let mut name = format!("{provider}:{}", display(&f.module.clone().filter(|_| module.is_some()), &f.name));
            if offset != 0 {
                name.push_str(&format!("+{offset}"));
            }
            let kind = ProbeKind::Kprobe {
                func: f.name.clone(),
                module: f.module.clone().filter(|_| module.is_some()),
                offset,
                ret,
                optional,
            };
            let mut r = ResolvedProbe::new(cx.probe, name, kind);
            r.func = Some(f.name);
            r
        })
        .collect();
    Ok(out)
}

/// `kfunc:[MODULE:]FUNC` and `kretfunc:[MODULE:]FUNC` (fentry/fexit).
pub(super) fn kfunc(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    let (module, func, offset) = module_func(cx, provider, rest)?;
    if offset != 0 {
        return Err(cx.err(format!("{provider} probes can't have an offset")));
    }
    let wild = has_wildcard(&func) || module.as_deref().is_some_and(has_wildcard);
    let funcs = if wild {
        let all = cx
            .types
            .btf_functions()
            .map_err(|e| cx.err(format!("can't expand {provider}:{}: {e}", display(&module, &func))))?;
        let m = matching(&all, &module, &func);
        if m.is_empty() {
            return Err(cx.err(format!("no kernel functions with BTF match {}", display(&module, &func))));
        }
        m
    } else {
        vec![KernelFunction { module: module.clone(), name: func.clone() }]
    };
    let ret = provider == "kretfunc";
    Ok(funcs
        .into_iter()
        .map(|f| {
            let module = f.module.clone().filter(|_| module.is_some());
            let name = format!("{provider}:{}", display(&module, &f.name));
            let mut r = ResolvedProbe::new(cx.probe, name, ProbeKind::Kfunc { func: f.name.clone(), module, ret });
            // Hook for typed arguments: the types side fills `args` from the function's BTF
            // prototype (a record whose field offsets are 8 * argument index in the context).
            r.args = kfunc_args(cx, &f);
            r.func = Some(f.name);
            r
        })
        .collect())
}

/// The typed `args` of a kfunc, from BTF (field offsets `8 * i`, the slots of the fentry
/// context).
fn kfunc_args(cx: &Cx<'_>, f: &KernelFunction) -> Option<std::rc::Rc<crate::types::Record>> {
    cx.db.kfunc_args(&f.name)
}

/// `rawtracepoint:[MODULE:]NAME`.
pub(super) fn rawtracepoint(cx: &Cx<'_>, rest: &[String]) -> Resolved {
    let (module, name) = match rest {
        [n] => (None, n.clone()),
        [m, n] => (Some(m.clone()).filter(|m| !m.is_empty()), n.clone()),
        _ => return Err(cx.err("rawtracepoint probe must be rawtracepoint:[MODULE:]NAME")),
    };
    if name.is_empty() {
        return Err(cx.err("rawtracepoint probe needs a tracepoint name"));
    }
    let names: Vec<String> = if has_wildcard(&name) {
        // Raw tracepoints share their names with tracepoints; the per-syscall ones are not
        // raw tracepoints (only sys_enter / sys_exit are).
        let all = cx.types.tracepoints().map_err(|e| cx.err(e))?;
        let mut m: Vec<String> = all
            .into_iter()
            .filter(|(c, n)| c != "syscalls" && wildcard_match(&name, n))
            .filter(|(c, _)| module.as_deref().is_none_or(|m| wildcard_match(m, c)))
            .map(|(_, n)| n)
            .collect();
        m.sort();
        m.dedup();
        if m.is_empty() {
            return Err(cx.err(format!("no raw tracepoints match {name}")));
        }
        m
    } else {
        vec![name]
    };
    Ok(names
        .into_iter()
        .map(|n| {
            let shown = match &module {
                Some(m) if !has_wildcard(m) => format!("rawtracepoint:{m}:{n}"),
                _ => format!("rawtracepoint:{n}"),
            };
            let mut r = ResolvedProbe::new(cx.probe, shown, ProbeKind::RawTracepoint { name: n.clone(), btf: false });
            r.args = rawtracepoint_args(cx, &n);
            r
        })
        .collect())
}

/// Typed `args` of a raw tracepoint, from the BTF prototype `btf_trace_NAME` (its first
/// parameter, `void *`, dropped): a record whose field offsets are `8 * i` reads correctly from
/// the raw tracepoint context as it is.
fn rawtracepoint_args(cx: &Cx<'_>, name: &str) -> Option<std::rc::Rc<crate::types::Record>> {
    cx.db.rawtracepoint_args(name)
}

/// `iter:NAME[:PIN]`.
pub(super) fn iter(cx: &Cx<'_>, rest: &[String]) -> Resolved {
    let (target, pin) = match rest {
        [t] => (t, None),
        [t, p] if !p.is_empty() => (t, Some(p.clone())),
        _ => return Err(cx.err("iter probe must be iter:NAME or iter:NAME:PIN")),
    };
    if has_wildcard(target) {
        return Err(cx.err("iter probe type does not support wildcards"));
    }
    if !ITERATORS.contains(&target.as_str()) {
        let mut d = cx.err(format!("iter {target} is not supported (btc supports {})", ITERATORS.join(", ")));
        if let Some(s) = crate::suggest::nearest(target, ITERATORS) {
            d = d.with_hint(format!("did you mean '{s}'?"));
        }
        return Err(d);
    }
    // `ctx` in an iterator is a `struct bpf_iter__TARGET *` (BTF): typing it is the types side's
    // job; code generation reads its fields with plain context loads (`ctx->task` is at 8).
    cx.single(ProbeKind::Iter { target: target.clone(), pin }, format!("iter:{target}"))
}

/// bpftrace's rules for iterators: one attach point per block, and no other probes beside it
/// except BEGIN and END.
pub(super) fn check_iter_rules(prog: &Program, resolved: &[ResolvedProbe], diags: &mut Diagnostics) {
    for probe in &prog.probes {
        let mut iters =
            probe.attach.iter().filter(|a| super::canonical_provider(&super::split_attach(&a.raw)[0]) == Some("iter"));
        if probe.attach.len() > 1 {
            if let Some(ap) = iters.next() {
                diags.push(Diagnostic::error(ap.span, "Only single iter attach point is allowed."));
            }
        }
    }
    let iter_count = resolved.iter().filter(|r| matches!(r.kind, ProbeKind::Iter { .. })).count();
    let others = resolved
        .iter()
        .find(|r| !matches!(r.kind, ProbeKind::Iter { .. } | ProbeKind::Begin | ProbeKind::End));
    if iter_count > 1 || (iter_count == 1 && others.is_some()) {
        let span = resolved
            .iter()
            .filter(|r| matches!(r.kind, ProbeKind::Iter { .. }))
            .nth(if iter_count > 1 { 1 } else { 0 })
            .and_then(|r| prog.probes.get(r.probe))
            .and_then(|p| p.attach.first())
            .map(|a| a.span)
            .unwrap_or_default();
        diags.push(Diagnostic::error(span, "an iter probe can't be mixed with other probes (except BEGIN and END)"));
    }
}
