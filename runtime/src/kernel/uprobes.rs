//! Attaching uprobes and uretprobes: bpftrace 0.20's safe mode (no uprobe on a function whose
//! symbol has size 0, since its first instruction can't be checked), and the programs of a
//! wildcard, attached to all their functions through one uprobe_multi link where the kernel has
//! them, else through one uprobe per function.

use super::{attach, Tracer};
use crate::error::RuntimeError;
use crate::targets::elf;
use btc_bpfprog::{Probe, ProbeKind};
use libbpf_rs::ProgramMut;

/// What safe mode says of a uprobe on `symbol` + `offset` of `path`.
#[derive(Debug, PartialEq, Eq)]
enum Boundary {
    /// Attach it.
    Known,
    /// The function has size 0 (`_init`, hand-written assembly): its boundary is unknown.
    Unknown(String),
}

fn boundary(path: &str, symbol: Option<&str>, offset: u64) -> Boundary {
    let (Some(symbol), 0) = (symbol, offset) else { return Boundary::Known };
    let functions = elf::file_functions(path).unwrap_or_default();
    match functions.iter().find(|f| f.name == symbol) {
        Some(f) if f.size == 0 => Boundary::Unknown(f.name.clone()),
        // A symbol that isn't there is reported by the attachment itself.
        _ => Boundary::Known,
    }
}

/// bpftrace's words for a function of size 0: the error that ends the run when the probe names
/// it, or the warning when it came from a wildcard or a list (the probe is then skipped).
fn zero_size_message(function: &str, optional: bool) -> String {
    let what = format!("Could not determine boundary for {function} (symbol has size 0).");
    if optional {
        format!("WARNING: {what} Skipping attachment (use --unsafe to force attachment).")
    } else {
        format!("{what} Use --unsafe to force attachment.")
    }
}

impl Tracer {
    /// Whether a uprobe on `symbol` + `offset` of `path` may attach; warns when it is skipped,
    /// fails when it is refused.
    fn safe_to_attach(&self, path: &str, symbol: Option<&str>, offset: u64, optional: bool) -> Result<bool, RuntimeError> {
        if self.allow_unsafe {
            return Ok(true);
        }
        match boundary(path, symbol, offset) {
            Boundary::Known => Ok(true),
            Boundary::Unknown(f) if optional => {
                eprintln!("{}", zero_size_message(&f, true));
                Ok(false)
            }
            Boundary::Unknown(f) => Err(RuntimeError::Refused(zero_size_message(&f, false))),
        }
    }

    /// Attaches a uprobe or uretprobe probe.
    pub(super) fn attach_uprobe(&mut self, probe: &Probe) -> Result<(), RuntimeError> {
        self.attach_uprobe_with_cookie(probe, 0)
    }

    /// Attaches a uprobe or uretprobe probe; a single site gets the BPF cookie `cookie`.
    pub(super) fn attach_uprobe_with_cookie(&mut self, probe: &Probe, cookie: u64) -> Result<(), RuntimeError> {
        let ProbeKind::Uprobe { path, symbol, offset, ret, optional, also } = &probe.kind else {
            return Err(RuntimeError::Attach { probe: probe.name.clone(), reason: "not a uprobe".into() });
        };
        let err = |reason: String| RuntimeError::Attach { probe: probe.name.clone(), reason };
        let (pid, ret) = (self.pid, *ret);
        let functions: Vec<&str> = symbol.iter().chain(also).map(String::as_str).collect();
        let mut links = Vec::new();
        if !also.is_empty() && self.multi.contains(&probe.prog) {
            // uprobe_multi links attach functions of any size, as bpftrace's do.
            let prog = self.program(probe)?;
            links.push(attach::uprobe_multi(&prog, path, &functions, ret, pid).map_err(err)?);
        } else if !also.is_empty() {
            for f in &functions {
                if self.safe_to_attach(path, Some(f), 0, true)? {
                    let prog = self.program(probe)?;
                    links.push(attach::uprobe(&prog, path, Some(f), 0, ret, pid).map_err(err)?);
                }
            }
        } else if self.safe_to_attach(path, symbol.as_deref(), *offset, *optional)? {
            let prog: ProgramMut<'_> = self.program(probe)?;
            let at = (symbol.as_deref(), *offset);
            links.push(attach::uprobe_with_cookie(&prog, path, at, ret, pid, cookie).map_err(err)?);
        }
        self.links.extend(links);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_size_words_are_bpftraces() {
        assert_eq!(
            zero_size_message("_init", false),
            "Could not determine boundary for _init (symbol has size 0). Use --unsafe to force attachment."
        );
        assert_eq!(
            zero_size_message("_init", true),
            "WARNING: Could not determine boundary for _init (symbol has size 0). Skipping attachment (use --unsafe to force attachment)."
        );
    }

    #[test]
    fn offsets_and_addresses_are_not_checked() {
        assert_eq!(boundary("/nonexistent", Some("f"), 4), Boundary::Known);
        assert_eq!(boundary("/nonexistent", None, 0), Boundary::Known);
        assert_eq!(boundary("/nonexistent", Some("f"), 0), Boundary::Known);
    }
}
