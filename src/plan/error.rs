//! Why no plan can be made: the planner's refusals, each saying what to do.

use std::fmt;

use crate::model::{AccessGroupId, Email, GroupName};

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
        }
    }
}

impl std::error::Error for PlanError {}
