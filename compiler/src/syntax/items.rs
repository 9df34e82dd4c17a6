//! The top-level items bpftrace 0.26 added: `import "path";`, `macro name(params) { ... }` and
//! `let @map = kind(max_entries);`. Kept apart from the statement and expression builders.

use super::{span, unescape, Builder, Rule};
use crate::ast::*;
use pest::iterators::Pair;

impl Builder<'_> {
    pub(super) fn import_item(&mut self, pair: Pair<'_, Rule>) -> Option<Import> {
        let sp = span(&pair);
        let path = pair.into_inner().find(|p| p.as_rule() != Rule::kw_import)?;
        if path.as_rule() != Rule::string_lit {
            self.diags.error(span(&path), "syntax: expected string after 'import'");
            return None;
        }
        let text = path.as_str();
        Some(Import { path: unescape(&text[1..text.len() - 1]).0, span: sp })
    }

    pub(super) fn map_decl(&mut self, pair: Pair<'_, Rule>) -> Option<MapDecl> {
        let sp = span(&pair);
        let mut name = None;
        let mut kind = None;
        let mut max_entries = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::map_name => name = Some((p.as_str().to_string(), span(&p))),
                Rule::ident => kind = Some(p.as_str().to_string()),
                Rule::map_decl_size => {
                    let n = p.clone().into_inner().next().and_then(|n| super::parse_int(n.as_str()));
                    match n {
                        Some(n) if n > 0 => max_entries = Some(n),
                        _ => {
                            // An empty `()` has no text: point at the `)` after it.
                            let s = span(&p);
                            let at = if s.start == s.end { crate::diag::Span::new(s.start as usize, s.start as usize + 1) } else { s };
                            self.diags.error(at, "syntax: expected positive integer for map declaration max entries");
                        }
                    }
                }
                _ => {}
            }
        }
        let (name, name_span) = name?;
        Some(MapDecl { name, name_span, kind: kind?, max_entries: max_entries?, span: sp })
    }

    pub(super) fn macro_def(&mut self, pair: Pair<'_, Rule>, source: &str) -> Option<MacroDef> {
        let sp = span(&pair);
        let mut name = None;
        let mut head = sp;
        let mut params = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => {
                    head = crate::diag::Span { start: sp.start, end: span(&p).end };
                    name = Some(p.as_str().to_string());
                }
                Rule::macro_param => {
                    let Some(inner) = p.into_inner().next() else { continue };
                    let kind = match inner.as_rule() {
                        Rule::var => MacroParamKind::Var,
                        Rule::map_name => MacroParamKind::Map,
                        _ => MacroParamKind::Ident,
                    };
                    params.push(MacroParam { kind, name: inner.as_str().to_string(), span: span(&inner) });
                }
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        let body = body?;
        let has_value = ends_in_value(&body, source);
        Some(MacroDef { name: name?, params, body, has_value, head, span: sp })
    }
}

/// Whether a block's last statement is an expression with no `;` after it (its value).
fn ends_in_value(body: &Block, source: &str) -> bool {
    let Some(last) = body.stmts.last() else { return false };
    if !matches!(last.kind, StmtKind::Expr(_)) {
        return false;
    }
    // Between the statement and the `}` there is only space, comments and any `;`.
    let mut rest = source.get(last.span.end as usize..body.span.end as usize).unwrap_or(";");
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, r)| r);
        } else if rest.starts_with(';') {
            return false;
        } else {
            rest = &rest[rest.chars().next().map_or(1, char::len_utf8)..];
        }
    }
    true
}
