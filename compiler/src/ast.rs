//! The abstract syntax tree. Every node carries the [`Span`] of the source it came from; every
//! expression has an [`ExprId`] that indexes the side tables the semantic passes produce.

use crate::diag::Span;
pub use crate::catalogue::{Builtin, Func};

/// A whole script.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// `#include`/`#define` lines and C type definitions, verbatim, in order.
    pub preamble: Vec<PreambleItem>,
    pub config: Vec<ConfigItem>,
    pub probes: Vec<Probe>,
    /// `macro NAME(PARAMS) { ... }` definitions (bpftrace 0.26); expanded away by
    /// [`crate::expand`] before checking, so later passes never see a macro call.
    pub macros: Vec<MacroDef>,
    /// `let @name = KIND(MAX_ENTRIES);` declarations (bpftrace 0.26).
    pub map_decls: Vec<MapDecl>,
    /// `import "PATH";` items, resolved (and emptied) by [`crate::expand`].
    pub imports: Vec<Import>,
    /// Number of expression ids handed out (the length of per-expression side tables).
    pub expr_count: u32,
}

#[derive(Debug, Clone)]
pub struct PreambleItem {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ConfigItem {
    pub key: String,
    pub value: String,
    pub span: Span,
}

/// `macro name(params) { body }`.
#[derive(Debug, Clone)]
pub struct MacroDef {
    pub name: String,
    pub params: Vec<MacroParam>,
    pub body: Block,
    /// The body ends in an expression with no `;` after it: a call is worth that expression.
    pub has_value: bool,
    /// `macro NAME`, where arity errors point.
    pub head: Span,
    /// The whole definition (expanded code keeps spans inside it).
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroParamKind {
    /// `$x`: the argument must be a variable, which the body may assign.
    Var,
    /// `@x`: the argument must be a map (no keys), which the body may use and assign.
    Map,
    /// `x`: any expression, inserted wherever the body names `x`.
    Ident,
}

#[derive(Debug, Clone)]
pub struct MacroParam {
    pub kind: MacroParamKind,
    /// As written, with its `$` or `@`.
    pub name: String,
    pub span: Span,
}

/// `let @name = kind(max_entries);`
#[derive(Debug, Clone)]
pub struct MapDecl {
    pub name: String,
    pub name_span: Span,
    /// `hash`, `lruhash`, `percpuhash`, `percpulruhash` (others are refused when checked).
    pub kind: String,
    pub max_entries: u64,
    pub span: Span,
}

/// `import "path";`
#[derive(Debug, Clone)]
pub struct Import {
    pub path: String,
    pub span: Span,
}

/// `attach[, attach...] /predicate/ { body }`
#[derive(Debug, Clone)]
pub struct Probe {
    pub attach: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

/// One attach point as written, e.g. `tracepoint:syscalls:sys_enter_openat` or `i:s:1`.
#[derive(Debug, Clone)]
pub struct AttachPoint {
    pub raw: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Expr(Expr),
    /// `target = value` or, with `op`, `target op= value`.
    Assign { target: Expr, op: Option<BinOp>, value: Expr },
    If { cond: Expr, then: Block, els: Option<Block> },
    While { cond: Expr, body: Block },
    Unroll { count: Expr, body: Block },
    For { var: String, var_span: Span, map: Expr, body: Block },
    /// `for ($i : start..end) { }` (bpftrace 0.26): start and end are evaluated once.
    ForRange { var: String, var_span: Span, start: Expr, end: Expr, body: Block },
    /// `let $x [: type] [= value];` (bpftrace 0.26): declares `$x` in the enclosing block;
    /// without a value it holds 0 (zeros) from here on.
    Let { var: String, var_span: Span, ty: Option<TypeName>, value: Option<Expr> },
    Block(Block),
    Break,
    Continue,
    Return,
}

/// Index of an expression in side tables (types, constant values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

#[derive(Debug, Clone)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    /// An integer literal; `negative`-free magnitude, as written (suffixes stripped).
    Int(u64),
    /// `true` / `false` (bpftrace 0.26).
    Bool(bool),
    Str(String),
    /// A builtin identifier such as `pid` or `comm`.
    Builtin(String),
    /// `$name`
    Var(String),
    /// `$1` .. `$N`
    Positional(u32),
    /// `$#`
    ParamCount,
    /// `@name` or `@name[keys]`; `keys` is empty for a scalar map.
    Map { name: String, keys: Vec<Expr> },
    /// A call; `func` is what `name` resolved to in the catalogue (`None`: no such function).
    Call { name: String, name_span: Span, func: Option<Func>, args: Vec<Expr> },
    Unary { op: UnaryOp, expr: Box<Expr> },
    Binary { op: BinOp, lhs: Box<Expr>, rhs: Box<Expr> },
    Ternary { cond: Box<Expr>, then: Box<Expr>, els: Box<Expr> },
    /// `expr.field` (also `args.x` and tuple `.0`).
    Field { expr: Box<Expr>, field: String, field_span: Span },
    /// `expr->field`
    Arrow { expr: Box<Expr>, field: String, field_span: Span },
    Index { expr: Box<Expr>, index: Box<Expr> },
    Tuple(Vec<Expr>),
    Cast { ty: TypeName, expr: Box<Expr> },
    /// `++x`, `x++`, `--x`, `x--`
    IncDec { target: Box<Expr>, increment: bool, prefix: bool },
    SizeofType(TypeName),
    SizeofExpr(Box<Expr>),
    Offsetof { ty: TypeName, fields: Vec<String> },
    /// `{ stmts; value }` (bpftrace 0.26): runs the statements, then is `value`.
    Block { block: Block, value: Box<Expr> },
}

impl ExprKind {
    /// A call of a function the catalogue resolves (what passes put in place of an expression).
    pub fn call(func: Func, span: Span, args: Vec<Expr>) -> ExprKind {
        ExprKind::Call { name: func.name().to_string(), name_span: span, func: Some(func), args }
    }
}

/// A type as written in a cast, `sizeof` or `offsetof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// `struct`, `union` or `enum` when written.
    pub keyword: Option<String>,
    pub name: String,
    pub array: Option<u64>,
    pub pointers: u32,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
    BitNot,
    Deref,
    AddrOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    BitOr,
    BitXor,
    BitAnd,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
}

/// Calls `f` on every expression of `b`, each before the expressions under it (read-only; see
/// sema/consteval.rs for the rewriting walk).
pub fn visit_block(b: &Block, f: &mut dyn FnMut(&Expr)) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Expr(e) => visit_expr(e, f),
            StmtKind::Assign { target, value, .. } => {
                visit_expr(target, f);
                visit_expr(value, f);
            }
            StmtKind::If { cond, then, els } => {
                visit_expr(cond, f);
                visit_block(then, f);
                if let Some(els) = els {
                    visit_block(els, f);
                }
            }
            StmtKind::While { cond, body: b } | StmtKind::Unroll { count: cond, body: b } => {
                visit_expr(cond, f);
                visit_block(b, f);
            }
            StmtKind::For { map, body, .. } => {
                visit_expr(map, f);
                visit_block(body, f);
            }
            StmtKind::ForRange { start, end, body, .. } => {
                visit_expr(start, f);
                visit_expr(end, f);
                visit_block(body, f);
            }
            StmtKind::Let { value, .. } => {
                if let Some(v) = value {
                    visit_expr(v, f);
                }
            }
            StmtKind::Block(b) => visit_block(b, f),
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }
}

/// Calls `f` on `e`, then on every expression under it.
pub fn visit_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Call { args: xs, .. } | ExprKind::Tuple(xs) | ExprKind::Map { keys: xs, .. } => {
            xs.iter().for_each(|x| visit_expr(x, f))
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Arrow { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::SizeofExpr(expr)
        | ExprKind::IncDec { target: expr, .. } => visit_expr(expr, f),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Index { expr: lhs, index: rhs } => {
            visit_expr(lhs, f);
            visit_expr(rhs, f);
        }
        ExprKind::Ternary { cond, then, els } => {
            visit_expr(cond, f);
            visit_expr(then, f);
            visit_expr(els, f);
        }
        ExprKind::Block { block, value } => {
            visit_block(block, f);
            visit_expr(value, f);
        }
        _ => {}
    }
}
