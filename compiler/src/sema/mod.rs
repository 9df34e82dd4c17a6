//! Semantic passes. [`analyse`] runs them in order.

pub mod access;
pub mod builtins;
pub mod calls;
pub mod calls_bswap;
pub mod calls_builtins;
pub mod calls_runtime;
pub mod calls_maps;
pub mod calls_skb;
pub mod calls_strings;
pub mod check;
pub mod compare;
pub mod config;
pub mod consteval;
pub mod format;
pub mod lang26;
pub mod map_decls;
pub mod positional;
pub mod probe_builtins;
pub mod probes;
pub mod portable;
pub mod requires;
pub mod scope;

use crate::ast::Program;
use crate::diag::Diagnostics;
use crate::types::TypeSource;
pub use check::{CheckOptions, Instance, MapKind, MapSig};

/// The result of the semantic passes: every probe instance with its types, and every map.
#[derive(Debug)]
pub struct Analysis {
    pub instances: Vec<Instance>,
    pub maps: Vec<MapSig>,
}

/// Runs the semantic passes in order:
/// 1. `probes::resolve` — attach points are expanded first, because the types of `args` depend on
///    the probe (tracepoint format files).
/// 2. `check::check` — types every expression per probe instance and fixes map signatures.
///    `map_decls::apply` then checks map declarations against those signatures.
/// 3. `calls_skb::mark_tp_btf` — picks the program type of rawtracepoint probes that call
///    skboutput() (which the checker allowed only where BTF types the tracepoint).
pub fn analyse(prog: &Program, types: &dyn TypeSource, opts: &CheckOptions, diags: &mut Diagnostics) -> Analysis {
    let pre = crate::types::cpp::Preprocessed::default();
    analyse_with(prog, crate::types::TypeDb::kernel_only(types), &pre, opts, diags)
}

/// [`analyse`] for a preprocessed script: `db` knows the kernel's types; the C types of the
/// preamble (and of the headers in `pre`) are added to it first, as checking needs them.
pub fn analyse_with(
    prog: &Program,
    mut db: crate::types::TypeDb<'_>,
    pre: &crate::types::cpp::Preprocessed,
    opts: &CheckOptions,
    diags: &mut Diagnostics,
) -> Analysis {
    let (c, c_diags) = crate::types::cdecl::build(pre, &prog.preamble, &db);
    db.c = c;
    // As in bpftrace, where clang stops at them: errors in the C definitions end the
    // compilation before the probes are checked (which would only repeat them).
    if !c_diags.is_empty() {
        for d in c_diags {
            diags.push(d);
        }
        return Analysis { instances: Vec::new(), maps: Vec::new() };
    }
    let ropts = probes::ResolveOptions {
        pid: opts.pid,
        has_child: opts.has_child,
        command: opts.command.clone(),
        max_bpf_progs: opts.max_bpf_progs,
        at_run_time: opts.at_run_time,
    };
    let resolved = probes::resolve(prog, &db, &ropts, diags);
    if prog.probes.is_empty() {
        diags.error(crate::diag::Span::new(0, 0), "the program has no probes");
    }
    let (mut instances, mut maps) = check::check(prog, resolved, &db, opts, diags);
    map_decls::apply(prog, &mut maps, diags);
    // 3. Rawtracepoint probes that call skboutput() become tp_btf programs (checked in 2).
    calls_skb::mark_tp_btf(prog, &mut instances);
    Analysis { instances, maps }
}
