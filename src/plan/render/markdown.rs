//! The plan as a pull-request comment: the summary first, a table per access group, long
//! sections folded into `<details>`.
//!
//! Names come from the file and the account, so they are escaped for markdown and HTML:
//! a group called `@org/admins` must not ping a team, and a `|` must not break a table.

use std::fmt::Write as _;

use super::{
    AccountLine, DiffLine, GroupSection, Line, Sections, Sign, as_lines, count, roster_diff,
    summary_line,
};
use crate::plan::render::text::escape_controls;
use crate::plan::types::{Plan, Roster, UnmanagedMember};

/// Sections longer than this many rows are folded.
const FOLD_AFTER: usize = 10;

/// Renders the plan as GitHub-flavoured markdown.
pub fn render_markdown(plan: &Plan) -> String {
    let mut md = String::new();
    let sections = Sections::of(plan);
    let _ = writeln!(md, "**{}**", md_escape(&summary_line(plan)));
    let _ = writeln!(md);
    let _ = writeln!(md, "Account `{}`", code_escape(plan.account_id.as_str()));
    write_roles(&mut md, &sections.roles);
    for group in &sections.groups {
        write_group(&mut md, group);
    }
    write_account(&mut md, &sections.account);
    write_warnings(&mut md, plan);
    write_unmanaged(&mut md, plan);
    md
}

/// One access group: its heading, description, member changes and roster diff.
fn write_group(md: &mut String, group: &GroupSection<'_>) {
    let _ = writeln!(md);
    let what = if group.created.is_some() {
        "new access group"
    } else {
        "access group"
    };
    let _ = writeln!(md, "#### {} ({what})", md_escape(group.name.as_str()));
    let _ = writeln!(md);
    if let Some(description) = group.created {
        match description {
            Some(d) => {
                let _ = writeln!(md, "Description: {}", md_escape(d));
            }
            None => {
                let _ = writeln!(md, "No description.");
            }
        }
        let _ = writeln!(md);
    }
    if let Some((old, new)) = group.updated {
        let _ = writeln!(
            md,
            "Description: ~~{}~~ → {}",
            md_escape(old),
            md_escape(new)
        );
        let _ = writeln!(md);
    }
    write_lines(md, "Access", "access changes", &group.access);
    write_lines(md, "Dynamic rules", "rule changes", &group.rules);
    if !group.members.is_empty() {
        let mut table = String::new();
        let _ = writeln!(table, "| Change | Member | Note |");
        let _ = writeln!(table, "|---|---|---|");
        for m in &group.members {
            let change = match m.sign {
                Sign::Add => "➕ add",
                Sign::Remove => "➖ remove",
                Sign::Update => "🔄 change",
            };
            let _ = writeln!(
                table,
                "| {change} | {} | {} |",
                md_escape(&m.who),
                md_escape(m.note)
            );
        }
        fold(
            md,
            &format!("{} membership changes", group.members.len()),
            group.members.len(),
            &table,
        );
    }
    if let Some(roster) = group.roster {
        write_roster(md, roster);
    }
}

/// The roster as a folded `diff` block.
fn write_roster(md: &mut String, roster: &Roster) {
    let mut diff = String::new();
    roster_diff(
        &as_lines(&roster.before),
        &as_lines(&roster.after),
        |line| {
            let _ = match line {
                DiffLine::Hunk(h) => writeln!(diff, "{h}"),
                DiffLine::Same(l) => writeln!(diff, " {}", escape_controls(l)),
                DiffLine::Added(l) => writeln!(diff, "+{}", escape_controls(l)),
                DiffLine::Removed(l) => writeln!(diff, "-{}", escape_controls(l)),
            };
        },
    );
    let fence = fence_for(&diff);
    let _ = writeln!(
        md,
        "<details><summary>Members: {} before, {} after</summary>\n\n{fence}diff\n{diff}{fence}\n\n</details>",
        roster.before.len(),
        roster.after.len()
    );
}

fn write_account(md: &mut String, account: &[AccountLine]) {
    if account.is_empty() {
        return;
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "#### Account users");
    let _ = writeln!(md);
    let mut list = String::new();
    for line in account {
        let _ = writeln!(list, "- {} {}", emoji(line.sign), md_escape(&line.text));
    }
    fold(
        md,
        &format!("{} account changes", account.len()),
        account.len(),
        &list,
    );
}

fn emoji(sign: Sign) -> &'static str {
    match sign {
        Sign::Add => "➕",
        Sign::Remove => "➖",
        Sign::Update => "🔄",
    }
}

/// Change lines as a list, each with its details as a nested list.
fn list_of(lines: &[Line]) -> String {
    let mut list = String::new();
    for line in lines {
        let _ = writeln!(list, "- {} {}", emoji(line.sign), md_escape(&line.text));
        for detail in &line.details {
            let _ = match detail.sign {
                Some(sign) => writeln!(list, "  - {} {}", emoji(sign), md_escape(&detail.text)),
                None => writeln!(list, "  - {}", md_escape(&detail.text)),
            };
        }
    }
    list
}

/// A group's access or rule changes under a label of their own.
fn write_lines(md: &mut String, label: &str, fold_title: &str, lines: &[Line]) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(md, "{label}:");
    let _ = writeln!(md);
    fold(
        md,
        &format!("{} {fold_title}", lines.len()),
        lines.len(),
        &list_of(lines),
    );
}

fn write_roles(md: &mut String, roles: &[Line]) {
    if roles.is_empty() {
        return;
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "#### Custom roles");
    let _ = writeln!(md);
    let rows: usize = roles.iter().map(|r| 1 + r.details.len()).sum();
    fold(
        md,
        &format!("{} role changes", roles.len()),
        rows,
        &list_of(roles),
    );
}

fn write_warnings(md: &mut String, plan: &Plan) {
    if plan.warnings.is_empty() {
        return;
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "#### ⚠️ Warnings");
    let _ = writeln!(md);
    let mut list = String::new();
    for w in &plan.warnings {
        let _ = writeln!(list, "- {}", md_escape(&w.to_string()));
    }
    fold(
        md,
        &format!("{} warnings", plan.warnings.len()),
        plan.warnings.len(),
        &list,
    );
}

fn write_unmanaged(md: &mut String, plan: &Plan) {
    let unmanaged = &plan.unmanaged;
    if unmanaged.users == 0
        && unmanaged.members.is_empty()
        && unmanaged.policies == 0
        && unmanaged.dynamic_members.is_empty()
    {
        return;
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "#### Unmanaged (left alone)");
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "- {} the file does not list",
        count(unmanaged.users, "account user", "account users")
    );
    if !unmanaged.members.is_empty() {
        let _ = writeln!(
            md,
            "- {} in managed groups",
            count(
                unmanaged.members.len(),
                "service ID or trusted profile",
                "service IDs or trusted profiles"
            )
        );
    }
    if unmanaged.policies > 0 {
        let _ = writeln!(
            md,
            "- {} of managed groups that the file cannot express (conditions, other \
             attributes, tags, or a second policy of one target)",
            count(unmanaged.policies, "access policy", "access policies")
        );
        for p in &unmanaged.unexpressible_policies {
            let _ = writeln!(
                md,
                "  - {}: policy `{}` ({})",
                md_escape(p.group.as_str()),
                code_escape(p.policy_id.as_str()),
                md_escape(&p.reason)
            );
        }
    }
    if !unmanaged.dynamic_members.is_empty() {
        let _ = writeln!(
            md,
            "- {} of managed groups, added by dynamic rules at login",
            count(
                unmanaged.dynamic_members.len(),
                "dynamic member",
                "dynamic members"
            )
        );
    }
    if !unmanaged.members.is_empty() {
        let _ = writeln!(md);
        members_table(md, "Unmanaged members", &unmanaged.members);
    }
    if !unmanaged.dynamic_members.is_empty() {
        let _ = writeln!(md);
        members_table(md, "Dynamic members", &unmanaged.dynamic_members);
    }
}

fn members_table(md: &mut String, title: &str, members: &[UnmanagedMember]) {
    let mut table = String::from("| Group | Identity | Type |\n|---|---|---|\n");
    for m in members {
        let _ = writeln!(
            table,
            "| {} | `{}` | {} |",
            md_escape(m.group.as_str()),
            code_escape(m.iam_id.as_str()),
            md_escape(&m.kind)
        );
    }
    let _ = writeln!(
        md,
        "<details><summary>{title}</summary>\n\n{table}\n</details>"
    );
}

/// Writes `body`, folded into `<details>` when it has more than [`FOLD_AFTER`] rows.
fn fold(md: &mut String, title: &str, rows: usize, body: &str) {
    if rows > FOLD_AFTER {
        let _ = writeln!(
            md,
            "<details><summary>{title}</summary>\n\n{body}\n</details>\n"
        );
    } else {
        let _ = writeln!(md, "{body}");
    }
}

/// Escapes text for markdown prose and table cells: markdown punctuation is
/// backslash-escaped, HTML-significant characters and `@` (mentions) become entities.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("&#64;"),
            // Parentheses need no escape: no `[` survives to open a link.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Inline code cannot hold a backtick or a table's `|`; ids never contain either, but the
/// value is replaced rather than trusted.
fn code_escape(s: &str) -> String {
    escape_controls(s).replace(['`', '|'], "?")
}

/// A code fence longer than any run of backticks in `body`.
fn fence_for(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}
