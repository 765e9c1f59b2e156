//! The config file (SPEC §2): YAML with places → validated [`DesiredState`].
//!
//! A config file is the one thing a person edits by hand, and a typo in it can invite an
//! outsider or remove a colleague. So nothing is ignored and nothing stops at the first
//! problem: the file is read in stages that each report everything they find, and only a
//! file without problems becomes a [`DesiredState`].
//!
//! 1. [`yaml`]: text → a YAML tree with line and column for every node, under limits on
//!    depth, node count and alias expansion (a hostile file gets an error, never a hang).
//!    Before that, this module refuses files over [`MAX_FILE_BYTES`] without reading them
//!    whole, and points at the first byte that is not UTF-8.
//! 2. [`raw`]: tree → the raw types (every unknown key, wrong type and missing key).
//!    `include:` files are read the same way.
//! 3. [`validate`]: raw → [`DesiredState`] (every rule of SPEC §2).
//!
//! Problems are [`Diagnostics`]: `file:line:column`, a snippet, a hint.

mod diagnostics;
pub mod export;
pub mod raw;
mod validate;
pub mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::model::DesiredState;

pub use diagnostics::{Diagnostic, Diagnostics};
use diagnostics::{FileId, Loc};
use raw::Reader;
use yaml::{Node, Pos};

/// Files larger than this are refused before parsing: a 10,000-user organization needs
/// about 1 MB, so 5 MB leaves room while keeping a hostile file cheap to reject.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// How many files `include:` may name in total.
pub const MAX_INCLUDED_FILES: usize = 1_000;

/// A validated config and every file it was read from (the main file first).
#[derive(Debug)]
pub struct LoadedConfig {
    pub desired: DesiredState,
    pub files: Vec<PathBuf>,
}

/// Reads, validates and merges the config at `path` and the files its `include:` names.
/// Every problem, including a missing or unreadable file, is a diagnostic.
pub fn load(path: &Path) -> Result<LoadedConfig, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some((file, root)) = read_file(path, None, &mut diags) else {
        return Err(diags);
    };
    let raw = Reader {
        diags: &mut diags,
        file,
    }
    .config(&root);

    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Canonical paths of the files read so far: a pattern matching the main file or a file
    // another pattern already matched does not read it twice.
    let mut seen: std::collections::HashSet<PathBuf> = path.canonicalize().into_iter().collect();
    let mut files = vec![path.to_path_buf()];
    let mut included = Vec::new();
    for pattern in raw.include.iter().flatten() {
        let matches = match expand_glob(&base, &pattern.value) {
            Ok(m) => m,
            Err(problem) => {
                diags.push(
                    Diagnostic::new(
                        format!("cannot expand `include: {}`", pattern.value),
                        pattern.loc,
                        problem,
                    )
                    .hint("patterns are relative to this file's directory; `*` and `?` match within one path component"),
                );
                continue;
            }
        };
        if matches.is_empty() {
            diags.push(
                Diagnostic::new(
                    format!("`include: {}` matches no file", pattern.value),
                    pattern.loc,
                    format!("nothing matches in {}", base.display()),
                )
                .hint(
                    "patterns are relative to this file's directory; fix the pattern or remove it",
                ),
            );
        }
        for found in matches {
            if let Ok(canonical) = found.canonicalize()
                && !seen.insert(canonical)
            {
                continue;
            }
            if files.len() > MAX_INCLUDED_FILES {
                diags.push(
                    Diagnostic::new(
                        format!("`include:` names more than {MAX_INCLUDED_FILES} files"),
                        pattern.loc,
                        "too many files",
                    )
                    .hint("merge some of the included files"),
                );
                break;
            }
            if let Some((id, root)) = read_file(&found, Some(pattern.loc), &mut diags) {
                included.push(
                    Reader {
                        diags: &mut diags,
                        file: id,
                    }
                    .included(&root),
                );
            }
            files.push(found);
        }
    }

    let desired = validate::desired_state(&raw, &included, &mut diags);
    finish(desired, diags).map(|desired| LoadedConfig { desired, files })
}

/// Validates config text as if it were a file named `file_name`. `include:` patterns are
/// checked for shape but not read (nothing is read from disk).
pub fn parse_str(file_name: &str, text: &str) -> Result<DesiredState, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some((file, root)) = parse_text(file_name, text, &mut diags) else {
        return Err(diags);
    };
    let raw = Reader {
        diags: &mut diags,
        file,
    }
    .config(&root);
    let desired = validate::desired_state(&raw, &[], &mut diags);
    finish(desired, diags)
}

/// The JSON Schema (draft-07) of the config file, generated from the raw types: pretty,
/// with a trailing newline, exactly as committed in `org.schema.json`.
pub fn schema_json() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<raw::RawConfig>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
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

/// Reads one file with the size limit and UTF-8 check, then parses it. `included_from` is
/// the `include:` entry that named it, for the message when it cannot be read.
fn read_file(
    path: &Path,
    included_from: Option<Loc>,
    diags: &mut Diagnostics,
) -> Option<(FileId, Node)> {
    let name = path.display().to_string();
    let whole_file = |diags: &mut Diagnostics| Loc {
        file: diags.add_source(name.clone(), ""),
        pos: None,
    };
    let cannot_read = |diags: &mut Diagnostics, err: std::io::Error| {
        let (what, hint) = match (err.kind(), included_from) {
            (std::io::ErrorKind::NotFound, None) => (
                "no such file".to_string(),
                "create it (start from org.example.yaml), or pass `-c FILE` or set ORGSYNC_CONFIG to use another file",
            ),
            (std::io::ErrorKind::NotFound, Some(_)) => (
                "no such file".to_string(),
                "create the file, or fix the `include:` entry that names it",
            ),
            _ => (
                err.to_string(),
                "check that the path names a readable file, or pass `-c FILE`",
            ),
        };
        let loc = whole_file(diags);
        let mut d = Diagnostic::new(format!("cannot read `{name}`: {what}"), loc, "").hint(hint);
        if let Some(from) = included_from {
            d = d.also(from, "included here");
        }
        diags.push(d);
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(err) => {
            cannot_read(diags, err);
            return None;
        }
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        let loc = whole_file(diags);
        diags.push(
            Diagnostic::new(
                format!("`{name}` is a directory, not a config file"),
                loc,
                "",
            )
            .hint("pass the YAML file itself with `-c FILE`"),
        );
        return None;
    }
    // Read one byte past the limit: enough to know it is too big, without reading it all.
    let mut bytes = Vec::new();
    if let Err(err) = file.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes) {
        cannot_read(diags, err);
        return None;
    }
    if bytes.len() > MAX_FILE_BYTES {
        let loc = whole_file(diags);
        diags.push(too_big(&name, loc));
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => parse_text(&name, &text, diags),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let bytes = err.into_bytes();
            let prefix = String::from_utf8_lossy(bytes.get(..valid).unwrap_or_default());
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let file = diags.add_source(name.clone(), &String::from_utf8_lossy(&bytes));
            diags.push(
                Diagnostic::new(
                    format!("`{name}` is not UTF-8 text"),
                    Loc {
                        file,
                        pos: Some(Pos {
                            line,
                            column,
                            len: 1,
                        }),
                    },
                    format!("invalid byte at offset {valid}"),
                )
                .hint("save the file as UTF-8 (most editors: File → Save with encoding)"),
            );
            None
        }
    }
}

fn too_big(name: &str, loc: Loc) -> Diagnostic {
    Diagnostic::new(
        format!(
            "`{name}` is larger than {} MB",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
        loc,
        "",
    )
    .hint("this is far larger than any organization needs; check that it is the right file, or split it with `include:`")
}

/// Registers the text for snippets and parses it into a tree.
fn parse_text(name: &str, text: &str, diags: &mut Diagnostics) -> Option<(FileId, Node)> {
    if text.len() > MAX_FILE_BYTES {
        let file = diags.add_source(name, "");
        diags.push(too_big(name, Loc { file, pos: None }));
        return None;
    }
    let file = diags.add_source(name, text);
    match yaml::parse_tree(text) {
        Ok(root) => Some((file, root)),
        Err(err) => {
            // The library appends "at line L, column C"; the location is shown separately.
            let message = err
                .message
                .split(" at line ")
                .next()
                .unwrap_or(&err.message)
                .to_string();
            // Budget breaches come as Debug text; say them in words.
            let message = if message.contains("Depth {") {
                format!("nested deeper than {} levels", yaml::MAX_DEPTH)
            } else if message.contains("Documents {") {
                "more than one YAML document (a second `---`)".to_string()
            } else if message.contains("budget breached") {
                format!(
                    "too large: {}",
                    message.trim_start_matches("budget breached: ")
                )
            } else {
                message
            };
            let hint = if message.contains("YAML document") {
                "a config file is one YAML document: remove the `---` line and what follows, or merge the two"
            } else if message.contains("tab") {
                "YAML indents with spaces only: replace the tab characters with spaces"
            } else if message.contains("alias")
                || message.contains("nested")
                || message.contains("too large")
                || message.contains("limit")
            {
                "the file exceeds orgsync's limits on nesting, size or alias (`*name`) expansion; a config file never needs this much"
            } else {
                "fix the YAML syntax here; a quoted value (\"...\") helps when it contains `:` or `#`"
            };
            diags.push(
                Diagnostic::new(
                    format!("invalid YAML: {message}"),
                    Loc { file, pos: err.pos },
                    "here",
                )
                .hint(hint),
            );
            None
        }
    }
}

/// Expands an `include:` pattern relative to `base`. `*` and `?` match within one path
/// component; the rest is literal. Results are sorted so the merge order is stable.
fn expand_glob(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    if pattern.trim().is_empty() {
        return Err("empty pattern".to_string());
    }
    let mut current = vec![if Path::new(pattern).is_absolute() {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    }];
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &current {
            if !part.contains(['*', '?']) {
                let path = dir.join(part);
                if last || path.is_dir() {
                    next.push(path);
                }
                continue;
            }
            let Ok(listing) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<(String, PathBuf)> = listing
                .filter_map(Result::ok)
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                // Hidden files (editor swap files, .git) only when the pattern asks for them.
                .filter(|(n, _)| part.starts_with('.') || !n.starts_with('.'))
                .filter(|(n, _)| wildcard_match(part, n))
                .filter(|(_, p)| if last { p.is_file() } else { p.is_dir() })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|(_, p)| p));
            if next.len() > MAX_INCLUDED_FILES {
                return Err(format!("matches more than {MAX_INCLUDED_FILES} files"));
            }
        }
        current = next;
    }
    Ok(current)
}

/// `*` matches any run of characters, `?` any one character.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Greedy matching with backtracking to the last `*`: linear in practice.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_within_a_name() {
        assert!(wildcard_match("*.yaml", "team-a.yaml"));
        assert!(wildcard_match("team-?.yaml", "team-a.yaml"));
        assert!(wildcard_match("*", "x"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("*.yaml", "team-a.yml"));
        assert!(!wildcard_match("team-?.yaml", "team-ab.yaml"));
        assert!(!wildcard_match("a*b", "ac"));
    }
}
