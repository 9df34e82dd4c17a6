//! USDT probes: matching `usdt:BINARY:[PROVIDER:]NAME` against the `.note.stapsdt` notes the
//! type source reads, one program per probe site, and decoding each site's argument
//! specification (`-4@%eax 8@-8(%rbp) 4@$5 8@(%rax,%rdx,8)`) into [`UsdtArg`]s that code
//! generation turns into reads of `pt_regs` and user memory.

use super::user::Binary;
use super::{has_wildcard, wildcard_match, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use btc_bpfprog::ProbeKind;
use std::rc::Rc;

pub use btc_bpfprog::usdt::{parse_arg, parse_args, x86_register, UsdtArg, UsdtLoc};

/// `usdt:BINARY:[PROVIDER:]NAME` (and `usdt:[PROVIDER:]NAME` with -p).
pub(super) fn resolve(cx: &Cx<'_>, rest: &[String]) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (target, provider, name) = match rest {
        [t, n] => (t.as_str(), "*", n.as_str()),
        [t, p, n] => (t.as_str(), if p.is_empty() { "*" } else { p.as_str() }, n.as_str()),
        [n] if cx.opts.pid.is_some() => ("*", "*", n.as_str()),
        // Without -p now, `usdt:NAME` is looked up in the traced process when the object runs.
        [n] if cx.opts.at_run_time => ("", "*", n.as_str()),
        _ => return Err(cx.err("usdt probe must be usdt:BINARY:[PROVIDER:]NAME")),
    };
    if name.is_empty() {
        return Err(cx.err("usdt probe needs a probe name"));
    }
    // A binary from a positional parameter the compile doesn't have: found when it runs.
    if super::process::deferred(cx, target) || btc_bpfprog::params::has_param(target) {
        return super::process::usdt(cx, rest, target, provider, name);
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
                args: Some(n.args.clone()),
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
