//! The script's `config = { KEY = VALUE; ... }` block: each item sets one of bpftrace's settings
//! (see [`crate::settings`]).

use crate::ast::Program;
use crate::diag::{Diagnostic, Diagnostics};
use crate::settings::Settings;

/// The settings of the config block. Bad keys and values are errors at the item.
pub fn settings(prog: &Program, diags: &mut Diagnostics) -> Settings {
    let mut s = Settings::default();
    for item in &prog.config {
        match s.set(&item.key, &item.value) {
            Ok(true) => {}
            Ok(false) => diags.push(Diagnostic::warning(item.span, format!("{} has no effect in btc", item.key))),
            Err(msg) => diags.error(item.span, msg),
        }
    }
    s
}
