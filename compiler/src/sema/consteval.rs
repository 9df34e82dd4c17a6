//! Compile-time functions: `cgroupid(path)`, `kaddr(name)` and `uaddr(name)` are looked up
//! before checking (a name that can't be found is an error, as in bpftrace). The values come
//! from the [`TypeSource`] (the running system in the CLI), so the compiler itself still
//! touches nothing. `kaddr` and `cgroupid` become reads of a slot the runtime fills when it
//! loads the object (`$load(OFFSET)`, see `btc_bpfprog::portable::LoadSlot`): their values
//! change with every boot and cgroup, so an object carries the question, not this machine's
//! answer. `uaddr` becomes a constant (its binary's identity is checked at load); a typed pointer, as in
//! bpftrace: `(intN *)ADDR` with N from the symbol's size (8, 16 or 32 bits, else 64), which
//! in the user probes it is allowed in points to user memory.

use crate::ast::*;
use crate::catalogue::Const;
use crate::diag::{Diagnostic, Diagnostics};
use crate::types::TypeSource;
use btc_bpfprog::portable::{LoadSlot, LoadValue};

/// A compile-time call replaced by its value, recorded for the load-time checks
/// (`sema::portable`): the value is only true of this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstUse {
    /// `kaddr`, `uaddr` or `cgroupid`.
    pub function: String,
    pub arg: String,
    pub value: u64,
    /// The binary `uaddr` looked in, as the attach point names it.
    pub binary: Option<String>,
    /// The probe (index in `Program::probes`) the call is in.
    pub probe: usize,
}

/// The internal function reading a load-time slot: `$load(OFFSET)`, a u64.
pub const LOAD_FN: crate::catalogue::Func = crate::catalogue::Func::Internal(crate::catalogue::Internal::LoadValue);

/// What [`substitute`] replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consts {
    pub uses: Vec<ConstUse>,
    /// The load-time slots of `kaddr` and `cgroupid`, each call once.
    pub load_values: Vec<LoadSlot>,
}

/// Replaces every compile-time call of `prog` by its value or its load-time slot.
pub fn substitute(prog: &mut Program, types: &dyn TypeSource, diags: &mut Diagnostics) -> Consts {
    let mut next_id = prog.expr_count;
    let mut uses = Consts::default();
    for (index, probe) in prog.probes.iter_mut().enumerate() {
        let binary = user_binary(&probe.attach);
        let mut f = |e: &mut Expr| evaluate(e, types, binary.as_deref(), diags, &mut next_id, &mut uses, index);
        if let Some(pred) = &mut probe.predicate {
            walk_expr(pred, &mut f);
        }
        walk_block(&mut probe.body, &mut f);
    }
    prog.expr_count = next_id;
    uses
}

/// The binary of the probe's first uprobe or USDT attach point, for `uaddr`.
fn user_binary(attach: &[AttachPoint]) -> Option<String> {
    attach.iter().find_map(|ap| {
        let mut parts = ap.raw.splitn(3, ':');
        let provider = parts.next()?;
        let path = parts.next()?;
        matches!(provider, "uprobe" | "u" | "uretprobe" | "ur" | "usdt" | "U").then(|| path.to_string())
    })
}

/// The offset of the slot for `value`, added when new.
fn slot(load: &mut Vec<LoadSlot>, value: LoadValue) -> u32 {
    if let Some(s) = load.iter().find(|s| s.value == value) {
        return s.offset;
    }
    let offset = btc_bpfprog::portable::load_size(load);
    load.push(LoadSlot { offset, value });
    offset
}

fn evaluate(e: &mut Expr, types: &dyn TypeSource, binary: Option<&str>, diags: &mut Diagnostics, next_id: &mut u32, uses: &mut Consts, probe: usize) {
    let ExprKind::Call { name, func: Some(Func::Const(f)), args, .. } = &e.kind else { return };
    let f = *f;
    let arg = match args.as_slice() {
        [Expr { kind: ExprKind::Str(s), .. }] => s.clone(),
        _ => {
            diags.error(e.span, format!("{name}() takes one string literal"));
            return;
        }
    };
    let value = match f {
        Const::Cgroupid => types.cgroup_id(&arg).map(|v| (v, None)),
        Const::Kaddr => match types.kernel_symbol(&arg) {
            Ok(v) => Ok((v, None)),
            Err(why) => {
                // bpftrace's words first; why the lookup failed (hidden addresses, no
                // kallsyms) as the hint.
                diags.push(Diagnostic::error(e.span, format!("Failed to resolve kernel symbol: {arg}")).with_hint(why));
                return;
            }
        },
        Const::Uaddr => match binary {
            // The file the attach point names, found as a uprobe's target is (`libc` is a
            // library, `bash` a program on $PATH), as bpftrace looks in its resolved target.
            Some(path) => types
                .resolve_binary(path, None)
                .and_then(|file| types.user_symbol(&file, &arg))
                .map(|(addr, size)| (addr, Some(size))),
            None => Err("uaddr() can only be used in uprobes, uretprobes and USDT probes".to_string()),
        },
    };
    if let Ok((v, _)) = &value {
        let binary = (f == Const::Uaddr).then(|| binary.map(str::to_string)).flatten();
        uses.uses.push(ConstUse { function: name.clone(), arg: arg.clone(), value: *v, binary, probe });
    }
    let load = match f {
        Const::Kaddr => Some(LoadValue::Kaddr { name: arg.clone() }),
        Const::Cgroupid => Some(LoadValue::Cgroupid { path: arg.clone() }),
        Const::Uaddr => None,
    };
    match value {
        Ok((_, None)) if load.is_some() => {
            let offset = load.map_or(0, |l| slot(&mut uses.load_values, l));
            let at = Expr { id: ExprId(*next_id), kind: ExprKind::Int(u64::from(offset)), span: e.span };
            *next_id += 1;
            e.kind = ExprKind::call(LOAD_FN, e.span, vec![at]);
        }
        Ok((v, None)) => e.kind = ExprKind::Int(v),
        Ok((v, Some(size))) => {
            let bits = match size {
                1 | 2 | 4 => size * 8,
                _ => 64,
            };
            let ty = TypeName { keyword: None, name: format!("int{bits}"), array: None, pointers: 1, span: e.span };
            let addr = Expr { id: ExprId(*next_id), kind: ExprKind::Int(v), span: e.span };
            *next_id += 1;
            e.kind = ExprKind::Cast { ty, expr: Box::new(addr) };
        }
        Err(msg) => diags.error(e.span, msg),
    }
}

fn walk_block(b: &mut Block, f: &mut dyn FnMut(&mut Expr)) {
    for s in &mut b.stmts {
        match &mut s.kind {
            StmtKind::Expr(e) => walk_expr(e, f),
            StmtKind::Assign { target, value, .. } => {
                walk_expr(target, f);
                walk_expr(value, f);
            }
            StmtKind::If { cond, then, els } => {
                walk_expr(cond, f);
                walk_block(then, f);
                if let Some(els) = els {
                    walk_block(els, f);
                }
            }
            StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
                walk_expr(cond, f);
                walk_block(body, f);
            }
            StmtKind::For { map, body, .. } => {
                walk_expr(map, f);
                walk_block(body, f);
            }
            StmtKind::ForRange { start, end, body, .. } => {
                walk_expr(start, f);
                walk_expr(end, f);
                walk_block(body, f);
            }
            StmtKind::Let { value, .. } => {
                if let Some(v) = value {
                    walk_expr(v, f);
                }
            }
            StmtKind::Block(b) => walk_block(b, f),
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }
}

/// Visits every expression under `e` (children first), then `e`.
fn walk_expr(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    match &mut e.kind {
        ExprKind::Call { args: elems, .. } | ExprKind::Tuple(elems) | ExprKind::Map { keys: elems, .. } => {
            elems.iter_mut().for_each(|x| walk_expr(x, f))
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Arrow { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::SizeofExpr(expr)
        | ExprKind::IncDec { target: expr, .. } => walk_expr(expr, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        ExprKind::Ternary { cond, then, els } => {
            walk_expr(cond, f);
            walk_expr(then, f);
            walk_expr(els, f);
        }
        ExprKind::Block { block, value } => {
            walk_block(block, f);
            walk_expr(value, f);
        }
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::Builtin(_)
        | ExprKind::Var(_)
        | ExprKind::Positional(_)
        | ExprKind::ParamCount
        | ExprKind::SizeofType(_)
        | ExprKind::Offsetof { .. } => {}
    }
    f(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl TypeSource for Fake {
        fn tracepoint_format(&self, _: &str, _: &str) -> Result<String, String> {
            Err("none".into())
        }
        fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
            Ok(vec![])
        }
        fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
            if name == "jiffies" { Ok(0xffff_0000) } else { Err(format!("kernel symbol not found: {name}")) }
        }
        fn user_symbol(&self, path: &str, name: &str) -> Result<(u64, u64), String> {
            Ok((if path == "/bin/x" && name == "v" { 0x40 } else { 0 }, 8))
        }
        fn cgroup_id(&self, _: &str) -> Result<u64, String> {
            Ok(42)
        }
    }

    #[test]
    fn calls_become_constants_or_load_time_slots() {
        let src = "uprobe:/bin/x:f { @a = kaddr(\"jiffies\"); @b = cgroupid(\"/sys/fs/cgroup\"); @d = kaddr(\"jiffies\"); @c = uaddr(\"v\"); }";
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        let consts = substitute(&mut prog, &Fake, &mut diags);
        assert!(!diags.has_errors());
        let text = format!("{:?}", prog.probes[0].body);
        // kaddr and cgroupid read a slot each (the same call, the same slot); uaddr is the
        // binary's address.
        assert_eq!(text.matches("name: \"$load\"").count(), 3, "{text}");
        assert!(text.contains("Int(0)") && text.contains("Int(8)") && text.contains("Int(64)"), "{text}");
        let slots: Vec<(u32, LoadValue)> = consts.load_values.into_iter().map(|s| (s.offset, s.value)).collect();
        assert_eq!(slots, [(0, LoadValue::Kaddr { name: "jiffies".into() }), (8, LoadValue::Cgroupid { path: "/sys/fs/cgroup".into() })]);
        assert_eq!(consts.uses.iter().map(|u| (u.function.as_str(), u.value, u.binary.as_deref())).collect::<Vec<_>>(), [("kaddr", 0xffff_0000, None), ("cgroupid", 42, None), ("kaddr", 0xffff_0000, None), ("uaddr", 0x40, Some("/bin/x"))]);
        // uaddr is a pointer to an integer of the symbol's size (8 bytes here), with an id of its own.
        assert!(text.contains("name: \"int64\", array: None, pointers: 1"), "{text}");
        assert!(text.contains(&format!("ExprId({})", prog.expr_count - 1)), "{text}");
    }

    #[test]
    fn failures_are_diagnostics() {
        let src = "BEGIN { @a = kaddr(\"nope\"); @b = uaddr(\"v\"); }";
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        substitute(&mut prog, &Fake, &mut diags);
        let text = diags.render("stdin", src, false);
        assert!(text.contains("error: Failed to resolve kernel symbol: nope\n"), "{text}");
        assert!(text.contains("uaddr() can only be used in uprobes"), "{text}");
    }
}
