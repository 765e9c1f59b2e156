//! The saved-plan comparison of docs/reconciliation.md: what was reviewed is what is
//! applied.
//!
//! `apply PLANFILE` plans afresh and compares. Only the serialised content counts (the
//! rosters of a fresh plan are display aids a saved plan never has), and the comparison
//! is of changes as a multiset plus their order, so that the message names exactly the
//! changes that appeared or vanished since the plan was saved.

use std::collections::{HashMap, HashSet};
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
    /// A change planning now yields that the saved plan lacks, `count` times (more than
    /// once only for a plan file that repeats a change).
    New { change: Change, count: usize },
    /// A saved change planning now no longer yields, `count` times.
    Vanished { change: Change, count: usize },
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
            Moved::New { change, count } => {
                write!(
                    f,
                    "+ {}{change} (new since the plan was saved)",
                    times(*count)
                )
            }
            Moved::Vanished { change, count } => {
                write!(f, "- {}{change} (no longer needed)", times(*count))
            }
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

    // Walk each list in its own order so the lines come out in execution order; each
    // change that moved is one line, with how often it moved.
    let same_set = saved_counts == fresh_counts;
    for (change, count) in surplus(&fresh.changes, &fresh_counts, &saved_counts) {
        moved.push(Moved::New { change, count });
    }
    for (change, count) in surplus(&saved.changes, &saved_counts, &fresh_counts) {
        moved.push(Moved::Vanished { change, count });
    }

    if same_set && saved.changes != fresh.changes {
        moved.push(Moved::Reordered);
    }
    moved
}

/// The changes of `list` (in its order, each once) that occur more often in it than in
/// the other list, with how many more times.
fn surplus(
    list: &[Change],
    counts: &HashMap<&Change, usize>,
    other: &HashMap<&Change, usize>,
) -> Vec<(Change, usize)> {
    let mut seen: HashSet<&Change> = HashSet::new();
    let mut lines = Vec::new();
    for change in list {
        if !seen.insert(change) {
            continue;
        }
        let mine = counts.get(change).copied().unwrap_or(0);
        let extra = mine.saturating_sub(other.get(change).copied().unwrap_or(0));
        if extra > 0 {
            lines.push((change.clone(), extra));
        }
    }
    lines
}

/// `2× ` before a change that moved twice; nothing before one that moved once.
fn times(count: usize) -> String {
    if count > 1 {
        format!("{count}× ")
    } else {
        String::new()
    }
}

/// How often each change occurs.
fn counts(changes: &[Change]) -> HashMap<&Change, usize> {
    let mut counts: HashMap<&Change, usize> = HashMap::new();
    for change in changes {
        *counts.entry(change).or_default() += 1;
    }
    counts
}
