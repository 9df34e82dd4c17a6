//! The system, as the compiler's `TypeSource` needs it: traceable kernel functions, function
//! symbols and USDT notes of binaries, converted from the runtime's readers.

use btc_compiler::types::targets::{ElfFunction, KernelFunction, UsdtNote};
use btc_runtime::targets::{elf, kfuncs, usdt};

fn kernel(f: kfuncs::KernelFunction) -> KernelFunction {
    KernelFunction { module: f.module, name: f.name }
}

pub fn kernel_functions() -> Result<Vec<KernelFunction>, String> {
    Ok(kfuncs::traceable()?.into_iter().map(kernel).collect())
}

pub fn btf_functions() -> Result<Vec<KernelFunction>, String> {
    Ok(kfuncs::btf_functions()?.into_iter().map(kernel).collect())
}

pub fn elf_functions(path: &str) -> Result<Vec<ElfFunction>, String> {
    Ok(elf::file_functions(path)?
        .into_iter()
        .map(|f| ElfFunction { name: f.name, demangled: f.demangled, address: f.address, size: f.size })
        .collect())
}

pub fn usdt_notes(path: &str) -> Result<Vec<UsdtNote>, String> {
    Ok(usdt::file_notes(path)?
        .into_iter()
        .map(|n| UsdtNote { provider: n.provider, name: n.name, address: n.address, semaphore: n.semaphore, args: n.args })
        .collect())
}

pub fn code_bytes(path: &str, address: u64, size: u64) -> Result<Vec<u8>, String> {
    let bytes = elf::read(path)?;
    let parsed = elf::parse(path, &bytes)?;
    let start = elf::vaddr_to_offset(&parsed, address)
        .ok_or_else(|| format!("address {address:#x} is not in a loadable segment of {path}"))? as usize;
    let end = start.saturating_add(size as usize).min(bytes.len());
    Ok(bytes.get(start..end).unwrap_or_default().to_vec())
}

/// Types, symbols and binaries of the running system.
pub struct KernelTypes;

impl btc_compiler::TypeSource for KernelTypes {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        btc_runtime::tracefs::tracepoint_format(category, name).map_err(|e| e.to_string())
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        btc_runtime::tracefs::tracepoints().map_err(|e| e.to_string())
    }
    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, String> {
        kernel_functions()
    }
    fn btf_functions(&self) -> Result<Vec<KernelFunction>, String> {
        btf_functions()
    }
    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        btc_runtime::targets::paths::resolve_binary(target, pid)
    }
    fn elf_functions(&self, path: &str) -> Result<Vec<ElfFunction>, String> {
        elf_functions(path)
    }
    fn usdt_notes(&self, path: &str) -> Result<Vec<UsdtNote>, String> {
        usdt_notes(path)
    }
    fn code_bytes(&self, path: &str, address: u64, size: u64) -> Result<Vec<u8>, String> {
        code_bytes(path, address, size)
    }
    fn elf_symbol(&self, path: &str, name: &str) -> Result<Option<u64>, String> {
        btc_runtime::targets::elf::file_symbol(path, name)
    }
    fn process_binaries(&self, pid: i32) -> Result<Vec<String>, String> {
        btc_runtime::targets::paths::process_binaries(pid)
    }
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        btc_runtime::symbols::kernel_symbol(name)
    }
    fn user_symbol(&self, path: &str, name: &str) -> Result<(u64, u64), String> {
        btc_runtime::symbols::user_symbol(path, name)
    }
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        btc_runtime::symbols::cgroup_id(path)
    }
}
