//! `watchpoint:FUNC*+argN:LEN:MODE` (and `asyncwatchpoint`): a wildcard in the function expands
//! to one watchpoint probe per matching function of the traced program (the `-c` command's, or
//! the `-p` process's), each with its own setter, as in bpftrace 0.20.

use super::{wildcard_match, Cx, ResolvedProbe};
use crate::diag::Diagnostic;
use btc_bpfprog::ProbeKind;

/// The traced program: the file to read functions from, and the path probe names show
/// (bpftrace's: the command's program as written or found on $PATH, or /proc/PID/exe).
fn traced_program(cx: &Cx<'_>, provider: &str) -> Result<(String, String), Diagnostic> {
    if let Some(pid) = cx.opts.pid {
        let exe = format!("/proc/{pid}/exe");
        return Ok((exe.clone(), exe));
    }
    let program = cx.opts.command.as_deref().and_then(|c| c.split_whitespace().next());
    let Some(program) = program else {
        return Err(cx.err(format!("-p PID or -c CMD required for {provider}:FUNCTION+argN")));
    };
    let path = cx.types.resolve_binary(program, None).map_err(|e| cx.err(e))?;
    let shown = cx.types.binary_paths(program, None).into_iter().next().unwrap_or_else(|| path.clone());
    Ok((path, shown))
}

/// One probe per function of the traced program that `pattern` matches.
pub(super) fn expand(
    cx: &Cx<'_>,
    provider: &str,
    pattern: &str,
    arg: u8,
    len: u8,
    mode: &str,
) -> Result<Vec<ResolvedProbe>, Diagnostic> {
    let (path, shown) = traced_program(cx, provider)?;
    let mut funcs: Vec<String> = cx
        .types
        .elf_functions(&path)
        .map_err(|e| cx.err(e))?
        .into_iter()
        .map(|f| f.name)
        // As for uprobes, a wildcard leaves out the compiler's partial clones.
        .filter(|n| wildcard_match(pattern, n) && !n.contains(".part."))
        .collect();
    funcs.sort();
    funcs.dedup();
    if funcs.is_empty() {
        return Err(cx.err(format!("no functions in {path} match {pattern}")));
    }
    let is_async = provider == "asyncwatchpoint";
    let probes = funcs.into_iter().map(|func| {
        let name = btc_bpfprog::watch_func_name(is_async, &shown, &func, arg, len, mode);
        let kind = ProbeKind::WatchFunc { func, arg, len, mode: mode.to_string(), is_async };
        ResolvedProbe::new(cx.probe, name, kind)
    });
    Ok(probes.collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_bpftrace() {
        let name = btc_bpfprog::watch_func_name;
        assert_eq!(name(false, "./prog", "increment_0", 0, 4, "w"), "watchpoint:./prog:increment_0:4:w");
        assert_eq!(name(true, "/p", "f", 1, 8, "rw"), "asyncwatchpoint:/p:f:1:8:rw");
    }
}
