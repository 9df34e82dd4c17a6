//! The declaration parser: C tokens (already macro-expanded) in, definitions into [`CTypes`].

use super::CTypes;
use crate::types::cpp::{TokKind, Token};
use crate::types::{Bitfield, Origin, Record, RecordField, RecordKind, StructRef, Type, TypeDb};
use std::rc::Rc;

/// Parses declarations into `types`. Kernel types named but not defined in C come from `db`
/// (kernel BTF). With `report`, problems come back as (token offset, message); headers are
/// parsed with `report` off and skip what they can't parse.
pub fn parse_declarations(toks: &[Token], types: &mut CTypes, db: &TypeDb<'_>, report: bool) -> Vec<(u32, String)> {
    parse_declarations_with(toks, types, db, report, true)
}

/// [`parse_declarations`]; with `kernel` false, kernel types (BTF structs, unions, enums and
/// typedefs) are not used: names only C's own types and what `toks` defines.
pub fn parse_declarations_with(
    toks: &[Token],
    types: &mut CTypes,
    db: &TypeDb<'_>,
    report: bool,
    kernel: bool,
) -> Vec<(u32, String)> {
    let mut p = Parser { toks, i: 0, types, db, errors: Vec::new(), report, depth: 0, kernel };
    while p.i < p.toks.len() {
        let start = p.i;
        if p.declaration().is_err() {
            // Skip the whole declaration, from its start (braces and all).
            p.i = start;
            p.recover();
        }
        if p.i == start {
            p.i += 1;
        }
    }
    p.errors
}

struct Parser<'a, 'b> {
    toks: &'a [Token],
    i: usize,
    types: &'a mut CTypes,
    db: &'a TypeDb<'b>,
    errors: Vec<(u32, String)>,
    report: bool,
    /// Nesting of declarators and struct bodies, bounded so deep input can't overflow the stack.
    depth: u32,
    /// Kernel (BTF) types may complete what the declarations name.
    kernel: bool,
}

const MAX_DEPTH: u32 = 64;

/// A parse failure, already recorded.
struct Failed;

type P<T> = Result<T, Failed>;

/// How a declarator changes the base type, innermost first.
#[derive(Debug, Clone)]
enum Op {
    Ptr,
    Array(u32),
    Func,
}

const QUALIFIERS: &[&str] = &[
    "const", "volatile", "restrict", "__restrict", "__restrict__", "__const", "__volatile__", "_Atomic", "__extension__",
    "inline", "__inline", "__inline__", "static", "extern", "register", "auto", "_Noreturn", "__thread",
    "_Thread_local", "__signed__",
];

const BASE_WORDS: &[&str] =
    &["void", "char", "short", "int", "long", "signed", "unsigned", "float", "double", "_Bool", "bool", "__int128", "_Complex"];

impl Parser<'_, '_> {
    fn peek(&self) -> &str {
        self.toks.get(self.i).map_or("", |t| t.text.as_str())
    }

    fn peek_at(&self, k: usize) -> &str {
        self.toks.get(self.i + k).map_or("", |t| t.text.as_str())
    }

    fn pos(&self) -> u32 {
        self.toks.get(self.i).or_else(|| self.toks.last()).map_or(0, |t| t.pos)
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.peek() == s {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn fail<T>(&mut self, msg: impl Into<String>) -> P<T> {
        if self.report {
            let pos = self.pos();
            self.errors.push((pos, msg.into()));
        }
        Err(Failed)
    }

    fn expect(&mut self, s: &str) -> P<()> {
        if self.eat(s) {
            Ok(())
        } else {
            let found = if self.peek().is_empty() { "the end of the preamble".to_string() } else { format!("'{}'", self.peek()) };
            self.fail(format!("expected '{s}', found {found}"))
        }
    }

    /// Skips to the end of the current declaration.
    fn recover(&mut self) {
        let mut depth = 0i32;
        while self.i < self.toks.len() {
            let t = self.peek().to_string();
            self.i += 1;
            match t.as_str() {
                "{" | "(" | "[" => depth += 1,
                "}" | ")" | "]" => depth -= 1,
                ";" if depth <= 0 => return,
                _ => {}
            }
        }
    }

    /// Skips a balanced group starting at an opening bracket.
    fn skip_group(&mut self) {
        let mut depth = 0i32;
        while self.i < self.toks.len() {
            match self.peek() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth -= 1,
                _ => {}
            }
            self.i += 1;
            if depth <= 0 {
                return;
            }
        }
    }

    /// Skips `__attribute__((...))`, `__asm__(...)`, `_Alignas(...)` and the like; returns
    /// whether one said `packed`.
    fn attributes(&mut self) -> bool {
        let mut packed = false;
        loop {
            match self.peek() {
                "__attribute__" | "__attribute" | "__asm__" | "asm" | "__asm" | "_Alignas" | "__declspec"
                | "__typeof__" => {
                    self.i += 1;
                    if self.peek() == "(" {
                        let start = self.i;
                        self.skip_group();
                        packed |= self.toks[start..self.i].iter().any(|t| t.is("packed") || t.is("__packed__"));
                    }
                }
                q if QUALIFIERS.contains(&q) => self.i += 1,
                _ => return packed,
            }
        }
    }

    fn declaration(&mut self) -> P<()> {
        if self.eat(";") {
            return Ok(());
        }
        if matches!(self.peek(), "_Static_assert" | "static_assert") {
            self.recover();
            return Ok(());
        }
        let typedef = self.toks[self.i..].iter().take_while(|t| !t.is(";") && !t.is("{")).any(|t| t.is("typedef"));
        let (base, chars) = self.specifiers_char()?;
        // bpftrace accepts a struct definition without its `;`.
        if self.eat(";") || self.i >= self.toks.len() {
            return Ok(());
        }
        loop {
            let (name, ops) = self.declarator()?;
            self.attributes();
            if self.peek() == "{" {
                // A function definition.
                self.skip_group();
                return Ok(());
            }
            if self.eat("=") {
                // An initialiser.
                while !matches!(self.peek(), "," | ";" | "") {
                    if matches!(self.peek(), "(" | "{" | "[") {
                        self.skip_group();
                    } else {
                        self.i += 1;
                    }
                }
            }
            if typedef {
                if let Some(n) = name {
                    let t = apply(base.clone(), &ops, chars);
                    self.types.typedefs.insert(n, t);
                }
            }
            if !self.eat(",") {
                break;
            }
        }
        self.expect(";")
    }

    /// Declaration specifiers: qualifiers, storage classes and the base type.
    fn specifiers(&mut self) -> P<Type> {
        self.specifiers_char().map(|(t, _)| t)
    }

    /// [`Self::specifiers`], and whether the base type is plain `char` (neither `signed` nor
    /// `unsigned` said, nor a typedef): only arrays of plain `char` are strings, as clang's
    /// types tell bpftrace.
    fn specifiers_char(&mut self) -> P<(Type, bool)> {
        let mut words: Vec<String> = Vec::new();
        let mut ty: Option<Type> = None;
        loop {
            self.attributes();
            let t = self.peek().to_string();
            match t.as_str() {
                "typedef" => self.i += 1,
                "struct" | "union" => {
                    self.i += 1;
                    ty = Some(self.record_spec(if t == "union" { RecordKind::Union } else { RecordKind::Struct })?);
                }
                "enum" => {
                    self.i += 1;
                    ty = Some(self.enum_spec()?);
                }
                w if BASE_WORDS.contains(&w) => {
                    words.push(t.clone());
                    self.i += 1;
                }
                _ if ty.is_none() && words.is_empty() && self.toks.get(self.i).is_some_and(|t| t.kind == TokKind::Ident) => {
                    let Some(found) = self.typedef_named(&t) else {
                        return self.fail(format!("unknown type name '{t}'"));
                    };
                    self.i += 1;
                    ty = Some(found);
                }
                _ => break,
            }
        }
        match ty {
            Some(t) => Ok((t, false)),
            None if !words.is_empty() => {
                let chars = words.iter().all(|w| w == "char");
                Ok((base_words(&words), chars))
            }
            None => self.fail(format!("expected a type, found '{}'", self.peek())),
        }
    }

    fn typedef_named(&self, name: &str) -> Option<Type> {
        self.types.typedefs.get(name).cloned().or_else(|| {
            if !self.kernel {
                return super::base_type(name);
            }
            let t = self.db.type_named(name)?;
            // A kernel struct used by value needs its size.
            if let Type::Struct(s) = &t {
                let _ = self.db.record(s);
            }
            Some(t)
        })
    }

    fn enter(&mut self) -> P<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return self.fail("declaration nested too deeply");
        }
        Ok(())
    }

    /// `struct|union [name] [{ members }]`
    fn record_spec(&mut self, kind: RecordKind) -> P<Type> {
        self.enter()?;
        let r = self.record_spec_inner(kind);
        self.depth -= 1;
        r
    }

    fn record_spec_inner(&mut self, kind: RecordKind) -> P<Type> {
        let mut packed = self.attributes();
        let name = match self.toks.get(self.i) {
            Some(t) if t.kind == TokKind::Ident => {
                self.i += 1;
                t.text.to_string()
            }
            _ => String::new(),
        };
        if self.peek() != "{" {
            if name.is_empty() {
                return self.fail(format!("expected a name or '{{' after '{}'", kind.keyword()));
            }
            return Ok(self.record_ref(kind, &name));
        }
        self.i += 1;
        let mut members: Vec<(String, Type, Option<u32>)> = Vec::new();
        while !self.eat("}") {
            if self.i >= self.toks.len() {
                return self.fail(format!("unterminated {} definition", kind.keyword()));
            }
            if self.eat(";") {
                continue;
            }
            let (base, chars) = self.specifiers_char()?;
            if self.eat(";") || self.peek() == "}" {
                // An anonymous struct or union member.
                if matches!(&base, Type::Struct(s) if s.name.is_empty()) {
                    members.push((String::new(), base, None));
                }
                continue;
            }
            loop {
                let at = self.i;
                let (name, ops) = if self.peek() == ":" { (None, Vec::new()) } else { self.declarator()? };
                let ty = apply(base.clone(), &ops, chars);
                if let Some(s) = self.incomplete(&ty) {
                    // Point at the member's name, as clang does.
                    let name_at = self.toks[at..self.i].iter().position(|t| name.as_deref().is_some_and(|n| t.is(n)));
                    self.i = at + name_at.unwrap_or(0);
                    return self.fail(format!("field has incomplete type '{}'", s.display_name()));
                }
                let bits = if self.eat(":") { Some(u32::try_from(self.const_expr_until(&[",", ";"])?).unwrap_or(0)) } else { None };
                self.attributes();
                members.push((name.unwrap_or_default(), ty, bits));
                if !self.eat(",") {
                    break;
                }
            }
            // clang accepts the last member without its `;` (with a warning), and so does
            // bpftrace.
            if self.peek() != "}" {
                self.expect(";")?;
            }
        }
        packed |= self.attributes();
        let record = self.layout(kind, &name, &members, packed);
        let s = Rc::new(StructRef::resolved(kind, record, Origin::C));
        if !name.is_empty() {
            self.types.structs.insert((kind, name), s.clone());
        }
        Ok(Type::Struct(s))
    }

    /// The struct a member of type `t` holds by value (directly or in an array) when it has
    /// no definition: not in C, nor (when they may be used) in kernel BTF.
    fn incomplete(&self, t: &Type) -> Option<Rc<StructRef>> {
        match t {
            Type::Array { elem, .. } => self.incomplete(elem),
            Type::Struct(s) if s.record().is_some() => None,
            Type::Struct(s) if s.origin == Origin::C => Some(s.clone()),
            Type::Struct(s) => self.db.record(s).err().map(|_| s.clone()),
            _ => None,
        }
    }

    /// A struct named without a body: the preamble's, else the kernel's, else a declaration
    /// resolved later (it may be defined further down).
    fn record_ref(&mut self, kind: RecordKind, name: &str) -> Type {
        if let Some(s) = self.types.record(Some(kind), name) {
            return Type::Struct(s);
        }
        if let Some(t) = self.db.struct_named(Some(kind), name).filter(|_| self.kernel) {
            return t;
        }
        Type::Struct(Rc::new(StructRef::new(kind, name, 0, Origin::C)))
    }

    /// `enum [name] [: type] [{ A [= v], ... }]`
    fn enum_spec(&mut self) -> P<Type> {
        self.attributes();
        let name = match self.toks.get(self.i) {
            Some(t) if t.kind == TokKind::Ident => {
                self.i += 1;
                t.text.to_string()
            }
            _ => String::new(),
        };
        let mut under = None;
        if self.eat(":") {
            under = Some(self.specifiers()?);
        }
        if !self.eat("{") {
            return Ok(self.types.enums.get(&name).cloned().or_else(|| self.db.enum_named(&name).filter(|_| self.kernel)).unwrap_or(Type::Int { bits: 32, signed: false }));
        }
        let mut next = 0i64;
        let mut negative = false;
        while !self.eat("}") {
            let Some(t) = self.toks.get(self.i).filter(|t| t.kind == TokKind::Ident) else {
                return self.fail(format!("expected an enumerator name, found '{}'", self.peek()));
            };
            let n = t.text.to_string();
            self.i += 1;
            self.attributes();
            if self.eat("=") {
                next = self.const_expr_until(&[",", "}"])?;
            }
            negative |= next < 0;
            self.types.enumerators.insert(n, next);
            next = next.wrapping_add(1);
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        self.attributes();
        let t = under.unwrap_or(Type::Int { bits: 32, signed: negative });
        if !name.is_empty() {
            self.types.enums.insert(name, t.clone());
        }
        Ok(t)
    }

    /// A declarator: its name (None when abstract) and what it does to the base type.
    fn declarator(&mut self) -> P<(Option<String>, Vec<Op>)> {
        self.enter()?;
        let r = self.declarator_inner();
        self.depth -= 1;
        r
    }

    fn declarator_inner(&mut self) -> P<(Option<String>, Vec<Op>)> {
        let mut ptrs = 0;
        loop {
            self.attributes();
            if self.eat("*") {
                ptrs += 1;
            } else {
                break;
            }
        }
        let mut name = None;
        let mut inner = Vec::new();
        if self.peek() == "(" && (self.peek_at(1) == "*" || self.peek_at(1) == "(" || self.peek_at(1) == "^") {
            self.i += 1;
            let (n, ops) = self.declarator()?;
            name = n;
            inner = ops;
            self.expect(")")?;
        } else if let Some(t) = self.toks.get(self.i).filter(|t| t.kind == TokKind::Ident) {
            name = Some(t.text.to_string());
            self.i += 1;
        }
        let mut suffixes = Vec::new();
        loop {
            self.attributes();
            if self.eat("[") {
                let n = if self.peek() == "]" { 0 } else { self.const_expr_until(&["]"])? };
                self.expect("]")?;
                suffixes.push(Op::Array(u32::try_from(n.max(0)).unwrap_or(u32::MAX)));
            } else if self.peek() == "(" {
                self.skip_group();
                suffixes.push(Op::Func);
            } else {
                break;
            }
        }
        let mut ops: Vec<Op> = std::iter::repeat_n(Op::Ptr, ptrs).collect();
        ops.extend(suffixes.into_iter().rev());
        ops.extend(inner);
        Ok((name, ops))
    }

    /// An integer constant expression ending before one of `ends` (not consumed).
    fn const_expr_until(&mut self, ends: &[&str]) -> P<i64> {
        let mut toks: Vec<Token> = Vec::new();
        let mut depth = 0i32;
        while self.i < self.toks.len() {
            let t = self.toks[self.i].clone();
            if depth == 0 && ends.contains(&t.text.as_str()) {
                break;
            }
            if t.is("sizeof") {
                self.i += 1;
                let size = self.sizeof_operand()?;
                toks.push(Token { kind: TokKind::Number, text: size.to_string().into(), pos: t.pos });
                continue;
            }
            match t.text.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                _ => {}
            }
            self.i += 1;
            toks.push(match (t.kind, self.types.enumerators.get(t.text.as_str())) {
                (TokKind::Ident, Some(v)) => Token { kind: TokKind::Number, text: v.to_string().into(), pos: t.pos },
                _ => t,
            });
        }
        if toks.is_empty() {
            return self.fail("expected a constant expression");
        }
        Ok(crate::types::cpp::eval_tokens(&toks))
    }

    /// `(type)` after `sizeof`, as a size in bytes.
    fn sizeof_operand(&mut self) -> P<u32> {
        self.expect("(")?;
        let (base, chars) = self.specifiers_char()?;
        let (_, ops) = self.declarator()?;
        self.expect(")")?;
        Ok(self.db.size_of(&apply(base, &ops, chars)))
    }

    /// Lays out members with C's rules (SysV bitfield allocation).
    fn layout(&self, kind: RecordKind, name: &str, members: &[(String, Type, Option<u32>)], packed: bool) -> Record {
        let mut bit = 0u64;
        let mut size_bits = 0u64;
        let mut max_align = 1u32;
        let mut fields = Vec::new();
        for (n, t, bits) in members {
            let size = u64::from(self.db.size_of(t));
            let align = if packed { 1 } else { self.align_of(t) };
            let at = if kind == RecordKind::Union { 0 } else { bit };
            match bits {
                Some(0) => {
                    bit = bit.next_multiple_of(u64::from(align) * 8);
                    continue;
                }
                Some(w) => {
                    let w = u64::from(*w).min(64);
                    let unit = (size * 8).max(8);
                    let mut start = at;
                    if !packed && start / unit != (start + w - 1) / unit {
                        start = start.next_multiple_of(unit);
                    }
                    let mut f = RecordField::new(n.clone(), u32::try_from(start / 8).unwrap_or(u32::MAX), t.clone());
                    f.bitfield = Some(Bitfield { shift: (start % 8) as u8, bits: w as u8 });
                    if !n.is_empty() {
                        fields.push(f);
                        max_align = max_align.max(align);
                    }
                    if kind == RecordKind::Struct {
                        bit = start + w;
                    }
                    size_bits = size_bits.max(start + w);
                }
                None => {
                    let start = at.next_multiple_of(u64::from(align) * 8);
                    fields.push(RecordField::new(n.clone(), u32::try_from(start / 8).unwrap_or(u32::MAX), t.clone()));
                    max_align = max_align.max(align);
                    if kind == RecordKind::Struct {
                        bit = start + size * 8;
                    }
                    size_bits = size_bits.max(start + size * 8);
                }
            }
        }
        let size = size_bits.div_ceil(8).next_multiple_of(u64::from(max_align));
        Record { name: name.to_string(), fields, size: u32::try_from(size).unwrap_or(u32::MAX) }
    }

    fn align_of(&self, t: &Type) -> u32 {
        match t {
            // Structs defined here hold structs of the preamble, whose records are resolved.
            Type::Struct(s) if s.origin == Origin::C => t.c_align(),
            other => self.db.align_of(other),
        }
    }
}

/// Applies declarator operations to a base type. An array of plain `char` (`chars`) is a
/// string; arrays of anything else, `unsigned char` and `uint8_t` included, are arrays.
fn apply(mut t: Type, ops: &[Op], chars: bool) -> Type {
    for (i, op) in ops.iter().enumerate() {
        t = match op {
            Op::Ptr => Type::Ptr { pointee: Box::new(t), user: false },
            Op::Array(n) => match t {
                Type::Int { bits: 8, .. } if chars && i == 0 => Type::Str { len: *n },
                other => Type::Array { elem: Box::new(other), count: *n },
            },
            // Functions only appear behind pointers here; their type doesn't matter.
            Op::Func => Type::Void,
        };
    }
    t
}

/// The type named by a list of base type words (`unsigned long long`, `char`, ...).
fn base_words(words: &[String]) -> Type {
    let has = |w: &str| words.iter().any(|x| x == w);
    let longs = words.iter().filter(|w| *w == "long").count();
    let unsigned = has("unsigned");
    let bits = if has("void") {
        return Type::Void;
    } else if has("char") || has("_Bool") || has("bool") {
        8
    } else if has("short") {
        16
    } else if has("double") || longs > 0 || has("__int128") {
        64
    } else {
        32
    };
    let signed = !unsigned && !has("_Bool") && !has("bool") && !has("float") && !has("double");
    Type::Int { bits, signed }
}
