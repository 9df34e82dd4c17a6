//! USDT probes: the `.note.stapsdt` notes of an ELF file (systemtap's format, as <sys/sdt.h>
//! emits them).

use goblin::elf::Elf;

/// One probe site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub provider: String,
    pub name: String,
    /// Virtual address of the site, adjusted for prelinking.
    pub address: u64,
    /// Virtual address of the semaphore, 0 when none.
    pub semaphore: u64,
    /// Argument specification, e.g. `-4@%eax 8@-8(%rbp)`.
    pub args: String,
}

const NT_STAPSDT: u32 = 3;

fn cstr(bytes: &[u8]) -> Option<(String, &[u8])> {
    let end = bytes.iter().position(|&b| b == 0)?;
    Some((String::from_utf8_lossy(&bytes[..end]).into_owned(), &bytes[end + 1..]))
}

/// Decodes one note descriptor: pc, base, semaphore (8 bytes each), then provider, name and
/// arguments as NUL-terminated strings.
pub fn decode(desc: &[u8], base_section: Option<u64>) -> Option<Note> {
    let word = |i: usize| desc.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    let (pc, base, sem) = (word(0)?, word(1)?, word(2)?);
    let (provider, rest) = cstr(desc.get(24..)?)?;
    let (name, rest) = cstr(rest)?;
    let args = cstr(rest).map(|(a, _)| a).unwrap_or_default();
    // Prelinked binaries moved: the .stapsdt.base section says by how much.
    let delta = base_section.map_or(0, |b| b.wrapping_sub(base));
    Some(Note {
        provider,
        name,
        address: pc.wrapping_add(delta),
        semaphore: if sem == 0 { 0 } else { sem.wrapping_add(delta) },
        args,
    })
}

/// The USDT probes of a parsed ELF file, in note order.
pub fn notes(elf: &Elf<'_>, bytes: &[u8]) -> Vec<Note> {
    let base = elf
        .section_headers
        .iter()
        .find(|sh| elf.shdr_strtab.get_at(sh.sh_name) == Some(".stapsdt.base"))
        .map(|sh| sh.sh_addr);
    let mut out = Vec::new();
    if let Some(iter) = elf.iter_note_sections(bytes, Some(".note.stapsdt")) {
        for note in iter.flatten() {
            if note.n_type == NT_STAPSDT && note.name == "stapsdt" {
                if let Some(n) = decode(note.desc, base) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// The USDT probes of the ELF file at `path`.
pub fn file_notes(path: &str) -> Result<Vec<Note>, String> {
    let bytes = super::elf::read(path)?;
    let elf = super::elf::parse(path, &bytes)?;
    Ok(notes(&elf, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_descriptor() {
        let mut d = Vec::new();
        d.extend_from_slice(&0x1130u64.to_le_bytes());
        d.extend_from_slice(&0x2000u64.to_le_bytes());
        d.extend_from_slice(&0x4010u64.to_le_bytes());
        d.extend_from_slice(b"prov\0name\0-4@%eax 8@-8(%rbp)\0");
        let n = decode(&d, Some(0x2100));
        assert_eq!(
            n,
            Some(Note {
                provider: "prov".into(),
                name: "name".into(),
                address: 0x1230,
                semaphore: 0x4110,
                args: "-4@%eax 8@-8(%rbp)".into()
            })
        );
        assert_eq!(decode(&d[..20], None), None);
    }
}
