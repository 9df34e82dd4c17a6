//! A small BTF encoder for tests: kernel types with the layout a test chooses, written as a raw
//! BTF file (what /sys/kernel/btf/vmlinux is, and what BPFTRACE_BTF names), so a test can
//! stand in for a kernel whose structs have other field offsets.

/// Types, added one by one; each `add` returns the new type's id (1, 2, ...).
#[derive(Default)]
pub struct BtfWriter {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_STRUCT: u32 = 4;

impl BtfWriter {
    pub fn new() -> BtfWriter {
        // The string section starts with the empty string.
        BtfWriter { types: Vec::new(), strings: vec![0], count: 0 }
    }

    fn string(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn words(&mut self, words: &[u32]) -> u32 {
        for w in words {
            self.types.extend(w.to_le_bytes());
        }
        self.count += 1;
        self.count
    }

    /// A signed or unsigned integer of `size` bytes.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> u32 {
        let name = self.string(name);
        let encoding = if signed { 1 << 24 } else { 0 };
        self.words(&[name, KIND_INT << 24, size, encoding | size * 8])
    }

    /// A pointer to type `to` (0: void). A pointer to a struct added later takes that struct's
    /// id-to-be: ids are given in order.
    pub fn ptr(&mut self, to: u32) -> u32 {
        self.words(&[0, KIND_PTR << 24, to])
    }

    /// `struct name` of `size` bytes with `members` (name, type, byte offset).
    pub fn structure(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let mut words = vec![self.string(name), KIND_STRUCT << 24 | members.len() as u32, size];
        for &(m, ty, off) in members {
            words.extend([self.string(m), ty, off * 8]);
        }
        self.words(&words)
    }

    /// The raw BTF file.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = vec![0x9f, 0xeb, 1, 0];
        let (types, strings) = (self.types.len() as u32, self.strings.len() as u32);
        for w in [24u32, 0, types, types, strings] {
            out.extend(w.to_le_bytes());
        }
        out.extend(&self.types);
        out.extend(&self.strings);
        out
    }
}
