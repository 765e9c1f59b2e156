//! The config contract (docs/config.md; `validate` and `schema` in docs/cli.md), through
//! the real binary where the process contract matters (exit codes, stderr) and through the
//! library elsewhere.
//!
//! The corpus under tests/config/invalid/ holds one malformed file (or, for `include:`, one
//! directory with a `main.yaml`) per rule. Each first line `# expect-line: N` names the line
//! the first problem must point at; the whole stderr is pinned by an insta snapshot in
//! tests/config/snapshots/.

use std::path::Path;

use crate::support::{Orgsync, Run};
use orgsync::config::{self, ConfigError};
use orgsync::model::{Date, Email, GroupName, UnlistedUsers};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `orgsync validate -c FILE` from the crate root, so paths in messages are relative.
/// Output that is not UTF-8 fails the test.
fn validate(config: &str) -> Run {
    Orgsync::new()
        .args(["validate", "-c", config])
        .current_dir(manifest_dir())
        .run_blocking()
}

/// Every case of the corpus: `(name, path relative to the crate root)`.
fn corpus() -> Vec<(String, String)> {
    let dir = manifest_dir().join("tests/config/invalid");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read tests/config/invalid") {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        if path.is_dir() {
            cases.push((
                name.clone(),
                format!("tests/config/invalid/{name}/main.yaml"),
            ));
        } else if let Some(stem) = name.strip_suffix(".yaml") {
            cases.push((stem.to_string(), format!("tests/config/invalid/{name}")));
        }
    }
    cases.sort();
    cases
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(manifest_dir().join("tests/config/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn every_malformed_file_exits_78_naming_the_line_with_pinned_stderr() {
    let cases = corpus();
    assert!(
        cases.len() >= 30,
        "the corpus shrank to {} cases",
        cases.len()
    );
    let settings = snapshot_settings();
    let mut wrong_line = Vec::new();
    for (name, path) in cases {
        let out = validate(&path);
        let stderr = out.stderr;
        assert_eq!(out.code, 78, "{name}: expected exit 78, stderr:\n{stderr}");
        assert!(out.stdout.is_empty(), "{name}: validate wrote to stdout");
        assert!(
            stderr.contains("error: ") && stderr.contains("hint: "),
            "{name}: no error or hint:\n{stderr}"
        );
        // The line named by the fixture's first line must be the first place shown.
        let text = std::fs::read(manifest_dir().join(&path)).expect("read fixture");
        let first_line = String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        // `# expect-line: N` is a line of this file; `# expect-at: FILE:N` a line of a file
        // it includes (relative to its directory).
        let expected = if let Some(line) = first_line.strip_prefix("# expect-line: ") {
            Some(format!("{path}:{line}:"))
        } else {
            first_line.strip_prefix("# expect-at: ").map(|at| {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                format!("{dir}/{at}:")
            })
        };
        if let Some(expected) = expected {
            let first_place = stderr
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("--> "))
                .unwrap_or_default();
            if !first_place.starts_with(&expected) {
                wrong_line.push(format!(
                    "{name}: first problem should be at {expected}, is at {first_place}:\n{stderr}"
                ));
            }
        }
        settings.bind(|| insta::assert_snapshot!(name, stderr));
    }
    assert!(wrong_line.is_empty(), "{}", wrong_line.join("\n"));
}

#[test]
fn a_10_mb_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.yaml");
    let mut text = String::from(
        "version: 1\naccount_id: 0123456789abcdef0123456789abcdef\ngroups: {}\nusers:\n",
    );
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(&format!("  user{i:07}@example.com: {{groups: []}}\n"));
        i += 1;
    }
    std::fs::write(&path, &text).expect("write huge file");
    let started = std::time::Instant::now();
    let out = validate(path.to_str().expect("utf-8 temp path"));
    assert_eq!(out.code, 78, "{}", out.stderr);
    let stderr = out
        .stderr
        .replace(path.to_str().unwrap_or_default(), "[TEMP]/huge.yaml");
    snapshot_settings().bind(|| insta::assert_snapshot!("ten_megabyte_file", stderr));
    // Not a timing assertion: a generous bound that only a parse of the whole file breaks.
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn a_missing_config_says_how_to_create_or_choose_one() {
    let out = validate("tests/config/does-not-exist.yaml");
    let stderr = out.stderr;
    assert_eq!(out.code, 78, "{stderr}");
    assert!(
        stderr.contains("cannot read `tests/config/does-not-exist.yaml`: no such file"),
        "{stderr}"
    );
    assert!(stderr.contains("-c FILE"), "{stderr}");
}

#[test]
fn a_main_file_that_cannot_be_read_is_a_typed_io_error_printed_as_validate_prints_it() {
    let path = manifest_dir().join("tests/config/does-not-exist.yaml");
    let err = config::load(&path).expect_err("no such file");
    let ConfigError::Io {
        path: named,
        source,
    } = &err
    else {
        panic!("expected ConfigError::Io, got {err:?}");
    };
    assert_eq!(named, &path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    // The cause is kept as the source, not repeated in the one-line Display.
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(err.to_string(), format!("cannot read `{}`", path.display()));
    let out = validate(path.to_str().expect("utf-8 path"));
    assert_eq!(out.stderr, err.render(false));
    assert!(err.render(true).contains('\u{1b}'));
}

#[test]
fn an_included_file_that_cannot_be_read_is_one_problem_among_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("teams")).expect("mkdir");
    let main = dir.path().join("org.yaml");
    std::fs::write(
        &main,
        "version: 2\naccount_id: 0123456789abcdef0123456789abcdef\ninclude: [teams/missing.yaml]\ngroups: {}\nusers: {}\n",
    )
    .expect("write");
    let err = config::load(&main).expect_err("invalid");
    let ConfigError::Invalid(diags) = &err else {
        panic!("expected ConfigError::Invalid, got {err:?}");
    };
    let missing = dir.path().join("teams/missing.yaml");
    let messages: Vec<&str> = diags.iter().map(|d| d.message()).collect();
    assert_eq!(
        messages,
        [
            "unsupported `version: 2`".to_string(),
            format!("cannot read `{}`: no such file", missing.display()),
        ]
    );
    assert!(std::error::Error::source(&err).is_none());
    let text = err.render(false);
    assert!(text.contains("included here"), "{text}");
    assert!(text.contains("fix the `include:` entry"), "{text}");
    assert_eq!(err.to_string(), text);
}

#[test]
fn the_example_config_is_valid_and_validate_prints_nothing() {
    let out = validate("org.example.yaml");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn the_example_config_names_the_committed_schema_and_is_rich() {
    let text = std::fs::read_to_string(manifest_dir().join("org.example.yaml")).expect("read");
    assert_eq!(
        text.lines().next(),
        Some("# yaml-language-server: $schema=./org.schema.json")
    );
    let desired = config::parse_str("org.example.yaml", &text).expect("valid");
    assert!((3..=4).contains(&desired.groups.len()));
    assert!((8..=12).contains(&desired.users.len()));
    assert!(desired.users.values().any(|u| u.expires.is_some()));
    assert!(!desired.policy.protected.is_empty());
    assert!(!desired.policy.allowed_domains.is_empty());
    for protected in &desired.policy.protected {
        assert!(
            desired.users.contains_key(protected),
            "{protected} is not a user"
        );
    }
}

#[test]
fn committed_schema_is_what_orgsync_schema_prints() {
    let committed =
        std::fs::read_to_string(manifest_dir().join("org.schema.json")).unwrap_or_default();
    let generated = config::schema_json();
    assert!(
        committed == generated,
        "org.schema.json is stale: run `cargo run -- schema > org.schema.json` and commit it"
    );
    let out = Orgsync::new().arg("schema").run_blocking();
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, generated);
    let schema: serde_json::Value = serde_json::from_str(&generated).expect("schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required keys")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    required.sort();
    assert_eq!(required, ["account_id", "groups", "users", "version"]);
}

#[test]
fn includes_merge_groups_and_users_from_matching_files_only() {
    let loaded =
        config::load(&manifest_dir().join("tests/config/valid/include/org.yaml")).expect("valid");
    let names: Vec<String> = loaded
        .files
        .iter()
        .map(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    // The hidden .draft.yaml is not read; files are merged in sorted order.
    assert_eq!(names, ["org.yaml", "chemistry.yaml", "students.yaml"]);
    let d = &loaded.desired;
    assert_eq!(d.groups.len(), 2);
    let bob = &d.users[&Email::new("bob@example.com")];
    // The declared spelling wins over the user's.
    let bob_groups: Vec<&str> = bob.groups.iter().map(GroupName::as_str).collect();
    assert_eq!(bob_groups, ["quantum-algorithms", "quantum-chemistry"]);
    let carol = &d.users[&Email::new("carol@example.com")];
    assert_eq!(carol.email.as_str(), "carol@example.com");
    assert_eq!(carol.expires, Date::parse("2027-06-30"));
    // Protected emails and allowed domains are normalized to lower case.
    assert!(d.policy.protected.contains("owner@example.com"));
    assert!(d.policy.allowed_domains.contains("example.com"));
}

#[test]
fn parse_str_builds_the_desired_state_with_defaults() {
    let text = "version: 1\naccount_id: '0123456789abcdef0123456789abcdef'\ngroups:\n  Alpha: {description: first}\n  beta:\nusers:\n  ' Zed@Example.com ': {groups: [ALPHA]}\n  amy@example.com: {groups: []}\n";
    // `beta:` (no value) is a wrong type: a group is a mapping, `{}` when empty.
    let err = config::parse_str("org.yaml", text).expect_err("null group value");
    assert_eq!(err.len(), 1, "{err}");
    let text = text.replace("  beta:\n", "  beta: {}\n");
    let d = config::parse_str("org.yaml", &text).expect("valid");
    assert_eq!(d.account_id.as_str(), "0123456789abcdef0123456789abcdef");
    assert_eq!(d.policy.unlisted_users, UnlistedUsers::Ignore);
    assert_eq!(d.policy.max_removals, 10);
    assert!(d.policy.create_groups);
    let zed = &d.users[&Email::new("zed@example.com")];
    assert_eq!(
        zed.groups.iter().next().map(GroupName::as_str),
        Some("Alpha")
    );
    assert_eq!(
        d.groups[&GroupName::new("alpha")].description.as_deref(),
        Some("first")
    );
    assert_eq!(d.groups[&GroupName::new("beta")].description, None);
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let text = std::fs::read_to_string(
        manifest_dir().join("tests/config/invalid/many_problems_at_once.yaml"),
    )
    .expect("read");
    let err = config::parse_str("many.yaml", &text).expect_err("invalid");
    let messages: Vec<&str> = err.iter().map(|d| d.message()).collect();
    assert_eq!(messages.len(), 6, "{messages:#?}");
    assert!(
        err.to_string().ends_with(
            "error: 6 problems in many.yaml; fix them and run `orgsync validate` again.\n"
        )
    );
}

#[test]
fn the_strict_serde_types_agree_with_the_walk_on_shape() {
    use orgsync::config::raw::RawConfig;
    use orgsync::config::yaml;
    let example = std::fs::read_to_string(manifest_dir().join("org.example.yaml")).expect("read");
    assert!(yaml::config_from_str::<RawConfig>(&example).is_ok());
    for shape_case in [
        "unknown_key_top_level",
        "unknown_key_policy",
        "unknown_key_group",
        "unknown_key_user",
        "wrong_type_max_removals",
        "wrong_type_create_groups",
        "wrong_type_groups_is_a_list",
        "wrong_type_user_groups_is_a_string",
        "wrong_type_protected_is_a_string",
        "wrong_type_users_is_empty",
        "wrong_type_group_value_is_null",
        "missing_users",
        "missing_account_id",
        "missing_user_groups",
        "unlisted_users_unknown_choice",
    ] {
        let path = manifest_dir().join(format!("tests/config/invalid/{shape_case}.yaml"));
        let text = std::fs::read_to_string(path).expect("read");
        assert!(
            yaml::config_from_str::<RawConfig>(&text).is_err(),
            "{shape_case}: serde accepts what the walk rejects"
        );
        assert!(config::parse_str("x.yaml", &text).is_err());
    }
}

/// A deterministic organization of `users` users over 100 groups, 1-5 groups each.
fn generated_config(users: usize) -> String {
    let mut text = String::from(
        "version: 1\naccount_id: 0123456789abcdef0123456789abcdef\npolicy:\n  allowed_domains: [example.com]\ngroups:\n",
    );
    for g in 0..100 {
        text.push_str(&format!(
            "  project-{g:03}:\n    description: Project {g}\n"
        ));
    }
    text.push_str("users:\n");
    for u in 0..users {
        let groups: Vec<String> = (0..1 + u % 5)
            .map(|k| format!("project-{:03}", (u * 7 + k * 13) % 100))
            .collect();
        text.push_str(&format!(
            "  user{u:05}@example.com:\n    groups: [{}]\n",
            groups.join(", ")
        ));
        if u % 10 == 0 {
            text.push_str("    expires: 2027-06-30\n");
        }
    }
    text
}

#[test]
fn a_10000_user_config_validates() {
    let text = generated_config(10_000);
    let started = std::time::Instant::now();
    let desired = config::parse_str("big.yaml", &text).expect("valid");
    // Reported, not asserted: timing belongs to benchmarks (docs/performance.md).
    eprintln!(
        "validated {} users ({} bytes) in {:?}",
        desired.users.len(),
        text.len(),
        started.elapsed()
    );
    assert_eq!(desired.users.len(), 10_000);
    assert_eq!(desired.groups.len(), 100);
    let memberships: usize = desired.users.values().map(|u| u.groups.len()).sum();
    assert_eq!(memberships, 10_000 / 5 * (1 + 2 + 3 + 4 + 5));
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Edit {
        Delete { at: usize, len: usize },
        Insert { at: usize, text: String },
        DuplicateLine { line: usize },
        SwapLines { a: usize, b: usize },
        Indent { line: usize, by: usize },
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let snippet = prop_oneof![
            Just(":".to_string()),
            Just("\t".to_string()),
            Just("- ".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            Just("{".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just("\n  ".to_string()),
            Just("Public Access".to_string()),
            Just("é".to_string()),
            "[ -~]{1,8}".prop_map(|s| s),
        ];
        prop_oneof![
            (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
            (any::<usize>(), snippet).prop_map(|(at, text)| Edit::Insert { at, text }),
            any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
            (any::<usize>(), 1usize..5).prop_map(|(line, by)| Edit::Indent { line, by }),
        ]
    }

    fn apply(text: &str, edit: &Edit) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let n = lines.len().max(1);
        match edit {
            Edit::Delete { at, len } => {
                let at = at % chars.len().max(1);
                let end = (at + len).min(chars.len());
                chars[..at].iter().chain(&chars[end..]).collect()
            }
            Edit::Insert { at, text } => {
                let at = at % (chars.len() + 1);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(text);
                out.extend(&chars[at..]);
                out
            }
            Edit::DuplicateLine { line } => {
                let l = lines[line % n].clone();
                lines.insert(line % n, l);
                lines.join("\n")
            }
            Edit::SwapLines { a, b } => {
                lines.swap(a % n, b % n);
                lines.join("\n")
            }
            Edit::Indent { line, by } => {
                let i = line % n;
                lines[i] = format!("{}{}", " ".repeat(*by), lines[i]);
                lines.join("\n")
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn mutated_example_is_valid_or_diagnosed_never_a_panic(
            edits in proptest::collection::vec(edit(), 1..6)
        ) {
            let mut text = std::fs::read_to_string(manifest_dir().join("org.example.yaml"))
                .expect("read example");
            for e in &edits {
                text = apply(&text, e);
            }
            match config::parse_str("org.yaml", &text) {
                // Whatever survived must still keep the invariants the planner relies on.
                Ok(desired) => {
                    for user in desired.users.values() {
                        for group in &user.groups {
                            prop_assert!(desired.groups.contains_key(group));
                        }
                        prop_assert_eq!(user.email.as_str(), user.email.as_str().to_lowercase());
                    }
                    prop_assert!(!desired.groups.contains_key(&GroupName::new("public access")));
                }
                Err(diags) => {
                    prop_assert!(!diags.is_empty());
                    let rendered = diags.render(false);
                    prop_assert!(rendered.contains("error: "));
                    prop_assert!(rendered.contains("org.yaml"));
                }
            }
        }
    }
}
