//! Printing user maps the way bpftrace does (`@name[key]: value`).

use crate::value::{decode, render_joined, DecodeError, Int, Value};
use btc_bpfprog::{MapInfo, MapValue, Ty};
use std::cmp::Ordering;

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

/// Sums 8-byte little-endian per-CPU counters (wrapping, as the kernel's counters do).
fn sum_per_cpu(values: &[Vec<u8>]) -> u64 {
    values
        .iter()
        .map(|v| {
            let mut b = [0u8; 8];
            let n = v.len().min(8);
            b[..n].copy_from_slice(&v[..n]);
            u64::from_le_bytes(b)
        })
        .fold(0u64, u64::wrapping_add)
}

/// Decodes a map value, combining per-CPU values for `count()` and `sum()` maps.
fn decode_value(value: &MapValue, raw: &RawValue) -> Result<Value, DecodeError> {
    let total = |raw: &RawValue| -> Result<u64, DecodeError> {
        match raw {
            RawValue::PerCpu(v) => Ok(sum_per_cpu(v)),
            RawValue::Single(v) => match decode(&Ty::U64, v)? {
                Value::Int(i) => Ok(i.bits),
                _ => Ok(0),
            },
        }
    };
    match value {
        MapValue::Count => Ok(Value::Int(Int::unsigned(total(raw)?))),
        MapValue::Sum => Ok(Value::Int(Int::signed(total(raw)? as i64))),
        MapValue::Plain { ty } => match raw {
            RawValue::Single(v) => decode(ty, v),
            // A plain value in a per-CPU map would be a contract violation; show CPU 0's value.
            RawValue::PerCpu(v) => decode(ty, v.first().map_or(&[][..], |x| x)),
        },
    }
}

/// Whether entries are sorted by value (integers) rather than by key.
fn sorts_by_value(value: &MapValue) -> bool {
    match value {
        MapValue::Count | MapValue::Sum => true,
        MapValue::Plain { ty } => matches!(ty, Ty::Int { .. }),
    }
}

/// Formats a whole map as bpftrace's text output does: one `@name[key]: value` line per entry,
/// followed by an empty line when the map has no entries (bpftrace prints `"\n"` for an empty
/// map, as it joins the entries with newlines and ends with one).
///
/// Integer-valued maps (`count()`, `sum()`, plain integers) are sorted by ascending value, ties by
/// key; others by key (integers compared unsigned, strings bytewise, first key field first).
#[cfg_attr(not(test), allow(dead_code))]
pub fn format_map(info: &MapInfo, entries: &RawEntries) -> Result<Vec<u8>, MapError> {
    Ok(render_text(info, &sorted_entries(info, entries)?))
}

/// Decodes the entries of a map and sorts them in bpftrace's printing order (see
/// [`format_map`]).
pub fn sorted_entries(info: &MapInfo, entries: &RawEntries) -> Result<Vec<(Value, Value)>, MapError> {
    let mut decoded = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key = decode(&info.key, k).map_err(|err| MapError::Key { map: info.name.clone(), err })?;
        let value =
            decode_value(&info.value, v).map_err(|err| MapError::Value { map: info.name.clone(), err })?;
        decoded.push((key, value));
    }
    let by_value = sorts_by_value(&info.value);
    decoded.sort_by(|(ka, va), (kb, vb)| {
        let by_val = match (by_value, va, vb) {
            (true, Value::Int(a), Value::Int(b)) => a.cmp_numeric(b),
            _ => Ordering::Equal,
        };
        by_val.then_with(|| ka.cmp_key(kb))
    });
    Ok(decoded)
}

/// Renders sorted, decoded entries as bpftrace's text output does.
pub fn render_text(info: &MapInfo, decoded: &[(Value, Value)]) -> Vec<u8> {
    // Stacks, symbols and addresses are printed without a newline between entries.
    let separator = !matches!(&info.value, MapValue::Plain { ty } if crate::resolve::value_needs_no_separator(ty));
    let mut out = Vec::new();
    for (key, value) in decoded {
        out.extend_from_slice(info.name.as_bytes());
        if !info.scalar {
            out.push(b'[');
            match key {
                Value::Tuple(parts) => render_joined(parts, &mut out),
                other => other.render(&mut out),
            }
            out.push(b']');
        }
        out.extend_from_slice(b": ");
        value.render(&mut out);
        if separator {
            out.push(b'\n');
        }
    }
    if decoded.is_empty() || !separator {
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

#[cfg(test)]
mod tests;
