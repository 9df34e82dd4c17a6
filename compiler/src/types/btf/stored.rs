//! A stored index of a BTF blob: what [`Btf::parse`] finds by walking every type (where every
//! fourth type starts, the listed groups) and the name tables [`Btf::find`] and
//! [`Btf::enumerator`] would build, written out once ([`Btf::index_bytes`]) and read back in
//! place ([`Btf::parse_indexed`]) by later runs, so that looking up kernel types costs neither
//! the walk of vmlinux's ~130k types (~1 ms) nor a search of its 2.3 MB of strings per name.
//!
//! The index is checked against the blob it is read with (its sizes, the type and string
//! sections' places, the first type's offset, the tables' shapes), every read from it is
//! bounds-checked, and every name found through it is compared with the name asked for: a
//! stale or damaged index is refused, or at worst makes lookups miss, and never panics.
//! Keeping it, and knowing which kernel it belongs to, is the [`super::super::TypeSource`]'s job.
//!
//! Layout (little-endian u32 words): `MAGIC`, `VERSION`, the blob's length, its type count,
//! the type and string sections' offsets and lengths; then arrays, each as its length in words
//! followed by its words: the offsets of every fourth type; the ids, offsets and name offsets
//! of each listed group; the name table of each listed group; the enumerator table.

use super::{BtfBytes, BtfError, Kind, Listed, LISTED, STRIDE};
use super::{u32_at, Btf};
use std::cell::OnceCell;
use std::rc::Rc;

const MAGIC: u32 = u32::from_le_bytes(*b"BTCI");
const VERSION: u32 = 1;
/// Header words before the first array.
const HEADER_WORDS: usize = 8;

/// An array of u32: built in memory, or read in place from a stored index.
#[derive(Clone)]
pub(super) enum U32s {
    Owned(Vec<u32>),
    Stored { bytes: Rc<BtfBytes>, start: usize, len: usize },
}

impl Default for U32s {
    fn default() -> U32s {
        U32s::Owned(Vec::new())
    }
}

impl std::fmt::Debug for U32s {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "U32s[{}]", self.len())
    }
}

impl U32s {
    pub(super) fn len(&self) -> usize {
        match self {
            U32s::Owned(v) => v.len(),
            U32s::Stored { len, .. } => *len,
        }
    }

    pub(super) fn get(&self, i: usize) -> Option<u32> {
        match self {
            U32s::Owned(v) => v.get(i).copied(),
            U32s::Stored { bytes, start, len } => (i < *len).then(|| u32_at(bytes.as_slice(), start + 4 * i)).flatten(),
        }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(0))
    }
}

/// Reads the arrays of a stored index in order.
struct Reader {
    bytes: Rc<BtfBytes>,
    at: usize,
}

impl Reader {
    fn word(&mut self) -> Option<u32> {
        let w = u32_at(self.bytes.as_slice(), self.at)?;
        self.at += 4;
        Some(w)
    }

    fn array(&mut self) -> Option<U32s> {
        let len = self.word()? as usize;
        let start = self.at;
        let end = start.checked_add(len.checked_mul(4)?)?;
        if end > self.bytes.as_slice().len() {
            return None;
        }
        self.at = end;
        Some(U32s::Stored { bytes: self.bytes.clone(), start, len })
    }
}

fn put(out: &mut Vec<u8>, w: u32) {
    out.extend_from_slice(&w.to_le_bytes());
}

fn put_array(out: &mut Vec<u8>, a: &U32s) {
    put(out, u32::try_from(a.len()).unwrap_or(0));
    for w in a.iter() {
        put(out, w);
    }
}

/// A name table is empty (not built) or a power of two of at least 16 slots.
fn table_shape_ok(t: &U32s, words_per_slot: usize) -> bool {
    let slots = t.len() / words_per_slot;
    t.len() == 0 || (t.len().is_multiple_of(words_per_slot) && slots >= 16 && slots.is_power_of_two())
}

impl Btf {
    /// The words of the blob's header that an index must agree with: its length, and the type
    /// and string sections' offsets and lengths.
    fn header_words(data: &[u8]) -> Option<[u32; 5]> {
        let len = u32::try_from(data.len()).ok()?;
        Some([len, u32_at(data, 8)?, u32_at(data, 12)?, u32_at(data, 16)?, u32_at(data, 20)?])
    }

    /// The index of this blob (vmlinux's: not of split BTF), every table built, for
    /// [`Btf::parse_indexed`]. Building the tables costs a few milliseconds, once.
    pub fn index_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.base.is_some() {
            return out;
        }
        let Some(header) = Self::header_words(self.data.as_slice()) else { return out };
        put(&mut out, MAGIC);
        put(&mut out, VERSION);
        for w in header.into_iter().chain([self.types]) {
            put(&mut out, w);
        }
        put_array(&mut out, &self.offsets);
        for list in &self.groups {
            for a in [&list.ids, &list.offs, &list.names] {
                put_array(&mut out, a);
            }
        }
        for g in 0..LISTED {
            put_array(&mut out, self.index(g));
        }
        put_array(&mut out, self.enumerator_index());
        out
    }

    /// Parses vmlinux's BTF `data` with its stored `index` (from [`Btf::index_bytes`]): no walk
    /// of the types, no search of the strings. When the index doesn't fit the blob, the blob is
    /// parsed as [`Btf::parse`] does; the flag says whether the index was used.
    pub fn parse_indexed(data: impl Into<BtfBytes>, index: BtfBytes) -> Result<(Btf, bool), BtfError> {
        let data = data.into();
        match Self::from_index(&data, index) {
            Some(parts) => Ok((Self::assemble(data, parts, None), true)),
            None => Self::parse(data, None).map(|b| (b, false)),
        }
    }

    /// What an index holds, when it fits `data`.
    fn from_index(data: &BtfBytes, index: BtfBytes) -> Option<Stored> {
        let bytes = data.as_slice();
        let header = Self::header_words(bytes)?;
        let mut r = Reader { bytes: Rc::new(index), at: 0 };
        if r.word()? != MAGIC || r.word()? != VERSION {
            return None;
        }
        for w in header {
            if r.word()? != w {
                return None;
            }
        }
        let types = r.word()?;
        debug_assert_eq!(r.at, 4 * HEADER_WORDS);
        // The blob itself must be sound (its header and sections), as a parse would check.
        let (str_start, str_len, type_start, type_end) = Self::sections(bytes).ok()?;
        let offsets = r.array()?;
        if offsets.len() != (types as usize).div_ceil(STRIDE) || (types > 0 && offsets.get(0)? as usize != type_start) {
            return None;
        }
        // The types after the last offset recorded end the type section.
        let mut off = offsets.len().checked_sub(1).map_or(Some(type_start), |i| offsets.get(i).map(|o| o as usize))?;
        for _ in 0..(types as usize).saturating_sub(STRIDE * offsets.len().saturating_sub(1)) {
            let info = u32_at(bytes, off + 4)?;
            let &(fixed, per) = super::EXTRA.get(((info >> 24) & 0x1f) as usize)?;
            off += 12 + usize::from(fixed) + usize::from(per) * (info & 0xffff) as usize;
        }
        if off != type_end {
            return None;
        }
        let mut groups: [Listed; LISTED] = Default::default();
        for list in &mut groups {
            let (ids, offs, names) = (r.array()?, r.array()?, r.array()?);
            if offs.len() != ids.len() || names.len() != ids.len() {
                return None;
            }
            *list = Listed { ids, offs, names };
        }
        let index: [OnceCell<U32s>; LISTED] = Default::default();
        for cell in &index {
            let t = r.array()?;
            if !table_shape_ok(&t, 1) {
                return None;
            }
            if t.len() > 0 {
                let _ = cell.set(t);
            }
        }
        let enums = r.array()?;
        if !table_shape_ok(&enums, 2) {
            return None;
        }
        Some(Stored { str_start, str_len, offsets, types, groups, index, enums })
    }

    /// A [`Btf`] of `data` from what its walk (or its index) found.
    pub(super) fn assemble(data: BtfBytes, parts: Stored, base: Option<Rc<Btf>>) -> Btf {
        let (first_id, first_str) = match &base {
            Some(b) => (b.count(), b.first_str + u32::try_from(b.str_len).unwrap_or(u32::MAX)),
            None => (1, 0),
        };
        let Stored { str_start, str_len, offsets, types, groups, index, enums } = parts;
        let btf = Btf {
            data,
            str_start,
            str_len,
            offsets,
            types,
            groups,
            first_id,
            first_str,
            base,
            index: Default::default(),
            scans: Default::default(),
            found: Default::default(),
            enums: OnceCell::new(),
        };
        for (cell, built) in btf.index.iter().zip(index) {
            if let Some(t) = built.into_inner() {
                let _ = cell.set(t);
            }
        }
        if enums.len() > 0 {
            let _ = btf.enums.set(enums);
        }
        btf
    }

    /// The enumerator table: for each enumerator name, the first enum (by id) that has one and
    /// its place there, as two words per slot (enum id, then the enumerator's index; id 0 is an
    /// empty slot), keyed by a hash of the name. Built on first use.
    pub(super) fn enumerator_index(&self) -> &U32s {
        self.enums.get_or_init(|| {
            let enums: Vec<(u32, Kind, bool, usize)> = self
                .ids_of(super::group(Kind::Enum))
                .filter_map(|id| self.get(id))
                .filter(|t| matches!(t.kind, Kind::Enum | Kind::Enum64))
                .map(|t| (t.id, t.kind, t.kind_flag, t.vlen as usize))
                .collect();
            let total: usize = enums.iter().map(|e| e.3).sum();
            let slots = (total * 2).next_power_of_two().max(16);
            let mask = slots - 1;
            let mut table = vec![0u32; 2 * slots];
            for (id, _, _, vlen) in enums {
                let Some(t) = self.get(id) else { continue };
                for i in 0..vlen {
                    let Some((name_off, _)) = Self::enumerator_at(t.kind, t.kind_flag, t.extra, i) else { continue };
                    let name = self.name_bytes(name_off);
                    if name.is_empty() {
                        continue;
                    }
                    let mut k = super::lookup::name_hash(name) as usize & mask;
                    // The first enumerator of a name keeps its slot.
                    let mut taken = false;
                    while table[2 * k] != 0 {
                        if self.enumerator_in_slot(&table, k).is_some_and(|(n, _)| self.name_bytes(n) == name) {
                            taken = true;
                            break;
                        }
                        k = (k + 1) & mask;
                    }
                    if !taken {
                        table[2 * k] = id;
                        table[2 * k + 1] = u32::try_from(i).unwrap_or(0);
                    }
                }
            }
            U32s::Owned(table)
        })
    }

    /// `(name offset, value)` of the enumerator slot `k` of an enumerator table points at.
    fn enumerator_in_slot(&self, table: &[u32], k: usize) -> Option<(u32, i64)> {
        let t = self.get(*table.get(2 * k)?)?;
        Self::enumerator_at(t.kind, t.kind_flag, t.extra, *table.get(2 * k + 1)? as usize)
    }

    /// [`Btf::enumerator`] through the enumerator table.
    pub(super) fn enumerator_indexed(&self, table: &U32s, name: &str) -> Option<i64> {
        let slots = table.len() / 2;
        if slots == 0 || name.is_empty() {
            return None;
        }
        let mask = slots - 1;
        let mut k = super::lookup::name_hash(name.as_bytes()) as usize & mask;
        for _ in 0..slots {
            let id = table.get(2 * k)?;
            if id == 0 {
                return None;
            }
            let t = self.get(id).filter(|t| matches!(t.kind, Kind::Enum | Kind::Enum64));
            let i = table.get(2 * k + 1)? as usize;
            if let Some((n, v)) = t.and_then(|t| Self::enumerator_at(t.kind, t.kind_flag, t.extra, i)) {
                if self.name_bytes(n) == name.as_bytes() {
                    return Some(v);
                }
            }
            k = (k + 1) & mask;
        }
        None
    }
}

/// What a walk of the types (or a stored index) gives a [`Btf`].
pub(super) struct Stored {
    pub(super) str_start: usize,
    pub(super) str_len: usize,
    pub(super) offsets: U32s,
    pub(super) types: u32,
    pub(super) groups: [Listed; LISTED],
    pub(super) index: [OnceCell<U32s>; LISTED],
    pub(super) enums: U32s,
}
