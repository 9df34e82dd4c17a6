//! The btc runtime: loads a btc-compiled BPF object, attaches its probes, prints its events and
//! maps exactly as bpftrace does, and cleans everything up on exit.
//!
//! Module map:
//! - `kernel` (and `kernel/`): every kernel call: libbpf-rs, perf_event_open,
//!   BPF_PROG_TEST_RUN, the ring buffer, map reads, signal handlers, tracefs;
//! - `value` decodes bytes laid out per a [`btc_bpfprog::Ty`];
//! - `printf` implements C printf semantics for bpftrace's format specifiers;
//! - `maps` prints and sorts maps like bpftrace;
//! - `events` turns ring buffer records into output;
//! - `run` is the session loop tying them together.
//!
//! Architecture invariant: only `kernel` talks to the kernel; everything else is pure.

mod error;
mod events;
mod kernel;
mod hist;
mod maps;
mod printf;
mod run;
pub mod targets;
mod value;

pub use error::RuntimeError;
pub use kernel::stats::{program_stats, ProgStats};

/// How to run an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Don't print the `Attaching N probes...` line.
    pub quiet: bool,
    /// `-p PID`: uprobes, USDT probes and watchpoints apply to this process only.
    pub pid: Option<i32>,
    /// BPFTRACE_MAX_PROBES: the most probes a run attaches (0: the default, 512).
    pub max_probes: u32,
    /// Load the object (so the kernel verifies every program) and stop without attaching.
    pub dry_run: bool,
}

/// Loads, attaches, runs until `exit()`, SIGINT or SIGTERM, prints the maps. Output goes to
/// stdout. Returns the process exit code (0 on normal end).
///
/// When the object fails to load, libbpf's log (with the verifier's explanation) is written to
/// stderr before the error is returned.
pub fn run_object(object: &[u8], opts: &RunOptions) -> Result<i32, RuntimeError> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    run_object_to(object, opts, &mut lock)
}

/// Like [`run_object`], writing the output to `out` instead of stdout (flushed after every batch
/// of events).
pub fn run_object_to(object: &[u8], opts: &RunOptions, out: &mut dyn std::io::Write) -> Result<i32, RuntimeError> {
    let result = run::run(object, opts, out);
    if let Err(e) = &result {
        if let Some(details) = e.details() {
            eprintln!("{details}");
        }
    }
    result
}

/// Access to tracefs (`/sys/kernel/tracing`).
pub mod tracefs {
    pub use crate::kernel::tracefs::TracefsError;

    /// Returns the tracefs root, mounting tracefs at `/sys/kernel/tracing` when it is not
    /// mounted (as root). If it can't, the error says exactly what is wrong.
    pub fn root() -> Result<std::path::PathBuf, TracefsError> {
        crate::kernel::tracefs::root()
    }

    /// The text of `events/CAT/NAME/format`. A missing tracepoint is
    /// `tracepoint not found: CAT:NAME`.
    pub fn tracepoint_format(category: &str, name: &str) -> Result<String, TracefsError> {
        crate::kernel::tracefs::tracepoint_format(category, name)
    }

    /// Every tracepoint as (category, name), sorted, for wildcard expansion.
    pub fn tracepoints() -> Result<Vec<(String, String)>, TracefsError> {
        crate::kernel::tracefs::tracepoints()
    }
}
