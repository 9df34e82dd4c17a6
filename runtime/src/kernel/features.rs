//! What the running kernel's BPF supports, found out the way bpftrace does: by loading tiny
//! programs (a helper call, a program type, an attach type) and creating maps and links, each
//! released at once. `--info` prints these; the run asks some of them (uprobe_multi links).

use libbpf_rs::libbpf_sys as sys;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// Helper ids (`enum bpf_func_id`).
pub mod helper {
    pub const PROBE_READ: u32 = 4;
    pub const PROBE_READ_STR: u32 = 45;
    pub const OVERRIDE_RETURN: u32 = 58;
    pub const GET_CURRENT_CGROUP_ID: u32 = 80;
    pub const SEND_SIGNAL: u32 = 109;
    pub const PROBE_READ_USER: u32 = 112;
    pub const PROBE_READ_KERNEL: u32 = 113;
    pub const PROBE_READ_USER_STR: u32 = 114;
    pub const PROBE_READ_KERNEL_STR: u32 = 115;
    pub const JIFFIES64: u32 = 118;
    pub const KTIME_GET_BOOT_NS: u32 = 125;
    pub const D_PATH: u32 = 147;
    pub const GET_FUNC_IP: u32 = 173;
    pub const MAP_LOOKUP_PERCPU_ELEM: u32 = 195;
    pub const KTIME_GET_TAI_NS: u32 = 208;
}


#[derive(Clone, Debug, Default)]
pub struct Features {
    pub probe_read: bool,
    pub probe_read_str: bool,
    pub probe_read_user: bool,
    pub probe_read_user_str: bool,
    pub probe_read_kernel: bool,
    pub probe_read_kernel_str: bool,
    pub get_current_cgroup_id: bool,
    pub send_signal: bool,
    pub override_return: bool,
    pub get_boot_ns: bool,
    pub dpath: bool,
    pub skboutput: bool,
    pub get_tai_ns: bool,
    pub get_func_ip: bool,
    pub jiffies64: bool,
    /// The verifier's instruction limit, from its log; -1 when it doesn't say.
    pub instruction_limit: i64,
    pub loops: bool,
    pub btf: bool,
    pub module_btf: bool,
    pub map_batch: bool,
    pub uprobe_refcount: bool,
    pub map_hash: bool,
    pub map_percpu_hash: bool,
    pub map_array: bool,
    pub map_percpu_array: bool,
    pub map_stack_trace: bool,
    pub map_perf_event_array: bool,
    pub map_ringbuf: bool,
    pub prog_kprobe: bool,
    pub prog_tracepoint: bool,
    pub prog_perf_event: bool,
    /// fentry/fexit programs load (and there is kernel BTF to type them).
    pub kfunc: bool,
    pub kprobe_multi: bool,
    pub uprobe_multi: bool,
    /// Raw tracepoint programs load and run with BPF_PROG_TEST_RUN (how BEGIN/END run).
    pub raw_tp_special: bool,
    pub iter_task: bool,
    /// bpftrace 0.26's names.
    pub lookup_percpu_elem: bool,
    pub kprobe_session: bool,
}

/// The kernel's features, detected once per process.
pub fn features() -> &'static Features {
    static F: OnceLock<Features> = OnceLock::new();
    F.get_or_init(detect)
}

fn detect() -> Features {
    let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
    let vmlinux = Vmlinux::load();
    let kfunc = btf && vmlinux.fentry_loads("vfs_read", &[MOV_R0_0, EXIT]);
    let kprobe_helper = |id| helper_supported(sys::BPF_PROG_TYPE_KPROBE, id);
    let (instruction_limit, _) = instruction_limit();
    Features {
        probe_read: kprobe_helper(helper::PROBE_READ),
        probe_read_str: kprobe_helper(helper::PROBE_READ_STR),
        probe_read_user: kprobe_helper(helper::PROBE_READ_USER),
        probe_read_user_str: kprobe_helper(helper::PROBE_READ_USER_STR),
        probe_read_kernel: kprobe_helper(helper::PROBE_READ_KERNEL),
        probe_read_kernel_str: kprobe_helper(helper::PROBE_READ_KERNEL_STR),
        get_current_cgroup_id: kprobe_helper(helper::GET_CURRENT_CGROUP_ID),
        send_signal: kprobe_helper(helper::SEND_SIGNAL),
        override_return: kprobe_helper(helper::OVERRIDE_RETURN),
        get_boot_ns: kprobe_helper(helper::KTIME_GET_BOOT_NS),
        dpath: kfunc && vmlinux.fentry_loads("dentry_open", &d_path_program()),
        skboutput: kfunc && map_created(sys::BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1),
        get_tai_ns: kprobe_helper(helper::KTIME_GET_TAI_NS),
        get_func_ip: kfunc && vmlinux.fentry_loads("vfs_read", &call_program(helper::GET_FUNC_IP)),
        jiffies64: kprobe_helper(helper::JIFFIES64),
        instruction_limit,
        loops: loads(sys::BPF_PROG_TYPE_TRACEPOINT, &LOOP_PROGRAM, None).is_some(),
        btf,
        module_btf: module_btf(),
        map_batch: map_batch(),
        uprobe_refcount: std::path::Path::new(
            "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset",
        )
        .exists(),
        map_hash: map_type(sys::BPF_MAP_TYPE_HASH),
        map_percpu_hash: map_type(sys::BPF_MAP_TYPE_PERCPU_HASH),
        map_array: map_type(sys::BPF_MAP_TYPE_ARRAY),
        map_percpu_array: map_type(sys::BPF_MAP_TYPE_PERCPU_ARRAY),
        map_stack_trace: map_type(sys::BPF_MAP_TYPE_STACK_TRACE),
        map_perf_event_array: map_type(sys::BPF_MAP_TYPE_PERF_EVENT_ARRAY),
        map_ringbuf: map_type(sys::BPF_MAP_TYPE_RINGBUF),
        prog_kprobe: prog_type(sys::BPF_PROG_TYPE_KPROBE),
        prog_tracepoint: prog_type(sys::BPF_PROG_TYPE_TRACEPOINT),
        prog_perf_event: prog_type(sys::BPF_PROG_TYPE_PERF_EVENT),
        kfunc,
        kprobe_multi: kprobe_multi_link(sys::BPF_TRACE_KPROBE_MULTI),
        kprobe_session: kprobe_multi_link(sys::BPF_TRACE_KPROBE_SESSION),
        lookup_percpu_elem: kprobe_helper(helper::MAP_LOOKUP_PERCPU_ELEM),
        uprobe_multi: uprobe_multi(),
        raw_tp_special: raw_tp_special(),
        iter_task: btf && vmlinux.iter_loads("task"),
    }
}

/// One instruction, as the kernel reads `struct bpf_insn` (little-endian x86-64/arm64 layout:
/// code, dst/src registers, offset, immediate).
const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    (code as u64)
        | (((dst & 0xf) as u64) << 8)
        | (((src & 0xf) as u64) << 12)
        | ((off as u16 as u64) << 16)
        | ((imm as u32 as u64) << 32)
}

const MOV_R0_0: u64 = insn(0xb7, 0, 0, 0, 0);
const EXIT: u64 = insn(0x95, 0, 0, 0, 0);
/// r0 = 0; loop: r0 += 1; if r0 < 4 goto loop; exit — a bounded loop (kernel 5.3+).
const LOOP_PROGRAM: [u64; 4] =
    [MOV_R0_0, insn(0x07, 0, 0, 0, 1), insn(0xa5, 0, 0, -2, 4), EXIT];

fn call_program(helper: u32) -> Vec<u64> {
    vec![insn(0x85, 0, 0, 0, helper as i32), MOV_R0_0, EXIT]
}

/// `d_path(&ctx->arg0 as a struct path *, stack buffer, 8)` as bpftrace's check writes it.
fn d_path_program() -> Vec<u64> {
    vec![
        insn(0x61, 1, 1, 0, 0),  // r1 = *(u32 *)(r1 + 0)
        insn(0xbf, 2, 10, 0, 0), // r2 = r10
        insn(0x07, 2, 0, 0, -8), // r2 += -8
        insn(0xb7, 6, 0, 0, 0),  // r6 = 0
        insn(0x7b, 2, 6, 0, 0),  // *(u64 *)(r2 + 0) = r6
        insn(0x18, 3, 0, 0, 8),  // r3 = 8 (ld_imm64, two slots)
        0,
        insn(0x85, 0, 0, 0, helper::D_PATH as i32),
        MOV_R0_0,
        EXIT,
    ]
}

struct Load<'a> {
    attach_type: u32,
    attach_btf_id: u32,
    log: Option<&'a mut [u8]>,
}

fn loads(prog_type: u32, insns: &[u64], load: Option<Load<'_>>) -> Option<OwnedFd> {
    let license = c"GPL";
    let mut opts = sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<sys::bpf_prog_load_opts>() as _,
        ..Default::default()
    };
    if let Some(l) = load {
        opts.expected_attach_type = l.attach_type;
        opts.attach_btf_id = l.attach_btf_id;
        if let Some(log) = l.log {
            opts.log_level = 1;
            opts.log_size = log.len() as u32;
            opts.log_buf = log.as_mut_ptr().cast();
        }
    }
    // SAFETY: the instructions, licence and options outlive the call; `bpf_insn` is 8 bytes,
    // laid out as `insn` builds them.
    let fd = unsafe {
        sys::bpf_prog_load(
            prog_type,
            std::ptr::null(),
            license.as_ptr(),
            insns.as_ptr().cast(),
            insns.len() as _,
            &mut opts,
        )
    };
    // SAFETY: a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn helper_supported(prog_type: u32, id: u32) -> bool {
    // SAFETY: no options; libbpf loads and releases its own probe program.
    unsafe { sys::libbpf_probe_bpf_helper(prog_type, id, std::ptr::null()) == 1 }
}

fn map_type(t: u32) -> bool {
    // SAFETY: as above.
    unsafe { sys::libbpf_probe_bpf_map_type(t, std::ptr::null()) == 1 }
}

fn prog_type(t: u32) -> bool {
    // SAFETY: as above.
    unsafe { sys::libbpf_probe_bpf_prog_type(t, std::ptr::null()) == 1 }
}

fn map_created(t: u32, key: u32, value: u32, entries: u32) -> bool {
    // SAFETY: default options; the descriptor is closed at once.
    let fd = unsafe { sys::bpf_map_create(t, std::ptr::null(), key, value, entries, std::ptr::null()) };
    // SAFETY: ours.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }).is_some()
}

/// The limit the verifier names in its log of a two-instruction program
/// ("processed 2 insns (limit 1000000) ...").
fn instruction_limit() -> (i64, bool) {
    let program = [insn(0x18, 0, 0, 0, 0), 0, EXIT];
    let mut log = vec![0u8; 4096];
    let load = Load { attach_type: 0, attach_btf_id: 0, log: Some(&mut log) };
    if loads(sys::BPF_PROG_TYPE_KPROBE, &program, Some(load)).is_none() {
        return (-1, false);
    }
    let text = String::from_utf8_lossy(&log);
    let limit = text
        .find("processed 2 insns")
        .and_then(|at| text[at..].find("limit ").map(|l| at + l + 6))
        .and_then(|start| {
            let digits: String = text[start..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        });
    (limit.unwrap_or(-1), true)
}

fn module_btf() -> bool {
    let mut id = 0u32;
    // SAFETY: a valid out pointer.
    if unsafe { sys::bpf_btf_get_next_id(0, &mut id) } != 0 {
        return false;
    }
    // SAFETY: the descriptor is released at once.
    let fd = unsafe { sys::bpf_btf_get_fd_by_id(id) };
    // SAFETY: ours.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }).is_some()
}

fn map_batch() -> bool {
    // SAFETY: a small hash map, released at the end.
    let fd = unsafe {
        sys::bpf_map_create(sys::BPF_MAP_TYPE_HASH, std::ptr::null(), 4, 4, 1, std::ptr::null())
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: ours.
    let _map = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut keys = [0u32; 1];
    let mut values = [0u32; 1];
    let mut count = 1u32;
    let mut out = 0u32;
    // SAFETY: buffers of `count` entries and an out-batch token, all live for the call.
    let err = unsafe {
        sys::bpf_map_lookup_batch(
            fd,
            std::ptr::null_mut(),
            (&mut out as *mut u32).cast(),
            keys.as_mut_ptr().cast(),
            values.as_mut_ptr().cast(),
            &mut count,
            std::ptr::null(),
        )
    };
    // An empty map answers ENOENT when batches are supported, EINVAL/ENOTSUPP otherwise.
    err >= 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT)
}

/// A kprobe_multi (or kprobe session) link on one function can be made.
fn kprobe_multi_link(attach_type: u32) -> bool {
    let Some(prog) = loads(
        sys::BPF_PROG_TYPE_KPROBE,
        &[MOV_R0_0, EXIT],
        Some(Load { attach_type, attach_btf_id: 0, log: None }),
    ) else {
        return false;
    };
    let sym = c"ksys_read";
    let mut syms = [sym.as_ptr()];
    let mut opts = sys::bpf_link_create_opts {
        sz: std::mem::size_of::<sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.kprobe_multi = sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_2 {
        cnt: 1,
        syms: syms.as_mut_ptr(),
        ..Default::default()
    };
    link(&prog, attach_type, &opts).is_ok()
}

/// uprobe_multi links exist when creating one on a directory fails with EBADF (bpftrace's
/// check: the kernel got as far as opening the path).
fn uprobe_multi() -> bool {
    let Some(prog) = loads(
        sys::BPF_PROG_TYPE_KPROBE,
        &[MOV_R0_0, EXIT],
        Some(Load { attach_type: sys::BPF_TRACE_UPROBE_MULTI, attach_btf_id: 0, log: None }),
    ) else {
        return false;
    };
    let path = c"/";
    let offsets: [libc::c_ulong; 1] = [0];
    let mut opts = sys::bpf_link_create_opts {
        sz: std::mem::size_of::<sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.uprobe_multi = sys::bpf_link_create_opts__bindgen_ty_1__bindgen_ty_3 {
        cnt: 1,
        path: path.as_ptr(),
        offsets: offsets.as_ptr(),
        ..Default::default()
    };
    matches!(link(&prog, sys::BPF_TRACE_UPROBE_MULTI, &opts), Err(e) if e == libc::EBADF)
}

fn link(prog: &OwnedFd, attach: u32, opts: &sys::bpf_link_create_opts) -> Result<OwnedFd, i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: the options (and what they point to) live for the call.
    let fd = unsafe { sys::bpf_link_create(prog.as_raw_fd(), 0, attach, opts) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn raw_tp_special() -> bool {
    use std::os::fd::AsRawFd;
    let Some(prog) = loads(sys::BPF_PROG_TYPE_RAW_TRACEPOINT, &[MOV_R0_0, EXIT], None) else {
        return false;
    };
    let mut opts = sys::bpf_test_run_opts {
        sz: std::mem::size_of::<sys::bpf_test_run_opts>() as _,
        ..Default::default()
    };
    // SAFETY: default options, no buffers.
    unsafe { sys::bpf_prog_test_run_opts(prog.as_raw_fd(), &mut opts) == 0 }
}

/// vmlinux's BTF through libbpf, for the ids fentry and iterator programs attach to.
struct Vmlinux(*mut sys::btf);

impl Vmlinux {
    fn load() -> Vmlinux {
        // SAFETY: returns an owned BTF object or null (an error pointer is checked below).
        let btf = unsafe { sys::btf__load_vmlinux_btf() };
        // SAFETY: libbpf_get_error understands both encodings of failure.
        if btf.is_null() || unsafe { sys::libbpf_get_error(btf.cast()) } != 0 {
            return Vmlinux(std::ptr::null_mut());
        }
        Vmlinux(btf)
    }

    fn func_id(&self, name: &str) -> Option<u32> {
        if self.0.is_null() {
            return None;
        }
        let name = CString::new(name).ok()?;
        // SAFETY: a live BTF object and a NUL-terminated name.
        let id = unsafe { sys::btf__find_by_name_kind(self.0, name.as_ptr(), sys::BTF_KIND_FUNC) };
        u32::try_from(id).ok().filter(|&i| i > 0)
    }

    fn fentry_loads(&self, func: &str, insns: &[u64]) -> bool {
        let Some(id) = self.func_id(func) else { return false };
        let load = Load { attach_type: sys::BPF_TRACE_FENTRY, attach_btf_id: id, log: None };
        loads(sys::BPF_PROG_TYPE_TRACING, insns, Some(load)).is_some()
    }

    fn iter_loads(&self, target: &str) -> bool {
        let Some(id) = self.func_id(&format!("bpf_iter_{target}")) else { return false };
        let load = Load { attach_type: sys::BPF_TRACE_ITER, attach_btf_id: id, log: None };
        loads(sys::BPF_PROG_TYPE_TRACING, &[MOV_R0_0, EXIT], Some(load)).is_some()
    }
}

impl Drop for Vmlinux {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: ours, freed once.
            unsafe { sys::btf__free(self.0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_encoded_as_the_kernel_reads_them() {
        assert_eq!(MOV_R0_0.to_le_bytes(), [0xb7, 0, 0, 0, 0, 0, 0, 0]);
        // r2 += -8
        assert_eq!(insn(0x07, 2, 0, 0, -8).to_le_bytes(), [0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff]);
        // if r0 < 4 goto -2
        assert_eq!(insn(0xa5, 0, 0, -2, 4).to_le_bytes(), [0xa5, 0, 0xfe, 0xff, 4, 0, 0, 0]);
        // r2 = r10
        assert_eq!(insn(0xbf, 2, 10, 0, 0).to_le_bytes(), [0xbf, 0xa2, 0, 0, 0, 0, 0, 0]);
    }
}
