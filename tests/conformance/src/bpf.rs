//! One question for the kernel: does a fentry program load? (Some kernels refuse them, with
//! EPERM under lockdown, or lack the trampoline.) Asked with a two-instruction program of
//! type BPF_PROG_TYPE_TRACING attached to `vfs_read`, found in vmlinux's BTF.

const BTF_KIND_FUNC: u32 = 12;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_FENTRY: u32 = 24;

pub fn fentry_loads() -> bool {
    let Ok(btf) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        return false;
    };
    let Some(id) = func_id(&btf, "vfs_read") else {
        return false;
    };
    // r0 = 0; exit
    let insns: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    let license = b"GPL\0";
    let mut attr = [0u8; 128];
    let put32 = |a: &mut [u8; 128], off: usize, v: u32| a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 = |a: &mut [u8; 128], off: usize, v: u64| a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put32(&mut attr, 0, BPF_PROG_TYPE_TRACING);
    put32(&mut attr, 4, 2);
    put64(&mut attr, 8, insns.as_ptr() as u64);
    put64(&mut attr, 16, license.as_ptr() as u64);
    put32(&mut attr, 68, BPF_TRACE_FENTRY);
    put32(&mut attr, 108, id);
    // SAFETY: attr, insns and license outlive the call; the kernel reads attr's 128 bytes.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, attr.as_ptr(), attr.len() as u32) };
    if fd < 0 {
        return false;
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd as i32) };
    true
}

/// The type id of the BTF FUNC named `name`.
pub fn func_id(btf: &[u8], name: &str) -> Option<u32> {
    let u32_at = |off: usize| -> Option<u32> {
        Some(u32::from_le_bytes(btf.get(off..off + 4)?.try_into().ok()?))
    };
    if btf.get(0..2)? != [0x9f, 0xeb] {
        return None;
    }
    let hdr_len = u32_at(4)? as usize;
    let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
    let str_off = u32_at(16)? as usize;
    let types = hdr_len + type_off;
    let strings = hdr_len + str_off;
    let mut off = types;
    let mut id = 1u32;
    while off + 12 <= types + type_len {
        let name_off = u32_at(off)? as usize;
        let info = u32_at(off + 4)?;
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        if kind == BTF_KIND_FUNC {
            let start = strings + name_off;
            let bytes = btf.get(start..)?;
            let end = bytes.iter().position(|&b| b == 0)?;
            if &bytes[..end] == name.as_bytes() {
                return Some(id);
            }
        }
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 | 19 => 12 * vlen,
            6 | 13 => 8 * vlen,
            _ => 0,
        };
        off += 12 + extra;
        id += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_func_by_name() {
        // Header (24 bytes), then: [1] INT "int" (12 + 4), [2] FUNC "f" (12).
        let strings = b"\0int\0f\0";
        let mut types = Vec::new();
        for w in [1u32, 1 << 24, 4, 32] {
            types.extend_from_slice(&w.to_le_bytes());
        }
        for w in [5u32, 12 << 24, 0] {
            types.extend_from_slice(&w.to_le_bytes());
        }
        let mut btf = vec![0x9f, 0xeb, 1, 0];
        for w in [24u32, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            btf.extend_from_slice(&w.to_le_bytes());
        }
        btf.extend_from_slice(&types);
        btf.extend_from_slice(strings);
        assert_eq!(func_id(&btf, "f"), Some(2));
        assert_eq!(func_id(&btf, "g"), None);
        assert_eq!(func_id(&btf[..10], "f"), None);
    }
}
