//! Checking decoded metadata before anything trusts it: an object may be corrupted or made by
//! hand, and the runtime indexes, sizes, divides and names files by what the metadata says.

use crate::elf::one_line;
use crate::runtime::RuntimeTy;
use crate::{MapValue, Metadata, MetaError, Probe, ProbeKind, Ty};
use std::collections::HashSet;

/// The largest value layout (map key or value, event record) an object may describe.
pub const MAX_VALUE_SIZE: u64 = 1 << 24;
/// The deepest nesting of value layouts (tuples in tuples, arrays of structs, ...).
pub const MAX_TYPE_DEPTH: u32 = 32;
/// The most buckets of an `lhist()` (as the compiler allows).
const MAX_LHIST_BUCKETS: i64 = 1000;
/// The largest `k` of `hist(n, k)`.
const MAX_HIST_K: u8 = 5;

type Check = Result<(), String>;

fn fail<T>(msg: impl Into<String>) -> Result<T, String> {
    Err(msg.into())
}

/// A name of a program or map in the object: what libbpf and the kernel accept.
fn object_name(what: &str, name: &str) -> Check {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        fail(format!("{what} has an invalid name '{}'", one_line(name)))
    }
}

/// A name used in a path under tracefs or /proc: no separators, no `..`.
fn path_component(what: &str, s: &str) -> Check {
    if s.is_empty() || s.contains('/') || s == "." || s == ".." || s.contains('\0') {
        return fail(format!("{what} '{}' is not a valid name", one_line(s)));
    }
    Ok(())
}

fn non_empty(what: &str, s: &str) -> Check {
    if s.is_empty() || s.contains('\0') {
        return fail(format!("{what} is empty or has a NUL byte"));
    }
    Ok(())
}

/// Checks a layout; returns its size.
fn check_ty(ty: &Ty, depth: u32) -> Result<u64, String> {
    if depth > MAX_TYPE_DEPTH {
        return fail(format!("a value layout is nested more than {MAX_TYPE_DEPTH} levels deep"));
    }
    let size = match ty {
        Ty::Int { bytes, .. } => match bytes {
            // 16: `__int128` members of C structs (printed as undecodable).
            1 | 2 | 4 | 8 | 16 => u64::from(*bytes),
            other => return fail(format!("an integer of {other} bytes")),
        },
        Ty::Str { len } => u64::from(*len),
        Ty::Tuple { size, .. } | Ty::Record { size, .. } => {
            let fields: Vec<(u32, &Ty)> = match ty {
                Ty::Tuple { fields, .. } => fields.iter().map(|f| (f.offset, &f.ty)).collect(),
                Ty::Record { fields, .. } => fields.iter().map(|f| (f.offset, &f.ty)).collect(),
                _ => Vec::new(),
            };
            for (offset, f) in fields {
                let end = u64::from(offset) + check_ty(f, depth + 1)?;
                if end > u64::from(*size) {
                    return fail(format!("a field at offset {offset} ends at {end}, past its record's {size} bytes"));
                }
            }
            u64::from(*size)
        }
        Ty::Array { elem, count } => {
            let elem_size = check_ty(elem, depth + 1)?;
            if elem_size == 0 && *count > 1 {
                return fail("an array of empty elements");
            }
            elem_size.saturating_mul(u64::from(*count))
        }
        Ty::Bits { shift, bits, .. } => {
            if *shift >= 8 || !(1..=64).contains(bits) {
                return fail(format!("a bitfield of {bits} bits at bit {shift}"));
            }
            u64::from(ty.size())
        }
        Ty::Runtime(r) => {
            check_runtime(r)?;
            u64::from(r.size())
        }
    };
    if size > MAX_VALUE_SIZE {
        return fail(format!("a value of {size} bytes (at most {MAX_VALUE_SIZE})"));
    }
    Ok(size)
}

fn check_runtime(r: &RuntimeTy) -> Check {
    match r {
        RuntimeTy::Kstack { map, limit, .. } | RuntimeTy::Ustack { map, limit, .. } => {
            object_name("a stack map", map)?;
            if !(1..=1024).contains(limit) {
                return fail(format!("a stack of at most {limit} frames"));
            }
            Ok(())
        }
        RuntimeTy::Buf { size } if u64::from(*size) > MAX_VALUE_SIZE => fail(format!("a buffer of {size} bytes")),
        _ => Ok(()),
    }
}

fn check_map_value(v: &MapValue) -> Check {
    match *v {
        MapValue::Plain { ref ty } => check_ty(ty, 0).map(|_| ()),
        MapValue::Hist { k } if k > MAX_HIST_K => fail(format!("hist() with k = {k} (at most {MAX_HIST_K})")),
        MapValue::Lhist { min, max, step } => {
            let buckets = max.checked_sub(min).filter(|d| *d > 0 && step > 0).map(|d| d / step);
            match buckets {
                Some(n) if n <= MAX_LHIST_BUCKETS => Ok(()),
                _ => fail(format!("lhist() with min {min}, max {max}, step {step}")),
            }
        }
        _ => Ok(()),
    }
}

fn check_mode(mode: &str, len: u8) -> Check {
    let mode_ok = !mode.is_empty() && mode.len() <= 3 && mode.bytes().all(|b| matches!(b, b'r' | b'w' | b'x'));
    if !mode_ok || !matches!(len, 1 | 2 | 4 | 8) {
        return fail(format!("a watchpoint of {len} bytes in mode '{}'", one_line(mode)));
    }
    Ok(())
}

fn check_probe(p: &Probe) -> Check {
    object_name("a probe's program", &p.prog)?;
    non_empty("a probe's name", &p.name)?;
    let name = one_line(&p.name);
    let what = |msg: &str| format!("probe {name}: {msg}");
    if let Some(t) = &p.process {
        return check_process_target(p, t).map_err(|e| what(&e));
    }
    match &p.kind {
        ProbeKind::Interval { period_ns } | ProbeKind::Profile { period_ns } if *period_ns == 0 => {
            fail(what("a period of 0"))
        }
        ProbeKind::Software { period, .. } | ProbeKind::Hardware { period, .. } if *period == 0 => {
            fail(what("a period of 0"))
        }
        ProbeKind::Tracepoint { category, name } => {
            path_component("a tracepoint category", category)?;
            path_component("a tracepoint name", name)
        }
        ProbeKind::RawTracepoint { name, .. } => path_component("a raw tracepoint", name),
        ProbeKind::Kprobe { func, module, .. } | ProbeKind::Kfunc { func, module, .. } => {
            non_empty("a kernel function", func)?;
            module.as_deref().map_or(Ok(()), |m| path_component("a kernel module", m))
        }
        ProbeKind::Uprobe { path, .. } => non_empty("a uprobe's binary", path),
        ProbeKind::Usdt { path, provider, name, .. } => {
            non_empty("a USDT probe's binary", path)?;
            non_empty("a USDT provider", provider)?;
            non_empty("a USDT probe name", name)
        }
        ProbeKind::Watchpoint { len, mode, .. } => check_mode(mode, *len).map_err(|e| what(&e)),
        ProbeKind::WatchFunc { func, arg, len, mode, .. } => {
            non_empty("a watched function", func)?;
            if *arg > 5 {
                return fail(what(&format!("watches arg{arg}")));
            }
            check_mode(mode, *len).map_err(|e| what(&e))
        }
        ProbeKind::Iter { target, pin } => {
            path_component("an iterator", target)?;
            pin.as_deref().map_or(Ok(()), |p| non_empty("an iterator's pin path", p))
        }
        _ => Ok(()),
    }
}

/// A probe resolved at run time: its target is as written, and its kind is the template of
/// the same provider.
fn check_process_target(p: &Probe, t: &crate::ProcessTarget) -> Check {
    use crate::ProcessTarget as T;
    match (t, &p.kind) {
        (T::Uprobe { func, .. }, ProbeKind::Uprobe { .. }) => non_empty("a uprobe's function", func),
        (T::Usdt { provider, name, .. }, ProbeKind::Usdt { .. }) => {
            non_empty("a USDT provider", provider)?;
            non_empty("a USDT probe name", name)
        }
        (T::WatchFunc { func }, ProbeKind::WatchFunc { arg, len, mode, .. }) => {
            non_empty("a watched function", func)?;
            if *arg > 5 {
                return fail(format!("watches arg{arg}"));
            }
            check_mode(mode, *len)
        }
        _ => fail("a run-time target of another kind than the probe"),
    }
}

impl Metadata {
    /// Checks what the runtime relies on: names it looks up or puts in paths, sizes it reads,
    /// numbers it divides or shifts by. [`crate::read_metadata`] calls it; what the metadata
    /// says about the object's programs and maps is checked against the object by the runtime.
    pub fn validate(&self) -> Result<(), MetaError> {
        self.check().map_err(|e| MetaError::Invalid(one_line(&e)))
    }

    fn check(&self) -> Check {
        let mut progs = HashSet::new();
        for p in &self.probes {
            check_probe(p)?;
            if !progs.insert(p.prog.as_str()) {
                return fail(format!("two probes share the program {}", p.prog));
            }
        }
        let mut names = HashSet::new();
        for m in &self.maps {
            object_name("a map", &m.bpf_name)?;
            if !m.name.starts_with('@') || !names.insert(m.bpf_name.as_str()) {
                return fail(format!("map {} ({}) is named twice or badly", one_line(&m.name), m.bpf_name));
            }
            check_ty(&m.key, 0).map_err(|e| format!("map {}: {e}", one_line(&m.name)))?;
            check_map_value(&m.value).map_err(|e| format!("map {}: {e}", one_line(&m.name)))?;
        }
        for f in &self.formats {
            check_ty(&f.args, 0).map_err(|e| format!("a printf format's arguments: {e}"))?;
        }
        for v in &self.values {
            check_ty(v, 0).map_err(|e| format!("a print() value: {e}"))?;
        }
        if u64::from(self.strlen) > MAX_VALUE_SIZE {
            return fail(format!("a string length of {}", self.strlen));
        }
        for p in &self.pcaps {
            non_empty("a pcap file", p)?;
        }
        if self.requires.unsafe_functions.iter().any(|f| !f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) {
            return fail("an unsafe function with an invalid name");
        }
        let progs: Vec<&str> = self.probes.iter().map(|p| p.prog.as_str()).collect();
        crate::params::validate(&self.requires.params, &progs)?;
        check_portable(&self.portable)
    }
}

/// The load-time records: tracepoint names go into tracefs paths; slots are written into the
/// object, 8 bytes each, one after another.
fn check_portable(p: &crate::Portable) -> Check {
    for t in &p.tracepoints {
        path_component("a tracepoint category", &t.category)?;
        path_component("a tracepoint", &t.name)?;
    }
    for (i, s) in p.load_values.iter().enumerate() {
        if u64::from(s.offset) != i as u64 * 8 {
            return fail(format!("load-time value {i} at offset {}", s.offset));
        }
        let (crate::portable::LoadValue::Kaddr { name: arg } | crate::portable::LoadValue::Cgroupid { path: arg }) = &s.value;
        non_empty("a load-time value's argument", arg)?;
    }
    for b in &p.binaries {
        non_empty("a binary's path", &b.path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Field, MapInfo};

    fn meta() -> Metadata {
        Metadata {
            version: crate::FORMAT_VERSION,
            compiler: "btc test".into(),
            source: Default::default(),
            requires: Default::default(),
            probes: vec![Probe { prog: "btc_p0".into(), name: "BEGIN".into(), kind: ProbeKind::Begin, process: None }],
            maps: vec![MapInfo {
                name: "@".into(),
                bpf_name: "btc_m0".into(),
                key: Ty::U64,
                scalar: true,
                value: MapValue::Count, lru: false,
            }],
            formats: vec![],
            config: Default::default(),
            values: vec![],
            error_sites: vec![],
            strlen: 64,
            pcaps: vec![],
            portable: Default::default(),
        }
    }

    fn invalid(m: &Metadata) -> String {
        match m.validate() {
            Err(MetaError::Invalid(e)) => e,
            other => format!("not refused: {other:?}"),
        }
    }

    #[test]
    fn accepts_what_the_compiler_makes() {
        assert!(meta().validate().is_ok());
    }

    #[test]
    fn refuses_what_the_runtime_cannot_trust() {
        let mut m = meta();
        m.maps[0].value = MapValue::Lhist { min: 0, max: 100, step: 0 };
        assert!(invalid(&m).contains("lhist() with min 0, max 100, step 0"));
        m.maps[0].value = MapValue::Lhist { min: i64::MIN, max: i64::MAX, step: 1 };
        assert!(invalid(&m).contains("lhist()"));
        m.maps[0].value = MapValue::Hist { k: 64 };
        assert!(invalid(&m).contains("k = 64"));

        let mut m = meta();
        m.values.push(Ty::Array { elem: Box::new(Ty::Tuple { fields: vec![], size: 0 }), count: u32::MAX });
        assert!(invalid(&m).contains("array of empty elements"));
        let mut m = meta();
        m.values.push(Ty::Array { elem: Box::new(Ty::U64), count: u32::MAX });
        assert!(invalid(&m).contains("at most"));
        let mut m = meta();
        m.values.push(Ty::Tuple { fields: vec![Field { offset: 4, ty: Ty::U64 }], size: 8 });
        assert!(invalid(&m).contains("past its record"));
        let mut m = meta();
        m.values.push(Ty::Int { bytes: 3, signed: false });
        assert!(invalid(&m).contains("integer of 3 bytes"));
        let mut deep = Ty::U64;
        for _ in 0..40 {
            deep = Ty::tuple(vec![deep]);
        }
        let mut m = meta();
        m.values.push(deep);
        assert!(invalid(&m).contains("nested"));

        let mut m = meta();
        m.probes[0].kind = ProbeKind::Tracepoint { category: "../../etc".into(), name: "x".into() };
        assert!(invalid(&m).contains("tracepoint category"));
        let mut m = meta();
        m.probes[0].kind = ProbeKind::Interval { period_ns: 0 };
        assert!(invalid(&m).contains("period of 0"));
        let mut m = meta();
        m.probes.push(m.probes[0].clone());
        assert!(invalid(&m).contains("share the program"));
        let mut m = meta();
        m.probes[0].prog = "a/b".into();
        assert!(invalid(&m).contains("invalid name"));
        let mut m = meta();
        m.probes[0].process = Some(crate::ProcessTarget::Uprobe { binary: String::new(), func: "f".into() });
        assert!(invalid(&m).contains("another kind"));
        m.probes[0].kind = ProbeKind::Uprobe {
            path: String::new(),
            symbol: Some("f".into()),
            offset: 0,
            ret: false,
            optional: false,
            also: Vec::new(),
        };
        assert!(m.validate().is_ok());
    }

    #[test]
    fn refuses_load_time_records_the_runtime_cannot_trust() {
        use crate::portable::{LoadSlot, LoadValue, TracepointLayout};
        let mut m = meta();
        m.portable.tracepoints.push(TracepointLayout { category: "..".into(), name: "x".into(), fields: vec![] });
        assert!(invalid(&m).contains("tracepoint category '..'"));
        let mut m = meta();
        m.portable.load_values.push(LoadSlot { offset: 0, value: LoadValue::Kaddr { name: "vfs_read".into() } });
        assert!(m.validate().is_ok());
        m.portable.load_values.push(LoadSlot { offset: 1 << 30, value: LoadValue::Cgroupid { path: "/".into() } });
        assert!(invalid(&m).contains("load-time value 1 at offset"));
    }

    #[test]
    fn parameter_slots_stay_in_their_area() {
        use crate::params::{AttachTemplate, Slot, SlotValue};
        let mut m = meta();
        m.requires.params.symbol = "__btc_params".into();
        m.requires.params.size = 16;
        m.requires.params.slots = vec![Slot { offset: 0, value: SlotValue::Str { n: 1, skip: 0, len: 16 } }];
        assert!(m.validate().is_ok());
        m.requires.params.slots.push(Slot { offset: 12, value: SlotValue::Int { n: 2 } });
        assert!(invalid(&m).contains("outside its 16 bytes"));
        let mut m = meta();
        m.requires.params.attach.push(AttachTemplate { prog: "btc_p9".into(), raw: "interval:s:$1".into() });
        assert!(invalid(&m).contains("names no program"));
    }
}
