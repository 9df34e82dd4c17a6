//! Positional parameters: `$1`..`$N` and `$#` are compile-time constants, replaced in the AST
//! before checking.
//!
//! - `$N` is an integer: the parameter's value when it is a number (decimal, `0x` hex, or
//!   negative), 0 when fewer than N parameters are given. A parameter that isn't a number is an
//!   error unless the parameter is read with `str($N)`.
//! - `str($N)` is the parameter's text (`""` when not given), cut to fit a `BPFTRACE_STRLEN`
//!   buffer as every `str()` is (bpftrace reads it like a string in memory).
//! - `$#` is the number of parameters.
//! - `$N` in an attach point (`uprobe:$1:main`) is replaced by the parameter's text.

use crate::ast::*;
use crate::diag::{Diagnostics, Span};

/// Replaces every positional parameter of `prog` by its value.
pub fn substitute(prog: &mut Program, params: &[String], strlen: u32, diags: &mut Diagnostics) {
    let mut cx = Cx { params, strlen, next_id: prog.expr_count, diags };
    for probe in &mut prog.probes {
        for ap in &mut probe.attach {
            if let Some(raw) = cx.attach_point(&ap.raw, ap.span) {
                ap.raw = raw;
            }
        }
        if let Some(pred) = &mut probe.predicate {
            cx.expr(pred);
        }
        cx.block(&mut probe.body);
    }
    prog.expr_count = cx.next_id;
}

/// Parses a parameter as bpftrace does for `$N`: a decimal or `0x` hex integer, maybe negative.
pub fn numeric_value(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse::<u64>().ok()?,
        None => return None,
    };
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        Some(magnitude as i64)
    }
}

struct Cx<'a> {
    params: &'a [String],
    strlen: u32,
    next_id: u32,
    diags: &'a mut Diagnostics,
}

impl Cx<'_> {
    fn param(&self, n: u32) -> Option<&String> {
        usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| self.params.get(i))
    }

    fn attach_point(&mut self, raw: &str, span: Span) -> Option<String> {
        if !raw.contains('$') {
            return None;
        }
        let mut out = String::new();
        let mut rest = raw;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            let n: u32 = digits.parse().unwrap_or(0);
            match self.param(n) {
                Some(v) => out.push_str(v),
                None => self.diags.error(span, format!("positional parameter ${n} is not given")),
            }
            rest = &after[digits.len()..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn block(&mut self, b: &mut Block) {
        for s in &mut b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.block(then);
                if let Some(els) = els {
                    self.block(els);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            StmtKind::Unroll { count, body } => {
                self.expr(count);
                self.block(body);
            }
            StmtKind::For { map, body, .. } => {
                self.expr(map);
                self.block(body);
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }

    fn expr(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Positional(n) => {
                let n = *n;
                e.kind = match self.param(n) {
                    None => ExprKind::Int(0),
                    Some(text) => match numeric_value(text) {
                        Some(v) if v >= 0 => ExprKind::Int(v as u64),
                        Some(v) => {
                            let inner = Expr { id: self.fresh_id(), kind: ExprKind::Int(v.unsigned_abs()), span: e.span };
                            ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(inner) }
                        }
                        None => {
                            let msg = format!("${n} used numerically but given \"{text}\". Try using str(${n}).");
                            self.diags.error(e.span, msg);
                            ExprKind::Int(0)
                        }
                    },
                };
            }
            ExprKind::ParamCount => e.kind = ExprKind::Int(self.params.len() as u64),
            ExprKind::Call { name, args, .. } => {
                let is_str = name == "str";
                for (i, a) in args.iter_mut().enumerate() {
                    match a.kind {
                        ExprKind::Positional(n) if is_str && i == 0 => {
                            let mut text = self.param(n).cloned().unwrap_or_default();
                            let mut keep = (self.strlen as usize).saturating_sub(1).min(text.len());
                            while !text.is_char_boundary(keep) {
                                keep -= 1;
                            }
                            text.truncate(keep);
                            a.kind = ExprKind::Str(text);
                        }
                        _ => self.expr(a),
                    }
                }
            }
            ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Builtin(_) | ExprKind::Var(_) => {}
            ExprKind::SizeofType(_) | ExprKind::Offsetof { .. } => {}
            ExprKind::Map { keys, .. } => keys.iter_mut().for_each(|k| self.expr(k)),
            ExprKind::Tuple(elems) => elems.iter_mut().for_each(|x| self.expr(x)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Arrow { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr) => self.expr(expr),
            ExprKind::IncDec { target, .. } => self.expr(target),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Index { expr, index } => {
                self.expr(expr);
                self.expr(index);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
        }
    }

    fn fresh_id(&mut self) -> ExprId {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_bpftrace_reads_them() {
        assert_eq!(numeric_value("12"), Some(12));
        assert_eq!(numeric_value("0x10"), Some(16));
        assert_eq!(numeric_value("-5"), Some(-5));
        assert_eq!(numeric_value("abc"), None);
        assert_eq!(numeric_value(""), None);
        assert_eq!(numeric_value("1e3"), None);
    }

    fn run(src: &str, params: &[&str]) -> (Program, Diagnostics) {
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        let params: Vec<String> = params.iter().map(|s| s.to_string()).collect();
        substitute(&mut prog, &params, 64, &mut diags);
        (prog, diags)
    }

    #[test]
    fn parameters_become_constants() {
        let (prog, diags) = run("uprobe:$2:main { @a = $1; @b = str($2); @c = $3; @d = $#; }", &["-7", "/bin/sh"]);
        assert!(!diags.has_errors());
        assert_eq!(prog.probes[0].attach[0].raw, "uprobe:/bin/sh:main");
        let text = format!("{:?}", prog.probes[0].body);
        assert!(text.contains("op: Neg, expr: Expr { id: ExprId("), "{text}");
        assert!(text.contains("Str(\"/bin/sh\")"), "{text}");
        assert!(text.contains("Int(0)") && text.contains("Int(2)"), "{text}");
    }

    #[test]
    fn strings_are_cut_to_the_string_size() {
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse("BEGIN { @a = str($1); @b = str($2); }", &mut diags).unwrap_or_default();
        let params = vec!["abcdefghij".to_string(), "abcdéf".to_string()];
        substitute(&mut prog, &params, 6, &mut diags);
        let text = format!("{:?}", prog.probes[0].body);
        // Five bytes and the NUL; a character is never split.
        assert!(text.contains("Str(\"abcde\")") && text.contains("Str(\"abcd\")"), "{text}");
    }

    #[test]
    fn text_used_as_a_number_is_an_error() {
        let (_, diags) = run("BEGIN { @a = $1; }", &["abc"]);
        assert_eq!(
            diags.render("stdin", "BEGIN { @a = $1; }", false),
            "stdin:1:14: error: $1 used numerically but given \"abc\". Try using str($1).\nBEGIN { @a = $1; }\n             ^~\n"
        );
    }
}
