//! `orgsync plan` end to end: the real binary against the emulator started in this process
//! (docs/cli.md; issue 5). Output, exit codes, `--out`, colour, and the one-line errors.

use crate::support::*;
use serde_json::{Value, json};

const ESC: &str = "\u{1b}[";

fn s(v: &str) -> String {
    v.to_string()
}

/// The change of `action` about `who` (an email or a group name).
fn change<'a>(plan: &'a Value, action: &str, who: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["action"] == action && (c["email"] == who || c["group"] == who))
        })
        .unwrap_or_else(|| panic!("no {action} for {who} in {plan:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_text_of_a_seeded_account_is_the_expected_plan() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let run = sc.plan(&[]).run().await;
        run.expect(0);
        assert!(!run.stdout.contains(ESC), "escape codes with NO_COLOR");
        insta::assert_snapshot!(run.stdout);
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_json_carries_every_change_with_its_documented_fields() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let plan = sc.plan_json().await;
        assert_eq!(plan["format_version"], 1);
        assert_eq!(plan["account_id"], ACCOUNT);
        for digest in ["config_digest", "live_digest"] {
            let d = plan[digest].as_str().unwrap_or("");
            assert!(
                d.starts_with("sha256:") && d.len() == 7 + 64,
                "{digest}: {d}"
            );
        }
        assert_eq!(
            plan["summary"],
            json!({"create_group": 1, "update_group": 1, "invite_user": 2, "add_member": 2,
                   "remove_member": 1, "remove_user": 1, "total": 8})
        );
        // In execution order: creates, updates, invites, adds, removals, user removals.
        let actions: Vec<&str> = plan["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "create_group",
                "update_group",
                "invite_user",
                "invite_user",
                "add_member",
                "add_member",
                "remove_member",
                "remove_user"
            ]
        );
        assert_eq!(
            change(&plan, "create_group", "education"),
            &json!({"action": "create_group", "group": "education", "description": "Teaching"})
        );
        assert_eq!(
            change(&plan, "update_group", "algorithms"),
            &json!({"action": "update_group", "group": "algorithms", "group_id": ALGO_ID,
                    "description": "Quantum algorithms research", "old_description": "Algorithms"})
        );
        assert_eq!(
            change(&plan, "invite_user", "carol@example.com"),
            &json!({"action": "invite_user", "email": "carol@example.com",
                    "groups": ["algorithms", "chemistry"], "replaces_iam_id": null})
        );
        assert_eq!(
            change(&plan, "invite_user", "dave@example.com"),
            &json!({"action": "invite_user", "email": "dave@example.com",
                    "groups": ["algorithms"], "replaces_iam_id": "IBMid-DAVE000001"})
        );
        // The pending invitee is added to the new group, not invited again.
        assert_eq!(
            change(&plan, "add_member", "erin@example.com"),
            &json!({"action": "add_member", "group": "education", "group_id": null,
                    "email": "erin@example.com", "iam_id": "IBMid-ERIN000001"})
        );
        assert_eq!(
            change(&plan, "remove_member", "bob@example.com"),
            &json!({"action": "remove_member", "group": "chemistry", "group_id": CHEM_ID,
                    "email": "bob@example.com", "iam_id": "IBMid-BOB0000001"})
        );
        assert_eq!(
            change(&plan, "remove_user", "frank@example.com"),
            &json!({"action": "remove_user", "email": "frank@example.com",
                    "iam_id": "IBMid-FRANK00001", "groups": ["chemistry"]})
        );
        assert_eq!(
            plan["unmanaged"],
            json!({
                "users": 0,
                "members": [{"group": "algorithms", "iam_id": SERVICE_ID, "type": "service"}]
            })
        );
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detailed_exitcode_is_2_with_changes_and_0_without() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        sc.plan(&["--detailed-exitcode"]).run().await.expect(2);
        // Without the flag, changes are still a success.
        sc.plan(&[]).run().await.expect(0);

        // A file that says what the account has: no changes.
        sc.w.write(
            "org.yaml",
            &config_yaml(
                ACCOUNT,
                "",
                &[(s("algorithms"), Some(s("Algorithms")))],
                &[
                    (s("alice@example.com"), vec![s("algorithms")]),
                    (s("erin@example.com"), vec![s("algorithms")]),
                ],
            ),
        );
        let run = sc.plan(&["--detailed-exitcode"]).run().await;
        run.expect(0);
        assert!(run.stdout.contains("No changes"), "{}", run.stdout);
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_writes_the_json_plan_and_stdout_keeps_the_chosen_format() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let out = sc.w.arg("plan.json");
        let md = sc
            .plan(&["--format", "markdown", "--out", &out])
            .run()
            .await;
        md.expect(0);
        assert!(md.stdout.contains("carol@example.com"), "{}", md.stdout);
        assert!(
            serde_json::from_str::<Value>(&md.stdout).is_err(),
            "stdout is markdown"
        );
        let saved: Value = match serde_json::from_str(&sc.w.read("plan.json")) {
            Ok(v) => v,
            Err(e) => panic!("the saved plan is not JSON: {e}"),
        };
        assert_eq!(saved, sc.plan_json().await);
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_color_and_piped_output_carry_no_escape_codes_and_color_always_does() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let plan = |color: Option<&str>| match color {
            Some(c) => sc.plan(&["--color", c]),
            None => sc.plan(&[]),
        };
        // NO_COLOR (set by the helper), auto.
        let no_color = plan(None).run().await;
        assert!(!no_color.expect(0).stdout.contains(ESC));
        // Piped, NO_COLOR unset: auto sees no terminal.
        let piped = plan(None).without_env("NO_COLOR").run().await;
        assert!(!piped.expect(0).stdout.contains(ESC));
        assert_eq!(piped.stdout, no_color.stdout);
        let never = plan(Some("never")).without_env("NO_COLOR").run().await;
        assert!(!never.expect(0).stdout.contains(ESC));
        // Asked for, colour comes even through a pipe, and the text under it is the same.
        let always = plan(Some("always")).run().await;
        assert!(always.expect(0).stdout.contains(ESC));
        assert_eq!(strip_ansi(&always.stdout), no_color.stdout);
        sc.shutdown().await;
    })
    .await;
}

/// Removes `ESC [ ... m` sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
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

/// stderr holds exactly one line, an `error:`, and stdout nothing.
fn assert_one_error_line(run: &Run) -> String {
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "stderr:\n{}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    assert_eq!(run.stdout, "");
    lines[0].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_for_another_account_fails_with_one_clear_line() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config.replace(ACCOUNT, OTHER_ACCOUNT)).await;
        let run = sc.plan(&[]).run().await;
        run.expect(1);
        let line = assert_one_error_line(&run);
        assert!(
            line.contains(ACCOUNT) && line.contains(OTHER_ACCOUNT) && line.contains("API key"),
            "{line}"
        );
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_fails_with_one_clear_line_that_does_not_show_it() {
    bounded(60, async {
        let (state, config) = every_kind();
        let wrong = "not-the-key-0123456789";
        let sc = Scenario::start(state, &config).await.key(wrong);
        let run = sc.plan(&[]).run().await;
        run.expect(1);
        let line = assert_one_error_line(&run);
        assert!(line.contains("rejected the API key"), "{line}");
        assert!(line.contains("IBMCLOUD_API_KEY"), "{line}");
        assert!(!run.stderr.contains(wrong), "the key was printed: {line}");
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_gives_78_before_any_request() {
    bounded(60, async {
        let (state, config) = every_kind();
        // A typo'd key and a group nobody declared.
        let config = config
            .replace("max_removals", "max_removal")
            .replace("[algorithms, chemistry]", "[algorithms, chemstry]");
        let sc = Scenario::start(state, &config).await;
        sc.emu.reset_stats();
        for cmd in ["plan", "apply"] {
            let run = sc.orgsync(&[cmd]).run().await;
            run.expect(78);
            assert!(run.stderr.contains("max_removal"), "{}", run.stderr);
            assert!(run.stderr.contains("chemstry"), "{}", run.stderr);
            assert_eq!(run.stdout, "");
        }
        assert_eq!(
            sc.emu.stats()["total"],
            0,
            "a request was made for an invalid file"
        );
        sc.shutdown().await;
    })
    .await;
}

/// A user the plan takes out of the account leaves every group, those the file does not
/// manage too: plan reads that user's groups (one request per leaving user, none when
/// nobody leaves) and names them (docs/reconciliation.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_leaving_the_account_is_shown_with_the_unmanaged_groups_they_leave() {
    bounded(60, async {
        let state = Account::new()
            .user("alice@example.com", "IBMid-ALICE00001", "ACTIVE")
            .user("frank@example.com", "IBMid-FRANK00001", "ACTIVE")
            .group(ALGO_ID, "algorithms", "", &["IBMid-ALICE00001", "IBMid-FRANK00001"])
            .group(CHEM_ID, "billing", "", &["IBMid-FRANK00001"])
            .group(
                "AccessGroupId-0a1b2c3d-0000-4000-8000-0000000000f0",
                "finance",
                "",
                &["IBMid-FRANK00001"],
            )
            .build();
        let config = |users: &[(String, Vec<String>)]| {
            config_yaml(
                ACCOUNT,
                "  unlisted_users: remove\n",
                &[(s("algorithms"), None)],
                users,
            )
        };
        let alice = (s("alice@example.com"), vec![s("algorithms")]);
        let frank = (s("frank@example.com"), vec![s("algorithms")]);
        let sc = Scenario::start(state, &config(std::slice::from_ref(&alice))).await;
        sc.emu.reset_stats();
        let run = sc.plan(&[]).run().await;
        run.expect(0);
        assert!(
            run.stdout.contains(
                "- remove frank@example.com (IBMid-FRANK00001) from the account, leaving algorithms and 2 groups orgsync does not manage: billing, finance"
            ),
            "{}",
            run.stdout
        );
        assert!(!run.stdout.contains("were not read"), "{}", run.stdout);
        // The group listing, and frank's groups.
        assert_eq!(calls(&sc.emu.stats(), "GET /v2/groups"), 2);

        // Nobody leaves: no request more.
        sc.w.write("org.yaml", &config(&[alice, frank]));
        sc.emu.reset_stats();
        sc.plan(&[]).run().await.expect(0);
        assert_eq!(calls(&sc.emu.stats(), "GET /v2/groups"), 1);
        sc.shutdown().await;
    })
    .await;
}
