//! Typing `nsecs(mode)` and `debugf(fmt, ...)`.
//!
//! - `nsecs` takes an optional clock: `monotonic`, `boot` (the default, as bare `nsecs`), `tai`
//!   (bpf_ktime_get_tai_ns, Linux 6.1+) or `sw_tai` (the boot clock plus the TAI offset the
//!   runtime measures when tracing starts). The mode is recorded in the instance's constants
//!   under the id of the mode identifier (which is never evaluated), as a [`TimestampMode`]
//!   number, for code generation and `strftime`.
//! - `debugf` writes to the kernel's trace buffer with bpf_trace_printk: at most three
//!   arguments, and only the conversions the helper supports.
//! - `args` in a uprobe, used as a value (`print(args)`, `@m = args`, `@m[args]`), is a struct
//!   of the DWARF parameters, named `struct PROBE_args` as in bpftrace, that code generation
//!   builds from the argument registers. `args.x` still reads one register (the record).

use super::check::Checker;
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::types::{Origin, Record, RecordField, RecordKind, StructRef, Type};
use std::rc::Rc;

/// The clock `nsecs(mode)` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampMode {
    Monotonic = 0,
    Boot = 1,
    Tai = 2,
    SwTai = 3,
}

impl TimestampMode {
    pub fn parse(name: &str) -> Option<TimestampMode> {
        Some(match name {
            "monotonic" => TimestampMode::Monotonic,
            "boot" => TimestampMode::Boot,
            "tai" => TimestampMode::Tai,
            "sw_tai" => TimestampMode::SwTai,
            _ => return None,
        })
    }

    pub fn from_const(v: u64) -> TimestampMode {
        match v {
            0 => TimestampMode::Monotonic,
            2 => TimestampMode::Tai,
            3 => TimestampMode::SwTai,
            _ => TimestampMode::Boot,
        }
    }
}

/// bpf_trace_printk takes at most three arguments after its format.
pub const PRINTK_MAX_ARGS: usize = 3;

/// The length modifiers and conversions of bpftrace's printf (its format tokens).
const PRINTF_TOKENS: &[&str] = &[
    "s", "r", "rx", "rh", "c", "d", "u", "o", "x", "X", "p", "hhd", "hhu", "hho", "hhx", "hhX", "hhp", "hd", "hu", "ho",
    "hx", "hX", "hp", "ld", "lu", "lo", "lx", "lX", "lp", "lld", "llu", "llo", "llx", "llX", "llp", "jd", "ju", "jo",
    "jx", "jX", "jp", "zd", "zu", "zo", "zx", "zX", "zp", "td", "tu", "to", "tx", "tX", "tp",
];

/// The tokens bpf_trace_printk accepts, and whether each takes a string.
const PRINTK_TOKENS: &[(&str, bool)] = &[
    ("d", false),
    ("u", false),
    ("x", false),
    ("ld", false),
    ("lu", false),
    ("lx", false),
    ("lld", false),
    ("llu", false),
    ("llx", false),
    ("p", false),
    ("s", true),
];

/// The conversion specifications of `fmt` as bpftrace finds them: `%`, an optional `-`,
/// digits, an optional `.digits`, then one of its printf tokens. Returns the token of each
/// (without the flag and width).
pub fn format_tokens(fmt: &str) -> Vec<String> {
    let b = fmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            j += 1;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        let rest = &fmt[j..];
        match PRINTF_TOKENS.iter().filter(|t| rest.starts_with(**t)).max_by_key(|t| t.len()) {
            Some(t) => {
                out.push((*t).to_string());
                i = j + t.len();
            }
            None => i += 1,
        }
    }
    out
}

/// The name bpftrace gives the kind of a value in format errors.
fn kind_name(t: &Type) -> &'static str {
    use btc_bpfprog::RuntimeTy;
    match t {
        Type::Int { .. } | Type::Ptr { .. } => "integer",
        Type::Str { .. } => "string",
        Type::Runtime(RuntimeTy::Buf { .. }) => "buffer",
        Type::Runtime(_) => "string",
        Type::Tuple(_) => "tuple",
        Type::Record(_) | Type::Struct(_) => "record",
        Type::Array { .. } => "array",
        Type::Agg(a) => match a {
            crate::types::AggKind::Count => "count",
            crate::types::AggKind::Sum => "sum",
            crate::types::AggKind::Min => "min",
            crate::types::AggKind::Max => "max",
            crate::types::AggKind::Avg => "avg",
            crate::types::AggKind::Stats => "stats",
            crate::types::AggKind::Hist { .. } => "hist",
            crate::types::AggKind::Lhist { .. } => "lhist",
        },
        Type::Void => "none",
    }
}

/// Checks a debugf format against its arguments, with bpftrace's messages.
pub fn check_debugf_format(fmt: &str, args: &[Type]) -> Result<(), String> {
    let tokens = format_tokens(fmt);
    let (given, want) = (args.len(), tokens.len());
    if given < want {
        return Err(format!("debugf: Not enough arguments for format string ({given} supplied, {want} expected)"));
    }
    if given > want {
        return Err(format!("debugf: Too many arguments for format string ({given} supplied, {want} expected)"));
    }
    if given > PRINTK_MAX_ARGS {
        return Err(format!("debugf: Cannot use more than {PRINTK_MAX_ARGS} conversion specifiers"));
    }
    for (token, arg) in tokens.iter().zip(args) {
        let Some(&(_, wants_string)) = PRINTK_TOKENS.iter().find(|(t, _)| t == token) else {
            return Err(format!("debugf: Unknown format string token: %{token}"));
        };
        let want = if wants_string { "string" } else { "integer" };
        let got = kind_name(arg);
        if got != want {
            return Err(format!("debugf: %{token} specifier expects a value of type {want} ({got} supplied)"));
        }
    }
    Ok(())
}

impl Checker<'_> {
    pub(crate) fn call_builtins(&mut self, e: &Expr, f: crate::catalogue::Kernel, args: &[Expr]) -> Type {
        use crate::catalogue::Kernel;
        match f {
            Kernel::Nsecs => self.nsecs_call(e, args),
            Kernel::Debugf => self.debugf_call(e, args),
        }
    }

    fn nsecs_call(&mut self, e: &Expr, args: &[Expr]) -> Type {
        match args {
            [] => {}
            [a] => match &a.kind {
                ExprKind::Builtin(m) => {
                    self.set(a, Type::Void);
                    match TimestampMode::parse(m) {
                        Some(m) => {
                            self.consts.insert(a.id, m as u64);
                        }
                        None => self.err(a.span, format!("Invalid timestamp mode: {m}")),
                    }
                }
                _ => {
                    let t = self.expr(a);
                    let what = kind_name(&t);
                    self.err(e.span, format!("nsecs() only supports timestamp mode arguments ({what} provided)"));
                }
            },
            _ => {
                for a in args {
                    if !matches!(a.kind, ExprKind::Builtin(_)) {
                        self.expr(a);
                    }
                }
                self.err(e.span, format!("nsecs() takes up to one argument ({} provided)", args.len()));
            }
        }
        Type::U64
    }

    fn debugf_call(&mut self, e: &Expr, args: &[Expr]) -> Type {
        let tys: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        let Some(first) = args.first() else {
            self.err(e.span, "debugf() requires at least one argument (0 provided)");
            return Type::Void;
        };
        let ExprKind::Str(fmt) = &first.kind else {
            self.err(e.span, format!("debugf() expects a string literal ({} provided)", kind_name(&tys[0])));
            return Type::Void;
        };
        if let Err(msg) = check_debugf_format(fmt, &tys[1..]) {
            self.err(e.span, msg);
        }
        if self.final_pass {
            let msg = "The debugf() builtin is not recommended for production use. For more information see \
                       bpf_trace_printk in bpf-helpers(7).";
            self.diags.push(Diagnostic::warning(e.span, msg));
        }
        Type::Void
    }

    /// The type of the base of `.field` / `->field`: `args` is the record of the probe's
    /// arguments there (each field read where it is), whatever its type as a value.
    pub(crate) fn access_base(&mut self, base: &Expr) -> Type {
        match (&base.kind, &self.rp.args) {
            (ExprKind::Builtin(b), Some(r)) if b == "args" => {
                let t = Type::Record(r.clone());
                self.set(base, t)
            }
            _ => self.expr(base),
        }
    }

    /// The struct type of a uprobe's `args` used as a value: the record's fields in C layout.
    pub(crate) fn uprobe_args_value(&mut self, r: &Record) -> Type {
        let mut fields = Vec::with_capacity(r.fields.len());
        let mut size = 0u32;
        let mut align = 1u32;
        for f in &r.fields {
            let a = f.ty.c_align().max(1);
            let offset = size.next_multiple_of(a);
            size = offset + f.ty.c_size();
            align = align.max(a);
            fields.push(RecordField::new(f.name.clone(), offset, f.ty.clone()));
        }
        let name = format!("{}_args", self.rp.name);
        let record = Record { name, fields, size: size.next_multiple_of(align) };
        Type::Struct(Rc::new(StructRef::resolved(RecordKind::Struct, record, Origin::Dwarf)))
    }

    /// The clock of a timestamp expression: a direct `nsecs(mode)` call has its mode, anything
    /// else counts as the boot clock (as an integer does in bpftrace).
    pub(crate) fn timestamp_mode(&self, e: &Expr) -> TimestampMode {
        match &e.kind {
            ExprKind::Call { func: Some(Func::Kernel(crate::catalogue::Kernel::Nsecs)), args, .. } => nsecs_mode(args, &self.consts),
            _ => TimestampMode::Boot,
        }
    }
}

/// The clock of `nsecs(args)`, from the constants the checker recorded.
pub fn nsecs_mode(args: &[Expr], consts: &std::collections::HashMap<ExprId, u64>) -> TimestampMode {
    match args {
        [a] => consts.get(&a.id).map_or(TimestampMode::Boot, |v| TimestampMode::from_const(*v)),
        _ => TimestampMode::Boot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_as_bpftrace_finds_them() {
        assert_eq!(format_tokens("a %s %-5d %3.2lld %rx %q %%"), vec!["s", "d", "lld", "rx"]);
        // After a '%' that starts no specification the search goes on at the next character.
        assert_eq!(format_tokens("%%d"), vec!["d"]);
        assert!(format_tokens("no specs").is_empty());
    }

    #[test]
    fn debugf_formats() {
        let s = Type::Str { len: 4 };
        assert_eq!(check_debugf_format("debugf %s %d %x", &[s.clone(), Type::I64, Type::I64]), Ok(()));
        assert_eq!(
            check_debugf_format("%d %d %d %d", &[Type::I64, Type::I64, Type::I64, Type::I64]),
            Err("debugf: Cannot use more than 3 conversion specifiers".into())
        );
        assert_eq!(
            check_debugf_format("%d", &[]),
            Err("debugf: Not enough arguments for format string (0 supplied, 1 expected)".into())
        );
        assert_eq!(
            check_debugf_format("x", &[Type::I64]),
            Err("debugf: Too many arguments for format string (1 supplied, 0 expected)".into())
        );
        assert_eq!(check_debugf_format("%X", &[Type::I64]), Err("debugf: Unknown format string token: %X".into()));
        assert_eq!(
            check_debugf_format("%d", &[s]),
            Err("debugf: %d specifier expects a value of type integer (string supplied)".into())
        );
        assert_eq!(
            check_debugf_format("%s", &[Type::I64]),
            Err("debugf: %s specifier expects a value of type string (integer supplied)".into())
        );
        assert_eq!(check_debugf_format("%p %llu", &[Type::kptr(Type::I64), Type::U64]), Ok(()));
    }

    #[test]
    fn timestamp_modes() {
        assert_eq!(TimestampMode::parse("sw_tai"), Some(TimestampMode::SwTai));
        assert_eq!(TimestampMode::parse("realtime"), None);
        for m in [TimestampMode::Monotonic, TimestampMode::Boot, TimestampMode::Tai, TimestampMode::SwTai] {
            assert_eq!(TimestampMode::from_const(m as u64), m);
        }
    }
}
