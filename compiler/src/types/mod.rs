//! The type model of the language, and the sources of external types: tracepoint formats, kernel
//! BTF, DWARF of user binaries and the script's C preamble all map onto [`Type`].

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

pub mod btf;
pub mod cdecl;
pub mod cpp;
pub mod db;
pub mod dwarf;
pub mod expand;
pub mod targets;
pub mod tracepoint;

pub use cdecl::CTypes;
pub use db::TypeDb;

/// Default size of strings (BPFTRACE_STRLEN).
pub const DEFAULT_STRLEN: u32 = 64;

/// The type of an expression.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Type {
    Int { bits: u8, signed: bool },
    /// A NUL-terminated string in a buffer of `len` bytes.
    Str { len: u32 },
    Ptr { pointee: Box<Type>, user: bool },
    Array { elem: Box<Type>, count: u32 },
    Tuple(Vec<Type>),
    /// A record such as the arguments of a tracepoint (`args`).
    Record(Rc<Record>),
    /// A C struct or union (kernel BTF, the preamble, DWARF), by reference: its fields are
    /// resolved by [`TypeDb::record`] when first needed, so a pointer to a large struct costs
    /// nothing until it is dereferenced.
    Struct(Rc<StructRef>),
    /// The result of an aggregate function (count(), sum()); only assignable to a map.
    Agg(AggKind),
    /// No value (statement-only functions such as printf).
    #[default]
    Void,
    /// A value the runtime formats when printing (ksym, kstack, inet, timestamp, ...); it lives
    /// in memory, laid out as [`btc_bpfprog::RuntimeTy`] says.
    Runtime(btc_bpfprog::RuntimeTy),
}

/// The map functions whose results can only be stored in maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Stats,
    Hist { k: u8 },
    Lhist { min: i64, max: i64, step: i64 },
}

impl AggKind {
    /// The name bpftrace gives the type (`count_t`, `hist_t`, ...).
    pub fn type_name(self) -> &'static str {
        match self {
            AggKind::Count => "count_t",
            AggKind::Sum => "sum_t",
            AggKind::Min => "min_t",
            AggKind::Max => "max_t",
            AggKind::Avg => "avg_t",
            AggKind::Stats => "stats_t",
            AggKind::Hist { .. } => "hist_t",
            AggKind::Lhist { .. } => "lhist_t",
        }
    }

    /// How the map stores it (see btc_bpfprog::MapValue).
    pub fn map_value(self) -> btc_bpfprog::MapValue {
        use btc_bpfprog::MapValue as M;
        match self {
            AggKind::Count => M::Count,
            AggKind::Sum => M::Sum,
            AggKind::Min => M::Min,
            AggKind::Max => M::Max,
            AggKind::Avg => M::Avg,
            AggKind::Stats => M::Stats,
            AggKind::Hist { k } => M::Hist { k },
            AggKind::Lhist { min, max, step } => M::Lhist { min, max, step },
        }
    }
}

/// A struct-like record with fields at fixed offsets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub name: String,
    pub fields: Vec<RecordField>,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordField {
    /// Empty for an anonymous struct or union member, whose fields are reached through it.
    pub name: String,
    /// Byte offset (of the first byte holding the field, for bitfields).
    pub offset: u32,
    pub ty: Type,
    /// A tracepoint `__data_loc` field: a u32 holding (length << 16 | offset) of the data.
    pub data_loc: bool,
    /// Set for bitfields.
    pub bitfield: Option<Bitfield>,
    /// The C type is an enum (an integer here; CO-RE type matching tells them apart).
    pub enum_type: bool,
}

/// Where a bitfield's bits are: `bits` bits starting `shift` bits into the byte at the field's
/// offset (little-endian bit numbering, as C compilers lay them out on x86-64 and arm64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitfield {
    pub shift: u8,
    pub bits: u8,
}

impl RecordField {
    pub fn new(name: impl Into<String>, offset: u32, ty: Type) -> RecordField {
        RecordField { name: name.into(), offset, ty, data_loc: false, bitfield: None, enum_type: false }
    }
}

impl Record {
    pub fn field(&self, name: &str) -> Option<&RecordField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The indices leading to field `name`: one for a direct field, more when it is reached
    /// through anonymous struct or union members (C11).
    pub fn field_path(&self, name: &str) -> Option<Vec<usize>> {
        self.field_path_depth(name, 0)
    }

    fn field_path_depth(&self, name: &str, depth: u32) -> Option<Vec<usize>> {
        if name.is_empty() || depth > 16 {
            return None;
        }
        if let Some(i) = self.fields.iter().position(|f| f.name == name) {
            return Some(vec![i]);
        }
        for (i, f) in self.fields.iter().enumerate() {
            if !f.name.is_empty() {
                continue;
            }
            if let Some(inner) = f.anonymous_record() {
                if let Some(mut p) = inner.field_path_depth(name, depth + 1) {
                    p.insert(0, i);
                    return Some(p);
                }
            }
        }
        None
    }

    /// The field a [`Record::field_path`] leads to.
    pub fn field_at(&self, path: &[usize]) -> Option<&RecordField> {
        let (first, rest) = path.split_first()?;
        let f = self.fields.get(*first)?;
        if rest.is_empty() {
            return Some(f);
        }
        f.anonymous_record()?.field_at(rest)
    }

    /// The byte offset of the field a path leads to.
    pub fn path_offset(&self, path: &[usize]) -> u32 {
        let Some((first, rest)) = path.split_first() else { return 0 };
        let Some(f) = self.fields.get(*first) else { return 0 };
        f.offset + f.anonymous_record().map_or(0, |r| r.path_offset(rest))
    }

    /// Every field name reachable by `.name`, including those of anonymous members.
    pub fn visible_names<'a>(&'a self, out: &mut Vec<&'a str>) {
        for f in &self.fields {
            if f.name.is_empty() {
                if let Some(r) = f.anonymous_record() {
                    r.visible_names(out);
                }
            } else {
                out.push(&f.name);
            }
        }
    }
}

impl RecordField {
    /// The record of an anonymous struct or union member (resolved with its parent).
    pub fn anonymous_record(&self) -> Option<&Record> {
        match &self.ty {
            Type::Struct(s) if self.name.is_empty() => s.record().map(|r| &**r),
            _ => None,
        }
    }
}

/// Struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Struct,
    Union,
}

impl RecordKind {
    pub fn keyword(self) -> &'static str {
        match self {
            RecordKind::Struct => "struct",
            RecordKind::Union => "union",
        }
    }
}

/// Where a struct's definition comes from, to resolve its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Type `id` of the BTF blob `blob` (0 is vmlinux) of the [`TypeDb`]. Field accesses through
    /// kernel types are CO-RE relocatable.
    Btf { blob: u32, id: u32 },
    /// Defined in the script's preamble or an included header.
    C,
    /// From the DWARF of a user binary.
    Dwarf,
}

/// A struct or union by reference (see [`Type::Struct`]).
#[derive(Debug)]
pub struct StructRef {
    pub kind: RecordKind,
    /// Empty for anonymous ones.
    pub name: String,
    pub size: u32,
    pub origin: Origin,
    /// Filled by [`TypeDb::record`]; read by code generation.
    pub resolved: OnceCell<Rc<Record>>,
}

impl StructRef {
    pub fn new(kind: RecordKind, name: impl Into<String>, size: u32, origin: Origin) -> StructRef {
        StructRef { kind, name: name.into(), size, origin, resolved: OnceCell::new() }
    }

    /// A struct whose fields are known already.
    pub fn resolved(kind: RecordKind, record: Record, origin: Origin) -> StructRef {
        let s = StructRef::new(kind, record.name.clone(), record.size, origin);
        let _ = s.resolved.set(Rc::new(record));
        s
    }

    /// The fields, once resolved.
    pub fn record(&self) -> Option<&Rc<Record>> {
        self.resolved.get()
    }

    /// The name with its keyword, e.g. `struct task_struct`.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            format!("{} (anonymous)", self.kind.keyword())
        } else {
            format!("{} {}", self.kind.keyword(), self.name)
        }
    }
}

impl PartialEq for StructRef {
    /// Named structs are the same type when their names and sizes match (wherever they were
    /// found); anonymous ones only when they are the same definition.
    fn eq(&self, other: &Self) -> bool {
        if self.name.is_empty() || other.name.is_empty() {
            // Two references to one BTF type are the same type; anything else anonymous is
            // only equal to itself.
            return std::ptr::eq(self, other) || (matches!(self.origin, Origin::Btf { .. }) && self.origin == other.origin);
        }
        self.kind == other.kind && self.name == other.name && self.size == other.size
    }
}

impl Eq for StructRef {}

impl Type {
    pub const U64: Type = Type::Int { bits: 64, signed: false };
    pub const I64: Type = Type::Int { bits: 64, signed: true };
    pub const U32: Type = Type::Int { bits: 32, signed: false };
    /// bpftrace 0.26's `bool` (`true`, `false`, `let $x: bool`): a 1-bit unsigned integer, as
    /// bpftrace 0.20 typed its `bool`, printed `true`/`false`.
    pub const BOOL: Type = Type::Int { bits: 1, signed: false };

    pub fn is_bool(&self) -> bool {
        *self == Type::BOOL
    }

    pub fn is_int(&self) -> bool {
        matches!(self, Type::Int { .. })
    }

    /// Integers and pointers: values that live in a register.
    pub fn is_scalar(&self) -> bool {
        matches!(self, Type::Int { .. } | Type::Ptr { .. })
    }

    pub fn is_signed(&self) -> bool {
        matches!(self, Type::Int { signed: true, .. })
    }

    pub fn is_ptr(&self) -> bool {
        matches!(self, Type::Ptr { .. })
    }

    /// A pointer to `pointee` in kernel memory.
    pub fn kptr(pointee: Type) -> Type {
        Type::Ptr { pointee: Box::new(pointee), user: false }
    }

    /// Size in bytes of a value of this type in C (memory) layout, as `sizeof` gives it.
    pub fn c_size(&self) -> u32 {
        match self {
            Type::Int { bits, .. } => u32::from(*bits / 8).max(1),
            Type::Str { len } => *len,
            Type::Ptr { .. } => 8,
            Type::Array { elem, count } => elem.c_size().saturating_mul(*count),
            Type::Record(r) => r.size,
            // A struct named before its definition was seen has size 0 until resolved.
            Type::Struct(s) => s.record().map_or(s.size, |r| r.size),
            Type::Tuple(_) | Type::Runtime(_) => self.layout().size(),
            Type::Agg(_) => 8,
            Type::Void => 1,
        }
    }

    /// Alignment in C (memory) layout.
    pub fn c_align(&self) -> u32 {
        match self {
            Type::Int { bits, .. } => u32::from(*bits / 8).max(1),
            Type::Str { .. } | Type::Void => 1,
            Type::Array { elem, .. } => elem.c_align(),
            Type::Struct(s) => s
                .record()
                .map(|r| r.fields.iter().map(|f| f.ty.c_align()).max().unwrap_or(1))
                .unwrap_or(8)
                .min(8),
            Type::Record(r) => r.fields.iter().map(|f| f.ty.c_align()).max().unwrap_or(1),
            _ => 8,
        }
    }

    /// How values of this type are stored in maps and events.
    pub fn layout(&self) -> btc_bpfprog::Ty {
        match self {
            Type::Int { bits: 1, signed: false } => btc_bpfprog::Ty::Runtime(btc_bpfprog::RuntimeTy::Bool { bytes: 8 }),
            // Integers travel as 64-bit values with their signedness (as bpftrace stores them).
            Type::Int { signed, .. } => btc_bpfprog::Ty::Int { bytes: 8, signed: *signed },
            // Pointers travel as their address; the runtime prints them in hex.
            Type::Ptr { .. } => btc_bpfprog::Ty::Runtime(btc_bpfprog::RuntimeTy::Pointer),
            Type::Str { len } => btc_bpfprog::Ty::Str { len: *len },
            // Tuple members keep their own sizes (as in bpftrace 0.20: `((int8)1, (int16)2)` is
            // 4 bytes), laid out by `Ty::tuple`'s alignment rules.
            Type::Tuple(elems) => btc_bpfprog::Ty::tuple(elems.iter().map(Type::member_layout).collect()),
            // Arrays are read from memory as they are laid out there.
            Type::Array { .. } => self.memory_layout(),
            Type::Record(r) => btc_bpfprog::Ty::tuple(r.fields.iter().map(|f| f.ty.layout()).collect()),
            Type::Struct(s) => match s.record() {
                Some(r) => record_layout(r),
                // Checking resolves every struct that is copied by value; this is never reached.
                None => btc_bpfprog::Ty::Tuple { fields: Vec::new(), size: s.size },
            },
            Type::Agg(_) | Type::Void => btc_bpfprog::Ty::U64,
            Type::Runtime(r) => btc_bpfprog::Ty::Runtime(r.clone()),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int { bits: 1, signed: false } => write!(f, "bool"),
            Type::Int { bits, signed: true } => write!(f, "int{bits}"),
            Type::Int { bits, signed: false } => write!(f, "uint{bits}"),
            Type::Str { len } => write!(f, "string[{len}]"),
            Type::Ptr { pointee, .. } => write!(f, "{pointee} *"),
            Type::Array { elem, count } => write!(f, "{elem}[{count}]"),
            Type::Tuple(elems) => {
                write!(f, "(")?;
                for (i, e) in elems.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
            Type::Record(r) => write!(f, "struct {}", r.name),
            Type::Struct(s) => write!(f, "{}", s.display_name()),
            Type::Agg(AggKind::Hist { k }) if *k > 0 => write!(f, "hist_t(k={k})"),
            Type::Agg(AggKind::Lhist { min, max, step }) => write!(f, "lhist_t({min}, {max}, {step})"),
            Type::Agg(a) => write!(f, "{}", a.type_name()),
            Type::Void => write!(f, "void"),
            Type::Runtime(r) => write!(f, "{}", r.name()),
        }
    }
}

/// The layout of a struct copied by value: its named fields at their C offsets (the fields of
/// anonymous members in line, as C sees them), the whole of its C size.
fn record_layout(r: &Record) -> btc_bpfprog::Ty {
    let mut fields = Vec::new();
    named_fields(r, 0, &mut fields, 0);
    btc_bpfprog::Ty::Record { fields, size: r.size }
}

fn named_fields(r: &Record, base: u32, out: &mut Vec<btc_bpfprog::NamedField>, depth: u32) {
    for f in &r.fields {
        if let (true, Some(inner)) = (f.name.is_empty(), f.anonymous_record()) {
            if depth < 16 {
                named_fields(inner, base + f.offset, out, depth + 1);
            }
            continue;
        }
        let ty = match (f.bitfield, &f.ty) {
            (Some(b), t) => btc_bpfprog::Ty::Bits { shift: b.shift, bits: b.bits, signed: t.is_signed() },
            (None, t) => t.memory_layout(),
        };
        out.push(btc_bpfprog::NamedField { name: f.name.clone(), offset: base + f.offset, ty });
    }
}

impl Type {
    /// The layout of a member of a tuple: integers at their own width, everything else as
    /// [`Type::layout`] lays it out.
    pub fn member_layout(&self) -> btc_bpfprog::Ty {
        match self {
            Type::Int { bits: 1, signed: false } => btc_bpfprog::Ty::Runtime(btc_bpfprog::RuntimeTy::Bool { bytes: 1 }),
            Type::Int { bits, signed } => btc_bpfprog::Ty::Int { bytes: (*bits / 8).max(1), signed: *signed },
            other => other.layout(),
        }
    }

    /// The layout of the arguments of printf-like calls (and other records the runtime only
    /// reads): every value as [`Type::layout`] lays it out, integers as 8 bytes.
    pub fn args_layout(tys: &[Type]) -> btc_bpfprog::Ty {
        btc_bpfprog::Ty::tuple(tys.iter().map(Type::layout).collect())
    }

    /// The layout of a value as it sits in memory (C sizes: a 4-byte int is 4 bytes), used
    /// for structs copied by value.
    pub fn memory_layout(&self) -> btc_bpfprog::Ty {
        match self {
            Type::Int { bits: 1, signed: false } => btc_bpfprog::Ty::Runtime(btc_bpfprog::RuntimeTy::Bool { bytes: 1 }),
            Type::Int { bits, signed } => btc_bpfprog::Ty::Int { bytes: (*bits / 8).max(1), signed: *signed },
            Type::Array { elem, count } => btc_bpfprog::Ty::Array { elem: Box::new(elem.memory_layout()), count: *count },
            other => other.layout(),
        }
    }
}

/// Where the compiler gets types it cannot see in the script. The CLI implements it over the
/// running kernel (tracefs, /sys/kernel/btf) and the file system (headers, binaries); tests
/// implement it over fixtures. The compiler never reads the system itself.
pub trait TypeSource {
    /// The text of the format file of tracepoint `category:name`, or why it can't be had.
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String>;
    /// Every tracepoint as (category, name), for wildcard expansion.
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String>;

    /// The address of kernel symbol `name` (for `kaddr`).
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        Err(format!("kernel symbol not found: {name}"))
    }
    /// The address and size of symbol `name` in the ELF file `path` (for `uaddr`).
    fn user_symbol(&self, path: &str, name: &str) -> Result<(u64, u64), String> {
        Err(format!("symbol {name} not found in {path}"))
    }
    /// The cgroup v2 id of the cgroup at `path` (for `cgroupid`).
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        Err(format!("cgroup not found: {path}"))
    }
    /// The running kernel's build ID (recorded in objects that depend on its build).
    fn kernel_build_id(&self) -> Option<String> {
        None
    }
    /// What identifies the contents of the file at `path` (`build-id HEX`, else `size N
    /// sha256 HEX`), recorded in objects that hold its addresses.
    fn file_identity(&self, _path: &str) -> Option<String> {
        None
    }
    /// Kernel functions that kprobes can attach to (available_filter_functions, or where it
    /// can't be read, the functions of /proc/kallsyms: the runtime's `kprobe_functions` rule).
    fn kernel_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        Err("the list of traceable kernel functions is not available".into())
    }
    /// Why [`Self::kernel_functions`] doesn't come from available_filter_functions, when it
    /// doesn't: a warning where a `kprobe:` wildcard is expanded against it.
    fn kernel_functions_note(&self) -> Option<String> {
        None
    }
    /// Kernel functions described by BTF, which kfunc/kretfunc can attach to.
    fn btf_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        Err("kernel BTF is not available".into())
    }
    /// The file a uprobe or usdt target names: a path, a library name found through
    /// /etc/ld.so.cache (`libc`), or a program on $PATH. `pid` is the process given with `-p`.
    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        let _ = pid;
        Ok(target.to_string())
    }
    /// The executables and libraries a uprobe or usdt target names, spelt as bpftrace spells
    /// them (its `resolve_binary_path`): the target as written, else found on $PATH, a wildcard
    /// (`./testprogs/uprobe*`) expanded by glob(3), through /proc/PID/root for a `-p` process
    /// in another mount namespace. Probe names show these.
    fn binary_paths(&self, pattern: &str, pid: Option<i32>) -> Vec<String> {
        let _ = (pattern, pid);
        Vec::new()
    }
    /// Whether the kernel has uprobe_multi links: the functions of a wildcard uprobe then share
    /// one program (and one link), as in bpftrace 0.20.
    fn uprobe_multi_links(&self) -> bool {
        false
    }
    /// The function symbols (symtab and dynsym) of an ELF file.
    fn elf_functions(&self, path: &str) -> Result<Vec<targets::ElfFunction>, String> {
        Err(format!("can't read symbols of {path}"))
    }
    /// The USDT probes of an ELF file.
    fn usdt_notes(&self, path: &str) -> Result<Vec<targets::UsdtNote>, String> {
        Err(format!("can't read USDT probes of {path}"))
    }
    /// `size` bytes of the ELF file `path` at virtual address `address` (the code of a function,
    /// to check that a uprobe offset starts an instruction).
    fn code_bytes(&self, path: &str, address: u64, size: u64) -> Result<Vec<u8>, String> {
        let _ = (address, size);
        Err(format!("can't read the code of {path}"))
    }
    /// The virtual address of the symbol `name` (any type) of the ELF file `path`.
    fn elf_symbol(&self, path: &str, name: &str) -> Result<Option<u64>, String> {
        let _ = name;
        Err(format!("can't read symbols of {path}"))
    }
    /// The ELF files mapped by process `pid` (for `usdt:*:...` with `-p`).
    fn process_binaries(&self, pid: i32) -> Result<Vec<String>, String> {
        Err(format!("can't read the mappings of process {pid}"))
    }
    /// The ELF files mapped by any running process (for `usdt:*:...` without `-p`).
    fn running_binaries(&self) -> Result<Vec<String>, String> {
        Err("can't read the mappings of the running processes".into())
    }
    /// The raw BTF of the kernel (`module` None: vmlinux) or of a kernel module (split BTF on
    /// top of vmlinux's), or why it can't be had.
    fn kernel_btf(&self, module: Option<&str>) -> Result<Vec<u8>, String> {
        let _ = module;
        Err("kernel BTF is not available".into())
    }
    /// The same as [`TypeSource::kernel_btf`], possibly without a copy: a source can hand out
    /// a read-only mapping of the file (the compiler reads vmlinux's 5 MB of BTF this way).
    fn kernel_btf_bytes(&self, module: Option<&str>) -> Result<btf::BtfBytes, String> {
        self.kernel_btf(module).map(btf::BtfBytes::from)
    }
    /// An index of vmlinux's BTF kept from an earlier run ([`btf::Btf::index_bytes`]), when the
    /// source keeps one for the running kernel: it spares a compilation the walk of vmlinux's
    /// types and a search of its strings per name. It is checked against the BTF it is used
    /// with, and built again when it doesn't fit.
    fn stored_btf_index(&self) -> Option<btf::BtfBytes> {
        None
    }
    /// Keeps an index of vmlinux's BTF for later runs (best effort), when the source has a place
    /// for it: only then is `index` called to build it (a few milliseconds).
    fn store_btf_index(&self, index: &dyn Fn() -> Vec<u8>) {
        let _ = index;
    }
    /// Whether kernel BTF is available (defines `BPFTRACE_HAVE_BTF` for the preamble).
    fn has_kernel_btf(&self) -> bool {
        self.kernel_btf(None).is_ok()
    }
    /// The names of kernel modules that have BTF.
    fn btf_modules(&self) -> Vec<String> {
        Vec::new()
    }
    /// Finds a header named in `#include <name>` (`quoted` false) or `#include "name"`
    /// (`quoted` true; `from` is the directory of the including file, if any): its path and
    /// text, or None when no include directory has it.
    fn header(&self, name: &str, quoted: bool, from: Option<&str>) -> Option<(String, String)> {
        let _ = (name, quoted, from);
        None
    }
    /// Whether a kernel source tree's headers (where bpftrace also looks: `BPFTRACE_KERNEL_SOURCE`
    /// and `BPFTRACE_KERNEL_BUILD`, else /lib/modules/RELEASE/{source,build}) have `name`. btc
    /// doesn't parse kernel headers: their types come from kernel BTF.
    fn kernel_header(&self, name: &str) -> bool {
        let _ = name;
        false
    }
    /// Files given with `--include`, as (path, text) or the name when it can't be found,
    /// included before the preamble.
    fn forced_includes(&self) -> Vec<Result<(String, String), String>> {
        Vec::new()
    }
    /// The bytes of a user-space binary (for DWARF types of uprobe arguments).
    fn binary(&self, path: &str) -> Result<Vec<u8>, String> {
        Err(format!("can't read {path}"))
    }
}

/// A [`TypeSource`] that knows nothing: every lookup fails.
pub struct NoTypes;

impl TypeSource for NoTypes {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        Err(format!("tracepoint not found: {category}:{name}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_bpfprog::Ty;

    fn int(bits: u8) -> Type {
        Type::Int { bits, signed: true }
    }

    #[test]
    fn tuples_keep_member_widths_and_put_structs_anywhere() {
        let pair = Record {
            name: "pair".into(),
            fields: vec![RecordField::new("m", 0, int(32)), RecordField::new("n", 4, int(16))],
            size: 8,
        };
        let s = Type::Struct(Rc::new(StructRef::resolved(RecordKind::Struct, pair, Origin::C)));
        let t = Type::Tuple(vec![int(8), s.clone(), int(16), Type::Array { elem: Box::new(int(32)), count: 2 }]);
        let Ty::Tuple { fields, size } = t.layout() else { panic!("not a tuple") };
        assert_eq!(fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 1, 10, 12]);
        assert_eq!(size, 20);
        assert_eq!(t.c_size(), 20);
        assert_eq!(fields[0].ty, Ty::Int { bytes: 1, signed: true });
        // printf arguments stay 8-byte integers.
        let Ty::Tuple { fields, size } = Type::args_layout(&[int(8), int(16)]) else { panic!("not a tuple") };
        assert_eq!((fields[1].offset, size), (8, 16));
        assert_eq!(s.layout().size(), 8);
    }
}
