//! `orgsync validate`: check the config file offline; print nothing but problems.
//!
//! `--format github|json` writes the problems for machines on stdout (docs/config.md,
//! Problems for CI and tools) and the text form on stderr, so a CI log stays readable.

use std::path::Path;

use super::settings::Output;
use crate::cli::ValidateFormat;
use crate::config::{self, LoadedConfig, ReportFormat};
use crate::error::{Error, Exit, Result};

pub fn run(config: &Path, format: ValidateFormat, _output: Output) -> Result<Exit> {
    let machine = match format {
        ValidateFormat::Text => return load_config(config).map(|_| Exit::Success),
        ValidateFormat::Github => ReportFormat::Github,
        ValidateFormat::Json => ReportFormat::Json,
    };
    match config::load(config) {
        Ok(_) => {
            super::print("the result", &config::render_valid(machine))?;
            Ok(Exit::Success)
        }
        Err(problems) => {
            super::print("the problems", &problems.render_as(machine))?;
            Err(Error::Config(problems))
        }
    }
}

/// Loads and validates the config at `path` (plan and apply start here too). A
/// [`config::ConfigError`] becomes [`Error::Config`], rendered on stderr (exit 78).
pub(super) fn load_config(path: &Path) -> Result<LoadedConfig> {
    config::load(path).map_err(Error::Config)
}
