//! One module per subcommand: wiring of the layers, no business logic.
//!
//! [`run`] first turns the parsed command line into [`settings::Settings`] (every flag
//! checked once), then hands each command its own settings. Beside the commands:
//! `session` (connecting to an account), `files` (writing `--out` without clobbering),
//! `planfile` (reading a saved plan, bounded), `lock` (one apply per account at a time).

mod apply;
#[cfg(feature = "emulator")]
mod emulator;
mod export;
pub mod files;
mod generate;
pub mod lock;
mod plan;
pub mod planfile;
mod schema;
mod session;
pub mod settings;
mod show;
mod validate;

use clap::ArgMatches;

use crate::cli::Cli;
use crate::error::{Error, Exit, Result};
use settings::{Settings, Task};

/// Runs the parsed command line and returns the exit code of a successful run.
pub fn run(cli: Cli, matches: &ArgMatches) -> Result<Exit> {
    let Settings { output, task } = Settings::new(cli, matches)?;
    match task {
        Task::Validate { config, format } => validate::run(&config, format, output),
        Task::Plan(s) => plan::run(&s, output),
        Task::Apply(s) => apply::run(&s, output),
        Task::Show(s) => show::run(&s, output),
        Task::Export(s) => export::run(&s, output),
        #[cfg(feature = "emulator")]
        Task::Emulator(args) => emulator::run(&args),
        Task::Schema => schema::run(),
        Task::Completions(shell) => generate::completions(shell),
        Task::Man(command) => generate::man(command.as_deref()),
        Task::Help(command) => generate::help(command.as_deref(), output.stdout_color()),
    }
}

/// Writes a command's result to stdout; a closed pipe ends quietly (`orgsync plan | head`).
fn print(what: &'static str, text: &str) -> Result<()> {
    crate::ui::print_stdout(text).map_err(|source| Error::Stdout { what, source })
}
