//! The in-memory account and IBM's rules over it: every decision about what a request
//! does to the account lives here, free of HTTP, so it can be read in one place. One file
//! per API ([`users`] for User Management; [`groups`], [`members`] and [`rules`] for
//! Access Groups; [`policies`] and [`roles`] for IAM Policy Management; [`instances`] for
//! Resource Controller; [`resource_groups`] for Resource Manager); this one holds the
//! account, its indexes and what every API shares (the caller, the account check, the
//! invitation clock).
//!
//! The store keeps the state's own types (so `GET /__admin/state` is a clone) plus the
//! indexes that keep the benchmark's 10,000 users and 30,000 memberships cheap: iam_id →
//! position and email → position for users, id → position for groups, iam_id → position
//! for each group's members; the policies keep their own indexes (by id, by subject, by
//! duplicate key). Positions are rebuilt after a removal; removals are rare next to reads.

mod groups;
mod instances;
mod members;
mod policies;
mod resource_groups;
mod roles;
mod rules;
mod users;

use std::collections::{HashMap, HashSet};

pub use groups::{GroupUpdate, etag};
pub use instances::{INSTANCE_STATES, INSTANCE_TYPE, InstanceFilter};
pub use members::{MemberDetails, Removal, dynamic_member as dynamic_member_error};
pub use policies::{PolicyDraft, PolicyFilter, PolicyRefusal, policy_etag};
pub use roles::{RoleDraft, RoleRefusal, RoleScope, RoleUpdate, RoleView, role_etag};
pub use rules::{RuleDraft, rule_etag};

use super::clock;
use super::error::ApiError;
use super::state::{
    ApiKey, CustomRole, Group, KeyType, Member, PUBLIC_ACCESS_ID, ResourceGroup, ResourceInstance,
    ServiceId, State, User, UserState,
};

/// Who is calling, from the bearer token.
#[derive(Clone, Debug)]
pub struct Actor {
    pub iam_id: String,
    pub kind: KeyType,
}

/// The identity behind an API key, as the token service puts it in a token.
#[derive(Clone, Debug)]
pub struct KeyOwner {
    pub iam_id: String,
    pub kind: KeyType,
    /// The user's email (the token's `sub`); `None` for a service ID.
    pub email: Option<String>,
}

/// IBM's limits (docs/ibm-api.md) and the emulator's decisions where IBM publishes none.
pub const MAX_GROUPS: usize = 500;
pub const MAX_GROUPS_PER_MEMBER: usize = 50;
pub const MAX_MEMBERS_PER_CALL: usize = 50;
/// Open question 1 (users per invite): undocumented; the emulator allows 100 per request.
pub const MAX_INVITES_PER_CALL: usize = 100;

/// A group and the index of its members.
struct GroupRec {
    group: Group,
    member_pos: HashMap<String, usize>,
}

impl GroupRec {
    fn new(group: Group) -> GroupRec {
        let mut rec = GroupRec {
            group,
            member_pos: HashMap::new(),
        };
        rec.reindex();
        rec
    }

    fn reindex(&mut self) {
        self.member_pos = self
            .group
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.iam_id.clone(), i))
            .collect();
    }

    fn has(&self, iam_id: &str) -> bool {
        self.member_pos.contains_key(iam_id)
    }

    fn member(&self, iam_id: &str) -> Option<&Member> {
        self.member_pos
            .get(iam_id)
            .and_then(|i| self.group.members.get(*i))
    }

    fn member_mut(&mut self, iam_id: &str) -> Option<&mut Member> {
        self.member_pos
            .get(iam_id)
            .and_then(|i| self.group.members.get_mut(*i))
    }

    /// Appends a member that is not one yet.
    fn push(&mut self, member: Member) {
        self.member_pos
            .insert(member.iam_id.clone(), self.group.members.len());
        self.group.members.push(member);
    }

    /// Removes the listed members; returns how many were present.
    fn remove(&mut self, iam_ids: &[&str]) -> usize {
        let before = self.group.members.len();
        self.group
            .members
            .retain(|m| !iam_ids.contains(&m.iam_id.as_str()));
        let removed = before - self.group.members.len();
        if removed > 0 {
            self.reindex();
        }
        removed
    }
}

/// The account the emulator serves.
pub struct Store {
    account_id: String,
    api_keys: Vec<ApiKey>,
    users: Vec<User>,
    /// Insertion sequence of each user (parallel to `users`), the stable `_start` cursor.
    user_seq: Vec<u64>,
    next_seq: u64,
    user_pos: HashMap<String, usize>,
    /// Trimmed, lower-cased email → position of the first user with it.
    email_pos: HashMap<String, usize>,
    groups: Vec<GroupRec>,
    group_pos: HashMap<String, usize>,
    service_ids: Vec<ServiceId>,
    /// The built-in Public Access group (never in the state file).
    public: Group,
    /// Counts minted ids so that each is new even within one millisecond.
    id_counter: u64,
    /// How long a user stays `PROCESSING` (`--processing-ms`).
    processing_ms: u64,
    /// The earliest `processing_until` of any user: [`Store::settle`] has nothing to do
    /// before then. Every request settles first, and scanning 50,000 users under the lock
    /// on each one made the emulator, not the client, the bottleneck of the benchmark.
    next_settle: Option<u64>,
    policies: policies::Policies,
    roles: Vec<CustomRole>,
    role_pos: HashMap<String, usize>,
    instances: Vec<ResourceInstance>,
    /// GUID → position.
    instance_pos: HashMap<String, usize>,
    resource_groups: Vec<ResourceGroup>,
    /// The state listed no resource group: `Default` is implicit and not written back.
    implicit_resource_group: bool,
    /// Services the account names (instances, custom roles, loaded policies), besides
    /// the built-in catalog's.
    services: HashSet<String>,
    /// Set by every change; the server persists and clears it.
    pub dirty: bool,
}

impl Store {
    /// Builds the store from a state. Timestamps the state leaves out are filled in with
    /// `now`, so every response carries them, and a `PROCESSING` user without a
    /// `processing_until` gets `processing_ms` from now, as an invitee would. Duplicates
    /// (which `State::validate` rejects) keep their first occurrence rather than failing.
    pub fn from_state(state: State, now_ms: u64, processing_ms: u64) -> Store {
        let mut store = Store {
            account_id: state.account_id,
            api_keys: state.api_keys,
            users: Vec::new(),
            user_seq: Vec::new(),
            next_seq: 0,
            user_pos: HashMap::new(),
            email_pos: HashMap::new(),
            groups: Vec::new(),
            group_pos: HashMap::new(),
            service_ids: state.service_ids,
            public: groups::public_access(),
            id_counter: 0,
            processing_ms,
            next_settle: None,
            policies: policies::Policies::default(),
            roles: Vec::new(),
            role_pos: HashMap::new(),
            instances: Vec::new(),
            instance_pos: HashMap::new(),
            resource_groups: Vec::new(),
            implicit_resource_group: false,
            services: HashSet::new(),
            dirty: false,
        };
        let now = clock::iso(now_ms);
        for user in state.users {
            store.load_user(user, &now, now_ms);
        }
        for group in state.groups {
            store.load_group(group, &now);
        }
        store.load_resource_groups(state.resource_groups, &now);
        for (i, instance) in state.resource_instances.into_iter().enumerate() {
            store.load_instance(instance, i, &now);
        }
        for role in state.roles {
            store.load_role(role, &now);
        }
        for (i, policy) in state.policies.into_iter().enumerate() {
            store.load_policy(policy, i, &now);
        }
        store
    }

    fn load_user(&mut self, mut user: User, now: &str, now_ms: u64) {
        if self.user_pos.contains_key(&user.iam_id) {
            return;
        }
        user.added_on.get_or_insert_with(|| now.to_string());
        if user.state == UserState::Processing && user.processing_until.is_none() {
            user.processing_until = Some(now_ms.saturating_add(self.processing_ms));
        }
        self.push_user(user);
    }

    fn load_group(&mut self, mut group: Group, now: &str) {
        if self.group_pos.contains_key(&group.id) || group.id == PUBLIC_ACCESS_ID {
            return;
        }
        group.created_at.get_or_insert_with(|| now.to_string());
        group
            .last_modified_at
            .get_or_insert_with(|| group.created_at.clone().unwrap_or_default());
        let mut seen = HashSet::new();
        group.members.retain(|m| seen.insert(m.iam_id.clone()));
        for member in &mut group.members {
            member.created_at.get_or_insert_with(|| now.to_string());
        }
        rules::fill_rules(&self.account_id, &group.id, &mut group.rules, now);
        self.group_pos.insert(group.id.clone(), self.groups.len());
        self.groups.push(GroupRec::new(group));
    }

    pub fn to_state(&self) -> State {
        State {
            account_id: self.account_id.clone(),
            api_keys: self.api_keys.clone(),
            users: self.users.clone(),
            groups: self.groups.iter().map(|g| g.group.clone()).collect(),
            service_ids: self.service_ids.clone(),
            policies: self.policies.all().cloned().collect(),
            roles: self.roles.clone(),
            resource_instances: self.instances.clone(),
            resource_groups: if self.implicit_resource_group {
                Vec::new()
            } else {
                self.resource_groups.clone()
            },
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn push_user(&mut self, user: User) {
        if let Some(until) = user.processing_until {
            self.next_settle = Some(self.next_settle.map_or(until, |t| t.min(until)));
        }
        let pos = self.users.len();
        self.email_pos.entry(email_key(&user.email)).or_insert(pos);
        self.user_pos.insert(user.iam_id.clone(), pos);
        self.users.push(user);
        self.user_seq.push(self.next_seq);
        self.next_seq += 1;
    }

    fn reindex_users(&mut self) {
        self.user_pos.clear();
        self.email_pos.clear();
        for (i, u) in self.users.iter().enumerate() {
            self.user_pos.insert(u.iam_id.clone(), i);
            self.email_pos.entry(email_key(&u.email)).or_insert(i);
        }
    }

    fn reindex_groups(&mut self) {
        self.group_pos = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.group.id.clone(), i))
            .collect();
    }

    /// A new id: `make` turns a fresh counter value into a candidate, retried while
    /// `taken` says the account already has it.
    fn mint_id(
        &mut self,
        make: impl Fn(&Store, &[u8; 8]) -> String,
        taken: impl Fn(&Store, &str) -> bool,
    ) -> String {
        loop {
            self.id_counter += 1;
            let candidate = make(self, &self.id_counter.to_le_bytes());
            if !taken(self, &candidate) {
                return candidate;
            }
        }
    }

    /// Turns users whose processing time has passed from `PROCESSING` to `PENDING`.
    /// Called before every request, so the lifecycle follows the wall clock.
    pub fn settle(&mut self, now_ms: u64) {
        if self.next_settle.is_none_or(|t| t > now_ms) {
            return;
        }
        let mut next: Option<u64> = None;
        for user in &mut self.users {
            match user.processing_until {
                Some(until) if until <= now_ms => {
                    user.processing_until = None;
                    if user.state == UserState::Processing {
                        user.state = UserState::Pending;
                    }
                    self.dirty = true;
                }
                Some(until) => next = Some(next.map_or(until, |t| t.min(until))),
                None => {}
            }
        }
        self.next_settle = next;
    }

    /// The identity behind an API key, with the user's email for the token's `sub`.
    pub fn key_owner(&self, apikey: &str) -> Option<KeyOwner> {
        let key = self.api_keys.iter().find(|k| k.apikey == apikey)?;
        Some(KeyOwner {
            iam_id: key.iam_id.clone(),
            kind: key.kind,
            email: self.user(&key.iam_id).map(|u| u.email.clone()),
        })
    }

    pub fn check_account(&self, account_id: &str) -> Result<(), ApiError> {
        if account_id == self.account_id {
            Ok(())
        } else {
            Err(ApiError::new(
                403,
                "forbidden",
                format!(
                    "You are not authorized to access account {account_id}; the token belongs to account {}.",
                    self.account_id
                ),
            ))
        }
    }
}

/// How emails compare: trimmed and case-insensitively (open question 6).
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A batch of `len` items must hold 1 to `max` of them: 400 otherwise.
fn check_batch(len: usize, max: usize, items: &str) -> Result<(), ApiError> {
    if len == 0 || len > max {
        return Err(ApiError::invalid_body(format!(
            "{len} {items} in one request; give 1 to {max} {items} per call."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
