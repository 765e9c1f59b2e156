//! Reliability and secrets, end to end (docs/security.md): the real `orgsync` binary
//! against the in-process emulator.
//!
//! Fault injection: for several seeds, with 500/503s, dropped connections (half of them
//! after the write landed), a rate limit and latency — and separately with tokens that
//! expire mid-run — one `apply` of a plan of hundreds of changes must converge: the final
//! account equals what the config describes, nobody is invited twice, nothing the plan
//! does not name is touched (the whole emulator state is compared), a second plan is
//! empty, and the requests spent on retries stay bounded. The figures are printed with
//! `eprintln!` (see them with `--nocapture`).
//!
//! Two deterministic reproducers (a proxy refusing the first three invite or create-group
//! calls with 503) pin that those non-idempotent writes re-check and re-send with backoff
//! rather than giving up after three quick refusals. See the figures with
//! `cargo test --test reliability -- --nocapture`.
//!
//! Secrets: plan and apply at `-vvv` through a recording proxy that captures every token
//! the emulator issues; neither the API key nor any token may appear in stdout, stderr,
//! the audit log or a saved plan — also when the token call fails.
//!
//! Every test is bounded: each process run has a timeout and is killed when it expires.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orgsync::emulator::{self, Group, MemberKind, Options, SYNTHETIC_ADMIN_KEY, State, Synthetic};
use serde_json::Value;

/// The date every run plans as of (no expiries are used, but the date must not drift).
const TODAY: &str = "2026-12-01";

/// What one run of the binary left behind.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `orgsync ARGS` with the API key `key` on a blocking thread (tokio's `process`
/// feature is not enabled in this crate), killed and failed after `limit`.
async fn orgsync(dir: &Path, key: &str, args: &[&str], limit: Duration) -> Run {
    let dir = dir.to_path_buf();
    let key = key.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || run_blocking(&dir, &key, &args, limit))
        .await
        .expect("the run's thread completes")
}

fn run_blocking(dir: &Path, key: &str, args: &[String], limit: Duration) -> Run {
    use std::io::Read;
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IBMCLOUD_API_KEY", key)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the orgsync binary starts");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("orgsync {args:?} did not finish within {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}

/// A small deterministic generator for the scenario (the emulator has its own).
fn mix(seed: u64, i: u64, salt: u64) -> u64 {
    let mut x = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(i.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(salt.wrapping_mul(0x94D0_49BB_1331_11EB));
    x ^= x >> 31;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    x ^ (x >> 29)
}

const MANAGED_EXISTING: usize = 8;
const NEW_GROUP: &str = "rel-new-team";
const DESCRIBED_GROUP: &str = "project-002";
const DESCRIPTION: &str = "Managed by orgsync (reliability suite)";

/// The account, and the config that changes it by hundreds of changes of every kind.
struct Scenario {
    before: State,
    config: String,
    /// email (lower case) → desired managed groups.
    desired: BTreeMap<String, BTreeSet<String>>,
    /// Emails the config lists that the account lacks.
    invitees: BTreeSet<String>,
    managed: BTreeSet<String>,
    /// Whether the plan invites and creates (the writes that are not idempotent).
    every_kind: bool,
}

/// `every_kind: false` leaves out the invites and the created group, so the plan has
/// only idempotent writes (adds, removals, a description update).
fn scenario(seed: u64, every_kind: bool) -> Scenario {
    let before = emulator::synthetic(&Synthetic {
        users: 300,
        groups: 12,
        memberships: 600,
        service_ids_in_groups: 6,
        pending_users: 10,
        seed,
    });
    let mut managed: BTreeSet<String> = (0..MANAGED_EXISTING)
        .map(|g| format!("project-{g:03}"))
        .collect();
    if every_kind {
        managed.insert(NEW_GROUP.to_string());
    }
    let managed_list: Vec<&String> = managed.iter().collect();
    let pick = |i: u64, salt: u64| -> BTreeSet<String> {
        let n = mix(seed, i, salt) % 4;
        (0..n)
            .filter_map(|k| {
                let g = mix(seed, i, salt + 1 + k) as usize % managed_list.len();
                managed_list.get(g).map(|s| s.to_string())
            })
            .collect()
    };

    let mut desired = BTreeMap::new();
    // The admin runs orgsync and is never removed; list it where it already is.
    let admin_groups: BTreeSet<String> = groups_of(&before, emulator::SYNTHETIC_ADMIN_IAM_ID)
        .into_iter()
        .filter(|g| managed.contains(g))
        .collect();
    desired.insert("admin@example.com".to_string(), admin_groups);
    // Users 1..=220 listed with new group sets; 221.. unlisted (ignored in the account,
    // removed from managed groups).
    for (i, user) in before.users.iter().enumerate().skip(1).take(220) {
        desired.insert(user.email.to_lowercase(), pick(i as u64, 10));
    }
    let mut invitees = BTreeSet::new();
    for i in 0..if every_kind { 40u64 } else { 0 } {
        let email = format!("newbie{i:03}.s{seed}@example.org");
        let mut groups = pick(1000 + i, 20);
        if groups.is_empty() && i % 2 == 0 {
            groups.insert(NEW_GROUP.to_string());
        }
        invitees.insert(email.clone());
        desired.insert(email, groups);
    }

    let mut config = format!(
        "version: 1\naccount_id: {}\npolicy:\n  unlisted_users: ignore\n  max_removals: 100000\ngroups:\n",
        before.account_id
    );
    for g in &managed {
        if g == DESCRIBED_GROUP {
            config.push_str(&format!("  {g}:\n    description: {DESCRIPTION}\n"));
        } else {
            config.push_str(&format!("  {g}: {{}}\n"));
        }
    }
    config.push_str("users:\n");
    for (email, groups) in &desired {
        let list: Vec<&str> = groups.iter().map(String::as_str).collect();
        config.push_str(&format!("  {email}:\n    groups: [{}]\n", list.join(", ")));
    }
    Scenario {
        before,
        config,
        desired,
        invitees,
        managed,
        every_kind,
    }
}

fn groups_of(state: &State, iam_id: &str) -> BTreeSet<String> {
    state
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|m| m.iam_id == iam_id))
        .map(|g| g.name.clone())
        .collect()
}

/// The changes a plan names, from `plan --format json`.
fn plan_changes(json: &str) -> Vec<Value> {
    let plan: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("plan --format json is JSON ({e}): {json}"));
    plan["changes"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("the plan has a `changes` array: {json}"))
}

/// Checks the account after apply against the scenario; panics naming the first
/// difference.
fn assert_converged(s: &Scenario, after: &State) {
    // Users: everyone who was there is there unchanged; the only new ones are the
    // invitees, each once.
    let after_users: BTreeMap<String, &emulator::User> = after
        .users
        .iter()
        .map(|u| (u.email.to_lowercase(), u))
        .collect();
    assert_eq!(
        after_users.len(),
        after.users.len(),
        "no email is in the account twice"
    );
    for user in &s.before.users {
        let now = after_users
            .get(&user.email.to_lowercase())
            .unwrap_or_else(|| panic!("{} is still in the account", user.email));
        assert_eq!(*now, user, "{} is untouched", user.email);
    }
    let new: BTreeSet<String> = after_users
        .keys()
        .filter(|e| {
            !s.before
                .users
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(e))
        })
        .cloned()
        .collect();
    assert_eq!(new, s.invitees, "exactly the listed newcomers were invited");

    // Groups: unmanaged ones are byte-for-byte what they were; managed ones have exactly
    // the desired user members, their service IDs, and kept members unchanged.
    let before_groups: BTreeMap<&str, &Group> = s
        .before
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g))
        .collect();
    let after_groups: BTreeMap<&str, &Group> =
        after.groups.iter().map(|g| (g.name.as_str(), g)).collect();
    assert_eq!(
        after_groups.keys().copied().collect::<BTreeSet<_>>(),
        before_groups
            .keys()
            .copied()
            .chain(s.every_kind.then_some(NEW_GROUP))
            .collect::<BTreeSet<_>>(),
        "exactly the planned group was created"
    );
    for (name, before) in &before_groups {
        if !s.managed.contains(*name) {
            assert_eq!(
                after_groups.get(name),
                Some(before),
                "unmanaged {name} untouched"
            );
        }
    }
    for name in &s.managed {
        let group = after_groups
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name} exists"));
        let want: BTreeSet<String> = s
            .desired
            .iter()
            .filter(|(_, groups)| groups.contains(name))
            .map(|(email, _)| {
                after_users
                    .get(email)
                    .map(|u| u.iam_id.clone())
                    .unwrap_or_else(|| panic!("{email} is in the account"))
            })
            .collect();
        let users: BTreeSet<String> = group
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::User)
            .map(|m| m.iam_id.clone())
            .collect();
        assert_eq!(users, want, "{name}'s user members are the desired ones");
        let others: Vec<_> = group
            .members
            .iter()
            .filter(|m| m.kind != MemberKind::User)
            .collect();
        let before = before_groups.get(name.as_str());
        let before_others: Vec<_> = before
            .map(|g| {
                g.members
                    .iter()
                    .filter(|m| m.kind != MemberKind::User)
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(others, before_others, "{name}'s service IDs are untouched");
        if let Some(before) = before {
            for m in &group.members {
                if let Some(old) = before.members.iter().find(|o| o.iam_id == m.iam_id) {
                    assert_eq!(m, old, "{name}: kept member {} is untouched", m.iam_id);
                }
            }
            let description = if name == DESCRIBED_GROUP {
                DESCRIPTION
            } else {
                before.description.as_str()
            };
            assert_eq!(group.description, description, "{name}'s description");
            assert_eq!(group.id, before.id, "{name} keeps its id");
        }
    }
    assert_eq!(after.account_id, s.before.account_id);
    assert_eq!(after.api_keys, s.before.api_keys);
    assert_eq!(after.service_ids, s.before.service_ids);
}

/// The minimum for reading the account (docs/ibm-api.md): one token call, the user pages,
/// the group pages, and the member pages of the managed groups that exist.
fn read_minimum(s: &Scenario) -> u64 {
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    1 + pages(s.before.users.len())
        + pages(s.before.groups.len())
        + s.before
            .groups
            .iter()
            .filter(|g| s.managed.contains(&g.name))
            .map(|g| pages(g.members.len()))
            .sum::<u64>()
}

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap_or(0)
}

/// The figures of one faulty apply, for the report.
#[derive(Debug)]
struct Figures {
    requests: u64,
    baseline: u64,
    served_429: u64,
    served_5xx: u64,
    drops: u64,
    /// Requests refused for an expired token (each is retried once with a fresh one).
    served_401: u64,
    token_calls: u64,
    elapsed: Duration,
}

/// Requests a fault-free `apply` of the scenario makes: the floor the faulty runs are
/// measured against.
async fn baseline_requests(seed: u64, every_kind: bool, extra: &[&str]) -> u64 {
    let s = scenario(seed, every_kind);
    let emu = emulator::start(s.before.clone(), Options::default())
        .await
        .expect("emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("org.yaml"), &s.config).expect("config written");
    let url = emu.base_url();
    let run = orgsync(
        dir.path(),
        SYNTHETIC_ADMIN_KEY,
        &[
            &["apply", "--yes", "--today", TODAY, "--endpoint", &url],
            extra,
        ]
        .concat(),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(run.code, 0, "fault-free apply succeeds: {}", run.stderr);
    let total = stat(&emu.stats(), "total");
    emu.shutdown().await;
    total
}

/// Plan, apply once, plan again, under `options`; checks everything §11 asks and
/// returns the figures of the apply.
async fn converges_under(seed: u64, options: Options, extra: &[&str]) -> Figures {
    converges(seed, true, options, extra).await
}

async fn converges(seed: u64, every_kind: bool, options: Options, extra: &[&str]) -> Figures {
    let s = scenario(seed, every_kind);
    let baseline = baseline_requests(seed, every_kind, extra).await;
    let emu = emulator::start(s.before.clone(), options.clone())
        .await
        .expect("emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("org.yaml"), &s.config).expect("config written");
    let url = emu.base_url();
    let limit = Duration::from_secs(240);

    let plan = orgsync(
        dir.path(),
        SYNTHETIC_ADMIN_KEY,
        &[
            &[
                "plan",
                "--format",
                "json",
                "--today",
                TODAY,
                "--endpoint",
                &url,
            ],
            extra,
        ]
        .concat(),
        limit,
    )
    .await;
    assert_eq!(plan.code, 0, "plan under faults succeeds: {}", plan.stderr);
    let plan_stats = emu.stats();
    let changes = plan_changes(&plan.stdout);
    let count = |kind: &str| {
        changes
            .iter()
            .filter(|c| c["action"].as_str() == Some(kind))
            .count()
    };
    let kinds = [
        "create_group",
        "update_group",
        "invite_user",
        "add_member",
        "remove_member",
    ]
    .map(|k| (k, count(k)));
    for (kind, n) in kinds {
        let expected = every_kind || !matches!(kind, "create_group" | "invite_user");
        assert_eq!(n > 0, expected, "the plan has {kind} changes: {kinds:?}");
    }
    assert!(changes.len() >= 200, "a large plan: {kinds:?}");
    assert_eq!(emu.state(), s.before, "plan changes nothing");

    emu.reset_stats();
    let apply = orgsync(
        dir.path(),
        SYNTHETIC_ADMIN_KEY,
        &[
            &["apply", "--yes", "--today", TODAY, "--endpoint", &url],
            extra,
        ]
        .concat(),
        limit,
    )
    .await;
    let stats = emu.stats();
    assert_eq!(
        apply.code, 0,
        "apply converges in one run under faults (seed {seed}): stderr:\n{}\nstdout:\n{}",
        apply.stderr, apply.stdout
    );
    let after = emu.state();
    assert_converged(&s, &after);
    let invites = stats["invites_by_email"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (email, n) in &invites {
        assert_eq!(n.as_u64(), Some(1), "{email} was invited exactly once");
    }
    assert_eq!(
        invites
            .keys()
            .map(|e| e.to_lowercase())
            .collect::<BTreeSet<_>>(),
        s.invitees,
        "every newcomer was invited"
    );

    let figures = Figures {
        requests: stat(&stats, "total"),
        baseline,
        served_429: stat(&stats, "served_429"),
        served_5xx: stat(&stats, "served_5xx"),
        drops: stat(&stats, "drops"),
        served_401: stats["by_status"]["401"].as_u64().unwrap_or(0),
        token_calls: stats["by_route"]["POST /identity/token"]
            .as_u64()
            .unwrap_or(0),
        elapsed: apply.elapsed,
    };
    eprintln!(
        "seed {seed} {options:?}: {} changes {kinds:?}; plan: {} requests ({} 429, {} 5xx, {} drops, minimum {}, {:?}); apply: {figures:?}",
        changes.len(),
        stat(&plan_stats, "total"),
        stat(&plan_stats, "served_429"),
        stat(&plan_stats, "served_5xx"),
        stat(&plan_stats, "drops"),
        read_minimum(&s),
        plan.elapsed,
    );
    for (what, run) in [("plan", &plan), ("apply", &apply)] {
        for text in [&run.stdout, &run.stderr] {
            assert!(
                !text.contains(SYNTHETIC_ADMIN_KEY),
                "{what}'s output never shows the API key"
            );
        }
    }
    // Every request beyond the fault-free floor is a retry of a fault, a re-read after an
    // ambiguous write, or a token refresh (a 401 counts as a fault: the emulator's `exp`
    // is whole seconds, so a token can expire up to 1 s before the client's 80% refresh
    // point when the lifetime is only 3 s). Each fault may cost its retry plus a re-read
    // of the user list (3 pages) or of a group; more than that is a retry storm.
    let faults = figures.served_429 + figures.served_5xx + figures.drops + figures.served_401;
    assert!(
        figures.requests <= figures.baseline + 6 * faults + 2 * figures.token_calls + 10,
        "retries stay bounded: {figures:?}"
    );

    let again = orgsync(
        dir.path(),
        SYNTHETIC_ADMIN_KEY,
        &[
            &[
                "plan",
                "--detailed-exitcode",
                "--today",
                TODAY,
                "--endpoint",
                &url,
            ],
            extra,
        ]
        .concat(),
        limit,
    )
    .await;
    assert_eq!(
        again.code, 0,
        "a second plan is empty: stdout:\n{}\nstderr:\n{}",
        again.stdout, again.stderr
    );
    assert_eq!(emu.state(), after, "the second plan changes nothing");
    emu.shutdown().await;
    figures
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

/// The same faults on a plan of idempotent writes only (adds, removals, an update): these
/// are retried up to 8 times with backoff, so this runs in CI while the seeded runs
/// above wait for the invite/create fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_of_adds_and_removals_converges_under_failures_drops_and_rate_limit() {
    for seed in [6, 7] {
        let f = converges(seed, false, faulty(seed), &[]).await;
        assert!(f.served_5xx + f.drops > 0, "faults were injected: {f:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_in_one_run_under_failures_drops_and_rate_limit_seed_1() {
    let f = converges_under(1, faulty(1), &[]).await;
    assert!(f.served_5xx + f.drops > 0, "faults were injected: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_in_one_run_under_failures_drops_and_rate_limit_seed_2() {
    let f = converges_under(2, faulty(2), &[]).await;
    assert!(f.served_5xx + f.drops > 0, "faults were injected: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_in_one_run_under_failures_drops_and_rate_limit_seed_3() {
    let f = converges_under(3, faulty(3), &[]).await;
    assert!(f.served_5xx + f.drops > 0, "faults were injected: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_honours_retry_after_under_a_tight_rate_limit() {
    let options = Options {
        rate_limit: 10.0,
        ..faulty(5)
    };
    let f = converges_under(5, options, &[]).await;
    assert!(f.served_429 > 0, "the rate limit was hit: {f:?}");
    // Retry-After (1 s here) is honoured per request: a throttled call sleeps before it
    // tries again, so 429s arrive at a bounded pace. A client ignoring it would retry
    // after 100-200 ms, i.e. 5-10 tries a second for each of the 8 requests in flight.
    let per_second = f.served_429 as f64 / f.elapsed.as_secs_f64();
    assert!(
        per_second <= 24.0,
        "429s are retried after waiting, not in a storm: {per_second:.1}/s, {f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_converges_when_tokens_expire_mid_run() {
    let options = Options {
        seed: 4,
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(40),
        token_ttl: Duration::from_secs(3),
        ..Options::default()
    };
    // Two requests in flight at a time, so the apply lasts longer than a token.
    let f = converges_under(4, options, &["--parallelism", "2"]).await;
    assert!(
        f.elapsed > Duration::from_secs(3),
        "the apply outlived a token: {f:?}"
    );
    assert!(
        f.token_calls >= 2,
        "the token was refreshed during the apply: {f:?}"
    );
}

/// Three clean 503s in a row on an invite ("nothing changed"): the idempotent calls are
/// tried up to 8 times with backoff, so one apply should ride this out too. The
/// executor's re-read protocol gives an invite as many rounds as the client's attempts,
/// with the same backoff between them (once it gave 3 rounds back to back, and the seeded
/// runs above failed to converge now and then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_refused_three_times_with_503_still_lands_in_one_apply() {
    let state = secrets_state();
    let emu = emulator::start(state.clone(), Options::default())
        .await
        .expect("emulator starts");
    let proxy = faulty_proxy(emu.base_url(), Refuse::Invite, 3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "version: 1\naccount_id: {}\ngroups:\n  rel-solo-team: {{}}\nusers:\n  newcomer@example.org:\n    groups: [rel-solo-team]\n",
        state.account_id
    );
    std::fs::write(dir.path().join("org.yaml"), config).expect("config");
    let run = orgsync(
        dir.path(),
        SECRET_KEY,
        &["apply", "--yes", "--today", TODAY, "--endpoint", &proxy.url],
        Duration::from_secs(120),
    )
    .await;
    let stats = emu.stats();
    proxy.task.abort();
    emu.shutdown().await;
    assert_eq!(
        run.code, 0,
        "a retryable refusal of an invite is retried like any other call: {}{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        stats["invites_by_email"]["newcomer@example.org"].as_u64(),
        Some(1),
        "invited once: {stats}"
    );
}

/// The same for creating a group (the executor's re-read protocol: a post, then rounds of
/// re-reading the groups and posting again, as for an invite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_create_refused_three_times_with_503_still_lands_in_one_apply() {
    let state = secrets_state();
    let emu = emulator::start(state.clone(), Options::default())
        .await
        .expect("emulator starts");
    let proxy = faulty_proxy(emu.base_url(), Refuse::CreateGroup, 3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "version: 1\naccount_id: {}\ngroups:\n  rel-solo-team: {{}}\nusers:\n  user00001@example.com:\n    groups: [rel-solo-team]\n",
        state.account_id
    );
    std::fs::write(dir.path().join("org.yaml"), config).expect("config");
    let run = orgsync(
        dir.path(),
        SECRET_KEY,
        &["apply", "--yes", "--today", TODAY, "--endpoint", &proxy.url],
        Duration::from_secs(120),
    )
    .await;
    let after = emu.state();
    proxy.task.abort();
    emu.shutdown().await;
    assert_eq!(
        run.code, 0,
        "a retryable refusal of a create is retried like any other call: {}{}",
        run.stdout, run.stderr
    );
    let created: Vec<_> = after
        .groups
        .iter()
        .filter(|g| g.name == "rel-solo-team")
        .collect();
    assert_eq!(created.len(), 1, "created once");
}

// ---- secrets ------------------------------------------------------------------------------

/// A reverse proxy in front of the emulator that records every token the token endpoint
/// hands out, so the test knows each secret exactly.
struct RecordingProxy {
    url: String,
    secrets: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn recording_proxy(upstream: String) -> RecordingProxy {
    faulty_proxy(upstream, Refuse::Invite, 0).await
}

/// Which non-idempotent call the proxy refuses.
#[derive(Clone, Copy)]
enum Refuse {
    /// `POST /v2/accounts/{account_id}/users`
    Invite,
    /// `POST /v2/groups`
    CreateGroup,
}

/// [`recording_proxy`] that also answers the first `times` calls of `refuse` itself with
/// a 503 that changed nothing.
async fn faulty_proxy(upstream: String, refuse: Refuse, times: usize) -> RecordingProxy {
    use axum::body::{Body, Bytes};
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::Response;

    let secrets: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("proxy client");
    let recorded = secrets.clone();
    let invites_failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let client = client.clone();
        let upstream = upstream.clone();
        let recorded = recorded.clone();
        let invites_failed = invites_failed.clone();
        async move {
            let path = uri.path();
            let refused = method == Method::POST
                && match refuse {
                    Refuse::Invite => path.starts_with("/v2/accounts/") && path.ends_with("/users"),
                    Refuse::CreateGroup => path == "/v2/groups",
                };
            if refused && invites_failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < times {
                return Response::builder()
                    .status(StatusCode::SERVICE_UNAVAILABLE)
                    .header("content-type", "application/json")
                    .body(Body::from(
                        r#"{"errors":[{"code":"service_unavailable","message":"try again"}],"status_code":503,"trace":"proxy-503"}"#,
                    ))
                    .unwrap_or_default();
            }
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut req = client.request(method, format!("{upstream}{path}"));
            for (name, value) in &headers {
                if name != "host" && name != "content-length" {
                    req = req.header(name, value);
                }
            }
            if let Some(bearer) = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
            {
                recorded
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(bearer.to_string());
            }
            let Ok(reply) = req.body(body).send().await else {
                return Response::builder()
                    .status(StatusCode::BAD_GATEWAY)
                    .body(Body::from("upstream failed"))
                    .unwrap_or_default();
            };
            let status = reply.status();
            let reply_headers = reply.headers().clone();
            let bytes = reply.bytes().await.unwrap_or_default();
            if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
                let mut recorded = recorded.lock().unwrap_or_else(|e| e.into_inner());
                for key in ["access_token", "refresh_token"] {
                    if let Some(t) = json[key].as_str() {
                        recorded.insert(t.to_string());
                    }
                }
            }
            let mut response = Response::builder().status(status);
            for (name, value) in &reply_headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from(bytes)).unwrap_or_default()
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy binds");
    let url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    RecordingProxy { url, secrets, task }
}

/// Every way a secret could be spelled out: whole, and each JWT segment that is unique
/// to the token (the header segment is the same for every token, so it proves nothing).
fn needles(secrets: &BTreeSet<String>, key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    for s in secrets {
        out.push(s.clone());
        let segments: Vec<&str> = s.split('.').collect();
        if segments.len() == 3 {
            out.extend(segments.iter().skip(1).map(|p| p.to_string()));
        }
    }
    out
}

fn assert_no_secret(what: &str, text: &str, needles: &[String]) {
    for n in needles {
        assert!(
            !text.contains(n.as_str()),
            "{what} leaks a secret ({} characters starting {:?}); it must never be printed",
            n.len(),
            n.get(..4).unwrap_or("")
        );
    }
}

/// A key long and unusual enough that finding it proves a leak.
const SECRET_KEY: &str = "rel-Secret-ApiKey-5f0c0d57a1b2c3d4e5f6";

fn secrets_state() -> State {
    let mut state = emulator::synthetic(&Synthetic {
        users: 60,
        groups: 4,
        memberships: 80,
        service_ids_in_groups: 1,
        pending_users: 2,
        seed: 11,
    });
    for key in &mut state.api_keys {
        if key.apikey == SYNTHETIC_ADMIN_KEY {
            key.apikey = SECRET_KEY.to_string();
        }
    }
    state
}

fn secrets_config(state: &State) -> String {
    let mut config = format!(
        "version: 1\naccount_id: {}\npolicy:\n  max_removals: 1000\ngroups:\n  project-000: {{}}\n  project-001: {{}}\n  rel-secret-team: {{}}\nusers:\n  admin@example.com:\n    groups: [{}]\n",
        state.account_id,
        groups_of(state, emulator::SYNTHETIC_ADMIN_IAM_ID)
            .into_iter()
            .filter(|g| g == "project-000" || g == "project-001")
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, user) in state.users.iter().enumerate().skip(1).take(20) {
        let groups = ["[project-000]", "[project-001, rel-secret-team]", "[]"];
        config.push_str(&format!(
            "  {}:\n    groups: {}\n",
            user.email,
            groups.get(i % 3).copied().unwrap_or("[]")
        ));
    }
    config.push_str("  fresh.face@example.org:\n    groups: [rel-secret-team]\n");
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_api_key_nor_any_token_appears_in_output_audit_log_or_saved_plan() {
    let state = secrets_state();
    let emu = emulator::start(
        state.clone(),
        Options {
            // A token expires during the run, so more than one is issued and checked.
            token_ttl: Duration::from_secs(2),
            latency: Duration::from_millis(20),
            ..Options::default()
        },
    )
    .await
    .expect("emulator starts");
    let proxy = recording_proxy(emu.base_url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("org.yaml"), secrets_config(&state)).expect("config");
    let url = proxy.url.clone();
    let limit = Duration::from_secs(120);
    let plan_file = dir.path().join("plan.json");
    let audit_file = dir.path().join("audit.jsonl");
    let plan_path = plan_file.to_string_lossy().into_owned();
    let audit_path = audit_file.to_string_lossy().into_owned();

    let mut runs = Vec::new();
    for args in [
        vec![
            "-vvv",
            "plan",
            "--today",
            TODAY,
            "--endpoint",
            &url,
            "--out",
            &plan_path,
        ],
        vec![
            "-vvv",
            "apply",
            &plan_path,
            "--yes",
            "--today",
            TODAY,
            "--endpoint",
            &url,
            "--audit-log",
            &audit_path,
        ],
        vec![
            "-vvv",
            "plan",
            "--format",
            "json",
            "--today",
            TODAY,
            "--endpoint",
            &url,
        ],
        vec![
            "-vvv",
            "apply",
            "--yes",
            "--format",
            "json",
            "--today",
            TODAY,
            "--endpoint",
            &url,
        ],
    ] {
        let run = orgsync(dir.path(), SECRET_KEY, &args, limit).await;
        runs.push((args.join(" "), run));
    }
    let (_, plan) = &runs[0];
    assert_eq!(
        plan.code, 0,
        "plan works through the proxy: {}",
        plan.stderr
    );
    let (_, apply) = &runs[1];
    assert_eq!(apply.code, 0, "apply of the saved plan: {}", apply.stderr);
    for (args, run) in &runs {
        // -vvv traces every call, the token call included: a leak would be right there.
        assert!(
            run.stderr.contains("method=POST path=\"/identity/token\"")
                && run.stderr.contains("method=GET path=\"/v2/groups\""),
            "`{args}` traces its calls at -vvv: {}",
            run.stderr
        );
    }

    let secrets = proxy
        .secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let access_tokens = secrets.iter().filter(|s| s.split('.').count() == 3).count();
    assert!(
        access_tokens >= 4,
        "every run fetched a token, and the proxy saw them: {access_tokens}"
    );
    let needles = needles(&secrets, SECRET_KEY);
    for (args, run) in &runs {
        assert_no_secret(&format!("stdout of `{args}`"), &run.stdout, &needles);
        assert_no_secret(&format!("stderr of `{args}`"), &run.stderr, &needles);
    }
    let saved = std::fs::read_to_string(&plan_file).expect("the plan was saved");
    assert!(
        saved.contains("fresh.face@example.org"),
        "the saved plan is real"
    );
    assert_no_secret("the saved plan", &saved, &needles);
    let audit = std::fs::read_to_string(&audit_file).expect("the audit log was written");
    assert!(audit.lines().count() >= 10, "the audit log has the changes");
    assert_no_secret("the audit log", &audit, &needles);
    proxy.task.abort();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_and_retried_token_calls_print_no_secret_at_any_verbosity() {
    // Half the calls fail with 500/503, the token call included: -vvv then logs every
    // retry with IBM's error, the most likely place for a secret to slip out.
    let state = secrets_state();
    let mut seed = 0;
    let (emu, token_calls) = loop {
        let emu = emulator::start(
            state.clone(),
            Options {
                seed,
                fail_rate: 0.5,
                ..Options::default()
            },
        )
        .await
        .expect("emulator starts");
        let proxy = recording_proxy(emu.base_url()).await;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("org.yaml"), secrets_config(&state)).expect("config");
        let run = orgsync(
            dir.path(),
            SECRET_KEY,
            &["-vvv", "plan", "--today", TODAY, "--endpoint", &proxy.url],
            Duration::from_secs(120),
        )
        .await;
        let stats = emu.stats();
        let token_calls = stats["by_route"]["POST /identity/token"]
            .as_u64()
            .unwrap_or(0);
        let secrets = proxy
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let needles = needles(&secrets, SECRET_KEY);
        assert_no_secret("stdout", &run.stdout, &needles);
        assert_no_secret("stderr", &run.stderr, &needles);
        proxy.task.abort();
        if token_calls >= 2 {
            assert_eq!(run.code, 0, "the retries got through: {}", run.stderr);
            assert!(
                run.stderr.contains("retrying"),
                "-vvv shows the retries: {}",
                run.stderr
            );
            assert!(!secrets.is_empty(), "a token was issued in the end");
            break (emu, token_calls);
        }
        emu.shutdown().await;
        seed += 1;
        assert!(seed < 20, "some seed fails the first token call");
    };
    eprintln!("failing token call: seed {seed}, {token_calls} token calls");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_api_key_is_not_echoed_at_any_verbosity() {
    let state = secrets_state();
    let emu = emulator::start(state.clone(), Options::default())
        .await
        .expect("emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("org.yaml"), secrets_config(&state)).expect("config");
    let url = emu.base_url();
    let wrong = "rel-Wrong-ApiKey-0a9b8c7d6e5f4a3b2c1d";
    let audit_file = dir.path().join("audit.jsonl");
    let audit_path = audit_file.to_string_lossy().into_owned();
    for args in [
        vec!["-vvv", "plan", "--today", TODAY, "--endpoint", &url],
        vec![
            "-vvv",
            "apply",
            "--yes",
            "--today",
            TODAY,
            "--endpoint",
            &url,
            "--audit-log",
            &audit_path,
        ],
    ] {
        let run = orgsync(dir.path(), wrong, &args, Duration::from_secs(60)).await;
        assert_eq!(
            run.code, 1,
            "a wrong key is a runtime error: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("API key"),
            "the error says the key was rejected: {}",
            run.stderr
        );
        let needles = vec![wrong.to_string(), SECRET_KEY.to_string()];
        assert_no_secret("stdout", &run.stdout, &needles);
        assert_no_secret("stderr", &run.stderr, &needles);
    }
    if let Ok(audit) = std::fs::read_to_string(&audit_file) {
        assert_no_secret("the audit log", &audit, &[wrong.to_string()]);
    }
    assert_eq!(emu.state(), state, "nothing changed");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_of_client_options_client_and_emulator_keys_redacts_key_and_token() {
    use orgsync::iam::{Client, ClientOptions, Endpoints};
    let state = secrets_state();
    let emu = emulator::start(state.clone(), Options::default())
        .await
        .expect("emulator starts");
    let proxy = recording_proxy(emu.base_url()).await;
    let options = ClientOptions {
        endpoints: Endpoints::resolve(Some(&proxy.url), "", "").expect("endpoint"),
        api_key: secrecy::SecretString::from(SECRET_KEY.to_string()),
        parallelism: 2,
        timeout: Duration::from_secs(10),
        deadline: Duration::from_secs(10),
        progress: false,
    };
    let shown = format!("{options:?} {options:#?}");
    assert!(!shown.contains(SECRET_KEY), "{shown}");
    assert!(
        shown.contains("parallelism: 2"),
        "Debug still shows the rest: {shown}"
    );
    let client = Client::new(options).expect("client");
    // Holding a token now: Debug must hide it as well as the key.
    let identity = tokio::time::timeout(Duration::from_secs(30), client.whoami())
        .await
        .expect("whoami is bounded")
        .expect("the key is accepted");
    let secrets = proxy
        .secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert!(!secrets.is_empty(), "the proxy saw the token");
    let needles = needles(&secrets, SECRET_KEY);
    assert_no_secret(
        "Debug of Client",
        &format!("{client:?} {client:#?}"),
        &needles,
    );
    assert_no_secret("Debug of Identity", &format!("{identity:?}"), &needles);
    let shown = format!("{:?} {:#?} {state:?}", state.api_keys, state.api_keys);
    assert!(!shown.contains(SECRET_KEY), "{shown}");
    assert!(shown.contains(emulator::SYNTHETIC_ADMIN_IAM_ID));
    proxy.task.abort();
    emu.shutdown().await;
}
