//! CO-RE: field accesses through kernel (BTF) structs are emitted as LLVM's
//! `llvm.preserve.{struct,union}.access.index` intrinsics, tagged with debug-info types of the
//! structs. LLVM's BPF backend turns them into `.BTF.ext` field relocations, which libbpf
//! resolves against the running kernel's BTF at load time: an object compiled here reads the
//! right offsets on another kernel.
//!
//! The debug-info types describe only the members the program accesses (at their offsets in
//! the compiling kernel); libbpf matches members by name, so nothing else is needed.

use super::func::{llvm_err, FnCx, R};
use crate::ast::{Block, Expr, ExprKind, Program};
use crate::sema::{Analysis, Instance};
use crate::types::{Origin, Record, RecordKind, StructRef, Type};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::debug_info::{AsDIScope, DICompositeType, DIFlags, DIFlagsConstants, DIType};
use inkwell::types::{AnyType, BasicTypeEnum, StructType};
use inkwell::values::{AsValueRef, PointerValue};
use inkwell::AddressSpace;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

type Key = (u32, u32);

/// The kernel structs a module accesses, and their debug-info and LLVM types once built.
#[derive(Default)]
pub(crate) struct CoreTypes<'ctx> {
    accessed: HashMap<Key, (Rc<StructRef>, BTreeSet<usize>)>,
    built: HashMap<Key, Built<'ctx>>,
}

#[derive(Clone)]
struct Built<'ctx> {
    di: DICompositeType<'ctx>,
    llvm: StructType<'ctx>,
    /// For each accessed field index: (LLVM element index, debug-info member index).
    index: HashMap<usize, (u32, u32)>,
}

fn key_of(s: &StructRef) -> Option<Key> {
    match s.origin {
        Origin::Btf { blob, id } => Some((blob, id)),
        _ => None,
    }
}

impl CoreTypes<'_> {
    /// Finds every access to a field of a kernel struct in the program.
    pub(crate) fn collect(prog: &Program, analysis: &Analysis) -> Self {
        let mut c = CoreTypes::default();
        for inst in &analysis.instances {
            let Some(probe) = prog.probes.get(inst.probe.probe) else { continue };
            if let Some(p) = &probe.predicate {
                crate::ast::visit_expr(p, &mut |e| c.expr(inst, e));
            }
            c.block(inst, &probe.body);
            c.tracepoint_args(inst, probe);
        }
        c
    }

    fn block(&mut self, inst: &Instance, b: &Block) {
        crate::ast::visit_block(b, &mut |e| self.expr(inst, e));
    }

    /// Notes the struct field `e` reads, if any (the visitor reaches every expression).
    fn expr(&mut self, inst: &Instance, e: &Expr) {
        match &e.kind {
            // `.` reads a struct value's field, or through a pointer as `->` does (bpftrace 0.26).
            ExprKind::Field { expr, field, .. } | ExprKind::Arrow { expr, field, .. } => match inst.ty(expr) {
                Type::Struct(s) => self.note(&s, field),
                Type::Ptr { pointee, .. } => {
                    if let Type::Struct(s) = &*pointee {
                        self.note(s, field);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The fields of a tracepoint's `args` read through its BTF struct (`Instance::args_core`).
    fn tracepoint_args(&mut self, inst: &Instance, probe: &crate::ast::Probe) {
        let (Some(s), Some(record)) = (&inst.args_core, &inst.probe.args) else { return };
        for name in crate::sema::portable::args_use(probe).0 {
            if let Some(f) = record.field(&name).filter(|f| crate::types::tracepoint::core_field(s, f).is_some()) {
                self.note(s, &f.name);
            }
        }
    }

    /// Records the access of `field` of `s` (and the anonymous members leading to it).
    fn note(&mut self, s: &Rc<StructRef>, field: &str) {
        let Some(r) = s.record() else { return };
        let Some(path) = r.field_path(field) else { return };
        let mut cur_s = s.clone();
        let mut cur = r.clone();
        for i in path {
            let Some(k) = key_of(&cur_s) else { return };
            self.accessed.entry(k).or_insert_with(|| (cur_s.clone(), BTreeSet::new())).1.insert(i);
            let Some(Type::Struct(inner)) = cur.fields.get(i).map(|f| f.ty.clone()) else { return };
            let Some(ir) = inner.record().cloned() else { return };
            cur_s = inner;
            cur = ir;
        }
    }
}

const DW_ATE_SIGNED: u32 = 0x05;
const DW_ATE_UNSIGNED: u32 = 0x07;
const DW_ATE_SIGNED_CHAR: u32 = 0x06;

impl<'ctx> FnCx<'_, 'ctx> {
    /// `&base->field i` of kernel struct `s` as a CO-RE relocatable access.
    pub(crate) fn core_access(&mut self, base: PointerValue<'ctx>, s: &Rc<StructRef>, r: &Record, i: usize) -> R<PointerValue<'ctx>> {
        let key = key_of(s).ok_or_else(|| llvm_err("CO-RE access to a non-BTF struct"))?;
        let built = self.core_built(key, s, r)?;
        let (gep, di_index) = *built.index.get(&i).ok_or_else(|| llvm_err("CO-RE member not collected"))?;
        let ctx = self.m.context;
        let ptr = ctx.ptr_type(AddressSpace::default());
        let i32t = ctx.i32_type();
        let (name, args): (&str, Vec<inkwell::values::BasicMetadataValueEnum<'ctx>>) = match s.kind {
            RecordKind::Struct => (
                "llvm.preserve.struct.access.index.p0.p0",
                vec![base.into(), i32t.const_int(u64::from(gep), false).into(), i32t.const_int(u64::from(di_index), false).into()],
            ),
            RecordKind::Union => {
                ("llvm.preserve.union.access.index.p0.p0", vec![base.into(), i32t.const_int(u64::from(di_index), false).into()])
            }
        };
        let f = match self.m.module.get_function(name) {
            Some(f) => f,
            None => {
                let params: Vec<inkwell::types::BasicMetadataTypeEnum<'ctx>> =
                    if s.kind == RecordKind::Struct { vec![ptr.into(), i32t.into(), i32t.into()] } else { vec![ptr.into(), i32t.into()] };
                self.m.module.add_function(name, ptr.fn_type(&params, false), None)
            }
        };
        let call = self.b.build_call(f, &args, "core").map_err(llvm_err)?;
        if s.kind == RecordKind::Struct {
            let kind = Attribute::get_named_enum_kind_id("elementtype");
            call.add_attribute(AttributeLoc::Param(0), ctx.create_type_attribute(kind, built.llvm.as_any_type_enum()));
        }
        let kind = ctx.get_kind_id("llvm.preserve.access.index");
        // SAFETY: both references are live values of this context; LLVMSetMetadata attaches
        // the debug-info node to the call, which inkwell has no safe API for.
        unsafe {
            let md = llvm_sys::core::LLVMMetadataAsValue(ctx.raw(), built.di.as_mut_ptr());
            llvm_sys::core::LLVMSetMetadata(call.as_value_ref(), kind, md);
        }
        match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => Ok(v.into_pointer_value()),
            inkwell::values::ValueKind::Instruction(_) => Err(llvm_err("CO-RE call returned no value")),
        }
    }

    /// `llvm.bpf.preserve.field.info(access, kind)`: a CO-RE relocated fact about the member
    /// `access` reaches, as an i64.
    pub(crate) fn core_field_info(&mut self, access: PointerValue<'ctx>, kind: u64) -> R<inkwell::values::IntValue<'ctx>> {
        let ctx = self.m.context;
        let ptr = ctx.ptr_type(AddressSpace::default());
        let name = "llvm.bpf.preserve.field.info.p0";
        let f = match self.m.module.get_function(name) {
            Some(f) => f,
            None => self.m.module.add_function(name, ctx.i32_type().fn_type(&[ptr.into(), ctx.i64_type().into()], false), None),
        };
        let call = self.b.build_call(f, &[access.into(), ctx.i64_type().const_int(kind, false).into()], "field_info").map_err(llvm_err)?;
        let v = match call.try_as_basic_value() {
            inkwell::values::ValueKind::Basic(v) => v.into_int_value(),
            inkwell::values::ValueKind::Instruction(_) => return Err(llvm_err("field info returned no value")),
        };
        self.b.build_int_z_extend(v, ctx.i64_type(), "fi64").map_err(llvm_err)
    }

    fn core_built(&mut self, key: Key, s: &Rc<StructRef>, r: &Record) -> R<Built<'ctx>> {
        if let Some(b) = self.m.core.built.get(&key) {
            return Ok(b.clone());
        }
        let members: Vec<usize> = self.m.core.accessed.get(&key).map(|(_, m)| m.iter().copied().collect()).unwrap_or_default();
        let di = self.di;
        let ctx = self.m.context;
        let file = di.cu.get_file();
        let scope = di.cu.as_debug_info_scope();
        let mut order: Vec<usize> = members.into_iter().filter(|&i| r.fields.get(i).is_some()).collect();
        order.sort_by_key(|&i| r.fields[i].offset);
        let mut di_members = Vec::new();
        let mut llvm_elems: Vec<BasicTypeEnum<'ctx>> = Vec::new();
        let mut index = HashMap::new();
        let mut at = 0u32;
        for (n, &i) in order.iter().enumerate() {
            let f = &r.fields[i];
            let ty = self.core_di_type(&f.ty, f.enum_type)?;
            let size = f.ty.c_size();
            // A bitfield member is described by its bits, as C compilers do.
            let (bits, at_bit, flags) = match f.bitfield {
                Some(b) => (u64::from(b.bits), u64::from(f.offset) * 8 + u64::from(b.shift), DIFlags::BIT_FIELD),
                None => (u64::from(size) * 8, u64::from(f.offset) * 8, DIFlags::ZERO),
            };
            let m = di.builder.create_member_type(scope, &f.name, file, 0, bits, 0, at_bit, flags, ty);
            di_members.push(m.as_type());
            let gep = if s.kind == RecordKind::Struct && f.offset >= at && f.bitfield.is_none() {
                if f.offset > at {
                    llvm_elems.push(ctx.i8_type().array_type(f.offset - at).into());
                }
                llvm_elems.push(ctx.i8_type().array_type(size).into());
                at = f.offset + size;
                u32::try_from(llvm_elems.len() - 1).unwrap_or(0)
            } else {
                0
            };
            index.insert(i, (gep, u32::try_from(n).unwrap_or(0)));
        }
        if at < r.size {
            llvm_elems.push(ctx.i8_type().array_type(r.size - at).into());
        }
        let size_bits = u64::from(r.size) * 8;
        let composite = match s.kind {
            RecordKind::Struct => di.builder.create_struct_type(
                scope, &s.name, file, 0, size_bits, 0, DIFlags::ZERO, None, &di_members, 0, None, "",
            ),
            RecordKind::Union => {
                di.builder.create_union_type(scope, &s.name, file, 0, size_bits, 0, DIFlags::ZERO, &di_members, 0, "")
            }
        };
        let llvm = ctx.opaque_struct_type(&format!("struct.btc.{}.{}", s.name, key.1));
        llvm.set_body(&llvm_elems, true);
        let built = Built { di: composite, llvm, index };
        self.m.core.built.insert(key, built.clone());
        Ok(built)
    }

    /// The debug-info type of an accessed member.
    // inkwell takes array subscripts as a slice of ranges: one range is one dimension.
    #[allow(clippy::single_range_in_vec_init)]
    fn core_di_type(&mut self, t: &Type, is_enum: bool) -> R<DIType<'ctx>> {
        let di = self.di;
        let basic = |name: &str, bits: u64, enc: u32| {
            di.builder.create_basic_type(name, bits, enc, DIFlags::ZERO).map(|t| t.as_type()).map_err(llvm_err)
        };
        Ok(match t {
            Type::Int { bits, signed } if is_enum => {
                let under = basic(if *signed { "int" } else { "unsigned int" }, u64::from(*bits), DW_ATE_SIGNED)?;
                di.builder
                    .create_enumeration_type(di.cu.as_debug_info_scope(), "", di.cu.get_file(), 0, u64::from(*bits), 0, &[], under)
                    .as_type()
            }
            Type::Int { bits, signed } => {
                let enc = if *signed { DW_ATE_SIGNED } else { DW_ATE_UNSIGNED };
                basic(&format!("{}int{bits}", if *signed { "" } else { "u" }), u64::from(*bits), enc)?
            }
            Type::Ptr { .. } => {
                let void = basic("char", 8, DW_ATE_SIGNED_CHAR)?;
                di.builder.create_pointer_type("", void, 64, 64, AddressSpace::default()).as_type()
            }
            Type::Str { len } => {
                let c = basic("char", 8, DW_ATE_SIGNED_CHAR)?;
                di.builder.create_array_type(c, u64::from(*len) * 8, 8, &[0..i64::from(*len)]).as_type()
            }
            Type::Array { elem, count } => {
                let e = self.core_di_type(elem, false)?;
                let bits = u64::from(elem.c_size()) * 8 * u64::from(*count);
                di.builder.create_array_type(e, bits, 0, &[0..i64::from(*count)]).as_type()
            }
            Type::Struct(s) => match (key_of(s), s.record()) {
                (Some(k), Some(r)) if self.m.core.accessed.contains_key(&k) => {
                    let r = r.clone();
                    self.core_built(k, s, &r)?.di.as_type()
                }
                // A struct whose fields aren't accessed (it is read whole): a composite of the
                // same kind and name without members, which CO-RE matches to the kernel's.
                _ => {
                    let (scope, file, bits) = (di.cu.as_debug_info_scope(), di.cu.get_file(), u64::from(s.size) * 8);
                    match s.kind {
                        RecordKind::Struct => di
                            .builder
                            .create_struct_type(scope, &s.name, file, 0, bits, 0, DIFlags::ZERO, None, &[], 0, None, "")
                            .as_type(),
                        RecordKind::Union => {
                            di.builder.create_union_type(scope, &s.name, file, 0, bits, 0, DIFlags::ZERO, &[], 0, "").as_type()
                        }
                    }
                }
            },
            _ => basic("long", 64, DW_ATE_SIGNED)?,
        })
    }
}
