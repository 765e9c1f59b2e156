//! IBM's wire format, as the emulator speaks it: its own serde types, never shared with
//! `crate::iam`, so a misreading of IBM's API cannot agree with itself on both sides.
//! One file per API; this one holds what several share (the platform error envelope,
//! offset paging, per-item results of 207 answers).
//!
//! Field names and optionality follow IBM's SDK models (docs/ibm-api.md): list envelopes
//! always carry their required counters and list keys (`[]` when empty); optional paging
//! links are omitted rather than null.

pub mod groups;
pub mod instances;
pub mod policies;
pub mod resource_groups;
pub mod roles;
pub mod rules;
pub mod token;
pub mod users;

use serde::Serialize;

use super::error::ApiError;

/// The platform error envelope of every IBM API but the token service.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl Envelope {
    pub fn of(trace: &str, e: ApiError) -> Envelope {
        Envelope {
            trace: trace.to_string(),
            errors: vec![ErrorItem {
                code: e.code.to_string(),
                message: e.message,
                more_info: e.more_info,
                details: e.details,
            }],
            status_code: e.status,
        }
    }
}

#[derive(Serialize)]
pub struct Href {
    pub href: String,
}

/// The paging links and counters shared by the offset-paged lists.
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

/// The Access Groups `Error` model of per-item results: `code` and `message` only.
#[derive(Serialize)]
pub struct ItemError {
    pub code: String,
    pub message: String,
}

/// How one item of a 207 answer went: `200` alone, or a failure with the request's trace.
#[derive(Serialize)]
pub struct Outcome {
    pub status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ItemError>>,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome {
            status_code: 200,
            trace: None,
            errors: None,
        }
    }

    pub fn failed(trace: &str, e: ApiError) -> Outcome {
        Outcome {
            status_code: e.status,
            trace: Some(trace.to_string()),
            errors: Some(vec![ItemError::from(e)]),
        }
    }
}

impl From<ApiError> for ItemError {
    fn from(e: ApiError) -> ItemError {
        ItemError {
            code: e.code.to_string(),
            message: e.message,
        }
    }
}
