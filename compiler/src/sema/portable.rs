//! What a compiled object holds that is only true of the machine it was compiled on
//! (`btc_bpfprog::Portable`): the tracepoint argument fields its programs read (offsets from
//! this kernel's format files), kprobe offsets into functions (this kernel build's machine
//! code), the values `kaddr()` and `cgroupid()` were replaced by, and the user binaries whose
//! addresses it holds. The runtime checks each at load. Kernel struct accesses are not here:
//! they are CO-RE relocations.

use crate::ast::*;
use crate::sema::consteval::Consts;
use crate::sema::Analysis;
use crate::types::tracepoint::core_field;
use crate::types::TypeSource;
use btc_bpfprog::portable::{format_fields, BinaryIdentity, Portable, TracepointLayout};
use btc_bpfprog::ProbeKind;

/// The argument fields a probe body reads: `None` when it uses `args` as a whole (all of them).
pub fn args_fields(probe: &Probe) -> Option<Vec<String>> {
    let (names, whole) = args_use(probe);
    (!whole).then_some(names)
}

/// The argument fields a probe body reads one by one, sorted, and whether it also uses `args`
/// as a whole.
pub fn args_use(probe: &Probe) -> (Vec<String>, bool) {
    let mut names = Vec::new();
    let mut whole = false;
    let mut visit = |e: &Expr| match &e.kind {
        ExprKind::Field { expr, field, .. } | ExprKind::Arrow { expr, field, .. } if is_args(expr) => names.push(field.clone()),
        _ => {}
    };
    let mut count_whole = |e: &Expr| {
        if is_args(e) {
            whole = true;
        }
    };
    if let Some(p) = &probe.predicate {
        walk(p, &mut visit, &mut count_whole, false);
    }
    walk_block(&probe.body, &mut visit, &mut count_whole);
    names.sort();
    names.dedup();
    (names, whole)
}

/// Whether the probe body reads any of `args`.
pub fn reads_args(probe: &Probe) -> bool {
    args_fields(probe).is_none_or(|f| !f.is_empty())
}

fn is_args(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Builtin(b) if b == "args")
}

fn walk_block(b: &Block, f: &mut dyn FnMut(&Expr), whole: &mut dyn FnMut(&Expr)) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Expr(e) => walk(e, f, whole, false),
            StmtKind::Assign { target, value, .. } => {
                walk(target, f, whole, false);
                walk(value, f, whole, false);
            }
            StmtKind::If { cond, then, els } => {
                walk(cond, f, whole, false);
                walk_block(then, f, whole);
                if let Some(e) = els {
                    walk_block(e, f, whole);
                }
            }
            StmtKind::While { cond: e, body } | StmtKind::Unroll { count: e, body } | StmtKind::For { map: e, body, .. } => {
                walk(e, f, whole, false);
                walk_block(body, f, whole);
            }
            StmtKind::ForRange { start, end, body, .. } => {
                walk(start, f, whole, false);
                walk(end, f, whole, false);
                walk_block(body, f, whole);
            }
            StmtKind::Let { value, .. } => {
                if let Some(v) = value {
                    walk(v, f, whole, false);
                }
            }
            StmtKind::Block(b) => walk_block(b, f, whole),
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }
}

/// Visits `e` and everything under it with `f`; `whole` sees every expression that is not
/// the base of a field access (`based`).
fn walk(e: &Expr, f: &mut dyn FnMut(&Expr), whole: &mut dyn FnMut(&Expr), based: bool) {
    f(e);
    if !based {
        whole(e);
    }
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Builtin(_) | ExprKind::Var(_) | ExprKind::Positional(_) | ExprKind::ParamCount => {}
        ExprKind::Block { block, value } => {
            walk_block(block, f, whole);
            walk(value, f, whole, false);
        }
        ExprKind::SizeofType(_) | ExprKind::Offsetof { .. } => {}
        ExprKind::Map { keys: items, .. } | ExprKind::Call { args: items, .. } | ExprKind::Tuple(items) => {
            items.iter().for_each(|x| walk(x, f, whole, false))
        }
        ExprKind::Field { expr: x, .. } | ExprKind::Arrow { expr: x, .. } => walk(x, f, whole, true),
        ExprKind::Unary { expr: x, .. } | ExprKind::Cast { expr: x, .. } | ExprKind::IncDec { target: x, .. } => {
            walk(x, f, whole, false)
        }
        // sizeof(args) reads nothing.
        ExprKind::SizeofExpr(x) => walk(x, f, whole, true),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
            walk(lhs, f, whole, false);
            walk(rhs, f, whole, false);
        }
        ExprKind::Ternary { cond, then, els } => {
            walk(cond, f, whole, false);
            walk(then, f, whole, false);
            walk(els, f, whole, false);
        }
    }
}

/// Adds `what` to the uses of binary `path`, with its identity (none known: not recorded).
fn binary_use(out: &mut Vec<BinaryIdentity>, types: &dyn TypeSource, path: &str, what: String) {
    if let Some(b) = out.iter_mut().find(|b| b.path == path) {
        if !b.uses.contains(&what) {
            b.uses.push(what);
        }
        return;
    }
    if let Some(identity) = types.file_identity(path) {
        out.push(BinaryIdentity { path: path.to_string(), identity, uses: vec![what] });
    }
}

/// What the object compiled from `prog` will hold that only this machine vouches for.
pub fn collect(prog: &Program, analysis: &Analysis, consts: &Consts, types: &dyn TypeSource) -> Portable {
    let mut p = Portable { load_values: consts.load_values.clone(), ..Portable::default() };
    for inst in &analysis.instances {
        let probe = &inst.probe;
        match &probe.kind {
            ProbeKind::Tracepoint { category, name } => {
                let Some(ast) = prog.probes.get(probe.probe) else { continue };
                let Ok(text) = types.tracepoint_format(category, name) else { continue };
                let all = format_fields(&text);
                let used = args_fields(ast);
                let mut fields: Vec<_> = match &used {
                    None => all.into_iter().filter(|f| !f.name.starts_with("common_")).collect(),
                    Some(used) => all.into_iter().filter(|f| used.contains(&f.name)).collect(),
                };
                // Fields read one by one through CO-RE relocations need no check (`args` read
                // whole is copied at the format's offsets).
                if let (Some(core), Some(record), Some(_)) = (&inst.args_core, &probe.args, &used) {
                    fields.retain(|f| record.field(&f.name).is_none_or(|rf| core_field(core, rf).is_none()));
                }
                if !fields.is_empty() && !p.tracepoints.iter().any(|t| &t.category == category && &t.name == name) {
                    p.tracepoints.push(TracepointLayout { category: category.clone(), name: name.clone(), fields });
                }
            }
            ProbeKind::Kprobe { offset, .. } if *offset != 0 => p.kernel_uses.push(probe.name.clone()),
            ProbeKind::Uprobe { path, symbol, offset, .. } if symbol.is_none() || *offset != 0 => {
                binary_use(&mut p.binaries, types, path, probe.name.clone())
            }
            // `args` of a uprobe: the parameters' types and struct layouts come from the
            // binary's DWARF.
            ProbeKind::Uprobe { path, .. } if probe.args.is_some() && prog.probes.get(probe.probe).is_some_and(|a| args_fields(a).is_none_or(|f| !f.is_empty())) => {
                binary_use(&mut p.binaries, types, path, format!("{} (args)", probe.name))
            }
            ProbeKind::Usdt { path, .. } => binary_use(&mut p.binaries, types, path, probe.name.clone()),
            _ => {}
        }
    }
    for c in consts.uses.iter().filter(|c| c.function == "uaddr") {
        // The file the probe's attach point resolved to (`libc` names a path), else as written.
        let resolved = analysis.instances.iter().filter(|i| i.probe.probe == c.probe).find_map(|i| match &i.probe.kind {
            ProbeKind::Uprobe { path, .. } | ProbeKind::Usdt { path, .. } => Some(path.clone()),
            _ => None,
        });
        if let Some(path) = resolved.or_else(|| c.binary.clone()) {
            binary_use(&mut p.binaries, types, &path, format!("uaddr(\"{}\")", c.arg));
        }
    }
    if !p.kernel_uses.is_empty() {
        p.kernel_build_id = types.kernel_build_id();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(src: &str) -> Option<Vec<String>> {
        let mut diags = crate::diag::Diagnostics::default();
        let prog = crate::syntax::parse(src, &mut diags).expect("parses");
        args_fields(&prog.probes[0])
    }

    #[test]
    fn finds_the_argument_fields_read() {
        assert_eq!(fields("t:syscalls:sys_enter_openat /args.flags/ { printf(\"%s\\n\", str(args->filename)); }"), Some(vec!["filename".into(), "flags".into()]));
        assert_eq!(fields("t:syscalls:sys_enter_openat { print(args); }"), None);
        assert_eq!(fields("t:syscalls:sys_enter_openat { @[comm] = count(); }"), Some(vec![]));
    }
}
