//! SIGINT and SIGTERM stop tracing, run END and print the maps. Its own test binary (one test),
//! because signals are process-wide.

mod common;

use btc_bpfprog::{FormatInfo, MapInfo, MapValue, Probe, ProbeKind, Ty};
use std::time::{Duration, Instant};

fn interval_fixture() -> Vec<u8> {
    let meta = common::meta(
        vec![
            Probe {
                prog: "fx_sig_tick".into(),
                name: "interval:ms:5".into(),
                kind: ProbeKind::Interval { period_ns: 5_000_000 },
                process: None,
            },
            Probe { prog: "fx_sig_end".into(), name: "END".into(), kind: ProbeKind::End, process: None },
        ],
        vec![MapInfo { name: "@n".into(), bpf_name: "m_n".into(), key: Ty::U64, scalar: true, value: MapValue::Count, lru: false }],
        vec![FormatInfo { fmt: "bye\n".into(), args: Ty::tuple(vec![]) }],
    );
    common::build("interval", &meta)
}

fn run_until(signal: libc::c_int, object: &[u8]) {
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: sends a signal to this process, whose handler only sets a flag.
        unsafe { libc::kill(libc::getpid(), signal) };
    });
    let start = Instant::now();
    let (result, out) = common::run(object, false);
    sender.join().expect("sender thread");
    assert_eq!(result.expect("run succeeds"), 0, "output so far:\n{out}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?} to stop", start.elapsed());
    let rest = out.strip_prefix("Attaching 2 probes...\nbye\n\n\n@n: ").unwrap_or_else(|| panic!("unexpected output:\n{out}"));
    let n: u64 = rest.trim_end().parse().unwrap_or_else(|_| panic!("unexpected output:\n{out}"));
    assert!(n >= 10, "only {n} ticks in 300ms of a 5ms interval");
    assert!(rest.ends_with('\n') && rest.lines().count() == 1, "unexpected output:\n{out}");
}

#[test]
fn sigint_and_sigterm_stop_tracing() {
    let object = interval_fixture();
    let fds = || std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
    let fds_before = fds();
    run_until(libc::SIGINT, &object);
    run_until(libc::SIGTERM, &object);
    assert_eq!(fds(), fds_before, "file descriptors leaked");
    let left: Vec<String> = common::loaded_prog_names().into_iter().filter(|n| n.starts_with("fx_sig")).collect();
    assert!(left.is_empty(), "programs left loaded: {left:?}");
}
