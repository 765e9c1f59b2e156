//! The decisions `apply` makes about a plan before it executes anything: whether a saved
//! plan still holds, and whether the removals stay within what the policy allows
//! (docs/reconciliation.md). Pure, like the planner: `commands::apply` only calls them and
//! reports a [`Refusal`].

use std::fmt;

use crate::model::AccountId;

use super::compare::{Moved, what_moved};
use super::types::Plan;

/// Why `apply` refuses to execute a plan. Nothing was changed when one is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The saved plan is for another account than the config file governs.
    OtherAccount {
        saved: AccountId,
        governed: AccountId,
    },
    /// The config's digest differs from the one the plan was saved with.
    ConfigChanged,
    /// Planning now yields other changes than the saved plan holds.
    AccountChanged { moved: Vec<Moved> },
    /// More removals than `policy.max_removals` and `--allow-removals` cover.
    TooManyRemovals {
        removals: usize,
        max: u32,
        allowed: Option<u32>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OtherAccount { saved, governed } => write!(
                f,
                "the saved plan is for account {saved}, but the file governs account {governed}; plan again with this file"
            ),
            Refusal::ConfigChanged => f.write_str(
                "the config file changed since the plan was saved; nothing was changed. Run `orgsync plan --out PLANFILE` again and review it",
            ),
            Refusal::AccountChanged { moved } => write!(
                f,
                "the account changed since the plan was saved; nothing was changed. What moved:\n{}\nRun `orgsync plan --out PLANFILE` again and review it",
                moved
                    .iter()
                    .map(|m| format!("  {m}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            Refusal::TooManyRemovals {
                removals,
                max,
                allowed,
            } => {
                write!(
                    f,
                    "the plan removes {removals} memberships or users, more than policy.max_removals ({max})"
                )?;
                if let Some(n) = allowed {
                    write!(f, " and --allow-removals {n}")?;
                }
                write!(
                    f,
                    "; nothing was changed. Review the removals, then pass --allow-removals {removals}"
                )
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// What was reviewed is what is applied: the saved plan must be for this config and still
/// be exactly what planning now yields. Returns the saved plan, with the fresh plan's
/// rosters for display (its changes equal the saved ones).
pub fn check_saved(saved: Plan, fresh: &Plan) -> Result<Plan, Refusal> {
    if saved.account_id != fresh.account_id {
        return Err(Refusal::OtherAccount {
            saved: saved.account_id,
            governed: fresh.account_id.clone(),
        });
    }
    if saved.config_digest != fresh.config_digest {
        return Err(Refusal::ConfigChanged);
    }
    let moved = what_moved(&saved, fresh);
    if !moved.is_empty() {
        return Err(Refusal::AccountChanged { moved });
    }
    Ok(Plan {
        rosters: fresh.rosters.clone(),
        ..saved
    })
}

/// Refuses a plan with more removals than `policy.max_removals` (`max_removals`) and
/// `--allow-removals` (`allowed`) cover: the larger of the two is the limit.
pub fn guard_removals(plan: &Plan, max_removals: u32, allowed: Option<u32>) -> Result<(), Refusal> {
    let removals = plan.removals();
    let limit = max_removals.max(allowed.unwrap_or(0)) as usize;
    if removals > limit {
        return Err(Refusal::TooManyRemovals {
            removals,
            max: max_removals,
            allowed,
        });
    }
    Ok(())
}
