//! The saved-plan check of SPEC §6: what was reviewed is what is applied.
//!
//! `apply PLANFILE` plans afresh and compares. Only the serialised content counts (the
//! rosters of a fresh plan are display aids a saved plan never has), and the comparison
//! is of changes as a multiset plus their order, so that the message names exactly the
//! changes that appeared or vanished since the plan was saved.

use std::collections::HashMap;

use super::types::{Change, Plan};

/// Lines describing how `fresh` differs from `saved`; empty when `apply` may execute the
/// saved changes as they are.
pub fn what_moved(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    if saved.format_version != fresh.format_version {
        lines.push(format!(
            "format: the saved plan has format_version {}, this orgsync writes {}",
            saved.format_version, fresh.format_version
        ));
    }
    if saved.account_id != fresh.account_id {
        lines.push(format!(
            "account: the saved plan is for account {}, the configuration now governs {}",
            saved.account_id, fresh.account_id
        ));
    }

    let mut saved_counts: HashMap<&Change, usize> = HashMap::new();
    for change in &saved.changes {
        *saved_counts.entry(change).or_default() += 1;
    }
    let mut fresh_counts: HashMap<&Change, usize> = HashMap::new();
    for change in &fresh.changes {
        *fresh_counts.entry(change).or_default() += 1;
    }

    // Walk each list in its own order so the lines come out in execution order.
    let mut unmatched_saved = saved_counts.clone();
    for change in &fresh.changes {
        match unmatched_saved.get_mut(change) {
            Some(n) if *n > 0 => *n -= 1,
            _ => lines.push(format!("+ {change} (new since the plan was saved)")),
        }
    }
    let mut unmatched_fresh = fresh_counts;
    for change in &saved.changes {
        match unmatched_fresh.get_mut(change) {
            Some(n) if *n > 0 => *n -= 1,
            _ => lines.push(format!("- {change} (no longer needed)")),
        }
    }

    let same_set =
        saved.changes.len() == fresh.changes.len() && unmatched_saved.values().all(|n| *n == 0);
    if same_set && saved.changes != fresh.changes {
        lines.push(
            "the same changes, in a different order than orgsync plans them now (was the plan \
             file edited?)"
                .to_string(),
        );
    }
    lines
}
