//! User Management v2: users, invitations.

use serde::{Deserialize, Serialize};

use crate::emulator::state::UserState;

#[derive(Serialize)]
pub struct UserProfile {
    pub id: String,
    pub iam_id: String,
    pub realm: &'static str,
    pub user_id: String,
    pub firstname: String,
    pub lastname: String,
    pub state: UserState,
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
    pub state: UserState,
}
