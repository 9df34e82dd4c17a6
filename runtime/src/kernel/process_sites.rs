//! Attaching what a probe resolved at run time expanded to: USDT sites with the BPF cookie
//! that indexes their argument locations in the spec table (written here before they attach).

use super::{attach, reason, Tracer};
use crate::error::RuntimeError;
use btc_bpfprog::usdt::USDT_SPECS_MAP;
use btc_bpfprog::{Probe, ProbeKind};
use libbpf_rs::{MapCore, MapFlags};

impl Tracer {
    /// Writes the spec table's entries (by cookie). Objects without run-time USDT probes have
    /// no table and no entries.
    pub fn write_usdt_specs(&self, specs: &[(u32, Vec<u8>)]) -> Result<(), RuntimeError> {
        if specs.is_empty() {
            return Ok(());
        }
        let map = self.find_map(USDT_SPECS_MAP)?;
        for (cookie, spec) in specs {
            map.update(&cookie.to_le_bytes(), spec, MapFlags::ANY)
                .map_err(|e| RuntimeError::MapRead { map: USDT_SPECS_MAP.to_string(), reason: reason(&e) })?;
        }
        Ok(())
    }

    /// Attaches one uprobe site found at run time, with `cookie` (its index).
    pub fn attach_uprobe_site(&mut self, probe: &Probe, cookie: u32) -> Result<(), RuntimeError> {
        self.attach_uprobe_with_cookie(probe, u64::from(cookie))
    }

    /// Attaches one USDT site found at run time, with `cookie` (its index, and its spec's key).
    pub fn attach_usdt_site(&mut self, probe: &Probe, cookie: u32) -> Result<(), RuntimeError> {
        let err = |reason: String| RuntimeError::Attach { probe: probe.name.clone(), reason };
        let ProbeKind::Usdt { path, provider, name, address, semaphore, .. } = &probe.kind else {
            return Err(err("not a USDT probe".into()));
        };
        let pid = self.pid;
        let prog = self.program(probe)?;
        let site = attach::UsdtSite { provider, name, address: *address, semaphore: *semaphore, args: None, cookie: u64::from(cookie) };
        let link = attach::usdt_site(&prog, path, &site, pid).map_err(err)?;
        self.links.push(link);
        Ok(())
    }
}
