//! Runs a plan against the account (SPEC §7), deciding nothing new.
//!
//! The plan says what to change; the executor only chooses how to send it within IBM's
//! limits, and in what order calls may overlap. Each call is a job, and a job starts as
//! soon as what it depends on has finished, up to `--parallelism` requests in flight (the
//! client's semaphore):
//! - adds and invites naming a group this apply creates wait for its id (and are skipped
//!   if the create failed);
//! - removals from a group, and removals of users from the account, wait until every add
//!   and invite into the groups they touch has finished: adding before removing means a
//!   partial apply never leaves a project emptier than either end state;
//! - everything else is independent. There are no phase barriers, so one slow or retried
//!   call holds back only what truly depends on it.
//!
//! Batching: adds by `PUT /v2/groups/{id}/members` and removals by
//! `POST /v2/groups/{id}/members/delete`, 50 members a call; invites grouped by identical
//! group sets, [`Options::invite_batch`] emails a call.
//!
//! The one write that is not idempotent is the invite. It is never blindly repeated: after
//! an ambiguous failure (timeout, dropped connection, 5xx) or a 409 "already processing",
//! the user list is re-read, and only the emails that did not land are invited again. A
//! failed (`ERROR_WHILE_PROCESSING`) invitation is removed before its email is invited
//! again, since IBM answers an invitation of a listed email with a no-op.
//!
//! After executing, [`verify`] re-reads what was touched and turns any "applied" change
//! that did not take effect into a failure.

mod report;
mod verify;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use tokio::task::JoinSet;

pub use report::{ApplyReport, Entry, ReportSummary, Status, rfc3339};

use crate::iam::{ApiErrorInfo, Client, IamError};
use crate::model::{AccessGroupId, AccountId, Email, GroupName, IamId, MemberKind};
use crate::plan::{Change, Plan};

/// IBM's limit of members in one add or bulk-remove call.
pub const MEMBERS_PER_CALL: usize = 50;

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

/// What became of some changes (by index into the plan's changes).
type Outcomes = Vec<(usize, Outcome)>;

#[derive(Clone, Debug)]
struct Outcome {
    status: Status,
    error: Option<ApiErrorInfo>,
    /// An invitee's IAM id, as IBM's answer (or a re-read) gave it: verification reads the
    /// user by it.
    user: Option<IamId>,
    /// The transaction id of the call that applied the change, for the audit log.
    transaction_id: Option<String>,
}

impl Outcome {
    fn applied() -> Outcome {
        Outcome {
            status: Status::Applied,
            error: None,
            user: None,
            transaction_id: None,
        }
    }

    fn with_transaction(mut self, transaction_id: Option<String>) -> Outcome {
        self.transaction_id = transaction_id;
        self
    }

    fn invited(user: Option<IamId>) -> Outcome {
        Outcome {
            user,
            ..Outcome::applied()
        }
    }

    fn failed(info: ApiErrorInfo) -> Outcome {
        Outcome {
            status: Status::Failed,
            error: Some(info),
            user: None,
            transaction_id: None,
        }
    }

    fn skipped(why: String) -> Outcome {
        Outcome {
            status: Status::Skipped,
            error: Some(note(why)),
            user: None,
            transaction_id: None,
        }
    }
}

fn note(message: String) -> ApiErrorInfo {
    ApiErrorInfo {
        status: None,
        code: None,
        message,
        transaction_id: None,
    }
}

/// Applies `plan` to `account` and returns a report of every change in plan order.
///
/// `group_ids` maps the account's existing group names to their ids (invites name groups;
/// the executor learns the ids of groups it creates). A failed change does not stop the
/// changes that do not depend on it; those that do are skipped.
pub async fn apply(
    plan: &Plan,
    account: &AccountId,
    group_ids: &BTreeMap<GroupName, AccessGroupId>,
    client: &Client,
    options: &Options,
) -> ApplyReport {
    let mut report = ApplyReport {
        entries: plan.changes.iter().cloned().map(Entry::pending).collect(),
        warnings: Vec::new(),
    };
    let mut deps = Dependencies {
        ids: group_ids.clone(),
        ..Dependencies::default()
    };
    let mut waiting = jobs(plan, options.invite_batch.max(1));
    for job in &waiting {
        if let Job::Create { group, .. } = job {
            deps.creating.insert(group.clone());
        }
        for group in job.fills() {
            *deps.filling.entry(group.clone()).or_default() += 1;
        }
    }

    let mut tasks: JoinSet<Done> = JoinSet::new();
    // Plan index of an applied invitation → the invitee's IAM id.
    let mut invited: BTreeMap<usize, IamId> = BTreeMap::new();
    let mut running: HashMap<tokio::task::Id, Running> = HashMap::new();
    let slots = options.parallelism.max(1);
    let mut interrupt = options.interrupt.clone();
    let mut stopping = interrupt.as_ref().is_some_and(|rx| *rx.borrow());
    loop {
        if stopping {
            let why = Outcome::skipped(
                "not started: the apply was interrupted; run apply again to finish".into(),
            );
            for job in waiting.drain(..) {
                let skipped = job.indices().into_iter().map(|i| (i, why.clone()));
                record(&mut report, skipped.collect());
            }
        }
        // Start every job whose dependencies are settled, while slots are free; skipping
        // one may settle others.
        loop {
            let mut progressed = false;
            let mut still = Vec::with_capacity(waiting.len());
            for job in waiting {
                let readiness = if tasks.len() < slots {
                    deps.readiness(&job)
                } else {
                    Readiness::Wait
                };
                match readiness {
                    Readiness::Wait => still.push(job),
                    Readiness::Skip(why) => {
                        let skipped = job.indices().into_iter().map(|i| (i, why.clone()));
                        record(&mut report, skipped.collect());
                        deps.finished(&job.fills(), None);
                        progressed = true;
                    }
                    Readiness::Ready(ids) => {
                        let meta = Running {
                            indices: job.indices(),
                            fills: job.fills().into_iter().cloned().collect(),
                            creates: match &job {
                                Job::Create { group, .. } => Some(group.clone()),
                                _ => None,
                            },
                        };
                        let handle = tasks.spawn(run(job, ids, client.clone(), account.clone()));
                        running.insert(handle.id(), meta);
                    }
                }
            }
            waiting = still;
            if !progressed {
                break;
            }
        }
        let next = match interrupt.as_mut().filter(|_| !stopping) {
            Some(rx) => tokio::select! {
                joined = tasks.join_next_with_id() => joined,
                Ok(_) = rx.wait_for(|stop| *stop) => {
                    stopping = true;
                    continue;
                }
            },
            None => tasks.join_next_with_id().await,
        };
        let Some(joined) = next else {
            break;
        };
        let (id, done) = match joined {
            Ok((id, done)) => (id, Some(done)),
            Err(e) => (e.id(), None),
        };
        let Some(meta) = running.remove(&id) else {
            continue;
        };
        let created = match done {
            Some(done) => {
                invited.extend(
                    done.outcomes
                        .iter()
                        .filter_map(|(i, o)| o.user.clone().map(|u| (*i, u))),
                );
                record(&mut report, done.outcomes);
                done.created
            }
            None => {
                // A task that panicked: its changes are failures of unknown effect, and
                // what depends on them is released (removals) or skipped (a lost create).
                let info = note(
                    "executing this change ended unexpectedly; run plan to see whether it took effect"
                        .into(),
                );
                let failed = meta
                    .indices
                    .iter()
                    .map(|i| (*i, Outcome::failed(info.clone())));
                record(&mut report, failed.collect());
                None
            }
        };
        let fills: Vec<&GroupName> = meta.fills.iter().collect();
        deps.finished(&fills, meta.creates.map(|g| (g, created)));
    }
    // Nothing left running, yet jobs wait: only possible if a dependency was never
    // released. Say so rather than hang or pretend.
    for job in waiting {
        let why = Outcome::skipped("a change it depends on did not finish; plan again".into());
        record(
            &mut report,
            job.indices()
                .into_iter()
                .map(|i| (i, why.clone()))
                .collect(),
        );
    }

    if options.verify {
        verify::verify(&mut report, account, &deps.ids, &invited, client).await;
    }
    report
}

/// One call (or one invitation batch) of the apply, with the plan indices it serves.
enum Job {
    Create {
        index: usize,
        group: GroupName,
        description: String,
    },
    Update {
        index: usize,
        group_id: AccessGroupId,
        description: String,
    },
    /// Emails sharing one set of groups, at most `invite_batch` of them.
    Invite {
        groups: Vec<GroupName>,
        items: Vec<InviteItem>,
    },
    /// At most [`MEMBERS_PER_CALL`] members into one group.
    Add {
        group: GroupName,
        /// `None` for a group this apply creates.
        group_id: Option<AccessGroupId>,
        members: Vec<(usize, IamId)>,
    },
    /// At most [`MEMBERS_PER_CALL`] members out of one group.
    Remove {
        group: GroupName,
        group_id: AccessGroupId,
        members: Vec<(usize, IamId)>,
    },
    RemoveUser {
        index: usize,
        iam_id: IamId,
        /// The managed groups the user leaves.
        groups: Vec<GroupName>,
    },
}

impl Job {
    fn indices(&self) -> Vec<usize> {
        match self {
            Job::Create { index, .. }
            | Job::Update { index, .. }
            | Job::RemoveUser { index, .. } => {
                vec![*index]
            }
            Job::Invite { items, .. } => items.iter().map(|it| it.index).collect(),
            Job::Add { members, .. } | Job::Remove { members, .. } => {
                members.iter().map(|(i, _)| *i).collect()
            }
        }
    }

    /// The groups this job puts people into. Removals from a group wait until every job
    /// that fills it has finished: adding before removing means a partial apply never
    /// leaves a project emptier than either end state (SPEC §3).
    fn fills(&self) -> Vec<&GroupName> {
        match self {
            Job::Invite { groups, .. } => groups.iter().collect(),
            Job::Add { group, .. } => vec![group],
            _ => Vec::new(),
        }
    }
}

/// The plan cut into calls: adds and removals per group in chunks of
/// [`MEMBERS_PER_CALL`], invitations per identical group set in batches of `invite_batch`.
fn jobs(plan: &Plan, invite_batch: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut invites: BTreeMap<Vec<GroupName>, Vec<InviteItem>> = BTreeMap::new();
    type Members = Vec<(usize, IamId)>;
    let mut adds: BTreeMap<GroupName, (Option<AccessGroupId>, Members)> = BTreeMap::new();
    let mut removals: BTreeMap<GroupName, (AccessGroupId, Members)> = BTreeMap::new();
    for (index, change) in plan.changes.iter().enumerate() {
        match change {
            Change::CreateGroup { group, description } => jobs.push(Job::Create {
                index,
                group: group.clone(),
                description: description.clone().unwrap_or_default(),
            }),
            Change::UpdateGroup {
                group_id,
                description,
                ..
            } => jobs.push(Job::Update {
                index,
                group_id: group_id.clone(),
                description: description.clone(),
            }),
            Change::InviteUser {
                email,
                groups,
                replaces_iam_id,
            } => invites.entry(groups.clone()).or_default().push(InviteItem {
                index,
                email: email.clone(),
                replaces: replaces_iam_id.clone(),
            }),
            Change::AddMember {
                group,
                group_id,
                iam_id,
                ..
            } => {
                let entry = adds
                    .entry(group.clone())
                    .or_insert_with(|| (group_id.clone(), Vec::new()));
                entry.1.push((index, iam_id.clone()));
            }
            Change::RemoveMember {
                group,
                group_id,
                iam_id,
                ..
            } => {
                let entry = removals
                    .entry(group.clone())
                    .or_insert_with(|| (group_id.clone(), Vec::new()));
                entry.1.push((index, iam_id.clone()));
            }
            Change::RemoveUser { iam_id, groups, .. } => jobs.push(Job::RemoveUser {
                index,
                iam_id: iam_id.clone(),
                groups: groups.clone(),
            }),
        }
    }
    for (groups, items) in invites {
        for batch in items.chunks(invite_batch) {
            jobs.push(Job::Invite {
                groups: groups.clone(),
                items: batch.to_vec(),
            });
        }
    }
    for (group, (group_id, members)) in adds {
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            jobs.push(Job::Add {
                group: group.clone(),
                group_id: group_id.clone(),
                members: chunk.to_vec(),
            });
        }
    }
    for (group, (group_id, members)) in removals {
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            jobs.push(Job::Remove {
                group: group.clone(),
                group_id: group_id.clone(),
                members: chunk.to_vec(),
            });
        }
    }
    jobs
}

/// What the jobs wait on: groups being created, and groups still being filled.
#[derive(Default)]
struct Dependencies {
    /// Group ids: the account's, plus those of groups this apply created.
    ids: BTreeMap<GroupName, AccessGroupId>,
    /// Groups whose creation has not finished.
    creating: BTreeSet<GroupName>,
    /// Groups whose creation failed: whatever names them is skipped.
    lost: BTreeSet<GroupName>,
    /// Per group, the add and invite jobs not yet finished.
    filling: BTreeMap<GroupName, usize>,
}

enum Readiness {
    /// Start it, with the ids of the groups it names.
    Ready(Vec<AccessGroupId>),
    Wait,
    Skip(Outcome),
}

impl Dependencies {
    fn readiness(&self, job: &Job) -> Readiness {
        let named: Vec<&GroupName> = match job {
            Job::Invite { groups, .. } => groups.iter().collect(),
            Job::Add { group, .. } => vec![group],
            Job::Remove { group, .. } => {
                return self.after_filling(std::slice::from_ref(group));
            }
            Job::RemoveUser { groups, .. } => return self.after_filling(groups),
            Job::Create { .. } | Job::Update { .. } => return Readiness::Ready(Vec::new()),
        };
        if let Some(lost) = named.iter().find(|g| self.lost.contains(**g)) {
            return Readiness::Skip(Outcome::skipped(format!(
                "depends on creating group {lost}, which failed"
            )));
        }
        if named.iter().any(|g| self.creating.contains(*g)) {
            return Readiness::Wait;
        }
        let planned = match job {
            Job::Add { group_id, .. } => group_id.as_ref(),
            _ => None,
        };
        let mut ids = Vec::with_capacity(named.len());
        for group in named {
            match planned.or_else(|| self.ids.get(group)) {
                Some(id) => ids.push(id.clone()),
                None => {
                    return Readiness::Skip(Outcome::skipped(format!(
                        "group {group} has no id: it was neither in the account nor created; plan again"
                    )));
                }
            }
        }
        Readiness::Ready(ids)
    }

    fn after_filling(&self, groups: &[GroupName]) -> Readiness {
        if groups
            .iter()
            .any(|g| self.filling.get(g).is_some_and(|n| *n > 0))
        {
            Readiness::Wait
        } else {
            Readiness::Ready(Vec::new())
        }
    }

    /// A job ended (or was skipped): release what waited on it. `created` is the outcome
    /// of a create: the new id, or `None` when it failed.
    fn finished(
        &mut self,
        fills: &[&GroupName],
        created: Option<(GroupName, Option<AccessGroupId>)>,
    ) {
        for group in fills {
            if let Some(n) = self.filling.get_mut(*group) {
                *n = n.saturating_sub(1);
            }
        }
        if let Some((group, id)) = created {
            self.creating.remove(&group);
            match id {
                Some(id) => {
                    self.ids.insert(group, id);
                }
                None => {
                    self.lost.insert(group);
                }
            }
        }
    }
}

/// What a running job is about, kept outside the task so that even a task that panicked
/// releases its dependants.
struct Running {
    indices: Vec<usize>,
    fills: Vec<GroupName>,
    creates: Option<GroupName>,
}

struct Done {
    outcomes: Outcomes,
    /// For a create: the new group's id, `None` when the create failed.
    created: Option<AccessGroupId>,
}

/// Makes the job's call(s). `ids` are the ids of the groups an invite or add names.
async fn run(job: Job, ids: Vec<AccessGroupId>, client: Client, account: AccountId) -> Done {
    let single = |index: usize, result: Result<Option<String>, IamError>| Done {
        outcomes: vec![(
            index,
            match result {
                Ok(transaction_id) => Outcome::applied().with_transaction(transaction_id),
                Err(e) => Outcome::failed(e.info()),
            },
        )],
        created: None,
    };
    match job {
        Job::Create {
            index,
            group,
            description,
            // The client re-lists after an ambiguous failure and re-posts only a create that
            // did not land, with backoff between rounds.
        } => match client.create_group(&account, &group, &description).await {
            Ok(created) => Done {
                outcomes: vec![(
                    index,
                    Outcome::applied().with_transaction(created.transaction_id),
                )],
                created: Some(created.id),
            },
            Err(e) => Done {
                outcomes: vec![(index, Outcome::failed(e.info()))],
                created: None,
            },
        },
        Job::Update {
            index,
            group_id,
            description,
        } => single(
            index,
            client
                .update_group_description(&group_id, &description)
                .await,
        ),
        Job::Invite { items, .. } => Done {
            outcomes: invite(&client, &account, items, &ids).await,
            created: None,
        },
        Job::Add { members, .. } => match ids.first() {
            Some(id) => Done {
                outcomes: add(&client, id, members).await,
                created: None,
            },
            // Readiness always resolves the id; never report an unmade call as applied.
            None => Done {
                outcomes: members
                    .iter()
                    .map(|(i, _)| {
                        let why = "the group's id was not known; plan again".to_string();
                        (*i, Outcome::failed(note(why)))
                    })
                    .collect(),
                created: None,
            },
        },
        Job::Remove {
            group_id, members, ..
        } => Done {
            outcomes: remove(&client, &group_id, members).await,
            created: None,
        },
        Job::RemoveUser { index, iam_id, .. } => single(
            index,
            client
                .remove_user(&account, &iam_id)
                .await
                .map(|removal| removal.transaction_id),
        ),
    }
}

fn record(report: &mut ApplyReport, outcomes: Outcomes) {
    let now = SystemTime::now();
    for (i, outcome) in outcomes {
        if let Some(entry) = report.entries.get_mut(i) {
            entry.at = (outcome.status != Status::Skipped).then_some(now);
            entry.status = outcome.status;
            entry.error = outcome.error;
            entry.transaction_id = outcome.transaction_id;
        }
    }
}

#[derive(Clone, Debug)]
struct InviteItem {
    index: usize,
    email: Email,
    /// A failed (`ERROR_WHILE_PROCESSING`) invitation to remove first.
    replaces: Option<IamId>,
}

/// Invites one batch (same groups). Never repeats an invitation that may have landed:
/// after an ambiguous failure or a 409, the user list says which emails are there, and only
/// the others are sent again.
async fn invite(
    client: &Client,
    account: &AccountId,
    batch: Vec<InviteItem>,
    group_ids: &[AccessGroupId],
) -> Outcomes {
    let mut out = Vec::new();
    let mut remaining: Vec<InviteItem> = Vec::new();
    for item in batch {
        let Some(old) = &item.replaces else {
            remaining.push(item);
            continue;
        };
        // IBM would answer a re-invitation of an email it still lists with a no-op, so
        // the failed (ERROR_WHILE_PROCESSING) entry goes first.
        match client.remove_user(account, old).await {
            Ok(_) => remaining.push(item),
            // Gone already (someone cancelled it in the console): nothing stands in the way.
            Err(e) if e.status() == Some(404) => remaining.push(item),
            Err(e) => {
                let mut info = e.info();
                info.message = format!(
                    "removing the failed invitation {old} before inviting again failed: {}",
                    info.message
                );
                out.push((item.index, Outcome::failed(info)));
            }
        }
    }
    // Each round is safe (it sends only what a re-read proved absent), so the bound is
    // about time, not harm: as many rounds as the client's retries of an idempotent call,
    // with the same backoff between them.
    let mut last_error: Option<IamError> = None;
    for round in 0..client.max_attempts() {
        if remaining.is_empty() {
            break;
        }
        if round > 0 {
            client.backoff_pause(round).await;
        }
        let emails: Vec<Email> = remaining.iter().map(|it| it.email.clone()).collect();
        match client.invite_users(account, &emails, group_ids).await {
            Ok(answered) => {
                let transaction_id = answered.first().and_then(|u| u.transaction_id.clone());
                let ids: BTreeMap<Email, IamId> = answered
                    .into_iter()
                    .filter_map(|u| Some((u.email, u.iam_id?)))
                    .collect();
                out.extend(remaining.drain(..).map(|it| {
                    let outcome = Outcome::invited(ids.get(&it.email).cloned());
                    (it.index, outcome.with_transaction(transaction_id.clone()))
                }));
            }
            Err(e) if e.is_ambiguous() || e.is_conflict() => {
                let listed: BTreeMap<Email, IamId> = match client.list_users(account).await {
                    Ok(users) => users.into_iter().map(|u| (u.email, u.iam_id)).collect(),
                    Err(read) => {
                        let info = note(format!(
                            "the invitation may or may not have landed ({e}), and re-reading the users to find out failed too ({read}); run plan to see"
                        ));
                        out.extend(
                            remaining
                                .drain(..)
                                .map(|it| (it.index, Outcome::failed(info.clone()))),
                        );
                        break;
                    }
                };
                // Landed: the email is listed, in whatever state (verification judges
                // that). A failed invitation this one replaces was removed before the
                // first attempt, so a listing now is the new one — even under the same
                // iam_id, which IBM keeps per person. Inviting a listed email again would
                // be a second invitation, which is what this loop exists to prevent.
                remaining.retain(|it| match listed.get(&it.email) {
                    Some(id) => {
                        out.push((it.index, Outcome::invited(Some(id.clone()))));
                        false
                    }
                    None => true,
                });
                last_error = Some(e);
            }
            Err(e) => {
                let info = e.info();
                out.extend(
                    remaining
                        .drain(..)
                        .map(|it| (it.index, Outcome::failed(info.clone()))),
                );
            }
        }
    }
    if !remaining.is_empty() {
        let info = last_error.map(|e| e.info()).unwrap_or_else(|| {
            note("the invitation did not land after repeated attempts".to_string())
        });
        out.extend(
            remaining
                .into_iter()
                .map(|it| (it.index, Outcome::failed(info.clone()))),
        );
    }
    out
}

/// One add call (≤ 50 members), read member by member.
async fn add(client: &Client, group: &AccessGroupId, chunk: Vec<(usize, IamId)>) -> Outcomes {
    let members: Vec<(IamId, MemberKind)> = chunk
        .iter()
        .map(|(_, id)| (id.clone(), MemberKind::User))
        .collect();
    per_member(chunk, client.add_members(group, &members).await)
}

/// One bulk-remove call (≤ 50 members), read member by member.
async fn remove(client: &Client, group: &AccessGroupId, chunk: Vec<(usize, IamId)>) -> Outcomes {
    let ids: Vec<IamId> = chunk.iter().map(|(_, id)| id.clone()).collect();
    per_member(chunk, client.remove_members(group, &ids).await)
}

fn per_member(
    chunk: Vec<(usize, IamId)>,
    result: Result<Vec<crate::iam::MemberOutcome>, IamError>,
) -> Outcomes {
    match result {
        Ok(outcomes) => chunk
            .into_iter()
            .map(|(i, id)| {
                let outcome = match outcomes.iter().find(|o| o.iam_id == id) {
                    Some(o) => match &o.error {
                        None => Outcome::applied().with_transaction(o.transaction_id.clone()),
                        Some(err) => Outcome::failed(err.clone()),
                    },
                    None => Outcome::failed(note(format!(
                        "IBM's answer did not mention {id}; run plan to see whether it took effect"
                    ))),
                };
                (i, outcome)
            })
            .collect(),
        Err(e) => {
            let info = e.info();
            chunk
                .into_iter()
                .map(|(i, _)| (i, Outcome::failed(info.clone())))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Summary, Unmanaged};

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: crate::plan::FORMAT_VERSION,
            account_id: AccountId::new("0123456789abcdef0123456789abcdef"),
            config_digest: "sha256:00".into(),
            live_digest: "sha256:00".into(),
            summary: Summary::of(&changes),
            changes,
            warnings: Vec::new(),
            unmanaged: Unmanaged::default(),
            rosters: BTreeMap::new(),
        }
    }

    fn g(name: &str) -> GroupName {
        GroupName::new(name)
    }

    fn add(group: &str, id: Option<&str>, n: usize) -> Change {
        Change::AddMember {
            group: g(group),
            group_id: id.map(AccessGroupId::new),
            email: Email::new(&format!("a{n}@x.org")),
            iam_id: IamId::new(format!("IBMid-A{n}")),
        }
    }

    fn remove(group: &str, n: usize) -> Change {
        Change::RemoveMember {
            group: g(group),
            group_id: AccessGroupId::new(format!("AccessGroupId-{group}")),
            email: None,
            iam_id: IamId::new(format!("IBMid-R{n}")),
        }
    }

    fn invite(n: usize, groups: &[&str]) -> Change {
        Change::InviteUser {
            email: Email::new(&format!("i{n}@x.org")),
            groups: groups.iter().map(|x| g(x)).collect(),
            replaces_iam_id: None,
        }
    }

    fn count(jobs: &[Job], kind: fn(&Job) -> bool) -> usize {
        jobs.iter().filter(|j| kind(j)).count()
    }

    #[test]
    fn calls_are_batched_by_fifty_members_and_by_identical_group_sets() {
        let mut changes: Vec<Change> = (0..120)
            .map(|n| add("g1", Some("AccessGroupId-g1"), n))
            .collect();
        changes.extend((0..51).map(|n| remove("g2", n)));
        changes.extend((0..15).map(|n| invite(n, &["a"])));
        changes.extend((15..25).map(|n| invite(n, &["a", "b"])));
        let jobs = jobs(&plan(changes), 10);
        assert_eq!(count(&jobs, |j| matches!(j, Job::Add { .. })), 3);
        assert_eq!(count(&jobs, |j| matches!(j, Job::Remove { .. })), 2);
        assert_eq!(count(&jobs, |j| matches!(j, Job::Invite { .. })), 2 + 1);
        let sizes: Vec<usize> = jobs.iter().map(|j| j.indices().len()).collect();
        assert_eq!(sizes, [10, 5, 10, 50, 50, 20, 50, 1]);
    }

    /// Starts every ready job (as `apply` does) and returns the indices of their changes.
    fn start_ready(deps: &mut Dependencies, waiting: &mut Vec<Job>) -> Vec<usize> {
        let mut started = Vec::new();
        let mut still = Vec::new();
        for job in waiting.drain(..) {
            match deps.readiness(&job) {
                Readiness::Ready(_) => started.extend(job.indices()),
                Readiness::Wait => still.push(job),
                Readiness::Skip(_) => {
                    deps.finished(&job.fills(), None);
                }
            }
        }
        *waiting = still;
        started.sort_unstable();
        started
    }

    fn dependencies(jobs: &[Job]) -> Dependencies {
        let mut deps = Dependencies::default();
        deps.ids
            .insert(g("g1"), AccessGroupId::new("AccessGroupId-g1"));
        deps.ids
            .insert(g("g2"), AccessGroupId::new("AccessGroupId-g2"));
        for job in jobs {
            if let Job::Create { group, .. } = job {
                deps.creating.insert(group.clone());
            }
            for group in job.fills() {
                *deps.filling.entry(group.clone()).or_default() += 1;
            }
        }
        deps
    }

    #[test]
    fn removals_wait_for_the_adds_and_invites_into_their_own_group_only() {
        let changes = vec![
            invite(0, &["g1"]),                     // 0
            add("g1", Some("AccessGroupId-g1"), 1), // 1
            remove("g1", 2),                        // 2
            remove("g2", 3),                        // 3
            Change::RemoveUser {
                email: Email::new("u@x.org"),
                iam_id: IamId::new("IBMid-U"),
                groups: vec![g("g1")],
            }, // 4
        ];
        let mut waiting = jobs(&plan(changes), 10);
        let mut deps = dependencies(&waiting);
        // Everything but what touches g1's removals starts at once.
        assert_eq!(start_ready(&mut deps, &mut waiting), [0, 1, 3]);
        // The add finished; the invite into g1 still runs.
        deps.finished(&[&g("g1")], None);
        assert_eq!(start_ready(&mut deps, &mut waiting), Vec::<usize>::new());
        deps.finished(&[&g("g1")], None);
        assert_eq!(start_ready(&mut deps, &mut waiting), [2, 4]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn changes_naming_a_new_group_wait_for_its_id_and_are_skipped_if_the_create_failed() {
        let changes = vec![
            Change::CreateGroup {
                group: g("new"),
                description: None,
            }, // 0
            Change::CreateGroup {
                group: g("bad"),
                description: None,
            }, // 1
            add("new", None, 2),                    // 2
            add("bad", None, 3),                    // 3
            invite(4, &["g1", "new"]),              // 4
            invite(5, &["bad", "g1"]),              // 5
            add("g1", Some("AccessGroupId-g1"), 6), // 6
        ];
        let mut waiting = jobs(&plan(changes), 10);
        let mut deps = dependencies(&waiting);
        assert_eq!(start_ready(&mut deps, &mut waiting), [0, 1, 6]);
        deps.finished(
            &[],
            Some((g("new"), Some(AccessGroupId::new("AccessGroupId-new")))),
        );
        deps.finished(&[], Some((g("bad"), None)));
        // The add and invite naming `bad` are skipped, not started.
        assert_eq!(start_ready(&mut deps, &mut waiting), [2, 4]);
        assert!(waiting.is_empty());
        let job = jobs(&plan(vec![add("new", None, 0)]), 10).pop();
        match job.map(|j| deps.readiness(&j)) {
            Some(Readiness::Ready(ids)) => {
                assert_eq!(ids, [AccessGroupId::new("AccessGroupId-new")]);
            }
            _ => panic!("an add into a created group gets its new id"),
        }
    }
}
