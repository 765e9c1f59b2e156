//! Raw HTTP against the emulator, as IBM's SDKs send it: the emulator's own tests check
//! status codes and bodies on the wire, which the library's client would interpret away.

use std::time::Duration;

use orgsync::emulator::Emulator;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// A plain HTTP client with a 20 s timeout.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot build an HTTP client: {e}"),
    }
}

/// The token call with the form IBM's SDKs send, answered however the server answers it.
pub async fn request_token(http: &reqwest::Client, base: &str, key: &str) -> Response {
    let sent = http
        .post(format!("{base}/identity/token"))
        .form(&[
            ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
            ("apikey", key),
            ("response_type", "cloud_iam"),
        ])
        .send()
        .await;
    match sent {
        Ok(r) => r,
        Err(e) => panic!("the token request got no answer: {e}"),
    }
}

/// An access token for `key`, which must be known.
pub async fn token(http: &reqwest::Client, base: &str, key: &str) -> String {
    let resp = request_token(http, base, key).await;
    assert_eq!(resp.status(), StatusCode::OK, "token for a known key");
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    match body["access_token"].as_str() {
        Some(t) => t.to_string(),
        None => panic!("the token answer has no access_token: {body}"),
    }
}

/// Authorized calls to one emulator for one account.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub account: String,
}

impl Api {
    /// With a token bought with `key`.
    pub async fn new(base: &str, key: &str, account: &str) -> Api {
        let api = Api::with_token(base, "", account);
        let token = token(&api.http, base, key).await;
        Api { token, ..api }
    }

    /// With a token bought with `key`, for the account `emu` serves.
    pub async fn of(emu: &Emulator, key: &str) -> Api {
        Api::new(&emu.base_url(), key, &emu.account_id()).await
    }

    /// With `token` as it is, valid or not.
    pub fn with_token(base: &str, token: &str, account: &str) -> Api {
        Api {
            http: http(),
            base: base.to_string(),
            token: token.to_string(),
            account: account.to_string(),
        }
    }

    /// A request to `path` (and query) with the bearer token, to finish and send.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends a request and returns its status and JSON body (`null` when not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => panic!("{path}: no answer: {e}"),
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> StatusCode {
        self.call(Method::DELETE, path, None).await.0
    }

    pub async fn head(&self, path: &str) -> StatusCode {
        self.call(Method::HEAD, path, None).await.0
    }

    /// Invites `emails` as members into `groups` (User Management's invite).
    pub async fn invite(&self, emails: &[&str], groups: &[&str]) -> (StatusCode, Value) {
        let users: Vec<Value> = emails
            .iter()
            .map(|e| json!({"email": e, "account_role": "Member"}))
            .collect();
        let path = format!("/v2/accounts/{}/users", self.account);
        self.post(&path, json!({"users": users, "access_groups": groups}))
            .await
    }

    /// `GET` one user of the account.
    pub async fn user(&self, iam_id: &str) -> (StatusCode, Value) {
        self.get(&format!("/v2/accounts/{}/users/{iam_id}", self.account))
            .await
    }
}
