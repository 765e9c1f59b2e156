//! The benchmark of docs/performance.md: plan and apply at scale, against their lower bounds.
//!
//! Why it exists: an admin of a 10,000-user account runs `plan` on every pull request, and
//! its cost is round trips. "Fast enough" is not the goal; "as close to the physical limit
//! as the API allows" is. So every figure is printed beside the limit it is judged by:
//! requests made beside the minimum (docs/ibm-api.md, docs/reconciliation.md), wall time
//! beside the critical path of dependent round trips at the given parallelism and latency.
//!
//! It runs the real code paths — `iam::acquire` + `plan::plan` for plan, `executor::apply`
//! (verification included) for apply, `plan::plan` alone for the CPU benchmark — against
//! the emulator started in-process with `--latency-ms` on every request, which models the
//! network round trip. The emulator runs on its own runtime threads (named `emu-*`), so
//! its CPU is told apart from orgsync's.
//!
//! ```text
//! cargo run --release --example bench -- --scenario all
//! cargo run --release --example bench -- --scenario plan --users 50000 --memberships 150000
//! cargo run --release --example bench -- --scale 1000,10000,50000
//! ```
//!
//! `all` and `--scale` run every measurement in a child process of its own, so that each
//! peak RSS (VmHWM) is that scenario's alone.
//!
//! `--scenario plan-access` and `apply-access` measure what groups grant (policies, roles,
//! instances; see `access`). `all` runs them too, and reports rather than fails when the
//! emulator of the build cannot hold policies yet.

#[path = "bench/access.rs"]
mod access;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use orgsync::emulator::{self, SYNTHETIC_ADMIN_IAM_ID, SYNTHETIC_ADMIN_KEY, State, Synthetic};
use orgsync::executor;
use orgsync::iam::{self, Client, ClientOptions, Endpoints};
use orgsync::model::{
    AccessGroupId, AccountId, Date, DesiredGroup, DesiredState, DesiredUser, Email, GroupName,
    IamId, LiveGroup, LiveMember, LiveState, LiveUser, MemberKind, Policy, UserState,
};
use orgsync::plan::{self, Change, Plan};

#[derive(Parser, Clone, Debug)]
#[command(about = "Plan and apply at scale against their lower bounds (docs/performance.md)")]
struct Args {
    /// Users in the account (the admin included).
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Access groups in the account (besides Public Access).
    #[arg(long, default_value_t = 300)]
    groups: usize,
    /// Groups the file declares (the first ones), whose members plan reads.
    #[arg(long, default_value_t = 100)]
    managed: usize,
    /// User memberships, spread evenly over users and groups.
    #[arg(long, default_value_t = 30_000)]
    memberships: usize,
    /// Added by the emulator to every request: the network round trip.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// orgsync's `--parallelism`.
    #[arg(long, default_value_t = 8)]
    parallelism: usize,
    /// Pending `add_member` changes, spread over the managed groups.
    #[arg(long, default_value_t = 2_000)]
    adds: usize,
    /// Pending `remove_member` changes, spread over the managed groups.
    #[arg(long, default_value_t = 500)]
    removals: usize,
    /// Pending invitations, one managed group each (round robin).
    #[arg(long, default_value_t = 200)]
    invites: usize,
    /// Emails per invite call (`executor::Options::invite_batch`).
    #[arg(long, default_value_t = 10)]
    invite_batch: usize,
    /// Varies the generated account.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Runs plan and apply at each of these user counts (memberships and groups scaled
    /// from the other flags per user), one child process each.
    #[arg(long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// Runs of the pure planner; the median is reported.
    #[arg(long, default_value_t = 5)]
    planner_runs: usize,
    /// Skip the executor's verification reads.
    #[arg(long)]
    no_verify: bool,
    /// Print one JSON row per scenario (used between parent and child processes).
    #[arg(long, hide = true)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Plan,
    Apply,
    Planner,
    PlanAccess,
    ApplyAccess,
    All,
}

/// One measured scenario: what the table shows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Row {
    scenario: String,
    users: usize,
    groups: usize,
    managed: usize,
    memberships: usize,
    /// Requests the measured part made (apply: write requests).
    requests: u64,
    /// The documented minimum for them.
    minimum: u64,
    /// Other requests of the measured part, reported apart (apply: token, verification).
    other_requests: String,
    wall_ms: f64,
    bound_ms: f64,
    /// How the bound was derived.
    bound_how: String,
    /// CPU of orgsync's threads (the main thread and its runtime) during the measurement.
    cpu_ms: f64,
    /// CPU of the emulator's threads during the measurement.
    emulator_cpu_ms: f64,
    peak_rss_mb: f64,
    max_in_flight: u64,
    notes: String,
}

impl Row {
    fn ratio(&self) -> Option<f64> {
        (self.bound_ms > 0.0).then(|| self.wall_ms / self.bound_ms)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if !args.scale.is_empty() {
        scaling(&args)
    } else if args.scenario == Scenario::All {
        all(&args)
    } else {
        one(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---- orchestration ---------------------------------------------------------------------

fn one(args: &Args) -> Result<(), String> {
    let row = match args.scenario {
        Scenario::Plan => plan_scenario(args)?,
        Scenario::Apply => apply_scenario(args)?,
        Scenario::Planner => planner_scenario(args)?,
        Scenario::PlanAccess => access::plan_access_scenario(args)?,
        Scenario::ApplyAccess => access::apply_access_scenario(args)?,
        Scenario::All => return all(args),
    };
    if args.json {
        println!(
            "ROW {}",
            serde_json::to_string(&row).map_err(|e| e.to_string())?
        );
    } else {
        print_table(args, &[row]);
    }
    Ok(())
}

/// The issue's three targets, each in its own process.
fn all(args: &Args) -> Result<(), String> {
    let mut rows = vec![
        child(args, "plan", &[])?,
        child(args, "apply", &[])?,
        // The planner target: 500 groups, all managed, 5 memberships a user (docs/performance.md).
        child(
            args,
            "planner",
            &[
                ("--groups", "500".into()),
                ("--managed", "500".into()),
                ("--memberships", (args.users * 5).to_string()),
            ],
        )?,
    ];
    for scenario in ["plan-access", "apply-access"] {
        match child(args, scenario, &[]) {
            Ok(row) => rows.push(row),
            Err(e) => eprintln!("bench: {scenario} not measured: {e}"),
        }
    }
    print_table(args, &rows);
    Ok(())
}

/// Plan and apply at each user count; memberships scale with the users.
fn scaling(args: &Args) -> Result<(), String> {
    let per_user = args.memberships as f64 / args.users.max(1) as f64;
    let mut rows = Vec::new();
    for &users in &args.scale {
        let memberships = ((users as f64) * per_user).round() as usize;
        let over = [
            ("--users", users.to_string()),
            ("--memberships", memberships.to_string()),
        ];
        rows.push(child(args, "plan", &over)?);
        rows.push(child(args, "apply", &over)?);
    }
    print_table(args, &rows);
    Ok(())
}

/// Runs this binary again for one scenario and reads its row.
fn child(args: &Args, scenario: &str, over: &[(&str, String)]) -> Result<Row, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let mut flags: BTreeMap<&str, String> = BTreeMap::from([
        ("--users", args.users.to_string()),
        ("--groups", args.groups.to_string()),
        ("--managed", args.managed.to_string()),
        ("--memberships", args.memberships.to_string()),
        ("--latency-ms", args.latency_ms.to_string()),
        ("--parallelism", args.parallelism.to_string()),
        ("--adds", args.adds.to_string()),
        ("--removals", args.removals.to_string()),
        ("--invites", args.invites.to_string()),
        ("--invite-batch", args.invite_batch.to_string()),
        ("--seed", args.seed.to_string()),
        ("--planner-runs", args.planner_runs.to_string()),
    ]);
    for (k, v) in over {
        flags.insert(k, v.clone());
    }
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["--scenario", scenario, "--json"]);
    for (k, v) in &flags {
        cmd.args([*k, v.as_str()]);
    }
    if args.no_verify {
        cmd.arg("--no-verify");
    }
    eprintln!("bench: running {scenario} {over:?} ...");
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the {scenario} scenario: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the {scenario} scenario failed ({}): {stdout}",
            out.status
        ));
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("ROW "))
        .ok_or_else(|| format!("the {scenario} scenario printed no result: {stdout}"))
        .and_then(|j| serde_json::from_str(j).map_err(|e| format!("bad row from child: {e}")))
}

fn print_table(args: &Args, rows: &[Row]) {
    println!(
        "latency {} ms per request, parallelism {}, seed {}",
        args.latency_ms, args.parallelism, args.seed
    );
    println!();
    println!(
        "| scenario | users | groups (managed) | memberships | requests | minimum | other requests | wall ms | lower bound ms | ratio | CPU ms orgsync / emulator | peak RSS MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for r in rows {
        let ratio = r.ratio().map_or("–".into(), |x| format!("{x:.3}"));
        let (requests, minimum) = if r.scenario == "planner" {
            ("–".to_string(), "–".to_string())
        } else {
            (r.requests.to_string(), r.minimum.to_string())
        };
        let bound = if r.bound_ms > 0.0 {
            format!("{:.0}", r.bound_ms)
        } else {
            "–".into()
        };
        println!(
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {:.0} | {} | {} | {:.1} / {:.1} | {:.1} |",
            r.scenario,
            r.users,
            r.groups,
            r.managed,
            r.memberships,
            requests,
            minimum,
            r.other_requests,
            r.wall_ms,
            bound,
            ratio,
            r.cpu_ms,
            r.emulator_cpu_ms,
            r.peak_rss_mb
        );
    }
    println!();
    for r in rows {
        println!("{} @ {} users: {}", r.scenario, r.users, r.bound_how);
        if !r.notes.is_empty() {
            println!("    {}", r.notes);
        }
    }
}

// ---- the generated account and file ----------------------------------------------------

/// The fixed "today" of every plan: plans are deterministic.
fn today() -> Result<Date, String> {
    Date::from_ymd(2026, 11, 27).ok_or_else(|| "2026-11-27 is not a date".to_string())
}

fn account_state(args: &Args) -> State {
    emulator::synthetic(&Synthetic {
        users: args.users,
        groups: args.groups,
        memberships: args.memberships,
        service_ids_in_groups: 0,
        pending_users: 0,
        seed: args.seed,
    })
}

/// The file: every account user listed with the managed groups they are in, then
/// `--removals` of those memberships dropped, `--adds` new ones, `--invites` new emails —
/// all spread round robin over the managed groups, deterministically.
fn desired_state(args: &Args, state: &State) -> Result<DesiredState, String> {
    let managed = args.managed.min(state.groups.len());
    let index: HashMap<&str, usize> = state
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.iam_id.as_str(), i))
        .collect();
    let mut placed: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); state.users.len()];
    let mut groups_per_user = vec![0usize; state.users.len()];
    for (g, group) in state.groups.iter().enumerate() {
        for m in group
            .members
            .iter()
            .filter(|m| m.kind == emulator::MemberKind::User)
        {
            if let Some(&u) = index.get(m.iam_id.as_str()) {
                groups_per_user[u] += 1;
                if g < managed {
                    placed[u].insert(g);
                }
            }
        }
    }
    let admin = index.get(SYNTHETIC_ADMIN_IAM_ID).copied();
    let mut touched: BTreeSet<(usize, usize)> = BTreeSet::new();
    if managed == 0 && args.adds + args.removals + args.invites > 0 {
        return Err("--adds, --removals and --invites need --managed > 0".into());
    }

    // Removals: the next member of group r % managed.
    let mut cursor = vec![0usize; managed];
    let mut done = 0;
    let mut stuck = 0;
    let mut g = 0;
    while done < args.removals && stuck < managed {
        let members = &state.groups[g].members;
        let mut found = None;
        while let Some(m) = members.get(cursor[g]) {
            cursor[g] += 1;
            if let Some(&u) = index.get(m.iam_id.as_str())
                && Some(u) != admin
                && m.kind == emulator::MemberKind::User
            {
                found = Some(u);
                break;
            }
        }
        match found {
            Some(u) => {
                placed[u].remove(&g);
                touched.insert((u, g));
                done += 1;
                stuck = 0;
            }
            None => stuck += 1,
        }
        g = (g + 1) % managed.max(1);
    }
    if done < args.removals {
        return Err(format!(
            "only {done} memberships can be removed from the managed groups; lower --removals"
        ));
    }

    // Adds: the next user (from a per-group starting point) not yet in group a % managed.
    let n = state.users.len();
    let mut next_user: Vec<usize> = (0..managed).map(|g| (g * 7919) % n.max(1)).collect();
    let (mut done, mut stuck, mut g) = (0, 0, 0);
    while done < args.adds && stuck < managed {
        let mut found = None;
        for _ in 0..n {
            let u = next_user[g];
            next_user[g] = (u + 1) % n;
            if Some(u) != admin
                && !placed[u].contains(&g)
                && !touched.contains(&(u, g))
                && groups_per_user[u] < 50
            {
                found = Some(u);
                break;
            }
        }
        match found {
            Some(u) => {
                placed[u].insert(g);
                touched.insert((u, g));
                groups_per_user[u] += 1;
                done += 1;
                stuck = 0;
            }
            None => stuck += 1,
        }
        g = (g + 1) % managed.max(1);
    }
    if done < args.adds {
        return Err(format!(
            "only {done} memberships can be added to the managed groups; lower --adds"
        ));
    }

    let name = |g: usize| GroupName::new(state.groups[g].name.clone());
    let mut users = BTreeMap::new();
    for (u, user) in state.users.iter().enumerate() {
        let email = Email::new(&user.email);
        users.insert(
            email.clone(),
            DesiredUser {
                email,
                groups: placed[u].iter().map(|&g| name(g)).collect(),
                expires: None,
            },
        );
    }
    for i in 0..args.invites {
        let email = Email::new(&format!("newhire{i:05}@example.com"));
        users.insert(
            email.clone(),
            DesiredUser {
                email,
                groups: BTreeSet::from([name(i % managed.max(1))]),
                expires: None,
            },
        );
    }
    let groups = (0..managed)
        .map(|g| {
            (
                name(g),
                DesiredGroup {
                    name: name(g),
                    description: None,
                    access: None,
                    rules: None,
                },
            )
        })
        .collect();
    Ok(DesiredState {
        account_id: AccountId::new(state.account_id.clone()),
        policy: Policy {
            max_removals: u32::MAX,
            ..Policy::default()
        },
        groups,
        users,
        roles: Default::default(),
    })
}

/// The live state `acquire` would read, built directly (for the pure-planner benchmark).
fn live_state(state: &State, managed: &BTreeSet<GroupName>) -> LiveState {
    LiveState {
        account_id: AccountId::new(state.account_id.clone()),
        caller: IamId::new(SYNTHETIC_ADMIN_IAM_ID),
        users: state
            .users
            .iter()
            .map(|u| LiveUser {
                iam_id: IamId::new(u.iam_id.clone()),
                email: Email::new(&u.email),
                state: UserState::parse(u.state.as_str()),
                added_on: u.added_on.as_deref().and_then(Date::from_timestamp_prefix),
            })
            .collect(),
        groups: state
            .groups
            .iter()
            .map(|g| {
                let name = GroupName::new(g.name.clone());
                LiveGroup {
                    id: AccessGroupId::new(g.id.clone()),
                    members: managed.contains(&name).then(|| {
                        g.members
                            .iter()
                            .map(|m| LiveMember {
                                iam_id: IamId::new(m.iam_id.clone()),
                                kind: MemberKind::parse(m.kind.as_str()),
                                membership: Default::default(),
                            })
                            .collect()
                    }),
                    name,
                    description: g.description.clone(),
                    policies: None,
                    rules: None,
                }
            })
            .collect(),
        roles: Vec::new(),
        instances: Vec::new(),
        resource_groups: Vec::new(),
        user_groups: Default::default(),
    }
}

// ---- measuring -------------------------------------------------------------------------

/// Two runtimes: the emulator's threads (`emu-*`) and orgsync's (`orgsync-*` plus the main
/// thread, which drives `block_on`). CPU is read per thread from /proc.
struct Harness {
    /// Kept alive: the emulator serves from it.
    _emu_rt: tokio::runtime::Runtime,
    rt: tokio::runtime::Runtime,
    emulator: emulator::Emulator,
}

impl Harness {
    fn start(state: State, args: &Args) -> Result<Harness, String> {
        let emu_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emu-worker")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the emulator's runtime: {e}"))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orgsync-worker")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start orgsync's runtime: {e}"))?;
        let options = emulator::Options {
            latency: Duration::from_millis(args.latency_ms),
            seed: args.seed,
            ..emulator::Options::default()
        };
        let emulator = emu_rt
            .block_on(emulator::start(state, options))
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        Ok(Harness {
            _emu_rt: emu_rt,
            rt,
            emulator,
        })
    }

    fn client(&self, args: &Args) -> Result<Client, String> {
        Client::new(ClientOptions {
            endpoints: Endpoints::resolve(Some(&self.emulator.base_url()), "", "")
                .map_err(|e| e.to_string())?,
            api_key: SecretString::from(SYNTHETIC_ADMIN_KEY),
            parallelism: args.parallelism,
            timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(300),
            progress: false,
        })
        .map_err(|e| e.to_string())
    }

    fn stats(&self) -> Stats {
        Stats(self.emulator.stats())
    }
}

struct Stats(serde_json::Value);

impl Stats {
    fn route(&self, route: &str) -> u64 {
        self.0["by_route"][route].as_u64().unwrap_or(0)
    }
    fn total(&self) -> u64 {
        self.0["total"].as_u64().unwrap_or(0)
    }
    fn max_in_flight(&self) -> u64 {
        self.0["max_in_flight"].as_u64().unwrap_or(0)
    }
}

const TOKEN: &str = "POST /identity/token";
const USERS: &str = "GET /v2/accounts/{account_id}/users";
const GROUPS: &str = "GET /v2/groups";
const MEMBERS: &str = "GET /v2/groups/{access_group_id}/members";
const USER: &str = "GET /v2/accounts/{account_id}/users/{iam_id}";

/// CPU nanoseconds per live thread of this process, by thread id, with its name.
fn thread_cpu() -> HashMap<u64, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        out.insert(tid, (name, ns));
    }
    out
}

/// CPU milliseconds (orgsync, emulator) spent between two [`thread_cpu`] snapshots.
fn cpu_between(
    before: &HashMap<u64, (String, u64)>,
    after: &HashMap<u64, (String, u64)>,
) -> (f64, f64) {
    let (mut ours, mut emu) = (0u64, 0u64);
    for (tid, (name, ns)) in after {
        let spent = ns.saturating_sub(before.get(tid).map_or(0, |b| b.1));
        if name.starts_with("emu-") {
            emu += spent;
        } else {
            ours += spent;
        }
    }
    (ours as f64 / 1e6, emu as f64 / 1e6)
}

/// CPU nanoseconds of the calling thread.
fn this_thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Peak resident set of the process (VmHWM), MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pages(n: usize) -> u64 {
    n.div_ceil(100).max(1) as u64
}

/// The account as the emulator will list it: users, groups, and members per group id.
struct Shape {
    users: usize,
    groups: usize,
    members: HashMap<String, usize>,
}

impl Shape {
    fn of(state: &State) -> Shape {
        Shape {
            users: state.users.len(),
            groups: state.groups.len(),
            members: state
                .groups
                .iter()
                .map(|g| (g.id.clone(), g.members.len()))
                .collect(),
        }
    }
}

/// Lower bound, in round trips, of a set of reads that run together: the longest chain of
/// dependent requests, or the work spread over every slot, whichever is larger.
fn bound(chains: &[(&str, u64)], total: u64, parallelism: usize) -> (u64, String) {
    let spread = total.div_ceil(parallelism.max(1) as u64);
    let (name, longest) = chains
        .iter()
        .copied()
        .max_by_key(|c| c.1)
        .unwrap_or(("none", 0));
    let what = if longest >= spread {
        name
    } else {
        "work spread over the slots"
    };
    let how = format!(
        "max({}, ⌈{total}/{parallelism}⌉ = {spread}) = {} RT ({what})",
        chains
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        longest.max(spread),
    );
    (longest.max(spread), how)
}

// ---- scenarios -------------------------------------------------------------------------

fn plan_scenario(args: &Args) -> Result<Row, String> {
    let state = account_state(args);
    let desired = desired_state(args, &state)?;
    let shape = Shape::of(&state);
    let managed: Vec<GroupName> = desired.groups.keys().cloned().collect();
    let managed_ids: Vec<String> = state
        .groups
        .iter()
        .take(args.managed)
        .map(|g| g.id.clone())
        .collect();
    let account = AccountId::new(state.account_id.clone());
    let memberships = args.memberships;
    let h = Harness::start(state, args)?;
    let client = h.client(args)?;

    h.emulator.reset_stats();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let (live, acquired_at) = h.rt.block_on(async {
        let live = iam::acquire(&client, &account, &iam::members_only(&managed)).await;
        (live, t0.elapsed())
    });
    let live = live.map_err(|e| format!("acquire failed: {e}"))?;
    let plan = plan::plan(&desired, &live, &plan::Options { today: today()? })
        .map_err(|e| format!("plan failed: {e}"))?;
    let wall = t0.elapsed();
    let cpu1 = thread_cpu();
    let (cpu_ms, emu_ms) = cpu_between(&cpu0, &cpu1);
    let stats = h.stats();

    // docs/ibm-api.md: 1 token + ⌈users/100⌉ + ⌈groups/100⌉ + Σ managed ⌈members/100⌉.
    let user_pages = pages(shape.users);
    let group_pages = pages(shape.groups);
    let member_pages: u64 = managed_ids
        .iter()
        .map(|id| pages(shape.members.get(id).copied().unwrap_or(0)))
        .sum();
    let minimum = 1 + user_pages + group_pages + member_pages;
    let any_second_member_page = managed_ids
        .iter()
        .any(|id| shape.members.get(id).copied().unwrap_or(0) > 100);
    // After the token: the user cursor is one chain; the groups chain is the first groups
    // page, the rest in parallel, then each managed group's first member page, then the
    // rest in parallel.
    let groups_chain = 1 + u64::from(group_pages > 1) + 1 + u64::from(any_second_member_page);
    let (rts, how) = bound(
        &[
            ("user cursor", user_pages),
            ("groups→members", groups_chain),
        ],
        user_pages + group_pages + member_pages,
        args.parallelism,
    );
    let bound_rt = 1 + rts;
    let bound_ms = bound_rt as f64 * args.latency_ms as f64;

    let s = &plan.summary;
    Ok(Row {
        scenario: "plan".into(),
        users: shape.users,
        groups: shape.groups,
        managed: managed_ids.len(),
        memberships,
        requests: stats.total(),
        minimum,
        other_requests: format!(
            "token {}, users {}, groups {}, members {}",
            stats.route(TOKEN),
            stats.route(USERS),
            stats.route(GROUPS),
            stats.route(MEMBERS)
        ),
        wall_ms: wall.as_secs_f64() * 1e3,
        bound_ms,
        bound_how: format!(
            "minimum = 1 + {user_pages} + {group_pages} + {member_pages}; bound = token 1 RT + {how} = {bound_rt} RT × {} ms",
            args.latency_ms
        ),
        cpu_ms,
        emulator_cpu_ms: emu_ms,
        peak_rss_mb: peak_rss_mb(),
        max_in_flight: stats.max_in_flight(),
        notes: format!(
            "acquire {:.0} ms, plan::plan {:.1} ms; plan: {} invites, {} adds, {} removals; max in flight {}",
            acquired_at.as_secs_f64() * 1e3,
            (wall - acquired_at).as_secs_f64() * 1e3,
            s.invite_user,
            s.add_member,
            s.remove_member,
            stats.max_in_flight()
        ),
    })
}

/// Minimum write requests of a plan under apply's batching (docs/reconciliation.md).
struct Writes {
    adds: u64,
    removals: u64,
    invites: u64,
    creates: u64,
    updates: u64,
    remove_users: u64,
}

impl Writes {
    fn of(plan: &Plan, invite_batch: usize) -> Writes {
        let mut adds: BTreeMap<String, usize> = BTreeMap::new();
        let mut removals: BTreeMap<String, usize> = BTreeMap::new();
        let mut invites: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        let mut w = Writes {
            adds: 0,
            removals: 0,
            invites: 0,
            creates: 0,
            updates: 0,
            remove_users: 0,
        };
        for change in &plan.changes {
            match change {
                Change::AddMember { group, .. } => *adds.entry(group.key()).or_default() += 1,
                Change::RemoveMember { group, .. } => {
                    *removals.entry(group.key()).or_default() += 1
                }
                Change::InviteUser { groups, .. } => {
                    *invites
                        .entry(groups.iter().map(GroupName::key).collect())
                        .or_default() += 1
                }
                Change::CreateGroup { .. } => w.creates += 1,
                Change::UpdateGroup { .. } => w.updates += 1,
                Change::RemoveUser { .. } => w.remove_users += 1,
                // The benchmark's account declares no roles, access or rules yet.
                other => panic!("the benchmark plans no {}", other.kind().as_str()),
            }
        }
        let calls = |n: &usize, per: usize| n.div_ceil(per) as u64;
        w.adds = adds.values().map(|n| calls(n, 50)).sum();
        w.removals = removals.values().map(|n| calls(n, 50)).sum();
        w.invites = invites
            .values()
            .map(|n| calls(n, invite_batch.max(1)))
            .sum();
        w
    }

    fn total(&self) -> u64 {
        self.adds
            + self.removals
            + self.invites
            + self.creates
            + 2 * self.updates
            + self.remove_users
    }
}

fn apply_scenario(args: &Args) -> Result<Row, String> {
    let state = account_state(args);
    let desired = desired_state(args, &state)?;
    let users_before = state.users.len();
    let managed: Vec<GroupName> = desired.groups.keys().cloned().collect();
    let account = AccountId::new(state.account_id.clone());
    let h = Harness::start(state, args)?;

    // The plan, read as `apply` reads it (not measured here: that is the plan scenario).
    // One client for reading and applying, as `orgsync apply` has (its session's): the
    // token is held when the apply starts, and the client knows the account's size.
    let client = h.client(args)?;
    let live =
        h.rt.block_on(iam::acquire(
            &client,
            &account,
            &iam::members_only(&managed),
        ))
        .map_err(|e| format!("acquire failed: {e}"))?;
    let plan = plan::plan(&desired, &live, &plan::Options { today: today()? })
        .map_err(|e| format!("plan failed: {e}"))?;
    let group_ids: BTreeMap<GroupName, AccessGroupId> = live
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.id.clone()))
        .collect();
    let writes = Writes::of(&plan, args.invite_batch);

    let options = executor::Options {
        invite_batch: args.invite_batch,
        verify: !args.no_verify,
        parallelism: args.parallelism,
        interrupt: None,
        progress: None,
    };
    h.emulator.reset_stats();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let report = h.rt.block_on(executor::apply(
        &plan, &account, &group_ids, &client, &options, None,
    ));
    let wall = t0.elapsed();
    let (cpu_ms, emu_ms) = cpu_between(&cpu0, &thread_cpu());
    let stats = h.stats();
    let after = h.emulator.state();

    let failed = report
        .entries
        .iter()
        .filter(|e| e.status != executor::Status::Applied)
        .count();
    let token = stats.route(TOKEN);
    let verify_users = stats.route(USERS);
    let verify_user_gets = stats.route(USER);
    let verify_members = stats.route(MEMBERS);
    // Everything but the token and the verification reads is a write request (an update's
    // GET for the ETag included, as the minimum counts it).
    let written = stats
        .total()
        .saturating_sub(token + verify_users + verify_user_gets + verify_members);

    // Lower bound of the writes, in round trips. The executor has no phase barriers, only
    // the documented dependencies: a group's create before what fills it (adds, invites), what
    // fills a group before removals from it (adds before removals), an update's GET before
    // its PATCH. So: the longest such chain, or all write requests spread over the slots.
    let p = args.parallelism as u64;
    let chain = write_chain(&plan);
    let spread = writes.total().div_ceil(p);
    let writes_rt = chain.max(spread);
    // Verification reads the touched groups' members (first page, then the rest) and, after
    // invites or user removals, those users: either the user list (a cursor chain) or each
    // user by IAM id (all at once). The bound takes the better of the two.
    let touched: BTreeSet<&AccessGroupId> = plan
        .changes
        .iter()
        .flat_map(|c| match c {
            Change::AddMember { group_id, .. } => group_id.iter().collect::<Vec<_>>(),
            Change::RemoveMember { group_id, .. } => vec![group_id],
            Change::InviteUser { groups, .. } => {
                groups.iter().filter_map(|g| group_ids.get(g)).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    let after_members: HashMap<&str, usize> = after
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.members.len()))
        .collect();
    let member_pages: u64 = touched
        .iter()
        .map(|id| pages(after_members.get(id.as_str()).copied().unwrap_or(0)))
        .sum();
    let second = touched
        .iter()
        .any(|id| after_members.get(id.as_str()).copied().unwrap_or(0) > 100);
    let user_checks = (plan.summary.invite_user + plan.summary.remove_user) as u64;
    let reads_users = user_checks > 0;
    let user_pages = if reads_users {
        pages(after.users.len())
    } else {
        0
    };
    let (verify_rt, verify_how) = if args.no_verify {
        (0, "no verification".to_string())
    } else {
        let members_chain = ("members", 1 + u64::from(second));
        let (listing, listing_how) = bound(
            &[("user cursor", user_pages), members_chain],
            user_pages + member_pages,
            args.parallelism,
        );
        let (gets, gets_how) = bound(
            &[("user GET", u64::from(reads_users)), members_chain],
            user_checks + member_pages,
            args.parallelism,
        );
        if gets < listing {
            (
                gets,
                format!("min(re-list: {listing_how}; users by id: {gets_how})"),
            )
        } else {
            (
                listing,
                format!("min(re-list: {listing_how}; users by id: {gets_how})"),
            )
        }
    };
    // A token call only if the apply made one (the session's token is usually fresh).
    let token_rt = u64::from(token > 0);
    let bound_rt = token_rt + writes_rt + verify_rt;
    let bound_ms = bound_rt as f64 * args.latency_ms as f64;

    Ok(Row {
        scenario: if args.no_verify {
            "apply (no verify)"
        } else {
            "apply"
        }
        .into(),
        users: users_before,
        groups: after.groups.len(),
        managed: managed.len(),
        memberships: args.memberships,
        requests: written,
        minimum: writes.total(),
        other_requests: format!(
            "token {token}, verify: members {verify_members} (min {member_pages}), user pages {verify_users}, user GETs {verify_user_gets}"
        ),
        wall_ms: wall.as_secs_f64() * 1e3,
        bound_ms,
        bound_how: format!(
            "writes minimum = adds {} + removals {} + invites {} + creates {} + 2×updates {} + user removals {}; bound = token {token_rt} + writes max(dependency chain {chain}, ⌈{}/{p}⌉ = {spread}) = {writes_rt} + verification (after the writes) {verify_how} = {bound_rt} RT × {} ms (token + writes alone: {} RT = {} ms)",
            writes.adds,
            writes.removals,
            writes.invites,
            writes.creates,
            writes.updates,
            writes.remove_users,
            writes.total(),
            args.latency_ms,
            token_rt + writes_rt,
            (token_rt + writes_rt) * args.latency_ms,
        ),
        cpu_ms,
        emulator_cpu_ms: emu_ms,
        peak_rss_mb: peak_rss_mb(),
        max_in_flight: stats.max_in_flight(),
        notes: format!(
            "plan: {} invites, {} adds, {} removals; not applied: {failed}; max in flight {}",
            plan.summary.invite_user,
            plan.summary.add_member,
            plan.summary.remove_member,
            stats.max_in_flight()
        ),
    })
}

/// The longest chain of dependent write round trips in `plan` (see `apply_scenario`).
fn write_chain(plan: &Plan) -> u64 {
    let mut created = BTreeSet::new();
    let mut filled = BTreeSet::new();
    let mut emptied = BTreeSet::new();
    let mut longest = 0;
    for change in &plan.changes {
        match change {
            Change::CreateGroup { group, .. } => {
                created.insert(group.key());
            }
            Change::UpdateGroup { .. } => longest = longest.max(2),
            Change::InviteUser { groups, .. } => filled.extend(groups.iter().map(GroupName::key)),
            Change::AddMember { group, .. } => {
                filled.insert(group.key());
            }
            Change::RemoveMember { group, .. } => {
                emptied.insert(group.key());
            }
            Change::RemoveUser { groups, .. } => {
                emptied.extend(groups.iter().map(GroupName::key));
                longest = longest.max(1);
            }
            other => panic!("the benchmark plans no {}", other.kind().as_str()),
        }
    }
    let groups: BTreeSet<&String> = created.iter().chain(&filled).chain(&emptied).collect();
    for g in groups {
        let chain = u64::from(created.contains(g))
            + u64::from(filled.contains(g))
            + u64::from(emptied.contains(g));
        longest = longest.max(chain);
    }
    longest
}

fn planner_scenario(args: &Args) -> Result<Row, String> {
    let state = account_state(args);
    let desired = desired_state(args, &state)?;
    let managed: BTreeSet<GroupName> = desired.groups.keys().cloned().collect();
    let live = live_state(&state, &managed);
    let shape = Shape::of(&state);
    drop(state);
    let options = plan::Options { today: today()? };
    let mut runs = Vec::new();
    let mut summary = None;
    let mut wall_runs = Vec::new();
    for _ in 0..args.planner_runs.max(1) {
        let c0 = this_thread_cpu_ns();
        let t0 = Instant::now();
        let plan =
            plan::plan(&desired, &live, &options).map_err(|e| format!("plan failed: {e}"))?;
        wall_runs.push(t0.elapsed().as_secs_f64() * 1e3);
        runs.push((this_thread_cpu_ns() - c0) as f64 / 1e6);
        summary = Some(plan.summary);
    }
    let first = runs.first().copied().unwrap_or(0.0);
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    let s = summary.unwrap_or_default();
    Ok(Row {
        scenario: "planner".into(),
        users: shape.users,
        groups: shape.groups,
        managed: managed.len(),
        memberships: args.memberships,
        requests: 0,
        minimum: 0,
        other_requests: "–".into(),
        wall_ms: wall_runs.first().copied().unwrap_or(0.0),
        bound_ms: 0.0,
        bound_how: format!(
            "pure plan::plan, CPU of the calling thread: first run {first:.1} ms, median of {} runs {median:.1} ms (runs: {})",
            runs.len(),
            runs.iter()
                .map(|r| format!("{r:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        cpu_ms: first,
        emulator_cpu_ms: 0.0,
        peak_rss_mb: peak_rss_mb(),
        max_in_flight: 0,
        notes: format!(
            "plan: {} invites, {} adds, {} removals, {} changes",
            s.invite_user, s.add_member, s.remove_member, s.total
        ),
    })
}
