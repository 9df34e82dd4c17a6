//! Processes: the `-c` child (started stopped after execve with ptrace, resumed once every probe
//! is attached), watching the `-p` target, `system()` and `cat()`, and the clocks.

use crate::output::Host;
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// The real host: `/bin/sh -c`, the file system, the wall clock.
pub struct RealHost;

impl Host for RealHost {
    fn system(&self, cmd: &str) -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| format!("failed to run '{cmd}': {}", crate::kernel::io_reason(&e)))?;
        Ok(out.stdout)
    }

    fn cat(&self, path: &str, max: u64) -> Result<Vec<u8>, String> {
        use std::io::Read;
        let f = std::fs::File::open(path).map_err(|e| crate::kernel::io_reason(&e))?;
        let mut data = Vec::new();
        f.take(max).read_to_end(&mut data).map_err(|e| crate::kernel::io_reason(&e))?;
        Ok(data)
    }

    fn now_ns(&self) -> i128 {
        clock_ns(libc::CLOCK_REALTIME)
    }
}

/// A clock's time in nanoseconds.
pub fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// CLOCK_TAI minus CLOCK_BOOTTIME: added to an `nsecs` value, gives the TAI time
/// (`nsecs(sw_tai)`).
pub fn tai_offset_ns() -> i128 {
    clock_ns(libc::CLOCK_TAI) - clock_ns(libc::CLOCK_BOOTTIME)
}

/// CLOCK_REALTIME minus CLOCK_BOOTTIME: added to an `nsecs` value, gives the wall time.
pub fn boot_to_wall_ns() -> i128 {
    clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_BOOTTIME)
}

/// Splits a `-c` command line into words as bpftrace 0.20 does: at every single space, with no
/// quoting or escapes (`a  b` has an empty word between `a` and `b`; `'x'` keeps its quotes).
/// Scripts that need a shell run one: `-c "sh script.sh"`.
pub fn split_command(cmd: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = cmd.split(' ').map(str::to_string).collect();
    // A space at the very end ends the last word rather than starting an empty one.
    if words.last().is_some_and(String::is_empty) {
        words.pop();
    }
    match words.first() {
        None => return Err("the command is empty".to_string()),
        Some(w) if w.is_empty() => return Err("the command starts with a space: its program name is empty".to_string()),
        Some(_) => {}
    }
    Ok(words)
}

/// Finds `name` in PATH (names with a `/` are taken as they are).
pub(crate) fn resolve_binary(name: &str) -> Result<String, String> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| {
            let c = CString::new(p.as_str()).unwrap_or_default();
            // SAFETY: c is NUL-terminated.
            unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
        })
        .ok_or_else(|| format!("command not found: {name}"))
}

/// The `-c` child process.
pub struct Child {
    pid: libc::pid_t,
    /// Still stopped under ptrace (not resumed yet).
    traced: bool,
    exited: bool,
}

impl Child {
    /// Forks and execs `cmd`, stopping the child right after execve (PTRACE_TRACEME), so probes
    /// on its binary can be attached before it runs a single instruction of its own.
    pub fn spawn_stopped(cmd: &str) -> Result<Child, String> {
        let words = split_command(cmd)?;
        let path = resolve_binary(&words[0])?;
        let cpath = CString::new(path.clone()).map_err(|_| "the command contains a NUL byte".to_string())?;
        let cargs: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_str()))
            .collect::<Result<_, _>>()
            .map_err(|_| "the command contains a NUL byte".to_string())?;
        let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: the child only calls async-signal-safe functions (ptrace, execv, _exit)
        // before exec; everything it uses was allocated before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("failed to fork: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above.
            unsafe {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::execv(cpath.as_ptr(), argv.as_ptr());
                libc::_exit(127);
            }
        }
        let mut status = 0;
        // SAFETY: pid is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc != pid || !libc::WIFSTOPPED(status) {
            return Err(format!("failed to execute {path}"));
        }
        Ok(Child { pid, traced: true, exited: false })
    }

    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child run (detaches ptrace).
    pub fn resume(&mut self) -> Result<(), String> {
        if self.traced {
            // SAFETY: the child is stopped under our ptrace.
            let rc = unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid, 0, 0) };
            if rc != 0 {
                return Err(format!("failed to resume the child: {}", io::Error::last_os_error()));
            }
            self.traced = false;
        }
        Ok(())
    }

    /// Whether the child has ended (it is reaped then).
    pub fn has_exited(&mut self) -> bool {
        if self.exited {
            return true;
        }
        let mut status = 0;
        // SAFETY: pid is our child.
        let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if rc == self.pid && (libc::WIFEXITED(status) || libc::WIFSIGNALED(status)) || rc < 0 {
            self.exited = true;
        }
        self.exited
    }

    /// Ends the child if it still runs: SIGTERM (SIGKILL if it never ran), then reaps it.
    pub fn terminate(&mut self) {
        if self.has_exited() {
            return;
        }
        let sig = if self.traced { libc::SIGKILL } else { libc::SIGTERM };
        // SAFETY: pid is our child, not yet reaped.
        unsafe { libc::kill(self.pid, sig) };
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.has_exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Watches a process that isn't ours (`-p PID`) for its end, with a pidfd.
pub struct PidWatch {
    fd: OwnedFd,
}

impl PidWatch {
    pub fn new(pid: u32) -> Result<PidWatch, String> {
        let pid_t = libc::pid_t::try_from(pid).map_err(|_| format!("invalid pid {pid}"))?;
        // SAFETY: pidfd_open takes a pid and flags.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid_t, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ESRCH) => format!("no process with pid {pid}"),
                _ => format!("can't watch pid {pid}: {}", crate::kernel::io_reason(&e)),
            });
        }
        let fd = i32::try_from(fd).map_err(|_| "bad pidfd".to_string())?;
        // SAFETY: the kernel just returned this descriptor.
        Ok(PidWatch { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Whether the process has ended.
    pub fn has_exited(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut p = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, 0) };
        rc > 0 && p.revents != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words() {
        assert_eq!(split_command("sleep 5"), Ok(vec!["sleep".to_string(), "5".to_string()]));
        assert_eq!(
            split_command("echo 'a'  b\\ c "),
            Ok(vec!["echo".into(), "'a'".into(), "".into(), "b\\".into(), "c".into()])
        );
        assert_eq!(split_command("printf a\tb"), Ok(vec!["printf".into(), "a\tb".into()]));
        assert!(split_command("").is_err());
        assert!(split_command(" x").is_err());
    }

    #[test]
    fn child_starts_stopped_and_runs_when_resumed() {
        let mut c = Child::spawn_stopped("/bin/true").expect("spawn");
        std::thread::sleep(Duration::from_millis(50));
        assert!(!c.has_exited(), "a stopped child must not run");
        c.resume().expect("resume");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !c.has_exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(c.has_exited());
        assert!(Child::spawn_stopped("no-such-command-xyz").is_err());
    }

    #[test]
    fn pid_watch_sees_the_end() {
        let mut p = std::process::Command::new("sleep").arg("0.2").spawn().expect("sleep");
        let w = PidWatch::new(p.id()).expect("watch");
        assert!(!w.has_exited());
        let _ = p.wait();
        assert!(w.has_exited());
        assert!(PidWatch::new(0x3fff_fff0).is_err());
    }
}
