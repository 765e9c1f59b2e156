//! IAM Access Groups v2, the groups: list, create, read, update (with `If-Match`) and
//! delete. Members are [`super::members`].

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::paging::{LinkQuery, Window, sort_key};
use super::{Body, Call, Caller, Params, Shr, empty, json, require_account, with_etag};
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::state::{self, Group};
use crate::emulator::store::{GroupUpdate, Store, etag};
use crate::emulator::wire::groups::{GroupBody, GroupRequest, GroupsList};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/v2/groups", get(list_groups).post(create_group))
        .route(
            "/v2/groups/{access_group_id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
}

/// The `membership_type` filter of the group and member listings. Decision: absent
/// means `static` (IBM's SDK documents the values, not the default); a client that wants
/// dynamic members asks for `dynamic` or `all`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum MembershipType {
    #[default]
    Static,
    Dynamic,
    All,
}

impl MembershipType {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            MembershipType::Static => "static",
            MembershipType::Dynamic => "dynamic",
            MembershipType::All => "all",
        }
    }

    /// Whether a membership of type `t` passes the filter.
    pub(super) fn counts(self, t: state::MembershipType) -> bool {
        match self {
            MembershipType::Static => t == state::MembershipType::Static,
            MembershipType::Dynamic => t == state::MembershipType::Dynamic,
            MembershipType::All => true,
        }
    }
}

/// The optional fields of a group body (`show_federated`, `show_crn`), taken by every
/// call that answers groups.
#[derive(Clone, Copy, Default)]
struct View {
    federated: bool,
    crn: bool,
}

impl View {
    fn of(show_federated: Option<bool>, show_crn: Option<bool>) -> View {
        View {
            federated: show_federated == Some(true),
            crn: show_crn == Some(true),
        }
    }
}

/// Create, read and update take the view; create also the account.
#[derive(Deserialize)]
struct GroupQuery {
    account_id: Option<String>,
    show_federated: Option<bool>,
    show_crn: Option<bool>,
}

impl GroupQuery {
    fn view(&self) -> View {
        View::of(self.show_federated, self.show_crn)
    }
}

fn group_body(call: &Call, store: &Store, group: &Group, view: View) -> GroupBody {
    GroupBody {
        id: group.id.clone(),
        name: group.name.clone(),
        description: group.description.clone(),
        account_id: store.account_id().to_string(),
        created_at: group.created_at.clone().unwrap_or_default(),
        created_by_id: group.created_by_id.clone().unwrap_or_default(),
        last_modified_at: group.last_modified_at.clone().unwrap_or_default(),
        last_modified_by_id: group.last_modified_by_id.clone().unwrap_or_default(),
        href: format!("{}/v2/groups/{}", call.base, group.id),
        is_federated: view.federated.then(|| store.has_rules(&group.id)),
        crn: view.crn.then(|| {
            format!(
                "crn:v1:bluemix:public:iam-access-groups::a/{}::access-group:{}",
                store.account_id(),
                group.id
            )
        }),
    }
}

/// A group answer: its body and its ETag header.
fn answered(code: u16, call: &Call, store: &Store, group: &Group, view: View) -> Response {
    with_etag(
        json(code, &group_body(call, store, group, view)),
        &etag(group),
    )
}

/// `GET /v2/groups`.
#[derive(Deserialize)]
struct ListGroups {
    account_id: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    hide_public_access: Option<bool>,
    sort: Option<String>,
    membership_type: Option<MembershipType>,
    iam_id: Option<String>,
    search: Option<String>,
    show_federated: Option<bool>,
    show_crn: Option<bool>,
}

impl ListGroups {
    /// The filters, re-encoded for the paging links.
    fn link_query(&self) -> String {
        LinkQuery::default()
            .text("account_id", self.account_id.as_deref())
            .text("iam_id", self.iam_id.as_deref())
            .text(
                "membership_type",
                self.membership_type.map(MembershipType::as_str),
            )
            .text("search", self.search.as_deref())
            .text("sort", self.sort.as_deref())
            .flag("show_federated", self.show_federated)
            .flag("hide_public_access", self.hide_public_access)
            .flag("show_crn", self.show_crn)
            .finish()
    }
}

/// `search`: `id:`, `name:` or `description:` and a substring, or a name substring.
fn search_matches(search: Option<&str>, g: &Group) -> bool {
    match search {
        None | Some("") => true,
        Some(s) => match s.split_once(':') {
            Some(("id", v)) => g.id.to_lowercase().contains(v),
            Some(("name", v)) => g.name.to_lowercase().contains(v),
            Some(("description", v)) => g.description.to_lowercase().contains(v),
            _ => g.name.to_lowercase().contains(s),
        },
    }
}

async fn list_groups(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Params(q): Params<ListGroups>,
) -> Result<Response, ApiError> {
    let window = Window::of(q.limit, q.offset)?;
    let sort = sort_key(
        q.sort.as_deref(),
        &["id", "name", "description", "is_federated"],
    )?;
    let member = q.iam_id.as_deref().filter(|m| !m.is_empty());
    if q.membership_type.is_some() && member.is_none() {
        return Err(ApiError::invalid_parameter(
            "membership_type requires iam_id.",
        ));
    }
    let search = q.search.as_deref().map(str::to_lowercase);
    let view = View::of(q.show_federated, q.show_crn);
    let list = shared.with_store(|store| {
        require_account(q.account_id.as_deref(), store)?;
        let matches = |g: &Group| search_matches(search.as_deref(), g);
        let membership = q.membership_type.unwrap_or_default();
        let counts = move |t| membership.counts(t);
        let member = member.map(|m| (m, &counts as &dyn Fn(state::MembershipType) -> bool));
        let mut groups = store.list_groups(q.hide_public_access == Some(true), member, &matches);
        if let Some(sort) = &sort {
            groups.sort_by(|a, b| {
                sort.apply(match sort.field {
                    "id" => a.id.cmp(&b.id),
                    "description" => a
                        .description
                        .to_lowercase()
                        .cmp(&b.description.to_lowercase()),
                    "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                    _ => std::cmp::Ordering::Equal,
                })
            });
        }
        let (page, groups) = window.cut(
            &format!("{}/v2/groups", call.base),
            &q.link_query(),
            groups,
            |g| group_body(&call, store, g, view),
        );
        Ok(GroupsList { page, groups })
    })?;
    Ok(json(200, &list))
}

async fn create_group(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Params(q): Params<GroupQuery>,
    Body(request): Body<GroupRequest>,
) -> Result<Response, ApiError> {
    let Some(name) = request.name else {
        return Err(ApiError::invalid_body("The access group name is required."));
    };
    let description = request.description.unwrap_or_default();
    shared.with_store(|store| {
        require_account(q.account_id.as_deref(), store)?;
        let group = store.create_group(&actor, &name, &description, clock::now_ms())?;
        Ok(answered(201, &call, store, &group, q.view()))
    })
}

async fn get_group(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
    Params(q): Params<GroupQuery>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| {
        let group = store.readable_group(&id)?;
        Ok(answered(200, &call, store, group, q.view()))
    })
}

async fn update_group(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    Params(q): Params<GroupQuery>,
    headers: HeaderMap,
    Body(request): Body<GroupRequest>,
) -> Result<Response, ApiError> {
    let update = GroupUpdate {
        if_match: headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()),
        name: request.name.as_deref(),
        description: request.description.as_deref(),
    };
    shared.with_store(|store| {
        let group = store.update_group(&actor, &id, &update, clock::now_ms())?;
        Ok(answered(200, &call, store, &group, q.view()))
    })
}

#[derive(Deserialize)]
struct DeleteQuery {
    force: Option<bool>,
}

async fn delete_group(
    State(shared): State<Shr>,
    _: Caller,
    Path(id): Path<String>,
    Params(q): Params<DeleteQuery>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| store.delete_group(&id, q.force == Some(true)))?;
    Ok(empty(204))
}
