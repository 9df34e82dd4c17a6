//! `--info`: the system, the build and what the kernel's BPF supports, in bpftrace 0.20's
//! sections and words (scripts and test suites read its `NAME: yes` lines).

use btc_bpfprog::Compat;
use btc_runtime::features::{features, Features};

/// Where `--info` goes: bpftrace 0.26 prints it on stdout.
pub fn to_stdout(compat: Compat) -> bool {
    compat.v026()
}

/// bpftrace 0.26's build section (btc has no libsystemd, blazesym or DWARF unwinder).
fn build_026() -> String {
    format!(
        "Build
  version: v0.26.1 (btc {})
  LLVM: 19.1.7
  bfd: no
  libdw (DWARF support): yes
  libsystemd (systemd notify support): no
  blazesym (advanced symbolization): no
  dwunwind (DWARF stack unwinding): no
",
        env!("CARGO_PKG_VERSION")
    )
}

/// bpftrace 0.26's `NAME: VALUE` pairs, two to a line, the first padded to 35 columns.
fn tabulate(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for two in pairs.chunks(2) {
        let first = format!("  {}: {}", two[0].0, two[0].1);
        match two.get(1) {
            Some((name, value)) => out.push_str(&format!("{first:<35}{name}: {value}\n")),
            None => out.push_str(&format!("{first}\n")),
        }
    }
    out
}

/// bpftrace 0.26's kernel sections, with the lines it prints (no extra lines for tools that
/// look for older names).
fn kernel_026(f: &Features) -> String {
    let y = |b: bool| yes(b).to_string();
    let helpers = [
        ("dpath", y(f.dpath)),
        ("get_tai_ns", y(f.get_tai_ns)),
        ("get_func_ip", y(f.get_func_ip)),
        ("lookup_percpu_elem", y(f.lookup_percpu_elem)),
        ("probe_read_kernel", y(f.probe_read_kernel)),
        ("send_signal", y(f.send_signal)),
        ("skboutput", y(f.skboutput)),
        ("jiffies64", y(f.jiffies64)),
    ];
    let kernel = [
        ("Instruction limit", f.instruction_limit.to_string()),
        ("btf", y(f.btf)),
        ("module btf", y(f.module_btf)),
    ];
    let probes = [
        ("kprobe_multi", y(f.kprobe_multi)),
        ("uprobe_multi", y(f.uprobe_multi)),
        ("kprobe_session", y(f.kprobe_session)),
        ("iter", y(f.iter_task)),
    ];
    format!(
        "Kernel helpers\n{}\nKernel features\n{}\nProbe types\n{}\n",
        tabulate(&helpers),
        tabulate(&kernel),
        tabulate(&probes)
    )
}

fn uname() -> (String, String, String, String) {
    // SAFETY: utsname is plain data that uname fills.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to it.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Default::default();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.sysname), field(&u.release), field(&u.version), field(&u.machine))
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The `--info` report (bpftrace 0.20 writes it to stderr, 0.26 to stdout: see [`to_stdout`]).
pub fn info(compat: Compat) -> String {
    let (sys, release, version, machine) = uname();
    if compat.v026() {
        return format!("System\n  OS: {sys} {release} {version}\n  Arch: {machine}\n\n{}\n{}", build_026(), kernel_026(features()));
    }
    format!(
        "System\n  OS: {sys} {release} {version}\n  Arch: {machine}\n\n{}\n{}",
        build(),
        kernel(features())
    )
}

fn build() -> String {
    format!(
        "Build
  version: v0.20.4 (btc {})
  LLVM: 19.1
  unsafe probe: no
  bfd: no
  libdw (DWARF support): yes
",
        env!("CARGO_PKG_VERSION")
    )
}

fn kernel(f: &Features) -> String {
    let y = yes;
    format!(
        "Kernel helpers
  probe_read: {}
  probe_read_str: {}
  probe_read_user: {}
  probe_read_user_str: {}
  probe_read_kernel: {}
  probe_read_kernel_str: {}
  get_current_cgroup_id: {}
  send_signal: {}
  override_return: {}
  get_boot_ns: {}
  dpath: {}
  skboutput: {}
  get_tai_ns: {}
  get_func_ip: {}
  jiffies64: {}

Kernel features
  Instruction limit: {}
  Loop support: {}
  btf: {}
  module btf: {}
  map batch: {}
  uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount): {}

Map types
  hash: {}
  percpu hash: {}
  array: {}
  percpu array: {}
  stack_trace: {}
  perf_event_array: {}
  ringbuf: {}

Probe types
  kprobe: {}
  tracepoint: {}
  perf_event: {}
  kfunc: {}
  kprobe_multi: {}
  uprobe_multi: {}
  raw_tp_special: {}
  iter: {}

",
        y(f.probe_read),
        y(f.probe_read_str),
        y(f.probe_read_user),
        y(f.probe_read_user_str),
        y(f.probe_read_kernel),
        y(f.probe_read_kernel_str),
        y(f.get_current_cgroup_id),
        y(f.send_signal),
        y(f.override_return),
        y(f.get_boot_ns),
        y(f.dpath),
        y(f.skboutput),
        y(f.get_tai_ns),
        y(f.get_func_ip),
        y(f.jiffies64),
        f.instruction_limit,
        y(f.loops),
        y(f.btf),
        y(f.module_btf),
        y(f.map_batch),
        y(f.uprobe_refcount),
        y(f.map_hash),
        y(f.map_percpu_hash),
        y(f.map_array),
        y(f.map_percpu_array),
        y(f.map_stack_trace),
        y(f.map_perf_event_array),
        y(f.map_ringbuf),
        y(f.prog_kprobe),
        y(f.prog_tracepoint),
        y(f.prog_perf_event),
        y(f.kfunc),
        y(f.kprobe_multi),
        y(f.uprobe_multi),
        y(f.raw_tp_special),
        y(f.iter_task),
    )
}
