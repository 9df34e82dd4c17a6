//! The compiler's view of the machine: tracepoint formats (tracefs), kernel BTF
//! (`/sys/kernel/btf`, or `BPFTRACE_BTF`), C headers (`-I`, `--include`, the system include
//! directories) and user binaries. The compiler itself never touches the file system.

use btc_compiler::types::btf::BtfBytes;
use btc_compiler::types::targets;
use btc_compiler::TypeSource;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Types from the running kernel and the file system.
pub struct KernelTypes {
    include_dirs: Vec<PathBuf>,
    includes: Vec<String>,
    script_dir: Option<PathBuf>,
    /// The names in each `-I` and system include directory, listed when first searched (None:
    /// it can't be listed). A header is only looked for where its first path component is:
    /// one failed file lookup less per directory and `#include` (glibc's `<sys/socket.h>`
    /// pulls in some 45 headers, and /usr/local/include is usually empty).
    dir_entries: RefCell<HashMap<PathBuf, Option<HashSet<OsString>>>>,
    /// Where the index of vmlinux's BTF is kept ([`btf_index_path`]), found once.
    index_path: OnceCell<Option<PathBuf>>,
}

/// Where `#include <...>` looks after `-I` directories, as a C compiler on Debian does.
const SYSTEM_INCLUDE_DIRS: &[&str] =
    &["/usr/local/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include"];

const BTF_DIR: &str = "/sys/kernel/btf";

impl KernelTypes {
    pub fn new(include_dirs: Vec<PathBuf>, includes: Vec<String>, script_dir: Option<PathBuf>) -> KernelTypes {
        KernelTypes {
            include_dirs,
            includes,
            script_dir,
            dir_entries: RefCell::new(HashMap::new()),
            index_path: OnceCell::new(),
        }
    }

    /// The first file named `name` in the include path, and its bytes: for quoted names the
    /// including file's directory (or the script's and the current one) first, then `-I`
    /// directories, then the system's. None when there is none, or the first one found can't
    /// be read.
    fn read_header(&self, name: &str, quoted: bool, from: Option<&str>) -> Option<(PathBuf, Vec<u8>)> {
        let path = Path::new(name);
        if path.is_absolute() {
            return read_file(path)?.map(|b| (path.to_path_buf(), b));
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if quoted {
            match from {
                Some(f) => dirs.extend(Path::new(f).parent().map(Path::to_path_buf)),
                None => {
                    dirs.extend(self.script_dir.clone());
                    dirs.push(PathBuf::from("."));
                }
            }
        }
        for d in dirs {
            let p = d.join(name);
            if let Some(found) = read_file(&p) {
                return found.map(|b| (p, b));
            }
        }
        let first = match path.components().next() {
            Some(Component::Normal(c)) => Some(c),
            _ => None,
        };
        let search = self.include_dirs.iter().cloned().chain(SYSTEM_INCLUDE_DIRS.iter().map(PathBuf::from));
        for d in search {
            if first.is_some_and(|c| !self.may_contain(&d, c)) {
                continue;
            }
            let p = d.join(name);
            if let Some(found) = read_file(&p) {
                return found.map(|b| (p, b));
            }
        }
        None
    }

    /// False when directory `dir` has no entry named `name` (true when it can't be listed).
    fn may_contain(&self, dir: &Path, name: &std::ffi::OsStr) -> bool {
        let mut cache = self.dir_entries.borrow_mut();
        let entries = cache.entry(dir.to_path_buf()).or_insert_with(|| {
            let list = match std::fs::read_dir(dir) {
                Ok(list) => list,
                // No such directory: nothing is found there.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(HashSet::new()),
                Err(_) => return None,
            };
            list.map(|e| e.map(|e| e.file_name())).collect::<Result<HashSet<_>, _>>().ok()
        });
        entries.as_ref().is_none_or(|e| e.contains(name))
    }
}

/// The include directories of the kernel's source tree, where bpftrace looks for kernel headers:
/// under `BPFTRACE_KERNEL_SOURCE` (and `BPFTRACE_KERNEL_BUILD`, for generated headers; the same
/// directory when unset), else /lib/modules/RELEASE/source and .../build (either standing in
/// for the other).
fn kernel_header_dirs() -> Vec<PathBuf> {
    let (src, obj) = match std::env::var_os("BPFTRACE_KERNEL_SOURCE") {
        Some(s) => {
            let b = std::env::var_os("BPFTRACE_KERNEL_BUILD").unwrap_or_else(|| s.clone());
            (PathBuf::from(s), PathBuf::from(b))
        }
        None => {
            let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else { return Vec::new() };
            let dir = Path::new("/lib/modules").join(release.trim());
            let (src, obj) = (dir.join("source"), dir.join("build"));
            match (src.is_dir(), obj.is_dir()) {
                (true, true) => (src, obj),
                (true, false) => (src.clone(), src),
                (false, true) => (obj.clone(), obj),
                (false, false) => return Vec::new(),
            }
        }
    };
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86" };
    [
        src.join("arch").join(arch).join("include"),
        obj.join("arch").join(arch).join("include/generated"),
        src.join("include"),
        obj.join("include"),
        src.join("arch").join(arch).join("include/uapi"),
        obj.join("arch").join(arch).join("include/generated/uapi"),
        src.join("include/uapi"),
        obj.join("include/generated/uapi"),
    ]
    .into_iter()
    .collect()
}

/// The bytes of the regular file at `path`: None when there is no such file, Some(None) when
/// there is one that can't be read.
fn read_file(path: &Path) -> Option<Option<Vec<u8>>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(_) => return path.is_file().then_some(None),
    };
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    // Read into a buffer of the file's size (plus one byte, to see the end in one read), without
    // `read_to_end`'s second look at the size.
    let mut bytes = vec![0u8; usize::try_from(meta.len()).unwrap_or(0).saturating_add(1)];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(len * 2, 0);
        }
        match file.read(&mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Some(None),
        }
    }
    bytes.truncate(len);
    Some(Some(bytes))
}

impl KernelTypes {
    /// The types for compiling with `opts`: its header options, and the script's directory for
    /// `#include "..."`.
    pub fn for_options(opts: &btc_compiler::CompileOptions) -> KernelTypes {
        let script_dir = Path::new(&opts.file_name).parent().map(Path::to_path_buf);
        KernelTypes::new(opts.include_dirs.clone(), opts.includes.clone(), script_dir)
    }
}

impl TypeSource for KernelTypes {
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        btc_runtime::symbols::kernel_symbol(name)
    }

    fn user_symbol(&self, path: &str, name: &str) -> Result<(u64, u64), String> {
        btc_runtime::symbols::user_symbol(path, name)
    }

    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        btc_runtime::symbols::cgroup_id(path)
    }

    fn kernel_build_id(&self) -> Option<String> {
        btc_runtime::symbols::kernel_build_id()
    }

    fn file_identity(&self, path: &str) -> Option<String> {
        btc_runtime::symbols::file_identity(path)
    }

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        btc_runtime::tracefs::tracepoint_format(category, name).map_err(|e| e.to_string())
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())
    }

    fn kernel_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        crate::system::kernel_functions().map(|(funcs, _)| funcs.clone())
    }

    fn kernel_functions_note(&self) -> Option<String> {
        crate::system::kernel_functions().ok().and_then(|(_, note)| note.clone())
    }

    fn btf_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        crate::system::btf_functions()
    }

    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        btc_runtime::targets::paths::resolve_binary(target, pid)
    }

    fn uprobe_multi_links(&self) -> bool {
        btc_runtime::features::features().uprobe_multi
    }

    fn binary_paths(&self, pattern: &str, pid: Option<i32>) -> Vec<String> {
        btc_runtime::targets::binaries::resolve_binary_paths(pattern, pid)
    }

    fn elf_functions(&self, path: &str) -> Result<Vec<targets::ElfFunction>, String> {
        crate::system::elf_functions(path)
    }

    fn usdt_notes(&self, path: &str) -> Result<Vec<targets::UsdtNote>, String> {
        crate::system::usdt_notes(path)
    }

    fn code_bytes(&self, path: &str, address: u64, size: u64) -> Result<Vec<u8>, String> {
        crate::system::code_bytes(path, address, size)
    }

    fn elf_symbol(&self, path: &str, name: &str) -> Result<Option<u64>, String> {
        btc_runtime::targets::elf::file_symbol(path, name)
    }

    fn process_binaries(&self, pid: i32) -> Result<Vec<String>, String> {
        btc_runtime::targets::paths::process_binaries(pid)
    }

    fn running_binaries(&self) -> Result<Vec<String>, String> {
        btc_runtime::targets::paths::running_binaries()
    }

    fn kernel_btf(&self, module: Option<&str>) -> Result<Vec<u8>, String> {
        let path = match (module, std::env::var_os("BPFTRACE_BTF")) {
            (None, Some(p)) => PathBuf::from(p),
            (None, None) => PathBuf::from(BTF_DIR).join("vmlinux"),
            (Some(m), _) => PathBuf::from(BTF_DIR).join(m),
        };
        std::fs::read(&path).map_err(|e| format!("can't read BTF from {}: {e}", path.display()))
    }

    fn kernel_btf_bytes(&self, module: Option<&str>) -> Result<BtfBytes, String> {
        // The kernel's own BTF files never change while it runs: map them instead of copying
        // 5 MB (Linux 6.16+ allows mapping vmlinux's; otherwise, and for modules, read them).
        if std::env::var_os("BPFTRACE_BTF").is_none() || module.is_some() {
            let path = PathBuf::from(BTF_DIR).join(module.unwrap_or("vmlinux"));
            if let Some(m) = Mapping::new(&path) {
                return Ok(BtfBytes::Mapped(Box::new(m)));
            }
        }
        self.kernel_btf(module).map(BtfBytes::from)
    }

    fn stored_btf_index(&self) -> Option<BtfBytes> {
        let path = self.index_path.get_or_init(btf_index_path).as_ref()?;
        // The index is only ever replaced whole (renamed over), never rewritten in place, so a
        // mapping of it can't shrink under the compiler.
        Mapping::new(path).map(|m| BtfBytes::Mapped(Box::new(m)))
    }

    fn store_btf_index(&self, index: &dyn Fn() -> Vec<u8>) {
        if let Some(path) = self.index_path.get_or_init(btf_index_path) {
            store_index(path, index);
        }
    }

    fn has_kernel_btf(&self) -> bool {
        match std::env::var_os("BPFTRACE_BTF") {
            Some(p) => Path::new(&p).is_file(),
            None => Path::new(BTF_DIR).join("vmlinux").is_file(),
        }
    }

    fn btf_modules(&self) -> Vec<String> {
        // A BTF file given by BPFTRACE_BTF stands alone.
        if std::env::var_os("BPFTRACE_BTF").is_some() {
            return Vec::new();
        }
        let Ok(dir) = std::fs::read_dir(BTF_DIR) else { return Vec::new() };
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n != "vmlinux")
            .collect();
        names.sort();
        names
    }

    fn header(&self, name: &str, quoted: bool, from: Option<&str>) -> Option<(String, String)> {
        let (path, bytes) = self.read_header(name, quoted, from)?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Some((path.display().to_string(), text))
    }

    fn kernel_header(&self, name: &str) -> bool {
        let rel = Path::new(name);
        !rel.is_absolute() && kernel_header_dirs().iter().any(|d| d.join(rel).is_file())
    }

    fn forced_includes(&self) -> Vec<Result<(String, String), String>> {
        self.includes.iter().map(|name| self.header(name, true, None).ok_or_else(|| name.clone())).collect()
    }

    fn binary(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("can't read {path}: {e}"))
    }
}

/// Where the index of the running kernel's BTF is kept between runs: in `$BTC_CACHE_DIR` (set
/// but empty: nowhere), else `$XDG_CACHE_HOME/btc`, else /var/cache/btc for root (not the home
/// directory `sudo` may have kept) and `~/.cache/btc` for others; named after the boot
/// (`/proc/sys/kernel/random/boot_id`: vmlinux's BTF can't change before the next one). None
/// when `BPFTRACE_BTF` names another BTF file, or there is no such place.
fn btf_index_path() -> Option<PathBuf> {
    if std::env::var_os("BPFTRACE_BTF").is_some() {
        return None;
    }
    let set = |name: &str| std::env::var_os(name).filter(|d| !d.is_empty()).map(PathBuf::from);
    let dir = match std::env::var_os("BTC_CACHE_DIR") {
        Some(d) if d.is_empty() => return None,
        Some(d) => PathBuf::from(d),
        None => match set("XDG_CACHE_HOME") {
            Some(d) => d.join("btc"),
            // SAFETY: geteuid has no preconditions and can't fail.
            None if unsafe { libc::geteuid() } == 0 => PathBuf::from("/var/cache/btc"),
            None => set("HOME")?.join(".cache/btc"),
        },
    };
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let boot = boot.trim();
    if boot.is_empty() || !boot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return None;
    }
    Some(dir.join(format!("{INDEX_PREFIX}{boot}{INDEX_SUFFIX}")))
}

const INDEX_PREFIX: &str = "vmlinux-";
const INDEX_SUFFIX: &str = ".btfidx";

/// Writes the index to `path` whole (a file of its own, renamed over the old one: a reader
/// sees the old index or the new one), and removes the indexes of earlier boots. The index is
/// only built once its file could be created. Failures only mean the next run tries again.
fn store_index(path: &Path, index: &dyn Fn() -> Vec<u8>) {
    use std::io::Write;
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{INDEX_PREFIX}{}.tmp", std::process::id()));
    let Ok(mut file) = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&tmp) else { return };
    let bytes = index();
    if bytes.is_empty() || file.write_all(&bytes).and_then(|()| std::fs::rename(&tmp, path)).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(INDEX_PREFIX) && name.ends_with(INDEX_SUFFIX) && e.path() != path {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A whole file mapped read-only and private, unmapped when dropped. Only for files that can't
/// shrink while mapped (sysfs BTF, the BTF index, which is replaced but never rewritten):
/// reading past the end of a truncated mapping would fault.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(path: &Path) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok().filter(|&l| l > 0)?;
        // SAFETY: a fresh private read-only mapping of an open file; checked for failure below.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
        };
        (ptr != libc::MAP_FAILED).then_some(Mapping { ptr, len })
    }
}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length; no slice of it outlives `self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::KernelTypes;
    use btc_compiler::TypeSource;
    use std::path::PathBuf;

    #[test]
    fn headers_are_found_in_order_through_directory_listings() {
        let root = std::env::temp_dir().join(format!("btc-headers-{}", std::process::id()));
        let (first, second) = (root.join("first"), root.join("second"));
        for d in [first.join("sub"), second.join("sub"), second.join("dir.h"), root.join("script")] {
            std::fs::create_dir_all(d).expect("temp dirs");
        }
        let write = |p: PathBuf, text: &str| std::fs::write(p, text).expect("temp file");
        write(first.join("sub/b.h"), "first b");
        write(second.join("a.h"), "second a");
        write(second.join("sub/b.h"), "second b");
        write(second.join("sub/c.h"), "second c");
        write(root.join("script/q.h"), "quoted q");
        write(first.join("sub/q.h"), "sub q");
        let missing = root.join("missing");
        let types = KernelTypes::new(vec![missing, first.clone(), second.clone()], Vec::new(), Some(root.join("script")));
        let text = |name: &str, quoted: bool, from: Option<&str>| types.header(name, quoted, from).map(|(_, t)| t);
        // Twice each: the second time from the directory listings.
        for _ in 0..2 {
            assert_eq!(text("a.h", false, None).as_deref(), Some("second a"));
            assert_eq!(text("sub/b.h", false, None).as_deref(), Some("first b"));
            assert_eq!(text("sub/c.h", false, None).as_deref(), Some("second c"));
            assert_eq!(text("sub/none.h", false, None), None);
            assert_eq!(text("none/none.h", false, None), None);
            // A directory is not a header.
            assert_eq!(text("dir.h", false, None), None);
            // Quoted names: the including file's directory, else the script's, first.
            assert_eq!(text("q.h", true, None).as_deref(), Some("quoted q"));
            let from = first.join("sub/b.h").display().to_string();
            assert_eq!(text("q.h", true, Some(&from)).as_deref(), Some("sub q"));
            assert_eq!(text("q.h", false, None), None);
            // Absolute paths, and the system's directories last.
            let abs = second.join("a.h").display().to_string();
            assert_eq!(text(&abs, false, None).as_deref(), Some("second a"));
            assert!(types.header("stdio.h", false, None).is_some_and(|(p, _)| p == "/usr/include/stdio.h"));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
