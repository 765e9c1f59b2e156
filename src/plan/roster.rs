//! The before/after member lines of each group a plan changes: the text diff's input.
//!
//! Computed from the planner's index and the finished changes, so the rosters show exactly
//! what the changes do. They are display aids: never serialised (docs/cli.md).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{GroupName, LiveUser, MemberKind, Membership, UserState};

use super::change::Change;
use super::index::{GroupIx, ManagedGroups, Member, UserIndex, UserIx, user_email};
use super::types::Roster;

/// Before/after member lines of every group whose membership the plan changes.
/// `replaced`: the failed invitations the plan replaces (they leave every group).
pub(super) fn rosters(
    groups: &ManagedGroups<'_>,
    users: &UserIndex<'_>,
    replaced: &[UserIx],
    changes: &[Change],
) -> BTreeMap<GroupName, Roster> {
    let (mut leave, mut join) = movements(groups, users, replaced, changes);
    let touched: BTreeSet<GroupIx> = leave.keys().chain(join.keys()).copied().collect();
    touched
        .into_iter()
        .map(|g| {
            let group = &groups[g];
            let leaving = leave.remove(&g);
            let mut before = Vec::with_capacity(group.members.len());
            let mut after = Vec::with_capacity(group.members.len());
            for &member in &group.members {
                let line = member_line(member, users);
                // A membership call never takes out a rule's member; leaving the account
                // takes out every membership.
                let leaves = match leaving
                    .as_ref()
                    .and_then(|l| l.get(member.member.iam_id.as_str()))
                {
                    Some(Leaves::Account) => true,
                    Some(Leaves::Group) => member.member.membership == Membership::Static,
                    None => false,
                };
                if !leaves {
                    after.push(line.clone());
                }
                before.push(line);
            }
            after.extend(join.remove(&g).unwrap_or_default());
            (
                group.name.clone(),
                Roster {
                    before: sorted_lines(before),
                    after: sorted_lines(after),
                },
            )
        })
        .collect()
}

/// How an identity leaves a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Leaves {
    /// By a membership call: its static membership.
    Group,
    /// With the account: every membership.
    Account,
}

/// Per group: the iam_ids that leave and how, and the lines that join.
type Movements<'c> = (
    BTreeMap<GroupIx, HashMap<&'c str, Leaves>>,
    BTreeMap<GroupIx, Vec<String>>,
);

fn movements<'c>(
    groups: &ManagedGroups<'_>,
    users: &'c UserIndex<'_>,
    replaced: &[UserIx],
    changes: &'c [Change],
) -> Movements<'c> {
    let mut leave: BTreeMap<GroupIx, HashMap<&str, Leaves>> = BTreeMap::new();
    let mut join: BTreeMap<GroupIx, Vec<String>> = BTreeMap::new();
    for &u in replaced {
        for &g in groups.of_user(u) {
            leave
                .entry(g)
                .or_default()
                .insert(users.get(u).iam_id.as_str(), Leaves::Account);
        }
    }
    for change in changes {
        match change {
            Change::RemoveUser {
                iam_id,
                groups: left,
                ..
            } => {
                for g in left.iter().filter_map(|name| groups.find(name)) {
                    leave
                        .entry(g)
                        .or_default()
                        .insert(iam_id.as_str(), Leaves::Account);
                }
            }
            Change::RemoveMember { group, iam_id, .. } => {
                if let Some(g) = groups.find(group) {
                    leave
                        .entry(g)
                        .or_default()
                        .entry(iam_id.as_str())
                        .or_insert(Leaves::Group);
                }
            }
            Change::InviteUser {
                email,
                groups: joins,
                ..
            } => {
                for g in joins.iter().filter_map(|name| groups.find(name)) {
                    join.entry(g)
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
                if let Some(g) = groups.find(group) {
                    let line = users
                        .find(iam_id)
                        .map(|u| user_line(users.get(u)))
                        .unwrap_or_else(|| email.to_string());
                    join.entry(g).or_default().push(line);
                }
            }
            // Grants and rules change no static member.
            Change::CreateGroup { .. }
            | Change::UpdateGroup { .. }
            | Change::CreateRole { .. }
            | Change::UpdateRole { .. }
            | Change::CreatePolicy { .. }
            | Change::UpdatePolicy { .. }
            | Change::RemovePolicy { .. }
            | Change::CreateRule { .. }
            | Change::UpdateRule { .. }
            | Change::RemoveRule { .. } => {}
        }
    }
    (leave, join)
}

/// How a member appears in a roster; a rule's members are marked, since no change of
/// the plan moves them.
fn member_line(member: Member<'_>, users: &UserIndex<'_>) -> String {
    if member.member.kind != MemberKind::User {
        return format!("{} ({})", member.member.iam_id, member.member.kind.as_str());
    }
    // An ID-provider user a rule admitted need not be in User Management: that is no
    // problem to point out.
    match (member.user, member.member.membership) {
        (None, Membership::Static) => format!("{} (not in User Management)", member.member.iam_id),
        (None, Membership::Dynamic) => format!("{} (dynamic)", member.member.iam_id),
        (Some(u), Membership::Static) => user_line(users.get(u)),
        (Some(u), Membership::Dynamic) => format!("{} (dynamic)", user_line(users.get(u))),
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
