//! What identifies the kernel build and a user binary's contents, for objects that hold
//! addresses only true of them (`btc_bpfprog::Portable`): the kernel's GNU build ID note
//! (/sys/kernel/notes), a binary's build ID, else its size and SHA-256.

use goblin::elf::Elf;

/// The largest file whose contents are identified (larger ones are not checked).
const MAX_IDENTIFIED: u64 = 1 << 31;

/// `NT_GNU_BUILD_ID`.
const NT_GNU_BUILD_ID: u32 = 3;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The GNU build ID in a sequence of ELF notes.
fn notes_build_id(notes: &[u8]) -> Option<Vec<u8>> {
    let word = |at: usize| Some(u32::from_le_bytes(notes.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize);
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let (namesz, descsz, ty) = (word(at)?, word(at + 4)?, word(at + 8)?);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.next_multiple_of(4))?;
        let next = desc_at.checked_add(descsz.next_multiple_of(4))?;
        if ty == NT_GNU_BUILD_ID as usize && notes.get(name_at..name_at + namesz)? == b"GNU\0" {
            return Some(notes.get(desc_at..desc_at + descsz)?.to_vec());
        }
        at = next;
    }
    None
}

/// The running kernel's build ID, in hex.
pub fn kernel_build_id() -> Option<String> {
    let notes = std::fs::read("/sys/kernel/notes").ok()?;
    notes_build_id(&notes).filter(|id| !id.is_empty()).map(|id| hex(&id))
}

/// `build-id HEX` for an ELF file with a build ID, else `size N sha256 HEX`.
pub fn file_identity(path: &str) -> Option<String> {
    use sha2::Digest;
    // Only regular files of a sane size (an object could name /dev/zero or /proc/kcore).
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_IDENTIFIED {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if let Some(id) = Elf::parse(&bytes).ok().and_then(|elf| super::debugfile::build_id(&elf, &bytes)).filter(|id| !id.is_empty()) {
        return Some(format!("build-id {}", hex(&id)));
    }
    Some(format!("size {} sha256 {}", bytes.len(), hex(&sha2::Sha256::digest(&bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_build_id_note() {
        let mut notes = Vec::new();
        // A note of another type first, then the build ID.
        for (ty, name, desc) in [(1u32, &b"Xen\0"[..], &[1u8, 2, 3][..]), (3, b"GNU\0", &[0xab, 0xcd, 0xef, 0x01, 0x23])] {
            notes.extend((name.len() as u32).to_le_bytes());
            notes.extend((desc.len() as u32).to_le_bytes());
            notes.extend(ty.to_le_bytes());
            notes.extend(name);
            notes.extend(desc);
            notes.resize(notes.len().next_multiple_of(4), 0);
        }
        assert_eq!(notes_build_id(&notes).map(|id| hex(&id)), Some("abcdef0123".into()));
        assert_eq!(notes_build_id(&notes[..20]), None);
    }
}

/// The running system, for [`crate::load_checks`].
pub struct System;

impl crate::load_checks::SystemFacts for System {
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<String> {
        super::tracefs::tracepoint_format(category, name).ok()
    }
    fn kernel_build_id(&self) -> Option<String> {
        kernel_build_id()
    }
    fn file_identity(&self, path: &str) -> Option<String> {
        file_identity(path)
    }
}
