//! Objects mode (`--objects`): every test runs through a compiled object. The tool the tests
//! call is a shim (this program, invoked as `bpftrace`) that splits bpftrace's command line:
//! the script (`-e PROG` or the script file) and what shapes its C text (`-I`, `--include`) go
//! to `btc compile` (`--no-warnings` to both); everything else (`-p`, `-c`, `--unsafe`, `-f`, `-o`, `-k`, positional
//! parameters, ...) goes to `btc run x.o`. A command line without a script (`-l`, `--info`,
//! `--version`, ...) goes to btc unchanged, and so does one whose script file can't be read:
//! no object can be made of it, and bpftrace checks its options (`-p`, `-f`, ...) before it
//! reads the script, so btc reports the command line's errors in that order.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// bpftrace 0.20's short options that take a value (`dbB:f:e:hlp:vqc:Vo:I:k`).
const SHORT_WITH_VALUE: &[char] = &['B', 'f', 'e', 'p', 'c', 'o', 'I'];
/// Its long options that take a value.
const LONG_WITH_VALUE: &[&str] = &["include", "emit-llvm", "emit-elf", "test", "aot", "no-feature"];
/// Options after which there is nothing to compile.
const NO_SCRIPT: &[&str] = &["-l", "--info", "-V", "--version", "-h", "--help"];

#[derive(Debug, Default, PartialEq)]
pub struct Split {
    /// Arguments of `btc compile`, without `-o`.
    pub compile: Vec<String>,
    /// Arguments of the run, without the object's path (which comes first).
    pub run: Vec<String>,
    /// The script file among `compile`'s arguments (not for `-e` or stdin).
    pub file: Option<String>,
}

/// Splits bpftrace's arguments (without argv[0]); None when the command compiles nothing.
pub fn split(args: &[String]) -> Option<Split> {
    let mut s = Split::default();
    let mut script = false;
    let mut i = 0;
    let mut positional_only = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if positional_only || !a.starts_with('-') || a == "-" {
            if !script {
                // The script file.
                s.compile.push(a.clone());
                s.file = Some(a.clone()).filter(|f| f != "-");
                script = true;
            } else {
                s.run.push(a.clone());
            }
            continue;
        }
        if a == "--" {
            positional_only = true;
            s.run.push(a.clone());
            continue;
        }
        if NO_SCRIPT.contains(&a.as_str()) {
            return None;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut opt = vec![a.clone()];
            if LONG_WITH_VALUE.contains(&name) && inline.is_none() && i < args.len() {
                opt.push(args[i].clone());
                i += 1;
            }
            if name == "include" {
                s.compile.extend(opt);
            } else if name == "no-warnings" {
                // Both print warnings.
                s.compile.push(a.clone());
                s.run.push(a.clone());
            } else {
                s.run.extend(opt);
            }
            continue;
        }
        // A cluster of short options (`-kk`, `-dq`, `-eBEGIN{}`, `-p 42`).
        let chars: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            if c == 'l' || c == 'V' || c == 'h' {
                return None;
            }
            if !SHORT_WITH_VALUE.contains(&c) {
                s.run.push(format!("-{c}"));
                continue;
            }
            let value: String = if j < chars.len() {
                let v: String = chars[j..].iter().collect();
                j = chars.len();
                v
            } else if i < args.len() {
                i += 1;
                args[i - 1].clone()
            } else {
                s.run.push(format!("-{c}"));
                continue;
            };
            match c {
                'e' => {
                    s.compile.push("-e".into());
                    s.compile.push(value);
                    script = true;
                }
                'I' => {
                    s.compile.push("-I".into());
                    s.compile.push(value);
                }
                _ => {
                    s.run.push(format!("-{c}"));
                    s.run.push(value);
                }
            }
        }
    }
    script.then_some(s)
}

/// The shim: `argv[0]` is `.../objbin/bpftrace`; btc is `.../bin/bpftrace` beside it.
pub fn shim_main(argv: &[String]) -> ! {
    let me = PathBuf::from(argv.first().cloned().unwrap_or_default());
    let base = me.parent().and_then(Path::parent).unwrap_or(Path::new("."));
    let btc = base.join("bin/bpftrace");
    let args = &argv[1..];
    let readable = |f: &str| std::fs::File::open(f).is_ok();
    let Some(split) = split(args).filter(|s| s.file.as_deref().is_none_or(readable)) else {
        let err = Command::new(&btc).args(args).exec();
        eprintln!("btc-conformance shim: {}: {err}", btc.display());
        std::process::exit(127);
    };
    let dir = base.join("objects");
    let _ = std::fs::create_dir_all(&dir);
    let object = dir.join(format!("{}.o", std::process::id()));
    // The test called bpftrace: the compile's diagnostics are worded as bpftrace's.
    let status = Command::new(&btc)
        .arg0("btc")
        .env("BTC_MESSAGES", "bpftrace")
        .arg("compile")
        .args(&split.compile)
        .arg("-o")
        .arg(&object)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("btc-conformance shim: {}: {e}", btc.display());
            std::process::exit(127);
        }
    }
    let err = Command::new(&btc).arg(&object).args(&split.run).exec();
    eprintln!("btc-conformance shim: {}: {err}", btc.display());
    std::process::exit(127)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_script_compiles_and_the_rest_runs() {
        let s = split(&v(&["-q", "-f", "json", "-e", "BEGIN { exit() }"])).expect("a script");
        assert_eq!(s.compile, v(&["-e", "BEGIN { exit() }"]));
        assert_eq!(s.run, v(&["-q", "-f", "json"]));
        let s = split(&v(&["runtime/scripts/x.bt", "-c", "./testprogs/syscall nanosleep 1e9", "a", "1"]))
            .expect("a script");
        assert_eq!(s.compile, v(&["runtime/scripts/x.bt"]));
        assert_eq!(s.run, v(&["-c", "./testprogs/syscall nanosleep 1e9", "a", "1"]));
        assert_eq!(s.file.as_deref(), Some("runtime/scripts/x.bt"));
        let s = split(&v(&["-p", "x1", "-I", "/x", "file.bt"])).expect("a script");
        assert_eq!((s.compile, s.file.as_deref()), (v(&["-I", "/x", "file.bt"]), Some("file.bt")));
    }

    #[test]
    fn clusters_inline_values_and_headers() {
        let s = split(&v(&["-kk", "-eBEGIN{}", "-p42", "--unsafe", "--include", "stdint.h", "-I", "/x", "--include=a.h"]))
            .expect("a script");
        assert_eq!(s.compile, v(&["-e", "BEGIN{}", "--include", "stdint.h", "-I", "/x", "--include=a.h"]));
        assert_eq!(s.run, v(&["-k", "-k", "-p", "42", "--unsafe"]));
        let s = split(&v(&["--no-warnings", "-e", "BEGIN{}"])).expect("a script");
        assert_eq!((s.compile, s.run), (v(&["--no-warnings", "-e", "BEGIN{}"]), v(&["--no-warnings"])));
    }

    #[test]
    fn listing_and_information_compile_nothing() {
        assert_eq!(split(&v(&["-l", "tracepoint:*"])), None);
        assert_eq!(split(&v(&["-lv", "uprobe:x:*"])), None);
        assert_eq!(split(&v(&["--info"])), None);
        assert_eq!(split(&v(&["--version"])), None);
        assert_eq!(split(&v(&["-q"])), None);
    }
}
