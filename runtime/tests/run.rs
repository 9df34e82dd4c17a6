//! End-to-end runs of real BPF objects built from `tests/fixtures/*.bpf.c` (needs root and
//! clang-19).

mod common;

use btc_bpfprog::{FormatInfo, MapInfo, MapValue, Probe, ProbeKind, Ty};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn probe(prog: &str, name: &str, kind: ProbeKind) -> Probe {
    Probe { prog: prog.into(), name: name.into(), kind, process: None }
}

fn begin_fixture() -> Vec<u8> {
    let meta = common::meta(
        vec![
            probe("fx_begin", "BEGIN", ProbeKind::Begin),
            probe("fx_tick", "interval:ms:10", ProbeKind::Interval { period_ns: 10_000_000 }),
            probe("fx_end", "END", ProbeKind::End),
        ],
        vec![
            MapInfo {
                name: "@a".into(),
                bpf_name: "m_a".into(),
                key: Ty::U64,
                scalar: true,
                value: MapValue::Plain { ty: Ty::I64 }, lru: false,
            },
            MapInfo { name: "@c".into(), bpf_name: "m_c".into(), key: Ty::Str { len: 8 }, scalar: false, value: MapValue::Count, lru: false },
            MapInfo {
                name: "@".into(),
                bpf_name: "m_s".into(),
                key: Ty::Int { bytes: 4, signed: true },
                scalar: false,
                value: MapValue::Plain { ty: Ty::Str { len: 8 } }, lru: false,
            },
        ],
        vec![
            FormatInfo {
                fmt: "hello %s %d %lx|%-4s|%5u\n".into(),
                args: Ty::tuple(vec![
                    Ty::Str { len: 8 },
                    Ty::Int { bytes: 4, signed: true },
                    Ty::I64,
                    Ty::Str { len: 4 },
                    Ty::Int { bytes: 2, signed: false },
                ]),
            },
            FormatInfo { fmt: "tick %d\n".into(), args: Ty::tuple(vec![Ty::U64]) },
            FormatInfo { fmt: "end\n".into(), args: Ty::tuple(vec![]) },
        ],
    );
    common::build("begin", &meta)
}

#[test]
fn begin_interval_end_and_maps() {
    let object = begin_fixture();
    let (result, out) = common::run(&object, false);
    assert_eq!(result.expect("run succeeds"), 0, "output so far:\n{out}");
    let expected = "Attaching 3 probes...\n\
                    hello world -5 ffffffffffffffff|ab  |65535\n\
                    @c[y]: 2\n@c[x]: 3\n\
                    tick 1\ntick 2\ntick 3\n\
                    end\n\
                    \n\n\
                    @[7]: seven\n@[-1]: neg\n\
                    @a: 42\n\
                    @c[y]: 2\n@c[x]: 3\n";
    assert_eq!(out, expected);

    // Quiet: the same without the first line. (Same test, so the leak check below sees no
    // concurrent run of this fixture.)
    let (result, quiet_out) = common::run(&object, true);
    assert_eq!(result.expect("run succeeds"), 0);
    assert_eq!(quiet_out, expected.trim_start_matches("Attaching 3 probes...\n"));

    let progs: Vec<String> = common::loaded_prog_names().into_iter().filter(|n| n.starts_with("fx_")).collect();
    let progs: Vec<&String> = progs.iter().filter(|n| ["fx_begin", "fx_tick", "fx_end"].contains(&n.as_str())).collect();
    assert!(progs.is_empty(), "programs left loaded: {progs:?}");
    // Maps used by programs are freed after an RCU grace period: give the kernel a moment.
    let ours = || -> Vec<String> {
        common::loaded_map_names().into_iter().filter(|n| ["m_a", "m_c", "m_s", "ticks"].contains(&n.as_str())).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !ours().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(ours().is_empty(), "maps left loaded: {:?}", ours());
}

fn tracepoint_fixture(category: &str, name: &str) -> Vec<u8> {
    let meta = common::meta(
        vec![
            probe("fx_tp_begin", "BEGIN", ProbeKind::Begin),
            probe(
                "fx_tp",
                &format!("tracepoint:{category}:{name}"),
                ProbeKind::Tracepoint { category: category.into(), name: name.into() },
            ),
        ],
        vec![],
        vec![FormatInfo { fmt: "getppid nr=%d\n".into(), args: Ty::tuple(vec![Ty::I64]) }],
    );
    common::build("tracepoint", &meta)
}

#[test]
fn tracepoint_probe_and_lost_events() {
    let object = tracepoint_fixture("syscalls", "sys_enter_getppid");
    let done = Arc::new(AtomicBool::new(false));
    let trigger = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let (result, out) = common::run(&object, false);
    done.store(true, Ordering::SeqCst);
    trigger.join().expect("trigger thread");
    assert_eq!(result.expect("run succeeds"), 0, "output so far:\n{out}");
    assert_eq!(out, "Attaching 2 probes...\nLost 3 events\ngetppid nr=110\n\n\n");
}

#[test]
fn missing_tracepoint_is_one_clear_error() {
    let object = tracepoint_fixture("syscalls", "sys_enter_foo");
    let (result, out) = common::run(&object, false);
    let err = result.expect_err("attach fails");
    assert_eq!(err.to_string(), "failed to attach tracepoint:syscalls:sys_enter_foo: No such file or directory");
    // BEGIN ran before the attach failed, but as in bpftrace nothing it sent (here 3 "lost"
    // events) is printed: output is read only once every probe is attached.
    assert_eq!(out, "Attaching 2 probes...\n");
}

#[test]
fn not_a_btc_object() {
    let (result, out) = common::run(b"\x7fELF garbage", false);
    let err = result.expect_err("not an object");
    assert!(err.to_string().starts_with("not a BPF object: the file is truncated"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn tracefs_root_and_formats() {
    let root = btc_runtime::tracefs::root().expect("tracefs available");
    assert!(root.join("events").is_dir());
    let format = btc_runtime::tracefs::tracepoint_format("syscalls", "sys_enter_getppid").expect("format");
    assert!(format.contains("__syscall_nr"), "{format}");
    let err = btc_runtime::tracefs::tracepoint_format("syscalls", "sys_enter_foo").expect_err("missing");
    assert_eq!(err.to_string(), "tracepoint not found: syscalls:sys_enter_foo");
    let all = btc_runtime::tracefs::tracepoints().expect("tracepoint list");
    assert!(all.contains(&("syscalls".to_string(), "sys_enter_getppid".to_string())));
    assert!(all.contains(&("sched".to_string(), "sched_switch".to_string())));
    assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
}
