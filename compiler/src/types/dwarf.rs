//! DWARF of user binaries: the parameters of a function, typed, for uprobe `args` (bytes in,
//! types out, like the BTF reader). Pointers found here point to user memory.
//!
//! Entry point: [`uprobe_args`]. Structs reachable from the parameters are resolved eagerly
//! (memoised by DIE, so recursive structs and shared types are converted once).

use super::{Bitfield, Origin, Record, RecordField, RecordKind, StructRef, Type};
use gimli::{AttributeValue, DebuggingInformationEntry, EndianSlice, LittleEndian, Unit, UnitOffset};
use std::collections::HashMap;
use std::rc::Rc;

type Reader<'a> = EndianSlice<'a, LittleEndian>;

/// Deepest chain of types followed (typedefs, pointers, nested structs).
const MAX_DEPTH: u32 = 48;

/// The parameters and return type of a function, from DWARF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArgs {
    pub params: Vec<(String, Type)>,
    pub ret: Type,
}

impl FunctionArgs {
    /// The record behind `args` in a uprobe: one 8-byte slot per parameter, in order (slot
    /// `i` holds argument `i`, however the probe fetches it).
    pub fn record(&self) -> Record {
        let fields = self
            .params
            .iter()
            .enumerate()
            .map(|(i, (n, t))| RecordField::new(n.clone(), u32::try_from(i * 8).unwrap_or(u32::MAX), t.clone()))
            .collect();
        Record { name: "args".into(), fields, size: u32::try_from(self.params.len() * 8).unwrap_or(u32::MAX) }
    }
}

/// The typed parameters of `function` in the DWARF of the ELF `binary`; Err says why there
/// are none (no debug info, no such function, compressed sections).
pub fn uprobe_args(binary: &[u8], function: &str) -> Result<FunctionArgs, String> {
    function_args(binary, &index(binary)?, function)
}

/// Where each function of a binary is described: built in one pass, so that a uprobe wildcard
/// over many functions doesn't scan the DWARF once per function.
#[derive(Debug, Default)]
pub struct DwarfIndex {
    functions: HashMap<String, (gimli::DebugInfoOffset<usize>, UnitOffset)>,
}

/// Indexes the function definitions of `binary` by name (and linkage name).
pub fn index(binary: &[u8]) -> Result<DwarfIndex, String> {
    with_dwarf(binary, |dwarf| {
        let mut idx = DwarfIndex::default();
        let mut units = dwarf.units();
        while let Some(header) = units.next().map_err(err)? {
            let Some(unit_off) = header.offset().as_debug_info_offset() else { continue };
            let unit = dwarf.unit(header).map_err(err)?;
            let cx = Convert { dwarf, unit: &unit, structs: HashMap::new() };
            let mut entries = unit.entries();
            while let Some((_, e)) = entries.next_dfs().map_err(err)? {
                if e.tag() != gimli::DW_TAG_subprogram || e.attr_value(gimli::DW_AT_declaration).ok().flatten().is_some() {
                    continue;
                }
                let at = (unit_off, e.offset());
                for n in [cx.name(e), cx.string_attr(e, gimli::DW_AT_linkage_name)].into_iter().flatten() {
                    idx.functions.entry(n).or_insert(at);
                }
            }
        }
        Ok(idx)
    })
}

/// The typed parameters of `function`, found through `index`.
pub fn function_args(binary: &[u8], index: &DwarfIndex, function: &str) -> Result<FunctionArgs, String> {
    let &(unit_off, die) = index.functions.get(function).ok_or_else(|| format!("no debug info for function {function}"))?;
    with_dwarf(binary, |dwarf| {
        let header = dwarf.debug_info.header_from_offset(unit_off).map_err(err)?;
        let unit = dwarf.unit(header).map_err(err)?;
        let mut cx = Convert { dwarf, unit: &unit, structs: HashMap::new() };
        cx.function_at(die)
    })
}

/// The struct or union `name` (`kind`) defined in the DWARF of `binary`, with its fields.
pub fn struct_named(binary: &[u8], kind: RecordKind, name: &str) -> Result<Option<Type>, String> {
    with_dwarf(binary, |dwarf| {
        let mut units = dwarf.units();
        while let Some(header) = units.next().map_err(err)? {
            let unit = dwarf.unit(header).map_err(err)?;
            let mut cx = Convert { dwarf, unit: &unit, structs: HashMap::new() };
            if let Some(t) = cx.find_struct(kind, name) {
                return Ok(Some(t));
            }
        }
        Ok(None)
    })
}

/// Runs `f` on the DWARF sections of the ELF `binary`.
fn with_dwarf<T>(binary: &[u8], f: impl FnOnce(&gimli::Dwarf<Reader<'_>>) -> Result<T, String>) -> Result<T, String> {
    let elf = goblin::elf::Elf::parse(binary).map_err(|e| format!("not an ELF binary: {e}"))?;
    let mut compressed = false;
    let section = |name: &str| -> &[u8] {
        for sh in &elf.section_headers {
            if elf.shdr_strtab.get_at(sh.sh_name) == Some(name) && sh.sh_type != goblin::elf::section_header::SHT_NOBITS {
                let (off, size) = (sh.sh_offset as usize, sh.sh_size as usize);
                return binary.get(off..off.saturating_add(size)).unwrap_or(&[]);
            }
        }
        &[]
    };
    for sh in &elf.section_headers {
        let is_debug = elf.shdr_strtab.get_at(sh.sh_name).is_some_and(|n| n.starts_with(".debug_"));
        compressed |= is_debug && sh.sh_flags & u64::from(goblin::elf::section_header::SHF_COMPRESSED) != 0;
    }
    if section(".debug_info").is_empty() {
        return Err("the binary has no DWARF debug info".into());
    }
    if compressed {
        return Err("the binary's debug info is compressed, which btc can't read".into());
    }
    let dwarf = gimli::Dwarf::load(|id| -> Result<Reader<'_>, gimli::Error> {
        Ok(EndianSlice::new(section(id.name()), LittleEndian))
    })
    .map_err(err)?;
    f(&dwarf)
}

struct Convert<'a, 'd> {
    dwarf: &'a gimli::Dwarf<Reader<'d>>,
    unit: &'a Unit<Reader<'d>>,
    structs: HashMap<UnitOffset, Rc<StructRef>>,
}

fn err(e: gimli::Error) -> String {
    format!("bad DWARF: {e}")
}

impl<'d> Convert<'_, 'd> {
    fn name(&self, e: &DebuggingInformationEntry<'_, '_, Reader<'d>>) -> Option<String> {
        let v = e.attr_value(gimli::DW_AT_name).ok()??;
        let s = self.dwarf.attr_string(self.unit, v).ok()?;
        Some(String::from_utf8_lossy(s.slice()).into_owned())
    }

    fn udata(e: &DebuggingInformationEntry<'_, '_, Reader<'d>>, at: gimli::DwAt) -> Option<u64> {
        e.attr_value(at).ok()?.and_then(|v| v.udata_value())
    }

    fn type_ref(e: &DebuggingInformationEntry<'_, '_, Reader<'d>>) -> Option<UnitOffset> {
        match e.attr_value(gimli::DW_AT_type).ok()?? {
            AttributeValue::UnitRef(o) => Some(o),
            _ => None,
        }
    }

    fn string_attr(&self, e: &DebuggingInformationEntry<'_, '_, Reader<'d>>, at: gimli::DwAt) -> Option<String> {
        let v = e.attr_value(at).ok()??;
        let s = self.dwarf.attr_string(self.unit, v).ok()?;
        Some(String::from_utf8_lossy(s.slice()).into_owned())
    }

    /// The parameters of the subprogram at `offset`.
    fn function_at(&mut self, offset: UnitOffset) -> Result<FunctionArgs, String> {
        let e = self.unit.entry(offset).map_err(err)?;
        let ret = Self::type_ref(&e).map_or(Type::Void, |o| self.convert(o, 0));
        let mut tree = self.unit.entries_tree(Some(offset)).map_err(err)?;
        let root = tree.root().map_err(err)?;
        let mut children = root.children();
        let mut raw = Vec::new();
        while let Some(child) = children.next().map_err(err)? {
            let c = child.entry();
            if c.tag() == gimli::DW_TAG_formal_parameter {
                raw.push((self.name(c).unwrap_or_else(|| format!("arg{}", raw.len())), Self::type_ref(c)));
            }
        }
        let params = raw.into_iter().map(|(n, t)| (n, t.map_or(Type::Void, |o| self.convert(o, 0)))).collect();
        Ok(FunctionArgs { params, ret })
    }

    /// The definition of struct/union `name` in this unit.
    fn find_struct(&mut self, kind: RecordKind, name: &str) -> Option<Type> {
        let want = match kind {
            RecordKind::Struct => [gimli::DW_TAG_structure_type, gimli::DW_TAG_class_type],
            RecordKind::Union => [gimli::DW_TAG_union_type, gimli::DW_TAG_union_type],
        };
        let mut entries = self.unit.entries();
        while let Ok(Some((_, e))) = entries.next_dfs() {
            if !want.contains(&e.tag()) || e.attr_value(gimli::DW_AT_declaration).ok().flatten().is_some() {
                continue;
            }
            if self.name(e).as_deref() == Some(name) {
                let offset = e.offset();
                return Some(self.convert(offset, 0));
            }
        }
        None
    }

    /// The type of the DIE at `offset`.
    fn convert(&mut self, offset: UnitOffset, depth: u32) -> Type {
        if depth > MAX_DEPTH {
            return Type::Void;
        }
        let Ok(e) = self.unit.entry(offset) else { return Type::Void };
        let next = |cx: &mut Self, e: &DebuggingInformationEntry<'_, '_, Reader<'d>>| {
            Self::type_ref(e).map_or(Type::Void, |o| cx.convert(o, depth + 1))
        };
        let size = Self::udata(&e, gimli::DW_AT_byte_size).unwrap_or(0);
        match e.tag() {
            gimli::DW_TAG_base_type => {
                let enc = match e.attr_value(gimli::DW_AT_encoding).ok().flatten() {
                    Some(AttributeValue::Encoding(enc)) => enc,
                    _ => gimli::DW_ATE_unsigned,
                };
                let signed = matches!(enc, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char);
                Type::Int { bits: u8::try_from(size.clamp(1, 8) * 8).unwrap_or(64), signed }
            }
            gimli::DW_TAG_enumeration_type => Type::Int { bits: u8::try_from(size.clamp(1, 8) * 8).unwrap_or(32), signed: false },
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => {
                Type::Ptr { pointee: Box::new(next(self, &e)), user: true }
            }
            gimli::DW_TAG_typedef
            | gimli::DW_TAG_const_type
            | gimli::DW_TAG_volatile_type
            | gimli::DW_TAG_restrict_type
            | gimli::DW_TAG_atomic_type => next(self, &e),
            gimli::DW_TAG_array_type => {
                let elem = next(self, &e);
                let count = self.array_count(offset);
                match elem {
                    Type::Int { bits: 8, .. } => Type::Str { len: count },
                    elem => Type::Array { elem: Box::new(elem), count },
                }
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
                self.record(offset, &e, depth)
            }
            _ => Type::Void,
        }
    }

    /// Elements of an array DIE (its first dimension).
    fn array_count(&self, offset: UnitOffset) -> u32 {
        let Ok(mut tree) = self.unit.entries_tree(Some(offset)) else { return 0 };
        let Ok(root) = tree.root() else { return 0 };
        let mut children = root.children();
        while let Ok(Some(child)) = children.next() {
            let c = child.entry();
            if c.tag() == gimli::DW_TAG_subrange_type {
                if let Some(n) = Self::udata(c, gimli::DW_AT_count) {
                    return u32::try_from(n).unwrap_or(0);
                }
                if let Some(u) = Self::udata(c, gimli::DW_AT_upper_bound) {
                    return u32::try_from(u + 1).unwrap_or(0);
                }
                return 0;
            }
        }
        0
    }

    fn record(&mut self, offset: UnitOffset, e: &DebuggingInformationEntry<'_, '_, Reader<'d>>, depth: u32) -> Type {
        if let Some(s) = self.structs.get(&offset) {
            return Type::Struct(s.clone());
        }
        let kind = if e.tag() == gimli::DW_TAG_union_type { RecordKind::Union } else { RecordKind::Struct };
        let name = self.name(e).unwrap_or_default();
        let size = Self::udata(e, gimli::DW_AT_byte_size).unwrap_or(0);
        let s = Rc::new(StructRef::new(kind, name.clone(), u32::try_from(size).unwrap_or(0), Origin::Dwarf));
        if e.attr_value(gimli::DW_AT_declaration).ok().flatten().is_some() {
            return Type::Struct(s);
        }
        self.structs.insert(offset, s.clone());
        let mut members = Vec::new();
        if let Ok(mut tree) = self.unit.entries_tree(Some(offset)) {
            if let Ok(root) = tree.root() {
                let mut children = root.children();
                while let Ok(Some(child)) = children.next() {
                    let c = child.entry();
                    if c.tag() != gimli::DW_TAG_member {
                        continue;
                    }
                    let loc = Self::udata(c, gimli::DW_AT_data_member_location);
                    let bit_size = Self::udata(c, gimli::DW_AT_bit_size);
                    let data_bit = Self::udata(c, gimli::DW_AT_data_bit_offset);
                    // DWARF 2/3 bitfields count DW_AT_bit_offset from the storage unit's top.
                    let old_bit = Self::udata(c, gimli::DW_AT_bit_offset);
                    let unit_size = Self::udata(c, gimli::DW_AT_byte_size);
                    members.push((self.name(c).unwrap_or_default(), Self::type_ref(c), loc, bit_size, data_bit, old_bit, unit_size));
                }
            }
        }
        let mut fields = Vec::new();
        for (n, t, loc, bit_size, data_bit, old_bit, unit_size) in members {
            let ty = t.map_or(Type::Void, |o| self.convert(o, depth + 1));
            let mut f = RecordField::new(n, 0, ty);
            match (bit_size, data_bit, old_bit) {
                (Some(bits), Some(abs), _) => {
                    f.offset = u32::try_from(abs / 8).unwrap_or(0);
                    f.bitfield = Some(Bitfield { shift: (abs % 8) as u8, bits: u8::try_from(bits).unwrap_or(64) });
                }
                (Some(bits), None, Some(from_top)) => {
                    let unit_bits = unit_size.unwrap_or(u64::from(f.ty.c_size())) * 8;
                    let abs = loc.unwrap_or(0) * 8 + unit_bits.saturating_sub(from_top + bits);
                    f.offset = u32::try_from(abs / 8).unwrap_or(0);
                    f.bitfield = Some(Bitfield { shift: (abs % 8) as u8, bits: u8::try_from(bits).unwrap_or(64) });
                }
                _ => f.offset = u32::try_from(loc.unwrap_or(0)).unwrap_or(0),
            }
            fields.push(f);
        }
        let _ = s.resolved.set(Rc::new(Record { name, fields, size: u32::try_from(size).unwrap_or(0) }));
        Type::Struct(s)
    }
}

mod names;
pub use names::param_lists;

#[cfg(test)]
mod tests;
