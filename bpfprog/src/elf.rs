//! Finding btc's metadata in an ELF object.

use crate::{Metadata, META_SECTION};
use goblin::elf::Elf;

/// Why an object's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not an ELF object: {0}")]
    NotElf(String),
    #[error("not a BPF object (ELF machine {0}, expected EM_BPF)")]
    NotBpf(u16),
    #[error("not a btc object: it has no {META_SECTION} section")]
    NoMetadata,
    #[error("object was made by an incompatible btc (metadata format {found}, this btc reads {expected})")]
    Version { found: u64, expected: u32 },
    #[error("malformed btc metadata: {0}")]
    Malformed(String),
}

/// Reads the [`Metadata`] of a btc-compiled ELF object.
pub fn read_metadata(bytes: &[u8]) -> Result<Metadata, MetaError> {
    let elf = Elf::parse(bytes).map_err(|e| MetaError::NotElf(e.to_string()))?;
    if elf.header.e_machine != goblin::elf::header::EM_BPF {
        return Err(MetaError::NotBpf(elf.header.e_machine));
    }
    let sh = elf
        .section_headers
        .iter()
        .find(|sh| elf.shdr_strtab.get_at(sh.sh_name) == Some(META_SECTION))
        .ok_or(MetaError::NoMetadata)?;
    let start = usize::try_from(sh.sh_offset).map_err(|_| MetaError::Malformed("offset".into()))?;
    let len = usize::try_from(sh.sh_size).map_err(|_| MetaError::Malformed("size".into()))?;
    let data = start
        .checked_add(len)
        .and_then(|end| bytes.get(start..end))
        .ok_or_else(|| MetaError::Malformed("section lies outside the file".into()))?;
    // The section may be padded with NULs after the JSON text.
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    Metadata::from_bytes(&data[..end])
}
