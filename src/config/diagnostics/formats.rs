//! The same problems for machines: GitHub Actions annotations and JSON
//! (`orgsync validate --format github|json`, docs/config.md, Problems for CI and tools).
//!
//! Both are pure functions of the collected [`Diagnostics`], like the text renderer, so
//! every format reports the same problems at the same places. Text from the file is
//! sanitized the same way (no control characters), and a source that is never shown
//! (an opaque file) is never shown here either: these formats carry places and messages,
//! not snippets.

use serde::Serialize;

use super::{Diagnostic, Diagnostics, Label, MAX_SHOWN, sanitize};

impl Diagnostics {
    /// One GitHub Actions workflow command per problem, `::error file=F,line=L,col=C,
    /// title=T::MESSAGE`, so that the problem appears on the pull request's own line.
    /// A problem with the whole file has no `line`/`col`. The message holds the label,
    /// the hint and the other places on further lines (escaped as `%0A`). At most
    /// [`MAX_SHOWN`] annotations, then one saying how many more there are.
    pub fn render_github(&self) -> String {
        let mut out = String::new();
        for d in self.items.iter().take(MAX_SHOWN) {
            out.push_str(&self.github_one(d));
            out.push('\n');
        }
        if self.items.len() > MAX_SHOWN {
            let more = self.items.len() - MAX_SHOWN;
            out.push_str(&format!(
                "::error title={}::{}\n",
                escape_property("orgsync validate"),
                escape_data(&format!(
                    "... and {more} more problems not shown; run `orgsync validate` locally"
                ))
            ));
        }
        out
    }

    fn github_one(&self, d: &Diagnostic) -> String {
        let mut properties = Vec::new();
        if let Some(primary) = d.primary_label() {
            properties.push(format!(
                "file={}",
                escape_property(&self.file_name(primary))
            ));
            if let Some(pos) = primary.loc.pos {
                properties.push(format!("line={}", pos.line));
                properties.push(format!("col={}", pos.column));
            }
        }
        let message = sanitize(&d.message);
        properties.push(format!("title={}", escape_property(&message)));
        let mut body = message;
        if let Some(primary) = d.primary_label()
            && !primary.note.is_empty()
        {
            body.push_str(&format!(" ({})", sanitize(&primary.note)));
        }
        for other in d.others() {
            body.push_str(&format!(
                "\n{}: {}",
                sanitize(&other.note),
                self.place(other)
            ));
        }
        if let Some(hint) = &d.hint {
            body.push_str(&format!("\nhint: {}", sanitize(hint)));
        }
        format!("::error {}::{}", properties.join(","), escape_data(&body))
    }

    /// The problems as one JSON document (pretty, with a trailing newline):
    ///
    /// ```json
    /// {"valid": false, "count": 1, "problems": [{"file": "org.yaml", "line": 20,
    ///   "column": 14, "message": "...", "label": "...", "hint": "...",
    ///   "also": [{"file": "...", "line": 9, "column": 3, "label": "..."}]}]}
    /// ```
    ///
    /// `line` and `column` are `null` for a problem with the whole file; `hint` is `null`
    /// when there is none; `also` lists the other places (a duplicate's first place, the
    /// `include:` entry naming a file). `count` is every problem; `problems` holds at most
    /// [`MAX_SHOWN`] of them.
    pub fn render_json(&self) -> String {
        let problems = self
            .items
            .iter()
            .take(MAX_SHOWN)
            .map(|d| self.json_one(d))
            .collect();
        report_json(self.items.len(), problems)
    }

    fn json_one(&self, d: &Diagnostic) -> JsonProblem {
        let place = d.primary_label().map(|l| self.json_place(l));
        let place = place.unwrap_or(JsonPlace {
            file: "<config>".to_string(),
            line: None,
            column: None,
            label: String::new(),
        });
        JsonProblem {
            file: place.file,
            line: place.line,
            column: place.column,
            message: sanitize(&d.message),
            label: place.label,
            hint: d.hint.as_deref().map(sanitize),
            also: d.others().map(|l| self.json_place(l)).collect(),
        }
    }

    fn json_place(&self, label: &Label) -> JsonPlace {
        JsonPlace {
            file: self.file_name(label),
            line: label.loc.pos.map(|p| p.line),
            column: label.loc.pos.map(|p| p.column),
            label: sanitize(&label.note),
        }
    }

    fn file_name(&self, label: &Label) -> String {
        self.sources
            .get(label.loc.file)
            .map_or_else(|| "<config>".to_string(), |s| sanitize(&s.name))
    }

    /// `file:line:column`, or the file alone.
    fn place(&self, label: &Label) -> String {
        let name = self.file_name(label);
        match label.loc.pos {
            Some(p) => format!("{name}:{}:{}", p.line, p.column),
            None => name,
        }
    }
}

impl Diagnostic {
    /// Every place but the primary one, in display order.
    fn others(&self) -> impl Iterator<Item = &Label> {
        let primary = self.primary.min(self.labels.len().saturating_sub(1));
        self.labels
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != primary)
            .map(|(_, l)| l)
    }
}

/// The JSON document, its fields in the documented order.
#[derive(Serialize)]
struct JsonReport {
    valid: bool,
    count: usize,
    problems: Vec<JsonProblem>,
}

#[derive(Serialize)]
struct JsonProblem {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
    label: String,
    hint: Option<String>,
    also: Vec<JsonPlace>,
}

#[derive(Serialize)]
struct JsonPlace {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    label: String,
}

/// The JSON document for `count` problems of which `problems` are shown; a valid config
/// is `count` 0.
fn report_json(count: usize, problems: Vec<JsonProblem>) -> String {
    let report = JsonReport {
        valid: count == 0,
        count,
        problems,
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

/// GitHub's escaping of a workflow command's message (actions/toolkit, `escapeData`).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a property value (`escapeProperty`): also `:` and `,`, which
/// would otherwise end the value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::super::Loc;
    use super::*;
    use crate::config::yaml::Pos;
    use serde_json::{Value, json};

    fn at(file: usize, line: usize, column: usize, len: usize) -> Loc {
        Loc {
            file,
            pos: Some(Pos { line, column, len }),
        }
    }

    fn sample() -> Diagnostics {
        let mut d = Diagnostics::new();
        let f = d.add_source("org.yaml", "users:\n  a@x.com: {}\n  A@x.com: {}\n");
        d.push(
            Diagnostic::twice(
                "user `a@x.com` is listed twice",
                at(f, 3, 3, 7),
                at(f, 2, 3, 7),
                "listed",
            )
            .hint("merge the two entries"),
        );
        let whole = d.add_source("teams/a,b.yaml", "");
        d.push(Diagnostic::new(
            "cannot read: 100% gone",
            Loc {
                file: whole,
                pos: None,
            },
            "",
        ));
        d
    }

    #[test]
    fn github_annotations_escape_properties_and_message() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
        assert_eq!(
            sample().render_github(),
            "::error file=org.yaml,line=3,col=3,title=user `a@x.com` is listed twice::\
             user `a@x.com` is listed twice (listed again here)%0A\
             first listed here: org.yaml:2:3%0Ahint: merge the two entries\n\
             ::error file=teams/a%2Cb.yaml,title=cannot read%3A 100%25 gone::cannot read: 100%25 gone\n"
        );
    }

    #[test]
    fn json_has_the_documented_shape() {
        let json: Value = serde_json::from_str(&sample().render_json()).expect("JSON");
        assert_eq!(json["valid"], false);
        assert_eq!(json["count"], 2);
        assert_eq!(
            json["problems"][0],
            json!({
                "file": "org.yaml", "line": 3, "column": 3,
                "message": "user `a@x.com` is listed twice",
                "label": "listed again here",
                "hint": "merge the two entries",
                "also": [{"file": "org.yaml", "line": 2, "column": 3, "label": "first listed here"}],
            })
        );
        assert_eq!(
            json["problems"][1],
            json!({
                "file": "teams/a,b.yaml", "line": null, "column": null,
                "message": "cannot read: 100% gone", "label": "", "hint": null, "also": [],
            })
        );
        assert_eq!(
            Diagnostics::new().render_json(),
            "{\n  \"valid\": true,\n  \"count\": 0,\n  \"problems\": []\n}\n"
        );
    }

    #[test]
    fn machine_formats_carry_no_control_characters_and_no_snippets() {
        let mut d = Diagnostics::new();
        let f = d.add_opaque_source("secret.txt");
        d.push(Diagnostic::new("bad \u{1b}[2J", at(f, 1, 1, 5), "here"));
        let github = d.render_github();
        let json = d.render_json();
        assert!(
            !github.contains('\u{1b}') && !json.contains("\\u001b"),
            "{github}{json}"
        );
        assert!(github.contains("file=secret.txt,line=1,col=1"), "{github}");
    }
}
