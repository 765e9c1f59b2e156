//! One request to IBM, made well: bounded concurrency, bearer token, retries where they are
//! safe, and one-line errors.
//!
//! Which failures are retried depends on whether repeating the request could do harm.
//! [`Retry::Idempotent`] calls (reads, PUT members, bulk delete, PATCH, PUT with If-Match,
//! DELETE, the token) are retried on connection errors, timeouts, dropped connections, 429
//! and 500/502/503/504. [`Retry::SafeOnly`] calls (invite, and the creates of groups,
//! policies, custom roles and rules) are retried only when IBM cannot have acted on them:
//! the connection never opened, or a 429 said "not now". Their ambiguous failures go back
//! to the caller, who re-reads instead of re-sending.
//!
//! Every string of an answer that may reach output — bodies, and the transaction-id
//! headers — goes through one scrubbing ([`Client::scrub_text`]) before anything reads it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::Client;
use super::error::IamError;
use super::wire::{one_line, parse_error_body};

/// Whether a call may be repeated after IBM might already have acted on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    Idempotent,
    SafeOnly,
}

pub(crate) enum Body {
    None,
    Json(Value),
    /// The token call's form; built from the key at send time so it is never stored.
    ApiKeyForm,
}

pub(crate) struct Request {
    pub method: Method,
    /// The route template, e.g. `GET /v2/groups/{access_group_id}/members`: names the call
    /// in errors and logs without ids.
    pub route: &'static str,
    pub url: Url,
    pub body: Body,
    pub if_match: Option<String>,
    pub retry: Retry,
    /// Whether to send the bearer token (every call but the token call).
    pub auth: bool,
    /// Part of a fan-out (offset pages): such requests leave one slot of the parallelism
    /// to the rest, so a sequential chain (the user cursor, the critical path of a read)
    /// never queues behind a hundred member pages.
    pub bulk: bool,
}

impl Request {
    pub(crate) fn new(method: Method, route: &'static str, url: Url, retry: Retry) -> Self {
        Request {
            method,
            route,
            url,
            body: Body::None,
            if_match: None,
            retry,
            auth: true,
            bulk: false,
        }
    }

    pub(crate) fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }
}

/// A 2xx answer (207 included: its per-item results are the caller's business).
pub(crate) struct Reply {
    pub etag: Option<String>,
    pub transaction_id: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, route: &str) -> Result<T, IamError> {
        serde_json::from_slice(&self.body).map_err(|e| IamError::Malformed {
            call: route.to_string(),
            detail: format!(
                "the body is not the JSON expected ({})",
                one_line(&e.to_string(), 120)
            ),
            transaction_id: self.transaction_id.clone(),
        })
    }
}

/// Backoff and retry limits. The overall deadline per call comes from `ClientOptions`.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts at most, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled per attempt.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
    /// The largest `Retry-After` honoured (IBM's Go core honours any value; a misbehaving
    /// proxy must not park a CI job for an hour).
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(30),
        }
    }
}

/// Capped exponential backoff with "equal jitter": half the step is fixed, half random, so
/// retries of many concurrent calls spread out but never collapse to zero. `rand01` is a
/// uniform sample in [0, 1).
///
/// Written here rather than taken from `backon`, which was weighed for it: its
/// exponential backoff adds jitter on top of the capped delay (up to twice the cap), its
/// total-delay bound counts only the sleeps (not the time spent in requests, which the
/// deadline of [`Client::send`] bounds), and its retry loop spends an attempt on every
/// retry — where a 429 that says when to come back must not spend one, a refused
/// connection has a budget of its own and a 401 refreshes the token once for free. What
/// would remain of it here is this one function.
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32, rand01: f64) -> Duration {
    let exp = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    let step = policy.base.saturating_mul(exp).min(policy.cap);
    let half = step / 2;
    let rand01 = if rand01.is_finite() {
        rand01.clamp(0.0, 1.0)
    } else {
        0.0
    };
    half + half.mul_f64(rand01)
}

/// `Retry-After` in seconds (IBM sends integers). HTTP dates are ignored: the backoff is
/// used instead.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn transaction_id(headers: &HeaderMap) -> Option<String> {
    ["transaction-id", "x-global-transaction-id", "x-request-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(|v| one_line(v, 100))
        .filter(|v| !v.is_empty())
}

/// The largest answer read: a page of 100 users is ~50 KiB. A server streaming without
/// end must not exhaust memory.
const MAX_BODY: usize = 32 << 20;

/// Attempts at most when the connection cannot be opened.
const UNREACHABLE_ATTEMPTS: u32 = 3;

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// What one attempt ended with.
enum Outcome {
    Reply(u16, HeaderMap, Vec<u8>),
    Transport(IamError),
}

impl Client {
    /// Sends `req`, retrying per its [`Retry`] class, refreshing the token once on 401.
    pub(crate) async fn send(&self, req: &Request) -> Result<Reply, IamError> {
        let inner = &self.inner;
        let started = Instant::now();
        let deadline = started + inner.deadline;
        let mut attempt: u32 = 0;
        // 429s with a Retry-After are IBM saying "not now", not a failure of this call: they
        // do not use up the attempt budget (the deadline still bounds them).
        let mut rate_limited: u32 = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = if req.auth {
                Some(self.token().await?)
            } else {
                None
            };
            let outcome = self.attempt(req, token.as_ref().map(|t| &t.bearer)).await;
            let (err, retryable, wait) = match outcome {
                Outcome::Reply(status, headers, body) if (200..300).contains(&status) => {
                    // The token call's body is the token itself; every other answer goes
                    // through the scrubbing before anything reads it.
                    let body = if req.auth {
                        self.scrub_body(body)
                    } else {
                        body
                    };
                    return Ok(Reply {
                        // Sent back to IBM as If-Match only, never shown: kept verbatim.
                        etag: headers
                            .get(reqwest::header::ETAG)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string),
                        transaction_id: transaction_id(&headers).map(|t| self.scrub_text(&t)),
                        body,
                    });
                }
                Outcome::Reply(401, _, _) if !refreshed && token.is_some() => {
                    // The token may have been revoked or expired early: one fresh token,
                    // one more try. Not counted as an attempt of the retry budget.
                    refreshed = true;
                    attempt -= 1;
                    if let Some(t) = &token {
                        inner.auth.invalidate(t.generation).await;
                    }
                    continue;
                }
                Outcome::Reply(status, headers, body) => {
                    let info = parse_error_body(status, &body, transaction_id(&headers));
                    let info = self.scrub(info);
                    let retryable = is_retryable_status(status)
                        && (req.retry == Retry::Idempotent || status == 429);
                    let wait = retry_after(&headers).map(|d| d.min(inner.policy.retry_after_cap));
                    let err = if !req.auth && matches!(status, 400 | 401 | 403) {
                        IamError::InvalidApiKey { info }
                    } else {
                        IamError::Api {
                            call: req.route.to_string(),
                            info,
                            attempts: attempt,
                        }
                    };
                    (err, retryable, wait)
                }
                Outcome::Transport(err) => {
                    let retryable = match &err {
                        // A refused connection is usually a wrong URL or a host that is
                        // down, not a blip: a few quick tries, then tell the person.
                        IamError::Unreachable { .. } => attempt < UNREACHABLE_ATTEMPTS,
                        IamError::Malformed { .. } => false,
                        _ => req.retry == Retry::Idempotent,
                    };
                    (err, retryable, None)
                }
            };
            let is_429 = err.status() == Some(429);
            // Only a 429 that says when to come back is "not now"; without a usable
            // Retry-After it is a failure like a 503 and spends the attempt budget.
            if is_429 && wait.is_some() {
                rate_limited += 1;
            }
            if !retryable || attempt - rate_limited >= inner.policy.max_attempts {
                return Err(err.with_attempts(attempt));
            }
            let delay = match wait {
                // A little jitter on top, so that a burst of 429s does not return as a burst.
                Some(after) => after + Duration::from_millis(fastrand::u64(0..100)),
                None => backoff(&inner.policy, attempt - rate_limited, fastrand::f64()),
            };
            if Instant::now() + delay > deadline {
                return Err(err.with_attempts(attempt));
            }
            if is_429 {
                // Every call of this client holds back until then: requests sent now would
                // only be refused too.
                self.pause_until(Instant::now() + delay);
            }
            tracing::debug!(
                route = req.route,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying: {err}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange under a concurrency permit.
    async fn attempt(&self, req: &Request, bearer: Option<&secrecy::SecretString>) -> Outcome {
        use secrecy::ExposeSecret;
        let inner = &self.inner;
        // The semaphore is never closed; if it were, running unbounded is the lesser harm.
        let _bulk = if req.bulk {
            inner.bulk_semaphore.acquire().await.ok()
        } else {
            None
        };
        let _permit = inner.semaphore.acquire().await.ok();
        self.wait_for_rate_limit().await;
        inner.requests.fetch_add(1, Ordering::Relaxed);
        // Our own transaction id on every call (IBM's Access Groups API tracks a call by the
        // caller's `Transaction-Id`): reports and the audit log can then name each call even
        // where IBM's answer carries no id of its own.
        let sent_tx = format!("orgsync-{:016x}", fastrand::u64(..));
        let mut builder = inner
            .http
            .request(req.method.clone(), req.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header("Transaction-Id", &sent_tx);
        if let Some(bearer) = bearer {
            match HeaderValue::from_str(&format!("Bearer {}", bearer.expose_secret())) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder = builder.header(reqwest::header::AUTHORIZATION, value);
                }
                Err(_) => {
                    return Outcome::Transport(IamError::Malformed {
                        call: "POST /identity/token".into(),
                        detail: "the access token contains characters not allowed in a header"
                            .into(),
                        transaction_id: None,
                    });
                }
            }
        }
        if let Some(etag) = &req.if_match {
            builder = builder.header(reqwest::header::IF_MATCH, etag);
        }
        builder = match &req.body {
            Body::None => builder,
            Body::Json(v) => builder.json(v),
            Body::ApiKeyForm => builder.form(&super::auth::token_form(&inner.auth.api_key)),
        };
        let started = Instant::now();
        let result = builder.send().await;
        let outcome = match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut headers = response.headers().clone();
                // A success names the call by IBM's id, else by the one orgsync sent (errors
                // keep to IBM's own ids: the header's, else the body's trace).
                if (200..300).contains(&status)
                    && transaction_id(&headers).is_none()
                    && let Ok(value) = HeaderValue::from_str(&sent_tx)
                {
                    headers.insert("transaction-id", value);
                }
                let mut body = Vec::new();
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) if body.len() + chunk.len() > MAX_BODY => {
                            break Outcome::Transport(IamError::Malformed {
                                call: req.route.to_string(),
                                detail: format!(
                                    "the answer is larger than {} MiB, far beyond any page IBM sends",
                                    MAX_BODY >> 20
                                ),
                                transaction_id: transaction_id(&headers)
                                    .map(|t| self.scrub_text(&t)),
                            });
                        }
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) => break Outcome::Reply(status, headers, body),
                        Err(e) => break Outcome::Transport(self.transport_error(req, &e)),
                    }
                }
            }
            Err(e) => Outcome::Transport(self.transport_error(req, &e)),
        };
        let status = match &outcome {
            Outcome::Reply(status, ..) => StatusCode::from_u16(*status)
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            Outcome::Transport(IamError::Timeout { .. }) => "timeout".into(),
            Outcome::Transport(_) => "transport-error".into(),
        };
        tracing::debug!(
            method = %req.method,
            path = req.route.split_once(' ').map_or(req.route, |(_, path)| path),
            status = %status,
            ms = started.elapsed().as_millis() as u64,
            "IBM Cloud call"
        );
        outcome
    }

    fn pause_until(&self, until: Instant) {
        let mut gate = self
            .inner
            .rate_gate
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if gate.is_none_or(|g| g < until) {
            *gate = Some(until);
        }
    }

    async fn wait_for_rate_limit(&self) {
        loop {
            let until = *self
                .inner
                .rate_gate
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            match until {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await;
                }
                _ => return,
            }
        }
    }

    fn transport_error(&self, req: &Request, e: &reqwest::Error) -> IamError {
        let call = req.route.to_string();
        let reason = self.scrub_text(&innermost_reason(e));
        if e.is_connect() {
            IamError::Unreachable {
                call,
                host: host_of(&req.url),
                reason,
                attempts: 1,
            }
        } else if e.is_timeout() {
            IamError::Timeout {
                call,
                timeout_secs: self.inner.timeout.as_secs().max(1),
                attempts: 1,
            }
        } else {
            IamError::Dropped {
                call,
                reason,
                attempts: 1,
            }
        }
    }

    /// The one scrubbing of text a server sent back, headers included (a misconfigured
    /// proxy could echo the form body, or the API key in a `Transaction-Id` header): the
    /// API key and anything shaped like a token (the bearer, or any other JWT) become
    /// `[redacted]`, so they never reach an error message, a report or the audit log.
    pub(crate) fn scrub_text(&self, text: &str) -> String {
        use secrecy::ExposeSecret;
        let key = self.inner.auth.api_key.expose_secret();
        let text = if key.len() >= 4 && text.contains(key) {
            std::borrow::Cow::Owned(text.replace(key, "[redacted]"))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        if text.contains("eyJ") {
            redact_jwts(&text)
        } else {
            text.into_owned()
        }
    }

    /// [`Client::scrub_text`] over an answer's body, before it is parsed: every string in
    /// it (a 207's per-member messages, names, descriptions) is then clean. A body that is
    /// not UTF-8 has the key removed byte-wise.
    fn scrub_body(&self, body: Vec<u8>) -> Vec<u8> {
        use secrecy::ExposeSecret;
        match String::from_utf8(body) {
            Ok(text) => {
                let key = self.inner.auth.api_key.expose_secret();
                if (key.len() >= 4 && text.contains(key)) || text.contains("eyJ") {
                    self.scrub_text(&text).into_bytes()
                } else {
                    text.into_bytes()
                }
            }
            Err(e) => {
                let key = self.inner.auth.api_key.expose_secret().as_bytes();
                redact_bytes(e.into_bytes(), key)
            }
        }
    }

    fn scrub(&self, mut info: super::ApiErrorInfo) -> super::ApiErrorInfo {
        info.message = self.scrub_text(&info.message);
        info.code = info.code.map(|c| self.scrub_text(&c));
        info.transaction_id = info.transaction_id.map(|t| self.scrub_text(&t));
        info
    }

    /// Waits the backoff of retry `attempt` (1-based) of this client's policy: for callers
    /// that re-read and re-send a non-idempotent write themselves (the executor's invites
    /// and group creates).
    pub async fn backoff_pause(&self, attempt: u32) {
        tokio::time::sleep(backoff(&self.inner.policy, attempt, fastrand::f64())).await;
    }

    /// How many times a call is attempted at most.
    pub fn max_attempts(&self) -> u32 {
        self.inner.policy.max_attempts
    }
}

/// Replaces every JWT-shaped word (three base64url segments joined by dots, the first a
/// JSON header `eyJ...`) with `[redacted]`.
pub(crate) fn redact_jwts(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(candidate.len());
        let word = &candidate[..end];
        out.push_str(&rest[..start]);
        if word.split('.').filter(|s| !s.is_empty()).count() >= 2 && word.contains('.') {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        _ => url.as_str().to_string(),
    }
}

/// The root cause's text ("Connection refused (os error 111)", "dns error: ..."), which is
/// what a person can act on; reqwest's own wrapper text only repeats the URL.
fn innermost_reason(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    one_line(&source.to_string(), 150)
}

/// `bytes` (not UTF-8) with every occurrence of `key` replaced. The search goes on after
/// each replacement, so a key that is part of "[redacted]" is not found in it again (and
/// again). Keys shorter than 4 bytes are not looked for: they would match by chance.
fn redact_bytes(mut bytes: Vec<u8>, key: &[u8]) -> Vec<u8> {
    const REDACTED: &[u8] = b"[redacted]";
    if key.len() < 4 {
        return bytes;
    }
    let mut from = 0;
    while let Some(at) = (bytes.get(from..).unwrap_or_default())
        .windows(key.len())
        .position(|w| w == key)
    {
        let at = from + at;
        bytes.splice(at..at + key.len(), REDACTED.iter().copied());
        from = at + REDACTED.len();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_bytes_that_are_not_text_are_redacted_once_each() {
        let body = [b"\xff key=".as_slice(), b"dact", b" and dact\xfe"].concat();
        assert_eq!(
            redact_bytes(body, b"dact"),
            b"\xff key=[redacted] and [redacted]\xfe".to_vec()
        );
        assert_eq!(redact_bytes(b"abc".to_vec(), b"ab"), b"abc".to_vec());
    }

    #[test]
    fn jwts_in_error_text_are_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJpYW1faWQiOiJ4In0.c2lnbmF0dXJl";
        assert_eq!(
            redact_jwts(&format!("rejected Bearer {jwt}, try again")),
            "rejected Bearer [redacted], try again"
        );
        assert_eq!(redact_jwts("eyJ alone is fine"), "eyJ alone is fine");
        assert_eq!(redact_jwts("no token here"), "no token here");
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            retry_after_cap: Duration::from_secs(5),
        };
        // With no jitter the delay is half the step; with maximal jitter the whole step.
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&p, 2, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 3, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(&p, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(&p, 5, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 60, 0.5), Duration::from_millis(750));
        // Out-of-range samples are clamped, never negative or beyond the cap.
        assert_eq!(backoff(&p, 9, 7.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 1, f64::NAN), Duration::from_millis(50));
    }

    #[test]
    fn retry_after_reads_integer_seconds_and_ignores_dates_and_garbage() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn transaction_id_comes_from_either_ibm_header() {
        let mut h = HeaderMap::new();
        h.insert("x-global-transaction-id", HeaderValue::from_static("gtx-1"));
        assert_eq!(transaction_id(&h).as_deref(), Some("gtx-1"));
        h.insert("transaction-id", HeaderValue::from_static("tx-2"));
        assert_eq!(transaction_id(&h).as_deref(), Some("tx-2"));
    }

    #[test]
    fn only_rate_limits_and_transient_server_errors_are_retryable() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412, 501, 505] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}
