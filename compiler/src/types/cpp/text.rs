//! Token texts, and the macro table's hash.

use super::Macro;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// The text of a token: a range of the text it was lexed from, which tokens share (a header's
/// tokens all point into its text), so neither lexing nor copying a token allocates. Macro
/// expansion copies tokens over and over (every header token passes through [`expand`]).
#[derive(Clone)]
pub struct TokText {
    src: Rc<str>,
    start: u32,
    end: u32,
}

impl TokText {
    pub fn as_str(&self) -> &str {
        self.src.get(self.start as usize..self.end as usize).unwrap_or("")
    }

    /// `src[start..end]`, sharing `src`.
    pub(super) fn slice(src: &Rc<str>, start: usize, end: usize) -> TokText {
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(s), Ok(e)) => TokText { src: src.clone(), start: s, end: e },
            _ => TokText::from(src.get(start..end).unwrap_or("")),
        }
    }
}

impl PartialEq for TokText {
    fn eq(&self, other: &TokText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TokText {}

impl std::hash::Hash for TokText {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h);
    }
}

impl std::ops::Deref for TokText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for TokText {
    fn from(s: &str) -> TokText {
        TokText { src: Rc::from(s), start: 0, end: u32::try_from(s.len()).unwrap_or(0) }
    }
}

impl From<String> for TokText {
    fn from(s: String) -> TokText {
        let end = u32::try_from(s.len()).unwrap_or(0);
        TokText { src: Rc::from(s), start: 0, end }
    }
}

impl PartialEq<str> for TokText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TokText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Debug for TokText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for TokText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The macros by name. Every identifier of every header line is looked up in it, so it hashes
/// names with [`NameHasher`] rather than the default (SipHash, made to resist chosen keys).
pub type Macros = HashMap<String, Rc<Macro>, BuildHasherDefault<NameHasher>>;

/// FxHash's multiply-rotate hash (rustc's), eight bytes at a time.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl NameHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
