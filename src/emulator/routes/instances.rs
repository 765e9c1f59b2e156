//! Resource Controller, read-only: `GET /v2/resource_instances` and
//! `GET /v2/resource_instances/{id}` (by GUID or URL-encoded CRN).
//!
//! Paging as IBM's: `limit` (default 100, larger values capped at 100), `rows_count` per
//! page, a relative `next_url` (`/v2/resource_instances?start=<token>&limit=<n>`) or
//! `null` on the last page. The token is opaque: base64 of the query it continues
//! (`next_docid=…&limit=…&account_id=…` and the filters), so, as IBM documents, every
//! other parameter is ignored when a token is present.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::paging::{parse_query, percent_encode};
use super::{Call, Caller, Params, Shr, json};
use crate::emulator::error::ApiError;
use crate::emulator::state::ResourceInstance;
use crate::emulator::store::{INSTANCE_STATES, INSTANCE_TYPE, InstanceFilter, Store};
use crate::emulator::wire::instances::{InstanceBody, LastOperation, ResourceInstancesList};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/v2/resource_instances", get(list_instances))
        .route("/v2/resource_instances/{id}", get(get_instance))
}

fn instance_body(call: &Call, store: &Store, i: &ResourceInstance) -> InstanceBody {
    let account = store.account_id().to_string();
    let guid = i.guid.clone().unwrap_or_default();
    let crn = i.crn(&account);
    let group = i.resource_group_id.clone().unwrap_or_default();
    let url = format!("/v2/resource_instances/{guid}");
    let _ = call;
    InstanceBody {
        id: crn.clone(),
        guid,
        created_at: i.created_at.clone(),
        updated_at: i.updated_at.clone(),
        deleted_at: None,
        created_by: i.created_by.clone(),
        updated_by: i.created_by.clone(),
        deleted_by: None,
        scheduled_reclaim_at: None,
        restored_at: None,
        restored_by: None,
        scheduled_reclaim_by: None,
        name: i.name.clone(),
        region_id: i.region_id.clone().unwrap_or_default(),
        reseller_channel_id: None,
        resource_plan_id: i.resource_plan_id.clone().unwrap_or_default(),
        resource_group_crn: format!(
            "crn:v1:bluemix:public:resource-controller::a/{account}::resource-group:{group}"
        ),
        resource_group_id: group,
        target_crn: format!(
            "crn:v1:bluemix:public:globalcatalog::::deployment:{}%3A{}",
            i.resource_plan_id.as_deref().unwrap_or(""),
            i.region_id.as_deref().unwrap_or("")
        ),
        allow_cleanup: false,
        crn,
        state: i.state.clone().unwrap_or_else(|| "active".into()),
        kind: INSTANCE_TYPE,
        sub_type: None,
        resource_id: i.resource_id.clone().unwrap_or_default(),
        dashboard_url: None,
        last_operation: last_operation(i.state.as_deref().unwrap_or("active")),
        resource_aliases_url: format!("{url}/resource_aliases"),
        resource_bindings_url: format!("{url}/resource_bindings"),
        resource_keys_url: format!("{url}/resource_keys"),
        plan_history: Vec::new(),
        migrated: false,
        controlled_by: None,
        locked: false,
        onetime_credentials: false,
        url,
        account_id: account,
    }
}

/// The last operation an instance in `state` went through. IBM's integration tests show
/// a created instance (`create`, `succeeded`, not async), a deleted one (`delete`,
/// `succeeded`) and, in their commented-out reclamation steps, a `reclamation`; the
/// other states are the emulator's reading of their names.
fn last_operation(state: &str) -> LastOperation {
    let (kind, op_state, is_async) = match state {
        "removed" => ("delete", "succeeded", false),
        "pending_reclamation" => ("reclamation", "succeeded", false),
        "provisioning" | "pre_provisioning" => ("create", "in progress", true),
        "failed" => ("create", "failed", true),
        _ => ("create", "succeeded", false),
    };
    LastOperation {
        kind,
        state: op_state,
        is_async,
        description: format!("{kind} instance operation: {op_state}"),
        cancelable: false,
        poll: is_async,
    }
}

/// `GET /v2/resource_instances`: the filters IBM's SDK sends (`updated_from`/`updated_to`
/// and `sub_type` are accepted; sub-types do not exist in the emulator, so `sub_type`
/// matches nothing).
#[derive(Deserialize, Default)]
struct ListInstances {
    guid: Option<String>,
    name: Option<String>,
    resource_group_id: Option<String>,
    resource_id: Option<String>,
    resource_plan_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    sub_type: Option<String>,
    limit: Option<i64>,
    start: Option<String>,
    state: Option<String>,
    #[allow(dead_code)]
    updated_from: Option<String>,
    #[allow(dead_code)]
    updated_to: Option<String>,
}

/// The query a page token carries: the filters, the limit and the next document.
struct Continuation {
    query: ListInstances,
    limit: usize,
    offset: usize,
}

fn encode_token(q: &ListInstances, limit: usize, offset: usize, account: &str) -> String {
    let mut text = format!("next_docid={offset}&limit={limit}&account_id={account}");
    for (name, value) in filters(q) {
        if let Some(v) = value {
            text.push_str(&format!("&{name}={}", percent_encode(v)));
        }
    }
    URL_SAFE_NO_PAD.encode(text)
}

fn filters(q: &ListInstances) -> [(&'static str, Option<&String>); 8] {
    [
        ("guid", q.guid.as_ref()),
        ("name", q.name.as_ref()),
        ("resource_group_id", q.resource_group_id.as_ref()),
        ("resource_id", q.resource_id.as_ref()),
        ("resource_plan_id", q.resource_plan_id.as_ref()),
        ("type", q.kind.as_ref()),
        ("sub_type", q.sub_type.as_ref()),
        ("state", q.state.as_ref()),
    ]
}

fn decode_token(raw: &str, account: &str) -> Result<Continuation, ApiError> {
    let refused = || {
        ApiError::invalid_parameter(format!(
            "start={raw:?} is not a page token this service issued; take it from next_url."
        ))
    };
    let text = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(refused)?;
    let mut query = ListInstances::default();
    let (mut offset, mut limit, mut acct) = (None, None, None);
    for (k, v) in parse_query(&text).ok_or_else(refused)? {
        match k.as_str() {
            "next_docid" => offset = v.parse().ok(),
            "limit" => limit = v.parse().ok(),
            "account_id" => acct = Some(v),
            "guid" => query.guid = Some(v),
            "name" => query.name = Some(v),
            "resource_group_id" => query.resource_group_id = Some(v),
            "resource_id" => query.resource_id = Some(v),
            "resource_plan_id" => query.resource_plan_id = Some(v),
            "type" => query.kind = Some(v),
            "sub_type" => query.sub_type = Some(v),
            "state" => query.state = Some(v),
            _ => return Err(refused()),
        }
    }
    match (offset, limit, acct) {
        // A token is the client's to forge: the page size it carries must be one the
        // service serves (1 to 100), or a next_url would repeat its page forever.
        (Some(offset), Some(limit), Some(a)) if a == account && (1..=100).contains(&limit) => {
            Ok(Continuation {
                query,
                limit,
                offset,
            })
        }
        _ => Err(refused()),
    }
}

/// `limit`: default 100; 1 or more; more than 100 is served as 100, as IBM does.
fn page_size(limit: Option<i64>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(100),
        Some(n) if n >= 1 => Ok(usize::try_from(n.min(100)).unwrap_or(100)),
        Some(n) => Err(ApiError::invalid_parameter(format!(
            "Query parameter limit={n} must be a positive integer."
        ))),
    }
}

fn states(raw: Option<&str>) -> Result<Vec<&str>, ApiError> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|s| {
            let s = s.trim();
            if INSTANCE_STATES.contains(&s) {
                Ok(s)
            } else {
                Err(ApiError::invalid_parameter(format!(
                    "state={s:?} is not an instance state; use one of {}.",
                    INSTANCE_STATES.join(", ")
                )))
            }
        })
        .collect()
}

async fn list_instances(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Params(q): Params<ListInstances>,
) -> Result<Response, ApiError> {
    let list = shared.with_store(|store| {
        let account = store.account_id().to_string();
        let c = match q.start.as_deref() {
            Some(raw) => decode_token(raw, &account)?,
            None => Continuation {
                limit: page_size(q.limit)?,
                offset: 0,
                query: ListInstances {
                    start: None,
                    limit: None,
                    ..q
                },
            },
        };
        let f = &c.query;
        let filter = InstanceFilter {
            guid: f.guid.as_deref(),
            name: f.name.as_deref(),
            resource_group_id: f.resource_group_id.as_deref(),
            resource_id: f.resource_id.as_deref(),
            resource_plan_id: f.resource_plan_id.as_deref(),
            kind: f.kind.as_deref(),
            states: states(f.state.as_deref())?,
        };
        let mut all = store.list_instances(&filter);
        if f.sub_type.is_some() {
            all.clear();
        }
        let end = c.offset.saturating_add(c.limit).min(all.len());
        let next_url = (end < all.len()).then(|| {
            let token = encode_token(f, c.limit, end, &account);
            format!("/v2/resource_instances?start={token}&limit={}", c.limit)
        });
        let resources: Vec<InstanceBody> = all
            .get(c.offset.min(all.len())..end)
            .unwrap_or_default()
            .iter()
            .map(|i| instance_body(&call, store, i))
            .collect();
        Ok(ResourceInstancesList {
            rows_count: resources.len(),
            next_url,
            resources,
        })
    })?;
    Ok(json(200, &list))
}

async fn get_instance(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let body = shared.with_store(|store| {
        let i = store.instance(&id)?;
        Ok(instance_body(&call, store, i))
    })?;
    Ok(json(200, &body))
}
