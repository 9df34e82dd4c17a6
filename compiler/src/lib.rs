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
    let Some(program) = syntax::parse(source, &mut diags) else {
        return Err(CompileError::Script(diags));
    };
    let check_opts =
        sema::CheckOptions { strlen: opts.strlen, pid: opts.pid, max_bpf_progs: opts.max_bpf_progs };
    let analysis = sema::analyse(&program, types, &check_opts, &mut diags);
    if diags.has_errors() {
        return Err(CompileError::Script(diags));
    }
    Ok(Checked { program, analysis, warnings: diags })
}

/// Compiles a script to an object, LLVM IR or assembly.
pub fn compile(
    source: &str,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    emit: Emit,
) -> Result<(Vec<u8>, Diagnostics), CompileError> {
    let checked = check(source, types, opts)?;
    let cg = codegen::CodegenOptions { file: opts.file_name.clone(), max_map_keys: opts.max_map_keys, strlen: opts.strlen };
    let out = codegen::generate(&checked.program, &checked.analysis, &cg, emit).map_err(CompileError::Internal)?;
    Ok((out, checked.warnings))
}
