//! The client's reads and writes of what groups grant — Policy Management, roles,
//! Resource Controller, Resource Manager, dynamic rules, dynamic members, a user's groups
//! — against a scripted server that answers in IBM's wire format as docs/ibm-api.md
//! records it (written independently of the emulator), and the scrubbing of every string
//! that comes from a response.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use orgsync::iam::{self, Client, ClientOptions, Endpoints, RetryPolicy};
use orgsync::model::{
    AccessGroupId, AccountId, DesiredRole, DesiredRule, GroupName, IamId, InstanceGuid,
    InstanceRef, LiveQuery, Membership, PolicyId, PolicyShape, PolicyTarget, PolicyVersion,
    RoleCrn, RoleId, RoleKind, RoleName, RuleCondition, RuleId, RuleOperator, ServiceName,
};
use secrecy::SecretString;
use serde_json::{Value, json};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const KEY: &str = "access-stub-secret-api-key-42";

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    if_match: Option<String>,
    body: String,
}

impl Seen {
    fn param(&self, name: &str) -> Option<String> {
        url_params(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn url_params(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
    }
}

impl Reply {
    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;
/// What the stub's handler shares: the script and the requests seen.
type Shared = (Arc<Script>, Arc<Mutex<Vec<Seen>>>);

struct Stub {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Stub {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let state: Shared = (Arc::new(script), seen.clone());
        let app = axum::Router::new().fallback(handle).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub {
            base: format!("http://{addr}"),
            seen,
        }
    }

    fn client(&self) -> Client {
        Client::with_policy(
            ClientOptions {
                endpoints: Endpoints::resolve(Some(&self.base), "", "").unwrap(),
                api_key: SecretString::from(KEY.to_string()),
                parallelism: 4,
                timeout: Duration::from_secs(5),
                deadline: Duration::from_secs(20),
                progress: false,
            },
            RetryPolicy {
                max_attempts: 3,
                base: Duration::from_millis(5),
                cap: Duration::from_millis(20),
                retry_after_cap: Duration::from_secs(1),
            },
        )
        .unwrap()
    }

    /// The requests but the token call, as `METHOD path`.
    fn calls(&self) -> Vec<String> {
        self.seen()
            .iter()
            .filter(|s| s.path != "/identity/token")
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn find(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }
}

async fn handle(
    AxState((script, seen)): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        if_match: headers
            .get("if-match")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    seen.lock().unwrap().push(request.clone());
    let answer = if request.path == "/identity/token" {
        token()
    } else {
        script(&request)
    };
    let mut response = (StatusCode::from_u16(answer.status).unwrap(), answer.body).into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

fn token() -> Reply {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload =
        json!({"iam_id": "IBMid-CALLER", "account": {"bss": ACCOUNT}, "iat": 1_000, "exp": 4_600});
    let jwt = format!(
        "{}.{}.c2ln",
        enc.encode(br#"{"alg":"HS256"}"#),
        enc.encode(payload.to_string())
    );
    reply(
        200,
        json!({"access_token": jwt, "refresh_token": "not_supported", "token_type": "Bearer", "expires_in": 3600, "expiration": 4600}),
    )
}

fn account() -> AccountId {
    AccountId::new(ACCOUNT)
}

fn not_found() -> Reply {
    reply(
        404,
        json!({"trace": "t-404", "errors": [{"code": "not_found", "message": "no route"}], "status_code": 404}),
    )
}

// ---------------------------------------------------------------------------
// An account in IBM's wire format: two groups with access, one without.

fn group(i: usize) -> Value {
    json!({"id": format!("AccessGroupId-g{i}"), "name": format!("g{i}"), "description": ""})
}

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "operator": "stringEquals", "value": value})
}

fn v2_policy(id: &str, group: &str, instance: &str, version: &str, roles: &[&str]) -> Value {
    json!({
        "id": id, "type": "access",
        "href": format!("https://iam.cloud.ibm.com/{version}/policies/{id}"),
        "subject": {"attributes": [attr("access_group_id", group)]},
        "resource": {"attributes": [
            attr("accountId", ACCOUNT), attr("serviceName", "quantum-computing"), attr("serviceInstance", instance)
        ]},
        "control": {"grant": {"roles": roles.iter().map(|r| json!({"role_id": r})).collect::<Vec<_>>()}},
        "state": "active",
        "created_at": "2026-01-01T00:00:00.000Z"
    })
}

fn instance(guid: &str, name: &str) -> Value {
    let crn = format!("crn:v1:bluemix:public:quantum-computing:us-east:a/{ACCOUNT}:{guid}::");
    json!({"id": crn, "crn": crn, "guid": guid, "name": name, "state": "active", "resource_group_id": "rg-default", "type": "service_instance"})
}

/// The reads of a plan with access and rules; `pages` splits the account-wide policy
/// listing in two with a `next.start` cursor.
fn account_script(seen: &Seen) -> Reply {
    let p = |n: &str| seen.param(n);
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/v2/accounts/0123456789abcdef0123456789abcdef/users") => reply(
            200,
            json!({"total_results": 1, "limit": 100, "resources": [{"iam_id": "IBMid-1", "email": "a@x.org", "state": "ACTIVE"}]}),
        ),
        ("GET", "/v2/groups") if p("iam_id").is_some() => {
            let user = p("iam_id").unwrap();
            let groups: Vec<Value> = match user.as_str() {
                "IBMid-1" => vec![
                    group(1),
                    group(3),
                    json!({"id": "AccessGroupId-PublicAccess", "name": "Public Access"}),
                ],
                _ => vec![],
            };
            reply(
                200,
                json!({"limit": 100, "offset": 0, "total_count": groups.len(), "groups": groups}),
            )
        }
        ("GET", "/v2/groups") => reply(
            200,
            json!({"limit": 100, "offset": 0, "total_count": 3, "groups": [group(1), group(2), group(3)]}),
        ),
        ("GET", path) if path.ends_with("/members") => {
            assert_eq!(
                p("membership_type").as_deref(),
                Some("all"),
                "dynamic members are asked for"
            );
            reply(
                200,
                json!({"limit": 100, "offset": 0, "total_count": 3, "members": [
                    {"iam_id": "IBMid-1", "type": "user", "membership_type": "static"},
                    {"iam_id": "IBMid-app", "type": "user", "membership_type": "dynamic"},
                    {"iam_id": "IBMid-1", "type": "user", "membership_type": "dynamic"}
                ]}),
            )
        }
        ("GET", "/v2/policies") => {
            assert_eq!(p("account_id").as_deref(), Some(ACCOUNT));
            assert_eq!(p("type").as_deref(), Some("access"));
            let all = [
                v2_policy(
                    "p1",
                    "AccessGroupId-g1",
                    "guid-ml",
                    "v2",
                    &["crn:v1:bluemix:public:iam::::role:Viewer"],
                ),
                v2_policy(
                    "p2",
                    "AccessGroupId-g2",
                    "guid-common",
                    "v1",
                    &["crn:v1:bluemix:public:iam::::serviceRole:Reader"],
                ),
                v2_policy(
                    "p3",
                    "AccessGroupId-g3",
                    "guid-common",
                    "v2",
                    &["crn:v1:bluemix:public:iam::::role:Viewer"],
                ),
                json!({"id": "p4", "type": "access", "subject": {"attributes": [attr("iam_id", "IBMid-1")]}, "resource": {"attributes": [attr("accountId", ACCOUNT)]}, "control": {"grant": {"roles": []}}, "state": "active"}),
            ];
            let mut mine: Vec<Value> = all
                .into_iter()
                .filter(|pol| match p("access_group_id") {
                    Some(g) => pol["subject"]["attributes"][0]["value"] == g.as_str(),
                    None => true,
                })
                .collect();
            // The account-wide listing comes in two pages.
            if p("access_group_id").is_none() {
                if p("start").as_deref() == Some("page-2") {
                    mine = mine.split_off(2);
                    return reply(200, json!({"policies": mine}));
                }
                mine.truncate(2);
                return reply(
                    200,
                    json!({"limit": 2, "first": {"href": "/v2/policies"}, "next": {"href": "/v2/policies?start=page-2", "start": "page-2"}, "policies": mine}),
                );
            }
            reply(200, json!({"policies": mine}))
        }
        ("GET", "/v2/roles") => {
            assert_eq!(p("account_id").as_deref(), Some(ACCOUNT));
            assert_eq!(p("service_name").as_deref(), Some("quantum-computing"));
            reply(
                200,
                json!({
                    "system_roles": [{"display_name": "Viewer", "description": "view", "actions": ["quantum-computing.instance.read"], "crn": "crn:v1:bluemix:public:iam::::role:Viewer"}],
                    "service_roles": [{"display_name": "Reader", "actions": [], "crn": "crn:v1:bluemix:public:iam::::serviceRole:Reader"}],
                    "custom_roles": [{"id": "role-hex", "name": "JobManager", "display_name": "Job manager", "description": "jobs", "actions": ["quantum-computing.job.delete"], "crn": format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT}::customRole:JobManager"), "account_id": ACCOUNT, "service_name": "quantum-computing"}]
                }),
            )
        }
        ("GET", "/v2/resource_instances") => {
            assert_eq!(p("limit").as_deref(), Some("100"));
            match (
                p("name").as_deref(),
                p("guid").as_deref(),
                p("start").as_deref(),
            ) {
                // Two instances share a name: both are kept, over two pages.
                (Some("QR-common"), _, None) => reply(
                    200,
                    json!({"rows_count": 1, "next_url": "/v2/resource_instances?start=abc&limit=100", "resources": [instance("guid-common", "QR-common")]}),
                ),
                (Some("QR-common"), _, Some("abc")) => reply(
                    200,
                    json!({"rows_count": 1, "next_url": null, "resources": [instance("guid-common-2", "QR-common")]}),
                ),
                (_, Some("guid-ml"), _) => reply(
                    200,
                    json!({"rows_count": 1, "next_url": null, "resources": [instance("guid-ml", "QR-ml")]}),
                ),
                _ => reply(
                    200,
                    json!({"rows_count": 0, "next_url": null, "resources": []}),
                ),
            }
        }
        ("GET", "/v2/resource_groups") => {
            assert_eq!(p("account_id").as_deref(), Some(ACCOUNT));
            reply(
                200,
                json!({"resources": [
                    {"id": "rg-default", "name": "Default", "state": "ACTIVE", "default": true, "account_id": ACCOUNT},
                    {"id": "rg-other", "name": "other", "state": "ACTIVE", "default": false}
                ]}),
            )
        }
        ("GET", "/v2/groups/AccessGroupId-g1/rules") => reply(
            200,
            json!({"rules": [{"id": "rule-1", "name": "ml-project", "expiration": 24, "realm_name": "https://idp.example", "access_group_id": "AccessGroupId-g1", "account_id": ACCOUNT, "conditions": [{"claim": "project", "operator": "CONTAINS", "value": "\"ml\""}]}]}),
        ),
        _ => not_found(),
    }
}

fn query(access: &[&str], rules: &[&str]) -> LiveQuery {
    LiveQuery {
        managed: ["g1", "g2", "g3"]
            .iter()
            .map(|g| GroupName::new(*g))
            .collect(),
        policies_of: access.iter().map(|g| GroupName::new(*g)).collect(),
        rules_of: rules.iter().map(|g| GroupName::new(*g)).collect(),
        role_services: [ServiceName::new("quantum-computing")].into(),
        instances: [
            InstanceRef::Name("QR-common".into()),
            InstanceRef::Crn(format!(
                "crn:v1:bluemix:public:quantum-computing:us-east:a/{ACCOUNT}:guid-ml::"
            )),
        ]
        .into(),
        resource_groups: ["default".to_string()].into(),
        everything_policies_name: false,
    }
}

#[tokio::test]
async fn acquisition_reads_what_the_file_names_with_the_account_wide_policy_listing_paged() {
    let stub = Stub::start(account_script).await;
    let live = iam::acquire(&stub.client(), &account(), &query(&["g1", "G2"], &["g1"]))
        .await
        .expect("acquired");
    // Two groups with access: one account-wide listing (two pages), never per group.
    let policy_calls = stub.find("GET", "/v2/policies");
    assert_eq!(policy_calls.len(), 2);
    assert!(
        policy_calls
            .iter()
            .all(|s| s.param("access_group_id").is_none())
    );
    assert_eq!(policy_calls[1].param("start").as_deref(), Some("page-2"));
    let by_name = |n: &str| live.groups.iter().find(|g| g.name.as_str() == n).unwrap();
    let g1 = by_name("g1").policies.as_ref().expect("read");
    assert_eq!(g1.len(), 1);
    assert_eq!(g1[0].version, PolicyVersion::V2);
    assert_eq!(
        g1[0].shape,
        PolicyShape::Expressible(PolicyTarget {
            service: Some(ServiceName::new("quantum-computing")),
            instance_id: Some(InstanceGuid::new("guid-ml")),
            resource_group_id: None,
        })
    );
    let g2 = by_name("g2").policies.as_ref().expect("read");
    assert_eq!((g2.len(), g2[0].version), (1, PolicyVersion::V1));
    // g3 has policies in the account, but no `access`: not read, not reported.
    assert_eq!(by_name("g3").policies, None);
    // Rules: values decoded from stringified JSON.
    let rules = by_name("g1").rules.as_ref().expect("read");
    assert_eq!(rules[0].conditions[0].value, "ml");
    assert_eq!(by_name("g2").rules, None);
    // Dynamic members are read in the one listing; one listed both ways stays static.
    let members = by_name("g1").members.as_ref().expect("read");
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .any(|m| m.iam_id.as_str() == "IBMid-1" && m.membership == Membership::Static)
    );
    assert!(
        members
            .iter()
            .any(|m| m.iam_id.as_str() == "IBMid-app" && m.membership == Membership::Dynamic)
    );
    // Roles by kind and name.
    let role = |n: &str| live.roles.iter().find(|r| r.name.as_str() == n).unwrap();
    assert_eq!(role("Viewer").kind, RoleKind::Platform);
    assert_eq!(role("Reader").kind, RoleKind::Service);
    assert_eq!(
        role("JobManager").kind,
        RoleKind::Custom {
            id: RoleId::new("role-hex")
        }
    );
    // Every instance a name matches is kept; the CRN reference is read by its GUID.
    let guids: BTreeSet<&str> = live.instances.iter().map(|i| i.guid.as_str()).collect();
    assert_eq!(guids, ["guid-common", "guid-common-2", "guid-ml"].into());
    assert!(
        live.instances
            .iter()
            .all(|i| i.service.as_str() == "quantum-computing")
    );
    let rc = stub.find("GET", "/v2/resource_instances");
    assert!(
        rc.iter()
            .any(|s| s.param("guid").as_deref() == Some("guid-ml"))
    );
    // Resource groups: one listing, kept to the names the file uses (ignoring case).
    assert_eq!(live.resource_groups.len(), 1);
    assert_eq!(live.resource_groups[0].id.as_str(), "rg-default");
    assert_eq!(stub.find("GET", "/v2/resource_groups").len(), 1);
    // The minimum: users 1 + groups 1 + members 3 + policies 2 pages + roles 1 +
    // instances 3 (QR-common over two pages, guid-ml) + resource groups 1 + rules 1.
    assert_eq!(stub.calls().len(), 13, "{:?}", stub.calls());
    assert!(live.user_groups.is_empty());
}

#[tokio::test]
async fn one_group_with_access_is_read_per_group() {
    let stub = Stub::start(account_script).await;
    let live = iam::acquire(&stub.client(), &account(), &query(&["g2"], &[]))
        .await
        .expect("acquired");
    let calls = stub.find("GET", "/v2/policies");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].param("access_group_id").as_deref(),
        Some("AccessGroupId-g2")
    );
    let g2 = live
        .groups
        .iter()
        .find(|g| g.name.as_str() == "g2")
        .unwrap();
    assert_eq!(g2.policies.as_ref().map(Vec::len), Some(1));
    assert_eq!(iam::policy_listing(1), iam::PolicyListing::PerGroup);
    assert_eq!(iam::policy_listing(2), iam::PolicyListing::AccountWide);
    assert_eq!(iam::policy_listing(0), iam::PolicyListing::None);
}

#[tokio::test]
async fn a_file_without_access_or_rules_reads_nothing_new() {
    let stub = Stub::start(account_script).await;
    iam::acquire(
        &stub.client(),
        &account(),
        &iam::members_only(&[GroupName::new("g1")]),
    )
    .await
    .expect("acquired");
    let mut calls = stub.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GET /v2/accounts/0123456789abcdef0123456789abcdef/users",
            "GET /v2/groups",
            "GET /v2/groups/AccessGroupId-g1/members",
        ]
    );
}

#[tokio::test]
async fn the_groups_of_users_are_read_one_listing_each_without_public_access() {
    let stub = Stub::start(account_script).await;
    let users = [
        IamId::new("IBMid-1"),
        IamId::new("IBMid-2"),
        IamId::new("IBMid-1"),
    ];
    let groups = stub
        .client()
        .groups_of_users(&account(), &users)
        .await
        .expect("read");
    assert_eq!(groups.len(), 2);
    let names: Vec<&str> = groups[&IamId::new("IBMid-1")]
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(names, ["g1", "g3"]);
    assert!(groups[&IamId::new("IBMid-2")].is_empty());
    let calls = stub.find("GET", "/v2/groups");
    assert_eq!(calls.len(), 2, "each user once");
    assert!(
        calls
            .iter()
            .all(|s| s.param("hide_public_access").as_deref() == Some("true"))
    );
}

// ---------------------------------------------------------------------------
// Writes

fn instance_target() -> PolicyTarget {
    PolicyTarget {
        service: Some(ServiceName::new("quantum-computing")),
        instance_id: Some(InstanceGuid::new("guid-ml")),
        resource_group_id: None,
    }
}

#[tokio::test]
async fn a_policy_is_created_through_v2_and_a_conflict_is_not_retried() {
    let stub = Stub::start(|seen| match seen.method.as_str() {
        "POST" if seen.json()["resource"]["attributes"][2]["value"] == "taken" => reply(
            409,
            json!({"errors": [{"code": "policy_conflict_error", "details": {"conflicts_with": {"etag": "1-93709fda16a1fa934e8ac72dab1594fa", "policy": {"id": "p-old"}}}, "message": "The policy wasn't created because an access policy with identical attributes already exists."}], "status_code": 409, "trace": "t-409"}),
        ),
        "POST" => reply(201, {
            let mut v = seen.json();
            v["id"] = json!("p-new");
            v["href"] = json!("https://iam.cloud.ibm.com/v2/policies/p-new");
            v["state"] = json!("active");
            v
        }),
        _ => not_found(),
    })
    .await;
    let client = stub.client();
    let roles = [RoleCrn::new("crn:v1:bluemix:public:iam::::role:Viewer")];
    let group = AccessGroupId::new("AccessGroupId-g1");
    let created = client
        .create_policy(&account(), &group, &instance_target(), &roles)
        .await
        .expect("created");
    assert_eq!(
        (created.id.as_str(), created.version),
        ("p-new", PolicyVersion::V2)
    );
    let sent = stub.find("POST", "/v2/policies")[0].json();
    assert_eq!(
        sent,
        json!({"type": "access", "subject": {"attributes": [attr("access_group_id", "AccessGroupId-g1")]}, "resource": {"attributes": [attr("accountId", ACCOUNT), attr("serviceName", "quantum-computing"), attr("serviceInstance", "guid-ml")]}, "control": {"grant": {"roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer"}]}}})
    );
    let taken = PolicyTarget {
        instance_id: Some(InstanceGuid::new("taken")),
        ..instance_target()
    };
    let err = client
        .create_policy(&account(), &group, &taken, &roles)
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert_eq!(err.info().code.as_deref(), Some("policy_conflict_error"));
    assert_eq!(
        stub.find("POST", "/v2/policies").len(),
        2,
        "a 409 is never retried"
    );
}

/// A policy store of one v1 policy, with ETags, for replace and delete.
fn v1_store(seen: &Seen, state: &Mutex<(u32, Vec<String>)>) -> Reply {
    let mut s = state.lock().unwrap();
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/v1/policies/p-v1") => {
            let roles: Vec<Value> =
                s.1.iter()
                    .map(|r| json!({"role_id": r, "display_name": "x"}))
                    .collect();
            reply(
                200,
                json!({"id": "p-v1", "type": "access", "description": "made in the console", "subjects": [{"attributes": [{"name": "access_group_id", "value": "AccessGroupId-g1"}]}], "roles": roles, "resources": [{"attributes": [{"name": "accountId", "value": ACCOUNT}]}], "href": "https://iam.cloud.ibm.com/v1/policies/p-v1"}),
            )
            .header("etag", &format!("{}-93709fda16a1fa934e8ac72dab1594fa", s.0))
        }
        ("PUT", "/v1/policies/p-v1") => {
            let wanted = format!("{}-93709fda16a1fa934e8ac72dab1594fa", s.0);
            if seen.if_match.as_deref() != Some(wanted.as_str()) {
                return reply(
                    412,
                    json!({"errors": [{"code": "precondition_failed", "message": "stale"}], "status_code": 412}),
                );
            }
            s.0 += 1;
            s.1 = seen.json()["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["role_id"].as_str().unwrap().to_string())
                .collect();
            reply(200, seen.json()).header("etag", &format!("{}-x", s.0))
        }
        ("DELETE", "/v1/policies/p-v1") if !s.1.is_empty() => {
            s.1.clear();
            reply(204, Value::Null)
        }
        ("DELETE", _) => reply(
            404,
            json!({"trace": "5fd76d48f32d4230aa925c769106151b", "errors": [{"code": "policy_not_found", "message": "Policy with Id p-v1 not found."}], "status_code": 404}),
        ),
        _ => not_found(),
    }
}

#[tokio::test]
async fn a_v1_policy_is_replaced_through_v1_with_if_match_and_its_description_kept() {
    let state = Arc::new(Mutex::new((1, vec!["crn-Viewer".to_string()])));
    let shared = state.clone();
    let stub = Stub::start(move |seen| v1_store(seen, &shared)).await;
    let client = stub.client();
    let group = AccessGroupId::new("AccessGroupId-g1");
    let id = PolicyId::new("p-v1");
    let roles = [RoleCrn::new("crn-Viewer"), RoleCrn::new("crn-Reader")];
    let tx = client
        .replace_policy(
            &account(),
            &group,
            &id,
            PolicyVersion::V1,
            &instance_target(),
            &roles,
        )
        .await
        .expect("replaced");
    assert!(tx.is_some());
    let put = &stub.find("PUT", "/v1/policies/p-v1")[0];
    assert_eq!(
        put.if_match.as_deref(),
        Some("1-93709fda16a1fa934e8ac72dab1594fa")
    );
    let body = put.json();
    assert_eq!(
        body["subjects"][0]["attributes"][0]["name"],
        "access_group_id"
    );
    assert_eq!(
        body["resources"][0]["attributes"][2],
        json!({"name": "serviceInstance", "value": "guid-ml", "operator": "stringEquals"})
    );
    assert_eq!(body["description"], "made in the console");
    assert!(body.get("control").is_none(), "v1's shape, not v2's");
    // Already so: nothing is sent.
    let again = client
        .replace_policy(
            &account(),
            &group,
            &id,
            PolicyVersion::V1,
            &instance_target(),
            &roles,
        )
        .await
        .expect("holds");
    assert_eq!(again, None);
    assert_eq!(stub.find("PUT", "/v1/policies/p-v1").len(), 1);
    // Delete through v1; a second delete's 404 means gone already.
    let first = client
        .delete_policy(&id, PolicyVersion::V1)
        .await
        .expect("deleted");
    assert!(!first.already_gone);
    let second = client
        .delete_policy(&id, PolicyVersion::V1)
        .await
        .expect("gone");
    assert!(second.already_gone);
    assert!(stub.find("DELETE", "/v2/policies/p-v1").is_empty());
}

#[tokio::test]
async fn a_412_whose_re_read_shows_the_intended_roles_is_success_and_otherwise_the_412() {
    // Someone else's edit between our GET and PUT: the ETag moved.
    let state = Arc::new(Mutex::new((1, vec!["crn-Viewer".to_string()])));
    let shared = state.clone();
    let stub = Stub::start(move |seen| {
        if seen.method == "PUT" {
            let mut s = shared.lock().unwrap();
            s.0 += 1;
            if seen.json()["roles"][0]["role_id"] == "crn-Writer" {
                // ... and their edit is what we wanted.
                s.1 = vec!["crn-Writer".into()];
            }
            return reply(412, json!({"errors": [{"code": "precondition_failed", "message": "stale"}], "status_code": 412}));
        }
        v1_store(seen, &shared)
    })
    .await;
    let client = stub.client();
    let group = AccessGroupId::new("AccessGroupId-g1");
    let id = PolicyId::new("p-v1");
    let holds = client
        .replace_policy(
            &account(),
            &group,
            &id,
            PolicyVersion::V1,
            &instance_target(),
            &[RoleCrn::new("crn-Writer")],
        )
        .await;
    assert!(holds.is_ok(), "{holds:?}");
    let err = client
        .replace_policy(
            &account(),
            &group,
            &id,
            PolicyVersion::V1,
            &instance_target(),
            &[RoleCrn::new("crn-Manager")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(412));
}

fn job_manager() -> DesiredRole {
    DesiredRole {
        name: RoleName::new("JobManager"),
        service: ServiceName::new("quantum-computing"),
        display_name: "Job manager".into(),
        description: Some("Run and delete jobs".into()),
        actions: [
            "quantum-computing.job.delete".to_string(),
            "quantum-computing.job.read".to_string(),
        ]
        .into(),
    }
}

#[tokio::test]
async fn custom_roles_are_created_and_replaced_with_if_match() {
    let stub = Stub::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v2/roles") => reply(201, {
            let mut v = seen.json();
            v["id"] = json!("role-hex");
            v["crn"] = json!(format!("crn:v1:ibmcloud:public:iam-access-management::a/{ACCOUNT}::customRole:JobManager"));
            v
        }),
        ("GET", "/v2/roles/role-hex") => reply(
            200,
            json!({"id": "role-hex", "name": "JobManager", "display_name": "Old", "description": "kept", "actions": ["quantum-computing.job.read"], "account_id": ACCOUNT, "service_name": "quantum-computing"}),
        )
        .header("etag", "9-da505242e269012859dfe3c897ec83dd"),
        ("PUT", "/v2/roles/role-hex") => reply(200, seen.json()),
        _ => not_found(),
    })
    .await;
    let client = stub.client();
    let created = client
        .create_role(&account(), &job_manager())
        .await
        .expect("created");
    assert_eq!(created.id.as_str(), "role-hex");
    let body = stub.find("POST", "/v2/roles")[0].json();
    assert_eq!(
        body,
        json!({"name": "JobManager", "display_name": "Job manager", "description": "Run and delete jobs", "actions": ["quantum-computing.job.delete", "quantum-computing.job.read"], "account_id": ACCOUNT, "service_name": "quantum-computing"})
    );
    let silent = DesiredRole {
        description: None,
        ..job_manager()
    };
    client
        .update_role(&RoleId::new("role-hex"), &silent)
        .await
        .expect("updated");
    let put = &stub.find("PUT", "/v2/roles/role-hex")[0];
    assert_eq!(
        put.if_match.as_deref(),
        Some("9-da505242e269012859dfe3c897ec83dd")
    );
    // A file silent on the description keeps the live one; name and service never change.
    assert_eq!(
        put.json(),
        json!({"display_name": "Job manager", "description": "kept", "actions": ["quantum-computing.job.delete", "quantum-computing.job.read"]})
    );
}

fn ml_rule() -> DesiredRule {
    DesiredRule {
        name: "ml-project".into(),
        realm: "https://us-south.appid.cloud.ibm.com/oauth/v4/tenant".into(),
        expiration_hours: 12,
        conditions: vec![RuleCondition {
            claim: "project".into(),
            operator: RuleOperator::Contains,
            value: "ml".into(),
        }],
    }
}

#[tokio::test]
async fn rules_are_written_with_values_as_stringified_json_and_replaced_whole() {
    let stub = Stub::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v2/groups/AccessGroupId-g1/rules") => reply(201, {
            let mut v = seen.json();
            v["id"] = json!("rule-9");
            v
        }),
        ("GET", "/v2/groups/AccessGroupId-g1/rules/rule-9") => reply(
            200,
            json!({"id": "rule-9", "name": "ml-project", "expiration": 24, "realm_name": "https://us-south.appid.cloud.ibm.com/oauth/v4/tenant", "conditions": [{"claim": "project", "operator": "CONTAINS", "value": "\"ml\""}]}),
        )
        .header("etag", "3-abc"),
        ("PUT", "/v2/groups/AccessGroupId-g1/rules/rule-9") => reply(200, seen.json()),
        ("DELETE", "/v2/groups/AccessGroupId-g1/rules/rule-9") => reply(204, Value::Null),
        ("DELETE", _) => not_found(),
        _ => not_found(),
    })
    .await;
    let client = stub.client();
    let group = AccessGroupId::new("AccessGroupId-g1");
    let created = client
        .create_rule(&group, &ml_rule())
        .await
        .expect("created");
    assert_eq!(created.id.as_str(), "rule-9");
    let body = stub.find("POST", "/v2/groups/AccessGroupId-g1/rules")[0].json();
    assert_eq!(body["conditions"][0]["value"], "\"ml\"");
    assert_eq!(body["realm_name"], ml_rule().realm.as_str());
    assert_eq!(body["expiration"], 12);
    let id = RuleId::new("rule-9");
    client
        .update_rule(&group, &id, &ml_rule())
        .await
        .expect("replaced");
    let put = &stub.find("PUT", "/v2/groups/AccessGroupId-g1/rules/rule-9")[0];
    assert_eq!(put.if_match.as_deref(), Some("3-abc"));
    assert_eq!(
        put.json()["name"],
        "ml-project",
        "the name is sent, or IBM clears it"
    );
    assert!(
        !client
            .delete_rule(&group, &id)
            .await
            .expect("deleted")
            .already_gone
    );
    assert!(
        client
            .delete_rule(&group, &RuleId::new("gone"))
            .await
            .expect("gone")
            .already_gone
    );
}

// ---------------------------------------------------------------------------
// Secrets in responses

#[tokio::test]
async fn an_api_key_echoed_in_a_transaction_id_header_or_a_body_never_reaches_output() {
    let stub = Stub::start(|seen| match seen.path.as_str() {
        "/v2/roles" => reply(200, json!({"system_roles": [], "service_roles": [], "custom_roles": []}))
            .header("transaction-id", &format!("tx-{KEY}")),
        "/v2/groups/AccessGroupId-g1/rules" => reply(
            500,
            json!({"errors": [{"code": format!("c-{KEY}"), "message": format!("echo {KEY}")}], "trace": format!("tr-{KEY}")}),
        )
        .header("transaction-id", &format!("hdr-{KEY}")),
        "/v2/groups" => reply(
            201,
            json!({"id": "AccessGroupId-x", "name": "x", "description": format!("desc {KEY}")}),
        )
        .header("transaction-id", &format!("created-{KEY}")),
        _ => not_found(),
    })
    .await;
    let client = stub.client();
    let err = client
        .list_rules(&AccessGroupId::new("AccessGroupId-g1"))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?} {:?}", err.info());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
    let created = client
        .create_group(&account(), &GroupName::new("x"), "")
        .await
        .expect("created");
    let shown = format!("{created:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert_eq!(
        created.transaction_id.as_deref(),
        Some("created-[redacted]")
    );
    assert_eq!(created.description, "desc [redacted]");
}

#[test]
fn resource_controller_has_its_own_host_unless_one_endpoint_names_every_api() {
    let separate = Endpoints::resolve(
        None,
        "https://iam.cloud.ibm.com",
        "https://user-management.cloud.ibm.com",
    )
    .unwrap();
    assert_eq!(
        separate.resource_controller().as_str(),
        "https://resource-controller.cloud.ibm.com/"
    );
    let custom = separate
        .clone()
        .with_resource_controller("https://private.resource-controller.cloud.ibm.com/")
        .unwrap();
    assert_eq!(
        custom.resource_controller().host_str(),
        Some("private.resource-controller.cloud.ibm.com")
    );
    let err = separate
        .with_resource_controller("http://rc.example.com")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--resource-controller-endpoint") && err.contains("unencrypted"),
        "{err}"
    );
    let one = Endpoints::resolve(Some("http://127.0.0.1:9"), "", "").unwrap();
    let still = one
        .clone()
        .with_resource_controller("https://elsewhere.example")
        .unwrap();
    assert_eq!(still.resource_controller(), one.iam());
}

#[tokio::test]
async fn export_reads_what_the_policies_name_beyond_the_file() {
    let stub = Stub::start(account_script).await;
    let query = LiveQuery {
        managed: [GroupName::new("g1"), GroupName::new("g2")].into(),
        policies_of: [GroupName::new("g1"), GroupName::new("g2")].into(),
        everything_policies_name: true,
        ..LiveQuery::default()
    };
    let live = iam::acquire(&stub.client(), &account(), &query)
        .await
        .expect("acquired");
    // The policies name guid-ml and guid-common: each read by GUID, in a second round.
    let by_guid: BTreeSet<String> = stub
        .find("GET", "/v2/resource_instances")
        .iter()
        .filter_map(|s| s.param("guid"))
        .collect();
    assert_eq!(
        by_guid,
        ["guid-common".to_string(), "guid-ml".to_string()].into()
    );
    assert!(live.instances.iter().any(|i| i.name == "QR-ml"));
    // Their service's roles, and every resource group (export names them all).
    assert_eq!(stub.find("GET", "/v2/roles").len(), 1);
    assert!(live.roles.iter().any(|r| r.name.as_str() == "JobManager"));
    assert_eq!(live.resource_groups.len(), 2);
}
