//! One module per subcommand: wiring of the layers, no business logic.

mod apply;
mod emulator;
mod export;
mod plan;
mod schema;
mod session;
mod validate;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::error::{Error, Exit, Result};

/// Runs the parsed command line and returns the exit code of a successful run.
pub fn run(cli: Cli) -> Result<Exit> {
    match &cli.command {
        Command::Validate => validate::run(&cli),
        Command::Plan(args) => plan::run(&cli, args),
        Command::Apply(args) => apply::run(&cli, args),
        Command::Export(args) => export::run(&cli, args),
        Command::Emulator(args) => emulator::run(&cli, args),
        Command::Schema => schema::run(&cli),
    }
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader never sees
/// half a plan or export, and a failed write leaves no temporary file behind.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::Runtime(format!(
            "cannot write {}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.orgsync-tmp"));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
}
