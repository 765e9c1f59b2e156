//! Reading a saved plan (`apply PLANFILE`, `show PLANFILE`) without trusting the path.
//!
//! The file must be a regular file no larger than [`MAX_PLAN_BYTES`]: a FIFO or a device
//! is refused without blocking on it (it is opened non-blocking and checked through the
//! open descriptor, so a swap after a check changes nothing), and a huge or sparse file is
//! refused from its size, not read. A config file passed where a plan belongs is named as
//! such, with the `-c` the person probably meant.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::files::FileKind;
use crate::plan::{Plan, PlanFileError};

/// The largest saved plan read. IBM's limits bound a plan (docs/ibm-api.md, Limits):
/// 7,500 users in at most 50 groups each are 375,000 memberships, and a plan that
/// removes every one and adds as many again has 750,000 membership changes of about 300
/// bytes each as `plan --out` writes them: some 215 MiB. 256 MiB admits any plan the
/// limits allow, and refuses an 8 GB file before reading a byte of it.
pub const MAX_PLAN_BYTES: u64 = 256 * 1024 * 1024;

/// A PLANFILE that cannot be used, with the path and the command that was given it.
#[derive(Debug)]
pub struct BadPlanFile {
    pub path: PathBuf,
    /// `apply` or `show`: what to suggest differs.
    pub command: &'static str,
    pub problem: PlanFileProblem,
}

#[derive(Debug)]
pub enum PlanFileProblem {
    /// The file cannot be opened or read.
    Read(std::io::Error),
    /// Not a regular file.
    NotRegular(FileKind),
    /// Larger than [`MAX_PLAN_BYTES`].
    TooLarge { bytes: u64 },
    /// Not UTF-8, so not JSON.
    NotText,
    /// It reads like an orgsync config file.
    Config,
    /// JSON, but not an orgsync plan of this version.
    Invalid(PlanFileError),
}

impl fmt::Display for BadPlanFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        const WRITE_ONE: &str = "pass a file written by `orgsync plan --out`";
        match &self.problem {
            PlanFileProblem::Read(e) => {
                write!(f, "cannot read the saved plan {path}: {e}; {WRITE_ONE}")
            }
            PlanFileProblem::NotRegular(kind) => write!(
                f,
                "the saved plan {path} is {kind}, not a file orgsync reads plans from; {WRITE_ONE}"
            ),
            PlanFileProblem::TooLarge { bytes } => write!(
                f,
                "the saved plan {path} is {bytes} bytes, larger than any plan can be ({} MiB at most), so it is not one; {WRITE_ONE}",
                MAX_PLAN_BYTES / (1024 * 1024)
            ),
            PlanFileProblem::NotText => write!(
                f,
                "the saved plan {path} is not UTF-8 text, so it is not an orgsync plan; {WRITE_ONE}"
            ),
            PlanFileProblem::Config => {
                write!(
                    f,
                    "{path} looks like an orgsync config file, not a saved plan (a PLANFILE is the JSON that `orgsync plan --out` writes); "
                )?;
                match self.command {
                    "show" => write!(
                        f,
                        "to see what it would change, run `orgsync plan -c {path}`"
                    ),
                    _ => write!(
                        f,
                        "to apply a config file, pass it with -c: `orgsync {} -c {path}`",
                        self.command
                    ),
                }
            }
            PlanFileProblem::Invalid(e) => write!(f, "{path}: {e}"),
        }
    }
}

impl std::error::Error for BadPlanFile {}

/// Reads and parses the plan at `path` for `command` (`apply` or `show`).
pub fn read(path: &Path, command: &'static str) -> Result<Plan, BadPlanFile> {
    let bad = |problem| BadPlanFile {
        path: path.to_path_buf(),
        command,
        problem,
    };
    let bytes = read_bounded(path).map_err(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad(PlanFileProblem::NotText))?;
    match Plan::from_json(&text) {
        Ok(plan) => Ok(plan),
        Err(_) if looks_like_config(&text) => Err(bad(PlanFileProblem::Config)),
        Err(e) => Err(bad(PlanFileProblem::Invalid(e))),
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, PlanFileProblem> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer comes; non-blocking, it returns at
    // once and the descriptor's metadata says what it is. A regular file ignores the flag.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(PlanFileProblem::Read)?;
    let meta = file.metadata().map_err(PlanFileProblem::Read)?;
    if let Some(kind) = FileKind::of(&meta) {
        return Err(PlanFileProblem::NotRegular(kind));
    }
    if meta.len() > MAX_PLAN_BYTES {
        return Err(PlanFileProblem::TooLarge { bytes: meta.len() });
    }
    // The size may change after the check; the read stays bounded all the same.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(PlanFileProblem::Read)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(PlanFileProblem::TooLarge {
            bytes: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Whether text that is not a plan reads like an orgsync config: not a JSON object, and
/// a line that starts with one of the config file's top-level keys (docs/config.md).
fn looks_like_config(text: &str) -> bool {
    const KEYS: [&str; 7] = [
        "version",
        "account_id",
        "groups",
        "users",
        "policy",
        "include",
        "roles",
    ];
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{') {
        return false;
    }
    text.lines().any(|line| {
        KEYS.iter().any(|key| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_is_recognised_and_a_json_document_is_not() {
        assert!(looks_like_config(
            "# org\nversion: 1\naccount_id: 0123\ngroups: {}\n"
        ));
        assert!(looks_like_config("\u{feff}users:\n  a@b.c: {}\n"));
        assert!(!looks_like_config("{\"version\": 1}"));
        assert!(!looks_like_config("hello world\n"));
        assert!(!looks_like_config("  nested: not top-level\n"));
    }

    #[test]
    fn a_file_larger_than_any_plan_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.json");
        let file = std::fs::File::create(&path).unwrap();
        // Sparse: 8 GB that take no disk and would take seconds to read.
        file.set_len(8 * 1024 * 1024 * 1024).unwrap();
        let started = std::time::Instant::now();
        let err = read(&path, "apply").unwrap_err();
        assert!(
            matches!(err.problem, PlanFileProblem::TooLarge { bytes } if bytes == 8 << 30),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_directory_is_not_a_plan() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), "show").unwrap_err();
        assert!(
            matches!(
                err.problem,
                PlanFileProblem::NotRegular(FileKind::Directory)
            ),
            "{err}"
        );
    }

    #[test]
    fn the_config_hint_names_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.yaml");
        std::fs::write(&path, "version: 1\naccount_id: x\n").unwrap();
        let apply = read(&path, "apply").unwrap_err().to_string();
        assert!(apply.contains("`orgsync apply -c "), "{apply}");
        let show = read(&path, "show").unwrap_err().to_string();
        assert!(show.contains("`orgsync plan -c "), "{show}");
    }
}
