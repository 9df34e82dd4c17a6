//! The compiler's view of the machine: tracepoint formats (tracefs), kernel BTF
//! (`/sys/kernel/btf`, or `BPFTRACE_BTF`), C headers (`-I`, `--include`, the system include
//! directories) and user binaries. The compiler itself never touches the file system.

use btc_compiler::types::btf::BtfBytes;
use btc_compiler::types::targets;
use btc_compiler::TypeSource;
use std::path::{Path, PathBuf};

/// Types from the running kernel and the file system.
pub struct KernelTypes {
    include_dirs: Vec<PathBuf>,
    includes: Vec<String>,
    script_dir: Option<PathBuf>,
}

/// Where `#include <...>` looks after `-I` directories, as a C compiler on Debian does.
const SYSTEM_INCLUDE_DIRS: &[&str] =
    &["/usr/local/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include"];

const BTF_DIR: &str = "/sys/kernel/btf";

impl KernelTypes {
    pub fn new(include_dirs: Vec<PathBuf>, includes: Vec<String>, script_dir: Option<PathBuf>) -> KernelTypes {
        KernelTypes { include_dirs, includes, script_dir }
    }

    fn find_header(&self, name: &str, quoted: bool, from: Option<&str>) -> Option<PathBuf> {
        let path = Path::new(name);
        if path.is_absolute() {
            return path.is_file().then(|| path.to_path_buf());
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
        dirs.extend(self.include_dirs.iter().cloned());
        dirs.extend(SYSTEM_INCLUDE_DIRS.iter().map(PathBuf::from));
        dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
    }
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

    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        btc_runtime::tracefs::tracepoint_format(category, name).map_err(|e| e.to_string())
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())
    }

    fn kernel_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        crate::system::kernel_functions()
    }

    fn btf_functions(&self) -> Result<Vec<targets::KernelFunction>, String> {
        crate::system::btf_functions()
    }

    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        btc_runtime::targets::paths::resolve_binary(target, pid)
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
        let path = self.find_header(name, quoted, from)?;
        let bytes = std::fs::read(&path).ok()?;
        Some((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn forced_includes(&self) -> Vec<Result<(String, String), String>> {
        self.includes.iter().map(|name| self.header(name, true, None).ok_or_else(|| name.clone())).collect()
    }

    fn binary(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| format!("can't read {path}: {e}"))
    }
}

/// A whole file mapped read-only and private, unmapped when dropped. Only for files that can't
/// shrink while mapped (sysfs BTF): reading past the end of a truncated mapping would fault.
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
