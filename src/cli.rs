//! The command line (docs/cli.md) as clap derive types. Doc comments are the `--help`
//! text; nothing here does work. `commands::settings` turns a parsed [`Cli`] into
//! validated settings, so every check of a flag's value lives there, once.
//!
//! Help shows three groups: a command's own options, "Connection options" (plan, apply,
//! export) and "Global options" (colour and verbosity, which every command honours).
//! `-c` is not global: only validate, plan and apply read a config file, so only they
//! offer it. It is also accepted before the command (`orgsync -c FILE plan`), as the
//! synopsis shows it; there, a command that reads no config refuses it.

use std::path::PathBuf;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::model::Date;

/// Keep IBM Cloud IAM access groups in one reviewed YAML file: who belongs to each, what
/// each grants (access policies, custom roles), and its dynamic rules.
///
/// `orgsync plan` shows how the live account differs from the file; `orgsync apply`
/// makes the account match it.
#[derive(Debug, Parser)]
#[command(
    name = "orgsync",
    version,
    propagate_version = true,
    max_term_width = 100,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The config file of validate, plan and apply (also accepted after the command).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to colour output (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// More logging on stderr (-v info, -vv each API call, -vvv everything).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet", help_heading = GLOBAL)]
    pub verbose: u8,

    /// Nothing on stderr but errors (and the sandbox notice); the result still goes to stdout.
    #[arg(short = 'q', long = "quiet", global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

/// Parses the process's arguments. The matches come along so that settings can tell a
/// flag given on the command line from one taken from the environment.
pub fn parse() -> Result<(Cli, ArgMatches), clap::Error> {
    parse_from(std::env::args_os())
}

/// [`parse`] of given arguments (the first is the program name).
pub fn parse_from<I, T>(args: I) -> Result<(Cli, ArgMatches), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    Ok((cli, matches))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config file offline; print nothing but problems.
    Validate(ValidateArgs),
    /// Show what apply would change in the live account.
    Plan(PlanArgs),
    /// Make the live account match the file (or a saved plan).
    Apply(ApplyArgs),
    /// Print a plan saved by `plan --out`, offline.
    Show(ShowArgs),
    /// Write a config file from the live account.
    Export(ExportArgs),
    /// Serve a local emulator of IBM's APIs, for tests.
    ///
    /// The token service, User Management, Access Groups, Policy Management, Resource
    /// Controller and Resource Manager, on a loopback port; docs/emulator.md.
    Emulator(EmulatorArgs),
    /// Print the JSON Schema (draft-07) of the config file.
    Schema,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the manual page (roff), of orgsync or of one command.
    Man(ManArgs),
    /// Print the help of orgsync or of one command.
    Help(HelpArgs),
}

impl Command {
    /// The command's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Show(_) => "show",
            Command::Export(_) => "export",
            Command::Emulator(_) => "emulator",
            Command::Schema => "schema",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Help(_) => "help",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

/// `-c FILE` of the commands that read a config file.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The config file.
    #[arg(
        short = 'c',
        long = "config",
        env = "ORGSYNC_CONFIG",
        default_value = "org.yaml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
}

/// `--today DATE`, declared once for the commands that plan.
#[derive(Debug, Clone, Args)]
pub struct TodayArg {
    /// Plan as of this date (YYYY-MM-DD) for expiries; default today in UTC.
    #[arg(long, value_name = "DATE", env = "ORGSYNC_TODAY")]
    pub today: Option<Date>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// How problems are reported: text for people, one GitHub Actions annotation per
    /// problem, or one JSON document (github and json go to stdout, text to stderr).
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text)]
    pub format: ValidateFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Github,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also write the JSON plan to this file, for `orgsync apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes, 0 when it has none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub today: TodayArg,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `orgsync plan --out`; applied only if nothing moved since.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Apply without asking for confirmation (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Allow up to N removals even above `policy.max_removals`.
    #[arg(long, value_name = "N")]
    pub allow_removals: Option<u32>,
    /// Emails per invitation call (users with identical groups share a call).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub invite_batch: u16,
    /// Append one JSON line per executed change to this file.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub today: TodayArg,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `orgsync plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Export only these groups (comma-separated names).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAME,...",
        conflicts_with = "all_groups"
    )]
    pub groups: Option<Vec<String>>,
    /// Export every group but Public Access (the default).
    #[arg(long)]
    pub all_groups: bool,
    /// The account to export; default: the account of the API key.
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,
    /// Write the config here instead of stdout (an existing file only with --force).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Let --out replace an existing file.
    #[arg(long, requires = "out")]
    pub force: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// How to reach IBM Cloud (or an emulator of it).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection options")]
pub struct ConnectionArgs {
    /// Every API at one base URL, as the emulator serves them.
    #[arg(long, env = "ORGSYNC_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// IAM token service, Access Groups and Policy Management APIs.
    #[arg(
        long,
        env = "IBMCLOUD_IAM_API_ENDPOINT",
        value_name = "URL",
        default_value = "https://iam.cloud.ibm.com"
    )]
    pub iam_endpoint: String,
    /// User Management API.
    #[arg(
        long,
        env = "IBMCLOUD_USER_MANAGEMENT_ENDPOINT",
        value_name = "URL",
        default_value = "https://user-management.cloud.ibm.com"
    )]
    pub user_management_endpoint: String,
    /// Resource Controller and Resource Manager (service instances, resource groups).
    #[arg(
        long,
        env = "IBMCLOUD_RESOURCE_CONTROLLER_API_ENDPOINT",
        value_name = "URL",
        default_value = "https://resource-controller.cloud.ibm.com"
    )]
    pub resource_controller_endpoint: String,
    /// Read the API key from this file instead of IBMCLOUD_API_KEY / IC_API_KEY.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub parallelism: u32,
    /// Timeout of one request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Run against a built-in sandbox account served in-process (no IBM Cloud needed).
    #[arg(long)]
    pub sandbox: bool,
    /// Seed the sandbox with this emulator state file instead (implies --sandbox).
    #[arg(long, value_name = "FILE")]
    pub sandbox_state: Option<PathBuf>,
}

/// Options of `orgsync emulator` (docs/emulator.md).
#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Allow a --listen address that is not loopback (the admin endpoints are
    /// unauthenticated and return the API keys).
    #[arg(long)]
    pub allow_remote: bool,
    /// Initial state (YAML or JSON); empty account when absent.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the state back to --state after every change (atomically).
    #[arg(long, requires = "state")]
    pub persist: bool,
    /// Seed of the fault injection's random choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Latency added to every API response, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Random extra latency of up to this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub jitter_ms: u64,
    /// Probability of answering 500/503 before any change.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fail_rate: f64,
    /// Probability of closing the connection without answering (half of them after a write).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop_rate: f64,
    /// Requests per second before answering 429 with Retry-After (0: unlimited).
    #[arg(long, default_value_t = 0.0, value_name = "RPS")]
    pub rate_limit: f64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub token_ttl: u64,
    /// How long invitees stay PROCESSING before turning PENDING, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub processing_ms: u64,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`orgsync-COMMAND(1)`); default: orgsync's own.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct HelpArgs {
    /// The command whose help to print; default: orgsync's own.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}
