//! IAM Policy Management: the access policies whose subject is an access group — read
//! through `/v2/policies` (which shows v1 and v2 policies in full), created through v2,
//! replaced and deleted through the version that created each (its `href`), as
//! docs/ibm-api.md (Policy Management) explains.
//!
//! Reading decides one thing beyond parsing: whether a live policy is one a file's
//! `access` entry can say ([`PolicyShape`]). Anything more than an account id plus a
//! service, instance and resource group (or a resource group itself), all
//! `stringEquals`, without tags or conditions, is left alone with the reason why.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::error::IamError;
use super::http::{Request, Retry};
use super::wire_access::{Attribute, Policy, PolicyCollection};
use super::{Client, Deleted, join};
use crate::model::{
    AccessGroupId, AccountId, InstanceGuid, LivePolicy, PolicyId, PolicyShape, PolicyTarget,
    PolicyVersion, ResourceGroupId, RoleCrn, ServiceName,
};

const LIST_ROUTE: &str = "GET /v2/policies";
const CREATE_ROUTE: &str = "POST /v2/policies";
/// Pages of one listing at most: 4,020 policies an account is IBM's limit; even at 10 a
/// page that is far below this.
const MAX_PAGES: usize = 1_000;
/// A page larger than the account's limit is a misbehaving server.
const MAX_PAGE_ITEMS: usize = 5_000;

/// A policy as the create call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedPolicy {
    pub id: PolicyId,
    pub version: PolicyVersion,
    /// `None` when a re-read found that an earlier, unanswered attempt had landed.
    pub transaction_id: Option<String>,
}

/// The routes of one policy, by the version that created it.
fn one_route(version: PolicyVersion, method: &Method) -> &'static str {
    match (version, method.as_str()) {
        (PolicyVersion::V1, "GET") => "GET /v1/policies/{policy_id}",
        (PolicyVersion::V1, "PUT") => "PUT /v1/policies/{policy_id}",
        (PolicyVersion::V1, _) => "DELETE /v1/policies/{policy_id}",
        (PolicyVersion::V2, "GET") => "GET /v2/policies/{policy_id}",
        (PolicyVersion::V2, "PUT") => "PUT /v2/policies/{policy_id}",
        (PolicyVersion::V2, _) => "DELETE /v2/policies/{policy_id}",
    }
}

impl Client {
    /// The access policies of one group (`group: Some`), or of every access group of the
    /// account in one listing (`None`), through `/v2/policies`. Policies whose subject is
    /// not an access group are dropped.
    pub(crate) async fn list_policies_with(
        &self,
        account: &AccountId,
        group: Option<&AccessGroupId>,
        bulk: bool,
        on_page: &(dyn Fn() + Sync),
    ) -> Result<Vec<LivePolicy>, IamError> {
        let mut query = vec![("account_id", account.as_str()), ("type", "access")];
        if let Some(group) = group {
            query.push(("access_group_id", group.as_str()));
        }
        let base = join(&self.inner.endpoints.iam, &["v2", "policies"], &query);
        let mut out = Vec::new();
        let mut ids = HashSet::new();
        let mut starts = HashSet::new();
        let mut start: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = base.clone();
            if let Some(s) = &start {
                url.query_pairs_mut().append_pair("start", s);
            }
            let mut req = Request::new(Method::GET, LIST_ROUTE, url, Retry::Idempotent);
            req.bulk = bulk;
            let reply = self.send(&req).await?;
            on_page();
            let page: PolicyCollection = reply.json(LIST_ROUTE)?;
            let malformed = |detail: String| IamError::Malformed {
                call: LIST_ROUTE.into(),
                detail,
                transaction_id: reply.transaction_id.clone(),
            };
            let Some(Value::Array(items)) = page.policies else {
                return Err(malformed("the page has no `policies` list".into()));
            };
            if items.len() > MAX_PAGE_ITEMS {
                return Err(malformed(format!(
                    "a page of {} policies, more than an account may hold",
                    items.len()
                )));
            }
            for item in items {
                let Ok(policy) = serde_json::from_value::<Policy>(item) else {
                    continue;
                };
                if let Some(p) = live_policy(policy, account)
                    && group.is_none_or(|g| *g == p.group)
                    && ids.insert(p.id.clone())
                {
                    out.push(p);
                }
            }
            match page.next.and_then(|n| next_start(&base, n.start, n.href)) {
                None => return Ok(out),
                Some(next) if !starts.insert(next.clone()) => {
                    return Err(malformed(
                        "`next` repeats a page already read (the listing loops)".into(),
                    ));
                }
                Some(next) => start = Some(next),
            }
        }
        Err(IamError::Malformed {
            call: LIST_ROUTE.into(),
            detail: format!("the policy listing did not end after {MAX_PAGES} pages"),
            transaction_id: None,
        })
    }

    /// Creates an access policy for `group` through v2: one call, retried only where IBM
    /// cannot have acted on it. After an ambiguous failure the caller re-reads the group's
    /// policies; a 409 `policy_conflict_error` says a policy of this target exists (the
    /// re-read tells whether it is this one).
    pub async fn create_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> Result<CreatedPolicy, IamError> {
        let url = join(&self.inner.endpoints.iam, &["v2", "policies"], &[]);
        let body = v2_body(account, group, target, roles, None);
        let req = Request::new(Method::POST, CREATE_ROUTE, url, Retry::SafeOnly).json(body);
        let reply = self.send(&req).await?;
        let created: Policy = reply.json(CREATE_ROUTE)?;
        let Some(id) = created.id.filter(|i| !i.trim().is_empty()) else {
            return Err(IamError::Malformed {
                call: CREATE_ROUTE.into(),
                detail: "the created policy has no id".into(),
                transaction_id: reply.transaction_id,
            });
        };
        Ok(CreatedPolicy {
            id: PolicyId::new(id),
            version: created
                .href
                .as_deref()
                .map_or(PolicyVersion::V2, version_of),
            transaction_id: reply.transaction_id,
        })
    }

    /// Replaces a policy's roles in place, through the version that created it: GET for
    /// the ETag (and the description, which a replace would otherwise drop), then PUT with
    /// `If-Match`. When the policy already grants `roles` nothing is sent (`Ok(None)`). A
    /// 412 (the ETag moved: a retried PUT that landed, or someone else's edit) re-reads:
    /// if the roles now are `roles` that is success, else the 412 is returned.
    pub async fn replace_policy(
        &self,
        account: &AccountId,
        group: &AccessGroupId,
        policy: &PolicyId,
        version: PolicyVersion,
        target: &PolicyTarget,
        roles: &[RoleCrn],
    ) -> Result<Option<String>, IamError> {
        let wanted: BTreeSet<String> = roles.iter().map(|r| r.as_str().to_string()).collect();
        let (etag, current) = self.get_policy(policy, version).await?;
        if role_set(&current) == wanted {
            return Ok(None);
        }
        let description = current.description.as_deref().filter(|d| !d.is_empty());
        let body = match version {
            PolicyVersion::V1 => v1_body(account, group, target, roles, description),
            PolicyVersion::V2 => v2_body(account, group, target, roles, description),
        };
        let mut put = Request::new(
            Method::PUT,
            one_route(version, &Method::PUT),
            self.policy_url(policy, version),
            Retry::Idempotent,
        )
        .json(body);
        put.if_match = Some(etag);
        match self.send(&put).await {
            Ok(reply) => Ok(reply.transaction_id),
            Err(e) if e.status() == Some(412) => {
                let (_, now) = self.get_policy(policy, version).await?;
                if role_set(&now) == wanted {
                    Ok(e.info().transaction_id)
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a policy through the version that created it. A 404 means it is gone
    /// already (an earlier attempt, or someone else): the intended result.
    pub async fn delete_policy(
        &self,
        policy: &PolicyId,
        version: PolicyVersion,
    ) -> Result<Deleted, IamError> {
        let req = Request::new(
            Method::DELETE,
            one_route(version, &Method::DELETE),
            self.policy_url(policy, version),
            Retry::Idempotent,
        );
        Deleted::from(self.send(&req).await)
    }

    /// One policy in its own version's view, with its ETag (`*` when IBM gave none).
    async fn get_policy(
        &self,
        policy: &PolicyId,
        version: PolicyVersion,
    ) -> Result<(String, Policy), IamError> {
        let route = one_route(version, &Method::GET);
        let req = Request::new(
            Method::GET,
            route,
            self.policy_url(policy, version),
            Retry::Idempotent,
        );
        let reply = self.send(&req).await?;
        let current: Policy = reply.json(route)?;
        Ok((reply.etag.unwrap_or_else(|| "*".into()), current))
    }

    fn policy_url(&self, policy: &PolicyId, version: PolicyVersion) -> Url {
        join(
            &self.inner.endpoints.iam,
            &[version.as_str(), "policies", policy.as_str()],
            &[],
        )
    }
}

/// The cursor of a `next` link: its `start`, else the `start` parameter of its `href`.
fn next_start(base: &Url, start: Option<String>, href: Option<String>) -> Option<String> {
    start
        .filter(|s| !s.trim().is_empty())
        .or_else(|| super::users::start_param_named(base, &href?, "start"))
}

/// Which version created a policy, by its `href` (`…/v1/policies/…` or `…/v2/…`). A
/// policy without one was read through v2 and is taken as v2.
pub(crate) fn version_of(href: &str) -> PolicyVersion {
    if href.contains("/v1/") {
        PolicyVersion::V1
    } else {
        PolicyVersion::V2
    }
}

/// The role CRNs a policy grants, in either version's shape.
fn role_ids(policy: &Policy) -> Vec<RoleCrn> {
    let roles = match policy.control.as_ref().and_then(|c| c.grant.as_ref()) {
        Some(grant) => &grant.roles,
        None => &policy.roles,
    };
    let mut out: Vec<RoleCrn> = Vec::with_capacity(roles.len());
    for role in roles {
        if let Some(id) = role
            .role_id
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            && !out.iter().any(|r| r.as_str() == id)
        {
            out.push(RoleCrn::new(id));
        }
    }
    out
}

fn role_set(policy: &Policy) -> BTreeSet<String> {
    role_ids(policy)
        .into_iter()
        .map(|r| r.as_str().to_string())
        .collect()
}

/// A listed policy as orgsync sees it; `None` when it has no id, its subject names no
/// access group (a user's or service ID's policy), or it is deleted: listings without a
/// `state` filter return active policies only, but a deleted one, should IBM list it,
/// grants nothing and must not be planned as live (docs/ibm-api.md).
pub(crate) fn live_policy(policy: Policy, account: &AccountId) -> Option<LivePolicy> {
    if (policy.state.as_deref()).is_some_and(|s| s.trim().eq_ignore_ascii_case("deleted")) {
        return None;
    }
    let id = policy
        .id
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())?;
    let subject = subject_attributes(&policy);
    let group = subject
        .iter()
        .find(|a| a.key() == Some("access_group_id"))
        .and_then(Attribute::text)
        .filter(|g| !g.trim().is_empty())?;
    let shape = match shape(&policy, subject, account) {
        Ok(target) => PolicyShape::Expressible(target),
        Err(reason) => PolicyShape::Unexpressible(reason),
    };
    Some(LivePolicy {
        id: PolicyId::new(id),
        version: policy.href.as_deref().map_or(PolicyVersion::V2, version_of),
        group: AccessGroupId::new(group.trim()),
        shape,
        roles: role_ids(&policy),
    })
}

fn subject_attributes(policy: &Policy) -> &[Attribute] {
    match &policy.subject {
        Some(subject) => &subject.attributes,
        None => policy
            .subjects
            .first()
            .map_or(&[][..], |s| &s.attributes[..]),
    }
}

/// The target an `access` entry could say for `policy`, or what it cannot say.
fn shape(
    policy: &Policy,
    subject: &[Attribute],
    account: &AccountId,
) -> Result<PolicyTarget, String> {
    if let Some(kind) = policy.kind.as_deref().filter(|k| *k != "access") {
        return Err(format!("a policy of type `{kind}`"));
    }
    if policy.subjects.len() > 1 || subject.len() != 1 || !plain(&subject[0]) {
        return Err("a subject with more than the access group".into());
    }
    if policy.rule.as_ref().is_some_and(|r| !r.is_null()) {
        return Err("a condition (`rule`)".into());
    }
    if let Some(pattern) = policy.pattern.as_ref().filter(|p| !p.is_null()) {
        return Err(match pattern.as_str() {
            Some(p) if p.starts_with("time-based") => format!("a time-based condition (`{p}`)"),
            Some(p) => format!("a condition pattern (`{p}`)"),
            None => "a condition pattern".into(),
        });
    }
    let resource = match (&policy.resource, policy.resources.as_slice()) {
        (Some(r), _) => r,
        (None, [r]) => r,
        (None, []) => return Err("no resource".into()),
        (None, _) => return Err("more than one resource".into()),
    };
    let tagged = match &resource.tags {
        None | Some(Value::Null) => false,
        Some(Value::Array(tags)) => !tags.is_empty(),
        Some(_) => true,
    };
    if tagged {
        return Err("access-management tags".into());
    }
    target(&resource.attributes, account)
}

/// `stringEquals` on a text value (a v1 attribute without an operator is `stringEquals`).
fn plain(attribute: &Attribute) -> bool {
    attribute
        .operator
        .as_deref()
        .is_none_or(|o| o == "stringEquals")
        && attribute.text().is_some()
}

/// The resource attributes as a [`PolicyTarget`]: exactly `accountId` (this account)
/// plus `serviceName`, `serviceInstance`, `resourceGroupId`, or `resourceType:
/// resource-group` with `resource` alone.
fn target(attributes: &[Attribute], account: &AccountId) -> Result<PolicyTarget, String> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for a in attributes {
        let key = a.key().unwrap_or("");
        if !plain(a) {
            return Err(match a.operator.as_deref() {
                Some(op) if op != "stringEquals" => format!("the operator `{op}` on `{key}`"),
                _ => format!("a value that is not text on `{key}`"),
            });
        }
        if seen.iter().any(|(k, _)| *k == key) {
            return Err(format!("the attribute `{key}` twice"));
        }
        seen.push((key, a.text().unwrap_or_default()));
    }
    let get = |k: &str| {
        seen.iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    };
    match get("accountId") {
        Some(a) if a == account.as_str() => {}
        Some(_) => return Err("resources of another account".into()),
        None => return Err("no `accountId`".into()),
    }
    if let Some((key, _)) = seen.iter().find(|(k, _)| {
        !matches!(
            *k,
            "accountId"
                | "serviceName"
                | "serviceInstance"
                | "resourceGroupId"
                | "resourceType"
                | "resource"
        )
    }) {
        return Err(format!("the attribute `{key}`"));
    }
    let service = get("serviceName").map(ServiceName::new);
    let instance = get("serviceInstance").map(InstanceGuid::new);
    match (get("resourceType"), get("resource")) {
        (None, None) => {}
        (Some(t), Some(rg)) if t == "resource-group" => {
            if service.is_some() || instance.is_some() || get("resourceGroupId").is_some() {
                return Err("a grant on a resource group combined with other attributes".into());
            }
            return Ok(PolicyTarget {
                resource_group_id: Some(ResourceGroupId::new(rg)),
                ..PolicyTarget::default()
            });
        }
        (Some(t), _) if t != "resource-group" => return Err(format!("the resource type `{t}`")),
        _ => return Err("`resourceType` and `resource` without each other".into()),
    }
    let resource_group_id = get("resourceGroupId").map(ResourceGroupId::new);
    if instance.is_some() && service.is_none() {
        return Err("an instance without its service".into());
    }
    if service.is_none() && resource_group_id.is_none() {
        return Err("every resource of the account".into());
    }
    Ok(PolicyTarget {
        service,
        instance_id: instance,
        resource_group_id,
    })
}

/// The resource attributes of `target` in the account, as (name, value) in the order
/// IBM's own examples use.
fn resource_attributes<'a>(
    account: &'a AccountId,
    target: &'a PolicyTarget,
) -> Vec<(&'static str, &'a str)> {
    let mut attrs = vec![("accountId", account.as_str())];
    if target.service.is_none() && target.instance_id.is_none() {
        if let Some(rg) = &target.resource_group_id {
            attrs.push(("resourceType", "resource-group"));
            attrs.push(("resource", rg.as_str()));
        }
        return attrs;
    }
    if let Some(service) = &target.service {
        attrs.push(("serviceName", service.as_str()));
    }
    if let Some(instance) = &target.instance_id {
        attrs.push(("serviceInstance", instance.as_str()));
    }
    if let Some(rg) = &target.resource_group_id {
        attrs.push(("resourceGroupId", rg.as_str()));
    }
    attrs
}

/// A v2 policy body: `subject` the group, `resource` the target, `control.grant.roles`.
pub(crate) fn v2_body(
    account: &AccountId,
    group: &AccessGroupId,
    target: &PolicyTarget,
    roles: &[RoleCrn],
    description: Option<&str>,
) -> Value {
    let attrs: Vec<Value> = resource_attributes(account, target)
        .into_iter()
        .map(|(key, value)| json!({"key": key, "operator": "stringEquals", "value": value}))
        .collect();
    let mut body = json!({
        "type": "access",
        "subject": {"attributes": [
            {"key": "access_group_id", "operator": "stringEquals", "value": group.as_str()}
        ]},
        "resource": {"attributes": attrs},
        "control": {"grant": {"roles": role_refs(roles)}},
    });
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    body
}

/// The same policy in v1's shape (`subjects`, `roles`, `resources`), for a replace of a
/// policy v1 created.
pub(crate) fn v1_body(
    account: &AccountId,
    group: &AccessGroupId,
    target: &PolicyTarget,
    roles: &[RoleCrn],
    description: Option<&str>,
) -> Value {
    let attrs: Vec<Value> = resource_attributes(account, target)
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value, "operator": "stringEquals"}))
        .collect();
    let mut body = json!({
        "type": "access",
        "subjects": [{"attributes": [{"name": "access_group_id", "value": group.as_str()}]}],
        "roles": role_refs(roles),
        "resources": [{"attributes": attrs}],
    });
    if let Some(d) = description {
        body["description"] = json!(d);
    }
    body
}

fn role_refs(roles: &[RoleCrn]) -> Vec<Value> {
    roles
        .iter()
        .map(|r| json!({"role_id": r.as_str()}))
        .collect()
}

#[cfg(test)]
mod tests;
