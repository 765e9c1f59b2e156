//! The orgsync binary: parse arguments, set up logging, run the command, exit with the
//! code of docs/cli.md. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, matches) = match orgsync::cli::parse() {
        Ok(parsed) => parsed,
        Err(err) => return orgsync::error::usage_error(err),
    };
    orgsync::ui::init_logging(&cli);
    let color = orgsync::ui::stderr_color(cli.color);
    match orgsync::commands::run(cli, &matches) {
        Ok(exit) => exit.into(),
        Err(err) => {
            orgsync::error::report(&err, color);
            err.exit().into()
        }
    }
}
