//! The preprocessor's scanning: comments out, C tokens out of text.

use super::{TokKind, TokText, Token};
use std::rc::Rc;

/// The length of the punctuator at the start of `b` (which is not empty): C's multi-character
/// operators (`...`, `<<=`, `->`, `##`, ...), else one character (of one to four bytes).
fn punct_len(b: &[u8]) -> usize {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let (c, n, n2) = (at(0), at(1), at(2));
    match c {
        b'.' if n == b'.' && n2 == b'.' => 3,
        b'<' | b'>' if n == c && n2 == b'=' => 3,
        b'<' | b'>' if n == c || n == b'=' => 2,
        b'-' if matches!(n, b'>' | b'-' | b'=') => 2,
        b'+' if matches!(n, b'+' | b'=') => 2,
        b'&' | b'|' if n == c || n == b'=' => 2,
        b'=' | b'!' | b'*' | b'/' | b'%' | b'^' if n == b'=' => 2,
        b'#' if n == b'#' => 2,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// Splits C text into tokens, skipping whitespace and comments. `$name` and `@name` (bpftrace
/// variables and maps, which may appear in macro bodies) are single tokens.
pub fn lex(text: &str, base: u32) -> Vec<Token> {
    let mut out = Vec::new();
    lex_in(&Rc::from(text), 0..text.len(), base, &mut out);
    out
}

/// [`lex`] of `src[range]`, whose start is at offset `base`; the tokens' texts share `src`.
/// Appends to `out`.
pub(super) fn lex_in(src: &Rc<str>, range: std::ops::Range<usize>, base: u32, out: &mut Vec<Token>) {
    let from = range.start;
    let text = src.get(range).unwrap_or("");
    let b = text.as_bytes();
    let mut i = 0;
    let pos = |i: usize| base.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || (c == b'\\' && b.get(i + 1).is_some_and(|&n| n == b'\n' || n == b'\r')) {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
            continue;
        }
        let start = i;
        let kind = if c.is_ascii_alphabetic() || c == b'_' || ((c == b'$' || c == b'@') && i + 1 < b.len()) {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            TokKind::Ident
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            TokKind::Number
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != c && b[i] != b'\n' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            if c == b'"' {
                TokKind::Str
            } else {
                TokKind::Char
            }
        } else {
            i += punct_len(&b[i..]);
            TokKind::Punct
        };
        let end = i.min(b.len());
        out.push(Token { kind, text: TokText::slice(src, from + start, from + end), pos: pos(start) });
    }
}


/// Replaces comments with spaces (keeping newlines, so offsets and lines stay put). Text
/// between comments and literals is copied a run at a time (headers are mostly such runs).
pub fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Everything up to the next quote or slash is copied as it is.
        let Some(k) = memchr::memchr3(b'"', b'\'', b'/', &b[i..]) else {
            out.extend_from_slice(&b[i..]);
            break;
        };
        out.extend_from_slice(&b[i..i + k]);
        i += k;
        match b[i] {
            b'"' | b'\'' => {
                let q = b[i];
                out.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() && b[i] == q {
                    out.push(q);
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                out.resize(out.len() + (end - i), b' ');
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Up to and including the closing `*/` (or the end), newlines kept.
                let end = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2);
                out.extend(b[i..end].iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
                i = end;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced, by ASCII bytes: still UTF-8, except that a comment may
    // have held multi-byte characters, now spaces byte for byte.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
