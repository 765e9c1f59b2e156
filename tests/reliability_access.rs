//! The fault run of `tests/reliability.rs` for what groups grant (docs/security.md): the
//! real binary against the emulator with `fail 0.1, drop 0.05, rate 50`, on a plan that
//! creates, updates and removes custom roles, access policies and dynamic rules. One apply
//! must converge — the policies, roles and rules are exactly what the file says, nothing
//! the file does not govern is touched — with no duplicate policy, role or rule, and a
//! second plan must be empty.
//!
//! The account is loaded through `POST /__admin/state` as the state document of
//! docs/emulator.md (the keys `resource_instances`, `roles`, `policies`, `groups[].rules`),
//! and read back through `GET /__admin/state`, so this file compiles against any emulator.
//! An emulator that does not serve the access APIs at all (`GET /v2/roles` is an unknown
//! route) is said loudly and the test stops there; once it serves them, every check runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orgsync::emulator::{self, Options, SYNTHETIC_ADMIN_KEY, Synthetic};
use serde_json::{Value, json};

use crate::e2e::{Workdir, orgsync};

const TODAY: &str = "2026-12-01";
const QC: &str = "quantum-computing";
const REALM: &str = "https://us-south.appid.cloud.ibm.com/oauth/v4/tenant-1";
const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";
const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";

fn guid(i: usize) -> String {
    format!("{i:08x}-1111-4111-8111-111111111111")
}

/// What the file says a managed group grants: instance index → role names.
type Grants = BTreeMap<usize, BTreeSet<&'static str>>;

struct Scenario {
    /// The state document loaded into the emulator.
    state: Value,
    config: String,
    /// Per managed group id: what its policies must be afterwards (instance → roles).
    grants: BTreeMap<String, Grants>,
    /// Per managed group id with rules: the rule names afterwards.
    rules: BTreeMap<String, BTreeSet<&'static str>>,
    /// The policies the file does not govern, by id, as loaded.
    untouched: BTreeSet<String>,
}

fn scenario(seed: u64) -> Scenario {
    let base = emulator::synthetic(&Synthetic {
        users: 60,
        groups: 8,
        memberships: 120,
        service_ids_in_groups: 0,
        pending_users: 0,
        seed,
    });
    let mut state = serde_json::to_value(&base).expect("the state serializes");
    let ids: Vec<String> = base.groups.iter().map(|g| g.id.clone()).collect();
    let names: Vec<String> = base.groups.iter().map(|g| g.name.clone()).collect();
    state["resource_instances"] = (0..8)
        .map(|i| json!({"name": format!("QR-{i}"), "service": QC, "guid": guid(i)}))
        .collect();
    state["roles"] = json!([{
        "name": "JobManager", "display_name": "Job manager", "service_name": QC,
        "actions": ["quantum-computing.job.read"]
    }]);
    let policy = |group: &str, instance: usize, roles: &[&str], v1: bool| {
        let mut p = json!({"access_group_id": group, "roles": roles,
            "resource": {"serviceName": QC, "serviceInstance": guid(instance)}});
        if v1 {
            p["version"] = json!("v1");
        }
        p
    };
    let mut policies = vec![
        // Group 0: QR-0 widened (a v1 policy: replaced through v1), QR-1 removed, QR-2
        // created with a custom role this apply updates.
        policy(&ids[0], 0, &[VIEWER], true),
        policy(&ids[0], 1, &[VIEWER], false),
        // Group 1: QR-3 narrowed (Viewer + Reader → Viewer), QR-4 created with a custom
        // role this apply creates.
        policy(&ids[1], 3, &[VIEWER, READER], false),
        // Group 2: `access: []` — both go.
        policy(&ids[2], 5, &[READER], false),
        policy(&ids[2], 6, &[VIEWER], true),
    ];
    // Not governed: a condition on group 0's QR-7 (unexpressible), and an unmanaged
    // group's grant.
    let mut conditioned = policy(&ids[0], 7, &[VIEWER], false);
    conditioned["rule"] = json!({"key": "{{environment.attributes.day_of_week}}", "operator": "dayOfWeekAnyOf", "value": ["1+00:00", "2+00:00"]});
    conditioned["pattern"] = json!("time-based-conditions:weekly:custom-hours");
    policies.push(conditioned);
    policies.push(policy(&ids[6], 0, &[VIEWER], false));
    for (n, p) in policies.iter_mut().enumerate() {
        p["id"] = json!(format!("{n:08x}-2222-4222-8222-222222222222"));
    }
    let untouched = [5usize, 6]
        .map(|n| format!("{n:08x}-2222-4222-8222-222222222222"))
        .into();
    state["policies"] = Value::Array(policies);
    // Rules: group 1's `old` goes, `tuned` is replaced; group 0 gains `ml-project`.
    let rule = |name: &str, hours: u32, value: &str| {
        json!({"name": name, "expiration": hours, "realm_name": REALM,
               "conditions": [{"claim": "project", "operator": "CONTAINS", "value": format!("\"{value}\"")}]})
    };
    state["groups"][1]["rules"] = json!([rule("old", 24, "legacy"), rule("tuned", 24, "fin")]);

    let mut grants: BTreeMap<String, Grants> = BTreeMap::new();
    let set = |r: &[&'static str]| r.iter().copied().collect::<BTreeSet<_>>();
    grants.insert(
        ids[0].clone(),
        [
            (0, set(&["Reader", "Viewer"])),
            (2, set(&["JobManager", "Viewer"])),
        ]
        .into(),
    );
    grants.insert(
        ids[1].clone(),
        [(3, set(&["Viewer"])), (4, set(&["Reviewer", "Viewer"]))].into(),
    );
    grants.insert(ids[2].clone(), Grants::new());
    let mut rules = BTreeMap::new();
    rules.insert(ids[0].clone(), ["ml-project"].into());
    rules.insert(ids[1].clone(), ["tuned"].into());

    let mut config = format!(
        "version: 1\naccount_id: {}\npolicy:\n  unlisted_users: ignore\n  max_removals: 1000\n",
        base.account_id
    );
    config.push_str(&format!(
        "roles:\n  JobManager:\n    service: {QC}\n    display_name: Job manager\n    actions: [quantum-computing.job.read, quantum-computing.job.delete]\n  Reviewer:\n    service: {QC}\n    display_name: Job reviewer\n    actions: [quantum-computing.job.read]\n"
    ));
    config.push_str("groups:\n");
    let access = |entries: &[(usize, &[&str])]| -> String {
        if entries.is_empty() {
            return "    access: []\n".into();
        }
        let mut s = "    access:\n".to_string();
        for (i, roles) in entries {
            s.push_str(&format!(
                "      - {{service: {QC}, instance: QR-{i}, roles: [{}]}}\n",
                roles.join(", ")
            ));
        }
        s
    };
    let rules_yaml = |list: &[(&str, u32, &str)]| -> String {
        let mut s = "    rules:\n".to_string();
        for (name, hours, value) in list {
            s.push_str(&format!(
                "      - name: {name}\n        realm: {REALM}\n        expiration_hours: {hours}\n        conditions:\n          - {{claim: project, operator: CONTAINS, value: {value}}}\n"
            ));
        }
        s
    };
    config.push_str(&format!("  {}:\n", names[0]));
    config.push_str(&access(&[
        (0, &["Viewer", "Reader"]),
        (2, &["Viewer", "JobManager"]),
    ]));
    config.push_str(&rules_yaml(&[("ml-project", 12, "ml")]));
    config.push_str(&format!("  {}:\n", names[1]));
    config.push_str(&access(&[(3, &["Viewer"]), (4, &["Viewer", "Reviewer"])]));
    config.push_str(&rules_yaml(&[("tuned", 8, "fin")]));
    config.push_str(&format!("  {}:\n", names[2]));
    config.push_str(&access(&[]));
    // Every user keeps the managed groups it is in: the plan changes access only.
    config.push_str("users:\n");
    let managed: BTreeSet<&str> = ids[..3].iter().map(String::as_str).collect();
    for user in &base.users {
        let groups: Vec<&str> = base
            .groups
            .iter()
            .filter(|g| {
                managed.contains(g.id.as_str()) && g.members.iter().any(|m| m.iam_id == user.iam_id)
            })
            .map(|g| g.name.as_str())
            .collect();
        config.push_str(&format!(
            "  {}:\n    groups: [{}]\n",
            user.email.to_lowercase(),
            groups.join(", ")
        ));
    }
    Scenario {
        state,
        config,
        grants,
        rules,
        untouched,
    }
}

async fn admin(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
) -> (u16, String) {
    // reqwest is built without a default TLS provider (plain http here, but it asks).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => panic!("{path}: {e}"),
    }
}

/// The role names of a policy's CRNs (built-in display names, custom role names).
fn role_name(crn: &str) -> String {
    crn.rsplit(':').next().unwrap_or(crn).to_string()
}

fn attribute<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    let v = &resource[key];
    v.as_str().or_else(|| v["value"].as_str())
}

/// Checks the account after the apply; panics naming the first difference.
fn assert_converged(s: &Scenario, after: &Value) {
    let policies: Vec<&Value> = after["policies"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter(|p| p["state"].as_str().unwrap_or("active") == "active")
                .collect()
        })
        .unwrap_or_default();
    // No duplicate: one active policy per (subject, resource).
    let mut keys = BTreeSet::new();
    for p in &policies {
        let key = (p["access_group_id"].to_string(), p["resource"].to_string());
        assert!(keys.insert(key), "a duplicate policy: {p}");
    }
    for (group, want) in &s.grants {
        let mut have = Grants::new();
        let mine = policies.iter().filter(|p| {
            p["access_group_id"] == group.as_str() && p.get("rule").is_none_or(Value::is_null)
        });
        for p in mine {
            let instance = attribute(&p["resource"], "serviceInstance").unwrap_or_default();
            let i = (0..8).find(|i| guid(*i) == instance).unwrap_or(99);
            let roles: BTreeSet<String> = p["roles"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).map(role_name).collect())
                .unwrap_or_default();
            let names: BTreeSet<&'static str> = want
                .get(&i)
                .map(|w| w.iter().copied().filter(|n| roles.contains(*n)).collect())
                .unwrap_or_default();
            assert_eq!(
                names.len(),
                roles.len(),
                "{group}'s policy on instance {i} grants {roles:?}"
            );
            have.insert(i, names);
        }
        assert_eq!(&have, want, "{group}'s policies");
    }
    let ids: BTreeSet<&str> = policies.iter().filter_map(|p| p["id"].as_str()).collect();
    for id in &s.untouched {
        assert!(
            ids.contains(id.as_str()),
            "policy {id}, which the file does not govern, is still there"
        );
    }
    let roles: Vec<&Value> = after["roles"]
        .as_array()
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let role_names: Vec<&str> = roles.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        role_names.iter().copied().collect::<BTreeSet<_>>(),
        ["JobManager", "Reviewer"].into(),
        "the custom roles: {role_names:?}"
    );
    assert_eq!(
        role_names.len(),
        2,
        "no custom role was created twice: {role_names:?}"
    );
    let job_manager = roles
        .iter()
        .find(|r| r["name"] == "JobManager")
        .expect("JobManager");
    let actions: BTreeSet<&str> = job_manager["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        ["quantum-computing.job.delete", "quantum-computing.job.read"].into()
    );
    for (group, want) in &s.rules {
        let g = after["groups"]
            .as_array()
            .and_then(|gs| gs.iter().find(|g| g["id"] == group.as_str()))
            .unwrap_or_else(|| panic!("group {group} is there"));
        let names: Vec<&str> = g["rules"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names.len(),
            want.len(),
            "no rule was created twice in {group}: {names:?}"
        );
        assert_eq!(
            names.into_iter().collect::<BTreeSet<_>>(),
            *want,
            "{group}'s rules"
        );
    }
}

fn faulty(seed: u64) -> Options {
    Options {
        seed,
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(15),
        fail_rate: 0.1,
        drop_rate: 0.05,
        rate_limit: 50.0,
        ..Options::default()
    }
}

async fn converges(seed: u64) {
    let s = scenario(seed);
    let emu = emulator::start(
        emulator::State::empty("0123456789abcdef0123456789abcdef", SYNTHETIC_ADMIN_KEY),
        faulty(seed),
    )
    .await
    .expect("emulator starts");
    let url = emu.base_url();
    let (status, body) = admin(
        &url,
        reqwest::Method::POST,
        "/__admin/state",
        Some(s.state.to_string()),
    )
    .await;
    if status != 204 {
        let (probe, _) = admin(&url, reqwest::Method::GET, "/v2/roles", None).await;
        assert_eq!(
            probe, 404,
            "the emulator serves the access APIs but refused the state document ({status}): {body}"
        );
        eprintln!(
            "reliability_access: NOT RUN — this build's emulator does not serve /v2/roles or /v2/policies yet (state refused: {status})"
        );
        emu.shutdown().await;
        return;
    }
    let w = Workdir::new(&s.config);
    let run = |args: &[&str]| {
        orgsync(&w.config(), None, args)
            .env("IBMCLOUD_API_KEY", SYNTHETIC_ADMIN_KEY)
            .timeout(Duration::from_secs(240))
    };
    let plan = run(&[
        "plan",
        "--format",
        "json",
        "--today",
        TODAY,
        "--endpoint",
        &url,
    ])
    .run()
    .await;
    plan.expect(0);
    let kinds: BTreeMap<String, usize> = plan.json()["changes"]
        .as_array()
        .map(|c| {
            c.iter().fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c["action"].as_str().unwrap_or("").to_string())
                    .or_default() += 1;
                m
            })
        })
        .unwrap_or_default();
    for kind in [
        "create_role",
        "update_role",
        "create_policy",
        "update_policy",
        "remove_policy",
        "create_rule",
        "update_rule",
        "remove_rule",
    ] {
        assert!(kinds.contains_key(kind), "the plan has {kind}: {kinds:?}");
    }

    emu.reset_stats();
    let apply = run(&["apply", "--yes", "--today", TODAY, "--endpoint", &url])
        .run()
        .await;
    let stats = emu.stats();
    assert_eq!(
        apply.code, 0,
        "apply converges in one run under faults (seed {seed}):\n{}\n{}",
        apply.stdout, apply.stderr
    );
    assert!(
        stats["served_5xx"].as_u64().unwrap_or(0) + stats["drops"].as_u64().unwrap_or(0) > 0,
        "faults were injected: {stats}"
    );
    let (_, after) = admin(&url, reqwest::Method::GET, "/__admin/state", None).await;
    let after: Value = serde_json::from_str(&after).expect("the state is JSON");
    assert_converged(&s, &after);
    assert!(
        !apply.stdout.contains(SYNTHETIC_ADMIN_KEY) && !apply.stderr.contains(SYNTHETIC_ADMIN_KEY)
    );

    let again = run(&[
        "plan",
        "--detailed-exitcode",
        "--today",
        TODAY,
        "--endpoint",
        &url,
    ])
    .run()
    .await;
    assert_eq!(
        again.code, 0,
        "a second plan is empty:\n{}\n{}",
        again.stdout, again.stderr
    );
    eprintln!("seed {seed}: {kinds:?}; apply: {stats}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_policies_and_rules_converge_in_one_apply_under_faults_with_no_duplicate() {
    for seed in [11, 12, 13] {
        converges(seed).await;
    }
}
