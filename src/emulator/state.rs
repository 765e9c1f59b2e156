//! The emulator's state file (docs/emulator.md): what an account looks like at rest.
//!
//! This is the one format for `--state`, `--sandbox-state`, `GET/POST /__admin/state` and
//! `--persist`. The minimal example of docs/emulator.md must load, so everything beyond it
//! (timestamps, the invitation clock, service-ID names) is optional and defaults sensibly.
//! Unknown keys are rejected: a typo in a hand-written state file should fail loudly, not
//! seed an account that silently differs from what the author meant. A member's `type` is
//! one of IBM's three and is checked as it is read; a user's `state` is any string IBM
//! reports, so the states the emulator gives meaning to are variants and the rest are kept
//! verbatim.
//!
//! YAML goes through `crate::config::yaml` (the one door to the YAML library); JSON through
//! serde_json. A document whose first non-blank character is `{` is read as JSON, anything
//! else as YAML (JSON is YAML too, so either reader would accept a JSON file; serde_json is
//! simply faster on the 10,000-user files the benchmark writes).

mod access;
mod resources;
mod rules;

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use access::{
    ApiVersion, AttrValue, Attribute, Attributes, CustomRole, MAX_CUSTOM_ROLES,
    MAX_POLICIES_PER_ACCOUNT, MAX_POLICIES_PER_SUBJECT, Policy, PolicyState, Tag, check_resource,
    duplicate_key, resolve_role, role_fits, value_len_ok, with_account,
};
pub use resources::{
    DEFAULT_GROUP_NAME, DEFAULT_REGION, ResourceGroup, ResourceInstance, group_id_for,
    instance_guid_for,
};
pub use rules::{Condition, MAX_RULES_PER_GROUP, MembershipType, OPERATORS, Rule, rule_problem};

/// The id of the built-in Public Access group, which every account has and nobody edits.
pub const PUBLIC_ACCESS_ID: &str = "AccessGroupId-PublicAccess";
/// Its name; reserved, so no other group may take it (case-insensitively).
pub const PUBLIC_ACCESS_NAME: &str = "Public Access";

/// One emulated IBM Cloud account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Access policies (IAM Policy Management), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Policy>,
    /// The account's custom roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<CustomRole>,
    /// Service instances (Resource Controller), in the order they are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_instances: Vec<ResourceInstance>,
    /// Resource groups (Resource Manager). Empty: the account has one, `Default`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_groups: Vec<ResourceGroup>,
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
    /// `ACTIVE`, `PROCESSING`, `PENDING`, `ERROR_WHILE_PROCESSING`, ...
    pub state: UserState,
    #[serde(default)]
    pub firstname: String,
    #[serde(default)]
    pub lastname: String,
    /// When the user was added (ISO-8601 UTC); filled in at load when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
    /// For a `PROCESSING` user: when it turns `PENDING` (Unix epoch milliseconds). A
    /// `PROCESSING` user loaded without it gets `--processing-ms` from the load, as an
    /// invitee does from its invitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_until: Option<u64>,
}

/// A user's state in User Management, as the state file and the API spell it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserState {
    Active,
    /// Just invited; a second invitation is refused with 409 until it turns `Pending`.
    Processing,
    /// Invited, not yet accepted.
    Pending,
    /// Any other state IBM reports (`ERROR_WHILE_PROCESSING`, `SUSPENDED`, ...), verbatim.
    Other(String),
}

impl UserState {
    /// Exact, case-sensitive: `active` is kept as `Other("active")`, so what a state file
    /// says is what the API answers.
    pub fn parse(s: &str) -> UserState {
        match s {
            "ACTIVE" => UserState::Active,
            "PROCESSING" => UserState::Processing,
            "PENDING" => UserState::Pending,
            other => UserState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UserState::Active => "ACTIVE",
            UserState::Processing => "PROCESSING",
            UserState::Pending => "PENDING",
            UserState::Other(s) => s,
        }
    }
}

impl From<&str> for UserState {
    fn from(s: &str) -> UserState {
        UserState::parse(s)
    }
}

impl std::fmt::Display for UserState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UserState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UserState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<UserState, D::Error> {
        String::deserialize(d).map(|s| UserState::parse(&s))
    }
}

/// An access group, its members and its dynamic rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Dynamic rules (at most 5), in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

/// A member of an access group: static (added explicitly) unless `membership_type` says
/// `dynamic` (produced by a rule).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub iam_id: String,
    /// Must agree with the iam_id's prefix.
    #[serde(rename = "type")]
    pub kind: MemberKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "MembershipType::is_static")]
    pub membership_type: MembershipType,
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

/// A group member's `type`: IBM knows these three and nothing else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    #[default]
    User,
    Service,
    Profile,
}

impl MemberKind {
    /// The type IBM expects for an iam_id, judged by its prefix.
    pub fn of(iam_id: &str) -> Option<MemberKind> {
        if iam_id.starts_with("IBMid-") {
            Some(MemberKind::User)
        } else if iam_id.starts_with("iam-ServiceId-") {
            Some(MemberKind::Service)
        } else if iam_id.starts_with("iam-Profile-") {
            Some(MemberKind::Profile)
        } else {
            None
        }
    }

    /// The type a request names; `None` for anything but IBM's three (case-sensitive).
    pub fn parse(s: &str) -> Option<MemberKind> {
        match s {
            "user" => Some(MemberKind::User),
            "service" => Some(MemberKind::Service),
            "profile" => Some(MemberKind::Profile),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Service => "service",
            MemberKind::Profile => "profile",
        }
    }
}

impl std::fmt::Display for MemberKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl KeyType {
    /// The member type of the identity that owns a key of this type.
    pub fn member_kind(self) -> MemberKind {
        match self {
            KeyType::User => MemberKind::User,
            KeyType::Service => MemberKind::Service,
        }
    }
}

/// The largest state the emulator reads, from a file or `POST /__admin/state`: ten times
/// the benchmark's account (10,000 users, 30,000 memberships) as JSON.
pub const MAX_STATE_BYTES: usize = 32 << 20;

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
                state: UserState::Active,
                firstname: "Account".into(),
                lastname: "Admin".into(),
                added_on: None,
                processing_until: None,
            }],
            ..State::default()
        }
    }

    /// Reads and checks a state file (YAML or JSON): a regular file of at most
    /// [`MAX_STATE_BYTES`], so a FIFO or a device cannot hang or exhaust the emulator.
    pub fn load(path: &Path) -> Result<State, String> {
        let text = State::read(path).map_err(|why| {
            format!(
                "cannot read the emulator state file {}: {why}; check the path given to --state",
                path.display()
            )
        })?;
        State::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A state file's text: a regular file (never a FIFO, which would block) of at most
    /// [`MAX_STATE_BYTES`], in UTF-8. The error says why, for the caller to name the flag.
    pub fn read(path: &Path) -> Result<String, String> {
        use std::io::Read;
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        let limit = MAX_STATE_BYTES as u64;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > limit {
            return Err(format!(
                "it is larger than {} MiB, the most a state may be",
                MAX_STATE_BYTES >> 20
            ));
        }
        String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".into())
    }

    /// Parses and checks a state document (YAML, or JSON when it starts with `{`).
    pub fn parse(text: &str) -> Result<State, String> {
        let state: State = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| {
                format!("invalid emulator state (JSON): {e}; fix the document (docs/emulator.md shows the format)")
            })?
        } else {
            crate::config::yaml::from_str(text).map_err(|e| {
                format!("invalid emulator state (YAML): {e}; fix the document (docs/emulator.md shows the format)")
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
            let expected = key.kind.member_kind();
            if MemberKind::of(&key.iam_id) != Some(expected) {
                problems.push(format!(
                    "api key of {} has type {expected}, which does not match its iam_id prefix",
                    key.iam_id
                ));
            }
        }
        let mut ids = HashSet::new();
        let mut emails = HashSet::new();
        for user in &self.users {
            if MemberKind::of(&user.iam_id) != Some(MemberKind::User) {
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
            if user.state.as_str().is_empty() {
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
                if MemberKind::of(&member.iam_id) != Some(member.kind) {
                    problems.push(format!(
                        "group {}: member {} has type \"{}\", which does not match its iam_id prefix",
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
        let mut rule_ids = HashSet::new();
        for group in &self.groups {
            rules::check(&group.name, &group.rules, &mut problems);
            for id in group.rules.iter().filter_map(|r| r.id.as_deref()) {
                if !rule_ids.insert(id) {
                    problems.push(format!("rule id {id} is used by two groups"));
                }
            }
        }
        self.check_access(&mut problems);
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

impl State {
    /// The checks of what the account grants: custom roles, policies, instances and
    /// resource groups.
    fn check_access(&self, problems: &mut Vec<String>) {
        access::check_roles(&self.roles, problems);
        let mut group_ids: HashSet<&str> = self.groups.iter().map(|g| g.id.as_str()).collect();
        group_ids.insert(PUBLIC_ACCESS_ID);
        let ctx = access::PolicyContext {
            account_id: &self.account_id,
            group_ids,
            roles: &self.roles,
        };
        access::check_policies(&ctx, &self.policies, problems);
        resources::check(
            &self.account_id,
            &self.resource_groups,
            &self.resource_instances,
            problems,
        );
    }
}

/// Test fixtures shared with the store's tests.
#[cfg(test)]
pub(crate) mod tests_support {
    /// IBM's Qiskit example, written by hand in the compact form docs/emulator.md shows.
    pub const QISKIT: &str = r#"
account_id: 0123456789abcdef0123456789abcdef
api_keys:
  - {apikey: k, iam_id: IBMid-ADMIN00001, type: user}
users:
  - {email: fatima@example.com, iam_id: IBMid-FATIMA0001, state: ACTIVE}
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
  - {id: AccessGroupId-finance, name: finance}
resource_groups:
  - {name: Default}
resource_instances:
  - {name: QR-ml, service: quantum-computing, guid: 11111111-1111-4111-8111-111111111111}
  - {name: QR-common, service: quantum-computing, guid: 22222222-2222-4222-8222-222222222222}
roles:
  - name: JobManager
    display_name: Job manager
    service_name: quantum-computing
    actions: [quantum-computing.job.read, quantum-computing.job.delete]
policies:
  - access_group_id: AccessGroupId-ml
    roles: [Viewer, Reader, JobManager]
    resource: {serviceName: quantum-computing, serviceInstance: 11111111-1111-4111-8111-111111111111}
  - access_group_id: AccessGroupId-finance
    version: v1
    roles: [crn:v1:bluemix:public:iam::::serviceRole:Reader]
    resource: {serviceName: quantum-computing, serviceInstance: {operator: stringEquals, value: 22222222-2222-4222-8222-222222222222}}
"#;
}

#[cfg(test)]
mod tests {
    use super::tests_support::QISKIT;
    use super::*;
    use crate::emulator::synthetic::{SYNTHETIC_ADMIN_KEY, Synthetic, synthetic};

    #[test]
    fn minimal_example_loads() {
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
        let state = State::parse(text).expect("the documented example is a valid state");
        assert_eq!(state.users.len(), 1);
        assert_eq!(state.users[0].state, UserState::Active);
        assert_eq!(state.groups[0].members[0].kind, MemberKind::User);
        assert_eq!(state.api_keys[0].kind, KeyType::User);
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let state = synthetic(&Synthetic::default());
        let text = serde_json::to_string(&state).expect("serializable");
        assert_eq!(State::parse(&text), Ok(state));
    }

    #[test]
    fn typed_states_and_types_are_written_as_read() {
        // Byte for byte what the string-typed format wrote: same keys, same values.
        let text = r#"{"account_id":"0123456789abcdef0123456789abcdef","api_keys":[],"users":[{"email":"a@x.org","iam_id":"IBMid-A","state":"PROCESSING","firstname":"","lastname":"","processing_until":5},{"email":"b@x.org","iam_id":"IBMid-B","state":"ERROR_WHILE_PROCESSING","firstname":"","lastname":""},{"email":"c@x.org","iam_id":"IBMid-C","state":"active","firstname":"","lastname":""}],"groups":[{"id":"AccessGroupId-1","name":"g","description":"","members":[{"iam_id":"iam-Profile-1","type":"profile"}]}]}"#;
        let state = State::parse(text).expect("valid");
        assert_eq!(state.users[0].state, UserState::Processing);
        assert_eq!(
            state.users[1].state,
            UserState::Other("ERROR_WHILE_PROCESSING".into())
        );
        assert_eq!(state.users[2].state, UserState::Other("active".into()));
        assert_eq!(state.groups[0].members[0].kind, MemberKind::Profile);
        assert_eq!(serde_json::to_string(&state).expect("serializable"), text);
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
        assert!(err.contains(r#"has type "service""#), "{err}");
        let err = State::parse(
            r#"{"account_id":"0123456789abcdef0123456789abcdef","groups":[{"id":"AccessGroupId-1","name":"g","members":[{"iam_id":"IBMid-X","type":"robot"}]}]}"#,
        )
        .expect_err("an unknown type must fail");
        assert!(err.contains("robot"), "{err}");
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
    fn the_qiskit_example_loads() {
        let state = State::parse(QISKIT).expect("the documented example is a valid state");
        assert_eq!(state.policies.len(), 2);
        assert_eq!(state.policies[1].version, ApiVersion::V1);
        assert_eq!(
            state.groups[0].members[1].membership_type,
            MembershipType::Dynamic
        );
        assert_eq!(state.groups[0].rules[0].conditions[0].value, "\"ml\"");
        assert_eq!(
            state.resource_instances[0].guid.as_deref(),
            Some("11111111-1111-4111-8111-111111111111")
        );
        let json = serde_json::to_string(&state).expect("serializable");
        assert!(
            !json.contains("membership_type\":\"static"),
            "static is the default and not written"
        );
        assert_eq!(State::parse(&json), Ok(state));
    }

    #[test]
    fn bad_access_entries_are_reported_together() {
        let bad = QISKIT
            .replace(
                "roles: [Viewer, Reader, JobManager]",
                "roles: [Viewer, Reviewer]",
            )
            .replace("operator: CONTAINS", "operator: LIKE")
            .replace("name: JobManager", "name: jobManager")
            .replace(
                "access_group_id: AccessGroupId-finance",
                "access_group_id: AccessGroupId-nope",
            )
            .replace(
                "- {name: Default}",
                "- {name: Default}\n  - {name: default}",
            );
        let err = State::parse(&bad).expect_err("invalid");
        for needle in [
            "\"Reviewer\" is neither",
            "operator \"LIKE\"",
            "capital letter",
            "AccessGroupId-nope is not a group",
            "listed twice (names compare case-insensitively)",
        ] {
            assert!(err.contains(needle), "{needle:?} missing from: {err}");
        }
        let dup = QISKIT
            .replace(
                "access_group_id: AccessGroupId-finance",
                "access_group_id: AccessGroupId-ml",
            )
            .replace(
                "22222222-2222-4222-8222-222222222222}}",
                "11111111-1111-4111-8111-111111111111}}",
            );
        let err = State::parse(&dup).expect_err("duplicate");
        assert!(err.contains("same subject, resource and tags"), "{err}");
        let wrong_service = QISKIT
            .replace(
                "roles: [crn:v1:bluemix:public:iam::::serviceRole:Reader]",
                "roles: [JobManager]",
            )
            .replace(
                "serviceName: quantum-computing, serviceInstance: {",
                "serviceName: other-service, serviceInstance: {",
            );
        let err = State::parse(&wrong_service).expect_err("a custom role of another service");
        assert!(
            err.contains("is a role of quantum-computing, not of other-service"),
            "{err}"
        );
    }

    #[test]
    fn api_key_debug_hides_the_key() {
        let state = synthetic(&Synthetic::default());
        let debug = format!("{:?}", state.api_keys);
        assert!(!debug.contains(SYNTHETIC_ADMIN_KEY), "{debug}");
    }
}
