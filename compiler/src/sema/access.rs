//! Typing memory access: fields (`.`, `->`), indexing, casts, dereference, address-of, sizeof and
//! offsetof.

use super::check::{int_type_named, Checker};
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn field(&mut self, _e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.expr(expr);
        match t {
            Type::Record(r) => self.record_field(&r, field, field_span),
            Type::Tuple(elems) => match field.parse::<usize>().ok().and_then(|i| elems.get(i)) {
                Some(t) => t.clone(),
                None => {
                    self.err(field_span, format!("invalid tuple index .{field}: the tuple has {} elements", elems.len()));
                    Type::I64
                }
            },
            other => {
                self.err(field_span, format!("can't access field '{field}' of a value of type {other}"));
                Type::I64
            }
        }
    }

    pub(crate) fn arrow(&mut self, e: &Expr, expr: &Expr, field: &str, field_span: Span) -> Type {
        let t = self.expr(expr);
        match t {
            // `args->x` is accepted for `args.x`, as bpftrace does.
            Type::Record(r) if matches!(&expr.kind, ExprKind::Builtin(b) if b == "args") => {
                self.record_field(&r, field, field_span)
            }
            other => {
                self.err(e.span, format!("'->' on a value of type {other} is not supported yet"));
                Type::I64
            }
        }
    }

    fn record_field(&mut self, r: &crate::types::Record, field: &str, field_span: Span) -> Type {
        match r.field(field) {
            Some(f) => f.ty.clone(),
            None => {
                let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
                let msg = if r.name == "args" {
                    format!("{} has no argument named '{field}'", self.rp.name)
                } else {
                    format!("struct {} has no field named '{field}'", r.name)
                };
                let mut d = Diagnostic::error(field_span, msg);
                if let Some(s) = crate::suggest::nearest(field, &names) {
                    d = d.with_hint(format!("did you mean '{s}'?"));
                }
                self.diags.push(d);
                Type::I64
            }
        }
    }

    pub(crate) fn index(&mut self, e: &Expr, expr: &Expr, index: &Expr) -> Type {
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

    pub(crate) fn cast(&mut self, e: &Expr, ty: &TypeName, expr: &Expr) -> Type {
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

    pub(crate) fn deref(&mut self, e: &Expr, _t: &Type) -> Type {
        self.err(e.span, "pointer dereference is not supported yet");
        Type::I64
    }

    pub(crate) fn addr_of(&mut self, e: &Expr, _expr: &Expr, _t: &Type) -> Type {
        self.err(e.span, "taking an address is not supported yet");
        Type::I64
    }

    pub(crate) fn sizeof(&mut self, e: &Expr) -> Type {
        self.err(e.span, "sizeof and offsetof are not supported yet");
        Type::U64
    }
}
