//! The values an object asks for when it is loaded (`kaddr("NAME")`, `cgroupid("PATH")`; see
//! `btc_bpfprog::portable::LoadSlot`), looked up on this system and written into the object's
//! `.rodata` before libbpf opens it.

use crate::RuntimeError;
use btc_bpfprog::portable::{patch_load_values, LoadSlot, LoadValue};

/// The system's answers, behind a trait so the lookups are tested without it.
pub trait Lookups {
    fn kernel_symbol(&self, name: &str) -> Result<u64, String>;
    fn cgroup_id(&self, path: &str) -> Result<u64, String>;
}

struct System;

impl Lookups for System {
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        crate::kernel::symbols::kernel_symbol(name)
    }
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        crate::kernel::symbols::cgroup_id(path)
    }
}

/// The value of every slot, in order; the error is one line naming the call.
pub fn values(slots: &[LoadSlot], sys: &dyn Lookups) -> Result<Vec<u64>, String> {
    slots
        .iter()
        .map(|s| match &s.value {
            LoadValue::Kaddr { name } => sys.kernel_symbol(name).map_err(|why| format!("Failed to resolve kernel symbol: {name} ({why})")),
            LoadValue::Cgroupid { path } => sys.cgroup_id(path).map_err(|why| format!("{}: {why}", s.value.call())),
        })
        .collect()
}

/// `object` with its load-time values filled in, or `None` when it has none.
pub(crate) fn apply(slots: &[LoadSlot], object: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError> {
    if slots.is_empty() {
        return Ok(None);
    }
    let v = values(slots, &System).map_err(RuntimeError::Refused)?;
    patch_load_values(object, slots, &v).map(Some).map_err(RuntimeError::BadObject)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Lookups for Fake {
        fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
            if name == "vfs_read" { Ok(0xffff_1234) } else { Err(format!("kernel symbol not found: {name}")) }
        }
        fn cgroup_id(&self, _: &str) -> Result<u64, String> {
            Ok(7)
        }
    }

    #[test]
    fn looks_up_each_slot() {
        let slot = |offset, value| LoadSlot { offset, value };
        let slots = vec![slot(0, LoadValue::Kaddr { name: "vfs_read".into() }), slot(8, LoadValue::Cgroupid { path: "/sys/fs/cgroup".into() })];
        assert_eq!(values(&slots, &Fake), Ok(vec![0xffff_1234, 7]));
        let missing = vec![slot(0, LoadValue::Kaddr { name: "nope".into() })];
        assert_eq!(values(&missing, &Fake), Err("Failed to resolve kernel symbol: nope (kernel symbol not found: nope)".into()));
    }
}
