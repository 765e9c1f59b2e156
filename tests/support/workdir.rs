//! Files a test hands the binary: the text of an `org.yaml`, and a temporary directory to
//! hold it beside the plan files and audit logs the runs write.

use std::path::{Path, PathBuf};

/// The text of an `org.yaml`. `policy` is YAML to put under `policy:` (indented by the
/// caller), or empty; groups are `(name, description)`; users are `(email, groups)`.
pub fn config_yaml(
    account: &str,
    policy: &str,
    groups: &[(String, Option<String>)],
    users: &[(String, Vec<String>)],
) -> String {
    let mut out = format!("version: 1\naccount_id: {account}\n");
    if !policy.trim().is_empty() {
        out.push_str("policy:\n");
        out.push_str(policy);
        if !policy.ends_with('\n') {
            out.push('\n');
        }
    }
    if groups.is_empty() {
        out.push_str("groups: {}\n");
    } else {
        out.push_str("groups:\n");
        for (name, description) in groups {
            match description {
                Some(d) => out.push_str(&format!("  {name}:\n    description: {d:?}\n")),
                None => out.push_str(&format!("  {name}: {{}}\n")),
            }
        }
    }
    if users.is_empty() {
        out.push_str("users: {}\n");
    } else {
        out.push_str("users:\n");
        for (email, groups) in users {
            out.push_str(&format!(
                "  {email}:\n    groups: [{}]\n",
                groups.join(", ")
            ));
        }
    }
    out
}

/// A temporary directory holding the config (and plan files, audit logs).
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// A directory with `org.yaml` holding `config`.
    pub fn new(config: &str) -> Workdir {
        let w = Workdir::empty();
        w.write("org.yaml", config);
        w
    }

    /// A directory with nothing in it.
    pub fn empty() -> Workdir {
        match tempfile::tempdir() {
            Ok(dir) => Workdir { dir },
            Err(e) => panic!("cannot create a temporary directory: {e}"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// [`Workdir::path`] as a command-line argument.
    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn config(&self) -> PathBuf {
        self.path("org.yaml")
    }

    pub fn write(&self, name: &str, text: &str) {
        if let Err(e) = std::fs::write(self.path(name), text) {
            panic!("cannot write {name}: {e}");
        }
    }

    pub fn read(&self, name: &str) -> String {
        match std::fs::read_to_string(self.path(name)) {
            Ok(t) => t,
            Err(e) => panic!("cannot read {name}: {e}"),
        }
    }

    /// The names of the files in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let entries = match std::fs::read_dir(self.root()) {
            Ok(entries) => entries,
            Err(e) => panic!("cannot list {}: {e}", self.root().display()),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
