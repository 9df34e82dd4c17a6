//! Upstream's expectations are Python regular expressions, searched for with `re.M`. This
//! rewrites one into the syntax of `fancy_regex` (which, like Python, has look-around) where
//! the two differ:
//! - Python reads `{` as a literal unless it starts a repetition (`{2}`, `{2,}`, `{,3}`,
//!   `{2,3}`), and `}` always; here both must be escaped.
//! - Inside `[...]`, Python reads `[` as a literal; here it opens a nested class. `&&`, `--`
//!   and `~~` are set operations here and plain characters there.
//! - Python's `\Z` (end of text) is `\z` here.

use fancy_regex::Regex;

/// A compiled expectation.
pub fn compile(python: &str) -> Result<Regex, String> {
    let translated = format!("(?m){}", translate(python));
    Regex::new(&translated).map_err(|e| format!("bad expectation {python:?}: {e}"))
}

/// Searches `text` as Python's `re.search(pattern, text, re.M)` would.
pub fn search(re: &Regex, text: &str) -> bool {
    // A pattern that backtracks too much is a failed match, as a test can't be judged by it.
    re.is_match(text).unwrap_or(false)
}

pub fn translate(python: &str) -> String {
    let chars: Vec<char> = python.chars().collect();
    let mut out = String::with_capacity(python.len() + 8);
    let mut i = 0;
    // Inside a character class: the index of its first character (after `[` and `^`).
    let mut class_start: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            match chars.get(i + 1) {
                Some('Z') => out.push_str("\\z"),
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str("\\\\"),
            }
            i += 2;
            continue;
        }
        if let Some(start) = class_start {
            match c {
                // `]` as the first character of a class is a literal in both syntaxes.
                ']' if i != start => class_start = None,
                ']' => {
                    out.push_str("\\]");
                    i += 1;
                    continue;
                }
                '[' => {
                    out.push_str("\\[");
                    i += 1;
                    continue;
                }
                '&' | '-' | '~' if chars.get(i + 1) == Some(&c) => {
                    out.push('\\');
                    out.push(c);
                    out.push('\\');
                    out.push(c);
                    i += 2;
                    continue;
                }
                _ => {}
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = Some(i);
                continue;
            }
            '{' => {
                if let Some(len) = repetition_len(&chars[i..]) {
                    // `{,n}` is `{0,n}` in Python.
                    let rep: String = chars[i..i + len].iter().collect();
                    out.push_str(&rep.replacen("{,", "{0,", 1));
                    i += len;
                    continue;
                }
                out.push_str("\\{");
            }
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The length of a repetition `{m}`, `{m,}`, `{,n}` or `{m,n}` at the start of `s`.
fn repetition_len(s: &[char]) -> Option<usize> {
    let close = s.iter().position(|&c| c == '}')?;
    let inner: String = s[1..close].iter().collect();
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let valid = match inner.split_once(',') {
        None => digits(&inner),
        Some((a, b)) => (a.is_empty() || digits(a)) && (b.is_empty() || digits(b)) && !(a.is_empty() && b.is_empty()),
    };
    valid.then_some(close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        search(&compile(pattern).expect("compiles"), text)
    }

    #[test]
    fn braces_are_literals_unless_they_repeat() {
        assert!(matches(r"^@x\[1\]: { .a = 1 }$", "@x[1]: { .a = 1 }\n"));
        assert!(matches(r"^a{2}$", "aa"));
        assert!(!matches(r"^a{2}$", "a{2}x"));
        assert!(matches(r"^a{,2}b$", "ab"));
        assert!(matches(r"^x{a}$", "x{a}"));
        assert!(matches(r"^{}$", "{}"));
    }

    #[test]
    fn classes_take_brackets_literally() {
        assert!(matches(r"^[[]x$", "[x"));
        assert!(matches(r"^[]a]+$", "]a]"));
        assert!(matches(r"^[a--]$", "-"));
        assert!(matches(r"^[^]]$", "x"));
    }

    #[test]
    fn multiline_search_and_lookaround() {
        assert!(matches(r"^b$", "a\nb\nc\n"));
        assert!(!matches(r"^((?!not found).)*$\Z", "x\nfile not found"));
        assert!(matches(r"^((?!not found).)*$", "x\nfile not found"));
        assert!(!matches(r"a.b", "a\nb"));
    }
}
