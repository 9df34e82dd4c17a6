//! Iterator programs (`iter:task`, `iter:task_file`, `iter:task_vma`): printf prints into the
//! iterator's seq_file with bpf_seq_printf, and the final call the kernel makes with a NULL
//! object (when the walk stops) is skipped, as bpftrace does.

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use crate::types::Type;
use btc_bpfprog::ProbeKind;
use inkwell::module::Linkage;
use inkwell::IntPredicate;

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn in_iterator(&self) -> bool {
        matches!(self.inst.probe.kind, ProbeKind::Iter { .. })
    }

    /// Code at the start of every program, before the predicate.
    pub(crate) fn probe_prologue(&mut self) -> R<()> {
        if !self.in_iterator() {
            return Ok(());
        }
        // bpf_iter__task{,_file,_vma}: { meta, task, ... }; task is NULL in the last call.
        let v = self.ctx_int(8, &Type::U64)?;
        let task = self.as_int(v)?;
        let is_null = self.b.build_int_compare(IntPredicate::EQ, task, self.u64c(0), "no_task").map_err(llvm_err)?;
        let body = self.new_block("iter_body");
        let done = self.new_block("iter_done");
        self.b.build_conditional_branch(is_null, done, body).map_err(llvm_err)?;
        self.b.position_at_end(done);
        self.b.build_return(Some(&self.m.context.i32_type().const_zero())).map_err(llvm_err)?;
        self.b.position_at_end(body);
        Ok(())
    }

    /// printf in an iterator: bpf_seq_printf(seq, fmt, fmt_size, data, data_len), with every
    /// argument as a u64 (strings as pointers to their stack copies).
    pub(crate) fn seq_printf(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(Expr { kind: ExprKind::Str(fmt), .. }) = args.first() else {
            return Err(llvm_err("printf without format"));
        };
        let context = self.m.context;
        // The format must live in read-only map memory: a constant global in .rodata.
        let bytes = context.const_string(fmt.as_bytes(), true);
        let name = format!("btc_fmt_{}", self.m.module.get_globals().count());
        let g = self.m.module.add_global(bytes.get_type(), None, &name);
        g.set_initializer(&bytes);
        g.set_constant(true);
        g.set_linkage(Linkage::Internal);
        g.set_section(Some(".rodata"));
        let fmt_len = u64::try_from(fmt.len() + 1).unwrap_or(u64::MAX);

        let n = u32::try_from(args.len() - 1).unwrap_or(u32::MAX);
        let data = self.alloca_bytes((8 * n).max(8), "seq_data")?;
        self.memset0(data, (8 * n).max(8))?;
        for (i, a) in args[1..].iter().enumerate() {
            let v = self.expr(a)?;
            let word = match v {
                Val::Int(x) => x,
                Val::Mem(p) => self.b.build_ptr_to_int(p, context.i64_type(), "sp").map_err(llvm_err)?,
                Val::Void => self.u64c(0),
            };
            let slot = self.offset(data, u32::try_from(8 * i).unwrap_or(0))?;
            self.store_i64(slot, word)?;
        }
        // ctx->meta->seq
        let meta = self.ctx_int(0, &Type::U64)?;
        let meta = self.as_int(meta)?;
        let ptr_ty = context.ptr_type(inkwell::AddressSpace::default());
        let meta_ptr = self.b.build_int_to_ptr(meta, ptr_ty, "meta").map_err(llvm_err)?;
        let seq = self.load_i64(meta_ptr)?;
        let seq_ptr = self.b.build_int_to_ptr(seq, ptr_ty, "seq").map_err(llvm_err)?;
        let fmt_ptr = g.as_pointer_value();
        self.helper(
            helper::SEQ_PRINTF,
            &[
                seq_ptr.into(),
                fmt_ptr.into(),
                self.u64c(fmt_len).into(),
                data.into(),
                self.u64c(u64::from(8 * n)).into(),
            ],
        )?;
        Ok(Val::Void)
    }
}
