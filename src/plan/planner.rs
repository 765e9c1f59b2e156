//! The reconciliation rules of SPEC §3, as one pure function.
//!
//! Live data arrives in whatever order IBM's pages came back, possibly with duplicates, so
//! the first thing `plan` does is index it into sorted maps; every later step iterates
//! those maps, which is what makes the plan identical across runs and input orders.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::model::{
    AccessGroupId, Date, DesiredState, Email, GroupName, IamId, LiveGroup, LiveMember, LiveState,
    LiveUser, MemberKind, PUBLIC_ACCESS_GROUP_ID, PUBLIC_ACCESS_GROUP_NAME, UnlistedUsers,
    UserState,
};

use super::digest::{config_digest, live_digest};
use super::types::{Change, FORMAT_VERSION, Plan, Roster, Summary, Unmanaged, UnmanagedMember};

/// Memberships expiring within this many days are warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 14;
/// IBM invitations expire after this many days.
pub const PENDING_INVITATION_DAYS: i64 = 30;

/// What the plan depends on besides the two states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The day the plan is computed for (`--today`, default today in UTC): expiries.
    pub today: Date,
}

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

/// Computes the plan that makes `live` match `desired` (SPEC §3).
pub fn plan(
    desired: &DesiredState,
    live: &LiveState,
    options: &Options,
) -> Result<Plan, PlanError> {
    let today = options.today;
    let mut warnings = Warnings::default();

    let users = UserIndex::new(&live.users);
    let groups = managed_groups(desired, live, &mut warnings)?;
    let policy = &desired.policy;
    let is_protected_email =
        |email: Option<&Email>| email.is_some_and(|e| policy.protected.contains(e));
    let is_caller = |iam: &IamId| *iam == live.caller;

    let mut changes = Vec::new();

    // Groups: create the missing ones, update differing descriptions.
    for group in groups.values() {
        match &group.live {
            None => changes.push(Change::CreateGroup {
                group: group.name.clone(),
                description: group.description.clone(),
            }),
            Some(lg) => {
                if let Some(wanted) = &group.description
                    && *wanted != lg.description
                {
                    changes.push(Change::UpdateGroup {
                        group: group.name.clone(),
                        group_id: lg.id.clone(),
                        description: wanted.clone(),
                        old_description: lg.description.clone(),
                    });
                }
            }
        }
    }

    // Listed users. `placed` says, per group key, which emails the file puts there.
    let mut placed: BTreeMap<String, BTreeSet<&Email>> = BTreeMap::new();
    // Failed invitations this plan replaces: their memberships go with them.
    let mut replaced: BTreeSet<&IamId> = BTreeSet::new();
    let mut listed_active: BTreeSet<&Email> = BTreeSet::new();
    for (email, user) in &desired.users {
        let mut user_groups = Vec::new();
        for g in &user.groups {
            match groups.get(&g.key()) {
                Some(group) => user_groups.push(group),
                None => {
                    return Err(PlanError::UndeclaredGroup {
                        email: email.clone(),
                        group: g.clone(),
                    });
                }
            }
        }
        let present = users.primary(email);
        if let Some(expires) = user.expires {
            let days_left = today.days_until(expires);
            if days_left <= 0 {
                if present.is_some() {
                    warnings.push(format!(
                        "{email}: the entry expired on {expires}, so orgsync treats them as \
                         unlisted; delete the entry from the file once they are gone"
                    ));
                }
                continue;
            }
            if days_left <= EXPIRY_WARNING_DAYS {
                warnings.push(format!(
                    "{email}: the entry expires on {expires} (in {days_left} day{}); from then on \
                     orgsync treats them as unlisted",
                    plural(days_left)
                ));
            }
        }
        listed_active.insert(email);
        for group in &user_groups {
            placed.entry(group.name.key()).or_default().insert(email);
        }

        let Some(live_user) = present else {
            changes.push(Change::InviteUser {
                email: email.clone(),
                groups: sorted_names(user_groups.iter().map(|g| &g.name)),
                replaces_iam_id: None,
            });
            continue;
        };

        if live_user.state == UserState::ErrorWhileProcessing {
            // Re-inviting first removes the failed entry, with every membership it has, in
            // managed groups or not. That is a removal, so protected users and the identity
            // orgsync runs as are left as they are (they keep their memberships below).
            if let Some(why) = keep_reason(
                Some(email),
                &live_user.iam_id,
                &is_protected_email,
                &is_caller,
            ) {
                warnings.push(format!(
                    "{} is in state ERROR_WHILE_PROCESSING but is {why}: not re-inviting, which \
                     would remove the failed entry first; fix the user in Manage → Access (IAM) \
                     → Users",
                    who(Some(email), &live_user.iam_id)
                ));
            } else {
                replaced.insert(&live_user.iam_id);
                changes.push(Change::InviteUser {
                    email: email.clone(),
                    groups: sorted_names(user_groups.iter().map(|g| &g.name)),
                    replaces_iam_id: Some(live_user.iam_id.clone()),
                });
                continue;
            }
        }

        for group in &user_groups {
            if !group.has_member(&live_user.iam_id) {
                changes.push(Change::AddMember {
                    group: group.name.clone(),
                    group_id: group.live.map(|lg| lg.id.clone()),
                    email: email.clone(),
                    iam_id: live_user.iam_id.clone(),
                });
            }
        }
        warn_about_state(live_user, email, today, &mut warnings);
    }

    // Account users the file does not list (or whose entry expired).
    let mut removed_users: BTreeSet<&IamId> = BTreeSet::new();
    let mut unmanaged_users = 0;
    for user in users.by_iam.values() {
        if listed_active.contains(&user.email) {
            continue;
        }
        let leaves: Vec<&GroupName> = groups
            .values()
            .filter(|g| g.has_member(&user.iam_id))
            .map(|g| &g.name)
            .collect();
        if policy.unlisted_users == UnlistedUsers::Remove {
            if let Some(why) = keep_reason(
                user_email(user),
                &user.iam_id,
                &is_protected_email,
                &is_caller,
            ) {
                warnings.push(format!(
                    "{}: {why}: not removing them from the account, although the file does not \
                     list them",
                    who(user_email(user), &user.iam_id)
                ));
            } else {
                removed_users.insert(&user.iam_id);
                changes.push(Change::RemoveUser {
                    email: user.email.clone(),
                    iam_id: user.iam_id.clone(),
                    groups: sorted_names(leaves),
                });
                continue;
            }
        }
        unmanaged_users += 1;
    }

    // Members of managed groups the file does not place there.
    let mut unmanaged_members = Vec::new();
    for group in groups.values() {
        let Some(lg) = group.live else { continue };
        let here = placed.get(&group.name.key());
        for member in &group.members {
            if member.kind != MemberKind::User {
                unmanaged_members.push(UnmanagedMember {
                    group: group.name.clone(),
                    iam_id: member.iam_id.clone(),
                    kind: member.kind.as_str().to_string(),
                });
                continue;
            }
            if replaced.contains(&member.iam_id) || removed_users.contains(&member.iam_id) {
                continue;
            }
            let email = users.by_iam.get(&member.iam_id).and_then(|u| user_email(u));
            if email.is_some_and(|e| here.is_some_and(|h| h.contains(e))) {
                continue;
            }
            if let Some(why) = keep_reason(email, &member.iam_id, &is_protected_email, &is_caller) {
                warnings.push(format!(
                    "{}: {why}: not removing them from `{}`, where the file does not place them",
                    who(email, &member.iam_id),
                    group.name
                ));
                continue;
            }
            changes.push(Change::RemoveMember {
                group: group.name.clone(),
                group_id: lg.id.clone(),
                email: email.cloned(),
                iam_id: member.iam_id.clone(),
            });
        }
    }
    unmanaged_members.sort();
    unmanaged_members.dedup();

    changes.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    changes.dedup();

    let rosters = rosters(&groups, &users, &changes, &replaced);
    Ok(Plan {
        format_version: FORMAT_VERSION,
        account_id: desired.account_id.clone(),
        config_digest: config_digest(desired),
        live_digest: live_digest(live),
        summary: Summary::of(&changes),
        changes,
        warnings: warnings.into_vec(),
        unmanaged: Unmanaged {
            users: unmanaged_users,
            members: unmanaged_members,
        },
        rosters,
    })
}

/// Why a user who would be removed stays: protected, or the identity orgsync runs as.
fn keep_reason(
    email: Option<&Email>,
    iam_id: &IamId,
    is_protected: &impl Fn(Option<&Email>) -> bool,
    is_caller: &impl Fn(&IamId) -> bool,
) -> Option<&'static str> {
    if is_caller(iam_id) {
        Some("the identity orgsync runs as")
    } else if is_protected(email) {
        Some("protected by policy.protected")
    } else {
        None
    }
}

fn who(email: Option<&Email>, iam_id: &IamId) -> String {
    match email {
        Some(email) => format!("{email} ({iam_id})"),
        None => iam_id.to_string(),
    }
}

/// The user's email, unless IBM gave none.
fn user_email(user: &LiveUser) -> Option<&Email> {
    (!user.email.as_str().is_empty()).then_some(&user.email)
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn warn_about_state(user: &LiveUser, email: &Email, today: Date, warnings: &mut Warnings) {
    match &user.state {
        // A failed invitation is re-invited, which is warning enough (or, for the caller,
        // warned about where that is decided).
        UserState::Active | UserState::Processing | UserState::ErrorWhileProcessing => {}
        UserState::Pending => {
            if let Some(added) = user.added_on {
                let age = added.days_until(today);
                if age > PENDING_INVITATION_DAYS {
                    warnings.push(format!(
                        "{email}: the invitation has been pending since {added} ({age} days) and \
                         IBM invitations expire after {PENDING_INVITATION_DAYS} days; ask them to \
                         accept it, or remove the user in the console so orgsync invites them \
                         afresh"
                    ));
                }
            }
        }
        UserState::Suspended => warnings.push(format!(
            "{email} is SUSPENDED in the account: orgsync manages their groups, but they cannot \
             use them until an administrator reactivates the user (Manage → Access (IAM) → Users)"
        )),
        other => warnings.push(format!(
            "{email} is in state {other} in the account: their access may not work; check the \
             user in Manage → Access (IAM) → Users"
        )),
    }
}

/// Warnings in the order found, each once.
#[derive(Default)]
struct Warnings {
    seen: BTreeSet<String>,
    list: Vec<String>,
}

impl Warnings {
    fn push(&mut self, warning: String) {
        if self.seen.insert(warning.clone()) {
            self.list.push(warning);
        }
    }

    fn into_vec(self) -> Vec<String> {
        self.list
    }
}

fn sorted_names<'a>(names: impl IntoIterator<Item = &'a GroupName>) -> Vec<GroupName> {
    let set: BTreeSet<(String, &str)> = names.into_iter().map(|n| (n.key(), n.as_str())).collect();
    // One spelling per name: the set is ordered by key, so keep the first of each key.
    let mut out: Vec<GroupName> = Vec::new();
    for (key, name) in set {
        if out.last().is_none_or(|last| last.key() != key) {
            out.push(GroupName::new(name));
        }
    }
    out
}

type SortKey<'a> = (
    super::types::ChangeKind,
    String,
    &'a str,
    bool,
    &'a str,
    &'a str,
);

/// Kind, then group name, then email (known emails first), then iam_id.
fn sort_key(change: &Change) -> SortKey<'_> {
    let group = change.group();
    let (email, iam): (Option<&Email>, &str) = match change {
        Change::CreateGroup { .. } | Change::UpdateGroup { .. } => (None, ""),
        Change::InviteUser { email, .. } => (Some(email), ""),
        Change::AddMember { email, iam_id, .. } | Change::RemoveUser { email, iam_id, .. } => {
            (Some(email), iam_id.as_str())
        }
        Change::RemoveMember { email, iam_id, .. } => (email.as_ref(), iam_id.as_str()),
    };
    (
        change.kind(),
        group.map(GroupName::key).unwrap_or_default(),
        group.map(GroupName::as_str).unwrap_or_default(),
        email.is_none(),
        email.map(Email::as_str).unwrap_or_default(),
        iam,
    )
}

/// Live users, deduplicated by iam_id, looked up by iam_id and by email.
struct UserIndex<'a> {
    by_iam: BTreeMap<&'a IamId, &'a LiveUser>,
    /// Per email, the entry that stands for the person: see [`state_rank`].
    by_email: BTreeMap<&'a Email, &'a LiveUser>,
}

impl<'a> UserIndex<'a> {
    fn new(users: &'a [LiveUser]) -> Self {
        let mut by_iam: BTreeMap<&IamId, &LiveUser> = BTreeMap::new();
        for user in users {
            by_iam
                .entry(&user.iam_id)
                .and_modify(|kept| {
                    // Conflicting duplicates: keep the smallest, whatever the input order.
                    if user_key(user) < user_key(kept) {
                        *kept = user;
                    }
                })
                .or_insert(user);
        }
        let mut by_email: BTreeMap<&Email, &LiveUser> = BTreeMap::new();
        for user in by_iam.values() {
            let Some(email) = user_email(user) else {
                continue;
            };
            by_email
                .entry(email)
                .and_modify(|kept| {
                    if (state_rank(&user.state), &user.iam_id)
                        < (state_rank(&kept.state), &kept.iam_id)
                    {
                        *kept = user;
                    }
                })
                .or_insert(user);
        }
        UserIndex { by_iam, by_email }
    }

    fn primary(&self, email: &Email) -> Option<&'a LiveUser> {
        self.by_email.get(email).copied()
    }
}

type UserKey<'a> = (&'a IamId, &'a Email, &'a UserState, Option<Date>);

fn user_key(user: &LiveUser) -> UserKey<'_> {
    (&user.iam_id, &user.email, &user.state, user.added_on)
}

/// When one email has several account entries (IBM does not make these, but a plan must
/// not depend on input order if it ever does), the working one stands for the person.
fn state_rank(state: &UserState) -> u8 {
    match state {
        UserState::Active => 0,
        UserState::Processing => 1,
        UserState::Pending => 2,
        UserState::ErrorWhileProcessing => 4,
        _ => 3,
    }
}

/// A group the file declares, with its live counterpart if the account has one.
struct ManagedGroup<'a> {
    /// As the file spells it.
    name: GroupName,
    description: Option<String>,
    live: Option<&'a LiveGroup>,
    /// Deduplicated, sorted; empty for a group to be created.
    members: BTreeSet<&'a LiveMember>,
}

impl ManagedGroup<'_> {
    fn has_member(&self, iam_id: &IamId) -> bool {
        self.members.iter().any(|m| m.iam_id == *iam_id)
    }
}

fn is_public_access(group: &LiveGroup) -> bool {
    group.id.as_str() == PUBLIC_ACCESS_GROUP_ID
        || group.name.key() == PUBLIC_ACCESS_GROUP_NAME.to_lowercase()
}

/// The managed groups by name key, matched to the live ones case-insensitively.
fn managed_groups<'a>(
    desired: &'a DesiredState,
    live: &'a LiveState,
    warnings: &mut Warnings,
) -> Result<BTreeMap<String, ManagedGroup<'a>>, PlanError> {
    let mut live_by_name: BTreeMap<String, BTreeMap<&AccessGroupId, &LiveGroup>> = BTreeMap::new();
    for group in live.groups.iter().filter(|g| !is_public_access(g)) {
        live_by_name
            .entry(group.name.key())
            .or_default()
            .entry(&group.id)
            .and_modify(|kept| {
                if group_key(group) < group_key(kept) {
                    *kept = group;
                }
            })
            .or_insert(group);
    }

    let mut managed = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, declared) in &desired.groups {
        if name.key() == PUBLIC_ACCESS_GROUP_NAME.to_lowercase() {
            continue; // config refuses it; never manage it even if handed one
        }
        let candidates = live_by_name.get(&name.key());
        let live_group = candidates.and_then(|c| c.values().next().copied());
        if let Some(c) = candidates
            && c.len() > 1
        {
            let ids = c
                .keys()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            warnings.push(format!(
                "the account has {} access groups named `{name}` ({ids}); orgsync manages only \
                 the first; rename or delete the others in the console",
                c.len()
            ));
        }
        let members = match live_group {
            None => {
                missing.push(name.clone());
                BTreeSet::new()
            }
            Some(lg) => match &lg.members {
                Some(members) => members.iter().collect(),
                None => {
                    return Err(PlanError::MembersNotRead {
                        group: name.clone(),
                        group_id: lg.id.clone(),
                    });
                }
            },
        };
        managed.insert(
            name.key(),
            ManagedGroup {
                name: name.clone(),
                description: declared.description.clone(),
                live: live_group,
                members,
            },
        );
    }
    if !desired.policy.create_groups && !missing.is_empty() {
        return Err(PlanError::MissingGroups { groups: missing });
    }
    Ok(managed)
}

type GroupKey<'a> = (&'a str, &'a str, Vec<&'a LiveMember>, bool);

fn group_key(group: &LiveGroup) -> GroupKey<'_> {
    let mut members: Vec<&LiveMember> = group.members.iter().flatten().collect();
    members.sort();
    (
        group.name.as_str(),
        group.description.as_str(),
        members,
        group.members.is_none(),
    )
}

/// How a member appears in a roster.
fn member_line(member: &LiveMember, users: &UserIndex<'_>) -> String {
    if member.kind != MemberKind::User {
        return format!("{} ({})", member.iam_id, member.kind.as_str());
    }
    match users.by_iam.get(&member.iam_id) {
        None => format!("{} (not in User Management)", member.iam_id),
        Some(user) => user_line(user),
    }
}

fn user_line(user: &LiveUser) -> String {
    let name = match user_email(user) {
        Some(email) => email.to_string(),
        None => user.iam_id.to_string(),
    };
    match user.state {
        UserState::Active => name,
        ref state => format!("{name} ({state})"),
    }
}

/// Before/after member lines of every group whose membership the plan changes.
fn rosters(
    groups: &BTreeMap<String, ManagedGroup<'_>>,
    users: &UserIndex<'_>,
    changes: &[Change],
    replaced: &BTreeSet<&IamId>,
) -> BTreeMap<GroupName, Roster> {
    // Per group key: entries keyed by identity (iam_id, or the email of an invitation).
    let mut after: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let before: BTreeMap<String, BTreeMap<String, String>> = groups
        .iter()
        .map(|(key, g)| {
            let lines = g
                .members
                .iter()
                .map(|m| (m.iam_id.to_string(), member_line(m, users)))
                .collect();
            (key.clone(), lines)
        })
        .collect();
    for (key, lines) in &before {
        after.insert(key.clone(), lines.clone());
    }
    let mut remove_everywhere =
        |iam: &IamId, after: &mut BTreeMap<String, BTreeMap<String, String>>| {
            for (key, lines) in after.iter_mut() {
                if lines.remove(iam.as_str()).is_some() {
                    touched.insert(key.clone());
                }
            }
        };
    for iam in replaced {
        remove_everywhere(iam, &mut after);
    }
    for change in changes {
        if let Change::RemoveUser { iam_id, .. } = change {
            remove_everywhere(iam_id, &mut after);
        }
    }
    for change in changes {
        match change {
            Change::InviteUser { email, groups, .. } => {
                for g in groups {
                    if let Some(lines) = after.get_mut(&g.key()) {
                        lines.insert(format!("invite:{email}"), format!("{email} (invited)"));
                        touched.insert(g.key());
                    }
                }
            }
            Change::AddMember {
                group,
                iam_id,
                email,
                ..
            } => {
                let line = users
                    .by_iam
                    .get(iam_id)
                    .map(|u| user_line(u))
                    .unwrap_or_else(|| email.to_string());
                if let Some(lines) = after.get_mut(&group.key()) {
                    lines.insert(iam_id.to_string(), line);
                    touched.insert(group.key());
                }
            }
            Change::RemoveMember { group, iam_id, .. } => {
                if let Some(lines) = after.get_mut(&group.key()) {
                    lines.remove(iam_id.as_str());
                    touched.insert(group.key());
                }
            }
            Change::CreateGroup { .. } | Change::UpdateGroup { .. } | Change::RemoveUser { .. } => {
            }
        }
    }
    let sorted = |lines: Option<&BTreeMap<String, String>>| {
        let mut v: Vec<String> = lines
            .into_iter()
            .flat_map(|l| l.values().cloned())
            .collect();
        // Case-insensitively, so `IBMid-...` lines do not jump ahead of every email.
        v.sort_by(|a, b| (a.to_lowercase(), a).cmp(&(b.to_lowercase(), b)));
        v
    };
    touched
        .iter()
        .filter_map(|key| {
            let group = groups.get(key)?;
            Some((
                group.name.clone(),
                Roster {
                    before: sorted(before.get(key)),
                    after: sorted(after.get(key)),
                },
            ))
        })
        .collect()
}
