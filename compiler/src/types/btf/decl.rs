//! C declarations of BTF types as libbpf's btf_dump writes them (`struct file *`,
//! `const char *`, `char * const`, `int (*)(void *)`): bpftrace's `-lv` prints kfunc and
//! iterator parameters this way, as `TYPE NAME` lines and a last `TYPE retval`; and the
//! definitions of structs, unions and enums (`-lv 'struct NAME'`), without btf_dump's padding
//! markers and attributes.

use super::{Btf, BtfType, Kind};

/// Deepest chain of types followed (pointers, qualifiers, arrays, prototypes).
const MAX_CHAIN: usize = 64;

impl Btf {
    /// The C declaration of type `id` named `name` (empty: an abstract declarator, as in a cast).
    pub fn c_decl(&self, id: u32, name: &str) -> String {
        let mut out = String::new();
        self.emit_decl(&mut out, id, name, 0, 0);
        out
    }

    /// The C definition of the struct, union or enum `id` (`struct x {\n\tint a;\n};`), its
    /// anonymous members' types written inline; None for another kind of type.
    pub fn c_definition(&self, id: u32) -> Option<String> {
        let t = self.get(id)?;
        if !matches!(t.kind, Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64) {
            return None;
        }
        let mut out = String::new();
        self.emit_definition(&mut out, &t, 0, 0);
        out.push(';');
        Some(out)
    }

    /// The named structs, unions and enums of this blob (not of its base), as
    /// `(KIND NAME, id)`: what bpftrace lists for `-l 'struct ...'`.
    pub fn named_aggregates(&self) -> impl Iterator<Item = (String, u32)> + '_ {
        self.ids().filter_map(|id| {
            let t = self.get(id)?;
            let word = match t.kind {
                Kind::Struct => "struct",
                Kind::Union => "union",
                Kind::Enum => "enum",
                _ => return None,
            };
            (!t.name.is_empty()).then(|| (format!("{word} {}", t.name), id))
        })
    }

    fn emit_definition(&self, out: &mut String, t: &BtfType<'_>, lvl: usize, depth: usize) {
        let tabs = |n: usize| "\t".repeat(n);
        let word = match t.kind {
            Kind::Struct => "struct",
            Kind::Union => "union",
            _ => "enum",
        };
        out.push_str(word);
        if !t.name.is_empty() {
            out.push(' ');
            out.push_str(t.name);
        }
        if depth >= MAX_CHAIN {
            out.push_str(" {...}");
            return;
        }
        if matches!(t.kind, Kind::Enum | Kind::Enum64) {
            if t.vlen == 0 {
                return;
            }
            out.push_str(" {");
            for (name, value) in self.enumerators(t) {
                let value = if t.kind_flag { value.to_string() } else { (value as u64 & self.enum_mask(t)).to_string() };
                out.push_str(&format!("\n{}{name} = {value},", tabs(lvl + 1)));
            }
            out.push_str(&format!("\n{}}}", tabs(lvl)));
            return;
        }
        out.push_str(" {");
        for m in self.members(t) {
            out.push_str(&format!("\n{}", tabs(lvl + 1)));
            self.emit_decl(out, m.type_id, m.name, lvl + 1, depth + 1);
            if m.bitfield_size != 0 {
                out.push_str(&format!(": {}", m.bitfield_size));
            }
            out.push(';');
        }
        if t.vlen > 0 || t.size_or_type > 0 {
            out.push_str(&format!("\n{}}}", tabs(lvl)));
        } else {
            out.push('}');
        }
    }

    /// The bits of an unsigned enum's values (32 for ENUM, 64 for ENUM64).
    fn enum_mask(&self, t: &BtfType<'_>) -> u64 {
        if t.kind == Kind::Enum64 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        }
    }

    /// The parameters of FUNC `name` of this blob as bpftrace's `-lv` lists them: `TYPE NAME`
    /// for each, then `TYPE retval` unless it returns void. None when there is no such FUNC.
    pub fn function_param_decls(&self, name: &str) -> Option<Vec<String>> {
        let f = self.get(self.find(name, &[Kind::Func])?)?;
        let proto = self.get(f.size_or_type)?;
        let mut out: Vec<String> =
            self.params(&proto).into_iter().map(|(n, t)| format!("{} {n}", self.c_decl(t, ""))).collect();
        if proto.size_or_type != 0 {
            out.push(format!("{} retval", self.c_decl(proto.size_or_type, "")));
        }
        Some(out)
    }

    /// The declaration chain of `id`: the type itself, then what it points to, qualifies, holds
    /// or returns, down to a named or base type (or void), which is last.
    fn decl_chain(&self, mut id: u32) -> Vec<BtfType<'_>> {
        let mut chain = Vec::new();
        while chain.len() < MAX_CHAIN {
            let Some(t) = self.get(id) else { break };
            chain.push(t);
            id = match t.kind {
                Kind::Ptr | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::FuncProto | Kind::TypeTag => {
                    t.size_or_type
                }
                Kind::Array => Self::array_info(&t).0,
                _ => break,
            };
        }
        chain
    }

    fn emit_decl(&self, out: &mut String, id: u32, name: &str, lvl: usize, depth: usize) {
        let mut chain = self.decl_chain(id);
        self.emit_chain(out, &mut chain, name, lvl, depth);
    }

    /// Writes a declaration from its chain, innermost type first: the base type with the
    /// qualifiers applied to it in front, then pointers and qualifiers, then arrays and
    /// prototypes around the name.
    fn emit_chain(&self, out: &mut String, chain: &mut Vec<BtfType<'_>>, name: &str, lvl: usize, depth: usize) {
        // Whether the last thing written was a `*` (no space before the next `*` or the name).
        let mut last_was_ptr = true;
        while let Some(t) = chain.pop() {
            match t.kind {
                Kind::Void | Kind::Int | Kind::Float | Kind::Typedef => {
                    Self::emit_mods(out, chain);
                    out.push_str(if t.kind == Kind::Void { "void" } else { t.name });
                }
                Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => {
                    Self::emit_mods(out, chain);
                    let word = match t.kind {
                        Kind::Struct => "struct",
                        Kind::Union => "union",
                        Kind::Fwd if t.kind_flag => "union",
                        Kind::Fwd => "struct",
                        _ => "enum",
                    };
                    if t.name.is_empty() && t.kind != Kind::Fwd {
                        // An anonymous type is written out where it is used.
                        self.emit_definition(out, &t, lvl, depth + 1);
                    } else {
                        out.push_str(word);
                        out.push(' ');
                        out.push_str(t.name);
                    }
                }
                Kind::Ptr => out.push_str(if last_was_ptr { "*" } else { " *" }),
                Kind::Volatile => out.push_str(" volatile"),
                Kind::Const => out.push_str(" const"),
                Kind::Restrict => out.push_str(" restrict"),
                Kind::TypeTag => {}
                Kind::Array => {
                    let (_, count) = Self::array_info(&t);
                    // Qualifiers between an array and its element apply to the element.
                    Self::drop_mods(chain);
                    let Some(next) = chain.last() else {
                        Self::emit_name(out, name, last_was_ptr);
                        out.push_str(&format!("[{count}]"));
                        return;
                    };
                    let multidim = next.kind == Kind::Array;
                    if !name.is_empty() && !last_was_ptr {
                        out.push(' ');
                    }
                    if !multidim {
                        out.push('(');
                    }
                    self.emit_chain(out, chain, name, lvl, depth);
                    if !multidim {
                        out.push(')');
                    }
                    out.push_str(&format!("[{count}]"));
                    return;
                }
                Kind::FuncProto => {
                    Self::drop_mods(chain);
                    if chain.is_empty() {
                        Self::emit_name(out, name, last_was_ptr);
                    } else {
                        out.push_str(" (");
                        self.emit_chain(out, chain, name, lvl, depth);
                        out.push(')');
                    }
                    out.push('(');
                    let params = self.params(&t);
                    if params.is_empty() || (params.len() == 1 && params[0].1 == 0) {
                        out.push_str("void)");
                        return;
                    }
                    for (i, (pname, ptype)) in params.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        // A last parameter of type void is `...`.
                        if i == params.len() - 1 && *ptype == 0 {
                            out.push_str("...");
                            break;
                        }
                        if depth < MAX_CHAIN {
                            self.emit_decl(out, *ptype, pname, lvl, depth + 1);
                        }
                    }
                    out.push(')');
                    return;
                }
                Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag => {}
            }
            last_was_ptr = t.kind == Kind::Ptr;
        }
        Self::emit_name(out, name, last_was_ptr);
    }

    /// Writes the qualifiers that apply directly to the base type just popped, before it.
    fn emit_mods(out: &mut String, chain: &mut Vec<BtfType<'_>>) {
        while let Some(t) = chain.last() {
            match t.kind {
                Kind::Volatile => out.push_str("volatile "),
                Kind::Const => out.push_str("const "),
                Kind::Restrict => out.push_str("restrict "),
                _ => return,
            }
            chain.pop();
        }
    }

    fn drop_mods(chain: &mut Vec<BtfType<'_>>) {
        while chain.last().is_some_and(|t| matches!(t.kind, Kind::Volatile | Kind::Const | Kind::Restrict)) {
            chain.pop();
        }
    }

    fn emit_name(out: &mut String, name: &str, last_was_ptr: bool) {
        if !name.is_empty() && !last_was_ptr {
            out.push(' ');
        }
        out.push_str(name);
    }
}
