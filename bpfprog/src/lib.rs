//! The contract between a btc-compiled BPF object and the btc runtime.
//!
//! This crate is the only definition of:
//! - the ELF section that carries btc's metadata ([`META_SECTION`]) and its schema ([`Metadata`]),
//! - the layout of event records sent through the ring buffer ([`EventHeader`], [`ActionKind`]),
//! - how values are laid out in maps and events ([`Ty`]).
//!
//! The compiler writes it, the runtime reads it. It depends on neither.

use serde::{Deserialize, Serialize};

mod elf;
pub mod runtime;
pub use elf::{read_metadata, MetaError};
pub use runtime::{RuntimeConfig, RuntimeTy, StackMode, UserSymbolCache};

/// Name of the ELF section that holds the JSON-encoded [`Metadata`].
pub const META_SECTION: &str = ".btc.meta";
/// Symbol of the global that holds the metadata bytes.
pub const META_SYMBOL: &str = "__btc_meta";
/// Version of the metadata schema. Bump on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the BPF ring buffer map all async actions go through.
pub const RINGBUF_MAP: &str = "btc_ringbuf";
/// Default size of the ring buffer in bytes (must be a power of two multiple of the page size).
pub const RINGBUF_SIZE: u32 = 64 * 4096;
/// Name of the per-CPU array map counting events lost because the ring buffer was full.
pub const LOST_MAP: &str = "btc_lost";

/// Everything the runtime needs to know about a compiled program besides the BPF code itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`FORMAT_VERSION`] at the time of compilation.
    pub version: u32,
    /// Version of btc that compiled the object.
    pub compiler: String,
    /// Probes in source order. Each one is one BPF program.
    pub probes: Vec<Probe>,
    /// User-visible maps (`@name`), in order of first appearance.
    pub maps: Vec<MapInfo>,
    /// printf-like formats, indexed by the `index` of an event header.
    pub formats: Vec<FormatInfo>,
    /// Settings of the script's config block that the runtime applies.
    #[serde(default)]
    pub config: RuntimeConfig,
}

/// One BPF program and where to attach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Name of the BPF function (and program) in the object.
    pub prog: String,
    /// The attach point as the user wrote it (after expansion of short names), e.g.
    /// `tracepoint:syscalls:sys_enter_openat`. This is what the `probe` builtin prints.
    pub name: String,
    pub kind: ProbeKind,
}

/// Where and how a program attaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProbeKind {
    /// Run once before all other probes (via BPF_PROG_TEST_RUN on a raw tracepoint program).
    Begin,
    /// Run once at exit (same mechanism as `Begin`).
    End,
    /// A perf software cpu-clock event on one CPU, every `period_ns` nanoseconds.
    Interval { period_ns: u64 },
    /// A perf software cpu-clock event on every CPU, every `period_ns` nanoseconds.
    Profile { period_ns: u64 },
    /// A kernel tracepoint.
    Tracepoint { category: String, name: String },
}

/// A user-visible map (`@name`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapInfo {
    /// The name as written by the user, including `@` (e.g. `@` or `@bytes`).
    pub name: String,
    /// The name of the BPF map in the object.
    pub bpf_name: String,
    /// Layout of the key. Maps without keys (`@x = 1`) have `scalar` set and a `u64` zero key.
    pub key: Ty,
    /// True when the map is used without keys (`@x`), printed as `@x: value`.
    pub scalar: bool,
    /// How values are stored and combined.
    pub value: MapValue,
}

/// What a map stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MapValue {
    /// A plain value of the given type, in a (non per-CPU) hash map.
    Plain { ty: Ty },
    /// `count()`: a per-CPU u64 summed across CPUs.
    Count,
    /// `sum(n)`: a per-CPU i64 summed across CPUs.
    Sum,
}

/// The layout of a value in a map or in an event record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Ty {
    /// A little-endian integer of `bytes` bytes (1, 2, 4 or 8).
    Int { bytes: u8, signed: bool },
    /// A NUL-terminated string in a fixed buffer of `len` bytes.
    Str { len: u32 },
    /// Fields laid out at the given offsets in a record of `size` bytes.
    Tuple { fields: Vec<Field>, size: u32 },
    /// A value the runtime formats (a symbol, a stack, an address, a timestamp, ...).
    Runtime(RuntimeTy),
}

/// One field of a [`Ty::Tuple`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    pub offset: u32,
    pub ty: Ty,
}

impl Ty {
    pub const U64: Ty = Ty::Int { bytes: 8, signed: false };
    pub const I64: Ty = Ty::Int { bytes: 8, signed: true };

    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            Ty::Int { bytes, .. } => u32::from(*bytes),
            Ty::Str { len } => *len,
            Ty::Tuple { size, .. } => *size,
            Ty::Runtime(r) => r.size(),
        }
    }

    /// Alignment in bytes.
    pub fn align(&self) -> u32 {
        match self {
            Ty::Int { bytes, .. } => u32::from(*bytes),
            Ty::Str { .. } => 1,
            Ty::Tuple { fields, .. } => fields.iter().map(|f| f.ty.align()).max().unwrap_or(1),
            Ty::Runtime(r) => r.align(),
        }
    }

    /// Lays out `tys` one after another with C alignment rules.
    pub fn tuple(tys: Vec<Ty>) -> Ty {
        let mut offset = 0u32;
        let mut align = 1u32;
        let mut fields = Vec::with_capacity(tys.len());
        for ty in tys {
            let a = ty.align();
            align = align.max(a);
            offset = offset.next_multiple_of(a);
            let size = ty.size();
            fields.push(Field { offset, ty });
            offset += size;
        }
        Ty::Tuple { fields, size: offset.next_multiple_of(align) }
    }
}

/// A printf-style format and the layout of its arguments in the event record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormatInfo {
    /// The format string with escapes already processed.
    pub fmt: String,
    /// The arguments, laid out after the [`EventHeader`] (offsets are relative to the end of the
    /// header).
    pub args: Ty,
}

/// The header of every record in the ring buffer.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventHeader {
    /// An [`ActionKind`] as `u32`.
    pub kind: u32,
    /// Meaning depends on `kind`: a format index for `Printf`, a map index for `PrintMap`.
    pub index: u32,
}

/// Size of [`EventHeader`] in bytes.
pub const EVENT_HEADER_SIZE: usize = std::mem::size_of::<EventHeader>();

impl EventHeader {
    /// Decodes a header from the start of a record.
    pub fn decode(data: &[u8]) -> Option<(EventHeader, &[u8])> {
        let kind = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
        let index = u32::from_le_bytes(data.get(4..8)?.try_into().ok()?);
        Some((EventHeader { kind, index }, &data[EVENT_HEADER_SIZE..]))
    }
}

/// What an event record asks the runtime to do.
///
/// Numbering: 1–31 core language actions (printf, exit, map printing, clear, zero, ...);
/// 32–63 runtime-served functions (time, strftime, system, cat, join, ...); 64–95 probe-related
/// actions. Numbers are part of the object format: never reuse one.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// `printf(fmt, ...)`: `index` is the format; the payload is the argument tuple.
    Printf = 1,
    /// `exit()`: stop tracing after this event.
    Exit = 2,
    /// `print(@map)`: `index` is the map.
    PrintMap = 3,
    /// `time(fmt)`: `index` is a format whose text is the strftime format; no payload.
    Time = 32,
    /// `system(fmt, ...)`: like `Printf`; the text is run as a shell command.
    System = 33,
    /// `cat(fmt, ...)`: like `Printf`; the text names a file to print.
    Cat = 34,
    /// `join(arr[, sep])`: `index` is a format whose text is the separator and whose arguments
    /// are the strings (an empty string ends the array).
    Join = 35,
}

impl ActionKind {
    pub fn from_u32(v: u32) -> Option<ActionKind> {
        match v {
            1 => Some(ActionKind::Printf),
            2 => Some(ActionKind::Exit),
            3 => Some(ActionKind::PrintMap),
            32 => Some(ActionKind::Time),
            33 => Some(ActionKind::System),
            34 => Some(ActionKind::Cat),
            35 => Some(ActionKind::Join),
            _ => None,
        }
    }
}

impl Metadata {
    /// Encodes the metadata as it is stored in [`META_SECTION`].
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain data structures to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes the bytes of [`META_SECTION`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Metadata, MetaError> {
        let probe: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| MetaError::Malformed(e.to_string()))?;
        let version = probe.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(FORMAT_VERSION) {
            return Err(MetaError::Version { found: version, expected: FORMAT_VERSION });
        }
        serde_json::from_value(probe).map_err(|e| MetaError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_layout_follows_c_alignment() {
        let t = Ty::tuple(vec![Ty::Int { bytes: 1, signed: false }, Ty::U64, Ty::Str { len: 3 }]);
        let Ty::Tuple { fields, size } = t else { panic!("not a tuple") };
        assert_eq!(fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 8, 16]);
        assert_eq!(size, 24);
    }

    #[test]
    fn metadata_round_trips_and_checks_version() {
        let m = Metadata {
            version: FORMAT_VERSION,
            compiler: "test".into(),
            probes: vec![Probe { prog: "p0".into(), name: "BEGIN".into(), kind: ProbeKind::Begin }],
            maps: vec![],
            formats: vec![FormatInfo { fmt: "%d\n".into(), args: Ty::tuple(vec![Ty::I64]) }],
            config: RuntimeConfig::default(),
        };
        assert_eq!(Metadata::from_bytes(&m.to_bytes()).ok(), Some(m.clone()));
        let old = String::from_utf8(m.to_bytes()).unwrap_or_default().replace("\"version\":1", "\"version\":0");
        assert!(matches!(Metadata::from_bytes(old.as_bytes()), Err(MetaError::Version { .. })));
    }
}
