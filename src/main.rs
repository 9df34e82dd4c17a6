//! The `btc` command line: a thin layer over btc-compiler and btc-runtime.

mod system;

use btc_compiler::types::targets;
use btc_compiler::{CompileError, CompileOptions, Emit, TypeSource};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "btc", version, about = "A bpftrace-compatible tracing compiler and runtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile (if needed) and run a script, a program given with -e, or a compiled .o
    Run {
        /// Program text (instead of a file)
        #[arg(short = 'e', value_name = "PROGRAM")]
        program: Option<String>,
        /// Don't print the "Attaching N probes..." line
        #[arg(short = 'q')]
        quiet: bool,
        /// Trace this process only (uprobes, usdt, watchpoints)
        #[arg(short = 'p', value_name = "PID")]
        pid: Option<i32>,
        /// List probes matching the pattern instead of running (like `btc list`)
        #[arg(short = 'l')]
        list: bool,
        /// With -l: show the arguments of each probe
        #[arg(short = 'v')]
        verbose: bool,
        /// Load the object into the kernel (running the verifier) and stop without attaching
        #[arg(long, hide = true)]
        dry_run: bool,
        /// A .bt script or a .o object compiled by `btc compile` (with -l: the pattern)
        file: Option<PathBuf>,
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
        /// The .bt script
        file: Option<PathBuf>,
    },
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
enum Failure {
    Reported,
    Message(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Message(s)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { list: true, program, verbose, pid, file, .. } => {
            list(program.or_else(|| file.map(|f| f.display().to_string())), verbose, pid)
        }
        Command::Run { program, quiet, pid, dry_run, file, .. } => run(program, quiet, pid, dry_run, file),
        Command::List { verbose, pid, pattern } => list(pattern, verbose, pid),
        Command::Compile { program, output, emit, check, file } => compile(program, output, emit, check, file),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Message(m)) => {
            eprintln!("ERROR: {m}");
            ExitCode::from(1)
        }
    }
}

/// The script's text and its name in diagnostics.
fn source(program: Option<String>, file: Option<&PathBuf>) -> Result<(String, String), Failure> {
    match (program, file) {
        (Some(p), None) => Ok((p, "stdin".into())),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| format!("can't read stdin: {e}"))?;
            Ok((s, "stdin".into()))
        }
        (None, Some(f)) => {
            let bytes = std::fs::read(f).map_err(|e| format!("can't read {}: {e}", f.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{} is not a text file", f.display()))?;
            Ok((text, f.display().to_string()))
        }
        (Some(_), Some(_)) => Err("give either -e PROGRAM or a file, not both".to_string().into()),
        (None, None) => Err("no program given: use -e PROGRAM or a file".to_string().into()),
    }
}

fn env_u32(name: &str, default: u32) -> Result<u32, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| Failure::Message(format!("invalid value for {name}: '{v}' (expected a positive integer)"))),
    }
}

fn compile_options(file_name: String, pid: Option<i32>) -> Result<CompileOptions, Failure> {
    Ok(CompileOptions {
        file_name,
        strlen: env_u32("BPFTRACE_STRLEN", 64)?,
        max_map_keys: env_u32("BPFTRACE_MAX_MAP_KEYS", 4096)?,
        pid,
        max_bpf_progs: env_u32("BPFTRACE_MAX_BPF_PROGS", 512)?,
    })
}

/// Types from the running kernel.
struct KernelTypes;

impl TypeSource for KernelTypes {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        btc_runtime::tracefs::tracepoint_format(category, name).map_err(|e| e.to_string())
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())
    }
    fn kernel_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        system::kernel_functions()
    }
    fn btf_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        system::btf_functions()
    }
    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        btc_runtime::targets::paths::resolve_binary(target, pid)
    }
    fn elf_functions(&self, path: &str) -> Result<Vec<targets::ElfFunction>, String> {
        system::elf_functions(path)
    }
    fn usdt_notes(&self, path: &str) -> Result<Vec<targets::UsdtNote>, String> {
        system::usdt_notes(path)
    }
    fn code_bytes(&self, path: &str, address: u64, size: u64) -> Result<Vec<u8>, String> {
        system::code_bytes(path, address, size)
    }
    fn elf_symbol(&self, path: &str, name: &str) -> Result<Option<u64>, String> {
        btc_runtime::targets::elf::file_symbol(path, name)
    }
    fn process_binaries(&self, pid: i32) -> Result<Vec<String>, String> {
        btc_runtime::targets::paths::process_binaries(pid)
    }
}

fn compile_source(text: &str, name: String, emit: Emit, pid: Option<i32>) -> Result<Vec<u8>, Failure> {
    let opts = compile_options(name.clone(), pid)?;
    match btc_compiler::compile(text, &KernelTypes, &opts, emit) {
        Ok((bytes, warnings)) => {
            eprint!("{}", warnings.render(&name, text, true));
            Ok(bytes)
        }
        Err(CompileError::Script(d)) => {
            eprint!("{}", d.render(&name, text, true));
            Err(Failure::Reported)
        }
        Err(CompileError::Internal(m)) => Err(Failure::Message(m)),
    }
}

fn is_elf(path: &PathBuf) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

fn list(pattern: Option<String>, verbose: bool, pid: Option<i32>) -> Result<u8, Failure> {
    let listing = btc_runtime::targets::list::list(pattern.as_deref().unwrap_or(""), verbose, pid);
    for w in &listing.warnings {
        eprintln!("{w}");
    }
    let mut out = std::io::stdout().lock();
    let mut text = listing.lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("can't write output: {e}").into()),
    }
}

fn run(program: Option<String>, quiet: bool, pid: Option<i32>, dry_run: bool, file: Option<PathBuf>) -> Result<u8, Failure> {
    let object = match &file {
        Some(f) if program.is_none() && is_elf(f) => {
            std::fs::read(f).map_err(|e| format!("can't read {}: {e}", f.display()))?
        }
        _ => {
            let (text, name) = source(program, file.as_ref())?;
            compile_source(&text, name, Emit::Object, pid)?
        }
    };
    let opts =
        btc_runtime::RunOptions { quiet, pid, max_probes: env_u32("BPFTRACE_MAX_PROBES", 512)?, dry_run };
    let code = btc_runtime::run_object(&object, &opts).map_err(|e| e.to_string())?;
    Ok(u8::try_from(code).unwrap_or(1))
}

fn compile(
    program: Option<String>,
    output: Option<PathBuf>,
    emit: EmitKind,
    check: bool,
    file: Option<PathBuf>,
) -> Result<u8, Failure> {
    let (text, name) = source(program, file.as_ref())?;
    if check || emit == EmitKind::Ast {
        let opts = compile_options(name.clone(), None)?;
        return match btc_compiler::check(&text, &KernelTypes, &opts) {
            Ok(c) => {
                eprint!("{}", c.warnings.render(&name, &text, true));
                if emit == EmitKind::Ast && !check {
                    write_output(output.as_ref(), btc_compiler::ast_print::print(&c.program, &c.analysis).as_bytes())?;
                }
                Ok(0)
            }
            Err(CompileError::Script(d)) => {
                eprint!("{}", d.render(&name, &text, true));
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
            let object = compile_source(&text, name, Emit::Object, None)?;
            let meta = btc_bpfprog::read_metadata(&object).map_err(|e| e.to_string())?;
            let stats = btc_runtime::program_stats(&object).map_err(|e| e.to_string())?;
            write_output(output.as_ref(), stats_table(&meta, &stats).as_bytes())?;
            return Ok(0);
        }
    };
    let bytes = compile_source(&text, name, kind, None)?;
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

fn write_output(path: Option<&PathBuf>, bytes: &[u8]) -> Result<(), Failure> {
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
