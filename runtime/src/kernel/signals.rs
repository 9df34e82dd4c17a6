//! SIGINT/SIGTERM handling: the first signal asks tracing to stop, a second one exits at once.
//! A signal that comes within [`SAME_REQUEST_MS`] of the first is the same request delivered
//! twice (GNU timeout signals the process, then its process group), not a second one.
//! SIGUSR1 asks for every map to be printed while tracing goes on (bpftrace's rule).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

/// Signals this close to the first one (in milliseconds) repeat its request.
const SAME_REQUEST_MS: i64 = 100;

static STOP: AtomicBool = AtomicBool::new(false);
/// When the first stop signal arrived (CLOCK_MONOTONIC, milliseconds).
static STOP_AT_MS: AtomicI64 = AtomicI64::new(0);
/// SIGUSR1 arrived and the maps haven't been printed since.
static PRINT_MAPS: AtomicBool = AtomicBool::new(false);
/// The `-c` child, terminated when a second signal makes us leave at once.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Records the `-c` child's PID (0: none) for [`on_signal`].
pub fn set_child(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
}

/// CLOCK_MONOTONIC in milliseconds (clock_gettime is async-signal-safe).
fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec.saturating_mul(1000).saturating_add(ts.tv_nsec / 1_000_000)
}

extern "C" fn on_signal(_sig: libc::c_int) {
    let now = monotonic_ms();
    if !STOP.swap(true, Ordering::SeqCst) {
        STOP_AT_MS.store(now, Ordering::SeqCst);
        return;
    }
    if now.saturating_sub(STOP_AT_MS.load(Ordering::SeqCst)) >= SAME_REQUEST_MS {
        let child = CHILD.load(Ordering::SeqCst);
        if child > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(child, libc::SIGTERM) };
        }
        // Second signal: leave now. Every BPF object, link and perf event of ours is held by a
        // file descriptor, so the kernel releases them when the process exits.
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) };
    }
}

extern "C" fn on_usr1(_sig: libc::c_int) {
    PRINT_MAPS.store(true, Ordering::SeqCst);
}

/// The installed handlers; the previous ones are restored on drop.
pub struct SignalGuard {
    old: Vec<(libc::c_int, libc::sigaction)>,
}

/// Installs the handlers and clears any earlier stop request.
pub fn install() -> io::Result<SignalGuard> {
    STOP.store(false, Ordering::SeqCst);
    PRINT_MAPS.store(false, Ordering::SeqCst);
    let mut guard = SignalGuard { old: Vec::new() };
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 3] =
        [(libc::SIGINT, on_signal), (libc::SIGTERM, on_signal), (libc::SIGUSR1, on_usr1)];
    for (sig, handler) in handlers {
        // SAFETY: sigaction structs are plain data; zeroed is a valid "no flags, empty mask" value.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = handler as libc::sighandler_t;
        // No SA_RESTART: a blocking poll should return EINTR so the stop is noticed at once.
        act.sa_flags = 0;
        // SAFETY: as above.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call.
        let rc = unsafe {
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, &mut old)
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        guard.old.push((sig, old));
    }
    Ok(guard)
}

/// Whether SIGINT or SIGTERM arrived since [`install`].
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Whether SIGUSR1 arrived since the last call (or since [`install`]); clears the request.
pub fn take_print_maps_request() -> bool {
    PRINT_MAPS.swap(false, Ordering::SeqCst)
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (sig, old) in &self.old {
            // SAFETY: restores a sigaction previously returned by the kernel.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
    }
}
