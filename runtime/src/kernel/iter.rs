//! BPF iterators: attach, then either read the iterator to the end (its output is what the
//! program printed with bpf_seq_printf) or pin it to bpffs so that reading the pinned file
//! runs it (`iter:task:/sys/fs/bpf/tasks`).

use super::{os_error_text, reason};
use libbpf_rs::{Iter, IterOpts, ProgramMut};
use std::ffi::CString;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where bpffs is mounted (and mounted by btc when it isn't).
pub const BPFFS: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// What running an iterator produced.
pub enum IterOutcome {
    /// The bytes read from the iterator.
    Output(Vec<u8>),
    /// The iterator was pinned at this path.
    Pinned(PathBuf),
}

/// The absolute pin path: relative paths are under /sys/fs/bpf.
pub fn pin_path(pin: &str) -> PathBuf {
    let p = Path::new(pin);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        Path::new(BPFFS).join(p)
    }
}

fn is_bpffs(path: &str) -> bool {
    let Ok(c) = CString::new(path) else { return false };
    // SAFETY: `c` is a valid NUL-terminated path; `st` is written by the kernel.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type as i64 == BPF_FS_MAGIC
}

/// Mounts bpffs at /sys/fs/bpf unless it is mounted there.
fn ensure_bpffs() -> Result<(), String> {
    if is_bpffs(BPFFS) {
        return Ok(());
    }
    let target = CString::new(BPFFS).map_err(|_| "bad path".to_string())?;
    let fstype = c"bpf";
    // SAFETY: all pointers are valid NUL-terminated strings (or NULL for data).
    let rc = unsafe { libc::mount(fstype.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(format!("bpffs is not mounted at {BPFFS} and mounting it failed: {}", os_error_text(code)));
    }
    Ok(())
}

/// Attaches the iterator program and reads it, or pins it.
pub fn run(prog: &ProgramMut<'_>, pin: Option<&str>) -> Result<IterOutcome, String> {
    let mut link = prog.attach_iter_with_opts(IterOpts::None).map_err(|e| reason(&e))?;
    if let Some(pin) = pin {
        let path = pin_path(pin);
        if path.starts_with(BPFFS) {
            ensure_bpffs()?;
        }
        link.pin(&path).map_err(|e| format!("failed to pin to {}: {}", path.display(), reason(&e)))?;
        return Ok(IterOutcome::Pinned(path));
    }
    let mut it = Iter::new(&link).map_err(|e| reason(&e))?;
    let mut out = Vec::new();
    it.read_to_end(&mut out).map_err(|e| e.raw_os_error().map_or_else(|| e.to_string(), os_error_text))?;
    Ok(IterOutcome::Output(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_pins_are_under_bpffs() {
        assert_eq!(pin_path("list"), PathBuf::from("/sys/fs/bpf/list"));
        assert_eq!(pin_path("/sys/fs/bpf/files"), PathBuf::from("/sys/fs/bpf/files"));
    }
}
