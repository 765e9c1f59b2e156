//! The config file's shape, as written: every key and value with the place it came from.
//!
//! These types are the one description of the format. They derive `JsonSchema` (that is
//! `orgsync schema` and the committed `org.schema.json`) and strict serde `Deserialize`
//! (`deny_unknown_fields`). orgsync itself fills them with [`Reader`] ([`read`], and
//! [`grants`] for `roles`, `access` and `rules`), a walk over the YAML tree that reports
//! *every* unknown key, wrong type and missing key instead of stopping at the first one as
//! serde would. Tests pin that the walk and the derived deserializer accept and reject the
//! same files, and that the key lists below match the types.

mod grants;
mod read;

pub(crate) use read::Reader;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::diagnostics::Loc;

/// A value and where it was written. Deserializing it with serde (tests only) leaves the
/// place unknown; [`read_config`] fills it in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub(crate) loc: Loc,
}

impl<T> Sp<T> {
    pub(crate) fn new(value: T, loc: Loc) -> Self {
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
    /// Further files (glob patterns relative to this file, `*` and `?` allowed, inside
    /// this file's directory) holding more `roles`, `groups` and `users`. A name defined
    /// in two files is an error.
    #[serde(default)]
    pub include: Option<Vec<Sp<String>>>,
    /// Custom roles this file declares, by IBM's role name (a capital letter, then up to
    /// 29 letters or digits; unique ignoring case; at most 40). Roles the file does not
    /// declare are never changed.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 40, "propertyNames" = { "pattern": "^[A-Z][A-Za-z0-9]{0,29}$" }))]
    pub roles: Option<Entries<RawRole>>,
    /// The managed access groups, by name (1-100 characters, unique ignoring case; single
    /// ordinary spaces only, none at either end; never `Public Access`; at most 500).
    /// May be `{}`.
    #[schemars(extend("maxProperties" = 500, "propertyNames" = { "minLength": 1, "maxLength": 100, "pattern": "^\\S+( \\S+)*$" }))]
    pub groups: Entries<RawGroup>,
    /// The users, by email (printable ASCII, at most 64 characters before the `@`;
    /// unique ignoring case). May be `{}`.
    #[schemars(extend("propertyNames" = { "pattern": "^[ \\t]*[!-?A-~]{1,64}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+[ \\t]*$" }))]
    pub users: Entries<RawUser>,
}

/// The top-level keys [`RawConfig`] accepts, in the order the docs list them.
pub const CONFIG_KEYS: &[&str] = &[
    "version",
    "account_id",
    "policy",
    "include",
    "roles",
    "groups",
    "users",
];

/// A custom role: a named bundle of one service's actions.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// The IAM service whose actions the role bundles, e.g. `quantum-computing`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9._-]*$"))]
    pub service: Sp<String>,
    /// The name the console shows: 1-50 characters.
    #[schemars(length(min = 1, max = 50))]
    pub display_name: Sp<String>,
    /// 1-250 characters. When absent, the live description is left alone.
    #[serde(default)]
    #[schemars(length(min = 1, max = 250))]
    pub description: Option<Sp<String>>,
    /// The actions the role allows, each `<service>.…` of the role's service; at least
    /// one, none twice.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub actions: Sp<Vec<Sp<String>>>,
}

pub const ROLE_KEYS: &[&str] = &["service", "display_name", "description", "actions"];

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
    /// What the group grants: one IAM access policy per entry (at most 1000). Present,
    /// even `[]`, the file is authoritative for the group's policies; absent, they are
    /// left alone. `access:` without a value is an error.
    #[serde(default)]
    #[schemars(length(max = 1000), extend("type" = "array"))]
    pub access: Option<Sp<Vec<Sp<RawAccess>>>>,
    /// Dynamic rules that add users of an ID provider (at most 5). Present, even `[]`,
    /// the file is authoritative for the group's rules; absent, they are left alone.
    /// `rules:` without a value is an error.
    #[serde(default)]
    #[schemars(length(max = 5), extend("type" = "array"))]
    pub rules: Option<Sp<Vec<Sp<RawRule>>>>,
}

pub const GROUP_KEYS: &[&str] = &["description", "access", "rules"];

/// One access policy of a group. Its target is (`service`, `instance`,
/// `resource_group`): a service alone means all its instances; with `instance`, that
/// instance; with `resource_group`, the service's instances in that group; a
/// `resource_group` alone, the resource group itself.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "anyOf" = [{ "required": ["service"] }, { "required": ["resource_group"] }],
    "dependencies" = { "instance": ["service"] }
))]
pub struct RawAccess {
    /// An IAM service by name, e.g. `quantum-computing`.
    #[serde(default)]
    #[schemars(pattern(r"^[a-z0-9][a-z0-9._-]*$"))]
    pub service: Option<Sp<String>>,
    /// One instance of the service: by name, GUID or CRN (the CRN's service must be
    /// `service`). Needs `service`.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub instance: Option<Sp<String>>,
    /// A resource group by name, or by id (32 hexadecimal characters).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub resource_group: Option<Sp<String>>,
    /// The roles granted: platform (`Viewer`, `Operator`, `Editor`, `Administrator`),
    /// service (`Reader`, `Writer`, `Manager`), or custom roles of the service (declared
    /// under `roles` or already in the account). At least one, none twice.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub roles: Sp<Vec<Sp<String>>>,
}

pub const ACCESS_KEYS: &[&str] = &["service", "instance", "resource_group", "roles"];

/// A dynamic rule: users who log in through the ID provider `realm` and whose claims
/// satisfy every condition join the group for `expiration_hours`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Unique within the group, ignoring case.
    #[schemars(length(min = 1))]
    pub name: Sp<String>,
    /// The ID provider's URL (its realm), e.g.
    /// `https://us-south.appid.cloud.ibm.com/oauth/v4/<tenant-id>`.
    #[schemars(pattern(r"^https?://[^\s/]+\S*$"))]
    pub realm: Sp<String>,
    /// How long a login keeps the membership, 1-24 hours. Default 24.
    #[serde(default)]
    #[schemars(range(min = 1, max = 24), extend("default" = 24))]
    pub expiration_hours: Option<Sp<u32>>,
    /// Every condition must hold. At least one.
    #[schemars(length(min = 1))]
    pub conditions: Sp<Vec<Sp<RawCondition>>>,
}

pub const RULE_KEYS: &[&str] = &["name", "realm", "expiration_hours", "conditions"];

/// One condition on a login's claim.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    /// The claim's name, as the ID provider sends it.
    #[schemars(length(min = 1))]
    pub claim: Sp<String>,
    /// How the claim relates to `value`, as IBM names the operators.
    #[schemars(extend("enum" = ["EQUALS", "EQUALS_IGNORE_CASE", "IN", "NOT_EQUALS", "NOT_EQUALS_IGNORE_CASE", "CONTAINS"]))]
    pub operator: Sp<String>,
    /// The value to compare with: text (a number or boolean is taken as written).
    #[schemars(extend("type" = ["string", "number", "boolean"]))]
    pub value: Sp<String>,
}

pub const CONDITION_KEYS: &[&str] = &["claim", "operator", "value"];

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

/// A file named by `include`: more roles, groups and users, nothing else.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncluded {
    #[serde(default)]
    pub roles: Option<Entries<RawRole>>,
    #[serde(default)]
    pub groups: Option<Entries<RawGroup>>,
    #[serde(default)]
    pub users: Option<Entries<RawUser>>,
}

pub const INCLUDED_KEYS: &[&str] = &["roles", "groups", "users"];

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
        assert_eq!(props(&defs["RawRole"]), sorted(ROLE_KEYS));
        assert_eq!(props(&defs["RawAccess"]), sorted(ACCESS_KEYS));
        assert_eq!(props(&defs["RawRule"]), sorted(RULE_KEYS));
        assert_eq!(props(&defs["RawCondition"]), sorted(CONDITION_KEYS));
        let included = schemars::schema_for!(RawIncluded);
        let included = serde_json::to_value(&included).expect("schema is JSON");
        assert_eq!(props(&included), sorted(INCLUDED_KEYS));
    }
}
