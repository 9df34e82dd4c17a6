//! Attaching the probe types beyond tracepoints and timers: software, hardware and breakpoint
//! perf events, raw tracepoints, kprobes, fentry/fexit, uprobes and USDT sites. Each function
//! returns the links (which own the kernel objects) or a one-line reason.

use super::{io_reason, os_error_text, perf, reason};
use crate::targets::{elf, usdt};
use libbpf_rs::{Link, ProgramMut, UprobeOpts};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::ptr::NonNull;

/// A software or hardware event on every online CPU.
pub fn perf_event(hardware: bool, config: u64, period: u64) -> Result<Vec<OwnedFd>, String> {
    let cpus = perf::online_cpus().map_err(|e| io_reason(&e))?;
    cpus.into_iter()
        .map(|cpu| {
            perf::event(hardware, config, period, cpu).map_err(|e| {
                let code = e.raw_os_error().unwrap_or(0);
                if hardware && [libc::ENOENT, libc::EOPNOTSUPP, libc::ENODEV].contains(&code) {
                    format!("this machine has no hardware performance counters ({})", io_reason(&e))
                } else {
                    io_reason(&e)
                }
            })
        })
        .collect()
}

/// The reason given when every hardware breakpoint register is taken.
pub const NO_BREAKPOINT_REGISTERS: &str = "no more hardware breakpoint registers left";

/// A watchpoint: in process `pid`'s memory, or in the kernel's on every CPU.
pub fn watchpoint(address: u64, len: u8, mode: &str, pid: Option<i32>) -> Result<Vec<OwnedFd>, String> {
    let bp_type = mode.chars().fold(0u32, |t, c| {
        t | match c {
            'r' => 1,
            'w' => 2,
            _ => 4,
        }
    });
    let err = |e: std::io::Error| {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            NO_BREAKPOINT_REGISTERS.to_string()
        } else {
            io_reason(&e)
        }
    };
    match pid {
        Some(pid) => Ok(vec![perf::breakpoint(address, len, bp_type, pid, -1).map_err(err)?]),
        None => {
            let cpus = perf::online_cpus().map_err(|e| io_reason(&e))?;
            cpus.into_iter().map(|cpu| perf::breakpoint(address, len, bp_type, -1, cpu).map_err(err)).collect()
        }
    }
}

/// Whether the kernel can create kprobes at all (the kprobe PMU or tracefs's kprobe_events).
fn kprobes_supported() -> bool {
    Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || super::tracefs::root().is_ok_and(|r| r.join("kprobe_events").exists())
}

/// A kprobe or kretprobe on `func` (in `module`, if given) at `offset`.
pub fn kprobe(prog: &ProgramMut<'_>, func: &str, module: Option<&str>, offset: u64, ret: bool) -> Result<Link, String> {
    if !kprobes_supported() {
        return Err("kprobes are not supported by this kernel".to_string());
    }
    let target = match module {
        Some(m) => format!("{m}:{func}"),
        None => func.to_string(),
    };
    let name = std::ffi::CString::new(target).map_err(|_| "invalid function name".to_string())?;
    let opts = libbpf_rs::libbpf_sys::bpf_kprobe_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_kprobe_opts>() as _,
        offset: offset as _,
        retprobe: ret,
        ..Default::default()
    };
    use libbpf_rs::AsRawLibbpf;
    // SAFETY: the program pointer is live for the call; name and opts outlive it.
    let ptr = unsafe {
        libbpf_rs::libbpf_sys::bpf_program__attach_kprobe_opts(prog.as_libbpf_object().as_ptr(), name.as_ptr(), &opts)
    };
    link_from(ptr)
}

/// Wraps a link pointer returned by libbpf, turning libbpf's error encoding into a reason.
fn link_from(ptr: *mut libbpf_rs::libbpf_sys::bpf_link) -> Result<Link, String> {
    let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL);
    // libbpf 1.x returns NULL and sets errno on failure.
    match NonNull::new(ptr) {
        // SAFETY: libbpf returned a valid link that nobody else owns.
        Some(p) => Ok(unsafe { Link::from_ptr(p) }),
        None => Err(os_error_text(code)),
    }
}

/// The file offset of virtual address `vaddr` in the ELF file at `path`.
fn file_offset(path: &str, vaddr: u64) -> Result<u64, String> {
    let bytes = elf::read(path)?;
    let parsed = elf::parse(path, &bytes)?;
    elf::vaddr_to_offset(&parsed, vaddr).ok_or_else(|| format!("address {vaddr:#x} is not in a loadable segment of {path}"))
}

/// A uprobe or uretprobe on `path`: at `symbol` + `offset`, or at virtual address `offset`.
pub fn uprobe(
    prog: &ProgramMut<'_>,
    path: &str,
    symbol: Option<&str>,
    offset: u64,
    ret: bool,
    pid: Option<i32>,
) -> Result<Link, String> {
    uprobe_with_cookie(prog, path, (symbol, offset), ret, pid, 0)
}

/// [`uprobe`] with a BPF cookie (the index of a site found at run time).
pub fn uprobe_with_cookie(
    prog: &ProgramMut<'_>,
    path: &str,
    (symbol, offset): (Option<&str>, u64),
    ret: bool,
    pid: Option<i32>,
    cookie: u64,
) -> Result<Link, String> {
    let vaddr = match symbol {
        Some(s) => {
            let funcs = elf::file_functions(path)?;
            let f = funcs.iter().find(|f| f.name == s).ok_or_else(|| format!("could not resolve symbol {s} in {path}"))?;
            f.address + offset
        }
        None => offset,
    };
    let off = file_offset(path, vaddr)?;
    let opts = UprobeOpts { retprobe: ret, cookie, ..Default::default() };
    prog.attach_uprobe_with_opts(pid.unwrap_or(-1), path, off as usize, opts).map_err(|e| reason(&e))
}

/// One uprobe_multi link (or uretprobe_multi, `ret`) attaching `prog` to the entries of every
/// function in `functions` of `path`.
pub fn uprobe_multi(prog: &ProgramMut<'_>, path: &str, functions: &[&str], ret: bool, pid: Option<i32>) -> Result<Link, String> {
    let bytes = elf::read(path)?;
    let parsed = elf::parse(path, &bytes)?;
    let all = elf::file_functions(path)?;
    let mut offsets = Vec::with_capacity(functions.len());
    for name in functions {
        let f = all.iter().find(|f| f.name == *name).ok_or_else(|| format!("could not resolve symbol {name} in {path}"))?;
        let off = elf::vaddr_to_offset(&parsed, f.address)
            .ok_or_else(|| format!("address {:#x} is not in a loadable segment of {path}", f.address))?;
        offsets.push(off as usize);
    }
    let opts = libbpf_rs::UprobeMultiOpts { offsets, retprobe: ret, ..Default::default() };
    prog.attach_uprobe_multi_with_opts(pid.unwrap_or(-1), path, "", opts).map_err(|e| reason(&e))
}

/// A USDT site to attach to.
pub struct UsdtSite<'a> {
    pub provider: &'a str,
    pub name: &'a str,
    pub address: u64,
    pub semaphore: Option<u64>,
    /// The argument specification the program's code was generated for (None: the program
    /// reads it from the spec table, at `cookie`).
    pub args: Option<&'a str>,
    /// The BPF cookie of the attachment.
    pub cookie: u64,
}

/// One USDT site, with its semaphore counted by the kernel while the uprobe exists.
pub fn usdt_site(prog: &ProgramMut<'_>, path: &str, site: &UsdtSite<'_>, pid: Option<i32>) -> Result<Link, String> {
    let UsdtSite { provider, name, address, semaphore, .. } = *site;
    // The argument code was generated for this exact site: check the binary still has it, with
    // the same argument locations.
    let notes = usdt::file_notes(path)?;
    let Some(note) = notes.iter().find(|n| n.provider == provider && n.name == name && n.address == address) else {
        return Err(format!(
            "{path} has no USDT probe {provider}:{name} at {address:#x} any more (was it rebuilt? compile the script again)"
        ));
    };
    if let Some(args) = site.args.filter(|a| *a != note.args) {
        return Err(format!(
            "the arguments of USDT probe {provider}:{name} in {path} are at '{}', not at '{args}' as when the script was compiled (was it rebuilt? compile the script again)",
            note.args
        ));
    }
    let off = file_offset(path, address)?;
    let ref_ctr_offset = match semaphore {
        Some(s) => file_offset(path, s)? as usize,
        None => 0,
    };
    let opts = UprobeOpts { ref_ctr_offset, cookie: site.cookie, ..Default::default() };
    prog.attach_uprobe_with_opts(pid.unwrap_or(-1), path, off as usize, opts).map_err(|e| reason(&e))
}
