//! The three faces of a plan (docs/cli.md): text for terminals and CI logs, markdown for
//! pull-request comments, JSON for machines and saved plans.
//!
//! Text and markdown present the same content, so both are drawn from one [`Sections`]
//! view here: changes grouped per access group, then account-level changes.

mod json;
mod markdown;
mod text;

pub use json::render_json;
pub use markdown::render_markdown;
pub use text::render_text;

use std::collections::BTreeMap;

use crate::model::{Email, GroupName, IamId};

use super::change::Change;
use super::types::{Plan, Roster, Summary};

/// `Plan: 2 to invite, 3 to add, 1 to remove.`, with group creations, updates and account
/// removals named when there are any; or the no-changes sentence.
pub fn summary_line(plan: &Plan) -> String {
    let s = Summary::of(&plan.changes);
    if s.total == 0 {
        return "No changes. The account matches the file.".to_string();
    }
    let mut parts = Vec::new();
    if s.create_group > 0 {
        parts.push(format!(
            "{} {} to create",
            s.create_group,
            noun(s.create_group, "group")
        ));
    }
    if s.update_group > 0 {
        parts.push(format!(
            "{} {} to update",
            s.update_group,
            noun(s.update_group, "group")
        ));
    }
    parts.push(format!("{} to invite", s.invite_user));
    parts.push(format!("{} to add", s.add_member));
    parts.push(format!("{} to remove", s.remove_member));
    if s.remove_user > 0 {
        parts.push(format!(
            "{} {} to remove from the account",
            s.remove_user,
            noun(s.remove_user, "user")
        ));
    }
    format!("Plan: {}.", parts.join(", "))
}

fn noun(n: usize, singular: &str) -> String {
    if n == 1 {
        singular.to_string()
    } else {
        format!("{singular}s")
    }
}

/// What happens to one person (or identity) in one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sign {
    Add,
    Remove,
}

struct MemberLine {
    sign: Sign,
    who: String,
    /// "invited", "leaves the account", ... (empty for a plain add/remove).
    note: &'static str,
}

/// One access group's part of the plan.
struct GroupSection<'a> {
    name: &'a GroupName,
    /// The group itself is created.
    created: Option<&'a Option<String>>,
    /// `(old, new)` description.
    updated: Option<(&'a str, &'a str)>,
    members: Vec<MemberLine>,
    roster: Option<&'a Roster>,
}

/// Changes not about one group: invitations and account removals.
struct AccountLine {
    sign: Sign,
    text: String,
}

struct Sections<'a> {
    groups: Vec<GroupSection<'a>>,
    account: Vec<AccountLine>,
}

fn who(email: Option<&Email>, iam_id: &IamId) -> String {
    match email {
        Some(e) if !e.as_str().is_empty() => e.to_string(),
        Some(_) => iam_id.to_string(),
        None => format!("{iam_id} (not in User Management)"),
    }
}

impl<'a> Sections<'a> {
    fn of(plan: &'a Plan) -> Self {
        let mut sections = SectionsBuilder {
            plan,
            groups: BTreeMap::new(),
            account: Vec::new(),
        };
        for change in &plan.changes {
            sections.add(change);
        }
        sections.finish()
    }
}

/// Sections being gathered, one change at a time.
struct SectionsBuilder<'a> {
    plan: &'a Plan,
    /// Keyed by GroupName: case-insensitive, sorted like the plan.
    groups: BTreeMap<&'a GroupName, GroupSection<'a>>,
    account: Vec<AccountLine>,
}

impl<'a> SectionsBuilder<'a> {
    fn add(&mut self, change: &'a Change) {
        match change {
            // Until grants and rules get sections of their own: one line each.
            Change::CreateRole { .. }
            | Change::UpdateRole { .. }
            | Change::CreatePolicy { .. }
            | Change::UpdatePolicy { .. }
            | Change::CreateRule { .. }
            | Change::UpdateRule { .. } => self.account.push(AccountLine {
                sign: Sign::Add,
                text: change.to_string(),
            }),
            Change::RemovePolicy { .. } | Change::RemoveRule { .. } => {
                self.account.push(AccountLine {
                    sign: Sign::Remove,
                    text: change.to_string(),
                })
            }
            Change::CreateGroup { group, description } => {
                self.section(group).created = Some(description);
            }
            Change::UpdateGroup {
                group,
                description,
                old_description,
                ..
            } => self.section(group).updated = Some((old_description, description)),
            Change::InviteUser {
                email,
                groups: joins,
                replaces_iam_id,
                ..
            } => {
                for g in joins {
                    self.member(g, Sign::Add, email.to_string(), "invited");
                }
                self.account
                    .push(invite_line(email, joins, replaces_iam_id.as_ref()));
            }
            Change::AddMember {
                group,
                email,
                iam_id,
                ..
            } => self.member(group, Sign::Add, who(Some(email), iam_id), ""),
            Change::RemoveMember {
                group,
                email,
                iam_id,
                ..
            } => self.member(group, Sign::Remove, who(email.as_ref(), iam_id), ""),
            Change::RemoveUser {
                email,
                iam_id,
                groups: leaves,
                ..
            } => {
                for g in leaves {
                    let who = who(Some(email), iam_id);
                    self.member(g, Sign::Remove, who, "removed from the account");
                }
                self.account.push(removal_line(email, iam_id, leaves));
            }
        }
    }

    fn member(&mut self, group: &'a GroupName, sign: Sign, who: String, note: &'static str) {
        self.section(group)
            .members
            .push(MemberLine { sign, who, note });
    }

    fn section(&mut self, name: &'a GroupName) -> &mut GroupSection<'a> {
        let roster = self.plan.rosters.get(name);
        self.groups.entry(name).or_insert_with(|| GroupSection {
            name,
            created: None,
            updated: None,
            members: Vec::new(),
            roster,
        })
    }

    fn finish(self) -> Sections<'a> {
        // Within a group: adds before removals, then by name, as in the plan's own order.
        let mut groups: Vec<GroupSection<'a>> = self.groups.into_values().collect();
        for g in &mut groups {
            g.members.sort_by(|a, b| {
                (a.sign == Sign::Remove, a.who.to_lowercase(), &a.who).cmp(&(
                    b.sign == Sign::Remove,
                    b.who.to_lowercase(),
                    &b.who,
                ))
            });
        }
        Sections {
            groups,
            account: self.account,
        }
    }
}

fn invite_line(email: &Email, joins: &[GroupName], replaces: Option<&IamId>) -> AccountLine {
    let into = if joins.is_empty() {
        " into no managed group".to_string()
    } else {
        format!(" into {}", join_names(joins))
    };
    let replacing = match replaces {
        Some(old) => format!(", replacing the failed invitation {old}"),
        None => String::new(),
    };
    AccountLine {
        sign: Sign::Add,
        text: format!("invite {email}{into}{replacing}"),
    }
}

fn removal_line(email: &Email, iam_id: &IamId, leaves: &[GroupName]) -> AccountLine {
    let leaving = if leaves.is_empty() {
        String::new()
    } else {
        format!(", leaving {}", join_names(leaves))
    };
    AccountLine {
        sign: Sign::Remove,
        text: if email.as_str().is_empty() {
            format!("remove {iam_id} from the account{leaving}")
        } else {
            format!("remove {email} ({iam_id}) from the account{leaving}")
        },
    }
}

fn join_names(names: &[GroupName]) -> String {
    names
        .iter()
        .map(GroupName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One roster line of a before/after diff.
enum DiffLine<'a> {
    Hunk(String),
    Same(&'a str),
    Added(&'a str),
    Removed(&'a str),
}

/// The roster as a unified diff (3 lines of context), made with `similar`.
fn roster_diff(before: &str, after: &str, mut emit: impl FnMut(DiffLine<'_>)) {
    let diff = similar::TextDiff::from_lines(before, after);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        emit(DiffLine::Hunk(hunk.header().to_string()));
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            emit(match change.tag() {
                similar::ChangeTag::Equal => DiffLine::Same(line),
                similar::ChangeTag::Insert => DiffLine::Added(line),
                similar::ChangeTag::Delete => DiffLine::Removed(line),
            });
        }
    }
}

/// Lines joined with a newline after each, as `similar` diffs lines.
fn as_lines(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}
