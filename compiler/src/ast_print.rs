//! The typed AST as text (`btc compile --emit=ast`): one node per line, indented by depth, with
//! the type the checker gave each expression (of the first attach point of each probe).

use crate::ast::*;
use crate::sema::{Analysis, Instance};
use std::fmt::Write as _;

/// Renders the program with the types from `analysis`.
pub fn print(prog: &Program, analysis: &Analysis) -> String {
    let mut p = Printer { out: String::new(), inst: None };
    for item in &prog.preamble {
        p.line(0, &format!("preamble {:?}", item.text));
    }
    for c in &prog.config {
        p.line(0, &format!("config {} = {:?}", c.key, c.value));
    }
    for (i, probe) in prog.probes.iter().enumerate() {
        p.inst = analysis.instances.iter().find(|inst| inst.probe.probe == i);
        let names: Vec<&str> = probe.attach.iter().map(|a| a.raw.as_str()).collect();
        p.line(0, &format!("probe {}", names.join(", ")));
        if let Some(inst) = p.inst {
            let mut vars: Vec<_> = inst.vars.iter().collect();
            vars.sort_by(|a, b| a.0.cmp(b.0));
            for (v, t) in vars {
                p.line(1, &format!("var ${v} :: {t}"));
            }
        }
        if let Some(pred) = &probe.predicate {
            p.line(1, "predicate");
            p.expr(2, pred);
        }
        p.block(1, &probe.body);
    }
    for m in &analysis.maps {
        let key = m.key.as_ref().map_or("-".to_string(), |k| k.to_string());
        p.line(0, &format!("map {} [{key}] :: {}", m.name, m.value_type()));
    }
    p.out
}

struct Printer<'a> {
    out: String,
    inst: Option<&'a Instance>,
}

impl Printer<'_> {
    fn line(&mut self, depth: usize, text: &str) {
        let _ = writeln!(self.out, "{}{text}", "  ".repeat(depth));
    }

    fn block(&mut self, depth: usize, b: &Block) {
        for s in &b.stmts {
            self.stmt(depth, s);
        }
    }

    fn stmt(&mut self, d: usize, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(d, e),
            StmtKind::Assign { target, op, value } => {
                let op = op.map_or("=".to_string(), |o| format!("{}=", o.symbol()));
                self.line(d, &format!("assign {op}"));
                self.expr(d + 1, target);
                self.expr(d + 1, value);
            }
            StmtKind::If { cond, then, els } => {
                self.line(d, "if");
                self.expr(d + 1, cond);
                self.line(d, "then");
                self.block(d + 1, then);
                if let Some(els) = els {
                    self.line(d, "else");
                    self.block(d + 1, els);
                }
            }
            StmtKind::While { cond, body } => {
                self.line(d, "while");
                self.expr(d + 1, cond);
                self.line(d, "do");
                self.block(d + 1, body);
            }
            StmtKind::Unroll { count, body } => {
                self.line(d, "unroll");
                self.expr(d + 1, count);
                self.line(d, "do");
                self.block(d + 1, body);
            }
            StmtKind::For { var, map, body, .. } => {
                self.line(d, &format!("for ${var} in"));
                self.expr(d + 1, map);
                self.line(d, "do");
                self.block(d + 1, body);
            }
            StmtKind::ForRange { var, start, end, body, .. } => {
                self.line(d, &format!("for ${var} in range"));
                self.expr(d + 1, start);
                self.expr(d + 1, end);
                self.line(d, "do");
                self.block(d + 1, body);
            }
            StmtKind::Let { var, ty, value, .. } => {
                let ty = ty.as_ref().map(|t| format!(": {}", type_name(t))).unwrap_or_default();
                self.line(d, &format!("let ${var}{ty}"));
                if let Some(v) = value {
                    self.expr(d + 1, v);
                }
            }
            StmtKind::Block(b) => {
                self.line(d, "block");
                self.block(d + 1, b);
            }
            StmtKind::Break => self.line(d, "break"),
            StmtKind::Continue => self.line(d, "continue"),
            StmtKind::Return => self.line(d, "return"),
        }
    }

    fn expr(&mut self, d: usize, e: &Expr) {
        let ty = self.inst.map(|i| i.ty(e).to_string()).unwrap_or_else(|| "?".to_string());
        let head = match &e.kind {
            ExprKind::Int(v) => format!("int {v}"),
            ExprKind::Bool(v) => format!("bool {v}"),
            ExprKind::Block { .. } => "block".to_string(),
            ExprKind::Str(s) => format!("string {s:?}"),
            ExprKind::Builtin(b) => format!("builtin {b}"),
            ExprKind::Var(v) => format!("variable ${v}"),
            ExprKind::Positional(n) => format!("positional ${n}"),
            ExprKind::ParamCount => "positional $#".to_string(),
            ExprKind::Map { name, .. } => format!("map {name}"),
            ExprKind::Call { name, .. } => format!("call {name}"),
            ExprKind::Unary { op, .. } => format!("unary {op:?}"),
            ExprKind::Binary { op, .. } => format!("binop {}", op.symbol()),
            ExprKind::Ternary { .. } => "ternary".to_string(),
            ExprKind::Field { field, .. } => format!("field .{field}"),
            ExprKind::Arrow { field, .. } => format!("field ->{field}"),
            ExprKind::Index { .. } => "index".to_string(),
            ExprKind::Tuple(_) => "tuple".to_string(),
            ExprKind::Cast { ty, .. } => format!("cast {}", type_name(ty)),
            ExprKind::IncDec { increment, prefix, .. } => {
                let op = if *increment { "++" } else { "--" };
                if *prefix { format!("pre {op}") } else { format!("post {op}") }
            }
            ExprKind::SizeofType(t) => format!("sizeof {}", type_name(t)),
            ExprKind::SizeofExpr(_) => "sizeof".to_string(),
            ExprKind::Offsetof { ty, fields } => format!("offsetof {} {}", type_name(ty), fields.join(".")),
        };
        self.line(d, &format!("{head} :: {ty}"));
        match &e.kind {
            ExprKind::Map { keys, .. } => keys.iter().for_each(|k| self.expr(d + 1, k)),
            ExprKind::Call { args, .. } => args.iter().for_each(|a| self.expr(d + 1, a)),
            ExprKind::Tuple(items) => items.iter().for_each(|a| self.expr(d + 1, a)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Arrow { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr)
            | ExprKind::IncDec { target: expr, .. } => self.expr(d + 1, expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(d + 1, lhs);
                self.expr(d + 1, rhs);
            }
            ExprKind::Index { expr, index } => {
                self.expr(d + 1, expr);
                self.expr(d + 1, index);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(d + 1, cond);
                self.expr(d + 1, then);
                self.expr(d + 1, els);
            }
            ExprKind::Block { block, value } => {
                self.block(d + 1, block);
                self.expr(d + 1, value);
            }
            _ => {}
        }
    }
}

fn type_name(t: &TypeName) -> String {
    let mut s = match &t.keyword {
        Some(k) => format!("{k} {}", t.name),
        None => t.name.clone(),
    };
    if let Some(n) = t.array {
        let _ = write!(s, "[{n}]");
    }
    for _ in 0..t.pointers {
        s.push('*');
    }
    s
}
