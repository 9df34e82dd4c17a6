//! Typing string functions: str, strncmp, strcontains.

use super::check::Checker;
use crate::ast::*;
use crate::catalogue::Text;
use crate::types::Type;

impl Checker<'_> {
    pub(crate) fn call_strings(&mut self, e: &Expr, f: Text, args: &[Expr]) -> Type {
        let name = Func::Text(f).name();
        match f {
            Text::Str => {
                if !self.arity(e, name, args, 1, 2) {
                    return Type::Str { len: self.opts.strlen };
                }
                let t = self.expr(&args[0]);
                if !matches!(t, Type::Ptr { .. } | Type::Int { .. } | Type::Str { .. }) {
                    self.err(args[0].span, format!("str() expects a pointer, found {t}"));
                }
                if let Some(len) = args.get(1) {
                    self.int_arg(name, len);
                }
                if let Type::Str { len } = t {
                    return Type::Str { len };
                }
                Type::Str { len: self.opts.strlen }
            }
            Text::Strncmp => {
                if self.arity(e, name, args, 3, 3) {
                    for a in &args[..2] {
                        let t = self.expr(a);
                        if !matches!(t, Type::Str { .. }) {
                            self.err(a.span, format!("strncmp() expects strings, found {t}"));
                        }
                    }
                    // A positional parameter the compile doesn't have is read when the object
                    // runs; the comparison stops there.
                    if crate::sema::positional::is_param_read(&args[2]) {
                        self.expr(&args[2]);
                    } else {
                        self.const_int_arg(name, "the length", &args[2]);
                    }
                }
                Type::U64
            }
            Text::Strcontains => {
                if self.arity(e, name, args, 2, 2) {
                    for a in args {
                        let t = self.expr(a);
                        if !matches!(t, Type::Str { .. }) {
                            self.err(a.span, format!("strcontains() expects strings, found {t}"));
                        }
                    }
                }
                Type::U64
            }
        }
    }
}
