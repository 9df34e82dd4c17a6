//! Where code comes from. btc ships as two binaries built from this crate: `btc` (src/main.rs)
//! links the front end and the runtime but not LLVM, whose static initialisers alone cost
//! milliseconds at every start; `btc-codegen` (src/bin/btc-codegen.rs) is the same program
//! plus btc-codegen's LLVM code generation. `btc` runs what needs no new code itself
//! (`compile --check`, `--emit=ast`, running a `.o`, listing, `--help`) and executes
//! `btc-codegen`, found next to its own executable, for everything else, with its command line
//! unchanged (`argv[0]` included, so the `bpftrace` name carries over).

use crate::Failure;
use btc_compiler::{CompileError, CompileOptions, Diagnostics, Emit, TypeSource};
use std::io::Write;
use std::sync::OnceLock;

/// `btc_codegen::compile`: a script in; an object, LLVM IR or assembly out, with warnings.
pub type CompileFn =
    fn(&str, &dyn TypeSource, &CompileOptions, Emit) -> Result<(Vec<u8>, Diagnostics), CompileError>;

/// The name of the binary that generates code, next to `btc`.
pub const CODEGEN_BINARY: &str = "btc-codegen";

static COMPILE: OnceLock<CompileFn> = OnceLock::new();

/// Installs the code generator (in `btc-codegen`), and takes the process name `btc` had: the
/// kernel named this process `btc-codegen`, but scripts see it as `comm` (`BEGIN` runs in btc's
/// own context) and expect `btc`, or `bpftrace` when btc is installed under that name.
pub fn set(f: CompileFn) {
    let _ = COMPILE.set(f);
    let argv0 = std::env::args_os().next().map(std::path::PathBuf::from);
    if let Some(name) = argv0.as_ref().and_then(|p| p.file_name()) {
        use std::os::unix::ffi::OsStrExt;
        // TASK_COMM_LEN: 15 bytes and the NUL, as the kernel cuts the name at exec.
        let mut comm = [0u8; 16];
        let bytes = name.as_bytes();
        let n = bytes.len().min(15);
        comm[..n].copy_from_slice(&bytes[..n]);
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, comm.as_ptr()) };
    }
}

/// Compiles with the installed code generator.
pub fn compile(
    source: &str,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    emit: Emit,
) -> Result<(Vec<u8>, Diagnostics), CompileError> {
    match COMPILE.get() {
        Some(f) => f(source, types, opts, emit),
        None => Err(CompileError::Internal(format!("this binary generates no code ({CODEGEN_BINARY} does)"))),
    }
}

/// Replaces this process by `btc-codegen` with the same command line; returns only when that
/// fails, with the reason.
pub fn exec() -> Failure {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return Failure::Message(format!("can't find the btc executable to run {CODEGEN_BINARY}: {e}")),
    };
    let companion = exe.with_file_name(CODEGEN_BINARY);
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(&companion);
    if let Some(argv0) = args.next() {
        cmd.arg0(argv0);
    }
    let _ = std::io::stdout().flush();
    let e = cmd.args(args).exec();
    Failure::Message(format!(
        "can't run {}: {e} (btc generates code with it: install it next to {})",
        companion.display(),
        exe.display()
    ))
}

/// Ends the process with `code` once stdout and stderr are flushed, without running exit
/// handlers: LLVM registers hundreds (destructors of its command-line options), and nothing
/// of btc's needs them. Everything btc writes is written or flushed by now.
pub fn exit(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process at once; no Rust state is used afterwards.
    unsafe { libc::_exit(i32::from(code)) }
}
