//! IAM Policy Management v1 and v2: policies in both versions' shapes, and the requests.
//! Field names and what is required follow IBM's SDK models (docs/ibm-api.md): v1's
//! `Policy`/`PolicyTemplateMetaData`/`PolicyCollection`, v2's `V2Policy`/
//! `V2PolicyCollection` (which require `type`, `control`, a non-null `state`, and
//! `operator` on every attribute).

use serde::{Deserialize, Serialize};

use crate::emulator::state::AttrValue;

// ---- v1 --------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct V1Policy {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subjects: Vec<V1Subject>,
    pub roles: Vec<V1Role>,
    pub resources: Vec<V1Resource>,
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
}

#[derive(Serialize)]
pub struct V1Subject {
    pub attributes: Vec<V1SubjectAttribute>,
}

#[derive(Serialize)]
pub struct V1SubjectAttribute {
    pub name: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct V1Role {
    pub role_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Serialize)]
pub struct V1Resource {
    pub attributes: Vec<V1Attribute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<V1Attribute>,
}

/// A v1 resource attribute or tag: `operator` only when the policy has one.
#[derive(Serialize)]
pub struct V1Attribute {
    pub name: String,
    pub value: AttrValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// A v1 listing: `policies` always; the paging links only with `limit`.
#[derive(Serialize)]
pub struct V1PolicyList {
    #[serde(flatten)]
    pub page: PolicyPage,
    pub policies: Vec<V1Policy>,
}

/// The cursor paging of both versions' listings.
#[derive(Default, Serialize)]
pub struct PolicyPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<PageLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<PageLink>,
}

#[derive(Serialize)]
pub struct PageLink {
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

#[derive(Deserialize)]
pub struct V1PolicyRequest {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub subjects: Option<Vec<V1SubjectIn>>,
    pub roles: Option<Vec<RoleIn>>,
    pub resources: Option<Vec<V1ResourceIn>>,
}

#[derive(Deserialize)]
pub struct V1SubjectIn {
    pub attributes: Option<Vec<AttributeIn>>,
}

#[derive(Deserialize)]
pub struct V1ResourceIn {
    pub attributes: Option<Vec<AttributeIn>>,
    pub tags: Option<Vec<AttributeIn>>,
}

/// An attribute or tag as sent: v1 names it `name`, v2 `key`.
#[derive(Deserialize)]
pub struct AttributeIn {
    pub name: Option<String>,
    pub key: Option<String>,
    pub operator: Option<String>,
    pub value: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub struct RoleIn {
    pub role_id: Option<String>,
}

/// `PATCH /v1/policies/{id}`.
#[derive(Deserialize)]
pub struct StateRequest {
    pub state: Option<String>,
}

// ---- v2 --------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct V2Policy {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub subject: V2Subject,
    pub resource: V2Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<serde_json::Value>,
    pub href: String,
    pub control: Control,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_permit_frequency: Option<u64>,
}

#[derive(Serialize)]
pub struct V2Subject {
    pub attributes: Vec<V2Attribute>,
}

#[derive(Serialize)]
pub struct V2Resource {
    pub attributes: Vec<V2Attribute>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<V2Tag>,
}

#[derive(Serialize)]
pub struct V2Attribute {
    pub key: String,
    pub operator: String,
    pub value: AttrValue,
}

#[derive(Serialize)]
pub struct V2Tag {
    pub key: String,
    pub value: String,
    pub operator: String,
}

#[derive(Serialize)]
pub struct Control {
    pub grant: Grant,
}

#[derive(Serialize)]
pub struct Grant {
    pub roles: Vec<V2Role>,
}

/// A granted role: `role_id` alone, or enriched with `format=display`.
#[derive(Serialize)]
pub struct V2Role {
    pub role_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<RoleAction>>,
}

#[derive(Serialize)]
pub struct RoleAction {
    pub id: String,
    pub display_name: String,
    pub description: String,
}

#[derive(Serialize)]
pub struct V2PolicyList {
    #[serde(flatten)]
    pub page: PolicyPage,
    pub policies: Vec<V2Policy>,
}

#[derive(Deserialize)]
pub struct V2PolicyRequest {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub description: Option<String>,
    pub subject: Option<V2SubjectIn>,
    pub resource: Option<V2ResourceIn>,
    pub control: Option<ControlIn>,
    pub rule: Option<serde_json::Value>,
    pub pattern: Option<String>,
}

#[derive(Deserialize)]
pub struct V2SubjectIn {
    pub attributes: Option<Vec<AttributeIn>>,
}

#[derive(Deserialize)]
pub struct V2ResourceIn {
    pub attributes: Option<Vec<AttributeIn>>,
    pub tags: Option<Vec<AttributeIn>>,
}

#[derive(Deserialize)]
pub struct ControlIn {
    pub grant: Option<GrantIn>,
}

#[derive(Deserialize)]
pub struct GrantIn {
    pub roles: Option<Vec<RoleIn>>,
}
