//! Deterministic synthetic accounts: the benchmark's 10,000 users and the tests' small
//! accounts, generated from a [`Synthetic`] spec so the same spec is always the same state;
//! [`SyntheticAccess`] adds instances, policies, custom roles, rules and dynamic members.

use super::catalog;
use super::ids::{self, digest, hex, ibmid_suffix, uuid_from};
use super::state::{
    ApiKey, ApiVersion, AttrValue, Attribute, Attributes, Condition, CustomRole, Group, KeyType,
    MAX_RULES_PER_GROUP, Member, MemberKind, MembershipType, Policy, ResourceInstance, Rule,
    ServiceId, State, User, UserState, instance_guid_for, resolve_role,
};

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
    fn benchmark_access_is_deterministic_valid_and_exact() {
        let spec = Synthetic {
            users: 10_000,
            groups: 300,
            memberships: 30_000,
            service_ids_in_groups: 0,
            pending_users: 0,
            seed: 3,
        };
        let access = SyntheticAccess {
            instances: 20,
            policy_groups: 100,
            policies_per_group: 2,
            v1_every: 4,
            custom_roles: 2,
            rule_groups: 3,
            rules_per_group: 2,
            dynamic_members_per_group: 5,
            ..SyntheticAccess::default()
        };
        let a = synthetic_access(&spec, &access);
        assert_eq!(a, synthetic_access(&spec, &access));
        assert!(a.validate().is_ok(), "{:?}", a.validate());
        assert_eq!(a.resource_instances.len(), 20);
        assert_eq!(a.policies.len(), 200);
        assert_eq!(a.roles.len(), 2);
        assert_eq!(
            a.policies
                .iter()
                .filter(|p| p.version == ApiVersion::V1)
                .count(),
            50
        );
        for g in &a.groups[..100] {
            let on: std::collections::HashSet<_> = a
                .policies
                .iter()
                .filter(|p| p.access_group_id.as_ref() == Some(&g.id))
                .map(|p| {
                    p.resource
                        .get_str("serviceInstance")
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            assert_eq!(on.len(), 2, "two policies on two instances for {}", g.name);
        }
        assert!(a.groups[100..].iter().all(|g| {
            !a.policies
                .iter()
                .any(|p| p.access_group_id.as_ref() == Some(&g.id))
        }));
        let dynamic: usize = a
            .groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .filter(|m| m.membership_type == MembershipType::Dynamic)
                    .count()
            })
            .sum();
        assert_eq!(dynamic, 15);
        assert_eq!(a.groups.iter().map(|g| g.rules.len()).sum::<usize>(), 6);
        let text = serde_json::to_string(&a).expect("serializable");
        assert_eq!(State::parse(&text), Ok(a));
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

/// What [`synthetic_access`] adds to a synthetic account: service instances, access
/// policies, custom roles, dynamic rules and dynamic members, all deterministic.
///
/// Instances are `quantum-computing` instances named `qr-000`, `qr-001`, ... (GUIDs
/// derived from the account, so the same spec gives the same GUIDs). The first
/// `policy_groups` groups (in the order [`synthetic`] makes them, `project-000` first) get
/// `policies_per_group` policies each; policy `j` of group `g` is on instance
/// `(g * policies_per_group + j) % instances`, so a group's policies are on distinct
/// instances while `policies_per_group <= instances`.
#[derive(Clone, Debug)]
pub struct SyntheticAccess {
    pub instances: usize,
    pub policy_groups: usize,
    pub policies_per_group: usize,
    /// The roles of every generated policy: built-in display names (`Viewer`, `Reader`,
    /// ...), custom role names or CRNs.
    pub policy_roles: Vec<String>,
    /// Every `v1_every`-th policy (counting from the first) was created through v1;
    /// 0: all through v2.
    pub v1_every: usize,
    /// Custom roles `SyntheticRole000`, `SyntheticRole001`, ... of `quantum-computing`.
    pub custom_roles: usize,
    /// The first `rule_groups` groups get `rules_per_group` dynamic rules (at most 5).
    pub rule_groups: usize,
    pub rules_per_group: usize,
    /// Dynamic members per rule group, taken from the account's users who are not
    /// members yet.
    pub dynamic_members_per_group: usize,
}

impl Default for SyntheticAccess {
    fn default() -> Self {
        SyntheticAccess {
            instances: 0,
            policy_groups: 0,
            policies_per_group: 0,
            policy_roles: vec!["Viewer".into(), "Reader".into()],
            v1_every: 0,
            custom_roles: 0,
            rule_groups: 0,
            rules_per_group: 0,
            dynamic_members_per_group: 0,
        }
    }
}

/// The name of synthetic instance `i`.
pub fn synthetic_instance_name(i: usize) -> String {
    format!("qr-{i:03}")
}

/// The name of synthetic custom role `k`.
pub fn synthetic_role_name(k: usize) -> String {
    format!("SyntheticRole{k:03}")
}

/// The realm of synthetic dynamic rules.
pub const SYNTHETIC_REALM: &str =
    "https://us-south.appid.cloud.ibm.com/oauth/v4/00000000-0000-4000-8000-00000000a99d";

/// A synthetic account ([`synthetic`]) with what [`SyntheticAccess`] adds.
pub fn synthetic_access(spec: &Synthetic, access: &SyntheticAccess) -> State {
    let mut state = synthetic(spec);
    add_instances(&mut state, access.instances);
    add_custom_roles(&mut state, access.custom_roles);
    add_policies(&mut state, access);
    add_rules(&mut state, access);
    state
}

fn add_instances(state: &mut State, n: usize) {
    for i in 0..n {
        let name = synthetic_instance_name(i);
        state.resource_instances.push(ResourceInstance {
            guid: Some(instance_guid_for(&state.account_id, &name, i)),
            name,
            service: catalog::QUANTUM.into(),
            created_at: Some(ADDED_ON.into()),
            ..ResourceInstance::default()
        });
    }
}

fn add_custom_roles(state: &mut State, n: usize) {
    let actions = ["quantum-computing.job.read", "quantum-computing.job.delete"];
    for k in 0..n {
        let name = synthetic_role_name(k);
        state.roles.push(CustomRole {
            id: Some(ids::hex(
                format!(
                    "customRole-{}-{name}",
                    ids::hex(
                        &digest(&[
                            b"role",
                            state.account_id.as_bytes(),
                            &(k as u64).to_le_bytes()
                        ])[..16]
                    )
                )
                .as_bytes(),
            )),
            display_name: format!("Synthetic role {k}"),
            description: format!("Synthetic custom role {k}"),
            service_name: catalog::QUANTUM.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            created_at: Some(ADDED_ON.into()),
            created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            last_modified_at: Some(ADDED_ON.into()),
            last_modified_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
            revision: 1,
            name,
        });
    }
}

fn add_policies(state: &mut State, access: &SyntheticAccess) {
    let instances = state.resource_instances.len();
    if instances == 0 || access.policies_per_group == 0 {
        return;
    }
    let per = access.policies_per_group;
    let groups: Vec<String> = state
        .groups
        .iter()
        .take(access.policy_groups)
        .map(|g| g.id.clone())
        .collect();
    let mut n = 0usize;
    for (g, group) in groups.iter().enumerate() {
        for j in 0..per {
            let instance = &state.resource_instances[(g * per + j) % instances];
            let guid = instance.guid.clone().unwrap_or_default();
            let version = if access.v1_every > 0 && n.is_multiple_of(access.v1_every) {
                ApiVersion::V1
            } else {
                ApiVersion::V2
            };
            let mut resource = Attributes(Vec::new());
            for (key, value) in [
                ("accountId", state.account_id.clone()),
                ("serviceName", catalog::QUANTUM.to_string()),
                ("serviceInstance", guid),
            ] {
                resource.0.push(Attribute {
                    key: key.into(),
                    operator: (version == ApiVersion::V2).then(|| "stringEquals".into()),
                    value: AttrValue::Str(value),
                });
            }
            state.policies.push(Policy {
                id: Some(uuid_from(&[
                    b"policy",
                    state.account_id.as_bytes(),
                    &(n as u64).to_le_bytes(),
                ])),
                version,
                kind: "access".into(),
                access_group_id: Some(group.clone()),
                roles: access
                    .policy_roles
                    .iter()
                    .map(|r| {
                        resolve_role(&state.account_id, &state.roles, r)
                            .unwrap_or_else(|| r.clone())
                    })
                    .collect(),
                resource,
                created_at: Some(ADDED_ON.into()),
                created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
                last_modified_at: Some(ADDED_ON.into()),
                last_modified_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
                revision: 1,
                ..Policy::default()
            });
            n += 1;
        }
    }
}

fn add_rules(state: &mut State, access: &SyntheticAccess) {
    let rules = access.rules_per_group.min(MAX_RULES_PER_GROUP);
    let users: Vec<String> = state.users.iter().map(|u| u.iam_id.clone()).collect();
    let mut per_member: std::collections::HashMap<String, usize> = Default::default();
    for g in &state.groups {
        for m in &g.members {
            *per_member.entry(m.iam_id.clone()).or_default() += 1;
        }
    }
    let account = state.account_id.clone();
    let mut cursor = 0usize;
    for (g, group) in state.groups.iter_mut().take(access.rule_groups).enumerate() {
        for r in 0..rules {
            group.rules.push(Rule {
                id: Some(format!(
                    "ClaimRule-{}",
                    uuid_from(&[
                        b"rule",
                        account.as_bytes(),
                        &(g as u64).to_le_bytes(),
                        &(r as u64).to_le_bytes()
                    ])
                )),
                name: format!("{}-rule-{r}", group.name),
                expiration: 24,
                realm_name: SYNTHETIC_REALM.into(),
                conditions: vec![Condition {
                    claim: "project".into(),
                    operator: "CONTAINS".into(),
                    value: format!("\"{}-{r}\"", group.name),
                }],
                created_at: Some(ADDED_ON.into()),
                created_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
                last_modified_at: Some(ADDED_ON.into()),
                last_modified_by_id: Some(SYNTHETIC_ADMIN_IAM_ID.into()),
                revision: 1,
            });
        }
        let mut added = 0;
        let mut tried = 0;
        while added < access.dynamic_members_per_group && tried < users.len() {
            let iam_id = &users[(cursor + tried) % users.len()];
            tried += 1;
            let count = per_member.entry(iam_id.clone()).or_default();
            if group.members.iter().any(|m| &m.iam_id == iam_id) || *count >= 50 {
                continue;
            }
            *count += 1;
            let mut member = joined(iam_id, MemberKind::User);
            member.membership_type = MembershipType::Dynamic;
            group.members.push(member);
            added += 1;
        }
        cursor += tried;
    }
}
