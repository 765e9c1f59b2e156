//! `orgsync apply`.

use crate::cli::{ApplyArgs, Cli};
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli, _args: &ApplyArgs) -> Result<Exit> {
    Err(Error::Runtime("`orgsync apply` is not built yet".into()))
}
