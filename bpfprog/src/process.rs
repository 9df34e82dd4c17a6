//! The part of the contract that concerns the traced process (`-p PID`, `-c CMD`) and the other
//! flags an object takes when it runs rather than when it is compiled: probes whose attach
//! targets are found in the traced process when the object runs ([`ProcessTarget`]), and the
//! checks a run makes of its command line against what the object requires ([`flag_error`]).

use crate::{Metadata, Requires};
use serde::{Deserialize, Serialize};

/// What a probe compiled without a process attaches to, as written in the script. The runtime
/// expands it against the traced process (the `-p` process, or the `-c` child) into concrete
/// probes of the same program; the probe's [`crate::ProbeKind`] is then a template whose
/// binary path (and, for a wildcard, function) the expansion fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProcessTarget {
    /// `uprobe:[BINARY:]FUNC` / `uretprobe`: `binary` is empty for the traced process's
    /// program, or `*` for every file it maps (without a process, every file a running process
    /// maps, as bpftrace 0.20 has it), or a file named by positional parameters (`$1`, which
    /// the run's parameters complete: a path, a library or a program on $PATH). `func` may have
    /// wildcards.
    Uprobe { binary: String, func: String },
    /// `usdt:[BINARY:][PROVIDER:]NAME`: `binary` as for [`ProcessTarget::Uprobe`]; `provider`
    /// is `*` when not written. Each site found is attached with a BPF cookie: its index in
    /// [`crate::usdt::USDT_SPECS_MAP`], where the runtime writes its argument locations.
    Usdt { binary: String, provider: String, name: String },
    /// `watchpoint:FUNC+argN` / `asyncwatchpoint`: `func` (maybe a wildcard) is looked up in
    /// the traced process's program.
    WatchFunc { func: String },
}

impl ProcessTarget {
    /// Whether the expansion needs a traced process (`-p` or `-c`).
    pub fn needs_process(&self) -> bool {
        match self {
            ProcessTarget::Uprobe { binary, .. } | ProcessTarget::Usdt { binary, .. } => {
                binary != "*" && !crate::params::has_param(binary)
            }
            ProcessTarget::WatchFunc { .. } => true,
        }
    }
}

/// What a run gives the object: the process-related flags of its command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFlags {
    /// `--unsafe`.
    pub allow_unsafe: bool,
    /// `-c CMD`.
    pub child: bool,
    /// `-p PID`.
    pub pid: bool,
}

/// Why an object can't run with these flags, in bpftrace 0.20's words where it has them; None
/// when it can. Checked before anything is loaded or started.
pub fn flag_error(meta: &Metadata, flags: RunFlags) -> Option<String> {
    requires_error(&meta.requires, flags).or_else(|| {
        let needs = meta.probes.iter().find(|p| p.process.as_ref().is_some_and(ProcessTarget::needs_process));
        match needs {
            Some(p) if !flags.pid && !flags.child => Some(process_required(&p.name)),
            _ => None,
        }
    })
}

fn requires_error(r: &Requires, flags: RunFlags) -> Option<String> {
    if let (false, Some(f)) = (flags.allow_unsafe, r.unsafe_functions.first()) {
        return Some(format!("{f}() is an unsafe function being used in safe mode"));
    }
    if r.child && !flags.child {
        return Some("cpid cannot be used without child command".to_string());
    }
    match r.process_probes.first() {
        Some(p) if !flags.pid && !flags.child => Some(process_required(p)),
        _ => None,
    }
}

/// bpftrace's words for a watchpoint on a function's argument without a process, said of any
/// probe that needs one.
fn process_required(probe: &str) -> String {
    format!("-p PID or -c CMD required for {probe}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked_in_bpftraces_words() {
        let r = Requires { unsafe_functions: vec!["system".into()], child: true, ..Requires::default() };
        let none = RunFlags::default();
        assert_eq!(requires_error(&r, none).as_deref(), Some("system() is an unsafe function being used in safe mode"));
        let safe = RunFlags { allow_unsafe: true, ..none };
        assert_eq!(requires_error(&r, safe).as_deref(), Some("cpid cannot be used without child command"));
        assert_eq!(requires_error(&r, RunFlags { child: true, ..safe }), None);
        let p = Requires { process_probes: vec!["uprobe:f".into()], ..Requires::default() };
        assert_eq!(requires_error(&p, none).as_deref(), Some("-p PID or -c CMD required for uprobe:f"));
        assert_eq!(requires_error(&p, RunFlags { pid: true, ..none }), None);
    }
}
