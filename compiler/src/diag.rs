//! Diagnostics: errors and warnings with source spans, rendered as
//! `FILE:LINE:COL: error: MESSAGE`, the source line, and a caret under the offending text.
//!
//! The renderer is our own rather than codespan-reporting/ariadne: bpftrace users expect the
//! compact `file:line:col` shape with `~` underlines, which neither crate produces.

use std::fmt::Write as _;

/// A byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start: clamp_u32(start), end: clamp_u32(end) }
    }

    pub fn from_pest(s: pest::Span<'_>) -> Span {
        Span::new(s.start(), s.end())
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

fn clamp_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One message about the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    /// Secondary locations with a message each (e.g. where a type was fixed).
    pub notes: Vec<(Span, String)>,
    /// A suggestion shown after the source excerpt.
    pub hint: Option<String>,
    /// A problem in the C preamble or its headers, which bpftrace reports in clang's words
    /// (`error:`, lowercase, whatever the style).
    pub c_source: bool,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Error, message: message.into(), span, notes: vec![], hint: None, c_source: false }
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, message: message.into(), span, notes: vec![], hint: None, c_source: false }
    }

    pub fn with_note(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.notes.push((span, note.into()));
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Marks a problem of the C preamble or a header (see [`Diagnostic::c_source`]).
    pub fn in_c_source(mut self) -> Diagnostic {
        self.c_source = true;
        self
    }
}

/// Diagnostics collected by the passes of one compilation.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(Diagnostic::error(span, message));
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Renders every diagnostic against `source`, named `file` in the output.
    pub fn render(&self, file: &str, source: &str, warnings: bool) -> String {
        self.render_styled(file, source, warnings, Style::Btc)
    }

    /// [`Diagnostics::render`] with the severity words of `style`.
    pub fn render_styled(&self, file: &str, source: &str, warnings: bool, style: Style) -> String {
        let mut out = String::new();
        for d in &self.items {
            if d.severity == Severity::Warning && !warnings {
                continue;
            }
            render_one(&mut out, file, source, d, style);
        }
        out
    }
}

/// How the severity of a diagnostic is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `error:` / `warning:`.
    #[default]
    Btc,
    /// `ERROR:` / `WARNING:`, as bpftrace writes them (btc invoked as `bpftrace`).
    Bpftrace,
    /// As bpftrace 0.26 writes them: also the span's end column (`stdin:1:12-26: ERROR: ...`).
    Bpftrace026,
}

/// 1-based line and column of a byte offset (columns count characters).
pub fn line_col(source: &str, offset: u32) -> (usize, usize) {
    let offset = (offset as usize).min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// Longest part of a source line shown under a diagnostic.
const EXCERPT_WIDTH: usize = 120;

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic, style: Style) {
    let (line, col) = line_col(source, d.span.start);
    let style = if d.c_source { Style::Btc } else { style };
    let kind = match (d.severity, style) {
        (Severity::Error, Style::Btc) => "error",
        (Severity::Warning, Style::Btc) => "warning",
        (Severity::Error, _) => "ERROR",
        (Severity::Warning, _) => "WARNING",
    };
    let (end_line, end_col) = line_col(source, d.span.end);
    if style == Style::Bpftrace026 && end_line == line && end_col > col {
        let _ = writeln!(out, "{file}:{line}:{col}-{end_col}: {kind}: {}", d.message);
    } else {
        let _ = writeln!(out, "{file}:{line}:{col}: {kind}: {}", d.message);
    }
    if style == Style::Bpftrace026 {
        excerpt_with(out, source, d.span, '~');
    } else {
        excerpt(out, source, d.span);
    }
    for (span, note) in &d.notes {
        let (l, c) = line_col(source, span.start);
        let _ = writeln!(out, "{file}:{l}:{c}: note: {note}");
        excerpt(out, source, *span);
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "help: {hint}");
    }
}

/// The source line of `span.start` and a `^~~~` marker under the part of the span on that line.
/// The source line of `span` and a caret line under it, as diagnostics show them.
pub fn excerpt_text(source: &str, span: Span) -> String {
    let mut out = String::new();
    excerpt(&mut out, source, span);
    out
}

fn excerpt(out: &mut String, source: &str, span: Span) {
    excerpt_with(out, source, span, '^');
}

/// [`excerpt`] with `first` under the span's first character (bpftrace 0.26 underlines the
/// whole span with `~`).
fn excerpt_with(out: &mut String, source: &str, span: Span, first: char) {
    let start = (span.start as usize).min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |p| p + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |p| start + p);
    let end = (span.end as usize).clamp(start, line_end);
    // Show a window of very long lines around the start of the span.
    let (from, prefix) = if start - line_start > EXCERPT_WIDTH / 2 {
        let mut f = start - EXCERPT_WIDTH / 2;
        while !source.is_char_boundary(f) {
            f += 1;
        }
        (f, "...")
    } else {
        (line_start, "")
    };
    let mut to = line_end.min(from + EXCERPT_WIDTH).max(start);
    while !source.is_char_boundary(to) {
        to += 1;
    }
    let suffix = if to < line_end { "..." } else { "" };
    let text = &source[from..to];
    let pad: String = prefix.chars().map(|_| ' ').chain(source[from..start].chars().map(|c| if c == '\t' { '\t' } else { ' ' })).collect();
    let width = source[start..end.min(to)].chars().count().max(1);
    let _ = writeln!(out, "{prefix}{text}{suffix}");
    let _ = writeln!(out, "{pad}{first}{}", "~".repeat(width - 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_col_and_caret() {
        let src = "BEGIN {\n  foo(1);\n}";
        let mut d = Diagnostics::default();
        d.error(Span::new(10, 13), "unknown function 'foo'");
        assert_eq!(
            d.render("x.bt", src, true),
            "x.bt:2:3: error: unknown function 'foo'\n  foo(1);\n  ^~~\n"
        );
    }

    #[test]
    fn bpftrace_style_writes_severities_in_capitals() {
        let src = "BEGIN { x }";
        let mut d = Diagnostics::default();
        d.error(Span::new(8, 9), "unknown identifier");
        d.push(Diagnostic::warning(Span::new(0, 5), "odd"));
        assert_eq!(
            d.render_styled("stdin", src, true, Style::Bpftrace),
            "stdin:1:9: ERROR: unknown identifier\nBEGIN { x }\n        ^\nstdin:1:1: WARNING: odd\nBEGIN { x }\n^~~~~\n"
        );
    }

    #[test]
    fn caret_at_end_of_input() {
        let src = "BEGIN {";
        let mut d = Diagnostics::default();
        d.error(Span::new(7, 7), "unexpected end of input");
        assert_eq!(d.render("stdin", src, true), "stdin:1:8: error: unexpected end of input\nBEGIN {\n       ^\n");
    }
}
