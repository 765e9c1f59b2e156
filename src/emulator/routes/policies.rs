//! IAM Policy Management, the policies: `/v1/policies` and `/v2/policies` over one store
//! (docs/emulator.md, Access policies). This file turns each version's bodies into a
//! [`PolicyDraft`] and the store's policies back into each version's view:
//!
//! - the v1 view of a v1 policy echoes it as sent (operators only where given) and
//!   enriches its roles with display names and descriptions;
//! - the v1 view of a v2 policy is IBM's placeholder (real id, v2 `href`);
//! - the v2 view of any policy fills `operator` everywhere, carries `role_id` only unless
//!   `format=display`, and a non-null `state`;
//! - `href` names the version that created the policy, in both views.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::paging::{LinkQuery, sort_key};
use super::{Body, Call, Caller, Params, Shr, empty, json, with_etag};
use crate::emulator::catalog;
use crate::emulator::clock;
use crate::emulator::error::ApiError;
use crate::emulator::ids;
use crate::emulator::state::{
    ApiVersion, AttrValue, Attribute, Attributes, Policy, PolicyState, Tag,
};
use crate::emulator::store::{PolicyDraft, PolicyFilter, PolicyRefusal, Store, policy_etag};
use crate::emulator::wire::policies::{
    AttributeIn, Control, Grant, PageLink, PolicyPage, RoleAction, RoleIn, StateRequest,
    V1Attribute, V1Policy, V1PolicyList, V1PolicyRequest, V1Resource, V1Role, V1Subject,
    V1SubjectAttribute, V2Attribute, V2Policy, V2PolicyList, V2PolicyRequest, V2Resource, V2Role,
    V2Subject, V2Tag,
};

pub fn routes() -> Router<Shr> {
    Router::new()
        .route("/v1/policies", get(list_v1).post(create_v1))
        .route(
            "/v1/policies/{policy_id}",
            get(get_v1).put(replace_v1).patch(restore_v1).delete(
                |s: State<Shr>, c: Caller, p: Path<String>| delete(s, c, p, ApiVersion::V1),
            ),
        )
        .route("/v2/policies", get(list_v2).post(create_v2))
        .route(
            "/v2/policies/{policy_id}",
            get(get_v2)
                .put(replace_v2)
                .delete(|s: State<Shr>, c: Caller, p: Path<String>| {
                    delete(s, c, p, ApiVersion::V2)
                }),
        )
}

const PLACEHOLDER: &str = "**This is a unsupported policy version placeholder, to view the full content, please call GET with provided href**";

const CONFLICT: &str = "The policy wasn't created because an access policy with identical attributes already exists. Please update the roles in the existing policy ({id}), or update the one you're trying to assign to include a different attribute assignment.";

fn href(call: &Call, p: &Policy) -> String {
    format!(
        "{}/{}/policies/{}",
        call.base,
        p.version.as_str(),
        p.id.as_deref().unwrap_or("")
    )
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

// ---- views -----------------------------------------------------------------------------

/// The v1 view: the policy itself if v1 created it, IBM's placeholder otherwise.
fn v1_view(call: &Call, store: &Store, p: &Policy) -> V1Policy {
    if p.version == ApiVersion::V2 {
        return placeholder(call, store, p);
    }
    let service = p.resource.get_str("serviceName");
    let roles = p
        .roles
        .iter()
        .map(|crn| {
            let view = store.role_view(crn, service);
            V1Role {
                role_id: crn.clone(),
                display_name: view.as_ref().map(|v| v.display_name.clone()),
                description: view.map(|v| v.description),
            }
        })
        .collect();
    let (key, value) = p.subject().unwrap_or(("iam_id", ""));
    V1Policy {
        id: p.id.clone().unwrap_or_default(),
        kind: p.kind.clone(),
        description: p.description.clone(),
        subjects: vec![V1Subject {
            attributes: vec![V1SubjectAttribute {
                name: key.into(),
                value: value.into(),
            }],
        }],
        roles,
        resources: vec![V1Resource {
            attributes: p.resource.0.iter().map(v1_attribute).collect(),
            tags: p.tags.iter().map(v1_tag).collect(),
        }],
        href: href(call, p),
        created_at: p.created_at.clone(),
        created_by_id: p.created_by_id.clone(),
        last_modified_at: p.last_modified_at.clone(),
        last_modified_by_id: p.last_modified_by_id.clone(),
        state: Some(p.state.as_str()),
    }
}

fn v1_attribute(a: &Attribute) -> V1Attribute {
    V1Attribute {
        name: a.key.clone(),
        value: a.value.clone(),
        operator: a.operator.clone(),
    }
}

fn v1_tag(t: &Tag) -> V1Attribute {
    V1Attribute {
        name: t.key.clone(),
        value: AttrValue::Str(t.value.clone()),
        operator: t.operator.clone(),
    }
}

/// IBM's placeholder for a v2 policy in a v1 answer (docs/ibm-api.md), verbatim but for
/// the real id, account, v2 `href` and times.
fn placeholder(call: &Call, store: &Store, p: &Policy) -> V1Policy {
    V1Policy {
        id: p.id.clone().unwrap_or_default(),
        kind: p.kind.clone(),
        description: Some(PLACEHOLDER.into()),
        subjects: vec![V1Subject {
            attributes: vec![V1SubjectAttribute {
                name: "iam_id".into(),
                value: "unsupported version".into(),
            }],
        }],
        roles: vec![V1Role {
            role_id: catalog::UNSUPPORTED_ROLE.into(),
            display_name: Some("Unsupported Version".into()),
            description: Some(PLACEHOLDER.into()),
        }],
        resources: vec![V1Resource {
            attributes: vec![V1Attribute {
                name: "accountId".into(),
                value: AttrValue::Str(store.account_id().to_string()),
                operator: None,
            }],
            tags: Vec::new(),
        }],
        href: href(call, p),
        // The real policy's times: IBM's Go integration test parses `created_at` of every
        // policy a v1 listing by `iam_id` returns, its v2 policy's placeholder included.
        created_at: p.created_at.clone(),
        created_by_id: p.created_by_id.clone(),
        last_modified_at: p.last_modified_at.clone(),
        last_modified_by_id: p.last_modified_by_id.clone(),
        state: None,
    }
}

/// What a v2 answer adds on request (`format`).
#[derive(Clone, Copy, Default)]
struct V2Format {
    display: bool,
    last_permit: bool,
}

/// The v2 view of any policy: operators filled in, roles enriched only on request.
fn v2_view(call: &Call, store: &Store, p: &Policy, format: V2Format) -> V2Policy {
    let service = p.resource.get_str("serviceName");
    let roles = p
        .roles
        .iter()
        .map(|crn| v2_role(store, crn, service, format.display))
        .collect();
    let (key, value) = p.subject().unwrap_or(("iam_id", ""));
    V2Policy {
        id: p.id.clone().unwrap_or_default(),
        kind: p.kind.clone(),
        description: p.description.clone(),
        subject: V2Subject {
            attributes: vec![V2Attribute {
                key: key.into(),
                operator: "stringEquals".into(),
                value: AttrValue::Str(value.into()),
            }],
        },
        resource: V2Resource {
            attributes: p
                .resource
                .0
                .iter()
                .map(|a| V2Attribute {
                    key: a.key.clone(),
                    operator: a.operator_or_default().into(),
                    value: a.value.clone(),
                })
                .collect(),
            tags: p
                .tags
                .iter()
                .map(|t| V2Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                    operator: t.operator_or_default().into(),
                })
                .collect(),
        },
        pattern: p.pattern.clone(),
        rule: p.rule.clone(),
        href: href(call, p),
        control: Control {
            grant: Grant { roles },
        },
        created_at: p.created_at.clone(),
        created_by_id: p.created_by_id.clone(),
        last_modified_at: p.last_modified_at.clone(),
        last_modified_by_id: p.last_modified_by_id.clone(),
        state: p.state.as_str(),
        last_permit_frequency: format.last_permit.then_some(0),
    }
}

fn v2_role(store: &Store, crn: &str, service: Option<&str>, display: bool) -> V2Role {
    let view = display.then(|| store.role_view(crn, service)).flatten();
    V2Role {
        role_id: crn.to_string(),
        display_name: view.as_ref().map(|v| v.display_name.clone()),
        description: view.as_ref().map(|v| v.description.clone()),
        actions: view.map(|v| {
            v.actions
                .iter()
                .map(|a| {
                    let name = catalog::action_display_name(a);
                    RoleAction {
                        id: a.clone(),
                        description: format!("{name}."),
                        display_name: name,
                    }
                })
                .collect()
        }),
    }
}

/// A policy answer with its ETag.
fn answered<T: serde::Serialize>(code: u16, body: &T, p: &Policy) -> Response {
    with_etag(json(code, body), &policy_etag(p))
}

/// The 409 of a duplicate: IBM's message, and the existing policy with its ETag under
/// `details.conflicts_with`, in the caller's view (the v2 view when a v1 caller meets a
/// v2 policy, whose placeholder would hide what conflicts).
fn refusal(call: &Call, store: &Store, version: ApiVersion, r: PolicyRefusal) -> ApiError {
    match r {
        PolicyRefusal::Error(e) => e,
        PolicyRefusal::Duplicate(existing) => {
            let view = if version == ApiVersion::V1 && existing.version == ApiVersion::V1 {
                serde_json::to_value(v1_view(call, store, &existing))
            } else {
                serde_json::to_value(v2_view(call, store, &existing, V2Format::default()))
            };
            let id = existing.id.clone().unwrap_or_default();
            ApiError::new(409, "policy_conflict_error", CONFLICT.replace("{id}", &id)).with_details(
                json!({"conflicts_with": {"etag": policy_etag(&existing), "policy": view.unwrap_or_default()}}),
            )
        }
    }
}

// ---- requests → drafts -----------------------------------------------------------------

fn required<T>(value: Option<T>, what: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid_body(format!("{what} is required.")))
}

/// An attribute value: a string, or (v2, `stringExists`) a boolean.
fn attr_value(v: serde_json::Value, bool_ok: bool, key: &str) -> Result<AttrValue, ApiError> {
    match v {
        serde_json::Value::String(s) => Ok(AttrValue::Str(s)),
        serde_json::Value::Bool(b) if bool_ok => Ok(AttrValue::Bool(b)),
        _ => Err(ApiError::invalid_body(format!(
            "The value of attribute {key} must be a string."
        ))),
    }
}

/// Attributes as sent; v2 requires `operator` on each.
fn attributes(items: Vec<AttributeIn>, version: ApiVersion) -> Result<Vec<Attribute>, ApiError> {
    let v2 = version == ApiVersion::V2;
    items
        .into_iter()
        .map(|a| {
            let key = required(if v2 { a.key } else { a.name }, "Every attribute's name")?;
            if v2 && a.operator.is_none() {
                return Err(ApiError::invalid_body(format!(
                    "Attribute {key} has no operator; every v2 attribute needs one."
                )));
            }
            let value = attr_value(required(a.value, &format!("The value of {key}"))?, v2, &key)?;
            Ok(Attribute {
                key,
                operator: a.operator,
                value,
            })
        })
        .collect()
}

fn tags(items: Option<Vec<AttributeIn>>, version: ApiVersion) -> Result<Vec<Tag>, ApiError> {
    attributes(items.unwrap_or_default(), version)?
        .into_iter()
        .map(|a| match a.value {
            AttrValue::Str(value) => Ok(Tag {
                key: a.key,
                value,
                operator: a.operator,
            }),
            AttrValue::Bool(_) => Err(ApiError::invalid_body("A tag's value must be a string.")),
        })
        .collect()
}

/// The one subject attribute of an access policy.
fn subject(items: Vec<AttributeIn>, version: ApiVersion) -> Result<(String, String), ApiError> {
    let mut attrs = attributes(items, version)?;
    let one = attrs.pop().filter(|_| attrs.is_empty()).ok_or_else(|| {
        ApiError::invalid_body(
            "An access policy has one subject with one attribute, access_group_id or iam_id.",
        )
    })?;
    if one.operator.as_deref().is_some_and(|o| o != "stringEquals") {
        return Err(ApiError::invalid_body(
            "A subject attribute's operator is stringEquals.",
        ));
    }
    match one.value {
        AttrValue::Str(v) => Ok((one.key, v)),
        AttrValue::Bool(_) => Err(ApiError::invalid_body(
            "The subject's value must be a string.",
        )),
    }
}

fn role_ids(roles: Vec<RoleIn>) -> Result<Vec<String>, ApiError> {
    roles
        .into_iter()
        .map(|r| required(r.role_id, "Every role's role_id"))
        .collect()
}

fn v1_draft(r: V1PolicyRequest) -> Result<PolicyDraft, ApiError> {
    let kind = required(r.kind, "The policy type")?;
    let mut subjects = required(r.subjects, "subjects")?;
    let mut resources = required(r.resources, "resources")?;
    if subjects.len() != 1 || resources.len() != 1 {
        return Err(ApiError::invalid_body(
            "A policy has exactly one subject and one resource.",
        ));
    }
    let (subject_in, resource_in) = match (subjects.pop(), resources.pop()) {
        (Some(s), Some(r)) => (s, r),
        _ => {
            return Err(ApiError::invalid_body(
                "subjects and resources are required.",
            ));
        }
    };
    Ok(PolicyDraft {
        kind,
        description: r.description,
        subject: subject(
            required(subject_in.attributes, "The subject's attributes")?,
            ApiVersion::V1,
        )?,
        roles: role_ids(required(r.roles, "roles")?)?,
        resource: Attributes(attributes(
            required(resource_in.attributes, "The resource's attributes")?,
            ApiVersion::V1,
        )?),
        tags: tags(resource_in.tags, ApiVersion::V1)?,
        rule: None,
        pattern: None,
    })
}

fn v2_draft(r: V2PolicyRequest) -> Result<PolicyDraft, ApiError> {
    let kind = required(r.kind, "The policy type")?;
    let grant = required(required(r.control, "control")?.grant, "control.grant")?;
    let subject_in = required(r.subject, "subject")?;
    let resource_in = required(r.resource, "resource")?;
    Ok(PolicyDraft {
        kind,
        description: r.description,
        subject: subject(
            required(subject_in.attributes, "subject.attributes")?,
            ApiVersion::V2,
        )?,
        roles: role_ids(required(grant.roles, "control.grant.roles")?)?,
        resource: Attributes(attributes(
            required(resource_in.attributes, "resource.attributes")?,
            ApiVersion::V2,
        )?),
        tags: tags(resource_in.tags, ApiVersion::V2)?,
        rule: r.rule,
        pattern: r.pattern,
    })
}

// ---- listing ---------------------------------------------------------------------------

/// The query of both listings (v1 ignores `service_name` and `service_group_id`, v2 the
/// tags; unknown parameters are ignored).
#[derive(Deserialize)]
struct ListPolicies {
    account_id: Option<String>,
    iam_id: Option<String>,
    access_group_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    service_type: Option<String>,
    service_name: Option<String>,
    service_group_id: Option<String>,
    tag_name: Option<String>,
    tag_value: Option<String>,
    sort: Option<String>,
    format: Option<String>,
    state: Option<String>,
    limit: Option<usize>,
    start: Option<String>,
}

const SORTABLE: [&str; 8] = [
    "id",
    "type",
    "href",
    "created_at",
    "created_by_id",
    "last_modified_at",
    "last_modified_by_id",
    "state",
];

fn one_of<'a>(
    name: &str,
    value: Option<&'a str>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(ApiError::invalid_parameter(format!(
            "{name}={v:?} is not supported; use one of {}.",
            allowed.join(", ")
        ))),
        other => Ok(other),
    }
}

impl ListPolicies {
    fn check(&self, store: &Store) -> Result<(), ApiError> {
        match self.account_id.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => store.check_account(a),
            None => Err(ApiError::new(
                400,
                "missing_required_query_parameter",
                "Query parameter account_id is required.",
            )),
        }
    }

    fn filter(&self, version: ApiVersion) -> Result<PolicyFilter<'_>, ApiError> {
        let v2 = version == ApiVersion::V2;
        Ok(PolicyFilter {
            access_group_id: self.access_group_id.as_deref(),
            iam_id: self.iam_id.as_deref(),
            kind: one_of("type", self.kind.as_deref(), &["access", "authorization"])?,
            service_type: one_of(
                "service_type",
                self.service_type.as_deref(),
                &["service", "platform_service"],
            )?,
            service_name: self.service_name.as_deref().filter(|_| v2),
            service_group_id: self.service_group_id.as_deref().filter(|_| v2),
            state: match one_of("state", self.state.as_deref(), &["active", "deleted"])? {
                Some("deleted") => PolicyState::Deleted,
                _ => PolicyState::Active,
            },
        })
    }

    fn format(&self) -> Result<V2Format, ApiError> {
        let f = one_of(
            "format",
            self.format.as_deref(),
            &["include_last_permit", "display"],
        )?;
        Ok(V2Format {
            display: f == Some("display"),
            last_permit: f == Some("include_last_permit"),
        })
    }

    /// Everything but `limit` and `start`, re-encoded for the links (and the cursor's
    /// fingerprint).
    fn link_query(&self) -> String {
        LinkQuery::default()
            .text("account_id", self.account_id.as_deref())
            .text("iam_id", self.iam_id.as_deref())
            .text("access_group_id", self.access_group_id.as_deref())
            .text("type", self.kind.as_deref())
            .text("service_type", self.service_type.as_deref())
            .text("service_name", self.service_name.as_deref())
            .text("service_group_id", self.service_group_id.as_deref())
            .text("tag_name", self.tag_name.as_deref())
            .text("tag_value", self.tag_value.as_deref())
            .text("sort", self.sort.as_deref())
            .text("format", self.format.as_deref())
            .text("state", self.state.as_deref())
            .finish()
    }

    /// The matching policies, filtered and sorted.
    fn select<'a>(
        &self,
        store: &'a Store,
        version: ApiVersion,
    ) -> Result<Vec<&'a Policy>, ApiError> {
        self.check(store)?;
        let sort = sort_key(self.sort.as_deref(), &SORTABLE)?;
        let mut policies = store.list_policies(&self.filter(version)?);
        if version == ApiVersion::V1 && (self.tag_name.is_some() || self.tag_value.is_some()) {
            policies.retain(|p| {
                p.tags.iter().any(|t| {
                    self.tag_name.as_ref().is_none_or(|n| *n == t.key)
                        && self.tag_value.as_ref().is_none_or(|v| *v == t.value)
                })
            });
        }
        if let Some(sort) = sort {
            let field = |p: &Policy| -> String {
                match sort.field {
                    "id" => p.id.clone().unwrap_or_default(),
                    "type" => p.kind.clone(),
                    "href" => format!("{}/{}", p.version.as_str(), p.id.as_deref().unwrap_or("")),
                    "created_at" => p.created_at.clone().unwrap_or_default(),
                    "created_by_id" => p.created_by_id.clone().unwrap_or_default(),
                    "last_modified_at" => p.last_modified_at.clone().unwrap_or_default(),
                    "last_modified_by_id" => p.last_modified_by_id.clone().unwrap_or_default(),
                    _ => p.state.as_str().to_string(),
                }
            };
            policies.sort_by(|a, b| sort.apply(field(a).cmp(&field(b))));
        }
        Ok(policies)
    }
}

/// The opaque `start` cursor: an offset, bound to the query it was issued for.
fn encode_start(offset: usize, query: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("emu-policies:{offset}:{}", fingerprint(query)))
}

fn decode_start(raw: &str, query: &str) -> Result<usize, ApiError> {
    let refused = || {
        ApiError::invalid_parameter(format!(
            "start={raw:?} is not a page token issued for this query; take it from next.start."
        ))
    };
    let text = URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(refused)?;
    let rest = text.strip_prefix("emu-policies:").ok_or_else(refused)?;
    let (offset, fp) = rest.split_once(':').ok_or_else(refused)?;
    if fp != fingerprint(query) {
        return Err(refused());
    }
    offset.parse().map_err(|_| refused())
}

fn fingerprint(query: &str) -> String {
    ids::hex(&ids::digest(&[b"policy-list", query.as_bytes()])[..6])
}

/// One page: without `limit`, everything and no links; with it, `limit` items from
/// `start`, `first` and (unless last) `next {href, start}`.
fn paginate<'a>(
    call: &Call,
    path: &str,
    q: &ListPolicies,
    policies: Vec<&'a Policy>,
) -> Result<(PolicyPage, Vec<&'a Policy>), ApiError> {
    let query = q.link_query();
    let Some(limit) = q.limit else {
        if q.start.is_some() {
            decode_start(q.start.as_deref().unwrap_or(""), &query)?;
        }
        return Ok((PolicyPage::default(), policies));
    };
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_parameter(format!(
            "Query parameter limit={limit} must be an integer from 1 to 100."
        )));
    }
    let offset = match q.start.as_deref() {
        Some(raw) => decode_start(raw, &query)?,
        None => 0,
    };
    let sep = if query.is_empty() { "" } else { "&" };
    let base = format!("{}{path}?{query}{sep}limit={limit}", call.base);
    // A token is the client's to forge: an offset beyond the listing is an empty page.
    let end = offset.saturating_add(limit);
    let next = (end < policies.len()).then(|| {
        let start = encode_start(end, &query);
        PageLink {
            href: format!("{base}&start={start}"),
            start: Some(start),
        }
    });
    let page = PolicyPage {
        limit: Some(limit),
        first: Some(PageLink {
            href: base.clone(),
            start: None,
        }),
        next,
    };
    Ok((
        page,
        policies.into_iter().skip(offset).take(limit).collect(),
    ))
}

async fn list_v1(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Params(q): Params<ListPolicies>,
) -> Result<Response, ApiError> {
    let list = shared.with_store(|store| {
        q.format()?;
        let (page, policies) =
            paginate(&call, "/v1/policies", &q, q.select(store, ApiVersion::V1)?)?;
        let policies = policies
            .into_iter()
            .map(|p| v1_view(&call, store, p))
            .collect();
        Ok(V1PolicyList { page, policies })
    })?;
    Ok(json(200, &list))
}

async fn list_v2(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Params(q): Params<ListPolicies>,
) -> Result<Response, ApiError> {
    let list = shared.with_store(|store| {
        let format = q.format()?;
        let (page, policies) =
            paginate(&call, "/v2/policies", &q, q.select(store, ApiVersion::V2)?)?;
        let policies = policies
            .into_iter()
            .map(|p| v2_view(&call, store, p, format))
            .collect();
        Ok(V2PolicyList { page, policies })
    })?;
    Ok(json(200, &list))
}

// ---- one policy ------------------------------------------------------------------------

async fn create_v1(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Body(request): Body<V1PolicyRequest>,
) -> Result<Response, ApiError> {
    let draft = v1_draft(request)?;
    shared.with_store(|store| {
        match store.create_policy(&actor, ApiVersion::V1, draft, clock::now_ms()) {
            Ok(p) => Ok(answered(201, &v1_view(&call, store, &p), &p)),
            Err(r) => Err(refusal(&call, store, ApiVersion::V1, r)),
        }
    })
}

async fn create_v2(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Body(request): Body<V2PolicyRequest>,
) -> Result<Response, ApiError> {
    let draft = v2_draft(request)?;
    shared.with_store(|store| {
        match store.create_policy(&actor, ApiVersion::V2, draft, clock::now_ms()) {
            Ok(p) => Ok(answered(
                201,
                &v2_view(&call, store, &p, V2Format::default()),
                &p,
            )),
            Err(r) => Err(refusal(&call, store, ApiVersion::V2, r)),
        }
    })
}

/// `GET /v1/policies/{id}`: a v2 policy answers with its placeholder, as v1 lists do.
async fn get_v1(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    shared.with_store(|store| {
        let p = store.policy(&id)?;
        Ok(answered(200, &v1_view(&call, store, p), p))
    })
}

#[derive(Deserialize)]
struct GetQuery {
    format: Option<String>,
}

async fn get_v2(
    State(shared): State<Shr>,
    _: Caller,
    call: Call,
    Path(id): Path<String>,
    Params(q): Params<GetQuery>,
) -> Result<Response, ApiError> {
    let f = one_of(
        "format",
        q.format.as_deref(),
        &["include_last_permit", "display"],
    )?;
    let format = V2Format {
        display: f == Some("display"),
        last_permit: f == Some("include_last_permit"),
    };
    shared.with_store(|store| {
        let p = store.policy(&id)?;
        Ok(answered(200, &v2_view(&call, store, p, format), p))
    })
}

async fn replace_v1(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(request): Body<V1PolicyRequest>,
) -> Result<Response, ApiError> {
    let draft = v1_draft(request)?;
    shared.with_store(|store| {
        match store.replace_policy(
            &actor,
            ApiVersion::V1,
            &id,
            if_match(&headers),
            draft,
            clock::now_ms(),
        ) {
            Ok(p) => Ok(answered(200, &v1_view(&call, store, &p), &p)),
            Err(r) => Err(refusal(&call, store, ApiVersion::V1, r)),
        }
    })
}

async fn replace_v2(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(request): Body<V2PolicyRequest>,
) -> Result<Response, ApiError> {
    let draft = v2_draft(request)?;
    shared.with_store(|store| {
        match store.replace_policy(
            &actor,
            ApiVersion::V2,
            &id,
            if_match(&headers),
            draft,
            clock::now_ms(),
        ) {
            Ok(p) => Ok(answered(
                200,
                &v2_view(&call, store, &p, V2Format::default()),
                &p,
            )),
            Err(r) => Err(refusal(&call, store, ApiVersion::V2, r)),
        }
    })
}

async fn restore_v1(
    State(shared): State<Shr>,
    Caller(actor): Caller,
    call: Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(request): Body<StateRequest>,
) -> Result<Response, ApiError> {
    let state = required(request.state, "state")?;
    shared.with_store(|store| {
        match store.restore_policy(&actor, &id, if_match(&headers), &state, clock::now_ms()) {
            Ok(p) => Ok(answered(200, &v1_view(&call, store, &p), &p)),
            Err(r) => Err(refusal(&call, store, ApiVersion::V1, r)),
        }
    })
}

async fn delete(
    State(shared): State<Shr>,
    _: Caller,
    Path(id): Path<String>,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    shared.with_store(|store| store.delete_policy(version, &id))?;
    Ok(empty(204))
}
