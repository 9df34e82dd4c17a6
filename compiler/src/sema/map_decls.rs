//! Map declarations `let @name = kind(max_entries);` (bpftrace 0.26): the BPF map type and size
//! of a map, checked against what the probes store in it.

use super::check::{MapKind, MapSig};
use crate::ast::Program;
use crate::diag::{Diagnostic, Diagnostics};

/// What a declaration fixes about a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// `lruhash` / `percpulruhash`: the kernel evicts old entries instead of refusing new ones.
    pub lru: bool,
    pub max_entries: u32,
}

/// The kinds bpftrace 0.26 declares, and whether each is per-CPU and LRU.
const KINDS: &[(&str, bool, bool)] =
    &[("hash", false, false), ("lruhash", false, true), ("percpuhash", true, false), ("percpulruhash", true, true)];

/// Checks the declarations of `prog` against the maps the probes use (`maps`) and records what
/// each declares in its signature. A declared map the probes never use is a warning.
pub fn apply(prog: &Program, maps: &mut [MapSig], diags: &mut Diagnostics) {
    let mut seen: Vec<&str> = Vec::new();
    for d in &prog.map_decls {
        let Some(&(_, percpu, lru)) = KINDS.iter().find(|k| k.0 == d.kind) else {
            diags.error(d.span, format!("Invalid bpf map type: {}", d.kind));
            continue;
        };
        if seen.contains(&d.name.as_str()) {
            diags.error(d.name_span, format!("Map already declared: {}", d.name));
            continue;
        }
        seen.push(&d.name);
        let Ok(max_entries) = u32::try_from(d.max_entries) else {
            diags.error(d.span, format!("Map declaration max entries too large: {}", d.max_entries));
            continue;
        };
        let Some(sig) = maps.iter_mut().find(|m| m.name == d.name) else {
            diags.push(Diagnostic::warning(d.span, format!("Unused map: {}", d.name)));
            continue;
        };
        let is_percpu = matches!(sig.kind, MapKind::Agg(_));
        if is_percpu != percpu {
            let used = if is_percpu { "percpuhash" } else { "hash" };
            diags.error(
                sig.defined_at,
                format!("Incompatible map types. Type from declaration: {}. Type from value/key type: {used}", d.kind),
            );
            continue;
        }
        sig.declared = Some(Declared { lru, max_entries });
    }
}
