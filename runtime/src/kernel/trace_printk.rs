//! `debugf()` writes with bpf_trace_printk to the kernel's trace buffer, which users read at
//! `/sys/kernel/debug/tracing/trace_pipe` (or `trace`). When debugfs isn't mounted there, btc
//! mounts it for an object that calls the helper, so that path works as on a usual system.

use std::path::Path;

/// The helper number of bpf_trace_printk.
pub const TRACE_PRINTK: i32 = 6;

/// Where debugfs is mounted, and where tracefs shows up inside it.
const DEBUGFS: &str = "/sys/kernel/debug";
const DEBUGFS_TRACE: &str = "/sys/kernel/debug/tracing/trace";

/// Whether any program of the BPF ELF object calls helper `id`: a `call` instruction (opcode
/// 0x85) whose source register is 0 (a helper, not a BPF-to-BPF call) and whose immediate is
/// `id`, in an executable section.
pub fn calls_helper(object: &[u8], id: i32) -> bool {
    let Ok(elf) = goblin::elf::Elf::parse(object) else { return false };
    elf.section_headers
        .iter()
        .filter(|s| s.sh_flags & u64::from(goblin::elf::section_header::SHF_EXECINSTR) != 0)
        .filter_map(|s| {
            let start = usize::try_from(s.sh_offset).ok()?;
            let end = start.checked_add(usize::try_from(s.sh_size).ok()?)?;
            object.get(start..end)
        })
        .any(|code| {
            code.chunks_exact(8).any(|insn| {
                insn[0] == 0x85 && insn[1] >> 4 == 0 && i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]) == id
            })
        })
}

/// Whether the program `prog` (a function symbol of the object) calls helper `id`, as
/// [`calls_helper`] looks for calls, within the symbol's bytes only.
pub fn program_calls_helper(object: &[u8], prog: &str, id: i32) -> bool {
    let Ok(elf) = goblin::elf::Elf::parse(object) else { return true };
    let Some(sym) = elf.syms.iter().find(|s| elf.strtab.get_at(s.st_name) == Some(prog)) else { return true };
    let Some(sh) = elf.section_headers.get(sym.st_shndx) else { return true };
    let start = sh.sh_offset.checked_add(sym.st_value).and_then(|s| usize::try_from(s).ok());
    let len = usize::try_from(sym.st_size).ok();
    let Some(code) = start.zip(len).and_then(|(s, l)| object.get(s..s.checked_add(l)?)) else { return true };
    code.chunks_exact(8)
        .any(|insn| insn[0] == 0x85 && insn[1] >> 4 == 0 && i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]) == id)
}

/// Mounts debugfs at `/sys/kernel/debug` when its tracing directory isn't there (best effort:
/// the output can always be read under tracefs too).
pub fn ensure_debugfs_tracing() {
    if Path::new(DEBUGFS_TRACE).exists() || !Path::new(DEBUGFS).is_dir() {
        return;
    }
    let fstype = c"debugfs";
    let target = c"/sys/kernel/debug";
    // SAFETY: all pointers are valid NUL-terminated strings (or NULL for data).
    unsafe { libc::mount(fstype.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, std::ptr::null()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 relocatable object with one executable section holding `code`.
    fn object(code: &[u8]) -> Vec<u8> {
        use goblin::elf::section_header::{SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS, SHT_STRTAB};
        let shstrtab = b"\0.text\0.shstrtab\0";
        let mut out = vec![0u8; 64];
        let code_off = out.len();
        out.extend_from_slice(code);
        let str_off = out.len();
        out.extend_from_slice(shstrtab);
        while out.len() % 8 != 0 {
            out.push(0);
        }
        let sh_off = out.len();
        let section = |name: u32, ty: u32, flags: u64, off: usize, size: usize| {
            let mut s = Vec::new();
            s.extend_from_slice(&name.to_le_bytes());
            s.extend_from_slice(&ty.to_le_bytes());
            s.extend_from_slice(&flags.to_le_bytes());
            s.extend_from_slice(&0u64.to_le_bytes());
            s.extend_from_slice(&(off as u64).to_le_bytes());
            s.extend_from_slice(&(size as u64).to_le_bytes());
            s.extend_from_slice(&[0u8; 8]);
            s.extend_from_slice(&1u64.to_le_bytes());
            s.extend_from_slice(&0u64.to_le_bytes());
            s
        };
        out.extend(vec![0u8; 64]);
        out.extend(section(1, SHT_PROGBITS, u64::from(SHF_ALLOC | SHF_EXECINSTR), code_off, code.len()));
        out.extend(section(7, SHT_STRTAB, 0, str_off, shstrtab.len()));
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // 64-bit
        out[5] = 1; // little-endian
        out[6] = 1; // version
        out[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
        out[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[40..48].copy_from_slice(&(sh_off as u64).to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        out[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
        out[60..62].copy_from_slice(&3u16.to_le_bytes()); // shnum
        out[62..64].copy_from_slice(&2u16.to_le_bytes()); // shstrndx
        out
    }

    #[test]
    fn finds_helper_calls_only() {
        let exit = [0x95, 0, 0, 0, 0, 0, 0, 0];
        let printk = [0x85, 0, 0, 0, 6, 0, 0, 0];
        // A BPF-to-BPF call (source register 1) with immediate 6 is not a helper call.
        let subprog = [0x85, 0x10, 0, 0, 6, 0, 0, 0];
        let mov6 = [0xb7, 0, 0, 0, 6, 0, 0, 0];
        assert!(calls_helper(&object(&[printk, exit].concat()), TRACE_PRINTK));
        assert!(!calls_helper(&object(&[subprog, mov6, exit].concat()), TRACE_PRINTK));
        assert!(!calls_helper(b"not an ELF file", TRACE_PRINTK));
    }
}
