//! "Did you mean": the names among the ones the planner knows that are close enough to a
//! name it could not find to be a typo of it (a role, an instance, a resource group).
//!
//! The config has a closest-match of its own for its keys; this one serves the planner,
//! which may not depend on `config` (docs/design.md, the dependency rule), and returns
//! every close candidate rather than one, since two instances named `QR-ml` and `qr-ml2`
//! are both worth naming. Both measure with [`edit_distance`], defined once in `model`.

use crate::model::edit_distance;

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
