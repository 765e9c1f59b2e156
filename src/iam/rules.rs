//! Dynamic rules of access groups (`/v2/groups/{id}/rules`): how ID-provider users join a
//! group (docs/ibm-api.md, Dynamic rules). IBM stores a condition's value as stringified
//! JSON (`"\"ml\""`); this module is the one place that encodes and decodes it, so every
//! other layer holds the plain value the file says (`ml`).

use std::collections::HashSet;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::error::IamError;
use super::http::{Request, Retry};
use super::wire_access::{Rule, RuleList};
use super::{Client, Deleted, join};
use crate::model::{AccessGroupId, DesiredRule, LiveRule, RuleCondition, RuleId, RuleOperator};

const LIST_ROUTE: &str = "GET /v2/groups/{access_group_id}/rules";
const CREATE_ROUTE: &str = "POST /v2/groups/{access_group_id}/rules";
const GET_ROUTE: &str = "GET /v2/groups/{access_group_id}/rules/{rule_id}";
const PUT_ROUTE: &str = "PUT /v2/groups/{access_group_id}/rules/{rule_id}";
const DELETE_ROUTE: &str = "DELETE /v2/groups/{access_group_id}/rules/{rule_id}";
/// IBM allows 5 rules a group; a list far longer is a misbehaving server.
const MAX_RULES: usize = 1_000;

/// A rule as the create call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedRule {
    pub id: RuleId,
    /// `None` when a re-read found that an earlier, unanswered attempt had landed.
    pub transaction_id: Option<String>,
}

impl Client {
    /// A group's dynamic rules (one unpaged call).
    pub async fn list_rules(&self, group: &AccessGroupId) -> Result<Vec<LiveRule>, IamError> {
        self.list_rules_with(group, false).await
    }

    pub(crate) async fn list_rules_with(
        &self,
        group: &AccessGroupId,
        bulk: bool,
    ) -> Result<Vec<LiveRule>, IamError> {
        let mut req = Request::new(
            Method::GET,
            LIST_ROUTE,
            self.rules_url(group, None),
            Retry::Idempotent,
        );
        req.bulk = bulk;
        let reply = self.send(&req).await?;
        let list: RuleList = reply.json(LIST_ROUTE)?;
        let malformed = |detail: String| IamError::Malformed {
            call: LIST_ROUTE.into(),
            detail,
            transaction_id: reply.transaction_id.clone(),
        };
        let Some(Value::Array(items)) = list.rules else {
            return Err(malformed("the answer has no `rules` list".into()));
        };
        if items.len() > MAX_RULES {
            return Err(malformed(format!("{} rules for one group", items.len())));
        }
        let mut ids = HashSet::new();
        Ok(items
            .into_iter()
            .filter_map(|item| serde_json::from_value::<Rule>(item).ok())
            .filter_map(live_rule)
            .filter(|r| ids.insert(r.id.clone()))
            .collect())
    }

    /// Adds a rule: one call, retried only where IBM cannot have acted on it; after an
    /// ambiguous failure the caller re-reads the group's rules.
    pub async fn create_rule(
        &self,
        group: &AccessGroupId,
        rule: &DesiredRule,
    ) -> Result<CreatedRule, IamError> {
        let req = Request::new(
            Method::POST,
            CREATE_ROUTE,
            self.rules_url(group, None),
            Retry::SafeOnly,
        )
        .json(rule_body(rule));
        let reply = self.send(&req).await?;
        let created: Rule = reply.json(CREATE_ROUTE)?;
        let Some(id) = created.id.filter(|i| !i.trim().is_empty()) else {
            return Err(IamError::Malformed {
                call: CREATE_ROUTE.into(),
                detail: "the created rule has no id".into(),
                transaction_id: reply.transaction_id,
            });
        };
        Ok(CreatedRule {
            id: RuleId::new(id),
            transaction_id: reply.transaction_id,
        })
    }

    /// Replaces a rule whole (its name included, which IBM would otherwise clear): GET for
    /// the ETag, PUT with `If-Match`. Nothing is sent when the rule already is so
    /// (`Ok(None)`); a 412 re-reads, and is success when the rule now is so.
    pub async fn update_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
        rule: &DesiredRule,
    ) -> Result<Option<String>, IamError> {
        let url = self.rules_url(group, Some(id));
        let (etag, current) = self.get_rule(&url).await?;
        if current.as_ref().is_some_and(|c| c.matches(rule)) {
            return Ok(None);
        }
        let mut put = Request::new(Method::PUT, PUT_ROUTE, url.clone(), Retry::Idempotent)
            .json(rule_body(rule));
        put.if_match = Some(etag);
        match self.send(&put).await {
            Ok(reply) => Ok(reply.transaction_id),
            Err(e) if e.status() == Some(412) => match self.get_rule(&url).await?.1 {
                Some(now) if now.matches(rule) => Ok(e.info().transaction_id),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Removes a rule. A 404 means it is gone already: the intended result.
    pub async fn delete_rule(
        &self,
        group: &AccessGroupId,
        id: &RuleId,
    ) -> Result<Deleted, IamError> {
        let req = Request::new(
            Method::DELETE,
            DELETE_ROUTE,
            self.rules_url(group, Some(id)),
            Retry::Idempotent,
        );
        Deleted::from(self.send(&req).await)
    }

    async fn get_rule(&self, url: &Url) -> Result<(String, Option<LiveRule>), IamError> {
        let req = Request::new(Method::GET, GET_ROUTE, url.clone(), Retry::Idempotent);
        let reply = self.send(&req).await?;
        let rule: Rule = reply.json(GET_ROUTE)?;
        Ok((reply.etag.unwrap_or_else(|| "*".into()), live_rule(rule)))
    }

    fn rules_url(&self, group: &AccessGroupId, rule: Option<&RuleId>) -> Url {
        let mut segments = vec!["v2", "groups", group.as_str(), "rules"];
        segments.extend(rule.map(RuleId::as_str));
        join(&self.inner.endpoints.iam, &segments, &[])
    }
}

/// The body of a create or replace: values JSON-encoded, as IBM stores them.
fn rule_body(rule: &DesiredRule) -> Value {
    let conditions: Vec<Value> = rule
        .conditions
        .iter()
        .map(|c| {
            json!({
                "claim": c.claim,
                "operator": c.operator.as_str(),
                "value": encode_value(&c.value),
            })
        })
        .collect();
    json!({
        "name": rule.name,
        "expiration": rule.expiration_hours,
        "realm_name": rule.realm,
        "conditions": conditions,
    })
}

/// `ml` → `"ml"` (the stringified JSON IBM stores).
pub(crate) fn encode_value(value: &str) -> String {
    Value::String(value.to_string()).to_string()
}

/// `"ml"` → `ml`. A value that is JSON but not a string (`1`, `true`, `["a"]`) is kept as
/// its JSON text; one that is not JSON at all (written by another tool) is kept as is.
pub(crate) fn decode_value(stored: &str) -> String {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => stored.to_string(),
    }
}

/// A listed rule; `None` without an id. A condition orgsync cannot read (an operator IBM
/// added since, no claim) is counted, not kept: the rule then matches nothing the file
/// says ([`LiveRule::matches`]), so it is replaced, not taken as in sync.
fn live_rule(rule: Rule) -> Option<LiveRule> {
    let id = rule.id.filter(|i| !i.trim().is_empty())?;
    let listed = rule.conditions.len();
    let conditions: Vec<RuleCondition> = rule
        .conditions
        .into_iter()
        .filter_map(|c| {
            Some(RuleCondition {
                claim: c.claim?,
                operator: RuleOperator::parse(c.operator?.trim())?,
                value: decode_value(&c.value.unwrap_or_default()),
            })
        })
        .collect();
    let unreadable_conditions = listed - conditions.len();
    Some(LiveRule {
        id: RuleId::new(id.trim()),
        name: rule.name.unwrap_or_default(),
        realm: rule.realm_name.unwrap_or_default(),
        expiration_hours: rule
            .expiration
            .and_then(|e| u32::try_from(e).ok())
            .unwrap_or(0),
        conditions,
        unreadable_conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_values_round_trip_through_stringified_json() {
        assert_eq!(encode_value("ml"), r#""ml""#);
        assert_eq!(decode_value(r#""ml""#), "ml");
        assert_eq!(
            decode_value(&encode_value(r#"a "quoted" \ value"#)),
            r#"a "quoted" \ value"#
        );
        assert_eq!(decode_value("1"), "1");
        assert_eq!(decode_value(r#"["a", "b"]"#), r#"["a","b"]"#);
        assert_eq!(decode_value("ml"), "ml");
        assert_eq!(decode_value(""), "");
    }

    #[test]
    fn sdk_rule_mock_parses_and_a_rule_compares_to_the_file() {
        let body = r#"{"rules": [{"id": "id", "name": "ml-project", "expiration": 24, "realm_name": "https://idp.example/oauth", "access_group_id": "access_group_id", "account_id": "account_id", "conditions": [{"claim": "project", "operator": "CONTAINS", "value": "\"ml\""}, {"claim": "x", "operator": "SOMETHING_NEW", "value": "1"}], "created_at": "2019-01-01T12:00:00.000Z", "created_by_id": "created_by_id", "last_modified_at": "2019-01-01T12:00:00.000Z", "last_modified_by_id": "last_modified_by_id"}]}"#;
        let list: RuleList = serde_json::from_str(body).unwrap();
        let Some(Value::Array(items)) = list.rules else {
            panic!("rules")
        };
        let live = live_rule(serde_json::from_value(items[0].clone()).unwrap()).unwrap();
        assert_eq!(
            live.conditions.len(),
            1,
            "the unknown operator's condition is not kept"
        );
        assert_eq!(live.unreadable_conditions, 1, "but it is counted");
        assert_eq!(live.conditions[0].value, "ml");
        let desired = DesiredRule {
            name: "ML-Project".into(),
            realm: "https://idp.example/oauth".into(),
            expiration_hours: 24,
            conditions: vec![RuleCondition {
                claim: "project".into(),
                operator: RuleOperator::Contains,
                value: "ml".into(),
            }],
        };
        assert!(
            !live.matches(&desired),
            "a condition orgsync cannot read is a difference"
        );
        let readable = LiveRule {
            unreadable_conditions: 0,
            ..live.clone()
        };
        assert!(readable.matches(&desired));
        let body = rule_body(&desired);
        assert_eq!(body["conditions"][0]["value"], r#""ml""#);
        assert_eq!(body["name"], "ML-Project");
        assert_eq!(body["expiration"], 24);
    }
}
