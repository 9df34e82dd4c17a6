//! Tracepoint format files (`events/CAT/NAME/format` under tracefs) as records.

use super::{Record, RecordField, RecordKind, StructRef, Type};
use std::rc::Rc;

/// The kernel's BTF struct behind tracepoint `name`'s record, `struct trace_event_raw_NAME`,
/// resolved, when BTF has one: reads of its fields are CO-RE relocated (see [`core_field`]).
/// Events defined from a shared class have the class's struct, found by no name here.
pub fn core_struct(db: &super::TypeDb<'_>, category: &str, name: &str) -> Option<Rc<StructRef>> {
    // Syscall tracepoints are one `struct syscall_trace_enter` with an `args[]` array, not a
    // struct per event.
    if category == "syscalls" || !db.has_kernel_btf() {
        return None;
    }
    let Some(Type::Struct(s)) = db.struct_named(Some(RecordKind::Struct), &format!("trace_event_raw_{name}")) else {
        return None;
    };
    db.record(&s).ok()?;
    Some(s)
}

/// The index in `core`'s record of the member holding format field `f`, when reads of `f` are
/// relocated through it: an integer or pointer field (strings, arrays and `__data_loc` fields
/// are also read by address, at the format's offset), with a member of the same name at the
/// same offset on this kernel (so it is the same field), not a bitfield.
pub fn core_field(core: &StructRef, f: &RecordField) -> Option<usize> {
    if !matches!(f.ty, Type::Int { .. } | Type::Ptr { .. }) || f.data_loc || f.bitfield.is_some() {
        return None;
    }
    let r = core.record()?;
    let i = r.fields.iter().position(|m| m.name == f.name)?;
    let m = &r.fields[i];
    (m.offset == f.offset && m.bitfield.is_none()).then_some(i)
}

/// Parses the text of a format file into the record of the tracepoint's arguments.
/// `user_pointers` marks pointer fields as user-space pointers (syscall tracepoints).
pub fn parse_format(text: &str, user_pointers: bool) -> Result<Record, String> {
    let mut fields = Vec::new();
    let mut size = 0u32;
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("field:") else { continue };
        let mut decl = None;
        let mut offset = None;
        let mut fsize = None;
        let mut signed = false;
        for part in rest.split(';') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("offset:") {
                offset = v.trim().parse::<u32>().ok();
            } else if let Some(v) = part.strip_prefix("size:") {
                fsize = v.trim().parse::<u32>().ok();
            } else if let Some(v) = part.strip_prefix("signed:") {
                signed = v.trim() == "1";
            } else if decl.is_none() && !part.is_empty() {
                decl = Some(part.to_string());
            }
        }
        let (Some(decl), Some(offset), Some(fsize)) = (decl, offset, fsize) else {
            return Err(format!("malformed field line: {line}"));
        };
        let (name, ty, data_loc) = field_type(&decl, fsize, signed, user_pointers);
        size = size.max(offset + fsize);
        if name.starts_with("common_") {
            continue;
        }
        fields.push(RecordField { data_loc, ..RecordField::new(name, offset, ty) });
    }
    Ok(Record { name: "args".into(), fields, size })
}

/// The name and type of a field from its C declaration and the sizes the format file gives.
fn field_type(decl: &str, size: u32, signed: bool, user_pointers: bool) -> (String, Type, bool) {
    let data_loc = decl.starts_with("__data_loc");
    let stripped = decl.trim_start_matches("__data_loc").replace("[]", "");
    let decl = stripped.trim();
    // The name is the last identifier, possibly followed by `[N]`.
    let (head, array) = match decl.find('[') {
        Some(i) => (&decl[..i], Some(&decl[i..])),
        None => (decl, None),
    };
    let head = head.trim_end();
    let name_start = head.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    let name = head[name_start..].to_string();
    let base = head[..name_start].trim();
    let is_char = base.ends_with("char") && !base.contains('*');
    let ty = if data_loc {
        Type::Str { len: super::DEFAULT_STRLEN }
    } else if array.is_some() && is_char {
        Type::Str { len: size }
    } else if base.contains('*') {
        Type::Ptr { pointee: Box::new(pointee_of(base, user_pointers)), user: user_pointers }
    } else if array.is_some() {
        let elems = array.and_then(|a| a.trim_matches(['[', ']']).parse::<u32>().ok()).filter(|&n| n > 0);
        let count = elems.unwrap_or(1);
        let elem = size / count.max(1);
        Type::Array { elem: Box::new(int_of_size(elem, signed)), count }
    } else {
        int_of_size(size, signed)
    };
    (name, ty, data_loc)
}

fn int_of_size(size: u32, signed: bool) -> Type {
    let bits = match size {
        1 => 8,
        2 => 16,
        4 => 32,
        _ => 64,
    };
    Type::Int { bits, signed }
}

/// The pointee of a pointer field. Structs and unions are references by name, resolved (from the
/// preamble or kernel BTF) when a script dereferences them.
fn pointee_of(base: &str, user: bool) -> Type {
    // Qualifiers change nothing here: `const char *const *` is a `char **`.
    let spaced = base.replace('*', " * ");
    let base = spaced.split_whitespace().filter(|w| !matches!(*w, "const" | "volatile")).collect::<Vec<_>>().join(" ");
    let Some(t) = base.strip_suffix('*') else { return Type::Void };
    let t = t.trim();
    if t.ends_with('*') {
        return Type::Ptr { pointee: Box::new(pointee_of(t, user)), user };
    }
    for (kw, kind) in [("struct ", super::RecordKind::Struct), ("union ", super::RecordKind::Union)] {
        if let Some(name) = t.strip_prefix(kw) {
            let s = super::StructRef::new(kind, name.trim(), 0, super::Origin::C);
            return Type::Struct(std::rc::Rc::new(s));
        }
    }
    match t {
        "char" | "unsigned char" | "signed char" => Type::Int { bits: 8, signed: false },
        other => super::cdecl::base_type(other).unwrap_or(Type::Void),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat\nID: 1\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;\n\
\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;\n\
\nprint fmt: \"\"\n";

    #[test]
    fn parses_fields() {
        let r = parse_format(OPENAT, true).expect("parses");
        let names: Vec<_> = r.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["__syscall_nr", "dfd", "filename", "comm", "name"]);
        assert_eq!(r.fields[1].ty, Type::Int { bits: 64, signed: false });
        assert!(matches!(r.fields[2].ty, Type::Ptr { user: true, .. }));
        assert_eq!(r.fields[3].ty, Type::Str { len: 16 });
        assert!(r.fields[4].data_loc);
        assert_eq!(r.size, 52);
    }

    #[test]
    fn qualified_pointers_to_pointers() {
        let char_ptr = Type::Ptr { pointee: Box::new(Type::Int { bits: 8, signed: false }), user: true };
        for decl in ["const char *const * argv", "const char * const * argv", "char ** argv", "volatile char*const*argv"] {
            let (name, ty, _) = field_type(decl, 8, false, true);
            assert_eq!(name, "argv", "{decl}");
            assert_eq!(ty, Type::Ptr { pointee: Box::new(char_ptr.clone()), user: true }, "{decl}");
        }
    }
}
