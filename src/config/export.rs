//! Writing a config file from a live account (`orgsync export`, SPEC §4).
//!
//! An administrator adopting orgsync on an existing account should not type 300 users by
//! hand, and should be able to trust that the file they start from changes nothing. So the
//! export is a pure function of the [`LiveState`] that writes exactly what the planner
//! needs to find no differences: every managed group with its live description, every user
//! of the account with their groups among the exported ones (users in none get
//! `groups: []`, so the file lists the whole account), and `unlisted_users: ignore`.
//!
//! What the file format cannot express is written as comments, never as entries: a failed
//! invitation (`ERROR_WHILE_PROCESSING`: an entry would be re-invited), a group member User
//! Management does not know (no email to list), a user whose email would not validate.
//! [`Export::unlistable`] names them, because the planner proposes removing their
//! memberships in exported groups — the file is authoritative for those groups' members —
//! and the command says so before anyone applies.
//!
//! The text is written by hand rather than serialized: YAML libraries cannot write
//! comments, and the comments are half the point. [`yaml_scalar`] is the one place that
//! decides how a string is quoted; its tests read every quoted form back through the
//! config's own YAML reader.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use super::validate::{MAX_DESCRIPTION_CHARS, MAX_GROUP_NAME_CHARS, email_problem};
use crate::model::{
    Email, GroupName, IamId, LiveGroup, LiveState, LiveUser, MemberKind, UserState,
};

/// A config file written from a live account, and what it could not list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The config file, in the SPEC §2 format, with explanatory comments.
    pub text: String,
    /// Groups written under `groups:`.
    pub groups: usize,
    /// Entries written under `users:`.
    pub users: usize,
    /// Of those, entries in at least one exported group.
    pub users_in_groups: usize,
    /// Service IDs, trusted profiles and other non-user members of exported groups
    /// (orgsync never changes them; they are mentioned in comments).
    pub unmanaged_members: usize,
    /// Account users and group members written only as comments, sorted.
    pub unlistable: Vec<Unlistable>,
}

impl Export {
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

/// An identity the file cannot list as an entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unlistable {
    pub iam_id: IamId,
    /// As User Management reports it (normalized); `None` when it does not know the iam_id
    /// or gave no email.
    pub email: Option<Email>,
    pub reason: UnlistableReason,
    /// Exported groups it is a member of.
    pub groups: Vec<GroupName>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnlistableReason {
    /// `ERROR_WHILE_PROCESSING`: listing it would make the plan re-invite it.
    FailedInvitation,
    /// A user-type group member that User Management does not list.
    UnknownToUserManagement,
    /// The email would not pass validation (the problem, as `validate` words it).
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
        .filter(|g| !is_public_access(g))
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
        if crate::model::is_public_access_name(trimmed) {
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

fn is_public_access(group: &LiveGroup) -> bool {
    crate::model::is_public_access(group.id.as_str(), group.name.as_str())
}

/// One exported group as it will be written.
struct OutGroup<'a> {
    live: &'a LiveGroup,
    /// Written when it fits the format; otherwise the file does not govern it.
    description: Option<&'a str>,
    /// Service IDs, profiles and other non-user members.
    unmanaged: Vec<(&'a IamId, &'a MemberKind)>,
    /// User-type members User Management does not know.
    unknown: Vec<&'a IamId>,
}

/// Writes the config for `live` with `chosen` as the managed groups (names as
/// [`choose_groups`] returned them; their members must have been read). Pure.
pub fn render(live: &LiveState, chosen: &[GroupName]) -> Export {
    let chosen: BTreeSet<&GroupName> = chosen.iter().collect();

    // The same dedup the planner makes: one entry per iam_id, then one per email.
    let mut by_iam: BTreeMap<&IamId, &LiveUser> = BTreeMap::new();
    for user in &live.users {
        by_iam
            .entry(&user.iam_id)
            .and_modify(|kept| {
                if user.dedup_key() < kept.dedup_key() {
                    *kept = user;
                }
            })
            .or_insert(user);
    }

    // Exported groups, and per user iam_id the exported groups it is a member of.
    let mut groups: Vec<OutGroup> = Vec::new();
    let mut skipped: Vec<(&LiveGroup, String)> = Vec::new();
    let mut member_of: BTreeMap<&IamId, BTreeSet<&GroupName>> = BTreeMap::new();
    let mut sorted_live: Vec<&LiveGroup> = live
        .groups
        .iter()
        .filter(|g| chosen.contains(&g.name) && !is_public_access(g))
        .collect();
    sorted_live.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    sorted_live.dedup_by(|b, a| a.name == b.name);
    for group in sorted_live {
        let chars = group.name.as_str().chars().count();
        if group.name.as_str().trim().is_empty() || chars > MAX_GROUP_NAME_CHARS {
            skipped.push((
                group,
                format!("its name is not 1 to {MAX_GROUP_NAME_CHARS} characters"),
            ));
            continue;
        }
        let description = (!group.description.is_empty()
            && group.description.chars().count() <= MAX_DESCRIPTION_CHARS)
            .then_some(group.description.as_str());
        let mut out = OutGroup {
            live: group,
            description,
            unmanaged: Vec::new(),
            unknown: Vec::new(),
        };
        let mut members: Vec<_> = group.members.iter().flatten().collect();
        members.sort();
        members.dedup();
        for member in members {
            if member.kind != MemberKind::User {
                out.unmanaged.push((&member.iam_id, &member.kind));
            } else if by_iam.contains_key(&member.iam_id) {
                member_of
                    .entry(&member.iam_id)
                    .or_default()
                    .insert(&group.name);
            } else {
                out.unknown.push(&member.iam_id);
            }
        }
        groups.push(out);
    }

    // Users: per email, the entry that stands for the person (as the planner picks it).
    let mut unlistable: Vec<Unlistable> = Vec::new();
    let groups_of = |iam: &IamId| -> Vec<GroupName> {
        member_of
            .get(iam)
            .map(|s| s.iter().map(|g| (*g).clone()).collect())
            .unwrap_or_default()
    };
    let mut by_email: BTreeMap<&Email, Vec<&LiveUser>> = BTreeMap::new();
    for user in by_iam.values() {
        if let Some(problem) = email_problem(user.email.as_str()) {
            unlistable.push(Unlistable {
                iam_id: user.iam_id.clone(),
                email: (!user.email.as_str().is_empty()).then(|| user.email.clone()),
                reason: UnlistableReason::InvalidEmail(problem),
                groups: groups_of(&user.iam_id),
            });
            continue;
        }
        by_email.entry(&user.email).or_default().push(user);
    }
    let mut entries: Vec<(&LiveUser, Vec<GroupName>)> = Vec::new();
    for (email, mut same) in by_email {
        same.sort_by(|a, b| a.standing_key().cmp(&b.standing_key()));
        let Some((primary, others)) = same.split_first() else {
            continue;
        };
        if primary.state == UserState::ErrorWhileProcessing {
            for user in same.iter() {
                unlistable.push(Unlistable {
                    iam_id: user.iam_id.clone(),
                    email: Some(email.clone()),
                    reason: UnlistableReason::FailedInvitation,
                    groups: groups_of(&user.iam_id),
                });
            }
            continue;
        }
        let listed = groups_of(&primary.iam_id);
        for other in others {
            // The planner keeps a duplicate's memberships where the email is placed; the
            // rest it removes, so those are what this entry cannot express.
            let beyond: Vec<GroupName> = groups_of(&other.iam_id)
                .into_iter()
                .filter(|g| !listed.contains(g))
                .collect();
            unlistable.push(Unlistable {
                iam_id: other.iam_id.clone(),
                email: Some(email.clone()),
                reason: UnlistableReason::DuplicateEmail,
                groups: beyond,
            });
        }
        entries.push((primary, listed));
    }
    for group in &groups {
        for iam in &group.unknown {
            match unlistable.iter_mut().find(|u| {
                u.iam_id == **iam && u.reason == UnlistableReason::UnknownToUserManagement
            }) {
                Some(known) => known.groups.push(group.live.name.clone()),
                None => unlistable.push(Unlistable {
                    iam_id: (*iam).clone(),
                    email: None,
                    reason: UnlistableReason::UnknownToUserManagement,
                    groups: vec![group.live.name.clone()],
                }),
            }
        }
    }
    unlistable.sort();

    let mut text = String::new();
    write_header(&mut text, live);
    write_policy(&mut text);
    write_groups(&mut text, &groups, &skipped);
    write_users(&mut text, &entries);
    write_unlistable(&mut text, &unlistable);

    Export {
        text,
        groups: groups.len(),
        users: entries.len(),
        users_in_groups: entries.iter().filter(|(_, g)| !g.is_empty()).count(),
        unmanaged_members: groups.iter().map(|g| g.unmanaged.len()).sum(),
        unlistable,
    }
}

fn write_header(out: &mut String, live: &LiveState) {
    // No timestamp: exporting an unchanged account twice gives the same bytes, so a diff
    // of two exports shows exactly the drift.
    let _ = write!(
        out,
        "\
# orgsync config written by `orgsync export` from IBM Cloud account {account}.
#
# It lists the access groups exported below and every user of the account, each with
# the exported groups they belong to (`groups: []`: in the account, in none of them).
# Right after the export, `orgsync plan` finds nothing to change.
#
# How to adopt it:
#   1. Review it: remove users and groups you do not mean to manage, fix what looks
#      wrong, and commit it (as org.yaml) to a repository where changes are reviewed.
#   2. `orgsync validate`, then `orgsync plan`: every change the plan shows comes from
#      your edits.
#   3. `orgsync apply` makes the account match.
#
# This file is AUTHORITATIVE for the members of the groups under `groups:`: once you
# apply, a user you take out of a group here is removed from that group in the account.
# Groups not listed are never read or changed. Service IDs and trusted profiles in
# groups are never changed (they are mentioned in comments).
#
# Editors validate as you type with this first line (and `orgsync schema > org.schema.json`):
#   # yaml-language-server: $schema=./org.schema.json

version: 1
account_id: {account_id}
",
        account = comment_text(live.account_id.as_str()),
        account_id = yaml_scalar(live.account_id.as_str()),
    );
}

fn write_policy(out: &mut String) {
    out.push_str(
        "
# How orgsync treats what this file does not say. These are the defaults, written out.
policy:
  # Account users this file does not list (or whose `expires` date has passed):
  # `ignore` leaves them in the account; `remove` removes them from the account.
  # The export keeps the safe default; every user is listed anyway.
  unlisted_users: ignore
  # apply refuses a plan with more removals (memberships and users) than this,
  # unless `--allow-removals N` covers them.
  max_removals: 10
  # Emails never removed from the account or from any group, whatever the file says.
  protected: []
  # Create groups declared here that the account lacks (false: plan fails instead).
  create_groups: true
  # Uncomment to require every email below to be in one of these domains:
  # allowed_domains: [example.com]
",
    );
}

fn write_groups(out: &mut String, groups: &[OutGroup], skipped: &[(&LiveGroup, String)]) {
    out.push_str(
        "
# The managed access groups, by name. A `description` here is kept in the account: a
# differing live description is updated by apply.
",
    );
    for (group, why) in skipped {
        let _ = writeln!(
            out,
            "# Not exported: group {} ({}): {why}.",
            comment_text(group.name.as_str()),
            group.id
        );
    }
    if groups.is_empty() {
        out.push_str("groups: {}\n");
        return;
    }
    out.push_str("groups:\n");
    for group in groups {
        let name = yaml_scalar(group.live.name.as_str());
        if group.live.description.chars().count() > MAX_DESCRIPTION_CHARS {
            let _ = writeln!(
                out,
                "  # The live description is longer than {MAX_DESCRIPTION_CHARS} characters, \
                 which the file format refuses; it is left out, so orgsync leaves it alone."
            );
        }
        match group.description {
            Some(description) => {
                let _ = writeln!(
                    out,
                    "  {name}:\n    description: {}",
                    yaml_scalar(description)
                );
            }
            None => {
                let _ = writeln!(out, "  {name}: {{}}");
            }
        }
        // Below the group's key, indented into it, so each note reads as the group's own.
        if !group.unmanaged.is_empty() {
            let _ = writeln!(out, "    # Also members, never changed by orgsync:");
            for (iam, kind) in &group.unmanaged {
                let _ = writeln!(
                    out,
                    "    #   {} ({})",
                    comment_text(iam.as_str()),
                    kind_label(kind)
                );
            }
        }
        if !group.unknown.is_empty() {
            let _ = writeln!(
                out,
                "    # Also members, unknown to User Management (so not listable here);"
            );
            let _ = writeln!(
                out,
                "    # `orgsync plan` proposes removing them from this group:"
            );
            for iam in &group.unknown {
                let _ = writeln!(out, "    #   {}", comment_text(iam.as_str()));
            }
        }
    }
}

fn kind_label(kind: &MemberKind) -> String {
    match kind {
        MemberKind::Service => "service ID".into(),
        MemberKind::Profile => "trusted profile".into(),
        MemberKind::User => "user".into(),
        MemberKind::Other(other) => format!("type {}", comment_text(other)),
    }
}

fn write_users(out: &mut String, entries: &[(&LiveUser, Vec<GroupName>)]) {
    out.push_str(
        "
# Every user of the account, by email, with the groups above they belong to.
",
    );
    if entries.is_empty() {
        out.push_str("users: {}\n");
        return;
    }
    out.push_str("users:\n");
    for (user, groups) in entries {
        let email = yaml_scalar(user.email.as_str());
        let note = match &user.state {
            UserState::Active => String::new(),
            UserState::Pending => "  # PENDING: invited, not accepted yet".into(),
            UserState::Processing => "  # PROCESSING: invitation being set up".into(),
            other => format!("  # state {}", comment_text(other.as_str())),
        };
        let list = groups
            .iter()
            .map(|g| yaml_scalar(g.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(out, "  {email}:{note}\n    groups: [{list}]");
    }
}

fn write_unlistable(out: &mut String, unlistable: &[Unlistable]) {
    if unlistable.is_empty() {
        return;
    }
    out.push_str(
        "
# Not listed as entries, because this file cannot manage them. Where they are members of
# the groups above, `orgsync plan` proposes removing those memberships (this file is
# authoritative for the groups' members); fix them in the console, or let apply do it.
",
    );
    for u in unlistable {
        let who = match &u.email {
            Some(email) => format!("{} ({})", comment_text(email.as_str()), u.iam_id),
            None => comment_text(u.iam_id.as_str()),
        };
        let groups = if u.groups.is_empty() {
            "in none of the groups above".to_string()
        } else {
            format!(
                "member of {}",
                u.groups
                    .iter()
                    .map(|g| comment_text(g.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(out, "#   {who}, {groups}:");
        for line in wrap(&format!("{}.", u.reason), 80) {
            let _ = writeln!(out, "#     {line}");
        }
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word gets
/// a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` as a YAML scalar that reads back as exactly the string `s`: plain when that is
/// unambiguous, double-quoted with escapes otherwise.
///
/// Plain only when the string starts with an ASCII letter and holds nothing but ASCII
/// letters, digits, `.`, `_`, `@`, `+`, `-`, `/`, `(`, `)`, `;`, `'` and inner single
/// spaces: that excludes
/// every indicator (`:`, `#`, `,`, brackets, quotes), numbers, and leading or trailing
/// space; the words YAML 1.1 reads as booleans or null are quoted too, so no reader
/// mistakes them. Valid in block and flow context alike.
pub fn yaml_scalar(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_plain_safe(s: &str) -> bool {
    const AMBIGUOUS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let Some(first) = s.chars().next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '.' | '_' | '@' | '+' | '-' | '/' | ' ' | '(' | ')' | ';' | '\''
                )
        })
        && !AMBIGUOUS.contains(&s.to_ascii_lowercase().as_str())
}

/// Characters a double-quoted YAML scalar must not hold raw: controls, YAML's extra line
/// breaks (NEL, LS, PS), the byte-order mark, and non-characters outside YAML's printable set.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Live text inside a comment: one line, whatever it holds.
fn comment_text(s: &str) -> String {
    if s.chars().any(needs_escape) {
        yaml_scalar(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccessGroupId, AccountId, LiveMember};
    use proptest::prelude::*;

    /// Reads `scalar` back the way a config file is read.
    fn read_back(scalar: &str) -> Result<String, String> {
        let doc = format!("key: {scalar}\nlist: [{scalar}, other]\n{scalar}: value\n");
        let tree = crate::config::yaml::parse_tree(&doc).map_err(|e| format!("{e:?}"))?;
        let crate::config::yaml::Value::Map(entries) = tree.value else {
            return Err(format!("not a mapping: {doc}"));
        };
        let strings: Vec<String> = entries
            .iter()
            .flat_map(|(k, v)| {
                let mut out = vec![k.value.clone()];
                match &v.value {
                    crate::config::yaml::Value::Seq(items) => {
                        out.extend(items.iter().map(|i| i.value.clone()));
                    }
                    other => out.push(other.clone()),
                }
                out
            })
            .map(|v| match v {
                crate::config::yaml::Value::Str(s) => s,
                other => format!("<{}>", other.kind()),
            })
            .collect();
        // key, value, list, item, other, the scalar as a key, value
        match strings.as_slice() {
            [_, a, _, b, _, c, _] if a == b && b == c => Ok(a.clone()),
            _ => Err(format!("read back differently: {strings:?} from {doc:?}")),
        }
    }

    #[test]
    fn plain_scalars_stay_plain_when_unambiguous() {
        for s in [
            "alice@example.com",
            "quantum-algorithms",
            "Algorithms research",
            "a.b+tag@sub.example.org",
            "it's",
            "Billing (not managed; ask first)",
        ] {
            assert_eq!(yaml_scalar(s), s);
            assert_eq!(read_back(&yaml_scalar(s)).as_deref(), Ok(s));
        }
    }

    #[test]
    fn the_read_back_check_catches_a_misquoted_scalar() {
        // Without this, a read_back that accepted anything would make the tests below vacuous.
        for unquoted in ["Team #1", "Research: phase 2", "true", "123", "[a]", " x"] {
            assert_ne!(read_back(unquoted).as_deref(), Ok(unquoted), "{unquoted}");
        }
    }

    #[test]
    fn strings_yaml_would_misread_are_double_quoted_and_read_back_exactly() {
        let cases = [
            ("", "\"\""),
            ("Research: phase 2", "\"Research: phase 2\""),
            ("Team #1", "\"Team #1\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("'quoted'", "\"'quoted'\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("two\nlines", "\"two\\nlines\""),
            ("yes", "\"yes\""),
            ("No", "\"No\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("123", "\"123\""),
            ("1e5", "\"1e5\""),
            (
                "0123456789abcdef0123456789abcdef",
                "\"0123456789abcdef0123456789abcdef\"",
            ),
            ("- item", "\"- item\""),
            ("[a, b]", "\"[a, b]\""),
            ("{x}", "\"{x}\""),
            ("&anchor", "\"&anchor\""),
            ("*alias", "\"*alias\""),
            ("!tag", "\"!tag\""),
            ("%percent", "\"%percent\""),
            ("@at", "\"@at\""),
            ("`tick`", "\"`tick`\""),
            (" leading", "\" leading\""),
            ("trailing ", "\"trailing \""),
            ("Quantenphysik – Gruppe ü", "\"Quantenphysik – Gruppe ü\""),
            ("量子计算", "\"量子计算\""),
            ("bell\u{7}", "\"bell\\u0007\""),
            ("line\u{2028}sep", "\"line\\u2028sep\""),
            ("\u{FEFF}bom", "\"\\uFEFFbom\""),
            ("tab\there", "\"tab\\there\""),
        ];
        for (raw, quoted) in cases {
            assert_eq!(yaml_scalar(raw), quoted, "quoting {raw:?}");
            assert_eq!(read_back(quoted).as_deref(), Ok(raw), "reading {quoted}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn any_string_reads_back_as_itself(s in "\\PC{0,24}|[ -~\\n\\t\\u{0}-\\u{1f}\\u{85}\\u{2028}]{0,24}") {
            prop_assert_eq!(read_back(&yaml_scalar(&s)), Ok(s));
        }
    }

    fn user(email: &str, iam: &str, state: UserState) -> LiveUser {
        LiveUser {
            iam_id: IamId::new(iam),
            email: Email::new(email),
            state,
            added_on: None,
        }
    }

    fn group(name: &str, description: &str, members: &[(&str, MemberKind)]) -> LiveGroup {
        LiveGroup {
            id: AccessGroupId::new(format!("AccessGroupId-{name}")),
            name: GroupName::new(name),
            description: description.into(),
            members: Some(
                members
                    .iter()
                    .map(|(iam, kind)| LiveMember {
                        iam_id: IamId::new(*iam),
                        kind: kind.clone(),
                    })
                    .collect(),
            ),
        }
    }

    fn live() -> LiveState {
        LiveState {
            account_id: AccountId::new("0123456789abcdef0123456789abcdef"),
            caller: IamId::new("IBMid-admin"),
            users: vec![
                user("Bob@Example.com", "IBMid-bob", UserState::Active),
                user("alice@example.com", "IBMid-alice", UserState::Pending),
                user(
                    "failed@example.com",
                    "IBMid-failed",
                    UserState::ErrorWhileProcessing,
                ),
                user("nobody@example.com", "IBMid-nobody", UserState::Active),
                user("not an email", "IBMid-bad", UserState::Active),
            ],
            groups: vec![
                group(
                    "quantum",
                    "Research: phase #2",
                    &[
                        ("IBMid-bob", MemberKind::User),
                        ("IBMid-alice", MemberKind::User),
                        ("IBMid-failed", MemberKind::User),
                        ("IBMid-ghost", MemberKind::User),
                        ("iam-ServiceId-robot", MemberKind::Service),
                    ],
                ),
                group("chemistry", "", &[("IBMid-alice", MemberKind::User)]),
                LiveGroup {
                    members: None,
                    ..group("finance", "Not exported", &[])
                },
            ],
        }
    }

    #[test]
    fn export_lists_every_user_with_their_exported_groups_and_comments_the_rest() {
        let live = live();
        let chosen =
            choose_groups(&live.groups, Some(&["Quantum".into(), "chemistry".into()])).unwrap();
        let export = render(&live, &chosen);
        let desired = crate::config::parse_str("export.yaml", &export.text)
            .unwrap_or_else(|d| panic!("{}\n{}", d.render(false), export.text));
        let groups = |email: &str| -> Vec<String> {
            desired.users[&Email::new(email)]
                .groups
                .iter()
                .map(|g| g.to_string())
                .collect()
        };
        assert_eq!(groups("alice@example.com"), ["chemistry", "quantum"]);
        assert_eq!(groups("bob@example.com"), ["quantum"]);
        assert!(groups("nobody@example.com").is_empty());
        assert_eq!(desired.users.len(), 3, "{}", export.text);
        assert_eq!(
            desired.groups[&GroupName::new("quantum")]
                .description
                .as_deref(),
            Some("Research: phase #2")
        );
        assert_eq!(
            desired.groups[&GroupName::new("chemistry")].description,
            None
        );
        assert!(!desired.groups.contains_key(&GroupName::new("finance")));
        assert_eq!(desired.policy, crate::model::Policy::default());

        assert_eq!(
            export
                .unlistable
                .iter()
                .map(|u| (u.iam_id.as_str(), u.groups.len()))
                .collect::<Vec<_>>(),
            [("IBMid-bad", 0), ("IBMid-failed", 1), ("IBMid-ghost", 1)]
        );
        assert_eq!(
            export
                .unlistable_members()
                .into_iter()
                .map(IamId::as_str)
                .collect::<Vec<_>>(),
            ["IBMid-failed", "IBMid-ghost"]
        );
        assert!(
            export
                .text
                .contains("    # Also members, never changed by orgsync:\n    #   iam-ServiceId-robot (service ID)\n"),
            "{}",
            export.text
        );
        assert!(export.text.contains("    #   IBMid-ghost\n"));
        assert!(export.text.contains(
            "#   failed@example.com (IBMid-failed), member of quantum:\n#     its invitation failed"
        ), "{}", export.text);
        assert!(export.text.contains("  alice@example.com:  # PENDING"));
        assert_eq!(
            (
                export.users,
                export.users_in_groups,
                export.unmanaged_members
            ),
            (3, 2, 1)
        );
    }

    #[test]
    fn comments_wrap_at_spaces_and_keep_long_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn export_is_deterministic_whatever_the_input_order() {
        let live = live();
        let chosen = choose_groups(&live.groups, None).unwrap();
        let mut reversed = live.clone();
        reversed.users.reverse();
        reversed.groups.reverse();
        for g in &mut reversed.groups {
            if let Some(m) = &mut g.members {
                m.reverse();
            }
        }
        assert_eq!(render(&live, &chosen), render(&reversed, &chosen));
    }

    #[test]
    fn unknown_group_names_are_refused_listing_the_available_ones() {
        let live = live();
        let err =
            choose_groups(&live.groups, Some(&["quantum".into(), "physics".into()])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--groups names access group `physics` that the account does not have (names are \
             compared ignoring case); the account has: chemistry, finance, quantum. Fix \
             --groups, or use --all-groups"
        );
        let err = choose_groups(&live.groups, Some(&["Public Access".into()])).unwrap_err();
        assert!(err.to_string().contains("IBM's built-in group"), "{err}");
        let err = choose_groups(&live.groups, Some(&["".into()])).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn a_duplicate_email_is_listed_once_with_the_working_entry_groups() {
        let mut live = live();
        live.users
            .push(user("BOB@example.com", "IBMid-bob2", UserState::Pending));
        if let Some(chem) = live
            .groups
            .iter_mut()
            .find(|g| g.name.as_str() == "chemistry")
        {
            chem.members.get_or_insert_with(Vec::new).push(LiveMember {
                iam_id: IamId::new("IBMid-bob2"),
                kind: MemberKind::User,
            });
        }
        let chosen = choose_groups(&live.groups, None).unwrap();
        let export = render(&live, &chosen);
        let desired = crate::config::parse_str("export.yaml", &export.text).unwrap();
        let bob = &desired.users[&Email::new("bob@example.com")];
        assert_eq!(
            bob.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            ["quantum"],
            "the ACTIVE entry stands for bob"
        );
        let duplicate = export
            .unlistable
            .iter()
            .find(|u| u.iam_id.as_str() == "IBMid-bob2")
            .unwrap();
        assert_eq!(duplicate.reason, UnlistableReason::DuplicateEmail);
        assert_eq!(duplicate.groups, [GroupName::new("chemistry")]);
    }

    fn arbitrary_live() -> impl Strategy<Value = LiveState> {
        let emails = prop::sample::select(vec![
            "ann@example.com",
            "Ann@Example.com",
            "bo@x.org",
            "cy@x.org",
            "dee@sub.x.org",
            "not an email",
            "",
            "q\"uote@x.org",
            "ü@例え.jp",
        ]);
        let states = prop::sample::select(vec![
            UserState::Active,
            UserState::Pending,
            UserState::Processing,
            UserState::ErrorWhileProcessing,
            UserState::Suspended,
            UserState::Other("NEW_STATE".into()),
        ]);
        let names = prop::sample::select(vec![
            "alpha",
            "Team: #1",
            "yes",
            "ü-gruppe",
            " padded ",
            "007",
            "a,b",
        ]);
        let descriptions = prop::sample::select(vec![
            "".to_string(),
            "plain words".to_string(),
            "colon: and #hash".to_string(),
            "x".repeat(251),
            "line\nbreak".to_string(),
        ]);
        let users = prop::collection::vec((emails, states), 0..8);
        let groups = prop::collection::btree_map(
            names,
            (
                descriptions,
                prop::collection::vec((0usize..10, 0u8..4), 0..8),
            ),
            0..5,
        );
        (users, groups).prop_map(|(users, groups)| {
            let users: Vec<LiveUser> = users
                .into_iter()
                .enumerate()
                .map(|(i, (email, state))| user(email, &format!("IBMid-u{i}"), state))
                .collect();
            let groups = groups
                .into_iter()
                .map(|(name, (description, members))| LiveGroup {
                    id: AccessGroupId::new(format!("AccessGroupId-{}", name.trim())),
                    name: GroupName::new(name),
                    description,
                    members: Some(
                        members
                            .into_iter()
                            .map(|(i, kind)| match kind {
                                0 | 1 => LiveMember {
                                    iam_id: IamId::new(format!("IBMid-u{i}")),
                                    kind: MemberKind::User,
                                },
                                2 => LiveMember {
                                    iam_id: IamId::new(format!("iam-ServiceId-{i}")),
                                    kind: MemberKind::Service,
                                },
                                _ => LiveMember {
                                    iam_id: IamId::new(format!("iam-Profile-{i}")),
                                    kind: MemberKind::Profile,
                                },
                            })
                            .collect(),
                    ),
                })
                .collect();
            LiveState {
                account_id: AccountId::new("0123456789abcdef0123456789abcdef"),
                caller: IamId::new("IBMid-caller"),
                users,
                groups,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The export's promise for any account: it validates, and planning it against the
        /// state it came from removes exactly the memberships it names as unlistable.
        #[test]
        fn any_account_exports_a_valid_file_whose_plan_only_removes_what_it_names(live in arbitrary_live()) {
            let chosen = choose_groups(&live.groups, None).unwrap();
            let export = render(&live, &chosen);
            let desired = crate::config::parse_str("export.yaml", &export.text)
                .map_err(|d| TestCaseError::fail(format!("{}\n{}", d.render(false), export.text)))?;
            let plan = crate::plan::plan(
                &desired,
                &live,
                &crate::plan::Options { today: crate::model::Date::parse("2026-11-27").unwrap() },
            )
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let expected = export.unlistable_members();
            let mut removed = BTreeSet::new();
            for change in &plan.changes {
                match change {
                    crate::plan::Change::RemoveMember { iam_id, .. } if expected.contains(iam_id) => {
                        removed.insert(iam_id);
                    }
                    other => prop_assert!(false, "unexpected change {:?} for\n{}", other, export.text),
                }
            }
            prop_assert_eq!(removed, expected);
        }
    }

    #[test]
    fn an_account_without_groups_exports_empty_mappings_that_validate() {
        let live = LiveState {
            groups: Vec::new(),
            ..live()
        };
        let export = render(&live, &[]);
        let desired = crate::config::parse_str("export.yaml", &export.text).unwrap();
        assert!(desired.groups.is_empty());
        assert!(export.text.contains("groups: {}\n"));
    }
}
