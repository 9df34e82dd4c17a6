//! Values the runtime looks up when it loads the object (`kaddr("NAME")`, `cgroupid("PATH")`,
//! see `btc_bpfprog::portable::LoadSlot`): a global in `.rodata` the runtime fills before
//! loading, and `$load(OFFSET)`, the read of one of its u64 slots.

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use btc_bpfprog::portable::{load_size, LoadSlot, LOAD_SYMBOL};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};

/// Adds the global holding `slots`, if any. It is not an LLVM constant (zeros here, the
/// target system's values once loaded) and has external linkage, so LLVM folds none of its
/// reads; the kernel sees a frozen read-only map, whose values the verifier knows.
pub(crate) fn define<'ctx>(context: &'ctx Context, module: &Module<'ctx>, slots: &[LoadSlot]) {
    let size = load_size(slots);
    if size == 0 {
        return;
    }
    let ty = context.i8_type().array_type(size);
    let g = module.add_global(ty, None, LOAD_SYMBOL);
    g.set_initializer(&ty.const_zero());
    g.set_section(Some(".rodata"));
    g.set_linkage(Linkage::External);
    g.set_alignment(8);
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// `$load(OFFSET)`: the u64 in the slot.
    pub(crate) fn load_value(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(ExprKind::Int(off)) = args.first().map(|a| &a.kind) else { return Err(llvm_err("$load")) };
        let g = self.m.module.get_global(LOAD_SYMBOL).ok_or_else(|| llvm_err("no load-time values"))?;
        let p = self.offset(g.as_pointer_value(), u32::try_from(*off).map_err(llvm_err)?)?;
        Ok(Val::Int(self.load_i64(p)?))
    }
}
