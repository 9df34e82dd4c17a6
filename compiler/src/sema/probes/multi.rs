//! One program for the functions of a wildcard uprobe (`uprobe:BIN:func*`), attached through
//! one uprobe_multi link where the kernel has them, as bpftrace 0.20 does: the instances a
//! wildcard expanded to become one probe whose `also` lists the other functions.
//!
//! A probe whose body tells its instances apart keeps one program per function: `probe` (as in
//! bpftrace), and in btc also `func` and `args`, which are compile-time values of each program.

use super::{has_wildcard, split_attach, ResolvedProbe};
use crate::ast::{Block, Expr, ExprKind, Probe};
use btc_bpfprog::ProbeKind;

/// The builtins whose value differs between the functions of a wildcard.
const PER_FUNCTION: &[&str] = &["probe", "func", "args"];

/// Merges `resolved`, the instances of one uprobe attach point `raw` of `probe`, into one probe
/// per binary when the function part of `raw` has a wildcard and nothing in the probe needs a
/// program per function.
pub(super) fn group(raw: &str, probe: &Probe, resolved: Vec<ResolvedProbe>) -> Vec<ResolvedProbe> {
    let parts = split_attach(raw);
    let function = parts.last().map(String::as_str).unwrap_or("");
    let all_entries = resolved
        .iter()
        .all(|r| matches!(&r.kind, ProbeKind::Uprobe { symbol: Some(_), offset: 0, also, .. } if also.is_empty()));
    if resolved.len() < 2 || !has_wildcard(function) || !all_entries || uses_builtins(probe, PER_FUNCTION) {
        return resolved;
    }
    let mut out: Vec<ResolvedProbe> = Vec::new();
    for r in resolved {
        let ProbeKind::Uprobe { path, symbol: Some(symbol), .. } = &r.kind else { continue };
        let same_binary = out.iter_mut().find(|g| matches!(&g.kind, ProbeKind::Uprobe { path: p, .. } if p == path));
        match same_binary {
            Some(g) => {
                if let ProbeKind::Uprobe { also, .. } = &mut g.kind {
                    also.push(symbol.clone());
                }
            }
            None => {
                let mut g = r.clone();
                // `uprobe:BIN:func*`, as bpftrace names the probe of a uprobe_multi link.
                g.name = match r.name.strip_suffix(symbol.as_str()) {
                    Some(prefix) => format!("{prefix}{function}"),
                    None => r.name.clone(),
                };
                g.func = None;
                g.args = None;
                out.push(g);
            }
        }
    }
    out
}

/// Whether the predicate or the body of `probe` uses one of the builtins `names`.
fn uses_builtins(probe: &Probe, names: &[&str]) -> bool {
    probe.predicate.as_ref().is_some_and(|p| expr_uses(p, names)) || block_uses(&probe.body, names)
}

fn block_uses(b: &Block, names: &[&str]) -> bool {
    let mut found = false;
    crate::ast::visit_block(b, &mut |e| found |= matches!(&e.kind, ExprKind::Builtin(n) if names.contains(&n.as_str())));
    found
}

fn expr_uses(e: &Expr, names: &[&str]) -> bool {
    let mut found = false;
    crate::ast::visit_expr(e, &mut |e| found |= matches!(&e.kind, ExprKind::Builtin(n) if names.contains(&n.as_str())));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    fn probe(src: &str) -> Probe {
        let mut diags = Diagnostics::default();
        let prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        prog.probes.into_iter().next().expect("a probe")
    }

    fn instance(path: &str, symbol: &str) -> ResolvedProbe {
        let kind = ProbeKind::Uprobe {
            path: path.into(),
            symbol: Some(symbol.into()),
            offset: 0,
            ret: false,
            optional: true,
            also: Vec::new(),
        };
        ResolvedProbe::new(0, format!("uprobe:{path}:{symbol}"), kind)
    }

    #[test]
    fn a_wildcard_becomes_one_probe_per_binary() {
        let p = probe("uprobe:/bin/a:f* { @ = count(); }");
        let r = vec![instance("/bin/a", "f1"), instance("/bin/a", "f2"), instance("/bin/b", "f3")];
        let g = group("uprobe:/bin/a:f*", &p, r);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "uprobe:/bin/a:f*");
        assert!(matches!(&g[0].kind, ProbeKind::Uprobe { symbol: Some(s), also, .. } if s == "f1" && also == &["f2"]));
        assert!(matches!(&g[1].kind, ProbeKind::Uprobe { also, .. } if also.is_empty()));
    }

    #[test]
    fn per_function_builtins_keep_one_program_each() {
        for body in ["{ print(probe); }", "{ @[func] = count(); }", "/args.x/ { }"] {
            let p = probe(&format!("uprobe:/bin/a:f* {body}"));
            let g = group("uprobe:/bin/a:f*", &p, vec![instance("/bin/a", "f1"), instance("/bin/a", "f2")]);
            assert_eq!(g.len(), 2, "{body}");
        }
        let p = probe("uprobe:/bin/a:f1 { }");
        assert_eq!(group("uprobe:/bin/a:f1", &p, vec![instance("/bin/a", "f1"), instance("/bin/b", "f1")]).len(), 2);
    }
}
