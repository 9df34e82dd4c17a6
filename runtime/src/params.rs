//! The run's positional parameters (`btc run x.o ARGS...`) given to the object before it
//! loads: refuses a run whose parameters differ from those built into the code, completes
//! the attach points that name parameters, and writes the values of the object's parameter
//! slots into its `.rodata` (see `btc_bpfprog::params`).

use crate::RuntimeError;
use btc_bpfprog::params::{self, Instance, Lookups};
use btc_bpfprog::{Metadata, ProbeKind, ProcessTarget};

/// The system's answers for slots that name things (signals, kernel symbols, cgroups), and
/// the names the run gave the probes completed at run time.
struct System<'a> {
    names: &'a [(String, String)],
}

impl Lookups for System<'_> {
    fn probe_name(&self, raw: &str, _: &[String]) -> Result<String, String> {
        self.names.iter().find(|(r, _)| r == raw).map(|(_, n)| n.clone()).ok_or_else(|| format!("no probe {raw}"))
    }
    fn signal(&self, name: &str) -> Option<u64> {
        params::signal_number(name).map(u64::from)
    }
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        crate::kernel::symbols::kernel_symbol(name)
    }
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        crate::kernel::symbols::cgroup_id(path)
    }
}

/// The file a uprobe target names and the path its probe name shows, by the rules the compiler
/// follows for targets written in the script (a path, a library, a program on $PATH; `pid`:
/// the `-p` process).
type FindBinary<'a> = &'a dyn Fn(&str) -> Result<(String, String), String>;

fn find_binary(target: &str, pid: Option<i32>) -> Result<(String, String), String> {
    let path = crate::targets::paths::resolve_binary(target, pid)?;
    let shown = crate::targets::binaries::resolve_binary_paths(target, pid).into_iter().next().unwrap_or_else(|| path.clone());
    Ok((path, shown))
}

/// Applies `args` to `meta` and `object`: the object to load (a copy with its parameter area
/// filled, or `None` when it has none). `pid`: the `-p` process, where uprobe targets are
/// looked up.
pub(crate) fn apply(meta: &mut Metadata, object: &[u8], args: &[String], pid: Option<i32>) -> Result<Option<Vec<u8>>, RuntimeError> {
    apply_with(meta, object, args, &|names| Box::new(System { names }), &|t| find_binary(t, pid))
}

/// The lookups of a run, given the names of its completed probes (template, name).
type MakeLookups<'a> = &'a dyn for<'n> Fn(&'n [(String, String)]) -> Box<dyn Lookups + 'n>;

fn apply_with(
    meta: &mut Metadata,
    object: &[u8],
    args: &[String],
    lookups: MakeLookups<'_>,
    binary: FindBinary<'_>,
) -> Result<Option<Vec<u8>>, RuntimeError> {
    let p = meta.requires.params.clone();
    let mut names = Vec::new();
    params::check_folded(&p, args).map_err(RuntimeError::Refused)?;
    // Binaries of probes expanded at run time named by parameters (`usdt:$1:p:n`).
    for probe in &mut meta.probes {
        if let Some(ProcessTarget::Uprobe { binary, .. } | ProcessTarget::Usdt { binary, .. }) = &mut probe.process {
            if params::has_param(binary) {
                *binary = params::substitute(binary, args).map_err(|e| RuntimeError::Refused(format!("{}: {e}", probe.name)))?;
            }
        }
    }
    for t in &p.attach {
        let Some(probe) = meta.probes.iter_mut().find(|x| x.prog == t.prog) else { continue };
        match (params::instantiate(&t.raw, args).map_err(RuntimeError::Refused)?, &mut probe.kind) {
            (Instance::Timer { name, period_ns }, ProbeKind::Interval { period_ns: p } | ProbeKind::Profile { period_ns: p }) => {
                probe.name = name;
                *p = period_ns;
            }
            (Instance::Uprobe { path, symbol, .. }, ProbeKind::Uprobe { path: p, symbol: s, ret, .. }) => {
                let (file, shown) = binary(&path).map_err(|e| RuntimeError::Refused(format!("{}: {e}", t.raw)))?;
                probe.name = format!("{}:{shown}:{symbol}", if *ret { "uretprobe" } else { "uprobe" });
                *p = file;
                *s = Some(symbol);
            }
            (Instance::Kprobe { name, func }, ProbeKind::Kprobe { func: f, .. }) => {
                probe.name = name;
                *f = func;
            }
            (Instance::Tracepoint { name, category, event }, ProbeKind::Tracepoint { category: c, name: n }) => {
                probe.name = name;
                *c = category;
                *n = event;
            }
            _ => return Err(RuntimeError::BadObject(format!("attach point {} doesn't fit its probe", t.raw))),
        }
        names.push((t.raw.clone(), probe.name.clone()));
    }
    if p.slots.is_empty() {
        return Ok(None);
    }
    let bytes = params::fill(&p, args, lookups(&names).as_ref()).map_err(RuntimeError::Refused)?;
    params::patch_object(object, &p, &bytes).map(Some).map_err(RuntimeError::BadObject)
}

#[cfg(test)]
mod tests {
    use super::*;
    use btc_bpfprog::params::{AttachTemplate, Folded, Params, Slot, SlotValue};
    use btc_bpfprog::{Probe, FORMAT_VERSION};

    struct NoSystem<'a>(&'a [(String, String)]);
    impl Lookups for NoSystem<'_> {
        fn probe_name(&self, raw: &str, _: &[String]) -> Result<String, String> {
            self.0.iter().find(|(r, _)| r == raw).map(|(_, n)| n.clone()).ok_or_else(|| format!("no probe {raw}"))
        }
        fn signal(&self, name: &str) -> Option<u64> {
            params::signal_number(name).map(u64::from)
        }
        fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
            Err(format!("no kernel symbol {name}"))
        }
        fn cgroup_id(&self, path: &str) -> Result<u64, String> {
            Err(format!("no cgroup {path}"))
        }
    }

    fn meta(p: Params) -> Metadata {
        let mut m: Metadata = serde_json::from_str(&format!(
            r#"{{"version":{FORMAT_VERSION},"compiler":"t","source":{{"name":"t","sha256":""}},"requires":{{"unsafe_functions":[],"child":false,"process_probes":[],"positional":1,"param_count":false}},"probes":[],"maps":[],"formats":[]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        m.requires.params = p;
        m.probes = vec![
            Probe { prog: "btc_p0".into(), name: "interval:ms:$1".into(), kind: ProbeKind::Interval { period_ns: 1 }, process: None },
            Probe {
                prog: "btc_p1".into(),
                name: "uprobe:$2:f".into(),
                kind: ProbeKind::Uprobe { path: "$2".into(), symbol: Some("f".into()), offset: 0, ret: false, optional: false, also: vec![] },
                process: None,
            },
        ];
        m
    }

    /// A minimal ELF relocatable file with a `.rodata` section holding `sym` (`size` bytes).
    fn elf_with(sym: &str, size: usize) -> Vec<u8> {
        let mut shstr = b"\0.rodata\0.symtab\0.strtab\0.shstrtab\0".to_vec();
        shstr.resize(40, 0);
        let mut strtab = vec![0u8];
        strtab.extend_from_slice(sym.as_bytes());
        strtab.push(0);
        strtab.resize(32, 0);
        let rodata_off = 64usize;
        let rodata = vec![0xeeu8; size + 8];
        let symtab_off = rodata_off + rodata.len();
        let mut symtab = vec![0u8; 24];
        let mut s = Vec::new();
        s.extend_from_slice(&1u32.to_le_bytes()); // st_name
        s.push(0x11); // STB_GLOBAL, STT_OBJECT
        s.push(0);
        s.extend_from_slice(&1u16.to_le_bytes()); // st_shndx: .rodata
        s.extend_from_slice(&8u64.to_le_bytes()); // st_value
        s.extend_from_slice(&(size as u64).to_le_bytes());
        symtab.extend(s);
        let strtab_off = symtab_off + symtab.len();
        let shstr_off = strtab_off + strtab.len();
        let shoff = shstr_off + shstr.len();
        let mut out = vec![0u8; 64];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2;
        out[5] = 1;
        out[6] = 1;
        out[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
        out[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
        out[20..24].copy_from_slice(&1u32.to_le_bytes());
        out[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
        out[52..54].copy_from_slice(&64u16.to_le_bytes());
        out[58..60].copy_from_slice(&64u16.to_le_bytes());
        out[60..62].copy_from_slice(&5u16.to_le_bytes());
        out[62..64].copy_from_slice(&4u16.to_le_bytes());
        out.extend(&rodata);
        out.extend(&symtab);
        out.extend(&strtab);
        out.extend(&shstr);
        let sh = |name: u32, ty: u32, off: usize, size: usize, link: u32, entsize: u64| {
            let mut h = Vec::new();
            h.extend_from_slice(&name.to_le_bytes());
            h.extend_from_slice(&ty.to_le_bytes());
            h.extend_from_slice(&0u64.to_le_bytes());
            h.extend_from_slice(&0u64.to_le_bytes());
            h.extend_from_slice(&(off as u64).to_le_bytes());
            h.extend_from_slice(&(size as u64).to_le_bytes());
            h.extend_from_slice(&link.to_le_bytes());
            h.extend_from_slice(&1u32.to_le_bytes());
            h.extend_from_slice(&8u64.to_le_bytes());
            h.extend_from_slice(&entsize.to_le_bytes());
            h
        };
        out.extend(vec![0u8; 64]);
        out.extend(sh(1, 1, rodata_off, rodata.len(), 0, 0));
        out.extend(sh(9, 2, symtab_off, symtab.len(), 3, 24));
        out.extend(sh(17, 3, strtab_off, strtab.len(), 0, 0));
        out.extend(sh(25, 3, shstr_off, shstr.len(), 0, 0));
        out
    }

    fn no_binary(t: &str) -> Result<(String, String), String> {
        Err(format!("no binary {t}"))
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_runs_parameters_fill_the_slots_and_attach_points() {
        let p = Params {
            symbol: "__btc_params".into(),
            size: 16,
            slots: vec![
                Slot { offset: 0, value: SlotValue::Int { n: 1 } },
                Slot { offset: 8, value: SlotValue::Str { n: 2, skip: 0, len: 8 } },
            ],
            folded: vec![],
            attach: vec![
                AttachTemplate { prog: "btc_p0".into(), raw: "interval:ms:$1".into() },
                AttachTemplate { prog: "btc_p1".into(), raw: "uprobe:$2:f".into() },
            ],
        };
        let object = elf_with("__btc_params", 16);
        let mut m = meta(p.clone());
        let patched = apply_with(&mut m, &object, &args(&["20", "true"]), &|n| Box::new(NoSystem(n)), &|t| Ok((format!("/usr/bin/{t}"), format!("/bin/{t}"))));
        let patched = patched.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
        let start = 64 + 8;
        assert_eq!(&patched[start..start + 8], &20i64.to_le_bytes());
        assert_eq!(&patched[start + 8..start + 16], b"true\0\0\0\0");
        assert_eq!(&patched[..start], &object[..start]);
        assert_eq!(m.probes[0].name, "interval:ms:20");
        assert_eq!(m.probes[0].kind, ProbeKind::Interval { period_ns: 20_000_000 });
        assert!(matches!(&m.probes[1].kind, ProbeKind::Uprobe { path, .. } if path == "/usr/bin/true"));
        assert_eq!(m.probes[1].name, "uprobe:/bin/true:f");

        let e = apply_with(&mut meta(p.clone()), &object, &args(&["abc"]), &|n| Box::new(NoSystem(n)), &no_binary).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("invalid interval value 'abc': expected a positive integer"));
        let mut no_timer = p.clone();
        no_timer.attach.clear();
        let e = apply_with(&mut meta(no_timer.clone()), &object, &args(&["abc"]), &|n| Box::new(NoSystem(n)), &no_binary).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("$1 used numerically but given \"abc\". Try using str($1)."));
        let e = apply_with(&mut meta(no_timer), &elf_with("other", 16), &args(&["1", "x"]), &|n| Box::new(NoSystem(n)), &no_binary).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("no symbol __btc_params")));
        let e = apply_with(&mut meta(p), &object, &args(&["1", "x"]), &|n| Box::new(NoSystem(n)), &no_binary).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("uprobe:$2:f: no binary x"));
    }

    #[test]
    fn a_run_must_keep_the_folded_parameters() {
        let p = Params { folded: vec![Folded { n: 1, text: Some("3".into()) }], ..Params::default() };
        assert!(apply_with(&mut meta(p.clone()), &[], &args(&["3"]), &|n| Box::new(NoSystem(n)), &no_binary).is_ok_and(|o| o.is_none()));
        let e = apply_with(&mut meta(p), &[], &args(&["4"]), &|n| Box::new(NoSystem(n)), &no_binary).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("$1 is built into this object's code as \"3\"")));
    }
}
