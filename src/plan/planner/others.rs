//! What a plan says about everything beyond the managed groups (docs/reconciliation.md,
//! Leaving the account, and The identity that runs orgsync): the groups the file does not
//! manage that a departing user leaves, what the identity running orgsync loses, and
//! whether it may invite and remove users at all.
//!
//! Removing a user from the account (and replacing a failed invitation, which removes the
//! failed entry first) takes them out of every access group, managed or not. The plan
//! names those groups from the live state's `user_groups`, which commands fill for
//! exactly the users a first plan takes out (`Plan::leaving_the_account`), then plan again.

use std::collections::{BTreeMap, HashSet};

use crate::model::{AccessGroupId, GroupName, GroupRef, Membership, is_public_access};

use super::super::change::Change;
use super::super::warning::{AccessLoss, Warning};
use super::{Planner, sort_key, who};

impl<'a> Planner<'a> {
    /// Fills `other_groups` of every removal from the account and every replaced failed
    /// invitation; warns once about the users whose groups were not read.
    pub(super) fn plan_other_groups(&mut self) {
        let leaves = |c: &Change| {
            matches!(
                c,
                Change::RemoveUser { .. }
                    | Change::InviteUser {
                        replaces_iam_id: Some(_),
                        ..
                    }
            )
        };
        if !self.decided.changes.iter().any(leaves) {
            return;
        }
        let managed: HashSet<&AccessGroupId> = (self.groups.iter())
            .filter_map(|(_, g)| g.live.map(|lg| &lg.id))
            .collect();
        let mut unread = Vec::new();
        for change in &mut self.decided.changes {
            let (email, iam_id, other_groups) = match change {
                Change::RemoveUser {
                    email,
                    iam_id,
                    other_groups,
                    ..
                } => (&*email, &*iam_id, other_groups),
                Change::InviteUser {
                    email,
                    replaces_iam_id: Some(old),
                    other_groups,
                    ..
                } => (&*email, &*old, other_groups),
                _ => continue,
            };
            match self.live.user_groups.get(iam_id) {
                Some(groups) => *other_groups = unmanaged(groups, &managed),
                None => unread.push(who((!email.as_str().is_empty()).then_some(email), iam_id)),
            }
        }
        if !unread.is_empty() {
            unread.sort_by(|a, b| a.iam_id.cmp(&b.iam_id));
            self.decided
                .warnings
                .push(Warning::OtherGroupsNotRead { who: unread });
        }
    }

    /// Warns per managed group the caller is a member of whose access the plan reduces.
    pub(super) fn warn_caller_access(&mut self) {
        let mut losses: BTreeMap<&GroupName, Vec<(super::SortKey, AccessLoss)>> = BTreeMap::new();
        for change in &self.decided.changes {
            let Some((group, loss)) = loss_of(change) else {
                continue;
            };
            let Some(membership) = self.caller_membership(group) else {
                continue;
            };
            // A rule only ever made dynamic members; a static member keeps its place.
            if matches!(loss, AccessLoss::Rule { .. }) && !membership.dynamic {
                continue;
            }
            if !apply_may_need(&loss) {
                continue;
            }
            losses
                .entry(group)
                .or_default()
                .push((sort_key(change), loss));
        }
        for (group, mut found) in losses {
            found.sort_by(|a, b| a.0.cmp(&b.0));
            self.decided.warnings.push(Warning::CallerAccessReduced {
                group: group.clone(),
                caller: self.live.caller.clone(),
                losses: found.into_iter().map(|(_, loss)| loss).collect(),
            });
        }
    }

    /// How the caller is a member of a managed group, if it is.
    fn caller_membership(&self, group: &GroupName) -> Option<CallerMembership> {
        let g = self.groups.find(group)?;
        let mut found: Option<CallerMembership> = None;
        for member in &self.groups[g].members {
            if member.member.iam_id == self.live.caller {
                let dynamic = member.member.membership == Membership::Dynamic;
                let entry = found.get_or_insert(CallerMembership { dynamic: false });
                entry.dynamic |= dynamic;
            }
        }
        found
    }

    /// Warns when orgsync runs as a service ID and the plan invites or removes users.
    pub(super) fn warn_caller_kind(&mut self) {
        if !self.live.caller.is_service_id() {
            return;
        }
        let count =
            |kind: fn(&Change) -> bool| self.decided.changes.iter().filter(|c| kind(c)).count();
        let invites = count(|c| matches!(c, Change::InviteUser { .. }));
        let removals = count(|c| matches!(c, Change::RemoveUser { .. }));
        if invites + removals > 0 {
            self.decided
                .warnings
                .push(Warning::CallerCannotManageUsers {
                    caller: self.live.caller.clone(),
                    invites,
                    removals,
                });
        }
    }
}

struct CallerMembership {
    /// A dynamic rule made it a member (it may also be a static one).
    dynamic: bool,
}

/// The services whose access an apply itself uses after its first write: Access Groups,
/// Policy Management (policies and roles), User Management and IAM Identity (tokens).
/// Instances are looked up while planning, before anything is written.
const SERVICES_APPLY_USES: [&str; 4] = [
    "iam-groups",
    "iam-access-management",
    "user-management",
    "iam-identity",
];

/// Whether an apply could need what `loss` takes away to finish: a rule (the caller
/// leaves the group and every grant with it), a grant on one of the services apply uses,
/// or one with no service (a resource group, or the account's services together). A
/// role on a Qiskit Runtime instance, say, is never needed by orgsync itself.
fn apply_may_need(loss: &AccessLoss) -> bool {
    match loss {
        AccessLoss::Rule { .. } => true,
        AccessLoss::Revoked { target, .. } | AccessLoss::Dropped { target, .. } => {
            target.service.as_ref().is_none_or(|service| {
                SERVICES_APPLY_USES.contains(&service.as_str().trim().to_lowercase().as_str())
            })
        }
    }
}

/// What a change takes away from a group, if anything.
fn loss_of(change: &Change) -> Option<(&GroupName, AccessLoss)> {
    match change {
        Change::RemovePolicy {
            group,
            target,
            roles,
            ..
        } => Some((
            group,
            AccessLoss::Revoked {
                target: target.clone(),
                roles: roles.clone(),
            },
        )),
        Change::UpdatePolicy {
            group,
            target,
            roles,
            old_roles,
            ..
        } => {
            let dropped: Vec<_> = old_roles
                .iter()
                .filter(|old| !roles.contains(old))
                .cloned()
                .collect();
            (!dropped.is_empty()).then(|| {
                (
                    group,
                    AccessLoss::Dropped {
                        target: target.clone(),
                        roles: dropped,
                    },
                )
            })
        }
        Change::RemoveRule { group, rule, .. } => {
            Some((group, AccessLoss::Rule { rule: rule.clone() }))
        }
        _ => None,
    }
}

/// The groups among `groups` that the file does not manage (by id: a second live group
/// of a managed name is not managed), Public Access left out (everyone is in it), sorted
/// by name, each once.
fn unmanaged(groups: &[GroupRef], managed: &HashSet<&AccessGroupId>) -> Vec<GroupName> {
    let mut others: Vec<&GroupRef> = groups
        .iter()
        .filter(|g| !managed.contains(&g.id) && !is_public_access(g.id.as_str(), g.name.as_str()))
        .collect();
    others
        .sort_by(|a, b| (&a.name, a.name.as_str(), &a.id).cmp(&(&b.name, b.name.as_str(), &b.id)));
    others.dedup_by(|a, b| a.id == b.id);
    others.into_iter().map(|g| g.name.clone()).collect()
}
