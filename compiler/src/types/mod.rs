//! The type model of the language, and the sources of external types (tracepoint formats; BTF,
//! DWARF and the C preamble to come).

use std::fmt;
use std::rc::Rc;

pub mod targets;
pub mod tracepoint;

/// Default size of strings (BPFTRACE_STRLEN).
pub const DEFAULT_STRLEN: u32 = 64;

/// The type of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Int { bits: u8, signed: bool },
    /// A NUL-terminated string in a buffer of `len` bytes.
    Str { len: u32 },
    Ptr { pointee: Box<Type>, user: bool },
    Array { elem: Box<Type>, count: u32 },
    Tuple(Vec<Type>),
    /// A record such as the arguments of a tracepoint (`args`).
    Record(Rc<Record>),
    /// The result of an aggregate function (count(), sum()); only assignable to a map.
    Agg(AggKind),
    /// No value (statement-only functions such as printf).
    Void,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub fields: Vec<RecordField>,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordField {
    pub name: String,
    pub offset: u32,
    pub ty: Type,
    /// A tracepoint `__data_loc` field: a u32 holding (length << 16 | offset) of the data.
    pub data_loc: bool,
}

impl Record {
    pub fn field(&self, name: &str) -> Option<&RecordField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Type {
    pub const U64: Type = Type::Int { bits: 64, signed: false };
    pub const I64: Type = Type::Int { bits: 64, signed: true };
    pub const U32: Type = Type::Int { bits: 32, signed: false };

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

    /// How values of this type are stored in maps and events.
    pub fn layout(&self) -> btc_bpfprog::Ty {
        match self {
            // Integers travel as 64-bit values with their signedness (as bpftrace stores them).
            Type::Int { signed, .. } => btc_bpfprog::Ty::Int { bytes: 8, signed: *signed },
            Type::Ptr { .. } => btc_bpfprog::Ty::U64,
            Type::Str { len } => btc_bpfprog::Ty::Str { len: *len },
            Type::Tuple(elems) => btc_bpfprog::Ty::tuple(elems.iter().map(Type::layout).collect()),
            Type::Array { elem, count } => {
                btc_bpfprog::Ty::tuple((0..*count).map(|_| elem.layout()).collect())
            }
            Type::Record(r) => btc_bpfprog::Ty::tuple(r.fields.iter().map(|f| f.ty.layout()).collect()),
            Type::Agg(_) | Type::Void => btc_bpfprog::Ty::U64,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
            Type::Agg(AggKind::Hist { k }) if *k > 0 => write!(f, "hist_t(k={k})"),
            Type::Agg(AggKind::Lhist { min, max, step }) => write!(f, "lhist_t({min}, {max}, {step})"),
            Type::Agg(a) => write!(f, "{}", a.type_name()),
            Type::Void => write!(f, "void"),
        }
    }
}

/// Where the compiler gets types it cannot see in the script. The CLI implements it over the
/// running kernel (tracefs); tests implement it over fixtures. The compiler never reads the
/// system itself.
pub trait TypeSource {
    /// The text of the format file of tracepoint `category:name`, or why it can't be had.
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String>;
    /// Every tracepoint as (category, name), for wildcard expansion.
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String>;
    /// Kernel functions that kprobes can attach to (available_filter_functions).
    fn kernel_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        Err("the list of traceable kernel functions is not available".into())
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
