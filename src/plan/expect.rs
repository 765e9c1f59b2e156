//! What an applied change should look like when the account is read again, and whether it
//! does: the deciding half of apply's verification (docs/reconciliation.md).
//!
//! A change IBM answered 2xx for but that the account does not show is a failure, not a
//! success. Which reads show it, and what counts as "shows it", are decisions: they live
//! here, as data in and data out, so they are tested without a server. The executor only
//! reads the account and hands over what it saw ([`Observation`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Change;
use crate::model::{
    AccessGroupId, DesiredRole, DesiredRule, Email, GroupName, IamId, LivePolicy, LiveRole,
    LiveRule, PolicyId, PolicyShape, PolicyTarget, RoleCrn, RoleKind, RuleId, ServiceName,
    UserState,
};

/// What one applied change should look like afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The created group is in the account.
    GroupExists { group: GroupName },
    /// `iam_id` is a member of the group (`group_id` is `None` for a group this apply
    /// created: the observation's ids name it).
    Member {
        group: GroupName,
        group_id: Option<AccessGroupId>,
        iam_id: IamId,
    },
    /// `iam_id` is no longer a member of the group.
    NotMember {
        group: GroupName,
        group_id: AccessGroupId,
        iam_id: IamId,
    },
    /// The invitee is in the account, in a state other than `ERROR_WHILE_PROCESSING`, and
    /// (if IBM adds invitees at once) a member of `groups`. `iam_id` is the invitee's id
    /// when the executor learnt it: the user can then be read by id.
    Invited {
        email: Email,
        iam_id: Option<IamId>,
        groups: Vec<GroupName>,
    },
    /// The removed user is no longer in the account.
    UserGone { email: Email, iam_id: IamId },
    /// A custom role of this name is in the account with this display name and these
    /// actions (and this description, when the file says one).
    Role { role: DesiredRole },
    /// The group has a policy on `target` granting exactly `role_ids` (`group_id` is
    /// `None` for a group this apply created).
    Policy {
        group: GroupName,
        group_id: Option<AccessGroupId>,
        target: PolicyTarget,
        role_ids: Vec<RoleCrn>,
    },
    /// The group no longer has the policy.
    NoPolicy {
        group: GroupName,
        group_id: AccessGroupId,
        policy_id: PolicyId,
    },
    /// The group has a rule of this name (ignoring case) with this realm, expiration
    /// and conditions (in any order).
    Rule {
        group: GroupName,
        group_id: Option<AccessGroupId>,
        rule: DesiredRule,
    },
    /// The group no longer has the rule.
    NoRule {
        group: GroupName,
        group_id: AccessGroupId,
        rule_id: RuleId,
    },
    /// Nothing to read: a description update is checked by its own call (it reads the
    /// group first and sends nothing when it already holds).
    Nothing,
}

/// What `change` should look like once applied. `invitee` is the invited user's IAM id,
/// when IBM's answer (or a re-read) gave it.
pub fn expectation(change: &Change, invitee: Option<&IamId>) -> Expectation {
    match change {
        Change::CreateGroup { group, .. } => Expectation::GroupExists {
            group: group.clone(),
        },
        Change::UpdateGroup { .. } => Expectation::Nothing,
        Change::InviteUser { email, groups, .. } => Expectation::Invited {
            email: email.clone(),
            iam_id: invitee.cloned(),
            groups: groups.clone(),
        },
        Change::AddMember {
            group,
            group_id,
            iam_id,
            ..
        } => Expectation::Member {
            group: group.clone(),
            group_id: group_id.clone(),
            iam_id: iam_id.clone(),
        },
        Change::RemoveMember {
            group,
            group_id,
            iam_id,
            ..
        } => Expectation::NotMember {
            group: group.clone(),
            group_id: group_id.clone(),
            iam_id: iam_id.clone(),
        },
        Change::RemoveUser { email, iam_id, .. } => Expectation::UserGone {
            email: email.clone(),
            iam_id: iam_id.clone(),
        },
        Change::CreateRole {
            role,
            service,
            display_name,
            description,
            actions,
        } => Expectation::Role {
            role: DesiredRole {
                name: role.clone(),
                service: service.clone(),
                display_name: display_name.clone(),
                description: description.clone(),
                actions: actions.iter().cloned().collect(),
            },
        },
        Change::UpdateRole {
            role,
            service,
            display_name,
            description,
            actions,
            ..
        } => Expectation::Role {
            role: DesiredRole {
                name: role.clone(),
                service: service.clone(),
                display_name: display_name.clone(),
                description: Some(description.clone()),
                actions: actions.iter().cloned().collect(),
            },
        },
        Change::CreatePolicy {
            group,
            group_id,
            target,
            role_ids,
            ..
        } => policy(group, group_id.clone(), target, role_ids),
        Change::UpdatePolicy {
            group,
            group_id,
            target,
            role_ids,
            ..
        } => policy(group, Some(group_id.clone()), target, role_ids),
        Change::RemovePolicy {
            group,
            group_id,
            policy_id,
            ..
        } => Expectation::NoPolicy {
            group: group.clone(),
            group_id: group_id.clone(),
            policy_id: policy_id.clone(),
        },
        Change::CreateRule {
            group,
            group_id,
            rule,
            realm,
            expiration_hours,
            conditions,
        } => Expectation::Rule {
            group: group.clone(),
            group_id: group_id.clone(),
            rule: desired_rule(rule, realm, *expiration_hours, conditions),
        },
        Change::UpdateRule {
            group,
            group_id,
            rule,
            realm,
            expiration_hours,
            conditions,
            ..
        } => Expectation::Rule {
            group: group.clone(),
            group_id: Some(group_id.clone()),
            rule: desired_rule(rule, realm, *expiration_hours, conditions),
        },
        Change::RemoveRule {
            group,
            group_id,
            rule_id,
            ..
        } => Expectation::NoRule {
            group: group.clone(),
            group_id: group_id.clone(),
            rule_id: rule_id.clone(),
        },
    }
}

fn policy(
    group: &GroupName,
    group_id: Option<AccessGroupId>,
    target: &super::Target,
    role_ids: &[RoleCrn],
) -> Expectation {
    Expectation::Policy {
        group: group.clone(),
        group_id,
        target: PolicyTarget {
            service: target.service.clone(),
            instance_id: target.instance_id.clone(),
            resource_group_id: target.resource_group_id.clone(),
        },
        role_ids: role_ids.to_vec(),
    }
}

fn desired_rule(
    name: &str,
    realm: &str,
    expiration_hours: u32,
    conditions: &[crate::model::RuleCondition],
) -> DesiredRule {
    DesiredRule {
        name: name.to_string(),
        realm: realm.to_string(),
        expiration_hours,
        conditions: conditions.to_vec(),
    }
}

/// What must be read to judge a set of expectations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// The groups whose members to read.
    pub groups: BTreeSet<AccessGroupId>,
    /// Whether the account's users must be read at all.
    pub users: bool,
    /// The users to read, by IAM id; complete only when `every_user_known`.
    pub user_ids: BTreeSet<IamId>,
    /// Whether every user to read is known by IAM id (so they can be read one by one
    /// instead of re-listing the account).
    pub every_user_known: bool,
    /// The groups whose policies to read.
    pub policies_of: BTreeSet<AccessGroupId>,
    /// The groups whose rules to read.
    pub rules_of: BTreeSet<AccessGroupId>,
    /// The services whose roles (the account's custom roles of each) to read.
    pub role_services: BTreeSet<ServiceName>,
}

/// The reads that judge `expectations`. `ids` names the groups by id: the account's, and
/// those this apply created.
pub fn reads<'a>(
    expectations: impl IntoIterator<Item = &'a Expectation>,
    ids: &BTreeMap<GroupName, AccessGroupId>,
) -> Reads {
    let mut reads = Reads {
        every_user_known: true,
        ..Reads::default()
    };
    for expected in expectations {
        match expected {
            Expectation::GroupExists { group } => reads.groups.extend(ids.get(group).cloned()),
            Expectation::Member {
                group, group_id, ..
            } => reads
                .groups
                .extend(group_id.clone().or_else(|| ids.get(group).cloned())),
            Expectation::NotMember { group_id, .. } => {
                reads.groups.insert(group_id.clone());
            }
            Expectation::Invited { iam_id, groups, .. } => {
                // The invitation puts the invitee into its groups: read those too.
                reads.users = true;
                match iam_id {
                    Some(id) => {
                        reads.user_ids.insert(id.clone());
                    }
                    None => reads.every_user_known = false,
                }
                reads
                    .groups
                    .extend(groups.iter().filter_map(|g| ids.get(g).cloned()));
            }
            Expectation::UserGone { iam_id, .. } => {
                reads.users = true;
                reads.user_ids.insert(iam_id.clone());
            }
            Expectation::Role { role } => {
                reads.role_services.insert(role.service.clone());
            }
            Expectation::Policy {
                group, group_id, ..
            } => reads
                .policies_of
                .extend(group_id.clone().or_else(|| ids.get(group).cloned())),
            Expectation::NoPolicy { group_id, .. } => {
                reads.policies_of.insert(group_id.clone());
            }
            Expectation::Rule {
                group, group_id, ..
            } => reads
                .rules_of
                .extend(group_id.clone().or_else(|| ids.get(group).cloned())),
            Expectation::NoRule { group_id, .. } => {
                reads.rules_of.insert(group_id.clone());
            }
            Expectation::Nothing => {}
        }
    }
    reads
}

/// What the account showed when it was read again. What could not be read is absent: no
/// verdict is drawn from a read that failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Group ids by name: the account's, plus those of groups this apply created.
    pub ids: BTreeMap<GroupName, AccessGroupId>,
    /// The members of each group that was read.
    pub members: BTreeMap<AccessGroupId, BTreeSet<IamId>>,
    /// Groups that answered 404: deleted during the apply (or a create that did not
    /// stick).
    pub gone: BTreeSet<AccessGroupId>,
    /// The account's users by email, when they were read.
    pub users: Option<BTreeMap<Email, (IamId, UserState)>>,
    /// The policies of each group whose policies were read.
    pub policies: BTreeMap<AccessGroupId, Vec<LivePolicy>>,
    /// The rules of each group whose rules were read.
    pub rules: BTreeMap<AccessGroupId, Vec<LiveRule>>,
    /// The roles of each service whose roles were read.
    pub roles: BTreeMap<ServiceName, Vec<LiveRole>>,
}

impl Observation {
    fn id<'a>(
        &'a self,
        group: &GroupName,
        id: Option<&'a AccessGroupId>,
    ) -> Option<&'a AccessGroupId> {
        id.or_else(|| self.ids.get(group))
    }

    fn is_gone(&self, group: &GroupName, id: Option<&AccessGroupId>) -> bool {
        self.id(group, id).is_some_and(|id| self.gone.contains(id))
    }

    fn members_of(
        &self,
        group: &GroupName,
        id: Option<&AccessGroupId>,
    ) -> Option<&BTreeSet<IamId>> {
        self.id(group, id).and_then(|id| self.members.get(id))
    }
}

/// Whether a change shows in the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It does, or nothing that was read says otherwise.
    Holds,
    /// The invitation landed, but the invitee is not (yet) in every group: a warning, not
    /// a failure.
    Late(LateGroups),
    /// It does not: the change failed.
    Fails(Discrepancy),
}

/// Judges one expectation against what was read.
pub fn judge(expected: &Expectation, seen: &Observation) -> Verdict {
    let fails = |d: Option<Discrepancy>| d.map_or(Verdict::Holds, Verdict::Fails);
    match expected {
        Expectation::GroupExists { group } => {
            fails(
                seen.is_gone(group, None)
                    .then(|| Discrepancy::GroupMissing {
                        group: group.clone(),
                    }),
            )
        }
        Expectation::Member {
            group,
            group_id,
            iam_id,
        } if seen.is_gone(group, group_id.as_ref()) => Verdict::Fails(Discrepancy::GroupDeleted {
            group: group.clone(),
            iam_id: iam_id.clone(),
        }),
        Expectation::Member {
            group,
            group_id,
            iam_id,
        } => fails(
            seen.members_of(group, group_id.as_ref())
                .filter(|m| !m.contains(iam_id))
                .map(|_| Discrepancy::NotAdded {
                    group: group.clone(),
                    iam_id: iam_id.clone(),
                }),
        ),
        Expectation::NotMember {
            group,
            group_id,
            iam_id,
        } => fails(
            seen.members_of(group, Some(group_id))
                .filter(|m| m.contains(iam_id))
                .map(|_| Discrepancy::NotRemoved {
                    group: group.clone(),
                    iam_id: iam_id.clone(),
                }),
        ),
        Expectation::Invited { email, groups, .. } => match &seen.users {
            None => Verdict::Holds,
            Some(users) => invited(email, groups, users.get(email), seen),
        },
        Expectation::UserGone { email, iam_id } => fails(
            seen.users
                .as_ref()
                .filter(|u| u.values().any(|(id, _)| id == iam_id))
                .map(|_| Discrepancy::UserStillThere {
                    email: email.clone(),
                    iam_id: iam_id.clone(),
                }),
        ),
        Expectation::Role { role } => fails(
            seen.roles
                .get(&role.service)
                .and_then(|roles| role_discrepancy(role, roles)),
        ),
        Expectation::Policy {
            group,
            group_id,
            target,
            role_ids,
        } => fails(
            seen.id(group, group_id.as_ref())
                .and_then(|id| seen.policies.get(id))
                .and_then(|live| policy_discrepancy(group, target, role_ids, live)),
        ),
        Expectation::NoPolicy {
            group,
            group_id,
            policy_id,
        } => fails(
            seen.policies
                .get(group_id)
                .filter(|live| live.iter().any(|p| p.id == *policy_id))
                .map(|_| Discrepancy::PolicyStillThere {
                    group: group.clone(),
                    policy_id: policy_id.clone(),
                }),
        ),
        Expectation::Rule {
            group,
            group_id,
            rule,
        } => fails(
            seen.id(group, group_id.as_ref())
                .and_then(|id| seen.rules.get(id))
                .and_then(|live| rule_discrepancy(group, rule, live)),
        ),
        Expectation::NoRule {
            group,
            group_id,
            rule_id,
        } => fails(
            seen.rules
                .get(group_id)
                .and_then(|live| live.iter().find(|r| r.id == *rule_id))
                .map(|r| Discrepancy::RuleStillThere {
                    group: group.clone(),
                    rule: r.name.clone(),
                }),
        ),
        Expectation::Nothing => Verdict::Holds,
    }
}

fn role_discrepancy(role: &DesiredRole, live: &[LiveRole]) -> Option<Discrepancy> {
    let found = live
        .iter()
        .find(|r| matches!(r.kind, RoleKind::Custom { .. }) && r.name == role.name);
    let Some(found) = found else {
        return Some(Discrepancy::RoleMissing {
            role: role.name.to_string(),
        });
    };
    let actions: BTreeSet<&String> = found.actions.iter().collect();
    let same = found.display_name == role.display_name
        && role
            .description
            .as_ref()
            .is_none_or(|d| *d == found.description)
        && actions == role.actions.iter().collect();
    (!same).then(|| Discrepancy::RoleDiffers {
        role: role.name.to_string(),
    })
}

fn policy_discrepancy(
    group: &GroupName,
    target: &PolicyTarget,
    role_ids: &[RoleCrn],
    live: &[LivePolicy],
) -> Option<Discrepancy> {
    // Of several policies on the target (IBM forbids them, the planner warns and changes
    // one), the change holds when any grants exactly the roles written: which one IBM
    // lists first must not decide it.
    let mut on_target = (live.iter())
        .filter(|p| matches!(&p.shape, PolicyShape::Expressible(t) if t == target))
        .peekable();
    let shown = target_text(target);
    if on_target.peek().is_none() {
        return Some(Discrepancy::PolicyMissing {
            group: group.clone(),
            target: shown,
        });
    }
    let wanted: BTreeSet<&RoleCrn> = role_ids.iter().collect();
    let holds = on_target.any(|p| p.roles.iter().collect::<BTreeSet<_>>() == wanted);
    (!holds).then(|| Discrepancy::PolicyRolesDiffer {
        group: group.clone(),
        target: shown,
    })
}

fn target_text(target: &PolicyTarget) -> String {
    super::Target {
        service: target.service.clone(),
        instance_id: target.instance_id.clone(),
        resource_group_id: target.resource_group_id.clone(),
        ..super::Target::default()
    }
    .to_string()
}

fn rule_discrepancy(
    group: &GroupName,
    rule: &DesiredRule,
    live: &[LiveRule],
) -> Option<Discrepancy> {
    let named = live
        .iter()
        .find(|r| r.name.to_lowercase() == rule.name.to_lowercase());
    let Some(found) = named else {
        return Some(Discrepancy::RuleMissing {
            group: group.clone(),
            rule: rule.name.clone(),
        });
    };
    (!found.matches(rule)).then(|| Discrepancy::RuleDiffers {
        group: group.clone(),
        rule: rule.name.clone(),
    })
}

fn invited(
    email: &Email,
    groups: &[GroupName],
    listed: Option<&(IamId, UserState)>,
    seen: &Observation,
) -> Verdict {
    let iam_id = match listed {
        None => {
            return Verdict::Fails(Discrepancy::NotInvited {
                email: email.clone(),
            });
        }
        Some((_, UserState::ErrorWhileProcessing)) => {
            return Verdict::Fails(Discrepancy::InvitationFailed {
                email: email.clone(),
            });
        }
        Some((iam_id, _)) => iam_id,
    };
    let missing: Vec<GroupName> = groups
        .iter()
        .filter(|g| {
            seen.is_gone(g, None)
                || seen
                    .members_of(g, None)
                    .is_some_and(|m| !m.contains(iam_id))
        })
        .cloned()
        .collect();
    // IBM does not document whether an invitation's access groups apply at once or on
    // acceptance (docs/ibm-api.md, open questions): the invite itself landed, so this is
    // a warning, and the next plan adds whatever is still missing.
    if missing.is_empty() {
        Verdict::Holds
    } else {
        Verdict::Late(LateGroups {
            email: email.clone(),
            iam_id: iam_id.clone(),
            missing,
        })
    }
}

/// How an applied change failed to show in the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discrepancy {
    GroupMissing {
        group: GroupName,
    },
    GroupDeleted {
        group: GroupName,
        iam_id: IamId,
    },
    NotAdded {
        group: GroupName,
        iam_id: IamId,
    },
    NotRemoved {
        group: GroupName,
        iam_id: IamId,
    },
    NotInvited {
        email: Email,
    },
    /// IBM lists the invitee as `ERROR_WHILE_PROCESSING`.
    InvitationFailed {
        email: Email,
    },
    UserStillThere {
        email: Email,
        iam_id: IamId,
    },
    RoleMissing {
        role: String,
    },
    RoleDiffers {
        role: String,
    },
    PolicyMissing {
        group: GroupName,
        target: String,
    },
    PolicyRolesDiffer {
        group: GroupName,
        target: String,
    },
    PolicyStillThere {
        group: GroupName,
        policy_id: PolicyId,
    },
    RuleMissing {
        group: GroupName,
        rule: String,
    },
    RuleDiffers {
        group: GroupName,
        rule: String,
    },
    RuleStillThere {
        group: GroupName,
        rule: String,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::GroupMissing { group } => {
                write!(
                    f,
                    "group {group} is not in the account after it was created"
                )
            }
            Discrepancy::GroupDeleted { group, iam_id } => {
                write!(
                    f,
                    "group {group} was deleted while {iam_id} was added to it"
                )
            }
            Discrepancy::NotAdded { group, iam_id } => {
                write!(f, "{iam_id} is not a member of {group} after the add")
            }
            Discrepancy::NotRemoved { group, iam_id } => {
                write!(f, "{iam_id} is still a member of {group} after the removal")
            }
            Discrepancy::NotInvited { email } => {
                write!(f, "{email} is not in the account after the invitation")
            }
            Discrepancy::InvitationFailed { email } => write!(
                f,
                "IBM could not process the invitation of {email} (ERROR_WHILE_PROCESSING); apply again to re-invite"
            ),
            Discrepancy::UserStillThere { email, iam_id } => {
                write!(
                    f,
                    "{email} ({iam_id}) is still in the account after the removal"
                )
            }
            Discrepancy::RoleMissing { role } => {
                write!(f, "custom role {role} is not in the account afterwards")
            }
            Discrepancy::RoleDiffers { role } => write!(
                f,
                "custom role {role} does not have the display name, description and actions written"
            ),
            Discrepancy::PolicyMissing { group, target } => {
                write!(f, "group {group} has no policy on {target} afterwards")
            }
            Discrepancy::PolicyRolesDiffer { group, target } => write!(
                f,
                "the policy of group {group} on {target} does not grant the roles written"
            ),
            Discrepancy::PolicyStillThere { group, policy_id } => write!(
                f,
                "policy {policy_id} of group {group} is still there after the removal"
            ),
            Discrepancy::RuleMissing { group, rule } => {
                write!(f, "group {group} has no rule {rule:?} afterwards")
            }
            Discrepancy::RuleDiffers { group, rule } => write!(
                f,
                "rule {rule:?} of group {group} does not have the realm, expiration and conditions written"
            ),
            Discrepancy::RuleStillThere { group, rule } => write!(
                f,
                "rule {rule:?} of group {group} is still there after the removal"
            ),
        }
    }
}

/// An invitee not yet in every group of the invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateGroups {
    pub email: Email,
    pub iam_id: IamId,
    pub missing: Vec<GroupName>,
}

impl fmt::Display for LateGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let missing: Vec<&str> = self.missing.iter().map(GroupName::as_str).collect();
        write!(
            f,
            "{} ({}) was invited but is not yet a member of {}; IBM may add invitees to their groups only when they accept: the next plan adds them if not",
            self.email,
            self.iam_id,
            missing.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str) -> GroupName {
        GroupName::new(name)
    }

    fn id(name: &str) -> AccessGroupId {
        AccessGroupId::new(format!("AccessGroupId-{name}"))
    }

    fn u(n: &str) -> IamId {
        IamId::new(format!("IBMid-{n}"))
    }

    fn seen(members: &[(&str, &[&str])]) -> Observation {
        let mut o = Observation::default();
        for (group, ids) in members {
            o.ids.insert(g(group), id(group));
            o.members
                .insert(id(group), ids.iter().map(|i| u(i)).collect());
        }
        o
    }

    fn add(group: &str, user: &str, known_id: bool) -> Change {
        Change::AddMember {
            group: g(group),
            group_id: known_id.then(|| id(group)),
            email: Email::new(&format!("{user}@x.org")),
            iam_id: u(user),
        }
    }

    #[test]
    fn an_add_holds_when_the_member_is_listed_and_fails_when_not() {
        let o = seen(&[("a", &["1"])]);
        for known in [true, false] {
            let e = expectation(&add("a", "1", known), None);
            assert_eq!(judge(&e, &o), Verdict::Holds);
            let e = expectation(&add("a", "2", known), None);
            let Verdict::Fails(d) = judge(&e, &o) else {
                panic!("a missing member fails")
            };
            assert_eq!(d.to_string(), "IBMid-2 is not a member of a after the add");
        }
    }

    #[test]
    fn nothing_is_concluded_from_a_group_that_could_not_be_read() {
        let mut o = seen(&[]);
        o.ids.insert(g("a"), id("a"));
        assert_eq!(
            judge(&expectation(&add("a", "1", true), None), &o),
            Verdict::Holds
        );
        let invite = Change::InviteUser {
            email: Email::new("i@x.org"),
            groups: vec![g("a")],
            replaces_iam_id: None,
            other_groups: Vec::new(),
        };
        // Users not read: no verdict either.
        assert_eq!(judge(&expectation(&invite, None), &o), Verdict::Holds);
    }

    #[test]
    fn a_group_gone_fails_its_create_and_its_adds_by_name() {
        let mut o = seen(&[]);
        o.ids.insert(g("new"), id("new"));
        o.gone.insert(id("new"));
        let create = Change::CreateGroup {
            group: g("new"),
            description: None,
        };
        assert!(matches!(
            judge(&expectation(&create, None), &o),
            Verdict::Fails(Discrepancy::GroupMissing { .. })
        ));
        let Verdict::Fails(d) = judge(&expectation(&add("new", "1", false), None), &o) else {
            panic!("an add into a deleted group fails")
        };
        assert_eq!(
            d.to_string(),
            "group new was deleted while IBMid-1 was added to it"
        );
    }

    #[test]
    fn an_invitee_missing_from_a_group_is_late_not_failed() {
        let mut o = seen(&[("a", &["I"]), ("b", &[])]);
        let email = Email::new("i@x.org");
        let mut users = BTreeMap::new();
        users.insert(email.clone(), (u("I"), UserState::Pending));
        o.users = Some(users);
        let invite = Change::InviteUser {
            email: email.clone(),
            groups: vec![g("a"), g("b")],
            replaces_iam_id: None,
            other_groups: Vec::new(),
        };
        let Verdict::Late(late) = judge(&expectation(&invite, Some(&u("I"))), &o) else {
            panic!("late")
        };
        assert_eq!(late.missing, [g("b")]);
        assert!(
            late.to_string()
                .starts_with("i@x.org (IBMid-I) was invited but is not yet a member of b;")
        );
        // ERROR_WHILE_PROCESSING, or not listed at all: failed.
        if let Some(users) = o.users.as_mut() {
            users.insert(email.clone(), (u("I"), UserState::ErrorWhileProcessing));
        }
        assert!(matches!(
            judge(&expectation(&invite, None), &o),
            Verdict::Fails(Discrepancy::InvitationFailed { .. })
        ));
        o.users = Some(BTreeMap::new());
        assert!(matches!(
            judge(&expectation(&invite, None), &o),
            Verdict::Fails(Discrepancy::NotInvited { .. })
        ));
    }

    #[test]
    fn reads_cover_each_touched_group_once_and_say_when_users_are_known_by_id() {
        let ids: BTreeMap<_, _> = [(g("a"), id("a")), (g("new"), id("new"))].into();
        let changes = [
            add("a", "1", true),
            add("new", "2", false),
            Change::RemoveUser {
                email: Email::new("r@x.org"),
                iam_id: u("R"),
                groups: vec![],
                other_groups: Vec::new(),
            },
        ];
        let expected: Vec<Expectation> = changes.iter().map(|c| expectation(c, None)).collect();
        let r = reads(&expected, &ids);
        assert_eq!(r.groups, [id("a"), id("new")].into());
        assert!(r.users && r.every_user_known);
        assert_eq!(r.user_ids, [u("R")].into());
        let invite = Change::InviteUser {
            email: Email::new("i@x.org"),
            groups: vec![g("a")],
            replaces_iam_id: None,
            other_groups: Vec::new(),
        };
        let r = reads(&[expectation(&invite, None)], &ids);
        assert!(r.users && !r.every_user_known);
    }

    fn policy_of(group: &str, target: PolicyTarget, roles: &[&str]) -> LivePolicy {
        LivePolicy {
            id: PolicyId::new(format!("p-{group}")),
            version: crate::model::PolicyVersion::V2,
            group: id(group),
            shape: PolicyShape::Expressible(target),
            roles: roles.iter().map(|r| RoleCrn::new(*r)).collect(),
        }
    }

    fn qc(instance: Option<&str>) -> super::super::Target {
        super::super::Target {
            service: Some(ServiceName::new("quantum-computing")),
            instance_id: instance.map(crate::model::InstanceGuid::new),
            ..Default::default()
        }
    }

    #[test]
    fn a_policy_holds_with_its_target_and_exactly_its_roles() {
        let create = Change::CreatePolicy {
            group: g("a"),
            group_id: None,
            target: qc(Some("g-1")),
            roles: vec![],
            role_ids: vec![RoleCrn::new("r1"), RoleCrn::new("r2")],
        };
        let e = expectation(&create, None);
        let ids: BTreeMap<_, _> = [(g("a"), id("a"))].into();
        assert_eq!(reads([&e], &ids).policies_of, [id("a")].into());
        let mut o = seen(&[("a", &[])]);
        // Not read: no verdict.
        assert_eq!(judge(&e, &o), Verdict::Holds);
        let target = PolicyTarget {
            service: Some(ServiceName::new("quantum-computing")),
            instance_id: Some(crate::model::InstanceGuid::new("g-1")),
            resource_group_id: None,
        };
        o.policies
            .insert(id("a"), vec![policy_of("a", target.clone(), &["r2", "r1"])]);
        assert_eq!(judge(&e, &o), Verdict::Holds);
        // A duplicate on the target listed first does not hide the policy that holds.
        o.policies.insert(
            id("a"),
            vec![
                policy_of("a", target.clone(), &["r1"]),
                policy_of("a", target.clone(), &["r1", "r2"]),
            ],
        );
        assert_eq!(judge(&e, &o), Verdict::Holds);
        o.policies
            .insert(id("a"), vec![policy_of("a", target, &["r1"])]);
        let Verdict::Fails(d) = judge(&e, &o) else {
            panic!("other roles fail")
        };
        assert_eq!(
            d.to_string(),
            "the policy of group a on quantum-computing instance g-1 does not grant the roles written"
        );
        o.policies.insert(id("a"), vec![]);
        assert!(matches!(
            judge(&e, &o),
            Verdict::Fails(Discrepancy::PolicyMissing { .. })
        ));
    }

    #[test]
    fn a_removed_policy_or_rule_fails_only_while_still_listed() {
        let remove = Change::RemovePolicy {
            group: g("a"),
            group_id: id("a"),
            policy_id: PolicyId::new("p-a"),
            api_version: crate::model::PolicyVersion::V1,
            target: qc(None),
            roles: vec![],
            role_ids: vec![],
        };
        let e = expectation(&remove, None);
        let mut o = seen(&[]);
        o.policies
            .insert(id("a"), vec![policy_of("a", PolicyTarget::default(), &[])]);
        assert!(matches!(
            judge(&e, &o),
            Verdict::Fails(Discrepancy::PolicyStillThere { .. })
        ));
        o.policies.insert(id("a"), vec![]);
        assert_eq!(judge(&e, &o), Verdict::Holds);
        let rule = Change::RemoveRule {
            group: g("a"),
            group_id: id("a"),
            rule: "old".into(),
            rule_id: RuleId::new("r-1"),
        };
        let e = expectation(&rule, None);
        assert_eq!(reads([&e], &BTreeMap::new()).rules_of, [id("a")].into());
        o.rules.insert(
            id("a"),
            vec![LiveRule {
                id: RuleId::new("r-1"),
                name: "old".into(),
                realm: String::new(),
                expiration_hours: 1,
                conditions: vec![],
                unreadable_conditions: 0,
            }],
        );
        let Verdict::Fails(d) = judge(&e, &o) else {
            panic!("still there")
        };
        assert_eq!(
            d.to_string(),
            "rule \"old\" of group a is still there after the removal"
        );
    }

    #[test]
    fn a_rule_holds_by_name_ignoring_case_with_conditions_in_any_order() {
        use crate::model::{RuleCondition, RuleOperator};
        let c = |v: &str| RuleCondition {
            claim: "project".into(),
            operator: RuleOperator::Contains,
            value: v.into(),
        };
        let create = Change::CreateRule {
            group: g("a"),
            group_id: Some(id("a")),
            rule: "ML".into(),
            realm: "realm".into(),
            expiration_hours: 12,
            conditions: vec![c("x"), c("y")],
        };
        let e = expectation(&create, None);
        let mut o = seen(&[]);
        let live = |conditions, hours| LiveRule {
            id: RuleId::new("r"),
            name: "ml".into(),
            realm: "realm".into(),
            expiration_hours: hours,
            conditions,
            unreadable_conditions: 0,
        };
        o.rules
            .insert(id("a"), vec![live(vec![c("y"), c("x")], 12)]);
        assert_eq!(judge(&e, &o), Verdict::Holds);
        o.rules
            .insert(id("a"), vec![live(vec![c("y"), c("x")], 24)]);
        assert!(matches!(
            judge(&e, &o),
            Verdict::Fails(Discrepancy::RuleDiffers { .. })
        ));
    }

    #[test]
    fn a_custom_role_holds_with_its_display_name_and_action_set() {
        let create = Change::CreateRole {
            role: crate::model::RoleName::new("JobManager"),
            service: ServiceName::new("quantum-computing"),
            display_name: "Job manager".into(),
            description: None,
            actions: vec!["b".into(), "a".into()],
        };
        let e = expectation(&create, None);
        assert_eq!(
            reads([&e], &BTreeMap::new()).role_services,
            [ServiceName::new("quantum-computing")].into()
        );
        let live = |actions: &[&str]| LiveRole {
            crn: RoleCrn::new("crn"),
            name: crate::model::RoleName::new("JobManager"),
            display_name: "Job manager".into(),
            description: "whatever".into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            service: ServiceName::new("quantum-computing"),
            kind: RoleKind::Custom {
                id: crate::model::RoleId::new("id"),
            },
        };
        let mut o = seen(&[]);
        o.roles.insert(
            ServiceName::new("quantum-computing"),
            vec![live(&["a", "b"])],
        );
        assert_eq!(judge(&e, &o), Verdict::Holds);
        o.roles
            .insert(ServiceName::new("quantum-computing"), vec![live(&["a"])]);
        assert!(matches!(
            judge(&e, &o),
            Verdict::Fails(Discrepancy::RoleDiffers { .. })
        ));
        o.roles
            .insert(ServiceName::new("quantum-computing"), vec![]);
        let Verdict::Fails(d) = judge(&e, &o) else {
            panic!("missing")
        };
        assert_eq!(
            d.to_string(),
            "custom role JobManager is not in the account afterwards"
        );
    }
}
