//! After apply: re-read what was touched and turn any "applied" change that did not take
//! effect into a failure (docs/reconciliation.md).
//!
//! This file only reads. What each change should look like, which reads show it and the
//! verdict are `plan::expect`'s; here is how to read as few round trips as possible:
//! member pages of the touched groups, the users (re-listed or one by one), the touched
//! groups' policies (per group, or in one account-wide listing from two groups on, as
//! acquisition chooses), their rules, and the roles of the touched custom roles'
//! services — all at once.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use super::account::IamRead;
use super::report::{ApplyReport, Problem, Status};
use crate::iam::{IamError, PolicyListing, policy_listing};
use crate::model::{
    AccessGroupId, AccountId, Email, GroupName, IamId, LiveMember, LivePolicy, LiveRole, LiveRule,
    ServiceName, UserState,
};
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
    let mut access = JoinSet::new();
    spawn_access_reads(&mut access, reader, account, reads, bulk);
    let users = read_users(reader, account, reads, by_id_wanted, warnings).await;
    let mut seen = Observation {
        ids,
        users,
        ..Observation::default()
    };
    // A read that did not complete leaves its part unobserved, and an unobserved change
    // is judged to hold: say so, rather than verify by silence.
    let unfinished = |warnings: &mut Vec<String>, e: tokio::task::JoinError| {
        warnings.push(format!(
            "a read to verify the apply did not complete ({e}); what it would have checked is not verified: run `orgsync plan` to see the account as it is"
        ));
    };
    while let Some(joined) = pages.join_next().await {
        match joined {
            Ok((id, result)) => observe(&mut seen, id, result, warnings),
            Err(e) => unfinished(warnings, e),
        }
    }
    while let Some(joined) = access.join_next().await {
        match joined {
            Ok(read) => observe_access(&mut seen, reads, read, warnings),
            Err(e) => unfinished(warnings, e),
        }
    }
    seen
}

/// What one read of policies, rules or roles returned.
enum AccessRead {
    Policies(Option<AccessGroupId>, Result<Vec<LivePolicy>, IamError>),
    Rules(AccessGroupId, Result<Vec<LiveRule>, IamError>),
    Roles(ServiceName, Result<Vec<LiveRole>, IamError>),
}

fn spawn_access_reads<R: IamRead>(
    tasks: &mut JoinSet<AccessRead>,
    reader: &R,
    account: &AccountId,
    reads: &Reads,
    bulk: bool,
) {
    let wide = policy_listing(reads.policies_of.len()) == PolicyListing::AccountWide;
    let groups: Vec<Option<AccessGroupId>> = if wide {
        vec![None]
    } else {
        reads.policies_of.iter().cloned().map(Some).collect()
    };
    for group in groups {
        let (reader, account) = (reader.clone(), account.clone());
        tasks.spawn(async move {
            let found = reader.list_policies(&account, group.as_ref(), bulk).await;
            AccessRead::Policies(group, found)
        });
    }
    for group in &reads.rules_of {
        let (reader, group) = (reader.clone(), group.clone());
        tasks.spawn(async move {
            let found = reader.list_rules(&group).await;
            AccessRead::Rules(group, found)
        });
    }
    for service in &reads.role_services {
        let (reader, account, service) = (reader.clone(), account.clone(), service.clone());
        tasks.spawn(async move {
            let found = reader.list_roles(&account, &service).await;
            AccessRead::Roles(service, found)
        });
    }
}

/// Files a read of policies, rules or roles; a failed one becomes a warning, and nothing
/// is concluded from it. An account-wide policy listing answers for every touched group.
fn observe_access(
    seen: &mut Observation,
    reads: &Reads,
    read: AccessRead,
    warnings: &mut Vec<String>,
) {
    let warn =
        |what: String, e: IamError| format!("could not re-read {what} to verify the apply: {e}");
    match read {
        AccessRead::Policies(group, Ok(list)) => {
            let groups: Vec<&AccessGroupId> = match &group {
                Some(g) => vec![g],
                None => reads.policies_of.iter().collect(),
            };
            for g in groups {
                let mine = list.iter().filter(|p| p.group == *g).cloned().collect();
                seen.policies.insert(g.clone(), mine);
            }
        }
        AccessRead::Policies(group, Err(e)) => warnings.push(warn(
            match group {
                Some(g) => format!("the policies of group {g}"),
                None => "the account's policies".into(),
            },
            e,
        )),
        AccessRead::Rules(group, Ok(list)) => {
            seen.rules.insert(group, list);
        }
        AccessRead::Rules(group, Err(e)) => {
            warnings.push(warn(format!("the rules of group {group}"), e));
        }
        AccessRead::Roles(service, Ok(list)) => {
            seen.roles.insert(service, list);
        }
        AccessRead::Roles(service, Err(e)) => {
            warnings.push(warn(format!("the roles of {service}"), e));
        }
    }
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
