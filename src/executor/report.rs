//! What apply did, change by change (docs/cli.md, Apply reports), and its
//! renderings.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

use serde::Serialize;

use crate::iam::ApiErrorInfo;
use crate::model::{AccountId, GroupName, IamId, RoleName};
use crate::plan::Change;
use crate::plan::expect::Discrepancy;

/// The outcome of one change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applied,
    Failed,
    /// Not attempted: it depends on a change that failed.
    Skipped,
}

/// One change of the plan and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub change: Change,
    pub status: Status,
    /// Why a change failed (IBM's answer, or what verification found) or was skipped.
    pub error: Option<Problem>,
    /// When the change was executed (`None` when skipped).
    pub at: Option<SystemTime>,
    /// The transaction id of the call that applied it (for a failure, see `error`).
    pub transaction_id: Option<String>,
}

impl Entry {
    pub(crate) fn pending(change: Change) -> Entry {
        Entry {
            change,
            status: Status::Skipped,
            error: None,
            at: None,
            transaction_id: None,
        }
    }
}

/// Why a change failed or was skipped.
///
/// Rendered, every kind is the object IBM's errors are (`status`, `code`, `message`,
/// `transaction_id`; docs/cli.md): what did not come from IBM has no status or code, and
/// says what happened in `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// IBM's answer (or the client's own error) for the call that made the change.
    Api(ApiErrorInfo),
    /// Removing the failed invitation that an invite replaces failed: the invite was not
    /// sent.
    Replacing {
        invitation: IamId,
        cause: ApiErrorInfo,
    },
    /// Not attempted.
    Skipped(SkipReason),
    /// Attempted, but whether it took effect is not known.
    Unknown(Unknown),
    /// IBM answered success, but re-reading the account shows otherwise.
    NotInEffect(Discrepancy),
    /// A create found what it would make already there in another form (a policy of the
    /// target with other roles, a role or rule of the name with other content): made by
    /// someone else since the plan. The text says what.
    Conflict(String),
}

/// Why a change was not attempted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The apply was interrupted before it started.
    Interrupted,
    /// It names a group whose create failed.
    CreateFailed(GroupName),
    /// It names a group that neither the account nor this apply has.
    NoGroupId(GroupName),
    /// A change it waits for never finished (a bug: said rather than hung).
    Unreleased,
    /// It grants a custom role whose create failed.
    RoleCreateFailed(RoleName),
}

/// Why the outcome of an attempted change is not known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// A write that must not be repeated failed ambiguously, and the re-read that would
    /// have told whether it landed failed too. `write` and `read` name them ("the
    /// invitation", "the users"); `error` and `read_error` are the two errors' text.
    Unsettled {
        write: &'static str,
        error: String,
        read: &'static str,
        read_error: String,
    },
    /// No round of the write was sent (the client allows no attempts).
    NeverSent { write: &'static str },
    /// IBM's answer left this member (or email) out.
    NotMentioned(String),
    /// The task executing it ended without a result.
    Lost,
}

impl Problem {
    /// The problem as IBM's error object (the report's `error`).
    pub fn info(&self) -> ApiErrorInfo {
        match self {
            Problem::Api(info) => info.clone(),
            Problem::Replacing { invitation, cause } => ApiErrorInfo {
                message: format!(
                    "removing the failed invitation {invitation} before inviting again failed: {}",
                    cause.message
                ),
                ..cause.clone()
            },
            other => ApiErrorInfo {
                status: None,
                code: None,
                message: other.to_string(),
                transaction_id: None,
            },
        }
    }

    /// The transaction id of the call the problem came from, if IBM gave one.
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Problem::Api(info) | Problem::Replacing { cause: info, .. } => {
                info.transaction_id.as_deref()
            }
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Api(_) | Problem::Replacing { .. } => self.info().fmt(f),
            Problem::Skipped(why) => why.fmt(f),
            Problem::Unknown(why) => why.fmt(f),
            Problem::NotInEffect(d) => write!(f, "did not take effect: {d}"),
            Problem::Conflict(what) => write!(f, "{what}; plan again to see it"),
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.info().serialize(serializer)
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Interrupted => {
                f.write_str("not started: the apply was interrupted; run apply again to finish")
            }
            SkipReason::CreateFailed(group) => {
                write!(f, "depends on creating group {group}, which failed")
            }
            SkipReason::NoGroupId(group) => write!(
                f,
                "group {group} has no id: it was neither in the account nor created; plan again"
            ),
            SkipReason::Unreleased => {
                f.write_str("a change it depends on did not finish; plan again")
            }
            SkipReason::RoleCreateFailed(role) => {
                write!(f, "grants custom role {role}, whose create failed")
            }
        }
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unknown::Unsettled {
                write,
                error,
                read,
                read_error,
            } => write!(
                f,
                "{write} may or may not have landed ({error}), and re-reading {read} to find out failed too ({read_error}); run plan to see"
            ),
            Unknown::NeverSent { write } => {
                write!(f, "{write} did not land after repeated attempts")
            }
            Unknown::NotMentioned(who) => write!(
                f,
                "IBM's answer did not mention {who}; run plan to see whether it took effect"
            ),
            Unknown::Lost => f.write_str(
                "executing this change ended unexpectedly; run plan to see whether it took effect",
            ),
        }
    }
}

/// Every change of the plan, in plan order, with its outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub entries: Vec<Entry>,
    /// Problems that are not a change's failure, e.g. verification could not read back.
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub applied: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl ApplyReport {
    pub fn summary(&self) -> ReportSummary {
        let mut s = ReportSummary::default();
        for e in &self.entries {
            match e.status {
                Status::Applied => s.applied += 1,
                Status::Failed => s.failed += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// Whether anything failed or was skipped: apply then exits 1.
    pub fn has_failures(&self) -> bool {
        self.entries.iter().any(|e| e.status != Status::Applied)
    }

    /// The JSON report (docs/cli.md) without the account (`account_id` null): each
    /// change's own fields plus `status`, `error` and `transaction_id`.
    pub fn to_json(&self) -> String {
        self.document(None)
    }

    /// The JSON report `apply --format json` prints for `account` (docs/cli.md).
    pub fn to_json_for(&self, account: &AccountId) -> String {
        self.document(Some(account))
    }

    fn document(&self, account: Option<&AccountId>) -> String {
        let changes: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|e| {
                // The id of the call that made the change, or of the one that failed.
                let tx = e
                    .transaction_id
                    .as_deref()
                    .or_else(|| e.error.as_ref().and_then(Problem::transaction_id));
                let error = e.error.as_ref().map(|err| serde_json::json!(err));
                change_entry(&e.change, serde_json::json!(e.status), error, tx)
            })
            .collect();
        // `warnings` goes beyond the change fields: consumers that know only those ignore
        // it, and a verification that could not read back must not be invisible in CI.
        let doc = serde_json::json!({
            "format_version": 1,
            "account_id": account,
            "changes": changes,
            "summary": self.summary(),
            "warnings": self.warnings,
        });
        pretty(&doc)
    }

    /// One line per change and a summary line, coloured when `color`.
    pub fn render_text(&self, color: bool) -> String {
        use anstyle::{AnsiColor, Style};
        let paint = |style: Style, text: &str| -> String {
            if color {
                format!("{style}{text}{style:#}")
            } else {
                text.to_string()
            }
        };
        let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
        let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
        let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
        let mut out = String::new();
        for e in &self.entries {
            let (mark, style) = match e.status {
                Status::Applied => ("applied", green),
                Status::Failed => ("failed ", red),
                Status::Skipped => ("skipped", yellow),
            };
            let _ = write!(out, "{}  {}", paint(style, mark), e.change);
            if let Some(err) = &e.error {
                let _ = write!(out, ": {err}");
            }
            out.push('\n');
        }
        for w in &self.warnings {
            let _ = writeln!(out, "{}: {w}", paint(yellow, "warning"));
        }
        let s = self.summary();
        let _ = writeln!(
            out,
            "\nApply: {} applied, {} failed, {} skipped.",
            s.applied, s.failed, s.skipped
        );
        out
    }
}

/// The report of an apply that refused to run `changes` on `account` (docs/cli.md): each
/// change `refused` with `reason` (one line) as its error message, the whole refusal in
/// `refusal`, and `summary.refused` (absent from every other report).
pub fn refused_json(
    account: &AccountId,
    changes: &[Change],
    reason: &str,
    refusal: &str,
) -> String {
    let error = serde_json::json!({
        "status": null, "code": null, "message": reason, "transaction_id": null,
    });
    let entries: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| change_entry(c, serde_json::json!("refused"), Some(error.clone()), None))
        .collect();
    let doc = serde_json::json!({
        "format_version": 1,
        "account_id": account,
        "changes": entries,
        "summary": {"applied": 0, "failed": 0, "skipped": 0, "refused": changes.len()},
        "warnings": [],
        "refusal": refusal,
    });
    pretty(&doc)
}

/// One change of a report: its own fields, then `status`, `error` and `transaction_id`.
fn change_entry(
    change: &Change,
    status: serde_json::Value,
    error: Option<serde_json::Value>,
    transaction_id: Option<&str>,
) -> serde_json::Value {
    let mut v = serde_json::to_value(change).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("status".into(), status);
        obj.insert("error".into(), error.unwrap_or(serde_json::Value::Null));
        obj.insert("transaction_id".into(), serde_json::json!(transaction_id));
    }
    v
}

fn pretty(doc: &serde_json::Value) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

/// `SystemTime` as RFC 3339 UTC with milliseconds, e.g. `2026-11-27T09:41:05.123Z`.
pub fn rfc3339(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    crate::model::format_timestamp_ms(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_772_465_123);
        assert_eq!(rfc3339(t), "2026-11-27T09:41:05.123Z");
    }
}
