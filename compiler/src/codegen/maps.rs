//! Map keys, lookups and updates.

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{BinOp, Expr, ExprKind};
use crate::sema::MapKind;
use crate::types::{AggKind, Type};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

impl<'ctx> FnCx<'_, 'ctx> {
    fn map_global(&self, name: &str) -> R<(PointerValue<'ctx>, btc_bpfprog::Ty, btc_bpfprog::Ty, MapKind, bool)> {
        let d = self.m.maps.get(name).ok_or_else(|| llvm_err(format!("unknown map {name}")))?;
        Ok((d.global.as_pointer_value(), d.key.clone(), d.value.clone(), d.kind.clone(), d.scalar))
    }

    /// Builds the key of `@name[keys]` in a zeroed stack buffer laid out as the map's key type.
    fn map_key(&mut self, name: &str, keys: &[Expr]) -> R<PointerValue<'ctx>> {
        let sig = self.m_sig_key(name)?;
        let slot = self.alloca_bytes(sig.layout().size(), "key")?;
        self.zero(slot, &sig)?;
        match keys {
            [] => {}
            [k] => {
                let v = self.expr(k)?;
                let kt = self.ty(k);
                self.store_value(slot, &sig, v, &kt)?;
            }
            many => {
                let Type::Tuple(parts) = &sig else { return Err(llvm_err("multi-key map without tuple key")) };
                let btc_bpfprog::Ty::Tuple { fields, .. } = sig.layout() else { return Err(llvm_err("key layout")) };
                for ((k, part), f) in many.iter().zip(parts).zip(fields) {
                    let v = self.expr(k)?;
                    let kt = self.ty(k);
                    let p = self.offset(slot, f.offset)?;
                    self.store_value(p, part, v, &kt)?;
                }
            }
        }
        Ok(slot)
    }

    /// The key type of a map, as the checker fixed it (u64 for scalar maps).
    fn m_sig_key(&self, name: &str) -> R<Type> {
        let key = self.inst_key_type(name);
        Ok(key.unwrap_or(Type::U64))
    }

    fn inst_key_type(&self, name: &str) -> Option<Type> {
        self.m.maps.get(name).and_then(|d| d.key_ty.clone())
    }

    fn lookup(&self, map: PointerValue<'ctx>, key: PointerValue<'ctx>) -> R<PointerValue<'ctx>> {
        let r = self.helper(helper::MAP_LOOKUP_ELEM, &[map.into(), key.into()])?;
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        self.b.build_int_to_ptr(r, ptr_ty, "val").map_err(llvm_err)
    }

    fn update(&self, map: PointerValue<'ctx>, key: PointerValue<'ctx>, val: PointerValue<'ctx>) -> R<()> {
        self.helper(helper::MAP_UPDATE_ELEM, &[map.into(), key.into(), val.into(), self.u64c(0).into()])?;
        Ok(())
    }

    /// Branches on whether `ptr` is NULL; returns (non-null block, null block, join block).
    fn if_nonnull(
        &self,
        ptr: PointerValue<'ctx>,
    ) -> R<(inkwell::basic_block::BasicBlock<'ctx>, inkwell::basic_block::BasicBlock<'ctx>, inkwell::basic_block::BasicBlock<'ctx>)>
    {
        let found = self.new_block("found");
        let missing = self.new_block("missing");
        let join = self.new_block("join");
        let is_null = self.b.build_is_null(ptr, "isnull").map_err(llvm_err)?;
        self.b.build_conditional_branch(is_null, missing, found).map_err(llvm_err)?;
        Ok((found, missing, join))
    }

    /// Reads `@name[keys]`: the stored value, or zero when absent.
    pub fn map_read(&mut self, name: &str, keys: &[Expr], ty: &Type) -> R<Val<'ctx>> {
        let (map, _, value, _, _) = self.map_global(name)?;
        let key = self.map_key(name, keys)?;
        let p = self.lookup(map, key)?;
        let slot = self.alloca_bytes(value.size(), "mapval")?;
        self.memset0(slot, value.size())?;
        let (found, missing, join) = self.if_nonnull(p)?;
        self.b.position_at_end(found);
        self.memcpy(slot, p, value.size())?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(missing);
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        if ty.is_scalar() {
            Ok(Val::Int(self.load_i64(slot)?))
        } else {
            Ok(Val::Mem(slot))
        }
    }

    /// `@name[keys] = value`, `@name[keys] op= value`, and aggregate assignments.
    pub fn map_assign(&mut self, name: &str, keys: &[Expr], op: Option<BinOp>, value: &Expr) -> R<()> {
        let (map, _, vlayout, kind, _) = self.map_global(name)?;
        if let MapKind::Agg(agg) = kind {
            return self.aggregate(name, keys, agg, value);
        }
        if let Some(o) = op {
            let v = self.expr(value)?;
            let v = self.as_int(v)?;
            let signed = self.ty(value).is_signed();
            self.map_update_int(name, keys, |f, old| f.int_op(o, old, v, signed, &Type::I64))?;
            return Ok(());
        }
        let MapKind::Plain(vt) = kind else { return Err(llvm_err("map kind")) };
        let v = self.expr(value)?;
        let from = self.ty(value);
        let key = self.map_key(name, keys)?;
        let slot = self.alloca_bytes(vlayout.size(), "newval")?;
        if !vt.is_scalar() {
            self.memset0(slot, vlayout.size())?;
        }
        self.store_value(slot, &vt, v, &from)?;
        self.update(map, key, slot)
    }

    /// Read-modify-write of an integer map value; returns (old, new).
    pub fn map_update_int(
        &mut self,
        name: &str,
        keys: &[Expr],
        f: impl Fn(&Self, IntValue<'ctx>) -> R<IntValue<'ctx>>,
    ) -> R<(IntValue<'ctx>, IntValue<'ctx>)> {
        let (map, _, _, _, _) = self.map_global(name)?;
        let key = self.map_key(name, keys)?;
        let p = self.lookup(map, key)?;
        let slot = self.alloca_bytes(8, "rmw")?;
        self.store_i64(slot, self.i64(0))?;
        let (found, missing, join) = self.if_nonnull(p)?;
        self.b.position_at_end(found);
        let cur = self.load_i64(p)?;
        self.store_i64(slot, cur)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(missing);
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        let old = self.load_i64(slot)?;
        let new = f(self, old)?;
        let out = self.alloca_bytes(8, "rmw_new")?;
        self.store_i64(out, new)?;
        self.update(map, key, out)?;
        Ok((old, new))
    }

    /// `@m[k] = count()` / `sum(v)` on a per-CPU map: add in place, or insert the first value.
    fn aggregate(&mut self, name: &str, keys: &[Expr], agg: AggKind, value: &Expr) -> R<()> {
        let ExprKind::Call { args, .. } = &value.kind else { return Err(llvm_err("aggregate")) };
        let inc = match agg {
            AggKind::Count => self.i64(1),
            AggKind::Sum => {
                let a = args.first().ok_or_else(|| llvm_err("sum"))?;
                let v = self.expr(a)?;
                self.as_int(v)?
            }
        };
        let (map, _, _, _, _) = self.map_global(name)?;
        let key = self.map_key(name, keys)?;
        let p = self.lookup(map, key)?;
        let (found, missing, join) = self.if_nonnull(p)?;
        self.b.position_at_end(found);
        let cur = self.load_i64(p)?;
        let sum = self.b.build_int_add(cur, inc, "agg").map_err(llvm_err)?;
        self.store_i64(p, sum)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(missing);
        let init = self.alloca_bytes(8, "agg_init")?;
        self.store_i64(init, inc)?;
        self.update(map, key, init)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        Ok(())
    }

    /// Sends an event record (header + payload already in `buf`) to user space, counting it as
    /// lost when the ring buffer is full.
    pub fn emit_event(&mut self, buf: PointerValue<'ctx>, size: u32) -> R<()> {
        let rb = self.m.ringbuf.as_pointer_value();
        let r = self.helper(
            helper::RINGBUF_OUTPUT,
            &[rb.into(), buf.into(), self.u64c(u64::from(size)).into(), self.u64c(0).into()],
        )?;
        let failed = self.b.build_int_compare(IntPredicate::NE, r, self.i64(0), "lost").map_err(llvm_err)?;
        let lost_bb = self.new_block("lost");
        let done = self.new_block("sent");
        self.b.build_conditional_branch(failed, lost_bb, done).map_err(llvm_err)?;
        self.b.position_at_end(lost_bb);
        let key = self.alloca_bytes(4, "lost_key")?;
        self.b.build_store(key, self.m.context.i32_type().const_zero()).map_err(llvm_err)?;
        let p = self.lookup(self.m.lost.as_pointer_value(), key)?;
        let (found, missing, join) = self.if_nonnull(p)?;
        self.b.position_at_end(found);
        let cur = self.load_i64(p)?;
        let n = self.b.build_int_add(cur, self.i64(1), "lost1").map_err(llvm_err)?;
        self.store_i64(p, n)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(missing);
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        Ok(())
    }
}
