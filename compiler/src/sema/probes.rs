//! Resolving attach points: provider names and their short forms, probe options, wildcard
//! expansion, and the argument types each probe provides.

use crate::ast::{AttachPoint, Program};
use crate::diag::{Diagnostic, Diagnostics};
use crate::types::{tracepoint, Record, TypeSource};
use btc_bpfprog::ProbeKind;
use std::rc::Rc;

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
}

/// Splits an attach point on `:`, keeping quoted parts (`"/path with: colon"`) whole.
pub fn split_attach(raw: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in raw.chars() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => parts.push(String::new()),
            _ => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

/// The canonical provider name for a provider or its short form.
pub fn canonical_provider(p: &str) -> Option<&'static str> {
    Some(match p {
        "BEGIN" => "BEGIN",
        "END" => "END",
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

/// Matches `text` against a pattern with `*` (any run) and `?` (any one character).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// Resolves every attach point of the program.
pub fn resolve(prog: &Program, types: &dyn TypeSource, diags: &mut Diagnostics) -> Vec<ResolvedProbe> {
    let mut out = Vec::new();
    for (i, probe) in prog.probes.iter().enumerate() {
        for ap in &probe.attach {
            match resolve_one(i, ap, types) {
                Ok(mut r) => out.append(&mut r),
                Err(d) => diags.push(d),
            }
        }
    }
    out
}

fn resolve_one(probe: usize, ap: &AttachPoint, types: &dyn TypeSource) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let parts = split_attach(&ap.raw);
    let err = |msg: String| Diagnostic::error(ap.span, msg);
    let provider_raw = parts[0].as_str();
    let Some(provider) = canonical_provider(provider_raw) else {
        let mut d = err(format!("invalid probe type: {provider_raw}"));
        if let Some(s) = crate::suggest::nearest(provider_raw, PROVIDERS) {
            d = d.with_hint(format!("did you mean '{s}'?"));
        }
        return Err(d);
    };
    let single = |kind: ProbeKind, name: String| Ok(vec![ResolvedProbe { probe, name, kind, args: None }]);
    match provider {
        "BEGIN" | "END" => {
            if parts.len() > 1 {
                return Err(err(format!("{provider} probes take no arguments")));
            }
            let kind = if provider == "BEGIN" { ProbeKind::Begin } else { ProbeKind::End };
            single(kind, provider.to_string())
        }
        "interval" | "profile" => {
            let [_, unit, value] = parts.as_slice() else {
                return Err(err(format!(
                    "{provider} probe needs a unit and a value, e.g. {provider}:s:1 or {provider}:hz:99"
                )));
            };
            let n: u64 = crate::syntax::parse_int(value)
                .filter(|&n| n > 0)
                .ok_or_else(|| err(format!("invalid {provider} value '{value}': expected a positive integer")))?;
            let period_ns = match unit.as_str() {
                "s" => n.checked_mul(1_000_000_000),
                "ms" => n.checked_mul(1_000_000),
                "us" => n.checked_mul(1_000),
                "hz" => Some(1_000_000_000 / n),
                _ => return Err(err(format!("invalid {provider} unit '{unit}': expected s, ms, us or hz"))),
            }
            .filter(|&p| p > 0)
            .ok_or_else(|| err(format!("{provider} period out of range: {value}{unit}")))?;
            let name = format!("{provider}:{unit}:{value}");
            let kind =
                if provider == "interval" { ProbeKind::Interval { period_ns } } else { ProbeKind::Profile { period_ns } };
            single(kind, name)
        }
        "tracepoint" => {
            let [_, cat, name] = parts.as_slice() else {
                return Err(err("tracepoint probe must be tracepoint:CATEGORY:NAME".to_string()));
            };
            let matches: Vec<(String, String)> = if has_wildcard(cat) || has_wildcard(name) {
                let all = types.tracepoints().map_err(err)?;
                let m: Vec<_> = all
                    .into_iter()
                    .filter(|(c, n)| wildcard_match(cat, c) && wildcard_match(name, n))
                    .collect();
                if m.is_empty() {
                    return Err(err(format!("no tracepoints match {cat}:{name}")));
                }
                m
            } else {
                vec![(cat.clone(), name.clone())]
            };
            let mut out = Vec::with_capacity(matches.len());
            for (c, n) in matches {
                let text = types.tracepoint_format(&c, &n).map_err(err)?;
                let record = tracepoint::parse_format(&text, c == "syscalls")
                    .map_err(|e| err(format!("cannot read the format of tracepoint {c}:{n}: {e}")))?;
                out.push(ResolvedProbe {
                    probe,
                    name: format!("tracepoint:{c}:{n}"),
                    kind: ProbeKind::Tracepoint { category: c, name: n },
                    args: Some(Rc::new(record)),
                });
            }
            Ok(out)
        }
        other => Err(err(format!("{other} probes are not supported yet"))),
    }
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
    }
}
