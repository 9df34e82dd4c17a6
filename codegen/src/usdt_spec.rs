//! The arguments of a USDT probe resolved when the object runs: the program doesn't know its
//! sites' argument locations, so it reads them from the spec table the runtime fills
//! ([`btc_bpfprog::usdt::USDT_SPECS_MAP`]), by the BPF cookie each site is attached with, as
//! libbpf's `usdt.bpf.h` does. The code is straight-line: every way of finding the value is
//! computed and the spec's kind selects one (a failed read leaves 0).

use super::calls_runtime::helper;
use super::func::{llvm_err, FnCx, R};
use btc_bpfprog::usdt::{usdt_arg_field as field, UsdtArgKind, USDT_ARG_SIZE};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;

/// bpf_get_attach_cookie.
const GET_ATTACH_COOKIE: u64 = 174;

impl<'ctx> FnCx<'_, 'ctx> {
    /// The BPF cookie of the attachment that fired (its site's index, given by the runtime).
    pub(crate) fn attach_cookie(&self) -> R<IntValue<'ctx>> {
        self.helper(GET_ATTACH_COOKIE, &[self.ctx_arg.into()])
    }

    /// Argument `n` of the site that fired, as a u64 (sign-extended when the spec says so).
    pub(crate) fn usdt_arg_at_run_time(&mut self, n: u32) -> R<IntValue<'ctx>> {
        let map = self.m.rt.usdt_specs.ok_or_else(|| llvm_err("no USDT spec table"))?.as_pointer_value();
        let cookie = self.attach_cookie()?;
        let key = self.alloca_bytes(4, "usdt_key")?;
        let i32t = self.m.context.i32_type();
        let k = self.b.build_int_truncate(cookie, i32t, "cookie").map_err(llvm_err)?;
        self.b.build_store(key, k).map_err(llvm_err)?;
        let found = self.helper(helper::MAP_LOOKUP_ELEM, &[map.into(), key.into()])?;
        let out = self.alloca_bytes(8, "usdt_arg")?;
        self.store_i64(out, self.i64(0))?;
        let some = self.new_block("usdt_spec");
        let join = self.new_block("usdt_join");
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let spec = self.b.build_int_to_ptr(found, ptr_ty, "spec").map_err(llvm_err)?;
        let is_null = self.b.build_is_null(spec, "no_spec").map_err(llvm_err)?;
        self.b.build_conditional_branch(is_null, join, some).map_err(llvm_err)?;
        self.b.position_at_end(some);
        let v = self.usdt_arg_from_spec(spec, n * USDT_ARG_SIZE as u32)?;
        self.store_i64(out, v)?;
        self.b.build_unconditional_branch(join).map_err(llvm_err)?;
        self.b.position_at_end(join);
        self.load_i64(out)
    }

    /// An unsigned field of `bits` bits at `offset` in the spec entry, as a u64.
    fn spec_field(&self, spec: PointerValue<'ctx>, offset: u32, bits: u32) -> R<IntValue<'ctx>> {
        let i8t = self.m.context.i8_type();
        // SAFETY (of the GEP): offset is within the entry of USDT_SPEC_SIZE bytes.
        let p = unsafe { self.b.build_gep(i8t, spec, &[self.m.context.i32_type().const_int(u64::from(offset), false)], "fld") }
            .map_err(llvm_err)?;
        let ty = self.int_type(bits);
        let v = self.b.build_load(ty, p, "fv").map_err(llvm_err)?.into_int_value();
        self.b.build_int_z_extend_or_bit_cast(v, self.m.context.i64_type(), "fz").map_err(llvm_err)
    }

    /// Reads 8 bytes at `addr` with `helper_id` (0 when the read fails).
    fn read8(&mut self, helper_id: u64, addr: IntValue<'ctx>, name: &str) -> R<IntValue<'ctx>> {
        let slot = self.alloca_bytes(8, name)?;
        self.store_i64(slot, self.i64(0))?;
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        let p = self.b.build_int_to_ptr(addr, ptr_ty, "src").map_err(llvm_err)?;
        self.helper(helper_id, &[slot.into(), self.u64c(8).into(), p.into()])?;
        self.load_i64(slot)
    }

    fn usdt_arg_from_spec(&mut self, spec: PointerValue<'ctx>, at: u32) -> R<IntValue<'ctx>> {
        let b = &self.b;
        let value = {
            let i8t = self.m.context.i8_type();
            // SAFETY (of the GEP): within the entry.
            let p = unsafe { b.build_gep(i8t, spec, &[self.m.context.i32_type().const_int(u64::from(at + field::VALUE), false)], "val") }
                .map_err(llvm_err)?;
            self.load_i64(p)?
        };
        let base = self.spec_field(spec, at + field::BASE, 16)?;
        let index = self.spec_field(spec, at + field::INDEX, 16)?;
        let kind = self.spec_field(spec, at + field::KIND, 8)?;
        let size = self.spec_field(spec, at + field::SIZE, 8)?;
        let signed = self.spec_field(spec, at + field::SIGNED, 8)?;
        let shift_or_scale = self.spec_field(spec, at + field::SHIFT_OR_SCALE, 8)?;
        // Registers are read from pt_regs by offset: a variable offset into the context can't
        // be loaded directly, so through probe_read_kernel (as libbpf does).
        let i64t = self.m.context.i64_type();
        let ctx = self.b.build_ptr_to_int(self.ctx_arg, i64t, "ctx").map_err(llvm_err)?;
        let base_addr = self.b.build_int_add(ctx, base, "breg").map_err(llvm_err)?;
        let reg = self.read8(helper::PROBE_READ_KERNEL, base_addr, "usdt_reg")?;
        let index_addr = self.b.build_int_add(ctx, index, "ireg").map_err(llvm_err)?;
        let idx = self.read8(helper::PROBE_READ_KERNEL, index_addr, "usdt_idx")?;
        // Reg: the register, shifted (high-byte registers).
        let shift = self.b.build_and(shift_or_scale, self.u64c(63), "sh").map_err(llvm_err)?;
        let in_reg = self.b.build_right_shift(reg, shift, false, "inreg").map_err(llvm_err)?;
        // Mem: base + index * scale + displacement, in the process's memory (scale 0: no index).
        let scaled = self.b.build_int_mul(idx, shift_or_scale, "scaled").map_err(llvm_err)?;
        let addr = self.b.build_int_add(reg, scaled, "a1").map_err(llvm_err)?;
        let addr = self.b.build_int_add(addr, value, "a2").map_err(llvm_err)?;
        let in_mem = self.read8(helper::PROBE_READ_USER, addr, "usdt_mem")?;
        let is = |k: UsdtArgKind, this: &Self| {
            this.b.build_int_compare(IntPredicate::EQ, kind, this.u64c(k as u64), "is").map_err(llvm_err)
        };
        let raw = self.i64(0);
        let c = is(UsdtArgKind::Mem, self)?;
        let raw = self.b.build_select(c, in_mem, raw, "r3").map_err(llvm_err)?.into_int_value();
        let c = is(UsdtArgKind::Reg, self)?;
        let raw = self.b.build_select(c, in_reg, raw, "r2").map_err(llvm_err)?.into_int_value();
        let c = is(UsdtArgKind::Const, self)?;
        let raw = self.b.build_select(c, value, raw, "r1").map_err(llvm_err)?.into_int_value();
        // Keep `size` bytes, sign-extended or not: (raw << bits) >> bits, bits = 64 - 8 * size
        // (size 8, or a bad size, shifts by 0).
        let bits = self.b.build_int_mul(size, self.u64c(8), "sz8").map_err(llvm_err)?;
        let bits = self.b.build_int_sub(self.u64c(64), bits, "bits").map_err(llvm_err)?;
        let bits = self.b.build_and(bits, self.u64c(63), "bits63").map_err(llvm_err)?;
        let up = self.b.build_left_shift(raw, bits, "up").map_err(llvm_err)?;
        let sext = self.b.build_right_shift(up, bits, true, "sext").map_err(llvm_err)?;
        let zext = self.b.build_right_shift(up, bits, false, "zext").map_err(llvm_err)?;
        let is_signed = self.b.build_int_compare(IntPredicate::NE, signed, self.u64c(0), "signed").map_err(llvm_err)?;
        Ok(self.b.build_select(is_signed, sext, zext, "arg").map_err(llvm_err)?.into_int_value())
    }
}
