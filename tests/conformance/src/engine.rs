//! Which of upstream's test engines a checkout carries, so its directives are read and its tests
//! run with that engine's rules. Two are known:
//!
//! - **0.20** (bpftrace v0.20.x): every test needs `TIMEOUT`; `EXPECT` is a regular expression
//!   and a test has one expectation (the last one written wins); directive values are single
//!   lines with whitespace runs collapsed; the tool gets `BPFTRACE_VERIFY_LLVM_IR=1` in its
//!   environment; a `WILL_FAIL` test passes on any exit code.
//! - **0.26** (bpftrace v0.26.x): `TIMEOUT` defaults to 5 s; `EXPECT` is literal text matched
//!   against a whole line, `EXPECT_REGEX` a regular expression, `EXPECT_NONE` and
//!   `EXPECT_REGEX_NONE` their negations, and a test may have several (all must hold); `PROG`,
//!   `EXPECT` and `EXPECT_REGEX` continue on the lines below that are indented past the
//!   directive; `SETUP`, `SKIP_IF_ENV_HAS`, `RETURN_CODE` and `LOCALIZE_TIMESTAMPS` exist; the
//!   tool is called with `--verify-llvm-ir`; a `WILL_FAIL` test fails on exit code 0.
//!
//! The engine is recognised by what its `parser.py` accepts, not by the checkout's name.

use std::path::Path;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    V020,
    V026,
}

impl Dialect {
    pub fn describe(self) -> &'static str {
        match self {
            Dialect::V020 => "0.20 (TIMEOUT required, EXPECT is a regex)",
            Dialect::V026 => "0.26 (TIMEOUT optional, EXPECT is text, EXPECT_REGEX, multi-line PROG)",
        }
    }

    /// The names `REQUIRES_FEATURE` may use, each with the `--info` text whose presence means
    /// the tool has it (None: never present, e.g. bpftrace's separate AOT runtime, which btc
    /// doesn't have).
    pub fn features(self) -> &'static [(&'static str, Option<&'static str>)] {
        match self {
            Dialect::V020 => FEATURES_020,
            Dialect::V026 => FEATURES_026,
        }
    }
}

const FEATURES_020: &[(&str, Option<&str>)] = &[
    ("loop", Some("Loop support: yes")),
    ("btf", Some("btf: yes")),
    ("kfunc", Some("kfunc: yes")),
    ("probe_read_kernel", Some("probe_read_kernel: yes")),
    ("dpath", Some("dpath: yes")),
    ("uprobe_refcount", Some("uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount): yes")),
    ("signal", Some("send_signal: yes")),
    ("iter:task", Some("iter:task: yes")),
    ("iter:task_file", Some("iter:task_file: yes")),
    ("iter:task_vma", Some("iter:task_vma: yes")),
    ("libpath_resolv", Some("bcc library path resolution: yes")),
    ("dwarf", Some("libdw (DWARF support): yes")),
    ("aot", None),
    ("kprobe_multi", Some("kprobe_multi: yes")),
    ("uprobe_multi", Some("uprobe_multi: yes")),
    ("skboutput", Some("skboutput: yes")),
    ("get_tai_ns", Some("get_ktime_ns: yes")),
    ("get_func_ip", Some("get_func_ip: yes")),
    ("jiffies64", Some("jiffies64: yes")),
];

const FEATURES_026: &[(&str, Option<&str>)] = &[
    ("loop", Some("Loop support: yes")),
    ("probe_read_kernel", Some("probe_read_kernel: yes")),
    ("btf", Some("btf: yes")),
    ("fentry", Some("fentry: yes")),
    ("dpath", Some("dpath: yes")),
    ("signal", Some("send_signal: yes")),
    ("iter", Some("iter: yes")),
    ("libpath_resolv", Some("bcc library path resolution: yes")),
    ("dwarf", Some("libdw (DWARF support): yes")),
    ("kprobe_multi", Some("kprobe_multi: yes")),
    ("kprobe_session", Some("kprobe_session: yes")),
    ("uprobe_multi", Some("uprobe_multi: yes")),
    ("aot", None),
    ("skboutput", Some("skboutput: yes")),
    ("get_tai_ns", Some("get_ktime_ns: yes")),
    ("get_func_ip", Some("get_func_ip: yes")),
    ("jiffies64", Some("jiffies64: yes")),
    ("lookup_percpu_elem", Some("lookup_percpu_elem: yes")),
    ("dwunwind", Some("dwunwind (DWARF stack unwinding): yes")),
];

/// The dialect of the engine whose `parser.py` reads as `parser_py`: one that knows
/// `EXPECT_REGEX` and has a default timeout is 0.26's; one that knows `EXPECT_JSON` but not
/// `EXPECT_REGEX` is 0.20's.
pub fn dialect_of(parser_py: &str) -> Result<Dialect, String> {
    let knows = |directive: &str| {
        parser_py.contains(&format!("'{directive}'")) || parser_py.contains(&format!("\"{directive}\""))
    };
    if knows("EXPECT_REGEX") && parser_py.contains("DEFAULT_TIMEOUT") {
        Ok(Dialect::V026)
    } else if knows("EXPECT_JSON") && !knows("EXPECT_REGEX") {
        Ok(Dialect::V020)
    } else {
        Err("unrecognised test engine (neither 0.20's nor 0.26's directives)".into())
    }
}

/// The dialect of the checkout whose `tests` directory is `tests`.
pub fn detect(tests: &Path) -> Result<Dialect, String> {
    let parser = tests.join("runtime/engine/parser.py");
    let text = std::fs::read_to_string(&parser).map_err(|e| format!("{}: {e}", parser.display()))?;
    dialect_of(&text).map_err(|e| format!("{}: {e}", parser.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_told_apart_by_the_directives_they_accept() {
        let old = "elif item_name == 'EXPECT_JSON':\n  ...\nraise RequiredFieldError('TIMEOUT')";
        assert_eq!(dialect_of(old), Ok(Dialect::V020));
        let new = "DEFAULT_TIMEOUT = 5\nelif item_name == 'EXPECT_REGEX':\nelif item_name == 'EXPECT_JSON':";
        assert_eq!(dialect_of(new), Ok(Dialect::V026));
        assert!(dialect_of("print('hello')").is_err());
    }

    #[test]
    fn feature_names_differ_between_engines() {
        let names = |d: Dialect| d.features().iter().map(|f| f.0).collect::<Vec<_>>();
        assert!(names(Dialect::V020).contains(&"kfunc"));
        assert!(!names(Dialect::V026).contains(&"kfunc"));
        assert!(names(Dialect::V026).contains(&"fentry"));
        assert!(names(Dialect::V026).contains(&"lookup_percpu_elem"));
        assert!(names(Dialect::V020).contains(&"iter:task"));
        assert!(names(Dialect::V026).contains(&"iter"));
    }
}
