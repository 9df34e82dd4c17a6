//! "Did you mean" suggestions by edit distance.

/// The candidate nearest to `name`, if it is close enough to be a plausible typo.
pub fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        // Prefer the closest; among equals, the one of the same length (a transposition).
        .min_by_key(|(d, c)| (*d, c.chars().count().abs_diff(name.chars().count())))
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j - 1] + cost).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_close_names() {
        assert_eq!(super::nearest("prinft", &["print", "printf", "exit"]), Some("printf"));
        assert_eq!(super::nearest("pirnt", &["print", "printf"]), Some("print"));
        assert_eq!(super::nearest("zzzzzz", &["printf"]), None);
    }
}
