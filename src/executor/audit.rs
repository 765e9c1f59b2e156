//! `--audit-log FILE`: one JSON line per executed change (docs/reconciliation.md).
//!
//! The log is a sink the executor writes to: one line per change once its outcome is
//! final, each line written and flushed on its own, so what was written survives whatever
//! happens next. (Today an outcome is final after verification, at the end of the apply;
//! a line per change as it completes needs only an earlier call of [`Audit::record`].)

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
    /// Writes and flushes the line of one change whose outcome is final. Skipped changes
    /// were not executed and get no line.
    pub fn record(&mut self, entry: &Entry) {
        if entry.status == Status::Skipped || self.log.failed.is_some() {
            return;
        }
        let mut line = self.line(entry).to_string();
        line.push('\n');
        let written = self.log.file.write_all(line.as_bytes());
        if let Err(e) = written.and_then(|()| self.log.file.flush()) {
            self.log.failed = Some(e);
        }
    }

    fn line(&self, entry: &Entry) -> serde_json::Value {
        serde_json::json!({
            "time": entry.at.map(rfc3339),
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
