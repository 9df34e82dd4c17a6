//! Function calls: printf, exit, print, str; count and sum appear only as map assignments.

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use crate::types::Type;
use btc_bpfprog::{ActionKind, EVENT_HEADER_SIZE};

impl<'ctx> FnCx<'_, 'ctx> {
    pub fn call(&mut self, e: &Expr, name: &str, args: &[Expr]) -> R<Val<'ctx>> {
        match name {
            "printf" => self.printf(args),
            "exit" => {
                let buf = self.event_buffer(0, ActionKind::Exit, 0)?;
                self.emit_event(buf, EVENT_HEADER_SIZE as u32)?;
                // exit() ends the probe: nothing after it runs.
                self.ret()?;
                Ok(Val::Void)
            }
            "print" => {
                let Some(Expr { kind: ExprKind::Map { name: map, .. }, .. }) = args.first() else {
                    return Err("print() of values is not supported yet".into());
                };
                let index = self.m.maps.get(map).map(|d| d.index).ok_or_else(|| llvm_err("print map"))?;
                let buf = self.event_buffer(0, ActionKind::PrintMap, index)?;
                self.emit_event(buf, EVENT_HEADER_SIZE as u32)?;
                Ok(Val::Void)
            }
            "str" => self.str_call(e, args),
            n if crate::sema::calls_runtime::FUNCTIONS.contains(&n) => self.runtime_call(e, n, args),
            _ => Err(format!("{name}() is not supported yet")),
        }
    }

    /// A zeroed stack buffer with an event header, room for `payload` bytes after it.
    pub(crate) fn event_buffer(
        &mut self,
        payload: u32,
        kind: ActionKind,
        index: u32,
    ) -> R<inkwell::values::PointerValue<'ctx>> {
        let size = EVENT_HEADER_SIZE as u32 + payload;
        let buf = self.alloca_bytes(size, "event")?;
        self.memset0(buf, size)?;
        let i32t = self.m.context.i32_type();
        self.b.build_store(buf, i32t.const_int(kind as u64, false)).map_err(llvm_err)?;
        let ip = self.offset(buf, 4)?;
        self.b.build_store(ip, i32t.const_int(u64::from(index), false)).map_err(llvm_err)?;
        Ok(buf)
    }

    fn printf(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(Expr { kind: ExprKind::Str(fmt), .. }) = args.first() else {
            return Err(llvm_err("printf without format"));
        };
        let tys: Vec<Type> = args[1..].iter().map(|a| self.ty(a)).collect();
        let layout = Type::Tuple(tys.clone()).layout();
        let index = self.m.format_index(fmt, layout.clone());
        let btc_bpfprog::Ty::Tuple { fields, size } = layout else { return Err(llvm_err("printf layout")) };
        let buf = self.event_buffer(size, ActionKind::Printf, index)?;
        for ((a, t), f) in args[1..].iter().zip(&tys).zip(&fields) {
            let v = self.expr(a)?;
            let p = self.offset(buf, EVENT_HEADER_SIZE as u32 + f.offset)?;
            self.store_value(p, t, v, t)?;
        }
        self.emit_event(buf, EVENT_HEADER_SIZE as u32 + size)?;
        Ok(Val::Void)
    }

    /// `str(ptr[, len])`: reads a NUL-terminated string from kernel or user memory.
    fn str_call(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(src) = args.first() else { return Err(llvm_err("str")) };
        let st = self.ty(src);
        let v = self.expr(src)?;
        if let Type::Str { .. } = st {
            return Ok(v);
        }
        let ptr_int = self.as_int(v)?;
        let Type::Str { len } = self.ty(e) else { return Err(llvm_err("str type")) };
        let slot = self.alloca_bytes(len, "str")?;
        self.memset0(slot, len)?;
        let size = match args.get(1) {
            Some(l) => {
                // Bound the size so the verifier can prove the write stays in the buffer.
                let lv = self.expr(l)?;
                let lv = self.as_int(lv)?;
                let max = self.u64c(u64::from(len));
                let small = self.b.build_int_compare(inkwell::IntPredicate::ULT, lv, max, "lt").map_err(llvm_err)?;
                self.b.build_select(small, lv, max, "n").map_err(llvm_err)?.into_int_value()
            }
            None => self.u64c(u64::from(len)),
        };
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let p = self.b.build_int_to_ptr(ptr_int, ptr_ty, "src").map_err(llvm_err)?;
        let id = if matches!(st, Type::Ptr { user: true, .. }) {
            helper::PROBE_READ_USER_STR
        } else {
            helper::PROBE_READ_KERNEL_STR
        };
        self.helper(id, &[slot.into(), size.into(), p.into()])?;
        Ok(Val::Mem(slot))
    }
}
