//! Opening an object without loading it: its metadata, checked, and checked against the
//! programs and maps libbpf finds in it. `run` does this before it starts anything; `btc info`
//! shows the result.

use crate::kernel::object::{open_facts, MapFacts, ProgramFacts};
use crate::RuntimeError;
use btc_bpfprog::runtime::{VARS_MAP, VARS_SLOTS};
use btc_bpfprog::{hist_bucket_offset, MapValue, Metadata, ProbeKind, FULL_MAP, LOST_MAP, RINGBUF_MAP, SKB_MAP};

pub use crate::kernel::object::{MapFacts as MapReport, ProgramFacts as ProgramReport};

/// What an object is and needs.
#[derive(Debug, Clone)]
pub struct ObjectReport {
    pub meta: Metadata,
    /// Every program, in the object's order.
    pub programs: Vec<ProgramFacts>,
    /// Every map, user maps and btc's own.
    pub maps: Vec<MapFacts>,
    /// CO-RE relocations (kernel struct accesses libbpf fixes up against the kernel's BTF).
    pub core_relocations: usize,
    /// Each of them, with its program, instruction and target (`crate::relocs`).
    pub relocations: Vec<crate::relocs::CoreReloc>,
}

const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
const BPF_MAP_TYPE_RINGBUF: u32 = 27;

/// Reads and checks an object: what [`crate::run_object`] does before anything else.
pub fn inspect_object(bytes: &[u8]) -> Result<ObjectReport, RuntimeError> {
    let meta = btc_bpfprog::read_metadata(bytes)?;
    let ext = btc_bpfprog::section(bytes, ".BTF.ext")?;
    let (programs, maps) = open_facts(bytes).map_err(RuntimeError::BadObject)?;
    check(&meta, &programs, &maps).map_err(RuntimeError::BadObject)?;
    // The parameter area the runtime fills must be where the metadata says.
    let params = &meta.requires.params;
    if params.size > 0 {
        btc_bpfprog::params::symbol_range(bytes, &params.symbol, params.size).map_err(RuntimeError::BadObject)?;
    }
    let core_relocations = ext.map_or(0, core_relocation_count);
    let relocations = if core_relocations == 0 { Vec::new() } else { crate::relocs::core_relocations(bytes) };
    Ok(ObjectReport { meta, programs, maps, core_relocations, relocations })
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The number of CO-RE relocation records in a `.BTF.ext` section (0 when it has none or
/// can't be read: libbpf reports a bad one when it loads the object).
fn core_relocation_count(ext: &[u8]) -> usize {
    let count = || -> Option<usize> {
        if ext.get(0..2)? != [0x9f, 0xeb] {
            return None;
        }
        let hdr_len = le_u32(ext, 4)? as usize;
        if hdr_len < 32 {
            return Some(0);
        }
        let off = le_u32(ext, 24)? as usize;
        let len = le_u32(ext, 28)? as usize;
        let start = hdr_len.checked_add(off)?;
        let data = ext.get(start..start.checked_add(len)?)?;
        let rec = le_u32(data, 0)? as usize;
        if rec == 0 {
            return None;
        }
        let (mut at, mut n) = (4usize, 0usize);
        while at < data.len() {
            let num = le_u32(data, at.checked_add(4)?)? as usize;
            n = n.checked_add(num)?;
            at = at.checked_add(8)?.checked_add(num.checked_mul(rec)?)?;
        }
        Some(n)
    };
    count().unwrap_or(0)
}

fn map<'a>(maps: &'a [MapFacts], name: &str) -> Option<&'a MapFacts> {
    maps.iter().find(|m| m.name == name)
}

/// The map `name`, if present, is of type `ty` with u32 keys and u64 values.
fn check_counter(maps: &[MapFacts], name: &str, ty: u32, entries: std::ops::RangeInclusive<u32>) -> Result<(), String> {
    match map(maps, name) {
        Some(m) if m.map_type != ty || m.key_size != 4 || m.value_size != 8 || !entries.contains(&m.max_entries) => {
            Err(format!("map {name} is a {} of {} entries of {}-byte keys and {}-byte values", m.type_name, m.max_entries, m.key_size, m.value_size))
        }
        _ => Ok(()),
    }
}

/// Checks that the object has the programs and maps its metadata describes, with the sizes it
/// says: the runtime reads maps by these sizes and attaches programs by these names.
pub fn check(meta: &Metadata, programs: &[ProgramFacts], maps: &[MapFacts]) -> Result<(), String> {
    let has_prog = |name: &str| programs.iter().any(|p| p.name == name);
    for p in &meta.probes {
        if !has_prog(&p.prog) {
            return Err(format!("it has no program {} for probe {}", p.prog, p.name));
        }
        if matches!(p.kind, ProbeKind::WatchFunc { .. }) && !has_prog(&btc_bpfprog::watch_setter(&p.prog)) {
            return Err(format!("it has no setter program for probe {}", p.name));
        }
    }
    match map(maps, RINGBUF_MAP) {
        Some(m) if m.map_type == BPF_MAP_TYPE_RINGBUF => {}
        _ => return Err(format!("it has no ring buffer {RINGBUF_MAP}")),
    }
    check_counter(maps, LOST_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, 1..=u32::MAX)?;
    let user_maps = u32::try_from(meta.maps.len()).unwrap_or(u32::MAX).max(1);
    check_counter(maps, FULL_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, 1..=user_maps)?;
    check_counter(maps, VARS_MAP, BPF_MAP_TYPE_ARRAY, VARS_SLOTS..=VARS_SLOTS)?;
    if !meta.pcaps.is_empty() && map(maps, SKB_MAP).is_none_or(|m| m.map_type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        return Err(format!("it writes pcap files but has no perf event array {SKB_MAP}"));
    }
    for info in &meta.maps {
        let Some(m) = map(maps, &info.bpf_name) else {
            return Err(format!("it has no map {} for {}", info.bpf_name, info.name));
        };
        let key = if info.value.bucketed() { hist_bucket_offset(&info.key) + 8 } else { info.key.size() };
        let ty = match (matches!(info.value, MapValue::Plain { .. }), info.lru) {
            (true, false) => BPF_MAP_TYPE_HASH,
            (true, true) => BPF_MAP_TYPE_LRU_HASH,
            (false, false) => BPF_MAP_TYPE_PERCPU_HASH,
            (false, true) => BPF_MAP_TYPE_LRU_PERCPU_HASH,
        };
        if m.map_type != ty || m.key_size != key || m.value_size != info.value.value_size() {
            return Err(format!(
                "map {} ({}) is a {} of {}-byte keys and {}-byte values, not the {}-byte keys and {}-byte values its metadata describes",
                info.name,
                info.bpf_name,
                m.type_name,
                m.key_size,
                m.value_size,
                key,
                info.value.value_size()
            ));
        }
    }
    Ok(())
}

/// The name of BPF helper `id` (`enum bpf_func_id`) for the helpers btc's code calls; others
/// are shown by number.
pub fn helper_name(id: u32) -> String {
    let name = match id {
        1 => "map_lookup_elem",
        2 => "map_update_elem",
        3 => "map_delete_elem",
        4 => "probe_read",
        5 => "ktime_get_ns",
        6 => "trace_printk",
        7 => "get_prandom_u32",
        8 => "get_smp_processor_id",
        14 => "get_current_pid_tgid",
        15 => "get_current_uid_gid",
        16 => "get_current_comm",
        25 => "perf_event_output",
        27 => "get_stackid",
        35 => "get_current_task",
        36 => "probe_write_user",
        42 => "get_numa_node_id",
        45 => "probe_read_str",
        58 => "override_return",
        80 => "get_current_cgroup_id",
        109 => "send_signal",
        111 => "skb_output",
        112 => "probe_read_user",
        113 => "probe_read_kernel",
        114 => "probe_read_user_str",
        115 => "probe_read_kernel_str",
        117 => "send_signal_thread",
        118 => "jiffies64",
        125 => "ktime_get_boot_ns",
        126 => "seq_printf",
        130 => "ringbuf_output",
        131 => "ringbuf_reserve",
        132 => "ringbuf_submit",
        133 => "ringbuf_discard",
        147 => "d_path",
        158 => "get_current_task_btf",
        164 => "for_each_map_elem",
        173 => "get_func_ip",
        181 => "loop",
        184 => "get_func_ret",
        208 => "ktime_get_tai_ns",
        _ => return format!("helper {id}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_bpfprog::{MapInfo, Probe, Ty};

    fn facts() -> (Metadata, Vec<ProgramFacts>, Vec<MapFacts>) {
        let meta = Metadata {
            version: btc_bpfprog::FORMAT_VERSION,
            compiler: "btc test".into(),
            source: Default::default(),
            requires: Default::default(),
            probes: vec![Probe { prog: "btc_p0".into(), name: "BEGIN".into(), kind: ProbeKind::Begin, process: None }],
            maps: vec![MapInfo { name: "@".into(), bpf_name: "btc_m0".into(), key: Ty::U64, scalar: true, value: MapValue::Count, lru: false }],
            formats: vec![],
            config: Default::default(),
            values: vec![],
            error_sites: vec![],
            strlen: 64,
            pcaps: vec![],
            portable: Default::default(),
        };
        let prog = ProgramFacts { name: "btc_p0".into(), section: "raw_tp".into(), prog_type: "raw_tracepoint".into(), insns: 4, helpers: vec![] };
        let map = |name: &str, map_type, type_name: &str, key_size, value_size, max_entries| MapFacts {
            name: name.into(),
            map_type,
            type_name: type_name.into(),
            key_size,
            value_size,
            max_entries,
        };
        let maps = vec![
            map(RINGBUF_MAP, BPF_MAP_TYPE_RINGBUF, "ringbuf", 0, 0, 4096),
            map(LOST_MAP, BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array", 4, 8, 1),
            map("btc_m0", BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash", 8, 8, 4096),
        ];
        (meta, vec![prog], maps)
    }

    #[test]
    fn accepts_a_consistent_object() {
        let (meta, progs, maps) = facts();
        assert_eq!(check(&meta, &progs, &maps), Ok(()));
    }

    #[test]
    fn refuses_what_the_metadata_does_not_describe() {
        let (meta, progs, mut maps) = facts();
        maps[2].key_size = 16;
        assert!(check(&meta, &progs, &maps).is_err_and(|e| e.contains("map @ (btc_m0) is a percpu_hash of 16-byte keys")));
        let (meta, _, maps) = facts();
        assert_eq!(check(&meta, &[], &maps), Err("it has no program btc_p0 for probe BEGIN".into()));
        let (meta, progs, mut maps) = facts();
        maps.remove(0);
        assert!(check(&meta, &progs, &maps).is_err_and(|e| e.contains("no ring buffer")));
        let (meta, progs, mut maps) = facts();
        maps.push(MapFacts { name: FULL_MAP.into(), map_type: BPF_MAP_TYPE_PERCPU_ARRAY, type_name: "percpu_array".into(), key_size: 4, value_size: 8, max_entries: 1 << 30 });
        assert!(check(&meta, &progs, &maps).is_err_and(|e| e.contains("btc_full")));
    }

    #[test]
    fn counts_core_relocations() {
        // Header of 32 bytes; core relocations at offset 0 (after the header), 4 + 8 + 2*16 bytes.
        let mut ext = vec![0x9f, 0xeb, 1, 0];
        ext.extend(32u32.to_le_bytes());
        ext.extend([0u8; 16]);
        ext.extend(0u32.to_le_bytes());
        ext.extend(44u32.to_le_bytes());
        ext.extend(16u32.to_le_bytes());
        ext.extend(1u32.to_le_bytes());
        ext.extend(2u32.to_le_bytes());
        ext.extend([0u8; 32]);
        assert_eq!(core_relocation_count(&ext), 2);
        assert_eq!(core_relocation_count(&ext[..40]), 0);
        assert_eq!(core_relocation_count(b"junk"), 0);
    }
}
