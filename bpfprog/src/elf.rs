//! Finding btc's metadata in an ELF object.
//!
//! Only what is needed is parsed (the ELF header, the section headers and their names), each
//! part checked against the file's size before it is read, so a truncated or corrupted file
//! is an error and never a panic or a huge allocation.

use crate::{Metadata, FORMAT_VERSION, META_SECTION};
use goblin::elf::header::{self, Header};
use goblin::elf::section_header::SectionHeader;

/// Why an object's metadata could not be read. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not a BPF object: {0}")]
    NotElf(String),
    #[error("not a BPF object: it is an ELF file for {name} (machine {0}), not for BPF", name = machine_name(*.0))]
    NotBpf(u16),
    #[error("not a btc object: it has no {META_SECTION} section (was it made by another compiler?)")]
    NoMetadata,
    /// The metadata is of another format version than this btc's ([`FORMAT_VERSION`]).
    #[error("{}", version_message(*found, *expected, made_by.as_deref()))]
    Version { found: u64, expected: u32, made_by: Option<String> },
    /// The metadata could not be decoded.
    #[error("malformed btc metadata: {0}")]
    Malformed(String),
    /// The metadata decodes but contradicts itself (see [`Metadata::validate`]).
    #[error("invalid btc metadata: {0}")]
    Invalid(String),
}

/// The names of the machines an ELF file is most likely made for.
fn machine_name(m: u16) -> &'static str {
    match m {
        header::EM_386 => "i386",
        header::EM_X86_64 => "x86-64",
        header::EM_AARCH64 => "AArch64",
        header::EM_ARM => "ARM",
        header::EM_RISCV => "RISC-V",
        header::EM_PPC64 => "PowerPC64",
        header::EM_PPC => "PowerPC",
        header::EM_S390 => "s390",
        header::EM_MIPS => "MIPS",
        header::EM_LOONGARCH => "LoongArch",
        _ => "another machine",
    }
}

fn version_message(found: u64, expected: u32, made_by: Option<&str>) -> String {
    let this = env!("CARGO_PKG_VERSION");
    let by = made_by.unwrap_or("another btc");
    if found > u64::from(expected) {
        format!(
            "the object needs a newer btc: it was made by {by} (object format {found}) and this btc ({this}) reads format {expected}; run it with {by} or later"
        )
    } else {
        format!(
            "the object was made by an older btc ({by}, object format {found}) and this btc ({this}) reads format {expected} only; compile the script again with this btc"
        )
    }
}

/// One line of any error text (serde and goblin messages are one line; make sure).
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The bytes of `sh`'s contents, if they lie inside `bytes`.
fn section_bytes<'a>(bytes: &'a [u8], sh: &SectionHeader) -> Option<&'a [u8]> {
    let start = usize::try_from(sh.sh_offset).ok()?;
    let len = usize::try_from(sh.sh_size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// The ELF header of a BPF relocatable object, checked.
fn bpf_header(bytes: &[u8]) -> Result<Header, MetaError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(MetaError::NotElf("it is not an ELF file".into()));
    }
    if bytes.len() < goblin::elf64::header::SIZEOF_EHDR {
        return Err(MetaError::NotElf(format!("the file is truncated ({} bytes, shorter than an ELF header)", bytes.len())));
    }
    let h = goblin::elf::Elf::parse_header(bytes).map_err(|e| MetaError::NotElf(one_line(&format!("bad ELF header: {e}"))))?;
    if h.e_machine != header::EM_BPF {
        return Err(MetaError::NotBpf(h.e_machine));
    }
    if h.e_ident[header::EI_CLASS] != header::ELFCLASS64 || h.e_ident[header::EI_DATA] != header::ELFDATA2LSB {
        return Err(MetaError::NotElf("it is not a 64-bit little-endian BPF object".into()));
    }
    if h.e_type != header::ET_REL {
        return Err(MetaError::NotElf(format!("it is not a relocatable object (ELF type {})", h.e_type)));
    }
    Ok(h)
}

/// The section headers of a checked header, every one inside the file.
fn section_headers(bytes: &[u8], h: &Header) -> Result<Vec<SectionHeader>, MetaError> {
    let truncated = || MetaError::NotElf("the file is truncated or corrupted (its section headers lie outside it)".into());
    let count = usize::from(h.e_shnum);
    let entsize = usize::from(h.e_shentsize);
    if count == 0 {
        return Err(MetaError::NotElf("the object has no sections".into()));
    }
    if entsize != goblin::elf64::section_header::SIZEOF_SHDR {
        return Err(MetaError::NotElf(format!("unexpected section header size {entsize}")));
    }
    let start = usize::try_from(h.e_shoff).map_err(|_| truncated())?;
    let end = count.checked_mul(entsize).and_then(|n| n.checked_add(start)).ok_or_else(truncated)?;
    if start == 0 || end > bytes.len() {
        return Err(truncated());
    }
    let ctx = goblin::container::Ctx::new(goblin::container::Container::Big, goblin::container::Endian::Little);
    let headers = SectionHeader::parse(bytes, start, count, ctx).map_err(|e| MetaError::NotElf(one_line(&e.to_string())))?;
    for sh in &headers {
        if sh.sh_type != goblin::elf::section_header::SHT_NOBITS && section_bytes(bytes, sh).is_none() {
            return Err(truncated());
        }
    }
    Ok(headers)
}

/// The contents of the section `name` of a BPF object (`None` when it has none).
pub fn section<'a>(bytes: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, MetaError> {
    let h = bpf_header(bytes)?;
    let headers = section_headers(bytes, &h)?;
    let names = headers
        .get(usize::from(h.e_shstrndx))
        .and_then(|sh| section_bytes(bytes, sh))
        .ok_or_else(|| MetaError::NotElf("the object has no section names".into()))?;
    let name_at = |off: usize| names.get(off..).map(|rest| rest.split(|&b| b == 0).next().unwrap_or(rest));
    Ok(headers.iter().find(|sh| name_at(sh.sh_name) == Some(name.as_bytes())).and_then(|sh| section_bytes(bytes, sh)))
}

/// The contents of [`META_SECTION`] in a BPF object, with its trailing NULs removed.
pub fn metadata_bytes(bytes: &[u8]) -> Result<&[u8], MetaError> {
    let data = section(bytes, META_SECTION)?.ok_or(MetaError::NoMetadata)?;
    // The section may be padded with NULs after the JSON text.
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    Ok(&data[..end])
}

/// Reads the [`Metadata`] of a btc-compiled ELF object and checks it ([`Metadata::validate`]).
pub fn read_metadata(bytes: &[u8]) -> Result<Metadata, MetaError> {
    let meta = Metadata::from_bytes(metadata_bytes(bytes)?)?;
    meta.validate()?;
    Ok(meta)
}

impl Metadata {
    /// Decodes the bytes of [`META_SECTION`] (without checking them: see [`Metadata::validate`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Metadata, MetaError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| MetaError::Malformed(one_line(&e.to_string())))?;
        let version = value.get("version").and_then(|v| v.as_u64());
        match version {
            None => return Err(MetaError::Malformed("it has no format version".into())),
            Some(v) if v != u64::from(FORMAT_VERSION) => {
                let made_by = value.get("compiler").and_then(|c| c.as_str()).map(one_line).filter(|c| {
                    // Named only when it looks like a version string.
                    c.len() <= 64 && c.starts_with("btc ")
                });
                return Err(MetaError::Version { found: v, expected: FORMAT_VERSION, made_by });
            }
            Some(_) => {}
        }
        serde_json::from_value(value).map_err(|e| MetaError::Malformed(one_line(&e.to_string())))
    }
}

/// The byte range in `object` (an ELF relocatable file) of the first `size` bytes of the global
/// `symbol`, which must lie in a `.rodata` section: the initial value the runtime overwrites
/// before loading (libbpf makes it the frozen map's contents). Errors are one line.
pub fn rodata_range(object: &[u8], symbol: &str, size: u32) -> Result<std::ops::Range<usize>, String> {
    let elf = goblin::elf::Elf::parse(object).map_err(|e| one_line(&format!("not a BPF object: {e}")))?;
    let sym = elf
        .syms
        .iter()
        .find(|s| elf.strtab.get_at(s.st_name) == Some(symbol))
        .ok_or_else(|| format!("the object has no symbol {symbol}"))?;
    let sh = elf.section_headers.get(sym.st_shndx).ok_or_else(|| format!("{symbol} is in no section"))?;
    let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
    if !name.starts_with(".rodata") || sh.sh_type != goblin::elf::section_header::SHT_PROGBITS {
        return Err(format!("{symbol} is in section {name}, not in .rodata"));
    }
    let end = sym.st_value.checked_add(u64::from(size)).filter(|&e| e <= sh.sh_size && sym.st_size >= u64::from(size));
    let Some(end) = end else {
        return Err(format!("{symbol} is smaller than {size} bytes or lies outside its section"));
    };
    let start = sh.sh_offset.checked_add(sym.st_value).and_then(|s| usize::try_from(s).ok());
    let end = sh.sh_offset.checked_add(end).and_then(|e| usize::try_from(e).ok());
    match (start, end) {
        (Some(start), Some(end)) if end <= object.len() => Ok(start..end),
        _ => Err(format!("{symbol} lies past the end of the object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_wrong() {
        assert_eq!(read_metadata(b"BEGIN { }").err().map(|e| e.to_string()), Some("not a BPF object: it is not an ELF file".into()));
        assert!(read_metadata(b"\x7fELF\x02\x01").err().is_some_and(|e| e.to_string().contains("truncated")));
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[18] = 62;
        assert_eq!(
            read_metadata(&h).err().map(|e| e.to_string()),
            Some("not a BPF object: it is an ELF file for x86-64 (machine 62), not for BPF".into())
        );
        let newer = br#"{"version":99,"compiler":"btc 9.0.0"}"#;
        let msg = Metadata::from_bytes(newer).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("the object needs a newer btc: it was made by btc 9.0.0 (object format 99)"), "{msg}");
        assert!(msg.ends_with("run it with btc 9.0.0 or later"), "{msg}");
        let older = br#"{"version":1,"compiler":"btc 0.0.1"}"#;
        let msg = Metadata::from_bytes(older).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("made by an older btc (btc 0.0.1, object format 1)"), "{msg}");
        assert!(msg.ends_with("compile the script again with this btc"), "{msg}");
        assert!(matches!(Metadata::from_bytes(b"{}"), Err(MetaError::Malformed(_))));
    }
}
