//! The config file's shape, as written: every key and value with the place it came from.
//!
//! These types are the one description of the format. They derive `JsonSchema` (that is
//! `orgsync schema` and the committed `org.schema.json`) and strict serde `Deserialize`
//! (`deny_unknown_fields`). orgsync itself fills them with [`read_config`], a walk over the
//! YAML tree that reports *every* unknown key, wrong type and missing key instead of
//! stopping at the first one as serde would. Tests pin that the walk and the derived
//! deserializer accept and reject the same files, and that the key lists below match the
//! types.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::diagnostics::{Diagnostic, Diagnostics, FileId, Loc};
use super::yaml::{Node, Value};

/// A value and where it was written. Deserializing it with serde (tests only) leaves the
/// place unknown; [`read_config`] fills it in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub(crate) loc: Loc,
}

impl<T> Sp<T> {
    fn new(value: T, loc: Loc) -> Self {
        Sp { value, loc }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|value| Sp {
            value,
            loc: Loc::default(),
        })
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A mapping from names to entries, in file order, duplicates kept: validation reports a
/// name defined twice at both places, which a map type would silently collapse.
#[derive(Clone, Debug, PartialEq)]
pub struct Entries<T>(pub Vec<(Sp<String>, T)>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<Sp<String>, T>()? {
                    entries.push((k, v));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Entries<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Entries_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<T>(),
        })
    }
}

/// An orgsync config file: which users belong to which IBM Cloud IAM access groups.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orgsync config")]
pub struct RawConfig {
    /// The format version. The only version is 1.
    #[schemars(extend("const" = 1))]
    pub version: Sp<i64>,
    /// The IBM Cloud account this file governs: 32 lower-case hexadecimal characters.
    #[schemars(pattern(r"^[0-9a-f]{32}$"))]
    pub account_id: Sp<String>,
    /// How orgsync treats what the file does not say. Every key is optional.
    #[serde(default)]
    pub policy: Option<RawPolicy>,
    /// Further files (glob patterns relative to this file, `*` and `?` allowed) holding
    /// more `groups` and `users`. A name defined in two files is an error.
    #[serde(default)]
    pub include: Option<Vec<Sp<String>>>,
    /// The managed access groups, by name (1-100 characters, unique ignoring case; never
    /// `Public Access`; at most 500). May be `{}`.
    #[schemars(extend("maxProperties" = 500, "propertyNames" = { "minLength": 1, "maxLength": 100 }))]
    pub groups: Entries<RawGroup>,
    /// The users, by email (unique ignoring case). May be `{}`.
    #[schemars(extend("propertyNames" = { "pattern": r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$" }))]
    pub users: Entries<RawUser>,
}

/// The top-level keys [`RawConfig`] accepts, in the order the docs list them.
pub const CONFIG_KEYS: &[&str] = &[
    "version",
    "account_id",
    "policy",
    "include",
    "groups",
    "users",
];

#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Account users the file does not list (or whose `expires` has passed): `ignore`
    /// leaves them in the account (default); `remove` removes them from the account.
    #[serde(default)]
    #[schemars(extend("default" = "ignore"))]
    pub unlisted_users: Option<Sp<UnlistedUsers>>,
    /// apply refuses a plan with more removals than this (remove_member + remove_user)
    /// unless `--allow-removals N` covers them. Default 10.
    #[serde(default)]
    #[schemars(extend("default" = 10))]
    pub max_removals: Option<Sp<u32>>,
    /// Emails never removed from the account or from any group.
    #[serde(default)]
    pub protected: Option<Vec<Sp<String>>>,
    /// Create declared groups the account lacks (default true); false makes such a plan fail.
    #[serde(default)]
    #[schemars(extend("default" = true))]
    pub create_groups: Option<Sp<bool>>,
    /// When given, every user's email must be in one of these domains (exactly: a
    /// subdomain must be listed itself).
    #[serde(default)]
    pub allowed_domains: Option<Vec<Sp<String>>>,
}

pub const POLICY_KEYS: &[&str] = &[
    "unlisted_users",
    "max_removals",
    "protected",
    "create_groups",
    "allowed_domains",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnlistedUsers {
    Ignore,
    Remove,
}

/// A managed access group.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// When given, a differing live description is updated. At most 250 characters.
    #[serde(default)]
    #[schemars(length(max = 250))]
    pub description: Option<Sp<String>>,
}

pub const GROUP_KEYS: &[&str] = &["description"];

/// A user of the account and the managed groups they belong to.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// Names of groups declared under `groups`; each at most once; at most 50. `[]` keeps
    /// the user in the account but in no managed group.
    #[schemars(length(max = 50))]
    pub groups: Sp<Vec<Sp<String>>>,
    /// `YYYY-MM-DD`: from this day (UTC) on, the user is treated as unlisted.
    #[serde(default)]
    #[schemars(extend("format" = "date"))]
    pub expires: Option<Sp<String>>,
}

pub const USER_KEYS: &[&str] = &["groups", "expires"];

/// A file named by `include`: more groups and users, nothing else.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncluded {
    #[serde(default)]
    pub groups: Option<Entries<RawGroup>>,
    #[serde(default)]
    pub users: Option<Entries<RawUser>>,
}

pub const INCLUDED_KEYS: &[&str] = &["groups", "users"];

// ---------------------------------------------------------------------------
// The walk: YAML tree → raw types, reporting every shape problem.

/// Reads one file's tree; problems go to `diags`.
pub(crate) struct Reader<'a> {
    pub diags: &'a mut Diagnostics,
    pub file: FileId,
}

impl Reader<'_> {
    fn loc(&self, node: &Node) -> Loc {
        Loc {
            file: self.file,
            pos: Some(node.pos),
        }
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str, example: &str) {
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
    fn mapping<'n>(
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

    /// Splits a fixed-key mapping into its known keys, reporting unknown and repeated keys.
    fn fields<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        allowed: &[&'static str],
        context: &str,
        unknown_hint: &dyn Fn(&str) -> Option<String>,
    ) -> Fields<'n> {
        let mut found: Vec<(&'static str, &'n Node, &'n Node)> = Vec::new();
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
                None => {
                    let hint =
                        unknown_hint(&name).unwrap_or_else(|| unknown_key_hint(&name, allowed));
                    let d = Diagnostic::new(
                        format!("unknown key `{name}` in {context}"),
                        self.loc(key),
                        "unknown key",
                    )
                    .hint(hint);
                    self.diags.push(d);
                }
            }
        }
        Fields(found)
    }

    fn missing(&mut self, owner: Loc, key: &str, context: &str, example: &str) {
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
    fn string(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<String>> {
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

    fn strings(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<Vec<Sp<String>>>> {
        let items = match &node.value {
            Value::Seq(items) => Some(items),
            _ => None,
        };
        let items = self.typed(node, items, what, "a list", example)?;
        let each = format!("each entry of {what}");
        let strings = items
            .value
            .iter()
            .filter_map(|item| self.string(item, &each, example))
            .collect();
        Some(Sp::new(strings, items.loc))
    }

    fn integer(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<i128>> {
        let value = match node.value {
            Value::Int(i) => Some(i),
            _ => None,
        };
        self.typed(node, value, what, "a whole number", example)
    }

    fn boolean(&mut self, node: &Node, what: &str, example: &str) -> Option<Sp<bool>> {
        let value = match node.value {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        self.typed(node, value, what, "`true` or `false`", example)
    }

    /// `value` is the node read as the type wanted, `None` when it is not of that type:
    /// then a wrong-type problem saying what was `expected`.
    fn typed<T>(
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
    fn entries<T>(
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
    fn entry_fields<'n>(
        &mut self,
        node: &'n Node,
        context: &str,
        example: &str,
        allowed: &[&'static str],
    ) -> Option<Fields<'n>> {
        let items = self.mapping(node, &format!("the value of {context}"), example)?;
        Some(self.fields(items, allowed, context, &|_| None))
    }

    fn group(&mut self, name: &Sp<String>, node: &Node) -> Option<RawGroup> {
        let context = format!("group `{}`", name.value);
        let example = format!("`{}: {{description: Algorithms research}}`", name.value);
        // A value of the wrong shape still yields the entry, so that its name is checked too.
        let Some(fields) = self.entry_fields(node, &context, &example, GROUP_KEYS) else {
            return Some(RawGroup::default());
        };
        let description = fields
            .given("description")
            .and_then(|n| self.string(n, "`description`", "`description: Algorithms research`"));
        Some(RawGroup { description })
    }

    fn user(&mut self, email: &Sp<String>, node: &Node) -> Option<RawUser> {
        let context = format!("user `{}`", email.value);
        let example = format!("`{}: {{groups: [quantum-algorithms]}}`", email.value);
        // A value of the wrong shape still yields the entry, so that its email is checked too.
        let Some(fields) = self.entry_fields(node, &context, &example, USER_KEYS) else {
            return Some(RawUser::default());
        };
        let groups = match fields.get("groups") {
            Some(n) => self
                .strings(n, "`groups`", "`groups: [quantum-algorithms]`")
                .unwrap_or_default(),
            None => {
                self.missing(email.loc, "groups", &context, "`groups: []`");
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
        let fields = self.fields(items, POLICY_KEYS, "`policy`", &|_| None);
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
        let fields = self.fields(items, CONFIG_KEYS, "the top level", &|_| None);
        let top = Loc {
            file: self.file,
            pos: Some(root.pos),
        };
        match fields.get("version") {
            Some(n) => {
                if let Some(v) = self.integer(n, "`version`", "`version: 1`") {
                    raw.version = Sp::new(i64::try_from(v.value).unwrap_or(i64::MAX), v.loc);
                }
            }
            None => self.missing(top, "version", "the file", "`version: 1` as the first line"),
        }
        match fields.get("account_id") {
            Some(n) => {
                if let Some(v) = self.string(n, "`account_id`", "`account_id: 0123456789abcdef0123456789abcdef`") {
                    raw.account_id = v;
                }
            }
            None => self.missing(
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
        match fields.get("groups") {
            Some(n) => raw.groups = self.groups(n),
            None => self.missing(
                top,
                "groups",
                "the file",
                "`groups: {}` if there are none yet",
            ),
        }
        match fields.get("users") {
            Some(n) => raw.users = self.users(n),
            None => self.missing(
                top,
                "users",
                "the file",
                "`users: {}` if there are none yet",
            ),
        }
        raw
    }

    /// Reads a file named by `include`: only `groups` and `users`.
    pub fn included(&mut self, root: &Node) -> RawIncluded {
        let Some(items) = self.top_level(root) else {
            return RawIncluded::default();
        };
        let fields = self.fields(items, INCLUDED_KEYS, "an included file", &|name| {
            CONFIG_KEYS.contains(&name).then(|| {
                format!("`{name}` belongs in the main file; an included file holds only `groups` and `users`")
            })
        });
        // Both are optional here, so an empty value means none (in the main file it is an
        // error, as the schema says: `groups: {}` is the way to write none).
        RawIncluded {
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
                    format!("the top level must be a mapping of keys, not {}", other.kind()),
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

/// A near miss among the `allowed` keys, or the list of them.
fn unknown_key_hint(name: &str, allowed: &[&str]) -> String {
    match super::validate::closest(name, allowed.iter().copied()) {
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

/// The known keys of one mapping, with their key and value nodes.
struct Fields<'n>(Vec<(&'static str, &'n Node, &'n Node)>);

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.0
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    /// The value of an optional key, when it has one: `key:` with nothing after it is
    /// the same as leaving the key out.
    fn given(&self, key: &str) -> Option<&'n Node> {
        self.get(key).filter(|n| n.value != Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk's key lists and the schema (derived from the types) must name the same keys.
    #[test]
    fn key_lists_match_the_schema_generated_from_the_types() {
        let schema: serde_json::Value =
            serde_json::from_str(&super::super::schema_json()).expect("schema is JSON");
        let props = |v: &serde_json::Value| -> Vec<String> {
            let mut keys: Vec<String> = v["properties"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            keys
        };
        let sorted = |keys: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(props(&schema), sorted(CONFIG_KEYS));
        let defs = &schema["definitions"];
        assert_eq!(props(&defs["RawPolicy"]), sorted(POLICY_KEYS));
        assert_eq!(props(&defs["RawGroup"]), sorted(GROUP_KEYS));
        assert_eq!(props(&defs["RawUser"]), sorted(USER_KEYS));
        let included = schemars::schema_for!(RawIncluded);
        let included = serde_json::to_value(&included).expect("schema is JSON");
        assert_eq!(props(&included), sorted(INCLUDED_KEYS));
    }
}
