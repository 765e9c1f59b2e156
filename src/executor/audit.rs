//! `--audit-log FILE`: one JSON line per executed change (docs/reconciliation.md, The
//! audit log).
//!
//! The log is a sink the executor writes to as the apply goes: a line per change the
//! moment its call completes (`"event": "executed"`), each line written with one `write`
//! on a file opened for appending, so a run killed at any point (SIGKILL included) leaves
//! a line for every change that landed. Verification comes later; a change it finds not
//! in effect gets a second line (`"event": "verified"`, `result` `failed`) — the last
//! line of a change is its outcome.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::report::{Entry, Status, rfc3339};
use crate::model::{AccountId, IamId};

/// An audit log opened for appending.
#[derive(Debug)]
pub struct AuditLog {
    file: File,
    path: PathBuf,
    /// `ORGSYNC_AUDIT_NOTE`: e.g. the commit or pull request that caused the apply.
    note: Option<String>,
    /// The first write that failed: later lines are not attempted.
    failed: Option<std::io::Error>,
}

/// A failure of the audit log, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot open the audit log {}: {source}; nothing was changed. Check the path and its permissions",
        path.display()
    )]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the changes were applied, but writing the audit log {} failed: {source}",
        path.display()
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl AuditLog {
    /// Opens (creating it if need be) the log at `path` for appending. Done before
    /// anything changes: a bad path fails with nothing done.
    pub fn open(path: &Path, note: Option<String>) -> Result<AuditLog, AuditError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
            note: note.filter(|n| !n.is_empty()),
            failed: None,
        })
    }

    /// The sink for one apply on `account` by `actor` (the API key's identity).
    pub fn for_apply<'a>(&'a mut self, account: &'a AccountId, actor: &'a IamId) -> Audit<'a> {
        Audit {
            log: self,
            account,
            actor,
        }
    }

    /// Closes the log: the first write that failed, if any.
    pub fn finish(self) -> Result<(), AuditError> {
        match self.failed {
            Some(source) => Err(AuditError::Write {
                path: self.path,
                source,
            }),
            None => Ok(()),
        }
    }
}

/// Where one apply records what it did.
#[derive(Debug)]
pub struct Audit<'a> {
    log: &'a mut AuditLog,
    account: &'a AccountId,
    actor: &'a IamId,
}

impl Audit<'_> {
    /// Writes and flushes the line of one change whose call just completed. Skipped
    /// changes were not executed and get no line.
    pub fn record(&mut self, entry: &Entry) {
        if entry.status == Status::Skipped {
            return;
        }
        let line = self.line(entry, "executed", entry.at);
        self.write(line);
    }

    /// Writes the second line of a change whose outcome verification changed (an applied
    /// change not in effect): its final result and why.
    pub fn record_verified(&mut self, entry: &Entry) {
        let line = self.line(entry, "verified", Some(std::time::SystemTime::now()));
        self.write(line);
    }

    /// One line, in one `write` (a line is never interleaved or torn by a later kill).
    fn write(&mut self, line: serde_json::Value) {
        if self.log.failed.is_some() {
            return;
        }
        let mut line = line.to_string();
        line.push('\n');
        let written = self.log.file.write_all(line.as_bytes());
        if let Err(e) = written.and_then(|()| self.log.file.flush()) {
            self.log.failed = Some(e);
        }
    }

    fn line(
        &self,
        entry: &Entry,
        event: &str,
        at: Option<std::time::SystemTime>,
    ) -> serde_json::Value {
        serde_json::json!({
            "time": at.map(rfc3339),
            "event": event,
            "account_id": self.account,
            "actor": self.actor,
            "action": entry.change.kind().as_str(),
            "target": entry.change.to_string(),
            "change": entry.change,
            "result": entry.status,
            "error": entry.error,
            "transaction_id": entry
                .transaction_id
                .as_deref()
                .or_else(|| entry.error.as_ref().and_then(|e| e.transaction_id())),
            "note": self.log.note,
        })
    }
}
