//! `orgsync validate`: check the config file offline; print nothing but problems.

use crate::cli::Cli;
use crate::config::{self, LoadedConfig};
use crate::error::{Error, Exit, Result};
use crate::ui;

pub fn run(cli: &Cli) -> Result<Exit> {
    load_config(cli)?;
    Ok(Exit::Success)
}

/// Loads and validates the config named by `-c` (plan and apply start here too).
/// A [`config::ConfigError`] becomes [`Error::InvalidConfig`], rendered for stderr (exit 78).
pub(super) fn load_config(cli: &Cli) -> Result<LoadedConfig> {
    config::load(&cli.config)
        .map_err(|err| Error::InvalidConfig(err.render(ui::stderr_color(cli.color))))
}
