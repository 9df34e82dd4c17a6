//! Reading upstream's runtime test files: one file per suite, one test per paragraph.
//!
//! The rules are those of bpftrace v0.20's test engine: a line starting with `#` is ignored, a
//! blank line ends a test (so does the file's end), the first word of a line is its directive
//! and the rest, with runs of whitespace collapsed to one space, is its value. `EXPECT`,
//! `EXPECT_FILE` and `EXPECT_JSON` set the one expectation a test has (the last one wins).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// The features `REQUIRES_FEATURE` may name (what `bpftrace --info` reports).
pub const FEATURES: &[&str] = &[
    "loop",
    "btf",
    "kfunc",
    "probe_read_kernel",
    "dpath",
    "uprobe_refcount",
    "signal",
    "iter:task",
    "iter:task_file",
    "iter:task_vma",
    "libpath_resolv",
    "dwarf",
    "aot",
    "kprobe_multi",
    "uprobe_multi",
    "skboutput",
    "get_tai_ns",
    "get_func_ip",
    "jiffies64",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectMode {
    /// A regular expression (Python syntax) searched for in the output, multi-line.
    Regex,
    /// A file whose text equals the output, both stripped of surrounding whitespace.
    File,
    /// A JSON file equal, as a value, to the output parsed as JSON.
    Json,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Test {
    pub suite: String,
    pub name: String,
    /// A shell command (`RUN`), or empty when the test is a program (`PROG`).
    pub run: String,
    pub prog: String,
    pub expect: String,
    pub expect_mode: Option<ExpectMode>,
    /// Seconds after the probes are attached.
    pub timeout: u64,
    pub befores: Vec<String>,
    pub after: String,
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

/// Parses one suite file's text. `suite` is the file's name.
pub fn parse_suite(suite: &str, text: &str) -> Result<Vec<Test>, ParseError> {
    let mut tests = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, raw) in lines.iter().enumerate() {
        let number = i + 1;
        if raw.starts_with('#') {
            // A comment: neither part of a test nor the end of one. (A comment on the file's
            // last line does not end the test before it; the end of the text does, below.)
        } else if *raw == "\n" {
            flush(suite, &mut block, &mut tests)?;
        } else {
            block.push((number, raw));
        }
    }
    flush(suite, &mut block, &mut tests)?;
    Ok(tests)
}

fn flush(
    suite: &str,
    block: &mut Vec<(usize, &str)>,
    tests: &mut Vec<Test>,
) -> Result<(), ParseError> {
    if block.is_empty() {
        return Ok(());
    }
    let test = parse_test(suite, block)?;
    block.clear();
    tests.push(test);
    Ok(())
}

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
                t.expect = value;
                t.expect_mode = Some(ExpectMode::Regex);
            }
            "EXPECT_FILE" => {
                t.expect = value;
                t.expect_mode = Some(ExpectMode::File);
            }
            "EXPECT_JSON" => {
                t.expect = value;
                t.expect_mode = Some(ExpectMode::Json);
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
                    if !FEATURES.contains(&name) {
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
    if t.expect_mode.is_none() || t.expect.is_empty() {
        return Err(err(first, format!("{}: no EXPECT", t.name)));
    }
    t.timeout = timeout.ok_or_else(|| err(first, format!("{}: no TIMEOUT", t.name)))?;
    if t.new_pidns && t.befores.is_empty() {
        return Err(err(first, format!("{}: NEW_PIDNS needs a BEFORE", t.name)));
    }
    Ok(t)
}

/// Every suite under `runtime_dir` (upstream's `tests/runtime`), sorted by suite name, each
/// with its tests sorted by name, as the engine orders them. The engine's own directories
/// (`engine`, `scripts`, `outputs`) and hidden files are not suites.
pub fn read_suites(runtime_dir: &Path) -> Result<Vec<(String, Vec<Test>)>, String> {
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
        let mut tests = parse_suite(&suite, &text).map_err(|e| e.to_string())?;
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

    #[test]
    fn paragraphs_are_tests_and_comments_are_skipped() {
        let text = "# a comment\nNAME one\nPROG BEGIN {  exit(); }\nEXPECT ^x$\nTIMEOUT 5\n\n\
                    NAME two\n# inside\nRUN {{BPFTRACE}} -l\nEXPECT_JSON runtime/outputs/a.json\nTIMEOUT 1";
        let tests = parse_suite("s", text).expect("parses");
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].name, "one");
        // Whitespace runs collapse, as the engine splits and rejoins each line.
        assert_eq!(tests[0].prog, "BEGIN { exit(); }");
        assert_eq!(tests[0].expect_mode, Some(ExpectMode::Regex));
        assert_eq!(tests[0].timeout, 5);
        assert_eq!(tests[1].run, "{{BPFTRACE}} -l");
        assert_eq!(tests[1].expect_mode, Some(ExpectMode::Json));
        assert_eq!(tests[1].full_name(), "s.two");
    }

    #[test]
    fn the_last_expectation_wins() {
        let text = "NAME n\nPROG x\nEXPECT first\nEXPECT second\nTIMEOUT 1\n";
        let t = &parse_suite("s", text).expect("parses")[0];
        assert_eq!(t.expect, "second");
    }

    #[test]
    fn conditions_are_read() {
        let text = "NAME n\nRUN true\nEXPECT x\nTIMEOUT 2\nBEFORE ./testprogs/a\nBEFORE ./testprogs/b\n\
                    REQUIRES_FEATURE btf !uprobe_refcount\nARCH x86_64 | aarch64\nMIN_KERNEL 5.5\n\
                    ENV A=1 B=2\nREQUIRES test -e /x\nWILL_FAIL\n";
        let t = &parse_suite("s", text).expect("parses")[0];
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
        assert!(parse_suite("s", "NAME n\nPROG x\nTIMEOUT 1\n").is_err(), "no EXPECT");
        assert!(parse_suite("s", "NAME n\nPROG x\nEXPECT y\n").is_err(), "no TIMEOUT");
        assert!(parse_suite("s", "NAME n\nEXPECT y\nTIMEOUT 1\n").is_err(), "no PROG/RUN");
        assert!(parse_suite("s", "NAME n\nPROG x\nRUN y\nEXPECT y\nTIMEOUT 1\n").is_err());
        assert!(parse_suite("s", "NAME n\nPROG x\nEXPECT y\nTIMEOUT 1\nBOGUS 1\n").is_err());
        assert!(parse_suite("s", "NAME n\nPROG x\nEXPECT y\nTIMEOUT 1\nREQUIRES_FEATURE nope\n")
            .is_err());
        let e = parse_suite("s", "\n\nNAME n\nPROG x\nEXPECT y\nTIMEOUT z\n").unwrap_err();
        assert_eq!(e.line, 6);
    }
}
