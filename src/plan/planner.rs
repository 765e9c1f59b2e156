//! The reconciliation rules of SPEC §3, as one pure function.
//!
//! Live data arrives in whatever order IBM's pages came back, possibly with duplicates, so
//! the first thing `plan` does is index it: users sorted and deduplicated by iam_id, groups
//! in name order, members sorted and resolved to their users once. Every later step walks
//! those sorted lists (hash maps serve lookups only, never iteration), which is what makes
//! the plan identical across runs and input orders, and fast on large accounts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::model::{
    AccessGroupId, Date, DesiredState, Email, GroupName, IamId, LiveGroup, LiveMember, LiveState,
    LiveUser, MemberKind, UnlistedUsers, UserState, is_public_access, is_public_access_name,
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
    let groups = managed_groups(desired, live, &users, &mut warnings)?;
    let group_index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.key.as_str(), i))
        .collect();
    let policy = &desired.policy;
    let is_protected_email =
        |email: Option<&Email>| email.is_some_and(|e| policy.protected.contains(e));
    let is_caller = |iam: &IamId| *iam == live.caller;

    // The managed groups (indices, ascending) each account user is in: one pass over the
    // members, so later questions are answered without searching every group.
    let mut groups_of_user: Vec<Vec<usize>> = vec![Vec::new(); users.len()];
    for (gi, group) in groups.iter().enumerate() {
        for member in &group.members {
            if let Some(u) = member.user
                && groups_of_user[u].last() != Some(&gi)
            {
                groups_of_user[u].push(gi);
            }
        }
    }
    let is_in = |u: usize, gi: usize| groups_of_user[u].binary_search(&gi).is_ok();

    let mut changes = Vec::new();

    // Groups: create the missing ones, update differing descriptions.
    for group in &groups {
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

    // Listed users. `placed` holds, per listed and unexpired email, the groups (indices,
    // ascending) the file puts them in.
    let mut placed: HashMap<&Email, Vec<usize>> = HashMap::with_capacity(desired.users.len());
    // Account users leaving by this plan: failed invitations replaced, users removed.
    // Their memberships go with them, so no remove_member is planned for those.
    let mut leaving = vec![false; users.len()];
    let mut replaced: Vec<usize> = Vec::new();
    for (email, user) in &desired.users {
        let mut user_groups = Vec::with_capacity(user.groups.len());
        for g in &user.groups {
            match group_index.get(g.key().as_str()) {
                Some(&gi) => user_groups.push(gi),
                None => {
                    return Err(PlanError::UndeclaredGroup {
                        email: email.clone(),
                        group: g.clone(),
                    });
                }
            }
        }
        user_groups.sort_unstable();
        user_groups.dedup();
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
        let names = |gis: &[usize]| gis.iter().map(|&gi| groups[gi].name.clone()).collect();

        let Some(u) = present else {
            changes.push(Change::InviteUser {
                email: email.clone(),
                groups: names(&user_groups),
                replaces_iam_id: None,
            });
            placed.insert(email, user_groups);
            continue;
        };
        let live_user = users.get(u);

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
                leaving[u] = true;
                replaced.push(u);
                changes.push(Change::InviteUser {
                    email: email.clone(),
                    groups: names(&user_groups),
                    replaces_iam_id: Some(live_user.iam_id.clone()),
                });
                placed.insert(email, user_groups);
                continue;
            }
        }

        for &gi in &user_groups {
            if !is_in(u, gi) {
                let group = &groups[gi];
                changes.push(Change::AddMember {
                    group: group.name.clone(),
                    group_id: group.live.map(|lg| lg.id.clone()),
                    email: email.clone(),
                    iam_id: live_user.iam_id.clone(),
                });
            }
        }
        warn_about_state(live_user, email, today, &mut warnings);
        placed.insert(email, user_groups);
    }

    // Account users the file does not list (or whose entry expired).
    let mut unmanaged_users = 0;
    for (u, user) in users.iter() {
        if placed.contains_key(&user.email) {
            continue;
        }
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
                leaving[u] = true;
                changes.push(Change::RemoveUser {
                    email: user.email.clone(),
                    iam_id: user.iam_id.clone(),
                    groups: groups_of_user[u]
                        .iter()
                        .map(|&gi| groups[gi].name.clone())
                        .collect(),
                });
                continue;
            }
        }
        unmanaged_users += 1;
    }

    // Members of managed groups the file does not place there.
    let mut unmanaged_members = Vec::new();
    for (gi, group) in groups.iter().enumerate() {
        let Some(lg) = group.live else { continue };
        for &Member { member, user } in &group.members {
            if member.kind != MemberKind::User {
                unmanaged_members.push(UnmanagedMember {
                    group: group.name.clone(),
                    iam_id: member.iam_id.clone(),
                    kind: member.kind.as_str().to_string(),
                });
                continue;
            }
            let email = match user {
                Some(u) if leaving[u] => continue,
                Some(u) => user_email(users.get(u)),
                None => None,
            };
            if email
                .and_then(|e| placed.get(e))
                .is_some_and(|gis| gis.binary_search(&gi).is_ok())
            {
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

    changes.sort_by_cached_key(sort_key);
    changes.dedup();

    let rosters = rosters(
        &groups,
        &group_index,
        &users,
        &groups_of_user,
        &replaced,
        &changes,
    );
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

type SortKey = (
    super::types::ChangeKind,
    String,
    String,
    bool,
    String,
    String,
);

/// Kind, then group name (case-insensitively, then as spelled), then email (known emails
/// first), then iam_id. Owned, so the sort computes it once per change.
fn sort_key(change: &Change) -> SortKey {
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
        group.map(|g| g.as_str().to_string()).unwrap_or_default(),
        email.is_none(),
        email.map(|e| e.as_str().to_string()).unwrap_or_default(),
        iam.to_string(),
    )
}

/// Live users, deduplicated by iam_id and sorted by it; each has an index into `users`.
struct UserIndex<'a> {
    users: Vec<&'a LiveUser>,
    by_iam: HashMap<&'a IamId, usize>,
    /// Per email, the entry that stands for the person: see [`LiveUser::standing_key`].
    by_email: HashMap<&'a Email, usize>,
}

impl<'a> UserIndex<'a> {
    fn new(live: &'a [LiveUser]) -> Self {
        let mut users: Vec<&LiveUser> = live.iter().collect();
        // Conflicting duplicates of one iam_id: the smallest wins, whatever the input order.
        users.sort_by(|a, b| a.dedup_key().cmp(&b.dedup_key()));
        users.dedup_by(|later, first| later.iam_id == first.iam_id);
        let by_iam = users
            .iter()
            .enumerate()
            .map(|(i, u)| (&u.iam_id, i))
            .collect();
        let mut by_email: HashMap<&Email, usize> = HashMap::with_capacity(users.len());
        for (i, user) in users.iter().enumerate() {
            let Some(email) = user_email(user) else {
                continue;
            };
            by_email
                .entry(email)
                .and_modify(|kept| {
                    let k = users[*kept];
                    if user.standing_key() < k.standing_key() {
                        *kept = i;
                    }
                })
                .or_insert(i);
        }
        UserIndex {
            users,
            by_iam,
            by_email,
        }
    }

    fn len(&self) -> usize {
        self.users.len()
    }

    fn get(&self, u: usize) -> &'a LiveUser {
        self.users[u]
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &'a LiveUser)> + '_ {
        self.users.iter().copied().enumerate()
    }

    fn primary(&self, email: &Email) -> Option<usize> {
        self.by_email.get(email).copied()
    }
}

/// A member of a managed group, with its account user (index) when there is one.
#[derive(Clone, Copy)]
struct Member<'a> {
    member: &'a LiveMember,
    user: Option<usize>,
}

/// A group the file declares, with its live counterpart if the account has one.
struct ManagedGroup<'a> {
    /// As the file spells it.
    name: GroupName,
    /// `name.key()`, computed once.
    key: String,
    description: Option<String>,
    live: Option<&'a LiveGroup>,
    /// Deduplicated, sorted; empty for a group to be created.
    members: Vec<Member<'a>>,
}

/// The managed groups in name order, matched to the live ones case-insensitively.
fn managed_groups<'a>(
    desired: &'a DesiredState,
    live: &'a LiveState,
    users: &UserIndex<'a>,
    warnings: &mut Warnings,
) -> Result<Vec<ManagedGroup<'a>>, PlanError> {
    let mut live_by_name: BTreeMap<String, BTreeMap<&AccessGroupId, &LiveGroup>> = BTreeMap::new();
    for group in live
        .groups
        .iter()
        .filter(|g| !is_public_access(g.id.as_str(), g.name.as_str()))
    {
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

    let mut managed = Vec::with_capacity(desired.groups.len());
    let mut missing = Vec::new();
    for (name, declared) in &desired.groups {
        let key = name.key();
        if is_public_access_name(name.as_str()) {
            continue; // config refuses it; never manage it even if handed one
        }
        let candidates = live_by_name.get(&key);
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
                Vec::new()
            }
            Some(lg) => match &lg.members {
                Some(members) => {
                    let mut ms: Vec<&LiveMember> = members.iter().collect();
                    ms.sort_unstable();
                    ms.dedup();
                    ms.into_iter()
                        .map(|member| Member {
                            member,
                            user: users.by_iam.get(&member.iam_id).copied(),
                        })
                        .collect()
                }
                None => {
                    return Err(PlanError::MembersNotRead {
                        group: name.clone(),
                        group_id: lg.id.clone(),
                    });
                }
            },
        };
        managed.push(ManagedGroup {
            name: name.clone(),
            key,
            description: declared.description.clone(),
            live: live_group,
            members,
        });
    }
    if !desired.policy.create_groups && !missing.is_empty() {
        return Err(PlanError::MissingGroups { groups: missing });
    }
    // `desired.groups` is ordered by GroupName, which orders as the keys do; sorting by
    // key makes that explicit for the binary searches over group indices.
    managed.sort_by(|a, b| a.key.cmp(&b.key));
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
fn member_line(member: Member<'_>, users: &UserIndex<'_>) -> String {
    if member.member.kind != MemberKind::User {
        return format!("{} ({})", member.member.iam_id, member.member.kind.as_str());
    }
    match member.user {
        None => format!("{} (not in User Management)", member.member.iam_id),
        Some(u) => user_line(users.get(u)),
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
    groups: &[ManagedGroup<'_>],
    group_index: &HashMap<&str, usize>,
    users: &UserIndex<'_>,
    groups_of_user: &[Vec<usize>],
    replaced: &[usize],
    changes: &[Change],
) -> BTreeMap<GroupName, Roster> {
    // Per group index: the iam_ids that leave, and the lines that join.
    let mut leave: BTreeMap<usize, HashSet<&str>> = BTreeMap::new();
    let mut join: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let index = |g: &GroupName| group_index.get(g.key().as_str()).copied();
    for &u in replaced {
        for &gi in &groups_of_user[u] {
            leave
                .entry(gi)
                .or_default()
                .insert(users.get(u).iam_id.as_str());
        }
    }
    for change in changes {
        match change {
            Change::RemoveUser {
                iam_id,
                groups: left,
                ..
            } => {
                for gi in left.iter().filter_map(index) {
                    leave.entry(gi).or_default().insert(iam_id.as_str());
                }
            }
            Change::RemoveMember { group, iam_id, .. } => {
                if let Some(gi) = index(group) {
                    leave.entry(gi).or_default().insert(iam_id.as_str());
                }
            }
            Change::InviteUser {
                email,
                groups: joins,
                ..
            } => {
                for gi in joins.iter().filter_map(index) {
                    join.entry(gi)
                        .or_default()
                        .push(format!("{email} (invited)"));
                }
            }
            // Planned only for non-members, so each adds a line.
            Change::AddMember {
                group,
                iam_id,
                email,
                ..
            } => {
                if let Some(gi) = index(group) {
                    let line = users
                        .by_iam
                        .get(iam_id)
                        .map(|&u| user_line(users.get(u)))
                        .unwrap_or_else(|| email.to_string());
                    join.entry(gi).or_default().push(line);
                }
            }
            Change::CreateGroup { .. } | Change::UpdateGroup { .. } => {}
        }
    }
    let touched: BTreeSet<usize> = leave.keys().chain(join.keys()).copied().collect();
    touched
        .into_iter()
        .filter_map(|gi| {
            let group = groups.get(gi)?;
            let leaving = leave.get(&gi);
            let mut before = Vec::with_capacity(group.members.len());
            let mut after = Vec::with_capacity(group.members.len());
            for &member in &group.members {
                let line = member_line(member, users);
                if !leaving.is_some_and(|l| l.contains(member.member.iam_id.as_str())) {
                    after.push(line.clone());
                }
                before.push(line);
            }
            after.extend(join.remove(&gi).unwrap_or_default());
            Some((
                group.name.clone(),
                Roster {
                    before: sorted_lines(before),
                    after: sorted_lines(after),
                },
            ))
        })
        .collect()
}

/// Case-insensitively, so `IBMid-...` lines do not jump ahead of every email; ties (lines
/// differing only in case) in byte order, so the result is fully determined.
fn sorted_lines(mut lines: Vec<String>) -> Vec<String> {
    lines.sort_unstable_by(|a, b| {
        let folded = |s: &String| s.chars().flat_map(char::to_lowercase).collect::<Vec<_>>();
        if a.is_ascii() && b.is_ascii() {
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
                .then_with(|| a.cmp(b))
        } else {
            folded(a).cmp(&folded(b)).then_with(|| a.cmp(b))
        }
    });
    lines
}
