//! Judging a test's output against its expectation.

use crate::pyre;
use crate::engine::Dialect;
use crate::suite::{Expect, ExpectMode, Test};
use std::path::Path;

/// Whether `output` meets every expectation of the test: None when it does, else a description
/// of the first that it doesn't meet. Files named by EXPECT_FILE and EXPECT_JSON are relative to
/// `dir` (the directory tests run in). An expectation that can't be read or compiled is an
/// error, reported as a failure.
pub fn meets(t: &Test, output: &str, dir: &Path) -> Result<Option<String>, String> {
    for e in &t.expects {
        if !holds(t, e, output, dir)? {
            let first = e.text.lines().next().unwrap_or("");
            let more = if e.text.contains('\n') { " ..." } else { "" };
            return Ok(Some(format!("{}: {first}{more}", directive(e.mode))));
        }
    }
    Ok(None)
}

/// The directive an expectation of this mode is written with (0.26's names).
fn directive(mode: ExpectMode) -> &'static str {
    match mode {
        ExpectMode::Regex => "EXPECT_REGEX",
        ExpectMode::RegexNone => "EXPECT_REGEX_NONE",
        ExpectMode::Text => "EXPECT",
        ExpectMode::TextNone => "EXPECT_NONE",
        ExpectMode::File => "EXPECT_FILE",
        ExpectMode::Json => "EXPECT_JSON",
    }
}

fn holds(t: &Test, e: &Expect, output: &str, dir: &Path) -> Result<bool, String> {
    match e.mode {
        ExpectMode::Regex => Ok(pyre::search(&pyre::compile(&e.text)?, output)),
        ExpectMode::RegexNone => Ok(!pyre::search(&pyre::compile(&e.text)?, output)),
        ExpectMode::Text => Ok(pyre::search(&text_pattern(&e.text)?, output)),
        ExpectMode::TextNone => Ok(!pyre::search(&text_pattern(&e.text)?, output)),
        ExpectMode::File => {
            let mut want = read(dir, &e.text)?.trim().to_string();
            if let Some(ts) = t.localize_ts {
                want = localize(&want, ts);
            }
            Ok(output.trim() == want)
        }
        ExpectMode::Json if t.dialect == Dialect::V020 => {
            let want = json(&read(dir, &e.text)?).map_err(|err| format!("{}: {err}", e.text))?;
            Ok(json(output).is_ok_and(|got| got == want))
        }
        ExpectMode::Json => {
            let file = read(dir, &e.text)?;
            let got = splitlines(output.trim());
            if e.text.ends_with(".ndjson") {
                let want = splitlines(file.trim());
                if want.len() != got.len() {
                    return Ok(false);
                }
                for (w, g) in want.iter().zip(&got) {
                    let w = json(w).map_err(|err| format!("{}: {err}", e.text))?;
                    if json(g).ok() != Some(w) {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            // One JSON value, printed on one line.
            if got.len() != 1 {
                return Ok(false);
            }
            let want = json(&file).map_err(|err| format!("{}: {err}", e.text))?;
            Ok(json(output.trim()).is_ok_and(|g| g == want))
        }
    }
}

fn json(s: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(s)
}

/// 0.26's EXPECT: the text, escaped, as whole lines (blanks around it aside).
fn text_pattern(text: &str) -> Result<fancy_regex::Regex, String> {
    let pattern = format!("(?m)^\\s*{}\\s*$", fancy_regex::escape(text));
    fancy_regex::Regex::new(&pattern).map_err(|e| format!("bad EXPECT {text:?}: {e}"))
}

/// Lines as Python's `str.splitlines` cuts them.
fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let breaks = matches!(
            c,
            '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}'
        );
        if !breaks {
            continue;
        }
        out.push(&s[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

extern "C" {
    /// POSIX; not in the libc crate.
    fn tzset();
}

/// `strftime(format, localtime(ts))`, as the 0.26 engine expands an EXPECT_FILE's text under
/// LOCALIZE_TIMESTAMPS.
pub fn localize(format: &str, ts: i64) -> String {
    let Ok(cformat) = std::ffi::CString::new(format) else {
        return format.to_string();
    };
    // SAFETY: tm is plain data; tzset and localtime_r read the environment and fill tm.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t = ts as libc::time_t;
    unsafe {
        tzset();
        libc::localtime_r(&t, &mut tm);
    }
    let mut size = format.len() * 4 + 256;
    while size <= 1 << 24 {
        let mut buf = vec![0u8; size];
        // SAFETY: buf has `size` bytes; strftime writes at most that many, NUL included.
        let n = unsafe {
            libc::strftime(buf.as_mut_ptr().cast(), size, cformat.as_ptr(), &tm)
        };
        if n > 0 || format.is_empty() {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        size *= 4;
    }
    String::new()
}

fn read(dir: &Path, name: &str) -> Result<String, String> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(mode: ExpectMode, expect: &str) -> Test {
        Test { expects: vec![Expect { mode, text: expect.into() }], ..Test::default() }
    }

    fn test026(expects: &[(ExpectMode, &str)]) -> Test {
        Test {
            dialect: Dialect::V026,
            expects: expects.iter().map(|&(mode, t)| Expect { mode, text: t.into() }).collect(),
            ..Test::default()
        }
    }

    #[test]
    fn regex_searches_every_line() {
        let t = test(ExpectMode::Regex, r"^@: \d+$");
        let dir = Path::new("/");
        assert_eq!(meets(&t, "Attaching 1 probe...\n@: 12\n", dir), Ok(None));
        assert!(meets(&t, "@: x\n", dir).expect("judged").is_some());
    }

    #[test]
    fn files_compare_stripped_and_json_as_values() {
        let dir = std::env::temp_dir().join(format!("btc-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("out.txt"), "\n@x: 1\n@y: 2\n\n").expect("write");
        std::fs::write(dir.join("out.json"), r#"{"type": "map", "data": {"@x": 1}}"#).expect("write");
        let file = test(ExpectMode::File, "out.txt");
        assert_eq!(meets(&file, "@x: 1\n@y: 2\n", &dir), Ok(None));
        assert!(meets(&file, "@x: 1\n@y: 3\n", &dir).expect("judged").is_some());
        let json = test(ExpectMode::Json, "out.json");
        assert_eq!(meets(&json, "{\"data\":{\"@x\":1},\"type\":\"map\"}\n", &dir), Ok(None));
        assert!(meets(&json, "{\"data\":{\"@x\":2},\"type\":\"map\"}\n", &dir).expect("judged").is_some());
        assert!(meets(&json, "not json", &dir).expect("judged").is_some());
        assert!(meets(&test(ExpectMode::File, "missing"), "", &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn text_expectations_match_whole_lines_literally() {
        let dir = Path::new("/");
        let t = test026(&[(ExpectMode::Text, "@x[1]: 2 (a.b)")]);
        assert_eq!(meets(&t, "Attaching\n  @x[1]: 2 (a.b)  \n", dir), Ok(None));
        assert!(meets(&t, "@x[1]: 2 (a.b) and more\n", dir).expect("judged").is_some());
        assert!(meets(&t, "@x[1]: 2 (aXb)\n", dir).expect("judged").is_some());
        let multi = test026(&[(ExpectMode::Text, "ERROR: x\n    ~~~")]);
        assert_eq!(meets(&multi, "stdin:1: ERROR: x\n    ~~~\n", dir).expect("judged").is_some(), true);
        assert_eq!(meets(&multi, "ERROR: x\n    ~~~\n", dir), Ok(None));
        let none = test026(&[(ExpectMode::TextNone, "WARNING"), (ExpectMode::RegexNone, "^ERROR")]);
        assert_eq!(meets(&none, "all fine\n", dir), Ok(None));
        assert_eq!(
            meets(&none, "a WARNING here\nERROR: bad\n", dir),
            Ok(Some("EXPECT_REGEX_NONE: ^ERROR".into()))
        );
        assert_eq!(meets(&none, "WARNING\n", dir), Ok(Some("EXPECT_NONE: WARNING".into())));
        // Every expectation must hold.
        let both = test026(&[(ExpectMode::Text, "a"), (ExpectMode::Regex, "^b+$")]);
        assert_eq!(meets(&both, "a\nbbb\n", dir), Ok(None));
        assert_eq!(meets(&both, "a\n", dir), Ok(Some("EXPECT_REGEX: ^b+$".into())));
    }

    #[test]
    fn json_of_026_is_one_line_or_ndjson() {
        let dir = std::env::temp_dir().join(format!("btc-conf26-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("a.json"), "{\n  \"x\": 1\n}\n").expect("write");
        std::fs::write(dir.join("b.ndjson"), "{\"x\": 1}\n{\"y\": [1, 2]}\n").expect("write");
        let one = test026(&[(ExpectMode::Json, "a.json")]);
        assert_eq!(meets(&one, "\n{\"x\":1}\n", &dir), Ok(None));
        // Pretty-printed over lines: 0.26 wants one line.
        assert!(meets(&one, "{\n\"x\":1\n}", &dir).expect("judged").is_some());
        let nd = test026(&[(ExpectMode::Json, "b.ndjson")]);
        assert_eq!(meets(&nd, "{\"x\":1}\n{\"y\":[1,2]}\n", &dir), Ok(None));
        assert!(meets(&nd, "{\"x\":1}\n", &dir).expect("judged").is_some());
        assert!(meets(&nd, "{\"x\":1}\n{\"y\":[2,1]}\n", &dir).expect("judged").is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn localized_files_are_strftime_formats() {
        // 10^9 s after the epoch is in September 2001 in every time zone (TZ is left alone:
        // other tests run in parallel).
        assert_eq!(localize("in %Y-%m, 100%%", 1_000_000_000), "in 2001-09, 100%");
        let dir = std::env::temp_dir().join(format!("btc-conf26-ts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("t.txt"), "year %Y\n").expect("write");
        let mut t = test026(&[(ExpectMode::File, "t.txt")]);
        t.localize_ts = Some(1_000_000_000);
        assert_eq!(meets(&t, "year 2001\n", &dir), Ok(None));
        t.localize_ts = None;
        assert_eq!(meets(&t, "year %Y", &dir), Ok(None));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lines_split_as_python_splits_them() {
        assert_eq!(splitlines("a\nb\r\nc\rd"), vec!["a", "b", "c", "d"]);
        assert_eq!(splitlines("a\n"), vec!["a"]);
        assert!(splitlines("").is_empty());
    }
}
