//! Every call into the kernel: loading the BPF object (libbpf-rs), attaching probes
//! (perf_event_open), running BEGIN/END (BPF_PROG_TEST_RUN), the ring buffer, map reads, signal
//! handlers and tracefs. Everything else in the crate is pure and unit-tested without root.

pub mod attach;
mod batch;
pub mod core;
pub mod debugfile;
pub mod features;
pub mod identity;
pub mod iter;
pub mod kprobes;
pub mod object;
pub mod perf;
pub mod process;
mod process_sites;
pub mod signals;
pub mod skb;
pub mod symbols;
pub mod stats;
pub mod trace_printk;
pub mod tracefs;
mod uprobes;
pub mod watch;

use crate::error::RuntimeError;
use crate::maps::{RawEntries, RawValue};
use btc_bpfprog::{Probe, ProbeKind, FULL_MAP, LOST_MAP, RINGBUF_MAP};
use libbpf_rs::{Link, MapCore, MapFlags, Object, ObjectBuilder, PrintLevel, RingBuffer, RingBufferBuilder};
use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

/// Records consumed from the ring buffer per batch, so a flood of events can't grow memory
/// without bound between two rounds of printing.
const BATCH: usize = 4096;
/// Lines of libbpf's log kept to explain a load failure (the verifier log can be long).
const LOG_LINES: usize = 2000;

/// The strerror text of an errno value, e.g. "No such file or directory".
pub fn os_error_text(code: i32) -> String {
    strip_os_error(&std::io::Error::from_raw_os_error(code).to_string())
}

/// Removes the " (os error N)" suffix Rust adds to OS error messages.
fn strip_os_error(s: &str) -> String {
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}

/// The most specific message of a libbpf-rs error (usually the OS error text).
/// A batch's value bytes as a [`RawValue`]: per-CPU values split by CPU (each CPU's slot is
/// rounded up to 8 bytes; the value is its first `value_size` bytes).
fn raw_value(bytes: Vec<u8>, value_size: usize, cpus: Option<usize>) -> RawValue {
    match cpus {
        Some(_) => RawValue::PerCpu(
            bytes.chunks(value_size.next_multiple_of(8).max(1)).map(|c| c[..value_size.min(c.len())].to_vec()).collect(),
        ),
        None => RawValue::Single(bytes),
    }
}

fn reason(err: &libbpf_rs::Error) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(src) = last.source() {
        last = src;
    }
    strip_os_error(&last.to_string())
}

static LIBBPF_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The least important libbpf messages kept (`libbpf_print_level`: 0 warnings, 1 information).
static LIBBPF_LEVEL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn capture_libbpf_log(msg: String) {
    let mut log = LIBBPF_LOG.lock().unwrap_or_else(|e| e.into_inner());
    if log.len() >= LOG_LINES {
        log.remove(0);
    }
    log.push(msg);
}

/// libbpf's print callback. libbpf-rs's own turns a message that is not UTF-8 (a corrupted
/// object's names are quoted in them) into a panic across the C boundary, which aborts.
///
/// The argument list is a `va_list`, passed as a pointer whatever bindgen calls its type.
unsafe extern "C" fn libbpf_print(
    level: libbpf_rs::libbpf_sys::libbpf_print_level,
    fmt: *const std::ffi::c_char,
    args: *mut std::ffi::c_void,
) -> std::ffi::c_int {
    if level > LIBBPF_LEVEL.load(std::sync::atomic::Ordering::Relaxed) {
        return 0;
    }
    // SAFETY: libbpf's format and its arguments, as libbpf passes them.
    if let Ok(bytes) = unsafe { vsprintf::vsprintf_raw(fmt, args) } {
        capture_libbpf_log(String::from_utf8_lossy(&bytes).into_owned());
    }
    0
}

/// Keeps libbpf's messages of `level` and more important ones for [`take_libbpf_log`].
fn capture_libbpf(level: PrintLevel) {
    LIBBPF_LEVEL.store(level as u32, std::sync::atomic::Ordering::Relaxed);
    type Callback = unsafe extern "C" fn(u32, *const std::ffi::c_char, *mut std::ffi::c_void) -> std::ffi::c_int;
    let cb: Callback = libbpf_print;
    // SAFETY: the same function type but for the `va_list` parameter, a pointer either way
    // (libbpf-rs passes its own callback the same way).
    unsafe { libbpf_rs::libbpf_sys::libbpf_set_print(std::mem::transmute::<Callback, libbpf_rs::libbpf_sys::libbpf_print_fn_t>(cb)) };
}

fn take_libbpf_log() -> Vec<String> {
    std::mem::take(&mut *LIBBPF_LOG.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Raises RLIMIT_MEMLOCK to infinity (needed by kernels that still charge BPF memory to it).
pub fn raise_memlock() {
    let limit = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: `limit` is a valid rlimit. Failure is harmless on kernels with memcg accounting.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) };
}

/// What bpftrace 0.20 refuses about a kprobe before attaching it (see [`kprobes`]); an offset
/// is checked only when kallsyms tells the function's size.
fn kprobe_checks(func: &str, module: Option<&str>, offset: u64, ret: bool) -> Result<(), RuntimeError> {
    if let Some(refusal) = ret.then(|| kprobes::banned_kretprobe(func)).flatten() {
        return Err(RuntimeError::Refused(refusal));
    }
    if offset != 0 {
        let key = module.map_or_else(|| func.to_string(), |m| format!("{m}:{func}"));
        if let Some(refusal) = kprobes::function_size(&key).and_then(|size| kprobes::offset_outside(func, offset, size)) {
            return Err(RuntimeError::Refused(refusal));
        }
    }
    Ok(())
}

/// A watchpoint set: its address, the probe's program and site cookie, and its links.
type Watched = (u64, (String, Option<u64>), Vec<Link>);

/// A loaded BPF object with its ring buffer and attached probes.
///
/// Fields drop in declaration order: skboutput()'s perf buffer, the ring buffer, then the links
/// (detaching the programs and closing their perf events), then the object (closing every
/// program and map; the perf buffer clears its map entries before that).
pub struct Tracer {
    skb: Option<skb::SkbBuffer>,
    ringbuf: RingBuffer<'static>,
    records: Rc<RefCell<Vec<Vec<u8>>>>,
    links: Vec<Link>,
    /// Watchpoints: the watched address, the probe's program (and its site's cookie, for a
    /// function found at run time) and its links (`unwatch()` removes them).
    watched: Vec<Watched>,
    object: Object,
    /// The process given with `-p`: uprobes, USDT and watchpoints are limited to it.
    pid: Option<i32>,
    /// `--unsafe`: uprobes on functions of size 0 are attached anyway.
    allow_unsafe: bool,
    /// The programs loaded for uprobe_multi links (wildcard uprobes, where the kernel has them).
    multi: Vec<String>,
}

impl Tracer {
    /// Opens and loads `bytes` and sets up the ring buffer, resized to `ringbuf_bytes` (a power of two
    /// multiple of the page size) when given. The programs named in `multi` are loaded for
    /// uprobe_multi links. CO-RE relocations are resolved against the BTF file `btf` when given
    /// (BPFTRACE_BTF), else against the running kernel's.
    pub fn load_with(bytes: &[u8], ringbuf_bytes: Option<u32>, multi: &[String], btf: Option<&std::path::Path>) -> Result<Tracer, RuntimeError> {
        capture_libbpf(PrintLevel::Info);
        take_libbpf_log();
        let load_error = |e: libbpf_rs::Error| {
            let log = take_libbpf_log();
            RuntimeError::Load { reason: load_reason(&reason(&e), &log), log }
        };
        let mut builder = ObjectBuilder::default();
        builder.name("btc").map_err(load_error)?;
        if let Some(path) = btf {
            builder.btf_custom_path(path).map_err(load_error)?;
        }
        let mut open = builder.open_memory(bytes).map_err(load_error)?;
        if let Some(size) = ringbuf_bytes {
            if let Some(mut map) = open.maps_mut().find(|m| m.name() == OsStr::new(RINGBUF_MAP)) {
                map.set_max_entries(size).map_err(load_error)?;
            }
        }
        for mut prog in open.progs_mut().filter(|p| multi.iter().any(|m| p.name() == OsStr::new(m))) {
            prog.set_attach_type(libbpf_rs::ProgramAttachType::TraceUprobeMulti);
        }
        let object = open.load().map_err(load_error)?;
        take_libbpf_log();

        let records = Rc::new(RefCell::new(Vec::new()));
        let ringbuf = {
            let map = object
                .maps()
                .find(|m| m.name() == OsStr::new(RINGBUF_MAP))
                .ok_or_else(|| RuntimeError::MissingMap(RINGBUF_MAP.to_string()))?;
            let sink = Rc::clone(&records);
            let mut builder = RingBufferBuilder::new();
            builder
                .add(&map, move |data: &[u8]| {
                    sink.borrow_mut().push(data.to_vec());
                    0
                })
                .map_err(|e| RuntimeError::RingBuf(reason(&e)))?;
            builder.build().map_err(|e| RuntimeError::RingBuf(reason(&e)))?
        };
        Ok(Tracer {
            skb: None,
            ringbuf,
            records,
            links: Vec::new(),
            watched: Vec::new(),
            object,
            pid: None,
            allow_unsafe: false,
            multi: multi.to_vec(),
        })
    }

    fn program(&self, probe: &Probe) -> Result<libbpf_rs::ProgramMut<'_>, RuntimeError> {
        self.object
            .progs_mut()
            .find(|p| p.name() == OsStr::new(&probe.prog))
            .ok_or_else(|| RuntimeError::MissingProgram { prog: probe.prog.clone(), probe: probe.name.clone() })
    }

    /// Checks that the object has a program for every probe.
    pub fn check_programs(&self, probes: &[Probe]) -> Result<(), RuntimeError> {
        probes.iter().try_for_each(|p| self.program(p).map(|_| ()))
    }

    /// Limits uprobes, USDT probes and watchpoints to process `pid`.
    pub fn set_pid(&mut self, pid: Option<i32>) {
        self.pid = pid;
    }

    /// `--unsafe`: attach uprobes even where bpftrace's safe mode refuses to.
    pub fn set_unsafe(&mut self, allow: bool) {
        self.allow_unsafe = allow;
    }

    /// Runs an iterator probe: reads its output, or pins it.
    pub fn run_iter(&self, probe: &Probe) -> Result<iter::IterOutcome, RuntimeError> {
        let ProbeKind::Iter { pin, .. } = &probe.kind else { return Err(RuntimeError::Attach { probe: probe.name.clone(), reason: "not an iterator".into() }) };
        let prog = self.program(probe)?;
        iter::run(&prog, pin.as_deref()).map_err(|reason| RuntimeError::Attach { probe: probe.name.clone(), reason })
    }

    /// Attaches the probes that don't go through a perf event of ours.
    fn attach_link(&mut self, probe: &Probe) -> Result<Vec<Link>, String> {
        let pid = self.pid;
        let prog = self.program(probe).map_err(|e| e.to_string())?;
        let link = match &probe.kind {
            // A tp_btf program's tracepoint was fixed when it was loaded.
            ProbeKind::RawTracepoint { btf: true, .. } => prog.attach_trace().map_err(|e| reason(&e))?,
            ProbeKind::RawTracepoint { name, .. } => prog.attach_raw_tracepoint(name).map_err(|e| reason(&e))?,
            ProbeKind::Kprobe { func, module, offset, ret, .. } => {
                attach::kprobe(&prog, func, module.as_deref(), *offset, *ret)?
            }
            ProbeKind::Kfunc { .. } => prog.attach_trace().map_err(|e| reason(&e))?,
            ProbeKind::Usdt { path, provider, name, address, semaphore, args } => {
                let site = attach::UsdtSite {
                    provider,
                    name,
                    address: *address,
                    semaphore: *semaphore,
                    args: args.as_deref(),
                    cookie: 0,
                };
                attach::usdt_site(&prog, path, &site, pid)?
            }
            _ => return Ok(Vec::new()),
        };
        Ok(vec![link])
    }

    /// Attaches a probe. BEGIN, END and iterators are not attached (they are run).
    pub fn attach(&mut self, probe: &Probe) -> Result<(), RuntimeError> {
        let attach_err = |reason: String| RuntimeError::Attach { probe: probe.name.clone(), reason };
        let fds: Vec<OwnedFd> = match &probe.kind {
            ProbeKind::Begin | ProbeKind::End | ProbeKind::Iter { .. } => return Ok(()),
            ProbeKind::Software { config, period, .. } => {
                attach::perf_event(false, *config, *period).map_err(attach_err)?
            }
            ProbeKind::Hardware { config, period, .. } => {
                attach::perf_event(true, *config, *period).map_err(attach_err)?
            }
            ProbeKind::Watchpoint { address, .. } => return self.watch(probe, *address).map_err(attach_err),
            ProbeKind::WatchFunc { .. } => return self.attach_watch_setter(probe, None).map_err(attach_err),
            ProbeKind::RawTracepoint { name, btf: false, .. } => {
                let link = self.program(probe)?.attach_raw_tracepoint(name).map_err(|e| {
                    if e.kind() == libbpf_rs::ErrorKind::NotFound {
                        RuntimeError::Refused(format!("Probe does not exist: {}", probe.name))
                    } else {
                        attach_err(reason(&e))
                    }
                })?;
                self.links.push(link);
                return Ok(());
            }
            ProbeKind::Kprobe { func, module, offset, ret, .. } => {
                kprobe_checks(func, module.as_deref(), *offset, *ret)?;
                let links = self.attach_link(probe).map_err(attach_err)?;
                self.links.extend(links);
                return Ok(());
            }
            ProbeKind::Uprobe { .. } => return self.attach_uprobe(probe),
            ProbeKind::RawTracepoint { .. } | ProbeKind::Kfunc { .. } | ProbeKind::Usdt { .. } => {
                let links = self.attach_link(probe).map_err(attach_err)?;
                self.links.extend(links);
                return Ok(());
            }
            ProbeKind::Interval { period_ns } => {
                vec![perf::cpu_clock(*period_ns, 0).map_err(|e| attach_err(io_reason(&e)))?]
            }
            ProbeKind::Profile { period_ns } => {
                let cpus = perf::online_cpus().map_err(|e| attach_err(io_reason(&e)))?;
                cpus.into_iter()
                    .map(|cpu| perf::cpu_clock(*period_ns, cpu).map_err(|e| attach_err(io_reason(&e))))
                    .collect::<Result<_, _>>()?
            }
            ProbeKind::Tracepoint { category, name } => {
                let id = tracefs::tracepoint_id(category, name).map_err(|e| match e {
                    tracefs::TracefsError::TracepointNotFound { .. } => attach_err(os_error_text(libc::ENOENT)),
                    other => RuntimeError::Tracefs(other),
                })?;
                vec![perf::tracepoint(id).map_err(|e| attach_err(io_reason(&e)))?]
            }
        };
        let mut links = Vec::with_capacity(fds.len());
        {
            let prog = self.program(probe)?;
            for fd in fds {
                let link = prog.attach_perf_event(fd.as_raw_fd()).map_err(|e| attach_err(reason(&e)))?;
                // The link now owns the perf event and closes it when it is dropped.
                let _ = fd.into_raw_fd();
                links.push(link);
            }
        }
        self.links.extend(links);
        Ok(())
    }

    /// Detaches every attached probe.
    pub fn detach_all(&mut self) {
        self.links.clear();
        self.watched.clear();
    }

    /// Runs a BEGIN or END program once with BPF_PROG_TEST_RUN.
    pub fn run_once(&self, probe: &Probe) -> Result<(), RuntimeError> {
        let prog = self.program(probe)?;
        prog.test_run(libbpf_rs::ProgramInput::default())
            .map(|_| ())
            .map_err(|e| RuntimeError::Run { probe: probe.name.clone(), reason: reason(&e) })
    }

    /// Waits up to `timeout` for records and returns the next batch (possibly empty).
    pub fn poll(&self, timeout: Duration) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let got = self.consume()?;
        if !got.is_empty() {
            return Ok(got);
        }
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the epoll fd belongs to the live ring buffer; `event` has room for one event.
        let rc = unsafe { libc::epoll_wait(self.ringbuf.epoll_fd(), &mut event, 1, ms) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(RuntimeError::RingBuf(io_reason(&err)));
            }
        }
        self.consume()
    }

    /// Returns the records available now (at most one batch).
    pub fn consume(&self) -> Result<Vec<Vec<u8>>, RuntimeError> {
        let rc = self.ringbuf.consume_raw_n(BATCH);
        if rc < 0 && rc != -libc::EINTR {
            return Err(RuntimeError::RingBuf(os_error_text(-rc)));
        }
        Ok(std::mem::take(&mut *self.records.borrow_mut()))
    }

    /// Reads every entry of the map called `bpf_name`.
    pub fn read_entries(&self, bpf_name: &str) -> Result<RawEntries, RuntimeError> {
        let map_err = |reason: String| RuntimeError::MapRead { map: bpf_name.to_string(), reason };
        let map = self
            .object
            .maps()
            .find(|m| m.name() == OsStr::new(bpf_name))
            .ok_or_else(|| RuntimeError::MissingMap(bpf_name.to_string()))?;
        let per_cpu = map.map_type().is_percpu();
        let cpus = if per_cpu { Some(libbpf_rs::num_possible_cpus().map_err(|e| map_err(reason(&e)))?) } else { None };
        let layout = batch::Layout::new(map.key_size(), map.value_size(), map.max_entries(), cpus);
        if let Some(all) = batch::lookup_all(map.as_fd().as_raw_fd(), layout) {
            return Ok(all.into_iter().map(|(k, v)| (k, raw_value(v, map.value_size() as usize, cpus))).collect());
        }
        // Keys may be added or deleted while we iterate; bound the walk and skip duplicates.
        let limit = (map.max_entries() as usize).saturating_mul(2).saturating_add(16);
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        for key in map.keys().take(limit) {
            if !seen.insert(key.clone()) {
                continue;
            }
            let value = if per_cpu {
                map.lookup_percpu(&key, MapFlags::ANY).map_err(|e| map_err(reason(&e)))?.map(RawValue::PerCpu)
            } else {
                map.lookup(&key, MapFlags::ANY).map_err(|e| map_err(reason(&e)))?.map(RawValue::Single)
            };
            // A key deleted between get_next_key and lookup is simply skipped.
            if let Some(value) = value {
                entries.push((key, value));
            }
        }
        Ok(entries)
    }

    /// The frames of stack `id` in the stack trace map `map`.
    pub fn read_stack(&self, map: &str, id: u32) -> Option<Vec<u64>> {
        let m = self.object.maps().find(|m| m.name() == OsStr::new(map))?;
        let raw = m.lookup(&id.to_le_bytes(), MapFlags::ANY).ok()??;
        Some(raw.chunks(8).map(le_u64).collect())
    }

    /// Sets slot `var` of the runtime variables map, if the object has one.
    pub fn write_var(&self, var: btc_bpfprog::runtime::Var, value: u64) -> Result<(), RuntimeError> {
        let name = btc_bpfprog::runtime::VARS_MAP;
        let Some(map) = self.object.maps().find(|m| m.name() == OsStr::new(name)) else {
            return Ok(());
        };
        map.update(&(var as u32).to_le_bytes(), &value.to_le_bytes(), MapFlags::ANY)
            .map_err(|e| RuntimeError::MapRead { map: name.to_string(), reason: reason(&e) })
    }

    fn find_map(&self, bpf_name: &str) -> Result<libbpf_rs::Map<'_>, RuntimeError> {
        self.object
            .maps()
            .find(|m| m.name() == OsStr::new(bpf_name))
            .ok_or_else(|| RuntimeError::MissingMap(bpf_name.to_string()))
    }

    /// The keys of `map`, in batches where the kernel can, else key by key.
    fn all_keys(map: &libbpf_rs::Map<'_>, cpus: Option<usize>) -> Vec<Vec<u8>> {
        let layout = batch::Layout::new(map.key_size(), map.value_size(), map.max_entries(), cpus);
        match batch::lookup_all(map.as_fd().as_raw_fd(), layout) {
            Some(all) => all.into_iter().map(|(k, _)| k).collect(),
            None => map.keys().take(map.max_entries() as usize * 2 + 16).collect(),
        }
    }

    /// Deletes every entry of the map called `bpf_name`.
    pub fn clear_entries(&self, bpf_name: &str) -> Result<(), RuntimeError> {
        let map = self.find_map(bpf_name)?;
        let cpus = if map.map_type().is_percpu() { libbpf_rs::num_possible_cpus().ok() } else { None };
        let keys = Self::all_keys(&map, cpus);
        if batch::delete_all(map.as_fd().as_raw_fd(), map.key_size() as usize, &keys).is_some() {
            return Ok(());
        }
        for key in keys {
            // A key already gone is fine: someone else deleted it.
            let _ = map.delete(&key);
        }
        Ok(())
    }

    /// Sets every entry of the map called `bpf_name` to `zero` (on every CPU for per-CPU maps).
    pub fn zero_entries(&self, bpf_name: &str, zero: &[u8]) -> Result<(), RuntimeError> {
        let map = self.find_map(bpf_name)?;
        let map_err = |reason: String| RuntimeError::MapRead { map: bpf_name.to_string(), reason };
        let per_cpu = map.map_type().is_percpu();
        let cpus = libbpf_rs::num_possible_cpus().map_err(|e| map_err(reason(&e)))?;
        let keys = Self::all_keys(&map, per_cpu.then_some(cpus));
        let layout = batch::Layout::new(map.key_size(), map.value_size(), map.max_entries(), per_cpu.then_some(cpus));
        let one = if per_cpu {
            let mut slot = zero.to_vec();
            slot.resize(zero.len().next_multiple_of(8), 0);
            slot.repeat(cpus)
        } else {
            zero.to_vec()
        };
        if one.len() == layout.value_size && batch::update_existing(map.as_fd().as_raw_fd(), layout, &keys, &one).is_some() {
            return Ok(());
        }
        for key in keys {
            let res = if per_cpu {
                map.update_percpu(&key, &vec![zero.to_vec(); cpus], MapFlags::EXIST)
            } else {
                map.update(&key, zero, MapFlags::EXIST)
            };
            if let Err(e) = res {
                if e.kind() != libbpf_rs::ErrorKind::NotFound {
                    return Err(map_err(reason(&e)));
                }
            }
        }
        Ok(())
    }

    /// The number of events the BPF side failed to send (summed over CPUs), if the object has
    /// a lost-events map.
    pub fn lost_events(&self) -> Result<u64, RuntimeError> {
        let Some(map) = self.object.maps().find(|m| m.name() == OsStr::new(LOST_MAP)) else {
            return Ok(0);
        };
        let values = map
            .lookup_percpu(&0u32.to_le_bytes(), MapFlags::ANY)
            .map_err(|e| RuntimeError::MapRead { map: LOST_MAP.to_string(), reason: reason(&e) })?
            .unwrap_or_default();
        Ok(values.iter().map(|v| le_u64(v)).fold(0u64, u64::wrapping_add))
    }
}

impl Tracer {
    /// For each user map (by metadata index), the updates dropped because it was full (summed
    /// over CPUs); empty when the object has no such counters.
    pub fn full_maps(&self) -> Result<Vec<u64>, RuntimeError> {
        let Some(map) = self.object.maps().find(|m| m.name() == OsStr::new(FULL_MAP)) else {
            return Ok(Vec::new());
        };
        let err = |e: &libbpf_rs::Error| RuntimeError::MapRead { map: FULL_MAP.to_string(), reason: reason(e) };
        let mut counts = Vec::new();
        for i in 0..map.max_entries() {
            let values = map.lookup_percpu(&i.to_le_bytes(), MapFlags::ANY).map_err(|e| err(&e))?.unwrap_or_default();
            counts.push(values.iter().map(|v| le_u64(v)).fold(0u64, u64::wrapping_add));
        }
        Ok(counts)
    }

    /// The capacity of the map called `bpf_name` (BPFTRACE_MAX_MAP_KEYS when btc made it).
    pub fn max_entries(&self, bpf_name: &str) -> Option<u32> {
        self.find_map(bpf_name).ok().map(|m| m.max_entries())
    }
}

/// Names the program the verifier rejected, when libbpf's log says so.
fn load_reason(reason: &str, log: &[String]) -> String {
    let rejected = log.iter().find_map(|line| {
        let rest = line.split("prog '").nth(1)?;
        let (prog, tail) = rest.split_once("': ")?;
        tail.starts_with("BPF program load failed").then(|| prog.to_string())
    });
    match rejected {
        Some(prog) => format!("the verifier rejected program {prog}: {reason}"),
        None => reason.to_string(),
    }
}

fn le_u64(v: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = v.len().min(8);
    b[..n].copy_from_slice(&v[..n]);
    u64::from_le_bytes(b)
}

pub(crate) fn io_reason(err: &std::io::Error) -> String {
    err.raw_os_error().map_or_else(|| err.to_string(), os_error_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_reason_names_the_rejected_program() {
        let log = vec![
            "libbpf: elf: skipping unrecognized data section(4) .btc.meta\n".to_string(),
            "libbpf: prog 'fx_bad': BPF program load failed: -EACCES\n".to_string(),
        ];
        assert_eq!(load_reason("Permission denied", &log), "the verifier rejected program fx_bad: Permission denied");
        assert_eq!(load_reason("Invalid argument", &[]), "Invalid argument");
    }

    #[test]
    fn os_error_text_has_no_suffix() {
        assert_eq!(os_error_text(libc::ENOENT), "No such file or directory");
        assert_eq!(strip_os_error("plain"), "plain");
    }
}
