//! `btc info OBJECT`: what a compiled object is, what it was made from, and what it needs to run
//! (command-line flags, kernel features), in `--info`'s shape: sections of `name: value` lines.
//! Nothing is loaded: the object is opened and checked as `btc run` would before starting.

use btc_bpfprog::{MapValue, Metadata, ProbeKind, Ty};
use btc_runtime::ObjectReport;
use std::fmt::Write;
use std::path::Path;

/// Reads, checks and describes the object at `path`.
pub fn info(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    describe(&path.display().to_string(), &bytes)
}

/// Checks and describes the object `bytes` from the file `file`. The error is one line, without
/// `ERROR: `.
pub fn describe(file: &str, bytes: &[u8]) -> Result<String, String> {
    let report = btc_runtime::inspect_object(bytes).map_err(|e| format!("{file}: {e}"))?;
    Ok(render(file, &report))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `yes (a, b)` or `no`.
fn yes_with(items: &[String]) -> String {
    if items.is_empty() {
        "no".to_string()
    } else {
        format!("yes ({})", items.join(", "))
    }
}

/// A layout by bpftrace's type names.
fn ty_name(ty: &Ty) -> String {
    match ty {
        Ty::Int { bytes, signed } => format!("{}int{}", if *signed { "" } else { "u" }, u32::from(*bytes) * 8),
        Ty::Str { len } => format!("string[{len}]"),
        Ty::Tuple { fields, .. } => format!("({})", fields.iter().map(|f| ty_name(&f.ty)).collect::<Vec<_>>().join(", ")),
        Ty::Record { size, .. } => format!("struct[{size} bytes]"),
        Ty::Array { elem, count } => format!("{}[{count}]", ty_name(elem)),
        Ty::Bits { bits, signed, .. } => format!("{}int:{bits}", if *signed { "" } else { "u" }),
        Ty::Runtime(r) => r.name().to_string(),
    }
}

fn map_kind(v: &MapValue) -> String {
    match v {
        MapValue::Plain { ty } => ty_name(ty),
        MapValue::Count => "count".into(),
        MapValue::Sum => "sum".into(),
        MapValue::Min => "min".into(),
        MapValue::Max => "max".into(),
        MapValue::Avg => "avg".into(),
        MapValue::Stats => "stats".into(),
        MapValue::Hist { k } => format!("hist(k={k})"),
        MapValue::Lhist { min, max, step } => format!("lhist({min}, {max}, {step})"),
    }
}

/// Rows of columns, each column as wide as its widest cell; numbers in columns listed in
/// `right` are right-aligned.
fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            let w = width[c];
            if right.contains(&c) {
                let _ = write!(line, " {cell:>w$}");
            } else {
                let _ = write!(line, " {cell:<w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn requirements(meta: &Metadata) -> String {
    let r = &meta.requires;
    let mut out = String::from("Run-time requirements\n");
    let _ = writeln!(out, "  --unsafe: {}", yes_with(&r.unsafe_functions));
    let _ = writeln!(out, "  -c CMD: {}", if r.child { "yes (cpid)" } else { "no" });
    let _ = writeln!(out, "  -c CMD or -p PID: {}", yes_with(&r.process_probes));
    let _ = writeln!(out, "  positional parameters: {}", r.positional);
    let _ = writeln!(out, "  $# (parameter count): {}", yes_no(r.param_count));
    // Parameters built into the code: a run must give the same ones.
    let folded: Vec<String> = r
        .params
        .folded
        .iter()
        .map(|f| match (f.n, &f.text) {
            (0, t) => format!("$# = {}", t.as_deref().unwrap_or("0")),
            (n, Some(t)) => format!("${n} = \"{}\"", t.escape_debug()),
            (n, None) => format!("${n} not given"),
        })
        .collect();
    if !folded.is_empty() {
        let _ = writeln!(out, "  built in at compile time: {}", folded.join(", "));
    }
    for a in &r.params.attach {
        let _ = writeln!(out, "  attach point completed at run time: {}", a.raw);
    }
    out
}

fn kernel(report: &ObjectReport) -> String {
    let mut prog_types: Vec<&str> = report.programs.iter().map(|p| p.prog_type.as_str()).collect();
    prog_types.sort_unstable();
    prog_types.dedup();
    let mut map_types: Vec<&str> = report.maps.iter().map(|m| m.type_name.as_str()).collect();
    map_types.sort_unstable();
    map_types.dedup();
    let mut helpers: Vec<u32> = report.programs.iter().flat_map(|p| p.helpers.iter().copied()).collect();
    helpers.sort_unstable();
    helpers.dedup();
    let mut helpers: Vec<String> = helpers.into_iter().map(btc_runtime::helper_name).collect();
    helpers.sort();
    // CO-RE relocations are resolved against the kernel's BTF, and tracing programs (fentry,
    // fexit, tp_btf, iterators) find their attach target in it.
    let tracing = report.programs.iter().filter(|p| p.prog_type == "tracing").count();
    let mut why = Vec::new();
    match report.core_relocations {
        0 => {}
        1 => why.push("1 CO-RE relocation".to_string()),
        n => why.push(format!("{n} CO-RE relocations")),
    }
    match tracing {
        0 => {}
        1 => why.push("1 tracing program".to_string()),
        n => why.push(format!("{n} tracing programs")),
    }
    let core = yes_with(&why);
    format!(
        "Kernel features\n  program types: {}\n  map types: {}\n  helpers: {}\n  kernel BTF: {core}\n",
        prog_types.join(", "),
        map_types.join(", "),
        helpers.join(", ")
    )
}

fn probes(report: &ObjectReport) -> String {
    let insns = |name: &str| report.programs.iter().find(|p| p.name == name);
    let mut rows = Vec::new();
    for p in &report.meta.probes {
        // A probe on the traced process compiled without one is expanded when the object runs.
        let unit = if p.process.is_some() { "insns (targets found at run time)" } else { "insns" };
        let mut row = |label: String, prog: &str| {
            let (ty, n) = insns(prog).map_or(("-".to_string(), 0), |f| (f.prog_type.clone(), f.insns));
            rows.push(vec![label, prog.to_string(), ty, n.to_string(), unit.to_string()]);
        };
        row(p.name.clone(), &p.prog);
        if matches!(p.kind, ProbeKind::WatchFunc { .. }) {
            row(format!("  (its setter, a uprobe on {})", watched_function(&p.kind)), &btc_bpfprog::watch_setter(&p.prog));
        }
    }
    format!("Probes ({})\n{}", report.meta.probes.len(), table(&rows, &[3]))
}

fn watched_function(kind: &ProbeKind) -> String {
    match kind {
        ProbeKind::WatchFunc { func, .. } => func.clone(),
        _ => String::new(),
    }
}

fn maps(report: &ObjectReport) -> String {
    let mut rows = Vec::new();
    for m in &report.meta.maps {
        let key = if m.scalar { "-".to_string() } else { ty_name(&m.key) };
        let bpf_type = report.maps.iter().find(|f| f.name == m.bpf_name).map_or("-", |f| f.type_name.as_str());
        rows.push(vec![m.name.clone(), map_kind(&m.value), format!("key {key}"), m.bpf_name.clone(), bpf_type.to_string()]);
    }
    format!("Maps ({})\n{}", report.meta.maps.len(), table(&rows, &[]))
}

/// The whole description.
pub fn render(file: &str, report: &ObjectReport) -> String {
    let meta = &report.meta;
    let object = format!(
        "Object\n  file: {file}\n  built by: {}\n  object format: {}\n  script: {}\n  script sha256: {}\n",
        meta.compiler, meta.version, meta.source.name, meta.source.sha256
    );
    [object, requirements(meta), kernel(report), portability(report), probes(report), maps(report)].join("\n")
}

/// What the object relies on that another machine may not have, and how each is handled when
/// it is loaded there.
fn portability(report: &ObjectReport) -> String {
    let p = &report.meta.portable;
    let mut out = String::from("Portability\n");
    let mut targets: Vec<String> = report.relocations.iter().map(|r| r.target.clone()).collect();
    targets.sort();
    targets.dedup();
    let core = match report.relocations.len() {
        0 => "none".to_string(),
        n => format!("{n} CO-RE relocation{}, resolved against the target's BTF ({})", if n == 1 { "" } else { "s" }, targets.join(", ")),
    };
    let _ = writeln!(out, "  kernel struct fields: {core}");
    let tps: Vec<String> = p
        .tracepoints
        .iter()
        .map(|t| {
            let fields: Vec<String> = t.fields.iter().map(|f| format!("{} at {} size {}", f.name, f.offset, f.size)).collect();
            format!("{}:{} ({})", t.category, t.name, fields.join(", "))
        })
        .collect();
    let _ = writeln!(out, "  tracepoint fields, checked at load: {}", if tps.is_empty() { "none".to_string() } else { tps.join("; ") });
    let build = match &p.kernel_build_id {
        Some(id) => format!("{} (kernel build ID {id})", p.kernel_uses.join(", ")),
        None if p.kernel_uses.is_empty() => "none".to_string(),
        None => format!("{} (kernel build ID unknown: not checked)", p.kernel_uses.join(", ")),
    };
    let _ = writeln!(out, "  kernel build, checked at load: {build}");
    let looked: Vec<String> = p.load_values.iter().map(|s| s.value.call()).collect();
    let _ = writeln!(out, "  looked up at load: {}", if looked.is_empty() { "none".to_string() } else { looked.join(", ") });
    let bins: Vec<String> = p.binaries.iter().map(|b| format!("{} ({}; {})", b.path, b.identity, b.uses.join(", "))).collect();
    let _ = writeln!(out, "  user binaries, checked at load: {}", if bins.is_empty() { "none".to_string() } else { bins.join("; ") });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_bpftraces() {
        let t = Ty::tuple(vec![Ty::Int { bytes: 4, signed: true }, Ty::Str { len: 16 }, Ty::U64]);
        assert_eq!(ty_name(&t), "(int32, string[16], uint64)");
        assert_eq!(map_kind(&MapValue::Lhist { min: 0, max: 100, step: 10 }), "lhist(0, 100, 10)");
    }

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["BEGIN".to_string(), "7".to_string()], vec!["i:s:1".to_string(), "120".to_string()]];
        assert_eq!(table(&rows, &[1]), "  BEGIN   7\n  i:s:1 120\n");
    }
}
