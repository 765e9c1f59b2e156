//! One config file from disk to a YAML tree: the size limit, the UTF-8 check and the YAML
//! parse, each problem reported as a diagnostic that points at the file or the bad byte.
//!
//! What the operating system refuses (no such file, no permission) is returned as the
//! `io::Error` instead: for the main file that is [`super::ConfigError::Io`], for an
//! included file a diagnostic at the `include:` entry ([`cannot_read`]).

use std::io::Read;
use std::path::Path;

use super::MAX_FILE_BYTES;
use super::diagnostics::{Diagnostic, Diagnostics, FileId, Loc};
use super::yaml::{self, Node, Pos};

/// Reads and parses one file. `Ok(None)`: a problem with its content was reported.
pub(super) fn read(
    path: &Path,
    diags: &mut Diagnostics,
) -> std::io::Result<Option<(FileId, Node)>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        let loc = whole_file(diags, &name);
        diags.push(
            Diagnostic::new(
                format!("`{name}` is a directory, not a config file"),
                loc,
                "",
            )
            .hint("pass the YAML file itself with `-c FILE`"),
        );
        return Ok(None);
    }
    // Read one byte past the limit: enough to know it is too big, without reading it all.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        let loc = whole_file(diags, &name);
        diags.push(too_big(&name, loc));
        return Ok(None);
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => parse(&name, &text, diags),
        Err(err) => {
            not_utf8(&name, err, diags);
            None
        }
    })
}

/// Reports a file the operating system would not give us. `included_from` is the
/// `include:` entry that named it; `None` for the main file.
pub(super) fn cannot_read(
    diags: &mut Diagnostics,
    path: &Path,
    err: &std::io::Error,
    included_from: Option<Loc>,
) {
    let name = path.display().to_string();
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
    let loc = whole_file(diags, &name);
    let mut d = Diagnostic::new(format!("cannot read `{name}`: {what}"), loc, "").hint(hint);
    if let Some(from) = included_from {
        d = d.also(from, "included here");
    }
    diags.push(d);
}

/// Registers the text for snippets and parses it into a tree.
pub(super) fn parse(name: &str, text: &str, diags: &mut Diagnostics) -> Option<(FileId, Node)> {
    if text.len() > MAX_FILE_BYTES {
        let loc = whole_file(diags, name);
        diags.push(too_big(name, loc));
        return None;
    }
    let file = diags.add_source(name, text);
    match yaml::parse_tree(text) {
        Ok(root) => Some((file, root)),
        Err(err) => {
            let message = syntax_message(&err.message);
            let hint = syntax_hint(&message);
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

/// A place for a problem with the file as a whole (no snippet: there may be no text).
fn whole_file(diags: &mut Diagnostics, name: &str) -> Loc {
    Loc {
        file: diags.add_source(name, ""),
        pos: None,
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

/// Points at the first byte that is not UTF-8, showing the line with it replaced.
fn not_utf8(name: &str, err: std::string::FromUtf8Error, diags: &mut Diagnostics) {
    let valid = err.utf8_error().valid_up_to();
    let bytes = err.into_bytes();
    let prefix = String::from_utf8_lossy(bytes.get(..valid).unwrap_or_default());
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let file = diags.add_source(name, &String::from_utf8_lossy(&bytes));
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
}

/// The YAML library's message in orgsync's words.
fn syntax_message(raw: &str) -> String {
    // The library appends "at line L, column C"; the location is shown separately.
    let message = raw.split(" at line ").next().unwrap_or(raw);
    // Budget breaches come as Debug text; say them in words.
    if message.contains("Depth {") {
        format!("nested deeper than {} levels", yaml::MAX_DEPTH)
    } else if message.contains("Documents {") {
        "more than one YAML document (a second `---`)".to_string()
    } else if message.contains("budget breached") {
        format!(
            "too large: {}",
            message.trim_start_matches("budget breached: ")
        )
    } else {
        message.to_string()
    }
}

fn syntax_hint(message: &str) -> &'static str {
    if message.contains("YAML document") {
        "a config file is one YAML document: remove the `---` line and what follows, or merge the two"
    } else if message.contains("tab") {
        "YAML indents with spaces only: replace the tab characters with spaces"
    } else if ["alias", "nested", "too large", "limit"]
        .iter()
        .any(|w| message.contains(w))
    {
        "the file exceeds orgsync's limits on nesting, size or alias (`*name`) expansion; a config file never needs this much"
    } else {
        "fix the YAML syntax here; a quoted value (\"...\") helps when it contains `:` or `#`"
    }
}
