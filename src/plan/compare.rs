//! The saved-plan comparison of docs/reconciliation.md: what was reviewed is what is
//! applied.
//!
//! `apply PLANFILE` plans afresh and compares. Only the serialised content counts (the
//! rosters of a fresh plan are display aids a saved plan never has), and the comparison
//! is of changes as a multiset plus their order, so that the message names exactly the
//! changes that appeared or vanished since the plan was saved.

use std::collections::HashMap;
use std::fmt;

use crate::model::AccountId;

use super::change::Change;
use super::types::Plan;

/// One way a fresh plan differs from a saved one. `Display` gives the line `apply` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Moved {
    /// The saved plan's format is not the one this orgsync writes.
    FormatVersion { saved: u32, fresh: u32 },
    /// The saved plan is for another account than the configuration governs now.
    Account { saved: AccountId, fresh: AccountId },
    /// A change planning now yields that the saved plan lacks.
    New(Change),
    /// A saved change planning now no longer yields.
    Vanished(Change),
    /// The same changes, in another order (an edited plan file).
    Reordered,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Moved::FormatVersion { saved, fresh } => write!(
                f,
                "format: the saved plan has format_version {saved}, this orgsync writes {fresh}"
            ),
            Moved::Account { saved, fresh } => write!(
                f,
                "account: the saved plan is for account {saved}, the configuration now governs {fresh}"
            ),
            Moved::New(change) => write!(f, "+ {change} (new since the plan was saved)"),
            Moved::Vanished(change) => write!(f, "- {change} (no longer needed)"),
            Moved::Reordered => f.write_str(
                "the same changes, in a different order than orgsync plans them now (was the plan \
                 file edited?)",
            ),
        }
    }
}

/// How `fresh` differs from `saved`, in execution order; empty when `apply` may execute
/// the saved changes as they are.
pub fn what_moved(saved: &Plan, fresh: &Plan) -> Vec<Moved> {
    let mut moved = Vec::new();
    if saved.format_version != fresh.format_version {
        moved.push(Moved::FormatVersion {
            saved: saved.format_version,
            fresh: fresh.format_version,
        });
    }
    if saved.account_id != fresh.account_id {
        moved.push(Moved::Account {
            saved: saved.account_id.clone(),
            fresh: fresh.account_id.clone(),
        });
    }

    let saved_counts = counts(&saved.changes);
    let fresh_counts = counts(&fresh.changes);

    // Walk each list in its own order so the lines come out in execution order.
    let mut unmatched_saved = saved_counts;
    for change in &fresh.changes {
        match unmatched_saved.get_mut(change) {
            Some(n) if *n > 0 => *n -= 1,
            _ => moved.push(Moved::New(change.clone())),
        }
    }
    let mut unmatched_fresh = fresh_counts;
    for change in &saved.changes {
        match unmatched_fresh.get_mut(change) {
            Some(n) if *n > 0 => *n -= 1,
            _ => moved.push(Moved::Vanished(change.clone())),
        }
    }

    let same_set =
        saved.changes.len() == fresh.changes.len() && unmatched_saved.values().all(|n| *n == 0);
    if same_set && saved.changes != fresh.changes {
        moved.push(Moved::Reordered);
    }
    moved
}

/// How often each change occurs.
fn counts(changes: &[Change]) -> HashMap<&Change, usize> {
    let mut counts: HashMap<&Change, usize> = HashMap::new();
    for change in changes {
        *counts.entry(change).or_default() += 1;
    }
    counts
}
