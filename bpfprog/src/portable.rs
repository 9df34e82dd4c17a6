//! What an object relies on that another machine may not have, recorded at compile time so the
//! runtime can check it at load ([`Portable`], in [`crate::Metadata::portable`]).
//!
//! Kernel struct accesses need nothing here: they are CO-RE relocations (`.BTF.ext`) that
//! libbpf resolves against the target kernel's BTF. What can't be relocated is recorded with
//! the fact it depends on, and a mismatch at load is refused with a one-line error rather
//! than reading the wrong memory.

use serde::{Deserialize, Serialize};

/// Everything an object holds that is only true of the machine it was compiled on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portable {
    /// The tracepoints whose arguments the programs read, with the fields read as the
    /// compiling kernel's format files laid them out (tracepoint formats change between
    /// kernels; the runtime compares with the target's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracepoints: Vec<TracepointLayout>,
    /// The compiling kernel's build ID, when the object holds something true of that kernel
    /// build only (`kernel_uses`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_build_id: Option<String>,
    /// What ties the object to the compiling kernel's build: `kprobe:FUNC+OFFSET` (an offset
    /// into the function's machine code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_uses: Vec<String>,
    /// Values looked up when the object is loaded, 8 bytes each at `offset` of the global
    /// [`LOAD_SYMBOL`] in `.rodata`: `kaddr("NAME")` (kernel addresses change with every boot,
    /// KASLR, and build) and `cgroupid("PATH")` (a cgroup's id is its inode number, new
    /// whenever it is created again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_values: Vec<LoadSlot>,
    /// The user binaries whose addresses the object holds (uprobes at an address or an offset
    /// into a function, USDT sites, `uaddr()`), with their identity when compiled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<BinaryIdentity>,
}

/// One tracepoint's argument fields as the object reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointLayout {
    pub category: String,
    pub name: String,
    pub fields: Vec<TracepointField>,
}

/// A field of a tracepoint format file: `field:TYPE NAME; offset:N; size:N;`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointField {
    pub name: String,
    pub offset: u32,
    pub size: u32,
}

/// The global in `.rodata` holding [`Portable::load_values`]: not an LLVM constant and of
/// external linkage, so the compiler folds none of its reads; the kernel sees it in a frozen
/// read-only map.
pub const LOAD_SYMBOL: &str = "__btc_load";

/// One value the runtime writes (a little-endian u64) at `offset` of [`LOAD_SYMBOL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSlot {
    pub offset: u32,
    pub value: LoadValue,
}

/// What a load-time slot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LoadValue {
    /// `kaddr("name")`: the kernel symbol's address (/proc/kallsyms).
    Kaddr { name: String },
    /// `cgroupid("path")`: the id of the cgroup (v2) at `path`.
    Cgroupid { path: String },
}

impl LoadValue {
    /// The call as written in the script.
    pub fn call(&self) -> String {
        match self {
            LoadValue::Kaddr { name } => format!("kaddr(\"{name}\")"),
            LoadValue::Cgroupid { path } => format!("cgroupid(\"{path}\")"),
        }
    }
}

/// The size of [`LOAD_SYMBOL`] for `slots`.
pub fn load_size(slots: &[LoadSlot]) -> u32 {
    slots.iter().map(|s| s.offset.saturating_add(8)).max().unwrap_or(0)
}

/// `object` with `values` (one per slot) written into [`LOAD_SYMBOL`]'s bytes in `.rodata`.
/// The error is one line.
pub fn patch_load_values(object: &[u8], slots: &[LoadSlot], values: &[u64]) -> Result<Vec<u8>, String> {
    let range = crate::elf::rodata_range(object, LOAD_SYMBOL, load_size(slots))
        .map_err(|e| format!("its load-time values: {e}"))?;
    let mut out = object.to_vec();
    let area = &mut out[range];
    for (slot, v) in slots.iter().zip(values) {
        let at = slot.offset as usize;
        area.get_mut(at..at + 8).ok_or("a load-time value lies outside its area")?.copy_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// A user binary and what identifies its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinaryIdentity {
    pub path: String,
    /// `build-id HEX` (the ELF GNU build ID note), else `size N sha256 HEX`.
    pub identity: String,
    /// Why the object depends on it: the attach points or `uaddr("sym")` calls.
    pub uses: Vec<String>,
}

impl Portable {
    /// Whether the object relies on nothing but BTF (CO-RE) to run elsewhere.
    pub fn is_empty(&self) -> bool {
        *self == Portable::default()
    }
}

/// The fields of a tracepoint format file's text (common fields included), in order.
pub fn format_fields(text: &str) -> Vec<TracepointField> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("field:"))
        .filter_map(|rest| {
            let mut parts = rest.split(';').map(str::trim);
            let decl = parts.next()?;
            let (mut offset, mut size) = (None, None);
            for p in parts {
                if let Some(v) = p.strip_prefix("offset:") {
                    offset = v.trim().parse().ok();
                } else if let Some(v) = p.strip_prefix("size:") {
                    size = v.trim().parse().ok();
                }
            }
            // `__data_loc char[] name`, `char comm[16]`: the name is the last identifier before
            // any array bound.
            let decl = decl.replace("[]", "");
            let head = decl.split('[').next()?.trim_end();
            let start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
            Some(TracepointField { name: head[start..].to_string(), offset: offset?, size: size? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_format_fields() {
        let text = "name: x\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:char comm[16];\toffset:24;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:40;\tsize:4;\tsigned:0;\n";
        let f = format_fields(text);
        let names: Vec<(&str, u32, u32)> = f.iter().map(|f| (f.name.as_str(), f.offset, f.size)).collect();
        assert_eq!(names, [("common_type", 0, 2), ("filename", 16, 8), ("comm", 24, 16), ("name", 40, 4)]);
    }
}
