//! Function calls. `call` dispatches on the catalogue's function (`crate::catalogue`): core
//! functions (printf, exit, print), map functions (delete, clear, zero, len, has_key) and string
//! functions (str, strncmp, strcontains) here, the other groups in their files. Aggregates
//! (count, sum, hist, ...) appear only as map assignments (see maps.rs).

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{Expr, ExprKind, Func};
use crate::catalogue::{Core, Internal, Kernel, MapFn, Text};
use crate::types::Type;
use btc_bpfprog::{ActionKind, EVENT_HEADER_SIZE};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

pub(crate) const HDR: u32 = EVENT_HEADER_SIZE as u32;

impl<'ctx> FnCx<'_, 'ctx> {
    pub fn call(&mut self, e: &Expr, func: Option<Func>, args: &[Expr]) -> R<Val<'ctx>> {
        // The checker reported calls of unknown functions.
        let Some(func) = func else { return Err(llvm_err("call of an unknown function")) };
        match func {
            Func::Core(Core::Printf) if self.in_iterator() => self.seq_printf(args),
            Func::Core(Core::Printf) => self.printf(args),
            Func::Core(Core::Reg) => self.reg_call(args),
            Func::Core(Core::Exit) => {
                let buf = self.event_buffer(0, ActionKind::Exit, 0)?;
                self.emit_event(buf, HDR)?;
                // exit() ends the probe: nothing after it runs.
                self.ret()?;
                Ok(Val::Void)
            }
            Func::Core(Core::Print) => self.print(args),
            Func::Map(f) => self.map_call(f, args),
            Func::Text(Text::Str) => self.str_call(e, args),
            Func::Text(Text::Strncmp) => {
                let (a, la, b, lb) = self.two_strings(args)?;
                let (n, limit) = match args.get(2) {
                    Some(Expr { kind: ExprKind::Int(n), .. }) => (u32::try_from(*n).unwrap_or(u32::MAX), None),
                    // A length read when the object runs: compare what the buffers hold, up to it.
                    Some(l) if crate::sema::positional::is_param_read(l) => {
                        let v = self.expr(l)?;
                        (u32::MAX, Some(self.as_int(v)?))
                    }
                    _ => (0, None),
                };
                let r = self.strncmp(a, la, b, lb, n, limit)?;
                Ok(Val::Int(r))
            }
            Func::Text(Text::Strcontains) => {
                let (h, lh, n, ln) = self.two_strings(args)?;
                Ok(Val::Int(self.strcontains(h, lh, n, ln)?))
            }
            // The address space only changes how later reads are made.
            Func::Addr(_) => self.expr(args.first().ok_or_else(|| llvm_err("kptr"))?),
            Func::Kernel(Kernel::Nsecs) => self.nsecs_call(args),
            Func::Kernel(Kernel::Debugf) => self.debugf(args),
            Func::Runtime(f) => self.runtime_call(e, f, args),
            // sema::consteval replaced them with values or load-time slots.
            Func::Const(f) => Err(llvm_err(format!("{}() left unevaluated", Func::Const(f).name()))),
            Func::Skboutput => self.skboutput(e, args),
            Func::Bswap => self.bswap(args),
            Func::Internal(Internal::LoadValue) => self.load_value(args),
            Func::Internal(Internal::ParamInt) => self.param_int(args),
            Func::Internal(Internal::ParamStr) => self.param_str(e, args),
        }
    }

    /// Map functions called as statements or values; the aggregates appear only as map
    /// assignments (`maps.rs`).
    fn map_call(&mut self, f: MapFn, args: &[Expr]) -> R<Val<'ctx>> {
        match f {
            MapFn::Delete => {
                match args {
                    [Expr { kind: ExprKind::Map { name, keys }, .. }] => self.map_delete(name, keys)?,
                    [Expr { kind: ExprKind::Map { name, .. }, .. }, key] => {
                        self.map_delete(name, std::slice::from_ref(key))?
                    }
                    _ => return Err(llvm_err("delete")),
                }
                Ok(Val::Void)
            }
            MapFn::Clear | MapFn::Zero => {
                let Some(Expr { kind: ExprKind::Map { name: map, .. }, .. }) = args.first() else {
                    return Err(llvm_err("clear"));
                };
                let index = self.map_index(map)?;
                let kind = if f == MapFn::Clear { ActionKind::ClearMap } else { ActionKind::ZeroMap };
                let buf = self.event_buffer(0, kind, index)?;
                self.emit_event(buf, HDR)?;
                Ok(Val::Void)
            }
            MapFn::HasKey => {
                let [Expr { kind: ExprKind::Map { name, .. }, .. }, key] = args else {
                    return Err(llvm_err("has_key"));
                };
                self.map_has_key(name, key)
            }
            MapFn::Len => {
                let Some(Expr { kind: ExprKind::Map { name: map, .. }, .. }) = args.first() else {
                    return Err(llvm_err("len"));
                };
                self.map_len(map)
            }
            MapFn::Count | MapFn::Sum | MapFn::Min | MapFn::Max | MapFn::Avg | MapFn::Stats | MapFn::Hist | MapFn::Lhist => {
                Err(llvm_err("an aggregate outside a map assignment"))
            }
        }
    }

    /// A zeroed stack buffer with an event header, room for `payload` bytes after it.
    pub(crate) fn event_buffer(&mut self, payload: u32, kind: ActionKind, index: u32) -> R<PointerValue<'ctx>> {
        let buf = self.event_buffer_uninit(payload, kind, index)?;
        self.memset0(self.offset(buf, HDR)?, payload)?;
        Ok(buf)
    }

    /// As `event_buffer`, leaving the payload for the caller to write in full.
    pub(crate) fn event_buffer_uninit(&mut self, payload: u32, kind: ActionKind, index: u32) -> R<PointerValue<'ctx>> {
        let size = HDR + payload;
        let buf = self.alloca_bytes(size, "event")?;
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
        let layout = Type::args_layout(&tys);
        let index = self.m.format_index(fmt, layout.clone());
        let btc_bpfprog::Ty::Tuple { fields, size } = layout else { return Err(llvm_err("printf layout")) };
        // Every argument is written in full; padding and bytes after a string's NUL are never
        // read, so the buffer needs no zeroing.
        let buf = self.event_buffer_uninit(size, ActionKind::Printf, index)?;
        for ((a, t), f) in args[1..].iter().zip(&tys).zip(&fields) {
            let p = self.offset(buf, HDR + f.offset)?;
            self.expr_into(a, p, t)?;
        }
        self.emit_event(buf, HDR + size)?;
        Ok(Val::Void)
    }

    /// `print(@map[, top[, div]])` and `print(value)`.
    fn print(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(first) = args.first() else { return Err(llvm_err("print")) };
        if let ExprKind::Map { name: map, keys } = &first.kind {
            if keys.is_empty() {
                let index = self.map_index(map)?;
                let buf = self.event_buffer(16, ActionKind::PrintMap, index)?;
                for (i, a) in args[1..].iter().enumerate() {
                    let ExprKind::Int(v) = a.kind else { continue };
                    let p = self.offset(buf, HDR + 8 * i as u32)?;
                    self.store_i64(p, self.u64c(v))?;
                }
                self.emit_event(buf, HDR + 16)?;
                return Ok(Val::Void);
            }
        }
        let t = self.ty(first);
        let layout = t.layout();
        let index = self.m.value_index(layout.clone());
        let buf = self.event_buffer_uninit(layout.size(), ActionKind::PrintValue, index)?;
        let p = self.offset(buf, HDR)?;
        self.expr_into(first, p, &t)?;
        self.emit_event(buf, HDR + layout.size())?;
        Ok(Val::Void)
    }

    /// `str(ptr[, len])`: reads a NUL-terminated string from kernel or user memory.
    fn str_call(&mut self, e: &Expr, args: &[Expr]) -> R<Val<'ctx>> {
        let Some(src) = args.first() else { return Err(llvm_err("str")) };
        if let Type::Str { .. } = self.ty(src) {
            return self.expr(src);
        }
        let Type::Str { len } = self.ty(e) else { return Err(llvm_err("str type")) };
        let slot = self.alloca_bytes(len, "str")?;
        self.str_into(args, slot, len)?;
        Ok(Val::Mem(slot))
    }

    /// Reads the string `str(args...)` names into `dst`, at most `len` bytes with its NUL.
    pub(crate) fn str_into(&mut self, args: &[Expr], dst: PointerValue<'ctx>, len: u32) -> R<()> {
        let Some(src) = args.first() else { return Err(llvm_err("str")) };
        let st = self.ty(src);
        let v = self.expr(src)?;
        let ptr_int = self.as_int(v)?;
        let size = match args.get(1) {
            Some(l) => {
                // str(p, n) reads at most n characters (bpftrace 0.26: n bytes with the NUL);
                // bound the size so the verifier can prove the write stays in the buffer.
                let lv = self.expr(l)?;
                let mut lv = self.as_int(lv)?;
                if !self.m.compat.v026() {
                    lv = self.b.build_int_add(lv, self.u64c(1), "n1").map_err(llvm_err)?;
                }
                let max = self.u64c(u64::from(len));
                let small = self.b.build_int_compare(IntPredicate::ULT, lv, max, "lt").map_err(llvm_err)?;
                self.b.build_select(small, lv, max, "n").map_err(llvm_err)?.into_int_value()
            }
            None => self.u64c(u64::from(len)),
        };
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let p = self.b.build_int_to_ptr(ptr_int, ptr_ty, "src").map_err(llvm_err)?;
        // Integers (argN, retval, ...) in uprobes and USDT probes are user addresses.
        let id = if matches!(st, Type::Ptr { user: true, .. }) || (st.is_int() && self.user_space_probe()) {
            helper::PROBE_READ_USER_STR
        } else if self.no_address_space() {
            helper::PROBE_READ_STR
        } else {
            helper::PROBE_READ_KERNEL_STR
        };
        self.helper(id, &[dst.into(), size.into(), p.into()])?;
        Ok(())
    }

    fn two_strings(&mut self, args: &[Expr]) -> R<(PointerValue<'ctx>, u32, PointerValue<'ctx>, u32)> {
        let (Some(a), Some(b)) = (args.first(), args.get(1)) else { return Err(llvm_err("two strings")) };
        let (Type::Str { len: la }, Type::Str { len: lb }) = (self.ty(a), self.ty(b)) else {
            return Err(llvm_err("string arguments"));
        };
        let va = self.expr(a)?;
        let va = self.as_mem(va)?;
        let vb = self.expr(b)?;
        let vb = self.as_mem(vb)?;
        Ok((va, la, vb, lb))
    }

    /// 0 when the first `n` characters of the strings are equal (stopping at a NUL), else 1;
    /// `limit`: a length known when the program runs (a signed i64: none compared below 1).
    fn strncmp(
        &mut self,
        a: PointerValue<'ctx>,
        la: u32,
        b: PointerValue<'ctx>,
        lb: u32,
        n: u32,
        limit: Option<IntValue<'ctx>>,
    ) -> R<IntValue<'ctx>> {
        let slot = self.alloca_bytes(8, "strncmp")?;
        self.store_i64(slot, self.i64(1))?;
        let end = self.new_block("strncmp_end");
        let equal = self.new_block("strncmp_equal");
        let i8t = self.m.context.i8_type();
        for i in 0..n.min(la).min(lb) {
            if let Some(limit) = limit {
                let i64t = self.m.context.i64_type();
                let more = self
                    .b
                    .build_int_compare(IntPredicate::SLT, i64t.const_int(u64::from(i), false), limit, "more")
                    .map_err(llvm_err)?;
                let go = self.new_block("strncmp_go");
                self.b.build_conditional_branch(more, go, equal).map_err(llvm_err)?;
                self.b.position_at_end(go);
            }
            let ca = self.b.build_load(i8t, self.offset(a, i)?, "ca").map_err(llvm_err)?.into_int_value();
            let cb = self.b.build_load(i8t, self.offset(b, i)?, "cb").map_err(llvm_err)?.into_int_value();
            let same = self.b.build_int_compare(IntPredicate::EQ, ca, cb, "same").map_err(llvm_err)?;
            let next = self.new_block("strncmp_next");
            self.b.build_conditional_branch(same, next, end).map_err(llvm_err)?;
            self.b.position_at_end(next);
            let nul = self.b.build_int_compare(IntPredicate::EQ, ca, i8t.const_zero(), "nul").map_err(llvm_err)?;
            let cont = self.new_block("strncmp_cont");
            self.b.build_conditional_branch(nul, equal, cont).map_err(llvm_err)?;
            self.b.position_at_end(cont);
        }
        self.b.build_unconditional_branch(equal).map_err(llvm_err)?;
        self.b.position_at_end(equal);
        self.store_i64(slot, self.i64(0))?;
        self.b.build_unconditional_branch(end).map_err(llvm_err)?;
        self.b.position_at_end(end);
        self.load_i64(slot)
    }

    /// 1 when `needle` occurs in `hay`, else 0: for each start position, compare until the
    /// needle's NUL. Both loops are bounded by the buffer sizes, so the verifier accepts them.
    fn strcontains(&mut self, hay: PointerValue<'ctx>, lh: u32, needle: PointerValue<'ctx>, ln: u32) -> R<IntValue<'ctx>> {
        let i8t = self.m.context.i8_type();
        let result = self.alloca_bytes(8, "found")?;
        let i_slot = self.alloca_bytes(8, "i")?;
        let j_slot = self.alloca_bytes(8, "j")?;
        self.store_i64(result, self.i64(0))?;
        self.store_i64(i_slot, self.i64(0))?;
        let outer = self.new_block("sc_outer");
        let outer_body = self.new_block("sc_outer_body");
        let inner = self.new_block("sc_inner");
        let inner_body = self.new_block("sc_inner_body");
        let inner_cmp = self.new_block("sc_inner_cmp");
        let inner_next = self.new_block("sc_inner_next");
        let outer_next = self.new_block("sc_outer_next");
        let found = self.new_block("sc_found");
        let done = self.new_block("sc_done");
        self.b.build_unconditional_branch(outer).map_err(llvm_err)?;

        // for (i = 0; i < lh; i++)
        self.b.position_at_end(outer);
        let i = self.load_i64(i_slot)?;
        let more = self.b.build_int_compare(IntPredicate::ULT, i, self.u64c(u64::from(lh)), "imore").map_err(llvm_err)?;
        self.b.build_conditional_branch(more, outer_body, done).map_err(llvm_err)?;
        self.b.position_at_end(outer_body);
        self.store_i64(j_slot, self.i64(0))?;
        self.b.build_unconditional_branch(inner).map_err(llvm_err)?;

        // for (j = 0; j < ln; j++): needle[j] == 0 → found; i + j >= lh or hay[i+j] != needle[j] → next i
        self.b.position_at_end(inner);
        let j = self.load_i64(j_slot)?;
        let jmore = self.b.build_int_compare(IntPredicate::ULT, j, self.u64c(u64::from(ln)), "jmore").map_err(llvm_err)?;
        self.b.build_conditional_branch(jmore, inner_body, found).map_err(llvm_err)?;
        self.b.position_at_end(inner_body);
        let np = unsafe { self.b.build_gep(i8t, needle, &[j], "np") }.map_err(llvm_err)?;
        let nc = self.b.build_load(i8t, np, "nc").map_err(llvm_err)?.into_int_value();
        let nul = self.b.build_int_compare(IntPredicate::EQ, nc, i8t.const_zero(), "nnul").map_err(llvm_err)?;
        self.b.build_conditional_branch(nul, found, inner_cmp).map_err(llvm_err)?;
        self.b.position_at_end(inner_cmp);
        let i = self.load_i64(i_slot)?;
        let ij = self.b.build_int_add(i, j, "ij").map_err(llvm_err)?;
        let inside = self.b.build_int_compare(IntPredicate::ULT, ij, self.u64c(u64::from(lh)), "in").map_err(llvm_err)?;
        let cmp_bb = self.new_block("sc_cmp_char");
        self.b.build_conditional_branch(inside, cmp_bb, outer_next).map_err(llvm_err)?;
        self.b.position_at_end(cmp_bb);
        let hp = unsafe { self.b.build_gep(i8t, hay, &[ij], "hp") }.map_err(llvm_err)?;
        let hc = self.b.build_load(i8t, hp, "hc").map_err(llvm_err)?.into_int_value();
        let same = self.b.build_int_compare(IntPredicate::EQ, hc, nc, "same").map_err(llvm_err)?;
        self.b.build_conditional_branch(same, inner_next, outer_next).map_err(llvm_err)?;
        self.b.position_at_end(inner_next);
        let j1 = self.b.build_int_add(j, self.u64c(1), "j1").map_err(llvm_err)?;
        self.store_i64(j_slot, j1)?;
        self.b.build_unconditional_branch(inner).map_err(llvm_err)?;

        self.b.position_at_end(outer_next);
        let i = self.load_i64(i_slot)?;
        let i1 = self.b.build_int_add(i, self.u64c(1), "i1").map_err(llvm_err)?;
        self.store_i64(i_slot, i1)?;
        self.b.build_unconditional_branch(outer).map_err(llvm_err)?;

        self.b.position_at_end(found);
        self.store_i64(result, self.i64(1))?;
        self.b.build_unconditional_branch(done).map_err(llvm_err)?;
        self.b.position_at_end(done);
        self.load_i64(result)
    }
}
