//! Resource Manager, read-only: `GET /v2/resource_groups` (unpaged, `resources` only;
//! `account_id`, `name`, `default` honoured; `date` and `include_deleted` accepted) and
//! `GET /v2/resource_groups/{id}`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Caller, Params, Shr, json};
use crate::emulator::error::ApiError;
use crate::emulator::state::ResourceGroup;
use crate::emulator::store::Store;
use crate::emulator::wire::resource_groups::{ResourceGroupBody, ResourceGroupList};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/v2/resource_groups", get(list_groups))
        .route("/v2/resource_groups/{id}", get(get_group))
}

fn group_body(store: &Store, g: &ResourceGroup) -> ResourceGroupBody {
    let account = store.account_id().to_string();
    let id = g.id.clone().unwrap_or_default();
    let quota_id = g.quota_id.clone().unwrap_or_default();
    ResourceGroupBody {
        crn: format!("crn:v1:bluemix:public:resource-controller::a/{account}::resource-group:{id}"),
        id,
        account_id: account,
        name: g.name.clone(),
        state: g.state.clone().unwrap_or_else(|| "ACTIVE".into()),
        default: g.default,
        quota_url: format!("/v2/quota_definitions/{quota_id}"),
        quota_id,
        payment_methods_url: None,
        resource_linkages: Vec::new(),
        teams_url: None,
        created_at: g.created_at.clone(),
        updated_at: g.updated_at.clone(),
    }
}

#[derive(Deserialize)]
struct ListGroups {
    account_id: Option<String>,
    name: Option<String>,
    default: Option<bool>,
    #[allow(dead_code)]
    date: Option<String>,
    #[allow(dead_code)]
    include_deleted: Option<bool>,
}

async fn list_groups(
    State(shared): State<Shr>,
    _: Caller,
    Params(q): Params<ListGroups>,
) -> Result<Response, ApiError> {
    let list = shared.with_store(|store| {
        if let Some(account) = q.account_id.as_deref().filter(|a| !a.is_empty()) {
            store.check_account(account)?;
        }
        let groups = store.list_resource_groups(q.name.as_deref(), q.default);
        Ok(ResourceGroupList {
            resources: groups.into_iter().map(|g| group_body(store, g)).collect(),
        })
    })?;
    Ok(json(200, &list))
}

async fn get_group(
    State(shared): State<Shr>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let body = shared.with_store(|store| {
        let g = store.resource_group(&id)?;
        Ok(group_body(store, g))
    })?;
    Ok(json(200, &body))
}
