//! The client's one error type.
//!
//! Every variant renders as ONE line that names the call, says what went wrong and what to
//! do. No cause chains (a person reading a CI log wants the IBM error code and the
//! transaction id to quote to support, not hyper's internals), and never a secret: the API
//! key and tokens are not stored in any variant.

use std::fmt;

/// What IBM said about a failed call (or a failed member of a 207 batch), for reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiErrorInfo {
    /// The HTTP status (or the per-member `status_code` of a 207 item).
    pub status: Option<u16>,
    /// IBM's error code (`errors[0].code`, or the token service's `errorCode`); numeric
    /// codes are rendered as their decimal text.
    pub code: Option<String>,
    /// A one-line human message.
    pub message: String,
    /// `Transaction-Id` / `X-Global-Transaction-ID` header, else the body's `trace`.
    pub transaction_id: Option<String>,
}

impl fmt::Display for ApiErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = self
            .status
            .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
            .and_then(|s| s.canonical_reason());
        if let Some(status) = self.status {
            write!(f, "HTTP {status}")?;
            if let Some(reason) = reason {
                write!(f, " {reason}")?;
            }
        }
        // An empty body leaves only the reason phrase as the message: say it once.
        let repeats_reason = self.code.is_none() && reason == Some(self.message.as_str());
        if !repeats_reason {
            if self.status.is_some() {
                f.write_str(", ")?;
            }
            if let Some(code) = &self.code {
                write!(f, "code {code}: ")?;
            }
            f.write_str(&self.message)?;
        }
        if let Some(tx) = &self.transaction_id {
            write!(f, " (transaction id {tx})")?;
        }
        Ok(())
    }
}

/// An error of the IBM Cloud client. See [`IamError::is_ambiguous`] and
/// [`IamError::is_conflict`] for what the executor needs to decide on.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// Bad local setup: an endpoint URL, a missing API key, the HTTP client.
    #[error("{0}")]
    Setup(String),

    /// The TCP/TLS connection could not be established: the request never left.
    #[error(
        "{call}: cannot reach {host} ({reason}){}; check the endpoint URL (--endpoint / --iam-endpoint / --user-management-endpoint) and the network",
        attempts_note(*attempts)
    )]
    Unreachable {
        call: String,
        host: String,
        reason: String,
        attempts: u32,
    },

    /// No answer within the per-request timeout: the request may or may not have landed.
    #[error(
        "{call}: no answer within {timeout_secs} s{}; IBM Cloud may be slow or down, retry later or raise --timeout",
        attempts_note(*attempts)
    )]
    Timeout {
        call: String,
        timeout_secs: u64,
        attempts: u32,
    },

    /// The connection broke after the request was sent: it may or may not have landed.
    #[error(
        "{call}: the connection was closed before an answer arrived ({reason}){}; retry later",
        attempts_note(*attempts)
    )]
    Dropped {
        call: String,
        reason: String,
        attempts: u32,
    },

    /// The token service rejected the API key.
    #[error(
        "IBM Cloud rejected the API key: {info}; check IBMCLOUD_API_KEY / IC_API_KEY or --api-key-file, and that the key is not deleted or locked"
    )]
    InvalidApiKey { info: ApiErrorInfo },

    /// IBM answered with an error status.
    #[error("{call} failed: {info}{}{}", attempts_note(*attempts), hint_for(call, info.status))]
    Api {
        call: String,
        info: ApiErrorInfo,
        attempts: u32,
    },

    /// A success status with a body orgsync cannot use.
    #[error(
        "{call}: unexpected response from IBM Cloud: {detail}{}; if this persists, report it with the transaction id",
        tx_note(transaction_id.as_deref())
    )]
    Malformed {
        call: String,
        detail: String,
        transaction_id: Option<String>,
    },
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn tx_note(tx: Option<&str>) -> String {
    tx.map(|t| format!(" (transaction id {t})"))
        .unwrap_or_default()
}

fn hint_for(call: &str, status: Option<u16>) -> &'static str {
    match status {
        Some(404 | 405) if call.ends_with("/identity/token") => {
            "; this is not IBM's token service: check --iam-endpoint (or --endpoint)"
        }
        Some(401) => "; the token was refused: check the API key and the IAM endpoint",
        Some(403) => {
            "; the API key's identity lacks the access needed (Viewer/Editor on IAM Access Groups and User Management; invites and removals need a user, not a service ID)"
        }
        Some(429) => "; IBM Cloud is rate limiting: retry later or lower --parallelism",
        Some(500..=599) => "; IBM Cloud had a server error: retry later",
        _ => "",
    }
}

impl IamError {
    /// The failure may have happened after IBM applied the request (timeout, dropped
    /// connection, 5xx): a non-idempotent write must be checked by re-reading, never
    /// blindly repeated.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            IamError::Timeout { .. } | IamError::Dropped { .. } => true,
            IamError::Api { info, .. } => matches!(info.status, Some(500..=599)),
            _ => false,
        }
    }

    /// IBM answered 409 Conflict (for an invite: "already in processing state", i.e. an
    /// earlier invitation landed).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// The HTTP status IBM answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            IamError::Api { info, .. } | IamError::InvalidApiKey { info } => info.status,
            _ => None,
        }
    }

    /// How many attempts the call made before giving up (1 when not retried).
    pub fn attempts(&self) -> u32 {
        match self {
            IamError::Unreachable { attempts, .. }
            | IamError::Timeout { attempts, .. }
            | IamError::Dropped { attempts, .. }
            | IamError::Api { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The error as a report entry (docs/cli.md, Apply reports).
    pub fn info(&self) -> ApiErrorInfo {
        match self {
            IamError::Api { info, .. } | IamError::InvalidApiKey { info } => info.clone(),
            IamError::Malformed { transaction_id, .. } => ApiErrorInfo {
                status: None,
                code: None,
                message: self.to_string(),
                transaction_id: transaction_id.clone(),
            },
            other => ApiErrorInfo {
                status: None,
                code: None,
                message: other.to_string(),
                transaction_id: None,
            },
        }
    }

    pub(crate) fn with_attempts(mut self, n: u32) -> IamError {
        match &mut self {
            IamError::Unreachable { attempts, .. }
            | IamError::Timeout { attempts, .. }
            | IamError::Dropped { attempts, .. }
            | IamError::Api { attempts, .. } => *attempts = n,
            _ => {}
        }
        self
    }
}
