//! `==` and `!=` between values in memory: integer arrays and `buf()` values.

use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{BinOp, Expr};
use crate::types::Type;
use btc_bpfprog::RuntimeTy;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

impl<'ctx> FnCx<'_, 'ctx> {
    /// `lhs op rhs` when both sides are arrays or both are buffers (see
    /// `sema::compare::aggregate_compare`), or None for other operands.
    pub(crate) fn aggregate_binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Option<Val<'ctx>>> {
        let (lt, rt) = (self.ty(lhs), self.ty(rhs));
        if !crate::sema::compare::aggregate_compare(&lt, &rt) {
            return Ok(None);
        }
        let a = self.expr(lhs)?;
        let a = self.as_mem(a)?;
        let b = self.expr(rhs)?;
        let b = self.as_mem(b)?;
        let diff = match (&lt, &rt) {
            (Type::Array { elem, count }, _) => {
                let width = elem.c_size().clamp(1, 8);
                self.diff_words(a, b, width, elem.c_size().saturating_mul(*count), None)?
            }
            (Type::Runtime(RuntimeTy::Buf { size: sa }), Type::Runtime(RuntimeTy::Buf { size: sb })) => {
                // [u64 length][bytes]: equal lengths and equal bytes up to the length.
                let la = self.load_i64(a)?;
                let lb = self.load_i64(b)?;
                let len_diff = self.b.build_xor(la, lb, "buf_len_diff").map_err(llvm_err)?;
                let (da, db) = (self.offset(a, 8)?, self.offset(b, 8)?);
                let bytes = (*sa).min(*sb).next_multiple_of(8);
                let data_diff = self.diff_words(da, db, 8, bytes, Some(la))?;
                self.b.build_or(len_diff, data_diff, "buf_diff").map_err(llvm_err)?
            }
            _ => return Err(llvm_err("aggregate comparison")),
        };
        let pred = if op == BinOp::Eq { IntPredicate::EQ } else { IntPredicate::NE };
        let c = self.b.build_int_compare(pred, diff, self.i64(0), "agg_cmp").map_err(llvm_err)?;
        let r = self.b.build_int_z_extend(c, self.m.context.i64_type(), "agg_cmp64").map_err(llvm_err)?;
        Ok(Some(Val::Int(r)))
    }

    /// The OR of `a[i] ^ b[i]` over `size` bytes read in `width`-byte words (0 when they are
    /// equal). With `len`, only the first `len` bytes count.
    fn diff_words(
        &mut self,
        a: PointerValue<'ctx>,
        b: PointerValue<'ctx>,
        width: u32,
        size: u32,
        len: Option<IntValue<'ctx>>,
    ) -> R<IntValue<'ctx>> {
        let width = if width.is_power_of_two() { width } else { 1 };
        let it = self.int_type(width * 8);
        let i64t = self.m.context.i64_type();
        let mut acc = self.i64(0);
        for off in (0..size / width).map(|i| i * width) {
            let pa = self.offset(a, off)?;
            let pb = self.offset(b, off)?;
            let x = self.b.build_load(it, pa, "cmp_a").map_err(llvm_err)?.into_int_value();
            let y = self.b.build_load(it, pb, "cmp_b").map_err(llvm_err)?.into_int_value();
            let d = self.b.build_xor(x, y, "cmp_x").map_err(llvm_err)?;
            let d = self.b.build_int_z_extend_or_bit_cast(d, i64t, "cmp_x64").map_err(llvm_err)?;
            let d = match len {
                Some(len) => {
                    let mask = self.prefix_mask(len, off, width)?;
                    self.b.build_and(d, mask, "cmp_m").map_err(llvm_err)?
                }
                None => d,
            };
            acc = self.b.build_or(acc, d, "cmp_acc").map_err(llvm_err)?;
        }
        Ok(acc)
    }

    /// The mask of the bytes of the `width`-byte word at `off` that lie before `len`:
    /// all ones when `len >= off + width`, none when `len <= off`, else the low `len - off`
    /// bytes.
    fn prefix_mask(&self, len: IntValue<'ctx>, off: u32, width: u32) -> R<IntValue<'ctx>> {
        let bl = &self.b;
        let full = if width >= 8 { u64::MAX } else { (1u64 << (8 * width)) - 1 };
        let start = self.u64c(u64::from(off));
        let end = self.u64c(u64::from(off + width));
        let covered = bl.build_int_compare(IntPredicate::UGE, len, end, "m_full").map_err(llvm_err)?;
        let none = bl.build_int_compare(IntPredicate::ULE, len, start, "m_none").map_err(llvm_err)?;
        // 0 < len - off < width here: (1 << 8 * (len - off)) - 1.
        let part = bl.build_int_sub(len, start, "m_n").map_err(llvm_err)?;
        let part = bl.build_and(part, self.u64c(7), "m_n7").map_err(llvm_err)?;
        let bits = bl.build_int_mul(part, self.u64c(8), "m_bits").map_err(llvm_err)?;
        let one = bl.build_left_shift(self.u64c(1), bits, "m_one").map_err(llvm_err)?;
        let low = bl.build_int_sub(one, self.u64c(1), "m_low").map_err(llvm_err)?;
        let m = bl.build_select(none, self.u64c(0), low, "m_sel").map_err(llvm_err)?.into_int_value();
        bl.build_select(covered, self.u64c(full), m, "mask").map(|v| v.into_int_value()).map_err(llvm_err)
    }
}
