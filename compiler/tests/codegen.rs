//! Code generation produces valid IR and BPF objects with btc's metadata.

mod common;
use common::*;

#[test]
fn object_is_bpf_with_metadata() {
    let obj = compile_obj(
        r#"tracepoint:syscalls:sys_enter_openat { @[comm] = count(); @s = sum(args.dfd); }
           interval:s:1 { printf("%-16s %6d\n", "x", 5); print(@s); exit(); }
           BEGIN { @x = 1; $y = @x + 2; if ($y > 2) { @z[1, "a"] = $y; } }"#,
    );
    let meta = btc_bpfprog::read_metadata(&obj).expect("metadata");
    assert_eq!(meta.probes.len(), 3);
    assert_eq!(meta.probes[0].name, "tracepoint:syscalls:sys_enter_openat");
    assert_eq!(meta.probes[1].name, "interval:s:1");
    assert_eq!(meta.maps.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["@", "@s", "@x", "@z"]);
    assert_eq!(meta.formats[0].fmt, "%-16s %6d\n");
}

#[test]
fn wildcard_tracepoints_expand() {
    let obj = compile_obj("tracepoint:syscalls:sys_enter_open* { @[probe] = count(); }");
    let meta = btc_bpfprog::read_metadata(&obj).expect("metadata");
    let names: Vec<_> = meta.probes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["tracepoint:syscalls:sys_enter_openat", "tracepoint:syscalls:sys_enter_open"]);
}

#[test]
fn ir_has_sections_and_helpers() {
    let ir = compile_ir("BEGIN { printf(\"%d %s\\n\", pid, comm); exit(); }");
    assert!(ir.contains("section \"raw_tp\""), "{ir}");
    assert!(ir.contains("section \".maps\""), "{ir}");
    assert!(ir.contains("section \".btc.meta\""), "{ir}");
}

#[test]
fn signed_division_and_loops_compile() {
    compile_obj("BEGIN { $i = 0; $s = 0; while ($i < 10) { $i++; if ($i == 3) { continue; } $s += $i / -2 % 3; if ($s > 100) { break; } } @ = $s; }");
}
