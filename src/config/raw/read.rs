//! The walk: YAML tree → raw types, reporting every shape problem (unknown and repeated
//! keys, wrong types, missing keys, numbers that are not plainly written). `roles`,
//! `access` and `rules` are read in [`super::grants`].

use super::super::diagnostics::{Diagnostic, Diagnostics, FileId, Loc};
use super::super::yaml::{Node, Value};
use super::{
    CONFIG_KEYS, Entries, GROUP_KEYS, INCLUDED_KEYS, POLICY_KEYS, RawConfig, RawGroup, RawIncluded,
    RawPolicy, RawUser, Sp, USER_KEYS, UnlistedUsers,
};

/// Reads one file's tree; problems go to `diags`.
pub(crate) struct Reader<'a> {
    pub diags: &'a mut Diagnostics,
    pub file: FileId,
}

/// The keys the top level requires.
const CONFIG_REQUIRED: &[&str] = &["version", "account_id", "groups", "users"];

impl Reader<'_> {
    pub(super) fn loc(&self, node: &Node) -> Loc {
        Loc {
            file: self.file,
            pos: Some(node.pos),
        }
    }

    pub(super) fn wrong_type(&mut self, node: &Node, what: &str, expected: &str, example: &str) {
        let hint = match (&node.value, expected) {
            (Value::Null, "a mapping") => format!("write `{{}}` for none, or like this: {example}"),
            (Value::Null, "a list") => format!("write `[]` for none, or like this: {example}"),
            _ => format!("write it like this: {example}"),
        };
        let d = Diagnostic::new(
            format!("{what} must be {expected}, not {}", node.value.kind()),
            self.loc(node),
            format!("expected {expected}"),
        )
        .hint(hint);
        self.diags.push(d);
    }

    /// The entries of a mapping, or a wrong-type problem.
    pub(super) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        example: &str,
    ) -> Option<&'n [(Node, Node)]> {
        let entries = match &node.value {
            Value::Map(entries) => Some(entries.as_slice()),
            _ => None,
        };
        self.typed(node, entries, what, "a mapping", example)
            .map(|e| e.value)
    }

    /// The items of a list, or a wrong-type problem.
    pub(super) fn list<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        example: &str,
    ) -> Option<Sp<&'n [Node]>> {
        let items = match &node.value {
            Value::Seq(items) => Some(items.as_slice()),
            _ => None,
        };
        self.typed(node, items, what, "a list", example)
    }

    /// Splits a fixed-key mapping into its known keys, reporting unknown and repeated keys.
    /// An unknown key that is a near miss of a `required` key the mapping lacks is that
    /// key renamed (`user:` for `users:`): it is reported as such, at the key, and
    /// [`Reader::missing`] then says nothing more about the required key.
    pub(super) fn fields<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        allowed: &[&'static str],
        required: &[&'static str],
        context: &str,
        unknown_hint: &dyn Fn(&str) -> Option<String>,
    ) -> Fields<'n> {
        let mut found: Vec<(&'static str, &'n Node, &'n Node)> = Vec::new();
        let mut unknown = Vec::new();
        for (key, value) in entries {
            let name = match &key.value {
                Value::Str(s) => s.clone(),
                _ => self
                    .diags
                    .scalar_text(self.file, key.pos)
                    .unwrap_or_else(|| key.value.kind().to_string()),
            };
            match allowed.iter().find(|k| **k == name) {
                Some(known) => {
                    if let Some((_, first, _)) = found.iter().find(|(k, _, _)| k == known) {
                        let d = Diagnostic::twice(
                            format!("`{known}` is given twice in {context}"),
                            self.loc(key),
                            self.loc(first),
                            "given",
                        )
                        .hint("keep one of them");
                        self.diags.push(d);
                    } else {
                        found.push((known, key, value));
                    }
                }
                None => unknown.push((name, self.loc(key))),
            }
        }
        let mut renamed = Vec::new();
        for (name, loc) in unknown {
            let near = super::super::validate::closest(&name, allowed.iter().copied());
            let renamed_required =
                near.filter(|k| required.contains(k) && !found.iter().any(|(f, _, _)| f == k));
            let d = match renamed_required.and_then(|k| required.iter().find(|r| **r == k)) {
                Some(key) => {
                    renamed.push(*key);
                    Diagnostic::new(
                        format!("unknown key `{name}` in {context}; did you mean `{key}`?"),
                        loc,
                        "unknown key",
                    )
                    .hint(format!(
                        "`{key}` is required and missing: rename `{name}` to `{key}`"
                    ))
                }
                None => {
                    let hint =
                        unknown_hint(&name).unwrap_or_else(|| unknown_key_hint(&name, allowed));
                    Diagnostic::new(
                        format!("unknown key `{name}` in {context}"),
                        loc,
                        "unknown key",
                    )
                    .hint(hint)
                }
            };
            self.diags.push(d);
        }
        Fields { found, renamed }
    }

    /// Reports a required key the mapping lacks, unless an unknown key was reported as
    /// its near miss ([`Reader::fields`]).
    pub(super) fn missing(
        &mut self,
        fields: &Fields,
        owner: Loc,
        key: &str,
        context: &str,
        example: &str,
    ) {
        if fields.renamed.contains(&key) {
            return;
        }
        let d = Diagnostic::new(
            format!("{context} is missing the required key `{key}`"),
            owner,
            format!("`{key}` missing"),
        )
        .hint(format!("add it, for example: {example}"));
        self.diags.push(d);
    }

    /// A string scalar. Numbers and booleans count as the text that was typed (YAML reads
    /// `0123` as a number; as an account id it is text).
    pub(super) fn string(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<String>> {
        let text = match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                self.diags.scalar_text(self.file, node.pos).or_else(|| {
                    Some(match &node.value {
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => String::new(),
                    })
                })
            }
            _ => None,
        };
        self.typed(node, text, what, "a string", example)
    }

    pub(super) fn strings(
        &mut self,
        node: &Node,
        what: &str,
        example: &str,
    ) -> Option<Sp<Vec<Sp<String>>>> {
        let items = self.list(node, what, example)?;
        let each = format!("each entry of {what}");
        let strings = items
            .value
            .iter()
            .filter_map(|item| self.string(item, &each, example))
            .collect();
        Some(Sp::new(strings, items.loc))
    }

    /// A whole number written plainly: decimal digits with an optional `-`. Anything that
    /// YAML reads as a number but a person may read otherwise (`010`, `0x1A`, `1_000`,
    /// `1.0`, a 40-digit number) gets a problem saying exactly what is wrong with it.
    pub(super) fn integer(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<i128>> {
        if let Value::Int(_) | Value::Float(_) = node.value {
            let text = self.diags.scalar_text(self.file, node.pos);
            if let Some((problem, hint)) = number_problem(text.as_deref(), &node.value) {
                let d = Diagnostic::new(
                    format!("{what} must be a whole number: {problem}"),
                    self.loc(node),
                    "not a plain whole number",
                )
                .hint(format!("{hint}, like this: {example}"));
                self.diags.push(d);
                return None;
            }
        }
        let value = match node.value {
            Value::Int(i) => Some(i),
            _ => None,
        };
        self.typed(node, value, what, "a whole number", example)
    }

    pub(super) fn boolean(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<bool>> {
        let value = match node.value {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        self.typed(node, value, what, "`true` or `false`", example)
    }

    /// `value` is the node read as the type wanted, `None` when it is not of that type:
    /// then a wrong-type problem saying what was `expected`.
    pub(super) fn typed<T>(
        &mut self,
        node: &Node,
        value: Option<T>,
        what: &str,
        expected: &str,
        example: &str,
    ) -> Option<Sp<T>> {
        if value.is_none() {
            self.wrong_type(node, what, expected, example);
        }
        value.map(|v| Sp::new(v, self.loc(node)))
    }

    /// A `name: {...}` mapping of entries; `read` reads each value.
    pub(super) fn entries<T>(
        &mut self,
        node: &Node,
        what: &str,
        example: &str,
        mut read: impl FnMut(&mut Self, &Sp<String>, &Node) -> Option<T>,
    ) -> Entries<T> {
        let Some(items) = self.mapping(node, what, example) else {
            return Entries::default();
        };
        let mut out = Vec::with_capacity(items.len());
        for (key, value) in items {
            let Some(name) = self.string(key, &format!("each name in {what}"), example) else {
                continue;
            };
            if let Some(v) = read(self, &name, value) {
                out.push((name, v));
            }
        }
        Entries(out)
    }

    /// The keys of one entry's value (`name: {...}`); `None` when it is not a mapping.
    pub(super) fn entry_fields<'n>(
        &mut self,
        node: &'n Node,
        context: &str,
        example: &str,
        allowed: &[&'static str],
        required: &[&'static str],
    ) -> Option<Fields<'n>> {
        let items = self.mapping(node, &format!("the value of {context}"), example)?;
        Some(self.fields(items, allowed, required, context, &|_| None))
    }

    fn group(&mut self, name: &Sp<String>, node: &Node) -> Option<RawGroup> {
        let context = format!("group `{}`", name.value);
        let example = format!("`{}: {{description: Algorithms research}}`", name.value);
        // A value of the wrong shape still yields the entry, so that its name is checked too.
        let Some(fields) = self.entry_fields(node, &context, &example, GROUP_KEYS, &[]) else {
            return Some(RawGroup::default());
        };
        let description = fields
            .given("description")
            .and_then(|n| self.string(n, "`description`", "`description: Algorithms research`"));
        let access = fields
            .get("access")
            .and_then(|n| self.access(&name.value, n));
        let rules = fields.get("rules").and_then(|n| self.rules(&name.value, n));
        Some(RawGroup {
            description,
            access,
            rules,
        })
    }

    fn user(&mut self, email: &Sp<String>, node: &Node) -> Option<RawUser> {
        let context = format!("user `{}`", email.value);
        let example = format!("`{}: {{groups: [quantum-algorithms]}}`", email.value);
        // A value of the wrong shape still yields the entry, so that its email is checked too.
        let Some(fields) = self.entry_fields(node, &context, &example, USER_KEYS, &["groups"])
        else {
            return Some(RawUser::default());
        };
        let groups = match fields.get("groups") {
            Some(n) => self
                .strings(n, "`groups`", "`groups: [quantum-algorithms]`")
                .unwrap_or_default(),
            None => {
                self.missing(&fields, email.loc, "groups", &context, "`groups: []`");
                Sp::default()
            }
        };
        let expires = fields
            .given("expires")
            .and_then(|n| self.string(n, "`expires`", "`expires: 2027-06-30`"));
        Some(RawUser { groups, expires })
    }

    fn optional_strings(
        &mut self,
        fields: &Fields,
        key: &str,
        example: &str,
    ) -> Option<Vec<Sp<String>>> {
        fields
            .given(key)
            .and_then(|n| self.strings(n, &format!("`{key}`"), example))
            .map(|s| s.value)
    }

    fn policy(&mut self, node: &Node) -> Option<RawPolicy> {
        if node.value == Value::Null {
            return None;
        }
        let items = self.mapping(node, "`policy`", "`policy: {max_removals: 10}`")?;
        let fields = self.fields(items, POLICY_KEYS, &[], "`policy`", &|_| None);
        let unlisted_users = fields
            .given("unlisted_users")
            .and_then(|n| self.unlisted_users(n));
        let max_removals = fields
            .given("max_removals")
            .and_then(|n| self.max_removals(n));
        let protected =
            self.optional_strings(&fields, "protected", "`protected: [owner@example.com]`");
        let create_groups = fields
            .given("create_groups")
            .and_then(|n| self.boolean(n, "`create_groups`", "`create_groups: true`"));
        let allowed_domains = self.optional_strings(
            &fields,
            "allowed_domains",
            "`allowed_domains: [example.com]`",
        );
        Some(RawPolicy {
            unlisted_users,
            max_removals,
            protected,
            create_groups,
            allowed_domains,
        })
    }

    fn unlisted_users(&mut self, node: &Node) -> Option<Sp<UnlistedUsers>> {
        let text = self.string(node, "`unlisted_users`", "`unlisted_users: ignore`")?;
        let parsed = match text.value.as_str() {
            "ignore" => UnlistedUsers::Ignore,
            "remove" => UnlistedUsers::Remove,
            other => {
                let d = Diagnostic::new(
                    format!("`unlisted_users` must be `ignore` or `remove`, not `{other}`"),
                    text.loc,
                    "unknown choice",
                )
                .hint(
                    "`ignore` leaves users the file does not list alone; \
                     `remove` removes them from the account",
                );
                self.diags.push(d);
                return None;
            }
        };
        Some(Sp::new(parsed, text.loc))
    }

    fn max_removals(&mut self, node: &Node) -> Option<Sp<u32>> {
        let i = self.integer(node, "`max_removals`", "`max_removals: 10`")?;
        match u32::try_from(i.value) {
            Ok(v) => Some(Sp::new(v, i.loc)),
            Err(_) => {
                let d = Diagnostic::new(
                    format!("`max_removals` must be between 0 and {}", u32::MAX),
                    i.loc,
                    "out of range",
                )
                .hint("use 0 to refuse every removal, or a small number like 10");
                self.diags.push(d);
                None
            }
        }
    }

    fn groups(&mut self, node: &Node) -> Entries<RawGroup> {
        self.entries(
            node,
            "`groups`",
            "`groups: {quantum-algorithms: {}}`",
            |r, name, v| r.group(name, v),
        )
    }

    fn users(&mut self, node: &Node) -> Entries<RawUser> {
        self.entries(
            node,
            "`users`",
            "`users: {alice@example.com: {groups: [quantum-algorithms]}}`",
            |r, email, v| r.user(email, v),
        )
    }

    /// Reads the main file. Shape problems are reported; what could be read is returned so
    /// that the rules can still be checked on it.
    pub fn config(&mut self, root: &Node) -> RawConfig {
        let mut raw = RawConfig::default();
        let Some(items) = self.top_level(root) else {
            return raw;
        };
        let fields = self.fields(
            items,
            CONFIG_KEYS,
            CONFIG_REQUIRED,
            "the top level",
            &|_| None,
        );
        let top = Loc {
            file: self.file,
            pos: Some(root.pos),
        };
        match fields.get("version") {
            Some(n) => raw.version = self.version(n).unwrap_or_default(),
            None => self.missing(
                &fields,
                top,
                "version",
                "the file",
                "`version: 1` as the first line",
            ),
        }
        match fields.get("account_id") {
            Some(n) => {
                if let Some(v) = self.string(n, "`account_id`", "`account_id: 0123456789abcdef0123456789abcdef`") {
                    raw.account_id = v;
                }
            }
            None => self.missing(
                &fields,
                top,
                "account_id",
                "the file",
                "`account_id: <your account id>` (IBM Cloud console → Manage → Account → Account settings)",
            ),
        }
        raw.policy = fields.get("policy").and_then(|n| self.policy(n));
        raw.include = fields
            .given("include")
            .and_then(|n| self.strings(n, "`include`", "`include: [teams/*.yaml]`"))
            .map(|s| s.value);
        raw.roles = fields.given("roles").map(|n| self.roles(n));
        match fields.get("groups") {
            Some(n) => raw.groups = self.groups(n),
            None => self.missing(
                &fields,
                top,
                "groups",
                "the file",
                "`groups: {}` if there are none yet",
            ),
        }
        match fields.get("users") {
            Some(n) => raw.users = self.users(n),
            None => self.missing(
                &fields,
                top,
                "users",
                "the file",
                "`users: {}` if there are none yet",
            ),
        }
        raw
    }

    /// `version`: a whole number; one too large for any version is refused here, as
    /// written (validation says which version is supported).
    fn version(&mut self, node: &Node) -> Option<Sp<i64>> {
        let v = self.integer(node, "`version`", "`version: 1`")?;
        match i64::try_from(v.value) {
            Ok(version) => Some(Sp::new(version, v.loc)),
            Err(_) => {
                self.diags.push(
                    Diagnostic::new(
                        format!("unsupported `version: {}`", v.value),
                        v.loc,
                        "the only version is 1",
                    )
                    .hint("write `version: 1`"),
                );
                None
            }
        }
    }

    /// Reads a file named by `include`: only `roles`, `groups` and `users`.
    pub fn included(&mut self, root: &Node) -> RawIncluded {
        let Some(items) = self.top_level(root) else {
            return RawIncluded::default();
        };
        let fields = self.fields(items, INCLUDED_KEYS, &[], "an included file", &|name| {
            CONFIG_KEYS.contains(&name).then(|| {
                format!("`{name}` belongs in the main file; an included file holds only `roles`, `groups` and `users`")
            })
        });
        // All are optional here, so an empty value means none (in the main file it is an
        // error, as the schema says: `groups: {}` is the way to write none).
        RawIncluded {
            roles: fields.given("roles").map(|n| self.roles(n)),
            groups: fields.given("groups").map(|n| self.groups(n)),
            users: fields.given("users").map(|n| self.users(n)),
        }
    }

    fn top_level<'n>(&mut self, root: &'n Node) -> Option<&'n [(Node, Node)]> {
        match &root.value {
            Value::Map(items) => Some(items),
            Value::Null => {
                let d = Diagnostic::new(
                    "the file is empty",
                    Loc {
                        file: self.file,
                        pos: None,
                    },
                    "",
                )
                .hint("start from org.example.yaml: it has every key, with comments");
                self.diags.push(d);
                None
            }
            other => {
                let d = Diagnostic::new(
                    format!(
                        "the top level must be a mapping of keys, not {}",
                        other.kind()
                    ),
                    self.loc(root),
                    "expected `key: value` lines",
                )
                .hint("the file starts with `version: 1`, then `account_id:`, `groups:` and `users:`; see org.example.yaml");
                self.diags.push(d);
                None
            }
        }
    }
}

/// What is wrong with a number YAML read as `value` from `text` (as typed), and what to
/// write instead, when it is not a plain whole number. `text` is `None` when the place is
/// unknown; then only the value can be judged.
fn number_problem(text: Option<&str>, value: &Value) -> Option<(String, String)> {
    let Some(text) = text else {
        return match value {
            Value::Float(_) => Some((
                "it is not a whole number".to_string(),
                "write decimal digits only".to_string(),
            )),
            _ => None,
        };
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = |s: &str| {
        let t = s.trim_start_matches('0');
        let t = if t.is_empty() { "0" } else { t };
        if text.starts_with('-') && t != "0" {
            format!("-{t}")
        } else {
            t.to_string()
        }
    };
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        let plain = plain(digits);
        return Some((
            format!(
                "`{text}` has a leading zero (YAML 1.1 tools read it as octal, others as {plain})"
            ),
            format!("write `{plain}` without the leading zero"),
        ));
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() > 18 {
        return Some((
            format!(
                "`{text}` is a {}-digit number, far larger than any setting allows",
                digits.len()
            ),
            "write a small whole number".to_string(),
        ));
    }
    let radix = [("0x", "hexadecimal"), ("0o", "octal"), ("0b", "binary")]
        .into_iter()
        .find(|(p, _)| digits.to_ascii_lowercase().starts_with(p));
    if let (Some((_, name)), Value::Int(v)) = (radix, value) {
        return Some((
            format!("`{text}` is written in {name}"),
            format!("write it in decimal: `{v}`"),
        ));
    }
    if text.contains('_') {
        return Some((
            format!("`{text}` has an underscore"),
            format!("write the digits alone: `{}`", text.replace('_', "")),
        ));
    }
    if let Some(unsigned) = text.strip_prefix('+') {
        return Some((
            format!("`{text}` has a `+` sign"),
            format!("write it without the sign: `{unsigned}`"),
        ));
    }
    match value {
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some((
            format!("`{text}` is a decimal number"),
            format!("write the whole number `{}`", *f as i64),
        )),
        Value::Float(_) => Some((
            format!("`{text}` is not a whole number"),
            "write a whole number".to_string(),
        )),
        _ => None,
    }
}

/// A near miss among the `allowed` keys, or the list of them.
fn unknown_key_hint(name: &str, allowed: &[&str]) -> String {
    match super::super::validate::closest(name, allowed.iter().copied()) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!(
            "the keys allowed here are: {}",
            allowed
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The known keys of one mapping, with their key and value nodes, and the required keys
/// an unknown key was reported as a renaming of.
pub(super) struct Fields<'n> {
    found: Vec<(&'static str, &'n Node, &'n Node)>,
    renamed: Vec<&'static str>,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.found
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    /// The value of an optional key, when it has one: `key:` with nothing after it is
    /// the same as leaving the key out.
    pub(super) fn given(&self, key: &str) -> Option<&'n Node> {
        self.get(key).filter(|n| n.value != Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str, value: Value) -> Option<String> {
        number_problem(Some(text), &value).map(|(p, h)| format!("{p}; {h}"))
    }

    #[test]
    fn numbers_that_are_not_plain_say_what_is_wrong() {
        assert_eq!(problem("10", Value::Int(10)), None);
        assert_eq!(problem("-3", Value::Int(-3)), None);
        assert_eq!(problem("0", Value::Int(0)), None);
        assert_eq!(
            problem("010", Value::Float(10.0)).as_deref(),
            Some(
                "`010` has a leading zero (YAML 1.1 tools read it as octal, others as 10); write `10` without the leading zero"
            )
        );
        assert_eq!(
            problem("1.0", Value::Float(1.0)).as_deref(),
            Some("`1.0` is a decimal number; write the whole number `1`")
        );
        assert_eq!(
            problem("2.5", Value::Float(2.5)).as_deref(),
            Some("`2.5` is not a whole number; write a whole number")
        );
        let forty = "1234567890123456789012345678901234567890";
        assert_eq!(
            problem(forty, Value::Float(1.2e39)),
            Some(format!(
                "`{forty}` is a 40-digit number, far larger than any setting allows; write a small whole number"
            ))
        );
        assert!(
            problem("0x1A", Value::Int(26))
                .is_some_and(|p| p.contains("hexadecimal") && p.contains("`26`"))
        );
        assert!(problem("1_000", Value::Int(1000)).is_some_and(|p| p.contains("`1000`")));
        assert!(problem("+5", Value::Int(5)).is_some_and(|p| p.contains("`5`")));
        assert!(problem("1e3", Value::Float(1000.0)).is_some_and(|p| p.contains("`1000`")));
    }
}
