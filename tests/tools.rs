//! Every tool shipped in `tools/` compiles, builds an object whose programs pass the kernel's
//! verifier and attach, carries its header (what it does, usage, example output) and is listed in the
//! README. One test per tool, named `tools::NAME`. Running the tools against workloads is done
//! by the end-to-end suite tests/suites/tools.txt.
//!
//! A tool that needs something only some kernels have says so in its header, one
//! `// Requires: FEATURE` line each (the features of tests/README.md, e.g.
//! `tracepoint capability:cap_capable`). On a kernel without it, the test checks instead that
//! btc refuses the tool with an error naming what is missing.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/features.rs"]
mod features;

const BTC: &str = env!("CARGO_BIN_EXE_btc");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn run(args: &[&str]) -> Result<String, Failed> {
    let out = Command::new(BTC).args(args).output().map_err(|e| format!("can't run btc: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("btc {} failed ({}):\n{stderr}", args.join(" "), out.status).into());
    }
    Ok(stderr)
}

/// The header every tool starts with: a `#!` line, `// NAME: summary`, a usage line naming the
/// file, and an example of its output.
fn check_header(name: &str, text: &str) -> Result<(), Failed> {
    let mut lines = text.lines();
    if lines.next() != Some("#!/usr/bin/env -S btc run") {
        return Err("the first line must be `#!/usr/bin/env -S btc run`".into());
    }
    let title = format!("// {name}: ");
    if !lines.next().is_some_and(|l| l.starts_with(&title) && l.len() > title.len()) {
        return Err(format!("the second line must be `{title}<what it does>`").into());
    }
    let usage = format!("// Usage: btc run tools/{name}.bt");
    if !text.lines().any(|l| l.starts_with(&usage)) {
        return Err(format!("no `{usage}` line in the header").into());
    }
    let example = text.lines().position(|l| l.starts_with("// Example output")).ok_or("no `// Example output` in the header")?;
    if !text.lines().nth(example + 1).is_some_and(|l| l.starts_with("//   ")) {
        return Err("the example output must follow `// Example output`, indented by two spaces".into());
    }
    Ok(())
}

/// The `// Requires: FEATURE` lines of a tool's header.
fn requirements(text: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| l.starts_with("//") || l.starts_with("#!"))
        .filter_map(|l| l.strip_prefix("// Requires:"))
        .map(|r| r.trim().to_string())
        .collect()
}

/// On a kernel without what the tool requires: btc must refuse it, naming what is missing (the
/// tracepoint, or its field).
fn check_refused(script: &str, missing: &str) -> Result<(), Failed> {
    let out = Command::new(BTC).args(["compile", "--check", script]).output().map_err(|e| format!("can't run btc: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = match missing.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["tracepoint", tp] => tp.rsplit(':').next().unwrap_or(tp).to_string(),
        ["tracepoint", _, field] => field.to_string(),
        _ => return Err(format!("`// Requires: {missing}`: a tool can only require tracepoints and their fields").into()),
    };
    if out.status.success() || !stderr.contains(&named) {
        return Err(format!(
            "this kernel lacks `{missing}`: btc compile --check should fail naming {named}; it exited with {} and printed:\n{stderr}",
            out.status
        )
        .into());
    }
    Ok(())
}

fn check_tool(path: &Path, readme: &str) -> Result<(), Failed> {
    let name = path.file_stem().and_then(|s| s.to_str()).ok_or("bad tool file name")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    check_header(name, &text)?;
    if !readme.contains(&format!("[`{name}`](tools/{name}.bt)")) {
        return Err(format!("README.md doesn't list the tool: add [`{name}`](tools/{name}.bt) to its Tools section").into());
    }
    let script = path.to_str().ok_or("path")?;
    for r in requirements(&text) {
        if !features::holds(&r).map_err(|e| format!("`// Requires: {r}`: {e}"))? {
            return check_refused(script, &r);
        }
    }
    let warnings = run(&["compile", "--check", script])?;
    if !warnings.is_empty() {
        return Err(format!("btc compile --check printed:\n{warnings}").into());
    }
    let obj = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("tool-{name}.o"));
    let obj_s = obj.to_str().ok_or("path")?;
    run(&["compile", script, "-o", obj_s])?;
    let bytes = std::fs::read(&obj).map_err(|e| format!("{obj_s}: {e}"))?;
    let meta = btc_bpfprog::read_metadata(&bytes).map_err(|e| format!("{obj_s} has no btc metadata: {e}"))?;
    if meta.probes.is_empty() {
        return Err("the object has no probes".into());
    }
    // Loads every program into the kernel (the verifier runs), attaches every probe, and exits
    // (bpftrace's --dry-run).
    run(&["run", "--dry-run", obj_s])?;
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(ROOT).join("tools");
    let mut tools: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    tools.retain(|p| p.extension().is_some_and(|e| e == "bt"));
    tools.sort();
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap_or_default();
    let mut trials: Vec<Trial> = Vec::new();
    if tools.is_empty() {
        trials.push(Trial::test("tools present", || Err("no tools/*.bt found".into())));
    }
    for t in tools {
        let name = t.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let readme = readme.clone();
        trials.push(Trial::test(name, move || check_tool(&t, &readme)));
    }
    trials.push(Trial::test("requires_header_and_refusal", requires_header_and_refusal));
    libtest_mimic::run(&args, trials).exit();
}

/// The harness's own `// Requires:` handling, on a script needing what no kernel has.
fn requires_header_and_refusal() -> Result<(), Failed> {
    let text = "#!/usr/bin/env -S btc run\n// x: y\n// Requires: tracepoint btc_none:nothing\n// Requires: tracepoint sched:sched_switch btc_no_field\ntracepoint:btc_none:nothing { }\n// Requires: not this\n";
    let reqs = requirements(text);
    if reqs != ["tracepoint btc_none:nothing", "tracepoint sched:sched_switch btc_no_field"] {
        return Err(format!("{reqs:?}").into());
    }
    if features::holds(&reqs[0])? || features::holds(&reqs[1])? {
        return Err("requirements that no kernel meets hold".into());
    }
    let script = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tool-requires.bt");
    std::fs::write(&script, text).map_err(|e| e.to_string())?;
    let path = script.to_str().ok_or("path")?;
    check_refused(path, &reqs[0])?;
    // A requirement btc doesn't refuse is a failure of the check.
    std::fs::write(&script, "BEGIN { exit(); }\n").map_err(|e| e.to_string())?;
    if check_refused(path, &reqs[0]).is_ok() {
        return Err("a tool btc accepts passed as refused".into());
    }
    Ok(())
}
