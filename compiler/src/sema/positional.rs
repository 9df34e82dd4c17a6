//! Positional parameters: `$1`..`$N` and `$#` are compile-time constants, replaced in the AST
//! before checking.
//!
//! - `$N` is an integer: the parameter's value when it is a number as C's `strtoll` reads it
//!   with base 0 (decimal, `0x` hex, `0` octal, maybe signed), 0 when fewer than N parameters
//!   are given. A parameter that isn't a number is an error unless the parameter is read with
//!   `str($N)`.
//! - `str($N)` is the parameter's text (`""` when not given), cut to fit a `BPFTRACE_STRLEN`
//!   buffer as every `str()` is (bpftrace reads it like a string in memory). In `str($N + K)`
//!   (or `str(K + $N)`) with a constant K, `$N` is the address of that text, so the string
//!   starts K bytes in.
//! - Where a function takes a string literal (`kaddr`, `uaddr`, `cgroupid`, `reg`, `signal`,
//!   `pton`), `str($N)` is that literal: the parameter's whole text.
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

/// Parses a parameter as bpftrace does for `$N` (`std::stoll` with base 0, which must use the
/// whole text): leading white space, an optional sign, then `0x` hex, `0` octal or decimal
/// digits, in the range of a signed 64-bit integer.
pub fn numeric_value(text: &str) -> Option<i64> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let hex = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X"));
    let (radix, digits) = match hex {
        // strtoll reads "0x" not followed by a hex digit as the number 0, leaving the "x".
        Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (16, h),
        _ if rest.len() > 1 && rest.starts_with('0') => (8, &rest[1..]),
        _ => (10, rest),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Functions whose argument must be a string literal; `str($N)` is one there.
const TAKES_LITERAL: &[&str] = &["kaddr", "uaddr", "cgroupid", "reg", "signal", "pton"];

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
                let takes_literal = TAKES_LITERAL.contains(&name.as_str());
                for (i, a) in args.iter_mut().enumerate() {
                    if is_str && i == 0 {
                        self.str_arg(a);
                        continue;
                    }
                    match &a.kind {
                        ExprKind::Call { name: inner, args: inner_args, .. } if takes_literal && inner == "str" => {
                            if let [Expr { kind: ExprKind::Positional(n), .. }] = inner_args.as_slice() {
                                a.kind = ExprKind::Str(self.param(*n).cloned().unwrap_or_default());
                                continue;
                            }
                            self.expr(a)
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

    /// The first argument of `str()`: `$N` is the parameter's text, `$N + K` and `K + $N` (K a
    /// constant) the text from byte K on. Other expressions are substituted as usual.
    fn str_arg(&mut self, a: &mut Expr) {
        let (n, skip) = match &mut a.kind {
            ExprKind::Positional(n) => (*n, 0),
            ExprKind::Binary { op, lhs, rhs } if is_positional(lhs) || is_positional(rhs) => {
                let (param, other) = if is_positional(lhs) { (lhs, rhs) } else { (rhs, lhs) };
                let ExprKind::Positional(n) = param.kind else { return };
                self.expr(other);
                match (op, &other.kind) {
                    (BinOp::Add, ExprKind::Int(k)) => (n, *k),
                    _ => {
                        let msg = "str() only accepts positional parameters directly or with a single constant offset added";
                        self.diags.error(a.span, msg);
                        return;
                    }
                }
            }
            _ => return self.expr(a),
        };
        let text = self.param(n).cloned().unwrap_or_default();
        // Past the end is the empty string (its NUL); a character is never split.
        let mut start = usize::try_from(skip).unwrap_or(usize::MAX).min(text.len());
        while !text.is_char_boundary(start) {
            start += 1;
        }
        let mut text = text[start..].to_string();
        let mut keep = (self.strlen as usize).saturating_sub(1).min(text.len());
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
        text.truncate(keep);
        a.kind = ExprKind::Str(text);
    }

    fn fresh_id(&mut self) -> ExprId {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        id
    }
}

fn is_positional(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Positional(_))
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
        // Octal and the other forms strtoll takes with base 0.
        assert_eq!(numeric_value("0775"), Some(0o775));
        assert_eq!(numeric_value("0"), Some(0));
        assert_eq!(numeric_value("-010"), Some(-8));
        assert_eq!(numeric_value("+7"), Some(7));
        assert_eq!(numeric_value("  0X1f"), Some(31));
        assert_eq!(numeric_value("08"), None);
        assert_eq!(numeric_value("0x"), None);
        assert_eq!(numeric_value("0xg"), None);
        assert_eq!(numeric_value("12 "), None);
        assert_eq!(numeric_value("-"), None);
        assert_eq!(numeric_value("9223372036854775807"), Some(i64::MAX));
        assert_eq!(numeric_value("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(numeric_value("9223372036854775808"), None);
    }

    #[test]
    fn str_of_a_parameter_plus_a_constant_starts_later() {
        let (prog, diags) = run("BEGIN { @a = str($1 + 1); @b = str(2 + $1); @c = str($1 + 9); @d = str($1 + $2); }", &["hello", "3"]);
        assert!(!diags.has_errors());
        let text = format!("{:?}", prog.probes[0].body);
        for want in ["Str(\"ello\")", "Str(\"llo\")", "Str(\"\")", "Str(\"lo\")"] {
            assert!(text.contains(want), "{want} in {text}");
        }
        let (_, diags) = run("BEGIN { @a = str($1 - 1); }", &["hello"]);
        assert!(diags.has_errors());
    }

    #[test]
    fn str_of_a_parameter_is_a_literal_where_one_is_needed() {
        let (prog, diags) = run("BEGIN { @a = kaddr(str($1)); @b = uaddr(str($2)); }", &["vfs_read", "main"]);
        assert!(!diags.has_errors());
        let text = format!("{:?}", prog.probes[0].body);
        assert!(text.contains("name: \"kaddr\"") && text.contains("args: [Expr { id: ExprId(") && text.contains("Str(\"vfs_read\")"), "{text}");
        assert!(!text.contains("name: \"str\""), "{text}");
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
