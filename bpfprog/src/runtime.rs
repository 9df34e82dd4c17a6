//! The part of the contract that concerns runtime-served values and settings: values the BPF side
//! only records (an address, a stack id, a timestamp, an errno) and the runtime turns into text
//! when it prints them ([`RuntimeTy`]), the settings the runtime honours ([`RuntimeConfig`]), and
//! the map through which the runtime hands values to BPF programs ([`VARS_MAP`]).

use serde::{Deserialize, Serialize};

/// Name of the BPF array map of u64 slots the runtime fills before attaching (see [`Var`]).
/// Objects that use none of the slots don't have it.
pub const VARS_MAP: &str = "btc_vars";

/// The slots of [`VARS_MAP`], by index.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `cpid`: the PID of the child started with `-c` (0 without one).
    Cpid = 0,
    /// `elapsed`: the `nsecs` (boot clock) value when tracing started.
    StartNs = 1,
    /// `nsecs(sw_tai)`: CLOCK_TAI minus CLOCK_BOOTTIME, in nanoseconds, when tracing started.
    TaiOffset = 2,
}

/// Number of slots of [`VARS_MAP`].
pub const VARS_SLOTS: u32 = 3;

/// The `.rodata` global holding the run's choices that the code branches on: one u64 per
/// [`RunSetting`]. Every object has it; the runtime writes the run's values into the object
/// before loading it ([`patch_run_settings`]), so the kernel sees a frozen read-only map and the
/// verifier drops the branches the run doesn't take (the `-k` checks cost nothing without `-k`).
pub const RUN_SETTINGS_SYMBOL: &str = "__btc_run";

/// The u64 slots of [`RUN_SETTINGS_SYMBOL`], by index.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunSetting {
    /// The [`HelperErrors`] level of `-k` / `-kk`.
    HelperErrors = 0,
}

/// Number of slots of [`RUN_SETTINGS_SYMBOL`].
pub const RUN_SETTINGS: u32 = 1;

/// `object` with `values` (one per [`RunSetting`], in order) written into
/// [`RUN_SETTINGS_SYMBOL`]; `None` when the object has no such global. Errors are one line.
pub fn patch_run_settings(object: &[u8], values: &[u64; RUN_SETTINGS as usize]) -> Result<Option<Vec<u8>>, String> {
    let range = match crate::elf::rodata_range(object, RUN_SETTINGS_SYMBOL, RUN_SETTINGS * 8) {
        Ok(r) => r,
        Err(e) if e.starts_with("the object has no symbol") => return Ok(None),
        Err(e) => return Err(format!("its run settings: {e}")),
    };
    let mut out = object.to_vec();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    out[range].copy_from_slice(&bytes);
    Ok(Some(out))
}

/// Which BPF helper errors `-k` / `-kk` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u64)]
pub enum HelperErrors {
    /// Errors are ignored (the default).
    #[default]
    Ignore = 0,
    /// `-k`: every helper but the `probe_read_*` family.
    Helpers = 1,
    /// `-kk`: every helper, and map reads that find no value.
    All = 2,
}

/// The word after a user address or stack id (`usym`, `ustack`): the PID in the low 32 bits,
/// and the index of the probe that recorded it in [`crate::Metadata::probes`], plus one, in
/// the high 32 bits (0: unknown). The probe tells the runtime which binary to read symbols
/// from when the process has exited.
pub fn user_pid_word(pid: u32, probe_index: u32) -> u64 {
    u64::from(pid) | (u64::from(probe_index.saturating_add(1)) << 32)
}

/// The PID and probe index (if recorded) of a [`user_pid_word`].
pub fn split_user_pid_word(word: u64) -> (u32, Option<u32>) {
    let pid = (word & 0xffff_ffff) as u32;
    let probe = (word >> 32) as u32;
    (pid, probe.checked_sub(1))
}

/// Prefix of the BPF stack trace maps; the map for stacks of at most N frames is `btc_stackN`.
pub const STACK_MAP_PREFIX: &str = "btc_stack";

/// The name of the stack trace map for stacks of at most `limit` frames.
pub fn stack_map_name(limit: u32) -> String {
    format!("{STACK_MAP_PREFIX}{limit}")
}

/// How `kstack` and `ustack` are printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackMode {
    /// One `symbol+offset` per line, indented.
    #[default]
    Bpftrace,
    /// perf's format: `\tADDRESS symbol+offset (module)`.
    Perf,
    /// Addresses only, in hex.
    Raw,
}

impl StackMode {
    /// Parses a mode as written in a script, a config block or BPFTRACE_STACK_MODE.
    pub fn parse(s: &str) -> Option<StackMode> {
        match s {
            "bpftrace" => Some(StackMode::Bpftrace),
            "perf" => Some(StackMode::Perf),
            "raw" => Some(StackMode::Raw),
            _ => None,
        }
    }
}

/// A value the BPF side records and the runtime formats. Each one lays out as noted (all
/// fields little-endian u64 unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuntimeTy {
    /// `ksym(addr)`: the address. Printed as the name of the kernel function containing it.
    Ksym,
    /// `usym(addr)`: address, then PID (see [`user_pid_word`]). Printed as the name of the user
    /// function containing it.
    Usym,
    /// `kstack`: the stack id in the map `map` (negative: no stack). 8 bytes.
    Kstack { map: String, mode: StackMode, limit: u32 },
    /// `ustack`: the stack id in `map`, then the PID (see [`user_pid_word`]). 16 bytes.
    Ustack { map: String, mode: StackMode, limit: u32 },
    /// `ntop([af,] addr)`: the address family, then 16 bytes of address. 24 bytes.
    Inet,
    /// `strftime(fmt, ns)`: nanoseconds since boot (or, with `epoch`, since the Unix epoch:
    /// `nsecs(tai)`, `nsecs(sw_tai)`), printed with `fmt`.
    Timestamp {
        fmt: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        epoch: bool,
    },
    /// `macaddr(p)`: 6 bytes, padded to 8.
    MacAddr,
    /// `cgroup_path(id[, filter])`: the cgroup id.
    CgroupPath { filter: Option<String> },
    /// `strerror(n)`: the error number.
    Strerror,
    /// `username`: the user id, printed as the user's name from /etc/passwd (empty when the
    /// id has none).
    Username,
    /// `buf(p, n)`: the number of bytes read, then `size` bytes.
    Buf { size: u32 },
    /// A pointer: the address. Printed in hex (`0x2e`) by print() and in maps, as a number by
    /// printf's integer conversions.
    Pointer,
    /// `probe` in a uprobe or USDT probe whose sites are found when the object runs
    /// ([`crate::ProcessTarget`]): the BPF cookie of the site that fired, printed as the name
    /// the runtime gave that site (`uprobe:/proc/PID/exe:FUNC`, as bpftrace names it).
    SiteName,
    /// A bool (bpftrace 0.26's `true`/`false`): 0 or 1 in `bytes` bytes (8 as a value of its
    /// own, 1 in a tuple). Printed `true`/`false`; a number to printf's integer conversions.
    Bool { bytes: u8 },
}

impl RuntimeTy {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        match self {
            RuntimeTy::Ksym
            | RuntimeTy::Kstack { .. }
            | RuntimeTy::Timestamp { .. }
            | RuntimeTy::MacAddr
            | RuntimeTy::CgroupPath { .. }
            | RuntimeTy::Strerror
            | RuntimeTy::Pointer
            | RuntimeTy::Username
            | RuntimeTy::SiteName => 8,
            RuntimeTy::Usym | RuntimeTy::Ustack { .. } => 16,
            RuntimeTy::Inet => 24,
            RuntimeTy::Buf { size } => 8 + size.next_multiple_of(8),
            RuntimeTy::Bool { bytes } => u32::from(*bytes),
        }
    }

    /// Alignment in bytes.
    pub fn align(&self) -> u32 {
        match self {
            RuntimeTy::Bool { bytes } => u32::from(*bytes).clamp(1, 8),
            _ => 8,
        }
    }

    /// The name of the type in messages (bpftrace's names).
    pub fn name(&self) -> &'static str {
        match self {
            RuntimeTy::Ksym => "ksym_t",
            RuntimeTy::Usym => "usym_t",
            RuntimeTy::Kstack { .. } => "kstack",
            RuntimeTy::Ustack { .. } => "ustack",
            RuntimeTy::Inet => "inet_t",
            RuntimeTy::Timestamp { .. } => "timestamp",
            RuntimeTy::MacAddr => "macaddr_t",
            RuntimeTy::CgroupPath { .. } => "cgroup_path_t",
            RuntimeTy::Strerror => "strerror_t",
            RuntimeTy::Pointer => "pointer",
            RuntimeTy::Username => "username",
            RuntimeTy::SiteName => "probe",
            RuntimeTy::Buf { .. } => "buf_t",
            RuntimeTy::Bool { .. } => "bool",
        }
    }
}

/// How user symbols are cached (BPFTRACE_CACHE_USER_SYMBOLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserSymbolCache {
    /// One cache per executable: the first process's address space stands for all.
    PerProgram,
    /// One cache per process (accurate with ASLR).
    PerPid,
    /// No caching.
    None,
}

impl UserSymbolCache {
    /// Parses the values bpftrace accepts.
    pub fn parse(s: &str) -> Option<UserSymbolCache> {
        match s {
            "PER_PROGRAM" => Some(UserSymbolCache::PerProgram),
            "PER_PID" => Some(UserSymbolCache::PerPid),
            "NONE" | "0" => Some(UserSymbolCache::None),
            _ => None,
        }
    }
}

/// Which bpftrace's output btc reproduces (`BTC_COMPAT`, `--compat`, the config block's
/// `compat`): bpftrace 0.20 unless asked for 0.26.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Compat {
    #[default]
    #[serde(rename = "0.20")]
    V020,
    #[serde(rename = "0.26")]
    V026,
}

impl Compat {
    /// Parses `0.20`/`0.26` (also `0.20.4`, `0.26.1`, `v0.26`).
    pub fn parse(s: &str) -> Option<Compat> {
        let t = s.trim().trim_matches('"').trim_start_matches('v');
        let minor = t.strip_prefix("0.").unwrap_or(t).split('.').next()?;
        match minor {
            "20" => Some(Compat::V020),
            "26" => Some(Compat::V026),
            _ => None,
        }
    }

    /// The version as written in BTC_COMPAT.
    pub fn as_str(self) -> &'static str {
        match self {
            Compat::V020 => "0.20",
            Compat::V026 => "0.26",
        }
    }

    /// bpftrace 0.26's output.
    pub fn v026(self) -> bool {
        self == Compat::V026
    }
}

/// Settings of a script's `config = { ... }` block that the runtime applies. Environment
/// variables take precedence over them; `None` means "not set in the script".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// BPFTRACE_PERF_RB_PAGES: pages per CPU of the event ring buffer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf_rb_pages: Option<u64>,
    /// BPFTRACE_CACHE_USER_SYMBOLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_user_symbols: Option<UserSymbolCache>,
    /// BPFTRACE_CPP_DEMANGLE (the inverse of BPFTRACE_NO_CPP_DEMANGLE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpp_demangle: Option<bool>,
    /// BPFTRACE_STR_TRUNC_TRAILER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub str_trunc_trailer: Option<String>,
    /// BPFTRACE_MAX_CAT_BYTES.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cat_bytes: Option<u64>,
    /// BPFTRACE_MAX_PROBES (checked when attaching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_probes: Option<u32>,
    /// BPFTRACE_LOG_SIZE: bytes of the verifier log kept to explain a program that fails to
    /// load; 0 leaves no room for it, and every program fails to load (as in bpftrace 0.20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_size: Option<u64>,
    /// Which bpftrace's output to reproduce (see [`Compat`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<Compat>,
    /// print_maps_on_exit (bpftrace 0.22+): `false` leaves the maps unprinted at exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print_maps_on_exit: Option<bool>,
    /// missing_probes (bpftrace 0.24+): what a probe that can't attach does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_probes: Option<MissingProbes>,
    /// show_debug_info (bpftrace 0.24+): `file:line` after symbols in stacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_debug_info: Option<bool>,
}

/// missing_probes: a probe that can't attach fails the run, is reported and skipped, or is
/// skipped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingProbes {
    Error,
    Warn,
    Ignore,
}

impl MissingProbes {
    pub fn parse(s: &str) -> Option<MissingProbes> {
        match s {
            "error" => Some(MissingProbes::Error),
            "warn" => Some(MissingProbes::Warn),
            "ignore" => Some(MissingProbes::Ignore),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ty;

    #[test]
    fn runtime_types_round_trip_through_json() {
        let ty = Ty::Runtime(RuntimeTy::Kstack { map: stack_map_name(127), mode: StackMode::Perf, limit: 127 });
        let json = serde_json::to_string(&ty).unwrap_or_default();
        assert_eq!(json, r#"{"type":"runtime","kind":"kstack","map":"btc_stack127","mode":"perf","limit":127}"#);
        assert_eq!(serde_json::from_str::<Ty>(&json).ok(), Some(ty));
        let t = Ty::tuple(vec![Ty::Runtime(RuntimeTy::Usym), Ty::Runtime(RuntimeTy::Inet)]);
        assert_eq!(t.size(), 40);
    }

    #[test]
    fn settings_parse_like_bpftrace() {
        assert_eq!(UserSymbolCache::parse("PER_PID"), Some(UserSymbolCache::PerPid));
        assert_eq!(UserSymbolCache::parse("per_pid"), None);
        assert_eq!(StackMode::parse("perf"), Some(StackMode::Perf));
        assert_eq!(StackMode::parse("x"), None);
    }
}
