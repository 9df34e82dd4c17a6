//! Symbolization with blazesym: kernel addresses through kallsyms (or BPFTRACE_VMLINUX), user
//! addresses through the process's memory map and the ELF files it maps; and cgroup paths.
//!
//! User symbols follow BPFTRACE_CACHE_USER_SYMBOLS:
//! - `PER_PID`: the memory map of each process is read once and kept, so a process that exits
//!   after its map was read (at attach time for `-p`/`-c`, or at its first lookup) still
//!   resolves;
//! - `PER_PROGRAM`: one memory map per executable, the first process's (exact without ASLR);
//! - `NONE`: the memory map and the ELF files are read for every lookup.
//!
//! A process whose memory map is unknown and can no longer be read (it exited) resolves to its
//! raw addresses, as bpftrace prints them.

use crate::kernel::debugfile::{self, DebugFile};
use crate::resolve::{Sym, Symbolize};
use blazesym::symbolize::source::{Elf, Kernel, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use blazesym::MaybeDefault;
use btc_bpfprog::UserSymbolCache;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One file-backed mapping of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub path: PathBuf,
}

/// Parses `/proc/PID/maps`, keeping the mappings of files.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (range, _perms, offset, _dev, _inode) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            let path = f.collect::<Vec<_>>().join(" ");
            if !path.starts_with('/') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
                path: PathBuf::from(path.trim_end_matches(" (deleted)")),
            })
        })
        .collect()
}

/// How to symbolize, from the settings.
#[derive(Debug, Clone)]
pub struct SymbolOptions {
    pub demangle: bool,
    pub cache: UserSymbolCache,
    /// BPFTRACE_VMLINUX: kernel symbols from this file (kallsyms otherwise).
    pub vmlinux: Option<PathBuf>,
}

/// blazesym-backed [`Symbolize`].
pub struct Symbols {
    opts: SymbolOptions,
    symbolizer: Symbolizer,
    per_pid: HashMap<u32, Rc<Vec<Mapping>>>,
    per_program: HashMap<PathBuf, Rc<Vec<Mapping>>>,
    /// The separate debug file of each stripped file looked at (None: it has none).
    debug_files: HashMap<PathBuf, Option<DebugFile>>,
    /// /etc/passwd, once read (for `username`).
    passwd: Option<String>,
}

fn read_maps(pid: u32) -> Option<Vec<Mapping>> {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).ok().map(|t| parse_maps(&t))
}

impl Symbols {
    pub fn new(opts: SymbolOptions) -> Symbols {
        let symbolizer = Symbolizer::builder().enable_demangling(opts.demangle).enable_code_info(false).build();
        Symbols {
            opts,
            symbolizer,
            per_pid: HashMap::new(),
            per_program: HashMap::new(),
            debug_files: HashMap::new(),
            passwd: None,
        }
    }

    /// Reads and keeps the memory map of `pid` now (for `-p` and `-c`), unless caching is off.
    pub fn preload(&mut self, pid: u32) {
        let _ = self.mappings(pid);
    }

    fn mappings(&mut self, pid: u32) -> Option<Rc<Vec<Mapping>>> {
        match self.opts.cache {
            UserSymbolCache::None => read_maps(pid).map(Rc::new),
            UserSymbolCache::PerPid => {
                if let Some(m) = self.per_pid.get(&pid) {
                    return Some(Rc::clone(m));
                }
                let m = Rc::new(read_maps(pid)?);
                self.per_pid.insert(pid, Rc::clone(&m));
                Some(m)
            }
            UserSymbolCache::PerProgram => {
                // Processes are told apart by executable; a cached PID saves the readlink.
                if let Some(m) = self.per_pid.get(&pid) {
                    return Some(Rc::clone(m));
                }
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
                let m = match self.per_program.get(&exe) {
                    Some(m) => Rc::clone(m),
                    None => {
                        let m = Rc::new(read_maps(pid)?);
                        self.per_program.insert(exe, Rc::clone(&m));
                        m
                    }
                };
                self.per_pid.insert(pid, Rc::clone(&m));
                Some(m)
            }
        }
    }

    fn elf_symbol(&mut self, path: &Path, file_offset: u64) -> Option<Sym> {
        let fresh;
        let symbolizer = if self.opts.cache == UserSymbolCache::None {
            fresh = Symbolizer::builder().enable_demangling(self.opts.demangle).enable_code_info(false).build();
            &fresh
        } else {
            &self.symbolizer
        };
        let sym = |s: Symbolized| match s {
            Symbolized::Sym(s) => {
                Some(Sym { name: s.name.into_owned(), offset: s.offset as u64, module: Some(path.display().to_string()) })
            }
            Symbolized::Unknown(_) => None,
        };
        let src = Source::Elf(Elf::new(path));
        if let Some(s) = sym(symbolizer.symbolize_single(&src, Input::FileOffset(file_offset)).ok()?) {
            return Some(s);
        }
        // A stripped file (libc): its static functions are in its separate debug file.
        let debug = match self.debug_files.get(path) {
            Some(d) if self.opts.cache != UserSymbolCache::None => d.clone(),
            _ => {
                let d = debugfile::find(path);
                self.debug_files.insert(path.to_path_buf(), d.clone());
                d
            }
        }?;
        let vaddr = debug.vaddr(file_offset)?;
        let src = Source::Elf(Elf::new(&debug.path));
        sym(symbolizer.symbolize_single(&src, Input::VirtOffset(vaddr)).ok()?)
    }
}

impl Symbolize for Symbols {
    fn kernel(&mut self, addr: u64) -> Option<Sym> {
        let kernel = Kernel {
            vmlinux: match &self.opts.vmlinux {
                Some(p) => MaybeDefault::Some(p.clone()),
                None => MaybeDefault::None,
            },
            kallsyms: if self.opts.vmlinux.is_some() { MaybeDefault::None } else { MaybeDefault::Default },
            debug_syms: false,
            ..Kernel::default()
        };
        match self.symbolizer.symbolize_single(&Source::Kernel(kernel), Input::AbsAddr(addr)).ok()? {
            Symbolized::Sym(s) => Some(Sym { name: s.name.into_owned(), offset: s.offset as u64, module: None }),
            Symbolized::Unknown(_) => None,
        }
    }

    fn user(&mut self, pid: u32, addr: u64) -> Option<Sym> {
        let maps = self.mappings(pid)?;
        let m = maps.iter().find(|m| (m.start..m.end).contains(&addr))?;
        let file_offset = addr - m.start + m.offset;
        // The file as the process sees it (it may live in another mount namespace).
        let in_root = PathBuf::from(format!("/proc/{pid}/root{}", m.path.display()));
        let path = if m.path.exists() { m.path.clone() } else { in_root };
        let mut sym = self.elf_symbol(&path, file_offset)?;
        sym.module = Some(m.path.display().to_string());
        Some(sym)
    }

    fn cgroup_path(&mut self, id: u64, filter: Option<&str>) -> String {
        cgroup_paths(id, filter)
    }

    /// bpftrace's rule: with one symbol cache per program, a process that is gone resolves
    /// through the symbol table of its probe's binary, at the address as it is (right for
    /// binaries loaded where they are linked: not position-independent, or without ASLR).
    fn user_in_file(&mut self, path: &str, addr: u64) -> Option<Sym> {
        if self.opts.cache != UserSymbolCache::PerProgram {
            return None;
        }
        let src = Source::Elf(Elf::new(path));
        match self.symbolizer.symbolize_single(&src, Input::VirtOffset(addr)).ok()? {
            // The address must be inside the symbol (or at the start of one without a size):
            // addresses of other files (libc) are not near symbols of this one.
            Symbolized::Sym(s) if s.offset == 0 || s.size.is_some_and(|n| s.offset < n) => {
                Some(Sym { name: s.name.into_owned(), offset: s.offset as u64, module: Some(path.to_string()) })
            }
            _ => None,
        }
    }

    fn username(&mut self, uid: u32) -> String {
        // Read once per run, as bpftrace reads /etc/passwd (it does for every lookup).
        let text = self.passwd.get_or_insert_with(|| match std::fs::read_to_string(PASSWD) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("ERROR: {}: {PASSWD}", crate::kernel::io_reason(&e));
                String::new()
            }
        });
        crate::resolve::passwd_name(text, uid).unwrap_or_default().to_string()
    }
}

/// The user database `username` reads.
const PASSWD: &str = "/etc/passwd";

/// The address of kernel symbol `name`, from /proc/kallsyms (`kaddr`).
pub fn kernel_symbol(name: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/kallsyms").map_err(|e| format!("can't read /proc/kallsyms: {e}"))?;
    text.lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (addr, _kind, sym) = (f.next()?, f.next()?, f.next()?);
            (sym == name).then(|| u64::from_str_radix(addr, 16).ok()).flatten()
        })
        .filter(|&a| a != 0)
        .ok_or_else(|| format!("kernel symbol not found: {name} (or addresses are hidden: are you root?)"))
}

/// The address and size of symbol `name` in the ELF file `path` (`uaddr`).
pub fn user_symbol(path: &str, name: &str) -> Result<(u64, u64), String> {
    use blazesym::inspect::{source::Elf as InspectElf, source::Source as InspectSource, Inspector};
    let src = InspectSource::Elf(InspectElf::new(path));
    let inspector = Inspector::new();
    let found = inspector.lookup(&src, &[name]).map_err(|e| format!("can't read {path}: {e}"))?;
    let result = found
        .into_iter()
        .flatten()
        .next()
        .map(|s| (s.addr, s.size.map_or(8, |n| n as u64)))
        .ok_or_else(|| format!("symbol {name} not found in {path}"));
    result
}

/// The cgroup v2 id of the cgroup directory `path` (`cgroupid`): its inode number.
pub fn cgroup_id(path: &str) -> Result<u64, String> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.ino()).map_err(|e| format!("cgroup not found: {path}: {}", crate::kernel::io_reason(&e)))
}

/// The cgroup hierarchies as (name, mount point), as bpftrace names them: `unified` for cgroup
/// v2 (first), the mount directory's name for v1 ones (sorted).
fn cgroup_mounts() -> Vec<(String, PathBuf)> {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut v2 = Vec::new();
    let mut v1 = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            [_, dir, "cgroup2", ..] => v2.push(("unified".to_string(), PathBuf::from(dir))),
            [_, dir, "cgroup", ..] => {
                let dir = PathBuf::from(dir);
                let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                v1.push((name, dir));
            }
            _ => {}
        }
    }
    v1.sort();
    v2.extend(v1);
    v2
}

/// Matches `name` against a pattern where `*` stands for any text.
fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head) && (0..=name.len() - head.len()).any(|i| wildcard(tail, &name[head.len() + i..]))
        }
    }
}

/// Searches every cgroup hierarchy for the cgroup with inode `id`; returns `name:path` for each
/// hierarchy that has it, joined by commas (as bpftrace prints `cgroup_path`).
pub fn cgroup_paths(id: u64, filter: Option<&str>) -> String {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for (name, root) in cgroup_mounts() {
        if filter.is_some_and(|f| !wildcard(f, &name)) {
            continue;
        }
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else { continue };
            if meta.ino() == id {
                let rel = dir.strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_default();
                found.push(format!("{name}:/{rel}"));
                break;
            }
            if let Ok(entries) = std::fs::read_dir(&dir) {
                stack.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
            }
        }
    }
    found.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_mappings_only() {
        let text = "55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1843399                    /usr/bin/ls\n\
                    55d0c0a02000-55d0c0a17000 r-xp 00002000 08:01 1843399  /usr/bin/ls\n\
                    7ffd1c9e1000-7ffd1ca02000 rw-p 00000000 00:00 0                          [stack]\n\
                    7f0000000000-7f0000001000 r-xp 00001000 08:01 12 /tmp/a b (deleted)\n";
        let m = parse_maps(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1], Mapping { start: 0x55d0c0a02000, end: 0x55d0c0a17000, offset: 0x2000, path: "/usr/bin/ls".into() });
        assert_eq!(m[2].path, PathBuf::from("/tmp/a b"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("uni*", "unified"));
        assert!(wildcard("*", "cpu,cpuacct"));
        assert!(wildcard("*cpu*", "cpu,cpuacct"));
        assert!(!wildcard("mem*", "unified"));
    }

    #[test]
    fn own_cgroup_is_found() {
        use std::os::unix::fs::MetadataExt;
        let Some((_, root)) = cgroup_mounts().into_iter().find(|(n, _)| n == "unified") else {
            panic!("this test needs a cgroup2 mount");
        };
        let id = std::fs::metadata(&root).map(|m| m.ino()).unwrap_or(0);
        // The root of the hierarchy, once per cgroup2 mount of it (a machine may mount it twice).
        let mounts = cgroup_mounts().iter().filter(|(n, r)| {
            n == "unified" && std::fs::metadata(r).is_ok_and(|m| m.ino() == id)
        }).count();
        assert_eq!(cgroup_paths(id, Some("unified")), vec!["unified:/"; mounts].join(","));
        assert_eq!(cgroup_paths(id, Some("nothing")), "");
    }
}
