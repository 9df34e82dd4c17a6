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
//! - `resolve` turns symbols, stacks, addresses and timestamps into text; `strftime` formats
//!   times; `output` holds the runtime-served functions' printing (time, system, cat, join) and
//!   the text/JSON choice; `json` writes bpftrace's JSON records;
//! - `skb` turns skboutput() samples into pcap records;
//! - `inspect` reads and checks an object without loading it (and `btc info` shows it);
//! - `params` gives the run's positional parameters to the object before it loads;
//! - `run` is the session loop tying them together.
//!
//! Architecture invariant: only `kernel` talks to the kernel; everything else is pure.

mod error;
mod events;
pub mod json;
mod kernel;
mod hist;
mod inspect;
pub mod load_checks;
pub mod load_values;
mod maps;
mod output;
mod params;
mod printf;
mod process_targets;
mod resolve;
pub mod relocs;
mod run;
mod skb;
mod strftime;
pub mod targets;
mod value;

pub use error::RuntimeError;
pub use inspect::{check as check_against_object, helper_name, inspect_object, MapReport, ObjectReport, ProgramReport};
pub use kernel::stats::{program_stats, ProgStats};
pub use output::OutputFormat;

/// How output is flushed (`-B`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Buffering {
    /// Flushed after each batch of events (at least every line). The default.
    #[default]
    Line,
    /// Flushed after every event.
    None,
    /// Flushed when 64 KiB have accumulated, and at exit.
    Full,
}

/// How to run an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Don't print the `Attaching N probes...` line (`-q`).
    pub quiet: bool,
    /// `-f text|json`.
    pub format: OutputFormat,
    /// `-B line|none|full`.
    pub buffering: Buffering,
    /// Runtime settings from environment variables; they win over the object's config block.
    pub env: btc_bpfprog::RuntimeConfig,
    /// `-c CMD`: run CMD as a child, stopped until every probe is attached; `cpid` is its PID;
    /// tracing ends when it exits.
    pub command: Option<String>,
    /// `-p PID`: uprobes, USDT probes and watchpoints apply to this process only; tracing
    /// ends when it exits.
    pub pid: Option<i32>,
    /// BPFTRACE_MAX_PROBES: the most probes a run attaches (0: the config block's or 512).
    pub max_probes: u32,
    /// `--dry-run`: load the object and attach every probe (BEGIN and END are not run), then
    /// detach and stop, as bpftrace does.
    pub dry_run: bool,
    /// Load the object (so the kernel verifies every program) and stop without attaching (the
    /// hidden `--load-only`: tests of probes this kernel can't attach).
    pub load_only: bool,
    /// BPFTRACE_VMLINUX: kernel symbols from this file instead of /proc/kallsyms.
    pub vmlinux: Option<std::path::PathBuf>,
    /// `--usdt-file-activation` (for USDT probes).
    pub usdt_file_activation: bool,
    /// `--no-feature`: kernel features not to use (`uprobe_multi`, `kprobe_multi`).
    pub no_features: Vec<String>,
    /// `--unsafe`: attach uprobes where bpftrace's safe mode refuses to (functions of size 0).
    pub allow_unsafe: bool,
    /// BPFTRACE_BTF: resolve the object's CO-RE relocations against this BTF file instead of
    /// the running kernel's (libbpf's `btf_custom_path`).
    pub btf: Option<std::path::PathBuf>,
    /// `-k` / `-kk`: which errors of BPF helpers the probes report (the object checks every
    /// reported call; the run chooses what is printed).
    pub helper_errors: btc_bpfprog::runtime::HelperErrors,
    /// `-v`: say what is being done on stderr.
    pub verbose: bool,
    /// The positional parameters of the run (`$1`, `$2`, ...), which the object reads when it
    /// runs (see `btc_bpfprog::params`).
    pub positional: Vec<String>,
    /// The output goes to a file (`-o`): the two empty lines bpftrace prints before the maps at
    /// exit go to stdout, as bpftrace writes them, and the file doesn't have them.
    pub to_file: bool,
    /// `--probe-filter REGEX` (bpftrace 0.26): only the probes whose name matches (and BEGIN
    /// and END) are attached.
    pub probe_filter: Option<String>,
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

/// What the kernel's BPF supports (`--info`), detected once per process.
pub mod features {
    pub use crate::kernel::features::{features, Features};
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

/// Symbol and cgroup lookups for the compiler's compile-time functions (`kaddr`, `uaddr`,
/// `cgroupid`).
pub mod symbols {
    /// The address of kernel symbol `name`.
    pub fn kernel_symbol(name: &str) -> Result<u64, String> {
        crate::kernel::symbols::kernel_symbol(name)
    }

    /// The address and size of symbol `name` in ELF file `path`.
    pub fn user_symbol(path: &str, name: &str) -> Result<(u64, u64), String> {
        crate::kernel::symbols::user_symbol(path, name)
    }

    /// The cgroup v2 id of the cgroup at `path`.
    pub fn cgroup_id(path: &str) -> Result<u64, String> {
        crate::kernel::symbols::cgroup_id(path)
    }

    /// The running kernel's build ID in hex (/sys/kernel/notes).
    pub fn kernel_build_id() -> Option<String> {
        crate::kernel::identity::kernel_build_id()
    }

    /// What identifies the contents of the file at `path`: `build-id HEX`, else `size N sha256
    /// HEX`.
    pub fn file_identity(path: &str) -> Option<String> {
        crate::kernel::identity::file_identity(path)
    }
}
