//! Attach-point resolution against a fixture system: kprobe wildcards over the kernel's
//! functions (available_filter_functions or kallsyms), kfuncs over BTF, uprobes over ELF symbols (with C++ names), USDT
//! sites with their argument specs, and the objects those produce.

use btc_bpfprog::ProbeKind;
use btc_compiler::types::targets::{ElfFunction, KernelFunction, UsdtNote};
use btc_compiler::{CompileOptions, TypeSource};

struct System;

fn kf(module: Option<&str>, name: &str) -> KernelFunction {
    KernelFunction { module: module.map(str::to_string), name: name.to_string() }
}

impl TypeSource for System {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        Err(format!("tracepoint not found: {category}:{name}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(vec![("sched".into(), "sched_switch".into()), ("syscalls".into(), "sys_enter_read".into())])
    }
    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, String> {
        Ok(vec![
            kf(None, "vfs_read"),
            kf(None, "vfs_readv"),
            kf(None, "vfs_read.part.0"),
            kf(None, "vfs_write"),
            kf(Some("ext4"), "ext4_read_inline"),
        ])
    }
    fn btf_functions(&self) -> Result<Vec<KernelFunction>, String> {
        Ok(vec![kf(None, "tcp_reset"), kf(None, "tcp_rcv"), kf(Some("kvm"), "kvm_emulate")])
    }
    fn resolve_binary(&self, target: &str, _pid: Option<i32>) -> Result<String, String> {
        match target {
            "libc" => Ok("/lib/libc.so.6".into()),
            t if t.starts_with('/') => Ok(t.into()),
            t => Err(format!("could not find binary or library '{t}'")),
        }
    }
    fn elf_functions(&self, path: &str) -> Result<Vec<ElfFunction>, String> {
        let f = |name: &str, demangled: Option<&str>, address: u64| ElfFunction {
            name: name.into(),
            demangled: demangled.map(str::to_string),
            address,
            size: 16,
        };
        match path {
            "/bin/app" | "/lib/libc.so.6" => Ok(vec![
                f("malloc", None, 0x1000),
                f("main", None, 0x1010),
                f("_ZN2ns3Foo3barEi", Some("ns::Foo::bar(int)"), 0x1020),
                f("_ZN2ns3Foo3barEl", Some("ns::Foo::bar(long)"), 0x1030),
            ]),
            p => Err(format!("can't read {p}")),
        }
    }
    fn usdt_notes(&self, path: &str) -> Result<Vec<UsdtNote>, String> {
        let n = |provider: &str, name: &str, address: u64, semaphore: u64, args: &str| UsdtNote {
            provider: provider.into(),
            name: name.into(),
            address,
            semaphore,
            args: args.into(),
        };
        match path {
            "/bin/app" => Ok(vec![
                n("app", "start", 0x1100, 0x4000, "-4@%edi 8@-8(%rbp)"),
                n("app", "start", 0x1200, 0x4000, "-4@$1 8@%rax"),
                n("app", "stop", 0x1300, 0, ""),
                n("app", "\"quoted\"", 0x1400, 0, ""),
            ]),
            p => Err(format!("can't read {p}")),
        }
    }
    fn running_binaries(&self) -> Result<Vec<String>, String> {
        Ok(vec!["/bin/app".into(), "/bin/sh".into()])
    }
    fn binary_paths(&self, pattern: &str, _pid: Option<i32>) -> Vec<String> {
        ["/bin/app", "/lib/libc.so.6"].iter().filter(|p| btc_bpfprog::wildcard_match(pattern, p)).map(|p| p.to_string()).collect()
    }
}

/// The same system on a kernel with uprobe_multi links.
struct Multi;

impl TypeSource for Multi {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        System.tracepoint_format(category, name)
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        System.tracepoints()
    }
    fn resolve_binary(&self, target: &str, pid: Option<i32>) -> Result<String, String> {
        System.resolve_binary(target, pid)
    }
    fn elf_functions(&self, path: &str) -> Result<Vec<ElfFunction>, String> {
        System.elf_functions(path)
    }
    fn uprobe_multi_links(&self) -> bool {
        true
    }
}

/// A kernel whose available_filter_functions can't be read: its kernel functions come from
/// /proc/kallsyms (the system side applies that rule), with a note saying so.
struct FromKallsyms;

impl TypeSource for FromKallsyms {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        Err(format!("tracepoint not found: {category}:{name}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, String> {
        Ok(vec![kf(None, "tcp_rcv"), kf(None, "tcp_reset"), kf(None, "tcp_v4_rcv")])
    }
    fn kernel_functions_note(&self) -> Option<String> {
        Some("could not read available_filter_functions: Operation not permitted; kernel functions are taken from /proc/kallsyms".into())
    }
    fn btf_functions(&self) -> Result<Vec<KernelFunction>, String> {
        System.btf_functions()
    }
}

/// A kernel with no list of kernel functions at all; only BTF.
struct NoFunctionList;

impl TypeSource for NoFunctionList {
    fn tracepoint_format(&self, category: &str, name: &str) -> Result<String, String> {
        Err(format!("tracepoint not found: {category}:{name}"))
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    fn kernel_functions(&self) -> Result<Vec<KernelFunction>, String> {
        Err("could not read available_filter_functions: Operation not permitted; /proc/kallsyms can't be read either: Permission denied".into())
    }
    fn btf_functions(&self) -> Result<Vec<KernelFunction>, String> {
        System.btf_functions()
    }
}

fn probes_of(src: &str) -> Result<Vec<(String, ProbeKind)>, String> {
    let opts = CompileOptions::default();
    match btc_compiler::check(src, &System, &opts) {
        Ok(c) => Ok(c.analysis.instances.iter().map(|i| (i.probe.name.clone(), i.probe.kind.clone())).collect()),
        Err(btc_compiler::CompileError::Script(d)) => Err(d.render("stdin", src, true)),
        Err(btc_compiler::CompileError::Internal(m)) => Err(m),
    }
}

fn names(src: &str) -> Vec<String> {
    probes_of(src).unwrap_or_else(|e| panic!("{e}")).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn kprobe_wildcards_skip_part_clones_and_are_optional() {
    let p = probes_of("kprobe:vfs_read* { }").unwrap_or_default();
    assert_eq!(p.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["kprobe:vfs_read", "kprobe:vfs_readv"]);
    assert!(p.iter().all(|(_, k)| matches!(k, ProbeKind::Kprobe { optional: true, ret: false, .. })));
    let single = probes_of("kprobe:vfs_write+8 { }").unwrap_or_default();
    assert_eq!(
        single,
        vec![(
            "kprobe:vfs_write+8".to_string(),
            ProbeKind::Kprobe { func: "vfs_write".into(), module: None, offset: 8, ret: false, optional: false }
        )]
    );
    // Offsets and argument counts, in bpftrace 0.20's words.
    assert!(probes_of("kretprobe:vfs_read+8 { }").is_err_and(|e| e.contains("error: Offset not allowed\n")));
    assert!(probes_of("kprobe:vfs_read+8+8 { }").is_err_and(|e| e.contains("error: Cannot take more than one offset\n")));
    assert!(probes_of("kprobe:vfs_read+z { }").is_err_and(|e| e.contains("error: Invalid offset\n")));
    assert!(probes_of("kprobe:a:b:c { }").is_err_and(|e| e.contains("error: kprobe probe type requires 1 arguments, found 3\n")));
    // bpftrace 0.20 has no kprobe:MODULE:FUNC.
    assert!(probes_of("kretprobe:ext4:*_inline { }")
        .is_err_and(|e| e.contains("error: kretprobe probe type requires 1 arguments, found 2")));
    assert!(probes_of("kprobe:nomatch_* { }").is_err_and(|e| e.contains("no kernel functions match nomatch_*")));
}

#[test]
fn kprobe_on_an_untraceable_function_warns() {
    let opts = CompileOptions::default();
    let c = btc_compiler::check("kprobe:not_there { }", &System, &opts);
    let warnings = c.map(|c| c.warnings.render("stdin", "kprobe:not_there { }", true)).unwrap_or_default();
    assert!(warnings.contains("not_there is not traceable"), "{warnings}");
}

#[test]
fn kprobe_wildcards_expand_against_the_listing_s_functions() {
    // The same list `btc list` shows: here the functions of /proc/kallsyms, which the warning
    // names; not the kernel's BTF functions (tcp_rcv and tcp_reset only).
    let opts = CompileOptions::default();
    let src = "kprobe:tcp_* { printf(\"%s\\n\", probe); }";
    let c = btc_compiler::check(src, &FromKallsyms, &opts).unwrap_or_else(|e| panic!("{e:?}"));
    let got: Vec<&str> = c.analysis.instances.iter().map(|i| i.probe.name.as_str()).collect();
    assert_eq!(got, ["kprobe:tcp_rcv", "kprobe:tcp_reset", "kprobe:tcp_v4_rcv"]);
    let warnings = c.warnings.render("stdin", src, true);
    assert!(
        warnings.contains("kernel functions are taken from /proc/kallsyms; kprobe:tcp_* is expanded against them"),
        "{warnings}"
    );
    // A single function is checked against the same list.
    let one = btc_compiler::check("kprobe:tcp_nothere { }", &FromKallsyms, &opts).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(one.warnings.render("stdin", "kprobe:tcp_nothere { }", true).contains("tcp_nothere is not traceable"));
    // Without a list there is nothing to expand against, BTF or not.
    let none = btc_compiler::check(src, &NoFunctionList, &opts);
    let Err(btc_compiler::CompileError::Script(d)) = none else { panic!("expected an error") };
    assert!(d.render("stdin", src, true).contains("can't expand kprobe:tcp_*: could not read"), "{}", d.render("stdin", src, true));
    let none = btc_compiler::check(src, &btc_compiler::types::NoTypes, &opts);
    assert!(matches!(none, Err(btc_compiler::CompileError::Script(_))));
}

#[test]
fn usdt_on_every_binary_without_a_pid_looks_at_every_process() {
    assert_eq!(names("usdt:*:stop { }"), ["usdt:/bin/app:app:stop"]);
    assert!(probes_of("usdt:*:nope { }").is_err_and(|e| e.contains("no usdt probes match nope in any running process")));
}

#[test]
fn kfuncs_expand_over_btf() {
    assert_eq!(names("kfunc:tcp_* { }"), ["kfunc:tcp_rcv", "kfunc:tcp_reset"]);
    assert_eq!(names("fr:kvm:* { @ = retval; }"), ["kretfunc:kvm:kvm_emulate"]);
}

#[test]
fn uprobes_resolve_libraries_wildcards_and_cpp_names() {
    assert_eq!(names("uprobe:libc:malloc { }"), ["uprobe:/lib/libc.so.6:malloc"]);
    assert_eq!(names("ur:/bin/app:ma* { @ = retval; }"), ["uretprobe:/bin/app:main", "uretprobe:/bin/app:malloc"]);
    assert_eq!(
        names("uprobe:/bin/app:cpp:\"ns::Foo::bar\" { }"),
        ["uprobe:/bin/app:cpp:_ZN2ns3Foo3barEi", "uprobe:/bin/app:cpp:_ZN2ns3Foo3barEl"]
    );
    assert_eq!(names("uprobe:/bin/app:cpp:\"ns::Foo::bar(long)\" { }"), ["uprobe:/bin/app:cpp:_ZN2ns3Foo3barEl"]);
    assert!(probes_of("uprobe:/bin/app:nope { }").is_err_and(|e| e.contains("Could not resolve symbol: /bin/app:nope")));
    assert!(probes_of("uretprobe:/bin/app:main+4 { }").is_err_and(|e| e.contains("error: Offset not allowed\n")));
    assert!(probes_of("uprobe:/bin/app:main+4+4 { }").is_err_and(|e| e.contains("error: Cannot take more than one offset\n")));
    assert!(probes_of("uprobe:/bin/app:main+x { }").is_err_and(|e| e.contains("error: Invalid offset\n")));
}

#[test]
fn usdt_sites_are_separate_programs_with_their_own_arguments() {
    let p = probes_of("usdt:/bin/app:app:start { @[arg0] = arg1; }").unwrap_or_default();
    assert_eq!(p.len(), 2);
    assert!(matches!(&p[0].1, ProbeKind::Usdt { address: 0x1100, semaphore: Some(0x4000), .. }));
    assert!(matches!(&p[1].1, ProbeKind::Usdt { address: 0x1200, .. }));
    assert_eq!(names("usdt:/bin/app:stop { }"), ["usdt:/bin/app:app:stop"]);
    assert_eq!(names("U:/bin/app:app:* { }").len(), 4);
    assert!(probes_of("usdt:/bin/app:app:stop { @ = arg0; }").is_err_and(|e| e.contains("has 0 arguments")));
}

#[test]
fn objects_for_every_kind_compile() {
    let opts = CompileOptions::default();
    for src in [
        "usdt:/bin/app:app:start { printf(\"%d %d\\n\", arg0, arg1); }",
        "uprobe:/bin/app:main { printf(\"%d %d %s\\n\", arg0, sarg1, func); }",
        "kretfunc:tcp_reset { @[retval] = count(); }",
        "rawtracepoint:sched_switch { @[arg1] = count(); }",
        "watchpoint:0x10000:8:w { @ = count(); }",
        "iter:task_vma { printf(\"%s %d\\n\", comm, pid); }",
        "software:faults:10 { @ = reg(\"ip\"); }",
    ] {
        let r = btc_codegen::compile(src, &System, &opts, btc_compiler::Emit::Object);
        assert!(r.is_ok(), "{src}: {:?}", r.err().map(|e| format!("{e:?}")));
    }
}

#[test]
fn watchpoint_on_a_function_argument_has_a_setter_program() {
    let opts = CompileOptions { has_child: true, ..CompileOptions::default() };
    let src = "watchpoint:increment+arg1:4:w { printf(\"hit\\n\"); unwatch(0x1000); }";
    let obj = btc_codegen::compile(src, &System, &opts, btc_compiler::Emit::Object).map(|r| r.0).unwrap_or_default();
    let meta = btc_bpfprog::read_metadata(&obj).map_err(|e| e.to_string());
    let probes = meta.map(|m| m.probes).unwrap_or_default();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].name, "watchpoint:increment+arg1:4:w");
    assert_eq!(
        probes[0].kind,
        ProbeKind::WatchFunc { func: "increment".into(), arg: 1, len: 4, mode: "w".into(), is_async: false }
    );
    // The body is a perf_event program; the setter a uprobe that stops the process (helper 109,
    // bpf_send_signal) and reports the address.
    let elf = goblin::elf::Elf::parse(&obj).expect("an ELF object");
    let sections: Vec<&str> = elf.section_headers.iter().filter_map(|s| elf.shdr_strtab.get_at(s.sh_name)).collect();
    assert!(sections.contains(&"perf_event"), "{sections:?}");
    assert!(sections.contains(&"uprobe"), "{sections:?}");
    let ir = btc_codegen::compile(src, &System, &opts, btc_compiler::Emit::LlvmIr).map(|r| r.0).unwrap_or_default();
    let ir = String::from_utf8_lossy(&ir);
    let setter = ir.split("define").find(|f| f.contains("@btc_p0_set")).unwrap_or_default();
    assert!(setter.contains("inttoptr (i64 109 to ptr)"), "{setter}");
    let async_src = "asyncwatchpoint:increment+arg1:4:w { }";
    let ir = btc_codegen::compile(async_src, &System, &opts, btc_compiler::Emit::LlvmIr).map(|r| r.0).unwrap_or_default();
    let ir = String::from_utf8_lossy(&ir);
    let setter = ir.split("define").find(|f| f.contains("@btc_p0_set")).unwrap_or_default();
    assert!(!setter.is_empty() && !setter.contains("inttoptr (i64 109 to ptr)"), "{setter}");
}

#[test]
fn binaries_with_wildcards_expand_and_show_as_globbed() {
    assert_eq!(names("uprobe:/bin/a*:main { }"), ["uprobe:/bin/app:main"]);
    assert_eq!(names("uprobe:/*/*:malloc { }"), ["uprobe:/bin/app:malloc", "uprobe:/lib/libc.so.6:malloc"]);
    let none = probes_of("uprobe:/nope*:main { }");
    assert!(none.is_err_and(|e| e.contains("uprobe target file '/nope*' does not exist or is not executable")));
    assert_eq!(names("usdt:/bin/a*:app:stop { }"), ["usdt:/bin/app:app:stop"]);
}

#[test]
fn usdt_matches_follow_bpftraces_sorted_order_and_quoted_names() {
    let all = names("usdt:/bin/app:* { }");
    assert_eq!(
        all,
        ["usdt:/bin/app:app:\"quoted\"", "usdt:/bin/app:app:start", "usdt:/bin/app:app:start", "usdt:/bin/app:app:stop"]
    );
    assert_eq!(names(r#"usdt:/bin/app:app:"\"quoted\"" { }"#), ["usdt:/bin/app:app:\"quoted\""]);
}

#[test]
fn wildcard_uprobes_share_a_program_where_the_kernel_has_uprobe_multi() {
    let opts = CompileOptions::default();
    let instances = |src: &str| -> Vec<(String, ProbeKind)> {
        let c = btc_compiler::check(src, &Multi, &opts).unwrap_or_else(|e| panic!("{e:?}"));
        c.analysis.instances.iter().map(|i| (i.probe.name.clone(), i.probe.kind.clone())).collect()
    };
    let merged = instances("uprobe:/bin/app:ma* { @ = count(); }");
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].0, "uprobe:/bin/app:ma*");
    assert!(matches!(&merged[0].1, ProbeKind::Uprobe { symbol: Some(s), also, .. } if s == "main" && also == &["malloc"]));
    assert_eq!(instances("uprobe:/bin/app:ma* { @[func] = count(); }").len(), 2);
    assert_eq!(instances("uprobe:/bin/app:ma* { print(probe); }").len(), 2);
    // Without uprobe_multi, one program per function.
    assert_eq!(names("uprobe:/bin/app:ma* { @ = count(); }").len(), 2);
}

#[test]
fn watchpoints_on_wildcarded_functions_of_the_command() {
    let opts = CompileOptions { has_child: true, command: Some("/bin/app 5".into()), ..CompileOptions::default() };
    let c = btc_compiler::check("watchpoint:ma*+arg1:4:w { }", &System, &opts).unwrap_or_else(|e| panic!("{e:?}"));
    let got: Vec<(&str, &ProbeKind)> = c.analysis.instances.iter().map(|i| (i.probe.name.as_str(), &i.probe.kind)).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "watchpoint:/bin/app:main:1:4:w");
    assert_eq!(got[1].0, "watchpoint:/bin/app:malloc:1:4:w");
    assert!(matches!(got[1].1, ProbeKind::WatchFunc { func, arg: 1, .. } if func == "malloc"));
}

/// Compiled without -p and -c (`btc compile`): probes on the traced process are recorded as
/// written, for the runtime to expand; unsafe functions and cpid compile.
#[test]
fn probes_on_the_traced_process_are_resolved_at_run_time() {
    use btc_bpfprog::ProcessTarget;
    let opts = CompileOptions { process_flags_at_run_time: true, ..CompileOptions::default() };
    let src = "uprobe:btc_* { @[probe] = count(); } usdt:*:app:start { @s = arg1; } \
               watchpoint:incr*+arg1:4:w { } uprobe:/bin/app:main { system(\"true\"); @c = cpid; }";
    let obj = btc_codegen::compile(src, &System, &opts, btc_compiler::Emit::Object).map(|r| r.0);
    let obj = obj.unwrap_or_else(|e| panic!("{e:?}"));
    let meta = btc_bpfprog::read_metadata(&obj).unwrap_or_else(|e| panic!("{e}"));
    let targets: Vec<(&str, Option<&ProcessTarget>)> = meta.probes.iter().map(|p| (p.name.as_str(), p.process.as_ref())).collect();
    assert_eq!(
        targets,
        [
            ("uprobe:btc_*", Some(&ProcessTarget::Uprobe { binary: String::new(), func: "btc_*".into() })),
            (
                "usdt:*:app:start",
                Some(&ProcessTarget::Usdt { binary: "*".into(), provider: "app".into(), name: "start".into() })
            ),
            ("watchpoint:incr*+arg1:4:w", Some(&ProcessTarget::WatchFunc { func: "incr*".into() })),
            ("uprobe:/bin/app:main", None),
        ]
    );
    assert_eq!(meta.requires.unsafe_functions, ["system"]);
    assert!(meta.requires.child);
    assert_eq!(meta.requires.process_probes, ["uprobe:btc_*", "watchpoint:incr*+arg1:4:w"]);
    // The run-time USDT probe reads its arguments from the spec table, by its cookie (helper 174).
    let ir = btc_codegen::compile(src, &System, &opts, btc_compiler::Emit::LlvmIr).map(|r| r.0).unwrap_or_default();
    let ir = String::from_utf8_lossy(&ir);
    let usdt = ir.split("define").find(|f| f.contains("@btc_p1(")).unwrap_or_default();
    assert!(usdt.contains("inttoptr (i64 174 to ptr)"), "{usdt}");
    assert!(ir.contains(btc_bpfprog::usdt::USDT_SPECS_MAP), "the spec table is defined");
    // What can't be known before the run is refused with a reason.
    for (src, why) in [
        ("uretprobe:btc_* { printf(\"%s\\n\", func); }", "func is not known in uretprobe:btc_*"),
        ("uprobe:btc_add { print(args); }", "args is not known in uprobe:btc_add"),
        ("uprobe:0x1000 { }", "uprobe at an address needs a binary"),
    ] {
        let e = btc_compiler::check(src, &System, &opts).err().map(|e| match e {
            btc_compiler::CompileError::Script(d) => d.render("stdin", src, true),
            btc_compiler::CompileError::Internal(m) => m,
        });
        assert!(e.as_deref().is_some_and(|e| e.contains(why)), "{src}: {e:?}");
    }
    // Without the flag (btc run -e), they are errors at compile time, as before.
    let e = btc_compiler::check("uprobe:btc_add { }", &System, &CompileOptions::default()).is_err();
    assert!(e);
}
