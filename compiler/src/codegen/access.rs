//! Memory access: fields of `args` and tuples, array indexing, casts.

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind};
use crate::types::Type;

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn field(&mut self, expr: &Expr, field: &str) -> R<Val<'ctx>> {
        match self.ty(expr) {
            Type::Record(r) if matches!(&expr.kind, ExprKind::Builtin(b) if b == "args") => {
                let f = r.field(field).ok_or_else(|| llvm_err(format!("no field {field}")))?.clone();
                self.ctx_field(&f)
            }
            Type::Tuple(elems) => {
                let i: usize = field.parse().map_err(llvm_err)?;
                let base = self.expr(expr)?;
                let base = self.as_mem(base)?;
                let layout = Type::Tuple(elems.clone()).layout();
                let btc_bpfprog::Ty::Tuple { fields, .. } = layout else { return Err(llvm_err("tuple")) };
                let off = fields.get(i).map(|f| f.offset).ok_or_else(|| llvm_err("tuple index"))?;
                let p = self.offset(base, off)?;
                match &elems[i] {
                    t if t.is_scalar() => Ok(Val::Int(self.load_i64(p)?)),
                    _ => Ok(Val::Mem(p)),
                }
            }
            other => Err(format!("field access on {other} is not supported yet")),
        }
    }

    pub(crate) fn index(&mut self, expr: &Expr, index: &Expr) -> R<Val<'ctx>> {
        // Arrays in tracepoint args (`args.a[i]` and `args->a[i]`).
        if let (ExprKind::Field { expr: base, field, .. } | ExprKind::Arrow { expr: base, field, .. }, ExprKind::Int(i)) =
            (&expr.kind, &index.kind)
        {
            if let Type::Record(r) = self.ty(base) {
                let f = r.field(field).ok_or_else(|| llvm_err("field"))?.clone();
                if let Type::Array { elem, .. } = &f.ty {
                    let esz = match **elem {
                        Type::Int { bits, .. } => u32::from(bits / 8),
                        _ => 8,
                    };
                    let off = f.offset + esz * u32::try_from(*i).unwrap_or(0);
                    return self.ctx_int(off, elem);
                }
            }
        }
        Err("indexing is not supported here yet".into())
    }

    pub(crate) fn cast(&mut self, e: &Expr, expr: &Expr) -> R<Val<'ctx>> {
        let v = self.expr(expr)?;
        let v = self.as_int(v)?;
        Ok(Val::Int(self.fit(v, &self.ty(e))?))
    }

    /// Reads a field of the probe's context record (tracepoint `args`).
    pub(crate) fn ctx_field(&mut self, f: &crate::types::RecordField) -> R<Val<'ctx>> {
        if f.data_loc {
            let loc = self.ctx_int(f.offset, &Type::U32)?;
            let Val::Int(loc) = loc else { return Err(llvm_err("data_loc")) };
            let off = self.b.build_and(loc, self.u64c(0xffff), "dl_off").map_err(llvm_err)?;
            let i8t = self.m.context.i8_type();
            let src = unsafe { self.b.build_gep(i8t, self.ctx_arg, &[off], "dl") }.map_err(llvm_err)?;
            let len = f.ty.layout().size();
            let slot = self.alloca_bytes(len, "dl_str")?;
            self.memset0(slot, len)?;
            self.helper(helper::PROBE_READ_KERNEL_STR, &[slot.into(), self.u64c(u64::from(len)).into(), src.into()])?;
            return Ok(Val::Mem(slot));
        }
        match &f.ty {
            Type::Str { len } => {
                let slot = self.alloca_bytes(*len, "tp_str")?;
                self.memset0(slot, *len)?;
                let src = self.offset(self.ctx_arg, f.offset)?;
                self.helper(helper::PROBE_READ_KERNEL, &[slot.into(), self.u64c(u64::from(*len)).into(), src.into()])?;
                Ok(Val::Mem(slot))
            }
            t @ (Type::Int { .. } | Type::Ptr { .. }) => self.ctx_int(f.offset, t),
            other => Err(format!("reading a tracepoint field of type {other} is not supported yet")),
        }
    }

    /// Loads an integer of type `ty` at `offset` in the context.
    pub(crate) fn ctx_int(&mut self, offset: u32, ty: &Type) -> R<Val<'ctx>> {
        let (bits, signed) = match ty {
            Type::Int { bits, signed } => (u32::from(*bits), *signed),
            _ => (64, false),
        };
        // The verifier only accepts context loads at a constant offset from the context pointer
        // itself: llvm.preserve.static.offset keeps LLVM from computing `ctx + offset` once and
        // reusing it across branches (the BPF backend turns the access back into one load).
        let keep = inkwell::intrinsics::Intrinsic::find("llvm.preserve.static.offset")
            .and_then(|i| i.get_declaration(&self.m.module, &[]))
            .ok_or_else(|| llvm_err("LLVM has no llvm.preserve.static.offset"))?;
        let call = self.b.build_call(keep, &[self.ctx_arg.into()], "ctx").map_err(llvm_err)?;
        let inkwell::values::ValueKind::Basic(base) = call.try_as_basic_value() else {
            return Err(llvm_err("llvm.preserve.static.offset returned no value"));
        };
        let p = self.offset(base.into_pointer_value(), offset)?;
        let it = self.int_type(bits);
        let v = self.b.build_load(it, p, "ctxld").map_err(llvm_err)?.into_int_value();
        let i64t = self.m.context.i64_type();
        let v = if bits == 64 {
            v
        } else if signed {
            self.b.build_int_s_extend(v, i64t, "sx").map_err(llvm_err)?
        } else {
            self.b.build_int_z_extend(v, i64t, "zx").map_err(llvm_err)?
        };
        Ok(Val::Int(v))
    }

}
