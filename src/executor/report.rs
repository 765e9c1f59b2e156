//! What apply did, change by change (SPEC §5 `apply --format json`), and its renderings.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde::Serialize;

use crate::iam::ApiErrorInfo;
use crate::plan::Change;

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
    /// IBM's answer for a failed change; for a skipped one, why it was skipped.
    pub error: Option<ApiErrorInfo>,
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

    /// The JSON report of SPEC §5: each change's own fields plus `status` and `error`.
    pub fn to_json(&self) -> String {
        let changes: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(&e.change).unwrap_or(serde_json::Value::Null);
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("status".into(), serde_json::json!(e.status));
                    obj.insert(
                        "error".into(),
                        e.error
                            .as_ref()
                            .map_or(serde_json::Value::Null, |err| serde_json::json!(err)),
                    );
                }
                v
            })
            .collect();
        // `warnings` goes beyond SPEC §5's fields: consumers that know only those ignore
        // it, and a verification that could not read back must not be invisible in CI.
        let doc = serde_json::json!({
            "format_version": 1,
            "changes": changes,
            "summary": self.summary(),
            "warnings": self.warnings,
        });
        let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.push('\n');
        out
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
