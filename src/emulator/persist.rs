//! `--persist` and `--sandbox-state`: the state written back to its file after every
//! change (docs/emulator.md, `--persist`).
//!
//! Why a module of its own: writing a user's file is where the emulator can do harm. So
//! the file keeps its format (a YAML file stays YAML, a JSON one JSON, judged by its
//! content as the loader judges it), the first write-back of a process says on stderr what
//! it does (a YAML file loses its comments), the write is atomic through a temporary file
//! created exclusively beside it under an unpredictable name (so nothing planted there is
//! followed or overwritten), and the file keeps its permissions (it holds API keys).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::state::State;

/// The format a state file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// The format of the file at `path` as the loader reads it (JSON when its first
    /// non-blank character is `{`); a file that cannot be read yet goes by its extension.
    pub fn of(path: &Path) -> Format {
        match std::fs::read(path) {
            Ok(bytes) => match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Format::Json,
                _ => Format::Yaml,
            },
            Err(_)
                if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json")) =>
            {
                Format::Json
            }
            Err(_) => Format::Yaml,
        }
    }

    /// The state as this format writes it.
    pub fn render(self, state: &State) -> Result<String, String> {
        let failed =
            |e: &dyn std::fmt::Display| format!("cannot serialize the emulator state: {e}");
        match self {
            Format::Json => serde_json::to_string_pretty(state)
                .map(|s| s + "\n")
                .map_err(|e| failed(&e)),
            Format::Yaml => serde_saphyr::to_string(state)
                .map(|s| format!("{YAML_HEADER}{s}"))
                .map_err(|e| failed(&e)),
        }
    }
}

/// The first lines of a written-back YAML file, so a reader knows why its comments are gone.
const YAML_HEADER: &str = "# The orgsync emulator's state, written back after a change (docs/emulator.md, --persist).\n# Comments are not kept.\n";

/// Writes the state back to one file.
pub struct Persister {
    path: PathBuf,
    format: Format,
    announced: AtomicBool,
}

impl Persister {
    /// A writer for `path`, in the format its current content has.
    pub fn new(path: PathBuf) -> Persister {
        let format = Format::of(&path);
        Persister {
            path,
            format,
            announced: AtomicBool::new(false),
        }
    }

    /// Writes `state`, atomically. The first call of a process says so on stderr.
    pub fn write(&self, state: &State) -> Result<(), String> {
        let text = self.format.render(state)?;
        if !self.announced.swap(true, Ordering::Relaxed) {
            let what = match self.format {
                Format::Yaml => "YAML; comments in it are not kept",
                Format::Json => "JSON",
            };
            anstream::eprintln!(
                "writing the emulator's state back to {} ({what})",
                self.path.display()
            );
        }
        write_atomically(&self.path, text.as_bytes()).map_err(|e| {
            format!(
                "cannot persist the emulator state to {}: {e}; check that its directory is writable",
                self.path.display()
            )
        })
    }
}

/// Writes `bytes` to a new temporary file beside `path` (created exclusively, under an
/// unpredictable name, with `path`'s permissions), then renames it over `path`: a reader,
/// or a crash, sees the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let (tmp, mut file) = create_unique(path, &name)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| match permissions {
            Some(p) => std::fs::set_permissions(&tmp, p),
            None => Ok(()),
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A temporary file beside `path` that did not exist before (`create_new`), named with 64
/// random bits; a few attempts in case of a collision.
fn create_unique(path: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = path.with_file_name(format!(".{name}.{:016x}.tmp", super::ids::random_u64()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::tests_support::QISKIT;

    fn tricky() -> State {
        let mut state = State::parse(QISKIT).expect("valid");
        state.groups[0].description = "010".into();
        state.groups[1].description = "yes: no # not a comment\n  and \"quotes\"".into();
        let mut timed = state.policies[0].clone();
        timed.id = None;
        timed.pattern = Some("time-based-conditions:weekly:custom-hours".into());
        timed.rule = Some(serde_json::json!({"operator": "and", "conditions": [
            {"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf",
             "value": ["1+00:00", "2+00:00"]},
            {"key": "{{environment.attributes.current_time}}", "operator": "timeLessThanOrEquals",
             "value": "17:00:00+00:00"}]}));
        state.policies.push(timed);
        State::parse(&serde_json::to_string(&state).expect("json")).expect("still valid")
    }

    #[test]
    fn yaml_and_json_render_what_loads_back_the_same() {
        let state = tricky();
        for format in [Format::Yaml, Format::Json] {
            let text = format.render(&state).expect("renders");
            let back = State::parse(&text).unwrap_or_else(|e| panic!("{format:?}: {e}\n{text}"));
            assert_eq!(
                serde_json::to_value(&back).expect("json"),
                serde_json::to_value(&state).expect("json"),
                "{format:?}"
            );
            assert_eq!(text.trim_start().starts_with('{'), format == Format::Json);
        }
    }

    #[test]
    fn a_synthetic_account_round_trips_through_yaml() {
        let spec = crate::emulator::Synthetic {
            users: 300,
            groups: 20,
            memberships: 900,
            service_ids_in_groups: 5,
            pending_users: 10,
            seed: 3,
        };
        let state = crate::emulator::synthetic_access(
            &spec,
            &crate::emulator::SyntheticAccess {
                instances: 5,
                policy_groups: 5,
                policies_per_group: 2,
                v1_every: 2,
                custom_roles: 1,
                rule_groups: 2,
                rules_per_group: 2,
                dynamic_members_per_group: 2,
                ..Default::default()
            },
        );
        let text = Format::Yaml.render(&state).expect("renders");
        let back = State::parse(&text).expect("loads back");
        assert_eq!(back, state);
    }

    #[test]
    fn a_file_keeps_its_format_and_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = dir.path().join("state.yaml");
        std::fs::write(&yaml, QISKIT).expect("write");
        let json = dir.path().join("state.yaml.json");
        std::fs::write(&json, "  {\"account_id\": \"x\"}").expect("write");
        assert_eq!(Format::of(&yaml), Format::Yaml);
        assert_eq!(Format::of(&json), Format::Json);
        assert_eq!(Format::of(&dir.path().join("new.json")), Format::Json);
        assert_eq!(Format::of(&dir.path().join("new")), Format::Yaml);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&yaml, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let persister = Persister::new(yaml.clone());
        persister.write(&tricky()).expect("written");
        persister.write(&tricky()).expect("written twice");
        let text = std::fs::read_to_string(&yaml).expect("read");
        assert!(text.starts_with("# The orgsync emulator's state"), "{text}");
        assert!(!text.trim_start().starts_with('{'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&yaml).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
