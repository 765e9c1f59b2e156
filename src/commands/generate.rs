//! What is generated from the clap definitions in `cli.rs`, so it cannot disagree with
//! the parser: shell completions (`clap_complete`), manual pages in roff
//! (`clap_mangen`), and `orgsync help [COMMAND]`.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Exit, Result};

/// `orgsync completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "orgsync", &mut out);
    super::print("the completions", &String::from_utf8_lossy(&out))?;
    Ok(Exit::Success)
}

/// `orgsync man [COMMAND]`: `orgsync(1)`, or `orgsync-COMMAND(1)`, in roff on stdout.
pub fn man(command: Option<&str>) -> Result<Exit> {
    let page = match command {
        None => built(),
        Some(name) => {
            let sub = subcommand(name);
            let full = format!("orgsync-{name}");
            sub.name(full.clone()).bin_name(full)
        }
    };
    let mut out = Vec::new();
    // Rendering into memory cannot fail but for a bug in the renderer; say nothing then.
    let _ = clap_mangen::Man::new(page).render(&mut out);
    super::print("the manual page", &String::from_utf8_lossy(&out))?;
    Ok(Exit::Success)
}

/// `orgsync help [COMMAND]`: exactly what `orgsync [COMMAND] --help` prints, asked of
/// clap itself so the two cannot differ.
pub fn help(command: Option<&str>, color: bool) -> Result<Exit> {
    let args = ["orgsync"].into_iter().chain(command).chain(["--help"]);
    let help = match Cli::command().try_get_matches_from(args) {
        Err(shown) => shown.render(),
        // `--help` always ends the parse; a parse that went on has nothing to show.
        Ok(_) => clap::builder::StyledStr::new(),
    };
    let text = if color {
        help.ansi().to_string()
    } else {
        help.to_string()
    };
    super::print("the help", &text)?;
    Ok(Exit::Success)
}

/// The command tree with global flags propagated and names resolved, as parsing sees it.
fn built() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// A subcommand of the built tree; settings made sure that `name` is one.
fn subcommand(name: &str) -> clap::Command {
    let cmd = built();
    cmd.find_subcommand(name).cloned().unwrap_or(cmd)
}
