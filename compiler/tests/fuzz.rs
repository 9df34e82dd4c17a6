//! A fuzz target over the parser and checker (proptest). Inputs are mutations of a corpus built
//! from the test fixtures: every negative test, every e2e program, the scripts in tests/ and the
//! manual's examples (tests/manual).
//! No input may panic, overflow the stack, or take more than a second to check.
//!
//! The run is bounded: `PROPTEST_CASES` cases (default 2000 here; `make fuzz` runs more).

mod common;
use common::Fixtures;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// Tokens spliced into inputs: the language's punctuation, keywords and builtins.
const DICTIONARY: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ";", ",", ":", "/", "*", "+", "-", "!", "~", "&", "|", "^", "<<", ">>", "==",
    "!=", "<=", ">=", "&&", "||", "?", "=", "+=", "++", "--", "->", ".", "\"", "'", "\\", "$", "@", "$1", "$#",
    "if", "else", "while", "unroll", "for", "return", "break", "continue", "sizeof", "offsetof", "BEGIN", "END",
    "i:s:1", "tracepoint:syscalls:sys_enter_openat", "args", "args.filename", "comm", "pid", "count()", "hist(",
    "lhist(", "printf(\"%d\\n\", ", "str(", "(uint8)", "(struct task_struct *)", "0x", "1e3", "99999999999999999999",
    "/*", "*/", "//", "\n", "#include <x.h>\n", "config = { a = 1 }", "@x[", "(1, \"a\")", ".0",
];

fn corpus() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(root.join("compiler/tests/data/errors.in")) {
        out.extend(text.lines().map(str::to_string));
    }
    for dir in ["tests/suites", "tests/scripts", "tests/manual", "tools", "examples"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "md") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(e.path()) else { continue };
            if e.path().extension().is_some_and(|x| x == "txt") {
                out.extend(text.lines().filter_map(|l| l.strip_prefix("PROG ")).map(str::to_string));
            } else {
                out.push(text);
            }
        }
    }
    out.push("BEGIN { printf(\"hello\\n\"); exit(); }".to_string());
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, usize),
    Delete(usize, usize),
    Replace(usize, u8),
    Duplicate(usize, usize, u8),
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..DICTIONARY.len()).prop_map(|(p, t)| Mutation::Insert(p, t)),
        (any::<usize>(), 1usize..16).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Replace(p, b)),
        (any::<usize>(), 1usize..32, 1u8..8).prop_map(|(p, n, k)| Mutation::Duplicate(p, n, k)),
        (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(a, b, c)| Mutation::Splice(a, b, c)),
    ]
}

fn apply(mut s: Vec<u8>, m: &Mutation, corpus: &[String]) -> Vec<u8> {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match *m {
        Mutation::Insert(p, t) => {
            let i = at(p, s.len());
            s.splice(i..i, DICTIONARY[t].bytes());
        }
        Mutation::Delete(p, n) => {
            let i = at(p, s.len());
            let j = (i + n).min(s.len());
            s.drain(i..j);
        }
        Mutation::Replace(p, b) => {
            if !s.is_empty() {
                let i = p % s.len();
                s[i] = b;
            }
        }
        Mutation::Duplicate(p, n, k) => {
            let i = at(p, s.len());
            let j = (i + n).min(s.len());
            let piece = s[i..j].to_vec();
            for _ in 0..k {
                s.splice(j..j, piece.iter().copied());
            }
        }
        Mutation::Splice(c, p, q) => {
            if let Some(other) = corpus.get(c % corpus.len().max(1)) {
                let o = other.as_bytes();
                let a = at(p, o.len());
                let b = at(q, o.len());
                let (a, b) = (a.min(b), a.max(b));
                let i = at(p ^ q, s.len());
                s.splice(i..i, o[a..b].iter().copied());
            }
        }
    }
    s
}

fn check_one(src: &str) {
    let start = Instant::now();
    let opts = btc_compiler::CompileOptions::default();
    let result = btc_compiler::check(src, &Fixtures, &opts);
    let elapsed = start.elapsed();
    if let Err(btc_compiler::CompileError::Script(d)) = &result {
        // Rendering is part of what users see: it must not panic either.
        let _ = d.render("fuzz", src, true);
    }
    assert!(elapsed < Duration::from_secs(1), "checking took {elapsed:?}: {src:?}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_fixtures_never_panic_or_hang(seed in any::<usize>(), muts in prop::collection::vec(mutation(), 1..8)) {
        let corpus = corpus();
        let base = corpus[seed % corpus.len()].clone().into_bytes();
        let mutated = muts.iter().fold(base, |s, m| apply(s, m, &corpus));
        let src = String::from_utf8_lossy(&mutated).into_owned();
        check_one(&src);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check_one(&src);
    }
}

#[test]
fn deep_nesting_is_a_clean_error() {
    for src in [
        format!("BEGIN {{ @x = {}1{}; }}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("BEGIN {{ @x = {}1; }}", "-".repeat(100_000)),
        format!("BEGIN {{ @x = {}1; }}", "!~".repeat(50_000)),
        format!("BEGIN {{ @x = 1{}; }}", "+1".repeat(100_000)),
        format!("BEGIN {}{}", "{ if (1) ".repeat(10_000), "}".repeat(10_001)),
        format!("BEGIN {{ $x = {}; }}", "(1, ".repeat(50_000)),
        format!("BEGIN {{ $x = (1, 2){}; }}", ".0".repeat(100_000)),
        format!("BEGIN {{ $x = {}1; }}", "1 ? 1 : ".repeat(100_000)),
        format!("BEGIN {{ $x = 1{}; }}", " + 1 * 2 - 3".repeat(30_000)),
    ] {
        check_one(&src);
        let opts = btc_compiler::CompileOptions::default();
        assert!(btc_compiler::check(&src, &Fixtures, &opts).is_err());
    }
}
