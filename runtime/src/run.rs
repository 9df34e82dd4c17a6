//! The tracing session: load, run BEGIN, attach, print events until told to stop, detach, run
//! END, print the maps.
//!
//! Tracing stops on `exit()`, SIGINT/SIGTERM, a closed output pipe, the end of the `-c` child
//! or of the `-p` process. Every exit path drops the tracer, which detaches and unloads all.

use crate::events::{EventError, MapReader, Printer, Step};
use crate::kernel::process::{self, Child, PidWatch};
use crate::kernel::symbols::{SymbolOptions, Symbols};
use crate::kernel::{self, signals, Tracer};
use crate::maps::RawEntries;
use crate::output::{Services, DEFAULT_MAX_CAT_BYTES};
use crate::process_targets;
use crate::resolve::Resolver;
use crate::{Buffering, RunOptions, RuntimeError};
use btc_bpfprog::{runtime::Var, MapInfo, Metadata, ProbeKind, RuntimeConfig, UserSymbolCache};
use std::io::{ErrorKind, Write};
use std::time::Duration;

/// When this environment variable is set, a line with its name is printed once every probe is
/// attached (bpftrace's protocol for test harnesses).
const NOTIFY_ATTACHED: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

/// How long one wait for events lasts, so a stop request is noticed quickly.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Default of BPFTRACE_PERF_RB_PAGES.
const DEFAULT_RB_PAGES: u64 = 64;

/// With `-B full`, output is written once this much has accumulated.
const FULL_BUFFER: usize = 64 * 1024;

/// The output stream. A closed pipe (`btc ... | head`) stops tracing instead of failing it.
struct Out<'w> {
    w: &'w mut dyn Write,
    broken: bool,
    buffering: Buffering,
    pending: Vec<u8>,
}

impl Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        if self.broken || bytes.is_empty() {
            return Ok(());
        }
        if self.buffering == Buffering::Full {
            self.pending.extend_from_slice(bytes);
            if self.pending.len() < FULL_BUFFER {
                return Ok(());
            }
            let all = std::mem::take(&mut self.pending);
            return self.send(&all);
        }
        self.send(bytes)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        match self.w.write_all(bytes).and_then(|()| self.w.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.broken = true;
                Ok(())
            }
            Err(e) => Err(RuntimeError::Output(e.to_string())),
        }
    }

    fn finish(&mut self) -> Result<(), RuntimeError> {
        let all = std::mem::take(&mut self.pending);
        if all.is_empty() || self.broken {
            return Ok(());
        }
        self.send(&all)
    }
}

impl MapReader for Tracer {
    fn read_map(&self, info: &MapInfo) -> Result<RawEntries, RuntimeError> {
        self.read_entries(&info.bpf_name)
    }
    fn read_stack(&self, map: &str, id: u32) -> Option<Vec<u64>> {
        Tracer::read_stack(self, map, id)
    }
    fn clear_map(&self, info: &MapInfo) -> Result<(), RuntimeError> {
        self.clear_entries(&info.bpf_name)
    }
    fn zero_map(&self, info: &MapInfo) -> Result<(), RuntimeError> {
        self.zero_entries(&info.bpf_name, &crate::maps::zero_value(&info.value))
    }
}

/// `env` with every setting it lacks taken from the object's config block.
fn settings(env: &RuntimeConfig, object: &RuntimeConfig) -> RuntimeConfig {
    RuntimeConfig {
        perf_rb_pages: env.perf_rb_pages.or(object.perf_rb_pages),
        cache_user_symbols: env.cache_user_symbols.or(object.cache_user_symbols),
        cpp_demangle: env.cpp_demangle.or(object.cpp_demangle),
        str_trunc_trailer: env.str_trunc_trailer.clone().or_else(|| object.str_trunc_trailer.clone()),
        max_cat_bytes: env.max_cat_bytes.or(object.max_cat_bytes),
        max_probes: env.max_probes.or(object.max_probes),
        log_size: env.log_size.or(object.log_size),
        compat: env.compat.or(object.compat),
        print_maps_on_exit: env.print_maps_on_exit.or(object.print_maps_on_exit),
        missing_probes: env.missing_probes.or(object.missing_probes),
        show_debug_info: env.show_debug_info.or(object.show_debug_info),
    }
}

/// The size of the ring buffer for `pages` pages per CPU: a power of two, at least one page.
fn ringbuf_bytes(pages: u64, cpus: u64) -> u32 {
    let bytes = pages.saturating_mul(4096).saturating_mul(cpus.max(1)).clamp(4096, 1 << 30);
    u32::try_from(bytes.next_power_of_two()).unwrap_or(1 << 30)
}

/// bpftrace's default user symbol cache: per program without ASLR or with `-c`, else per PID.
fn default_symbol_cache(has_child: bool) -> UserSymbolCache {
    let aslr = std::fs::read_to_string("/proc/sys/kernel/randomize_va_space").map_or(true, |s| s.trim() != "0");
    if has_child || !aslr {
        UserSymbolCache::PerProgram
    } else {
        UserSymbolCache::PerPid
    }
}

/// Runs `object`, writing its output to `w`. See [`crate::run_object`].
pub fn run(object: &[u8], opts: &RunOptions, w: &mut dyn Write) -> Result<i32, RuntimeError> {
    // Nothing starts before the object is known to be whole and consistent.
    let mut meta = crate::inspect::inspect_object(object)?.meta;
    // Nor before the command line has the flags the object requires.
    process_targets::check_flags(&meta, opts)?;
    // The run's positional parameters: checked, written into the object, attach points completed.
    let with_params = crate::params::apply(&mut meta, object, &opts.positional, opts.pid)?;
    let object = with_params.as_deref().unwrap_or(object);
    // What the object holds that only the compiling machine vouched for.
    crate::load_checks::check(&meta.portable, &kernel::identity::System).map_err(RuntimeError::Refused)?;
    // kaddr() and cgroupid() of this system, written into the object before it is loaded.
    let filled = crate::load_values::apply(&meta.portable.load_values, object)?;
    let object = filled.as_deref().unwrap_or(object);
    // The run's choices the code branches on (`-k`), frozen into the object's .rodata.
    let settings_patched = btc_bpfprog::runtime::patch_run_settings(object, &[opts.helper_errors as u64])
        .map_err(RuntimeError::Refused)?;
    let object = settings_patched.as_deref().unwrap_or(object);
    let config = settings(&opts.env, &meta.config);
    let mut symbols = Symbols::new(SymbolOptions {
        demangle: config.cpp_demangle.unwrap_or(true),
        cache: config.cache_user_symbols.unwrap_or_else(|| default_symbol_cache(opts.command.is_some())),
        vmlinux: opts.vmlinux.clone(),
    });
    let mut out = Out { w, broken: false, buffering: opts.buffering, pending: Vec::new() };
    let services_for = |symbols: Symbols, binaries: Vec<Option<String>>, site_names: Vec<String>| {
        let mut resolver = Resolver::new(Box::new(symbols), process::boot_to_wall_ns());
        resolver.set_probe_binaries(binaries);
        resolver.set_site_names(site_names);
        Services {
            format: opts.format,
            resolver,
            host: Box::new(process::RealHost),
            max_cat_bytes: config.max_cat_bytes.unwrap_or(DEFAULT_MAX_CAT_BYTES),
            compat: config.compat.unwrap_or_default(),
        }
    };

    // The -p target must exist; the -c child starts (stopped) before the programs load.
    let pid = opts.pid.map(|p| u32::try_from(p).map_err(|_| RuntimeError::Process(format!("invalid pid {p}")))).transpose()?;
    let no_run = opts.dry_run || opts.load_only;
    let watch = if no_run { None } else { pid.map(PidWatch::new).transpose().map_err(RuntimeError::Process)? };
    let mut child = match &opts.command {
        Some(cmd) if !no_run => Some(Child::spawn_stopped(cmd).map_err(RuntimeError::Process)?),
        _ => None,
    };
    let target = child.as_ref().map(Child::pid).or(pid);
    if let Some(pid) = target {
        // With caching on, the target's memory map is read now, so its symbols resolve even
        // after it exits.
        symbols.preload(pid);
    }
    // What each probe attaches to in this run: probes resolved at run time are expanded
    // against the traced process now that it exists.
    let mut traced = process_targets::Target::new(target, opts);
    traced.reads_cookie = meta
        .probes
        .iter()
        .filter(|p| p.process.is_some() && kernel::trace_printk::program_calls_helper(object, &p.prog, GET_ATTACH_COOKIE))
        .map(|p| p.prog.clone())
        .collect();
    if uprobe_multi_usable(opts) {
        traced.shared_link = meta
            .probes
            .iter()
            .filter(|p| p.process.is_some() && !traced.reads_cookie.contains(&p.prog))
            .map(|p| p.prog.clone())
            .collect();
    }
    let filter = probe_filter(opts, &meta)?;
    let expanded = process_targets::expand(&meta, &traced)?;
    let binaries = meta.probes.iter().map(|p| expanded.binary(p)).collect();
    let services = services_for(symbols, binaries, expanded.names.clone());
    // bpftrace 0.20 announces the probes before attaching them, 0.26 once they are attached.
    let announce = !opts.quiet && !opts.load_only;
    let selected: Vec<btc_bpfprog::Probe> = meta.probes.iter().filter(|p| filter.selects(p)).cloned().collect();
    let attached_count = expanded.count(&selected);
    if announce && !services.compat.v026() {
        out.write(&services.attaching(attached_count))?;
    }
    if config.log_size == Some(0) {
        return Err(no_log_room(&meta, opts.verbose));
    }
    kernel::raise_memlock();
    let cpus = kernel::perf::online_cpus().map_or(1, |c| c.len() as u64);
    let rb = ringbuf_bytes(config.perf_rb_pages.unwrap_or(DEFAULT_RB_PAGES), cpus);
    let mut multi = uprobe_multi_programs(&meta, opts);
    if uprobe_multi_usable(opts) {
        // Sites found at run time that share a link (see `Target::shared_link`).
        multi.extend(expanded.multi_programs().into_iter().filter(|p| traced.shared_link.contains(p)));
    }
    let mut tracer = Tracer::load_with(object, Some(rb), &multi, opts.btf.as_deref()).map_err(|e| name_rejected_probe(e, &meta))?;
    if opts.verbose {
        let target = opts.btf.as_ref().map_or_else(|| "the running kernel's BTF".to_string(), |p| p.display().to_string());
        eprint!("{}", crate::relocs::applied(object, &target, &|prog| tracer.loaded_insns(prog)));
    }
    tracer.check_programs(&meta.probes)?;
    tracer.write_usdt_specs(&expanded.usdt_specs)?;
    tracer.set_pid(target.and_then(|p| i32::try_from(p).ok()));
    tracer.set_unsafe(opts.allow_unsafe);
    if opts.load_only {
        return Ok(0);
    }
    if opts.dry_run {
        for p in selected.iter().filter(|p| !matches!(p.kind, ProbeKind::Begin | ProbeKind::End)) {
            process_targets::attach(&mut tracer, &expanded, p)?;
        }
        return Ok(0);
    }
    if kernel::trace_printk::calls_helper(object, kernel::trace_printk::TRACE_PRINTK) {
        kernel::trace_printk::ensure_debugfs_tracing();
    }
    // bpftrace 0.26's default limit is 1024 (0.20: 512).
    let default_max = if config.compat.unwrap_or_default().v026() { 1024 } else { 0 };
    let max_probes = if opts.max_probes != 0 { opts.max_probes } else { config.max_probes.unwrap_or(default_max) };
    check_probe_limit(&meta, &expanded, max_probes)?;
    let pcaps = kernel::skb::start(&mut tracer, &meta.pcaps, config.perf_rb_pages.unwrap_or(DEFAULT_RB_PAGES))?;
    tracer.write_var(Var::Cpid, child.as_ref().map_or(0, |c| u64::from(c.pid())))?;
    tracer.write_var(Var::StartNs, u64::try_from(process::clock_ns(libc::CLOCK_BOOTTIME)).unwrap_or(0))?;
    tracer.write_var(Var::TaiOffset, u64::try_from(process::tai_offset_ns()).unwrap_or(0))?;
    signals::set_child(child.as_ref().map_or(0, Child::pid));
    let guard = signals::install().map_err(|e| RuntimeError::Signals(e.to_string()))?;
    let mut printer = Printer::with_services(&meta, services);
    if let Some(t) = &config.str_trunc_trailer {
        printer.set_trailer(t.as_bytes());
    }
    let mut session =
        Session {
        printer,
        meta,
        tracer,
        out,
        lost: 0,
        full_reported: Vec::new(),
        child: child.take(),
        watch,
        watch_last: Default::default(),
        opts,
        ending: false,
        pcaps,
        expanded,
        announce_attached: (announce && config.compat.unwrap_or_default().v026()).then_some(attached_count),
        print_maps_on_exit: config.print_maps_on_exit.unwrap_or(true),
        missing_probes: config.missing_probes,
        filter,
    };
    let result = session.run();
    let finished = session.out.finish();
    // Detach and unload everything before the signal handlers go away, so a late signal still
    // only stops us rather than killing the process mid-cleanup. The child (if still running)
    // gets SIGTERM as the session drops.
    drop(session);
    signals::set_child(0);
    drop(guard);
    result.and_then(|code| finished.map(|()| code))
}

impl Drop for Session<'_, '_> {
    /// A synchronous watchpoint's setter may have stopped the target after its last event was
    /// read (or its event was lost): once nothing can stop it any more, make sure it runs.
    fn drop(&mut self) {
        self.tracer.detach_all();
        let sync_setter = self.meta.probes.iter().any(|p| matches!(p.kind, ProbeKind::WatchFunc { is_async: false, .. }));
        if let (true, Some(pid)) = (sync_setter, self.tracer.target_pid()) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
    }
}

struct Session<'w, 'o> {
    meta: Metadata,
    printer: Printer,
    tracer: Tracer,
    out: Out<'w>,
    /// Lost events already reported.
    lost: u64,
    /// Indexes of the maps already reported full.
    full_reported: Vec<usize>,
    child: Option<Child>,
    watch: Option<PidWatch>,
    /// The last address each `watchpoint:FUNC+argN` probe (by index, and site for a function
    /// found at run time) was given.
    watch_last: std::collections::HashMap<(u32, Option<u64>), u64>,
    opts: &'o RunOptions,
    /// Tracing is over (END runs): a stop request no longer cuts a batch of records short.
    ending: bool,
    /// skboutput()'s pcap files, when the object calls it.
    pcaps: Option<kernel::skb::PcapFiles>,
    /// What each probe attaches to in this run.
    expanded: process_targets::Expanded,
    /// bpftrace 0.26's `Attached N probes`, printed once attached.
    announce_attached: Option<usize>,
    /// print_maps_on_exit.
    print_maps_on_exit: bool,
    /// missing_probes, when set.
    missing_probes: Option<btc_bpfprog::MissingProbes>,
    /// `--probe-filter`.
    filter: ProbeFilter,
}

impl Session<'_, '_> {
    fn run(&mut self) -> Result<i32, RuntimeError> {
        let probes = self.meta.probes.clone();
        for p in probes.iter().filter(|p| p.kind == ProbeKind::Begin) {
            self.tracer.run_once(p)?;
        }
        // BEGIN's output is printed once every probe is attached, after the attach notice, as
        // bpftrace prints it; only whether BEGIN called exit() is looked at before attaching.
        let mut begin = Vec::new();
        loop {
            let records = self.tracer.consume()?;
            if records.is_empty() {
                break;
            }
            begin.extend(records);
        }
        let begin_exits = begin.iter().any(|r| {
            btc_bpfprog::EventHeader::decode(r).is_some_and(|(h, _)| h.kind == btc_bpfprog::ActionKind::Exit as u32)
        });
        if !begin_exits && !self.stopping() {
            let mut skipped = 0;
            for p in attach_order(&probes).into_iter().filter(|p| self.filter.selects(p)) {
                if let Err(e) = process_targets::attach(&mut self.tracer, &self.expanded, p) {
                    // bpftrace's rule: a kprobe from a wildcard or a list of attach points that
                    // can't attach is skipped with a warning; an explicit one fails the run.
                    // bpftrace 0.26's missing_probes=warn/ignore skips any probe.
                    use btc_bpfprog::MissingProbes;
                    match (&p.kind, self.missing_probes, e) {
                        (_, Some(MissingProbes::Ignore), RuntimeError::Attach { .. }) => skipped += 1,
                        (_, Some(MissingProbes::Warn), RuntimeError::Attach { probe, reason })
                        | (ProbeKind::Kprobe { optional: true, .. }, _, RuntimeError::Attach { probe, reason }) => {
                            skipped += 1;
                            eprintln!("WARNING: could not attach probe {probe}, skipping: {reason}");
                        }
                        (_, _, e) => return Err(e),
                    }
                }
            }
            if let Some(n) = self.announce_attached.take() {
                self.announce(n.saturating_sub(skipped))?;
            }
            if let Some(c) = &mut self.child {
                c.resume().map_err(RuntimeError::Process)?;
            }
        }
        // BEGIN called exit(): bpftrace 0.26 has attached (and announced) the probes by then.
        if let Some(n) = self.announce_attached.take() {
            if !self.stopping() {
                self.announce(n)?;
            }
        }
        // Test harnesses written for bpftrace wait for this line before starting a workload.
        // As bpftrace's, it goes to stderr (so pipelines of the output never see it), and it
        // comes even when BEGIN called exit() (bpftrace attaches before it sees the exit).
        // bpftrace 0.26 writes it to stdout.
        if std::env::var_os(NOTIFY_ATTACHED).is_some() && !self.stopping() {
            let line = format!("{NOTIFY_ATTACHED}\n");
            if self.printer.services().compat.v026() {
                let mut stdout = std::io::stdout();
                let _ = stdout.write_all(line.as_bytes()).and_then(|()| stdout.flush());
            } else {
                let mut stderr = std::io::stderr();
                let _ = stderr.write_all(line.as_bytes()).and_then(|()| stderr.flush());
            }
        }
        let mut exited = self.process(&begin)?;
        // bpftrace 0.26 ends a script of BEGIN and END probes alone once BEGIN has run.
        if self.printer.services().compat.v026() && probes.iter().all(|p| matches!(p.kind, ProbeKind::Begin | ProbeKind::End)) {
            exited = true;
        }
        if exited {
            self.discard()?;
        }
        self.report_lost()?;
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
            self.print_maps_if_asked()?;
            self.write_pcaps()?;
            self.report_lost()?;
            // The end of the -c child or the -p process ends tracing as exit() does, once the
            // events it caused are printed.
            if !exited && self.target_ended() {
                self.drain()?;
                exited = true;
            }
        }
        self.tracer.detach_all();
        // Records still queued are ignored, after exit() as after a signal (bpftrace's rule: a
        // probe printing under heavy load must not delay the end).
        self.discard()?;
        self.ending = true;
        for p in probes.iter().filter(|p| p.kind == ProbeKind::End) {
            self.tracer.run_once(p)?;
        }
        self.drain()?;
        self.write_pcaps()?;
        self.report_lost()?;
        let mut text = Vec::new();
        if self.print_maps_on_exit {
            self.printer.print_exit_maps(&self.tracer, &mut text)?;
        }
        if self.opts.to_file {
            if let Some(maps) = text.strip_prefix(b"\n\n") {
                // bpftrace writes these two lines to stdout, whatever -o says.
                let mut stdout = std::io::stdout();
                let _ = stdout.write_all(b"\n\n").and_then(|()| stdout.flush());
                text = maps.to_vec();
            }
        }
        self.out.write(&text)?;
        Ok(0)
    }

    /// bpftrace 0.26's `Attached N probes`: on stderr in text mode (0.26 writes what the script
    /// didn't print there), in the output in JSON.
    fn announce(&mut self, n: usize) -> Result<(), RuntimeError> {
        let line = self.printer.services().attaching(n);
        if self.printer.services().format == crate::OutputFormat::Text {
            let mut stderr = std::io::stderr();
            let _ = stderr.write_all(&line).and_then(|()| stderr.flush());
            return Ok(());
        }
        self.out.write(&line)
    }

    fn target_ended(&mut self) -> bool {
        self.child.as_mut().is_some_and(Child::has_exited) || self.watch.as_ref().is_some_and(PidWatch::has_exited)
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
            if !self.ending && self.stopping() {
                // A signal asked to stop: the rest of the batch is ignored, as bpftrace does.
                break;
            }
            match self.printer.handle(r, &self.tracer, &mut text)? {
                Step::Exit => {
                    exited = true;
                    break;
                }
                Step::Continue => {}
                Step::Watch { probe, address, site } => self.set_watch(probe, address, site)?,
                Step::Unwatch(address) => {
                    self.tracer.unwatch(address);
                }
            }
            if self.opts.buffering == Buffering::None {
                self.out.write(&std::mem::take(&mut text))?;
            }
        }
        self.out.write(&text)?;
        Ok(exited)
    }

    /// A `watchpoint:FUNC+argN` setter reported `address`: watches it, unless the probe watches
    /// it already or it is the probe's last address (bpftrace's rule, so an address that was
    /// unwatched isn't watched again at the next call), then lets a synchronous watchpoint's
    /// process go on. Running out of breakpoint registers is reported in the output at every
    /// address that can't be watched, as bpftrace 0.20 does.
    fn set_watch(&mut self, index: u32, address: u64, site: Option<u64>) -> Result<(), RuntimeError> {
        let probe = self.meta.probes.get(index as usize).cloned().ok_or(EventError::BadProbe(index))?;
        let ProbeKind::WatchFunc { is_async, .. } = probe.kind else { return Err(EventError::BadProbe(index).into()) };
        let last = self.watch_last.insert((index, site), address);
        if last != Some(address) && !self.tracer.watching(&probe, address, site) {
            match self.tracer.try_watch(&probe, address, site) {
                Ok(()) => {}
                Err(kernel::watch::WatchError::NoRegisters) => {
                    let line = self.printer.services().out_of_watchpoint_registers();
                    self.out.write(&line)?;
                }
                Err(kernel::watch::WatchError::Other(reason)) => {
                    self.continue_target(is_async);
                    return Err(RuntimeError::Attach { probe: probe.name.clone(), reason });
                }
            }
        }
        self.continue_target(is_async);
        Ok(())
    }

    /// Sends SIGCONT to the traced process after a synchronous watchpoint's setter stopped it.
    fn continue_target(&self, is_async: bool) {
        if let (false, Some(pid)) = (is_async, self.tracer.target_pid()) {
            // SAFETY: kill has no memory-safety preconditions. A process that is gone is fine.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
    }

    /// SIGUSR1: prints every map now; tracing goes on.
    fn print_maps_if_asked(&mut self) -> Result<(), RuntimeError> {
        if signals::take_print_maps_request() {
            let mut text = Vec::new();
            self.printer.print_all_maps(&self.tracer, &mut text)?;
            self.out.write(&text)?;
        }
        Ok(())
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
        self.report_full()?;
        let now = self.tracer.lost_events()?;
        if now > self.lost {
            let line = self.printer.services().lost(now - self.lost);
            self.lost = now;
            let services = self.printer.services();
            if services.compat.v026() && services.format == crate::OutputFormat::Text {
                // bpftrace 0.26 writes it to stderr.
                let mut stderr = std::io::stderr();
                let _ = stderr.write_all(&line).and_then(|()| stderr.flush());
            } else {
                self.out.write(&line)?;
            }
        }
        Ok(())
    }
}

impl Session<'_, '_> {
    /// Writes the packets skboutput() sent to their pcap files.
    fn write_pcaps(&mut self) -> Result<(), RuntimeError> {
        let Some(files) = &mut self.pcaps else { return Ok(()) };
        files.write(&self.tracer.consume_skb()?)
    }

    /// Warns, once per map, that a map was full and updates were dropped.
    fn report_full(&mut self) -> Result<(), RuntimeError> {
        for (i, dropped) in self.tracer.full_maps()?.into_iter().enumerate() {
            if dropped == 0 || self.full_reported.contains(&i) {
                continue;
            }
            self.full_reported.push(i);
            if let Some(info) = self.meta.maps.get(i) {
                eprintln!("{}", map_full_line(&info.name, self.tracer.max_entries(&info.bpf_name)));
            }
        }
        Ok(())
    }
}

/// The warning printed the first time updates of map `name` are dropped because it is full.
fn map_full_line(name: &str, max_entries: Option<u32>) -> String {
    let limit = max_entries.map(|n| format!(" ({n})")).unwrap_or_default();
    format!("WARNING: Map full; can't update element of {name}. Try increasing BPFTRACE_MAX_MAP_KEYS{limit}.")
}

/// Whether the kernel runs the programs of this kind of probe, on one event, in the reverse order
/// of their attachment (a new uprobe consumer goes first, for instance).
fn fires_in_reverse(kind: &ProbeKind) -> bool {
    matches!(
        kind,
        ProbeKind::Kprobe { ret: false, .. }
            | ProbeKind::Uprobe { .. }
            | ProbeKind::Usdt { .. }
            | ProbeKind::Software { .. }
            | ProbeKind::Kfunc { ret: false, .. }
    )
}

/// The order to attach `probes` in, so that probes on the same event run in the order they are
/// written, as bpftrace 0.20 does: first, in order, the kinds the kernel runs in attachment
/// order; then, backwards, those it runs in reverse. Detaching goes in the same order, which
/// keeps the first written of a reverse kind attached longest.
fn attach_order(probes: &[btc_bpfprog::Probe]) -> Vec<&btc_bpfprog::Probe> {
    let forward = probes.iter().filter(|p| !fires_in_reverse(&p.kind));
    let backward = probes.iter().rev().filter(|p| fires_in_reverse(&p.kind));
    forward.chain(backward).collect()
}

/// `--probe-filter`: the probes whose name matches, BEGIN and END always.
struct ProbeFilter(Option<regex::Regex>);

impl ProbeFilter {
    fn selects(&self, p: &btc_bpfprog::Probe) -> bool {
        matches!(p.kind, ProbeKind::Begin | ProbeKind::End) || self.0.as_ref().is_none_or(|re| re.is_match(&p.name))
    }
}

/// The run's `--probe-filter`, checked: a bad expression, or one no probe matches, is bpftrace
/// 0.26's error.
fn probe_filter(opts: &RunOptions, meta: &Metadata) -> Result<ProbeFilter, RuntimeError> {
    let Some(text) = &opts.probe_filter else { return Ok(ProbeFilter(None)) };
    let re = regex::Regex::new(text).map_err(|e| {
        let text_of = e.to_string();
        let why = text_of.lines().last().unwrap_or_default().trim_start_matches("error: ").to_string();
        RuntimeError::Refused(format!("Invalid --probe-filter regex '{text}': {why}"))
    })?;
    let filter = ProbeFilter(Some(re));
    let special = |p: &&btc_bpfprog::Probe| matches!(p.kind, ProbeKind::Begin | ProbeKind::End);
    if !meta.probes.iter().filter(|p| !special(p)).any(|p| filter.selects(p)) {
        return Err(RuntimeError::Refused("No probes to attach".to_string()));
    }
    Ok(filter)
}

/// The programs of wildcard uprobes (those attached to several functions) when they can have
/// one uprobe_multi link each: the kernel has them and `--no-feature uprobe_multi` wasn't given.
/// BPF helper `bpf_get_attach_cookie`.
const GET_ATTACH_COOKIE: i32 = 174;

/// Whether this run may attach uprobes through uprobe_multi links.
fn uprobe_multi_usable(opts: &RunOptions) -> bool {
    !opts.no_features.iter().any(|f| f == "uprobe_multi") && crate::kernel::features::features().uprobe_multi
}

fn uprobe_multi_programs(meta: &Metadata, opts: &RunOptions) -> Vec<String> {
    let several: Vec<String> = meta
        .probes
        .iter()
        .filter(|p| matches!(&p.kind, ProbeKind::Uprobe { also, .. } if !also.is_empty()))
        .map(|p| p.prog.clone())
        .collect();
    if several.is_empty() || !uprobe_multi_usable(opts) {
        return Vec::new();
    }
    several
}

/// BPFTRACE_MAX_PROBES: refuse to attach more probes than the limit (BEGIN and END don't count).
/// Probes expanded at run time count as what they expanded to.
fn check_probe_limit(meta: &Metadata, expanded: &process_targets::Expanded, max: u32) -> Result<(), RuntimeError> {
    let max = if max == 0 { 512 } else { max };
    let traced: Vec<btc_bpfprog::Probe> =
        meta.probes.iter().filter(|p| !matches!(p.kind, ProbeKind::Begin | ProbeKind::End)).cloned().collect();
    let n = expanded.count(&traced);
    if n > max as usize {
        return Err(RuntimeError::TooManyProbes { count: n, max });
    }
    Ok(())
}

/// A verifier rejection names the BPF program (`btc_p3`); say which probe that is.
/// BPFTRACE_LOG_SIZE=0: bpftrace 0.20 hands the kernel a verifier log buffer of zero bytes,
/// which fails the load of the first program it loads: BEGIN, else the first probe.
fn no_log_room(meta: &Metadata, verbose: bool) -> RuntimeError {
    let first = meta
        .probes
        .iter()
        .find(|p| p.kind == ProbeKind::Begin)
        .or_else(|| meta.probes.iter().find(|p| p.kind != ProbeKind::End))
        .or(meta.probes.first());
    let name = first.map_or("", |p| p.name.as_str());
    RuntimeError::Refused(format!("Error loading program: {name}{}", if verbose { "" } else { " (try -v)" }))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_buffer_sizes_are_powers_of_two() {
        assert_eq!(ringbuf_bytes(64, 2), 512 * 1024);
        assert_eq!(ringbuf_bytes(3, 3), 64 * 1024);
        assert_eq!(ringbuf_bytes(0, 1), 4096);
    }

    #[test]
    fn probes_that_fire_in_reverse_attach_backwards() {
        let probe = |prog: &str, kind: ProbeKind| btc_bpfprog::Probe { prog: prog.into(), name: prog.into(), kind, process: None };
        let up = |ret| ProbeKind::Uprobe {
            path: "/bin/sh".into(),
            symbol: Some("main".into()),
            offset: 0,
            ret,
            optional: false,
            also: Vec::new(),
        };
        let tp = ProbeKind::Tracepoint { category: "sched".into(), name: "sched_switch".into() };
        let probes = vec![probe("a", up(false)), probe("b", tp), probe("c", up(true)), probe("d", up(false))];
        let order: Vec<&str> = attach_order(&probes).iter().map(|p| p.prog.as_str()).collect();
        assert_eq!(order, ["b", "d", "c", "a"]);
    }

    #[test]
    fn environment_wins_over_the_object() {
        let env = RuntimeConfig { perf_rb_pages: Some(8), ..RuntimeConfig::default() };
        let obj = RuntimeConfig { perf_rb_pages: Some(2), cpp_demangle: Some(false), ..RuntimeConfig::default() };
        let s = settings(&env, &obj);
        assert_eq!((s.perf_rb_pages, s.cpp_demangle), (Some(8), Some(false)));
    }
}
