//! The renderings of the realistic scenario, pinned by snapshots, and what they must
//! never contain.

use super::*;
use crate::plan::{render_json, render_markdown, render_text, summary_line};

#[test]
fn text_rendering_of_the_realistic_scenario() {
    let (d, l) = realistic();
    insta::assert_snapshot!(render_text(&plan_of(&d, &l), false));
}

#[test]
fn markdown_rendering_of_the_realistic_scenario() {
    let (d, l) = realistic();
    insta::assert_snapshot!(render_markdown(&plan_of(&d, &l)));
}

#[test]
fn json_rendering_of_the_realistic_scenario() {
    let (d, l) = realistic();
    let p = plan_of(&d, &l);
    let json = render_json(&p);
    assert!(json.ends_with("}\n"));
    // The digests are pinned by their own tests; here they would tie the snapshot to the
    // model's serde layout.
    let json = json
        .replace(&p.config_digest, "sha256:<config>")
        .replace(&p.live_digest, "sha256:<live>");
    insta::assert_snapshot!(json);
}

#[test]
fn text_has_escape_codes_only_when_colour_is_on() {
    let (d, l) = realistic();
    let p = plan_of(&d, &l);
    let plain = render_text(&p, false);
    let coloured = render_text(&p, true);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert!(coloured.contains("\u{1b}[32m"), "green for additions");
    assert!(coloured.contains("\u{1b}[31m"), "red for removals");
    assert!(coloured.contains("\u{1b}[33m"), "yellow for updates");
    // Colour only wraps: stripping it gives the plain text back.
    assert_eq!(strip_ansi(&coloured), plain);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn hostile_names_cannot_inject_terminal_codes_or_markdown() {
    let name = "evil\u{1b}[2J\nfake\u{202e}|@org/admins <b>";
    let d = desired().user("alice@example.com", &[name]);
    let l = live().user("alice@example.com");
    let p = plan_of(&d, &l);
    for color in [false, true] {
        let text = render_text(&p, color);
        assert!(!text.contains("\u{1b}[2J"), "{text}");
        assert!(!text.contains('\u{202e}'), "{text}");
        assert!(text.contains("evil\\u{1b}[2J\\u{a}fake"), "{text}");
    }
    let md = render_markdown(&p);
    assert!(!md.contains("@org"), "mentions are defused: {md}");
    assert!(!md.contains("<b>"), "{md}");
    assert!(md.contains("\\|"), "table pipes are escaped: {md}");
}

#[test]
fn summary_line_counts_each_kind() {
    let d = desired()
        .user("a@example.com", &["g"])
        .user("b@example.com", &["g"])
        .user("c@example.com", &["g"])
        .user("d@example.com", &["g"])
        .user("e@example.com", &["g"])
        .group("h");
    let l = live()
        .user("c@example.com")
        .user("d@example.com")
        .user("e@example.com")
        .user("x@example.com")
        .group("g")
        .group("h")
        .member("h", "x@example.com");
    assert_eq!(
        summary_line(&plan_of(&d, &l)),
        "Plan: 2 to invite, 3 to add, 1 to remove."
    );
    let (d, l) = realistic();
    assert_eq!(
        summary_line(&plan_of(&d, &l)),
        "Plan: 1 group to create, 1 group to update, 2 to invite, 2 to add, 2 to remove, 2 users to remove from the account."
    );
}

#[test]
fn empty_plan_says_the_account_matches() {
    let d = desired().user("a@example.com", &["g"]);
    let l = live()
        .user("a@example.com")
        .group("g")
        .member("g", "a@example.com");
    let p = plan_of(&d, &l);
    assert!(p.is_empty());
    assert_eq!(
        summary_line(&p),
        "No changes. The account matches the file."
    );
    assert!(render_text(&p, false).ends_with("No changes. The account matches the file.\n"));
    assert!(render_markdown(&p).starts_with("**No changes. The account matches the file.**"));
}

#[test]
fn plan_read_back_from_a_file_renders_without_rosters() {
    let (d, l) = realistic();
    let fresh = plan_of(&d, &l);
    let saved = Plan::from_json(&render_json(&fresh)).expect("reads back");
    let text = render_text(&saved, false);
    assert!(
        !text.contains("before,"),
        "no roster without rosters: {text}"
    );
    // The changes themselves are all still there.
    assert!(text.contains("+ carol@example.com (invited)"), "{text}");
    assert!(
        text.contains("- IBMid-ghost (not in User Management)"),
        "{text}"
    );
    assert!(render_text(&fresh, false).contains("members: 7 before, 4 after"));
}

#[test]
fn markdown_folds_long_sections_into_details() {
    let emails: Vec<String> = (0..12).map(|i| format!("user{i:02}@example.com")).collect();
    let mut d = desired().group("big").group("small");
    let mut l = live().group("big").group("small");
    for e in &emails {
        d = d.user(e, &["big"]);
        l = l.user(e);
    }
    l = l.member("small", "user00@example.com");
    let md = render_markdown(&plan_of(&d, &l));
    // 12 adds to `big`: folded; 1 removal from `small`: shown as is.
    assert!(
        md.contains("<details><summary>12 membership changes</summary>"),
        "{md}"
    );
    assert!(!md.contains("1 membership changes"), "{md}");
    assert!(
        md.contains("#### small (access group)\n\n| Change | Member | Note |"),
        "{md}"
    );
}

#[test]
fn text_rendering_of_the_second_wave_scenario() {
    let (d, l) = realistic_access();
    insta::assert_snapshot!(render_text(&plan_of(&d, &l), false));
}

#[test]
fn markdown_rendering_of_the_second_wave_scenario() {
    let (d, l) = realistic_access();
    insta::assert_snapshot!(render_markdown(&plan_of(&d, &l)));
}

#[test]
fn json_rendering_of_the_second_wave_scenario() {
    let (d, l) = realistic_access();
    let p = plan_of(&d, &l);
    let json = render_json(&p)
        .replace(&p.config_digest, "sha256:<config>")
        .replace(&p.live_digest, "sha256:<live>");
    insta::assert_snapshot!(json);
}

#[test]
fn every_summary_line_names_exactly_the_kinds_the_plan_holds() {
    let d = desired().group("g");
    let l = live()
        .user("x@example.com")
        .group("g")
        .member("g", "x@example.com");
    assert_eq!(summary_line(&plan_of(&d, &l)), "Plan: 1 to remove.");
    let d = desired()
        .user("x@example.com", &["g"])
        .user("y@example.com", &["g"]);
    let l = live()
        .user("x@example.com")
        .user("y@example.com")
        .group("g");
    assert_eq!(summary_line(&plan_of(&d, &l)), "Plan: 2 to add.");
    let (d, l) = realistic_access();
    assert_eq!(
        summary_line(&plan_of(&d, &l)),
        "Plan: 1 role to create, 1 role to update, 1 group to create, 1 group to update, 3 \
         policies to create, 2 policies to update, 2 rules to create, 1 rule to update, 1 to \
         invite, 2 to add, 1 to remove, 1 rule to remove, 1 policy to remove, 1 user to remove \
         from the account."
    );
}

#[test]
fn one_unmanaged_member_is_counted_in_the_singular_in_both_renderings() {
    let d = desired().group("g");
    let l = live()
        .group("g")
        .member_id("g", "iam-ServiceId-bot", "service")
        .user("x@example.com")
        .member("g", "x@example.com");
    let p = plan_of(&d, &l);
    assert!(
        render_text(&p, false).contains("  1 service ID or trusted profile in managed groups:\n")
    );
    let md = render_markdown(&p);
    assert!(
        md.contains("- 1 service ID or trusted profile in managed groups\n"),
        "{md}"
    );
    assert!(
        md.contains("- 1 account user the file does not list\n"),
        "{md}"
    );
}

#[test]
fn a_saved_plan_of_every_kind_renders_in_every_format_as_the_fresh_one_less_its_rosters() {
    for (d, l) in [realistic(), realistic_access()] {
        let fresh = plan_of(&d, &l);
        let saved = Plan::from_json(&render_json(&fresh)).expect("reads back");
        assert!(
            saved
                .warnings
                .iter()
                .all(|w| matches!(w, crate::plan::Warning::Saved(_)))
        );
        assert_eq!(render_json(&saved), render_json(&fresh));
        // Text: the same lines, less the roster diffs.
        let without_rosters = |text: String| -> Vec<String> {
            let mut kept = Vec::new();
            let mut in_roster = false;
            for line in text.lines() {
                if line.starts_with("    members: ") {
                    in_roster = true;
                    continue;
                }
                if in_roster && line.starts_with("      ") {
                    continue;
                }
                in_roster = false;
                kept.push(line.to_string());
            }
            kept
        };
        assert_eq!(
            without_rosters(render_text(&saved, false)),
            without_rosters(render_text(&fresh, false))
        );
        let md = render_markdown(&saved);
        assert!(!md.contains("<summary>Members:"), "{md}");
        for line in render_markdown(&fresh)
            .lines()
            .filter(|l| l.starts_with("- "))
        {
            assert!(md.contains(line), "{line} missing from\n{md}");
        }
    }
}
