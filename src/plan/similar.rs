//! "Did you mean": the names among the ones the planner knows that are close enough to a
//! name it could not find to be a typo of it (a role, an instance, a resource group).
//!
//! The config has a closest-match of its own for its keys; this one serves the planner,
//! which may not depend on `config` (docs/design.md, the dependency rule), and returns
//! every close candidate rather than one, since two instances named `QR-ml` and `qr-ml2`
//! are both worth naming.

/// At most this many suggestions are offered.
const MAX_SUGGESTIONS: usize = 3;

/// The candidates close to `name`, closest first (ties in the candidates' order): equal
/// ignoring case, containing one another ignoring case, or within a few edits.
pub(super) fn similar<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Vec<&'c str> {
    let wanted = name.to_lowercase();
    let len = wanted.chars().count();
    // Long strings are not typos of short names, and the distance is quadratic.
    if len > 200 {
        return Vec::new();
    }
    let limit = match len {
        0..=3 => 1,
        4..=8 => 2,
        _ => len / 4 + 1,
    };
    let mut scored: Vec<(usize, &str)> = Vec::new();
    for candidate in candidates {
        if candidate == name || scored.iter().any(|(_, c)| *c == candidate) {
            continue;
        }
        let lower = candidate.to_lowercase();
        let score = if lower == wanted {
            0
        } else if !wanted.is_empty() && (lower.contains(&wanted) || wanted.contains(&lower)) {
            1
        } else if lower.chars().count() <= 200 {
            match edit_distance(&wanted, &lower) {
                d if d <= limit => d + 1,
                _ => continue,
            }
        } else {
            continue;
        };
        scored.push((score, candidate));
    }
    scored.sort_by_key(|(score, _)| *score);
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, c)| c)
        .collect()
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_closest_first_and_far_ones_not() {
        let known = ["Reader", "Writer", "Manager", "JobManager", "Viewer"];
        assert_eq!(similar("reader", known.into_iter()), ["Reader"]);
        assert_eq!(
            similar("Jobmanager", known.into_iter()),
            ["JobManager", "Manager"]
        );
        assert_eq!(similar("Mangaer", known.into_iter()), ["Manager"]);
        assert!(similar("Administrator", known.into_iter()).is_empty());
        assert_eq!(
            similar("QR-ml", ["qr-ml2", "QR-finance", "QR-m1"].into_iter()),
            ["qr-ml2", "QR-m1"]
        );
    }

    #[test]
    fn the_name_itself_and_repeats_are_not_suggested() {
        assert!(similar("Reader", ["Reader", "Reader"].into_iter()).is_empty());
        assert_eq!(
            similar("Readr", ["Reader", "Reader"].into_iter()),
            ["Reader"]
        );
    }
}
