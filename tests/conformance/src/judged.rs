//! Tests judged inapplicable to a kind of machine, one by one, each with the condition under
//! which it doesn't apply and the evidence. Only for a test whose expectation is wrong for the
//! machine *whatever the tool does* (bpftrace itself fails it there), never to hide a failure of
//! btc's. Each entry is printed with its reason in the report, like every other skipped test.

use crate::machine::{compare_versions, Machine};
use std::cmp::Ordering;

pub enum Condition {
    /// The kernel is at least this version.
    KernelAtLeast(&'static str),
}

pub struct Judged {
    /// `SUITE.NAME`.
    pub test: &'static str,
    pub when: Condition,
    pub reason: &'static str,
}

pub const JUDGED: &[Judged] = &[Judged {
    test: "call.ustack_elf_symtable",
    when: Condition::KernelAtLeast("6.12"),
    reason: "expects a uprobe's user stack at a function's entry to skip its caller; from 6.12 \
             (commit cfa7f3d2c526, perf,x86: avoid missing caller address in stack traces \
             captured in uprobe) the kernel records the caller, and bpftrace 0.23 prints it here \
             too; upstream's later suites expect it from 6.12 on",
}];

/// Why `test` doesn't apply to `m`, if it is judged so.
pub fn judged_inapplicable(test: &str, m: &Machine) -> Option<String> {
    JUDGED.iter().find(|j| j.test == test).and_then(|j| match j.when {
        Condition::KernelAtLeast(v) => (compare_versions(&m.kernel, v) != Ordering::Less)
            .then(|| format!("judged: kernel {} >= {v}: {}", m.kernel, j.reason)),
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
}
