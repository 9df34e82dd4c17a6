//! Tests judged inapplicable, one by one, each with the condition under which it doesn't apply and
//! the evidence. Only for a test whose expectation is wrong for the machine *whatever the tool
//! does* (bpftrace itself fails it there), or one that only a failure meets (upstream later called
//! it racy and expects the correct output instead); never to hide a failure of btc's: each entry
//! names the test of our own that checks the behaviour. Each is printed with its reason in the
//! report, like every other skipped test.

use crate::machine::{compare_versions, Machine};
use std::cmp::Ordering;

pub enum Condition {
    /// The kernel is at least this version.
    KernelAtLeast(&'static str),
    /// On every machine.
    Always,
}

pub struct Judged {
    /// `SUITE.NAME`.
    pub test: &'static str,
    pub when: Condition,
    pub reason: &'static str,
}

pub const JUDGED: &[Judged] = &[
    Judged {
        test: "call.ustack_elf_symtable",
        when: Condition::KernelAtLeast("6.12"),
        reason: "expects a uprobe's user stack at a function's entry to skip its caller; from 6.12 \
             (commit cfa7f3d2c526, perf,x86: avoid missing caller address in stack traces \
             captured in uprobe) the kernel records the caller, and bpftrace 0.23 prints it here \
             too; upstream's later suites expect it from 6.12 on",
    },
    Judged {
        test: "uprobe.uprobes - attach to probe for executable in a pivot_root'd mount namespace",
        when: Condition::Always,
        reason: "expects `func` to print as an address, which bpftrace 0.20 prints only when its \
                 print-time symbolization loses the race with the test program's exit; upstream \
                 called the expectation racy (commit c3cb6d6d1, tests: testprogs: make uprobe_test \
                 loop) and expects `func uprobeFunction1` since; btc names the function, checked by \
                 v020_listing's uprobe_in_another_mount_namespace_names_its_function",
    },
    Judged {
        test: "json-output.histogram-finegrain",
        when: Condition::Always,
        reason: "counts the samples of a 100 us interval probe up to exit(), so it passes only when \
                 the tool detaches within 100 us of exit() (bpftrace 0.20 keeps running probes \
                 until it detaches, and intcast's `Sum casted retval` relies on that); upstream \
                 called it flaky and fills the histogram in a BEGIN loop since (commit 3691e7157); \
                 btc's JSON of hist(n, k) is checked by compat_json's json_hist_with_bucket_bits",
    },
];

/// Why `test` doesn't apply to `m`, if it is judged so.
pub fn judged_inapplicable(test: &str, m: &Machine) -> Option<String> {
    JUDGED.iter().find(|j| j.test == test).and_then(|j| match j.when {
        Condition::KernelAtLeast(v) => (compare_versions(&m.kernel, v) != Ordering::Less)
            .then(|| format!("judged: kernel {} >= {v}: {}", m.kernel, j.reason)),
        Condition::Always => Some(format!("judged: {}", j.reason)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_only_under_its_condition() {
        let mut m = Machine { kernel: "6.1.0-28-amd64".into(), ..Machine::default() };
        assert_eq!(judged_inapplicable("call.ustack_elf_symtable", &m), None);
        m.kernel = "6.18.44".into();
        assert!(judged_inapplicable("call.ustack_elf_symtable", &m).is_some_and(|r| r.contains("6.12")));
        assert_eq!(judged_inapplicable("call.ustack", &m), None);
    }

    #[test]
    fn an_unconditional_judgement_holds_on_any_kernel() {
        let name = "uprobe.uprobes - attach to probe for executable in a pivot_root'd mount namespace";
        for kernel in ["6.1.0-28-amd64", "6.18.44"] {
            let m = Machine { kernel: kernel.into(), ..Machine::default() };
            assert!(judged_inapplicable(name, &m).is_some_and(|r| r.contains("c3cb6d6d1")));
        }
    }
}
