//! Hostile API responses (docs/security.md): a small server of our own answers the token
//! call correctly, then misbehaves on one endpoint per test — truncated JSON, wrong types,
//! missing fields, a lying `total_count`, a looping `next_url`, a page of 100,000 items,
//! 207s with per-member failures, HTML error pages, slowloris bodies, secrets echoed back.
//!
//! Each case must end in a clear error (naming the call, saying what was wrong) or be
//! handled correctly — never a panic, never a hang: every case runs under
//! `tokio::time::timeout` with a bound well below the test harness's patience, and the
//! client uses a short per-request timeout, deadline and retry policy.

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get, post};
use orgsync::iam::{self, Client, IamError};
use orgsync::model::{AccessGroupId, AccountId, GroupName, IamId, LiveState, MemberKind};
use serde_json::{Value, json};

use crate::support::{
    ACCOUNT, CALLER, Connect, STUB_KEY, Stub, encode_jwt, jwt, query_param, quick_retries, timed,
    token_route, unix_now,
};

const GROUP_ID: &str = "AccessGroupId-00000000-0000-4000-8000-000000000001";
const OTHER_GROUP_ID: &str = "AccessGroupId-00000000-0000-4000-8000-000000000002";

/// How long any one case may take before the test fails as a hang.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `f` under [`BOUND`]; a timeout fails the test naming the case.
async fn bounded<T, F: Future<Output = T>>(case: &str, f: F) -> T {
    timed(case, BOUND, f).await
}

fn user(i: usize) -> Value {
    json!({
        "id": format!("user-{i}"), "iam_id": format!("IBMid-USER{i:06}"), "realm": "IBMid",
        "user_id": format!("user{i}@example.com"), "firstname": "Test", "lastname": "User",
        "state": "ACTIVE", "email": format!("user{i}@example.com"),
        "account_id": ACCOUNT, "added_on": "2024-01-01T00:00:00.000Z",
    })
}

fn member(i: usize) -> Value {
    json!({
        "iam_id": format!("IBMid-USER{i:06}"), "type": "user", "membership_type": "static",
        "name": "Test User", "email": format!("user{i}@example.com"),
        "created_at": "2024-01-02T00:00:00.000Z", "created_by_id": CALLER,
    })
}

fn group(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "description": "", "account_id": ACCOUNT})
}

/// The honest account: 3 users, 2 groups (`managed` and `other`), 2 members in `managed`.
fn users_ok() -> MethodRouter {
    get(|| async {
        axum::Json(json!({
            "total_results": 3, "limit": 100,
            "first_url": format!("/v2/accounts/{ACCOUNT}/users?limit=100"),
            "resources": [user(1), user(2), user(3)],
        }))
    })
}

fn groups_ok() -> MethodRouter {
    get(|| async {
        axum::Json(json!({
            "limit": 100, "offset": 0, "total_count": 2,
            "groups": [group(GROUP_ID, "managed"), group(OTHER_GROUP_ID, "other")],
        }))
    })
}

fn members_ok() -> MethodRouter {
    get(|| async {
        axum::Json(json!({
            "limit": 100, "offset": 0, "total_count": 2, "members": [member(1), member(2)],
        }))
    })
}

/// A stub with the token endpoint and the three listings; `extra` adds write routes.
async fn serve(users: MethodRouter, groups: MethodRouter, members: MethodRouter) -> Stub {
    serve_with(users, groups, members, Router::new()).await
}

async fn serve_with(
    users: MethodRouter,
    groups: MethodRouter,
    members: MethodRouter,
    extra: Router,
) -> Stub {
    let app = Router::new()
        .route("/identity/token", token_route())
        .route("/v2/accounts/{account}/users", users)
        .route("/v2/groups", groups)
        .route("/v2/groups/{id}/members", members)
        .merge(extra);
    Stub::serve(app).await
}

/// A client with a short timeout, deadline and retry policy.
fn client(url: &str) -> Client {
    client_with(url, Duration::from_secs(2), Duration::from_secs(6))
}

fn client_with(url: &str, timeout: Duration, deadline: Duration) -> Client {
    Connect::to(url)
        .timeout(timeout)
        .deadline(deadline)
        .retries(quick_retries(3, Duration::from_millis(200)))
        .client()
}

async fn acquire(client: &Client) -> Result<LiveState, IamError> {
    iam::acquire(
        client,
        &AccountId::new(ACCOUNT),
        &iam::members_only(&[GroupName::new("managed")]),
    )
    .await
}

/// Acquisition against `server` must fail; the message must contain every one of
/// `mentions` (the call and what was wrong) and stay one readable line.
async fn fails_clearly(case: &str, server: &Stub, mentions: &[&str]) -> String {
    let client = client(&server.base);
    let result = bounded(case, acquire(&client)).await;
    let err = match result {
        Ok(live) => panic!("{case}: expected an error, got {live:?}"),
        Err(e) => e.to_string(),
    };
    for m in mentions {
        assert!(err.contains(m), "{case}: the error names `{m}`: {err}");
    }
    assert!(
        !err.contains('\n') && err.len() < 600,
        "{case}: one readable line: {err}"
    );
    assert!(
        !err.contains(STUB_KEY),
        "{case}: the key is not echoed: {err}"
    );
    err
}

fn members_of(live: &LiveState, name: &str) -> Vec<String> {
    live.groups
        .iter()
        .find(|g| g.name.as_str() == name)
        .and_then(|g| g.members.as_ref())
        .map(|m| m.iter().map(|m| m.iam_id.as_str().to_string()).collect())
        .unwrap_or_default()
}

fn raw(status: StatusCode, content_type: &'static str, body: &'static str) -> MethodRouter {
    get(move || async move { (status, [("content-type", content_type)], body).into_response() })
}

// ---- the honest server, as a control ----------------------------------------------------

#[tokio::test]
async fn the_honest_test_server_is_read_in_full() {
    let server = serve(users_ok(), groups_ok(), members_ok()).await;
    let live = bounded("honest", acquire(&client(&server.base)))
        .await
        .expect("the honest account reads");
    assert_eq!(live.caller.as_str(), CALLER);
    assert_eq!(live.users.len(), 3);
    assert_eq!(live.groups.len(), 2);
    assert_eq!(
        members_of(&live, "managed"),
        ["IBMid-USER000001", "IBMid-USER000002"]
    );
    let other = live.groups.iter().find(|g| g.name.as_str() == "other");
    assert_eq!(other.map(|g| g.members.is_none()), Some(true));
}

// ---- truncated JSON ---------------------------------------------------------------------

#[tokio::test]
async fn truncated_json_on_each_listing_is_a_clear_error() {
    let cut = r#"{"limit": 100, "offset": 0, "total_count": 2, "groups": [{"id": "AccessGro"#;
    let server = serve(
        users_ok(),
        raw(StatusCode::OK, "application/json", cut),
        members_ok(),
    )
    .await;
    fails_clearly("truncated groups", &server, &["GET /v2/groups", "JSON"]).await;

    let cut = r#"{"total_results": 3, "limit": 100, "resources": [{"iam_id": "IBMid-"#;
    let server = serve(
        raw(StatusCode::OK, "application/json", cut),
        groups_ok(),
        members_ok(),
    )
    .await;
    fails_clearly("truncated users", &server, &["/users", "JSON"]).await;

    let cut = r#"{"limit": 100, "offset": 0, "total_count": 2, "members": [{"#;
    let server = serve(
        users_ok(),
        groups_ok(),
        raw(StatusCode::OK, "application/json", cut),
    )
    .await;
    fails_clearly("truncated members", &server, &["/members", "JSON"]).await;
}

#[tokio::test]
async fn a_truncated_or_empty_token_answer_is_a_clear_error() {
    for (case, body) in [
        ("truncated token", r#"{"access_token": "eyJhbGciOi"#),
        ("empty token body", ""),
        (
            "token not a JWT",
            r#"{"access_token": "not-a-jwt", "expires_in": 3600}"#,
        ),
        (
            "token of wrong type",
            r#"{"access_token": 42, "expires_in": "soon"}"#,
        ),
    ] {
        let app = Router::new().route(
            "/identity/token",
            post(move || async move { ([("content-type", "application/json")], body) }),
        );
        let stub = Stub::serve(app).await;
        let url = stub.base.clone();
        let client = client(&url);
        let err = bounded(case, client.whoami())
            .await
            .err()
            .unwrap_or_else(|| panic!("{case}: a broken token answer is an error"))
            .to_string();
        assert!(
            err.contains("/identity/token"),
            "{case}: names the call: {err}"
        );
        assert!(!err.contains(STUB_KEY), "{case}: {err}");
    }
}

// ---- wrong types and missing fields -----------------------------------------------------

#[tokio::test]
async fn wrong_types_in_an_envelope_are_a_clear_error() {
    let server = serve(
        users_ok(),
        get(|| async {
            axum::Json(
                json!({"limit": 100, "offset": 0, "total_count": 2, "groups": {"id": GROUP_ID}}),
            )
        }),
        members_ok(),
    )
    .await;
    fails_clearly(
        "groups is an object",
        &server,
        &["GET /v2/groups", "groups"],
    )
    .await;

    let server = serve(
        users_ok(),
        groups_ok(),
        get(|| async {
            axum::Json(json!({"limit": 100, "offset": 0, "total_count": "two", "members": "many"}))
        }),
    )
    .await;
    fails_clearly("members is a string", &server, &["/members"]).await;

    let server = serve(
        get(|| async { axum::Json(json!({"total_results": 3, "resources": 7})) }),
        groups_ok(),
        members_ok(),
    )
    .await;
    fails_clearly("resources is a number", &server, &["/users", "resources"]).await;

    let server = serve(
        users_ok(),
        groups_ok(),
        get(|| async { axum::Json(json!([1, 2, 3])) }),
    )
    .await;
    fails_clearly("a list instead of an object", &server, &["/members"]).await;
}

#[tokio::test]
async fn wrong_types_inside_items_never_lose_a_member_silently() {
    // A member whose fields have the wrong types: either the listing fails, or the member
    // is still read — never dropped, which would hide a membership from the plan.
    let server = serve(
        users_ok(),
        groups_ok(),
        get(|| async {
            axum::Json(json!({
                "limit": 100, "offset": 0, "total_count": 2,
                "members": [member(1), {"iam_id": "IBMid-USER000002", "type": 7, "created_at": false}],
            }))
        }),
    )
    .await;
    let result = bounded("member with wrong types", acquire(&client(&server.base))).await;
    eprintln!("member with wrong types: {result:?}");
    if let Ok(live) = result {
        assert_eq!(
            members_of(&live, "managed"),
            ["IBMid-USER000001", "IBMid-USER000002"],
            "a member with odd fields is still a member"
        );
    }

    // The same for a user: a user dropped from the listing would be invited again.
    let server = serve(
        get(|| async {
            axum::Json(json!({
                "total_results": 3, "limit": 100,
                "resources": [user(1), user(2), {"iam_id": "IBMid-USER000003", "email": "user3@example.com", "state": 3, "added_on": {"when": "then"}, "firstname": []}],
            }))
        }),
        groups_ok(),
        members_ok(),
    )
    .await;
    let result = bounded("user with wrong types", acquire(&client(&server.base))).await;
    eprintln!("user with wrong types: {result:?}");
    if let Ok(live) = result {
        let emails: Vec<&str> = live.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "user1@example.com",
                "user2@example.com",
                "user3@example.com"
            ],
            "a user with odd fields is still in the account"
        );
    }
}

#[tokio::test]
async fn missing_required_fields_are_a_clear_error() {
    let server = serve(
        users_ok(),
        get(|| async {
            axum::Json(json!({"limit": 100, "offset": 0, "groups": [group(GROUP_ID, "managed")]}))
        }),
        members_ok(),
    )
    .await;
    fails_clearly(
        "no total_count",
        &server,
        &["GET /v2/groups", "total_count"],
    )
    .await;

    let server = serve(
        users_ok(),
        groups_ok(),
        get(|| async { axum::Json(json!({"limit": 100, "offset": 0, "total_count": 2})) }),
    )
    .await;
    fails_clearly("no members list", &server, &["/members", "members"]).await;

    let server = serve(
        get(|| async { axum::Json(json!({"total_results": 3, "limit": 100})) }),
        groups_ok(),
        members_ok(),
    )
    .await;
    fails_clearly("no resources list", &server, &["/users", "resources"]).await;

    let server = serve(
        users_ok(),
        groups_ok(),
        get(|| async { axum::Json(json!({})) }),
    )
    .await;
    fails_clearly("an empty object", &server, &["/members"]).await;
}

#[tokio::test]
async fn a_token_without_iam_id_is_refused_with_a_reason() {
    let app = Router::new().route(
        "/identity/token",
        post(|| async {
            let claims = json!({"exp": unix_now() + 3600, "iat": unix_now()});
            axum::Json(json!({"access_token": encode_jwt(&claims, 0), "expires_in": 3600}))
        }),
    );
    let stub = Stub::serve(app).await;
    let url = stub.base.clone();
    let err = bounded("token without iam_id", client(&url).whoami())
        .await
        .expect_err("no iam_id is an error")
        .to_string();
    assert!(err.contains("iam_id"), "{err}");
}

// ---- total_count that lies ----------------------------------------------------------------

/// 250 members served 100 a page by offset, with `total_count` as given.
fn paged_members(total_count: u64) -> MethodRouter {
    get(move |uri: Uri| async move {
        let offset: usize = query_param(uri.query().unwrap_or(""), "offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let end = (offset + 100).min(250);
        let members: Vec<Value> = (offset..end).map(member).collect();
        let mut body =
            json!({"limit": 100, "offset": offset, "total_count": total_count, "members": members});
        if end < 250 {
            body["next"] =
                json!({"href": format!("/v2/groups/{GROUP_ID}/members?limit=100&offset={end}")});
        }
        axum::Json(body)
    })
}

#[tokio::test]
async fn a_total_count_too_high_or_too_low_still_reads_every_member_once() {
    let want: Vec<String> = (0..250).map(|i| format!("IBMid-USER{i:06}")).collect();
    for (case, total) in [
        ("total_count too high", 900),
        ("total_count too low", 120),
        ("total_count far too low", 1),
        ("total_count zero with items", 0),
    ] {
        let server = serve(users_ok(), groups_ok(), paged_members(total)).await;
        let result = bounded(case, acquire(&client(&server.base))).await;
        eprintln!(
            "{case}: {:?}",
            result.as_ref().map(|l| members_of(l, "managed").len())
        );
        match result {
            Ok(live) => {
                let mut got = members_of(&live, "managed");
                got.sort();
                assert_eq!(got, want, "{case}: every member, once");
            }
            // A total of zero beside a non-empty page contradicts itself: refusing it is
            // as good as reading past it, provided the error says so.
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("/members") && e.contains("total"), "{case}: {e}");
            }
        }
        let calls = server.calls();
        assert!(calls < 20, "{case}: bounded requests ({calls})");
    }
}

#[tokio::test]
async fn an_absurd_total_count_is_refused_before_fanning_out() {
    let server = serve(users_ok(), groups_ok(), paged_members(u64::MAX)).await;
    fails_clearly(
        "total_count u64::MAX",
        &server,
        &["/members", "total_count"],
    )
    .await;
    let calls = server.calls();
    assert!(calls < 20, "no request storm: {calls}");
}

// ---- next_url that loops ------------------------------------------------------------------

#[tokio::test]
async fn a_next_url_that_loops_is_detected() {
    // Two pages that point at each other forever.
    let server = serve(
        get(|uri: Uri| async move {
            let second = uri.query().is_some_and(|q| q.contains("_start=B"));
            let (users, next) = if second {
                (vec![user(2)], "A")
            } else {
                (vec![user(1)], "B")
            };
            axum::Json(json!({
                "total_results": 2, "limit": 100, "resources": users,
                "next_url": format!("/v2/accounts/{ACCOUNT}/users?limit=100&_start={next}"),
            }))
        }),
        groups_ok(),
        members_ok(),
    )
    .await;
    fails_clearly("users next_url loops", &server, &["/users", "loop"]).await;
    let calls = server.calls();
    assert!(calls < 10, "the loop is caught early: {calls} calls");

    // A next that never repeats but never ends: a fresh cursor every time.
    let server = serve(
        get(|uri: Uri| async move {
            let n: u64 = query_param(uri.query().unwrap_or(""), "_start")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            axum::Json(json!({
                "total_results": 2, "limit": 100, "resources": [user(1)],
                "next_url": format!("/v2/accounts/{ACCOUNT}/users?limit=100&_start={}", n + 1),
            }))
        }),
        groups_ok(),
        members_ok(),
    )
    .await;
    fails_clearly("users next_url never ends", &server, &["/users"]).await;
    let calls = server.calls();
    assert!(calls < 100_000, "bounded: {calls} calls");
    eprintln!("endless cursor: {calls} calls before giving up");

    // Offset paging whose `next` points back at the first page.
    let server = serve(
        users_ok(),
        groups_ok(),
        get(|uri: Uri| async move {
            let second = uri.query().is_some_and(|q| q.contains("offset=100"));
            let members: Vec<Value> = if second {
                (100..200).map(member).collect()
            } else {
                (0..100).map(member).collect()
            };
            let next = if second { 0 } else { 100 };
            axum::Json(json!({
                "limit": 100, "offset": 0, "total_count": 100, "members": members,
                "next": {"href": format!("/v2/groups/{GROUP_ID}/members?offset={next}")},
            }))
        }),
    )
    .await;
    let result = bounded("members next loops back", acquire(&client(&server.base))).await;
    eprintln!(
        "members next loops back: {:?}",
        result.as_ref().map(|l| members_of(l, "managed").len())
    );
    if let Ok(live) = result {
        let got = members_of(&live, "managed");
        let unique: std::collections::BTreeSet<_> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "no member read twice");
    }
    let calls = server.calls();
    assert!(calls < 20, "bounded: {calls} calls");
}

// ---- huge pages ---------------------------------------------------------------------------

/// A body built once, before the server starts, so the server is not the slow part.
fn prebuilt(body: String) -> MethodRouter {
    let body = axum::body::Bytes::from(body);
    get(move || {
        let body = body.clone();
        async move { ([("content-type", "application/json")], body) }
    })
}

#[tokio::test]
async fn a_page_of_100000_items_is_refused_with_its_size() {
    // Tens of megabytes of JSON: the per-request timeout is generous enough for a debug
    // build to read it, so the test pins the refusal, not the timeout.
    let resources: Vec<Value> = (0..100_000).map(user).collect();
    let body = json!({"total_results": 100_000, "limit": 100, "resources": resources});
    let server = serve(prebuilt(body.to_string()), groups_ok(), members_ok()).await;
    let client = client_with(
        &server.base,
        Duration::from_secs(15),
        Duration::from_secs(15),
    );
    let err = bounded("100,000 users on a page", acquire(&client))
        .await
        .expect_err("a page of 100,000 users is refused")
        .to_string();
    assert!(err.contains("/users") && err.contains("100000"), "{err}");

    let members: Vec<Value> = (0..100_000).map(member).collect();
    let body = json!({"limit": 100, "offset": 0, "total_count": 100_000, "members": members});
    let server = serve(users_ok(), groups_ok(), prebuilt(body.to_string())).await;
    let client = client_with(
        &server.base,
        Duration::from_secs(15),
        Duration::from_secs(15),
    );
    let err = bounded("100,000 members on a page", acquire(&client))
        .await
        .expect_err("a page of 100,000 members is refused")
        .to_string();
    assert!(err.contains("/members") && err.contains("100000"), "{err}");
    assert!(
        server.calls() < 10,
        "refused, not re-fetched page after page"
    );
}

// ---- HTML error pages ---------------------------------------------------------------------

const HTML: &str = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad Gateway</h1>\n<p>The proxy server received an invalid response from an upstream server.</p>\n<hr><address>nginx</address>\n</body></html>\n";

#[tokio::test]
async fn html_error_pages_give_the_status_in_one_line() {
    for (case, status) in [
        ("HTML 502", StatusCode::BAD_GATEWAY),
        ("HTML 404", StatusCode::NOT_FOUND),
        ("HTML 403", StatusCode::FORBIDDEN),
    ] {
        let server = serve(users_ok(), raw(status, "text/html", HTML), members_ok()).await;
        let err = fails_clearly(case, &server, &["GET /v2/groups", status.as_str()]).await;
        assert!(!err.contains("<hr>"), "{case}: no raw HTML dumped: {err}");
    }
    // The same page with a 200: not JSON, so malformed, not a crash.
    let server = serve(
        users_ok(),
        raw(StatusCode::OK, "text/html", HTML),
        members_ok(),
    )
    .await;
    fails_clearly("HTML 200", &server, &["GET /v2/groups"]).await;
}

#[tokio::test]
async fn an_html_page_from_the_token_service_is_a_clear_error() {
    let app = Router::new().route(
        "/identity/token",
        post(|| async {
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                HTML,
            )
        }),
    );
    let stub = Stub::serve(app).await;
    let url = stub.base.clone();
    let err = bounded("token HTML 502", client(&url).whoami())
        .await
        .expect_err("an error")
        .to_string();
    assert!(err.contains("502"), "{err}");
    assert!(!err.contains('\n') && !err.contains(STUB_KEY), "{err}");
}

// ---- 207 with per-member failures -----------------------------------------------------------

#[tokio::test]
async fn a_207_with_per_member_failures_reports_each_member() {
    let writes = Router::new()
        .route(
            "/v2/groups/{id}/members",
            axum::routing::put(|| async {
                (
                    StatusCode::MULTI_STATUS,
                    axum::Json(json!({"members": [
                        {"iam_id": "IBMid-USER000001", "type": "user", "status_code": 200},
                        {"iam_id": "IBMid-USER000002", "type": "user", "status_code": 404, "trace": "tx-404",
                         "errors": [{"code": "user_not_found", "message": "The user is not in the account."}]},
                        {"iam_id": "IBMid-USER000003", "type": "user", "status_code": "400",
                         "errors": [{"code": 400, "message": "Bad member type."}]},
                        // IBM-ish garbage: an unrequested member and a malformed item.
                        {"iam_id": "IBMid-NOTASKED01", "status_code": 200},
                        "nonsense",
                    ]})),
                )
            }),
        )
        .route(
            "/v2/groups/{id}/members/delete",
            post(|| async {
                (
                    StatusCode::MULTI_STATUS,
                    axum::Json(json!({"access_group_id": GROUP_ID, "members": [
                        {"iam_id": "IBMid-USER000001", "status_code": 200},
                        {"iam_id": "IBMid-USER000002", "status_code": 404, "errors": [{"code": "not_found", "message": "not a member"}]},
                        {"iam_id": "IBMid-USER000003", "status_code": 500, "trace": "tx-500",
                         "errors": [{"code": "internal", "message": "try again"}]},
                    ]})),
                )
            }),
        );
    let server = serve_with(users_ok(), groups_ok(), members_ok(), writes).await;
    let client = client(&server.base);
    let group = AccessGroupId::new(GROUP_ID);
    let ids: Vec<IamId> = (1..=4)
        .map(|i| IamId::new(format!("IBMid-USER{i:06}")))
        .collect();
    let adds: Vec<(IamId, MemberKind)> =
        ids.iter().map(|i| (i.clone(), MemberKind::User)).collect();
    let out = bounded("207 add", client.add_members(&group, &adds))
        .await
        .expect("a 207 is an answer, read per member");
    assert_eq!(out.len(), 4, "one outcome per requested member");
    assert!(out[0].error.is_none(), "{:?}", out[0]);
    let e = out[1].error.as_ref().expect("user 2 failed");
    assert_eq!(e.status, Some(404));
    assert_eq!(e.code.as_deref(), Some("user_not_found"));
    let e = out[2].error.as_ref().expect("user 3 failed");
    assert_eq!(e.status, Some(400), "a string status is still read");
    assert!(
        out[3].error.is_some(),
        "a member the 207 did not mention is not assumed added: {:?}",
        out[3]
    );
    let remove = &ids[..3];
    let out = bounded("207 remove", client.remove_members(&group, remove))
        .await
        .expect("a 207 is an answer");
    assert_eq!(out.len(), 3);
    assert!(out[0].error.is_none() && !out[0].already);
    assert!(
        out[1].error.is_none() && out[1].already,
        "404 on removal means already gone: {:?}",
        out[1]
    );
    let e = out[2].error.as_ref().expect("user 3 failed");
    assert_eq!(e.status, Some(500));
}

#[tokio::test]
async fn a_207_whose_body_is_not_json_is_an_error_not_a_success() {
    let writes = Router::new().route(
        "/v2/groups/{id}/members",
        axum::routing::put(|| async { (StatusCode::MULTI_STATUS, "<html>oops</html>") }),
    );
    let server = serve_with(users_ok(), groups_ok(), members_ok(), writes).await;
    let client = client(&server.base);
    let result = bounded(
        "207 HTML",
        client.add_members(
            &AccessGroupId::new(GROUP_ID),
            &[(IamId::new("IBMid-USER000001"), MemberKind::User)],
        ),
    )
    .await;
    match result {
        Err(e) => assert!(e.to_string().contains("/members"), "{e}"),
        Ok(out) => assert!(
            out.iter().all(|o| o.error.is_some()),
            "an unreadable 207 never counts as success: {out:?}"
        ),
    }
}

// ---- slowloris ------------------------------------------------------------------------------

/// A raw server: the token call is answered properly; every other request gets its
/// headers and then a body that trickles one byte a second forever (or, with
/// `silent`, no answer at all).
async fn slowloris(silent: bool) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let mut serial = 0;
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            serial += 1;
            let token = jwt(CALLER, serial);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                if seen.starts_with(b"POST /identity/token") {
                    // Read the form body too (its length is small; one more read suffices
                    // for the test's client, which sends it right after the headers).
                    let body = json!({"access_token": token, "expires_in": 3600, "expiration": unix_now() + 3600}).to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                    return;
                }
                if !silent {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{\"members\": [";
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                }
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if !silent && stream.write_all(b" ").await.is_err() {
                        return;
                    }
                    if silent && stream.write_all(b"").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_slowloris_body_or_a_silent_server_times_out_within_the_deadline() {
    for (case, silent) in [("slowloris body", false), ("no answer at all", true)] {
        let (url, task) = slowloris(silent).await;
        let client = client_with(&url, Duration::from_secs(1), Duration::from_secs(4));
        let started = Instant::now();
        let err = bounded(case, acquire(&client))
            .await
            .err()
            .unwrap_or_else(|| panic!("{case}: a trickle is no answer"))
            .to_string();
        let took = started.elapsed();
        assert!(err.contains("no answer within 1 s"), "{case}: {err}");
        assert!(
            took < Duration::from_secs(10),
            "{case}: the deadline bounds the retries: {took:?}"
        );
        task.abort();
    }
}

// ---- secrets echoed back --------------------------------------------------------------------

#[tokio::test]
async fn an_error_body_that_echoes_the_api_key_does_not_reach_the_message() {
    let app = Router::new().route(
        "/identity/token",
        post(|body: String| async move {
            // A misconfigured proxy echoing the form it was sent, key included.
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"errorCode": "BXNIM0415E", "errorMessage": format!("Bad request: {body}")})),
            )
        }),
    );
    let stub = Stub::serve(app).await;
    let url = stub.base.clone();
    let err = bounded("key echoed", client(&url).whoami())
        .await
        .expect_err("a 400 from the token service is an error");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("BXNIM0415E"), "{shown}");
    assert!(!shown.contains(STUB_KEY), "the key is scrubbed: {shown}");
}

#[tokio::test]
async fn an_error_body_that_echoes_the_bearer_token_does_not_reach_the_message() {
    let server = serve(
        users_ok(),
        get(|headers: HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"errors": [{"code": "invalid_token", "message": format!("rejected {auth}")}], "status_code": 401})),
            )
        }),
        members_ok(),
    )
    .await;
    let client = client(&server.base);
    let err = bounded("token echoed", acquire(&client))
        .await
        .expect_err("a 401 that persists is an error");
    let shown = format!("{err} {err:?}");
    let tokens = server.tokens();
    assert!(!tokens.is_empty(), "tokens were issued");
    for token in tokens {
        for part in token.split('.').skip(1) {
            assert!(
                !shown.contains(part),
                "a token leaks into the error: {shown}"
            );
        }
    }
}

#[tokio::test]
async fn a_401_on_every_call_refreshes_once_then_fails_clearly() {
    let server = serve(
        users_ok(),
        raw(
            StatusCode::UNAUTHORIZED,
            "application/json",
            r#"{"errors":[{"code":"invalid_token","message":"Token expired"}],"status_code":401}"#,
        ),
        members_ok(),
    )
    .await;
    fails_clearly("401 forever", &server, &["GET /v2/groups", "401"]).await;
    let issued = server.tokens().len();
    assert!(
        (2..=3).contains(&issued),
        "one fresh token after the 401, not a storm: {issued}"
    );
}

// ---- throttling that never ends ---------------------------------------------------------------

#[tokio::test]
async fn a_429_asking_for_a_day_fails_at_once_instead_of_sleeping() {
    let server = serve(
        users_ok(),
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "86400"), ("content-type", "text/plain")],
                "Too Many Requests",
            )
        }),
        members_ok(),
    )
    .await;
    // The default retry policy, as the binary uses it: Retry-After is capped, and a wait
    // that would pass the call's deadline is not started.
    let client = Connect::to(&server.base)
        .timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(5))
        .client();
    let started = Instant::now();
    let err = bounded("Retry-After: 86400", acquire(&client))
        .await
        .expect_err("endless throttling is an error")
        .to_string();
    assert!(
        err.contains("429") && err.contains("GET /v2/groups"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "no sleep past the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_with_a_garbage_retry_after_backs_off_and_fails_clearly() {
    let server = serve(
        users_ok(),
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "soon-ish")],
                "slow down",
            )
        }),
        members_ok(),
    )
    .await;
    fails_clearly("Retry-After garbage", &server, &["GET /v2/groups", "429"]).await;
    let calls = server.calls();
    // Token + users + 3 attempts on groups (the test policy's max_attempts).
    assert!(calls <= 6, "max_attempts bounds the retries: {calls}");
}
