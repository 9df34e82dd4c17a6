//! A reader of BTF (the kernel's type format, `/sys/kernel/btf/vmlinux`): bytes in, types out.
//!
//! Parsing only walks the type section once, recording where every fourth type starts and which
//! types are structs/unions, typedefs or enums (with their name offsets); nothing is converted up
//! front. [`Btf::find`] answers the first lookups of each group of kinds by searching the string
//! section for the name and then the group's name offsets for that string; after
//! `SCANS_BEFORE_INDEX` (8) names in a group it builds a hash index of the group's names; every
//! answer is kept (see `lookup.rs`). [`Btf::to_type`] / [`Btf::record`] convert single types on
//! demand. In vmlinux's ~130k types, the parse takes about 0.85 ms and a search of its strings
//! 0.13 ms; both are skipped when the index a previous run stored is given
//! ([`Btf::parse_indexed`], `stored.rs`). The blob itself may be a read-only mapping of
//! /sys/kernel/btf/vmlinux ([`BtfBytes`]), so nothing is copied.
//!
//! Module BTF is "split" BTF: its type ids and string offsets continue those of vmlinux, which is
//! passed as `base`.

use super::{Bitfield, Origin, Record, RecordField, RecordKind, StructRef, Type};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

mod decl;
mod lookup;
mod stored;

use stored::{Stored, U32s};

const MAGIC: u16 = 0xeb9f;
const HEADER_MIN: usize = 24;
/// Deepest chain of typedefs and qualifiers followed before giving up (loops in bad BTF).
const MAX_CHAIN: u32 = 64;

/// Why a BTF blob can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    #[error("not BTF data (bad magic)")]
    Magic,
    #[error("truncated BTF data: {0}")]
    Truncated(&'static str),
    #[error("unknown BTF type kind {kind} at type id {id}")]
    Kind { kind: u8, id: u32 },
}

/// The kinds of BTF types (`BTF_KIND_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    Datasec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    fn from_u8(k: u8) -> Option<Kind> {
        use Kind::*;
        Some(match k {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// Bytes of kind-specific data after the 12-byte common header.
    fn extra(self, vlen: u32) -> usize {
        let vlen = vlen as usize;
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }

    fn is_modifier(self) -> bool {
        matches!(self, Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag | Kind::DeclTag)
    }
}

/// Kinds looked up together share a name index (see [`Btf::find`]).
const GROUPS: usize = 5;
/// The groups whose type ids the parse lists (structs, typedefs, enums: ~20k types of vmlinux).
/// Functions and the rest (~110k) are found by scanning the type headers when first needed:
/// memory the parse fills is memory the process faults in, which costs more than the scan.
const LISTED: usize = 3;
/// The parse records the offset of one type in this many (see [`Btf::offset`]).
const STRIDE: usize = 4;
/// Lookups in a group answered by scanning before its index is built (see [`Btf::find`]).
const SCANS_BEFORE_INDEX: u32 = 8;

/// The index group of each raw kind (`BTF_KIND_*`): structs, unions and forward declarations;
/// typedefs and ints; enums; functions; everything else.
const GROUP_OF: [u8; 32] = {
    let mut g = [4u8; 32];
    g[4] = 0;
    g[5] = 0;
    g[7] = 0;
    g[8] = 1;
    g[1] = 1;
    g[6] = 2;
    g[19] = 2;
    g[12] = 3;
    g
};

/// `(fixed, per member)` bytes of kind-specific data of each raw kind, so the parse computes
/// sizes without branching on the kind. Kinds past `Enum64` are invalid.
const EXTRA: [(u8, u8); 20] = {
    let mut e = [(0u8, 0u8); 20];
    e[1] = (4, 0); // int
    e[3] = (12, 0); // array
    e[4] = (0, 12); // struct
    e[5] = (0, 12); // union
    e[6] = (0, 8); // enum
    e[13] = (0, 8); // func_proto
    e[14] = (4, 0); // var
    e[15] = (0, 12); // datasec
    e[17] = (4, 0); // decl_tag
    e[19] = (0, 12); // enum64
    e
};

/// The bytes of a BTF blob: owned, or a read-only mapping (of /sys/kernel/btf/vmlinux) that the
/// boxed owner keeps alive and releases when dropped.
pub enum BtfBytes {
    Owned(Vec<u8>),
    Mapped(Box<dyn AsRef<[u8]>>),
}

impl BtfBytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            BtfBytes::Owned(v) => v,
            BtfBytes::Mapped(m) => (**m).as_ref(),
        }
    }
}

impl From<Vec<u8>> for BtfBytes {
    fn from(v: Vec<u8>) -> BtfBytes {
        BtfBytes::Owned(v)
    }
}

/// One type as stored: the common header fields and its kind-specific bytes.
#[derive(Debug, Clone, Copy)]
pub struct BtfType<'a> {
    pub id: u32,
    pub kind: Kind,
    pub name: &'a str,
    pub vlen: u32,
    pub kind_flag: bool,
    /// `size` for ints, structs, unions, enums, floats, datasecs; the referenced type id for
    /// pointers, typedefs, qualifiers, functions and variables.
    pub size_or_type: u32,
    extra: &'a [u8],
}

/// A struct or union member.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub name: &'a str,
    pub type_id: u32,
    pub bit_offset: u32,
    /// Non-zero for bitfields.
    pub bitfield_size: u32,
}

/// Type ids, shared.
type Ids = Rc<[u32]>;

/// The types of one listed index group ([`LISTED`]), in id order: their ids, where they
/// start in the blob, and their name offsets (so a search by name offset reads no header).
#[derive(Debug, Default)]
struct Listed {
    ids: U32s,
    offs: U32s,
    names: U32s,
}

/// A parsed BTF blob.
pub struct Btf {
    data: BtfBytes,
    str_start: usize,
    str_len: usize,
    /// Offset in `data` of every [`STRIDE`]th type, for ids `first_id..`: the types between
    /// are found by stepping over their sizes.
    offsets: U32s,
    /// How many types this blob has.
    types: u32,
    /// The types of each of the first [`LISTED`] index groups ([`GROUP_OF`]).
    groups: [Listed; LISTED],
    first_id: u32,
    /// String offsets below this belong to the base.
    first_str: u32,
    base: Option<Rc<Btf>>,
    /// Named types by name, one table per group of kinds ([`GROUP_OF`]), each built once its
    /// group has had [`SCANS_BEFORE_INDEX`] lookups: an open-addressing table of type ids (0 is
    /// empty) keyed by a hash of the name. No allocation per name, and only the group's names
    /// are hashed (the ~10k structs and unions of vmlinux, not its ~130k types).
    index: [OnceCell<U32s>; GROUPS],
    /// Lookups answered by scanning so far, per group.
    scans: [Cell<u32>; GROUPS],
    /// What [`Btf::ids_named`] answered, by group and name: a name is searched for once (a
    /// script names `struct sock` in every probe that casts to it, and misses cost a scan too).
    found: RefCell<HashMap<(usize, Box<str>), Ids>>,
    /// The enumerator table ([`Btf::enumerator_index`]), when stored or built.
    enums: OnceCell<U32s>,
}

/// The group of index tables that holds `kind`.
fn group(kind: Kind) -> usize {
    usize::from(GROUP_OF[kind as usize])
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    d.get(off..off + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Btf {
    /// Parses a blob; `base` is vmlinux's BTF when `data` is a module's split BTF.
    pub fn parse(data: impl Into<BtfBytes>, base: Option<Rc<Btf>>) -> Result<Btf, BtfError> {
        let data = data.into();
        let parts = Self::walk(data.as_slice(), base.as_deref())?;
        Ok(Self::assemble(data, parts, base))
    }

    /// Checks the header: `(string section start, its length, type section start, its end)`.
    fn sections(data: &[u8]) -> Result<(usize, usize, usize, usize), BtfError> {
        let magic = data.get(0..2).map(|b| u16::from_le_bytes([b[0], b[1]])).ok_or(BtfError::Truncated("header"))?;
        if magic != MAGIC {
            return Err(BtfError::Magic);
        }
        let hdr_len = u32_at(data, 4).ok_or(BtfError::Truncated("header"))? as usize;
        if hdr_len < HEADER_MIN {
            return Err(BtfError::Truncated("header"));
        }
        let field = |i: usize| u32_at(data, 8 + 4 * i).map(|v| v as usize).ok_or(BtfError::Truncated("header"));
        let (type_off, type_len, str_off, str_len) = (field(0)?, field(1)?, field(2)?, field(3)?);
        let type_start = hdr_len.checked_add(type_off).ok_or(BtfError::Truncated("types"))?;
        let type_end = type_start.checked_add(type_len).ok_or(BtfError::Truncated("types"))?;
        let str_start = hdr_len.checked_add(str_off).ok_or(BtfError::Truncated("strings"))?;
        if type_end > data.len() || str_start.checked_add(str_len).is_none_or(|e| e > data.len()) {
            return Err(BtfError::Truncated("sections"));
        }
        if u32::try_from(type_end).is_err() {
            return Err(BtfError::Truncated("type offset"));
        }
        Ok((str_start, str_len, type_start, type_end))
    }

    /// Checks the header and walks the type section: the string section's place, and the
    /// offset of every type, and the ids of the listed groups.
    fn walk(data: &[u8], base: Option<&Btf>) -> Result<Stored, BtfError> {
        let (str_start, str_len, type_start, type_end) = Self::sections(data)?;
        let first_id = base.map_or(1, Btf::count);
        let mut offsets = Vec::with_capacity((type_end - type_start) / 24 / STRIDE + 1);
        let mut types = 0u32;
        let mut groups: [(Vec<u32>, Vec<u32>, Vec<u32>); LISTED] = Default::default();
        let mut off = type_start;
        // The hot loop of loading kernel types: no branch on the kind but the validity check.
        while off + 12 <= type_end {
            let info = u32_at(data, off + 4).ok_or(BtfError::Truncated("type"))?;
            let raw_kind = ((info >> 24) & 0x1f) as u8;
            let Some(&(fixed, per)) = EXTRA.get(usize::from(raw_kind)) else {
                let id = first_id.saturating_add(types);
                return Err(BtfError::Kind { kind: raw_kind, id });
            };
            if (types as usize).is_multiple_of(STRIDE) {
                offsets.push(off as u32);
            }
            if let Some((ids, offs, names)) = groups.get_mut(usize::from(GROUP_OF[usize::from(raw_kind)])) {
                ids.push(first_id.saturating_add(types));
                offs.push(off as u32);
                names.push(u32_at(data, off).ok_or(BtfError::Truncated("type"))?);
            }
            types += 1;
            off += 12 + usize::from(fixed) + usize::from(per) * (info & 0xffff) as usize;
        }
        if off != type_end {
            return Err(BtfError::Truncated("last type"));
        }
        let groups = groups.map(|(ids, offs, names)| Listed { ids: U32s::Owned(ids), offs: U32s::Owned(offs), names: U32s::Owned(names) });
        let offsets = U32s::Owned(offsets);
        Ok(Stored { str_start, str_len, offsets, types, groups, index: Default::default(), enums: U32s::default() })
    }

    /// One past the largest type id.
    pub fn count(&self) -> u32 {
        self.first_id.saturating_add(self.types)
    }

    /// The string at `off` of the string section ("" when out of range).
    pub fn str_at(&self, off: u32) -> &str {
        if off < self.first_str {
            return self.base.as_ref().map_or("", |b| b.str_at(off));
        }
        std::str::from_utf8(self.name_bytes(off)).unwrap_or("")
    }

    /// The bytes of the string at `off`, without its NUL (empty when out of range).
    fn name_bytes(&self, off: u32) -> &[u8] {
        if off < self.first_str {
            return self.base.as_ref().map_or(&[], |b| b.name_bytes(off));
        }
        let start = self.str_start + (off - self.first_str) as usize;
        let end = self.str_start + self.str_len;
        let Some(bytes) = self.data.as_slice().get(start..end) else { return &[] };
        match std::ffi::CStr::from_bytes_until_nul(bytes) {
            Ok(c) => c.to_bytes(),
            Err(_) => bytes,
        }
    }

    /// Where type `id` of this blob (not of its base) starts in `data`: from the offset the
    /// parse recorded for its group of [`STRIDE`] types, over the sizes of the types before it.
    fn offset(&self, id: u32) -> Option<usize> {
        let i = id.checked_sub(self.first_id)?;
        if i >= self.types {
            return None;
        }
        let data = self.data.as_slice();
        let mut off = self.offsets.get(i as usize / STRIDE)? as usize;
        for _ in 0..i as usize % STRIDE {
            let info = u32_at(data, off + 4)?;
            let &(fixed, per) = EXTRA.get(((info >> 24) & 0x1f) as usize)?;
            off += 12 + usize::from(fixed) + usize::from(per) * (info & 0xffff) as usize;
        }
        Some(off)
    }

    /// The `(name offset, info)` header words of type `id` of this blob (not of its base).
    fn header(&self, id: u32) -> Option<(u32, u32)> {
        let off = self.offset(id)?;
        let data = self.data.as_slice();
        Some((u32_at(data, off)?, u32_at(data, off + 4)?))
    }

    /// The name of type `id` of this blob (not of its base), as bytes.
    fn name_of(&self, id: u32) -> &[u8] {
        self.header(id).map_or(&[], |(n, _)| self.name_bytes(n))
    }

    /// The raw kind of type `id` of this blob (not of its base).
    fn raw_kind(&self, id: u32) -> Option<u8> {
        self.header(id).map(|(_, info)| ((info >> 24) & 0x1f) as u8)
    }

    /// The type with id `id` (0 is `void`).
    pub fn get(&self, id: u32) -> Option<BtfType<'_>> {
        if id == 0 {
            return Some(BtfType { id, kind: Kind::Void, name: "void", vlen: 0, kind_flag: false, size_or_type: 0, extra: &[] });
        }
        if id < self.first_id {
            return self.base.as_ref()?.get(id);
        }
        let off = self.offset(id)?;
        let data = self.data.as_slice();
        let name_off = u32_at(data, off)?;
        let info = u32_at(data, off + 4)?;
        let size_or_type = u32_at(data, off + 8)?;
        let kind = Kind::from_u8(((info >> 24) & 0x1f) as u8)?;
        let vlen = info & 0xffff;
        let extra = data.get(off + 12..off + 12 + kind.extra(vlen))?;
        Some(BtfType { id, kind, name: self.str_at(name_off), vlen, kind_flag: info >> 31 == 1, size_or_type, extra })
    }

    fn extra_u32(t: &BtfType<'_>, i: usize) -> u32 {
        u32_at(t.extra, 4 * i).unwrap_or(0)
    }

    /// `(encoding, bit offset, bits)` of an INT: encoding bit 0 is signed, 1 char, 2 bool.
    pub fn int_info(t: &BtfType<'_>) -> (u32, u32, u32) {
        let v = Self::extra_u32(t, 0);
        ((v >> 24) & 0xf, (v >> 16) & 0xff, v & 0xff)
    }

    /// `(element type, element count)` of an ARRAY.
    pub fn array_info(t: &BtfType<'_>) -> (u32, u32) {
        (Self::extra_u32(t, 0), Self::extra_u32(t, 2))
    }

    /// Members of a STRUCT or UNION.
    pub fn members<'a>(&'a self, t: &BtfType<'a>) -> impl Iterator<Item = Member<'a>> + 'a {
        let kind_flag = t.kind_flag;
        let extra = t.extra;
        let n = if matches!(t.kind, Kind::Struct | Kind::Union) { t.vlen as usize } else { 0 };
        (0..n).map(move |i| {
            let name = self.str_at(u32_at(extra, 12 * i).unwrap_or(0));
            let type_id = u32_at(extra, 12 * i + 4).unwrap_or(0);
            let off = u32_at(extra, 12 * i + 8).unwrap_or(0);
            let (bit_offset, bitfield_size) = if kind_flag { (off & 0xff_ffff, off >> 24) } else { (off, 0) };
            Member { name, type_id, bit_offset, bitfield_size }
        })
    }

    /// Parameters `(name, type id)` of a FUNC_PROTO.
    pub fn params<'a>(&'a self, t: &BtfType<'a>) -> Vec<(&'a str, u32)> {
        if t.kind != Kind::FuncProto {
            return Vec::new();
        }
        (0..t.vlen as usize)
            .map(|i| (self.str_at(u32_at(t.extra, 8 * i).unwrap_or(0)), u32_at(t.extra, 8 * i + 4).unwrap_or(0)))
            .collect()
    }

    /// Enumerators `(name, value)` of an ENUM or ENUM64.
    pub fn enumerators<'a>(&'a self, t: &BtfType<'a>) -> Vec<(&'a str, i64)> {
        (0..t.vlen as usize)
            .filter_map(|i| Self::enumerator_at(t.kind, t.kind_flag, t.extra, i))
            .map(|(n, v)| (self.str_at(n), v))
            .collect()
    }

    /// Every type id of this blob (not of its base).
    pub fn ids(&self) -> std::ops::Range<u32> {
        self.first_id..self.count()
    }

    /// The type ids of this blob in index group `g`, in id order, without decoding other types.
    fn ids_of(&self, g: usize) -> impl Iterator<Item = u32> + '_ {
        self.group_types(g).map(|(id, _)| id)
    }

    /// `(id, offset)` of the types of this blob in index group `g`, in id order.
    fn group_types(&self, g: usize) -> Box<dyn Iterator<Item = (u32, usize)> + '_> {
        match self.groups.get(g) {
            Some(list) => Box::new(list.ids.iter().zip(list.offs.iter()).map(|(id, off)| (id, off as usize))),
            None => Box::new(
                self.headers()
                    .filter(move |&(_, _, info)| usize::from(GROUP_OF[((info >> 24) & 0x1f) as usize]) == g)
                    .map(|(id, off, _)| (id, off)),
            ),
        }
    }

    /// The name offset of the type at `off`.
    fn name_at(&self, off: usize) -> u32 {
        u32_at(self.data.as_slice(), off).unwrap_or(0)
    }

    /// `(id, offset, info)` of every type of this blob, in order, stepping over their sizes.
    fn headers(&self) -> impl Iterator<Item = (u32, usize, u32)> + '_ {
        let data = self.data.as_slice();
        let mut off = self.offsets.get(0).map_or(0, |o| o as usize);
        self.ids().map_while(move |id| {
            let info = u32_at(data, off + 4)?;
            let &(fixed, per) = EXTRA.get(((info >> 24) & 0x1f) as usize)?;
            let here = off;
            off += 12 + usize::from(fixed) + usize::from(per) * (info & 0xffff) as usize;
            Some((id, here, info))
        })
    }

    /// Follows typedefs and qualifiers to the underlying type.
    pub fn skip_modifiers(&self, mut id: u32) -> Option<BtfType<'_>> {
        for _ in 0..MAX_CHAIN {
            let t = self.get(id)?;
            if !t.kind.is_modifier() {
                return Some(t);
            }
            id = t.size_or_type;
        }
        None
    }

    /// The type `id` in btc's model. Structs and unions become unresolved [`Type::Struct`]
    /// references (see [`Btf::record`]); `blob` is recorded in their [`Origin`].
    pub fn to_type(&self, id: u32, blob: u32) -> Type {
        let Some(t) = self.skip_modifiers(id) else { return Type::Void };
        match t.kind {
            Kind::Int => {
                let (enc, _, bits) = Self::int_info(&t);
                let bits = match t.size_or_type {
                    1 => 8,
                    2 => 16,
                    4 => 32,
                    8 => 64,
                    _ => bits.clamp(8, 64) as u8,
                };
                Type::Int { bits, signed: enc & 1 == 1 }
            }
            Kind::Enum | Kind::Enum64 => {
                let bits = u8::try_from(t.size_or_type.clamp(1, 8) * 8).unwrap_or(64);
                Type::Int { bits, signed: t.kind_flag }
            }
            Kind::Float => Type::Int { bits: u8::try_from(t.size_or_type.clamp(1, 8) * 8).unwrap_or(64), signed: false },
            Kind::Ptr => Type::kptr(self.to_type(t.size_or_type, blob)),
            Kind::Array => {
                let (elem, count) = Self::array_info(&t);
                let et = self.to_type(elem, blob);
                match et {
                    Type::Int { bits: 8, .. } if self.is_char(elem) => Type::Str { len: count },
                    et => Type::Array { elem: Box::new(et), count },
                }
            }
            Kind::Struct | Kind::Union | Kind::Fwd => {
                let kind = if t.kind == Kind::Union || (t.kind == Kind::Fwd && t.kind_flag) {
                    RecordKind::Union
                } else {
                    RecordKind::Struct
                };
                let size = if t.kind == Kind::Fwd { 0 } else { t.size_or_type };
                Type::Struct(Rc::new(StructRef::new(kind, t.name, size, Origin::Btf { blob, id: t.id })))
            }
            _ => Type::Void,
        }
    }

    /// True when `id` is a `char`-like one-byte integer (char arrays are strings).
    fn is_char(&self, id: u32) -> bool {
        self.skip_modifiers(id).is_some_and(|t| {
            t.kind == Kind::Int && t.size_or_type == 1 && (Self::int_info(&t).0 & 2 == 2 || t.name.contains("char"))
        })
    }

    /// The fields of struct or union `id`. Anonymous members (fields reached through them by
    /// name) come back already resolved.
    pub fn record(&self, id: u32, blob: u32) -> Option<Record> {
        self.record_depth(id, blob, 0)
    }

    fn record_depth(&self, id: u32, blob: u32, depth: u32) -> Option<Record> {
        let t = self.skip_modifiers(id)?;
        if !matches!(t.kind, Kind::Struct | Kind::Union) || depth > MAX_CHAIN {
            return None;
        }
        let mut fields = Vec::with_capacity(t.vlen as usize);
        for m in self.members(&t) {
            let mut ty = self.to_type(m.type_id, blob);
            if m.name.is_empty() {
                if let Type::Struct(s) = &ty {
                    if let Some(inner) = self.record_depth(m.type_id, blob, depth + 1) {
                        let _ = s.resolved.set(Rc::new(inner));
                    }
                }
            }
            // Old-style bitfields encode their width in the INT type instead of the member.
            let mut bits = m.bitfield_size;
            if bits == 0 {
                if let Some(it) = self.skip_modifiers(m.type_id).filter(|it| it.kind == Kind::Int) {
                    let (_, ioff, ibits) = Self::int_info(&it);
                    if ioff != 0 || ibits != it.size_or_type * 8 {
                        bits = ibits;
                    }
                }
            }
            let mut f = RecordField::new(m.name, m.bit_offset / 8, Type::Void);
            if bits != 0 {
                f.bitfield = Some(Bitfield { shift: (m.bit_offset % 8) as u8, bits: u8::try_from(bits).unwrap_or(64) });
                if !ty.is_int() {
                    ty = Type::Int { bits: 64, signed: false };
                }
            }
            f.ty = ty;
            f.enum_type = self.skip_modifiers(m.type_id).is_some_and(|t| matches!(t.kind, Kind::Enum | Kind::Enum64));
            fields.push(f);
        }
        Some(Record { name: t.name.to_string(), fields, size: t.size_or_type })
    }

    /// The parameters of the function-pointer typedef `name` (such as `btf_trace_sched_switch`),
    /// unnamed ones as `argN`.
    pub fn typedef_params(&self, name: &str, blob: u32) -> Option<Vec<(String, Type)>> {
        let id = self.find(name, &[Kind::Typedef])?;
        let ptr = self.skip_modifiers(id).filter(|t| t.kind == Kind::Ptr)?;
        let proto = self.skip_modifiers(ptr.size_or_type).filter(|t| t.kind == Kind::FuncProto)?;
        Some(
            self.params(&proto)
                .into_iter()
                .enumerate()
                .map(|(i, (n, t))| (if n.is_empty() { format!("arg{i}") } else { n.to_string() }, self.to_type(t, blob)))
                .collect(),
        )
    }

    /// The names of every type of `kinds` (for "did you mean" suggestions).
    pub fn names_of<'a>(&'a self, kinds: &'a [Kind]) -> impl Iterator<Item = &'a str> + 'a {
        self.ids()
            .filter(|&id| self.raw_kind(id).and_then(Kind::from_u8).is_some_and(|k| kinds.contains(&k)))
            .filter_map(|id| self.get(id))
            .filter(|t| !t.name.is_empty())
            .map(|t| t.name)
    }

    /// Every FUNC's name, for listing kfuncs.
    pub fn function_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids_of(group(Kind::Func)).filter_map(|id| self.get(id)).filter(|t| t.kind == Kind::Func).map(|t| t.name)
    }

    /// The parameters `(name, type)` and return type of function `name` (a FUNC), for typed
    /// `args` of kfunc and rawtracepoint probes.
    pub fn function(&self, name: &str, blob: u32) -> Option<(Vec<(String, Type)>, Type)> {
        let id = self.find(name, &[Kind::Func])?;
        let f = self.get(id)?;
        let proto = self.get(f.size_or_type)?;
        let params =
            self.params(&proto).into_iter().map(|(n, t)| (n.to_string(), self.to_type(t, blob))).collect();
        Some((params, self.to_type(proto.size_or_type, blob)))
    }
}

#[cfg(test)]
mod tests;
