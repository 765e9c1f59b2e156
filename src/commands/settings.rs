//! Flags checked once: the parsed command line ([`Cli`], clap's types) becomes
//! [`Settings`], values the commands use without checking them again (docs/cli.md).
//!
//! Clap checks what a type says (numbers in range, dates, choices). This checks the rest,
//! before any file is read or request made, so a bad value is one usage error (exit 64)
//! from one place: endpoint URLs parsed, `--account-id` well-formed, files that flags
//! name present and of the right kind, `--out` targets writable without clobbering,
//! flags that contradict each other (`--sandbox` with an endpoint or a key file), and
//! `-c` given to a command that reads no config. It is ripgrep's `LowArgs` → `HiArgs`.
//!
//! A flag on the command line and a variable in the environment are told apart: the
//! environment is ambient (a shell may export `ORGSYNC_ENDPOINT` for every run), so
//! `--sandbox` ignores the endpoint variables but conflicts with the endpoint flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::files::{Existing, FileKind, OutFile};
#[cfg(feature = "emulator")]
use crate::cli::EmulatorArgs;
use crate::cli::{
    ApplyArgs, Cli, ColorChoice, Command, ConfigArg, ConnectionArgs, ExportArgs, PlanArgs,
    PlanFormat, ReportFormat, ValidateFormat,
};
use crate::error::{Error, Result, Usage};
use crate::iam::Endpoints;
use crate::model::{AccountId, Date};

/// Everything a run needs, validated.
#[derive(Debug)]
pub struct Settings {
    pub output: Output,
    pub task: Task,
}

/// How to talk to the person: colour and `-q`.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub color: ColorChoice,
    /// `-q`: nothing on stderr but errors (and the sandbox notice, which says what
    /// account the result is about).
    pub quiet: bool,
}

impl Output {
    pub fn stdout_color(self) -> bool {
        crate::ui::stdout_color(self.color)
    }

    pub fn stderr_color(self) -> bool {
        crate::ui::stderr_color(self.color)
    }
}

/// The command to run, with its settings.
#[derive(Debug)]
pub enum Task {
    Validate {
        config: PathBuf,
        format: ValidateFormat,
    },
    Plan(PlanSettings),
    Apply(ApplySettings),
    Show(ShowSettings),
    Export(ExportSettings),
    #[cfg(feature = "emulator")]
    Emulator(EmulatorArgs),
    Schema,
    Completions(clap_complete::Shell),
    /// `man [COMMAND]`: a known command's name, or orgsync's own page.
    Man(Option<String>),
    /// `help [COMMAND]`.
    Help(Option<String>),
}

#[derive(Debug)]
pub struct PlanSettings {
    pub config: PathBuf,
    pub format: PlanFormat,
    pub out: Option<OutFile>,
    pub detailed_exitcode: bool,
    pub today: Date,
    pub connection: Connection,
}

#[derive(Debug)]
pub struct ApplySettings {
    pub config: PathBuf,
    pub plan_file: Option<PathBuf>,
    pub yes: bool,
    pub format: ReportFormat,
    pub allow_removals: Option<u32>,
    pub invite_batch: usize,
    pub audit_log: Option<PathBuf>,
    pub today: Date,
    pub connection: Connection,
}

#[derive(Debug)]
pub struct ShowSettings {
    pub plan_file: PathBuf,
    pub format: PlanFormat,
}

#[derive(Debug)]
pub struct ExportSettings {
    /// `--groups`; `None` is every group but Public Access.
    pub groups: Option<Vec<String>>,
    pub account: Option<AccountId>,
    pub out: Option<OutFile>,
    pub connection: Connection,
}

/// Where the account is and how hard to press it.
#[derive(Debug)]
pub struct Connection {
    pub target: Target,
    pub parallelism: usize,
    pub timeout: Duration,
}

#[derive(Debug)]
pub enum Target {
    /// IBM Cloud, or an emulator at `--endpoint`.
    Account {
        endpoints: Box<Endpoints>,
        /// `--api-key-file`; else the key comes from the environment.
        key_file: Option<PathBuf>,
    },
    /// The in-process sandbox, seeded with `--sandbox-state` or the built-in account.
    #[cfg(feature = "emulator")]
    Sandbox { state: Option<PathBuf> },
}

impl Settings {
    /// Validates `cli`; `matches` tells which values came from the command line.
    pub fn new(cli: Cli, matches: &ArgMatches) -> Result<Settings> {
        let output = Output {
            color: cli.color,
            quiet: cli.quiet,
        };
        let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
        let name = cli.command.name();
        let top_config = cli.config;
        let config = |arg: ConfigArg| config_path(top_config.clone(), arg, sub);
        let no_config = || match top_config {
            Some(_) => Err(Error::Usage(Usage::NotTaken {
                flag: "-c/--config",
                command: name,
            })),
            None => Ok(()),
        };
        let task = match cli.command {
            Command::Validate(args) => Task::Validate {
                config: config(args.config)?,
                format: args.format,
            },
            Command::Plan(args) => Task::Plan(plan(args, config, sub)?),
            Command::Apply(args) => Task::Apply(apply(args, config, sub)?),
            Command::Show(args) => {
                no_config()?;
                Task::Show(ShowSettings {
                    plan_file: args.plan,
                    format: args.format,
                })
            }
            Command::Export(args) => {
                no_config()?;
                Task::Export(export(args, sub)?)
            }
            Command::Emulator(args) => {
                no_config()?;
                emulator(args)?
            }
            Command::Schema => {
                no_config()?;
                Task::Schema
            }
            Command::Completions(args) => {
                no_config()?;
                Task::Completions(args.shell)
            }
            Command::Man(args) => {
                no_config()?;
                Task::Man(known_command(args.command)?)
            }
            // `orgsync -c FILE help plan` asks about plan; -c is harmless there.
            Command::Help(args) => Task::Help(known_command(args.command)?),
        };
        Ok(Settings { output, task })
    }
}

#[cfg(feature = "emulator")]
fn emulator(args: EmulatorArgs) -> Result<Task> {
    Ok(Task::Emulator(args))
}

#[cfg(not(feature = "emulator"))]
fn emulator(_args: crate::cli::EmulatorArgs) -> Result<Task> {
    Err(Error::Usage(Usage::NoEmulator))
}

fn plan(
    args: PlanArgs,
    config: impl FnOnce(ConfigArg) -> Result<PathBuf>,
    sub: &ArgMatches,
) -> Result<PlanSettings> {
    let out = args
        .out
        .map(|path| out_file(path, "--out", Existing::Replace))
        .transpose()?;
    Ok(PlanSettings {
        config: config(args.config)?,
        format: args.format,
        out,
        detailed_exitcode: args.detailed_exitcode,
        today: args.today.today.unwrap_or_else(Date::today_utc),
        connection: connection(args.connection, sub)?,
    })
}

fn apply(
    args: ApplyArgs,
    config: impl FnOnce(ConfigArg) -> Result<PathBuf>,
    sub: &ArgMatches,
) -> Result<ApplySettings> {
    if let Some(path) = &args.audit_log {
        appendable(path, "--audit-log")?;
    }
    Ok(ApplySettings {
        config: config(args.config)?,
        plan_file: args.plan,
        yes: args.yes,
        format: args.format,
        allow_removals: args.allow_removals,
        invite_batch: usize::from(args.invite_batch),
        audit_log: args.audit_log,
        today: args.today.today.unwrap_or_else(Date::today_utc),
        connection: connection(args.connection, sub)?,
    })
}

fn export(args: ExportArgs, sub: &ArgMatches) -> Result<ExportSettings> {
    let account = args.account_id.as_deref().map(account_id).transpose()?;
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Keep
    };
    let out = args
        .out
        .map(|path| out_file(path, "--out", existing))
        .transpose()?;
    Ok(ExportSettings {
        groups: if args.all_groups { None } else { args.groups },
        account,
        out,
        connection: connection(args.connection, sub)?,
    })
}

/// `-c` after the command, else `-c` before it, else `ORGSYNC_CONFIG`, else `org.yaml`.
fn config_path(top: Option<PathBuf>, arg: ConfigArg, sub: &ArgMatches) -> Result<PathBuf> {
    match top {
        Some(_) if on_command_line(sub, "config") => Err(Error::Usage(Usage::Invalid(
            "-c/--config is given both before and after the command; give it once".into(),
        ))),
        Some(path) => Ok(path),
        None => Ok(arg.config),
    }
}

fn on_command_line(matches: &ArgMatches, id: &str) -> bool {
    // `try_get_raw` first: it answers an id the command lacks instead of panicking.
    matches.try_get_raw(id).is_ok_and(|v| v.is_some())
        && matches.value_source(id) == Some(ValueSource::CommandLine)
}

fn connection(args: ConnectionArgs, sub: &ArgMatches) -> Result<Connection> {
    let parallelism = args.parallelism as usize;
    let timeout = Duration::from_secs(args.timeout);
    let target = if args.sandbox || args.sandbox_state.is_some() {
        sandbox(&args, sub)?
    } else {
        account(args, sub)?
    };
    Ok(Connection {
        target,
        parallelism,
        timeout,
    })
}

/// The flags `--sandbox` cannot be combined with, and why.
const NOT_WITH_SANDBOX: [(&str, &str, &str); 5] = [
    ("endpoint", "--endpoint", ENDPOINT_WHY),
    ("iam_endpoint", "--iam-endpoint", ENDPOINT_WHY),
    (
        "user_management_endpoint",
        "--user-management-endpoint",
        ENDPOINT_WHY,
    ),
    (
        "resource_controller_endpoint",
        "--resource-controller-endpoint",
        ENDPOINT_WHY,
    ),
    (
        "api_key_file",
        "--api-key-file",
        "the sandbox runs as an API key of its own state; drop one of them",
    ),
];
const ENDPOINT_WHY: &str =
    "the sandbox is an account served inside orgsync, at no endpoint; drop one of them";

fn sandbox(args: &ConnectionArgs, sub: &ArgMatches) -> Result<Target> {
    let flag = if args.sandbox_state.is_some() {
        "--sandbox-state"
    } else {
        "--sandbox"
    };
    for (id, with, why) in NOT_WITH_SANDBOX {
        if on_command_line(sub, id) {
            return Err(Error::Usage(Usage::Conflict { flag, with, why }));
        }
    }
    #[cfg(feature = "emulator")]
    {
        if let Some(path) = &args.sandbox_state {
            readable(
                path,
                "--sandbox-state",
                "an emulator state file (docs/emulator.md shows the format), or use --sandbox for the built-in account",
            )?;
        }
        Ok(Target::Sandbox {
            state: args.sandbox_state.clone(),
        })
    }
    #[cfg(not(feature = "emulator"))]
    Err(Error::Usage(Usage::NoEmulator))
}

fn account(args: ConnectionArgs, sub: &ArgMatches) -> Result<Target> {
    // `--endpoint` would silently win over the separate endpoints: say so instead.
    if on_command_line(sub, "endpoint") {
        for (id, with) in [
            ("iam_endpoint", "--iam-endpoint"),
            ("user_management_endpoint", "--user-management-endpoint"),
            (
                "resource_controller_endpoint",
                "--resource-controller-endpoint",
            ),
        ] {
            if on_command_line(sub, id) {
                return Err(Error::Usage(Usage::Conflict {
                    flag: "--endpoint",
                    with,
                    why: "--endpoint is the base URL of every API; give it or the separate endpoints",
                }));
            }
        }
    }
    let endpoints = Endpoints::resolve(
        args.endpoint.as_deref(),
        &args.iam_endpoint,
        &args.user_management_endpoint,
    )
    .and_then(|e| e.with_resource_controller(&args.resource_controller_endpoint))
    .map_err(|e| Error::Usage(Usage::Endpoint(e)))?;
    if let Some(path) = &args.api_key_file {
        readable(
            path,
            "--api-key-file",
            "a file holding the API key (one line)",
        )?;
    }
    Ok(Target::Account {
        endpoints: Box::new(endpoints),
        key_file: args.api_key_file,
    })
}

/// `--account-id` as given: the format `account_id` must have in the file.
fn account_id(raw: &str) -> Result<AccountId> {
    let id = raw.trim();
    if AccountId::is_valid(id) {
        Ok(AccountId::new(id))
    } else {
        Err(Error::Usage(Usage::Invalid(format!(
            "--account-id `{raw}` is not an IBM Cloud account id (32 lower-case hex characters); \
             find it in the console under Manage → Account → Account settings"
        ))))
    }
}

/// A file a flag names for reading: it exists and is a regular file (a FIFO would block
/// the read forever, a directory cannot be read). `give` says what the flag wants.
fn readable(path: &std::path::Path, flag: &'static str, give: &str) -> Result<()> {
    let problem = match std::fs::metadata(path) {
        Ok(meta) => match FileKind::of(&meta) {
            None => return Ok(()),
            Some(kind) => format!("is {kind}; give {give}"),
        },
        Err(e) => format!("{}; give {give}", describe(&e)),
    };
    Err(Error::Usage(Usage::File {
        flag,
        path: path.to_path_buf(),
        problem,
    }))
}

/// A file a flag names for appending: absent (it is created) or a regular file.
fn appendable(path: &std::path::Path, flag: &'static str) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) => match FileKind::of(&meta) {
            None => Ok(()),
            Some(kind) => Err(Error::Usage(Usage::File {
                flag,
                path: path.to_path_buf(),
                problem: format!("is {kind}, not a file to append to; give the path of a file"),
            })),
        },
        // Not there yet, or not reachable: opening it says which, with nothing changed.
        Err(_) => Ok(()),
    }
}

fn out_file(path: PathBuf, flag: &'static str, existing: Existing) -> Result<OutFile> {
    let out = OutFile {
        path,
        existing,
        flag,
    };
    out.check()?;
    Ok(out)
}

/// An I/O error as a person says it: "no such file", not "entity not found".
fn describe(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `man`/`help` COMMAND: one of orgsync's commands.
fn known_command(name: Option<String>) -> Result<Option<String>> {
    use clap::CommandFactory;
    let Some(name) = name else {
        return Ok(None);
    };
    let cli = Cli::command();
    if cli.find_subcommand(&name).is_some() {
        return Ok(Some(name));
    }
    let known = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::Usage(Usage::UnknownCommand { name, known }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Result<Settings> {
        let mut argv = vec!["orgsync"];
        argv.extend_from_slice(args);
        let (cli, matches) = match crate::cli::parse_from(argv) {
            Ok(parsed) => parsed,
            Err(e) => panic!("{args:?} does not parse: {e}"),
        };
        Settings::new(cli, &matches)
    }

    fn usage(args: &[&str]) -> Usage {
        match settings(args) {
            Err(Error::Usage(u)) => u,
            other => panic!("{args:?}: expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_endpoint_is_a_usage_error() {
        for flag in [
            "--endpoint",
            "--iam-endpoint",
            "--user-management-endpoint",
            "--resource-controller-endpoint",
        ] {
            for bad in ["notaurl", "ftp://example.com", "http://host.invalid"] {
                let u = usage(&["plan", flag, bad]);
                assert!(matches!(u, Usage::Endpoint(_)), "{flag} {bad}: {u}");
                assert!(u.to_string().contains(flag), "{u}");
            }
        }
        assert!(settings(&["plan", "--endpoint", "http://127.0.0.1:8080"]).is_ok());
    }

    #[test]
    fn the_sandbox_conflicts_with_every_endpoint_flag_and_the_key_file() {
        for with in [
            "--endpoint",
            "--iam-endpoint",
            "--user-management-endpoint",
            "--resource-controller-endpoint",
        ] {
            let u = usage(&["plan", "--sandbox", with, "https://iam.cloud.ibm.com"]);
            assert!(
                matches!(u, Usage::Conflict { flag: "--sandbox", with: w, .. } if w == with),
                "{u}"
            );
        }
        let u = usage(&["apply", "--sandbox", "--api-key-file", "key.txt"]);
        assert!(
            matches!(
                u,
                Usage::Conflict {
                    with: "--api-key-file",
                    ..
                }
            ),
            "{u}"
        );
    }

    #[test]
    fn config_flags_are_taken_only_by_commands_that_read_a_config() {
        for command in [&["export"][..], &["schema"], &["show", "p.json"], &["man"]] {
            let mut args = vec!["-c", "org.yaml"];
            args.extend_from_slice(command);
            let u = usage(&args);
            assert!(matches!(u, Usage::NotTaken { .. }), "{u}");
        }
        let before = settings(&["-c", "a.yaml", "validate"]).unwrap();
        assert!(
            matches!(before.task, Task::Validate { config, .. } if config.as_path() == std::path::Path::new("a.yaml"))
        );
        let after = settings(&["validate", "-c", "b.yaml"]).unwrap();
        assert!(
            matches!(after.task, Task::Validate { config, .. } if config.as_path() == std::path::Path::new("b.yaml"))
        );
        assert!(matches!(
            usage(&["-c", "a.yaml", "plan", "-c", "b.yaml"]),
            Usage::Invalid(_)
        ));
    }

    #[test]
    fn a_missing_key_file_names_the_flag_and_the_path() {
        let u = usage(&["plan", "--api-key-file", "/nonexistent/key.txt"]);
        let text = u.to_string();
        assert!(
            text.starts_with("--api-key-file /nonexistent/key.txt: no such file"),
            "{text}"
        );
    }
}
