//! What a compiled object needs from the command line that runs it (`--unsafe`, `-c`, `-p`,
//! positional parameters), recorded in its metadata for `btc info` and the runtime.
//!
//! It is read from the parsed script, before positional parameters are substituted: these are
//! facts about the script, the same whether its values are given at compile or at run time.

use crate::ast::*;
use crate::sema::probes::{canonical_provider, split_attach};
use btc_bpfprog::Requires;


/// The requirements of `prog` (as parsed: before positional parameters are substituted).
pub fn scan(prog: &Program) -> Requires {
    let mut r = Requires::default();
    for probe in &prog.probes {
        for ap in &probe.attach {
            attach_point(&ap.raw, &mut r);
        }
        if let Some(p) = &probe.predicate {
            crate::ast::visit_expr(p, &mut |e| expr(e, &mut r));
        }
        block(&probe.body, &mut r);
    }
    r.unsafe_functions.sort();
    r.unsafe_functions.dedup();
    r
}

/// The highest `$N` in an attach point's text.
fn positional_in(raw: &str) -> u32 {
    let mut max = 0;
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        max = max.max(after[..digits].parse().unwrap_or(0));
        rest = &after[digits..];
    }
    max
}

fn attach_point(raw: &str, r: &mut Requires) {
    r.positional = r.positional.max(positional_in(raw));
    let parts = split_attach(raw);
    let needs_process = match (parts.first().and_then(|p| canonical_provider(p)), &parts[1..]) {
        (Some("watchpoint" | "asyncwatchpoint"), [addr, ..]) => addr.contains("+arg"),
        // A uprobe or USDT probe without a binary is looked up in the -p process.
        (Some("uprobe" | "uretprobe" | "usdt"), [_]) => true,
        (Some("uprobe" | "uretprobe" | "usdt"), [binary, _, ..]) => binary.is_empty(),
        _ => false,
    };
    if needs_process && !r.process_probes.iter().any(|p| p == raw) {
        r.process_probes.push(raw.to_string());
    }
}

fn block(b: &Block, r: &mut Requires) {
    crate::ast::visit_block(b, &mut |e| expr(e, r));
}

/// Notes what one expression needs (the visitor calls this for every expression).
fn expr(e: &Expr, r: &mut Requires) {
    match &e.kind {
        ExprKind::Positional(n) => r.positional = r.positional.max(*n),
        ExprKind::ParamCount => r.param_count = true,
        ExprKind::Builtin(name) if name == "cpid" => r.child = true,
        ExprKind::Call { name, func, .. } if func.is_some_and(Func::is_unsafe) => r.unsafe_functions.push(name.clone()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(src: &str) -> Requires {
        let mut diags = crate::diag::Diagnostics::default();
        match crate::syntax::parse(src, &mut diags) {
            Some(p) => scan(&p),
            None => panic!("{src} doesn't parse"),
        }
    }

    #[test]
    fn finds_what_the_command_line_must_give() {
        let r = scan_text("BEGIN { system(\"ls\"); signal(9); system(\"x\"); printf(\"%d %s\\n\", $2, str($1)); }");
        assert_eq!(r.unsafe_functions, vec!["signal".to_string(), "system".to_string()]);
        assert_eq!((r.positional, r.param_count, r.child), (2, false, false));
        let r = scan_text("uprobe:$3:main /cpid == pid/ { @[$#] = count(); }");
        assert_eq!((r.positional, r.param_count, r.child), (3, true, true));
        assert!(r.process_probes.is_empty());
        let r = scan_text("watchpoint:increment+arg1:4:w, u:main, U:probe, uprobe:/bin/sh:main, watchpoint:0x1000:8:rw { }");
        assert_eq!(r.process_probes, vec!["watchpoint:increment+arg1:4:w", "u:main", "U:probe"]);
        assert_eq!(scan_text("i:s:1 { exit(); }"), Requires::default());
    }
}
