//! A walk over every span and expression id of a tree, to move imported code into its virtual
//! region, renumber its ids, and bring spans back to the script's text after checking.

use crate::ast::*;
use crate::diag::Span;

/// What to do with each span and each expression id.
pub struct Fix<'a> {
    pub span: &'a mut dyn FnMut(&mut Span),
    pub id: &'a mut dyn FnMut(&mut ExprId),
}

pub fn program(p: &mut Program, fx: &mut Fix<'_>) {
    for probe in &mut p.probes {
        self::probe(probe, fx);
    }
    for m in &mut p.macros {
        (fx.span)(&mut m.head);
        (fx.span)(&mut m.span);
        m.params.iter_mut().for_each(|q| (fx.span)(&mut q.span));
        block(&mut m.body, fx);
    }
    for d in &mut p.map_decls {
        (fx.span)(&mut d.span);
        (fx.span)(&mut d.name_span);
    }
    for i in &mut p.imports {
        (fx.span)(&mut i.span);
    }
    for c in &mut p.config {
        (fx.span)(&mut c.span);
    }
}

pub fn probe(p: &mut Probe, fx: &mut Fix<'_>) {
    (fx.span)(&mut p.span);
    p.attach.iter_mut().for_each(|a| (fx.span)(&mut a.span));
    if let Some(e) = &mut p.predicate {
        expr(e, fx);
    }
    block(&mut p.body, fx);
}

pub fn block(b: &mut Block, fx: &mut Fix<'_>) {
    (fx.span)(&mut b.span);
    for s in &mut b.stmts {
        stmt(s, fx);
    }
}

fn stmt(s: &mut Stmt, fx: &mut Fix<'_>) {
    (fx.span)(&mut s.span);
    match &mut s.kind {
        StmtKind::Expr(e) => expr(e, fx),
        StmtKind::Assign { target, value, .. } => {
            expr(target, fx);
            expr(value, fx);
        }
        StmtKind::If { cond, then, els } => {
            expr(cond, fx);
            block(then, fx);
            if let Some(els) = els {
                block(els, fx);
            }
        }
        StmtKind::While { cond, body } | StmtKind::Unroll { count: cond, body } => {
            expr(cond, fx);
            block(body, fx);
        }
        StmtKind::For { var_span, map, body, .. } => {
            (fx.span)(var_span);
            expr(map, fx);
            block(body, fx);
        }
        StmtKind::ForRange { var_span, start, end, body, .. } => {
            (fx.span)(var_span);
            expr(start, fx);
            expr(end, fx);
            block(body, fx);
        }
        StmtKind::Let { var_span, ty, value, .. } => {
            (fx.span)(var_span);
            if let Some(t) = ty {
                (fx.span)(&mut t.span);
            }
            if let Some(v) = value {
                expr(v, fx);
            }
        }
        StmtKind::Block(b) => block(b, fx),
        StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
    }
}

pub fn expr(e: &mut Expr, fx: &mut Fix<'_>) {
    (fx.span)(&mut e.span);
    (fx.id)(&mut e.id);
    match &mut e.kind {
        ExprKind::Call { args: xs, name_span, .. } => {
            (fx.span)(name_span);
            xs.iter_mut().for_each(|x| expr(x, fx));
        }
        ExprKind::Tuple(xs) | ExprKind::Map { keys: xs, .. } => xs.iter_mut().for_each(|x| expr(x, fx)),
        ExprKind::Field { expr: x, field_span, .. } | ExprKind::Arrow { expr: x, field_span, .. } => {
            (fx.span)(field_span);
            expr(x, fx);
        }
        ExprKind::Cast { ty, expr: x } => {
            (fx.span)(&mut ty.span);
            expr(x, fx);
        }
        ExprKind::Unary { expr: x, .. } | ExprKind::SizeofExpr(x) | ExprKind::IncDec { target: x, .. } => expr(x, fx),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
            expr(lhs, fx);
            expr(rhs, fx);
        }
        ExprKind::Ternary { cond, then, els } => {
            expr(cond, fx);
            expr(then, fx);
            expr(els, fx);
        }
        ExprKind::SizeofType(ty) | ExprKind::Offsetof { ty, .. } => (fx.span)(&mut ty.span),
        ExprKind::Block { block: b, value } => {
            block(b, fx);
            expr(value, fx);
        }
        ExprKind::Bool(_)
        | ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Builtin(_)
        | ExprKind::Var(_)
        | ExprKind::Positional(_)
        | ExprKind::ParamCount => {}
    }
}
