//! Watchpoints set at run time: the setter program of `watchpoint:FUNC+argN` and `unwatch()`.
//!
//! The setter is a uprobe on FUNC. It reports argN to the runtime in a
//! [`ActionKind::WatchpointSet`] event; for the synchronous `watchpoint` form it first stops the
//! process with SIGSTOP, so FUNC can't touch the memory before the runtime has opened the
//! breakpoint (the runtime sends SIGCONT once it has). A wildcard setter found at run time
//! whose probe prints `probe` also reports its attach cookie: the runtime attaches the
//! breakpoint with the same cookie, by which the program names the function's site.

use super::calls::HDR;
use super::calls_runtime::helper;
use super::debuginfo::DebugInfo;
use super::func::{self, FnCx, Val, R};
use super::probe_args::ARG_REGS;
use super::ModuleCx;
use crate::ast::Expr;
use crate::sema::Instance;
use btc_bpfprog::ActionKind;

const SIGSTOP: u64 = 19;

/// Whether a probe reads the `probe` builtin.
pub(crate) fn reads_probe(p: &crate::ast::Probe) -> bool {
    let mut found = false;
    let mut visit = |e: &Expr| found |= matches!(&e.kind, crate::ast::ExprKind::Builtin(b) if b == "probe");
    if let Some(pred) = &p.predicate {
        crate::ast::visit_expr(pred, &mut visit);
    }
    crate::ast::visit_block(&p.body, &mut visit);
    found
}

/// Generates the setter program `name` for the probe at `index` of the metadata's probe list;
/// `site`: it also reports its attach cookie (the site the runtime attached it as).
pub(crate) fn setter<'a, 'ctx>(
    m: &'a mut ModuleCx<'ctx>,
    di: &'a DebugInfo<'ctx>,
    name: &str,
    (span, inst, index): (crate::diag::Span, &'a Instance, u32),
    arg: u8,
    is_async: bool,
    site: bool,
) -> R<()> {
    let offset = *ARG_REGS.get(usize::from(arg)).ok_or_else(|| func::llvm_err(format!("watchpoint arg{arg}")))?;
    func::build(m, di, name, "uprobe", span, inst, |f| {
        let addr = f.ctx_u64(offset)?;
        if !is_async {
            f.helper(helper::SEND_SIGNAL, &[f.u64c(SIGSTOP).into()])?;
        }
        let size = if site { 16 } else { 8 };
        let buf = f.event_buffer_uninit(size, ActionKind::WatchpointSet, index)?;
        f.store_i64(f.offset(buf, HDR)?, addr)?;
        if site {
            let cookie = f.attach_cookie()?;
            f.store_i64(f.offset(buf, HDR + 8)?, cookie)?;
        }
        f.emit_event(buf, HDR + size)
    })?;
    Ok(())
}

impl<'ctx> FnCx<'_, 'ctx> {
    /// `unwatch(addr)`: asks the runtime to remove the watchpoints on `addr`.
    pub(crate) fn unwatch(&mut self, args: &[Expr]) -> R<Val<'ctx>> {
        let a = args.first().ok_or_else(|| func::llvm_err("unwatch"))?;
        let v = self.expr(a)?;
        let addr = self.as_int(v)?;
        let buf = self.event_buffer_uninit(8, ActionKind::Unwatch, 0)?;
        self.store_i64(self.offset(buf, HDR)?, addr)?;
        self.emit_event(buf, HDR + 8)?;
        Ok(Val::Void)
    }
}
