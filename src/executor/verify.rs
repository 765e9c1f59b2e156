//! After apply: re-read what was touched and turn any "applied" change that did not take
//! effect into a failure (docs/reconciliation.md).
//!
//! This file only reads. What each change should look like, which reads show it and the
//! verdict are `plan::expect`'s; here is how to read as few round trips as possible.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use super::account::IamRead;
use super::report::{ApplyReport, Problem, Status};
use crate::iam::IamError;
use crate::model::{AccessGroupId, AccountId, Email, GroupName, IamId, LiveMember, UserState};
use crate::plan::expect::{self, Expectation, Observation, Reads, Verdict};

type Users = BTreeMap<Email, (IamId, UserState)>;

/// Verifies every applied entry of `report`. `ids` are the group ids (the account's and
/// the created ones); `invited` the invitees' IAM ids by plan index.
pub(super) async fn verify<R: IamRead>(
    report: &mut ApplyReport,
    account: &AccountId,
    ids: BTreeMap<GroupName, AccessGroupId>,
    invited: &BTreeMap<usize, IamId>,
    reader: &R,
) {
    let expected: Vec<(usize, Expectation)> = report
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.status == Status::Applied)
        .map(|(i, e)| (i, expect::expectation(&e.change, invited.get(&i))))
        .collect();
    let reads = expect::reads(expected.iter().map(|(_, e)| e), &ids);
    let seen = read(reader, account, ids, &reads, &mut report.warnings).await;
    let mut late = Vec::new();
    for (i, expectation) in &expected {
        match expect::judge(expectation, &seen) {
            Verdict::Holds => {}
            Verdict::Late(groups) => late.push(groups.to_string()),
            Verdict::Fails(discrepancy) => {
                if let Some(entry) = report.entries.get_mut(*i) {
                    entry.status = Status::Failed;
                    entry.error = Some(Problem::NotInEffect(discrepancy));
                }
            }
        }
    }
    report.warnings.extend(late);
}

/// Makes `reads`, noting in `warnings` what could not be read.
async fn read<R: IamRead>(
    reader: &R,
    account: &AccountId,
    ids: BTreeMap<GroupName, AccessGroupId>,
    reads: &Reads,
    warnings: &mut Vec<String>,
) -> Observation {
    let by_id_wanted = reads.users
        && reads.every_user_known
        && one_by_one(reader, reads.user_ids.len(), reads.groups.len());
    // The user listing is a cursor chain, the longest path of the verification: when it
    // runs, the member pages are bulk requests so that it keeps a slot to itself. Without
    // it, they may take every slot.
    let bulk = reads.users && !by_id_wanted;
    let mut pages = JoinSet::new();
    for id in &reads.groups {
        let (reader, id) = (reader.clone(), id.clone());
        pages.spawn(async move {
            let members = reader.list_members(&id, bulk).await;
            (id, members)
        });
    }
    let users = read_users(reader, account, reads, by_id_wanted, warnings).await;
    let mut seen = Observation {
        ids,
        users,
        ..Observation::default()
    };
    while let Some(joined) = pages.join_next().await {
        let Ok((id, result)) = joined else { continue };
        observe(&mut seen, id, result, warnings);
    }
    seen
}

/// The users, when `reads` needs them: one by one when `by_id`, else (or if that
/// failed) by re-listing the account.
async fn read_users<R: IamRead>(
    reader: &R,
    account: &AccountId,
    reads: &Reads,
    by_id: bool,
    warnings: &mut Vec<String>,
) -> Option<Users> {
    if by_id && let Some(users) = read_one_by_one(reader, account, &reads.user_ids).await {
        return Some(users);
    }
    if !reads.users {
        return None;
    }
    match reader.list_users(account).await {
        Ok(users) => Some(
            users
                .into_iter()
                .map(|u| (u.email, (u.iam_id, u.state)))
                .collect(),
        ),
        Err(e) => {
            warnings.push(format!(
                "could not re-read the users to verify the apply: {e}"
            ));
            None
        }
    }
}

fn observe(
    seen: &mut Observation,
    id: AccessGroupId,
    members: Result<Vec<LiveMember>, IamError>,
    warnings: &mut Vec<String>,
) {
    match members {
        Ok(list) => {
            seen.members
                .insert(id, list.into_iter().map(|m| m.iam_id).collect());
        }
        Err(e) if e.status() == Some(404) => {
            seen.gone.insert(id);
        }
        Err(e) => warnings.push(format!(
            "could not re-read group {id} to verify the apply: {e}"
        )),
    }
}

/// Whether to read the `users` to check one by one (`GET .../users/{iam_id}`, all at once)
/// rather than re-list the account (a cursor chain of ⌈account users / 100⌉ dependent
/// round trips). Decision: one by one when that takes fewer round trips — together with
/// the (at least `groups`) member pages sharing the slots — than the chain, judged by the
/// size of the account this client last listed (plan and apply list it first). An
/// account never listed by this client is re-listed, as before.
fn one_by_one<R: IamRead>(reader: &R, users: usize, groups: usize) -> bool {
    let Some(listed) = reader.users_last_listed() else {
        return false;
    };
    let chain = listed.div_ceil(100).max(1);
    let spread = (users + groups).div_ceil(reader.parallelism().max(1));
    users > 0 && spread < chain
}

/// Reads each user by IAM id, at once; `None` if any read failed (the caller re-lists).
async fn read_one_by_one<R: IamRead>(
    reader: &R,
    account: &AccountId,
    users: &BTreeSet<IamId>,
) -> Option<Users> {
    let mut tasks = JoinSet::new();
    for id in users {
        let (reader, account, id) = (reader.clone(), account.clone(), id.clone());
        tasks.spawn(async move { reader.get_user(&account, &id).await });
    }
    let mut found = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(Some(user))) => {
                found.insert(user.email, (user.iam_id, user.state));
            }
            // Not in the account: absent from the map, as from a listing.
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::debug!("reading a user to verify the apply failed, re-listing: {e}");
                return None;
            }
            Err(_) => return None,
        }
    }
    Some(found)
}
