//! Typing `skboutput(PATH, SKB, LENGTH, OFFSET)`: writes an sk_buff's data to a pcap file. Only
//! kfunc and kretfunc programs may call the kernel's bpf_skb_output, so it is checked here;
//! code generation for it is not done yet.

use super::check::Checker;
use crate::ast::*;
use crate::types::Type;
use btc_bpfprog::ProbeKind;

impl Checker<'_> {
    pub(crate) fn call_skb(&mut self, e: &Expr, name: &str, args: &[Expr]) -> Option<Type> {
        if name != "skboutput" {
            return None;
        }
        let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        if !matches!(self.rp.kind, ProbeKind::Kfunc { .. }) {
            let provider = self.rp.provider().to_string();
            self.err(e.span, format!("skboutput() can only be used in kfunc and kretfunc probes, not {provider}"));
        }
        if !self.arity(e, name, args, 4, 4) {
            return Some(Type::U32);
        }
        if !matches!(args[0].kind, ExprKind::Str(_)) {
            self.err(args[0].span, "skboutput()'s first argument, the pcap file, must be a string literal");
        }
        if !matches!(tys[1], Type::Ptr { .. }) {
            self.err(args[1].span, format!("skboutput() expects a pointer to a struct sk_buff here, found {}", tys[1]));
        }
        for (a, t) in args[2..].iter().zip(&tys[2..]) {
            if !t.is_int() {
                self.err(a.span, format!("skboutput() expects an integer here, found {t}"));
            }
        }
        Some(Type::U32)
    }
}
