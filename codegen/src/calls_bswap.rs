//! `bswap(n)`: LLVM's `llvm.bswap` on the argument's width (the BPF backend lowers it to the
//! `be16`/`be32`/`be64` byte-swap instructions); a one-byte value stays as it is. The result is
//! zero-extended: it is unsigned (see `sema/calls_bswap.rs`).

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::Expr;
use crate::types::Type;

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn bswap(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let a = args.first().ok_or_else(|| llvm_err("bswap argument"))?;
        let bits = match self.ty(a) {
            Type::Int { bits, .. } => u32::from(bits),
            _ => 64,
        };
        let v = self.expr(a)?;
        let v = self.as_int(v)?;
        let narrow = self.int_type(bits);
        let i64t = self.m.context.i64_type();
        let mut x = if bits < 64 { self.b.build_int_truncate(v, narrow, "n").map_err(llvm_err)? } else { v };
        if bits > 8 {
            let f = inkwell::intrinsics::Intrinsic::find("llvm.bswap")
                .and_then(|i| i.get_declaration(&self.m.module, &[narrow.into()]))
                .ok_or_else(|| llvm_err("LLVM has no llvm.bswap"))?;
            let call = self.b.build_call(f, &[x.into()], "bswap").map_err(llvm_err)?;
            x = match call.try_as_basic_value() {
                inkwell::values::ValueKind::Basic(r) => r.into_int_value(),
                inkwell::values::ValueKind::Instruction(_) => return Err(llvm_err("llvm.bswap returned no value")),
            };
        }
        if bits < 64 {
            x = self.b.build_int_z_extend(x, i64t, "zext").map_err(llvm_err)?;
        }
        Ok(Val::Int(x))
    }
}
