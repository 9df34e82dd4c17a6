//! btc-compiler: bpftrace scripts in, BPF ELF objects (or LLVM IR, assembly) and diagnostics out.
//!
//! Pure: it never touches the kernel. Types it cannot see in the script (tracepoint formats, ...)
//! come through a [`types::TypeSource`] the caller provides.

pub mod ast;
pub mod ast_print;
pub mod codegen;
pub mod diag;
pub mod sema;
pub mod suggest;
pub mod syntax;
pub mod types;

pub use codegen::Emit;
pub use diag::{Diagnostic, Diagnostics, Severity, Span};
pub use types::{NoTypes, TypeSource};

/// What to compile and how.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Name of the script in diagnostics (`stdin` for `-e`).
    pub file_name: String,
    /// BPFTRACE_STRLEN.
    pub strlen: u32,
    /// BPFTRACE_MAX_MAP_KEYS.
    pub max_map_keys: u32,
    /// The process given with `-p`: uprobe and usdt targets are looked up in its mappings.
    pub pid: Option<i32>,
    /// BPFTRACE_MAX_BPF_PROGS: the most programs a script may generate.
    pub max_bpf_progs: u32,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            file_name: "stdin".into(),
            strlen: types::DEFAULT_STRLEN,
            max_map_keys: 4096,
            pid: None,
            max_bpf_progs: sema::probes::DEFAULT_MAX_PROBES,
        }
    }
}

/// Why compilation failed.
#[derive(Debug)]
pub enum CompileError {
    /// Problems in the script; render them with [`Diagnostics::render`].
    Script(Diagnostics),
    /// A problem of btc or LLVM, not of the script.
    Internal(String),
}

/// A successful front-end run: the AST and its analysis, plus any warnings.
pub struct Checked {
    pub program: ast::Program,
    pub analysis: sema::Analysis,
    pub warnings: Diagnostics,
}

/// Parses and checks a script.
pub fn check(source: &str, types: &dyn TypeSource, opts: &CompileOptions) -> Result<Checked, CompileError> {
    let mut diags = Diagnostics::default();
    // The preamble's directives run first: its macros are expanded in the script's text before
    // it is parsed, and diagnostics are mapped back to the text as written.
    let pre = types::cpp::preprocess(source, types);
    let (text, map) = types::expand::expand_script(source, &pre.macros);
    let db = types::TypeDb::kernel_only(types);
    let directive_diags = types::cdecl::directive_diagnostics(&pre, &db);
    let parsed = syntax::parse(&text, &mut diags);
    let analysis = parsed.as_ref().map(|program| {
        let check_opts =
            sema::CheckOptions { strlen: opts.strlen, pid: opts.pid, max_bpf_progs: opts.max_bpf_progs };
        sema::analyse_with(program, db, &pre, &check_opts, &mut diags)
    });
    remap(&mut diags, &map);
    diags.items.extend(directive_diags);
    let (Some(program), Some(analysis)) = (parsed, analysis) else {
        return Err(CompileError::Script(diags));
    };
    if diags.has_errors() {
        return Err(CompileError::Script(diags));
    }
    Ok(Checked { program, analysis, warnings: diags })
}

/// Maps diagnostics in macro-expanded text back to the script as written.
fn remap(diags: &mut Diagnostics, map: &types::expand::SourceMap) {
    if map.is_identity() {
        return;
    }
    let fix = |s: Span| Span { start: map.map(s.start, false), end: map.map(s.end, true) };
    for d in &mut diags.items {
        d.span = fix(d.span);
        for (s, _) in &mut d.notes {
            *s = fix(*s);
        }
    }
}

/// Compiles a script to an object, LLVM IR or assembly.
pub fn compile(
    source: &str,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    emit: Emit,
) -> Result<(Vec<u8>, Diagnostics), CompileError> {
    let checked = check(source, types, opts)?;
    let cg = codegen::CodegenOptions { file: opts.file_name.clone(), max_map_keys: opts.max_map_keys };
    let out = codegen::generate(&checked.program, &checked.analysis, &cg, emit).map_err(CompileError::Internal)?;
    Ok((out, checked.warnings))
}
