//! C declarations of the preamble and of included headers: struct, union, enum and typedef
//! definitions, laid out with the C rules of x86-64 and arm64 (LP64). Everything else a header
//! declares (functions, variables, inline function bodies) is skipped.

use super::cpp::{expand, lex, Preprocessed, TokKind, Token};
use super::{Origin, RecordKind, StructRef, Type, TypeDb};
use crate::ast::PreambleItem;
use crate::diag::{Diagnostic, Span};
use std::collections::HashMap;
use std::rc::Rc;

mod parse;
pub use parse::{parse_declarations, parse_declarations_with};

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

/// The C types of a script: the declarations of the headers it includes, then its own
/// definitions (whose problems are reported, at their place in the script).
pub fn build(pre: &Preprocessed, preamble: &[PreambleItem], db: &TypeDb<'_>) -> (CTypes, Vec<Diagnostic>) {
    let mut types = CTypes::default();
    // Headers are best effort: what can't be parsed is skipped (and rarely matters).
    parse_declarations(&pre.header_tokens, &mut types, db, false);
    let mut diags = Vec::new();
    let items: Vec<Vec<Token>> = preamble
        .iter()
        .filter(|i| !i.text.trim_start().starts_with('#'))
        .map(|item| expand(&lex(&item.text, item.span.start), &pre.macros))
        .collect();
    // When the preamble redefines a kernel struct, bpftrace can't take the other types its
    // definitions name from BTF (clang would see two definitions): they must be complete
    // without kernel types.
    let redefined = items.iter().find_map(|toks| redefines_kernel_struct(toks, db));
    for toks in &items {
        for (pos, msg) in parse_declarations_with(toks, &mut types, db, true, redefined.is_none()) {
            let len = toks.iter().find(|t| t.pos == pos).map_or(1, |t| t.text.len());
            let missing_type = msg.starts_with("field has incomplete type") || msg.starts_with("unknown type name");
            let mut d = Diagnostic::error(Span::new(pos as usize, pos as usize + len), msg).in_c_source();
            if let Some(r) = redefined.as_ref().filter(|_| missing_type) {
                d = d.with_hint(format!(
                    "the preamble redefines {r}, a kernel type: its definitions then take no types from kernel BTF"
                ));
            }
            diags.push(d);
        }
    }
    (types, diags)
}

/// The first struct or union that declarations define (`struct NAME {`) and kernel BTF defines
/// too, as `struct NAME`.
fn redefines_kernel_struct(toks: &[Token], db: &TypeDb<'_>) -> Option<String> {
    toks.windows(3).find_map(|w| {
        let kind = match w[0].text.as_str() {
            "struct" => RecordKind::Struct,
            "union" => RecordKind::Union,
            _ => return None,
        };
        if w[1].kind != TokKind::Ident || !w[2].is("{") {
            return None;
        }
        match db.struct_named(Some(kind), &w[1].text) {
            Some(Type::Struct(s)) if s.origin != Origin::C && db.record(&s).is_ok() => Some(s.display_name()),
            _ => None,
        }
    })
}

/// Problems with the script's directives, at their place in the original script: malformed
/// directives, headers that were not found (in clang's words, as bpftrace reports them), and
/// kernel headers when there is no kernel BTF to stand in for them.
pub fn directive_diagnostics(pre: &Preprocessed, db: &TypeDb<'_>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> =
        pre.errors.iter().map(|(s, e, m)| Diagnostic::error(Span::new(*s as usize, *e as usize), m.clone()).in_c_source()).collect();
    if !pre.kernel_headers.is_empty() && !db.has_kernel_btf() {
        for (name, (s, e)) in &pre.kernel_headers {
            out.push(
                Diagnostic::error(Span::new(*s as usize, *e as usize), format!("'{name}' needs kernel BTF"))
                    .with_hint("btc takes kernel types from BTF, not from the kernel's headers, and this kernel has no BTF"),
            );
        }
    }
    for (name, span) in &pre.missing {
        let (s, e) = span.unwrap_or((0, 0));
        out.push(
            Diagnostic::error(Span::new(s as usize, e as usize), format!("'{name}' file not found"))
                .in_c_source()
                .with_hint("headers are searched in the -I directories, /usr/local/include, /usr/include and the kernel's source tree"),
        );
    }
    out
}

#[cfg(test)]
mod tests;
