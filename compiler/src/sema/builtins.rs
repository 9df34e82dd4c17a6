//! Typing builtins (`pid`, `comm`, `args`, ...). Builtins specific to a probe type are typed here too.

use super::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::catalogue::Builtin;
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn builtin(&mut self, name: &str, span: Span) -> Type {
        let Some(b) = Builtin::from_name(name) else {
            if let Some(t) = self.enum_constant(name) {
                return t;
            }
            let mut d = Diagnostic::error(span, format!("unknown identifier '{name}'"));
            let all: Vec<&str> = Builtin::names().collect();
            if let Some(s) = crate::suggest::nearest(name, &all) {
                d = d.with_hint(format!("did you mean '{s}'?"));
            }
            self.diags.push(d);
            return Type::I64;
        };
        match b {
            Builtin::Pid | Builtin::Tid | Builtin::Uid | Builtin::Gid | Builtin::Nsecs | Builtin::Cgroup | Builtin::Jiffies => Type::U64,
            Builtin::Cpu | Builtin::Rand | Builtin::Numaid => Type::U32,
            Builtin::Comm => Type::Str { len: 16 },
            // The sites of a uprobe or USDT probe found at run time each have their name, which
            // the runtime gives by the site's cookie.
            Builtin::Probe
                if self.rp.process.is_some()
                    && matches!(
                        self.rp.kind,
                        btc_bpfprog::ProbeKind::Uprobe { .. }
                            | btc_bpfprog::ProbeKind::Usdt { .. }
                            | btc_bpfprog::ProbeKind::WatchFunc { .. }
                    ) =>
            {
                Type::Runtime(btc_bpfprog::RuntimeTy::SiteName)
            }
            Builtin::Probe => self.known_str(&self.rp.name.clone()),
            Builtin::Curtask => self.curtask_type(),
            Builtin::Args => match &self.rp.args {
                // A uprobe's arguments as a value: a struct built from the registers.
                Some(r) if matches!(self.rp.kind, btc_bpfprog::ProbeKind::Uprobe { ret: false, .. }) => {
                    self.uprobe_args_value(r)
                }
                Some(r) => Type::Record(r.clone()),
                // Typed arguments come from the binary's debug info, which is only found when
                // the object runs.
                None if self.rp.process.is_some() => {
                    self.err(span, format!("args is not known in {}: its binary is found when the object runs (name the binary, or compile with -p PID)", self.rp.name));
                    Type::I64
                }
                None => {
                    self.err(span, format!("the args builtin is not available in {} probes", provider_of(self.rp)));
                    Type::I64
                }
            },
            Builtin::Kstack | Builtin::Ustack | Builtin::Cpid | Builtin::Elapsed => self.runtime_builtin(b, span),
            Builtin::Arg(_) | Builtin::Sarg(_) | Builtin::Retval | Builtin::Func => self.probe_builtin(name, b, span),
            Builtin::Ctx => self.ctx_type(span),
            Builtin::Username => Type::Runtime(btc_bpfprog::RuntimeTy::Username),
        }
    }
}

pub(crate) fn provider_of(rp: &super::probes::ResolvedProbe) -> &str {
    rp.name.split(':').next().unwrap_or("")
}

/// Whether `name` is a builtin identifier (`pid`, `comm`, `arg0`, ...).
pub(crate) fn is_builtin_name(name: &str) -> bool {
    Builtin::from_name(name).is_some()
}
