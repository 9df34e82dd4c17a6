//! `btc list` / `-l`: the runtime's listing (`btc_runtime::targets::list`) with what only the
//! compiler's readers know: DWARF and BTF parameters for `-lv`, and kernel types
//! (`-l 'struct task_*'`, with `-v` their definitions) from BTF.

use crate::Failure;
use btc_compiler::types::btf::Btf;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::rc::Rc;

/// Lists the probes matching `pattern` (`btc list`, `-l`).
pub fn list(pattern: Option<String>, verbose: bool, pid: Option<i32>) -> Result<u8, Failure> {
    let search = pattern.unwrap_or_default();
    // `struct NAME`, `union NAME`, `enum NAME`: kernel types, not probes.
    let trimmed = search.trim_start();
    if !search.contains(':') && ["struct", "union", "enum"].iter().any(|k| trimmed.starts_with(k)) {
        return print_lines(&type_listing(trimmed.trim_end(), verbose));
    }
    let params = DwarfParams::default();
    let opts = btc_runtime::targets::list::ListOptions { verbose, pid, params: Some(&params) };
    let listing = btc_runtime::targets::list::list(&search, &opts);
    let mut diags = btc_compiler::diag::Diagnostics::default();
    for d in &listing.diags {
        let span = btc_compiler::diag::Span::new(d.span.0, d.span.1);
        diags.push(if d.error {
            btc_compiler::diag::Diagnostic::error(span, d.message.clone())
        } else {
            btc_compiler::diag::Diagnostic::warning(span, d.message.clone())
        });
    }
    eprint!("{}", diags.render("stdin", &listing.search, true));
    if listing.failed() {
        return Err(Failure::Reported);
    }
    for w in &listing.warnings {
        eprintln!("{w}");
    }
    print_lines(&listing.lines)
}

/// Writes `lines` to stdout (a closed pipe is no error: `btc list | head`).
fn print_lines(lines: &[String]) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(format!("can't write output: {e}").into()),
    }
}

/// The parameters `-lv` shows, through the compiler's readers: DWARF for user functions, the
/// kernel's BTF (vmlinux and modules, each read once) for kfuncs and iterators.
#[derive(Default)]
struct DwarfParams {
    btf: RefCell<HashMap<String, Option<Rc<Btf>>>>,
}

impl DwarfParams {
    /// The BTF of `module` (`vmlinux`: the kernel's), parsed on first use.
    fn btf(&self, module: &str) -> Option<Rc<Btf>> {
        if let Some(b) = self.btf.borrow().get(module) {
            return b.clone();
        }
        let read = |m: &str| std::fs::read(format!("/sys/kernel/btf/{m}")).ok();
        let parsed = if module == "vmlinux" {
            read(module).and_then(|b| Btf::parse(b, None).ok()).map(Rc::new)
        } else {
            let base = self.btf("vmlinux");
            base.and_then(|base| read(module).and_then(|b| Btf::parse(b, Some(base)).ok())).map(Rc::new)
        };
        self.btf.borrow_mut().insert(module.to_string(), parsed.clone());
        parsed
    }
}

impl btc_runtime::targets::list::ParamSource for DwarfParams {
    fn uprobe_params(&self, path: &str, funcs: &[String]) -> Result<Vec<Vec<String>>, String> {
        let binary = btc_runtime::targets::elf::read(path)?;
        let index = btc_compiler::types::dwarf::index(&binary)?;
        btc_compiler::types::dwarf::param_lists(&binary, &index, funcs)
    }

    fn kernel_params(&self, funcs: &[(String, String)]) -> Vec<Option<Vec<String>>> {
        funcs.iter().map(|(m, f)| self.btf(m).and_then(|b| b.function_param_decls(f))).collect()
    }
}

/// The kernel's structs, unions and enums (vmlinux's, then each module's) whose `KIND NAME`
/// matches `search`, sorted; with `verbose`, their definitions instead.
fn type_listing(search: &str, verbose: bool) -> Vec<String> {
    let params = DwarfParams::default();
    let mut blobs: Vec<Rc<Btf>> = params.btf("vmlinux").into_iter().collect();
    if let Ok(dir) = std::fs::read_dir("/sys/kernel/btf") {
        let mut modules: Vec<String> =
            dir.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| n != "vmlinux").collect();
        modules.sort();
        blobs.extend(modules.iter().filter_map(|m| params.btf(m)));
    }
    let mut found = BTreeSet::new();
    for btf in &blobs {
        for (name, id) in btf.named_aggregates() {
            if !btc_bpfprog::wildcard_match(search, &name) {
                continue;
            }
            if verbose {
                found.extend(btf.c_definition(id));
            } else {
                found.insert(name);
            }
        }
    }
    found.into_iter().collect()
}
