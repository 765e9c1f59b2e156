//! The plan cut into calls: each [`Job`] is one call (or one invitation batch) with the
//! plan indices it serves, batched to IBM's limits (docs/reconciliation.md), and
//! what became of each ([`Done`]). Role, policy and rule changes are one job each; what
//! they wait for is named by [`Job::grants`], [`Job::revokes`], [`Job::creates_role`] and
//! [`Job::needs_roles`].

use std::collections::BTreeMap;

use super::report::{Problem, Status};
use crate::iam::MEMBERS_PER_CALL;
use crate::model::{
    AccessGroupId, DesiredRole, DesiredRule, Email, GroupName, IamId, PolicyId, PolicyTarget,
    PolicyVersion, RoleCrn, RoleId, RoleName, RuleId,
};
use crate::plan::{Change, Plan, Target};

/// One call (or one invitation batch) of the apply.
#[derive(Clone, Debug)]
pub(super) enum Job {
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
    /// A custom role the file declares.
    CreateRole { index: usize, role: DesiredRole },
    UpdateRole {
        index: usize,
        role_id: RoleId,
        role: DesiredRole,
    },
    /// One access policy (the grant of one `access` entry).
    CreatePolicy {
        index: usize,
        group: GroupName,
        /// `None` for a group this apply creates.
        group_id: Option<AccessGroupId>,
        target: PolicyTarget,
        roles: Vec<RoleName>,
        role_ids: Vec<RoleCrn>,
    },
    UpdatePolicy {
        index: usize,
        group: GroupName,
        group_id: AccessGroupId,
        policy_id: PolicyId,
        version: PolicyVersion,
        target: PolicyTarget,
        roles: Vec<RoleName>,
        role_ids: Vec<RoleCrn>,
        /// It drops a role the policy granted: a revocation, which waits for the grants.
        reduces: bool,
    },
    RemovePolicy {
        index: usize,
        group: GroupName,
        policy_id: PolicyId,
        version: PolicyVersion,
    },
    CreateRule {
        index: usize,
        group: GroupName,
        /// `None` for a group this apply creates.
        group_id: Option<AccessGroupId>,
        rule: DesiredRule,
    },
    UpdateRule {
        index: usize,
        group: GroupName,
        group_id: AccessGroupId,
        rule_id: RuleId,
        rule: DesiredRule,
    },
    RemoveRule {
        index: usize,
        group: GroupName,
        group_id: AccessGroupId,
        rule_id: RuleId,
    },
}

/// One email of an invitation batch.
#[derive(Clone, Debug)]
pub(super) struct InviteItem {
    pub index: usize,
    pub email: Email,
    /// A failed (`ERROR_WHILE_PROCESSING`) invitation to remove first.
    pub replaces: Option<IamId>,
}

impl Job {
    /// The plan indices of the changes this job carries out.
    pub fn indices(&self) -> Vec<usize> {
        match self {
            Job::Create { index, .. }
            | Job::Update { index, .. }
            | Job::RemoveUser { index, .. }
            | Job::CreateRole { index, .. }
            | Job::UpdateRole { index, .. }
            | Job::CreatePolicy { index, .. }
            | Job::UpdatePolicy { index, .. }
            | Job::RemovePolicy { index, .. }
            | Job::CreateRule { index, .. }
            | Job::UpdateRule { index, .. }
            | Job::RemoveRule { index, .. } => vec![*index],
            Job::Invite { items, .. } => items.iter().map(|it| it.index).collect(),
            Job::Add { members, .. } | Job::Remove { members, .. } => {
                members.iter().map(|(i, _)| *i).collect()
            }
        }
    }

    /// The groups this job puts people into. Removals from a group wait until every job
    /// that fills it has finished: adding before removing means a partial apply never
    /// leaves a project emptier than either end state (docs/reconciliation.md).
    pub fn fills(&self) -> Vec<&GroupName> {
        match self {
            Job::Invite { groups, .. } => groups.iter().collect(),
            Job::Add { group, .. } => vec![group],
            _ => Vec::new(),
        }
    }

    /// The group this job creates.
    pub fn creates(&self) -> Option<&GroupName> {
        match self {
            Job::Create { group, .. } => Some(group),
            _ => None,
        }
    }

    /// The custom role this job creates.
    pub fn creates_role(&self) -> Option<&RoleName> {
        match self {
            Job::CreateRole { role, .. } => Some(&role.name),
            _ => None,
        }
    }

    /// The roles a policy job grants: one this apply creates must exist first.
    pub fn needs_roles(&self) -> &[RoleName] {
        match self {
            Job::CreatePolicy { roles, .. } | Job::UpdatePolicy { roles, .. } => roles,
            _ => &[],
        }
    }

    /// The group this job grants access in (a policy created or widened, a rule created
    /// or replaced). Revocations in the group wait for it: grants before revocations, so
    /// a partial apply never leaves a project with less access than either end state.
    pub fn grants(&self) -> Option<&GroupName> {
        match self {
            Job::CreatePolicy { group, .. }
            | Job::UpdatePolicy {
                group,
                reduces: false,
                ..
            }
            | Job::CreateRule { group, .. }
            | Job::UpdateRule { group, .. } => Some(group),
            _ => None,
        }
    }

    /// The group this job takes access away in: a policy or rule removed, a policy
    /// replaced with a role fewer.
    pub fn revokes(&self) -> Option<&GroupName> {
        match self {
            Job::RemovePolicy { group, .. }
            | Job::RemoveRule { group, .. }
            | Job::UpdatePolicy {
                group,
                reduces: true,
                ..
            } => Some(group),
            _ => None,
        }
    }
}

type Members = Vec<(usize, IamId)>;

/// The plan cut into calls: adds and removals per group in chunks of
/// [`MEMBERS_PER_CALL`], invitations per identical group set in batches of `invite_batch`.
pub(super) fn jobs(plan: &Plan, invite_batch: usize) -> Vec<Job> {
    let mut cut = Cut::default();
    for (index, change) in plan.changes.iter().enumerate() {
        cut.take(index, change);
    }
    cut.into_jobs(invite_batch.max(1))
}

/// The changes gathered by the call that will carry them.
#[derive(Default)]
struct Cut {
    /// Changes that are one call each.
    singles: Vec<Job>,
    invites: BTreeMap<Vec<GroupName>, Vec<InviteItem>>,
    adds: BTreeMap<GroupName, (Option<AccessGroupId>, Members)>,
    removals: BTreeMap<GroupName, (AccessGroupId, Members)>,
}

impl Cut {
    fn take(&mut self, index: usize, change: &Change) {
        match change {
            Change::CreateRole { .. }
            | Change::UpdateRole { .. }
            | Change::CreatePolicy { .. }
            | Change::UpdatePolicy { .. }
            | Change::RemovePolicy { .. }
            | Change::CreateRule { .. }
            | Change::UpdateRule { .. }
            | Change::RemoveRule { .. } => self.singles.extend(access_job(index, change)),
            Change::CreateGroup { group, description } => self.singles.push(Job::Create {
                index,
                group: group.clone(),
                description: description.clone().unwrap_or_default(),
            }),
            Change::UpdateGroup {
                group_id,
                description,
                ..
            } => self.singles.push(Job::Update {
                index,
                group_id: group_id.clone(),
                description: description.clone(),
            }),
            Change::InviteUser {
                email,
                groups,
                replaces_iam_id,
                ..
            } => self
                .invites
                .entry(groups.clone())
                .or_default()
                .push(InviteItem {
                    index,
                    email: email.clone(),
                    replaces: replaces_iam_id.clone(),
                }),
            Change::AddMember {
                group,
                group_id,
                iam_id,
                ..
            } => member(&mut self.adds, group, group_id, index, iam_id),
            Change::RemoveMember {
                group,
                group_id,
                iam_id,
                ..
            } => member(&mut self.removals, group, group_id, index, iam_id),
            Change::RemoveUser { iam_id, groups, .. } => self.singles.push(Job::RemoveUser {
                index,
                iam_id: iam_id.clone(),
                groups: groups.clone(),
            }),
        }
    }

    fn into_jobs(self, invite_batch: usize) -> Vec<Job> {
        let mut jobs = self.singles;
        for (groups, items) in self.invites {
            jobs.extend(items.chunks(invite_batch).map(|batch| Job::Invite {
                groups: groups.clone(),
                items: batch.to_vec(),
            }));
        }
        for (group, (group_id, members)) in self.adds {
            jobs.extend(members.chunks(MEMBERS_PER_CALL).map(|chunk| Job::Add {
                group: group.clone(),
                group_id: group_id.clone(),
                members: chunk.to_vec(),
            }));
        }
        for (group, (group_id, members)) in self.removals {
            jobs.extend(members.chunks(MEMBERS_PER_CALL).map(|chunk| Job::Remove {
                group: group.clone(),
                group_id: group_id.clone(),
                members: chunk.to_vec(),
            }));
        }
        jobs
    }
}

/// A role, policy or rule change as the one call that makes it; `None` for the other
/// kinds.
fn access_job(index: usize, change: &Change) -> Option<Job> {
    Some(match change.clone() {
        Change::CreateRole {
            role,
            service,
            display_name,
            description,
            actions,
        } => Job::CreateRole {
            index,
            role: DesiredRole {
                name: role,
                service,
                display_name,
                description,
                actions: actions.into_iter().collect(),
            },
        },
        Change::UpdateRole {
            role,
            role_id,
            service,
            display_name,
            description,
            actions,
            ..
        } => Job::UpdateRole {
            index,
            role_id,
            role: DesiredRole {
                name: role,
                service,
                display_name,
                description: Some(description),
                actions: actions.into_iter().collect(),
            },
        },
        Change::CreatePolicy {
            group,
            group_id,
            target,
            roles,
            role_ids,
        } => Job::CreatePolicy {
            index,
            group,
            group_id,
            target: policy_target(&target),
            roles,
            role_ids,
        },
        Change::UpdatePolicy {
            group,
            group_id,
            policy_id,
            api_version,
            target,
            roles,
            role_ids,
            ..
        } => Job::UpdatePolicy {
            index,
            group,
            group_id,
            policy_id,
            version: api_version,
            target: policy_target(&target),
            roles,
            role_ids,
            reduces: change.is_removal(),
        },
        Change::RemovePolicy {
            group,
            policy_id,
            api_version,
            ..
        } => Job::RemovePolicy {
            index,
            group,
            policy_id,
            version: api_version,
        },
        Change::CreateRule {
            group,
            group_id,
            rule,
            realm,
            expiration_hours,
            conditions,
        } => Job::CreateRule {
            index,
            group,
            group_id,
            rule: DesiredRule {
                name: rule,
                realm,
                expiration_hours,
                conditions,
            },
        },
        Change::UpdateRule {
            group,
            group_id,
            rule,
            rule_id,
            realm,
            expiration_hours,
            conditions,
            ..
        } => Job::UpdateRule {
            index,
            group,
            group_id,
            rule_id,
            rule: DesiredRule {
                name: rule,
                realm,
                expiration_hours,
                conditions,
            },
        },
        Change::RemoveRule {
            group,
            group_id,
            rule_id,
            ..
        } => Job::RemoveRule {
            index,
            group,
            group_id,
            rule_id,
        },
        _ => return None,
    })
}

/// The ids behind a plan's target, as IBM stores them.
pub(super) fn policy_target(target: &Target) -> PolicyTarget {
    PolicyTarget {
        service: target.service.clone(),
        instance_id: target.instance_id.clone(),
        resource_group_id: target.resource_group_id.clone(),
    }
}

/// Files a member change under its group (whose id the group's first change gives).
fn member<Id: Clone>(
    by_group: &mut BTreeMap<GroupName, (Id, Members)>,
    group: &GroupName,
    group_id: &Id,
    index: usize,
    iam_id: &IamId,
) {
    by_group
        .entry(group.clone())
        .or_insert_with(|| (group_id.clone(), Vec::new()))
        .1
        .push((index, iam_id.clone()));
}

/// What became of some changes (by index into the plan's changes).
pub(super) type Outcomes = Vec<(usize, Outcome)>;

/// What became of one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Outcome {
    pub status: Status,
    pub problem: Option<Problem>,
    /// An invitee's IAM id, as IBM's answer (or a re-read) gave it: verification reads the
    /// user by it.
    pub user: Option<IamId>,
    /// The transaction id of the call that applied the change, for the audit log.
    pub transaction_id: Option<String>,
}

impl Outcome {
    pub fn applied(transaction_id: Option<String>) -> Outcome {
        Outcome {
            status: Status::Applied,
            problem: None,
            user: None,
            transaction_id,
        }
    }

    pub fn invited(user: Option<IamId>, transaction_id: Option<String>) -> Outcome {
        Outcome {
            user,
            ..Outcome::applied(transaction_id)
        }
    }

    pub fn failed(problem: Problem) -> Outcome {
        Outcome {
            status: Status::Failed,
            problem: Some(problem),
            user: None,
            transaction_id: None,
        }
    }

    pub fn skipped(why: super::report::SkipReason) -> Outcome {
        Outcome {
            status: Status::Skipped,
            problem: Some(Problem::Skipped(why)),
            user: None,
            transaction_id: None,
        }
    }
}

/// A job's result.
#[derive(Debug)]
pub(super) struct Done {
    pub outcomes: Outcomes,
    /// For a create: the new group's id, `None` when the create failed.
    pub created: Option<AccessGroupId>,
}

impl Done {
    pub fn of(outcomes: Outcomes) -> Done {
        Done {
            outcomes,
            created: None,
        }
    }
}
