//! The HTTP surface: IBM's paths, query parameters, headers and bodies, translated to
//! [`Store`] calls and back into IBM's wire format.
//!
//! Every API route passes through [`api_layer`], which counts it under its route template,
//! assigns the transaction id, and applies the injected faults. The admin routes
//! (`/__admin/...`) bypass it: they are not IBM's, not counted and never faulted.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, MatchedPath, Path, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post, put};
use serde::Serialize;

use super::faults::Fault;
use super::state::{KeyType, PUBLIC_ACCESS_ID, State, member_type_of};
use super::store::{Actor, ApiError, Store, etag};
use super::wire::*;
use super::{DropConnection, Shared, clock, token};

type Shr = Arc<Shared>;

pub fn router(shared: Shr) -> Router {
    let api = Router::new()
        .route("/identity/token", post(issue_token))
        .route(
            "/v2/accounts/{account_id}/users",
            get(list_users).post(invite_users),
        )
        .route(
            "/v2/accounts/{account_id}/users/{iam_id}",
            get(get_user).delete(remove_user),
        )
        .route(
            "/v3/accounts/{account_id}/users/{iam_id}",
            axum::routing::delete(remove_user_v3),
        )
        .route("/v2/groups", get(list_groups).post(create_group))
        .route(
            "/v2/groups/{access_group_id}",
            get(get_group).patch(update_group).delete(delete_group),
        )
        .route(
            "/v2/groups/{access_group_id}/members",
            get(list_members).put(add_members),
        )
        .route(
            "/v2/groups/{access_group_id}/members/{iam_id}",
            head(is_member).delete(remove_member),
        )
        .route(
            "/v2/groups/{access_group_id}/members/delete",
            post(remove_members),
        )
        .route(
            "/v2/groups/_allgroups/members/{iam_id}",
            put(add_to_groups).delete(remove_from_all),
        )
        .route_layer(middleware::from_fn_with_state(shared.clone(), api_layer));
    let admin = Router::new()
        .route("/__admin/state", get(admin_state).post(admin_set_state))
        .route("/__admin/stats", get(admin_stats))
        .route("/__admin/stats/reset", post(admin_reset_stats))
        // A benchmark account (10,000 users) is a few MB of JSON; axum's default is 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024));
    api.merge(admin)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

// ---- responses -----------------------------------------------------------------------

#[derive(Clone)]
struct Trace(String);

fn json<T: Serialize>(status: u16, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialize the response: {e}"),
        )
            .into_response(),
    }
}

fn error(trace: &str, e: ApiError) -> Response {
    json(
        e.status,
        &Envelope {
            trace: trace.to_string(),
            errors: vec![ErrorItem {
                code: e.code,
                message: e.message,
                more_info: e.more_info,
            }],
            status_code: e.status,
        },
    )
}

fn empty(status: u16) -> Response {
    StatusCode::from_u16(status)
        .unwrap_or(StatusCode::NO_CONTENT)
        .into_response()
}

fn with_etag(mut response: Response, tag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    error(
        "emulator",
        ApiError::new(
            404,
            "not_found",
            format!(
                "{method} {} is not an API the emulator serves (see SPEC §9).",
                uri.path()
            ),
        ),
    )
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    error(
        "emulator",
        ApiError::new(
            405,
            "method_not_allowed",
            format!("{method} is not allowed on {}.", uri.path()),
        ),
    )
}

// ---- the API layer: stats, transaction ids, faults ------------------------------------

/// Decrements the in-flight count even when the client goes away mid-request.
struct InFlight {
    shared: Shr,
    done: bool,
}

impl InFlight {
    fn finish(mut self, status: Option<u16>) {
        self.done = true;
        self.shared.stats.leave(status);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            self.shared.stats.abandon();
        }
    }
}

async fn api_layer(
    AxState(shared): AxState<Shr>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = format!(
        "{} {}",
        req.method(),
        matched.as_ref().map_or("<unmatched>", |m| m.as_str())
    );
    let trace = req
        .headers()
        .get("transaction-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let n = shared
                .traces
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!(
                "emulator-{:016x}",
                n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n
            )
        });
    req.extensions_mut().insert(Trace(trace.clone()));
    let arrived = std::time::Instant::now();
    shared.stats.enter(&route);
    let in_flight = InFlight {
        shared: shared.clone(),
        done: false,
    };
    let roll = shared.faults.roll();
    let admitted = shared.faults.admit();
    if !roll.delay.is_zero() {
        wait_until(arrived + roll.delay).await;
    }
    let mut response = match (admitted, roll.fault) {
        (Err(retry_after), _) => {
            // Decision (open question 9): plain text, as IBM's IAM services have sent.
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Too Many Requests: rate limit exceeded, retry after the Retry-After delay\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        (Ok(()), Fault::Fail(status)) => {
            let code = if status == 503 {
                "service_unavailable"
            } else {
                "internal_server_error"
            };
            error(
                &trace,
                ApiError::new(
                    status,
                    code,
                    "The service failed to process the request (injected fault); nothing was changed, retry.",
                ),
            )
        }
        (Ok(()), Fault::DropBefore) => dropped(),
        (Ok(()), Fault::DropAfter) => {
            let _ = next.run(req).await;
            dropped()
        }
        (Ok(()), Fault::None) => next.run(req).await,
    };
    if response.extensions().get::<DropConnection>().is_some() {
        tracing::debug!(route = %route, "emulator dropped the connection (fault injection)");
        in_flight.finish(None);
        return response;
    }
    if let Ok(value) = HeaderValue::from_str(&trace) {
        response
            .headers_mut()
            .insert("transaction-id", value.clone());
        response
            .headers_mut()
            .insert("x-global-transaction-id", value);
    }
    tracing::debug!(
        route = %route,
        status = response.status().as_u16(),
        elapsed_ms = u64::try_from(arrived.elapsed().as_millis()).unwrap_or(u64::MAX),
        "emulator answered"
    );
    in_flight.finish(Some(response.status().as_u16()));
    response
}

/// Sleeps until `deadline`, to a fraction of a millisecond.
///
/// Decision: tokio's timer has millisecond granularity and fires 1–2 ms late, so a
/// `--latency-ms 20` answer took ~22 ms; over a 100-page user cursor that is a tenth on top
/// of the round trips the latency is meant to model, and the benchmark would charge it to
/// orgsync. The coarse part waits on tokio's timer; the last 2 ms on a blocking thread's
/// `nanosleep`, which Linux honours to tens of microseconds.
async fn wait_until(deadline: std::time::Instant) {
    const FINE: std::time::Duration = std::time::Duration::from_millis(2);
    if let Some(coarse) = deadline.checked_sub(FINE)
        && coarse > std::time::Instant::now()
    {
        tokio::time::sleep_until(coarse.into()).await;
    }
    let rest = deadline.saturating_duration_since(std::time::Instant::now());
    if !rest.is_zero() {
        // A blocking-pool failure (runtime shutting down) only shortens the delay.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

fn dropped() -> Response {
    let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    r.extensions_mut().insert(DropConnection);
    r
}

// ---- request context -----------------------------------------------------------------

/// What every API handler needs from the request besides its path and body.
struct Call {
    trace: String,
    /// `http://host:port`, for the absolute hrefs of Access Groups.
    base: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
}

impl FromRequestParts<Shr> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &Shr) -> Result<Call, Infallible> {
        let trace = parts
            .extensions
            .get::<Trace>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Call {
            trace,
            base: format!("http://{host}"),
            query: parse_query(parts.uri.query().unwrap_or("")),
            headers: parts.headers.clone(),
        })
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "invalid_parameter", message)
}

impl Call {
    fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(false),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(bad(format!(
                "Query parameter {name}={other:?} must be true or false."
            ))),
        }
    }

    fn number(
        &self,
        name: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(bad(format!(
                    "Query parameter {name}={raw:?} must be an integer from {min} to {max}."
                ))),
            },
        }
    }

    fn offset(&self) -> Result<usize, ApiError> {
        self.number("offset", 0, 0, usize::MAX / 2)
    }

    /// The caller behind the bearer token; 401 in the platform envelope otherwise.
    fn actor(&self, shared: &Shared) -> Result<Actor, ApiError> {
        let unauthorized =
            |message: &str| ApiError::new(401, "invalid_access_token", message.to_string());
        let value = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthorized("The request has no Authorization header; send `Authorization: Bearer <token>` from POST /identity/token.")
            })?;
        let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(unauthorized(
                "The Authorization header is not a bearer token; send `Authorization: Bearer <token>`.",
            ));
        }
        let account = shared.lock().account_id().to_string();
        match token::verify(token.trim(), &account, clock::now_ms() / 1000) {
            Ok(caller) => Ok(Actor {
                iam_id: caller.iam_id,
                kind: caller.kind,
            }),
            Err(token::Refused::Expired) => Err(unauthorized(
                "The provided access token has expired; request a new one from POST /identity/token.",
            )),
            Err(_) => Err(unauthorized(
                "The provided access token is invalid (not issued by this service for this account).",
            )),
        }
    }

    /// The `account_id` query parameter, required and of this account.
    fn account(&self, store: &Store) -> Result<(), ApiError> {
        let Some(account) = self.get("account_id").filter(|a| !a.is_empty()) else {
            return Err(bad("Query parameter account_id is required."));
        };
        store.check_account(account)
    }
}

/// Splits a query string into decoded pairs (`+` is a space, `%XX` a byte).
fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Parses a JSON body into `T`, or a 400 naming what is wrong.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            400,
            "invalid_body",
            format!("The request body is not valid JSON of the expected shape: {e}."),
        )
    })
}

macro_rules! tri {
    ($call:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return error(&$call.trace, err),
        }
    };
}

// ---- token service -------------------------------------------------------------------

async fn issue_token(AxState(shared): AxState<Shr>, call: Call, bytes: Bytes) -> Response {
    let started = clock::now_ms();
    let form = parse_query(&String::from_utf8_lossy(&bytes));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let refuse = |status: u16, code: &'static str, message: &str| {
        let now = clock::now_ms();
        json(
            status,
            &TokenError {
                error_code: code,
                error_message: message.to_string(),
                context: TokenErrorContext {
                    request_id: call.trace.clone(),
                    request_type: "incoming.Identity_Token",
                    user_agent: call
                        .headers
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string(),
                    url: call.base.clone(),
                    instance_id: "iamid-emulator-0",
                    thread_id: "1",
                    host: "iamid-emulator-0",
                    start_time: clock::iam_context(started),
                    end_time: clock::iam_context(now),
                    elapsed_time: now.saturating_sub(started).to_string(),
                    locale: "en_US",
                    cluster_name: "orgsync-emulator",
                },
            },
        )
    };
    match field("grant_type") {
        Some("urn:ibm:params:oauth:grant-type:apikey") => {}
        Some(_) => {
            return refuse(
                400,
                "BXNIM0109E",
                "Provided grant type is not supported by the emulator; use urn:ibm:params:oauth:grant-type:apikey.",
            );
        }
        None => return refuse(400, "BXNIM0109E", "Property 'grant_type' is missing."),
    }
    let Some(apikey) = field("apikey").filter(|k| !k.is_empty()) else {
        return refuse(400, "BXNIM0415E", "Provided API key could not be found.");
    };
    let (owner, account) = {
        let store = shared.lock();
        (store.key_owner(apikey), store.account_id().to_string())
    };
    let Some((iam_id, kind, email)) = owner else {
        return refuse(400, "BXNIM0415E", "Provided API key could not be found.");
    };
    let iat = clock::now_ms() / 1000;
    let ttl = shared.options.token_ttl.as_secs();
    let exp = iat + ttl;
    let access_token = token::mint(
        &account,
        &iam_id,
        email.as_deref(),
        kind,
        iat,
        exp,
        &call.trace,
    );
    json(
        200,
        &TokenResponse {
            access_token,
            refresh_token: match kind {
                KeyType::Service => "not_supported".into(),
                KeyType::User => format!("emulator-refresh-{}", call.trace),
            },
            token_type: "Bearer",
            expires_in: ttl,
            expiration: exp,
            scope: "ibm openid",
        },
    )
}

// ---- User Management v2 --------------------------------------------------------------

fn profile(store: &Store, user: &super::state::User) -> UserProfile {
    let id = super::state::uuid_from(&[b"user-id", user.iam_id.as_bytes()]).replace('-', "");
    UserProfile {
        id,
        iam_id: user.iam_id.clone(),
        realm: "IBMid",
        user_id: user.email.clone(),
        firstname: user.firstname.clone(),
        lastname: user.lastname.clone(),
        state: user.state.clone(),
        email: user.email.clone(),
        phonenumber: String::new(),
        altphonenumber: String::new(),
        photo: String::new(),
        account_id: store.account_id().to_string(),
        added_on: user.added_on.clone().unwrap_or_default(),
    }
}

/// The `search` filter of list users: `field:value` terms, comma-separated, any may match;
/// values compare case-insensitively and exactly.
fn user_filter(search: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(search) = search.filter(|s| !s.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    search
        .split(',')
        .map(|term| {
            let (field, value) = term.split_once(':').ok_or_else(|| {
                bad(format!(
                    "search term {term:?} must be field:value, e.g. state:ACTIVE."
                ))
            })?;
            let field = field.trim();
            if ![
                "firstname",
                "lastname",
                "email",
                "state",
                "substate",
                "iam_id",
                "realm",
                "userId",
            ]
            .contains(&field)
            {
                return Err(bad(format!("search field {field:?} is not supported.")));
            }
            Ok((field.to_string(), value.trim().to_lowercase()))
        })
        .collect()
}

fn user_matches(user: &super::state::User, terms: &[(String, String)]) -> bool {
    terms.is_empty()
        || terms.iter().any(|(field, value)| {
            let actual = match field.as_str() {
                "firstname" => user.firstname.clone(),
                "lastname" => user.lastname.clone(),
                "email" | "userId" => user.email.clone(),
                "state" => user.state.clone(),
                "iam_id" => user.iam_id.clone(),
                "realm" => "IBMid".into(),
                _ => String::new(),
            };
            actual.to_lowercase() == *value
        })
}

fn encode_cursor(seq: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("emu:{seq}"))
}

fn decode_cursor(raw: &str) -> Option<u64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("emu:")?
        .parse()
        .ok()
}

async fn list_users(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(account_id): Path<String>,
) -> Response {
    tri!(call, call.actor(&shared));
    let limit = tri!(call, call.number("limit", 100, 1, 100));
    let terms = tri!(call, user_filter(call.get("search")));
    let include_settings = tri!(call, call.flag("include_settings"));
    let start = match call.get("_start") {
        None => 0,
        Some(raw) => tri!(
            call,
            decode_cursor(raw).ok_or_else(|| bad(format!(
                "_start={raw:?} is not a cursor this service issued; take it from next_url."
            )))
        ),
    };
    let user_id = call.get("user_id").map(str::to_lowercase);
    let result = shared.with_store(|store| {
        store.check_account(&account_id)?;
        let filter = |u: &super::state::User| {
            user_matches(u, &terms)
                && user_id
                    .as_ref()
                    .is_none_or(|id| u.email.to_lowercase() == *id)
        };
        let (page, total, next) = store.list_users(&filter, start, limit);
        let mut query = format!("limit={limit}");
        if let Some(s) = call.get("search") {
            query.push_str(&format!("&search={}", percent_encode(s)));
        }
        if let Some(id) = call.get("user_id") {
            query.push_str(&format!("&user_id={}", percent_encode(id)));
        }
        if include_settings {
            query.push_str("&include_settings=true");
        }
        let path = format!("/v2/accounts/{}/users", store.account_id());
        Ok(UserList {
            total_results: total,
            limit,
            first_url: format!("{path}?{query}"),
            next_url: next.map(|seq| format!("{path}?{query}&_start={}", encode_cursor(seq))),
            resources: page.into_iter().map(|u| profile(store, u)).collect(),
        })
    });
    json(200, &tri!(call, result))
}

async fn get_user(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path((account_id, iam_id)): Path<(String, String)>,
) -> Response {
    tri!(call, call.actor(&shared));
    let result = shared.with_store(|store| {
        store.check_account(&account_id)?;
        store
            .user(&iam_id)
            .map(|u| profile(store, u))
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "user_not_found",
                    format!("User {iam_id} was not found in account {account_id}."),
                )
            })
    });
    json(200, &tri!(call, result))
}

async fn invite_users(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(account_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = tri!(call, call.actor(&shared));
    let request: InviteRequest = tri!(call, body(&bytes));
    let mut emails = Vec::new();
    for user in request.users.unwrap_or_default() {
        match user.email {
            Some(e) => emails.push(e),
            None => return error(&call.trace, bad("Every entry of `users` needs an email.")),
        }
    }
    let groups = request.access_groups.unwrap_or_default();
    let processing = u64::try_from(shared.options.processing.as_millis()).unwrap_or(u64::MAX);
    let result = shared.with_store(|store| {
        store.check_account(&account_id)?;
        store.invite(&actor, &emails, &groups, clock::now_ms(), processing)
    });
    let invited = tri!(call, result);
    for (email, _, _) in &invited {
        shared.stats.invited(email);
    }
    json(
        202,
        &InvitedUserList {
            resources: invited
                .into_iter()
                .map(|(email, id, state)| InvitedUser { email, id, state })
                .collect(),
        },
    )
}

async fn remove_user(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path((account_id, iam_id)): Path<(String, String)>,
) -> Response {
    remove_user_answering(shared, call, &account_id, &iam_id, 204)
}

/// `DELETE /v3/...`: IBM's asynchronous removal answers 202; the emulator removes at once.
async fn remove_user_v3(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path((account_id, iam_id)): Path<(String, String)>,
) -> Response {
    remove_user_answering(shared, call, &account_id, &iam_id, 202)
}

fn remove_user_answering(
    shared: Shr,
    call: Call,
    account_id: &str,
    iam_id: &str,
    status: u16,
) -> Response {
    let actor = tri!(call, call.actor(&shared));
    tri!(
        call,
        shared.with_store(|store| {
            store.check_account(account_id)?;
            store.remove_user(&actor, iam_id)
        })
    );
    empty(status)
}

// ---- IAM Access Groups v2 ------------------------------------------------------------

fn group_body(
    call: &Call,
    store: &Store,
    group: &super::state::Group,
) -> Result<GroupBody, ApiError> {
    let show_federated = call.flag("show_federated")?;
    let show_crn = call.flag("show_crn")?;
    Ok(GroupBody {
        id: group.id.clone(),
        name: group.name.clone(),
        description: group.description.clone(),
        account_id: store.account_id().to_string(),
        created_at: group.created_at.clone().unwrap_or_default(),
        created_by_id: group.created_by_id.clone().unwrap_or_default(),
        last_modified_at: group.last_modified_at.clone().unwrap_or_default(),
        last_modified_by_id: group.last_modified_by_id.clone().unwrap_or_default(),
        href: format!("{}/v2/groups/{}", call.base, group.id),
        is_federated: show_federated.then_some(false),
        crn: show_crn.then(|| {
            format!(
                "crn:v1:bluemix:public:iam-access-groups::a/{}::access-group:{}",
                store.account_id(),
                group.id
            )
        }),
    })
}

/// Offset paging links. `fixed` is the query before `limit`/`offset`, already encoded.
fn page(base_path: &str, fixed: &str, limit: usize, offset: usize, total: usize) -> Page {
    let href = |off: usize| {
        let sep = if fixed.is_empty() { "" } else { "&" };
        Href {
            href: format!("{base_path}?{fixed}{sep}limit={limit}&offset={off}"),
        }
    };
    // limit=0 pages nowhere: only `first` (no division by zero, no endless `next`).
    let (previous, next, last) = match total.saturating_sub(1).checked_div(limit) {
        None => (None, None, None),
        Some(last_page) => (
            (offset > 0).then(|| href(offset.saturating_sub(limit))),
            (offset + limit < total).then(|| href(offset + limit)),
            Some(href(last_page * limit)),
        ),
    };
    Page {
        limit,
        offset,
        total_count: total,
        first: href(0),
        previous,
        next,
        last,
    }
}

/// The filter parameters of a list call, re-encoded for its paging links.
fn fixed_query(call: &Call, names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|n| call.get(n).map(|v| format!("{n}={}", percent_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

fn sort_key(sort: Option<&str>, allowed: &[&str]) -> Result<Option<(String, bool)>, ApiError> {
    let Some(raw) = sort.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let (field, descending) = match raw.strip_prefix('-') {
        Some(f) => (f, true),
        None => (raw, false),
    };
    if allowed.contains(&field) {
        Ok(Some((field.to_string(), descending)))
    } else {
        Err(bad(format!(
            "sort={raw:?} is not supported; use one of {}.",
            allowed.join(", ")
        )))
    }
}

async fn list_groups(AxState(shared): AxState<Shr>, call: Call) -> Response {
    tri!(call, call.actor(&shared));
    let limit = tri!(call, call.number("limit", 50, 0, 100));
    let offset = tri!(call, call.offset());
    let hide_public = tri!(call, call.flag("hide_public_access"));
    let sort = tri!(
        call,
        sort_key(
            call.get("sort"),
            &["id", "name", "description", "is_federated"]
        )
    );
    let membership = call.get("membership_type");
    if let Some(m) = membership
        && !["static", "dynamic", "all"].contains(&m)
    {
        return error(
            &call.trace,
            bad("membership_type must be static, dynamic or all."),
        );
    }
    let member = call.get("iam_id").filter(|m| !m.is_empty());
    if membership.is_some() && member.is_none() {
        return error(&call.trace, bad("membership_type requires iam_id."));
    }
    let search = call.get("search").map(|s| s.to_lowercase());
    let result = shared.with_store(|store| {
        call.account(store)?;
        let matches = |g: &super::state::Group| match search.as_deref() {
            None | Some("") => true,
            Some(s) => match s.split_once(':') {
                Some(("id", v)) => g.id.to_lowercase().contains(v),
                Some(("name", v)) => g.name.to_lowercase().contains(v),
                Some(("description", v)) => g.description.to_lowercase().contains(v),
                _ => g.name.to_lowercase().contains(s),
            },
        };
        // Dynamic memberships do not exist in the emulator.
        let mut groups = if membership == Some("dynamic") {
            Vec::new()
        } else {
            store.list_groups(hide_public, member, &matches)
        };
        if let Some((field, descending)) = &sort {
            groups.sort_by(|a, b| {
                let order = match field.as_str() {
                    "id" => a.id.cmp(&b.id),
                    "description" => a
                        .description
                        .to_lowercase()
                        .cmp(&b.description.to_lowercase()),
                    "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                    _ => std::cmp::Ordering::Equal,
                };
                if *descending { order.reverse() } else { order }
            });
        }
        let total = groups.len();
        let items = groups
            .iter()
            .skip(offset)
            .take(limit)
            .map(|g| group_body(&call, store, g))
            .collect::<Result<Vec<_>, _>>()?;
        let fixed = fixed_query(
            &call,
            &[
                "account_id",
                "iam_id",
                "membership_type",
                "search",
                "sort",
                "show_federated",
                "hide_public_access",
                "show_crn",
            ],
        );
        Ok(GroupsList {
            page: page(
                &format!("{}/v2/groups", call.base),
                &fixed,
                limit,
                offset,
                total,
            ),
            groups: items,
        })
    });
    json(200, &tri!(call, result))
}

async fn create_group(AxState(shared): AxState<Shr>, call: Call, bytes: Bytes) -> Response {
    let actor = tri!(call, call.actor(&shared));
    let request: CreateGroupRequest = tri!(call, body(&bytes));
    let Some(name) = request.name else {
        return error(
            &call.trace,
            ApiError::new(400, "invalid_body", "The access group name is required."),
        );
    };
    let description = request.description.unwrap_or_default();
    let result = shared.with_store(|store| {
        call.account(store)?;
        let group = store.create_group(&actor, &name, &description, clock::now_ms())?;
        Ok((group_body(&call, store, &group)?, etag(&group)))
    });
    let (group, tag) = tri!(call, result);
    with_etag(json(201, &group), &tag)
}

fn group_of<'a>(store: &'a Store, id: &str) -> Result<&'a super::state::Group, ApiError> {
    if id == PUBLIC_ACCESS_ID {
        return Ok(store.public_access());
    }
    store.group(id).ok_or_else(|| {
        ApiError::new(
            404,
            "not_found",
            format!(
                "Access group {id} was not found in account {}.",
                store.account_id()
            ),
        )
    })
}

async fn get_group(AxState(shared): AxState<Shr>, call: Call, Path(id): Path<String>) -> Response {
    tri!(call, call.actor(&shared));
    let result = shared.with_store(|store| {
        let group = group_of(store, &id)?;
        Ok((group_body(&call, store, group)?, etag(group)))
    });
    let (group, tag) = tri!(call, result);
    with_etag(json(200, &group), &tag)
}

async fn update_group(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = tri!(call, call.actor(&shared));
    let request: UpdateGroupRequest = tri!(call, body(&bytes));
    let if_match = call
        .headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let result = shared.with_store(|store| {
        let group = store.update_group(
            &actor,
            &id,
            if_match.as_deref(),
            request.name.as_deref(),
            request.description.as_deref(),
            clock::now_ms(),
        )?;
        Ok((group_body(&call, store, &group)?, etag(&group)))
    });
    let (group, tag) = tri!(call, result);
    with_etag(json(200, &group), &tag)
}

async fn delete_group(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(id): Path<String>,
) -> Response {
    tri!(call, call.actor(&shared));
    let force = tri!(call, call.flag("force"));
    tri!(
        call,
        shared.with_store(|store| store.delete_group(&id, force))
    );
    empty(204)
}

async fn list_members(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(id): Path<String>,
) -> Response {
    tri!(call, call.actor(&shared));
    let limit = tri!(call, call.number("limit", 50, 0, 100));
    let offset = tri!(call, call.offset());
    let verbose = tri!(call, call.flag("verbose"));
    let kind = call.get("type");
    if let Some(k) = kind
        && !["user", "service", "profile"].contains(&k)
    {
        return error(&call.trace, bad("type must be user, service or profile."));
    }
    let membership = call.get("membership_type");
    if let Some(m) = membership
        && !["static", "dynamic", "all"].contains(&m)
    {
        return error(
            &call.trace,
            bad("membership_type must be static, dynamic or all."),
        );
    }
    let sort = tri!(call, sort_key(call.get("sort"), &["id", "name", "email"]));
    let result = shared.with_store(|store| {
        // Names and emails are looked up only when the answer or the order needs them.
        let details = verbose || sort.as_ref().is_some_and(|(f, _)| f != "id");
        let mut members: Vec<_> = store
            .members(&id)?
            .iter()
            .filter(|m| kind.is_none_or(|k| m.kind == k) && membership != Some("dynamic"))
            .map(|m| {
                let found = if details {
                    store.member_details(&m.iam_id)
                } else {
                    (None, None, None)
                };
                (m, found)
            })
            .collect();
        if let Some((field, descending)) = &sort {
            members.sort_by(|a, b| {
                let order = match field.as_str() {
                    "name" => a.1.0.cmp(&b.1.0),
                    "email" => a.1.1.cmp(&b.1.1),
                    _ => a.0.iam_id.cmp(&b.0.iam_id),
                };
                if *descending { order.reverse() } else { order }
            });
        }
        let total = members.len();
        let items = members
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(m, (name, email, description))| {
                let href = match m.kind.as_str() {
                    "user" => format!(
                        "{}/v2/accounts/{}/users/{}",
                        call.base,
                        store.account_id(),
                        m.iam_id
                    ),
                    "service" => format!(
                        "{}/v1/serviceids/{}",
                        call.base,
                        m.iam_id.trim_start_matches("iam-")
                    ),
                    _ => format!(
                        "{}/v1/profiles/{}",
                        call.base,
                        m.iam_id.trim_start_matches("iam-")
                    ),
                };
                MemberBody {
                    iam_id: m.iam_id.clone(),
                    kind: m.kind.clone(),
                    membership_type: "static",
                    name: if verbose { name } else { None },
                    email: if verbose { email } else { None },
                    description: if verbose { description } else { None },
                    href,
                    created_at: m.created_at.clone().unwrap_or_default(),
                    created_by_id: m.created_by_id.clone().unwrap_or_default(),
                }
            })
            .collect();
        let fixed = fixed_query(&call, &["membership_type", "type", "verbose", "sort"]);
        Ok(MembersList {
            page: page(
                &format!("{}/v2/groups/{id}/members", call.base),
                &fixed,
                limit,
                offset,
                total,
            ),
            members: items,
        })
    });
    json(200, &tri!(call, result))
}

fn item_error(
    trace: &str,
    status: u16,
    code: &str,
    message: String,
) -> (Option<String>, Option<Vec<ItemError>>, u16) {
    (
        Some(trace.to_string()),
        Some(vec![ItemError {
            code: code.to_string(),
            message,
        }]),
        status,
    )
}

async fn add_members(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = tri!(call, call.actor(&shared));
    let request: AddMembersRequest = tri!(call, body(&bytes));
    let mut members = Vec::new();
    for item in request.members.unwrap_or_default() {
        match (item.iam_id, item.kind) {
            (Some(iam_id), Some(kind)) => members.push((iam_id, kind)),
            _ => {
                return error(
                    &call.trace,
                    ApiError::new(
                        400,
                        "invalid_body",
                        "Every member needs an iam_id and a type.",
                    ),
                );
            }
        }
    }
    let result =
        shared.with_store(|store| store.add_members(&actor, &id, &members, clock::now_ms()));
    let results = tri!(call, result);
    let members = results
        .into_iter()
        .map(|(iam_id, kind, r)| match r {
            Ok(m) => AddMemberResult {
                iam_id,
                kind,
                created_at: m.created_at,
                created_by_id: m.created_by_id,
                status_code: 200,
                trace: None,
                errors: None,
            },
            Err((status, code, message)) => {
                let (trace, errors, status_code) = item_error(&call.trace, status, code, message);
                AddMemberResult {
                    iam_id,
                    kind,
                    created_at: None,
                    created_by_id: None,
                    status_code,
                    trace,
                    errors,
                }
            }
        })
        .collect();
    json(207, &AddMembersResponse { members })
}

async fn is_member(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path((id, iam_id)): Path<(String, String)>,
) -> Response {
    if let Err(e) = call.actor(&shared) {
        return empty(e.status);
    }
    let member = shared.with_store(|store| Ok(store.is_member(&id, &iam_id)));
    empty(if matches!(member, Ok(true)) { 204 } else { 404 })
}

async fn remove_member(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path((id, iam_id)): Path<(String, String)>,
) -> Response {
    tri!(call, call.actor(&shared));
    tri!(
        call,
        shared.with_store(|store| store.remove_member(&id, &iam_id))
    );
    empty(204)
}

async fn remove_members(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    tri!(call, call.actor(&shared));
    let request: BulkDeleteRequest = tri!(call, body(&bytes));
    let iam_ids = request.members.unwrap_or_default();
    let found = tri!(
        call,
        shared.with_store(|store| store.remove_members(&id, &iam_ids))
    );
    let members = found
        .into_iter()
        .map(|(iam_id, was_member)| {
            if was_member {
                BulkDeleteResult {
                    iam_id,
                    trace: call.trace.clone(),
                    status_code: 200,
                    errors: None,
                }
            } else {
                let message = format!("{iam_id} is not a member of access group {id}.");
                BulkDeleteResult {
                    iam_id,
                    trace: call.trace.clone(),
                    status_code: 404,
                    errors: Some(vec![ItemError {
                        code: "member_not_found".into(),
                        message,
                    }]),
                }
            }
        })
        .collect();
    json(
        207,
        &BulkDeleteResponse {
            access_group_id: id,
            members,
        },
    )
}

async fn remove_from_all(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(iam_id): Path<String>,
) -> Response {
    tri!(call, call.actor(&shared));
    let result = shared.with_store(|store| {
        call.account(store)?;
        store.remove_from_all(&iam_id)
    });
    let left = tri!(call, result);
    json(
        207,
        &AllGroupsResponse {
            iam_id,
            groups: left
                .into_iter()
                .map(|access_group_id| AllGroupsResult {
                    access_group_id,
                    status_code: 200,
                    trace: None,
                    errors: None,
                })
                .collect(),
        },
    )
}

async fn add_to_groups(
    AxState(shared): AxState<Shr>,
    call: Call,
    Path(iam_id): Path<String>,
    bytes: Bytes,
) -> Response {
    let actor = tri!(call, call.actor(&shared));
    let request: AddToGroupsRequest = tri!(call, body(&bytes));
    let kind = match request.kind {
        Some(k) => k,
        None => match member_type_of(&iam_id) {
            Some(k) => k.to_string(),
            None => {
                return error(
                    &call.trace,
                    ApiError::new(400, "invalid_body", "The member type is required."),
                );
            }
        },
    };
    let groups = request.groups.unwrap_or_default();
    let result = shared.with_store(|store| {
        call.account(store)?;
        store.add_to_groups(&actor, &iam_id, &kind, &groups, clock::now_ms())
    });
    let results = tri!(call, result);
    json(
        207,
        &AllGroupsResponse {
            iam_id,
            groups: results
                .into_iter()
                .map(|(access_group_id, r)| match r {
                    Ok(()) => AllGroupsResult {
                        access_group_id,
                        status_code: 200,
                        trace: None,
                        errors: None,
                    },
                    Err((status, code, message)) => {
                        let (trace, errors, status_code) =
                            item_error(&call.trace, status, code, message);
                        AllGroupsResult {
                            access_group_id,
                            status_code,
                            trace,
                            errors,
                        }
                    }
                })
                .collect(),
        },
    )
}

// ---- admin ---------------------------------------------------------------------------

async fn admin_state(AxState(shared): AxState<Shr>) -> Response {
    json(200, &shared.snapshot())
}

async fn admin_set_state(AxState(shared): AxState<Shr>, bytes: Bytes) -> Response {
    let text = String::from_utf8_lossy(&bytes);
    let state = match State::parse(&text) {
        Ok(s) => s,
        Err(e) => return error("admin", ApiError::new(400, "invalid_state", e)),
    };
    match shared.replace(state) {
        Ok(()) => empty(204),
        Err(e) => error("admin", ApiError::new(500, "persist_failed", e)),
    }
}

async fn admin_stats(AxState(shared): AxState<Shr>) -> Response {
    json(200, &shared.stats.to_json())
}

async fn admin_reset_stats(AxState(shared): AxState<Shr>) -> Response {
    shared.stats.reset();
    empty(204)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_handles_plus_percent_and_garbage() {
        assert_eq!(
            parse_query("a=1&search=state%3AACTIVE&b=x+y&&c=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("search".into(), "state:ACTIVE".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "%zz".into()),
            ]
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_foreign_values() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("42"), None);
    }

    #[test]
    fn paging_links_have_integer_offsets_and_no_next_on_last_page() {
        let p = page("http://h/v2/groups", "account_id=a", 50, 100, 120);
        assert_eq!(
            p.previous.map(|h| h.href),
            Some("http://h/v2/groups?account_id=a&limit=50&offset=50".into())
        );
        assert!(p.next.is_none());
        assert_eq!(
            p.last.map(|h| h.href),
            Some("http://h/v2/groups?account_id=a&limit=50&offset=100".into())
        );
        let p = page("http://h/m", "", 50, 0, 0);
        assert_eq!(p.first.href, "http://h/m?limit=50&offset=0");
        assert!(p.next.is_none() && p.previous.is_none());
    }
}
