//! Function symbols of ELF files (symtab and dynsym), C++ demangling, and the conversion of
//! virtual addresses to file offsets (what uprobes attach to).

use goblin::elf::{program_header::PT_LOAD, sym, Elf};

/// A function symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The name as stored (mangled for C++).
    pub name: String,
    /// The demangled name of a C++ symbol.
    pub demangled: Option<String>,
    pub address: u64,
    pub size: u64,
}

/// Reads a file, with a one-line error naming it.
pub fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let reason = e.raw_os_error().map_or_else(|| e.to_string(), crate::kernel::os_error_text);
        format!("can't read {path}: {reason}")
    })
}

/// Parses `bytes` as an ELF file.
pub fn parse<'a>(path: &str, bytes: &'a [u8]) -> Result<Elf<'a>, String> {
    Elf::parse(bytes).map_err(|e| format!("{path} is not an ELF file: {e}"))
}

/// Demangles a C++ (Itanium ABI) symbol name.
pub fn demangle(name: &str) -> Option<String> {
    if !name.starts_with("_Z") {
        return None;
    }
    let sym = cpp_demangle::Symbol::new(name).ok()?;
    sym.demangle().ok()
}

/// The defined function symbols (STT_FUNC and STT_GNU_IFUNC) of an ELF file, sorted by name,
/// each name once (symtab first, then dynsym).
pub fn functions(elf: &Elf<'_>) -> Vec<Function> {
    let mut out: Vec<Function> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
    for (syms, strs) in tables {
        for s in syms.iter() {
            let t = s.st_type();
            if (t != sym::STT_FUNC && t != sym::STT_GNU_IFUNC) || s.st_value == 0 || s.st_shndx == 0 {
                continue;
            }
            let Some(name) = strs.get_at(s.st_name) else { continue };
            if name.is_empty() || !seen.insert(name.to_string()) {
                continue;
            }
            out.push(Function {
                name: name.to_string(),
                demangled: demangle(name),
                address: s.st_value,
                size: s.st_size,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The function symbols of the ELF file at `path`. A stripped file's separate debug file
/// (libc6-dbg's for libc) adds the functions only its symbol table has (`_int_malloc`), as
/// bpftrace lists them; their addresses are the same virtual addresses.
pub fn file_functions(path: &str) -> Result<Vec<Function>, String> {
    let bytes = read(path)?;
    let elf = parse(path, &bytes)?;
    let mut funcs = functions(&elf);
    if elf.syms.len() <= 1 {
        if let Some(debug) = crate::kernel::debugfile::find_for(std::path::Path::new(path), &elf, &bytes) {
            let dpath = debug.path.display().to_string();
            if let Ok(dbytes) = read(&dpath) {
                if let Ok(delf) = parse(&dpath, &dbytes) {
                    let known: std::collections::HashSet<String> = funcs.iter().map(|f| f.name.clone()).collect();
                    funcs.extend(functions(&delf).into_iter().filter(|f| !known.contains(&f.name)));
                    funcs.sort_by(|a, b| a.name.cmp(&b.name));
                }
            }
        }
    }
    Ok(funcs)
}

/// The address of the defined symbol `name` (of any type) of the ELF file at `path`.
pub fn file_symbol(path: &str, name: &str) -> Result<Option<u64>, String> {
    let bytes = read(path)?;
    let elf = parse(path, &bytes)?;
    let tables = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)];
    for (syms, strs) in tables {
        for s in syms.iter() {
            if s.st_shndx != 0 && strs.get_at(s.st_name) == Some(name) {
                return Ok(Some(s.st_value));
            }
        }
    }
    Ok(None)
}

/// The file offset of virtual address `vaddr`, through the loadable segment that contains it.
pub fn vaddr_to_offset(elf: &Elf<'_>, vaddr: u64) -> Option<u64> {
    elf.program_headers
        .iter()
        .filter(|ph| ph.p_type == PT_LOAD)
        .find(|ph| ph.p_vaddr <= vaddr && vaddr < ph.p_vaddr.saturating_add(ph.p_memsz))
        .map(|ph| vaddr - ph.p_vaddr + ph.p_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_cpp_names() {
        assert_eq!(demangle("_ZN2ns3fooEi").as_deref(), Some("ns::foo(int)"));
        assert_eq!(demangle("main"), None);
    }

    #[test]
    fn reads_own_binary() {
        let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
        let funcs = file_functions(&exe).unwrap_or_default();
        assert!(funcs.iter().any(|f| f.name == "main"), "no main in {exe}");
        let bytes = read(&exe).unwrap_or_default();
        let elf = parse(&exe, &bytes);
        assert!(elf.is_ok());
        if let (Ok(elf), Some(main)) = (elf, funcs.iter().find(|f| f.name == "main")) {
            assert!(vaddr_to_offset(&elf, main.address).is_some());
        }
    }
}
