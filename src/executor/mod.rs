//! Runs a plan against the account (SPEC §7), deciding nothing new.
//!
//! The plan says what to change; the executor only chooses how to send it within IBM's
//! limits: creates first (later steps need the new ids), then updates, invites and adds
//! together, then removals (adding before removing means a partial apply never leaves a
//! project emptier than either end state). Within a phase every call is independent and
//! runs concurrently; the client's semaphore bounds requests in flight (`--parallelism`).
//!
//! Batching: adds by `PUT /v2/groups/{id}/members` and removals by
//! `POST /v2/groups/{id}/members/delete`, 50 members a call; invites grouped by identical
//! group sets, [`Options::invite_batch`] emails a call.
//!
//! The one write that is not idempotent is the invite. It is never blindly repeated: after
//! an ambiguous failure (timeout, dropped connection, 5xx) or a 409 "already processing",
//! the user list is re-read, and only the emails that did not land are invited again.
//!
//! After executing, [`verify`] re-reads what was touched and turns any "applied" change
//! that did not take effect into a failure.

mod report;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use tokio::task::JoinSet;

pub use report::{ApplyReport, Entry, ReportSummary, Status, rfc3339};

use crate::iam::{ApiErrorInfo, Client, IamError};
use crate::model::{AccessGroupId, AccountId, Email, GroupName, IamId, MemberKind};
use crate::plan::{Change, Plan};

/// IBM's limit of members in one add or bulk-remove call.
pub const MEMBERS_PER_CALL: usize = 50;
/// How often one invitation batch is sent at most: the first time, and again only for
/// emails that a re-read of the user list proved did not land.
const INVITE_ROUNDS: usize = 5;

#[derive(Clone, Debug)]
pub struct Options {
    /// Emails per invite call (grouped by identical group sets).
    pub invite_batch: usize,
    /// Re-read the touched groups and users afterwards and report what did not take effect.
    pub verify: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            invite_batch: 10,
            verify: true,
        }
    }
}

/// What became of some changes (by index into the plan's changes).
type Outcomes = Vec<(usize, Outcome)>;

#[derive(Clone, Debug)]
struct Outcome {
    status: Status,
    error: Option<ApiErrorInfo>,
}

impl Outcome {
    fn applied() -> Outcome {
        Outcome {
            status: Status::Applied,
            error: None,
        }
    }

    fn failed(info: ApiErrorInfo) -> Outcome {
        Outcome {
            status: Status::Failed,
            error: Some(info),
        }
    }

    fn skipped(why: String) -> Outcome {
        Outcome {
            status: Status::Skipped,
            error: Some(note(why)),
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
    let mut ids = group_ids.clone();
    let mut lost_groups: BTreeSet<GroupName> = BTreeSet::new();

    // Phase 1: create groups; everything that names a new group waits for its id.
    let mut tasks = JoinSet::new();
    for (i, change) in plan.changes.iter().enumerate() {
        if let Change::CreateGroup { group, description } = change {
            let (client, account, group) = (client.clone(), account.clone(), group.clone());
            let description = description.clone().unwrap_or_default();
            tasks.spawn(async move {
                let result = client.create_group(&account, &group, &description).await;
                (i, group, result)
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, group, result)) = joined else {
            continue;
        };
        let outcome = match result {
            Ok(created) => {
                ids.insert(group, created.id);
                Outcome::applied()
            }
            Err(e) => {
                lost_groups.insert(group);
                Outcome::failed(e.info())
            }
        };
        record(&mut report, vec![(i, outcome)]);
    }

    // Phase 2: updates, invites and adds, all independent of one another.
    let mut tasks: JoinSet<Outcomes> = JoinSet::new();
    let mut skipped: Outcomes = Vec::new();
    let mut invites: BTreeMap<Vec<GroupName>, Vec<InviteItem>> = BTreeMap::new();
    let mut adds: BTreeMap<AccessGroupId, Vec<(usize, IamId)>> = BTreeMap::new();
    for (i, change) in plan.changes.iter().enumerate() {
        match change {
            Change::UpdateGroup {
                group_id,
                description,
                ..
            } => {
                let (client, id, description) =
                    (client.clone(), group_id.clone(), description.clone());
                tasks.spawn(async move {
                    let outcome = match client.update_group_description(&id, &description).await {
                        Ok(()) => Outcome::applied(),
                        Err(e) => Outcome::failed(e.info()),
                    };
                    vec![(i, outcome)]
                });
            }
            Change::InviteUser {
                email,
                groups,
                replaces_iam_id,
            } => match groups.iter().find(|g| lost_groups.contains(g)) {
                Some(lost) => skipped.push((i, depends_on_lost(lost))),
                None => invites.entry(groups.clone()).or_default().push(InviteItem {
                    index: i,
                    email: email.clone(),
                    replaces: replaces_iam_id.clone(),
                }),
            },
            Change::AddMember {
                group,
                group_id,
                iam_id,
                ..
            } => match resolve(group, group_id.as_ref(), &ids, &lost_groups) {
                Ok(id) => adds.entry(id).or_default().push((i, iam_id.clone())),
                Err(outcome) => skipped.push((i, outcome)),
            },
            _ => {}
        }
    }
    for (groups, items) in invites {
        let resolved: Result<Vec<AccessGroupId>, &GroupName> = groups
            .iter()
            .map(|g| ids.get(g).cloned().ok_or(g))
            .collect();
        let group_ids = match resolved {
            Ok(group_ids) => group_ids,
            Err(missing) => {
                let why = format!("group {missing} has no id in the account; plan again");
                skipped.extend(
                    items
                        .iter()
                        .map(|it| (it.index, Outcome::skipped(why.clone()))),
                );
                continue;
            }
        };
        for batch in items.chunks(options.invite_batch.max(1)) {
            let (client, account, group_ids, batch) = (
                client.clone(),
                account.clone(),
                group_ids.clone(),
                batch.to_vec(),
            );
            tasks.spawn(async move { invite(&client, &account, batch, &group_ids).await });
        }
    }
    for (group_id, members) in adds {
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            let (client, group_id, chunk) = (client.clone(), group_id.clone(), chunk.to_vec());
            tasks.spawn(async move { add(&client, &group_id, chunk).await });
        }
    }
    record(&mut report, skipped);
    drain(&mut tasks, &mut report).await;

    // Phase 3: removals.
    let mut removals: BTreeMap<AccessGroupId, Vec<(usize, IamId)>> = BTreeMap::new();
    for (i, change) in plan.changes.iter().enumerate() {
        match change {
            Change::RemoveMember {
                group_id, iam_id, ..
            } => removals
                .entry(group_id.clone())
                .or_default()
                .push((i, iam_id.clone())),
            Change::RemoveUser { iam_id, .. } => {
                let (client, account, iam_id) = (client.clone(), account.clone(), iam_id.clone());
                tasks.spawn(async move {
                    let outcome = match client.remove_user(&account, &iam_id).await {
                        Ok(_) => Outcome::applied(),
                        Err(e) => Outcome::failed(e.info()),
                    };
                    vec![(i, outcome)]
                });
            }
            _ => {}
        }
    }
    for (group_id, members) in removals {
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            let (client, group_id, chunk) = (client.clone(), group_id.clone(), chunk.to_vec());
            tasks.spawn(async move { remove(&client, &group_id, chunk).await });
        }
    }
    drain(&mut tasks, &mut report).await;

    if options.verify {
        verify::verify(&mut report, account, &ids, client).await;
    }
    report
}

/// The id of the group an add targets: from the plan, or learned when this run created it.
fn resolve(
    group: &GroupName,
    planned: Option<&AccessGroupId>,
    ids: &BTreeMap<GroupName, AccessGroupId>,
    lost: &BTreeSet<GroupName>,
) -> Result<AccessGroupId, Outcome> {
    if lost.contains(group) {
        return Err(depends_on_lost(group));
    }
    planned.or_else(|| ids.get(group)).cloned().ok_or_else(|| {
        Outcome::skipped(format!(
            "group {group} has no id: it was neither in the account nor created; plan again"
        ))
    })
}

fn depends_on_lost(group: &GroupName) -> Outcome {
    Outcome::skipped(format!("depends on creating group {group}, which failed"))
}

fn record(report: &mut ApplyReport, outcomes: Outcomes) {
    let now = SystemTime::now();
    for (i, outcome) in outcomes {
        if let Some(entry) = report.entries.get_mut(i) {
            entry.at = (outcome.status != Status::Skipped).then_some(now);
            entry.status = outcome.status;
            entry.error = outcome.error;
        }
    }
}

async fn drain(tasks: &mut JoinSet<Outcomes>, report: &mut ApplyReport) {
    while let Some(joined) = tasks.join_next().await {
        // A task that panicked leaves its changes "skipped" with no error: the report
        // still lists them, and verification re-reads the truth.
        if let Ok(outcomes) = joined {
            record(report, outcomes);
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
    let mut last_error: Option<IamError> = None;
    for _ in 0..INVITE_ROUNDS {
        if remaining.is_empty() {
            break;
        }
        let emails: Vec<Email> = remaining.iter().map(|it| it.email.clone()).collect();
        match client.invite_users(account, &emails, group_ids).await {
            Ok(_) => {
                out.extend(remaining.drain(..).map(|it| (it.index, Outcome::applied())));
            }
            Err(e) if e.is_ambiguous() || e.is_conflict() => {
                let listed = match client.list_users(account).await {
                    Ok(users) => users
                        .into_iter()
                        .map(|u| (u.email, u.iam_id))
                        .collect::<Vec<(Email, IamId)>>(),
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
                // Landed: the email is listed under an iam_id other than the failed
                // invitation this one replaces (whatever its state: verification judges
                // that, and inviting again would be a second invitation).
                remaining.retain(|it| {
                    let there = listed
                        .iter()
                        .any(|(email, id)| *email == it.email && Some(id) != it.replaces.as_ref());
                    if there {
                        out.push((it.index, Outcome::applied()));
                    }
                    !there
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
                        None => Outcome::applied(),
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
