//! The IBM Cloud client over real HTTP.
//!
//! `stub` tests drive the client against a tiny scripted axum server, to pin behaviour the
//! emulator does not produce on demand (a 401 mid-run, a lying `total_count`, HTML error
//! pages, a slow answer). The end-to-end tests further down run against the in-process
//! emulator, whose own statistics count the requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{ACCOUNT, CALLER, Connect, Reply, STUB_KEY, Seen, Stub, jwt, quick_retries};
use orgsync::iam::{self, Client, IamError};
use orgsync::model::{AccessGroupId, AccountId, Email, GroupName, IamId, MemberKind};
use serde_json::{Value, json};

/// A client of `base` with the stub's key and quick retries (5 attempts).
fn client_for(base: &str, parallelism: usize) -> Client {
    Connect::to(base)
        .parallelism(parallelism)
        .retries(quick_retries(5, Duration::from_secs(2)))
        .client()
}

fn account() -> AccountId {
    AccountId::new(ACCOUNT)
}

fn assert_one_clean_line(err: &IamError, secrets: &[&str]) -> String {
    let line = err.to_string();
    assert!(!line.contains('\n'), "not one line: {line}");
    for s in secrets {
        assert!(!line.contains(s), "secret in: {line}");
    }
    let debug = format!("{err:?}");
    for s in secrets {
        assert!(!debug.contains(s), "secret in Debug: {debug}");
    }
    line
}

fn groups_page(ids: std::ops::Range<usize>, total: usize, next: Option<usize>) -> Value {
    let groups: Vec<Value> = ids
        .map(|i| json!({"id": format!("AccessGroupId-{i}"), "name": format!("g{i}"), "description": ""}))
        .collect();
    let mut page = json!({"limit": 100, "offset": 0, "total_count": total, "groups": groups});
    if let Some(n) = next {
        page["next"] =
            json!({"href": format!("/v2/groups?account_id={ACCOUNT}&limit=100&offset={n}")});
    }
    page
}

fn offset_of(seen: &Seen) -> usize {
    seen.param("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Stub tests: retries, errors, auth.

#[tokio::test]
async fn transient_5xx_on_a_read_is_retried_until_it_succeeds() {
    let stub = Stub::api(|_, n| match n {
        0 => Reply::text(503, "busy"),
        1 => Reply::text(502, "<html><title>Bad Gateway</title></html>"),
        _ => Reply::json(
            200,
            json!({"total_results": 1, "limit": 100, "resources": [
                {"iam_id": "IBMid-A", "email": "A@x.com", "state": "ACTIVE"}]}),
        ),
    })
    .await;
    let users = stub.client().list_users(&account()).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email.as_str(), "a@x.com");
    assert_eq!(
        stub.count("GET", &format!("/v2/accounts/{ACCOUNT}/users")),
        3
    );
    assert_eq!(stub.count("POST", "/identity/token"), 1);
}

#[tokio::test]
async fn plain_text_429_is_retried_after_retry_after_seconds() {
    let stub = Stub::api(|_, n| {
        if n == 0 {
            Reply::text(429, "User based rate limit for list service ids API")
                .header("retry-after", "1")
        } else {
            Reply::json(200, groups_page(0..2, 2, None))
        }
    })
    .await;
    let started = Instant::now();
    let groups = stub.client().list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stub.count("GET", "/v2/groups"), 2);
}

#[tokio::test]
async fn persistent_server_errors_end_in_one_line_naming_call_status_code_and_transaction() {
    let stub = Stub::api(|_, _| {
        Reply::json(500, json!({"trace": "trace-77", "errors": [{"code": 9999, "message": "Internal\nfailure"}]}))
            .header("transaction-id", "tx-500")
    })
    .await;
    let err = stub.client().list_groups(&account()).await.unwrap_err();
    let line = assert_one_clean_line(&err, &[STUB_KEY]);
    assert_eq!(
        line,
        "GET /v2/groups failed: HTTP 500 Internal Server Error, code 9999: Internal failure (transaction id tx-500) after 5 attempts; IBM Cloud had a server error: retry later"
    );
    assert_eq!(stub.count("GET", "/v2/groups"), 5);
    assert!(err.is_ambiguous());
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let stub = Stub::api(|_, _| {
        Reply::json(403, json!({"trace": "t", "errors": [{"code": "forbidden", "message": "no access"}], "status_code": 403}))
    })
    .await;
    let err = stub
        .client()
        .list_members(&AccessGroupId::new("AccessGroupId-1"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(!err.is_ambiguous());
    assert_eq!(stub.count("GET", "/v2/groups/AccessGroupId-1/members"), 1);
}

#[tokio::test]
async fn the_deadline_stops_retries_even_with_attempts_left() {
    let stub = Stub::api(|_, _| Reply::text(503, "down").header("retry-after", "1")).await;
    let client = Connect::to(&stub.base)
        .parallelism(2)
        .deadline(Duration::from_millis(1500))
        .retries(quick_retries(50, Duration::from_secs(2)))
        .client();
    let started = Instant::now();
    let err = client.list_groups(&account()).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.status(), Some(503));
    assert_eq!(stub.count("GET", "/v2/groups"), 2);
}

#[tokio::test]
async fn invite_is_not_retried_after_a_5xx_and_the_error_says_it_is_ambiguous() {
    let stub = Stub::api(|_, _| Reply::text(503, "unavailable")).await;
    let err = stub
        .client()
        .invite_users(&account(), &[Email::new("new@example.com")], &[])
        .await
        .unwrap_err();
    assert!(err.is_ambiguous() && !err.is_conflict(), "{err}");
    assert_eq!(
        stub.count("POST", &format!("/v2/accounts/{ACCOUNT}/users")),
        1
    );
}

#[tokio::test]
async fn invite_timeout_is_ambiguous_and_not_repeated() {
    let stub =
        Stub::api(|_, _| Reply::json(202, json!({"resources": []})).after(Duration::from_secs(3)))
            .await;
    let client = Connect::to(&stub.base)
        .parallelism(2)
        .timeout(Duration::from_secs(1))
        .deadline(Duration::from_secs(10))
        .retries(quick_retries(5, Duration::from_secs(2)))
        .client();
    let err = client
        .invite_users(&account(), &[Email::new("slow@example.com")], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, IamError::Timeout { .. }), "{err:?}");
    assert!(err.is_ambiguous());
    assert_eq!(
        stub.count("POST", &format!("/v2/accounts/{ACCOUNT}/users")),
        1
    );
}

#[tokio::test]
async fn invite_conflict_is_distinguishable_and_a_429_is_retried() {
    let stub = Stub::api(|_, n| {
if n == 0 {
            return Reply::text(429, "slow down").header("retry-after", "0");
        }
        Reply::json(409, json!({"trace":"10778924","errors":[{"code":"Conflict","message":"Invite request blocked : a@example.com","more_info":"the following user(s) are already in processing state, please try again after one minute"}],"status_code":409}))
    })
    .await;
    let err = stub
        .client()
        .invite_users(&account(), &[Email::new("a@example.com")], &[])
        .await
        .unwrap_err();
    assert!(err.is_conflict() && !err.is_ambiguous(), "{err}");
    assert_eq!(err.info().code.as_deref(), Some("Conflict"));
    assert_eq!(err.info().transaction_id.as_deref(), Some("10778924"));
    assert_eq!(
        stub.count("POST", &format!("/v2/accounts/{ACCOUNT}/users")),
        2
    );
}

#[tokio::test]
async fn invite_sends_ibms_body_and_returns_one_result_per_email() {
    let stub = Stub::api(|_, _| {
        Reply::json(
            202,
            json!({"resources": [
                {"email": "B@example.com", "id": "IBMid-B", "state": "PROCESSING"}]}),
        )
    })
    .await;
    let invited = stub
        .client()
        .invite_users(
            &account(),
            &[Email::new("a@example.com"), Email::new("b@example.com")],
            &[AccessGroupId::new("AccessGroupId-1")],
        )
        .await
        .unwrap();
    assert_eq!(invited.len(), 2);
    assert_eq!(invited[0].iam_id, None);
    assert_eq!(invited[1].iam_id, Some(IamId::new("IBMid-B")));
    let post = stub
        .seen()
        .into_iter()
        .find(|s| s.method == "POST" && s.path.ends_with("/users"))
        .unwrap();
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(
        body,
        json!({"users": [{"email": "a@example.com", "account_role": "Member"},
                         {"email": "b@example.com", "account_role": "Member"}],
               "access_groups": ["AccessGroupId-1"]})
    );
}

#[tokio::test]
async fn a_401_on_an_api_call_refreshes_the_token_once_and_retries() {
    let stub = Stub::api(|_, n| {
        if n == 0 {
            Reply::json(
                401,
                json!({"errors": [{"code": "invalid_access_token", "message": "expired"}]}),
            )
        } else {
            Reply::json(200, groups_page(0..1, 1, None))
        }
    })
    .await;
    let groups = stub.client().list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(stub.count("POST", "/identity/token"), 2);
    assert_eq!(stub.count("GET", "/v2/groups"), 2);
}

#[tokio::test]
async fn a_token_refused_twice_is_reported_not_looped() {
    let stub = Stub::api(|_, _| {
        Reply::json(
            401,
            json!({"errors": [{"code": "invalid_access_token", "message": "bad token"}]}),
        )
    })
    .await;
    let err = stub.client().list_groups(&account()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(stub.count("POST", "/identity/token"), 2);
    assert_eq!(stub.count("GET", "/v2/groups"), 2);
}

#[tokio::test]
async fn wrong_api_key_is_one_clear_line_without_the_key() {
    let stub = Stub::script(|seen, _| {
        assert_eq!(seen.path, "/identity/token");
        Reply::json(400, json!({"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found.",
                                "context": {"requestId": "req-1"}}))
    })
    .await;
    let err = stub.client().whoami().await.unwrap_err();
    let line = assert_one_clean_line(&err, &[STUB_KEY]);
    assert_eq!(
        line,
        "IBM Cloud rejected the API key: HTTP 400 Bad Request, code BXNIM0415E: Provided API key could not be found. (transaction id req-1); check IBMCLOUD_API_KEY / IC_API_KEY or --api-key-file, and that the key is not deleted or locked"
    );
    assert_eq!(stub.count("POST", "/identity/token"), 1);
}

#[tokio::test]
async fn the_token_call_is_form_encoded_as_ibms_sdks_send_it() {
    let stub = Stub::api(|_, _| Reply::text(404, "")).await;
    let me = stub.client().whoami().await.unwrap();
    assert_eq!(me.iam_id, IamId::new(CALLER));
    assert_eq!(me.account_id, Some(account()));
    let token = stub.seen().into_iter().next().unwrap();
    assert_eq!(
        token.body,
        format!(
            "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey={STUB_KEY}&response_type=cloud_iam"
        )
    );
    assert_eq!(token.authorization, None);
}

#[tokio::test]
async fn an_echoed_api_key_is_scrubbed_from_error_messages() {
    let stub =
        Stub::script(|seen, _| Reply::text(400, &format!("bad request body: {}", seen.body))).await;
    let err = stub.client().whoami().await.unwrap_err();
    let line = assert_one_clean_line(&err, &[STUB_KEY]);
    assert!(line.contains("[redacted]"), "{line}");
}

#[tokio::test]
async fn unreachable_endpoint_is_one_line_naming_the_host_and_what_to_do() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = client_for(&format!("http://127.0.0.1:{port}"), 2);
    let err = iam::acquire(&client, &account(), &iam::members_only(&[]))
        .await
        .unwrap_err();
    let line = assert_one_clean_line(&err, &[STUB_KEY]);
    assert!(matches!(err, IamError::Unreachable { .. }), "{err:?}");
    assert!(
        line.starts_with(&format!(
            "POST /identity/token: cannot reach 127.0.0.1:{port}"
        )),
        "{line}"
    );
    assert!(line.contains("check the endpoint URL"), "{line}");
    assert!(!err.is_ambiguous());
}

#[tokio::test]
async fn parallelism_bounds_requests_in_flight() {
    let stub = Stub::api(|seen, _| {
        let offset = offset_of(seen);
        let end = (offset + 100).min(1_000);
        Reply::json(
            200,
            groups_page(offset..end, 1_000, (end < 1_000).then_some(end)),
        )
        .after(Duration::from_millis(30))
    })
    .await;
    let client = client_for(&stub.base, 3);
    let groups = client.list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 1_000);
    assert_eq!(stub.count("GET", "/v2/groups"), 10);
    assert_eq!(stub.max_in_flight(), 3);
    assert_eq!(client.request_count(), 11);
}

/// Collects everything `tracing` writes, at every level and from every crate.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_output_names_every_call_but_never_the_key_or_a_token() {
    let bearer = jwt(CALLER, 0);
    let b = bearer.clone();
    let stub = Stub::script(move |seen, n| {
        if seen.path == "/identity/token" {
            return Reply::json(200, json!({"access_token": b, "expires_in": 3600}));
        }
        if seen.path == "/v2/groups" && n == 0 {
            // Forces a token refresh and a retry.
            return Reply::json(
                401,
                json!({"errors": [{"code": "invalid_access_token", "message": "expired"}]}),
            );
        }
        if seen.path == "/v2/groups" {
            return Reply::json(200, groups_page(0..1, 1, None));
        }
        if seen.path.ends_with("/members") {
            return Reply::text(503, "busy");
        }
        Reply::json(
            200,
            json!({"total_results": 0, "limit": 100, "resources": []}),
        )
    })
    .await;
    // Other tests run on other threads with no subscriber. While only one dispatcher is
    // registered, tracing computes a callsite's interest from the registering thread's
    // own default, so a callsite first reached by another test would be cached as "nobody
    // listens". A second registered dispatcher makes tracing consult all of them.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    stub.client().whoami().await.unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let err = iam::acquire(
        &stub.client(),
        &account(),
        &iam::members_only(&[GroupName::new("g0")]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(503));
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!log.contains(STUB_KEY), "the API key leaked into the log");
    assert!(!log.contains(&bearer), "the token leaked into the log");
    let bearer_payload = bearer.split('.').nth(1).unwrap();
    assert!(
        !log.contains(bearer_payload),
        "the token leaked into the log"
    );
    // One event per call: method, route, status and duration are all there.
    assert!(
        log.contains("method=GET path=\"/v2/groups\" status=401"),
        "{log}"
    );
    assert!(
        log.contains("method=GET path=\"/v2/groups/{access_group_id}/members\" status=503"),
        "{log}"
    );
    assert!(log.contains("ms="), "{log}");
}

// ---------------------------------------------------------------------------
// Stub tests: paging against servers that lie.

#[tokio::test]
async fn a_total_count_too_high_stops_at_the_first_empty_page() {
    let stub = Stub::api(|seen, _| {
        let offset = offset_of(seen);
        let end = (offset + 100).min(150);
        Reply::json(200, groups_page(offset..end.max(offset), 500, None))
    })
    .await;
    let groups = stub.client().list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 150);
    assert_eq!(groups[149].id.as_str(), "AccessGroupId-149");
}

#[tokio::test]
async fn a_total_count_too_low_is_corrected_by_following_next() {
    let stub = Stub::api(|seen, _| {
        let offset = offset_of(seen);
        let end = (offset + 100).min(250);
        Reply::json(
            200,
            groups_page(offset..end, 120, (end < 250).then_some(end)),
        )
    })
    .await;
    let groups = stub.client().list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 250);
    assert_eq!(stub.count("GET", "/v2/groups"), 3);
}

#[tokio::test]
async fn an_absurd_total_count_is_refused_not_paged() {
    let stub =
        Stub::api(|_, _| Reply::json(200, groups_page(0..100, 1_000_000_000, Some(100)))).await;
    let err = stub.client().list_groups(&account()).await.unwrap_err();
    assert!(err.to_string().contains("total_count 1000000000"), "{err}");
    assert_eq!(stub.count("GET", "/v2/groups"), 1);
}

#[tokio::test]
async fn a_server_that_ignores_the_limit_is_paged_by_what_it_returns() {
    // Asked for 100, the server returns 50 per page while claiming limit 100.
    let stub = Stub::api(|seen, _| {
        let offset = offset_of(seen);
        let end = (offset + 50).min(120);
        Reply::json(200, groups_page(offset..end, 120, None))
    })
    .await;
    let groups = stub.client().list_groups(&account()).await.unwrap();
    let ids: std::collections::BTreeSet<_> =
        groups.iter().map(|g| g.id.as_str().to_string()).collect();
    assert_eq!(ids.len(), 120);
}

#[tokio::test]
async fn public_access_is_dropped_even_when_the_server_lists_it() {
    let stub = Stub::api(|_, _| {
        Reply::json(
            200,
            json!({"limit": 100, "offset": 0, "total_count": 2, "groups": [
                {"id": "AccessGroupId-PublicAccess", "name": "Public Access"},
                {"id": "AccessGroupId-1", "name": "team"}]}),
        )
    })
    .await;
    let groups = stub.client().list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, GroupName::new("team"));
    let q = &stub.seen()[1].query;
    assert!(
        q.contains("hide_public_access=true") && q.contains("limit=100"),
        "{q}"
    );
}

#[tokio::test]
async fn a_looping_user_cursor_is_an_error_not_a_hang() {
    let stub = Stub::api(|_, _| {
        Reply::json(
            200,
            json!({"total_results": 5, "limit": 100,
                "next_url": format!("/v2/accounts/{ACCOUNT}/users?limit=100&_start=same"),
                "resources": [{"iam_id": "IBMid-A"}]}),
        )
    })
    .await;
    let err = stub.client().list_users(&account()).await.unwrap_err();
    assert!(err.to_string().contains("loops"), "{err}");
    assert_eq!(
        stub.count("GET", &format!("/v2/accounts/{ACCOUNT}/users")),
        2
    );
}

#[tokio::test]
async fn user_cursor_is_followed_from_an_absolute_next_url() {
    let stub = Stub::api(|seen, _| {
if seen.query.contains("_start=p2") {
            Reply::json(200, json!({"total_results": 2, "limit": 100, "resources": [{"iam_id": "IBMid-B", "email": "b@x.com"}]}))
        } else {
            Reply::json(200, json!({"total_results": 2, "limit": 100,
                "next_url": "https://elsewhere.example.com/v2/accounts/x/users?_start=p2",
                "resources": [{"iam_id": "IBMid-A", "email": "a@x.com"}]}))
        }
    })
    .await;
    let users = stub.client().list_users(&account()).await.unwrap();
    let ids: Vec<_> = users.iter().map(|u| u.iam_id.as_str()).collect();
    assert_eq!(ids, ["IBMid-A", "IBMid-B"]);
    // The cursor is re-issued against our endpoint with our limit.
    let second = &stub.seen()[2];
    assert_eq!(second.query, "limit=100&_start=p2");
}

#[tokio::test]
async fn a_users_page_without_resources_is_malformed() {
    let stub = Stub::api(|_, _| {
        Reply::json(
            200,
            json!({"total_results": 0, "limit": 100, "resources": null}),
        )
    })
    .await;
    let err = stub.client().list_users(&account()).await.unwrap_err();
    assert!(matches!(err, IamError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("resources"), "{err}");
}

#[tokio::test]
async fn an_endless_answer_is_cut_off_not_buffered() {
    let stub = Stub::api(|_, _| Reply::text(200, &" ".repeat(40 << 20))).await;
    let err = stub.client().list_groups(&account()).await.unwrap_err();
    assert!(matches!(err, IamError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than 32 MiB"), "{err}");
    assert_eq!(stub.count("GET", "/v2/groups"), 1);
}

// ---------------------------------------------------------------------------
// Stub tests: writes.

#[tokio::test]
async fn update_description_gets_the_etag_and_retries_once_on_412() {
    let stub = Stub::api(|seen, n| match (seen.method.as_str(), n) {
        ("GET", _) => Reply::json(
            200,
            json!({"id": "AccessGroupId-1", "name": "g", "description": "old"}),
        )
        .header("etag", &format!("\"v{n}\"")),
        ("PATCH", 0) => Reply::json(
            412,
            json!({"errors": [{"code": "precondition_failed", "message": "stale"}]}),
        ),
        _ => Reply::json(
            200,
            json!({"id": "AccessGroupId-1", "name": "g", "description": "new"}),
        ),
    })
    .await;
    stub.client()
        .update_group_description(&AccessGroupId::new("AccessGroupId-1"), "new")
        .await
        .unwrap();
    let patches: Vec<_> = stub
        .seen()
        .into_iter()
        .filter(|s| s.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[0].if_match.as_deref(), Some("\"v0\""));
    assert_eq!(patches[1].if_match.as_deref(), Some("\"v1\""));
    assert_eq!(patches[1].body, r#"{"description":"new"}"#);
}

#[tokio::test]
async fn remove_members_whole_call_404_for_an_existing_group_means_already_removed() {
    let stub = Stub::api(|seen, _| {
match seen.method.as_str() {
            "POST" => Reply::json(404, json!({"errors": [{"code": "not_found", "message": "none is a member of AccessGroupId-1"}]})),
            _ if seen.path.ends_with("AccessGroupId-1") => Reply::json(200, json!({"id": "AccessGroupId-1"})),
            _ => Reply::json(404, json!({"errors": [{"code": "not_found", "message": "no such group"}]})),
        }
    })
    .await;
    let client = stub.client();
    let ids = [IamId::new("IBMid-A"), IamId::new("IBMid-B")];
    let out = client
        .remove_members(&AccessGroupId::new("AccessGroupId-1"), &ids)
        .await
        .unwrap();
    assert!(
        out.iter().all(|o| o.error.is_none() && o.already),
        "{out:?}"
    );
    let err = client
        .remove_members(&AccessGroupId::new("AccessGroupId-2"), &ids)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
}

/// Creates `group` through the executor, as `apply` does: its re-read protocol, not the
/// client, decides what happens after an ambiguous failure.
async fn create_through_the_executor(client: &Client, group: &str) -> orgsync::executor::Entry {
    use orgsync::plan::{Change, FORMAT_VERSION, Plan, Summary, Unmanaged};
    let changes = vec![Change::CreateGroup {
        group: GroupName::new(group),
        description: Some("d".into()),
    }];
    let plan = Plan {
        format_version: FORMAT_VERSION,
        account_id: account(),
        config_digest: "sha256:00".into(),
        live_digest: "sha256:00".into(),
        summary: Summary::of(&changes),
        changes,
        warnings: Vec::new(),
        unmanaged: Unmanaged::default(),
        rosters: Default::default(),
    };
    let options = orgsync::executor::Options {
        verify: false,
        ..Default::default()
    };
    let ids = Default::default();
    let report = orgsync::executor::apply(&plan, &account(), &ids, client, &options, None).await;
    report.entries.into_iter().next().expect("one entry")
}

#[tokio::test]
async fn create_group_is_one_call_and_leaves_an_ambiguous_failure_to_the_caller() {
    let stub = Stub::api(|_, _| Reply::text(503, "unavailable")).await;
    let err = stub
        .client()
        .create_group(&account(), &GroupName::new("quantum"), "d")
        .await
        .unwrap_err();
    assert!(err.is_ambiguous() && !err.is_conflict(), "{err}");
    assert_eq!(stub.count("POST", "/v2/groups"), 1);
    assert_eq!(stub.count("GET", "/v2/groups"), 0);
}

#[tokio::test]
async fn create_group_after_a_dropped_answer_finds_the_group_instead_of_creating_twice() {
    let created = Arc::new(AtomicU64::new(0));
    let c = created.clone();
    let stub = Stub::api(move |seen, _| {
        match seen.method.as_str() {
            // The create lands, but the answer is a 504 from a gateway.
            "POST" => {
                c.fetch_add(1, Ordering::SeqCst);
                Reply::text(504, "<html><title>Gateway Timeout</title></html>")
            }
            _ => Reply::json(
                200,
                json!({"limit": 100, "offset": 0, "total_count": 1,
                "groups": [{"id": "AccessGroupId-NEW", "name": "Quantum", "description": "d"}]}),
            ),
        }
    })
    .await;
    let entry = create_through_the_executor(&stub.client(), "quantum").await;
    assert_eq!(
        entry.status,
        orgsync::executor::Status::Applied,
        "{entry:?}"
    );
    assert_eq!(created.load(Ordering::SeqCst), 1);
    assert_eq!(stub.count("GET", "/v2/groups"), 1);
}

#[tokio::test]
async fn create_group_that_did_not_land_is_sent_again_only_after_looking() {
    let stub = Stub::api(|seen, n| {
        match (seen.method.as_str(), n) {
            // The first create fails before landing; the listing shows no such group.
            ("POST", 0) => Reply::text(503, "unavailable"),
            ("POST", _) => Reply::json(
                201,
                json!({"id": "AccessGroupId-2", "name": "quantum", "description": "d"}),
            ),
            _ => Reply::json(200, groups_page(0..1, 1, None)),
        }
    })
    .await;
    let entry = create_through_the_executor(&stub.client(), "quantum").await;
    assert_eq!(
        entry.status,
        orgsync::executor::Status::Applied,
        "{entry:?}"
    );
    let order: Vec<String> = stub
        .seen()
        .iter()
        .filter(|s| s.path == "/v2/groups")
        .map(|s| s.method.clone())
        .collect();
    assert_eq!(order, ["POST", "GET", "POST"]);
    let body: Value = serde_json::from_str(&stub.seen()[1].body).unwrap();
    assert_eq!(body, json!({"name": "quantum", "description": "d"}));
    assert!(
        stub.seen()[1]
            .query
            .contains(&format!("account_id={ACCOUNT}"))
    );
}

#[tokio::test]
async fn add_members_splits_beyond_fifty_and_keeps_request_order() {
    let stub = Stub::api(|seen, _| {
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        let members: Vec<Value> = body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| json!({"iam_id": m["iam_id"], "type": m["type"], "status_code": 200}))
            .collect();
        assert!(members.len() <= 50);
        Reply::json(207, json!({"members": members}))
    })
    .await;
    let members: Vec<(IamId, MemberKind)> = (0..120)
        .map(|i| (IamId::new(format!("IBMid-{i:03}")), MemberKind::User))
        .collect();
    let out = stub
        .client()
        .add_members(&AccessGroupId::new("AccessGroupId-1"), &members)
        .await
        .unwrap();
    assert_eq!(out.len(), 120);
    assert!(
        out.iter()
            .zip(&members)
            .all(|(o, (id, _))| &o.iam_id == id && o.error.is_none())
    );
    assert_eq!(stub.count("PUT", "/v2/groups/AccessGroupId-1/members"), 3);
}

#[tokio::test]
async fn a_token_url_that_is_not_ibms_token_service_says_which_flag_to_fix() {
    let stub = Stub::script(|_, _| Reply::text(404, "")).await;
    let err = stub.client().whoami().await.unwrap_err();
    let line = assert_one_clean_line(&err, &[STUB_KEY]);
    assert_eq!(
        line,
        "POST /identity/token failed: HTTP 404 Not Found; this is not IBM's token service: check --iam-endpoint (or --endpoint)"
    );
}

#[tokio::test]
async fn after_a_429_no_request_leaves_until_retry_after_has_passed() {
    let refused_once = std::sync::atomic::AtomicBool::new(false);
    let stub = Stub::api(move |seen, _| {
        let offset = offset_of(seen);
        // Only the first request for this page is refused.
        if offset == 100 && !refused_once.swap(true, Ordering::SeqCst) {
            return Reply::text(429, "rate limited").header("retry-after", "1");
        }
        let end = (offset + 100).min(1_000);
        Reply::json(200, groups_page(offset..end, 1_000, None)).after(Duration::from_millis(100))
    })
    .await;
    let client = client_for(&stub.base, 4);
    let groups = client.list_groups(&account()).await.unwrap();
    assert_eq!(groups.len(), 1_000);
    let seen = stub.seen();
    let refused = seen
        .iter()
        .find(|s| offset_of(s) == 100)
        .map(|s| s.at)
        .unwrap();
    // Requests already in flight with the refused one may arrive just after it; after
    // that, silence until Retry-After has passed.
    let early: Vec<_> = seen
        .iter()
        .filter(|s| s.path == "/v2/groups")
        .map(|s| s.at.saturating_duration_since(refused))
        .filter(|d| *d > Duration::from_millis(50) && *d < Duration::from_millis(950))
        .collect();
    assert!(
        early.is_empty(),
        "requests sent during the pause: {early:?}"
    );
    assert_eq!(stub.count("GET", "/v2/groups"), 11);
}

#[tokio::test]
async fn the_user_cursor_does_not_queue_behind_member_pages_on_every_read() {
    // 10 managed groups whose member pages are slow, and a user listing of 4 pages: the
    // cursor is the critical path and must keep a slot of the parallelism to itself. Read
    // twice with one client: the slot the first cursor lent to member pages once it ended
    // must be back for the second.
    let stub = Stub::api(|seen, _| {
if seen.path == format!("/v2/accounts/{ACCOUNT}/users") {
            let page: usize = seen
                .param("_start")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = json!({"total_results": 4, "limit": 100,
                "resources": [{"iam_id": format!("IBMid-{page}"), "email": format!("u{page}@x.com")}]});
            if page < 3 {
                body["next_url"] = json!(format!("/v2/accounts/{ACCOUNT}/users?_start={}", page + 1));
            }
            return Reply::json(200, body).after(Duration::from_millis(20));
        }
        if seen.path == "/v2/groups" {
            return Reply::json(200, groups_page(0..10, 10, None));
        }
        Reply::json(200, json!({"limit": 100, "offset": 0, "total_count": 0, "members": []}))
            .after(Duration::from_millis(150))
    })
    .await;
    let client = client_for(&stub.base, 2);
    let managed: Vec<GroupName> = (0..10).map(|i| GroupName::new(format!("g{i}"))).collect();
    let users_path = format!("/v2/accounts/{ACCOUNT}/users");
    for read in 0..2 {
        let live = iam::acquire(&client, &account(), &iam::members_only(&managed))
            .await
            .unwrap();
        assert_eq!(live.users.len(), 4);
        assert!(
            live.groups
                .iter()
                .all(|g| g.members.as_deref() == Some(&[][..]))
        );
        let times: Vec<Instant> = stub
            .seen()
            .iter()
            .filter(|s| s.path == users_path)
            .map(|s| s.at)
            .skip(4 * read)
            .collect();
        let span = times[3].duration_since(times[0]);
        // Four 20 ms pages in a row; queued behind 150 ms member pages (10 of them over 2
        // slots: 750 ms) it would take longer.
        assert!(
            span < Duration::from_millis(400),
            "read {read}: user pages took {span:?}"
        );
    }
    assert!(stub.max_in_flight() <= 2);
}

// ---------------------------------------------------------------------------
// End to end, against the in-process emulator.

mod e2e {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::{Duration, Instant};

    use crate::support::{Connect, read_minimum, start, stat};
    use orgsync::emulator::{self, Options, State, Synthetic};
    use orgsync::iam::{self, Client, IamError, UserRemoval};
    use orgsync::model::{
        AccessGroupId, AccountId, Email, GroupName, IamId, LiveState, MemberKind, UserState,
    };

    /// The client as the binary builds it (default retries), with roomy time limits.
    fn client(base: &str, key: &str, parallelism: usize) -> Client {
        Connect::to(base)
            .key(key)
            .parallelism(parallelism)
            .timeout(Duration::from_secs(10))
            .deadline(Duration::from_secs(60))
            .client()
    }

    fn synthetic(users: usize, groups: usize, memberships: usize, seed: u64) -> State {
        emulator::synthetic(&Synthetic {
            users,
            groups,
            memberships,
            service_ids_in_groups: groups / 4,
            pending_users: users / 20,
            seed,
        })
    }

    /// Every `step`-th group, by name: the managed ones.
    fn managed_names(state: &State, step: usize) -> Vec<GroupName> {
        state
            .groups
            .iter()
            .step_by(step)
            // Case must not matter when matching managed names.
            .map(|g| GroupName::new(g.name.to_uppercase()))
            .collect()
    }

    /// The live state must be exactly the emulator's account.
    fn assert_exact(live: &LiveState, state: &State, managed: &[GroupName]) {
        assert_eq!(live.account_id.as_str(), state.account_id);
        let want_users: BTreeSet<(String, String, String)> = state
            .users
            .iter()
            .map(|u| {
                (
                    u.iam_id.clone(),
                    u.email.to_lowercase(),
                    u.state.to_string(),
                )
            })
            .collect();
        let got_users: BTreeSet<(String, String, String)> = live
            .users
            .iter()
            .map(|u| {
                (
                    u.iam_id.to_string(),
                    u.email.to_string(),
                    u.state.as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(
            live.users.len(),
            state.users.len(),
            "duplicate or missing users"
        );
        assert_eq!(got_users, want_users);
        assert_eq!(live.groups.len(), state.groups.len());
        let live_groups: BTreeMap<&str, _> =
            live.groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let mut managed_seen = 0;
        for g in &state.groups {
            let lg = live_groups
                .get(g.id.as_str())
                .unwrap_or_else(|| panic!("group {} missing", g.name));
            assert_eq!(lg.name.as_str(), g.name);
            assert_eq!(lg.description, g.description);
            let is_managed = managed.contains(&GroupName::new(g.name.clone()));
            match &lg.members {
                None => assert!(!is_managed, "managed group {} not read", g.name),
                Some(members) => {
                    assert!(is_managed, "unmanaged group {} was read", g.name);
                    managed_seen += 1;
                    let want: BTreeSet<(String, String)> = g
                        .members
                        .iter()
                        .map(|m| (m.iam_id.clone(), m.kind.to_string()))
                        .collect();
                    let got: BTreeSet<(String, String)> = members
                        .iter()
                        .map(|m| (m.iam_id.to_string(), m.kind.as_str().to_string()))
                        .collect();
                    assert_eq!(members.len(), g.members.len(), "group {}", g.name);
                    assert_eq!(got, want, "group {}", g.name);
                }
            }
        }
        assert_eq!(managed_seen, managed.len());
    }

    /// The minimum of docs/ibm-api.md: 1 token call + ⌈users/100⌉ + ⌈groups/100⌉ + Σ
    /// managed ⌈members/100⌉, where an empty list still costs its one page.
    fn minimal_requests(state: &State, managed: &[GroupName]) -> u64 {
        read_minimum(state, |name| managed.contains(&GroupName::new(name)))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acquiring_a_large_account_is_exact_and_costs_the_minimal_request_count() {
        let state = synthetic(5_000, 200, 30_000, 11);
        let managed = managed_names(&state, 4);
        assert_eq!(managed.len(), 50);
        // ~150 members a group: every managed group needs a second, concurrent offset page.
        assert!(state.groups.iter().all(|g| g.members.len() > 100));
        let emu = start(state.clone(), Options::default()).await;
        let client = client(&emu.base_url(), emulator::SYNTHETIC_ADMIN_KEY, 8);
        let account = AccountId::new(state.account_id.clone());
        let live = iam::acquire(&client, &account, &iam::members_only(&managed))
            .await
            .unwrap();
        assert_exact(&live, &state, &managed);
        assert_eq!(live.caller.as_str(), emulator::SYNTHETIC_ADMIN_IAM_ID);
        let stats = emu.stats();
        let minimal = minimal_requests(&state, &managed);
        assert_eq!(stat(&stats, &["total"]), minimal, "{stats}");
        assert_eq!(client.request_count(), minimal);
        assert_eq!(
            stat(&stats, &["by_route", "POST /identity/token"]),
            1,
            "{stats}"
        );
        assert_eq!(
            stat(&stats, &["by_route", "GET /v2/accounts/{account_id}/users"]),
            50,
            "{stats}"
        );
        assert_eq!(stat(&stats, &["by_route", "GET /v2/groups"]), 2, "{stats}");
        assert!(stat(&stats, &["max_in_flight"]) <= 8, "{stats}");
        emu.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acquisition_is_exact_despite_server_errors_drops_and_rate_limits() {
        // 60 managed groups read at once: well past the rate limit's burst of 20.
        let state = synthetic(600, 60, 1_500, 23);
        let managed = managed_names(&state, 1);
        let options = Options {
            seed: 5,
            fail_rate: 0.2,
            drop_rate: 0.05,
            rate_limit: 20.0,
            ..Options::default()
        };
        let emu = start(state.clone(), options).await;
        let client = client(&emu.base_url(), emulator::SYNTHETIC_ADMIN_KEY, 8);
        let account = AccountId::new(state.account_id.clone());
        let started = Instant::now();
        let live = iam::acquire(&client, &account, &iam::members_only(&managed))
            .await
            .unwrap();
        assert_exact(&live, &state, &managed);
        let stats = emu.stats();
        // The faults really happened, and were retried through.
        assert!(stat(&stats, &["served_5xx"]) > 0, "{stats}");
        assert!(stat(&stats, &["served_429"]) > 0, "{stats}");
        assert!(started.elapsed() < Duration::from_secs(30));
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn a_stopped_emulator_is_one_clear_line_about_reaching_it() {
        let state = synthetic(3, 1, 1, 1);
        let emu = start(state.clone(), Options::default()).await;
        let base = emu.base_url();
        emu.shutdown().await;
        let client = client(&base, emulator::SYNTHETIC_ADMIN_KEY, 2);
        let err = iam::acquire(
            &client,
            &AccountId::new(state.account_id),
            &iam::members_only(&[]),
        )
        .await
        .unwrap_err();
        let line = err.to_string();
        assert!(matches!(err, IamError::Unreachable { .. }), "{err:?}");
        assert!(!line.contains('\n') && !line.contains(emulator::SYNTHETIC_ADMIN_KEY));
        assert!(line.contains(base.trim_start_matches("http://")), "{line}");
    }

    #[tokio::test]
    async fn a_wrong_api_key_is_one_clear_line_without_the_key() {
        let state = synthetic(3, 1, 1, 1);
        let emu = start(state.clone(), Options::default()).await;
        let wrong = "wrong-key-Zq81x";
        let client = client(&emu.base_url(), wrong, 2);
        let err = iam::acquire(
            &client,
            &AccountId::new(state.account_id),
            &iam::members_only(&[]),
        )
        .await
        .unwrap_err();
        let line = err.to_string();
        assert!(matches!(err, IamError::InvalidApiKey { .. }), "{err:?}");
        assert!(!line.contains('\n') && !line.contains(wrong), "{line}");
        assert!(line.contains("IBMCLOUD_API_KEY"), "{line}");
        assert!(!format!("{err:?}").contains(wrong));
        // One token call: a refused key is not retried.
        assert_eq!(stat(&emu.stats(), &["total"]), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_expiring_mid_run_is_refreshed_not_failed() {
        let state = synthetic(2_500, 10, 2_000, 3);
        let managed = managed_names(&state, 1);
        let options = Options {
            token_ttl: Duration::from_secs(2),
            latency: Duration::from_millis(100),
            ..Options::default()
        };
        let emu = start(state.clone(), options).await;
        let client = client(&emu.base_url(), emulator::SYNTHETIC_ADMIN_KEY, 4);
        let account = AccountId::new(state.account_id.clone());
        let started = Instant::now();
        let live = iam::acquire(&client, &account, &iam::members_only(&managed))
            .await
            .unwrap();
        // 25 user pages in sequence at 100 ms: the run outlives the 2 s token.
        assert!(started.elapsed() > Duration::from_secs(2));
        assert_exact(&live, &state, &managed);
        let stats = emu.stats();
        assert!(
            stat(&stats, &["by_route", "POST /identity/token"]) >= 2,
            "{stats}"
        );
        // Refreshed before it expired: IBM never had to refuse it.
        assert_eq!(stat(&stats, &["by_status", "401"]), 0, "{stats}");
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn write_calls_change_the_account_and_surface_per_member_failures() {
        let state = synthetic(20, 3, 20, 9);
        let options = Options {
            processing: Duration::from_secs(60),
            ..Options::default()
        };
        let emu = start(state.clone(), options).await;
        let client = client(&emu.base_url(), emulator::SYNTHETIC_ADMIN_KEY, 4);
        let account = AccountId::new(state.account_id.clone());

        let me = client.whoami().await.unwrap();
        assert_eq!(me.iam_id.as_str(), emulator::SYNTHETIC_ADMIN_IAM_ID);
        assert_eq!(me.account_id.as_ref(), Some(&account));

        // create_group, then a duplicate name (any case) is a conflict.
        let created = client
            .create_group(&account, &GroupName::new("quantum-new"), "fresh")
            .await
            .unwrap();
        let err = client
            .create_group(&account, &GroupName::new("Quantum-NEW"), "again")
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err}");
        let groups = client.list_groups(&account).await.unwrap();
        assert_eq!(groups.len(), state.groups.len() + 1);

        // update_group_description.
        client
            .update_group_description(&created.id, "Renamed project")
            .await
            .unwrap();
        let now = emu.state();
        let g = now
            .groups
            .iter()
            .find(|g| g.id == created.id.as_str())
            .unwrap();
        assert_eq!(g.description, "Renamed project");

        // add_members: a user of the account lands, and so does an IBMid the account does
        // not have (IBM's own integration tests add a random one: docs/ibm-api.md, open
        // question 3); a service ID sent as a user is refused for that member alone.
        let user = IamId::new(state.users[1].iam_id.clone());
        let ghost = IamId::new("IBMid-NOSUCHUSER");
        let service = IamId::new("iam-ServiceId-0a1b2c3d-0000-4000-8000-00000000dead");
        let out = client
            .add_members(
                &created.id,
                &[
                    (user.clone(), MemberKind::User),
                    (ghost.clone(), MemberKind::User),
                    (service.clone(), MemberKind::User),
                ],
            )
            .await
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].iam_id, user);
        assert!(out[0].error.is_none() && out[1].error.is_none(), "{out:?}");
        let failure = out[2]
            .error
            .as_ref()
            .expect("a type that disagrees must fail");
        assert_eq!(out[2].iam_id, service);
        assert_eq!(failure.status, Some(400), "{failure:?}");
        let members = client.list_members(&created.id).await.unwrap();
        let mut listed: Vec<&IamId> = members.iter().map(|m| &m.iam_id).collect();
        listed.sort();
        assert_eq!(listed, [&user, &ghost]);

        // remove_members: the member goes; a non-member is already gone.
        let out = client
            .remove_members(&created.id, &[user.clone(), ghost.clone(), service.clone()])
            .await
            .unwrap();
        assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
        assert!(
            !out[0].already && !out[1].already && out[2].already,
            "{out:?}"
        );
        assert!(client.list_members(&created.id).await.unwrap().is_empty());
        // Nobody left to remove: IBM's whole-call 404 is "already removed".
        let out = client
            .remove_members(&created.id, std::slice::from_ref(&user))
            .await
            .unwrap();
        assert!(out[0].error.is_none() && out[0].already, "{out:?}");
        // ... but not for a group that does not exist.
        let err = client
            .remove_members(
                &AccessGroupId::new("AccessGroupId-nope"),
                std::slice::from_ref(&user),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(404));

        // invite_users: the invitee gets an iam_id, starts PROCESSING, lands in the group.
        let email = Email::new("Newcomer@Example.com");
        let invited = client
            .invite_users(
                &account,
                std::slice::from_ref(&email),
                std::slice::from_ref(&created.id),
            )
            .await
            .unwrap();
        assert_eq!(invited.len(), 1);
        assert_eq!(invited[0].email, email);
        assert_eq!(invited[0].state, UserState::Processing);
        let new_id = invited[0].iam_id.clone().expect("an iam_id");
        let users = client.list_users(&account).await.unwrap();
        assert!(users.iter().any(|u| u.iam_id == new_id && u.email == email));
        let members = client.list_members(&created.id).await.unwrap();
        assert!(members.iter().any(|m| m.iam_id == new_id));
        // Re-inviting while it is PROCESSING is IBM's 409: distinguishable, not ambiguous.
        let err = client
            .invite_users(&account, std::slice::from_ref(&email), &[])
            .await
            .unwrap_err();
        assert!(err.is_conflict() && !err.is_ambiguous(), "{err}");
        assert!(err.info().message.contains("processing"), "{err}");

        // remove_user.
        let removal: UserRemoval = client.remove_user(&account, &new_id).await.unwrap();
        assert!(!removal.already_gone);
        // Every call carries a transaction id (IBM's, or the one orgsync sent).
        assert!(removal.transaction_id.is_some_and(|t| !t.is_empty()));
        let users = client.list_users(&account).await.unwrap();
        assert!(!users.iter().any(|u| u.iam_id == new_id));
        // A 404 on a first attempt is an error: the user was never there.
        let err = client.remove_user(&account, &new_id).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn a_service_id_key_cannot_invite_and_the_error_says_why() {
        let state = synthetic(3, 1, 1, 1);
        let emu = start(state.clone(), Options::default()).await;
        let client = client(&emu.base_url(), emulator::SYNTHETIC_SERVICE_KEY, 2);
        let err = client
            .invite_users(
                &AccountId::new(state.account_id.clone()),
                &[Email::new("x@example.com")],
                &[],
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert!(err.to_string().contains("service ID"), "{err}");
        emu.shutdown().await;
    }
}
