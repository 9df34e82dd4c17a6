//! Typing `skboutput(PATH, SKB, LENGTH, OFFSET)`: writes an sk_buff's data to a pcap file
//! through the kernel's `bpf_skb_output`, which only BPF_PROG_TYPE_TRACING programs may call.
//! bpftrace allows it in kfunc and kretfunc probes; btc also allows it in rawtracepoint probes
//! whose tracepoint passes a `struct sk_buff *` (from BTF's `btf_trace_NAME`): such a probe is
//! compiled as a `tp_btf` program ([`mark_tp_btf`]), which is a tracing program too.

use super::check::{Checker, Instance};
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::types::Type;
use btc_bpfprog::ProbeKind;

const NAME: &str = "skboutput";

/// Whether `t` is a `struct sk_buff *`.
fn is_skb_ptr(t: &Type) -> bool {
    matches!(t, Type::Ptr { pointee, .. } if matches!(&**pointee, Type::Struct(s) if s.name == "sk_buff"))
}

impl Checker<'_> {
    pub(crate) fn call_skb(&mut self, e: &Expr, args: &[Expr]) -> Type {
        let name = NAME;
        let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        self.check_skb_probe(e);
        if !self.arity(e, name, args, 4, 4) {
            return Type::U32;
        }
        if !matches!(args[0].kind, ExprKind::Str(_)) {
            self.err(args[0].span, "skboutput()'s first argument, the pcap file, must be a string literal");
        }
        if !is_skb_ptr(&tys[1]) {
            self.err(args[1].span, format!("skboutput() expects a pointer to a struct sk_buff here, found {}", tys[1]));
        } else if !is_probe_arg(&args[1]) {
            let msg = "skboutput()'s sk_buff must be an argument of the probe (args.NAME, argN or a variable holding one): the kernel accepts no other pointer";
            self.err(args[1].span, msg);
        }
        for (a, t) in args[2..].iter().zip(&tys[2..]) {
            if !t.is_int() {
                self.err(a.span, format!("skboutput() expects an integer here, found {t}"));
            }
        }
        Type::U32
    }

    /// skboutput() needs a tracing program: kfunc, kretfunc, or a rawtracepoint with a typed
    /// `struct sk_buff *` argument.
    fn check_skb_probe(&mut self, e: &Expr) {
        let has_skb_arg = self.rp.args.as_ref().is_some_and(|r| r.fields.iter().any(|f| is_skb_ptr(&f.ty)));
        match &self.rp.kind {
            ProbeKind::Kfunc { .. } => {}
            ProbeKind::RawTracepoint { name, .. } if !has_skb_arg => {
                let why = if self.rp.args.is_some() {
                    format!("the kernel's btf_trace_{name} has no struct sk_buff * argument")
                } else {
                    format!("the kernel's BTF has no btf_trace_{name}")
                };
                let msg = format!("skboutput() in a rawtracepoint probe needs a tracepoint with a struct sk_buff * argument: {why}");
                let d = Diagnostic::error(e.span, msg).with_hint("e.g. rawtracepoint:netif_receive_skb or rawtracepoint:net_dev_xmit");
                self.diags.push(d);
            }
            ProbeKind::RawTracepoint { .. } => {}
            _ => {
                let provider = self.rp.provider().to_string();
                let msg = format!("skboutput() can only be used in kfunc and kretfunc probes, not {provider}");
                let hint = "btc also allows it in rawtracepoint probes on tracepoints with a struct sk_buff * argument (rawtracepoint:netif_receive_skb)";
                self.diags.push(Diagnostic::error(e.span, msg).with_hint(hint));
            }
        }
    }
}

/// Whether `e` is a probe argument as the kernel's BTF types it (`args.skb`, `args->skb`,
/// `(struct sk_buff *)arg0`) or a variable (which may hold one; the verifier checks the rest).
/// A pointer read from memory (`args.skb->next`) is a plain number to the verifier.
fn is_probe_arg(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Cast { expr, .. } => is_probe_arg(expr),
        ExprKind::Field { expr, .. } | ExprKind::Arrow { expr, .. } => {
            matches!(&expr.kind, ExprKind::Builtin(b) if b == "args")
        }
        ExprKind::Builtin(b) => b.starts_with("arg"),
        ExprKind::Var(_) => true,
        _ => false,
    }
}

/// Compiles every rawtracepoint probe that calls skboutput() as a `tp_btf` program (the checker
/// made sure its tracepoint has BTF).
pub fn mark_tp_btf(prog: &Program, instances: &mut [Instance]) {
    for inst in instances {
        let Some(ast) = prog.probes.get(inst.probe.probe) else { continue };
        if let ProbeKind::RawTracepoint { btf, .. } = &mut inst.probe.kind {
            *btf = calls_in_block(&ast.body, Func::Skboutput) || ast.predicate.as_ref().is_some_and(|p| calls_in_expr(p, Func::Skboutput));
        }
    }
}

/// Whether `b` calls the function `name`.
fn calls_in_block(b: &Block, name: Func) -> bool {
    let mut found = false;
    crate::ast::visit_block(b, &mut |e| found |= is_call_of(e, name));
    found
}

/// Whether `e` calls the function `name`.
fn calls_in_expr(e: &Expr, name: Func) -> bool {
    let mut found = false;
    crate::ast::visit_expr(e, &mut |x| found |= is_call_of(x, name));
    found
}

fn is_call_of(e: &Expr, f: Func) -> bool {
    matches!(&e.kind, ExprKind::Call { func: Some(g), .. } if *g == f)
}
