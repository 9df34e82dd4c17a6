//! Whole-map reads, deletes and updates in batches (`BPF_MAP_*_BATCH`, Linux 5.6): a print,
//! `clear()` or `zero()` of a map of N entries takes a few system calls instead of 2N. Each
//! function returns `None` where the kernel or the map can't do it (older kernels, other map
//! types): the caller then walks the map key by key, as before.

use libbpf_rs::libbpf_sys;
use std::os::fd::RawFd;

/// Entries per batch at most (the buffers grow to this when a hash bucket holds more than a
/// smaller batch can take).
const MAX_BATCH: u32 = 1 << 16;

/// The sizes a batch needs: `value_size` is per element, all CPUs' values for per-CPU maps
/// (each CPU's rounded up to 8 bytes, as the kernel lays them out).
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub key_size: usize,
    pub value_size: usize,
    pub max_entries: u32,
}

impl Layout {
    pub fn new(key_size: u32, value_size: u32, max_entries: u32, per_cpu: Option<usize>) -> Layout {
        let value_size = match per_cpu {
            Some(cpus) => (value_size as usize).next_multiple_of(8) * cpus,
            None => value_size as usize,
        };
        Layout { key_size: key_size as usize, value_size, max_entries }
    }
}

fn opts(elem_flags: u64) -> libbpf_sys::bpf_map_batch_opts {
    libbpf_sys::bpf_map_batch_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        elem_flags,
        flags: 0,
        ..Default::default()
    }
}

/// The errno of a libbpf call that failed (libbpf returns `-errno`).
fn errno(ret: i32) -> i32 {
    if ret < 0 {
        -ret
    } else {
        0
    }
}

/// Every entry of the map: keys and values, in the kernel's order. `None`: do it key by key.
pub fn lookup_all(fd: RawFd, l: Layout) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut count = l.max_entries.clamp(1, 4096);
    // The position between batches (a bucket index for hash maps; at least 4 bytes).
    let token = l.key_size.max(8);
    let mut in_batch: Option<Vec<u8>> = None;
    let mut out_batch = vec![0u8; token];
    let mut entries = Vec::new();
    // Hash maps end a batch at a bucket boundary, so a full pass may take more batches than
    // entries / count; the bound only guards against a kernel that never says ENOENT.
    for _ in 0..(l.max_entries as usize).saturating_mul(2).saturating_add(16) {
        let mut keys = vec![0u8; count as usize * l.key_size];
        let mut values = vec![0u8; count as usize * l.value_size];
        let mut n = count;
        let o = opts(0);
        let in_ptr = in_batch.as_mut().map_or(std::ptr::null_mut(), |b| b.as_mut_ptr().cast());
        // SAFETY: the buffers hold `count` keys and values of the map's sizes and a batch token
        // of at least the key's size; `n` says how many the kernel may write.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                fd,
                in_ptr,
                out_batch.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut n,
                &o,
            )
        };
        let e = errno(ret);
        match e {
            0 | libc::ENOENT => {
                let n = (n.min(count)) as usize;
                for i in 0..n {
                    entries.push((
                        keys[i * l.key_size..(i + 1) * l.key_size].to_vec(),
                        values[i * l.value_size..(i + 1) * l.value_size].to_vec(),
                    ));
                }
                if e == libc::ENOENT {
                    return Some(entries);
                }
                in_batch = Some(out_batch.clone());
            }
            libc::EINTR => {}
            // A hash bucket holds more entries than the batch has room for.
            libc::ENOSPC if count < MAX_BATCH => count = (count * 2).min(MAX_BATCH),
            _ => return None,
        }
    }
    None
}

/// Deletes `keys` (each `key_size` bytes). Keys already gone are skipped. `None`: do it key by
/// key.
pub fn delete_all(fd: RawFd, key_size: usize, keys: &[Vec<u8>]) -> Option<()> {
    let flat: Vec<u8> = keys.concat();
    let mut done = 0usize;
    while done < keys.len() {
        let mut n = u32::try_from(keys.len() - done).ok()?;
        let o = opts(0);
        // SAFETY: `flat` holds `keys.len()` keys of `key_size` bytes; `n` are read from `done`.
        let ret = unsafe { libbpf_sys::bpf_map_delete_batch(fd, flat[done * key_size..].as_ptr().cast(), &mut n, &o) };
        match errno(ret) {
            0 => return Some(()),
            // The key after the `n` deleted is gone already (a probe deleted it): skip it.
            libc::ENOENT => done += n as usize + 1,
            libc::EINTR => done += n as usize,
            _ if done == 0 && n == 0 => return None,
            _ => return None,
        }
    }
    Some(())
}

/// Sets each of `keys` that still exists to `value` (one element's bytes, all CPUs' for per-CPU
/// maps). `None`: do it key by key.
pub fn update_existing(fd: RawFd, l: Layout, keys: &[Vec<u8>], value: &[u8]) -> Option<()> {
    let flat: Vec<u8> = keys.concat();
    let values: Vec<u8> = value.repeat(keys.len());
    let mut done = 0usize;
    while done < keys.len() {
        let mut n = u32::try_from(keys.len() - done).ok()?;
        let o = opts(u64::from(libbpf_sys::BPF_EXIST));
        // SAFETY: `flat` and `values` hold `keys.len()` keys and values of the map's sizes.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_batch(
                fd,
                flat[done * l.key_size..].as_ptr().cast(),
                values[done * l.value_size..].as_ptr().cast(),
                &mut n,
                &o,
            )
        };
        match errno(ret) {
            0 => return Some(()),
            libc::ENOENT => done += n as usize + 1,
            libc::EINTR => done += n as usize,
            _ => return None,
        }
    }
    Some(())
}
