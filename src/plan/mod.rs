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
mod roster;
mod types;
mod warning;

pub use change::{Change, ChangeKind, Target};
pub use compare::{Moved, what_moved};
pub use digest::{config_digest, live_digest};
pub use error::PlanError;
pub use guard::{Refusal, check_saved, guard_removals};
pub use planner::{EXPIRY_WARNING_DAYS, Options, plan};
pub use render::{render_json, render_markdown, render_text, summary_line};
pub use types::{FORMAT_VERSION, Plan, PlanFileError, Roster, Summary, Unmanaged, UnmanagedMember};
pub use warning::{KeepReason, PENDING_INVITATION_DAYS, Warning, Who};

#[cfg(test)]
mod tests;
