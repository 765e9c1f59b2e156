//! The planner (docs/reconciliation.md): a pure function of desired and live state.
//!
//! Every decision orgsync makes is made here, from data alone, so that what a reviewer
//! approves is exactly what `apply` executes: the plan itself, whether a saved plan still
//! holds and whether its removals are allowed (`guard`), and what a file written from the
//! account can say (`export`), and what an applied change should look like afterwards
//! (`expect`). Dependency rule: this module imports only `crate::model`
//! (plus serde, sha2, similar, anstyle): no I/O, no tokio, no clock.

mod change;
mod compare;
mod digest;
mod error;
pub mod expect;
pub mod export;
mod guard;
mod index;
mod planner;
mod render;
mod resolve;
mod roster;
mod similar;
mod types;
mod warning;

pub use change::{Change, ChangeKind, Target};
pub use compare::{Moved, what_moved};
pub use digest::{config_digest, live_digest};
pub use error::{AccessProblem, PlanError};
pub use guard::{Refusal, check_saved, guard_removals, preflight};
pub use planner::{EXPIRY_WARNING_DAYS, Options, plan};
pub use render::{render_json, render_markdown, render_text, summary_line};
pub use types::{
    FORMAT_VERSION, Plan, PlanFileError, Roster, Summary, UnexpressiblePolicy, Unmanaged,
    UnmanagedMember,
};
pub use warning::{AccessLoss, KeepReason, PENDING_INVITATION_DAYS, RuleRef, Warning, Who};

/// IBM's limit of access policies per subject, an access group here (docs/ibm-api.md,
/// Policy Management).
pub const MAX_POLICIES_PER_GROUP: usize = 1000;
/// IBM's limit of custom roles per account (docs/ibm-api.md, Roles).
pub const MAX_CUSTOM_ROLES: usize = 40;

#[cfg(test)]
mod tests;
