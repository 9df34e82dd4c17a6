//! The type model of the language, and the sources of external types (tracepoint formats; BTF,
//! DWARF and the C preamble to come).

use std::fmt;
use std::rc::Rc;

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
    /// A value the runtime formats when printing (ksym, kstack, inet, timestamp, ...); it lives
    /// in memory, laid out as [`btc_bpfprog::RuntimeTy`] says.
    Runtime(btc_bpfprog::RuntimeTy),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    Count,
    Sum,
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
            Type::Runtime(r) => btc_bpfprog::Ty::Runtime(r.clone()),
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
            Type::Agg(AggKind::Count) => write!(f, "count_t"),
            Type::Agg(AggKind::Sum) => write!(f, "sum_t"),
            Type::Void => write!(f, "void"),
            Type::Runtime(r) => write!(f, "{}", r.name()),
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
