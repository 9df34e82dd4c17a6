//! Function parameters as bpftrace's `-lv` spells them (`int argc`, `char** argv`,
//! `struct Foo* foo1`, `const char* s`): the type names come from the DWARF type chain, not
//! from the converted types, so typedef names stay.

use super::{err, with_dwarf, Convert, DwarfIndex, Reader};
use gimli::UnitOffset;
use std::collections::HashMap;

/// Deepest chain of type DIEs followed for a name.
const MAX_NAME_DEPTH: u32 = 32;

/// The parameters of each of `functions`, in order, as `TYPE NAME` (only `TYPE` for an
/// unnamed parameter); a function DWARF doesn't describe gets an empty list. Err when the
/// binary has no usable DWARF.
pub fn param_lists(binary: &[u8], index: &DwarfIndex, functions: &[String]) -> Result<Vec<Vec<String>>, String> {
    with_dwarf(binary, |dwarf| {
        // Functions of one unit share its parsed header.
        let mut units: HashMap<gimli::DebugInfoOffset<usize>, gimli::Unit<Reader<'_>>> = HashMap::new();
        let mut out = Vec::with_capacity(functions.len());
        for f in functions {
            let Some(&(unit_off, die)) = index.functions.get(f) else {
                out.push(Vec::new());
                continue;
            };
            let unit = match units.entry(unit_off) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let header = dwarf.debug_info.header_from_offset(unit_off).map_err(err)?;
                    v.insert(dwarf.unit(header).map_err(err)?)
                }
            };
            let cx = Convert { dwarf, unit, structs: HashMap::new() };
            out.push(cx.param_names(die).unwrap_or_default());
        }
        Ok(out)
    })
}

impl<'d> Convert<'_, 'd> {
    /// The parameters of the subprogram at `offset`, as bpftrace lists them.
    fn param_names(&self, offset: UnitOffset) -> Result<Vec<String>, String> {
        let mut tree = self.unit.entries_tree(Some(offset)).map_err(err)?;
        let root = tree.root().map_err(err)?;
        let mut children = root.children();
        let mut out = Vec::new();
        while let Some(child) = children.next().map_err(err)? {
            let c = child.entry();
            if c.tag() != gimli::DW_TAG_formal_parameter {
                continue;
            }
            let ty = self.type_name(Self::type_ref(c), 0);
            out.push(match self.name(c) {
                Some(n) => format!("{ty} {n}"),
                None => ty,
            });
        }
        Ok(out)
    }

    /// bpftrace's name of the type at `offset`: base types and typedefs by name, `T*` for
    /// pointers (`void*` without a pointee), `struct`/`union`/`enum` with their name (or
    /// `<anonymous>`), `const T` (`T* const` for a const pointer); anything else is
    /// `<unknown type>`.
    fn type_name(&self, offset: Option<UnitOffset>, depth: u32) -> String {
        let Some(offset) = offset.filter(|_| depth <= MAX_NAME_DEPTH) else { return "void".into() };
        let Ok(e) = self.unit.entry(offset) else { return "<unknown type>".into() };
        let inner = Self::type_ref(&e);
        match e.tag() {
            gimli::DW_TAG_base_type | gimli::DW_TAG_typedef => self.name(&e).unwrap_or_default(),
            gimli::DW_TAG_pointer_type => match inner {
                Some(_) => format!("{}*", self.type_name(inner, depth + 1)),
                None => "void*".into(),
            },
            tag @ (gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type | gimli::DW_TAG_enumeration_type) => {
                let prefix = match tag {
                    gimli::DW_TAG_structure_type => "struct",
                    gimli::DW_TAG_union_type => "union",
                    _ => "enum",
                };
                format!("{prefix} {}", self.name(&e).unwrap_or_else(|| "<anonymous>".into()))
            }
            gimli::DW_TAG_const_type => {
                let inner_is_pointer = inner
                    .and_then(|o| self.unit.entry(o).ok())
                    .is_some_and(|i| i.tag() == gimli::DW_TAG_pointer_type);
                if inner_is_pointer {
                    format!("{} const", self.type_name(inner, depth + 1))
                } else {
                    format!("const {}", self.type_name(inner, depth + 1))
                }
            }
            _ => "<unknown type>".into(),
        }
    }
}
