//! Attach points resolved in the traced process when the object runs: compiled without `-p`
//! and `-c` (`btc compile`), a uprobe or USDT probe that names no binary (or `*`) and a
//! `watchpoint:FUNC*+argN` become one program each, whose [`ProcessTarget`] the runtime
//! expands against the `-p` process or the `-c` child (see runtime/src/process_targets.rs).

use super::{has_wildcard, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use btc_bpfprog::{ProbeKind, ProcessTarget};

type Resolved = Result<Vec<ResolvedProbe>, Diagnostic>;

/// Whether a uprobe or USDT target is found in the traced process when the object runs.
pub(super) fn deferred(cx: &Cx<'_>, target: &str) -> bool {
    cx.opts.at_run_time && (target.is_empty() || target == "*")
}

/// The probe's name as written, with its canonical provider (what the `probe` builtin prints).
fn name_as_written(provider: &str, rest: &[String]) -> String {
    format!("{provider}:{}", rest.join(":"))
}

/// `uprobe:FUNC[+OFFSET]` and `uprobe:*:FUNC[+OFFSET]` (and `uretprobe`).
pub(super) fn uprobe(cx: &Cx<'_>, provider: &str, rest: &[String], target: &str, spec: &str) -> Resolved {
    let ret = provider == "uretprobe";
    if spec.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(cx
            .err(format!("{provider} at an address needs a binary"))
            .with_hint("name the binary, or compile with -p PID"));
    }
    let (pattern, offset) = match spec.split_once('+') {
        Some(_) if ret => {
            return Err(cx.err("Offset not allowed").with_hint("a uretprobe fires when the function returns"));
        }
        Some((f, off)) => (f, crate::syntax::parse_int(off).ok_or_else(|| cx.err("Invalid offset"))?),
        None => (spec, 0),
    };
    let wild = has_wildcard(pattern) || target == "*";
    let kind = ProbeKind::Uprobe {
        path: String::new(),
        symbol: Some(pattern.to_string()),
        offset,
        ret,
        optional: wild || cx.several,
        also: Vec::new(),
    };
    let mut r = ResolvedProbe::new(cx.probe, name_as_written(provider, rest), kind);
    // `func` is known now only when one function is named.
    r.func = (!has_wildcard(pattern)).then(|| pattern.to_string());
    r.process = Some(ProcessTarget::Uprobe { binary: target.to_string(), func: pattern.to_string() });
    Ok(vec![r])
}

/// `usdt:[PROVIDER:]NAME` and `usdt:*:[PROVIDER:]NAME`: each site found when the object runs
/// is attached with its index in the USDT spec table as cookie; the program reads its
/// arguments' locations there.
pub(super) fn usdt(cx: &Cx<'_>, rest: &[String], target: &str, provider: &str, name: &str) -> Resolved {
    let kind = ProbeKind::Usdt {
        path: String::new(),
        provider: provider.to_string(),
        name: name.to_string(),
        address: 0,
        semaphore: None,
        args: None,
    };
    let mut r = ResolvedProbe::new(cx.probe, name_as_written("usdt", rest), kind);
    r.process = Some(ProcessTarget::Usdt {
        binary: target.to_string(),
        provider: provider.to_string(),
        name: name.to_string(),
    });
    Ok(vec![r])
}

/// `watchpoint:FUNC*+argN:LEN:MODE` with a wildcard: one program, whose setter the runtime
/// attaches to every matching function of the traced program.
pub(super) fn watch_func(cx: &Cx<'_>, provider: &str, pattern: &str, arg: u8, len: u8, mode: &str) -> Resolved {
    let is_async = provider == "asyncwatchpoint";
    let kind = ProbeKind::WatchFunc { func: pattern.to_string(), arg, len, mode: mode.to_string(), is_async };
    let name = format!("{provider}:{pattern}+arg{arg}:{len}:{mode}");
    let mut r = ResolvedProbe::new(cx.probe, name, kind);
    r.process = Some(ProcessTarget::WatchFunc { func: pattern.to_string() });
    Ok(vec![r])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_as_written() {
        assert_eq!(name_as_written("uprobe", &["*".into(), "f".into()]), "uprobe:*:f");
        assert_eq!(name_as_written("usdt", &["p".into()]), "usdt:p");
    }
}
