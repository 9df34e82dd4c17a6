//! bpftrace's rules for the files a uprobe or usdt target stands for, in the spelling bpftrace
//! keeps: a target with a `/` is taken as written (`./testprogs/uprobe_test` stays relative), a
//! bare name is also looked for on $PATH, a `*` is expanded with glob(3), and only ELF programs
//! and shared objects are kept. With a PID whose process lives in another mount namespace, the
//! paths go through `/proc/PID/root` and $PATH is the process's own.
//!
//! Listing (`-l`) prints these paths as they come out, so `uprobe:./x:fn` lists as `./x`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Whether `s` holds a wildcard as bpftrace sees one: `*`, or a `[...]` class.
pub fn has_wildcard(s: &str) -> bool {
    s.contains('*') || (s.contains('[') && s.contains(']'))
}

/// The paths glob(3) finds for `pattern` (sorted, as glob returns them); none when nothing
/// matches or the pattern can't be passed to C.
pub fn glob_paths(pattern: &str) -> Vec<String> {
    let Ok(c) = std::ffi::CString::new(pattern) else { return Vec::new() };
    // SAFETY: glob_t is plain data and all zeroes is its initial state.
    let mut g: libc::glob_t = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `g` a valid glob_t, released by globfree below.
    let rc = unsafe { libc::glob(c.as_ptr(), 0, None, &mut g) };
    let mut out = Vec::new();
    if rc == 0 {
        for i in 0..g.gl_pathc {
            // SAFETY: after a successful glob, gl_pathv holds gl_pathc valid C strings.
            let p = unsafe { std::ffi::CStr::from_ptr(*g.gl_pathv.add(i)) };
            out.push(p.to_string_lossy().into_owned());
        }
    }
    // SAFETY: `g` was initialised by glob (or is still zeroed, which globfree accepts).
    unsafe { libc::globfree(&mut g) };
    out
}

/// The ELF file type (`e_type`) of the file at `path`; None when it isn't a readable ELF file.
fn elf_type(path: &str) -> Option<u16> {
    use std::io::Read;
    let mut head = [0u8; 18];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).ok()?;
    head.starts_with(b"\x7fELF").then(|| u16::from_le_bytes([head[16], head[17]]))
}

/// An ELF file of any type that the caller may execute (bcc's `bcc_elf_is_exe`).
pub fn is_elf_executable(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else { return false };
    // SAFETY: `c` is a valid C string.
    elf_type(path).is_some_and(|t| t != 0) && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

/// An ELF shared object (`ET_DYN`: libraries and position-independent programs), executable or
/// not (bcc's `bcc_elf_is_shared_obj`).
pub fn is_elf_shared_object(path: &str) -> bool {
    elf_type(path) == Some(3)
}

/// Whether process `pid` lives in another mount namespace than this one.
pub fn in_other_mount_namespace(pid: i32) -> bool {
    let ino = |p: &str| std::fs::metadata(p).map(|m| m.ino()).ok();
    match (ino("/proc/self/ns/mnt"), ino(&format!("/proc/{pid}/ns/mnt"))) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

/// `path` as seen from process `pid`'s root: `/proc/PID/root` + `path` (unchanged when it
/// already starts so).
pub fn path_for_pid_mountns(pid: i32, path: &str) -> String {
    let root = format!("/proc/{pid}/root");
    if path.starts_with(&root) {
        return path.to_string();
    }
    let sep = if path.starts_with('/') { "" } else { "/" };
    format!("{root}{sep}{path}")
}

/// The program process `pid` runs (the target of /proc/PID/exe), None when there is none.
pub fn pid_exe(pid: i32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok().map(|p| p.display().to_string())
}

/// The $PATH of process `pid`, from its environment.
fn pid_path_variable(pid: i32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"PATH="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// The programs and libraries a uprobe/usdt target `cmd` stands for, in bpftrace's spelling:
/// `cmd` itself, then (for a name without `/`) each $PATH directory joined with it; a `*`
/// expands them with glob(3); with `pid` in another mount namespace each path is taken under
/// `/proc/PID/root` (and $PATH is the process's). Only ELF programs the user may execute and
/// ELF shared objects remain, in that order.
pub fn resolve_binary_paths(cmd: &str, pid: Option<i32>) -> Vec<String> {
    let other_ns = pid.filter(|&p| p > 0 && in_other_mount_namespace(p));
    let path_var = match other_ns {
        Some(p) => pid_path_variable(p),
        None => std::env::var("PATH").ok(),
    };
    let mut candidates = vec![cmd.to_string()];
    if !cmd.contains('/') {
        for dir in path_var.iter().flat_map(|v| v.split(':')).filter(|d| !d.is_empty()) {
            candidates.push(format!("{dir}/{cmd}"));
        }
    }
    if cmd.contains('*') {
        candidates = candidates.iter().flat_map(|c| glob_paths(c)).collect();
    }
    candidates
        .into_iter()
        .map(|c| match other_ns {
            Some(p) => path_for_pid_mountns(p, &c),
            None => c,
        })
        .filter(|c| is_elf_executable(c) || is_elf_shared_object(c))
        .collect()
}

/// The library `lib<NAME>` stands for (bcc's `bcc_procutils_which_so`: `name` is what follows
/// `lib`): the one process `pid` has mapped, else the first ld.so.cache entry for
/// `lib<NAME>.so`.
pub fn which_so(name: &str, pid: Option<i32>) -> Option<String> {
    if name.contains('/') {
        return Some(name.to_string());
    }
    if let Some(pid) = pid {
        if let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) {
            let want = [format!("/lib{name}."), format!("/lib{name}-")];
            let found = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| {
                want.iter().any(|w| p.contains(w.as_str())) && p.contains(".so")
            });
            if let Some(p) = found {
                return Some(path_for_pid_mountns(pid, p));
            }
        }
    }
    super::paths::find_library(&format!("lib{name}"))
}

/// Every file process `pid` maps, its program first (a deleted one left out), each once, as
/// the process names them (bpftrace's `get_mapped_paths_for_pid`).
pub fn mapped_paths(pid: i32) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(exe) = pid_exe(pid).filter(|e| !e.contains("(deleted)")) {
        out.push(exe);
    }
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else { return out };
    let mut seen = std::collections::HashSet::new();
    for path in maps_paths(&maps) {
        if seen.insert(path) {
            out.push(path.to_string());
        }
    }
    out
}

/// The file paths of a /proc/PID/maps text (everything after the inode that starts with `/`),
/// deleted files left out.
fn maps_paths(maps: &str) -> Vec<&str> {
    maps.lines()
        .filter_map(|line| {
            // address perms offset dev inode path (the path may contain spaces)
            let mut rest = line;
            for _ in 0..5 {
                rest = rest.trim_start().split_once(char::is_whitespace)?.1;
            }
            let path = rest.trim();
            (path.starts_with('/') && !path.contains("(deleted)")).then_some(path)
        })
        .collect()
}

/// Every file some running process maps, each once and sorted.
pub fn mapped_paths_of_all_processes() -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            out.extend(mapped_paths(pid));
        }
    }
    out.into_iter().collect()
}

/// The absolute, canonical form of `path` (None when it doesn't exist); paths under
/// `/proc/PID/root/` are kept as they are, since another mount namespace can't be
/// canonicalised from here.
pub fn abs_path(path: &str) -> Option<String> {
    let under_proc_root = path.strip_prefix("/proc/").and_then(|r| r.split_once('/')).is_some_and(|(pid, rest)| {
        !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with("root/")
    });
    if under_proc_root {
        return Some(path.to_string());
    }
    std::fs::canonicalize(Path::new(path)).ok().map(|p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_bpftrace_sees_them() {
        assert!(has_wildcard("uprobe*"));
        assert!(has_wildcard("sys_[a-c]"));
        assert!(!has_wildcard("sys_[a"));
        assert!(!has_wildcard("./prog"));
    }

    #[test]
    fn paths_under_a_process_root() {
        assert_eq!(path_for_pid_mountns(7, "/usr/bin/x"), "/proc/7/root/usr/bin/x");
        assert_eq!(path_for_pid_mountns(7, "rel/x"), "/proc/7/root/rel/x");
        assert_eq!(path_for_pid_mountns(7, "/proc/7/root/x"), "/proc/7/root/x");
        assert_eq!(abs_path("/proc/12/root/a/b").as_deref(), Some("/proc/12/root/a/b"));
        assert_eq!(abs_path("/nonexistent/btc/x"), None);
    }

    #[test]
    fn maps_paths_keep_spaces_and_skip_pseudo_files() {
        let maps = "\
55d0a0000000-55d0a0001000 r--p 00000000 08:01 12   /usr/bin/my app
7f0000000000-7f0000001000 r-xp 00000000 08:01 13 /usr/lib/libc.so.6
7f0000002000-7f0000003000 rw-p 00000000 00:00 0
7f0000004000-7f0000005000 r-xp 00000000 08:01 14 /tmp/gone (deleted)
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(maps_paths(maps), ["/usr/bin/my app", "/usr/lib/libc.so.6"]);
    }

    #[test]
    fn relative_targets_stay_relative() {
        let dir = std::env::temp_dir().join(format!("btc-binaries-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
        let copy = dir.join("prog_one");
        std::fs::copy(&exe, &copy).unwrap_or_default();
        std::fs::write(dir.join("prog_two.txt"), "not elf").unwrap_or_default();
        let pattern = format!("{}/prog_*", dir.display());
        assert_eq!(resolve_binary_paths(&pattern, None), [copy.display().to_string()]);
        assert_eq!(resolve_binary_paths(&copy.display().to_string(), None), [copy.display().to_string()]);
        assert!(resolve_binary_paths(&format!("{}/none*", dir.display()), None).is_empty());
        // A bare name is found on $PATH (sh is on every test machine's PATH).
        assert!(resolve_binary_paths("sh", None).iter().any(|p| p.ends_with("/sh")));
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }

    #[test]
    fn own_process_maps_its_program_first() {
        let me = i32::try_from(std::process::id()).unwrap_or(0);
        let paths = mapped_paths(me);
        assert_eq!(paths.first(), pid_exe(me).as_ref());
        assert!(!in_other_mount_namespace(me));
    }
}
