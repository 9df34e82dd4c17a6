//! Typing builtins (`pid`, `comm`, `args`, ...). Builtins specific to a probe type are typed here too.

use super::check::Checker;
use crate::diag::{Diagnostic, Span};
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn builtin(&mut self, name: &str, span: Span) -> Type {
        match name {
            "pid" | "tid" | "uid" | "gid" | "nsecs" | "cgroup" | "jiffies" => Type::U64,
            "cpu" | "rand" | "numaid" => Type::U32,
            "comm" => Type::Str { len: 16 },
            // The sites of a uprobe, USDT probe or `watchpoint:FUNC*+argN` found at run time
            // each have their name, which the runtime gives by the site's cookie.
            "probe"
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
            "probe" => self.known_str(&self.rp.name.clone()),
            "curtask" => self.curtask_type(),
            "args" => match &self.rp.args {
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
            "kstack" | "ustack" | "cpid" | "elapsed" => self.runtime_builtin(name, span),
            _ if super::probe_builtins::is_probe_builtin(name) => self.probe_builtin(name, span),
            "ctx" => self.ctx_type(span),
            "username" => Type::Runtime(btc_bpfprog::RuntimeTy::Username),
            _ if name.starts_with("arg") || name.starts_with("sarg") => {
                self.err(span, format!("the {name} builtin is not available in {} probes", provider_of(self.rp)));
                Type::I64
            }
            _ if self.enum_constant(name).is_some() => self.enum_constant(name).unwrap_or(Type::U64),
            _ => {
                let mut d = Diagnostic::error(span, format!("unknown identifier '{name}'"));
                if let Some(s) = crate::suggest::nearest(name, BUILTINS) {
                    d = d.with_hint(format!("did you mean '{s}'?"));
                }
                self.diags.push(d);
                Type::I64
            }
        }
    }

}

pub(crate) fn provider_of(rp: &super::probes::ResolvedProbe) -> &str {
    rp.name.split(':').next().unwrap_or("")
}

/// Whether `name` is a builtin identifier (`pid`, `comm`, `arg0`, ...).
pub(crate) fn is_builtin_name(name: &str) -> bool {
    BUILTINS.contains(&name) || super::probe_builtins::is_probe_builtin(name)
}

const BUILTINS: &[&str] = &[
    "pid", "tid", "uid", "gid", "nsecs", "elapsed", "cpu", "comm", "kstack", "ustack", "arg0", "arg1", "sarg0",
    "retval", "func", "probe", "curtask", "rand", "cgroup", "cpid", "numaid", "args", "ctx", "jiffies", "username",
];

