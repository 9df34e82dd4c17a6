//! Which parts of a printf format string are conversion specifiers, as bpftrace 0.20 finds
//! them. The compiler gives each specifier one argument and the runtime formats the same ones,
//! so both sides use this one definition.
//!
//! A specifier is `%`, an optional `-`, optional digits (a width, and C's `0` flag), an
//! optional precision (`.` and at least one digit), then `s`, `c`, `r`, `rx`, `rh`, or one of
//! `d u o x X p` after an optional length modifier `hh h l ll j z t`. Nothing else is one:
//! `%%`, the flags `+`, space and `#`, and `%i` are plain text, and the string is searched
//! from left to right, so in `%%d` the specifier is the `%d` after the first `%`.

use std::ops::Range;

/// The byte ranges of the conversion specifiers of `fmt`, in order.
pub fn specifiers(fmt: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        match specifier_at(fmt, i) {
            Some(end) => {
                out.push(i..end);
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

/// The end of the specifier starting at `start`, if one starts there.
fn specifier_at(b: &[u8], start: usize) -> Option<usize> {
    if b.get(start) != Some(&b'%') {
        return None;
    }
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let mut i = start + 1;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    while digit(i) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') && digit(i + 1) {
        i += 1;
        while digit(i) {
            i += 1;
        }
    }
    let rest = &b[i.min(b.len())..];
    if rest.starts_with(b"rx") || rest.starts_with(b"rh") {
        return Some(i + 2);
    }
    if matches!(rest.first(), Some(b's' | b'c' | b'r')) {
        return Some(i + 1);
    }
    for len in [&b"hh"[..], b"h", b"ll", b"l", b"j", b"z", b"t", b""] {
        if rest.starts_with(len) && rest.get(len.len()).is_some_and(|c| b"duoxXp".contains(c)) {
            return Some(i + len.len() + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(fmt: &str) -> Vec<&str> {
        specifiers(fmt.as_bytes()).into_iter().map(|r| &fmt[r]).collect()
    }

    #[test]
    fn finds_bpftraces_specifiers() {
        assert_eq!(texts("%d %-16s %05d %.3s %8.2x %lu %llx %hhd %zd %p %c"), [
            "%d", "%-16s", "%05d", "%.3s", "%8.2x", "%lu", "%llx", "%hhd", "%zd", "%p", "%c"
        ]);
        assert_eq!(texts("%r %rx %rh|"), ["%r", "%rx", "%rh"]);
    }

    #[test]
    fn other_percent_signs_are_text() {
        assert!(texts("50% done, 100%%, %i %+d % d %#x %.d %q").is_empty());
        // Searched left to right: the second `%` of `%%d` starts a specifier.
        assert_eq!(texts("%%d %d%%"), ["%d", "%d"]);
        assert_eq!(specifiers(b"a%%db"), [2..4]);
        assert!(texts("%").is_empty());
        assert!(texts("%-").is_empty());
        assert!(texts("%5").is_empty());
    }
}
