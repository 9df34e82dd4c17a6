//! Positional parameters (`$1`, `str($1)`, `$#`, ...) taken when an object runs.
//!
//! The compiler gives every run-time use of a parameter a slot in one global of the object's
//! `.rodata` ([`Params::symbol`], [`Params::size`] bytes). Before the object is loaded the
//! runtime writes each slot's value there ([`fill`], [`patch_object`]); the kernel then sees a
//! frozen read-only map, so the verifier still reads the slots as constants.
//!
//! Where the code needs the value itself (a loop count, histogram bounds, a probe type, ...),
//! the compiler folds the parameter given to it and records its text in [`Params::folded`]: a
//! run with another value is refused ([`check_folded`]). Attach points whose parameters only
//! change what the runtime attaches to (an interval's period, a uprobe's binary or function)
//! are kept as written ([`Params::attach`]) and completed by [`instantiate`].

use serde::{Deserialize, Serialize};

/// How an object takes its positional parameters ([`crate::Requires::params`]; format 3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// The global in `.rodata` that holds the slots; empty when there are none.
    #[serde(default)]
    pub symbol: String,
    /// Its size in bytes.
    #[serde(default)]
    pub size: u32,
    #[serde(default)]
    pub slots: Vec<Slot>,
    /// Parameters folded into the code at compile time (with `n` 0 standing for `$#`).
    #[serde(default)]
    pub folded: Vec<Folded>,
    /// Probes whose attach point names parameters, completed when the object runs.
    #[serde(default)]
    pub attach: Vec<AttachTemplate>,
}

/// One value the runtime writes at `offset` of [`Params::symbol`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub offset: u32,
    pub value: SlotValue,
}

/// What a slot holds. Integers are 8 bytes, little-endian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SlotValue {
    /// `$N` as an i64: the parameter read as C's `strtoll` with base 0 reads it, 0 when not
    /// given; a run where it is given and isn't a number fails (bpftrace's rule).
    Int { n: u32 },
    /// `str($N + skip)`: `len` bytes, the parameter's text from byte `skip` on (`""` past its
    /// end or when not given), cut to `len - 1` bytes (never inside a character) and
    /// NUL-padded.
    Str { n: u32, skip: u64, len: u32 },
    /// `$#`: the number of parameters, as an i64.
    Count,
    /// `unroll($N)`'s count, as an i64: the parameter as `Int` reads it, which must be 1 to
    /// [`MAX_UNROLL`] (the code repeats the body that many times at most).
    Unroll { n: u32 },
    /// `signal(str($N))`: the number of the signal the parameter names.
    Signal { n: u32 },
    /// `kaddr(str($N))`: the address of the kernel symbol the parameter names.
    Kaddr { n: u32 },
    /// `cgroupid(str($N))`: the id of the cgroup (v2) at the path the parameter names.
    Cgroupid { n: u32 },
    /// The `probe` builtin of the probe whose attach point is the template `raw`: its name
    /// once completed, in `len` bytes (cut and NUL-padded as `Str`).
    Probe { raw: String, len: u32 },
    /// The `func` builtin of the uprobe or kprobe whose attach point is the template `raw`: its
    /// function once completed.
    Func { raw: String, len: u32 },
}

impl SlotValue {
    /// The slot's size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            SlotValue::Str { len, .. } | SlotValue::Probe { len, .. } | SlotValue::Func { len, .. } => *len,
            _ => 8,
        }
    }

    /// The parameter read (0 for `$#` and for the builtins of templates).
    pub fn param(&self) -> u32 {
        match self {
            SlotValue::Int { n } | SlotValue::Str { n, .. } | SlotValue::Unroll { n } => *n,
            SlotValue::Signal { n } | SlotValue::Kaddr { n } | SlotValue::Cgroupid { n } => *n,
            SlotValue::Count | SlotValue::Probe { .. } | SlotValue::Func { .. } => 0,
        }
    }
}

/// A parameter whose value the compiled code depends on: `text` is what it was when compiling
/// (`None`: not given), or, for `$#` (`n` 0), the number of parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folded {
    pub n: u32,
    pub text: Option<String>,
}

/// A probe whose attach point is completed at run time: `raw` is the attach point as written,
/// provider name in full (`interval:ms:$1`, `uprobe:$1:main`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachTemplate {
    /// The probe's program ([`crate::Probe::prog`]).
    pub prog: String,
    pub raw: String,
}

/// The largest `unroll` count (bpftrace's).
pub const MAX_UNROLL: u32 = 100;

/// The most parameters a slot or fold may name, and the largest slot area.
pub const MAX_PARAM: u32 = 1 << 16;
pub const MAX_SIZE: u32 = 1 << 20;

/// Parses a parameter as bpftrace does for `$N` (`std::stoll` with base 0, which must use the
/// whole text): leading white space, an optional sign, then `0x` hex, `0` octal or decimal
/// digits, in the range of a signed 64-bit integer.
pub fn numeric_value(text: &str) -> Option<i64> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let hex = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X"));
    let (radix, digits) = match hex {
        // strtoll reads "0x" not followed by a hex digit as the number 0, leaving the "x".
        Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (16, h),
        _ if rest.len() > 1 && rest.starts_with('0') => (8, &rest[1..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// The number of a signal given by name (`SIGKILL` or `KILL`), as `signal()` takes it.
pub fn signal_number(name: &str) -> Option<u32> {
    const NAMES: [&str; 31] = [
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ];
    let short = name.strip_prefix("SIG").unwrap_or(name);
    NAMES.iter().position(|n| *n == short).and_then(|i| u32::try_from(i + 1).ok())
}

/// bpftrace's error for a parameter used as a number that isn't one.
pub fn not_numeric(n: u32, text: &str) -> String {
    format!("${n} used numerically but given \"{text}\". Try using str(${n}).")
}

/// `str($N + skip)` of `text` in a buffer of `len` bytes: the bytes from `skip` on (none past
/// the end; a character is never split), cut to leave room for the NUL.
pub fn str_text(text: &str, skip: u64, len: u32) -> &str {
    let mut start = usize::try_from(skip).unwrap_or(usize::MAX).min(text.len());
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let text = &text[start..];
    let mut keep = (len as usize).saturating_sub(1).min(text.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    &text[..keep]
}

/// Parameter `n` (1-based) of `args`.
pub fn arg(args: &[String], n: u32) -> Option<&str> {
    usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| args.get(i)).map(String::as_str)
}

/// What filling the slots asks of the system (names and paths the parameters give).
pub trait Lookups {
    fn signal(&self, name: &str) -> Option<u64>;
    fn kernel_symbol(&self, name: &str) -> Result<u64, String>;
    fn cgroup_id(&self, path: &str) -> Result<u64, String>;
    /// The name of the probe whose attach point is the template `raw`, completed with the
    /// run's parameters (where it names a binary, as the runtime found it).
    fn probe_name(&self, raw: &str, args: &[String]) -> Result<String, String> {
        Ok(match instantiate(raw, args)? {
            Instance::Timer { name, .. }
            | Instance::Uprobe { name, .. }
            | Instance::Tracepoint { name, .. }
            | Instance::Kprobe { name, .. } => name,
        })
    }
}

/// `text` in a NUL-padded buffer of `len` bytes, cut as `str()` cuts.
fn padded(text: &str, len: u32) -> Vec<u8> {
    let mut b = str_text(text, 0, len).as_bytes().to_vec();
    b.resize(len as usize, 0);
    b
}

/// Refuses a run whose parameters differ from those the object was compiled with where the
/// code depends on them.
pub fn check_folded(p: &Params, args: &[String]) -> Result<(), String> {
    for f in &p.folded {
        if f.n == 0 {
            let want = f.text.as_deref().unwrap_or("0");
            if want != args.len().to_string() {
                return Err(format!(
                    "this object was compiled for {want} positional parameters ($# is built into its code), but {} were given",
                    args.len()
                ));
            }
            continue;
        }
        let given = arg(args, f.n);
        if given != f.text.as_deref() {
            let was = f.text.as_deref().map_or("not given".to_string(), |t| format!("\"{t}\""));
            let now = given.map_or("not given".to_string(), |t| format!("\"{t}\""));
            return Err(format!(
                "${n} is built into this object's code as {was} (it was given to btc compile), but is {now} here; compile again with the new value",
                n = f.n
            ));
        }
    }
    Ok(())
}

/// The bytes of [`Params::symbol`] for a run with parameters `args`.
pub fn fill(p: &Params, args: &[String], sys: &dyn Lookups) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; p.size as usize];
    for s in &p.slots {
        let bytes: Vec<u8> = match &s.value {
            SlotValue::Int { n } => {
                let v = match arg(args, *n) {
                    None => 0,
                    Some(t) => numeric_value(t).ok_or_else(|| not_numeric(*n, t))?,
                };
                v.to_le_bytes().to_vec()
            }
            SlotValue::Count => (args.len() as u64).to_le_bytes().to_vec(),
            SlotValue::Unroll { n } => {
                let v = match arg(args, *n) {
                    None => 0,
                    Some(t) => numeric_value(t).ok_or_else(|| not_numeric(*n, t))?,
                };
                // bpftrace's words, with the parameter that gave the count.
                if v > i64::from(MAX_UNROLL) {
                    return Err(format!("unroll maximum value is {MAX_UNROLL} (${n} is {v})"));
                }
                if v < 1 {
                    return Err(format!("unroll minimum value is 1 (${n} is {v})"));
                }
                v.to_le_bytes().to_vec()
            }
            SlotValue::Str { n, skip, len } => {
                let mut b = str_text(arg(args, *n).unwrap_or(""), *skip, *len).as_bytes().to_vec();
                b.resize(*len as usize, 0);
                b
            }
            SlotValue::Signal { n } => {
                let name = arg(args, *n).unwrap_or("");
                sys.signal(name).ok_or_else(|| format!("unknown signal '{name}' (${n})"))?.to_le_bytes().to_vec()
            }
            SlotValue::Kaddr { n } => sys.kernel_symbol(arg(args, *n).unwrap_or(""))?.to_le_bytes().to_vec(),
            SlotValue::Cgroupid { n } => sys.cgroup_id(arg(args, *n).unwrap_or(""))?.to_le_bytes().to_vec(),
            SlotValue::Probe { raw, len } => padded(&sys.probe_name(raw, args)?, *len),
            SlotValue::Func { raw, len } => match instantiate(raw, args)? {
                Instance::Uprobe { symbol: func, .. } | Instance::Kprobe { func, .. } => padded(&func, *len),
                _ => return Err(format!("{raw}: the func builtin of a probe that is no uprobe or kprobe")),
            },
        };
        let start = s.offset as usize;
        let end = start + bytes.len();
        let Some(dst) = out.get_mut(start..end) else {
            return Err(format!("a parameter slot at {start}..{end} is outside its {} bytes", p.size));
        };
        dst.copy_from_slice(&bytes);
    }
    Ok(out)
}

/// An attach point completed with the run's parameters: the probe's name and what changes in
/// its [`crate::ProbeKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// `interval` / `profile`: the period.
    Timer { name: String, period_ns: u64 },
    /// `uprobe` / `uretprobe`: the binary and the function.
    Uprobe { name: String, path: String, symbol: String },
    /// `tracepoint`: the category and the name.
    Tracepoint { name: String, category: String, event: String },
    /// `kprobe` / `kretprobe`: the function.
    Kprobe { name: String, func: String },
}

/// Replaces every `$N` of `raw` by parameter N of `args`; a parameter not given is an error.
pub fn substitute(raw: &str, args: &[String]) -> Result<String, String> {
    let (out, missing) = substitute_with(raw, &|n| arg(args, n).map(str::to_string));
    match missing.first() {
        Some(n) => Err(format!("{raw}: positional parameter ${n} is not given")),
        None => Ok(out),
    }
}

/// `raw` with every `$N` replaced by `value(N)`, and the numbers `value` gave nothing for (left
/// out of the text). A `$` not followed by a digit stays.
pub fn substitute_with(raw: &str, value: &dyn Fn(u32) -> Option<String>) -> (String, Vec<u32>) {
    let mut out = String::new();
    let mut missing = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        let n: u32 = digits.parse().unwrap_or(u32::MAX);
        match value(n) {
            Some(v) => out.push_str(&v),
            None => missing.push(n),
        }
        rest = &after[digits.len()..];
    }
    out.push_str(rest);
    (out, missing)
}

/// Whether `raw` names a positional parameter (`$` and a digit).
pub fn has_param(raw: &str) -> bool {
    raw.as_bytes().windows(2).any(|w| w[0] == b'$' && w[1].is_ascii_digit())
}

/// The parts of a template attach point, if it has a form [`instantiate`] completes:
/// `interval|profile:UNIT:VALUE` (only VALUE may name a parameter),
/// `uprobe|uretprobe:BINARY:FUNCTION` (a plain function name, no offset or wildcard),
/// `tracepoint:CATEGORY:NAME` (no wildcard) and `kprobe|kretprobe:FUNCTION` (no module,
/// offset or wildcard).
pub fn template_parts(raw: &str) -> Option<(&str, Vec<&str>)> {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [p @ ("interval" | "profile"), unit, _] if !has_param(unit) => Some((*p, parts[1..].to_vec())),
        [p @ ("uprobe" | "uretprobe"), target, func]
            if !target.contains(['*', '?', '"']) && !func.contains(['*', '?', '+', '"', '(']) =>
        {
            Some((*p, parts[1..].to_vec()))
        }
        [p @ ("kprobe" | "kretprobe"), func] if !func.contains(['*', '?', '+', '"']) => Some((*p, parts[1..].to_vec())),
        [p @ "tracepoint", cat, name] if !cat.contains(['*', '?', '"']) && !name.contains(['*', '?', '"']) => {
            Some((*p, parts[1..].to_vec()))
        }
        _ => None,
    }
}

/// Completes the template attach point `raw` with the run's parameters.
pub fn instantiate(raw: &str, args: &[String]) -> Result<Instance, String> {
    let Some((provider, _)) = template_parts(raw) else {
        return Err(format!("{raw}: not an attach point completed at run time"));
    };
    let text = substitute(raw, args)?;
    if let Some(func) = text.strip_prefix(provider).and_then(|t| t.strip_prefix(':')).filter(|_| provider.starts_with('k')) {
        if func.is_empty() || func.contains(['*', '?', '+', ':', '/', ' ', '\0']) {
            return Err(format!("{text}: {provider} probe must be {provider}:FUNCTION"));
        }
        return Ok(Instance::Kprobe { name: text.clone(), func: func.to_string() });
    }
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let [_, a, b] = parts.as_slice() else {
        return Err(format!("{text}: the attach point lost a part (a parameter has a ':')"));
    };
    match provider {
        "interval" | "profile" => {
            let n = numeric_value(b)
                .and_then(|n| u64::try_from(n).ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("invalid {provider} value '{b}': expected a positive integer"))?;
            let period = match *a {
                "s" => n.checked_mul(1_000_000_000),
                "ms" => n.checked_mul(1_000_000),
                "us" => n.checked_mul(1_000),
                "hz" => Some(1_000_000_000 / n),
                _ => return Err(format!("invalid {provider} unit '{a}': expected s, ms, us or hz")),
            }
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("{provider} period out of range: {b}{a}"))?;
            Ok(Instance::Timer { name: format!("{provider}:{a}:{n}"), period_ns: period })
        }
        "tracepoint" => {
            let bad = |s: &str| s.is_empty() || s.contains(['/', ':', '\0', '*', '?']) || s == "." || s == "..";
            if bad(a) || bad(b) {
                return Err(format!("{text}: tracepoint probe must be tracepoint:CATEGORY:NAME"));
            }
            Ok(Instance::Tracepoint { name: text.clone(), category: a.to_string(), event: b.to_string() })
        }
        _ => {
            if a.is_empty() || b.is_empty() || b.contains(':') {
                return Err(format!("{text}: {provider} probe must be {provider}:BINARY:FUNCTION"));
            }
            Ok(Instance::Uprobe { name: text.clone(), path: a.to_string(), symbol: b.to_string() })
        }
    }
}

/// Checks what the runtime relies on; `progs` are the object's programs.
pub(crate) fn validate(p: &Params, progs: &[&str]) -> Result<(), String> {
    if p.size > MAX_SIZE {
        return Err(format!("a parameter area of {} bytes", p.size));
    }
    let ident = |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if (!p.slots.is_empty() || p.size != 0) && !ident(&p.symbol) {
        return Err("the parameter area has no valid symbol".to_string());
    }
    for s in &p.slots {
        let n = s.value.param();
        match &s.value {
            SlotValue::Count => {}
            SlotValue::Probe { raw, .. } | SlotValue::Func { raw, .. } => {
                if template_parts(raw).is_none() {
                    return Err(format!("a builtin of attach point {raw}, which can't be completed at run time"));
                }
            }
            _ if n == 0 || n > MAX_PARAM => return Err(format!("a slot reads parameter ${n}")),
            _ => {}
        }
        if s.value.size() == 0 || u64::from(s.offset) + u64::from(s.value.size()) > u64::from(p.size) {
            return Err(format!("a parameter slot at offset {} is outside its {} bytes", s.offset, p.size));
        }
    }
    for f in &p.folded {
        if f.n > MAX_PARAM {
            return Err(format!("a folded parameter ${}", f.n));
        }
    }
    for a in &p.attach {
        if !progs.contains(&a.prog.as_str()) {
            return Err(format!("attach point {} names no program of the object", a.raw));
        }
        if template_parts(&a.raw).is_none() {
            return Err(format!("attach point {} can't be completed at run time", a.raw));
        }
    }
    Ok(())
}

/// The byte range of `symbol` in `object` (an ELF relocatable file): where its initial value
/// is, in a `.rodata` section.
pub fn symbol_range(object: &[u8], symbol: &str, size: u32) -> Result<std::ops::Range<usize>, String> {
    crate::elf::rodata_range(object, symbol, size).map_err(|e| format!("its positional parameters: {e}"))
}

/// A copy of `object` whose parameter area holds `bytes` (from [`fill`]).
pub fn patch_object(object: &[u8], p: &Params, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let range = symbol_range(object, &p.symbol, p.size)?;
    let mut out = object.to_vec();
    out[range].copy_from_slice(bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sys;
    impl Lookups for Sys {
        fn signal(&self, name: &str) -> Option<u64> {
            (name == "SIGUSR1").then_some(10)
        }
        fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
            if name == "vfs_read" { Ok(0xffff_1234) } else { Err(format!("unknown symbol {name}")) }
        }
        fn cgroup_id(&self, _: &str) -> Result<u64, String> {
            Ok(7)
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn params() -> Params {
        let slot = |offset, value| Slot { offset, value };
        Params {
            symbol: "__btc_params".into(),
            size: 48,
            slots: vec![
                slot(0, SlotValue::Int { n: 1 }),
                slot(8, SlotValue::Count),
                slot(16, SlotValue::Str { n: 2, skip: 2, len: 6 }),
                slot(24, SlotValue::Int { n: 3 }),
                slot(32, SlotValue::Signal { n: 4 }),
                slot(40, SlotValue::Kaddr { n: 5 }),
            ],
            ..Params::default()
        }
    }

    fn word(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
    }

    #[test]
    fn slots_take_the_runs_parameters() {
        let b = fill(&params(), &args(&["-0x10", "hello world", "7", "SIGUSR1", "vfs_read"]), &Sys);
        let b = b.unwrap_or_default();
        assert_eq!(word(&b, 0) as i64, -16);
        assert_eq!(word(&b, 8), 5);
        assert_eq!(&b[16..22], b"llo w\0");
        assert_eq!(word(&b, 32), 10);
        assert_eq!(word(&b, 40), 0xffff_1234);
        // "" is given and is no number, as in bpftrace.
        assert_eq!(fill(&params(), &args(&["1", "x", ""]), &Sys), Err(not_numeric(3, "")));
        // Not given: 0 and "".
        let only = Params { size: 24, slots: params().slots[..3].to_vec(), ..params() };
        assert_eq!(fill(&only, &[], &Sys).map(|b| b.iter().all(|&c| c == 0)), Ok(true));
        let e = fill(&params(), &args(&["1", "x", "2", "SIGFOO", "vfs_read"]), &Sys);
        assert!(e.is_err_and(|e| e.contains("unknown signal 'SIGFOO'")));
    }

    #[test]
    fn unroll_counts_are_checked_as_bpftrace_checks_literals() {
        let p = Params { symbol: "s".into(), size: 8, slots: vec![Slot { offset: 0, value: SlotValue::Unroll { n: 1 } }], ..Params::default() };
        assert_eq!(fill(&p, &args(&["0x0a"]), &Sys).map(|b| word(&b, 0)), Ok(10));
        assert_eq!(fill(&p, &args(&["101"]), &Sys), Err("unroll maximum value is 100 ($1 is 101)".to_string()));
        assert_eq!(fill(&p, &args(&["0"]), &Sys), Err("unroll minimum value is 1 ($1 is 0)".to_string()));
        assert_eq!(fill(&p, &[], &Sys), Err("unroll minimum value is 1 ($1 is 0)".to_string()));
        assert_eq!(fill(&p, &args(&["x"]), &Sys), Err(not_numeric(1, "x")));
    }

    #[test]
    fn the_builtins_of_templates_are_the_completed_names() {
        let p = Params {
            symbol: "s".into(),
            size: 32,
            slots: vec![
                Slot { offset: 0, value: SlotValue::Probe { raw: "interval:ms:$1".into(), len: 16 } },
                Slot { offset: 16, value: SlotValue::Func { raw: "uprobe:/bin/x:$2".into(), len: 16 } },
            ],
            ..Params::default()
        };
        let b = fill(&p, &args(&["0x10", "main"]), &Sys).unwrap_or_default();
        assert_eq!(&b[..16], b"interval:ms:16\0\0");
        assert_eq!(&b[16..21], b"main\0");
        assert_eq!(validate(&p, &[]), Ok(()));
    }

    #[test]
    fn folded_parameters_must_match() {
        let p = Params {
            folded: vec![Folded { n: 1, text: Some("5".into()) }, Folded { n: 2, text: None }],
            ..Params::default()
        };
        assert_eq!(check_folded(&p, &args(&["5"])), Ok(()));
        assert!(check_folded(&p, &args(&["6"])).is_err_and(|e| e.contains("$1 is built into this object's code as \"5\"")));
        assert!(check_folded(&p, &args(&["5", "x"])).is_err());
        let count = Params { folded: vec![Folded { n: 0, text: Some("2".into()) }], ..Params::default() };
        assert!(check_folded(&count, &args(&["a", "b"])).is_ok() && check_folded(&count, &args(&["a"])).is_err());
    }

    #[test]
    fn templates_complete_with_the_parameters() {
        assert_eq!(
            instantiate("interval:ms:$1", &args(&["0x10"])),
            Ok(Instance::Timer { name: "interval:ms:16".into(), period_ns: 16_000_000 })
        );
        assert!(instantiate("interval:ms:$1", &args(&["abc"])).is_err_and(|e| e.contains("invalid interval value 'abc'")));
        assert!(instantiate("interval:ms:$2", &args(&["1"])).is_err_and(|e| e.contains("$2 is not given")));
        assert_eq!(
            instantiate("uretprobe:$1:$2", &args(&["/bin/x", "main"])),
            Ok(Instance::Uprobe { name: "uretprobe:/bin/x:main".into(), path: "/bin/x".into(), symbol: "main".into() })
        );
        assert!(template_parts("interval:$1:5").is_none());
        assert!(template_parts("uprobe:$1:f*").is_none());
        assert_eq!(
            instantiate("tracepoint:$1:sys_enter_$2", &args(&["syscalls", "read"])),
            Ok(Instance::Tracepoint { name: "tracepoint:syscalls:sys_enter_read".into(), category: "syscalls".into(), event: "sys_enter_read".into() })
        );
        assert!(instantiate("tracepoint:syscalls:$1", &args(&["../x"])).is_err());
        assert!(template_parts("tracepoint:syscalls:$1*").is_none());
        assert_eq!(instantiate("kretprobe:$1", &args(&["vfs_read"])), Ok(Instance::Kprobe { name: "kretprobe:vfs_read".into(), func: "vfs_read".into() }));
        assert!(instantiate("kprobe:$1", &args(&["vfs_*"])).is_err());
        assert!(instantiate("kprobe:$1", &args(&["mod:f"])).is_err());
        assert!(template_parts("kprobe:$1+4").is_none());
        assert!(template_parts("kprobe:mod:$1").is_none());
    }

    #[test]
    fn validation_bounds_every_slot() {
        let mut p = params();
        assert_eq!(validate(&p, &[]), Ok(()));
        p.slots.push(Slot { offset: 44, value: SlotValue::Int { n: 1 } });
        assert!(validate(&p, &[]).is_err());
        let mut p = params();
        p.symbol = "a/b".into();
        assert!(validate(&p, &[]).is_err());
        let mut p = params();
        p.slots[0].value = SlotValue::Int { n: 0 };
        assert!(validate(&p, &[]).is_err());
        let mut p = params();
        p.attach.push(AttachTemplate { prog: "btc_p0".into(), raw: "interval:ms:$1".into() });
        assert!(validate(&p, &[]).is_err());
        assert_eq!(validate(&p, &["btc_p0"]), Ok(()));
        p.attach[0].raw = "kfunc:$1".into();
        assert!(validate(&p, &["btc_p0"]).is_err());
    }

    #[test]
    fn strings_are_cut_without_splitting_characters() {
        assert_eq!(str_text("abcdéf", 0, 6), "abcd");
        assert_eq!(str_text("abcdefghij", 0, 6), "abcde");
        assert_eq!(str_text("hello", 9, 64), "");
        assert_eq!(str_text("héllo", 2, 64), "llo");
    }
}
