//! `skboutput()` against the real kernel: rawtracepoint probes compiled as tp_btf programs send
//! loopback packets to pcap files, which this test parses itself (global header, link type 101,
//! records with wall-clock times, the payload of a UDP datagram it sent, OFFSET honoured), and
//! lost samples are reported. kfunc probes capture too where fentry programs load; elsewhere
//! btc must say the kernel refuses them, and their object is checked instead.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "support/features.rs"]
mod features;

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const NOTIFY: &str = "__BPFTRACE_NOTIFY_PROBES_ATTACHED";

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn wall_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Starts `btc run -e prog`, waits until its probes are attached (the notice is on stderr, as
/// bpftrace prints it); stdout lines arrive on the first receiver, the rest of stderr on the
/// second once btc ends.
fn start(prog: &str, env: &[(&str, &str)]) -> (Child, Receiver<String>, Receiver<String>) {
    let mut c = Command::new(BTC);
    c.args(["run", "-e", prog]).env(NOTIFY, "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("start btc");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut before = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.wait();
            panic!("btc ended before attaching: {before}");
        }
        if line.trim_end() == NOTIFY {
            break;
        }
        before.push_str(&line);
    }
    let (etx, erx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = before;
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        let _ = etx.send(rest);
    });
    (child, rx, erx)
}

/// Stops btc with SIGINT; returns its stdout and its stderr.
fn stop(mut child: Child, rx: &Receiver<String>, err_rx: &Receiver<String>) -> (Vec<String>, String) {
    // SAFETY: kill with the pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "btc did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = err_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "btc failed: {err}");
    let mut lines = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(l);
    }
    (lines, err)
}

/// Sends `payload` in a UDP datagram over loopback and receives it.
fn send_udp(payload: &[u8]) -> u16 {
    let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    tx.send_to(payload, ("127.0.0.1", port)).expect("send");
    rx.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut buf = vec![0u8; payload.len() + 16];
    let n = rx.recv(&mut buf).expect("receive");
    assert_eq!(&buf[..n], payload);
    port
}

struct Record {
    ts_ns: u64,
    caplen: u32,
    len: u32,
    data: Vec<u8>,
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}

/// Parses a nanosecond pcap file, checking its global header.
fn parse_pcap(path: &PathBuf) -> Vec<Record> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.len() >= 24, "no pcap header in {}", path.display());
    assert_eq!(u32_at(&b, 0), 0xa1b2_3c4d, "magic (nanosecond pcap)");
    assert_eq!((u16::from_le_bytes([b[4], b[5]]), u16::from_le_bytes([b[6], b[7]])), (2, 4), "version");
    assert_eq!(u32_at(&b, 16), 262_144, "snaplen");
    assert_eq!(u32_at(&b, 20), 101, "link type LINKTYPE_RAW");
    let mut out = Vec::new();
    let mut o = 24;
    while o < b.len() {
        assert!(o + 16 <= b.len(), "truncated record header");
        let (sec, nsec, caplen, len) = (u32_at(&b, o), u32_at(&b, o + 4), u32_at(&b, o + 8), u32_at(&b, o + 12));
        assert!(nsec < 1_000_000_000, "nanoseconds field {nsec}");
        let end = o + 16 + caplen as usize;
        assert!(end <= b.len(), "truncated record");
        out.push(Record { ts_ns: u64::from(sec) * 1_000_000_000 + u64::from(nsec), caplen, len, data: b[o + 16..end].to_vec() });
        o = end;
    }
    out
}

/// The record holding `payload`, checked as an IPv4/UDP packet to `port` starting at byte 0.
fn find_udp<'a>(records: &'a [Record], payload: &[u8], port: u16) -> &'a Record {
    let r = records
        .iter()
        .find(|r| r.data.windows(payload.len()).any(|w| w == payload))
        .unwrap_or_else(|| panic!("no record holds the payload ({} records)", records.len()));
    let d = &r.data;
    assert_eq!(d[0], 0x45, "an IPv4 header without options starts the record");
    assert_eq!(d[9], 17, "UDP");
    assert_eq!(d[12..16], [127, 0, 0, 1]);
    assert_eq!(d[16..20], [127, 0, 0, 1]);
    assert_eq!(usize::from(u16::from_be_bytes([d[2], d[3]])), d.len(), "IP total length = captured bytes");
    assert_eq!(u16::from_be_bytes([d[22], d[23]]), port, "UDP destination port");
    assert_eq!(&d[28..], payload, "payload after the IP and UDP headers");
    assert_eq!((r.caplen, r.len), (d.len() as u32, d.len() as u32));
    r
}

#[test]
fn loopback_packets_go_to_pcap_files() {
    let rx_path = tmp("skb_rx.pcap");
    let q_path = tmp("skb_queue.pcap");
    let _ = std::fs::remove_file(&rx_path);
    let _ = std::fs::remove_file(&q_path);
    // netif_receive_skb sees the IP header at skb->data; net_dev_queue still has the 14-byte
    // Ethernet header of the loopback device in front of it, which OFFSET skips.
    let prog = format!(
        "rawtracepoint:netif_receive_skb {{ $r = skboutput(\"{}\", args.arg0, args.arg0->len, 0); if ($r != 0) {{ printf(\"rx failed %d\\n\", $r); }} }}\n\
         rawtracepoint:net_dev_queue {{ $skb = args.arg0; $r = skboutput(\"{}\", $skb, $skb->len, 14); if ($r != 0) {{ printf(\"queue failed %d\\n\", $r); }} }}",
        rx_path.display(),
        q_path.display()
    );
    let before = wall_ns();
    let (child, rx, err_rx) = start(&prog, &[]);
    // The files exist, with their headers, as soon as tracing starts.
    for path in [&rx_path, &q_path] {
        let head = std::fs::read(path).unwrap_or_default();
        assert_eq!(head.get(..4), Some(&[0x4d, 0x3c, 0xb2, 0xa1][..]), "{} has no pcap header", path.display());
    }
    let payload = format!("btc-skboutput-{}-{}", std::process::id(), before).into_bytes();
    let port = send_udp(&payload);
    std::thread::sleep(Duration::from_millis(300));
    let (lines, err) = stop(child, &rx, &err_rx);
    let after = wall_ns();
    assert!(lines.iter().all(|l| !l.contains("failed")), "skboutput failed: {lines:?} {err}");

    for path in [&rx_path, &q_path] {
        let records = parse_pcap(path);
        let r = find_udp(&records, &payload, port);
        // Timestamps are nsecs plus the boot time: wall-clock time of the capture.
        assert!(r.ts_ns + 1_000_000_000 >= before && r.ts_ns <= after + 1_000_000_000, "{} not in [{before}, {after}]", r.ts_ns);
    }
}

#[test]
fn samples_too_large_for_the_perf_buffer_are_lost_events() {
    let path = tmp("skb_big.pcap");
    let prog = format!(
        "rawtracepoint:netif_receive_skb /args.arg0->len > 6000/ {{ $r = skboutput(\"{}\", args.arg0, args.arg0->len, 0); printf(\"ret %d\\n\", $r); }}",
        path.display()
    );
    // One page per CPU: an 8000-byte datagram can't fit.
    let (child, rx, err_rx) = start(&prog, &[("BPFTRACE_PERF_RB_PAGES", "1")]);
    send_udp(&[b'x'; 8000]);
    std::thread::sleep(Duration::from_millis(300));
    let (lines, err) = stop(child, &rx, &err_rx);
    assert!(lines.iter().any(|l| l == "ret -28"), "bpf_skb_output returns -ENOSPC: {lines:?} {err}");
    assert!(lines.iter().any(|l| l.starts_with("Lost ") && l.ends_with(" events")), "lost samples reported: {lines:?}");
    assert!(parse_pcap(&path).iter().all(|r| r.len <= 6000));
}

/// Compiles `prog` with `btc compile` and returns the object's bytes.
fn compile(prog: &str, name: &str) -> Vec<u8> {
    let out = tmp(name);
    let o = Command::new(BTC).args(["compile", "-e", prog, "-o"]).arg(&out).output().expect("run btc compile");
    assert!(o.status.success(), "btc compile failed: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(&out).expect("read object")
}

/// The single program of an object: its type, section and whether it calls helper `id`.
fn program_of(bytes: &[u8]) -> (libbpf_rs::ProgramType, String, Vec<i32>) {
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder.open_memory(bytes).expect("libbpf opens the object");
    let progs: Vec<_> = open.progs().collect();
    assert_eq!(progs.len(), 1);
    let p = &progs[0];
    // BPF_JMP | BPF_CALL with src_reg 0: a helper call, its number in imm.
    let calls = p.insns().iter().filter(|i| i.code == 0x85 && i.src_reg() == 0).map(|i| i.imm).collect();
    (p.prog_type(), p.section().to_string_lossy().into_owned(), calls)
}

fn map_type_of(bytes: &[u8], name: &str) -> Option<libbpf_rs::MapType> {
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder.open_memory(bytes).expect("libbpf opens the object");
    let t = open.maps().find(|m| m.name() == name).map(|m| m.map_type());
    t
}

#[test]
fn kfunc_probes_capture_where_fentry_loads() {
    // ip_rcv(skb, ...) sees the received packet from its IP header on.
    let path = tmp("skb_kfunc.pcap");
    let _ = std::fs::remove_file(&path);
    let prog = format!(
        "kfunc:ip_rcv {{ $r = skboutput(\"{}\", args.skb, args.skb->len, 0); if ($r != 0) {{ printf(\"failed %d\\n\", $r); }} }}",
        path.display()
    );
    if !features::holds("fentry").expect("the fentry check runs") {
        // Where the kernel refuses fentry programs, btc says so, naming the probe.
        let o = Command::new(BTC).args(["run", "-e", &prog]).output().expect("run btc");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("(kfunc:ip_rcv)") && err.contains("this kernel refuses fentry/fexit programs, which kfunc and kretfunc need"),
            "{err}"
        );
        return;
    }
    let (child, rx, err_rx) = start(&prog, &[]);
    let payload = format!("btc-skboutput-kfunc-{}", std::process::id()).into_bytes();
    let port = send_udp(&payload);
    std::thread::sleep(Duration::from_millis(300));
    let (lines, err) = stop(child, &rx, &err_rx);
    assert!(lines.iter().all(|l| !l.contains("failed")), "skboutput failed: {lines:?} {err}");
    find_udp(&parse_pcap(&path), &payload, port);
}

#[test]
fn kfunc_object_calls_bpf_skb_output_through_a_perf_event_array() {
    // The object, which needs no fentry to check.
    let bytes = compile(
        "kfunc:dev_queue_xmit { $r = skboutput(\"out.pcap\", args.skb, args.skb->len, 14); printf(\"%d\\n\", $r); }",
        "skb_kfunc.o",
    );
    let (ty, section, calls) = program_of(&bytes);
    assert_eq!(ty, libbpf_rs::ProgramType::Tracing);
    assert_eq!(section, "fentry/dev_queue_xmit");
    assert!(calls.contains(&111), "bpf_skb_output (111) is called: {calls:?}");
    assert!(calls.contains(&125), "bpf_ktime_get_boot_ns (125) stamps the header: {calls:?}");
    assert_eq!(map_type_of(&bytes, "btc_skb"), Some(libbpf_rs::MapType::PerfEventArray));
    let meta = btc_bpfprog::read_metadata(&bytes).expect("metadata");
    assert_eq!(meta.pcaps, vec!["out.pcap".to_string()]);
}

#[test]
fn only_rawtracepoints_calling_skboutput_become_tp_btf() {
    let with = compile("rawtracepoint:netif_rx { $r = skboutput(\"a.pcap\", args.arg0, 64, 0); }", "skb_tp_btf.o");
    let (ty, section, _) = program_of(&with);
    assert_eq!((ty, section.as_str()), (libbpf_rs::ProgramType::Tracing, "tp_btf/netif_rx"));
    let meta = btc_bpfprog::read_metadata(&with).expect("metadata");
    assert!(matches!(&meta.probes[0].kind, btc_bpfprog::ProbeKind::RawTracepoint { btf: true, .. }));

    let without = compile("rawtracepoint:netif_rx { @[cpu] = count(); }", "skb_raw_tp.o");
    let (ty, section, _) = program_of(&without);
    assert_eq!((ty, section.as_str()), (libbpf_rs::ProgramType::RawTracepoint, "raw_tp/netif_rx"));
    assert_eq!(map_type_of(&without, "btc_skb"), None, "no perf event array without skboutput()");
    assert!(btc_bpfprog::read_metadata(&without).expect("metadata").pcaps.is_empty());
}
