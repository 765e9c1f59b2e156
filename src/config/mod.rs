//! The config file (docs/config.md): YAML with places → validated [`DesiredState`].
//!
//! A config file is the one thing a person edits by hand, and a typo in it can invite an
//! outsider or remove a colleague. So nothing is ignored and nothing stops at the first
//! problem: the file is read in stages that each report everything they find, and only a
//! file without problems becomes a [`DesiredState`].
//!
//! 1. [`file`]: bytes → a YAML tree ([`yaml`]) with line and column for every node. Only
//!    regular files are read (never a FIFO or device, which could block forever). Files
//!    over [`MAX_FILE_BYTES`] are refused without being read whole, the first byte that is
//!    not UTF-8 is pointed at, and the tree is built under limits on depth, node count and
//!    alias expansion (a hostile file gets an error, never a hang). A file that does not
//!    look like a config is never shown in a snippet; YAML tags are refused.
//! 2. [`raw`]: tree → the raw types (every unknown key, wrong type and missing key).
//!    [`include`] finds the files `include:` names, inside the main file's directory
//!    tree and within [`MAX_TOTAL_BYTES`] together; they are read the same way.
//! 3. [`validate`]: raw → [`DesiredState`] (every rule of docs/config.md).
//!
//! Problems are [`Diagnostics`]: `file:line:column`, a snippet, a hint. [`load`] returns
//! them as a [`ConfigError`], which also covers a main file that cannot be read at all;
//! it renders for a person ([`ConfigError::render`]), for GitHub Actions
//! ([`ConfigError::render_github`]) or as JSON ([`ConfigError::render_json`]).

mod diagnostics;
pub mod export;
mod file;
mod include;
pub mod raw;
mod syntax;
mod validate;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::DesiredState;

use diagnostics::FileId;
pub use diagnostics::{Diagnostic, Diagnostics};
use raw::{RawConfig, Reader};
use yaml::Node;

/// Files larger than this are refused before parsing: a 10,000-user organization needs
/// about 1 MB, so 5 MB leaves room while keeping a hostile file cheap to reject.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// How many bytes the main file and every included file may hold together: four files at
/// the per-file limit. Without it, many files each under [`MAX_FILE_BYTES`] could take
/// gigabytes of memory.
pub const MAX_TOTAL_BYTES: usize = 20 * 1024 * 1024;

/// How many files `include:` may name in total.
pub const MAX_INCLUDED_FILES: usize = 1_000;

pub use validate::{MAX_CUSTOM_ROLES, MAX_EMAIL_LOCAL_CHARS, MAX_POLICIES_PER_GROUP};

/// How [`ConfigError::render_as`] and [`render_valid`] write problems: for a person
/// (stderr), as GitHub Actions annotations, or as JSON (both for stdout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text { color: bool },
    Github,
    Json,
}

/// A validated config and every file it was read from (the main file first).
#[derive(Debug)]
pub struct LoadedConfig {
    pub desired: DesiredState,
    pub files: Vec<PathBuf>,
}

/// Why [`load`] returned no config.
///
/// [`ConfigError::render`] is what `orgsync validate` prints (plan and apply load the same
/// way): every problem with its place and a hint, then a summary line.
#[derive(Debug)]
pub enum ConfigError {
    /// The file was read and has problems, or the files it includes do (one of which may
    /// be a file that could not be read, reported at the `include:` entry naming it).
    Invalid(Diagnostics),
    /// The operating system would not give us the config file itself.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    /// The problems for a person; `color` adds ANSI styles. [`ConfigError::Io`] renders as
    /// the one diagnostic it is, with its hint (create the file, or pass `-c FILE`).
    pub fn render(&self, color: bool) -> String {
        self.with_diagnostics(|d| d.render(color))
    }

    /// One GitHub Actions annotation per problem (docs/config.md, Problems for CI and
    /// tools), for `orgsync validate --format github`.
    pub fn render_github(&self) -> String {
        self.with_diagnostics(Diagnostics::render_github)
    }

    /// The problems as the JSON document of docs/config.md, for `validate --format json`.
    pub fn render_json(&self) -> String {
        self.with_diagnostics(Diagnostics::render_json)
    }

    pub fn render_as(&self, format: ReportFormat) -> String {
        match format {
            ReportFormat::Text { color } => self.render(color),
            ReportFormat::Github => self.render_github(),
            ReportFormat::Json => self.render_json(),
        }
    }

    fn with_diagnostics(&self, render: impl Fn(&Diagnostics) -> String) -> String {
        match self {
            ConfigError::Invalid(diags) => render(diags),
            ConfigError::Io { path, source } => {
                let mut diags = Diagnostics::new();
                file::cannot_read(&mut diags, path, source, None);
                render(&diags)
            }
        }
    }
}

/// What `validate` prints for a valid file: nothing for text and GitHub, and for JSON
/// `{"valid": true, "count": 0, "problems": []}`.
pub fn render_valid(format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => Diagnostics::new().render_json(),
        ReportFormat::Text { .. } | ReportFormat::Github => String::new(),
    }
}

impl From<Diagnostics> for ConfigError {
    fn from(diags: Diagnostics) -> Self {
        ConfigError::Invalid(diags)
    }
}

/// `Invalid` displays as [`ConfigError::render`] without colour. `Io` displays as one line
/// naming the file; the `io::Error` is its [`source`](std::error::Error::source), so that
/// an error-chain printer shows the cause once.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid(diags) => fmt::Display::fmt(diags, f),
            ConfigError::Io { path, .. } => write!(f, "cannot read `{}`", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Invalid(_) => None,
            ConfigError::Io { source, .. } => Some(source),
        }
    }
}

/// Reads, validates and merges the config at `path` and the files its `include:` names.
/// Every problem is reported at once, a missing or unreadable included file among them.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let mut diags = Diagnostics::new();
    let parsed = file::read(path, None, MAX_TOTAL_BYTES, &mut diags)
        .map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .parsed();
    let main_bytes = parsed.as_ref().map_or(0, |p| p.bytes);
    let raw = read_main(parsed.map(|p| (p.file, p.root)), &mut diags)?;
    let patterns = raw.include.as_deref().unwrap_or_default();
    let (included_files, included) = include::read_all(path, main_bytes, patterns, &mut diags);
    let desired = validate::desired_state(&raw, &included, &mut diags);
    Ok(LoadedConfig {
        desired: finish(desired, diags)?,
        files: std::iter::once(path.to_path_buf())
            .chain(included_files)
            .collect(),
    })
}

/// Validates config text as if it were a file named `file_name`. `include:` patterns are
/// checked for shape but not read (nothing is read from disk).
pub fn parse_str(file_name: &str, text: &str) -> Result<DesiredState, Diagnostics> {
    let mut diags = Diagnostics::new();
    let parsed = file::parse(file_name, text, &mut diags);
    let raw = read_main(parsed, &mut diags)?;
    let desired = validate::desired_state(&raw, &[], &mut diags);
    finish(desired, diags)
}

/// The JSON Schema (draft-07) of the config file, generated from the raw types: pretty,
/// with a trailing newline, exactly as committed in `org.schema.json`.
pub fn schema_json() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<RawConfig>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

/// The main file's tree → its raw config. `parsed` is `None` when the file could not be
/// parsed; its problem is in `diags` and there is nothing more to check.
fn read_main(
    parsed: Option<(FileId, Node)>,
    diags: &mut Diagnostics,
) -> Result<RawConfig, Diagnostics> {
    let Some((file, root)) = parsed else {
        return Err(std::mem::replace(diags, Diagnostics::new()));
    };
    Ok(Reader { diags, file }.config(&root))
}

fn finish(
    desired: Option<DesiredState>,
    mut diags: Diagnostics,
) -> Result<DesiredState, Diagnostics> {
    match desired {
        Some(desired) if diags.is_empty() => Ok(desired),
        _ => {
            diags.sort();
            Err(diags)
        }
    }
}
