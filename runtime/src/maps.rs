//! User maps: decoding what the kernel holds (combining per-CPU values and histogram buckets),
//! ordering entries as bpftrace does, and printing them in bpftrace's text format.
//! [`decode_map`] gives the model other output formats can render too.

use crate::hist;
use crate::value::{decode, decode_key, render_key_joined, DecodeError, Int, Value};
use btc_bpfprog::{hist_bucket_offset, MapInfo, MapValue};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The value of one map entry as read from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawValue {
    /// A value of an ordinary map.
    Single(Vec<u8>),
    /// One value per possible CPU, of a per-CPU map.
    PerCpu(Vec<Vec<u8>>),
}

/// All entries of a map as read from the kernel, in any order.
pub type RawEntries = Vec<(Vec<u8>, RawValue)>;

/// Why a map could not be printed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("map {map}: bad key: {err}")]
    Key { map: String, err: DecodeError },
    #[error("map {map}: bad value: {err}")]
    Value { map: String, err: DecodeError },
}

/// The combined value of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryValue {
    /// Plain values, count, sum, min, max.
    Scalar(Value),
    /// avg(): printed as total / count.
    Avg { total: i64, count: u64 },
    /// stats(): `count C, average A, total T`.
    Stats { total: i64, count: u64 },
    /// hist()/lhist(): bucket index → count.
    Buckets(BTreeMap<u64, u64>),
}

impl EntryValue {
    /// The number bpftrace sorts entries by, if it sorts this kind by value.
    fn sort_value(&self) -> Option<i128> {
        match self {
            EntryValue::Scalar(Value::Int(i)) => Some(i128::from(*i)),
            EntryValue::Scalar(_) => None,
            EntryValue::Avg { total, count } | EntryValue::Stats { total, count } => {
                Some(i128::from(average(*total, *count)))
            }
            EntryValue::Buckets(b) => Some(b.values().map(|&c| i128::from(c)).sum()),
        }
    }
}

/// `total / count` as bpftrace computes it (signed integer division; 0 when empty).
pub fn average(total: i64, count: u64) -> i64 {
    if count == 0 {
        0
    } else {
        total.wrapping_div(count as i64)
    }
}

/// One decoded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Value,
    pub value: EntryValue,
}

fn le_u64(v: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = v.get(off..off + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

fn per_cpu(raw: &RawValue) -> Vec<&[u8]> {
    match raw {
        RawValue::PerCpu(v) => v.iter().map(Vec::as_slice).collect(),
        RawValue::Single(v) => vec![v.as_slice()],
    }
}

/// Combines the per-CPU values of an aggregate entry.
fn combine(value: &MapValue, raw: &RawValue) -> Result<EntryValue, DecodeError> {
    let cpus = per_cpu(raw);
    let sum_at = |off: usize| cpus.iter().map(|v| le_u64(v, off)).fold(0u64, u64::wrapping_add);
    Ok(match value {
        MapValue::Plain { ty } => {
            EntryValue::Scalar(decode(ty, cpus.first().copied().unwrap_or(&[]))?)
        }
        MapValue::Count => EntryValue::Scalar(Value::Int(Int::unsigned(sum_at(0)))),
        MapValue::Sum => EntryValue::Scalar(Value::Int(Int::signed(sum_at(0) as i64))),
        MapValue::Min | MapValue::Max => {
            let set = cpus.iter().filter(|v| le_u64(v, 8) != 0).map(|v| le_u64(v, 0) as i64);
            let v = if *value == MapValue::Min { set.min() } else { set.max() };
            EntryValue::Scalar(Value::Int(Int::signed(v.unwrap_or(0))))
        }
        MapValue::Avg => EntryValue::Avg { total: sum_at(0) as i64, count: sum_at(8) },
        MapValue::Stats => EntryValue::Stats { total: sum_at(0) as i64, count: sum_at(8) },
        MapValue::Hist { .. } | MapValue::Lhist { .. } => {
            EntryValue::Buckets(BTreeMap::from([(0, sum_at(0))]))
        }
    })
}

/// Decodes every entry of a map, combining per-CPU values and grouping histogram buckets by
/// key, in bpftrace's print order. As in bpftrace 0.20, strings in maps get no truncation
/// trailer (only printf, system and cat arguments do) and key integers print signed.
pub fn decode_map(info: &MapInfo, raw: &RawEntries) -> Result<Vec<Entry>, MapError> {
    let decode_key = |k: &[u8]| decode_key(&info.key, k);
    let key_err = |err| MapError::Key { map: info.name.clone(), err };
    let value_err = |err| MapError::Value { map: info.name.clone(), err };
    let mut entries: Vec<Entry> = Vec::with_capacity(raw.len());
    if info.value.bucketed() {
        let off = hist_bucket_offset(&info.key) as usize;
        // Printing shows every bucket from the first to the last: one the BPF code can't make
        // (a corrupted object's) would be billions of rows.
        let last = match info.value {
            MapValue::Hist { k } => btc_bpfprog::log2_bucket(i64::MAX, k),
            MapValue::Lhist { min, max, step } => btc_bpfprog::linear_bucket(max, min, max, step),
            _ => u64::MAX,
        };
        let mut groups: BTreeMap<Vec<u8>, BTreeMap<u64, u64>> = BTreeMap::new();
        for (k, v) in raw {
            let user = k.get(..info.key.size() as usize).unwrap_or(k).to_vec();
            let bucket = le_u64(k, off);
            if bucket > last {
                continue;
            }
            let EntryValue::Buckets(b) = combine(&info.value, v).map_err(value_err)? else { continue };
            let count = b.values().sum::<u64>();
            // A key whose buckets are all zero (after zero(@h)) is still printed, with no rows.
            let group = groups.entry(user).or_default();
            if count > 0 {
                *group.entry(bucket).or_default() += count;
            }
        }
        for (k, buckets) in groups {
            entries.push(Entry { key: decode_key(&k).map_err(key_err)?, value: EntryValue::Buckets(buckets) });
        }
    } else {
        for (k, v) in raw {
            let key = decode_key(k).map_err(key_err)?;
            entries.push(Entry { key, value: combine(&info.value, v).map_err(value_err)? });
        }
        // bpftrace keeps a keyless count() in a per-CPU array, whose one element always exists:
        // `@c` prints as `@c: 0` before the first count(), after clear(@c) and after delete(@c).
        if entries.is_empty() && info.scalar && info.value == MapValue::Count {
            entries.push(Entry { key: Value::Int(Int::unsigned(0)), value: EntryValue::Scalar(Value::Int(Int::unsigned(0))) });
        }
    }
    entries.sort_by(|a, b| {
        let by_value = match (a.value.sort_value(), b.value.sort_value()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => Ordering::Equal,
        };
        by_value.then_with(|| a.key.cmp_key(&b.key))
    });
    Ok(entries)
}

/// Keeps the `top` entries with the highest values (0 keeps all) and divides integer values and
/// averages by `div` (0 or 1 leaves them), as `print(@m, top, div)` does. As in bpftrace, stats()
/// maps ignore both, and histogram counts are divided when printed ([`render_entries`]).
pub fn top_div(mut entries: Vec<Entry>, top: u64, div: u64) -> Vec<Entry> {
    if entries.iter().any(|e| matches!(e.value, EntryValue::Stats { .. })) {
        return entries;
    }
    if top > 0 && (top as usize) < entries.len() {
        entries.drain(..entries.len() - top as usize);
    }
    if div > 1 {
        for e in &mut entries {
            match &mut e.value {
                EntryValue::Scalar(Value::Int(i)) => {
                    *i = if i.signed { Int::signed((i.bits as i64) / div as i64) } else { Int::unsigned(i.bits / div) };
                }
                // (total / div) / count == (total / count) / div in integer arithmetic.
                EntryValue::Avg { total, .. } => *total /= i64::try_from(div).unwrap_or(i64::MAX),
                _ => {}
            }
        }
    }
    entries
}

fn write_key(info: &MapInfo, key: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(info.name.as_bytes());
    if !info.scalar {
        out.push(b'[');
        match key {
            Value::Tuple(parts) => render_key_joined(parts, b", ", out),
            other => other.render_key(out),
        }
        out.push(b']');
    }
}

/// Formats a map in bpftrace's text format. Plain and counter maps print one
/// `@name[key]: value` line per entry; avg and stats maps end with an empty line; each
/// histogram is followed by an empty line; an empty map prints one empty line.
#[cfg_attr(not(test), allow(dead_code))]
pub fn format_map(
    info: &MapInfo,
    raw: &RawEntries,
    top: u64,
    div: u64,
) -> Result<Vec<u8>, MapError> {
    Ok(render_entries(info, &top_div(decode_map(info, raw)?, top, div), div, false))
}

/// Renders decoded entries (see [`format_map`]) as bpftrace 0.20 prints them, or as 0.26 does
/// with `v026`: `@name:` (no trailing space) before a histogram, stats as a record
/// (`{ .count = C, .average = A, .total = T }`), and no empty lines after avg/stats maps or
/// empty maps. Entries whose values are stacks, symbols or addresses are not separated by
/// newlines, as bpftrace prints them. `div` divides the counts of log2 histograms
/// (`print(@h, top, div)`).
pub fn render_entries(info: &MapInfo, entries: &[Entry], div: u64, v026: bool) -> Vec<u8> {
    let separator = !matches!(&info.value, MapValue::Plain { ty } if crate::resolve::value_needs_no_separator(ty));
    let mut out = Vec::new();
    for e in entries {
        write_key(info, &e.key, &mut out);
        match &e.value {
            EntryValue::Scalar(v) => {
                out.extend_from_slice(b": ");
                v.render(&mut out);
                if separator {
                    out.push(b'\n');
                }
            }
            EntryValue::Avg { total, count } => {
                out.extend_from_slice(format!(": {}\n", average(*total, *count)).as_bytes());
            }
            EntryValue::Stats { total, count } => {
                let avg = average(*total, *count);
                let text = if v026 {
                    format!(": {{ .count = {count}, .average = {avg}, .total = {total} }}\n")
                } else {
                    format!(": count {count}, average {avg}, total {total}\n")
                };
                out.extend_from_slice(text.as_bytes());
            }
            EntryValue::Buckets(b) => {
                out.extend_from_slice(if v026 { b":\n" } else { b": \n" });
                hist::render(&info.value, b, div, &mut out);
                out.push(b'\n');
            }
        }
    }
    if v026 {
        if !entries.is_empty() && !separator {
            out.push(b'\n');
        }
        return out;
    }
    // An empty map prints an empty line (as do entries not separated by newlines); avg and
    // stats maps end with one more, even when empty.
    if entries.is_empty() || !separator {
        out.push(b'\n');
    }
    if matches!(info.value, MapValue::Avg | MapValue::Stats) {
        out.push(b'\n');
    }
    out
}

/// Orders maps as bpftrace prints them at exit: by name (`@` < `@a` < `@b`).
pub fn exit_order(maps: &[MapInfo]) -> Vec<&MapInfo> {
    let mut v: Vec<&MapInfo> = maps.iter().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// The all-zero value of a map entry (for `zero(@m)`), per CPU where the map is per-CPU.
pub fn zero_value(value: &MapValue) -> Vec<u8> {
    vec![0u8; value.value_size() as usize]
}

#[cfg(test)]
mod tests;
