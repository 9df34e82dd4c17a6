//! bpftrace's JSON output (`-f json`): one object per line, `{"type": T, "data": D}`, with
//! bpftrace 0.20's types and field names (output.cpp):
//!
//! | type | data |
//! | --- | --- |
//! | `attached_probes` | `{"probes": N}` |
//! | `lost_events` | `{"events": N}` |
//! | `printf`, `time`, `cat`, `join`, `syscall` | the text, as a string |
//! | `map` | `{"@name": VALUE}` or `{"@name": {"KEY": VALUE, ...}}` |
//! | `hist` | `{"@name": [{"min": A, "max": B, "count": N}, ...]}` (keyed: an object of those) |
//! | `stats` | `{"@name": {"count": N, "average": A, "total": T}}` (avg: the average) |
//! | `value` | the printed value |
//! | `helper_error` | (top level) `"msg"`, `"helper"`, `"retcode"`, `"line"`, `"col"` |
//!
//! Map keys are the key's fields joined by commas, as a string. Integers are JSON numbers;
//! strings, symbols, stacks and addresses are strings; tuples are arrays.

use crate::maps::{average, Entry, EntryValue};
use crate::value::Value;
use btc_bpfprog::{log2_bucket_range, Compat, MapInfo, MapValue};
use std::collections::BTreeMap;

/// Appends `bytes` as the inside of a JSON string: quotes, backslashes and control characters
/// escaped, bytes that aren't UTF-8 written as `\u00XX` so every line stays valid JSON.
pub fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(bytes);
    let valid = matches!(text, std::borrow::Cow::Borrowed(_));
    let push_char = |c: char, out: &mut Vec<u8>| match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
        c => {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    };
    if valid {
        text.chars().for_each(|c| push_char(c, out));
    } else {
        for &b in bytes {
            if b.is_ascii() {
                push_char(char::from(b), out);
            } else {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            }
        }
    }
}

/// `bytes` as a quoted JSON string.
pub fn string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    escape_into(bytes, &mut out);
    out.push(b'"');
    out
}

/// `{"type": "KIND", "data": "TEXT"}` and a newline: printf, time, cat, join, syscall.
pub fn message(kind: &str, text: &[u8]) -> Vec<u8> {
    let mut out = format!("{{\"type\": \"{kind}\", \"data\": ").into_bytes();
    out.extend(string(text));
    out.extend_from_slice(b"}\n");
    out
}

/// `{"type": "KIND", "data": {"FIELD": N}}`: attached_probes, lost_events.
pub fn counter(kind: &str, field: &str, n: u64) -> Vec<u8> {
    format!("{{\"type\": \"{kind}\", \"data\": {{\"{field}\": {n}}}}}\n").into_bytes()
}

/// A value as JSON: integers as numbers, strings (and resolved symbols) as strings, tuples as
/// arrays.
pub fn value(v: &Value) -> Vec<u8> {
    value_as(v, Compat::V020)
}

/// [`value`] as bpftrace `compat` writes it (0.26: structs unspaced inside, `{"a": 1}`).
pub fn value_as(v: &Value, compat: Compat) -> Vec<u8> {
    let mut out = Vec::new();
    value_into(v, &mut out, compat);
    out
}

fn value_into(v: &Value, out: &mut Vec<u8>, compat: Compat) {
    match v {
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Str(s) => out.extend(string(s)),
        Value::Tuple(items) | Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value_into(item, out, compat);
            }
            out.push(b']');
        }
        // A pointer is its hex text, as a string (bpftrace 0.20 leaves it unquoted, which is
        // not JSON).
        // bpftrace 0.26 writes a pointer as its number.
        Value::Runtime(btc_bpfprog::RuntimeTy::Pointer, raw) if compat.v026() => {
            let mut b = [0u8; 8];
            if let Some(s) = raw.get(..8) {
                b.copy_from_slice(s);
            }
            out.extend_from_slice(u64::from_le_bytes(b).to_string().as_bytes());
        }
        Value::Runtime(btc_bpfprog::RuntimeTy::Bool { .. }, _) => out.extend(v.to_bytes()),
        Value::Runtime(..) => out.extend(string(&v.to_bytes())),
        // bpftrace 0.20: `{ "a": 1, "b": { "c": 2 } }`, spaced unlike its arrays and tuples.
        Value::Record(fields) => {
            let (open, close): (&[u8], &[u8]) = if compat.v026() { (b"{", b"}") } else { (b"{ ", b" }") };
            out.extend_from_slice(open);
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend(string(name.as_bytes()));
                out.extend_from_slice(b": ");
                value_into(item, out, compat);
            }
            out.extend_from_slice(close);
        }
    }
}

/// A map key as bpftrace writes it in JSON: the fields joined by commas, as a string.
pub fn key(k: &Value) -> Vec<u8> {
    let text = match k {
        Value::Tuple(items) => {
            let mut out = Vec::new();
            crate::value::render_key_joined(items, b",", &mut out);
            out
        }
        other => other.key_bytes(),
    };
    string(&text)
}

/// `{"type": "value", "data": V}`: `print(value)`.
pub fn print_value(v: &Value, compat: Compat) -> Vec<u8> {
    let mut out = b"{\"type\": \"value\", \"data\": ".to_vec();
    value_into(v, &mut out, compat);
    out.extend_from_slice(b"}\n");
    out
}

/// A whole map of type `kind` (`map`, `hist`, `stats`): the rendered value of each entry, keyed
/// when the map has keys. Nothing for an empty map (as bpftrace).
pub fn map(kind: &str, name: &str, scalar: bool, entries: &[(Value, Vec<u8>)]) -> Vec<u8> {
    if entries.is_empty() {
        return Vec::new();
    }
    let mut out = format!("{{\"type\": \"{kind}\", \"data\": {{").into_bytes();
    out.extend(string(name.as_bytes()));
    out.extend_from_slice(b": ");
    if scalar {
        if let Some((_, v)) = entries.first() {
            out.extend_from_slice(v);
        }
    } else {
        out.push(b'{');
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend(key(k));
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"}}\n");
    out
}

/// One bucket of a hist/lhist: `min`/`max` absent for the open-ended buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub count: u64,
}

/// The value of one hist/lhist entry: `[{"min": A, "max": B, "count": N}, ...]`.
pub fn buckets(b: &[Bucket]) -> Vec<u8> {
    let items: Vec<String> = b
        .iter()
        .map(|b| {
            let mut fields = Vec::new();
            if let Some(min) = b.min {
                fields.push(format!("\"min\": {min}"));
            }
            if let Some(max) = b.max {
                fields.push(format!("\"max\": {max}"));
            }
            fields.push(format!("\"count\": {}", b.count));
            format!("{{{}}}", fields.join(", "))
        })
        .collect();
    format!("[{}]", items.join(", ")).into_bytes()
}

/// The value of one stats entry: `{"count": N, "average": A, "total": T}`.
pub fn stats(count: i64, average: i64, total: i64) -> Vec<u8> {
    format!("{{\"count\": {count}, \"average\": {average}, \"total\": {total}}}").into_bytes()
}

/// The buckets of a hist/lhist entry from the first to the last non-empty one, with their
/// ranges as bpftrace's JSON gives them (`min`/`max` inclusive; none for open ends).
pub fn hist_buckets(value: &MapValue, counts: &BTreeMap<u64, u64>) -> Vec<Bucket> {
    let (Some((&first, _)), Some((&last, _))) = (counts.iter().next(), counts.iter().next_back()) else {
        return Vec::new();
    };
    (first..=last)
        .map(|i| {
            let count = counts.get(&i).copied().unwrap_or(0);
            let (min, max) = match *value {
                MapValue::Lhist { min, max, step } => {
                    let last_bucket = ((max - min) / step.max(1) + 1) as u64;
                    if i == 0 {
                        (None, Some(min - 1))
                    } else if i >= last_bucket {
                        (Some(max), None)
                    } else {
                        let lo = min + (i as i64 - 1) * step;
                        (Some(lo), Some(lo + step - 1))
                    }
                }
                MapValue::Hist { k } if i > 0 => {
                    let (lo, hi) = log2_bucket_range(i, k);
                    (Some(lo as i64), Some(hi.saturating_sub(1) as i64))
                }
                _ => (None, Some(-1)),
            };
            Bucket { min, max, count }
        })
        .collect()
}

/// A whole decoded map in bpftrace's JSON: `map` for plain and counter maps, `hist` for
/// hist/lhist, `stats` for avg and stats.
pub fn map_entries(info: &MapInfo, entries: &[Entry], compat: Compat) -> Vec<u8> {
    let kind = match info.value {
        MapValue::Hist { .. } | MapValue::Lhist { .. } => "hist",
        MapValue::Avg | MapValue::Stats => "stats",
        _ => "map",
    };
    let rendered: Vec<(Value, Vec<u8>)> = entries
        .iter()
        .map(|e| {
            let v = match &e.value {
                EntryValue::Scalar(v) => value_as(v, compat),
                EntryValue::Avg { total, count } => average(*total, *count).to_string().into_bytes(),
                EntryValue::Stats { total, count } => stats(*count as i64, average(*total, *count), *total),
                EntryValue::Buckets(b) => buckets(&hist_buckets(&info.value, b)),
            };
            (e.key.clone(), v)
        })
        .collect();
    map(kind, &info.name, info.scalar, &rendered)
}

/// A BPF helper error reported with `-k` (bpftrace's `helper_error` record).
pub fn helper_error(helper: &str, retcode: i64, line: u32, col: u32) -> Vec<u8> {
    let msg = crate::events::helper_error_message(helper, retcode);
    format!(
        "{{\"type\": \"helper_error\", \"msg\": \"{msg}\", \"helper\": \"{helper}\", \"retcode\": {retcode}, \"line\": {line}, \"col\": {col}}}\n"
    )
    .into_bytes()
}

/// [`helper_error`] as bpftrace 0.26 writes it, with the script's file name.
pub fn helper_error_026(helper: &str, retcode: i64, file: &str, line: u32, col: u32) -> Vec<u8> {
    let msg = crate::events::helper_error_message(helper, retcode);
    let file = String::from_utf8_lossy(&string(file.as_bytes())).into_owned();
    format!(
        "{{\"type\": \"helper_error\", \"msg\": \"{msg}\", \"helper\": \"{helper}\", \"retcode\": {retcode}, \"filename\": {file}, \"line\": {line}, \"col\": {col}}}\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Int;

    fn s(v: &[u8]) -> String {
        String::from_utf8_lossy(v).into_owned()
    }

    #[test]
    fn messages_match_bpftrace() {
        // Checked against `bpftrace -f json` 0.17.
        assert_eq!(s(&message("printf", b"hi 5\n")), "{\"type\": \"printf\", \"data\": \"hi 5\\n\"}\n");
        assert_eq!(s(&counter("attached_probes", "probes", 1)), "{\"type\": \"attached_probes\", \"data\": {\"probes\": 1}}\n");
        assert_eq!(s(&counter("lost_events", "events", 3)), "{\"type\": \"lost_events\", \"data\": {\"events\": 3}}\n");
    }

    #[test]
    fn escapes_keep_lines_valid() {
        assert_eq!(s(&string(b"a\"b\\c\td\x01")), "\"a\\\"b\\\\c\\td\\u0001\"");
        let bad = string(b"x\xffy");
        assert_eq!(s(&bad), "\"x\\u00ffy\"");
        assert!(serde_json::from_slice::<serde_json::Value>(&bad).is_ok());
    }

    #[test]
    fn maps_scalar_keyed_and_tuple_keys() {
        let one = Value::Int(Int::signed(1));
        let e = vec![(Value::Int(Int::unsigned(0)), value(&one))];
        assert_eq!(s(&map("map", "@a", true, &e)), "{\"type\": \"map\", \"data\": {\"@a\": 1}}\n");
        let k = Value::Tuple(vec![Value::Int(Int::signed(1)), Value::Str(b"x".to_vec())]);
        let e = vec![(k, value(&Value::Int(Int::signed(2))))];
        assert_eq!(s(&map("map", "@b", false, &e)), "{\"type\": \"map\", \"data\": {\"@b\": {\"1,x\": 2}}}\n");
        assert!(map("map", "@c", false, &[]).is_empty());
        let t = Value::Tuple(vec![Value::Int(Int::signed(1)), Value::Str(b"x".to_vec())]);
        assert_eq!(s(&print_value(&t, Compat::V020)), "{\"type\": \"value\", \"data\": [1,\"x\"]}\n");
    }

    #[test]
    fn structs_are_spaced_and_keys_use_the_key_form() {
        // bpftrace 0.20: `{ "m": 2, "n": 3 }` inside `[0,...]`; keys as in text output.
        let pair = Value::Record(vec![("m".into(), Value::Int(Int::signed(2))), ("n".into(), Value::Int(Int::signed(3)))]);
        let outer = Value::Record(vec![
            ("y".into(), Value::Record(vec![("m".into(), Value::Array(vec![Value::Int(Int::signed(2))]))])),
            ("s".into(), Value::Str(b"x".to_vec())),
        ]);
        assert_eq!(s(&print_value(&pair, Compat::V020)), "{\"type\": \"value\", \"data\": { \"m\": 2, \"n\": 3 }}\n");
        // bpftrace 0.26: `{"m": 2, "n": 3}`.
        assert_eq!(s(&print_value(&pair, Compat::V026)), "{\"type\": \"value\", \"data\": {\"m\": 2, \"n\": 3}}\n");
        assert_eq!(s(&value(&outer)), "{ \"y\": { \"m\": [2] }, \"s\": \"x\" }");
        let t = Value::Tuple(vec![Value::Int(Int::signed(0)), pair.clone()]);
        assert_eq!(s(&value(&t)), "[0,{ \"m\": 2, \"n\": 3 }]");
        assert_eq!(s(&key(&pair)), "\"{.m=2,.n=3}\"");
        let multi = Value::Tuple(vec![pair, Value::Array(vec![Value::Int(Int::signed(1)), Value::Int(Int::signed(2))])]);
        assert_eq!(s(&key(&multi)), "\"{.m=2,.n=3},[1,2]\"");
    }

    #[test]
    fn pointers_are_hex_strings() {
        // bpftrace 0.20 writes a pointer's hex text unquoted; btc keeps every line JSON.
        let p = |a: u64| Value::Runtime(btc_bpfprog::RuntimeTy::Pointer, a.to_le_bytes().to_vec());
        let line = print_value(&p(0x2e), Compat::V020);
        assert_eq!(s(&line), "{\"type\": \"value\", \"data\": \"0x2e\"}\n");
        // bpftrace 0.26: the number.
        assert_eq!(s(&print_value(&p(0x2e), Compat::V026)), "{\"type\": \"value\", \"data\": 46}\n");
        assert!(serde_json::from_slice::<serde_json::Value>(&line).is_ok());
        let e = vec![(p(0x20), value(&p(0)))];
        assert_eq!(s(&map("map", "@k", false, &e)), "{\"type\": \"map\", \"data\": {\"@k\": {\"0x20\": \"0x0\"}}}\n");
    }

    #[test]
    fn hist_buckets_have_bpftrace_ranges() {
        // Checked against bpftrace 0.17: hist(5) is {"min": 4, "max": 7}; lhist(5, 0, 10, 1) is
        // {"min": 5, "max": 5}.
        let one = |i: u64| BTreeMap::from([(i, 1u64)]);
        let h = MapValue::Hist { k: 0 };
        let idx = btc_bpfprog::log2_bucket(5, 0);
        assert_eq!(hist_buckets(&h, &one(idx)), vec![Bucket { min: Some(4), max: Some(7), count: 1 }]);
        assert_eq!(hist_buckets(&h, &one(0)), vec![Bucket { min: None, max: Some(-1), count: 1 }]);
        let l = MapValue::Lhist { min: 0, max: 10, step: 1 };
        let idx = btc_bpfprog::linear_bucket(5, 0, 10, 1);
        assert_eq!(hist_buckets(&l, &one(idx)), vec![Bucket { min: Some(5), max: Some(5), count: 1 }]);
        let two = BTreeMap::from([(1u64, 2u64), (3, 1)]);
        let b = hist_buckets(&l, &two);
        assert_eq!(b.len(), 3);
        assert_eq!(b[1], Bucket { min: Some(1), max: Some(1), count: 0 });
    }

    #[test]
    fn hist_and_stats_values() {
        let b = [Bucket { min: Some(4), max: Some(7), count: 1 }, Bucket { min: None, max: Some(-1), count: 2 }];
        assert_eq!(s(&buckets(&b)), "[{\"min\": 4, \"max\": 7, \"count\": 1}, {\"max\": -1, \"count\": 2}]");
        assert_eq!(s(&stats(1, 5, 5)), "{\"count\": 1, \"average\": 5, \"total\": 5}");
    }
}
