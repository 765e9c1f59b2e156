//! IAM Access Groups v2, the members: list (plain or `verbose`), add, check, remove one or
//! a batch, and the `_allgroups` calls that add a member to many groups or remove it from
//! all. The writes answer 207 with one result per item.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, head, post, put};
use serde::Deserialize;

use super::groups::MembershipType;
use super::paging::{LinkQuery, Window, sort_key};
use super::{Body, Call, Caller, Params, Shr, empty, json, require_account};
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::state::{Member, MemberKind};
use crate::emulator::store::{MemberDetails, Removal, Store, dynamic_member_error};
use crate::emulator::wire::groups::{
    AddMemberResult, AddMembersRequest, AddMembersResponse, AddToGroupsRequest, AllGroupsResponse,
    AllGroupsResult, BulkDeleteRequest, BulkDeleteResponse, BulkDeleteResult, MemberBody,
    MembersList,
};
use crate::emulator::wire::{ItemError, Outcome};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route(
            "/v2/groups/{access_group_id}/members",
            get(list_members).put(add_members),
        )
        .route(
            "/v2/groups/{access_group_id}/members/{iam_id}",
            head(is_member).delete(remove_member),
        )
        .route(
            "/v2/groups/{access_group_id}/members/delete",
            post(remove_members),
        )
        .route(
            "/v2/groups/_allgroups/members/{iam_id}",
            put(add_to_groups).delete(remove_from_all),
        )
}

/// `GET /v2/groups/{id}/members`.
#[derive(Deserialize)]
struct ListMembers {
    limit: Option<usize>,
    offset: Option<usize>,
    verbose: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<MemberKind>,
    membership_type: Option<MembershipType>,
    sort: Option<String>,
}

impl ListMembers {
    fn link_query(&self) -> String {
        LinkQuery::default()
            .text(
                "membership_type",
                self.membership_type.map(MembershipType::as_str),
            )
            .text("type", self.kind.map(MemberKind::as_str))
            .flag("verbose", self.verbose)
            .text("sort", self.sort.as_deref())
            .finish()
    }
}

/// A member as listed. Verbose answers carry the display data, IBM's member href
/// (`…/v2/groups/{id}/members/{iam_id}`) and whole-second timestamps, as captured from
/// IBM (docs/ibm-api.md); plain ones link the member's own resource.
fn member_body(
    call: &Call,
    store: &Store,
    group_id: &str,
    m: &Member,
    details: Option<MemberDetails>,
) -> MemberBody {
    let created_at = m.created_at.clone().unwrap_or_default();
    let (href, created_at, details) = match details {
        Some(d) => (
            format!("{}/v2/groups/{group_id}/members/{}", call.base, m.iam_id),
            clock::whole_seconds(&created_at),
            d,
        ),
        None => (
            own_href(call, store, m),
            created_at,
            MemberDetails::default(),
        ),
    };
    MemberBody {
        iam_id: m.iam_id.clone(),
        kind: m.kind,
        membership_type: m.membership_type.as_str(),
        name: details.name,
        email: details.email,
        description: details.description,
        href,
        created_at,
        created_by_id: m.created_by_id.clone().unwrap_or_default(),
    }
}

/// The link of a plain listing: the user's profile, the service ID or the profile.
fn own_href(call: &Call, store: &Store, m: &Member) -> String {
    let id = m.iam_id.trim_start_matches("iam-");
    match m.kind {
        MemberKind::User => format!(
            "{}/v2/accounts/{}/users/{}",
            call.base,
            store.account_id(),
            m.iam_id
        ),
        MemberKind::Service => format!("{}/v1/serviceids/{id}", call.base),
        MemberKind::Profile => format!("{}/v1/profiles/{id}", call.base),
    }
}

async fn list_members(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
    Params(q): Params<ListMembers>,
) -> Result<Response, ApiError> {
    let window = Window::of(q.limit, q.offset)?;
    let verbose = q.verbose == Some(true);
    let sort = sort_key(q.sort.as_deref(), &["id", "name", "email"])?;
    let list = shared.with_store(|store| {
        // Names and emails are looked up only when the answer or the order needs them.
        let details = verbose || sort.as_ref().is_some_and(|s| s.field != "id");
        let mut members: Vec<(&Member, MemberDetails)> = store
            .members(&id)?
            .iter()
            .filter(|m| {
                q.kind.is_none_or(|k| m.kind == k)
                    && q.membership_type
                        .unwrap_or_default()
                        .counts(m.membership_type)
            })
            .map(|m| {
                let found = if details {
                    store.member_details(&m.iam_id)
                } else {
                    MemberDetails::default()
                };
                (m, found)
            })
            .collect();
        if let Some(sort) = &sort {
            members.sort_by(|a, b| {
                sort.apply(match sort.field {
                    "name" => a.1.name.cmp(&b.1.name),
                    "email" => a.1.email.cmp(&b.1.email),
                    _ => a.0.iam_id.cmp(&b.0.iam_id),
                })
            });
        }
        let (page, members) = window.cut(
            &format!("{}/v2/groups/{id}/members", call.base),
            &q.link_query(),
            members,
            |(m, d)| member_body(&call, store, &id, m, verbose.then_some(d)),
        );
        Ok(MembersList { page, members })
    })?;
    Ok(json(200, &list))
}

async fn add_members(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    Body(request): Body<AddMembersRequest>,
) -> Result<Response, ApiError> {
    let members = request
        .members
        .unwrap_or_default()
        .into_iter()
        .map(|item| match (item.iam_id, item.kind) {
            (Some(iam_id), Some(kind)) => Ok((iam_id, kind)),
            _ => Err(ApiError::invalid_body(
                "Every member needs an iam_id and a type.",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let asked: Vec<(&str, &str)> = members
        .iter()
        .map(|(i, k)| (i.as_str(), k.as_str()))
        .collect();
    let results =
        shared.with_store(|store| store.add_members(&actor, &id, &asked, clock::now_ms()))?;
    let members = members
        .into_iter()
        .zip(results)
        .map(|((iam_id, kind), result)| match result {
            Ok(m) => AddMemberResult {
                iam_id,
                kind,
                created_at: m.created_at,
                created_by_id: m.created_by_id,
                outcome: Outcome::ok(),
            },
            Err(e) => AddMemberResult {
                iam_id,
                kind,
                created_at: None,
                created_by_id: None,
                outcome: Outcome::failed(&call.trace, e),
            },
        })
        .collect();
    Ok(json(207, &AddMembersResponse { members }))
}

/// `HEAD`: 204 or 404 and never a body, not even for a missing token.
async fn is_member(
    State(shared): State<Shr>,
    caller: Result<Caller, ApiError>,
    Path((id, iam_id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = caller {
        return empty(e.status);
    }
    let member = shared.with_store(|store| Ok(store.is_member(&id, &iam_id)));
    empty(if matches!(member, Ok(true)) { 204 } else { 404 })
}

async fn remove_member(
    State(shared): State<Shr>,
    _: Caller,
    Path((id, iam_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| store.remove_member(&id, &iam_id))?;
    Ok(empty(204))
}

async fn remove_members(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
    Body(request): Body<BulkDeleteRequest>,
) -> Result<Response, ApiError> {
    let iam_ids = request.members.unwrap_or_default();
    let found = shared.with_store(|store| store.remove_members(&id, &iam_ids))?;
    let members = iam_ids
        .into_iter()
        .zip(found)
        .map(|(iam_id, removal)| {
            let (status_code, errors) = match removal {
                Removal::Removed => (200, None),
                Removal::NotMember => {
                    let message = format!("{iam_id} is not a member of access group {id}.");
                    let error = ItemError {
                        code: "member_not_found".into(),
                        message,
                    };
                    (404, Some(vec![error]))
                }
                Removal::Dynamic => {
                    let e = dynamic_member_error(&iam_id, &id);
                    (e.status, Some(vec![ItemError::from(e)]))
                }
            };
            BulkDeleteResult {
                iam_id,
                trace: call.trace.clone(),
                status_code,
                errors,
            }
        })
        .collect();
    Ok(json(
        207,
        &BulkDeleteResponse {
            access_group_id: id,
            members,
        },
    ))
}

/// The `_allgroups` calls name the account in the query.
#[derive(Deserialize)]
struct AccountQuery {
    account_id: Option<String>,
}

async fn remove_from_all(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(iam_id): Path<String>,
    Params(q): Params<AccountQuery>,
) -> Result<Response, ApiError> {
    let left = shared.with_store(|store| {
        require_account(q.account_id.as_deref(), store)?;
        store.remove_from_all(&iam_id)
    })?;
    let groups = left
        .into_iter()
        .map(|(access_group_id, result)| AllGroupsResult {
            access_group_id,
            outcome: match result {
                Ok(()) => Outcome::ok(),
                Err(e) => Outcome::failed(&call.trace, e),
            },
        })
        .collect();
    Ok(json(207, &AllGroupsResponse { iam_id, groups }))
}

async fn add_to_groups(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(iam_id): Path<String>,
    Params(q): Params<AccountQuery>,
    Body(request): Body<AddToGroupsRequest>,
) -> Result<Response, ApiError> {
    let kind = match (request.kind, MemberKind::of(&iam_id)) {
        (Some(k), _) => k,
        (None, Some(k)) => k.as_str().to_string(),
        (None, None) => return Err(ApiError::invalid_body("The member type is required.")),
    };
    let ids = request.groups.unwrap_or_default();
    let results = shared.with_store(|store| {
        require_account(q.account_id.as_deref(), store)?;
        store.add_to_groups(&actor, &iam_id, &kind, &ids, clock::now_ms())
    })?;
    let groups = ids
        .into_iter()
        .zip(results)
        .map(|(access_group_id, result)| AllGroupsResult {
            access_group_id,
            outcome: match result {
                Ok(()) => Outcome::ok(),
                Err(e) => Outcome::failed(&call.trace, e),
            },
        })
        .collect();
    Ok(json(207, &AllGroupsResponse { iam_id, groups }))
}
