//! Typing `bswap(n)`: the bytes of an integer in reverse order. The result is the unsigned
//! integer of `n`'s width (a `uint8` is returned unchanged), as the manual says.

use super::check::Checker;
use crate::ast::*;
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn call_bswap(&mut self, e: &Expr, args: &[Expr]) -> Type {
        let name = Func::Bswap.name();
        if !self.arity(e, name, args, 1, 1) {
            for a in args {
                self.expr(a);
            }
            return Type::U64;
        }
        match self.int_arg(name, &args[0]) {
            Type::Int { bits, .. } => Type::Int { bits, signed: false },
            _ => Type::U64,
        }
    }
}
