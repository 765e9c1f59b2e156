//! IAM Access Groups v2, the dynamic rules: `/v2/groups/{access_group_id}/rules` (list
//! unpaged, create 201) and `/rules/{rule_id}` (read with ETag, replace with `If-Match`,
//! delete 204).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;

use super::{Body, Caller, Shr, empty, json, with_etag};
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::state::{Condition, Rule};
use crate::emulator::store::{RuleDraft, Store, rule_etag};
use crate::emulator::wire::rules::{ConditionBody, RuleBody, RuleRequest, RulesList};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route(
            "/v2/groups/{access_group_id}/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/v2/groups/{access_group_id}/rules/{rule_id}",
            get(get_rule).put(replace_rule).delete(delete_rule),
        )
}

fn rule_body(store: &Store, group: &str, r: &Rule) -> RuleBody {
    RuleBody {
        id: r.id.clone().unwrap_or_default(),
        name: r.name.clone(),
        expiration: r.expiration,
        realm_name: r.realm_name.clone(),
        access_group_id: group.to_string(),
        account_id: store.account_id().to_string(),
        conditions: r
            .conditions
            .iter()
            .map(|c| ConditionBody {
                claim: c.claim.clone(),
                operator: c.operator.clone(),
                value: c.value.clone(),
            })
            .collect(),
        created_at: r.created_at.clone().unwrap_or_default(),
        created_by_id: r.created_by_id.clone().unwrap_or_default(),
        last_modified_at: r.last_modified_at.clone().unwrap_or_default(),
        last_modified_by_id: r.last_modified_by_id.clone().unwrap_or_default(),
    }
}

fn answered(code: u16, store: &Store, group: &str, r: &Rule) -> Response {
    with_etag(json(code, &rule_body(store, group, r)), &rule_etag(r))
}

fn draft(r: RuleRequest) -> Result<RuleDraft, ApiError> {
    let missing = |what: &str| ApiError::invalid_body(format!("{what} is required."));
    let conditions = r
        .conditions
        .ok_or_else(|| missing("conditions"))?
        .into_iter()
        .map(|c| match (c.claim, c.operator, c.value) {
            (Some(claim), Some(operator), Some(value)) => Ok(Condition {
                claim,
                operator,
                value,
            }),
            _ => Err(ApiError::invalid_body(
                "Every condition needs a claim, an operator and a value.",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RuleDraft {
        name: r.name,
        expiration: r.expiration.ok_or_else(|| missing("expiration"))?,
        realm_name: r.realm_name.ok_or_else(|| missing("realm_name"))?,
        conditions,
    })
}

async fn list_rules(
    State(shared): State<Shr>,
    _: Caller,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    let list = shared.with_store(|store| {
        let rules = store.rules(&group)?;
        Ok(RulesList {
            rules: rules.iter().map(|r| rule_body(store, &group, r)).collect(),
        })
    })?;
    Ok(json(200, &list))
}

async fn create_rule(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    Path(group): Path<String>,
    Body(request): Body<RuleRequest>,
) -> Result<Response, ApiError> {
    let draft = draft(request)?;
    shared.with_store(|store| {
        let rule = store.create_rule(&actor, &group, draft, clock::now_ms())?;
        Ok(answered(201, store, &group, &rule))
    })
}

async fn get_rule(
    State(shared): State<Shr>,
    _: Caller,
    Path((group, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| {
        let rule = store.rule(&group, &id)?;
        Ok(answered(200, store, &group, rule))
    })
}

async fn replace_rule(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    Path((group, id)): Path<(String, String)>,
    headers: HeaderMap,
    Body(request): Body<RuleRequest>,
) -> Result<Response, ApiError> {
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let draft = draft(request)?;
    shared.with_store(|store| {
        let rule = store.replace_rule(&actor, &group, &id, if_match, draft, clock::now_ms())?;
        Ok(answered(200, store, &group, &rule))
    })
}

async fn delete_rule(
    State(shared): State<Shr>,
    _: Caller,
    Path((group, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| store.delete_rule(&group, &id))?;
    Ok(empty(204))
}
