//! Imports and hygienic macros (bpftrace 0.26), expanded AST to AST before any check, so the
//! passes after it never see an `import`, a macro definition or a macro call.
//!
//! A call `m(args)` is replaced by a copy of the body of the definition of `m` whose parameters
//! match the arguments: `$x` takes a variable (the body's `$x` becomes it), `@x` a map (the
//! body's `@x` becomes it), `x` any expression (copied wherever the body names `x`, so it is
//! evaluated there each time). The body's other variables are renamed per call so they never
//! meet the caller's; a map the body names without taking it as a parameter is an error. As a
//! statement, the call becomes the body as a block. As an expression, its value is the body's
//! last expression (written without `;`); the statements before it are placed before the
//! statement holding the call, which is why such macros can't be called where evaluation is
//! conditional (a predicate, a `while` condition, an operand of `&&`, `||` or `?:`).
//!
//! Copied code keeps where it was written through virtual spans ([`origins`]).

pub mod imports;
pub mod origins;
pub mod walk;

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use origins::{OriginKind, Origins};
use std::collections::HashMap;

/// Deepest chain of macro calls expanded (each level recurses).
const MAX_DEPTH: usize = 64;

/// Most expressions expansion may build: macros whose bodies use an argument several times
/// grow exponentially with nesting, and must end in an error rather than exhaust memory.
const MAX_NODES: u32 = 1 << 20;

/// Resolves the imports of `prog` (relative to `dir`), then expands every macro call.
/// Returns where copied code came from, for diagnostics and for [`real_spans`].
pub fn expand(prog: &mut Program, dir: &std::path::Path, diags: &mut Diagnostics) -> Origins {
    let mut origins = Origins::default();
    imports::resolve(prog, dir, &mut origins, diags);
    if prog.macros.is_empty() {
        return origins;
    }
    let macros = std::mem::take(&mut prog.macros);
    let mut x = Expander { defs: HashMap::new(), origins: &mut origins, diags, next_id: 0, calls: 0, stack: Vec::new(), too_big: false };
    x.collect(&macros);
    let top = Env::top();
    let mut probes = std::mem::take(&mut prog.probes);
    for p in &mut probes {
        if let Some(pred) = &p.predicate {
            p.predicate = Some(x.expr(pred, &top, None));
        }
        p.body = x.block(&p.body, &top);
    }
    prog.probes = probes;
    // Every expression was rebuilt with a new id.
    prog.expr_count = x.next_id;
    prog.macros = macros;
    origins
}

/// After checking: every span of the program back in the script's text (for code generation,
/// which reads lines and columns from it).
pub fn real_spans(prog: &mut Program, origins: &Origins) {
    if origins.items.is_empty() {
        return;
    }
    let mut span = |s: &mut Span| *s = origins.real(*s);
    let mut id = |_: &mut ExprId| {};
    walk::program(prog, &mut walk::Fix { span: &mut span, id: &mut id });
}

/// Kind of an argument, as parameters want them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    Var,
    Map,
    Expr,
}

fn arg_kind(e: &Expr) -> ArgKind {
    match &e.kind {
        ExprKind::Var(_) => ArgKind::Var,
        ExprKind::Map { keys, .. } if keys.is_empty() => ArgKind::Map,
        _ => ArgKind::Expr,
    }
}

fn accepts(p: MacroParamKind, a: ArgKind) -> bool {
    match p {
        MacroParamKind::Var => a == ArgKind::Var,
        MacroParamKind::Map => a == ArgKind::Map,
        MacroParamKind::Ident => true,
    }
}

fn kind_word(a: ArgKind) -> &'static str {
    match a {
        ArgKind::Var => "a variable",
        ArgKind::Map => "a map",
        ArgKind::Expr => "an expression",
    }
}

fn param_word(p: MacroParamKind) -> &'static str {
    match p {
        MacroParamKind::Var => "a variable",
        MacroParamKind::Map => "a map",
        MacroParamKind::Ident => "an expression",
    }
}

/// What names mean inside the body being copied.
struct Env {
    /// The macro being expanded; `None` at the top of a probe.
    name: Option<String>,
    vars: HashMap<String, String>,
    maps: HashMap<String, String>,
    idents: HashMap<String, Expr>,
    /// Suffix of the body's own variables in this copy.
    suffix: String,
    /// Spans inside `[from, from + len]` move to `base + (span - from)`.
    from: u32,
    len: u32,
    base: Option<u32>,
}

impl Env {
    fn top() -> Env {
        Env {
            name: None,
            vars: HashMap::new(),
            maps: HashMap::new(),
            idents: HashMap::new(),
            suffix: String::new(),
            from: 0,
            len: 0,
            base: None,
        }
    }

    fn span(&self, s: Span) -> Span {
        match self.base {
            Some(b) if s.start >= self.from && s.end <= self.from.saturating_add(self.len) => {
                Span { start: b + (s.start - self.from), end: b + (s.end - self.from) }
            }
            _ => s,
        }
    }

    fn var(&self, name: &str) -> String {
        match (&self.name, self.vars.get(name)) {
            (_, Some(v)) => v.clone(),
            (Some(_), None) => format!("{name}#{}", self.suffix),
            (None, None) => name.to_string(),
        }
    }
}

struct Expander<'a> {
    defs: HashMap<String, Vec<MacroDef>>,
    origins: &'a mut Origins,
    diags: &'a mut Diagnostics,
    next_id: u32,
    calls: u32,
    stack: Vec<String>,
    too_big: bool,
}

impl Expander<'_> {
    fn collect(&mut self, macros: &[MacroDef]) {
        for m in macros {
            let mut ok = true;
            for (i, p) in m.params.iter().enumerate() {
                if m.params[..i].iter().any(|q| q.name == p.name) {
                    let what = match p.kind {
                        MacroParamKind::Var => "Variable",
                        MacroParamKind::Map => "Map",
                        MacroParamKind::Ident => "Ident",
                    };
                    self.diags.error(p.span, format!("{what} for macro argument has already been used: {}", p.name));
                    ok = false;
                } else if p.kind == MacroParamKind::Ident && crate::sema::builtins::is_builtin_name(&p.name) {
                    self.diags.error(p.span, format!("syntax: builtin '{}' can't be used as a macro argument", p.name));
                    ok = false;
                }
            }
            let same = |d: &MacroDef| {
                d.params.len() == m.params.len() && d.params.iter().zip(&m.params).all(|(a, b)| a.kind == b.kind)
            };
            if self.defs.get(&m.name).is_some_and(|ds| ds.iter().any(same)) {
                self.diags.error(m.head, format!("Redefinition of macro: {}", m.name));
                ok = false;
            }
            if ok {
                self.defs.entry(m.name.clone()).or_default().push(m.clone());
            }
        }
    }

    /// Whether a call of `name` with `n` arguments is a macro call: a definition takes `n`
    /// arguments, or there are definitions and no builtin or function has the name (then
    /// the call is an error). A macro overrides a builtin or function only with the same arity.
    fn expands(&self, name: &str, n: usize) -> bool {
        let Some(defs) = self.defs.get(name) else { return false };
        defs.iter().any(|d| d.params.len() == n)
            || !(crate::sema::builtins::is_builtin_name(name) || crate::catalogue::Func::from_name(name).is_some())
    }

    fn id(&mut self) -> ExprId {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        id
    }

    fn node(&mut self, kind: ExprKind, span: Span) -> Expr {
        Expr { id: self.id(), kind, span }
    }

    fn block(&mut self, b: &Block, env: &Env) -> Block {
        let mut stmts = Vec::new();
        for s in &b.stmts {
            self.stmt(s, env, &mut stmts);
        }
        Block { stmts, span: env.span(b.span) }
    }

    fn stmt(&mut self, s: &Stmt, env: &Env, out: &mut Vec<Stmt>) {
        let span = env.span(s.span);
        let kind = match &s.kind {
            StmtKind::Expr(e) => {
                if let Some(b) = self.statement_call(e, env, out) {
                    // A call that failed (reported) leaves nothing.
                    if let Some(b) = b {
                        out.push(Stmt { kind: StmtKind::Block(b), span: env.span(e.span) });
                    }
                    return;
                }
                StmtKind::Expr(self.expr(e, env, Some(out)))
            }
            StmtKind::Assign { target, op, value } => {
                let value = self.expr(value, env, Some(out));
                let target = self.expr(target, env, Some(out));
                StmtKind::Assign { target, op: *op, value }
            }
            StmtKind::If { cond, then, els } => StmtKind::If {
                cond: self.expr(cond, env, Some(out)),
                then: self.block(then, env),
                els: els.as_ref().map(|b| self.block(b, env)),
            },
            StmtKind::While { cond, body } => {
                StmtKind::While { cond: self.expr(cond, env, None), body: self.block(body, env) }
            }
            StmtKind::Unroll { count, body } => {
                StmtKind::Unroll { count: self.expr(count, env, Some(out)), body: self.block(body, env) }
            }
            StmtKind::For { var, var_span, map, body } => StmtKind::For {
                var: env.var(var),
                var_span: env.span(*var_span),
                map: self.expr(map, env, Some(out)),
                body: self.block(body, env),
            },
            StmtKind::ForRange { var, var_span, start, end, body } => StmtKind::ForRange {
                var: env.var(var),
                var_span: env.span(*var_span),
                start: self.expr(start, env, Some(out)),
                end: self.expr(end, env, Some(out)),
                body: self.block(body, env),
            },
            StmtKind::Let { var, var_span, ty, value } => StmtKind::Let {
                var: env.var(var),
                var_span: env.span(*var_span),
                ty: ty.clone().map(|mut t| {
                    t.span = env.span(t.span);
                    t
                }),
                value: value.as_ref().map(|v| self.expr(v, env, Some(out))),
            },
            StmtKind::Block(b) => StmtKind::Block(self.block(b, env)),
            StmtKind::Break => StmtKind::Break,
            StmtKind::Continue => StmtKind::Continue,
            StmtKind::Return => StmtKind::Return,
        };
        out.push(Stmt { kind, span });
    }

    /// A macro call written as a statement, expanded to its body (`Some(None)` when it is a
    /// macro call that can't be expanded; `None` when it is no macro call).
    fn statement_call(&mut self, e: &Expr, env: &Env, out: &mut Vec<Stmt>) -> Option<Option<Block>> {
        let (name, args): (&str, &[Expr]) = match &e.kind {
            ExprKind::Call { name, args, .. } => (name, args),
            ExprKind::Builtin(name) if !env.idents.contains_key(name) => (name, &[]),
            _ => return None,
        };
        if !self.expands(name, args.len()) {
            return None;
        }
        let args: Vec<Expr> = args.iter().map(|a| self.expr(a, env, Some(out))).collect();
        Some(self.call(name, args, env.span(e.span)).map(|(b, _)| b))
    }

    /// Copies `e` into `env`. Macro calls in it are expanded; statements of their bodies go to
    /// `pre` (before the statement holding `e`), or are refused where there is no such place.
    fn expr(&mut self, e: &Expr, env: &Env, mut pre: Option<&mut Vec<Stmt>>) -> Expr {
        let span = env.span(e.span);
        let kind = match &e.kind {
            ExprKind::Var(name) => ExprKind::Var(env.var(name)),
            ExprKind::Map { name, keys } => {
                let name = match (&env.name, env.maps.get(name)) {
                    (_, Some(m)) => m.clone(),
                    (Some(_), None) => {
                        self.diags.error(
                            span,
                            format!("Unhygienic access to map: {name}. Maps must be passed into the macro as arguments"),
                        );
                        name.clone()
                    }
                    (None, None) => name.clone(),
                };
                let keys = keys.iter().map(|k| self.expr(k, env, pre.as_deref_mut())).collect();
                ExprKind::Map { name, keys }
            }
            ExprKind::Builtin(name) => {
                if let Some(arg) = env.idents.get(name) {
                    return self.renumber(arg);
                }
                if self.expands(name, 0) {
                    return self.value_call(name, Vec::new(), span, pre);
                }
                ExprKind::Builtin(name.clone())
            }
            ExprKind::Call { name, name_span, func, args } => {
                let args: Vec<Expr> = args.iter().map(|a| self.expr(a, env, pre.as_deref_mut())).collect();
                if self.expands(name, args.len()) {
                    return self.value_call(name, args, span, pre);
                }
                ExprKind::Call { name: name.clone(), name_span: env.span(*name_span), func: *func, args }
            }
            ExprKind::Tuple(xs) => ExprKind::Tuple(xs.iter().map(|x| self.expr(x, env, pre.as_deref_mut())).collect()),
            ExprKind::Unary { op, expr } => ExprKind::Unary { op: *op, expr: Box::new(self.expr(expr, env, pre)) },
            ExprKind::Binary { op, lhs, rhs } => {
                let lhs = Box::new(self.expr(lhs, env, pre.as_deref_mut()));
                // The right operand of `&&` and `||` may not run.
                let rhs_pre = if matches!(op, BinOp::And | BinOp::Or) { None } else { pre };
                ExprKind::Binary { op: *op, lhs, rhs: Box::new(self.expr(rhs, env, rhs_pre)) }
            }
            ExprKind::Ternary { cond, then, els } => ExprKind::Ternary {
                cond: Box::new(self.expr(cond, env, pre)),
                then: Box::new(self.expr(then, env, None)),
                els: Box::new(self.expr(els, env, None)),
            },
            ExprKind::Field { expr, field, field_span } => ExprKind::Field {
                expr: Box::new(self.expr(expr, env, pre)),
                field: field.clone(),
                field_span: env.span(*field_span),
            },
            ExprKind::Arrow { expr, field, field_span } => ExprKind::Arrow {
                expr: Box::new(self.expr(expr, env, pre)),
                field: field.clone(),
                field_span: env.span(*field_span),
            },
            ExprKind::Index { expr, index } => {
                let expr = Box::new(self.expr(expr, env, pre.as_deref_mut()));
                ExprKind::Index { expr, index: Box::new(self.expr(index, env, pre)) }
            }
            ExprKind::Cast { ty, expr } => {
                let ty = TypeName { span: env.span(ty.span), ..ty.clone() };
                ExprKind::Cast { ty, expr: Box::new(self.expr(expr, env, pre)) }
            }
            ExprKind::IncDec { target, increment, prefix } => ExprKind::IncDec {
                target: Box::new(self.expr(target, env, pre)),
                increment: *increment,
                prefix: *prefix,
            },
            ExprKind::SizeofType(ty) => ExprKind::SizeofType(TypeName { span: env.span(ty.span), ..ty.clone() }),
            ExprKind::SizeofExpr(x) => ExprKind::SizeofExpr(Box::new(self.expr(x, env, pre))),
            ExprKind::Offsetof { ty, fields } => {
                ExprKind::Offsetof { ty: TypeName { span: env.span(ty.span), ..ty.clone() }, fields: fields.clone() }
            }
            ExprKind::Block { block, value } => {
                // Statements a macro call in the value needs go at the end of the block.
                let mut block = self.block(block, env);
                let value = Box::new(self.expr(value, env, Some(&mut block.stmts)));
                ExprKind::Block { block, value }
            }
            k @ (ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Positional(_) | ExprKind::ParamCount) => {
                k.clone()
            }
        };
        self.node(kind, span)
    }

    /// A copy of an already expanded expression with ids of its own.
    fn renumber(&mut self, e: &Expr) -> Expr {
        let mut e = e.clone();
        let mut span = |_: &mut Span| {};
        let mut next = self.next_id;
        let mut id = |i: &mut ExprId| {
            *i = ExprId(next);
            next += 1;
        };
        walk::expr(&mut e, &mut walk::Fix { span: &mut span, id: &mut id });
        self.next_id = next;
        e
    }

    /// A macro call used for its value.
    fn value_call(&mut self, name: &str, args: Vec<Expr>, span: Span, pre: Option<&mut Vec<Stmt>>) -> Expr {
        let Some((mut body, has_value)) = self.call(name, args, span) else {
            return self.node(ExprKind::Int(0), span);
        };
        let value = match body.stmts.pop() {
            Some(Stmt { kind: StmtKind::Expr(v), .. }) if has_value => v,
            last => {
                body.stmts.extend(last);
                self.diags.error(span, format!("Macro {name}() has no value: its body does not end in an expression"));
                return self.node(ExprKind::Int(0), span);
            }
        };
        if body.stmts.is_empty() {
            return value;
        }
        match pre {
            Some(pre) => pre.extend(body.stmts),
            None => self.diags.error(
                span,
                format!("btc: macro {name}() runs statements before its value, so it can't be called where it might not be evaluated (a predicate, a while condition, an operand of &&, || or ?:); assign its value to a variable first"),
            ),
        }
        value
    }

    /// Expands one call: picks the definition, checks the arguments, copies the body.
    /// Returns the copied body and whether it ends in a value.
    fn call(&mut self, name: &str, args: Vec<Expr>, span: Span) -> Option<(Block, bool)> {
        let def = self.pick(name, &args, span)?;
        if let Some(at) = self.stack.iter().position(|n| n == name) {
            let mut chain: Vec<&str> = self.stack[at..].iter().map(String::as_str).collect();
            chain.push(name);
            self.diags.error(span, format!("Recursive macro call detected. Call chain: {}", chain.join(" > ")));
            return None;
        }
        if self.next_id > MAX_NODES {
            if !self.too_big {
                self.too_big = true;
                self.diags.error(span, format!("macro expansion is too large (more than {MAX_NODES} expressions)"));
            }
            return None;
        }
        if self.stack.len() >= MAX_DEPTH {
            self.diags.error(span, format!("macro calls are nested too deeply (more than {MAX_DEPTH} levels)"));
            return None;
        }
        self.calls += 1;
        let len = def.span.end.saturating_sub(def.span.start);
        let base = self.origins.alloc(len, OriginKind::Expansion { from: def.span.start, call: span });
        let mut env = Env {
            name: Some(name.to_string()),
            vars: HashMap::new(),
            maps: HashMap::new(),
            idents: HashMap::new(),
            suffix: self.calls.to_string(),
            from: def.span.start,
            len,
            base,
        };
        for (p, a) in def.params.iter().zip(args) {
            match (&p.kind, a.kind) {
                (MacroParamKind::Var, ExprKind::Var(v)) => {
                    // The AST names variables without their `$`.
                    env.vars.insert(p.name.trim_start_matches('$').to_string(), v);
                }
                (MacroParamKind::Map, ExprKind::Map { name: m, .. }) => {
                    env.maps.insert(p.name.clone(), m);
                }
                (_, kind) => {
                    env.idents.insert(p.name.clone(), Expr { kind, ..a });
                }
            }
        }
        self.stack.push(name.to_string());
        let body = self.block(&def.body, &env);
        self.stack.pop();
        Some((body, def.has_value))
    }

    /// The definition of `name` whose parameters take `args` (the one taking the most
    /// arguments by their kind when several do), or errors saying why none does.
    fn pick(&mut self, name: &str, args: &[Expr], span: Span) -> Option<MacroDef> {
        let defs = self.defs.get(name)?;
        let kinds: Vec<ArgKind> = args.iter().map(arg_kind).collect();
        let exact = |d: &MacroDef| {
            d.params.iter().zip(&kinds).filter(|(p, a)| !matches!(p.kind, MacroParamKind::Ident) && accepts(p.kind, **a)).count()
        };
        let fits = |d: &&MacroDef| d.params.len() == kinds.len() && d.params.iter().zip(&kinds).all(|(p, a)| accepts(p.kind, *a));
        if let Some(d) = defs.iter().filter(fits).max_by_key(|d| exact(d)) {
            return Some(d.clone());
        }
        // The closest definition: one with as many parameters if any, else the nearest count.
        let closest = defs
            .iter()
            .min_by_key(|d| (d.params.len().abs_diff(kinds.len()), usize::MAX - exact(d)))
            .cloned()?;
        let mut d = Diagnostic::error(span, format!("Call to {name}() has arguments that do not match any definition."));
        if closest.params.len() != kinds.len() {
            self.diags.push(d);
            self.diags.error(
                closest.head,
                format!(
                    "The closest definition of {name}() has a different number of arguments. Expected: {} but got {}",
                    closest.params.len(),
                    kinds.len()
                ),
            );
            return None;
        }
        if let Some((i, p)) = closest.params.iter().enumerate().find(|(i, p)| !accepts(p.kind, kinds[*i])) {
            self.diags.push(d);
            d = Diagnostic::error(
                args[i].span,
                format!(
                    "Mismatched arg. {name}() expects {} for arg {} but got {}.",
                    param_word(p.kind),
                    p.name,
                    kind_word(kinds[i])
                ),
            )
            .with_note(p.span, "This is the argument in the closest definition.");
        }
        self.diags.push(d);
        None
    }
}

#[cfg(test)]
mod tests;
