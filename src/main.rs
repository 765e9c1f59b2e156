//! The orgsync binary: parse arguments, set up logging, run the command, exit with the
//! code of SPEC §4. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match orgsync::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return orgsync::error::usage_error(err),
    };
    orgsync::ui::init_logging(&cli);
    match orgsync::commands::run(cli) {
        Ok(exit) => exit.into(),
        Err(err) => {
            orgsync::error::report(&err);
            err.exit().into()
        }
    }
}
