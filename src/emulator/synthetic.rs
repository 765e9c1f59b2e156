//! Deterministic synthetic accounts: the benchmark's 10,000 users and the tests' small
//! accounts, generated from a [`Synthetic`] spec so the same spec is always the same state.

use super::ids::{digest, hex, ibmid_suffix, uuid_from};
use super::state::{ApiKey, Group, KeyType, Member, MemberKind, ServiceId, State, User, UserState};

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
    let users = users(spec, &seed);
    let mut groups = groups(spec.groups.min(500), &seed);
    spread_memberships(&mut groups, &users, spec.memberships, &seed);
    let service_ids = service_ids(&mut groups, spec.service_ids_in_groups, &seed);
    let service_key_iam_id = service_ids
        .first()
        .map(|s| s.iam_id.clone())
        .unwrap_or_default();
    State {
        account_id: hex(&digest(&[b"account", &seed])[..16]),
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
        ..State::default()
    }
}

const ADDED_ON: &str = "2024-01-01T00:00:00.000Z";
const JOINED_AT: &str = "2024-01-02T00:00:00.000Z";

/// The admin first, then `spec.users - 1` users, the last `pending_users` of them PENDING.
fn users(spec: &Synthetic, seed: &[u8]) -> Vec<User> {
    let users_n = spec.users.max(1);
    let mut users = Vec::with_capacity(users_n);
    users.push(User {
        email: "admin@example.com".into(),
        iam_id: SYNTHETIC_ADMIN_IAM_ID.into(),
        state: UserState::Active,
        firstname: "Account".into(),
        lastname: "Admin".into(),
        added_on: Some(ADDED_ON.into()),
        processing_until: None,
    });
    let pending_from = users_n.saturating_sub(spec.pending_users);
    for i in 1..users_n {
        // The index keeps iam_ids unique; the hashed prefix makes them look like IBM's.
        let prefix = ibmid_suffix(&[b"user", seed, &(i as u64).to_le_bytes()]);
        users.push(User {
            email: format!("user{i:05}@example.com"),
            iam_id: format!("IBMid-{}{i:06}", &prefix[..4]),
            state: if i >= pending_from {
                UserState::Pending
            } else {
                UserState::Active
            },
            firstname: FIRST[i % FIRST.len()].into(),
            lastname: LAST[(i / FIRST.len()) % LAST.len()].into(),
            added_on: Some(ADDED_ON.into()),
            processing_until: None,
        });
    }
    users
}

fn groups(groups_n: usize, seed: &[u8]) -> Vec<Group> {
    (0..groups_n)
        .map(|g| Group {
            id: format!(
                "AccessGroupId-{}",
                uuid_from(&[b"group", seed, &(g as u64).to_le_bytes()])
            ),
            name: format!("project-{g:03}"),
            description: format!("Synthetic project {g}"),
            members: Vec::new(),
            created_at: Some(ADDED_ON.into()),
            created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            last_modified_at: Some(ADDED_ON.into()),
            last_modified_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            revision: 0,
            rules: Vec::new(),
        })
        .collect()
}

fn joined(iam_id: &str, kind: MemberKind) -> Member {
    Member {
        iam_id: iam_id.to_string(),
        kind,
        created_at: Some(JOINED_AT.into()),
        created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
        membership_type: Default::default(),
    }
}

/// Membership k is user k % U's (k / U)-th group, counted from a per-user offset:
/// distinct groups per user, even spread, and at most 50 groups per user.
fn spread_memberships(groups: &mut [Group], users: &[User], memberships: usize, seed: &[u8]) {
    let groups_n = groups.len();
    if groups_n == 0 {
        return;
    }
    let memberships = memberships.min(users.len() * groups_n.min(50));
    let offsets: Vec<usize> = (0..users.len())
        .map(|u| {
            let d = digest(&[b"offset", seed, &(u as u64).to_le_bytes()]);
            usize::from(u16::from_le_bytes([d[0], d[1]])) % groups_n
        })
        .collect();
    for k in 0..memberships {
        let u = k % users.len();
        let j = k / users.len();
        let g = (offsets.get(u).copied().unwrap_or(0) + j) % groups_n;
        if let (Some(group), Some(user)) = (groups.get_mut(g), users.get(u)) {
            group.members.push(joined(&user.iam_id, MemberKind::User));
        }
    }
}

/// The service ID behind `test-service-key`, then `in_groups` service IDs, each a member
/// of one group (round robin).
fn service_ids(groups: &mut [Group], in_groups: usize, seed: &[u8]) -> Vec<ServiceId> {
    let mut service_ids = vec![ServiceId {
        iam_id: format!("iam-ServiceId-{}", uuid_from(&[b"service-key", seed])),
        name: "orgsync-ci".into(),
        description: "The service ID behind test-service-key".into(),
    }];
    let groups_n = groups.len();
    for s in 0..in_groups {
        let iam_id = format!(
            "iam-ServiceId-{}",
            uuid_from(&[b"service", seed, &(s as u64).to_le_bytes()])
        );
        if groups_n > 0
            && let Some(group) = groups.get_mut(s % groups_n)
        {
            group.members.push(joined(&iam_id, MemberKind::Service));
        }
        service_ids.push(ServiceId {
            iam_id,
            name: format!("automation-{s:03}"),
            description: format!("Synthetic service ID {s}"),
        });
    }
    service_ids
}

#[cfg(test)]
mod tests {
    use super::*;

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
            .map(|g| {
                g.members
                    .iter()
                    .filter(|m| m.kind == MemberKind::User)
                    .count()
            })
            .sum();
        assert_eq!(users, 30_000);
        assert_eq!(
            a.users
                .iter()
                .filter(|u| u.state == UserState::Pending)
                .count(),
            100
        );
        assert_ne!(
            a.account_id,
            synthetic(&Synthetic { seed: 8, ..spec }).account_id
        );
    }

    #[test]
    fn memberships_are_capped_at_fifty_groups_per_user() {
        let a = synthetic(&Synthetic {
            users: 2,
            groups: 60,
            memberships: 1_000,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 1,
        });
        let members: usize = a.groups.iter().map(|g| g.members.len()).sum();
        assert_eq!(members, 100, "2 users x 50 groups");
        assert!(a.validate().is_ok(), "{:?}", a.validate());
    }
}
