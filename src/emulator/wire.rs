//! IBM's wire format, as the emulator speaks it: its own serde types, never shared with
//! `crate::iam`, so a misreading of IBM's API cannot agree with itself on both sides.
//!
//! Field names and optionality follow IBM's SDK models (ibm-iam-api.md §1.5, §3, §4):
//! list envelopes always carry their required counters and list keys (`[]` when empty);
//! optional paging links are omitted rather than null.

use serde::{Deserialize, Serialize};

// ---- token service -------------------------------------------------------------------

#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub expiration: u64,
    pub scope: &'static str,
}

/// The token service's own error shape (not the platform envelope).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenError {
    pub error_code: &'static str,
    pub error_message: String,
    pub context: TokenErrorContext,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenErrorContext {
    pub request_id: String,
    pub request_type: &'static str,
    pub user_agent: String,
    pub url: String,
    pub instance_id: &'static str,
    pub thread_id: &'static str,
    pub host: &'static str,
    pub start_time: String,
    pub end_time: String,
    pub elapsed_time: String,
    pub locale: &'static str,
    pub cluster_name: &'static str,
}

// ---- platform error envelope ---------------------------------------------------------

#[derive(Serialize)]
pub struct Envelope {
    pub trace: String,
    pub errors: Vec<ErrorItem>,
    pub status_code: u16,
}

#[derive(Clone, Serialize)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_info: Option<String>,
}

// ---- User Management v2 --------------------------------------------------------------

#[derive(Serialize)]
pub struct UserProfile {
    pub id: String,
    pub iam_id: String,
    pub realm: &'static str,
    pub user_id: String,
    pub firstname: String,
    pub lastname: String,
    pub state: String,
    pub email: String,
    pub phonenumber: String,
    pub altphonenumber: String,
    pub photo: String,
    pub account_id: String,
    pub added_on: String,
}

#[derive(Serialize)]
pub struct UserList {
    pub total_results: usize,
    pub limit: usize,
    pub first_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_url: Option<String>,
    pub resources: Vec<UserProfile>,
}

#[derive(Deserialize)]
pub struct InviteRequest {
    pub users: Option<Vec<InviteUser>>,
    /// Accepted and ignored: policies are outside what the emulator models.
    #[allow(dead_code)]
    pub iam_policy: Option<serde_json::Value>,
    pub access_groups: Option<Vec<String>>,
}

#[derive(Deserialize)]
pub struct InviteUser {
    pub email: Option<String>,
    #[allow(dead_code)]
    pub account_role: Option<String>,
}

#[derive(Serialize)]
pub struct InvitedUserList {
    pub resources: Vec<InvitedUser>,
}

#[derive(Serialize)]
pub struct InvitedUser {
    pub email: String,
    pub id: String,
    pub state: String,
}

// ---- IAM Access Groups v2 ------------------------------------------------------------

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
pub struct Href {
    pub href: String,
}

/// The paging links and counters shared by both offset-paged lists.
#[derive(Serialize)]
pub struct Page {
    pub limit: usize,
    pub offset: usize,
    pub total_count: usize,
    pub first: Href,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Href>,
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
    pub kind: String,
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

#[derive(Deserialize)]
pub struct CreateGroupRequest {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Deserialize)]
pub struct UpdateGroupRequest {
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
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ItemError>>,
}

/// The Access Groups `Error` model of per-item results: `code` and `message` only.
#[derive(Serialize)]
pub struct ItemError {
    pub code: String,
    pub message: String,
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
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ItemError>>,
}
