//! One module per subcommand: wiring of the layers, no business logic.

mod apply;
mod emulator;
mod export;
mod plan;
mod schema;
mod session;
mod validate;

use crate::cli::{Cli, Command};
use crate::error::{Exit, Result};

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
