//! The instructions of the loaded programs, as libbpf loaded them (after CO-RE relocation), for
//! `btc run -v`'s list of the relocations applied (`crate::relocs`).

use super::Tracer;
use std::ffi::OsStr;

impl Tracer {
    /// The instructions of program `name` as they were loaded, 8 bytes each.
    pub fn loaded_insns(&self, name: &str) -> Option<Vec<[u8; 8]>> {
        let prog = self.object.progs().find(|p| p.name() == OsStr::new(name))?;
        Some(
            prog.insns()
                .iter()
                .map(|i| {
                    let (off, imm) = (i.off.to_le_bytes(), i.imm.to_le_bytes());
                    [i.code, i.dst_reg() | i.src_reg() << 4, off[0], off[1], imm[0], imm[1], imm[2], imm[3]]
                })
                .collect(),
        )
    }
}
