//! Finding the file a uprobe or usdt target names: a path, a program on $PATH, or a library
//! name looked up in /etc/ld.so.cache (`libc` finds `libc.so.6`), as bpftrace does; and the
//! files a process has mapped.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const LD_SO_CACHE: &str = "/etc/ld.so.cache";
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
/// ld.so.cache flags of x86-64 libc6 libraries (FLAG_ELF_LIBC6 | FLAG_X8664_LIB64).
const X86_64_LIBC6: i32 = 0x0303;

/// The (soname, path) entries of an ld.so.cache in the "new" format (glibc 2.32 and later; older
/// caches carry it after the old-format table).
pub fn parse_ld_cache(bytes: &[u8]) -> Vec<(String, String)> {
    let Some(start) = bytes.windows(NEW_MAGIC.len()).position(|w| w == NEW_MAGIC) else { return Vec::new() };
    let u32_at = |o: usize| bytes.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    let Some(nlibs) = u32_at(start + 20) else { return Vec::new() };
    let cstr = |off: u32| -> Option<String> {
        // String offsets are relative to the start of the new-format header.
        let o = start.checked_add(off as usize)?;
        let rest = bytes.get(o..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let entries = start + 48;
    let mut out = Vec::new();
    for i in 0..nlibs as usize {
        let e = entries + i * 24;
        let (Some(flags), Some(key), Some(value)) = (u32_at(e), u32_at(e + 4), u32_at(e + 8)) else { break };
        if flags as i32 & X86_64_LIBC6 != X86_64_LIBC6 && flags as i32 & 0xff != 0x03 {
            continue;
        }
        if let (Some(k), Some(v)) = (cstr(key), cstr(value)) {
            out.push((k, v));
        }
    }
    out
}

/// The library a name such as `libc`, `c` or `libssl.so.3` stands for, from ld.so.cache.
pub fn find_library(name: &str) -> Option<String> {
    let bytes = std::fs::read(LD_SO_CACHE).ok()?;
    library_in(&parse_ld_cache(&bytes), name)
}

/// `lib` is added unless present, `.so` unless the name has it; the first cache entry whose
/// soname starts with the result wins (bcc's rule).
pub fn library_in(entries: &[(String, String)], name: &str) -> Option<String> {
    let mut soname = if name.starts_with("lib") { name.to_string() } else { format!("lib{name}") };
    if !soname.contains(".so") {
        soname.push_str(".so");
    }
    entries.iter().find(|(k, _)| k.starts_with(&soname)).map(|(_, v)| v.clone())
}

fn is_file(p: &Path) -> bool {
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false) || p.is_file()
}

/// Resolves a uprobe/usdt target: a path (relative to the current directory or, with a PID, to
/// the process's root), a program on $PATH, or a library in ld.so.cache.
pub fn resolve_binary(target: &str, pid: Option<i32>) -> Result<String, String> {
    if target.contains('/') {
        let p = Path::new(target);
        if let Some(pid) = pid.filter(|_| p.is_absolute()) {
            let in_root = format!("/proc/{pid}/root{target}");
            if Path::new(&in_root).is_file() && !p.is_file() {
                return Ok(in_root);
            }
        }
        if p.is_file() {
            let abs = std::fs::canonicalize(p).map(|a| a.display().to_string()).unwrap_or_else(|_| target.to_string());
            return Ok(if p.is_absolute() { target.to_string() } else { abs });
        }
        return Err(format!("could not find binary {target}: no such file"));
    }
    if let Some(pid) = pid {
        if let Ok(paths) = process_binaries(pid) {
            let want = if target.starts_with("lib") { target.to_string() } else { format!("lib{target}") };
            if let Some(p) = paths.iter().find(|p| {
                Path::new(p).file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with(&format!("{want}.so")) || f == target)
            }) {
                return Ok(p.clone());
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(target);
            if is_file(&candidate) {
                return Ok(candidate.display().to_string());
            }
        }
    }
    find_library(target).ok_or_else(|| {
        format!("could not find binary or library '{target}' (not a path, not on $PATH, not in {LD_SO_CACHE})")
    })
}

/// The files mapped executable by process `pid` (from /proc/PID/maps), each once, as paths
/// through /proc/PID/root so they resolve in the process's mount namespace.
pub fn process_binaries(pid: i32) -> Result<Vec<String>, String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| format!("can't read the mappings of process {pid}: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    for path in executable_mappings(&maps) {
        let p = format!("/proc/{pid}/root{path}");
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The files mapped executable by any running process, each once and sorted (for `usdt:*:...`
/// without -p: bpftrace then looks at every process). Processes that exit meanwhile, or whose
/// mappings can't be read, are skipped.
pub fn running_binaries() -> Result<Vec<String>, String> {
    let dir = std::fs::read_dir("/proc").map_err(|e| format!("can't list the processes in /proc: {e}"))?;
    let mut out = std::collections::BTreeSet::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else { continue };
        out.extend(executable_mappings(&maps).into_iter().map(str::to_string));
    }
    Ok(out.into_iter().collect())
}

/// The paths of the executable file mappings in the text of a /proc/PID/maps file.
fn executable_mappings(maps: &str) -> Vec<&str> {
    maps.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (perms, path) = (fields.get(1)?, fields.get(5)?);
            (perms.contains('x') && path.starts_with('/')).then_some(*path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_mappings_are_the_x_file_mappings() {
        let maps = "\
55d0a0000000-55d0a0001000 r--p 00000000 08:01 12 /usr/bin/app
55d0a0001000-55d0a0002000 r-xp 00001000 08:01 12 /usr/bin/app
7f0000000000-7f0000001000 r-xp 00000000 08:01 13 /usr/lib/libc.so.6
7f0000002000-7f0000003000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(executable_mappings(maps), ["/usr/bin/app", "/usr/lib/libc.so.6"]);
        let mine = running_binaries().unwrap_or_default();
        assert!(!mine.is_empty(), "the test process itself maps executable files");
    }

    #[test]
    fn library_names_follow_bcc() {
        let entries = vec![
            ("libcap.so.2".to_string(), "/lib/libcap.so.2".to_string()),
            ("libc.so.6".to_string(), "/lib/libc.so.6".to_string()),
        ];
        assert_eq!(library_in(&entries, "libc").as_deref(), Some("/lib/libc.so.6"));
        assert_eq!(library_in(&entries, "c").as_deref(), Some("/lib/libc.so.6"));
        assert_eq!(library_in(&entries, "cap").as_deref(), Some("/lib/libcap.so.2"));
        assert_eq!(library_in(&entries, "nope"), None);
    }

    #[test]
    fn reads_the_system_cache() {
        // Debian's cache always has libc.
        let found = find_library("libc");
        assert!(found.as_deref().is_some_and(|p| p.contains("libc.so")), "{found:?}");
    }
}
