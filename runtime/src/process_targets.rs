//! Running an object with the process flags it was compiled without (see
//! `btc_bpfprog::process`): the check of the command line against what the object requires
//! (`--unsafe`, `-c`, `-p`), made before anything is loaded or started, and the expansion of
//! the probes resolved at run time against the traced process into what is attached: uprobes
//! on the functions found, USDT sites (with their argument specs, for the spec table), the
//! functions of `watchpoint:FUNC*+argN`. Probes with a binary that run with `-p` on a process
//! in another mount namespace attach to the binary as that process sees it.

use crate::kernel::process::{resolve_binary, split_command};
use crate::kernel::Tracer;
use crate::targets::{binaries, elf, paths, usdt};
use crate::{RunOptions, RuntimeError};
use btc_bpfprog::process::{flag_error, RunFlags};
use btc_bpfprog::usdt::{arg_spec, encode_usdt_spec, parse_args, UsdtLoc};
use btc_bpfprog::{wildcard_match, Metadata, Probe, ProbeKind, ProcessTarget};

/// Refuses a run whose command line lacks a flag the object requires, in bpftrace's words.
pub(crate) fn check_flags(meta: &Metadata, opts: &RunOptions) -> Result<(), RuntimeError> {
    let flags = RunFlags { allow_unsafe: opts.allow_unsafe, child: opts.command.is_some(), pid: opts.pid.is_some() };
    flag_error(meta, flags).map_or(Ok(()), |e| Err(RuntimeError::Refused(e)))
}

/// The traced process: its PID (the `-p` process or the `-c` child, when started) and the
/// `-c` command's program (for a run that doesn't start the child, `--dry-run`).
pub(crate) struct Target {
    pub pid: Option<i32>,
    pub program: Option<String>,
    /// Programs whose uprobe sites in one file may share one uprobe_multi link: the kernel has
    /// them and the program doesn't read its site's cookie (the `probe` builtin), bpftrace
    /// 0.20's rule for wildcards.
    pub shared_link: std::collections::HashSet<String>,
    /// Programs of probes resolved at run time that read their site's cookie (to name it):
    /// the sites of a `watchpoint:FUNC*+argN` are given cookies only then.
    pub reads_cookie: std::collections::HashSet<String>,
}

impl Target {
    pub(crate) fn new(pid: Option<u32>, opts: &RunOptions) -> Target {
        let program = opts
            .command
            .as_deref()
            .and_then(|c| split_command(c).ok())
            .and_then(|w| w.first().and_then(|p| resolve_binary(p).ok()));
        let pid = pid.and_then(|p| i32::try_from(p).ok());
        Target { pid, program, shared_link: Default::default(), reads_cookie: Default::default() }
    }
}

/// One attachment: a probe with concrete targets, and for a uprobe or USDT site found at run
/// time its BPF cookie: the index of its name (which `probe` prints) and, for a USDT site, the
/// key of its argument locations in the spec table.
pub(crate) struct Site {
    pub probe: Probe,
    pub cookie: Option<u32>,
}

/// What the probes of an object attach to in this run.
pub(crate) struct Expanded {
    /// The sites of each probe, by the probe's program.
    pub sites: std::collections::HashMap<String, Vec<Site>>,
    /// The names of the sites found at run time, by cookie.
    pub names: Vec<String>,
    /// The spec table's entries, with their cookie.
    pub usdt_specs: Vec<(u32, Vec<u8>)>,
}

impl Expanded {
    /// The cookie of a new site called `name`.
    fn cookie(&mut self, p: &Probe, name: &str) -> Result<u32, RuntimeError> {
        let cookie = u32::try_from(self.names.len()).map_err(|_| refused(p, "too many sites".into()))?;
        self.names.push(name.to_string());
        Ok(cookie)
    }

    /// The programs some of whose sites attach several functions through one link.
    pub(crate) fn multi_programs(&self) -> Vec<String> {
        let several = |s: &Site| matches!(&s.probe.kind, ProbeKind::Uprobe { also, .. } if !also.is_empty());
        self.sites.iter().filter(|(_, sites)| sites.iter().any(several)).map(|(prog, _)| prog.clone()).collect()
    }

    /// How many probes are attached (the `Attaching N probes...` count).
    pub(crate) fn count(&self, probes: &[Probe]) -> usize {
        probes.iter().map(|p| self.sites.get(&p.prog).map_or(1, |s| s.len().max(1))).sum()
    }

    /// The path of the binary a probe's sites are in (for symbols of a process that exited).
    pub(crate) fn binary(&self, probe: &Probe) -> Option<String> {
        let site = self.sites.get(&probe.prog)?.first()?;
        match &site.probe.kind {
            ProbeKind::Uprobe { path, .. } | ProbeKind::Usdt { path, .. } => Some(path.clone()),
            _ => None,
        }
    }
}

/// Expands every probe of `meta` for `target`.
pub(crate) fn expand(meta: &Metadata, target: &Target) -> Result<Expanded, RuntimeError> {
    let mut out = Expanded { sites: Default::default(), names: Vec::new(), usdt_specs: Vec::new() };
    for p in &meta.probes {
        let sites = match &p.process {
            None => vec![Site { probe: in_mount_namespace(p, target.pid), cookie: None }],
            Some(ProcessTarget::Uprobe { binary, func }) => uprobes(p, binary, func, target, &mut out)?,
            Some(ProcessTarget::Usdt { binary, provider, name }) => usdt_sites(p, binary, (provider, name), target, &mut out)?,
            Some(ProcessTarget::WatchFunc { func }) => watch_funcs(p, func, target, &mut out)?,
        };
        out.sites.insert(p.prog.clone(), sites);
    }
    Ok(out)
}

fn refused(probe: &Probe, msg: String) -> RuntimeError {
    RuntimeError::Attach { probe: probe.name.clone(), reason: msg }
}

/// A uprobe or USDT probe on a binary named by its path, run with `-p` on a process in another
/// mount namespace: the binary as that process sees it (`/proc/PID/root/PATH`), as bpftrace
/// resolves it there.
fn in_mount_namespace(p: &Probe, pid: Option<i32>) -> Probe {
    let mut p = p.clone();
    let Some(pid) = pid.filter(|&pid| binaries::in_other_mount_namespace(pid)) else { return p };
    if let ProbeKind::Uprobe { path, .. } | ProbeKind::Usdt { path, .. } = &mut p.kind {
        let inside = binaries::path_for_pid_mountns(pid, path);
        if path.starts_with('/') && !path.starts_with("/proc/") && std::path::Path::new(&inside).is_file() {
            *path = inside;
        }
    }
    p
}

/// The traced process's program: `/proc/PID/exe` (as bpftrace names it), or the `-c`
/// command's program when the child isn't started.
fn program(target: &Target) -> Option<String> {
    match target.pid {
        Some(pid) => Some(format!("/proc/{pid}/exe")),
        None => target.program.clone(),
    }
}

/// The files a target binary (`""` or `*`) stands for: for uprobes, `""` is the program; for
/// USDT probes, every file the process maps (the program when it isn't started); `*` is every
/// file the process maps, or without one, every file a running process maps. Another binary
/// (from the run's positional parameters) is found as a target written in the script is.
fn files(binary: &str, usdt: bool, target: &Target) -> Result<Vec<String>, String> {
    match (binary, target.pid) {
        (b, pid) if !b.is_empty() && b != "*" => paths::resolve_binary(b, pid).map(|p| vec![p]),
        ("", _) if !usdt => Ok(program(target).into_iter().collect()),
        (_, Some(pid)) => paths::process_binaries(pid),
        ("*", None) if target.program.is_none() => paths::running_binaries(),
        _ => Ok(target.program.clone().into_iter().collect()),
    }
}

/// The path probe names show for `path`.
fn shown(path: &str, target: &Target) -> String {
    target.pid.map_or(path, |pid| btc_bpfprog::path_in_process(path, pid)).to_string()
}

/// The functions of `path` that `pattern` names, sorted, each once (a wildcard leaves out
/// the compiler's partial clones, as for uprobes written with a binary).
fn matching_functions(path: &str, pattern: &str) -> Result<Vec<String>, String> {
    let wild = pattern.contains(['*', '?']);
    let mut names: Vec<String> = elf::file_functions(path)?
        .into_iter()
        .map(|f| f.name)
        .filter(|n| if wild { wildcard_match(pattern, n) && !n.contains(".part.") } else { n == pattern })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn uprobes(p: &Probe, binary: &str, func: &str, target: &Target, out: &mut Expanded) -> Result<Vec<Site>, RuntimeError> {
    let ProbeKind::Uprobe { offset, ret, optional, .. } = &p.kind else {
        return Err(refused(p, "a run-time uprobe target on another kind of probe".into()));
    };
    let provider = if *ret { "uretprobe" } else { "uprobe" };
    let paths = files(binary, false, target).map_err(|e| refused(p, e))?;
    let several = paths.len() > 1;
    let mut sites = Vec::new();
    for path in &paths {
        let names = match matching_functions(path, func) {
            Ok(n) => n,
            Err(_) if several => continue,
            Err(e) => return Err(refused(p, e)),
        };
        if names.len() > 1 && *offset == 0 && target.shared_link.contains(&p.prog) {
            // One link for the file's functions (their names aren't needed: no cookie).
            let mut names = names.into_iter();
            let kind = ProbeKind::Uprobe {
                path: path.clone(),
                symbol: names.next(),
                offset: 0,
                ret: *ret,
                optional: *optional,
                also: names.collect(),
            };
            let name = format!("{provider}:{}:{func}", shown(path, target));
            sites.push(Site { probe: Probe { prog: p.prog.clone(), name, kind, process: None }, cookie: None });
            continue;
        }
        for f in names {
            let mut name = format!("{provider}:{}:{f}", shown(path, target));
            if *offset != 0 {
                name.push_str(&format!("+{offset}"));
            }
            let kind = ProbeKind::Uprobe {
                path: path.clone(),
                symbol: Some(f),
                offset: *offset,
                ret: *ret,
                optional: *optional,
                also: Vec::new(),
            };
            let cookie = out.cookie(p, &name)?;
            sites.push(Site { probe: Probe { prog: p.prog.clone(), name, kind, process: None }, cookie: Some(cookie) });
        }
    }
    if sites.is_empty() {
        let place = match paths.as_slice() {
            [one] => one.clone(),
            _ => binary.to_string(),
        };
        let msg = if func.contains(['*', '?']) || several {
            format!("no functions in {place} match {func}")
        } else {
            format!("Could not resolve symbol: {place}:{func}")
        };
        return Err(RuntimeError::Refused(msg));
    }
    Ok(sites)
}

fn usdt_sites(
    p: &Probe,
    binary: &str,
    (provider, name): (&str, &str),
    target: &Target,
    out: &mut Expanded,
) -> Result<Vec<Site>, RuntimeError> {
    let paths = files(binary, true, target).map_err(|e| refused(p, e))?;
    let wild = provider.contains(['*', '?']) || name.contains(['*', '?']);
    let mut sites = Vec::new();
    for path in &paths {
        // Files without notes (or unreadable ones) are skipped, as for `usdt:*:...`.
        let Ok(notes) = usdt::file_notes(path) else { continue };
        for n in notes {
            let matches = if wild {
                wildcard_match(provider, &n.provider) && wildcard_match(name, &n.name)
            } else {
                (provider == "*" || provider == n.provider) && name == n.name
            };
            if !matches {
                continue;
            }
            // Named with the path as found (bpftrace names a USDT site of a process's files so).
            let site = format!("usdt:{path}:{}:{}", n.provider, n.name);
            let spec = site_spec(path, &n).map_err(|e| RuntimeError::Refused(format!("can't decode the arguments of {site}: {e}")))?;
            if out.usdt_specs.len() >= btc_bpfprog::usdt::USDT_MAX_SITES as usize {
                return Err(refused(p, format!("more than {} USDT sites", btc_bpfprog::usdt::USDT_MAX_SITES)));
            }
            let cookie = out.cookie(p, &site)?;
            out.usdt_specs.push((cookie, spec));
            let kind = ProbeKind::Usdt {
                path: path.clone(),
                provider: n.provider.clone(),
                name: n.name.clone(),
                address: n.address,
                semaphore: (n.semaphore != 0).then_some(n.semaphore),
                args: None,
            };
            sites.push(Site { probe: Probe { prog: p.prog.clone(), name: site, kind, process: None }, cookie: Some(cookie) });
        }
    }
    // Sorted by name, as bpftrace orders the matches of an attach point (the cookies keep
    // pointing at their names and specs).
    sites.sort_by(|a, b| a.probe.name.cmp(&b.probe.name));
    if sites.is_empty() {
        let shown = if provider == "*" { name.to_string() } else { format!("{provider}:{name}") };
        let place = match (target.pid, binary) {
            (Some(pid), _) => format!("process {pid}"),
            (None, "*") if target.program.is_none() => "any running process".to_string(),
            _ => target.program.clone().unwrap_or_default(),
        };
        return Err(RuntimeError::Refused(format!("no usdt probes match {shown} in {place}")));
    }
    Ok(sites)
}

/// The spec table entry of a site: its arguments' locations, a `%rip`-relative global
/// resolved against the binary's symbols (at the site, `%rip` is the site's address).
fn site_spec(path: &str, n: &usdt::Note) -> Result<Vec<u8>, String> {
    let mut args = parse_args(&n.args)?;
    if args.len() > btc_bpfprog::usdt::USDT_MAX_ARGS {
        return Err(format!("{} arguments (at most {})", args.len(), btc_bpfprog::usdt::USDT_MAX_ARGS));
    }
    let mut encoded = Vec::with_capacity(args.len());
    for a in &mut args {
        if let UsdtLoc::Symbol { symbol, addend } = &a.loc {
            let addr = elf::file_symbol(path, symbol)?.ok_or_else(|| format!("no symbol {symbol} in {path}"))?;
            let disp = (addr as i64).wrapping_add(*addend).wrapping_sub(n.address as i64);
            a.loc = UsdtLoc::Mem { base: 128, index: None, disp };
        }
        encoded.push(arg_spec(a).ok_or("an unresolved argument location")?);
    }
    Ok(encode_usdt_spec(&encoded))
}

/// One setter per function of the traced program that `func` matches; when the probe reads its
/// site's cookie, each has one, naming it as bpftrace names the probe of one function.
fn watch_funcs(p: &Probe, func: &str, target: &Target, out: &mut Expanded) -> Result<Vec<Site>, RuntimeError> {
    let path = program(target).ok_or_else(|| RuntimeError::Refused(format!("-p PID or -c CMD required for {}", p.name)))?;
    let names = matching_functions(&path, func).map_err(|e| refused(p, e))?;
    if names.is_empty() {
        return Err(RuntimeError::Refused(format!("no functions in {path} match {func}")));
    }
    // The program as the name shows it: the -c command's, or /proc/PID/exe for -p.
    let shown = target.program.clone().unwrap_or(path);
    let mut sites = Vec::with_capacity(names.len());
    for f in names {
        let mut probe = p.clone();
        probe.process = None;
        let mut cookie = None;
        if let ProbeKind::WatchFunc { func, arg, len, mode, is_async } = &mut probe.kind {
            if target.reads_cookie.contains(&p.prog) {
                let name = btc_bpfprog::watch_func_name(*is_async, &shown, &f, *arg, *len, mode);
                cookie = Some(out.cookie(p, &name)?);
            }
            *func = f;
        }
        sites.push(Site { probe, cookie });
    }
    Ok(sites)
}

/// Attaches what probe `p` expanded to.
pub(crate) fn attach(tracer: &mut Tracer, expanded: &Expanded, p: &Probe) -> Result<(), RuntimeError> {
    let Some(sites) = expanded.sites.get(&p.prog) else { return tracer.attach(p) };
    for site in sites {
        match (site.cookie, &site.probe.kind) {
            (Some(cookie), ProbeKind::Usdt { .. }) => tracer.attach_usdt_site(&site.probe, cookie)?,
            (cookie, ProbeKind::WatchFunc { .. }) => tracer
                .attach_watch_setter(&site.probe, cookie.map(u64::from))
                .map_err(|reason| RuntimeError::Attach { probe: site.probe.name.clone(), reason })?,
            (Some(cookie), _) => tracer.attach_uprobe_site(&site.probe, cookie)?,
            (None, _) => tracer.attach(&site.probe)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uprobe_targets_name_their_files() {
        let t = Target { pid: None, program: Some("/bin/true".into()), shared_link: Default::default(), reads_cookie: Default::default() };
        assert_eq!(files("", false, &t), Ok(vec!["/bin/true".to_string()]));
        assert_eq!(files("", true, &t), Ok(vec!["/bin/true".to_string()]));
        let t = Target { pid: Some(7), program: None, shared_link: Default::default(), reads_cookie: Default::default() };
        assert_eq!(files("", false, &t), Ok(vec!["/proc/7/exe".to_string()]));
        assert_eq!(shown("/proc/7/root/usr/lib/x.so", &t), "/usr/lib/x.so");
    }
}
