use super::*;
use crate::types::cpp::lex;
use crate::types::{NoTypes, Record};

fn parse(src: &str) -> (CTypes, Vec<(u32, String)>) {
    let db = TypeDb::kernel_only(&NoTypes);
    let mut types = CTypes::default();
    let errors = parse_declarations(&lex(src, 0), &mut types, &db, true);
    (types, errors)
}

fn record(types: &CTypes, name: &str) -> Rc<Record> {
    types.record(None, name).and_then(|s| s.record().cloned()).unwrap_or_else(|| panic!("no struct {name}"))
}

fn offsets(r: &Record) -> Vec<(String, u32)> {
    r.fields.iter().map(|f| (f.name.clone(), f.offset)).collect()
}

#[test]
fn struct_layout_follows_c() {
    let (t, e) = parse("struct s { char c; int i; short h; long l; char name[5]; void *p; };");
    assert!(e.is_empty(), "{e:?}");
    let r = record(&t, "s");
    let want = [("c", 0), ("i", 4), ("h", 8), ("l", 16), ("name", 24), ("p", 32)];
    assert_eq!(offsets(&r), want.map(|(n, o)| (n.to_string(), o)));
    assert_eq!(r.size, 40);
    assert_eq!(r.fields[4].ty, Type::Str { len: 5 });
    assert!(matches!(&r.fields[5].ty, Type::Ptr { pointee, .. } if **pointee == Type::Void));
}

#[test]
fn bitfields_pack_as_gcc_does() {
    let (t, e) = parse("struct b { unsigned a : 3; int s : 4; unsigned : 0; unsigned char c : 7; unsigned char d : 2; long x : 40; };");
    assert!(e.is_empty(), "{e:?}");
    let r = record(&t, "b");
    let bf: Vec<(u32, u8, u8)> =
        r.fields.iter().map(|f| f.bitfield.map_or((f.offset, 0, 0), |b| (f.offset, b.shift, b.bits))).collect();
    // a: bits 0-2; s: bits 3-6; `:0` aligns to the next int; c: byte 4; d doesn't fit in
    // c's byte: byte 5; x would straddle its 8-byte unit: the next one.
    assert_eq!(bf, [(0, 0, 3), (0, 3, 4), (4, 0, 7), (5, 0, 2), (8, 0, 40)]);
    assert!(r.fields[1].ty.is_signed());
    assert_eq!(r.size, 16);
}

#[test]
fn unions_anonymous_members_and_nesting() {
    let (t, e) = parse(
        "struct in { short a; }; union u { long l; struct in i; char c[3]; };
         struct o { int x; union { int y; char z; }; struct { int w; } named; struct in arr[2]; };",
    );
    assert!(e.is_empty(), "{e:?}");
    let u = record(&t, "u");
    assert_eq!(offsets(&u), [("l".to_string(), 0), ("i".to_string(), 0), ("c".to_string(), 0)]);
    assert_eq!(u.size, 8);
    let o = record(&t, "o");
    assert_eq!(o.field_path("z"), Some(vec![1, 1]));
    assert_eq!(o.path_offset(&[1, 1]), 4);
    assert_eq!(o.field("named").map(|f| f.offset), Some(8));
    assert!(matches!(o.field("arr").map(|f| &f.ty), Some(Type::Array { count: 2, .. })));
    assert_eq!(o.size, 16);
}

#[test]
fn typedefs_enums_and_function_pointers() {
    let (t, e) = parse(
        "typedef unsigned long long u64_t; typedef struct { u64_t v; } box_t; enum color { RED, GREEN = 5, BLUE };
         enum neg { M = -1 }; struct f { void (*cb)(int, char *); box_t b; enum color c; int arr[BLUE]; int *(*pa)[3]; };
         static inline int helper(int x) { return x + 1; } extern int var; int fn(void);",
    );
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(t.typedef("u64_t"), Some(Type::U64));
    assert_eq!((t.enum_value("RED"), t.enum_value("GREEN"), t.enum_value("BLUE")), (Some(0), Some(5), Some(6)));
    assert_eq!(t.enum_type("neg"), Some(Type::Int { bits: 32, signed: true }));
    let f = record(&t, "f");
    assert!(f.fields[0].ty.is_ptr());
    assert_eq!(f.field("b").map(|x| x.offset), Some(8));
    assert!(matches!(f.field("arr").map(|x| &x.ty), Some(Type::Array { count: 6, .. })));
    assert!(f.field("pa").is_some_and(|x| x.ty.is_ptr()));
}

#[test]
fn packed_and_sizeof_in_constants() {
    let (t, e) = parse("struct p { char c; int i; } __attribute__((packed)); struct q { char b[sizeof(long) * 2]; };");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(record(&t, "p").size, 5);
    assert_eq!(record(&t, "q").size, 16);
}

#[test]
fn errors_name_the_problem_and_place() {
    let (_, e) = parse("struct s { int a; intt b; };");
    assert_eq!(e, vec![(18, "unknown type name 'intt'".to_string())]);
    let (_, e) = parse("struct s { int a b; };");
    assert_eq!(e, vec![(17, "expected ';', found 'b'".to_string())]);
}

#[test]
fn last_member_may_lack_its_semicolon() {
    // clang accepts these (with a warning), and so does bpftrace.
    let (t, e) = parse("struct x { unsigned long x }; struct Foo { struct { int m[1] } y; struct { int n } a; }");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(offsets(&record(&t, "x")), [("x".to_string(), 0)]);
    let foo = record(&t, "Foo");
    assert_eq!(offsets(&foo), [("y".to_string(), 0), ("a".to_string(), 4)]);
    assert_eq!(foo.size, 8);
    let Some(Type::Struct(y)) = foo.field("y").map(|f| f.ty.clone()) else { panic!("y is a struct") };
    assert!(matches!(y.record().and_then(|r| r.field("m")).map(|f| &f.ty), Some(Type::Array { count: 1, .. })));
    // An anonymous member closing the body, with several declarators before it.
    let (t, e) = parse("struct z { int a, b; union { int c; char d; } }");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(record(&t, "z").field_path("d"), Some(vec![2, 1]));
}

#[test]
fn only_plain_char_arrays_are_strings() {
    let (t, e) = parse(
        "typedef char ch; struct s { char a[4]; const char b[3]; unsigned char c[4]; signed char d[2]; uint8_t e[5]; \
         ch f[2]; char g[2][3]; char *h[2]; };",
    );
    assert!(e.is_empty(), "{e:?}");
    let r = record(&t, "s");
    let ty = |n: &str| r.field(n).map(|f| f.ty.clone()).unwrap_or_else(|| panic!("no field {n}"));
    assert_eq!(ty("a"), Type::Str { len: 4 });
    assert_eq!(ty("b"), Type::Str { len: 3 });
    let bytes = |count, signed| Type::Array { elem: Box::new(Type::Int { bits: 8, signed }), count };
    assert_eq!(ty("c"), bytes(4, false));
    assert_eq!(ty("d"), bytes(2, true));
    assert_eq!(ty("e"), bytes(5, false));
    assert_eq!(ty("f"), bytes(2, true));
    assert_eq!(ty("g"), Type::Array { elem: Box::new(Type::Str { len: 3 }), count: 2 });
    assert!(matches!(ty("h"), Type::Array { elem, count: 2 } if elem.is_ptr()));
    assert_eq!(r.size, 4 + 3 + 4 + 2 + 5 + 2 + 6 + 6 + 16);
}

#[test]
fn members_of_undefined_structs_by_value_are_errors() {
    let (_, e) = parse("struct a { struct nosuch x; };");
    assert_eq!(e, vec![(25, "field has incomplete type 'struct nosuch'".to_string())]);
    let (_, e) = parse("union u { int i; union nope arr[2]; };");
    assert_eq!(e, vec![(28, "field has incomplete type 'union nope'".to_string())]);
    // A struct containing itself is incomplete too; pointers to undefined structs are fine.
    let (_, e) = parse("struct r { struct r inner; };");
    assert_eq!(e.len(), 1, "{e:?}");
    let (t, e) = parse("struct p { struct nosuch *x; struct p *next; }; struct q { struct p by_value; };");
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(record(&t, "q").size, 16);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("struct s {{ int {}x{}; }};", "(*".repeat(10_000), ")".repeat(10_000));
    let (_, e) = parse(&deep);
    assert_eq!(e.first().map(|e| e.1.as_str()), Some("declaration nested too deeply"));
    let nested = format!("{}int x;{}", "struct a { ".repeat(5_000), " };".repeat(5_000));
    let (_, e) = parse(&nested);
    assert!(!e.is_empty());
}

/// The running kernel's BTF (the tests run on a kernel with BTF).
struct Kernel;

impl crate::types::TypeSource for Kernel {
    fn tracepoint_format(&self, c: &str, n: &str) -> Result<String, String> {
        Err(format!("no tracepoint {c}:{n}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn kernel_btf(&self, module: Option<&str>) -> Result<Vec<u8>, String> {
        let path = format!("/sys/kernel/btf/{}", module.unwrap_or("vmlinux"));
        std::fs::read(&path).map_err(|e| format!("{path}: {e}"))
    }
}

fn build_preamble(db: &TypeDb<'_>, src: &str) -> (CTypes, Vec<Diagnostic>) {
    let item = PreambleItem { text: src.to_string(), span: Span::new(0, src.len()) };
    build(&Preprocessed::default(), &[item], db)
}

#[test]
fn redefining_a_kernel_struct_takes_no_other_types_from_btf() {
    let db = TypeDb::kernel_only(&Kernel);
    // Kernel structs complete the preamble's definitions...
    let (t, d) = build_preamble(&db, "struct foo { struct thread_info x; int after; }");
    assert!(d.is_empty(), "{d:?}");
    assert!(record(&t, "foo").field("after").is_some_and(|f| f.offset > 0));
    // ...unless the preamble redefines one of them, as clang then sees two definitions.
    let (_, d) = build_preamble(&db, "struct task_struct { struct thread_info x; }");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "field has incomplete type 'struct thread_info'");
    assert_eq!(d[0].span, Span::new(40, 41));
    assert!(d[0].hint.as_deref().is_some_and(|h| h.contains("struct task_struct")), "{:?}", d[0].hint);
    // A redefinition that needs nothing from the kernel is fine.
    let (t, d) = build_preamble(&db, "struct task_struct { int x; unsigned long y }");
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(record(&t, "task_struct").size, 16);
}

#[test]
fn built_in_headers_parse_cleanly() {
    let pre = crate::types::cpp::preprocess(
        "#include <stddef.h>\n#include <stdarg.h>\n#include <stdbool.h>\n#include <stdint.h>\n#include <float.h>\n#include <limits.h>\n",
        &NoTypes,
    );
    assert!(pre.missing.is_empty(), "{:?}", pre.missing);
    let db = TypeDb::kernel_only(&NoTypes);
    let mut types = CTypes::default();
    let errors = parse_declarations(&pre.header_tokens, &mut types, &db, true);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(types.typedef("size_t"), Some(Type::U64));
    assert_eq!(types.typedef("int16_t"), Some(Type::Int { bits: 16, signed: true }));
    assert!(types.typedef("va_list").is_some_and(|t| db.size_of(&t) == 24 || db.size_of(&t) == 32));
}
