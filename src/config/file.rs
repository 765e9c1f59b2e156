//! One config file from disk to a YAML tree: what may be read (regular files only, never
//! a pipe or device), the size limits, the UTF-8 check and the YAML parse, each problem
//! reported as a diagnostic that points at the file or the bad byte.
//!
//! What the operating system refuses (no such file, no permission) is returned as the
//! `io::Error` instead: for the main file that is [`super::ConfigError::Io`], for an
//! included file a diagnostic at the `include:` entry ([`cannot_read`]).
//!
//! A file that is not a config file at all (binary, not UTF-8, or without a single line a
//! config file has) is registered as opaque: its problems name the place but never show
//! its text, because the file may be a key file or `/etc/shadow` that a typo or a hostile
//! `include:` named (docs/config.md, Files orgsync will not show).

use std::io::Read;
use std::path::Path;

use super::diagnostics::{Diagnostic, Diagnostics, FileId, Loc};
use super::raw::{CONFIG_KEYS, INCLUDED_KEYS};
use super::yaml::{self, Node, Pos, Value};
use super::{MAX_FILE_BYTES, MAX_TOTAL_BYTES, syntax};

/// A file read and parsed: its id for diagnostics, its tree, and how many bytes it had.
pub(super) struct Parsed {
    pub file: FileId,
    pub root: Node,
    pub bytes: usize,
}

/// What became of a file [`read`] was given.
pub(super) enum Outcome {
    Parsed(Parsed),
    /// A problem with it was reported.
    Reported,
    /// It would exceed [`MAX_TOTAL_BYTES`] (reported): read no more files.
    OverTotal,
}

impl Outcome {
    pub fn parsed(self) -> Option<Parsed> {
        match self {
            Outcome::Parsed(p) => Some(p),
            _ => None,
        }
    }
}

/// Reads and parses one file. `included_from` is the `include:` entry naming it (`None`
/// for the main file); `budget` the bytes that all files read so far leave of
/// [`MAX_TOTAL_BYTES`].
pub(super) fn read(
    path: &Path,
    included_from: Option<Loc>,
    budget: usize,
    diags: &mut Diagnostics,
) -> std::io::Result<Outcome> {
    let name = path.display().to_string();
    let refuse = |diags: &mut Diagnostics, d: Diagnostic| {
        diags.push(match included_from {
            Some(from) => d.also(from, "included here"),
            None => d,
        });
    };
    // `metadata` follows symlinks without opening: a FIFO is refused before an `open` that
    // would wait for a writer.
    if let Some(d) = not_regular(&std::fs::metadata(path)?, &name, included_from, diags) {
        refuse(diags, d);
        return Ok(Outcome::Reported);
    }
    let file = open_without_blocking(path)?;
    // The path may have changed between the two looks; the open file is what is read.
    if let Some(d) = not_regular(&file.metadata()?, &name, included_from, diags) {
        refuse(diags, d);
        return Ok(Outcome::Reported);
    }
    // Read one byte past the limit: enough to know it is too big, without reading it all.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        let loc = whole_file(diags, &name);
        refuse(diags, too_big(&name, loc));
        return Ok(Outcome::Reported);
    }
    if bytes.len() > budget {
        let loc = whole_file(diags, &name);
        refuse(diags, total_too_big(&name, loc));
        return Ok(Outcome::OverTotal);
    }
    let size = bytes.len();
    Ok(match String::from_utf8(bytes) {
        Ok(text) => match parse(&name, &text, diags) {
            Some((file, root)) => Outcome::Parsed(Parsed {
                file,
                root,
                bytes: size,
            }),
            None => Outcome::Reported,
        },
        Err(err) => {
            not_utf8(&name, err, diags);
            Outcome::Reported
        }
    })
}

/// Opens for reading. On Unix with `O_NONBLOCK`, so that even a FIFO swapped in after the
/// `metadata` check cannot make `open` wait; reads of a regular file are unaffected.
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// A problem when `meta` is not a regular file: a directory, a FIFO, a device, a socket.
fn not_regular(
    meta: &std::fs::Metadata,
    name: &str,
    included_from: Option<Loc>,
    diags: &mut Diagnostics,
) -> Option<Diagnostic> {
    if meta.is_file() {
        return None;
    }
    let loc = whole_file(diags, name);
    if meta.is_dir() {
        let hint = match included_from {
            None => "pass the YAML file itself with `-c FILE`",
            Some(_) => "name the files in it, e.g. `teams/*.yaml`",
        };
        return Some(
            Diagnostic::new(
                format!("`{name}` is a directory, not a config file"),
                loc,
                "",
            )
            .hint(hint),
        );
    }
    Some(
        Diagnostic::new(
            format!("`{name}` is {}, not a regular file", special_kind(meta)),
            loc,
            "",
        )
        .hint(
            "orgsync reads config files only from regular files, never from a pipe, device \
             or socket (reading one could wait forever); name the YAML file itself",
        ),
    )
}

fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "a special file"
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

/// Registers the text for snippets (or as opaque, see the module doc) and parses it into
/// a tree. Tags in the tree are reported here; the tree is still returned, so that the
/// file's other problems are found too.
pub(super) fn parse(name: &str, text: &str, diags: &mut Diagnostics) -> Option<(FileId, Node)> {
    if text.len() > MAX_FILE_BYTES {
        let loc = whole_file(diags, name);
        diags.push(too_big(name, loc));
        return None;
    }
    if text.contains('\0') {
        let file = diags.add_opaque_source(name);
        diags.push(
            Diagnostic::new(
                format!("`{name}` is not a text file (it contains NUL bytes)"),
                Loc { file, pos: None },
                "",
            )
            .hint("a config file is YAML text; check that the path names the right file (its content is not shown)"),
        );
        return None;
    }
    let content = text.lines().any(|l| {
        let l = l.trim_start_matches('\u{feff}').trim();
        !l.is_empty() && !l.starts_with('#')
    });
    if content && !looks_like_config(text) {
        // Not walked at all: a message about its keys or values would print its text.
        let file = diags.add_opaque_source(name);
        diags.push(
            Diagnostic::new(
                format!("`{name}` does not look like an orgsync config file"),
                Loc { file, pos: None },
                "",
            )
            .hint(
                "a config file is YAML with top-level keys such as `version:`, `groups:` and \
                 `users:`; check that `-c` or `include:` names the right file (its content is \
                 not shown: it may be anything, a key file included)",
            ),
        );
        return None;
    }
    // Control characters (other than tabs and line breaks) are not text a person wrote:
    // the file is read, but never shown.
    let controls = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    let file = if controls {
        diags.add_opaque_source(name)
    } else {
        diags.add_source(name, text)
    };
    match yaml::parse_tree(text) {
        Ok(root) => {
            report_tags(text, file, &root, diags);
            Some((file, root))
        }
        Err(err) => {
            diags.push(syntax_error(text, file, &err, controls));
            None
        }
    }
}

/// Whether a file has a line a config file has: a top-level key (or a near miss of one),
/// at any depth, as a list item, quoted or in a flow mapping (a config written as JSON).
/// A key file, an environment dump or `/etc/shadow` has none.
fn looks_like_config(text: &str) -> bool {
    let known = || CONFIG_KEYS.iter().chain(INCLUDED_KEYS).copied();
    text.lines().any(|line| {
        known().any(|k| has_key(line, k)) || {
            // A near miss of a key (`user:`) as a line's first word.
            let first = line.trim_start().trim_start_matches("- ");
            let word: String = first
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            !word.is_empty()
                && is_key_end(&first[word.len()..])
                && super::validate::closest(&word, known()).is_some()
        }
    })
}

/// Whether `line` has `key` as a mapping key: plain or quoted, after the line start, a
/// blank, `{`, `,` or `-`, and followed by `:` and a blank or the end of the line (as
/// YAML needs: `users:x:100` in /etc/group is one scalar, not a key).
fn has_key(line: &str, key: &str) -> bool {
    [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .any(|form| {
            line.match_indices(form.as_str()).any(|(i, _)| {
                let before = line[..i].trim_end_matches('\u{feff}').chars().next_back();
                before.is_none_or(|c| matches!(c, ' ' | '\t' | '{' | ',' | '-'))
                    && is_key_end(&line[i + form.len()..])
            })
        })
}

/// `:` followed by a blank or the end of the line.
fn is_key_end(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r']))
}

/// A YAML syntax error as a diagnostic, at the unclosed bracket that caused it when there
/// is one ([`syntax::unclosed_flow`]).
fn syntax_error(text: &str, file: FileId, err: &yaml::ParseError, opaque: bool) -> Diagnostic {
    let message = syntax_message(&err.message);
    let at = Loc { file, pos: err.pos };
    if !opaque
        && let Some(pos) = err.pos
        && let Some((bracket, opened)) = syntax::unclosed_flow(text, pos)
    {
        let (what, close) = if bracket == '[' {
            ("list", ']')
        } else {
            ("mapping", '}')
        };
        return Diagnostic::new(
            format!("invalid YAML: this `{bracket}` is never closed"),
            Loc {
                file,
                pos: Some(opened),
            },
            format!("the {what} opened here has no `{close}`"),
        )
        .also(at, format!("so the YAML parser stopped here: {message}"))
        .hint(format!(
            "close the {what} with `{close}`, e.g. `{}`, or remove the `{bracket}`",
            if bracket == '[' {
                "groups: [a, b]"
            } else {
                "a: {description: x}"
            }
        ));
    }
    // A tag the library cannot apply (`!!timestamp`, `!!int abc`) fails the parse itself.
    if (message.contains("YAML tag") || message.starts_with("invalid "))
        && !opaque
        && let Some((tag, pos)) = err.pos.and_then(|p| tag_before(text, p))
    {
        return Diagnostic::new(
            format!("YAML tag `{tag}` is not allowed in a config file"),
            Loc {
                file,
                pos: Some(pos),
            },
            "explicit tag",
        )
        .hint(TAG_HINT);
    }
    let label = if opaque {
        "here (the line is not shown: the file holds control characters)"
    } else {
        "here"
    };
    Diagnostic::new(format!("invalid YAML: {message}"), at, label).hint(syntax_hint(&message))
}

const TAG_HINT: &str = "remove the tag: orgsync reads plain values only, because a tag can make \
    a value mean something else than it reads (`!!binary` decodes base64); quote a value to \
    keep it text";

/// The last tag (`!…` after a blank or at the line start) before `pos` on its line.
fn tag_before(text: &str, pos: Pos) -> Option<(String, Pos)> {
    let line = text.lines().nth(pos.line.checked_sub(1)?)?;
    let chars: Vec<char> = line.chars().take(pos.column.saturating_sub(1)).collect();
    let start = (0..chars.len()).rev().find(|&i| {
        chars[i] == '!' && (i == 0 || matches!(chars[i - 1], ' ' | '\t' | '[' | '{' | ','))
    })?;
    let tag: String = chars[start..]
        .iter()
        .take_while(|c| !c.is_whitespace())
        .collect();
    Some((
        tag.clone(),
        Pos {
            line: pos.line,
            column: start + 1,
            len: tag.chars().count(),
        },
    ))
}

/// Every explicit tag (`!!binary`, `!!timestamp`, `!foo`, even `!!str`) is a problem: a
/// tag can make a value decode to something else than what a reviewer reads (`!!binary`
/// turns base64 into text), and a config file never needs one.
fn report_tags(text: &str, file: FileId, root: &Node, diags: &mut Diagnostics) {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match &node.value {
            Value::Seq(items) => stack.extend(items.iter().rev()),
            Value::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    stack.push(v);
                    stack.push(k);
                }
            }
            _ => {}
        }
        let Some(tag) = &node.tag else { continue };
        if !seen.insert((tag.clone(), node.pos.line, node.pos.column)) {
            continue;
        }
        let spelled = yaml::tag_spelling(tag);
        let pos = tag_pos(text, node.pos, &spelled).unwrap_or(node.pos);
        diags.push(
            Diagnostic::new(
                format!("YAML tag `{spelled}` is not allowed in a config file"),
                Loc {
                    file,
                    pos: Some(pos),
                },
                "explicit tag",
            )
            .hint(TAG_HINT),
        );
    }
}

/// Where `spelled` is written before the node at `pos` on its line, if it is.
fn tag_pos(text: &str, pos: Pos, spelled: &str) -> Option<Pos> {
    let line = text.lines().nth(pos.line.checked_sub(1)?)?;
    let before: String = line.chars().take(pos.column.saturating_sub(1)).collect();
    let byte = before.rfind(spelled)?;
    Some(Pos {
        line: pos.line,
        column: before[..byte].chars().count() + 1,
        len: spelled.chars().count(),
    })
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

fn total_too_big(name: &str, loc: Loc) -> Diagnostic {
    Diagnostic::new(
        format!(
            "reading `{name}` would take the config and its included files past {} MB",
            MAX_TOTAL_BYTES / (1024 * 1024)
        ),
        loc,
        "",
    )
    .hint("no organization needs this much; check that `include:` names only the files you mean")
}

/// Points at the first byte that is not UTF-8, by line and column, without showing the
/// line: a file that is not text may be anything, secrets included.
fn not_utf8(name: &str, err: std::string::FromUtf8Error, diags: &mut Diagnostics) {
    let valid = err.utf8_error().valid_up_to();
    let bytes = err.into_bytes();
    let prefix = String::from_utf8_lossy(bytes.get(..valid).unwrap_or_default());
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let byte = bytes.get(valid).copied().unwrap_or_default();
    let file = diags.add_opaque_source(name);
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
            format!("byte 0x{byte:02X} at offset {valid} is not UTF-8"),
        )
        .hint("save the file as UTF-8 (most editors: File → Save with encoding); its content is not shown, as it may not be a config file at all"),
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
    } else if message.contains("tagged") || message.contains("tag ") {
        "a YAML tag (`!!timestamp`, `!!binary`, `!name`) that orgsync does not accept".to_string()
    } else {
        message.to_string()
    }
}

fn syntax_hint(message: &str) -> &'static str {
    if message.contains("YAML document") {
        "a config file is one YAML document: remove the `---` line and what follows, or merge the two"
    } else if message.contains("tab") {
        "YAML indents with spaces only: replace the tab characters with spaces"
    } else if message.contains("YAML tag") {
        "remove the tag: orgsync reads plain values only; quote a value to keep it text"
    } else if ["alias", "nested", "too large", "limit"]
        .iter()
        .any(|w| message.contains(w))
    {
        "the file exceeds orgsync's limits on nesting, size or alias (`*name`) expansion; a config file never needs this much"
    } else {
        "fix the YAML syntax here; a quoted value (\"...\") helps when it contains `:` or `#`"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_looks_like_a_config_when_it_has_a_config_key() {
        assert!(looks_like_config("version: 1\n"));
        assert!(looks_like_config("# team\ngroups:\n  a: {}\n"));
        // A renamed key, a list of keys, one flow mapping: a config of the wrong shape.
        assert!(looks_like_config("user:\n  a@x.com: {}\n"));
        assert!(looks_like_config("- version: 1\n"));
        assert!(looks_like_config(
            "{version: 1, account_id: x, groups: {}, users: {}}\n"
        ));
        assert!(looks_like_config("{\"version\": 1, \"groups\": {}}\n"));
        assert!(looks_like_config("'users': {}\n"));
        // A key file, an environment, /etc/shadow and /etc/group, plain text.
        assert!(!looks_like_config("sk-0123456789abcdef\n"));
        assert!(!looks_like_config("IBMCLOUD_API_KEY=abc\nHOME=/root\n"));
        assert!(!looks_like_config("root:$6$salt$hash:19000:0:99999:7:::\n"));
        assert!(!looks_like_config("users:x:100:alice\n"));
        assert!(!looks_like_config("- just text\n"));
    }

    #[test]
    fn a_tag_is_located_where_it_is_written() {
        let text = "a: !!binary aGVsbG8=\n";
        let pos = Pos {
            line: 1,
            column: 13,
            len: 8,
        };
        assert_eq!(
            tag_pos(text, pos, "!!binary"),
            Some(Pos {
                line: 1,
                column: 4,
                len: 8
            })
        );
        assert_eq!(tag_pos(text, pos, "!other"), None);
    }
}
