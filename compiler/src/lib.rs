//! btc-compiler: the front end. bpftrace scripts in; their AST, types and diagnostics out
//! ([`check`]). Code generation (LLVM) is the btc-codegen crate, so this crate links no LLVM:
//! `btc compile --check` and `btc run x.o` start without it.
//!
//! Pure: it never touches the kernel. Types it cannot see in the script (tracepoint formats, ...)
//! come through a [`types::TypeSource`] the caller provides.

pub mod ast;
pub mod catalogue;
pub mod ast_print;
pub mod diag;
pub mod expand;
pub mod sema;
pub mod settings;
pub mod suggest;
pub mod syntax;
pub mod types;

pub use diag::{Diagnostic, Diagnostics, Severity, Span};
pub use types::{NoTypes, TypeSource};

/// What code generation produces (btc-codegen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Object,
    LlvmIr,
    Asm,
}

/// What to compile and how.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Name of the script in diagnostics (`stdin` for `-e`).
    pub file_name: String,
    /// BPFTRACE_STRLEN.
    pub strlen: u32,
    /// BPFTRACE_MAX_MAP_KEYS.
    pub max_map_keys: u32,
    /// Settings given by environment variables; they win over the script's config block, which
    /// wins over `strlen` and `max_map_keys` above.
    pub env: settings::Settings,
    /// Positional parameters (`$1`..`$N`) given to the compile. Where the code needs a
    /// parameter's value it is folded in (and recorded); elsewhere the object reads the run's.
    pub positional: Vec<String>,
    /// `positional` are exactly the parameters of the run (`btc run SCRIPT ARGS`): one not
    /// among them is known to be missing, and attach points are resolved now.
    pub positional_complete: bool,
    /// `--unsafe`: allow system(), signal() and override().
    pub allow_unsafe: bool,
    /// `-I DIR`: directories searched for C headers (for the C preamble).
    pub include_dirs: Vec<std::path::PathBuf>,
    /// `--include FILE`: headers included before the script, as `#include <FILE>` would.
    pub includes: Vec<String>,
    /// `-c CMD` is given: `cpid` is the child's PID.
    pub has_child: bool,
    /// The `-c` command (the program of `watchpoint:FUNC*+argN`'s functions), when known.
    pub command: Option<String>,
    /// `--usdt-file-activation`: activate USDT semaphores of every process running the binary.
    pub usdt_file_activation: bool,
    /// BPFTRACE_BTF: a BTF file to read kernel types from instead of the running kernel's.
    pub btf: Option<std::path::PathBuf>,
    /// BPFTRACE_VMLINUX: the vmlinux to read kernel symbols from.
    pub vmlinux: Option<std::path::PathBuf>,
    /// The process given with `-p`: uprobe and usdt targets are looked up in its mappings.
    pub pid: Option<i32>,
    /// BPFTRACE_MAX_BPF_PROGS: the most programs a script may generate.
    pub max_bpf_progs: u32,
    /// `--unsafe`, `-c` and `-p` are given when the object runs, not now (`btc compile`
    /// without them): unsafe functions and `cpid` compile (the metadata's [`btc_bpfprog::Requires`]
    /// says the run needs the flag), and uprobes, USDT probes and `watchpoint:FUNC+argN` that
    /// name no binary are resolved in the traced process when the object runs.
    pub process_flags_at_run_time: bool,
}

pub use btc_bpfprog::runtime::HelperErrors;

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            file_name: "stdin".into(),
            strlen: types::DEFAULT_STRLEN,
            max_map_keys: 4096,
            env: settings::Settings::default(),
            positional: Vec::new(),
            positional_complete: false,
            allow_unsafe: false,
            include_dirs: Vec::new(),
            includes: Vec::new(),
            has_child: false,
            command: None,
            usdt_file_activation: false,
            btf: None,
            vmlinux: None,
            pid: None,
            max_bpf_progs: sema::probes::DEFAULT_MAX_PROBES,
            process_flags_at_run_time: false,
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
    /// The settings in force: environment, then config block.
    pub settings: settings::Settings,
    /// The text the AST's spans refer to (the script after macro expansion).
    pub source: String,
    /// What a run of the compiled object needs from its command line.
    pub requires: btc_bpfprog::Requires,
    /// The compile-time calls (`kaddr`, `uaddr`, `cgroupid`) replaced by their values.
    pub consts: sema::consteval::Consts,
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
    let Some(mut program) = syntax::parse(&text, &mut diags) else {
        remap(&mut diags, &map);
        diags.items.extend(directive_diags);
        return Err(CompileError::Script(diags));
    };
    // Imports and macros next: the passes after them see one program with no macro calls.
    let origins = expand::expand(&mut program, &script_dir(&opts.file_name), &mut diags);
    if diags.has_errors() {
        resolve(&mut diags, &origins, &map);
        return Err(CompileError::Script(diags));
    }
    // Declarations (`let`, loop variables) get variables of their own.
    sema::scope::resolve(&mut program, &mut diags);
    // The config block and the positional parameters come next: they change types and values.
    let script_settings = sema::config::settings(&program, opts.env.runtime.compat, &mut diags);
    let settings = opts.env.clone().over(&script_settings);
    let mut requires = sema::requires::scan(&program);
    let given = sema::positional::Given { params: &opts.positional, complete: opts.positional_complete };
    requires.params =
        sema::positional::substitute(&mut program, given, settings.strlen_bytes(opts.strlen), &mut diags);
    let consts = sema::consteval::substitute(&mut program, types, &mut diags);
    if diags.has_errors() {
        resolve(&mut diags, &origins, &map);
        diags.items.extend(directive_diags);
        return Err(CompileError::Script(diags));
    }
    // As in bpftrace, where clang stops at them: the C preamble's errors (a missing header
    // among them) end the compilation before the probes are checked.
    if !directive_diags.is_empty() {
        diags.items.extend(directive_diags);
        return Err(CompileError::Script(diags));
    }
    let check_opts = sema::CheckOptions {
        strlen: settings.strlen_bytes(opts.strlen),
        allow_unsafe: opts.allow_unsafe,
        stack_mode: settings.stack_mode.unwrap_or_default(),
        has_child: opts.has_child,
        command: opts.command.clone(),
        pid: opts.pid,
        // bpftrace 0.26's default is 1024 (0.20: 512).
        max_bpf_progs: settings.max_bpf_progs.unwrap_or(if settings.compat().v026() { 1024 } else { opts.max_bpf_progs }),
        at_run_time: opts.process_flags_at_run_time && opts.pid.is_none() && !opts.has_child,
    };
    let analysis = sema::analyse_with(&program, db, &pre, &check_opts, &mut diags);
    resolve(&mut diags, &origins, &map);
    if diags.has_errors() {
        return Err(CompileError::Script(diags));
    }
    expand::real_spans(&mut program, &origins);
    Ok(Checked { program, analysis, warnings: diags, settings, source: text, requires, consts })
}

/// The directory `import` paths are relative to: the script's, or the current one for `-e`.
fn script_dir(file_name: &str) -> std::path::PathBuf {
    match std::path::Path::new(file_name).parent() {
        Some(p) if file_name != "stdin" && !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Maps diagnostics of expanded or imported code ([`expand::origins`]), then of C-macro
/// expanded text, back to the script as written.
fn resolve(diags: &mut Diagnostics, origins: &expand::origins::Origins, map: &types::expand::SourceMap) {
    if !origins.items.is_empty() {
        diags.items.iter_mut().for_each(|d| origins.resolve(d));
    }
    remap(diags, map);
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
