//! Writing a config file from a live account (`orgsync export`, docs/cli.md): the YAML.
//!
//! What the file says is decided beside the planner ([`crate::plan::export`]), from the
//! planner's own index of the account, so that planning the file against the account it
//! came from changes nothing but what the file names as unlistable. This module only writes
//! those [`Contents`] in the format of docs/config.md, with the comments that explain them,
//! and hands the decision the format's limits ([`FILE_FORMAT`]).
//!
//! The text is written by hand rather than serialized. serde-saphyr (the YAML library in
//! use) can attach a one-line comment to a scalar (`Commented`), but not the comments this
//! file is laid out with: a header, notes indented under a group's mapping, a closing
//! section of what could not be listed; and the comments are half the point.
//!
//! [`yaml_scalar`] is the one place that decides how a string is quoted; its tests read
//! every quoted form back through the config's own YAML reader. It is kept rather than
//! replaced by serde-saphyr's serializer, whose quoting is sound but not the same: it
//! quotes by the position a scalar is written in, which a lone string does not carry
//! (this file writes group lists as flow sequences, where `a,b` needs quotes that block
//! position does not), spells escapes differently (`\a`, `\L` where this writes
//! `\u0007`, `\u2028`) and leaves non-ASCII text plain. Exports would stop being
//! byte-identical to what earlier versions wrote, for the price of the `serialize` feature
//! and one more crate.

use std::fmt::Write as _;

use super::validate::{MAX_DESCRIPTION_CHARS, MAX_GROUP_NAME_CHARS, email_problem, name_problem};
use crate::model::{
    AccountId, DesiredAccess, DesiredRole, DesiredRule, InstanceRef, MemberKind, ResourceGroupRef,
    UserState,
};
use crate::plan::export::{
    AccessNote, Contents, Description, FileFormat, Group, RuleNote, SkippedGroup, UndeclaredRole,
    Unlistable, User,
};

/// What the file format accepts, for the export decision.
pub const FILE_FORMAT: FileFormat = FileFormat {
    max_group_name_chars: MAX_GROUP_NAME_CHARS,
    max_description_chars: MAX_DESCRIPTION_CHARS,
    group_name_problem: name_problem,
    email_problem,
    role_problem,
    rule_problem,
};

/// Why a custom role could not be declared under `roles:`: whatever the validator says
/// of a file that declares it and nothing else. The validator is the one judge, so an
/// export never writes what `validate` would refuse (docs/config.md).
fn role_problem(role: &DesiredRole) -> Option<String> {
    let mut text = String::from(PROBE);
    write_roles(&mut text, std::slice::from_ref(role), &[]);
    text.push_str("groups: {}\n");
    refused(&text)
}

/// Why a dynamic rule could not be written under `rules:`, judged as [`role_problem`].
fn rule_problem(rule: &DesiredRule) -> Option<String> {
    let mut text = format!("{PROBE}groups:\n  probe:\n");
    write_rules(&mut text, std::slice::from_ref(rule));
    refused(&text)
}

/// The start of a file that holds one thing to judge.
const PROBE: &str = "version: 1\naccount_id: \"00000000000000000000000000000000\"\nusers: {}\n";

fn refused(text: &str) -> Option<String> {
    let problems = super::parse_str("export", text).err()?;
    Some(
        problems
            .first_message()
            .unwrap_or_else(|| "the file format refuses it".into()),
    )
}

/// The config file for `contents`, read from `account`, with explanatory comments.
pub fn render(account: &AccountId, contents: &Contents) -> String {
    let mut text = String::new();
    write_header(&mut text, account);
    write_policy(&mut text);
    write_roles(&mut text, &contents.roles, &contents.undeclared_roles);
    write_groups(&mut text, &contents.groups, &contents.skipped);
    write_users(&mut text, &contents.users);
    write_unlistable(&mut text, &contents.unlistable);
    text
}

fn write_header(out: &mut String, account: &AccountId) {
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
# This file is AUTHORITATIVE for the groups under `groups:`: once you apply, a user you
# take out of a group here is removed from that group in the account, and so is a
# policy you take out of a group's `access` or a rule out of its `rules`. Groups not
# listed are never read or changed. Service IDs, trusted profiles and members added by
# dynamic rules are never changed (they are mentioned in comments).
#
# Editors validate as you type with this first line (and `orgsync schema > org.schema.json`):
#   # yaml-language-server: $schema=./org.schema.json

version: 1
account_id: {account_id}
",
        account = comment_text(account.as_str()),
        account_id = yaml_scalar(account.as_str()),
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
  # apply refuses a plan with more removals (memberships, users, policies, roles of a
  # policy, rules) than this, unless `--allow-removals N` covers them.
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

fn write_groups(out: &mut String, groups: &[Group], skipped: &[SkippedGroup]) {
    out.push_str(
        "
# The managed access groups, by name. A `description` here is kept in the account: a
# differing live description is updated by apply.
",
    );
    for group in skipped {
        let _ = writeln!(
            out,
            "# Not exported: group {} ({}): its name is not 1 to {MAX_GROUP_NAME_CHARS} characters, or has odd spaces or invisible characters.",
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
        let name = yaml_scalar(group.name.as_str());
        // A group with keys besides its description is a block mapping; one with none
        // stays `{}`, as exports have always written it.
        let keys = group.access.is_some() || group.rules.is_some();
        let empty = if keys { "" } else { " {}" };
        match &group.description {
            Description::Written(description) => {
                let _ = writeln!(
                    out,
                    "  {name}:\n    description: {}",
                    yaml_scalar(description)
                );
            }
            Description::TooLong => {
                let _ = writeln!(
                    out,
                    "  # The live description is longer than {MAX_DESCRIPTION_CHARS} characters, \
                     which the file format refuses; it is left out, so orgsync leaves it alone."
                );
                let _ = writeln!(out, "  {name}:{empty}");
            }
            Description::Empty => {
                let _ = writeln!(out, "  {name}:{empty}");
            }
        }
        if let Some(access) = &group.access {
            write_access(out, access);
        }
        write_access_notes(out, &group.access_notes);
        if let Some(rules) = &group.rules {
            write_rules(out, rules);
        }
        write_rule_notes(out, &group.rule_notes);
        write_group_notes(out, group);
    }
}

/// The custom roles the exported policies grant, each as the account defines it.
fn write_roles(out: &mut String, roles: &[DesiredRole], undeclared: &[UndeclaredRole]) {
    if roles.is_empty() && undeclared.is_empty() {
        return;
    }
    out.push_str(
        "
# The custom roles the access below grants, as the account defines them. apply keeps a
# role declared here as it is written; roles not declared are never changed.
",
    );
    for role in undeclared {
        let _ = writeln!(
            out,
            "# Granted below but not declared (orgsync leaves it as it is): {}: {}.",
            comment_text(role.name.as_str()),
            role.why
        );
    }
    if roles.is_empty() {
        return;
    }
    out.push_str("roles:\n");
    for role in roles {
        let _ = writeln!(out, "  {}:", yaml_scalar(role.name.as_str()));
        let _ = writeln!(out, "    service: {}", yaml_scalar(role.service.as_str()));
        let _ = writeln!(out, "    display_name: {}", yaml_scalar(&role.display_name));
        if let Some(description) = &role.description {
            let _ = writeln!(out, "    description: {}", yaml_scalar(description));
        }
        out.push_str("    actions:\n");
        for action in &role.actions {
            let _ = writeln!(out, "      - {}", yaml_scalar(action));
        }
    }
}

/// A group's `access`: one entry per policy.
fn write_access(out: &mut String, access: &[DesiredAccess]) {
    if access.is_empty() {
        out.push_str("    access: []\n");
        return;
    }
    out.push_str("    access:\n");
    for entry in access {
        let mut keys = Vec::new();
        if let Some(service) = &entry.service {
            keys.push(format!("service: {}", yaml_scalar(service.as_str())));
        }
        if let Some(instance) = &entry.instance {
            let written = match instance {
                InstanceRef::Name(name) => name.as_str(),
                InstanceRef::Guid(guid) => guid.as_str(),
                InstanceRef::Crn(crn) => crn.as_str(),
            };
            keys.push(format!("instance: {}", yaml_scalar(written)));
        }
        if let Some(group) = &entry.resource_group {
            let written = match group {
                ResourceGroupRef::Name(name) => name.as_str(),
                ResourceGroupRef::Id(id) => id.as_str(),
            };
            keys.push(format!("resource_group: {}", yaml_scalar(written)));
        }
        let roles: Vec<String> = entry
            .roles
            .iter()
            .map(|r| yaml_scalar(r.as_str()))
            .collect();
        keys.push(format!("roles: [{}]", roles.join(", ")));
        for (i, key) in keys.iter().enumerate() {
            let lead = if i == 0 { "      - " } else { "        " };
            let _ = writeln!(out, "{lead}{key}");
        }
    }
}

fn write_access_notes(out: &mut String, notes: &[AccessNote]) {
    for note in notes {
        let text = match note {
            AccessNote::Unexpressible { policy, reason } => format!(
                "Left alone, the file cannot express it: access policy {policy} ({})",
                comment_text(reason)
            ),
            AccessNote::Duplicate { policy, managed } => format!(
                "Left alone: access policy {policy}, a second policy on the target of {managed}; \
                 delete one of the two in the console"
            ),
            AccessNote::UnnamedRole { policy, role } => format!(
                "`access` is not written, so orgsync leaves this group's policies alone: \
                 policy {policy} grants {}, a role the account lists under no name",
                comment_text(role.as_str())
            ),
            AccessNote::Unwritable { policy } => format!(
                "`access` is not written, so orgsync leaves this group's policies alone: \
                 policy {policy} has no roles, or no service or resource group the file can name"
            ),
        };
        for line in wrap(&format!("{text}."), 80) {
            let _ = writeln!(out, "    # {line}");
        }
    }
}

/// A group's `rules`, conditions as one-line mappings.
fn write_rules(out: &mut String, rules: &[DesiredRule]) {
    if rules.is_empty() {
        out.push_str("    rules: []\n");
        return;
    }
    out.push_str("    rules:\n");
    for rule in rules {
        let _ = writeln!(out, "      - name: {}", yaml_scalar(&rule.name));
        let _ = writeln!(out, "        realm: {}", yaml_scalar(&rule.realm));
        let _ = writeln!(out, "        expiration_hours: {}", rule.expiration_hours);
        out.push_str("        conditions:\n");
        for c in &rule.conditions {
            let _ = writeln!(
                out,
                "          - {{claim: {}, operator: {}, value: {}}}",
                yaml_scalar(&c.claim),
                c.operator,
                yaml_scalar(&c.value)
            );
        }
    }
}

fn write_rule_notes(out: &mut String, notes: &[RuleNote]) {
    for note in notes {
        let why = match note {
            RuleNote::Unnamed { rule } => format!("rule {rule} has no name"),
            RuleNote::SameName { name } => {
                format!("two rules are named {} (ignoring case)", comment_text(name))
            }
            RuleNote::Refused { name, why } => format!("rule {}: {why}", comment_text(name)),
            RuleNote::TooMany { rules } => format!("it has {rules} rules, more than IBM allows"),
        };
        let text =
            format!("`rules` is not written, so orgsync leaves this group's rules alone: {why}.");
        for line in wrap(&text, 80) {
            let _ = writeln!(out, "    # {line}");
        }
    }
}

/// Below the group's key, indented into it, so each note reads as the group's own.
fn write_group_notes(out: &mut String, group: &Group) {
    if !group.unmanaged.is_empty() {
        let _ = writeln!(out, "    # Also members, never changed by orgsync:");
        for member in &group.unmanaged {
            let _ = writeln!(
                out,
                "    #   {} ({})",
                comment_text(member.iam_id.as_str()),
                kind_label(&member.kind)
            );
        }
    }
    if !group.dynamic.is_empty() {
        let _ = writeln!(
            out,
            "    # Also members, added at login by a dynamic rule (never changed by orgsync):"
        );
        for iam in &group.dynamic {
            let _ = writeln!(out, "    #   {}", comment_text(iam.as_str()));
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

fn kind_label(kind: &MemberKind) -> String {
    match kind {
        MemberKind::Service => "service ID".into(),
        MemberKind::Profile => "trusted profile".into(),
        MemberKind::User => "user".into(),
        MemberKind::Other(other) => format!("type {}", comment_text(other)),
    }
}

fn write_users(out: &mut String, users: &[User]) {
    out.push_str(
        "
# Every user of the account, by email, with the groups above they belong to.
",
    );
    if users.is_empty() {
        out.push_str("users: {}\n");
        return;
    }
    out.push_str("users:\n");
    for user in users {
        let email = yaml_scalar(user.email.as_str());
        let note = match &user.state {
            UserState::Active => String::new(),
            UserState::Pending => "  # PENDING: invited, not accepted yet".into(),
            UserState::Processing => "  # PROCESSING: invitation being set up".into(),
            other => format!("  # state {}", comment_text(other.as_str())),
        };
        let list = user
            .groups
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
fn yaml_scalar(s: &str) -> String {
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
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::{
        AccessGroupId, AccountId, Email, GroupName, IamId, LiveGroup, LiveMember, LiveState,
        LiveUser,
    };
    use crate::plan::export::{UnlistableReason, choose_groups};
    use proptest::prelude::*;

    /// The decision and its text, as `orgsync export` makes them.
    fn export(live: &LiveState, chosen: &[GroupName]) -> (String, Contents) {
        let contents = crate::plan::export::contents(live, chosen, &FILE_FORMAT);
        (render(&live.account_id, &contents), contents)
    }

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
                        membership: Default::default(),
                    })
                    .collect(),
            ),
            policies: None,
            rules: None,
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
            roles: Vec::new(),
            instances: Vec::new(),
            resource_groups: Vec::new(),
            user_groups: Default::default(),
        }
    }

    #[test]
    fn export_lists_every_user_with_their_exported_groups_and_comments_the_rest() {
        let live = live();
        let chosen =
            choose_groups(&live.groups, Some(&["Quantum".into(), "chemistry".into()])).unwrap();
        let (text, export) = export(&live, &chosen);
        let desired = crate::config::parse_str("export.yaml", &text)
            .unwrap_or_else(|d| panic!("{}\n{}", d.render(false), text));
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
        assert_eq!(desired.users.len(), 3, "{}", text);
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
            text.contains("    # Also members, never changed by orgsync:\n    #   iam-ServiceId-robot (service ID)\n"),
            "{}",
            text
        );
        assert!(text.contains("    #   IBMid-ghost\n"));
        assert!(text.contains(
            "#   failed@example.com (IBMid-failed), member of quantum:\n#     its invitation failed"
        ), "{}", text);
        assert!(text.contains("  alice@example.com:  # PENDING"));
        assert_eq!(
            (
                export.users.len(),
                export.users_in_groups(),
                export.unmanaged_members()
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
        assert_eq!(export(&live, &chosen), export(&reversed, &chosen));
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
                membership: Default::default(),
            });
        }
        let chosen = choose_groups(&live.groups, None).unwrap();
        let (text, export) = export(&live, &chosen);
        let desired = crate::config::parse_str("export.yaml", &text).unwrap();
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
                                    membership: Default::default(),
                                },
                                2 => LiveMember {
                                    iam_id: IamId::new(format!("iam-ServiceId-{i}")),
                                    kind: MemberKind::Service,
                                    membership: Default::default(),
                                },
                                _ => LiveMember {
                                    iam_id: IamId::new(format!("iam-Profile-{i}")),
                                    kind: MemberKind::Profile,
                                    membership: Default::default(),
                                },
                            })
                            .collect(),
                    ),
                    policies: None,
                    rules: None,
                })
                .collect();
            LiveState {
                account_id: AccountId::new("0123456789abcdef0123456789abcdef"),
                caller: IamId::new("IBMid-caller"),
                users,
                groups,
                roles: Vec::new(),
                instances: Vec::new(),
                resource_groups: Vec::new(),
                user_groups: Default::default(),
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
            let (text, export) = export(&live, &chosen);
            let desired = crate::config::parse_str("export.yaml", &text)
                .map_err(|d| TestCaseError::fail(format!("{}\n{}", d.render(false), text)))?;
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
                    other => prop_assert!(false, "unexpected change {:?} for\n{}", other, text),
                }
            }
            prop_assert_eq!(removed, expected);
        }
    }

    /// A YAML tree as JSON, to compare what the text says with what was meant.
    fn json_of(node: &crate::config::yaml::Node) -> serde_json::Value {
        use crate::config::yaml::Value;
        match &node.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::json!(b),
            Value::Int(i) => serde_json::json!(*i as i64),
            Value::Float(f) => serde_json::json!(f),
            Value::Str(s) => serde_json::json!(s),
            Value::Seq(items) => items.iter().map(json_of).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| match &k.value {
                        Value::Str(k) => (k.clone(), json_of(v)),
                        other => (format!("<{}>", other.kind()), json_of(v)),
                    })
                    .collect(),
            ),
        }
    }

    /// An account whose policies, roles and rules were read, as export reads them.
    fn granting() -> LiveState {
        use crate::model::{
            InstanceGuid, LiveInstance, LivePolicy, LiveResourceGroup, LiveRole, LiveRule,
            PolicyId, PolicyShape, PolicyTarget, PolicyVersion, ResourceGroupId, RoleCrn, RoleId,
            RoleKind, RoleName, RuleCondition, RuleId, RuleOperator, ServiceName,
        };
        let qc = ServiceName::new("quantum-computing");
        let reader = RoleCrn::new("crn:v1:bluemix:public:iam::::serviceRole:Reader");
        let viewer = RoleCrn::new("crn:v1:bluemix:public:iam::::role:Viewer");
        let jobs = RoleCrn::new(
            "crn:v1:ibmcloud:public:iam-access-management::a/0123456789abcdef0123456789abcdef::customRole:JobManager",
        );
        let role = |crn: &RoleCrn, name: &str, kind: RoleKind| LiveRole {
            crn: crn.clone(),
            name: RoleName::new(name),
            display_name: if name == "JobManager" {
                "Job manager: delete".into()
            } else {
                name.into()
            },
            description: String::new(),
            actions: if name == "JobManager" {
                vec![
                    "quantum-computing.job.delete".into(),
                    "quantum-computing.job.read".into(),
                ]
            } else {
                Vec::new()
            },
            service: qc.clone(),
            kind,
        };
        let mut live = live();
        let ml = &mut live.groups[0];
        let policy = |id: &str, target: PolicyTarget, roles: Vec<RoleCrn>| LivePolicy {
            id: PolicyId::new(id),
            version: PolicyVersion::V2,
            group: ml.id.clone(),
            shape: PolicyShape::Expressible(target),
            roles,
        };
        ml.policies = Some(vec![
            policy(
                "p1",
                PolicyTarget {
                    service: Some(qc.clone()),
                    instance_id: Some(InstanceGuid::new("guid-1")),
                    resource_group_id: None,
                },
                vec![viewer.clone(), jobs.clone()],
            ),
            policy(
                "p2",
                PolicyTarget {
                    service: None,
                    instance_id: None,
                    resource_group_id: Some(ResourceGroupId::new("rg-1")),
                },
                vec![viewer.clone()],
            ),
            LivePolicy {
                shape: PolicyShape::Unexpressible("a condition on the time of day".into()),
                ..policy("p3", PolicyTarget::default(), vec![reader.clone()])
            },
        ]);
        ml.rules = Some(vec![LiveRule {
            id: RuleId::new("r1"),
            name: "ml-project".into(),
            realm: "https://us-south.appid.cloud.ibm.com/oauth/v4/t".into(),
            expiration_hours: 24,
            conditions: vec![RuleCondition {
                claim: "project".into(),
                operator: RuleOperator::Contains,
                value: "true".into(),
            }],
            unreadable_conditions: 0,
        }]);
        live.groups[1].policies = Some(Vec::new());
        live.roles = vec![
            role(&viewer, "Viewer", RoleKind::Platform),
            role(&reader, "Reader", RoleKind::Service),
            role(
                &jobs,
                "JobManager",
                RoleKind::Custom {
                    id: RoleId::new("id-jobs"),
                },
            ),
        ];
        live.instances = vec![LiveInstance {
            guid: InstanceGuid::new("guid-1"),
            crn: "crn:v1:bluemix:public:quantum-computing:us-east:a/x:guid-1::".into(),
            name: "QR-ml".into(),
            service: qc.clone(),
            resource_group_id: None,
        }];
        live.resource_groups = vec![LiveResourceGroup {
            id: ResourceGroupId::new("rg-1"),
            name: "Default".into(),
        }];
        live
    }

    #[test]
    fn access_roles_and_rules_are_written_so_they_read_back_as_decided() {
        let live = granting();
        let chosen =
            choose_groups(&live.groups, Some(&["quantum".into(), "chemistry".into()])).unwrap();
        let (text, contents) = export(&live, &chosen);
        let tree =
            crate::config::yaml::parse_tree(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let tree = json_of(&tree);
        assert_eq!(
            tree["roles"],
            serde_json::json!({"JobManager": {
                "service": "quantum-computing",
                "display_name": "Job manager: delete",
                "actions": ["quantum-computing.job.delete", "quantum-computing.job.read"],
            }}),
            "{text}"
        );
        assert_eq!(
            tree["groups"]["quantum"]["access"],
            // In target order: the resource group (no service) first.
            serde_json::json!([
                {"resource_group": "Default", "roles": ["Viewer"]},
                {"service": "quantum-computing", "instance": "QR-ml", "roles": ["JobManager", "Viewer"]},
            ]),
            "{text}"
        );
        assert_eq!(
            tree["groups"]["quantum"]["rules"],
            serde_json::json!([{
                "name": "ml-project",
                "realm": "https://us-south.appid.cloud.ibm.com/oauth/v4/t",
                "expiration_hours": 24,
                "conditions": [{"claim": "project", "operator": "CONTAINS", "value": "true"}],
            }]),
            "{text}"
        );
        assert_eq!(
            tree["groups"]["quantum"]["description"],
            "Research: phase #2"
        );
        assert_eq!(
            tree["groups"]["chemistry"],
            serde_json::json!({"access": []}),
            "{text}"
        );
        assert!(
            text.contains(
                "    # Left alone, the file cannot express it: access policy p3 (a condition on the\n    # time of day).\n"
            ),
            "{text}"
        );
        assert_eq!(contents.roles.len(), 1);
    }

    #[test]
    fn an_account_without_groups_exports_empty_mappings_that_validate() {
        let live = LiveState {
            groups: Vec::new(),
            ..live()
        };
        let (text, _) = export(&live, &[]);
        let desired = crate::config::parse_str("export.yaml", &text).unwrap();
        assert!(desired.groups.is_empty());
        assert!(text.contains("groups: {}\n"));
    }
}
