//! Why no plan can be made: the planner's refusals, each saying what to do.

use std::fmt;

use crate::model::{AccessGroupId, Email, GroupName, ResourceGroupId, RoleName, ServiceName};

use super::change::Target;

/// Why no plan can be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// Declared groups the account lacks while `policy.create_groups` is false.
    MissingGroups { groups: Vec<GroupName> },
    /// A managed group whose members the live state does not carry (an acquire bug).
    MembersNotRead {
        group: GroupName,
        group_id: AccessGroupId,
    },
    /// A user placed in a group the file does not declare (config validation forbids it).
    UndeclaredGroup { email: Email, group: GroupName },
    /// A managed group with `access` whose policies the live state does not carry.
    PoliciesNotRead {
        group: GroupName,
        group_id: AccessGroupId,
    },
    /// A managed group with `rules` whose dynamic rules the live state does not carry.
    RulesNotRead {
        group: GroupName,
        group_id: AccessGroupId,
    },
    /// `access` entries that name what the account does not have, or cannot have:
    /// every such problem of the file at once, in group and entry order.
    Access { problems: Vec<AccessProblem> },
    /// A declared custom role whose name the account already uses for another service's
    /// custom role (IBM's role names are unique in an account).
    RoleNameTaken {
        role: RoleName,
        service: ServiceName,
        taken_by: ServiceName,
    },
    /// Creating the declared roles would exceed IBM's custom roles per account.
    TooManyCustomRoles { live: usize, creates: usize },
}

/// One `access` entry the planner cannot turn into a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessProblem {
    /// No instance of the entry's service has that name.
    UnknownInstance {
        group: GroupName,
        service: ServiceName,
        name: String,
        /// Names of the service's instances close to it.
        similar: Vec<String>,
    },
    /// Several instances of the service share the name.
    AmbiguousInstance {
        group: GroupName,
        service: ServiceName,
        name: String,
        /// Their CRNs, by GUID.
        crns: Vec<String>,
    },
    /// An instance CRN without the GUID segment.
    InvalidInstanceCrn { group: GroupName, crn: String },
    /// No resource group has that name.
    UnknownResourceGroup {
        group: GroupName,
        name: String,
        similar: Vec<String>,
    },
    /// Several resource groups share the name.
    AmbiguousResourceGroup {
        group: GroupName,
        name: String,
        ids: Vec<ResourceGroupId>,
    },
    /// A role neither IBM nor the account nor the file knows for the target's service.
    UnknownRole {
        group: GroupName,
        target: Target,
        role: RoleName,
        suggestions: Vec<RoleName>,
        /// The service of a declared custom role of that name, when it is another one.
        other_service: Option<ServiceName>,
    },
    /// Two entries of one group that name the same target in different words (an
    /// instance by name and by GUID, say): IBM holds one policy per target.
    SameTarget { group: GroupName, target: Target },
    /// More policies for one group than IBM allows per subject.
    TooManyPolicies {
        group: GroupName,
        policies: usize,
        limit: usize,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::MissingGroups { groups } => {
                let names = groups
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (noun, verb) = if groups.len() == 1 {
                    ("group", "it")
                } else {
                    ("groups", "them")
                };
                write!(
                    f,
                    "the file declares access {noun} {names} that the account does not have, and \
                     policy.create_groups is false; create {verb} in the console (Manage → Access \
                     (IAM) → Access groups), set policy.create_groups: true, or remove {verb} from \
                     the file"
                )
            }
            PlanError::MembersNotRead { group, group_id } => write!(
                f,
                "the members of managed access group `{group}` ({group_id}) were not read from \
                 the account, so no safe plan can be made; this is a bug in orgsync, please \
                 report it"
            ),
            PlanError::UndeclaredGroup { email, group } => write!(
                f,
                "user {email} is placed in group `{group}`, which the file does not declare \
                 under `groups`; declare the group or remove it from the user"
            ),
            PlanError::PoliciesNotRead { group, group_id } => write!(
                f,
                "the access policies of managed access group `{group}` ({group_id}) were not \
                 read from the account, so no safe plan can be made; this is a bug in orgsync, \
                 please report it"
            ),
            PlanError::RulesNotRead { group, group_id } => write!(
                f,
                "the dynamic rules of managed access group `{group}` ({group_id}) were not read \
                 from the account, so no safe plan can be made; this is a bug in orgsync, \
                 please report it"
            ),
            PlanError::Access { problems } => match problems.as_slice() {
                [one] => write!(f, "{one}"),
                _ => {
                    write!(
                        f,
                        "{} access entries of the file cannot be planned:",
                        problems.len()
                    )?;
                    problems.iter().try_for_each(|p| write!(f, "\n  - {p}"))
                }
            },
            PlanError::RoleNameTaken {
                role,
                service,
                taken_by,
            } => write!(
                f,
                "the file declares custom role `{role}` for service {service}, but the account \
                 already has a custom role `{role}` for service {taken_by}, and IBM's role names \
                 are unique in an account; rename the role in the file, or declare it for \
                 {taken_by}"
            ),
            PlanError::TooManyCustomRoles { live, creates } => write!(
                f,
                "the file declares {creates} custom {} the account lacks, and the account has \
                 {live} already: more than IBM's {} custom roles per account; delete unused \
                 custom roles in the console (Manage → Access (IAM) → Roles), or declare fewer",
                if *creates == 1 { "role" } else { "roles" },
                super::MAX_CUSTOM_ROLES
            ),
        }
    }
}

impl fmt::Display for AccessProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessProblem::UnknownInstance {
                group,
                service,
                name,
                similar,
            } => {
                write!(
                    f,
                    "group `{group}`: no {service} instance is named `{name}` in the account"
                )?;
                if !similar.is_empty() {
                    write!(f, " (similar names: {})", similar.join(", "))?;
                }
                write!(
                    f,
                    "; check the name in the console's resource list, or name the instance by \
                     its GUID or CRN"
                )
            }
            AccessProblem::AmbiguousInstance {
                group,
                service,
                name,
                crns,
            } => write!(
                f,
                "group `{group}`: {} {service} instances are named `{name}`: {}; write the GUID \
                 of the one you mean (the segment after `a/<account>:` in its CRN) as `instance:`",
                crns.len(),
                crns.join(", ")
            ),
            AccessProblem::InvalidInstanceCrn { group, crn } => write!(
                f,
                "group `{group}`: the instance CRN `{crn}` has no GUID segment (IBM's instance \
                 CRNs read `crn:v1:bluemix:public:<service>:<region>:a/<account>:<guid>::`); \
                 copy the CRN from the console, or write the GUID"
            ),
            AccessProblem::UnknownResourceGroup {
                group,
                name,
                similar,
            } => {
                write!(
                    f,
                    "group `{group}`: no resource group is named `{name}` in the account"
                )?;
                if !similar.is_empty() {
                    write!(f, " (similar names: {})", similar.join(", "))?;
                }
                write!(
                    f,
                    "; check the name under Manage → Account → Resource groups, or write the \
                     resource group's id"
                )
            }
            AccessProblem::AmbiguousResourceGroup { group, name, ids } => write!(
                f,
                "group `{group}`: {} resource groups are named `{name}` ({}); write the id of \
                 the one you mean as `resource_group:`",
                ids.len(),
                ids.iter()
                    .map(ResourceGroupId::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            AccessProblem::UnknownRole {
                group,
                target,
                role,
                suggestions,
                other_service,
            } => {
                let on = match &target.service {
                    Some(service) => format!("service {service}"),
                    None => "a resource group".to_string(),
                };
                write!(
                    f,
                    "group `{group}`, access to {target}: no role `{role}` for {on}"
                )?;
                if let Some(other) = other_service {
                    write!(
                        f,
                        " (the file declares `{role}` as a custom role of {other})"
                    )?;
                }
                if !suggestions.is_empty() {
                    let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
                    write!(f, "; did you mean {}?", names.join(" or "))?;
                }
                if target.service.is_some() {
                    write!(
                        f,
                        "; roles are IBM's display names (Viewer, Operator, Editor, \
                         Administrator, Reader, Writer, Manager, or the service's own) or custom \
                         roles of that service, declared under `roles:` or in the account"
                    )
                } else {
                    write!(
                        f,
                        "; a resource group grants the platform roles Viewer, Operator, Editor \
                         and Administrator"
                    )
                }
            }
            AccessProblem::SameTarget { group, target } => write!(
                f,
                "group `{group}`: two access entries name the same target, {target} (once by \
                 name, once by GUID or CRN); IBM keeps one policy per target, so merge their \
                 roles into one entry"
            ),
            AccessProblem::TooManyPolicies {
                group,
                policies,
                limit,
            } => write!(
                f,
                "group `{group}` would have {policies} access policies (its entries and the \
                 policies the file cannot express), more than IBM's {limit} per access group; \
                 grant at the service or resource-group level instead of per instance"
            ),
        }
    }
}

impl std::error::Error for PlanError {}
