//! Talking to the person at the terminal: colour choice, logging on stderr, progress bars,
//! the confirmation prompt. stdout is never written here.

use std::io::IsTerminal;

use crate::cli::{Cli, ColorChoice};

/// Whether to colour what goes to stdout (the plan, the report).
pub fn stdout_color(choice: ColorChoice) -> bool {
    color_for(choice, std::io::stdout().is_terminal())
}

/// Whether to colour what goes to stderr (diagnostics, logs).
pub fn stderr_color(choice: ColorChoice) -> bool {
    color_for(choice, std::io::stderr().is_terminal())
}

fn color_for(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Sets up `tracing` on stderr: -q errors only; default warnings; -v info; -vv debug (one
/// line per API call); -vvv trace. Secrets are never passed to `tracing`, at any level.
pub fn init_logging(cli: &Cli) {
    // Diagnostics go through anstream, which strips colour from a pipe on its own; an
    // explicit --color wins over that guess.
    anstream::ColorChoice::write_global(match cli.color {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    });
    use tracing_subscriber::filter::LevelFilter;
    let crate_level = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    use tracing_subscriber::layer::SubscriberExt;
    // Other crates (hyper, rustls, ...) stay at warnings: their trace output is noise, and
    // orgsync's own spans already name every call.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("orgsync", crate_level)
        .with_default(LevelFilter::WARN.min(crate_level));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color(cli.color))
        .with_target(cli.verbose >= 3)
        .finish()
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Writes the command's result to stdout. A closed pipe (`orgsync plan | head`) is not an
/// error worth a panic or a message: the reader has what it wanted.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Asks on stderr and reads one line from stdin; true only for "yes".
pub fn confirm(question: &str) -> bool {
    use std::io::{BufRead, Write};
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question} Only 'yes' will be accepted: ");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    answer.trim() == "yes"
}

/// A bar on stderr counting the changes an apply has finished, on a terminal only (never
/// in a pipe or a CI log, whose reader gets the report instead) and not with `-q`. It
/// appears only once the apply has run for a moment, so a quick apply draws nothing.
pub fn apply_progress(total: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::hidden(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} applying: {pos}/{len} changes [{bar:30}] {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        if !shown.is_finished() {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            shown.enable_steady_tick(std::time::Duration::from_millis(120));
        }
    });
    Some(bar)
}
