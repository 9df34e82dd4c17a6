//! bpftrace's settings: the environment variables of the manual and the keys of a script's
//! `config = { ... }` block, which name the same settings.
//!
//! A setting may be written `BPFTRACE_MAX_MAP_KEYS`, `MAX_MAP_KEYS` or `max_map_keys` in a config
//! block; environment variables take precedence over the config block. The CLI reads the
//! environment with [`Settings::from_env`]; the compiler reads the config block with
//! [`Settings::set`] and combines the two with [`Settings::over`].

use btc_bpfprog::{Compat, MissingProbes, RuntimeConfig, StackMode, UserSymbolCache};

/// Every setting, `None` when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// BPFTRACE_MAX_STRLEN (also BPFTRACE_STRLEN): bytes of a string from `str()`.
    pub strlen: Option<u32>,
    /// BPFTRACE_MAX_MAP_KEYS: entries of every map.
    pub max_map_keys: Option<u32>,
    /// BPFTRACE_MAX_BPF_PROGS: the most BPF programs a script may generate.
    pub max_bpf_progs: Option<u32>,
    /// BPFTRACE_STACK_MODE: how kstack/ustack print when the call doesn't say.
    pub stack_mode: Option<StackMode>,
    /// on_stack_limit (bpftrace 0.26): accepted, no effect (btc decides what lives on the
    /// stack by itself).
    pub on_stack_limit: Option<u64>,
    /// license (bpftrace 0.24+): the license the programs are loaded with.
    pub license: Option<String>,
    /// Settings the runtime applies (also recorded in compiled objects).
    pub runtime: RuntimeConfig,
}

/// bpftrace 0.26's default max_strlen (0.20: 64).
const DEFAULT_STRLEN_026: u32 = 1024;

/// btc's own variable for [`Compat`] (bpftrace has none).
pub const COMPAT_VAR: &str = "BTC_COMPAT";

/// Config keys (and their BPFTRACE_* variables) that only bpftrace 0.26 knows: in 0.20 mode they
/// are unknown, as in bpftrace 0.20.
const KEYS_026: &[&str] = &[
    "print_maps_on_exit",
    "missing_probes",
    "on_stack_limit",
    "show_debug_info",
    "license",
    "lazy_symbolication",
    "unstable_tseries",
    "unstable_dw_ustack",
];

/// The licenses bpftrace 0.25+ accepts (those the kernel deems GPL-compatible).
const LICENSES: &[&str] = &["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"];

/// Environment variables, as (variable, config key). Several variables may name one key.
const ENV_VARS: &[(&str, &str)] = &[
    ("BPFTRACE_STRLEN", "max_strlen"),
    ("BPFTRACE_MAX_STRLEN", "max_strlen"),
    ("BPFTRACE_MAX_MAP_KEYS", "max_map_keys"),
    ("BPFTRACE_MAP_KEYS_MAX", "max_map_keys"),
    ("BPFTRACE_MAX_PROBES", "max_probes"),
    ("BPFTRACE_MAX_BPF_PROGS", "max_bpf_progs"),
    ("BPFTRACE_STACK_MODE", "stack_mode"),
    ("BPFTRACE_PERF_RB_PAGES", "perf_rb_pages"),
    ("BPFTRACE_CACHE_USER_SYMBOLS", "cache_user_symbols"),
    ("BPFTRACE_CPP_DEMANGLE", "cpp_demangle"),
    ("BPFTRACE_NO_CPP_DEMANGLE", "no_cpp_demangle"),
    ("BPFTRACE_STR_TRUNC_TRAILER", "str_trunc_trailer"),
    ("BPFTRACE_MAX_CAT_BYTES", "max_cat_bytes"),
    ("BPFTRACE_CAT_BYTES_MAX", "max_cat_bytes"),
    ("BPFTRACE_LOG_SIZE", "log_size"),
    ("BPFTRACE_PRINT_MAPS_ON_EXIT", "print_maps_on_exit"),
    ("BPFTRACE_MISSING_PROBES", "missing_probes"),
    ("BPFTRACE_ON_STACK_LIMIT", "on_stack_limit"),
    ("BPFTRACE_SHOW_DEBUG_INFO", "show_debug_info"),
    ("BPFTRACE_LICENSE", "license"),
    ("BPFTRACE_LAZY_SYMBOLICATION", "lazy_symbolication"),
];

/// Keys accepted in a config block that btc has nothing to do with (bpftrace's debugging and
/// type-resolution knobs).
const IGNORED_KEYS: &[&str] = &["max_type_res_iterations"];

/// Settings that only an environment variable can give (bpftrace 0.20's list).
const ENV_ONLY_KEYS: &[&str] =
    &["btf", "debug_output", "kernel_build", "kernel_source", "max_ast_nodes", "verify_llvm_ir", "vmlinux"];

fn positive(key: &str, v: &str) -> Result<u64, String> {
    let t = v.trim();
    let parsed = if let Some(hex) = t.strip_prefix("0x") { u64::from_str_radix(hex, 16).ok() } else { t.parse().ok() };
    parsed.filter(|&n| n > 0).ok_or_else(|| format!("invalid value for {key}: '{v}' (expected a positive integer)"))
}

/// A byte count that may be zero (BPFTRACE_LOG_SIZE).
fn non_negative(key: &str, v: &str) -> Result<u64, String> {
    let t = v.trim();
    let parsed = if let Some(hex) = t.strip_prefix("0x") { u64::from_str_radix(hex, 16).ok() } else { t.parse().ok() };
    parsed.ok_or_else(|| format!("invalid value for {key}: '{v}' (expected a non-negative integer)"))
}

fn boolean(key: &str, v: &str) -> Result<bool, String> {
    match v.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(format!("invalid value for {key}: '{v}' (expected 0 or 1)")),
    }
}

/// bpftrace 0.20's message for a bad value of environment variable `name` (setting `key`).
fn env_error(name: &str, key: &str, value: &str) -> String {
    match key {
        "cpp_demangle" | "no_cpp_demangle" => format!("Env var '{name}' did not contain a valid value (0 or 1)."),
        "stack_mode" => format!("{value} is not a valid StackMode"),
        "cache_user_symbols" => {
            "Invalid value for cache_user_symbols: valid values are PER_PID, PER_PROGRAM, and NONE.".to_string()
        }
        _ => format!("Env var '{name}' did not contain a valid uint64_t, or was zero-valued."),
    }
}

/// The config key `name` stands for: lower case, without the `BPFTRACE_` prefix.
pub fn normalize_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let key = lower.strip_prefix("bpftrace_").unwrap_or(&lower);
    match key {
        "strlen" => "max_strlen".to_string(),
        "map_keys_max" => "max_map_keys".to_string(),
        "cat_bytes_max" => "max_cat_bytes".to_string(),
        "btc_compat" => "compat".to_string(),
        other => other.to_string(),
    }
}

/// Whether `name` (any spelling) is a setting only bpftrace 0.26 has.
pub fn is_026_key(name: &str) -> bool {
    KEYS_026.contains(&normalize_key(name).as_str())
}

impl Settings {
    /// The bytes of a `str()` buffer, its NUL included: BPFTRACE_MAX_STRLEN (`default` when not
    /// set) in bpftrace 0.20; in 0.26 max_strlen (default 1024) counts the characters alone.
    pub fn strlen_bytes(&self, default: u32) -> u32 {
        if self.compat().v026() {
            self.strlen.unwrap_or(DEFAULT_STRLEN_026).saturating_add(1)
        } else {
            self.strlen.unwrap_or(default)
        }
    }

    /// The output being reproduced (bpftrace 0.20 unless set).
    pub fn compat(&self) -> Compat {
        self.runtime.compat.unwrap_or_default()
    }

    /// Sets the setting named `name` (any accepted spelling) from its text. `shown` is the name
    /// used in error messages. Returns `Ok(false)` for a known key btc ignores.
    pub fn set(&mut self, name: &str, value: &str) -> Result<bool, String> {
        let key = normalize_key(name);
        let u32_of = |v: &str| -> Result<u32, String> {
            positive(name, v).and_then(|n| u32::try_from(n).map_err(|_| format!("invalid value for {name}: '{v}' (too large)")))
        };
        match key.as_str() {
            "max_strlen" => self.strlen = Some(u32_of(value)?),
            "max_map_keys" => self.max_map_keys = Some(u32_of(value)?),
            "max_probes" => self.runtime.max_probes = Some(u32_of(value)?),
            "max_bpf_progs" => self.max_bpf_progs = Some(u32_of(value)?),
            "stack_mode" => {
                let m = StackMode::parse(value.trim()).ok_or_else(|| {
                    format!("invalid value for {name}: '{value}' (valid values are bpftrace, perf and raw)")
                })?;
                self.stack_mode = Some(m);
            }
            "perf_rb_pages" => self.runtime.perf_rb_pages = Some(positive(name, value)?),
            "cache_user_symbols" => {
                let c = UserSymbolCache::parse(value.trim()).ok_or_else(|| {
                    format!("invalid value for {name}: '{value}' (valid values are PER_PID, PER_PROGRAM and NONE)")
                })?;
                self.runtime.cache_user_symbols = Some(c);
            }
            "cpp_demangle" => self.runtime.cpp_demangle = Some(boolean(name, value)?),
            "no_cpp_demangle" => self.runtime.cpp_demangle = Some(!boolean(name, value)?),
            "str_trunc_trailer" => self.runtime.str_trunc_trailer = Some(value.to_string()),
            "max_cat_bytes" => self.runtime.max_cat_bytes = Some(positive(name, value)?),
            "log_size" => self.runtime.log_size = Some(non_negative(name, value)?),
            "compat" => {
                let c = Compat::parse(value)
                    .ok_or_else(|| format!("invalid value for {name}: '{value}' (valid values are 0.20 and 0.26)"))?;
                self.runtime.compat = Some(c);
            }
            "print_maps_on_exit" => self.runtime.print_maps_on_exit = Some(boolean(name, value)?),
            "show_debug_info" => self.runtime.show_debug_info = Some(boolean(name, value)?),
            "missing_probes" => {
                let m = MissingProbes::parse(value.trim()).ok_or_else(|| {
                    "Invalid value for missing_probes: valid values are error, warn, and ignore.".to_string()
                })?;
                self.runtime.missing_probes = Some(m);
            }
            "on_stack_limit" => self.on_stack_limit = Some(non_negative(name, value)?),
            "license" => {
                let l = value.trim();
                if !LICENSES.contains(&l) {
                    return Err(format!("invalid license: '{l}' (valid values are {})", LICENSES.join(", ")));
                }
                self.license = Some(l.to_string());
            }
            // Accepted without effect: btc symbolizes on demand and has neither feature flag.
            "lazy_symbolication" => {
                boolean(name, value)?;
            }
            "unstable_tseries" | "unstable_dw_ustack" => {
                if !matches!(value.trim(), "error" | "warn" | "enable") {
                    return Err(format!("invalid value for {name}: '{value}' (valid values are error, warn and enable)"));
                }
            }
            k if IGNORED_KEYS.contains(&k) => return Ok(false),
            k if ENV_ONLY_KEYS.contains(&k) => {
                return Err(format!("{k} can only be set as an environment variable"));
            }
            _ => return Err(format!("Unrecognized config variable: {name}")),
        }
        Ok(true)
    }

    /// The settings given by environment variables, read through `var` (`std::env::var` in the
    /// CLI). The first bad value is the error.
    /// BTC_COMPAT comes first: the variables of bpftrace 0.26's settings count only in 0.26 mode.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let mut s = Settings::default();
        if let Some(v) = var(COMPAT_VAR) {
            s.set(COMPAT_VAR, &v)?;
        }
        let v026 = s.runtime.compat.unwrap_or_default().v026();
        for (name, key) in ENV_VARS {
            if KEYS_026.contains(key) && !v026 {
                continue;
            }
            if let Some(v) = var(name) {
                s.set(name, &v).map_err(|_| env_error(name, key, &v))?;
            }
        }
        Ok(s)
    }

    /// bpftrace 0.20's warnings about the deprecated environment variables that are set.
    pub fn deprecated_env(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
        const DEPRECATED: &[(&str, &str)] = &[
            ("BPFTRACE_STRLEN", "Use BPFTRACE_MAX_STRLEN instead."),
            ("BPFTRACE_NO_CPP_DEMANGLE", "Use BPFTRACE_CPP_DEMANGLE=0 instead."),
            ("BPFTRACE_CAT_BYTES_MAX", "Use BPFTRACE_MAX_CAT_BYTES instead."),
            ("BPFTRACE_MAP_KEYS_MAX", "Use BPFTRACE_MAX_MAP_KEYS instead."),
        ];
        DEPRECATED.iter().filter(|(name, _)| var(name).is_some()).map(|(name, instead)| format!("{name} is deprecated. {instead}")).collect()
    }

    /// `self` with every setting it lacks taken from `lower`.
    pub fn over(self, lower: &Settings) -> Settings {
        let rt = self.runtime;
        let lrt = &lower.runtime;
        Settings {
            strlen: self.strlen.or(lower.strlen),
            max_map_keys: self.max_map_keys.or(lower.max_map_keys),
            max_bpf_progs: self.max_bpf_progs.or(lower.max_bpf_progs),
            stack_mode: self.stack_mode.or(lower.stack_mode),
            on_stack_limit: self.on_stack_limit.or(lower.on_stack_limit),
            license: self.license.or_else(|| lower.license.clone()),
            runtime: RuntimeConfig {
                perf_rb_pages: rt.perf_rb_pages.or(lrt.perf_rb_pages),
                cache_user_symbols: rt.cache_user_symbols.or(lrt.cache_user_symbols),
                cpp_demangle: rt.cpp_demangle.or(lrt.cpp_demangle),
                str_trunc_trailer: rt.str_trunc_trailer.or_else(|| lrt.str_trunc_trailer.clone()),
                max_cat_bytes: rt.max_cat_bytes.or(lrt.max_cat_bytes),
                max_probes: rt.max_probes.or(lrt.max_probes),
                log_size: rt.log_size.or(lrt.log_size),
                compat: rt.compat.or(lrt.compat),
                print_maps_on_exit: rt.print_maps_on_exit.or(lrt.print_maps_on_exit),
                missing_probes: rt.missing_probes.or(lrt.missing_probes),
                show_debug_info: rt.show_debug_info.or(lrt.show_debug_info),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_names_the_same_setting() {
        for name in ["BPFTRACE_MAX_MAP_KEYS", "MAX_MAP_KEYS", "max_map_keys"] {
            let mut s = Settings::default();
            assert_eq!(s.set(name, "9"), Ok(true));
            assert_eq!(s.max_map_keys, Some(9));
        }
        let mut s = Settings::default();
        assert_eq!(s.set("strlen", "32"), Ok(true));
        assert_eq!(s.strlen, Some(32));
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let mut s = Settings::default();
        assert_eq!(
            s.set("BPFTRACE_STRLEN", "abc"),
            Err("invalid value for BPFTRACE_STRLEN: 'abc' (expected a positive integer)".to_string())
        );
        assert!(s.set("stack_mode", "pretty").is_err());
        assert_eq!(s.set("btf", "/x"), Err("btf can only be set as an environment variable".to_string()));
        assert_eq!(
            s.set("BPFTRACE_DEBUG_OUTPUT", "1"),
            Err("debug_output can only be set as an environment variable".to_string())
        );
        assert_eq!(s.set("nonsense", "1"), Err("Unrecognized config variable: nonsense".to_string()));
        assert_eq!(s.set("max_type_res_iterations", "100"), Ok(false));
        assert_eq!(s.set("log_size", "0"), Ok(true));
        assert_eq!(s.runtime.log_size, Some(0));
    }

    #[test]
    fn bad_environment_values_in_bpftrace_words() {
        let env = |name: &'static str, value: &'static str| {
            Settings::from_env(move |k| (k == name).then(|| value.to_string())).err().unwrap_or_default()
        };
        assert_eq!(
            env("BPFTRACE_MAX_MAP_KEYS", "lots"),
            "Env var 'BPFTRACE_MAX_MAP_KEYS' did not contain a valid uint64_t, or was zero-valued."
        );
        assert_eq!(env("BPFTRACE_CPP_DEMANGLE", "yes"), "Env var 'BPFTRACE_CPP_DEMANGLE' did not contain a valid value (0 or 1).");
        assert_eq!(env("BPFTRACE_STACK_MODE", "fancy"), "fancy is not a valid StackMode");
        assert_eq!(
            env("BPFTRACE_CACHE_USER_SYMBOLS", "ALL"),
            "Invalid value for cache_user_symbols: valid values are PER_PID, PER_PROGRAM, and NONE."
        );
        assert_eq!(env("BPFTRACE_LOG_SIZE", "0"), "");
        let warnings = Settings::deprecated_env(|k| (k == "BPFTRACE_STRLEN" || k == "BPFTRACE_MAX_STRLEN").then(String::new));
        assert_eq!(warnings, ["BPFTRACE_STRLEN is deprecated. Use BPFTRACE_MAX_STRLEN instead."]);
    }

    #[test]
    fn environment_wins_over_the_config_block() {
        let env = Settings::from_env(|k| (k == "BPFTRACE_NO_CPP_DEMANGLE").then(|| "1".to_string()));
        let env = env.unwrap_or_default();
        let mut script = Settings::default();
        let _ = script.set("cpp_demangle", "1");
        let _ = script.set("max_map_keys", "7");
        let both = env.over(&script);
        assert_eq!(both.runtime.cpp_demangle, Some(false));
        assert_eq!(both.max_map_keys, Some(7));
    }

    #[test]
    fn compat_switches_strlen_and_the_026_keys() {
        let mut s = Settings::default();
        assert_eq!(s.strlen_bytes(64), 64);
        assert_eq!(s.set("compat", "0.26"), Ok(true));
        assert_eq!(s.compat(), Compat::V026);
        // 0.26: max_strlen counts the characters (default 1024), the buffer holds the NUL too.
        assert_eq!(s.strlen_bytes(64), 1025);
        let _ = s.set("max_strlen", "5");
        assert_eq!(s.strlen_bytes(64), 6);
        assert!(s.set("compat", "0.21").is_err());
        assert_eq!(s.set("print_maps_on_exit", "false"), Ok(true));
        assert_eq!(s.runtime.print_maps_on_exit, Some(false));
        assert_eq!(s.set("missing_probes", "warn"), Ok(true));
        assert!(s.set("missing_probes", "loud").is_err());
        assert!(s.set("license", "MIT").is_err());
        assert_eq!(s.set("license", "Dual BSD/GPL"), Ok(true));
        assert!(is_026_key("BPFTRACE_ON_STACK_LIMIT") && !is_026_key("stack_mode"));
        // Their variables count only in 0.26 mode.
        let env = |compat: &'static str| {
            Settings::from_env(move |k| match k {
                "BTC_COMPAT" => Some(compat.to_string()),
                "BPFTRACE_PRINT_MAPS_ON_EXIT" => Some("0".to_string()),
                _ => None,
            })
            .unwrap_or_default()
        };
        assert_eq!(env("0.26").runtime.print_maps_on_exit, Some(false));
        assert_eq!(env("0.20").runtime.print_maps_on_exit, None);
    }
}
