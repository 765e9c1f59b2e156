//! The command line of SPEC §4, as clap derive types. Doc comments are the `--help` text;
//! nothing here does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Date;

/// Keep IBM Cloud IAM access-group membership in one reviewed YAML file.
///
/// `orgsync plan` shows how the live account differs from the file; `orgsync apply`
/// sends the invitations and membership changes.
#[derive(Debug, Parser)]
#[command(
    name = "orgsync",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The config file.
    #[arg(
        short = 'c',
        long = "config",
        global = true,
        env = "ORGSYNC_CONFIG",
        default_value = "org.yaml"
    )]
    pub config: PathBuf,

    /// When to colour output (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// More logging on stderr (-v info, -vv each API call, -vvv everything).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
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
    Validate,
    /// Show what apply would change in the live account.
    Plan(PlanArgs),
    /// Make the live account match the file (or a saved plan).
    Apply(ApplyArgs),
    /// Write a config file from the live account.
    Export(ExportArgs),
    /// Serve a local emulator of IBM's token, User Management and Access Groups APIs.
    Emulator(EmulatorArgs),
    /// Print the JSON Schema (draft-07) of the config file.
    Schema,
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

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also write the JSON plan to this file, for `orgsync apply PLANFILE`.
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes, 0 when it has none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan as of this date (YYYY-MM-DD) for expiries; default today in UTC.
    #[arg(long, value_name = "DATE", env = "ORGSYNC_TODAY")]
    pub today: Option<Date>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `orgsync plan --out`; applied only if nothing moved since.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
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
    /// Plan as of this date (YYYY-MM-DD) for expiries; default today in UTC.
    #[arg(long, value_name = "DATE", env = "ORGSYNC_TODAY")]
    pub today: Option<Date>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
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
    /// Write the config here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// How to reach IBM Cloud (or an emulator of it).
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Every API at one base URL, as the emulator serves them.
    #[arg(long, env = "ORGSYNC_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// IAM token service and Access Groups API.
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
    /// Read the API key from this file instead of IBMCLOUD_API_KEY / IC_API_KEY.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
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

/// Options of `orgsync emulator` (SPEC §9).
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
