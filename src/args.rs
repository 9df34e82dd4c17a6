//! bpftrace's command line, as `btc run` and as `bpftrace` (btc installed under that name).
//!
//! Parsed like getopt_long does: short options may be grouped (`-qv`, `-kk`) and take their
//! value attached (`-eBEGIN{}`) or as the next argument; long options take `--opt=value` or
//! `--opt value`; options and operands may be mixed; `--` ends the options. The first operand
//! is the script file unless `-e` is given; the others are the positional parameters.

use btc_compiler::HelperErrors;
use btc_bpfprog::Compat;
use btc_runtime::{Buffering, OutputFormat};
use std::path::PathBuf;

/// Everything the command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `-e PROGRAM`.
    pub program: Option<String>,
    /// The script (or `.o` object) file; `-` for stdin.
    pub file: Option<String>,
    /// `$1`..`$N`.
    pub positional: Vec<String>,
    pub buffering: Buffering,
    pub format: OutputFormat,
    /// `-o FILE`.
    pub output: Option<PathBuf>,
    /// `-I DIR` (in order).
    pub include_dirs: Vec<PathBuf>,
    /// `--include FILE` (in order).
    pub includes: Vec<String>,
    /// `-l [SEARCH]`.
    pub list: Option<Option<String>>,
    pub verbose: bool,
    /// `-k` / `-kk`.
    pub helper_errors: HelperErrors,
    pub pid: Option<i32>,
    /// Why `-f` or `-p` was refused: bpftrace reports these after the whole command line is
    /// parsed, without the usage text (`-f` first, then the environment's settings, then `-p`).
    pub bad_format: Option<String>,
    pub bad_pid: Option<String>,
    /// The first of bpftrace's `USAGE:` refusals met while reading the options (`-B`,
    /// `--no-feature`, `-kkk`). See [`check`].
    pub usage_error: Option<UsageError>,
    pub command: Option<String>,
    pub allow_unsafe: bool,
    pub no_warnings: bool,
    pub usdt_file_activation: bool,
    pub quiet: bool,
    pub info: bool,
    pub no_features: Vec<String>,
    /// `-d` (1) or `-dd` (2).
    pub debug: u8,
    pub dry_run: bool,
    /// Hidden `--load-only`: load (verify) the programs and stop without attaching.
    pub load_only: bool,
    pub help: bool,
    pub version: bool,
    /// `--emit-elf FILE`: write the object and stop.
    pub emit_elf: Option<PathBuf>,
    /// `--emit-llvm FILE`: write the LLVM IR to FILE.optimized.ll, then run.
    pub emit_llvm: Option<PathBuf>,
    /// `--compat VERSION` (btc's own): reproduce bpftrace 0.20's or 0.26's output; wins over
    /// BTC_COMPAT and the script's config block.
    pub compat: Option<btc_bpfprog::Compat>,
    /// `--probe-filter REGEX` (bpftrace 0.26): attach only the probes whose name matches.
    pub probe_filter: Option<String>,
    /// The last `-p` value as given (for bpftrace 0.26's words about a bad one).
    pub pid_text: Option<String>,
}

/// A command line bpftrace refuses once its options are read, as bpftrace reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `ERROR: USAGE: ...` alone.
    Alone(String),
    /// `ERROR: USAGE: ...`, then the usage text.
    WithUsage(String),
    /// The usage text alone.
    UsageOnly,
}

fn refuse(a: &mut Args, e: UsageError) {
    a.usage_error.get_or_insert(e);
}

/// bpftrace's checks of the options as a whole, in its order: a refused option value, `-v` with
/// `-d`, `-c` with `-p`, no program.
pub fn check(a: &Args) -> Option<UsageError> {
    if let Some(e) = &a.usage_error {
        return Some(e.clone());
    }
    if a.verbose && a.debug > 0 {
        return Some(UsageError::Alone("USAGE: Use either -v or -d.".to_string()));
    }
    if a.command.is_some() && (a.pid.is_some() || a.bad_pid.is_some()) {
        return Some(UsageError::WithUsage("USAGE: Cannot use both -c and -p.".to_string()));
    }
    if a.list.is_none() && a.program.is_none() && a.file.is_none() && !(a.help || a.version || a.info) {
        return Some(UsageError::Alone("USAGE: filename or -e 'program' required.".to_string()));
    }
    None
}

/// Options that take a value.
const SHORT_WITH_VALUE: &str = "eBfoIpc";
/// Options without a value.
const SHORT_FLAGS: &str = "hVvqkdl";
const LONG_WITH_VALUE: &[&str] = &["include", "no-feature", "emit-elf", "emit-llvm", "compat"];
const LONG_FLAGS: &[&str] =
    &["help", "version", "unsafe", "no-warnings", "usdt-file-activation", "info", "dry-run", "load-only", "verify-llvm-ir"];

/// The compat a command line asks for: its `--compat`, else BTC_COMPAT, else bpftrace 0.20.
/// (Options are read before the script, so its config block can't change how they parse.)
pub fn compat_of(argv: &[String], env: Option<&str>) -> Compat {
    let mut found = None;
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        if arg == "--" {
            break;
        }
        if let Some(v) = arg.strip_prefix("--compat=") {
            found = Compat::parse(v).or(found);
        } else if arg == "--compat" {
            found = argv.get(i + 1).and_then(|v| Compat::parse(v)).or(found);
            i += 1;
        }
        i += 1;
    }
    found.or_else(|| env.and_then(Compat::parse)).unwrap_or_default()
}

/// bpftrace 0.26's long options: aliases of short ones, and the options btc has nothing for.
const LONG_026_VALUE: &[&str] =
    &["output", "pid", "cmd", "debug", "probe-filter", "debuginfo", "traceable-functions", "mode", "aot", "dwarf-pid"];
const LONG_026_FLAGS: &[&str] = &["list", "quiet", "verbose", "warnings", "btf", "test", "bench", "fmt"];

/// Parses the arguments after the program name. The error is one line, without `ERROR:`.
pub fn parse(argv: &[String]) -> Result<Args, String> {
    let env = std::env::var(btc_compiler::settings::COMPAT_VAR).ok();
    parse_as(argv, compat_of(argv, env.as_deref()))
}

/// [`parse`] for bpftrace `compat`'s command line (0.26 has long aliases, `-d STAGE`, ...).
pub fn parse_as(argv: &[String], compat: Compat) -> Result<Args, String> {
    let v026 = compat.v026();
    let short_with_value = if v026 { "eBfoIpcd" } else { SHORT_WITH_VALUE };
    let mut a = Args::default();
    let mut operands = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if arg == "--" {
            operands.extend(argv[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let flag_026 = v026 && LONG_026_FLAGS.contains(&name);
            if LONG_FLAGS.contains(&name) || flag_026 {
                if inline.is_some() {
                    return Err(format!("option '--{name}' doesn't allow an argument"));
                }
                if flag_026 {
                    long_flag_026(&mut a, name)?;
                } else {
                    long_flag(&mut a, name);
                }
            } else if LONG_WITH_VALUE.contains(&name) || v026 && LONG_026_VALUE.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = argv.get(i).cloned().ok_or_else(|| format!("option '--{name}' requires an argument"))?;
                        i += 1;
                        v
                    }
                };
                long_value(&mut a, name, value)?;
            } else {
                return Err(format!("unrecognized option '--{name}'"));
            }
            continue;
        }
        if arg.len() > 1 && arg.starts_with('-') {
            let cluster: Vec<char> = arg[1..].chars().collect();
            let mut j = 0;
            while j < cluster.len() {
                let c = cluster[j];
                j += 1;
                if v026 && c == 'k' {
                    warnings_026(&mut a);
                } else if SHORT_FLAGS.contains(c) && !(v026 && c == 'd') {
                    short_flag(&mut a, c)?;
                } else if short_with_value.contains(c) {
                    let rest: String = cluster[j..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        let v = argv.get(i).cloned().ok_or_else(|| format!("option requires an argument -- '{c}'"))?;
                        i += 1;
                        v
                    };
                    if c == 'd' {
                        debug_stages(&mut a, &value);
                    } else {
                        short_value(&mut a, c, value)?;
                    }
                    break;
                } else {
                    return Err(format!("invalid option -- '{c}'"));
                }
            }
            continue;
        }
        operands.push(arg.clone());
    }
    let mut operands = operands.into_iter();
    if let Some(search) = &mut a.list {
        *search = operands.next();
        if let Some(extra) = operands.next() {
            return Err(format!("-l takes one search pattern, got another: '{extra}'"));
        }
        return Ok(a);
    }
    if a.program.is_none() {
        a.file = operands.next();
    }
    a.positional = operands.collect();
    Ok(a)
}

fn long_flag(a: &mut Args, name: &str) {
    match name {
        "help" => a.help = true,
        "version" => a.version = true,
        "unsafe" => a.allow_unsafe = true,
        "no-warnings" => a.no_warnings = true,
        "usdt-file-activation" => a.usdt_file_activation = true,
        "info" => a.info = true,
        "load-only" => a.load_only = true,
        // bpftrace 0.26's option (0.20: BPFTRACE_VERIFY_LLVM_IR): btc verifies the IR of every
        // compile, so there is nothing more to do.
        "verify-llvm-ir" => {}
        _ => a.dry_run = true,
    }
}

/// bpftrace 0.26's flags without a value.
fn long_flag_026(a: &mut Args, name: &str) -> Result<(), String> {
    match name {
        "list" => short_flag(a, 'l'),
        "quiet" => short_flag(a, 'q'),
        "verbose" => short_flag(a, 'v'),
        "warnings" => {
            warnings_026(a);
            Ok(())
        }
        // bpftrace 0.26 ignores --btf.
        "btf" => Ok(()),
        _ => {
            refuse(a, UsageError::Alone(format!("--{name} is not supported by btc")));
            Ok(())
        }
    }
}

/// bpftrace 0.26's `-k` (`--warnings`): failed probe reads and map lookups are reported (0.20's
/// `-kk`); a second `-k` is refused.
fn warnings_026(a: &mut Args) {
    if a.helper_errors == HelperErrors::All {
        let msg = "USAGE: -kk has been deprecated. Use a single -k for runtime warnings for errors in map lookups and probe reads.";
        refuse(a, UsageError::Alone(msg.to_string()));
    }
    a.helper_errors = HelperErrors::All;
}

/// bpftrace 0.26's `-d STAGE[,STAGE]`: btc prints what it has (the AST and the LLVM IR for
/// every stage, the BPF assembly for `all`).
fn debug_stages(a: &mut Args, value: &str) {
    const STAGES: &[&str] = &["all", "ast", "types", "codegen", "codegen-opt", "libbpf", "verifier"];
    for stage in value.split(',').filter(|s| !s.is_empty()) {
        if !STAGES.contains(&stage) {
            refuse(a, UsageError::Alone(format!("USAGE: invalid option for -d: {stage}")));
            return;
        }
        a.debug = a.debug.max(if stage == "all" { 2 } else { 1 });
    }
}

fn long_value(a: &mut Args, name: &str, value: String) -> Result<(), String> {
    match name {
        "output" => return short_value(a, 'o', value),
        "pid" => return short_value(a, 'p', value),
        "cmd" => return short_value(a, 'c', value),
        "debug" => debug_stages(a, &value),
        "probe-filter" => a.probe_filter = Some(value),
        // Accepted: btc finds debug information where bpftrace looks by default.
        "debuginfo" => {}
        "mode" => {
            if !matches!(value.as_str(), "codegen" | "compiler-bench" | "bench" | "test" | "format") {
                let msg = "USAGE: --mode can only be 'codegen', 'compiler-bench', 'bench', 'test' or 'format'.";
                refuse(a, UsageError::Alone(msg.to_string()));
                return Ok(());
            }
            refuse(a, UsageError::Alone(format!("--mode {value} is not supported by btc")));
        }
        "traceable-functions" | "aot" | "dwarf-pid" => {
            refuse(a, UsageError::Alone(format!("--{name} is not supported by btc")));
        }
        "include" => a.includes.push(value),
        "no-feature" => {
            for f in value.split(',').filter(|f| !f.is_empty()) {
                if !matches!(f, "uprobe_multi" | "kprobe_multi") {
                    let msg = "USAGE: --no-feature can only have values 'kprobe_multi,uprobe_multi'.";
                    refuse(a, UsageError::Alone(msg.to_string()));
                    return Ok(());
                }
                a.no_features.push(f.to_string());
            }
        }
        "emit-elf" => a.emit_elf = Some(PathBuf::from(value)),
        "compat" => match btc_bpfprog::Compat::parse(&value) {
            Some(c) => a.compat = Some(c),
            None => refuse(a, UsageError::Alone("USAGE: --compat must be either '0.20' or '0.26'.".to_string())),
        },
        _ => a.emit_llvm = Some(PathBuf::from(value)),
    }
    Ok(())
}

fn short_flag(a: &mut Args, c: char) -> Result<(), String> {
    match c {
        'h' => a.help = true,
        'V' => a.version = true,
        'v' => a.verbose = true,
        'q' => a.quiet = true,
        'k' => {
            a.helper_errors = match a.helper_errors {
                HelperErrors::Ignore => HelperErrors::Helpers,
                HelperErrors::Helpers => HelperErrors::All,
                // -kkk: bpftrace prints its usage.
                HelperErrors::All => {
                    refuse(a, UsageError::UsageOnly);
                    HelperErrors::All
                }
            }
        }
        'd' => a.debug = a.debug.saturating_add(1).min(2),
        _ => a.list = Some(None),
    }
    Ok(())
}

fn short_value(a: &mut Args, c: char, value: String) -> Result<(), String> {
    match c {
        'e' => {
            if a.program.is_some() {
                return Err("-e can only be given once".to_string());
            }
            a.program = Some(value);
        }
        'B' => match value.as_str() {
            "line" => a.buffering = Buffering::Line,
            "full" => a.buffering = Buffering::Full,
            "none" => a.buffering = Buffering::None,
            _ => refuse(a, UsageError::Alone("USAGE: -B must be either 'line', 'full', or 'none'.".to_string())),
        },
        'f' => match value.as_str() {
            "text" => (a.format, a.bad_format) = (OutputFormat::Text, None),
            "json" => (a.format, a.bad_format) = (OutputFormat::Json, None),
            _ => a.bad_format = Some(format!("Invalid output format \"{value}\"\nValid formats: 'text', 'json'")),
        },
        'o' => a.output = Some(PathBuf::from(value)),
        'I' => a.include_dirs.push(PathBuf::from(value)),
        'p' => match parse_pid(&{
            a.pid_text = Some(value.clone());
            value
        }) {
            Ok(pid) => (a.pid, a.bad_pid) = (Some(pid), None),
            Err(e) => (a.pid, a.bad_pid) = (None, Some(e)),
        },
        _ => {
            if value.trim().is_empty() {
                return Err("-c needs a command".to_string());
            }
            a.command = Some(value);
        }
    }
    Ok(())
}

/// The largest pid bpftrace accepts (the kernel's PID_MAX_LIMIT on 64-bit machines).
const PID_MAX: i64 = 4 * 1024 * 1024;

/// A `-p` value, read as bpftrace reads it (C's `strtol` in base 10: leading white space and a
/// sign are accepted, nothing may follow the digits); the error is bpftrace's message.
pub fn parse_pid(text: &str) -> Result<i32, String> {
    let fail = |why: &str| format!("pid '{text}' {why}");
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        return Err(fail("is not a valid decimal number"));
    }
    let magnitude = digits[..end].parse::<i64>().map_err(|_| fail("outside of integer range"))?;
    if end < digits.len() {
        return Err(fail("is not a valid decimal number"));
    }
    let pid = if negative { -magnitude } else { magnitude };
    if !(1..=PID_MAX).contains(&pid) {
        return Err(fail(&format!("out of valid pid range [1,{PID_MAX}]")));
    }
    i32::try_from(pid).map_err(|_| fail("outside of integer range"))
}

/// bpftrace 0.26's words for a `-p` value [`parse_pid`] refuses.
pub fn pid_error_026(text: &str) -> String {
    let t = text.trim_start();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        format!("Failed to parse pid: invalid integer: {text}")
    } else if end < digits.len() {
        format!("Failed to parse pid: invalid trailing bytes: {text}")
    } else {
        format!("Pid out of range: {text}")
    }
}

/// The usage text; `name` is how the program was invoked (`btc run` or `bpftrace`).
pub fn usage(name: &str) -> String {
    format!(
        "USAGE:
    {name} [options] filename [arguments...]
    {name} [options] - <stdin input>
    {name} [options] -e 'program' [arguments...]

OPTIONS:
    -B MODE        output buffering mode ('line', 'full', 'none')
    -f FORMAT      output format ('text', 'json')
    -o file        redirect bpftrace output to file
    -e 'program'   execute this program
    -h, --help     show this help message
    -I DIR         add the directory to the include search path
    --include FILE add an #include file before preprocessing
    -l [search]    list probes
    -p PID         enable USDT probes on PID
    -c 'CMD'       run CMD and enable USDT probes on resulting process
    --usdt-file-activation
                   activate usdt semaphores based on file path
    --unsafe       allow unsafe builtin functions
    -q             keep messages quiet
    --info         Print information about kernel BPF support
    -k             emit a warning when a bpf helper returns an error (except read functions)
    -kk            check all bpf helper functions
    -V, --version  bpftrace version
    --no-warnings  disable all warning messages
    --no-feature FEATURE,...
                   disable detected features (uprobe_multi, kprobe_multi)

TROUBLESHOOTING OPTIONS:
    -v                      verbose messages
    --dry-run               load and attach everything, then exit without running the program
    -d                      (dry run) print the AST and the LLVM IR
    -dd                     (dry run) also print the BPF assembly
    --emit-elf FILE         (dry run) write the BPF object to FILE
    --emit-llvm FILE        write the LLVM IR to FILE.optimized.ll

ENVIRONMENT:
    BPFTRACE_STRLEN             [default: 64] bytes on BPF stack per str()
    BPFTRACE_NO_CPP_DEMANGLE    [default: 0] disable C++ symbol demangling
    BPFTRACE_MAX_MAP_KEYS       [default: 4096] max keys in a map
    BPFTRACE_MAX_CAT_BYTES      [default: 10k] maximum bytes read by cat builtin
    BPFTRACE_MAX_PROBES         [default: 512] max number of probes
    BPFTRACE_MAX_BPF_PROGS      [default: 512] max number of generated BPF programs
    BPFTRACE_PERF_RB_PAGES      [default: 64] pages per CPU to allocate for ring buffer
    BPFTRACE_CACHE_USER_SYMBOLS [default: auto] user symbol cache: PER_PID, PER_PROGRAM, NONE
    BPFTRACE_STACK_MODE         [default: bpftrace] kstack/ustack format: bpftrace, perf, raw
    BPFTRACE_STR_TRUNC_TRAILER  [default: ..] trailer of truncated strings
    BPFTRACE_VMLINUX            [default: none] vmlinux path used for kernel symbol resolution
    BPFTRACE_BTF                [default: none] BTF file

EXAMPLES:
{name} -l '*sleep*'
    list probes containing \"sleep\"
{name} -e 'tracepoint:syscalls:sys_enter_nanosleep {{ printf(\"PID %d sleeping...\\n\", pid); }}'
    trace processes calling sleep
{name} -e 'tracepoint:raw_syscalls:sys_enter {{ @[comm] = count(); }}'
    count syscalls by process name
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn program_file_and_positional_parameters() {
        let a = p(&["-e", "BEGIN{}", "1", "abc"]).unwrap_or_default();
        assert_eq!(a.program.as_deref(), Some("BEGIN{}"));
        assert_eq!(a.file, None);
        assert_eq!(a.positional, vec!["1", "abc"]);
        let a = p(&["script.bt", "-q", "x", "--", "-5"]).unwrap_or_default();
        assert_eq!((a.file.as_deref(), a.quiet), (Some("script.bt"), true));
        assert_eq!(a.positional, vec!["x", "-5"]);
        let a = p(&["-"]).unwrap_or_default();
        assert_eq!(a.file.as_deref(), Some("-"));
    }

    #[test]
    fn grouped_and_attached_short_options() {
        let a = p(&["-kk", "-dq", "-eBEGIN{}", "-Bnone", "-f", "json", "-p", "42"]).unwrap_or_default();
        assert_eq!(a.helper_errors, HelperErrors::All);
        assert_eq!((a.debug, a.quiet), (1, true));
        assert_eq!(a.program.as_deref(), Some("BEGIN{}"));
        assert_eq!((a.buffering, a.format, a.pid), (Buffering::None, OutputFormat::Json, Some(42)));
        let a = p(&["-k", "-dd", "-e", "x"]).unwrap_or_default();
        assert_eq!((a.helper_errors, a.debug), (HelperErrors::Helpers, 2));
    }

    #[test]
    fn long_options() {
        let a = p(&["--unsafe", "--include=a.h", "--include", "b.h", "--no-feature", "uprobe_multi", "--dry-run", "-e", "x"])
            .unwrap_or_default();
        assert!(a.allow_unsafe && a.dry_run);
        assert_eq!(a.includes, vec!["a.h", "b.h"]);
        assert_eq!(a.no_features, vec!["uprobe_multi"]);
        // bpftrace 0.26's --verify-llvm-ir is accepted and changes nothing else.
        let a = p(&["--verify-llvm-ir", "-e", "x"]).unwrap_or_default();
        assert!(!a.dry_run && !a.load_only);
        assert_eq!(a.program.as_deref(), Some("x"));
    }

    #[test]
    fn pids_are_checked_as_bpftrace_checks_them() {
        assert_eq!(parse_pid("42"), Ok(42));
        assert_eq!(parse_pid(" +7"), Ok(7));
        assert_eq!(parse_pid("4194304"), Ok(4194304));
        assert_eq!(parse_pid("x1"), Err("pid 'x1' is not a valid decimal number".to_string()));
        assert_eq!(parse_pid("12ab"), Err("pid '12ab' is not a valid decimal number".to_string()));
        assert_eq!(parse_pid(""), Err("pid '' is not a valid decimal number".to_string()));
        assert_eq!(parse_pid("0"), Err("pid '0' out of valid pid range [1,4194304]".to_string()));
        assert_eq!(parse_pid("-3"), Err("pid '-3' out of valid pid range [1,4194304]".to_string()));
        assert_eq!(parse_pid("4194305"), Err("pid '4194305' out of valid pid range [1,4194304]".to_string()));
        assert_eq!(
            parse_pid("99999999999999999999"),
            Err("pid '99999999999999999999' outside of integer range".to_string())
        );
        // The last -p wins, as with getopt.
        let a = p(&["-p", "x", "-p", "5", "-e", "x"]).unwrap_or_default();
        assert_eq!((a.pid, a.bad_pid), (Some(5), None));
        let a = p(&["-p", "5000000", "-e", "x"]).unwrap_or_default();
        assert_eq!(a.bad_pid.as_deref(), Some("pid '5000000' out of valid pid range [1,4194304]"));
    }

    #[test]
    fn listing() {
        assert_eq!(p(&["-l"]).map(|a| a.list), Ok(Some(None)));
        assert_eq!(p(&["-l", "tracepoint:*"]).map(|a| a.list), Ok(Some(Some("tracepoint:*".into()))));
    }

    #[test]
    fn bad_flags_and_values() {
        assert_eq!(p(&["-Z"]), Err("invalid option -- 'Z'".to_string()));
        assert_eq!(p(&["--bogus"]), Err("unrecognized option '--bogus'".to_string()));
        let refused = |args: &[&str]| p(args).ok().and_then(|a| check(&a));
        assert_eq!(
            refused(&["-B", "foo", "-e", "x"]),
            Some(UsageError::Alone("USAGE: -B must be either 'line', 'full', or 'none'.".into()))
        );
        assert_eq!(
            refused(&["--no-feature", "x", "-e", "x"]),
            Some(UsageError::Alone("USAGE: --no-feature can only have values 'kprobe_multi,uprobe_multi'.".into()))
        );
        assert_eq!(refused(&["-kkk", "-e", "x"]), Some(UsageError::UsageOnly));
        assert_eq!(refused(&["-v", "-d", "-e", "x"]), Some(UsageError::Alone("USAGE: Use either -v or -d.".into())));
        assert_eq!(
            refused(&["-c", "ls", "-p", "1", "-e", "x"]),
            Some(UsageError::WithUsage("USAGE: Cannot use both -c and -p.".into()))
        );
        assert_eq!(refused(&["-q"]), Some(UsageError::Alone("USAGE: filename or -e 'program' required.".into())));
        assert_eq!(refused(&["-l"]), None);
        assert_eq!(refused(&["-kk", "-e", "x"]), None);
        assert_eq!(
            p(&["-f", "xml", "-p", "x", "-e", "x"]).ok().and_then(|a| a.bad_format).as_deref(),
            Some("Invalid output format \"xml\"\nValid formats: 'text', 'json'")
        );
        assert_eq!(p(&["-e"]), Err("option requires an argument -- 'e'".to_string()));
        assert!(p(&["--unsafe=1"]).is_err());
    }

    #[test]
    fn bpftrace_026_options_only_in_026_mode() {
        let v = |args: &[&str]| args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(compat_of(&v(&["--compat=0.26", "-e", "x"]), None), Compat::V026);
        assert_eq!(compat_of(&v(&["--compat", "0.20", "-e", "x"]), Some("0.26")), Compat::V020);
        assert_eq!(compat_of(&v(&["-e", "x"]), Some("0.26")), Compat::V026);
        assert_eq!(compat_of(&v(&["-e", "x"]), None), Compat::V020);
        let a = parse_as(&v(&["--output", "f", "--pid", "7", "--quiet", "-d", "ast", "-e", "x"]), Compat::V026)
            .unwrap_or_default();
        assert_eq!((a.output, a.pid, a.quiet, a.debug), (Some(PathBuf::from("f")), Some(7), true, 1));
        assert_eq!(a.program.as_deref(), Some("x"));
        assert_eq!(parse_as(&v(&["--output", "f", "-e", "x"]), Compat::V020), Err("unrecognized option '--output'".into()));
        // 0.20's -d takes no value.
        assert_eq!(parse_as(&v(&["-d", "-e", "x"]), Compat::V020).map(|a| a.debug), Ok(1));
        let a = parse_as(&v(&["--probe-filter", ":200", "-e", "x"]), Compat::V026).unwrap_or_default();
        assert_eq!(a.probe_filter.as_deref(), Some(":200"));
        let refused = |args: &[&str]| parse_as(&v(args), Compat::V026).ok().and_then(|a| check(&a));
        assert_eq!(refused(&["-d", "bogus", "-e", "x"]), Some(UsageError::Alone("USAGE: invalid option for -d: bogus".into())));
        assert_eq!(
            refused(&["--traceable-functions", "/dev/null", "-e", "x"]),
            Some(UsageError::Alone("--traceable-functions is not supported by btc".into()))
        );
        assert_eq!(refused(&["--compat=0.3", "-e", "x"]), Some(UsageError::Alone("USAGE: --compat must be either '0.20' or '0.26'.".into())));
    }
}
