//! The IBM Cloud client (docs/ibm-api.md): auth, HTTP with retries, paging, live-state
//! acquisition, and the typed write calls the executor makes.
//!
//! It exists so that every other layer can speak in `model` types and never see IBM's wire
//! format, tokens or retry rules. `plan`, `apply` and `export` read the account through
//! [`acquire`]; the executor writes through the methods on [`Client`], which make correct
//! calls and report typed results but decide nothing.
//!
//! Layout: `auth` (API key → token), `http` (one request: permits, retries, errors,
//! secret scrubbing), `wire` and `wire_access` (IBM's JSON, tolerantly), `users`,
//! `groups`, `policies`, `roles`, `resources` and `rules` (the endpoints), `live`
//! (acquisition), `keyfile` (reading `--api-key-file` safely).

mod auth;
mod error;
mod groups;
mod http;
mod keyfile;
mod live;
mod policies;
mod resources;
mod roles;
mod rules;
mod users;
mod wire;
mod wire_access;

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

pub use error::{ApiErrorInfo, IamError};
pub use groups::{CreatedGroup, MEMBERS_PER_CALL, MemberOutcome};
pub use http::RetryPolicy;
pub use keyfile::key_file_warning;
pub use live::{PolicyListing, acquire, everything_of, members_only, policy_listing};
pub use policies::CreatedPolicy;
pub use roles::CreatedRole;
pub use rules::CreatedRule;
pub use users::{InvitedUser, UserRemoval};

use crate::model::{AccountId, IamId};

/// Where the APIs live. The token service, Access Groups and Policy Management share the
/// IAM host; User Management has its own; Resource Controller and Resource Manager share
/// a third (docs/ibm-api.md, Hosts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    iam: Url,
    user_management: Url,
    resource_controller: Url,
    /// `--endpoint` named one base for every API.
    one_base: bool,
}

/// Resource Controller's (and Resource Manager's) public host.
pub const RESOURCE_CONTROLLER_URL: &str = "https://resource-controller.cloud.ibm.com";

impl Endpoints {
    /// `endpoint` (`--endpoint`, every API at one base, as the emulator serves them) wins
    /// over the separate `iam` and `user_management` URLs. Plain `http://` is refused unless
    /// the host is loopback, so an API key never crosses a network in clear text.
    pub fn resolve(
        endpoint: Option<&str>,
        iam: &str,
        user_management: &str,
    ) -> Result<Endpoints, IamError> {
        match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            Some(all) => {
                let url = parse_endpoint(all, "--endpoint (ORGSYNC_ENDPOINT)")?;
                Ok(Endpoints {
                    iam: url.clone(),
                    user_management: url.clone(),
                    resource_controller: url,
                    one_base: true,
                })
            }
            None => {
                let mut iam = parse_endpoint(iam, "--iam-endpoint (IBMCLOUD_IAM_API_ENDPOINT)")?;
                // IBM's SDKs accept a token URL here and strip the path; so do we.
                if let Some(stripped) = iam.path().strip_suffix("/identity/token") {
                    let stripped = stripped.to_string();
                    iam.set_path(&stripped);
                }
                Ok(Endpoints {
                    iam,
                    user_management: parse_endpoint(
                        user_management,
                        "--user-management-endpoint (IBMCLOUD_USER_MANAGEMENT_ENDPOINT)",
                    )?,
                    resource_controller: parse_endpoint(RESOURCE_CONTROLLER_URL, "")?,
                    one_base: false,
                })
            }
        }
    }

    /// Sets Resource Controller's base (`--resource-controller-endpoint`, env
    /// `IBMCLOUD_RESOURCE_CONTROLLER_API_ENDPOINT`); ignored when `--endpoint` named one
    /// base for every API, which wins as it does over the other hosts.
    pub fn with_resource_controller(mut self, raw: &str) -> Result<Endpoints, IamError> {
        if !self.one_base && !raw.trim().is_empty() {
            self.resource_controller = parse_endpoint(
                raw,
                "--resource-controller-endpoint (IBMCLOUD_RESOURCE_CONTROLLER_API_ENDPOINT)",
            )?;
        }
        Ok(self)
    }

    /// The base of the token service and Access Groups.
    pub fn iam(&self) -> &Url {
        &self.iam
    }

    /// The base of User Management.
    pub fn user_management(&self) -> &Url {
        &self.user_management
    }

    /// The base of Resource Controller and Resource Manager.
    pub fn resource_controller(&self) -> &Url {
        &self.resource_controller
    }
}

fn parse_endpoint(raw: &str, what: &str) -> Result<Url, IamError> {
    let raw = raw.trim();
    let mut url = Url::parse(raw).map_err(|e| {
        IamError::Setup(format!(
            "{what}: `{raw}` is not a URL ({e}); give a base URL such as https://iam.cloud.ibm.com"
        ))
    })?;
    if url.username() != "" || url.password().is_some() {
        return Err(IamError::Setup(format!(
            "{what}: the URL must not carry credentials; the API key comes from IBMCLOUD_API_KEY or --api-key-file"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(IamError::Setup(format!(
                "{what}: `{raw}` uses plain http:// to a non-loopback host, which would send the API key and tokens unencrypted; use https://, or http:// only to 127.0.0.1, ::1 or localhost"
            )));
        }
        other => {
            return Err(IamError::Setup(format!(
                "{what}: `{raw}` has scheme `{other}`; use https:// (or http:// to a loopback address)"
            )));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(IamError::Setup(format!("{what}: `{raw}` names no host")));
    }
    url.set_query(None);
    url.set_fragment(None);
    // A base without a trailing slash: paths are appended segment by segment.
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    // `host_str` brackets IPv6 literals; the URL parser already normalized IPv4 forms.
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The API key: `--api-key-file` when given (trimmed), else `IBMCLOUD_API_KEY`, else
/// `IC_API_KEY`. Never from the config file, never printed. A key file that others may
/// read gets a warning on stderr, as ssh gives for a private key.
pub fn api_key_from_env_or_file(file: Option<&Path>) -> Result<SecretString, IamError> {
    api_key_from(
        file,
        |var| std::env::var(var).ok(),
        |warning| anstream::eprintln!("warning: {warning}"),
    )
}

fn api_key_from(
    file: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    mut warn: impl FnMut(&str),
) -> Result<SecretString, IamError> {
    if let Some(path) = file {
        let (key, warning) = keyfile::read(path)?;
        if let Some(w) = warning {
            warn(&w);
        }
        return Ok(key);
    }
    for var in ["IBMCLOUD_API_KEY", "IC_API_KEY"] {
        if let Some(value) = env(var) {
            let key = value.trim();
            if !key.is_empty() {
                return Ok(SecretString::from(key.to_string()));
            }
        }
    }
    Err(IamError::Setup(
        "no IBM Cloud API key: set IBMCLOUD_API_KEY (or IC_API_KEY), or pass --api-key-file FILE; create a key under Manage → Access (IAM) → API keys".into(),
    ))
}

/// Everything a [`Client`] needs.
pub struct ClientOptions {
    pub endpoints: Endpoints,
    pub api_key: SecretString,
    /// Requests in flight at most, across every call of the client.
    pub parallelism: usize,
    /// The timeout of one request.
    pub timeout: Duration,
    /// The overall deadline of one call, retries included.
    pub deadline: Duration,
    /// Show a progress bar on stderr while reading (only drawn when stderr is a terminal).
    pub progress: bool,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("endpoints", &self.endpoints)
            .field("api_key", &"[redacted]")
            .field("parallelism", &self.parallelism)
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .field("progress", &self.progress)
            .finish()
    }
}

/// The IBM Cloud client. Cheap to clone: clones share the token, the connection pool, the
/// concurrency bound and the request counter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Endpoints,
    auth: auth::TokenManager,
    semaphore: tokio::sync::Semaphore,
    /// Bulk requests take one of these first: `parallelism - 1` of them (at least one).
    bulk_semaphore: tokio::sync::Semaphore,
    policy: RetryPolicy,
    timeout: Duration,
    deadline: Duration,
    progress: bool,
    requests: AtomicU64,
    /// Users the last complete user listing returned, plus one (0: none yet). Lets apply's
    /// verification choose between re-listing and reading users one by one.
    users_listed: std::sync::atomic::AtomicUsize,
    /// `--parallelism`, as clamped.
    parallelism: usize,
    /// After a 429: no request leaves before this instant.
    rate_gate: std::sync::Mutex<Option<std::time::Instant>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.endpoints)
            .field("auth", &self.inner.auth)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// Who the API key belongs to, from its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub iam_id: IamId,
    /// The account of the key's identity (`account.bss`), when the token names one.
    pub account_id: Option<AccountId>,
}

/// What kind of identity an API key acts as, by its iam_id's prefix (docs/ibm-api.md,
/// Identifiers and member types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKind {
    /// `IBMid-…`: a person, who may invite and remove users.
    User,
    /// `iam-ServiceId-…`: reads users but can never invite or remove them.
    ServiceId,
    /// `iam-Profile-…`: a trusted profile.
    TrustedProfile,
    /// Any other prefix.
    Other,
}

impl Identity {
    /// The kind of identity, for apply's preflight (docs/reconciliation.md).
    pub fn kind(&self) -> IdentityKind {
        let id = self.iam_id.as_str();
        if self.iam_id.is_service_id() {
            IdentityKind::ServiceId
        } else if id.starts_with("IBMid-") {
            IdentityKind::User
        } else if id.starts_with("iam-Profile-") {
            IdentityKind::TrustedProfile
        } else {
            IdentityKind::Other
        }
    }
}

/// What a delete found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// IBM answered 404: it was gone already (an earlier attempt, or someone else), which
    /// is the intended result.
    pub already_gone: bool,
    /// The transaction id of the call that answered.
    pub transaction_id: Option<String>,
}

impl Deleted {
    fn from(result: Result<http::Reply, IamError>) -> Result<Deleted, IamError> {
        match result {
            Ok(reply) => Ok(Deleted {
                already_gone: false,
                transaction_id: reply.transaction_id,
            }),
            Err(e) if e.status() == Some(404) => Ok(Deleted {
                already_gone: true,
                transaction_id: e.info().transaction_id,
            }),
            Err(e) => Err(e),
        }
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, IamError> {
        Client::with_policy(options, RetryPolicy::default())
    }

    /// [`Client::new`] with another retry policy (tests use short backoffs).
    pub fn with_policy(options: ClientOptions, policy: RetryPolicy) -> Result<Client, IamError> {
        // reqwest is built with `rustls-no-provider`: the process must install a crypto
        // provider before the first client. Installing twice is an error we ignore: the
        // provider is already there, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let parallelism = options.parallelism.clamp(1, 1024);
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(parallelism)
            .user_agent(concat!("orgsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                IamError::Setup(format!(
                    "cannot set up the HTTPS client: {}; check the system's TLS certificates",
                    wire::one_line(&e.to_string(), 200)
                ))
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoints: options.endpoints,
                auth: auth::TokenManager::new(options.api_key),
                semaphore: tokio::sync::Semaphore::new(parallelism),
                bulk_semaphore: tokio::sync::Semaphore::new((parallelism - 1).max(1)),
                policy,
                timeout: options.timeout,
                deadline: options.deadline,
                progress: options.progress,
                requests: AtomicU64::new(0),
                users_listed: std::sync::atomic::AtomicUsize::new(0),
                parallelism,
                rate_gate: std::sync::Mutex::new(None),
            }),
        })
    }

    /// HTTP requests sent so far (every attempt, token calls included).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Requests in flight at most (`--parallelism`).
    pub fn parallelism(&self) -> usize {
        self.inner.parallelism
    }

    /// How many users the last complete user listing of this client returned.
    pub fn users_last_listed(&self) -> Option<usize> {
        self.inner
            .users_listed
            .load(Ordering::Relaxed)
            .checked_sub(1)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The identity of the API key (fetches a token if none is held).
    pub async fn whoami(&self) -> Result<Identity, IamError> {
        let token = self.token().await?;
        let iam_id = token.iam_id.clone().ok_or_else(|| IamError::Malformed {
            call: "POST /identity/token".into(),
            detail: "the access token names no iam_id, so orgsync cannot tell who it runs as"
                .into(),
            transaction_id: None,
        })?;
        Ok(Identity {
            iam_id,
            account_id: token.account_id.clone(),
        })
    }

    async fn token(&self) -> Result<Arc<auth::Token>, IamError> {
        self.inner
            .auth
            .current(|| async {
                let url = join(&self.inner.endpoints.iam, &["identity", "token"], &[]);
                let mut req = http::Request::new(
                    reqwest::Method::POST,
                    "POST /identity/token",
                    url,
                    http::Retry::Idempotent,
                );
                req.body = http::Body::ApiKeyForm;
                req.auth = false;
                // Boxed: `send` calls `token`, which calls `send` for the token call.
                let reply = Box::pin(self.send(&req)).await?;
                reply.json::<wire::TokenResponse>(req.route)
            })
            .await
    }
}

/// `base` + percent-encoded path segments + query.
fn join(base: &Url, segments: &[&str], query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_unless_the_host_is_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:9000/",
            "http://LOCALHOST:1",
            "https://iam.cloud.ibm.com",
        ] {
            assert!(Endpoints::resolve(Some(ok), "", "").is_ok(), "{ok}");
        }
        for bad in [
            "http://iam.cloud.ibm.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            let err = Endpoints::resolve(Some(bad), "", "")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("--endpoint"), "{bad}: {err}");
        }
        let err = Endpoints::resolve(None, "http://iam.example.com", "https://um.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--iam-endpoint") && err.contains("unencrypted"),
            "{err}"
        );
    }

    #[test]
    fn one_endpoint_serves_every_api_and_separate_ones_are_normalized() {
        let e = Endpoints::resolve(Some("http://127.0.0.1:8080/"), "x", "y").unwrap();
        assert_eq!(e.iam().as_str(), "http://127.0.0.1:8080/");
        assert_eq!(e.user_management(), e.iam());
        let e = Endpoints::resolve(
            None,
            "https://iam.test.cloud.ibm.com/identity/token",
            "https://user-management.cloud.ibm.com/",
        )
        .unwrap();
        assert_eq!(
            join(e.iam(), &["identity", "token"], &[]).as_str(),
            "https://iam.test.cloud.ibm.com/identity/token"
        );
        assert_eq!(
            join(
                e.user_management(),
                &["v2", "accounts", "a b/c", "users"],
                &[("limit", "100")]
            )
            .as_str(),
            "https://user-management.cloud.ibm.com/v2/accounts/a%20b%2Fc/users?limit=100"
        );
    }

    #[test]
    fn a_base_path_is_kept_when_joining() {
        let e = Endpoints::resolve(Some("https://proxy.example.com/ibm/"), "", "").unwrap();
        assert_eq!(
            join(e.iam(), &["v2", "groups"], &[]).as_str(),
            "https://proxy.example.com/ibm/v2/groups"
        );
    }

    #[test]
    fn api_key_file_is_trimmed_and_an_empty_one_is_refused() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  my-key\n").unwrap();
        let key = api_key_from_env_or_file(Some(&path)).unwrap();
        assert_eq!(key.expose_secret(), "my-key");
        std::fs::write(&path, "\n \n").unwrap();
        let err = api_key_from_env_or_file(Some(&path))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty"), "{err}");
        let err = api_key_from_env_or_file(Some(&dir.path().join("missing")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--api-key-file") && err.contains("missing"),
            "{err}"
        );
    }

    #[test]
    fn api_key_comes_from_the_file_then_ibmcloud_api_key_then_ic_api_key() {
        use secrecy::ExposeSecret;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |var: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.to_string())
            }
        };
        let quiet = |_: &str| {};
        let both = env(&[("IBMCLOUD_API_KEY", " first \n"), ("IC_API_KEY", "second")]);
        assert_eq!(
            api_key_from(None, both, quiet).unwrap().expose_secret(),
            "first"
        );
        // A blank variable counts as unset.
        let blank = env(&[("IBMCLOUD_API_KEY", "  "), ("IC_API_KEY", "second")]);
        assert_eq!(
            api_key_from(None, blank, quiet).unwrap().expose_secret(),
            "second"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "from-file\n").unwrap();
        let key = api_key_from(Some(&path), env(&[("IBMCLOUD_API_KEY", "first")]), quiet).unwrap();
        assert_eq!(key.expose_secret(), "from-file");
        let err = api_key_from(None, env(&[]), quiet).unwrap_err().to_string();
        assert!(
            err.contains("IBMCLOUD_API_KEY") && err.contains("--api-key-file"),
            "{err}"
        );
        std::fs::write(&path, vec![b'k'; 70_000]).unwrap();
        let err = api_key_from(Some(&path), env(&[]), quiet)
            .unwrap_err()
            .to_string();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let err = api_key_from(Some(&path), env(&[]), quiet)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn the_identity_kind_follows_the_iam_id_prefix() {
        let kind = |id: &str| {
            Identity {
                iam_id: IamId::new(id),
                account_id: None,
            }
            .kind()
        };
        assert_eq!(kind("IBMid-6900012ABC"), IdentityKind::User);
        assert_eq!(kind("iam-ServiceId-9e8d"), IdentityKind::ServiceId);
        assert_eq!(kind("iam-Profile-1"), IdentityKind::TrustedProfile);
        assert_eq!(kind("crn-x"), IdentityKind::Other);
    }

    #[test]
    fn client_options_debug_hides_the_api_key() {
        let options = ClientOptions {
            endpoints: Endpoints::resolve(Some("http://127.0.0.1:1"), "", "").unwrap(),
            api_key: SecretString::from("very-secret-key"),
            parallelism: 4,
            timeout: Duration::from_secs(1),
            deadline: Duration::from_secs(1),
            progress: false,
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
        let client = Client::new(options).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret-key"), "{shown}");
    }
}
