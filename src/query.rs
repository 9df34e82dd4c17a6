//! Checks of a `-l` search expression before listing. bpftrace reads the expression with its
//! script lexer, so a character the lexer has no token for is an error there, reported as
//! `invalid character 'C'`.

use btc_compiler::{Diagnostic, Span};

/// The first character of `query` that bpftrace's lexer refuses, as a diagnostic against the
/// query's text. A backslash escapes the next character inside an attach point's path (after a
/// `:`); quoted text may hold anything. Type searches (`struct NAME`, ...) don't go through the
/// lexer.
pub fn invalid_character(query: &str) -> Option<Diagnostic> {
    if !query.contains(':') && ["struct", "union", "enum"].iter().any(|k| query.starts_with(k)) {
        return None;
    }
    let mut in_quotes = false;
    let mut seen_colon = false;
    let mut chars = query.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let bad = match c {
            '"' => {
                in_quotes = !in_quotes;
                false
            }
            _ if in_quotes => false,
            ':' => {
                seen_colon = true;
                false
            }
            '\\' if seen_colon => {
                // An escape in a path: the next character is taken as it is.
                chars.next();
                false
            }
            '\\' | '`' | '\'' => true,
            ' ' | '\t' | '\n' | '\r' => false,
            c => c.is_control() || !c.is_ascii(),
        };
        if bad {
            return Some(Diagnostic::error(Span::new(i, i + c.len_utf8()), format!("invalid character '{c}'")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(q: &str) -> Option<String> {
        invalid_character(q).map(|d| d.message)
    }

    #[test]
    fn lexer_characters_are_refused() {
        assert_eq!(message("\\n"), Some("invalid character '\\'".to_string()));
        assert_eq!(message("kprobe:vfs_read`"), Some("invalid character '`'".to_string()));
        assert_eq!(message("'t:*'"), Some("invalid character '''".to_string()));
        assert_eq!(message("t:sched:sché*"), Some("invalid character 'é'".to_string()));
        assert_eq!(invalid_character("ab\u{1}").map(|d| d.span), Some(Span::new(2, 3)));
    }

    #[test]
    fn probe_searches_pass() {
        for q in ["*sleep*", "kprobe:vfs_r[ae]ad", "uprobe:/bin/bash:*", "struct task_struct", "t:syscalls:*", "kprobe:a\\b", "\"k\\x\"", "struct a\\b"] {
            assert_eq!(message(q), None, "{q}");
        }
    }
}
