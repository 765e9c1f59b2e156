//! Properties over random desired/live pairs: applying a plan converges, the plan touches
//! only what it may, and it does not depend on the order IBM returned things in. The
//! scenarios carry the second wave too ([`super::second_wave`]): roles, policies,
//! instances, rules, dynamic members and the groups of departing users.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::second_wave::{AccessSpec, access_spec};
use super::*;

const EMAILS: [&str; 6] = [
    "ann@x.org",
    "ben@x.org",
    "cat@x.org",
    "dov@x.org",
    "eli@x.org",
    "fay@x.org",
];
const GROUPS: [&str; 5] = ["g0", "g1", "g2", "g3", "g4"];
const STATES: [&str; 7] = [
    "ACTIVE",
    "PROCESSING",
    "PENDING",
    "ERROR_WHILE_PROCESSING",
    "SUSPENDED",
    "IAMID_INVALID",
    "SOMETHING_NEW",
];
/// Members other than the six users: unknown user, service ID, profile, and a user with
/// no email in User Management.
const EXTRA_MEMBERS: [(&str, &str); 4] = [
    ("IBMid-ghost", "user"),
    ("iam-ServiceId-bot", "service"),
    ("iam-Profile-runner", "profile"),
    ("IBMid-noemail", "user"),
];

#[derive(Clone, Debug)]
struct Scenario {
    desired: DesiredState,
    live: LiveState,
    /// Drives the shuffles and duplications of [`scrambled`].
    seed: u64,
}

#[derive(Clone, Debug)]
struct DesiredSpec {
    declared: Vec<Option<Option<u8>>>,
    users: Vec<Option<(u8, Option<i8>)>>,
    remove_unlisted: bool,
    protected: u8,
}

#[derive(Clone, Debug)]
struct LiveSpec {
    users: Vec<Option<(usize, i8, bool)>>,
    no_email_user: bool,
    groups: Vec<Option<(bool, Option<u8>, u16)>>,
    caller: usize,
}

fn desired_spec() -> impl Strategy<Value = DesiredSpec> {
    (
        prop::collection::vec(prop::option::of(prop::option::of(0u8..2)), 5),
        prop::collection::vec(
            prop::option::of((any::<u8>(), prop::option::of(-3i8..20))),
            6,
        ),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(declared, users, remove_unlisted, protected)| DesiredSpec {
                declared,
                users,
                remove_unlisted,
                protected,
            },
        )
}

fn live_spec() -> impl Strategy<Value = LiveSpec> {
    (
        prop::collection::vec(
            prop::option::of((0..STATES.len(), -60i8..0, any::<bool>())),
            6,
        ),
        any::<bool>(),
        prop::collection::vec(
            prop::option::of((any::<bool>(), prop::option::of(0u8..2), any::<u16>())),
            5,
        ),
        0usize..9,
    )
        .prop_map(|(users, no_email_user, groups, caller)| LiveSpec {
            users,
            no_email_user,
            groups,
            caller,
        })
}

fn build(d: &DesiredSpec, l: &LiveSpec) -> (DesiredState, LiveState) {
    let mut desired = desired();
    let mut declared_mask = 0u8;
    for (i, g) in d.declared.iter().enumerate() {
        match g {
            Some(Some(desc)) => {
                desired = desired.described(GROUPS[i], &format!("desc{desc}"));
                declared_mask |= 1 << i;
            }
            Some(None) => {
                desired = desired.group(GROUPS[i]);
                declared_mask |= 1 << i;
            }
            None => {}
        }
    }
    for (i, u) in d.users.iter().enumerate() {
        let Some((mask, expiry)) = u else { continue };
        let groups: Vec<&str> = (0..5)
            .filter(|g| mask & declared_mask & (1 << g) != 0)
            .map(|g| GROUPS[g])
            .collect();
        desired = match expiry {
            Some(offset) => desired.expiring(EMAILS[i], &groups, day(i64::from(*offset))),
            None => desired.user(EMAILS[i], &groups),
        };
    }
    for (i, email) in EMAILS.iter().enumerate() {
        if d.protected & (1 << i) != 0 {
            desired = desired.protect(email);
        }
    }
    if d.remove_unlisted {
        desired = desired.remove_unlisted();
    }

    let mut live = live();
    for (i, u) in l.users.iter().enumerate() {
        let Some((state, added, upper)) = u else {
            continue;
        };
        // Live emails in any case: the model lower-cases them on the way in.
        let email = if *upper {
            EMAILS[i].to_uppercase()
        } else {
            EMAILS[i].to_string()
        };
        live.0.users.push(LiveUser {
            iam_id: iam(EMAILS[i]),
            email: Email::new(&email),
            state: UserState::parse(STATES[*state]),
            added_on: Some(day(i64::from(*added))),
        });
    }
    if l.no_email_user {
        live.0.users.push(LiveUser {
            iam_id: IamId::new("IBMid-noemail"),
            email: Email::new(""),
            state: UserState::Active,
            added_on: None,
        });
    }
    for (i, g) in l.groups.iter().enumerate() {
        let Some((upper, desc, members)) = g else {
            continue;
        };
        let name = if *upper {
            GROUPS[i].to_uppercase()
        } else {
            GROUPS[i].to_string()
        };
        let mut ms = Vec::new();
        for (j, email) in EMAILS.iter().enumerate() {
            if members & (1 << j) != 0 {
                ms.push(LiveMember {
                    iam_id: iam(email),
                    kind: MemberKind::User,
                    membership: Default::default(),
                });
            }
        }
        for (j, (id, kind)) in EXTRA_MEMBERS.iter().enumerate() {
            if members & (1 << (6 + j)) != 0 {
                ms.push(LiveMember {
                    iam_id: IamId::new(*id),
                    kind: MemberKind::parse(kind),
                    membership: Default::default(),
                });
            }
        }
        // Unmanaged groups get members too, although acquire would not read them: the
        // planner must leave them alone either way.
        live.0.groups.push(LiveGroup {
            id: group_id(GROUPS[i]),
            name: GroupName::new(name),
            description: desc.map(|d| format!("desc{d}")).unwrap_or_default(),
            members: Some(ms),
            policies: None,
            rules: None,
        });
    }
    live.0.caller = match l.caller {
        n if n < EMAILS.len() => iam(EMAILS[n]),
        6 => IamId::new("iam-ServiceId-bot"),
        7 => IamId::new("IBMid-ghost"),
        _ => IamId::new(CALLER),
    };
    (desired.0, live.0)
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (desired_spec(), live_spec(), access_spec(), any::<u64>()).prop_map(|(d, l, a, seed)| {
        let (desired, live) = build(&d, &l);
        let (desired, live) = second_wave(desired, live, &a);
        Scenario {
            desired,
            live,
            seed,
        }
    })
}

fn second_wave(
    desired: DesiredState,
    live: LiveState,
    spec: &AccessSpec,
) -> (DesiredState, LiveState) {
    super::second_wave::add(desired, live, spec, &GROUPS, &EMAILS)
}

/// A small deterministic generator for shuffles (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1) as u64) as usize
    }

    fn shuffle<T: Clone>(&mut self, items: &mut Vec<T>) {
        // Duplicate a few entries first: IBM pages can overlap.
        for _ in 0..self.next(3) {
            if !items.is_empty() {
                let i = self.next(items.len());
                items.push(items[i].clone());
            }
        }
        for i in (1..items.len()).rev() {
            items.swap(i, self.next(i + 1));
        }
    }
}

/// The same live state, in another order and with some entries repeated.
fn scrambled(live: &LiveState, seed: u64) -> LiveState {
    let mut rng = Rng(seed | 1);
    let mut live = live.clone();
    rng.shuffle(&mut live.users);
    rng.shuffle(&mut live.groups);
    rng.shuffle(&mut live.roles);
    rng.shuffle(&mut live.instances);
    rng.shuffle(&mut live.resource_groups);
    for g in &mut live.groups {
        if let Some(ms) = &mut g.members {
            rng.shuffle(ms);
        }
        if let Some(ps) = &mut g.policies {
            rng.shuffle(ps);
        }
        if let Some(rs) = &mut g.rules {
            rng.shuffle(rs);
        }
    }
    for groups in live.user_groups.values_mut() {
        rng.shuffle(groups);
    }
    live
}

/// What the account would look like after a fully successful apply, as IBM behaves.
fn simulate(live: &LiveState, plan: &Plan) -> LiveState {
    let mut live = live.clone();
    let find =
        |live: &mut LiveState, name: &GroupName, id: Option<&AccessGroupId>| -> Option<usize> {
            live.groups
                .iter()
                .position(|g| id.map_or(g.name == *name, |id| g.id == *id))
        };
    let remove_user = |live: &mut LiveState, iam_id: &IamId| {
        live.users.retain(|u| u.iam_id != *iam_id);
        live.user_groups.remove(iam_id);
        for g in &mut live.groups {
            if let Some(ms) = &mut g.members {
                ms.retain(|m| m.iam_id != *iam_id);
            }
        }
    };
    let mut next_id = 0;
    for change in &plan.changes {
        next_id += 1;
        match change {
            Change::CreateRole {
                role,
                service,
                display_name,
                description,
                actions,
            } => live.roles.push(LiveRole {
                crn: custom_role_crn(&live.account_id, role),
                name: role.clone(),
                display_name: display_name.clone(),
                description: description.clone().unwrap_or_default(),
                actions: actions.clone(),
                service: service.clone(),
                kind: RoleKind::Custom {
                    id: RoleId::new(format!("role-new-{role}")),
                },
            }),
            Change::UpdateRole {
                role_id,
                display_name,
                description,
                actions,
                ..
            } => {
                for r in live.roles.iter_mut() {
                    if matches!(&r.kind, RoleKind::Custom { id } if id == role_id) {
                        r.display_name = display_name.clone();
                        r.description = description.clone();
                        r.actions = actions.clone();
                    }
                }
            }
            Change::CreatePolicy {
                group,
                group_id,
                target,
                role_ids,
                ..
            } => {
                let i = find(&mut live, group, group_id.as_ref()).expect("a policy's group");
                let group_id = live.groups[i].id.clone();
                live.groups[i]
                    .policies
                    .get_or_insert_with(Vec::new)
                    .push(LivePolicy {
                        id: PolicyId::new(format!("policy-new-{next_id}")),
                        version: PolicyVersion::V2,
                        group: group_id,
                        shape: PolicyShape::Expressible(PolicyTarget {
                            service: target.service.clone(),
                            instance_id: target.instance_id.clone(),
                            resource_group_id: target.resource_group_id.clone(),
                        }),
                        roles: role_ids.clone(),
                    });
            }
            Change::UpdatePolicy {
                policy_id,
                role_ids,
                ..
            } => {
                for p in live
                    .groups
                    .iter_mut()
                    .flat_map(|g| g.policies.iter_mut().flatten())
                {
                    if p.id == *policy_id {
                        p.roles = role_ids.clone();
                    }
                }
            }
            Change::RemovePolicy { policy_id, .. } => {
                for ps in live.groups.iter_mut().flat_map(|g| g.policies.as_mut()) {
                    ps.retain(|p| p.id != *policy_id);
                }
            }
            Change::CreateRule {
                group,
                group_id,
                rule,
                realm,
                expiration_hours,
                conditions,
            } => {
                let i = find(&mut live, group, group_id.as_ref()).expect("a rule's group");
                live.groups[i]
                    .rules
                    .get_or_insert_with(Vec::new)
                    .push(LiveRule {
                        id: RuleId::new(format!("rule-new-{next_id}")),
                        name: rule.clone(),
                        realm: realm.clone(),
                        expiration_hours: *expiration_hours,
                        conditions: conditions.clone(),
                        unreadable_conditions: 0,
                    });
            }
            Change::UpdateRule {
                rule,
                rule_id,
                realm,
                expiration_hours,
                conditions,
                ..
            } => {
                // A replace: the whole rule, its name included.
                for r in live
                    .groups
                    .iter_mut()
                    .flat_map(|g| g.rules.iter_mut().flatten())
                {
                    if r.id == *rule_id {
                        r.name = rule.clone();
                        r.realm = realm.clone();
                        r.expiration_hours = *expiration_hours;
                        r.conditions = conditions.clone();
                    }
                }
            }
            Change::RemoveRule { rule_id, .. } => {
                for rs in live.groups.iter_mut().flat_map(|g| g.rules.as_mut()) {
                    rs.retain(|r| r.id != *rule_id);
                }
            }
            // A new group has no policies and no rules; acquire reads both for it.
            Change::CreateGroup { group, description } => live.groups.push(LiveGroup {
                id: AccessGroupId::new(format!("AccessGroupId-new-{}", group.key())),
                name: group.clone(),
                description: description.clone().unwrap_or_default(),
                members: Some(Vec::new()),
                policies: Some(Vec::new()),
                rules: Some(Vec::new()),
            }),
            Change::UpdateGroup {
                group_id,
                description,
                ..
            } => {
                for g in live.groups.iter_mut().filter(|g| g.id == *group_id) {
                    g.description = description.clone();
                }
            }
            Change::InviteUser {
                email,
                groups,
                replaces_iam_id,
                ..
            } => {
                if let Some(old) = replaces_iam_id {
                    remove_user(&mut live, old);
                }
                let iam_id = IamId::new(format!("IBMid-new-{email}"));
                live.users.push(LiveUser {
                    iam_id: iam_id.clone(),
                    email: email.clone(),
                    state: UserState::Processing,
                    added_on: Some(today()),
                });
                for g in groups {
                    let i = find(&mut live, g, None).expect("invite names an existing group");
                    live.groups[i]
                        .members
                        .get_or_insert_with(Vec::new)
                        .push(LiveMember {
                            iam_id: iam_id.clone(),
                            kind: MemberKind::User,
                            membership: Default::default(),
                        });
                }
            }
            Change::AddMember {
                group,
                group_id,
                iam_id,
                ..
            } => {
                let i = find(&mut live, group, group_id.as_ref()).expect("add names a group");
                live.groups[i]
                    .members
                    .get_or_insert_with(Vec::new)
                    .push(LiveMember {
                        iam_id: iam_id.clone(),
                        kind: MemberKind::User,
                        membership: Default::default(),
                    });
            }
            Change::RemoveMember {
                group_id, iam_id, ..
            } => {
                // Membership calls never touch what a rule added.
                for g in live.groups.iter_mut().filter(|g| g.id == *group_id) {
                    if let Some(ms) = &mut g.members {
                        ms.retain(|m| {
                            !(m.iam_id == *iam_id
                                && m.kind == MemberKind::User
                                && m.membership == Membership::Static)
                        });
                    }
                }
            }
            Change::RemoveUser { iam_id, .. } => remove_user(&mut live, iam_id),
        }
    }
    live
}

fn email_of(live: &LiveState, iam_id: &IamId) -> Option<Email> {
    live.users
        .iter()
        .find(|u| u.iam_id == *iam_id && !u.email.as_str().is_empty())
        .map(|u| u.email.clone())
}

/// (group key, email) of every membership of a user with an email.
fn memberships_by_email(live: &LiveState) -> BTreeSet<(String, Email)> {
    live.groups
        .iter()
        .flat_map(|g| {
            g.members
                .iter()
                .flatten()
                .filter_map(|m| email_of(live, &m.iam_id).map(|e| (g.name.key(), e)))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_plan_converges_to_an_empty_plan(s in scenario()) {
        let first = plan(&s.desired, &s.live, &options()).expect("plans");
        let after = simulate(&s.live, &first);
        let second = plan(&s.desired, &after, &options()).expect("plans again");
        prop_assert!(second.is_empty(), "left over: {:?}\nfirst: {:?}", second.changes, first.changes);
    }

    #[test]
    fn plan_touches_only_user_members_of_managed_groups(s in scenario()) {
        let p = plan(&s.desired, &s.live, &options()).expect("plans");
        let declared: BTreeSet<String> = s.desired.groups.keys().map(GroupName::key).collect();
        let non_users: BTreeSet<(String, IamId)> = s.live.groups.iter().flat_map(|g| {
            g.members.iter().flatten()
                .filter(|m| m.kind != MemberKind::User)
                .map(|m| (g.id.to_string(), m.iam_id.clone()))
        }).collect();
        let user_ids: BTreeSet<&IamId> = s.live.users.iter().map(|u| &u.iam_id).collect();
        for change in &p.changes {
            let groups: Vec<&GroupName> = match change {
                Change::InviteUser { groups, .. } | Change::RemoveUser { groups, .. } => groups.iter().collect(),
                other => other.group().into_iter().collect(),
            };
            for g in groups {
                prop_assert!(declared.contains(&g.key()), "{change} names an unmanaged group");
            }
            if let Change::RemoveMember { group_id, iam_id, .. } = change {
                let is_user_member = s.live.groups.iter().any(|g| g.id == *group_id
                    && g.members.iter().flatten().any(|m| m.iam_id == *iam_id && m.kind == MemberKind::User));
                prop_assert!(is_user_member, "{change} removes no user member");
            }
            if let Change::RemoveUser { iam_id, .. } = change {
                prop_assert!(user_ids.contains(iam_id), "{change} removes no account user");
            }
        }
        // Non-user members survive the apply, in every group.
        let after = simulate(&s.live, &p);
        for (group_id, iam_id) in &non_users {
            prop_assert!(after.groups.iter().any(|g| g.id.as_str() == group_id
                && g.members.iter().flatten().any(|m| m.iam_id == *iam_id && m.kind != MemberKind::User)));
        }
        // Memberships in unmanaged groups of users who stay are untouched.
        for g in s.live.groups.iter().filter(|g| !declared.contains(&g.name.key())) {
            let now = after.groups.iter().find(|a| a.id == g.id).expect("groups are never deleted");
            for m in g.members.iter().flatten() {
                if after.users.iter().any(|u| u.iam_id == m.iam_id) {
                    prop_assert!(now.members.iter().flatten().any(|x| x == m),
                        "{} lost {} ", g.name, m.iam_id);
                }
            }
        }
    }

    #[test]
    fn protected_users_and_the_caller_are_never_removed(s in scenario()) {
        let p = plan(&s.desired, &s.live, &options()).expect("plans");
        let protected = &s.desired.policy.protected;
        for change in &p.changes {
            match change {
                Change::RemoveMember { email, iam_id, .. } => {
                    prop_assert!(*iam_id != s.live.caller, "{change}");
                    prop_assert!(!email.as_ref().is_some_and(|e| protected.contains(e)), "{change}");
                }
                Change::RemoveUser { email, iam_id, .. } => {
                    prop_assert!(*iam_id != s.live.caller, "{change}");
                    prop_assert!(!protected.contains(email), "{change}");
                }
                Change::InviteUser { replaces_iam_id: Some(old), .. } => {
                    prop_assert!(*old != s.live.caller, "{change}");
                }
                _ => {}
            }
        }
        // After the apply, protected people are still in the account and in every group
        // they were in; the caller keeps every membership it had.
        let after = simulate(&s.live, &p);
        let before = memberships_by_email(&s.live);
        let now = memberships_by_email(&after);
        for (group, email) in before.iter().filter(|(_, e)| protected.contains(e)) {
            prop_assert!(now.contains(&(group.clone(), email.clone())), "{email} left {group}");
        }
        for g in &s.live.groups {
            if g.members.iter().flatten().any(|m| m.iam_id == s.live.caller) {
                let still = after.groups.iter().any(|a| a.id == g.id
                    && a.members.iter().flatten().any(|m| m.iam_id == s.live.caller));
                prop_assert!(still, "the caller left {}", g.name);
            }
        }
    }

    #[test]
    fn plan_is_identical_across_runs_and_input_orders(s in scenario()) {
        let first = plan(&s.desired, &s.live, &options()).expect("plans");
        let again = plan(&s.desired, &s.live, &options()).expect("plans");
        prop_assert_eq!(&first, &again);
        let shuffled = plan(&s.desired, &scrambled(&s.live, s.seed), &options()).expect("plans");
        prop_assert_eq!(&first, &shuffled);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn grants_and_rules_change_only_where_the_file_governs_them(s in scenario()) {
        let p = plan(&s.desired, &s.live, &options()).expect("plans");
        let governs = |name: &GroupName, what: fn(&crate::model::DesiredGroup) -> bool| {
            s.desired.groups.get(name).is_some_and(what)
        };
        let unexpressible: BTreeSet<&PolicyId> = s.live.groups.iter()
            .flat_map(|g| g.policies.iter().flatten())
            .filter(|p| matches!(p.shape, PolicyShape::Unexpressible(_)))
            .map(|p| &p.id)
            .collect();
        for change in &p.changes {
            match change {
                Change::CreatePolicy { group, .. } => {
                    prop_assert!(governs(group, |g| g.access.is_some()), "{change}");
                }
                Change::UpdatePolicy { group, policy_id, .. }
                | Change::RemovePolicy { group, policy_id, .. } => {
                    prop_assert!(governs(group, |g| g.access.is_some()), "{change}");
                    prop_assert!(!unexpressible.contains(policy_id), "{change}");
                }
                Change::CreateRule { group, .. }
                | Change::UpdateRule { group, .. }
                | Change::RemoveRule { group, .. } => {
                    prop_assert!(governs(group, |g| g.rules.is_some()), "{change}");
                }
                Change::CreateRole { role, .. } | Change::UpdateRole { role, .. } => {
                    prop_assert!(s.desired.roles.contains_key(role), "{change}");
                }
                _ => {}
            }
        }
        // Unexpressible policies survive the apply.
        let after = simulate(&s.live, &p);
        let left: BTreeSet<&PolicyId> = after.groups.iter()
            .flat_map(|g| g.policies.iter().flatten())
            .map(|p| &p.id)
            .collect();
        prop_assert!(unexpressible.is_subset(&left));
    }

    #[test]
    fn departing_users_are_the_candidates_and_name_only_unmanaged_groups(s in scenario()) {
        let p = plan(&s.desired, &s.live, &options()).expect("plans");
        let mut leaving: Vec<IamId> = p.changes.iter().filter_map(|c| match c {
            Change::RemoveUser { iam_id, .. } => Some(iam_id.clone()),
            Change::InviteUser { replaces_iam_id: Some(old), .. } => Some(old.clone()),
            _ => None,
        }).collect();
        leaving.sort();
        leaving.dedup();
        prop_assert_eq!(&p.leaving_the_account(), &leaving);
        // Reading their groups changes who leaves in no way.
        let mut read = s.live.clone();
        for who in &leaving {
            read.user_groups.entry(who.clone()).or_default();
        }
        prop_assert_eq!(&plan(&s.desired, &read, &options()).expect("plans").leaving_the_account(), &leaving);
        let managed: BTreeSet<&AccessGroupId> = s.live.groups.iter()
            .filter(|g| s.desired.groups.contains_key(&g.name))
            .map(|g| &g.id)
            .collect();
        let mut unread = Vec::new();
        for change in &p.changes {
            let (iam_id, other_groups) = match change {
                Change::RemoveUser { iam_id, other_groups, .. } => (iam_id, other_groups),
                Change::InviteUser { replaces_iam_id: Some(old), other_groups, .. } => (old, other_groups),
                _ => continue,
            };
            match s.live.user_groups.get(iam_id) {
                None => {
                    prop_assert!(other_groups.is_empty());
                    unread.push(iam_id.clone());
                }
                Some(refs) => {
                    let expected: BTreeSet<&GroupName> = refs.iter()
                        .filter(|r| !managed.contains(&r.id))
                        .map(|r| &r.name)
                        .collect();
                    prop_assert_eq!(other_groups.iter().collect::<BTreeSet<_>>(), expected);
                }
            }
        }
        let warned: Vec<IamId> = p.warnings.iter().flat_map(|w| match w {
            crate::plan::Warning::OtherGroupsNotRead { who } => who.iter().map(|w| w.iam_id.clone()).collect(),
            _ => Vec::new(),
        }).collect();
        unread.sort();
        prop_assert_eq!(warned, unread);
    }
}

/// The properties above are only as good as the scenarios: across a fixed run of them,
/// every kind of change occurs, and every scenario can be planned.
#[test]
fn the_random_scenarios_exercise_every_kind_of_change() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    let mut unmanaged_policies = 0;
    let mut dynamic_members = 0;
    for _ in 0..300 {
        let s = scenario()
            .new_tree(&mut runner)
            .expect("a scenario")
            .current();
        let p = plan(&s.desired, &s.live, &options()).expect("every scenario plans");
        seen.extend(p.changes.iter().map(Change::kind));
        unmanaged_policies += p.unmanaged.policies;
        dynamic_members += p.unmanaged.dynamic_members.len();
    }
    let missing: Vec<_> = crate::plan::ChangeKind::ALL
        .into_iter()
        .filter(|k| !seen.contains(k))
        .collect();
    assert!(missing.is_empty(), "never planned: {missing:?}");
    assert!(unmanaged_policies > 0 && dynamic_members > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Export's promise, with grants and rules: planning the file written from an account
    /// against that account removes only the memberships the export names as unlistable.
    #[test]
    fn an_export_of_any_account_plans_to_nothing_it_does_not_name(s in scenario()) {
        let live = Live(s.live.clone());
        let exported = super::export::export_all(&live);
        let desired = super::export::desired_of(&exported);
        let p = plan(&desired, &s.live, &options()).expect("the export plans");
        let expected = exported.unlistable_members();
        for change in &p.changes {
            prop_assert!(
                matches!(change, Change::RemoveMember { iam_id, .. } if expected.contains(iam_id)),
                "{change}"
            );
        }
        // And it says what it can: every group whose policies were read and hold only
        // nameable roles is written with `access`.
        for group in &exported.groups {
            let live_group = s.live.groups.iter().find(|g| g.name == group.name).expect("exported");
            prop_assert_eq!(
                group.access.is_some(),
                live_group.policies.is_some() && group.access_notes.iter().all(|n| matches!(
                    n,
                    crate::plan::export::AccessNote::Unexpressible { .. }
                        | crate::plan::export::AccessNote::Duplicate { .. }
                )),
                "{:?}", group.access_notes
            );
        }
    }
}
