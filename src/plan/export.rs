//! What a config file written from a live account says (`orgsync export`, docs/cli.md):
//! the decision, as plain data; `config::export` only writes it as YAML.
//!
//! An administrator adopting orgsync on an existing account should be able to trust that
//! the file they start from changes nothing. So the contents are decided from the
//! planner's own index of the account (`plan::index`): the same deduplication of users,
//! the same entry standing for an email, the same live group for a name, the same
//! memberships. Every managed group is written with its live description, every user of
//! the account with their groups among the exported ones (users in none get
//! `groups: []`, so the file lists the whole account).
//!
//! What the file format cannot express becomes comments, never entries: a failed
//! invitation (`ERROR_WHILE_PROCESSING`: an entry would be re-invited), a group member
//! User Management does not know (no email to list), a user whose email would not
//! validate, a second account entry of one email. [`Contents::unlistable`] names them,
//! because the planner proposes removing their memberships in exported groups — the file
//! is authoritative for those groups' members — and the command says so before anyone
//! applies. What the format accepts is `config`'s rule, handed in as a [`FileFormat`].

use std::collections::BTreeSet;
use std::fmt;

use crate::model::{
    AccessGroupId, Email, GroupName, IamId, LiveGroup, LiveMember, LiveState, MemberKind,
    UserState, is_public_access, is_public_access_name,
};

use super::index::{
    GroupIx, LiveGroups, ManagedGroup, ManagedGroups, Member, UserIndex, UserIx, resolve_members,
    user_email,
};

/// What the config file format accepts, as `config` validates it; passed in so that this
/// module stays free of `config` (docs/design.md: the dependency rule).
#[derive(Clone, Copy, Debug)]
pub struct FileFormat {
    pub max_group_name_chars: usize,
    pub max_description_chars: usize,
    /// Why an email would not validate (as validation words it), or `None`.
    pub email_problem: fn(&str) -> Option<&'static str>,
}

/// Everything a file written from the account holds, in the order it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// Under `groups:`, in name order.
    pub groups: Vec<Group>,
    /// Chosen groups the file format cannot name, written as comments.
    pub skipped: Vec<SkippedGroup>,
    /// Under `users:`, in email order.
    pub users: Vec<User>,
    /// Account users and group members written only as comments, sorted.
    pub unlistable: Vec<Unlistable>,
}

/// One exported group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// As the account spells it.
    pub name: GroupName,
    pub description: Description,
    /// Service IDs, profiles and other non-user members (never changed by orgsync), sorted.
    pub unmanaged: Vec<LiveMember>,
    /// User-type members User Management does not know, sorted.
    pub unknown: Vec<IamId>,
}

/// What becomes of a group's live description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Description {
    /// None in the account: the file declares none, and the planner leaves it alone.
    Empty,
    /// Written, so the file governs it.
    Written(String),
    /// Longer than the format accepts: left out, so orgsync leaves it alone.
    TooLong,
}

/// A chosen group the file cannot name: its name is empty or too long for the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedGroup {
    pub name: GroupName,
    pub id: AccessGroupId,
}

/// One entry under `users:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub email: Email,
    /// The live state, noted beside the entry when it is not `ACTIVE`.
    pub state: UserState,
    /// The exported groups the user is a member of, in name order.
    pub groups: Vec<GroupName>,
}

/// An identity the file cannot list as an entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unlistable {
    pub iam_id: IamId,
    /// As User Management reports it (normalized); `None` when it does not know the iam_id
    /// or gave no email.
    pub email: Option<Email>,
    pub reason: UnlistableReason,
    /// Exported groups it is a member of (that membership the plan proposes removing).
    pub groups: Vec<GroupName>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnlistableReason {
    /// `ERROR_WHILE_PROCESSING`: listing it would make the plan re-invite it.
    FailedInvitation,
    /// A user-type group member that User Management does not list.
    UnknownToUserManagement,
    /// The email would not pass validation (the problem, as validation words it).
    InvalidEmail(&'static str),
    /// A second account entry with the same email; the other entry is listed.
    DuplicateEmail,
}

impl fmt::Display for UnlistableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnlistableReason::FailedInvitation => f.write_str(
                "its invitation failed (ERROR_WHILE_PROCESSING); to invite it again, add it under \
                 `users:` and run `orgsync apply`",
            ),
            UnlistableReason::UnknownToUserManagement => f.write_str(
                "a user-type member that User Management does not list in the account, so it has \
                 no email to list it by",
            ),
            UnlistableReason::InvalidEmail(problem) => {
                write!(f, "its email is not a valid address ({problem})")
            }
            UnlistableReason::DuplicateEmail => f.write_str(
                "a second account entry with the same email as a listed user; remove one of the \
                 two in Manage → Access (IAM) → Users",
            ),
        }
    }
}

impl Contents {
    /// Entries in at least one exported group.
    pub fn users_in_groups(&self) -> usize {
        self.users.iter().filter(|u| !u.groups.is_empty()).count()
    }

    /// Service IDs, trusted profiles and other non-user members of exported groups.
    pub fn unmanaged_members(&self) -> usize {
        self.groups.iter().map(|g| g.unmanaged.len()).sum()
    }

    /// The iam_ids whose memberships in exported groups the file cannot express: planning
    /// the file proposes removing exactly those memberships, and nothing else.
    pub fn unlistable_members(&self) -> BTreeSet<&IamId> {
        self.unlistable
            .iter()
            .filter(|u| !u.groups.is_empty())
            .map(|u| &u.iam_id)
            .collect()
    }
}

/// Decides the file for `live` with `chosen` as the managed groups (names as
/// [`choose_groups`] returned them; their members must have been read). Pure.
pub fn contents(live: &LiveState, chosen: &[GroupName], format: &FileFormat) -> Contents {
    let users = UserIndex::new(&live.users);
    let (managed, skipped) = exported_groups(live, chosen, &users, format);
    let groups = ManagedGroups::new(managed, &users);
    let mut decided = decide_users(&users, &groups, format);
    decided.unlistable.extend(unknown_members(&groups));
    decided.unlistable.sort();
    Contents {
        groups: groups
            .iter()
            .map(|(_, group)| written_group(group, format))
            .collect(),
        skipped,
        users: decided.users,
        unlistable: decided.unlistable,
    }
}

/// The chosen groups as the planner will match them (the live group a name means), and
/// those whose names the format refuses.
fn exported_groups<'a>(
    live: &'a LiveState,
    chosen: &[GroupName],
    users: &UserIndex<'a>,
    format: &FileFormat,
) -> (Vec<ManagedGroup<'a>>, Vec<SkippedGroup>) {
    let live_groups = LiveGroups::new(&live.groups);
    let keys: BTreeSet<String> = chosen.iter().map(GroupName::key).collect();
    let mut managed = Vec::with_capacity(keys.len());
    let mut skipped = Vec::new();
    for key in keys {
        let Some(group) = live_groups.standing(&key) else {
            continue;
        };
        let name = group.name.as_str();
        if name.trim().is_empty() || name.chars().count() > format.max_group_name_chars {
            skipped.push(SkippedGroup {
                name: group.name.clone(),
                id: group.id.clone(),
            });
            continue;
        }
        managed.push(ManagedGroup {
            name: group.name.clone(),
            key,
            // What becomes of the live description is `written_group`'s decision.
            description: None,
            access: None,
            rules: None,
            live: Some(group),
            members: resolve_members(group, users).unwrap_or_default(),
        });
    }
    (managed, skipped)
}

fn written_group(group: &ManagedGroup<'_>, format: &FileFormat) -> Group {
    let live = group
        .live
        .map(|lg| lg.description.as_str())
        .unwrap_or_default();
    let description = if live.is_empty() {
        Description::Empty
    } else if live.chars().count() > format.max_description_chars {
        Description::TooLong
    } else {
        Description::Written(live.to_string())
    };
    let users = |m: &&Member<'_>| m.member.kind == MemberKind::User;
    Group {
        name: group.name.clone(),
        description,
        unmanaged: (group.members.iter())
            .filter(|m| !users(m))
            .map(|m| m.member.clone())
            .collect(),
        unknown: (group.members.iter())
            .filter(|m| users(m) && m.user.is_none())
            .map(|m| m.member.iam_id.clone())
            .collect(),
    }
}

/// The entries under `users:`, and the account users that cannot be entries.
struct Decided {
    users: Vec<User>,
    unlistable: Vec<Unlistable>,
}

/// Per email, the entry the planner takes to stand for the person is listed, with its
/// groups; the others become comments.
fn decide_users(users: &UserIndex<'_>, groups: &ManagedGroups<'_>, format: &FileFormat) -> Decided {
    let names = |u: UserIx| groups.names(groups.of_user(u));
    let mut decided = Decided {
        users: Vec::new(),
        unlistable: Vec::new(),
    };
    for u in users.ixs() {
        let user = users.get(u);
        let unlistable = |reason| Unlistable {
            iam_id: user.iam_id.clone(),
            email: user_email(user).cloned(),
            reason,
            groups: names(u),
        };
        if let Some(problem) = (format.email_problem)(user.email.as_str()) {
            decided
                .unlistable
                .push(unlistable(UnlistableReason::InvalidEmail(problem)));
            continue;
        }
        // A valid email is not empty, so the index has an entry standing for it.
        let Some(standing) = users.standing(&user.email) else {
            continue;
        };
        if users.get(standing).state == UserState::ErrorWhileProcessing {
            // Only failed entries have this email (any other would stand for it).
            decided
                .unlistable
                .push(unlistable(UnlistableReason::FailedInvitation));
        } else if standing == u {
            decided.users.push(User {
                email: user.email.clone(),
                state: user.state.clone(),
                groups: names(u),
            });
        } else {
            // The planner keeps a duplicate's memberships where the email is placed; the
            // rest it removes, so those are what this entry cannot express.
            let listed = groups.of_user(standing);
            let beyond: Vec<GroupIx> = groups
                .of_user(u)
                .iter()
                .copied()
                .filter(|g| !listed.contains(g))
                .collect();
            decided.unlistable.push(Unlistable {
                groups: groups.names(&beyond),
                ..unlistable(UnlistableReason::DuplicateEmail)
            });
        }
    }
    decided.users.sort_by(|a, b| a.email.cmp(&b.email));
    decided
}

/// User-type members that User Management does not know, each once with its groups.
fn unknown_members(groups: &ManagedGroups<'_>) -> Vec<Unlistable> {
    let mut unknown: Vec<Unlistable> = Vec::new();
    for (_, group) in groups.iter() {
        for member in &group.members {
            if member.member.kind != MemberKind::User || member.user.is_some() {
                continue;
            }
            let iam_id = &member.member.iam_id;
            match unknown.iter_mut().find(|u| &u.iam_id == iam_id) {
                Some(known) => known.groups.push(group.name.clone()),
                None => unknown.push(Unlistable {
                    iam_id: iam_id.clone(),
                    email: None,
                    reason: UnlistableReason::UnknownToUserManagement,
                    groups: vec![group.name.clone()],
                }),
            }
        }
    }
    unknown
}

/// Why the requested groups cannot be exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChooseError {
    /// Names in `--groups` the account has no group for.
    Unknown {
        unknown: Vec<String>,
        available: Vec<GroupName>,
    },
    /// `--groups` named Public Access, or an empty name.
    NotExportable { name: String, why: &'static str },
}

impl fmt::Display for ChooseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChooseError::Unknown { unknown, available } => {
                let unknown = unknown
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let plural = if unknown.contains(", ") { "s" } else { "" };
                if available.is_empty() {
                    write!(
                        f,
                        "--groups names access group{plural} {unknown}, but the account has no \
                         access groups besides Public Access; drop --groups to export the users"
                    )
                } else {
                    let list = available
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    write!(
                        f,
                        "--groups names access group{plural} {unknown} that the account does not \
                         have (names are compared ignoring case); the account has: {list}. Fix \
                         --groups, or use --all-groups"
                    )
                }
            }
            ChooseError::NotExportable { name, why } => {
                write!(f, "--groups: `{name}` cannot be exported: {why}")
            }
        }
    }
}

impl std::error::Error for ChooseError {}

/// The groups to export: `wanted` (`--groups`, matched ignoring case and surrounding
/// spaces, spelled as the account spells them), or every group but Public Access. Sorted.
pub fn choose_groups(
    live: &[LiveGroup],
    wanted: Option<&[String]>,
) -> Result<Vec<GroupName>, ChooseError> {
    let exportable: BTreeSet<&GroupName> = live
        .iter()
        .filter(|g| !is_public_access(g.id.as_str(), g.name.as_str()))
        .map(|g| &g.name)
        .collect();
    let Some(wanted) = wanted else {
        return Ok(exportable.into_iter().cloned().collect());
    };
    let mut chosen = BTreeSet::new();
    let mut unknown = Vec::new();
    for name in wanted {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(ChooseError::NotExportable {
                name: name.clone(),
                why: "the name is empty; separate names with single commas",
            });
        }
        if is_public_access_name(trimmed) {
            return Err(ChooseError::NotExportable {
                name: name.clone(),
                why: "Public Access is IBM's built-in group, which orgsync never manages",
            });
        }
        match exportable.get(&GroupName::new(trimmed)) {
            Some(found) => {
                chosen.insert((*found).clone());
            }
            None => unknown.push(trimmed.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(ChooseError::Unknown {
            unknown,
            available: exportable.into_iter().cloned().collect(),
        });
    }
    Ok(chosen.into_iter().collect())
}
