//! Typing the functions and builtins the runtime serves: time, strftime, system, cat, join,
//! signal, override, ntop, pton, macaddr, cgroup_path, strerror, path, ksym, usym, kstack,
//! ustack, cpid, elapsed. (cgroupid, kaddr and uaddr are replaced by constants before checking:
//! see `sema/consteval.rs`.)

use super::builtins::provider_of;
use super::check::Checker;
use super::format;
use crate::ast::*;
use crate::catalogue::Runtime;
use crate::diag::Span;
use crate::types::Type;
use btc_bpfprog::{runtime::stack_map_name, ProbeKind, RuntimeTy, StackMode};

/// Deepest stack bpftrace records (the kernel's default perf_event_max_stack).
pub const MAX_STACK: u32 = 127;

/// The default format of `time()`.
pub const DEFAULT_TIME_FORMAT: &str = "%H:%M:%S\n";

/// The number of a signal given by name (`SIGKILL` or `KILL`).
pub fn signal_number(name: &str) -> Option<u32> {
    btc_bpfprog::params::signal_number(name)
}

fn string_literal(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Str(s) => Some(s),
        _ => None,
    }
}

impl Checker<'_> {
    fn arity_ok(&mut self, e: &Expr, name: &str, args: &[Expr], min: usize, max: usize) -> bool {
        if (min..=max).contains(&args.len()) {
            return true;
        }
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        let s = if max == 1 { "" } else { "s" };
        self.err(e.span, format!("{name}() takes {want} argument{s}, got {}", args.len()));
        false
    }

    fn require_unsafe(&mut self, e: &Expr, name: &str) {
        // At run time the runtime refuses the object without --unsafe (Requires::unsafe_functions).
        if !self.opts.allow_unsafe && !self.opts.at_run_time {
            self.err(e.span, format!("{name}() is an unsafe function being used in safe mode (use --unsafe)"));
        }
    }

    fn rt_int_arg(&mut self, name: &str, a: &Expr) {
        let t = self.expr(a);
        if !t.is_scalar() {
            self.err(a.span, format!("{name}() needs an integer, found {t}"));
        }
    }

    /// A printf-like call (`system`, `cat`): a literal format and matching arguments.
    fn format_call(&mut self, e: &Expr, name: &str, args: &[Expr]) {
        let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        let Some(first) = args.first() else {
            self.err(e.span, format!("{name}() needs a format string"));
            return;
        };
        let Some(fmt) = string_literal(first) else {
            self.err(first.span, format!("{name}'s first argument must be a string literal"));
            return;
        };
        if let Err(msg) = format::check(fmt, &tys[1..]) {
            self.err(first.span, msg.replacen("printf", name, 1));
        }
    }

    /// The stack type of `kstack`/`ustack` with optional `(mode, limit)` arguments.
    fn stack(&mut self, e: &Expr, kernel: bool, args: &[Expr]) -> Type {
        let name = if kernel { "kstack" } else { "ustack" };
        let mut mode = self.opts.stack_mode;
        let mut limit = MAX_STACK;
        if args.len() > 2 {
            self.arity_ok(e, name, args, 0, 2);
        }
        for (i, a) in args.iter().enumerate() {
            match &a.kind {
                ExprKind::Builtin(m) | ExprKind::Str(m) if i == 0 => match StackMode::parse(m) {
                    Some(m) => mode = m,
                    None => self.err(a.span, format!("invalid stack mode '{m}': valid modes are bpftrace, perf and raw")),
                },
                ExprKind::Int(n) if i + 1 == args.len() => match u32::try_from(*n) {
                    Ok(n) if (1..=1024).contains(&n) => limit = n,
                    _ => self.err(a.span, format!("{name}() limit must be between 1 and 1024")),
                },
                _ => self.err(a.span, format!("{name}() takes an optional mode (bpftrace, perf, raw) and limit")),
            }
            self.set(a, Type::Void);
        }
        let map = stack_map_name(limit);
        if kernel {
            Type::Runtime(RuntimeTy::Kstack { map, mode, limit })
        } else {
            Type::Runtime(RuntimeTy::Ustack { map, mode, limit })
        }
    }

    /// Types `kstack`, `ustack`, `cpid` and `elapsed` used as builtins.
    pub(crate) fn runtime_builtin(&mut self, b: Builtin, span: Span) -> Type {
        match b {
            Builtin::Kstack | Builtin::Ustack => {
                let kernel = b == Builtin::Kstack;
                let e = Expr { id: ExprId(u32::MAX), kind: ExprKind::Builtin(if kernel { "kstack" } else { "ustack" }.into()), span };
                self.stack(&e, kernel, &[])
            }
            Builtin::Cpid => {
                // At run time, the runtime refuses the object without -c (Requires::child).
                if !self.opts.has_child && !self.opts.at_run_time {
                    self.err(span, "cpid cannot be used without a child command (-c CMD)");
                }
                Type::U64
            }
            _ => Type::U64,
        }
    }

    /// Types a call of a function the runtime serves.
    pub(crate) fn runtime_call(&mut self, e: &Expr, f: Runtime, name_span: Span, args: &[Expr]) -> Type {
        let _ = name_span;
        let name = Func::Runtime(f).name();
        match f {
            Runtime::Time => {
                if self.arity_ok(e, name, args, 0, 1) {
                    if let Some(a) = args.first() {
                        self.expr(a);
                        if string_literal(a).is_none() {
                            self.err(a.span, "time() needs a string literal format");
                        }
                    }
                }
                Type::Void
            }
            Runtime::Strftime => {
                let mut fmt = String::new();
                let mut epoch = false;
                if self.arity_ok(e, name, args, 2, 2) {
                    self.expr(&args[0]);
                    match string_literal(&args[0]) {
                        Some(f) => fmt = f.to_string(),
                        None => self.err(args[0].span, "strftime() needs a string literal format"),
                    }
                    self.rt_int_arg(name, &args[1]);
                    // nsecs(tai) and nsecs(sw_tai) count from the epoch; monotonic has no date.
                    use super::calls_builtins::TimestampMode;
                    match self.timestamp_mode(&args[1]) {
                        TimestampMode::Monotonic => self.err(e.span, "strftime() can not take a monotonic timestamp"),
                        TimestampMode::Tai | TimestampMode::SwTai => epoch = true,
                        TimestampMode::Boot => {}
                    }
                }
                Type::Runtime(RuntimeTy::Timestamp { fmt, epoch })
            }
            Runtime::System | Runtime::Cat => {
                if f == Runtime::System {
                    self.require_unsafe(e, name);
                }
                self.format_call(e, name, args);
                Type::Void
            }
            Runtime::Join => {
                if self.arity_ok(e, name, args, 1, 2) {
                    let t = self.expr(&args[0]);
                    let ok = matches!(&t, Type::Ptr { pointee, .. } if matches!(**pointee, Type::Ptr { .. } | Type::Void | Type::Int { bits: 64, .. }));
                    if !ok {
                        self.err(args[0].span, format!("join() needs an array of strings (char **), found {t}"));
                    }
                    if let Some(sep) = args.get(1) {
                        self.expr(sep);
                        if string_literal(sep).is_none() {
                            self.err(sep.span, "join()'s separator must be a string literal");
                        }
                    }
                }
                Type::Void
            }
            Runtime::Signal => {
                self.require_unsafe(e, name);
                let provider = provider_of(self.rp).to_string();
                if matches!(
                    self.rp.kind,
                    ProbeKind::Begin
                        | ProbeKind::End
                        | ProbeKind::Interval { .. }
                        | ProbeKind::Software { .. }
                        | ProbeKind::Hardware { .. }
                        | ProbeKind::Watchpoint { .. } | ProbeKind::WatchFunc { .. }
                        | ProbeKind::Iter { .. }
                ) {
                    self.err(e.span, format!("signal can not be used with \"{provider}\" probes"));
                }
                if self.arity_ok(e, name, args, 1, 1) {
                    let a = &args[0];
                    let t = self.expr(a);
                    match &a.kind {
                        ExprKind::Str(s) if signal_number(s).is_none() => {
                            self.err(a.span, format!("unknown signal '{s}'"))
                        }
                        ExprKind::Int(n) if !(1..=64).contains(n) => {
                            self.err(a.span, format!("signal {n} is out of range (1 to 64)"))
                        }
                        ExprKind::Str(_) | ExprKind::Int(_) => {}
                        _ if !t.is_int() => self.err(a.span, format!("signal() needs a signal name or number, found {t}")),
                        _ => {}
                    }
                }
                Type::Void
            }
            Runtime::Unwatch => {
                if self.arity_ok(e, name, args, 1, 1) {
                    let t = self.expr(&args[0]);
                    if !t.is_scalar() {
                        self.err(args[0].span, format!("unwatch() needs an address (an integer or a pointer), found {t}"));
                    }
                }
                Type::Void
            }
            Runtime::Override => {
                self.require_unsafe(e, name);
                if !matches!(self.rp.kind, ProbeKind::Kprobe { ret: false, .. }) {
                    self.err(e.span, "override can only be used with kprobes.");
                }
                if self.arity_ok(e, name, args, 1, 1) {
                    self.rt_int_arg(name, &args[0]);
                }
                Type::Void
            }
            Runtime::Ntop => {
                if self.arity_ok(e, name, args, 1, 2) {
                    if args.len() == 2 {
                        self.rt_int_arg(name, &args[0]);
                    }
                    let Some(a) = args.last() else { return Type::Void };
                    let t = self.expr(a);
                    let ok = match &t {
                        Type::Int { .. } => true,
                        Type::Array { elem, count } => matches!(**elem, Type::Int { bits: 8, .. }) && (*count == 4 || *count == 16),
                        Type::Str { len } => *len == 4 || *len == 16,
                        _ => false,
                    };
                    if !ok {
                        self.err(a.span, format!("ntop() needs an integer, char[4] or char[16], found {t}"));
                    }
                }
                Type::Runtime(RuntimeTy::Inet)
            }
            Runtime::Pton => {
                let mut count = 4;
                if self.arity_ok(e, name, args, 1, 1) {
                    self.expr(&args[0]);
                    match string_literal(&args[0]).map(pton) {
                        Some(Some(bytes)) => count = bytes.len() as u32,
                        Some(None) => self.err(args[0].span, "pton() needs an IPv4 or IPv6 address"),
                        None => self.err(args[0].span, "pton() needs a string literal"),
                    }
                }
                Type::Array { elem: Box::new(Type::Int { bits: 8, signed: false }), count }
            }
            Runtime::Macaddr => {
                if self.arity_ok(e, name, args, 1, 1) {
                    let t = self.expr(&args[0]);
                    let ok = match &t {
                        Type::Ptr { .. } | Type::Int { bits: 64, .. } => true,
                        Type::Array { count, .. } => *count >= 6,
                        Type::Str { len } => *len >= 6,
                        _ => false,
                    };
                    if !ok {
                        self.err(args[0].span, format!("macaddr() needs a pointer or an array of 6 bytes, found {t}"));
                    }
                }
                Type::Runtime(RuntimeTy::MacAddr)
            }
            Runtime::CgroupPath => {
                let mut filter = None;
                if self.arity_ok(e, name, args, 1, 2) {
                    self.rt_int_arg(name, &args[0]);
                    if let Some(f) = args.get(1) {
                        self.expr(f);
                        match string_literal(f) {
                            Some(s) => filter = Some(s.to_string()),
                            None => self.err(f.span, "cgroup_path()'s filter must be a string literal"),
                        }
                    }
                }
                Type::Runtime(RuntimeTy::CgroupPath { filter })
            }
            Runtime::Strerror => {
                if self.arity_ok(e, name, args, 1, 1) {
                    self.rt_int_arg(name, &args[0]);
                }
                Type::Runtime(RuntimeTy::Strerror)
            }
            Runtime::Path => {
                if !matches!(self.rp.kind, ProbeKind::Kfunc { .. } | ProbeKind::Iter { .. }) {
                    self.err(e.span, "path() can only be used with kfunc, kretfunc (fentry, fexit) and iter probes");
                }
                if self.arity_ok(e, name, args, 1, 1) {
                    let t = self.expr(&args[0]);
                    // A struct path in kernel memory (the manual's `path(ctx->file->f_path)`)
                    // stands for its address, as in bpftrace.
                    let in_memory = matches!(
                        args[0].kind,
                        ExprKind::Arrow { .. } | ExprKind::Field { .. } | ExprKind::Index { .. }
                    );
                    let struct_path = matches!(&t, Type::Struct(s) if s.name == "path") && in_memory;
                    if !struct_path && !matches!(t, Type::Ptr { .. } | Type::Int { bits: 64, .. }) {
                        self.err(args[0].span, format!("path() needs a struct path pointer, found {t}"));
                    }
                }
                Type::Str { len: self.opts.strlen }
            }
            Runtime::Buf => {
                let mut size = self.opts.strlen;
                if self.arity_ok(e, name, args, 1, 2) {
                    let t = self.expr(&args[0]);
                    let ok = match (&t, args.get(1)) {
                        (Type::Array { elem, count }, None) => {
                            // The array's bytes as they are in memory.
                            size = count.saturating_mul(elem.c_size()).min(self.opts.strlen);
                            true
                        }
                        (Type::Str { len }, None) => {
                            size = *len;
                            true
                        }
                        (Type::Ptr { .. } | Type::Int { .. } | Type::Array { .. } | Type::Str { .. }, Some(len)) => {
                            let lt = self.expr(len);
                            if let ExprKind::Int(n) = len.kind {
                                size = u32::try_from(n).unwrap_or(u32::MAX).min(self.opts.strlen);
                            } else if !lt.is_int() {
                                self.err(len.span, format!("buf()'s length must be an integer, found {lt}"));
                            }
                            true
                        }
                        _ => false,
                    };
                    if !ok {
                        self.err(args[0].span, format!("buf() needs a pointer and a length, or an array, found {t}"));
                    }
                }
                Type::Runtime(RuntimeTy::Buf { size: size.max(1) })
            }
            Runtime::Ksym | Runtime::Usym => {
                if self.arity_ok(e, name, args, 1, 1) {
                    self.rt_int_arg(name, &args[0]);
                }
                Type::Runtime(if f == Runtime::Ksym { RuntimeTy::Ksym } else { RuntimeTy::Usym })
            }
            Runtime::Kstack | Runtime::Ustack => self.stack(e, f == Runtime::Kstack, args),
        }
    }
}

/// The bytes of an IPv4 or IPv6 address in text form.
pub fn pton(text: &str) -> Option<Vec<u8>> {
    if text.contains(':') {
        text.parse::<std::net::Ipv6Addr>().ok().map(|a| a.octets().to_vec())
    } else {
        text.parse::<std::net::Ipv4Addr>().ok().map(|a| a.octets().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGKILL"), Some(9));
        assert_eq!(signal_number("KILL"), Some(9));
        assert_eq!(signal_number("SIGUSR1"), Some(10));
        assert_eq!(signal_number("SIGSYS"), Some(31));
        assert_eq!(signal_number("NOPE"), None);
    }

    #[test]
    fn pton_both_families() {
        assert_eq!(pton("127.0.0.1"), Some(vec![127, 0, 0, 1]));
        assert_eq!(pton("::1").map(|b| b.len()), Some(16));
        assert_eq!(pton("nope"), None);
    }
}
