//! Emulated accounts: a builder for the emulator's state, the shared fixture
//! ([`every_kind`]), starting the emulator in the test's runtime, and readers of what the
//! emulator holds and counted (rosters, request statistics).

use std::collections::{BTreeMap, BTreeSet};

use orgsync::emulator::{self, ApiKey, Emulator, Group, KeyType, Member, MemberKind, State, User};

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const OTHER_ACCOUNT: &str = "fedcba9876543210fedcba9876543210";
pub const KEY: &str = "e2e-admin-api-key";
pub const ADMIN_IAM_ID: &str = "IBMid-E2EADMIN01";
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// A fixed "today" so expiry and pending-invitation warnings never depend on the clock.
pub const TODAY: &str = "2026-11-27";

/// Builds an emulator state: an admin user with an API key, then users and groups.
pub struct Account {
    state: State,
}

impl Default for Account {
    fn default() -> Account {
        Account::new()
    }
}

impl Account {
    pub fn new() -> Account {
        Account {
            state: State {
                account_id: ACCOUNT.into(),
                api_keys: vec![ApiKey {
                    apikey: KEY.into(),
                    iam_id: ADMIN_IAM_ID.into(),
                    kind: KeyType::User,
                }],
                users: vec![user(ADMIN_EMAIL, ADMIN_IAM_ID, "ACTIVE")],
                groups: Vec::new(),
                service_ids: Vec::new(),
                ..State::default()
            },
        }
    }

    pub fn user(mut self, email: &str, iam_id: &str, state: &str) -> Account {
        self.state.users.push(user(email, iam_id, state));
        self
    }

    /// A group with static members given by iam_id (the type follows the id's prefix).
    pub fn group(mut self, id: &str, name: &str, description: &str, members: &[&str]) -> Account {
        self.state.groups.push(Group {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            members: members.iter().map(|m| member(m)).collect(),
            created_at: Some("2024-01-01T00:00:00.000Z".into()),
            created_by_id: Some(ADMIN_IAM_ID.into()),
            last_modified_at: Some("2024-01-01T00:00:00.000Z".into()),
            last_modified_by_id: Some(ADMIN_IAM_ID.into()),
            revision: 0,
            ..Group::default()
        });
        self
    }

    /// Another API key, for the identity `iam_id` (a service ID's key may not invite).
    pub fn api_key(mut self, apikey: &str, iam_id: &str, kind: KeyType) -> Account {
        self.state.api_keys.push(ApiKey {
            apikey: apikey.into(),
            iam_id: iam_id.into(),
            kind,
        });
        self
    }

    pub fn build(self) -> State {
        if let Err(e) = self.state.validate() {
            panic!("the test account is not a valid emulator state: {e}");
        }
        self.state
    }
}

/// An active-or-not user of the account, added on a fixed date.
pub fn user(email: &str, iam_id: &str, state: &str) -> User {
    User {
        email: email.into(),
        iam_id: iam_id.into(),
        state: state.into(),
        firstname: String::new(),
        lastname: String::new(),
        added_on: Some("2026-11-01T00:00:00.000Z".into()),
        processing_until: None,
    }
}

/// A static member; its type follows the iam_id's prefix.
pub fn member(iam_id: &str) -> Member {
    Member {
        iam_id: iam_id.into(),
        kind: MemberKind::of(iam_id).unwrap_or(MemberKind::User),
        created_at: None,
        created_by_id: None,
        ..Member::default()
    }
}

/// Starts the emulator on 127.0.0.1:0 in this test's runtime.
pub async fn start(state: State, options: emulator::Options) -> Emulator {
    match emulator::start(state, options).await {
        Ok(e) => e,
        Err(e) => panic!("cannot start the emulator: {e}"),
    }
}

/// Each group's user members by lower-cased email (unknown iam_ids as themselves), and
/// its non-user members separately: what a reader of the account sees.
pub fn rosters(state: &State) -> BTreeMap<String, BTreeSet<String>> {
    let emails: BTreeMap<&str, String> = state
        .users
        .iter()
        .map(|u| (u.iam_id.as_str(), u.email.to_lowercase()))
        .collect();
    state
        .groups
        .iter()
        .map(|g| {
            let members = g
                .members
                .iter()
                .map(|m| match emails.get(m.iam_id.as_str()) {
                    Some(email) if m.kind == MemberKind::User => email.clone(),
                    _ => format!("{} ({})", m.iam_id, m.kind),
                })
                .collect();
            (g.name.clone(), members)
        })
        .collect()
}

/// The names of the groups `iam_id` is a member of.
pub fn groups_of(state: &State, iam_id: &str) -> BTreeSet<String> {
    state
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|m| m.iam_id == iam_id))
        .map(|g| g.name.clone())
        .collect()
}

/// A number in the emulator's statistics (`/__admin/stats`) by its path, 0 when absent:
/// `stat(&stats, &["by_status", "401"])`.
pub fn stat(stats: &serde_json::Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(stats, |v, key| &v[*key])
        .as_u64()
        .unwrap_or(0)
}

/// The number of requests the emulator counted for a route template.
pub fn calls(stats: &serde_json::Value, route: &str) -> u64 {
    stat(stats, &["by_route", route])
}

/// The write routes orgsync may call, as the emulator's stats name them.
pub const WRITE_ROUTES: [&str; 6] = [
    "POST /v2/groups",
    "PATCH /v2/groups/{access_group_id}",
    "PUT /v2/groups/{access_group_id}/members",
    "POST /v2/groups/{access_group_id}/members/delete",
    "POST /v2/accounts/{account_id}/users",
    "DELETE /v2/accounts/{account_id}/users/{iam_id}",
];

/// Write calls by route (zero counts left out).
pub fn writes(stats: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    WRITE_ROUTES
        .iter()
        .map(|r| (*r, calls(stats, r)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The fewest requests that read `state` (docs/ibm-api.md): one token call, the user pages,
/// the group pages, and the member pages of the groups `managed` names, 100 a page, an
/// empty list still costing its one page.
pub fn read_minimum(state: &State, managed: impl Fn(&str) -> bool) -> u64 {
    let pages = |n: usize| n.div_ceil(100).max(1) as u64;
    let members: u64 = state
        .groups
        .iter()
        .filter(|g| managed(&g.name))
        .map(|g| pages(g.members.len()))
        .sum();
    1 + pages(state.users.len()) + pages(state.groups.len()) + members
}

/// Group ids of the scenario of [`every_kind`].
pub const ALGO_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000001";
pub const CHEM_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000002";
pub const FINANCE_ID: &str = "AccessGroupId-0a1b2c3d-0000-4000-8000-000000000004";
pub const SERVICE_ID: &str = "iam-ServiceId-0a1b2c3d-0000-4000-8000-00000000c1c1";

/// An account and a config between which a plan has one change of every kind:
/// - `education` is declared but missing → `create_group`, and erin is added to it
///   (`add_member` with no group id yet);
/// - `algorithms` has an outdated description → `update_group`;
/// - carol is listed but not in the account → `invite_user` into two groups;
/// - dave's invitation failed (`ERROR_WHILE_PROCESSING`) → `invite_user` replacing it;
/// - erin is a `PENDING` invitee: never invited again, only added;
/// - alice lacks chemistry → `add_member`; bob is in chemistry, the file says not →
///   `remove_member`; frank is unlisted (`unlisted_users: remove`) → `remove_user`;
/// - a service ID in algorithms and the undeclared `finance` group are left alone.
pub fn every_kind() -> (State, String) {
    let state = Account::new()
        .user("alice@example.com", "IBMid-ALICE00001", "ACTIVE")
        .user("Bob@Example.com", "IBMid-BOB0000001", "ACTIVE")
        .user(
            "dave@example.com",
            "IBMid-DAVE000001",
            "ERROR_WHILE_PROCESSING",
        )
        .user("erin@example.com", "IBMid-ERIN000001", "PENDING")
        .user("frank@example.com", "IBMid-FRANK00001", "ACTIVE")
        .group(
            ALGO_ID,
            "algorithms",
            "Algorithms",
            &["IBMid-ALICE00001", "IBMid-ERIN000001", SERVICE_ID],
        )
        .group(
            CHEM_ID,
            "chemistry",
            "Chemistry",
            &["IBMid-BOB0000001", "IBMid-FRANK00001"],
        )
        .group(
            FINANCE_ID,
            "finance",
            "Billing (not managed)",
            &["IBMid-ALICE00001", "IBMid-BOB0000001"],
        )
        .build();
    let s = |v: &str| v.to_string();
    let config = super::config_yaml(
        ACCOUNT,
        "  unlisted_users: remove\n  max_removals: 5\n",
        &[
            (s("algorithms"), Some(s("Quantum algorithms research"))),
            (s("chemistry"), Some(s("Chemistry"))),
            (s("education"), Some(s("Teaching"))),
        ],
        &[
            (s(ADMIN_EMAIL), vec![]),
            (
                s("alice@example.com"),
                vec![s("algorithms"), s("chemistry")],
            ),
            (s("bob@example.com"), vec![]),
            (
                s("carol@example.com"),
                vec![s("algorithms"), s("chemistry")],
            ),
            (s("dave@example.com"), vec![s("algorithms")]),
            (s("erin@example.com"), vec![s("algorithms"), s("education")]),
        ],
    );
    (state, config)
}
