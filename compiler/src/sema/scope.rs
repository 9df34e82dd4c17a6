//! Variable scopes. bpftrace 0.20 has one scratch variable per name per probe; bpftrace 0.26
//! adds `let` declarations, which live to the end of their block, and loop variables, which live
//! in their loop. btc takes both: a name declared with `let` (or by a loop) in an open block
//! means that declaration; any other name means the probe's variable of that name, as in 0.20
//! (so `if (c) { $x = 1; } print($x);` keeps working). Declarations get a variable of their
//! own: this pass renames each one that would otherwise share a name to `name#N` (messages
//! show `$name`), so the later passes see one variable per name, as before.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use std::collections::{HashMap, HashSet};

/// How a name is bound in a block.
#[derive(Clone)]
struct Binding {
    slot: String,
    /// Declared with `let` (or a loop's variable), and where.
    declared: Option<Span>,
}

#[derive(Default)]
struct Scopes {
    open: Vec<HashMap<String, Binding>>,
    /// The probe-wide variable of each name used without a declaration.
    implicit: HashMap<String, String>,
    taken: HashSet<String>,
}

/// Renames the variables of every probe so each declaration has its own.
pub fn resolve(prog: &mut Program, diags: &mut Diagnostics) {
    for probe in &mut prog.probes {
        let mut s = Scopes::default();
        if let Some(p) = &mut probe.predicate {
            s.open.push(HashMap::new());
            s.expr(p, diags);
            s.open.pop();
        }
        s.block(&mut probe.body, diags);
    }
}

impl Scopes {
    fn fresh(&mut self, name: &str) -> String {
        let mut slot = name.to_string();
        let mut n = 1;
        while self.taken.contains(&slot) {
            slot = format!("{name}#{n}");
            n += 1;
        }
        self.taken.insert(slot.clone());
        slot
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.open.iter().rev().find_map(|s| s.get(name))
    }

    /// The variable a use of `$name` means.
    fn use_var(&mut self, name: &mut String) {
        if let Some(b) = self.lookup(name) {
            *name = b.slot.clone();
            return;
        }
        let slot = match self.implicit.get(name.as_str()) {
            Some(s) => s.clone(),
            None => {
                let s = self.fresh(name);
                self.implicit.insert(name.clone(), s.clone());
                s
            }
        };
        if let Some(top) = self.open.last_mut() {
            top.insert(name.clone(), Binding { slot: slot.clone(), declared: None });
        }
        *name = slot;
    }

    /// `let $name` (or a loop variable, `checked` false): a new variable in the current block.
    fn declare(&mut self, name: &mut String, span: Span, checked: bool, diags: &mut Diagnostics) {
        if checked {
            match self.lookup(name).map(|b| b.declared) {
                Some(Some(first)) => {
                    let msg = format!("variable ${name} was already declared: variable shadowing is not allowed");
                    diags.push(Diagnostic::error(span, msg).with_note(first, "the first declaration"));
                }
                Some(None) => diags.error(
                    span,
                    format!("variable declarations need to occur before variable usage or assignment: ${name}"),
                ),
                None => {}
            }
        }
        let slot = self.fresh(name);
        if let Some(top) = self.open.last_mut() {
            top.insert(name.clone(), Binding { slot: slot.clone(), declared: Some(span) });
        }
        *name = slot;
    }

    fn block(&mut self, b: &mut Block, diags: &mut Diagnostics) {
        self.open.push(HashMap::new());
        self.stmts(b, diags);
        self.open.pop();
    }

    fn stmts(&mut self, b: &mut Block, diags: &mut Diagnostics) {
        for s in &mut b.stmts {
            match &mut s.kind {
                StmtKind::Expr(e) => self.expr(e, diags),
                StmtKind::Assign { target, value, .. } => {
                    self.expr(value, diags);
                    self.expr(target, diags);
                }
                StmtKind::If { cond, then, els } => {
                    self.expr(cond, diags);
                    self.block(then, diags);
                    if let Some(els) = els {
                        self.block(els, diags);
                    }
                }
                StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
                    self.expr(cond, diags);
                    self.block(body, diags);
                }
                StmtKind::For { var, var_span, map, body } => {
                    self.expr(map, diags);
                    self.loop_body(var, *var_span, body, diags);
                }
                StmtKind::ForRange { var, var_span, start, end, body } => {
                    self.expr(start, diags);
                    self.expr(end, diags);
                    self.loop_body(var, *var_span, body, diags);
                }
                StmtKind::Let { var, var_span, value, .. } => {
                    if let Some(v) = value {
                        self.expr(v, diags);
                    }
                    self.declare(var, *var_span, true, diags);
                }
                StmtKind::Block(b) => self.block(b, diags),
                StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
            }
        }
    }

    /// A loop's body, in a block of its own that holds the loop variable.
    fn loop_body(&mut self, var: &mut String, span: Span, body: &mut Block, diags: &mut Diagnostics) {
        self.open.push(HashMap::new());
        self.declare(var, span, false, diags);
        self.block(body, diags);
        self.open.pop();
    }

    fn expr(&mut self, e: &mut Expr, diags: &mut Diagnostics) {
        match &mut e.kind {
            ExprKind::Var(name) => self.use_var(name),
            ExprKind::Block { block, value } => {
                self.open.push(HashMap::new());
                self.stmts(block, diags);
                self.expr(value, diags);
                self.open.pop();
            }
            ExprKind::Call { args: xs, .. } | ExprKind::Tuple(xs) | ExprKind::Map { keys: xs, .. } => {
                xs.iter_mut().for_each(|x| self.expr(x, diags))
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Arrow { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr)
            | ExprKind::IncDec { target: expr, .. } => self.expr(expr, diags),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
                self.expr(lhs, diags);
                self.expr(rhs, diags);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond, diags);
                self.expr(then, diags);
                self.expr(els, diags);
            }
            ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_)
            | ExprKind::Builtin(_)
            | ExprKind::Positional(_)
            | ExprKind::ParamCount
            | ExprKind::SizeofType(_)
            | ExprKind::Offsetof { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(src: &str) -> (String, String) {
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        resolve(&mut prog, &mut diags);
        let mut names = Vec::new();
        visit_block(&prog.probes[0].body, &mut |e| {
            if let ExprKind::Var(v) = &e.kind {
                names.push(v.clone());
            }
        });
        (names.join(" "), diags.render("stdin", src, false))
    }

    #[test]
    fn probe_wide_variables_stay_one_per_name() {
        // bpftrace 0.20: a variable assigned in a block is the probe's.
        let (names, errs) = resolved("BEGIN { if (1) { $x = 1; } print($x); }");
        assert_eq!((names.as_str(), errs.as_str()), ("x x", ""));
    }

    #[test]
    fn declarations_get_their_own_variable() {
        let (names, errs) =
            resolved("BEGIN { if (1) { $x = 1; } let $x; print($x); if (1) { let $y = 2; } $y = 3; for ($i : 0..2) { } $i = 1; }");
        assert_eq!(names, "x x#1 y#1 i#1");
        assert_eq!(errs, "");
    }

    #[test]
    fn shadowing_and_late_declarations_are_errors() {
        let (_, errs) = resolved("BEGIN { let $x = 1; if (1) { let $x = 2; } }");
        assert!(errs.contains("stdin:1:34: error: variable $x was already declared"), "{errs}");
        let (_, errs) = resolved("BEGIN { $y = 1; let $y = 2; }");
        assert!(errs.contains("variable declarations need to occur before variable usage or assignment: $y"), "{errs}");
    }
}
