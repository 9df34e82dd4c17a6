//! Negative tests: every program in `data/errors.txt` must fail to check with exactly the
//! expected first diagnostic (line:col and message). The file alternates `SRC <program>` and
//! `ERR <line>:<col>: <message>` lines; programs are one line each.
//!
//! `BTC_BLESS=1` rewrites the file from `data/errors.in` with the current diagnostics; review the
//! diff before committing it.

mod common;
use common::Fixtures;

fn first_error(src: &str) -> Option<String> {
    let opts = btc_compiler::CompileOptions::default();
    match btc_compiler::check(src, &Fixtures, &opts) {
        Ok(_) => None,
        Err(btc_compiler::CompileError::Script(d)) => {
            let e = d.items.iter().find(|d| d.severity == btc_compiler::Severity::Error)?;
            let (line, col) = btc_compiler::diag::line_col(src, e.span.start);
            Some(format!("{line}:{col}: {}", e.message))
        }
        Err(btc_compiler::CompileError::Internal(m)) => Some(format!("internal: {m}")),
    }
}

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn every_bad_program_gets_its_diagnostic() {
    if std::env::var_os("BTC_BLESS").is_some() {
        let input = std::fs::read_to_string(data("errors.in")).expect("errors.in");
        let mut out = String::new();
        for src in input.lines().filter(|l| !l.trim().is_empty()) {
            let err = first_error(&src).unwrap_or_else(|| "NO ERROR".to_string());
            out.push_str(&format!("SRC {src}\nERR {err}\n"));
        }
        std::fs::write(data("errors.txt"), out).expect("write errors.txt");
    }
    let text = std::fs::read_to_string(data("errors.txt")).expect("errors.txt");
    let lines: Vec<&str> = text.lines().collect();
    let mut failures = Vec::new();
    let mut count = 0;
    for pair in lines.chunks(2) {
        let [src, err] = pair else { panic!("errors.txt must alternate SRC and ERR lines") };
        let src = src.strip_prefix("SRC ").expect("SRC line");
        let want = err.strip_prefix("ERR ").expect("ERR line");
        assert_ne!(want, "NO ERROR", "a negative test must expect an error: {src}");
        count += 1;
        match first_error(src) {
            Some(got) if got == want => {}
            got => failures.push(format!("{src}\n  want: {want}\n  got:  {}", got.unwrap_or("no error".into()))),
        }
    }
    assert!(count >= 200, "only {count} negative tests");
    assert!(failures.is_empty(), "{} of {count} failed:\n{}", failures.len(), failures.join("\n"));
}
