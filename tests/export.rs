//! `orgsync export` end to end: the real binary against the in-process emulator.
//!
//! The promise under test is the one an administrator adopting orgsync relies on: the
//! exported file validates, and planning it against the account it came from changes
//! nothing — except the memberships the file cannot express (a failed invitation, a
//! member User Management does not know), which the export names up front and which are
//! then the plan's only changes.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;
use orgsync::emulator::{self, Emulator, SYNTHETIC_ADMIN_KEY, State, Synthetic};
use serde_json::Value;

/// Every run of the binary is bounded: a hang fails the test instead of the CI job.
const EXPORT_LIMIT: Duration = Duration::from_secs(120);

/// `orgsync ARGS...` with the synthetic account's admin key.
fn admin(args: &[&str]) -> Orgsync {
    Orgsync::new()
        .api_key(SYNTHETIC_ADMIN_KEY)
        .args(args)
        .timeout(EXPORT_LIMIT)
}

/// `orgsync export ARGS... --endpoint URL`.
fn export(emu: &Emulator, args: &[&str]) -> Orgsync {
    admin(&[&["export"][..], args].concat()).endpoint(&emu.base_url())
}

const FAILED_IAM_ID: &str = "IBMid-FAILED0001";
const GHOST_IAM_ID: &str = "IBMid-GHOST00001";
const NAME_NEEDING_QUOTES: &str = "Quantum Team: Zürich #1";
const DESCRIPTION_NEEDING_QUOTES: &str = "Research: phase #2 — \"Qiskit\" & 量子, it's [beta]";

/// 1,000 users and 50 groups with everything an export must get right: pending invitees,
/// a failed invitation, service IDs in groups, a member unknown to User Management, users
/// in no group, an upper-case email, and a name and descriptions that need quoting.
fn big_account() -> State {
    let mut state = emulator::synthetic(&Synthetic {
        users: 975,
        groups: 50,
        memberships: 2_500,
        service_ids_in_groups: 3,
        pending_users: 20,
        seed: 7,
    });
    // 25 users in the account but in no group (synthetic gives every user a membership).
    for i in 0..24 {
        state.users.push(user(
            &format!("alumnus{i:02}@example.org"),
            &format!("IBMid-ALUMNUS{i:04}"),
            "ACTIVE",
        ));
    }
    state.users.push(user(
        "Failed.Invite@Example.com",
        FAILED_IAM_ID,
        "ERROR_WHILE_PROCESSING",
    ));
    assert_eq!(state.users.len(), 1_000);
    if let Some(u) = state.users.get_mut(5) {
        u.email = "Mixed.Case@Example.COM".into();
    }
    let groups = &mut state.groups;
    groups[0].description = DESCRIPTION_NEEDING_QUOTES.into();
    groups[1].description = "Billing (ask first); it's: fine?".into();
    groups[2].description = String::new();
    groups[3].name = NAME_NEEDING_QUOTES.into();
    groups[4].description = "yes".into();
    groups[4].members.push(member(FAILED_IAM_ID));
    groups[6].members.push(member(GHOST_IAM_ID));
    state
}

async fn plan_json(config: &Path, emu: &Emulator) -> (Run, Value) {
    let config = config.display().to_string();
    let args = [
        "plan",
        "-c",
        &config,
        "--format",
        "json",
        "--detailed-exitcode",
    ];
    let run = admin(&args).endpoint(&emu.base_url()).run().await;
    let json = run.json();
    (run, json)
}

async fn validate(config: &Path) {
    let run = admin(&["validate", "-c", &config.display().to_string()])
        .run()
        .await;
    assert!(
        run.code == 0 && run.stdout.is_empty() && run.stderr.is_empty(),
        "validate failed:\n{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trip_on_1000_users_and_50_groups_plans_empty_but_for_what_it_names() {
    let emu = start(big_account(), emulator::Options::default()).await;
    let w = Workdir::empty();
    let config = w.path("org.yaml");

    let started = Instant::now();
    let out = export(&emu, &[]).run().await;
    let elapsed = started.elapsed();
    let stderr = &out.stderr;
    assert!(out.code == 0, "export failed:\n{stderr}");
    eprintln!("export of 1,000 users and 50 groups took {elapsed:?} (debug build)");
    let exported = &out.stdout;
    w.write("org.yaml", exported);

    // It validates, and holds the whole account.
    validate(&config).await;
    let desired = orgsync::config::parse_str("org.yaml", exported).expect("valid");
    assert_eq!(desired.groups.len(), 50);
    assert_eq!(
        desired.users.len(),
        999,
        "every user but the failed invitation"
    );
    assert_eq!(
        desired.policy.unlisted_users,
        orgsync::model::UnlistedUsers::Ignore
    );
    let no_group = desired
        .users
        .values()
        .filter(|u| u.groups.is_empty())
        .count();
    assert_eq!(no_group, 24, "the alumni are listed with groups: []");
    assert!(
        desired
            .users
            .keys()
            .any(|e| e.as_str() == "mixed.case@example.com")
    );
    assert!(exported.contains("  mixed.case@example.com:\n"));
    let described = |name: &str| {
        desired.groups[&orgsync::model::GroupName::new(name)]
            .description
            .clone()
    };
    assert_eq!(
        described("project-000").as_deref(),
        Some(DESCRIPTION_NEEDING_QUOTES)
    );
    assert_eq!(
        described("project-001").as_deref(),
        Some("Billing (ask first); it's: fine?")
    );
    assert_eq!(
        described("project-002"),
        None,
        "an empty description is not governed"
    );
    assert_eq!(described("project-004").as_deref(), Some("yes"));
    assert!(
        desired
            .groups
            .contains_key(&orgsync::model::GroupName::new(NAME_NEEDING_QUOTES))
    );
    // Pending invitees are entries (never invited again), marked as such.
    assert_eq!(
        exported
            .matches("# PENDING: invited, not accepted yet")
            .count(),
        20
    );
    // What the file cannot list is a comment, not an entry.
    assert!(
        !desired
            .users
            .keys()
            .any(|e| e.as_str() == "failed.invite@example.com")
    );
    assert!(exported.contains(&format!(
        "#   failed.invite@example.com ({FAILED_IAM_ID}), member of project-004:\n#     its invitation failed"
    )));
    assert!(exported.contains(&format!("    #   {GHOST_IAM_ID}\n")));
    assert_eq!(exported.matches("(service ID)\n").count(), 3);

    // The export names the two memberships the file cannot express ...
    assert!(
        stderr.contains(&format!("  - {FAILED_IAM_ID} from project-004 (failed.invite@example.com: its invitation failed"))
            && stderr.contains(&format!("  - {GHOST_IAM_ID} from project-006 (a user-type member that User Management does not list")),
        "{stderr}"
    );
    // ... and they are exactly the plan's changes.
    let (out, plan) = plan_json(&config, &emu).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    let changes: Vec<(String, String, String)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap_or_default().to_string(),
                c["group"].as_str().unwrap_or_default().to_string(),
                c["iam_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (
                "remove_member".into(),
                "project-004".into(),
                FAILED_IAM_ID.into()
            ),
            (
                "remove_member".into(),
                "project-006".into(),
                GHOST_IAM_ID.into()
            ),
        ]
    );
    assert_eq!(
        plan["unmanaged"]["members"].as_array().map(Vec::len),
        Some(3)
    );

    // Once those two are cleaned up in the console, the same file plans empty.
    let mut state = emu.state();
    for group in &mut state.groups {
        group
            .members
            .retain(|m| m.iam_id != FAILED_IAM_ID && m.iam_id != GHOST_IAM_ID);
    }
    emu.set_state(state);
    let (out, plan) = plan_json(&config, &emu).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(plan["changes"], serde_json::json!([]));
    assert_eq!(plan["summary"]["total"], 0);

    // An export of that account says so itself, and is what was exported before minus the
    // comments about the two memberships.
    let again = export(&emu, &[]).run().await;
    again.expect(0);
    assert!(
        again
            .stderr
            .contains("Planning this file against the account finds no changes."),
        "{}",
        again.stderr
    );
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&again.stdout), strip(exported));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_a_subset_of_groups_round_trips_through_out_file() {
    let mut state = emulator::synthetic(&Synthetic {
        users: 120,
        groups: 10,
        memberships: 300,
        service_ids_in_groups: 2,
        pending_users: 5,
        seed: 3,
    });
    // A failed invitation in none of the exported groups changes nothing.
    state.users.push(user(
        "failed@example.com",
        FAILED_IAM_ID,
        "ERROR_WHILE_PROCESSING",
    ));
    let emu = start(state, emulator::Options::default()).await;
    let w = Workdir::empty();
    let config = w.path("subset.yaml");

    let groups = ["--groups", "project-003, PROJECT-007"];
    let out = export(
        &emu,
        &[&groups[..], &["--out", &w.arg("subset.yaml")]].concat(),
    )
    .run()
    .await;
    out.expect(0);
    assert!(out.stdout.is_empty(), "--out leaves stdout empty");
    assert!(out.stderr.contains("2 groups, 120 users"), "{}", out.stderr);
    assert_eq!(
        w.files(),
        ["subset.yaml"],
        "no temporary file is left behind"
    );

    validate(&config).await;
    let exported = w.read("subset.yaml");
    let desired = orgsync::config::parse_str("subset.yaml", &exported).expect("valid");
    let names: Vec<_> = desired.groups.keys().map(|g| g.as_str()).collect();
    assert_eq!(
        names,
        ["project-003", "project-007"],
        "spelled as the account spells them"
    );
    assert_eq!(desired.users.len(), 120);
    let state = emu.state();
    for live in &state.users {
        let Some(entry) = desired.users.get(&orgsync::model::Email::new(&live.email)) else {
            assert_eq!(
                live.iam_id, FAILED_IAM_ID,
                "only the failed invitation is left out"
            );
            continue;
        };
        let expected: Vec<&str> = state
            .groups
            .iter()
            .filter(|g| g.name == "project-003" || g.name == "project-007")
            .filter(|g| g.members.iter().any(|m| m.iam_id == live.iam_id))
            .map(|g| g.name.as_str())
            .collect();
        let got: Vec<&str> = entry.groups.iter().map(|g| g.as_str()).collect();
        assert_eq!(got, expected, "groups of {}", live.email);
    }

    let (out, plan) = plan_json(&config, &emu).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(plan["changes"], serde_json::json!([]));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_group_names_fail_listing_the_available_groups_and_write_nothing() {
    let state = emulator::synthetic(&Synthetic {
        users: 5,
        groups: 3,
        ..Synthetic::default()
    });
    let emu = start(state, emulator::Options::default()).await;
    let w = Workdir::empty();
    let config = w.path("org.yaml");
    let groups = ["--groups", "project-001,physics,chem"];
    let out = export(
        &emu,
        &[&groups[..], &["--out", &w.arg("org.yaml")]].concat(),
    )
    .run()
    .await;
    out.expect(1);
    assert!(out.stdout.is_empty());
    assert!(!config.exists(), "nothing is written");
    let stderr = &out.stderr;
    assert!(
        stderr.contains(
            "--groups names access groups `physics`, `chem` that the account does not have \
             (names are compared ignoring case); the account has: project-000, project-001, \
             project-002. Fix --groups, or use --all-groups"
        ),
        "{stderr}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_id_must_be_well_formed_and_match_the_api_key() {
    let state = emulator::synthetic(&Synthetic::default());
    let own = state.account_id.clone();
    let emu = start(state, emulator::Options::default()).await;

    let out = export(&emu, &["--account-id", "ACCOUNT"]).run().await;
    out.expect(64);
    assert!(
        out.stderr
            .contains("--account-id `ACCOUNT` is not an IBM Cloud account id")
    );

    let other = "ffffffffffffffffffffffffffffffff";
    let out = export(&emu, &["--account-id", other]).run().await;
    out.expect(1);
    assert!(
        out.stderr
            .contains(&format!("the API key belongs to account {own}")),
        "{}",
        out.stderr
    );

    let out = export(&emu, &["--account-id", &own]).run().await;
    out.expect(0);
    assert!(out.stdout.contains(&format!("account_id: \"{own}\"\n")));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_the_sandbox_plans_empty_against_the_sandbox() {
    let w = Workdir::empty();
    let config = w.path("sandbox.yaml");
    let out = admin(&["export", "--sandbox", "--out", &w.arg("sandbox.yaml")])
        .run()
        .await;
    out.expect(0);
    validate(&config).await;
    let exported = w.read("sandbox.yaml");
    assert!(
        exported
            .contains("    #   iam-ServiceId-5b1d2c3e-0000-4000-8000-00000000c1c1 (service ID)\n")
    );
    // What the groups grant and their rules are written too: the custom role, each policy
    // by instance name, the one policy the file cannot express as a comment, the rules.
    for written in [
        "roles:\n  JobManager:\n    service: quantum-computing\n",
        "      - service: quantum-computing\n        instance: QR-common\n        roles: [JobManager, Viewer]\n",
        "        instance: QR-finance\n        roles: [Reader]\n",
        "(the attribute `region`)",
        "      - name: ml-project\n",
        "        expiration_hours: 12\n",
        "    # Also members, added at login by a dynamic rule (never changed by orgsync):\n    #   IBMid-SBXAPPID001\n",
    ] {
        assert!(exported.contains(written), "{written:?} in:\n{exported}");
    }
    assert!(!exported.contains("proposes removing"), "{exported}");

    let config = config.display().to_string();
    let out = admin(&["plan", "--sandbox", "-c", &config, "--detailed-exitcode"])
        .run()
        .await;
    out.expect(0);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
}

/// What the account holds but the file format refuses (a role's display name with two
/// spaces, a rule's claim with two spaces) is judged by the validator itself: left to a
/// comment, and the export still validates and plans to no changes — not refused as a bug.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_or_rule_the_format_refuses_is_left_to_a_comment_not_an_export_failure() {
    let w = Workdir::empty();
    let state = std::fs::read_to_string("examples/sandbox-state.yaml")
        .unwrap()
        .replace(
            "display_name: Job manager",
            "display_name: \"Job  manager\"",
        )
        .replace(
            "conditions: [{claim: project, operator: EQUALS",
            "conditions: [{claim: \"pro  ject\", operator: EQUALS",
        );
    w.write("state.yaml", &state);
    let state = w.arg("state.yaml");
    let out = admin(&[
        "export",
        "--sandbox-state",
        &state,
        "--out",
        &w.arg("org.yaml"),
    ])
    .run()
    .await;
    out.expect(0);
    let exported = w.read("org.yaml");
    assert!(
        exported.contains("not declared (orgsync leaves it as it is): JobManager: the `display_name` of role `JobManager` contains two spaces in a row"),
        "{exported}"
    );
    assert!(
        exported.contains("`rules` is not written, so orgsync leaves this group's rules"),
        "{exported}"
    );
    validate(&w.path("org.yaml")).await;
    let plan = admin(&[
        "plan",
        "--sandbox-state",
        &state,
        "-c",
        &w.arg("org.yaml"),
        "--detailed-exitcode",
    ])
    .run()
    .await;
    plan.expect(0);
}
