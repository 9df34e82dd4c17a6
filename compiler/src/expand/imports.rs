//! `import "path";`: the probes, macros and map declarations of other `.bt` files, merged into
//! the script. Paths are relative to the importing file's directory; a directory imports its
//! `.bt` files (in name order, not recursively); each file is imported once. Imported probes
//! come before the importer's, so an imported `begin` runs first.

use super::origins::{OriginKind, Origins};
use super::walk;
use crate::ast::*;
use crate::diag::{Diagnostics, Span};
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Deepest chain of files importing files.
const MAX_DEPTH: usize = 32;

pub fn resolve(prog: &mut Program, dir: &Path, origins: &mut Origins, diags: &mut Diagnostics) {
    let imports = std::mem::take(&mut prog.imports);
    if imports.is_empty() {
        return;
    }
    let mut cx = Cx { origins, diags, seen: HashSet::new(), probes: Vec::new(), depth: 0 };
    for imp in &imports {
        cx.import(prog, dir, &imp.path, imp.span);
    }
    let own = std::mem::take(&mut prog.probes);
    prog.probes = std::mem::take(&mut cx.probes);
    prog.probes.extend(own);
}

struct Cx<'a> {
    origins: &'a mut Origins,
    diags: &'a mut Diagnostics,
    seen: HashSet<PathBuf>,
    /// Imported probes, in import order.
    probes: Vec<Probe>,
    depth: usize,
}

fn world_writable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

impl Cx<'_> {
    fn import(&mut self, prog: &mut Program, dir: &Path, path: &str, at: Span) {
        // bpftrace's standard library is its builtins and functions, which btc has built in.
        if path == "stdlib" {
            return;
        }
        let full = dir.join(path);
        let meta = match std::fs::metadata(&full) {
            Ok(m) => m,
            Err(e) => {
                let reason = e.to_string();
                let reason = reason.split(" (os error").next().unwrap_or(&reason);
                self.diags.error(at, format!("Unable to import {path}: {reason}"));
                return;
            }
        };
        let parent = full.parent().unwrap_or(dir);
        if world_writable(parent) || (meta.is_dir() && world_writable(&full)) {
            self.diags.error(at, format!("Refusing to import {path}: its directory has global write permissions"));
            return;
        }
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&full)
                .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "bt")).collect())
                .unwrap_or_default();
            files.sort();
            for f in files {
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                self.import(prog, &full, &name, at);
            }
            return;
        }
        if path.ends_with(".h") || path.ends_with(".c") {
            self.diags.error(at, format!("btc does not import C files yet: {path}"));
            return;
        }
        if !path.ends_with(".bt") {
            self.diags.error(at, format!("Unsupported import file type: {path} (expected a .bt file or a directory)"));
            return;
        }
        let key = full.canonicalize().unwrap_or_else(|_| full.clone());
        if !self.seen.insert(key) {
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.diags.error(at, format!("imports are nested too deeply (more than {MAX_DEPTH} levels)"));
            return;
        }
        let text = match std::fs::read(&full).map(String::from_utf8) {
            Ok(Ok(t)) => t,
            _ => {
                self.diags.error(at, format!("Unable to import {path}: not a readable text file"));
                return;
            }
        };
        self.merge(prog, &full, text, at);
    }

    /// Parses one imported file into its own virtual region and merges it into `prog`.
    fn merge(&mut self, prog: &mut Program, file: &Path, text: String, at: Span) {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        let shown = file.display().to_string();
        let Some(base) = self.origins.alloc(len, OriginKind::Import { file: shown, text: text.clone(), at }) else {
            self.diags.error(at, "too many imports");
            return;
        };
        let shift = |s: &mut Span| {
            s.start = s.start.saturating_add(base);
            s.end = s.end.saturating_add(base);
        };
        let mut parse_diags = Diagnostics::default();
        let sub = crate::syntax::parse(&text, &mut parse_diags);
        for mut d in parse_diags.items {
            shift(&mut d.span);
            d.notes.iter_mut().for_each(|(s, _)| shift(s));
            self.diags.push(d);
        }
        let Some(mut sub) = sub else { return };
        let first = prog.expr_count;
        let (mut span, mut id) = (shift, |i: &mut ExprId| i.0 += first);
        walk::program(&mut sub, &mut walk::Fix { span: &mut span, id: &mut id });
        prog.expr_count += sub.expr_count;
        if let Some(c) = sub.config.first() {
            self.diags.error(c.span, "An imported .bt script cannot contain a config block");
        }
        if let Some(p) = sub.preamble.first() {
            let mut s = p.span;
            shift(&mut s);
            self.diags.error(s, "btc does not take C definitions from imported scripts yet");
        }
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        self.depth += 1;
        for imp in std::mem::take(&mut sub.imports) {
            self.import(prog, &dir, &imp.path, imp.span);
        }
        self.depth -= 1;
        prog.macros.append(&mut sub.macros);
        prog.map_decls.append(&mut sub.map_decls);
        self.probes.append(&mut sub.probes);
    }
}
