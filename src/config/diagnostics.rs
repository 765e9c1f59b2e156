//! Config problems as a person wants to read them: `file:line:column`, the offending line
//! with the value underlined, and a hint saying what to do. A duplicate carries a label for
//! each place, possibly in different files.
//!
//! Problems are collected, never thrown: every stage appends here and the caller decides at
//! the end, so one run of `orgsync validate` shows everything that is wrong.
//!
//! The renderer is orgsync's own. `annotate-snippets` (what rustc and cargo render with,
//! already built as a dependency of serde-saphyr) was tried, version 0.12.18, on the cases
//! the snapshots in tests/config/snapshots/ pin, and it cannot produce this format:
//!
//! - In a report's first group, a snippet followed by a message always gets a `  |` line
//!   before `  = hint: …`. In later, title-less groups it does not, but then the first
//!   group (the title alone) ends with a `  |` line of its own.
//! - A second place in one group (the first definition of a duplicate) opens with
//!   ` ::: file:line:col` after a `  |` line, not with a second ` --> file:line:col`.
//! - A problem with the whole file (an `Origin` without a line) gets a gutter of width 0:
//!   `--> file` and ` = hint: …`, not ` --> file` and `  = hint: …`; an empty snippet in
//!   its place adds two `  |` lines instead.
//! - Source lines keep their trailing spaces, and lines longer than the terminal width
//!   (140 by default) are cut with `...`.
//!
//! Matching it would mean post-editing its output, which is more code than this renderer.

mod formats;

use std::fmt;

use super::yaml::Pos;

/// Index of a source file in [`Diagnostics`].
pub(crate) type FileId = usize;

/// A place in a source file. `pos` is `None` for problems with the file as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    pub file: FileId,
    pub pos: Option<Pos>,
}

#[derive(Clone, Debug)]
struct Label {
    loc: Loc,
    note: String,
}

/// One problem: what is wrong, where (one or more places), and what to do.
///
/// The places are shown in the order of `labels`; `primary` is the one the problem is
/// *at* (what to fix: the second definition of a duplicate), which sorts the problem
/// and is where a CI annotation goes.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    message: String,
    labels: Vec<Label>,
    primary: usize,
    hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(message: impl Into<String>, loc: Loc, note: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            labels: vec![Label {
                loc,
                note: note.into(),
            }],
            primary: 0,
            hint: None,
        }
    }

    /// Something given twice: `again` is the later place, `first` the earlier, labelled
    /// "`verb` again here" and "first `verb` here".
    pub(crate) fn twice(message: impl Into<String>, again: Loc, first: Loc, verb: &str) -> Self {
        Diagnostic::duplicate(
            message,
            (first, format!("first {verb} here")),
            (again, format!("{verb} again here")),
        )
    }

    /// A duplicate with its own labels. The first place is shown first, as it is read in
    /// the file; the problem is at the second (the one to remove or merge).
    pub(crate) fn duplicate(
        message: impl Into<String>,
        (first, first_note): (Loc, String),
        (again, again_note): (Loc, String),
    ) -> Self {
        let mut d = Diagnostic::new(message, first, first_note).also(again, again_note);
        d.primary = 1;
        d
    }

    /// Adds another place, e.g. the first definition of a duplicate.
    pub(crate) fn also(mut self, loc: Loc, note: impl Into<String>) -> Self {
        self.labels.push(Label {
            loc,
            note: note.into(),
        });
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The one-line description of the problem.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn sort_key(&self) -> (FileId, usize, usize) {
        self.primary_label().map_or((0, 0, 0), |l| {
            let pos = l.loc.pos.unwrap_or_default();
            (l.loc.file, pos.line, pos.column)
        })
    }

    fn primary_label(&self) -> Option<&Label> {
        self.labels.get(self.primary).or(self.labels.first())
    }
}

struct Source {
    name: String,
    /// Empty for an opaque source ([`Diagnostics::add_opaque_source`]).
    text: String,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Never shown: places in it are named, its lines are not.
    opaque: bool,
}

/// Every problem found in a config file and the files it includes.
pub struct Diagnostics {
    sources: Vec<Source>,
    items: Vec<Diagnostic>,
}

/// Beyond this many problems the rest are counted, not shown: a file that is wrong
/// everywhere (say, the wrong file entirely) should not bury the terminal.
const MAX_SHOWN: usize = 200;

impl Diagnostics {
    /// The first problem's message with its hint, for a one-line reason elsewhere.
    pub(crate) fn first_message(&self) -> Option<String> {
        self.items.first().map(|d| match &d.hint {
            Some(hint) => format!("{} ({hint})", d.message),
            None => d.message.clone(),
        })
    }

    pub(crate) fn new() -> Self {
        Diagnostics {
            sources: Vec::new(),
            items: Vec::new(),
        }
    }

    /// Registers a source file for snippets; `text` may be empty when it could not be read.
    pub(crate) fn add_source(&mut self, name: impl Into<String>, text: &str) -> FileId {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.sources.push(Source {
            name: name.into(),
            text: text.to_string(),
            line_starts,
            opaque: false,
        });
        self.sources.len() - 1
    }

    /// Registers a file whose content must never be printed (it is not UTF-8, is binary,
    /// holds control characters, or does not look like a config file at all: a key file
    /// or `/etc/shadow` named by mistake or by a hostile `include:`). Problems in it name
    /// the file, line and column, without a snippet (docs/config.md, Files orgsync will
    /// not show).
    pub(crate) fn add_opaque_source(&mut self, name: impl Into<String>) -> FileId {
        self.sources.push(Source {
            name: name.into(),
            text: String::new(),
            line_starts: vec![0],
            opaque: true,
        });
        self.sources.len() - 1
    }

    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// The text of a source line (1-based), without its line break.
    pub(crate) fn line_text(&self, file: FileId, line: usize) -> Option<&str> {
        let source = self.sources.get(file).filter(|s| !s.opaque)?;
        let start = *source.line_starts.get(line.checked_sub(1)?)?;
        let end = source
            .line_starts
            .get(line)
            .map_or(source.text.len(), |&next| next.saturating_sub(1));
        source
            .text
            .get(start..end)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }

    /// The source text a scalar node was written as (e.g. `0123` for a value YAML read as
    /// the number 123), so that a string field keeps exactly what was typed.
    pub(crate) fn scalar_text(&self, file: FileId, pos: Pos) -> Option<String> {
        if pos.len == 0 {
            return None;
        }
        let line = self.line_text(file, pos.line)?;
        let text: String = line
            .chars()
            .skip(pos.column.checked_sub(1)?)
            .take(pos.len)
            .collect();
        (text.chars().count() == pos.len).then_some(text)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Puts problems in file order (stable, so problems at one place keep their order).
    pub(crate) fn sort(&mut self) {
        self.items.sort_by_key(Diagnostic::sort_key);
    }

    /// Renders every problem, then a summary line. `color` adds ANSI styles.
    pub fn render(&self, color: bool) -> String {
        let st = Styles::new(color);
        let mut out = String::new();
        for diagnostic in self.items.iter().take(MAX_SHOWN) {
            self.render_one(&mut out, diagnostic, &st);
            out.push('\n');
        }
        if self.items.len() > MAX_SHOWN {
            out.push_str(&format!(
                "... and {} more problems not shown.\n",
                self.items.len() - MAX_SHOWN
            ));
        }
        let files: Vec<&str> = {
            let mut names: Vec<&str> = Vec::new();
            for item in &self.items {
                for label in &item.labels {
                    if let Some(source) = self.sources.get(label.loc.file)
                        && !names.contains(&source.name.as_str())
                    {
                        names.push(&source.name);
                    }
                }
            }
            names
        };
        let count = self.items.len();
        out.push_str(&format!(
            "{}error{}: {} problem{} in {}; fix {} and run `orgsync validate` again.\n",
            st.error.render(),
            st.error.render_reset(),
            count,
            if count == 1 { "" } else { "s" },
            if files.is_empty() {
                "the config".to_string()
            } else {
                files
                    .iter()
                    .map(|f| sanitize(f))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if count == 1 { "it" } else { "them" },
        ));
        out
    }

    fn render_one(&self, out: &mut String, d: &Diagnostic, st: &Styles) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "{}error{}: {}{}{}",
            st.error.render(),
            st.error.render_reset(),
            st.bold.render(),
            sanitize(&d.message),
            st.bold.render_reset()
        );
        let gutter = d
            .labels
            .iter()
            .filter_map(|l| l.loc.pos.map(|p| p.line.to_string().len()))
            .max()
            .unwrap_or(1);
        for label in &d.labels {
            self.render_label(out, label, gutter, st);
        }
        if let Some(hint) = &d.hint {
            let _ = writeln!(
                out,
                "{} {}={} {}hint{}: {}",
                " ".repeat(gutter),
                st.blue.render(),
                st.blue.render_reset(),
                st.bold.render(),
                st.bold.render_reset(),
                sanitize(hint)
            );
        }
    }

    /// One place: ` --> file:line:column`, then the line with the value underlined and the
    /// note beside it; for the whole file, just the name and the note.
    fn render_label(&self, out: &mut String, label: &Label, gutter: usize, st: &Styles) {
        use std::fmt::Write;
        let pad = " ".repeat(gutter);
        let (blue, blue_end) = (st.blue.render(), st.blue.render_reset());
        let name = self
            .sources
            .get(label.loc.file)
            .map_or("<config>", |s| s.name.as_str());
        let place = label
            .loc
            .pos
            .map_or(String::new(), |p| format!(":{}:{}", p.line, p.column));
        let _ = writeln!(out, "{pad}{blue}-->{blue_end} {}{place}", sanitize(name));
        let snippet = label
            .loc
            .pos
            .and_then(|p| Some((p, self.line_text(label.loc.file, p.line)?)));
        let Some((p, text)) = snippet else {
            if !label.note.is_empty() {
                let _ = writeln!(out, "{pad} {blue}={blue_end} {}", sanitize(&label.note));
            }
            return;
        };
        let shown = sanitize(text);
        let width = shown.chars().count();
        let start = p.column.saturating_sub(1).min(width);
        let len = p.len.clamp(1, width.saturating_sub(start).max(1));
        let note = if label.note.is_empty() {
            String::new()
        } else {
            format!(" {}", sanitize(&label.note))
        };
        let _ = writeln!(out, "{pad} {blue}|{blue_end}");
        let _ = writeln!(
            out,
            "{blue}{:>gutter$} |{blue_end} {}",
            p.line,
            shown.trim_end()
        );
        let _ = writeln!(
            out,
            "{pad} {blue}|{blue_end} {}{}{}{}{}",
            " ".repeat(start),
            st.error.render(),
            "^".repeat(len),
            note,
            st.error.render_reset()
        );
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.items.iter().map(|d| &d.message))
            .finish()
    }
}

/// Control characters from a file never reach the terminal: a hostile config could
/// otherwise rewrite the screen of whoever validates it.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

struct Styles {
    error: anstyle::Style,
    bold: anstyle::Style,
    blue: anstyle::Style,
}

impl Styles {
    fn new(color: bool) -> Self {
        if !color {
            let plain = anstyle::Style::new();
            return Styles {
                error: plain,
                bold: plain,
                blue: plain,
            };
        }
        Styles {
            error: anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Red.into())),
            bold: anstyle::Style::new().bold(),
            blue: anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Blue.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: FileId, line: usize, column: usize, len: usize) -> Loc {
        Loc {
            file,
            pos: Some(Pos { line, column, len }),
        }
    }

    #[test]
    fn renders_location_snippet_underline_and_hint() {
        let mut d = Diagnostics::new();
        let f = d.add_source("org.yaml", "version: 1\naccount_id: xyz\n");
        d.push(
            Diagnostic::new("bad account id", at(f, 2, 13, 3), "not 32 hex characters")
                .hint("copy it from the console"),
        );
        assert_eq!(
            d.render(false),
            "error: bad account id\n --> org.yaml:2:13\n  |\n2 | account_id: xyz\n  |             ^^^ not 32 hex characters\n  = hint: copy it from the console\n\nerror: 1 problem in org.yaml; fix it and run `orgsync validate` again.\n"
        );
    }

    #[test]
    fn duplicate_shows_both_places_even_across_files() {
        let mut d = Diagnostics::new();
        let a = d.add_source("a.yaml", "x\n");
        let b = d.add_source("b.yaml", "y\nx\n");
        d.push(
            Diagnostic::new("x twice", at(b, 2, 1, 1), "again here").also(at(a, 1, 1, 1), "first"),
        );
        let text = d.render(false);
        assert!(text.contains("--> b.yaml:2:1"), "{text}");
        assert!(text.contains("--> a.yaml:1:1"), "{text}");
        assert!(text.contains("1 problem in b.yaml, a.yaml"), "{text}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut d = Diagnostics::new();
        let f = d.add_source("org.yaml", "a: \u{1b}[2J\n");
        d.push(Diagnostic::new("bad \u{1b}[31m", at(f, 1, 4, 4), ""));
        let text = d.render(false);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(d.render(true).contains('\u{1b}'));
    }

    #[test]
    fn scalar_text_is_what_was_typed() {
        let mut d = Diagnostics::new();
        let f = d.add_source("org.yaml", "a: 0123\n");
        assert_eq!(
            d.scalar_text(
                f,
                Pos {
                    line: 1,
                    column: 4,
                    len: 4
                }
            )
            .as_deref(),
            Some("0123")
        );
    }
}
