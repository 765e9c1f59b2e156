//! Diagnostics that say what is true where it is true (docs/config.md, How problems are
//! reported): each test is a message that used to point elsewhere or say less.

use orgsync::config;

const HEAD: &str = "version: 1\naccount_id: 0123456789abcdef0123456789abcdef\n";

fn rendered(text: &str) -> String {
    config::parse_str("org.yaml", text)
        .expect_err("invalid")
        .render(false)
}

/// The `-->` places of the output, in order.
fn places(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .collect()
}

#[test]
fn an_unclosed_bracket_is_reported_where_it_was_opened() {
    let out = rendered(&format!(
        "{HEAD}groups:\n  ml: {{}}\nusers:\n  alice@example.com:\n    groups: [ml\n  bob@example.com:\n    groups: []\n"
    ));
    assert!(
        out.starts_with("error: invalid YAML: this `[` is never closed\n"),
        "{out}"
    );
    // First the bracket, then where the parser gave up.
    assert_eq!(places(&out), ["org.yaml:7:13", "org.yaml:8:18"], "{out}");
    let out = rendered(&format!(
        "{HEAD}groups:\n  ml: {{description: x\n  ai: {{}}\nusers: {{}}\n"
    ));
    assert!(out.contains("this `{` is never closed"), "{out}");
    assert_eq!(places(&out)[0], "org.yaml:4:7", "{out}");
}

#[test]
fn a_renamed_required_key_is_reported_at_the_key_alone() {
    let out = rendered(&format!(
        "{HEAD}groups: {{}}\nuser:\n  alice@example.com: {{groups: []}}\n"
    ));
    assert!(
        out.starts_with("error: unknown key `user` in the top level; did you mean `users`?\n"),
        "{out}"
    );
    assert!(!out.contains("missing the required key"), "{out}");
    assert_eq!(places(&out), ["org.yaml:4:1"], "{out}");
    // The same inside an entry: `group:` for a user's `groups:`.
    let out = rendered(&format!(
        "{HEAD}groups: {{}}\nusers:\n  alice@example.com: {{group: []}}\n"
    ));
    assert!(
        out.contains("unknown key `group` in user `alice@example.com`; did you mean `groups`?"),
        "{out}"
    );
    assert!(!out.contains("missing the required key"), "{out}");
    // An unknown key that is no near miss leaves the missing key reported.
    let out = rendered(&format!("{HEAD}groups: {{}}\nmembers: {{}}\n"));
    assert!(out.contains("missing the required key `users`"), "{out}");
}

#[test]
fn an_impossible_date_says_it_does_not_exist() {
    let file = |date: &str| {
        format!(
            "{HEAD}groups: {{}}\nusers:\n  alice@example.com: {{groups: [], expires: {date}}}\n"
        )
    };
    for (date, says) in [
        ("2027-02-30", "does not exist: February 2027 has 28 days"),
        ("2028-02-30", "does not exist: February 2028 has 29 days"),
        ("2027-04-31", "does not exist: April 2027 has 30 days"),
        ("2027-13-01", "does not exist: there is no month 13"),
        ("2027-06-00", "does not exist: June 2027 has 30 days"),
        ("tomorrow", "is not a date"),
    ] {
        let out = rendered(&file(date));
        assert!(
            out.starts_with(&format!(
                "error: `expires: {date}` of `alice@example.com` {says}\n"
            )),
            "{out}"
        );
    }
}

#[test]
fn a_duplicate_shows_the_first_place_before_the_second() {
    let out = rendered(&format!(
        "{HEAD}groups:\n  ml: {{}}\n  ML: {{}}\nusers:\n  alice@example.com: {{groups: []}}\n  Alice@Example.com: {{groups: [ml, Ml]}}\n"
    ));
    let places = places(&out);
    assert_eq!(
        places,
        [
            // The group declared twice, the user listed twice, a group listed twice.
            "org.yaml:4:3",
            "org.yaml:5:3",
            "org.yaml:7:3",
            "org.yaml:8:3",
            "org.yaml:8:32",
            "org.yaml:8:36",
        ],
        "{out}"
    );
    assert!(out.contains("first listed here\n"), "{out}");
}
