use super::*;
use crate::maps::RawValue;
use btc_bpfprog::{FormatInfo, MapValue, Probe, ProbeKind, FORMAT_VERSION};
use std::collections::HashMap;

struct FakeMaps(HashMap<String, RawEntries>);

impl MapReader for FakeMaps {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError> {
        self.0.get(&info.bpf_name).cloned().ok_or_else(|| RuntimeError::MissingMap(info.bpf_name.clone()))
    }
    fn clear_map(&self, _info: &MapInfo) -> Result<(), RuntimeError> {
        Ok(())
    }
    fn zero_map(&self, _info: &MapInfo) -> Result<(), RuntimeError> {
        Ok(())
    }
}

fn meta() -> Metadata {
    Metadata {
        version: FORMAT_VERSION,
        compiler: "test".into(),
        source: Default::default(),
        requires: Default::default(),
        probes: vec![Probe { prog: "p0".into(), name: "BEGIN".into(), kind: ProbeKind::Begin, process: None }],
        maps: vec![
            MapInfo {
                name: "@b".into(),
                bpf_name: "m_b".into(),
                key: Ty::U64,
                scalar: true,
                value: MapValue::Count, lru: false,
            },
            MapInfo {
                name: "@a".into(),
                bpf_name: "m_a".into(),
                key: Ty::Str { len: 4 },
                scalar: false,
                value: MapValue::Plain { ty: Ty::I64 }, lru: false,
            },
        ],
        formats: vec![
            FormatInfo { fmt: "hello %s %d\n".into(), args: Ty::tuple(vec![Ty::Str { len: 8 }, Ty::I64]) },
            FormatInfo { fmt: "no args\n".into(), args: Ty::tuple(vec![]) },
        ],
        config: Default::default(),
        values: vec![],
        error_sites: vec![],
        strlen: 8,
        pcaps: vec![],
        portable: Default::default(),
    }
}

fn record(kind: ActionKind, index: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = (kind as u32).to_le_bytes().to_vec();
    v.extend(index.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn maps() -> FakeMaps {
    let mut m = HashMap::new();
    m.insert("m_b".to_string(), vec![(0u64.to_le_bytes().to_vec(), RawValue::PerCpu(vec![2u64.to_le_bytes().to_vec()]))]);
    m.insert("m_a".to_string(), vec![(b"k\0\0\0".to_vec(), RawValue::Single((-4i64).to_le_bytes().to_vec()))]);
    FakeMaps(m)
}

#[test]
fn printf_record_renders_its_format() {
    let p = Printer::new(&meta());
    let mut payload = b"world\0\0\0".to_vec();
    payload.extend(42i64.to_le_bytes());
    let mut out = Vec::new();
    let step = p.handle(&record(ActionKind::Printf, 0, &payload), &maps(), &mut out).expect("handled");
    assert_eq!(step, Step::Continue);
    p.handle(&record(ActionKind::Printf, 1, &[]), &maps(), &mut out).expect("handled");
    assert_eq!(String::from_utf8_lossy(&out), "hello world 42\nno args\n");
}

#[test]
fn exit_record_stops() {
    let p = Printer::new(&meta());
    let mut out = Vec::new();
    assert_eq!(p.handle(&record(ActionKind::Exit, 0, &[]), &maps(), &mut out).expect("handled"), Step::Exit);
    assert!(out.is_empty());
}

#[test]
fn print_map_record_prints_the_map_without_leading_newlines() {
    let p = Printer::new(&meta());
    let mut out = Vec::new();
    p.handle(&record(ActionKind::PrintMap, 1, &[]), &maps(), &mut out).expect("handled");
    assert_eq!(String::from_utf8_lossy(&out), "@a[k]: -4\n");
}

#[test]
fn exit_maps_are_sorted_by_name_after_two_newlines() {
    let p = Printer::new(&meta());
    let mut out = Vec::new();
    p.print_exit_maps(&maps(), &mut out).expect("printed");
    assert_eq!(String::from_utf8_lossy(&out), "\n\n@a[k]: -4\n@b: 2\n");
}

#[test]
fn malformed_records_are_errors() {
    let p = Printer::new(&meta());
    let err = |r: Vec<u8>| p.handle(&r, &maps(), &mut Vec::new()).expect_err("malformed").to_string();
    assert_eq!(err(vec![1, 0, 0]), "malformed event: record of 3 bytes is shorter than its header");
    assert_eq!(err(record(ActionKind::Printf, 9, &[])), "malformed event: printf format index 9 out of range");
    assert_eq!(err(record(ActionKind::PrintMap, 5, &[])), "malformed event: map index 5 out of range");
    let mut bad = record(ActionKind::Exit, 0, &[]);
    bad[0] = 77;
    assert_eq!(err(bad), "malformed event: unknown action kind 77");
    assert!(err(record(ActionKind::Printf, 0, &[0; 4])).starts_with("malformed event: printf arguments of format 0:"));
}

#[test]
fn fixed_lines() {
    assert_eq!(attaching_line(1), "Attaching 1 probe...\n");
    assert_eq!(attaching_line(3), "Attaching 3 probes...\n");
    assert_eq!(lost_line(12), "Lost 12 events\n");
}

#[test]
fn helper_errors_in_bpftrace_0_20_words() {
    assert_eq!(helper_error_message("map_delete_elem", -2), "Can't delete map element because it does not exist.");
    assert_eq!(helper_error_message("map_lookup_elem", 0), "Can't lookup map element because it does not exist.");
    assert_eq!(
        helper_error_message("map_update_elem", -7),
        "Map full; can't update element. Try increasing max_map_keys config"
    );
    assert_eq!(helper_error_message("map_update_elem", -12), "Cannot allocate memory");
    assert_eq!(helper_error_message("probe_read", -14), "Bad address");
    let site = btc_bpfprog::ErrorSite {
        helper: "map_delete_elem".into(),
        location: "stdin:1:9-18".into(),
        line: 1,
        col: 9,
        excerpt: "BEGIN { delete(@) }\n        ~~~~~~~~~\n".into(),
    };
    assert_eq!(
        helper_warning(&site, -2),
        "stdin:1:9-18: WARNING: Can't delete map element because it does not exist.\n\
         Additional Info - helper: map_delete_elem, retcode: -2\n\
         BEGIN { delete(@) }\n        ~~~~~~~~~\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&crate::json::helper_error("probe_read", -14, 1, 37)),
        "{\"type\": \"helper_error\", \"msg\": \"Bad address\", \"helper\": \"probe_read\", \"retcode\": -14, \"line\": 1, \"col\": 37}\n"
    );
}
