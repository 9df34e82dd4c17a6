//! Positional parameters: `$1`..`$N` and `$#`, taken by the object when it runs.
//!
//! bpftrace 0.20's rules, which the runtime applies to the run's parameters
//! (`btc_bpfprog::params`):
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
//!
//! This pass rewrites the script before checking. A use read at run time becomes a call of
//! an internal function whose name no script can spell: `$param(OFFSET)` (an i64 slot) or
//! `$param_str(OFFSET, LEN)` (a string slot) of the object's parameter area; the slots are
//! listed in the [`Params`] returned. Where the code needs the value itself (loop counts,
//! histogram bounds, stack depths, the literal of `uaddr`/`reg`/`pton`, an attach point that
//! decides the probe's type or arguments), the parameter must be given to the compile: it is
//! folded into the script as a constant and recorded in [`Params::folded`]; otherwise the
//! compile refuses with the reason. `interval`/`profile` periods, plain uprobe targets and
//! tracepoint names (when `args`, `func` or `probe` isn't read) are left as written
//! ([`Params`]'s attach templates) for the runtime to complete.

use crate::ast::*;
use crate::catalogue::{Func, Internal};
use crate::diag::{Diagnostics, Span};
use btc_bpfprog::params::{self as bp, Folded, Params, Slot, SlotValue};

pub use bp::numeric_value;

/// The internal function reading an i64 slot: `$param(OFFSET)`.
pub const PARAM_INT: Func = Func::Internal(Internal::ParamInt);
/// The internal function reading a string slot: `$param_str(OFFSET, LEN)`.
pub const PARAM_STR: Func = Func::Internal(Internal::ParamStr);
/// The global that holds the slots.
pub const PARAM_SYMBOL: &str = "__btc_params";
/// The size of the slots holding `probe` and `func` of an attach point completed at run time.
const NAME_LEN: u32 = 256;

/// What the compile knows of the parameters.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    /// The parameters given to the compile.
    pub params: &'a [String],
    /// They are exactly the run's (`btc run SCRIPT ARGS`): one not among them is known to be
    /// missing (0, `""`), and attach points are resolved now, as bpftrace resolves them.
    pub complete: bool,
}

/// Rewrites every positional parameter of `prog` (see the module's description); returns how
/// the object takes them.
pub fn substitute(prog: &mut Program, given: Given<'_>, strlen: u32, diags: &mut Diagnostics) -> Params {
    let mut cx = Cx { given, strlen, next_id: prog.expr_count, diags, out: Params::default(), template: None, drop_uaddr: false };
    for probe in &mut prog.probes {
        let uses = builtin_uses(probe);
        let single = probe.attach.len() == 1;
        for ap in &mut probe.attach {
            if let Some(raw) = cx.attach_point(&ap.raw, ap.span, &uses, single) {
                ap.raw = raw;
            }
        }
        // A lone attach point completed at run time: its `probe` (and a uprobe's `func`) are
        // read from slots the runtime fills with the completed names.
        cx.template = match probe.attach.as_slice() {
            [ap] if bp::has_param(&ap.raw) => bp::template_parts(&ap.raw)
                .and_then(|(p, _)| crate::sema::probes::canonical_provider(p))
                .map(|p| (ap.raw.clone(), p)),
            _ => None,
        };
        if let Some(pred) = &mut probe.predicate {
            cx.expr(pred, Need::Value);
        }
        cx.block(&mut probe.body);
        cx.template = None;
        cx.drop_uaddr = false;
    }
    prog.expr_count = cx.next_id;
    let mut out = cx.out;
    if !out.slots.is_empty() {
        out.symbol = PARAM_SYMBOL.to_string();
    }
    out
}

/// Functions whose argument must be a string literal; `str($N)` is one there.
const TAKES_LITERAL: &[&str] = &["kaddr", "uaddr", "cgroupid", "reg", "signal", "pton"];

/// Why a literal argument of a function that can't take it at run time must be given.
fn literal_reason(func: &str) -> &'static str {
    match func {
        "uaddr" => "uaddr() finds the symbol, and types its pointer by the symbol's size, when compiling",
        "reg" => "reg() turns the register's name into an offset when compiling",
        "pton" => "pton()'s type depends on the address family of its text",
        _ => "the function needs a literal",
    }
}

/// Integer arguments that must be literals: (function, argument indexes, why).
const CONST_ARGS: &[(&str, &[usize], &str)] = &[
    ("hist", &[1], "hist()'s buckets are laid out when compiling"),
    ("lhist", &[1, 2, 3], "lhist()'s bounds and step lay out its buckets when compiling"),
    ("print", &[1, 2], "print()'s top and div arguments are literals"),
    ("strncmp", &[2], "strncmp()'s length is a literal"),
    ("kstack", &[0, 1], "the stack's depth sizes its map when compiling"),
    ("ustack", &[0, 1], "the stack's depth sizes its map when compiling"),
    ("buf", &[1], "buf()'s length sizes its buffer when compiling"),
];

/// Integer arguments that bound what the code reads (buf()'s length, strncmp()'s): constants
/// in a compile that has the run's parameters (as in bpftrace), else read at run time and
/// bounded by the buffer (buf's holds BPFTRACE_STRLEN bytes; strncmp compares at most the
/// strings' sizes).
const BOUND_ARGS: &[(&str, usize)] = &[("buf", 1), ("strncmp", 2)];

/// What a use of a parameter needs.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// Its value, which may be read at run time.
    Value,
    /// A constant: the parameter must be given to the compile (the reason why).
    Const(&'static str),
}

struct Cx<'a> {
    given: Given<'a>,
    strlen: u32,
    next_id: u32,
    diags: &'a mut Diagnostics,
    out: Params,
    /// The attach point (and provider) of the probe being rewritten, when the runtime
    /// completes it and it is the probe's only one.
    template: Option<(String, &'static str)>,
    /// `uaddr()` of the probe being rewritten was refused: its calls become 0, so that no
    /// second error comes from looking the symbol up in a binary named `$N`.
    drop_uaddr: bool,
}

impl Cx<'_> {
    fn param(&self, n: u32) -> Option<&String> {
        usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| self.given.params.get(i))
    }

    /// Whether the compile knows parameter `n` (0: `$#`).
    fn known(&self, n: u32) -> bool {
        self.given.complete || if n == 0 { !self.given.params.is_empty() } else { self.param(n).is_some() }
    }

    /// Records that the code depends on parameter `n` (0: `$#`) as the compile knows it.
    fn fold(&mut self, n: u32) {
        let text = if n == 0 { Some(self.given.params.len().to_string()) } else { self.param(n).cloned() };
        let f = Folded { n, text };
        if !self.out.folded.contains(&f) {
            self.out.folded.push(f);
        }
    }

    fn must_be_given(&mut self, span: Span, n: u32, why: &str) {
        let what = if n == 0 { "$#".to_string() } else { format!("${n}") };
        self.diags.error(span, format!("{what} must be given to btc compile: {why}"));
    }

    /// The offset of a slot holding `value`, added when new.
    fn slot(&mut self, value: SlotValue) -> u32 {
        if let Some(s) = self.out.slots.iter().find(|s| s.value == value) {
            return s.offset;
        }
        let offset = self.out.size;
        self.out.size = (offset + value.size()).next_multiple_of(8);
        self.out.slots.push(Slot { offset, value });
        offset
    }

    fn int(&mut self, v: u64, span: Span) -> Expr {
        Expr { id: self.fresh_id(), kind: ExprKind::Int(v), span }
    }

    /// `e` becomes a read of an i64 slot.
    fn read_slot(&mut self, e: &mut Expr, value: SlotValue) {
        let off = self.slot(value);
        let arg = self.int(u64::from(off), e.span);
        e.kind = ExprKind::call(PARAM_INT, e.span, vec![arg]);
    }

    /// Completes or keeps an attach point naming parameters (`uses`: the builtins its probe
    /// reads). Returns the new text, if any.
    /// `single`: the attach point is its probe's only one, so `probe` and `func` can be slots.
    fn attach_point(&mut self, raw: &str, span: Span, uses: &[(Span, String)], single: bool) -> Option<String> {
        if !bp::has_param(raw) {
            return None;
        }
        let parts = crate::sema::probes::split_attach(raw);
        let provider = parts.first().and_then(|p| crate::sema::probes::canonical_provider(p));
        let names = params_in(raw);
        if !self.given.complete {
            // `usdt:$N:[PROVIDER:]NAME`: the binary is found when the object runs, and its
            // sites' argument locations are read from the spec table by cookie, as for a USDT
            // probe of the traced process (`sema::probes::process`).
            let binary_only = parts.len() >= 3 && !parts[2..].iter().any(|x| bp::has_param(x));
            if provider == Some("usdt") && binary_only && !parts[1].contains(['*', '?']) {
                return Some(std::iter::once("usdt".to_string()).chain(parts[1..].iter().cloned()).collect::<Vec<_>>().join(":"));
            }
            if let Some(p) = provider {
                let full = std::iter::once(p.to_string()).chain(parts[1..].iter().cloned()).collect::<Vec<_>>().join(":");
                if bp::template_parts(&full).is_some() {
                    let blockers: Vec<(Span, &'static str)> =
                        uses.iter().filter_map(|(sp, b)| needs_attach_point(p, b, single).map(|why| (*sp, why))).collect();
                    if blockers.is_empty() {
                        return Some(full);
                    }
                    // The probe reads what the attach point decides when compiling: the
                    // parameters must be given (and are folded) after all.
                    if let Some(&n) = names.iter().find(|&&n| !self.known(n)) {
                        self.drop_uaddr = true;
                        for (sp, why) in blockers {
                            self.diags.error(sp, format!("${n} in the attach point {full} must be given to btc compile: {why}"));
                        }
                        return None;
                    }
                }
            }
            if let Some(&n) = names.iter().find(|&&n| !self.known(n)) {
                let why = match provider {
                    _ if raw.contains(['*', '?']) => "wildcards are expanded when compiling".to_string(),
                    Some("interval" | "profile") => "the unit of a period is fixed when compiling".to_string(),
                    Some(p @ ("uprobe" | "uretprobe")) => format!(
                        "only a {p}'s binary and plain function name are completed at run time (not wildcards, offsets, addresses or languages)"
                    ),
                    Some(p) => format!("the code of a {p} probe depends on what it attaches to"),
                    None => "the probe's type depends on it".to_string(),
                };
                self.must_be_given(span, n, &why);
                return None;
            }
        }
        let (out, missing) = bp::substitute_with(raw, &|n| self.param(n).cloned());
        for n in missing {
            self.diags.error(span, format!("positional parameter ${n} is not given"));
        }
        for n in names {
            self.fold(n);
        }
        Some(out)
    }

    fn block(&mut self, b: &mut Block) {
        for s in &mut b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Expr(e) => self.expr(e, Need::Value),
            StmtKind::Assign { target, value, .. } => {
                self.expr(target, Need::Value);
                self.expr(value, Need::Value);
            }
            StmtKind::If { cond, then, els } => {
                self.expr(cond, Need::Value);
                self.block(then);
                if let Some(els) = els {
                    self.block(els);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, Need::Value);
                self.block(body);
            }
            StmtKind::Unroll { count, body } => {
                match count.kind {
                    // Not known to the compile: the code repeats the body up to the most
                    // unroll allows, each time if the run's count is not reached.
                    ExprKind::Positional(n) if !self.known(n) => self.read_slot(count, SlotValue::Unroll { n }),
                    _ => self.expr(count, Need::Const("unroll's count is fixed when compiling")),
                }
                self.block(body);
            }
            StmtKind::For { map, body, .. } => {
                self.expr(map, Need::Value);
                self.block(body);
            }
            StmtKind::ForRange { start, end, body, .. } => {
                self.expr(start, Need::Value);
                self.expr(end, Need::Value);
                self.block(body);
            }
            StmtKind::Let { value, .. } => {
                if let Some(v) = value {
                    self.expr(v, Need::Value);
                }
            }
            StmtKind::Block(b) => self.block(b),
            StmtKind::Break | StmtKind::Continue | StmtKind::Return => {}
        }
    }

    fn expr(&mut self, e: &mut Expr, need: Need) {
        match &mut e.kind {
            ExprKind::Positional(n) => {
                let n = *n;
                match need {
                    Need::Const(why) if !self.known(n) => self.must_be_given(e.span, n, why),
                    Need::Const(_) => {
                        self.fold(n);
                        e.kind = self.constant(n, e.span);
                    }
                    Need::Value => {
                        if let Some(text) = self.param(n).filter(|t| numeric_value(t).is_none()) {
                            let msg = bp::not_numeric(n, text);
                            self.diags.error(e.span, msg);
                        }
                        self.read_slot(e, SlotValue::Int { n });
                    }
                }
            }
            ExprKind::ParamCount => match need {
                Need::Const(why) if !self.known(0) => self.must_be_given(e.span, 0, why),
                Need::Const(_) => {
                    self.fold(0);
                    e.kind = ExprKind::Int(self.given.params.len() as u64);
                }
                Need::Value => self.read_slot(e, SlotValue::Count),
            },
            ExprKind::Call { name, args, .. } if name == "str" => {
                let n_args = args.len();
                match args.first_mut() {
                    Some(a) if positional_form(a).is_some() && n_args == 1 => {
                        if let Some((n, skip)) = self.str_arg(a) {
                            let len = self.strlen;
                            let off = self.slot(SlotValue::Str { n, skip, len });
                            let (off, len) = (self.int(u64::from(off), e.span), self.int(u64::from(len), e.span));
                            e.kind = ExprKind::call(PARAM_STR, e.span, vec![off, len]);
                        }
                    }
                    Some(a) if positional_form(a).is_some() => {
                        // str($N, LEN): folded as before.
                        let (n, _) = positional_form(a).unwrap_or_default();
                        if !self.known(n) {
                            self.must_be_given(a.span, n, "str() of a parameter with a length is cut when compiling");
                        } else if let Some((n, skip)) = self.str_arg(a) {
                            self.fold(n);
                            let text = self.param(n).cloned().unwrap_or_default();
                            a.kind = ExprKind::Str(bp::str_text(&text, skip, self.strlen).to_string());
                        }
                        args.iter_mut().skip(1).for_each(|x| self.expr(x, Need::Value));
                    }
                    _ => args.iter_mut().for_each(|x| self.expr(x, Need::Value)),
                }
            }
            ExprKind::Call { name, .. } if name == "uaddr" && self.drop_uaddr => e.kind = ExprKind::Int(0),
            ExprKind::Call { name, args, .. } if TAKES_LITERAL.contains(&name.as_str()) => {
                let name = name.clone();
                let mut whole = None;
                for a in args.iter_mut() {
                    let Some(n) = str_of_param(a) else {
                        self.expr(a, Need::Value);
                        continue;
                    };
                    if self.known(n) {
                        self.fold(n);
                        a.kind = ExprKind::Str(self.param(n).cloned().unwrap_or_default());
                        continue;
                    }
                    match name.as_str() {
                        "signal" => self.read_slot(a, SlotValue::Signal { n }),
                        "kaddr" => whole = Some(SlotValue::Kaddr { n }),
                        "cgroupid" => whole = Some(SlotValue::Cgroupid { n }),
                        other => self.must_be_given(a.span, n, literal_reason(other)),
                    }
                }
                if let Some(v) = whole.filter(|_| args.len() == 1) {
                    self.read_slot(e, v);
                }
            }
            ExprKind::Call { name, args, .. } => {
                let consts = CONST_ARGS.iter().find(|(f, _, _)| f == name).map(|&(_, idx, why)| (idx, why));
                let complete = self.given.complete;
                let bound = |i: usize| BOUND_ARGS.contains(&(name.as_str(), i)) && !complete;
                for (i, a) in args.iter_mut().enumerate() {
                    let need = match consts {
                        Some(_) if bound(i) => Need::Value,
                        Some((idx, why)) if idx.contains(&i) => Need::Const(why),
                        _ => Need::Value,
                    };
                    self.expr(a, need);
                }
            }
            ExprKind::Builtin(b) if b == "probe" || b == "func" => {
                // Names are printed whole, as bpftrace's (not cut like a str() of strlen bytes).
                let len = (self.strlen + 1).max(NAME_LEN);
                let value = match (&self.template, b.as_str()) {
                    (Some((raw, _)), "probe") => SlotValue::Probe { raw: raw.clone(), len },
                    (Some((raw, "uprobe" | "uretprobe" | "kprobe" | "kretprobe")), "func") => {
                        SlotValue::Func { raw: raw.clone(), len }
                    }
                    _ => return,
                };
                let off = self.slot(value);
                let (off, len) = (self.int(u64::from(off), e.span), self.int(u64::from(len), e.span));
                e.kind = ExprKind::call(PARAM_STR, e.span, vec![off, len]);
            }
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Builtin(_) | ExprKind::Var(_) => {}
            ExprKind::Block { block, value } => {
                self.block(block);
                self.expr(value, need);
            }
            ExprKind::SizeofType(_) | ExprKind::Offsetof { .. } => {}
            ExprKind::Map { keys, .. } => keys.iter_mut().for_each(|k| self.expr(k, Need::Value)),
            ExprKind::Tuple(elems) => elems.iter_mut().for_each(|x| self.expr(x, need)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Arrow { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr) => self.expr(expr, need),
            ExprKind::IncDec { target, .. } => self.expr(target, need),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, need);
                self.expr(rhs, need);
            }
            ExprKind::Index { expr, index } => {
                self.expr(expr, need);
                self.expr(index, need);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond, need);
                self.expr(then, need);
                self.expr(els, need);
            }
        }
    }

    /// `$N` folded as bpftrace substitutes it: an integer literal (negated when negative), 0
    /// when not given; text that isn't a number is an error.
    fn constant(&mut self, n: u32, span: Span) -> ExprKind {
        match self.param(n).cloned() {
            None => ExprKind::Int(0),
            Some(text) => match numeric_value(&text) {
                Some(v) if v >= 0 => ExprKind::Int(v as u64),
                Some(v) => ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(self.int(v.unsigned_abs(), span)) },
                None => {
                    self.diags.error(span, bp::not_numeric(n, &text));
                    ExprKind::Int(0)
                }
            },
        }
    }

    /// The parameter and offset of the first argument of `str()`: `$N`, `$N + K` or `K + $N`
    /// with K a constant (a parameter there is folded). None after an error.
    fn str_arg(&mut self, a: &mut Expr) -> Option<(u32, u64)> {
        match &mut a.kind {
            ExprKind::Positional(n) => Some((*n, 0)),
            ExprKind::Binary { op, lhs, rhs } => {
                let (param, other) = if is_positional(lhs) { (lhs, rhs) } else { (rhs, lhs) };
                let ExprKind::Positional(n) = param.kind else { return None };
                self.expr(other, Need::Const("the offset in str($N + K) is fixed when compiling"));
                match (op, &other.kind) {
                    (BinOp::Add, ExprKind::Int(k)) => Some((n, *k)),
                    _ => {
                        let msg = "str() only accepts positional parameters directly or with a single constant offset added";
                        self.diags.error(a.span, msg);
                        None
                    }
                }
            }
            _ => None,
        }
    }

    fn fresh_id(&mut self) -> ExprId {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        id
    }
}

/// Whether `e` reads an integer parameter when the object runs (`$N` the compile didn't fold,
/// or `unroll($N)`'s count).
pub fn is_param_read(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { func: Some(f), .. } if *f == PARAM_INT)
}

fn is_positional(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Positional(_))
}

/// `$N`, or a binary expression with `$N` on one side: the parameter (and 0).
fn positional_form(e: &Expr) -> Option<(u32, u64)> {
    match &e.kind {
        ExprKind::Positional(n) => Some((*n, 0)),
        ExprKind::Binary { lhs, rhs, .. } => match (&lhs.kind, &rhs.kind) {
            (ExprKind::Positional(n), _) | (_, ExprKind::Positional(n)) => Some((*n, 0)),
            _ => None,
        },
        _ => None,
    }
}

/// `str($N)`: N.
fn str_of_param(e: &Expr) -> Option<u32> {
    match &e.kind {
        ExprKind::Call { name, args, .. } if name == "str" => match args.as_slice() {
            [Expr { kind: ExprKind::Positional(n), .. }] => Some(*n),
            _ => None,
        },
        _ => None,
    }
}

/// The builtins a probe reads, with their places (and its calls of `uaddr`, as `uaddr()`).
fn builtin_uses(probe: &Probe) -> Vec<(Span, String)> {
    let mut uses = Vec::new();
    let mut visit = |e: &Expr| match &e.kind {
        ExprKind::Builtin(b) => uses.push((e.span, b.clone())),
        ExprKind::Call { name, .. } if name == "uaddr" => uses.push((e.span, "uaddr()".to_string())),
        _ => {}
    };
    if let Some(p) = &probe.predicate {
        crate::ast::visit_expr(p, &mut visit);
    }
    crate::ast::visit_block(&probe.body, &mut visit);
    uses
}

/// Why builtin `b` of a `provider` probe needs its attach point when compiling, if it does.
/// `single`: the attach point is its probe's only one (`probe` and `func` are then slots).
fn needs_attach_point(provider: &str, b: &str, single: bool) -> Option<&'static str> {
    let uprobe = matches!(provider, "uprobe" | "uretprobe");
    let kprobe = matches!(provider, "kprobe" | "kretprobe");
    match b {
        "probe" if !single => Some("the probe builtin of a block with several attach points is fixed when compiling"),
        "func" if (uprobe || kprobe) && !single => Some("the func builtin of a block with several attach points is fixed when compiling"),
        "args" if uprobe => Some("args is typed from the binary's debug info when compiling"),
        "uaddr()" if uprobe => Some("uaddr() finds its symbol in the probe's binary when compiling"),
        "args" if provider == "tracepoint" => Some("args is typed from the tracepoint's format when compiling"),
        _ => None,
    }
}

/// The parameters an attach point names, in order, each once.
fn params_in(raw: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = after[..digits].parse::<u32>() {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        rest = &after[digits..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with(src: &str, params: &[&str], complete: bool) -> (Program, Params, Diagnostics) {
        let mut diags = Diagnostics::default();
        let mut prog = crate::syntax::parse(src, &mut diags).unwrap_or_default();
        let params: Vec<String> = params.iter().map(|s| s.to_string()).collect();
        let p = substitute(&mut prog, Given { params: &params, complete }, 64, &mut diags);
        (prog, p, diags)
    }

    fn run(src: &str, params: &[&str]) -> (Program, Diagnostics) {
        let (prog, _, diags) = run_with(src, params, true);
        (prog, diags)
    }

    fn rendered(src: &str, d: &Diagnostics) -> String {
        d.render("stdin", src, false)
    }

    #[test]
    fn values_are_read_from_slots() {
        let (prog, p, diags) = run_with("BEGIN { @a = $1 + $1; @b = str($2); @c = str($2 + 3); @d = $#; }", &[], false);
        assert!(!diags.has_errors(), "{diags:?}");
        let want = [
            Slot { offset: 0, value: SlotValue::Int { n: 1 } },
            Slot { offset: 8, value: SlotValue::Str { n: 2, skip: 0, len: 64 } },
            Slot { offset: 72, value: SlotValue::Str { n: 2, skip: 3, len: 64 } },
            Slot { offset: 136, value: SlotValue::Count },
        ];
        assert_eq!(p.slots, want);
        assert_eq!((p.symbol.as_str(), p.size, p.folded.len()), (PARAM_SYMBOL, 144, 0));
        let text = format!("{:?}", prog.probes[0].body);
        assert!(text.contains("name: \"$param\"") && text.contains("name: \"$param_str\""), "{text}");
        assert!(!text.contains("Positional") && !text.contains("ParamCount"), "{text}");
    }

    #[test]
    fn constants_need_the_parameter_at_compile_time() {
        let src = "BEGIN { unroll($1) { @a = 1; } @h = lhist(1, 0, $2, 1); unroll($# + 1) {} }";
        let (_, p, diags) = run_with(src, &[], false);
        let text = rendered(src, &diags);
        assert!(text.contains("$2 must be given to btc compile: lhist()'s bounds"), "{text}");
        assert!(text.contains("$# must be given to btc compile: unroll's count is fixed when compiling"), "{text}");
        // unroll($N) alone is read when the object runs (and checked then).
        assert!(!text.contains("$1 must be given"), "{text}");
        assert_eq!(p.slots, vec![Slot { offset: 0, value: SlotValue::Unroll { n: 1 } }]);
        // So are the lengths of buf() and strncmp().
        let (_, p, diags) = run_with("BEGIN { @b = buf(\"ab\", $1); @c = strncmp(\"a\", \"b\", $2); }", &[], false);
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(p.slots.iter().map(|s| s.value.clone()).collect::<Vec<_>>(), vec![SlotValue::Int { n: 1 }, SlotValue::Int { n: 2 }]);
        let src = "BEGIN { unroll($1) { @a = 1; } @h = lhist(1, 0, $2, 1); }";
        let (_, p, diags) = run_with(src, &["3", "10"], false);
        assert!(!diags.has_errors());
        assert_eq!(p.folded, vec![Folded { n: 1, text: Some("3".into()) }, Folded { n: 2, text: Some("10".into()) }]);
        // Known to be missing when the compile has the run's parameters.
        let (_, p, _) = run_with(src, &["3"], true);
        assert_eq!(p.folded[1], Folded { n: 2, text: None });
    }

    #[test]
    fn literals_resolve_at_run_time_where_the_runtime_can() {
        let src = "BEGIN { @a = kaddr(str($1)); signal(str($2)); @c = cgroupid(str($3)); @u = uaddr(str($4)); }";
        let (prog, p, diags) = run_with(src, &[], false);
        let kinds: Vec<SlotValue> = p.slots.iter().map(|s| s.value.clone()).collect();
        assert_eq!(kinds, vec![SlotValue::Kaddr { n: 1 }, SlotValue::Signal { n: 2 }, SlotValue::Cgroupid { n: 3 }]);
        let text = rendered(src, &diags);
        assert!(text.contains("$4 must be given to btc compile: uaddr() finds the symbol"), "{text}");
        assert!(!format!("{:?}", prog.probes[0].body).contains("\"kaddr\""));
        // Given: folded as literals.
        let (prog, p, diags) = run_with(src, &["vfs_read", "SIGUSR1", "/sys/fs/cgroup", "main"], false);
        assert!(!diags.has_errors() && p.slots.is_empty() && p.folded.len() == 4);
        assert!(format!("{:?}", prog.probes[0].body).contains("Str(\"vfs_read\")"));
    }

    #[test]
    fn attach_points_are_completed_at_run_time_or_need_the_parameter() {
        let (prog, p, diags) = run_with("i:ms:$1 { exit(); } u:$2:main { @ = arg0; }", &[], false);
        assert!(!diags.has_errors() && p.folded.is_empty());
        assert_eq!(prog.probes[0].attach[0].raw, "interval:ms:$1");
        assert_eq!(prog.probes[1].attach[0].raw, "uprobe:$2:main");
        let src = "kprobe:$1+4 { exit(); } uprobe:$2:main { @ = args.x; @u = uaddr(\"v\"); } t:syscalls:$3 { @ = args.fd; } i:s:$1, i:s:$2 { print(probe); }";
        let (_, _, diags) = run_with(src, &[], false);
        let text = rendered(src, &diags);
        assert!(text.contains("$1 must be given to btc compile: the code of a kprobe probe depends on what it attaches to"), "{text}");
        let (prog, p, diags) = run_with("kr:$1 { @[func] = count(); }", &[], false);
        assert!(!diags.has_errors() && prog.probes[0].attach[0].raw == "kretprobe:$1" && p.slots.len() == 1);
        assert!(text.contains("args is typed from the tracepoint's format"), "{text}");
        assert!(text.contains("args is typed from the binary's debug info"), "{text}");
        assert!(text.contains("uaddr() finds its symbol in the probe's binary"), "{text}");
        assert!(text.contains("the probe builtin of a block with several attach points"), "{text}");
        // A USDT probe's binary: found when the object runs (its sites read by cookie).
        let (prog, p, diags) = run_with("usdt:$1:btc:tick { print(probe); }", &[], false);
        assert!(!diags.has_errors() && p.slots.is_empty() && p.folded.is_empty(), "{diags:?}");
        assert_eq!(prog.probes[0].attach[0].raw, "usdt:$1:btc:tick");
        let (_, _, diags) = run_with("usdt:/bin/x:$1:tick { exit(); }", &[], false);
        assert!(diags.has_errors());
        // A lone one: probe and func are slots the runtime fills.
        let (_, p, diags) = run_with("ur:$1:$2 { print((probe, func)); }", &[], false);
        assert!(!diags.has_errors(), "{diags:?}");
        let kinds: Vec<SlotValue> = p.slots.iter().map(|s| s.value.clone()).collect();
        let raw = "uretprobe:$1:$2".to_string();
        assert_eq!(kinds, vec![SlotValue::Probe { raw: raw.clone(), len: 256 }, SlotValue::Func { raw, len: 256 }]);
        // Given to the compile, a parameter the probe's code depends on is built in.
        let (prog, p, diags) = run_with("t:syscalls:$1 { @ = args.fd; }", &["sys_enter_read"], false);
        assert!(!diags.has_errors());
        assert_eq!(prog.probes[0].attach[0].raw, "t:syscalls:sys_enter_read");
        assert_eq!(p.folded, vec![Folded { n: 1, text: Some("sys_enter_read".into()) }]);
        // The run's own parameters: substituted as bpftrace does.
        let (prog, p, _) = run_with("i:ms:$1 { exit(); }", &["5"], true);
        assert_eq!(prog.probes[0].attach[0].raw, "i:ms:5");
        assert_eq!(p.folded, vec![Folded { n: 1, text: Some("5".into()) }]);
    }

    #[test]
    fn str_of_a_parameter_plus_a_constant_starts_later() {
        let (_, p, diags) = run_with("BEGIN { @a = str($1 + 1); @b = str(2 + $1); @d = str($1 + $2); }", &["hello", "3"], true);
        assert!(!diags.has_errors());
        let skips: Vec<u64> = p.slots.iter().filter_map(|s| match s.value { SlotValue::Str { skip, .. } => Some(skip), _ => None }).collect();
        assert_eq!(skips, vec![1, 2, 3]);
        let (_, diags) = run("BEGIN { @a = str($1 - 1); }", &["hello"]);
        assert!(diags.has_errors());
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
