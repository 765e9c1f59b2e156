//! A stand-in for IBM Cloud that answers what the test scripts, for the client tests that
//! need answers the emulator does not give on demand: a 401 mid-run, a lying
//! `total_count`, HTML error pages, truncated JSON, a slow answer, a refused write.
//!
//! A [`Stub`] serves an axum router ([`Stub::serve`]), a script of replies
//! ([`Stub::script`]), or forwards to an upstream emulator ([`Stub::proxy`]), and records
//! every request it saw and every token handed out through it, so a test can count calls
//! and look for secrets by their exact value. Its tokens are real JWTs ([`jwt`]).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgsync::iam::{Client, RetryPolicy};
use serde_json::{Value, json};

use super::{ACCOUNT, Connect};

/// The API key stub clients send: unusual enough that finding it anywhere proves a leak.
pub const STUB_KEY: &str = "stub-secret-Api-Key-9f8e7d6c5b4a";
/// Whom the stub's tokens name.
pub const CALLER: &str = "IBMid-CALLER";

/// One request as the stub received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub if_match: Option<String>,
    pub body: String,
}

impl Seen {
    /// The value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }
}

/// The value of `name` in a query string (`a=1&b=2`), undecoded.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// What a script answers.
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "text/plain".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Answers only after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    async fn send(self) -> Response {
        tokio::time::sleep(self.delay).await;
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::IM_A_TEAPOT);
        let mut response = (status, self.body).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = value.parse() {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A script: the reply to a request, given the request and how many requests with the same
/// method and path came before it.
type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// What the recording layer tells the handler about the request.
#[derive(Clone)]
struct Recorded {
    seen: Seen,
    index: usize,
}

#[derive(Default)]
struct Log {
    seen: Mutex<Vec<Seen>>,
    tokens: Mutex<Vec<String>>,
    secrets: Mutex<BTreeSet<String>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running stub on 127.0.0.1; stopped when dropped.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Log>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    /// Serves `app`, recording every request and every token answer.
    pub async fn serve(app: Router) -> Stub {
        let log = Arc::new(Log::default());
        let app = app.layer(axum::middleware::from_fn_with_state(log.clone(), record));
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("the stub cannot bind: {e}"),
        };
        let base = match listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(e) => panic!("the stub has no address: {e}"),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { base, log, task }
    }

    /// Answers every request with `script(request, earlier requests to its method and path)`.
    pub async fn script(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Stub {
        let script: Arc<Script> = Arc::new(script);
        let handler = move |Extension(r): Extension<Recorded>| {
            let reply = script(&r.seen, r.index);
            reply.send()
        };
        Stub::serve(Router::new().fallback(handler)).await
    }

    /// Answers the token call as IBM does ([`token_reply`]) and every other request with
    /// `script`, as [`Stub::script`] does.
    pub async fn api(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Stub {
        Stub::script(move |seen, n| token_reply(seen, n).unwrap_or_else(|| script(seen, n))).await
    }

    /// Forwards every request to `upstream` (the emulator), unless `intercept` answers it
    /// itself: a proxy that sees each token and can refuse chosen calls.
    pub async fn proxy(
        upstream: String,
        intercept: impl Fn(&Seen, usize) -> Option<Reply> + Send + Sync + 'static,
    ) -> Stub {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
        {
            Ok(c) => c,
            Err(e) => panic!("the proxy's client: {e}"),
        };
        let intercept = Arc::new(intercept);
        let handler = move |Extension(r): Extension<Recorded>, headers: HeaderMap, body: Bytes| {
            let reply = intercept(&r.seen, r.index);
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                match reply {
                    Some(reply) => reply.send().await,
                    None => forward(&client, &upstream, &r.seen, headers, body).await,
                }
            }
        };
        Stub::serve(Router::new().fallback(handler)).await
    }

    /// Every request so far, in the order they arrived.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.log.seen).clone()
    }

    /// Requests with this method and path.
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.log.seen)
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }

    /// Requests of any kind.
    pub fn calls(&self) -> usize {
        lock(&self.log.seen).len()
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> u64 {
        self.log.max_in_flight.load(Ordering::SeqCst)
    }

    /// The access tokens handed out, in order.
    pub fn tokens(&self) -> Vec<String> {
        lock(&self.log.tokens).clone()
    }

    /// Every secret that passed through: access and refresh tokens handed out, bearer
    /// tokens presented.
    pub fn secrets(&self) -> BTreeSet<String> {
        lock(&self.log.secrets).clone()
    }

    /// Every way one of [`Stub::secrets`] or `key` could be spelled out: whole, and each
    /// JWT segment unique to its token (the header segment is the same for every token, so
    /// finding it proves nothing).
    pub fn needles(&self, key: &str) -> Vec<String> {
        let mut out = vec![key.to_string()];
        for s in self.secrets() {
            let segments: Vec<&str> = s.split('.').collect();
            if segments.len() == 3 {
                out.extend(segments.iter().skip(1).map(|p| p.to_string()));
            }
            out.push(s);
        }
        out
    }

    /// A client of this stub with [`STUB_KEY`] and quick retries (5 attempts).
    pub fn client(&self) -> Client {
        Connect::to(&self.base)
            .retries(quick_retries(5, Duration::from_secs(2)))
            .client()
    }
}

/// Short backoffs (10 ms doubling to 50 ms), `max_attempts` attempts, `Retry-After`
/// honoured up to `retry_after_cap`: retries a test can wait for.
pub fn quick_retries(max_attempts: u32, retry_after_cap: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        retry_after_cap,
    }
}

/// The recording layer: logs the request, tells the handler its index, counts requests in
/// flight, and keeps every token a token answer hands out.
async fn record(State(log): State<Arc<Log>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let header = |n: &str| {
        let value = parts.headers.get(n)?.to_str().ok()?;
        Some(value.to_string())
    };
    let seen = Seen {
        at: Instant::now(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        authorization: header("authorization"),
        if_match: header("if-match"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    if let Some(bearer) = seen
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        lock(&log.secrets).insert(bearer.to_string());
    }
    let index = {
        let mut all = lock(&log.seen);
        all.push(seen.clone());
        all.iter()
            .filter(|s| s.method == seen.method && s.path == seen.path)
            .count()
            - 1
    };
    let token_call = seen.path == "/identity/token";
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(Recorded { seen, index });
    let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    log.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = next.run(request).await;
    log.in_flight.fetch_sub(1, Ordering::SeqCst);
    if token_call {
        keep_tokens(&log, response).await
    } else {
        response
    }
}

async fn keep_tokens(log: &Log, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Ok(answer) = serde_json::from_slice::<Value>(&bytes) {
        if let Some(token) = answer["access_token"].as_str() {
            lock(&log.tokens).push(token.to_string());
        }
        for key in ["access_token", "refresh_token"] {
            if let Some(t) = answer[key].as_str() {
                lock(&log.secrets).insert(t.to_string());
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    seen: &Seen,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = if seen.query.is_empty() {
        String::new()
    } else {
        format!("?{}", seen.query)
    };
    let method = seen.method.parse().unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, format!("{upstream}{}{query}", seen.path));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let Ok(reply) = request.body(body).send().await else {
        return (StatusCode::BAD_GATEWAY, "upstream failed").into_response();
    };
    let mut response = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let bytes = reply.bytes().await.unwrap_or_default();
    response.body(Body::from(bytes)).unwrap_or_default()
}

/// The token endpoint as IBM answers it: a fresh [`jwt`] for [`CALLER`] on every call.
pub fn token_route() -> MethodRouter {
    let serial = Arc::new(AtomicUsize::new(0));
    post(move || {
        let n = serial.fetch_add(1, Ordering::SeqCst);
        async move { Json(token_body(n)) }
    })
}

/// The token answer, when `seen` is the token call (the `n`th).
fn token_reply(seen: &Seen, n: usize) -> Option<Reply> {
    (seen.path == "/identity/token").then(|| Reply::json(200, token_body(n)))
}

fn token_body(serial: usize) -> Value {
    json!({
        "access_token": jwt(CALLER, serial),
        "refresh_token": "not_supported",
        "token_type": "Bearer",
        "expires_in": 3600,
        "expiration": unix_now() + 3600,
        "scope": "ibm openid",
    })
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A well-formed JWT with the claims orgsync reads: `iam_id`, the account ([`ACCOUNT`]),
/// issued now for an hour. `serial` makes it unique, so a test can look for exactly the
/// token it handed out.
pub fn jwt(iam_id: &str, serial: usize) -> String {
    let iat = unix_now();
    let claims = json!({
        "iam_id": iam_id, "id": iam_id, "sub": "caller@example.com",
        "jti": format!("stub-{serial}-{iat}"),
        "account": {"valid": true, "bss": ACCOUNT},
        "iat": iat, "exp": iat + 3600,
    });
    encode_jwt(&claims, serial)
}

/// `header.claims.signature`, each base64url without padding; the signature is not one.
pub fn encode_jwt(claims: &Value, serial: usize) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(format!("signature-{serial}"));
    format!("{header}.{payload}.{signature}")
}

/// The claims of a JWT (its second segment); fails the test unless it is one.
pub fn jwt_claims(token: &str) -> Value {
    let Some(payload) = token.split('.').nth(1) else {
        panic!("a JWT has 3 segments: {token}");
    };
    let json = match URL_SAFE_NO_PAD.decode(payload) {
        Ok(j) => j,
        Err(e) => panic!("the JWT's payload is not base64url: {e}"),
    };
    match serde_json::from_slice(&json) {
        Ok(claims) => claims,
        Err(e) => panic!("the JWT's payload is not JSON: {e}"),
    }
}

/// Fails the test if `text` holds one of `needles` (see [`Stub::needles`]); the message
/// names `what` and never the secret itself.
pub fn assert_no_secret(what: &str, text: &str, needles: &[String]) {
    for n in needles {
        assert!(
            !text.contains(n.as_str()),
            "{what} leaks a secret ({} characters starting {:?}); it must never be printed",
            n.len(),
            n.get(..4).unwrap_or("")
        );
    }
}
