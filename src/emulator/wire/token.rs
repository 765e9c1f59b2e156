//! The IAM token service: `POST /identity/token`.

use serde::{Deserialize, Serialize};

/// The form fields the emulator reads; the rest (`response_type`, `scope`) are ignored.
#[derive(Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub apikey: Option<String>,
}

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
