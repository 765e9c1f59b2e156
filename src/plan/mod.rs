//! The planner (SPEC §3): a pure function of desired and live state.
//!
//! Every decision orgsync makes is made here, from data alone, so that what a reviewer
//! approves is exactly what `apply` executes. Dependency rule: this module imports only
//! `crate::model` (plus serde, sha2, similar, anstyle): no I/O, no tokio, no clock.

mod compare;
mod digest;
pub mod expect;
mod planner;
mod render;
mod types;

pub use compare::what_moved;
pub use digest::{config_digest, live_digest};
pub use planner::{EXPIRY_WARNING_DAYS, Options, PENDING_INVITATION_DAYS, PlanError, plan};
pub use render::{render_json, render_markdown, render_text, summary_line};
pub use types::{
    Change, ChangeKind, FORMAT_VERSION, Plan, PlanFileError, Roster, Summary, Unmanaged,
    UnmanagedMember,
};

#[cfg(test)]
mod tests;
