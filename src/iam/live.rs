//! Live-state acquisition: the one read `plan`, `apply` and `export` make.
//!
//! The request count is the minimum docs/ibm-api.md derives — one token call, the user
//! pages, the group pages, the member pages of managed groups only, and only what the file
//! names of the rest: the policies of the groups with `access` (per group or in one
//! account-wide listing, whichever takes fewer requests, never both), the roles of the
//! services it names, the instances it names, the resource groups once, the rules of
//! the groups with `rules`. The round trips overlap: the user cursor (inherently
//! sequential) runs alongside everything else, which is bulk and leaves it a slot of
//! `--parallelism` to itself, so all of it hides behind the cursor.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::Client;
use super::error::IamError;
use super::groups::{Listing, OnPage};
use crate::model::{
    AccountId, InstanceGuid, InstanceRef, LiveGroup, LiveInstance, LiveMember, LivePolicy,
    LiveQuery, LiveResourceGroup, LiveRole, LiveRule, LiveState, PolicyShape, ServiceName,
};

/// How the policies of the groups with `access` are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyListing {
    /// No group needs its policies.
    None,
    /// `GET /v2/policies?account_id=…&type=access&access_group_id=G`, one per group.
    PerGroup,
    /// `GET /v2/policies?account_id=…&type=access` once, filtered to those groups.
    AccountWide,
}

/// The listing that takes fewer requests for `groups` groups with `access` in the account
/// (docs/performance.md, Requests: plan): per group costs one request a group (IBM's
/// policy listings are unpaged in practice: Terraform and IBM's own tests list once and
/// expect every match), the account-wide listing one request whatever the number of
/// groups, so it wins from two groups on; at one group they tie and the per-group
/// answer is the smaller.
pub fn policy_listing(groups: usize) -> PolicyListing {
    match groups {
        0 => PolicyListing::None,
        1 => PolicyListing::PerGroup,
        _ => PolicyListing::AccountWide,
    }
}

/// The query of a plain membership read: users, groups and the members of `managed`
/// (what `acquire` read before groups could grant anything), for callers that manage no
/// access (export's group selection, tests, the benchmark's membership scenarios).
pub fn members_only(managed: &[crate::model::GroupName]) -> LiveQuery {
    LiveQuery {
        managed: managed.iter().cloned().collect(),
        ..LiveQuery::default()
    }
}

/// What `export` reads of `groups`: members, policies (with the names of the instances,
/// resource groups and custom roles they refer to) and dynamic rules.
pub fn everything_of(groups: &[crate::model::GroupName]) -> LiveQuery {
    let all: std::collections::BTreeSet<_> = groups.iter().cloned().collect();
    LiveQuery {
        managed: all.clone(),
        policies_of: all.clone(),
        rules_of: all,
        everything_policies_name: true,
        ..LiveQuery::default()
    }
}

/// What one concurrent read of the acquisition returned.
enum Read {
    Members(usize, Vec<LiveMember>),
    Policies(Option<usize>, Vec<LivePolicy>),
    Rules(usize, Vec<LiveRule>),
    Roles(Vec<LiveRole>),
    Instances(Vec<LiveInstance>),
    ResourceGroups(Vec<LiveResourceGroup>),
}

type Reads = tokio::task::JoinSet<Result<Read, IamError>>;

/// Reads the account as `query` asks (`DesiredState::live_query`): all users, all groups
/// (Public Access excluded), the members of the managed groups (compared
/// case-insensitively; the rest have `members: None`), and the policies, rules, roles,
/// instances and resource groups the file names. `caller` is the token's `iam_id`.
/// `user_groups` is left empty: it is read after a first look at the plan
/// ([`Client::groups_of_users`]).
pub async fn acquire(
    client: &Client,
    account: &AccountId,
    query: &LiveQuery,
) -> Result<LiveState, IamError> {
    let caller = client.whoami().await?.iam_id;
    let progress = Progress::start(client.inner.progress);
    let on_page: OnPage = {
        let progress = progress.clone();
        Arc::new(move || progress.tick())
    };

    // Once the cursor is done, its reserved slot serves the other pages too (small
    // accounts end their cursor long before the member pages); taken back at the end.
    let lent = std::sync::atomic::AtomicBool::new(false);
    let users = {
        let on_page = on_page.clone();
        let lent = &lent;
        async move {
            let users = client.list_users_with(account, &*on_page).await;
            client.inner.bulk_semaphore.add_permits(1);
            lent.store(true, std::sync::atomic::Ordering::Relaxed);
            users
        }
    };
    let rest = read_rest(client, account, query, on_page.clone());
    let result = tokio::try_join!(users, rest);
    if lent.load(std::sync::atomic::Ordering::Relaxed)
        && let Ok(permit) = client.inner.bulk_semaphore.acquire().await
    {
        permit.forget();
    }
    progress.finish();
    let (users, mut live) = result?;
    live.account_id = account.clone();
    live.caller = caller;
    live.users = users;
    Ok(live)
}

/// Everything but the users: the groups and what hangs off them, and — from the start,
/// not waiting for the groups — the roles, instances and resource groups.
async fn read_rest(
    client: &Client,
    account: &AccountId,
    query: &LiveQuery,
    on_page: OnPage,
) -> Result<LiveState, IamError> {
    let listing = Listing {
        on_page: on_page.clone(),
        bulk: true,
    };
    let mut reads: Reads = tokio::task::JoinSet::new();
    spawn_named(&mut reads, client, account, query, &on_page);
    let mut groups = client.list_groups_with(account, listing.clone()).await?;
    let wanted = |names: &BTreeSet<crate::model::GroupName>| -> HashSet<String> {
        names.iter().map(|n| n.key()).collect()
    };
    let (managed, with_access, with_rules) = (
        wanted(&query.managed),
        wanted(&query.policies_of),
        wanted(&query.rules_of),
    );
    let access: Vec<usize> = indices(&groups, &with_access);
    let mode = policy_listing(access.len());
    for (index, group) in groups.iter().enumerate() {
        let key = group.name.key();
        let id = group.id.clone();
        if managed.contains(&key) {
            let (client, listing, id) = (client.clone(), listing.clone(), id.clone());
            reads.spawn(async move {
                Ok(Read::Members(
                    index,
                    client.list_members_with(&id, listing).await?,
                ))
            });
        }
        if with_access.contains(&key) && mode == PolicyListing::PerGroup {
            let (client, account, on_page, id) =
                (client.clone(), account.clone(), on_page.clone(), id.clone());
            reads.spawn(async move {
                let policies = client
                    .list_policies_with(&account, Some(&id), true, &*on_page)
                    .await?;
                Ok(Read::Policies(Some(index), policies))
            });
        }
        if with_rules.contains(&key) {
            let (client, on_page) = (client.clone(), on_page.clone());
            reads.spawn(async move {
                let rules = client.list_rules_with(&id, true).await;
                on_page();
                Ok(Read::Rules(index, rules?))
            });
        }
    }
    if mode == PolicyListing::AccountWide {
        let (client, account, on_page) = (client.clone(), account.clone(), on_page.clone());
        reads.spawn(async move {
            let policies = client
                .list_policies_with(&account, None, true, &*on_page)
                .await?;
            Ok(Read::Policies(None, policies))
        });
    }
    for &i in &access {
        groups[i].policies = Some(Vec::new());
    }
    for group in &mut groups {
        if with_rules.contains(&group.name.key()) {
            group.rules = Some(Vec::new());
        }
    }
    let mut live = empty_state(groups);
    collect(&mut reads, &mut live).await?;
    if query.everything_policies_name {
        name_everything(client, account, query, &on_page, &mut live).await?;
    }
    tidy(&mut live, query);
    Ok(live)
}

/// The reads that need no group id: the roles of each service, each instance the file
/// names, the resource groups (once, when the file names any).
fn spawn_named(
    reads: &mut Reads,
    client: &Client,
    account: &AccountId,
    query: &LiveQuery,
    on_page: &OnPage,
) {
    for service in &query.role_services {
        spawn_roles(reads, client, account, service, on_page);
    }
    for reference in &query.instances {
        spawn_instances(reads, client, reference.clone(), on_page);
    }
    if !query.resource_groups.is_empty() || query.everything_policies_name {
        let (client, account, on_page) = (client.clone(), account.clone(), on_page.clone());
        reads.spawn(async move {
            let groups = client.list_resource_groups_with(&account, true).await;
            on_page();
            Ok(Read::ResourceGroups(groups?))
        });
    }
}

fn spawn_roles(
    reads: &mut Reads,
    client: &Client,
    account: &AccountId,
    service: &ServiceName,
    on_page: &OnPage,
) {
    let (client, account, service, on_page) = (
        client.clone(),
        account.clone(),
        service.clone(),
        on_page.clone(),
    );
    reads.spawn(async move {
        let roles = client.list_roles_with(&account, &service, true).await;
        on_page();
        Ok(Read::Roles(roles?))
    });
}

fn spawn_instances(reads: &mut Reads, client: &Client, reference: InstanceRef, on_page: &OnPage) {
    let (client, on_page) = (client.clone(), on_page.clone());
    reads.spawn(async move {
        let found = client.find_instances_with(&reference, true).await;
        on_page();
        Ok(Read::Instances(found?))
    });
}

fn indices(groups: &[LiveGroup], names: &HashSet<String>) -> Vec<usize> {
    groups
        .iter()
        .enumerate()
        .filter(|(_, g)| names.contains(&g.name.key()))
        .map(|(i, _)| i)
        .collect()
}

fn empty_state(groups: Vec<LiveGroup>) -> LiveState {
    LiveState {
        account_id: AccountId::default(),
        caller: Default::default(),
        users: Vec::new(),
        groups,
        roles: Vec::new(),
        instances: Vec::new(),
        resource_groups: Vec::new(),
        user_groups: Default::default(),
    }
}

/// Waits for every read, filing each answer where it belongs. An account-wide policy
/// listing is filtered to the groups whose policies were wanted (those with
/// `policies: Some`).
async fn collect(reads: &mut Reads, live: &mut LiveState) -> Result<(), IamError> {
    while let Some(joined) = reads.join_next().await {
        let read = joined.map_err(|e| IamError::Malformed {
            call: "reading the account".into(),
            detail: format!("a read did not complete ({e})"),
            transaction_id: None,
        })??;
        match read {
            Read::Members(i, members) => live.groups[i].members = Some(members),
            Read::Policies(Some(i), policies) => live.groups[i].policies = Some(policies),
            Read::Policies(None, policies) => {
                // The account-wide listing, filed by subject: one lookup per policy.
                // (Reversed, so that of two groups with one id the first is filed to.)
                let read: HashMap<crate::model::AccessGroupId, usize> =
                    (live.groups.iter().enumerate().rev())
                        .filter(|(_, g)| g.policies.is_some())
                        .map(|(i, g)| (g.id.clone(), i))
                        .collect();
                for p in policies {
                    if let Some(&i) = read.get(&p.group)
                        && let Some(list) = live.groups[i].policies.as_mut()
                    {
                        list.push(p);
                    }
                }
            }
            Read::Rules(i, rules) => live.groups[i].rules = Some(rules),
            Read::Roles(roles) => live.roles.extend(roles),
            Read::Instances(found) => live.instances.extend(found),
            Read::ResourceGroups(groups) => live.resource_groups.extend(groups),
        }
    }
    Ok(())
}

/// Export: what the read policies name beyond the file — their instances (by GUID), the
/// roles of their services — so the exported file can say them by name. A second,
/// dependent round; the resource groups were listed whole in the first.
async fn name_everything(
    client: &Client,
    account: &AccountId,
    query: &LiveQuery,
    on_page: &OnPage,
    live: &mut LiveState,
) -> Result<(), IamError> {
    let targets = live
        .groups
        .iter()
        .flat_map(|g| g.policies.iter().flatten())
        .filter_map(|p| match &p.shape {
            PolicyShape::Expressible(t) => Some(t.clone()),
            PolicyShape::Unexpressible(_) => None,
        });
    let known: HashSet<&InstanceGuid> = live.instances.iter().map(|i| &i.guid).collect();
    let mut guids: BTreeSet<InstanceGuid> = BTreeSet::new();
    let mut services: BTreeSet<ServiceName> = BTreeSet::new();
    for target in targets {
        guids.extend(target.instance_id.filter(|g| !known.contains(g)));
        services.extend(target.service.filter(|s| !query.role_services.contains(s)));
    }
    let mut reads: Reads = tokio::task::JoinSet::new();
    for guid in guids {
        spawn_instances(&mut reads, client, InstanceRef::Guid(guid), on_page);
    }
    for service in &services {
        spawn_roles(&mut reads, client, account, service, on_page);
    }
    collect(&mut reads, live).await
}

/// Sorts and deduplicates what concurrent reads returned in no fixed order, and keeps of
/// the resource groups those the file names (all of them for export).
fn tidy(live: &mut LiveState, query: &LiveQuery) {
    live.roles.sort_by(|a, b| {
        (a.service.as_str(), a.name.as_str(), a.crn.as_str()).cmp(&(
            b.service.as_str(),
            b.name.as_str(),
            b.crn.as_str(),
        ))
    });
    live.roles
        .dedup_by(|a, b| a.service == b.service && a.crn == b.crn);
    live.instances.sort();
    live.instances.dedup_by(|a, b| a.crn == b.crn);
    if !query.everything_policies_name {
        let names: HashSet<String> = query
            .resource_groups
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        live.resource_groups
            .retain(|g| names.contains(&g.name.to_lowercase()));
    }
    live.resource_groups.sort();
    live.resource_groups.dedup_by(|a, b| a.id == b.id);
    for group in &mut live.groups {
        if let Some(policies) = group.policies.as_mut() {
            policies.sort_by(|a, b| a.id.cmp(&b.id));
        }
        if let Some(rules) = group.rules.as_mut() {
            rules.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }
}

/// A spinner on stderr counting pages, drawn only when asked for and stderr is a terminal
/// (stdout carries the plan; CI logs get no control characters), and only once a read has
/// taken long enough to be worth watching: a small account never flickers a bar.
#[derive(Clone)]
struct Progress(Option<indicatif::ProgressBar>);

/// How long a read runs before its spinner appears.
const PROGRESS_AFTER: Duration = Duration::from_millis(700);

impl Progress {
    fn start(wanted: bool) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::hidden());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} reading the account: {pos} pages")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        tokio::spawn(async move {
            tokio::time::sleep(PROGRESS_AFTER).await;
            if !shown.is_finished() {
                shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress(Some(bar))
    }

    fn tick(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
