//! `orgsync emulator`.

use crate::cli::{Cli, EmulatorArgs};
use crate::error::{Error, Exit, Result};

pub fn run(_cli: &Cli, _args: &EmulatorArgs) -> Result<Exit> {
    Err(Error::Runtime("`orgsync emulator` is not built yet".into()))
}
