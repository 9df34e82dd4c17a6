//! The script's `config = { KEY = VALUE; ... }` block: each item sets one of bpftrace's settings
//! (see [`crate::settings`]).

use crate::ast::Program;
use crate::diag::{Diagnostic, Diagnostics};
use crate::settings::{is_026_key, Settings};
use btc_bpfprog::Compat;

/// The settings of the config block. Bad keys and values are errors at the item. `env` is the
/// compat the environment or command line asks for; it wins over the block's `compat`, and in
/// 0.20 mode bpftrace 0.26's keys are unknown.
pub fn settings(prog: &Program, env: Option<Compat>, diags: &mut Diagnostics) -> Settings {
    let mut s = Settings::default();
    for item in prog.config.iter().filter(|i| crate::settings::normalize_key(&i.key) == "compat") {
        if let Err(msg) = s.set(&item.key, &item.value) {
            diags.error(item.span, msg);
        }
    }
    let compat = env.or(s.runtime.compat).unwrap_or_default();
    for item in prog.config.iter().filter(|i| crate::settings::normalize_key(&i.key) != "compat") {
        let unknown = || {
            if compat.v026() {
                format!("{}: not a known configuration option", item.key)
            } else {
                format!("Unrecognized config variable: {}", item.key)
            }
        };
        if is_026_key(&item.key) && !compat.v026() {
            diags.error(item.span, unknown());
            continue;
        }
        match s.set(&item.key, &item.value) {
            Ok(true) => {}
            Ok(false) => diags.push(Diagnostic::warning(item.span, format!("{} has no effect in btc", item.key))),
            Err(msg) if msg.starts_with("Unrecognized config variable") => diags.error(item.span, unknown()),
            Err(msg) => diags.error(item.span, msg),
        }
    }
    s
}
