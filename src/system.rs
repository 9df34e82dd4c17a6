//! The system, as the compiler's `TypeSource` needs it: traceable kernel functions, function
//! symbols and USDT notes of binaries, converted from the runtime's readers.

use btc_compiler::types::targets::{ElfFunction, KernelFunction, UsdtNote};
use btc_runtime::targets::{elf, kfuncs, usdt};

fn kernel(f: kfuncs::KernelFunction) -> KernelFunction {
    KernelFunction { module: f.module, name: f.name }
}

/// The kernel functions kprobes may attach to, by the runtime's rule (the one `btc list` uses:
/// available_filter_functions, else the functions of /proc/kallsyms), read once per process,
/// and why they don't come from available_filter_functions. An error when there are none.
pub fn kernel_functions() -> Result<&'static (Vec<KernelFunction>, Option<String>), String> {
    static FUNCS: std::sync::OnceLock<(Vec<KernelFunction>, Option<String>)> = std::sync::OnceLock::new();
    let found = FUNCS.get_or_init(|| {
        let (funcs, note) = kfuncs::traceable_or_kallsyms();
        (funcs.into_iter().map(kernel).collect(), note)
    });
    match found {
        (funcs, Some(note)) if funcs.is_empty() => Err(note.clone()),
        found => Ok(found),
    }
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
