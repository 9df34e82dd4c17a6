//! Typing function calls. `call` dispatches on the catalogue's group (`crate::catalogue`) to one
//! function per group (core here; map functions in `calls_maps.rs`; string functions in
//! `calls_strings.rs`; ...), each matching its group's functions exhaustively.

use super::check::Checker;
use super::format;
use crate::ast::*;
use crate::catalogue::{Core, Internal, NOT_IMPLEMENTED};
use crate::diag::{Diagnostic, Span};
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn call(&mut self, e: &Expr, name: &str, name_span: Span, func: Option<Func>, args: &[Expr]) -> Type {
        let Some(func) = func else {
            for a in args {
                self.expr(a);
            }
            self.unknown_function(name, name_span);
            return Type::Void;
        };
        match func {
            Func::Core(f) => self.call_core(e, f, args),
            Func::Map(f) => self.call_maps(e, f, args),
            Func::Text(f) => self.call_strings(e, f, args),
            Func::Addr(f) => self.addr_space(e, f, args),
            Func::Kernel(f) => self.call_builtins(e, f, args),
            Func::Runtime(f) => self.runtime_call(e, f, name_span, args),
            // Replaced by their values before checking (sema::consteval); one left is a value
            // the loader patches in.
            Func::Const(_) | Func::Internal(Internal::LoadValue) => Type::U64,
            Func::Skboutput => self.call_skb(e, args),
            Func::Bswap => self.call_bswap(e, args),
            // Reads of positional parameters (sema::positional): an i64 or a string slot.
            Func::Internal(Internal::ParamInt | Internal::ParamStr) => {
                args.iter().for_each(|a| drop(self.expr(a)));
                match args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Int(len)) => Type::Str { len: u32::try_from(*len).unwrap_or(self.opts.strlen) },
                    _ => Type::I64,
                }
            }
        }
    }

    fn unknown_function(&mut self, name: &str, name_span: Span) {
        if NOT_IMPLEMENTED.contains(&name) {
            self.err(name_span, format!("{name}() is not supported yet"));
            return;
        }
        let mut d = Diagnostic::error(name_span, format!("unknown function '{name}'"));
        let all: Vec<&str> = Func::names().collect();
        if let Some(s) = crate::suggest::nearest(name, &all) {
            d = d.with_hint(format!("did you mean '{s}'?"));
        }
        self.diags.push(d);
    }

    /// Checks the number of arguments; reports and returns false when it is wrong.
    pub(crate) fn arity(&mut self, e: &Expr, name: &str, args: &[Expr], min: usize, max: usize) -> bool {
        if args.len() >= min && args.len() <= max {
            return true;
        }
        let want = match (min, max) {
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) if b == a + 1 => format!("{a} or {b} arguments"),
            (a, b) => format!("{a} to {b} arguments"),
        };
        self.err(e.span, format!("{name}() takes {want}, got {}", args.len()));
        false
    }

    /// Types `e`, requiring an integer.
    pub(crate) fn int_arg(&mut self, func: &str, e: &Expr) -> Type {
        let t = self.expr(e);
        if !t.is_int() {
            self.err(e.span, format!("{func}() expects an integer here, found {t}"));
        }
        t
    }

    /// The value of an integer literal argument (allowing a leading minus), or an error.
    pub(crate) fn const_int_arg(&mut self, func: &str, what: &str, e: &Expr) -> Option<i64> {
        self.expr(e);
        let v = match &e.kind {
            ExprKind::Int(v) => i64::try_from(*v).ok(),
            ExprKind::Unary { op: UnaryOp::Neg, expr } => match expr.kind {
                ExprKind::Int(v) => i64::try_from(v).ok().map(|v| -v),
                _ => None,
            },
            _ => None,
        };
        if v.is_none() {
            self.err(e.span, format!("{func}(): {what} must be an integer literal"));
        }
        v
    }

    fn call_core(&mut self, e: &Expr, f: Core, args: &[Expr]) -> Type {
        let name = Func::Core(f).name();
        match f {
            Core::Printf => {
                let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
                if args.is_empty() {
                    self.err(e.span, "printf() needs a format string");
                    return Type::Void;
                }
                let ExprKind::Str(fmt) = &args[0].kind else {
                    self.err(args[0].span, "printf's first argument must be a string literal");
                    return Type::Void;
                };
                if args.len() > MAX_PRINTF_ARGS + 1 {
                    self.err(e.span, format!("printf() takes at most {MAX_PRINTF_ARGS} arguments after the format"));
                } else if let Err(msg) = format::check(fmt, &tys[1..]) {
                    self.err(args[0].span, msg);
                }
                self.check_iter_printf(fmt, args[0].span);
                Type::Void
            }
            Core::Reg => self.reg_call(e, args),
            Core::Exit => {
                self.arity(e, name, args, 0, 0);
                Type::Void
            }
            Core::Print => {
                if !self.arity(e, name, args, 1, 3) {
                    return Type::Void;
                }
                match &args[0].kind {
                    ExprKind::Map { name: m, keys } if keys.is_empty() => {
                        if self.maps.get(m).is_none() && self.final_pass {
                            self.err(args[0].span, format!("undefined map: {m}"));
                        }
                        self.set(&args[0], Type::Void);
                        for a in &args[1..] {
                            self.const_int_arg("print", "top and div", a);
                        }
                        let stats = matches!(self.maps.get(m).map(|s| &s.kind), Some(crate::sema::MapKind::Agg(crate::types::AggKind::Stats)));
                        if args.len() > 1 && stats && self.final_pass {
                            let msg = "print()'s top and div arguments are ignored when used on stats() maps.";
                            self.diags.push(Diagnostic::warning(e.span, msg));
                        }
                    }
                    _ => {
                        let t = self.expr(&args[0]);
                        if args.len() > 1 {
                            self.err(args[1].span, "print() takes top and div only for maps");
                        }
                        match t {
                            Type::Int { .. } | Type::Str { .. } | Type::Tuple(_) | Type::Ptr { .. } | Type::Runtime(_) => {}
                            Type::Struct(_) | Type::Array { .. } => {}
                            Type::Agg(_) => {}
                            other => self.err(args[0].span, format!("print() can't print a value of type {other}")),
                        }
                    }
                }
                Type::Void
            }
        }
    }
}

/// The most arguments printf takes after its format.
const MAX_PRINTF_ARGS: usize = 32;
