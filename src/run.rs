//! `btc run` / `bpftrace`: bpftrace's command line, compile (unless given an object), run.

use crate::args::{self, Args};
use crate::{compile_options, compile_source, info, source, write_output, Failure};
use btc_compiler::{CompileError, Emit};
use std::io::Read;
use std::path::PathBuf;

/// Whether `path` names a compiled object rather than a script: an ELF file, or a file named
/// `*.o` (which, when it is not a whole btc object, gets an error saying so).
fn is_elf(path: &PathBuf) -> bool {
    let mut magic = [0u8; 4];
    path.extension().is_some_and(|e| e == "o")
        || std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

/// Whether the command line `argv` compiles a script to code (in `btc`, such a command line is
/// run by btc-codegen). Help, listing, running an object, and bad command lines, which are
/// reported at once, don't.
pub fn needs_codegen(argv: &[String]) -> bool {
    let Ok(a) = args::parse(argv) else { return false };
    if a.help || a.version || a.info || a.list.is_some() || args::check(&a).is_some() {
        return false;
    }
    match (&a.program, a.file.as_ref().map(PathBuf::from)) {
        (None, None) => false,
        (None, Some(f)) if f.as_os_str() != "-" && is_elf(&f) => false,
        _ => true,
    }
}

/// Runs the command line `argv` (without the program name); `name` is how btc was invoked.
pub fn main(argv: &[String], name: &str) -> Result<u8, Failure> {
    if argv.is_empty() {
        return Err(Failure::UsageText);
    }
    let a = args::parse(argv).map_err(Failure::Usage)?;
    if a.help {
        print!("{}", args::usage(name));
        return Ok(0);
    }
    let compat = args::compat_of(argv, std::env::var(btc_compiler::settings::COMPAT_VAR).ok().as_deref());
    crate::set_cli_compat(compat);
    if a.version {
        if name == "bpftrace" {
            let version = if compat.v026() { "v0.26.1" } else { "v0.20.4" };
            println!("bpftrace {version} (btc {})", env!("CARGO_PKG_VERSION"));
        } else {
            println!("btc {}", env!("CARGO_PKG_VERSION"));
        }
        return Ok(0);
    }
    if a.info {
        if info::to_stdout(compat) {
            print!("{}", info::info(compat));
        } else {
            eprint!("{}", info::info(compat));
        }
        return Ok(0);
    }
    match args::check(&a) {
        Some(args::UsageError::Alone(m)) => return Err(Failure::Message(m)),
        Some(args::UsageError::WithUsage(m)) => return Err(Failure::Usage(m)),
        Some(args::UsageError::UsageOnly) => return Err(Failure::UsageText),
        None => {}
    }
    // bpftrace opens the -o file first of all (so it exists, maybe empty, whatever happens next).
    let mut output_file = match &a.output {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| {
            format!("Failed to open output file: \"{}\": {}", path.display(), crate::os_reason(&e))
        })?),
        None => None,
    };
    // Like bpftrace: a bad -f, the environment, then a bad -p or one whose process doesn't exist,
    // before anything else.
    if let Some(e) = &a.bad_format {
        return Err(Failure::Message(e.clone()));
    }
    let env = btc_compiler::settings::Settings::from_env(|k| crate::env_var(a.compat, k)).map_err(Failure::Message)?;
    if !a.no_warnings {
        for w in btc_compiler::settings::Settings::deprecated_env(|k| std::env::var(k).ok()) {
            eprintln!("WARNING: {w}");
        }
    }
    if let Some(e) = &a.bad_pid {
        return Err(Failure::Message(match (&a.pid_text, compat.v026()) {
            (Some(text), true) => args::pid_error_026(text),
            _ => e.clone(),
        }));
    }
    if let Some(pid) = a.pid {
        if !PathBuf::from(format!("/proc/{pid}")).exists() {
            // bpftrace's words: the error text of ESRCH after an empty context.
            return Err(Failure::Message(": No such process".to_string()));
        }
    }
    if let Some(search) = &a.list {
        let pattern = search.clone().or_else(|| a.program.clone());
        return crate::list(pattern, a.verbose, a.pid);
    }
    let file = a.file.as_ref().map(PathBuf::from);
    let object_file = file.as_ref().filter(|f| a.program.is_none() && f.as_os_str() != "-" && is_elf(f));
    let object = match object_file {
        Some(f) => std::fs::read(f).map_err(|e| format!("failed to open file '{}': {}", f.display(), crate::os_reason(&e)))?,
        _ => {
            let (text, script_name) = source(a.program.clone(), file.as_ref())?;
            compile(&a, &text, script_name)?
        }
    };
    if a.debug > 0 || a.emit_elf.is_some() {
        if let Some(path) = &a.emit_elf {
            write_output(Some(path), &object)?;
        }
        return Ok(0);
    }
    let opts = btc_runtime::RunOptions {
        quiet: a.quiet,
        format: a.format,
        buffering: a.buffering,
        env: env.runtime,
        command: a.command.clone(),
        pid: a.pid,
        max_probes: 0,
        dry_run: a.dry_run,
        load_only: a.load_only,
        vmlinux: std::env::var_os("BPFTRACE_VMLINUX").filter(|v| !v.is_empty()).map(PathBuf::from),
        btf: std::env::var_os("BPFTRACE_BTF").filter(|v| !v.is_empty()).map(PathBuf::from),
        usdt_file_activation: a.usdt_file_activation,
        no_features: a.no_features.clone(),
        allow_unsafe: a.allow_unsafe,
        helper_errors: a.helper_errors,
        verbose: a.verbose,
        to_file: a.output.is_some(),
        positional: a.positional.clone(),
        probe_filter: a.probe_filter.clone(),
    };
    let code = match &mut output_file {
        Some(f) => btc_runtime::run_object_to(&object, &opts, f),
        None => btc_runtime::run_object(&object, &opts),
    }
    .map_err(|e| match (e, object_file) {
        // A bad object is named: `ERROR: x.o: not a BPF object: ...`.
        (e @ (btc_runtime::RuntimeError::Meta(_) | btc_runtime::RuntimeError::BadObject(_)), Some(f)) => {
            format!("{}: {e}", f.display())
        }
        (e, _) => e.to_string(),
    })?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Compiles the script with the command line's options; `-d`/`-dd` print debug output.
fn compile(a: &Args, text: &str, script_name: String) -> Result<Vec<u8>, Failure> {
    let mut opts = compile_options(script_name, a.compat)?;
    opts.positional = a.positional.clone();
    // The run has these parameters and no others: what the code needs is folded now and
    // attach points resolved as bpftrace resolves them; the object reads the rest when it runs.
    opts.positional_complete = true;
    opts.allow_unsafe = a.allow_unsafe;
    opts.include_dirs = a.include_dirs.clone();
    opts.includes = a.includes.clone();
    opts.pid = a.pid;
    opts.has_child = a.command.is_some();
    opts.command = a.command.clone();
    opts.usdt_file_activation = a.usdt_file_activation;
    if a.debug > 0 {
        match btc_compiler::check(text, &crate::types::KernelTypes::for_options(&opts), &opts) {
            Ok(c) => eprintln!("AST\n---\n{:#?}\n", c.program),
            Err(CompileError::Script(d)) => {
                eprint!("{}", crate::render(&d, &opts.file_name, text));
                return Err(Failure::Reported);
            }
            Err(CompileError::Internal(m)) => return Err(Failure::Message(m)),
        }
        let ir = compile_source(text, &opts, Emit::LlvmIr, true)?;
        eprintln!("LLVM IR\n-------\n{}", String::from_utf8_lossy(&ir));
        if a.debug > 1 {
            let asm = compile_source(text, &opts, Emit::Asm, true)?;
            eprintln!("BPF assembly\n------------\n{}", String::from_utf8_lossy(&asm));
        }
    }
    if let Some(path) = &a.emit_llvm {
        let ir = compile_source(text, &opts, Emit::LlvmIr, true)?;
        let mut target = path.clone().into_os_string();
        target.push(".optimized.ll");
        write_output(Some(&PathBuf::from(target)), &ir)?;
    }
    if a.verbose {
        eprintln!("compiling {} ({} positional parameters)", opts.file_name, opts.positional.len());
    }
    compile_source(text, &opts, Emit::Object, a.no_warnings)
}
