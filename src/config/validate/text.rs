//! Text that looks right but is not: emails with invisible or look-alike characters,
//! names with odd spaces, dates that do not exist (docs/config.md, users and groups).
//!
//! The rules are strict on purpose. A reviewer reads a pull request, not bytes: an email
//! with a zero-width space or a Cyrillic `а` reads as `alice@example.com` and would
//! invite a second, different person; `Public\u{a0}Access` reads as the reserved group.
//! So:
//!
//! - **Emails are printable ASCII**, at most 64 characters before the `@` (RFC 5321
//!   §4.5.3.1.1), a domain of letters, digits and hyphens in dot-separated labels of at
//!   most 63 characters, 254 characters in all. An internationalized domain is written
//!   in its ASCII form (`xn--…`, as IBM's invitation mail would address it); a non-ASCII
//!   local part (SMTPUTF8) is refused, as IBM Cloud IDs are ASCII in practice and the
//!   look-alike risk is the same. The rule is simple to state and to review.
//! - **Names** (of groups, rules, instances, resource groups) may be any text, as IBM
//!   allows, but their spaces are single ordinary spaces (U+0020) between words, and
//!   they hold no invisible characters (zero-width, bidirectional controls, soft hyphen,
//!   BOM): two names that differ only there are indistinguishable on screen.

use crate::model::Date;

use super::super::diagnostics::Loc;
use super::super::yaml::Pos;

/// RFC 5321: at most 64 characters before the `@`.
pub const MAX_EMAIL_LOCAL_CHARS: usize = 64;
/// RFC 5321 (a path of 256 octets less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Why a string is not an acceptable email address, if it is not. Leading and trailing
/// ASCII spaces are ignored; everything else must be printable ASCII (the module doc
/// says why). The reason is static so that export can say it too.
pub fn email_problem(raw: &str) -> Option<&'static str> {
    let email = raw.trim_matches([' ', '\t']);
    if email.is_empty() {
        return Some("empty");
    }
    if email
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Some("contains a space");
    }
    if !email.is_ascii() {
        return Some(
            "contains a character that is not printable ASCII (invisible, or a look-alike of a letter)",
        );
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("no `@`");
    };
    if domain.contains('@') {
        return Some("more than one `@`");
    }
    if local.is_empty() {
        return Some("nothing before the `@`");
    }
    if local.len() > MAX_EMAIL_LOCAL_CHARS {
        return Some("more than 64 characters before the `@` (the limit of RFC 5321)");
    }
    if email.len() > MAX_EMAIL_CHARS {
        return Some("longer than 254 characters (the limit of RFC 5321)");
    }
    domain_problem(domain)
}

/// Why `domain` (after the `@`, or in `allowed_domains`) is not a host name.
pub fn domain_problem(domain: &str) -> Option<&'static str> {
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Some("the domain is not of the form example.com");
    }
    if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Some("the domain has characters other than letters, digits, `-` and `.`");
    }
    if domain.split('.').any(|label| label.len() > 63) {
        return Some("a part of the domain is longer than 63 characters");
    }
    None
}

/// Why a name is refused, if it is: an empty name, spaces at either end, two spaces in a
/// row, a space other than U+0020, an invisible character.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        return Some("empty");
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return Some("starts or ends with a space");
    }
    if name.chars().any(|c| c.is_whitespace() && c != ' ') {
        return Some("contains a space other than the ordinary one (a tab, a no-break space)");
    }
    if name.contains("  ") {
        return Some("contains two spaces in a row");
    }
    if name.chars().any(is_invisible) {
        return Some("contains an invisible character");
    }
    None
}

/// The first character of `text` that makes it look like something else, with its index
/// (in characters): invisible, a space other than U+0020, or (when `ascii_only`) any
/// non-ASCII character.
pub fn first_odd_char(text: &str, ascii_only: bool) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|&(_, c)| is_odd(c) || (ascii_only && !c.is_ascii()))
}

/// An invisible character or a space other than U+0020.
pub fn is_odd(c: char) -> bool {
    is_invisible(c) || (c.is_whitespace() && c != ' ')
}

/// A character as a person can be told about it: its code point and, for the invisible
/// and space characters one meets in pasted text, its Unicode name.
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\u{00A0}' => "NO-BREAK SPACE",
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{2007}' => "FIGURE SPACE",
        '\u{2009}' => "THIN SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\t' => "TAB",
        _ if is_invisible(c) => return format!("U+{:04X} (invisible)", u32::from(c)),
        _ if c.is_whitespace() => return format!("U+{:04X} (a space)", u32::from(c)),
        _ => return format!("`{c}` (U+{:04X}, not ASCII)", u32::from(c)),
    };
    format!("U+{:04X} {name}", u32::from(c))
}

/// Characters that show as nothing: controls, format characters (zero-width, joiners,
/// bidirectional controls, BOM), soft hyphen, variation selectors, fillers, tags.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// The place of character `index` of `value`, written at `loc`: exact when the value was
/// written on one line as is (plain) or in quotes without escapes, else `loc` itself.
pub fn char_loc(loc: Loc, value: &str, index: usize) -> Loc {
    let Some(pos) = loc.pos else { return loc };
    let chars = value.chars().count();
    let offset = if pos.len == chars {
        0
    } else if pos.len == chars + 2 {
        1
    } else {
        return loc;
    };
    Loc {
        file: loc.file,
        pos: Some(Pos {
            line: pos.line,
            column: pos.column + offset + index,
            len: 1,
        }),
    }
}

/// Why `text` (`YYYY-MM-DD` or not) is not a date: the format, or which part does not
/// exist. `None` when it is one.
pub fn date_problem(text: &str) -> Option<(String, &'static str)> {
    if Date::parse(text).is_some() {
        return None;
    }
    let parts: Vec<&str> = text.split('-').collect();
    let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let [y, m, d] = parts.as_slice() else {
        return Some(("is not a date".to_string(), "expected YYYY-MM-DD"));
    };
    if !(numeric(y, 4) && numeric(m, 2) && numeric(d, 2)) {
        return Some(("is not a date".to_string(), "expected YYYY-MM-DD"));
    }
    let (year, month, day): (i32, u8, u8) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if year == 0 {
        return Some((
            "does not exist: there is no year 0000".to_string(),
            "no such year",
        ));
    }
    if !(1..=12).contains(&month) {
        return Some((
            format!("does not exist: there is no month {month}"),
            "no such month",
        ));
    }
    let days = (28..=31u8)
        .rev()
        .find(|&d| Date::from_ymd(year, month, d).is_some())
        .unwrap_or(28);
    let name = MONTHS[usize::from(month) - 1];
    if day == 0 || day > days {
        return Some((
            format!("does not exist: {name} {year} has {days} days"),
            "no such day",
        ));
    }
    Some(("is not a date".to_string(), "expected YYYY-MM-DD"))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_plausibility() {
        assert_eq!(email_problem(" Alice@Example.com "), None);
        assert_eq!(
            email_problem("alice@example"),
            Some("the domain is not of the form example.com")
        );
        assert_eq!(email_problem("alice example.com"), Some("contains a space"));
        assert_eq!(email_problem("a@b@c.com"), Some("more than one `@`"));
        assert_eq!(
            email_problem("@example.com"),
            Some("nothing before the `@`")
        );
        assert_eq!(
            email_problem("alice@.com"),
            Some("the domain is not of the form example.com")
        );
    }

    #[test]
    fn emails_with_invisible_or_look_alike_characters_are_refused() {
        for email in [
            "alice\u{200B}@example.com",
            "\u{0430}lice@example.com",
            "alice@ex\u{0430}mple.com",
            "alice@example.com\u{00A0}",
            "\u{FEFF}alice@example.com",
            "ali\u{00AD}ce@example.com",
        ] {
            assert!(
                email_problem(email).is_some_and(|p| p.contains("ASCII")),
                "{email:?}: {:?}",
                email_problem(email)
            );
        }
        assert_eq!(email_problem("alice@xn--bcher-kva.example"), None);
        assert_eq!(
            email_problem("alice@ex_ample.com"),
            Some("the domain has characters other than letters, digits, `-` and `.`")
        );
    }

    #[test]
    fn local_parts_and_addresses_are_bounded_as_rfc_5321_says() {
        let local = "a".repeat(64);
        assert_eq!(email_problem(&format!("{local}@example.com")), None);
        assert!(email_problem(&format!("a{local}@example.com")).is_some_and(|p| p.contains("64")));
        let label = "b".repeat(63);
        let long = format!("a@{label}.{label}.{label}.{label}.com");
        assert!(email_problem(&long).is_some_and(|p| p.contains("254")));
        assert!(email_problem(&format!("a@{}b.com", label)).is_some_and(|p| p.contains("63")));
    }

    #[test]
    fn names_with_odd_spaces_or_invisible_characters_are_refused() {
        assert_eq!(name_problem("quantum algorithms"), None);
        assert_eq!(name_problem("Équipe Été"), None);
        for (name, problem) in [
            (" Public Access", "starts or ends with a space"),
            ("Public Access ", "starts or ends with a space"),
            ("Public  Access", "contains two spaces in a row"),
            (
                "Public\u{00A0}Access",
                "contains a space other than the ordinary one (a tab, a no-break space)",
            ),
            (
                "Public\u{3000}Access",
                "contains a space other than the ordinary one (a tab, a no-break space)",
            ),
            (
                "Public\tAccess",
                "contains a space other than the ordinary one (a tab, a no-break space)",
            ),
            ("Public\u{200B}Access", "contains an invisible character"),
            ("team\u{202E}a", "contains an invisible character"),
            ("", "empty"),
        ] {
            assert_eq!(name_problem(name), Some(problem), "{name:?}");
        }
    }

    #[test]
    fn characters_are_described_by_code_point_and_name() {
        assert_eq!(describe_char('\u{200B}'), "U+200B ZERO WIDTH SPACE");
        assert_eq!(describe_char('\u{0430}'), "`\u{0430}` (U+0430, not ASCII)");
        assert_eq!(describe_char('\u{2028}'), "U+2028 (a space)");
        assert_eq!(first_odd_char("ab\u{200B}c", false), Some((2, '\u{200B}')));
        assert_eq!(first_odd_char("é", false), None);
        assert_eq!(first_odd_char("é", true), Some((0, 'é')));
    }

    #[test]
    fn dates_that_do_not_exist_say_which_part() {
        assert_eq!(date_problem("2027-06-30"), None);
        assert_eq!(
            date_problem("2027-02-30"),
            Some((
                "does not exist: February 2027 has 28 days".to_string(),
                "no such day"
            ))
        );
        assert_eq!(
            date_problem("2028-02-30").map(|p| p.0),
            Some("does not exist: February 2028 has 29 days".to_string())
        );
        assert_eq!(
            date_problem("2027-13-01").map(|p| p.0),
            Some("does not exist: there is no month 13".to_string())
        );
        assert_eq!(
            date_problem("2027-04-31").map(|p| p.0),
            Some("does not exist: April 2027 has 30 days".to_string())
        );
        assert_eq!(
            date_problem("30/06/2027").map(|p| p.0),
            Some("is not a date".to_string())
        );
        assert_eq!(
            date_problem("2027-6-30").map(|p| p.0),
            Some("is not a date".to_string())
        );
    }
}
