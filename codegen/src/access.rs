//! Memory access: fields of `args`, tuples and C structs, array and pointer indexing, `*p`,
//! `&x`, casts and pointer arithmetic. Reads of kernel or user memory go through
//! bpf_probe_read_kernel / bpf_probe_read_user by the pointer's address space; field offsets of
//! kernel (BTF) structs are CO-RE relocations (see `core.rs`).

use super::expr::helper;
use super::func::{llvm_err, FnCx, Val, R};
use crate::ast::{BinOp, Expr, ExprKind, UnaryOp};
use crate::types::{Bitfield, Origin, Record, RecordField, StructRef, Type};
use inkwell::values::{IntValue, PointerValue};
use std::rc::Rc;

/// Whether `e` is the context pointer: `ctx`, or `ctx` cast to a pointer type.
fn is_ctx(cx: &FnCx<'_, '_>, e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Builtin(b) => b == "ctx",
        ExprKind::Cast { expr, .. } => cx.ty(e).is_ptr() && is_ctx(cx, expr),
        _ => false,
    }
}

/// How far `p + 1` is from `p` for a value of type `ty`, in bytes: the size of the pointee of
/// a pointer (1 for `void *`, as GNU C has it), 1 for an integer.
pub(crate) fn pointee_step(ty: &Type) -> u64 {
    match ty {
        Type::Ptr { pointee, .. } => u64::from(pointee.c_size().max(1)),
        _ => 1,
    }
}

/// Where a value lives.
#[derive(Clone, Copy)]
pub(crate) enum Place<'ctx> {
    /// Kernel or user memory, read with a probe-read helper. `core_root` is the pointer a chain
    /// of CO-RE accesses started from (bitfield offsets are relocated relative to it).
    Probed { ptr: PointerValue<'ctx>, user: bool, core_root: Option<PointerValue<'ctx>> },
    /// A bitfield of a kernel struct reached by a CO-RE access: `access` is the relocatable access
    /// to the member, `root` the pointer its chain started from.
    CoreBitfield { access: PointerValue<'ctx>, root: PointerValue<'ctx> },
    /// Memory the program may load from directly: its stack, or the context at a constant offset.
    Direct(PointerValue<'ctx>),
}

impl<'ctx> FnCx<'_, 'ctx> {
    pub(crate) fn field(&mut self, e: &Expr, expr: &Expr, field: &str) -> R<Val<'ctx>> {
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
                let elem = elems.get(i).ok_or_else(|| llvm_err("tuple index"))?;
                let p = self.offset(base, off)?;
                // Structs and arrays may sit at any byte of a tuple (bpftrace's layout); the
                // verifier refuses misaligned stack loads, so their fields are read from an
                // aligned copy.
                let align = if let Type::Tuple(_) = elem { elem.layout().align() } else { elem.c_align() };
                if !elem.is_scalar() && off % align.max(1) != 0 {
                    let size = elem.layout().size();
                    let copy = self.alloca_bytes(size, "member")?;
                    self.memcpy(copy, p, size)?;
                    return Ok(Val::Mem(copy));
                }
                self.load_member(p, elem)
            }
            _ => {
                let (place, f) = self.place_of(e)?.ok_or_else(|| llvm_err("field place"))?;
                self.read(place, &self.ty(e), f.and_then(|f| f.bitfield))
            }
        }
    }

    pub(crate) fn index(&mut self, e: &Expr, expr: &Expr, index: &Expr) -> R<Val<'ctx>> {
        // Arrays of tracepoint args at constant indices are loaded from the context
        // (`args.a[i]` and `args->a[i]`).
        if let (ExprKind::Field { expr: base, field, .. } | ExprKind::Arrow { expr: base, field, .. }, ExprKind::Int(i)) =
            (&expr.kind, &index.kind)
        {
            if let Type::Record(r) = self.ty(base) {
                let f = r.field(field).ok_or_else(|| llvm_err("field"))?.clone();
                if let Type::Array { elem, .. } = &f.ty {
                    let off = f.offset + elem.c_size() * u32::try_from(*i).unwrap_or(0);
                    return self.ctx_int(off, elem);
                }
            }
        }
        let (place, _) = self.place_of(e)?.ok_or_else(|| llvm_err("index place"))?;
        self.read(place, &self.ty(e), None)
    }

    /// `*p`
    pub(crate) fn deref(&mut self, e: &Expr) -> R<Val<'ctx>> {
        let (place, _) = self.place_of(e)?.ok_or_else(|| llvm_err("deref place"))?;
        self.read(place, &self.ty(e), None)
    }

    /// `&x`: the address of a field, element or dereference.
    pub(crate) fn addr_of(&mut self, inner: &Expr) -> R<Val<'ctx>> {
        let (place, _) = self.place_of(inner)?.ok_or("'&' of a value that is not in memory")?;
        let ptr = match place {
            Place::Probed { ptr, .. } | Place::Direct(ptr) => ptr,
            Place::CoreBitfield { .. } => return Err("can't take the address of a bitfield".into()),
        };
        let i64t = self.m.context.i64_type();
        Ok(Val::Int(self.b.build_ptr_to_int(ptr, i64t, "addr").map_err(llvm_err)?))
    }

    pub(crate) fn cast(&mut self, e: &Expr, expr: &Expr) -> R<Val<'ctx>> {
        let (to, from) = (self.ty(e), self.ty(expr));
        let v = self.expr(expr)?;
        match (&to, &from, v) {
            // An integer as an array of smaller integers: its little-endian bytes.
            (Type::Array { .. }, Type::Int { bits, .. }, Val::Int(i)) => {
                let slot = self.alloca_bytes(8, "int_as_array")?;
                let t = self.int_type(u32::from(*bits));
                let narrow = self.b.build_int_truncate_or_bit_cast(i, t, "narrow").map_err(llvm_err)?;
                self.b.build_store(slot, narrow).map_err(llvm_err)?;
                Ok(Val::Mem(slot))
            }
            // An array as an integer of the same size.
            (Type::Int { bits, signed }, Type::Array { .. }, Val::Mem(p)) => {
                let t = self.int_type(u32::from(*bits));
                let raw = self.b.build_load(t, p, "array_as_int").map_err(llvm_err)?.into_int_value();
                let i64t = self.m.context.i64_type();
                let v = if *bits >= 64 {
                    raw
                } else if *signed {
                    self.b.build_int_s_extend(raw, i64t, "sx").map_err(llvm_err)?
                } else {
                    self.b.build_int_z_extend(raw, i64t, "zx").map_err(llvm_err)?
                };
                Ok(Val::Int(v))
            }
            (_, _, v) => {
                let v = self.as_int(v)?;
                Ok(Val::Int(self.fit(v, &to)?))
            }
        }
    }

    /// Whether `e` is a field of an iterator's context (`ctx->task`, `ctx->file`): a kernel
    /// pointer the verifier knows may be NULL (the last call of an iterator passes NULL).
    fn is_iter_ctx_field(&self, e: &Expr) -> bool {
        matches!(self.inst.probe.kind, btc_bpfprog::ProbeKind::Iter { .. })
            && matches!(&e.kind, ExprKind::Arrow { expr, .. } | ExprKind::Field { expr, .. } if matches!(&expr.kind, ExprKind::Builtin(b) if b == "ctx"))
    }

    /// Ends the program for this element when `ptr` is NULL, so the verifier lets later code do
    /// arithmetic on it.
    fn skip_if_null(&mut self, ptr: PointerValue<'ctx>) -> R<()> {
        let is_null = self.b.build_is_null(ptr, "ctx_null").map_err(llvm_err)?;
        let skip = self.new_block("ctx_null");
        let go = self.new_block("ctx_ok");
        self.b.build_conditional_branch(is_null, skip, go).map_err(llvm_err)?;
        self.b.position_at_end(skip);
        self.build_ret_zero()?;
        self.b.position_at_end(go);
        Ok(())
    }

    /// Where the value of an access expression lives, and the struct field it is (for
    /// bitfields), or None when `e` is not an access into memory.
    pub(crate) fn place_of(&mut self, e: &Expr) -> R<Option<(Place<'ctx>, Option<RecordField>)>> {
        match &e.kind {
            ExprKind::Unary { op: UnaryOp::Deref, expr } if is_ctx(self, expr) => Ok(Some((Place::Direct(self.ctx_arg), None))),
            ExprKind::Unary { op: UnaryOp::Deref, expr } => {
                let user = matches!(self.ty(expr), Type::Ptr { user: true, .. });
                let ptr = self.pointer_value(expr)?;
                Ok(Some((Place::Probed { ptr, user, core_root: None }, None)))
            }
            // `p->f`, and `p.f` through a pointer (bpftrace 0.26's implicit dereference).
            ExprKind::Arrow { expr, field, .. } | ExprKind::Field { expr, field, .. } if self.ty(expr).is_ptr() => {
                let Type::Ptr { pointee, user } = self.ty(expr) else { return Ok(None) };
                let Type::Struct(s) = &*pointee else { return Ok(None) };
                // The context is loaded directly, as the verifier requires (through casts of
                // `ctx` to other struct pointers too). An iterator's pointer fields (ctx->task,
                // ctx->file) are then trusted kernel pointers, which helpers such as
                // bpf_d_path require.
                if is_ctx(self, expr) {
                    return self.member(Place::Direct(self.ctx_arg), s, field).map(Some);
                }
                let ptr = self.pointer_value(expr)?;
                if self.is_iter_ctx_field(expr) {
                    self.skip_if_null(ptr)?;
                }
                self.member(Place::Probed { ptr, user, core_root: None }, s, field).map(Some)
            }
            ExprKind::Arrow { .. } => Ok(None),
            ExprKind::Field { expr, field, .. } => {
                let Type::Struct(s) = self.ty(expr) else { return Ok(None) };
                let base = self.value_place(expr)?;
                self.member(base, &s, field).map(Some)
            }
            ExprKind::Index { expr, index } => {
                let elem = self.ty(e);
                let esz = u64::from(elem.c_size());
                let base = match self.ty(expr) {
                    Type::Ptr { .. } if is_ctx(self, expr) => Place::Direct(self.ctx_arg),
                    Type::Ptr { user, .. } => Place::Probed { ptr: self.pointer_value(expr)?, user, core_root: None },
                    Type::Array { .. } => self.value_place(expr)?,
                    _ => return Ok(None),
                };
                let place = match (&index.kind, base) {
                    (ExprKind::Int(i), base) => self.advance(base, self.u64c(i.saturating_mul(esz)))?,
                    (_, base) => {
                        let i = self.expr(index)?;
                        let i = self.as_int(i)?;
                        let off = self.b.build_int_mul(i, self.u64c(esz), "idx").map_err(llvm_err)?;
                        // A variable offset can't be loaded directly (the verifier wants
                        // constant context offsets): read it like any other memory.
                        let base = match base {
                            Place::Direct(ptr) => Place::Probed { ptr, user: false, core_root: None },
                            probed => probed,
                        };
                        self.advance(base, off)?
                    }
                };
                Ok(Some((place, None)))
            }
            _ => Ok(None),
        }
    }

    /// The place of a struct or array valued expression: in memory when it is an access,
    /// otherwise its value on the stack.
    fn value_place(&mut self, e: &Expr) -> R<Place<'ctx>> {
        if let Some((p, _)) = self.place_of(e)? {
            return Ok(p);
        }
        if let (ExprKind::Field { field, .. }, Type::Record(r)) = (&e.kind, self.ty_of_base(e)) {
            // An array field of tracepoint `args`: in the context.
            let f = r.field(field).ok_or_else(|| llvm_err("args field"))?;
            return Ok(Place::Direct(self.offset(self.ctx_arg, f.offset)?));
        }
        let v = self.expr(e)?;
        Ok(Place::Direct(self.as_mem(v)?))
    }

    fn ty_of_base(&self, e: &Expr) -> Type {
        match &e.kind {
            ExprKind::Field { expr, .. } => self.ty(expr),
            _ => Type::Void,
        }
    }

    /// A pointer-typed (or integer) expression as an LLVM pointer.
    fn pointer_value(&mut self, e: &Expr) -> R<PointerValue<'ctx>> {
        let v = self.expr(e)?;
        let v = self.as_int(v)?;
        let ptr_ty = self.m.context.ptr_type(inkwell::AddressSpace::default());
        self.b.build_int_to_ptr(v, ptr_ty, "p").map_err(llvm_err)
    }

    fn advance(&self, place: Place<'ctx>, by: IntValue<'ctx>) -> R<Place<'ctx>> {
        let i8t = self.m.context.i8_type();
        let step = |p: PointerValue<'ctx>| unsafe { self.b.build_gep(i8t, p, &[by], "elem") }.map_err(llvm_err);
        // A plain offset ends any chain of CO-RE accesses: the next one starts from here.
        Ok(match place {
            Place::Probed { ptr, user, .. } => Place::Probed { ptr: step(ptr)?, user, core_root: None },
            Place::Direct(ptr) => Place::Direct(step(ptr)?),
            Place::CoreBitfield { .. } => return Err(llvm_err("offset from a bitfield")),
        })
    }

    /// The place of field `name` of struct `s` at `base`, through anonymous members.
    fn member(&mut self, base: Place<'ctx>, s: &Rc<StructRef>, name: &str) -> R<(Place<'ctx>, Option<RecordField>)> {
        let record = s.record().cloned().ok_or_else(|| llvm_err(format!("{} not resolved", s.display_name())))?;
        let path = record.field_path(name).ok_or_else(|| llvm_err(format!("no field {name}")))?;
        let mut place = base;
        let mut cur_s = s.clone();
        let mut cur: Rc<Record> = record;
        for (step, &i) in path.iter().enumerate() {
            let f = cur.fields.get(i).cloned().ok_or_else(|| llvm_err("field index"))?;
            place = self.step(place, &cur_s, &cur, i, &f)?;
            if step + 1 == path.len() {
                return Ok((place, Some(f)));
            }
            let Type::Struct(inner) = &f.ty else { return Err(llvm_err("anonymous member")) };
            cur = inner.record().cloned().ok_or_else(|| llvm_err("anonymous member record"))?;
            cur_s = inner.clone();
        }
        Err(llvm_err("empty field path"))
    }

    /// One step from a struct to its field `i`: a CO-RE relocatable access for kernel structs
    /// read from kernel memory, a constant offset otherwise.
    fn step(&mut self, base: Place<'ctx>, s: &Rc<StructRef>, r: &Record, i: usize, f: &RecordField) -> R<Place<'ctx>> {
        match base {
            Place::Probed { ptr, user: false, core_root } if matches!(s.origin, Origin::Btf { .. }) => {
                let p = self.core_access(ptr, s, r, i)?;
                let root = core_root.unwrap_or(ptr);
                if f.bitfield.is_some() {
                    return Ok(Place::CoreBitfield { access: p, root });
                }
                Ok(Place::Probed { ptr: p, user: false, core_root: Some(root) })
            }
            base => self.advance(base, self.u64c(u64::from(f.offset))),
        }
    }

    /// Reads a value of type `ty` at `place`.
    pub(crate) fn read(&mut self, place: Place<'ctx>, ty: &Type, bitfield: Option<Bitfield>) -> R<Val<'ctx>> {
        if let Place::CoreBitfield { access, root } = place {
            return self.read_core_bitfield(access, root, ty);
        }
        if let Some(bf) = bitfield {
            return self.read_bitfield(place, ty, bf);
        }
        match ty {
            Type::Int { .. } | Type::Ptr { .. } => {
                let size = ty.c_size().min(8);
                let p = match place {
                    Place::Direct(p) => p,
                    Place::CoreBitfield { .. } => return Err(llvm_err("bitfield read as a plain integer")),
                    Place::Probed { ptr, user, .. } => {
                        let tmp = self.alloca_bytes(8, "rd")?;
                        self.store_i64(tmp, self.i64(0))?;
                        self.probe_read(tmp, self.u64c(u64::from(size)), ptr, user)?;
                        tmp
                    }
                };
                let it = self.int_type(size * 8);
                let v = self.b.build_load(it, p, "ld").map_err(llvm_err)?.into_int_value();
                let i64t = self.m.context.i64_type();
                let v = if size == 8 {
                    v
                } else if ty.is_signed() {
                    self.b.build_int_s_extend(v, i64t, "sx").map_err(llvm_err)?
                } else {
                    self.b.build_int_z_extend(v, i64t, "zx").map_err(llvm_err)?
                };
                Ok(Val::Int(v))
            }
            _ => {
                // Strings, arrays and structs by value: copied whole onto the stack.
                let size = ty.layout().size().max(ty.c_size());
                if size > 512 {
                    return Err(format!("{ty} is {size} bytes: too large to copy onto the BPF stack (512 bytes)"));
                }
                let slot = self.alloca_bytes(size, "rdv")?;
                self.memset0(slot, size)?;
                let n = ty.c_size();
                match place {
                    Place::Direct(p) => self.memcpy(slot, p, n)?,
                    Place::Probed { ptr, user, .. } => self.probe_read(slot, self.u64c(u64::from(n)), ptr, user)?,
                    Place::CoreBitfield { .. } => return Err(llvm_err("bitfield read as a value")),
                }
                Ok(Val::Mem(slot))
            }
        }
    }

    fn read_bitfield(&mut self, place: Place<'ctx>, ty: &Type, bf: Bitfield) -> R<Val<'ctx>> {
        let bytes = (u32::from(bf.shift) + u32::from(bf.bits)).div_ceil(8).min(8);
        let tmp = self.alloca_bytes(8, "bf")?;
        self.store_i64(tmp, self.i64(0))?;
        match place {
            Place::Direct(p) => self.memcpy(tmp, p, bytes)?,
            Place::Probed { ptr, user, .. } => self.probe_read(tmp, self.u64c(u64::from(bytes)), ptr, user)?,
            Place::CoreBitfield { .. } => return Err(llvm_err("CO-RE bitfield")),
        }
        let v = self.load_i64(tmp)?;
        // Move the field to the top bits, then back down with or without the sign.
        let up = 64 - u64::from(bf.shift) - u64::from(bf.bits);
        let v = self.b.build_left_shift(v, self.u64c(up), "bfl").map_err(llvm_err)?;
        let down = self.u64c(64 - u64::from(bf.bits));
        let v = self.b.build_right_shift(v, down, ty.is_signed(), "bfr").map_err(llvm_err)?;
        Ok(Val::Int(v))
    }

    /// A bitfield of a kernel struct, as libbpf's BPF_CORE_READ_BITFIELD_PROBED reads it: where
    /// its bytes are, how many, and the shifts that extract it are all CO-RE relocations.
    fn read_core_bitfield(&mut self, access: PointerValue<'ctx>, root: PointerValue<'ctx>, ty: &Type) -> R<Val<'ctx>> {
        const BYTE_OFFSET: u64 = 0;
        const BYTE_SIZE: u64 = 1;
        const LSHIFT_U64: u64 = 4;
        const RSHIFT_U64: u64 = 5;
        let off = self.core_field_info(access, BYTE_OFFSET)?;
        let size = self.core_field_info(access, BYTE_SIZE)?;
        let lshift = self.core_field_info(access, LSHIFT_U64)?;
        let rshift = self.core_field_info(access, RSHIFT_U64)?;
        let i8t = self.m.context.i8_type();
        let src = unsafe { self.b.build_gep(i8t, root, &[off], "bf_src") }.map_err(llvm_err)?;
        let tmp = self.alloca_bytes(8, "bf")?;
        self.store_i64(tmp, self.i64(0))?;
        // The size is at most 8 (libbpf refuses wider bitfields); the mask lets the verifier
        // see that before relocation.
        let size = self.b.build_and(size, self.u64c(15), "bf_size").map_err(llvm_err)?;
        self.probe_read(tmp, size, src, false)?;
        let v = self.load_i64(tmp)?;
        let v = self.b.build_left_shift(v, lshift, "bfl").map_err(llvm_err)?;
        let v = self.b.build_right_shift(v, rshift, ty.is_signed(), "bfr").map_err(llvm_err)?;
        Ok(Val::Int(v))
    }

    /// bpf_probe_read_{kernel,user}(dst, size, src); bpf_probe_read for a non-user pointer in
    /// a probe without an address space (as bpftrace 0.20 reads it).
    pub(crate) fn probe_read(&mut self, dst: PointerValue<'ctx>, size: IntValue<'ctx>, src: PointerValue<'ctx>, user: bool) -> R<()> {
        let id = match (user, self.no_address_space()) {
            (true, _) => helper::PROBE_READ_USER,
            (false, true) => helper::PROBE_READ,
            (false, false) => helper::PROBE_READ_KERNEL,
        };
        self.helper(id, &[dst.into(), size.into(), src.into()])?;
        Ok(())
    }

    /// `p + n`, `p - n` (scaled by the pointee's size) and `p - q` (in elements).
    /// `n` scaled to move a value of type `ty` by n pointees when `ty` is a pointer.
    pub(crate) fn scale_for(&self, ty: &Type, n: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        match pointee_step(ty) {
            1 => Ok(n),
            step => self.b.build_int_mul(n, self.u64c(step), "scaled").map_err(llvm_err),
        }
    }

    pub(crate) fn pointer_binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Option<Val<'ctx>>> {
        let (lt, rt) = (self.ty(lhs), self.ty(rhs));
        let scale = pointee_step;
        if !matches!(op, BinOp::Add | BinOp::Sub) || !(lt.is_ptr() || rt.is_ptr()) {
            return Ok(None);
        }
        let a = self.expr(lhs)?;
        let a = self.as_int(a)?;
        let b = self.expr(rhs)?;
        let b = self.as_int(b)?;
        let bl = &self.b;
        let v = match (lt.is_ptr(), rt.is_ptr()) {
            (true, true) => {
                let d = bl.build_int_sub(a, b, "pdiff").map_err(llvm_err)?;
                // BPF has no signed division: div_mod divides magnitudes.
                self.div_mod(BinOp::Div, d, self.u64c(scale(&lt)), true)?
            }
            (true, false) => {
                let n = bl.build_int_mul(b, self.u64c(scale(&lt)), "scaled").map_err(llvm_err)?;
                if op == BinOp::Add { bl.build_int_add(a, n, "padd") } else { bl.build_int_sub(a, n, "psub") }
                    .map_err(llvm_err)?
            }
            _ => {
                let n = bl.build_int_mul(a, self.u64c(scale(&rt)), "scaled").map_err(llvm_err)?;
                bl.build_int_add(n, b, "padd").map_err(llvm_err)?
            }
        };
        Ok(Some(Val::Int(v)))
    }

    /// Reads a field of the probe's context record (tracepoint `args`).
    pub(crate) fn ctx_field(&mut self, f: &RecordField) -> R<Val<'ctx>> {
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
            t @ (Type::Int { .. } | Type::Ptr { .. }) => match self.core_ctx_field(f)? {
                Some(p) => self.load_int_at(p, t),
                None => self.ctx_int(f.offset, t),
            },
            other => {
                let p = self.offset(self.ctx_arg, f.offset)?;
                self.read(Place::Direct(p), other, None)
            }
        }
    }

    /// Loads an integer of type `ty` at `offset` in the context.
    /// The CO-RE relocatable address of tracepoint field `f` in the context, when the kernel's
    /// BTF has the tracepoint's struct (`types::tracepoint::core_field`). LLVM folds the
    /// relocation into the load's offset, so the verifier sees `ctx + constant`.
    fn core_ctx_field(&mut self, f: &RecordField) -> R<Option<PointerValue<'ctx>>> {
        let Some(s) = self.inst.args_core.clone() else { return Ok(None) };
        let Some(i) = crate::types::tracepoint::core_field(&s, f) else { return Ok(None) };
        let r = s.record().ok_or_else(|| llvm_err("tracepoint struct"))?.clone();
        self.core_access(self.ctx_arg, &s, &r, i).map(Some)
    }

    /// An integer of `ty`'s width loaded from `p`, extended to 64 bits by its sign.
    fn load_int_at(&mut self, p: PointerValue<'ctx>, ty: &Type) -> R<Val<'ctx>> {
        let (bits, signed) = match ty {
            Type::Int { bits, signed } => (u32::from(*bits), *signed),
            _ => (64, false),
        };
        let it = self.int_type(bits);
        let v = self.b.build_load(it, p, "tpld").map_err(llvm_err)?.into_int_value();
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

    pub(crate) fn ctx_int(&mut self, offset: u32, ty: &Type) -> R<Val<'ctx>> {
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
        self.load_int_at(p, ty)
    }
}
