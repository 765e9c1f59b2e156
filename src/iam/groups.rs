//! IAM Access Groups v2: groups and members (offset paging, later pages concurrent), and
//! the membership writes.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::error::{ApiErrorInfo, IamError};
use super::http::{Request, Retry};
use super::wire::{Group, Member, MemberResults, OffsetPage};
use super::{Client, join};
use crate::model::{
    AccessGroupId, AccountId, GroupName, GroupRef, IamId, LiveGroup, LiveMember, MemberKind,
    Membership, is_public_access,
};

const GROUPS_ROUTE: &str = "GET /v2/groups";
const GROUP_ROUTE: &str = "GET /v2/groups/{access_group_id}";
const CREATE_ROUTE: &str = "POST /v2/groups";
const PATCH_ROUTE: &str = "PATCH /v2/groups/{access_group_id}";
const MEMBERS_ROUTE: &str = "GET /v2/groups/{access_group_id}/members";
const ADD_ROUTE: &str = "PUT /v2/groups/{access_group_id}/members";
const DELETE_ROUTE: &str = "POST /v2/groups/{access_group_id}/members/delete";
/// IBM's limit on members per add or bulk-delete call (docs/ibm-api.md).
pub const MEMBERS_PER_CALL: usize = 50;
/// Pages of one offset listing at most: 100,000 items at 100 a page. A `total_count`
/// beyond this is not believed.
const MAX_OFFSET_PAGES: u64 = 1_000;

/// Called once per page fetched (drives the progress bar).
pub(crate) type OnPage = Arc<dyn Fn() + Send + Sync>;

/// How a listing runs: a page callback, and whether its pages are bulk requests (they are
/// during acquisition, where the user cursor must not queue behind them; see
/// `http::Request::bulk`).
#[derive(Clone)]
pub(crate) struct Listing {
    pub on_page: OnPage,
    pub bulk: bool,
}

impl Listing {
    fn plain() -> Listing {
        Listing {
            on_page: Arc::new(|| {}),
            bulk: false,
        }
    }
}

/// A group as the create call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedGroup {
    pub id: AccessGroupId,
    pub name: GroupName,
    pub description: String,
    /// The create call's transaction id (`None` when a re-read found that an earlier,
    /// dropped attempt had landed).
    pub transaction_id: Option<String>,
}

/// The per-member result of [`Client::add_members`] / [`Client::remove_members`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberOutcome {
    pub iam_id: IamId,
    /// `None`: the member is now in the intended state.
    pub error: Option<ApiErrorInfo>,
    /// IBM said there was nothing to do (removal of a non-member: a per-member 404, or the
    /// whole call's 404 "none of them is a member" for a group that exists). Counts as
    /// success: this is what an earlier, dropped attempt that landed looks like.
    pub already: bool,
    /// The transaction id of the call that answered for this member.
    pub transaction_id: Option<String>,
}

#[derive(Clone, Copy)]
enum ListKey {
    Groups,
    Members,
}

struct Page {
    items: Vec<Value>,
    total: Option<u64>,
    limit: Option<u64>,
    next_offset: Option<u64>,
    transaction_id: Option<String>,
}

impl Client {
    /// The account's access groups (Public Access excluded), members not read.
    pub async fn list_groups(&self, account: &AccountId) -> Result<Vec<LiveGroup>, IamError> {
        self.list_groups_with(account, Listing::plain()).await
    }

    pub(crate) async fn list_groups_with(
        &self,
        account: &AccountId,
        listing: Listing,
    ) -> Result<Vec<LiveGroup>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups"],
            &[
                ("account_id", account.as_str()),
                ("limit", "100"),
                ("hide_public_access", "true"),
            ],
        );
        let items = self
            .offset_list(GROUPS_ROUTE, url, ListKey::Groups, listing)
            .await?;
        Ok(groups_of(items))
    }

    /// Every access group (managed or not, Public Access excluded) of each of `users`:
    /// `GET /v2/groups?account_id=…&iam_id=X` per user, all at once (bounded by the
    /// parallelism), offset-paged. Read for the users a plan removes from the account, so
    /// the plan can name every group they leave.
    pub async fn groups_of_users(
        &self,
        account: &AccountId,
        users: &[IamId],
    ) -> Result<BTreeMap<IamId, Vec<GroupRef>>, IamError> {
        let mut tasks = tokio::task::JoinSet::new();
        for user in users.iter().collect::<std::collections::BTreeSet<_>>() {
            let url = join(
                &self.inner.endpoints.iam,
                &["v2", "groups"],
                &[
                    ("account_id", account.as_str()),
                    ("iam_id", user.as_str()),
                    ("limit", "100"),
                    ("hide_public_access", "true"),
                ],
            );
            let (client, user) = (self.clone(), user.clone());
            tasks.spawn(async move {
                let items = client
                    .offset_list(GROUPS_ROUTE, url, ListKey::Groups, Listing::plain())
                    .await;
                (user, items)
            });
        }
        let mut out = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (user, items) = joined.map_err(|e| IamError::Malformed {
                call: GROUPS_ROUTE.into(),
                detail: format!("a listing of a user's groups did not complete ({e})"),
                transaction_id: None,
            })?;
            let mut refs: Vec<GroupRef> = groups_of(items?)
                .into_iter()
                .map(|g| GroupRef {
                    id: g.id,
                    name: g.name,
                })
                .collect();
            refs.sort();
            out.insert(user, refs);
        }
        Ok(out)
    }

    /// Every member of a group (users, service IDs, profiles).
    pub async fn list_members(&self, group: &AccessGroupId) -> Result<Vec<LiveMember>, IamError> {
        self.list_members_with(group, Listing::plain()).await
    }

    /// [`Client::list_members`] as bulk requests, for many groups read at once beside the
    /// user cursor (apply's verification): the cursor, a chain of dependent round trips,
    /// then keeps a slot of the parallelism to itself instead of queueing behind them.
    pub async fn list_members_in_bulk(
        &self,
        group: &AccessGroupId,
    ) -> Result<Vec<LiveMember>, IamError> {
        let listing = Listing {
            bulk: true,
            ..Listing::plain()
        };
        self.list_members_with(group, listing).await
    }

    pub(crate) async fn list_members_with(
        &self,
        group: &AccessGroupId,
        listing: Listing,
    ) -> Result<Vec<LiveMember>, IamError> {
        // `membership_type=all`: static and dynamic members in the one listing (IBM's
        // SDK names `static`, `dynamic` and `all` without saying which is the default).
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups", group.as_str(), "members"],
            &[("limit", "100"), ("membership_type", "all")],
        );
        let items = self
            .offset_list(MEMBERS_ROUTE, url, ListKey::Members, listing)
            .await?;
        // Each identity once; one listed both ways keeps its static membership, the one a
        // membership call can change.
        let mut at: BTreeMap<IamId, usize> = BTreeMap::new();
        let mut members: Vec<LiveMember> = Vec::with_capacity(items.len());
        for item in items {
            let Ok(member) = serde_json::from_value::<Member>(item) else {
                continue;
            };
            let Some(m) = live_member(member) else {
                continue;
            };
            match at.get(&m.iam_id) {
                Some(&i) if m.membership.is_static() => members[i] = m,
                Some(_) => {}
                None => {
                    at.insert(m.iam_id.clone(), members.len());
                    members.push(m);
                }
            }
        }
        Ok(members)
    }

    /// All items of an offset-paged listing: the first page, then — once `total_count` is
    /// known — every later page at once (the client's semaphore bounds how many are in
    /// flight). Guards against a lying server: a `total_count` beyond [`MAX_OFFSET_PAGES`]
    /// pages is refused, the listing ends at the first empty page, and a last page that
    /// still links a `next` one (a `total_count` too low) is followed.
    async fn offset_list(
        &self,
        route: &'static str,
        url: Url,
        key: ListKey,
        listing: Listing,
    ) -> Result<Vec<Value>, IamError> {
        let Listing { on_page, bulk } = listing;
        let first = fetch_page(self, route, url.clone(), None, key, bulk).await?;
        on_page();
        let malformed = |detail: String, tx: Option<String>| IamError::Malformed {
            call: route.to_string(),
            detail,
            transaction_id: tx,
        };
        let Some(total) = first.total else {
            return Err(malformed(
                "the page has no total_count".into(),
                first.transaction_id,
            ));
        };
        let mut items = first.items;
        if items.is_empty() {
            return Ok(items);
        }
        // The page size the server actually used: its `limit`, unless it sent fewer items
        // than that on a page that cannot be the last one.
        let mut step = first.limit.filter(|l| (1..=100).contains(l)).unwrap_or(100);
        let got = items.len() as u64;
        if got < step && total > got {
            step = got;
        }
        let pages = total.div_ceil(step);
        if pages > MAX_OFFSET_PAGES {
            return Err(malformed(
                format!("total_count {total} is beyond what orgsync will page through"),
                first.transaction_id,
            ));
        }
        let mut tasks = tokio::task::JoinSet::new();
        let mut offset = step;
        while offset < total {
            let client = self.clone();
            let url = url.clone();
            let on_page = on_page.clone();
            tasks.spawn(async move {
                let page = fetch_page(&client, route, url, Some(offset), key, bulk).await;
                on_page();
                (offset, page)
            });
            offset += step;
        }
        let mut later = BTreeMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (offset, page) = joined
                .map_err(|e| malformed(format!("a page request did not complete ({e})"), None))?;
            later.insert(offset, page?);
        }
        let mut last_offset = 0;
        let mut last_next = first.next_offset;
        let mut ended = false;
        for (offset, page) in later {
            if page.items.is_empty() {
                ended = true;
                break;
            }
            items.extend(page.items);
            last_offset = offset;
            last_next = page.next_offset;
        }
        if ended {
            return Ok(items);
        }
        // total_count was too low: follow `next` one page at a time.
        let mut seen = HashSet::from([last_offset]);
        let mut fetched = pages;
        while let Some(next) = last_next.filter(|n| *n > last_offset && !seen.contains(n)) {
            fetched += 1;
            if fetched > MAX_OFFSET_PAGES {
                return Err(malformed(
                    format!("the listing did not end after {MAX_OFFSET_PAGES} pages"),
                    None,
                ));
            }
            seen.insert(next);
            let page = fetch_page(self, route, url.clone(), Some(next), key, bulk).await?;
            on_page();
            if page.items.is_empty() {
                break;
            }
            items.extend(page.items);
            last_offset = next;
            last_next = page.next_offset;
        }
        Ok(items)
    }

    /// Creates a group: one call. Retried only where IBM cannot have acted on it (the
    /// connection never opened, a 429); after an ambiguous failure (timeout, dropped
    /// connection, 5xx) the error says so ([`IamError::is_ambiguous`]) and the caller
    /// re-reads the groups before sending it again. A 409 ([`IamError::is_conflict`]):
    /// the name is taken (any case).
    pub async fn create_group(
        &self,
        account: &AccountId,
        name: &GroupName,
        description: &str,
    ) -> Result<CreatedGroup, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups"],
            &[("account_id", account.as_str())],
        );
        let body = json!({"name": name.as_str(), "description": description});
        let reply = self
            .send(&Request::new(Method::POST, CREATE_ROUTE, url, Retry::SafeOnly).json(body))
            .await?;
        let group: Group = reply.json(CREATE_ROUTE)?;
        let Some(id) = group.id.filter(|i| !i.is_empty()) else {
            return Err(IamError::Malformed {
                call: CREATE_ROUTE.into(),
                detail: "the created group has no id".into(),
                transaction_id: reply.transaction_id,
            });
        };
        Ok(CreatedGroup {
            id: AccessGroupId::new(id),
            name: group
                .name
                .map(GroupName::new)
                .unwrap_or_else(|| name.clone()),
            description: group.description.unwrap_or_else(|| description.to_string()),
            transaction_id: reply.transaction_id,
        })
    }

    /// Sets a group's description: GET for the ETag, PATCH with `If-Match`. When the ETag
    /// moved (412) the group is read again and the PATCH repeated once; when the
    /// description already is the wanted one, nothing is sent. Returns the PATCH's
    /// transaction id (`None` when nothing was sent).
    pub async fn update_group_description(
        &self,
        group: &AccessGroupId,
        description: &str,
    ) -> Result<Option<String>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups", group.as_str()],
            &[],
        );
        let mut round = 0;
        loop {
            round += 1;
            let reply = self
                .send(&Request::new(
                    Method::GET,
                    GROUP_ROUTE,
                    url.clone(),
                    Retry::Idempotent,
                ))
                .await?;
            let current: Group = reply.json(GROUP_ROUTE)?;
            if current.description.as_deref().unwrap_or("") == description {
                return Ok(None);
            }
            // IBM requires If-Match; with no ETag to quote, "*" is the honest "any version".
            let etag = reply.etag.unwrap_or_else(|| "*".to_string());
            let mut patch =
                Request::new(Method::PATCH, PATCH_ROUTE, url.clone(), Retry::Idempotent)
                    .json(json!({"description": description}));
            patch.if_match = Some(etag);
            match self.send(&patch).await {
                Ok(reply) => return Ok(reply.transaction_id),
                Err(e) if e.status() == Some(412) && round < 2 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Adds members (idempotent, so retried), reading the per-member results of IBM's 207.
    /// More than 50 are sent in several calls; the first call that fails as a whole ends
    /// it with that error (the executor passes at most 50, so a batch is one call).
    pub async fn add_members(
        &self,
        group: &AccessGroupId,
        members: &[(IamId, MemberKind)],
    ) -> Result<Vec<MemberOutcome>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups", group.as_str(), "members"],
            &[],
        );
        let mut out = Vec::with_capacity(members.len());
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            let body = json!({
                "members": chunk
                    .iter()
                    .map(|(id, kind)| json!({"iam_id": id.as_str(), "type": kind.as_str()}))
                    .collect::<Vec<_>>()
            });
            let reply = self
                .send(
                    &Request::new(Method::PUT, ADD_ROUTE, url.clone(), Retry::Idempotent)
                        .json(body),
                )
                .await?;
            let results: MemberResults = reply.json(ADD_ROUTE)?;
            let ids: Vec<&IamId> = chunk.iter().map(|(id, _)| id).collect();
            out.extend(outcomes(&ids, results, false, &reply.transaction_id));
        }
        Ok(out)
    }

    /// Removes members with the bulk call (idempotent, so retried), reading per-member
    /// results. A member IBM reports as not in the group (404) is `already` removed. The
    /// whole call's 404 ("none of them is a member", or "no such group") is told apart by
    /// reading the group: if it exists, every member is `already` removed; if not, the
    /// 404 is returned. Chunking as in [`Client::add_members`].
    pub async fn remove_members(
        &self,
        group: &AccessGroupId,
        members: &[IamId],
    ) -> Result<Vec<MemberOutcome>, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups", group.as_str(), "members", "delete"],
            &[],
        );
        let mut out = Vec::with_capacity(members.len());
        for chunk in members.chunks(MEMBERS_PER_CALL) {
            let body = json!({"members": chunk.iter().map(IamId::as_str).collect::<Vec<_>>()});
            let req =
                Request::new(Method::POST, DELETE_ROUTE, url.clone(), Retry::Idempotent).json(body);
            match self.send(&req).await {
                Ok(reply) => {
                    let results: MemberResults = reply.json(DELETE_ROUTE)?;
                    let ids: Vec<&IamId> = chunk.iter().collect();
                    out.extend(outcomes(&ids, results, true, &reply.transaction_id));
                }
                Err(e) if e.status() == Some(404) => {
                    if !self.group_exists(group).await? {
                        return Err(e);
                    }
                    let transaction_id = e.info().transaction_id;
                    out.extend(chunk.iter().map(|id| MemberOutcome {
                        iam_id: id.clone(),
                        error: None,
                        already: true,
                        transaction_id: transaction_id.clone(),
                    }));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn group_exists(&self, group: &AccessGroupId) -> Result<bool, IamError> {
        let url = join(
            &self.inner.endpoints.iam,
            &["v2", "groups", group.as_str()],
            &[],
        );
        match self
            .send(&Request::new(
                Method::GET,
                GROUP_ROUTE,
                url,
                Retry::Idempotent,
            ))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The groups of a listing, Public Access dropped (asked to be hidden, but never trusted
/// to be: orgsync must never touch it) and each id once.
fn groups_of(items: Vec<Value>) -> Vec<LiveGroup> {
    let mut seen = HashSet::new();
    let mut groups = Vec::with_capacity(items.len());
    for item in items {
        let Ok(group) = serde_json::from_value::<Group>(item) else {
            continue;
        };
        let (Some(id), Some(name)) = (group.id, group.name) else {
            continue;
        };
        if is_public_access(&id, &name) {
            continue;
        }
        if seen.insert(id.clone()) {
            groups.push(LiveGroup {
                id: AccessGroupId::new(id),
                name: GroupName::new(name),
                description: group.description.unwrap_or_default(),
                members: None,
                policies: None,
                rules: None,
            });
        }
    }
    groups
}

/// One outcome per requested id, in request order, from IBM's per-member items. With
/// `removal`, a per-member 404 means "not a member": already done.
fn outcomes(
    requested: &[&IamId],
    results: MemberResults,
    removal: bool,
    transaction_id: &Option<String>,
) -> Vec<MemberOutcome> {
    let mut by_id: BTreeMap<String, super::wire::MemberResult> = BTreeMap::new();
    for item in results.members {
        if let Some(id) = item.iam_id.clone() {
            by_id.entry(id).or_insert(item);
        }
    }
    requested
        .iter()
        .map(|id| match by_id.get(id.as_str()) {
            None => MemberOutcome {
                iam_id: (*id).clone(),
                error: Some(ApiErrorInfo {
                    status: None,
                    code: None,
                    message: "IBM's answer did not report on this member; re-read the group to see whether the change took effect".into(),
                    transaction_id: transaction_id.clone(),
                }),
                already: false,
                transaction_id: transaction_id.clone(),
            },
            Some(item) => match item.failure() {
                Some(info) if removal && info.status == Some(404) => MemberOutcome {
                    iam_id: (*id).clone(),
                    error: None,
                    already: true,
                    transaction_id: transaction_id.clone(),
                },
                failure => MemberOutcome {
                    iam_id: (*id).clone(),
                    error: failure.map(|mut info| {
                        info.transaction_id = info.transaction_id.or_else(|| transaction_id.clone());
                        info
                    }),
                    already: false,
                    transaction_id: transaction_id.clone(),
                },
            },
        })
        .collect()
}

async fn fetch_page(
    client: &Client,
    route: &'static str,
    mut url: Url,
    offset: Option<u64>,
    key: ListKey,
    bulk: bool,
) -> Result<Page, IamError> {
    if let Some(offset) = offset {
        url.query_pairs_mut()
            .append_pair("offset", &offset.to_string());
    }
    let mut req = Request::new(Method::GET, route, url.clone(), Retry::Idempotent);
    req.bulk = bulk;
    let reply = client.send(&req).await?;
    let page: OffsetPage = reply.json(route)?;
    let (list, name) = match key {
        ListKey::Groups => (page.groups, "groups"),
        ListKey::Members => (page.members, "members"),
    };
    let Some(Value::Array(items)) = list else {
        return Err(IamError::Malformed {
            call: route.to_string(),
            detail: format!("the page has no `{name}` list"),
            transaction_id: reply.transaction_id,
        });
    };
    if items.len() > 1_000 {
        return Err(IamError::Malformed {
            call: route.to_string(),
            detail: format!(
                "a page of {} items where at most 100 were asked for",
                items.len()
            ),
            transaction_id: reply.transaction_id,
        });
    }
    let next_offset = page
        .next
        .and_then(|n| n.href)
        .and_then(|href| url.join(&href).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "offset")
                .and_then(|(_, v)| v.parse::<u64>().ok())
        });
    Ok(Page {
        items,
        total: page.total_count,
        limit: page.limit,
        next_offset,
        transaction_id: reply.transaction_id,
    })
}

pub(crate) fn live_member(member: Member) -> Option<LiveMember> {
    let iam_id = member
        .iam_id
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())?;
    let kind = match member
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => MemberKind::parse(k),
        // No type: the id's prefix says what it is (docs/ibm-api.md).
        None if iam_id.starts_with("IBMid-") => MemberKind::User,
        None if iam_id.starts_with("iam-ServiceId-") => MemberKind::Service,
        None if iam_id.starts_with("iam-Profile-") => MemberKind::Profile,
        None => MemberKind::Other(String::new()),
    };
    let membership = match member.membership_type.as_deref().map(str::trim) {
        Some(m) if m.eq_ignore_ascii_case("dynamic") => Membership::Dynamic,
        _ => Membership::Static,
    };
    Some(LiveMember {
        iam_id: IamId::new(iam_id),
        kind,
        membership,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_groups_list_mock_parses_with_its_next_link() {
        let body = r#"{"limit": 5, "offset": 6, "total_count": 11, "first": {"href": "href"}, "previous": {"href": "href"}, "next": {"href": "href"}, "last": {"href": "href"}, "groups": [{"id": "id", "name": "name", "description": "description", "account_id": "account_id", "created_at": "2019-01-01T12:00:00.000Z", "created_by_id": "created_by_id", "last_modified_at": "2019-01-01T12:00:00.000Z", "last_modified_by_id": "last_modified_by_id", "href": "href", "is_federated": true}]}"#;
        let page: OffsetPage = serde_json::from_str(body).unwrap();
        assert_eq!((page.limit, page.total_count), (Some(5), Some(11)));
        let Some(Value::Array(groups)) = page.groups else {
            panic!("groups")
        };
        let g: Group = serde_json::from_value(groups[0].clone()).unwrap();
        assert_eq!(g.description.as_deref(), Some("description"));
    }

    #[test]
    fn sdk_members_list_mock_parses_into_live_members() {
        let body = r#"{"limit": 5, "offset": 6, "total_count": 11, "first": {"href": "href"}, "previous": {"href": "href"}, "next": {"href": "href"}, "last": {"href": "href"}, "members": [{"iam_id": "iam_id", "type": "type", "membership_type": "membership_type", "name": "name", "email": "email", "description": "description", "href": "href", "created_at": "2019-01-01T12:00:00.000Z", "created_by_id": "created_by_id"}]}"#;
        let page: OffsetPage = serde_json::from_str(body).unwrap();
        let Some(Value::Array(members)) = page.members else {
            panic!("members")
        };
        let m = live_member(serde_json::from_value(members[0].clone()).unwrap()).unwrap();
        assert_eq!(m.iam_id.as_str(), "iam_id");
        assert_eq!(m.kind, MemberKind::Other("type".into()));
    }

    #[test]
    fn member_kind_falls_back_to_the_iam_id_prefix() {
        let kind = |id: &str| {
            live_member(Member {
                iam_id: Some(id.into()),
                kind: None,
                membership_type: None,
            })
            .map(|m| m.kind)
        };
        assert_eq!(kind("IBMid-1"), Some(MemberKind::User));
        assert_eq!(kind("iam-ServiceId-1"), Some(MemberKind::Service));
        assert_eq!(kind("iam-Profile-1"), Some(MemberKind::Profile));
        assert_eq!(kind(" "), None);
    }

    #[test]
    fn add_members_207_mock_reports_per_member_failures() {
        let body = r#"{"members": [{"iam_id": "iam_id", "type": "type", "created_at": "2019-01-01T12:00:00.000Z", "created_by_id": "created_by_id", "status_code": 11, "trace": "trace", "errors": [{"code": "code", "message": "message"}]}]}"#;
        let results: MemberResults = serde_json::from_str(body).unwrap();
        let a = IamId::new("iam_id");
        let b = IamId::new("IBMid-missing");
        let out = outcomes(&[&a, &b], results, false, &None);
        let err = out[0].error.as_ref().unwrap();
        assert_eq!(err.status, Some(11));
        assert_eq!(err.code.as_deref(), Some("code"));
        assert_eq!(err.message, "message");
        assert_eq!(err.transaction_id.as_deref(), Some("trace"));
        // A member IBM's answer leaves out is not silently counted as done.
        assert!(out[1].error.is_some() && !out[1].already);
    }

    #[test]
    fn illustrative_207_success_and_numeric_codes_are_read() {
        let body = r#"{"members": [
            {"iam_id": "IBMid-6900012ABC", "type": "user", "status_code": 200},
            {"iam_id": "iam-ServiceId-9e8d", "type": "service", "status_code": "400", "errors": [{"code": 1025, "message": "Not Authorized.", "more_info": "Can not assign"}]}
        ]}"#;
        let results: MemberResults = serde_json::from_str(body).unwrap();
        let a = IamId::new("IBMid-6900012ABC");
        let b = IamId::new("iam-ServiceId-9e8d");
        let out = outcomes(&[&a, &b], results, false, &None);
        assert_eq!(out[0].error, None);
        let err = out[1].error.as_ref().unwrap();
        assert_eq!((err.status, err.code.as_deref()), (Some(400), Some("1025")));
        assert_eq!(err.message, "Not Authorized. (Can not assign)");
    }

    #[test]
    fn bulk_delete_mock_treats_a_per_member_404_as_already_removed() {
        let body = r#"{"access_group_id": "access_group_id", "members": [
            {"iam_id": "IBMid-a", "trace": "t1", "status_code": 404, "errors": [{"code": "not_found", "message": "not a member"}]},
            {"iam_id": "IBMid-b", "trace": "t2", "status_code": 403, "errors": [{"code": "forbidden", "message": "dynamic member"}]},
            {"iam_id": "IBMid-c", "status_code": 200}
        ]}"#;
        let results: MemberResults = serde_json::from_str(body).unwrap();
        let ids = [
            IamId::new("IBMid-a"),
            IamId::new("IBMid-b"),
            IamId::new("IBMid-c"),
        ];
        let refs: Vec<&IamId> = ids.iter().collect();
        let out = outcomes(&refs, results, true, &None);
        assert!(out[0].error.is_none() && out[0].already);
        assert_eq!(out[1].error.as_ref().and_then(|e| e.status), Some(403));
        assert!(out[2].error.is_none() && !out[2].already);
    }
}
