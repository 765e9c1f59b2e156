//! The three faces of a plan (docs/cli.md): text for terminals and CI logs, markdown for
//! pull-request comments, JSON for machines and saved plans.
//!
//! Text and markdown present the same content, so both are drawn from one [`Sections`]
//! view here: custom roles, then changes grouped per access group (what it grants, its
//! rules, its members), then account-level changes.

mod json;
mod markdown;
mod text;

pub use json::render_json;
pub use markdown::render_markdown;
pub use text::render_text;

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Email, GroupName, IamId, RoleName, RuleCondition, RuleId};

use super::change::{Change, ChangeKind, groups_left, join_groups};
use super::types::{Plan, Roster, Summary};

/// `Plan: 2 to invite, 3 to add, 1 to remove.`: every kind the plan holds, in execution
/// order, and only those; or the no-changes sentence.
pub fn summary_line(plan: &Plan) -> String {
    let s = Summary::of(&plan.changes);
    if s.total == 0 {
        return "No changes. The account matches the file.".to_string();
    }
    let parts: Vec<String> = ChangeKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let n = s.count(kind);
            (n > 0).then(|| summary_part(kind, n))
        })
        .collect();
    format!("Plan: {}.", parts.join(", "))
}

/// One kind's part of the summary line: `2 to invite`, `1 policy to create`.
fn summary_part(kind: ChangeKind, n: usize) -> String {
    let (thing, what) = match kind {
        ChangeKind::CreateRole => (Some(("role", "roles")), "to create"),
        ChangeKind::UpdateRole => (Some(("role", "roles")), "to update"),
        ChangeKind::CreateGroup => (Some(("group", "groups")), "to create"),
        ChangeKind::UpdateGroup => (Some(("group", "groups")), "to update"),
        ChangeKind::CreatePolicy => (Some(("policy", "policies")), "to create"),
        ChangeKind::UpdatePolicy => (Some(("policy", "policies")), "to update"),
        ChangeKind::CreateRule => (Some(("rule", "rules")), "to create"),
        ChangeKind::UpdateRule => (Some(("rule", "rules")), "to update"),
        ChangeKind::InviteUser => (None, "to invite"),
        ChangeKind::AddMember => (None, "to add"),
        ChangeKind::RemoveMember => (None, "to remove"),
        ChangeKind::RemoveRule => (Some(("rule", "rules")), "to remove"),
        ChangeKind::RemovePolicy => (Some(("policy", "policies")), "to remove"),
        ChangeKind::RemoveUser => (Some(("user", "users")), "to remove from the account"),
    };
    match thing {
        Some((one, many)) => format!("{n} {} {what}", if n == 1 { one } else { many }),
        None => format!("{n} {what}"),
    }
}

/// `1 service ID or trusted profile`, `2 service IDs or trusted profiles`: `n` and the
/// phrase for one or for several.
pub(super) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a line of the plan does: adds, removes, or changes in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sign {
    Add,
    Remove,
    Update,
}

struct MemberLine {
    sign: Sign,
    who: String,
    /// "invited", "leaves the account", ... (empty for a plain add/remove).
    note: &'static str,
}

/// One line of a group's or a role's changes, with details below it (a role's actions).
struct Line {
    sign: Sign,
    text: String,
    details: Vec<Detail>,
}

/// A line below a [`Line`]: a change of its own, or plain information (`sign: None`).
struct Detail {
    sign: Option<Sign>,
    text: String,
}

/// One access group's part of the plan.
struct GroupSection<'a> {
    name: &'a GroupName,
    /// The group itself is created.
    created: Option<&'a Option<String>>,
    /// `(old, new)` description.
    updated: Option<(&'a str, &'a str)>,
    /// Grants, role changes and revocations, in the plan's order.
    access: Vec<Line>,
    /// Dynamic rules created, replaced and removed, in the plan's order.
    rules: Vec<Line>,
    members: Vec<MemberLine>,
    roster: Option<&'a Roster>,
}

/// Changes not about one group: invitations and account removals.
struct AccountLine {
    sign: Sign,
    text: String,
}

struct Sections<'a> {
    /// Custom roles created and updated.
    roles: Vec<Line>,
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
            roles: Vec::new(),
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
    roles: Vec<Line>,
    /// Keyed by GroupName: case-insensitive, sorted like the plan.
    groups: BTreeMap<&'a GroupName, GroupSection<'a>>,
    account: Vec<AccountLine>,
}

impl<'a> SectionsBuilder<'a> {
    fn add(&mut self, change: &'a Change) {
        match change {
            Change::CreateRole { .. } | Change::UpdateRole { .. } => {
                self.roles.extend(role_line(change));
            }
            Change::CreatePolicy { group, .. }
            | Change::UpdatePolicy { group, .. }
            | Change::RemovePolicy { group, .. } => {
                let line = access_line(change);
                self.section(group).access.extend(line);
            }
            Change::CreateRule { group, .. }
            | Change::UpdateRule { group, .. }
            | Change::RemoveRule { group, .. } => {
                let line = rule_line(change);
                self.section(group).rules.extend(line);
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
                other_groups,
            } => {
                for g in joins {
                    self.member(g, Sign::Add, email.to_string(), "invited");
                }
                self.account.push(invite_line(
                    email,
                    joins,
                    replaces_iam_id.as_ref(),
                    other_groups,
                ));
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
                other_groups,
            } => {
                for g in leaves {
                    let who = who(Some(email), iam_id);
                    self.member(g, Sign::Remove, who, "removed from the account");
                }
                self.account
                    .push(removal_line(email, iam_id, leaves, other_groups));
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
            access: Vec::new(),
            rules: Vec::new(),
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
            roles: self.roles,
            groups,
            account: self.account,
        }
    }
}

fn line(sign: Sign, text: String) -> Line {
    Line {
        sign,
        text,
        details: Vec::new(),
    }
}

fn roles_text(roles: &[RoleName]) -> String {
    if roles.is_empty() {
        "no role".to_string()
    } else {
        roles
            .iter()
            .map(RoleName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `+ grant Reader, JobManager on quantum-computing instance QR-ml`,
/// `~ Reader → Reader, Writer on …`, `- revoke Viewer on …`.
fn access_line(change: &Change) -> Option<Line> {
    Some(match change {
        Change::CreatePolicy { target, roles, .. } => line(
            Sign::Add,
            format!("grant {} on {target}", roles_text(roles)),
        ),
        Change::UpdatePolicy {
            target,
            roles,
            old_roles,
            ..
        } => line(
            Sign::Update,
            format!(
                "{} → {} on {target}",
                roles_text(old_roles),
                roles_text(roles)
            ),
        ),
        Change::RemovePolicy { target, roles, .. } => line(
            Sign::Remove,
            format!("revoke {} on {target}", roles_text(roles)),
        ),
        _ => return None,
    })
}

/// `claim OPERATOR "value"`, joined by `and`.
fn conditions_text(conditions: &[RuleCondition]) -> String {
    if conditions.is_empty() {
        return "no condition".to_string();
    }
    conditions
        .iter()
        .map(|c| format!("{} {} {:?}", c.claim, c.operator, c.value))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn rule_name(rule: &str, id: Option<&RuleId>) -> String {
    match (rule.is_empty(), id) {
        (false, _) => rule.to_string(),
        (true, Some(id)) => format!("(unnamed, id {id})"),
        (true, None) => "(unnamed)".to_string(),
    }
}

/// `+ rule ml-project: project CONTAINS "ml" (realm …, 24 h sessions)`, and the fields
/// that change for a replaced rule.
fn rule_line(change: &Change) -> Option<Line> {
    Some(match change {
        Change::CreateRule {
            rule,
            realm,
            expiration_hours,
            conditions,
            ..
        } => line(
            Sign::Add,
            format!(
                "rule {}: {} (realm {realm}, {expiration_hours} h sessions)",
                rule_name(rule, None),
                conditions_text(conditions)
            ),
        ),
        Change::UpdateRule {
            rule,
            rule_id,
            realm,
            expiration_hours,
            conditions,
            old_realm,
            old_expiration_hours,
            old_conditions,
            ..
        } => {
            let mut parts = Vec::new();
            if let Some(old) = old_realm {
                parts.push(format!("realm {old} → {realm}"));
            }
            if let Some(old) = old_expiration_hours {
                parts.push(format!("sessions {old} h → {expiration_hours} h"));
            }
            if let Some(old) = old_conditions {
                parts.push(format!(
                    "{} → {}",
                    conditions_text(old),
                    conditions_text(conditions)
                ));
            }
            line(
                Sign::Update,
                format!(
                    "rule {}: {}",
                    rule_name(rule, Some(rule_id)),
                    parts.join("; ")
                ),
            )
        }
        Change::RemoveRule { rule, rule_id, .. } => line(
            Sign::Remove,
            format!("rule {}", rule_name(rule, Some(rule_id))),
        ),
        _ => return None,
    })
}

/// A custom role created or updated, with what it holds or what changes in it.
fn role_line(change: &Change) -> Option<Line> {
    let info = |text: String| Detail { sign: None, text };
    let action = |sign: Sign, a: &str| Detail {
        sign: Some(sign),
        text: a.to_string(),
    };
    Some(match change {
        Change::CreateRole {
            role,
            service,
            display_name,
            description,
            actions,
        } => {
            let mut details = Vec::new();
            if let Some(d) = description {
                details.push(info(format!("description: {d:?}")));
            }
            details.extend(actions.iter().map(|a| action(Sign::Add, a)));
            Line {
                sign: Sign::Add,
                text: format!("role {role} for {service}: {display_name:?}"),
                details,
            }
        }
        Change::UpdateRole {
            role,
            service,
            display_name,
            description,
            actions,
            old_display_name,
            old_description,
            old_actions,
            ..
        } => {
            let mut details = Vec::new();
            let mut changed = |what: &str, old: &str, new: &str| {
                if old != new {
                    details.push(Detail {
                        sign: Some(Sign::Update),
                        text: format!("{what}: {old:?} -> {new:?}"),
                    });
                }
            };
            changed("display name", old_display_name, display_name);
            changed("description", old_description, description);
            let old: BTreeSet<&String> = old_actions.iter().collect();
            let new: BTreeSet<&String> = actions.iter().collect();
            details.extend(new.difference(&old).map(|a| action(Sign::Add, a)));
            details.extend(old.difference(&new).map(|a| action(Sign::Remove, a)));
            Line {
                sign: Sign::Update,
                text: format!("role {role} for {service}"),
                details,
            }
        }
        _ => return None,
    })
}

fn invite_line(
    email: &Email,
    joins: &[GroupName],
    replaces: Option<&IamId>,
    others: &[GroupName],
) -> AccountLine {
    let into = if joins.is_empty() {
        " into no managed group".to_string()
    } else {
        format!(" into {}", join_groups(joins))
    };
    let replacing = match replaces {
        Some(old) if others.is_empty() => format!(", replacing the failed invitation {old}"),
        Some(old) => format!(
            ", replacing the failed invitation {old}, which leaves {}",
            groups_left(&[], others).unwrap_or_default()
        ),
        None => String::new(),
    };
    AccountLine {
        sign: Sign::Add,
        text: format!("invite {email}{into}{replacing}"),
    }
}

fn removal_line(
    email: &Email,
    iam_id: &IamId,
    leaves: &[GroupName],
    others: &[GroupName],
) -> AccountLine {
    let leaving = (groups_left(leaves, others))
        .map(|left| format!(", leaving {left}"))
        .unwrap_or_default();
    AccountLine {
        sign: Sign::Remove,
        text: if email.as_str().is_empty() {
            format!("remove {iam_id} from the account{leaving}")
        } else {
            format!("remove {email} ({iam_id}) from the account{leaving}")
        },
    }
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
