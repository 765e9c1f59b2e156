//! The rules of docs/config.md: raw config (what was written, with places) → [`DesiredState`]
//! (what orgsync acts on), reporting every broken rule at once.
//!
//! Everything that makes the desired state trustworthy is decided here, so the planner can
//! rely on its invariants: every user's group is declared, no group is `Public Access`,
//! emails and group names are unique ignoring case, emails and domains are lower-case,
//! and what groups grant is well formed ([`roles`], [`access`], [`rules`] for dynamic
//! rules). [`text`] holds the rules for text that looks right but is not.

mod access;
mod roles;
mod rules;
mod text;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use crate::model::{
    AccountId, Date, DesiredGroup, DesiredState, DesiredUser, Email, GroupName, Policy,
    UnlistedUsers, edit_distance, is_public_access_name,
};

use super::diagnostics::{Diagnostic, Diagnostics, Loc};
use super::raw::{self, Entries, RawConfig, RawGroup, RawRole, RawUser, Sp};
use roles::DeclaredRoles;

pub use access::MAX_POLICIES_PER_GROUP;
pub use roles::MAX_CUSTOM_ROLES;
pub use text::{MAX_EMAIL_LOCAL_CHARS, email_problem, name_problem};

/// IBM's limits (docs/config.md).
pub const MAX_GROUPS: usize = 500;
pub const MAX_GROUPS_PER_USER: usize = 50;
pub const MAX_GROUP_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 250;

/// Suggestions cost an edit distance against every declared name; past this many distinct
/// unknown names a hostile file gets no more of them (the problems are still reported).
const MAX_SUGGESTION_LOOKUPS: usize = 1_000;

/// Checks every rule on the main file's raw config plus the groups and users of included
/// files (in include order). Returns the desired state when nothing is wrong, including
/// shape problems already in `diags`.
pub(crate) fn desired_state(
    main: &RawConfig,
    included: &[raw::RawIncluded],
    diags: &mut Diagnostics,
) -> Option<DesiredState> {
    let mut v = Validator {
        diags,
        suggestions: HashMap::new(),
        suggestion_lookups: 0,
    };

    // A field that could not be read (missing, wrong type) has no place and was reported.
    if main.version.loc.pos.is_some() && main.version.value != 1 {
        v.diags.push(
            Diagnostic::new(
                format!("unsupported `version: {}`", main.version.value),
                main.version.loc,
                "the only version is 1",
            )
            .hint("write `version: 1`"),
        );
    }
    let account_id = v.account_id(&main.account_id);
    let policy = v.policy(main.policy.as_ref());

    let all_roles = main
        .roles
        .iter()
        .chain(included.iter().filter_map(|i| i.roles.as_ref()))
        .flat_map(|e: &Entries<RawRole>| e.0.iter());
    let roles = v.roles(all_roles);

    let all_groups = std::iter::once(&main.groups)
        .chain(included.iter().filter_map(|i| i.groups.as_ref()))
        .flat_map(|e: &Entries<RawGroup>| e.0.iter());
    let groups = v.groups(all_groups, &roles, account_id.as_ref());

    let all_users = std::iter::once(&main.users)
        .chain(included.iter().filter_map(|i| i.users.as_ref()))
        .flat_map(|e: &Entries<RawUser>| e.0.iter());
    let users = v.users(all_users, &groups, &policy);

    if !v.diags.is_empty() {
        return None;
    }
    Some(DesiredState {
        account_id: account_id?,
        policy,
        groups: groups
            .into_values()
            .map(|(g, _)| (g.name.clone(), g))
            .collect(),
        users,
        roles: roles
            .into_values()
            .map(|(r, _)| (r.name.clone(), r))
            .collect(),
    })
}

/// Declared groups by lower-cased name, with where each name was written.
type Declared = BTreeMap<String, (DesiredGroup, Loc)>;

struct Validator<'a> {
    diags: &'a mut Diagnostics,
    /// Suggestions for unknown group names, by lower-cased name (`None`: nothing close).
    suggestions: HashMap<String, Option<String>>,
    suggestion_lookups: usize,
}

/// Records where `key` was first given; for a repeat, returns that first place.
fn first_place<K: Hash + Eq>(seen: &mut HashMap<K, Loc>, key: K, loc: Loc) -> Option<Loc> {
    match seen.entry(key) {
        Entry::Occupied(first) => Some(*first.get()),
        Entry::Vacant(slot) => {
            slot.insert(loc);
            None
        }
    }
}

impl Validator<'_> {
    fn account_id(&mut self, id: &Sp<String>) -> Option<AccountId> {
        id.loc.pos?;
        let value = id.value.trim();
        if AccountId::is_valid(value) {
            return Some(AccountId::new(value));
        }
        let hint = if value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
            format!("write it in lower case: `{}`", value.to_ascii_lowercase())
        } else {
            "an account id is 32 characters of 0-9 and a-f; copy it from the IBM Cloud console \
             (Manage → Account → Account settings) or `ibmcloud account show`"
                .to_string()
        };
        self.diags.push(
            Diagnostic::new(
                format!(
                    "`account_id` is not an IBM Cloud account id ({} characters)",
                    value.chars().count()
                ),
                id.loc,
                "expected 32 lower-case hexadecimal characters",
            )
            .hint(hint),
        );
        None
    }

    fn policy(&mut self, raw: Option<&raw::RawPolicy>) -> Policy {
        let mut policy = Policy::default();
        let Some(raw) = raw else {
            return policy;
        };
        if let Some(u) = &raw.unlisted_users {
            policy.unlisted_users = match u.value {
                raw::UnlistedUsers::Ignore => UnlistedUsers::Ignore,
                raw::UnlistedUsers::Remove => UnlistedUsers::Remove,
            };
        }
        if let Some(m) = &raw.max_removals {
            policy.max_removals = m.value;
        }
        if let Some(c) = &raw.create_groups {
            policy.create_groups = c.value;
        }
        policy.protected = self.protected(raw.protected.as_deref().unwrap_or_default());
        policy.allowed_domains =
            self.allowed_domains(raw.allowed_domains.as_deref().unwrap_or_default());
        policy
    }

    fn protected(&mut self, entries: &[Sp<String>]) -> BTreeSet<Email> {
        let mut seen: HashMap<Email, Loc> = HashMap::new();
        let mut protected = BTreeSet::new();
        for entry in entries {
            if !self.plausible_email(entry, "`policy.protected`") {
                continue;
            }
            let email = Email::new(&entry.value);
            if let Some(first) = first_place(&mut seen, email.clone(), entry.loc) {
                self.diags.push(
                    Diagnostic::twice(
                        format!("`{email}` is named twice in `policy.protected`"),
                        entry.loc,
                        first,
                        "named",
                    )
                    .hint("emails are compared ignoring case and spaces; remove one of them"),
                );
                continue;
            }
            protected.insert(email);
        }
        protected
    }

    fn allowed_domains(&mut self, entries: &[Sp<String>]) -> BTreeSet<String> {
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let mut domains = BTreeSet::new();
        for entry in entries {
            let domain = entry.value.trim_matches([' ', '\t']).to_lowercase();
            if let Some(problem) = plausible_domain(&domain) {
                let hint = if domain.is_ascii() {
                    "list the part after the `@`, e.g. `example.com`, without `@` or spaces"
                } else {
                    "domains are ASCII here, so that a look-alike cannot pass for a listed domain; \
                     write an internationalized domain in its ASCII form (`xn--…`)"
                };
                self.diags.push(
                    Diagnostic::new(
                        format!("`{}` is not a domain", visible(&entry.value)),
                        entry.loc,
                        problem,
                    )
                    .hint(hint),
                );
                continue;
            }
            if let Some(first) = first_place(&mut seen, domain.clone(), entry.loc) {
                self.diags.push(
                    Diagnostic::twice(
                        format!("`{domain}` is listed twice in `policy.allowed_domains`"),
                        entry.loc,
                        first,
                        "listed",
                    )
                    .hint("remove one of them"),
                );
                continue;
            }
            domains.insert(domain);
        }
        domains
    }

    fn groups<'r>(
        &mut self,
        entries: impl Iterator<Item = &'r (Sp<String>, RawGroup)>,
        roles: &DeclaredRoles,
        account: Option<&AccountId>,
    ) -> Declared {
        let mut out = Declared::new();
        for (count, (name, group)) in entries.enumerate() {
            if count == MAX_GROUPS {
                self.diags.push(
                    Diagnostic::new(
                        format!("more than {MAX_GROUPS} groups are declared"),
                        name.loc,
                        format!("group number {}", MAX_GROUPS + 1),
                    )
                    .hint(format!(
                        "IBM Cloud allows at most {MAX_GROUPS} access groups in an account; \
                         manage fewer groups with orgsync"
                    )),
                );
            }
            if !self.group_name(name) {
                continue;
            }
            self.description(name, group);
            let access = group
                .access
                .as_ref()
                .map(|a| self.access(&name.value, a, roles, account));
            let rules = group.rules.as_ref().map(|r| self.rules(&name.value, r));
            let key = name.value.to_lowercase();
            if let Some((first, first_loc)) = out.get(&key) {
                self.diags.push(
                    Diagnostic::duplicate(
                        format!("group `{}` is declared twice", name.value),
                        (*first_loc, format!("`{}` first declared here", first.name)),
                        (name.loc, "declared again here".to_string()),
                    )
                    .hint("group names are compared ignoring case; keep one of them"),
                );
                continue;
            }
            let declared = DesiredGroup {
                name: GroupName::new(name.value.clone()),
                description: group.description.as_ref().map(|d| d.value.clone()),
                access,
                rules,
            };
            out.insert(key, (declared, name.loc));
        }
        out
    }

    /// Checks a group name; `false` when the group cannot be declared at all (an empty
    /// name, odd spaces or invisible characters, or IBM's built-in group). A name that is
    /// too long is reported and kept.
    fn group_name(&mut self, name: &Sp<String>) -> bool {
        if name.value.trim().is_empty() {
            self.diags.push(
                Diagnostic::new("a group name is empty", name.loc, "empty name")
                    .hint("give the group a name of 1 to 100 characters"),
            );
            return false;
        }
        if let Some(problem) = name_problem(&name.value) {
            self.odd_group_name(name, problem);
            return false;
        }
        let chars = name.value.chars().count();
        if chars > MAX_GROUP_NAME_CHARS {
            self.diags.push(
                Diagnostic::new(
                    format!("the group name is {chars} characters long"),
                    name.loc,
                    format!("more than {MAX_GROUP_NAME_CHARS} characters"),
                )
                .hint(format!(
                    "IBM Cloud allows group names of 1 to {MAX_GROUP_NAME_CHARS} characters; shorten it"
                )),
            );
        }
        if is_public_access_name(&name.value) {
            self.diags.push(
                Diagnostic::new(
                    format!("`{}` is reserved", name.value),
                    name.loc,
                    "IBM's built-in group",
                )
                .hint(
                    "every identity belongs to Public Access implicitly; orgsync never manages \
                     it. Remove this group",
                ),
            );
            return false;
        }
        true
    }

    /// A group name with odd spaces or invisible characters: said with the character and
    /// where it is, and whether the name is a disguised `Public Access`.
    fn odd_group_name(&mut self, name: &Sp<String>, problem: &str) {
        let shown = visible(&name.value);
        let (at, label) = match text::first_odd_char(&name.value, false) {
            Some((i, c)) => (
                text::char_loc(name.loc, &name.value, i),
                format!("{} here", text::describe_char(c)),
            ),
            None => (name.loc, problem.to_string()),
        };
        let hint = if is_public_access_name(&normalized_spaces(&name.value)) {
            "this is IBM's built-in `Public Access` group with odd spaces; orgsync never \
             manages it. Remove this group"
                .to_string()
        } else {
            format!(
                "a group name has single ordinary spaces between words and no invisible \
                 characters, so that two names that look the same are the same; write `{}`",
                normalized_spaces(&name.value)
            )
        };
        self.diags
            .push(Diagnostic::new(format!("group name `{shown}` {problem}"), at, label).hint(hint));
    }

    fn description(&mut self, name: &Sp<String>, group: &RawGroup) {
        let Some(description) = &group.description else {
            return;
        };
        let len = description.value.chars().count();
        if len > MAX_DESCRIPTION_CHARS {
            self.diags.push(
                Diagnostic::new(
                    format!(
                        "the description of group `{}` is {len} characters long",
                        name.value
                    ),
                    description.loc,
                    format!("more than {MAX_DESCRIPTION_CHARS} characters"),
                )
                .hint(format!(
                    "IBM Cloud allows descriptions of at most {MAX_DESCRIPTION_CHARS} characters; shorten it"
                )),
            );
        }
    }

    fn plausible_email(&mut self, email: &Sp<String>, context: &str) -> bool {
        let Some(problem) = email_problem(&email.value) else {
            return true;
        };
        let trimmed = email.value.trim_matches([' ', '\t']);
        let odd = text::first_odd_char(trimmed, true).filter(|_| problem.contains("ASCII"));
        let (at, label, hint) = match odd {
            Some((i, c)) => {
                let lead = email.value.chars().count()
                    - email.value.trim_start_matches([' ', '\t']).chars().count();
                (
                    text::char_loc(email.loc, &email.value, lead + i),
                    format!("{} here", text::describe_char(c)),
                    "emails are printable ASCII: an invisible or look-alike character makes a \
                     different address that reads the same. Retype the address; write an \
                     internationalized domain in its ASCII form (`xn--…`)"
                        .to_string(),
                )
            }
            None => (
                email.loc,
                problem.to_string(),
                "write an address of the form name@example.com, without spaces".to_string(),
            ),
        };
        self.diags.push(
            Diagnostic::new(
                format!(
                    "`{}` in {context} is not an email address",
                    visible(&email.value)
                ),
                at,
                label,
            )
            .hint(hint),
        );
        false
    }

    fn users<'r>(
        &mut self,
        entries: impl Iterator<Item = &'r (Sp<String>, RawUser)>,
        groups: &Declared,
        policy: &Policy,
    ) -> BTreeMap<Email, DesiredUser> {
        let mut out = BTreeMap::new();
        let mut seen: HashMap<Email, Loc> = HashMap::new();
        for (key, user) in entries {
            let email_ok = self.user_email(key, &mut seen, policy);
            let email = Email::new(&key.value);
            let user_groups = self.user_groups(&email, &user.groups, groups);
            let expires = self.expires(&email, user.expires.as_ref());
            if email_ok {
                out.entry(email.clone()).or_insert(DesiredUser {
                    email,
                    groups: user_groups,
                    expires,
                });
            }
        }
        out
    }

    /// Checks a user's email: plausible, listed once, in an allowed domain. `false` when it
    /// is not an email at all (the other problems leave the user in the state).
    fn user_email(
        &mut self,
        key: &Sp<String>,
        seen: &mut HashMap<Email, Loc>,
        policy: &Policy,
    ) -> bool {
        if !self.plausible_email(key, "`users`") {
            return false;
        }
        let email = Email::new(&key.value);
        if let Some(first) = first_place(seen, email.clone(), key.loc) {
            self.diags.push(
                Diagnostic::twice(
                    format!("user `{email}` is listed twice"),
                    key.loc,
                    first,
                    "listed",
                )
                .hint("emails are compared ignoring case and spaces; merge the two entries"),
            );
        }
        let allowed = &policy.allowed_domains;
        if !allowed.is_empty() && !allowed.contains(email.domain()) {
            let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
            self.diags.push(
                Diagnostic::new(
                    format!(
                        "`{email}` is outside the allowed domains ({})",
                        allowed.join(", ")
                    ),
                    key.loc,
                    format!("domain `{}` is not allowed", email.domain()),
                )
                .hint(
                    "check the address; if this person should be invited, add the domain \
                     to `policy.allowed_domains` (subdomains must be listed themselves)",
                ),
            );
        }
        true
    }

    /// A user's groups, in the declared spelling: each listed once and declared.
    fn user_groups(
        &mut self,
        email: &Email,
        listed: &Sp<Vec<Sp<String>>>,
        groups: &Declared,
    ) -> BTreeSet<GroupName> {
        if listed.value.len() > MAX_GROUPS_PER_USER {
            let at = listed
                .value
                .get(MAX_GROUPS_PER_USER)
                .map_or(listed.loc, |g| g.loc);
            self.diags.push(
                Diagnostic::new(
                    format!("user `{email}` is in {} groups", listed.value.len()),
                    at,
                    format!("group number {}", MAX_GROUPS_PER_USER + 1),
                )
                .hint(format!(
                    "IBM Cloud allows at most {MAX_GROUPS_PER_USER} access groups per user"
                )),
            );
        }
        let mut user_groups = BTreeSet::new();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        for group in &listed.value {
            let lower = group.value.to_lowercase();
            if let Some(first) = first_place(&mut seen, lower.clone(), group.loc) {
                self.diags.push(
                    Diagnostic::twice(
                        format!("group `{}` is listed twice for `{email}`", group.value),
                        group.loc,
                        first,
                        "listed",
                    )
                    .hint("group names are compared ignoring case; remove one of them"),
                );
                continue;
            }
            match groups.get(&lower) {
                Some((declared, _)) => {
                    user_groups.insert(declared.name.clone());
                }
                None => {
                    let hint = self.unknown_group_hint(&group.value, &lower, groups);
                    self.diags.push(
                        Diagnostic::new(
                            format!("unknown group `{}` for `{email}`", group.value),
                            group.loc,
                            "not declared under `groups`",
                        )
                        .hint(hint),
                    );
                }
            }
        }
        user_groups
    }

    /// What to do about a group name that is not declared: a near miss, or the choices.
    fn unknown_group_hint(&mut self, name: &str, lower: &str, groups: &Declared) -> String {
        if is_public_access_name(lower) {
            return "Public Access is IBM's built-in group that everyone is in; orgsync \
                    never manages it, so remove it from this list"
                .to_string();
        }
        if let Some(s) = self.suggestion(name, lower, groups) {
            return format!("did you mean `{s}`?");
        }
        if groups.is_empty() {
            return "declare it under `groups:` first".to_string();
        }
        format!(
            "declare it under `groups:` first, or use one of: {}",
            groups
                .values()
                .take(10)
                .map(|(g, _)| format!("`{}`", g.name))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// The declared group closest to `name`, remembered per name and bounded in number.
    fn suggestion(&mut self, name: &str, lower: &str, groups: &Declared) -> Option<String> {
        if let Some(s) = self.suggestions.get(lower) {
            return s.clone();
        }
        if self.suggestion_lookups >= MAX_SUGGESTION_LOOKUPS {
            return None;
        }
        self.suggestion_lookups += 1;
        let s = closest(name, groups.values().map(|(g, _)| g.name.as_str())).map(str::to_string);
        self.suggestions.insert(lower.to_string(), s.clone());
        s
    }

    fn expires(&mut self, email: &Email, expires: Option<&Sp<String>>) -> Option<Date> {
        let e = expires?;
        let value = e.value.trim();
        if let Some((problem, label)) = text::date_problem(value) {
            self.diags.push(
                Diagnostic::new(
                    format!("`expires: {}` of `{email}` {problem}", visible(value)),
                    e.loc,
                    label,
                )
                .hint("write a calendar date as YYYY-MM-DD, e.g. `expires: 2027-06-30`"),
            );
        }
        Date::parse(value)
    }
}

/// Why a domain for `policy.allowed_domains` (already trimmed and lower-cased) is not
/// one, if it is not: dotted labels of letters, digits and `-`, no `@`, no spaces.
fn plausible_domain(domain: &str) -> Option<&'static str> {
    let expected = "expected a domain such as example.com";
    if domain.is_empty() || domain.contains('@') || domain.chars().any(char::is_whitespace) {
        return Some(expected);
    }
    if !domain.is_ascii() {
        return Some("contains a character that is not ASCII (invisible, or a look-alike)");
    }
    text::domain_problem(domain).map(|_| expected)
}

/// Text from the file for a message: invisible characters and odd spaces shown as their
/// code points (`alice\u{200b}@example.com`), so that the message shows what is there.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if text::is_odd(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `text` with every run of spaces (of any kind) made one ordinary space and invisible
/// characters dropped, trimmed: what a person reads.
fn normalized_spaces(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !text::is_odd(c) {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// The candidate closest to `name` ignoring case, if it is close enough to be a typo.
pub(crate) fn closest<'c>(
    name: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    let name = name.to_lowercase();
    let len = name.chars().count();
    // Long strings are not typos of short names, and the distance is quadratic.
    if len > 2 * MAX_GROUP_NAME_CHARS {
        return None;
    }
    let limit = match len {
        0..=3 => 1,
        4..=8 => 2,
        _ => len / 4 + 1,
    };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let d = edit_distance(&name, &candidate.to_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_a_close_name_and_nothing_for_a_far_one() {
        let names = ["quantum-algorithms", "quantum-chemistry", "ops"];
        assert_eq!(
            closest("Quantum-Algoritms", names.iter().copied()),
            Some("quantum-algorithms")
        );
        assert_eq!(closest("finance", names.iter().copied()), None);
        assert_eq!(closest("opz", names.iter().copied()), Some("ops"));
    }

    #[test]
    fn odd_spaces_are_shown_and_normalized() {
        assert_eq!(visible("a\u{200b}b"), "a\\u{200b}b");
        assert_eq!(visible("Équipe"), "Équipe");
        assert_eq!(
            normalized_spaces(" Public\u{a0}\u{a0}Access "),
            "Public Access"
        );
        assert_eq!(normalized_spaces("Public\u{200b}Access"), "PublicAccess");
        assert_eq!(normalized_spaces("Public \u{200b}Access"), "Public Access");
    }
}
