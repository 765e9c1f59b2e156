//! [`ApiError`]: one refusal of an IBM API — an HTTP status, IBM's error `code`, a message
//! that says what to do, and an optional `more_info`.
//!
//! The store decides them (IBM's rules live there) and the routes add their own (bad query
//! parameters, missing tokens); `routes` writes them in the calling API's error envelope.
//! The same type is the per-member result of the 207 answers, whose items carry only a
//! status, a code and a message.

/// An error answer, before it is written in an API's envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub more_info: Option<String>,
    /// IAM Policy Management's `details` (`conflicts_with` of a 409).
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            more_info: None,
            details: None,
        }
    }

    /// IBM's `more_info`: what the message alone does not say.
    pub fn more(mut self, info: impl Into<String>) -> ApiError {
        self.more_info = Some(info.into());
        self
    }

    /// IAM Policy Management's `details` object.
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// 400 `invalid_parameter`: a query parameter IBM would refuse.
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_parameter", message)
    }

    /// 400 `invalid_body`: a request body IBM would refuse.
    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_body", message)
    }
}
