//! Probes on perf events: `interval`, `profile`, `software`, `hardware`, and the breakpoint
//! events behind `watchpoint` / `asyncwatchpoint`.

use super::{Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use btc_bpfprog::ProbeKind;

type Resolved = Result<Vec<ResolvedProbe>, Diagnostic>;

/// A perf event name, its alias, its `PERF_COUNT_*` id and bpftrace's default count.
pub struct PerfEvent {
    pub name: &'static str,
    pub alias: &'static str,
    pub config: u64,
    pub default_period: u64,
}

const fn ev(name: &'static str, alias: &'static str, config: u64, default_period: u64) -> PerfEvent {
    PerfEvent { name, alias, config, default_period }
}

/// perf software events (`PERF_COUNT_SW_*`), with bpftrace's names, aliases and default counts.
pub const SOFTWARE_EVENTS: &[PerfEvent] = &[
    ev("alignment-faults", "", 7, 1),
    ev("bpf-output", "", 10, 1),
    ev("context-switches", "cs", 3, 1000),
    ev("cpu-clock", "cpu", 0, 1_000_000),
    ev("cpu-migrations", "", 4, 1),
    ev("dummy", "", 9, 1),
    ev("emulation-faults", "", 8, 1),
    ev("major-faults", "", 6, 1),
    ev("minor-faults", "", 5, 100),
    ev("page-faults", "faults", 2, 100),
    ev("task-clock", "", 1, 1),
];

/// perf hardware events (`PERF_COUNT_HW_*`), with bpftrace's names, aliases and default counts.
pub const HARDWARE_EVENTS: &[PerfEvent] = &[
    ev("backend-stalls", "", 8, 1_000_000),
    ev("branch-instructions", "branches", 4, 100_000),
    ev("branch-misses", "", 5, 100_000),
    ev("bus-cycles", "", 6, 100_000),
    ev("cache-misses", "", 3, 1_000_000),
    ev("cache-references", "", 2, 1_000_000),
    ev("cpu-cycles", "cycles", 0, 1_000_000),
    ev("frontend-stalls", "", 7, 1_000_000),
    ev("instructions", "", 1, 1_000_000),
    ev("ref-cycles", "", 9, 1_000_000),
];

/// `interval:UNIT:N` and `profile:UNIT:N`.
pub(super) fn timer(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    // bpftrace 0.26: `interval:1s`, `interval:1000000` (nanoseconds), named `interval:us:N`.
    let single = match rest {
        [v] if v.starts_with(|c: char| c.is_ascii_digit()) => Some(v),
        _ => None,
    };
    if let Some(value) = single {
        let ns = if value.ends_with(|c: char| c.is_ascii_alphabetic()) {
            crate::syntax::parse_duration(value)
        } else {
            crate::syntax::parse_int(value)
        }
        .ok_or_else(|| cx.err(format!("Invalid rate of {provider} probe: {value}")))?;
        if ns < 1000 {
            return Err(cx.err(format!("Invalid rate of {provider} probe. Minimum is 1000 or 1us. Found: {ns} nanoseconds")));
        }
        let name = format!("{provider}:us:{}", ns / 1000);
        let kind = if provider == "interval" { ProbeKind::Interval { period_ns: ns } } else { ProbeKind::Profile { period_ns: ns } };
        return cx.single(kind, name);
    }
    let [unit, value] = rest else {
        return Err(cx.err(format!(
            "{provider} probe needs a unit and a value, e.g. {provider}:s:1 or {provider}:hz:99"
        )));
    };
    let n: u64 = crate::syntax::parse_int(value)
        .filter(|&n| n > 0)
        .ok_or_else(|| cx.err(format!("invalid {provider} value '{value}': expected a positive integer")))?;
    let period_ns = match unit.as_str() {
        "s" => n.checked_mul(1_000_000_000),
        "ms" => n.checked_mul(1_000_000),
        "us" => n.checked_mul(1_000),
        "hz" => Some(1_000_000_000 / n),
        _ => return Err(cx.err(format!("invalid {provider} unit '{unit}': expected s, ms, us or hz"))),
    }
    .filter(|&p| p > 0)
    .ok_or_else(|| cx.err(format!("{provider} period out of range: {value}{unit}")))?;
    let name = format!("{provider}:{unit}:{n}");
    let kind = if provider == "interval" { ProbeKind::Interval { period_ns } } else { ProbeKind::Profile { period_ns } };
    cx.single(kind, name)
}

/// `software:EVENT[:COUNT]` and `hardware:EVENT[:COUNT]`.
pub(super) fn event(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    let table = if provider == "software" { SOFTWARE_EVENTS } else { HARDWARE_EVENTS };
    let (event, count) = match rest {
        [e] => (e, None),
        [e, c] if c.is_empty() => (e, None),
        [e, c] => (e, Some(c)),
        _ => return Err(cx.err(format!("{provider} probe must be {provider}:EVENT[:COUNT]"))),
    };
    if event.is_empty() {
        return Err(cx.err(format!("{provider} probe must have a {provider} event name")));
    }
    let Some(ev) = table.iter().find(|e| e.name == event || (!e.alias.is_empty() && e.alias == event)) else {
        let names: Vec<&str> = table.iter().flat_map(|e| [e.name, e.alias]).filter(|n| !n.is_empty()).collect();
        let mut d = cx.err(format!("{event} is not a {provider} probe"));
        if let Some(s) = crate::suggest::nearest(event, &names) {
            d = d.with_hint(format!("did you mean '{s}'?"));
        }
        return Err(d);
    };
    let count = match count {
        None => None,
        Some(c) => Some(
            crate::syntax::parse_int(c)
                .filter(|&n| n > 0)
                .ok_or_else(|| cx.err(format!("{provider} count should be a positive integer, found '{c}'")))?,
        ),
    };
    // bpftrace names the probe as written, with the count in decimal when one was given.
    let name = match count {
        Some(n) => format!("{provider}:{event}:{n}"),
        None => format!("{provider}:{event}"),
    };
    let period = count.unwrap_or(ev.default_period);
    let kind = if provider == "software" {
        ProbeKind::Software { event: ev.name.to_string(), config: ev.config, period }
    } else {
        ProbeKind::Hardware { event: ev.name.to_string(), config: ev.config, period }
    };
    cx.single(kind, name)
}

/// `watchpoint:ADDRESS:LENGTH:MODE`, `watchpoint:FUNCTION+argN:LENGTH:MODE` and the same for
/// `asyncwatchpoint`.
pub(super) fn watchpoint(cx: &Cx<'_>, provider: &str, rest: &[String]) -> Resolved {
    let [addr, len, mode] = rest else {
        return Err(cx.err(format!(
            "{provider} probe must be {provider}:ADDRESS:LENGTH:MODE or {provider}:FUNCTION+argN:LENGTH:MODE"
        )));
    };
    let target = match addr.split_once("+arg") {
        Some((func, n)) => {
            let arg = watched_arg(cx, provider, func, n)?;
            if cx.opts.pid.is_none() && !cx.opts.has_child && !cx.opts.at_run_time {
                return Err(cx
                    .err(format!("-p PID or -c CMD required for {provider}:FUNCTION+argN"))
                    .with_hint("the function is looked up in the traced process's binary"));
            }
            WatchTarget::Arg(arg)
        }
        None => WatchTarget::Address(
            crate::syntax::parse_int(addr)
                .filter(|&a| a != 0)
                .ok_or_else(|| cx.err(format!("{provider} must be attached to a non-zero address, found '{addr}'")))?,
        ),
    };
    let len = crate::syntax::parse_int(len)
        .and_then(|l| u8::try_from(l).ok())
        .filter(|l| [1, 2, 4, 8].contains(l))
        .ok_or_else(|| cx.err(format!("{provider} length must be 1, 2, 4 or 8, found '{len}'")))?;
    let valid_chars = !mode.is_empty() && mode.chars().all(|c| matches!(c, 'r' | 'w' | 'x'));
    let mut seen = [false; 3];
    let mut dup = false;
    for c in mode.chars() {
        let i = match c {
            'r' => 0,
            'w' => 1,
            _ => 2,
        };
        dup |= seen[i];
        seen[i] = true;
    }
    if !valid_chars || dup {
        return Err(cx.err(format!("invalid {provider} mode '{mode}': use a combination of r, w and x")));
    }
    // Canonical order r, w, x; x86-64 debug registers can't watch reads alone or mix x with r/w.
    let canonical: String = ['r', 'w', 'x'].iter().zip(seen).filter(|(_, s)| *s).map(|(c, _)| *c).collect();
    if ["r", "rx", "wx", "rwx"].contains(&canonical.as_str()) {
        return Err(cx.err(format!("{provider} mode '{mode}' is not supported on x86_64 (use w, rw or x)")));
    }
    let is_async = provider == "asyncwatchpoint";
    let (kind, name) = match target {
        WatchTarget::Address(address) => (
            ProbeKind::Watchpoint { address, len, mode: canonical, is_async },
            format!("{provider}:{address}:{len}:{mode}"),
        ),
        WatchTarget::Arg((func, arg)) if super::has_wildcard(&func) && cx.opts.at_run_time => {
            return super::process::watch_func(cx, provider, &func, arg, len, &canonical);
        }
        WatchTarget::Arg((func, arg)) if super::has_wildcard(&func) => {
            return super::watchfunc::expand(cx, provider, &func, arg, len, &canonical);
        }
        WatchTarget::Arg((func, arg)) => (
            ProbeKind::WatchFunc { func: func.clone(), arg, len, mode: canonical, is_async },
            format!("{provider}:{func}+arg{arg}:{len}:{mode}"),
        ),
    };
    cx.single(kind, name)
}

/// What a watchpoint watches: a fixed address, or argument N of a user function.
enum WatchTarget {
    Address(u64),
    Arg((String, u8)),
}

/// The function and argument number of `FUNCTION+argN`.
fn watched_arg(cx: &Cx<'_>, provider: &str, func: &str, n: &str) -> Result<(String, u8), Diagnostic> {
    if func.is_empty() {
        return Err(cx.err(format!("{provider}:+arg{n} needs a function name before '+'")));
    }
    let arg = n
        .parse::<u8>()
        .ok()
        .filter(|&a| u32::from(a) < crate::sema::probe_builtins::MAX_REG_ARGS)
        .ok_or_else(|| {
            cx.err(format!(
                "{provider} argument must be arg0 to arg{}, found 'arg{n}'",
                crate::sema::probe_builtins::MAX_REG_ARGS - 1
            ))
        })?;
    Ok((func.to_string(), arg))
}
