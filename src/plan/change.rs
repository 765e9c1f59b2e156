//! One change to the account: the unit a plan is made of, a reviewer reads and `apply`
//! executes.
//!
//! Tagged by `action`, with exactly the fields of docs/cli.md (the JSON plan). The
//! changes of the second wave (roles, policies, rules) and the `other_groups` of a user's
//! removal are left out of the JSON when they do not occur, so a file without `roles`,
//! `access` or `rules` plans to exactly the JSON it always did.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{
    AccessGroupId, Email, GroupName, IamId, InstanceGuid, PolicyId, PolicyVersion, ResourceGroupId,
    RoleCrn, RoleId, RoleName, RuleCondition, RuleId, ServiceName,
};

/// One change to the account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// A custom role the file declares and the account lacks.
    CreateRole {
        role: RoleName,
        service: ServiceName,
        display_name: String,
        description: Option<String>,
        /// Sorted.
        actions: Vec<String>,
    },
    /// A declared custom role whose display name, description or actions differ.
    UpdateRole {
        role: RoleName,
        role_id: RoleId,
        service: ServiceName,
        display_name: String,
        /// What the role's description will be (the live one when the file is silent).
        description: String,
        /// Sorted.
        actions: Vec<String>,
        old_display_name: String,
        old_description: String,
        /// Sorted.
        old_actions: Vec<String>,
    },
    /// A declared group the account lacks.
    CreateGroup {
        group: GroupName,
        /// `None` when the file does not declare one.
        description: Option<String>,
    },
    /// A declared description that differs from the live one.
    UpdateGroup {
        group: GroupName,
        group_id: AccessGroupId,
        description: String,
        old_description: String,
    },
    /// An `access` entry with no live policy of its target.
    CreatePolicy {
        group: GroupName,
        /// `None` when this plan creates the group.
        group_id: Option<AccessGroupId>,
        target: Target,
        /// Sorted, as the file names them.
        roles: Vec<RoleName>,
        /// The CRNs of `roles`, in the same order.
        role_ids: Vec<RoleCrn>,
    },
    /// A live policy of an entry's target with other roles: replaced in place, through
    /// the API version that created it, with `If-Match`.
    UpdatePolicy {
        group: GroupName,
        group_id: AccessGroupId,
        policy_id: PolicyId,
        api_version: PolicyVersion,
        target: Target,
        roles: Vec<RoleName>,
        role_ids: Vec<RoleCrn>,
        /// The roles the policy grants now (names where known, else the CRN's text).
        old_roles: Vec<RoleName>,
    },
    /// A dynamic rule the file declares and the group lacks (matched by name).
    CreateRule {
        group: GroupName,
        /// `None` when this plan creates the group.
        group_id: Option<AccessGroupId>,
        /// The rule's name.
        rule: String,
        realm: String,
        expiration_hours: u32,
        conditions: Vec<RuleCondition>,
    },
    /// A declared rule whose realm, expiration or conditions differ: replaced whole.
    UpdateRule {
        group: GroupName,
        group_id: AccessGroupId,
        rule: String,
        rule_id: RuleId,
        realm: String,
        expiration_hours: u32,
        conditions: Vec<RuleCondition>,
        /// Each `old_` field is present only when that field changes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_realm: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_expiration_hours: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_conditions: Option<Vec<RuleCondition>>,
    },
    /// Invite a listed user; the invitation puts them into `groups` (sorted).
    InviteUser {
        email: Email,
        groups: Vec<GroupName>,
        /// The failed (`ERROR_WHILE_PROCESSING`) invitation that apply removes first.
        replaces_iam_id: Option<IamId>,
        /// Groups the file does not manage that removing the failed invitation takes the
        /// user out of (sorted; absent when none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        other_groups: Vec<GroupName>,
    },
    /// Put an account user into a managed group.
    AddMember {
        group: GroupName,
        /// `None` when this plan creates the group (apply learns the id then).
        group_id: Option<AccessGroupId>,
        email: Email,
        iam_id: IamId,
    },
    /// Take a user-type member out of a managed group.
    RemoveMember {
        group: GroupName,
        group_id: AccessGroupId,
        /// `None` for a member whose iam_id User Management does not know.
        email: Option<Email>,
        iam_id: IamId,
    },
    /// A live rule of a group with `rules` that the file does not name.
    RemoveRule {
        group: GroupName,
        group_id: AccessGroupId,
        rule: String,
        rule_id: RuleId,
    },
    /// A live policy of a group with `access` whose target no entry names.
    RemovePolicy {
        group: GroupName,
        group_id: AccessGroupId,
        policy_id: PolicyId,
        api_version: PolicyVersion,
        target: Target,
        /// What it granted (names where known, else the CRN's text).
        roles: Vec<RoleName>,
        role_ids: Vec<RoleCrn>,
    },
    /// Remove an unlisted user from the account (`policy.unlisted_users: remove`).
    RemoveUser {
        email: Email,
        iam_id: IamId,
        /// The managed groups the user leaves (sorted).
        groups: Vec<GroupName>,
        /// The groups the file does not manage that the user leaves too (sorted; absent
        /// when none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        other_groups: Vec<GroupName>,
    },
}

/// A policy's target in a plan: the file's names beside IBM's ids. Either side may be
/// null (a live policy's instance has no name unless the file named it).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub service: Option<ServiceName>,
    /// As the file names it (name, GUID or CRN).
    pub instance: Option<String>,
    pub instance_id: Option<InstanceGuid>,
    /// As the file names it (name or id).
    pub resource_group: Option<String>,
    pub resource_group_id: Option<ResourceGroupId>,
}

/// The kinds of [`Change`], in execution order: grants before revocations, so a partial
/// apply never leaves a project with less access than either end state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    CreateRole,
    UpdateRole,
    CreateGroup,
    UpdateGroup,
    CreatePolicy,
    UpdatePolicy,
    CreateRule,
    UpdateRule,
    InviteUser,
    AddMember,
    RemoveMember,
    RemoveRule,
    RemovePolicy,
    RemoveUser,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 14] = [
        ChangeKind::CreateRole,
        ChangeKind::UpdateRole,
        ChangeKind::CreateGroup,
        ChangeKind::UpdateGroup,
        ChangeKind::CreatePolicy,
        ChangeKind::UpdatePolicy,
        ChangeKind::CreateRule,
        ChangeKind::UpdateRule,
        ChangeKind::InviteUser,
        ChangeKind::AddMember,
        ChangeKind::RemoveMember,
        ChangeKind::RemoveRule,
        ChangeKind::RemovePolicy,
        ChangeKind::RemoveUser,
    ];

    /// The `action` tag of docs/cli.md.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::CreateRole => "create_role",
            ChangeKind::UpdateRole => "update_role",
            ChangeKind::CreateGroup => "create_group",
            ChangeKind::UpdateGroup => "update_group",
            ChangeKind::CreatePolicy => "create_policy",
            ChangeKind::UpdatePolicy => "update_policy",
            ChangeKind::CreateRule => "create_rule",
            ChangeKind::UpdateRule => "update_rule",
            ChangeKind::InviteUser => "invite_user",
            ChangeKind::AddMember => "add_member",
            ChangeKind::RemoveMember => "remove_member",
            ChangeKind::RemoveRule => "remove_rule",
            ChangeKind::RemovePolicy => "remove_policy",
            ChangeKind::RemoveUser => "remove_user",
        }
    }
}

impl Change {
    pub fn kind(&self) -> ChangeKind {
        match self {
            Change::CreateRole { .. } => ChangeKind::CreateRole,
            Change::UpdateRole { .. } => ChangeKind::UpdateRole,
            Change::CreateGroup { .. } => ChangeKind::CreateGroup,
            Change::UpdateGroup { .. } => ChangeKind::UpdateGroup,
            Change::CreatePolicy { .. } => ChangeKind::CreatePolicy,
            Change::UpdatePolicy { .. } => ChangeKind::UpdatePolicy,
            Change::CreateRule { .. } => ChangeKind::CreateRule,
            Change::UpdateRule { .. } => ChangeKind::UpdateRule,
            Change::InviteUser { .. } => ChangeKind::InviteUser,
            Change::AddMember { .. } => ChangeKind::AddMember,
            Change::RemoveMember { .. } => ChangeKind::RemoveMember,
            Change::RemoveRule { .. } => ChangeKind::RemoveRule,
            Change::RemovePolicy { .. } => ChangeKind::RemovePolicy,
            Change::RemoveUser { .. } => ChangeKind::RemoveUser,
        }
    }

    /// The single group this change is about, if it is about one.
    pub fn group(&self) -> Option<&GroupName> {
        match self {
            Change::CreateGroup { group, .. }
            | Change::UpdateGroup { group, .. }
            | Change::CreatePolicy { group, .. }
            | Change::UpdatePolicy { group, .. }
            | Change::CreateRule { group, .. }
            | Change::UpdateRule { group, .. }
            | Change::AddMember { group, .. }
            | Change::RemoveMember { group, .. }
            | Change::RemoveRule { group, .. }
            | Change::RemovePolicy { group, .. } => Some(group),
            Change::CreateRole { .. }
            | Change::UpdateRole { .. }
            | Change::InviteUser { .. }
            | Change::RemoveUser { .. } => None,
        }
    }

    /// Whether this change takes access away: counted against `policy.max_removals`.
    /// A policy replaced with fewer roles counts when it drops any role it granted.
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Change::RemoveMember { .. } | Change::RemoveUser { .. }
        ) || self.is_revocation()
    }

    /// Whether this change takes away what a group grants: a policy or rule removed, or a
    /// role a policy stops granting (the removals that are not memberships or users).
    pub fn is_revocation(&self) -> bool {
        match self {
            Change::RemovePolicy { .. } | Change::RemoveRule { .. } => true,
            Change::UpdatePolicy {
                roles, old_roles, ..
            } => old_roles.iter().any(|old| !roles.contains(old)),
            _ => false,
        }
    }
}

/// One line per change, for reports and "what moved" messages, e.g.
/// `add_member alice@example.com to quantum-x`.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::CreateRole { role, service, .. } => {
                write!(f, "create_role {role} ({service})")
            }
            Change::UpdateRole { role, service, .. } => {
                write!(f, "update_role {role} ({service})")
            }
            Change::CreateGroup { group, .. } => write!(f, "create_group {group}"),
            Change::UpdateGroup {
                group,
                description,
                old_description,
                ..
            } => write!(
                f,
                "update_group {group} description {old_description:?} -> {description:?}"
            ),
            Change::CreatePolicy {
                group,
                target,
                roles,
                ..
            } => write!(
                f,
                "create_policy {group} {} on {target}",
                join(roles.iter().map(RoleName::as_str))
            ),
            Change::UpdatePolicy {
                group,
                target,
                roles,
                old_roles,
                ..
            } => write!(
                f,
                "update_policy {group} on {target}: {} -> {}",
                join(old_roles.iter().map(RoleName::as_str)),
                join(roles.iter().map(RoleName::as_str))
            ),
            Change::RemovePolicy {
                group,
                target,
                roles,
                ..
            } => write!(
                f,
                "remove_policy {group} {} on {target}",
                join(roles.iter().map(RoleName::as_str))
            ),
            Change::CreateRule { group, rule, .. } => write!(f, "create_rule {rule:?} of {group}"),
            Change::UpdateRule { group, rule, .. } => write!(f, "update_rule {rule:?} of {group}"),
            Change::RemoveRule { group, rule, .. } => write!(f, "remove_rule {rule:?} of {group}"),
            Change::InviteUser {
                email,
                groups,
                replaces_iam_id,
                ..
            } => {
                write!(f, "invite_user {email}")?;
                if !groups.is_empty() {
                    write!(f, " into {}", join_groups(groups))?;
                }
                if let Some(old) = replaces_iam_id {
                    write!(f, " (replacing failed invitation {old})")?;
                }
                Ok(())
            }
            Change::AddMember {
                group,
                email,
                iam_id,
                ..
            } => write!(f, "add_member {email} ({iam_id}) to {group}"),
            Change::RemoveMember {
                group,
                email,
                iam_id,
                ..
            } => match email {
                Some(email) => write!(f, "remove_member {email} ({iam_id}) from {group}"),
                None => write!(f, "remove_member {iam_id} from {group}"),
            },
            Change::RemoveUser {
                email,
                iam_id,
                groups,
                other_groups,
            } => {
                if email.as_str().is_empty() {
                    write!(f, "remove_user {iam_id}")?;
                } else {
                    write!(f, "remove_user {email} ({iam_id})")?;
                }
                match groups_left(groups, other_groups) {
                    Some(left) => write!(f, " leaving {left}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// `quantum-computing instance QR-ml`, `resource group Default`, ... — the file's names
/// where the plan has them, IBM's ids otherwise.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instance = self
            .instance
            .as_deref()
            .or(self.instance_id.as_ref().map(InstanceGuid::as_str));
        let group = self
            .resource_group
            .as_deref()
            .or(self.resource_group_id.as_ref().map(ResourceGroupId::as_str));
        match (&self.service, instance, group) {
            (Some(service), Some(instance), _) => write!(f, "{service} instance {instance}"),
            (Some(service), None, Some(group)) => {
                write!(f, "{service} in resource group {group}")
            }
            (Some(service), None, None) => write!(f, "{service}"),
            (None, _, Some(group)) => write!(f, "resource group {group}"),
            (None, _, None) => f.write_str("(no target)"),
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

pub(super) fn join_groups(groups: &[GroupName]) -> String {
    join(groups.iter().map(GroupName::as_str))
}

/// The groups a user leaves with the account, as the plan's text and the report name
/// them: `ml`, `1 group orgsync does not manage: billing`, or
/// `ml and 1 group orgsync does not manage: billing`; `None` for none.
pub(super) fn groups_left(managed: &[GroupName], others: &[GroupName]) -> Option<String> {
    let unmanaged = || {
        let noun = if others.len() == 1 { "group" } else { "groups" };
        format!(
            "{} {noun} orgsync does not manage: {}",
            others.len(),
            join_groups(others)
        )
    };
    match (managed.is_empty(), others.is_empty()) {
        (true, true) => None,
        (false, true) => Some(join_groups(managed)),
        (true, false) => Some(unmanaged()),
        (false, false) => Some(format!("{} and {}", join_groups(managed), unmanaged())),
    }
}
