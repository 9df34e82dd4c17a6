//! Reading upstream's runtime test files: one file per suite, one test per paragraph.
//!
//! Both engines (see `engine.rs`) agree on the paragraphs: a line starting with `#` is ignored,
//! a blank line ends a test (so does the file's end), and the first word of a line is its
//! directive. They differ in the rest:
//! - 0.20: the value is the rest of the line with runs of whitespace collapsed to one space;
//!   `EXPECT` (a regex), `EXPECT_FILE` and `EXPECT_JSON` set the one expectation a test has
//!   (the last one wins); `TIMEOUT` is required.
//! - 0.26: the value is the rest of the line as written (stripped at both ends); a line whose
//!   first characters, as many as the previous directive's name and one more, are all blank
//!   continues `PROG`, `EXPECT` or `EXPECT_REGEX` on a new line (what follows those
//!   characters); every `EXPECT*` adds an expectation, all of which must hold, except that
//!   `EXPECT_FILE` and `EXPECT_JSON` stand alone; `TIMEOUT` defaults to 5 s; `RETURN_CODE`
//!   may stand in for an expectation.

use crate::engine::Dialect;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// What the 0.26 engine uses when a test has no TIMEOUT.
pub const DEFAULT_TIMEOUT_026: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectMode {
    /// A regular expression (Python syntax) searched for in the output, multi-line.
    Regex,
    /// 0.26: a regular expression that must not be found.
    RegexNone,
    /// 0.26: literal text (maybe several lines) that must be found as whole lines, blanks
    /// around it aside.
    Text,
    /// 0.26: literal text that must not be found so.
    TextNone,
    /// A file whose text equals the output, both stripped of surrounding whitespace.
    File,
    /// A JSON file equal, as a value, to the output parsed as JSON (0.26: one value on one
    /// line; a `.ndjson` file, one value per line).
    Json,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub mode: ExpectMode,
    /// The pattern, the text, or the file's name (relative to where tests run).
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Test {
    pub suite: String,
    pub name: String,
    /// A shell command (`RUN`), or empty when the test is a program (`PROG`).
    pub run: String,
    pub prog: String,
    /// The engine whose rules the test was read with, and is run with.
    pub dialect: Dialect,
    /// Every expectation; all must hold. (0.20: exactly one.)
    pub expects: Vec<Expect>,
    /// An expectation (file, JSON) that compares the whole output: what the tool printed
    /// before its probes were attached is dropped.
    pub has_exact_expect: bool,
    /// Seconds after the probes are attached (0.20: 0 means the engine's default).
    pub timeout: u64,
    pub befores: Vec<String>,
    pub after: String,
    /// 0.26: a shell command run before anything else; if it fails, the test fails.
    pub setup: String,
    pub cleanup: String,
    pub min_kernel: String,
    pub max_kernel: String,
    pub requires: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Architectures the test is for; empty means every one.
    pub arch: Vec<String>,
    pub features: BTreeSet<String>,
    pub not_features: BTreeSet<String>,
    pub will_fail: bool,
    pub new_pidns: bool,
    /// 0.26: the test is skipped when the runner's environment has this variable set to this.
    pub skip_if_env_has: Option<(String, String)>,
    /// 0.26: the exit code the tool must end with (0 unless `RETURN_CODE` says otherwise).
    pub return_code: i32,
    /// 0.26: `LOCALIZE_TIMESTAMPS N`: the EXPECT_FILE text is a `strftime` format, expanded for
    /// the local time of N seconds after the epoch.
    pub localize_ts: Option<i64>,
}

impl Test {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.suite, self.name)
    }
}

#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub suite: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.suite, self.line, self.message)
    }
}

/// Parses one suite file's text with the rules of `dialect`. `suite` is the file's name.
pub fn parse_suite(suite: &str, text: &str, dialect: Dialect) -> Result<Vec<Test>, ParseError> {
    let mut tests = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let number = i + 1;
        if raw.starts_with('#') {
            // A comment: neither part of a test nor the end of one. (A comment on the file's
            // last line does not end the test before it; the end of the text does, below.)
        } else if *raw == "\n" {
            flush(suite, &mut block, &mut tests, dialect)?;
        } else {
            block.push((number, raw));
        }
    }
    flush(suite, &mut block, &mut tests, dialect)?;
    Ok(tests)
}

fn flush(
    suite: &str,
    block: &mut Vec<(usize, &str)>,
    tests: &mut Vec<Test>,
    dialect: Dialect,
) -> Result<(), ParseError> {
    if block.is_empty() {
        return Ok(());
    }
    let test = match dialect {
        Dialect::V020 => parse_test(suite, block)?,
        Dialect::V026 => crate::suite026::parse_test(suite, block)?,
    };
    block.clear();
    tests.push(test);
    Ok(())
}

/// A test of the 0.20 engine.
fn parse_test(suite: &str, block: &[(usize, &str)]) -> Result<Test, ParseError> {
    let err = |line: usize, message: String| ParseError { suite: suite.to_string(), line, message };
    let mut t = Test { suite: suite.to_string(), ..Test::default() };
    let mut timeout = None;
    for &(number, raw) in block {
        let mut words = raw.split_whitespace();
        let Some(directive) = words.next() else {
            // A line of spaces only: the engine would fail on it; treat it as nothing.
            continue;
        };
        let value = words.collect::<Vec<_>>().join(" ");
        match directive {
            "NAME" => t.name = value,
            "RUN" => t.run = value,
            "PROG" => t.prog = value,
            "EXPECT" => {
                t.expects = vec![Expect { mode: ExpectMode::Regex, text: value }];
            }
            "EXPECT_FILE" => {
                t.expects = vec![Expect { mode: ExpectMode::File, text: value }];
            }
            "EXPECT_JSON" => {
                t.expects = vec![Expect { mode: ExpectMode::Json, text: value }];
            }
            "TIMEOUT" => {
                let n = value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| err(number, format!("TIMEOUT is not a number: {value:?}")))?;
                timeout = Some(n);
            }
            "BEFORE" => t.befores.push(value),
            "AFTER" => t.after = value,
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
                for f in value.split(' ').map(str::trim).filter(|f| !f.is_empty()) {
                    let (set, name) = match f.strip_prefix('!') {
                        Some(name) => (&mut t.not_features, name),
                        None => (&mut t.features, f),
                    };
                    if !Dialect::V020.features().iter().any(|f| f.0 == name) {
                        return Err(err(number, format!("unknown REQUIRES_FEATURE {name:?}")));
                    }
                    set.insert(name.to_string());
                }
            }
            "WILL_FAIL" => t.will_fail = true,
            "NEW_PIDNS" => t.new_pidns = true,
            other => return Err(err(number, format!("unknown directive {other:?}"))),
        }
    }
    let first = block.first().map_or(0, |b| b.0);
    if t.name.is_empty() {
        return Err(err(first, "a test without NAME".into()));
    }
    if t.run.is_empty() == t.prog.is_empty() {
        return Err(err(first, format!("{}: exactly one of RUN and PROG is needed", t.name)));
    }
    if t.expects.first().is_none_or(|e| e.text.is_empty()) {
        return Err(err(first, format!("{}: no EXPECT", t.name)));
    }
    t.has_exact_expect = t.expects.iter().any(|e| e.mode != ExpectMode::Regex);
    t.timeout = timeout.ok_or_else(|| err(first, format!("{}: no TIMEOUT", t.name)))?;
    if t.new_pidns && t.befores.is_empty() {
        return Err(err(first, format!("{}: NEW_PIDNS needs a BEFORE", t.name)));
    }
    Ok(t)
}

/// Every suite under `runtime_dir` (upstream's `tests/runtime`), sorted by suite name, each
/// with its tests sorted by name, as the engine orders them. The engine's own directories
/// (`engine`, `scripts`, `outputs`) and hidden files are not suites.
pub fn read_suites(runtime_dir: &Path, dialect: Dialect) -> Result<Vec<(String, Vec<Test>)>, String> {
    let mut files = Vec::new();
    collect_files(runtime_dir, &mut files)?;
    let mut suites = Vec::new();
    for path in files {
        let suite = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut tests = parse_suite(&suite, &text, dialect).map_err(|e| e.to_string())?;
        tests.sort_by(|a, b| a.name.cmp(&b.name));
        suites.push((suite, tests));
    }
    suites.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(suites)
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            if !matches!(name.as_str(), "engine" | "scripts" | "outputs") {
                collect_files(&path, out)?;
            }
        } else if !name.starts_with('.') {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_suite020(text: &str) -> Result<Vec<Test>, ParseError> {
        parse_suite("s", text, Dialect::V020)
    }

    #[test]
    fn paragraphs_are_tests_and_comments_are_skipped() {
        let text = "# a comment\nNAME one\nPROG BEGIN {  exit(); }\nEXPECT ^x$\nTIMEOUT 5\n\n\
                    NAME two\n# inside\nRUN {{BPFTRACE}} -l\nEXPECT_JSON runtime/outputs/a.json\nTIMEOUT 1";
        let tests = parse_suite("s", text, Dialect::V020).expect("parses");
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].name, "one");
        // Whitespace runs collapse, as the engine splits and rejoins each line.
        assert_eq!(tests[0].prog, "BEGIN { exit(); }");
        assert_eq!(tests[0].expects, vec![Expect { mode: ExpectMode::Regex, text: "^x$".into() }]);
        assert!(!tests[0].has_exact_expect);
        assert_eq!(tests[0].timeout, 5);
        assert_eq!(tests[1].run, "{{BPFTRACE}} -l");
        assert_eq!(tests[1].expects[0].mode, ExpectMode::Json);
        assert!(tests[1].has_exact_expect);
        assert_eq!(tests[1].full_name(), "s.two");
    }

    #[test]
    fn the_last_expectation_wins() {
        let text = "NAME n\nPROG x\nEXPECT first\nEXPECT second\nTIMEOUT 1\n";
        let t = &parse_suite("s", text, Dialect::V020).expect("parses")[0];
        assert_eq!(t.expects, vec![Expect { mode: ExpectMode::Regex, text: "second".into() }]);
    }

    #[test]
    fn conditions_are_read() {
        let text = "NAME n\nRUN true\nEXPECT x\nTIMEOUT 2\nBEFORE ./testprogs/a\nBEFORE ./testprogs/b\n\
                    REQUIRES_FEATURE btf !uprobe_refcount\nARCH x86_64 | aarch64\nMIN_KERNEL 5.5\n\
                    ENV A=1 B=2\nREQUIRES test -e /x\nWILL_FAIL\n";
        let t = &parse_suite("s", text, Dialect::V020).expect("parses")[0];
        assert_eq!(t.befores, vec!["./testprogs/a", "./testprogs/b"]);
        assert!(t.features.contains("btf"));
        assert!(t.not_features.contains("uprobe_refcount"));
        assert_eq!(t.arch, vec!["x86_64", "aarch64"]);
        assert_eq!(t.min_kernel, "5.5");
        assert_eq!(t.env, vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
        assert_eq!(t.requires, vec!["test -e /x"]);
        assert!(t.will_fail);
    }

    #[test]
    fn malformed_tests_are_errors() {
        assert!(parse_suite020("NAME n\nPROG x\nTIMEOUT 1\n").is_err(), "no EXPECT");
        assert!(parse_suite020("NAME n\nPROG x\nEXPECT y\n").is_err(), "no TIMEOUT");
        assert!(parse_suite020("NAME n\nEXPECT y\nTIMEOUT 1\n").is_err(), "no PROG/RUN");
        assert!(parse_suite020("NAME n\nPROG x\nRUN y\nEXPECT y\nTIMEOUT 1\n").is_err());
        assert!(parse_suite020("NAME n\nPROG x\nEXPECT y\nTIMEOUT 1\nBOGUS 1\n").is_err());
        assert!(parse_suite020("NAME n\nPROG x\nEXPECT y\nTIMEOUT 1\nREQUIRES_FEATURE nope\n")
            .is_err());
        let e = parse_suite020("\n\nNAME n\nPROG x\nEXPECT y\nTIMEOUT z\n").unwrap_err();
        assert_eq!(e.line, 6);
    }
}
