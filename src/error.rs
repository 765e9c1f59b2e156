//! The process contract: the exit-code table (docs/cli.md, Exit codes) and the one error
//! every command returns.
//!
//! Each layer keeps its own error type up to here, and a variant of [`Error`] holds it
//! unchanged: a test matches the cause (`Error::Refused(Refusal::ConfigChanged)`), not a
//! substring, and the variant alone chooses the exit code ([`Error::exit`]). `Display` is
//! the message a person reads after `error: `: what happened, where, and what to do.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::commands::files::WriteError;
use crate::commands::lock::LockError;
use crate::commands::planfile::BadPlanFile;
use crate::config::{ConfigError, Diagnostics};
use crate::executor::AuditError;
use crate::iam::IamError;
use crate::model::AccountId;
use crate::plan::export::ChooseError;
use crate::plan::{PlanError, Refusal};

/// Exit codes, as documented in docs/cli.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: no changes, or everything applied.
    Success = 0,
    /// Runtime error: network, auth, API, or a partially failed apply.
    Failure = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// Refused: a safety guard, a stale saved plan, no confirmation, another apply running.
    Refused = 3,
    /// Usage error: bad flags or arguments.
    Usage = 64,
    /// The config file is invalid.
    InvalidConfig = 78,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// What ends a command unsuccessfully.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file is invalid or cannot be read; rendered as diagnostics (78).
    #[error("{0}")]
    Config(ConfigError),
    /// A call to IBM Cloud (or an emulator) failed, or the client could not be set up (1).
    #[error("{0}")]
    Iam(#[from] IamError),
    /// No plan can be made (1).
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// apply refused the plan: a stale saved plan, too many removals (3).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// apply needs a confirmation, and stdin is not a terminal to ask on (3).
    #[error(
        "apply needs confirmation, and there is no terminal to ask on; nothing was changed. Review the plan, then pass --yes"
    )]
    NoTerminal,
    /// The person at the terminal did not confirm (3).
    #[error("not confirmed; nothing was changed")]
    NotConfirmed,
    /// The apply lock: held by another apply (3), or not to be had (1).
    #[error("{0}")]
    Lock(#[from] LockError),
    /// A value on the command line is wrong (64).
    #[error("{0}")]
    Usage(#[from] Usage),
    /// The PLANFILE of `apply` or `show` cannot be used (64).
    #[error("{0}")]
    PlanFile(BadPlanFile),
    /// `--out` cannot be written: refused (64) or failed (1).
    #[error("{0}")]
    Write(#[from] WriteError),
    /// The audit log cannot be opened or written (1).
    #[error("{0}")]
    Audit(#[from] AuditError),
    /// The API key (or the sandbox) is of another account than the one to work on (1).
    #[error("{0}")]
    OtherAccount(AccountMismatch),
    /// Neither `--api-key-file` nor an API key variable is given (1).
    #[error(
        "no IBM Cloud API key: set IBMCLOUD_API_KEY (or IC_API_KEY), or pass --api-key-file FILE; create a key under Manage → Access (IAM) → API keys. To try orgsync without an account, pass --sandbox"
    )]
    NoApiKey,
    /// `--groups` does not fit the account (1).
    #[error("cannot export account {account}: {source}")]
    Export {
        account: AccountId,
        source: ChooseError,
    },
    /// The exported file failed its own check before being handed over: a bug (1).
    #[error(
        "the exported config {0}; this is a bug in orgsync, please report it (nothing was written)"
    )]
    ExportCheck(ExportCheck),
    /// The in-process sandbox could not be set up (1).
    #[error("{0}")]
    Sandbox(SandboxError),
    /// An emulator state file cannot be used; the emulator's own message (1).
    #[error("{0}")]
    EmulatorState(String),
    /// `orgsync emulator` cannot listen (1).
    #[error(
        "cannot start the emulator on {addr}: {source}; choose another --listen address or free the port"
    )]
    EmulatorStart {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The result cannot be written to stdout (1). A closed pipe is not an error.
    #[error("cannot write {what} to stdout: {source}; check where stdout is redirected")]
    Stdout {
        what: &'static str,
        source: std::io::Error,
    },
    /// The async runtime cannot be started (1).
    #[error("cannot start the async runtime: {0}")]
    AsyncRuntime(std::io::Error),
    /// Waiting for a signal failed (1).
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}

impl Error {
    /// The exit code, by variant (docs/cli.md, Exit codes).
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) => Exit::InvalidConfig,
            Error::Usage(_) | Error::PlanFile(_) => Exit::Usage,
            Error::Write(e) if e.is_refusal() => Exit::Usage,
            Error::Refused(_) | Error::NoTerminal | Error::NotConfirmed => Exit::Refused,
            Error::Lock(LockError::Held { .. }) => Exit::Refused,
            Error::Iam(_)
            | Error::Plan(_)
            | Error::Lock(_)
            | Error::Write(_)
            | Error::Audit(_)
            | Error::OtherAccount(_)
            | Error::NoApiKey
            | Error::Export { .. }
            | Error::ExportCheck(_)
            | Error::Sandbox(_)
            | Error::EmulatorState(_)
            | Error::EmulatorStart { .. }
            | Error::Stdout { .. }
            | Error::AsyncRuntime(_)
            | Error::Signal(_) => Exit::Failure,
        }
    }

    /// A refusal with nothing changed (exit 3): `apply --format json` reports it too.
    pub fn is_refusal(&self) -> bool {
        self.exit() == Exit::Refused
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A value on the command line that settings refuse (docs/cli.md). Clap's own parse
/// errors (unknown flags, out-of-range numbers, dates) never get here: they are printed
/// by clap, with the same exit code.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    /// An endpoint URL the client refuses (not a URL, not https, credentials in it).
    #[error("{0}")]
    Endpoint(IamError),
    /// A value refused for a reason the message gives in full.
    #[error("{0}")]
    Invalid(String),
    /// Two flags that cannot go together.
    #[error("{flag} cannot be combined with {with}: {why}")]
    Conflict {
        flag: &'static str,
        with: &'static str,
        why: &'static str,
    },
    /// A flag given before a command that does not take it.
    #[error(
        "{flag} names a config file, and `orgsync {command}` reads none; drop {flag} (or ORGSYNC_CONFIG is the place for a default)"
    )]
    NotTaken {
        flag: &'static str,
        command: &'static str,
    },
    /// A file a flag names that cannot be used; `problem` says why.
    #[error("{flag} {}: {problem}", path.display())]
    File {
        flag: &'static str,
        path: PathBuf,
        problem: String,
    },
    /// A command name (`help`, `man`) that orgsync does not have.
    #[error("orgsync has no command `{name}`; the commands are: {known}")]
    UnknownCommand { name: String, known: String },
    /// `--sandbox` in a build without the emulator.
    #[error(
        "--sandbox needs the emulator, which this build of orgsync leaves out; rebuild with the default `emulator` feature"
    )]
    NoEmulator,
}

/// The account of the API key (or the sandbox) is not the account to work on. IBM would
/// answer 403 on every call, and a wrong key is far likelier than intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountMismatch {
    /// The account the key belongs to (the sandbox's, in sandbox mode).
    pub own: AccountId,
    /// The account asked for.
    pub wanted: AccountId,
    /// Who asked for it.
    pub by: Wanted,
    /// The connection is the in-process sandbox: there is no API key to blame.
    pub sandbox: bool,
}

/// Where the account to work on comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The config file's `account_id`.
    File,
    /// `export --account-id`.
    AccountIdFlag,
}

impl fmt::Display for AccountMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let AccountMismatch { own, wanted, .. } = self;
        match (self.sandbox, self.by) {
            (false, Wanted::File) => write!(
                f,
                "the API key belongs to account {own}, but the file governs account {wanted}; use an API key of account {wanted}, or fix account_id"
            ),
            (false, Wanted::AccountIdFlag) => write!(
                f,
                "the API key belongs to account {own}, but --account-id is {wanted}; use an API key of account {wanted}, or drop --account-id to export the key's own account"
            ),
            (true, Wanted::File) => write!(
                f,
                "the sandbox serves account {own}, but the file governs account {wanted}; use a file for account {own} (org.example.yaml is one), or seed the sandbox with --sandbox-state FILE holding account {wanted}"
            ),
            (true, Wanted::AccountIdFlag) => write!(
                f,
                "the sandbox serves account {own}, but --account-id is {wanted}; drop --account-id, or pass --account-id {own}"
            ),
        }
    }
}

/// Why an exported file is not handed over (each is a bug in orgsync).
#[derive(Debug)]
pub enum ExportCheck {
    /// It does not validate; the rendered problems.
    Invalid(Diagnostics),
    /// It cannot be planned.
    Unplannable(PlanError),
    /// Planning it against its own account changes something; the changes as JSON lines.
    WouldChange(Vec<String>),
}

impl fmt::Display for ExportCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportCheck::Invalid(diags) => write!(f, "does not validate:\n{}", diags.render(false)),
            ExportCheck::Unplannable(e) => write!(f, "cannot be planned: {e}"),
            ExportCheck::WouldChange(changes) => {
                f.write_str("would change the account it was read from:\n")?;
                for change in changes {
                    writeln!(f, "  {change}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why the in-process sandbox cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `--sandbox-state FILE` cannot be used; the emulator's message about it.
    #[error("--sandbox-state {}: {message}", path.display())]
    State { path: PathBuf, message: String },
    /// The state compiled into orgsync does not load: a bug.
    #[error("the built-in sandbox state is broken: {0}")]
    BuiltIn(String),
    /// The state has no API key to run as.
    #[error("the sandbox state has no api_keys entry; add one (docs/emulator.md shows the format)")]
    NoApiKey,
    /// No loopback port could be bound.
    #[error("cannot start the sandbox emulator on a loopback port: {0}")]
    Start(std::io::Error),
}

/// Prints the error on stderr. Config diagnostics are printed as rendered (coloured when
/// `color`); everything else gets the `error:` prefix.
pub fn report(err: &Error, color: bool) {
    use std::io::Write;
    let mut stderr = anstream::stderr();
    let _ = match err {
        Error::Config(config) => write!(stderr, "{}", ensure_newline(&config.render(color))),
        other => {
            let style = anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Red.into()));
            write!(
                stderr,
                "{style}error{style:#}: {}",
                ensure_newline(&other.to_string())
            )
        }
    };
}

fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// Handles a clap parse failure: help and version go to stdout with exit 0, anything else
/// is a usage error (exit 64, not clap's default 2, which `plan --detailed-exitcode` owns).
pub fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = err.print();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Success.into(),
        _ => Exit::Usage.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::planfile::PlanFileProblem;

    #[test]
    fn each_kind_of_error_exits_with_its_code() {
        let cases: Vec<(Error, Exit)> = vec![
            (Error::NoTerminal, Exit::Refused),
            (Error::NotConfirmed, Exit::Refused),
            (Error::Refused(Refusal::ConfigChanged), Exit::Refused),
            (Error::Usage(Usage::NoEmulator), Exit::Usage),
            (Error::Iam(IamError::Setup("no key".into())), Exit::Failure),
            (Error::NoApiKey, Exit::Failure),
            (
                Error::PlanFile(BadPlanFile {
                    path: "p.json".into(),
                    command: "apply",
                    problem: PlanFileProblem::TooLarge { bytes: u64::MAX },
                }),
                Exit::Usage,
            ),
        ];
        for (err, exit) in cases {
            assert_eq!(err.exit(), exit, "{err}");
        }
    }

    #[test]
    fn an_account_mismatch_in_the_sandbox_blames_no_api_key() {
        let own = AccountId::new("0123456789abcdef0123456789abcdef");
        let wanted = AccountId::new("fedcba9876543210fedcba9876543210");
        let mismatch = |sandbox, by| {
            AccountMismatch {
                own: own.clone(),
                wanted: wanted.clone(),
                by,
                sandbox,
            }
            .to_string()
        };
        for by in [Wanted::File, Wanted::AccountIdFlag] {
            let text = mismatch(true, by);
            assert!(!text.contains("API key"), "{text}");
            assert!(text.contains(own.as_str()) && text.contains(wanted.as_str()));
        }
        let flag = mismatch(false, Wanted::AccountIdFlag);
        assert!(!flag.contains("file"), "{flag}");
        assert!(flag.contains("--account-id"), "{flag}");
    }
}
