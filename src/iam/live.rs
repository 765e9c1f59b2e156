//! Live-state acquisition: the one read `plan`, `apply` and `export` make.
//!
//! The request count is the minimum docs/ibm-api.md derives — one token call, the user pages, the group
//! pages, and the member pages of managed groups only — and the round trips overlap: the
//! user cursor (inherently sequential) runs alongside the groups listing, and every managed
//! group's member pages run concurrently, all bounded by the client's `--parallelism`.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use super::Client;
use super::error::IamError;
use super::groups::{Listing, OnPage};
use crate::model::{AccountId, GroupName, LiveState};

/// Reads the account: all users, all groups (Public Access excluded), and the members of
/// the groups whose names are in `managed` (compared case-insensitively). Groups not
/// managed have `members: None`. `caller` is the token's `iam_id`.
pub async fn acquire(
    client: &Client,
    account: &AccountId,
    managed: &[GroupName],
) -> Result<LiveState, IamError> {
    let caller = client.whoami().await?.iam_id;
    let progress = Progress::start(client.inner.progress);
    let on_page: OnPage = {
        let progress = progress.clone();
        Arc::new(move || progress.tick())
    };
    let managed: HashSet<String> = managed.iter().map(GroupName::key).collect();

    // Once the cursor is done, its reserved slot serves the member pages too (small
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
    let groups = async {
        // Group and member pages are bulk: the user cursor, the longest chain of dependent
        // round trips, keeps a slot of the parallelism to itself.
        let listing = Listing {
            on_page: on_page.clone(),
            bulk: true,
        };
        let mut groups = client.list_groups_with(account, listing.clone()).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for (index, group) in groups.iter().enumerate() {
            if !managed.contains(&group.name.key()) {
                continue;
            }
            let client = client.clone();
            let id = group.id.clone();
            let listing = listing.clone();
            tasks.spawn(async move { (index, client.list_members_with(&id, listing).await) });
        }
        while let Some(joined) = tasks.join_next().await {
            let (index, members) = joined.map_err(|e| IamError::Malformed {
                call: "GET /v2/groups/{access_group_id}/members".into(),
                detail: format!("a member listing did not complete ({e})"),
                transaction_id: None,
            })?;
            if let Some(group) = groups.get_mut(index) {
                group.members = Some(members?);
            }
        }
        Ok::<_, IamError>(groups)
    };
    let result = tokio::try_join!(users, groups);
    if lent.load(std::sync::atomic::Ordering::Relaxed)
        && let Ok(permit) = client.inner.bulk_semaphore.acquire().await
    {
        permit.forget();
    }
    progress.finish();
    let (users, groups) = result?;
    Ok(LiveState {
        account_id: account.clone(),
        caller,
        users,
        groups,
        roles: Vec::new(),
        instances: Vec::new(),
        resource_groups: Vec::new(),
        user_groups: Default::default(),
    })
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
