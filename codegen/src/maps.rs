//! Map keys, lookups and updates.

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{BinOp, Expr, ExprKind};
use crate::sema::MapKind;
use crate::types::{AggKind, Type};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn map_global(&self, name: &str) -> R<(PointerValue<'ctx>, btc_bpfprog::Ty, btc_bpfprog::Ty, MapKind, bool)> {
        let d = self.m.maps.get(name).ok_or_else(|| llvm_err(format!("unknown map {name}")))?;
        Ok((d.global.as_pointer_value(), d.key.clone(), d.value.clone(), d.kind.clone(), d.scalar))
    }

    /// Builds the key of `@name[keys]` in a zeroed stack buffer laid out as the map's key type.
    fn map_key(&mut self, name: &str, keys: &[Expr]) -> R<PointerValue<'ctx>> {
        let size = self.m_sig_key(name)?.layout().size();
        self.map_key_sized(name, keys, size)
    }

    /// As `map_key`, in a buffer of `size` bytes (room for a histogram bucket after the key).
    fn map_key_sized(&mut self, name: &str, keys: &[Expr], size: u32) -> R<PointerValue<'ctx>> {
        let sig = self.m_sig_key(name)?;
        let slot = self.alloca_bytes(size, "key")?;
        self.memset0(slot, size)?;
        match keys {
            [] => {}
            [k] => {
                let part = self.key_part_type(k, &sig);
                self.expr_into(k, slot, &part)?
            }
            many => {
                let Type::Tuple(parts) = &sig else { return Err(llvm_err("multi-key map without tuple key")) };
                let btc_bpfprog::Ty::Tuple { fields, .. } = sig.layout() else { return Err(llvm_err("key layout")) };
                for ((k, part), f) in many.iter().zip(parts).zip(fields) {
                    let p = self.offset(slot, f.offset)?;
                    let part = self.key_part_type(k, part);
                    self.expr_into(k, p, &part)?;
                }
            }
        }
        Ok(slot)
    }

    /// The type an integer key part is stored as: 64 bits, widened by the key expression's own
    /// signedness as bpftrace 0.20 does (`@[(int8)-1]` and `@[(uint32)4000000000]` in one map
    /// keep their values), whatever the signedness the map's key type got first.
    fn key_part_type(&self, k: &Expr, part: &Type) -> Type {
        match (part, self.ty(k)) {
            (Type::Int { .. }, Type::Int { signed, .. }) => Type::Int { bits: 64, signed },
            _ => part.clone(),
        }
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

    /// Updates `@name`'s entry; when the map is full (BPFTRACE_MAX_MAP_KEYS), counts the dropped
    /// update in [`btc_bpfprog::FULL_MAP`] so the runtime can warn.
    fn update(&mut self, name: &str, map: PointerValue<'ctx>, key: PointerValue<'ctx>, val: PointerValue<'ctx>) -> R<()> {
        let r = self.helper(helper::MAP_UPDATE_ELEM, &[map.into(), key.into(), val.into(), self.u64c(0).into()])?;
        let index = self.map_index(name)?;
        let full = self.b.build_int_compare(IntPredicate::EQ, r, self.i64(btc_bpfprog::E2BIG), "full").map_err(llvm_err)?;
        let full_bb = self.new_block("map_full");
        let done = self.new_block("updated");
        self.b.build_conditional_branch(full, full_bb, done).map_err(llvm_err)?;
        self.b.position_at_end(full_bb);
        let counters = self.m.full_map();
        self.bump_counter(counters, index)?;
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        Ok(())
    }

    /// Adds 1 to the u64 at `index` of the per-CPU array `map` (a drop counter).
    pub(crate) fn bump_counter(&mut self, map: PointerValue<'ctx>, index: u32) -> R<()> {
        let k = self.alloca_bytes(4, "counter_key")?;
        self.b.build_store(k, self.m.context.i32_type().const_int(u64::from(index), false)).map_err(llvm_err)?;
        let p = self.lookup(map, k)?;
        let (found, missing, join) = self.if_nonnull(p)?;
        self.b.position_at_end(found);
        self.add_at(p, 0, self.i64(1))?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(missing);
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
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
        self.report_missing_key()?;
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
            // `@p += n` on a pointer map moves it by n pointees.
            let v = match &kind {
                MapKind::Plain(t) => self.scale_for(t, v)?,
                MapKind::Agg(_) => v,
            };
            let signed = self.ty(value).is_signed();
            self.map_update_int(name, keys, |f, old| f.int_op(o, old, v, signed, &Type::I64))?;
            return Ok(());
        }
        let MapKind::Plain(vt) = kind else { return Err(llvm_err("map kind")) };
        // The value is evaluated before the key, as in bpftrace: `@[$i] = --$i` uses the new $i.
        let slot = self.alloca_bytes(vlayout.size(), "newval")?;
        if !vt.is_scalar() {
            self.memset0(slot, vlayout.size())?;
        }
        self.expr_into(value, slot, &vt)?;
        let key = self.map_key(name, keys)?;
        self.update(name, map, key, slot)
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
        self.report_missing_key()?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        let old = self.load_i64(slot)?;
        let new = f(self, old)?;
        let out = self.alloca_bytes(8, "rmw_new")?;
        self.store_i64(out, new)?;
        self.update(name, map, key, out)?;
        Ok((old, new))
    }

    /// `@m[k] = count()`, `sum(v)`, `min(v)`, ... on a per-CPU map: update this CPU's value in
    /// place, or insert the first one.
    fn aggregate(&mut self, name: &str, keys: &[Expr], agg: AggKind, value: &Expr) -> R<()> {
        let ExprKind::Call { args, .. } = &value.kind else { return Err(llvm_err("aggregate")) };
        let arg = match args.first() {
            Some(a) => {
                let v = self.expr(a)?;
                self.as_int(v)?
            }
            None => self.i64(1),
        };
        let (map, klayout, _, _, _) = self.map_global(name)?;
        let key = match agg {
            AggKind::Hist { .. } | AggKind::Lhist { .. } => {
                let off = btc_bpfprog::hist_bucket_offset(&klayout);
                let key = self.map_key_sized(name, keys, off + 8)?;
                let bucket = match agg {
                    AggKind::Hist { k } => self.log2_bucket(arg, k)?,
                    AggKind::Lhist { min, max, step } => self.linear_bucket(arg, min, max, step)?,
                    _ => return Err(llvm_err("bucket")),
                };
                let bp = self.offset(key, off)?;
                self.store_i64(bp, bucket)?;
                key
            }
            _ => self.map_key(name, keys)?,
        };
        let p = self.lookup(map, key)?;
        let (found, missing, join) = self.if_nonnull(p)?;
        // This CPU already has a value: update it.
        self.b.position_at_end(found);
        match agg {
            AggKind::Count | AggKind::Hist { .. } | AggKind::Lhist { .. } => self.add_at(p, 0, self.i64(1))?,
            AggKind::Sum => self.add_at(p, 0, arg)?,
            AggKind::Avg | AggKind::Stats => {
                self.add_at(p, 0, arg)?;
                self.add_at(p, 8, self.i64(1))?;
            }
            AggKind::Min | AggKind::Max => {
                let cur = self.load_i64(p)?;
                let setp = self.offset(p, 8)?;
                let set = self.load_i64(setp)?;
                let pred = if agg == AggKind::Min { IntPredicate::SLT } else { IntPredicate::SGT };
                let better = self.b.build_int_compare(pred, arg, cur, "better").map_err(llvm_err)?;
                let unset = self.b.build_int_compare(IntPredicate::EQ, set, self.i64(0), "unset").map_err(llvm_err)?;
                let take = self.b.build_or(better, unset, "take").map_err(llvm_err)?;
                let newv = self.b.build_select(take, arg, cur, "minmax").map_err(llvm_err)?.into_int_value();
                self.store_i64(p, newv)?;
                self.store_i64(setp, self.i64(1))?;
            }
        }
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        // First value on this CPU: insert it.
        self.b.position_at_end(missing);
        let init = self.alloca_bytes(16, "agg_init")?;
        let (first, second) = match agg {
            AggKind::Count | AggKind::Hist { .. } | AggKind::Lhist { .. } => (self.i64(1), self.i64(0)),
            AggKind::Sum => (arg, self.i64(0)),
            AggKind::Avg | AggKind::Stats | AggKind::Min | AggKind::Max => (arg, self.i64(1)),
        };
        self.store_i64(init, first)?;
        let second_p = self.offset(init, 8)?;
        self.store_i64(second_p, second)?;
        self.update(name, map, key, init)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        Ok(())
    }

    /// `*(i64 *)(p + off) += v`
    fn add_at(&self, p: PointerValue<'ctx>, off: u32, v: IntValue<'ctx>) -> R<()> {
        let q = self.offset(p, off)?;
        let cur = self.load_i64(q)?;
        let n = self.b.build_int_add(cur, v, "add").map_err(llvm_err)?;
        self.store_i64(q, n)
    }

    /// The log2 histogram bucket of `n` (see btc_bpfprog::log2_bucket).
    fn log2_bucket(&self, n: IntValue<'ctx>, k: u8) -> R<IntValue<'ctx>> {
        let b = &self.b;
        let mask = (1u64 << k) - 1;
        // l = floor(log2(n)) by binary search over the bit width.
        let mut v = n;
        let mut l = self.i64(0);
        for s in [32u64, 16, 8, 4, 2, 1] {
            let big = b.build_int_compare(IntPredicate::UGE, v, self.u64c(1 << s), "big").map_err(llvm_err)?;
            let shifted = b.build_right_shift(v, self.u64c(s), false, "sh").map_err(llvm_err)?;
            v = b.build_select(big, shifted, v, "v").map_err(llvm_err)?.into_int_value();
            let lp = b.build_int_add(l, self.u64c(s), "lp").map_err(llvm_err)?;
            l = b.build_select(big, lp, l, "l").map_err(llvm_err)?.into_int_value();
        }
        let lk = b.build_int_sub(l, self.u64c(u64::from(k)), "lk").map_err(llvm_err)?;
        let x = b.build_right_shift(n, lk, false, "x").map_err(llvm_err)?;
        let x = b.build_and(x, self.u64c(mask), "xm").map_err(llvm_err)?;
        let l1 = b.build_int_add(lk, self.u64c(1), "l1").map_err(llvm_err)?;
        let hi = b.build_left_shift(l1, self.u64c(u64::from(k)), "hi").map_err(llvm_err)?;
        let big_idx = b.build_int_add(hi, x, "bi").map_err(llvm_err)?;
        let big_idx = b.build_int_add(big_idx, self.u64c(1), "bi1").map_err(llvm_err)?;
        let small_idx = b.build_int_add(n, self.u64c(1), "si").map_err(llvm_err)?;
        let small = b.build_int_compare(IntPredicate::SLE, n, self.u64c(mask), "small").map_err(llvm_err)?;
        let idx = b.build_select(small, small_idx, big_idx, "idx").map_err(llvm_err)?.into_int_value();
        let neg = b.build_int_compare(IntPredicate::SLT, n, self.i64(0), "neg").map_err(llvm_err)?;
        b.build_select(neg, self.i64(0), idx, "bucket").map(|v| v.into_int_value()).map_err(llvm_err)
    }

    /// The linear histogram bucket of `n` (see btc_bpfprog::linear_bucket).
    fn linear_bucket(&self, n: IntValue<'ctx>, min: i64, max: i64, step: i64) -> R<IntValue<'ctx>> {
        let b = &self.b;
        let last = self.u64c(((max - min) / step + 1) as u64);
        let rel = b.build_int_sub(n, self.i64(min), "rel").map_err(llvm_err)?;
        let q = b.build_int_unsigned_div(rel, self.u64c(step as u64), "q").map_err(llvm_err)?;
        let mid = b.build_int_add(q, self.u64c(1), "mid").map_err(llvm_err)?;
        let over = b.build_int_compare(IntPredicate::SGE, n, self.i64(max), "over").map_err(llvm_err)?;
        let v = b.build_select(over, last, mid, "v").map_err(llvm_err)?.into_int_value();
        let under = b.build_int_compare(IntPredicate::SLT, n, self.i64(min), "under").map_err(llvm_err)?;
        b.build_select(under, self.i64(0), v, "bucket").map(|v| v.into_int_value()).map_err(llvm_err)
    }

    /// `delete(@m[k])` / `delete(@m, k)`.
    pub fn map_delete(&mut self, name: &str, keys: &[Expr]) -> R<()> {
        let (map, _, _, _, _) = self.map_global(name)?;
        let key = self.map_key(name, keys)?;
        self.helper(helper::MAP_DELETE_ELEM, &[map.into(), key.into()])?;
        Ok(())
    }

    /// `has_key(@m, key)`: 1 when the lookup finds the key, else 0 (a bool).
    pub fn map_has_key(&mut self, name: &str, key: &Expr) -> R<Val<'ctx>> {
        let (map, _, _, _, _) = self.map_global(name)?;
        let key = self.map_key(name, std::slice::from_ref(key))?;
        let p = self.lookup(map, key)?;
        let found = self.b.build_is_not_null(p, "has_key").map_err(llvm_err)?;
        let v = self.b.build_int_z_extend(found, self.m.context.i64_type(), "has_key64").map_err(llvm_err)?;
        Ok(Val::Int(v))
    }

    /// `len(@m)`: bpf_for_each_map_elem with a callback that only continues; the helper returns
    /// how many elements it visited.
    pub fn map_len(&mut self, name: &str) -> R<Val<'ctx>> {
        let (map, _, _, _, _) = self.map_global(name)?;
        let callback = self.m.count_callback(self.di);
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let n = self.helper(
            helper::FOR_EACH_MAP_ELEM,
            &[map.into(), callback.as_global_value().as_pointer_value().into(), ptr_ty.const_null().into(), self.u64c(0).into()],
        )?;
        Ok(Val::Int(n))
    }

    /// The index of a map in the metadata.
    pub fn map_index(&self, name: &str) -> R<u32> {
        self.m.maps.get(name).map(|d| d.index).ok_or_else(|| llvm_err(format!("unknown map {name}")))
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
        self.bump_counter(self.m.lost.as_pointer_value(), 0)?;
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        Ok(())
    }
}
