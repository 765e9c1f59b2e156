//! The process contract: the exit-code table of SPEC §4 and the top-level error that maps
//! onto it. Layers keep their own error types and are rendered to one of these at the edge.

use std::process::ExitCode;

/// Exit codes, as documented in the README and SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: no changes, or everything applied.
    Success = 0,
    /// Runtime error: network, auth, API, or a partially failed apply.
    Failure = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// Refused: a safety guard, a stale saved plan, no confirmation.
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

/// What ends a command unsuccessfully. Each variant carries a message that is already fit
/// for a person: what happened, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Rendered diagnostics of an invalid config file.
    #[error("{0}")]
    InvalidConfig(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::InvalidConfig(_) => Exit::InvalidConfig,
            Error::Usage(_) => Exit::Usage,
            Error::Refused(_) => Exit::Refused,
            Error::Runtime(_) => Exit::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Prints the error on stderr. Config diagnostics are printed as rendered; everything else
/// gets the `error:` prefix.
pub fn report(err: &Error) {
    use std::io::Write;
    let mut stderr = anstream::stderr();
    let _ = match err {
        Error::InvalidConfig(text) => write!(stderr, "{}", ensure_newline(text)),
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
