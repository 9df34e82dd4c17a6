//! Typing of `==` and `!=` between values that live in memory: integer arrays (compared element
//! by element) and `buf()` values (compared by length and bytes), as bpftrace 0.20 allows them.

use super::check::Checker;
use crate::ast::{BinOp, Expr};
use crate::types::Type;
use btc_bpfprog::RuntimeTy;

/// Whether `a == b` between these types compares values in memory (arrays, buffers).
pub fn aggregate_compare(a: &Type, b: &Type) -> bool {
    matches!(
        (a, b),
        (Type::Array { .. }, Type::Array { .. })
            | (Type::Runtime(RuntimeTy::Buf { .. }), Type::Runtime(RuntimeTy::Buf { .. }))
    )
}

impl Checker<'_> {
    /// The type of `a op b` when both operands are arrays or both are buffers (reporting what
    /// bpftrace 0.20 refuses), or None when they are not.
    pub(crate) fn aggregate_binary(&mut self, e: &Expr, op: BinOp, a: &Type, b: &Type) -> Option<Type> {
        if !aggregate_compare(a, b) {
            return None;
        }
        let equality = matches!(op, BinOp::Eq | BinOp::Ne);
        match (a, b) {
            (Type::Array { elem: ea, count: ca }, Type::Array { count: cb, .. }) => {
                if !equality {
                    self.err(e.span, format!("The {} operator cannot be used on arrays.", op.symbol()));
                }
                if ca != cb {
                    self.err(e.span, "Only arrays of same size support comparison operators.");
                }
                if !ea.is_int() || a != b {
                    self.err(e.span, "Only arrays of same sized integer support comparison operators.");
                }
            }
            _ if !equality => {
                self.err(e.span, format!("invalid operands to binary operator '{}': {a} and {b}", op.symbol()));
            }
            _ => {}
        }
        Some(Type::U64)
    }
}
