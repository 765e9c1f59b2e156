//! The benchmark's scenarios of what groups grant (docs/performance.md):
//!
//! - `plan-access`: the plan scenario's account, each managed group granted 2 of 20 named
//!   Qiskit Runtime instances (Viewer and Reader), the unmanaged groups one policy each,
//!   a custom role; the file names those grants. It prints the requests beside the
//!   minimum (with the policy listing chosen and both counts) and the wall time beside
//!   the same lower bound as without access: every new read must hide behind the user
//!   cursor.
//! - `apply-access`: a plan of 200 `create_policy`, 100 `update_policy` (widening, half of
//!   them of v1 policies) and 100 `remove_policy` over the 100 managed groups, beside the
//!   minimum (one request per change plus the ETag reads) and its critical-path bound.
//!
//! The account is built here, as the emulator's state document with its second-wave keys
//! (`resource_instances`, `roles`, `policies`; docs/emulator.md), parsed at run time: an
//! emulator that cannot hold them says so and the scenario reports it instead of a row.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{Value, json};

use orgsync::emulator::State;
use orgsync::executor;
use orgsync::iam::{self, PolicyListing, policy_listing};
use orgsync::model::{
    AccessGroupId, AccountId, DesiredAccess, GroupName, InstanceGuid, InstanceRef, PolicyId,
    PolicyVersion, RoleCrn, RoleName, ServiceName,
};
use orgsync::plan::{self, Change, Plan, Summary, Target, Unmanaged};

use super::{
    Args, Harness, Row, Shape, TOKEN, USERS, account_state, bound, cpu_between, desired_state,
    pages, peak_rss_mb, thread_cpu, today,
};

const SERVICE: &str = "quantum-computing";
const INSTANCES: usize = 20;
const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";
const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";
const POLICIES: &str = "GET /v2/policies";

fn instance_name(i: usize) -> String {
    format!("QR-{i:02}")
}

/// A deterministic UUID-shaped id.
fn uuid(kind: u32, seed: u64, n: usize) -> String {
    format!("{kind:08x}-{:04x}-4000-8000-{n:012x}", seed & 0xffff)
}

fn guid(seed: u64, i: usize) -> String {
    uuid(0x1, seed, i)
}

/// The two instances group `g` is granted.
fn granted(g: usize) -> [usize; 2] {
    [g % INSTANCES, (g + 7) % INSTANCES]
}

fn policy(id: String, group: &str, instance: &str, roles: &[&str], v1: bool) -> Value {
    let mut p = json!({
        "id": id,
        "access_group_id": group,
        "roles": roles,
        "resource": {"serviceName": SERVICE, "serviceInstance": instance},
    });
    if v1 {
        p["version"] = json!("v1");
    }
    p
}

/// The synthetic account with the access keys added, as the emulator loads it.
fn with_access(state: &State, policies: Vec<Value>, seed: u64) -> Result<State, String> {
    let mut doc = serde_json::to_value(state).map_err(|e| e.to_string())?;
    doc["resource_instances"] = (0..INSTANCES)
        .map(|i| json!({"name": instance_name(i), "service": SERVICE, "guid": guid(seed, i)}))
        .collect();
    doc["roles"] = json!([{
        "name": "JobManager", "display_name": "Job manager", "service_name": SERVICE,
        "actions": ["quantum-computing.job.read", "quantum-computing.job.delete"]
    }]);
    doc["policies"] = Value::Array(policies);
    State::parse(&doc.to_string()).map_err(|e| {
        format!(
            "the emulator of this build cannot hold the account's policies, instances and roles ({e}); the access scenarios need the emulator of docs/emulator.md's second wave"
        )
    })
}

fn requests_other(stats: &super::Stats) -> String {
    let by = |r: &str| stats.route(r);
    format!(
        "token {}, users {}, policies {}, roles {}, instances {}",
        by(TOKEN),
        by(USERS),
        by(POLICIES),
        by("GET /v2/roles"),
        by("GET /v2/resource_instances"),
    )
}

pub(super) fn plan_access_scenario(args: &Args) -> Result<Row, String> {
    let base = account_state(args);
    let managed = args.managed.min(base.groups.len());
    // Managed groups: their 2 grants. Unmanaged groups: one grant each (listed by an
    // account-wide listing, never by a per-group one).
    let mut policies = Vec::new();
    for (g, group) in base.groups.iter().enumerate() {
        let grants: &[usize] = if g < managed {
            &granted(g)
        } else {
            &granted(g)[..1]
        };
        for (k, &i) in grants.iter().enumerate() {
            let id = uuid(0x2, args.seed, g * 2 + k);
            policies.push(policy(
                id,
                &group.id,
                &guid(args.seed, i),
                &["Viewer", "Reader"],
                k == 1,
            ));
        }
    }
    let state = with_access(&base, policies, args.seed)?;
    let mut desired = desired_state(args, &state)?;
    let roles: BTreeSet<RoleName> = ["Reader", "Viewer"].map(RoleName::new).into();
    for (g, group) in state.groups.iter().take(managed).enumerate() {
        if let Some(d) = desired.groups.get_mut(&GroupName::new(group.name.clone())) {
            d.access = Some(
                granted(g)
                    .iter()
                    .map(|&i| DesiredAccess {
                        service: Some(ServiceName::new(SERVICE)),
                        instance: Some(InstanceRef::Name(instance_name(i))),
                        resource_group: None,
                        roles: roles.clone(),
                    })
                    .collect(),
            );
        }
    }
    let query = desired.live_query();
    let shape = Shape::of(&state);
    let managed_ids: Vec<String> = state
        .groups
        .iter()
        .take(managed)
        .map(|g| g.id.clone())
        .collect();
    let account = AccountId::new(state.account_id.clone());
    let h = Harness::start(state, args)?;
    let client = h.client(args)?;

    h.emulator.reset_stats();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let (live, acquired_at) = h.rt.block_on(async {
        let live = iam::acquire(&client, &account, &query).await;
        (live, t0.elapsed())
    });
    let live = live.map_err(|e| format!("acquire failed: {e}"))?;
    let plan = plan::plan(&desired, &live, &plan::Options { today: today()? })
        .map_err(|e| format!("plan failed: {e}"))?;
    let wall = t0.elapsed();
    let (cpu_ms, emu_ms) = cpu_between(&cpu0, &thread_cpu());
    let stats = h.stats();

    let user_pages = pages(shape.users);
    let group_pages = pages(shape.groups);
    let member_pages: u64 = managed_ids
        .iter()
        .map(|id| pages(shape.members.get(id).copied().unwrap_or(0)))
        .sum();
    let with_access = query.policies_of.len();
    let (listing, per_group, account_wide) = (policy_listing(with_access), with_access as u64, 1);
    let policy_requests = match listing {
        PolicyListing::AccountWide => account_wide,
        PolicyListing::PerGroup => per_group,
        PolicyListing::None => 0,
    };
    let role_requests = query.role_services.len() as u64;
    let instance_requests = query.instances.len() as u64;
    let access = policy_requests + role_requests + instance_requests;
    let minimum = 1 + user_pages + group_pages + member_pages + access;
    let any_second = managed_ids
        .iter()
        .any(|id| shape.members.get(id).copied().unwrap_or(0) > 100);
    let groups_chain = 1 + u64::from(group_pages > 1) + 1 + u64::from(any_second);
    // The same bound as without access (docs/performance.md): the new reads are bulk and
    // independent of the cursor, so they only add to the spread.
    let (rts, how) = bound(
        &[
            ("user cursor", user_pages),
            ("groups→members", groups_chain),
        ],
        user_pages + group_pages + member_pages + access,
        args.parallelism,
    );
    let bound_rt = 1 + rts;
    let read_policies: usize = live
        .groups
        .iter()
        .filter_map(|g| g.policies.as_ref().map(Vec::len))
        .sum();
    Ok(Row {
        scenario: "plan-access".into(),
        users: shape.users,
        groups: shape.groups,
        managed: managed_ids.len(),
        memberships: args.memberships,
        requests: stats.total(),
        minimum,
        other_requests: requests_other(&stats),
        wall_ms: wall.as_secs_f64() * 1e3,
        bound_ms: bound_rt as f64 * args.latency_ms as f64,
        bound_how: format!(
            "minimum = 1 + {user_pages} + {group_pages} + {member_pages} + policies {policy_requests} ({listing:?}: account-wide {account_wide} vs per group {per_group}, for {with_access} groups with access) + roles {role_requests} + instances {instance_requests}; bound = token 1 RT + {how} = {bound_rt} RT × {} ms",
            args.latency_ms
        ),
        cpu_ms,
        emulator_cpu_ms: emu_ms,
        peak_rss_mb: peak_rss_mb(),
        max_in_flight: stats.max_in_flight(),
        notes: format!(
            "acquire {:.0} ms, plan::plan {:.1} ms; read {read_policies} policies of {with_access} groups, {} roles, {} instances; plan: {} changes",
            acquired_at.as_secs_f64() * 1e3,
            (wall - acquired_at).as_secs_f64() * 1e3,
            live.roles.len(),
            live.instances.len(),
            plan.changes.len()
        ),
    })
}

/// The account and the plan of the apply scenario: per managed group, 2 policies to create
/// (on instances it lacks), 1 to widen (Viewer → Viewer + Reader; every other one a v1
/// policy) and 1 to remove.
fn apply_plan(args: &Args) -> Result<(State, Plan, BTreeMap<GroupName, AccessGroupId>), String> {
    let base = account_state(args);
    let managed = args.managed.min(base.groups.len());
    let mut policies = Vec::new();
    let mut changes = Vec::new();
    let target = |i: usize| Target {
        service: Some(ServiceName::new(SERVICE)),
        instance: Some(instance_name(i)),
        instance_id: Some(InstanceGuid::new(guid(args.seed, i))),
        resource_group: None,
        resource_group_id: None,
    };
    let names = |r: &[&str]| r.iter().map(|n| RoleName::new(*n)).collect::<Vec<_>>();
    let crns = |r: &[&str]| r.iter().map(|c| RoleCrn::new(*c)).collect::<Vec<_>>();
    let mut removals = Vec::new();
    for (g, group) in base.groups.iter().take(managed).enumerate() {
        let (name, id) = (
            GroupName::new(group.name.clone()),
            AccessGroupId::new(group.id.clone()),
        );
        let [a, b] = granted(g);
        let (c, d) = ((g + 3) % INSTANCES, (g + 11) % INSTANCES);
        let (update, remove) = (uuid(0x3, args.seed, g), uuid(0x4, args.seed, g));
        let v1 = g % 2 == 0;
        policies.push(policy(
            update.clone(),
            &group.id,
            &guid(args.seed, a),
            &["Viewer"],
            v1,
        ));
        policies.push(policy(
            remove.clone(),
            &group.id,
            &guid(args.seed, b),
            &["Viewer"],
            false,
        ));
        for i in [c, d] {
            changes.push(Change::CreatePolicy {
                group: name.clone(),
                group_id: Some(id.clone()),
                target: target(i),
                roles: names(&["Reader", "Viewer"]),
                role_ids: crns(&[READER, VIEWER]),
            });
        }
        changes.push(Change::UpdatePolicy {
            group: name.clone(),
            group_id: id.clone(),
            policy_id: PolicyId::new(update),
            api_version: if v1 {
                PolicyVersion::V1
            } else {
                PolicyVersion::V2
            },
            target: target(a),
            roles: names(&["Reader", "Viewer"]),
            role_ids: crns(&[READER, VIEWER]),
            old_roles: names(&["Viewer"]),
        });
        removals.push(Change::RemovePolicy {
            group: name,
            group_id: id,
            policy_id: PolicyId::new(remove),
            api_version: PolicyVersion::V2,
            target: target(b),
            roles: names(&["Viewer"]),
            role_ids: crns(&[VIEWER]),
        });
    }
    // The planner's order: creates, then updates, then (grants before revocations) removals.
    changes.sort_by_key(|c| c.kind());
    changes.extend(removals);
    let state = with_access(&base, policies, args.seed)?;
    let ids = state
        .groups
        .iter()
        .map(|g| {
            (
                GroupName::new(g.name.clone()),
                AccessGroupId::new(g.id.clone()),
            )
        })
        .collect();
    let plan = Plan {
        format_version: plan::FORMAT_VERSION,
        account_id: AccountId::new(state.account_id.clone()),
        config_digest: "sha256:bench".into(),
        live_digest: "sha256:bench".into(),
        summary: Summary::of(&changes),
        changes,
        warnings: Vec::new(),
        unmanaged: Unmanaged::default(),
        rosters: BTreeMap::new(),
    };
    Ok((state, plan, ids))
}

pub(super) fn apply_access_scenario(args: &Args) -> Result<Row, String> {
    let (state, plan, group_ids) = apply_plan(args)?;
    let account = AccountId::new(state.account_id.clone());
    let users = state.users.len();
    let groups = state.groups.len();
    let h = Harness::start(state, args)?;
    let client = h.client(args)?;
    // The session's token, as `orgsync apply` holds it when the writes start.
    h.rt.block_on(client.whoami())
        .map_err(|e| format!("token: {e}"))?;
    let count = |kind: &str| {
        plan.changes
            .iter()
            .filter(|c| c.kind().as_str() == kind)
            .count() as u64
    };
    let (creates, updates, removals) = (
        count("create_policy"),
        count("update_policy"),
        count("remove_policy"),
    );
    let minimum = creates + 2 * updates + removals;

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
    let failed: Vec<String> = report
        .entries
        .iter()
        .filter(|e| e.status != executor::Status::Applied)
        .map(|e| {
            format!(
                "{}: {:?}",
                e.change,
                e.error.as_ref().map(ToString::to_string)
            )
        })
        .collect();
    let token = stats.route(TOKEN);
    let verify = stats.route(POLICIES);
    let written = stats.total().saturating_sub(token + verify);

    // Chains (docs/performance.md): an update is GET then PUT (2 RT); a group's removal
    // waits for its grants (creates, the widening update): 2 + 1 = 3 RT.
    let touched: BTreeSet<&GroupName> = plan.changes.iter().filter_map(Change::group).collect();
    let chain = if removals > 0 && updates > 0 {
        3
    } else if updates > 0 {
        2
    } else {
        u64::from(creates + removals > 0)
    };
    let p = args.parallelism as u64;
    let spread = minimum.div_ceil(p);
    let writes_rt = chain.max(spread);
    let verify_rt = if args.no_verify { 0 } else { 1 };
    let token_rt = u64::from(token > 0);
    let bound_rt = token_rt + writes_rt + verify_rt;
    Ok(Row {
        scenario: if args.no_verify {
            "apply-access (no verify)"
        } else {
            "apply-access"
        }
        .into(),
        users,
        groups,
        managed: touched.len(),
        memberships: args.memberships,
        requests: written,
        minimum,
        other_requests: format!(
            "token {token}, verify: policy listings {verify} (min {verify_rt}, {:?} for {} groups)",
            policy_listing(touched.len()),
            touched.len()
        ),
        wall_ms: wall.as_secs_f64() * 1e3,
        bound_ms: bound_rt as f64 * args.latency_ms as f64,
        bound_how: format!(
            "writes minimum = creates {creates} + 2×updates {updates} + removals {removals} = {minimum}; bound = token {token_rt} + writes max(dependency chain {chain}, ⌈{minimum}/{p}⌉ = {spread}) = {writes_rt} + verification {verify_rt} = {bound_rt} RT × {} ms",
            args.latency_ms
        ),
        cpu_ms,
        emulator_cpu_ms: emu_ms,
        peak_rss_mb: peak_rss_mb(),
        max_in_flight: stats.max_in_flight(),
        notes: format!(
            "not applied: {} {}; max in flight {}",
            failed.len(),
            failed.first().cloned().unwrap_or_default(),
            stats.max_in_flight()
        ),
    })
}
