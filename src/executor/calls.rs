//! Carrying out one job: the writer calls it makes, and IBM's answers read into outcomes.
//! The writes of membership that must not be repeated — group creates and invitations —
//! go through [`send_once`]; their [`NonIdempotent`] impls are here (those of roles,
//! policies and rules are in `access`).

use std::collections::BTreeMap;
use std::fmt;

use super::account::IamWrite;
use super::jobs::{Done, InviteItem, Job, Outcome, Outcomes};
use super::report::{Problem, SkipReason, Unknown};
use super::resend::{NonIdempotent, Seen, send_once};
use crate::iam::{CreatedGroup, IamError, MemberOutcome};
use crate::model::{AccessGroupId, AccountId, Email, GroupName, IamId, MemberKind};

/// Makes the job's call(s). `ids` are the ids of the groups an invite or add names.
pub(super) async fn run<W: IamWrite>(
    job: Job,
    ids: Vec<AccessGroupId>,
    writer: W,
    account: AccountId,
) -> Done {
    match job {
        Job::Create {
            index,
            group,
            description,
        } => create(&writer, &account, index, group, description).await,
        Job::Update {
            index,
            group_id,
            description,
        } => {
            let result = writer
                .update_group_description(&group_id, &description)
                .await;
            Done::of(vec![(index, single(result))])
        }
        Job::Invite { items, .. } => Done::of(invite(&writer, &account, items, &ids).await),
        Job::Add { group, members, .. } => match ids.first() {
            Some(id) => Done::of(add(&writer, id, members).await),
            // Readiness always resolves the id; never report an unmade call as applied.
            None => {
                let why = Outcome::skipped(SkipReason::NoGroupId(group));
                Done::of(members.iter().map(|(i, _)| (*i, why.clone())).collect())
            }
        },
        Job::Remove {
            group_id, members, ..
        } => Done::of(remove(&writer, &group_id, members).await),
        Job::RemoveUser { index, iam_id, .. } => {
            let result = writer.remove_user(&account, &iam_id).await;
            Done::of(vec![(index, single(result.map(|r| r.transaction_id)))])
        }
        access => super::access::run(access, ids, writer, account).await,
    }
}

/// The outcome of a call that makes one change, given its transaction id.
pub(super) fn single(result: Result<Option<String>, IamError>) -> Outcome {
    match result {
        Ok(transaction_id) => Outcome::applied(transaction_id),
        Err(e) => Outcome::failed(Problem::Api(e.info())),
    }
}

async fn create<W: IamWrite>(
    writer: &W,
    account: &AccountId,
    index: usize,
    group: GroupName,
    description: String,
) -> Done {
    let write = GroupCreate { writer, account };
    let item = NewGroup {
        name: group,
        description,
    };
    let settled = send_once(writer, &write, vec![item]).await;
    match settled.into_iter().next().map(|(_, result)| result) {
        Some(Ok(created)) => Done {
            outcomes: vec![(index, Outcome::applied(created.transaction_id))],
            created: Some(created.id),
        },
        Some(Err(problem)) => Done::of(vec![(index, Outcome::failed(problem))]),
        None => Done::of(vec![(
            index,
            Outcome::failed(Problem::Unknown(Unknown::Lost)),
        )]),
    }
}

/// A group this apply creates.
struct NewGroup {
    name: GroupName,
    description: String,
}

impl fmt::Display for NewGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.name.fmt(f)
    }
}

/// Group creates: found by name in the group listing. The first round's 409 means the
/// name was taken before this apply began (a failure: plan again); a later round's is an
/// earlier round's create that landed (the default [`NonIdempotent::may_have_landed`]).
struct GroupCreate<'a, W> {
    writer: &'a W,
    account: &'a AccountId,
}

impl<W: IamWrite> NonIdempotent for GroupCreate<'_, W> {
    type Item = NewGroup;
    type Landed = CreatedGroup;
    const WRITE: &'static str = "the create";
    const READ: &'static str = "the groups";

    /// One call a group (IBM's create takes one); the executor sends one at a time.
    async fn send(&self, items: &[NewGroup]) -> Result<Vec<CreatedGroup>, IamError> {
        let mut created = Vec::with_capacity(items.len());
        for item in items {
            let group = self
                .writer
                .create_group(self.account, &item.name, &item.description)
                .await?;
            created.push(group);
        }
        Ok(created)
    }

    async fn find(&self, items: &[NewGroup]) -> Result<Vec<Seen<CreatedGroup>>, IamError> {
        let groups = self.writer.list_groups(self.account).await?;
        Ok(items
            .iter()
            .map(|item| match groups.iter().find(|g| g.name == item.name) {
                Some(g) => Seen::Landed(CreatedGroup {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    transaction_id: None,
                }),
                None => Seen::Missing,
            })
            .collect())
    }
}

impl fmt::Display for InviteItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.email.fmt(f)
    }
}

/// What became of one invited email.
struct Invited {
    iam_id: Option<IamId>,
    transaction_id: Option<String>,
}

/// Invitations of one batch (same groups): found by email in the user listing. A 409
/// "already in processing state" in any round means an invitation of one of them landed.
struct Invitation<'a, W> {
    writer: &'a W,
    account: &'a AccountId,
    groups: &'a [AccessGroupId],
}

impl<W: IamWrite> NonIdempotent for Invitation<'_, W> {
    type Item = InviteItem;
    type Landed = Invited;
    const WRITE: &'static str = "the invitation";
    const READ: &'static str = "the users";

    async fn send(&self, items: &[InviteItem]) -> Result<Vec<Invited>, IamError> {
        let emails: Vec<Email> = items.iter().map(|it| it.email.clone()).collect();
        let answered = self
            .writer
            .invite_users(self.account, &emails, self.groups)
            .await?;
        let transaction_id = answered.first().and_then(|u| u.transaction_id.clone());
        let ids: BTreeMap<Email, IamId> = answered
            .into_iter()
            .filter_map(|u| Some((u.email, u.iam_id?)))
            .collect();
        Ok(items
            .iter()
            .map(|it| Invited {
                iam_id: ids.get(&it.email).cloned(),
                transaction_id: transaction_id.clone(),
            })
            .collect())
    }

    /// Landed: the email is listed, in whatever state (verification judges that). A
    /// failed invitation this one replaces was removed before the first round, so a
    /// listing now is the new one — even under the same iam_id, which IBM keeps per
    /// person. Inviting a listed email again would be a second invitation, which is what
    /// the protocol exists to prevent.
    async fn find(&self, items: &[InviteItem]) -> Result<Vec<Seen<Invited>>, IamError> {
        let listed: BTreeMap<Email, IamId> = self
            .writer
            .list_users(self.account)
            .await?
            .into_iter()
            .map(|u| (u.email, u.iam_id))
            .collect();
        Ok(items
            .iter()
            .map(|it| match listed.get(&it.email) {
                Some(id) => Seen::Landed(Invited {
                    iam_id: Some(id.clone()),
                    transaction_id: None,
                }),
                None => Seen::Missing,
            })
            .collect())
    }

    fn may_have_landed(&self, error: &IamError, _after_unsure: bool) -> bool {
        error.is_ambiguous() || error.is_conflict()
    }
}

/// Invites one batch (same groups), never repeating an invitation that may have landed.
async fn invite<W: IamWrite>(
    writer: &W,
    account: &AccountId,
    batch: Vec<InviteItem>,
    groups: &[AccessGroupId],
) -> Outcomes {
    let mut out = Vec::new();
    let mut ready = Vec::with_capacity(batch.len());
    for item in batch {
        match replace(writer, account, &item).await {
            Ok(()) => ready.push(item),
            Err(problem) => out.push((item.index, Outcome::failed(problem))),
        }
    }
    let write = Invitation {
        writer,
        account,
        groups,
    };
    for (item, result) in send_once(writer, &write, ready).await {
        let outcome = match result {
            Ok(invited) => Outcome::invited(invited.iam_id, invited.transaction_id),
            Err(problem) => Outcome::failed(problem),
        };
        out.push((item.index, outcome));
    }
    out
}

/// Removes the failed (`ERROR_WHILE_PROCESSING`) invitation an invite replaces: IBM would
/// answer a re-invitation of an email it still lists with a no-op.
async fn replace<W: IamWrite>(
    writer: &W,
    account: &AccountId,
    item: &InviteItem,
) -> Result<(), Problem> {
    let Some(old) = &item.replaces else {
        return Ok(());
    };
    match writer.remove_user(account, old).await {
        Ok(_) => Ok(()),
        // Gone already (someone cancelled it in the console): nothing stands in the way.
        Err(e) if e.status() == Some(404) => Ok(()),
        Err(e) => Err(Problem::Replacing {
            invitation: old.clone(),
            cause: e.info(),
        }),
    }
}

/// One add call (≤ 50 members), read member by member.
async fn add<W: IamWrite>(
    writer: &W,
    group: &AccessGroupId,
    chunk: Vec<(usize, IamId)>,
) -> Outcomes {
    let members: Vec<(IamId, MemberKind)> = chunk
        .iter()
        .map(|(_, id)| (id.clone(), MemberKind::User))
        .collect();
    per_member(chunk, writer.add_members(group, &members).await)
}

/// One bulk-remove call (≤ 50 members), read member by member.
async fn remove<W: IamWrite>(
    writer: &W,
    group: &AccessGroupId,
    chunk: Vec<(usize, IamId)>,
) -> Outcomes {
    let ids: Vec<IamId> = chunk.iter().map(|(_, id)| id.clone()).collect();
    per_member(chunk, writer.remove_members(group, &ids).await)
}

fn per_member(
    chunk: Vec<(usize, IamId)>,
    result: Result<Vec<MemberOutcome>, IamError>,
) -> Outcomes {
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(e) => {
            let failed = Outcome::failed(Problem::Api(e.info()));
            return chunk
                .into_iter()
                .map(|(i, _)| (i, failed.clone()))
                .collect();
        }
    };
    chunk
        .into_iter()
        .map(|(i, id)| {
            let outcome = match outcomes.iter().find(|o| o.iam_id == id) {
                Some(o) => match &o.error {
                    None => Outcome::applied(o.transaction_id.clone()),
                    Some(err) => Outcome::failed(Problem::Api(err.clone())),
                },
                None => Outcome::failed(Problem::Unknown(Unknown::NotMentioned(id.to_string()))),
            };
            (i, outcome)
        })
        .collect()
}
