//! IAM Access Groups v2: groups and their members.

use serde::{Deserialize, Serialize};

use super::{ItemError, Outcome, Page};
use crate::emulator::state::MemberKind;

#[derive(Serialize)]
pub struct GroupBody {
    pub id: String,
    pub name: String,
    pub description: String,
    pub account_id: String,
    pub created_at: String,
    pub created_by_id: String,
    pub last_modified_at: String,
    pub last_modified_by_id: String,
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_federated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crn: Option<String>,
}

#[derive(Serialize)]
pub struct GroupsList {
    #[serde(flatten)]
    pub page: Page,
    pub groups: Vec<GroupBody>,
}

#[derive(Serialize)]
pub struct MemberBody {
    pub iam_id: String,
    #[serde(rename = "type")]
    pub kind: MemberKind,
    pub membership_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub href: String,
    pub created_at: String,
    pub created_by_id: String,
}

#[derive(Serialize)]
pub struct MembersList {
    #[serde(flatten)]
    pub page: Page,
    pub members: Vec<MemberBody>,
}

/// The body of create (`POST /v2/groups`) and update (`PATCH /v2/groups/{id}`).
#[derive(Deserialize)]
pub struct GroupRequest {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Deserialize)]
pub struct AddMembersRequest {
    pub members: Option<Vec<AddMemberItem>>,
}

#[derive(Deserialize)]
pub struct AddMemberItem {
    pub iam_id: Option<String>,
    /// As sent: a type IBM does not know is a per-member 400, not a bad body.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Serialize)]
pub struct AddMembersResponse {
    pub members: Vec<AddMemberResult>,
}

#[derive(Serialize)]
pub struct AddMemberResult {
    pub iam_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Deserialize)]
pub struct BulkDeleteRequest {
    pub members: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct BulkDeleteResponse {
    pub access_group_id: String,
    pub members: Vec<BulkDeleteResult>,
}

/// Unlike the other 207 items, these carry the trace on success too.
#[derive(Serialize)]
pub struct BulkDeleteResult {
    pub iam_id: String,
    pub trace: String,
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ItemError>>,
}

#[derive(Deserialize)]
pub struct AddToGroupsRequest {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub groups: Option<Vec<String>>,
}

#[derive(Serialize)]
pub struct AllGroupsResponse {
    pub iam_id: String,
    pub groups: Vec<AllGroupsResult>,
}

#[derive(Serialize)]
pub struct AllGroupsResult {
    pub access_group_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}
