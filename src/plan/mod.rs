//! The planner (SPEC §3): a pure function of desired and live state.
//!
//! Every decision orgsync makes is made here, from data alone, so that what a reviewer
//! approves is exactly what `apply` executes. Dependency rule: this module imports only
//! `crate::model` (plus serde, sha2, similar, anstyle): no I/O, no tokio, no clock.

mod types;

pub use types::{
    Change, ChangeKind, FORMAT_VERSION, Plan, PlanFileError, Roster, Summary, Unmanaged,
    UnmanagedMember,
};
