//! The per-suite table, the closing count line, and the list of tests that did not apply.

use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Passed,
    Failed(String),
    TimedOut(String),
    NotApplicable(String),
}

#[derive(Default)]
pub struct Report {
    /// Per suite: passed, failed, timed out, not applicable.
    suites: BTreeMap<String, [usize; 4]>,
    tests: Vec<(String, Status)>,
}

impl Report {
    pub fn add(&mut self, suite: &str, test: &str, status: Status) {
        let counts = self.suites.entry(suite.to_string()).or_default();
        let i = match status {
            Status::Passed => 0,
            Status::Failed(_) => 1,
            Status::TimedOut(_) => 2,
            Status::NotApplicable(_) => 3,
        };
        counts[i] += 1;
        self.tests.push((test.to_string(), status));
    }

    fn totals(&self) -> [usize; 4] {
        let mut t = [0; 4];
        for c in self.suites.values() {
            for i in 0..4 {
                t[i] += c[i];
            }
        }
        t
    }

    pub fn all_passed(&self) -> bool {
        let t = self.totals();
        t[1] == 0 && t[2] == 0
    }

    /// The table, the tests that did not apply (with why), those that failed, and the
    /// closing line `N passed, N failed, N skipped` (timeouts count as failed).
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{:<16} {:>7} {:>7} {:>8} {:>15}", "suite", "passed", "failed", "timeout", "not applicable");
        for (name, c) in &self.suites {
            let _ = writeln!(s, "{:<16} {:>7} {:>7} {:>8} {:>15}", name, c[0], c[1], c[2], c[3]);
        }
        let t = self.totals();
        let _ = writeln!(s, "{:<16} {:>7} {:>7} {:>8} {:>15}", "total", t[0], t[1], t[2], t[3]);
        let listed = |s: &mut String, title: &str, pick: &dyn Fn(&Status) -> Option<&String>| {
            let rows: Vec<_> = self.tests.iter().filter_map(|(n, st)| pick(st).map(|r| (n, r))).collect();
            if !rows.is_empty() {
                let _ = writeln!(s, "\n{title}:");
                for (n, r) in rows {
                    let first = r.lines().next().unwrap_or("");
                    let _ = writeln!(s, "  {n}: {first}");
                }
            }
        };
        listed(&mut s, "Not applicable", &|st| match st {
            Status::NotApplicable(r) => Some(r),
            _ => None,
        });
        listed(&mut s, "Failed", &|st| match st {
            Status::Failed(r) | Status::TimedOut(r) => Some(r),
            _ => None,
        });
        let _ = writeln!(s, "\n{} passed, {} failed, {} skipped", t[0], t[1] + t[2], t[3]);
        s
    }

    pub fn results_tsv(&self) -> String {
        let mut s = String::new();
        for (name, st) in &self.tests {
            let (word, why) = match st {
                Status::Passed => ("passed", ""),
                Status::Failed(r) => ("failed", r.as_str()),
                Status::TimedOut(r) => ("timeout", r.as_str()),
                Status::NotApplicable(r) => ("n/a", r.as_str()),
            };
            let why = why.lines().next().unwrap_or("");
            let _ = writeln!(s, "{name}\t{word}\t{why}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_suite_and_in_all() {
        let mut r = Report::default();
        r.add("a", "a.x", Status::Passed);
        r.add("a", "a.y", Status::Failed("output does not match".into()));
        r.add("b", "b.z", Status::TimedOut("timed out after 5 s".into()));
        r.add("b", "b.w", Status::NotApplicable("this kernel has no kprobes".into()));
        let table = r.table();
        assert!(table.contains("\na                      1       1        0               0\n"), "{table}");
        assert!(table.contains("  b.w: this kernel has no kprobes\n"), "{table}");
        assert!(table.contains("  a.y: output does not match\n"), "{table}");
        assert!(table.ends_with("\n1 passed, 2 failed, 1 skipped\n"), "{table}");
        assert!(!r.all_passed());
        assert_eq!(r.results_tsv().lines().count(), 4);
        assert!(r.results_tsv().contains("b.w\tn/a\tthis kernel has no kprobes\n"));
    }
}
