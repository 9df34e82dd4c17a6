//! Finding (and if needed mounting) tracefs, and reading tracepoint files from it.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where tracefs is mounted on modern systems, and where btc mounts it when it isn't.
pub const TRACEFS: &str = "/sys/kernel/tracing";
/// Where tracefs shows up (auto-mounted) when debugfs is mounted.
pub const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Why tracefs or a file in it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TracefsError {
    #[error("tracefs is not mounted at {TRACEFS} and mounting it failed: {errno}{hint}")]
    Mount { errno: String, hint: &'static str },
    #[error("tracefs is mounted at {0} but has no events directory (kernel built without CONFIG_EVENT_TRACING?)")]
    NoEvents(String),
    #[error("tracepoint not found: {category}:{name}")]
    TracepointNotFound { category: String, name: String },
    #[error("failed to read {path}: {reason}")]
    Read { path: String, reason: String },
}

/// The tracefs root found (or mounted) by the first successful [`root`] call.
static ROOT: Mutex<Option<PathBuf>> = Mutex::new(None);

fn has_events(root: &Path) -> bool {
    root.join("events").is_dir()
}

/// Returns the tracefs root, mounting tracefs at `/sys/kernel/tracing` when it is not mounted
/// (this needs root).
pub fn root() -> Result<PathBuf, TracefsError> {
    let mut cached = ROOT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(root) = cached.as_ref().filter(|r| has_events(r)) {
        return Ok(root.clone());
    }
    let root = find_or_mount()?;
    *cached = Some(root.clone());
    Ok(root)
}

fn find_or_mount() -> Result<PathBuf, TracefsError> {
    for candidate in [TRACEFS, DEBUGFS_TRACING] {
        let p = Path::new(candidate);
        if has_events(p) {
            return Ok(p.to_path_buf());
        }
    }
    mount_tracefs()?;
    let p = Path::new(TRACEFS);
    if has_events(p) {
        Ok(p.to_path_buf())
    } else {
        Err(TracefsError::NoEvents(TRACEFS.to_string()))
    }
}

fn mount_tracefs() -> Result<(), TracefsError> {
    let fail = |err: io::Error| {
        let code = err.raw_os_error().unwrap_or(0);
        let hint = match code {
            libc::EPERM | libc::EACCES => " (are you root?)",
            libc::ENODEV => " (kernel built without CONFIG_TRACING?)",
            libc::ENOENT => " (no such mount point)",
            _ => "",
        };
        TracefsError::Mount { errno: errno_name(code), hint }
    };
    let target = CString::new(TRACEFS).map_err(|_| fail(io::Error::from_raw_os_error(libc::EINVAL)))?;
    let fstype = c"tracefs";
    // SAFETY: all pointers are valid NUL-terminated strings (or NULL for data).
    let rc = unsafe { libc::mount(fstype.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        // Somebody else may have mounted it in the meantime.
        if err.raw_os_error() == Some(libc::EBUSY) && has_events(Path::new(TRACEFS)) {
            return Ok(());
        }
        return Err(fail(err));
    }
    Ok(())
}

/// The symbolic name of an errno value (`EPERM`), or its description when unknown.
pub fn errno_name(code: i32) -> String {
    let name = match code {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EINVAL => "EINVAL",
        libc::EROFS => "EROFS",
        libc::ENOMEM => "ENOMEM",
        libc::ENOSYS => "ENOSYS",
        _ => return crate::kernel::os_error_text(code),
    };
    name.to_string()
}

/// A tracepoint category or name is a single path component.
fn valid_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

/// Reads `events/CATEGORY/NAME/FILE` under the tracefs root.
pub fn read_event_file(category: &str, name: &str, file: &str) -> Result<String, TracefsError> {
    let not_found =
        || TracefsError::TracepointNotFound { category: category.to_string(), name: name.to_string() };
    if !valid_component(category) || !valid_component(name) {
        return Err(not_found());
    }
    let path = root()?.join("events").join(category).join(name).join(file);
    std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            not_found()
        } else {
            TracefsError::Read {
                path: path.display().to_string(),
                reason: e.raw_os_error().map_or_else(|| e.to_string(), crate::kernel::os_error_text),
            }
        }
    })
}

/// The text of `events/CATEGORY/NAME/format`.
pub fn tracepoint_format(category: &str, name: &str) -> Result<String, TracefsError> {
    read_event_file(category, name, "format")
}

/// Every tracepoint as (category, name), sorted: the directories `events/CATEGORY/NAME`.
pub fn tracepoints() -> Result<Vec<(String, String)>, TracefsError> {
    let events = root()?.join("events");
    let read_err = |path: &Path, e: io::Error| TracefsError::Read {
        path: path.display().to_string(),
        reason: e.raw_os_error().map_or_else(|| e.to_string(), crate::kernel::os_error_text),
    };
    let mut all = Vec::new();
    for category in subdirs(&events).map_err(|e| read_err(&events, e))? {
        let dir = events.join(&category);
        // A category can vanish (module unload) between the two reads; skip it then.
        let Ok(names) = subdirs(&dir) else { continue };
        all.extend(names.into_iter().map(|name| (category.clone(), name)));
    }
    all.sort();
    Ok(all)
}

/// The names of the subdirectories of `dir` (skipping names that aren't UTF-8).
fn subdirs(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// Every tracepoint as (category, name), sorted, from `available_events` (one read, fast enough
/// for listing every tracepoint).
pub fn available_events() -> Result<Vec<(String, String)>, TracefsError> {
    let path = root()?.join("available_events");
    let text = std::fs::read_to_string(&path).map_err(|e| TracefsError::Read {
        path: path.display().to_string(),
        reason: e.raw_os_error().map_or_else(|| e.to_string(), crate::kernel::os_error_text),
    })?;
    let mut all: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(c, n)| (c.to_string(), n.to_string()))
        .collect();
    all.sort();
    Ok(all)
}

/// The id of a tracepoint (`events/CATEGORY/NAME/id`), used to open it as a perf event.
pub fn tracepoint_id(category: &str, name: &str) -> Result<u64, TracefsError> {
    let text = read_event_file(category, name, "id")?;
    text.trim().parse().map_err(|_| TracefsError::Read {
        path: format!("events/{category}/{name}/id"),
        reason: format!("not a number: {:?}", text.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_one_clear_line() {
        let e = TracefsError::Mount { errno: errno_name(libc::EPERM), hint: " (are you root?)" };
        assert_eq!(
            e.to_string(),
            "tracefs is not mounted at /sys/kernel/tracing and mounting it failed: EPERM (are you root?)"
        );
        let e = TracefsError::TracepointNotFound { category: "syscalls".into(), name: "sys_enter_foo".into() };
        assert_eq!(e.to_string(), "tracepoint not found: syscalls:sys_enter_foo");
    }

    #[test]
    fn path_components_are_checked() {
        assert!(valid_component("sched"));
        assert!(!valid_component(".."));
        assert!(!valid_component("a/b"));
        assert!(!valid_component(""));
        // Rejected before touching the file system.
        assert!(matches!(
            read_event_file("..", "x", "format"),
            Err(TracefsError::TracepointNotFound { .. })
        ));
    }
}
