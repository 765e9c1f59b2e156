//! Helpers for the emulator's HTTP tests of what a group grants (`emulator_access`,
//! `emulator_resources`, `emulator_rules`): a bounded test, a token, and calls that
//! answer the status, the ETag and the JSON body.

use std::future::Future;
use std::time::Duration;

use orgsync::emulator::{self, Emulator, Options, State};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every test gets this long, then fails instead of hanging.
pub async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("test exceeded its 60 s bound");
}

/// An answer: status, `ETag` header (if any) and the body as JSON (`Null` if not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Value,
}

impl Answer {
    /// The first error's code in the platform envelope.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
}

/// A plain HTTP client (reqwest is built without a default TLS provider).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn new(emu: &Emulator, key: &str) -> Api {
        let http = http();
        let base = emu.base_url();
        let resp = http
            .post(format!("{base}/identity/token"))
            .form(&[
                ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
                ("apikey", key),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), StatusCode::OK, "token for a known key");
        let body: Value = resp.json().await.expect("token json");
        Api {
            token: body["access_token"].as_str().expect("token").to_string(),
            http,
            base,
        }
    }

    /// A call with an optional JSON body and an optional `If-Match`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.expect("body");
        Answer {
            status,
            etag,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, Some(body), None).await
    }

    pub async fn put(&self, path: &str, body: &Value, if_match: Option<&str>) -> Answer {
        self.send(Method::PUT, path, Some(body), if_match).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(Method::DELETE, path, None, None).await
    }
}

/// Starts an emulator on a free loopback port.
pub async fn start(state: State) -> Emulator {
    match emulator::start(state, Options::default()).await {
        Ok(emu) => emu,
        Err(e) => panic!("the emulator does not start: {e}"),
    }
}

/// IBM's Qiskit example as a hand-written state file: projects `ml` and `finance`, the
/// instances `QR-ml`, `QR-common`, `QR-finance`, a custom role, a dynamic rule and an
/// ID-provider user.
pub const QISKIT: &str = r#"
account_id: 0123456789abcdef0123456789abcdef
api_keys:
  - {apikey: admin-key, iam_id: IBMid-ADMIN00001, type: user}
users:
  - {email: admin@example.com, iam_id: IBMid-ADMIN00001, state: ACTIVE}
  - {email: fatima@example.com, iam_id: IBMid-FATIMA0001, state: ACTIVE}
  - {email: ravi@example.com, iam_id: IBMid-RAVI000001, state: ACTIVE}
groups:
  - id: AccessGroupId-ml
    name: ml
    members:
      - {iam_id: IBMid-FATIMA0001, type: user}
      - {iam_id: IBMid-APPIDUSER01, type: user, membership_type: dynamic}
    rules:
      - name: ml-project
        expiration: 24
        realm_name: https://us-south.appid.cloud.ibm.com/oauth/v4/tenant
        conditions: [{claim: project, operator: CONTAINS, value: '"ml"'}]
  - id: AccessGroupId-finance
    name: finance
    members:
      - {iam_id: IBMid-RAVI000001, type: user}
resource_groups:
  - {id: 0be5ad401ae913d8ff665d92680664ed, name: Default}
resource_instances:
  - {name: QR-ml, service: quantum-computing, guid: 11111111-1111-4111-8111-111111111111}
  - {name: QR-common, service: quantum-computing, guid: 22222222-2222-4222-8222-222222222222}
  - {name: QR-finance, service: quantum-computing, guid: 33333333-3333-4333-8333-333333333333, region_id: eu-de}
roles:
  - name: JobManager
    display_name: Job manager
    description: Run, cancel and delete Qiskit Runtime jobs
    service_name: quantum-computing
    actions: [quantum-computing.job.create, quantum-computing.job.read, quantum-computing.job.cancel, quantum-computing.job.delete]
policies:
  - id: 00000000-0000-4000-8000-0000000000a1
    access_group_id: AccessGroupId-ml
    roles: [Viewer, Reader, JobManager]
    resource: {serviceName: quantum-computing, serviceInstance: 11111111-1111-4111-8111-111111111111}
  - id: 00000000-0000-4000-8000-0000000000a2
    version: v1
    access_group_id: AccessGroupId-ml
    roles: [Reader]
    resource: {serviceName: quantum-computing, serviceInstance: 22222222-2222-4222-8222-222222222222}
  - id: 00000000-0000-4000-8000-0000000000a3
    access_group_id: AccessGroupId-finance
    roles: [Reader]
    resource:
      serviceName: quantum-computing
      serviceInstance: {operator: stringEquals, value: 33333333-3333-4333-8333-333333333333}
"#;

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const ADMIN_KEY: &str = "admin-key";
pub const ML: &str = "AccessGroupId-ml";
pub const FINANCE: &str = "AccessGroupId-finance";
pub const QR_ML: &str = "11111111-1111-4111-8111-111111111111";
pub const QR_COMMON: &str = "22222222-2222-4222-8222-222222222222";
pub const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";
pub const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";
pub const MANAGER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Manager";

pub fn qiskit() -> State {
    State::parse(QISKIT).expect("the Qiskit example is a valid state")
}

/// A ready emulator serving the Qiskit example, and a client for it.
pub async fn qiskit_emulator() -> (Emulator, Api) {
    let emu = start(qiskit()).await;
    let api = Api::new(&emu, ADMIN_KEY).await;
    (emu, api)
}

/// IBM's `<revision>-<32 hex>` ETag shape.
pub fn is_ibm_etag(tag: &str) -> bool {
    tag.split_once('-').is_some_and(|(rev, hex)| {
        !rev.is_empty()
            && rev.bytes().all(|b| b.is_ascii_digit())
            && hex.len() == 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}
