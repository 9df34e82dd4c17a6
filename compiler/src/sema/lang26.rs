//! Checking bpftrace 0.26's statements: `let` declarations and the element of a map loop.

use super::check::{shown, unify, Checker, MapKind};
use crate::ast::{Expr, ExprKind, TypeName};
use crate::diag::Span;
use crate::types::Type;

impl Checker<'_> {
    /// `let $x [: ty] [= value]`. A declared type is kept: later assignments convert to it
    /// (a literal that doesn't fit is an error, as in bpftrace). Without a type or a value the
    /// variable takes the type of its first assignment, and reads before that see 0.
    pub(crate) fn declare(&mut self, var: &str, var_span: Span, span: Span, ty: Option<&TypeName>, value: Option<&Expr>) {
        let declared = ty.and_then(|t| match (t.keyword.as_deref(), t.name.as_str(), t.array, t.pointers) {
            (None, "bool", None, 0) => Some(Type::BOOL),
            _ => self.named_type(t),
        });
        let vt = value.map(|v| (v, self.expr(v)));
        if let Some((v, Type::Void)) = vt {
            self.err(v.span, "this expression has no value to assign");
            return;
        }
        match (declared, vt) {
            (Some(d), vt) => {
                if matches!(d, Type::Struct(_) | Type::Record(_)) {
                    self.err(var_span, format!("a variable can't hold a value of type {d}"));
                }
                self.vars.insert(var.to_string(), d.clone());
                self.var_spans.insert(var.to_string(), var_span);
                self.declared.insert(var.to_string(), d.clone());
                if let Some((v, t)) = vt {
                    let t = if d.is_bool() && is_truth(v) { Type::BOOL } else { t };
                    if let (ExprKind::Int(n), Type::Int { bits, .. }) = (&v.kind, &d) {
                        if *bits < 64 && !d.is_bool() && *n >> bits != 0 {
                            let msg = format!(
                                "type mismatch for ${}: trying to assign value '{n}' which does not fit into the variable of type '{d}'",
                                shown(var)
                            );
                            self.err(span, msg);
                            return;
                        }
                    }
                    self.define_var(var, var_span, t);
                }
            }
            (None, Some((_, t))) => {
                if let Type::Agg(_) = t {
                    self.err(span, "an aggregate function's result can only be assigned to a map");
                }
                self.vars.remove(var);
                self.define_var(var, var_span, t);
            }
            // Typed by its first assignment; reads before it see 0.
            (None, None) => {
                self.untyped.insert(var.to_string());
                self.vars.entry(var.to_string()).or_insert(Type::I64);
                self.var_spans.insert(var.to_string(), var_span);
            }
        }
    }

    /// The type of the variable of `for ($kv : @m)`: `(key, value)`, the key a tuple when the
    /// map has several.
    pub(crate) fn map_loop_elem(&mut self, map: &Expr) -> Type {
        let placeholder = Type::Tuple(vec![Type::I64, Type::I64]);
        let ExprKind::Map { name, keys } = &map.kind else {
            self.err(map.span, "a for loop iterates over a map (`for ($kv : @m)`) or a range (`for ($i : 0..n)`)");
            return placeholder;
        };
        if !keys.is_empty() {
            self.err(map.span, format!("a for loop iterates over a whole map: write {name}, without keys"));
            return placeholder;
        }
        let Some(sig) = self.maps.get(name).cloned() else {
            if self.final_pass {
                self.err(map.span, format!("undefined map: {name}"));
            }
            return placeholder;
        };
        let Some(key) = sig.key.clone() else {
            self.err(map.span, format!("{name} has no keys: a for loop needs a map with keys"));
            return placeholder;
        };
        let value = match &sig.kind {
            MapKind::Plain(t) => t.clone(),
            MapKind::Agg(a) => {
                self.err(map.span, format!("for loops over maps of {} values are not supported yet", Type::Agg(*a)));
                return placeholder;
            }
        };
        let t = Type::Tuple(vec![key, value]);
        self.set(map, t.clone());
        t
    }

    /// A variable declared with no type takes the type of its first assignment.
    pub(crate) fn settle_untyped(&mut self, name: &str, t: &Type) {
        if self.untyped.remove(name) {
            if let Some(old) = self.vars.get(name) {
                if unify(old, t).is_none() || !t.is_int() {
                    self.vars.insert(name.to_string(), t.clone());
                }
            }
        }
    }
}

/// Whether `e` is a truth value (a comparison, `!`, `&&`, `||`), which bpftrace 0.26 types
/// bool: it may be stored in a bool variable (btc types it an integer, printed as 0.20 does).
pub(crate) fn is_truth(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Bool(_) => true,
        ExprKind::Unary { op: crate::ast::UnaryOp::Not, .. } => true,
        ExprKind::Binary { op, .. } => op.is_comparison() || matches!(op, crate::ast::BinOp::And | crate::ast::BinOp::Or),
        _ => false,
    }
}
