use super::*;

const SOURCE: &str = r#"
#include <stdint.h>
struct node { struct node *next; int value; };
struct flags { unsigned lo : 3; int hi : 5; uint64_t big : 40; };
union num { long l; char c[4]; };
typedef struct { short a; char name[12]; struct flags f; union num n; } config_t;
enum mode { M_A, M_B = 7 };

int handle(const char *path, struct node *list, config_t *cfg, uint16_t port, enum mode m, int8_t small) {
    return path[0] + (list ? list->value : 0) + cfg->a + port + m + small;
}

int main(void) {
    config_t c = {0};
    struct node n = {0, 1};
    return handle("x", &n, &c, 1, M_B, -1);
}
"#;

/// Builds the test program with debug info (with the C compiler the test machine has: a
/// missing compiler fails the test, it doesn't skip it).
fn binary(flags: &[&str]) -> Vec<u8> {
    // Tests run in parallel: each build gets its own directory.
    static BUILDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("btc-dwarf-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join("prog.c");
    let out = dir.join("prog");
    std::fs::write(&src, SOURCE).expect("write source");
    let status = std::process::Command::new("cc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc (gcc) is installed");
    assert!(status.success(), "cc failed");
    let bytes = std::fs::read(&out).expect("read binary");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn struct_of(t: &Type) -> Rc<Record> {
    let s = match t {
        Type::Struct(s) => s,
        Type::Ptr { pointee, .. } => match &**pointee {
            Type::Struct(s) => s,
            other => panic!("not a struct pointer: {other}"),
        },
        other => panic!("not a struct: {other}"),
    };
    s.record().cloned().expect("resolved")
}

#[test]
fn function_parameters_are_typed() {
    for flags in [&["-g", "-O0"][..], &["-gdwarf-4", "-O0"][..]] {
        let args = uprobe_args(&binary(flags), "handle").expect("handle has DWARF");
        let names: Vec<&str> = args.params.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["path", "list", "cfg", "port", "m", "small"]);
        assert_eq!(args.ret, Type::Int { bits: 32, signed: true });
        assert_eq!(args.params[0].1, Type::Ptr { pointee: Box::new(Type::Int { bits: 8, signed: true }), user: true });
        assert_eq!(args.params[3].1, Type::Int { bits: 16, signed: false });
        assert_eq!(args.params[4].1, Type::Int { bits: 32, signed: false });
        assert_eq!(args.params[5].1, Type::Int { bits: 8, signed: true });

        // A recursive struct converts once.
        let node = struct_of(&args.params[1].1);
        assert_eq!(node.fields.iter().map(|f| (f.name.as_str(), f.offset)).collect::<Vec<_>>(), [("next", 0), ("value", 8)]);
        assert!(matches!(&node.fields[0].ty, Type::Ptr { user: true, .. }));

        let cfg = struct_of(&args.params[2].1);
        assert_eq!(cfg.size, 32);
        assert_eq!(cfg.field("name").map(|f| (&f.ty, f.offset)), Some((&Type::Str { len: 12 }, 2)));
        let flags_rec = struct_of(&cfg.field("f").expect("f").ty);
        let bits: Vec<_> = flags_rec.fields.iter().map(|f| (f.offset, f.bitfield)).collect();
        assert_eq!(
            bits,
            [
                (0, Some(Bitfield { shift: 0, bits: 3 })),
                (0, Some(Bitfield { shift: 3, bits: 5 })),
                (1, Some(Bitfield { shift: 0, bits: 40 })),
            ]
        );
        let n = cfg.field("n").expect("n");
        assert!(matches!(&n.ty, Type::Struct(s) if s.kind == RecordKind::Union && s.size == 8));

        let rec = args.record();
        assert_eq!(rec.field("port").map(|f| f.offset), Some(24));
    }
}

#[test]
fn missing_debug_info_and_functions_are_errors() {
    let stripped = binary(&["-O0"]);
    assert_eq!(uprobe_args(&stripped, "handle"), Err("the binary has no DWARF debug info".to_string()));
    let with = binary(&["-g"]);
    assert_eq!(uprobe_args(&with, "nope"), Err("no debug info for function nope".to_string()));
    assert!(uprobe_args(b"not an elf", "x").is_err());
}

#[test]
fn structs_are_found_by_name() {
    let bin = binary(&["-g"]);
    let Some(Type::Struct(s)) = struct_named(&bin, RecordKind::Struct, "node").expect("DWARF") else {
        panic!("struct node not found")
    };
    assert_eq!((s.size, s.record().map(|r| r.fields.len())), (16, Some(2)));
    assert!(matches!(struct_named(&bin, RecordKind::Union, "num"), Ok(Some(Type::Struct(_)))));
    assert_eq!(struct_named(&bin, RecordKind::Struct, "nope"), Ok(None));
}

#[test]
fn parameters_are_named_as_bpftrace_lists_them() {
    for flags in [&["-g", "-O0"][..], &["-gdwarf-4", "-O0"][..]] {
        let bin = binary(flags);
        let idx = index(&bin).expect("DWARF");
        let lists = param_lists(&bin, &idx, &["handle".to_string(), "main".to_string(), "nope".to_string()])
            .expect("DWARF");
        assert_eq!(
            lists[0],
            ["const char* path", "struct node* list", "config_t* cfg", "uint16_t port", "enum mode m", "int8_t small"]
        );
        assert_eq!(lists[1], Vec::<String>::new());
        assert_eq!(lists[2], Vec::<String>::new());
    }
    let stripped = binary(&["-O0"]);
    assert!(param_lists(&stripped, &DwarfIndex::default(), &["handle".to_string()]).is_err());
}
