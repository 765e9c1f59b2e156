//! `orgsync schema`.

use crate::cli::Cli;
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli) -> Result<Exit> {
    Err(Error::Runtime("`orgsync schema` is not built yet".into()))
}
