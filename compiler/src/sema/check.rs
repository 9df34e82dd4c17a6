//! Type checking: gives every expression of every probe instance a type, fixes the signature of
//! every map, and reports every misuse.

use super::format;
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
}

impl MapSig {
    /// The type of reading `@m[k]`.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            MapKind::Plain(t) => t.clone(),
            MapKind::Agg(AggKind::Count) => Type::U64,
            MapKind::Agg(AggKind::Sum) => Type::I64,
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
}

/// Checks every probe instance. Map signatures are shared by all instances.
pub fn check(
    prog: &Program,
    probes: Vec<ResolvedProbe>,
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
            };
            if let Some(pred) = &ast.predicate {
                let t = cx.expr(pred);
                if !t.is_scalar() && t != Type::Void {
                    cx.err(pred.span, format!("predicate must be an integer, found {t}"));
                }
            }
            cx.block(&ast.body);
            let Checker { types, vars, diags: local, .. } = cx;
            // Instances of one probe share source: report each problem once.
            for diag in local.items {
                if seen.insert((diag.span, diag.message.clone())) {
                    d.push(diag);
                }
            }
            out.push(Instance { probe: rp.clone(), types, vars });
        }
        if pass == 1 {
            return (out, maps.sigs);
        }
    }
    (Vec::new(), Vec::new())
}

#[derive(Default)]
struct MapTable {
    sigs: Vec<MapSig>,
}

impl MapTable {
    fn get(&self, name: &str) -> Option<&MapSig> {
        self.sigs.iter().find(|s| s.name == name)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut MapSig> {
        self.sigs.iter_mut().find(|s| s.name == name)
    }
}

struct Checker<'a> {
    rp: &'a ResolvedProbe,
    opts: &'a CheckOptions,
    maps: &'a mut MapTable,
    types: Vec<Option<Type>>,
    vars: HashMap<String, Type>,
    var_spans: HashMap<String, Span>,
    diags: Diagnostics,
    loop_depth: u32,
    final_pass: bool,
}

/// Two types can share a slot (variable, map key or value) when they are equal up to integer
/// width and string length, which are widened to the larger.
fn unify(a: &Type, b: &Type) -> Option<Type> {
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
    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.error(span, msg);
    }

    fn set(&mut self, e: &Expr, t: Type) -> Type {
        if let Some(slot) = self.types.get_mut(e.id.0 as usize) {
            *slot = Some(t.clone());
        }
        t
    }

    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
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
                    ExprKind::Int(_) => self.err(count.span, "unroll count must be between 1 and 100"),
                    _ => self.err(count.span, "unroll count must be an integer literal"),
                }
                self.set(count, Type::I64);
                self.block(body);
            }
            StmtKind::For { map, .. } => {
                self.err(map.span, "for loops over maps are not supported yet");
            }
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

    fn condition(&mut self, cond: &Expr) {
        let t = self.expr(cond);
        if !t.is_scalar() {
            self.err(cond.span, format!("condition must be an integer, found {t}"));
        }
    }

    fn assign(&mut self, target: &Expr, op: Option<BinOp>, value: &Expr) {
        let vt = self.expr(value);
        match &target.kind {
            ExprKind::Map { name, keys } => {
                let key = self.map_key(keys);
                let kind = match (&vt, op) {
                    (Type::Agg(k), None) => MapKind::Agg(*k),
                    (Type::Agg(_), Some(_)) => {
                        self.err(value.span, "an aggregate function can't be used in a compound assignment");
                        return;
                    }
                    (Type::Void, _) => {
                        self.err(value.span, "this expression has no value to assign");
                        return;
                    }
                    (t, Some(o)) if !t.is_int() => {
                        self.err(value.span, format!("operator {}= needs an integer, found {t}", o.symbol()));
                        return;
                    }
                    (Type::Record(_), _) => {
                        self.err(value.span, "records can't be stored in maps yet");
                        return;
                    }
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
                if let Some(o) = op {
                    match self.vars.get(name) {
                        None => self.err(target.span, format!("variable ${name} is used before it is assigned")),
                        Some(t) if !t.is_int() || !vt.is_int() => {
                            let t = t.clone();
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

    fn define_var(&mut self, name: &str, span: Span, t: Type) {
        match self.vars.get(name) {
            None => {
                self.vars.insert(name.to_string(), t);
                self.var_spans.insert(name.to_string(), span);
            }
            Some(old) => match unify(old, &t) {
                Some(u) => {
                    self.vars.insert(name.to_string(), u);
                }
                None => {
                    let old = old.clone();
                    let first = self.var_spans.get(name).copied().unwrap_or(span);
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!("type mismatch for ${name}: trying to assign a value of type {t} to a variable of type {old}"),
                        )
                        .with_note(first, format!("${name} got type {old} here")),
                    );
                }
            },
        }
    }

    fn map_key(&mut self, keys: &[Expr]) -> Option<Type> {
        let mut tys = Vec::new();
        for k in keys {
            let t = self.expr(k);
            match t {
                Type::Int { .. } | Type::Str { .. } | Type::Ptr { .. } | Type::Tuple(_) => tys.push(t),
                other => {
                    self.err(k.span, format!("a map key can't be of type {other}"));
                    tys.push(Type::I64);
                }
            }
        }
        match tys.len() {
            0 => None,
            1 => tys.pop(),
            _ => Some(Type::Tuple(tys)),
        }
    }

    fn define_map(&mut self, name: &str, span: Span, key: Option<Type>, kind: MapKind) {
        let Some(sig) = self.maps.get_mut(name) else {
            self.maps.sigs.push(MapSig { name: name.to_string(), key, kind, defined_at: span });
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
            (MapKind::Plain(a), MapKind::Plain(b)) => match unify(a, b) {
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

    fn expr(&mut self, e: &Expr) -> Type {
        let t = self.expr_inner(e);
        self.set(e, t)
    }

    fn expr_inner(&mut self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Int(v) => {
                if *v > i64::MAX as u64 {
                    Type::U64
                } else {
                    Type::I64
                }
            }
            ExprKind::Str(s) => Type::Str { len: u32::try_from(s.len() + 1).unwrap_or(u32::MAX) },
            ExprKind::Builtin(name) => self.builtin(name, e.span),
            ExprKind::Var(name) => match self.vars.get(name) {
                Some(t) => t.clone(),
                None => {
                    self.err(e.span, format!("variable ${name} is used before it is assigned"));
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
            ExprKind::Call { name, name_span, args } => self.call(e, name, *name_span, args),
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match op {
                    UnaryOp::Neg | UnaryOp::BitNot => {
                        if !t.is_int() {
                            self.err(e.span, format!("operand of unary operator must be an integer, found {t}"));
                        }
                        if *op == UnaryOp::Neg {
                            Type::I64
                        } else {
                            t
                        }
                    }
                    UnaryOp::Not => {
                        if !t.is_scalar() {
                            self.err(e.span, format!("operand of '!' must be an integer, found {t}"));
                        }
                        Type::U64
                    }
                    UnaryOp::Deref | UnaryOp::AddrOf => {
                        self.err(e.span, "pointer dereference and address-of are not supported yet");
                        Type::I64
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Ternary { cond, then, els } => {
                self.condition(cond);
                let a = self.expr(then);
                let b = self.expr(els);
                match unify(&a, &b) {
                    Some(t) if a.is_int() || matches!(a, Type::Str { .. }) => t,
                    _ => {
                        self.err(e.span, format!("branches of ?: have different types: {a} and {b}"));
                        a
                    }
                }
            }
            ExprKind::Field { expr, field, field_span } => {
                let t = self.expr(expr);
                match t {
                    Type::Record(r) => match r.field(field) {
                        Some(f) => f.ty.clone(),
                        None => {
                            let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
                            let mut d = Diagnostic::error(
                                *field_span,
                                format!("{} has no field named '{field}'", describe_record(self.rp, &r.name)),
                            );
                            if let Some(s) = crate::suggest::nearest(field, &names) {
                                d = d.with_hint(format!("did you mean '{s}'?"));
                            }
                            self.diags.push(d);
                            Type::I64
                        }
                    },
                    Type::Tuple(elems) => match field.parse::<usize>().ok().and_then(|i| elems.get(i)) {
                        Some(t) => t.clone(),
                        None => {
                            self.err(*field_span, format!("invalid tuple index .{field}: the tuple has {} elements", elems.len()));
                            Type::I64
                        }
                    },
                    other => {
                        self.err(*field_span, format!("can't access field '{field}' of a value of type {other}"));
                        Type::I64
                    }
                }
            }
            ExprKind::Arrow { expr, field, field_span } => {
                let t = self.expr(expr);
                match t {
                    // `args->x` is accepted for `args.x`, as bpftrace does.
                    Type::Record(r) if matches!(&expr.kind, ExprKind::Builtin(b) if b == "args") => {
                        match r.field(field) {
                            Some(f) => f.ty.clone(),
                            None => {
                                self.err(*field_span, format!("{} has no field named '{field}'", describe_record(self.rp, &r.name)));
                                Type::I64
                            }
                        }
                    }
                    other => {
                        self.err(e.span, format!("'->' on a value of type {other} is not supported yet"));
                        Type::I64
                    }
                }
            }
            ExprKind::Index { expr, index } => {
                let t = self.expr(expr);
                let it = self.expr(index);
                if !it.is_int() {
                    self.err(index.span, format!("array index must be an integer, found {it}"));
                }
                match t {
                    Type::Array { elem, count } => {
                        if let ExprKind::Int(i) = index.kind {
                            if i >= u64::from(count) {
                                self.err(index.span, format!("index {i} is out of bounds for an array of {count} elements"));
                            }
                        } else {
                            self.err(index.span, "array index must be a constant");
                        }
                        *elem
                    }
                    other => {
                        self.err(e.span, format!("can't index a value of type {other}"));
                        Type::I64
                    }
                }
            }
            ExprKind::Tuple(elems) => {
                let tys: Vec<Type> = elems.iter().map(|x| self.expr(x)).collect();
                for (x, t) in elems.iter().zip(&tys) {
                    if !matches!(t, Type::Int { .. } | Type::Str { .. } | Type::Ptr { .. } | Type::Tuple(_)) {
                        self.err(x.span, format!("a tuple can't hold a value of type {t}"));
                    }
                }
                Type::Tuple(tys)
            }
            ExprKind::Cast { ty, expr } => {
                let t = self.expr(expr);
                match (int_type_named(&ty.name), ty.pointers, ty.keyword.is_none()) {
                    (Some(target), 0, true) if t.is_scalar() => target,
                    (Some(_), 0, true) => {
                        self.err(e.span, format!("can't cast a value of type {t} to an integer"));
                        Type::I64
                    }
                    _ => {
                        self.err(ty.span, "casts to this type are not supported yet");
                        Type::I64
                    }
                }
            }
            ExprKind::IncDec { target, .. } => {
                match &target.kind {
                    ExprKind::Var(name) => match self.vars.get(name).cloned() {
                        Some(t) if t.is_int() => {
                            self.set(target, t.clone());
                            t
                        }
                        Some(t) => {
                            self.err(e.span, format!("++/-- needs an integer variable, ${name} is {t}"));
                            Type::I64
                        }
                        None => {
                            self.err(target.span, format!("variable ${name} is used before it is assigned"));
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
                            Some(MapKind::Plain(t)) if t.is_int() => {
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
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) | ExprKind::Offsetof { .. } => {
                self.err(e.span, "sizeof and offsetof are not supported yet");
                Type::U64
            }
        }
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> Type {
        let a = self.expr(lhs);
        let b = self.expr(rhs);
        match (&a, &b) {
            (Type::Str { .. }, Type::Str { .. }) if matches!(op, BinOp::Eq | BinOp::Ne) => Type::U64,
            _ if a.is_scalar() && b.is_scalar() => {
                if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
                    Type::U64
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

    fn builtin(&mut self, name: &str, span: Span) -> Type {
        match name {
            "pid" | "tid" | "uid" | "gid" | "nsecs" | "cgroup" | "jiffies" | "elapsed" => Type::U64,
            "cpu" | "rand" | "numaid" => Type::U32,
            "comm" => Type::Str { len: 16 },
            "probe" => Type::Str { len: u32::try_from(self.rp.name.len() + 1).unwrap_or(u32::MAX) },
            "curtask" => Type::U64,
            "args" => match &self.rp.args {
                Some(r) => Type::Record(r.clone()),
                None => {
                    self.err(span, format!("the args builtin is not available in {} probes", provider_of(self.rp)));
                    Type::I64
                }
            },
            "retval" | "func" | "kstack" | "ustack" | "ctx" | "cpid" | "username" => {
                self.err(span, format!("the {name} builtin is not supported in {} probes yet", provider_of(self.rp)));
                Type::I64
            }
            _ if name.starts_with("arg") || name.starts_with("sarg") => {
                self.err(span, format!("the {name} builtin is not available in {} probes", provider_of(self.rp)));
                Type::I64
            }
            _ => {
                let mut d = Diagnostic::error(span, format!("unknown identifier '{name}'"));
                if let Some(s) = crate::suggest::nearest(name, BUILTINS) {
                    d = d.with_hint(format!("did you mean '{s}'?"));
                }
                self.diags.push(d);
                Type::I64
            }
        }
    }

    fn call(&mut self, e: &Expr, name: &str, name_span: Span, args: &[Expr]) -> Type {
        let arity = |cx: &mut Checker<'_>, min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
                cx.err(e.span, format!("{name}() takes {want} argument{}, got {}", if max == 1 { "" } else { "s" }, args.len()));
                return false;
            }
            true
        };
        match name {
            "printf" => {
                let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                if args.is_empty() {
                    self.err(e.span, "printf() needs a format string");
                    return Type::Void;
                }
                let ExprKind::Str(fmt) = &args[0].kind else {
                    self.err(args[0].span, "printf's first argument must be a string literal");
                    return Type::Void;
                };
                if let Err(msg) = format::check(fmt, &tys[1..]) {
                    self.err(args[0].span, msg);
                }
                Type::Void
            }
            "exit" => {
                arity(self, 0, 0);
                Type::Void
            }
            "count" => {
                arity(self, 0, 0);
                Type::Agg(AggKind::Count)
            }
            "sum" => {
                if arity(self, 1, 1) {
                    let t = self.expr(&args[0]);
                    if !t.is_int() {
                        self.err(args[0].span, format!("sum() needs an integer, found {t}"));
                    }
                }
                Type::Agg(AggKind::Sum)
            }
            "print" => {
                if arity(self, 1, 3) {
                    if !matches!(args[0].kind, ExprKind::Map { ref keys, .. } if keys.is_empty()) {
                        self.err(args[0].span, "print() of values other than whole maps is not supported yet");
                    } else if let ExprKind::Map { name: m, .. } = &args[0].kind {
                        if self.maps.get(m).is_none() && self.final_pass {
                            self.err(args[0].span, format!("undefined map: {m}"));
                        }
                    }
                    if args.len() > 1 {
                        self.err(args[1].span, "print() with top and div is not supported yet");
                    }
                }
                Type::Void
            }
            "str" => {
                if arity(self, 1, 2) {
                    let t = self.expr(&args[0]);
                    if !matches!(t, Type::Ptr { .. } | Type::Int { .. } | Type::Str { .. }) {
                        self.err(args[0].span, format!("str() needs a pointer, found {t}"));
                    }
                    if let Some(len) = args.get(1) {
                        let lt = self.expr(len);
                        if !lt.is_int() {
                            self.err(len.span, format!("str()'s length must be an integer, found {lt}"));
                        }
                    }
                    if let Type::Str { len } = t {
                        return Type::Str { len };
                    }
                }
                Type::Str { len: self.opts.strlen }
            }
            _ => {
                for a in args {
                    self.expr(a);
                }
                if KNOWN_FUNCTIONS.contains(&name) {
                    self.err(name_span, format!("{name}() is not supported yet"));
                } else {
                    let mut d = Diagnostic::error(name_span, format!("unknown function '{name}'"));
                    let all: Vec<&str> = IMPLEMENTED_FUNCTIONS.iter().chain(KNOWN_FUNCTIONS).copied().collect();
                    if let Some(s) = crate::suggest::nearest(name, &all) {
                        d = d.with_hint(format!("did you mean '{s}'?"));
                    }
                    self.diags.push(d);
                }
                Type::Void
            }
        }
    }
}

fn provider_of(rp: &ResolvedProbe) -> &str {
    rp.name.split(':').next().unwrap_or("")
}

fn describe_record(rp: &ResolvedProbe, name: &str) -> String {
    if name == "args" {
        format!("the arguments of {}", rp.name)
    } else {
        format!("struct {name}")
    }
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

const BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "comm", "kstack", "ustack", "arg0", "arg1", "sarg0",
    "retval", "func", "probe", "curtask", "rand", "cgroup", "cpid", "numaid", "args", "ctx", "jiffies", "username",
];

const IMPLEMENTED_FUNCTIONS: &[&str] = &["printf", "exit", "count", "sum", "print", "str"];

/// Functions of the manual that are recognised but not implemented yet.
const KNOWN_FUNCTIONS: &[&str] = &[
    "avg", "min", "max", "stats", "hist", "lhist", "delete", "clear", "zero", "time", "strftime", "system", "cat",
    "join", "signal", "override", "ksym", "usym", "kaddr", "uaddr", "ntop", "pton", "reg", "buf", "sizeof",
    "cgroupid", "cgroup_path", "strerror", "strncmp", "strcontains", "path", "macaddr", "kptr", "uptr", "skboutput",
    "len", "unwatch", "bswap", "kstack", "ustack", "percpu_kaddr", "offsetof", "has_key", "debugf",
];
