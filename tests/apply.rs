//! `orgsync apply` end to end: the real binary against the emulator started in this
//! process (docs/reconciliation.md, docs/security.md; issue 6). A few tests drive the
//! executor directly, to move the account between planning and applying.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::*;
use orgsync::emulator::{self, KeyType, State};
use serde_json::Value;

fn s(v: &str) -> String {
    v.to_string()
}

fn emails(state: &State) -> Vec<String> {
    state.users.iter().map(|u| u.email.to_lowercase()).collect()
}

fn iam_id_of(state: &State, email: &str) -> Option<String> {
    state
        .users
        .iter()
        .find(|u| u.email.eq_ignore_ascii_case(email))
        .map(|u| u.iam_id.clone())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|i| i.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges_on_every_action_kind_with_json_report_and_audit_log() {
    bounded(120, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let audit = sc.w.arg("audit.jsonl");
        let apply = sc
            .apply(&["--yes", "--format", "json", "--audit-log", &audit])
            .env("ORGSYNC_AUDIT_NOTE", "merge of PR #42 (abc1234)");
        // Plan, apply, and plan again, which must find nothing left to do.
        let Converged { plan, apply } = sc.converge(apply).await;
        let kinds: BTreeSet<&str> = plan["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["action"].as_str())
            .collect();
        assert_eq!(
            kinds,
            BTreeSet::from([
                "create_group",
                "update_group",
                "invite_user",
                "add_member",
                "remove_member",
                "remove_user"
            ])
        );
        let total = plan["summary"]["total"].as_u64().unwrap_or(0);
        assert_eq!(total, 8, "{plan:#}");

        // The report (docs/cli.md): each change's own fields, its status and error.
        let report = apply.json();
        assert_eq!(report["format_version"], 1);
        assert_eq!(
            report["summary"],
            serde_json::json!({"applied": 8, "failed": 0, "skipped": 0})
        );
        let changes = report["changes"].as_array().cloned().unwrap_or_default();
        assert_eq!(changes.len(), 8);
        let planned = plan["changes"].as_array().cloned().unwrap_or_default();
        for (done, planned) in changes.iter().zip(&planned) {
            assert_eq!(done["status"], "applied", "{done}");
            assert_eq!(done["error"], Value::Null, "{done}");
            assert!(done["transaction_id"].is_string(), "{done}");
            let mut fields = done.clone();
            if let Some(obj) = fields.as_object_mut() {
                obj.remove("status");
                obj.remove("error");
                obj.remove("transaction_id");
            }
            assert_eq!(&fields, planned, "the report repeats the change's fields");
        }

        // One audit line per executed change, with the note.
        let lines: Vec<Value> =
            sc.w.read("audit.jsonl")
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                .collect();
        assert_eq!(lines.len(), 8);
        // Lines are written as changes complete, so in completion order.
        for planned in &planned {
            let line = lines
                .iter()
                .find(|l| &l["change"] == planned)
                .unwrap_or(&Value::Null);
            assert_eq!(line["note"], "merge of PR #42 (abc1234)");
            assert_eq!(line["account_id"], ACCOUNT);
            assert_eq!(line["actor"], ADMIN_IAM_ID);
            assert_eq!(line["result"], "applied");
            assert_eq!(line["action"], planned["action"]);
            assert_eq!(&line["change"], planned);
            // Every applied change names the call that made it.
            assert!(
                line["transaction_id"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "{line}"
            );
            assert!(
                line["time"]
                    .as_str()
                    .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
                "{line}"
            );
        }

        let after = sc.emu.state();
        let r = rosters(&after);
        assert_eq!(
            r["algorithms"],
            set(&[
                "alice@example.com",
                "carol@example.com",
                "dave@example.com",
                "erin@example.com",
                &format!("{SERVICE_ID} (service)"),
            ])
        );
        assert_eq!(
            r["chemistry"],
            set(&["alice@example.com", "carol@example.com"])
        );
        assert_eq!(r["education"], set(&["erin@example.com"]));
        assert_eq!(r["finance"], set(&["alice@example.com", "bob@example.com"]));
        assert!(!emails(&after).contains(&s("frank@example.com")));
        let algo = after.groups.iter().find(|g| g.name == "algorithms");
        assert_eq!(
            algo.map(|g| g.description.as_str()),
            Some("Quantum algorithms research")
        );
        // The failed invitation was replaced by a new one; the pending invitee was not
        // invited again.
        let dave = iam_id_of(&after, "dave@example.com");
        assert!(dave.is_some() && dave.as_deref() != Some("IBMid-DAVE000001"));
        assert_eq!(
            iam_id_of(&after, "erin@example.com").as_deref(),
            Some("IBMid-ERIN000001")
        );
        let stats = sc.emu.stats();
        assert_eq!(
            stats["invites_by_email"],
            serde_json::json!({"carol@example.com": 1, "dave@example.com": 1})
        );
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_calls_are_the_batched_minimum() {
    bounded(120, async {
        // 300 adds to one group, 120 removals from another, 25 invites in two group sets.
        let (adders, leavers): (usize, usize) = (300, 120);
        let (solo, pair): (usize, usize) = (15, 10);
        let mut account = Account::new();
        let mut leaver_ids = Vec::new();
        for i in 0..adders {
            account = account.user(
                &format!("add{i:03}@example.com"),
                &format!("IBMid-ADD{i:07}"),
                "ACTIVE",
            );
        }
        for i in 0..leavers {
            let id = format!("IBMid-LEAVE{i:05}");
            account = account.user(&format!("leave{i:03}@example.com"), &id, "ACTIVE");
            leaver_ids.push(id);
        }
        let leaver_refs: Vec<&str> = leaver_ids.iter().map(String::as_str).collect();
        let state = account
            .group(ALGO_ID, "alpha", "", &[])
            .group(CHEM_ID, "beta", "", &leaver_refs)
            .build();
        let mut users: Vec<(String, Vec<String>)> = Vec::new();
        users.extend((0..adders).map(|i| (format!("add{i:03}@example.com"), vec![s("alpha")])));
        users.extend((0..leavers).map(|i| (format!("leave{i:03}@example.com"), vec![])));
        users.extend((0..solo).map(|i| (format!("new{i:03}@example.com"), vec![s("alpha")])));
        users.extend((0..pair).map(|i| {
            (
                format!("pair{i:03}@example.com"),
                vec![s("alpha"), s("beta")],
            )
        }));
        let config = config_yaml(
            ACCOUNT,
            "  max_removals: 200\n",
            &[(s("alpha"), None), (s("beta"), None)],
            &users,
        );
        let sc = Scenario::start(state, &config).await;
        sc.emu.reset_stats();
        sc.converge(sc.apply(&["--yes"])).await;
        let stats = sc.emu.stats();
        let batch = 10usize;
        let invite_calls = (solo.div_ceil(batch) + pair.div_ceil(batch)) as u64;
        let expected = BTreeMap::from([
            (
                "PUT /v2/groups/{access_group_id}/members",
                adders.div_ceil(50) as u64,
            ),
            (
                "POST /v2/groups/{access_group_id}/members/delete",
                leavers.div_ceil(50) as u64,
            ),
            ("POST /v2/accounts/{account_id}/users", invite_calls),
        ]);
        assert_eq!(writes(&stats), expected, "{stats:#}");
        assert_eq!(expected.values().sum::<u64>(), 6 + 3 + 3);
        eprintln!(
            "write calls for 300 adds, 120 removals, 25 invites: {:?}",
            writes(&stats)
        );

        let r = rosters(&sc.emu.state());
        assert_eq!(r["alpha"].len(), adders + solo + pair);
        assert_eq!(r["beta"].len(), pair);
        sc.shutdown().await;
    })
    .await;
}

/// A small account whose plan has one of each membership change.
fn small_scenario(max_removals: u32) -> (State, String) {
    (small_account().build(), small_config(max_removals))
}

fn small_account() -> Account {
    Account::new()
        .user("alice@example.com", "IBMid-ALICE00001", "ACTIVE")
        .user("bob@example.com", "IBMid-BOB0000001", "ACTIVE")
        .user("carol@example.com", "IBMid-CAROL00001", "ACTIVE")
        .user("dan@example.com", "IBMid-DAN0000001", "ACTIVE")
        .group(
            ALGO_ID,
            "algorithms",
            "",
            &["IBMid-BOB0000001", "IBMid-CAROL00001", "IBMid-DAN0000001"],
        )
        .group(CHEM_ID, "chemistry", "", &["IBMid-ALICE00001"])
}

fn small_config(max_removals: u32) -> String {
    config_yaml(
        ACCOUNT,
        &format!("  max_removals: {max_removals}\n"),
        &[(s("algorithms"), None), (s("chemistry"), None)],
        &[
            (
                s("alice@example.com"),
                vec![s("algorithms"), s("chemistry")],
            ),
            (s("bob@example.com"), vec![]),
            (s("carol@example.com"), vec![]),
            (s("dan@example.com"), vec![]),
            (s("zoe@example.com"), vec![s("chemistry")]),
        ],
    )
}

/// `plan --out plan.json`, which must succeed; returns the saved plan's path.
async fn save_plan(sc: &Scenario) -> String {
    let out = sc.w.arg("plan.json");
    sc.plan(&["--out", &out]).run().await.expect(0);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_applies_without_prompt_when_nothing_moved() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        let out = save_plan(&sc).await;
        // No --yes and no terminal: a saved plan was reviewed, so none is needed.
        let apply = sc.apply(&[&out]).run().await;
        apply.expect(0);
        assert!(
            apply
                .stdout
                .contains("Apply: 5 applied, 0 failed, 0 skipped."),
            "{}",
            apply.stdout
        );
        sc.assert_no_changes().await;
        sc.shutdown().await;
    })
    .await;
}

/// Runs `apply` and checks it is refused with exit 3 and that nothing at all was written:
/// the whole account is the same before and after, and no write call reached it.
async fn assert_refused_untouched(emu: &emulator::Emulator, apply: Orgsync, why: &str) -> Run {
    let before = emu.state();
    emu.reset_stats();
    let run = apply.run().await;
    run.expect(3);
    assert!(
        run.stderr.contains(why),
        "stderr lacks {why:?}:\n{}",
        run.stderr
    );
    assert_eq!(
        emu.state(),
        before,
        "the account changed although apply was refused"
    );
    assert_eq!(
        writes(&emu.stats()),
        BTreeMap::new(),
        "a refused apply made write calls"
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_is_refused_when_a_membership_moved_in_between() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        let out = save_plan(&sc).await;
        // Someone adds alice to algorithms in the console: the saved add is no longer needed.
        let mut moved = sc.emu.state();
        if let Some(g) = moved.groups.iter_mut().find(|g| g.name == "algorithms") {
            g.members.push(member("IBMid-ALICE00001"));
        }
        sc.emu.set_state(moved);
        let run = assert_refused_untouched(
            &sc.emu,
            sc.apply(&[&out, "--yes"]),
            "the account changed since the plan was saved",
        )
        .await;
        assert!(
            run.stderr.contains(
                "- add_member alice@example.com (IBMid-ALICE00001) to algorithms (no longer needed)"
            ),
            "{}",
            run.stderr
        );
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_is_refused_when_the_config_changed() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        let out = save_plan(&sc).await;
        sc.w.write(
            "org.yaml",
            &config.replace(
                "  carol@example.com:\n    groups: []",
                "  carol@example.com:\n    groups: [algorithms]",
            ),
        );
        assert_refused_untouched(
            &sc.emu,
            sc.apply(&[&out, "--yes"]),
            "the config file changed since the plan was saved",
        )
        .await;
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_over_max_removals_are_refused_unless_allowed() {
    bounded(60, async {
        // Three removals (bob, carol, dan from algorithms) against max_removals 2.
        let (state, config) = small_scenario(2);
        let sc = Scenario::start(state, &config).await;
        let run = assert_refused_untouched(
            &sc.emu,
            sc.apply(&["--yes"]),
            "more than policy.max_removals (2)",
        )
        .await;
        assert!(run.stderr.contains("--allow-removals 3"), "{}", run.stderr);
        // Allowing fewer than needed is still a refusal.
        assert_refused_untouched(
            &sc.emu,
            sc.apply(&["--yes", "--allow-removals", "2"]),
            "removes 3 memberships or users",
        )
        .await;
        let apply = sc.apply(&["--yes", "--allow-removals", "3"]);
        apply.run().await.expect(0);
        assert_eq!(
            rosters(&sc.emu.state())["algorithms"],
            set(&["alice@example.com"])
        );
        sc.assert_no_changes().await;
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_without_a_terminal_or_yes_is_refused() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        // A "yes" piped in is not a person at a terminal: it confirms nothing.
        let apply = sc.apply(&[]).stdin("yes\n");
        let run = assert_refused_untouched(&sc.emu, apply, "pass --yes").await;
        // The plan was still shown, so the person knows what --yes would do.
        assert!(
            run.stdout
                .contains("Plan: 1 to invite, 1 to add, 3 to remove."),
            "{}",
            run.stdout
        );
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_with_nothing_to_do_says_so_and_prints_an_empty_json_report() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        sc.apply(&["--yes"]).run().await.expect(0);
        sc.emu.reset_stats();
        // No --yes: with nothing to do there is nothing to confirm.
        let run = sc.apply(&["--format", "json"]).run().await;
        run.expect(0);
        assert_eq!(
            run.json(),
            serde_json::json!({
                "format_version": 1,
                "account_id": ACCOUNT,
                "changes": [],
                "summary": {"applied": 0, "failed": 0, "skipped": 0},
                "warnings": []
            })
        );
        assert_eq!(writes(&sc.emu.stats()), BTreeMap::new());
        sc.shutdown().await;
    })
    .await;
}

/// The large scenario of the fault test: over 500 changes of every kind over 7 groups,
/// failed invitations replaced included.
struct Large {
    state: State,
    config: String,
    /// Group name → the emails the file places there.
    desired: BTreeMap<String, BTreeSet<String>>,
    invited: Vec<String>,
    removed_users: Vec<String>,
    changes: usize,
}

/// The service ID in g0 the plan leaves alone.
const SERVICE_IN_G0: &str = "iam-ServiceId-0a1b2c3d-0000-4000-8000-0000000000aa";

fn large_scenario() -> Large {
    let groups: Vec<String> = (0..5).map(|g| format!("g{g}")).collect();
    let mut b = LargeBuilder::default();
    b.users.push((s(ADMIN_EMAIL), vec![]));
    b.existing_users(&groups);
    b.newcomers();
    // Every one of the first 20 add users also joins new1 (a group this apply creates).
    for (_, gs) in b
        .users
        .iter_mut()
        .filter(|(e, _)| e.starts_with("add0"))
        .take(20)
    {
        gs.push(s("new1"));
        b.changes += 1;
    }
    b.changes += 2 + 5; // creates, description updates
    b.members.entry(s("g0")).or_default().push(s(SERVICE_IN_G0));
    b.finish(&groups, &[s("new0"), s("new1")])
}

/// [`Large`] while it is built: the account, the members of the existing groups, the
/// file's users, and what the plan must do.
#[derive(Default)]
struct LargeBuilder {
    account: Account,
    members: BTreeMap<String, Vec<String>>,
    users: Vec<(String, Vec<String>)>,
    invited: Vec<String>,
    removed_users: Vec<String>,
    changes: usize,
}

impl LargeBuilder {
    /// Users already in the account, in `groups`.
    fn existing_users(&mut self, groups: &[String]) {
        // 250 adds: 50 existing users per group.
        for (gi, g) in groups.iter().enumerate() {
            for i in 0..50 {
                let id = format!("IBMid-ADD{gi}{i:05}");
                self.user(
                    &format!("add{gi}{i:02}"),
                    &id,
                    "ACTIVE",
                    &[],
                    Some(vec![g.clone()]),
                );
                self.changes += 1;
            }
        }
        // 100 member removals: 20 per group, listed in no group.
        for (gi, g) in groups.iter().enumerate() {
            for i in 0..20 {
                let id = format!("IBMid-RM{gi}{i:06}");
                let member_of = std::slice::from_ref(g);
                self.user(
                    &format!("rm{gi}{i:02}"),
                    &id,
                    "ACTIVE",
                    member_of,
                    Some(vec![]),
                );
                self.changes += 1;
            }
        }
        // 40 users already right (no change), in g0 and g1.
        let both = [s("g0"), s("g1")];
        for i in 0..40 {
            let id = format!("IBMid-KEEP{i:05}");
            self.user(
                &format!("keep{i:02}"),
                &id,
                "ACTIVE",
                &both,
                Some(both.to_vec()),
            );
        }
        // 25 unlisted users → remove_user.
        for i in 0..25 {
            let (id, member_of) = (format!("IBMid-GONE{i:05}"), &groups[i % 5..=i % 5]);
            let email = self.user(&format!("gone{i:02}"), &id, "ACTIVE", member_of, None);
            self.removed_users.push(email);
            self.changes += 1;
        }
    }

    /// People the account lacks or whose invitation failed: all invited.
    fn newcomers(&mut self) {
        // 120 invites in three group sets.
        for i in 0..120 {
            let gs = match i % 3 {
                0 => vec![s("g0")],
                1 => vec![s("g1"), s("g2")],
                _ => vec![s("new0")],
            };
            self.invitee(&format!("inv{i:03}@example.com"), gs);
        }
        // 6 failed invitations (ERROR_WHILE_PROCESSING, stuck in g4) → removed, invited again.
        for i in 0..6 {
            let id = format!("IBMid-ERR{i:06}");
            let (g4, g3) = (vec![s("g4")], vec![s("g3")]);
            let state = "ERROR_WHILE_PROCESSING";
            let email = self.user(&format!("err{i}"), &id, state, &g4, Some(g3));
            self.invited.push(email);
            self.changes += 1;
        }
    }

    /// `NAME@example.com`, a user of the account and a member of the groups `member_of`,
    /// whom the file lists in the groups `listed` (`None`: not at all). Returns the email.
    fn user(
        &mut self,
        name: &str,
        id: &str,
        state: &str,
        member_of: &[String],
        listed: Option<Vec<String>>,
    ) -> String {
        let email = format!("{name}@example.com");
        self.account = std::mem::take(&mut self.account).user(&email, id, state);
        for g in member_of {
            let members = self.members.entry(g.clone()).or_default();
            members.push(id.to_string());
        }
        if let Some(groups) = listed {
            self.users.push((email.clone(), groups));
        }
        email
    }

    /// Someone the file lists in `groups` and the account lacks: one invitation.
    fn invitee(&mut self, email: &str, groups: Vec<String>) {
        self.users.push((email.to_string(), groups));
        self.invited.push(email.to_string());
        self.changes += 1;
    }

    /// The account with `groups` (old descriptions) and an unmanaged `finance`; the file
    /// declares `groups` with new descriptions and `new_groups`.
    fn finish(self, groups: &[String], new_groups: &[String]) -> Large {
        let mut account = self.account;
        for (gi, g) in groups.iter().enumerate() {
            let refs: Vec<&str> = self
                .members
                .get(g)
                .map(|m| m.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let id = format!("AccessGroupId-0a1b2c3d-0000-4000-8000-0000000001{gi:02}");
            account = account.group(&id, g, "old description", &refs);
        }
        // An unmanaged group: never read, never changed.
        let finance = ["IBMid-ADD000000", "IBMid-KEEP00000"];
        let state = account.group(FINANCE_ID, "finance", "", &finance).build();
        let mut group_decls: Vec<(String, Option<String>)> = groups
            .iter()
            .map(|g| (g.clone(), Some(format!("Project {g}"))))
            .collect();
        group_decls.extend(new_groups.iter().map(|g| (g.clone(), None)));
        let policy = "  unlisted_users: remove\n  max_removals: 200\n";
        let config = config_yaml(ACCOUNT, policy, &group_decls, &self.users);
        let mut desired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for g in groups.iter().chain(new_groups) {
            desired.insert(g.clone(), BTreeSet::new());
        }
        for (email, gs) in &self.users {
            for g in gs {
                desired.entry(g.clone()).or_default().insert(email.clone());
            }
        }
        let service = format!("{SERVICE_IN_G0} (service)");
        desired.entry(s("g0")).or_default().insert(service);
        Large {
            state,
            config,
            desired,
            invited: self.invited,
            removed_users: self.removed_users,
            changes: self.changes,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_in_one_run_under_faults_without_inviting_anyone_twice() {
    // Two seeds: request order varies with concurrency anyway, so each run meets other
    // faults; two runs cost a few seconds and double the chances to catch a double invite.
    let (mut served_5xx, mut drops) = (0, 0);
    for seed in [7, 8] {
        let stats = converges_under_faults(seed).await;
        served_5xx += stats["served_5xx"].as_u64().unwrap_or(0);
        drops += stats["drops"].as_u64().unwrap_or(0);
    }
    // The faults did happen (each run meets a handful; 429s depend on the machine's speed,
    // so they are reported above but not required).
    assert!(
        served_5xx > 0 && drops > 0,
        "5xx {served_5xx}, drops {drops}"
    );
}

/// One converging apply of [`large_scenario`] under faults; returns the emulator's stats.
async fn converges_under_faults(seed: u64) -> Value {
    bounded(300, async {
        let large = large_scenario();
        let options = emulator::Options {
            seed,
            fail_rate: 0.1,
            drop_rate: 0.05,
            rate_limit: 50.0,
            ..emulator::Options::default()
        };
        let sc = Scenario::start_with(large.state.clone(), &large.config, options).await;
        let emu = &sc.emu;
        let finance_before = emu.state().groups.into_iter().find(|g| g.name == "finance");

        let planned = sc.plan_json().await["summary"]["total"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(planned as usize, large.changes);
        assert!(large.changes >= 500, "{}", large.changes);

        emu.reset_stats();
        let started = Instant::now();
        let apply = sc
            .apply(&["--yes", "--format", "json"])
            .timeout(Duration::from_secs(240))
            .run()
            .await;
        let took = started.elapsed();
        apply.expect(0);
        let report = apply.json();
        let applied = report["summary"]["applied"].as_u64();
        assert_eq!(applied, Some(large.changes as u64), "{}", report["summary"]);
        let stats = emu.stats();
        eprintln!(
            "fault run (seed {seed}): {} changes in {:.1} s; {} requests \
             (429: {}, 5xx: {}, drops: {}); writes {:?}",
            large.changes,
            took.as_secs_f64(),
            stats["total"],
            stats["served_429"],
            stats["served_5xx"],
            stats["drops"],
            writes(&stats)
        );

        assert_large_converged(&large, &stats, &emu.state(), finance_before.as_ref());
        sc.assert_no_changes().await;
        sc.shutdown().await;
        stats
    })
    .await
}

/// After the apply of [`large_scenario`]: nobody was invited twice, the final state is the
/// desired state, and the unmanaged `finance` group has the members it had.
fn assert_large_converged(
    large: &Large,
    stats: &Value,
    after: &State,
    finance_before: Option<&emulator::Group>,
) {
    // Every accepted invitation is counted per email.
    let invites = stats["invites_by_email"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let twice: Vec<_> = invites
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(1))
        .collect();
    assert!(twice.is_empty(), "invited more than once: {twice:?}");
    let invited: BTreeSet<&str> = invites.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = large.invited.iter().map(String::as_str).collect();
    assert_eq!(invited, expected);

    let all = emails(after);
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "an email is in the account twice"
    );
    for gone in &large.removed_users {
        assert!(!all.contains(gone), "{gone} is still in the account");
    }
    let r = rosters(after);
    for (group, want) in &large.desired {
        assert_eq!(r.get(group), Some(want), "members of {group}");
    }
    // Outside the plan nothing moved.
    let finance_after = after.groups.iter().find(|g| g.name == "finance");
    assert_eq!(
        finance_after.map(|g| &g.members),
        finance_before.map(|g| &g.members)
    );
}

/// What the executor needs, made the way `orgsync apply` makes it: the config parsed, the
/// account read, the plan computed. Used where the account must move between plan and
/// apply, which the binary cannot be paused for.
struct InProcess {
    client: orgsync::iam::Client,
    account: orgsync::model::AccountId,
    plan: orgsync::plan::Plan,
    group_ids: BTreeMap<orgsync::model::GroupName, orgsync::model::AccessGroupId>,
}

async fn plan_in_process(emu: &emulator::Emulator, config: &str) -> InProcess {
    use orgsync::iam;
    use orgsync::model::{AccountId, Date, GroupName};
    let desired = match orgsync::config::parse_str("org.yaml", config) {
        Ok(d) => d,
        Err(e) => panic!("the test config is invalid: {}", e.render(false)),
    };
    let client = Connect::to(&emu.base_url())
        .key(KEY)
        .timeout(Duration::from_secs(10))
        .deadline(Duration::from_secs(30))
        .client();
    let account = AccountId::new(ACCOUNT);
    let managed: Vec<GroupName> = desired.groups.keys().cloned().collect();
    let live = iam::acquire(&client, &account, &iam::members_only(&managed))
        .await
        .expect("acquire");
    let today = Date::parse(TODAY).expect("date");
    let plan =
        orgsync::plan::plan(&desired, &live, &orgsync::plan::Options { today }).expect("plan");
    let group_ids = live
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.id.clone()))
        .collect();
    InProcess {
        client,
        account,
        plan,
        group_ids,
    }
}

impl InProcess {
    async fn apply(&self) -> orgsync::executor::ApplyReport {
        orgsync::executor::apply(
            &self.plan,
            &self.account,
            &self.group_ids,
            &self.client,
            &orgsync::executor::Options::default(),
            None,
        )
        .await
    }
}

/// Each change's one-line description and status, for lookups and failure messages.
fn statuses(
    report: &orgsync::executor::ApplyReport,
) -> BTreeMap<String, orgsync::executor::Status> {
    report
        .entries
        .iter()
        .map(|e| (e.change.to_string(), e.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_deleted_between_plan_and_apply_fails_only_its_own_changes() {
    use orgsync::executor::{Problem, SkipReason, Status};
    use orgsync::model::GroupName;

    bounded(60, async {
        const KEEP: &str = ALGO_ID;
        const DOOMED: &str = CHEM_ID;
        let state = Account::new()
            .user("alice@example.com", "IBMid-ALICE00001", "ACTIVE")
            .user("bob@example.com", "IBMid-BOB0000001", "ACTIVE")
            .user("carol@example.com", "IBMid-CAROL00001", "ACTIVE")
            .user("dan@example.com", "IBMid-DAN0000001", "ACTIVE")
            .user("hal@example.com", "IBMid-HAL0000001", "ACTIVE")
            .group(
                KEEP,
                "keep",
                "Kept",
                &["IBMid-ALICE00001", "IBMid-DAN0000001"],
            )
            .group(
                DOOMED,
                "doomed",
                "Old",
                &["IBMid-ALICE00001", "IBMid-DAN0000001"],
            )
            .build();
        let config = config_yaml(
            ACCOUNT,
            "",
            &[
                (s("keep"), None),
                (s("doomed"), Some(s("New"))),
                (s("late"), None),
            ],
            &[
                (s(ADMIN_EMAIL), vec![]),
                (
                    s("alice@example.com"),
                    vec![s("keep"), s("doomed"), s("late")],
                ),
                (s("bob@example.com"), vec![s("keep")]),
                (s("carol@example.com"), vec![s("doomed")]),
                (s("dan@example.com"), vec![]),
                (s("erin@example.com"), vec![s("keep")]),
                (s("fay@example.com"), vec![s("doomed")]),
                (s("gus@example.com"), vec![s("keep"), s("late")]),
                (s("hal@example.com"), vec![s("keep")]),
            ],
        );
        let emu = start(state, emulator::Options::default()).await;
        let run = plan_in_process(&emu, &config).await;

        // Between plan and apply: `doomed` is deleted in the console; someone creates `late`
        // by hand, so this apply's create of it fails; hal is put in 50 other groups, IBM's
        // limit, so IBM's 207 answer to the add that carries him and bob fails him alone.
        let mut moved = emu.state();
        moved.groups.retain(|g| g.id != DOOMED);
        let template = (moved.groups.iter().flat_map(|g| g.members.iter()))
            .next()
            .cloned()
            .expect("a member to copy");
        let crowded: Vec<emulator::Group> = (0..50)
            .map(|n| emulator::Group {
                id: format!("AccessGroupId-0a1b2c3d-0000-4000-8000-0000000001{n:02}"),
                name: format!("hal-{n}"),
                description: String::new(),
                members: vec![emulator::Member {
                    iam_id: s("IBMid-HAL0000001"),
                    ..template.clone()
                }],
                ..moved.groups[0].clone()
            })
            .collect();
        moved.groups.extend(crowded);
        let mut late = moved
            .groups
            .iter()
            .find(|g| g.id == KEEP)
            .cloned()
            .expect("keep");
        late.id = s("AccessGroupId-0a1b2c3d-0000-4000-8000-0000000000ff");
        late.name = s("late");
        late.members.clear();
        moved.groups.push(late);
        emu.set_state(moved);
        emu.reset_stats();

        let report = run.apply().await;
        let got = statuses(&report);
        let expect = BTreeMap::from([
            (s("create_group late"), Status::Failed),
            (
                s("update_group doomed description \"Old\" -> \"New\""),
                Status::Failed,
            ),
            (s("invite_user erin@example.com into keep"), Status::Applied),
            (s("invite_user fay@example.com into doomed"), Status::Failed),
            (
                s("invite_user gus@example.com into keep, late"),
                Status::Skipped,
            ),
            (
                s("add_member bob@example.com (IBMid-BOB0000001) to keep"),
                Status::Applied,
            ),
            (
                s("add_member hal@example.com (IBMid-HAL0000001) to keep"),
                Status::Failed,
            ),
            (
                s("add_member carol@example.com (IBMid-CAROL00001) to doomed"),
                Status::Failed,
            ),
            (
                s("add_member alice@example.com (IBMid-ALICE00001) to late"),
                Status::Skipped,
            ),
            (
                s("remove_member dan@example.com (IBMid-DAN0000001) from doomed"),
                Status::Failed,
            ),
            (
                s("remove_member dan@example.com (IBMid-DAN0000001) from keep"),
                Status::Applied,
            ),
        ]);
        assert_eq!(got, expect);
        // bob and hal went in one PUT: the 207 told them apart.
        assert_eq!(
            calls(&emu.stats(), "PUT /v2/groups/{access_group_id}/members"),
            2
        );
        // Failures carry IBM's answer; skips say what they depended on.
        for e in &report.entries {
            match e.status {
                Status::Failed => assert!(
                    matches!(&e.error, Some(Problem::Api(info)) if info.status.is_some()),
                    "{e:?}"
                ),
                Status::Skipped => assert_eq!(
                    e.error,
                    Some(Problem::Skipped(SkipReason::CreateFailed(GroupName::new(
                        "late"
                    )))),
                    "{e:?}"
                ),
                Status::Applied => assert!(e.error.is_none()),
            }
        }
        assert!(report.has_failures());

        // The JSON report (docs/cli.md).
        let json: Value = serde_json::from_str(&report.to_json()).expect("report JSON");
        assert_eq!(json["format_version"], 1);
        assert_eq!(
            json["summary"],
            serde_json::json!({"applied": 3, "failed": 6, "skipped": 2})
        );
        let find = |email: &str| {
            json["changes"]
                .as_array()
                .and_then(|c| {
                    c.iter()
                        .find(|c| c["action"] == "add_member" && c["email"] == email)
                })
                .cloned()
                .unwrap_or_default()
        };
        let carol = find("carol@example.com");
        assert_eq!(carol["group_id"], DOOMED);
        assert_eq!(carol["status"], "failed");
        assert_eq!(carol["error"]["status"], 404);
        assert!(
            carol["error"]["code"].is_string() && carol["error"]["message"].is_string(),
            "{carol}"
        );
        assert!(
            carol["error"]
                .as_object()
                .is_some_and(|o| o.contains_key("transaction_id")),
            "{carol}"
        );
        let hal = find("hal@example.com");
        assert_eq!(hal["status"], "failed");
        assert_eq!(
            hal["error"]["status"], 400,
            "the per-member status of the 207: {hal}"
        );

        let after = emu.state();
        let r = rosters(&after);
        assert_eq!(
            r["keep"],
            set(&["alice@example.com", "bob@example.com", "erin@example.com"])
        );
        assert_eq!(r["late"], BTreeSet::new());
        let all = emails(&after);
        assert!(!all.contains(&s("fay@example.com")) && !all.contains(&s("gus@example.com")));
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_answered_409_processing_counts_as_landed_and_the_rest_are_invited_once() {
    use orgsync::executor::Status;

    bounded(60, async {
        let state = Account::new().group(ALGO_ID, "algorithms", "", &[]).build();
        let config = config_yaml(
            ACCOUNT,
            "",
            &[(s("algorithms"), None)],
            &[
                (s(ADMIN_EMAIL), vec![]),
                (s("xena@example.com"), vec![s("algorithms")]),
                (s("yuri@example.com"), vec![s("algorithms")]),
                (s("zack@example.com"), vec![s("algorithms")]),
            ],
        );
        let emu = start(state, emulator::Options::default()).await;
        let run = plan_in_process(&emu, &config).await;
        // Meanwhile someone invites yuri in the console; the invitation is still processing,
        // so IBM blocks any invite request naming yuri with 409.
        let mut moved = emu.state();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut yuri = user("yuri@example.com", "IBMid-YURI000001", "PROCESSING");
        yuri.processing_until = Some(now_ms + 600_000);
        moved.users.push(yuri);
        if let Some(g) = moved.groups.iter_mut().find(|g| g.id == ALGO_ID) {
            g.members.push(member("IBMid-YURI000001"));
        }
        emu.set_state(moved);
        emu.reset_stats();

        let report = run.apply().await;
        assert!(
            report.entries.iter().all(|e| e.status == Status::Applied),
            "{:#?}",
            statuses(&report)
        );
        let stats = emu.stats();
        // The batch was refused whole (409), the users re-read, and only the two emails
        // that had not landed were sent again.
        assert_eq!(calls(&stats, "POST /v2/accounts/{account_id}/users"), 2);
        assert_eq!(stats["by_status"]["409"], 1);
        assert_eq!(
            stats["invites_by_email"],
            serde_json::json!({"xena@example.com": 1, "zack@example.com": 1})
        );
        let r = rosters(&emu.state());
        assert_eq!(
            r["algorithms"],
            set(&["xena@example.com", "yuri@example.com", "zack@example.com"])
        );
        emu.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_change_exits_1_reports_ibms_error_and_the_others_still_apply() {
    bounded(60, async {
        let sc = Scenario::start(small_account().build(), &small_config(10)).await;
        // IBM refuses zoe's invitation (a proxy answers it with User Management's 403).
        let invites = format!("/v2/accounts/{ACCOUNT}/users");
        let proxy = Stub::proxy(sc.emu.base_url(), move |seen, _| {
            let body = serde_json::json!({
                "errors": [{"code": "forbidden", "message": "The user does not have permission to invite"}],
                "status_code": 403, "trace": "proxy-403"});
            (seen.method == "POST" && seen.path == invites).then(|| Reply::json(403, body))
        })
        .await;
        let sc = sc.endpoint(&proxy.base);
        let audit = sc.w.arg("audit.jsonl");
        let run = sc.apply(&["--yes", "--audit-log", &audit]).run().await;
        run.expect(1);
        assert!(
            run.stdout
                .contains("Apply: 4 applied, 1 failed, 0 skipped."),
            "{}",
            run.stdout
        );
        let failed: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("failed"))
            .collect();
        assert_eq!(failed.len(), 1, "{}", run.stdout);
        assert!(
            failed[0].contains("invite_user zoe@example.com") && failed[0].contains("HTTP 403"),
            "{}",
            failed[0]
        );
        let lines: Vec<Value> =
            sc.w.read("audit.jsonl")
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                .collect();
        assert_eq!(lines.len(), 5);
        let invite = lines
            .iter()
            .find(|l| l["action"] == "invite_user")
            .cloned()
            .unwrap_or_default();
        assert_eq!(invite["result"], "failed");
        assert_eq!(invite["error"]["status"], 403);
        assert_eq!(invite["note"], Value::Null);
        let r = rosters(&sc.emu.state());
        assert_eq!(r["algorithms"], set(&["alice@example.com"]));

        // Once IBM accepts the invitation, running it again finishes the job.
        let direct = sc.emu.base_url();
        let sc = sc.endpoint(&direct);
        sc.converge(sc.apply(&["--yes"])).await;
        sc.shutdown().await;
    })
    .await;
}

/// A service ID's key cannot invite or remove users (docs/ibm-api.md): a plan that needs
/// either is refused before the first write, rather than half-applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_id_key_is_refused_before_any_write_when_the_plan_invites() {
    bounded(60, async {
        const SERVICE_KEY: &str = "e2e-service-api-key";
        let state = small_account()
            .api_key(SERVICE_KEY, SERVICE_ID, KeyType::Service)
            .build();
        let sc = Scenario::start(state, &small_config(10)).await;
        let before = rosters(&sc.emu.state());
        // plan says so first.
        let plan = sc.plan(&[]).api_key(SERVICE_KEY).run().await;
        plan.expect(0);
        assert!(
            plan.stdout
                .contains(&format!("orgsync runs as service ID {SERVICE_ID}")),
            "{}",
            plan.stdout
        );
        let run = sc.apply(&["--yes"]).api_key(SERVICE_KEY).run().await;
        run.expect(3);
        assert!(
            run.stderr
                .contains(&format!("orgsync runs as service ID {SERVICE_ID}"))
                && run.stderr.contains("invite_user zoe@example.com"),
            "{}",
            run.stderr
        );
        assert_eq!(rosters(&sc.emu.state()), before, "nothing was changed");
        assert!(writes(&sc.emu.stats()).is_empty(), "{:?}", sc.emu.stats());

        // The JSON report refuses every change, so a consumer still gets one.
        let json = (sc.apply(&["--yes", "--format", "json"]))
            .api_key(SERVICE_KEY)
            .run()
            .await;
        json.expect(3);
        let report: Value = serde_json::from_str(&json.stdout).unwrap_or(Value::Null);
        let results: Vec<&Value> = (report["changes"].as_array().into_iter().flatten())
            .map(|c| &c["status"])
            .collect();
        assert_eq!(results.len(), 5, "{}", json.stdout);
        assert!(results.iter().all(|r| *r == "refused"), "{}", json.stdout);
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_api_key_nor_a_token_appears_at_the_highest_verbosity() {
    bounded(60, async {
        let (state, config) = every_kind();
        let sc = Scenario::start(state, &config).await;
        let out = sc.w.arg("plan.json");
        let runs = [
            sc.orgsync(&["-vvv", "plan", "--out", &out]).run().await,
            sc.orgsync(&["-vvv", "apply", &out]).run().await,
        ];
        for run in &runs {
            run.expect(0);
            // -vvv did log the calls, so the check below looked at real traffic.
            assert!(run.stderr.contains("IBM Cloud call"), "{}", run.stderr);
            for text in [&run.stdout, &run.stderr] {
                assert!(!text.contains(KEY), "the API key leaked");
                // Every token the emulator issues is a JWT, whose header starts `eyJ`.
                assert!(!text.contains("eyJ"), "a token leaked:\n{text}");
                assert!(!text.to_lowercase().contains("bearer "), "{text}");
            }
        }
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_that_is_not_a_plan_is_refused_before_any_request() {
    bounded(60, async {
        let (state, config) = small_scenario(10);
        let sc = Scenario::start(state, &config).await;
        sc.w.write(
            "plan.json",
            "{\"format_version\": 1, \"changes\": \"all of them\"}",
        );
        let plan = sc.w.arg("plan.json");
        sc.emu.reset_stats();
        let run = sc.apply(&[&plan, "--yes"]).run().await;
        run.expect(64);
        assert!(run.stderr.contains("plan.json"), "{}", run.stderr);
        assert!(run.stderr.contains("plan --out"), "{}", run.stderr);
        assert_eq!(sc.emu.stats()["total"], 0);
        sc.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_lets_calls_in_flight_finish_reports_the_rest_skipped_and_audits_what_was_done() {
    bounded(90, async {
        // 20 unlisted users to remove, one call each; slow calls, one at a time.
        let mut account = Account::new();
        let users = vec![(s(ADMIN_EMAIL), vec![])];
        for i in 0..20 {
            account = account.user(
                &format!("x{i:02}@example.com"),
                &format!("IBMid-X{i:07}"),
                "ACTIVE",
            );
        }
        let config = config_yaml(
            ACCOUNT,
            "  unlisted_users: remove\n  max_removals: 50\n",
            &[],
            &users,
        );
        let options = emulator::Options {
            latency: Duration::from_millis(150),
            ..emulator::Options::default()
        };
        let sc = Scenario::start_with(account.build(), &config, options).await;
        let emu = &sc.emu;
        let audit = sc.w.arg("audit.jsonl");
        let args = [
            "--yes",
            "--parallelism",
            "1",
            "--format",
            "json",
            "--audit-log",
            &audit,
        ];
        let running = sc.apply(&args).spawn();
        // Interrupt once the removals have begun (not while the account is being read).
        let deadline = Instant::now() + Duration::from_secs(30);
        while calls(
            &emu.stats(),
            "DELETE /v2/accounts/{account_id}/users/{iam_id}",
        ) == 0
        {
            assert!(
                Instant::now() < deadline,
                "the apply never started removing"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.interrupt();
        let run = running.finish().await;
        run.expect(1);
        assert!(run.stderr.contains("Interrupted"), "{}", run.stderr);
        let report = run.json();
        let count = |status: &str| {
            report["changes"]
                .as_array()
                .map_or(0, |c| c.iter().filter(|c| c["status"] == status).count())
        };
        let (applied, skipped) = (count("applied"), count("skipped"));
        eprintln!("interrupted apply: {applied} applied, {skipped} skipped");
        assert!(applied >= 1 && skipped >= 1, "{}", report["summary"]);
        assert_eq!(applied + skipped, 20, "{}", report["summary"]);
        let skipped_note = report["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["status"] == "skipped"))
            .map(|c| c["error"]["message"].to_string())
            .unwrap_or_default();
        assert!(skipped_note.contains("interrupted"), "{skipped_note}");
        // What the report calls applied is exactly what happened, and the audit log has it.
        let left = emu.state().users.len();
        assert_eq!(left, 1 + 20 - applied, "admin plus the users not removed");
        assert_eq!(sc.w.read("audit.jsonl").lines().count(), applied);

        // Running it again finishes the job.
        let again = sc.apply(&["--yes", "--allow-removals", "50"]);
        again.run().await.expect(0);
        assert_eq!(emu.state().users.len(), 1);
        sc.assert_no_changes().await;
        sc.shutdown().await;
    })
    .await;
}

/// Verification reads invitees by IAM id (one round trip, all at once) when that beats
/// re-listing the account (a cursor chain of ⌈users/100⌉ dependent round trips); in a
/// one-page account the listing stays the cheaper read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_verified_by_iam_id_when_that_beats_re_listing_the_account() {
    bounded(120, async {
        for (existing, by_id) in [(1_000usize, true), (5, false)] {
            let mut account = Account::new();
            for i in 0..existing {
                account = account.user(
                    &format!("u{i:04}@example.com"),
                    &format!("IBMid-U{i:08}"),
                    "ACTIVE",
                );
            }
            let state = account.group(ALGO_ID, "alpha", "", &[]).build();
            let users: Vec<(String, Vec<String>)> = (0..3)
                .map(|i| (format!("new{i}@example.com"), vec![s("alpha")]))
                .collect();
            let config = config_yaml(ACCOUNT, "", &[(s("alpha"), None)], &users);
            let emu = start(state, emulator::Options::default()).await;
            let run = plan_in_process(&emu, &config).await;
            assert_eq!(run.plan.summary.invite_user, 3);
            emu.reset_stats();
            let report = run.apply().await;
            let stats = emu.stats();
            for (change, status) in statuses(&report) {
                assert_eq!(status, orgsync::executor::Status::Applied, "{change}");
            }
            let gets = calls(&stats, "GET /v2/accounts/{account_id}/users/{iam_id}");
            let pages = calls(&stats, "GET /v2/accounts/{account_id}/users");
            if by_id {
                assert_eq!((gets, pages), (3, 0), "{existing} users: {stats:#}");
            } else {
                assert_eq!((gets, pages), (0, 1), "{existing} users: {stats:#}");
            }
            emu.shutdown().await;
        }
    })
    .await;
}
