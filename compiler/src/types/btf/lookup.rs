//! Finding types and enumerators by name. A name is first searched for in the string section
//! (memchr's substring search over vmlinux's 2.3 MB takes ~0.13 ms), then the group's name
//! offsets for that string: no other name is read. After a few such scans of a group, a hash
//! index of the group's names is built instead. Answers are kept, so each name costs one search
//! however often it is asked for, found or not.

use super::{group, u32_at, Btf, Kind, U32s, GROUPS, SCANS_BEFORE_INDEX};
use std::rc::Rc;

/// A hash of a type name, eight bytes at a time (names average ~20 bytes, and hashing every
/// function name of vmlinux is most of the cost of its index).
pub(super) fn name_hash(s: &[u8]) -> u32 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = s.len() as u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    (h.wrapping_mul(K) >> 32) as u32
}

impl Btf {
    /// The name table of index group `g`, built on first use.
    pub(super) fn index(&self, g: usize) -> &U32s {
        self.index[g].get_or_init(|| {
            let members: Vec<(u32, u32)> = match self.groups.get(g) {
                Some(list) => list.ids.iter().zip(list.names.iter()).collect(),
                None => self.group_types(g).map(|(id, off)| (id, self.name_at(off))).collect(),
            };
            let slots = (members.len() * 2).next_power_of_two().max(16);
            let mask = slots - 1;
            let mut table = vec![0u32; slots];
            for (id, name_off) in members {
                let name = self.name_bytes(name_off);
                if name.is_empty() {
                    continue;
                }
                let mut i = name_hash(name) as usize & mask;
                while table[i] != 0 {
                    i = (i + 1) & mask;
                }
                table[i] = id;
            }
            U32s::Owned(table)
        })
    }

    /// Every type id of index group `g` named `name`, in id order, searched for once per name.
    pub(super) fn ids_named(&self, g: usize, name: &str) -> Rc<[u32]> {
        if name.is_empty() || g >= GROUPS {
            return Rc::from([]);
        }
        let key = (g, Box::from(name));
        if let Some(ids) = self.found.borrow().get(&key) {
            return ids.clone();
        }
        let ids: Rc<[u32]> = self.search_named(g, name).into();
        self.found.borrow_mut().insert(key, ids.clone());
        ids
    }

    /// [`Btf::ids_named`] without its memory. The first lookups of a group scan for the name
    /// instead of indexing every name of the group (most scripts look up a type or two:
    /// struct task_struct, struct sock).
    fn search_named(&self, g: usize, name: &str) -> Vec<u32> {
        let scans = &self.scans[g];
        if self.index[g].get().is_none() && scans.get() < SCANS_BEFORE_INDEX {
            scans.set(scans.get() + 1);
            return self.scan_named(g, name);
        }
        let table = self.index(g);
        let mask = table.len().saturating_sub(1);
        let start = name_hash(name.as_bytes()) as usize & mask;
        let mut ids: Vec<u32> = (0..table.len())
            .map(|k| table.get((start + k) & mask).unwrap_or(0))
            .take_while(|&id| id != 0)
            .filter(|&id| self.name_of(id) == name.as_bytes())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The type ids of group `g` named `name`, without an index: the string section is searched
    /// for the name (BTF stores each string once, so there is usually one place), then the
    /// group's name offsets for that string offset; no other name is read.
    pub(super) fn scan_named(&self, g: usize, name: &str) -> Vec<u32> {
        let mut at = Vec::new();
        self.string_offsets(name.as_bytes(), &mut at);
        if at.is_empty() {
            return Vec::new();
        }
        match self.groups.get(g) {
            Some(list) => list.names.iter().zip(list.ids.iter()).filter(|(n, _)| at.contains(n)).map(|(_, id)| id).collect(),
            None => self.group_types(g).filter(|&(_, off)| at.contains(&self.name_at(off))).map(|(id, _)| id).collect(),
        }
    }

    /// Every offset (in this blob's string numbering, the base's included) of a string equal
    /// to `name`.
    pub(super) fn string_offsets(&self, name: &[u8], out: &mut Vec<u32>) {
        if let Some(b) = &self.base {
            b.string_offsets(name, out);
        }
        let Some(strs) = self.data.as_slice().get(self.str_start..self.str_start + self.str_len) else { return };
        if name.is_empty() {
            return;
        }
        // The name alone is searched for (its letters are rarer than the NULs around it, which
        // the search's prefilter would otherwise pick), then checked to be a whole string: a
        // NUL (or the section's start) before, a NUL (or the section's end) after.
        let finder = memchr::memmem::Finder::new(name);
        let mut from = 0;
        while let Some(pos) = strs.get(from..).and_then(|rest| finder.find(rest)) {
            let start = from + pos;
            let end = start + name.len();
            if (start == 0 || strs[start - 1] == 0) && strs.get(end).is_none_or(|&c| c == 0) {
                if let Ok(off) = u32::try_from(start) {
                    out.push(self.first_str.saturating_add(off));
                }
            }
            from = start + 1;
        }
    }

    /// The id of the type named `name` of one of `kinds`, preferring full definitions over
    /// forward declarations. Searches this blob only (not the base).
    pub fn find(&self, name: &str, kinds: &[Kind]) -> Option<u32> {
        let mut groups: Vec<usize> = kinds.iter().map(|&k| group(k)).collect();
        groups.sort_unstable();
        groups.dedup();
        let mut ids: Vec<u32> = groups.into_iter().flat_map(|g| self.ids_named(g, name).to_vec()).collect();
        ids.sort_unstable();
        let mut fwd = None;
        for id in ids {
            let Some(t) = self.get(id) else { continue };
            if kinds.contains(&t.kind) {
                if t.kind == Kind::Fwd {
                    fwd.get_or_insert(id);
                } else {
                    return Some(id);
                }
            }
        }
        fwd
    }

    /// The value of the enumerator `name` of any enum, the first enum (by id) that has one:
    /// the string section is searched for the name, then every enum's enumerators for its
    /// offset (no enumerator name is read). Used only for identifiers that name nothing else.
    pub fn enumerator(&self, name: &str) -> Option<i64> {
        if name.is_empty() {
            return self.enumerator_by_text(name);
        }
        if let Some(table) = self.enums.get() {
            return self.enumerator_indexed(table, name);
        }
        let mut at = Vec::new();
        self.string_offsets(name.as_bytes(), &mut at);
        if at.is_empty() {
            return None;
        }
        // The enums' bytes are read in place: no type is decoded, no name looked at.
        let data = self.data.as_slice();
        for (_, off) in self.group_types(group(Kind::Enum)) {
            let Some(info) = u32_at(data, off + 4) else { continue };
            let Some(kind) = Kind::from_u8(((info >> 24) & 0x1f) as u8) else { continue };
            let vlen = (info & 0xffff) as usize;
            let Some(extra) = data.get(off + 12..off + 12 + kind.extra(vlen as u32)) else { continue };
            let found = (0..vlen)
                .filter_map(|i| Self::enumerator_at(kind, info >> 31 == 1, extra, i))
                .find(|(n, _)| at.contains(n));
            if let Some((_, v)) = found {
                return Some(v);
            }
        }
        None
    }

    /// [`Btf::enumerator`] comparing every enumerator's name (for a name that can't be searched
    /// for: the empty one, which matches names that are missing or not UTF-8).
    pub(super) fn enumerator_by_text(&self, name: &str) -> Option<i64> {
        self.ids_of(group(Kind::Enum))
            .filter_map(|id| self.get(id))
            .filter(|t| matches!(t.kind, Kind::Enum | Kind::Enum64))
            .find_map(|t| self.enumerators(&t).into_iter().find(|(n, _)| *n == name).map(|(_, v)| v))
    }

    /// `(name offset, value)` of enumerator `i` of an ENUM or ENUM64 (`signed`: its kind flag)
    /// whose kind-specific bytes are `extra`.
    pub(super) fn enumerator_at(kind: Kind, signed: bool, extra: &[u8], i: usize) -> Option<(u32, i64)> {
        match kind {
            Kind::Enum => {
                let v = u32_at(extra, 8 * i + 4)?;
                let v = if signed { i64::from(v as i32) } else { i64::from(v) };
                Some((u32_at(extra, 8 * i)?, v))
            }
            Kind::Enum64 => {
                let lo = u64::from(u32_at(extra, 12 * i + 4)?);
                let hi = u64::from(u32_at(extra, 12 * i + 8)?);
                Some((u32_at(extra, 12 * i)?, ((hi << 32) | lo) as i64))
            }
            _ => None,
        }
    }
}
