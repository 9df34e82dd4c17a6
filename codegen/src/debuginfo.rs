//! Debug info, from which LLVM's BPF backend emits BTF. libbpf needs BTF to create maps declared in
//! `.maps` (libbpf 1.x dropped the legacy `maps` section), and BTF func info for each program.

use inkwell::context::Context;
use inkwell::debug_info::{
    AsDIScope, DICompileUnit, DIFlags, DIFlagsConstants, DIType, DWARFEmissionKind, DWARFSourceLanguage,
    DebugInfoBuilder,
};
use inkwell::module::{FlagBehavior, Module};
use inkwell::values::{FunctionValue, GlobalValue};
use inkwell::AddressSpace;

pub struct DebugInfo<'ctx> {
    pub builder: DebugInfoBuilder<'ctx>,
    pub cu: DICompileUnit<'ctx>,
    int: DIType<'ctx>,
}

const DW_ATE_SIGNED: u32 = 0x05;

impl<'ctx> DebugInfo<'ctx> {
    pub fn new(context: &'ctx Context, module: &Module<'ctx>, file: &str) -> DebugInfo<'ctx> {
        module.add_basic_value_flag(
            "Debug Info Version",
            FlagBehavior::Warning,
            context.i32_type().const_int(u64::from(inkwell::debug_info::debug_metadata_version()), false),
        );
        module.add_basic_value_flag("Dwarf Version", FlagBehavior::Warning, context.i32_type().const_int(4, false));
        let (builder, cu) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            file,
            ".",
            "btc",
            true,
            "",
            0,
            "",
            DWARFEmissionKind::Full,
            0,
            false,
            false,
            "",
            "",
        );
        let int = builder
            .create_basic_type("int", 32, DW_ATE_SIGNED, DIFlags::ZERO)
            .map(|t| t.as_type())
            .unwrap_or_else(|_| unreachable_type(&builder));
        DebugInfo { builder, cu, int }
    }

    /// `int (*)[n]`: how BTF-defined maps encode an integer attribute (libbpf's `__uint`).
    fn uint_attr(&self, n: u32) -> DIType<'ctx> {
        let arr = self.builder.create_array_type(self.int, 32 * u64::from(n), 32, &[0..i64::from(n)]);
        self.builder.create_pointer_type("", arr.as_type(), 64, 64, AddressSpace::default()).as_type()
    }

    /// Describes a map definition global whose members are all `__uint` attributes, in order.
    pub fn describe_map(&self, context: &'ctx Context, global: GlobalValue<'ctx>, name: &str, attrs: &[(&str, u32)]) {
        let file = self.cu.get_file();
        let members: Vec<DIType<'ctx>> = attrs
            .iter()
            .enumerate()
            .map(|(i, (attr, n))| {
                self.builder
                    .create_member_type(
                        self.cu.as_debug_info_scope(),
                        attr,
                        file,
                        0,
                        64,
                        64,
                        64 * i as u64,
                        DIFlags::ZERO,
                        self.uint_attr(*n),
                    )
                    .as_type()
            })
            .collect();
        let st = self.builder.create_struct_type(
            self.cu.as_debug_info_scope(),
            "",
            file,
            0,
            64 * attrs.len() as u64,
            64,
            DIFlags::ZERO,
            None,
            &members,
            0,
            None,
            "",
        );
        let gve = self.builder.create_global_variable_expression(
            self.cu.as_debug_info_scope(),
            name,
            name,
            file,
            0,
            st.as_type(),
            false,
            None,
            None,
            64,
        );
        global.set_metadata(gve.as_metadata_value(context), context.get_kind_id("dbg"));
    }

    /// Gives a program function a subprogram (`int name(void *ctx)`), for BTF func info.
    pub fn describe_function(&self, func: FunctionValue<'ctx>, name: &str) {
        let file = self.cu.get_file();
        let ctx_ty = self.builder.create_pointer_type("", self.int, 64, 64, AddressSpace::default()).as_type();
        let sub = self.builder.create_subroutine_type(file, Some(self.int), &[ctx_ty], DIFlags::ZERO);
        let sp = self.builder.create_function(
            self.cu.as_debug_info_scope(),
            name,
            None,
            file,
            0,
            sub,
            false,
            true,
            0,
            DIFlags::PROTOTYPED,
            true,
        );
        // BTF wants every parameter of a function prototype named: the kernel rejects the
        // object's BTF otherwise. LLVM names them from the subprogram's parameter variables.
        self.builder.create_parameter_variable(sp.as_debug_info_scope(), "ctx", 1, file, 0, ctx_ty, true, DIFlags::ZERO);
        func.set_subprogram(sp);
    }

    /// Gives a `long fn(void *, void *, void *, void *)`-style callback subprogram its BTF.
    pub fn describe_callback(&self, func: FunctionValue<'ctx>, name: &str, params: &[&str]) {
        let file = self.cu.get_file();
        let ptr = self.builder.create_pointer_type("", self.int, 64, 64, AddressSpace::default()).as_type();
        let long = self
            .builder
            .create_basic_type("long", 64, DW_ATE_SIGNED, DIFlags::ZERO)
            .map(|t| t.as_type())
            .unwrap_or(self.int);
        let tys = vec![ptr; params.len()];
        let sub = self.builder.create_subroutine_type(file, Some(long), &tys, DIFlags::ZERO);
        let sp = self.builder.create_function(
            self.cu.as_debug_info_scope(),
            name,
            None,
            file,
            0,
            sub,
            true,
            true,
            0,
            DIFlags::PROTOTYPED,
            true,
        );
        for (i, p) in params.iter().enumerate() {
            self.builder.create_parameter_variable(sp.as_debug_info_scope(), p, i as u32 + 1, file, 0, ptr, true, DIFlags::ZERO);
        }
        func.set_subprogram(sp);
    }

    pub fn finalize(&self) {
        self.builder.finalize();
    }
}

fn unreachable_type<'ctx>(builder: &DebugInfoBuilder<'ctx>) -> DIType<'ctx> {
    // create_basic_type only fails for a zero size or empty name, which we never pass.
    builder
        .create_basic_type("long", 64, DW_ATE_SIGNED, DIFlags::ZERO)
        .map(|t| t.as_type())
        .unwrap_or_else(|_| panic!("LLVM refused a basic debug type"))
}
