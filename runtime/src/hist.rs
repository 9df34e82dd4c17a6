//! Rendering hist() and lhist() buckets as bpftrace does:
//! `[4, 8)                 3 |@@@@@@@@@@                                          |`

use btc_bpfprog::{log2_bucket_range, MapValue};
use std::collections::BTreeMap;

/// Width of the bar between the `|`s.
const BAR_WIDTH: u64 = 52;

/// A number as bpftrace writes it in log2 histogram labels: exact multiples of 1024^n get a
/// K/M/G/T/P/E suffix.
pub fn size_label(n: u64) -> String {
    const SUFFIXES: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    if n == 0 {
        return "0".to_string();
    }
    let mut v = n;
    let mut i = 0;
    while i < SUFFIXES.len() - 1 && v % 1024 == 0 {
        v /= 1024;
        i += 1;
    }
    format!("{v}{}", SUFFIXES[i])
}

/// A bound as bpftrace 0.20 writes it in lhist labels: a multiple of 1048576 as `NM`, else of
/// 1024 as `NK` (`[1K, 2K)`, `[2M, 3M)`); other numbers, and 0, in full.
pub fn lhist_label(n: i64) -> String {
    if n != 0 && n % 1_048_576 == 0 {
        format!("{}M", n / 1_048_576)
    } else if n != 0 && n % 1024 == 0 {
        format!("{}K", n / 1024)
    } else {
        n.to_string()
    }
}

/// The label of a bucket.
pub fn bucket_label(value: &MapValue, index: u64) -> String {
    match *value {
        MapValue::Lhist { min, max, step } => {
            let last = ((max - min) / step + 1) as u64;
            if index == 0 {
                format!("(..., {})", lhist_label(min))
            } else if index >= last {
                format!("[{}, ...)", lhist_label(max))
            } else {
                let lo = min + (index as i64 - 1) * step;
                format!("[{}, {})", lhist_label(lo), lhist_label(lo + step))
            }
        }
        MapValue::Hist { k } => {
            if index == 0 {
                return "(..., 0)".to_string();
            }
            let (lo, hi) = log2_bucket_range(index, k);
            if hi - lo <= 1 {
                format!("[{}]", size_label(lo))
            } else {
                format!("[{}, {})", size_label(lo), size_label(hi))
            }
        }
        _ => index.to_string(),
    }
}

/// Appends the rows of one histogram: every bucket from the first to the last non-empty one.
/// As bpftrace does for `print(@h, top, div)`, a log2 histogram shows its counts divided by `div`
/// (0 or 1: not divided) with the bars of the undivided counts; lhist ignores `div`.
pub fn render(value: &MapValue, buckets: &BTreeMap<u64, u64>, div: u64, out: &mut Vec<u8>) {
    let div = if matches!(value, MapValue::Hist { .. }) { div.max(1) } else { 1 };
    let (Some((&first, _)), Some((&last, _))) = (buckets.iter().next(), buckets.iter().next_back()) else {
        return;
    };
    let max = buckets.values().copied().max().unwrap_or(0).max(1);
    for index in first..=last {
        let count = buckets.get(&index).copied().unwrap_or(0);
        let bar = (u128::from(count) * u128::from(BAR_WIDTH) / u128::from(max)) as usize;
        let label = bucket_label(value, index);
        let shown = count / div;
        let line = format!(
            "{label:<16}{shown:>8} |{}{}|\n",
            "@".repeat(bar),
            " ".repeat(BAR_WIDTH as usize - bar)
        );
        out.extend_from_slice(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_bpftrace() {
        let h = MapValue::Hist { k: 0 };
        let labels: Vec<String> = [0, 1, 2, 3, 4, 11, 12, 22, 33].iter().map(|&i| bucket_label(&h, i)).collect();
        assert_eq!(
            labels,
            ["(..., 0)", "[0]", "[1]", "[2, 4)", "[4, 8)", "[512, 1K)", "[1K, 2K)", "[1M, 2M)", "[2G, 4G)"]
        );
        let l = MapValue::Lhist { min: 0, max: 100, step: 10 };
        let labels: Vec<String> = [0, 1, 10, 11].iter().map(|&i| bucket_label(&l, i)).collect();
        assert_eq!(labels, ["(..., 0)", "[0, 10)", "[90, 100)", "[100, ...)"]);
        // bpftrace 0.20 abbreviates lhist bounds that are multiples of 1024 and 1048576.
        let l = MapValue::Lhist { min: -2048, max: 4 << 20, step: 1 << 20 };
        let labels: Vec<String> = [0, 1, 2, 5].iter().map(|&i| bucket_label(&l, i)).collect();
        assert_eq!(labels, ["(..., -2K)", "[-2K, 1022K)", "[1022K, 2046K)", "[4M, ...)"]);
        assert_eq!(lhist_label(1 << 30), "1024M");
        assert_eq!(lhist_label(3072), "3K");
    }

    #[test]
    fn rows_match_bpftrace() {
        // bpftrace 0.17: @h = hist(-5), hist(0), hist(1), hist(2), hist(3)
        let b = BTreeMap::from([(0, 1), (1, 1), (2, 1), (3, 2)]);
        let mut out = Vec::new();
        render(&MapValue::Hist { k: 0 }, &b, 0, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n\
             [2, 4)                 2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
        );
    }
}
