//! `orgsync validate`: check the config file offline; print nothing but problems.

use std::path::Path;

use super::settings::Output;
use crate::config::{self, LoadedConfig};
use crate::error::{Error, Exit, Result};

pub fn run(config: &Path, _output: Output) -> Result<Exit> {
    load_config(config)?;
    Ok(Exit::Success)
}

/// Loads and validates the config at `path` (plan and apply start here too). A
/// [`config::ConfigError`] becomes [`Error::Config`], rendered on stderr (exit 78).
pub(super) fn load_config(path: &Path) -> Result<LoadedConfig> {
    config::load(path).map_err(Error::Config)
}
