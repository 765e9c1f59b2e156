//! IAM Policy Management, the roles: `GET /v2/roles` (always the three lists) and the
//! custom roles at `/v2/roles/{role_id}` — create 201, read with ETag, replace with
//! `If-Match`, delete 204, and a 409 `role_conflict_error` naming the role a new one
//! collides with.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{Body, Call, Caller, Params, Shr, empty, json, with_etag};
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::state::CustomRole;
use crate::emulator::store::{
    RoleDraft, RoleRefusal, RoleScope, RoleUpdate, RoleView, Store, role_etag,
};
use crate::emulator::wire::roles::{
    CreateRoleRequest, CustomRoleBody, ReplaceRoleRequest, RoleBody, RoleCollection,
};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/v2/roles", get(list_roles).post(create_role))
        .route(
            "/v2/roles/{role_id}",
            get(get_role).put(replace_role).delete(delete_role),
        )
}

fn role_body(view: RoleView) -> RoleBody {
    RoleBody {
        display_name: view.display_name,
        description: view.description,
        actions: view.actions,
        crn: view.crn,
    }
}

fn custom_body(call: &Call, store: &Store, r: &CustomRole) -> CustomRoleBody {
    let id = r.id.clone().unwrap_or_default();
    CustomRoleBody {
        href: format!("{}/v2/roles/{id}", call.base),
        id,
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        actions: r.actions.clone(),
        crn: store.custom_role_crn(r),
        name: r.name.clone(),
        account_id: store.account_id().to_string(),
        service_name: r.service_name.clone(),
        created_at: r.created_at.clone().unwrap_or_default(),
        created_by_id: r.created_by_id.clone().unwrap_or_default(),
        last_modified_at: r.last_modified_at.clone().unwrap_or_default(),
        last_modified_by_id: r.last_modified_by_id.clone().unwrap_or_default(),
    }
}

fn answered(code: u16, call: &Call, store: &Store, r: &CustomRole) -> Response {
    with_etag(json(code, &custom_body(call, store, r)), &role_etag(r))
}

/// The 409 of a name already used: IBM's message and the existing role with its ETag.
fn refusal(call: &Call, store: &Store, r: RoleRefusal) -> ApiError {
    match r {
        RoleRefusal::Error(e) => e,
        RoleRefusal::Conflict { role, field } => {
            let message = if field == "name" {
                "This role name has already been used, please update the existing one or change the role name."
            } else {
                "This role display name has already been used for this service, please update the existing one or change the display name."
            };
            let body = serde_json::to_value(custom_body(call, store, &role)).unwrap_or_default();
            ApiError::new(409, "role_conflict_error", message)
                .with_details(json!({"conflicts_with": {"etag": role_etag(&role), "role": body}}))
        }
    }
}

#[derive(Deserialize)]
struct ListRoles {
    account_id: Option<String>,
    service_name: Option<String>,
    service_group_id: Option<String>,
    /// Accepted, not used.
    #[allow(dead_code)]
    source_service_name: Option<String>,
    /// Accepted, not used.
    #[allow(dead_code)]
    policy_type: Option<String>,
}

async fn list_roles(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Params(q): Params<ListRoles>,
) -> Result<Response, ApiError> {
    let scope = match (q.service_name.as_deref(), q.service_group_id.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "service_name and service_group_id are mutually exclusive.",
            ));
        }
        (Some(s), None) => RoleScope::Service(s),
        (None, Some(g)) => RoleScope::ServiceGroup(g),
        (None, None) => RoleScope::Everything,
    };
    let collection = shared.with_store(|store| {
        // Custom roles belong to an account: without account_id, none are listed.
        let with_custom = match q.account_id.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => store.check_account(a).map(|()| true)?,
            None => false,
        };
        let listing = store.list_roles(&scope)?;
        let custom_roles = if with_custom {
            listing
                .custom
                .iter()
                .map(|r| custom_body(&call, store, r))
                .collect()
        } else {
            Vec::new()
        };
        Ok(RoleCollection {
            custom_roles,
            service_roles: listing.service.into_iter().map(role_body).collect(),
            system_roles: listing.system.into_iter().map(role_body).collect(),
        })
    })?;
    Ok(json(200, &collection))
}

fn required<T>(value: Option<T>, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid_body(format!("{what} is required.")))
}

async fn create_role(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Body(r): Body<CreateRoleRequest>,
) -> Result<Response, ApiError> {
    let account = required(r.account_id, "account_id")?;
    let draft = RoleDraft {
        name: required(r.name, "name")?,
        display_name: required(r.display_name, "display_name")?,
        description: r.description.unwrap_or_default(),
        service_name: required(r.service_name, "service_name")?,
        actions: required(r.actions, "actions")?,
    };
    shared.with_store(|store| {
        store.check_account(&account)?;
        match store.create_role(&actor, draft, clock::now_ms()) {
            Ok(role) => Ok(answered(201, &call, store, &role)),
            Err(e) => Err(refusal(&call, store, e)),
        }
    })
}

async fn get_role(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| {
        let role = store.custom_role(&id)?;
        Ok(answered(200, &call, store, role))
    })
}

async fn replace_role(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(r): Body<ReplaceRoleRequest>,
) -> Result<Response, ApiError> {
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let display_name = required(r.display_name, "display_name")?;
    let actions = required(r.actions, "actions")?;
    shared.with_store(|store| {
        let current = store.custom_role(&id)?;
        let fixed = [
            ("name", r.name.as_deref(), current.name.as_str()),
            (
                "service_name",
                r.service_name.as_deref(),
                current.service_name.as_str(),
            ),
            ("account_id", r.account_id.as_deref(), store.account_id()),
        ];
        if let Some((field, _, _)) = fixed
            .iter()
            .find(|(_, sent, now)| sent.is_some_and(|s| s != *now))
        {
            return Err(ApiError::invalid_body(format!(
                "The {field} of a custom role can't be changed."
            )));
        }
        let update = RoleUpdate {
            display_name,
            description: r.description.clone().unwrap_or_default(),
            actions,
        };
        match store.replace_role(&actor, &id, if_match, update, clock::now_ms()) {
            Ok(role) => Ok(answered(200, &call, store, &role)),
            Err(e) => Err(refusal(&call, store, e)),
        }
    })
}

async fn delete_role(
    State(shared): State<Shr>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| store.delete_role(&id))?;
    Ok(empty(204))
}
