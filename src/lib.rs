//! The `btc` command line: a thin layer over btc-compiler, btc-codegen and btc-runtime.
//!
//! - `btc run ...` takes bpftrace's whole command line (see `args.rs`, driven by `run.rs`);
//! - `btc compile ...` compiles ahead of time (clap);
//! - invoked as `bpftrace` (a symlink), btc behaves as `btc run` with bpftrace's top-level
//!   command line.
//!
//! Two binaries share this code (see `codegen.rs`): `btc` links no LLVM, so it starts in about
//! a millisecond, and does everything that needs no code generation (`compile --check`, running
//! a `.o`, listing); for the rest it executes `btc-codegen`, which links LLVM, with the same
//! command line.

mod args;
mod codegen;
mod info;
mod listing;
mod query;
mod objinfo;
mod run;
mod system;
mod types;

pub use codegen::CompileFn;
pub use objinfo::{describe as describe_object, render as render_object_info};
use btc_compiler::{CompileError, CompileOptions, Emit};
pub use listing::list;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "btc", version, about = "A bpftrace-compatible tracing compiler and runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile (if needed) and run a script, a program given with -e, or a compiled .o; takes
    /// bpftrace's options (`btc run -h` lists them)
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Run {
        /// bpftrace's command line
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// List the probes that can be attached, like `bpftrace -l`
    List {
        /// Show the arguments of each probe (tracepoint fields)
        #[arg(short = 'v')]
        verbose: bool,
        /// List the USDT probes (or uprobes) of this process
        #[arg(short = 'p', value_name = "PID")]
        pid: Option<i32>,
        /// Probes to list, e.g. 'tracepoint:syscalls:*open*' or 'uprobe:/bin/bash:*'
        pattern: Option<String>,
    },
    /// Compile a script to a self-contained BPF object (or LLVM IR, assembly, AST)
    Compile {
        /// Program text (instead of a file)
        #[arg(short = 'e', value_name = "PROGRAM")]
        program: Option<String>,
        /// Output file (`-` for stdout); defaults to SCRIPT.o for objects and stdout otherwise
        #[arg(short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// What to produce
        #[arg(long, value_enum, default_value_t = EmitKind::Obj)]
        emit: EmitKind,
        /// Only parse and check the script; produce nothing
        #[arg(long)]
        check: bool,
        /// Accepted for compatibility: unsafe functions (system, signal, override) always
        /// compile, and the object runs only with `btc run --unsafe`
        #[arg(long = "unsafe")]
        allow_unsafe: bool,
        /// Print no warnings (as bpftrace's --no-warnings)
        #[arg(long = "no-warnings")]
        no_warnings: bool,
        /// Add DIR to the search path for C headers (repeatable)
        #[arg(short = 'I', value_name = "DIR")]
        include_dirs: Vec<PathBuf>,
        /// Include FILE before the script, as `#include FILE` would (repeatable)
        #[arg(long = "include", value_name = "FILE")]
        includes: Vec<String>,
        /// Resolve uprobe and usdt targets in this process's mappings now (without -p and -c,
        /// they are resolved in the traced process when the object runs); checked as bpftrace
        /// checks -p, before the script is read
        #[arg(short = 'p', value_name = "PID")]
        pid: Option<String>,
        /// The object will run with -c CMD (allows cpid and watchpoint:FUNCTION+argN)
        #[arg(short = 'c', value_name = "CMD")]
        command: Option<String>,
        /// The .bt script, then its positional parameters ($1, $2, ...)
        file: Option<PathBuf>,
        /// Positional parameters: those the code needs as constants (unroll counts, lhist
        /// bounds, attach points that decide the probe's code) are built into the object, and
        /// a run must give the same; the object reads the others when it runs
        positional: Vec<String>,
    },
    /// Describe a compiled object: its probes, maps and programs, the flags and kernel
    /// features it needs, and the script it was made from
    Info {
        /// The object (.o) made by `btc compile`
        object: PathBuf,
    },
}

/// The command line's definition (for the manual page and shell completions): `btc run`'s
/// bpftrace options, parsed by hand, are its long help.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("run", |c| c.after_long_help(args::usage("btc run")))
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum EmitKind {
    Obj,
    #[value(name = "llvm-ir")]
    LlvmIr,
    Asm,
    Ast,
    /// Per program: instructions, instructions the verifier processed, stack depth (loads the
    /// object into the kernel without attaching it)
    Stats,
}

/// A failure already described to the user, or one to print as `ERROR: msg`.
pub enum Failure {
    Reported,
    Message(String),
    /// A bad command line: the message, then the usage.
    Usage(String),
    /// A bad command line: the usage alone.
    UsageText,
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Message(s)
    }
}

/// How the program was invoked: `bpftrace` when its file name says so.
fn invoked_as_bpftrace() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == "bpftrace"))
        .unwrap_or(false)
}

/// The whole program: `compile` generates code (in `btc-codegen`); without it (in `btc`),
/// commands that need code generation are handed to `btc-codegen` before anything is done.
pub fn main(compile: Option<CompileFn>) -> ! {
    let code = match compile {
        Some(f) => {
            codegen::set(f);
            dispatch(None)
        }
        None => dispatch(Some(codegen::exec)),
    };
    codegen::exit(code)
}

/// Runs the command line; `handoff` (in `btc`) is called instead when it needs code generation.
fn dispatch(handoff: Option<fn() -> Failure>) -> u8 {
    let (result, name) = if invoked_as_bpftrace() {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        match handoff.filter(|_| run::needs_codegen(&argv)) {
            Some(h) => (Err(h()), "bpftrace"),
            None => (run::main(&argv, "bpftrace"), "bpftrace"),
        }
    } else {
        let cli = Cli::parse();
        match cli.command {
            Command::Run { args } => match handoff.filter(|_| run::needs_codegen(&args)) {
                Some(h) => (Err(h()), "btc run"),
                None => (run::main(&args, "btc run"), "btc run"),
            },
            Command::List { verbose, pid, pattern } => (list(pattern, verbose, pid), "btc list"),
            Command::Info { object } => (objinfo::info(&object).map_err(Failure::Message).and_then(|text| {
                write_output(None, text.as_bytes()).map(|()| 0)
            }), "btc info"),
            Command::Compile {
                program,
                output,
                emit,
                check,
                allow_unsafe: _,
                no_warnings,
                include_dirs,
                includes,
                pid,
                command,
                file,
                positional,
            } => match handoff.filter(|_| !check && emit != EmitKind::Ast) {
                Some(h) => (Err(h()), "btc compile"),
                None => {
                    let headers = (include_dirs, includes);
                    let target = (pid, command.is_some());
                    let source = (program, file, no_warnings);
                    (compile(source, output, emit, check, headers, target, positional), "btc compile")
                }
            },
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure::Reported) => 1,
        Err(Failure::Message(m)) => {
            eprintln!("ERROR: {m}");
            1
        }
        Err(Failure::Usage(m)) => {
            eprintln!("ERROR: {m}");
            eprint!("{}", args::usage(name));
            1
        }
        Err(Failure::UsageText) => {
            eprint!("{}", args::usage(name));
            1
        }
    }
}

/// Renders diagnostics (warnings included) as btc writes them, or, invoked as `bpftrace` or
/// with `BTC_MESSAGES=bpftrace` (for tools that read bpftrace's messages from `btc compile`),
/// with bpftrace's `ERROR:` / `WARNING:`.
pub fn render(d: &btc_compiler::diag::Diagnostics, file: &str, source: &str) -> String {
    use btc_compiler::diag::Style;
    let asked = std::env::var_os("BTC_MESSAGES").is_some_and(|v| v == "bpftrace");
    let style = match (asked || invoked_as_bpftrace(), cli_compat().v026()) {
        (true, true) => Style::Bpftrace026,
        (true, false) => Style::Bpftrace,
        (false, _) => Style::Btc,
    };
    d.render_styled(file, source, true, style)
}

/// The script's text and its name in diagnostics.
pub fn source(program: Option<String>, file: Option<&PathBuf>) -> Result<(String, String), Failure> {
    match (program, file) {
        (Some(p), None) => Ok((p, "stdin".into())),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| format!("can't read stdin: {e}"))?;
            Ok((s, "stdin".into()))
        }
        (None, Some(f)) => {
            let bytes = std::fs::read(f).map_err(|e| format!("failed to open file '{}': {}", f.display(), os_reason(&e)))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{} is not a text file", f.display()))?;
            Ok((text, f.display().to_string()))
        }
        (Some(_), Some(_)) => Err("give either -e PROGRAM or a file, not both".to_string().into()),
        (None, None) => Err(Failure::Usage("no program given: use -e PROGRAM or a file".to_string())),
    }
}

/// The C library's text for an I/O error ("No such file or directory"), without Rust's
/// " (os error N)".
pub fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => text[..i].to_string(),
        _ => text,
    }
}

/// The compat of this command line (`--compat`, else BTC_COMPAT), set once its options are read.
static CLI_COMPAT: std::sync::OnceLock<btc_bpfprog::Compat> = std::sync::OnceLock::new();

/// Records the command line's compat (for how diagnostics are written).
pub fn set_cli_compat(c: btc_bpfprog::Compat) {
    let _ = CLI_COMPAT.set(c);
}

/// The command line's compat: what [`set_cli_compat`] recorded, else BTC_COMPAT. (A script's
/// config block can't change how its own errors are written: they may come before it is read.)
pub fn cli_compat() -> btc_bpfprog::Compat {
    *CLI_COMPAT.get_or_init(|| {
        std::env::var(btc_compiler::settings::COMPAT_VAR).ok().and_then(|v| btc_bpfprog::Compat::parse(&v)).unwrap_or_default()
    })
}

/// An environment variable, with BTC_COMPAT as `--compat` overrides it.
pub fn env_var(compat_flag: Option<btc_bpfprog::Compat>, name: &str) -> Option<String> {
    match compat_flag {
        Some(c) if name == btc_compiler::settings::COMPAT_VAR => Some(c.as_str().to_string()),
        _ => std::env::var(name).ok(),
    }
}

/// Compile options from the environment (BPFTRACE_* variables, BTC_COMPAT or `compat_flag`).
pub fn compile_options(file_name: String, compat_flag: Option<btc_bpfprog::Compat>) -> Result<CompileOptions, Failure> {
    let env = btc_compiler::settings::Settings::from_env(|k| env_var(compat_flag, k)).map_err(Failure::Message)?;
    let path = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    Ok(CompileOptions { file_name, env, btf: path("BPFTRACE_BTF"), vmlinux: path("BPFTRACE_VMLINUX"), ..CompileOptions::default() })
}

/// Compiles `text`, printing warnings (unless `quiet_warnings`) and diagnostics on stderr.
pub fn compile_source(text: &str, opts: &CompileOptions, emit: Emit, quiet_warnings: bool) -> Result<Vec<u8>, Failure> {
    let name = &opts.file_name;
    match codegen::compile(text, &types::KernelTypes::for_options(opts), opts, emit) {
        Ok((bytes, warnings)) => {
            if !quiet_warnings {
                eprint!("{}", render(&warnings, name, text));
            }
            Ok(bytes)
        }
        Err(CompileError::Script(d)) => {
            eprint!("{}", render(&d, name, text));
            Err(Failure::Reported)
        }
        Err(CompileError::Internal(m)) => Err(Failure::Message(m)),
    }
}

#[allow(clippy::too_many_arguments)]
fn compile(
    (program, file, no_warnings): (Option<String>, Option<PathBuf>, bool),
    output: Option<PathBuf>,
    emit: EmitKind,
    check: bool,
    (include_dirs, includes): (Vec<PathBuf>, Vec<String>),
    (pid, has_child): (Option<String>, bool),
    mut positional: Vec<String>,
) -> Result<u8, Failure> {
    // bpftrace's order: a bad -p is reported before the script is read.
    let pid = pid.map(|p| args::parse_pid(&p)).transpose()?;
    // With -e, every operand is a positional parameter.
    let mut file = file;
    if program.is_some() {
        if let Some(f) = file.take() {
            positional.insert(0, f.display().to_string());
        }
    }
    let (text, name) = source(program, file.as_ref())?;
    let mut opts = compile_options(name.clone(), None)?;
    // An object runs only with the flags its metadata says it requires (--unsafe, -c, -p):
    // the run decides, so unsafe functions always compile; without -p and -c, the process
    // the probes act on is found when the object runs.
    opts.allow_unsafe = true;
    opts.process_flags_at_run_time = true;
    opts.positional = positional;
    opts.include_dirs = include_dirs;
    opts.includes = includes;
    opts.pid = pid;
    opts.has_child = has_child;
    if check || emit == EmitKind::Ast {
        return match btc_compiler::check(&text, &types::KernelTypes::for_options(&opts), &opts) {
            Ok(c) => {
                if !no_warnings {
                    eprint!("{}", render(&c.warnings, &name, &text));
                }
                if emit == EmitKind::Ast && !check {
                    write_output(output.as_ref(), btc_compiler::ast_print::print(&c.program, &c.analysis).as_bytes())?;
                }
                Ok(0)
            }
            Err(CompileError::Script(d)) => {
                eprint!("{}", render(&d, &name, &text));
                Err(Failure::Reported)
            }
            Err(CompileError::Internal(m)) => Err(Failure::Message(m)),
        };
    }
    let (kind, default_out) = match emit {
        EmitKind::Obj => {
            let stem = file
                .as_ref()
                .filter(|f| f.as_os_str() != "-")
                .map(|f| f.with_extension("o"))
                .unwrap_or_else(|| PathBuf::from("a.o"));
            (Emit::Object, Some(stem))
        }
        EmitKind::LlvmIr => (Emit::LlvmIr, None),
        EmitKind::Asm => (Emit::Asm, None),
        EmitKind::Ast => (Emit::LlvmIr, None),
        EmitKind::Stats => {
            let object = compile_source(&text, &opts, Emit::Object, no_warnings)?;
            let meta = btc_bpfprog::read_metadata(&object).map_err(|e| e.to_string())?;
            let stats = btc_runtime::program_stats(&object).map_err(|e| e.to_string())?;
            write_output(output.as_ref(), stats_table(&meta, &stats).as_bytes())?;
            return Ok(0);
        }
    };
    let bytes = compile_source(&text, &opts, kind, no_warnings)?;
    write_output(output.as_ref().or(default_out.as_ref()), &bytes)?;
    Ok(0)
}

/// The `--emit=stats` table: one line per program.
fn stats_table(meta: &btc_bpfprog::Metadata, stats: &[btc_runtime::ProgStats]) -> String {
    let mut out = format!("{:<40} {:>8} {:>10} {:>6}\n", "PROBE", "INSNS", "VERIFIED", "STACK");
    for p in &meta.probes {
        let Some(s) = stats.iter().find(|s| s.name == p.prog) else { continue };
        let show = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
        out.push_str(&format!(
            "{:<40} {:>8} {:>10} {:>6}\n",
            p.name,
            s.insns,
            show(s.verified_insns),
            show(s.stack_depth)
        ));
    }
    out
}

pub fn write_output(path: Option<&PathBuf>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(p, bytes).map_err(|e| format!("can't write {}: {e}", p.display()).into())
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|_| out.flush()).map_err(|e| format!("can't write output: {e}").into())
        }
    }
}
