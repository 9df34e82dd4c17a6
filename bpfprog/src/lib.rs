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
pub mod params;
pub mod portable;
pub mod printf;
pub mod process;
pub mod runtime;
pub mod skb;
pub mod usdt;
mod validate;
pub use elf::{metadata_bytes, read_metadata, section, MetaError};
pub use validate::{MAX_TYPE_DEPTH, MAX_VALUE_SIZE};
pub use portable::Portable;
pub use runtime::{Compat, MissingProbes, RuntimeConfig, RuntimeTy, StackMode, UserSymbolCache};
pub use skb::{SkbHeader, SKB_HEADER_SIZE, SKB_MAP};
pub use process::ProcessTarget;

/// Name of the ELF section that holds the JSON-encoded [`Metadata`].
pub const META_SECTION: &str = ".btc.meta";
/// Symbol of the global that holds the metadata bytes.
pub const META_SYMBOL: &str = "__btc_meta";
/// Version of the metadata schema. Bump on any incompatible change.
///
/// 2: [`Metadata::source`] and [`Metadata::requires`].
/// 3: [`Requires::params`]: positional parameters taken at run time.
pub const FORMAT_VERSION: u32 = 3;
/// Name of the BPF ring buffer map all async actions go through.
pub const RINGBUF_MAP: &str = "btc_ringbuf";
/// Default size of the ring buffer in bytes (must be a power of two multiple of the page size).
pub const RINGBUF_SIZE: u32 = 64 * 4096;
/// Name of the per-CPU array map counting events lost because the ring buffer was full.
pub const LOST_MAP: &str = "btc_lost";
/// Name of the per-CPU array map counting, per user map (indexed like [`Metadata::maps`]), the
/// updates dropped because the map was full (BPFTRACE_MAX_MAP_KEYS). Objects without user map
/// updates don't have it.
pub const FULL_MAP: &str = "btc_full";
/// `-E2BIG`: what `bpf_map_update_elem` returns when a map is full.
pub const E2BIG: i64 = -7;

/// Everything the runtime needs to know about a compiled program besides the BPF code itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// [`FORMAT_VERSION`] at the time of compilation.
    pub version: u32,
    /// Version of btc that compiled the object, e.g. `btc 0.1.0`.
    pub compiler: String,
    /// The script the object was compiled from.
    pub source: SourceInfo,
    /// What a run of the object needs from its command line.
    pub requires: Requires,
    /// Probes in source order. Each one is one BPF program.
    pub probes: Vec<Probe>,
    /// User-visible maps (`@name`), in order of first appearance.
    pub maps: Vec<MapInfo>,
    /// printf-like formats, indexed by the `index` of an event header.
    pub formats: Vec<FormatInfo>,
    /// Settings of the script's config block that the runtime applies.
    #[serde(default)]
    pub config: RuntimeConfig,
    /// Layouts of values sent by `print(value)`, indexed by the `index` of an event header.
    #[serde(default)]
    pub values: Vec<Ty>,
    /// Helper calls that report their errors (`-k`, `-kk`), indexed by the `index` of a
    /// [`ActionKind::HelperError`] event.
    #[serde(default)]
    pub error_sites: Vec<ErrorSite>,
    /// BPFTRACE_STRLEN at compile time: the size of the buffer `str()` reads into. A string of
    /// that size that fills it (`strlen - 1` bytes before the NUL) may have been cut, and the
    /// runtime prints it with the truncation trailer (BPFTRACE_STR_TRUNC_TRAILER). 0: unknown.
    #[serde(default)]
    pub strlen: u32,
    /// The pcap files of `skboutput()`, indexed by the `pcap` of a [`SkbHeader`]; each path
    /// once, as written in the script (relative paths are relative to the runtime's directory).
    #[serde(default)]
    pub pcaps: Vec<String>,
    /// What the object relies on that another machine may not have, checked at load.
    #[serde(default, skip_serializing_if = "Portable::is_empty")]
    pub portable: Portable,
}

/// The script an object was compiled from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The script's name as btc was given it (`stdin` for `-e` or standard input).
    pub name: String,
    /// SHA-256 of the script's text, in lower-case hex: what `sha256sum SCRIPT` prints.
    pub sha256: String,
}

/// What an object needs from the command line that runs it. These are facts about the script
/// (what it calls and refers to), not about the command line that compiled it, so they stay
/// true however the values are supplied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requires {
    /// The unsafe functions the script calls (`system`, `signal`, `override`), sorted, each
    /// once: the object runs only with `--unsafe`.
    pub unsafe_functions: Vec<String>,
    /// The script reads `cpid`: the object runs only with `-c CMD`.
    pub child: bool,
    /// Attach points (as written) that act on the traced process: `watchpoint:FUNC+argN`,
    /// and uprobes and USDT probes that name no binary. The object runs only with `-c CMD` or
    /// `-p PID`.
    pub process_probes: Vec<String>,
    /// The highest positional parameter the script refers to (`$N`, in actions or attach
    /// points); 0 when it refers to none.
    pub positional: u32,
    /// The script reads `$#`, the number of positional parameters.
    pub param_count: bool,
    /// How the object takes its positional parameters when it runs (slots in `.rodata` the
    /// runtime fills, attach points it completes) and which ones the compile built into the
    /// code: the only part of `Requires` that depends on the compiling command line.
    #[serde(default)]
    pub params: params::Params,
}

/// A helper call in the source, for reporting its run-time errors as bpftrace does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSite {
    /// The helper's name, e.g. `probe_read_user`.
    pub helper: String,
    /// `FILE:LINE:COL-COL`.
    pub location: String,
    pub line: u32,
    pub col: u32,
    /// The source line and a `~~~` marker under the call.
    pub excerpt: String,
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
    /// Set when the attach targets are found in the traced process when the object runs
    /// (compiled without `-p`/`-c`); `kind` is then a template (see [`ProcessTarget`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessTarget>,
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
    /// `software:EVENT[:count]`: a perf software event (`config` is its `PERF_COUNT_SW_*` id) on
    /// every CPU, firing once every `period` events.
    Software { event: String, config: u64, period: u64 },
    /// `hardware:EVENT[:count]`: a perf hardware event (`PERF_COUNT_HW_*`) on every CPU.
    Hardware { event: String, config: u64, period: u64 },
    /// `rawtracepoint:NAME`: a BPF_PROG_TYPE_RAW_TRACEPOINT program on the tracepoint `name`;
    /// with `btf`, a BTF-typed one (`tp_btf`, BPF_PROG_TYPE_TRACING), whose target libbpf
    /// resolves at load (used when the probe calls `skboutput()`, which only tracing programs
    /// may).
    RawTracepoint {
        name: String,
        #[serde(default)]
        btf: bool,
    },
    /// `kprobe:[MODULE:]FUNC[+OFFSET]` and `kretprobe` (`ret`). `optional` is set for probes
    /// that came from a wildcard or from a block with several attach points: when one of those
    /// can't attach, the run warns and goes on (bpftrace's rule) instead of failing.
    Kprobe { func: String, module: Option<String>, offset: u64, ret: bool, optional: bool },
    /// `kfunc` / `kretfunc` (`ret`): fentry/fexit programs. The attach target is resolved by
    /// libbpf from the section name when the object is loaded.
    Kfunc { func: String, module: Option<String>, ret: bool },
    /// `uprobe` / `uretprobe` (`ret`) on the ELF file `path`: at the function `symbol` (its ELF
    /// name, mangled for C++) plus `offset`, or, without a symbol, at the virtual address
    /// `offset`. The runtime resolves symbols again when it attaches.
    ///
    /// `optional`: the probe came from a wildcard or from a block with several attach points, so
    /// a function that can't be attached safely (size 0) is skipped with a warning rather than
    /// failing the run (bpftrace's rule). `also`: the other functions of a wildcard that the
    /// same program attaches to (entries, offset 0), through one uprobe_multi link where the
    /// kernel has them, as bpftrace 0.20 does, else through one uprobe each.
    Uprobe {
        path: String,
        symbol: Option<String>,
        offset: u64,
        ret: bool,
        #[serde(default)]
        optional: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also: Vec<String>,
    },
    /// One site of a USDT probe: the uprobe at virtual address `address` of `path`; `semaphore`
    /// is the virtual address of the probe's semaphore (incremented while attached).
    ///
    /// `args`: the note's argument specification (`-4@%edi 8@%rsi`) the program's code reads
    /// its arguments by; the runtime refuses to attach when the binary's note says otherwise
    /// (the binary changed since the object was compiled). None for a site found at run time,
    /// whose program reads the locations from [`usdt::USDT_SPECS_MAP`] instead.
    Usdt {
        path: String,
        provider: String,
        name: String,
        address: u64,
        semaphore: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<String>,
    },
    /// `watchpoint` / `asyncwatchpoint` on `address` (`len` bytes, `mode` made of r, w, x): a
    /// perf breakpoint event. With a PID it watches that process's memory, without one the
    /// kernel's.
    Watchpoint { address: u64, len: u8, mode: String, is_async: bool },
    /// `watchpoint:FUNC+argN:LEN:MODE` / `asyncwatchpoint:...`: the watched address is argument
    /// `arg` of `func` in the traced process (`-p` or `-c`), known only when `func` runs. The
    /// program [`watch_setter`]`(prog)`, a uprobe on `func` in that process's binary, sends a
    /// [`ActionKind::WatchpointSet`] event with the address (and, unless `is_async`, SIGSTOPs
    /// the process); the runtime then opens the breakpoint, attaches `prog` to it and, for the
    /// synchronous form, sends SIGCONT.
    WatchFunc { func: String, arg: u8, len: u8, mode: String, is_async: bool },
    /// `iter:TARGET[:PIN]`: a BPF iterator (task, task_file, task_vma). Its output is read once
    /// and printed, or, with `pin`, the iterator is pinned to that path (relative paths are
    /// under /sys/fs/bpf).
    Iter { target: String, pin: Option<String> },
}

/// bpftrace 0.20's name of the probe of one function of `watchpoint:FUNC*+argN:LEN:MODE` (or
/// `asyncwatchpoint`): `watchpoint:PROGRAM:FUNC[:N]:LEN:MODE`, the argument number only when it
/// isn't 0.
pub fn watch_func_name(is_async: bool, program: &str, func: &str, arg: u8, len: u8, mode: &str) -> String {
    let provider = if is_async { "asyncwatchpoint" } else { "watchpoint" };
    let arg = if arg == 0 { String::new() } else { format!(":{arg}") };
    format!("{provider}:{program}:{func}{arg}:{len}:{mode}")
}

/// The name of the uprobe program that arms the watchpoint program `prog` of a
/// [`ProbeKind::WatchFunc`] probe.
pub fn watch_setter(prog: &str) -> String {
    format!("{prog}_set")
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
    /// Declared `lruhash` / `percpulruhash` (bpftrace 0.26): a `BPF_MAP_TYPE_LRU_HASH` or
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH` instead of the (per-CPU) hash map its value implies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lru: bool,
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
    /// `min(n)`: per-CPU `{ value: i64, set: u64 }`; the minimum over CPUs where `set` is 1.
    Min,
    /// `max(n)`: as `Min`, the maximum.
    Max,
    /// `avg(n)`: per-CPU `{ total: i64, count: u64 }`, summed; printed as total / count.
    Avg,
    /// `stats(n)`: as `Avg`, printed as `count C, average A, total T`.
    Stats,
    /// `hist(n, k)`: per-CPU u64 counts. The BPF key is the user key followed by a u64 bucket
    /// index at offset [`hist_bucket_offset`]; the bucket of n is given by [`log2_bucket`].
    Hist { k: u8 },
    /// `lhist(n, min, max, step)`: as `Hist`, with buckets given by [`linear_bucket`].
    Lhist { min: i64, max: i64, step: i64 },
}

impl MapValue {
    /// Whether the map stores one value per CPU, combined in user space.
    pub fn per_cpu(&self) -> bool {
        !matches!(self, MapValue::Plain { .. })
    }

    /// Whether the BPF key has a bucket index after the user key.
    pub fn bucketed(&self) -> bool {
        matches!(self, MapValue::Hist { .. } | MapValue::Lhist { .. })
    }

    /// Size of the BPF value in bytes.
    pub fn value_size(&self) -> u32 {
        match self {
            MapValue::Plain { ty } => ty.size(),
            MapValue::Count | MapValue::Sum | MapValue::Hist { .. } | MapValue::Lhist { .. } => 8,
            MapValue::Min | MapValue::Max | MapValue::Avg | MapValue::Stats => 16,
        }
    }
}

/// Offset of the bucket index in the BPF key of a histogram map whose user key is `key`.
pub fn hist_bucket_offset(key: &Ty) -> u32 {
    key.size().next_multiple_of(8)
}

/// The bucket of `n` in a log2 histogram with 2^k buckets per power of two:
/// 0 for negative values, n + 1 for 0 <= n < 2^k, then ((log2(n) - k + 1) << k) + the k bits
/// after the leading one + 1. The BPF code computes the same.
pub fn log2_bucket(n: i64, k: u8) -> u64 {
    if n < 0 {
        return 0;
    }
    let n = n as u64;
    let mask = (1u64 << k) - 1;
    if n <= mask {
        return n + 1;
    }
    let l = u64::from(63 - n.leading_zeros()) - u64::from(k);
    let x = (n >> l) & mask;
    ((l + 1) << k) + x + 1
}

/// The range `[lo, hi)` of values in log2 bucket `index` (index >= 1), as (lo, hi).
pub fn log2_bucket_range(index: u64, k: u8) -> (u64, u64) {
    let pow = 1u64 << k;
    if index <= pow {
        return (index - 1, index);
    }
    let j = index - 1;
    let l = (j >> k) - 1;
    let x = j & (pow - 1);
    let lo = (pow + x).checked_shl(l as u32).unwrap_or(u64::MAX);
    let hi = (pow + x + 1).checked_shl(l as u32).unwrap_or(u64::MAX);
    (lo, hi)
}

/// The bucket of `n` in a linear histogram: 0 below `min`, the last (`(max - min) / step + 1`)
/// from `max` up, else `(n - min) / step + 1`.
pub fn linear_bucket(n: i64, min: i64, max: i64, step: i64) -> u64 {
    if n < min {
        0
    } else if n >= max {
        ((max - min) / step + 1) as u64
    } else {
        ((n - min) / step + 1) as u64
    }
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
    /// A C struct or union copied by value: named fields at their offsets, printed as
    /// `{ .a = 1, .b = 2 }`.
    Record { fields: Vec<NamedField>, size: u32 },
    /// A C array of `count` elements of `elem`, one after another, printed as `[1,2,3]`.
    Array { elem: Box<Ty>, count: u32 },
    /// A bitfield inside a record: `bits` bits starting `shift` bits into its first byte.
    Bits { shift: u8, bits: u8, signed: bool },
    /// A value the runtime formats (a symbol, a stack, an address, a timestamp, ...).
    Runtime(RuntimeTy),
}

/// One field of a [`Ty::Record`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamedField {
    pub name: String,
    pub offset: u32,
    pub ty: Ty,
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
            Ty::Tuple { size, .. } | Ty::Record { size, .. } => *size,
            Ty::Array { elem, count } => elem.size().saturating_mul(*count),
            Ty::Bits { shift, bits, .. } => (u32::from(*shift) + u32::from(*bits)).div_ceil(8),
            Ty::Runtime(r) => r.size(),
        }
    }

    /// Alignment in bytes of a member of a tuple, by bpftrace 0.20's rules (so `sizeof` of a
    /// tuple is bpftrace's): integers by their size; strings and C structs (records) at any
    /// byte; arrays of at most 2 bytes by their size, larger ones by their element; tuples by
    /// their most aligned member. Runtime values hold u64s and stay 8-aligned.
    pub fn align(&self) -> u32 {
        match self {
            Ty::Int { bytes, .. } => u32::from(*bytes).max(1),
            Ty::Str { .. } | Ty::Record { .. } | Ty::Bits { .. } => 1,
            Ty::Tuple { fields, .. } => fields.iter().map(|f| f.ty.align()).max().unwrap_or(1),
            Ty::Array { elem, .. } => match self.size() {
                s @ 1..=2 => s,
                _ => elem.align(),
            },
            Ty::Runtime(r) => r.align(),
        }
    }

    /// Lays out `tys` one after another, each at the next multiple of its [`Ty::align`], the
    /// whole padded to the largest alignment (C's rule with bpftrace's alignments).
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

/// The path `path` (a file of process `pid` reached through /proc/PID/root) has inside the
/// process, as /proc/PID/maps names it: bpftrace's probe names show that one.
pub fn path_in_process(path: &str, pid: i32) -> &str {
    path.strip_prefix(&format!("/proc/{pid}/root")).filter(|p| p.starts_with('/')).unwrap_or(path)
}

/// Matches a probe name against a pattern with `*` (any run) and `?` (any one character): the
/// rule for wildcards in attach points, shared by the compiler (expansion) and the runtime
/// (listing).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
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
    /// `print(@map)`: `index` is the map. Payload: u64 top, u64 div (0 = all / no division).
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
    /// `clear(@map)`: `index` is the map.
    ClearMap = 4,
    /// `zero(@map)`: `index` is the map.
    ZeroMap = 5,
    /// `print(value)`: `index` is a [`Metadata::values`] entry giving the payload's layout.
    PrintValue = 6,
    /// A BPF helper failed (`-k`, `-kk`): `index` is a [`Metadata::error_sites`] entry; the
    /// payload is the helper's i64 return code.
    HelperError = 7,
    /// A `watchpoint:FUNC+argN` setter ran: `index` is the probe (in [`Metadata::probes`]);
    /// payload: the u64 address to watch.
    WatchpointSet = 64,
    /// `unwatch(addr)`: payload: the u64 address whose watchpoints are removed.
    Unwatch = 65,
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
            4 => Some(ActionKind::ClearMap),
            5 => Some(ActionKind::ZeroMap),
            6 => Some(ActionKind::PrintValue),
            7 => Some(ActionKind::HelperError),
            64 => Some(ActionKind::WatchpointSet),
            65 => Some(ActionKind::Unwatch),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_a_process_drop_its_root() {
        assert_eq!(path_in_process("/proc/7/root/usr/lib/libc.so.6", 7), "/usr/lib/libc.so.6");
        assert_eq!(path_in_process("/usr/lib/libc.so.6", 7), "/usr/lib/libc.so.6");
    }


    #[test]
    fn log2_buckets_match_bpftrace() {
        let idx: Vec<u64> = [-5, 0, 1, 2, 3, 4, 1000].iter().map(|&n| log2_bucket(n, 0)).collect();
        assert_eq!(idx, [0, 1, 2, 3, 3, 4, 11]);
        assert_eq!(log2_bucket_range(2, 0), (1, 2));
        assert_eq!(log2_bucket_range(3, 0), (2, 4));
        assert_eq!(log2_bucket_range(11, 0), (512, 1024));
        for k in 0..=5u8 {
            for n in [0i64, 1, 2, 3, 5, 7, 8, 100, 1023, 1024, 1 << 40, i64::MAX] {
                let (lo, hi) = log2_bucket_range(log2_bucket(n, k), k);
                assert!(lo <= n as u64 && (n as u64) < hi || hi == u64::MAX, "n={n} k={k} [{lo},{hi})");
            }
        }
    }

    #[test]
    fn linear_buckets() {
        assert_eq!(linear_bucket(-1, 0, 100, 10), 0);
        assert_eq!(linear_bucket(5, 0, 100, 10), 1);
        assert_eq!(linear_bucket(99, 0, 100, 10), 10);
        assert_eq!(linear_bucket(100, 0, 100, 10), 11);
        assert_eq!(linear_bucket(250, 0, 100, 10), 11);
    }

    #[test]
    fn tuple_layout_follows_c_alignment() {
        let t = Ty::tuple(vec![Ty::Int { bytes: 1, signed: false }, Ty::U64, Ty::Str { len: 3 }]);
        let Ty::Tuple { fields, size } = t else { panic!("not a tuple") };
        assert_eq!(fields.iter().map(|f| f.offset).collect::<Vec<_>>(), vec![0, 8, 16]);
        assert_eq!(size, 24);
    }

    #[test]
    fn tuple_members_align_as_in_bpftrace() {
        let int = |bytes| Ty::Int { bytes, signed: true };
        let offsets = |t: &Ty| match t {
            Ty::Tuple { fields, .. } => fields.iter().map(|f| f.offset).collect::<Vec<_>>(),
            _ => vec![],
        };
        // Integers by their size, strings anywhere.
        let t = Ty::tuple(vec![int(1), int(2), int(4)]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 2, 4], 8));
        let t = Ty::tuple(vec![int(4), int(2), int(1)]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 4, 6], 8));
        let t = Ty::tuple(vec![
            int(1),
            int(1),
            Ty::Str { len: 7 },
            int(8),
            int(4),
            int(8),
            int(1),
            int(2),
            Ty::Str { len: 4 },
        ]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 1, 2, 16, 24, 32, 40, 42, 44], 48));
        // A C struct at any byte; an array by its element, or by its size when that is 1 or 2.
        let rec = Ty::Record { fields: vec![NamedField { name: "m".into(), offset: 0, ty: int(4) }], size: 8 };
        let t = Ty::tuple(vec![int(1), rec.clone(), int(1)]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 1, 9], 10));
        let arr = |elem: Ty, count| Ty::Array { elem: Box::new(elem), count };
        let t = Ty::tuple(vec![int(1), arr(int(4), 4)]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 4], 20));
        let t = Ty::tuple(vec![int(1), arr(int(1), 2), arr(rec, 2)]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 2, 4], 20));
        // A nested tuple by its most aligned member.
        let inner = Ty::tuple(vec![int(1), int(4)]);
        let t = Ty::tuple(vec![int(2), inner]);
        assert_eq!((offsets(&t), t.size()), (vec![0, 4], 12));
    }

    #[test]
    fn metadata_round_trips_and_checks_version() {
        let m = Metadata {
            version: FORMAT_VERSION,
            compiler: "test".into(),
            source: SourceInfo { name: "t.bt".into(), sha256: "00".repeat(32) },
            requires: Requires { unsafe_functions: vec!["system".into()], positional: 2, ..Requires::default() },
            probes: vec![Probe { prog: "p0".into(), name: "BEGIN".into(), kind: ProbeKind::Begin, process: None }],
            maps: vec![],
            formats: vec![FormatInfo { fmt: "%d\n".into(), args: Ty::tuple(vec![Ty::I64]) }],
            config: RuntimeConfig::default(),
            values: vec![],
            error_sites: vec![],
            strlen: 64,
            pcaps: vec!["a.pcap".into()],
            portable: Portable::default(),
        };
        assert_eq!(Metadata::from_bytes(&m.to_bytes()).ok(), Some(m.clone()));
        let old = String::from_utf8(m.to_bytes()).unwrap_or_default().replace(&format!("\"version\":{FORMAT_VERSION}"), "\"version\":0");
        assert!(matches!(Metadata::from_bytes(old.as_bytes()), Err(MetaError::Version { .. })));
    }
}
