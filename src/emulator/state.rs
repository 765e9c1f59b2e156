//! The emulator's state file (SPEC §9): what an account looks like at rest.
//!
//! This is the one format for `--state`, `--sandbox-state`, `GET/POST /__admin/state` and
//! `--persist`. The SPEC's minimal example must load, so everything beyond it (timestamps,
//! the invitation clock, service-ID names) is optional and defaults sensibly. Unknown keys
//! are rejected: a typo in a hand-written state file should fail loudly, not seed an account
//! that silently differs from what the author meant.
//!
//! YAML goes through `crate::config::yaml` (the one door to the YAML library); JSON through
//! serde_json. A document whose first non-blank character is `{` is read as JSON, anything
//! else as YAML (JSON is YAML too, so either reader would accept a JSON file; serde_json is
//! simply faster on the 10,000-user files the benchmark writes).

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The id of the built-in Public Access group, which every account has and nobody edits.
pub const PUBLIC_ACCESS_ID: &str = "AccessGroupId-PublicAccess";
/// Its name; reserved, so no other group may take it (case-insensitively).
pub const PUBLIC_ACCESS_NAME: &str = "Public Access";

/// One emulated IBM Cloud account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// 32 lower-case hex characters, as IBM account ids are.
    pub account_id: String,
    /// API keys the token endpoint accepts.
    #[serde(default)]
    pub api_keys: Vec<ApiKey>,
    /// Users of the account, in the order User Management lists them.
    #[serde(default)]
    pub users: Vec<User>,
    /// Access groups, in the order Access Groups lists them (Public Access is implicit).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Service IDs known to the account, for `verbose` member listings. Optional: a service
    /// ID may be a group member without being listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_ids: Vec<ServiceId>,
}

/// An API key and the identity whose token it buys.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub apikey: String,
    pub iam_id: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
}

// The key is a secret even in the emulator: Debug must not print it.
impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("apikey", &"<redacted>")
            .field("iam_id", &self.iam_id)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Whose key: a person's (may invite and remove users) or a service ID's (may not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    User,
    Service,
}

/// A user of the account as User Management reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// As invited: IBM keeps the case the invitation used; comparisons ignore case.
    pub email: String,
    pub iam_id: String,
    /// `ACTIVE`, `PROCESSING`, `PENDING`, `ERROR_WHILE_PROCESSING`, ... (kept as a string so
    /// any state IBM reports can be seeded).
    pub state: String,
    #[serde(default)]
    pub firstname: String,
    #[serde(default)]
    pub lastname: String,
    /// When the user was added (ISO-8601 UTC); filled in at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
    /// For a `PROCESSING` invitee: when it turns `PENDING` (Unix epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_until: Option<u64>,
}

/// An access group and its static members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
    /// Bumped on every change of name or description; the ETag is derived from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub revision: u64,
}

/// A static member of an access group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub iam_id: String,
    /// `user`, `service` or `profile`; must agree with the iam_id's prefix.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
}

/// A service ID's display data, used by `verbose=true` member listings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceId {
    pub iam_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The member type IBM expects for an iam_id, judged by its prefix.
pub fn member_type_of(iam_id: &str) -> Option<&'static str> {
    if iam_id.starts_with("IBMid-") {
        Some("user")
    } else if iam_id.starts_with("iam-ServiceId-") {
        Some("service")
    } else if iam_id.starts_with("iam-Profile-") {
        Some("profile")
    } else {
        None
    }
}

impl State {
    /// An account with nothing in it but one admin user and its key.
    pub fn empty(account_id: &str, admin_key: &str) -> State {
        State {
            account_id: account_id.to_string(),
            api_keys: vec![ApiKey {
                apikey: admin_key.to_string(),
                iam_id: "IBMid-ADMIN00001".into(),
                kind: KeyType::User,
            }],
            users: vec![User {
                email: "admin@example.com".into(),
                iam_id: "IBMid-ADMIN00001".into(),
                state: "ACTIVE".into(),
                firstname: "Account".into(),
                lastname: "Admin".into(),
                added_on: None,
                processing_until: None,
            }],
            groups: Vec::new(),
            service_ids: Vec::new(),
        }
    }

    /// Reads and checks a state file (YAML or JSON).
    pub fn load(path: &Path) -> Result<State, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the emulator state file {}: {e}; check the path given to --state",
                path.display()
            )
        })?;
        State::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks a state document (YAML, or JSON when it starts with `{`).
    pub fn parse(text: &str) -> Result<State, String> {
        let state: State = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                format!("invalid emulator state (JSON): {e}; fix the document (SPEC §9 shows the format)")
            })?
        } else {
            crate::config::yaml::from_str(text).map_err(|e| {
                format!("invalid emulator state (YAML): {e}; fix the document (SPEC §9 shows the format)")
            })?
        };
        state.validate()?;
        Ok(state)
    }

    /// Checks what the serde types cannot: ids unique, types consistent, IBM's limits.
    /// Every problem is reported at once.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if !crate::model::AccountId::is_valid(&self.account_id) {
            problems.push(format!(
                "account_id {:?} is not 32 lower-case hex characters",
                self.account_id
            ));
        }
        let mut keys = HashSet::new();
        for key in &self.api_keys {
            if key.apikey.is_empty() {
                problems.push(format!("api key of {} is empty", key.iam_id));
            } else if !keys.insert(key.apikey.as_str()) {
                problems.push(format!("an api key of {} is listed twice", key.iam_id));
            }
            let expected = match key.kind {
                KeyType::User => "user",
                KeyType::Service => "service",
            };
            if member_type_of(&key.iam_id) != Some(expected) {
                problems.push(format!(
                    "api key of {} has type {expected}, which does not match its iam_id prefix",
                    key.iam_id
                ));
            }
        }
        let mut ids = HashSet::new();
        let mut emails = HashSet::new();
        for user in &self.users {
            if member_type_of(&user.iam_id) != Some("user") {
                problems.push(format!(
                    "user {} has iam_id {:?}, which does not start with IBMid-",
                    user.email, user.iam_id
                ));
            }
            if !ids.insert(user.iam_id.as_str()) {
                problems.push(format!("user iam_id {} is listed twice", user.iam_id));
            }
            if !emails.insert(user.email.trim().to_lowercase()) {
                problems.push(format!(
                    "user email {} is listed twice (emails compare case-insensitively)",
                    user.email
                ));
            }
            if user.state.is_empty() {
                problems.push(format!("user {} has an empty state", user.email));
            }
        }
        if self.groups.len() > 500 {
            problems.push(format!(
                "{} access groups exceed IBM's limit of 500 per account",
                self.groups.len()
            ));
        }
        let mut group_ids = HashSet::new();
        let mut names = HashSet::new();
        names.insert(PUBLIC_ACCESS_NAME.to_lowercase());
        let mut per_member: std::collections::HashMap<&str, usize> = Default::default();
        for group in &self.groups {
            if group.id == PUBLIC_ACCESS_ID || !group.id.starts_with("AccessGroupId-") {
                problems.push(format!(
                    "group id {:?} must start with AccessGroupId- and must not be the Public Access group",
                    group.id
                ));
            }
            if !group_ids.insert(group.id.as_str()) {
                problems.push(format!("group id {} is listed twice", group.id));
            }
            let chars = group.name.chars().count();
            if chars == 0 || chars > 100 {
                problems.push(format!("group {}: name must be 1-100 characters", group.id));
            }
            if !names.insert(group.name.to_lowercase()) {
                problems.push(format!(
                    "group name {:?} is taken (names are unique case-insensitively; Public Access is reserved)",
                    group.name
                ));
            }
            if group.description.chars().count() > 250 {
                problems.push(format!(
                    "group {}: description exceeds 250 characters",
                    group.name
                ));
            }
            let mut seen = HashSet::new();
            for member in &group.members {
                if member_type_of(&member.iam_id) != Some(member.kind.as_str()) {
                    problems.push(format!(
                        "group {}: member {} has type {:?}, which does not match its iam_id prefix",
                        group.name, member.iam_id, member.kind
                    ));
                }
                if !seen.insert(member.iam_id.as_str()) {
                    problems.push(format!(
                        "group {}: member {} is listed twice",
                        group.name, member.iam_id
                    ));
                }
                *per_member.entry(member.iam_id.as_str()).or_default() += 1;
            }
        }
        let mut over: Vec<_> = per_member.into_iter().filter(|(_, n)| *n > 50).collect();
        over.sort();
        for (iam_id, n) in over {
            problems.push(format!(
                "{iam_id} is in {n} groups, over IBM's limit of 50 per iam_id"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("invalid emulator state: {}", problems.join("; ")))
        }
    }
}

/// What [`synthetic`] generates. Counts are exact unless IBM's limits forbid them (then
/// memberships are capped at 50 groups per user).
#[derive(Clone, Debug)]
pub struct Synthetic {
    /// Users in the account, the admin (`admin@example.com`, key `test-admin-key`) included.
    pub users: usize,
    /// Access groups (besides Public Access); at most 500.
    pub groups: usize,
    /// User memberships, spread evenly and deterministically over users and groups.
    pub memberships: usize,
    /// Service-ID memberships; each uses its own service ID.
    pub service_ids_in_groups: usize,
    /// How many of the users (the last ones) are `PENDING` invitees rather than `ACTIVE`.
    pub pending_users: usize,
    /// Varies ids, names' order of membership and the account id.
    pub seed: u64,
}

impl Default for Synthetic {
    fn default() -> Self {
        Synthetic {
            users: 10,
            groups: 3,
            memberships: 10,
            service_ids_in_groups: 1,
            pending_users: 1,
            seed: 0,
        }
    }
}

/// The admin user's API key in every synthetic account.
pub const SYNTHETIC_ADMIN_KEY: &str = "test-admin-key";
/// The admin user's iam_id in every synthetic account.
pub const SYNTHETIC_ADMIN_IAM_ID: &str = "IBMid-ADMIN00001";
/// A service ID's API key in every synthetic account (reads allowed, invites forbidden).
pub const SYNTHETIC_SERVICE_KEY: &str = "test-service-key";

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A UUID-shaped (version 4 layout) string derived from the inputs.
pub(crate) fn uuid_from(parts: &[&[u8]]) -> String {
    let h = hex(&digest(parts));
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Ten upper-case base-36 characters derived from the inputs, as IBMid suffixes look.
pub(crate) fn ibmid_suffix(parts: &[&[u8]]) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let d = digest(parts);
    d.iter()
        .take(10)
        .map(|b| char::from(ALPHABET[usize::from(*b) % 36]))
        .collect()
}

const FIRST: [&str; 8] = [
    "Ada",
    "Alan",
    "Grace",
    "John",
    "Katherine",
    "Lise",
    "Marie",
    "Niels",
];
const LAST: [&str; 8] = [
    "Lovelace", "Turing", "Hopper", "Bell", "Johnson", "Meitner", "Curie", "Bohr",
];

/// A deterministic account: the same spec always yields the same state.
pub fn synthetic(spec: &Synthetic) -> State {
    let seed = spec.seed.to_le_bytes();
    let account_id = hex(&digest(&[b"account", &seed])[..16]);
    let users_n = spec.users.max(1);
    let groups_n = spec.groups.min(500);
    let mut users = Vec::with_capacity(users_n);
    users.push(User {
        email: "admin@example.com".into(),
        iam_id: SYNTHETIC_ADMIN_IAM_ID.into(),
        state: "ACTIVE".into(),
        firstname: "Account".into(),
        lastname: "Admin".into(),
        added_on: Some("2024-01-01T00:00:00.000Z".into()),
        processing_until: None,
    });
    let pending_from = users_n.saturating_sub(spec.pending_users);
    for i in 1..users_n {
        // The index keeps iam_ids unique; the hashed prefix makes them look like IBM's.
        let prefix = ibmid_suffix(&[b"user", &seed, &(i as u64).to_le_bytes()]);
        users.push(User {
            email: format!("user{i:05}@example.com"),
            iam_id: format!("IBMid-{}{i:06}", &prefix[..4]),
            state: if i >= pending_from {
                "PENDING"
            } else {
                "ACTIVE"
            }
            .into(),
            firstname: FIRST[i % FIRST.len()].into(),
            lastname: LAST[(i / FIRST.len()) % LAST.len()].into(),
            added_on: Some("2024-01-01T00:00:00.000Z".into()),
            processing_until: None,
        });
    }
    let mut groups: Vec<Group> = (0..groups_n)
        .map(|g| Group {
            id: format!(
                "AccessGroupId-{}",
                uuid_from(&[b"group", &seed, &(g as u64).to_le_bytes()])
            ),
            name: format!("project-{g:03}"),
            description: format!("Synthetic project {g}"),
            members: Vec::new(),
            created_at: Some("2024-01-01T00:00:00.000Z".into()),
            created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            last_modified_at: Some("2024-01-01T00:00:00.000Z".into()),
            last_modified_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            revision: 0,
        })
        .collect();
    if groups_n > 0 {
        // Membership k is user k % U's (k / U)-th group, counted from a per-user offset:
        // distinct groups per user, even spread, and at most 50 groups per user.
        let per_user_cap = groups_n.min(50);
        let memberships = spec.memberships.min(users_n * per_user_cap);
        let offsets: Vec<usize> = (0..users_n)
            .map(|u| {
                let d = digest(&[b"offset", &seed, &(u as u64).to_le_bytes()]);
                usize::from(u16::from_le_bytes([d[0], d[1]])) % groups_n
            })
            .collect();
        for k in 0..memberships {
            let u = k % users_n;
            let j = k / users_n;
            let g = (offsets.get(u).copied().unwrap_or(0) + j) % groups_n;
            if let (Some(group), Some(user)) = (groups.get_mut(g), users.get(u)) {
                group.members.push(Member {
                    iam_id: user.iam_id.clone(),
                    kind: "user".into(),
                    created_at: Some("2024-01-02T00:00:00.000Z".into()),
                    created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
                });
            }
        }
    }
    let mut service_ids = vec![ServiceId {
        iam_id: format!("iam-ServiceId-{}", uuid_from(&[b"service-key", &seed])),
        name: "orgsync-ci".into(),
        description: "The service ID behind test-service-key".into(),
    }];
    for s in 0..spec.service_ids_in_groups {
        let iam_id = format!(
            "iam-ServiceId-{}",
            uuid_from(&[b"service", &seed, &(s as u64).to_le_bytes()])
        );
        if groups_n > 0
            && let Some(group) = groups.get_mut(s % groups_n)
        {
            group.members.push(Member {
                iam_id: iam_id.clone(),
                kind: "service".into(),
                created_at: Some("2024-01-02T00:00:00.000Z".into()),
                created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            });
        }
        service_ids.push(ServiceId {
            iam_id,
            name: format!("automation-{s:03}"),
            description: format!("Synthetic service ID {s}"),
        });
    }
    let service_key_iam_id = service_ids
        .first()
        .map(|s| s.iam_id.clone())
        .unwrap_or_default();
    State {
        account_id,
        api_keys: vec![
            ApiKey {
                apikey: SYNTHETIC_ADMIN_KEY.into(),
                iam_id: SYNTHETIC_ADMIN_IAM_ID.into(),
                kind: KeyType::User,
            },
            ApiKey {
                apikey: SYNTHETIC_SERVICE_KEY.into(),
                iam_id: service_key_iam_id,
                kind: KeyType::Service,
            },
        ],
        users,
        groups,
        service_ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_minimal_example_loads() {
        let text = r#"
account_id: 0123456789abcdef0123456789abcdef
api_keys:
  - {apikey: sandbox-admin-key, iam_id: IBMid-ADMIN00001, type: user}
users:
  - {email: alice@example.com, iam_id: IBMid-ALICE0001, state: ACTIVE, firstname: Alice, lastname: Liddell}
groups:
  - id: AccessGroupId-5f0c0d57-0000-4000-8000-000000000001
    name: quantum-algorithms
    description: Algorithms research
    members:
      - {iam_id: IBMid-ALICE0001, type: user}
"#;
        let state = State::parse(text).expect("the SPEC example is a valid state");
        assert_eq!(state.users.len(), 1);
        assert_eq!(state.groups[0].members[0].kind, "user");
        assert_eq!(state.api_keys[0].kind, KeyType::User);
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let state = synthetic(&Synthetic::default());
        let text = serde_json::to_string(&state).expect("serializable");
        assert_eq!(State::parse(&text), Ok(state));
    }

    #[test]
    fn unknown_key_and_wrong_member_type_are_rejected() {
        let err = State::parse("account_id: 0123456789abcdef0123456789abcdef\nuserz: []\n")
            .expect_err("typo must fail");
        assert!(err.contains("userz"), "{err}");
        let err = State::parse(
            r#"{"account_id":"0123456789abcdef0123456789abcdef","groups":[{"id":"AccessGroupId-1","name":"g","members":[{"iam_id":"IBMid-X","type":"service"}]}]}"#,
        )
        .expect_err("type mismatch must fail");
        assert!(err.contains("does not match its iam_id prefix"), "{err}");
    }

    #[test]
    fn duplicate_group_names_compare_case_insensitively() {
        let err = State::parse(
            r#"{"account_id":"0123456789abcdef0123456789abcdef","groups":[{"id":"AccessGroupId-1","name":"Dev"},{"id":"AccessGroupId-2","name":"dev"}]}"#,
        )
        .expect_err("duplicate must fail");
        assert!(err.contains("is taken"), "{err}");
    }

    #[test]
    fn synthetic_is_deterministic_valid_and_exact() {
        let spec = Synthetic {
            users: 10_000,
            groups: 300,
            memberships: 30_000,
            service_ids_in_groups: 20,
            pending_users: 100,
            seed: 7,
        };
        let a = synthetic(&spec);
        assert_eq!(a, synthetic(&spec));
        assert!(a.validate().is_ok(), "{:?}", a.validate());
        assert_eq!(a.users.len(), 10_000);
        assert_eq!(a.groups.len(), 300);
        let users: usize = a
            .groups
            .iter()
            .map(|g| g.members.iter().filter(|m| m.kind == "user").count())
            .sum();
        assert_eq!(users, 30_000);
        assert_eq!(a.users.iter().filter(|u| u.state == "PENDING").count(), 100);
        assert_ne!(
            a.account_id,
            synthetic(&Synthetic { seed: 8, ..spec }).account_id
        );
    }

    #[test]
    fn api_key_debug_hides_the_key() {
        let state = synthetic(&Synthetic::default());
        let debug = format!("{:?}", state.api_keys);
        assert!(!debug.contains(SYNTHETIC_ADMIN_KEY), "{debug}");
    }
}
