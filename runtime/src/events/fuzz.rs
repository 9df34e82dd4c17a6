//! A fuzz target over what the runtime does with metadata (proptest): any metadata that passes
//! `Metadata::validate`, and any records and map contents, printed as a run prints them. No
//! input may panic or take more than a second; bad records are errors. (About half the
//! generated metadata passes validation.)

use super::*;
use crate::maps::RawValue;
use btc_bpfprog::{Field, FormatInfo, MapValue, NamedField, RuntimeTy, StackMode, FORMAT_VERSION};
use proptest::prelude::*;
use std::time::{Duration, Instant};

struct Maps(RawEntries);

impl MapReader for Maps {
    fn read_map(&self, _info: &MapInfo) -> Result<RawEntries, RuntimeError> {
        Ok(self.0.clone())
    }
    fn clear_map(&self, _info: &MapInfo) -> Result<(), RuntimeError> {
        Ok(())
    }
    fn zero_map(&self, _info: &MapInfo) -> Result<(), RuntimeError> {
        Ok(())
    }
    fn read_stack(&self, _map: &str, id: u32) -> Option<Vec<u64>> {
        (id % 2 == 0).then(|| vec![u64::from(id); (id % 5) as usize])
    }
}

fn runtime_ty() -> impl Strategy<Value = RuntimeTy> {
    let stack = (any::<bool>(), 1u32..1030, prop::sample::select(vec![StackMode::Bpftrace, StackMode::Perf, StackMode::Raw]));
    prop_oneof![
        Just(RuntimeTy::Ksym),
        Just(RuntimeTy::Usym),
        Just(RuntimeTy::Inet),
        Just(RuntimeTy::MacAddr),
        Just(RuntimeTy::Strerror),
        Just(RuntimeTy::Pointer),
        Just(RuntimeTy::CgroupPath { filter: None }),
        any::<bool>().prop_map(|epoch| RuntimeTy::Timestamp { fmt: "%H:%M:%S %f".into(), epoch }),
        Just(RuntimeTy::Username),
        Just(RuntimeTy::SiteName),
        (0u32..64).prop_map(|size| RuntimeTy::Buf { size }),
        stack.prop_map(|(kernel, limit, mode)| {
            let map = btc_bpfprog::runtime::stack_map_name(limit);
            if kernel {
                RuntimeTy::Kstack { map, mode, limit }
            } else {
                RuntimeTy::Ustack { map, mode, limit }
            }
        }),
    ]
}

fn ty() -> impl Strategy<Value = Ty> {
    let leaf = prop_oneof![
        (prop::sample::select(vec![1u8, 2, 4, 8, 8, 16, 3]), any::<bool>()).prop_map(|(bytes, signed)| Ty::Int { bytes, signed }),
        (0u32..40).prop_map(|len| Ty::Str { len }),
        (0u8..8, 1u8..66, any::<bool>()).prop_map(|(shift, bits, signed)| Ty::Bits { shift, bits, signed }),
        runtime_ty().prop_map(Ty::Runtime),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Ty::tuple),
            (inner.clone(), 0u32..6).prop_map(|(e, count)| Ty::Array { elem: Box::new(e), count }),
            // A struct: fields one after another with gaps, in a record of about their size.
            (prop::collection::vec((inner.clone(), 0u32..4), 0..4), 0u32..8).prop_map(|(fs, slack)| {
                let mut offset = 0;
                let fields = fs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (ty, gap))| {
                        offset += gap;
                        let f = NamedField { name: format!("f{i}"), offset, ty };
                        offset += f.ty.size();
                        f
                    })
                    .collect();
                Ty::Record { fields, size: (offset + slack).saturating_sub(2) }
            }),
            (prop::collection::vec((inner, 0u32..48), 0..3), 0u32..96).prop_map(|(fs, size)| Ty::Tuple {
                fields: fs.into_iter().map(|(ty, offset)| Field { offset, ty }).collect(),
                size,
            }),
        ]
    })
}

fn map_value() -> impl Strategy<Value = MapValue> {
    prop_oneof![
        ty().prop_map(|ty| MapValue::Plain { ty }),
        Just(MapValue::Count),
        Just(MapValue::Sum),
        Just(MapValue::Min),
        Just(MapValue::Max),
        Just(MapValue::Avg),
        Just(MapValue::Stats),
        (0u8..8).prop_map(|k| MapValue::Hist { k }),
        (-20i64..20, -20i64..200, -2i64..12).prop_map(|(min, max, step)| MapValue::Lhist { min, max, step }),
    ]
}

const FORMAT_PIECES: &[&str] =
    &["%d", "%s", "%-10s", "%x", "%llu", "%c", "%p", "%%", "%", "%r", "%rx", "%rh", "%*d", "%5.2s", "%hhd", "%lu", " text ", "\n"];

fn format() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FORMAT_PIECES), 0..6).prop_map(|p| p.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..160)
}

fn entry() -> impl Strategy<Value = (Vec<u8>, RawValue)> {
    (bytes(), bytes(), prop::collection::vec(bytes(), 0..3), any::<bool>()).prop_map(|(k, v, per_cpu, single)| {
        (k, if single { RawValue::Single(v) } else { RawValue::PerCpu(per_cpu) })
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_metadata_prints_any_record_without_panicking(
        fmt in format(),
        args in ty(),
        value in ty(),
        key in ty(),
        map in map_value(),
        scalar in any::<bool>(),
        records in prop::collection::vec((0u32..70, 0u32..3, bytes()), 1..8),
        entries in prop::collection::vec(entry(), 0..6),
    ) {
        let meta = Metadata {
            version: FORMAT_VERSION,
            compiler: "fuzz".into(),
            source: Default::default(),
            requires: Default::default(),
            probes: vec![],
            maps: vec![MapInfo { name: "@m".into(), bpf_name: "btc_m0".into(), key, scalar, value: map, lru: false }],
            formats: vec![FormatInfo { fmt, args }],
            config: Default::default(),
            values: vec![value],
            error_sites: vec![],
            strlen: 8,
            pcaps: vec![],
            portable: Default::default(),
        };
        if meta.validate().is_err() {
            return Ok(());
        }
        let start = Instant::now();
        let printer = Printer::new(&meta);
        let maps = Maps(entries);
        let mut out = Vec::new();
        for (kind, index, payload) in &records {
            let mut record = kind.to_le_bytes().to_vec();
            record.extend(index.to_le_bytes());
            record.extend(payload);
            // `system` and `cat` would run or read something: not here.
            if matches!(ActionKind::from_u32(*kind), Some(ActionKind::System | ActionKind::Cat)) {
                continue;
            }
            let _ = printer.handle(&record, &maps, &mut out);
        }
        let _ = printer.print_exit_maps(&maps, &mut out);
        prop_assert!(start.elapsed() < Duration::from_secs(1));
    }
}
