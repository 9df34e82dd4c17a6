//! btc-codegen: code generation. A script checked by btc-compiler's front end in; a BPF ELF
//! object (or LLVM IR, assembly) out, through inkwell and LLVM's BPF backend.
//!
//! It is a crate of its own so that only the binary that generates code links LLVM
//! (`btc-codegen`, see src/bin/): LLVM's static initialisers cost milliseconds at every start.
//!
//! - `lib.rs`: the module, maps, programs and metadata; emission.
//! - `func.rs`: per-program state: statements and control flow.
//! - `expr.rs`: expressions; `builtins.rs`, `calls*.rs`: builtins and functions (see
//!   `btc_compiler::sema::catalogue` for where each one's type rule, code and printing live).
//! - `maps.rs`: map keys, lookups and updates.
//! - `debuginfo.rs`: debug info for BTF.

// The front end's modules under the paths the code generator names them by.
use btc_compiler::{ast, catalogue, check, diag, sema, types, CompileError, CompileOptions, Diagnostics, Emit, HelperErrors, TypeSource};

mod access;
mod builtins;
mod calls;
mod calls_bswap;
mod calls_builtins;
mod calls_skb;
mod core;
mod calls_runtime;
mod compare;
mod debuginfo;
mod expr;
mod func;
mod iter;
mod load_values;
mod loops;
mod maps;
mod params;
mod probe_args;
mod usdt_spec;
mod watch;

use crate::ast::Program;
use crate::sema::{Analysis, MapKind};
use btc_bpfprog as bp;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetTriple};
use inkwell::values::GlobalValue;
use inkwell::OptimizationLevel;
use std::collections::HashMap;


/// Code generation options.
#[derive(Debug, Clone)]
pub struct CodegenOptions {
    /// Name of the source, recorded in debug info.
    pub file: String,
    /// Maximum entries of every map (BPFTRACE_MAX_MAP_KEYS).
    pub max_map_keys: u32,
    /// Settings of the config block the runtime applies, recorded in the metadata.
    pub runtime_config: bp::RuntimeConfig,
    /// The source the spans refer to (for the locations of helper errors).
    pub source: String,
    /// BPFTRACE_STRLEN, recorded in the metadata for the truncation trailer.
    pub strlen: u32,
    /// The script's name and hash, and what a run needs, recorded in the metadata.
    pub script: bp::SourceInfo,
    pub requires: bp::Requires,
    /// What the object relies on that another machine may not have (`sema::portable`).
    pub portable: bp::Portable,
    /// The config block's `license` (bpftrace 0.26), else GPL.
    pub license: Option<String>,
}

/// Name of the per-CPU scratch map that holds buffers too large for the stack.
const SCRATCH_MAP: &str = "btc_scratch";
/// Name of the `len()` callback subprogram.
const COUNT_CALLBACK: &str = "btc_count_elem";

pub const BPF_MAP_TYPE_HASH: u32 = 1;
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
pub const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
pub const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
pub const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// A user map as generated.
pub(crate) struct MapDef<'ctx> {
    pub global: GlobalValue<'ctx>,
    pub index: u32,
    pub key: bp::Ty,
    /// The key's type as the checker fixed it; `None` for scalar maps.
    pub key_ty: Option<crate::types::Type>,
    pub value: bp::Ty,
    pub kind: MapKind,
    pub scalar: bool,
}

/// State shared by all programs of a module.
pub(crate) struct ModuleCx<'ctx> {
    pub context: &'ctx Context,
    pub module: Module<'ctx>,
    pub maps: HashMap<String, MapDef<'ctx>>,
    pub ringbuf: GlobalValue<'ctx>,
    pub lost: GlobalValue<'ctx>,
    pub formats: Vec<bp::FormatInfo>,
    /// Kernel structs accessed with CO-RE relocations.
    pub core: core::CoreTypes<'ctx>,
    /// Maps of the runtime-served functions (stack traces, runtime variables).
    pub rt: calls_runtime::RuntimeMaps<'ctx>,
    /// Layouts of `print(value)` payloads.
    pub values: Vec<bp::Ty>,
    /// The per-CPU scratch map for large buffers, created on first use, and the most any program
    /// uses of it.
    pub scratch: Option<GlobalValue<'ctx>>,
    pub scratch_size: u32,
    /// Helper calls that report errors (`-k`), in event index order.
    pub error_sites: std::cell::RefCell<Vec<bp::ErrorSite>>,
    pub source: String,
    pub file: String,
    /// Whose semantics to follow where bpftrace 0.20 and 0.26 differ (`str(s, n)`'s count).
    pub compat: bp::Compat,
    /// The map counting updates dropped because a user map was full, created on first use.
    pub full: Option<GlobalValue<'ctx>>,
    /// skboutput()'s perf event array (created on first use) and pcap files.
    pub skb: calls_skb::SkbOutputs<'ctx>,
    /// The index in [`bp::Metadata::probes`] of the program being generated (user stacks and
    /// symbols record it, see [`btc_bpfprog::runtime::user_pid_word`]).
    pub probe_index: u32,
}

impl<'ctx> ModuleCx<'ctx> {
    /// The `bpf_for_each_map_elem` callback that visits every element (`len(@m)`): a static
    /// subprogram `long cb(map, key, value, ctx) { return 0; }`, made on first use.
    pub fn count_callback(&mut self, di: &debuginfo::DebugInfo<'ctx>) -> inkwell::values::FunctionValue<'ctx> {
        if let Some(f) = self.module.get_function(COUNT_CALLBACK) {
            return f;
        }
        let ptr = self.context.ptr_type(inkwell::AddressSpace::default());
        let i64t = self.context.i64_type();
        let f = self.module.add_function(COUNT_CALLBACK, i64t.fn_type(&[ptr.into(); 4], false), Some(Linkage::Internal));
        di.describe_callback(f, COUNT_CALLBACK, &["map", "key", "value", "ctx"]);
        let b = self.context.create_builder();
        b.position_at_end(self.context.append_basic_block(f, "entry"));
        let _ = b.build_return(Some(&i64t.const_zero()));
        f
    }

    /// The scratch map, making sure each CPU's area has at least `size` bytes.
    pub fn scratch_map(&mut self, size: u32) -> inkwell::values::PointerValue<'ctx> {
        self.scratch_size = self.scratch_size.max(size);
        let g = *self.scratch.get_or_insert_with(|| {
            let ptr = self.context.ptr_type(inkwell::AddressSpace::default());
            let ty = self.context.struct_type(&[ptr.into(); 4], false);
            let g = self.module.add_global(ty, None, SCRATCH_MAP);
            g.set_initializer(&ty.const_zero());
            g.set_section(Some(".maps"));
            g.set_alignment(8);
            g
        });
        g.as_pointer_value()
    }

    /// The map counting updates dropped because a user map was full ([`bp::FULL_MAP`]).
    pub fn full_map(&mut self) -> inkwell::values::PointerValue<'ctx> {
        let g = *self.full.get_or_insert_with(|| {
            let ptr = self.context.ptr_type(inkwell::AddressSpace::default());
            let ty = self.context.struct_type(&[ptr.into(); 4], false);
            let g = self.module.add_global(ty, None, bp::FULL_MAP);
            g.set_initializer(&ty.const_zero());
            g.set_section(Some(".maps"));
            g.set_linkage(Linkage::External);
            g.set_alignment(8);
            g
        });
        g.as_pointer_value()
    }

    /// The index of a `print(value)` layout, adding it when new.
    pub fn value_index(&mut self, ty: bp::Ty) -> u32 {
        let idx = match self.values.iter().position(|v| *v == ty) {
            Some(i) => i,
            None => {
                self.values.push(ty);
                self.values.len() - 1
            }
        };
        u32::try_from(idx).unwrap_or(u32::MAX)
    }

    /// The index of a format, adding it when new.
    pub fn format_index(&mut self, fmt: &str, args: bp::Ty) -> u32 {
        let info = bp::FormatInfo { fmt: fmt.to_string(), args };
        let idx = match self.formats.iter().position(|f| *f == info) {
            Some(i) => i,
            None => {
                self.formats.push(info);
                self.formats.len() - 1
            }
        };
        u32::try_from(idx).unwrap_or(u32::MAX)
    }
}

/// The global of the run's choices ([`bp::runtime::RUN_SETTINGS_SYMBOL`]): not an LLVM constant
/// (zeros here, the run's values once loaded) and external, so LLVM folds none of its reads.
fn define_run_settings<'ctx>(context: &'ctx Context, module: &inkwell::module::Module<'ctx>) {
    let ty = context.i64_type().array_type(bp::runtime::RUN_SETTINGS);
    let g = module.add_global(ty, None, bp::runtime::RUN_SETTINGS_SYMBOL);
    g.set_initializer(&ty.const_zero());
    g.set_section(Some(".rodata"));
    g.set_linkage(Linkage::External);
    g.set_alignment(8);
}

/// Generates the module and emits what was asked for.
pub fn generate(prog: &Program, analysis: &Analysis, opts: &CodegenOptions, emit: Emit) -> Result<Vec<u8>, String> {
    Target::initialize_bpf(&InitializationConfig::default());
    let context = Context::create();
    let module = context.create_module("btc");
    let triple = TargetTriple::create("bpfel");
    module.set_triple(&triple);
    let target = Target::from_triple(&triple).map_err(|e| format!("LLVM has no BPF target: {e}"))?;
    let machine = target
        .create_target_machine(&triple, "v3", "", OptimizationLevel::Aggressive, RelocMode::PIC, CodeModel::Default)
        .ok_or("LLVM could not create a BPF target machine")?;
    module.set_data_layout(&machine.get_target_data().get_data_layout());

    let di = debuginfo::DebugInfo::new(&context, &module, &opts.file);
    let map_struct = |n: usize| {
        let ptr = context.ptr_type(inkwell::AddressSpace::default());
        context.struct_type(&vec![ptr.into(); n], false)
    };
    let define_map = |name: &str, attrs: &[(&str, u32)]| {
        let ty = map_struct(attrs.len());
        let g = module.add_global(ty, None, name);
        g.set_initializer(&ty.const_zero());
        g.set_section(Some(".maps"));
        g.set_linkage(Linkage::External);
        g.set_alignment(8);
        di.describe_map(&context, g, name, attrs);
        g
    };

    let ringbuf = define_map(bp::RINGBUF_MAP, &[("type", BPF_MAP_TYPE_RINGBUF), ("max_entries", bp::RINGBUF_SIZE)]);
    let lost = define_map(
        bp::LOST_MAP,
        &[("type", BPF_MAP_TYPE_PERCPU_ARRAY), ("max_entries", 1), ("key_size", 4), ("value_size", 8)],
    );

    let mut maps = HashMap::new();
    let mut map_infos = Vec::new();
    for (i, sig) in analysis.maps.iter().enumerate() {
        let index = u32::try_from(i).map_err(|_| "too many maps")?;
        let bpf_name = format!("btc_m{i}");
        let key = sig.key.as_ref().map_or(bp::Ty::U64, |k| k.layout());
        // A declaration (`let @m = lruhash(n);`) picks the LRU variant and the size.
        let lru = sig.declared.is_some_and(|d| d.lru);
        let max_entries = sig.declared.map_or(opts.max_map_keys, |d| d.max_entries);
        let (value, map_type, meta_value) = match &sig.kind {
            MapKind::Plain(t) => {
                let ty = if lru { BPF_MAP_TYPE_LRU_HASH } else { BPF_MAP_TYPE_HASH };
                (t.layout(), ty, bp::MapValue::Plain { ty: t.layout() })
            }
            MapKind::Agg(a) => {
                let mv = a.map_value();
                let size = mv.value_size();
                let ty = if lru { BPF_MAP_TYPE_LRU_PERCPU_HASH } else { BPF_MAP_TYPE_PERCPU_HASH };
                (bp::Ty::tuple(vec![bp::Ty::U64; size as usize / 8]), ty, mv)
            }
        };
        let global = define_map(
            &bpf_name,
            &[
                ("type", map_type),
                ("max_entries", max_entries),
                ("key_size", bpf_key_size(&key, &meta_value)),
                ("value_size", value.size()),
            ],
        );
        map_infos.push(bp::MapInfo {
            name: sig.name.clone(),
            bpf_name,
            key: key.clone(),
            scalar: sig.key.is_none(),
            value: meta_value,
            lru,
        });
        maps.insert(
            sig.name.clone(),
            MapDef { global, index, key, key_ty: sig.key.clone(), value, kind: sig.kind.clone(), scalar: sig.key.is_none() },
        );
    }

    load_values::define(&context, &module, &opts.portable.load_values);
    params::define(&context, &module, &opts.requires.params);
    define_run_settings(&context, &module);
    let core = core::CoreTypes::collect(prog, analysis);
    let rt = calls_runtime::define_maps(prog, analysis, opts.max_map_keys, &define_map);
    let mut cx = ModuleCx {
        context: &context,
        module,
        maps,
        ringbuf,
        lost,
        formats: Vec::new(),
        values: Vec::new(),
        scratch: None,
        scratch_size: 0,
        core,
        rt,
        error_sites: std::cell::RefCell::new(Vec::new()),
        source: opts.source.clone(),
        file: opts.file.clone(),
        compat: opts.runtime_config.compat.unwrap_or_default(),
        full: None,
        skb: calls_skb::SkbOutputs::default(),
        probe_index: 0,
    };
    let mut probes = Vec::new();
    let mut requires = opts.requires.clone();
    for (i, inst) in analysis.instances.iter().enumerate() {
        let Some(ast) = prog.probes.get(inst.probe.probe) else { continue };
        let fname = format!("btc_p{i}");
        let section = section_of(&inst.probe.kind);
        cx.probe_index = u32::try_from(probes.len()).map_err(|_| "too many probes")?;
        func::generate(&mut cx, &di, &fname, &section, ast, inst)?;
        if let bp::ProbeKind::WatchFunc { arg, is_async, .. } = &inst.probe.kind {
            let index = u32::try_from(i).map_err(|_| "too many probes")?;
            let setter = bp::watch_setter(&fname);
            let site = inst.probe.process.is_some() && watch::reads_probe(ast);
            watch::setter(&mut cx, &di, &setter, (ast.span, inst, index), *arg, *is_async, site)?;
        }
        if let Some(raw) = &inst.probe.template {
            requires.params.attach.push(bp::params::AttachTemplate { prog: fname.clone(), raw: raw.clone() });
        }
        probes.push(bp::Probe { prog: fname, name: inst.probe.name.clone(), kind: inst.probe.kind.clone(), process: inst.probe.process.clone() });
    }

    if let Some(g) = cx.scratch {
        let attrs = [("type", BPF_MAP_TYPE_PERCPU_ARRAY), ("max_entries", 1), ("key_size", 4), ("value_size", cx.scratch_size)];
        di.describe_map(&context, g, SCRATCH_MAP, &attrs);
    }

    if let Some(g) = cx.full {
        let entries = u32::try_from(map_infos.len()).unwrap_or(u32::MAX).max(1);
        let attrs = [("type", BPF_MAP_TYPE_PERCPU_ARRAY), ("max_entries", entries), ("key_size", 4), ("value_size", 8)];
        di.describe_map(&context, g, bp::FULL_MAP, &attrs);
    }

    cx.skb.finish(&context, &di);

    let license = context.const_string(opts.license.as_deref().unwrap_or("GPL").as_bytes(), true);
    let lic = cx.module.add_global(license.get_type(), None, "_license");
    lic.set_initializer(&license);
    lic.set_section(Some("license"));

    let meta = bp::Metadata {
        version: bp::FORMAT_VERSION,
        compiler: format!("btc {}", env!("CARGO_PKG_VERSION")),
        source: opts.script.clone(),
        requires,
        probes,
        maps: map_infos,
        formats: cx.formats.clone(),
        config: opts.runtime_config.clone(),
        values: cx.values.clone(),
        error_sites: cx.error_sites.borrow().clone(),
        strlen: opts.strlen,
        pcaps: cx.skb.pcaps.clone(),
        portable: opts.portable.clone(),
    };
    let bytes = context.const_string(&meta.to_bytes(), false);
    let mg = cx.module.add_global(bytes.get_type(), None, bp::META_SYMBOL);
    mg.set_initializer(&bytes);
    mg.set_section(Some(bp::META_SECTION));
    mg.set_constant(true);

    di.finalize();
    cx.module.verify().map_err(|e| format!("internal error: invalid LLVM IR: {}", e.to_string()))?;
    cx.module
        .run_passes("default<O2>", &machine, PassBuilderOptions::create())
        .map_err(|e| format!("LLVM optimisation failed: {e}"))?;

    match emit {
        Emit::LlvmIr => Ok(cx.module.print_to_string().to_bytes().to_vec()),
        Emit::Asm => machine
            .write_to_memory_buffer(&cx.module, FileType::Assembly)
            .map(|b| b.as_slice().to_vec())
            .map_err(|e| format!("LLVM could not emit assembly: {e}")),
        Emit::Object => machine
            .write_to_memory_buffer(&cx.module, FileType::Object)
            .map(|b| b.as_slice().to_vec())
            .map_err(|e| format!("LLVM could not emit the object: {e}")),
    }
}

/// Size of the BPF key: the user key, plus a bucket index for histograms.
fn bpf_key_size(key: &bp::Ty, value: &bp::MapValue) -> u32 {
    if value.bucketed() {
        bp::hist_bucket_offset(key) + 8
    } else {
        key.size()
    }
}

/// The ELF section (libbpf's program type convention) for a probe kind. Programs are attached
/// by the runtime, never by libbpf's auto-attach, so only the prefix (the program type) and,
/// for fentry/fexit and iterators, the target (resolved by libbpf at load) matter.
fn section_of(kind: &bp::ProbeKind) -> String {
    use bp::ProbeKind as K;
    match kind {
        K::Begin | K::End => "raw_tp".to_string(),
        K::Interval { .. }
        | K::Profile { .. }
        | K::Software { .. }
        | K::Hardware { .. }
        | K::Watchpoint { .. }
        | K::WatchFunc { .. } => "perf_event".to_string(),
        K::Tracepoint { category, name } => format!("tracepoint/{category}/{name}"),
        K::RawTracepoint { name, btf } => format!("{}/{name}", if *btf { "tp_btf" } else { "raw_tp" }),
        K::Kprobe { func, ret, .. } => format!("{}/{func}", if *ret { "kretprobe" } else { "kprobe" }),
        K::Kfunc { func, module, ret } => {
            let target = match module {
                Some(m) => format!("{m}:{func}"),
                None => func.clone(),
            };
            format!("{}/{target}", if *ret { "fexit" } else { "fentry" })
        }
        K::Uprobe { ret, .. } => (if *ret { "uretprobe" } else { "uprobe" }).to_string(),
        // A plain uprobe: libbpf's "usdt" sections expect its own USDT runtime.
        K::Usdt { .. } => "uprobe".to_string(),
        K::Iter { target, .. } => format!("iter/{target}"),
    }
}

/// Compiles a script to an object, LLVM IR or assembly.
pub fn compile(
    source: &str,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    emit: Emit,
) -> Result<(Vec<u8>, Diagnostics), CompileError> {
    let checked = check(source, types, opts)?;
    let cg = CodegenOptions {
        file: opts.file_name.clone(),
        max_map_keys: checked.settings.max_map_keys.unwrap_or(opts.max_map_keys),
        runtime_config: checked.settings.runtime.clone(),
        source: checked.source.clone(),
        strlen: checked.settings.strlen_bytes(opts.strlen),
        script: btc_bpfprog::SourceInfo { name: opts.file_name.clone(), sha256: sha256_hex(source.as_bytes()) },
        requires: checked.requires.clone(),
        portable: sema::portable::collect(&checked.program, &checked.analysis, &checked.consts, types),
        license: checked.settings.license.clone(),
    };
    let out = generate(&checked.program, &checked.analysis, &cg, emit).map_err(CompileError::Internal)?;
    Ok((out, checked.warnings))
}

/// SHA-256 of `bytes` in lower-case hex, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_matches_sha256sum() {
        assert_eq!(super::sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
