//! Expanding the preamble's macros in the script text, before it is parsed, with a map from
//! offsets in the expanded text back to the source (so diagnostics point at what was written).

use super::cpp::{expand, lex, Macros, TokKind, Token};

/// One replaced range: `[exp_start, exp_end)` of the expanded text came from
/// `[src_start, src_end)` of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    exp_start: u32,
    exp_end: u32,
    src_start: u32,
    src_end: u32,
}

/// Maps offsets in the expanded text to offsets in the source.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    segments: Vec<Segment>,
}

impl SourceMap {
    pub fn is_identity(&self) -> bool {
        self.segments.is_empty()
    }

    /// The source offset of expanded offset `pos`; `end` says whether it ends a span (an end
    /// inside a replacement maps to the end of what it replaced).
    pub fn map(&self, pos: u32, end: bool) -> u32 {
        let mut delta: i64 = 0;
        for s in &self.segments {
            if pos < s.exp_start || (end && pos == s.exp_start) {
                break;
            }
            if pos < s.exp_end || (end && pos == s.exp_end) {
                return if end { s.src_end } else { s.src_start };
            }
            delta = i64::from(s.src_end) - i64::from(s.exp_end);
        }
        u32::try_from(i64::from(pos) + delta).unwrap_or(pos)
    }
}

/// Expands macros in the bpftrace text of a script. Directive lines, string literals, comments,
/// `$var`/`@map` names and attach points are left alone. Returns the text unchanged (and an
/// identity map) when no macro is used. Every macro counts, whatever its name (`_NAME` and
/// `__NAME` too, as in clang).
pub fn expand_script(text: &str, macros: &Macros) -> (String, SourceMap) {
    if macros.is_empty() {
        return (text.to_string(), SourceMap::default());
    }
    let toks = code_tokens(text);
    let mut out = String::with_capacity(text.len());
    let mut map = SourceMap::default();
    let mut copied = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let Some(m) = macros.get(t.text.as_str()).filter(|_| t.kind == TokKind::Ident) else {
            i += 1;
            continue;
        };
        // The invocation: the name, and for function-like macros its parenthesised arguments.
        let mut last = i;
        if m.params.is_some() {
            if !toks.get(i + 1).is_some_and(|n| n.is("(")) {
                i += 1;
                continue;
            }
            let mut depth = 0;
            let mut j = i + 1;
            while let Some(n) = toks.get(j) {
                if n.is("(") {
                    depth += 1;
                } else if n.is(")") {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
            if j >= toks.len() {
                i += 1;
                continue;
            }
            last = j;
        }
        let start = t.pos as usize;
        let end = toks[last].pos as usize + toks[last].text.len();
        let expanded = expand(&toks[i..=last], macros);
        out.push_str(text.get(copied..start).unwrap_or(""));
        let exp_start = out.len();
        out.push_str(&render(&expanded));
        map.segments.push(Segment {
            exp_start: u32::try_from(exp_start).unwrap_or(u32::MAX),
            exp_end: u32::try_from(out.len()).unwrap_or(u32::MAX),
            src_start: u32::try_from(start).unwrap_or(u32::MAX),
            src_end: u32::try_from(end).unwrap_or(u32::MAX),
        });
        copied = end;
        i = last + 1;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    (out, map)
}

/// Tokens as text, separated by spaces where two would otherwise run together.
fn render(toks: &[Token]) -> String {
    let mut s = String::new();
    for (k, t) in toks.iter().enumerate() {
        if k > 0 {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

/// The tokens of the script's code (outside directives and attach points), with offsets.
fn code_tokens(text: &str) -> Vec<Token> {
    // Directive lines are the preprocessor's.
    let mut directives = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            // Directives and a `#!` line are the preprocessor's.
            directives.push(offset..offset + line.len());
        }
        offset += line.len();
    }
    let out: Vec<Token> =
        lex(text, 0).into_iter().filter(|t| !directives.iter().any(|r| r.contains(&(t.pos as usize)))).collect();
    // Attach points: identifiers at brace depth 0 outside predicates.
    let mut depth = 0i32;
    let mut in_pred = false;
    let mut keep = Vec::with_capacity(out.len());
    for (k, t) in out.iter().enumerate() {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => depth -= 1,
            "/" if depth == 0 => {
                let prev_glued = k > 0 && {
                    let p = &out[k - 1];
                    p.pos as usize + p.text.len() == t.pos as usize && !in_pred
                };
                if !prev_glued {
                    in_pred = !in_pred;
                }
            }
            _ => {}
        }
        if depth > 0 || in_pred {
            keep.push(t.clone());
        }
    }
    keep
}
