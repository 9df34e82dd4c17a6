//! Verifier statistics of a compiled object (`btc compile --emit=stats`): each program is loaded
//! (not attached) with the verifier's statistics log, then the kernel is asked how many
//! instructions it verified.

use crate::error::RuntimeError;
use libbpf_rs::{AsRawLibbpf, ObjectBuilder};
use std::os::fd::{AsFd, AsRawFd};

/// What the kernel says about one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgStats {
    /// The BPF function name.
    pub name: String,
    /// Instructions in the object.
    pub insns: usize,
    /// Instructions the verifier processed (all paths), when the kernel reports it.
    pub verified_insns: Option<u32>,
    /// Stack depth in bytes from the verifier's log (per subprogram, summed).
    pub stack_depth: Option<u32>,
}

/// Size of each program's verifier log buffer (statistics only: small).
const LOG_SIZE: usize = 64 * 1024;
/// BPF_LOG_STATS: the verifier's summary lines only.
const LOG_STATS: u32 = 4;

/// Loads the object and collects the statistics of every program.
pub fn program_stats(object: &[u8]) -> Result<Vec<ProgStats>, RuntimeError> {
    let load_error = |e: libbpf_rs::Error| RuntimeError::Load { reason: e.to_string(), log: Vec::new() };
    // libbpf's own messages would only repeat what the result says.
    libbpf_rs::set_print(None);
    let mut builder = ObjectBuilder::default();
    builder.name("btc").map_err(load_error)?;
    let mut open = builder.open_memory(object).map_err(load_error)?;
    let mut logs: Vec<(String, Box<[u8]>)> = Vec::new();
    for mut prog in open.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        let mut buf = vec![0u8; LOG_SIZE].into_boxed_slice();
        prog.set_log_level(LOG_STATS);
        // SAFETY: the buffer lives in `logs` until after the object is loaded (and dropped).
        let rc = unsafe {
            libbpf_rs::libbpf_sys::bpf_program__set_log_buf(
                prog.as_libbpf_object().as_ptr(),
                buf.as_mut_ptr().cast(),
                LOG_SIZE as libbpf_rs::libbpf_sys::size_t,
            )
        };
        if rc != 0 {
            return Err(RuntimeError::Load { reason: format!("can't set the log buffer of {name}"), log: Vec::new() });
        }
        logs.push((name, buf));
    }
    let loaded = open.load().map_err(load_error)?;
    let mut out = Vec::new();
    for prog in loaded.progs() {
        let name = prog.name().to_string_lossy().into_owned();
        let log = logs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[])).into_owned())
            .unwrap_or_default();
        out.push(ProgStats {
            insns: prog.insn_cnt(),
            verified_insns: verified_insns(prog.as_fd().as_raw_fd()),
            stack_depth: stack_depth(&log),
            name,
        });
    }
    Ok(out)
}

/// `verified_insns` from bpf_prog_info (kernel 5.16 and later).
fn verified_insns(fd: i32) -> Option<u32> {
    let mut info = libbpf_rs::libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a properly sized, writable bpf_prog_info and `len` holds its size.
    let rc = unsafe { libbpf_rs::libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    (rc == 0 && info.verified_insns > 0).then_some(info.verified_insns)
}

/// The verifier's `stack depth 16+8` line, summed over subprograms.
fn stack_depth(log: &str) -> Option<u32> {
    let line = log.lines().find_map(|l| l.strip_prefix("stack depth "))?;
    line.split('+').map(|n| n.trim().parse::<u32>().ok()).sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_stack_depth() {
        let log = "processed 12 insns (limit 1000000) max_states_per_insn 0\nstack depth 24+8\n";
        assert_eq!(super::stack_depth(log), Some(32));
        assert_eq!(super::stack_depth("nothing"), None);
    }
}
