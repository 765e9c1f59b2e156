//! What an account grants, at rest: access policies and custom roles (docs/emulator.md,
//! The state file).
//!
//! A policy is written in a compact form that is easy to write by hand and still holds
//! everything IBM stores: one subject (`access_group_id` or `iam_id`), the roles (by CRN,
//! or by the display name of a built-in role, or by the name of a custom role), the
//! resource attributes as an ordered map, and optionally tags, conditions (`rule`,
//! `pattern`), the API version that created it and the usual timestamps. The store keeps
//! the same type, so `GET /__admin/state` writes back what the API would answer.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::emulator::catalog;

/// The API version that created a policy: it decides the `href` in both views, which
/// version may replace or delete it, and how v1 lists show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    V1,
    #[default]
    V2,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        }
    }
}

/// `active`, or `deleted` (soft-deleted: listed only with `state=deleted`, restorable
/// through `PATCH /v1/policies/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyState {
    #[default]
    Active,
    Deleted,
}

impl PolicyState {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyState::Active => "active",
            PolicyState::Deleted => "deleted",
        }
    }
}

/// A resource attribute's value: a string, or a boolean (v2's `stringExists`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            AttrValue::Bool(_) => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One resource attribute. `operator` is `None` when a v1 request left it out: the v1
/// view echoes it as sent, the v2 view says `stringEquals`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub key: String,
    pub operator: Option<String>,
    pub value: AttrValue,
}

impl Attribute {
    /// The operator as v2 reports it (and as duplicates are compared).
    pub fn operator_or_default(&self) -> &str {
        self.operator.as_deref().unwrap_or("stringEquals")
    }
}

/// Resource attributes as an ordered map: `key: value` (operator left out), or
/// `key: {operator, value}`. Order is kept, as IBM echoes attributes in the order sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub Vec<Attribute>);

impl Attributes {
    pub fn get(&self, key: &str) -> Option<&AttrValue> {
        self.0.iter().find(|a| a.key == key).map(|a| &a.value)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(AttrValue::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullValue {
    operator: String,
    value: AttrValue,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawValue {
    Plain(AttrValue),
    Full(FullValue),
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Attributes, D::Error> {
        struct AttrVisitor;
        impl<'de> Visitor<'de> for AttrVisitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attribute name to value (or to {operator, value})")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes, A::Error> {
                let mut out = Vec::new();
                while let Some((key, raw)) = map.next_entry::<String, RawValue>()? {
                    if out.iter().any(|a: &Attribute| a.key == key) {
                        return Err(serde::de::Error::custom(format!(
                            "resource attribute {key:?} is listed twice"
                        )));
                    }
                    let (operator, value) = match raw {
                        RawValue::Plain(v) => (None, v),
                        RawValue::Full(f) => (Some(f.operator), f.value),
                    };
                    out.push(Attribute {
                        key,
                        operator,
                        value,
                    });
                }
                Ok(Attributes(out))
            }
        }
        d.deserialize_map(AttrVisitor)
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Full<'a> {
            operator: &'a str,
            value: &'a AttrValue,
        }
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for a in &self.0 {
            match &a.operator {
                None => map.serialize_entry(&a.key, &a.value)?,
                Some(op) => map.serialize_entry(
                    &a.key,
                    &Full {
                        operator: op,
                        value: &a.value,
                    },
                )?,
            }
        }
        map.end()
    }
}

/// An access-management tag on a policy's resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

impl Tag {
    pub fn operator_or_default(&self) -> &str {
        self.operator.as_deref().unwrap_or("stringEquals")
    }
}

fn access() -> String {
    "access".into()
}

fn is_access(s: &str) -> bool {
    s == "access"
}

fn is_v2(v: &ApiVersion) -> bool {
    *v == ApiVersion::V2
}

fn is_active(s: &PolicyState) -> bool {
    *s == PolicyState::Active
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// An IAM access policy. Exactly one of `access_group_id` and `iam_id` is its subject.
/// `Policy::default()` is an empty `access` policy created through v2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A UUID; minted at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The API version that created it (default `v2`, as the console creates them).
    #[serde(default, skip_serializing_if = "is_v2")]
    pub version: ApiVersion,
    /// `access` (the only type the emulator serves).
    #[serde(default = "access", rename = "type", skip_serializing_if = "is_access")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_id: Option<String>,
    /// Role CRNs; a state file may also name built-in roles (`Viewer`, `Reader`, ...) and
    /// the account's custom roles by name. Resolved to CRNs at load.
    pub roles: Vec<String>,
    /// The resource attributes; `accountId` is put first at load when absent.
    pub resource: Attributes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// v2 conditions, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "is_active")]
    pub state: PolicyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    /// Bumped on every replace; the ETag (`<revision>-<32 hex>`) derives from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revision: u64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            id: None,
            version: ApiVersion::V2,
            kind: access(),
            description: None,
            access_group_id: None,
            iam_id: None,
            roles: Vec::new(),
            resource: Attributes::default(),
            tags: Vec::new(),
            rule: None,
            pattern: None,
            state: PolicyState::Active,
            created_at: None,
            created_by_id: None,
            last_modified_at: None,
            last_modified_by_id: None,
            revision: 0,
        }
    }
}

impl Policy {
    /// The subject as (attribute, value): `("access_group_id", …)` or `("iam_id", …)`.
    pub fn subject(&self) -> Option<(&'static str, &str)> {
        match (&self.access_group_id, &self.iam_id) {
            (Some(g), None) => Some(("access_group_id", g)),
            (None, Some(i)) => Some(("iam_id", i)),
            _ => None,
        }
    }
}

/// A custom role of the account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRole {
    /// Opaque hex; minted at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `^[A-Z][A-Za-z0-9]{0,29}$`, unique in the account; the CRN ends with it.
    pub name: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    pub service_name: String,
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revision: u64,
}

/// IBM's limits on what an account grants (docs/ibm-api.md, Limits).
pub const MAX_POLICIES_PER_SUBJECT: usize = 1000;
pub const MAX_POLICIES_PER_ACCOUNT: usize = 4020;
pub const MAX_CUSTOM_ROLES: usize = 40;
/// Attribute values: 1 to 1,000 characters.
pub const MAX_VALUE_CHARS: usize = 1000;

/// Resolves a role as a state file names it: a CRN as is, a built-in role by display
/// name, a custom role of the account by name. `None` if it names nothing.
pub fn resolve_role(account_id: &str, roles: &[CustomRole], name: &str) -> Option<String> {
    if name.starts_with("crn:") {
        return Some(name.to_string());
    }
    if let Some(builtin) = catalog::builtin_by_name(name) {
        return Some(builtin.crn.to_string());
    }
    roles
        .iter()
        .find(|r| r.name == name)
        .map(|r| catalog::custom_role_crn(account_id, &r.name))
}

/// The checks of custom roles in a state file; problems are appended.
pub fn check_roles(roles: &[CustomRole], problems: &mut Vec<String>) {
    if roles.len() > MAX_CUSTOM_ROLES {
        problems.push(format!(
            "{} custom roles exceed IBM's limit of {MAX_CUSTOM_ROLES} per account",
            roles.len()
        ));
    }
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    for role in roles {
        let what = format!("custom role {:?}", role.name);
        if !catalog::is_custom_role_name(&role.name) {
            problems.push(format!(
                "{what}: the name must be a capital letter then letters or digits, at most 30 characters"
            ));
        }
        if !names.insert(role.name.to_lowercase()) {
            problems.push(format!(
                "{what} is listed twice (names compare case-insensitively)"
            ));
        }
        if let Some(id) = &role.id
            && !ids.insert(id.as_str())
        {
            problems.push(format!("{what}: id {id} is listed twice"));
        }
        let n = role.display_name.chars().count();
        if n == 0 || n > 50 {
            problems.push(format!("{what}: display_name must be 1-50 characters"));
        }
        if role.description.chars().count() > 250 {
            problems.push(format!("{what}: description exceeds 250 characters"));
        }
        if role.service_name.is_empty() {
            problems.push(format!("{what}: service_name is empty"));
        }
        check_actions(&role.service_name, &role.actions, &what, problems);
    }
}

fn check_actions(service: &str, actions: &[String], what: &str, problems: &mut Vec<String>) {
    if actions.is_empty() {
        problems.push(format!(
            "{what}: a custom role needs at least one action of {service}"
        ));
    }
    let mut seen = HashSet::new();
    for action in actions {
        if !seen.insert(action.as_str()) {
            problems.push(format!("{what}: action {action} is listed twice"));
        }
        if !catalog::is_action_of(service, action) {
            problems.push(format!("{what}: {action} is not an action of {service}"));
        }
    }
}

/// Everything a policy check needs to know about the rest of the state.
pub struct PolicyContext<'a> {
    pub account_id: &'a str,
    pub group_ids: HashSet<&'a str>,
    pub roles: &'a [CustomRole],
}

/// The checks of policies in a state file; problems are appended.
pub fn check_policies(ctx: &PolicyContext<'_>, policies: &[Policy], problems: &mut Vec<String>) {
    let mut ids = HashSet::new();
    let mut per_subject: HashMap<String, usize> = HashMap::new();
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut active = 0;
    for (i, policy) in policies.iter().enumerate() {
        let what = match &policy.id {
            Some(id) => format!("policy {id}"),
            None => format!("policy #{}", i + 1),
        };
        if let Some(id) = &policy.id
            && !ids.insert(id.as_str())
        {
            problems.push(format!("{what} is listed twice"));
        }
        check_policy(ctx, policy, &what, problems);
        if policy.state == PolicyState::Active {
            active += 1;
            if let Some((_, subject)) = policy.subject() {
                *per_subject.entry(subject.to_string()).or_default() += 1;
            }
            let resolved = resolved_copy(ctx, policy);
            if let Some(first) = keys.insert(duplicate_key(ctx.account_id, &resolved), i) {
                problems.push(format!(
                    "{what} has the same subject, resource and tags as policy #{} (IBM refuses such a duplicate)",
                    first + 1
                ));
            }
        }
    }
    for (subject, n) in per_subject {
        if n > MAX_POLICIES_PER_SUBJECT {
            problems.push(format!(
                "{subject} has {n} policies, over IBM's limit of {MAX_POLICIES_PER_SUBJECT} per subject"
            ));
        }
    }
    if active > MAX_POLICIES_PER_ACCOUNT {
        problems.push(format!(
            "{active} policies exceed IBM's limit of {MAX_POLICIES_PER_ACCOUNT} per account"
        ));
    }
}

/// A copy with `accountId` in place, for the duplicate check.
fn resolved_copy(ctx: &PolicyContext<'_>, policy: &Policy) -> Policy {
    let mut p = policy.clone();
    with_account(&mut p, ctx.account_id);
    p
}

/// Puts `accountId` first when a hand-written policy left it out.
pub fn with_account(policy: &mut Policy, account_id: &str) {
    if policy.resource.get("accountId").is_none() {
        policy.resource.0.insert(
            0,
            Attribute {
                key: "accountId".into(),
                operator: None,
                value: AttrValue::Str(account_id.to_string()),
            },
        );
    }
}

fn check_policy(ctx: &PolicyContext<'_>, policy: &Policy, what: &str, problems: &mut Vec<String>) {
    if policy.kind != "access" {
        problems.push(format!("{what}: type must be \"access\""));
    }
    match policy.subject() {
        None => problems.push(format!(
            "{what}: give exactly one subject, access_group_id or iam_id"
        )),
        Some(("access_group_id", g)) if !ctx.group_ids.contains(g) => problems.push(format!(
            "{what}: access group {g} is not a group of the account"
        )),
        Some((_, "")) => problems.push(format!("{what}: the subject is empty")),
        Some(_) => {}
    }
    if policy.version == ApiVersion::V1 && (policy.rule.is_some() || policy.pattern.is_some()) {
        problems.push(format!(
            "{what}: a v1 policy cannot carry conditions (rule, pattern)"
        ));
    }
    let mut resource = policy.clone();
    with_account(&mut resource, ctx.account_id);
    if let Err(e) = check_resource(ctx.account_id, &resource.resource) {
        problems.push(format!("{what}: {e}"));
    }
    for tag in &policy.tags {
        if !value_len_ok(&tag.value) || tag.key.is_empty() {
            problems.push(format!(
                "{what}: tag {:?} needs a key and a 1-1000 character value",
                tag.key
            ));
        }
    }
    let service = resource.resource.get_str("serviceName");
    if policy.roles.is_empty() {
        problems.push(format!("{what}: a policy grants at least one role"));
    }
    // A deleted policy grants nothing: a custom role it names may have been deleted
    // since (IBM refuses that only while an active policy grants the role), and restoring
    // the policy checks its roles again.
    if policy.state == PolicyState::Deleted {
        return;
    }
    for role in &policy.roles {
        match resolve_role(ctx.account_id, ctx.roles, role) {
            None => problems.push(format!(
                "{what}: role {role:?} is neither a role CRN, a built-in role nor a custom role of the account"
            )),
            Some(crn) => {
                if let Err(e) = role_fits(ctx.account_id, ctx.roles, &crn, service, &resource.resource) {
                    problems.push(format!("{what}: {e}"));
                }
            }
        }
    }
}

pub fn value_len_ok(value: &str) -> bool {
    let n = value.chars().count();
    (1..=MAX_VALUE_CHARS).contains(&n)
}

/// IBM's rules for a policy's resource: `accountId` of this account, one of
/// `serviceName`, `serviceType`, `resourceGroupId`, `service_group_id`, values of 1 to
/// 1,000 characters, operators IBM knows.
pub fn check_resource(account_id: &str, resource: &Attributes) -> Result<(), String> {
    match resource.get_str("accountId") {
        Some(a) if a == account_id => {}
        Some(a) => {
            return Err(format!(
                "the accountId attribute {a:?} is not this account ({account_id})"
            ));
        }
        None => return Err("the resource must include the accountId attribute".into()),
    }
    if ![
        "serviceName",
        "serviceType",
        "resourceGroupId",
        "service_group_id",
    ]
    .iter()
    .any(|k| resource.get(k).is_some())
    {
        return Err(
            "the resource must include one of serviceName, serviceType, resourceGroupId or service_group_id".into(),
        );
    }
    for a in &resource.0 {
        if a.key.is_empty() {
            return Err("a resource attribute has an empty name".into());
        }
        let op = a.operator_or_default();
        match (&a.value, op) {
            (AttrValue::Str(v), "stringEquals" | "stringMatch") if value_len_ok(v) => {}
            (AttrValue::Bool(_), "stringExists") => {}
            (AttrValue::Str(_), "stringEquals" | "stringMatch") => {
                return Err(format!(
                    "the value of attribute {} must be 1 to 1000 characters",
                    a.key
                ));
            }
            _ => {
                return Err(format!(
                    "attribute {} has operator {op:?} with value {}; use stringEquals or stringMatch with a string, stringExists with a boolean",
                    a.key, a.value
                ));
            }
        }
    }
    Ok(())
}

/// Whether a role (by CRN) may be granted on a resource: platform roles anywhere;
/// service roles on services (not on a resource group itself); a custom role only on its
/// own service.
pub fn role_fits(
    account_id: &str,
    roles: &[CustomRole],
    crn: &str,
    service: Option<&str>,
    resource: &Attributes,
) -> Result<(), String> {
    if catalog::is_system_role(crn) {
        return Ok(());
    }
    let on_group_itself = resource.get_str("resourceType") == Some("resource-group");
    if catalog::is_service_role(crn) {
        if on_group_itself {
            return Err(format!(
                "role {crn} is a service role; a policy on a resource group itself takes platform roles only"
            ));
        }
        return Ok(());
    }
    if let Some(role) = roles
        .iter()
        .find(|r| catalog::custom_role_crn(account_id, &r.name) == crn)
    {
        return match service {
            Some(s) if s == role.service_name => Ok(()),
            _ => Err(format!(
                "custom role {} is a role of {}, not of {}",
                role.name,
                role.service_name,
                service.unwrap_or("this resource")
            )),
        };
    }
    Err(format!(
        "role {crn} is not a role of {}",
        service.unwrap_or("this resource")
    ))
}

/// What makes two active policies duplicates (docs/emulator.md): type, subject, the
/// resource attributes as a set (operators defaulted), the tags as a set and the
/// conditions (`pattern` and `rule`, compared as JSON). Roles and description are not
/// part of it. Conditions count because IBM's Go integration test creates a time-based
/// v2 policy beside a v1 policy of the same subject and resource and gets a 201
/// (docs/ibm-api.md, question 14).
pub fn duplicate_key(account_id: &str, policy: &Policy) -> String {
    let mut attrs: Vec<String> = policy
        .resource
        .0
        .iter()
        .map(|a| format!("{}\u{1}{}\u{1}{}", a.key, a.operator_or_default(), a.value))
        .collect();
    attrs.sort();
    let mut tags: Vec<String> = policy
        .tags
        .iter()
        .map(|t| format!("{}\u{1}{}\u{1}{}", t.key, t.operator_or_default(), t.value))
        .collect();
    tags.sort();
    let (kind, subject) = policy.subject().unwrap_or(("", ""));
    // `Value`'s objects are ordered maps, so equal conditions print equally.
    let rule = policy
        .rule
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    format!(
        "{account_id}\u{2}{}\u{2}{kind}={subject}\u{2}{}\u{2}{}\u{2}{}\u{2}{rule}",
        policy.kind,
        attrs.join("\u{3}"),
        tags.join("\u{3}"),
        policy.pattern.as_deref().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_order_and_operators() {
        let text = r#"{"serviceName": "quantum-computing", "serviceInstance": {"operator": "stringMatch", "value": "ab*"}, "accountId": "x"}"#;
        let attrs: Attributes = serde_json::from_str(text).expect("valid");
        let keys: Vec<_> = attrs.0.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["serviceName", "serviceInstance", "accountId"]);
        assert_eq!(attrs.0[1].operator.as_deref(), Some("stringMatch"));
        assert_eq!(attrs.0[0].operator, None);
        let back = serde_json::to_string(&attrs).expect("serializable");
        assert_eq!(back.replace(' ', ""), text.replace(' ', ""));
        let dup = serde_json::from_str::<Attributes>(r#"{"a": "1", "a": "2"}"#);
        assert!(dup.is_err());
    }

    #[test]
    fn resource_rules() {
        let ok: Attributes =
            serde_json::from_str(r#"{"accountId": "acc", "serviceName": "x"}"#).expect("valid");
        assert!(check_resource("acc", &ok).is_ok());
        assert!(check_resource("other", &ok).is_err());
        let no_service: Attributes =
            serde_json::from_str(r#"{"accountId": "acc"}"#).expect("valid");
        assert!(check_resource("acc", &no_service).is_err());
        let long: Attributes = serde_json::from_str(&format!(
            r#"{{"accountId": "acc", "serviceName": "{}"}}"#,
            "x".repeat(1001)
        ))
        .expect("valid");
        assert!(check_resource("acc", &long).is_err());
    }
}
