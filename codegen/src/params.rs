//! Positional parameters read at run time: the object's parameter area, a global in
//! `.rodata` the runtime fills before loading (see `btc_bpfprog::params`), and the reads of
//! its slots (`$param(OFFSET)`, `$param_str(OFFSET, LEN)`, made by `sema::positional`).

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use btc_bpfprog::params::Params;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::PointerValue;

/// Adds the parameter area `p` describes, if it has slots. It is not an LLVM constant (zeros
/// here, the run's values once loaded) and has external linkage, so LLVM folds none of its
/// reads; the kernel sees it in a frozen read-only map, so the verifier reads them as
/// constants and prunes the branches they decide.
pub(crate) fn define<'ctx>(context: &'ctx Context, module: &Module<'ctx>, p: &Params) {
    if p.size == 0 || p.symbol.is_empty() {
        return;
    }
    let ty = context.i8_type().array_type(p.size);
    let g = module.add_global(ty, None, &p.symbol);
    g.set_initializer(&ty.const_zero());
    g.set_section(Some(".rodata"));
    g.set_linkage(Linkage::External);
    g.set_alignment(8);
}

impl<'ctx> FnCx<'_, 'ctx> {
    fn param_slot(&self, args: &[Expr]) -> R<PointerValue<'ctx>> {
        let Some(ExprKind::Int(off)) = args.first().map(|a| &a.kind) else { return Err(llvm_err("$param")) };
        let g = self.m.module.get_global(crate::sema::positional::PARAM_SYMBOL).ok_or_else(|| llvm_err("no parameter area"))?;
        self.offset(g.as_pointer_value(), u32::try_from(*off).map_err(llvm_err)?)
    }

    /// `$param(OFFSET)`: the i64 in the slot.
    pub(crate) fn param_int(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let p = self.param_slot(args)?;
        Ok(Val::Int(self.load_i64(p)?))
    }

    /// `$param_str(OFFSET, LEN)`: a copy of the slot's string on the stack.
    pub(crate) fn param_str(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let p = self.param_slot(args)?;
        let ty = self.ty(e);
        let slot = self.alloca_for(&ty, "param_str")?;
        self.memcpy(slot, p, ty.layout().size())?;
        Ok(Val::Mem(slot))
    }
}
