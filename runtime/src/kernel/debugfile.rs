//! Separate debug files of stripped ELF files, for user symbols their own symbol tables lack
//! (static functions of a stripped libc such as `__libc_start_call_main`). bpftrace finds
//! them as gdb does: by build ID under `/usr/lib/debug/.build-id/`, or by the
//! `.gnu_debuglink` name next to the file, in its `.debug/` directory or under
//! `/usr/lib/debug`.

use goblin::elf::{program_header::PT_LOAD, Elf};
use std::path::{Path, PathBuf};

const DEBUG_DIRS: [&str; 2] = ["/usr/lib/debug", "/lib/debug"];

/// Where a stripped file's debug symbols are, and how to turn its file offsets into the
/// virtual addresses the debug file's symbols use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugFile {
    pub path: PathBuf,
    /// (file offset, size in the file, virtual address) of each loadable segment.
    loads: Vec<(u64, u64, u64)>,
}

impl DebugFile {
    /// The virtual address of `file_offset` in the original file.
    pub fn vaddr(&self, file_offset: u64) -> Option<u64> {
        self.loads
            .iter()
            .find(|&&(off, size, _)| (off..off.saturating_add(size)).contains(&file_offset))
            .map(|&(off, _, vaddr)| vaddr + (file_offset - off))
    }
}

/// The debug file of `path`, if it has no symbol table of its own and a debug file exists.
pub fn find(path: &Path) -> Option<DebugFile> {
    let bytes = std::fs::read(path).ok()?;
    let elf = Elf::parse(&bytes).ok()?;
    find_for(path, &elf, &bytes)
}

/// [`find`] for a file already read and parsed.
pub fn find_for(path: &Path, elf: &Elf<'_>, bytes: &[u8]) -> Option<DebugFile> {
    if elf.syms.len() > 1 {
        return None;
    }
    let loads = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .map(|p| (p.p_offset, p.p_filesz, p.p_vaddr))
        .collect();
    let candidates = candidates(path, build_id(elf, bytes).as_deref(), debuglink(elf, bytes).as_deref());
    let found = candidates.into_iter().find(|c| c.is_file() && c.as_path() != path)?;
    Some(DebugFile { path: found, loads })
}

/// The files to try, in gdb's order.
fn candidates(path: &Path, build_id: Option<&[u8]>, link: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(id) = build_id.filter(|id| id.len() > 1) {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        for d in DEBUG_DIRS {
            out.push(PathBuf::from(format!("{d}/.build-id/{}/{}.debug", &hex[..2], &hex[2..])));
        }
    }
    if let (Some(link), Some(dir)) = (link, path.parent()) {
        out.push(dir.join(link));
        out.push(dir.join(".debug").join(link));
        for d in DEBUG_DIRS {
            out.push(Path::new(d).join(dir.strip_prefix("/").unwrap_or(dir)).join(link));
        }
    }
    out
}

fn section<'a>(elf: &Elf, bytes: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let sh = elf.section_headers.iter().find(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(name))?;
    let start = usize::try_from(sh.sh_offset).ok()?;
    bytes.get(start..start.checked_add(usize::try_from(sh.sh_size).ok()?)?)
}

pub(crate) fn build_id(elf: &Elf, bytes: &[u8]) -> Option<Vec<u8>> {
    let notes = elf.iter_note_sections(bytes, Some(".note.gnu.build-id"))?;
    notes.flatten().find(|n| n.n_type == goblin::elf::note::NT_GNU_BUILD_ID).map(|n| n.desc.to_vec())
}

/// The file name in `.gnu_debuglink` (a NUL-terminated name, then a CRC).
fn debuglink(elf: &Elf, bytes: &[u8]) -> Option<String> {
    let data = section(elf, bytes, ".gnu_debuglink")?;
    let end = data.iter().position(|&b| b == 0)?;
    let name = std::str::from_utf8(&data[..end]).ok()?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_gdb() {
        let c = candidates(Path::new("/usr/lib/x/libc.so.6"), Some(&[0x93, 0xac, 0x61]), Some("libc.debug"));
        let c: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            c,
            [
                "/usr/lib/debug/.build-id/93/ac61.debug",
                "/lib/debug/.build-id/93/ac61.debug",
                "/usr/lib/x/libc.debug",
                "/usr/lib/x/.debug/libc.debug",
                "/usr/lib/debug/usr/lib/x/libc.debug",
                "/lib/debug/usr/lib/x/libc.debug",
            ]
        );
    }

    #[test]
    fn file_offsets_become_virtual_addresses() {
        let d = DebugFile { path: PathBuf::new(), loads: vec![(0, 0x1000, 0), (0x1000, 0x500, 0x201000)] };
        assert_eq!(d.vaddr(0x10), Some(0x10));
        assert_eq!(d.vaddr(0x1010), Some(0x201010));
        assert_eq!(d.vaddr(0x1600), None);
    }

    #[test]
    fn a_file_with_a_symbol_table_needs_none() {
        // The test binary itself is built with symbols.
        let exe = std::env::current_exe().unwrap_or_default();
        assert_eq!(find(&exe), None);
    }
}
