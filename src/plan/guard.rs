//! The decisions `apply` makes about a plan before it executes anything: whether a saved
//! plan still holds, whether the removals stay within what the policy allows, and whether
//! the identity it runs as can carry the plan out at all (docs/reconciliation.md). Pure,
//! like the planner: `commands::apply` only calls them and reports a [`Refusal`].

use std::fmt;

use crate::model::{AccountId, IamId};

use super::change::Change;
use super::compare::{Moved, what_moved};
use super::types::Plan;

/// At most this many changes are named in a refusal; the rest are counted.
const NAMED_AT_MOST: usize = 10;

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
    /// The saved changes differ from what planning yields now although neither the config
    /// nor the account moved (both digests match): the plan file is not what `plan`
    /// wrote (it was edited, or planned with another `--today`).
    PlanFileAltered { moved: Vec<Moved> },
    /// More removals than `policy.max_removals` and `--allow-removals` cover.
    TooManyRemovals {
        removals: usize,
        /// How many of them take away access policies, roles or dynamic rules.
        revocations: usize,
        max: u32,
        allowed: Option<u32>,
    },
    /// orgsync runs as a service ID, whose key IBM never lets invite or remove users,
    /// and the plan does.
    CallerCannotManageUsers {
        caller: IamId,
        /// The plan's invitations and removals from the account, in its order.
        changes: Vec<Change>,
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
            Refusal::PlanFileAltered { moved } => write!(
                f,
                "the plan file is not what `orgsync plan` wrote: neither the config nor the account changed since it was saved, yet its changes differ from what planning yields (was it edited, or planned with another --today?); nothing was changed. What differs:\n{}\nRun `orgsync plan --out PLANFILE` again and review it",
                moved
                    .iter()
                    .map(|m| format!("  {}", altered_line(m)))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            Refusal::CallerCannotManageUsers { caller, changes } => {
                write!(
                    f,
                    "orgsync runs as service ID {caller}, and IBM lets only a user's API key invite or remove users, so this plan cannot be carried out; nothing was changed. It would need:"
                )?;
                for change in changes.iter().take(NAMED_AT_MOST) {
                    write!(f, "\n  {change}")?;
                }
                if changes.len() > NAMED_AT_MOST {
                    write!(f, "\n  and {} more", changes.len() - NAMED_AT_MOST)?;
                }
                write!(
                    f,
                    "\nRun apply with the API key of a user who may invite and remove users (IBMCLOUD_API_KEY or --api-key-file)"
                )
            }
            Refusal::TooManyRemovals {
                removals,
                revocations,
                max,
                allowed,
            } => {
                let what = match (*removals, *revocations) {
                    (1, 0) => "1 membership or user".to_string(),
                    (n, 0) => format!("{n} memberships or users"),
                    (1, _) => {
                        "1 grant (an access policy, a role of a policy, or a dynamic rule)"
                            .to_string()
                    }
                    (n, r) => format!(
                        "{n} memberships, users or grants ({r} of them access policies, roles taken from a policy, or dynamic rules)"
                    ),
                };
                write!(
                    f,
                    "the plan removes {what}, more than policy.max_removals ({max})"
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
        // The live digest covers everything the plan reads from the account: equal
        // digests mean the account did not move, so the difference is the file's own.
        if saved.live_digest == fresh.live_digest {
            return Err(Refusal::PlanFileAltered { moved });
        }
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
        let revocations = plan.changes.iter().filter(|c| c.is_revocation()).count();
        return Err(Refusal::TooManyRemovals {
            removals,
            revocations,
            max: max_removals,
            allowed,
        });
    }
    Ok(())
}

/// Refuses a plan the identity apply runs as cannot carry out, before the first write: a
/// service ID's key can neither invite nor remove users (docs/ibm-api.md, Who may invite
/// and remove), so a plan with `invite_user` or `remove_user` would half-apply.
pub fn preflight(plan: &Plan, caller: &IamId) -> Result<(), Refusal> {
    if !caller.is_service_id() {
        return Ok(());
    }
    let changes: Vec<Change> = (plan.changes.iter())
        .filter(|c| matches!(c, Change::InviteUser { .. } | Change::RemoveUser { .. }))
        .cloned()
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    Err(Refusal::CallerCannotManageUsers {
        caller: caller.clone(),
        changes,
    })
}

/// A line of "what differs" for a plan file that was altered: the changes are not new or
/// gone from the account, they are missing from or extra in the file.
fn altered_line(moved: &Moved) -> String {
    match moved {
        Moved::New { change, count } => format!(
            "+ {}{change} (planned now, missing from the file)",
            times(*count)
        ),
        Moved::Vanished { change, count } => {
            format!("- {}{change} (in the file, not planned)", times(*count))
        }
        other => other.to_string(),
    }
}

fn times(count: usize) -> String {
    if count > 1 {
        format!("{count}× ")
    } else {
        String::new()
    }
}
