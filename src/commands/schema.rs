//! `orgsync schema`: print the JSON Schema (draft-07) of the config file, for editors and
//! for the committed `org.schema.json`.

use std::io::Write;

use crate::cli::Cli;
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli) -> Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(crate::config::schema_json().as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(Exit::Success),
        // `orgsync schema | head` closing the pipe early is not a failure.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Success),
        Err(err) => Err(Error::Runtime(format!(
            "cannot write the schema to stdout: {err}; check where stdout is redirected"
        ))),
    }
}
