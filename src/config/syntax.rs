//! Where a YAML syntax error really is, when the library reports it elsewhere.
//!
//! An unclosed `[` or `{` (`groups: [quantum-algorithms` with the `]` forgotten) makes the
//! next lines part of the list, so the YAML library gives up at the next `key:` — a line
//! after the mistake, with a message about a `:` that is not wrong. At the end of the file
//! it does point at the bracket; in the middle it cannot know. [`unclosed_flow`] scans the
//! text up to the error for a `[` or `{` opened on an earlier line and never closed, so
//! the problem can be reported where the bracket was opened (docs/config.md, How problems
//! are reported).
//!
//! The scan is a sketch of YAML's lexical structure, enough to find brackets: comments,
//! quoted scalars (which may span lines inside brackets), block scalars (`|`, `>`), and
//! the rule that outside brackets a `[` opens a list only where a value starts (in
//! `a[1]: x` it is text). It runs only on a file the library already rejected, and only
//! changes where the problem is shown; when it is unsure it finds nothing.

use super::yaml::Pos;

/// The unclosed `[` or `{` the error at `error` is most likely caused by: the innermost
/// one still open there, opened on an earlier line. `None` when there is none.
pub(super) fn unclosed_flow(text: &str, error: Pos) -> Option<(char, Pos)> {
    let mut scan = Scan::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if number > error.line {
            break;
        }
        let upto = if number == error.line {
            error.column.saturating_sub(1)
        } else {
            usize::MAX
        };
        scan.line(number, line, upto)?;
    }
    scan.open
        .last()
        .filter(|(_, pos)| pos.line < error.line)
        .copied()
}

#[derive(Default)]
struct Scan {
    /// Brackets open at this point, outermost first.
    open: Vec<(char, Pos)>,
    /// Inside a quoted scalar that continues on the next line: its quote character.
    quote: Option<char>,
    /// Inside a block scalar: the indentation of the line that opened it.
    block_scalar: Option<usize>,
}

impl Scan {
    /// Scans one line up to character `upto`; `None` when the text makes no sense to the
    /// sketch (a bracket closed by the wrong one), so nothing should be claimed.
    fn line(&mut self, number: usize, line: &str, upto: usize) -> Option<()> {
        let indent = line.chars().take_while(|c| *c == ' ').count();
        if let Some(parent) = self.block_scalar {
            if line.trim().is_empty() || indent > parent {
                return Some(());
            }
            self.block_scalar = None;
        }
        let chars: Vec<char> = line.chars().take(upto).collect();
        // Outside brackets: whether a value may start here (line start, after `- `, `: `).
        let mut value_start = true;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let prev_blank = i == 0 || chars[i - 1] == ' ' || chars[i - 1] == '\t';
            if let Some(q) = self.quote {
                i = close_quote(&chars, i, q).map_or(chars.len(), |end| {
                    self.quote = None;
                    end
                });
                continue;
            }
            let in_flow = !self.open.is_empty();
            match c {
                '#' if prev_blank => break,
                '"' | '\'' if in_flow || value_start => self.quote = Some(c),
                '[' | '{' if in_flow || value_start => {
                    let pos = Pos {
                        line: number,
                        column: i + 1,
                        len: 1,
                    };
                    self.open.push((c, pos));
                }
                ']' | '}' if in_flow => {
                    let (open, _) = self.open.pop()?;
                    if (open, c) != ('[', ']') && (open, c) != ('{', '}') {
                        return None;
                    }
                    value_start = false;
                }
                '|' | '>' if !in_flow && value_start => {
                    let rest: String = chars[i + 1..].iter().collect();
                    let header = rest.split(" #").next().unwrap_or("").trim();
                    if header.chars().all(|h| matches!(h, '+' | '-' | '1'..='9')) {
                        self.block_scalar = Some(indent);
                        return Some(());
                    }
                    value_start = false;
                }
                ' ' | '\t' => {}
                '-' if !in_flow && value_start && next.is_none_or(|n| n == ' ') => {}
                ':' if !in_flow && next.is_none_or(|n| n == ' ') => value_start = true,
                _ if !in_flow => value_start = false,
                _ => {}
            }
            i += 1;
        }
        Some(())
    }
}

/// The index after the quote that closes a scalar quoted with `q`, searching from
/// `from`; `None` when the line ends first. `''` inside single quotes and `\"` inside
/// double quotes are escapes, not the end.
fn close_quote(chars: &[char], from: usize, q: char) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' if q == '"' => i += 2,
            c if c == q => {
                if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Pos {
        Pos {
            line,
            column,
            len: 0,
        }
    }

    fn opened(text: &str, line: usize, column: usize) -> Option<(char, usize, usize)> {
        unclosed_flow(text, at(line, column)).map(|(c, p)| (c, p.line, p.column))
    }

    #[test]
    fn finds_the_bracket_opened_on_an_earlier_line() {
        let text = "users:\n  a@x.com:\n    groups: [one, two\n  b@x.com:\n    groups: []\n";
        assert_eq!(opened(text, 4, 10), Some(('[', 3, 13)));
        let text = "a: {x: 1,\n b: 2\nc: 3\n";
        assert_eq!(opened(text, 3, 2), Some(('{', 1, 4)));
    }

    #[test]
    fn closed_brackets_quotes_comments_and_text_are_not_openers() {
        // Closed on the line, or a multi-line list that is closed.
        assert_eq!(opened("a: [x, y]\nb: 1\n", 2, 2), None);
        assert_eq!(opened("a: [x,\n  y]\nb: [\n", 3, 5), None);
        // Brackets in quotes, comments, plain text and block scalars.
        assert_eq!(opened("a: '[x'\nb: 1\n", 2, 2), None);
        assert_eq!(opened("a: \"[x\\\"\"\nb: 1\n", 2, 2), None);
        assert_eq!(opened("a: x # [\nb: 1\n", 2, 2), None);
        assert_eq!(opened("a: x[1\nb: 1\n", 2, 2), None);
        assert_eq!(opened("a: |\n  [x\nb: 1\n", 3, 2), None);
        assert_eq!(opened("a: 'it''s [x'\nb: 1\n", 2, 2), None);
        // The bracket on the error's own line is where the library already points.
        assert_eq!(opened("a: [x\n", 1, 6), None);
    }

    #[test]
    fn the_innermost_open_bracket_is_reported() {
        let text = "a: [[x], [y\nb: 1\n";
        assert_eq!(opened(text, 2, 2), Some(('[', 1, 10)));
        let text = "a: [x, 'multi\n  line', [y\nb: 1\n";
        assert_eq!(opened(text, 3, 2), Some(('[', 2, 10)));
    }

    #[test]
    fn mismatched_brackets_claim_nothing() {
        assert_eq!(opened("a: [x}\nb: [\nc: 1\n", 3, 2), None);
    }
}
