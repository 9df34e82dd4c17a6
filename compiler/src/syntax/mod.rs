//! Parsing: the pest grammar (`grammar.pest`) and the conversion of its parse tree into the AST.

use crate::ast::*;
use crate::diag::{Diagnostic, Diagnostics, Span};
use pest::iterators::Pair;
use pest::Parser as _;

mod escapes;
mod items;
pub use escapes::unescape;

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
struct BtParser;

/// Deepest nesting of expressions and blocks accepted; deeper input gets a clean error instead
/// of exhausting the stack.
pub const MAX_NESTING: usize = 200;

/// Deepest expression tree accepted (operators chained or nested), for the same reason.
pub const MAX_EXPR_DEPTH: usize = 1000;

/// The direct subexpressions of an expression.
fn children(kind: &ExprKind) -> Box<dyn Iterator<Item = &Expr> + '_> {
    match kind {
        ExprKind::Map { keys, .. } => Box::new(keys.iter()),
        ExprKind::Call { args, .. } => Box::new(args.iter()),
        ExprKind::Tuple(items) => Box::new(items.iter()),
        ExprKind::Unary { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Arrow { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::SizeofExpr(expr)
        | ExprKind::IncDec { target: expr, .. } => Box::new(std::iter::once(&**expr)),
        ExprKind::Binary { lhs, rhs, .. } => Box::new([&**lhs, &**rhs].into_iter()),
        ExprKind::Index { expr, index } => Box::new([&**expr, &**index].into_iter()),
        ExprKind::Ternary { cond, then, els } => Box::new([&**cond, &**then, &**els].into_iter()),
        ExprKind::Block { value, .. } => Box::new(std::iter::once(&**value)),
        _ => Box::new(std::iter::empty()),
    }
}

/// Parses a script. On a syntax error, returns the diagnostics.
pub fn parse(source: &str, diags: &mut Diagnostics) -> Option<Program> {
    if let Some(span) = too_deep(source) {
        diags.error(span, format!("program is nested too deeply (more than {MAX_NESTING} levels)"));
        return None;
    }
    let pairs = match BtParser::parse(Rule::program, source) {
        Ok(p) => p,
        Err(e) => {
            diags.push(syntax_error(source, &e));
            return None;
        }
    };
    let mut b = Builder { next_id: 0, diags, depths: Vec::new(), too_deep_reported: false };
    let mut prog = Program::default();
    for pair in pairs.flatten() {
        match pair.as_rule() {
            Rule::pp_line | Rule::c_definition => prog
                .preamble
                .push(PreambleItem { text: pair.as_str().to_string(), span: Span::from_pest(pair.as_span()) }),
            Rule::config_item => prog.config.push(b.config_item(pair)),
            Rule::probe => prog.probes.push(b.probe(pair)),
            Rule::import_item => prog.imports.extend(b.import_item(pair)),
            Rule::map_decl => prog.map_decls.extend(b.map_decl(pair)),
            Rule::macro_def => prog.macros.extend(b.macro_def(pair, source)),
            _ => {}
        }
    }
    prog.expr_count = b.next_id;
    if b.diags.has_errors() {
        return None;
    }
    Some(prog)
}

/// Finds the first point where brackets nest deeper than [`MAX_NESTING`] (pest recurses per level).
fn too_deep(source: &str) -> Option<Span> {
    let mut depth = 0usize;
    for (i, c) in source.char_indices() {
        match c {
            '(' | '{' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(Span::new(i, i + 1));
                }
            }
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    // Each `?:` nests the rest of the expression inside it.
    if let Some((i, _)) = source.match_indices('?').nth(MAX_NESTING * 2) {
        return Some(Span::new(i, i + 1));
    }
    // Long chains of prefix operators recurse too.
    let mut run = 0usize;
    for (i, c) in source.char_indices() {
        if matches!(c, '!' | '~' | '-' | '*' | '&') {
            run += 1;
            if run > MAX_NESTING * 2 {
                return Some(Span::new(i, i + 1));
            }
        } else if !c.is_whitespace() {
            run = 0;
        }
    }
    None
}

fn binop(rule: Rule) -> Option<BinOp> {
    Some(match rule {
        Rule::op_or => BinOp::Or,
        Rule::op_and => BinOp::And,
        Rule::op_bor => BinOp::BitOr,
        Rule::op_xor => BinOp::BitXor,
        Rule::op_band => BinOp::BitAnd,
        Rule::op_eq => BinOp::Eq,
        Rule::op_ne => BinOp::Ne,
        Rule::op_lt => BinOp::Lt,
        Rule::op_le => BinOp::Le,
        Rule::op_gt => BinOp::Gt,
        Rule::op_ge => BinOp::Ge,
        Rule::op_shl => BinOp::Shl,
        Rule::op_shr => BinOp::Shr,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_div => BinOp::Div,
        Rule::op_mod => BinOp::Mod,
        _ => return None,
    })
}

/// C precedence: higher binds tighter.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::BitOr => 3,
        BinOp::BitXor => 4,
        BinOp::BitAnd => 5,
        BinOp::Eq | BinOp::Ne => 6,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 7,
        BinOp::Shl | BinOp::Shr => 8,
        BinOp::Add | BinOp::Sub => 9,
        BinOp::Mul | BinOp::Div | BinOp::Mod => 10,
    }
}

fn syntax_error(source: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let rest = &source[pos.min(source.len())..];
    let found = next_token(rest);
    let end = pos + found.len();
    // Some tokens that fail to lex say more about the problem than the grammar can.
    if found == "\"" && !rest[1..].contains('"') {
        return Diagnostic::error(Span::new(pos, pos + 1), "unterminated string literal");
    }
    if found == "'" {
        return Diagnostic::error(Span::new(pos, pos + 1), "invalid character literal");
    }
    if rest.starts_with("/*") && !rest.contains("*/") {
        return Diagnostic::error(Span::new(pos, pos + 2), "unterminated comment");
    }
    let found_text = if found.is_empty() { "end of file".to_string() } else { format!("'{found}'") };
    let mut msg = format!("syntax error, unexpected {found_text}");
    let mut names: Vec<&str> = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| describe(*r)).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    names.sort_unstable();
    names.dedup();
    // Rules only say what could continue an expression; an unclosed bracket says more.
    if names.is_empty() {
        if let Some(close) = unclosed(&source[..pos.min(source.len())]) {
            names = vec![close];
        }
    }
    if !names.is_empty() && names.len() <= 6 {
        msg.push_str(", expecting ");
        msg.push_str(&names.join(" or "));
    }
    Diagnostic::error(Span::new(pos, end), msg)
}

/// The closing bracket of the innermost bracket left open in `text` (ignoring strings and comments).
fn unclosed(text: &str) -> Option<&'static str> {
    let mut stack = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '(' => stack.push("')'"),
            '[' => stack.push("']'"),
            '{' => stack.push("'}'"),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// The token at the start of `rest`, for error messages.
fn next_token(rest: &str) -> &str {
    let mut chars = rest.char_indices();
    let Some((_, first)) = chars.next() else { return "" };
    if first.is_alphanumeric() || first == '_' || first == '@' || first == '$' {
        let end = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        return &rest[..end];
    }
    &rest[..first.len_utf8()]
}

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::block => "'{'",
        Rule::probe | Rule::attach_point | Rule::attach_list => "probe",
        Rule::predicate => "predicate",
        Rule::expr | Rule::binary | Rule::unary | Rule::postfix_expr => "expression",
        Rule::assign_op => "assignment",
        Rule::ident | Rule::builtin => "identifier",
        Rule::int_lit => "integer",
        Rule::string_lit => "string",
        Rule::EOI => "end of file",
        Rule::map_ref | Rule::map_name => "map",
        Rule::var => "variable",
        Rule::type_name | Rule::cast_type => "type",
        Rule::config_item => "config option",
        Rule::lparen => "'('",
        Rule::range => "range",
        Rule::rparen => "')'",
        _ => return None,
    })
}

struct Builder<'d> {
    next_id: u32,
    diags: &'d mut Diagnostics,
    /// Depth of every expression tree built so far, by id (later passes recurse that deep).
    depths: Vec<u32>,
    too_deep_reported: bool,
}

fn span(p: &Pair<'_, Rule>) -> Span {
    Span::from_pest(p.as_span())
}

impl Builder<'_> {
    fn expr_node(&mut self, kind: ExprKind, span: Span) -> Expr {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        let depth = 1 + children(&kind).map(|c| self.depths.get(c.id.0 as usize).copied().unwrap_or(0)).max().unwrap_or(0);
        self.depths.push(depth);
        if depth as usize > MAX_EXPR_DEPTH {
            self.report_too_deep(span);
        }
        Expr { id, kind, span }
    }

    fn report_too_deep(&mut self, span: Span) {
        if !self.too_deep_reported {
            self.too_deep_reported = true;
            self.diags.error(span, format!("expression is nested too deeply (more than {MAX_EXPR_DEPTH} levels)"));
        }
    }

    fn config_item(&mut self, pair: Pair<'_, Rule>) -> ConfigItem {
        let sp = span(&pair);
        let mut inner = pair.into_inner();
        let key = inner.next().map(|p| p.as_str().to_string()).unwrap_or_default();
        let value = inner
            .next()
            .map(|p| match p.as_rule() {
                Rule::string_lit => unescape(&p.as_str()[1..p.as_str().len() - 1]).0,
                _ => p.as_str().to_string(),
            })
            .unwrap_or_default();
        ConfigItem { key, value, span: sp }
    }

    fn probe(&mut self, pair: Pair<'_, Rule>) -> Probe {
        let sp = span(&pair);
        let mut attach = Vec::new();
        let mut predicate = None;
        let mut body = Block::default();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::attach_list => {
                    for ap in p.into_inner() {
                        attach.push(AttachPoint { raw: ap.as_str().to_string(), span: span(&ap) });
                    }
                }
                Rule::predicate => {
                    if let Some(e) = p.into_inner().next() {
                        predicate = Some(self.expr(e));
                    }
                }
                Rule::block => body = self.block(p),
                _ => {}
            }
        }
        Probe { attach, predicate, body, span: sp }
    }

    fn block(&mut self, pair: Pair<'_, Rule>) -> Block {
        let sp = span(&pair);
        let mut stmts = Vec::new();
        for list in pair.into_inner() {
            for s in list.into_inner() {
                stmts.push(self.stmt(s));
            }
        }
        Block { stmts, span: sp }
    }

    fn stmt(&mut self, pair: Pair<'_, Rule>) -> Stmt {
        let sp = span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::return_stmt => StmtKind::Return,
            Rule::block => StmtKind::Block(self.block(pair)),
            Rule::expr_stmt | Rule::discard_stmt => StmtKind::Expr(self.first_expr(pair)),
            Rule::let_stmt => {
                let mut var = (String::new(), sp);
                let (mut ty, mut value) = (None, None);
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::kw_let => {}
                        Rule::var => var = (p.as_str()[1..].to_string(), span(&p)),
                        Rule::let_type => ty = p.into_inner().next().map(|t| self.type_name(t)),
                        _ => value = Some(self.expr_any(p)),
                    }
                }
                StmtKind::Let { var: var.0, var_span: var.1, ty, value }
            }
            Rule::assign_stmt => {
                let mut inner = pair.into_inner();
                let target = self.opt_pair(inner.next(), sp);
                let op_text = inner.next().map(|p| p.as_str().to_string()).unwrap_or_default();
                let value = self.opt_pair(inner.next(), sp);
                let op = match op_text.as_str() {
                    "+=" => Some(BinOp::Add),
                    "-=" => Some(BinOp::Sub),
                    "*=" => Some(BinOp::Mul),
                    "/=" => Some(BinOp::Div),
                    "%=" => Some(BinOp::Mod),
                    "&=" => Some(BinOp::BitAnd),
                    "|=" => Some(BinOp::BitOr),
                    "^=" => Some(BinOp::BitXor),
                    "<<=" => Some(BinOp::Shl),
                    ">>=" => Some(BinOp::Shr),
                    _ => None,
                };
                StmtKind::Assign { target, op, value }
            }
            Rule::if_stmt => self.if_stmt(pair),
            Rule::while_stmt | Rule::unroll_stmt => {
                let mut inner = pair.into_inner().filter(|p| !matches!(p.as_rule(), Rule::lparen | Rule::rparen | Rule::kw_if | Rule::kw_while));
                let cond = self.opt_pair(inner.next(), sp);
                let body = inner.next().map(|b| self.block(b)).unwrap_or_default();
                if rule == Rule::while_stmt {
                    StmtKind::While { cond, body }
                } else {
                    StmtKind::Unroll { count: cond, body }
                }
            }
            Rule::for_stmt => {
                let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_for);
                let var = inner.next();
                let (var_name, var_span) =
                    var.map(|v| (v.as_str()[1..].to_string(), span(&v))).unwrap_or_default();
                let source = inner.next();
                let body = inner.next().map(|b| self.block(b)).unwrap_or_default();
                match source {
                    Some(r) if r.as_rule() == Rule::range => {
                        let rsp = span(&r);
                        let mut bounds = r.into_inner();
                        let start = match bounds.next() {
                            Some(b) => self.unary(b),
                            None => self.expr_node(ExprKind::Int(0), rsp),
                        };
                        let end = match bounds.next() {
                            Some(b) => self.unary(b),
                            None => self.expr_node(ExprKind::Int(0), rsp),
                        };
                        StmtKind::ForRange { var: var_name, var_span, start, end, body }
                    }
                    other => {
                        let map = self.opt_pair(other, sp);
                        StmtKind::For { var: var_name, var_span, map, body }
                    }
                }
            }
            _ => StmtKind::Block(Block::default()),
        };
        Stmt { kind, span: sp }
    }

    fn if_stmt(&mut self, pair: Pair<'_, Rule>) -> StmtKind {
        let sp = span(&pair);
        let mut inner = pair.into_inner().filter(|p| !matches!(p.as_rule(), Rule::lparen | Rule::rparen | Rule::kw_if | Rule::kw_while));
        let cond = self.opt_pair(inner.next(), sp);
        let then = inner.next().map(|b| self.block(b)).unwrap_or_default();
        let els = inner.next().and_then(|e| e.into_inner().next()).map(|e| match e.as_rule() {
            Rule::if_stmt => {
                let esp = span(&e);
                Block { stmts: vec![Stmt { kind: self.if_stmt(e), span: esp }], span: esp }
            }
            _ => self.block(e),
        });
        StmtKind::If { cond, then, els }
    }

    /// The expression in `pair` (or an integer 0 placeholder when the grammar guarantees one but
    /// none is present, which cannot happen for input the grammar accepted).
    fn opt_pair(&mut self, pair: Option<Pair<'_, Rule>>, sp: Span) -> Expr {
        match pair {
            Some(p) => self.expr_any(p),
            None => self.expr_node(ExprKind::Int(0), sp),
        }
    }

    fn first_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let inner = pair.into_inner().next();
        self.opt_pair(inner, sp)
    }

    /// Any expression-producing rule.
    fn expr_any(&mut self, pair: Pair<'_, Rule>) -> Expr {
        match pair.as_rule() {
            Rule::expr => self.expr(pair),
            Rule::map_ref => self.map_ref(pair),
            Rule::var => {
                let sp = span(&pair);
                self.expr_node(ExprKind::Var(pair.as_str()[1..].to_string()), sp)
            }
            _ => self.primary(pair),
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let mut inner = pair.into_inner();
        let Some(bin) = inner.next() else { return self.expr_node(ExprKind::Int(0), sp) };
        let cond = self.binary(bin);
        match inner.next() {
            Some(tail) => {
                let parts: Vec<Pair<'_, Rule>> = tail.into_inner().collect();
                let mut t = parts.into_iter();
                // `a ?: b` is `a ? a : b`: the same expression (and id) in both places.
                let then = if t.len() == 1 { cond.clone() } else { self.opt_pair(t.next(), sp) };
                let els = self.opt_pair(t.next(), sp);
                self.expr_node(
                    ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), els: Box::new(els) },
                    sp,
                )
            }
            None => cond,
        }
    }

    fn binary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        // Operands and operators alternate; combine them by precedence (all left-associative).
        // A chain longer than the depth limit is refused before its tree is built: a deep tree
        // would overflow the stack of every pass that walks it (and of its destructor).
        let sp = span(&pair);
        if pair.clone().into_inner().filter(|p| binop(p.as_rule()).is_some()).count() > MAX_EXPR_DEPTH {
            self.report_too_deep(sp);
            return self.expr_node(ExprKind::Int(0), sp);
        }
        let mut operands: Vec<Expr> = Vec::new();
        let mut ops: Vec<BinOp> = Vec::new();
        for p in pair.into_inner() {
            match binop(p.as_rule()) {
                Some(op) => {
                    while ops.last().is_some_and(|top| precedence(*top) >= precedence(op)) {
                        self.reduce(&mut operands, &mut ops);
                    }
                    ops.push(op);
                }
                None => {
                    let e = self.unary(p);
                    operands.push(e);
                }
            }
        }
        while !ops.is_empty() {
            self.reduce(&mut operands, &mut ops);
        }
        operands.pop().unwrap_or_else(|| self.expr_node(ExprKind::Int(0), Span::default()))
    }

    fn reduce(&mut self, operands: &mut Vec<Expr>, ops: &mut Vec<BinOp>) {
        let (Some(op), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) else { return };
        let sp = lhs.span.to(rhs.span);
        let e = self.expr_node(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, sp);
        operands.push(e);
    }

    fn unary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let Some((last, prefixes)) = parts.split_last() else {
            return self.expr_node(ExprKind::Int(0), sp);
        };
        let mut e = self.postfix_expr(last.clone());
        for p in prefixes.iter().rev() {
            let esp = span(p).to(e.span);
            let kind = match p.as_rule() {
                Rule::pre_inc | Rule::pre_dec => {
                    ExprKind::IncDec { target: Box::new(e), increment: p.as_rule() == Rule::pre_inc, prefix: true }
                }
                Rule::neg => ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(e) },
                Rule::not => ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(e) },
                Rule::bnot => ExprKind::Unary { op: UnaryOp::BitNot, expr: Box::new(e) },
                Rule::deref => ExprKind::Unary { op: UnaryOp::Deref, expr: Box::new(e) },
                Rule::addr_of => ExprKind::Unary { op: UnaryOp::AddrOf, expr: Box::new(e) },
                _ => {
                    let ty = p.clone().into_inner().next().map(|t| self.type_name(t)).unwrap_or_else(|| {
                        TypeName { keyword: None, name: String::new(), array: None, pointers: 0, span: span(p) }
                    });
                    ExprKind::Cast { ty, expr: Box::new(e) }
                }
            };
            e = self.expr_node(kind, esp);
        }
        e
    }

    fn postfix_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        if pair.clone().into_inner().count() > MAX_EXPR_DEPTH {
            let sp = span(&pair);
            self.report_too_deep(sp);
            return self.expr_node(ExprKind::Int(0), sp);
        }
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else { return self.expr_node(ExprKind::Int(0), Span::default()) };
        // A postfix expression starts where its operand's text starts, parentheses included
        // (`(x)->a` starts at the `(`), as in bpftrace's locations.
        let first_span = span(&first);
        let mut e = self.primary(first);
        for p in inner {
            let esp = first_span.to(span(&p));
            let kind = match p.as_rule() {
                Rule::post_inc | Rule::post_dec => {
                    ExprKind::IncDec { target: Box::new(e), increment: p.as_rule() == Rule::post_inc, prefix: false }
                }
                Rule::field => {
                    let f = p.into_inner().next();
                    let (field, field_span) = f.map(|f| (f.as_str().to_string(), span(&f))).unwrap_or_default();
                    ExprKind::Field { expr: Box::new(e), field, field_span }
                }
                Rule::arrow => {
                    let f = p.into_inner().next();
                    let (field, field_span) = f.map(|f| (f.as_str().to_string(), span(&f))).unwrap_or_default();
                    ExprKind::Arrow { expr: Box::new(e), field, field_span }
                }
                _ => {
                    let idx = self.first_expr(p);
                    ExprKind::Index { expr: Box::new(e), index: Box::new(idx) }
                }
            };
            e = self.expr_node(kind, esp);
        }
        e
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let text = pair.as_str();
        let kind = match pair.as_rule() {
            Rule::int_lit => match parse_int(text) {
                Some(v) => ExprKind::Int(v),
                None => {
                    self.diags.error(sp, format!("integer literal out of range: {text}"));
                    ExprKind::Int(0)
                }
            },
            Rule::string_lit => {
                let (s, bad) = unescape(&text[1..text.len() - 1]);
                if let Some(bad) = bad {
                    self.diags.error(sp, format!("invalid escape sequence '{bad}' in string"));
                }
                ExprKind::Str(s)
            }
            Rule::char_lit => {
                let (s, bad) = unescape(&text[1..text.len() - 1]);
                let mut bytes = s.bytes();
                match (bytes.next(), bytes.next(), bad) {
                    (Some(b), None, None) => ExprKind::Int(u64::from(b)),
                    _ => {
                        self.diags.error(sp, format!("invalid character literal {text}"));
                        ExprKind::Int(0)
                    }
                }
            }
            Rule::builtin => ExprKind::Builtin(text.to_string()),
            Rule::bool_lit => ExprKind::Bool(text == "true"),
            Rule::duration_lit => match parse_duration(text) {
                Some(v) => ExprKind::Int(v),
                None => {
                    self.diags.error(sp, format!("overflow error, maximum value is {}: {text}", u64::MAX));
                    ExprKind::Int(0)
                }
            },
            Rule::block_expr => return self.block_expr(pair),
            Rule::var => ExprKind::Var(text[1..].to_string()),
            Rule::positional => match text[1..].parse::<u32>() {
                Ok(n) => ExprKind::Positional(n),
                Err(_) => {
                    self.diags.error(sp, format!("positional parameter out of range: {text}"));
                    ExprKind::Positional(0)
                }
            },
            Rule::param_count => ExprKind::ParamCount,
            Rule::map_ref => return self.map_ref(pair),
            Rule::paren => {
                let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
                let is_tuple = parts.iter().any(|p| p.as_rule() == Rule::tuple_comma);
                let mut elems: Vec<Expr> =
                    parts.into_iter().filter(|p| p.as_rule() != Rule::tuple_comma).map(|p| self.expr(p)).collect();
                if !is_tuple {
                    return match elems.pop() {
                        Some(e) => e,
                        None => self.expr_node(ExprKind::Int(0), sp),
                    };
                }
                ExprKind::Tuple(elems)
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let (name, name_span) =
                    inner.next().map(|n| (n.as_str().to_string(), span(&n))).unwrap_or_default();
                let args = inner.map(|p| self.expr(p)).collect();
                let func = crate::catalogue::Func::from_name(&name);
                ExprKind::Call { name, name_span, func, args }
            }
            Rule::sizeof_expr => {
                let Some(inner) = pair.into_inner().next() else { return self.expr_node(ExprKind::Int(0), sp) };
                match inner.as_rule() {
                    Rule::type_name => ExprKind::SizeofType(self.type_name(inner)),
                    _ => ExprKind::SizeofExpr(Box::new(self.expr(inner))),
                }
            }
            Rule::offsetof_expr => {
                let mut inner = pair.into_inner();
                let ty = inner.next().map(|t| self.type_name(t));
                let fields = inner.map(|f| f.as_str().to_string()).collect();
                match ty {
                    Some(ty) => ExprKind::Offsetof { ty, fields },
                    None => ExprKind::Int(0),
                }
            }
            Rule::expr => return self.expr(pair),
            Rule::unary => return self.unary(pair),
            _ => ExprKind::Int(0),
        };
        self.expr_node(kind, sp)
    }

    /// `{ stmts; value }`: the last statement must be an expression with no `;` after it.
    fn block_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let text = pair.as_str();
        let mut block = Block { stmts: Vec::new(), span: sp };
        if let Some(list) = pair.into_inner().next() {
            for s in list.into_inner() {
                block.stmts.push(self.stmt(s));
            }
        }
        let tail = block.stmts.last().map(|s| (s.span.end, matches!(s.kind, StmtKind::Expr(_))));
        let closed = |end: u32| text.get((end.saturating_sub(sp.start)) as usize..).is_some_and(|rest| rest.trim_start().starts_with('}'));
        if tail.is_some_and(|(end, is_expr)| is_expr && closed(end)) {
            if let Some(Stmt { kind: StmtKind::Expr(value), .. }) = block.stmts.pop() {
                return self.expr_node(ExprKind::Block { block, value: Box::new(value) }, sp);
            }
        }
        self.diags.error(sp, "a block used as a value must end with an expression (with no ';' after it)");
        self.expr_node(ExprKind::Int(0), sp)
    }

    fn map_ref(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let sp = span(&pair);
        let mut inner = pair.into_inner();
        let name = inner.next().map(|n| n.as_str().to_string()).unwrap_or_default();
        let keys = inner.map(|p| self.expr(p)).collect();
        self.expr_node(ExprKind::Map { name, keys }, sp)
    }

    fn type_name(&mut self, pair: Pair<'_, Rule>) -> TypeName {
        let sp = span(&pair);
        let mut t = TypeName { keyword: None, name: String::new(), array: None, pointers: 0, span: sp };
        for p in pair.into_inner().flatten() {
            match p.as_rule() {
                Rule::type_kw => t.keyword = Some(p.as_str().to_string()),
                Rule::ident | Rule::int_type => {
                    if t.name.is_empty() {
                        t.name = p.as_str().to_string();
                    }
                }
                Rule::array_suffix => t.array = Some(0),
                Rule::int_lit => t.array = parse_int(p.as_str()),
                Rule::pointer => t.pointers += 1,
                _ => {}
            }
        }
        t
    }
}

/// Parses a duration literal (`5ms`) into nanoseconds; `None` when it overflows.
pub fn parse_duration(text: &str) -> Option<u64> {
    let digits = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (n, unit) = text.split_at(digits);
    let scale: u64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    n.replace('_', "").parse::<u64>().ok()?.checked_mul(scale)
}

/// Parses an integer literal: decimal, hex, scientific (`1e6`), `_` separators, C suffixes.
pub fn parse_int(text: &str) -> Option<u64> {
    let t: String = text.chars().filter(|&c| c != '_').collect();
    let t = t.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if let Some((m, e)) = t.split_once(['e', 'E']) {
        let m: u64 = m.parse().ok()?;
        let e: u32 = e.parse().ok()?;
        return m.checked_mul(10u64.checked_pow(e)?);
    }
    if t.len() > 1 && t.starts_with('0') {
        return u64::from_str_radix(&t[1..], 8).ok();
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(src: &str) -> Vec<Stmt> {
        let mut diags = Diagnostics::default();
        let prog = parse(src, &mut diags).unwrap_or_else(|| panic!("{src}: {}", diags.render("stdin", src, false)));
        prog.probes.into_iter().next().map(|p| p.body.stmts).unwrap_or_default()
    }

    #[test]
    fn durations_are_nanoseconds() {
        assert_eq!(parse_duration("5ms"), Some(5_000_000));
        assert_eq!(parse_duration("1_000us"), Some(1_000_000));
        assert_eq!(parse_duration("2d"), Some(172_800_000_000_000));
        assert_eq!(parse_duration("10000000000m"), None);
        let s = body("BEGIN { $a = 1s; }");
        assert!(matches!(&s[0].kind, StmtKind::Assign { value: Expr { kind: ExprKind::Int(1_000_000_000), .. }, .. }));
    }

    #[test]
    fn newer_statements_parse() {
        let s = body("BEGIN { let $a; let $b: uint8 = 1; _ = 2; for $i : 0..$n { } for ($kv : @m) { } if $a { } while !$a { } }");
        assert!(matches!(&s[0].kind, StmtKind::Let { ty: None, value: None, .. }));
        assert!(matches!(&s[1].kind, StmtKind::Let { ty: Some(t), value: Some(_), .. } if t.name == "uint8"));
        assert!(matches!(&s[2].kind, StmtKind::Expr(_)));
        assert!(matches!(&s[3].kind, StmtKind::ForRange { var, .. } if var == "i"));
        assert!(matches!(&s[4].kind, StmtKind::For { var, .. } if var == "kv"));
        assert!(matches!(&s[5].kind, StmtKind::If { .. }));
        assert!(matches!(&s[6].kind, StmtKind::While { .. }));
    }

    #[test]
    fn elvis_and_block_expressions() {
        let s = body("BEGIN { $a = $b ?: 3; $c = { let $d = 1; $d }; $e = true; }");
        let StmtKind::Assign { value, .. } = &s[0].kind else { panic!("assign") };
        let ExprKind::Ternary { cond, then, .. } = &value.kind else { panic!("ternary") };
        assert_eq!(cond.id, then.id);
        let StmtKind::Assign { value, .. } = &s[1].kind else { panic!("assign") };
        assert!(matches!(&value.kind, ExprKind::Block { block, value } if block.stmts.len() == 1 && matches!(value.kind, ExprKind::Var(_))));
        assert!(matches!(&s[2].kind, StmtKind::Assign { value: Expr { kind: ExprKind::Bool(true), .. }, .. }));
        // A predicate still ends before the body.
        assert_eq!(body("BEGIN /pid / 2/ { exit(); }").len(), 1);
    }
}
