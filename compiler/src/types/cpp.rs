//! A C preprocessor, enough for a script's preamble and the system headers it includes:
//! `#include` (through the [`TypeSource`]), object-like and function-like `#define`s (with `#`
//! and `##`), `#undef`, and `#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/`#endif` with constant
//! expressions. It yields the declaration tokens of the included headers and the macro table;
//! [`expand_script`] then expands macros in the script's own text.

use super::TypeSource;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

mod builtin;
mod lex;
mod text;
pub use lex::{lex, strip_comments};
use lex::lex_in;
pub use text::{Macros, TokText};

/// Deepest `#include` nesting followed.
const MAX_INCLUDE_DEPTH: u32 = 64;
/// Deepest nesting of macro expansions, and the most tokens one expansion may produce.
const MAX_EXPANSION_DEPTH: u32 = 128;
const MAX_EXPANSION_TOKENS: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokKind {
    Ident,
    Number,
    Str,
    Char,
    Punct,
}

/// A C token, with its byte offset in the text it came from (the script, or a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokKind,
    pub text: TokText,
    pub pos: u32,
}

impl Token {
    pub fn is(&self, s: &str) -> bool {
        self.text == s
    }
}

/// A `#define`.
#[derive(Debug, Clone)]
pub struct Macro {
    /// None for object-like macros.
    pub params: Option<Vec<String>>,
    pub variadic: bool,
    pub body: Vec<Token>,
}

/// The result of preprocessing the preamble.
#[derive(Debug, Default)]
pub struct Preprocessed {
    pub macros: Macros,
    /// Declaration tokens of included headers, in order (positions are within each header).
    pub header_tokens: Vec<Token>,
    /// `#include`s of the script whose header was not found: the name and the span of the
    /// header's name in the directive (None for `--include` files).
    pub missing: Vec<(String, Option<(u32, u32)>)>,
    /// `#include`s of the script whose header is only in the kernel's source tree: the name and
    /// the span of the header's name. They are not read; kernel BTF stands in for them.
    pub kernel_headers: Vec<(String, (u32, u32))>,
    /// Problems with the script's own directives: (start, end, message).
    pub errors: Vec<(u32, u32, String)>,
}

/// Runs the directives of the script (lines starting with `#`) and of every header they and
/// `--include` pull in.
pub fn preprocess(script: &str, source: &dyn TypeSource) -> Preprocessed {
    let mut p = Pre {
        source,
        out: Preprocessed::default(),
        once: HashSet::new(),
        depth: 0,
        headers: HashMap::new(),
        guards: HashMap::new(),
    };
    let mut defines = predefined();
    // bpftrace's own macro: scripts use it to skip kernel headers when BTF has the types.
    if script.contains("BPFTRACE_HAVE_BTF") && source.has_kernel_btf() {
        defines.push(("BPFTRACE_HAVE_BTF", "1"));
    }
    for (name, text) in defines {
        p.out.macros.insert(name.to_string(), Rc::new(Macro { params: None, variadic: false, body: lex(text, 0) }));
    }
    for forced in source.forced_includes() {
        match forced {
            Ok((path, text)) => p.file(&text, Some(&path), false),
            Err(name) => p.out.missing.push((name, None)),
        }
    }
    p.file(script, None, true);
    p.out
}

/// Macros every C compiler for this target defines.
fn predefined() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("__STDC__", "1"),
        ("__STDC_VERSION__", "201112L"),
        ("__linux__", "1"),
        ("__linux", "1"),
        ("__unix__", "1"),
        ("__ELF__", "1"),
        ("__LP64__", "1"),
        ("_LP64", "1"),
        ("__CHAR_BIT__", "8"),
        ("__SIZEOF_INT__", "4"),
        ("__SIZEOF_LONG__", "8"),
        ("__SIZEOF_LONG_LONG__", "8"),
        ("__SIZEOF_POINTER__", "8"),
        ("__SIZEOF_SHORT__", "2"),
        ("__SIZEOF_SIZE_T__", "8"),
        ("__ORDER_LITTLE_ENDIAN__", "1234"),
        ("__ORDER_BIG_ENDIAN__", "4321"),
        ("__BYTE_ORDER__", "1234"),
        ("__SCHAR_MAX__", "127"),
        ("__SHRT_MAX__", "32767"),
        ("__INT_MAX__", "2147483647"),
        ("__LONG_MAX__", "9223372036854775807L"),
        ("__LONG_LONG_MAX__", "9223372036854775807LL"),
        ("__SIZE_TYPE__", "unsigned long"),
        ("__PTRDIFF_TYPE__", "long"),
        ("__WCHAR_TYPE__", "int"),
        ("__INTPTR_TYPE__", "long"),
        ("__UINTPTR_TYPE__", "unsigned long"),
        ("__BPF_TRACING__", "1"),
    ];
    if cfg!(target_arch = "aarch64") {
        v.extend([("__aarch64__", "1"), ("__ARM_ARCH", "8")]);
    } else {
        v.extend([("__x86_64__", "1"), ("__x86_64", "1"), ("__amd64__", "1")]);
    }
    v
}

struct Pre<'a> {
    source: &'a dyn TypeSource,
    out: Preprocessed,
    once: HashSet<String>,
    depth: u32,
    /// What the source answered for each header asked for, by `(name, quoted, including
    /// file)` (the including file only for quoted names: `<...>` doesn't depend on it). A
    /// header is asked for once however often it is included.
    headers: HashMap<HeaderKey, Option<Header>>,
    /// The include guard of each header wrapped whole in `#ifndef GUARD ... #endif`, by path:
    /// including it again while GUARD is defined does nothing, so it is not read again (glibc's
    /// headers include features.h and bits/types.h a dozen times).
    guards: HashMap<Rc<str>, String>,
}

/// A header asked for: its name, whether it was quoted, and the including file when it was.
type HeaderKey = (String, bool, Option<String>);
/// A header found: its path and text.
type Header = (Rc<str>, Rc<str>);

/// Where a file stands on being wrapped whole in an include guard, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Guard {
    /// Nothing but blank lines so far.
    Start,
    /// Inside the leading `#ifndef NAME` (which is at depth 1 of the `#if` stack).
    Open(String),
    /// Its `#endif` was seen, and nothing but blank lines since.
    Closed(String),
    /// Something is outside the guard, or there is none.
    No,
}

impl Guard {
    /// The state after a non-blank line: a directive `name` with first argument `arg`, seen
    /// with `depth` levels of `#if` open before it (None for any other line).
    fn step(self, directive: Option<(&str, Option<&Token>)>, depth: usize) -> Guard {
        match (self, directive) {
            (Guard::Start, Some(("ifndef", Some(arg)))) if depth == 0 && arg.kind == TokKind::Ident => {
                Guard::Open(arg.text.to_string())
            }
            (Guard::Open(g), Some(("endif", _))) if depth == 1 => Guard::Closed(g),
            (Guard::Open(_), Some(("else" | "elif", _))) if depth == 1 => Guard::No,
            (Guard::Open(g), _) => Guard::Open(g),
            _ => Guard::No,
        }
    }
}

/// The name of a directive (what follows its `#`) as [`lex`] would give its first token, when
/// that is an identifier.
fn directive_name(directive: &str) -> &str {
    let b = directive.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_whitespace() || (b[i] == b'\\' && matches!(b.get(i + 1), Some(b'\n' | b'\r')))) {
        i += 1;
    }
    let start = i;
    if !b.get(i).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return "";
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    directive.get(start..i).unwrap_or("")
}

/// The tokens of `line[from..]`, at offset `base`: `line` is the file's text `src` from `start`
/// (`in_src`), or continuation lines joined.
fn lex_line(src: &Rc<str>, line: &str, in_src: bool, start: usize, from: usize, base: u32, out: &mut Vec<Token>) {
    if in_src {
        lex_in(src, start + from..start + line.len(), base, out);
    } else {
        lex_in(&Rc::from(line), from..line.len(), base, out);
    }
}

/// The lines of a text, each with its `\n` (as `split_inclusive('\n')` gives them).
struct Lines<'a>(&'a str);

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.0.as_bytes()).map_or(self.0.len(), |n| n + 1);
        let (line, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(line)
    }
}

/// True when a line (its `\n` and `\r`s aside) ends with a backslash.
fn continued(line: &str) -> bool {
    let b = line.as_bytes();
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    end > 0 && b[end - 1] == b'\\'
}

/// `s.trim_start()`, with a fast path for ASCII whitespace.
fn trim_start(s: &str) -> &str {
    let n = s.bytes().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).unwrap_or(s.len());
    let rest = s.get(n..).unwrap_or("");
    if rest.as_bytes().first().is_some_and(|&c| c >= 0x80) {
        rest.trim_start()
    } else {
        rest
    }
}

/// One level of `#if` nesting.
struct Cond {
    /// Lines in this branch are processed.
    active: bool,
    /// Some branch of this `#if` was taken already.
    taken: bool,
    /// The enclosing level is active.
    outer: bool,
}

impl Pre<'_> {
    /// Processes one file: the script (`script`: only its directive lines count; the rest is
    /// bpftrace, parsed elsewhere) or a header.
    fn file(&mut self, text: &str, path: Option<&str>, script: bool) {
        if let Some(p) = path {
            if self.once.contains(p) {
                return;
            }
        }
        let src: Rc<str> = Rc::from(strip_comments(text));
        let text = &*src;
        let mut conds: Vec<Cond> = Vec::new();
        let mut chunk: Vec<Token> = Vec::new();
        let mut offset = 0usize;
        let mut guard = if path.is_some() && !script { Guard::Start } else { Guard::No };
        let mut toks: Vec<Token> = Vec::new();
        let mut lines = Lines(text);
        while let Some(first) = lines.next() {
            let start = offset;
            offset += first.len();
            let mut line = Cow::Borrowed(first);
            // Continuation lines.
            while continued(&line) {
                let Some(next) = lines.next() else { break };
                offset += next.len();
                let l = line.to_mut();
                l.truncate(l.trim_end_matches(['\n', '\r']).len() - 1);
                l.push(' ');
                l.push_str(next);
            }
            let active = conds.last().is_none_or(|c| c.active);
            let trimmed = trim_start(&line);
            if trimmed.is_empty() {
                continue;
            }
            // `#!/usr/bin/env bpftrace`
            if trimmed.starts_with("#!") {
                guard = Guard::No;
                continue;
            }
            let Some(directive) = trimmed.strip_prefix('#') else {
                if guard != Guard::No {
                    guard = guard.step(None, conds.len());
                }
                if active && !script {
                    lex_line(&src, &line, matches!(line, Cow::Borrowed(_)), start, 0, u32::try_from(start).unwrap_or(u32::MAX), &mut chunk);
                }
                continue;
            };
            if !script && !chunk.is_empty() {
                let expanded = expand(&std::mem::take(&mut chunk), &self.out.macros);
                self.out.header_tokens.extend(expanded);
            }
            // In a skipped branch only the conditionals count, and only by name (but an #elif
            // that may be taken): nothing else is even split into tokens.
            toks.clear();
            let (name, args) = if active || (directive_name(directive) == "elif" && conds.last().is_some_and(|c| c.outer && !c.taken)) {
                let base = u32::try_from(start + (line.len() - trimmed.len()) + 1).unwrap_or(u32::MAX);
                lex_line(&src, &line, matches!(line, Cow::Borrowed(_)), start, line.len() - directive.len(), base, &mut toks);
                (toks.first().map(|t| t.text.as_str()).unwrap_or(""), toks.get(1..).unwrap_or(&[]))
            } else {
                match directive_name(directive) {
                    n @ ("if" | "ifdef" | "ifndef" | "elif" | "else" | "endif") => (n, &[][..]),
                    _ => continue,
                }
            };
            let span = (u32::try_from(start).unwrap_or(u32::MAX), u32::try_from(start + line.trim_end().len()).unwrap_or(u32::MAX));
            if guard != Guard::No {
                guard = guard.step(Some((name, args.first())), conds.len());
            }
            match name {
                "if" | "ifdef" | "ifndef" => {
                    let v = active
                        && match name {
                            "ifdef" => args.first().is_some_and(|t| self.out.macros.contains_key(t.text.as_str())),
                            "ifndef" => !args.first().is_some_and(|t| self.out.macros.contains_key(t.text.as_str())),
                            _ => self.eval(args) != 0,
                        };
                    conds.push(Cond { active: v, taken: v, outer: active });
                }
                "elif" => {
                    if let Some(c) = conds.last() {
                        let (outer, taken) = (c.outer, c.taken);
                        let v = outer && !taken && self.eval(args) != 0;
                        if let Some(c) = conds.last_mut() {
                            c.active = v;
                            c.taken |= v;
                        }
                    } else if script {
                        self.out.errors.push((span.0, span.1, "#elif without #if".into()));
                    }
                }
                "else" => match conds.last_mut() {
                    Some(c) => {
                        c.active = c.outer && !c.taken;
                        c.taken = true;
                    }
                    None if script => self.out.errors.push((span.0, span.1, "#else without #if".into())),
                    None => {}
                },
                "endif" => {
                    let unmatched = conds.pop().is_none();
                    if unmatched && script {
                        self.out.errors.push((span.0, span.1, "#endif without #if".into()));
                    }
                }
                _ if !active => {}
                "define" => self.define(args, script, span),
                "undef" => {
                    if let Some(t) = args.first() {
                        self.out.macros.remove(t.text.as_str());
                    }
                }
                "include" | "include_next" => self.include(args, path, script.then_some(span)),
                "pragma" if args.first().is_some_and(|t| t.is("once")) => {
                    if let Some(p) = path {
                        self.once.insert(p.to_string());
                    }
                }
                "pragma" => {}
                "error" if script => self.out.errors.push((span.0, span.1, format!("#error {}", join(args)))),
                "" | "error" | "warning" | "line" | "ident" => {}
                other if script => {
                    self.out.errors.push((span.0, span.1, format!("unknown preprocessor directive #{other}")));
                }
                _ => {}
            }
        }
        if !script && !chunk.is_empty() {
            let expanded = expand(&chunk, &self.out.macros);
            self.out.header_tokens.extend(expanded);
        }
        if script && !conds.is_empty() {
            let end = u32::try_from(text.len()).unwrap_or(u32::MAX);
            self.out.errors.push((end, end, "unterminated #if".into()));
        }
        if let (Guard::Closed(g), Some(p)) = (guard, path) {
            self.guards.insert(p.into(), g);
        }
    }

    fn define(&mut self, args: &[Token], script: bool, span: (u32, u32)) {
        let Some(name) = args.first().filter(|t| t.kind == TokKind::Ident) else {
            if script {
                self.out.errors.push((span.0, span.1, "#define needs a macro name".into()));
            }
            return;
        };
        // A function-like macro has its `(` right after the name, with no space.
        let function_like = args.get(1).is_some_and(|t| t.is("(") && t.pos as usize == name.pos as usize + name.text.len());
        let mut m = Macro { params: None, variadic: false, body: Vec::new() };
        let mut rest = &args[1..];
        if function_like {
            let mut params = Vec::new();
            let mut i = 1;
            while let Some(t) = rest.get(i) {
                i += 1;
                match t.text.as_str() {
                    ")" => break,
                    "," => {}
                    "..." => m.variadic = true,
                    _ => params.push(t.text.to_string()),
                }
            }
            m.params = Some(params);
            rest = rest.get(i..).unwrap_or(&[]);
        }
        m.body = rest.to_vec();
        self.out.macros.insert(name.text.to_string(), Rc::new(m));
    }

    fn include(&mut self, args: &[Token], from: Option<&str>, span: Option<(u32, u32)>) {
        let args = expand(args, &self.out.macros);
        let (name, quoted) = match args.first() {
            Some(t) if t.kind == TokKind::Str => (t.text.trim_matches('"').to_string(), true),
            Some(t) if t.is("<") => {
                let inner: String = args[1..].iter().take_while(|t| !t.is(">")).map(|t| t.text.as_str()).collect();
                (inner, false)
            }
            _ => {
                if let Some((s, e)) = span {
                    self.out.errors.push((s, e, "#include expects \"FILE\" or <FILE>".into()));
                }
                return;
            }
        };
        if self.depth >= MAX_INCLUDE_DEPTH {
            return;
        }
        // Where the header's name is (`<a/b.h>` or `"a/b.h"`), as clang points at it.
        let span = span.map(|(s, e)| {
            let end = if quoted { args.first() } else { args.iter().find(|t| t.is(">")) };
            match (args.first(), end) {
                (Some(a), Some(b)) if s <= a.pos && b.pos >= a.pos && (b.pos as usize + b.text.len()) as u64 <= u64::from(e) => {
                    (a.pos, b.pos + u32::try_from(b.text.len()).unwrap_or(0))
                }
                _ => (s, e),
            }
        });
        let found = self.header(name.clone(), quoted, from);
        match (found, span) {
            (Some((path, text)), _) => {
                // Room for the macros of a few system headers (glibc's <sys/socket.h> defines
                // some 600), made when the first one is included.
                if self.out.macros.capacity() < 1024 {
                    self.out.macros.reserve(1024);
                }
                if self.guards.get(&path).is_some_and(|g| self.out.macros.contains_key(g)) {
                    return;
                }
                self.depth += 1;
                self.file(&text, Some(&path), false);
                self.depth -= 1;
            }
            // A header missing from a header is skipped (headers are best effort); one the
            // script includes is an error (`span` is Some only for the script's directives),
            // unless the kernel's source tree has it: BTF has its types.
            (None, Some(span)) if self.source.kernel_header(&name) => self.out.kernel_headers.push((name, span)),
            (None, Some(span)) => self.out.missing.push((name, Some(span))),
            (None, None) => {}
        }
    }

    /// The path and text of a header, from the source the first time it is asked for.
    fn header(&mut self, name: String, quoted: bool, from: Option<&str>) -> Option<Header> {
        let key = (name, quoted, from.filter(|_| quoted).map(str::to_string));
        if let Some(found) = self.headers.get(&key) {
            return found.clone();
        }
        let found = self.source.header(&key.0, quoted, from).map(|(p, t)| (Rc::from(p), Rc::from(t))).or_else(|| {
            // The compiler's own headers, when the search path has none of that name.
            builtin::header(&key.0).map(|t| (Rc::from(format!("{}/{}", builtin::DIR, key.0)), Rc::from(t)))
        });
        self.headers.insert(key, found.clone());
        found
    }

    /// Evaluates a `#if` expression.
    fn eval(&mut self, args: &[Token]) -> i64 {
        // `defined` and `__has_include` first, before macros are expanded.
        let mut toks = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let t = &args[i];
            let paren = args.get(i + 1).is_some_and(|t| t.is("("));
            if t.is("defined") {
                let (name, skip) = if paren { (args.get(i + 2), 4) } else { (args.get(i + 1), 2) };
                let v = name.is_some_and(|n| self.out.macros.contains_key(n.text.as_str()));
                toks.push(Token { kind: TokKind::Number, text: if v { "1" } else { "0" }.into(), pos: t.pos });
                i += skip;
                continue;
            }
            if t.text.starts_with("__has_") && paren {
                let close = args[i..].iter().position(|t| t.is(")")).map_or(args.len(), |p| i + p);
                let inner = args.get(i + 2..close).unwrap_or(&[]);
                let v = if t.is("__has_include") || t.is("__has_include_next") {
                    let quoted = inner.first().is_some_and(|t| t.kind == TokKind::Str);
                    let name: String = if quoted {
                        inner[0].text.trim_matches('"').to_string()
                    } else {
                        inner.iter().filter(|t| !t.is("<") && !t.is(">")).map(|t| t.text.as_str()).collect()
                    };
                    self.header(name, quoted, None).is_some()
                } else {
                    false
                };
                toks.push(Token { kind: TokKind::Number, text: if v { "1" } else { "0" }.into(), pos: t.pos });
                i = close + 1;
                continue;
            }
            toks.push(t.clone());
            i += 1;
        }
        let toks = expand(&toks, &self.out.macros);
        let mut e = Eval { toks: &toks, i: 0, depth: 0 };
        e.ternary()
    }
}

fn join(toks: &[Token]) -> String {
    toks.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ")
}

/// Expands every macro in `toks`.
pub fn expand(toks: &[Token], macros: &Macros) -> Vec<Token> {
    let mut budget = MAX_EXPANSION_TOKENS;
    let mut disabled = Vec::new();
    expand_with(toks, macros, &mut disabled, 0, &mut budget)
}

fn expand_with(
    toks: &[Token],
    macros: &Macros,
    disabled: &mut Vec<TokText>,
    depth: u32,
    budget: &mut usize,
) -> Vec<Token> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let m = (t.kind == TokKind::Ident && depth < MAX_EXPANSION_DEPTH && !disabled.contains(&t.text))
            .then(|| macros.get(t.text.as_str()))
            .flatten();
        let Some(m) = m else {
            out.push(t.clone());
            i += 1;
            continue;
        };
        let (body, next) = match &m.params {
            None => (m.body.clone(), i + 1),
            Some(params) => {
                if !toks.get(i + 1).is_some_and(|n| n.is("(")) {
                    out.push(t.clone());
                    i += 1;
                    continue;
                }
                let Some((args, end)) = collect_args(toks, i + 2) else {
                    out.push(t.clone());
                    i += 1;
                    continue;
                };
                (substitute(m, params, &args, macros, disabled, depth, budget), end + 1)
            }
        };
        let body: Vec<Token> = body.into_iter().map(|b| Token { pos: t.pos, ..b }).collect();
        disabled.push(t.text.clone());
        let expanded = expand_with(&body, macros, disabled, depth + 1, budget);
        disabled.pop();
        *budget = budget.saturating_sub(expanded.len());
        if *budget == 0 {
            return out;
        }
        out.extend(expanded);
        i = next;
    }
    out
}

/// The arguments of a macro call starting after its `(`: each argument's tokens, and the index
/// of the closing `)`.
fn collect_args(toks: &[Token], mut i: usize) -> Option<(Vec<Vec<Token>>, usize)> {
    let mut args = vec![Vec::new()];
    let mut depth = 0;
    while let Some(t) = toks.get(i) {
        match t.text.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                if args.len() == 1 && args[0].is_empty() {
                    args.clear();
                }
                return Some((args, i));
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                args.push(Vec::new());
                i += 1;
                continue;
            }
            _ => {}
        }
        if let Some(a) = args.last_mut() {
            a.push(t.clone());
        }
        i += 1;
    }
    None
}

fn substitute(
    m: &Macro,
    params: &[String],
    args: &[Vec<Token>],
    macros: &Macros,
    disabled: &mut Vec<TokText>,
    depth: u32,
    budget: &mut usize,
) -> Vec<Token> {
    let arg_of = |name: &str| -> Option<Vec<Token>> {
        if let Some(p) = params.iter().position(|p| p == name) {
            return Some(args.get(p).cloned().unwrap_or_default());
        }
        if m.variadic && name == "__VA_ARGS__" {
            let mut v = Vec::new();
            for (k, a) in args.iter().enumerate().skip(params.len()) {
                if k > params.len() {
                    v.push(Token { kind: TokKind::Punct, text: ",".into(), pos: 0 });
                }
                v.extend(a.iter().cloned());
            }
            return Some(v);
        }
        None
    };
    let body = &m.body;
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let t = &body[i];
        if t.is("#") && body.get(i + 1).is_some_and(|n| arg_of(&n.text).is_some()) {
            let a = arg_of(&body[i + 1].text).unwrap_or_default();
            let text = format!("\"{}\"", join(&a).replace('\\', "\\\\").replace('"', "\\\""));
            out.push(Token { kind: TokKind::Str, text: text.into(), pos: t.pos });
            i += 2;
            continue;
        }
        if t.is("##") {
            // Paste the previous token with the next one.
            let next = body.get(i + 1);
            let rhs = next.and_then(|n| arg_of(&n.text)).or_else(|| next.map(|n| vec![n.clone()])).unwrap_or_default();
            let mut rhs = rhs.into_iter();
            match (out.pop(), rhs.next()) {
                (Some(l), Some(r)) => {
                    let text = format!("{}{}", l.text, r.text);
                    out.extend(lex(&text, l.pos).into_iter().map(|x| Token { pos: l.pos, ..x }));
                }
                (Some(l), None) => out.push(l),
                (None, Some(r)) => out.push(r),
                (None, None) => {}
            }
            out.extend(rhs);
            i += 2;
            continue;
        }
        match arg_of(&t.text) {
            Some(a) if body.get(i + 1).is_some_and(|n| n.is("##")) => out.extend(a),
            Some(a) => out.extend(expand_with(&a, macros, disabled, depth + 1, budget)),
            None => out.push(t.clone()),
        }
        i += 1;
    }
    out
}

/// `#if` expressions: C's integer operators over i64.
struct Eval<'a> {
    toks: &'a [Token],
    i: usize,
    depth: u32,
}

/// Deepest nesting of a `#if` expression evaluated (deeper is 0, not a stack overflow).
const MAX_EVAL_DEPTH: u32 = 256;

impl Eval<'_> {
    fn peek(&self) -> &str {
        self.toks.get(self.i).map_or("", |t| t.text.as_str())
    }

    fn ternary(&mut self) -> i64 {
        if self.depth > MAX_EVAL_DEPTH {
            self.i = self.toks.len();
            return 0;
        }
        let c = self.binary(0);
        if self.peek() == "?" {
            self.i += 1;
            let a = self.ternary();
            if self.peek() == ":" {
                self.i += 1;
            }
            let b = self.ternary();
            return if c != 0 { a } else { b };
        }
        c
    }

    fn binary(&mut self, min: u8) -> i64 {
        let mut lhs = self.unary();
        loop {
            let (op, prec): (&'static str, u8) = match self.peek() {
                "||" => ("||", 1),
                "&&" => ("&&", 2),
                "|" => ("|", 3),
                "^" => ("^", 4),
                "&" => ("&", 5),
                "==" => ("==", 6),
                "!=" => ("!=", 6),
                "<" => ("<", 7),
                ">" => (">", 7),
                "<=" => ("<=", 7),
                ">=" => (">=", 7),
                "<<" => ("<<", 8),
                ">>" => (">>", 8),
                "+" => ("+", 9),
                "-" => ("-", 9),
                "*" => ("*", 10),
                "/" => ("/", 10),
                "%" => ("%", 10),
                _ => return lhs,
            };
            if prec <= min {
                return lhs;
            }
            self.i += 1;
            let rhs = self.binary(prec);
            lhs = match op {
                "||" => i64::from(lhs != 0 || rhs != 0),
                "&&" => i64::from(lhs != 0 && rhs != 0),
                "|" => lhs | rhs,
                "^" => lhs ^ rhs,
                "&" => lhs & rhs,
                "==" => i64::from(lhs == rhs),
                "!=" => i64::from(lhs != rhs),
                "<" => i64::from(lhs < rhs),
                ">" => i64::from(lhs > rhs),
                "<=" => i64::from(lhs <= rhs),
                ">=" => i64::from(lhs >= rhs),
                "<<" => lhs.wrapping_shl(u32::try_from(rhs & 63).unwrap_or(0)),
                ">>" => lhs.wrapping_shr(u32::try_from(rhs & 63).unwrap_or(0)),
                "+" => lhs.wrapping_add(rhs),
                "-" => lhs.wrapping_sub(rhs),
                "*" => lhs.wrapping_mul(rhs),
                "/" => lhs.checked_div(rhs).unwrap_or(0),
                _ => lhs.checked_rem(rhs).unwrap_or(0),
            };
        }
    }

    fn unary(&mut self) -> i64 {
        let Some(t) = self.toks.get(self.i) else { return 0 };
        self.i += 1;
        if self.depth > MAX_EVAL_DEPTH {
            self.i = self.toks.len();
            return 0;
        }
        self.depth += 1;
        let v = self.unary_inner(t);
        self.depth -= 1;
        v
    }

    fn unary_inner(&mut self, t: &Token) -> i64 {
        match t.text.as_str() {
            "!" => i64::from(self.unary() == 0),
            "-" => self.unary().wrapping_neg(),
            "+" => self.unary(),
            "~" => !self.unary(),
            "(" => {
                let v = self.ternary();
                if self.peek() == ")" {
                    self.i += 1;
                }
                v
            }
            _ => match t.kind {
                TokKind::Number => parse_c_int(&t.text).unwrap_or(0),
                TokKind::Char => char_value(&t.text),
                // Identifiers left after expansion are 0.
                _ => 0,
            },
        }
    }
}

/// Evaluates a constant expression of macro-expanded tokens.
pub fn eval_tokens(toks: &[Token]) -> i64 {
    Eval { toks, i: 0, depth: 0 }.ternary()
}

/// A C integer literal (decimal, hex, octal, with suffixes).
pub fn parse_c_int(text: &str) -> Option<i64> {
    let t = text.trim_end_matches(['u', 'U', 'l', 'L']);
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<u64>().ok()?
    };
    Some(v as i64)
}

fn char_value(text: &str) -> i64 {
    let inner = text.trim_matches('\'');
    let (s, _) = crate::syntax::unescape(inner);
    s.bytes().next().map_or(0, i64::from)
}

#[cfg(test)]
mod tests;
