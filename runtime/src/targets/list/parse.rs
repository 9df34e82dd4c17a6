//! A `-l` search as bpftrace 0.20 reads it: comma-separated attach points, each split at `:`
//! into parts; a probe type with a wildcard (or a search of one part) stands for every probe
//! type of the kernel list, or of the userspace list when a PID is given or the second part is
//! a path; each attach point is then read by the rules of its probe type and checked as the
//! semantic analyser checks it when listing.

use super::super::binaries::{self, has_wildcard};
use super::{Diag, Sources};
use btc_bpfprog::wildcard_match;

/// A probe type: its name, its short names, and whether a wildcarded probe type lists it among
/// the kernel's or userspace's probe types.
struct ProbeType {
    name: &'static str,
    aliases: &'static [&'static str],
    kernel_list: bool,
    user_list: bool,
}

const fn pt(name: &'static str, aliases: &'static [&'static str], kernel_list: bool, user_list: bool) -> ProbeType {
    ProbeType { name, aliases, kernel_list, user_list }
}

/// bpftrace 0.20's probe types.
const PROBE_TYPES: &[ProbeType] = &[
    pt("kprobe", &["k"], true, false),
    pt("kretprobe", &["kr"], false, false),
    pt("uprobe", &["u"], false, true),
    pt("uretprobe", &["ur"], false, false),
    pt("usdt", &["U"], false, true),
    pt("BEGIN", &["BEGIN"], false, false),
    pt("END", &["END"], false, false),
    pt("tracepoint", &["t"], true, false),
    pt("profile", &["p"], false, false),
    pt("interval", &["i"], false, false),
    pt("software", &["s"], true, false),
    pt("hardware", &["h"], true, false),
    pt("watchpoint", &["w"], false, false),
    pt("asyncwatchpoint", &["aw"], false, false),
    pt("kfunc", &["f", "fentry"], true, false),
    pt("kretfunc", &["fr", "fexit"], false, false),
    pt("iter", &["it"], true, false),
    pt("rawtracepoint", &["rt"], true, false),
];

/// The probe type `name` (or short name) stands for.
fn probe_type(name: &str) -> Option<&'static str> {
    PROBE_TYPES.iter().find(|p| p.name == name || p.aliases.contains(&name)).map(|p| p.name)
}

/// One attach point to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Ap {
    /// The probe type's full name (`kprobe`, `BEGIN`, ...).
    pub provider: &'static str,
    pub target: String,
    /// The USDT provider.
    pub ns: String,
    pub func: String,
    /// `cpp` for `uprobe:BIN:cpp:FUNC`.
    pub lang: String,
    /// A uprobe at an address (`uprobe:BIN:0x1234`) or an offset.
    pub address: u64,
    pub offset: i64,
    /// Byte range of the attach point in the search.
    pub span: (usize, usize),
    /// Made by expanding a wildcarded probe type: an attach point this probe type can't read is
    /// left out instead of being an error.
    pub ignore_invalid: bool,
}

/// The raw attach points of a search (split at commas outside quotes) with their byte ranges;
/// whitespace outside quotes is dropped, as bpftrace's lexer drops it.
fn split_search(search: &str) -> Vec<(String, (usize, usize))> {
    let mut out = Vec::new();
    let (mut raw, mut start, mut end, mut quoted) = (String::new(), None, 0, false);
    for (i, c) in search.char_indices() {
        if c == ',' && !quoted {
            let s = start.take().unwrap_or(i);
            out.push((std::mem::take(&mut raw), (s, end.max(s))));
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            continue;
        }
        start.get_or_insert(i);
        end = i + c.len_utf8();
        raw.push(c);
    }
    let s = start.unwrap_or(search.len());
    out.push((raw, (s, end.max(s))));
    out
}

/// The parts of an attach point: split at `:` outside quotes, quotes removed, `\x` inside
/// quotes taken as `x`.
fn lex(raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut cur, mut quoted) = (String::new(), false);
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' if !quoted => parts.push(std::mem::take(&mut cur)),
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                } else {
                    cur.push(c);
                }
            }
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// C's strtoll/strtoull with base 0 (leading spaces, a sign, `0x` for hex, a leading 0 for
/// octal), as C++'s stoll/stoull call them: the value and how many bytes it took; the error is
/// the exception's text (`stoll`/`stoull`). strtoull takes a minus sign and wraps.
fn c_strto(s: &str, unsigned: bool) -> Result<(i128, usize), String> {
    let what = if unsigned { "stoull" } else { "stoll" };
    let b = s.as_bytes();
    let mut i = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let mut neg = false;
    if let Some(&c @ (b'+' | b'-')) = b.get(i) {
        neg = c == b'-';
        i += 1;
    }
    let hex = b.get(i) == Some(&b'0')
        && matches!(b.get(i + 1), Some(b'x' | b'X'))
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
    let (radix, start) = if hex {
        (16, i + 2)
    } else if b.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let (mut v, mut j, mut overflow) = (0i128, start, false);
    while let Some(d) = b.get(j).and_then(|&c| char::from(c).to_digit(radix)) {
        v = v * i128::from(radix) + i128::from(d);
        overflow |= v > i128::from(u64::MAX);
        if overflow {
            v = i128::from(u64::MAX) + 1;
        }
        j += 1;
    }
    if j == start {
        return Err(what.into());
    }
    let v = if neg { -v } else { v };
    if unsigned {
        if overflow {
            return Err(what.into());
        }
        Ok((v.rem_euclid(1i128 << 64), j))
    } else if v > i128::from(i64::MAX) || v < i128::from(i64::MIN) {
        Err(what.into())
    } else {
        Ok((v, j))
    }
}

/// An attach point number as bpftrace reads one (its int_parser): `_` separators ignored, hex,
/// octal or decimal, an optional `u`/`l`/`ll`/`ul`/`ull` suffix, or scientific notation
/// (`2e3`); the error is bpftrace's text.
fn to_int(s: &str, unsigned: bool) -> Result<i128, String> {
    let n: String = s.chars().filter(|&c| c != '_').collect();
    let plain = |n: &str| -> Result<i128, String> {
        let (v, used) = c_strto(n, unsigned)?;
        let trail = n[used..].to_ascii_lowercase();
        if used != n.len() && !matches!(trail.as_str(), "u" | "l" | "ll" | "ul" | "ull") {
            return Err("Found trailing non-numeric characters".into());
        }
        Ok(v)
    };
    if n.starts_with("0x") || n.starts_with("0X") {
        return plain(&n);
    }
    let Some(pos) = n.find(['e', 'E']) else { return plain(&n) };
    let (coeff, exp) = (&n[..pos], &n[pos + 1..]);
    let c = plain(coeff)
        .map_err(|e| format!("Coefficient part of scientific literal is not a valid number: {coeff}: {e}"))?;
    let e = plain(exp).map_err(|e| format!("Exponent part of scientific literal is not a valid number: {exp}: {e}"))?;
    if c > 9 {
        return Err(format!("Coefficient part of scientific literal must be in range (0,9), got: {coeff}"));
    }
    if e > 16 {
        return Err(format!("Exponent will overflow integer range: {exp}"));
    }
    Ok(c * 10i128.pow(u32::try_from(e.max(0)).unwrap_or(0)))
}

enum Parsed {
    Ok(Ap),
    Skip,
    /// Replaced by attach points of each probe type a wildcard matched.
    Expand(Vec<(String, bool)>),
    Invalid(String),
    /// Invalid before its probe type was known.
    Untyped(String),
}

fn count_error(provider: &str, parts: &[String], expected: usize, or: Option<usize>) -> Parsed {
    let or = or.map(|n| format!(" or {n}")).unwrap_or_default();
    Parsed::Invalid(format!("{provider} probe type requires {expected}{or} arguments, found {}", parts.len() - 1))
}

/// Reads every attach point of `search`; errors and warnings go to `diags`.
pub(super) fn attach_points(search: &str, src: &mut Sources<'_>, diags: &mut Vec<Diag>) -> Vec<Ap> {
    let whole = (0, search.trim_end().len());
    let mut queue: Vec<(String, (usize, usize), bool)> =
        split_search(search).into_iter().map(|(raw, span)| (raw, span, false)).collect();
    let mut out = Vec::new();
    let mut typed_invalid = false;
    let mut i = 0;
    while i < queue.len() {
        let (raw, span, ignore_invalid) = queue[i].clone();
        i += 1;
        match parse_one(&raw, span, ignore_invalid, src) {
            Parsed::Ok(ap) => out.push(ap),
            Parsed::Skip => {}
            Parsed::Expand(raws) => queue.extend(raws.into_iter().map(|(r, ign)| (r, span, ign))),
            Parsed::Invalid(m) => {
                typed_invalid = true;
                diags.push(Diag::error(span, m));
            }
            Parsed::Untyped(m) => diags.push(Diag::error(span, m)),
        }
    }
    // An attach point whose probe type is known stays in the probe even when it is invalid;
    // only when none is left is the probe itself wrong.
    if out.is_empty() && !typed_invalid {
        diags.push(Diag::error(whole, "No attach points for probe"));
    }
    out
}

fn parse_one(raw: &str, span: (usize, usize), ignore_invalid: bool, src: &mut Sources<'_>) -> Parsed {
    let mut parts = lex(raw);
    if parts[0].is_empty() {
        // An empty attach point (a trailing comma) is no error.
        return Parsed::Skip;
    }
    let provider = if has_wildcard(&parts[0]) {
        let query = if parts.len() == 1 { "*" } else { parts[0].as_str() };
        let user = src.pid.is_some() || parts.get(1).is_some_and(|p| p.contains('/'));
        let mut types: Vec<&str> = PROBE_TYPES
            .iter()
            .filter(|p| if user { p.user_list } else { p.kernel_list })
            .filter(|p| p.name != "kfunc" || src.has_kfunc())
            .map(|p| p.name)
            .filter(|n| wildcard_match(query, n))
            .collect();
        types.sort_unstable();
        match types.as_slice() {
            [] => return Parsed::Untyped(format!("No probe type matched for {}", parts[0])),
            [one] => *one,
            many => {
                let rest = if parts.len() > 1 { raw.split_once(':').map_or(raw, |(_, r)| r) } else { raw };
                return Parsed::Expand(many.iter().map(|t| (format!("{t}:{rest}"), true)).collect());
            }
        }
    } else {
        match probe_type(&parts[0]) {
            Some(p) => p,
            None => return Parsed::Invalid(format!("Invalid probe type: {}", parts[0])),
        }
    };
    let mut ap = Ap { provider, span, ignore_invalid, ..Ap::default() };
    let skip_or = |e: Parsed| if ignore_invalid { Parsed::Skip } else { e };
    match provider {
        "BEGIN" | "END" => {
            if parts.len() == 2 && parts[1] == "*" {
                parts.pop();
            }
            if parts.len() != 1 {
                return count_error(provider, &parts, 0, None);
            }
        }
        "kprobe" | "kretprobe" => {
            if parts.len() != 2 {
                return skip_or(count_error(provider, &parts, 1, None));
            }
            match split_offset(&parts[1], provider == "kprobe") {
                Ok((func, offset)) => (ap.func, ap.offset) = (func, offset),
                Err(e) => return Parsed::Invalid(e),
            }
        }
        "uprobe" | "uretprobe" => {
            if let Some(pid) = src.pid {
                if parts.len() == 2 || (parts.len() == 3 && parts[1] == "cpp") {
                    if parts.len() == 2 {
                        parts.insert(1, String::new());
                    }
                    parts[1] = binaries::path_for_pid_mountns(pid, &binaries::pid_exe(pid).unwrap_or_default());
                }
            }
            if parts.len() != 3 && parts.len() != 4 {
                return skip_or(count_error(provider, &parts, 2, Some(3)));
            }
            if parts.len() == 4 {
                ap.lang = parts[2].clone();
            }
            if !has_wildcard(&parts[1]) {
                if let Some(lib) = parts[1].strip_prefix("lib") {
                    ap.target = binaries::which_so(lib, src.pid).unwrap_or_default();
                }
            }
            if ap.target.is_empty() {
                ap.target = parts[1].clone();
            }
            let func = parts.last().cloned().unwrap_or_default();
            if func.contains('+') {
                match split_offset(&func, provider == "uprobe") {
                    Ok((f, offset)) => (ap.func, ap.offset) = (f, offset),
                    Err(e) => return Parsed::Invalid(e),
                }
            } else if let Ok(addr) = to_int(&func, false) {
                if has_wildcard(&ap.target) {
                    return Parsed::Invalid("Cannot use wildcards with absolute address".into());
                }
                ap.address = u64::try_from(addr.rem_euclid(1i128 << 64)).unwrap_or(0);
            } else {
                ap.func = func;
            }
        }
        "usdt" => {
            if src.pid.is_some() && parts.len() == 2 {
                parts.insert(1, String::new());
            }
            match parts.len() {
                3 => (ap.target, ap.func) = (parts[1].clone(), parts[2].clone()),
                4 => (ap.target, ap.ns, ap.func) = (parts[1].clone(), parts[2].clone(), parts[3].clone()),
                _ => return skip_or(count_error(provider, &parts, 2, Some(3))),
            }
        }
        "tracepoint" => {
            // `tracepoint:*foo*` looks for the event name in every category.
            if parts.len() == 2 && has_wildcard(&parts[1]) {
                parts.insert(1, "*".into());
            }
            if parts.len() != 3 {
                return skip_or(count_error(provider, &parts, 2, None));
            }
            (ap.target, ap.func) = (parts[1].clone(), parts[2].clone());
        }
        "profile" | "interval" => {
            if parts.len() == 2 && has_wildcard(&parts[1]) {
                ap.target = parts[1].clone();
            } else if parts.len() != 3 {
                return count_error(provider, &parts, 2, None);
            } else {
                ap.target = parts[1].clone();
                if let Err(e) = to_int(&parts[2], true) {
                    return Parsed::Invalid(format!("{e}\nInvalid rate of {provider} probe"));
                }
            }
        }
        "software" | "hardware" => {
            if parts.len() != 2 && parts.len() != 3 {
                return skip_or(count_error(provider, &parts, 1, Some(2)));
            }
            ap.target = parts[1].clone();
            if parts.len() == 3 && parts[2] != "*" {
                if let Err(e) = to_int(&parts[2], true) {
                    return Parsed::Invalid(format!("{e}\nInvalid count for {provider} probe"));
                }
            }
        }
        "watchpoint" | "asyncwatchpoint" => {
            if parts.len() != 4 {
                return count_error(provider, &parts, 3, None);
            }
            // Watchpoints have nothing to list.
            return Parsed::Skip;
        }
        "kfunc" | "kretfunc" => match parts.len() {
            3 => (ap.target, ap.func) = (parts[1].clone(), parts[2].clone()),
            2 => {
                ap.func = parts[1].clone();
                if ap.func.contains('*') {
                    ap.target = "*".into();
                } else {
                    let modules = src.kernel_function_modules(&ap.func);
                    match modules.as_slice() {
                        [] => {}
                        [one] => ap.target = one.clone(),
                        _ => ap.target = "*".into(),
                    }
                }
            }
            _ => return skip_or(count_error(provider, &parts, 1, Some(2))),
        },
        "iter" => {
            if parts.len() != 2 && parts.len() != 3 {
                return skip_or(Parsed::Invalid(format!("{provider} probe type takes 2 arguments (1 optional)")));
            }
            ap.func = parts[1].clone();
        }
        "rawtracepoint" => {
            if parts.len() != 2 {
                return skip_or(count_error(provider, &parts, 1, None));
            }
            ap.func = parts[1].clone();
        }
        _ => return Parsed::Invalid(format!("Invalid probe type: {provider}")),
    }
    Parsed::Ok(ap)
}

/// `FUNC+OFFSET` split, with bpftrace's errors.
fn split_offset(s: &str, allowed: bool) -> Result<(String, i64), String> {
    match s.matches('+').count() {
        0 => Ok((s.to_string(), 0)),
        _ if !allowed => Err("Offset not allowed".into()),
        1 => {
            let (f, o) = s.split_once('+').unwrap_or((s, ""));
            if f.is_empty() || o.is_empty() {
                return Err("Invalid offset".into());
            }
            match to_int(o, false) {
                Ok(n) => Ok((f.to_string(), i64::try_from(n).unwrap_or(0))),
                Err(e) => Err(format!("{e}\nInvalid offset")),
            }
        }
        _ => Err("Cannot take more than one offset".into()),
    }
}

/// The listing checks of bpftrace's semantic analyser: targets are resolved to the files they
/// stand for (kept as the user wrote them when they name one file), and misuse is reported.
pub(super) fn check(aps: &mut [Ap], src: &mut Sources<'_>, diags: &mut Vec<Diag>) {
    for ap in aps.iter_mut() {
        let mut err = |m: String| diags.push(Diag::error(ap.span, m));
        let p = ap.provider;
        match p {
            "kprobe" | "kretprobe" => {
                if ap.func.is_empty() {
                    err("kprobes should be attached to a function".into());
                } else if !has_wildcard(&ap.func) && !src.is_traceable(&ap.func) {
                    diags.push(Diag::warning(
                        ap.span,
                        format!(
                            "{} is not traceable (either non-existing, inlined, or marked as \"notrace\"); attaching to it will likely fail",
                            ap.func
                        ),
                    ));
                }
            }
            "uprobe" | "uretprobe" => {
                if ap.target.is_empty() {
                    err(format!("{p} should have a target"));
                }
                if ap.func.is_empty() && ap.address == 0 {
                    err(format!("{p} should be attached to a function and/or address"));
                }
                if !ap.lang.is_empty() && ap.lang != "cpp" {
                    err(format!("unsupported language type: {}", ap.lang));
                }
                if p == "uretprobe" && ap.offset != 0 {
                    err("uretprobes can not be attached to a function offset".into());
                }
                let paths = if ap.target == "*" {
                    match src.pid {
                        Some(pid) => binaries::mapped_paths(pid),
                        None => binaries::mapped_paths_of_all_processes(),
                    }
                } else {
                    binaries::resolve_binary_paths(&ap.target, src.pid)
                };
                resolve_target(ap, &paths, "uprobe", diags);
            }
            "usdt" => {
                if ap.func.is_empty() {
                    err("usdt probe must have a target function or wildcard".into());
                }
                // With a PID, a wildcarded target is matched against the process's files later.
                let later = ap.target.is_empty() || (src.pid.is_some() && has_wildcard(&ap.target));
                if !later {
                    let paths = binaries::resolve_binary_paths(&ap.target, src.pid);
                    resolve_target(ap, &paths, "usdt", diags);
                }
                if src.pid.is_none() && ap.target.is_empty() {
                    diags.push(Diag::error(
                        ap.span,
                        "usdt probe must specify at least path or pid to probe. To target all paths/pids set the path to '*'.",
                    ));
                }
            }
            "tracepoint" if ap.target.is_empty() || ap.func.is_empty() => {
                err("tracepoint probe must have a target".into());
            }
            "rawtracepoint" if ap.func.is_empty() => {
                err("rawtracepoint should be attached to a function".into());
            }
            "profile" | "interval" if ap.target.is_empty() => {
                err(format!("{p} probe must have unit of time"));
            }
            "software" | "hardware" => {
                let kind = if p == "software" { "software" } else { "hardware" };
                if ap.target.is_empty() {
                    err(format!("{kind} probe must have a {kind} event name"));
                } else if !has_wildcard(&ap.target) && !ap.ignore_invalid {
                    let known = if p == "software" { super::SOFTWARE } else { super::HARDWARE };
                    if !known.iter().any(|(name, alias)| *name == ap.target || (!alias.is_empty() && *alias == ap.target)) {
                        err(format!("{} is not a {kind} probe", ap.target));
                    }
                }
            }
            "kfunc" | "kretfunc" => {
                if !src.has_kfunc() {
                    err("kfunc/kretfunc not available for your kernel version.".into());
                } else if ap.func.is_empty() {
                    err("kfunc should specify a function".into());
                }
            }
            "iter" if ap.func.is_empty() => {
                err("iter should specify a iterator's name".into());
            }
            _ => {}
        }
    }
}

/// Sets a uprobe/usdt target to the one file it stands for (or warns when a name without a
/// wildcard found several: the first wins, as a shell's PATH lookup would pick it).
fn resolve_target(ap: &mut Ap, paths: &[String], kind: &str, diags: &mut Vec<Diag>) {
    match paths {
        [] => diags.push(Diag::error(
            ap.span,
            format!("{kind} target file '{}' does not exist or is not executable", ap.target),
        )),
        [one] => ap.target = one.clone(),
        [first, ..] if !ap.target.contains('*') => {
            diags.push(Diag::warning(
                ap.span,
                format!("attaching to {kind} target file '{first}' but matched {} binaries", paths.len()),
            ));
            ap.target = first.clone();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_split_at_commas_outside_quotes() {
        let s = split_search("kprobe:a, uprobe:/x:\"a,b\" ,");
        assert_eq!(s[0], ("kprobe:a".to_string(), (0, 8)));
        assert_eq!(s[1], ("uprobe:/x:\"a,b\"".to_string(), (10, 25)));
        assert_eq!(s[2].0, "");
        assert_eq!(lex("uprobe:/x:cpp:\"ns::f(int)\""), ["uprobe", "/x", "cpp", "ns::f(int)"]);
        assert_eq!(lex("a::b:"), ["a", "", "b", ""]);
    }

    #[test]
    fn attach_point_numbers() {
        assert_eq!(to_int("0x10", false), Ok(16));
        assert_eq!(to_int("010", false), Ok(8));
        assert_eq!(to_int("1_000", true), Ok(1000));
        assert_eq!(to_int("99u", true), Ok(99));
        assert_eq!(to_int("2e3", true), Ok(2000));
        assert_eq!(to_int("-1", true), Ok(i128::from(u64::MAX)));
        assert_eq!(to_int("", true), Err("stoull".into()));
        assert_eq!(to_int("main", false), Err("stoll".into()));
        assert_eq!(to_int("12x", false), Err("Found trailing non-numeric characters".into()));
        assert_eq!(to_int("99999999999999999999", false), Err("stoll".into()));
        assert_eq!(split_offset("f+0x10", true), Ok(("f".into(), 16)));
        assert_eq!(split_offset("f+1", false), Err("Offset not allowed".into()));
        assert_eq!(split_offset("f+1+2", true), Err("Cannot take more than one offset".into()));
        assert_eq!(split_offset("f+x", true), Err("stoll\nInvalid offset".into()));
    }

    #[test]
    fn probe_type_names() {
        assert_eq!(probe_type("U"), Some("usdt"));
        assert_eq!(probe_type("fentry"), Some("kfunc"));
        assert_eq!(probe_type("rt"), Some("rawtracepoint"));
        assert_eq!(probe_type("nope"), None);
    }
}
