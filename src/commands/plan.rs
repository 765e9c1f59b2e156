//! `orgsync plan`.

use crate::cli::{Cli, PlanArgs};
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli, _args: &PlanArgs) -> Result<Exit> {
    Err(Error::Runtime("`orgsync plan` is not built yet".into()))
}
