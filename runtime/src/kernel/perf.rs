//! perf_event_open for software clock events and tracepoints, and the list of online CPUs.

use libbpf_rs::libbpf_sys;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

fn perf_event_open(attr: &libbpf_sys::perf_event_attr, cpu: i32) -> io::Result<OwnedFd> {
    perf_event_open_pid(attr, -1, cpu)
}

fn perf_event_open_pid(attr: &libbpf_sys::perf_event_attr, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a valid, fully initialised perf_event_attr whose `size` field is set.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr as *const libbpf_sys::perf_event_attr,
            pid as libc::pid_t,
            cpu,
            -1 as libc::c_int,
            libc::c_ulong::from(libbpf_sys::PERF_FLAG_FD_CLOEXEC),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn attr_size() -> u32 {
    std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32
}

/// A software cpu-clock event on `cpu`, sampling every `period_ns` nanoseconds, for all processes.
pub fn cpu_clock(period_ns: u64, cpu: i32) -> io::Result<OwnedFd> {
    let mut attr = libbpf_sys::perf_event_attr {
        type_: libbpf_sys::PERF_TYPE_SOFTWARE,
        size: attr_size(),
        config: u64::from(libbpf_sys::PERF_COUNT_SW_CPU_CLOCK),
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = period_ns;
    perf_event_open(&attr, cpu)
}

/// A software (`PERF_TYPE_SOFTWARE`) or hardware (`PERF_TYPE_HARDWARE`) event on `cpu`,
/// firing every `period` events, for all processes.
pub fn event(hardware: bool, config: u64, period: u64, cpu: i32) -> io::Result<OwnedFd> {
    let mut attr = libbpf_sys::perf_event_attr {
        type_: if hardware { libbpf_sys::PERF_TYPE_HARDWARE } else { libbpf_sys::PERF_TYPE_SOFTWARE },
        size: attr_size(),
        config,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = period.max(1);
    perf_event_open(&attr, cpu)
}

/// A hardware breakpoint on `len` bytes at `address` (`bp_type`: 1 read, 2 write, 3 both, 4
/// execute), in process `pid` (any CPU) or, with `pid` -1, in the kernel on `cpu`.
pub fn breakpoint(address: u64, len: u8, bp_type: u32, pid: i32, cpu: i32) -> io::Result<OwnedFd> {
    let mut attr = libbpf_sys::perf_event_attr {
        type_: libbpf_sys::PERF_TYPE_BREAKPOINT,
        size: attr_size(),
        bp_type,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = 1;
    attr.__bindgen_anon_3.bp_addr = address;
    attr.__bindgen_anon_4.bp_len = u64::from(len);
    perf_event_open_pid(&attr, pid, cpu)
}

/// A tracepoint event (as libbpf opens it: CPU 0 only, which still runs an attached BPF
/// program on every CPU).
pub fn tracepoint(id: u64) -> io::Result<OwnedFd> {
    let attr = libbpf_sys::perf_event_attr {
        type_: libbpf_sys::PERF_TYPE_TRACEPOINT,
        size: attr_size(),
        config: id,
        ..Default::default()
    };
    perf_event_open(&attr, 0)
}

/// The online CPUs, from `/sys/devices/system/cpu/online`.
pub fn online_cpus() -> io::Result<Vec<i32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    parse_cpu_list(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad CPU list {:?}", text.trim())))
}

/// Parses a kernel CPU list such as `0-3,5,7-8`.
pub fn parse_cpu_list(text: &str) -> Option<Vec<i32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list("3-1"), None);
    }
}
