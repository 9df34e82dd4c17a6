//! Typing the builtins whose meaning depends on the probe type: `argN`, `sargN`, `retval`,
//! `func`, and the `reg("name")` function. Code generation is in `codegen/probe_args.rs`.

use super::check::Checker;
use crate::ast::{Builtin, Expr, ExprKind};
use crate::diag::Span;
use crate::types::Type;
use btc_bpfprog::ProbeKind;

/// x86-64 argument registers: argN lives in `pt_regs` at `ARG_REGS[N]`.
pub const MAX_REG_ARGS: u32 = 6;

/// `pt_regs` offsets of the x86-64 argument registers: di, si, dx, cx, r8, r9.
pub const ARG_REGS: [u32; 6] = [112, 104, 96, 88, 72, 64];

/// Register names `reg()` accepts (x86-64 `struct pt_regs`, in order).
pub const REGISTERS: &[&str] = &[
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di", "orig_ax", "ip",
    "cs", "flags", "sp", "ss",
];

/// The byte offset of a `reg()` register in `struct pt_regs`.
pub fn register_offset(name: &str) -> Option<u32> {
    REGISTERS.iter().position(|r| *r == name).and_then(|i| u32::try_from(i * 8).ok())
}


fn pt_regs_context(kind: &ProbeKind) -> bool {
    matches!(kind, ProbeKind::Kprobe { .. } | ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. })
}

impl Checker<'_> {
    /// Types `argN`, `sargN`, `retval` and `func`.
    pub(crate) fn probe_builtin(&mut self, name: &str, b: Builtin, span: Span) -> Type {
        let kind = self.rp.kind.clone();
        let provider = self.rp.provider().to_string();
        if let Builtin::Arg(n) = b {
            return match &kind {
                ProbeKind::Kprobe { ret: false, .. } | ProbeKind::Uprobe { ret: false, .. } => {
                    if n >= MAX_REG_ARGS {
                        self.err(span, format!("{name} is not available: x86_64 passes arguments arg0 to arg5 in registers (use sargN for stack arguments)"));
                    }
                    Type::U64
                }
                ProbeKind::RawTracepoint { .. } => {
                    if n >= 12 {
                        self.err(span, format!("{name} is not available: raw tracepoints have at most 12 arguments"));
                    }
                    Type::U64
                }
                // A site found at run time: its argument is read by the spec the runtime writes
                // (sign-extended or not by it), as a 64-bit value.
                ProbeKind::Usdt { .. } if self.rp.process.is_some() => {
                    if n as usize >= btc_bpfprog::usdt::USDT_MAX_ARGS {
                        self.err(span, format!("{name} is not available: USDT probes have at most {} arguments", btc_bpfprog::usdt::USDT_MAX_ARGS));
                    }
                    Type::I64
                }
                ProbeKind::Usdt { .. } => {
                    let args = self.rp.usdt_args.clone().unwrap_or_default();
                    match args.get(n as usize) {
                        Some(a) => Type::Int { bits: a.size * 8, signed: a.signed },
                        None => {
                            self.err(span, format!("{name} is not available: {} has {} argument{}", self.rp.name, args.len(), if args.len() == 1 { "" } else { "s" }));
                            Type::I64
                        }
                    }
                }
                _ => {
                    self.err(span, format!("the {name} builtin is not available in {provider} probes (only in kprobe, uprobe, usdt and rawtracepoint probes)"));
                    Type::U64
                }
            };
        }
        if let Builtin::Sarg(_) = b {
            if !matches!(kind, ProbeKind::Kprobe { ret: false, .. } | ProbeKind::Uprobe { ret: false, .. }) {
                self.err(span, format!("the {name} builtin is not available in {provider} probes (only in kprobe and uprobe probes)"));
            }
            return Type::U64;
        }
        match b {
            Builtin::Retval => {
                if !matches!(
                    kind,
                    ProbeKind::Kprobe { ret: true, .. } | ProbeKind::Uprobe { ret: true, .. } | ProbeKind::Kfunc { ret: true, .. }
                ) {
                    let hint = if provider == "tracepoint" { " (try to use args.ret instead)" } else { "" };
                    self.err(span, format!("The retval builtin can only be used with 'kretprobe', 'uretprobe' and 'kretfunc' probes{hint}"));
                }
                // In kretfunc, retval has the function's return type from BTF
                // (`retval->f_path` in `kretfunc:fget`); elsewhere it is a raw register.
                match &kind {
                    ProbeKind::Kfunc { func, ret: true, .. } => match self.db.kfunc_return(func) {
                        Some(t @ (Type::Int { .. } | Type::Ptr { .. })) => t,
                        _ => Type::U64,
                    },
                    _ => Type::U64,
                }
            }
            _ => match &self.rp.func {
                Some(f) => self.known_str(&f.clone()),
                // A wildcard expanded when the object runs: the function whose entry fired, from
                // the instruction pointer (bpftrace 0.20's `func` in every uprobe).
                None if self.rp.process.is_some() && matches!(kind, ProbeKind::Uprobe { ret: false, offset: 0, .. }) => {
                    Type::Runtime(btc_bpfprog::RuntimeTy::Usym)
                }
                None if self.rp.process.is_some() => {
                    self.err(span, format!("func is not known in {}: its functions are found when the object runs (name one function, or compile with -p PID)", self.rp.name));
                    Type::Str { len: 1 }
                }
                None => {
                    self.err(span, format!("The func builtin can only be used with kprobe, uprobe and kfunc probes, not {provider}"));
                    Type::Str { len: 1 }
                }
            },
        }
    }

    /// `reg("name")`: a register of the probed context.
    pub(crate) fn reg_call(&mut self, e: &Expr, args: &[Expr]) -> Type {
        for a in args {
            self.expr(a);
        }
        let perf = matches!(
            self.rp.kind,
            ProbeKind::Profile { .. } | ProbeKind::Interval { .. } | ProbeKind::Software { .. } | ProbeKind::Hardware { .. } | ProbeKind::Watchpoint { .. } | ProbeKind::WatchFunc { .. }
        );
        if !pt_regs_context(&self.rp.kind) && !perf {
            self.err(e.span, format!("reg() can only be used with kprobe, uprobe, usdt and perf event probes, not {}", self.rp.provider()));
            return Type::U64;
        }
        match args {
            [Expr { kind: ExprKind::Str(r), span, .. }] => {
                if register_offset(r).is_none() {
                    let mut d = crate::diag::Diagnostic::error(*span, format!("'{r}' is not a valid register (x86_64: {})", REGISTERS.join(", ")));
                    if let Some(s) = crate::suggest::nearest(r, REGISTERS) {
                        d = d.with_hint(format!("did you mean '{s}'?"));
                    }
                    self.diags.push(d);
                }
            }
            [a] => self.err(a.span, "reg() takes the register name as a string literal"),
            _ => self.err(e.span, format!("reg() takes 1 argument, got {}", args.len())),
        }
        Type::U64
    }

    /// bpf_seq_printf, which prints in iterators, knows fewer conversions than printf.
    pub(crate) fn check_iter_printf(&mut self, fmt: &str, span: Span) {
        if !matches!(self.rp.kind, ProbeKind::Iter { .. }) {
            return;
        }
        if let Err(m) = seq_printf_format(fmt) {
            self.err(span, format!("{m} (iterators print with bpf_seq_printf)"));
        }
    }
}

/// Checks that a format only uses what bpf_seq_printf supports: flags `-+ 0`, a width, `l`/`ll`
/// and `d i u x X c s p`. At most 12 arguments.
pub fn seq_printf_format(fmt: &str) -> Result<(), String> {
    let b = fmt.as_bytes();
    let mut i = 0;
    let mut count = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        if b.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        while matches!(b.get(i), Some(b'-' | b'+' | b' ' | b'0')) {
            i += 1;
        }
        while matches!(b.get(i), Some(c) if c.is_ascii_digit()) {
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            return Err("precision ('%.N') is not supported in iterator printf".into());
        }
        while matches!(b.get(i), Some(b'l' | b'h')) {
            i += 1;
        }
        match b.get(i) {
            Some(b'd' | b'i' | b'u' | b'x' | b'X' | b'c' | b's' | b'p') => count += 1,
            Some(c) => return Err(format!("the conversion '%{}' is not supported in iterator printf", *c as char)),
            None => return Err("incomplete conversion at the end of the format".into()),
        }
        i += 1;
    }
    if count > 12 {
        return Err("iterator printf takes at most 12 arguments".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Builtin::from_name("args"), Some(Builtin::Args));
        assert_eq!(Builtin::from_name("sarg3"), Some(Builtin::Sarg(3)));
        assert_eq!(register_offset("ip"), Some(128));
        assert_eq!(register_offset("di"), Some(112));
        assert_eq!(register_offset("rdi"), None);
    }

    #[test]
    fn seq_formats() {
        assert!(seq_printf_format("%s:%d %lx-%llx %5u%%\n").is_ok());
        assert!(seq_printf_format("%.3s").is_err());
        assert!(seq_printf_format("%o").is_err());
    }
}
