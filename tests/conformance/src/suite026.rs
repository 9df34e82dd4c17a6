//! One test paragraph read with the rules of bpftrace v0.26's engine (see `suite.rs` for the
//! paragraphs and the 0.20 rules).

use crate::engine::Dialect;
use crate::suite::{Expect, ExpectMode, ParseError, Test, DEFAULT_TIMEOUT_026};

/// The directives whose value may continue on indented lines below.
fn continues(directive: &str) -> bool {
    matches!(directive, "PROG" | "EXPECT" | "EXPECT_REGEX")
}

/// If `raw` (a line with its newline) continues the value of `prev`: the text to append, which
/// is the line without as many leading characters as `prev` has plus one (they must all be
/// blank) and without its last character (the newline).
fn continuation(prev: &str, raw: &str) -> Option<String> {
    let chars: Vec<char> = raw.chars().collect();
    let n = prev.chars().count() + 1;
    let head = &chars[..n.min(chars.len())];
    if head.is_empty() || !head.iter().all(|c| c.is_whitespace()) || !continues(prev) {
        return None;
    }
    let end = chars.len().saturating_sub(1);
    Some(if end > n { chars[n..end].iter().collect() } else { String::new() })
}

fn int<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.trim_matches(' ').parse().ok()
}

pub fn parse_test(suite: &str, block: &[(usize, &str)]) -> Result<Test, ParseError> {
    let err = |line: usize, message: String| ParseError { suite: suite.to_string(), line, message };
    let mut t = Test { suite: suite.to_string(), dialect: Dialect::V026, ..Test::default() };
    let mut timeout = None;
    let mut return_code = None;
    let mut prev = String::new();
    for &(number, raw) in block {
        if let Some(more) = continuation(&prev, raw) {
            if prev == "PROG" {
                t.prog.push('\n');
                t.prog.push_str(&more);
            } else if let Some(last) = t.expects.last_mut() {
                last.text.push('\n');
                last.text.push_str(&more);
            }
            continue;
        }
        let line = raw.trim();
        if line.is_empty() {
            return Err(err(number, "a line of blanks only".into()));
        }
        let (directive, value) = match line.split_once(char::is_whitespace) {
            Some((d, v)) => (d, v.trim_start().to_string()),
            None => (line, String::new()),
        };
        prev = directive.to_string();
        let mut expect = |mode: ExpectMode| t.expects.push(Expect { mode, text: value.clone() });
        match directive {
            "EXPECT" => expect(ExpectMode::Text),
            "EXPECT_NONE" => expect(ExpectMode::TextNone),
            "EXPECT_REGEX" => expect(ExpectMode::Regex),
            "EXPECT_REGEX_NONE" => expect(ExpectMode::RegexNone),
            "EXPECT_FILE" => {
                expect(ExpectMode::File);
                t.has_exact_expect = true;
            }
            "EXPECT_JSON" => {
                expect(ExpectMode::Json);
                t.has_exact_expect = true;
            }
            "NAME" => t.name = value,
            "RUN" => t.run = value,
            "PROG" => t.prog = value,
            "TIMEOUT" => {
                let n = int::<u64>(&value)
                    .ok_or_else(|| err(number, format!("TIMEOUT is not a number: {value:?}")))?;
                timeout = Some(n);
            }
            "BEFORE" => t.befores.push(value),
            "AFTER" => t.after = value,
            "SETUP" => t.setup = value,
            "CLEANUP" => t.cleanup = value,
            "MIN_KERNEL" => t.min_kernel = value,
            "MAX_KERNEL" => t.max_kernel = value,
            "REQUIRES" => t.requires.push(value),
            "ENV" => {
                for pair in value.split_whitespace() {
                    let Some((k, v)) = pair.split_once('=') else {
                        return Err(err(number, format!("ENV wants NAME=VALUE, not {pair:?}")));
                    };
                    t.env.push((k.to_string(), v.to_string()));
                }
            }
            "ARCH" => t.arch = value.split('|').map(|a| a.trim().to_string()).collect(),
            "REQUIRES_FEATURE" => {
                // Split at single spaces: two spaces in a row name an empty (unknown) feature.
                for f in value.split(' ').map(str::trim) {
                    let (set, name) = match f.strip_prefix('!') {
                        Some(name) => (&mut t.not_features, name),
                        None => (&mut t.features, f),
                    };
                    if !Dialect::V026.features().iter().any(|k| k.0 == name) {
                        return Err(err(number, format!("unknown REQUIRES_FEATURE {name:?}")));
                    }
                    set.insert(name.to_string());
                }
            }
            "WILL_FAIL" => t.will_fail = true,
            "NEW_PIDNS" => t.new_pidns = true,
            "SKIP_IF_ENV_HAS" => {
                let mut parts = value.split('=');
                let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
                    return Err(err(number, format!("SKIP_IF_ENV_HAS wants NAME=VALUE, not {value:?}")));
                };
                t.skip_if_env_has = Some((k.to_string(), v.to_string()));
            }
            "RETURN_CODE" => {
                let n = int::<i32>(&value)
                    .ok_or_else(|| err(number, format!("RETURN_CODE is not a number: {value:?}")))?;
                return_code = Some(n);
            }
            "LOCALIZE_TIMESTAMPS" => {
                let n = int::<i64>(&value).ok_or_else(|| {
                    err(number, format!("LOCALIZE_TIMESTAMPS is not a number: {value:?}"))
                })?;
                t.localize_ts = (n >= 0).then_some(n);
            }
            other => return Err(err(number, format!("unknown directive {other:?}"))),
        }
    }
    let first = block.first().map_or(0, |b| b.0);
    let fail = |message: String| Err(err(first, format!("{}: {message}", t.name)));
    if t.name.is_empty() {
        return Err(err(first, "a test without NAME".into()));
    }
    if t.run.is_empty() && t.prog.is_empty() {
        return fail("no RUN or PROG".into());
    }
    if !t.run.is_empty() && !t.prog.is_empty() {
        return fail("both RUN and PROG".into());
    }
    if t.expects.is_empty() && return_code.is_none() {
        return fail("no EXPECT (or variation) and no RETURN_CODE".into());
    }
    if t.expects.len() > 1 && t.has_exact_expect {
        return fail("EXPECT_FILE or EXPECT_JSON with other expectations".into());
    }
    t.timeout = timeout.unwrap_or(DEFAULT_TIMEOUT_026);
    t.return_code = return_code.unwrap_or(0);
    if t.return_code != 0 && t.will_fail {
        return fail("both WILL_FAIL and RETURN_CODE".into());
    }
    if t.new_pidns && t.befores.is_empty() {
        return fail("NEW_PIDNS needs a BEFORE".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::engine::Dialect;
    use crate::suite::{parse_suite, Expect, ExpectMode, ParseError, Test};

    fn parse(text: &str) -> Result<Vec<Test>, ParseError> {
        parse_suite("s", text, Dialect::V026)
    }

    fn expect(mode: ExpectMode, text: &str) -> Expect {
        Expect { mode, text: text.into() }
    }

    #[test]
    fn timeout_is_optional_and_values_keep_their_spacing() {
        let t = &parse("NAME n\nPROG begin {  exit(); }\nEXPECT a  b\n").expect("parses")[0];
        assert_eq!(t.timeout, 5);
        assert_eq!(t.prog, "begin {  exit(); }");
        assert_eq!(t.expects, vec![expect(ExpectMode::Text, "a  b")]);
        assert_eq!(t.dialect, Dialect::V026);
        assert_eq!(t.return_code, 0);
        let t = &parse("NAME n\nPROG x\nEXPECT y\nTIMEOUT 2\n").expect("parses")[0];
        assert_eq!(t.timeout, 2);
    }

    #[test]
    fn indented_lines_continue_prog_and_expect() {
        let text = "NAME n\nPROG begin {\n       print(1);\n     }\nEXPECT first\n         second\n\
                    EXPECT_REGEX ^a\n             b$\nEXPECT_NONE nothing\n";
        let t = &parse(text).expect("parses")[0];
        // Five characters (`PROG` and one) are cut: the rest is the line.
        assert_eq!(t.prog, "begin {\n  print(1);\n}");
        assert_eq!(
            t.expects,
            vec![
                expect(ExpectMode::Text, "first\n  second"),
                expect(ExpectMode::Regex, "^a\nb$"),
                expect(ExpectMode::TextNone, "nothing"),
            ]
        );
        assert!(!t.has_exact_expect);
        // An indented line after another directive is read as a directive.
        assert!(parse("NAME n\nPROG x\nEXPECT y\nAFTER ./a\n       ./b\n").is_err());
    }

    #[test]
    fn new_directives_are_read() {
        let text = "NAME n\nRUN {{BPFTRACE}} -e 'x'\nRETURN_CODE 69\nSETUP ip link set lo up\n\
                    CLEANUP rm -f /tmp/x\nSKIP_IF_ENV_HAS CI=true\nMAX_KERNEL 6.0\n\
                    REQUIRES_FEATURE fentry !lookup_percpu_elem\nLOCALIZE_TIMESTAMPS 0\n\
                    EXPECT_REGEX_NONE ^bad$\n";
        let t = &parse(text).expect("parses")[0];
        assert_eq!(t.return_code, 69);
        assert_eq!(t.setup, "ip link set lo up");
        assert_eq!(t.cleanup, "rm -f /tmp/x");
        assert_eq!(t.skip_if_env_has, Some(("CI".into(), "true".into())));
        assert_eq!(t.max_kernel, "6.0");
        assert!(t.features.contains("fentry"));
        assert!(t.not_features.contains("lookup_percpu_elem"));
        assert_eq!(t.localize_ts, Some(0));
        assert_eq!(t.expects, vec![expect(ExpectMode::RegexNone, "^bad$")]);
        // RETURN_CODE alone is enough of an expectation.
        assert!(parse("NAME n\nPROG x\nRETURN_CODE 1\n").is_ok());
        let t = &parse("NAME n\nPROG x\nEXPECT_JSON runtime/outputs/a.ndjson\n").expect("parses")[0];
        assert!(t.has_exact_expect);
    }

    #[test]
    fn malformed_tests_are_errors() {
        assert!(parse("NAME n\nPROG x\n").is_err(), "no expectation");
        assert!(parse("NAME n\nPROG x\nEXPECT a\nEXPECT_FILE f\n").is_err(), "file with others");
        assert!(parse("NAME n\nPROG x\nEXPECT a\nRETURN_CODE 2\nWILL_FAIL\n").is_err());
        assert!(parse("NAME n\nPROG x\nEXPECT y\nREQUIRES_FEATURE kfunc\n").is_err(), "0.20's name");
        assert!(parse("NAME n\nPROG x\nEXPECT y\nREQUIRES_FEATURE btf  dwarf\n").is_err());
        assert!(parse("NAME n\nPROG x\nEXPECT y\nBOGUS\n").is_err());
        assert!(parse("NAME n\nPROG x\nEXPECT y\nSKIP_IF_ENV_HAS CI\n").is_err());
        let e = parse("\nNAME n\nPROG x\nEXPECT y\nTIMEOUT soon\n").unwrap_err();
        assert_eq!(e.line, 5);
        // 0.20 would have wanted a TIMEOUT and refused EXPECT_REGEX.
        assert!(parse_suite("s", "NAME n\nPROG x\nEXPECT_REGEX y\n", Dialect::V020).is_err());
    }
}
