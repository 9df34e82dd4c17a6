//! The tracing session: load, run BEGIN, attach, print events until told to stop, detach, run
//! END, print the maps.

use crate::events::{attaching_line, lost_line, MapReader, Printer, Step};
use crate::kernel::{self, signals, Tracer};
use crate::maps::RawEntries;
use crate::{RunOptions, RuntimeError};
use btc_bpfprog::{MapInfo, Metadata, ProbeKind};
use std::io::{ErrorKind, Write};
use std::time::Duration;

/// When this environment variable is set, a line with its name is printed once every probe is
/// attached (bpftrace's protocol for test harnesses).
const NOTIFY_ATTACHED: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

/// How long one wait for events lasts, so a stop request is noticed quickly.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// The output stream. A closed pipe (`btc ... | head`) stops tracing instead of failing it.
struct Out<'w> {
    w: &'w mut dyn Write,
    broken: bool,
}

impl Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        if self.broken || bytes.is_empty() {
            return Ok(());
        }
        match self.w.write_all(bytes).and_then(|()| self.w.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.broken = true;
                Ok(())
            }
            Err(e) => Err(RuntimeError::Output(e.to_string())),
        }
    }
}

impl MapReader for Tracer {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError> {
        self.read_entries(&info.bpf_name)
    }
    fn clear_map(&self, info: &MapInfo) -> Result<(), RuntimeError> {
        self.clear_entries(&info.bpf_name)
    }
    fn zero_map(&self, info: &MapInfo) -> Result<(), RuntimeError> {
        self.zero_entries(&info.bpf_name, &crate::maps::zero_value(&info.value))
    }
}

/// Runs `object`, writing its output to `w`. See [`crate::run_object`].
pub fn run(object: &[u8], opts: &RunOptions, w: &mut dyn Write) -> Result<i32, RuntimeError> {
    let meta = btc_bpfprog::read_metadata(object)?;
    let mut out = Out { w, broken: false };
    if !opts.quiet && !opts.dry_run {
        out.write(attaching_line(meta.probes.len()).as_bytes())?;
    }
    kernel::raise_memlock();
    let mut tracer = Tracer::load(object).map_err(|e| name_rejected_probe(e, &meta))?;
    tracer.check_programs(&meta.probes)?;
    tracer.set_pid(opts.pid);
    if opts.dry_run {
        return Ok(0);
    }
    check_probe_limit(&meta, opts.max_probes)?;
    let guard = signals::install().map_err(|e| RuntimeError::Signals(e.to_string()))?;
    let mut session = Session { printer: Printer::new(&meta), meta, tracer, out, lost: 0 };
    let result = session.run();
    // Detach and unload everything before the signal handlers go away, so a late signal still
    // only stops us rather than killing the process mid-cleanup.
    drop(session);
    drop(guard);
    result
}

struct Session<'w> {
    meta: Metadata,
    printer: Printer,
    tracer: Tracer,
    out: Out<'w>,
    /// Lost events already reported.
    lost: u64,
}

impl Session<'_> {
    fn run(&mut self) -> Result<i32, RuntimeError> {
        let probes = self.meta.probes.clone();
        for p in probes.iter().filter(|p| p.kind == ProbeKind::Begin) {
            self.tracer.run_once(p)?;
        }
        let mut exited = self.drain()?;
        self.report_lost()?;
        if !exited && !self.stopping() {
            for p in &probes {
                if let Err(e) = self.tracer.attach(p) {
                    // bpftrace's rule: a kprobe from a wildcard or a list of attach points that
                    // can't attach is skipped with a warning; an explicit one fails the run.
                    match (&p.kind, e) {
                        (ProbeKind::Kprobe { optional: true, .. }, RuntimeError::Attach { probe, reason }) => {
                            eprintln!("WARNING: could not attach probe {probe}, skipping: {reason}");
                        }
                        (_, e) => return Err(e),
                    }
                }
            }
            // Test harnesses written for bpftrace wait for this line before starting a workload.
            if std::env::var_os(NOTIFY_ATTACHED).is_some() {
                self.out.write(format!("{NOTIFY_ATTACHED}\n").as_bytes())?;
            }
        }
        // Iterators run once, after BEGIN; the session then ends as after exit().
        if !exited && !self.stopping() && probes.iter().any(|p| matches!(p.kind, ProbeKind::Iter { .. })) {
            for p in probes.iter().filter(|p| matches!(p.kind, ProbeKind::Iter { .. })) {
                match self.tracer.run_iter(p)? {
                    kernel::iter::IterOutcome::Output(bytes) => self.out.write(&bytes)?,
                    kernel::iter::IterOutcome::Pinned(path) => {
                        self.out.write(format!("Program pinned to {}\n", path.display()).as_bytes())?
                    }
                }
            }
            self.drain()?;
            exited = true;
        }
        while !exited && !self.stopping() {
            let records = self.tracer.poll(POLL_TIMEOUT)?;
            exited = self.process(&records)?;
            self.report_lost()?;
        }
        self.tracer.detach_all();
        // Records still queued: after exit() bpftrace ignores them; after a signal, they were
        // produced before the user asked to stop, so print them.
        if exited {
            self.discard()?;
        } else {
            self.drain()?;
        }
        for p in probes.iter().filter(|p| p.kind == ProbeKind::End) {
            self.tracer.run_once(p)?;
        }
        self.drain()?;
        self.report_lost()?;
        let mut text = Vec::new();
        self.printer.print_exit_maps(&self.tracer, &mut text)?;
        self.out.write(&text)?;
        Ok(0)
    }

    fn stopping(&self) -> bool {
        signals::stop_requested() || self.out.broken
    }

    /// Prints a batch of records; returns true when one of them was `exit()` (the records after
    /// it are ignored).
    fn process(&mut self, records: &[Vec<u8>]) -> Result<bool, RuntimeError> {
        let mut text = Vec::new();
        let mut exited = false;
        for r in records {
            if self.printer.handle(r, &self.tracer, &mut text)? == Step::Exit {
                exited = true;
                break;
            }
        }
        self.out.write(&text)?;
        Ok(exited)
    }

    /// Prints every record available now; after an `exit()` the rest are discarded.
    fn drain(&mut self) -> Result<bool, RuntimeError> {
        loop {
            let records = self.tracer.consume()?;
            if records.is_empty() {
                return Ok(false);
            }
            if self.process(&records)? {
                self.discard()?;
                return Ok(true);
            }
        }
    }

    /// Consumes and drops every record available now.
    fn discard(&mut self) -> Result<(), RuntimeError> {
        while !self.tracer.consume()?.is_empty() {}
        Ok(())
    }

    fn report_lost(&mut self) -> Result<(), RuntimeError> {
        let now = self.tracer.lost_events()?;
        if now > self.lost {
            let line = lost_line(now - self.lost);
            self.lost = now;
            self.out.write(line.as_bytes())?;
        }
        Ok(())
    }
}

/// BPFTRACE_MAX_PROBES: refuse to attach more probes than the limit (BEGIN and END don't count).
fn check_probe_limit(meta: &Metadata, max: u32) -> Result<(), RuntimeError> {
    let max = if max == 0 { 512 } else { max };
    let n = meta.probes.iter().filter(|p| !matches!(p.kind, ProbeKind::Begin | ProbeKind::End)).count();
    if n > max as usize {
        return Err(RuntimeError::TooManyProbes { count: n, max });
    }
    Ok(())
}

/// A verifier rejection names the BPF program (`btc_p3`); say which probe that is.
fn name_rejected_probe(e: RuntimeError, meta: &Metadata) -> RuntimeError {
    match e {
        RuntimeError::Load { reason, log } => {
            let mut reason = reason;
            if let Some(p) = meta.probes.iter().find(|p| reason.contains(&format!("program {}:", p.prog))) {
                reason = reason.replacen(&format!("program {}:", p.prog), &format!("program {} ({}):", p.prog, p.name), 1);
                if let ProbeKind::Kfunc { .. } = p.kind {
                    if reason.contains("Operation not permitted") || reason.contains("not supported") {
                        reason.push_str(" (this kernel refuses fentry/fexit programs, which kfunc and kretfunc need)");
                    }
                }
            }
            RuntimeError::Load { reason, log }
        }
        other => other,
    }
}
