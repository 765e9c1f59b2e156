//! The in-memory account and IBM's rules over it: every decision about what a request
//! does to the account lives here, free of HTTP, so it can be read in one place.
//!
//! The store keeps the state's own types (so `GET /__admin/state` is a clone) plus the
//! indexes that keep the benchmark's 10,000 users and 30,000 memberships cheap: iam_id →
//! position for users, id → position for groups, iam_id → position for each group's
//! members. Positions are rebuilt after a removal; removals are rare next to reads.

use std::collections::HashMap;

use super::clock;
use super::state::{
    self, Group, KeyType, Member, PUBLIC_ACCESS_ID, PUBLIC_ACCESS_NAME, State, User, member_type_of,
};

/// An error answer in the platform envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub more_info: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            more_info: None,
        }
    }

    pub fn more(mut self, info: impl Into<String>) -> ApiError {
        self.more_info = Some(info.into());
        self
    }
}

/// Who is calling, from the bearer token.
#[derive(Clone, Debug)]
pub struct Actor {
    pub iam_id: String,
    pub kind: KeyType,
}

/// IBM's limits (ibm-iam-api.md §5) and the emulator's decisions where IBM publishes none.
pub const MAX_GROUPS: usize = 500;
pub const MAX_GROUPS_PER_MEMBER: usize = 50;
pub const MAX_MEMBERS_PER_CALL: usize = 50;
/// Open question 1 (users per invite): undocumented; the emulator allows 100 per request.
pub const MAX_INVITES_PER_CALL: usize = 100;

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
    api_keys: Vec<state::ApiKey>,
    users: Vec<User>,
    /// Insertion sequence of each user (parallel to `users`), the stable `_start` cursor.
    user_seq: Vec<u64>,
    next_seq: u64,
    user_pos: HashMap<String, usize>,
    groups: Vec<GroupRec>,
    group_pos: HashMap<String, usize>,
    service_ids: Vec<state::ServiceId>,
    /// The built-in Public Access group (never in the state file).
    public: Group,
    /// Counts minted ids so that each is new even within one millisecond.
    id_counter: u64,
    /// The earliest `processing_until` of any user: [`Store::settle`] has nothing to do
    /// before then. Every request settles first, and scanning 50,000 users under the lock
    /// on each one made the emulator, not the client, the bottleneck of the benchmark.
    next_settle: Option<u64>,
    /// Set by every change; the server persists and clears it.
    pub dirty: bool,
}

impl Store {
    /// Builds the store from a state. Timestamps the state leaves out are filled in with
    /// `now`, so every response carries them. Duplicates (which `State::validate`
    /// rejects) keep their first occurrence rather than failing here.
    pub fn from_state(state: State, now_ms: u64) -> Store {
        let now = clock::iso(now_ms);
        let mut store = Store {
            account_id: state.account_id,
            api_keys: state.api_keys,
            users: Vec::new(),
            user_seq: Vec::new(),
            next_seq: 0,
            user_pos: HashMap::new(),
            groups: Vec::new(),
            group_pos: HashMap::new(),
            service_ids: state.service_ids,
            public: public_access(),
            id_counter: 0,
            next_settle: None,
            dirty: false,
        };
        for mut user in state.users {
            if store.user_pos.contains_key(&user.iam_id) {
                continue;
            }
            if user.added_on.is_none() {
                user.added_on = Some(now.clone());
            }
            store.push_user(user);
        }
        for mut group in state.groups {
            if store.group_pos.contains_key(&group.id) || group.id == PUBLIC_ACCESS_ID {
                continue;
            }
            group.created_at.get_or_insert_with(|| now.clone());
            group
                .last_modified_at
                .get_or_insert_with(|| group.created_at.clone().unwrap_or_default());
            let mut seen = std::collections::HashSet::new();
            group.members.retain(|m| seen.insert(m.iam_id.clone()));
            for member in &mut group.members {
                member.created_at.get_or_insert_with(|| now.clone());
            }
            store.group_pos.insert(group.id.clone(), store.groups.len());
            store.groups.push(GroupRec::new(group));
        }
        store
    }

    pub fn to_state(&self) -> State {
        State {
            account_id: self.account_id.clone(),
            api_keys: self.api_keys.clone(),
            users: self.users.clone(),
            groups: self.groups.iter().map(|g| g.group.clone()).collect(),
            service_ids: self.service_ids.clone(),
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    fn push_user(&mut self, user: User) {
        if let Some(until) = user.processing_until {
            self.next_settle = Some(self.next_settle.map_or(until, |t| t.min(until)));
        }
        self.user_pos.insert(user.iam_id.clone(), self.users.len());
        self.users.push(user);
        self.user_seq.push(self.next_seq);
        self.next_seq += 1;
    }

    fn reindex_users(&mut self) {
        self.user_pos = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.iam_id.clone(), i))
            .collect();
    }

    fn reindex_groups(&mut self) {
        self.group_pos = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.group.id.clone(), i))
            .collect();
    }

    fn next_id(&mut self, kind: &str) -> [u8; 8] {
        self.id_counter += 1;
        let _ = kind;
        self.id_counter.to_le_bytes()
    }

    /// Turns invitees whose processing time has passed from `PROCESSING` to `PENDING`.
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
                    if user.state == "PROCESSING" {
                        user.state = "PENDING".into();
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
    pub fn key_owner(&self, apikey: &str) -> Option<(String, KeyType, Option<String>)> {
        let key = self.api_keys.iter().find(|k| k.apikey == apikey)?;
        let email = self
            .user_pos
            .get(&key.iam_id)
            .and_then(|i| self.users.get(*i))
            .map(|u| u.email.clone());
        Some((key.iam_id.clone(), key.kind, email))
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

    // ---- users ---------------------------------------------------------------------

    pub fn user(&self, iam_id: &str) -> Option<&User> {
        self.user_pos.get(iam_id).and_then(|i| self.users.get(*i))
    }

    /// One page of users matching `filter`, starting at cursor sequence `start`.
    /// Returns the page, the total matching, and the sequence of the next page's first user.
    pub fn list_users(
        &self,
        filter: &dyn Fn(&User) -> bool,
        start: u64,
        limit: usize,
    ) -> (Vec<&User>, usize, Option<u64>) {
        let from = self.user_seq.partition_point(|s| *s < start);
        let mut total = 0;
        let mut page = Vec::new();
        let mut next = None;
        for (i, user) in self.users.iter().enumerate() {
            if !filter(user) {
                continue;
            }
            total += 1;
            if i < from {
                continue;
            }
            if page.len() < limit {
                page.push(user);
            } else if next.is_none() {
                next = self.user_seq.get(i).copied();
            }
        }
        (page, total, next)
    }

    /// Invites `emails` into the account and into `access_groups`.
    ///
    /// Decisions (open question 7): an email already in the account in a state other than
    /// `PROCESSING` is a no-op answered with its existing id and state (IBM's historic
    /// behaviour, terraform-provider-ibm#6953); any email still `PROCESSING` blocks the
    /// whole request with IBM's verbatim 409 `Conflict` body, and nothing changes.
    /// Access groups are applied at invite time, to new invitees only.
    pub fn invite(
        &mut self,
        actor: &Actor,
        emails: &[String],
        access_groups: &[String],
        now_ms: u64,
        processing_ms: u64,
    ) -> Result<Vec<(String, String, String)>, ApiError> {
        if actor.kind == KeyType::Service {
            return Err(ApiError::new(
                403,
                "forbidden",
                "Service IDs can't invite users. Use an API key of a user with the Editor role on User Management.",
            ));
        }
        if emails.is_empty() {
            return Err(ApiError::new(
                400,
                "invalid_request",
                "The request must list at least one user to invite in `users`.",
            ));
        }
        if emails.len() > MAX_INVITES_PER_CALL {
            return Err(ApiError::new(
                400,
                "invalid_request",
                format!(
                    "{} users in one invite request exceed the limit of {MAX_INVITES_PER_CALL}; split the request.",
                    emails.len()
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for email in emails {
            let norm = email.trim().to_lowercase();
            let plausible = norm
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !norm.contains(char::is_whitespace);
            if !plausible {
                return Err(ApiError::new(
                    400,
                    "invalid_email",
                    format!("{email:?} is not a valid email address."),
                ));
            }
            if !seen.insert(norm) {
                return Err(ApiError::new(
                    400,
                    "invalid_request",
                    format!("{email} is listed twice in one invite request."),
                ));
            }
        }
        if access_groups.len() > MAX_GROUPS_PER_MEMBER {
            return Err(ApiError::new(
                400,
                "invalid_request",
                format!(
                    "{} access groups exceed the limit of {MAX_GROUPS_PER_MEMBER} groups per user.",
                    access_groups.len()
                ),
            ));
        }
        let mut group_idx = Vec::new();
        for id in access_groups {
            if id == PUBLIC_ACCESS_ID {
                return Err(ApiError::new(
                    400,
                    "invalid_access_group",
                    "The Public Access group includes every user already; it cannot be named in an invitation.",
                ));
            }
            match self.group_pos.get(id) {
                Some(i) if !group_idx.contains(i) => group_idx.push(*i),
                Some(_) => {}
                None => {
                    return Err(ApiError::new(
                        400,
                        "invalid_access_group",
                        format!(
                            "Access group {id} was not found in account {}.",
                            self.account_id
                        ),
                    ));
                }
            }
        }
        let existing: Vec<Option<usize>> =
            emails.iter().map(|e| self.user_index_by_email(e)).collect();
        let blocked: Vec<&str> = emails
            .iter()
            .zip(&existing)
            .filter(|(_, pos)| {
                pos.and_then(|i| self.users.get(i))
                    .is_some_and(|u| u.state == "PROCESSING")
            })
            .map(|(e, _)| e.trim())
            .collect();
        if !blocked.is_empty() {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!("Invite request blocked : {}", blocked.join(", ")),
            )
            .more("the following user(s) are already in processing state, please try again after one minute"));
        }
        let now = clock::iso(now_ms);
        let mut out = Vec::new();
        for (email, pos) in emails.iter().zip(existing) {
            if let Some(user) = pos.and_then(|i| self.users.get(i)) {
                out.push((user.email.clone(), user.iam_id.clone(), user.state.clone()));
                continue;
            }
            let iam_id = loop {
                let n = self.next_id("user");
                let candidate = format!(
                    "IBMid-{}",
                    state::ibmid_suffix(&[
                        b"invite",
                        self.account_id.as_bytes(),
                        email.trim().to_lowercase().as_bytes(),
                        &n,
                    ])
                );
                if !self.user_pos.contains_key(&candidate) {
                    break candidate;
                }
            };
            let email = email.trim().to_string();
            self.push_user(User {
                email: email.clone(),
                iam_id: iam_id.clone(),
                state: "PROCESSING".into(),
                firstname: String::new(),
                lastname: String::new(),
                added_on: Some(now.clone()),
                processing_until: Some(now_ms + processing_ms),
            });
            for &g in &group_idx {
                let count = self.groups_of(&iam_id);
                if let Some(rec) = self.groups.get_mut(g)
                    && !rec.has(&iam_id)
                    && count < MAX_GROUPS_PER_MEMBER
                {
                    rec.member_pos
                        .insert(iam_id.clone(), rec.group.members.len());
                    rec.group.members.push(Member {
                        iam_id: iam_id.clone(),
                        kind: "user".into(),
                        created_at: Some(now.clone()),
                        created_by_id: Some(actor.iam_id.clone()),
                    });
                }
            }
            out.push((email, iam_id, "PROCESSING".into()));
            self.dirty = true;
        }
        Ok(out)
    }

    fn user_index_by_email(&self, email: &str) -> Option<usize> {
        let norm = email.trim().to_lowercase();
        self.users
            .iter()
            .position(|u| u.email.trim().to_lowercase() == norm)
    }

    /// Removes a user from the account and from every access group (open question 8:
    /// synchronously).
    pub fn remove_user(&mut self, actor: &Actor, iam_id: &str) -> Result<(), ApiError> {
        if actor.kind == KeyType::Service {
            return Err(ApiError::new(
                403,
                "forbidden",
                "Service IDs can't remove users. Use an API key of a user with the Editor role on User Management.",
            ));
        }
        let Some(pos) = self.user_pos.get(iam_id).copied() else {
            return Err(ApiError::new(
                404,
                "user_not_found",
                format!(
                    "User {iam_id} was not found in account {}.",
                    self.account_id
                ),
            ));
        };
        self.users.remove(pos);
        self.user_seq.remove(pos);
        self.reindex_users();
        for rec in &mut self.groups {
            rec.remove(&[iam_id]);
        }
        self.dirty = true;
        Ok(())
    }

    // ---- groups --------------------------------------------------------------------

    fn groups_of(&self, iam_id: &str) -> usize {
        self.groups.iter().filter(|g| g.has(iam_id)).count()
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.group_pos
            .get(id)
            .and_then(|i| self.groups.get(*i))
            .map(|r| &r.group)
    }

    /// The built-in Public Access group.
    pub fn public_access(&self) -> &Group {
        &self.public
    }

    fn not_found(&self, id: &str) -> ApiError {
        ApiError::new(
            404,
            "not_found",
            format!(
                "Access group {id} was not found in account {}.",
                self.account_id
            ),
        )
    }

    fn read_only(&self, what: &str) -> ApiError {
        // Open question 11: the emulator treats Public Access as read-only, with a 403.
        ApiError::new(
            403,
            "forbidden",
            format!(
                "The Public Access group ({PUBLIC_ACCESS_ID}) is managed by IBM Cloud; {what} is not allowed."
            ),
        )
    }

    fn name_taken(&self, name: &str, except: Option<&str>) -> bool {
        let lower = name.to_lowercase();
        lower == PUBLIC_ACCESS_NAME.to_lowercase()
            || self.groups.iter().any(|g| {
                Some(g.group.id.as_str()) != except && g.group.name.to_lowercase() == lower
            })
    }

    fn check_name(name: &str) -> Result<(), ApiError> {
        let n = name.chars().count();
        if n == 0 || n > 100 || name.trim().is_empty() {
            return Err(ApiError::new(
                400,
                "invalid_body",
                "The access group name must be 1 to 100 characters.",
            ));
        }
        Ok(())
    }

    fn check_description(description: &str) -> Result<(), ApiError> {
        if description.chars().count() > 250 {
            return Err(ApiError::new(
                400,
                "invalid_body",
                "The access group description must be at most 250 characters.",
            ));
        }
        Ok(())
    }

    /// Creates a group. Open question 2: names are unique case-insensitively (409).
    pub fn create_group(
        &mut self,
        actor: &Actor,
        name: &str,
        description: &str,
        now_ms: u64,
    ) -> Result<Group, ApiError> {
        Self::check_name(name)?;
        Self::check_description(description)?;
        if self.name_taken(name, None) {
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "An access group named {name:?} already exists in account {} (names are case-insensitive).",
                    self.account_id
                ),
            ));
        }
        if self.groups.len() >= MAX_GROUPS {
            return Err(ApiError::new(
                400,
                "limit_exceeded",
                format!(
                    "Account {} already has {MAX_GROUPS} access groups, the limit.",
                    self.account_id
                ),
            ));
        }
        let id = loop {
            let n = self.next_id("group");
            let candidate = format!(
                "AccessGroupId-{}",
                state::uuid_from(&[
                    b"group",
                    self.account_id.as_bytes(),
                    name.as_bytes(),
                    &n,
                    &now_ms.to_le_bytes()
                ])
            );
            if !self.group_pos.contains_key(&candidate) {
                break candidate;
            }
        };
        let now = clock::iso(now_ms);
        let group = Group {
            id: id.clone(),
            name: name.to_string(),
            description: description.to_string(),
            members: Vec::new(),
            created_at: Some(now.clone()),
            created_by_id: Some(actor.iam_id.clone()),
            last_modified_at: Some(now),
            last_modified_by_id: Some(actor.iam_id.clone()),
            revision: 1,
        };
        self.group_pos.insert(id, self.groups.len());
        self.groups.push(GroupRec::new(group.clone()));
        self.dirty = true;
        Ok(group)
    }

    /// Updates name and/or description; `if_match` must equal the current ETag.
    pub fn update_group(
        &mut self,
        actor: &Actor,
        id: &str,
        if_match: Option<&str>,
        name: Option<&str>,
        description: Option<&str>,
        now_ms: u64,
    ) -> Result<Group, ApiError> {
        if id == PUBLIC_ACCESS_ID {
            return Err(self.read_only("updating it"));
        }
        let Some(pos) = self.group_pos.get(id).copied() else {
            return Err(self.not_found(id));
        };
        let current = self
            .groups
            .get(pos)
            .map(|r| etag(&r.group))
            .unwrap_or_default();
        // Open question 2: a missing If-Match is 428 Precondition Required, a stale one 412.
        let Some(given) = if_match else {
            return Err(ApiError::new(
                428,
                "precondition_required",
                format!(
                    "Updating access group {id} requires an If-Match header with the ETag from GET /v2/groups/{id}."
                ),
            ));
        };
        if given.trim() != "*" && strip_weak(given) != strip_weak(&current) {
            return Err(ApiError::new(
                412,
                "precondition_failed",
                format!(
                    "The If-Match value does not match the current ETag of access group {id}; read the group again and retry."
                ),
            ));
        }
        if name.is_none() && description.is_none() {
            return Err(ApiError::new(
                400,
                "invalid_body",
                "Give a name or a description to update.",
            ));
        }
        if let Some(name) = name {
            Self::check_name(name)?;
            if self.name_taken(name, Some(id)) {
                return Err(ApiError::new(
                    409,
                    "conflict",
                    format!(
                        "An access group named {name:?} already exists in account {} (names are case-insensitive).",
                        self.account_id
                    ),
                ));
            }
        }
        if let Some(d) = description {
            Self::check_description(d)?;
        }
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err(ApiError::new(404, "not_found", "group vanished"));
        };
        if let Some(name) = name {
            rec.group.name = name.to_string();
        }
        if let Some(d) = description {
            rec.group.description = d.to_string();
        }
        rec.group.revision += 1;
        rec.group.last_modified_at = Some(clock::iso(now_ms));
        rec.group.last_modified_by_id = Some(actor.iam_id.clone());
        self.dirty = true;
        Ok(rec.group.clone())
    }

    /// Deletes a group. Without `force`, a group with members is refused with 409 (the
    /// emulator's decision; Terraform always forces).
    pub fn delete_group(&mut self, id: &str, force: bool) -> Result<(), ApiError> {
        if id == PUBLIC_ACCESS_ID {
            return Err(self.read_only("deleting it"));
        }
        let Some(pos) = self.group_pos.get(id).copied() else {
            return Err(self.not_found(id));
        };
        let members = self.groups.get(pos).map_or(0, |r| r.group.members.len());
        if members > 0 && !force {
            return Err(ApiError::new(
                409,
                "group_not_empty",
                format!(
                    "Access group {id} has {members} members; remove them first or pass force=true."
                ),
            ));
        }
        self.groups.remove(pos);
        self.reindex_groups();
        self.dirty = true;
        Ok(())
    }

    /// Groups visible to a list call, Public Access first unless hidden.
    pub fn list_groups(
        &self,
        hide_public: bool,
        member: Option<&str>,
        filter: &dyn Fn(&Group) -> bool,
    ) -> Vec<&Group> {
        let mut out = Vec::new();
        if !hide_public && member.is_none() && filter(&self.public) {
            out.push(&self.public);
        }
        for rec in &self.groups {
            if member.is_some_and(|m| !rec.has(m)) || !filter(&rec.group) {
                continue;
            }
            out.push(&rec.group);
        }
        out
    }

    /// The display data `verbose=true` adds to a member.
    pub fn member_details(&self, iam_id: &str) -> (Option<String>, Option<String>, Option<String>) {
        if let Some(user) = self.user(iam_id) {
            let name = format!("{} {}", user.firstname, user.lastname)
                .trim()
                .to_string();
            return (Some(name), Some(user.email.clone()), None);
        }
        if let Some(s) = self.service_ids.iter().find(|s| s.iam_id == iam_id) {
            return (Some(s.name.clone()), None, Some(s.description.clone()));
        }
        (None, None, None)
    }

    pub fn members(&self, id: &str) -> Result<&[Member], ApiError> {
        if id == PUBLIC_ACCESS_ID {
            // Its membership is implicit (everyone); no static members are listed.
            return Ok(&[]);
        }
        self.group(id)
            .map(|g| g.members.as_slice())
            .ok_or_else(|| self.not_found(id))
    }

    pub fn is_member(&self, id: &str, iam_id: &str) -> bool {
        self.group_pos
            .get(id)
            .and_then(|i| self.groups.get(*i))
            .is_some_and(|r| r.has(iam_id))
    }

    /// Why `iam_id` of `kind` cannot be a member, if it cannot (per-member 207 errors).
    /// Open question 3: users must be in the account (any state, PENDING included);
    /// service IDs and profiles are accepted on their prefix.
    fn member_problem(&self, iam_id: &str, kind: &str) -> Option<(u16, &'static str, String)> {
        match member_type_of(iam_id) {
            None => Some((
                400,
                "invalid_member_id",
                format!(
                    "{iam_id} is not a user (IBMid-), service ID (iam-ServiceId-) or trusted profile (iam-Profile-) id."
                ),
            )),
            Some(expected) if expected != kind => Some((
                400,
                "invalid_member_type",
                format!("Member {iam_id} has type {kind:?}, but its id is of type {expected:?}."),
            )),
            Some("user") if self.user(iam_id).is_none() => Some((
                404,
                "user_not_found",
                format!(
                    "User {iam_id} is not a member of account {}.",
                    self.account_id
                ),
            )),
            Some(_) => None,
        }
    }

    /// Adds one member to one group; `Ok(member)` also when it already was one.
    fn add_one(
        &mut self,
        actor: &Actor,
        pos: usize,
        iam_id: &str,
        kind: &str,
        now_ms: u64,
    ) -> Result<Member, (u16, &'static str, String)> {
        // The type is judged even for an existing member: a wrong type is a bad request,
        // not an idempotent success.
        if let Some(problem) = self.member_problem(iam_id, kind) {
            return Err(problem);
        }
        if let Some(existing) = self.groups.get(pos).and_then(|r| r.member(iam_id)) {
            return Ok(existing.clone());
        }
        let count = self.groups_of(iam_id);
        if count >= MAX_GROUPS_PER_MEMBER {
            return Err((
                400,
                "limit_exceeded",
                format!(
                    "{iam_id} is already in {count} access groups; each iam_id can only be added to {MAX_GROUPS_PER_MEMBER} groups."
                ),
            ));
        }
        let member = Member {
            iam_id: iam_id.to_string(),
            kind: kind.to_string(),
            created_at: Some(clock::iso(now_ms)),
            created_by_id: Some(actor.iam_id.clone()),
        };
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err((404, "not_found", "access group vanished".into()));
        };
        rec.member_pos
            .insert(iam_id.to_string(), rec.group.members.len());
        rec.group.members.push(member.clone());
        self.dirty = true;
        Ok(member)
    }

    /// `PUT /v2/groups/{id}/members`: per-member results.
    #[allow(clippy::type_complexity)]
    pub fn add_members(
        &mut self,
        actor: &Actor,
        id: &str,
        members: &[(String, String)],
        now_ms: u64,
    ) -> Result<Vec<(String, String, Result<Member, (u16, &'static str, String)>)>, ApiError> {
        if members.is_empty() || members.len() > MAX_MEMBERS_PER_CALL {
            return Err(ApiError::new(
                400,
                "invalid_body",
                format!(
                    "{} members in one request; give 1 to {MAX_MEMBERS_PER_CALL} members per call.",
                    members.len()
                ),
            ));
        }
        if id == PUBLIC_ACCESS_ID {
            return Err(self.read_only("adding members"));
        }
        let Some(pos) = self.group_pos.get(id).copied() else {
            return Err(self.not_found(id));
        };
        Ok(members
            .iter()
            .map(|(iam_id, kind)| {
                let r = self.add_one(actor, pos, iam_id, kind, now_ms);
                (iam_id.clone(), kind.clone(), r)
            })
            .collect())
    }

    /// `DELETE /v2/groups/{id}/members/{iam_id}`.
    pub fn remove_member(&mut self, id: &str, iam_id: &str) -> Result<(), ApiError> {
        if id == PUBLIC_ACCESS_ID {
            return Err(self.read_only("removing members"));
        }
        let Some(pos) = self.group_pos.get(id).copied() else {
            return Err(self.not_found(id));
        };
        let removed = self.groups.get_mut(pos).map_or(0, |r| r.remove(&[iam_id]));
        if removed == 0 {
            return Err(ApiError::new(
                404,
                "member_not_found",
                format!("{iam_id} is not a member of access group {id}."),
            ));
        }
        self.dirty = true;
        Ok(())
    }

    /// `POST /v2/groups/{id}/members/delete`: per-member found/not-found, 404 if none is.
    pub fn remove_members(
        &mut self,
        id: &str,
        iam_ids: &[String],
    ) -> Result<Vec<(String, bool)>, ApiError> {
        if iam_ids.is_empty() || iam_ids.len() > MAX_MEMBERS_PER_CALL {
            return Err(ApiError::new(
                400,
                "invalid_body",
                format!(
                    "{} members in one request; give 1 to {MAX_MEMBERS_PER_CALL} members per call.",
                    iam_ids.len()
                ),
            ));
        }
        if id == PUBLIC_ACCESS_ID {
            return Err(self.read_only("removing members"));
        }
        let Some(pos) = self.group_pos.get(id).copied() else {
            return Err(self.not_found(id));
        };
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err(ApiError::new(404, "not_found", "access group vanished"));
        };
        let found: Vec<(String, bool)> = iam_ids.iter().map(|m| (m.clone(), rec.has(m))).collect();
        if !found.iter().any(|(_, f)| *f) {
            return Err(ApiError::new(
                404,
                "members_not_found",
                format!("None of the given members is a member of access group {id}."),
            ));
        }
        let refs: Vec<&str> = iam_ids.iter().map(String::as_str).collect();
        rec.remove(&refs);
        self.dirty = true;
        Ok(found)
    }

    /// `DELETE /v2/groups/_allgroups/members/{iam_id}`: the groups it left; 404 if none.
    pub fn remove_from_all(&mut self, iam_id: &str) -> Result<Vec<String>, ApiError> {
        let mut left = Vec::new();
        for rec in &mut self.groups {
            if rec.remove(&[iam_id]) > 0 {
                left.push(rec.group.id.clone());
            }
        }
        if left.is_empty() {
            return Err(ApiError::new(
                404,
                "member_not_found",
                format!(
                    "{iam_id} is not a member of any access group in account {}.",
                    self.account_id
                ),
            ));
        }
        self.dirty = true;
        Ok(left)
    }

    /// `PUT /v2/groups/_allgroups/members/{iam_id}`: per-group results.
    #[allow(clippy::type_complexity)]
    pub fn add_to_groups(
        &mut self,
        actor: &Actor,
        iam_id: &str,
        kind: &str,
        groups: &[String],
        now_ms: u64,
    ) -> Result<Vec<(String, Result<(), (u16, &'static str, String)>)>, ApiError> {
        if groups.is_empty() || groups.len() > MAX_GROUPS_PER_MEMBER {
            return Err(ApiError::new(
                400,
                "invalid_body",
                format!(
                    "{} groups in one request; give 1 to {MAX_GROUPS_PER_MEMBER} groups per call.",
                    groups.len()
                ),
            ));
        }
        if let Some((status, code, message)) = self.member_problem(iam_id, kind) {
            return Err(ApiError::new(status, code, message));
        }
        let mut out = Vec::new();
        for id in groups {
            let result = if id == PUBLIC_ACCESS_ID {
                let e = self.read_only("adding members");
                Err((e.status, "forbidden", e.message))
            } else if let Some(pos) = self.group_pos.get(id).copied() {
                self.add_one(actor, pos, iam_id, kind, now_ms).map(|_| ())
            } else {
                let e = self.not_found(id);
                Err((404, "not_found", e.message))
            };
            out.push((id.clone(), result));
        }
        Ok(out)
    }
}

/// The Public Access group as IBM lists it.
fn public_access() -> Group {
    Group {

            id: PUBLIC_ACCESS_ID.into(),
            name: PUBLIC_ACCESS_NAME.into(),
            description: "This group includes all users and service IDs by default. All group members, including unauthenticated users, are given public access to any resources that are defined in the policies for the group.".into(),
            members: Vec::new(),
            created_at: Some("2015-01-01T00:00:00.000Z".into()),
            created_by_id: Some("system".into()),
            last_modified_at: Some("2015-01-01T00:00:00.000Z".into()),
            last_modified_by_id: Some("system".into()),
            revision: 0,
        }
}

fn strip_weak(tag: &str) -> &str {
    let t = tag.trim();
    t.strip_prefix("W/").unwrap_or(t)
}

/// The ETag of a group: changes whenever its name or description does.
/// Open question 10: returned on GET, create and PATCH; a quoted hex digest.
pub fn etag(group: &Group) -> String {
    let d = state::uuid_from(&[
        group.id.as_bytes(),
        &group.revision.to_le_bytes(),
        group.name.as_bytes(),
        group.description.as_bytes(),
    ]);
    format!("\"{}\"", d.replace('-', ""))
}
