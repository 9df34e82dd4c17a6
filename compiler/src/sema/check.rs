//! Type checking: gives every expression of every probe instance a type, fixes the signature of
//! every map, and reports every misuse.

use super::probes::ResolvedProbe;
use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::types::{AggKind, Type};
use std::collections::HashMap;

/// What a map stores, fixed by its first assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapKind {
    Plain(Type),
    Agg(AggKind),
}

/// A map's signature.
#[derive(Debug, Clone)]
pub struct MapSig {
    pub name: String,
    /// `None` for a scalar map (`@x`).
    pub key: Option<Type>,
    pub kind: MapKind,
    /// Where the signature was fixed (for notes in mismatch errors).
    pub defined_at: Span,
    /// What `let @name = kind(n);` declares (by [`super::map_decls::apply`]).
    pub declared: Option<super::map_decls::Declared>,
}

impl MapSig {
    /// The type of reading `@m[k]`.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            MapKind::Plain(t) => t.clone(),
            MapKind::Agg(a) => Type::Agg(*a),
        }
    }
}

/// The checked form of one resolved probe.
#[derive(Debug, Clone)]
pub struct Instance {
    pub probe: ResolvedProbe,
    /// Type of every expression, indexed by [`ExprId`].
    pub types: Vec<Option<Type>>,
    /// Scratch variables and their types.
    pub vars: HashMap<String, Type>,
    /// Values of expressions evaluated at compile time (sizeof, offsetof, enum constants).
    pub consts: HashMap<ExprId, u64>,
    /// A tracepoint's `struct trace_event_raw_NAME` in the kernel's BTF, when the body reads
    /// `args` and BTF has it: the reads of its fields are CO-RE relocated
    /// (`types::tracepoint::core_field`).
    pub args_core: Option<std::rc::Rc<crate::types::StructRef>>,
}

impl Instance {
    pub fn ty(&self, e: &Expr) -> Type {
        self.types.get(e.id.0 as usize).cloned().flatten().unwrap_or(Type::Void)
    }
}

/// Options of the language that change types.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub strlen: u32,
    /// `--unsafe`: allow system(), signal(), override().
    pub allow_unsafe: bool,
    /// How kstack/ustack print when the call doesn't say (BPFTRACE_STACK_MODE).
    pub stack_mode: btc_bpfprog::StackMode,
    /// A child command is given (`-c`), so `cpid` has a value.
    pub has_child: bool,
    /// The `-c` command, when given.
    pub command: Option<String>,
    /// The process given with `-p` (uprobe and usdt targets are looked up in it).
    pub pid: Option<i32>,
    /// BPFTRACE_MAX_BPF_PROGS (0: the default).
    pub max_bpf_progs: u32,
    /// `--unsafe`, `-c` and `-p` come when the object runs (see
    /// `CompileOptions::process_flags_at_run_time`); never set with `pid` or `has_child`.
    pub at_run_time: bool,
}

/// Checks every probe instance. Map signatures are shared by all instances.
pub fn check(
    prog: &Program,
    probes: Vec<ResolvedProbe>,
    db: &crate::types::TypeDb<'_>,
    opts: &CheckOptions,
    diags: &mut Diagnostics,
) -> (Vec<Instance>, Vec<MapSig>) {
    // Maps may be read (in one probe) before they are assigned (in a later one): a first pass with
    // diagnostics discarded collects every map's signature, the second checks with them known.
    let mut maps = MapTable::default();
    for pass in 0..2 {
        let mut scratch = Diagnostics::default();
        let d = if pass == 0 { &mut scratch } else { &mut *diags };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for rp in &probes {
            let Some(ast) = prog.probes.get(rp.probe) else { continue };
            let mut cx = Checker {
                rp,
                opts,
                maps: &mut maps,
                types: vec![None; prog.expr_count as usize],
                vars: HashMap::new(),
                var_spans: HashMap::new(),
                diags: Diagnostics::default(),
                loop_depth: 0,
                final_pass: pass == 1,
                db,
                consts: HashMap::new(),
                declared: HashMap::new(),
                untyped: Default::default(),
            };
            if let Some(pred) = &ast.predicate {
                let t = cx.expr(pred);
                if !t.is_scalar() && t != Type::Void {
                    cx.err(pred.span, format!("predicate must be an integer, found {t}"));
                }
            }
            cx.block(&ast.body);
            let Checker { types, vars, diags: local, consts, .. } = cx;
            // Instances of one probe share source: report each problem once.
            for diag in local.items {
                if seen.insert((diag.span, diag.message.clone())) {
                    d.push(diag);
                }
            }
            let args_core = match &rp.kind {
                btc_bpfprog::ProbeKind::Tracepoint { category, name }
                    if pass == 1 && rp.args.is_some() && crate::sema::portable::reads_args(ast) =>
                {
                    crate::types::tracepoint::core_struct(db, category, name)
                }
                _ => None,
            };
            out.push(Instance { probe: rp.clone(), types, vars, consts, args_core });
        }
        if pass == 1 {
            return (out, maps.sigs);
        }
    }
    (Vec::new(), Vec::new())
}

#[derive(Default)]
pub(crate) struct MapTable {
    pub(crate) sigs: Vec<MapSig>,
}

impl MapTable {
    pub(crate) fn get(&self, name: &str) -> Option<&MapSig> {
        self.sigs.iter().find(|s| s.name == name)
    }
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut MapSig> {
        self.sigs.iter_mut().find(|s| s.name == name)
    }
}

pub(crate) struct Checker<'a> {
    pub(crate) rp: &'a ResolvedProbe,
    pub(crate) opts: &'a CheckOptions,
    pub(crate) maps: &'a mut MapTable,
    pub(crate) types: Vec<Option<Type>>,
    pub(crate) vars: HashMap<String, Type>,
    pub(crate) var_spans: HashMap<String, Span>,
    pub(crate) diags: Diagnostics,
    pub(crate) loop_depth: u32,
    pub(crate) final_pass: bool,
    /// Named types: the preamble's and the kernel's.
    pub(crate) db: &'a crate::types::TypeDb<'a>,
    pub(crate) consts: HashMap<ExprId, u64>,
    /// Variables declared with a type (`let $x: uint8`): assignments convert to it.
    pub(crate) declared: HashMap<String, Type>,
    /// Variables declared with neither a type nor a value (`let $x;`), not assigned yet.
    pub(crate) untyped: std::collections::HashSet<String>,
}

/// Two types can share a slot (variable, map key or value) when they are equal up to integer
/// width and string length, which are widened to the larger.
/// The type a variable or map value keeps when assigned a value of type `new` after one of type
/// `first`, as bpftrace does: integers take the wider width but keep the first assignment's
/// signedness (values are converted to it: `(int8)-3` into a uint8 map is 253); strings grow
/// to the longer; other types must agree.
fn settle(first: &Type, new: &Type) -> Option<Type> {
    match (first, new) {
        (Type::Int { bits: x, signed }, Type::Int { bits: y, .. }) => Some(Type::Int { bits: (*x).max(*y), signed: *signed }),
        _ => unify(first, new),
    }
}

pub(crate) fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Int { bits: x, signed: s }, Type::Int { bits: y, signed: t }) => {
            Some(Type::Int { bits: (*x).max(*y), signed: *s || *t })
        }
        (Type::Str { len: x }, Type::Str { len: y }) => Some(Type::Str { len: (*x).max(*y) }),
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => {
            xs.iter().zip(ys).map(|(x, y)| unify(x, y)).collect::<Option<Vec<_>>>().map(Type::Tuple)
        }
        (Type::Ptr { .. }, Type::Ptr { .. }) if a == b => Some(a.clone()),
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

impl Checker<'_> {
    /// The type of the `probe` and `func` builtins, whose whole text is known here. A string
    /// exactly filling `BPFTRACE_STRLEN` bytes reads as possibly cut (and is printed with the
    /// truncation trailer), so such a name gets one byte more. (String literals keep their size:
    /// `str($1)` becomes the literal of a parameter cut to fit, which must read as cut.)
    pub(crate) fn known_str(&self, text: &str) -> Type {
        let len = u32::try_from(text.len() + 1).unwrap_or(u32::MAX);
        Type::Str { len: if len == self.opts.strlen { len + 1 } else { len } }
    }

    pub(crate) fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.error(span, msg);
    }

    pub(crate) fn set(&mut self, e: &Expr, t: Type) -> Type {
        if let Some(slot) = self.types.get_mut(e.id.0 as usize) {
            *slot = Some(t.clone());
        }
        t
    }

    pub(crate) fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    pub(crate) fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => {
                let t = self.expr(e);
                if let Type::Agg(_) = t {
                    self.err(e.span, "an aggregate function's result must be assigned to a map");
                }
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value),
            StmtKind::If { cond, then, els } => {
                self.condition(cond);
                self.block(then);
                if let Some(els) = els {
                    self.block(els);
                }
            }
            StmtKind::While { cond, body } => {
                self.condition(cond);
                self.loop_depth += 1;
                self.block(body);
                self.loop_depth -= 1;
            }
            StmtKind::Unroll { count, body } => {
                match &count.kind {
                    ExprKind::Int(n) if (1..=100).contains(n) => {}
                    // Integer literals are unsigned here: a negative count wraps to a huge one.
                    ExprKind::Int(n) if *n > 100 && *n <= i64::MAX as u64 => {
                        self.err(count.span, "unroll maximum value is 100")
                    }
                    ExprKind::Int(_) => self.err(count.span, "unroll minimum value is 1"),
                    // `-N` is a (negative) literal too, as in bpftrace.
                    ExprKind::Unary { op: UnaryOp::Neg, expr } if matches!(expr.kind, ExprKind::Int(_)) => {
                        self.err(count.span, "unroll minimum value is 1")
                    }
                    // A parameter's count, checked (1 to 100) when the object runs.
                    _ if crate::sema::positional::is_param_read(count) => {
                        self.expr(count);
                    }
                    _ => self.err(count.span, "invalid unroll value"),
                }
                self.set(count, Type::I64);
                self.block(body);
            }
            StmtKind::For { var, var_span, map, body } => {
                let elem = self.map_loop_elem(map);
                self.vars.insert(var.clone(), elem);
                self.var_spans.insert(var.clone(), *var_span);
                self.loop_depth += 1;
                self.block(body);
                self.loop_depth -= 1;
            }
            StmtKind::ForRange { var, var_span, start, end, body } => {
                for bound in [start, end] {
                    let t = self.expr(bound);
                    if !t.is_int() {
                        self.err(bound.span, format!("a range's bounds must be integers, found {t}"));
                    }
                }
                self.define_var(var, *var_span, Type::I64);
                self.loop_depth += 1;
                self.block(body);
                self.loop_depth -= 1;
            }
            StmtKind::Let { var, var_span, ty, value } => self.declare(var, *var_span, s.span, ty.as_ref(), value.as_ref()),
            StmtKind::Block(b) => self.block(b),
            StmtKind::Break | StmtKind::Continue => {
                if self.loop_depth == 0 {
                    let what = if matches!(s.kind, StmtKind::Break) { "break" } else { "continue" };
                    self.err(s.span, format!("'{what}' outside of a loop"));
                }
            }
            StmtKind::Return => {}
        }
    }

    pub(crate) fn condition(&mut self, cond: &Expr) {
        let t = self.expr(cond);
        if !t.is_scalar() {
            self.err(cond.span, format!("condition must be an integer, found {t}"));
        }
    }

    pub(crate) fn assign(&mut self, target: &Expr, op: Option<BinOp>, value: &Expr) {
        let vt = self.expr(value);
        match &target.kind {
            ExprKind::Map { name, keys } => {
                let key = self.map_key(keys);
                let kind = match (&vt, op) {
                    (Type::Agg(_), None) if !matches!(value.kind, ExprKind::Call { .. }) => {
                        self.err(value.span, "an aggregate map can't be copied; assign the aggregate function itself");
                        return;
                    }
                    (Type::Agg(k), None) => MapKind::Agg(*k),
                    (Type::Agg(_), Some(_)) => {
                        self.err(value.span, "an aggregate function can't be used in a compound assignment");
                        return;
                    }

                    (Type::Void, _) => {
                        self.err(value.span, "this expression has no value to assign");
                        return;
                    }
                    // `@p += n` on a pointer map is `@p = @p + n`.
                    (t, Some(o)) if matches!(self.maps.get(name).map(|s| &s.kind), Some(MapKind::Plain(Type::Ptr { .. }))) => {
                        let Some(MapKind::Plain(old)) = self.maps.get(name).map(|s| s.kind.clone()) else { return };
                        let t = t.clone();
                        MapKind::Plain(self.pointer_compound(target, o, &old, &t))
                    }
                    (t, Some(o)) if !t.is_int() => {
                        self.err(value.span, format!("operator {}= needs an integer, found {t}", o.symbol()));
                        return;
                    }
                    (Type::Record(_), _) => {
                        self.err(value.span, "records can't be stored in maps yet");
                        return;
                    }
                    // bpftrace types `@m op= v` on a map with no value yet as `@m op v` with an
                    // untyped left side: unsigned 64-bit (so `@m -= 1` prints 18446744073709551615).
                    // On a map that has a type, the result keeps it.
                    (t, Some(_)) => match self.maps.get(name).map(|s| &s.kind) {
                        None => MapKind::Plain(Type::U64),
                        Some(MapKind::Plain(old)) if old.is_int() => MapKind::Plain(old.clone()),
                        Some(_) => MapKind::Plain(t.clone()),
                    },
                    (t, _) => MapKind::Plain(t.clone()),
                };
                self.define_map(name, target.span, key, kind);
                let rt = self.maps.get(name).map(MapSig::value_type).unwrap_or(Type::Void);
                self.set(target, rt);
            }
            ExprKind::Var(name) => {
                if let Type::Agg(_) = vt {
                    self.err(value.span, "an aggregate function's result can only be assigned to a map")
                }
                if vt == Type::Void {
                    self.err(value.span, "this expression has no value to assign");
                    return;
                }
                let mut vt = vt;
                if op.is_none() && self.declared.get(name).is_some_and(Type::is_bool) && super::lang26::is_truth(value) {
                    vt = Type::BOOL;
                }
                if let Some(o) = op {
                    match self.vars.get(name).cloned() {
                        None => self.err(target.span, format!("variable ${} is used before it is assigned", shown(name))),
                        // `$p += n` is `$p = $p + n`: a pointer moved by n pointees.
                        Some(t @ Type::Ptr { .. }) => vt = self.pointer_compound(target, o, &t, &vt),
                        Some(t) if !t.is_int() || !vt.is_int() => {
                            self.err(target.span, format!("operator {}= needs integers, found {t}", o.symbol()))
                        }
                        _ => {}
                    }
                }
                self.define_var(name, target.span, vt);
                let t = self.vars.get(name).cloned().unwrap_or(Type::Void);
                self.set(target, t);
            }
            _ => self.err(target.span, "can only assign to a variable or a map"),
        }
    }

    pub(crate) fn define_var(&mut self, name: &str, span: Span, t: Type) {
        self.settle_untyped(name, &t);
        if let Some(declared) = self.declared.get(name).cloned() {
            let fits = match (&declared, &t) {
                (Type::Int { .. }, Type::Int { .. }) => !declared.is_bool() || t.is_bool(),
                _ => unify(&declared, &t).is_some_and(|u| u == declared),
            };
            if !fits {
                self.err(span, format!("type mismatch for ${}: trying to assign a value of type {t} to a variable of type {declared}", shown(name)));
            }
            return;
        }
        match self.vars.get(name) {
            None => {
                self.vars.insert(name.to_string(), t);
                self.var_spans.insert(name.to_string(), span);
            }
            Some(old) => match settle(old, &t) {
                Some(u) => {
                    self.vars.insert(name.to_string(), u);
                }
                None => {
                    let old = old.clone();
                    let first = self.var_spans.get(name).copied().unwrap_or(span);
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!("type mismatch for ${}: trying to assign a value of type {t} to a variable of type {old}", shown(name)),
                        )
                        .with_note(first, format!("${} got type {old} here", shown(name))),
                    );
                }
            },
        }
    }

    pub(crate) fn map_key(&mut self, keys: &[Expr]) -> Option<Type> {
        let mut tys = Vec::new();
        for k in keys {
            let t = self.expr(k);
            match t {
                Type::Int { .. }
                | Type::Str { .. }
                | Type::Ptr { .. }
                | Type::Tuple(_)
                | Type::Runtime(_)
                | Type::Array { .. }
                | Type::Struct(_) => tys.push(t),
                other => {
                    self.err(k.span, format!("a map key can't be of type {other}"));
                    tys.push(Type::I64);
                }
            }
        }
        match tys.len() {
            0 => None,
            1 => tys.pop(),
            // The parts of a multi-key hold integers as 64-bit values, as bpftrace's keys do
            // (tuple members would keep their own width).
            _ => Some(Type::Tuple(
                tys.into_iter()
                    .map(|t| match t {
                        Type::Int { signed, .. } if !t.is_bool() => Type::Int { bits: 64, signed },
                        t => t,
                    })
                    .collect(),
            )),
        }
    }

    pub(crate) fn define_map(&mut self, name: &str, span: Span, key: Option<Type>, kind: MapKind) {
        let Some(sig) = self.maps.get_mut(name) else {
            self.maps.sigs.push(MapSig { name: name.to_string(), key, kind, defined_at: span, declared: None });
            return;
        };
        let first = sig.defined_at;
        let key_ok = match (&sig.key, &key) {
            (None, None) => true,
            (Some(a), Some(b)) => match unify(a, b) {
                Some(u) => {
                    sig.key = Some(u);
                    true
                }
                None => false,
            },
            _ => false,
        };
        let kind_ok = match (&sig.kind, &kind) {
            (MapKind::Plain(a), MapKind::Plain(b)) => match settle(a, b) {
                Some(u) => {
                    sig.kind = MapKind::Plain(u);
                    true
                }
                None => false,
            },
            (MapKind::Agg(a), MapKind::Agg(b)) => a == b,
            _ => false,
        };
        let describe = |k: &Option<Type>| k.as_ref().map_or("no key".to_string(), |t| format!("key {t}"));
        if !key_ok {
            let msg = format!(
                "map {name} is used with {} here but with {} before",
                describe(&key),
                describe(&sig.key)
            );
            if self.final_pass {
                self.diags.push(Diagnostic::error(span, msg).with_note(first, format!("{name} was first used here")));
            }
        } else if !kind_ok {
            let show = |k: &MapKind| match k {
                MapKind::Plain(t) => t.to_string(),
                MapKind::Agg(a) => Type::Agg(*a).to_string(),
            };
            let msg = format!(
                "type mismatch for {name}: trying to assign a value of type {} to a map of type {}",
                show(&kind),
                show(&sig.kind)
            );
            if self.final_pass {
                self.diags.push(Diagnostic::error(span, msg).with_note(first, format!("{name} got its type here")));
            }
        }
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> Type {
        let t = self.expr_inner(e);
        self.set(e, t)
    }

    pub(crate) fn expr_inner(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Int(v) => {
                if *v > i64::MAX as u64 {
                    Type::U64
                } else {
                    Type::I64
                }
            }
            ExprKind::Bool(_) => Type::BOOL,
            ExprKind::Block { block, value } => {
                self.block(block);
                self.expr(value)
            }
            ExprKind::Str(s) => Type::Str { len: u32::try_from(s.len() + 1).unwrap_or(u32::MAX) },
            ExprKind::Builtin(name) => {
                let t = self.builtin(name, e.span);
                self.record_enum_constant(e, name);
                t
            }
            ExprKind::Var(name) => match self.vars.get(name) {
                Some(t) => t.clone(),
                None => {
                    self.err(e.span, format!("variable ${} is used before it is assigned", shown(name)));
                    Type::I64
                }
            },
            ExprKind::Positional(_) | ExprKind::ParamCount => {
                self.err(e.span, "positional parameters are not supported yet");
                Type::I64
            }
            ExprKind::Map { name, keys } => {
                let key = self.map_key(keys);
                match self.maps.get(name) {
                    Some(sig) => {
                        let sig = sig.clone();
                        let matches = match (&sig.key, &key) {
                            (None, None) => true,
                            (Some(a), Some(b)) => unify(a, b).is_some(),
                            _ => false,
                        };
                        if !matches && self.final_pass {
                            let d = Diagnostic::error(e.span, format!("map {name} is used with different keys here"))
                                .with_note(sig.defined_at, format!("{name} was first used here"));
                            self.diags.push(d);
                        }
                        sig.value_type()
                    }
                    None => {
                        if self.final_pass {
                            self.err(e.span, format!("undefined map: {name}"));
                        }
                        Type::I64
                    }
                }
            }
            ExprKind::Call { name, name_span, func, args } => self.call(e, name, *name_span, *func, args),
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match op {
                    UnaryOp::Neg | UnaryOp::BitNot => {
                        if !t.is_int() {
                            self.err(e.span, format!("operand of unary operator must be an integer, found {t}"));
                        }
                        // As in bpftrace, -x and ~x keep the operand's width and signedness:
                        // -(uint8)5 is 251.
                        t
                    }
                    UnaryOp::Not => {
                        if !t.is_scalar() {
                            self.err(e.span, format!("operand of '!' must be an integer, found {t}"));
                        }
                        Type::U64
                    }
                    UnaryOp::Deref => self.deref(e, &t),
                    UnaryOp::AddrOf => self.addr_of(e, expr, &t),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Ternary { cond, then, els } => {
                self.condition(cond);
                let a = self.expr(then);
                let b = self.expr(els);
                match unify(&a, &b) {
                    // Void branches (`c ? print(1) : print(2);`) make a void ternary: fine as a
                    // statement; using its value is reported where it is used.
                    Some(t) if a.is_scalar() || matches!(a, Type::Str { .. } | Type::Void) => t,
                    Some(_) => {
                        self.err(e.span, format!("?: chooses between integers or strings, found {a}"));
                        a
                    }
                    None => {
                        self.err(e.span, format!("branches of ?: have different types: {a} and {b}"));
                        a
                    }
                }
            }
            ExprKind::Field { expr, field, field_span } => self.field(e, expr, field, *field_span),
            ExprKind::Arrow { expr, field, field_span } => self.arrow(e, expr, field, *field_span),
            ExprKind::Index { expr, index } => self.index(e, expr, index),
            ExprKind::Tuple(elems) => {
                let tys: Vec<Type> = elems.iter().map(|x| self.expr(x)).collect();
                for (x, t) in elems.iter().zip(&tys) {
                    if !matches!(
                        t,
                        Type::Int { .. }
                            | Type::Str { .. }
                            | Type::Ptr { .. }
                            | Type::Tuple(_)
                            | Type::Runtime(_)
                            | Type::Array { .. }
                            | Type::Struct(_)
                    ) {
                        self.err(x.span, format!("a tuple can't hold a value of type {t}"));
                    }
                }
                Type::Tuple(tys)
            }
            ExprKind::Cast { ty, expr } => self.cast(e, ty, expr),
            ExprKind::IncDec { target, .. } => {
                match &target.kind {
                    // On a pointer, ++ and -- step by the size of the pointee (as in C).
                    ExprKind::Var(name) => match self.vars.get(name).cloned() {
                        Some(t) if t.is_int() || t.is_ptr() => {
                            self.set(target, t.clone());
                            t
                        }
                        Some(t) => {
                            self.err(e.span, format!("++/-- needs an integer variable, ${} is {t}", shown(name)));
                            Type::I64
                        }
                        None => {
                            self.err(target.span, format!("variable ${} is used before it is assigned", shown(name)));
                            Type::I64
                        }
                    },
                    ExprKind::Map { name, keys } => {
                        let key = self.map_key(keys);
                        // `@x++` on a new map makes it an integer map.
                        if self.maps.get(name).is_none() {
                            self.define_map(name, target.span, key, MapKind::Plain(Type::I64));
                        }
                        let sig = self.maps.get(name).cloned();
                        match sig.map(|s| s.kind) {
                            Some(MapKind::Plain(t)) if t.is_int() || t.is_ptr() => {
                                self.set(target, t.clone());
                                t
                            }
                            Some(k) => {
                                let shown = match k {
                                    MapKind::Plain(t) => t.to_string(),
                                    MapKind::Agg(a) => Type::Agg(a).to_string(),
                                };
                                self.err(e.span, format!("++/-- needs an integer map, {name} is {shown}"));
                                Type::I64
                            }
                            None => Type::I64,
                        }
                    }
                    _ => {
                        self.err(e.span, "++ and -- can only be applied to a variable or a map");
                        Type::I64
                    }
                }
            }
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) | ExprKind::Offsetof { .. } => self.sizeof(e),
        }
    }

    pub(crate) fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> Type {
        let a = self.expr(lhs);
        let b = self.expr(rhs);
        if let Some(t) = self.pointer_binary(e, op, &a, &b) {
            return t;
        }
        if let Some(t) = self.aggregate_binary(e, op, &a, &b) {
            return t;
        }
        match (&a, &b) {
            (Type::Str { .. }, Type::Str { .. }) if matches!(op, BinOp::Eq | BinOp::Ne) => Type::U64,
            _ if a.is_scalar() && b.is_scalar() => {
                if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
                    Type::U64
                } else if matches!(op, BinOp::Shl | BinOp::Shr) {
                    // bpftrace: a shift has the signedness of its left operand.
                    Type::Int { bits: 64, signed: a.is_signed() }
                } else {
                    Type::Int { bits: 64, signed: a.is_signed() && b.is_signed() }
                }
            }
            _ => {
                self.err(
                    e.span,
                    format!("invalid operands to binary operator '{}': {a} and {b}", op.symbol()),
                );
                Type::I64
            }
        }
    }

}

/// A variable's name as written: the scope pass (`sema::scope`) tells apart variables of the
/// same name by a `#N` suffix.
pub(crate) fn shown(name: &str) -> &str {
    name.split('#').next().unwrap_or(name)
}

/// Integer types that can be named in casts.
pub fn int_type_named(name: &str) -> Option<Type> {
    let (signed, bits) = match name {
        "int8" => (true, 8),
        "int16" => (true, 16),
        "int32" => (true, 32),
        "int64" => (true, 64),
        "uint8" | "bool" => (false, 8),
        "uint16" => (false, 16),
        "uint32" => (false, 32),
        "uint64" => (false, 64),
        _ => return None,
    };
    Some(Type::Int { bits, signed })
}

