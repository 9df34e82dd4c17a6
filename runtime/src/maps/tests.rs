use super::*;
use btc_bpfprog::Ty;
use crate::value::{Int, Value};

fn map(name: &str, key: Ty, scalar: bool, value: MapValue) -> MapInfo {
    MapInfo { name: name.into(), bpf_name: format!("m_{}", name.trim_start_matches('@')), key, scalar, value, lru: false }
}

fn text(info: &MapInfo, entries: &RawEntries) -> String {
    String::from_utf8_lossy(&format_map(info, entries, 0, 0).expect("map formats")).into_owned()
}

fn str_bytes(s: &str, len: usize) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.resize(len, 0);
    v
}

fn per_cpu(vals: &[u64]) -> RawValue {
    RawValue::PerCpu(vals.iter().map(|v| v.to_le_bytes().to_vec()).collect())
}

#[test]
fn scalar_map_prints_without_brackets() {
    let info = map("@a", Ty::U64, true, MapValue::Plain { ty: Ty::I64 });
    let entries = vec![(0u64.to_le_bytes().to_vec(), RawValue::Single(5i64.to_le_bytes().to_vec()))];
    assert_eq!(text(&info, &entries), "@a: 5\n");
}

#[test]
fn count_map_sums_cpus_and_sorts_by_value_then_key() {
    let key = Ty::tuple(vec![Ty::I64, Ty::Str { len: 4 }]);
    let info = map("@b", key, false, MapValue::Count);
    let k = |n: i64, s: &str| {
        let mut v = n.to_le_bytes().to_vec();
        v.extend(str_bytes(s, 8));
        v
    };
    let entries = vec![
        (k(2, "b"), per_cpu(&[1, 1])),
        (k(1, "a"), per_cpu(&[0, 1])),
        (k(0, "z"), per_cpu(&[1, 0])),
    ];
    assert_eq!(text(&info, &entries), "@b[0, z]: 1\n@b[1, a]: 1\n@b[2, b]: 2\n");
}

#[test]
fn sum_map_is_signed() {
    let info = map("@", Ty::Str { len: 4 }, false, MapValue::Sum);
    let entries = vec![
        (str_bytes("y", 4), RawValue::PerCpu(vec![10i64.to_le_bytes().to_vec(), 0u64.to_le_bytes().to_vec()])),
        (str_bytes("x", 4), RawValue::PerCpu(vec![(-5i64).to_le_bytes().to_vec(), 2i64.to_le_bytes().to_vec()])),
    ];
    assert_eq!(text(&info, &entries), "@[x]: -3\n@[y]: 10\n");
}

#[test]
fn signed_int_values_sort_signed() {
    // bpftrace 0.17: @n[-1] = 5; @n[7] = -3; @n[2] = -3  =>  -3s first, then 5.
    let info = map("@n", Ty::I64, false, MapValue::Plain { ty: Ty::I64 });
    let e = |k: i64, v: i64| (k.to_le_bytes().to_vec(), RawValue::Single(v.to_le_bytes().to_vec()));
    let entries = vec![e(-1, 5), e(7, -3), e(2, -3)];
    assert_eq!(text(&info, &entries), "@n[2]: -3\n@n[7]: -3\n@n[-1]: 5\n");
}

#[test]
fn string_values_sort_by_key_with_unsigned_ints() {
    // bpftrace 0.17: @c[-1] = "a"; @c[5] = "b"; @c[0] = "c"  =>  0, 5, -1.
    let info = map("@c", Ty::I64, false, MapValue::Plain { ty: Ty::Str { len: 8 } });
    let e = |k: i64, v: &str| (k.to_le_bytes().to_vec(), RawValue::Single(str_bytes(v, 8)));
    let entries = vec![e(-1, "a"), e(5, "b"), e(0, "c")];
    assert_eq!(text(&info, &entries), "@c[0]: c\n@c[5]: b\n@c[-1]: a\n");
}

#[test]
fn string_keys_sort_bytewise() {
    let info = map("@c", Ty::Str { len: 8 }, false, MapValue::Plain { ty: Ty::Str { len: 8 } });
    let e = |k: &str, v: &str| (str_bytes(k, 8), RawValue::Single(str_bytes(v, 8)));
    let entries = vec![e("k", "str"), e("j", "zz"), e("ja", "q")];
    assert_eq!(text(&info, &entries), "@c[j]: zz\n@c[ja]: q\n@c[k]: str\n");
}

#[test]
fn tuple_values_print_in_parens() {
    let vty = Ty::tuple(vec![Ty::I64, Ty::Str { len: 8 }]);
    let info = map("@t", Ty::I64, false, MapValue::Plain { ty: vty });
    let e = |k: i64, n: i64, s: &str| {
        let mut v = n.to_le_bytes().to_vec();
        v.extend(str_bytes(s, 8));
        (k.to_le_bytes().to_vec(), RawValue::Single(v))
    };
    let entries = vec![e(3, 1, "a"), e(1, 2, "b")];
    assert_eq!(text(&info, &entries), "@t[1]: (2, b)\n@t[3]: (1, a)\n");
}

#[test]
fn small_int_keys_and_values_use_their_width() {
    let info = map("@s", Ty::Int { bytes: 4, signed: true }, false, MapValue::Plain { ty: Ty::Int { bytes: 2, signed: false } });
    let entries = vec![((-2i32).to_le_bytes().to_vec(), RawValue::Single(vec![0xff, 0xff]))];
    assert_eq!(text(&info, &entries), "@s[-2]: 65535\n");
}

#[test]
fn empty_map_prints_an_empty_line() {
    let info = map("@e", Ty::I64, false, MapValue::Count);
    assert_eq!(text(&info, &vec![]), "\n");
}

#[test]
fn bad_entries_are_errors() {
    let info = map("@e", Ty::I64, false, MapValue::Plain { ty: Ty::I64 });
    let entries = vec![(vec![1, 2], RawValue::Single(vec![0; 8]))];
    assert!(matches!(format_map(&info, &entries, 0, 0), Err(MapError::Key { .. })));
    let entries = vec![(vec![0; 8], RawValue::Single(vec![0; 2]))];
    let err = format_map(&info, &entries, 0, 0).expect_err("short value");
    assert!(err.to_string().starts_with("map @e: bad value:"), "{err}");
}

#[test]
fn exit_order_sorts_by_name() {
    let m = |n: &str| map(n, Ty::U64, true, MapValue::Count);
    let maps = vec![m("@b"), m("@"), m("@a"), m("@B")];
    let names: Vec<&str> = exit_order(&maps).iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, vec!["@", "@B", "@a", "@b"]);
}

#[test]
fn zeroed_histogram_keys_still_print() {
    // bpftrace 0.17: @h[1] = hist(1); @h[2] = hist(5); zero(@h)  =>  both keys, no rows.
    let info = map("@h", Ty::I64, false, MapValue::Hist { k: 0 });
    let key = |k: i64, bucket: u64| {
        let mut v = k.to_le_bytes().to_vec();
        v.extend(bucket.to_le_bytes());
        v
    };
    let entries = vec![(key(2, 4), per_cpu(&[0, 0])), (key(1, 2), per_cpu(&[0]))];
    assert_eq!(text(&info, &entries), "@h[1]: \n\n@h[2]: \n\n");
}

#[test]
fn keyless_count_map_always_has_its_element() {
    // bpftrace 0.17: BEGIN { exit(); } interval:s:10 { @c = count(); @s = sum(1); }  =>  @c: 0, @s blank.
    let count = map("@c", Ty::U64, true, MapValue::Count);
    assert_eq!(text(&count, &vec![]), "@c: 0\n");
    let sum = map("@s", Ty::U64, true, MapValue::Sum);
    assert_eq!(text(&sum, &vec![]), "\n");
    let keyed = map("@k", Ty::I64, false, MapValue::Count);
    assert_eq!(text(&keyed, &vec![]), "\n");
}

#[test]
fn empty_avg_and_stats_maps_print_two_empty_lines() {
    // bpftrace 0.17: @x = avg(4); clear(@x)  =>  two empty lines at exit.
    for value in [MapValue::Avg, MapValue::Stats] {
        assert_eq!(text(&map("@x", Ty::U64, true, value.clone()), &vec![]), "\n\n");
    }
}

#[test]
fn print_top_and_div_on_avg_stats_and_hists() {
    // bpftrace 0.17: avg values are divided; stats ignore top and div; hist counts are divided
    // while the bars keep the undivided counts; lhist counts are not divided.
    let avg = map("@a", Ty::I64, false, MapValue::Avg);
    let e = |k: i64, total: u64, count: u64| {
        let mut v = total.to_le_bytes().to_vec();
        v.extend(count.to_le_bytes());
        (k.to_le_bytes().to_vec(), RawValue::PerCpu(vec![v]))
    };
    let entries = vec![e(1, 10, 1), e(2, 30, 1)];
    let fmt = |info: &MapInfo, entries: &RawEntries, top, div| {
        String::from_utf8_lossy(&format_map(info, entries, top, div).expect("formats")).into_owned()
    };
    assert_eq!(fmt(&avg, &entries, 0, 10), "@a[1]: 1\n@a[2]: 3\n\n");
    let stats = map("@s", Ty::I64, false, MapValue::Stats);
    assert_eq!(
        fmt(&stats, &entries, 1, 10),
        "@s[1]: count 1, average 10, total 10\n@s[2]: count 1, average 30, total 30\n\n"
    );
    let key = |bucket: u64| {
        let mut v = 0u64.to_le_bytes().to_vec();
        v.extend(bucket.to_le_bytes());
        v
    };
    let hist = map("@h", Ty::U64, true, MapValue::Hist { k: 0 });
    let rows = vec![(key(8), per_cpu(&[1])), (key(11), per_cpu(&[3]))];
    assert_eq!(
        fmt(&hist, &rows, 0, 2),
        "@h: \n\
         [64, 128)              0 |@@@@@@@@@@@@@@@@@                                   |\n\
         [128, 256)             0 |                                                    |\n\
         [256, 512)             0 |                                                    |\n\
         [512, 1K)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n"
    );
    let lhist = map("@l", Ty::U64, true, MapValue::Lhist { min: 0, max: 10, step: 1 });
    let rows = vec![(key(6), per_cpu(&[2]))];
    assert_eq!(fmt(&lhist, &rows, 0, 2), "@l: \n[5, 6)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n");
}

#[test]
fn buckets_no_program_can_make_are_not_printed() {
    // A corrupted object's bucket index would otherwise print every row up to it.
    let key = |bucket: u64| {
        let mut v = 0u64.to_le_bytes().to_vec();
        v.extend(bucket.to_le_bytes());
        v
    };
    let hist = map("@h", Ty::U64, true, MapValue::Hist { k: 0 });
    let entries = vec![(key(2), per_cpu(&[1])), (key(u64::MAX), per_cpu(&[1])), (key(66), per_cpu(&[1]))];
    let out = text(&hist, &entries);
    assert_eq!(out.lines().count(), 3, "{out}");
    let lhist = map("@l", Ty::U64, true, MapValue::Lhist { min: 0, max: 10, step: 5 });
    let entries = vec![(key(1), per_cpu(&[1])), (key(1 << 40), per_cpu(&[1]))];
    let out = text(&lhist, &entries);
    assert_eq!(out.lines().count(), 3, "{out}");
}

#[test]
fn bpftrace_026_text() {
    let info = |value: MapValue, scalar: bool| map("@m", Ty::U64, scalar, value);
    let stats = vec![Entry { key: Value::Int(Int::unsigned(0)), value: EntryValue::Stats { total: 12, count: 2 } }];
    assert_eq!(
        String::from_utf8_lossy(&render_entries(&info(MapValue::Stats, true), &stats, 0, true)),
        "@m: { .count = 2, .average = 6, .total = 12 }\n"
    );
    let hist = vec![Entry { key: Value::Int(Int::unsigned(0)), value: EntryValue::Buckets(BTreeMap::from([(3, 1)])) }];
    let text = render_entries(&info(MapValue::Hist { k: 0 }, true), &hist, 0, true);
    assert!(String::from_utf8_lossy(&text).starts_with("@m:\n[2, 4)"));
    assert!(render_entries(&info(MapValue::Avg, true), &[], 0, true).is_empty());
}
