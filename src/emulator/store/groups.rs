//! Access Groups: the groups themselves (create, read, rename, delete, list) and the
//! built-in Public Access group.

use super::{Actor, ApiError, GroupRec, MAX_GROUPS, Store};
use crate::emulator::clock;
use crate::emulator::ids;
use crate::emulator::state::{Group, MembershipType, PUBLIC_ACCESS_ID, PUBLIC_ACCESS_NAME};

/// What a `PATCH /v2/groups/{id}` asks for.
pub struct GroupUpdate<'a> {
    /// The `If-Match` header; it must equal the group's current ETag (or be `*`).
    pub if_match: Option<&'a str>,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl Store {
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.group_pos
            .get(id)
            .and_then(|i| self.groups.get(*i))
            .map(|r| &r.group)
    }

    /// A group as `GET /v2/groups/{id}` sees it: Public Access included; 404 otherwise.
    pub fn readable_group(&self, id: &str) -> Result<&Group, ApiError> {
        if id == PUBLIC_ACCESS_ID {
            return Ok(&self.public);
        }
        self.group(id).ok_or_else(|| self.not_found(id))
    }

    /// The position of a group a request may change: not Public Access (403, open
    /// question 11) and existing (404). `doing` names the change for the 403.
    pub(super) fn writable_group(&self, id: &str, doing: &str) -> Result<usize, ApiError> {
        if id == PUBLIC_ACCESS_ID {
            return Err(read_only(doing));
        }
        self.group_pos
            .get(id)
            .copied()
            .ok_or_else(|| self.not_found(id))
    }

    pub(super) fn not_found(&self, id: &str) -> ApiError {
        ApiError::new(
            404,
            "not_found",
            format!(
                "Access group {id} was not found in account {}.",
                self.account_id
            ),
        )
    }

    /// Open question 2: names are unique case-insensitively, and Public Access is taken.
    fn check_name_free(&self, name: &str, except: Option<&str>) -> Result<(), ApiError> {
        let lower = name.to_lowercase();
        let taken = lower == PUBLIC_ACCESS_NAME.to_lowercase()
            || self.groups.iter().any(|g| {
                Some(g.group.id.as_str()) != except && g.group.name.to_lowercase() == lower
            });
        if taken {
            return Err(ApiError::new(
                409,
                "conflict",
                format!(
                    "An access group named {name:?} already exists in account {} (names are case-insensitive).",
                    self.account_id
                ),
            ));
        }
        Ok(())
    }

    /// Creates a group.
    pub fn create_group(
        &mut self,
        actor: &Actor,
        name: &str,
        description: &str,
        now_ms: u64,
    ) -> Result<Group, ApiError> {
        check_name(name)?;
        check_description(description)?;
        self.check_name_free(name, None)?;
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
        let id = self.mint_id(
            |s, n| {
                let account = s.account_id.as_bytes();
                let uuid =
                    ids::uuid_from(&[b"group", account, name.as_bytes(), n, &now_ms.to_le_bytes()]);
                format!("AccessGroupId-{uuid}")
            },
            |s, id| s.group_pos.contains_key(id),
        );
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
            rules: Vec::new(),
        };
        self.group_pos.insert(id, self.groups.len());
        self.groups.push(GroupRec::new(group.clone()));
        self.dirty = true;
        Ok(group)
    }

    /// Updates name and/or description; `If-Match` must equal the current ETag.
    pub fn update_group(
        &mut self,
        actor: &Actor,
        id: &str,
        update: &GroupUpdate<'_>,
        now_ms: u64,
    ) -> Result<Group, ApiError> {
        let pos = self.writable_group(id, "updating it")?;
        let current = self
            .groups
            .get(pos)
            .map(|r| etag(&r.group))
            .unwrap_or_default();
        check_precondition(id, update.if_match, &current)?;
        if update.name.is_none() && update.description.is_none() {
            return Err(ApiError::invalid_body(
                "Give a name or a description to update.",
            ));
        }
        if let Some(name) = update.name {
            check_name(name)?;
            self.check_name_free(name, Some(id))?;
        }
        if let Some(d) = update.description {
            check_description(d)?;
        }
        let Some(rec) = self.groups.get_mut(pos) else {
            return Err(ApiError::new(404, "not_found", "group vanished"));
        };
        if let Some(name) = update.name {
            rec.group.name = name.to_string();
        }
        if let Some(d) = update.description {
            rec.group.description = d.to_string();
        }
        rec.group.revision += 1;
        rec.group.last_modified_at = Some(clock::iso(now_ms));
        rec.group.last_modified_by_id = Some(actor.iam_id.clone());
        self.dirty = true;
        Ok(rec.group.clone())
    }

    /// Deletes a group, with its members, rules and policies. Without `force`, a group
    /// with members is refused with 409 (the emulator's decision; Terraform always forces).
    pub fn delete_group(&mut self, id: &str, force: bool) -> Result<(), ApiError> {
        let pos = self.writable_group(id, "deleting it")?;
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
        self.drop_policies_of(id);
        self.dirty = true;
        Ok(())
    }

    /// Groups visible to a list call, Public Access first unless hidden or a member is
    /// asked about (it has no listed members). `member` is an iam_id and which of its
    /// membership types count.
    pub fn list_groups(
        &self,
        hide_public: bool,
        member: Option<(&str, &dyn Fn(MembershipType) -> bool)>,
        filter: &dyn Fn(&Group) -> bool,
    ) -> Vec<&Group> {
        let mut out = Vec::new();
        if !hide_public && member.is_none() && filter(&self.public) {
            out.push(&self.public);
        }
        for rec in &self.groups {
            let in_it = member
                .is_none_or(|(m, counts)| rec.member(m).is_some_and(|m| counts(m.membership_type)));
            if in_it && filter(&rec.group) {
                out.push(&rec.group);
            }
        }
        out
    }
}

/// The 403 of every write to Public Access (open question 11).
pub(super) fn read_only(doing: &str) -> ApiError {
    ApiError::new(
        403,
        "forbidden",
        format!(
            "The Public Access group ({PUBLIC_ACCESS_ID}) is managed by IBM Cloud; {doing} is not allowed."
        ),
    )
}

/// Open question 2: a missing If-Match is 428 Precondition Required, a stale one 412.
fn check_precondition(id: &str, if_match: Option<&str>, current: &str) -> Result<(), ApiError> {
    let Some(given) = if_match else {
        return Err(ApiError::new(
            428,
            "precondition_required",
            format!(
                "Updating access group {id} requires an If-Match header with the ETag from GET /v2/groups/{id}."
            ),
        ));
    };
    if given.trim() != "*" && strip_weak(given) != strip_weak(current) {
        return Err(ApiError::new(
            412,
            "precondition_failed",
            format!(
                "The If-Match value does not match the current ETag of access group {id}; read the group again and retry."
            ),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.trim().is_empty() {
        return Err(ApiError::invalid_body(
            "The access group name must be 1 to 100 characters.",
        ));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > 250 {
        return Err(ApiError::invalid_body(
            "The access group description must be at most 250 characters.",
        ));
    }
    Ok(())
}

/// The Public Access group as IBM lists it.
pub(super) fn public_access() -> Group {
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
        rules: Vec::new(),
    }
}

fn strip_weak(tag: &str) -> &str {
    let t = tag.trim();
    t.strip_prefix("W/").unwrap_or(t)
}

/// The ETag of a group: changes whenever its name or description does.
/// Open question 10: returned on GET, create and PATCH; a quoted hex digest.
pub fn etag(group: &Group) -> String {
    let d = ids::uuid_from(&[
        group.id.as_bytes(),
        &group.revision.to_le_bytes(),
        group.name.as_bytes(),
        group.description.as_bytes(),
    ]);
    format!("\"{}\"", d.replace('-', ""))
}
