//! The plan for a terminal or a CI log.
//!
//! Colour is decided by the caller (`--color`, `NO_COLOR`, TTY) and passed in, so this
//! stays pure. Every name and description comes from the account or the file and may hold
//! control characters; they are shown escaped, so no value can move the cursor, recolour
//! the terminal or forge a line of the plan.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::{
    AccountLine, DiffLine, GroupSection, Line, Sections, Sign, as_lines, count, roster_diff,
    summary_line,
};
use crate::plan::types::{Plan, Roster};

const GREEN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const RED: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const YELLOW: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const CYAN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
const PLAIN: Style = Style::new();

/// Renders the plan as text; ANSI colours only when `color` is true.
pub fn render_text(plan: &Plan, color: bool) -> String {
    let mut out = Out {
        text: String::new(),
        color,
    };
    let sections = Sections::of(plan);
    if !sections.roles.is_empty() {
        out.line(PLAIN, "Custom roles:", 0, true);
        for role in &sections.roles {
            write_line(&mut out, role, 2);
        }
        out.blank();
    }
    for group in &sections.groups {
        write_group(&mut out, group);
    }
    if !sections.account.is_empty() {
        out.line(PLAIN, "Account users:", 0, true);
        for AccountLine { sign, text } in &sections.account {
            let (s, style) = sign_style(*sign);
            out.line(style, &format!("{s} {text}"), 2, false);
        }
        out.blank();
    }
    if !plan.warnings.is_empty() {
        out.line(YELLOW, "Warnings:", 0, true);
        for w in &plan.warnings {
            out.line(YELLOW, &format!("! {w}"), 2, false);
        }
        out.blank();
    }
    write_unmanaged(&mut out, plan);
    out.line(PLAIN, &summary_line(plan), 0, true);
    out.text
}

/// One access group: its heading, description, member changes and roster diff.
fn write_group(out: &mut Out, group: &GroupSection<'_>) {
    let (sign, style, what) = if group.created.is_some() {
        ("+", GREEN, "new access group")
    } else {
        ("~", YELLOW, "access group")
    };
    out.line(style, &format!("{sign} {what} {}", group.name), 0, true);
    if let Some(description) = group.created {
        match description {
            Some(d) => out.line(GREEN, &format!("+ description: {d:?}"), 4, false),
            None => out.line(PLAIN, "  (no description)", 4, false),
        }
    }
    if let Some((old, new)) = group.updated {
        out.line(
            YELLOW,
            &format!("~ description: {old:?} -> {new:?}"),
            4,
            false,
        );
    }
    for line in group.access.iter().chain(&group.rules) {
        write_line(out, line, 4);
    }
    for m in &group.members {
        let (sign, style) = sign_style(m.sign);
        let note = if m.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.note)
        };
        out.line(style, &format!("{sign} {}{note}", m.who), 4, false);
    }
    if let Some(roster) = group.roster {
        write_roster(out, roster);
    }
    out.blank();
}

/// A change line and its details, indented below it.
fn write_line(out: &mut Out, line: &Line, indent: usize) {
    let (sign, style) = sign_style(line.sign);
    out.line(style, &format!("{sign} {}", line.text), indent, false);
    for detail in &line.details {
        match detail.sign {
            Some(s) => {
                let (sign, style) = sign_style(s);
                out.line(style, &format!("{sign} {}", detail.text), indent + 4, false);
            }
            None => out.line(PLAIN, &detail.text, indent + 4, false),
        }
    }
}

fn write_roster(out: &mut Out, roster: &Roster) {
    out.line(
        PLAIN,
        &format!(
            "members: {} before, {} after",
            roster.before.len(),
            roster.after.len()
        ),
        4,
        true,
    );
    roster_diff(
        &as_lines(&roster.before),
        &as_lines(&roster.after),
        |line| match line {
            DiffLine::Hunk(h) => out.line(CYAN, &h, 6, false),
            DiffLine::Same(l) => out.line(PLAIN, &format!(" {l}"), 6, false),
            DiffLine::Added(l) => out.line(GREEN, &format!("+{l}"), 6, false),
            DiffLine::Removed(l) => out.line(RED, &format!("-{l}"), 6, false),
        },
    );
}

fn write_unmanaged(out: &mut Out, plan: &Plan) {
    let unmanaged = &plan.unmanaged;
    if unmanaged.users == 0
        && unmanaged.members.is_empty()
        && unmanaged.policies == 0
        && unmanaged.dynamic_members.is_empty()
    {
        return;
    }
    out.line(PLAIN, "Unmanaged (left alone):", 0, true);
    out.line(
        PLAIN,
        &format!(
            "{} the file does not list",
            count(unmanaged.users, "account user", "account users")
        ),
        2,
        false,
    );
    if !unmanaged.members.is_empty() {
        out.line(
            PLAIN,
            &format!(
                "{} in managed groups:",
                count(
                    unmanaged.members.len(),
                    "service ID or trusted profile",
                    "service IDs or trusted profiles"
                )
            ),
            2,
            false,
        );
        for m in &unmanaged.members {
            out.line(
                PLAIN,
                &format!("{}: {} ({})", m.group, m.iam_id, m.kind),
                4,
                false,
            );
        }
    }
    if unmanaged.policies > 0 {
        out.line(
            PLAIN,
            &format!(
                "{} of managed groups that the file cannot express (conditions, other \
                 attributes, tags, or a second policy of one target){}",
                count(unmanaged.policies, "access policy", "access policies"),
                if unmanaged.unexpressible_policies.is_empty() {
                    ""
                } else {
                    ":"
                }
            ),
            2,
            false,
        );
        for p in &unmanaged.unexpressible_policies {
            out.line(
                PLAIN,
                &format!("{}: policy {} ({})", p.group, p.policy_id, p.reason),
                4,
                false,
            );
        }
    }
    if !unmanaged.dynamic_members.is_empty() {
        out.line(
            PLAIN,
            &format!(
                "{} of managed groups, added by dynamic rules at login:",
                count(
                    unmanaged.dynamic_members.len(),
                    "dynamic member",
                    "dynamic members"
                )
            ),
            2,
            false,
        );
        for m in &unmanaged.dynamic_members {
            out.line(PLAIN, &format!("{}: {}", m.group, m.iam_id), 4, false);
        }
    }
    out.blank();
}

fn sign_style(sign: Sign) -> (&'static str, Style) {
    match sign {
        Sign::Add => ("+", GREEN),
        Sign::Remove => ("-", RED),
        Sign::Update => ("~", YELLOW),
    }
}

struct Out {
    text: String,
    color: bool,
}

impl Out {
    fn line(&mut self, style: Style, content: &str, indent: usize, bold: bool) {
        let content = escape_controls(content);
        let style = if bold { style.bold() } else { style };
        let _ = if self.color && style != PLAIN {
            writeln!(self.text, "{:indent$}{style}{content}{style:#}", "")
        } else {
            writeln!(self.text, "{:indent$}{content}", "")
        };
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }
}

/// Control characters (ESC, CR, newlines, ...) and bidirectional overrides (which can make
/// a line read differently from what it says) shown as `\u{..}` escapes.
pub(crate) fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if is_unsafe(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
