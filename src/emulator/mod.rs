//! An emulator of IBM Cloud's token service, User Management v2, IAM Access Groups v2
//! (dynamic rules included), IAM Policy Management (v1 and v2 policies, roles), Resource
//! Controller and Resource Manager (docs/emulator.md), in IBM's wire format.
//!
//! Why it exists: IBM Cloud cannot be reached from tests, CI or a newcomer's laptop, and
//! nobody may rehearse membership changes on a production account. Every end-to-end test,
//! the benchmark and `--sandbox` stand on this module, so it must speak IBM's dialect, not
//! ours: its wire types ([`wire`]) are its own, and IBM's official Python SDK drives it in
//! CI (`tests/sdk/`), replaying IBM's own integration tests among other checks. Where
//! those tests, which IBM runs against the real services, show a behaviour, the emulator
//! has it (docs/emulator.md, IBM's integration tests).
//!
//! Layout, so that another API is one file in each of `routes/`, `store/` and `wire/`:
//! - [`state`] the state file and its types, [`synthetic`] generated accounts, [`ids`]
//!   IBM-shaped ids, [`catalog`] the services, actions and built-in roles IAM knows;
//! - [`store`] the account and IBM's rules over it, one file per API, free of HTTP;
//! - [`routes`] the HTTP surface, one file per API: the API layer (statistics,
//!   transaction ids, faults, error envelopes), typed query strings and bodies;
//! - [`wire`] IBM's bodies, one file per API; [`error`] the refusal they all share;
//! - [`faults`] fault injection and statistics, [`token`] the JWTs, [`clock`] time;
//! - [`server`] the accept loop (dropped connections, the connection cap, the header
//!   timeout), [`persist`] the write-back of the state file.
//!
//! This file holds the public API ([`Options`], [`start`], [`Emulator`]).
//!
//! Decisions on the open questions of docs/ibm-api.md (strict, but plausible):
//! 1. At most 100 users per invite request; more → 400.
//! 2. Error codes are the emulator's own (`not_found`, `conflict`, ...) in the platform
//!    envelope. Group names are unique case-insensitively (duplicate → 409). `PATCH`
//!    without `If-Match` → 428, stale → 412. Delete of a group with members without
//!    `force=true` → 409. Removing a non-member → 404.
//! 3. Any well-formed iam_id may be added to a group, a user the account does not have
//!    included (it is then a static `user` member like any other, without name or email
//!    in `verbose` listings): IBM's Access Groups integration tests add `IBMid-` and a
//!    random number and get a per-member 200 (this reversed an earlier per-member 404).
//!    A `type` that disagrees with the iam_id's prefix is a per-member 400, even for an
//!    existing member; an existing member of the right type is an idempotent per-member
//!    200.
//! 4. `total_results` is the number of users matching the query in the whole account (not
//!    the page); `limit` is 1..=100 (default 100); `next_url` is a relative path with an
//!    opaque `_start=` cursor that stays valid when users are added or removed.
//! 5. `include_settings` is accepted and adds nothing.
//! 6. Emails are stored and returned as invited (trimmed), compared case-insensitively.
//! 7. Inviting an email already in the account (not `PROCESSING`) is a 202 no-op echoing
//!    its id and state; `PROCESSING` → IBM's verbatim 409 `Conflict` body and nothing
//!    changes. `access_groups` are applied at invite time. Accepted invites are counted per
//!    email in the stats (`invites_by_email`), no-ops included, so double invites show.
//!    A user is `PROCESSING` for `--processing-ms`, then `PENDING`: an invitee from its
//!    invitation, a user loaded `PROCESSING` from a state file (without
//!    `processing_until`) from the load.
//! 8. Removing a user removes their memberships synchronously; reads never lag writes.
//! 9. 429 bodies are plain text (as IBM's IAM services have been seen to send) with an
//!    integer `Retry-After`; the rate limit is a token bucket over all API calls.
//! 10. The ETag is returned on create, get and update, a quoted digest of the revision.
//! 11. Public Access is listed and readable (no static members, so `HEAD` on it is 404);
//!     every write to it → 403, and its name is reserved (409 on create or rename).
//! 12. Invite and remove with a service-ID token → 403.
//!
//! 13. One policy store behind `/v1/policies` and `/v2/policies`. Each policy remembers
//!     the version that created it: its `href` names that version in both views; the v1
//!     view of a v2 policy is IBM's placeholder (in lists and in `GET /v1/policies/{id}`);
//!     the v2 view of a v1 policy fills `operator: stringEquals` wherever v1 left it out.
//! 14. Two active policies are duplicates when type, subject, the resource attributes
//!     (as a set, operators defaulted), the tags (as a set) and the conditions (`pattern`
//!     and `rule`) are equal, whichever version created them; roles and description do
//!     not count. Conditions count because IBM's Go integration test creates a
//!     time-based v2 policy beside a v1 policy of the same subject and resource and gets
//!     a 201 (this reversed an earlier "conditions do not count"). A duplicate
//!     create is 409 `policy_conflict_error` with IBM's message and
//!     `details.conflicts_with {etag, policy}`, the policy in the caller's view (the v2
//!     view when a v1 caller meets a v2 policy).
//! 15. `PUT`, `DELETE` or `PATCH` through the other version than the creating one → 400
//!     `request_not_processed` naming the right path.
//! 16. `If-Match` on every `PUT`/`PATCH` of policies, custom roles and rules: missing →
//!     428, stale → 412, `*` accepted (as on groups). Their ETags are IBM's
//!     `<revision>-<32 hex>`, on create, get, replace and restore.
//! 17. `DELETE` of a policy is a soft delete: `GET` → 404 `policy_not_found` ("Policy with
//!     Id <id> not found."), listed only with `state=deleted`, restorable forever with v1
//!     `PATCH {"state": "active"}` and the ETag read before the deletion (v1 policies only,
//!     as PATCH is v1's); a restore that would duplicate → 409.
//! 18. Policy validation is strict: type `access` only; one subject, `access_group_id` of
//!     this account (Public Access included) or any `iam_id` (not checked, as IBM does
//!     not); `accountId` = the account and one of `serviceName`/`serviceType`/
//!     `resourceGroupId`/`service_group_id`; values 1-1000 characters; a known service;
//!     roles valid for it (platform roles anywhere, service roles not on a resource group
//!     itself, custom roles on their own service), else 400 `invalid_body` pointing at
//!     `GET /v2/roles`; v2 needs `operator` everywhere; conditions only in v2, `rule` and
//!     `pattern` together; a replace keeps type and subject (400 otherwise).
//! 19. Limits: 1000 active policies per subject and 4020 per account, 40 custom roles per
//!     account; beyond → 400 `request_not_processed`.
//! 20. Policy listings: `account_id` required (400 `missing_required_query_parameter`),
//!     another account's → 403; `state` default `active`; without `limit` every match
//!     on one page and no links; `limit` 1-100 (400 outside) with `limit`, `first` and
//!     `next {href, start}`, `start` opaque and bound to the query's filters (another
//!     query's → 400). `iam_id` matches the subject only; `service_type=service` also
//!     matches policies with a `serviceName`; `format=display` enriches v2 roles;
//!     `include_last_permit` adds `last_permit_frequency: 0`; v1 takes `format` and adds
//!     nothing (its roles are always enriched).
//! 21. `GET /v2/roles` always answers the three arrays: system roles always, service
//!     roles for a service (or `alliamserviceroles`, or `service_group_id=IAM`), custom
//!     roles only with `account_id`; no filter → system and custom roles; both filters, or
//!     another service group → 400. Custom role names are unique in the account ignoring
//!     case (409 `role_conflict_error`); display names unique per service and never a
//!     built-in role's; every action must be the service's; `PUT` replaces display name,
//!     description (absent → empty) and actions, and refuses another name, account or
//!     service; deleting a role that active policies grant → 409 `role_in_use`.
//! 22. Rules: at most 5 per group (400 `limit_exceeded`); names optional and not unique
//!     (so a client that creates twice makes a visible duplicate); `value` kept verbatim;
//!     `PUT` replaces the whole rule (no `name` → `""`); Public Access has none and refuses
//!     them (403); an unknown rule → 404 `rule_not_found`. Rules are never evaluated.
//! 23. Dynamic members come from the state file only. `membership_type` defaults to
//!     `static` on member and group listings (IBM's SDK documents the values, not the
//!     default); `HEAD` answers 204 for them; `DELETE`, bulk delete and `_allgroups`
//!     delete refuse them with 400 `dynamic_member` (per member or group in a 207);
//!     adding one explicitly makes it static. They count toward 50 groups per iam_id.
//! 24. Resource Controller: `limit` default 100, larger served as 100, below 1 → 400; the
//!     page token is base64 of the query it continues, so other parameters are ignored
//!     beside it; `next_url` relative or null; `state` default active and provisioning,
//!     a comma-separated list accepted, an unknown state → 400; `name` exact and
//!     case-sensitive; `sub_type` matches nothing; `GET` by GUID or CRN in any state;
//!     errors in the platform envelope. Every instance carries `onetime_credentials:
//!     false` and a `last_operation` read from its state (`create`/`succeeded` for an
//!     active one, `delete`/`succeeded` for a removed one, as IBM's tests assert).
//! 25. Resource Manager: an account whose state lists no resource group has `Default`;
//!     `account_id` optional (another → 403); `name` exact; unpaged.
//! 26. Deleting a group deletes its policies (deleted ones too) and rules; removing a user
//!     deletes the policies whose subject is that user.
//!
//! Fidelity to IBM's captured answers (docs/ibm-api.md), beyond the SDK models:
//! - every User Management error carries `more_info`, as every real body quoted there
//!   does: the specific hint where IBM gives one (the 409 above), else a link to the API's
//!   documentation;
//! - a `verbose=true` member's `href` is `…/v2/groups/{group_id}/members/{iam_id}` and its
//!   `created_at` is whole seconds (`2021-10-20T00:30:59Z`), as `ibmcloud iam
//!   access-group-users` shows them; plain listings keep milliseconds and link the
//!   member's own resource.
//!
//! Query strings are read into typed structs: booleans are `true`/`false` in lower case,
//! `limit`/`offset` whole numbers in range, `type` and `membership_type` IBM's values,
//! and a parameter given twice is refused; each of these is a 400 in the envelope.
//! Unknown parameters are ignored.
//!
//! IAM's own services `iam-groups` and `iam-identity` are known in every account (IBM's
//! Policy Management tests create a custom role of `iam-groups`), with every
//! `<service>.…` action accepted. `update_policy_state` with `state: active` on an active
//! v1 policy is a 200 that changes nothing. The v1 placeholder of a v2 policy carries the
//! real policy's `created_at` and `last_modified_at` (IBM's Go test parses them).
//!
//! `--persist` writes the state file back after each change, never at start-up, in the
//! format it has (YAML stays YAML, JSON stays JSON), and says so on stderr at the first
//! write (a YAML file loses its comments) ([`persist`]).
//!
//! Also: bearer tokens are HS256 JWTs signed with a random key of the process, so a
//! restart invalidates them (orgsync's client fetches a new one on the 401), nobody can
//! mint one from the account id, and a token for another account is refused (401).
//! Missing `account_id` on list/create → 400; another account's id → 403. It serves at
//! most [`Options::max_connections`] connections at once and closes one whose headers
//! take longer than [`Options::header_read_timeout`]; admin bodies are at most
//! [`MAX_STATE_BYTES`] (413 beyond).

mod catalog;
mod clock;
mod error;
mod faults;
mod ids;
mod persist;
mod routes;
mod server;
pub mod state;
mod store;
mod synthetic;
mod token;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use state::{
    ApiKey, ApiVersion, AttrValue, Attribute, Attributes, Condition, CustomRole, Group, KeyType,
    MAX_STATE_BYTES, Member, MemberKind, MembershipType, PUBLIC_ACCESS_ID, PUBLIC_ACCESS_NAME,
    Policy, PolicyState, ResourceGroup, ResourceInstance, Rule, ServiceId, State, Tag, User,
    UserState,
};
pub use synthetic::{
    SYNTHETIC_ADMIN_IAM_ID, SYNTHETIC_ADMIN_KEY, SYNTHETIC_REALM, SYNTHETIC_SERVICE_KEY, Synthetic,
    SyntheticAccess, synthetic, synthetic_access, synthetic_instance_name, synthetic_role_name,
};

use error::ApiError;
use faults::{Faults, Stats};
use store::Store;

/// How the emulator misbehaves and persists. The emulator's own settings: the command
/// line's flags are turned into them in `commands/emulator.rs`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed of every random fault decision.
    pub seed: u64,
    /// Added to every API response.
    pub latency: Duration,
    /// Random extra latency, uniform in `0..=jitter`.
    pub jitter: Duration,
    /// Probability of answering 500/503 before any change.
    pub fail_rate: f64,
    /// Probability of closing the connection without answering (half of them after the
    /// request's write was applied).
    pub drop_rate: f64,
    /// API requests per second before 429; 0 is unlimited.
    pub rate_limit: f64,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// How long an invitee (or a user loaded `PROCESSING`) stays so before turning
    /// `PENDING`.
    pub processing: Duration,
    /// Write the state here (atomically) after every change, in the format the file has
    /// (YAML or JSON).
    pub persist: Option<PathBuf>,
    /// The most connections served at once; more wait in the listen backlog until one
    /// closes (docs/emulator.md, Safety: a slow client cannot starve the others).
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, idle keep-alive
    /// connections included; then it is closed.
    pub header_read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fail_rate: 0.0,
            drop_rate: 0.0,
            rate_limit: 0.0,
            token_ttl: Duration::from_secs(3600),
            processing: Duration::ZERO,
            persist: None,
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

impl Options {
    fn processing_ms(&self) -> u64 {
        u64::try_from(self.processing.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    store: Mutex<Store>,
    stats: Stats,
    faults: Faults,
    options: Options,
    persister: Option<persist::Persister>,
    /// This process's token-signing key (docs/emulator.md, Safety).
    token_key: token::SigningKey,
    traces: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Store> {
        // A handler never panics while holding the lock; if one did, the store is still
        // consistent (every operation validates before it mutates), so keep serving.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the settled store and persists any change before the answer goes out,
    /// so a 2xx is never lost by a restart.
    fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut store = self.lock();
        store.settle(clock::now_ms());
        let result = f(&mut store);
        if store.dirty {
            store.dirty = false;
            if let Some(persister) = &self.persister
                && let Err(e) = persister.write(&store.to_state())
            {
                // The change holds in memory but not on disk yet: the next request
                // writes again, so the file catches up rather than staying behind.
                store.dirty = true;
                tracing::error!("{e}");
                return Err(ApiError::new(500, "persist_failed", e));
            }
        }
        result
    }

    fn replace(&self, state: State) -> Result<(), String> {
        let mut store = self.lock();
        *store = Store::from_state(state, clock::now_ms(), self.options.processing_ms());
        if let Some(persister) = &self.persister {
            persister.write(&store.to_state())?;
        }
        Ok(())
    }

    fn snapshot(&self) -> State {
        // Settling may change states; `with_store` persists that too.
        self.with_store(|s| Ok(s.to_state()))
            .unwrap_or_else(|_| self.lock().to_state())
    }
}

/// A running emulator. Dropping it without [`Emulator::shutdown`] leaves the server
/// running until the runtime ends.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts an emulator on a free loopback port.
pub async fn start(state: State, options: Options) -> std::io::Result<Emulator> {
    bind(SocketAddr::from(([127, 0, 0, 1], 0)), state, options).await
}

/// Starts an emulator on `addr`. The state is checked first (`State::validate`).
pub async fn bind(addr: SocketAddr, state: State, options: Options) -> std::io::Result<Emulator> {
    state
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        store: Mutex::new(Store::from_state(
            state,
            clock::now_ms(),
            options.processing_ms(),
        )),
        stats: Stats::default(),
        faults: Faults::new(
            options.seed,
            options.fail_rate,
            options.drop_rate,
            options.latency,
            options.jitter,
            options.rate_limit,
        ),
        persister: options.persist.clone().map(persist::Persister::new),
        token_key: token::SigningKey::random(),
        options,
        traces: std::sync::atomic::AtomicU64::new(0),
    });
    let router = routes::router(shared.clone());
    let (stop, stopped) = watch::channel(false);
    let limits = server::Limits {
        max_connections: shared.options.max_connections,
        header_read_timeout: shared.options.header_read_timeout,
    };
    let task = tokio::spawn(server::serve(listener, router, limits, stopped));
    Ok(Emulator {
        addr,
        shared,
        stop,
        task,
    })
}

impl Emulator {
    /// `http://127.0.0.1:PORT`: every API (token, User Management, Access Groups, Policy
    /// Management, Resource Controller, Resource Manager) and the admin endpoints live
    /// under it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The account the emulator serves (its tokens carry it in `account.bss`).
    pub fn account_id(&self) -> String {
        self.shared.lock().account_id().to_string()
    }

    /// The account now (as `GET /__admin/state`).
    pub fn state(&self) -> State {
        self.shared.snapshot()
    }

    /// Replaces the account (as `POST /__admin/state`). An invalid state is loaded as far
    /// as it goes (duplicates keep their first occurrence); check it with
    /// `State::validate` first when that matters.
    pub fn set_state(&self, state: State) {
        if let Err(e) = self.shared.replace(state) {
            tracing::error!("{e}");
        }
    }

    /// A token for `apikey` as `POST /identity/token` answers it (`None` for a key the
    /// state does not hold), without a request: not counted, never faulted. For tests that
    /// need a token from an emulator that drops or fails every call; tokens are only valid
    /// for the emulator that minted them.
    pub fn token_for(&self, apikey: &str) -> Option<String> {
        routes::token_for(&self.shared, apikey)
    }

    /// The request statistics, the same JSON as `GET /__admin/stats`.
    pub fn stats(&self) -> serde_json::Value {
        self.shared.stats.to_json()
    }

    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
