//! Whether a test applies to this machine, and if not, why. Upstream's own conditions come
//! first, in its engine's order (MIN_KERNEL, MAX_KERNEL, SKIP_IF_ENV_HAS (0.26, against the
//! runner's own environment), REQUIRES, REQUIRES_FEATURE); ARCH
//! follows (upstream drops such tests silently; they are listed here). Then the probe types a
//! test attaches that this kernel can't attach at all: kprobes, fentry and hardware counters.
//! Upstream's suite assumes a kernel that has them; on one without them, such a test can only
//! fail, whatever the tool does (unless it expects the tool to fail before attaching).

use crate::machine::{compare_versions, Machine};
use crate::suite::Test;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Kprobes,
    Fentry,
    HardwarePmu,
}

/// The reason a test does not apply, from what can be decided without running anything.
/// `requires_ok` runs a REQUIRES command and says whether it succeeded; `program_text` is
/// what the test runs (PROG, or RUN and the scripts it names).
pub fn not_applicable(
    t: &Test,
    m: &Machine,
    program_text: &str,
    mut requires_ok: impl FnMut(&str) -> bool,
) -> Option<String> {
    if !t.min_kernel.is_empty() && compare_versions(&t.min_kernel, &m.kernel) == Ordering::Greater {
        return Some(format!("needs kernel {} or later", t.min_kernel));
    }
    if !t.max_kernel.is_empty() && compare_versions(&t.max_kernel, &m.kernel) == Ordering::Less {
        return Some(format!("needs kernel {} or earlier", t.max_kernel));
    }
    if let Some((k, v)) = &t.skip_if_env_has {
        if std::env::var(k).unwrap_or_default() == *v {
            return Some(format!("disabled by the environment ({k}={v})"));
        }
    }
    for r in &t.requires {
        if !requires_ok(r) {
            return Some(format!("REQUIRES failed: {r}"));
        }
    }
    for f in &t.features {
        if !m.features.get(f).copied().unwrap_or(false) {
            return Some(format!("feature {f} missing"));
        }
    }
    for f in &t.not_features {
        if m.features.get(f).copied().unwrap_or(false) {
            return Some(format!("feature {f} present"));
        }
    }
    if !t.arch.is_empty() && !t.arch.iter().any(|a| a.eq_ignore_ascii_case(&m.arch)) {
        return Some(format!("for {} only", t.arch.join("|")));
    }
    // A test that expects the tool to fail (WILL_FAIL) checks an error reported before
    // anything is attached (a banned probe, a bad argument): it needs no probe support.
    let mut needs = if t.will_fail { Vec::new() } else { probe_needs(program_text) };
    let expected: Vec<&str> = t.expects.iter().map(|e| e.text.as_str()).collect();
    if is_listing(program_text) && listing_needs_kprobes(&expected.join("\n")) && !needs.contains(&Need::Kprobes) {
        needs.push(Need::Kprobes);
    }
    for need in needs {
        let (have, what) = match need {
            Need::Kprobes => (m.kprobes, "kprobes"),
            Need::Fentry => (m.fentry, "fentry/fexit programs"),
            Need::HardwarePmu => (m.hardware_pmu, "a hardware PMU"),
        };
        if !have {
            return Some(format!("this kernel has no {what}"));
        }
    }
    None
}

fn is_listing(text: &str) -> bool {
    text.split_whitespace().any(|w| w == "-l" || w == "-lv" || w == "-vl")
}

/// Whether a listing's expected output names kprobes (`kprobe`, `kretprobe:`): the kernel
/// functions a kernel without kprobes lists are not what such a test expects (bpftrace lists
/// them from available_filter_functions; a kernel built without kprobes has none of the kprobe
/// subsystem's own functions either). Hardware events are listed without a PMU.
fn listing_needs_kprobes(expect: &str) -> bool {
    expect.contains("kprobe") || expect.contains("kretprobe")
}

/// The kernel facilities the attach points in `text` need. A probe type counts where it
/// stands as an attach point would: after the start, a blank, a quote or punctuation, and
/// followed by `:` and a name, a wildcard or a path. Listing (`-l`) needs nothing attached.
pub fn probe_needs(text: &str) -> Vec<Need> {
    let mut needs = Vec::new();
    if is_listing(text) {
        return needs;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || b" \t\n'\",{};(".contains(&bytes[i - 1]);
        if !at_boundary || !bytes[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let word = &text[start..i];
        let followed = bytes.get(i) == Some(&b':')
            && bytes
                .get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || b"_*/.$".contains(&c));
        if !followed {
            continue;
        }
        let need = match word {
            "kprobe" | "kretprobe" | "k" | "kr" => Need::Kprobes,
            "kfunc" | "kretfunc" | "fentry" | "fexit" | "f" | "fr" => Need::Fentry,
            "hardware" | "h" => Need::HardwarePmu,
            _ => continue,
        };
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Expect, ExpectMode};

    fn machine() -> Machine {
        let mut m = Machine {
            arch: "x86_64".into(),
            kernel: "6.18.1".into(),
            kprobes: false,
            fentry: false,
            hardware_pmu: false,
            ..Machine::default()
        };
        m.features.insert("btf".into(), true);
        m.features.insert("kfunc".into(), false);
        m
    }

    fn test(prog: &str) -> Test {
        Test { suite: "s".into(), name: "n".into(), prog: prog.into(), ..Test::default() }
    }

    #[test]
    fn probe_types_are_found_where_attach_points_stand() {
        assert_eq!(probe_needs("kprobe:vfs_read { exit() }"), vec![Need::Kprobes]);
        assert_eq!(probe_needs("BEGIN { } kr:f* { }"), vec![Need::Kprobes]);
        assert_eq!(probe_needs("-e 'f:vfs_open { }'"), vec![Need::Fentry]);
        assert_eq!(probe_needs("h:cycles:100 { }"), vec![Need::HardwarePmu]);
        assert!(probe_needs("BEGIN { printf(\"f: %d k: %d\", 1, 2); }").is_empty());
        assert!(probe_needs("uprobe:./testprogs/uprobe_test:function1 { }").is_empty());
        assert!(probe_needs("tracepoint:syscalls:sys_enter_kill { }").is_empty());
        assert!(probe_needs("{{BPFTRACE}} -l 'kprobe:*'").is_empty());
    }

    #[test]
    fn conditions_in_engine_order() {
        let m = machine();
        let mut t = test("BEGIN { }");
        assert_eq!(not_applicable(&t, &m, &t.prog.clone(), |_| true), None);
        t.min_kernel = "7.0".into();
        assert_eq!(
            not_applicable(&t, &m, "", |_| true).as_deref(),
            Some("needs kernel 7.0 or later")
        );
        t.min_kernel = "5.5".into();
        t.requires = vec!["false".into()];
        assert!(not_applicable(&t, &m, "", |r| r != "false").is_some_and(|r| r.contains("false")));
        t.requires.clear();
        t.features.insert("kfunc".into());
        assert_eq!(not_applicable(&t, &m, "", |_| true).as_deref(), Some("feature kfunc missing"));
        t.features.clear();
        t.not_features.insert("btf".into());
        assert_eq!(not_applicable(&t, &m, "", |_| true).as_deref(), Some("feature btf present"));
        t.not_features.clear();
        t.skip_if_env_has = Some(("BTC_CONFORMANCE_NEVER_SET".into(), "".into()));
        assert_eq!(
            not_applicable(&t, &m, "", |_| true).as_deref(),
            Some("disabled by the environment (BTC_CONFORMANCE_NEVER_SET=)")
        );
        t.skip_if_env_has = Some(("BTC_CONFORMANCE_NEVER_SET".into(), "true".into()));
        assert_eq!(not_applicable(&t, &m, "", |_| true), None);
        t.skip_if_env_has = None;
        t.arch = vec!["aarch64".into(), "ppc64le".into()];
        assert_eq!(
            not_applicable(&t, &m, "", |_| true).as_deref(),
            Some("for aarch64|ppc64le only")
        );
        t.arch = vec!["x86_64".into()];
        assert_eq!(
            not_applicable(&t, &m, "kprobe:f { }", |_| true).as_deref(),
            Some("this kernel has no kprobes")
        );
        let mut listing = test("");
        listing.expects = vec![Expect { mode: ExpectMode::Regex, text: "kprobe:".into() }];
        assert_eq!(
            not_applicable(&listing, &m, "{{BPFTRACE}} -l 'kprobe:*'", |_| true).as_deref(),
            Some("this kernel has no kprobes")
        );
        listing.expects[0].text = "hardware:cpu".into();
        assert_eq!(not_applicable(&listing, &m, "{{BPFTRACE}} -l 'hardware:*'", |_| true), None);
        t.will_fail = true;
        assert_eq!(not_applicable(&t, &m, "kretprobe:f { }", |_| true), None);
        t.will_fail = false;
        let mut with = machine();
        with.kprobes = true;
        assert_eq!(not_applicable(&t, &with, "kprobe:f { }", |_| true), None);
    }
}
