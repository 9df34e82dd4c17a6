//! What libbpf sees in an object: its programs and maps, read by opening it (no kernel calls:
//! nothing is loaded). `inspect.rs` checks them against the metadata; `btc info` shows them.

use libbpf_rs::{AsRawLibbpf, ObjectBuilder, PrintLevel};
use std::ffi::CStr;

/// One program of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFacts {
    pub name: String,
    /// The ELF section (libbpf's convention for the program type and attach target).
    pub section: String,
    /// libbpf's name of the program type, e.g. `tracepoint`.
    pub prog_type: String,
    /// Instructions in the object (8-byte slots, as the verifier counts them), without the
    /// subprograms libbpf appends at load.
    pub insns: usize,
    /// The helper ids the program calls, sorted, each once.
    pub helpers: Vec<u32>,
}

/// One map of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapFacts {
    pub name: String,
    /// `enum bpf_map_type`.
    pub map_type: u32,
    /// libbpf's name of the map type, e.g. `percpu_hash`.
    pub type_name: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;

fn type_str(p: *const std::ffi::c_char, n: u32) -> String {
    if p.is_null() {
        return format!("type {n}");
    }
    // SAFETY: libbpf returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Opens `bytes` with libbpf and lists its programs and maps. The error is one line: the reason
/// libbpf gives (its last log line says best what is wrong).
pub fn open_facts(bytes: &[u8]) -> Result<(Vec<ProgramFacts>, Vec<MapFacts>), String> {
    super::capture_libbpf(PrintLevel::Warn);
    super::take_libbpf_log();
    let mut builder = ObjectBuilder::default();
    let opened = builder.name("btc").and_then(|b| b.open_memory(bytes));
    let log = super::take_libbpf_log();
    let open = opened.map_err(|e| {
        let last = log.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty() && !l.contains("skipping unrecognized"));
        let why = last.map_or_else(|| super::reason(&e), |l| l.trim_start_matches("libbpf: ").to_string());
        format!("libbpf can't open it: {}", why.split_whitespace().collect::<Vec<_>>().join(" "))
    })?;
    let programs = open
        .progs()
        .map(|p| {
            let mut helpers: Vec<u32> = p
                .insns()
                .iter()
                .filter(|i| i.code == CALL && i.src_reg() == 0)
                .filter_map(|i| u32::try_from(i.imm).ok())
                .collect();
            helpers.sort_unstable();
            helpers.dedup();
            // SAFETY: the program belongs to the open object, alive here.
            let t = unsafe { libbpf_rs::libbpf_sys::bpf_program__type(p.as_libbpf_object().as_ptr()) };
            // SAFETY: any value is accepted; unknown ones give NULL.
            let name = unsafe { libbpf_rs::libbpf_sys::libbpf_bpf_prog_type_str(t) };
            ProgramFacts {
                name: p.name().to_string_lossy().into_owned(),
                section: p.section().to_string_lossy().into_owned(),
                prog_type: type_str(name, t),
                insns: p.insn_cnt(),
                helpers,
            }
        })
        .collect();
    let maps = open
        .maps()
        .map(|m| {
            // SAFETY: the map belongs to the open object, alive here.
            let t = unsafe { libbpf_rs::libbpf_sys::bpf_map__type(m.as_libbpf_object().as_ptr()) };
            // SAFETY: any value is accepted; unknown ones give NULL.
            let name = unsafe { libbpf_rs::libbpf_sys::libbpf_bpf_map_type_str(t) };
            MapFacts {
                name: m.name().to_string_lossy().into_owned(),
                map_type: t,
                type_name: type_str(name, t),
                key_size: m.key_size(),
                value_size: m.value_size(),
                max_entries: m.max_entries(),
            }
        })
        .collect();
    Ok((programs, maps))
}
