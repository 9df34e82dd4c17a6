//! Typing function calls. Each group of functions lives in its own `fn`; `call` dispatches.

use super::check::Checker;
use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::types::{AggKind, Type};
use super::format;

impl Checker<'_> {
    pub(crate) fn call(&mut self, e: &Expr, name: &str, name_span: Span, args: &[Expr]) -> Type {
        let arity = |cx: &mut Checker<'_>, min: usize, max: usize| {
            if args.len() < min || args.len() > max {
                let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
                cx.err(e.span, format!("{name}() takes {want} argument{}, got {}", if max == 1 { "" } else { "s" }, args.len()));
                return false;
            }
            true
        };
        match name {
            "printf" => {
                let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                if args.is_empty() {
                    self.err(e.span, "printf() needs a format string");
                    return Type::Void;
                }
                let ExprKind::Str(fmt) = &args[0].kind else {
                    self.err(args[0].span, "printf's first argument must be a string literal");
                    return Type::Void;
                };
                if let Err(msg) = format::check(fmt, &tys[1..]) {
                    self.err(args[0].span, msg);
                }
                Type::Void
            }
            "exit" => {
                arity(self, 0, 0);
                Type::Void
            }
            "count" => {
                arity(self, 0, 0);
                Type::Agg(AggKind::Count)
            }
            "sum" => {
                if arity(self, 1, 1) {
                    let t = self.expr(&args[0]);
                    if !t.is_int() {
                        self.err(args[0].span, format!("sum() needs an integer, found {t}"));
                    }
                }
                Type::Agg(AggKind::Sum)
            }
            "print" => {
                if arity(self, 1, 3) {
                    if !matches!(args[0].kind, ExprKind::Map { ref keys, .. } if keys.is_empty()) {
                        self.err(args[0].span, "print() of values other than whole maps is not supported yet");
                    } else if let ExprKind::Map { name: m, .. } = &args[0].kind {
                        if self.maps.get(m).is_none() && self.final_pass {
                            self.err(args[0].span, format!("undefined map: {m}"));
                        }
                    }
                    if args.len() > 1 {
                        self.err(args[1].span, "print() with top and div is not supported yet");
                    }
                }
                Type::Void
            }
            "str" => {
                if arity(self, 1, 2) {
                    let t = self.expr(&args[0]);
                    if !matches!(t, Type::Ptr { .. } | Type::Int { .. } | Type::Str { .. }) {
                        self.err(args[0].span, format!("str() needs a pointer, found {t}"));
                    }
                    if let Some(len) = args.get(1) {
                        let lt = self.expr(len);
                        if !lt.is_int() {
                            self.err(len.span, format!("str()'s length must be an integer, found {lt}"));
                        }
                    }
                    if let Type::Str { len } = t {
                        return Type::Str { len };
                    }
                }
                Type::Str { len: self.opts.strlen }
            }
            n if super::calls_runtime::FUNCTIONS.contains(&n) => self.runtime_call(e, n, name_span, args),
            _ => {
                for a in args {
                    self.expr(a);
                }
                if KNOWN_FUNCTIONS.contains(&name) {
                    self.err(name_span, format!("{name}() is not supported yet"));
                } else {
                    let mut d = Diagnostic::error(name_span, format!("unknown function '{name}'"));
                    let all: Vec<&str> = IMPLEMENTED_FUNCTIONS
                        .iter()
                        .chain(KNOWN_FUNCTIONS)
                        .chain(super::calls_runtime::FUNCTIONS)
                        .copied()
                        .collect();
                    if let Some(s) = crate::suggest::nearest(name, &all) {
                        d = d.with_hint(format!("did you mean '{s}'?"));
                    }
                    self.diags.push(d);
                }
                Type::Void
            }
        }
    }
}

const IMPLEMENTED_FUNCTIONS: &[&str] = &["printf", "exit", "count", "sum", "print", "str"];

/// Functions of the manual that are recognised but not implemented yet.
const KNOWN_FUNCTIONS: &[&str] = &[
    "avg", "min", "max", "stats", "hist", "lhist", "delete", "clear", "zero", "time", "strftime", "system", "cat",
    "join", "signal", "override", "ksym", "usym", "kaddr", "uaddr", "ntop", "pton", "reg", "buf", "sizeof",
    "cgroupid", "cgroup_path", "strerror", "strncmp", "strcontains", "path", "macaddr", "kptr", "uptr", "skboutput",
    "len", "unwatch", "bswap", "kstack", "ustack", "percpu_kaddr", "offsetof", "has_key", "debugf",
];
