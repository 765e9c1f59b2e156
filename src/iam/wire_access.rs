//! IBM's wire format for what a group grants, as the client reads it: Policy Management
//! (`/v2/policies`, and the v1 view of a policy for its ETag), roles (`/v2/roles`),
//! Resource Controller instances, Resource Manager resource groups and Access Groups'
//! dynamic rules (docs/ibm-api.md, second wave).
//!
//! As tolerant as `wire`: every field optional, unknown fields ignored, numbers taken for
//! strings and numeric strings for counts, lists of the wrong shape read as empty. What a
//! missing field means is decided where it is used.

use serde::Deserialize;
use serde_json::Value;

use super::wire::{lenient_opt, lenient_string, lenient_u64, lenient_vec};

// ---------------------------------------------------------------------------
// Policy Management

/// `V2PolicyCollection`: `policies` plus paging links (`next: {href, start}`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PolicyCollection {
    /// `None` when absent or null: the pager treats that as a malformed page.
    pub policies: Option<Value>,
    #[serde(deserialize_with = "lenient_opt")]
    pub next: Option<NextLink>,
}

/// A `next` link of a policy listing: `start` directly, or inside `href`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NextLink {
    #[serde(deserialize_with = "lenient_string")]
    pub href: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub start: Option<String>,
}

/// A policy in either version's shape: v2 (`subject`, `resource`, `control.grant.roles`)
/// or v1 (`subjects[]`, `resources[]`, `roles[]`). Both are read, so a GET of a v1 policy
/// and a v2 listing go through one decoder.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Policy {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub href: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub state: Option<String>,
    // v2
    #[serde(deserialize_with = "lenient_opt")]
    pub subject: Option<Attributes>,
    #[serde(deserialize_with = "lenient_opt")]
    pub resource: Option<Resource>,
    #[serde(deserialize_with = "lenient_opt")]
    pub control: Option<Control>,
    /// Conditions (v2 only): any non-null value makes the policy unexpressible.
    pub rule: Option<Value>,
    pub pattern: Option<Value>,
    // v1
    #[serde(deserialize_with = "lenient_vec")]
    pub subjects: Vec<Attributes>,
    #[serde(deserialize_with = "lenient_vec")]
    pub resources: Vec<Resource>,
    #[serde(deserialize_with = "lenient_vec")]
    pub roles: Vec<RoleRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Attributes {
    #[serde(deserialize_with = "lenient_vec")]
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Resource {
    #[serde(deserialize_with = "lenient_vec")]
    pub attributes: Vec<Attribute>,
    /// Access-management tags: any makes the policy unexpressible.
    pub tags: Option<Value>,
}

/// One attribute: `key` in v2, `name` in v1; `value` a string (or a bool with
/// `stringExists`, kept as JSON to tell them apart).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Attribute {
    #[serde(deserialize_with = "lenient_string")]
    pub key: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub operator: Option<String>,
    pub value: Option<Value>,
}

impl Attribute {
    /// The attribute's name in either version.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref().or(self.name.as_deref())
    }

    /// The value, when it is a string (numbers taken as their text, as elsewhere).
    pub fn text(&self) -> Option<String> {
        match self.value.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Control {
    #[serde(deserialize_with = "lenient_opt")]
    pub grant: Option<Grant>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Grant {
    #[serde(deserialize_with = "lenient_vec")]
    pub roles: Vec<RoleRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RoleRef {
    #[serde(deserialize_with = "lenient_string")]
    pub role_id: Option<String>,
}

// ---------------------------------------------------------------------------
// Roles

/// `GET /v2/roles`: the three arrays, each possibly absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RoleCollection {
    #[serde(deserialize_with = "lenient_vec")]
    pub custom_roles: Vec<Role>,
    #[serde(deserialize_with = "lenient_vec")]
    pub service_roles: Vec<Role>,
    #[serde(deserialize_with = "lenient_vec")]
    pub system_roles: Vec<Role>,
}

/// A role of any kind; custom roles add `id`, `name`, `service_name`, `account_id`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Role {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub display_name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub description: Option<String>,
    /// Strings in role listings; objects (`{id, ...}`) in a `format=display` policy.
    #[serde(deserialize_with = "lenient_vec")]
    pub actions: Vec<Value>,
    #[serde(deserialize_with = "lenient_string")]
    pub crn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub service_name: Option<String>,
}

impl Role {
    /// The action ids, in IBM's order.
    pub fn action_ids(&self) -> Vec<String> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Resource Controller and Resource Manager

/// `ResourceInstancesList`: `rows_count`, a relative `next_url` (null on the last page),
/// `resources`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InstanceList {
    #[serde(deserialize_with = "lenient_u64")]
    pub rows_count: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub next_url: Option<String>,
    pub resources: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Instance {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub guid: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub crn: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub resource_group_id: Option<String>,
}

/// `ResourceGroupList`: `resources`, unpaged.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResourceGroupList {
    pub resources: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResourceGroup {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
}

// ---------------------------------------------------------------------------
// Dynamic rules

/// `RulesList`: `{"rules": [...]}`, unpaged.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RuleList {
    pub rules: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Rule {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_u64")]
    pub expiration: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub realm_name: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Condition {
    #[serde(deserialize_with = "lenient_string")]
    pub claim: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub operator: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub value: Option<String>,
}
