//! `orgsync export`.

use crate::cli::{Cli, ExportArgs};
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli, _args: &ExportArgs) -> Result<Exit> {
    Err(Error::Runtime("`orgsync export` is not built yet".into()))
}
