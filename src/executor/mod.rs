//! Runs a plan against the account, deciding nothing new (docs/reconciliation.md).
//!
//! The plan says what to change; the executor only chooses how to send it within IBM's
//! limits, and in what order calls may overlap. It is a pipeline of small parts:
//!
//! - `jobs`: the plan cut into calls. Adds by `PUT /v2/groups/{id}/members` and removals
//!   by `POST /v2/groups/{id}/members/delete`, [`MEMBERS_PER_CALL`] members a call;
//!   invites grouped by identical group sets, [`Options::invite_batch`] emails a call.
//! - `schedule`: when each job starts — as soon as what it depends on has finished (a
//!   group's create before what fills it, adds before removals), up to
//!   [`Options::parallelism`] at once, none after an interruption.
//! - `calls`: one job's calls through the [`IamWrite`] trait ([`Client`] implements it;
//!   tests use an account in memory), and IBM's answers read into outcomes.
//! - `resend`: the one protocol for writes that must not be repeated (invites, group
//!   creates): send; after an ambiguous failure re-read; resend only what did not land.
//! - `verify`: re-reads what was touched; `plan::expect` judges whether each change shows.
//! - `audit`: the `--audit-log` sink, a line per executed change.
//! - `report`: what became of each change, and its renderings.
//!
//! [`Client`]: crate::iam::Client
//! [`MEMBERS_PER_CALL`]: crate::iam::MEMBERS_PER_CALL

mod account;
mod audit;
mod calls;
mod jobs;
mod report;
mod resend;
mod schedule;
mod verify;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::SystemTime;

pub use account::{IamRead, IamWrite};
pub use audit::{Audit, AuditError, AuditLog};
pub use report::{
    ApplyReport, Entry, Problem, ReportSummary, SkipReason, Status, Unknown, refused_json, rfc3339,
};

use crate::model::{AccessGroupId, AccountId, GroupName, IamId};
use crate::plan::Plan;
use jobs::Outcomes;
use schedule::Scheduler;

#[derive(Clone, Debug)]
pub struct Options {
    /// Emails per invite call (grouped by identical group sets).
    pub invite_batch: usize,
    /// Re-read the touched groups and users afterwards and report what did not take effect.
    pub verify: bool,
    /// Jobs (calls, or invitation batches) running at once: `--parallelism`. The client
    /// bounds requests in flight too; bounding jobs as well keeps the rest unstarted, so
    /// an interruption can still leave them out.
    pub parallelism: usize,
    /// Turns `true` to stop: calls in flight finish, nothing new starts, and the changes
    /// not started are reported as skipped (`apply` sets it on Ctrl-C).
    pub interrupt: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            invite_batch: 10,
            verify: true,
            parallelism: 8,
            interrupt: None,
        }
    }
}

/// Applies `plan` to `account` through `writer` and returns a report of every change in
/// plan order; `audit`, when given, gets a line per executed change.
///
/// `group_ids` maps the account's existing group names to their ids (invites name groups;
/// the executor learns the ids of groups it creates). A failed change does not stop the
/// changes that do not depend on it; those that do are skipped.
pub async fn apply<W: IamWrite>(
    plan: &Plan,
    account: &AccountId,
    group_ids: &BTreeMap<GroupName, AccessGroupId>,
    writer: &W,
    options: &Options,
    audit: Option<Audit<'_>>,
) -> ApplyReport {
    let mut report = ApplyReport {
        entries: plan.changes.iter().cloned().map(Entry::pending).collect(),
        warnings: Vec::new(),
    };
    // Plan index of an applied invitation → the invitee's IAM id.
    let mut invited: BTreeMap<usize, IamId> = BTreeMap::new();
    let scheduler = Scheduler::new(
        jobs::jobs(plan, options.invite_batch),
        group_ids.clone(),
        options.parallelism,
        options.interrupt.clone(),
    );
    let start = |job, ids| calls::run(job, ids, writer.clone(), account.clone());
    let ids = scheduler
        .run(start, &mut |outcomes| {
            record(&mut report, &mut invited, outcomes);
        })
        .await;
    if options.verify {
        verify::verify(&mut report, account, ids, &invited, writer).await;
    }
    // An outcome is final once verified: that is when each line is written.
    if let Some(mut audit) = audit {
        for entry in &report.entries {
            audit.record(entry);
        }
    }
    report
}

fn record(report: &mut ApplyReport, invited: &mut BTreeMap<usize, IamId>, outcomes: Outcomes) {
    let now = SystemTime::now();
    for (i, outcome) in outcomes {
        if let Some(user) = outcome.user {
            invited.insert(i, user);
        }
        if let Some(entry) = report.entries.get_mut(i) {
            entry.at = (outcome.status != Status::Skipped).then_some(now);
            entry.status = outcome.status;
            entry.error = outcome.problem;
            entry.transaction_id = outcome.transaction_id;
        }
    }
}
