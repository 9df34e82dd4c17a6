//! `nsecs(mode)` and `debugf(fmt, ...)` (see `sema/calls_builtins.rs`).

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use crate::sema::calls_builtins::TimestampMode;
use crate::types::Type;
use btc_bpfprog::runtime::Var;
use inkwell::module::Linkage;

const KTIME_GET_NS: u64 = 5;
const TRACE_PRINTK: u64 = 6;
const GET_CURRENT_UID_GID: u64 = 15;
const KTIME_GET_BOOT_NS: u64 = 125;
const KTIME_GET_TAI_NS: u64 = 208;

impl<'ctx> FnCx<'_, 'ctx> {
    /// `nsecs(mode)`: the clock the checker recorded for this call.
    pub(crate) fn nsecs_call(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let mode = crate::sema::calls_builtins::nsecs_mode(args, &self.inst.consts);
        let v = match mode {
            TimestampMode::Monotonic => self.helper(KTIME_GET_NS, &[])?,
            TimestampMode::Boot => self.helper(KTIME_GET_BOOT_NS, &[])?,
            TimestampMode::Tai => self.helper(KTIME_GET_TAI_NS, &[])?,
            TimestampMode::SwTai => {
                let boot = self.helper(KTIME_GET_BOOT_NS, &[])?;
                let offset = self.read_var(Var::TaiOffset)?;
                self.b.build_int_add(boot, offset, "sw_tai").map_err(llvm_err)?
            }
        };
        Ok(Val::Int(v))
    }

    /// `username`: the user id, which the runtime prints as a name.
    pub(crate) fn username(&mut self, e: &Expr) -> R<Val<'ctx>> {
        let r = self.helper(GET_CURRENT_UID_GID, &[])?;
        let uid = self.b.build_and(r, self.u64c(0xffff_ffff), "uid").map_err(llvm_err)?;
        self.record(e, &[uid])
    }

    /// `args` of a uprobe as a value: the struct the checker laid out, filled field by field
    /// from the argument registers.
    pub(crate) fn uprobe_args_value(&mut self, e: &Expr) -> R<Val<'ctx>> {
        let Type::Struct(s) = self.ty(e) else { return Err(llvm_err("the args builtin as a value")) };
        let value = s.record().ok_or_else(|| llvm_err("args struct"))?.clone();
        let regs = self.inst.probe.args.clone().ok_or_else(|| llvm_err("args record"))?;
        let slot = self.alloca_bytes(value.size.max(1), "args")?;
        self.memset0(slot, value.size.max(1))?;
        for (to, from) in value.fields.iter().zip(&regs.fields) {
            let dst = self.offset(slot, to.offset)?;
            match self.ctx_field(from)? {
                Val::Int(v) => {
                    let bits = to.ty.c_size().clamp(1, 8) * 8;
                    let v = if bits < 64 {
                        self.b.build_int_truncate(v, self.int_type(bits), "arg").map_err(llvm_err)?
                    } else {
                        v
                    };
                    self.b.build_store(dst, v).map_err(llvm_err)?;
                }
                Val::Mem(p) => self.memcpy(dst, p, to.ty.c_size())?,
                Val::Void => {}
            }
        }
        Ok(Val::Mem(slot))
    }

    /// `debugf(fmt, args...)`: bpf_trace_printk(fmt, fmt_size, a1, a2, a3). The format lives in
    /// read-only data; integers are passed as 64-bit values, strings as pointers to them.
    pub(crate) fn debugf(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(Expr { kind: ExprKind::Str(fmt), .. }) = args.first() else {
            return Err(llvm_err("debugf without format"));
        };
        let context = self.m.context;
        let bytes = context.const_string(fmt.as_bytes(), true);
        let name = format!("btc_debugf_{}", self.m.module.get_globals().count());
        let g = self.m.module.add_global(bytes.get_type(), None, &name);
        g.set_initializer(&bytes);
        g.set_constant(true);
        g.set_linkage(Linkage::Internal);
        g.set_section(Some(".rodata"));
        let size = u64::try_from(fmt.len() + 1).map_err(llvm_err)?;
        let mut call_args = vec![g.as_pointer_value().into(), self.u64c(size).into()];
        for a in &args[1..] {
            let v = self.expr(a)?;
            call_args.push(match v {
                Val::Int(x) => x.into(),
                Val::Mem(p) => p.into(),
                Val::Void => self.u64c(0).into(),
            });
        }
        self.helper(TRACE_PRINTK, &call_args)?;
        Ok(Val::Void)
    }
}
