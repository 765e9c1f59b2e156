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
//!   tests use an account in memory), and IBM's answers read into outcomes; `access`:
//!   the same for custom roles, access policies and dynamic rules.
//! - `resend`: the one protocol for writes that must not be repeated (invites, group,
//!   policy, role and rule creates): send; after an ambiguous failure re-read; resend only
//!   what did not land.
//! - `verify`: re-reads what was touched; `plan::expect` judges whether each change shows.
//! - `audit`: the `--audit-log` sink, a line per change as it completes (flushed), and a
//!   second line for a change verification judged otherwise.
//! - `report`: what became of each change, and its renderings.
//!
//! Progress: each finished change is handed to [`Options::progress`], if any, as it
//! finishes (the command renders it on a terminal).
//!
//! [`Client`]: crate::iam::Client
//! [`MEMBERS_PER_CALL`]: crate::iam::MEMBERS_PER_CALL

mod access;
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
#[cfg(test)]
mod tests_access;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub use account::{IamRead, IamWrite};
pub use audit::{Audit, AuditError, AuditLog};
pub use report::{
    ApplyReport, Entry, Problem, ReportSummary, SkipReason, Status, Unknown, refused_json, rfc3339,
};

use crate::model::{AccessGroupId, AccountId, GroupName, IamId};
use crate::plan::{Change, Plan};
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
    /// Told of each change as it finishes (applied, failed or skipped), for a progress
    /// display; `None` for none.
    pub progress: Option<Progress>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            invite_batch: 10,
            verify: true,
            parallelism: 8,
            interrupt: None,
            progress: None,
        }
    }
}

/// One change that finished, as the progress sink is told.
#[derive(Clone, Copy, Debug)]
pub struct Finished<'a> {
    pub change: &'a Change,
    /// Its outcome as executed (verification may still turn an applied one failed).
    pub status: Status,
    /// Changes finished so far, this one included.
    pub done: usize,
    /// Changes in the plan.
    pub total: usize,
}

/// The progress sink: a callback the executor calls once per finished change, on the
/// task that runs the apply (keep it quick: draw, or send on a channel).
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&Finished<'_>) + Send + Sync>);

impl Progress {
    pub fn new(sink: impl Fn(&Finished<'_>) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(sink))
    }

    fn tell(&self, finished: &Finished<'_>) {
        (self.0)(finished)
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Applies `plan` to `account` through `writer` and returns a report of every change in
/// plan order; `audit`, when given, gets a line per executed change as it completes, and
/// a second one for each change that verification found not in effect.
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
    let mut audit = audit;
    let mut done = 0;
    let ids = scheduler
        .run(start, &mut |outcomes| {
            for i in record(&mut report, &mut invited, outcomes) {
                done += 1;
                let Some(entry) = report.entries.get(i) else {
                    continue;
                };
                // Written and flushed now: a run killed later still leaves this line.
                if let Some(audit) = audit.as_mut() {
                    audit.record(entry);
                }
                if let Some(progress) = &options.progress {
                    progress.tell(&Finished {
                        change: &entry.change,
                        status: entry.status,
                        done,
                        total: report.entries.len(),
                    });
                }
            }
        })
        .await;
    if options.verify {
        let before: Vec<Status> = report.entries.iter().map(|e| e.status).collect();
        verify::verify(&mut report, account, ids, &invited, writer).await;
        if let Some(audit) = audit.as_mut() {
            for (entry, was) in report.entries.iter().zip(before) {
                if entry.status != was {
                    audit.record_verified(entry);
                }
            }
        }
    }
    report
}

/// Files outcomes in the report; returns the plan indices they were for, in order.
fn record(
    report: &mut ApplyReport,
    invited: &mut BTreeMap<usize, IamId>,
    outcomes: Outcomes,
) -> Vec<usize> {
    let now = SystemTime::now();
    let mut filed = Vec::with_capacity(outcomes.len());
    for (i, outcome) in outcomes {
        if let Some(user) = outcome.user {
            invited.insert(i, user);
        }
        if let Some(entry) = report.entries.get_mut(i) {
            entry.at = (outcome.status != Status::Skipped).then_some(now);
            entry.status = outcome.status;
            entry.error = outcome.problem;
            entry.transaction_id = outcome.transaction_id;
            filed.push(i);
        }
    }
    filed
}
