//! C declarations of the preamble and of included headers: struct, union, enum and typedef
//! definitions, laid out with the C rules of x86-64 and arm64 (LP64).

use super::{RecordKind, StructRef, Type};
use std::collections::HashMap;
use std::rc::Rc;

/// The C definitions of a script (its preamble and the headers it includes).
#[derive(Debug, Default)]
pub struct CTypes {
    pub structs: HashMap<(RecordKind, String), Rc<StructRef>>,
    pub typedefs: HashMap<String, Type>,
    pub enums: HashMap<String, Type>,
    pub enumerators: HashMap<String, i64>,
}

impl CTypes {
    /// `struct NAME` / `union NAME` (either, when `kind` is None).
    pub fn record(&self, kind: Option<RecordKind>, name: &str) -> Option<Rc<StructRef>> {
        match kind {
            Some(k) => self.structs.get(&(k, name.to_string())).cloned(),
            None => self
                .structs
                .get(&(RecordKind::Struct, name.to_string()))
                .or_else(|| self.structs.get(&(RecordKind::Union, name.to_string())))
                .cloned(),
        }
    }

    pub fn typedef(&self, name: &str) -> Option<Type> {
        self.typedefs.get(name).cloned()
    }

    pub fn enum_type(&self, name: &str) -> Option<Type> {
        self.enums.get(name).cloned()
    }

    pub fn enum_value(&self, name: &str) -> Option<i64> {
        self.enumerators.get(name).copied()
    }

    /// Every struct, union, enum and typedef name, for suggestions.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.structs.keys().map(|(_, n)| n.clone()).collect();
        v.extend(self.typedefs.keys().cloned());
        v.extend(self.enums.keys().cloned());
        v
    }
}

/// C's base types (and bpftrace's integer type names), by their spelling.
pub fn base_type(name: &str) -> Option<Type> {
    let (bits, signed) = match name {
        "char" | "signed char" | "int8" | "int8_t" | "__s8" | "s8" => (8, true),
        "unsigned char" | "uint8" | "uint8_t" | "__u8" | "u8" | "bool" | "_Bool" => (8, false),
        "short" | "short int" | "signed short" | "int16" | "int16_t" | "__s16" | "s16" => (16, true),
        "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" | "__u16" | "u16" => (16, false),
        "int" | "signed" | "signed int" | "int32" | "int32_t" | "__s32" | "s32" => (32, true),
        "unsigned" | "unsigned int" | "uint32" | "uint32_t" | "__u32" | "u32" => (32, false),
        "long" | "long int" | "signed long" | "long long" | "long long int" | "signed long long" | "int64"
        | "int64_t" | "__s64" | "s64" | "ssize_t" => (64, true),
        "unsigned long" | "unsigned long int" | "unsigned long long" | "unsigned long long int" | "uint64"
        | "uint64_t" | "__u64" | "u64" | "size_t" | "uintptr_t" => (64, false),
        "float" => (32, false),
        "double" => (64, false),
        _ => return None,
    };
    Some(Type::Int { bits, signed })
}
