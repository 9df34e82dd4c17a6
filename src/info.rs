//! `--info`: the system, the build and what the kernel's BPF supports, in bpftrace 0.20's
//! sections and words (scripts and test suites read its `NAME: yes` lines).

use btc_runtime::features::{features, Features};

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

/// The `--info` report (bpftrace writes it to stderr).
pub fn info() -> String {
    let (sys, release, version, machine) = uname();
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
