//! Expressions, builtins and assignments.

use super::access::pointee_step;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{BinOp, Expr, ExprKind, UnaryOp};
use crate::types::Type;
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

/// BPF helper numbers (include/uapi/linux/bpf.h).
pub(crate) mod helper {
    pub const MAP_LOOKUP_ELEM: u64 = 1;
    pub const MAP_UPDATE_ELEM: u64 = 2;
    pub const MAP_DELETE_ELEM: u64 = 3;
    pub const GET_PRANDOM_U32: u64 = 7;
    pub const GET_SMP_PROCESSOR_ID: u64 = 8;
    pub const GET_CURRENT_PID_TGID: u64 = 14;
    pub const GET_CURRENT_UID_GID: u64 = 15;
    pub const GET_CURRENT_COMM: u64 = 16;
    pub const GET_CURRENT_TASK: u64 = 35;
    pub const GET_NUMA_NODE_ID: u64 = 42;
    pub const GET_CURRENT_CGROUP_ID: u64 = 80;
    /// The old helpers that pick user or kernel memory by the address (x86-64), for reads
    /// whose address space is unknown.
    pub const PROBE_READ: u64 = 4;
    pub const PROBE_READ_STR: u64 = 45;
    pub const PROBE_READ_USER: u64 = 112;
    pub const PROBE_READ_USER_STR: u64 = 114;
    pub const SEQ_PRINTF: u64 = 126;
    pub const PROBE_READ_KERNEL: u64 = 113;
    pub const PROBE_READ_KERNEL_STR: u64 = 115;
    pub const JIFFIES64: u64 = 118;
    pub const KTIME_GET_BOOT_NS: u64 = 125;
    pub const RINGBUF_OUTPUT: u64 = 130;
    pub const FOR_EACH_MAP_ELEM: u64 = 164;
}

impl<'ctx> FnCx<'_, 'ctx> {
    pub fn ty(&self, e: &Expr) -> Type {
        self.inst.ty(e)
    }

    pub fn expr(&mut self, e: &Expr) -> R<Val<'ctx>> {
        let outer = self.cur_span.replace(e.span);
        let v = self.expr_kind(e);
        self.cur_span.set(outer);
        v
    }

    fn expr_kind(&mut self, e: &Expr) -> R<Val<'ctx>> {
        // sizeof, offsetof and enumerators were evaluated by the checker.
        if let Some(v) = self.inst.consts.get(&e.id) {
            return Ok(Val::Int(self.u64c(*v)));
        }
        match &e.kind {
            ExprKind::Int(v) => Ok(Val::Int(self.u64c(*v))),
            ExprKind::Bool(v) => Ok(Val::Int(self.u64c(u64::from(*v)))),
            ExprKind::Block { block, value } => {
                self.block(block)?;
                self.expr(value)
            }
            ExprKind::Str(s) => self.string_literal(s.as_bytes(), &self.ty(e)),
            ExprKind::Builtin(name) => self.builtin(name, e),
            ExprKind::Var(name) => {
                let slot = *self.vars.get(name).ok_or_else(|| llvm_err(format!("unknown variable ${name}")))?;
                match self.ty(e) {
                    t if t.is_scalar() => Ok(Val::Int(self.load_i64(slot)?)),
                    _ => Ok(Val::Mem(slot)),
                }
            }
            ExprKind::Map { name, keys } => self.map_read(name, keys, &self.ty(e)),
            ExprKind::Call { func, args, .. } => self.call(e, *func, args),
            ExprKind::Unary { op, expr } => {
                let v = self.expr(expr)?;
                let v = self.as_int(v)?;
                let r = match op {
                    UnaryOp::Neg => self.b.build_int_neg(v, "neg"),
                    UnaryOp::BitNot => self.b.build_not(v, "not"),
                    UnaryOp::Not => {
                        let c = self.b.build_int_compare(IntPredicate::EQ, v, self.i64(0), "lnot").map_err(llvm_err)?;
                        self.b.build_int_z_extend(c, self.m.context.i64_type(), "lnot64")
                    }
                    UnaryOp::Deref => return self.deref(e),
                    UnaryOp::AddrOf => return self.addr_of(expr),
                }
                .map_err(llvm_err)?;
                // Keep the declared width of ~x for narrow types.
                Ok(Val::Int(self.fit(r, &self.ty(e))?))
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Ternary { cond, then, els } => {
                let ty = self.ty(e);
                let c = self.cond(cond)?;
                let then_bb = self.new_block("t_then");
                let else_bb = self.new_block("t_else");
                let end = self.new_block("t_end");
                let slot = if ty.is_scalar() || ty == Type::Void { None } else { Some(self.alloca_for(&ty, "ternary")?) };
                self.b.build_conditional_branch(c, then_bb, else_bb).map_err(llvm_err)?;
                self.b.position_at_end(then_bb);
                let a = self.expr(then)?;
                let a = self.materialize(a, &self.ty(then), &ty, slot)?;
                let a_end = self.b.get_insert_block().ok_or("no block")?;
                self.b.build_unconditional_branch(end).map_err(llvm_err)?;
                self.b.position_at_end(else_bb);
                let bv = self.expr(els)?;
                let bv = self.materialize(bv, &self.ty(els), &ty, slot)?;
                let b_end = self.b.get_insert_block().ok_or("no block")?;
                self.b.build_unconditional_branch(end).map_err(llvm_err)?;
                self.b.position_at_end(end);
                match (a, bv, slot) {
                    (Val::Int(x), Val::Int(y), None) => {
                        let phi = self.b.build_phi(self.m.context.i64_type(), "t").map_err(llvm_err)?;
                        phi.add_incoming(&[(&x, a_end), (&y, b_end)]);
                        Ok(Val::Int(phi.as_basic_value().into_int_value()))
                    }
                    (_, _, Some(s)) => Ok(Val::Mem(s)),
                    (Val::Void, Val::Void, None) => Ok(Val::Void),
                    _ => Err(llvm_err("ternary")),
                }
            }
            ExprKind::Field { expr, field, .. } | ExprKind::Arrow { expr, field, .. } => self.field(e, expr, field),
            ExprKind::Index { expr, index } => self.index(e, expr, index),
            ExprKind::Tuple(elems) => {
                let ty = self.ty(e);
                let slot = self.alloca_for(&ty, "tuple")?;
                self.zero(slot, &ty)?;
                let btc_bpfprog::Ty::Tuple { fields, .. } = ty.layout() else { return Err(llvm_err("tuple")) };
                for (x, f) in elems.iter().zip(fields) {
                    let xt = self.ty(x);
                    let p = self.offset(slot, f.offset)?;
                    if xt.is_int() {
                        let v = self.expr(x)?;
                        self.store_member(p, &xt, v, &xt)?;
                    } else {
                        self.expr_into(x, p, &xt)?;
                    }
                }
                Ok(Val::Mem(slot))
            }
            ExprKind::Cast { expr: inner, .. } if self.ty(inner).is_int() && self.ty(e).is_int() => {
                self.int_cast(inner, &self.ty(e))
            }
            ExprKind::Cast { expr, .. } => self.cast(e, expr),
            ExprKind::IncDec { target, increment, prefix } => self.inc_dec(target, *increment, *prefix),
            _ => Err("this expression is not supported yet".into()),
        }
    }

    /// An integer cast as bpftrace does it (LLVM's IntCast with the target's signedness): a
    /// narrower value is extended by the signedness of the *target* type, so
    /// `(int16)(uint8)255` is -1 and `(uint64)(int8)-1` is 255; a wider one is truncated.
    fn int_cast(&mut self, inner: &Expr, to: &Type) -> R<Val<'ctx>> {
        let v = self.expr(inner)?;
        let v = self.as_int(v)?;
        let (Type::Int { bits: from_bits, .. }, Type::Int { bits: to_bits, signed }) = (self.ty(inner), to) else {
            return Ok(Val::Int(self.fit(v, to)?));
        };
        if from_bits >= *to_bits || from_bits >= 64 {
            return Ok(Val::Int(self.fit(v, to)?));
        }
        let narrow = self.int_type(u32::from(from_bits));
        let t = self.b.build_int_truncate(v, narrow, "ctrunc").map_err(llvm_err)?;
        let i64t = self.m.context.i64_type();
        // A bool is 0 or 1 whatever it becomes.
        let wide = if *signed && from_bits > 1 {
            self.b.build_int_s_extend(t, i64t, "csext")
        } else {
            self.b.build_int_z_extend(t, i64t, "czext")
        }
        .map_err(llvm_err)?;
        Ok(Val::Int(self.fit(wide, to)?))
    }

    /// Truncates and re-extends an i64 to the width and signedness of `ty`.
    pub fn fit(&self, v: IntValue<'ctx>, ty: &Type) -> R<IntValue<'ctx>> {
        let Type::Int { bits, signed } = ty else { return Ok(v) };
        if *bits >= 64 {
            return Ok(v);
        }
        let narrow = self.int_type(u32::from(*bits));
        let t = self.b.build_int_truncate(v, narrow, "trunc").map_err(llvm_err)?;
        let i64t = self.m.context.i64_type();
        if *signed {
            self.b.build_int_s_extend(t, i64t, "sext")
        } else {
            self.b.build_int_z_extend(t, i64t, "zext")
        }
        .map_err(llvm_err)
    }

    /// Puts a value of type `from` into the representation of type `to` (widening strings), in
    /// `slot` when the result lives in memory.
    fn materialize(&mut self, v: Val<'ctx>, from: &Type, to: &Type, slot: Option<PointerValue<'ctx>>) -> R<Val<'ctx>> {
        match slot {
            None => Ok(v),
            Some(s) => {
                self.store_value(s, to, v, from)?;
                Ok(Val::Mem(s))
            }
        }
    }

    /// Evaluates `e` straight into `dst` (laid out as type `to`), sparing the stack copy where
    /// the value can be produced in place: `comm`, `str()` and string literals. Bytes after a
    /// string's NUL are left as they were: callers that hash the bytes (map keys) zero `dst`
    /// first.
    pub fn expr_into(&mut self, e: &Expr, dst: PointerValue<'ctx>, to: &Type) -> R<()> {
        let from = self.ty(e);
        match (&e.kind, to, &from) {
            (ExprKind::Builtin(b), Type::Str { len }, _) if b == "comm" && *len >= 16 => {
                self.helper(helper::GET_CURRENT_COMM, &[dst.into(), self.u64c(16).into()])?;
                Ok(())
            }
            (ExprKind::Str(s), Type::Str { len }, _) if s.len() < *len as usize => {
                let mut bytes = s.as_bytes().to_vec();
                bytes.push(0);
                let i8t = self.m.context.i8_type();
                for (i, chunk) in bytes.chunks(8).enumerate() {
                    let p = self.offset(dst, u32::try_from(i * 8).unwrap_or(0))?;
                    if chunk.len() == 8 {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(chunk);
                        let v = self.m.context.i64_type().const_int(u64::from_le_bytes(w), false);
                        // `dst` may be a string field at any offset of a record: claim no
                        // alignment (LLVM raises it where it can prove more), or the verifier
                        // refuses a misaligned 8-byte stack store.
                        let st = self.b.build_store(p, v).map_err(llvm_err)?;
                        st.set_alignment(1).map_err(llvm_err)?;
                    } else {
                        for (j, c) in chunk.iter().enumerate() {
                            let q = self.offset(p, j as u32)?;
                            self.b.build_store(q, i8t.const_int(u64::from(*c), false)).map_err(llvm_err)?;
                        }
                    }
                }
                Ok(())
            }
            (ExprKind::Call { func: Some(crate::ast::Func::Text(crate::catalogue::Text::Str)), args, .. }, Type::Str { len }, Type::Str { len: from_len })
                if !matches!(args.first().map(|a| self.ty(a)), Some(Type::Str { .. })) =>
            {
                self.str_into(args, dst, (*len).min(*from_len))
            }
            _ => {
                let v = self.expr(e)?;
                self.store_value(dst, to, v, &from)
            }
        }
    }

    /// An integer value of type `from` converted to type `to` (truncated, re-extended), as an
    /// i64. A narrower integer is extended by the destination's signedness, as bpftrace's
    /// IntCast does: `@m = (uint32)5; @m = (int16)-2` stores 65534.
    fn convert_int(&self, v: Val<'ctx>, to: &Type, from: &Type) -> R<IntValue<'ctx>> {
        let i = self.as_int(v)?;
        let i = match (from, to) {
            (Type::Int { bits: fb, .. }, Type::Int { bits: tb, signed }) if fb < tb && *fb < 64 => {
                let narrow = self.int_type(u32::from(*fb));
                let n = self.b.build_int_truncate(i, narrow, "strunc").map_err(llvm_err)?;
                let i64t = self.m.context.i64_type();
                if *signed && *fb > 1 {
                    self.b.build_int_s_extend(n, i64t, "ssext")
                } else {
                    self.b.build_int_z_extend(n, i64t, "szext")
                }
                .map_err(llvm_err)?
            }
            _ => i,
        };
        self.fit(i, to)
    }

    /// Stores `v` (of type `from`) as a member of a tuple of type `to`: integers at their own
    /// width (see `Type::member_layout`), anything else as `store_value` does.
    pub fn store_member(&mut self, dst: PointerValue<'ctx>, to: &Type, v: Val<'ctx>, from: &Type) -> R<()> {
        match to {
            Type::Int { bits, .. } if *bits < 64 => {
                let i = self.convert_int(v, to, from)?;
                let narrow = self.int_type(u32::from((*bits).max(8)));
                let n = self.b.build_int_truncate(i, narrow, "mtrunc").map_err(llvm_err)?;
                self.b.build_store(dst, n).map_err(llvm_err)?;
                Ok(())
            }
            _ => self.store_value(dst, to, v, from),
        }
    }

    /// Loads a member of type `ty` of a tuple (see `store_member`): integers and pointers as
    /// i64 values, anything else as its address.
    pub fn load_member(&self, p: PointerValue<'ctx>, ty: &Type) -> R<Val<'ctx>> {
        match ty {
            Type::Int { bits, signed } if *bits < 64 => {
                let narrow = self.int_type(u32::from((*bits).max(8)));
                let n = self.b.build_load(narrow, p, "mld").map_err(llvm_err)?.into_int_value();
                let i64t = self.m.context.i64_type();
                let v = if *signed { self.b.build_int_s_extend(n, i64t, "msx") } else { self.b.build_int_z_extend(n, i64t, "mzx") };
                Ok(Val::Int(v.map_err(llvm_err)?))
            }
            t if t.is_scalar() => Ok(Val::Int(self.load_i64(p)?)),
            _ => Ok(Val::Mem(p)),
        }
    }

    /// Stores `v` (of type `from`) at `dst`, laid out as type `to`.
    pub fn store_value(&mut self, dst: PointerValue<'ctx>, to: &Type, v: Val<'ctx>, from: &Type) -> R<()> {
        match (to, from) {
            // Integers are stored converted to the destination's type, as 8 bytes.
            (t, _) if t.is_scalar() => {
                let i = self.convert_int(v, t, from)?;
                self.store_i64(dst, i)
            }
            (Type::Str { len: dl }, Type::Str { len: sl }) => {
                let src = self.as_mem(v)?;
                if sl == dl {
                    self.memcpy(dst, src, *dl)
                } else if sl < dl {
                    self.memset0(dst, *dl)?;
                    self.memcpy(dst, src, *sl)
                } else {
                    self.memcpy(dst, src, dl - 1)?;
                    let last = self.offset(dst, dl - 1)?;
                    self.b.build_store(last, self.m.context.i8_type().const_zero()).map_err(llvm_err)?;
                    Ok(())
                }
            }
            (Type::Runtime(_), Type::Runtime(_)) => self.memcpy(dst, self.as_mem(v)?, to.layout().size()),
            (Type::Tuple(dt), Type::Tuple(st)) => {
                let src = self.as_mem(v)?;
                if dt == st {
                    return self.memcpy(dst, src, to.layout().size());
                }
                self.memset0(dst, to.layout().size())?;
                let (btc_bpfprog::Ty::Tuple { fields: df, .. }, btc_bpfprog::Ty::Tuple { fields: sf, .. }) =
                    (to.layout(), from.layout())
                else {
                    return Err(llvm_err("tuple layout"));
                };
                for i in 0..dt.len().min(st.len()) {
                    let sp = self.offset(src, sf[i].offset)?;
                    let dp = self.offset(dst, df[i].offset)?;
                    let ev = self.load_member(sp, &st[i])?;
                    self.store_member(dp, &dt[i], ev, &st[i])?;
                }
                Ok(())
            }
            // Structs and arrays copied by value keep their memory layout.
            (Type::Struct(_) | Type::Array { .. }, _) if to == from => {
                let src = self.as_mem(v)?;
                self.memcpy(dst, src, to.layout().size())
            }
            _ => Err(format!("can't store a {from} as a {to}")),
        }
    }

    /// A string literal in a stack buffer of the literal's type.
    pub fn string_literal(&mut self, bytes: &[u8], ty: &Type) -> R<Val<'ctx>> {
        let size = ty.layout().size().max(u32::try_from(bytes.len() + 1).unwrap_or(u32::MAX));
        let slot = self.alloca_bytes(size, "str")?;
        let mut padded = bytes.to_vec();
        padded.resize(size.div_ceil(8) as usize * 8, 0);
        let i64t = self.m.context.i64_type();
        for (i, chunk) in padded.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            let p = self.offset(slot, u32::try_from(i * 8).unwrap_or(0))?;
            self.b.build_store(p, i64t.const_int(u64::from_le_bytes(w), false)).map_err(llvm_err)?;
        }
        Ok(Val::Mem(slot))
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Val<'ctx>> {
        if matches!(op, BinOp::And | BinOp::Or) {
            return self.logical(op, lhs, rhs);
        }
        if let Some(v) = self.pointer_binary(op, lhs, rhs)? {
            return Ok(v);
        }
        if let Some(v) = self.aggregate_binary(op, lhs, rhs)? {
            return Ok(v);
        }
        let (lt, rt) = (self.ty(lhs), self.ty(rhs));
        if let (Type::Str { len: la }, Type::Str { len: lb }) = (&lt, &rt) {
            let a = self.expr(lhs)?;
            let b = self.expr(rhs)?;
            let eq = self.str_eq(self.as_mem(a)?, *la, self.as_mem(b)?, *lb)?;
            let r = if op == BinOp::Eq { eq } else { self.b.build_xor(eq, self.u64c(1), "ne").map_err(llvm_err)? };
            return Ok(Val::Int(r));
        }
        let a = self.expr(lhs)?;
        let a = self.as_int(a)?;
        let b = self.expr(rhs)?;
        let b = self.as_int(b)?;
        let signed = lt.is_signed() && rt.is_signed();
        Ok(Val::Int(self.int_op(op, a, b, signed, &self.ty(e))?))
    }

    /// An arithmetic, bitwise or comparison operation on i64 values.
    pub fn int_op(&self, op: BinOp, a: IntValue<'ctx>, b: IntValue<'ctx>, signed: bool, _ty: &Type) -> R<IntValue<'ctx>> {
        let bl = &self.b;
        let i64t = self.m.context.i64_type();
        let cmp = |p: IntPredicate| -> R<IntValue<'ctx>> {
            let c = bl.build_int_compare(p, a, b, "cmp").map_err(llvm_err)?;
            bl.build_int_z_extend(c, i64t, "cmp64").map_err(llvm_err)
        };
        let r = match op {
            BinOp::Add => bl.build_int_add(a, b, "add"),
            BinOp::Sub => bl.build_int_sub(a, b, "sub"),
            BinOp::Mul => bl.build_int_mul(a, b, "mul"),
            BinOp::Div | BinOp::Mod => return self.div_mod(op, a, b, signed),
            BinOp::BitAnd => bl.build_and(a, b, "and"),
            BinOp::BitOr => bl.build_or(a, b, "or"),
            BinOp::BitXor => bl.build_xor(a, b, "xor"),
            BinOp::Shl => bl.build_left_shift(a, b, "shl"),
            // bpftrace shifts right logically whatever the signedness: -16 >> 2 is 2^62 - 4.
            BinOp::Shr => bl.build_right_shift(a, b, false, "shr"),
            BinOp::Eq => return cmp(IntPredicate::EQ),
            BinOp::Ne => return cmp(IntPredicate::NE),
            BinOp::Lt => return cmp(if signed { IntPredicate::SLT } else { IntPredicate::ULT }),
            BinOp::Le => return cmp(if signed { IntPredicate::SLE } else { IntPredicate::ULE }),
            BinOp::Gt => return cmp(if signed { IntPredicate::SGT } else { IntPredicate::UGT }),
            BinOp::Ge => return cmp(if signed { IntPredicate::SGE } else { IntPredicate::UGE }),
            BinOp::And | BinOp::Or => return Err(llvm_err("logical op")),
        };
        r.map_err(llvm_err)
    }

    /// Division and modulo. BPF (cpu v3) has only unsigned division, so signed operands are
    /// divided as magnitudes and the sign is fixed after. Division by zero yields 0 and modulo by
    /// zero the dividend, as the BPF instruction set defines.
    pub(crate) fn div_mod(&self, op: BinOp, a: IntValue<'ctx>, b: IntValue<'ctx>, signed: bool) -> R<IntValue<'ctx>> {
        let bl = &self.b;
        let zero = self.i64(0);
        let udiv = |x: IntValue<'ctx>, y: IntValue<'ctx>| -> R<IntValue<'ctx>> {
            // Guard the divisor so LLVM can't treat division by zero as undefined behaviour.
            let is_zero = bl.build_int_compare(IntPredicate::EQ, y, zero, "dz").map_err(llvm_err)?;
            let safe = bl.build_select(is_zero, self.i64(1), y, "sy").map_err(llvm_err)?.into_int_value();
            let r = if op == BinOp::Div {
                bl.build_int_unsigned_div(x, safe, "udiv")
            } else {
                bl.build_int_unsigned_rem(x, safe, "urem")
            }
            .map_err(llvm_err)?;
            let when_zero = if op == BinOp::Div { zero } else { x };
            bl.build_select(is_zero, when_zero, r, "dres").map(|v| v.into_int_value()).map_err(llvm_err)
        };
        if !signed {
            return udiv(a, b);
        }
        let abs = |x: IntValue<'ctx>| -> R<IntValue<'ctx>> {
            let neg = bl.build_int_compare(IntPredicate::SLT, x, zero, "isneg").map_err(llvm_err)?;
            let nx = bl.build_int_neg(x, "negx").map_err(llvm_err)?;
            bl.build_select(neg, nx, x, "abs").map(|v| v.into_int_value()).map_err(llvm_err)
        };
        let r = udiv(abs(a)?, abs(b)?)?;
        let an = bl.build_int_compare(IntPredicate::SLT, a, zero, "an").map_err(llvm_err)?;
        let bn = bl.build_int_compare(IntPredicate::SLT, b, zero, "bn").map_err(llvm_err)?;
        // The quotient is negative when the signs differ; the remainder takes the dividend's sign.
        let negate = if op == BinOp::Div { bl.build_xor(an, bn, "sdiff").map_err(llvm_err)? } else { an };
        let nr = bl.build_int_neg(r, "nr").map_err(llvm_err)?;
        bl.build_select(negate, nr, r, "sres").map(|v| v.into_int_value()).map_err(llvm_err)
    }

    /// `&&` and `||` with short-circuit evaluation, giving 0 or 1.
    fn logical(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Val<'ctx>> {
        let slot = self.alloca_bytes(8, "logic")?;
        let a = self.cond(lhs)?;
        let rhs_bb = self.new_block("logic_rhs");
        let short_bb = self.new_block("logic_short");
        let end = self.new_block("logic_end");
        if op == BinOp::And {
            self.b.build_conditional_branch(a, rhs_bb, short_bb).map_err(llvm_err)?;
        } else {
            self.b.build_conditional_branch(a, short_bb, rhs_bb).map_err(llvm_err)?;
        }
        self.b.position_at_end(short_bb);
        self.store_i64(slot, self.i64(if op == BinOp::And { 0 } else { 1 }))?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(rhs_bb);
        let c = self.cond(rhs)?;
        let c64 = self.b.build_int_z_extend(c, self.m.context.i64_type(), "c64").map_err(llvm_err)?;
        self.store_i64(slot, c64)?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(end);
        Ok(Val::Int(self.load_i64(slot)?))
    }

    /// 1 when the NUL-terminated strings are equal, else 0.
    fn str_eq(&mut self, a: PointerValue<'ctx>, la: u32, b: PointerValue<'ctx>, lb: u32) -> R<IntValue<'ctx>> {
        let slot = self.alloca_bytes(8, "streq")?;
        self.store_i64(slot, self.i64(0))?;
        let end = self.new_block("streq_end");
        let i8t = self.m.context.i8_type();
        let n = la.min(lb);
        for i in 0..n {
            let pa = self.offset(a, i)?;
            let pb = self.offset(b, i)?;
            let ca = self.b.build_load(i8t, pa, "ca").map_err(llvm_err)?.into_int_value();
            let cb = self.b.build_load(i8t, pb, "cb").map_err(llvm_err)?.into_int_value();
            let same = self.b.build_int_compare(IntPredicate::EQ, ca, cb, "same").map_err(llvm_err)?;
            let next = self.new_block("streq_next");
            self.b.build_conditional_branch(same, next, end).map_err(llvm_err)?;
            self.b.position_at_end(next);
            let nul = self.b.build_int_compare(IntPredicate::EQ, ca, i8t.const_zero(), "nul").map_err(llvm_err)?;
            let cont = self.new_block("streq_cont");
            let equal = self.new_block("streq_equal");
            self.b.build_conditional_branch(nul, equal, cont).map_err(llvm_err)?;
            self.b.position_at_end(equal);
            self.store_i64(slot, self.i64(1))?;
            self.b.build_unconditional_branch(end).map_err(llvm_err)?;
            self.b.position_at_end(cont);
        }
        // Every compared byte matched and none was NUL: equal only if the longer one ends here.
        let tail_equal = if la == lb {
            self.i64(1)
        } else {
            let (p, _) = if la > lb { (a, la) } else { (b, lb) };
            let pt = self.offset(p, n)?;
            let c = self.b.build_load(i8t, pt, "tail").map_err(llvm_err)?.into_int_value();
            let z = self.b.build_int_compare(IntPredicate::EQ, c, i8t.const_zero(), "tz").map_err(llvm_err)?;
            self.b.build_int_z_extend(z, self.m.context.i64_type(), "tz64").map_err(llvm_err)?
        };
        self.store_i64(slot, tail_equal)?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(end);
        self.load_i64(slot)
    }

    pub fn assign(&mut self, target: &Expr, op: Option<BinOp>, value: &Expr) -> R<()> {
        let tt = self.ty(target);
        match &target.kind {
            ExprKind::Var(name) => {
                let slot = *self.vars.get(name).ok_or_else(|| llvm_err("variable"))?;
                let v = self.expr(value)?;
                let v = match op {
                    Some(o) => {
                        let old = self.load_i64(slot)?;
                        let signed = tt.is_signed() && self.ty(value).is_signed();
                        let v = self.scale_for(&tt, self.as_int(v)?)?;
                        Val::Int(self.int_op(o, old, v, signed, &tt)?)
                    }
                    None => v,
                };
                let v = match v {
                    Val::Int(i) => Val::Int(self.fit(i, &tt)?),
                    other => other,
                };
                let from = if op.is_some() { tt.clone() } else { self.ty(value) };
                self.store_value(slot, &tt, v, &from)
            }
            ExprKind::Map { name, keys } => self.map_assign(name, keys, op, value),
            _ => Err("can only assign to variables and maps".into()),
        }
    }

    fn inc_dec(&mut self, target: &Expr, increment: bool, prefix: bool) -> R<Val<'ctx>> {
        let op = if increment { BinOp::Add } else { BinOp::Sub };
        match &target.kind {
            ExprKind::Var(name) => {
                let slot = *self.vars.get(name).ok_or_else(|| llvm_err("variable"))?;
                let tt = self.ty(target);
                let old = self.load_i64(slot)?;
                let step = self.u64c(pointee_step(&tt));
                let new = self.int_op(op, old, step, tt.is_signed(), &tt)?;
                let new = self.fit(new, &tt)?;
                self.store_i64(slot, new)?;
                Ok(Val::Int(if prefix { new } else { old }))
            }
            ExprKind::Map { name, keys } => {
                let step = pointee_step(&self.ty(target));
                let (old, new) = self.map_update_int(name, keys, |f, old| f.int_op(op, old, f.u64c(step), true, &Type::I64))?;
                Ok(Val::Int(if prefix { new } else { old }))
            }
            _ => Err("++/-- on this expression is not supported".into()),
        }
    }
}
