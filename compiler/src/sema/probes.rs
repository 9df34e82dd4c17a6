//! Resolving attach points: provider names and their short forms, probe options, wildcard
//! expansion, and the argument types each probe provides.
//!
//! This file dispatches on the provider; each family of providers resolves in its own file:
//! `probes/perf.rs` (interval, profile, software, hardware, watchpoint), `probes/kernel.rs`
//! (kprobe, kretprobe, kfunc, kretfunc, rawtracepoint, iter), `probes/user.rs` (uprobe,
//! uretprobe) and `probes/usdt.rs` (usdt, and the decoding of USDT argument specs).

mod kernel;
mod multi;
mod perf;
mod process;
mod user;
pub mod usdt;
mod watchfunc;
mod x86;

use crate::ast::{AttachPoint, Program};
use crate::diag::{Diagnostic, Diagnostics};
use crate::types::{tracepoint, Record, TypeSource};
use btc_bpfprog::ProbeKind;
use std::rc::Rc;

/// Options that change how attach points resolve.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// The process given with `-p`: uprobe/usdt targets are looked up in its mappings.
    pub pid: Option<i32>,
    /// `-c CMD` is given (a process to trace, like `pid`).
    pub has_child: bool,
    /// The `-c` command: the functions of `watchpoint:FUNC*+argN` are those of its program.
    pub command: Option<String>,
    /// BPFTRACE_MAX_BPF_PROGS: the most programs (probe instances) a script may generate.
    pub max_bpf_progs: u32,
    /// No process is known now: uprobes and USDT probes without a binary (or with `*`) and
    /// `watchpoint:FUNC*+argN` are resolved when the object runs ([`ResolvedProbe::process`]).
    pub at_run_time: bool,
}

/// The default of BPFTRACE_MAX_BPF_PROGS and BPFTRACE_MAX_PROBES.
pub const DEFAULT_MAX_PROBES: u32 = 512;

/// One attach point after resolution and wildcard expansion: one BPF program.
#[derive(Debug, Clone)]
pub struct ResolvedProbe {
    /// Index of the probe (action block) in `Program::probes`.
    pub probe: usize,
    /// Canonical name, e.g. `tracepoint:syscalls:sys_enter_openat`, `interval:s:1`.
    pub name: String,
    pub kind: ProbeKind,
    /// The record behind the `args` builtin, where the probe type has one.
    pub args: Option<Rc<Record>>,
    /// The traced function, for the `func` builtin (kprobes, uprobes, kfuncs).
    pub func: Option<String>,
    /// The argument locations of a USDT probe site.
    pub usdt_args: Option<Rc<Vec<usdt::UsdtArg>>>,
    /// The attach targets are found in the traced process when the object runs; `kind` is a
    /// template (see [`btc_bpfprog::ProcessTarget`]).
    pub process: Option<btc_bpfprog::ProcessTarget>,
    /// The attach point as written, when it names positional parameters the runtime fills in
    /// (`interval:ms:$1`): `kind` is then a placeholder of the right type.
    pub template: Option<String>,
}

impl ResolvedProbe {
    pub(crate) fn new(probe: usize, name: String, kind: ProbeKind) -> ResolvedProbe {
        ResolvedProbe { probe, name, kind, args: None, func: None, usdt_args: None, process: None, template: None }
    }

    /// The provider, as in the canonical name (`kprobe`, `uretprobe`, ...).
    pub fn provider(&self) -> &str {
        self.name.split(':').next().unwrap_or("")
    }
}

/// Splits an attach point on `:`, keeping quoted parts (`"/path with: colon"`) whole; in a
/// quoted part, a backslash makes the next character plain (`"\"probe1\""` is `"probe1"`).
pub fn split_attach(raw: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let plain = match c {
            '"' => {
                quoted = !quoted;
                continue;
            }
            ':' if !quoted => {
                parts.push(String::new());
                continue;
            }
            '\\' if quoted => match chars.next() {
                Some(next) => next,
                None => c,
            },
            _ => c,
        };
        if let Some(last) = parts.last_mut() {
            last.push(plain);
        }
    }
    parts
}

/// The canonical provider name for a provider or its short form.
pub fn canonical_provider(p: &str) -> Option<&'static str> {
    Some(match p {
        // `begin`/`end`: bpftrace 0.24's names for them.
        "BEGIN" | "begin" => "BEGIN",
        "END" | "end" => "END",
        "kprobe" | "k" => "kprobe",
        "kretprobe" | "kr" => "kretprobe",
        "kfunc" | "f" | "fentry" => "kfunc",
        "kretfunc" | "fr" | "fexit" => "kretfunc",
        "uprobe" | "u" => "uprobe",
        "uretprobe" | "ur" => "uretprobe",
        "usdt" | "U" => "usdt",
        "tracepoint" | "t" => "tracepoint",
        "rawtracepoint" | "rt" => "rawtracepoint",
        "profile" | "p" => "profile",
        "interval" | "i" => "interval",
        "software" | "s" => "software",
        "hardware" | "h" => "hardware",
        "watchpoint" | "w" => "watchpoint",
        "asyncwatchpoint" | "aw" => "asyncwatchpoint",
        "iter" | "it" => "iter",
        _ => return None,
    })
}

pub use btc_bpfprog::wildcard_match;


pub(crate) fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// Resolves every attach point of the program.
pub fn resolve(
    prog: &Program,
    db: &crate::types::TypeDb<'_>,
    opts: &ResolveOptions,
    diags: &mut Diagnostics,
) -> Vec<ResolvedProbe> {
    let types = db.source();
    let mut out = Vec::new();
    for (i, probe) in prog.probes.iter().enumerate() {
        let several = probe.attach.len() > 1;
        for ap in &probe.attach {
            let cx = Cx { probe: i, ap, types, db, opts, several };
            match resolve_one(&cx, diags) {
                Ok(r) if r.len() > 1 && is_uprobe(&r[0]) && types.uprobe_multi_links() => {
                    out.extend(multi::group(&ap.raw, probe, r));
                }
                Ok(mut r) => out.append(&mut r),
                Err(d) => diags.push(d),
            }
        }
    }
    kernel::check_iter_rules(prog, &out, diags);
    let max = if opts.max_bpf_progs == 0 { DEFAULT_MAX_PROBES } else { opts.max_bpf_progs };
    if out.len() > max as usize {
        let span = prog.probes.first().and_then(|p| p.attach.first()).map(|a| a.span).unwrap_or_default();
        diags.push(
            Diagnostic::error(
                span,
                format!(
                    "Your program is trying to generate more than {} BPF programs, which exceeds the current limit of {max}",
                    out.len()
                ),
            )
            .with_hint("You can increase the limit through the BPFTRACE_MAX_BPF_PROGS environment variable."),
        );
    }
    out
}

fn is_uprobe(r: &ResolvedProbe) -> bool {
    matches!(r.kind, ProbeKind::Uprobe { .. })
}

/// What resolving one attach point needs.
pub(crate) struct Cx<'a> {
    pub probe: usize,
    pub ap: &'a AttachPoint,
    pub types: &'a dyn TypeSource,
    /// Kernel (BTF) and user (DWARF) types, for typed `args`.
    pub db: &'a crate::types::TypeDb<'a>,
    pub opts: &'a ResolveOptions,
    /// The action block has several attach points.
    pub several: bool,
}

impl Cx<'_> {
    pub fn err(&self, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.ap.span, msg)
    }

    pub fn warn(&self, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::warning(self.ap.span, msg)
    }

    pub fn single(&self, kind: ProbeKind, name: String) -> Result<Vec<ResolvedProbe>, Diagnostic> {
        Ok(vec![ResolvedProbe::new(self.probe, name, kind)])
    }
}

fn resolve_one(cx: &Cx<'_>, diags: &mut Diagnostics) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    // Parameters left in an attach point are completed by the runtime (sema::positional); a
    // USDT probe's binary is found when it runs (`usdt::resolve`).
    if btc_bpfprog::params::has_param(&cx.ap.raw) && !cx.ap.raw.starts_with("usdt:") {
        return template(cx).map(|r| vec![r]);
    }
    let parts = split_attach(&cx.ap.raw);
    let provider_raw = parts[0].as_str();
    let Some(provider) = canonical_provider(provider_raw) else {
        let mut d = cx.err(format!("invalid probe type: {provider_raw}"));
        if let Some(s) = crate::suggest::nearest(provider_raw, PROVIDERS) {
            d = d.with_hint(format!("did you mean '{s}'?"));
        }
        return Err(d);
    };
    let rest = &parts[1..];
    match provider {
        "BEGIN" | "END" => {
            if !rest.is_empty() {
                return Err(cx.err(format!("{provider} probes take no arguments")));
            }
            let kind = if provider == "BEGIN" { ProbeKind::Begin } else { ProbeKind::End };
            // The `probe` builtin names it as written (`begin` in newer scripts).
            cx.single(kind, provider_raw.to_string())
        }
        "interval" | "profile" => perf::timer(cx, provider, rest),
        "software" | "hardware" => perf::event(cx, provider, rest),
        "watchpoint" | "asyncwatchpoint" => perf::watchpoint(cx, provider, rest),
        "tracepoint" => tracepoint(cx, rest),
        "rawtracepoint" => kernel::rawtracepoint(cx, rest),
        "kprobe" | "kretprobe" => kernel::kprobe(cx, provider, rest, diags),
        "kfunc" | "kretfunc" => kernel::kfunc(cx, provider, rest),
        "iter" => kernel::iter(cx, rest),
        "uprobe" | "uretprobe" => user::uprobe(cx, provider, rest),
        "usdt" => usdt::resolve(cx, rest),
        other => Err(cx.err(format!("{other} probes are not supported yet"))),
    }
}

/// A probe whose attach point the runtime completes with its positional parameters
/// (`btc_bpfprog::params::template_parts`): its kind, with a placeholder period for timers.
fn template(cx: &Cx<'_>) -> Result<ResolvedProbe, Diagnostic> {
    let raw = &cx.ap.raw;
    let Some((provider, parts)) = btc_bpfprog::params::template_parts(raw) else {
        return Err(cx.err(format!("{raw}: positional parameters here must be given to btc compile")));
    };
    let kind = match (provider, parts.as_slice()) {
        ("interval", _) => ProbeKind::Interval { period_ns: 1 },
        ("profile", _) => ProbeKind::Profile { period_ns: 1 },
        ("kprobe" | "kretprobe", [func]) => ProbeKind::Kprobe {
            func: func.to_string(),
            module: None,
            offset: 0,
            ret: provider == "kretprobe",
            optional: cx.several,
        },
        ("tracepoint", [category, name]) => ProbeKind::Tracepoint { category: category.to_string(), name: name.to_string() },
        (_, [path, func]) => ProbeKind::Uprobe {
            path: path.to_string(),
            symbol: Some(func.to_string()),
            offset: 0,
            ret: provider == "uretprobe",
            optional: cx.several,
            also: Vec::new(),
        },
        _ => return Err(cx.err(format!("{raw}: positional parameters here must be given to btc compile"))),
    };
    let mut r = ResolvedProbe::new(cx.probe, raw.clone(), kind);
    r.template = Some(raw.clone());
    Ok(r)
}

fn tracepoint(cx: &Cx<'_>, rest: &[String]) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let err = |m: String| cx.err(m);
    let [cat, name] = rest else {
        return Err(err("tracepoint probe must be tracepoint:CATEGORY:NAME".to_string()));
    };
    let types = cx.types;
    let matches: Vec<(String, String)> = if has_wildcard(cat) || has_wildcard(name) {
        let all = types.tracepoints().map_err(err)?;
        let m: Vec<_> =
            all.into_iter().filter(|(c, n)| wildcard_match(cat, c) && wildcard_match(name, n)).collect();
        if m.is_empty() {
            return Err(err(format!("no tracepoints match {cat}:{name}")));
        }
        m
    } else {
        vec![(cat.clone(), name.clone())]
    };
    let mut out = Vec::with_capacity(matches.len());
    for (c, n) in matches {
        let text = types.tracepoint_format(&c, &n).map_err(|e| {
            // bpftrace's hint for the singular category.
            let d = err(e);
            if c == "syscall" { d.with_hint(format!("Did you mean syscalls:{n}?")) } else { d }
        })?;
        let record = tracepoint::parse_format(&text, c == "syscalls")
            .map_err(|e| err(format!("cannot read the format of tracepoint {c}:{n}: {e}")))?;
        let mut r = ResolvedProbe::new(
            cx.probe,
            format!("tracepoint:{c}:{n}"),
            ProbeKind::Tracepoint { category: c, name: n },
        );
        r.args = Some(Rc::new(record));
        out.push(r);
    }
    Ok(out)
}

const PROVIDERS: &[&str] = &[
    "BEGIN",
    "END",
    "kprobe",
    "kretprobe",
    "kfunc",
    "kretfunc",
    "uprobe",
    "uretprobe",
    "usdt",
    "tracepoint",
    "rawtracepoint",
    "profile",
    "interval",
    "software",
    "hardware",
    "watchpoint",
    "asyncwatchpoint",
    "iter",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sys_enter_*", "sys_enter_openat"));
        assert!(wildcard_match("*open*", "sys_enter_openat"));
        assert!(wildcard_match("sys_?nter_openat", "sys_enter_openat"));
        assert!(!wildcard_match("sys_exit_*", "sys_enter_openat"));
    }

    #[test]
    fn split_keeps_quotes() {
        assert_eq!(split_attach("uprobe:\"/a b:c\":f"), vec!["uprobe", "/a b:c", "f"]);
        let quoted = split_attach(r#"usdt:/bin/x:test:"\"probe1\"""#);
        assert_eq!(quoted, vec!["usdt", "/bin/x", "test", "\"probe1\""]);
    }
}
