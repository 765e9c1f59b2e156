//! `include:`: the patterns of the main file → the files they name, read like the main one.
//!
//! A pattern is relative to the main file's directory (an absolute one must name a path
//! inside it). It is split at `/` and expanded one component at a time with
//! `std::fs::read_dir`, so only the directories the pattern names are listed. In a
//! component, `*` matches any run of characters and `?` any one character; every other
//! character matches itself. Hidden names (editor swap files, `.git`) match only a
//! component that starts with `.` itself. Matches are sorted per directory, so the merge
//! order is stable.
//!
//! Included files are confined to the main file's directory tree, after symlinks are
//! resolved: a `..` component, an absolute path elsewhere, or a symlink (to a file or a
//! directory) that leads out of the tree is an error, and nothing outside is read. The
//! files together are bounded by [`MAX_TOTAL_BYTES`] and [`MAX_INCLUDED_FILES`], on top
//! of each file's own limit. See docs/config.md for the rules an included file follows.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use super::diagnostics::{Diagnostic, Diagnostics};
use super::file::{self, Outcome};
use super::raw::{RawIncluded, Reader, Sp};
use super::{MAX_INCLUDED_FILES, MAX_TOTAL_BYTES};

/// The directory tree included files must stay in: the main file's directory, as given
/// and with symlinks resolved.
struct Tree {
    given: PathBuf,
    canonical: PathBuf,
}

impl Tree {
    fn contains(&self, path: &Path) -> bool {
        path.canonicalize()
            .is_ok_and(|c| c.starts_with(&self.canonical))
    }
}

/// The files named by `patterns` (each read at most once, never the main file again) and
/// their contents. A file that cannot be read or parsed is listed but has no contents.
/// `main_bytes` is the main file's size, counted towards [`MAX_TOTAL_BYTES`].
pub(super) fn read_all(
    main: &Path,
    main_bytes: usize,
    patterns: &[Sp<String>],
    diags: &mut Diagnostics,
) -> (Vec<PathBuf>, Vec<RawIncluded>) {
    let given = match main.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(canonical) = given.canonicalize() else {
        for pattern in patterns {
            outside(
                diags,
                pattern,
                "the config file's directory cannot be resolved".to_string(),
            );
        }
        return (Vec::new(), Vec::new());
    };
    let tree = Tree { given, canonical };
    // Canonical paths of the files read so far: a pattern matching the main file or a file
    // another pattern already matched does not read it twice.
    let mut seen: HashSet<PathBuf> = main.canonicalize().into_iter().collect();
    let mut files = Vec::new();
    let mut included = Vec::new();
    let mut total = main_bytes;
    for pattern in patterns {
        let Some(matches) = matching_files(&tree, pattern, diags) else {
            continue;
        };
        for found in matches {
            match found.canonicalize() {
                Ok(canonical) if !canonical.starts_with(&tree.canonical) => {
                    outside(
                        diags,
                        pattern,
                        format!("`{}` resolves to a file outside it", found.display()),
                    );
                    continue;
                }
                Ok(canonical) if !seen.insert(canonical.clone()) => continue,
                _ => {}
            }
            // The main file counts towards the limit.
            if files.len() + 1 > MAX_INCLUDED_FILES {
                diags.push(
                    Diagnostic::new(
                        format!("`include:` names more than {MAX_INCLUDED_FILES} files"),
                        pattern.loc,
                        "too many files",
                    )
                    .hint("merge some of the included files"),
                );
                return (files, included);
            }
            let budget = MAX_TOTAL_BYTES.saturating_sub(total);
            match file::read(&found, Some(pattern.loc), budget, diags) {
                Ok(Outcome::Parsed(parsed)) => {
                    total += parsed.bytes;
                    let mut reader = Reader {
                        diags,
                        file: parsed.file,
                    };
                    included.push(reader.included(&parsed.root));
                }
                Ok(Outcome::OverTotal) => {
                    // The rest would be refused the same way: one problem says it.
                    files.push(found);
                    return (files, included);
                }
                Ok(Outcome::Reported) => {}
                Err(err) => file::cannot_read(diags, &found, &err, Some(pattern.loc)),
            }
            files.push(found);
        }
    }
    (files, included)
}

/// Reports a pattern that reaches outside the config file's directory tree.
fn outside(diags: &mut Diagnostics, pattern: &Sp<String>, why: String) {
    diags.push(
        Diagnostic::new(
            format!(
                "`include: {}` reaches outside the config file's directory",
                pattern.value
            ),
            pattern.loc,
            why,
        )
        .hint(
            "included files must be in the main file's directory or below it, also after \
             following symlinks; move or copy the file there",
        ),
    );
}

/// The files one pattern matches, or `None` when it cannot be expanded (reported).
/// A pattern that matches nothing is reported too, and yields no files.
fn matching_files(
    tree: &Tree,
    pattern: &Sp<String>,
    diags: &mut Diagnostics,
) -> Option<Vec<PathBuf>> {
    let relative = match confine(tree, &pattern.value) {
        Ok(relative) => relative,
        Err(why) => {
            outside(diags, pattern, why);
            return None;
        }
    };
    match expand(tree, &relative) {
        Err(Expand::Outside(why)) => {
            outside(diags, pattern, why);
            None
        }
        Err(Expand::Problem(problem)) => {
            diags.push(
                Diagnostic::new(
                    format!("cannot expand `include: {}`", pattern.value),
                    pattern.loc,
                    problem,
                )
                .hint("patterns are relative to this file's directory; `*` and `?` match within one path component"),
            );
            None
        }
        Ok(matches) => {
            if matches.is_empty() {
                diags.push(
                    Diagnostic::new(
                        format!("`include: {}` matches no file", pattern.value),
                        pattern.loc,
                        format!("nothing matches in {}", tree.given.display()),
                    )
                    .hint(
                        "patterns are relative to this file's directory; fix the pattern or remove it",
                    ),
                );
            }
            Some(matches)
        }
    }
}

/// The pattern relative to the tree: `..` is refused, and an absolute pattern must start
/// with the tree's directory (as given or resolved).
fn confine(tree: &Tree, pattern: &str) -> Result<String, String> {
    let path = Path::new(pattern);
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("`..` leaves the directory".to_string());
    }
    if !path.is_absolute() {
        return Ok(pattern.to_string());
    }
    let given = std::path::absolute(&tree.given).unwrap_or_else(|_| tree.given.clone());
    [given.as_path(), tree.canonical.as_path()]
        .iter()
        .find_map(|dir| path.strip_prefix(dir).ok())
        .map(|rest| rest.to_string_lossy().into_owned())
        .ok_or_else(|| format!("not inside {}", tree.given.display()))
}

enum Expand {
    Outside(String),
    Problem(String),
}

/// Expands a relative pattern in the tree, one component at a time. A literal component
/// is joined without listing its directory; only the last component names files. A
/// directory on the way that resolves outside the tree stops the expansion.
fn expand(tree: &Tree, pattern: &str) -> Result<Vec<PathBuf>, Expand> {
    if pattern.trim().is_empty() {
        return Err(Expand::Problem("empty pattern".to_string()));
    }
    let mut current = vec![tree.given.clone()];
    let parts: Vec<&str> = pattern
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let wildcard = Wildcard::new(part);
        let mut next = Vec::new();
        for dir in &current {
            if !tree.contains(dir) {
                return Err(Expand::Outside(format!(
                    "`{}` resolves to a directory outside it",
                    dir.display()
                )));
            }
            match &wildcard {
                None => {
                    let path = dir.join(part);
                    if last || path.is_dir() {
                        next.push(path);
                    }
                }
                Some(wildcard) => next.extend(wildcard.entries(dir, last)),
            }
            if next.len() > MAX_INCLUDED_FILES {
                return Err(Expand::Problem(format!(
                    "matches more than {MAX_INCLUDED_FILES} files"
                )));
            }
        }
        current = next;
    }
    Ok(current)
}

/// One pattern component with a `*` or `?`; every other character matches itself.
///
/// This matcher is orgsync's own, not `globset` (ripgrep's), which was tried and kept out:
/// globset matches bytes, so its `?` is one byte and `team-?.yaml` would no longer match
/// `team-é.yaml` (ripgrep#635: by design, paths need not be UTF-8); it reads more syntax
/// than docs/config.md promises (`[a-z]`, `{a,b}`, `\` escapes), which would have to be
/// escaped; and it brings five crates (regex-automata among them, about 50 s of a build on
/// two cores) to replace the thirty lines of [`wildcard_match`]. The walk is ours either way.
struct Wildcard<'p> {
    pattern: &'p str,
}

impl<'p> Wildcard<'p> {
    /// `None` for a component without wildcards.
    fn new(part: &'p str) -> Option<Self> {
        part.contains(['*', '?'])
            .then_some(Wildcard { pattern: part })
    }

    /// Hidden names match only a component that starts with `.` itself.
    fn is_match(&self, name: &str) -> bool {
        (self.pattern.starts_with('.') || !name.starts_with('.'))
            && wildcard_match(self.pattern, name)
    }

    /// The matching entries of `dir`, sorted by name: files when `files`, else directories.
    /// An unreadable directory, like a name that is not UTF-8, matches nothing.
    fn entries(&self, dir: &Path, files: bool) -> Vec<PathBuf> {
        let Ok(listing) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(String, PathBuf)> = listing
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
            .filter(|(name, _)| self.is_match(name))
            .filter(|(_, p)| if files { p.is_file() } else { p.is_dir() })
            .collect();
        found.sort();
        found.into_iter().map(|(_, p)| p).collect()
    }
}

/// `*` matches any run of characters, `?` any one character (not byte).
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

    fn matches(pattern: &str, name: &str) -> bool {
        Wildcard::new(pattern)
            .expect("has a wildcard")
            .is_match(name)
    }

    #[test]
    fn wildcards_match_within_a_name() {
        assert!(matches("*.yaml", "team-a.yaml"));
        assert!(matches("team-?.yaml", "team-a.yaml"));
        assert!(matches("*", "x"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(matches("a**b", "aXb"));
        assert!(matches("?", "é"));
        assert!(!matches("*.yaml", "team-a.yml"));
        assert!(!matches("team-?.yaml", "team-ab.yaml"));
        assert!(!matches("a*b", "ac"));
    }

    #[test]
    fn other_glob_syntax_matches_itself() {
        assert!(matches("[ab]*", "[ab].yaml"));
        assert!(!matches("[ab]*", "a.yaml"));
        assert!(matches("{a,b}*", "{a,b}.yaml"));
        assert!(!matches("{a,b}*", "a.yaml"));
        assert!(matches(r"a\*", r"a\b"));
        assert!(!matches(r"a\*", "a*"));
        assert!(matches("!*", "!x"));
    }

    #[test]
    fn hidden_names_match_only_a_component_that_asks_for_them() {
        assert!(!matches("*.yaml", ".draft.yaml"));
        assert!(!matches("?draft.yaml", ".draft.yaml"));
        assert!(matches(".*.yaml", ".draft.yaml"));
    }

    #[test]
    fn expansion_is_sorted_files_only_and_literal_parts_are_not_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let teams = dir.path().join("teams");
        std::fs::create_dir_all(teams.join("sub.yaml")).expect("mkdir");
        for name in ["b.yaml", "a.yaml", ".hidden.yaml", "c.yml"] {
            std::fs::write(teams.join(name), "").expect("write");
        }
        let tree = Tree {
            given: dir.path().to_path_buf(),
            canonical: dir.path().canonicalize().expect("canonical"),
        };
        let names = |pattern: &str| -> Vec<String> {
            expand(&tree, pattern)
                .ok()
                .expect("expands")
                .iter()
                .map(|p| {
                    p.strip_prefix(dir.path())
                        .expect("under base")
                        .display()
                        .to_string()
                })
                .collect()
        };
        assert_eq!(names("teams/*.yaml"), ["teams/a.yaml", "teams/b.yaml"]);
        assert_eq!(names("./t*/./?.yaml"), ["teams/a.yaml", "teams/b.yaml"]);
        // A literal last component is named whether or not it exists: reading it says why not.
        assert_eq!(names("teams/missing.yaml"), ["teams/missing.yaml"]);
        // A literal directory that does not exist matches nothing.
        assert!(names("nowhere/a.yaml").is_empty());
        assert!(matches!(expand(&tree, " "), Err(Expand::Problem(p)) if p == "empty pattern"));
    }
}
