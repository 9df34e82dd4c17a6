//! The runtime's error type. Every variant displays as one line.

use crate::events::EventError;
use crate::kernel::tracefs::TracefsError;
use btc_bpfprog::MetaError;

/// Why running a compiled object failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The object is not a (compatible) btc object.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The object's programs and maps are not what its metadata describes, or libbpf can't
    /// open it.
    #[error("invalid btc object: {0}")]
    BadObject(String),
    /// libbpf could not open or load the object (e.g. the verifier rejected a program).
    /// `log` holds libbpf's messages, including the verifier log; see [`RuntimeError::details`].
    #[error("failed to load BPF object: {reason}")]
    Load { reason: String, log: Vec<String> },
    #[error("BPF object has no program {prog} for probe {probe}")]
    MissingProgram { prog: String, probe: String },
    #[error("BPF object has no map {0}")]
    MissingMap(String),
    #[error("Can't attach to {count} probes because it exceeds the current limit of {max} probes. You can increase the limit through the BPFTRACE_MAX_PROBES environment variable, but BE CAREFUL since a high number of probes attached can cause your system to crash.")]
    TooManyProbes { count: usize, max: u32 },
    #[error("failed to attach {probe}: {reason}")]
    Attach { probe: String, reason: String },
    #[error("failed to run {probe}: {reason}")]
    Run { probe: String, reason: String },
    #[error("failed to read map {map}: {reason}")]
    MapRead { map: String, reason: String },
    #[error("ring buffer: {0}")]
    RingBuf(String),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    #[error("failed to install signal handlers: {0}")]
    Signals(String),
    #[error("failed to write output: {0}")]
    Output(String),
    /// Starting the `-c` child or watching the `-p` process failed.
    #[error("{0}")]
    Process(String),
    /// Creating or writing a pcap file of skboutput() failed.
    #[error("{0}")]
    Pcap(String),
    /// A probe refused before it is loaded or attached, in bpftrace's words (a banned
    /// kretprobe, a kprobe offset outside its function, a raw tracepoint that doesn't exist,
    /// no room for the verifier's log, a uprobe on a function of size 0 without --unsafe).
    /// Never skipped, even for a probe from a wildcard.
    #[error("{0}")]
    Refused(String),
}

impl RuntimeError {
    /// Extra diagnostic text that doesn't fit the one-line message: for a load failure, the tail
    /// of libbpf's log (which contains the verifier's explanation).
    pub fn details(&self) -> Option<String> {
        match self {
            RuntimeError::Load { log, .. } if !log.is_empty() => {
                let text: String = log.concat();
                // libbpf always notes that it skips btc's metadata section: not worth showing.
                let lines: Vec<&str> = text.lines().filter(|l| !l.contains("skipping unrecognized data section")).collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                Some(tail.join("\n"))
            }
            _ => None,
        }
    }
}
