//! USDT probes: matching `usdt:BINARY:[PROVIDER:]NAME` against the `.note.stapsdt` notes the
//! type source reads, one program per probe site, and decoding each site's argument
//! specification (`-4@%eax 8@-8(%rbp) 4@$5 8@(%rax,%rdx,8)`) into [`UsdtArg`]s that code
//! generation turns into reads of `pt_regs` and user memory.

use super::user::Binary;
use super::{has_wildcard, wildcard_match, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use btc_bpfprog::ProbeKind;
use std::rc::Rc;

/// Where an argument's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsdtLoc {
    /// A constant (`$5`).
    Const(i64),
    /// A register: its byte offset in `struct pt_regs`, and a right shift (8 for `%ah`-style
    /// high-byte registers).
    Reg { offset: u32, shift: u8 },
    /// Memory at `base + index * scale + disp` (user memory of the traced process).
    Mem { base: u32, index: Option<(u32, u8)>, disp: i64 },
    /// A global at `symbol + addend` (`counter(%rip)`). Resolution against the binary's symbols
    /// turns it into `Mem` relative to the probe's own address (`%rip` at the site).
    Symbol { symbol: String, addend: i64 },
}

/// One USDT argument: its size in bytes, signedness and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub loc: UsdtLoc,
}

/// The byte offset in x86-64 `struct pt_regs` of a register named as in AT&T syntax (without
/// `%`), and the shift of its value: `rax`, `eax`, `ax`, `al` and `ah` all live in `ax`.
pub fn x86_register(name: &str) -> Option<(u32, u8)> {
    let base = |n: &str| -> Option<u32> {
        Some(match n {
            "r15" => 0,
            "r14" => 8,
            "r13" => 16,
            "r12" => 24,
            "bp" => 32,
            "bx" => 40,
            "r11" => 48,
            "r10" => 56,
            "r9" => 64,
            "r8" => 72,
            "ax" => 80,
            "cx" => 88,
            "dx" => 96,
            "si" => 104,
            "di" => 112,
            "ip" => 128,
            "sp" => 152,
            _ => return None,
        })
    };
    // r8..r15 with their d/w/b suffixes.
    if let Some(num) = name.strip_prefix('r').filter(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
        let digits = num.trim_end_matches(['d', 'w', 'b', 'l']);
        return base(&format!("r{digits}")).map(|o| (o, 0));
    }
    // rax/eax/ax, rsi/esi/si, rbp/ebp/bp, rip/eip/ip, ...
    let stem = name.strip_prefix('r').or_else(|| name.strip_prefix('e')).unwrap_or(name);
    if let Some(o) = base(stem) {
        return Some((o, 0));
    }
    // Byte registers: al/bl/cl/dl, ah/bh/ch/dh, sil/dil/bpl/spl.
    match name {
        "al" | "bl" | "cl" | "dl" => base(&format!("{}x", &name[..1])).map(|o| (o, 0)),
        "ah" | "bh" | "ch" | "dh" => base(&format!("{}x", &name[..1])).map(|o| (o, 8)),
        "sil" | "dil" | "bpl" | "spl" => base(&name[..2]).map(|o| (o, 0)),
        _ => None,
    }
}

fn parse_reg(s: &str) -> Result<u32, String> {
    let name = s.trim().strip_prefix('%').ok_or_else(|| format!("expected a register, found '{s}'"))?;
    match x86_register(name) {
        Some((o, 0)) => Ok(o),
        _ => Err(format!("unsupported register '%{name}' in a memory operand")),
    }
}

fn parse_i64(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => body.parse::<u64>().ok()?,
    } as i64;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses one argument such as `-4@%eax`, `8@-8(%rbp)`, `-4@$5` or `8@(%rax,%rdx,8)`.
pub fn parse_arg(spec: &str) -> Result<UsdtArg, String> {
    let (size, loc) = match spec.split_once('@') {
        Some((s, l)) => (parse_i64(s).ok_or_else(|| format!("bad argument size in '{spec}'"))?, l),
        // Old notes have no size: a (signed) long.
        None => (-8, spec),
    };
    let bytes = size.unsigned_abs();
    if ![1, 2, 4, 8].contains(&bytes) {
        return Err(format!("bad argument size {size} in '{spec}'"));
    }
    let loc = if let Some(c) = loc.strip_prefix('$') {
        UsdtLoc::Const(parse_i64(c).ok_or_else(|| format!("unsupported constant in '{spec}'"))?)
    } else if let Some(r) = loc.strip_prefix('%') {
        let (offset, shift) = x86_register(r).ok_or_else(|| format!("unsupported register '%{r}' in '{spec}'"))?;
        UsdtLoc::Reg { offset, shift }
    } else if let Some(open) = loc.find('(') {
        let close = loc.rfind(')').filter(|&c| c > open).ok_or_else(|| format!("unbalanced '(' in '{spec}'"))?;
        let disp_text = &loc[..open];
        let inner: Vec<&str> = loc[open + 1..close].split(',').collect();
        if inner.len() == 1 && inner[0].trim() == "%rip" && disp_text.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            let (symbol, addend) = match disp_text.find(['+', '-']) {
                Some(i) => (&disp_text[..i], parse_i64(&disp_text[i..]).ok_or_else(|| format!("bad offset in '{spec}'"))?),
                None => (disp_text, 0),
            };
            let loc = UsdtLoc::Symbol { symbol: symbol.to_string(), addend };
            return Ok(UsdtArg { size: bytes as u8, signed: size < 0, loc });
        }
        let disp = if disp_text.is_empty() {
            0
        } else {
            parse_i64(disp_text).ok_or_else(|| format!("unsupported argument location '{loc}'"))?
        };
        match inner.as_slice() {
            [b] => UsdtLoc::Mem { base: parse_reg(b)?, index: None, disp },
            [b, i] => UsdtLoc::Mem { base: parse_reg(b)?, index: Some((parse_reg(i)?, 1)), disp },
            [b, i, s] => {
                let scale = s
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|s| [1, 2, 4, 8].contains(s))
                    .ok_or_else(|| format!("bad scale in '{spec}'"))?;
                UsdtLoc::Mem { base: parse_reg(b)?, index: Some((parse_reg(i)?, scale)), disp }
            }
            _ => return Err(format!("unsupported argument location '{loc}'")),
        }
    } else {
        return Err(format!("unsupported argument location '{loc}'"));
    };
    if matches!(loc, UsdtLoc::Reg { offset: 128, .. } | UsdtLoc::Mem { base: 128, .. }) {
        return Err(format!("unsupported argument location '{spec}' (%rip-relative)"));
    }
    Ok(UsdtArg { size: bytes as u8, signed: size < 0, loc })
}

/// Parses a whole argument specification (space separated).
pub fn parse_args(spec: &str) -> Result<Vec<UsdtArg>, String> {
    spec.split_whitespace().map(parse_arg).collect()
}

/// `usdt:BINARY:[PROVIDER:]NAME` (and `usdt:[PROVIDER:]NAME` with -p).
pub(super) fn resolve(cx: &Cx<'_>, rest: &[String]) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (target, provider, name) = match rest {
        [t, n] => (t.as_str(), "*", n.as_str()),
        [t, p, n] => (t.as_str(), if p.is_empty() { "*" } else { p.as_str() }, n.as_str()),
        [n] if cx.opts.pid.is_some() => ("*", "*", n.as_str()),
        _ => return Err(cx.err("usdt probe must be usdt:BINARY:[PROVIDER:]NAME")),
    };
    if name.is_empty() {
        return Err(cx.err("usdt probe needs a probe name"));
    }
    let every = target == "*" || target.is_empty();
    let bins: Vec<Binary> = if every {
        let paths = match cx.opts.pid {
            Some(pid) => cx.types.process_binaries(pid).map_err(|e| cx.err(e))?,
            // Without -p, '*' is every file any running process has mapped, as in bpftrace.
            None => cx.types.running_binaries().map_err(|e| cx.err(e))?,
        };
        paths.into_iter().map(|p| Binary { shown: p.clone(), path: p }).collect()
    } else {
        super::user::binaries(cx, "usdt", target)?
    };
    let paths: Vec<String> = bins.iter().map(|b| b.path.clone()).collect();
    let several_files = every || has_wildcard(target);
    let mut out = Vec::new();
    for Binary { path, shown } in &bins {
        let notes = match cx.types.usdt_notes(path) {
            Ok(n) => n,
            // With '*' or a wildcard, binaries without notes (or unreadable ones) are skipped.
            Err(_) if several_files => continue,
            Err(e) => return Err(cx.err(e)),
        };
        for n in notes {
            let matches = if has_wildcard(provider) || has_wildcard(name) {
                wildcard_match(provider, &n.provider) && wildcard_match(name, &n.name)
            } else {
                (provider == "*" || provider == n.provider) && name == n.name
            };
            if !matches {
                continue;
            }
            let decode_err =
                |e: String| cx.err(format!("can't decode the arguments of usdt:{path}:{}:{}: {e}", n.provider, n.name));
            let mut args = parse_args(&n.args).map_err(decode_err)?;
            for a in &mut args {
                if let UsdtLoc::Symbol { symbol, addend } = &a.loc {
                    // At the site, %rip is the site's address: the global is a fixed distance away.
                    let addr = cx
                        .types
                        .elf_symbol(path, symbol)
                        .map_err(decode_err)?
                        .ok_or_else(|| decode_err(format!("no symbol {symbol} in {path}")))?;
                    let disp = (addr as i64).wrapping_add(*addend).wrapping_sub(n.address as i64);
                    a.loc = UsdtLoc::Mem { base: 128, index: None, disp };
                }
            }
            let kind = ProbeKind::Usdt {
                path: path.clone(),
                provider: n.provider.clone(),
                name: n.name.clone(),
                address: n.address,
                semaphore: (n.semaphore != 0).then_some(n.semaphore),
            };
            let mut r = ResolvedProbe::new(cx.probe, format!("usdt:{shown}:{}:{}", n.provider, n.name), kind);
            r.usdt_args = Some(Rc::new(args));
            out.push(r);
        }
    }
    // bpftrace keeps the matches of an attach point in a sorted set of `PATH:PROVIDER:NAME`:
    // that order is the order of attachment (and so of which probe fires first).
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if out.is_empty() {
        let shown = if provider == "*" { name.to_string() } else { format!("{provider}:{name}") };
        let place = match (every, cx.opts.pid) {
            (true, Some(pid)) => format!("process {pid}"),
            (true, None) => "any running process".to_string(),
            (false, _) => paths.join(", "),
        };
        return Err(cx.err(format!("no usdt probes match {shown} in {place}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        assert_eq!(x86_register("rax"), Some((80, 0)));
        assert_eq!(x86_register("eax"), Some((80, 0)));
        assert_eq!(x86_register("al"), Some((80, 0)));
        assert_eq!(x86_register("ah"), Some((80, 8)));
        assert_eq!(x86_register("r8d"), Some((72, 0)));
        assert_eq!(x86_register("r15"), Some((0, 0)));
        assert_eq!(x86_register("sil"), Some((104, 0)));
        assert_eq!(x86_register("rbp"), Some((32, 0)));
        assert_eq!(x86_register("xmm0"), None);
    }

    #[test]
    fn argument_specs() {
        assert_eq!(parse_arg("-4@%eax"), Ok(UsdtArg { size: 4, signed: true, loc: UsdtLoc::Reg { offset: 80, shift: 0 } }));
        assert_eq!(
            parse_arg("8@-8(%rbp)"),
            Ok(UsdtArg { size: 8, signed: false, loc: UsdtLoc::Mem { base: 32, index: None, disp: -8 } })
        );
        assert_eq!(parse_arg("-4@$5"), Ok(UsdtArg { size: 4, signed: true, loc: UsdtLoc::Const(5) }));
        assert_eq!(parse_arg("4@$-1"), Ok(UsdtArg { size: 4, signed: false, loc: UsdtLoc::Const(-1) }));
        assert_eq!(
            parse_arg("8@(%rax,%rdx,8)"),
            Ok(UsdtArg { size: 8, signed: false, loc: UsdtLoc::Mem { base: 80, index: Some((96, 8)), disp: 0 } })
        );
        assert_eq!(
            parse_arg("2@0x10(%rsp)"),
            Ok(UsdtArg { size: 2, signed: false, loc: UsdtLoc::Mem { base: 152, index: None, disp: 16 } })
        );
        assert_eq!(
            parse_arg("-8@counter+8(%rip)"),
            Ok(UsdtArg { size: 8, signed: true, loc: UsdtLoc::Symbol { symbol: "counter".into(), addend: 8 } })
        );
        assert!(parse_arg("3@%eax").is_err());
        assert_eq!(parse_args("-4@%eax 8@%rdi").map(|v| v.len()), Ok(2));
        assert_eq!(parse_args(""), Ok(vec![]));
    }
}
