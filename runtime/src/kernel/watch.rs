//! Watchpoints: perf breakpoint events with the probe's program attached, opened when the
//! probes attach (`watchpoint:ADDRESS`) or while tracing, when a `watchpoint:FUNC+argN` setter
//! reports the address; `unwatch()` closes them.

use super::{attach, reason, Tracer};
use btc_bpfprog::{Probe, ProbeKind};
use std::os::fd::{AsRawFd, IntoRawFd};

/// Why a watchpoint couldn't be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchError {
    /// Every hardware breakpoint register is in use.
    NoRegisters,
    Other(String),
}

impl Tracer {
    /// Opens the breakpoint events of watchpoint probe `probe` on `address` and attaches its
    /// program to them.
    pub(super) fn watch(&mut self, probe: &Probe, address: u64) -> Result<(), String> {
        self.try_watch(probe, address, None).map_err(|e| match e {
            WatchError::NoRegisters => "no more hardware breakpoint registers left".to_string(),
            WatchError::Other(s) => s,
        })
    }

    /// As `watch`, telling a lack of breakpoint registers apart from other failures; `site`:
    /// the cookie of the function's site (found at run time) that reported the address.
    pub fn try_watch(&mut self, probe: &Probe, address: u64, site: Option<u64>) -> Result<(), WatchError> {
        let (len, mode) = match &probe.kind {
            ProbeKind::Watchpoint { len, mode, .. } | ProbeKind::WatchFunc { len, mode, .. } => (*len, mode.clone()),
            _ => return Err(WatchError::Other("not a watchpoint".to_string())),
        };
        let fds = attach::watchpoint(address, len, &mode, self.pid).map_err(|e| {
            if e == attach::NO_BREAKPOINT_REGISTERS {
                WatchError::NoRegisters
            } else {
                WatchError::Other(e)
            }
        })?;
        let prog = self.program(probe).map_err(|e| WatchError::Other(e.to_string()))?;
        let mut links = Vec::with_capacity(fds.len());
        for fd in fds {
            let link = match site {
                Some(cookie) => {
                    let opts = libbpf_rs::PerfEventOpts { cookie, ..Default::default() };
                    prog.attach_perf_event_with_opts(fd.as_raw_fd(), opts)
                }
                None => prog.attach_perf_event(fd.as_raw_fd()),
            }
            .map_err(|e| WatchError::Other(reason(&e)))?;
            // The link now owns the perf event and closes it when it is dropped.
            let _ = fd.into_raw_fd();
            links.push(link);
        }
        self.watched.push((address, (probe.prog.clone(), site), links));
        Ok(())
    }

    /// Removes every watchpoint on `address`; returns how many probes watched it.
    pub fn unwatch(&mut self, address: u64) -> usize {
        let before = self.watched.len();
        self.watched.retain(|(a, _, _)| *a != address);
        before - self.watched.len()
    }

    /// Whether `probe` (the site `site` of it) watches `address` now.
    pub fn watching(&self, probe: &Probe, address: u64, site: Option<u64>) -> bool {
        self.watched.iter().any(|(a, (prog, s), _)| *a == address && *prog == probe.prog && *s == site)
    }

    /// Attaches the uprobe that arms a `watchpoint:FUNC+argN` probe, on FUNC in the binary of
    /// the traced process; with the cookie of its site when FUNC was found at run time.
    pub(crate) fn attach_watch_setter(&mut self, probe: &Probe, site: Option<u64>) -> Result<(), String> {
        let ProbeKind::WatchFunc { func, .. } = &probe.kind else { return Err("not a watchpoint".to_string()) };
        let pid = self.pid.ok_or("this form of watchpoint needs a process to watch: give -p PID or -c CMD")?;
        let exe = format!("/proc/{pid}/exe");
        // The binary as the process sees it; /proc/PID/exe also works across mount namespaces.
        let path = std::fs::read_link(&exe)
            .ok()
            .filter(|p| p.exists())
            .map_or(exe, |p| p.to_string_lossy().into_owned());
        let setter = btc_bpfprog::watch_setter(&probe.prog);
        let prog = self
            .object
            .progs_mut()
            .find(|p| p.name() == std::ffi::OsStr::new(&setter))
            .ok_or_else(|| format!("the object has no program {setter}"))?;
        let link = attach::uprobe_with_cookie(&prog, &path, (Some(func), 0), false, Some(pid), site.unwrap_or(0))?;
        self.links.push(link);
        Ok(())
    }

    /// The process uprobes, USDT probes and watchpoints are limited to.
    pub fn target_pid(&self) -> Option<i32> {
        self.pid
    }
}
